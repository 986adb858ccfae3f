/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Metrics: the exact text of small families (counters, gauges, histograms with their
 * cumulative buckets, _sum and _count), escaping, validation, the srvmd registry fed by real
 * jobs on a fake backend, the /proc parsing, and then the HTTP edge for real: listening on
 * 127.0.0.1 on the test's sd-event loop, asked by curl, its output read by the Prometheus
 * client's own parser, under a flood of connections and a trickling client while a timer on
 * the same loop must keep its schedule. */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assert.h"
#include "log.h"
#include "metrics-http.h"
#include "metrics-textfile.h"
#include "metrics.h"
#include "policy.h"

/* Debian's python3-prometheus-client installs for the system interpreter. */
#define PYTHON "/usr/bin/python3"

static char *render_family(const MetricFamily *f) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);

        ASSERT_NOT_NULL(out);
        ASSERT_OK(metric_family_render(f, out));
        ASSERT_TRUE(fclose(out) == 0);
        return buf;
}

static void test_counter(void) {
        _cleanup_(metric_family_freep) MetricFamily *f = NULL;
        _cleanup_free_ char *text = NULL;

        ASSERT_OK(metric_family_new("jobs_total", "Jobs done.", METRIC_COUNTER,
                                    (const char *[]) { "result", NULL }, NULL, 0, &f));
        ASSERT_OK(metric_family_touch(f, (const char *[]) { "failed" }));
        ASSERT_OK(metric_family_add(f, (const char *[]) { "ok" }, 1));
        ASSERT_OK(metric_family_add(f, (const char *[]) { "ok" }, 2));
        ASSERT_ERR(metric_family_add(f, (const char *[]) { "ok" }, -1), EINVAL);
        ASSERT_ERR(metric_family_set(f, (const char *[]) { "ok" }, 1), EINVAL);
        ASSERT_ERR(metric_family_observe(f, (const char *[]) { "ok" }, 1), EINVAL);
        ASSERT_ERR(metric_family_add(f, NULL, 1), EINVAL);

        text = render_family(f);
        ASSERT_STREQ(text,
                     "# HELP jobs_total Jobs done.\n"
                     "# TYPE jobs_total counter\n"
                     "jobs_total{result=\"failed\"} 0\n"
                     "jobs_total{result=\"ok\"} 3\n");
}

static double get_42(void *userdata) {
        (void) userdata;
        return 42;
}

static void test_gauge(void) {
        _cleanup_(metric_family_freep) MetricFamily *f = NULL, *g = NULL, *e = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL, *text3 = NULL;

        ASSERT_OK(metric_family_new("temp", "Values.", METRIC_GAUGE,
                                    (const char *[]) { "k", NULL }, NULL, 0, &f));
        ASSERT_OK(metric_family_set(f, (const char *[]) { "a" }, 0.1));
        ASSERT_OK(metric_family_set(f, (const char *[]) { "b" }, 1e21));
        ASSERT_OK(metric_family_set(f, (const char *[]) { "c" }, -2.5));
        ASSERT_OK(metric_family_set(f, (const char *[]) { "d" }, 1.0 / 0.0));
        ASSERT_OK(metric_family_set(f, (const char *[]) { "e" }, 0.0 / 0.0));
        ASSERT_OK(metric_family_set(f, (const char *[]) { "f" }, 1234567));
        ASSERT_OK(metric_family_set(f, (const char *[]) { "g" }, 1e-5));
        ASSERT_OK(metric_family_set(f, (const char *[]) { "a" }, 1.0 / 3)); /* replaces */
        ASSERT_ERR(metric_family_set_callback(f, get_42, NULL), EINVAL);   /* has labels */
        text = render_family(f);
        ASSERT_STREQ(text,
                     "# HELP temp Values.\n"
                     "# TYPE temp gauge\n"
                     "temp{k=\"a\"} 0.3333333333333333\n"
                     "temp{k=\"b\"} 1e+21\n"
                     "temp{k=\"c\"} -2.5\n"
                     "temp{k=\"d\"} +Inf\n"
                     "temp{k=\"e\"} NaN\n"
                     "temp{k=\"f\"} 1234567\n"
                     "temp{k=\"g\"} 1e-05\n");

        ASSERT_OK(metric_family_new("up", "Read at render.", METRIC_GAUGE, NULL, NULL, 0, &g));
        ASSERT_OK(metric_family_set_callback(g, get_42, NULL));
        text2 = render_family(g);
        ASSERT_STREQ(text2, "# HELP up Read at render.\n# TYPE up gauge\nup 42\n");

        /* A family with labels and no series yet is its two comment lines only. */
        ASSERT_OK(metric_family_new("empty", "Nothing yet.", METRIC_GAUGE,
                                    (const char *[]) { "x", NULL }, NULL, 0, &e));
        text3 = render_family(e);
        ASSERT_STREQ(text3, "# HELP empty Nothing yet.\n# TYPE empty gauge\n");
}

static void test_histogram(void) {
        static const double buckets[] = { 0.25, 1, 4 };
        _cleanup_(metric_family_freep) MetricFamily *f = NULL, *g = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        ASSERT_OK(metric_family_new("op_seconds", "Op time.", METRIC_HISTOGRAM,
                                    (const char *[]) { "op", NULL }, buckets, ELEMENTSOF(buckets), &f));
        /* On a bound counts in that bucket (le: less or equal); past the last only in +Inf. */
        ASSERT_OK(metric_family_observe(f, (const char *[]) { "read" }, 0.125));
        ASSERT_OK(metric_family_observe(f, (const char *[]) { "read" }, 0.25));
        ASSERT_OK(metric_family_observe(f, (const char *[]) { "read" }, 0.5));
        ASSERT_OK(metric_family_observe(f, (const char *[]) { "read" }, 2));
        ASSERT_OK(metric_family_observe(f, (const char *[]) { "read" }, 8));
        ASSERT_OK(metric_family_observe(f, (const char *[]) { "write" }, 4));
        ASSERT_ERR(metric_family_observe(f, (const char *[]) { "read" }, 0.0 / 0.0), EINVAL);
        ASSERT_ERR(metric_family_add(f, (const char *[]) { "read" }, 1), EINVAL);

        text = render_family(f);
        ASSERT_STREQ(text,
                     "# HELP op_seconds Op time.\n"
                     "# TYPE op_seconds histogram\n"
                     "op_seconds_bucket{op=\"read\",le=\"0.25\"} 2\n"
                     "op_seconds_bucket{op=\"read\",le=\"1\"} 3\n"
                     "op_seconds_bucket{op=\"read\",le=\"4\"} 4\n"
                     "op_seconds_bucket{op=\"read\",le=\"+Inf\"} 5\n"
                     "op_seconds_sum{op=\"read\"} 10.875\n"
                     "op_seconds_count{op=\"read\"} 5\n"
                     "op_seconds_bucket{op=\"write\",le=\"0.25\"} 0\n"
                     "op_seconds_bucket{op=\"write\",le=\"1\"} 0\n"
                     "op_seconds_bucket{op=\"write\",le=\"4\"} 1\n"
                     "op_seconds_bucket{op=\"write\",le=\"+Inf\"} 1\n"
                     "op_seconds_sum{op=\"write\"} 4\n"
                     "op_seconds_count{op=\"write\"} 1\n");

        /* No labels, touched so it shows at zero. */
        ASSERT_OK(metric_family_new("wait_seconds", "Wait.", METRIC_HISTOGRAM, NULL, buckets, 1, &g));
        ASSERT_OK(metric_family_touch(g, NULL));
        text2 = render_family(g);
        ASSERT_STREQ(text2,
                     "# HELP wait_seconds Wait.\n"
                     "# TYPE wait_seconds histogram\n"
                     "wait_seconds_bucket{le=\"0.25\"} 0\n"
                     "wait_seconds_bucket{le=\"+Inf\"} 0\n"
                     "wait_seconds_sum 0\n"
                     "wait_seconds_count 0\n");
}

