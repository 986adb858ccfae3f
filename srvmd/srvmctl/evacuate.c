/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See evacuate.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evacuate.h"
#include "json-util.h"
#include "macro.h"

void evac_init(Evacuation *e, unsigned concurrency) {
        *e = (Evacuation) {
                .concurrency = concurrency ? concurrency : EVAC_CONCURRENCY_DEFAULT,
                .elapsed_us = -1,
        };
}

void evac_done(Evacuation *e) {
        for (size_t k = 0; k < e->n_items; k++) {
                free(e->items[k].domain);
                free(e->items[k].result);
                free(e->items[k].error);
                json_object_put(e->items[k].json);
        }
        free(e->items);
        *e = (Evacuation) {};
}

int evac_parse_concurrency(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!s || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < 1 || v > EVAC_CONCURRENCY_MAX)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static bool isempty(const char *s) {
        return !s || !s[0];
}

const char *evac_skip_reason(const char *state, const char *policy, const char *vf, const char *note,
                             char *buf, size_t size) {
        if (!streq_ptr(state, "running"))
                snprintf(buf, size, "it is %s, not running", isempty(state) ? "in no known state" : state);
        else if (isempty(policy))
                snprintf(buf, size, "%s", isempty(note) ? "no policy resolves for it" : note);
        else if (isempty(vf))
                snprintf(buf, size, "%s", isempty(note) ? "it has no VF" : note);
        else
                return NULL;
        return buf;
}

int evac_add(Evacuation *e, const char *domain) {
        EvacItem *a;
        char *d;

        d = strdup(domain);
        if (!d)
                return -ENOMEM;
        a = realloc(e->items, (e->n_items + 1) * sizeof(*a));
        if (!a) {
                free(d);
                return -ENOMEM;
        }
        e->items = a;
        e->items[e->n_items++] = (EvacItem) { .domain = d, .downtime_ms = -1, .wall_us = -1 };
        return 0;
}

EvacItem *evac_next(Evacuation *e) {
        if (e->stopped || e->n_running >= e->concurrency)
                return NULL;
        for (size_t k = 0; k < e->n_items; k++)
                if (e->items[k].state == EVAC_PENDING)
                        return &e->items[k];
        return NULL;
}

void evac_started(Evacuation *e, EvacItem *i, uint32_t job) {
        i->state = EVAC_RUNNING;
        i->have_job = true;
        i->job = job;
        e->n_running++;
}

static int set_string(char **p, const char *s) {
        char *d = NULL;

        if (s && !(d = strdup(s)))
                return -ENOMEM;
        free(*p);
        *p = d;
        return 0;
}

int evac_start_failed(Evacuation *e, EvacItem *i, const char *error) {
        i->state = EVAC_DONE;
        if (set_string(&i->result, "failed") < 0 || set_string(&i->error, error) < 0)
                return -ENOMEM;
        return 0;
}

EvacItem *evac_find_running(Evacuation *e, uint32_t job) {
        for (size_t k = 0; k < e->n_items; k++)
                if (e->items[k].state == EVAC_RUNNING && e->items[k].job == job)
                        return &e->items[k];
        return NULL;
}

