/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The errand pool: the reads anyone on the bus may ask for (the domain list, the VF list, a
 * domain's XML for its policy), bounded and shared. Each read has a key ("domains", "vfs",
 * "xml:NAME"). Callers asking for the same key while its read runs or waits share that one
 * run, and a read's result serves the same key for a short while after. At most max_running
 * reads run at once; up to max_queued more wait for a slot; beyond that, or beyond max_waiters
 * callers in all, a request is refused with -EBUSY, which the bus says as LimitsExceeded.
 * Everything here runs on the loop; the reads themselves run wherever run() puts them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

typedef struct ErrandPool ErrandPool;

/* The answer of a read: text, or NULL and a sentence saying why not. */
typedef void (*ErrandDoneFn)(void *userdata, const char *text, const char *error);
/* Start the read of key; call done(done_userdata, ...) exactly once, later, on the loop.
 * Returns < 0 if it could not start (then done is not called). */
typedef int (*ErrandRunFn)(void *userdata, const char *key, ErrandDoneFn done, void *done_userdata);

typedef struct ErrandPoolConfig {
        unsigned max_running; /* reads at once */
        unsigned max_queued;  /* reads waiting for a slot */
        unsigned max_waiters; /* callers waiting, in all */
        usec_t result_ttl;    /* how long a result serves the same key again */
        ErrandRunFn run;
        usec_t (*now)(void *userdata); /* monotonic */
        void *userdata;                /* for run() and now() */
} ErrandPoolConfig;

#define ERRAND_MAX_RUNNING_DEFAULT 3
#define ERRAND_MAX_QUEUED_DEFAULT 16
#define ERRAND_MAX_WAITERS_DEFAULT 256
#define ERRAND_RESULT_TTL_DEFAULT (1 * USEC_PER_SEC)

int errand_pool_new(const ErrandPoolConfig *config, ErrandPool **ret);
/* Callers still waiting get no answer (the daemon is going away). Free it only when no run can
 * report any more (after the backend that runs them). */
ErrandPool *errand_pool_free(ErrandPool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(ErrandPool *, errand_pool_free);

/* Ask for key's result: cb(userdata, ...) runs once, on the loop, possibly before this returns
 * (a result still fresh). -EBUSY: over the limits; any other error from run() as it is. In
 * both cases cb is not called. */
int errand_pool_request(ErrandPool *p, const char *key, ErrandDoneFn cb, void *userdata);

/* For the tests and the metrics: reads running and waiting now, reads started so far. */
unsigned errand_pool_n_running(const ErrandPool *p);
unsigned errand_pool_n_queued(const ErrandPool *p);
uint64_t errand_pool_n_started(const ErrandPool *p);
