/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What srvmctl prints: the timeline, the progress lines of a watched job and the job table,
 * checked byte for byte from job JSON as srvmd sends it. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "assert.h"
#include "format.h"
#include "json-util.h"
#include "macro.h"

static json_object *parse(const char *s) {
        json_object *j = json_tokener_parse(s);

        ASSERT_NOT_NULL(j);
        return j;
}

static void test_timeline(void) {
        char *none = NULL;
        static const struct {
                const char *json;
                const char *text;
        } cases[] = {
                {
                        /* A job that went through: absolute start times become relative. */
                        "{\"id\":3,\"domain\":\"web1\",\"source_uri\":\"qemu:///system\","
                        "\"destination_uri\":\"qemu+ssh://b/system\",\"result\":\"succeeded\",\"error\":null,"
                        "\"phases\":["
                        "{\"name\":\"preflight\",\"start_us\":5000000,\"duration_us\":12345,\"result\":\"ok\"},"
                        "{\"name\":\"failover\",\"start_us\":5012345,\"duration_us\":300000,\"result\":\"ok\"},"
                        "{\"name\":\"migrate\",\"start_us\":5312345,\"duration_us\":2500999,\"result\":\"ok\"}],"
                        "\"vm_downtime_ms\":172,\"standby_ms\":3420,"
                        "\"precopy\":{\"start_max_downtime_ms\":20,\"max_downtime_ms\":220,\"iterations\":11,"
                        "\"dirty_rate_bytes_s_max\":20971520,\"bandwidth_bytes_s_max\":33554432,\"pause_ms\":172,"
                        "\"raises\":[{\"iteration\":5,\"from_ms\":20,\"to_ms\":120},"
                        "{\"iteration\":10,\"from_ms\":120,\"to_ms\":220}]}}",
                        "Job:       3\n"
                        "Domain:    web1\n"
                        "Migration: qemu:///system -> qemu+ssh://b/system\n"
                        "Result:    succeeded\n"
                        "\n"
                        "PHASE         START  DURATION  RESULT\n"
                        "preflight    0.000s    0.012s  ok\n"
                        "failover     0.012s    0.300s  ok\n"
                        "migrate      0.312s    2.500s  ok\n"
                        "\n"
                        "VM downtime: 172 ms\n"
                        "On virtio (standby): 3420 ms\n"
                        "Pre-copy: 11 iterations, max downtime 20 ms at the start, 220 ms at the end\n"
                        "  raised 20 -> 120 ms at iteration 5\n"
                        "  raised 120 -> 220 ms at iteration 10\n"
                        "  dirty rate up to 20.0 MiB/s, bandwidth up to 32.0 MiB/s\n",
                },
                {
                        /* Failed in a rollback phase: the wider name widens the column; the
                         * error is shown; unknown downtimes say so. */
                        "{\"id\":12,\"domain\":\"db\",\"source_uri\":\"qemu:///system\","
                        "\"destination_uri\":\"qemu+tcp://c/system\",\"result\":\"rolled-back\","
                        "\"error\":\"Domain 'db': migrate failed: no route to host.\","
                        "\"phases\":["
                        "{\"name\":\"unplug\",\"start_us\":100,\"duration_us\":150000,\"result\":\"ok\"},"
                        "{\"name\":\"rollback-failback\",\"start_us\":150100,\"duration_us\":61000000,\"result\":\"timeout\"}],"
                        "\"vm_downtime_ms\":null,\"standby_ms\":null,\"precopy\":null}",
                        "Job:       12\n"
                        "Domain:    db\n"
                        "Migration: qemu:///system -> qemu+tcp://c/system\n"
                        "Result:    rolled-back\n"
                        "Error:     Domain 'db': migrate failed: no route to host.\n"
                        "\n"
                        "PHASE                 START  DURATION  RESULT\n"
                        "unplug               0.000s    0.150s  ok\n"
                        "rollback-failback    0.150s   61.000s  timeout\n"
                        "\n"
                        "VM downtime: n/a\n"
                        "On virtio (standby): n/a\n",
                },
                {
                        /* Nothing started; missing and mistyped fields do not break it. */
                        "{\"id\":\"x\",\"domain\":\"vm\",\"result\":\"running\",\"error\":\"\",\"phases\":[]}",
                        "Job:       ?\n"
                        "Domain:    vm\n"
                        "Migration: n/a -> n/a\n"
                        "Result:    running\n"
                        "\n"
                        "No phase has started yet.\n"
                        "\n"
                        "VM downtime: n/a\n"
                        "On virtio (standby): n/a\n",
                },
                {
                        /* A phase without times. */
                        "{\"id\":1,\"domain\":\"vm\",\"source_uri\":\"a\",\"destination_uri\":\"b\","
                        "\"result\":\"running\",\"phases\":[{\"name\":\"preflight\",\"result\":\"running\"}],"
                        "\"vm_downtime_ms\":0,\"standby_ms\":0}",
                        "Job:       1\n"
                        "Domain:    vm\n"
                        "Migration: a -> b\n"
                        "Result:    running\n"
                        "\n"
                        "PHASE         START  DURATION  RESULT\n"
                        "preflight         -         -  running\n"
                        "\n"
                        "VM downtime: 0 ms\n"
                        "On virtio (standby): 0 ms\n",
                },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) json_object *j = parse(cases[i].json);
                _cleanup_free_ char *text = NULL;

                ASSERT_OK(format_timeline(j, &text));
                ASSERT_STREQ(text, cases[i].text);
        }

        ASSERT_ERR(format_timeline(NULL, &none), EINVAL);
        ASSERT_NULL(none);
}

