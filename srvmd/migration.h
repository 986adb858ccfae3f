/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A migration job: the phase state machine that moves a domain with a VF from one host to
 * another. This code decides; it does not act. Every action (ask the guest to fail over,
 * detach the VF, run the libvirt migration, ...) is started through a backend and reported
 * back with migration_action_done(); timers and the clock come from the backend too. The
 * daemon plugs in the libvirt backend (virt.c), the unit tests a scripted fake, and both
 * drive exactly this code. All calls happen on the daemon's event loop thread. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "job-request.h"
#include "policy-types.h"
#include "macro.h"

typedef enum Phase {
        PHASE_PREFLIGHT,
        PHASE_FAILOVER,
        PHASE_UNPLUG,
        PHASE_MIGRATE,
        PHASE_PLUG,
        PHASE_LINK,
        PHASE_FAILBACK,
        /* Rollback on the source after unplug or migrate failed: the same actions, aimed at
         * the source, recorded under their own names so the timeline says what happened. */
        PHASE_ROLLBACK_PLUG,
        PHASE_ROLLBACK_LINK,
        PHASE_ROLLBACK_FAILBACK,
        /* srvmd restarted while the job ran: find where the domain is, then roll back or go on. */
        PHASE_RECOVER,
        /* The native path's last phase (preflight -> migrate -> verify): on the destination,
         * the VF that moved with the domain is still the bond's active slave, with carrier. */
        PHASE_VERIFY,
        _PHASE_MAX,
        _PHASE_INVALID = -EINVAL,
} Phase;

typedef enum PhaseResult {
        PHASE_RESULT_RUNNING,
        PHASE_RESULT_OK,
        PHASE_RESULT_FAILED,
        PHASE_RESULT_TIMEOUT,
        PHASE_RESULT_CANCELLED,
        PHASE_RESULT_INTERRUPTED, /* srvmd stopped while it ran */
        _PHASE_RESULT_MAX,
        _PHASE_RESULT_INVALID = -EINVAL,
} PhaseResult;

typedef enum JobResult {
        JOB_RUNNING,
        JOB_SUCCEEDED,
        JOB_FAILED,
        JOB_ROLLED_BACK,
        JOB_CANCELLED,
        JOB_DEGRADED, /* on the destination on virtio-net, no VF; may still be retrying */
        _JOB_RESULT_MAX,
        _JOB_RESULT_INVALID = -EINVAL,
} JobResult;

/* What the backend is asked to do. One action is in flight per job at a time. */
typedef enum Action {
        ACTION_PREFLIGHT, /* check everything, learn the VF (migration_set_vf()); touch nothing */
        ACTION_FAILOVER,  /* guest: make the virtio-net slave active, verified */
        ACTION_UNPLUG,    /* detach the VF; r == 1: verified gone, r == 0: wait for DEVICE_REMOVED */
        ACTION_MIGRATE,   /* live pre-copy migration; returns when the domain runs on the destination;
                           * -ENOTCONN: libvirt's connection closed during it, where the domain runs
                           * is not known (the job then locates it, as after a restart) */
        ACTION_PLUG,      /* attach the recorded VF XML; r == 1 if it was already there */
        ACTION_LINK,      /* guest: find the VF by MAC, enslave it, wait for carrier */
        ACTION_FAILBACK,  /* guest: make the VF the active slave, verified */
        ACTION_LOCATE,    /* after a restart: r == 0 the domain runs on the source, r == 1 on the
                           * destination, -ENOENT on neither; opens the destination connection */
        ACTION_VERIFY,    /* guest: the VF (by MAC) is the active slave with carrier; announce */
        _ACTION_MAX,
        _ACTION_INVALID = -EINVAL,
} Action;

typedef enum Side {
        SIDE_SOURCE,
        SIDE_DESTINATION,
        _SIDE_MAX,
        _SIDE_INVALID = -EINVAL,
} Side;

typedef struct Migration Migration;
typedef struct PolicySet PolicySet;

/* What the convergence rule asks of a running migration. */
typedef enum MigrationControl {
        MIGRATION_CONTROL_SET_MAX_DOWNTIME, /* value: the new max downtime in ms */
        MIGRATION_CONTROL_POSTCOPY,
        MIGRATION_CONTROL_ABORT,
        _MIGRATION_CONTROL_MAX,
        _MIGRATION_CONTROL_INVALID = -EINVAL,
} MigrationControl;

