/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pre-copy monitoring, and the libvirt calls that steer a migration as the state machine's
 * convergence rule asks, for the libvirt backend. See virt-monitor.h. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>

#include "log.h"
#include "virt-internal.h"
#include "virt-monitor.h"

struct VirtMonitor {
        virDomainPtr dom; /* ref */
        usec_t interval;
        VirtMonitorFunc func;
        void *userdata;

        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond; /* on CLOCK_MONOTONIC */
        bool quit;           /* under lock */
};

int virt_monitor_parse_stats(virTypedParameterPtr params, int n_params, MigrationProgress *ret) {
        MigrationProgress p = {};
        unsigned long long v, page_size = 0;
        bool any = false;

        if (virTypedParamsGetULLong(params, n_params, VIR_DOMAIN_JOB_MEMORY_ITERATION, &v) == 1)
                p.iteration = (unsigned) v;
        /* Between QEMU's answers libvirt may give a job without figures: not progress. */
        if (virTypedParamsGetULLong(params, n_params, VIR_DOMAIN_JOB_DATA_TOTAL, &v) == 1 && v > 0) {
                p.data_total_bytes = v;
                any = true;
        }
        if (virTypedParamsGetULLong(params, n_params, VIR_DOMAIN_JOB_DATA_PROCESSED, &v) == 1)
                p.data_processed_bytes = v;
        if (virTypedParamsGetULLong(params, n_params, VIR_DOMAIN_JOB_DATA_REMAINING, &v) == 1)
                p.data_remaining_bytes = v;
        if (virTypedParamsGetULLong(params, n_params, VIR_DOMAIN_JOB_MEMORY_BPS, &v) == 1)
                p.bandwidth_bytes_s = v;
        /* Dirty pages per second; libvirt gives the page size alongside. */
        (void) virTypedParamsGetULLong(params, n_params, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, &page_size);
        if (virTypedParamsGetULLong(params, n_params, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, &v) == 1)
                p.dirty_rate_bytes_s = v * (page_size > 0 ? page_size : 4096);

        if (!any)
                return -ENODATA;
        *ret = p;
        return 0;
}

static void *monitor_main(void *userdata) {
        VirtMonitor *mon = userdata;
        struct timespec until;

        pthread_mutex_lock(&mon->lock);
        while (!mon->quit) {
                virTypedParameterPtr params = NULL;
                MigrationProgress progress;
                int type, n = 0;

                pthread_mutex_unlock(&mon->lock);
                if (virDomainGetJobStats(mon->dom, &type, &params, &n, 0) == 0 &&
                    type != VIR_DOMAIN_JOB_NONE &&
                    virt_monitor_parse_stats(params, n, &progress) == 0)
                        mon->func(&progress, mon->userdata);
                virTypedParamsFree(params, n);
                pthread_mutex_lock(&mon->lock);

                clock_gettime(CLOCK_MONOTONIC, &until);
                until.tv_sec += (time_t) (mon->interval / USEC_PER_SEC);
                until.tv_nsec += (long) (mon->interval % USEC_PER_SEC * NSEC_PER_USEC);
                if (until.tv_nsec >= 1000000000L) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000L;
                }
                while (!mon->quit && pthread_cond_timedwait(&mon->cond, &mon->lock, &until) == 0)
                        ;
        }
        pthread_mutex_unlock(&mon->lock);
        return NULL;
}

static void monitor_free(VirtMonitor *mon) {
        if (mon->dom)
                virDomainFree(mon->dom);
        pthread_cond_destroy(&mon->cond);
        pthread_mutex_destroy(&mon->lock);
        free(mon);
}

int virt_monitor_start(virDomainPtr dom, usec_t interval, VirtMonitorFunc func, void *userdata,
                       VirtMonitor **ret) {
        pthread_condattr_t attr;
        VirtMonitor *mon;
        int r;

        if (!dom || !func || !ret)
                return -EINVAL;

        mon = calloc(1, sizeof(*mon));
        if (!mon)
                return -ENOMEM;
        mon->interval = interval;
        mon->func = func;
        mon->userdata = userdata;
        pthread_mutex_init(&mon->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&mon->cond, &attr);
        pthread_condattr_destroy(&attr);
        if (virDomainRef(dom) < 0) {
                monitor_free(mon);
                return -ENOMEM;
        }
        mon->dom = dom;

        r = -pthread_create(&mon->thread, NULL, monitor_main, mon);
        if (r < 0) {
                monitor_free(mon);
                return r;
        }
        *ret = mon;
        return 0;
}

VirtMonitor *virt_monitor_stop(VirtMonitor *mon) {
        if (!mon)
                return NULL;
        pthread_mutex_lock(&mon->lock);
        mon->quit = true;
        pthread_cond_signal(&mon->cond);
        pthread_mutex_unlock(&mon->lock);
        (void) pthread_join(mon->thread, NULL);
        monitor_free(mon);
        return NULL;
}

/* Control */

void virt_control_group_init(VirtControlGroup *g) {
        *g = (VirtControlGroup) {};
        pthread_mutex_init(&g->lock, NULL);
        pthread_cond_init(&g->done, NULL);
}

