/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Metrics: what srvmd counts and measures, and its rendering in the Prometheus text exposition
 * format, version 0.0.4. Two layers: generic metric families (counters, gauges, histograms with
 * fixed buckets, each with a fixed set of label names), and the srvmd registry built from them,
 * fed from the manager's hooks on the loop thread. Nothing here does I/O: the process figures
 * are read by the caller (metrics-http.c) and handed in, and rendering writes into memory. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"
#include "migration.h"
#include "vf.h"

typedef enum MetricType {
        METRIC_COUNTER,
        METRIC_GAUGE,
        METRIC_HISTOGRAM,
        _METRIC_TYPE_MAX,
        _METRIC_TYPE_INVALID = -EINVAL,
} MetricType;

/* Series per family at most: a bound on what a label value taken from outside can cost. */
#define METRIC_SERIES_MAX 256U
#define METRIC_LABELS_MAX 4U

typedef struct MetricFamily MetricFamily;

/* A family: name and label names must be valid Prometheus names ("le" is reserved for
 * histograms); label_names is NULL-terminated or NULL. For a histogram, buckets are the upper
 * bounds, finite and strictly increasing; +Inf is implied. -EINVAL for anything else. */
int metric_family_new(const char *name, const char *help, MetricType type,
                      const char *const *label_names, const double *buckets, size_t n_buckets,
                      MetricFamily **ret);
MetricFamily *metric_family_free(MetricFamily *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricFamily *, metric_family_free);

/* The label values, one per label name (NULL when the family has none), select the series; it
 * is created at zero on first use, or by metric_family_touch() so it shows before its first
 * event. -E2BIG past METRIC_SERIES_MAX series. */
int metric_family_touch(MetricFamily *f, const char *const *label_values);
/* Counter: add v >= 0. */
int metric_family_add(MetricFamily *f, const char *const *label_values, double v);
/* Gauge: set v. */
int metric_family_set(MetricFamily *f, const char *const *label_values, double v);
/* Histogram: count one observation of v. */
int metric_family_observe(MetricFamily *f, const char *const *label_values, double v);
/* Gauge without labels: read the value from get() at each render instead. */
int metric_family_set_callback(MetricFamily *f, double (*get)(void *userdata), void *userdata);

/* HELP, TYPE, then every series in creation order. */
int metric_family_render(const MetricFamily *f, FILE *out);

const char *metric_type_to_string(MetricType t);
MetricType metric_type_from_string(const char *s);

/* The srvmd registry. */

typedef struct Metrics Metrics;

/* What the process_* metrics show, as the edge read it (see metrics_read_process()). */
typedef struct MetricsProcess {
        double start_time_sec;     /* since the epoch */
        double cpu_sec;            /* user + system */
        uint64_t resident_bytes;
        uint64_t virtual_bytes;
        uint64_t open_fds;
        uint64_t max_fds;
} MetricsProcess;

/* version: the build's version, shown by srvm_build_info. */
int metrics_new(const char *version, Metrics **ret);
Metrics *metrics_free(Metrics *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Metrics *, metrics_free);

/* What the gauges of srvmd's state read at each render: srvm_libvirt_connected and
 * srvm_jobs_degraded. Either may be NULL (then 0). */
typedef struct MetricsStateOps {
        bool (*libvirt_connected)(void *userdata);
        unsigned (*n_degraded)(void *userdata); /* running jobs whose guest is on its standby */
} MetricsStateOps;

void metrics_set_state_ops(Metrics *m, const MetricsStateOps *ops, void *userdata);

/* A load of the policies: srvm_policy_reload_success, and on success
 * srvm_policy_reload_timestamp_seconds = when_sec (since the epoch). */
int metrics_policy_reloaded(Metrics *m, bool ok, double when_sec);

/* A count of the host's VFs, made off the loop (see vf-census.h): srvm_vfs{state} = counts[state]
 * and srvm_vfs_updated_timestamp_seconds = when_sec (since the epoch). */
int metrics_vfs_counted(Metrics *m, const unsigned counts[static _VF_STATE_MAX], double when_sec);

/* srvm_migrations_active reads n_active(userdata) at each render. */
void metrics_set_active_jobs_callback(Metrics *m, unsigned (*n_active)(void *userdata), void *userdata);
/* srvm_migrations_queued reads n_queued(userdata) at each render. */
void metrics_set_queued_jobs_callback(Metrics *m, unsigned (*n_queued)(void *userdata), void *userdata);

/* Count a job that has just left JOB_RUNNING: its result, the duration of every phase it
 * entered, a rollback (by the forward phase that failed and why) and its time on the
 * virtio-net standby, each by kind (migrate, arrival). A check counts in srvm_checks_total
 * only. Call once per job. -EBUSY if the job still runs. */
int metrics_job_finished(Metrics *m, const Migration *job);
/* libvirt's VM downtime for one completed migration (its JOB_COMPLETED event). */
int metrics_observe_vm_downtime_ms(Metrics *m, uint64_t ms);
/* One guest agent request: the command (a short name, e.g. "guest-exec") and how long it took
 * until its answer or its failure. */
int metrics_observe_agent(Metrics *m, const char *command, double seconds);

/* Render every family; process may be NULL to leave the process_* metrics out. *ret is
 * NUL-terminated and malloc()ed; *ret_size excludes the NUL. */
int metrics_render(const Metrics *m, const MetricsProcess *process, char **ret, size_t *ret_size);

/* The pure half of reading the process figures: /proc/self/stat's and /proc/stat's text,
 * with sysconf(_SC_CLK_TCK) and the page size. Fills start time, CPU time and memory. */
int metrics_parse_process_stat(const char *self_stat, const char *proc_stat, long ticks_per_sec,
                               long page_size, MetricsProcess *ret);