typedef struct MigrationBackendOps {
        /* Start action a for m on the given side. Returns < 0 if it could not start (the
         * machine treats that as the action failing); otherwise the backend later calls
         * migration_action_done() exactly once for it, from the loop thread. */
        int (*start_action)(void *userdata, Migration *m, Action a, Side side);
        /* Ask the action in flight to end early (abort the libvirt job, ...). Best effort:
         * migration_action_done() still follows. */
        void (*cancel_action)(void *userdata, Migration *m, Action a);
        /* Arm (or re-arm) the job's one timer to fire at the absolute time usec on the
         * backend's monotonic clock, or disarm it with USEC_INFINITY. On expiry the backend
         * calls migration_timer_elapsed(). */
        int (*arm_timer)(void *userdata, Migration *m, usec_t usec);
        usec_t (*now)(void *userdata);
        /* Something visible changed (phase, result). May be NULL. */
        void (*changed)(void *userdata, Migration *m);
        /* Steer the migration action in flight as the convergence rule decided. Returns < 0
         * if the request could not be sent; a request sent that libvirt then refuses is
         * reported back with migration_add_event(). May be NULL: the rule is not applied. */
        int (*control)(void *userdata, Migration *m, MigrationControl c, uint64_t value);
        /* The policies preflight resolves the domain's policy from (migration_domain_read()).
         * May be NULL: none. */
        const PolicySet *(*policies)(void *userdata);
        /* Preflight's second action: the checks on the hosts, once the job has decided on the
         * domain's XML (migration_get_refusal() and the rest say what it decided); it ends with
         * migration_action_done(ACTION_PREFLIGHT). Returns < 0 if they could not start. May be
         * NULL: the decision alone ends preflight. */
        int (*check)(void *userdata, Migration *m);
} MigrationBackendOps;

typedef struct MigrationParams {
        const char *domain;          /* name */
        const char *source_uri;      /* the local libvirt URI */
        const char *destination_uri; /* the destination's libvirt URI, as virsh uses it */
        const char *migrate_uri;     /* tcp://host:port for the migration stream, or NULL */
        const char *bond;            /* guest bond name, NULL: "bond0" */
        const char *vf;              /* VF device alias or MAC, NULL: found by the backend */
        usec_t phase_budget[_PHASE_MAX]; /* 0: the built-in default */
        /* After the move, how often plug, link and failback are tried again when they fail,
         * and the first wait (doubled each time, up to POLICY_RETRY_DELAY_MAX:
         * policy_retry_delay()). */
        unsigned retries[_PHASE_MAX];
        usec_t retry_backoff[_PHASE_MAX];
        /* The policy's migration settings and convergence rule (borrowed; NULL: none). The
         * state machine applies the rule to the progress it is given while migrate runs. */
        const PolicyMigrationSettings *settings;
        const PolicyConvergence *convergence;
        bool check_only; /* run preflight and stop: `srvmctl check` */
        /* A domain that arrived here without its VF (a migration whose coordinator went away,
         * or one made by another tool): plug, link and fail back on this host, from the plan
         * the source wrote into the domain's metadata. vf is then the VF's alias. */
        bool arrival;
        const char *vf_mac;
        const char *vf_xml;
        /* An arrival with no plan, whose VF comes from its policy: preflight first (through
         * the guest agent: srvm-guest and the bond answer as the policy says), then plug,
         * link, failback; a failed check plugs nothing. */
        bool arrival_check;
        /* Who asked (NULL: srvmd itself) and the wall-clock time the job started (0: now). */
        const JobRequest *request;
        usec_t started_realtime;
} MigrationParams;


int migration_new(uint32_t id, const MigrationParams *p, const MigrationBackendOps *ops,
                  void *userdata, Migration **ret);
Migration *migration_free(Migration *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Migration *, migration_free);

/* Pre-copy progress, from libvirt's job stats and iteration events. */
typedef struct MigrationProgress {
        unsigned iteration;            /* pre-copy passes over memory so far */
        uint64_t data_total_bytes;
        uint64_t data_processed_bytes;
        uint64_t data_remaining_bytes;
        uint64_t dirty_rate_bytes_s;   /* how fast the guest dirties memory */
        uint64_t bandwidth_bytes_s;    /* how fast memory is sent */
        uint64_t max_downtime_ms;      /* the limit in force now */
        bool postcopy;                 /* switched to post-copy */
} MigrationProgress;

/* Enter preflight and start the job. A job is finished when it will do nothing more; a
 * degraded job that still retries is not finished. */
int migration_start(Migration *m);

