/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Metric families and the srvmd registry (see metrics.h). Rendering follows the Prometheus
 * text exposition format 0.0.4: "# HELP", "# TYPE", then one line per sample, histogram
 * buckets cumulative with "le" as the last label, values in the shortest form that reads back
 * to the same double. Units are the base ones (seconds, bytes), counters end in _total. */
#include <math.h>
#include <stdio.h>

#include "metrics.h"

typedef struct MetricSeries {
        char *label_values[METRIC_LABELS_MAX]; /* owned */
        double value;                          /* counter, gauge */
        double sum;                            /* histogram */
        uint64_t count;                        /* histogram */
        uint64_t *buckets;                     /* histogram, owned: per bucket, not cumulative */
} MetricSeries;

struct MetricFamily {
        char *name; /* owned */
        char *help; /* owned */
        MetricType type;
        char *label_names[METRIC_LABELS_MAX]; /* owned */
        size_t n_labels;
        double *bounds; /* owned; histogram upper bounds without +Inf */
        size_t n_bounds;
        MetricSeries **series; /* owned, in creation order */
        size_t n_series;
        double (*get)(void *userdata);
        void *userdata;
};

static const char *const metric_type_table[_METRIC_TYPE_MAX] = {
        [METRIC_COUNTER] = "counter",
        [METRIC_GAUGE] = "gauge",
        [METRIC_HISTOGRAM] = "histogram",
};
DEFINE_STRING_TABLE_LOOKUP(metric_type, MetricType);

static bool name_valid(const char *s, bool colon) {
        if (!s || !*s)
                return false;
        for (const char *p = s; *p; p++) {
                bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                             (colon && *p == ':');

                if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
                        return false;
        }
        return true;
}

static MetricSeries *metric_series_free(MetricSeries *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < METRIC_LABELS_MAX; i++)
                free(s->label_values[i]);
        free(s->buckets);
        free(s);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricSeries *, metric_series_free);

MetricFamily *metric_family_free(MetricFamily *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_series; i++)
                metric_series_free(f->series[i]);
        free(f->series);
        for (size_t i = 0; i < f->n_labels; i++)
                free(f->label_names[i]);
        free(f->bounds);
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
}

int metric_family_new(const char *name, const char *help, MetricType type,
                      const char *const *label_names, const double *buckets, size_t n_buckets,
                      MetricFamily **ret) {
        _cleanup_(metric_family_freep) MetricFamily *f = NULL;

        if (!name_valid(name, true) || !help || type < 0 || type >= _METRIC_TYPE_MAX || !ret)
                return -EINVAL;
        if (type == METRIC_HISTOGRAM ? (n_buckets > 0 && !buckets) : n_buckets > 0)
                return -EINVAL;
        for (size_t i = 0; i < n_buckets; i++)
                if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
                        return -EINVAL;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->type = type;
        f->name = strdup(name);
        f->help = strdup(help);
        if (!f->name || !f->help)
                return -ENOMEM;

        for (size_t i = 0; label_names && label_names[i]; i++) {
                if (i >= METRIC_LABELS_MAX || !name_valid(label_names[i], false) ||
                    strncmp(label_names[i], "__", 2) == 0 ||
                    (type == METRIC_HISTOGRAM && streq(label_names[i], "le")))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (streq(label_names[i], label_names[j]))
                                return -EINVAL;
                f->label_names[i] = strdup(label_names[i]);
                if (!f->label_names[i])
                        return -ENOMEM;
                f->n_labels++;
        }

        if (n_buckets > 0) {
                f->bounds = malloc(n_buckets * sizeof(double));
                if (!f->bounds)
                        return -ENOMEM;
                memcpy(f->bounds, buckets, n_buckets * sizeof(double));
                f->n_bounds = n_buckets;
        }

        *ret = TAKE_PTR(f);
        return 0;
}

