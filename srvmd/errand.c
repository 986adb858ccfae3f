/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See errand.h. A run is one read of one key and the callers waiting for it, queued or
 * running; a result is what a finished read gave, kept until it expires. Lists are short (a
 * few runs, a few results): linked lists, searched by key. */
#include <stdlib.h>
#include <string.h>

#include "errand.h"

typedef struct Waiter {
        struct Waiter *next;
        ErrandDoneFn cb;
        void *userdata;
} Waiter;

typedef struct Run {
        struct Run *next;
        ErrandPool *pool;
        char *key;
        Waiter *waiters; /* owned; in the order they came, the first at the head */
        Waiter **waiters_tail;
        bool running;
} Run;

typedef struct Result {
        struct Result *next;
        char *key;
        char *text;
        usec_t expires;
} Result;

struct ErrandPool {
        ErrandPoolConfig config;
        Run *runs;       /* owned, oldest first */
        Result *results; /* owned */
        unsigned n_running, n_queued, n_waiters;
        uint64_t n_started;
};

static Run *run_free(Run *r) {
        if (!r)
                return NULL;
        while (r->waiters) {
                Waiter *w = r->waiters;

                r->waiters = w->next;
                free(w);
        }
        free(r->key);
        free(r);
        return NULL;
}

static Result *result_free(Result *r) {
        if (!r)
                return NULL;
        free(r->key);
        free(r->text);
        free(r);
        return NULL;
}

int errand_pool_new(const ErrandPoolConfig *config, ErrandPool **ret) {
        ErrandPool *p;

        if (!config || !config->run || !config->now || !ret || config->max_running == 0)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->config = *config;
        *ret = p;
        return 0;
}

ErrandPool *errand_pool_free(ErrandPool *p) {
        if (!p)
                return NULL;
        while (p->runs) {
                Run *r = p->runs;

                p->runs = r->next;
                run_free(r);
        }
        while (p->results) {
                Result *r = p->results;

                p->results = r->next;
                result_free(r);
        }
        free(p);
        return NULL;
}

static void results_expire(ErrandPool *p) {
        usec_t now = p->config.now(p->config.userdata);

        for (Result **k = &p->results; *k;) {
                Result *r = *k;

                if (r->expires <= now) {
                        *k = r->next;
                        result_free(r);
                } else
                        k = &r->next;
        }
}

static void results_put(ErrandPool *p, const char *key, const char *text) {
        Result *r;

        if (p->config.result_ttl == 0)
                return;
        for (r = p->results; r; r = r->next)
                if (streq(r->key, key))
                        break;
        if (!r) {
                r = calloc(1, sizeof(*r));
                if (!r)
                        return;
                r->key = strdup(key);
                if (!r->key) {
                        free(r);
                        return;
                }
                r->next = p->results;
                p->results = r;
        }
        free(r->text);
        r->text = strdup(text);
        r->expires = p->config.now(p->config.userdata) + p->config.result_ttl;
        if (!r->text)
                r->expires = 0; /* out of memory: serves nothing, goes at the next expiry */
}

static void run_unlink(ErrandPool *p, Run *run) {
        for (Run **k = &p->runs; *k; k = &(*k)->next)
                if (*k == run) {
                        *k = run->next;
                        return;
                }
}

static void pool_start_queued(ErrandPool *p);

/* The run's read is over: every waiter gets the answer, in the order they came. A waiter's
 * callback may ask for more; the run is out of the lists by then. */
static void run_done(void *userdata, const char *text, const char *error) {
        Run *run = userdata;
        ErrandPool *p = run->pool;

        run_unlink(p, run);
        p->n_running--;
        if (text)
                results_put(p, run->key, text);
        while (run->waiters) {
                Waiter *w = run->waiters;

                run->waiters = w->next;
                p->n_waiters--;
                w->cb(w->userdata, text, text ? NULL : error ? error : "the read failed");
                free(w);
        }
        run_free(run);
        pool_start_queued(p);
}

/* Start run's read; on failure every waiter hears why and the run is gone. */
static int run_start(ErrandPool *p, Run *run) {
        int r;

        run->running = true;
        p->n_running++;
        p->n_started++;
        r = p->config.run(p->config.userdata, run->key, run_done, run);
        if (r < 0) {
                run->running = false;
                p->n_running--;
        }
        return r;
}

static void pool_start_queued(ErrandPool *p) {
        bool again = true;

        /* Oldest first; a failed start answers its waiters, whose callbacks may change the
         * list: look again from the head after each start. */
        while (again && p->n_running < p->config.max_running) {
                again = false;
                for (Run *run = p->runs; run; run = run->next) {
                        if (run->running)
                                continue;
                        p->n_queued--;
                        if (run_start(p, run) < 0) {
                                p->n_running++; /* run_done() counts it out */
                                run_done(run, NULL, "the read could not be started");
                        }
                        again = true;
                        break;
                }
        }
}

int errand_pool_request(ErrandPool *p, const char *key, ErrandDoneFn cb, void *userdata) {
        Waiter *w;
        Run *run;
        int r;

        if (!p || !key || !cb)
                return -EINVAL;

        results_expire(p);
        for (Result *res = p->results; res; res = res->next)
                if (streq(res->key, key) && res->text) {
                        cb(userdata, res->text, NULL);
                        return 0;
                }

        if (p->n_waiters >= p->config.max_waiters)
                return -EBUSY;

        for (run = p->runs; run; run = run->next)
                if (streq(run->key, key))
                        break;
        if (!run) {
                Run **k = &p->runs;

                if (p->n_running >= p->config.max_running && p->n_queued >= p->config.max_queued)
                        return -EBUSY;
                run = calloc(1, sizeof(*run));
                if (!run)
                        return -ENOMEM;
                *run = (Run) { .pool = p };
                run->waiters_tail = &run->waiters;
                run->key = strdup(key);
                if (!run->key) {
                        free(run);
                        return -ENOMEM;
                }
                /* At the end: the oldest queued run starts first. */
                while (*k)
                        k = &(*k)->next;
                *k = run;
                if (p->n_running < p->config.max_running) {
                        r = run_start(p, run);
                        if (r < 0) {
                                run_unlink(p, run);
                                run_free(run);
                                return r;
                        }
                } else
                        p->n_queued++;
        }

        w = calloc(1, sizeof(*w));
        if (!w) {
                /* A run nobody waits for still ends in run_done(), harmlessly. */
                return -ENOMEM;
        }
        *w = (Waiter) { .cb = cb, .userdata = userdata };
        *run->waiters_tail = w;
        run->waiters_tail = &w->next;
        p->n_waiters++;
        return 0;
}

unsigned errand_pool_n_running(const ErrandPool *p) {
        return p ? p->n_running : 0;
}

unsigned errand_pool_n_queued(const ErrandPool *p) {
        return p ? p->n_queued : 0;
}

uint64_t errand_pool_n_started(const ErrandPool *p) {
        return p ? p->n_started : 0;
}
