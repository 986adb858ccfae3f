/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "utf8.h"

/* The length of the well-formed sequence at s, or 0 if none starts there. */
static size_t sequence_length(const unsigned char *s) {
        unsigned char lo = 0x80, hi = 0xBF;
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xC2 && s[0] <= 0xDF)
                n = 2;
        else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
                n = 3;
                if (s[0] == 0xE0)
                        lo = 0xA0; /* overlong below */
                else if (s[0] == 0xED)
                        hi = 0x9F; /* UTF-16 surrogates above */
        } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
                n = 4;
                if (s[0] == 0xF0)
                        lo = 0x90; /* overlong below */
                else if (s[0] == 0xF4)
                        hi = 0x8F; /* past U+10FFFF above */
        } else
                return 0;

        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (s[i] < 0x80 || s[i] > 0xBF)
                        return 0; /* the terminating NUL stops here too */
        return n;
}

bool utf8_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                size_t n = sequence_length(p);

                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

char *utf8_scrub(char *s) {
        unsigned char *p = (unsigned char *) s;

        if (!s)
                return NULL;
        while (*p) {
                size_t n = sequence_length(p);

                if (n == 0)
                        *p++ = '?';
                else
                        p += n;
        }
        return s;
}