static int metric_family_get_series(MetricFamily *f, const char *const *label_values, MetricSeries **ret) {
        _cleanup_(metric_series_freep) MetricSeries *s = NULL;
        MetricSeries **list;

        if (f->n_labels > 0 && !label_values)
                return -EINVAL;
        for (size_t i = 0; i < f->n_labels; i++)
                if (!label_values[i])
                        return -EINVAL;

        for (size_t i = 0; i < f->n_series; i++) {
                size_t j;

                for (j = 0; j < f->n_labels; j++)
                        if (!streq(f->series[i]->label_values[j], label_values[j]))
                                break;
                if (j == f->n_labels) {
                        *ret = f->series[i];
                        return 0;
                }
        }

        if (f->n_series >= METRIC_SERIES_MAX)
                return -E2BIG;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < f->n_labels; i++) {
                s->label_values[i] = strdup(label_values[i]);
                if (!s->label_values[i])
                        return -ENOMEM;
        }
        if (f->type == METRIC_HISTOGRAM && f->n_bounds > 0) {
                s->buckets = calloc(f->n_bounds, sizeof(uint64_t));
                if (!s->buckets)
                        return -ENOMEM;
        }

        list = realloc(f->series, (f->n_series + 1) * sizeof(MetricSeries *));
        if (!list)
                return -ENOMEM;
        f->series = list;
        f->series[f->n_series++] = s;
        *ret = TAKE_PTR(s);
        return 0;
}

int metric_family_touch(MetricFamily *f, const char *const *label_values) {
        MetricSeries *s;

        if (!f)
                return -EINVAL;
        return metric_family_get_series(f, label_values, &s);
}

int metric_family_add(MetricFamily *f, const char *const *label_values, double v) {
        MetricSeries *s;
        int r;

        if (!f || f->type != METRIC_COUNTER || !(v >= 0) || isinf(v))
                return -EINVAL;
        r = metric_family_get_series(f, label_values, &s);
        if (r < 0)
                return r;
        s->value += v;
        return 0;
}

int metric_family_set(MetricFamily *f, const char *const *label_values, double v) {
        MetricSeries *s;
        int r;

        if (!f || f->type != METRIC_GAUGE)
                return -EINVAL;
        r = metric_family_get_series(f, label_values, &s);
        if (r < 0)
                return r;
        s->value = v;
        return 0;
}

int metric_family_observe(MetricFamily *f, const char *const *label_values, double v) {
        MetricSeries *s;
        int r;

        if (!f || f->type != METRIC_HISTOGRAM || isnan(v))
                return -EINVAL;
        r = metric_family_get_series(f, label_values, &s);
        if (r < 0)
                return r;

        for (size_t i = 0; i < f->n_bounds; i++)
                if (v <= f->bounds[i]) {
                        s->buckets[i]++;
                        break;
                }
        s->count++;
        s->sum += v;
        return 0;
}

int metric_family_set_callback(MetricFamily *f, double (*get)(void *userdata), void *userdata) {
        if (!f || f->type != METRIC_GAUGE || f->n_labels > 0)
                return -EINVAL;
        f->get = get;
        f->userdata = userdata;
        return 0;
}

/* Whole numbers (counts, bytes) as integers; anything else in the shortest "%g" form that
 * reads back to the same double, as Go's FormatFloat(v, 'g', -1) writes it. */
