/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See log-journal.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "log-journal.h"
#include "log.h"

static const char *const message_ids[_JOB_LOG_EVENT_MAX] = {
        [JOB_LOG_STARTED] = SRVM_MESSAGE_JOB_STARTED,
        [JOB_LOG_FINISHED] = SRVM_MESSAGE_JOB_FINISHED,
        [JOB_LOG_ROLLED_BACK] = SRVM_MESSAGE_JOB_ROLLED_BACK,
        [JOB_LOG_DEGRADED] = SRVM_MESSAGE_JOB_DEGRADED,
};

JobLogEvent job_log_event_for_result(JobResult result) {
        switch (result) {
        case JOB_SUCCEEDED:
        case JOB_FAILED:
        case JOB_CANCELLED:
                return JOB_LOG_FINISHED;
        case JOB_ROLLED_BACK:
                return JOB_LOG_ROLLED_BACK;
        case JOB_DEGRADED:
                return JOB_LOG_DEGRADED;
        case JOB_RUNNING:
        case _JOB_RESULT_MAX:
        case _JOB_RESULT_INVALID:
                break;
        }
        return _JOB_LOG_EVENT_INVALID;
}

void job_log_fields_free(JobLogFields *f) {
        for (size_t i = 0; f && i < f->n; i++)
                free(f->fields[i]);
        if (f) {
                free(f->fields);
                *f = (JobLogFields) {};
        }
}

static int add_field(JobLogFields *f, const char *fmt, ...) _printf_(2, 3);
static int add_field(JobLogFields *f, const char *fmt, ...) {
        char **grown, *s;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        grown = realloc(f->fields, (f->n + 1) * sizeof(char *));
        if (!grown) {
                free(s);
                return -ENOMEM;
        }
        f->fields = grown;
        f->fields[f->n++] = s;
        return 0;
}

/* " (wall 7.123 s, VM pause 170 ms, on virtio 4.000 s)": the figures known, or "". */
static void format_figures(const Migration *m, char *buf, size_t size) {
        usec_t wall, standby;
        uint64_t downtime;
        size_t n = 0;
        bool any = false;

        buf[0] = '\0';
#define APPEND(...) do {                                                           \
                int _w = snprintf(buf + n, size - n, __VA_ARGS__);                \
                if (_w > 0 && (size_t) _w < size - n)                             \
                        n += (size_t) _w;                                         \
        } while (0)
        if (migration_get_wall_usec(m, &wall, NULL) >= 0) {
                APPEND(" (wall %" PRIu64 ".%03" PRIu64 " s", (uint64_t) (wall / USEC_PER_SEC),
                       (uint64_t) (wall % USEC_PER_SEC / USEC_PER_MSEC));
                any = true;
        }
        if (migration_get_vm_downtime_ms(m, &downtime) >= 0) {
                APPEND("%sVM pause %" PRIu64 " ms", any ? ", " : " (", downtime);
                any = true;
        }
        if (migration_get_standby_usec(m, &standby) >= 0) {
                APPEND("%son virtio %" PRIu64 ".%03" PRIu64 " s", any ? ", " : " (",
                       (uint64_t) (standby / USEC_PER_SEC), (uint64_t) (standby % USEC_PER_SEC / USEC_PER_MSEC));
                any = true;
        }
        if (any)
                APPEND(")");
#undef APPEND
}

