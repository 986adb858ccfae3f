/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The job-level log records (started, finished, rolled back, degraded) as structured journal
 * entries: a fixed MESSAGE_ID per kind of record, so `journalctl MESSAGE_ID=...` finds them
 * all, and SRVM_JOB=, SRVM_DOMAIN=, SRVM_RESULT= to filter one job or domain, with the job's
 * figures when it ends. Sent with sd_journal_send() when stderr is the journal, else the
 * MESSAGE as one stderr line, as every other log line. The ids are listed in srvmd(8). */
#pragma once

#include <stddef.h>

#include "migration.h"

typedef enum JobLogEvent {
        JOB_LOG_STARTED,
        JOB_LOG_FINISHED,    /* succeeded, failed or cancelled */
        JOB_LOG_ROLLED_BACK,
        JOB_LOG_DEGRADED,    /* on the destination on virtio-net, no VF; may still retry */
        _JOB_LOG_EVENT_MAX,
        _JOB_LOG_EVENT_INVALID = -EINVAL,
} JobLogEvent;

#define SRVM_MESSAGE_JOB_STARTED     "97a88fc3f3284bc980a13225281b34a3"
#define SRVM_MESSAGE_JOB_FINISHED    "8b900b9bb0fd4da28dcc3ee28e528b53"
#define SRVM_MESSAGE_JOB_ROLLED_BACK "4da9fbd247cf4e28aa6d23beb8727e9a"
#define SRVM_MESSAGE_JOB_DEGRADED    "23a74e64e57948db8ae871f8c506be4f"

/* The record a job's result gives: JOB_LOG_FINISHED, _ROLLED_BACK or _DEGRADED; -EINVAL for
 * a job still running without a result. */
JobLogEvent job_log_event_for_result(JobResult result);

/* The entry's fields, "KEY=value" each (MESSAGE, PRIORITY, MESSAGE_ID, SRVM_*), malloc()ed,
 * in *ret (freed with job_log_fields_free()). what: the text after "DOMAIN: job N " for
 * JOB_LOG_STARTED ("migrating to URI"); NULL otherwise. Pure. */
typedef struct JobLogFields {
        char **fields;
        size_t n;
        int priority;
} JobLogFields;

int job_log_fields(const Migration *m, JobLogEvent ev, const char *what, JobLogFields *ret);
void job_log_fields_free(JobLogFields *f);

/* Log it: to the journal with every field when stderr is the journal, else its MESSAGE. */
void log_job_event(const Migration *m, JobLogEvent ev, const char *what);
