/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The unit tests' assertions: on failure, say where and what, and abort so the test fails
 * (and sanitizers and valgrind report what leaked up to there). */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT_FAIL_(fmt, ...)                                                         \
        do {                                                                           \
                fprintf(stderr, "%s:%d: %s: " fmt "\n", __FILE__, __LINE__, __func__, \
                        __VA_ARGS__);                                                  \
                abort();                                                               \
        } while (0)

#define ASSERT_TRUE(expr)                                          \
        do {                                                       \
                if (!(expr))                                       \
                        ASSERT_FAIL_("assertion failed: %s", #expr); \
        } while (0)

#define ASSERT_EQ_INT(a, b)                                                                 \
        do {                                                                                \
                long long a_ = (long long) (a), b_ = (long long) (b);                       \
                if (a_ != b_)                                                               \
                        ASSERT_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);             \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                   \
        do {                                                                                 \
                const char *a_ = (a), *b_ = (b);                                             \
                if (!a_ || !b_ || strcmp(a_, b_) != 0)                                       \
                        ASSERT_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", \
                                     b_ ? b_ : "(null)");                                    \
        } while (0)

#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)

#define ASSERT_OK(expr)                                                      \
        do {                                                                 \
                long long r_ = (long long) (expr);                           \
                if (r_ < 0)                                                  \
                        ASSERT_FAIL_("%s failed: %lld (%s)", #expr, r_, strerror((int) -r_)); \
        } while (0)

#define ASSERT_ERR(expr, err)                                                     \
        do {                                                                      \
                long long r_ = (long long) (expr);                                \
                if (r_ != -(long long) (err))                                     \
                        ASSERT_FAIL_("%s: expected -%s, got %lld", #expr, #err, r_); \
        } while (0)

/* Write text into dir/name, failing the test if it cannot. */
static inline void assert_write_file(const char *dir, const char *name, const char *text) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "w");
        ASSERT_NOT_NULL(f);
        fputs(text, f);
        ASSERT_TRUE(fclose(f) == 0);
}
