/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration state machine against a scripted fake backend: every phase's success, every
 * phase's failure and timeout, cancel in every phase, and the job's JSON. The fake runs on a
 * fake clock; each action takes a fixed time and ends as the test's script says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assert.h"
#include "json-util.h"
#include "migration.h"
#include "policy.h"
#include "preflight.h"
#include "utf8.h"

typedef enum Outcome {
        OUT_OK,      /* the action succeeds */
        OUT_FAIL,    /* the action reports an error */
        OUT_HANG,    /* the action never ends until cancelled, then fails */
        OUT_STUCK,   /* the action never ends at all */
        OUT_LATE_OK, /* the action overruns its budget, then succeeds when asked to stop */
        OUT_NOSTART, /* start_action itself fails */
} Outcome;

typedef struct Fake {
        usec_t now;
        usec_t timer;           /* USEC_INFINITY: disarmed */
        bool pending;           /* an action was started and has not been answered */
        Action action;
        Side side;
        unsigned cancels;       /* cancel_action calls */
        unsigned changes;       /* changed() calls */
        usec_t changed_cost;    /* fake time each changed() call takes: srvmd's own work */
        Outcome script[_PHASE_MAX];
        bool unplug_by_event;   /* detach returns 0 and DEVICE_REMOVED follows */
        bool unplug_never;      /* detach returns 0 and no event ever comes */
        const char *fail_message; /* what OUT_FAIL says; NULL: "it broke" */
        char log[512];          /* "action@side " for each start */
        char controls[256];     /* "control=value " for each control() call */
        int control_r;          /* what control() returns */
        const PolicySet *policies; /* what policies() gives */
        unsigned checks;        /* check() calls */
        unsigned migrate_failures; /* the first this many migrate actions fail, whatever the script */
        bool migrate_progress;  /* ... after pre-copy sent some memory */
} Fake;

static int fake_start(void *userdata, Migration *m, Action a, Side side) {
        Fake *f = userdata;
        char buf[64];

        if (f->script[migration_get_phase(m)] == OUT_NOSTART)
                return -EIO;
        snprintf(buf, sizeof buf, "%s@%s ", action_to_string(a), side_to_string(side));
        strncat(f->log, buf, sizeof f->log - strlen(f->log) - 1);
        f->pending = true;
        f->action = a;
        f->side = side;
        return 0;
}

static void fake_cancel(void *userdata, Migration *m, Action a) {
        Fake *f = userdata;

        (void) m;
        ASSERT_TRUE(f->pending);
        ASSERT_EQ_INT(a, f->action);
        f->cancels++;
}

static int fake_arm(void *userdata, Migration *m, usec_t usec) {
        Fake *f = userdata;

        (void) m;
        f->timer = usec;
        return 0;
}

static usec_t fake_now(void *userdata) {
        return ((Fake *) userdata)->now;
}

static void fake_changed(void *userdata, Migration *m) {
        Fake *f = userdata;

        (void) m;
        f->changes++;
        f->now += f->changed_cost;
}

static int fake_control(void *userdata, Migration *m, MigrationControl c, uint64_t value) {
        Fake *f = userdata;
        char buf[64];

        ASSERT_EQ_INT(migration_get_phase(m), PHASE_MIGRATE);
        ASSERT_TRUE(f->pending);
        ASSERT_EQ_INT(f->action, ACTION_MIGRATE);
        if (f->control_r < 0)
                return f->control_r;
        snprintf(buf, sizeof buf, "%s=%llu ", migration_control_to_string(c), (unsigned long long) value);
        strncat(f->controls, buf, sizeof f->controls - strlen(f->controls) - 1);
        return 0;
}

static const PolicySet *fake_policies(void *userdata) {
        return ((Fake *) userdata)->policies;
}

static int fake_check(void *userdata, Migration *m) {
        Fake *f = userdata;

        ASSERT_EQ_INT(migration_get_phase(m), PHASE_PREFLIGHT);
        ASSERT_TRUE(f->pending);
        f->checks++;
        return 0;
}

/* A backend whose preflight ends with reading the domain: the job's decision is final. */
static const MigrationBackendOps fake_ops_no_checks = {
        .start_action = fake_start,
        .cancel_action = fake_cancel,
        .arm_timer = fake_arm,
        .now = fake_now,
        .changed = fake_changed,
        .policies = fake_policies,
};

static const MigrationBackendOps fake_ops = {
        .start_action = fake_start,
        .cancel_action = fake_cancel,
        .arm_timer = fake_arm,
        .now = fake_now,
        .changed = fake_changed,
        .control = fake_control,
        .policies = fake_policies,
        .check = fake_check,
};

static Migration *job_new(Fake *f) {
        MigrationParams p = {
                .domain = "vm1",
                .source_uri = "qemu:///system",
                .destination_uri = "qemu+ssh://b/system",
                .migrate_uri = "tcp://127.0.0.1:49152",
        };
        Migration *m = NULL;

        *f = (Fake) { .now = 1000 * USEC_PER_SEC, .timer = USEC_INFINITY };
        ASSERT_OK(migration_new(7, &p, &fake_ops, f, &m));
        ASSERT_NOT_NULL(m);
        return m;
}

/* Let time pass to the timer and fire it. */
static void fire_timer(Fake *f, Migration *m) {
        ASSERT_TRUE(f->timer != USEC_INFINITY);
        ASSERT_TRUE(f->timer >= f->now);
        f->now = f->timer;
        migration_timer_elapsed(m);
}

/* Answer the pending action as the script says, each taking 100 ms of fake time. */
static void step(Fake *f, Migration *m) {
        Phase p = migration_get_phase(m);
        Action a = f->action;

        ASSERT_TRUE(f->pending);
        f->now += 100 * USEC_PER_MSEC;

        if (a == ACTION_MIGRATE && f->migrate_failures > 0) {
                f->migrate_failures--;
                if (f->migrate_progress)
                        ASSERT_OK(migration_set_progress(m, &(MigrationProgress) {
                                                                 .iteration = 1,
                                                                 .data_total_bytes = 1 << 28,
                                                                 .data_processed_bytes = 1 << 20,
                                                         }));
                f->pending = false;
                migration_action_done(m, a, -EIO, f->fail_message ? f->fail_message : "it broke");
                return;
        }

        switch (f->script[p]) {
        case OUT_OK:
                f->pending = false;
                if (a == ACTION_PREFLIGHT && !migration_is_arrival(m)) /* an arrival knows its VF */
                        ASSERT_OK(migration_set_vf(m, "ua-vf0", "52:54:00:00:00:02", "<interface/>"));
                if (a == ACTION_UNPLUG && f->unplug_never) {
                        migration_action_done(m, a, 0, NULL);
                        fire_timer(f, m);
                } else if (a == ACTION_UNPLUG && f->unplug_by_event) {
                        migration_action_done(m, a, 0, NULL);
                        ASSERT_EQ_INT(migration_get_phase(m), PHASE_UNPLUG); /* still waiting */
                        migration_device_removed(m, "ua-other");
                        ASSERT_EQ_INT(migration_get_phase(m), PHASE_UNPLUG); /* not our VF */
                        f->now += 50 * USEC_PER_MSEC;
                        migration_device_removed(m, "ua-vf0");
                } else
                        migration_action_done(m, a, a == ACTION_UNPLUG ? 1 : 0, NULL);
                return;
        case OUT_FAIL:
                f->pending = false;
                migration_action_done(m, a, -EIO, f->fail_message ? f->fail_message : "it broke");
                return;
        case OUT_HANG:
                fire_timer(f, m);
                ASSERT_EQ_INT(f->cancels, 1);
                f->pending = false;
                migration_action_done(m, a, -ECANCELED, "aborted");
                return;
        case OUT_STUCK:
                fire_timer(f, m); /* budget: asked to stop */
                fire_timer(f, m); /* grace: given up */
                f->pending = false;
                migration_action_done(m, a, 0, NULL); /* far too late: ignored */
                return;
        case OUT_LATE_OK:
                fire_timer(f, m);
                f->pending = false;
                migration_action_done(m, a, 0, NULL);
                return;
        case OUT_NOSTART:
                break;
        }
        ASSERT_TRUE(false);
}

static void run(Fake *f, Migration *m) {
        ASSERT_OK(migration_start(m));
        for (unsigned i = 0; !migration_is_finished(m); i++) {
                ASSERT_TRUE(i < 32);
                step(f, m);
        }
        ASSERT_TRUE(f->timer == USEC_INFINITY); /* a finished job leaves no timer armed */
}

static json_object *job_json(Migration *m) {
        json_object *o = NULL;

        ASSERT_OK(migration_build_json(m, &o));
        ASSERT_NOT_NULL(o);
        return o;
}

/* "preflight:ok failover:ok ..." from the job's JSON. */
static void phases_string(Migration *m, char *buf, size_t size) {
        _cleanup_(json_object_putp) json_object *o = job_json(m);
        json_object *phases = json_object_object_get(o, "phases");

        buf[0] = 0;
        for (size_t i = 0; i < json_object_array_length(phases); i++) {
                json_object *ph = json_object_array_get_idx(phases, i);
                char item[64];

                snprintf(item, sizeof item, "%s%s:%s", i ? " " : "",
                         json_object_get_string(json_object_object_get(ph, "name")),
                         json_object_get_string(json_object_object_get(ph, "result")));
                strncat(buf, item, size - strlen(buf) - 1);
        }
}

static const char forward[] =
        "preflight:ok failover:ok unplug:ok migrate:ok plug:ok link:ok failback:ok";

static const struct {
        const char *name;
        Phase phase; /* where the script deviates */
        Outcome outcome;
        JobResult result;
        const char *phases;
        const char *error_has; /* a piece of the error sentence, or NULL for no error */
} cases[] = {
        { "all phases succeed", PHASE_PREFLIGHT, OUT_OK, JOB_SUCCEEDED, forward, NULL },
        { "preflight fails", PHASE_PREFLIGHT, OUT_FAIL, JOB_FAILED,
          "preflight:failed", "preflight failed: it broke. Nothing was changed." },
        { "preflight cannot start", PHASE_PREFLIGHT, OUT_NOSTART, JOB_FAILED,
          "preflight:failed", "could not start the preflight action" },
        { "failover fails", PHASE_FAILOVER, OUT_FAIL, JOB_FAILED,
          "preflight:ok failover:failed", "The bond was left as it was." },
        { "failover times out", PHASE_FAILOVER, OUT_HANG, JOB_FAILED,
          "preflight:ok failover:timeout", "failover did not finish within 15 s" },
        { "unplug fails", PHASE_UNPLUG, OUT_FAIL, JOB_ROLLED_BACK,
          "preflight:ok failover:ok unplug:failed rollback-plug:ok rollback-link:ok rollback-failback:ok",
          "unplug failed: it broke. Rolled back" },
        { "migrate fails", PHASE_MIGRATE, OUT_FAIL, JOB_ROLLED_BACK,
          "preflight:ok failover:ok unplug:ok migrate:failed rollback-plug:ok rollback-link:ok rollback-failback:ok",
          "migrate failed: it broke. Rolled back: the domain stays on the source with its VF active." },
        { "migrate times out and is aborted", PHASE_MIGRATE, OUT_HANG, JOB_ROLLED_BACK,
          "preflight:ok failover:ok unplug:ok migrate:timeout rollback-plug:ok rollback-link:ok rollback-failback:ok",
          "migrate did not finish within 300 s: aborted" },
        { "migrate completes as it is aborted", PHASE_MIGRATE, OUT_LATE_OK, JOB_SUCCEEDED,
          forward, NULL },
        { "migrate never ends", PHASE_MIGRATE, OUT_STUCK, JOB_FAILED,
          "preflight:ok failover:ok unplug:ok migrate:timeout", "nor when asked to stop" },
        { "plug fails", PHASE_PLUG, OUT_FAIL, JOB_DEGRADED,
          "preflight:ok failover:ok unplug:ok migrate:ok plug:failed",
          "plug failed on the destination: it broke. The domain runs there on its virtio-net standby." },
        { "link fails", PHASE_LINK, OUT_FAIL, JOB_DEGRADED,
          "preflight:ok failover:ok unplug:ok migrate:ok plug:ok link:failed", "link failed on the destination" },
        { "failback times out", PHASE_FAILBACK, OUT_HANG, JOB_DEGRADED,
          "preflight:ok failover:ok unplug:ok migrate:ok plug:ok link:ok failback:timeout",
          "failback failed on the destination: failback did not finish within 30 s" },
};

static void test_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Fake f;
                _cleanup_(migration_freep) Migration *m = job_new(&f);
                char phases[512];

                fprintf(stderr, "case: %s\n", cases[i].name);
                f.script[cases[i].phase] = cases[i].outcome;
                run(&f, m);

                ASSERT_STREQ(job_result_to_string(migration_get_result(m)),
                             job_result_to_string(cases[i].result));
                phases_string(m, phases, sizeof phases);
                ASSERT_STREQ(phases, cases[i].phases);
                if (cases[i].error_has) {
                        ASSERT_NOT_NULL(migration_get_error(m));
                        ASSERT_NOT_NULL(strstr(migration_get_error(m), cases[i].error_has));
                        ASSERT_NOT_NULL(strstr(migration_get_error(m), "Domain 'vm1'"));
                } else
                        ASSERT_NULL(migration_get_error(m));
        }
}