static void test_escaping(void) {
        _cleanup_(metric_family_freep) MetricFamily *f = NULL;
        _cleanup_free_ char *text = NULL;

        ASSERT_OK(metric_family_new("esc", "A \\ backslash, a \"quote\"\nand a newline.", METRIC_COUNTER,
                                    (const char *[]) { "a", "b", NULL }, NULL, 0, &f));
        ASSERT_OK(metric_family_add(f, (const char *[]) { "x\\y\"z\nw", "plain" }, 1));
        text = render_family(f);
        ASSERT_STREQ(text,
                     "# HELP esc A \\\\ backslash, a \"quote\"\\nand a newline.\n"
                     "# TYPE esc counter\n"
                     "esc{a=\"x\\\\y\\\"z\\nw\",b=\"plain\"} 1\n");
}

static void test_validation(void) {
        static const double up[] = { 1, 2 }, down[] = { 2, 1 }, inf[] = { 1, 1.0 / 0.0 };
        _cleanup_(metric_family_freep) MetricFamily *f = NULL;
        MetricFamily *bad = NULL;
        char value[16];

        ASSERT_ERR(metric_family_new("1abc", "", METRIC_GAUGE, NULL, NULL, 0, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a-b", "", METRIC_GAUGE, NULL, NULL, 0, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("", "", METRIC_GAUGE, NULL, NULL, 0, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a", NULL, METRIC_GAUGE, NULL, NULL, 0, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a", "", METRIC_GAUGE, (const char *[]) { "x:y", NULL }, NULL, 0, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a", "", METRIC_GAUGE, (const char *[]) { "__x", NULL }, NULL, 0, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a", "", METRIC_GAUGE, (const char *[]) { "x", "x", NULL }, NULL, 0, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a", "", METRIC_HISTOGRAM, (const char *[]) { "le", NULL }, up, 2, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a", "", METRIC_HISTOGRAM, NULL, down, 2, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a", "", METRIC_HISTOGRAM, NULL, inf, 2, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a", "", METRIC_COUNTER, NULL, up, 2, &bad), EINVAL);
        ASSERT_ERR(metric_family_new("a", "", _METRIC_TYPE_MAX, NULL, NULL, 0, &bad), EINVAL);
        ASSERT_NULL(bad);
        ASSERT_STREQ(metric_type_to_string(METRIC_HISTOGRAM), "histogram");
        ASSERT_EQ_INT(metric_type_from_string("counter"), METRIC_COUNTER);
        ASSERT_EQ_INT(metric_type_from_string("summary"), _METRIC_TYPE_INVALID);

        /* A label value from outside cannot grow a family without bound. */
        ASSERT_OK(metric_family_new("ns:many", "", METRIC_COUNTER, (const char *[]) { "v", NULL }, NULL, 0, &f));
        for (unsigned i = 0; i < METRIC_SERIES_MAX; i++) {
                snprintf(value, sizeof value, "%u", i);
                ASSERT_OK(metric_family_add(f, (const char *[]) { value }, 1));
        }
        ASSERT_ERR(metric_family_add(f, (const char *[]) { "one-more" }, 1), E2BIG);
        ASSERT_OK(metric_family_add(f, (const char *[]) { "0" }, 1)); /* existing ones still count */
}

/* A fake backend that answers every action at once, 100 ms apart; fail_phase fails once. */
typedef struct Fake {
        usec_t now;
        bool pending;
        Action action;
        Phase fail_phase;
        PhaseResult fail_how;
        const PolicySet *policies; /* what policies() gives */
        unsigned migrate_failures; /* the first this many migrate actions fail */
} Fake;

static int fake_start(void *userdata, Migration *m, Action a, Side side) {
        Fake *f = userdata;

        (void) m, (void) side;
        f->pending = true;
        f->action = a;
        return 0;
}

static void fake_cancel(void *userdata, Migration *m, Action a) {
        (void) userdata, (void) m, (void) a;
}

static int fake_arm(void *userdata, Migration *m, usec_t usec) {
        (void) userdata, (void) m, (void) usec;
        return 0;
}

static usec_t fake_now(void *userdata) {
        return ((Fake *) userdata)->now;
}

static const PolicySet *fake_policies(void *userdata) {
        return ((Fake *) userdata)->policies;
}

static const MigrationBackendOps fake_ops = {
        .start_action = fake_start,
        .cancel_action = fake_cancel,
        .arm_timer = fake_arm,
        .now = fake_now,
        .policies = fake_policies,
};

static Migration *run_job_as(Fake *f, Phase fail_phase, PhaseResult how, bool check_only) {
        MigrationParams p = {
                .domain = "vm1",
                .source_uri = "qemu:///system",
                .destination_uri = "qemu+ssh://b/system",
                .check_only = check_only,
        };
        Migration *m = NULL;

        *f = (Fake) { .now = 1000 * USEC_PER_SEC, .fail_phase = fail_phase, .fail_how = how };
        ASSERT_OK(migration_new(1, &p, &fake_ops, f, &m));
        ASSERT_OK(migration_start(m));
        for (unsigned i = 0; !migration_is_finished(m); i++) {
                Phase ph = migration_get_phase(m);

                ASSERT_TRUE(i < 32);
                ASSERT_TRUE(f->pending);
                f->pending = false;
                f->now += 100 * USEC_PER_MSEC;
                if (ph == f->fail_phase) {
                        f->fail_phase = _PHASE_INVALID;
                        if (how == PHASE_RESULT_TIMEOUT)
                                migration_timer_elapsed(m);
                        if (how == PHASE_RESULT_CANCELLED)
                                ASSERT_OK(migration_cancel(m));
                        migration_action_done(m, f->action, -EIO, "it broke");
                        continue;
                }
                if (f->action == ACTION_PREFLIGHT)
                        ASSERT_OK(migration_set_vf(m, "ua-vf0", "52:54:00:00:00:02", "<interface/>"));
                migration_action_done(m, f->action, f->action == ACTION_UNPLUG ? 1 : 0, NULL);
        }
        return m;
}

static Migration *run_job(Fake *f, Phase fail_phase, PhaseResult how) {
        return run_job_as(f, fail_phase, how, false);
}

static unsigned two_active(void *userdata) {
        (void) userdata;
        return 2;
}

static bool contains(const char *text, const char *line) {
        return strstr(text, line) != NULL;
}

/* A job whose domain has an emulated VF under the default policy (auto): the native path;
 * the first migrate_failures migrations fail (then it falls back to failover). */
static Migration *run_native_job(Fake *f, const PolicySet *set, unsigned migrate_failures) {
        MigrationParams p = { .domain = "vm1", .source_uri = "a", .destination_uri = "b" };
        Migration *m = NULL;

        *f = (Fake) { .now = 1000 * USEC_PER_SEC, .fail_phase = _PHASE_INVALID, .policies = set,
                      .migrate_failures = migrate_failures };
        ASSERT_OK(migration_new(1, &p, &fake_ops, f, &m));
        ASSERT_OK(migration_start(m));
        migration_domain_read(m, "<domain type='qemu'><name>vm1</name><devices>"
                                 "<interface type='bridge'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>"
                                 "<interface type='bridge'><mac address='52:54:00:00:00:02'/><model type='e1000e'/>"
                                 "<alias name='ua-vf0'/></interface></devices></domain>", NULL);
        ASSERT_EQ_INT(migration_get_path(m), POLICY_PATH_NATIVE);
        for (unsigned i = 0; !migration_is_finished(m); i++) {
                ASSERT_TRUE(i < 32);
                ASSERT_TRUE(f->pending);
                f->pending = false;
                f->now += 100 * USEC_PER_MSEC;
                if (f->action == ACTION_MIGRATE && f->migrate_failures > 0) {
                        f->migrate_failures--;
                        migration_action_done(m, f->action, -EIO, "blocked");
                        continue;
                }
                migration_action_done(m, f->action, f->action == ACTION_UNPLUG ? 1 : 0, NULL);
        }
        return m;
}

/* Migrations by path: native, failover, and failover after a native migration failed. */
static void test_paths(void) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_(policy_set_freep) PolicySet *set = NULL;
        _cleanup_(migration_freep) Migration *native = NULL, *fallback = NULL, *none = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        char dir[] = "/tmp/test-metrics-XXXXXX";
        const char *dirs[] = { dir, NULL };
        Fake f1, f2, f3;
        size_t size = 0;

        ASSERT_NOT_NULL(mkdtemp(dir));
        ASSERT_OK(policy_set_load(dirs, &set, &error)); /* the built-in default: auto */
        ASSERT_OK(rmdir(dir));
        ASSERT_OK(metrics_new("1.2.3", &m));

        ASSERT_OK(metrics_render(m, NULL, &text, &size));
        /* every series there from the start */
        ASSERT_TRUE(contains(text, "srvm_migration_paths_total{path=\"native\",result=\"succeeded\"} 0\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_paths_total{path=\"fallback\",result=\"degraded\"} 0\n"));
        free(TAKE_PTR(text));

        native = run_native_job(&f1, set, 0);
        ASSERT_EQ_INT(migration_get_result(native), JOB_SUCCEEDED);
        ASSERT_OK(metrics_job_finished(m, native));
        fallback = run_native_job(&f2, set, 1);
        ASSERT_EQ_INT(migration_get_result(fallback), JOB_SUCCEEDED);
        ASSERT_TRUE(migration_get_fell_back(fallback));
        ASSERT_OK(metrics_job_finished(m, fallback));
        none = run_job(&f3, _PHASE_INVALID, PHASE_RESULT_OK); /* no path chosen: not counted by path */
        ASSERT_OK(metrics_job_finished(m, none));

        ASSERT_OK(metrics_render(m, NULL, &text, &size));
        ASSERT_TRUE(contains(text, "srvm_migration_paths_total{path=\"native\",result=\"succeeded\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_paths_total{path=\"fallback\",result=\"succeeded\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_paths_total{path=\"failover\",result=\"succeeded\"} 0\n"));
        ASSERT_TRUE(contains(text, "srvm_migrations_total{kind=\"migrate\",result=\"succeeded\"} 3\n"));
        /* the native job's last phase */
        ASSERT_TRUE(contains(text, "srvm_migration_phase_duration_seconds_count{kind=\"migrate\",phase=\"verify\"} 1\n"));
}

static void test_registry(void) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_(migration_freep) Migration *ok = NULL, *rolled = NULL, *timeout = NULL;
        Fake f1, f2, f3;
        size_t size = 0;

        ASSERT_ERR(metrics_new(NULL, &m), EINVAL);
        ASSERT_OK(metrics_new("1.2.3", &m));
        metrics_set_active_jobs_callback(m, two_active, NULL);

        ok = run_job(&f1, _PHASE_INVALID, PHASE_RESULT_OK);
        ASSERT_EQ_INT(migration_get_result(ok), JOB_SUCCEEDED);
        ASSERT_OK(metrics_job_finished(m, ok));

        rolled = run_job(&f2, PHASE_MIGRATE, PHASE_RESULT_FAILED);
        ASSERT_EQ_INT(migration_get_result(rolled), JOB_ROLLED_BACK);
        ASSERT_OK(metrics_job_finished(m, rolled));

        timeout = run_job(&f3, PHASE_UNPLUG, PHASE_RESULT_TIMEOUT);
        ASSERT_OK(metrics_job_finished(m, timeout));

        ASSERT_OK(metrics_observe_vm_downtime_ms(m, 7));
        ASSERT_OK(metrics_observe_agent(m, "guest-exec", 0.02));
        ASSERT_OK(metrics_observe_agent(m, "guest-ping", 0.002));
        ASSERT_ERR(metrics_observe_agent(m, "", 1), EINVAL);

        ASSERT_OK(metrics_render(m, NULL, &text, &size));
        ASSERT_EQ_INT(size, strlen(text));
        ASSERT_TRUE(contains(text, "# TYPE srvm_build_info gauge\nsrvm_build_info{version=\"1.2.3\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_migrations_total{kind=\"migrate\",result=\"succeeded\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_migrations_total{kind=\"migrate\",result=\"rolled-back\"} 2\n"));
        ASSERT_TRUE(contains(text, "srvm_migrations_total{kind=\"migrate\",result=\"cancelled\"} 0\n"));
        ASSERT_TRUE(!contains(text, "result=\"running\""));
        ASSERT_TRUE(contains(text, "srvm_migrations_active 2\n"));
        /* Each phase took 100 ms; preflight ran in all three jobs, failback in one. */
        ASSERT_TRUE(contains(text, "srvm_migration_phase_duration_seconds_bucket{kind=\"migrate\",phase=\"preflight\",le=\"0.1\"} 3\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_phase_duration_seconds_count{kind=\"migrate\",phase=\"preflight\"} 3\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_phase_duration_seconds_count{kind=\"migrate\",phase=\"failback\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_phase_duration_seconds_count{kind=\"migrate\",phase=\"rollback-plug\"} 2\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_phase_duration_seconds_sum{kind=\"migrate\",phase=\"failback\"} 0.1\n"));
        ASSERT_TRUE(contains(text, "srvm_rollbacks_total{kind=\"migrate\",phase=\"migrate\",cause=\"failed\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_rollbacks_total{kind=\"migrate\",phase=\"unplug\",cause=\"timeout\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_rollbacks_total{kind=\"migrate\",phase=\"migrate\",cause=\"timeout\"} 0\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_vm_downtime_seconds_bucket{le=\"0.005\"} 0\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_vm_downtime_seconds_bucket{le=\"0.01\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_vm_downtime_seconds_sum 0.007\n"));
        ASSERT_TRUE(contains(text, "srvm_migration_standby_seconds_count{kind=\"migrate\"} 3\n"));
        ASSERT_TRUE(contains(text, "srvm_agent_request_duration_seconds_bucket{command=\"guest-exec\",le=\"0.025\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_agent_request_duration_seconds_count{command=\"guest-ping\"} 1\n"));
        ASSERT_TRUE(!contains(text, "process_"));
}