static void format_value(double v, char buf[static 32]) {
        if (isnan(v)) {
                strcpy(buf, "NaN");
                return;
        }
        if (isinf(v)) {
                strcpy(buf, v > 0 ? "+Inf" : "-Inf");
                return;
        }
        if (v > -1e15 && v < 1e15 && v == (double) (long long) v) {
                snprintf(buf, 32, "%.0f", v);
                return;
        }
        for (int precision = 1; precision <= 17; precision++) {
                snprintf(buf, 32, "%.*g", precision, v);
                if (strtod(buf, NULL) == v)
                        return;
        }
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void write_escaped(FILE *out, const char *s, bool quote) {
        for (; *s; s++)
                switch (*s) {
                case '\\':
                        fputs("\\\\", out);
                        break;
                case '\n':
                        fputs("\\n", out);
                        break;
                case '"':
                        fputs(quote ? "\\\"" : "\"", out);
                        break;
                default:
                        fputc(*s, out);
                }
}

static void write_header(FILE *out, const char *name, const char *help, MetricType type) {
        fprintf(out, "# HELP %s ", name);
        write_escaped(out, help, false);
        fprintf(out, "\n# TYPE %s %s\n", name, metric_type_to_string(type));
}

/* name{labels,le="bound"} value */
static void write_sample(FILE *out, const MetricFamily *f, const MetricSeries *s, const char *suffix,
                         const char *le, double v) {
        char buf[32];
        bool any = false;

        fprintf(out, "%s%s", f->name, suffix);
        for (size_t i = 0; s && i < f->n_labels; i++) {
                fprintf(out, "%s%s=\"", any ? "," : "{", f->label_names[i]);
                write_escaped(out, s->label_values[i], true);
                fputc('"', out);
                any = true;
        }
        if (le) {
                fprintf(out, "%sle=\"%s\"", any ? "," : "{", le);
                any = true;
        }
        format_value(v, buf);
        fprintf(out, "%s %s\n", any ? "}" : "", buf);
}

int metric_family_render(const MetricFamily *f, FILE *out) {
        if (!f || !out)
                return -EINVAL;

        write_header(out, f->name, f->help, f->type);

        if (f->get) {
                write_sample(out, f, NULL, "", NULL, f->get(f->userdata));
                return 0;
        }

        for (size_t i = 0; i < f->n_series; i++) {
                const MetricSeries *s = f->series[i];
                uint64_t cumulative = 0;
                char le[32];

                switch (f->type) {
                case METRIC_COUNTER:
                case METRIC_GAUGE:
                        write_sample(out, f, s, "", NULL, s->value);
                        break;
                case METRIC_HISTOGRAM:
                        for (size_t b = 0; b < f->n_bounds; b++) {
                                cumulative += s->buckets[b];
                                format_value(f->bounds[b], le);
                                write_sample(out, f, s, "_bucket", le, (double) cumulative);
                        }
                        write_sample(out, f, s, "_bucket", "+Inf", (double) s->count);
                        write_sample(out, f, s, "_sum", NULL, s->sum);
                        write_sample(out, f, s, "_count", NULL, (double) s->count);
                        break;
                case _METRIC_TYPE_MAX:
                case _METRIC_TYPE_INVALID:
                        return -EINVAL;
                }
        }
        return 0;
}

/* The srvmd registry. */

struct Metrics {
        MetricFamily *build_info;
        MetricFamily *migrations;
        MetricFamily *paths;
        MetricFamily *active;
        MetricFamily *queued;
        MetricFamily *phase_duration;
        MetricFamily *vm_downtime;
        MetricFamily *standby;
        MetricFamily *rollbacks;
        MetricFamily *agent;
        MetricFamily *checks;
        MetricFamily *libvirt_connected;
        MetricFamily *degraded;
        MetricFamily *reload_success;
        MetricFamily *reload_time;
        MetricFamily *vfs;
        MetricFamily *vfs_time;

        unsigned (*n_active)(void *userdata);
        void *n_active_userdata;
        const MetricsStateOps *state_ops;
        void *state_userdata;
        unsigned (*n_queued)(void *userdata);
        void *n_queued_userdata;
};

/* The kinds of job the job families count apart; checks have a family of their own. */
static const char *const job_kinds[] = { "migrate", "arrival" };

static const char *job_kind(const Migration *job) {
        return migration_is_arrival(job) ? "arrival" : "migrate";
}

/* The paths a migration can take: native, failover, or failover after its native migration
 * failed (an auto job's fallback). */
static const char *const job_paths[] = { "native", "failover", "fallback" };

static const char *job_path(const Migration *job) {
        PolicyMigrationPath p = migration_get_path(job);

        if (p == POLICY_PATH_NATIVE)
                return "native";
        if (p == POLICY_PATH_FAILOVER)
                return migration_get_fell_back(job) ? "fallback" : "failover";
        return NULL; /* refused before a path was chosen */
}

/* Phases last from milliseconds (failover) to minutes (migrate of a busy guest). */
static const double phase_buckets[] = {
        0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
};
/* libvirt's downtime: the VM paused for the last copy; a few ms when all goes well. */
static const double downtime_buckets[] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};
/* Failover to failback: the whole migration plus plug and link. */
static const double standby_buckets[] = {
        0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
};
/* The guest agent commands srvmd sends (agent.c), so that their series exist from the start. */
static const char *const agent_commands[] = { "guest-ping", "guest-exec", "guest-exec-status" };
/* A qemu-guest-agent round trip, up to a guest-exec that waits for carrier. */
static const double agent_buckets[] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