/* The same job seen four times while it runs, then a stale copy: every start and end is
 * printed exactly once, in order. */
static void test_progress(void) {
        static const struct {
                const char *json;
                const char *lines;
        } steps[] = {
                {
                        "{\"result\":\"running\",\"phases\":[]}",
                        "",
                },
                {
                        "{\"result\":\"running\",\"phases\":["
                        "{\"name\":\"preflight\",\"start_us\":1000,\"duration_us\":5,\"result\":\"running\"}]}",
                        "   0.000s  preflight         started\n",
                },
                {
                        /* Two steps at once: preflight ended, failover started and ended,
                         * unplug started. */
                        "{\"result\":\"running\",\"phases\":["
                        "{\"name\":\"preflight\",\"start_us\":1000,\"duration_us\":20000,\"result\":\"ok\"},"
                        "{\"name\":\"failover\",\"start_us\":21000,\"duration_us\":280000,\"result\":\"ok\"},"
                        "{\"name\":\"unplug\",\"start_us\":301000,\"duration_us\":1,\"result\":\"running\"}]}",
                        "   0.020s  preflight         ok after 0.020s\n"
                        "   0.020s  failover          started\n"
                        "   0.300s  failover          ok after 0.280s\n"
                        "   0.300s  unplug            started\n",
                },
                {
                        /* A stale copy (a queued signal from before): nothing new. */
                        "{\"result\":\"running\",\"phases\":["
                        "{\"name\":\"preflight\",\"start_us\":1000,\"duration_us\":5,\"result\":\"running\"}]}",
                        "",
                },
                {
                        "{\"result\":\"rolled-back\",\"phases\":["
                        "{\"name\":\"preflight\",\"start_us\":1000,\"duration_us\":20000,\"result\":\"ok\"},"
                        "{\"name\":\"failover\",\"start_us\":21000,\"duration_us\":280000,\"result\":\"ok\"},"
                        "{\"name\":\"unplug\",\"start_us\":301000,\"duration_us\":5000000,\"result\":\"timeout\"},"
                        "{\"name\":\"rollback-failback\",\"start_us\":5301000,\"duration_us\":300000,\"result\":\"ok\"}]}",
                        "   5.300s  unplug            timeout after 5.000s\n"
                        "   5.300s  rollback-failback started\n"
                        "   5.600s  rollback-failback ok after 0.300s\n",
                },
        };
        PhaseProgress progress = {};

        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                _cleanup_(json_object_putp) json_object *j = parse(steps[i].json);
                _cleanup_free_ char *text = NULL;

                ASSERT_OK(format_progress(j, &progress, &text));
                ASSERT_STREQ(text, steps[i].lines);
        }
        ASSERT_EQ_INT(progress.n_started, 4);
        ASSERT_EQ_INT(progress.n_ended, 4);
}

