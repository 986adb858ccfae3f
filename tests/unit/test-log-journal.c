/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The job-level journal records: the fields each carries, built without a journal. */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "assert.h"
#include "json-util.h"
#include "log-journal.h"
#include "macro.h"

static usec_t fake_clock_usec = 5 * USEC_PER_SEC;

static int fake_start(void *userdata, Migration *m, Action a, Side side) {
        return 0;
}
static int fake_arm(void *userdata, Migration *m, usec_t usec) {
        return 0;
}
static usec_t fake_now(void *userdata) {
        return fake_clock_usec;
}
static const MigrationBackendOps ops = { .start_action = fake_start, .arm_timer = fake_arm, .now = fake_now };

static char *joined(const JobLogFields *f) {
        char *s = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&s, &size);

        ASSERT_NOT_NULL(out);
        for (size_t i = 0; i < f->n; i++)
                fprintf(out, "%s\n", f->fields[i]);
        ASSERT_TRUE(fclose(out) == 0);
        return s;
}

static void test_started(void) {
        MigrationParams p = { .domain = "web1", .source_uri = "qemu:///system", .destination_uri = "qemu+ssh://b/system" };
        _cleanup_(migration_freep) Migration *m = NULL;
        _cleanup_free_ char *text = NULL;
        JobLogFields f = {};

        ASSERT_OK(migration_new(12, &p, &ops, NULL, &m));
        ASSERT_OK(job_log_fields(m, JOB_LOG_STARTED, "migrating to qemu+ssh://b/system", &f));
        text = joined(&f);
        ASSERT_STREQ(text,
                     "MESSAGE=web1: job 12: migrating to qemu+ssh://b/system\n"
                     "PRIORITY=6\n"
                     "MESSAGE_ID=" SRVM_MESSAGE_JOB_STARTED "\n"
                     "SRVM_JOB=12\n"
                     "SRVM_DOMAIN=web1\n"
                     "SRVM_KIND=migrate\n"
                     "SRVM_RESULT=running\n");
        ASSERT_EQ_INT(f.priority, LOG_INFO);
        job_log_fields_free(&f);
        ASSERT_ERR(job_log_fields(m, JOB_LOG_STARTED, NULL, &f), EINVAL);
        ASSERT_ERR(job_log_fields(m, _JOB_LOG_EVENT_MAX, NULL, &f), EINVAL);
        ASSERT_ERR(job_log_fields(NULL, JOB_LOG_FINISHED, NULL, &f), EINVAL);
}

/* A job that ended, as a restarted srvmd reads it back: its result, error and figures. */
static void test_ended(void) {
        static const struct {
                const char *result;
                JobLogEvent ev;
                const char *id;
                int priority;
                const char *message;
        } cases[] = {
                { "succeeded", JOB_LOG_FINISHED, SRVM_MESSAGE_JOB_FINISHED, LOG_INFO,
                  "MESSAGE=web1: job 12 succeeded (wall 2.500 s, VM pause 170 ms)" },
                { "rolled-back", JOB_LOG_ROLLED_BACK, SRVM_MESSAGE_JOB_ROLLED_BACK, LOG_WARNING,
                  "MESSAGE=web1: job 12 rolled-back: it broke (wall 2.500 s, VM pause 170 ms)" },
                { "degraded", JOB_LOG_DEGRADED, SRVM_MESSAGE_JOB_DEGRADED, LOG_WARNING,
                  "MESSAGE=web1: job 12 degraded: it broke (wall 2.500 s, VM pause 170 ms)" },
                { "cancelled", JOB_LOG_FINISHED, SRVM_MESSAGE_JOB_FINISHED, LOG_WARNING,
                  "MESSAGE=web1: job 12 cancelled: it broke (wall 2.500 s, VM pause 170 ms)" },
        };
        MigrationParams p = { .domain = "web1", .source_uri = "qemu:///system", .destination_uri = "qemu+ssh://b/system" };
        _cleanup_(migration_freep) Migration *m = NULL;
        _cleanup_(json_object_putp) json_object *record = NULL;

        ASSERT_OK(migration_new(12, &p, &ops, NULL, &m));
        ASSERT_OK(migration_start(m));
        fake_clock_usec += 2500 * USEC_PER_MSEC;
        ASSERT_OK(migration_build_journal(m, &record));

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(migration_freep) Migration *n = NULL;
                _cleanup_free_ char *text = NULL, *want = NULL, *error = NULL;
                JobLogFields f = {};

                json_object_object_add(record, "result", json_object_new_string(cases[i].result));
                json_object_object_add(record, "error", i == 0 ? NULL : json_object_new_string("it broke"));
                json_object_object_add(record, "vm_downtime_ms", json_object_new_int64(170));
                ASSERT_OK(migration_new_from_journal(record, &ops, NULL, &n, &error));
                ASSERT_TRUE(job_log_event_for_result(migration_get_result(n)) == cases[i].ev);
                ASSERT_OK(job_log_fields(n, cases[i].ev, NULL, &f));
                text = joined(&f);
                ASSERT_TRUE(asprintf(&want,
                                     "%s\n"
                                     "PRIORITY=%d\n"
                                     "MESSAGE_ID=%s\n"
                                     "SRVM_JOB=12\n"
                                     "SRVM_DOMAIN=web1\n"
                                     "SRVM_KIND=migrate\n"
                                     "SRVM_RESULT=%s\n"
                                     "%s"
                                     "SRVM_WALL_MS=2500\n"
                                     "SRVM_VM_DOWNTIME_MS=170\n",
                                     cases[i].message, cases[i].priority, cases[i].id, cases[i].result,
                                     i == 0 ? "" : "SRVM_ERROR=it broke\n") > 0);
                ASSERT_STREQ(text, want);
                job_log_fields_free(&f);
        }
        ASSERT_TRUE(job_log_event_for_result(JOB_RUNNING) == _JOB_LOG_EVENT_INVALID);
}

int main(void) {
        test_started();
        test_ended();
        return 0;
}
