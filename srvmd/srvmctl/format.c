/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See format.h. Times in the job JSON are microseconds on the daemon's monotonic clock;
 * what a user reads is seconds from the start of the first phase. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "json-util.h"
#include "macro.h"

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* A string member, or NULL when absent, null or not a string. */
static const char *json_get_string(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* An integer member; false when absent, null or not an integer. */
static bool json_get_int64(json_object *o, const char *key, int64_t *ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

static json_object *json_get_phases(json_object *job) {
        json_object *v;

        if (!json_object_object_get_ex(job, "phases", &v) || !json_object_is_type(v, json_type_array))
                return NULL;
        return v;
}

static bool phase_is_finished(json_object *phase) {
        const char *result = json_get_string(phase, "result");

        return result && !streq(result, "running");
}

/* Microseconds as seconds with millisecond precision, "12.345s"; negative values (a clock
 * the JSON got wrong) print as they are rather than wrapping. */
static void fput_seconds(FILE *f, int width, int64_t usec) {
        char buf[32];
        int64_t ms = usec / (int64_t) USEC_PER_MSEC;
        const char *sign = ms < 0 ? "-" : "";

        if (ms < 0)
                ms = -ms;
        snprintf(buf, sizeof buf, "%s%" PRId64 ".%03" PRId64 "s", sign, ms / 1000, ms % 1000);
        fprintf(f, "%*s", width, buf);
}

/* The time base of a timeline: the first phase's start. */
static int64_t timeline_base(json_object *phases) {
        int64_t base = 0;

        if (phases && json_object_array_length(phases) > 0)
                (void) json_get_int64(json_object_array_get_idx(phases, 0), "start_us", &base);
        return base;
}

static int finish_stream(FILE **f, char **buf, char **ret) {
        if (fflush(*f) != 0 || ferror(*f))
                return -ENOMEM;
        fclose(*f);
        *f = NULL;
        *ret = TAKE_PTR(*buf);
        return 0;
}

static void fput_ms_line(FILE *f, const char *label, json_object *job, const char *key) {
        int64_t ms;

        if (json_get_int64(job, key, &ms))
                fprintf(f, "%s: %" PRId64 " ms\n", label, ms);
        else
                fprintf(f, "%s: n/a\n", label);
}

/* "Started:   2026-12-02 20:45:01 CET by root (uid 0)", when srvmd says when or who. */
static void fput_started(FILE *f, json_object *job) {
        const char *at = json_get_string(job, "started_at"), *user = NULL, *via = NULL;
        json_object *by = NULL;
        char when[64];
        int64_t uid;
        bool have_uid = false;

        if (json_object_object_get_ex(job, "requested_by", &by) && json_object_is_type(by, json_type_object)) {
                user = json_get_string(by, "user");
                via = json_get_string(by, "via");
                have_uid = json_get_int64(by, "uid", &uid);
        } else
                by = NULL;
        if (!at && !by)
                return;
        fputs("Started:   ", f);
        if (at && format_started_at(at, when, sizeof when) >= 0)
                fputs(when, f);
        else
                fputs(at ? at : "n/a", f);
        if (have_uid)
                fprintf(f, " by %s (uid %" PRId64 ")", user ? user : "?", uid);
        else if (streq_ptr(via, "srvmd"))
                fputs(" by srvmd itself", f);
        fputc('\n', f);
}

/* What srvmd decided and why ("raised the maximum downtime to 400 ms after 5 iterations"),
 * at the time from the first phase's start. */
static void fput_events(FILE *f, json_object *job, int64_t base) {
        json_object *events;
        size_t n;

        if (!json_object_object_get_ex(job, "events", &events) || !json_object_is_type(events, json_type_array))
                return;
        n = json_object_array_length(events);
        if (n == 0)
                return;
        fputs("\nEvents:\n", f);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(events, i);
                int64_t at;

                if (json_get_int64(e, "at_us", &at))
                        fput_seconds(f, 9, at - base);
                else
                        fprintf(f, "%9s", "-");
                fprintf(f, "  %s\n", strna(json_get_string(e, "message")));
        }
}

static bool json_get_uint64(json_object *o, const char *key, uint64_t *ret);

/* What pre-copy did (the job's "precopy"): nothing if migrate never started. */
static void fput_precopy(FILE *f, json_object *job) {
        uint64_t iterations = 0, start = 0, end = 0, dirty = 0, bandwidth = 0;
        json_object *pre, *raises;
        char rate[32], bw[32];

        if (!json_object_object_get_ex(job, "precopy", &pre) || !json_object_is_type(pre, json_type_object))
                return;
        (void) json_get_uint64(pre, "iterations", &iterations);
        (void) json_get_uint64(pre, "start_max_downtime_ms", &start);
        (void) json_get_uint64(pre, "max_downtime_ms", &end);
        fprintf(f, "Pre-copy: %" PRIu64 " iterations, max downtime %" PRIu64 " ms at the start, %" PRIu64 " ms at the end\n",
                iterations, start, end);
        if (json_object_object_get_ex(pre, "raises", &raises) && json_object_is_type(raises, json_type_array))
                for (size_t i = 0; i < json_object_array_length(raises); i++) {
                        json_object *e = json_object_array_get_idx(raises, i);
                        uint64_t it = 0, from = 0, to = 0;

                        (void) json_get_uint64(e, "iteration", &it);
                        (void) json_get_uint64(e, "from_ms", &from);
                        (void) json_get_uint64(e, "to_ms", &to);
                        fprintf(f, "  raised %" PRIu64 " -> %" PRIu64 " ms at iteration %" PRIu64 "\n", from, to, it);
                }
        (void) json_get_uint64(pre, "dirty_rate_bytes_s_max", &dirty);
        (void) json_get_uint64(pre, "bandwidth_bytes_s_max", &bandwidth);
        format_bytes(dirty, rate, sizeof rate);
        format_bytes(bandwidth, bw, sizeof bw);
        fprintf(f, "  dirty rate up to %s/s, bandwidth up to %s/s\n", rate, bw);
}

int format_timeline(json_object *job, char **ret) {
        /* f is declared after buf so that it is closed, which writes buf, before buf is freed. */
        _cleanup_free_ char *buf = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        json_object *phases;
        const char *error;
        size_t size, n, name_width = strlen("PHASE");
        int64_t id, base;

        if (!job || !ret)
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        if (json_get_int64(job, "id", &id))
                fprintf(f, "Job:       %" PRId64 "\n", id);
        else
                fputs("Job:       ?\n", f);
        fprintf(f, "Domain:    %s\n", strna(json_get_string(job, "domain")));
        fprintf(f, "Migration: %s -> %s\n",
                strna(json_get_string(job, "source_uri")),
                strna(json_get_string(job, "destination_uri")));
        fprintf(f, "Result:    %s\n", strna(json_get_string(job, "result")));
        fput_started(f, job);
        error = json_get_string(job, "error");
        if (error && error[0])
                fprintf(f, "Error:     %s\n", error);
        fputc('\n', f);

        phases = json_get_phases(job);
        n = phases ? json_object_array_length(phases) : 0;
        if (n == 0)
                fputs("No phase has started yet.\n", f);
        else {
                base = timeline_base(phases);

                for (size_t i = 0; i < n; i++) {
                        const char *name = json_get_string(json_object_array_get_idx(phases, i), "name");

                        if (name && strlen(name) > name_width)
                                name_width = strlen(name);
                }

                fprintf(f, "%-*s %9s %9s  %s\n", (int) name_width, "PHASE", "START", "DURATION", "RESULT");
                for (size_t i = 0; i < n; i++) {
                        json_object *ph = json_object_array_get_idx(phases, i);
                        int64_t start, duration;

                        fprintf(f, "%-*s ", (int) name_width, strna(json_get_string(ph, "name")));
                        if (json_get_int64(ph, "start_us", &start))
                                fput_seconds(f, 9, start - base);
                        else
                                fprintf(f, "%9s", "-");
                        fputc(' ', f);
                        if (json_get_int64(ph, "duration_us", &duration))
                                fput_seconds(f, 9, duration);
                        else
                                fprintf(f, "%9s", "-");
                        fprintf(f, "  %s\n", strna(json_get_string(ph, "result")));
                }
        }
        fputc('\n', f);

        fput_ms_line(f, "VM downtime", job, "vm_downtime_ms");
        fput_ms_line(f, "On virtio (standby)", job, "standby_ms");
        fput_precopy(f, job);
        fput_events(f, job, timeline_base(phases));

        return finish_stream(&f, &buf, ret);
}

static void fput_progress_line(FILE *f, int64_t at, const char *name, const char *what,
                               json_object *phase) {
        int64_t duration;

        fput_seconds(f, 9, at);
        fprintf(f, "  %-17s %s", strna(name), what);
        if (phase && json_get_int64(phase, "duration_us", &duration)) {
                fputs(" after ", f);
                fput_seconds(f, 0, duration);
        }
        fputc('\n', f);
}

int format_progress(json_object *job, PhaseProgress *progress, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        json_object *phases;
        size_t size, n;
        int64_t base;

        if (!job || !progress || !ret)
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        phases = json_get_phases(job);
        n = phases ? json_object_array_length(phases) : 0;
        base = timeline_base(phases);

        /* Phases run one after another: the one that ends is always the oldest not yet ended,
         * and a phase starts only after its predecessor ended. */
        for (size_t i = progress->n_ended; i < n; i++) {
                json_object *ph = json_object_array_get_idx(phases, i);
                const char *name = json_get_string(ph, "name");
                int64_t start = base, duration = 0;

                (void) json_get_int64(ph, "start_us", &start);

                if (i >= progress->n_started) {
                        fput_progress_line(f, start - base, name, "started", NULL);
                        progress->n_started = i + 1;
                }

                if (!phase_is_finished(ph))
                        break;

                (void) json_get_int64(ph, "duration_us", &duration);
                fput_progress_line(f, start - base + duration, name,
                                   json_get_string(ph, "result"), ph);
                progress->n_ended = i + 1;
        }

        return finish_stream(&f, &buf, ret);
}

int format_started_at(const char *s, char *buf, size_t size) {
        struct tm tm = {}, local;
        const char *end;
        time_t t;

        if (!s || !buf || size == 0)
                return -EINVAL;
        end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end != '\0')
                return -EINVAL;
        t = timegm(&tm);
        if (t == (time_t) -1 || !localtime_r(&t, &local))
                return -EINVAL;
        if (strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &local) == 0)
                return -ERANGE;
        return 0;
}