Metrics *metrics_free(Metrics *m) {
        if (!m)
                return NULL;
        metric_family_free(m->build_info);
        metric_family_free(m->migrations);
        metric_family_free(m->paths);
        metric_family_free(m->active);
        metric_family_free(m->queued);
        metric_family_free(m->phase_duration);
        metric_family_free(m->vm_downtime);
        metric_family_free(m->standby);
        metric_family_free(m->rollbacks);
        metric_family_free(m->agent);
        metric_family_free(m->checks);
        metric_family_free(m->libvirt_connected);
        metric_family_free(m->degraded);
        metric_family_free(m->reload_success);
        metric_family_free(m->reload_time);
        metric_family_free(m->vfs);
        metric_family_free(m->vfs_time);
        free(m);
        return NULL;
}

static double metrics_get_active(void *userdata) {
        Metrics *m = userdata;

        return m->n_active ? m->n_active(m->n_active_userdata) : 0;
}

static double metrics_get_queued(void *userdata) {
        Metrics *m = userdata;

        return m->n_queued ? m->n_queued(m->n_queued_userdata) : 0;
}

/* The forward phases whose failure (or a cancel right after) rolls the job back, and how:
 * every cause rollback_cause() can give, so no series appears mid-stream. */
static const Phase rollback_phases[] = { PHASE_FAILOVER, PHASE_UNPLUG, PHASE_MIGRATE };
static const char *const rollback_causes[] = { "failed", "timeout", "cancelled", "interrupted" };

static double metrics_get_libvirt_connected(void *userdata) {
        Metrics *m = userdata;

        return m->state_ops && m->state_ops->libvirt_connected ?
                m->state_ops->libvirt_connected(m->state_userdata) : 0;
}

static double metrics_get_degraded(void *userdata) {
        Metrics *m = userdata;

        return m->state_ops && m->state_ops->n_degraded ? m->state_ops->n_degraded(m->state_userdata) : 0;
}

