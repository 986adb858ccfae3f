/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srvmctl evacuate's bookkeeping: which domains it takes, how many jobs run at once as jobs
 * end in any order, what a refusal and an interruption mean, and the lines and JSON it
 * prints; and the `srvmctl domains` table. */
#include <stdio.h>

#include "assert.h"
#include "evacuate.h"
#include "format.h"
#include "json-util.h"
#include "macro.h"

static json_object *parse(const char *s) {
        json_object *j = json_tokener_parse(s);

        ASSERT_NOT_NULL(j);
        return j;
}

static void test_parse_concurrency(void) {
        unsigned n = 0;

        ASSERT_OK(evac_parse_concurrency("1", &n));
        ASSERT_EQ_INT(n, 1);
        ASSERT_OK(evac_parse_concurrency("64", &n));
        ASSERT_EQ_INT(n, 64);
        n = 7;
        ASSERT_EQ_INT(evac_parse_concurrency("0", &n), -EINVAL);
        ASSERT_EQ_INT(evac_parse_concurrency("65", &n), -EINVAL);
        ASSERT_EQ_INT(evac_parse_concurrency("-1", &n), -EINVAL);
        ASSERT_EQ_INT(evac_parse_concurrency("+2", &n), -EINVAL);
        ASSERT_EQ_INT(evac_parse_concurrency(" 2", &n), -EINVAL);
        ASSERT_EQ_INT(evac_parse_concurrency("2x", &n), -EINVAL);
        ASSERT_EQ_INT(evac_parse_concurrency("", &n), -EINVAL);
        ASSERT_EQ_INT(evac_parse_concurrency("99999999999999999999", &n), -EINVAL);
        ASSERT_EQ_INT(n, 7);
}

static void test_skip_reason(void) {
        char buf[256];

        ASSERT_NULL(evac_skip_reason("running", "web", "ua-vf0", "", buf, sizeof buf));
        ASSERT_STREQ(evac_skip_reason("paused", "web", "ua-vf0", "", buf, sizeof buf), "it is paused, not running");
        ASSERT_STREQ(evac_skip_reason("", "web", "ua-vf0", "", buf, sizeof buf),
                     "it is in no known state, not running");
        ASSERT_STREQ(evac_skip_reason("running", "", "", "no policy resolves for it", buf, sizeof buf),
                     "no policy resolves for it");
        ASSERT_STREQ(evac_skip_reason("running", "", "", "", buf, sizeof buf), "no policy resolves for it");
        ASSERT_STREQ(evac_skip_reason("running", "web", "", "the domain has no interface ua-vf0", buf, sizeof buf),
                     "the domain has no interface ua-vf0");
        ASSERT_STREQ(evac_skip_reason("running", "web", "", "", buf, sizeof buf), "it has no VF");
}