int job_log_fields(const Migration *m, JobLogEvent ev, const char *what, JobLogFields *ret) {
        JobLogFields f = {};
        JobResult result;
        usec_t wall, standby;
        uint64_t downtime;
        char figures[128];
        int r;

        if (!m || !ret || ev < 0 || ev >= _JOB_LOG_EVENT_MAX || (ev == JOB_LOG_STARTED && !what))
                return -EINVAL;
        result = migration_get_result(m);

        if (ev == JOB_LOG_STARTED) {
                f.priority = LOG_INFO;
                r = add_field(&f, "MESSAGE=%s: job %" PRIu32 ": %s", migration_get_domain(m), migration_get_id(m), what);
        } else {
                format_figures(m, figures, sizeof figures);
                f.priority = result == JOB_SUCCEEDED ? LOG_INFO : LOG_WARNING;
                if (result == JOB_SUCCEEDED)
                        r = add_field(&f, "MESSAGE=%s: job %" PRIu32 " succeeded%s", migration_get_domain(m),
                                      migration_get_id(m), figures);
                else
                        r = add_field(&f, "MESSAGE=%s: job %" PRIu32 " %s: %s%s", migration_get_domain(m),
                                      migration_get_id(m), job_result_to_string(result),
                                      strna(migration_get_error(m)), figures);
        }
        if (r >= 0)
                r = add_field(&f, "PRIORITY=%d", f.priority);
        if (r >= 0)
                r = add_field(&f, "MESSAGE_ID=%s", message_ids[ev]);
        if (r >= 0)
                r = add_field(&f, "SRVM_JOB=%" PRIu32, migration_get_id(m));
        if (r >= 0)
                r = add_field(&f, "SRVM_DOMAIN=%s", migration_get_domain(m));
        if (r >= 0)
                r = add_field(&f, "SRVM_KIND=%s", migration_is_check_only(m) ? "check" :
                                                 migration_is_arrival(m) ? "arrival" : "migrate");
        if (r >= 0)
                r = add_field(&f, "SRVM_RESULT=%s", job_result_to_string(result));
        if (r >= 0 && ev != JOB_LOG_STARTED && migration_get_error(m))
                r = add_field(&f, "SRVM_ERROR=%s", migration_get_error(m));
        if (r >= 0 && ev != JOB_LOG_STARTED && migration_get_wall_usec(m, &wall, NULL) >= 0)
                r = add_field(&f, "SRVM_WALL_MS=%" PRIu64, (uint64_t) (wall / USEC_PER_MSEC));
        if (r >= 0 && ev != JOB_LOG_STARTED && migration_get_vm_downtime_ms(m, &downtime) >= 0)
                r = add_field(&f, "SRVM_VM_DOWNTIME_MS=%" PRIu64, downtime);
        if (r >= 0 && ev != JOB_LOG_STARTED && migration_get_standby_usec(m, &standby) >= 0)
                r = add_field(&f, "SRVM_STANDBY_MS=%" PRIu64, (uint64_t) (standby / USEC_PER_MSEC));
        if (r < 0) {
                job_log_fields_free(&f);
                return r;
        }
        *ret = f;
        return 0;
}

/* stderr is the journal's stream: JOURNAL_STREAM names its device and inode (systemd.exec(5)). */
static bool stderr_is_journal(void) {
        static int cached = -1;
        unsigned long long dev, ino;
        const char *e;
        struct stat st;

        if (cached >= 0)
                return cached;
        e = getenv("JOURNAL_STREAM");
        cached = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
                 (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
        return cached;
}

void log_job_event(const Migration *m, JobLogEvent ev, const char *what) {
        _cleanup_free_ struct iovec *iov = NULL;
        JobLogFields f = {};
        int r;

        r = job_log_fields(m, ev, what, &f);
        if (r < 0) {
                log_warning_errno(r, "Cannot log a record of job %" PRIu32 ": %m", m ? migration_get_id(m) : 0);
                return;
        }
        /* fields[0] is MESSAGE=... */
        if (stderr_is_journal()) {
                iov = calloc(f.n, sizeof(struct iovec));
                if (iov) {
                        for (size_t i = 0; i < f.n; i++)
                                iov[i] = (struct iovec) { .iov_base = f.fields[i], .iov_len = strlen(f.fields[i]) };
                        if (sd_journal_sendv(iov, (int) f.n) >= 0) {
                                job_log_fields_free(&f);
                                return;
                        }
                }
        }
        log_internal(f.priority, 0, "%s", f.fields[0] + strlen("MESSAGE="));
        job_log_fields_free(&f);
}