static void test_jobs(void) {
        static const JobRow rows[] = {
                { 3, "web1", "failback", "succeeded", "/org/srvm/srvm1/job/3", "2026-12-02T19:45:01Z" },
                { 12, "database", "", "running", "/org/srvm/srvm1/job/12", NULL },
        };
        _cleanup_free_ char *table = NULL, *one = NULL, *none = NULL, *json = NULL, *empty = NULL;
        char buf[64];

        /* The start in local time: UTC here. */
        ASSERT_TRUE(setenv("TZ", "UTC", 1) == 0);
        tzset();
        ASSERT_OK(format_started_at("2026-12-02T19:45:01Z", buf, sizeof buf));
        ASSERT_STREQ(buf, "2026-12-02 19:45:01 UTC");
        ASSERT_ERR(format_started_at("2026-12-02 19:45:01", buf, sizeof buf), EINVAL);
        ASSERT_ERR(format_started_at("2026-12-02T19:45:01Zjunk", buf, sizeof buf), EINVAL);
        ASSERT_ERR(format_started_at(NULL, buf, sizeof buf), EINVAL);

        ASSERT_OK(format_jobs_table(rows, ELEMENTSOF(rows), &table));
        ASSERT_STREQ(table,
                     "ID DOMAIN   STARTED                 PHASE    RESULT\n"
                     " 3 web1     2026-12-02 19:45:01 UTC failback succeeded\n"
                     "12 database -                       -        running\n"
                     "\n"
                     "2 jobs listed.\n");

        ASSERT_OK(format_jobs_table(rows, 1, &one));
        ASSERT_STREQ(one,
                     "ID DOMAIN STARTED                 PHASE    RESULT\n"
                     " 3 web1   2026-12-02 19:45:01 UTC failback succeeded\n"
                     "\n"
                     "1 job listed.\n");

        ASSERT_OK(format_jobs_table(NULL, 0, &none));
        ASSERT_STREQ(none, "No jobs.\n");

        ASSERT_OK(format_jobs_json(rows, ELEMENTSOF(rows), &json));
        ASSERT_STREQ(json,
                     "[{\"id\":3,\"domain\":\"web1\",\"phase\":\"failback\",\"result\":\"succeeded\","
                     "\"path\":\"/org/srvm/srvm1/job/3\",\"started_at\":\"2026-12-02T19:45:01Z\"},"
                     "{\"id\":12,\"domain\":\"database\",\"phase\":null,\"result\":\"running\","
                     "\"path\":\"/org/srvm/srvm1/job/12\",\"started_at\":null}]");

        ASSERT_OK(format_jobs_json(NULL, 0, &empty));
        ASSERT_STREQ(empty, "[]");
}