/* Drop, in place, the lines that name family (its HELP, TYPE and samples). */
static void without_family(char *text, const char *family) {
        char *in = text, *out = text;

        while (*in) {
                char *end = strchr(in, '\n');
                size_t len = end ? (size_t) (end - in) + 1 : strlen(in);
                bool drop = false;

                for (size_t i = 0; i + strlen(family) <= len && !drop; i++)
                        drop = strncmp(in + i, family, strlen(family)) == 0;
                if (!drop) {
                        memmove(out, in, len);
                        out += len;
                }
                in += len;
        }
        *out = '\0';
}

/* --metrics-textfile: the render lands whole at the path, by rename; nothing else stays. */
static void test_textfile(void) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL, *tmp = NULL, *nowhere = NULL;
        char dir[] = "/tmp/test-metrics-textfile.XXXXXX", buf[65536];
        struct stat st;
        size_t size = 0;
        ssize_t n;
        int fd;

        ASSERT_TRUE(metrics_textfile_path_is_valid("/var/lib/prometheus/node-exporter/srvmd.prom"));
        ASSERT_TRUE(!metrics_textfile_path_is_valid("srvmd.prom"));
        ASSERT_TRUE(!metrics_textfile_path_is_valid("/var/lib/srvmd.txt"));
        ASSERT_TRUE(!metrics_textfile_path_is_valid("/var/lib/.prom"));
        ASSERT_TRUE(!metrics_textfile_path_is_valid(NULL));

        ASSERT_NOT_NULL(mkdtemp(dir));
        ASSERT_TRUE(asprintf(&path, "%s/srvmd.prom", dir) > 0);
        ASSERT_TRUE(asprintf(&tmp, "%s.tmp", path) > 0);
        ASSERT_OK(metrics_new("9.9", &m));
        ASSERT_OK(metrics_render(m, NULL, &text, &size));

        /* An older file is replaced whole. */
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0 && write(fd, "old\n", 4) == 4 && close(fd) == 0);
        ASSERT_OK(metrics_textfile_write(m, path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        n = read(fd, buf, sizeof buf - 1);
        ASSERT_TRUE(n > 0 && close(fd) == 0);
        buf[n] = '\0';
        ASSERT_STREQ(buf, text);
        ASSERT_TRUE(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
        ASSERT_TRUE(access(tmp, F_OK) < 0 && errno == ENOENT);

        /* A directory that is not there: an error, and nothing written. */
        ASSERT_TRUE(asprintf(&nowhere, "%s/no/srvmd.prom", dir) > 0);
        ASSERT_ERR(metrics_textfile_write(m, nowhere), ENOENT);
        ASSERT_ERR(metrics_textfile_write(m, "relative.prom"), EINVAL);

        ASSERT_TRUE(unlink(path) == 0 && rmdir(dir) == 0);
}

static bool connected(void *userdata) {
        return *(bool *) userdata;
}

static unsigned one_degraded(void *userdata) {
        return 1;
}

/* A check moves nothing: it counts in srvm_checks_total and leaves every migration family as
 * it was, byte for byte. Every series a job can add exists from the start, at zero. */
static void test_check_counts_apart(void) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        _cleanup_(migration_freep) Migration *check = NULL, *failed = NULL;
        Fake f1, f2;

        ASSERT_OK(metrics_new("1", &m));
        ASSERT_OK(metrics_render(m, NULL, &before, NULL));
        ASSERT_TRUE(contains(before, "srvm_rollbacks_total{kind=\"migrate\",phase=\"migrate\",cause=\"interrupted\"} 0\n"));
        ASSERT_TRUE(contains(before, "srvm_migrations_total{kind=\"arrival\",result=\"degraded\"} 0\n"));
        ASSERT_TRUE(contains(before, "srvm_migration_phase_duration_seconds_count{kind=\"arrival\",phase=\"plug\"} 0\n"));
        ASSERT_TRUE(contains(before, "srvm_checks_total{result=\"succeeded\"} 0\n"));
        ASSERT_TRUE(contains(before, "srvm_agent_request_duration_seconds_count{command=\"guest-ping\"} 0\n"));
        ASSERT_TRUE(contains(before, "srvm_agent_request_duration_seconds_count{command=\"guest-exec\"} 0\n"));
        ASSERT_TRUE(contains(before, "srvm_agent_request_duration_seconds_count{command=\"guest-exec-status\"} 0\n"));

        check = run_job_as(&f1, _PHASE_INVALID, PHASE_RESULT_OK, true);
        ASSERT_EQ_INT(migration_get_result(check), JOB_SUCCEEDED);
        ASSERT_OK(metrics_job_finished(m, check));
        failed = run_job_as(&f2, PHASE_PREFLIGHT, PHASE_RESULT_FAILED, true);
        ASSERT_OK(metrics_job_finished(m, failed));
        ASSERT_OK(metrics_render(m, NULL, &after, NULL));
        ASSERT_TRUE(contains(after, "srvm_checks_total{result=\"succeeded\"} 1\n"));
        ASSERT_TRUE(contains(after, "srvm_checks_total{result=\"failed\"} 1\n"));

        /* Everything but srvm_checks_total as before: the same text once its lines are gone. */
        without_family(before, "srvm_checks_total");
        without_family(after, "srvm_checks_total");
        ASSERT_STREQ(after, before);
}

static void test_state_gauges(void) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_free_ char *none = NULL, *text = NULL, *failed = NULL;
        MetricsStateOps ops = { .libvirt_connected = connected, .n_degraded = one_degraded };
        bool up = true;

        ASSERT_OK(metrics_new("1", &m));
        /* Before srvmd says anything: disconnected, none degraded, no reload yet. */
        ASSERT_OK(metrics_render(m, NULL, &none, NULL));
        ASSERT_TRUE(contains(none, "srvm_libvirt_connected 0\n"));
        ASSERT_TRUE(contains(none, "srvm_jobs_degraded 0\n"));
        ASSERT_TRUE(contains(none, "srvm_policy_reload_success 0\n"));

        metrics_set_state_ops(m, &ops, &up);
        ASSERT_OK(metrics_policy_reloaded(m, true, 1796240701));
        ASSERT_OK(metrics_render(m, NULL, &text, NULL));
        ASSERT_TRUE(contains(text, "# TYPE srvm_libvirt_connected gauge\nsrvm_libvirt_connected 1\n"));
        ASSERT_TRUE(contains(text, "srvm_jobs_degraded 1\n"));
        ASSERT_TRUE(contains(text, "srvm_policy_reload_success 1\n"));
        ASSERT_TRUE(contains(text, "srvm_policy_reload_timestamp_seconds 1796240701\n"));

        /* A failed reload: success 0, the time of the last good one stays. */
        up = false;
        ASSERT_OK(metrics_policy_reloaded(m, false, 1796240999));
        ASSERT_OK(metrics_render(m, NULL, &failed, NULL));
        ASSERT_TRUE(contains(failed, "srvm_libvirt_connected 0\n"));
        ASSERT_TRUE(contains(failed, "srvm_policy_reload_success 0\n"));
        ASSERT_TRUE(contains(failed, "srvm_policy_reload_timestamp_seconds 1796240701\n"));
        ASSERT_ERR(metrics_policy_reloaded(NULL, true, 0), EINVAL);
}