void virt_control_group_done(VirtControlGroup *g) {
        pthread_mutex_lock(&g->lock);
        while (g->running > 0)
                pthread_cond_wait(&g->done, &g->lock);
        pthread_mutex_unlock(&g->lock);
        pthread_cond_destroy(&g->done);
        pthread_mutex_destroy(&g->lock);
}

static void control_group_leave(VirtControlGroup *g) {
        pthread_mutex_lock(&g->lock);
        if (--g->running == 0)
                pthread_cond_broadcast(&g->done);
        pthread_mutex_unlock(&g->lock);
}

typedef struct ControlRequest {
        VirtControlGroup *group;
        virConnectPtr conn; /* ref */
        char *domain;
        MigrationControl control;
        uint64_t value;
        VirtControlFailedFunc failed;
        void *userdata;
} ControlRequest;

static void control_request_free(ControlRequest *c) {
        if (c->conn)
                virConnectClose(c->conn);
        free(c->domain);
        free(c);
}

static void *control_main(void *userdata) {
        ControlRequest *c = userdata;
        VirtControlGroup *group;
        virDomainPtr dom;
        int r = -1;

        dom = virDomainLookupByName(c->conn, c->domain);
        if (dom) {
                switch (c->control) {
                case MIGRATION_CONTROL_SET_MAX_DOWNTIME:
                        r = virDomainMigrateSetMaxDowntime(dom, c->value, 0);
                        break;
                case MIGRATION_CONTROL_POSTCOPY:
                        r = virDomainMigrateStartPostCopy(dom, 0);
                        break;
                case MIGRATION_CONTROL_ABORT:
                        r = virDomainAbortJob(dom);
                        break;
                case _MIGRATION_CONTROL_MAX:
                case _MIGRATION_CONTROL_INVALID:
                        break;
                }
        }
        if (r < 0 && c->failed)
                c->failed(c->control, c->domain, virGetLastErrorMessage(), c->userdata);
        if (dom)
                virDomainFree(dom);
        group = c->group;
        control_request_free(c);
        control_group_leave(group); /* last: the group's owner may free everything now */
        return NULL;
}

int virt_control_start(VirtControlGroup *g, virConnectPtr conn, const char *domain, MigrationControl control,
                       uint64_t value, VirtControlFailedFunc failed, void *userdata) {
        pthread_attr_t attr;
        ControlRequest *c;
        pthread_t t;
        int r;

        if (!domain)
                return -EINVAL;
        if (!conn)
                return -ENOTCONN; /* libvirtd went away; srvmd is reconnecting */

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (ControlRequest) { .group = g, .control = control, .value = value, .failed = failed, .userdata = userdata };
        c->domain = strdup(domain);
        /* virConnectRef() only counts: fine on the loop. */
        if (!c->domain || virConnectRef(conn) < 0) {
                control_request_free(c);
                return -ENOMEM;
        }
        c->conn = conn;

        pthread_mutex_lock(&g->lock);
        g->running++;
        pthread_mutex_unlock(&g->lock);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = -pthread_create(&t, &attr, control_main, c);
        pthread_attr_destroy(&attr);
        if (r < 0) {
                control_request_free(c);
                control_group_leave(g);
                return r;
        }
        return 0;
}

/* The loop's side: what the monitor and the events say goes to the job, whose state
 * machine applies the convergence rule and asks back through virt_control_migration(). */

/* Monitor thread: queue what the job stats say. */
void on_progress(const MigrationProgress *progress, void *userdata) {
        VirtJob *j = userdata;
        ProgressPost *p = POST_NEW(POST_PROGRESS, ProgressPost);

        if (!p)
                return;
        p->job_id = j->id;
        p->progress = *progress;
        virt_post(j->virt, &p->post);
}

/* Loop: pre-copy progress, handed to the job while it migrates. */
static Migration *migrating(Migration *m) {
        return m && !migration_is_finished(m) && migration_get_phase(m) == PHASE_MIGRATE ? m : NULL;
}

void virt_dispatch_iteration(Virt *v, IterationPost *p) {
        Migration *m = migrating(virt_domain_migration(v, p->domain));

        if (m)
                (void) migration_set_iteration(m, p->iteration);
}

void virt_dispatch_progress(Virt *v, ProgressPost *p) {
        Migration *m = migrating(virt_job_migration(v, p->job_id));

        if (!m)
                return;
        log_debug("%s: job %u: pre-copy iteration %u, %llu of %llu bytes left, %llu B/s, dirtying %llu B/s",
                  migration_get_domain(m), migration_get_id(m), p->progress.iteration,
                  (unsigned long long) p->progress.data_remaining_bytes,
                  (unsigned long long) p->progress.data_total_bytes,
                  (unsigned long long) p->progress.bandwidth_bytes_s,
                  (unsigned long long) p->progress.dirty_rate_bytes_s);
        (void) migration_set_progress(m, &p->progress);
}

/* A note for the job's events: the worker's names its job, a control thread's its domain. */
void virt_dispatch_note(Virt *v, NotePost *p) {
        Migration *m = p->job_id > 0 ? virt_job_migration(v, p->job_id) :
                       p->domain ? virt_domain_migration(v, p->domain) : NULL;

        log_warning("%s: %s", strna(p->domain), strna(p->note));
        if (m && !migration_is_finished(m))
                (void) migration_add_event(m, "%s", strna(p->note));
}