int metrics_new(const char *version, Metrics **ret) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        int r;

        if (!version || !ret)
                return -EINVAL;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        r = metric_family_new("srvm_build_info", "srvmd's version; always 1.", METRIC_GAUGE,
                              (const char *[]) { "version", NULL }, NULL, 0, &m->build_info);
        if (r < 0)
                return r;
        r = metric_family_set(m->build_info, &version, 1);
        if (r < 0)
                return r;

        r = metric_family_new("srvm_migrations_total",
                              "Jobs that move a guest (kind migrate: srvmctl migrate; arrival: the VF of a domain that arrived without it), finished, by result.",
                              METRIC_COUNTER, (const char *[]) { "kind", "result", NULL }, NULL, 0, &m->migrations);
        if (r < 0)
                return r;
        for (size_t k = 0; k < ELEMENTSOF(job_kinds); k++)
                for (JobResult j = JOB_SUCCEEDED; j < _JOB_RESULT_MAX; j++) {
                        r = metric_family_touch(m->migrations, (const char *[]) { job_kinds[k], job_result_to_string(j) });
                        if (r < 0)
                                return r;
                }

        r = metric_family_new("srvm_migration_paths_total",
                              "Migrations (kind migrate) finished, by the path they took (native: the VF moved with the domain; failover; "
                              "fallback: failover after the native migration failed, in the same job) and result.",
                              METRIC_COUNTER, (const char *[]) { "path", "result", NULL }, NULL, 0, &m->paths);
        if (r < 0)
                return r;
        for (size_t k = 0; k < ELEMENTSOF(job_paths); k++)
                for (JobResult j = JOB_SUCCEEDED; j < _JOB_RESULT_MAX; j++) {
                        r = metric_family_touch(m->paths, (const char *[]) { job_paths[k], job_result_to_string(j) });
                        if (r < 0)
                                return r;
                }

        r = metric_family_new("srvm_checks_total", "Preflight checks (srvmctl check) finished, by result.",
                              METRIC_COUNTER, (const char *[]) { "result", NULL }, NULL, 0, &m->checks);
        if (r < 0)
                return r;
        /* What a check can end as: it moves nothing, so it neither rolls back nor degrades. */
        for (JobResult j = JOB_SUCCEEDED; j < _JOB_RESULT_MAX; j++) {
                const char *v = job_result_to_string(j);

                if (j == JOB_ROLLED_BACK || j == JOB_DEGRADED)
                        continue;
                r = metric_family_touch(m->checks, &v);
                if (r < 0)
                        return r;
        }

        r = metric_family_new("srvm_migrations_active", "Migration jobs running now.", METRIC_GAUGE,
                              NULL, NULL, 0, &m->active);
        if (r < 0)
                return r;
        r = metric_family_set_callback(m->active, metrics_get_active, m);
        if (r < 0)
                return r;

        r = metric_family_new("srvm_migrations_queued",
                              "Migration jobs waiting for a free slot under the host's cap on migrations at once "
                              "(counted in srvm_migrations_active too).", METRIC_GAUGE,
                              NULL, NULL, 0, &m->queued);
        if (r < 0)
                return r;
        r = metric_family_set_callback(m->queued, metrics_get_queued, m);
        if (r < 0)
                return r;

        r = metric_family_new("srvm_migration_phase_duration_seconds",
                              "Time from a phase's start to its end, by kind of job and phase, whatever its result.",
                              METRIC_HISTOGRAM, (const char *[]) { "kind", "phase", NULL }, phase_buckets,
                              ELEMENTSOF(phase_buckets), &m->phase_duration);
        if (r < 0)
                return r;
        for (size_t k = 0; k < ELEMENTSOF(job_kinds); k++)
                for (Phase p = 0; p < _PHASE_MAX; p++) {
                        r = metric_family_touch(m->phase_duration, (const char *[]) { job_kinds[k], phase_to_string(p) });
                        if (r < 0)
                                return r;
                }

        r = metric_family_new("srvm_migration_vm_downtime_seconds",
                              "Time the VM was paused to switch hosts, as libvirt measured it.",
                              METRIC_HISTOGRAM, NULL, downtime_buckets, ELEMENTSOF(downtime_buckets),
                              &m->vm_downtime);
        if (r < 0)
                return r;
        r = metric_family_touch(m->vm_downtime, NULL);
        if (r < 0)
                return r;

        r = metric_family_new("srvm_migration_standby_seconds",
                              "Time the guest's traffic ran on the virtio-net standby, from failover to failback, by kind of job.",
                              METRIC_HISTOGRAM, (const char *[]) { "kind", NULL }, standby_buckets,
                              ELEMENTSOF(standby_buckets), &m->standby);
        if (r < 0)
                return r;
        for (size_t k = 0; k < ELEMENTSOF(job_kinds); k++) {
                r = metric_family_touch(m->standby, &job_kinds[k]);
                if (r < 0)
                        return r;
        }

        r = metric_family_new("srvm_rollbacks_total",
                              "Migration jobs rolled back on the source, by the phase that ended badly and how.",
                              METRIC_COUNTER, (const char *[]) { "kind", "phase", "cause", NULL }, NULL, 0,
                              &m->rollbacks);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(rollback_phases); i++)
                for (size_t j = 0; j < ELEMENTSOF(rollback_causes); j++) {
                        r = metric_family_touch(m->rollbacks, (const char *[]) {
                                                "migrate", phase_to_string(rollback_phases[i]), rollback_causes[j] });
                        if (r < 0)
                                return r;
                }

        r = metric_family_new("srvm_libvirt_connected", "1 while srvmd is connected to its local libvirt, else 0.",
                              METRIC_GAUGE, NULL, NULL, 0, &m->libvirt_connected);
        if (r < 0)
                return r;
        r = metric_family_set_callback(m->libvirt_connected, metrics_get_libvirt_connected, m);
        if (r < 0)
                return r;

        r = metric_family_new("srvm_jobs_degraded",
                              "Guests on their virtio-net standby now because no VF could be plugged after the move (degraded jobs, still retrying).",
                              METRIC_GAUGE, NULL, NULL, 0, &m->degraded);
        if (r < 0)
                return r;
        r = metric_family_set_callback(m->degraded, metrics_get_degraded, m);
        if (r < 0)
                return r;

        r = metric_family_new("srvm_policy_reload_success",
                              "1 if the last load of the policies succeeded, 0 if it failed and the previous set stays.",
                              METRIC_GAUGE, NULL, NULL, 0, &m->reload_success);
        if (r < 0)
                return r;
        r = metric_family_set(m->reload_success, NULL, 0);
        if (r < 0)
                return r;
        r = metric_family_new("srvm_policy_reload_timestamp_seconds",
                              "When the policies were last loaded successfully, in seconds since the epoch.",
                              METRIC_GAUGE, NULL, NULL, 0, &m->reload_time);
        if (r < 0)
                return r;
        r = metric_family_set(m->reload_time, NULL, 0);
        if (r < 0)
                return r;

        r = metric_family_new("srvm_vfs",
                              "The host's SR-IOV VFs by state: attached (a domain uses it), free, disabled (no domain, link forced down); as last counted.",
                              METRIC_GAUGE, (const char *[]) { "state", NULL }, NULL, 0, &m->vfs);
        if (r < 0)
                return r;
        for (VfState s = 0; s < _VF_STATE_MAX; s++) {
                r = metric_family_set(m->vfs, (const char *[]) { vf_state_to_string(s) }, 0);
                if (r < 0)
                        return r;
        }
        r = metric_family_new("srvm_vfs_updated_timestamp_seconds",
                              "When srvm_vfs was last counted, in seconds since the epoch (0: not yet).",
                              METRIC_GAUGE, NULL, NULL, 0, &m->vfs_time);
        if (r < 0)
                return r;
        r = metric_family_set(m->vfs_time, NULL, 0);
        if (r < 0)
                return r;

        r = metric_family_new("srvm_agent_request_duration_seconds",
                              "Time a qemu-guest-agent request took until its answer, by command.",
                              METRIC_HISTOGRAM, (const char *[]) { "command", NULL }, agent_buckets,
                              ELEMENTSOF(agent_buckets), &m->agent);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(agent_commands); i++) {
                r = metric_family_touch(m->agent, &agent_commands[i]);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(m);
        return 0;
}

