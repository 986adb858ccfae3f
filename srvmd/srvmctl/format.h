/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What srvmctl prints, as pure functions from data to text: a job's timeline from its JSON
 * (the form migration_build_json() writes), the lines that follow a running job, and the job
 * table. No bus and no terminal here, so the unit tests check the output byte for byte. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* One domain of ListDomains(); empty strings for what it has not. */
typedef struct DomainRow {
        const char *name;
        const char *state;
        const char *policy;
        const char *vf;
        const char *note;
} DomainRow;

typedef struct JobRow {
        uint32_t id;
        const char *domain;
        const char *phase;
        const char *result;
        const char *path;
        const char *started_at; /* RFC 3339 as srvmd wrote it, NULL: not known */
} JobRow;

/* How far a watched job has been reported: phases [0, n_started) were printed as started,
 * phases [0, n_ended) as ended. Starts zeroed. */
typedef struct PhaseProgress {
        size_t n_started;
        size_t n_ended;
} PhaseProgress;

/* The header, the phase table, the downtime lines and the events of job. */
int format_timeline(json_object *job, char **ret);

/* One line for each phase that started or ended since progress, advancing progress. Feeding
 * an older JSON than one already seen prints nothing, so signals may repeat or arrive late.
 * *ret is "" when nothing is new. */
int format_progress(json_object *job, PhaseProgress *progress, char **ret);

/* "1.5 GiB", "512 B": bytes in binary units, one decimal from KiB on. */
void format_bytes(uint64_t bytes, char *buf, size_t size);

/* The one line that says where a running job is: its phase, the time since it started
 * (elapsed_us < 0: not shown) and, while pre-copy runs, the iteration, the share sent, the
 * data left and the dirty rate. columns == 0: the whole line, for a pipe. columns > 0: for
 * a terminal that wide, with a bar: shorter than columns (never wraps), shortened by a
 * narrower bar, then none, then fewer figures, cut as a last resort. No newline. */
int format_status_line(json_object *job, int64_t elapsed_us, unsigned columns, char **ret);

/* How long the job has run, from its own fields: the first phase's start to the end of the
 * latest (a running phase's duration is the time so far when srvmd wrote the JSON), so no
 * clock of the reader is involved. -1 if no phase has a start. */
int64_t format_job_elapsed_us(json_object *job);

/* --json=MODE */
typedef enum JsonMode {
        JSON_MODE_OFF,
        JSON_MODE_SHORT,  /* one line, no blank */
        JSON_MODE_PRETTY, /* indented, for a reader */
        _JSON_MODE_MAX,
        _JSON_MODE_INVALID = -EINVAL,
} JsonMode;

const char *json_mode_to_string(JsonMode m);
JsonMode json_mode_from_string(const char *s);

/* j, or the JSON text json (srvmd's), laid out as mode says (short or pretty), with a
 * newline; -EBADMSG if json does not parse. */
int format_json_object(json_object *j, JsonMode mode, char **ret);
int format_json(const char *json, JsonMode mode, char **ret);

/* The pre-copy iteration of job's progress, 0 if none reported yet. */
unsigned format_progress_iteration(json_object *job);

/* "2026-12-02T19:45:01Z" as local time, "2026-12-02 20:45:01 CET", in buf; -EINVAL if s is
 * not such a UTC time. */
int format_started_at(const char *s, char *buf, size_t size);

/* The `srvmctl jobs` table (STARTED in local time), and the same rows as a JSON array. */
int format_jobs_table(const JobRow *rows, size_t n, char **ret);
int format_jobs_json(const JobRow *rows, size_t n, char **ret);

/* The `srvmctl domains` table (DOMAIN STATE POLICY VF NOTE), and the same rows as a JSON
 * array (empty strings as null). */
int format_domains_table(const DomainRow *rows, size_t n, char **ret);
int format_domains_json(const DomainRow *rows, size_t n, char **ret);
