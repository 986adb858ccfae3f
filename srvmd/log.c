/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See log.h. A log line is one line: whatever a message carries from outside (a guest's
 * words, libvirt's error, a name) is escaped, so it cannot start a line of its own ("<0>" is
 * an emergency to journald) nor send a terminal escape sequence to whoever reads the log. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "utf8.h"

/* Longer messages are cut, with a note of how much. */
#define LOG_LINE_MAX 8192

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
                _cleanup_free_ char *raw = NULL, *line = NULL;
                va_list ap;
                int k;

                errno = e; /* for %m */
                va_start(ap, fmt);
                k = vasprintf(&raw, fmt, ap);
                va_end(ap);
                if (k < 0)
                        raw = NULL; /* vasprintf() leaves it undefined */
                line = utf8_escape(raw, LOG_LINE_MAX);

                if (prefix_priority)
                        fprintf(stderr, "<%d>", level);
                fputs(line ? line : "(a message srvmd had no memory left to write)", stderr);
                fputc('\n', stderr);
        }

        errno = saved;
        return -e;
}