int format_jobs_table(const JobRow *rows, size_t n, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size;
        int w_id = (int) strlen("ID"), w_domain = (int) strlen("DOMAIN"), w_phase = (int) strlen("PHASE"),
            w_started = (int) strlen("STARTED");
        char (*started)[64] = NULL;

        if (!ret || (n > 0 && !rows))
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        if (n == 0) {
                fputs("No jobs.\n", f);
                return finish_stream(&f, &buf, ret);
        }

        started = calloc(n, sizeof(*started));
        if (!started)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int w = snprintf(NULL, 0, "%" PRIu32, rows[i].id);

                if (format_started_at(rows[i].started_at, started[i], sizeof started[i]) < 0)
                        snprintf(started[i], sizeof started[i], "-");
                if (w > w_id)
                        w_id = w;
                if ((int) strlen(strna(rows[i].domain)) > w_domain)
                        w_domain = (int) strlen(strna(rows[i].domain));
                if ((int) strlen(strna(rows[i].phase)) > w_phase)
                        w_phase = (int) strlen(strna(rows[i].phase));
                if ((int) strlen(started[i]) > w_started)
                        w_started = (int) strlen(started[i]);
        }

        fprintf(f, "%*s %-*s %-*s %-*s %s\n", w_id, "ID", w_domain, "DOMAIN", w_started, "STARTED",
                w_phase, "PHASE", "RESULT");
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%*" PRIu32 " %-*s %-*s %-*s %s\n", w_id, rows[i].id,
                        w_domain, strna(rows[i].domain),
                        w_started, started[i],
                        w_phase, rows[i].phase && rows[i].phase[0] ? rows[i].phase : "-",
                        strna(rows[i].result));
        fprintf(f, "\n%zu job%s listed.\n", n, n == 1 ? "" : "s");
        free(started);

        return finish_stream(&f, &buf, ret);
}