/* srvm_vfs: every state from the start, at zero and never counted; then the last count. */
static void test_vfs(void) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        _cleanup_free_ char *none = NULL, *text = NULL, *again = NULL;

        ASSERT_OK(metrics_new("1", &m));
        ASSERT_OK(metrics_render(m, NULL, &none, NULL));
        ASSERT_TRUE(contains(none, "# TYPE srvm_vfs gauge\n"
                                   "srvm_vfs{state=\"free\"} 0\n"
                                   "srvm_vfs{state=\"attached\"} 0\n"
                                   "srvm_vfs{state=\"disabled\"} 0\n"));
        ASSERT_TRUE(contains(none, "srvm_vfs_updated_timestamp_seconds 0\n"));

        ASSERT_OK(metrics_vfs_counted(m, (const unsigned[_VF_STATE_MAX]) {
                [VF_STATE_FREE] = 5, [VF_STATE_ATTACHED] = 3, [VF_STATE_DISABLED] = 1 }, 1796240701));
        ASSERT_OK(metrics_render(m, NULL, &text, NULL));
        ASSERT_TRUE(contains(text, "srvm_vfs{state=\"free\"} 5\n"
                                   "srvm_vfs{state=\"attached\"} 3\n"
                                   "srvm_vfs{state=\"disabled\"} 1\n"));
        ASSERT_TRUE(contains(text, "srvm_vfs_updated_timestamp_seconds 1796240701\n"));

        /* A count replaces the last one, state by state, back to zero too. */
        ASSERT_OK(metrics_vfs_counted(m, (const unsigned[_VF_STATE_MAX]) { [VF_STATE_FREE] = 9 }, 1796240731));
        ASSERT_OK(metrics_render(m, NULL, &again, NULL));
        ASSERT_TRUE(contains(again, "srvm_vfs{state=\"free\"} 9\n"
                                    "srvm_vfs{state=\"attached\"} 0\n"
                                    "srvm_vfs{state=\"disabled\"} 0\n"));
        ASSERT_TRUE(contains(again, "srvm_vfs_updated_timestamp_seconds 1796240731\n"));
        ASSERT_ERR(metrics_vfs_counted(NULL, (const unsigned[_VF_STATE_MAX]) {}, 0), EINVAL);
}

