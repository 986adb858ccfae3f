/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text from outside srvmd (a guest's output, the guest agent's and libvirt's error messages)
 * goes into job events and errors, and from there onto D-Bus, which refuses a string that is
 * not UTF-8: one stray byte would make the whole job unreadable. The job makes such text
 * valid as it takes it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Whether s is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF). */
bool utf8_is_valid(const char *s);

/* The offset of the first byte of s that does not begin a well-formed sequence, or strlen(s). */
size_t utf8_invalid_offset(const char *s);

/* Replace, in place, every byte of s that does not begin a well-formed UTF-8 sequence (and
 * every byte of a broken one) with '?'. Returns s; NULL stays NULL. */
char *utf8_scrub(char *s);

/* Text from a guest or libvirt as srvmd keeps it: a copy of s that is valid UTF-8 and holds
 * no character that steers a terminal or a log reader. Newline, carriage return and tab become
 * \n, \r and \t; other C0 controls, DEL and broken UTF-8 bytes \xNN; C1 controls, the line
 * and paragraph separators and the bidirectional overrides \uNNNN. So "<0>" cannot start a
 * line of its own in the journal, and ESC never reaches a terminal. A backslash stays as it
 * is: the escapes are for safety, not to be undone, and escaping twice changes nothing.
 * Keeps at most max bytes of escaped text (0: no limit) and, when it cuts, ends with
 * " [... N bytes cut]", N counted in s. NULL on NULL or out of memory. */
char *utf8_escape(const char *s, size_t max);

/* Whether s is what utf8_escape() leaves unchanged. */
bool utf8_is_escaped(const char *s);