/* Inputs to the machine. */
void migration_action_done(Migration *m, Action a, int r, const char *message);
void migration_device_removed(Migration *m, const char *alias);
/* libvirt's DEVICE_REMOVAL_FAILED: the guest refused to release the device. */
void migration_device_removal_failed(Migration *m, const char *alias);
/* Whether the VF's detach returned and libvirt never confirmed the removal: a plug back on
 * the source gives the guest a moment to let it go first (Request.removal_pending). */
bool migration_vf_removal_pending(const Migration *m);
/* The backend's plug back found that the guest let the VF go while it waited. */
void migration_vf_removed_late(Migration *m);
void migration_timer_elapsed(Migration *m);
int migration_cancel(Migration *m);
void migration_set_vm_downtime(Migration *m, uint64_t ms);
/* The policy that governs the job, resolved during preflight: its name, and its bond, VF,
 * budgets, retries, migration settings and convergence rule, each taken unless the job's own
 * parameters set it. Re-arms the current phase's budget. */
int migration_apply_policy(Migration *m, const char *name, const MigrationParams *p);
/* Pre-copy progress as the backend read it (job stats). The job keeps the highest iteration
 * it heard of and, once the policy is applied, states the max downtime in force itself. While
 * migrate runs, each pre-copy iteration that did not converge goes through the policy's
 * convergence rule, once, and what it decides is asked of the backend (ops->control()) and
 * written into the job's events. */
int migration_set_progress(Migration *m, const MigrationProgress *p);
/* Preflight's first action read the domain's XML and the hosts' facts (NULL: none known):
 * the job decides on them (preflight.h: policy, VF, plug XML, migration path, refusal), applies the policy, and asks the backend for the checks
 * (ops->check()) or, without them, ends preflight. Ignored unless preflight waits for it. */
struct PreflightHostFacts;
void migration_domain_read(Migration *m, const char *domain_xml, const struct PreflightHostFacts *facts);
/* What preflight decided, for the checks and the later actions; the defaults (NULL, 0,
 * _INVALID) before, for arrivals, and for a job restarted from the journal. */
const PolicyMigrationSettings *migration_get_settings(const Migration *m);
usec_t migration_get_agent_timeout(const Migration *m);
PolicyPlugSource migration_get_plug_source(const Migration *m);
const char *migration_get_plug_network(const Migration *m);
const char *migration_get_plug_xml(const Migration *m);
const char *migration_get_refusal(const Migration *m);
PolicyMatchKind migration_get_policy_match(const Migration *m);
/* libvirt's MIGRATION_ITERATION event: pre-copy started pass number iteration. */
int migration_set_iteration(Migration *m, unsigned iteration);
/* The max downtime in force: the policy's at first, then as the convergence rule raised it;
 * 0 before a policy is applied. */
uint64_t migration_get_max_downtime(const Migration *m);
/* Something the job decided or saw that the timeline alone does not say ("raised the max
 * downtime to 400 ms after 5 iterations"); kept in order in the job's JSON "events". */
int migration_add_event(Migration *m, const char *fmt, ...) _printf_(2, 3);
/* The guest agent's latency as this job saw it, per agent command ("guest-exec",
 * "guest-exec-status", "guest-ping"): one sample per command that answered. The job's JSON
 * gives "agent": {COMMAND: {"count", "total_ms", "max_ms"}}. */
typedef struct AgentStats {
        char *command; /* owned */
        uint64_t count;
        usec_t total;
        usec_t max;
} AgentStats;
int migration_add_agent_sample(Migration *m, const char *command, usec_t usec);
/* NULL when the job has no sample of command. */
const AgentStats *migration_get_agent_stats(const Migration *m, const char *command);
/* What preflight learned of the VF: alias, MAC, and its device XML to re-plug. */
int migration_set_vf(Migration *m, const char *alias, const char *mac, const char *xml);

/* Accessors. */
uint32_t migration_get_id(const Migration *m);
const char *migration_get_domain(const Migration *m);
const char *migration_get_source_uri(const Migration *m);
const char *migration_get_destination_uri(const Migration *m);
const char *migration_get_migrate_uri(const Migration *m);
const char *migration_get_bond(const Migration *m);
const char *migration_get_vf_spec(const Migration *m);
const char *migration_get_vf_alias(const Migration *m);
const char *migration_get_vf_mac(const Migration *m);
const char *migration_get_vf_xml(const Migration *m);
Phase migration_get_phase(const Migration *m);
JobResult migration_get_result(const Migration *m);
const char *migration_get_error(const Migration *m);
bool migration_is_finished(const Migration *m);
/* Where the domain runs now, as far as the job knows. */
Side migration_get_domain_side(const Migration *m);
/* When the current phase's budget runs out (absolute, on the backend's clock), so the
 * backend can bound its own waits by it. */