/* Where each action runs: forward on the source until migrate, then on the destination. */
static void test_sides(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);

        run(&f, m);
        ASSERT_STREQ(f.log, "preflight@source failover@source unplug@source migrate@source "
                            "plug@destination link@destination failback@destination ");
        ASSERT_EQ_INT(migration_get_domain_side(m), SIDE_DESTINATION);

        Fake g;
        _cleanup_(migration_freep) Migration *n = job_new(&g);
        g.script[PHASE_MIGRATE] = OUT_FAIL;
        run(&g, n);
        ASSERT_STREQ(g.log, "preflight@source failover@source unplug@source migrate@source "
                            "plug@source link@source failback@source ");
        ASSERT_EQ_INT(migration_get_domain_side(n), SIDE_SOURCE);
}

static void test_unplug_waits_for_event(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);
        char phases[512];

        f.unplug_by_event = true;
        run(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_SUCCEEDED);

        Fake g;
        _cleanup_(migration_freep) Migration *n = job_new(&g);
        g.unplug_never = true;
        run(&g, n);
        ASSERT_EQ_INT(migration_get_result(n), JOB_ROLLED_BACK);
        phases_string(n, phases, sizeof phases);
        ASSERT_STREQ(phases, "preflight:ok failover:ok unplug:timeout " "rollback-plug:ok rollback-link:ok rollback-failback:ok");
        ASSERT_NOT_NULL(strstr(migration_get_error(n), "the guest did not release the VF"));
}

/* DEVICE_REMOVAL_FAILED turns the job around at once, whether it comes while libvirt's
 * detach call is still in flight or after it returned. */
static void test_unplug_refused(void) {
        for (int during = 0; during <= 1; during++) {
                Fake f;
                _cleanup_(migration_freep) Migration *m = job_new(&f);
                char phases[512];

                ASSERT_OK(migration_start(m));
                while (migration_get_phase(m) != PHASE_UNPLUG)
                        step(&f, m);
                migration_device_removal_failed(m, "ua-other"); /* not our VF: ignored */
                if (during) {
                        migration_device_removal_failed(m, "ua-vf0");
                        ASSERT_EQ_INT(migration_get_phase(m), PHASE_UNPLUG);
                        f.pending = false;
                        migration_action_done(m, ACTION_UNPLUG, 0, NULL);
                } else {
                        f.pending = false;
                        migration_action_done(m, ACTION_UNPLUG, 0, NULL);
                        ASSERT_EQ_INT(migration_get_phase(m), PHASE_UNPLUG);
                        migration_device_removal_failed(m, "ua-vf0");
                }
                ASSERT_EQ_INT(migration_get_phase(m), PHASE_ROLLBACK_PLUG);
                while (!migration_is_finished(m))
                        step(&f, m);
                ASSERT_EQ_INT(migration_get_result(m), JOB_ROLLED_BACK);
                phases_string(m, phases, sizeof phases);
                ASSERT_STREQ(phases, "preflight:ok failover:ok unplug:failed rollback-plug:ok rollback-link:ok rollback-failback:ok");
                ASSERT_NOT_NULL(strstr(migration_get_error(m), "the guest refused to release the VF"));
        }
}

/* A detach that returned without DEVICE_REMOVED leaves the VF's removal pending, for the plug
 * back on the source to wait on; the event clears it even after unplug gave up, and a late
 * removal the plug back found is told in the job's events. */
static void test_removal_pending(void) {
        for (int late = 0; late <= 2; late++) {
                Fake f;
                _cleanup_(migration_freep) Migration *m = job_new(&f);
                _cleanup_(json_object_putp) json_object *o = NULL;
                json_object *events;
                bool told = false;

                ASSERT_OK(migration_start(m));
                while (migration_get_phase(m) != PHASE_UNPLUG)
                        step(&f, m);
                ASSERT_TRUE(!migration_vf_removal_pending(m));
                f.pending = false;
                migration_action_done(m, ACTION_UNPLUG, 0, NULL);
                ASSERT_TRUE(migration_vf_removal_pending(m));
                fire_timer(&f, m); /* the guest never let go */
                ASSERT_EQ_INT(migration_get_phase(m), PHASE_ROLLBACK_PLUG);
                ASSERT_EQ_INT(f.action, ACTION_PLUG);
                ASSERT_TRUE(migration_vf_removal_pending(m));

                migration_device_removed(m, "ua-other"); /* not our VF */
                ASSERT_TRUE(migration_vf_removal_pending(m));
                if (late == 1) {
                        migration_device_removed(m, "ua-vf0"); /* it went after all */
                        ASSERT_TRUE(!migration_vf_removal_pending(m));
                        ASSERT_EQ_INT(migration_get_phase(m), PHASE_ROLLBACK_PLUG);
                }
                if (late == 2) {
                        migration_vf_removed_late(m); /* went while the plug back waited */
                        ASSERT_TRUE(!migration_vf_removal_pending(m));
                }
                while (!migration_is_finished(m))
                        step(&f, m);
                ASSERT_EQ_INT(migration_get_result(m), JOB_ROLLED_BACK);

                o = job_json(m);
                events = json_object_object_get(o, "events");
                for (size_t i = 0; i < json_object_array_length(events); i++)
                        told = told || strstr(json_object_get_string(json_object_object_get(
                                                      json_object_array_get_idx(events, i), "message")),
                                              "released the VF late");
                ASSERT_TRUE(told == (late == 2));
        }

        /* A removal libvirt confirmed (detach answered 1) leaves nothing pending. */
        Fake g;
        _cleanup_(migration_freep) Migration *n = job_new(&g);
        ASSERT_OK(migration_start(n));
        while (migration_get_phase(n) != PHASE_MIGRATE)
                step(&g, n);
        ASSERT_TRUE(!migration_vf_removal_pending(n));
}

/* After the move, a failed plug is retried with a doubling backoff while the job is degraded;
 * it succeeds once the VF is back, or stays degraded when the retries run out or on cancel. */
static Migration *job_new_retrying(Fake *f, unsigned retries) {
        MigrationParams p = {
                .domain = "vm1",
                .source_uri = "qemu:///system",
                .destination_uri = "qemu+ssh://b/system",
        };
        Migration *m = NULL;

        p.retries[PHASE_PLUG] = retries;
        p.retry_backoff[PHASE_PLUG] = 2 * USEC_PER_SEC;
        *f = (Fake) { .now = 1000 * USEC_PER_SEC, .timer = USEC_INFINITY };
        ASSERT_OK(migration_new(9, &p, &fake_ops, f, &m));
        return m;
}

static void plug_fails_once_more(Fake *f, Migration *m, usec_t expected_delay) {
        step(f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_DEGRADED);
        ASSERT_TRUE(!migration_is_finished(m));
        ASSERT_NOT_NULL(strstr(migration_get_error(m), "; retrying"));
        ASSERT_EQ_INT(migration_get_next_retry(m) - f->now, expected_delay);
        ASSERT_EQ_INT(f->timer, migration_get_next_retry(m));
        ASSERT_TRUE(!f->pending);
        fire_timer(f, m); /* the retry starts */
        ASSERT_EQ_INT(migration_get_phase(m), PHASE_PLUG);
        ASSERT_TRUE(f->pending);
}

static void test_degraded_retries(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new_retrying(&f, 3);
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *plug;
        char phases[512];

        ASSERT_OK(migration_start(m));
        while (migration_get_phase(m) != PHASE_PLUG)
                step(&f, m);
        f.script[PHASE_PLUG] = OUT_FAIL;
        plug_fails_once_more(&f, m, 2 * USEC_PER_SEC);
        plug_fails_once_more(&f, m, 4 * USEC_PER_SEC);
        f.script[PHASE_PLUG] = OUT_OK; /* a VF is free again */
        while (!migration_is_finished(m))
                step(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_SUCCEEDED);
        ASSERT_NULL(migration_get_error(m));
        phases_string(m, phases, sizeof phases);
        ASSERT_STREQ(phases, forward);
        ASSERT_EQ_INT(migration_get_phase_attempts(m, PHASE_PLUG), 3);
        o = job_json(m);
        plug = json_object_array_get_idx(json_object_object_get(o, "phases"), 4);
        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(plug, "attempts")), 3);

        /* Retries run out: degraded for good, on virtio-net. */
        Fake g;
        _cleanup_(migration_freep) Migration *n = job_new_retrying(&g, 1);
        ASSERT_OK(migration_start(n));
        while (migration_get_phase(n) != PHASE_PLUG)
                step(&g, n);
        g.script[PHASE_PLUG] = OUT_FAIL;
        plug_fails_once_more(&g, n, 2 * USEC_PER_SEC);
        step(&g, n);
        ASSERT_TRUE(migration_is_finished(n));
        ASSERT_EQ_INT(migration_get_result(n), JOB_DEGRADED);
        ASSERT_NULL(strstr(migration_get_error(n), "retrying"));
        ASSERT_TRUE(g.timer == USEC_INFINITY);

        /* Cancel while waiting to retry: stop retrying, stay degraded. */
        Fake h;
        _cleanup_(migration_freep) Migration *k = job_new_retrying(&h, 5);
        ASSERT_OK(migration_start(k));
        while (migration_get_phase(k) != PHASE_PLUG)
                step(&h, k);
        h.script[PHASE_PLUG] = OUT_FAIL;
        step(&h, k);
        ASSERT_OK(migration_cancel(k));
        ASSERT_TRUE(migration_is_finished(k));
        ASSERT_EQ_INT(migration_get_result(k), JOB_DEGRADED);
        ASSERT_TRUE(h.timer == USEC_INFINITY);
        ASSERT_ERR(migration_cancel(k), ESTALE);
}

/* check: preflight only, nothing else started. */
static void test_check_only(void) {
        Fake f = { .now = 1, .timer = USEC_INFINITY };
        MigrationParams p = { .domain = "vm1", .source_uri = "a", .destination_uri = "b", .check_only = true };
        _cleanup_(migration_freep) Migration *m = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        char phases[512];

        ASSERT_OK(migration_new(1, &p, &fake_ops, &f, &m));
        run(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_SUCCEEDED);
        ASSERT_STREQ(f.log, "preflight@source ");
        phases_string(m, phases, sizeof phases);
        ASSERT_STREQ(phases, "preflight:ok");
        o = job_json(m);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "kind")), "check");
}

/* The policy fills what the caller left open, re-arms the running phase's budget, and shows
 * in the JSON with the progress and the events. */
static void test_policy_progress_events(void) {
        Fake f;
        MigrationParams p = { .domain = "vm1", .source_uri = "a", .destination_uri = "b", .vf = "ua-mine" };
        MigrationParams pol = { .bond = "bond7", .vf = "ua-policy" };
        MigrationProgress progress = { .iteration = 4, .data_remaining_bytes = 1024, .max_downtime_ms = 300 };
        _cleanup_(migration_freep) Migration *m = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *events, *pr;

        f = (Fake) { .now = 10 * USEC_PER_SEC, .timer = USEC_INFINITY };
        ASSERT_OK(migration_new(3, &p, &fake_ops, &f, &m));
        ASSERT_OK(migration_start(m));
        ASSERT_EQ_INT(f.timer, 10 * USEC_PER_SEC + phase_default_budget(PHASE_PREFLIGHT));

        pol.phase_budget[PHASE_PREFLIGHT] = 7 * USEC_PER_SEC;
        pol.retries[PHASE_PLUG] = 4;
        ASSERT_OK(migration_apply_policy(m, "web", &pol));
        ASSERT_STREQ(migration_get_bond(m), "bond7");       /* the caller gave none */
        ASSERT_STREQ(migration_get_vf_spec(m), "ua-mine");  /* the caller's wins */
        ASSERT_STREQ(migration_get_policy_name(m), "web");
        ASSERT_EQ_INT(f.timer, 17 * USEC_PER_SEC);          /* preflight's new budget */

        ASSERT_NULL(migration_get_progress(m));
        ASSERT_OK(migration_set_progress(m, &progress));
        ASSERT_EQ_INT(migration_get_progress(m)->iteration, 4);
        f.now += 5;
        ASSERT_OK(migration_add_event(m, "raised the max downtime to %u ms", 400));

        o = job_json(m);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "policy")), "web");
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "bond")), "bond7");
        pr = json_object_object_get(o, "progress");
        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(pr, "iteration")), 4);
        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(pr, "data_remaining_bytes")), 1024);
        events = json_object_object_get(o, "events");
        ASSERT_EQ_INT(json_object_array_length(events), 1);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(json_object_array_get_idx(events, 0), "message")),
                     "raised the max downtime to 400 ms");
        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(json_object_array_get_idx(events, 0), "at_us")),
                      10 * USEC_PER_SEC + 5);
}

/* A job journaled in phase `at`, read back by a "restarted daemon" with a fresh backend. */
static Migration *journal_roundtrip(Phase at, Fake *f2) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);
        _cleanup_(json_object_putp) json_object *record = NULL, *reparsed = NULL;
        _cleanup_free_ char *error = NULL;
        Migration *n = NULL;

        ASSERT_OK(migration_start(m));
        while (migration_get_phase(m) != at)
                step(&f, m);
        ASSERT_OK(migration_build_journal(m, &record));
        /* through text, as on disk */
        reparsed = json_tokener_parse(json_object_to_json_string(record));
        ASSERT_NOT_NULL(reparsed);

        *f2 = (Fake) { .now = f.now + 5 * USEC_PER_SEC, .timer = USEC_INFINITY };
        ASSERT_OK(migration_new_from_journal(reparsed, &fake_ops, f2, &n, &error));
        ASSERT_NULL(error);
        ASSERT_EQ_INT(migration_get_id(n), 7);
        ASSERT_EQ_INT(migration_get_phase(n), at);
        ASSERT_TRUE(!migration_is_finished(n));
        if (at > PHASE_PREFLIGHT) { /* what preflight learned */
                ASSERT_STREQ(migration_get_vf_alias(n), "ua-vf0");
                ASSERT_STREQ(migration_get_vf_xml(n), "<interface/>");
        }
        ASSERT_STREQ(migration_get_migrate_uri(n), "tcp://127.0.0.1:49152");
        ASSERT_TRUE(!f2->pending); /* nothing runs until recovered */
        return n;
}

