/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text from outside srvmd (a guest's output, the guest agent's and libvirt's error messages)
 * goes into job events and errors, and from there onto D-Bus, which refuses a string that is
 * not UTF-8: one stray byte would make the whole job unreadable. The job makes such text
 * valid as it takes it. */
#pragma once

#include <stdbool.h>

/* Whether s is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF). */
bool utf8_is_valid(const char *s);

/* Replace, in place, every byte of s that does not begin a well-formed UTF-8 sequence (and
 * every byte of a broken one) with '?'. Returns s; NULL stays NULL. */
char *utf8_scrub(char *s);