usec_t migration_get_phase_deadline(const Migration *m);
/* A phase's record: -ENOENT if the job never entered it. duration is the time so far while
 * the phase runs. */
int migration_get_phase_record(const Migration *m, Phase p, usec_t *ret_start, usec_t *ret_duration,
                               PhaseResult *ret_result);
/* The time the job waited on phase p's actions, on DEVICE_REMOVED and on retry backoff, over
 * all its attempts (so far, while it waits); -ENOENT if the job never entered p. */
int migration_get_phase_waited_usec(const Migration *m, Phase p, usec_t *ret);
/* The job's wall time (from its first phase's start to its last phase's end, or now) and the
 * part of it spent waiting (the sum of the phases' waits): wall minus waited is srvmd's own
 * overhead. -ENODATA before the job started. */
int migration_get_wall_usec(const Migration *m, usec_t *ret_wall, usec_t *ret_waited);
/* libvirt's VM downtime and the time on the virtio-net standby; -ENODATA if not known (yet). */
int migration_get_vm_downtime_ms(const Migration *m, uint64_t *ret);
int migration_get_standby_usec(const Migration *m, usec_t *ret);
/* How often the phase was entered (1 + retries); 0 if never. */
unsigned migration_get_phase_attempts(const Migration *m, Phase p);
/* The absolute time of the next retry, USEC_INFINITY if none is scheduled. */
usec_t migration_get_next_retry(const Migration *m);
bool migration_is_check_only(const Migration *m);
/* Created but not started: waiting for a free slot under the host's cap on migrations at once
 * (the manager starts it). Shown as phase "queued"; cancelling it ends it as cancelled. */
bool migration_is_queued(const Migration *m);
bool migration_is_arrival(const Migration *m);
const char *migration_get_policy_name(const Migration *m);
/* The path the job takes (_POLICY_PATH_INVALID until preflight chose it): native, or
 * failover, also for an auto job that fell back to it after its native migration failed
 * (migration_get_fell_back()). */
PolicyMigrationPath migration_get_path(const Migration *m);
bool migration_get_fell_back(const Migration *m);
/* NULL until libvirt reported progress. */
const MigrationProgress *migration_get_progress(const Migration *m);
/* The backend's part of the job (its worker, connections, the action in flight), from its first
 * action until virt_release_job(): the backend finds it through the job, never by a table
 * of its own. Not owned by the job. */
void *migration_get_backend_data(const Migration *m);
void migration_set_backend_data(Migration *m, void *data);

/* The JSON form of the job (see README): id, domain, source_uri, destination_uri, result,
 * error, interrupted, path, path_reason, fallback, phases [{name, start_us, duration_us, waited_us,
 * result}], wall_ms, waited_ms, overhead_ms, vm_downtime_ms, standby_ms. */
int migration_build_json(const Migration *m, json_object **ret);

/* The journal: a job as a record a restarted srvmd can read back (migration_build_json()
 * plus what finishing it needs), and the job read back from one. A job read back that had not
 * finished does nothing until migration_recover(), or, if it was queued (not started yet),
 * until migration_start(). */
int migration_build_journal(const Migration *m, json_object **ret);
int migration_new_from_journal(json_object *record, const MigrationBackendOps *ops, void *userdata,
                               Migration **ret, char **ret_error);
/* Finish a job that srvmd was running when it stopped: locate the domain, then roll back on
 * the source, or carry on forward on the destination, whichever is still possible. */
int migration_abandon_queued(Migration *m);
int migration_requeue(Migration *m);
int migration_recover(Migration *m);

const char *phase_to_string(Phase p);
Phase phase_from_string(const char *s);
const char *phase_result_to_string(PhaseResult r);
PhaseResult phase_result_from_string(const char *s);
const char *job_result_to_string(JobResult r);
JobResult job_result_from_string(const char *s);
const char *action_to_string(Action a);
Action action_from_string(const char *s);
const char *migration_control_to_string(MigrationControl c);
MigrationControl migration_control_from_string(const char *s);
const char *side_to_string(Side s);
Side side_from_string(const char *s);

usec_t phase_default_budget(Phase p);