/* Five domains, two at a time; jobs end out of order; one is refused at the start. */
static void test_schedule(void) {
        Evacuation e;
        EvacItem *i, *a, *b, *c, *d;
        const char *names[] = { "a", "b", "c", "d", "e" };

        evac_init(&e, 2);
        for (size_t k = 0; k < ELEMENTSOF(names); k++)
                ASSERT_OK(evac_add(&e, names[k]));
        ASSERT_TRUE(!evac_is_over(&e));

        a = evac_next(&e);
        ASSERT_STREQ(a->domain, "a");
        evac_started(&e, a, 10);
        b = evac_next(&e);
        ASSERT_STREQ(b->domain, "b");
        evac_started(&e, b, 11);
        ASSERT_NULL(evac_next(&e)); /* two running */
        ASSERT_EQ_INT(e.n_running, 2);

        /* Not ours, or not running: nothing changes. */
        ASSERT_NULL(evac_find_running(&e, 99));

        /* b ends first; c may start. */
        i = evac_find_running(&e, 11);
        ASSERT_TRUE(i == b);
        ASSERT_OK(evac_finished(&e, i, "done", parse("{\"id\":11,\"result\":\"succeeded\",\"vm_downtime_ms\":150,"
                                                     "\"phases\":[{\"start_us\":1000000,\"duration_us\":500000},"
                                                     "{\"start_us\":1500000,\"duration_us\":2000000}]}")));
        ASSERT_NULL(evac_find_running(&e, 11)); /* a repeated signal finds nothing */
        ASSERT_EQ_INT(b->downtime_ms, 150);
        ASSERT_EQ_INT(b->wall_us, 2500000);
        c = evac_next(&e);
        ASSERT_STREQ(c->domain, "c");
        /* srvmd refuses c: it counts as done and failed, and d may start in its place. */
        ASSERT_OK(evac_start_failed(&e, c, "Domain 'c' already has migration job 4 running."));
        d = evac_next(&e);
        ASSERT_STREQ(d->domain, "d");
        evac_started(&e, d, 12);
        ASSERT_NULL(evac_next(&e));

        /* a fails; without its JSON the signal's result counts. */
        ASSERT_OK(evac_finished(&e, evac_find_running(&e, 10), "rolled-back", NULL));
        ASSERT_STREQ(a->result, "rolled-back");
        ASSERT_EQ_INT(a->downtime_ms, -1);
        ASSERT_EQ_INT(a->wall_us, -1);
        i = evac_next(&e);
        ASSERT_STREQ(i->domain, "e");
        evac_started(&e, i, 13);
        ASSERT_NULL(evac_next(&e)); /* none left */
        ASSERT_TRUE(!evac_is_over(&e));

        ASSERT_OK(evac_finished(&e, evac_find_running(&e, 12), NULL, parse("{\"result\":\"succeeded\"}")));
        ASSERT_OK(evac_finished(&e, evac_find_running(&e, 13), NULL,
                                parse("{\"result\":\"failed\",\"error\":\"Domain 'e': no VF.\"}")));
        ASSERT_TRUE(evac_is_over(&e));
        ASSERT_EQ_INT(e.n_running, 0);
        ASSERT_EQ_INT(evac_count(&e, EVAC_DONE), 5);
        ASSERT_EQ_INT(evac_count_succeeded(&e), 2);
        ASSERT_EQ_INT(evac_exit_code(&e), 1);

        {
                _cleanup_free_ char *line = NULL;
                ASSERT_OK(evac_format_finished(b, &line));
                ASSERT_STREQ(line, "b: job 11 succeeded, VM downtime 150 ms, wall time 2.500 s\n");
        }
        {
                _cleanup_free_ char *line = NULL;
                ASSERT_OK(evac_format_finished(a, &line));
                ASSERT_STREQ(line, "a: job 10 rolled-back, VM downtime n/a, wall time n/a\n");
        }
        {
                _cleanup_free_ char *line = NULL;
                ASSERT_OK(evac_format_finished(c, &line));
                ASSERT_STREQ(line, "c: not started: Domain 'c' already has migration job 4 running.\n");
        }
        {
                _cleanup_free_ char *line = NULL;
                ASSERT_OK(evac_format_finished(&e.items[4], &line));
                ASSERT_STREQ(line, "e: job 13 failed, VM downtime n/a, wall time n/a: Domain 'e': no VF.\n");
        }
        {
                _cleanup_free_ char *line = NULL;
                ASSERT_OK(evac_format_started(d, &line));
                ASSERT_STREQ(line, "d: job 12 started\n");
        }
        {
                _cleanup_free_ char *text = NULL;
                ASSERT_OK(evac_format_summary(&e, &text));
                ASSERT_STREQ(text, "2 of 5 domains evacuated; 3 failed: a (job 10, rolled-back), c (not started), "
                                   "e (job 13, failed).\n");
        }
        {
                _cleanup_(json_object_putp) json_object *j = NULL;
                ASSERT_OK(evac_to_json(&e, &j));
                ASSERT_STREQ(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                             "[{\"id\":10,\"domain\":\"a\",\"result\":\"rolled-back\",\"error\":null},"
                             "{\"id\":11,\"result\":\"succeeded\",\"vm_downtime_ms\":150,"
                             "\"phases\":[{\"start_us\":1000000,\"duration_us\":500000},"
                             "{\"start_us\":1500000,\"duration_us\":2000000}]},"
                             "{\"id\":null,\"domain\":\"c\",\"result\":\"failed\","
                             "\"error\":\"Domain 'c' already has migration job 4 running.\"},"
                             "{\"result\":\"succeeded\"},"
                             "{\"result\":\"failed\",\"error\":\"Domain 'e': no VF.\"}]");
        }
        evac_done(&e);
}

/* One at a time, all succeed: exit 0; an interruption stops the starts and leaves the
 * running job to srvmd. */
