/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by every srvm program: scope-bound cleanup, array sizes, and the
 * string-table pattern used by the enums. Nothing here allocates on its own. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                    \
        ({                                             \
                __typeof__(p) _ptr_ = (p);             \
                (p) = NULL;                            \
                _ptr_;                                 \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)        \
        static inline void func##p(type *p) {          \
                if (*p)                                \
                        func(*p);                      \
        }

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline const char *strna(const char *s) {
        return s ? s : "n/a";
}

/* Look a string up in a table indexed by enum value; -EINVAL when absent. */
static inline int string_table_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                  \
        const char *name##_to_string(type i) {                                  \
                if ((int) i < 0 || (size_t) i >= ELEMENTSOF(name##_table))      \
                        return NULL;                                            \
                return name##_table[i];                                         \
        }                                                                       \
        type name##_from_string(const char *s) {                                \
                return (type) string_table_lookup(name##_table,                 \
                                                  ELEMENTSOF(name##_table), s); \
        }

#define USEC_PER_SEC  1000000ULL
#define USEC_PER_MSEC 1000ULL
#define NSEC_PER_USEC 1000ULL

typedef unsigned long long usec_t;
#define USEC_INFINITY ((usec_t) -1)

/* CLOCK_MONOTONIC now, the clock srvm stamps phases and deadlines with. */
static inline usec_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* *ret = a copy of s, or NULL when s is NULL; -ENOMEM (and *ret untouched) when out of memory. */
static inline int strdup_or_null(const char *s, char **ret) {
        char *d = NULL;

        if (s) {
                d = strdup(s);
                if (!d)
                        return -ENOMEM;
        }
        *ret = d;
        return 0;
}

/* A refusal: *ret_why = the sentence fmt makes, and error; -ENOMEM when the sentence cannot
 * be made. */
static inline int refuse_with(char **ret_why, int error, const char *fmt, ...) _printf_(3, 4);
static inline int refuse_with(char **ret_why, int error, const char *fmt, ...) {
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(ret_why, fmt, ap);
        va_end(ap);
        if (k < 0) {
                *ret_why = NULL; /* vasprintf() leaves it undefined */
                return -ENOMEM;
        }
        return error;
}