/* The convergence rule, applied by the state machine to the progress the backend reports:
 * each pre-copy iteration is decided on once, what the rule decides is asked of the backend
 * and written into the events, and nothing is decided outside migrate. */
static void test_convergence(void) {
        static const struct {
                const char *name;
                PolicyConvergence rule;
                bool allow_postcopy;
                int control_r;             /* what the backend's control() answers */
                unsigned reports[6];       /* iterations reported while migrating, 0 ends */
                bool by_event;             /* as MIGRATION_ITERATION events, not job stats */
                const char *controls;      /* what the backend was asked */
                uint64_t max_downtime_ms;  /* in force at the end */
                bool postcopy;
                size_t n_events;
                const char *last_event;
        } rules[] = {
                { "raise-downtime every 2 iterations up to the ceiling, a jump decided step by step",
                  { .after_iterations = 2, .action = POLICY_CONVERGENCE_RAISE_DOWNTIME,
                    .downtime_step_ms = 100, .downtime_ceiling_ms = 500 }, false, 0,
                  { 1, 2, 2, 5, 6, 8 }, false,
                  "set-max-downtime=400 set-max-downtime=500 ", 500, false, 2,
                  "raised the max downtime from 400 to 500 ms after 4 pre-copy iterations" },
                { "raise-downtime, from iteration events",
                  { .after_iterations = 3, .action = POLICY_CONVERGENCE_RAISE_DOWNTIME,
                    .downtime_step_ms = 250, .downtime_ceiling_ms = 1000 }, false, 0,
                  { 1, 3, 2 }, true,
                  "set-max-downtime=550 ", 550, false, 1,
                  "raised the max downtime from 300 to 550 ms after 3 pre-copy iterations" },
                { "post-copy once, when allowed",
                  { .after_iterations = 3, .action = POLICY_CONVERGENCE_POSTCOPY }, true, 0,
                  { 2, 3, 4, 7 }, false,
                  "postcopy=0 ", 300, true, 1,
                  "switched to post-copy after 3 pre-copy iterations" },
                { "post-copy not allowed: pre-copy goes on, said once",
                  { .after_iterations = 1, .action = POLICY_CONVERGENCE_POSTCOPY }, false, 0,
                  { 1, 2, 3 }, false,
                  "", 300, false, 1,
                  "pre-copy did not converge after 1 iterations; the policy does not allow post-copy, so it goes on" },
                { "the backend cannot act: said, and the limit stays",
                  { .after_iterations = 1, .action = POLICY_CONVERGENCE_RAISE_DOWNTIME,
                    .downtime_step_ms = 100, .downtime_ceiling_ms = 1000 }, false, -ENOTCONN,
                  { 1 }, false,
                  "", 300, false, 1,
                  "could not act on the convergence rule (raise-downtime): Transport endpoint is not connected" },
        };

        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                PolicyMigrationSettings settings = { .max_downtime_ms = 300, .allow_postcopy = rules[i].allow_postcopy };
                MigrationParams pol = { .settings = &settings, .convergence = &rules[i].rule };
                MigrationProgress early = { .iteration = 9 };
                _cleanup_(migration_freep) Migration *m = NULL;
                _cleanup_(json_object_putp) json_object *o = NULL;
                const MigrationProgress *pr;
                json_object *events;
                Fake f;

                printf("convergence: %s\n", rules[i].name);
                m = job_new(&f);
                f.control_r = rules[i].control_r;
                ASSERT_OK(migration_start(m));
                ASSERT_OK(migration_apply_policy(m, "web", &pol));
                ASSERT_EQ_INT(migration_get_max_downtime(m), 300);

                /* Progress before migrate (a late report of an earlier job) decides nothing. */
                ASSERT_OK(migration_set_progress(m, &early));
                ASSERT_STREQ(f.controls, "");
                while (migration_get_phase(m) != PHASE_MIGRATE)
                        step(&f, m);
                ASSERT_TRUE(f.pending);
                /* The report of iteration 9 above is history: the rule starts over with migrate. */
                ASSERT_NULL(migration_get_progress(m));

                for (size_t k = 0; k < ELEMENTSOF(rules[i].reports) && rules[i].reports[k] > 0; k++) {
                        MigrationProgress p = { .iteration = rules[i].reports[k], .data_remaining_bytes = 1 };

                        if (rules[i].by_event)
                                ASSERT_OK(migration_set_iteration(m, rules[i].reports[k]));
                        else
                                ASSERT_OK(migration_set_progress(m, &p));
                }
                ASSERT_STREQ(f.controls, rules[i].controls);
                ASSERT_EQ_INT(migration_get_max_downtime(m), rules[i].max_downtime_ms);
                pr = migration_get_progress(m);
                ASSERT_NOT_NULL(pr);
                ASSERT_EQ_INT(pr->max_downtime_ms, rules[i].max_downtime_ms);
                ASSERT_EQ_INT(pr->postcopy, rules[i].postcopy);

                o = job_json(m);
                events = json_object_object_get(o, "events");
                ASSERT_EQ_INT(json_object_array_length(events), rules[i].n_events);
                ASSERT_STREQ(json_object_get_string(json_object_object_get(
                                     json_object_array_get_idx(events, rules[i].n_events - 1), "message")),
                             rules[i].last_event);

                /* The migration ends well: the job goes on, nothing more is decided. */
                while (!migration_is_finished(m))
                        step(&f, m);
                ASSERT_EQ_INT(migration_get_result(m), JOB_SUCCEEDED);
                ASSERT_STREQ(f.controls, rules[i].controls);
        }
}

static int64_t json_int_at(json_object *o, const char *key) {
        json_object *v = json_object_object_get(o, key);

        ASSERT_NOT_NULL(v);
        return json_object_get_int64(v);
}

/* The job's "precopy": the max downtime pre-copy started with, each raise, the iterations,
 * the highest dirty rate and bandwidth reported, the pause; null before migrate; kept across
 * a restart from the journal. */
static void test_precopy_record(void) {
        PolicyConvergence rule = { .after_iterations = 2, .action = POLICY_CONVERGENCE_RAISE_DOWNTIME,
                                   .downtime_step_ms = 100, .downtime_ceiling_ms = 500 };
        PolicyMigrationSettings settings = { .max_downtime_ms = 20 };
        MigrationParams pol = { .settings = &settings, .convergence = &rule };
        static const MigrationProgress reports[] = {
                { .iteration = 1, .data_total_bytes = 1, .dirty_rate_bytes_s = 10000, .bandwidth_bytes_s = 900000 },
                { .iteration = 2, .data_total_bytes = 1, .dirty_rate_bytes_s = 30000, .bandwidth_bytes_s = 800000 },
                { .iteration = 3, .data_total_bytes = 1, .dirty_rate_bytes_s = 20000, .bandwidth_bytes_s = 950000 },
                { .iteration = 4, .data_total_bytes = 1, .dirty_rate_bytes_s = 0, .bandwidth_bytes_s = 0 },
        };
        _cleanup_(migration_freep) Migration *m = NULL, *n = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL, *record = NULL, *again = NULL;
        _cleanup_free_ char *error = NULL;
        json_object *pre, *raises, *r0, *r1;
        Fake f, g;

        m = job_new(&f);
        ASSERT_OK(migration_start(m));
        ASSERT_OK(migration_apply_policy(m, "tight", &pol));
        o = job_json(m);
        ASSERT_TRUE(json_object_object_get_ex(o, "precopy", &pre));
        ASSERT_NULL(pre); /* before migrate */
        json_object_put(TAKE_PTR(o));

        while (migration_get_phase(m) != PHASE_MIGRATE)
                step(&f, m);
        for (size_t k = 0; k < ELEMENTSOF(reports); k++)
                ASSERT_OK(migration_set_progress(m, &reports[k]));
        ASSERT_STREQ(f.controls, "set-max-downtime=120 set-max-downtime=220 ");
        migration_set_vm_downtime(m, 150);
        while (!migration_is_finished(m))
                step(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_SUCCEEDED);

        o = job_json(m);
        pre = json_object_object_get(o, "precopy");
        ASSERT_NOT_NULL(pre);
        ASSERT_EQ_INT(json_int_at(pre, "start_max_downtime_ms"), 20);
        ASSERT_EQ_INT(json_int_at(pre, "max_downtime_ms"), 220);
        ASSERT_EQ_INT(json_int_at(pre, "iterations"), 4);
        ASSERT_EQ_INT(json_int_at(pre, "dirty_rate_bytes_s_max"), 30000);
        ASSERT_EQ_INT(json_int_at(pre, "bandwidth_bytes_s_max"), 950000);
        ASSERT_EQ_INT(json_int_at(pre, "pause_ms"), 150);
        raises = json_object_object_get(pre, "raises");
        ASSERT_EQ_INT(json_object_array_length(raises), 2);
        r0 = json_object_array_get_idx(raises, 0);
        r1 = json_object_array_get_idx(raises, 1);
        ASSERT_EQ_INT(json_int_at(r0, "iteration"), 2);
        ASSERT_EQ_INT(json_int_at(r0, "from_ms"), 20);
        ASSERT_EQ_INT(json_int_at(r0, "to_ms"), 120);
        ASSERT_EQ_INT(json_int_at(r1, "iteration"), 4);
        ASSERT_EQ_INT(json_int_at(r1, "from_ms"), 120);
        ASSERT_EQ_INT(json_int_at(r1, "to_ms"), 220);

        /* A restarted srvmd tells the same. */
        ASSERT_OK(migration_build_journal(m, &record));
        g = (Fake) { .now = f.now + USEC_PER_SEC, .timer = USEC_INFINITY };
        ASSERT_OK(migration_new_from_journal(record, &fake_ops, &g, &n, &error));
        ASSERT_NULL(error);
        again = job_json(n);
        ASSERT_STREQ(json_object_to_json_string(json_object_object_get(again, "precopy")),
                     json_object_to_json_string(pre));
}

/* The rule aborts: the backend is asked to, libvirt's answer ("aborted") becomes the
 * policy's sentence, and the job rolls back. */
static void test_convergence_abort(void) {
        PolicyConvergence rule = { .after_iterations = 3, .action = POLICY_CONVERGENCE_ABORT };
        PolicyMigrationSettings settings = { .max_downtime_ms = 300 };
        MigrationParams pol = { .settings = &settings, .convergence = &rule };
        _cleanup_(migration_freep) Migration *m = NULL;
        Fake f;

        m = job_new(&f);
        ASSERT_OK(migration_start(m));
        ASSERT_OK(migration_apply_policy(m, "strict", &pol));
        while (migration_get_phase(m) != PHASE_MIGRATE)
                step(&f, m);
        for (unsigned it = 1; it <= 5; it++)
                ASSERT_OK(migration_set_iteration(m, it));
        ASSERT_STREQ(f.controls, "abort=0 ");

        f.pending = false;
        migration_action_done(m, ACTION_MIGRATE, -ECANCELED, "operation aborted: migration out job: canceled by client");
        while (!migration_is_finished(m))
                step(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_ROLLED_BACK);
        ASSERT_NOT_NULL(migration_get_error(m));
        ASSERT_TRUE(strstr(migration_get_error(m),
                           "the policy strict aborted it after 3 pre-copy iterations without convergence"));
        ASSERT_NULL(strstr(migration_get_error(m), "canceled by client"));
}

/* Without a policy's rule, progress is only recorded, as the backend gave it. */
static void test_convergence_none(void) {
        MigrationProgress p = { .iteration = 40, .max_downtime_ms = 123 };
        _cleanup_(migration_freep) Migration *m = NULL;
        Fake f;

        m = job_new(&f);
        ASSERT_OK(migration_start(m));
        while (migration_get_phase(m) != PHASE_MIGRATE)
                step(&f, m);
        ASSERT_OK(migration_set_progress(m, &p));
        ASSERT_STREQ(f.controls, "");
        ASSERT_EQ_INT(migration_get_progress(m)->max_downtime_ms, 123);
        ASSERT_EQ_INT(migration_get_max_downtime(m), 0);
}

#define DOMAIN_XML(devices) \
        "<domain type='qemu'><name>vm1</name><devices>" \
        "<interface type='bridge'><mac address='52:54:00:00:00:01'/><model type='virtio'/><alias name='ua-net0'/></interface>" \
        devices "</devices></domain>"
#define VF_XML \
        "<interface type='bridge'><mac address='52:54:00:aa:00:02'/><model type='e1000e'/>" \
        "<alias name='ua-vf0'/><address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></interface>"

/* Preflight in two actions: the backend reads the domain, the job decides on its XML (policy,
 * VF, plug XML, refusal) and asks for the checks; the VF becomes the job's once they pass. */
