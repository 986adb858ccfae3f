/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Watching and steering a running pre-copy migration: a monitor thread per migration that
 * reads libvirt's job stats every interval and hands them to a callback, and short-lived
 * control threads that carry out what the state machine's convergence rule asked for (raise
 * the max downtime, switch to post-copy, abort). Both exist so that no libvirt call runs on
 * the loop: the callbacks run on these threads and must only queue what they are told.
 * virt-monitor.c also holds the loop's side (handing the progress to the job), declared in
 * virt-internal.h. */
#pragma once

#include <pthread.h>

#include <libvirt/libvirt.h>

#include "macro.h"
#include "migration.h"

#define VIRT_MONITOR_INTERVAL_USEC (500 * USEC_PER_MSEC)

typedef struct VirtMonitor VirtMonitor;

/* Called on the monitor thread with what the stats said; max_downtime_ms is left 0. */
typedef void (*VirtMonitorFunc)(const MigrationProgress *progress, void *userdata);

/* Start reading dom's job stats every interval (dom is referenced). */
int virt_monitor_start(virDomainPtr dom, usec_t interval, VirtMonitorFunc func, void *userdata,
                       VirtMonitor **ret);
/* Stop and join the thread; NULL is fine. */
VirtMonitor *virt_monitor_stop(VirtMonitor *mon);
DEFINE_TRIVIAL_CLEANUP_FUNC(VirtMonitor *, virt_monitor_stop);

/* The progress in a set of job stats (virDomainGetJobStats()'s parameters). 0 if it says
 * something, -ENODATA if it holds no memory figures (no migration runs). */
int virt_monitor_parse_stats(virTypedParameterPtr params, int n_params, MigrationProgress *ret);

/* Called on the control thread when the call failed, with libvirt's message. */
typedef void (*VirtControlFailedFunc)(MigrationControl c, const char *domain, const char *message,
                                      void *userdata);

/* The control threads still running, so their owner can wait for them before it frees what
 * their callbacks use. */
typedef struct VirtControlGroup {
        pthread_mutex_t lock;
        pthread_cond_t done;
        unsigned running;
} VirtControlGroup;

void virt_control_group_init(VirtControlGroup *g);
/* Wait until every control thread of the group has returned, then destroy it. */
void virt_control_group_done(VirtControlGroup *g);

/* Look the domain up on conn (referenced) and apply c (value: the max downtime in ms for
 * MIGRATION_CONTROL_SET_MAX_DOWNTIME) on a detached thread of its own, counted in g. */
int virt_control_start(VirtControlGroup *g, virConnectPtr conn, const char *domain, MigrationControl c, uint64_t value,
                       VirtControlFailedFunc failed, void *userdata);