static void test_process(void) {
        static const char stat[] =
                "4242 (srv md) (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 1 0 "
                "500 123456789 300 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
        static const char proc_stat[] = "cpu  1 2 3\nintr 1 2 3\nbtime 1700000000\nprocesses 9\n";
        MetricsProcess p = {}, real = {};

        ASSERT_OK(metrics_parse_process_stat(stat, proc_stat, 100, 4096, &p));
        ASSERT_TRUE(p.start_time_sec == 1700000005.0);
        ASSERT_TRUE(p.cpu_sec == 4.0);
        ASSERT_EQ_INT(p.virtual_bytes, 123456789);
        ASSERT_EQ_INT(p.resident_bytes, 300 * 4096);
        ASSERT_ERR(metrics_parse_process_stat("4242 (x S 1", proc_stat, 100, 4096, &p), EBADMSG);
        ASSERT_ERR(metrics_parse_process_stat("4242 (x) S 1 2", proc_stat, 100, 4096, &p), EBADMSG);
        ASSERT_ERR(metrics_parse_process_stat(stat, "cpu 1\n", 100, 4096, &p), EBADMSG);

        ASSERT_OK(metrics_read_process(&real));
        ASSERT_TRUE(real.start_time_sec <= (double) time(NULL) + 1);
        ASSERT_TRUE(real.start_time_sec > (double) time(NULL) - 3600);
        ASSERT_TRUE(real.resident_bytes > 0 && real.virtual_bytes >= real.resident_bytes);
        ASSERT_TRUE(real.open_fds >= 3 && real.open_fds <= real.max_fds);
}