static void test_preflight_decides(void) {
        static const struct {
                const char *name;
                const char *xml;
                bool policies;       /* a policy set (the built-in default) */
                bool checks;         /* the backend has a check() */
                int check_r;         /* what the checks answer */
                unsigned n_checks;
                const char *refusal; /* what the job decided is wrong */
                Phase phase;         /* where the job is afterwards */
                const char *error;   /* in the job's error, or NULL */
        } reads[] = {
                /* the VF is an emulated NIC: auto takes the native path, straight to migrate */
                { "the default policy, one VF: checked, then migrate",
                  DOMAIN_XML(VF_XML), true, true, 0, 1, NULL, PHASE_MIGRATE, NULL },
                { "no VF: checked anyway, the phrase among the causes",
                  DOMAIN_XML(""), true, true, -EINVAL, 1,
                  "the domain has no VF interface (type 'hostdev' or a model other than virtio)",
                  PHASE_PREFLIGHT, "the domain has no VF interface" },
                { "no checks: the decision ends preflight",
                  DOMAIN_XML(VF_XML), true, false, 0, 0, NULL, PHASE_MIGRATE, NULL },
                { "no checks, no VF: refused",
                  DOMAIN_XML(""), true, false, 0, 0,
                  "the domain has no VF interface (type 'hostdev' or a model other than virtio)",
                  PHASE_PREFLIGHT, "the domain has no VF interface" },
                { "no policies: refused before any check",
                  DOMAIN_XML(VF_XML), false, true, 0, 0, NULL, PHASE_PREFLIGHT, "no policy resolves for it" },
                { "not a domain's XML",
                  "<network/>", true, true, 0, 0, NULL, PHASE_PREFLIGHT, "cannot understand the domain's XML" },
        };
        char dir[] = "/tmp/test-migration-XXXXXX";
        const char *dirs[] = { dir, NULL };
        _cleanup_(policy_set_freep) PolicySet *set = NULL;
        _cleanup_free_ char *error = NULL;

        ASSERT_NOT_NULL(mkdtemp(dir));
        ASSERT_OK(policy_set_load(dirs, &set, &error)); /* the built-in default alone */
        ASSERT_EQ_INT(rmdir(dir), 0);

        for (size_t i = 0; i < ELEMENTSOF(reads); i++) {
                MigrationParams p = { .domain = "vm1", .source_uri = "a", .destination_uri = "b" };
                _cleanup_(migration_freep) Migration *m = NULL;
                Fake f = { .now = 1, .timer = USEC_INFINITY };

                printf("preflight: %s\n", reads[i].name);
                f.policies = reads[i].policies ? set : NULL;
                ASSERT_OK(migration_new(1, &p, reads[i].checks ? &fake_ops : &fake_ops_no_checks, &f, &m));
                ASSERT_OK(migration_start(m));
                ASSERT_EQ_INT(f.action, ACTION_PREFLIGHT);

                migration_domain_read(m, reads[i].xml, NULL);
                ASSERT_EQ_INT(f.checks, reads[i].n_checks);
                if (reads[i].n_checks > 0) {
                        /* The job decided and waits for the checks. */
                        ASSERT_EQ_INT(migration_get_phase(m), PHASE_PREFLIGHT);
                        ASSERT_STREQ(migration_get_policy_name(m), "default");
                        ASSERT_EQ_INT(migration_get_policy_match(m), POLICY_MATCH_DEFAULT);
                        ASSERT_EQ_INT(migration_get_settings(m)->max_downtime_ms, 20);
                        ASSERT_TRUE(migration_get_agent_timeout(m) > 0);
                        ASSERT_EQ_INT(migration_get_plug_source(m), POLICY_PLUG_RECORDED);
                        ASSERT_TRUE(streq_ptr(migration_get_refusal(m), reads[i].refusal));
                        ASSERT_NULL(migration_get_vf_alias(m)); /* not before the checks pass */
                        if (!reads[i].refusal)
                                ASSERT_NOT_NULL(strstr(migration_get_plug_xml(m), "<alias name=\"ua-vf0\"/>"));
                        else
                                ASSERT_NULL(migration_get_plug_xml(m));
                        f.pending = false;
                        migration_action_done(m, ACTION_PREFLIGHT, reads[i].check_r, migration_get_refusal(m));
                }
                ASSERT_EQ_INT(migration_get_phase(m), reads[i].phase);
                if (reads[i].phase == PHASE_MIGRATE) {
                        ASSERT_STREQ(migration_get_vf_alias(m), "ua-vf0");
                        ASSERT_STREQ(migration_get_vf_mac(m), "52:54:00:aa:00:02");
                        ASSERT_EQ_INT(f.action, ACTION_MIGRATE);
                } else {
                        ASSERT_TRUE(migration_is_finished(m));
                        ASSERT_EQ_INT(migration_get_result(m), JOB_FAILED);
                        ASSERT_NULL(migration_get_vf_alias(m));
                        ASSERT_NOT_NULL(strstr(migration_get_error(m), reads[i].error));
                }

                /* A late read (the job moved on) changes nothing. */
                migration_domain_read(m, reads[i].xml, NULL);
                ASSERT_EQ_INT(f.checks, reads[i].n_checks);
                ASSERT_EQ_INT(migration_get_phase(m), reads[i].phase);
        }
}

/* The policy set of files ({name, text} pairs) beside the built-in default. */
static PolicySet *policies_from_files(const char *const (*files)[2], size_t n) {
        char dir[] = "/tmp/test-migration-XXXXXX", file[256];
        const char *dirs[] = { dir, NULL };
        _cleanup_free_ char *error = NULL;
        PolicySet *set = NULL;

        ASSERT_NOT_NULL(mkdtemp(dir));
        for (size_t i = 0; i < n; i++) {
                FILE *fp;

                snprintf(file, sizeof file, "%s/%s", dir, files[i][0]);
                ASSERT_NOT_NULL(fp = fopen(file, "we"));
                ASSERT_TRUE(fputs(files[i][1], fp) >= 0);
                ASSERT_OK(fclose(fp));
        }
        ASSERT_OK(policy_set_load(dirs, &set, &error));
        for (size_t i = 0; i < n; i++) {
                snprintf(file, sizeof file, "%s/%s", dir, files[i][0]);
                ASSERT_OK(unlink(file));
        }
        ASSERT_OK(rmdir(dir));
        return set;
}

#define HOSTDEV_VF_XML \
        "<interface type='hostdev' managed='yes'><mac address='52:54:00:aa:00:02'/>" \
        "<source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source>" \
        "<alias name='ua-vf0'/></interface>"

/* The path preflight takes under each policy, on the hosts' facts: the job's JSON says the
 * path, its first event why; a policy that pins native is refused, naming the reason. */
static void test_preflight_path(void) {
        static const struct {
                const char *name;
                const char *domain;     /* vm-auto, vm-native or vm-failover: the policy */
                const char *vf;
                const char *driver;     /* of 0000:3b:02.1 on the source; NULL: none read */
                const char *path;       /* in the job's JSON; NULL: refused */
                const char *event;      /* the job's first event */
                const char *refusal;
        } paths[] = {
                { "auto, emulated NIC: native", "vm-auto", VF_XML, NULL, "native",
                  "path: native: the VF is an emulated e1000e NIC, which QEMU migrates itself", NULL },
                { "auto, plain vfio-pci: failover", "vm-auto", HOSTDEV_VF_XML, "vfio-pci", "failover",
                  "path: failover: the VF's PCI device 0000:3b:02.1 is bound to vfio-pci, not to a VFIO migration "
                  "variant driver (mlx5_vfio_pci, pds_vfio_pci, virtio_vfio_pci)", NULL },
                { "failover pinned", "vm-failover", VF_XML, NULL, "failover",
                  "path: the policy pins the failover path", NULL },
                { "native pinned, plain vfio-pci: refused with the reason", "vm-native", HOSTDEV_VF_XML, "vfio-pci", NULL,
                  "path: refused in preflight: the policy asks for the native path and the VF's PCI device "
                  "0000:3b:02.1 is bound to vfio-pci, not to a VFIO migration variant driver (mlx5_vfio_pci, "
                  "pds_vfio_pci, virtio_vfio_pci)",
                  "the policy asks for the native path and the VF's PCI device 0000:3b:02.1 is bound to vfio-pci, "
                  "not to a VFIO migration variant driver (mlx5_vfio_pci, pds_vfio_pci, virtio_vfio_pci)" },
                { "native pinned, mlx5_vfio_pci: native", "vm-native", HOSTDEV_VF_XML, "mlx5_vfio_pci", "native",
                  "path: native: the VF's PCI device 0000:3b:02.1 is bound to mlx5_vfio_pci, a VFIO migration variant "
                  "driver, and both hosts run libvirt 8.6 and QEMU 8.1 or later", NULL },
                { "auto, pds_vfio_pci: native", "vm-auto", HOSTDEV_VF_XML, "pds_vfio_pci", "native",
                  "path: native: the VF's PCI device 0000:3b:02.1 is bound to pds_vfio_pci, a VFIO migration variant "
                  "driver, and both hosts run libvirt 8.6 and QEMU 8.1 or later", NULL },
        };
        static const char *const files[][2] = {
                { "native.json", "{ \"match\": { \"names\": [\"vm-native\"] }, \"migration\": { \"path\": \"native\" } }" },
                { "failover.json", "{ \"match\": { \"names\": [\"vm-failover\"] }, \"migration\": { \"path\": \"failover\" } }" },
        };
        _cleanup_(policy_set_freep) PolicySet *set = policies_from_files(files, ELEMENTSOF(files));

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                MigrationParams p = { .domain = paths[i].domain, .source_uri = "a", .destination_uri = "b" };
                _cleanup_(preflight_host_facts_done) PreflightHostFacts facts = {
                        .source = { .libvirt = 9000000, .qemu = 8002000 },
                        .destination = { .libvirt = 9000000, .qemu = 8002000 },
                };
                _cleanup_(migration_freep) Migration *m = NULL;
                _cleanup_(json_object_putp) json_object *o = NULL;
                _cleanup_free_ char *xml = NULL;
                Fake f = { .now = 1, .timer = USEC_INFINITY };
                json_object *events;

                printf("preflight path: %s\n", paths[i].name);
                ASSERT_TRUE(asprintf(&xml, "<domain type='qemu'><name>%s</name><devices>"
                                     "<interface type='bridge'><mac address='52:54:00:00:00:01'/><model type='virtio'/>"
                                     "<alias name='ua-net0'/></interface>%s</devices></domain>",
                                     paths[i].domain, paths[i].vf) > 0);
                if (paths[i].driver)
                        ASSERT_OK(preflight_host_facts_add_driver(&facts, "0000:3b:02.1", paths[i].driver, 0));
                f.policies = set;
                ASSERT_OK(migration_new(1, &p, &fake_ops_no_checks, &f, &m));
                ASSERT_OK(migration_start(m));
                migration_domain_read(m, xml, &facts);

                o = job_json(m);
                events = json_object_object_get(o, "events");
                ASSERT_TRUE(json_object_array_length(events) >= 1);
                ASSERT_STREQ(json_object_get_string(json_object_object_get(json_object_array_get_idx(events, 0), "message")),
                             paths[i].event);
                if (paths[i].path) {
                        _cleanup_(json_object_putp) json_object *record = NULL, *reparsed = NULL, *o2 = NULL;
                        _cleanup_(migration_freep) Migration *n = NULL;
                        _cleanup_free_ char *jerror = NULL;
                        Fake f2 = { .now = f.now, .timer = USEC_INFINITY };

                        bool native = streq(paths[i].path, "native");

                        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "path")), paths[i].path);
                        /* native leaves the bond alone: straight from preflight to migrate */
                        ASSERT_EQ_INT(migration_get_phase(m), native ? PHASE_MIGRATE : PHASE_FAILOVER);
                        ASSERT_EQ_INT(f.action, native ? ACTION_MIGRATE : ACTION_FAILOVER);
                        ASSERT_EQ_INT(migration_get_path(m), native ? POLICY_PATH_NATIVE : POLICY_PATH_FAILOVER);

                        /* a restarted srvmd still knows the path and why */
                        ASSERT_OK(migration_build_journal(m, &record));
                        ASSERT_NOT_NULL(reparsed = json_tokener_parse(json_object_to_json_string(record)));
                        ASSERT_OK(migration_new_from_journal(reparsed, &fake_ops, &f2, &n, &jerror));
                        o2 = job_json(n);
                        ASSERT_STREQ(json_object_get_string(json_object_object_get(o2, "path")), paths[i].path);
                        ASSERT_STREQ(json_object_get_string(json_object_object_get(o2, "path_reason")),
                                     paths[i].event + strlen("path: "));
                } else {
                        ASSERT_NULL(json_object_object_get(o, "path") ?
                                    json_object_get_string(json_object_object_get(o, "path")) : NULL);
                        ASSERT_TRUE(migration_is_finished(m));
                        ASSERT_EQ_INT(migration_get_result(m), JOB_FAILED);
                        ASSERT_NOT_NULL(strstr(migration_get_error(m), paths[i].refusal));
                }
        }
}

/* vm-native pins the native path; any other domain has the default policy (auto). */
static PolicySet *native_policies(void) {
        static const char *const files[][2] = {
                { "native.json", "{ \"match\": { \"names\": [\"vm-native\"] }, \"migration\": { \"path\": \"native\" } }" },
        };

        return policies_from_files(files, ELEMENTSOF(files));
}

/* A job of domain (vm-auto or vm-native) with an emulated VF, through preflight's decision:
 * the native path, waiting in migrate. */
static Migration *native_job(Fake *f, const PolicySet *set, const char *domain) {
        MigrationParams p = { .domain = domain, .source_uri = "a", .destination_uri = "b" };
        _cleanup_free_ char *xml = NULL;
        Migration *m = NULL;

        *f = (Fake) { .now = 1000 * USEC_PER_SEC, .timer = USEC_INFINITY, .policies = set };
        ASSERT_TRUE(asprintf(&xml, "<domain type='qemu'><name>%s</name><devices>"
                             "<interface type='bridge'><mac address='52:54:00:00:00:01'/><model type='virtio'/>"
                             "<alias name='ua-net0'/></interface>%s</devices></domain>", domain, VF_XML) > 0);
        ASSERT_OK(migration_new(1, &p, &fake_ops_no_checks, f, &m));
        ASSERT_OK(migration_start(m));
        migration_domain_read(m, xml, NULL);
        f->pending = false;
        ASSERT_EQ_INT(migration_get_phase(m), PHASE_MIGRATE);
        ASSERT_EQ_INT(migration_get_path(m), POLICY_PATH_NATIVE);
        f->pending = true;
        return m;
}

