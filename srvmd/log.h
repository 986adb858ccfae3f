/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging for the daemon and its tools: to stderr, with sd-daemon priority prefixes when
 * stderr is the journal, so `journalctl -u srvmd` keeps the levels. Library-like code does not
 * log; it returns an error and the caller at the boundary logs once, with context. */
#pragma once

#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
void log_set_prefix_priority(bool enable);

int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)

/* %m in the format prints strerror(error); the call returns -abs(error), so
 * `return log_error_errno(r, "Failed to ...: %m");` reads naturally. */
#define log_debug_errno(error, ...) log_internal(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_internal(LOG_INFO, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_internal(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) log_internal(LOG_ERR, (error), __VA_ARGS__)