static void test_parse_listen(void) {
        static const struct {
                const char *in;
                const char *address; /* NULL: invalid */
                uint16_t port;
        } cases[] = {
                { "127.0.0.1:9709", "127.0.0.1", 9709 },
                { "0.0.0.0:1", "0.0.0.0", 1 },
                { "[::1]:9709", "::1", 9709 },
                { "[fe80::1]:65535", "fe80::1", 65535 },
                { "9000", "127.0.0.1", 9000 },
                { "::1:9709", NULL, 0 },
                { "localhost:9709", NULL, 0 },
                { "127.0.0.1:", NULL, 0 },
                { "127.0.0.1:0", NULL, 0 },
                { "127.0.0.1:65536", NULL, 0 },
                { "127.0.0.1:-1", NULL, 0 },
                { "127.0.0.1:80x", NULL, 0 },
                { "[::1]9709", NULL, 0 },
                { "[127.0.0.1]:9709", NULL, 0 },
                { ":9709", NULL, 0 },
                { "", NULL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *address = NULL;
                uint16_t port = 0;
                int r = metrics_http_parse_listen(cases[i].in, &address, &port);

                if (!cases[i].address) {
                        if (r != -EINVAL)
                                ASSERT_FAIL_("'%s' should be refused, got %d", cases[i].in, r);
                        ASSERT_NULL(address);
                        continue;
                }
                ASSERT_OK(r);
                ASSERT_STREQ(address, cases[i].address);
                ASSERT_EQ_INT(port, cases[i].port);
        }
}

/* The full render, read by the Prometheus client's parser. */
static void test_parser(Metrics *m) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        FILE *p;

        ASSERT_OK(metrics_http_render(m, &text, &size));
        p = popen(PYTHON " " CHECK_METRICS_PY, "w");
        ASSERT_NOT_NULL(p);
        ASSERT_EQ_INT(fwrite(text, 1, size, p), size);
        ASSERT_EQ_INT(pclose(p), 0);
}

/* The HTTP edge on a real loop. */

typedef struct Tick {
        usec_t period;
        usec_t max_late;
        unsigned n;
} Tick;

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Tick *t = userdata;
        uint64_t now;

        ASSERT_OK(sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now));
        if (now > usec && now - usec > t->max_late)
                t->max_late = now - usec;
        t->n++;
        ASSERT_OK(sd_event_source_set_time(s, usec + t->period));
        return 0;
}

typedef struct Child {
        bool done;
        int status;
} Child;

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Child *c = userdata;

        c->done = true;
        c->status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
        return 0;
}

/* Start sh -c cmd with its standard output into a temporary file. posix_spawn() and not
 * fork(): forking a process under ASan copies its huge shadow mappings, which alone would
 * hold up the loop for longer than the lateness this test measures. */
static FILE *spawn(sd_event *e, const char *cmd, Child *c, sd_event_source **ret_source) {
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) cmd, NULL };
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        FILE *out = tmpfile();
        sigset_t none;
        pid_t pid;

        ASSERT_NOT_NULL(out);
        *c = (Child) {};
        sigemptyset(&none);
        ASSERT_TRUE(posix_spawn_file_actions_init(&actions) == 0);
        ASSERT_TRUE(posix_spawn_file_actions_adddup2(&actions, fileno(out), STDOUT_FILENO) == 0);
        ASSERT_TRUE(posix_spawnattr_init(&attr) == 0);
        ASSERT_TRUE(posix_spawnattr_setsigmask(&attr, &none) == 0);
        ASSERT_TRUE(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK) == 0);
        ASSERT_TRUE(posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ) == 0);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
        ASSERT_OK(sd_event_add_child(e, ret_source, pid, WEXITED, on_child, c));
        return out;
}

static void run_until(sd_event *e, const bool *done, usec_t timeout) {
        usec_t deadline = now_usec() + timeout;

        while (!*done) {
                ASSERT_TRUE(now_usec() < deadline);
                ASSERT_OK(sd_event_run(e, 100 * USEC_PER_MSEC));
        }
}

/* Run cmd on the loop to its end; return its exit status and, if asked, its output. */
static int run(sd_event *e, const char *cmd, char **ret_out) {
        sd_event_source *source = NULL;
        Child c;
        FILE *out = spawn(e, cmd, &c, &source);

        run_until(e, &c.done, 60 * USEC_PER_SEC);
        sd_event_source_unref(source);
        if (ret_out) {
                long n;

                ASSERT_TRUE(fseek(out, 0, SEEK_END) == 0);
                n = ftell(out);
                rewind(out);
                *ret_out = calloc(1, n + 1);
                ASSERT_NOT_NULL(*ret_out);
                ASSERT_EQ_INT(fread(*ret_out, 1, n, out), n);
        }
        fclose(out);
        return c.status;
}

/* A client that sends its request a byte at a time and never finishes it. */
typedef struct Trickle {
        int fd;
        sd_event_source *timer, *io;
        const char *request;
        size_t sent;
        bool stop;
        usec_t last_sent;
        usec_t closed; /* when the server hung up; 0: not yet */
} Trickle;

static int on_trickle_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Trickle *t = userdata;

        if (t->stop || t->closed)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (send(t->fd, t->request + t->sent % strlen(t->request), 1, MSG_NOSIGNAL) == 1) {
                t->sent++;
                t->last_sent = now_usec();
        }
        ASSERT_OK(sd_event_source_set_time(s, usec + 50 * USEC_PER_MSEC));
        return 0;
}

static int on_trickle_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Trickle *t = userdata;
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof buf, 0);

        if (n == 0 || (n < 0 && errno != EAGAIN)) {
                t->closed = now_usec();
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        ASSERT_TRUE(n < 0); /* an unfinished request gets no answer */
        return 0;
}

static void trickle_start(sd_event *e, uint16_t port, Trickle *t) {
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_port = htons(port),
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };

        *t = (Trickle) { .request = "GET /metrics HTTP/1.1\r\nX-Slow: " };
        t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(t->fd >= 0);
        ASSERT_TRUE(connect(t->fd, (struct sockaddr *) &sa, sizeof sa) == 0);
        ASSERT_TRUE(fcntl(t->fd, F_SETFL, O_NONBLOCK) == 0);
        ASSERT_OK(sd_event_add_io(e, &t->io, t->fd, EPOLLIN | EPOLLRDHUP, on_trickle_io, t));
        ASSERT_OK(sd_event_add_time_relative(e, &t->timer, CLOCK_MONOTONIC, 0, 1, on_trickle_timer, t));
        ASSERT_OK(sd_event_source_set_enabled(t->timer, SD_EVENT_ON));
}

