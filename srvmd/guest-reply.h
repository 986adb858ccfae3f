/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What srvmd makes of srvm-guest's JSON answers beyond ok/error: pure, so the unit tests
 * feed it answers as srvm-guest prints them. */
#pragma once

#include <json-c/json.h>

/* The most of srvm-guest's standard output srvmd reads as its answer: real answers are a few
 * hundred bytes; a guest's root could print gigabytes, and json-c spends ~100 bytes of memory
 * per value it parses. */
#define GUEST_REPLY_MAX (64 * 1024)

/* The most srvmd keeps of one text a guest sent (its "error", its stderr), escaped: the rest
 * is cut with a note of how much (utf8_escape()). */
#define GUEST_TEXT_MAX 1024

/* The answer's "replay" member (borrowed), or NULL. */
json_object *guest_reply_replay(json_object *answer);

/* The answer's "replay" member in one sentence for the job's events: what was carried over
 * onto the new VF and what was not, leaving out what said (an earlier answer's "replay"
 * member, or NULL) told already: enslave and failback report the same replay, and the
 * job's events should not list a setting twice. *ret is NULL when there is nothing new to
 * say (no "replay", or nothing applied and nothing failed). 0 or -ENOMEM. */
int guest_reply_replay_note(json_object *answer, json_object *said, char **ret);

/* srvm-guest --version's output: "srvm-guest VERSION" and, since protocol 2, a line
 * "protocol N" (an older srvm-guest speaks protocol 1). Fills *ret_version (owned) and
 * *ret_protocol; -EBADMSG if the output is not srvm-guest's, -ENOMEM. */
int guest_reply_parse_version(const char *out, char **ret_version, unsigned *ret_protocol);