static const char *json_string(json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool json_int(json_object *o, const char *key, int64_t *ret) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

/* From the first phase's start to the latest end of a phase, on srvmd's clock. */
static int64_t job_wall_us(json_object *job) {
        json_object *phases;
        int64_t first = 0, last = -1, start, duration;
        size_t n;

        if (!job || !json_object_object_get_ex(job, "phases", &phases) ||
            !json_object_is_type(phases, json_type_array))
                return -1;
        n = json_object_array_length(phases);
        for (size_t k = 0; k < n; k++) {
                json_object *ph = json_object_array_get_idx(phases, k);

                if (!json_int(ph, "start_us", &start))
                        return -1;
                if (k == 0)
                        first = start;
                if (json_int(ph, "duration_us", &duration) && start + duration > last)
                        last = start + duration;
        }
        return last >= first ? last - first : -1;
}

int evac_finished(Evacuation *e, EvacItem *i, const char *result, json_object *json) {
        const char *r = json_string(json, "result"), *error = json_string(json, "error");
        int64_t ms;

        if (i->state == EVAC_RUNNING && e->n_running > 0)
                e->n_running--;
        i->state = EVAC_DONE;
        json_object_put(i->json);
        i->json = json;
        i->downtime_ms = json_int(json, "vm_downtime_ms", &ms) ? ms : -1;
        i->wall_us = job_wall_us(json);
        if (set_string(&i->result, r ? r : result ? result : "failed") < 0 ||
            set_string(&i->error, isempty(error) ? NULL : error) < 0)
                return -ENOMEM;
        return 0;
}

bool evac_is_over(const Evacuation *e) {
        if (e->n_running > 0)
                return false;
        return e->stopped || evac_count(e, EVAC_PENDING) == 0;
}

size_t evac_count(const Evacuation *e, EvacState state) {
        size_t n = 0;

        for (size_t k = 0; k < e->n_items; k++)
                n += e->items[k].state == state;
        return n;
}

size_t evac_count_succeeded(const Evacuation *e) {
        size_t n = 0;

        for (size_t k = 0; k < e->n_items; k++)
                n += e->items[k].state == EVAC_DONE && streq_ptr(e->items[k].result, "succeeded");
        return n;
}

int evac_exit_code(const Evacuation *e) {
        return evac_count_succeeded(e) == e->n_items ? 0 : 1;
}

int evac_format_started(const EvacItem *i, char **ret) {
        return asprintf(ret, "%s: job %" PRIu32 " started\n", i->domain, i->job) < 0 ? -ENOMEM : 0;
}

int evac_format_finished(const EvacItem *i, char **ret) {
        char downtime[32] = "n/a", wall[32] = "n/a";
        int r;

        if (!i->have_job)
                return asprintf(ret, "%s: not started: %s\n", i->domain, strna(i->error)) < 0 ? -ENOMEM : 0;

        if (i->downtime_ms >= 0)
                snprintf(downtime, sizeof downtime, "%" PRId64 " ms", i->downtime_ms);
        if (i->wall_us >= 0)
                snprintf(wall, sizeof wall, "%" PRId64 ".%03" PRId64 " s", i->wall_us / 1000000,
                         i->wall_us / 1000 % 1000);
        r = asprintf(ret, "%s: job %" PRIu32 " %s, VM downtime %s, wall time %s%s%s\n", i->domain, i->job,
                     strna(i->result), downtime, wall, i->error ? ": " : "", i->error ? i->error : "");
        return r < 0 ? -ENOMEM : 0;
}

int evac_format_summary(const Evacuation *e, char **ret) {
        /* f is declared after buf so that it is closed, which writes buf, before buf is freed. */
        _cleanup_free_ char *buf = NULL;
        size_t size, ok = evac_count_succeeded(e), done = evac_count(e, EVAC_DONE);
        size_t running = evac_count(e, EVAC_RUNNING), pending = evac_count(e, EVAC_PENDING);
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%zu of %zu domain%s evacuated", ok, e->n_items, e->n_items == 1 ? "" : "s");
        if (e->elapsed_us >= 0)
                fprintf(f, " in %" PRId64 ".%03" PRId64 " s", e->elapsed_us / 1000000, e->elapsed_us / 1000 % 1000);
        if (done > ok) {
                bool first = true;

                fprintf(f, "; %zu failed:", done - ok);
                for (size_t k = 0; k < e->n_items; k++) {
                        const EvacItem *i = &e->items[k];

                        if (i->state != EVAC_DONE || streq_ptr(i->result, "succeeded"))
                                continue;
                        if (i->have_job)
                                fprintf(f, "%s %s (job %" PRIu32 ", %s)", first ? "" : ",", i->domain, i->job,
                                        strna(i->result));
                        else
                                fprintf(f, "%s %s (not started)", first ? "" : ",", i->domain);
                        first = false;
                }
        }
        if (running > 0)
                fprintf(f, "; %zu still running", running);
        if (pending > 0)
                fprintf(f, "; %zu not started", pending);
        fputs(".\n", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

int evac_to_json(const Evacuation *e, json_object **ret) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();
        int r;

        if (!a)
                return -ENOMEM;
        for (size_t k = 0; k < e->n_items; k++) {
                const EvacItem *i = &e->items[k];
                json_object *o;

                if (i->state != EVAC_DONE)
                        continue;
                if (i->json) {
                        r = json_append(a, json_object_get(i->json));
                        if (r < 0)
                                return r;
                        continue;
                }
                o = json_object_new_object();
                r = json_append(a, o);
                if (r >= 0)
                        r = json_object_object_add(o, "id", i->have_job ? json_object_new_int64(i->job) : NULL);
                if (r >= 0)
                        r = json_add(o, "domain", json_object_new_string(i->domain));
                if (r >= 0)
                        r = json_add(o, "result", json_object_new_string(strna(i->result)));
                if (r >= 0)
                        r = json_object_object_add(o, "error", i->error ? json_object_new_string(i->error) : NULL);
                if (r < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a);
        return 0;
}