static void test_status_line(void) {
        static const char *precopy =
                "{\"phase\":\"migrate\",\"progress\":{\"iteration\":3,\"data_total_bytes\":4294967296,"
                "\"data_remaining_bytes\":1073741824,\"dirty_rate_bytes_s\":12582912}}";
        static const struct {
                const char *json;
                int64_t elapsed_us;
                unsigned columns;
                const char *text;
        } cases[] = {
                /* Before pre-copy: the phase and the time only. */
                { "{\"phase\":\"preflight\",\"progress\":null}", 12345, 80,
                  "preflight            0.012s" },
                /* Unknown elapsed time: left out. */
                { "{\"phase\":\"failover\"}", -1, 0, "failover         " },
                /* Pre-copy on a wide terminal: a bar of 20 cells, 75 % sent. */
                { NULL, 2500000, 200,
                  "migrate              2.500s  iteration 3  [###############-----]  75%  1.0 GiB of 4.0 GiB left  dirty 12.0 MiB/s" },
                /* 105 columns: the bar narrows to 10. */
                { NULL, 2500000, 105,
                  "migrate              2.500s  iteration 3  [#######---]  75%  1.0 GiB of 4.0 GiB left  dirty 12.0 MiB/s" },
                /* 90 columns: no bar. */
                { NULL, 2500000, 90,
                  "migrate              2.500s  iteration 3  75%  1.0 GiB of 4.0 GiB left  dirty 12.0 MiB/s" },
                /* Narrower: the dirty rate goes (80 columns), then the amounts, then the padding. */
                { NULL, 2500000, 80,
                  "migrate              2.500s  iteration 3  75%  1.0 GiB of 4.0 GiB left" },
                { NULL, 2500000, 50, "migrate              2.500s  iteration 3  75%" },
                { NULL, 2500000, 40, "migrate 2.500s  iteration 3  75%" },
                { NULL, 2500000, 30, "migrate 2.500s" },
                /* Narrower than the shortest form: cut. */
                { NULL, 2500000, 8, "migrate" },
                /* Piped: the whole line, no bar. */
                { "{\"phase\":\"migrate\",\"progress\":{\"iteration\":1,\"data_total_bytes\":1000,"
                  "\"data_remaining_bytes\":1000}}", 0, 0,
                  "migrate              0.000s  iteration 1   0%  1000 B of 1000 B left" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) json_object *j = parse(cases[i].json ? cases[i].json : precopy);
                _cleanup_free_ char *text = NULL;

                ASSERT_OK(format_status_line(j, cases[i].elapsed_us, cases[i].columns, &text));
                ASSERT_STREQ(text, cases[i].text);
        }
}

/* On any terminal from 1 to 300 columns, whatever the figures, the line never reaches the
 * last column, so a redraw never leaves a row behind. */
static void test_status_line_fits(void) {
        static const char *jobs[] = {
                "{\"phase\":\"migrate\",\"progress\":{\"iteration\":4294967295,"
                "\"data_total_bytes\":9223372036854775807,\"data_remaining_bytes\":1,"
                "\"dirty_rate_bytes_s\":9223372036854775807}}",
                "{\"phase\":\"rollback-failback\"}",
                "{\"phase\":\"migrate\",\"progress\":{\"iteration\":12,\"data_total_bytes\":17179869184,"
                "\"data_remaining_bytes\":123456789,\"dirty_rate_bytes_s\":999999999}}",
        };

        for (size_t k = 0; k < ELEMENTSOF(jobs); k++) {
                _cleanup_(json_object_putp) json_object *j = parse(jobs[k]);

                for (unsigned columns = 1; columns <= 300; columns++) {
                        _cleanup_free_ char *text = NULL;

                        ASSERT_OK(format_status_line(j, 86399999999, columns, &text));
                        ASSERT_TRUE(strlen(text) < columns);
                        ASSERT_NULL(strchr(text, '\n'));
                }
        }
}

static void test_elapsed(void) {
        static const struct {
                const char *json;
                int64_t elapsed_us;
        } cases[] = {
                /* The latest end counts, the running phase's time so far included. */
                { "{\"phases\":[{\"start_us\":1000,\"duration_us\":20000,\"result\":\"ok\"},"
                  "{\"start_us\":21000,\"duration_us\":4000000,\"result\":\"running\"}]}", 4020000 },
                { "{\"phases\":[{\"start_us\":5000000,\"duration_us\":0}]}", 0 },
                { "{\"phases\":[]}", -1 },
                { "{\"phases\":[{\"name\":\"preflight\"}]}", -1 },
                { "{}", -1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) json_object *j = parse(cases[i].json);

                ASSERT_TRUE(format_job_elapsed_us(j) == cases[i].elapsed_us);
        }
        ASSERT_TRUE(format_job_elapsed_us(NULL) == -1);
}