/* Whether one of the job's events contains piece. */
static bool has_event(Migration *m, const char *piece) {
        _cleanup_(json_object_putp) json_object *o = job_json(m);
        json_object *events = json_object_object_get(o, "events");

        for (size_t i = 0; i < json_object_array_length(events); i++)
                if (strstr(json_object_get_string(json_object_object_get(json_object_array_get_idx(events, i), "message")),
                           piece))
                        return true;
        return false;
}

/* The native path: migrate with the bond untouched, verify on the destination; a native
 * migration that is refused or fails before the switchover falls back to failover in the same
 * job under auto, and fails under a policy that pins native; a VF that arrived inactive is
 * linked and failed back. */
static void test_native(void) {
        static const struct {
                const char *name;
                const char *domain;
                unsigned migrate_failures;
                bool progress;   /* pre-copy sent memory before it failed */
                Phase phase;     /* where the script deviates */
                Outcome outcome;
                bool cancel_in_migrate;
                JobResult result;
                const char *phases;
                const char *log; /* the actions, in order */
                const char *path;
                bool fallback;
                bool standby;    /* standby_ms is known */
                const char *event_has;
                const char *error_has;
        } natives[] = {
                { "auto: native, bond untouched", "vm-auto", 0, false, PHASE_VERIFY, OUT_OK, false, JOB_SUCCEEDED,
                  "preflight:ok migrate:ok verify:ok", "migrate@source verify@destination ", "native", false, false,
                  "path: native: the VF is an emulated e1000e NIC", NULL },
                { "native pinned: native", "vm-native", 0, false, PHASE_VERIFY, OUT_OK, false, JOB_SUCCEEDED,
                  "preflight:ok migrate:ok verify:ok", "migrate@source verify@destination ", "native", false, false,
                  "path: native:", NULL },
                { "auto, migration refused at its start: failover in the same job", "vm-auto", 1, false, PHASE_VERIFY,
                  OUT_OK, false, JOB_SUCCEEDED, "preflight:ok failover:ok unplug:ok migrate:ok plug:ok link:ok failback:ok",
                  "migrate@source failover@source unplug@source migrate@source plug@destination link@destination "
                  "failback@destination ", "failover", true, true,
                  "the native migration was refused at its start after 100 ms: it broke; the domain still runs on the "
                  "source with its VF: falling back to the failover path", NULL },
                { "auto, migration failed in pre-copy: failover in the same job", "vm-auto", 1, true, PHASE_VERIFY,
                  OUT_OK, false, JOB_SUCCEEDED, "preflight:ok failover:ok unplug:ok migrate:ok plug:ok link:ok failback:ok",
                  "migrate@source failover@source unplug@source migrate@source plug@destination link@destination "
                  "failback@destination ", "failover", true, true,
                  "the native migration failed before the switchover", NULL },
                { "auto, native then failover migration both fail: rolled back", "vm-auto", 2, false, PHASE_VERIFY,
                  OUT_OK, false, JOB_ROLLED_BACK,
                  "preflight:ok failover:ok unplug:ok migrate:failed rollback-plug:ok rollback-link:ok rollback-failback:ok",
                  "migrate@source failover@source unplug@source migrate@source plug@source link@source failback@source ",
                  "failover", true, true, "falling back to the failover path", "Rolled back" },
                { "native pinned, migration refused: fails, no fallback", "vm-native", 1, false, PHASE_VERIFY, OUT_OK,
                  false, JOB_FAILED, "preflight:ok migrate:failed", "migrate@source ", "native", false, false,
                  "path: native:",
                  "the native migration was refused at its start: it broke. The domain stays on the source with its VF "
                  "active, its bond untouched; the policy pins the native path, so there is no fallback to failover" },
                { "auto, cancelled in native migrate: no fallback", "vm-auto", 0, false, PHASE_MIGRATE, OUT_HANG, true,
                  JOB_CANCELLED, "preflight:ok migrate:cancelled", "migrate@source ", "native", false, false,
                  "path: native:", "cancelled in migrate; the domain stays on the source with its VF active" },
                { "auto, native migrate times out: failover in the same job", "vm-auto", 0, false, PHASE_MIGRATE,
                  OUT_HANG, false, JOB_ROLLED_BACK,
                  "preflight:ok failover:ok unplug:ok migrate:failed rollback-plug:ok rollback-link:ok rollback-failback:ok",
                  "migrate@source failover@source unplug@source migrate@source plug@source link@source failback@source ",
                  "failover", true, true,
                  "the native migration ran out of time before the switchover after 300000 ms: migrate did not finish within 300 s: aborted",
                  "migrate failed: it broke" },
                { "auto, verify fails: link and failback", "vm-auto", 0, false, PHASE_VERIFY, OUT_FAIL, false,
                  JOB_SUCCEEDED, "preflight:ok migrate:ok verify:failed link:ok failback:ok",
                  "migrate@source verify@destination link@destination failback@destination ", "native", false, true,
                  "verify on the destination: it broke; linking the VF and failing back to it", NULL },
        };
        _cleanup_(policy_set_freep) PolicySet *set = native_policies();

        for (size_t i = 0; i < ELEMENTSOF(natives); i++) {
                Fake f;
                _cleanup_(migration_freep) Migration *m = NULL;
                _cleanup_(json_object_putp) json_object *o = NULL;
                char phases[512];

                printf("native: %s\n", natives[i].name);
                m = native_job(&f, set, natives[i].domain);
                f.log[0] = 0; /* from migrate on */
                snprintf(f.log, sizeof f.log, "migrate@source ");
                f.migrate_failures = natives[i].migrate_failures;
                f.migrate_progress = natives[i].progress;
                f.script[natives[i].phase] = natives[i].outcome;
                if (natives[i].cancel_in_migrate) {
                        ASSERT_OK(migration_cancel(m));
                        ASSERT_EQ_INT(f.cancels, 1);
                        f.pending = false;
                        f.now += 100 * USEC_PER_MSEC;
                        migration_action_done(m, ACTION_MIGRATE, -ECANCELED, "aborted");
                }
                for (unsigned n = 0; !migration_is_finished(m); n++) {
                        ASSERT_TRUE(n < 32);
                        if (natives[i].outcome == OUT_HANG && migration_get_phase(m) == PHASE_MIGRATE &&
                            migration_get_phase_attempts(m, PHASE_MIGRATE) > 1)
                                f.script[PHASE_MIGRATE] = OUT_FAIL; /* the failover's own migration */
                        step(&f, m);
                }
                ASSERT_TRUE(f.timer == USEC_INFINITY);

                ASSERT_EQ_INT(migration_get_result(m), natives[i].result);
                phases_string(m, phases, sizeof phases);
                ASSERT_STREQ(phases, natives[i].phases);
                ASSERT_STREQ(f.log, natives[i].log);
                o = job_json(m);
                ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "path")), natives[i].path);
                ASSERT_EQ_INT(json_object_get_boolean(json_object_object_get(o, "fallback")), natives[i].fallback);
                ASSERT_EQ_INT(migration_get_fell_back(m), natives[i].fallback);
                ASSERT_EQ_INT(json_object_object_get(o, "standby_ms") != NULL, natives[i].standby);
                ASSERT_TRUE(has_event(m, natives[i].event_has));
                if (natives[i].error_has)
                        ASSERT_NOT_NULL(strstr(strna(migration_get_error(m)), natives[i].error_has));
                else
                        ASSERT_NULL(migration_get_error(m));
                if (natives[i].fallback) {
                        ASSERT_EQ_INT(migration_get_phase_attempts(m, PHASE_MIGRATE), 2);
                        ASSERT_NOT_NULL(strstr(json_object_get_string(json_object_object_get(o, "path_reason")),
                                               "failover (auto, fallback: the native migration "));
                }
                /* The guest never left its VF unless the path says so. */
                if (!natives[i].standby)
                        ASSERT_NULL(strstr(f.log, "failover@") ? "a failover" : NULL);
        }
}

/* A native job srvmd was running when it stopped: on the destination it verifies; on the
 * source there is nothing to put back but srvm-guest's hold, which verify there releases. The
 * path survives the journal. */
static void test_native_recover(void) {
        static const struct {
                Phase at;
                int located;
                JobResult result;
                const char *phases;
                const char *log;
                const char *error_has;
        } table[] = {
                { PHASE_MIGRATE, 1, JOB_SUCCEEDED, "preflight:ok migrate:interrupted recover:ok verify:ok",
                  "locate@source verify@destination ", NULL },
                /* on the source, verify there releases srvm-guest's hold */
                { PHASE_MIGRATE, 0, JOB_ROLLED_BACK, "preflight:ok migrate:interrupted recover:ok verify:ok",
                  "locate@source verify@source ",
                  "srvmd restarted in phase migrate of the native path; the domain stays on the source with its VF active" },
                { PHASE_VERIFY, 1, JOB_SUCCEEDED, "preflight:ok migrate:ok recover:ok verify:ok",
                  "locate@source verify@destination ", NULL },
        };
        _cleanup_(policy_set_freep) PolicySet *set = native_policies();

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(json_object_putp) json_object *record = NULL, *reparsed = NULL;
                _cleanup_(migration_freep) Migration *m = NULL, *n = NULL;
                _cleanup_free_ char *error = NULL;
                Fake f, f2;
                char phases[512];

                m = native_job(&f, set, "vm-auto");
                while (migration_get_phase(m) != table[i].at)
                        step(&f, m);
                ASSERT_OK(migration_build_journal(m, &record));
                ASSERT_NOT_NULL(reparsed = json_tokener_parse(json_object_to_json_string(record)));
                f2 = (Fake) { .now = f.now + USEC_PER_SEC, .timer = USEC_INFINITY };
                ASSERT_OK(migration_new_from_journal(reparsed, &fake_ops, &f2, &n, &error));
                ASSERT_EQ_INT(migration_get_path(n), POLICY_PATH_NATIVE);
                ASSERT_OK(migration_recover(n));
                f2.pending = false;
                migration_action_done(n, ACTION_LOCATE, table[i].located, NULL);
                while (!migration_is_finished(n))
                        step(&f2, n);
                ASSERT_EQ_INT(migration_get_result(n), table[i].result);
                phases_string(n, phases, sizeof phases);
                ASSERT_STREQ(phases, table[i].phases);
                ASSERT_STREQ(f2.log, table[i].log);
                if (table[i].error_has)
                        ASSERT_NOT_NULL(strstr(strna(migration_get_error(n)), table[i].error_has));
                else
                        ASSERT_NULL(migration_get_error(n));
        }
}

static void test_recover(void) {
        static const struct {
                Phase at;
                int located; /* what LOCATE answers */
                JobResult result;
                const char *phases;
                const char *error_has;
        } table[] = {
                { PHASE_MIGRATE, 1, JOB_SUCCEEDED,
                  "preflight:ok failover:ok unplug:ok migrate:interrupted recover:ok plug:ok link:ok failback:ok", NULL },
                { PHASE_MIGRATE, 0, JOB_ROLLED_BACK,
                  "preflight:ok failover:ok unplug:ok migrate:interrupted recover:ok rollback-plug:ok rollback-link:ok rollback-failback:ok",
                  "migrate failed: srvmd stopped during it. Rolled back" },
                { PHASE_UNPLUG, 0, JOB_ROLLED_BACK,
                  "preflight:ok failover:ok unplug:interrupted recover:ok rollback-plug:ok rollback-link:ok rollback-failback:ok",
                  "unplug failed: srvmd stopped during it" },
                /* plug and link run again on the destination: their records hold the new attempt,
                 * after recover in the timeline */
                { PHASE_LINK, 1, JOB_SUCCEEDED,
                  "preflight:ok failover:ok unplug:ok migrate:ok recover:ok plug:ok link:ok failback:ok", NULL },
                { PHASE_PREFLIGHT, 0, JOB_FAILED, "preflight:interrupted recover:ok",
                  "srvmd stopped during preflight; nothing was changed." },
                { PHASE_MIGRATE, -ENOENT, JOB_FAILED, "preflight:ok failover:ok unplug:ok migrate:interrupted recover:failed",
                  "found the domain running on neither host" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Fake f;
                _cleanup_(migration_freep) Migration *m = journal_roundtrip(table[i].at, &f);
                _cleanup_(json_object_putp) json_object *o = NULL;
                char phases[512];

                ASSERT_OK(migration_recover(m));
                ASSERT_ERR(migration_recover(m), EALREADY);
                ASSERT_TRUE(f.pending);
                ASSERT_EQ_INT(f.action, ACTION_LOCATE);
                ASSERT_EQ_INT(f.side, SIDE_SOURCE);
                f.pending = false;
                f.now += USEC_PER_SEC;
                migration_action_done(m, ACTION_LOCATE, table[i].located, NULL);
                while (!migration_is_finished(m))
                        step(&f, m);

                ASSERT_EQ_INT(migration_get_result(m), table[i].result);
                phases_string(m, phases, sizeof phases);
                ASSERT_STREQ(phases, table[i].phases);
                if (table[i].error_has)
                        ASSERT_NOT_NULL(strstr(strna(migration_get_error(m)), table[i].error_has));
                else
                        ASSERT_NULL(migration_get_error(m));
                if (table[i].located == 1)
                        ASSERT_EQ_INT(migration_get_domain_side(m), SIDE_DESTINATION);
                if (table[i].at == PHASE_LINK)
                        ASSERT_EQ_INT(migration_get_phase_attempts(m, PHASE_LINK), 2);
                /* The timeline says where srvmd stopped, even where that phase ran again. */
                o = job_json(m);
                ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "interrupted")),
                             phase_to_string(table[i].at));
                json_object_put(TAKE_PTR(o));
        }
}