static void test_serial_and_stop(void) {
        Evacuation e;
        EvacItem *i;

        evac_init(&e, 0); /* 0: the default */
        ASSERT_EQ_INT(e.concurrency, EVAC_CONCURRENCY_DEFAULT);
        ASSERT_OK(evac_add(&e, "x"));
        ASSERT_OK(evac_add(&e, "y"));
        ASSERT_OK(evac_add(&e, "z"));
        for (uint32_t id = 1; id <= 2; id++) {
                i = evac_next(&e);
                ASSERT_NOT_NULL(i);
                evac_started(&e, i, id);
                ASSERT_NULL(evac_next(&e));
                ASSERT_OK(evac_finished(&e, evac_find_running(&e, id), "succeeded", NULL));
        }
        ASSERT_EQ_INT(evac_exit_code(&e), 1); /* z is not done */
        i = evac_next(&e);
        evac_started(&e, i, 3);
        e.stopped = true;
        ASSERT_NULL(evac_next(&e));
        ASSERT_TRUE(!evac_is_over(&e)); /* z still runs */
        {
                _cleanup_free_ char *text = NULL;
                ASSERT_OK(evac_format_summary(&e, &text));
                ASSERT_STREQ(text, "2 of 3 domains evacuated; 1 still running.\n");
        }
        ASSERT_OK(evac_finished(&e, evac_find_running(&e, 3), "succeeded", NULL));
        ASSERT_TRUE(evac_is_over(&e));
        ASSERT_EQ_INT(evac_exit_code(&e), 0);
        {
                _cleanup_free_ char *text = NULL;
                ASSERT_OK(evac_format_summary(&e, &text));
                ASSERT_STREQ(text, "3 of 3 domains evacuated.\n");
                e.elapsed_us = 61234567;
                free(text);
                ASSERT_OK(evac_format_summary(&e, &text));
                ASSERT_STREQ(text, "3 of 3 domains evacuated in 61.234 s.\n");
        }
        evac_done(&e);

        /* Stopped before the second started. */
        evac_init(&e, 1);
        ASSERT_OK(evac_add(&e, "x"));
        ASSERT_OK(evac_add(&e, "y"));
        evac_started(&e, evac_next(&e), 1);
        ASSERT_OK(evac_finished(&e, evac_find_running(&e, 1), "succeeded", NULL));
        e.stopped = true;
        ASSERT_TRUE(evac_is_over(&e));
        ASSERT_EQ_INT(evac_exit_code(&e), 1);
        {
                _cleanup_free_ char *text = NULL;
                ASSERT_OK(evac_format_summary(&e, &text));
                ASSERT_STREQ(text, "1 of 2 domains evacuated; 1 not started.\n");
        }
        evac_done(&e);
}

static void test_domains_table(void) {
        const DomainRow rows[] = {
                { "web-1", "running", "web", "ua-vf0", "" },
                { "db", "paused", "default", "", "the domain has no VF interface" },
        };
        {
                _cleanup_free_ char *text = NULL;
                ASSERT_OK(format_domains_table(rows, ELEMENTSOF(rows), &text));
                ASSERT_STREQ(text,
                             "DOMAIN STATE   POLICY  VF     NOTE\n"
                             "web-1  running web     ua-vf0\n"
                             "db     paused  default -      the domain has no VF interface\n"
                             "\n"
                             "2 domains listed.\n");
        }
        {
                _cleanup_free_ char *text = NULL;
                ASSERT_OK(format_domains_table(NULL, 0, &text));
                ASSERT_STREQ(text, "No active domain on this host.\n");
        }
        {
                _cleanup_free_ char *text = NULL;
                ASSERT_OK(format_domains_json(rows, ELEMENTSOF(rows), &text));
                ASSERT_STREQ(text,
                             "[{\"name\":\"web-1\",\"state\":\"running\",\"policy\":\"web\",\"vf\":\"ua-vf0\",\"note\":null},"
                             "{\"name\":\"db\",\"state\":\"paused\",\"policy\":\"default\",\"vf\":null,"
                             "\"note\":\"the domain has no VF interface\"}]");
        }
}

int main(void) {
        test_parse_concurrency();
        test_skip_reason();
        test_schedule();
        test_serial_and_stop();
        test_domains_table();
        return 0;
}