void metrics_set_state_ops(Metrics *m, const MetricsStateOps *ops, void *userdata) {
        if (!m)
                return;
        m->state_ops = ops;
        m->state_userdata = userdata;
}

int metrics_policy_reloaded(Metrics *m, bool ok, double when_sec) {
        int r;

        if (!m)
                return -EINVAL;
        r = metric_family_set(m->reload_success, NULL, ok ? 1 : 0);
        if (r >= 0 && ok)
                r = metric_family_set(m->reload_time, NULL, when_sec);
        return r;
}

int metrics_vfs_counted(Metrics *m, const unsigned counts[static _VF_STATE_MAX], double when_sec) {
        int r;

        if (!m || !counts)
                return -EINVAL;
        for (VfState s = 0; s < _VF_STATE_MAX; s++) {
                r = metric_family_set(m->vfs, (const char *[]) { vf_state_to_string(s) }, counts[s]);
                if (r < 0)
                        return r;
        }
        return metric_family_set(m->vfs_time, NULL, when_sec);
}

void metrics_set_active_jobs_callback(Metrics *m, unsigned (*n_active)(void *userdata), void *userdata) {
        if (!m)
                return;
        m->n_active = n_active;
        m->n_active_userdata = userdata;
}

void metrics_set_queued_jobs_callback(Metrics *m, unsigned (*n_queued)(void *userdata), void *userdata) {
        if (!m)
                return;
        m->n_queued = n_queued;
        m->n_queued_userdata = userdata;
}