/* srvmd stopped twice: in link, then again in the plug it ran after the restart. The job
 * still says it was turned around by the stop in link, and finishes forward. */
static void test_recover_twice(void) {
        Fake f, g;
        _cleanup_(migration_freep) Migration *m = journal_roundtrip(PHASE_LINK, &f), *n = NULL;
        _cleanup_(json_object_putp) json_object *record = NULL, *o = NULL;
        _cleanup_free_ char *error = NULL;
        char phases[512];

        o = job_json(m);
        ASSERT_TRUE(json_object_object_get_ex(o, "interrupted", NULL));
        ASSERT_NULL(json_object_get_string(json_object_object_get(o, "interrupted")));
        ASSERT_OK(migration_recover(m));
        f.pending = false;
        migration_action_done(m, ACTION_LOCATE, 1, NULL);
        ASSERT_EQ_INT(migration_get_phase(m), PHASE_PLUG);

        ASSERT_OK(migration_build_journal(m, &record));
        g = (Fake) { .now = f.now + USEC_PER_SEC, .timer = USEC_INFINITY };
        ASSERT_OK(migration_new_from_journal(record, &fake_ops, &g, &n, &error));
        ASSERT_NULL(error);
        ASSERT_OK(migration_recover(n));
        ASSERT_EQ_INT(g.action, ACTION_LOCATE);
        g.pending = false;
        migration_action_done(n, ACTION_LOCATE, 1, NULL);
        while (!migration_is_finished(n))
                step(&g, n);

        ASSERT_EQ_INT(migration_get_result(n), JOB_SUCCEEDED);
        phases_string(n, phases, sizeof phases);
        ASSERT_STREQ(phases, "preflight:ok failover:ok unplug:ok migrate:ok recover:ok plug:ok link:ok failback:ok");
        ASSERT_EQ_INT(migration_get_phase_attempts(n, PHASE_RECOVER), 2);
        json_object_put(TAKE_PTR(o));
        o = job_json(n);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "interrupted")), "link");
}

/* A finished job reads back as it was written; broken records are refused with the key. */
static void test_journal_records(void) {
        Fake f, g;
        _cleanup_(migration_freep) Migration *m = job_new(&f), *n = NULL;
        _cleanup_(json_object_putp) json_object *record = NULL, *a = NULL, *b = NULL, *broken = NULL;
        _cleanup_free_ char *error = NULL;
        Migration *x = NULL;

        f.script[PHASE_MIGRATE] = OUT_FAIL;
        run(&f, m);
        ASSERT_OK(migration_add_event(m, "an event"));
        migration_set_vm_downtime(m, 12);
        ASSERT_OK(migration_build_journal(m, &record));
        g = (Fake) { .now = f.now, .timer = USEC_INFINITY };
        ASSERT_OK(migration_new_from_journal(record, &fake_ops, &g, &n, NULL));
        ASSERT_TRUE(migration_is_finished(n));
        ASSERT_ERR(migration_recover(n), EALREADY);
        ASSERT_OK(migration_build_json(m, &a));
        ASSERT_OK(migration_build_json(n, &b));
        ASSERT_STREQ(json_object_to_json_string(a), json_object_to_json_string(b));

        broken = json_tokener_parse("{\"id\": 3, \"domain\": \"vm1\", \"source_uri\": \"a\"}");
        ASSERT_ERR(migration_new_from_journal(broken, &fake_ops, &g, &x, &error), EBADMSG);
        ASSERT_NULL(x);
        ASSERT_STREQ(error, "missing \"destination_uri\"");
        free(error);
        error = NULL;

        json_object_object_add(record, "result", json_object_new_string("teleported"));
        ASSERT_ERR(migration_new_from_journal(record, &fake_ops, &g, &x, &error), EBADMSG);
        ASSERT_STREQ(error, "\"result\" has an unknown value \"teleported\"");
}

/* A domain that arrived without its VF: plug, link, failback where it runs, from its plan. */
static void test_arrival(void) {
        Fake f = { .now = 50 * USEC_PER_SEC, .timer = USEC_INFINITY };
        MigrationParams p = {
                .domain = "vm1", .source_uri = "local", .destination_uri = "local", .arrival = true,
                .vf = "ua-vf0", .vf_mac = "52:54:00:00:00:02", .vf_xml = "<interface/>",
        };
        _cleanup_(migration_freep) Migration *m = NULL;
        _cleanup_(json_object_putp) json_object *record = NULL;
        Migration *x = NULL;
        char phases[512];
        usec_t standby;

        ASSERT_OK(migration_new(4, &p, &fake_ops, &f, &m));
        ASSERT_OK(migration_start(m));
        ASSERT_ERR(migration_cancel(m), EBUSY);
        while (!migration_is_finished(m))
                step(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_SUCCEEDED);
        ASSERT_STREQ(f.log, "plug@source link@source failback@source ");
        phases_string(m, phases, sizeof phases);
        ASSERT_STREQ(phases, "plug:ok link:ok failback:ok");
        ASSERT_OK(migration_get_standby_usec(m, &standby));
        ASSERT_EQ_INT(standby, 300 * USEC_PER_MSEC);
        ASSERT_STREQ(migration_get_vf_mac(m), "52:54:00:00:00:02");

        /* Journaled in link, recovered: it goes on here, it never rolls back. */
        Fake g;
        _cleanup_(migration_freep) Migration *n = NULL;
        ASSERT_OK(migration_new(5, &p, &fake_ops, &g, &n));
        g = (Fake) { .now = 1, .timer = USEC_INFINITY };
        ASSERT_OK(migration_start(n));
        step(&g, n);
        ASSERT_EQ_INT(migration_get_phase(n), PHASE_LINK);
        ASSERT_OK(migration_build_journal(n, &record));
        ASSERT_OK(migration_new_from_journal(record, &fake_ops, &g, &x, NULL));
        ASSERT_TRUE(migration_is_arrival(x));
        g.pending = false;
        ASSERT_OK(migration_recover(x));
        g.pending = false;
        migration_action_done(x, ACTION_LOCATE, 0, NULL);
        ASSERT_EQ_INT(migration_get_phase(x), PHASE_PLUG);
        ASSERT_EQ_INT(g.side, SIDE_SOURCE);
        migration_free(x);

        /* An arrival needs what the plan holds. */
        p.vf_xml = NULL;
        ASSERT_ERR(migration_new(6, &p, &fake_ops, &f, &x), EINVAL);
}

/* libvirtd went away under the migration (-ENOTCONN): the job locates the domain as after a
 * restart of srvmd, then finishes where it runs; other actions fail as always. */
static void test_lost_libvirt(void) {
        static const struct {
                int located;
                JobResult result;
                const char *phases;
                const char *error_has;
                const char *event_has;
        } table[] = {
                { 1, JOB_SUCCEEDED,
                  "preflight:ok failover:ok unplug:ok migrate:interrupted recover:ok plug:ok link:ok failback:ok", NULL,
                  "the connection to libvirt closed in phase migrate; the domain runs on the destination" },
                { 0, JOB_ROLLED_BACK,
                  "preflight:ok failover:ok unplug:ok migrate:interrupted recover:ok rollback-plug:ok rollback-link:ok rollback-failback:ok",
                  "migrate failed: the connection to libvirt closed during it. Rolled back",
                  "the domain runs on the source: rolling back" },
                { -ENOENT, JOB_FAILED, "preflight:ok failover:ok unplug:ok migrate:interrupted recover:failed",
                  "the connection to libvirt closed in phase migrate, and then the domain was found running on neither host",
                  "finding where the domain runs" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Fake f;
                _cleanup_(migration_freep) Migration *m = job_new(&f);
                _cleanup_(json_object_putp) json_object *o = NULL;
                char phases[512];
                bool found = false;

                ASSERT_OK(migration_start(m));
                while (migration_get_phase(m) != PHASE_MIGRATE)
                        step(&f, m);
                f.pending = false;
                f.now += USEC_PER_SEC;
                migration_action_done(m, ACTION_MIGRATE, -ENOTCONN, "End of file while reading data");
                ASSERT_EQ_INT(migration_get_phase(m), PHASE_RECOVER);
                ASSERT_TRUE(f.pending);
                ASSERT_EQ_INT(f.action, ACTION_LOCATE);
                f.pending = false;
                migration_action_done(m, ACTION_LOCATE, table[i].located, NULL);
                while (!migration_is_finished(m))
                        step(&f, m);

                ASSERT_EQ_INT(migration_get_result(m), table[i].result);
                phases_string(m, phases, sizeof phases);
                ASSERT_STREQ(phases, table[i].phases);
                if (table[i].error_has)
                        ASSERT_NOT_NULL(strstr(strna(migration_get_error(m)), table[i].error_has));
                else
                        ASSERT_NULL(migration_get_error(m));
                o = job_json(m);
                for (size_t k = 0; k < json_object_array_length(json_object_object_get(o, "events")); k++) {
                        json_object *e = json_object_array_get_idx(json_object_object_get(o, "events"), k);

                        found = found || strstr(json_object_get_string(json_object_object_get(e, "message")),
                                                table[i].event_has);
                }
                ASSERT_TRUE(found);
        }

        /* Any other action that loses libvirt just fails: unplug rolls back as ever. */
        Fake g;
        _cleanup_(migration_freep) Migration *n = job_new(&g);
        ASSERT_OK(migration_start(n));
        while (migration_get_phase(n) != PHASE_UNPLUG)
                step(&g, n);
        g.pending = false;
        migration_action_done(n, ACTION_UNPLUG, -ENOTCONN, "End of file while reading data");
        ASSERT_EQ_INT(migration_get_phase(n), PHASE_ROLLBACK_PLUG);
}

/* An arrival with no plan: preflight first; a failed check plugs nothing. */
static void test_arrival_check(void) {
        static const struct {
                Outcome preflight;
                bool cancel;
                JobResult result;
                const char *log;
                const char *phases;
                const char *error_has;
        } table[] = {
                { OUT_OK, false, JOB_SUCCEEDED, "preflight@source plug@source link@source failback@source ",
                  "preflight:ok plug:ok link:ok failback:ok", NULL },
                { OUT_FAIL, false, JOB_FAILED, "preflight@source ", "preflight:failed",
                  "Domain 'vm1': arrived without a VF, and the checks before plugging one failed: it broke. Nothing was plugged." },
                { OUT_NOSTART, false, JOB_FAILED, "", "preflight:failed", "Nothing was plugged." },
                { OUT_OK, true, JOB_CANCELLED, "preflight@source ", "preflight:ok",
                  "cancelled after preflight; nothing was changed." },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Fake f = { .now = 50 * USEC_PER_SEC, .timer = USEC_INFINITY };
                MigrationParams p = {
                        .domain = "vm1", .source_uri = "local", .destination_uri = "local", .arrival = true,
                        .arrival_check = true, .vf = "ua-srvm-vf", .vf_mac = "52:54:00:00:00:02",
                        .vf_xml = "<interface/>", .bond = "bond1",
                };
                _cleanup_(migration_freep) Migration *m = NULL;
                char phases[512];

                f.script[PHASE_PREFLIGHT] = table[i].preflight;
                ASSERT_OK(migration_new(4, &p, &fake_ops, &f, &m));
                ASSERT_OK(migration_start(m));
                if (table[i].cancel)
                        ASSERT_OK(migration_cancel(m)); /* nothing plugged yet: it may stop */
                while (!migration_is_finished(m)) {
                        step(&f, m);
                        if (migration_get_phase(m) == PHASE_PLUG)
                                ASSERT_ERR(migration_cancel(m), EBUSY); /* from here it finishes forward */
                }
                ASSERT_EQ_INT(migration_get_result(m), table[i].result);
                ASSERT_STREQ(f.log, table[i].log);
                phases_string(m, phases, sizeof phases);
                ASSERT_STREQ(phases, table[i].phases);
                if (table[i].error_has)
                        ASSERT_NOT_NULL(strstr(strna(migration_get_error(m)), table[i].error_has));
                else
                        ASSERT_NULL(migration_get_error(m));
                ASSERT_STREQ(migration_get_bond(m), "bond1");
                ASSERT_STREQ(migration_get_vf_alias(m), "ua-srvm-vf");
        }

        /* Journaled in preflight and recovered: the checks run again before anything is plugged. */
        Fake g = { .now = 1, .timer = USEC_INFINITY };
        MigrationParams p = {
                .domain = "vm1", .source_uri = "local", .destination_uri = "local", .arrival = true,
                .arrival_check = true, .vf = "ua-srvm-vf", .vf_mac = "52:54:00:00:00:02", .vf_xml = "<interface/>",
        };
        _cleanup_(migration_freep) Migration *n = NULL, *x = NULL;
        _cleanup_(json_object_putp) json_object *record = NULL;
        char phases[512];

        ASSERT_OK(migration_new(5, &p, &fake_ops, &g, &n));
        ASSERT_OK(migration_start(n));
        ASSERT_EQ_INT(migration_get_phase(n), PHASE_PREFLIGHT);
        ASSERT_OK(migration_build_journal(n, &record));
        ASSERT_OK(migration_new_from_journal(record, &fake_ops, &g, &x, NULL));
        g.pending = false;
        g.log[0] = 0;
        ASSERT_OK(migration_recover(x));
        g.pending = false;
        migration_action_done(x, ACTION_LOCATE, 0, NULL);
        ASSERT_EQ_INT(migration_get_phase(x), PHASE_PREFLIGHT);
        while (!migration_is_finished(x))
                step(&g, x);
        ASSERT_EQ_INT(migration_get_result(x), JOB_SUCCEEDED);
        ASSERT_STREQ(g.log, "locate@source preflight@source plug@source link@source failback@source ");
        phases_string(x, phases, sizeof phases);
        ASSERT_STREQ(phases, "recover:ok preflight:ok plug:ok link:ok failback:ok");
}

/* Agent samples add up per command, and the JSON has each command's count, total and max. */
static void test_agent_samples(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);
        _cleanup_(json_object_putp) json_object *o = NULL;
        const AgentStats *a;
        json_object *agent, *exec, *status;

        o = job_json(m);
        agent = json_object_object_get(o, "agent");
        ASSERT_TRUE(json_object_is_type(agent, json_type_object));
        ASSERT_EQ_INT(json_object_object_length(agent), 0);
        json_object_put(TAKE_PTR(o));

        ASSERT_NULL(migration_get_agent_stats(m, "guest-exec"));
        ASSERT_OK(migration_add_agent_sample(m, "guest-exec", 2500));
        ASSERT_OK(migration_add_agent_sample(m, "guest-exec-status", 1000));
        ASSERT_OK(migration_add_agent_sample(m, "guest-exec", 7000));
        ASSERT_OK(migration_add_agent_sample(m, "guest-exec-status", 0));
        ASSERT_OK(migration_add_agent_sample(m, "guest-exec-status", 3000));
        ASSERT_ERR(migration_add_agent_sample(m, NULL, 1), EINVAL);
        ASSERT_ERR(migration_add_agent_sample(NULL, "guest-ping", 1), EINVAL);
        ASSERT_ERR(migration_add_agent_sample(m, "guest-ping", USEC_INFINITY), EINVAL);

        a = migration_get_agent_stats(m, "guest-exec");
        ASSERT_NOT_NULL(a);
        ASSERT_EQ_INT(a->count, 2);
        ASSERT_EQ_INT(a->total, 9500);
        ASSERT_EQ_INT(a->max, 7000);
        ASSERT_NULL(migration_get_agent_stats(m, "guest-ping"));

        o = job_json(m);
        agent = json_object_object_get(o, "agent");
        ASSERT_EQ_INT(json_object_object_length(agent), 2);
        exec = json_object_object_get(agent, "guest-exec");
        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(exec, "count")), 2);
        ASSERT_TRUE(json_object_get_double(json_object_object_get(exec, "total_ms")) == 9.5);
        ASSERT_TRUE(json_object_get_double(json_object_object_get(exec, "max_ms")) == 7.0);
        status = json_object_object_get(agent, "guest-exec-status");
        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(status, "count")), 3);
        ASSERT_TRUE(json_object_get_double(json_object_object_get(status, "total_ms")) == 4.0);
        ASSERT_TRUE(json_object_get_double(json_object_object_get(status, "max_ms")) == 3.0);
}