static int json_add_string(json_object *o, const char *key, const char *s) {
        json_object *v = s ? json_object_new_string(s) : NULL;

        if (s && !v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int format_jobs_json(const JobRow *rows, size_t n, char **ret) {
        _cleanup_(json_object_putp) json_object *a = NULL;
        char *s;

        if (!ret || (n > 0 && !rows))
                return -EINVAL;

        a = json_object_new_array();
        if (!a)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_new_object(), *id;
                int r;

                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }

                id = json_object_new_int64(rows[i].id);
                if (!id || json_object_object_add(o, "id", id) < 0) {
                        json_object_put(id);
                        return -ENOMEM;
                }
                r = json_add_string(o, "domain", rows[i].domain);
                if (r >= 0)
                        r = json_add_string(o, "phase", rows[i].phase && rows[i].phase[0] ? rows[i].phase : NULL);
                if (r >= 0)
                        r = json_add_string(o, "result", rows[i].result);
                if (r >= 0)
                        r = json_add_string(o, "path", rows[i].path);
                if (r >= 0)
                        r = json_add_string(o, "started_at", rows[i].started_at);
                if (r < 0)
                        return r;
        }

        s = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!s)
                return -ENOMEM;

        *ret = s;
        return 0;
}

void format_bytes(uint64_t bytes, char *buf, size_t size) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = (double) bytes;
        size_t u = 0;

        if (bytes < 1024) {
                snprintf(buf, size, "%" PRIu64 " B", bytes);
                return;
        }
        v /= 1024.0;
        while (v >= 1024.0 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024.0;
                u++;
        }
        snprintf(buf, size, "%.1f %s", v, units[u]);
}

