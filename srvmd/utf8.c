/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

size_t utf8_invalid_offset(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                size_t n = sequence_length(p);

                if (n == 0)
                        break;
                p += n;
        }
        return (size_t) ((const char *) p - s);
}

bool utf8_is_valid(const char *s) {
        return s[utf8_invalid_offset(s)] == '\0';
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

static uint32_t decode(const unsigned char *s, size_t n) {
        switch (n) {
        case 1:
                return s[0];
        case 2:
                return (uint32_t) (s[0] & 0x1f) << 6 | (s[1] & 0x3f);
        case 3:
                return (uint32_t) (s[0] & 0x0f) << 12 | (uint32_t) (s[1] & 0x3f) << 6 | (s[2] & 0x3f);
        default:
                return (uint32_t) (s[0] & 0x07) << 18 | (uint32_t) (s[1] & 0x3f) << 12 |
                       (uint32_t) (s[2] & 0x3f) << 6 | (s[3] & 0x3f);
        }
}

/* Characters that move a cursor, end a line for some reader, or reorder what a reader sees. */
static bool is_steering(uint32_t c) {
        return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e ||
               c == 0x200f || c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
               (c >= 0x2066 && c <= 0x2069);
}

/* The escaped form of the sequence of n bytes at p (n == 0: one broken byte) into buf. */
static size_t escape_one(const unsigned char *p, size_t n, char buf[static 8]) {
        uint32_t c;

        if (n == 0)
                return (size_t) snprintf(buf, 8, "\\x%02x", p[0]);
        c = decode(p, n);
        if (!is_steering(c)) {
                memcpy(buf, p, n);
                return n;
        }
        switch (c) {
        case '\n':
                return (size_t) snprintf(buf, 8, "\\n");
        case '\r':
                return (size_t) snprintf(buf, 8, "\\r");
        case '\t':
                return (size_t) snprintf(buf, 8, "\\t");
        default:
                if (c < 0x80)
                        return (size_t) snprintf(buf, 8, "\\x%02x", (unsigned) c);
                return (size_t) snprintf(buf, 8, "\\u%04x", (unsigned) c);
        }
}

char *utf8_escape(const char *s, size_t max) {
        const unsigned char *p = (const unsigned char *) s;
        size_t len, size, out = 0;
        char *r;

        if (!s)
                return NULL;
        len = strlen(s);
        /* An escape is at most 6 bytes for 1 to 3 of input; the marker at most 40. */
        size = (max > 0 && max < len * 6 ? max : len * 6) + 48;
        r = malloc(size);
        if (!r)
                return NULL;

        while (*p) {
                size_t n = sequence_length(p), k;
                char buf[8];

                k = escape_one(p, n, buf);
                if (max > 0 && out + k > max) {
                        snprintf(r + out, size - out, " [... %zu bytes cut]", len - (size_t) (p - (const unsigned char *) s));
                        return r;
                }
                memcpy(r + out, buf, k);
                out += k;
                p += n > 0 ? n : 1;
        }
        r[out] = '\0';
        return r;
}

bool utf8_is_escaped(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                size_t n = sequence_length(p);

                if (n == 0 || is_steering(decode(p, n)))
                        return false;
                p += n;
        }
        return true;
}