static void test_rollback_fails(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);
        char phases[512];

        f.script[PHASE_MIGRATE] = OUT_FAIL;
        f.script[PHASE_ROLLBACK_LINK] = OUT_FAIL;
        run(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_FAILED);
        phases_string(m, phases, sizeof phases);
        ASSERT_STREQ(phases, "preflight:ok failover:ok unplug:ok migrate:failed rollback-plug:ok rollback-link:failed");
        ASSERT_NOT_NULL(strstr(migration_get_error(m), "then rollback-link failed"));
        ASSERT_NOT_NULL(strstr(migration_get_error(m), "on the source on its virtio-net standby"));
}

/* Cancel while each phase's action is in flight. */
static void test_cancel(void) {
        static const struct {
                Phase phase;
                int r;
                JobResult result;
                const char *phases;
        } table[] = {
                { PHASE_PREFLIGHT, 0, JOB_CANCELLED, "preflight:ok" },
                { PHASE_FAILOVER, 0, JOB_CANCELLED, "preflight:ok failover:ok rollback-plug:ok rollback-link:ok rollback-failback:ok" },
                { PHASE_UNPLUG, 0, JOB_CANCELLED, "preflight:ok failover:ok unplug:ok rollback-plug:ok rollback-link:ok rollback-failback:ok" },
                { PHASE_MIGRATE, 0, JOB_CANCELLED, "preflight:ok failover:ok unplug:ok migrate:cancelled rollback-plug:ok rollback-link:ok rollback-failback:ok" },
                { PHASE_PLUG, -EBUSY, JOB_SUCCEEDED, forward },
                { PHASE_FAILBACK, -EBUSY, JOB_SUCCEEDED, forward },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Fake f;
                _cleanup_(migration_freep) Migration *m = job_new(&f);
                char phases[512];

                ASSERT_OK(migration_start(m));
                while (migration_get_phase(m) != table[i].phase)
                        step(&f, m);
                ASSERT_EQ_INT(migration_cancel(m), table[i].r);
                if (table[i].r == 0) {
                        ASSERT_EQ_INT(f.cancels, 1);
                        ASSERT_ERR(migration_cancel(m), EALREADY);
                        /* the action answers: a migrate that was aborted fails, the others end normally */
                        if (table[i].phase == PHASE_MIGRATE)
                                f.script[PHASE_MIGRATE] = OUT_FAIL;
                }
                while (!migration_is_finished(m))
                        step(&f, m);
                ASSERT_EQ_INT(migration_get_result(m), table[i].result);
                phases_string(m, phases, sizeof phases);
                ASSERT_STREQ(phases, table[i].phases);
                ASSERT_ERR(migration_cancel(m), ESTALE);
        }

        /* Cancel while unplug waits for DEVICE_REMOVED, with no action in flight. */
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);
        ASSERT_OK(migration_start(m));
        while (migration_get_phase(m) != PHASE_UNPLUG)
                step(&f, m);
        f.pending = false;
        migration_action_done(m, ACTION_UNPLUG, 0, NULL);
        ASSERT_EQ_INT(migration_get_phase(m), PHASE_UNPLUG);
        ASSERT_OK(migration_cancel(m));
        ASSERT_EQ_INT(migration_get_phase(m), PHASE_ROLLBACK_PLUG);
        while (!migration_is_finished(m))
                step(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_CANCELLED);
        ASSERT_STREQ(migration_get_error(m), "Domain 'vm1': cancelled; the domain stays on the source with its VF active.");
}

static void test_late_answers_ignored(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);

        ASSERT_OK(migration_start(m));
        /* An answer for an action that is not in flight changes nothing. */
        migration_action_done(m, ACTION_MIGRATE, 0, NULL);
        ASSERT_EQ_INT(migration_get_phase(m), PHASE_PREFLIGHT);
        migration_device_removed(m, "ua-vf0");
        ASSERT_EQ_INT(migration_get_phase(m), PHASE_PREFLIGHT);
        ASSERT_ERR(migration_start(m), EALREADY);
}

static void test_json(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *phases, *v;
        int64_t prev_end = 0;

        run(&f, m);
        migration_set_vm_downtime(m, 183);
        o = job_json(m);

        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(o, "id")), 7);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "domain")), "vm1");
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "source_uri")), "qemu:///system");
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "destination_uri")), "qemu+ssh://b/system");
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "result")), "succeeded");
        ASSERT_TRUE(json_object_object_get_ex(o, "error", &v) && v == NULL);
        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(o, "vm_downtime_ms")), 183);
        /* standby: from failover's end to failback's end = unplug, migrate, plug, link, failback = 5 x 100 ms */
        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(o, "standby_ms")), 500);

        phases = json_object_object_get(o, "phases");
        ASSERT_EQ_INT(json_object_array_length(phases), 7);
        for (size_t i = 0; i < 7; i++) {
                json_object *ph = json_object_array_get_idx(phases, i);
                int64_t start = json_object_get_int64(json_object_object_get(ph, "start_us"));
                int64_t duration = json_object_get_int64(json_object_object_get(ph, "duration_us"));

                ASSERT_EQ_INT(duration, 100 * USEC_PER_MSEC);
                ASSERT_TRUE(start >= prev_end); /* in order, on one clock */
                prev_end = start + duration;
        }

        /* A job that never failed back has no standby figure; one without an event no downtime. */
        Fake g;
        _cleanup_(migration_freep) Migration *n = job_new(&g);
        _cleanup_(json_object_putp) json_object *p = NULL;
        g.script[PHASE_PLUG] = OUT_FAIL;
        run(&g, n);
        p = job_json(n);
        ASSERT_TRUE(json_object_object_get_ex(p, "standby_ms", &v) && v == NULL);
        ASSERT_TRUE(json_object_object_get_ex(p, "vm_downtime_ms", &v) && v == NULL);
}

static void test_running_json(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *ph;

        ASSERT_OK(migration_start(m));
        f.now += 42;
        o = job_json(m);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "result")), "running");
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "phase")), "preflight");
        ph = json_object_array_get_idx(json_object_object_get(o, "phases"), 0);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(ph, "result")), "running");
        ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(ph, "duration_us")), 42);
        ASSERT_TRUE(f.changes >= 1);
}

static int64_t json_int(json_object *o, const char *key) {
        json_object *v;

        ASSERT_TRUE(json_object_object_get_ex(o, key, &v));
        ASSERT_TRUE(json_object_is_type(v, json_type_int));
        return json_object_get_int64(v);
}

/* What the job waited on (its actions, DEVICE_REMOVED, a retry's backoff), per phase and in
 * all, and srvmd's own time: the rest of the wall time. Each changed() costs 1 ms here,
 * standing in for the journal write and the signals srvmd sends on a phase change. */
static void test_waited(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = job_new(&f);
        _cleanup_(json_object_putp) json_object *o = NULL, *running = NULL, *none = NULL;
        json_object *phases, *v;
        usec_t wall, waited;

        ASSERT_ERR(migration_get_wall_usec(m, &wall, &waited), ENODATA);
        none = job_json(m);
        ASSERT_TRUE(json_object_object_get_ex(none, "overhead_ms", &v) && v == NULL);

        f.changed_cost = USEC_PER_MSEC;
        f.unplug_by_event = true; /* unplug waits 100 ms on detach, then 50 ms on the event */
        ASSERT_OK(migration_start(m));
        while (migration_get_phase(m) != PHASE_MIGRATE)
                step(&f, m);
        f.now += 30 * USEC_PER_MSEC; /* mid-migration: the wait so far counts */
        running = job_json(m);
        v = json_object_array_get_idx(json_object_object_get(running, "phases"), 3);
        ASSERT_STREQ(json_object_get_string(json_object_object_get(v, "name")), "migrate");
        ASSERT_EQ_INT(json_int(v, "waited_us"), 30 * USEC_PER_MSEC);
        ASSERT_EQ_INT(json_int(running, "waited_ms"), 100 + 100 + 150 + 30);
        ASSERT_EQ_INT(json_int(running, "overhead_ms"), 4); /* 4 phases entered, 1 ms each */
        f.now -= 30 * USEC_PER_MSEC;
        while (!migration_is_finished(m))
                step(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_SUCCEEDED);

        o = job_json(m);
        phases = json_object_object_get(o, "phases");
        ASSERT_EQ_INT(json_object_array_length(phases), 7);
        for (size_t i = 0; i < 7; i++) {
                json_object *ph = json_object_array_get_idx(phases, i);
                int64_t expect = i == 2 ? 150 * USEC_PER_MSEC : 100 * USEC_PER_MSEC;

                ASSERT_EQ_INT(json_int(ph, "waited_us"), expect);
                /* the phase began 1 ms before its action: srvmd's own time */
                ASSERT_EQ_INT(json_int(ph, "duration_us"), expect + USEC_PER_MSEC);
        }
        ASSERT_EQ_INT(json_int(o, "wall_ms"), 757);
        ASSERT_EQ_INT(json_int(o, "waited_ms"), 750);
        ASSERT_EQ_INT(json_int(o, "overhead_ms"), 7);
        ASSERT_OK(migration_get_wall_usec(m, &wall, &waited));
        ASSERT_EQ_INT(wall - waited, 7 * USEC_PER_MSEC);

        /* A retried plug: its attempts and the backoff between them are waits too. */
        Fake g;
        _cleanup_(migration_freep) Migration *n = job_new_retrying(&g, 3);
        ASSERT_OK(migration_start(n));
        while (migration_get_phase(n) != PHASE_PLUG)
                step(&g, n);
        g.script[PHASE_PLUG] = OUT_FAIL;
        plug_fails_once_more(&g, n, 2 * USEC_PER_SEC);
        g.script[PHASE_PLUG] = OUT_OK;
        while (!migration_is_finished(n))
                step(&g, n);
        ASSERT_EQ_INT(migration_get_phase_attempts(n, PHASE_PLUG), 2);
        ASSERT_OK(migration_get_phase_waited_usec(n, PHASE_PLUG, &waited));
        ASSERT_EQ_INT(waited, 100 * USEC_PER_MSEC + 2 * USEC_PER_SEC + 100 * USEC_PER_MSEC);
        ASSERT_OK(migration_get_wall_usec(n, &wall, &waited));
        ASSERT_EQ_INT(wall, waited); /* changed() cost nothing here */
        ASSERT_ERR(migration_get_phase_waited_usec(n, PHASE_RECOVER, &waited), ENOENT);
        ASSERT_ERR(migration_get_phase_waited_usec(n, _PHASE_MAX, &waited), EINVAL);
}