static unsigned count_lines(const char *text, const char *line) {
        unsigned n = 0;

        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);

                n += len == strlen(line) && strncmp(p, line, len) == 0;
                p = nl ? nl + 1 : NULL;
        }
        return n;
}

static void test_http(Metrics *m) {
        _cleanup_(metrics_http_freep) MetricsHttp *h = NULL;
        MetricsHttpConfig config = {
                .address = "127.0.0.1",
                .port = 0,
                .connection_limit = 16,
                .per_ip_connection_limit = 8,
                .connection_timeout_sec = 1,
        };
        sd_event *e = NULL;
        sd_event_source *tick_source = NULL;
        Tick tick = { .period = 20 * USEC_PER_MSEC };
        Trickle t;
        char url[64], cmd[512];
        char *out;
        usec_t start;
        uint16_t port;

        ASSERT_OK(sd_event_new(&e));
        /* Started quietly even at debug level: libmicrohttpd complains through srvmd's logger
         * when it gets its options in an order it does not want. */
        FILE *said = tmpfile();
        int saved_stderr = dup(STDERR_FILENO);
        char heard[4096] = "";
        ASSERT_NOT_NULL(said);
        ASSERT_TRUE(saved_stderr >= 0);
        fflush(stderr);
        ASSERT_TRUE(dup2(fileno(said), STDERR_FILENO) >= 0);
        log_set_max_level(LOG_DEBUG);
        ASSERT_OK(metrics_http_new(e, &config, metrics_http_render, m, &h));
        log_set_max_level(LOG_INFO);
        fflush(stderr);
        ASSERT_TRUE(dup2(saved_stderr, STDERR_FILENO) >= 0);
        close(saved_stderr);
        rewind(said);
        heard[fread(heard, 1, sizeof heard - 1, said)] = 0;
        fclose(said);
        if (strstr(heard, "MHD_OPTION"))
                ASSERT_FAIL_("libmicrohttpd warned at start: %s", heard);
        port = metrics_http_get_port(h);
        ASSERT_TRUE(port > 0);
        snprintf(url, sizeof url, "http://127.0.0.1:%u", port);

        ASSERT_OK(sd_event_add_time_relative(e, &tick_source, CLOCK_MONOTONIC, tick.period, 1, on_tick, &tick));
        ASSERT_OK(sd_event_source_set_enabled(tick_source, SD_EVENT_ON));

        snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code} %%{content_type}' %s/metrics", url);
        ASSERT_EQ_INT(run(e, cmd, &out), 0);
        ASSERT_STREQ(out, "200 text/plain; version=0.0.4; charset=utf-8");
        free(out);

        snprintf(cmd, sizeof cmd, "curl -s -I %s/metrics", url);
        ASSERT_EQ_INT(run(e, cmd, &out), 0);
        ASSERT_TRUE(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
        ASSERT_TRUE(contains(out, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        ASSERT_TRUE(contains(out, "Content-Length: "));
        ASSERT_TRUE(!contains(out, "# TYPE"));
        free(out);

        snprintf(cmd, sizeof cmd, "curl -s -X POST --data x -D - -o /dev/null %s/metrics", url);
        ASSERT_EQ_INT(run(e, cmd, &out), 0);
        ASSERT_TRUE(strncmp(out, "HTTP/1.1 405 ", 13) == 0);
        ASSERT_TRUE(contains(out, "Allow: GET, HEAD\r\n"));
        free(out);

        snprintf(cmd, sizeof cmd, "curl -s -X DELETE -o /dev/null -w '%%{http_code}' %s/metrics", url);
        ASSERT_EQ_INT(run(e, cmd, &out), 0);
        ASSERT_STREQ(out, "405");
        free(out);

        snprintf(cmd, sizeof cmd, "curl -s -w '%%{http_code}' -o /dev/null %s/other -o /dev/null %s/ "
                 "-o /dev/null %s/metrics/x", url, url, url);
        ASSERT_EQ_INT(run(e, cmd, &out), 0);
        ASSERT_STREQ(out, "404404404");
        free(out);

        /* What the endpoint serves is what a Prometheus server can read. */
        snprintf(cmd, sizeof cmd, "curl -sf %s/metrics | " PYTHON " " CHECK_METRICS_PY, url);
        ASSERT_EQ_INT(run(e, cmd, &out), 0);
        printf("%s", out);
        free(out);

        /* One slow client and a flood at once; the loop's own timer must stay on time. */
        tick.max_late = 0;
        tick.n = 0;
        start = now_usec();
        trickle_start(e, port, &t);
        snprintf(cmd, sizeof cmd,
                 "curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 200 --max-time 20 "
                 "-w '%%{stderr}%%{http_code}\\n' '%s/metrics?[1-200]' 2>&1 >/dev/null", url);
        (void) run(e, cmd, &out); /* curl exits with the error of a refused one */
        printf("flood: %u of 200 answered 200, %u refused; %u ticks, latest %llu ms late\n",
               count_lines(out, "200"), count_lines(out, "000"), tick.n,
               (unsigned long long) (tick.max_late / USEC_PER_MSEC));
        ASSERT_TRUE(count_lines(out, "200") >= 1);
        ASSERT_EQ_INT(count_lines(out, "200") + count_lines(out, "000"), 200);
        free(out);

        /* The trickler is still connected, and the endpoint still answers. */
        ASSERT_TRUE(t.closed == 0);
        snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' %s/metrics", url);
        ASSERT_EQ_INT(run(e, cmd, &out), 0);
        ASSERT_STREQ(out, "200");
        free(out);
        /* Trickling for longer than the idle timeout keeps it connected: each byte is activity. */
        while (t.sent < 30) {
                ASSERT_TRUE(t.closed == 0);
                ASSERT_TRUE(now_usec() < start + 20 * USEC_PER_SEC);
                ASSERT_OK(sd_event_run(e, 100 * USEC_PER_MSEC));
        }
        ASSERT_TRUE(t.closed == 0);

        /* Once it goes quiet, it is dropped after the idle timeout. */
        t.stop = true;
        while (!t.closed) {
                ASSERT_TRUE(now_usec() < t.last_sent + 5 * USEC_PER_SEC);
                ASSERT_OK(sd_event_run(e, 100 * USEC_PER_MSEC));
        }
        printf("trickle: %zu bytes over %llu ms, dropped %llu ms after its last byte\n", t.sent,
               (unsigned long long) ((t.last_sent - start) / USEC_PER_MSEC),
               (unsigned long long) ((t.closed - t.last_sent) / USEC_PER_MSEC));
        ASSERT_TRUE(t.closed - t.last_sent >= 900 * USEC_PER_MSEC);

        printf("ticks: %u in %llu ms, latest %llu ms late\n", tick.n,
               (unsigned long long) ((now_usec() - start) / USEC_PER_MSEC),
               (unsigned long long) (tick.max_late / USEC_PER_MSEC));
        /* A few ms natively, up to ~100 ms under valgrind. A loop that waited on the trickler or
         * on MHD's own timeout would be a second or more late. */
        ASSERT_TRUE(tick.max_late < 500 * USEC_PER_MSEC);
        ASSERT_TRUE(tick.n >= (now_usec() - start) / tick.period / 2);

        sd_event_source_disable_unref(t.timer);
        sd_event_source_disable_unref(t.io);
        close(t.fd);
        sd_event_source_disable_unref(tick_source);
        h = metrics_http_free(h);
        sd_event_unref(e);
}

static int connect_to(uint16_t port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0);
        return fd;
}

/* A client that trickles is cut at the connection's lifetime, busy as it is; and a local user
 * who holds its share of connections gets no more, while another user still does. */
static void test_http_limits(Metrics *m) {
        MetricsHttpConfig config = {
                .address = "127.0.0.1",
                .connection_limit = 16,
                .per_ip_connection_limit = 3,
                .connection_timeout_sec = 30,
                .connection_lifetime_sec = 2,
        };
        MetricsHttp *h = NULL;
        sd_event *e = NULL;
        Trickle t;
        usec_t start;
        int held[3];
        char cmd[512], url[64];
        char *out;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(metrics_http_new(e, &config, metrics_http_render, m, &h));
        start = now_usec();
        trickle_start(e, metrics_http_get_port(h), &t);
        while (!t.closed) {
                ASSERT_TRUE(now_usec() < start + 10 * USEC_PER_SEC);
                ASSERT_OK(sd_event_run(e, 100 * USEC_PER_MSEC));
        }
        printf("lifetime: a trickler sending every 50 ms cut after %llu ms, %llu ms after its last byte\n",
               (unsigned long long) ((t.closed - start) / USEC_PER_MSEC),
               (unsigned long long) ((t.closed - t.last_sent) / USEC_PER_MSEC));
        ASSERT_TRUE(t.closed - start >= 1900 * USEC_PER_MSEC);
        ASSERT_TRUE(t.closed - t.last_sent < 1000 * USEC_PER_MSEC); /* not for being idle */
        sd_event_source_disable_unref(t.timer);
        sd_event_source_disable_unref(t.io);
        close(t.fd);
        h = metrics_http_free(h);

        config.connection_lifetime_sec = 60;
        ASSERT_OK(metrics_http_new(e, &config, metrics_http_render, m, &h));
        snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", metrics_http_get_port(h));
        for (size_t i = 0; i < ELEMENTSOF(held); i++)
                held[i] = connect_to(metrics_http_get_port(h));
        for (int i = 0; i < 5; i++)
                ASSERT_OK(sd_event_run(e, 20 * USEC_PER_MSEC));
        snprintf(cmd, sizeof cmd, "curl -s --max-time 5 -o /dev/null -w '%%{http_code}' %s", url);
        (void) run(e, cmd, &out);
        printf("per user: a 4th connection of user %u answered '%s'\n", (unsigned) getuid(), out);
        ASSERT_STREQ(out, "000");
        free(out);
        if (geteuid() == 0) {
                snprintf(cmd, sizeof cmd, "setpriv --reuid=65534 --regid=65534 --clear-groups "
                         "curl -s --max-time 5 -o /dev/null -w '%%{http_code}' %s", url);
                ASSERT_EQ_INT(run(e, cmd, &out), 0);
                printf("per user: user 65534 meanwhile answered '%s'\n", out);
                ASSERT_STREQ(out, "200");
                free(out);
        } else
                printf("per user: not root, another user's connection not tried\n");
        for (size_t i = 0; i < ELEMENTSOF(held); i++)
                close(held[i]);
        for (int i = 0; i < 5; i++)
                ASSERT_OK(sd_event_run(e, 20 * USEC_PER_MSEC));
        snprintf(cmd, sizeof cmd, "curl -s --max-time 5 -o /dev/null -w '%%{http_code}' %s", url);
        ASSERT_EQ_INT(run(e, cmd, &out), 0);
        ASSERT_STREQ(out, "200"); /* its share back */
        free(out);

        h = metrics_http_free(h);
        sd_event_unref(e);
}

/* The same on IPv6 loopback. */
static void test_http_ipv6(Metrics *m) {
        _cleanup_(metrics_http_freep) MetricsHttp *h = NULL;
        MetricsHttpConfig config = { .address = "::1" };
        MetricsHttp *bad = NULL;
        sd_event *e = NULL;
        char cmd[256];
        char *out;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_ERR(metrics_http_new(e, &(MetricsHttpConfig) { .address = "localhost" }, metrics_http_render, m, &bad),
                   EINVAL);
        ASSERT_NULL(bad);
        ASSERT_OK(metrics_http_new(e, &config, metrics_http_render, m, &h));
        snprintf(cmd, sizeof cmd, "curl -s -g -o /dev/null -w '%%{http_code}' 'http://[::1]:%u/metrics'",
                 metrics_http_get_port(h));
        ASSERT_EQ_INT(run(e, cmd, &out), 0);
        ASSERT_STREQ(out, "200");
        free(out);
        h = metrics_http_free(h);
        sd_event_unref(e);
}

int main(void) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        sigset_t mask;

        test_counter();
        test_gauge();
        test_histogram();
        test_escaping();
        test_validation();
        test_registry();
        test_paths();
        test_check_counts_apart();
        test_state_gauges();
        test_vfs();
        test_textfile();
        test_process();
        test_parse_listen();

        ASSERT_OK(metrics_new("0.1.0", &m));
        ASSERT_OK(metrics_observe_agent(m, "guest-ping", 0.003));
        ASSERT_OK(metrics_observe_vm_downtime_ms(m, 12));
        test_parser(m);

        /* sd_event_add_child() wants SIGCHLD blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        ASSERT_TRUE(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
        test_http(m);
        test_http_limits(m);
        test_http_ipv6(m);

        printf("test-metrics: all passed\n");
        return 0;
}
