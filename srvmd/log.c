/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See log.h. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool prefix_priority;

void log_set_max_level(int level) {
        max_level = level;
}

void log_set_prefix_priority(bool enable) {
        prefix_priority = enable;
}

int log_internal(int level, int error, const char *fmt, ...) {
        int saved = errno;
        int e = error < 0 ? -error : error;

        if (level <= max_level) {
                va_list ap;

                if (prefix_priority)
                        fprintf(stderr, "<%d>", level);
                errno = e; /* for %m */
                va_start(ap, fmt);
                vfprintf(stderr, fmt, ap);
                va_end(ap);
                fputc('\n', stderr);
        }

        errno = saved;
        return -e;
}