/* The waits travel with the journal; a phase srvmd was not there for counts as waited. */
/* A queued job handed to the next srvmd at a stop: its record reads back as queued, with what
 * was asked (bond, VF, who, when), recover leaves it alone and start runs it from preflight. A
 * record without phases that does not say queued is refused. */
static void test_journal_queued(void) {
        const JobRequest request = { .via = JOB_REQUEST_BUS, .have_uid = true, .uid = 1000, .user = "alice" };
        MigrationParams p = {
                .domain = "vm1",
                .source_uri = "qemu:///system",
                .destination_uri = "qemu+ssh://b/system",
                .migrate_uri = "tcp://127.0.0.1:49152",
                .bond = "bond1",
                .vf = "ua-vf0",
                .request = &request,
                .started_realtime = 1796240701 * USEC_PER_SEC,
        };
        Fake f = { .now = 1000 * USEC_PER_SEC, .timer = USEC_INFINITY }, g;
        _cleanup_(migration_freep) Migration *m = NULL, *n = NULL;
        _cleanup_(json_object_putp) json_object *record = NULL, *reparsed = NULL, *a = NULL, *b = NULL;
        _cleanup_free_ char *error = NULL;
        Migration *x = NULL;

        ASSERT_OK(migration_new(11, &p, &fake_ops, &f, &m));
        ASSERT_TRUE(migration_is_queued(m));
        ASSERT_OK(migration_build_journal(m, &record));
        reparsed = json_tokener_parse(json_object_to_json_string(record));
        ASSERT_NOT_NULL(reparsed);

        g = (Fake) { .now = f.now + 5 * USEC_PER_SEC, .timer = USEC_INFINITY };
        ASSERT_OK(migration_new_from_journal(reparsed, &fake_ops, &g, &n, &error));
        ASSERT_NULL(error);
        ASSERT_TRUE(migration_is_queued(n));
        ASSERT_TRUE(!migration_is_finished(n));
        ASSERT_EQ_INT(migration_get_id(n), 11);
        ASSERT_STREQ(migration_get_bond(n), "bond1");
        ASSERT_STREQ(migration_get_vf_spec(n), "ua-vf0");
        ASSERT_STREQ(migration_get_migrate_uri(n), "tcp://127.0.0.1:49152");
        ASSERT_OK(migration_build_json(m, &a));
        ASSERT_OK(migration_build_json(n, &b));
        ASSERT_STREQ(json_object_to_json_string(a), json_object_to_json_string(b)); /* who, when, as asked */
        ASSERT_ERR(migration_recover(n), EALREADY);
        ASSERT_TRUE(!g.pending);

        ASSERT_OK(migration_start(n));
        ASSERT_EQ_INT(migration_get_phase(n), PHASE_PREFLIGHT);
        ASSERT_TRUE(g.pending);
        ASSERT_TRUE(!migration_is_queued(n));

        json_object_object_add(reparsed, "queued", json_object_new_boolean(false));
        ASSERT_ERR(migration_new_from_journal(reparsed, &fake_ops, &g, &x, &error), EBADMSG);
        ASSERT_NULL(x);
        ASSERT_STREQ(error, "an unfinished job without phases");
}

static void test_waited_journal(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = journal_roundtrip(PHASE_MIGRATE, &f);
        usec_t waited, wall;

        ASSERT_OK(migration_get_phase_waited_usec(m, PHASE_FAILOVER, &waited));
        ASSERT_EQ_INT(waited, 100 * USEC_PER_MSEC);
        ASSERT_OK(migration_recover(m)); /* 5 s later: migrate was interrupted */
        ASSERT_OK(migration_get_phase_waited_usec(m, PHASE_MIGRATE, &waited));
        ASSERT_EQ_INT(waited, 5 * USEC_PER_SEC);
        f.pending = false;
        f.now += USEC_PER_SEC;
        migration_action_done(m, ACTION_LOCATE, 1, NULL);
        while (!migration_is_finished(m))
                step(&f, m);
        ASSERT_OK(migration_get_wall_usec(m, &wall, &waited));
        ASSERT_EQ_INT(wall, waited);
}

static void test_params(void) {
        Fake f = { .timer = USEC_INFINITY };
        Migration *m = NULL;
        MigrationParams p = { .domain = "vm1", .source_uri = "a", .destination_uri = "" };

        ASSERT_ERR(migration_new(1, &p, &fake_ops, &f, &m), EINVAL);
        p.destination_uri = "b";
        p.domain = "";
        ASSERT_ERR(migration_new(1, &p, &fake_ops, &f, &m), EINVAL);
        ASSERT_NULL(m);
        p.domain = "vm1";
        p.phase_budget[PHASE_MIGRATE] = 5 * USEC_PER_SEC;
        ASSERT_OK(migration_new(1, &p, &fake_ops, &f, &m));
        ASSERT_STREQ(migration_get_bond(m), "bond0");
        ASSERT_NULL(migration_get_migrate_uri(m));
        ASSERT_NULL(migration_get_vf_spec(m));
        migration_free(m);
        ASSERT_NULL(migration_free(NULL));
}

static void test_string_tables(void) {
        for (Phase p = 0; p < _PHASE_MAX; p++) {
                ASSERT_NOT_NULL(phase_to_string(p));
                ASSERT_EQ_INT(phase_from_string(phase_to_string(p)), p);
                ASSERT_TRUE(phase_default_budget(p) > 0);
        }
        for (JobResult r = 0; r < _JOB_RESULT_MAX; r++)
                ASSERT_EQ_INT(job_result_from_string(job_result_to_string(r)), r);
        for (PhaseResult r = 0; r < _PHASE_RESULT_MAX; r++)
                ASSERT_EQ_INT(phase_result_from_string(phase_result_to_string(r)), r);
        for (Action a = 0; a < _ACTION_MAX; a++)
                ASSERT_EQ_INT(action_from_string(action_to_string(a)), a);
        ASSERT_EQ_INT(phase_from_string("teleport"), _PHASE_INVALID);
        ASSERT_EQ_INT(job_result_from_string(NULL), _JOB_RESULT_INVALID);
        ASSERT_NULL(phase_to_string(_PHASE_MAX));
        ASSERT_STREQ(job_result_to_string(JOB_ROLLED_BACK), "rolled-back");
}

/* Text from a guest or libvirt that is not UTF-8 must not make the job unreadable on D-Bus
 * (which refuses such a string): the job stores it with the broken bytes as '?'. */
static void test_foreign_text(void) {
        static const struct {
                const char *in, *out;
        } texts[] = {
                { "plain ascii", "plain ascii" },
                { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7" },
                { "bad \xff\xfe end", "bad ?? end" },
                { "cut \xc3", "cut ?" },                        /* a sequence the end cut short */
                { "cut \xe2\x82", "cut ??" },
                { "overlong \xc0\xaf", "overlong ??" },
                { "overlong \xe0\x80\xaf", "overlong ???" },
                { "surrogate \xed\xa0\x80", "surrogate ???" },
                { "too big \xf4\x90\x80\x80", "too big ????" },
                { "stray \x80 continuation", "stray ? continuation" },
        };
        Fake f;
        _cleanup_(migration_freep) Migration *m = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        char buf[64];

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                snprintf(buf, sizeof buf, "%s", texts[i].in);
                ASSERT_TRUE(utf8_is_valid(buf) == streq(texts[i].in, texts[i].out));
                ASSERT_STREQ(utf8_scrub(buf), texts[i].out);
                ASSERT_TRUE(utf8_is_valid(buf));
        }
        ASSERT_NULL(utf8_scrub(NULL));

        m = job_new(&f);
        f.script[PHASE_FAILOVER] = OUT_FAIL;
        f.fail_message = "srvm-guest: \xff\xfe\xc3";
        ASSERT_OK(migration_start(m));
        ASSERT_OK(migration_add_event(m, "the agent said %s", "\x80!"));
        while (!migration_is_finished(m))
                step(&f, m);
        ASSERT_EQ_INT(migration_get_result(m), JOB_FAILED);
        ASSERT_TRUE(utf8_is_valid(migration_get_error(m)));
        ASSERT_NOT_NULL(strstr(migration_get_error(m), "srvm-guest: \\xff\\xfe\\xc3"));
        o = job_json(m);
        ASSERT_TRUE(utf8_is_valid(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)));
        ASSERT_STREQ(json_object_get_string(json_object_object_get(
                             json_object_array_get_idx(json_object_object_get(o, "events"), 0), "message")),
                     "the agent said \\x80!");
}

/* A guest's words cannot steer a terminal or forge a log line, and cannot grow a job without
 * bound: each text is escaped and cut, the events are capped, and the job's JSON and journal
 * record stay far under what the journal's loader takes (4 MiB). */
static void test_hostile_text(void) {
        Fake f;
        _cleanup_(migration_freep) Migration *m = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL, *j = NULL;
        _cleanup_free_ char *big = malloc(3 * 1024 * 1024 + 1);
        json_object *events;
        const char *s;

        ASSERT_NOT_NULL(big);
        memset(big, '/', 3 * 1024 * 1024);
        big[3 * 1024 * 1024] = '\0';
        static const char head[] = "bond0 is down\n<0>FORGED\x1b[2J";
        memcpy(big, head, strlen(head));

        m = job_new(&f);
        f.script[PHASE_FAILOVER] = OUT_FAIL;
        f.fail_message = big;
        ASSERT_OK(migration_start(m));
        for (int i = 0; i < 300; i++)
                ASSERT_OK(migration_add_event(m, "guest said: %s", big + 3 * 1024 * 1024 - 64 * 1024));
        while (!migration_is_finished(m))
                step(&f, m);

        s = migration_get_error(m);
        ASSERT_TRUE(utf8_is_escaped(s));
        ASSERT_NOT_NULL(strstr(s, "bond0 is down\\n<0>FORGED\\x1b[2J"));
        ASSERT_NOT_NULL(strstr(s, " bytes cut]"));
        ASSERT_TRUE(strlen(s) < 4096 + 200);

        o = job_json(m);
        events = json_object_object_get(o, "events");
        ASSERT_TRUE(json_object_array_length(events) <= 256);
        for (size_t i = 0; i < json_object_array_length(events); i++)
                ASSERT_TRUE(utf8_is_escaped(json_object_get_string(
                        json_object_object_get(json_object_array_get_idx(events, i), "message"))));
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        ASSERT_TRUE(strlen(s) < 3 * 1024 * 1024);
        ASSERT_OK(migration_build_journal(m, &j));
        ASSERT_TRUE(strlen(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN)) < 3 * 1024 * 1024);
        /* The first events stay, and the latest. */
        ASSERT_NOT_NULL(strstr(json_object_get_string(json_object_object_get(
                json_object_array_get_idx(events, 16), "message")), "earlier events dropped"));
}

/* A job the manager has not started (queued under the host's cap) says so in its JSON, has
 * done nothing, and a cancel ends it at once without starting anything. */
static void test_queued(void) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        Fake f;
        Migration *m = job_new(&f);

        ASSERT_TRUE(migration_is_queued(m));
        ASSERT_TRUE(!migration_is_finished(m));
        ASSERT_OK(migration_build_json(m, &j));
        ASSERT_STREQ(json_object_get_string(json_object_object_get(j, "phase")), "queued");
        ASSERT_TRUE(json_object_get_boolean(json_object_object_get(j, "queued")));
        ASSERT_STREQ(json_object_get_string(json_object_object_get(j, "result")), "running");

        ASSERT_OK(migration_cancel(m));
        ASSERT_TRUE(migration_is_finished(m));
        ASSERT_TRUE(!migration_is_queued(m));
        ASSERT_EQ_INT(migration_get_result(m), JOB_CANCELLED);
        ASSERT_TRUE(strstr(migration_get_error(m), "cancelled while queued") != NULL);
        ASSERT_TRUE(!f.pending);
        ASSERT_STREQ(f.log, "");
        ASSERT_EQ_INT(f.changes, 1);
        ASSERT_ERR(migration_cancel(m), ESTALE);
        ASSERT_ERR(migration_start(m), ESTALE);
        json_object_put(TAKE_PTR(j));
        ASSERT_OK(migration_build_json(m, &j));
        ASSERT_TRUE(json_object_is_type(json_object_object_get(j, "phase"), json_type_null));
        ASSERT_TRUE(!json_object_get_boolean(json_object_object_get(j, "queued")));
        migration_free(m);

        /* Started, it is no longer queued. */
        m = job_new(&f);
        ASSERT_OK(migration_start(m));
        ASSERT_TRUE(!migration_is_queued(m));
        migration_free(m);
}

int main(void) {
        test_hostile_text();
        test_queued();
        test_cases();
        test_sides();
        test_unplug_waits_for_event();
        test_unplug_refused();
        test_removal_pending();
        test_degraded_retries();
        test_check_only();
        test_policy_progress_events();
        test_convergence();
        test_convergence_abort();
        test_precopy_record();
        test_convergence_none();
        test_preflight_decides();
        test_preflight_path();
        test_native();
        test_native_recover();
        test_recover();
        test_recover_twice();
        test_journal_records();
        test_journal_queued();
        test_arrival();
        test_arrival_check();
        test_lost_libvirt();
        test_agent_samples();
        test_rollback_fails();
        test_cancel();
        test_late_answers_ignored();
        test_json();
        test_running_json();
        test_waited();
        test_waited_journal();
        test_params();
        test_string_tables();
        test_foreign_text();
        printf("test-migration: all passed\n");
        return 0;
}