static bool json_get_uint64(json_object *o, const char *key, uint64_t *ret) {
        int64_t v;

        if (!json_get_int64(o, key, &v) || v < 0)
                return false;
        *ret = (uint64_t) v;
        return true;
}

static json_object *json_get_progress(json_object *job) {
        json_object *v;

        if (!json_object_object_get_ex(job, "progress", &v) || !json_object_is_type(v, json_type_object))
                return NULL;
        return v;
}

unsigned format_progress_iteration(json_object *job) {
        json_object *p = json_get_progress(job);
        uint64_t it;

        if (!p || !json_get_uint64(p, "iteration", &it) || it > UINT32_MAX)
                return 0;
        return (unsigned) it;
}

/* What a status line holds, from the most to the least: a variant leaves out more. */
typedef struct StatusParts {
        unsigned bar_width; /* 0: no bar */
        bool padded;        /* the phase name padded to the width of the longest */
        bool amounts;       /* "1.0 GiB of 4.0 GiB left" */
        bool dirty;         /* "dirty 12.0 MiB/s" */
        bool precopy;       /* the iteration and the share sent */
} StatusParts;

static int status_line_render(json_object *job, int64_t elapsed_us, const StatusParts *parts, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        const char *phase;
        json_object *progress;
        uint64_t total, remaining, rate;
        size_t size;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        phase = json_get_string(job, "phase");
        fprintf(f, parts->padded ? "%-17s" : "%s", phase ? phase : "-");
        if (elapsed_us >= 0) {
                fputc(' ', f);
                fput_seconds(f, parts->padded ? 9 : 0, elapsed_us);
        }

        progress = json_get_progress(job);
        if (parts->precopy && progress && streq_ptr(phase, "migrate") &&
            json_get_uint64(progress, "data_total_bytes", &total) && total > 0 &&
            json_get_uint64(progress, "data_remaining_bytes", &remaining)) {
                char left[32], all[32], dirty[32];
                unsigned percent;

                if (remaining > total)
                        remaining = total;
                percent = (unsigned) ((total - remaining) * 100.0 / (double) total);

                fprintf(f, "  iteration %u", format_progress_iteration(job));
                if (parts->bar_width > 0) {
                        unsigned filled = percent * parts->bar_width / 100;

                        fputs("  [", f);
                        for (unsigned i = 0; i < parts->bar_width; i++)
                                fputc(i < filled ? '#' : '-', f);
                        fputc(']', f);
                }
                fprintf(f, " %3u%%", percent);
                if (parts->amounts) {
                        format_bytes(remaining, left, sizeof left);
                        format_bytes(total, all, sizeof all);
                        fprintf(f, "  %s of %s left", left, all);
                }
                if (parts->dirty && json_get_uint64(progress, "dirty_rate_bytes_s", &rate)) {
                        format_bytes(rate, dirty, sizeof dirty);
                        fprintf(f, "  dirty %s/s", dirty);
                }
        }

        return finish_stream(&f, &buf, ret);
}