/* When and by whom, in local time (UTC here), when srvmd says so. */
static void test_started_line(void) {
        static const struct {
                const char *json;
                const char *line;
        } cases[] = {
                { "{\"started_at\":\"2026-12-02T19:45:01Z\",\"requested_by\":{\"uid\":0,\"user\":\"root\",\"via\":\"bus\"}}",
                  "Started:   2026-12-02 19:45:01 UTC by root (uid 0)\n" },
                { "{\"started_at\":\"2026-12-02T19:45:01Z\",\"requested_by\":{\"uid\":70000,\"user\":null,\"via\":\"bus\"}}",
                  "Started:   2026-12-02 19:45:01 UTC by ? (uid 70000)\n" },
                { "{\"started_at\":\"2026-12-02T19:45:01Z\",\"requested_by\":{\"uid\":null,\"user\":null,\"via\":\"srvmd\"}}",
                  "Started:   2026-12-02 19:45:01 UTC by srvmd itself\n" },
                { "{\"started_at\":\"yesterday\"}", "Started:   yesterday\n" },
        };

        ASSERT_TRUE(setenv("TZ", "UTC", 1) == 0);
        tzset();
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) json_object *j = parse(cases[i].json);
                _cleanup_free_ char *text = NULL;

                ASSERT_OK(format_timeline(j, &text));
                ASSERT_NOT_NULL(strstr(text, cases[i].line));
                /* Right after the result line. */
                ASSERT_NOT_NULL(strstr(text, "Result:    n/a\nStarted:   "));
        }
}

static void test_events(void) {
        _cleanup_(json_object_putp) json_object *j = parse(
                "{\"id\":4,\"domain\":\"web1\",\"source_uri\":\"a\",\"destination_uri\":\"b\","
                "\"result\":\"succeeded\",\"phases\":["
                "{\"name\":\"migrate\",\"start_us\":1000000,\"duration_us\":3000000,\"result\":\"ok\"}],"
                "\"vm_downtime_ms\":170,\"standby_ms\":4000,"
                "\"events\":[{\"at_us\":2500000,\"message\":\"raised the maximum downtime to 400 ms\"},"
                "{\"message\":\"no time\"}]}");
        _cleanup_free_ char *text = NULL;

        ASSERT_OK(format_timeline(j, &text));
        ASSERT_STREQ(text,
                     "Job:       4\n"
                     "Domain:    web1\n"
                     "Migration: a -> b\n"
                     "Result:    succeeded\n"
                     "\n"
                     "PHASE       START  DURATION  RESULT\n"
                     "migrate    0.000s    3.000s  ok\n"
                     "\n"
                     "VM downtime: 170 ms\n"
                     "On virtio (standby): 4000 ms\n"
                     "\n"
                     "Events:\n"
                     "   1.500s  raised the maximum downtime to 400 ms\n"
                     "        -  no time\n");
}

static void test_json_mode(void) {
        _cleanup_free_ char *s = NULL, *p = NULL, *n = NULL, *none = NULL;

        ASSERT_TRUE(json_mode_from_string("pretty") == JSON_MODE_PRETTY);
        ASSERT_TRUE(json_mode_from_string("short") == JSON_MODE_SHORT);
        ASSERT_TRUE(json_mode_from_string("off") == JSON_MODE_OFF);
        ASSERT_TRUE(json_mode_from_string("long") == _JSON_MODE_INVALID);
        ASSERT_TRUE(json_mode_from_string(NULL) == _JSON_MODE_INVALID);
        ASSERT_STREQ(json_mode_to_string(JSON_MODE_SHORT), "short");

        ASSERT_OK(format_json("{ \"a\": [1, 2], \"p\": \"/x/y\" }", JSON_MODE_SHORT, &s));
        ASSERT_STREQ(s, "{\"a\":[1,2],\"p\":\"/x/y\"}\n");
        ASSERT_OK(format_json("{\"a\":[1,2]}", JSON_MODE_PRETTY, &p));
        ASSERT_STREQ(p, "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n");
        ASSERT_OK(format_json("null", JSON_MODE_SHORT, &n));
        ASSERT_STREQ(n, "null\n");
        ASSERT_ERR(format_json("{\"a\":", JSON_MODE_SHORT, &none), EBADMSG);
        ASSERT_ERR(format_json("{}", JSON_MODE_OFF, &none), EINVAL);
        ASSERT_NULL(none);
}

int main(void) {
        test_timeline();
        test_progress();
        test_jobs();
        test_status_line();
        test_status_line_fits();
        test_elapsed();
        test_events();
        test_started_line();
        test_json_mode();
        return 0;
}