static const char *rollback_cause(PhaseResult how) {
        switch (how) {
        case PHASE_RESULT_FAILED:
                return "failed";
        case PHASE_RESULT_TIMEOUT:
                return "timeout";
        case PHASE_RESULT_INTERRUPTED:
                return "interrupted";
        case PHASE_RESULT_CANCELLED:
        case PHASE_RESULT_OK: /* it succeeded, then the job was cancelled */
        case PHASE_RESULT_RUNNING:
                return "cancelled";
        case _PHASE_RESULT_MAX:
        case _PHASE_RESULT_INVALID:
                break;
        }
        return "failed";
}

int metrics_job_finished(Metrics *m, const Migration *job) {
        JobResult result;
        const char *v, *kind;
        usec_t standby;
        int r;

        if (!m || !job)
                return -EINVAL;
        if (!migration_is_finished(job))
                return -EBUSY;
        result = migration_get_result(job);

        /* A check moves nothing: it has its own counter and leaves the migration families be. */
        if (migration_is_check_only(job)) {
                v = job_result_to_string(result);
                return metric_family_add(m->checks, &v, 1);
        }
        kind = job_kind(job);

        r = metric_family_add(m->migrations, (const char *[]) { kind, job_result_to_string(result) }, 1);
        if (r < 0)
                return r;
        if (!migration_is_arrival(job) && job_path(job)) {
                r = metric_family_add(m->paths, (const char *[]) { job_path(job), job_result_to_string(result) }, 1);
                if (r < 0)
                        return r;
        }

        for (Phase p = 0; p < _PHASE_MAX; p++) {
                PhaseResult how;
                usec_t duration;

                if (migration_get_phase_record(job, p, NULL, &duration, &how) < 0 ||
                    how == PHASE_RESULT_RUNNING)
                        continue;
                r = metric_family_observe(m->phase_duration, (const char *[]) { kind, phase_to_string(p) },
                                          (double) duration / USEC_PER_SEC);
                if (r < 0)
                        return r;
        }

        /* A rollback starts from the last forward phase the job entered. */
        if (migration_get_phase_record(job, PHASE_ROLLBACK_PLUG, NULL, NULL, NULL) >= 0)
                for (size_t i = ELEMENTSOF(rollback_phases); i > 0; i--) {
                        Phase p = rollback_phases[i - 1];
                        PhaseResult how;

                        if (migration_get_phase_record(job, p, NULL, NULL, &how) < 0)
                                continue;
                        r = metric_family_add(m->rollbacks,
                                              (const char *[]) { kind, phase_to_string(p), rollback_cause(how) }, 1);
                        if (r < 0)
                                return r;
                        break;
                }

        if (migration_get_standby_usec(job, &standby) >= 0) {
                r = metric_family_observe(m->standby, &kind, (double) standby / USEC_PER_SEC);
                if (r < 0)
                        return r;
        }

        return 0;
}