int format_status_line(json_object *job, int64_t elapsed_us, unsigned columns, char **ret) {
        /* Shortened step by step: the bar narrower, then gone, then the dirty rate, the
         * amounts, the share sent, the padding. */
        static const StatusParts variants[] = {
                { 20, true,  true,  true,  true  },
                { 10, true,  true,  true,  true  },
                { 0,  true,  true,  true,  true  },
                { 0,  true,  true,  false, true  },
                { 0,  true,  false, false, true  },
                { 0,  false, false, false, true  },
                { 0,  false, false, false, false },
        };
        static const StatusParts piped = { 0, true, true, true, true };
        char *line = NULL;
        int r;

        if (!job || !ret)
                return -EINVAL;

        if (columns == 0)
                return status_line_render(job, elapsed_us, &piped, ret);

        for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
                free(line);
                line = NULL;
                r = status_line_render(job, elapsed_us, &variants[i], &line);
                if (r < 0)
                        return r;
                /* The last column stays free: some terminals wrap on writing to it. */
                if (strlen(line) < columns)
                        break;
        }
        /* Narrower than even the shortest form: cut it (the line is ASCII). */
        if (strlen(line) >= columns)
                line[columns > 0 ? columns - 1 : 0] = '\0';

        *ret = line;
        return 0;
}

int64_t format_job_elapsed_us(json_object *job) {
        json_object *phases = job ? json_get_phases(job) : NULL;
        int64_t first = INT64_MAX, last = INT64_MIN;
        size_t n = phases ? json_object_array_length(phases) : 0;

        /* A running phase's duration is the time so far when srvmd wrote the JSON. */
        for (size_t i = 0; i < n; i++) {
                json_object *ph = json_object_array_get_idx(phases, i);
                int64_t start, duration = 0;

                if (!json_get_int64(ph, "start_us", &start))
                        continue;
                (void) json_get_int64(ph, "duration_us", &duration);
                if (duration < 0)
                        duration = 0;
                if (start < first)
                        first = start;
                if (start + duration > last)
                        last = start + duration;
        }
        if (first == INT64_MAX || last < first)
                return -1;
        return last - first;
}

static const char *const json_mode_table[_JSON_MODE_MAX] = {
        [JSON_MODE_OFF] = "off",
        [JSON_MODE_SHORT] = "short",
        [JSON_MODE_PRETTY] = "pretty",
};

DEFINE_STRING_TABLE_LOOKUP(json_mode, JsonMode);

int format_json_object(json_object *j, JsonMode mode, char **ret) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *s;
        char *copy;

        if (!j || !ret)
                return -EINVAL;
        switch (mode) {
        case JSON_MODE_SHORT:
                flags |= JSON_C_TO_STRING_PLAIN;
                break;
        case JSON_MODE_PRETTY:
                flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
                break;
        case JSON_MODE_OFF:
        case _JSON_MODE_MAX:
        case _JSON_MODE_INVALID:
                return -EINVAL;
        }
        s = json_object_to_json_string_ext(j, flags);
        if (!s)
                return -ENOMEM;
        if (asprintf(&copy, "%s\n", s) < 0)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

