/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srvmctl evacuate's bookkeeping, as pure code: which domains to move, which job to start
 * next so that at most `concurrency` run at once, what each job's end means, and the lines
 * that report it. No bus here: srvmctl.c feeds it the answers of Migrate() and the
 * JobFinished signals, and the unit tests feed it by hand. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define EVAC_CONCURRENCY_DEFAULT 1U
#define EVAC_CONCURRENCY_MAX 64U

typedef enum EvacState {
        EVAC_PENDING,  /* not started yet */
        EVAC_RUNNING,  /* Migrate() answered with a job, which has not finished */
        EVAC_DONE,     /* the job finished, or Migrate() refused to start one */
} EvacState;

typedef struct EvacItem {
        char *domain;
        EvacState state;
        bool have_job;
        uint32_t job;
        char *result;          /* DONE: the job's result, "failed" if it never started */
        char *error;           /* DONE: the job's error, or why Migrate() refused; NULL if none */
        int64_t downtime_ms;   /* DONE: the job's vm_downtime_ms, -1 if n/a */
        int64_t wall_us;       /* DONE: first phase's start to last phase's end, -1 if n/a */
        json_object *json;     /* DONE: the final job JSON (owned), NULL if no job started */
} EvacItem;

typedef struct Evacuation {
        EvacItem *items;       /* owned, in the order they are started */
        size_t n_items;
        unsigned concurrency;  /* at most this many RUNNING at once */
        unsigned n_running;
        bool stopped;          /* start nothing more (SIGINT) */
        int64_t elapsed_us;    /* from the first start to the end, for the summary; -1 if unknown */
} Evacuation;

void evac_init(Evacuation *e, unsigned concurrency);
void evac_done(Evacuation *e);

/* "--concurrency N": 1..EVAC_CONCURRENCY_MAX, decimal digits only. -EINVAL otherwise. */
int evac_parse_concurrency(const char *s, unsigned *ret);

/* Why a domain ListDomains() returned is not evacuated, or NULL if it is: it must be running
 * and have a policy and a VF; note is ListDomains()'s sentence saying why it has none. */
const char *evac_skip_reason(const char *state, const char *policy, const char *vf, const char *note,
                             char *buf, size_t size);

int evac_add(Evacuation *e, const char *domain);

/* The next domain to start, or NULL if none may start now (concurrency reached, stopped, or
 * none left). The caller calls evac_started() or evac_start_failed() on it before asking
 * again. */
EvacItem *evac_next(Evacuation *e);
void evac_started(Evacuation *e, EvacItem *i, uint32_t job);
int evac_start_failed(Evacuation *e, EvacItem *i, const char *error);

/* The RUNNING item of job, or NULL if the job is not one of ours (or already finished). */
EvacItem *evac_find_running(Evacuation *e, uint32_t job);
/* The job of i finished: take its final JSON (the reference is taken over; may be NULL if it
 * could not be read, then result is what JobFinished said). */
int evac_finished(Evacuation *e, EvacItem *i, const char *result, json_object *json);

/* Nothing runs and nothing more will start. */
bool evac_is_over(const Evacuation *e);
size_t evac_count(const Evacuation *e, EvacState state);
size_t evac_count_succeeded(const Evacuation *e);
/* 0 if every domain was moved, 1 (srvmctl's EXIT_FAILED) otherwise. */
int evac_exit_code(const Evacuation *e);

/* The lines evacuate prints, with a newline: a job started, a job ended, the summary. */
int evac_format_started(const EvacItem *i, char **ret);
int evac_format_finished(const EvacItem *i, char **ret);
int evac_format_summary(const Evacuation *e, char **ret);
/* The final JSONs of the finished jobs, as an array; a domain whose job never started gets
 * {"id": null, "domain", "result": "failed", "error"}, one whose JSON could not be read
 * {"id", "domain", "result", "error": null}. */
int evac_to_json(const Evacuation *e, json_object **ret);