int metrics_observe_vm_downtime_ms(Metrics *m, uint64_t ms) {
        if (!m)
                return -EINVAL;
        return metric_family_observe(m->vm_downtime, NULL, (double) ms / 1000);
}

int metrics_observe_agent(Metrics *m, const char *command, double seconds) {
        if (!m || !command || !*command)
                return -EINVAL;
        return metric_family_observe(m->agent, &command, seconds);
}

static void write_process(FILE *out, const char *name, const char *help, MetricType type, double v) {
        char buf[32];

        write_header(out, name, help, type);
        format_value(v, buf);
        fprintf(out, "%s %s\n", name, buf);
}

int metrics_render(const Metrics *m, const MetricsProcess *process, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *out;
        int r = 0;

        if (!m || !ret)
                return -EINVAL;

        const MetricFamily *families[] = {
                m->build_info, m->migrations, m->paths, m->checks, m->active, m->queued, m->phase_duration,
                m->vm_downtime, m->standby, m->rollbacks, m->agent, m->libvirt_connected,
                m->degraded, m->reload_success, m->reload_time, m->vfs, m->vfs_time,
        };

        out = open_memstream(&buf, &size);
        if (!out)
                return -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(families) && r >= 0; i++)
                r = metric_family_render(families[i], out);

        /* The names every Prometheus client library uses for its own process. */
        if (process) {
                write_process(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                              METRIC_COUNTER, process->cpu_sec);
                write_process(out, "process_open_fds", "Number of open file descriptors.", METRIC_GAUGE,
                              (double) process->open_fds);
                write_process(out, "process_max_fds", "Maximum number of open file descriptors.", METRIC_GAUGE,
                              (double) process->max_fds);
                write_process(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                              METRIC_GAUGE, (double) process->virtual_bytes);
                write_process(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                              METRIC_GAUGE, (double) process->resident_bytes);
                write_process(out, "process_start_time_seconds",
                              "Start time of the process since unix epoch in seconds.", METRIC_GAUGE,
                              process->start_time_sec);
        }

        if (ferror(out) && r >= 0)
                r = -ENOMEM;
        if (fclose(out) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;

        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int metrics_parse_process_stat(const char *self_stat, const char *proc_stat, long ticks_per_sec,
                               long page_size, MetricsProcess *ret) {
        unsigned long long field[22] = {}; /* field[n] is /proc/self/stat's field n + 3 */
        unsigned long long btime;
        const char *p, *line;
        char *end;

        if (!self_stat || !proc_stat || ticks_per_sec <= 0 || page_size <= 0 || !ret)
                return -EINVAL;

        /* "pid (comm) state ...": comm may hold spaces and parentheses; the last ')' ends it. */
        p = strrchr(self_stat, ')');
        if (!p || p[1] != ' ')
                return -EBADMSG;
        p += 2;
        if (!*p || *p == ' ')
                return -EBADMSG;
        p++; /* the state letter */
        for (size_t i = 1; i < ELEMENTSOF(field); i++) {
                if (*p != ' ')
                        return -EBADMSG;
                errno = 0;
                field[i] = strtoull(p + 1, &end, 10);
                if (errno != 0 || end == p + 1)
                        return -EBADMSG;
                p = end;
        }

        for (line = proc_stat; line && strncmp(line, "btime ", 6) != 0;) {
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        if (!line)
                return -EBADMSG;
        errno = 0;
        btime = strtoull(line + 6, &end, 10);
        if (errno != 0 || end == line + 6)
                return -EBADMSG;

        ret->start_time_sec = (double) btime + (double) field[19] / ticks_per_sec;
        ret->cpu_sec = (double) (field[11] + field[12]) / ticks_per_sec;
        ret->virtual_bytes = field[20];
        ret->resident_bytes = field[21] * (unsigned long long) page_size;
        return 0;
}