int format_json(const char *json, JsonMode mode, char **ret) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        enum json_tokener_error error = json_tokener_success;

        if (!json || !ret)
                return -EINVAL;
        j = json_tokener_parse_verbose(json, &error);
        if (error != json_tokener_success)
                return -EBADMSG;
        /* "null" parses to NULL: keep it as it is. */
        if (!j) {
                char *copy;

                if (mode != JSON_MODE_SHORT && mode != JSON_MODE_PRETTY)
                        return -EINVAL;
                if (asprintf(&copy, "null\n") < 0)
                        return -ENOMEM;
                *ret = copy;
                return 0;
        }
        return format_json_object(j, mode, ret);
}

static const char *dash_if_empty(const char *s) {
        return s && s[0] ? s : "-";
}

static void widen(int *w, const char *s) {
        if ((int) strlen(s) > *w)
                *w = (int) strlen(s);
}

int format_domains_table(const DomainRow *rows, size_t n, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size;
        int w_name = (int) strlen("DOMAIN"), w_state = (int) strlen("STATE"), w_policy = (int) strlen("POLICY"),
            w_vf = (int) strlen("VF");

        if (!ret || (n > 0 && !rows))
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        if (n == 0) {
                fputs("No active domain on this host.\n", f);
                return finish_stream(&f, &buf, ret);
        }

        for (size_t i = 0; i < n; i++) {
                widen(&w_name, dash_if_empty(rows[i].name));
                widen(&w_state, dash_if_empty(rows[i].state));
                widen(&w_policy, dash_if_empty(rows[i].policy));
                widen(&w_vf, dash_if_empty(rows[i].vf));
        }

        fprintf(f, "%-*s %-*s %-*s %-*s %s\n", w_name, "DOMAIN", w_state, "STATE", w_policy, "POLICY",
                w_vf, "VF", "NOTE");
        for (size_t i = 0; i < n; i++) {
                /* No trailing blanks when there is no note. */
                if (rows[i].note && rows[i].note[0])
                        fprintf(f, "%-*s %-*s %-*s %-*s %s\n", w_name, dash_if_empty(rows[i].name),
                                w_state, dash_if_empty(rows[i].state), w_policy, dash_if_empty(rows[i].policy),
                                w_vf, dash_if_empty(rows[i].vf), rows[i].note);
                else
                        fprintf(f, "%-*s %-*s %-*s %s\n", w_name, dash_if_empty(rows[i].name),
                                w_state, dash_if_empty(rows[i].state), w_policy, dash_if_empty(rows[i].policy),
                                dash_if_empty(rows[i].vf));
        }
        fprintf(f, "\n%zu domain%s listed.\n", n, n == 1 ? "" : "s");

        return finish_stream(&f, &buf, ret);
}

static const char *null_if_empty(const char *s) {
        return s && s[0] ? s : NULL;
}

int format_domains_json(const DomainRow *rows, size_t n, char **ret) {
        _cleanup_(json_object_putp) json_object *a = NULL;
        char *s;

        if (!ret || (n > 0 && !rows))
                return -EINVAL;

        a = json_object_new_array();
        if (!a)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_new_object();
                int r;

                r = json_append(a, o);
                if (r >= 0)
                        r = json_add_string(o, "name", rows[i].name);
                if (r >= 0)
                        r = json_add_string(o, "state", null_if_empty(rows[i].state));
                if (r >= 0)
                        r = json_add_string(o, "policy", null_if_empty(rows[i].policy));
                if (r >= 0)
                        r = json_add_string(o, "vf", null_if_empty(rows[i].vf));
                if (r >= 0)
                        r = json_add_string(o, "note", null_if_empty(rows[i].note));
                if (r < 0)
                        return r;
        }

        s = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
