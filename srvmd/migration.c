/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration job state machine (see migration.h). A job walks the forward phases
 * preflight -> failover -> unplug -> migrate -> plug -> link -> failback (the failover path),
 * or preflight -> migrate -> verify when its VF moves with the domain (the native path: the
 * bond is not touched; see native_migrate_failed() for what a failed native migration does,
 * and verify_failed() for a VF that arrived inactive). Until the domain has
 * moved, any failure or a cancel turns it around: the VF is re-plugged on the source if it is
 * gone, enslaved, and made active again (rollback-plug -> rollback-link -> rollback-failback).
 * Once the domain runs on the destination there is no way back, so the job finishes forward.
 * Each phase has one budget; when it runs out, the action in flight is asked to stop and the
 * job turns around as for any other failure. After the move, a failed plug, link or failback
 * leaves the guest on its virtio-net standby: the job is `degraded` and tries the phase again
 * with a growing backoff, as often as allowed, and becomes `succeeded` once the VF is active. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "json-util.h"
#include "migration.h"
#include "policy.h"
#include "preflight.h"
#include "utf8.h"

/* An action asked to stop after its phase's budget ran out gets this long to report back
 * before the job gives up on it. Every backend action is bounded on its own; this is the
 * last line against one that is not. */
#define ACTION_GRACE_USEC (30 * USEC_PER_SEC)

/* What a job keeps of text it did not write (a guest's answer, libvirt's error): it goes onto
 * D-Bus with every change, into the journal and into srvmd's log, so each piece is bounded
 * (the rest cut, with a note of how much), and so is the number of events: the first ones
 * and the latest are kept. Together they keep a job's JSON and its journal record near 2 MiB
 * at worst (json-c doubles a '/' or a '\\'), under the journal's 4 MiB per record. */
#define MIGRATION_TEXT_MAX 4096
#define MIGRATION_EVENTS_MAX 256
#define MIGRATION_EVENTS_HEAD 16

typedef struct Event {
        usec_t at;
        char *message;
} Event;

typedef struct PhaseRecord {
        usec_t start;
        usec_t duration;
        PhaseResult result;
        unsigned attempts;
        usec_t waited; /* on its actions, DEVICE_REMOVED and retry backoff, over all attempts */
} PhaseRecord;

/* One raise of the max downtime by the convergence rule, at a pre-copy iteration. */
typedef struct PrecopyRaise {
        unsigned iteration;
        uint64_t from_ms;
        uint64_t to_ms;
} PrecopyRaise;

struct Migration {
        uint32_t id;
        char *domain;
        char *source_uri;
        char *destination_uri;
        char *migrate_uri; /* may be NULL */
        char *bond;
        char *vf_spec;     /* may be NULL: the policy or the backend picks the VF */
        bool bond_explicit; /* given by the caller: a policy does not override it */
        char *policy_name;
        char *vf_alias;    /* learned in preflight */
        char *vf_mac;
        char *vf_xml;
        usec_t budget[_PHASE_MAX];
        unsigned retries[_PHASE_MAX];
        usec_t retry_backoff[_PHASE_MAX];
        bool check_only;
        bool arrival;
        bool arrival_check; /* an arrival that runs preflight before plug */

        const MigrationBackendOps *ops;
        void *userdata;
        void *backend_data; /* owned by the backend */

        Phase phase; /* _PHASE_INVALID until started */
        PhaseRecord records[_PHASE_MAX];
        Phase order[_PHASE_MAX]; /* phases in the order they were entered */
        size_t n_order;

        JobResult result;
        bool finished;
        char *error;
        char *cause;             /* why a rollback began, for the final sentence */
        Phase rollback_from;     /* the phase that turned the job around */
        Phase interrupted;       /* the phase srvmd stopped in, for a recovered job */
        bool lost_libvirt;       /* recovering because libvirt's connection closed, not srvmd */
        JobResult rollback_goal; /* ROLLED_BACK, or CANCELLED when a cancel caused it */

        bool action_running;
        Action action;
        bool action_overdue; /* the budget ran out while the action ran */
        bool unplug_detached;
        bool unplug_removed;
        bool unplug_refused; /* DEVICE_REMOVAL_FAILED came while detach was in flight */
        /* Detach returned but no DEVICE_REMOVED came: QEMU keeps the eject request, so the
         * guest may still let the VF go. Kept across phases (unlike unplug_*), for a plug back
         * on the source, which then gives the guest a moment before it trusts the VF. */
        bool vf_removal_pending;
        bool cancel_requested;
        Side domain_side;
        usec_t next_retry; /* USEC_INFINITY: none scheduled */
        usec_t wait_since; /* USEC_INFINITY: not waiting on anything now */

        usec_t standby_start;
        usec_t standby_end;
        uint64_t vm_downtime_ms;
        bool have_vm_downtime;

        MigrationProgress progress;
        bool have_progress;

        /* The convergence rule, from the policy (have_convergence), applied while migrate
         * runs: decided_iteration is the last pre-copy iteration it has seen, max_downtime_ms
         * the limit in force, convergence_done set once post-copy or abort was asked for. */
        bool have_convergence;
        PolicyConvergence convergence;
        bool allow_postcopy;
        uint64_t max_downtime_ms;
        unsigned decided_iteration;
        bool convergence_done;
        bool postcopy_requested;
        bool aborted_by_policy;

        /* What pre-copy did, for the job's "precopy", from the moment migrate starts
         * (have_precopy): the max downtime it started with, the iterations, each raise of the
         * rule (owned, in order), the highest dirty rate and bandwidth reported. */
        bool have_precopy;
        uint64_t precopy_start_downtime_ms;
        unsigned precopy_iterations;
        PrecopyRaise *raises;
        size_t n_raises;
        uint64_t peak_dirty_rate_bytes_s;
        uint64_t peak_bandwidth_bytes_s;

        /* What preflight decided on the domain's XML (migration_domain_read()), for the checks
         * and the actions after them; none of it before, or for a job restarted from the
         * journal. The VF found becomes the job's VF once preflight passed. Owned. */
        bool have_decision;
        PolicyMatchKind policy_match;
        PolicyMigrationSettings settings;
        usec_t agent_timeout;
        PolicyPlugSource plug_source;
        char *plug_network;
        char *plug_xml;
        char *refusal;
        char *found_vf_alias;
        char *found_vf_mac;
        char *found_vf_xml;
        /* The path the job takes (_POLICY_PATH_INVALID until preflight chose it; kept in the
         * journal) and why, in the words of preflight_decide_path(). */
        PolicyMigrationPath path;
        char *path_reason;
        /* The policy's path (auto may fall back from native to failover; native may not),
         * and whether this job fell back. */
        PolicyMigrationPath wanted_path;
        bool fell_back;
        Event *events; /* owned, in order */
        size_t n_events;
        AgentStats *agent; /* owned, n_agent of them, in the order first seen */
        size_t n_agent;
        usec_t started_realtime; /* CLOCK_REALTIME when the job was made */
        JobRequest request;      /* request.user is request_user */
        char *request_user;      /* owned */
};

static const char *const phase_table[_PHASE_MAX] = {
        [PHASE_PREFLIGHT] = "preflight",
        [PHASE_FAILOVER] = "failover",
        [PHASE_UNPLUG] = "unplug",
        [PHASE_MIGRATE] = "migrate",
        [PHASE_PLUG] = "plug",
        [PHASE_LINK] = "link",
        [PHASE_FAILBACK] = "failback",
        [PHASE_ROLLBACK_PLUG] = "rollback-plug",
        [PHASE_ROLLBACK_LINK] = "rollback-link",
        [PHASE_ROLLBACK_FAILBACK] = "rollback-failback",
        [PHASE_RECOVER] = "recover",
        [PHASE_VERIFY] = "verify",
};
DEFINE_STRING_TABLE_LOOKUP(phase, Phase);

static const char *const phase_result_table[_PHASE_RESULT_MAX] = {
        [PHASE_RESULT_RUNNING] = "running",
        [PHASE_RESULT_OK] = "ok",
        [PHASE_RESULT_FAILED] = "failed",
        [PHASE_RESULT_TIMEOUT] = "timeout",
        [PHASE_RESULT_CANCELLED] = "cancelled",
        [PHASE_RESULT_INTERRUPTED] = "interrupted",
};
DEFINE_STRING_TABLE_LOOKUP(phase_result, PhaseResult);

static const char *const job_result_table[_JOB_RESULT_MAX] = {
        [JOB_RUNNING] = "running",
        [JOB_SUCCEEDED] = "succeeded",
        [JOB_FAILED] = "failed",
        [JOB_ROLLED_BACK] = "rolled-back",
        [JOB_CANCELLED] = "cancelled",
        [JOB_DEGRADED] = "degraded",
};
DEFINE_STRING_TABLE_LOOKUP(job_result, JobResult);

static const char *const action_table[_ACTION_MAX] = {
        [ACTION_PREFLIGHT] = "preflight",
        [ACTION_FAILOVER] = "failover",
        [ACTION_UNPLUG] = "unplug",
        [ACTION_MIGRATE] = "migrate",
        [ACTION_PLUG] = "plug",
        [ACTION_LINK] = "link",
        [ACTION_FAILBACK] = "failback",
        [ACTION_LOCATE] = "locate",
        [ACTION_VERIFY] = "verify",
};
DEFINE_STRING_TABLE_LOOKUP(action, Action);

static const char *const side_table[_SIDE_MAX] = {
        [SIDE_SOURCE] = "source",
        [SIDE_DESTINATION] = "destination",
};
DEFINE_STRING_TABLE_LOOKUP(side, Side);

static const char *const migration_control_table[_MIGRATION_CONTROL_MAX] = {
        [MIGRATION_CONTROL_SET_MAX_DOWNTIME] = "set-max-downtime",
        [MIGRATION_CONTROL_POSTCOPY] = "postcopy",
        [MIGRATION_CONTROL_ABORT] = "abort",
};
DEFINE_STRING_TABLE_LOOKUP(migration_control, MigrationControl);

usec_t phase_default_budget(Phase p) {
        switch (p) {
        case PHASE_PREFLIGHT:
                return 30 * USEC_PER_SEC;
        case PHASE_FAILOVER:
        case PHASE_UNPLUG:
                return 15 * USEC_PER_SEC;
        case PHASE_MIGRATE:
        case PHASE_RECOVER: /* may wait out a migration libvirt still drives */
                return 300 * USEC_PER_SEC; /* pre-copy under TCG is slow; policies tighten it */
        case PHASE_PLUG:
        case PHASE_LINK:
        case PHASE_FAILBACK:
        case PHASE_ROLLBACK_PLUG:
        case PHASE_ROLLBACK_LINK:
        case PHASE_ROLLBACK_FAILBACK:
        case PHASE_VERIFY:
                return 30 * USEC_PER_SEC;
        case _PHASE_MAX:
        case _PHASE_INVALID:
                break;
        }
        return 0;
}

/* The action each phase runs, and where: after the move, where the domain runs now. */
static Action phase_action(const Migration *m, Phase p, Side *ret_side) {
        switch (p) {
        case PHASE_PREFLIGHT:
                *ret_side = SIDE_SOURCE;
                return ACTION_PREFLIGHT;
        case PHASE_FAILOVER:
                *ret_side = SIDE_SOURCE;
                return ACTION_FAILOVER;
        case PHASE_UNPLUG:
                *ret_side = SIDE_SOURCE;
                return ACTION_UNPLUG;
        case PHASE_MIGRATE:
                *ret_side = SIDE_SOURCE;
                return ACTION_MIGRATE;
        case PHASE_PLUG:
                *ret_side = m->domain_side;
                return ACTION_PLUG;
        case PHASE_LINK:
                *ret_side = m->domain_side;
                return ACTION_LINK;
        case PHASE_FAILBACK:
                *ret_side = m->domain_side;
                return ACTION_FAILBACK;
        case PHASE_ROLLBACK_PLUG:
                *ret_side = SIDE_SOURCE;
                return ACTION_PLUG;
        case PHASE_ROLLBACK_LINK:
                *ret_side = SIDE_SOURCE;
                return ACTION_LINK;
        case PHASE_ROLLBACK_FAILBACK:
                *ret_side = SIDE_SOURCE;
                return ACTION_FAILBACK;
        case PHASE_RECOVER:
                *ret_side = SIDE_SOURCE;
                return ACTION_LOCATE;
        case PHASE_VERIFY:
                *ret_side = m->domain_side;
                return ACTION_VERIFY;
        case _PHASE_MAX:
        case _PHASE_INVALID:
                break;
        }
        return _ACTION_INVALID;
}

static bool phase_is_rollback(Phase p) {
        return p == PHASE_ROLLBACK_PLUG || p == PHASE_ROLLBACK_LINK || p == PHASE_ROLLBACK_FAILBACK;
}

/* A copy for the record, which is JSON: any byte that does not begin well-formed UTF-8 is
 * replaced (a domain's name or a guest's words may carry such bytes). */
static int strdup_scrubbed(const char *s, char **ret) {
        int r;

        r = strdup_or_null(s, ret);
        if (r < 0)
                return r;
        (void) utf8_scrub(*ret);
        return 0;
}

static char *strdup_vprintf(const char *fmt, va_list ap) _printf_(1, 0);
static char *strdup_vprintf(const char *fmt, va_list ap) {
        _cleanup_free_ char *raw = NULL;

        if (vasprintf(&raw, fmt, ap) < 0)
                return NULL;
        return utf8_escape(raw, MIGRATION_TEXT_MAX); /* it may carry a guest's or libvirt's words */
}

static char *strdup_printf(const char *fmt, ...) _printf_(1, 2);
static char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        return s;
}

/* Take message (owned) as the job's next event. Past MIGRATION_EVENTS_MAX, the oldest after
 * the first MIGRATION_EVENTS_HEAD give way, and the one there says so. */
static int events_append(Migration *m, usec_t at, char *message) {
        Event *events;

        if (m->n_events >= MIGRATION_EVENTS_MAX) {
                Event *gap = &m->events[MIGRATION_EVENTS_HEAD];
                char *note = strdup("(earlier events dropped: a job keeps its first and its latest ones)");

                if (!note) {
                        free(message);
                        return -ENOMEM;
                }
                free(gap->message);
                free(gap[1].message);
                gap->message = note;
                gap->at = gap[1].at;
                memmove(gap + 1, gap + 2, (m->n_events - MIGRATION_EVENTS_HEAD - 2) * sizeof(Event));
                m->n_events--;
        }
        events = realloc(m->events, (m->n_events + 1) * sizeof(Event));
        if (!events) {
                free(message);
                return -ENOMEM;
        }
        m->events = events;
        m->events[m->n_events++] = (Event) { .at = at, .message = message };
        return 0;
}

int migration_new(uint32_t id, const MigrationParams *p, const MigrationBackendOps *ops,
                  void *userdata, Migration **ret) {
        _cleanup_(migration_freep) Migration *m = NULL;
        int r;

        if (!p || !ops || !ret)
                return -EINVAL;
        if (!p->domain || !*p->domain || !p->source_uri || !p->destination_uri ||
            !*p->destination_uri)
                return -EINVAL;
        if (!ops->start_action || !ops->arm_timer || !ops->now)
                return -EINVAL;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        m->id = id;
        m->ops = ops;
        m->userdata = userdata;
        m->phase = _PHASE_INVALID;
        m->interrupted = _PHASE_INVALID;
        m->path = m->wanted_path = _POLICY_PATH_INVALID;
        m->result = JOB_RUNNING;
        m->domain_side = SIDE_SOURCE;
        m->standby_start = m->standby_end = USEC_INFINITY;
        m->wait_since = USEC_INFINITY;
        m->next_retry = USEC_INFINITY;
        m->check_only = p->check_only;
        m->arrival = p->arrival;
        m->started_realtime = p->started_realtime;
        if (m->started_realtime == 0) {
                struct timespec ts;

                if (clock_gettime(CLOCK_REALTIME, &ts) >= 0)
                        m->started_realtime = (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
        }
        m->request = (JobRequest) { .via = JOB_REQUEST_SRVMD };
        if (p->request) {
                m->request = *p->request;
                r = strdup_or_null(p->request->user, &m->request_user);
                if (r < 0)
                        return r;
                m->request.user = m->request_user;
        }
        m->arrival_check = p->arrival && p->arrival_check;

        r = strdup_scrubbed(p->domain, &m->domain);
        if (r < 0)
                return r;
        r = strdup_scrubbed(p->source_uri, &m->source_uri);
        if (r < 0)
                return r;
        r = strdup_scrubbed(p->destination_uri, &m->destination_uri);
        if (r < 0)
                return r;
        r = strdup_scrubbed(p->migrate_uri && *p->migrate_uri ? p->migrate_uri : NULL,
                           &m->migrate_uri);
        if (r < 0)
                return r;
        m->bond_explicit = p->bond && *p->bond;
        r = strdup_scrubbed(m->bond_explicit ? p->bond : "bond0", &m->bond);
        if (r < 0)
                return r;
        r = strdup_scrubbed(p->vf && *p->vf ? p->vf : NULL, &m->vf_spec);
        if (r < 0)
                return r;
        if (p->arrival) {
                if (!p->vf || !p->vf_mac || !p->vf_xml)
                        return -EINVAL;
                r = migration_set_vf(m, p->vf, p->vf_mac, p->vf_xml);
                if (r < 0)
                        return r;
        }

        for (Phase i = 0; i < _PHASE_MAX; i++) {
                m->budget[i] = p->phase_budget[i] > 0 ? p->phase_budget[i] : phase_default_budget(i);
                m->retries[i] = p->retries[i];
                m->retry_backoff[i] = p->retry_backoff[i] > 0 ? p->retry_backoff[i] : 5 * USEC_PER_SEC;
        }

        *ret = TAKE_PTR(m);
        return 0;
}

Migration *migration_free(Migration *m) {
        if (!m)
                return NULL;

        free(m->domain);
        free(m->source_uri);
        free(m->destination_uri);
        free(m->migrate_uri);
        free(m->bond);
        free(m->vf_spec);
        free(m->vf_alias);
        free(m->vf_mac);
        free(m->vf_xml);
        free(m->error);
        free(m->cause);
        free(m->policy_name);
        free(m->plug_network);
        free(m->plug_xml);
        free(m->refusal);
        free(m->path_reason);
        free(m->found_vf_alias);
        free(m->found_vf_mac);
        free(m->found_vf_xml);
        free(m->request_user);
        for (size_t i = 0; i < m->n_events; i++)
                free(m->events[i].message);
        free(m->events);
        free(m->raises);
        for (size_t i = 0; i < m->n_agent; i++)
                free(m->agent[i].command);
        free(m->agent);
        free(m);
        return NULL;
}

static usec_t now(Migration *m) {
        return m->ops->now(m->userdata);
}

static void notify_changed(Migration *m) {
        if (m->ops->changed)
                m->ops->changed(m->userdata, m);
}

static void disarm_timer(Migration *m) {
        (void) m->ops->arm_timer(m->userdata, m, USEC_INFINITY);
}

/* What the job waits on (an action, DEVICE_REMOVED, a retry's backoff) is not srvmd's own
 * time: count it per phase, so the job can say how much of its wall time was its own. */
static void wait_begin(Migration *m) {
        if (m->wait_since == USEC_INFINITY)
                m->wait_since = now(m);
}

static void wait_end(Migration *m, Phase p) {
        if (m->wait_since == USEC_INFINITY)
                return;
        m->records[p].waited += now(m) - m->wait_since;
        m->wait_since = USEC_INFINITY;
}

static void end_phase(Migration *m, PhaseResult result) {
        PhaseRecord *rec;

        if (m->phase < 0)
                return;
        wait_end(m, m->phase);
        rec = &m->records[m->phase];
        if (rec->result != PHASE_RESULT_RUNNING)
                return;
        rec->result = result;
        rec->duration = now(m) - rec->start;
        disarm_timer(m);
}

static void finish(Migration *m, JobResult result, const char *fmt, ...) _printf_(3, 4);
static void finish(Migration *m, JobResult result, const char *fmt, ...) {
        if (m->finished)
                return;

        disarm_timer(m);
        m->finished = true;
        m->next_retry = USEC_INFINITY;
        m->wait_since = USEC_INFINITY; /* a backoff cut short: the job ended with its last phase */
        m->result = result;
        if (fmt) {
                va_list ap;

                va_start(ap, fmt);
                free(m->error);
                m->error = strdup_vprintf(fmt, ap);
                va_end(ap);
        }
        notify_changed(m);
}

static void action_failed_to_start(Migration *m, int r);

/* Wait the policy's backoff, doubled per attempt and capped, then enter the failed phase
 * again. */
static void schedule_retry(Migration *m) {
        PolicyRetry rule = { .retries = m->retries[m->phase], .backoff = m->retry_backoff[m->phase] };
        usec_t delay = policy_retry_delay(&rule, m->records[m->phase].attempts);
        int r;

        m->next_retry = now(m) + delay;
        r = m->ops->arm_timer(m->userdata, m, m->next_retry);
        if (r < 0) {
                finish(m, JOB_DEGRADED, NULL);
                return;
        }
        wait_begin(m);
        notify_changed(m);
}

/* Record the new phase, arm its budget, and start its action. The one place phases change. */
/* Pre-copy starts: its record starts over, at the max downtime in force. */
static void precopy_start(Migration *m) {
        m->have_precopy = true;
        m->precopy_start_downtime_ms = m->max_downtime_ms;
        m->precopy_iterations = 0;
        free(m->raises);
        m->raises = NULL;
        m->n_raises = 0;
        m->peak_dirty_rate_bytes_s = m->peak_bandwidth_bytes_s = 0;
}

static void migration_set_phase(Migration *m, Phase p) {
        PhaseRecord *rec = &m->records[p];
        Side side = SIDE_SOURCE;
        Action a;
        int r;

        wait_end(m, p); /* a retry's backoff */
        m->phase = p;
        /* The timeline is in the order phases last began: a phase run again after others (plug,
         * link, failback after a recover) moves to the end, where its new attempt's start is. */
        for (size_t i = 0; rec->attempts > 0 && i < m->n_order; i++)
                if (m->order[i] == p) {
                        memmove(&m->order[i], &m->order[i + 1], (m->n_order - i - 1) * sizeof(m->order[0]));
                        m->n_order--;
                        break;
                }
        m->order[m->n_order++] = p;
        *rec = (PhaseRecord) {
                .start = now(m),
                .result = PHASE_RESULT_RUNNING,
                .attempts = rec->attempts + 1,
                .waited = rec->waited,
        };
        m->next_retry = USEC_INFINITY;
        m->action_overdue = false;
        m->unplug_detached = m->unplug_removed = m->unplug_refused = false;
        if (p == PHASE_MIGRATE) {
                /* Pre-copy starts from nothing: a report from before it counts for nothing. */
                m->progress = (MigrationProgress) { .max_downtime_ms = m->max_downtime_ms };
                m->have_progress = false;
                m->decided_iteration = 0;
                m->convergence_done = m->postcopy_requested = m->aborted_by_policy = false;
                precopy_start(m);
        }

        r = m->ops->arm_timer(m->userdata, m, rec->start + m->budget[p]);
        if (r < 0) {
                action_failed_to_start(m, r);
                return;
        }

        notify_changed(m);

        a = phase_action(m, p, &side);
        m->action = a;
        m->action_running = true;
        wait_begin(m);
        r = m->ops->start_action(m->userdata, m, a, side);
        if (r < 0) {
                m->action_running = false;
                action_failed_to_start(m, r);
        }
}

static void enter_rollback(Migration *m, JobResult goal, const char *cause) {
        free(m->cause);
        m->cause = cause ? utf8_escape(cause, MIGRATION_TEXT_MAX) : NULL;
        m->rollback_from = m->phase == PHASE_RECOVER ? m->interrupted : m->phase;
        m->rollback_goal = goal;
        migration_set_phase(m, PHASE_ROLLBACK_PLUG);
}

static const char *cause_or(const char *message, const char *fallback) {
        return message && *message ? message : fallback;
}

static bool path_is_native(const Migration *m) {
        return m->path == POLICY_PATH_NATIVE;
}

/* The native migration ended without moving the domain: libvirt resumed it on the source,
 * with its VF, and the bond was never touched, so there is nothing to roll back. An auto job
 * goes on down the failover path in the same job, unless a cancel or the policy's own
 * convergence rule ended the migration (either would end the failover's too); a job whose
 * policy pins native fails, naming why. */
static void native_migrate_failed(Migration *m, PhaseResult how, const char *cause) {
        const PhaseRecord *rec = &m->records[PHASE_MIGRATE];
        /* Nothing sent: libvirt or QEMU refused it (a migration blocker), not pre-copy. */
        const char *what = how == PHASE_RESULT_TIMEOUT ? "ran out of time before the switchover" :
                           m->have_progress && m->progress.data_processed_bytes > 0 ? "failed before the switchover" :
                           "was refused at its start";
        _cleanup_free_ char *reason = NULL;

        if (m->cancel_requested) {
                finish(m, JOB_CANCELLED,
                       "Domain '%s': cancelled in migrate; the domain stays on the source with its VF active, its bond untouched.",
                       m->domain);
                return;
        }
        if (m->wanted_path != POLICY_PATH_AUTO || m->aborted_by_policy || how == PHASE_RESULT_INTERRUPTED) {
                finish(m, JOB_FAILED,
                       "Domain '%s': the native migration %s: %s. The domain stays on the source with its VF active, its bond untouched%s.",
                       m->domain, what, strna(cause),
                       m->wanted_path == POLICY_PATH_NATIVE ? "; the policy pins the native path, so there is no fallback to failover" : "");
                return;
        }

        (void) migration_add_event(m, "the native migration %s after %llu ms: %s; the domain still runs on the source with its VF: falling back to the failover path",
                                   what, (unsigned long long) (rec->duration / USEC_PER_MSEC), strna(cause));
        if (asprintf(&reason, "failover (auto, fallback: the native migration %s: %s)", what, strna(cause)) < 0) {
                finish(m, JOB_FAILED, "Domain '%s': the native migration %s: %s. The domain stays on the source with its VF active, its bond untouched.",
                       m->domain, what, strna(cause));
                return;
        }
        free(m->path_reason);
        m->path_reason = utf8_escape(reason, MIGRATION_TEXT_MAX);
        m->path = POLICY_PATH_FAILOVER;
        m->fell_back = true;
        migration_set_phase(m, PHASE_FAILOVER);
}

/* The domain runs on the destination with the VF that moved with it, but the guest did not
 * confirm it as the bond's active slave with carrier (or could not be asked). The bond's
 * MII monitor keeps the guest on its virtio-net standby meanwhile; bring the VF back as after
 * a failover's move: link, then failback, with their retries. */
static void verify_failed(Migration *m, const char *cause) {
        (void) migration_add_event(m, "verify on the destination: %s; linking the VF and failing back to it as after a failover",
                                   strna(cause));
        m->standby_start = now(m); /* at the latest: the guest may have left the VF earlier */
        migration_set_phase(m, PHASE_LINK);
}

/* The current phase ended badly: decide what that means for the job. */
static void phase_failed(Migration *m, PhaseResult how, const char *message) {
        Phase p = m->phase;
        const char *ph = phase_to_string(p);
        _cleanup_free_ char *cause = NULL;

        end_phase(m, how);

        if (how == PHASE_RESULT_TIMEOUT)
                (void) asprintf(&cause, "%s did not finish within %llu s%s%s", ph,
                                (unsigned long long) (m->budget[p] / USEC_PER_SEC),
                                message ? ": " : "", message ? message : "");
        else if (how == PHASE_RESULT_CANCELLED)
                cause = strdup("cancelled on request");
        else
                cause = strdup(cause_or(message, "unknown error"));

        switch (p) {
        case PHASE_PREFLIGHT:
                if (m->cancel_requested)
                        finish(m, JOB_CANCELLED, "Domain '%s': cancelled in preflight; nothing was changed.",
                               m->domain);
                else if (m->arrival)
                        finish(m, JOB_FAILED,
                               "Domain '%s': arrived without a VF, and the checks before plugging one failed: %s. Nothing was plugged.",
                               m->domain, strna(cause));
                else
                        finish(m, JOB_FAILED, "Domain '%s': preflight failed: %s. Nothing was changed.",
                               m->domain, strna(cause));
                return;

        case PHASE_FAILOVER:
                /* srvm-guest puts back what was active when it cannot verify the switch, so the
                 * bond is as it was: nothing to roll back. */
                finish(m, m->cancel_requested ? JOB_CANCELLED : JOB_FAILED,
                       "Domain '%s': failover failed: %s. The bond was left as it was.",
                       m->domain, strna(cause));
                return;

        case PHASE_UNPLUG:
        case PHASE_MIGRATE:
                if (p == PHASE_MIGRATE && path_is_native(m)) {
                        native_migrate_failed(m, how, cause);
                        return;
                }
                enter_rollback(m, m->cancel_requested ? JOB_CANCELLED : JOB_ROLLED_BACK, cause);
                return;

        case PHASE_VERIFY:
                verify_failed(m, cause);
                return;

        case PHASE_PLUG:
        case PHASE_LINK:
        case PHASE_FAILBACK:
                free(m->error);
                m->error = strdup_printf("Domain '%s': %s failed on the destination: %s. The domain runs there on its virtio-net standby%s.",
                                         m->domain, ph, strna(cause),
                                         m->records[p].attempts > m->retries[p] ? "" : "; retrying");
                m->result = JOB_DEGRADED;
                if (m->records[p].attempts > m->retries[p] || m->cancel_requested) {
                        finish(m, JOB_DEGRADED, NULL);
                        return;
                }
                schedule_retry(m);
                return;

        case PHASE_ROLLBACK_PLUG:
        case PHASE_ROLLBACK_LINK:
        case PHASE_ROLLBACK_FAILBACK:
                finish(m, JOB_FAILED,
                       "Domain '%s': %s; then %s failed: %s. The domain runs on the source on its virtio-net standby.",
                       m->domain, strna(m->cause), ph, strna(cause));
                return;

        case PHASE_RECOVER:
                if (m->lost_libvirt)
                        finish(m, JOB_FAILED,
                               "Domain '%s': the connection to libvirt closed in phase %s, and then it could not be told where the domain runs: %s. Check it by hand.",
                               m->domain, strna(phase_to_string(m->interrupted)), strna(cause));
                else
                        finish(m, JOB_FAILED,
                               "Domain '%s': srvmd stopped in phase %s and, restarted, could not tell where the domain runs: %s. Check it by hand.",
                               m->domain, strna(phase_to_string(m->interrupted)), strna(cause));
                return;

        case _PHASE_MAX:
        case _PHASE_INVALID:
                break;
        }
}

static void action_failed_to_start(Migration *m, int r) {
        _cleanup_free_ char *msg = NULL;

        (void) asprintf(&msg, "could not start the %s action: %s", phase_to_string(m->phase),
                        strerror(r < 0 ? -r : r));
        phase_failed(m, PHASE_RESULT_FAILED, msg);
}

/* The current phase did what it should: go on. */
static void phase_succeeded(Migration *m) {
        Phase p = m->phase;

        end_phase(m, PHASE_RESULT_OK);

        switch (p) {
        case PHASE_PREFLIGHT:
                if (m->cancel_requested) {
                        finish(m, JOB_CANCELLED, "Domain '%s': cancelled after preflight; nothing was changed.",
                               m->domain);
                        return;
                }
                if (m->check_only) {
                        finish(m, JOB_SUCCEEDED, NULL);
                        return;
                }
                if (m->arrival) { /* the domain is here already: what is left is the VF */
                        migration_set_phase(m, PHASE_PLUG);
                        return;
                }
                /* The native path leaves the bond alone: straight to the move. */
                migration_set_phase(m, path_is_native(m) ? PHASE_MIGRATE : PHASE_FAILOVER);
                return;

        case PHASE_FAILOVER:
                m->standby_start = now(m);
                if (m->cancel_requested) {
                        enter_rollback(m, JOB_CANCELLED, "cancelled on request");
                        return;
                }
                migration_set_phase(m, PHASE_UNPLUG);
                return;

        case PHASE_UNPLUG:
                if (m->cancel_requested) {
                        enter_rollback(m, JOB_CANCELLED, "cancelled on request");
                        return;
                }
                migration_set_phase(m, PHASE_MIGRATE);
                return;

        case PHASE_MIGRATE:
                /* The point of no return: the domain runs on the destination now. */
                m->domain_side = SIDE_DESTINATION;
                migration_set_phase(m, path_is_native(m) ? PHASE_VERIFY : PHASE_PLUG);
                return;

        case PHASE_VERIFY: /* the VF never left: nothing ran on the standby */
                if (m->domain_side == SIDE_SOURCE) { /* after a restart, the domain never moved */
                        finish(m, JOB_ROLLED_BACK, NULL);
                        return;
                }
                free(m->error);
                m->error = NULL;
                finish(m, JOB_SUCCEEDED, NULL);
                return;

        case PHASE_PLUG:
                migration_set_phase(m, PHASE_LINK);
                return;

        case PHASE_LINK:
                migration_set_phase(m, PHASE_FAILBACK);
                return;

        case PHASE_FAILBACK:
                m->standby_end = now(m);
                if (path_is_native(m) && !m->arrival && m->domain_side == SIDE_SOURCE) {
                        /* a native job found on the source after a restart, whose verify there
                         * failed: the VF is active again, the domain never moved */
                        finish(m, JOB_ROLLED_BACK, NULL);
                        return;
                }
                free(m->error); /* a degraded job that recovered */
                m->error = NULL;
                finish(m, JOB_SUCCEEDED, NULL);
                return;

        case PHASE_ROLLBACK_PLUG:
                migration_set_phase(m, PHASE_ROLLBACK_LINK);
                return;

        case PHASE_ROLLBACK_LINK:
                migration_set_phase(m, PHASE_ROLLBACK_FAILBACK);
                return;

        case PHASE_RECOVER: /* decided in recover_located() */
                return;

        case PHASE_ROLLBACK_FAILBACK:
                if (m->standby_start != USEC_INFINITY)
                        m->standby_end = now(m);
                if (m->rollback_goal == JOB_CANCELLED)
                        finish(m, JOB_CANCELLED,
                               "Domain '%s': cancelled; the domain stays on the source with its VF active.",
                               m->domain);
                else
                        finish(m, JOB_ROLLED_BACK,
                               "Domain '%s': %s failed: %s. Rolled back: the domain stays on the source with its VF active.",
                               m->domain, phase_to_string(m->rollback_from), strna(m->cause));
                return;

        case _PHASE_MAX:
        case _PHASE_INVALID:
                break;
        }
}

int migration_start(Migration *m) {
        if (!m)
                return -EINVAL;
        if (m->phase != _PHASE_INVALID)
                return -EALREADY;
        if (m->finished) /* cancelled while queued */
                return -ESTALE;

        if (m->arrival) {
                /* The domain is here already, on its standby: what is left is the VF, once
                 * preflight found the guest ready for it if the job has no plan to go by. */
                m->standby_start = now(m);
                migration_set_phase(m, m->arrival_check ? PHASE_PREFLIGHT : PHASE_PLUG);
                return 0;
        }
        migration_set_phase(m, PHASE_PREFLIGHT);
        return 0;
}

/* The restarted job learned where the domain runs: finish forward there, or roll back. */
static void recover_located(Migration *m, int r) {
        const char *was = phase_to_string(m->interrupted);

        const char *how = m->lost_libvirt ? "the connection to libvirt closed in phase" : "srvmd restarted in phase";

        if (r == -ENOENT) {
                end_phase(m, PHASE_RESULT_FAILED);
                if (m->lost_libvirt)
                        finish(m, JOB_FAILED,
                               "Domain '%s': the connection to libvirt closed in phase %s, and then the domain was found running on neither host. Check it by hand.",
                               m->domain, was);
                else
                        finish(m, JOB_FAILED,
                               "Domain '%s': srvmd stopped in phase %s and, restarted, found the domain running on neither host. Check it by hand.",
                               m->domain, was);
                return;
        }

        end_phase(m, PHASE_RESULT_OK);
        if (m->arrival) { /* the domain is here, where it arrived: finish the VF */
                (void) migration_add_event(m, "%s %s; finishing the arrival", how, was);
                /* Interrupted before its checks ended: nothing was plugged yet; check again. */
                migration_set_phase(m, m->interrupted == PHASE_PREFLIGHT ? PHASE_PREFLIGHT : PHASE_PLUG);
                return;
        }
        if (r > 0) {
                m->domain_side = SIDE_DESTINATION;
                (void) migration_add_event(m, "%s %s; the domain runs on the destination: finishing there", how, was);
                /* The native path's VF moved with the domain: confirm it, plug nothing. */
                migration_set_phase(m, path_is_native(m) ? PHASE_VERIFY : PHASE_PLUG);
                return;
        }

        m->domain_side = SIDE_SOURCE;
        if (m->interrupted == PHASE_PREFLIGHT) {
                finish(m, JOB_FAILED, "Domain '%s': srvmd stopped during preflight; nothing was changed.", m->domain);
                return;
        }
        if (path_is_native(m)) {
                /* The native path never switched the bond nor moved the VF, but srvm-guest hold
                 * may still keep every slave receiving: verify on the source releases it, and
                 * confirms the VF is active there. */
                (void) migration_add_event(m, "%s %s; the domain runs on the source with its VF, its bond untouched: "
                                           "verifying it there, which releases the native path's hold", how, was);
                free(m->error);
                m->error = strdup_printf("Domain '%s': %s %s of the native path; the domain stays on the source with its VF active, its bond untouched.",
                                         m->domain, how, was);
                migration_set_phase(m, PHASE_VERIFY);
                return;
        }
        (void) migration_add_event(m, "%s %s; the domain runs on the source: rolling back", how, was);
        enter_rollback(m, JOB_ROLLED_BACK,
                       m->lost_libvirt ? "the connection to libvirt closed during it" : "srvmd stopped during it");
}

void migration_action_done(Migration *m, Action a, int r, const char *message) {
        if (!m || m->finished || !m->action_running || m->action != a)
                return; /* a late answer for an action the job no longer waits for */

        m->action_running = false;
        if (a == ACTION_UNPLUG)
                m->vf_removal_pending = r == 0; /* 0: detached, the removal not confirmed yet */

        if (a == ACTION_LOCATE && (r >= 0 || r == -ENOENT)) {
                recover_located(m, r);
                return;
        }

        /* The connection to libvirt closed under the migration (libvirtd restarted): whether
         * the domain moved is not known. Find out where it runs, as after a restart of srvmd,
         * then finish there or roll back. */
        if (r == -ENOTCONN && a == ACTION_MIGRATE) {
                m->lost_libvirt = true;
                (void) migration_add_event(m, "the connection to libvirt closed during migrate (%s); finding where the domain runs",
                                           cause_or(message, "no reason given"));
                (void) migration_recover(m);
                return;
        }

        if (r >= 0 && a == ACTION_PREFLIGHT && m->have_decision && !m->arrival) {
                r = migration_set_vf(m, m->found_vf_alias, m->found_vf_mac, m->found_vf_xml);
                if (r < 0)
                        message = "out of memory";
        }

        if (r < 0) {
                _cleanup_free_ char *why = NULL;

                /* libvirt says only that the job was aborted; the job knows who asked. */
                if (a == ACTION_MIGRATE && m->aborted_by_policy &&
                    asprintf(&why, "the policy %s aborted it after %u pre-copy iterations without convergence",
                             strna(m->policy_name), m->decided_iteration) < 0)
                        why = NULL;
                phase_failed(m, m->action_overdue ? PHASE_RESULT_TIMEOUT :
                                m->cancel_requested ? PHASE_RESULT_CANCELLED : PHASE_RESULT_FAILED,
                             why ? why : message);
                return;
        }

        if (m->phase == PHASE_UNPLUG) {
                m->unplug_detached = true;
                if (r > 0)
                        m->unplug_removed = true;
                if (!m->unplug_removed) {
                        if (m->unplug_refused) {
                                phase_failed(m, PHASE_RESULT_FAILED, "the guest refused to release the VF");
                                return;
                        }
                        if (m->action_overdue || m->cancel_requested)
                                phase_failed(m, m->action_overdue ? PHASE_RESULT_TIMEOUT : PHASE_RESULT_CANCELLED,
                                             "the guest did not release the VF");
                        return; /* DEVICE_REMOVED is still to come */
                }
        }

        /* An action that succeeds after its budget ran out still succeeded: a migration that
         * completed as it was being aborted has moved the domain, whatever the clock says. */
        phase_succeeded(m);
}

void migration_device_removed(Migration *m, const char *alias) {
        if (!m || !alias || !streq_ptr(alias, m->vf_alias))
                return;
        m->vf_removal_pending = false;
        if (m->finished || m->phase != PHASE_UNPLUG)
                return;

        m->unplug_removed = true;
        if (m->unplug_detached && !m->action_running)
                phase_succeeded(m);
}

bool migration_vf_removal_pending(const Migration *m) {
        return m && m->vf_removal_pending;
}

void migration_vf_removed_late(Migration *m) {
        if (!m)
                return;
        m->vf_removal_pending = false;
        (void) migration_add_event(m, "the guest released the VF late, while rollback waited for it; plugging it back");
}

void migration_device_removal_failed(Migration *m, const char *alias) {
        if (!m || m->finished || m->phase != PHASE_UNPLUG || m->unplug_removed)
                return;
        if (!alias || !streq_ptr(alias, m->vf_alias))
                return;

        if (m->action_running) {
                m->unplug_refused = true; /* decided when detach returns */
                return;
        }
        phase_failed(m, PHASE_RESULT_FAILED, "the guest refused to release the VF");
}

void migration_timer_elapsed(Migration *m) {
        if (!m || m->finished || m->phase < 0)
                return;

        if (m->next_retry != USEC_INFINITY) {
                migration_set_phase(m, m->phase);
                return;
        }

        if (!m->action_running) {
                /* Only unplug waits without an action: for DEVICE_REMOVED. */
                phase_failed(m, PHASE_RESULT_TIMEOUT,
                             m->phase == PHASE_UNPLUG ? "the guest did not release the VF" : NULL);
                return;
        }

        if (m->action_overdue) {
                /* Asked to stop a grace period ago and still silent: give up on it. */
                end_phase(m, PHASE_RESULT_TIMEOUT);
                m->action_running = false;
                finish(m, JOB_FAILED,
                       "Domain '%s': %s did not end within %llu s, nor when asked to stop; the job gave up on it. Check the domain by hand.",
                       m->domain, phase_to_string(m->phase),
                       (unsigned long long) (m->budget[m->phase] / USEC_PER_SEC));
                return;
        }

        m->action_overdue = true;
        if (m->ops->cancel_action)
                m->ops->cancel_action(m->userdata, m, m->action);
        (void) m->ops->arm_timer(m->userdata, m, now(m) + ACTION_GRACE_USEC);
}

int migration_cancel(Migration *m) {
        if (!m)
                return -EINVAL;
        if (m->finished)
                return -ESTALE;
        if (m->phase == _PHASE_INVALID) { /* queued: it has touched nothing */
                m->cancel_requested = true;
                finish(m, JOB_CANCELLED, "Domain '%s': cancelled while queued, before it started; nothing was touched.",
                       m->domain);
                return 0;
        }
        if (m->next_retry != USEC_INFINITY) { /* degraded, waiting to retry: stop there */
                m->cancel_requested = true;
                finish(m, JOB_DEGRADED, NULL);
                return 0;
        }
        if (m->domain_side == SIDE_DESTINATION || (m->arrival && m->phase != PHASE_PREFLIGHT))
                return -EBUSY; /* past the point of no return: it finishes forward */
        if (phase_is_rollback(m->phase) || m->cancel_requested)
                return -EALREADY;

        m->cancel_requested = true;

        if (m->action_running) {
                if (m->ops->cancel_action)
                        m->ops->cancel_action(m->userdata, m, m->action);
                return 0; /* the action's end decides the next step */
        }

        if (m->phase == PHASE_UNPLUG) /* waiting for DEVICE_REMOVED: turn around now */
                phase_failed(m, PHASE_RESULT_CANCELLED, NULL);
        return 0;
}

void migration_set_vm_downtime(Migration *m, uint64_t ms) {
        if (!m)
                return;
        m->vm_downtime_ms = ms;
        m->have_vm_downtime = true;
        notify_changed(m);
}

int migration_apply_policy(Migration *m, const char *name, const MigrationParams *p) {
        _cleanup_free_ char *n = NULL, *bond = NULL, *vf = NULL;
        int r;

        if (!m || !p)
                return -EINVAL;
        r = strdup_scrubbed(name, &n);
        if (r < 0)
                return r;
        if (!m->bond_explicit && p->bond && *p->bond) {
                r = strdup_scrubbed(p->bond, &bond);
                if (r < 0)
                        return r;
        }
        if (!m->vf_spec && p->vf && *p->vf) {
                r = strdup_scrubbed(p->vf, &vf);
                if (r < 0)
                        return r;
        }

        free(m->policy_name);
        m->policy_name = TAKE_PTR(n);
        if (bond) {
                free(m->bond);
                m->bond = TAKE_PTR(bond);
        }
        if (vf)
                m->vf_spec = TAKE_PTR(vf);
        for (Phase i = 0; i < _PHASE_MAX; i++) {
                if (p->phase_budget[i] > 0)
                        m->budget[i] = p->phase_budget[i];
                m->retries[i] = p->retries[i];
                if (p->retry_backoff[i] > 0)
                        m->retry_backoff[i] = p->retry_backoff[i];
        }
        if (p->convergence) {
                m->have_convergence = true;
                m->convergence = *p->convergence;
        }
        if (p->settings) {
                m->settings = *p->settings;
                m->allow_postcopy = p->settings->allow_postcopy;
                m->max_downtime_ms = p->settings->max_downtime_ms;
        }

        if (!m->finished && m->phase >= 0 && m->records[m->phase].result == PHASE_RESULT_RUNNING)
                (void) m->ops->arm_timer(m->userdata, m, migration_get_phase_deadline(m));
        notify_changed(m);
        return 0;
}

/* Ask the backend to act on the running migration; the answer goes into the events. */
static int converge_control(Migration *m, MigrationControl c, uint64_t value) {
        if (!m->ops->control)
                return -EOPNOTSUPP;
        return m->ops->control(m->userdata, m, c, value);
}

/* A raise the rule made, for the job's "precopy"; the event says it too, so a raise that
 * cannot be recorded (out of memory) is still told. */
static void precopy_add_raise(Migration *m, unsigned iteration, uint64_t from_ms, uint64_t to_ms) {
        PrecopyRaise *more = reallocarray(m->raises, m->n_raises + 1, sizeof(PrecopyRaise));

        if (!more)
                return;
        m->raises = more;
        m->raises[m->n_raises++] = (PrecopyRaise) { .iteration = iteration, .from_ms = from_ms, .to_ms = to_ms };
}

/* Each pre-copy iteration not yet decided on goes through the policy's rule, once. */
static void converge(Migration *m) {
        if (!m->have_convergence || m->finished || m->phase != PHASE_MIGRATE)
                return;

        while (!m->convergence_done && m->decided_iteration < m->progress.iteration) {
                unsigned it = ++m->decided_iteration;
                PolicyConvergenceStep step;
                uint64_t downtime = 0;
                int r = 0;

                step = policy_convergence_decide(&m->convergence, it, m->max_downtime_ms, &downtime);
                switch (step) {
                case POLICY_STEP_NONE:
                        break;
                case POLICY_STEP_RAISE_DOWNTIME:
                        r = converge_control(m, MIGRATION_CONTROL_SET_MAX_DOWNTIME, downtime);
                        if (r >= 0) {
                                (void) migration_add_event(m, "raised the max downtime from %llu to %llu ms after %u pre-copy iterations",
                                                           (unsigned long long) m->max_downtime_ms,
                                                           (unsigned long long) downtime, it);
                                precopy_add_raise(m, it, m->max_downtime_ms, downtime);
                                m->max_downtime_ms = downtime;
                        }
                        break;
                case POLICY_STEP_POSTCOPY:
                        m->convergence_done = true;
                        if (path_is_native(m)) {
                                /* The VF's state moves in the stop-and-copy; post-copy would run
                                 * the guest on the destination before its device arrived. */
                                (void) migration_add_event(m, "pre-copy did not converge after %u iterations; the native path does not switch to post-copy, so it goes on",
                                                           it);
                                break;
                        }
                        if (!m->allow_postcopy) {
                                (void) migration_add_event(m, "pre-copy did not converge after %u iterations; the policy does not allow post-copy, so it goes on",
                                                           it);
                                break;
                        }
                        r = converge_control(m, MIGRATION_CONTROL_POSTCOPY, 0);
                        if (r >= 0) {
                                (void) migration_add_event(m, "switched to post-copy after %u pre-copy iterations", it);
                                m->postcopy_requested = true;
                        }
                        break;
                case POLICY_STEP_ABORT:
                        m->convergence_done = true;
                        r = converge_control(m, MIGRATION_CONTROL_ABORT, 0);
                        if (r >= 0) {
                                (void) migration_add_event(m, "aborted the migration after %u pre-copy iterations without convergence",
                                                           it);
                                m->aborted_by_policy = true;
                        }
                        break;
                case _POLICY_STEP_MAX:
                case _POLICY_STEP_INVALID:
                        break;
                }
                if (r < 0)
                        (void) migration_add_event(m, "could not act on the convergence rule (%s): %s",
                                                   policy_convergence_step_to_string(step), strerror(-r));
        }
}

/* New progress is in m->progress: decide on it, then state what the job itself knows
 * better than the report (post-copy asked for, the max downtime in force). */
static void progress_changed(Migration *m) {
        m->have_progress = true;
        if (m->have_precopy && !m->finished && m->phase == PHASE_MIGRATE) {
                if (m->progress.iteration > m->precopy_iterations)
                        m->precopy_iterations = m->progress.iteration;
                if (m->progress.dirty_rate_bytes_s > m->peak_dirty_rate_bytes_s)
                        m->peak_dirty_rate_bytes_s = m->progress.dirty_rate_bytes_s;
                if (m->progress.bandwidth_bytes_s > m->peak_bandwidth_bytes_s)
                        m->peak_bandwidth_bytes_s = m->progress.bandwidth_bytes_s;
        }
        converge(m);
        m->progress.postcopy = m->progress.postcopy || m->postcopy_requested;
        if (m->have_convergence)
                m->progress.max_downtime_ms = m->max_downtime_ms;
        notify_changed(m);
}

int migration_set_progress(Migration *m, const MigrationProgress *p) {
        unsigned iteration;

        if (!m || !p)
                return -EINVAL;
        iteration = m->have_progress && m->progress.iteration > p->iteration ? m->progress.iteration : p->iteration;
        m->progress = *p;
        m->progress.iteration = iteration;
        progress_changed(m);
        return 0;
}

int migration_set_iteration(Migration *m, unsigned iteration) {
        if (!m)
                return -EINVAL;
        if (m->have_progress && iteration <= m->progress.iteration)
                return 0;
        m->progress.iteration = iteration;
        progress_changed(m);
        return 0;
}

uint64_t migration_get_max_downtime(const Migration *m) {
        return m ? m->max_downtime_ms : 0;
}

int migration_add_event(Migration *m, const char *fmt, ...) {
        va_list ap;
        int r;
        char *s;

        if (!m || !fmt)
                return -EINVAL;
        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!s)
                return -ENOMEM;
        r = events_append(m, now(m), s);
        if (r < 0)
                return r;
        notify_changed(m);
        return 0;
}

/* Keep what preflight decided that the checks and later actions need. */
static int take_decision(Migration *m, PreflightDecision *d) {
        _cleanup_free_ char *network = NULL, *alias = NULL, *mac = NULL, *xml = NULL;
        int r;

        r = strdup_or_null(policy_get_plug_network(d->policy), &network);
        if (r >= 0)
                r = strdup_scrubbed(d->vf.alias, &alias);
        if (r >= 0)
                r = strdup_scrubbed(d->vf.mac, &mac);
        if (r >= 0)
                r = strdup_scrubbed(d->vf.xml, &xml);
        if (r < 0)
                return r;

        m->have_decision = true;
        m->agent_timeout = policy_get_agent_timeout(d->policy);
        m->plug_source = policy_get_plug_source(d->policy);
        free(m->plug_network);
        m->plug_network = TAKE_PTR(network);
        free(m->plug_xml);
        m->plug_xml = TAKE_PTR(d->plug_xml);
        free(m->refusal);
        m->refusal = TAKE_PTR(d->refusal);
        free(m->found_vf_alias);
        m->found_vf_alias = TAKE_PTR(alias);
        free(m->found_vf_mac);
        m->found_vf_mac = TAKE_PTR(mac);
        free(m->found_vf_xml);
        m->found_vf_xml = TAKE_PTR(xml);
        return 0;
}

/* Choose the path on what preflight found and the hosts' facts; the job's events say why. A
 * policy that pins native is refused with the reason native cannot be taken. */
static int choose_path(Migration *m, const PreflightDecision *d, const PreflightHostFacts *facts) {
        _cleanup_(preflight_path_done) PreflightPath path = {};
        _cleanup_free_ char *why = NULL;
        PolicyMigrationPath wanted = policy_get_migration(d->policy)->path;
        int r;

        r = preflight_decide_path(&(PreflightPathFacts) {
                                          .wanted = wanted,
                                          .vf_xml = d->vf.xml,
                                          .hosts = facts,
                                  }, &path);
        if (r < 0)
                return r;

        m->wanted_path = wanted;
        if (path.refusal) {
                char *joined = NULL;

                if (asprintf(&why, "refused in preflight: %s", path.refusal) < 0)
                        return -ENOMEM;
                if (m->refusal && asprintf(&joined, "%s; %s", m->refusal, path.refusal) < 0)
                        return -ENOMEM;
                free(m->refusal);
                m->refusal = joined ? joined : TAKE_PTR(path.refusal);
        } else {
                m->path = path.path;
                why = TAKE_PTR(path.reason);
        }
        free(m->path_reason);
        m->path_reason = TAKE_PTR(why);
        return migration_add_event(m, "path: %s", m->path_reason);
}

void migration_domain_read(Migration *m, const char *domain_xml, const PreflightHostFacts *facts) {
        _cleanup_(preflight_decision_done) PreflightDecision d = {};
        MigrationParams params = {};
        int r;

        if (!m || m->finished || !m->action_running || m->action != ACTION_PREFLIGHT || m->arrival)
                return; /* a late answer, or one the job did not ask for */

        r = preflight_decide(m->ops->policies ? m->ops->policies(m->userdata) : NULL, domain_xml, m->vf_spec, &d);
        if (r < 0) {
                migration_action_done(m, ACTION_PREFLIGHT, r,
                                      r == -ENOMEM ? "out of memory resolving its policy" : "cannot understand the domain's XML");
                return;
        }
        if (!d.policy) {
                migration_action_done(m, ACTION_PREFLIGHT, -ENOENT, d.refusal);
                return;
        }

        policy_apply_to_params(d.policy, &params);
        r = migration_apply_policy(m, policy_get_name(d.policy), &params);
        if (r >= 0) {
                m->policy_match = d.match;
                r = take_decision(m, &d);
        }
        if (r >= 0 && d.vf.xml) /* without a VF the job is refused already */
                r = choose_path(m, &d, facts);
        if (r < 0) {
                migration_action_done(m, ACTION_PREFLIGHT, r, "out of memory resolving its policy");
                return;
        }

        /* The checks on the hosts, with what is already known to be wrong among their causes. */
        if (m->ops->check) {
                r = m->ops->check(m->userdata, m);
                if (r < 0)
                        migration_action_done(m, ACTION_PREFLIGHT, r, "the checks could not start");
                return;
        }
        migration_action_done(m, ACTION_PREFLIGHT, m->refusal ? -EINVAL : 0, m->refusal);
}

const PolicyMigrationSettings *migration_get_settings(const Migration *m) {
        return m && m->have_decision ? &m->settings : NULL;
}
usec_t migration_get_agent_timeout(const Migration *m) {
        return m && m->have_decision ? m->agent_timeout : 0;
}
PolicyPlugSource migration_get_plug_source(const Migration *m) {
        return m && m->have_decision ? m->plug_source : _POLICY_PLUG_SOURCE_INVALID;
}
const char *migration_get_plug_network(const Migration *m) {
        return m ? m->plug_network : NULL;
}
const char *migration_get_plug_xml(const Migration *m) {
        return m ? m->plug_xml : NULL;
}
const char *migration_get_refusal(const Migration *m) {
        return m ? m->refusal : NULL;
}
PolicyMatchKind migration_get_policy_match(const Migration *m) {
        return m && m->have_decision ? m->policy_match : _POLICY_MATCH_KIND_INVALID;
}

int migration_set_vf(Migration *m, const char *alias, const char *mac, const char *xml) {
        _cleanup_free_ char *a = NULL, *c = NULL, *x = NULL;
        int r;

        if (!m)
                return -EINVAL;
        r = strdup_scrubbed(alias, &a);
        if (r < 0)
                return r;
        r = strdup_scrubbed(mac, &c);
        if (r < 0)
                return r;
        r = strdup_scrubbed(xml, &x);
        if (r < 0)
                return r;

        free(m->vf_alias);
        free(m->vf_mac);
        free(m->vf_xml);
        m->vf_alias = TAKE_PTR(a);
        m->vf_mac = TAKE_PTR(c);
        m->vf_xml = TAKE_PTR(x);
        return 0;
}

uint32_t migration_get_id(const Migration *m) {
        return m->id;
}
const char *migration_get_domain(const Migration *m) {
        return m->domain;
}
const char *migration_get_source_uri(const Migration *m) {
        return m->source_uri;
}
const char *migration_get_destination_uri(const Migration *m) {
        return m->destination_uri;
}
const char *migration_get_migrate_uri(const Migration *m) {
        return m->migrate_uri;
}
const char *migration_get_bond(const Migration *m) {
        return m->bond;
}
const char *migration_get_vf_spec(const Migration *m) {
        return m->vf_spec;
}
const char *migration_get_vf_alias(const Migration *m) {
        return m->vf_alias;
}
const char *migration_get_vf_mac(const Migration *m) {
        return m->vf_mac;
}
const char *migration_get_vf_xml(const Migration *m) {
        return m->vf_xml;
}
Phase migration_get_phase(const Migration *m) {
        return m->phase;
}
JobResult migration_get_result(const Migration *m) {
        return m->result;
}
const char *migration_get_error(const Migration *m) {
        return m->error;
}
bool migration_is_finished(const Migration *m) {
        return m->finished;
}

bool migration_is_queued(const Migration *m) {
        return m->phase == _PHASE_INVALID && !m->finished;
}

bool migration_is_check_only(const Migration *m) {
        return m->check_only;
}

bool migration_is_arrival(const Migration *m) {
        return m->arrival;
}

const char *migration_get_policy_name(const Migration *m) {
        return m->policy_name;
}

PolicyMigrationPath migration_get_path(const Migration *m) {
        return m->path;
}

bool migration_get_fell_back(const Migration *m) {
        return m->fell_back;
}

const MigrationProgress *migration_get_progress(const Migration *m) {
        return m->have_progress ? &m->progress : NULL;
}

unsigned migration_get_phase_attempts(const Migration *m, Phase p) {
        if (p < 0 || p >= _PHASE_MAX)
                return 0;
        return m->records[p].attempts;
}

usec_t migration_get_next_retry(const Migration *m) {
        return m->next_retry;
}
Side migration_get_domain_side(const Migration *m) {
        return m->domain_side;
}
void *migration_get_backend_data(const Migration *m) {
        return m->backend_data;
}
void migration_set_backend_data(Migration *m, void *data) {
        m->backend_data = data;
}

int migration_get_phase_record(const Migration *m, Phase p, usec_t *ret_start, usec_t *ret_duration,
                               PhaseResult *ret_result) {
        const PhaseRecord *rec;

        if (p < 0 || p >= _PHASE_MAX)
                return -EINVAL;
        rec = &m->records[p];
        if (rec->attempts == 0)
                return -ENOENT;
        if (ret_start)
                *ret_start = rec->start;
        if (ret_duration)
                *ret_duration = rec->result == PHASE_RESULT_RUNNING ? m->ops->now(m->userdata) - rec->start :
                                                                      rec->duration;
        if (ret_result)
                *ret_result = rec->result;
        return 0;
}

int migration_get_vm_downtime_ms(const Migration *m, uint64_t *ret) {
        if (!m->have_vm_downtime)
                return -ENODATA;
        *ret = m->vm_downtime_ms;
        return 0;
}

static usec_t phase_waited(const Migration *m, Phase p) {
        usec_t w = m->records[p].waited;

        if (p == m->phase && m->wait_since != USEC_INFINITY)
                w += m->ops->now(m->userdata) - m->wait_since;
        return w;
}

int migration_get_phase_waited_usec(const Migration *m, Phase p, usec_t *ret) {
        if (!m || p < 0 || p >= _PHASE_MAX || !ret)
                return -EINVAL;
        if (m->records[p].attempts == 0)
                return -ENOENT;
        *ret = phase_waited(m, p);
        return 0;
}

int migration_get_wall_usec(const Migration *m, usec_t *ret_wall, usec_t *ret_waited) {
        usec_t first = USEC_INFINITY, last = 0, waited = 0;

        if (!m)
                return -EINVAL;
        if (m->n_order == 0)
                return -ENODATA;
        for (size_t i = 0; i < m->n_order; i++) {
                usec_t start, duration;

                (void) migration_get_phase_record(m, m->order[i], &start, &duration, NULL);
                if (start < first)
                        first = start;
                if (start + duration > last)
                        last = start + duration;
                waited += phase_waited(m, m->order[i]);
        }
        if (ret_wall)
                *ret_wall = last - first;
        if (ret_waited)
                *ret_waited = waited;
        return 0;
}

int migration_get_standby_usec(const Migration *m, usec_t *ret) {
        if (m->standby_start == USEC_INFINITY || m->standby_end == USEC_INFINITY)
                return -ENODATA;
        *ret = m->standby_end - m->standby_start;
        return 0;
}

usec_t migration_get_phase_deadline(const Migration *m) {
        if (m->phase < 0)
                return USEC_INFINITY;
        return m->records[m->phase].start + m->budget[m->phase];
}

static json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static int json_add_string_or_null(json_object *o, const char *key, const char *s) {
        if (!s)
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
        return json_add(o, key, json_string_or_null(s));
}

static json_object *progress_to_json(const MigrationProgress *p) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int r;

        if (!o)
                return NULL;
        r = json_add(o, "iteration", json_object_new_int64(p->iteration));
        if (r >= 0)
                r = json_add(o, "data_total_bytes", json_object_new_int64((int64_t) p->data_total_bytes));
        if (r >= 0)
                r = json_add(o, "data_processed_bytes", json_object_new_int64((int64_t) p->data_processed_bytes));
        if (r >= 0)
                r = json_add(o, "data_remaining_bytes", json_object_new_int64((int64_t) p->data_remaining_bytes));
        if (r >= 0)
                r = json_add(o, "dirty_rate_bytes_s", json_object_new_int64((int64_t) p->dirty_rate_bytes_s));
        if (r >= 0)
                r = json_add(o, "bandwidth_bytes_s", json_object_new_int64((int64_t) p->bandwidth_bytes_s));
        if (r >= 0)
                r = json_add(o, "max_downtime_ms", json_object_new_int64((int64_t) p->max_downtime_ms));
        if (r >= 0)
                r = json_add(o, "postcopy", json_object_new_boolean(p->postcopy));
        return r < 0 ? NULL : TAKE_PTR(o);
}

/* What pre-copy did: the max downtime it started with and ended at, each raise, the
 * iterations, the highest dirty rate and bandwidth reported, and the pause it got (libvirt's
 * measure; null until known). */
static json_object *precopy_to_json(const Migration *m) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *raises;
        int r;

        if (!o)
                return NULL;
        r = json_add(o, "start_max_downtime_ms", json_object_new_int64((int64_t) m->precopy_start_downtime_ms));
        if (r >= 0)
                r = json_add(o, "max_downtime_ms", json_object_new_int64((int64_t) m->max_downtime_ms));
        if (r >= 0)
                r = json_add(o, "iterations", json_object_new_int64(m->precopy_iterations));
        if (r >= 0)
                r = json_add(o, "dirty_rate_bytes_s_max", json_object_new_int64((int64_t) m->peak_dirty_rate_bytes_s));
        if (r >= 0)
                r = json_add(o, "bandwidth_bytes_s_max", json_object_new_int64((int64_t) m->peak_bandwidth_bytes_s));
        if (r >= 0) {
                if (m->have_vm_downtime)
                        r = json_add(o, "pause_ms", json_object_new_int64((int64_t) m->vm_downtime_ms));
                else
                        r = json_add_string_or_null(o, "pause_ms", NULL);
        }
        if (r < 0)
                return NULL;
        raises = json_object_new_array();
        r = json_add(o, "raises", raises);
        for (size_t i = 0; r >= 0 && i < m->n_raises; i++) {
                json_object *e = json_object_new_object();

                r = json_append(raises, e);
                if (r < 0)
                        break;
                r = json_add(e, "iteration", json_object_new_int64(m->raises[i].iteration));
                if (r >= 0)
                        r = json_add(e, "from_ms", json_object_new_int64((int64_t) m->raises[i].from_ms));
                if (r >= 0)
                        r = json_add(e, "to_ms", json_object_new_int64((int64_t) m->raises[i].to_ms));
        }
        return r < 0 ? NULL : TAKE_PTR(o);
}

int migration_add_agent_sample(Migration *m, const char *command, usec_t usec) {
        AgentStats *a = NULL, *grown;

        if (!m || !command || usec == USEC_INFINITY)
                return -EINVAL;
        for (size_t i = 0; i < m->n_agent && !a; i++)
                if (streq(m->agent[i].command, command))
                        a = &m->agent[i];
        if (!a) {
                char *c = strdup(command);

                if (!c)
                        return -ENOMEM;
                grown = realloc(m->agent, (m->n_agent + 1) * sizeof(AgentStats));
                if (!grown) {
                        free(c);
                        return -ENOMEM;
                }
                m->agent = grown;
                a = &m->agent[m->n_agent++];
                *a = (AgentStats) { .command = c };
        }
        a->count++;
        a->total += usec;
        if (usec > a->max)
                a->max = usec;
        return 0;
}

const AgentStats *migration_get_agent_stats(const Migration *m, const char *command) {
        for (size_t i = 0; m && command && i < m->n_agent; i++)
                if (streq(m->agent[i].command, command))
                        return &m->agent[i];
        return NULL;
}

static json_object *json_new_ms(usec_t usec) {
        return json_object_new_double((double) usec / USEC_PER_MSEC);
}

static int agent_to_json(const Migration *m, json_object *o) {
        json_object *agent = json_object_new_object();
        int r;

        r = json_add(o, "agent", agent);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_agent; i++) {
                const AgentStats *a = &m->agent[i];
                json_object *c = json_object_new_object();

                r = json_add(agent, a->command, c);
                if (r >= 0)
                        r = json_add(c, "count", json_object_new_int64((int64_t) a->count));
                if (r >= 0)
                        r = json_add(c, "total_ms", json_new_ms(a->total));
                if (r >= 0)
                        r = json_add(c, "max_ms", json_new_ms(a->max));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int events_to_json(const Migration *m, json_object *o) {
        json_object *events = json_object_new_array();
        int r;

        r = json_add(o, "events", events);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_events; i++) {
                json_object *e = json_object_new_object();

                if (!e || json_object_array_add(events, e) < 0) {
                        json_object_put(e);
                        return -ENOMEM;
                }
                r = json_add(e, "at_us", json_object_new_int64((int64_t) m->events[i].at));
                if (r >= 0)
                        r = json_add(e, "message", json_object_new_string(m->events[i].message));
                if (r < 0)
                        return r;
        }
        return 0;
}

int migration_build_json(const Migration *m, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *phases;
        uint64_t downtime;
        usec_t standby, wall, waited;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        r = json_add(o, "id", json_object_new_int64(m->id));
        if (r >= 0)
                r = json_add(o, "domain", json_object_new_string(m->domain));
        if (r >= 0)
                r = json_add(o, "source_uri", json_object_new_string(m->source_uri));
        if (r >= 0)
                r = json_add(o, "destination_uri", json_object_new_string(m->destination_uri));
        if (r >= 0)
                r = json_add_string_or_null(o, "migrate_uri", m->migrate_uri);
        if (r >= 0)
                r = json_add(o, "result", json_object_new_string(job_result_to_string(m->result)));
        if (r >= 0)
                r = json_add_string_or_null(o, "error", m->error);
        if (r >= 0)
                r = json_add_string_or_null(o, "phase", m->phase >= 0 ? phase_to_string(m->phase) :
                                                        migration_is_queued(m) ? "queued" : NULL);
        if (r >= 0)
                r = json_add(o, "queued", json_object_new_boolean(migration_is_queued(m)));
        if (r >= 0)
                r = json_add_string_or_null(o, "interrupted",
                                            m->interrupted >= 0 ? phase_to_string(m->interrupted) : NULL);
        if (r >= 0)
                r = json_add(o, "kind", json_object_new_string(m->check_only ? "check" :
                                                               m->arrival ? "arrival" : "migrate"));
        if (r >= 0) {
                char when[64];

                if (m->started_realtime > 0 && job_request_format_time(m->started_realtime, when, sizeof when) >= 0)
                        r = json_add(o, "started_at", json_object_new_string(when));
                else
                        r = json_add_string_or_null(o, "started_at", NULL);
        }
        if (r >= 0) {
                json_object *req = NULL;

                r = job_request_to_json(&m->request, &req);
                if (r >= 0)
                        r = json_add(o, "requested_by", req);
        }
        if (r >= 0)
                r = json_add(o, "bond", json_object_new_string(m->bond));
        if (r >= 0)
                r = json_add_string_or_null(o, "policy", m->policy_name);
        if (r >= 0)
                r = json_add_string_or_null(o, "path", m->path >= 0 ? policy_migration_path_to_string(m->path) : NULL);
        if (r >= 0)
                r = json_add_string_or_null(o, "path_reason", m->path_reason);
        if (r >= 0)
                r = json_add(o, "fallback", json_object_new_boolean(m->fell_back));
        if (r >= 0)
                r = json_add_string_or_null(o, "vf_alias", m->vf_alias);
        if (r >= 0)
                r = json_add_string_or_null(o, "vf_mac", m->vf_mac);
        if (r < 0)
                return r;

        phases = json_object_new_array();
        r = json_add(o, "phases", phases);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_order; i++) {
                usec_t start, duration;
                PhaseResult result;
                json_object *ph = json_object_new_object();

                if (!ph || json_object_array_add(phases, ph) < 0) {
                        json_object_put(ph);
                        return -ENOMEM;
                }
                (void) migration_get_phase_record(m, m->order[i], &start, &duration, &result);
                r = json_add(ph, "name", json_object_new_string(phase_to_string(m->order[i])));
                if (r >= 0)
                        r = json_add(ph, "start_us", json_object_new_int64((int64_t) start));
                if (r >= 0)
                        r = json_add(ph, "duration_us", json_object_new_int64((int64_t) duration));
                if (r >= 0)
                        r = json_add(ph, "result", json_object_new_string(phase_result_to_string(result)));
                if (r >= 0)
                        r = json_add(ph, "waited_us", json_object_new_int64((int64_t) phase_waited(m, m->order[i])));
                if (r >= 0 && m->records[m->order[i]].attempts > 1)
                        r = json_add(ph, "attempts", json_object_new_int64(m->records[m->order[i]].attempts));
                if (r < 0)
                        return r;
        }

        if (migration_get_wall_usec(m, &wall, &waited) >= 0) {
                r = json_add(o, "wall_ms", json_object_new_int64((int64_t) (wall / USEC_PER_MSEC)));
                if (r >= 0)
                        r = json_add(o, "waited_ms", json_object_new_int64((int64_t) (waited / USEC_PER_MSEC)));
                if (r >= 0)
                        r = json_add(o, "overhead_ms", json_object_new_int64(
                                             (int64_t) ((wall > waited ? wall - waited : 0) / USEC_PER_MSEC)));
        } else {
                r = json_add_string_or_null(o, "wall_ms", NULL);
                if (r >= 0)
                        r = json_add_string_or_null(o, "waited_ms", NULL);
                if (r >= 0)
                        r = json_add_string_or_null(o, "overhead_ms", NULL);
        }
        if (r < 0)
                return r;

        if (migration_get_vm_downtime_ms(m, &downtime) >= 0)
                r = json_add(o, "vm_downtime_ms", json_object_new_int64((int64_t) downtime));
        else
                r = json_add_string_or_null(o, "vm_downtime_ms", NULL);
        if (r < 0)
                return r;

        if (migration_get_standby_usec(m, &standby) >= 0)
                r = json_add(o, "standby_ms", json_object_new_int64((int64_t) (standby / USEC_PER_MSEC)));
        else
                r = json_add_string_or_null(o, "standby_ms", NULL);
        if (r >= 0) {
                if (m->have_progress)
                        r = json_add(o, "progress", progress_to_json(&m->progress));
                else
                        r = json_add_string_or_null(o, "progress", NULL);
        }
        if (r >= 0) {
                if (m->have_precopy)
                        r = json_add(o, "precopy", precopy_to_json(m));
                else
                        r = json_add_string_or_null(o, "precopy", NULL);
        }
        if (r >= 0)
                r = events_to_json(m, o);
        if (r >= 0)
                r = agent_to_json(m, o);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

/* ---- the journal record ---- */

static int json_add_phase_table(json_object *o, const char *key, const usec_t *values, bool skip_zero) {
        json_object *t = json_object_new_object();
        int r;

        r = json_add(o, key, t);
        if (r < 0)
                return r;
        for (Phase p = 0; p < _PHASE_MAX; p++) {
                if (skip_zero && values[p] == 0)
                        continue;
                r = json_add(t, phase_to_string(p), json_object_new_int64((int64_t) values[p]));
                if (r < 0)
                        return r;
        }
        return 0;
}

int migration_build_journal(const Migration *m, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *j;
        usec_t retries[_PHASE_MAX];
        int r;

        r = migration_build_json(m, &o);
        if (r < 0)
                return r;

        j = json_object_new_object();
        r = json_add(o, "journal", j);
        if (r >= 0)
                r = json_add(j, "finished", json_object_new_boolean(m->finished));
        if (r >= 0)
                r = json_add(j, "domain_side", json_object_new_string(side_to_string(m->domain_side)));
        if (r >= 0)
                r = json_add_string_or_null(j, "vf_spec", m->vf_spec);
        if (r >= 0)
                r = json_add_string_or_null(j, "vf_xml", m->vf_xml);
        if (r >= 0)
                r = json_add(j, "bond_explicit", json_object_new_boolean(m->bond_explicit));
        if (r >= 0)
                r = json_add_string_or_null(j, "cause", m->cause);
        if (r >= 0)
                r = json_add_string_or_null(j, "rollback_from", m->cause ? phase_to_string(m->rollback_from) : NULL);
        if (r >= 0)
                r = json_add(j, "rollback_goal", json_object_new_string(job_result_to_string(m->rollback_goal)));
        if (r >= 0)
                r = json_add(j, "cancel_requested", json_object_new_boolean(m->cancel_requested));
        if (r >= 0)
                r = json_add(j, "started_realtime_us", json_object_new_int64((int64_t) m->started_realtime));
        if (r >= 0)
                r = json_add(j, "standby_start_us", json_object_new_int64((int64_t) m->standby_start));
        if (r >= 0)
                r = json_add(j, "standby_end_us", json_object_new_int64((int64_t) m->standby_end));
        if (r >= 0)
                r = json_add_phase_table(j, "budgets_us", m->budget, false);
        if (r >= 0) {
                for (Phase p = 0; p < _PHASE_MAX; p++)
                        retries[p] = m->retries[p];
                r = json_add_phase_table(j, "retries", retries, true);
        }
        if (r >= 0)
                r = json_add_phase_table(j, "retry_backoff_us", m->retry_backoff, false);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

/* Reading a record back: each getter says what was wrong, with the key. */

typedef struct Reader {
        char *error; /* the first problem found */
} Reader;

static json_object *reader_get(Reader *rd, json_object *o, const char *key, json_type type, bool nullable) {
        json_object *v;

        if (rd->error)
                return NULL;
        if (!json_object_object_get_ex(o, key, &v)) {
                (void) asprintf(&rd->error, "missing \"%s\"", key);
                return NULL;
        }
        if (!v && nullable)
                return NULL;
        if (!json_object_is_type(v, type)) {
                (void) asprintf(&rd->error, "\"%s\" is not a %s", key, json_type_to_name(type));
                return NULL;
        }
        return v;
}

static char *reader_string(Reader *rd, json_object *o, const char *key, bool nullable) {
        json_object *v = reader_get(rd, o, key, json_type_string, nullable);
        char *s;

        if (!v)
                return NULL;
        s = utf8_scrub(strdup(json_object_get_string(v)));
        if (!s && !rd->error)
                rd->error = strdup("out of memory");
        return s;
}

static int64_t reader_int(Reader *rd, json_object *o, const char *key) {
        json_object *v = reader_get(rd, o, key, json_type_int, false);

        return v ? json_object_get_int64(v) : 0;
}

static bool reader_bool(Reader *rd, json_object *o, const char *key) {
        json_object *v = reader_get(rd, o, key, json_type_boolean, false);

        return v && json_object_get_boolean(v);
}

static int reader_enum(Reader *rd, json_object *o, const char *key, bool nullable,
                       int (*from_string)(const char *s)) {
        json_object *v = reader_get(rd, o, key, json_type_string, nullable);
        int e;

        if (!v)
                return -EINVAL;
        e = from_string(json_object_get_string(v));
        if (e < 0 && !rd->error)
                (void) asprintf(&rd->error, "\"%s\" has an unknown value \"%s\"", key, json_object_get_string(v));
        return e;
}

static int phase_from_string_int(const char *s) {
        return phase_from_string(s);
}
static int phase_result_from_string_int(const char *s) {
        return phase_result_from_string(s);
}
static int policy_migration_path_from_string_int(const char *s) {
        return policy_migration_path_from_string(s);
}
static int job_result_from_string_int(const char *s) {
        return job_result_from_string(s);
}
static int side_from_string_int(const char *s) {
        return side_from_string(s);
}

static void reader_phase_table(Reader *rd, json_object *o, const char *key, usec_t *values) {
        json_object *t = reader_get(rd, o, key, json_type_object, false);

        if (!t)
                return;
        json_object_object_foreach(t, name, v) {
                Phase p = phase_from_string(name);

                if (p < 0 || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
                        if (!rd->error)
                                (void) asprintf(&rd->error, "\"%s\" has a bad entry \"%s\"", key, name);
                        return;
                }
                values[p] = (usec_t) json_object_get_int64(v);
        }
}

/* The record's "precopy", if migrate started (records from before it was kept have none). */
static void reader_precopy(Reader *rd, json_object *record, Migration *m) {
        json_object *o, *raises;

        if (!json_object_object_get_ex(record, "precopy", &o) || !json_object_is_type(o, json_type_object))
                return;
        m->have_precopy = true;
        m->precopy_start_downtime_ms = (uint64_t) reader_int(rd, o, "start_max_downtime_ms");
        m->precopy_iterations = (unsigned) reader_int(rd, o, "iterations");
        m->peak_dirty_rate_bytes_s = (uint64_t) reader_int(rd, o, "dirty_rate_bytes_s_max");
        m->peak_bandwidth_bytes_s = (uint64_t) reader_int(rd, o, "bandwidth_bytes_s_max");
        /* The limit in force, as the rule last raised it. */
        m->max_downtime_ms = (uint64_t) reader_int(rd, o, "max_downtime_ms");
        raises = reader_get(rd, o, "raises", json_type_array, false);
        for (size_t i = 0; raises && i < json_object_array_length(raises) && !rd->error; i++) {
                json_object *e = json_object_array_get_idx(raises, i);
                unsigned iteration = (unsigned) reader_int(rd, e, "iteration");
                uint64_t from = (uint64_t) reader_int(rd, e, "from_ms"), to = (uint64_t) reader_int(rd, e, "to_ms");

                if (!rd->error)
                        precopy_add_raise(m, iteration, from, to);
        }
}

static void reader_phases(Reader *rd, json_object *o, Migration *m) {
        json_object *phases = reader_get(rd, o, "phases", json_type_array, false);
        size_t n = phases ? json_object_array_length(phases) : 0;

        for (size_t i = 0; i < n && !rd->error; i++) {
                json_object *ph = json_object_array_get_idx(phases, i), *attempts, *waited;
                Phase p = reader_enum(rd, ph, "name", false, phase_from_string_int);
                PhaseRecord *rec;

                if (rd->error)
                        return;
                rec = &m->records[p];
                if (rec->attempts > 0 || m->n_order >= _PHASE_MAX) {
                        (void) asprintf(&rd->error, "phase %s appears twice", phase_to_string(p));
                        return;
                }
                rec->start = (usec_t) reader_int(rd, ph, "start_us");
                rec->duration = (usec_t) reader_int(rd, ph, "duration_us");
                rec->result = reader_enum(rd, ph, "result", false, phase_result_from_string_int);
                rec->attempts = json_object_object_get_ex(ph, "attempts", &attempts) ?
                                (unsigned) json_object_get_int64(attempts) : 1;
                if (rec->attempts == 0)
                        rec->attempts = 1;
                if (json_object_object_get_ex(ph, "waited_us", &waited) && json_object_get_int64(waited) > 0)
                        rec->waited = (usec_t) json_object_get_int64(waited);
                m->order[m->n_order++] = p;
                m->phase = p;
        }
}

/* "requested_by" back into m's request; absent: srvmd. */
static void reader_request(Reader *rd, json_object *record, Migration *m) {
        JobRequest *req = &m->request;
        json_object *o, *uid;
        char *via;

        if (!json_object_object_get_ex(record, "requested_by", &o) || !o)
                return;
        if (!json_object_is_type(o, json_type_object)) {
                if (!rd->error)
                        rd->error = strdup("\"requested_by\" is not an object");
                return;
        }
        via = reader_string(rd, o, "via", false);
        if (via) {
                req->via = job_request_via_from_string(via);
                if (req->via < 0) {
                        req->via = JOB_REQUEST_SRVMD;
                        if (!rd->error)
                                rd->error = strdup("\"requested_by\" has an unknown \"via\"");
                }
                free(via);
        }
        if (json_object_object_get_ex(o, "uid", &uid) && uid) {
                int64_t v = reader_int(rd, o, "uid");

                if (v >= 0 && v <= UINT32_MAX) {
                        req->have_uid = true;
                        req->uid = (uint32_t) v;
                } else if (!rd->error)
                        rd->error = strdup("\"requested_by\" has a uid out of range");
        }
        free(m->request_user);
        m->request_user = reader_string(rd, o, "user", true);
        req->user = m->request_user;
}

int migration_new_from_journal(json_object *record, const MigrationBackendOps *ops, void *userdata,
                               Migration **ret, char **ret_error) {
        _cleanup_(migration_freep) Migration *m = NULL;
        _cleanup_free_ char *domain = NULL, *source = NULL, *destination = NULL, *migrate_uri = NULL;
        Reader rd = {};
        json_object *j, *events;
        MigrationParams p = {};
        usec_t values[_PHASE_MAX] = {};
        int64_t id;
        int r;

        if (!record || !ops || !ret)
                return -EINVAL;

        id = reader_int(&rd, record, "id");
        domain = reader_string(&rd, record, "domain", false);
        source = reader_string(&rd, record, "source_uri", false);
        destination = reader_string(&rd, record, "destination_uri", false);
        migrate_uri = reader_string(&rd, record, "migrate_uri", true);
        j = reader_get(&rd, record, "journal", json_type_object, false);
        if (!rd.error && (id <= 0 || id > UINT32_MAX))
                rd.error = strdup("\"id\" is out of range");
        if (rd.error)
                goto fail;

        p = (MigrationParams) {
                .domain = domain,
                .source_uri = source,
                .destination_uri = destination,
                .migrate_uri = migrate_uri,
        };
        r = migration_new((uint32_t) id, &p, ops, userdata, &m);
        if (r < 0) {
                rd.error = strdup("its parameters are invalid");
                goto fail;
        }

        free(m->bond);
        m->bond = reader_string(&rd, record, "bond", false);
        m->vf_spec = reader_string(&rd, j, "vf_spec", true);
        m->bond_explicit = reader_bool(&rd, j, "bond_explicit");
        m->policy_name = reader_string(&rd, record, "policy", true);
        m->vf_alias = reader_string(&rd, record, "vf_alias", true);
        m->vf_mac = reader_string(&rd, record, "vf_mac", true);
        m->vf_xml = reader_string(&rd, j, "vf_xml", true);
        m->check_only = streq_ptr(json_object_get_string(json_object_object_get(record, "kind")), "check");
        m->arrival = streq_ptr(json_object_get_string(json_object_object_get(record, "kind")), "arrival");
        m->result = reader_enum(&rd, record, "result", false, job_result_from_string_int);
        m->error = reader_string(&rd, record, "error", true);
        m->finished = reader_bool(&rd, j, "finished");
        m->domain_side = reader_enum(&rd, j, "domain_side", false, side_from_string_int);
        m->cause = reader_string(&rd, j, "cause", true);
        if (m->cause)
                m->rollback_from = reader_enum(&rd, j, "rollback_from", false, phase_from_string_int);
        m->rollback_goal = reader_enum(&rd, j, "rollback_goal", false, job_result_from_string_int);
        m->cancel_requested = reader_bool(&rd, j, "cancel_requested");
        /* Optional: records of a srvmd that did not write it have it null. */
        if (json_object_object_get_ex(record, "path", NULL))
                m->path = reader_enum(&rd, record, "path", true, policy_migration_path_from_string_int);
        if (m->path < 0)
                m->path = _POLICY_PATH_INVALID;
        if (json_object_object_get_ex(record, "path_reason", NULL))
                m->path_reason = reader_string(&rd, record, "path_reason", true);
        if (json_object_object_get_ex(record, "fallback", NULL))
                m->fell_back = reader_bool(&rd, record, "fallback");
        if (json_object_object_get_ex(record, "interrupted", NULL))
                m->interrupted = reader_enum(&rd, record, "interrupted", true, phase_from_string_int);
        if (m->interrupted < 0)
                m->interrupted = _PHASE_INVALID;
        /* Optional: records of a srvmd that did not write them have no start time and no
         * requester; such a job then says srvmd asked. */
        if (json_object_object_get_ex(j, "started_realtime_us", NULL))
                m->started_realtime = (usec_t) reader_int(&rd, j, "started_realtime_us");
        else
                m->started_realtime = 0;
        reader_request(&rd, record, m);
        m->standby_start = (usec_t) reader_int(&rd, j, "standby_start_us");
        m->standby_end = (usec_t) reader_int(&rd, j, "standby_end_us");
        reader_phase_table(&rd, j, "budgets_us", m->budget);
        reader_phase_table(&rd, j, "retries", values);
        for (Phase i = 0; i < _PHASE_MAX; i++)
                m->retries[i] = (unsigned) values[i];
        reader_phase_table(&rd, j, "retry_backoff_us", m->retry_backoff);
        reader_phases(&rd, record, m);
        if (json_object_object_get_ex(record, "vm_downtime_ms", NULL) &&
            json_object_is_type(json_object_object_get(record, "vm_downtime_ms"), json_type_int)) {
                m->vm_downtime_ms = (uint64_t) json_object_get_int64(json_object_object_get(record, "vm_downtime_ms"));
                m->have_vm_downtime = true;
        }
        reader_precopy(&rd, record, m);
        events = reader_get(&rd, record, "events", json_type_array, false);
        for (size_t i = 0; events && i < json_object_array_length(events) && !rd.error; i++) {
                json_object *e = json_object_array_get_idx(events, i);
                usec_t at = (usec_t) reader_int(&rd, e, "at_us");
                _cleanup_free_ char *message = reader_string(&rd, e, "message", false);

                if (rd.error)
                        break;
                if (events_append(m, at, TAKE_PTR(message)) < 0) {
                        rd.error = strdup("out of memory");
                        break;
                }
        }
        /* An unfinished job without phases had not started: it was queued (and handed to this
         * srvmd at a stop), and queues again; any other is broken. */
        if (!rd.error && !m->finished && m->phase < 0 &&
            !json_object_get_boolean(json_object_object_get(record, "queued")))
                rd.error = strdup("an unfinished job without phases");
        if (rd.error)
                goto fail;

        *ret = TAKE_PTR(m);
        return 0;

fail:
        if (ret_error)
                *ret_error = rd.error;
        else
                free(rd.error);
        return -EBADMSG;
}

/* A queued job found in the journal of a srvmd that did not hand it over (a crash, SIGKILL):
 * srvmd starts no migration on its own after a crash, so the job ends failed, saying so; it
 * had touched nothing. */
int migration_abandon_queued(Migration *m) {
        if (!m)
                return -EINVAL;
        if (m->finished || m->phase != _PHASE_INVALID)
                return -EBUSY;
        finish(m, JOB_FAILED,
               "Domain '%s': srvmd stopped without handing the job over (a crash or a kill) while it was queued; "
               "nothing was changed, and srvmd does not start a migration on its own after a crash. Ask for it again.",
               m->domain);
        return 0;
}

/* srvmd stops (SIGTERM) while the job is in preflight, which reads and changes nothing: the
 * job goes back to the queue as it was asked for, and the next srvmd starts it afresh in its
 * turn, instead of finding it interrupted and ending it failed. Its preflight so far is
 * forgotten; the event says so. */
int migration_requeue(Migration *m) {
        if (!m)
                return -EINVAL;
        if (m->finished || m->phase != PHASE_PREFLIGHT || m->arrival || m->check_only)
                return -EBUSY;
        m->records[PHASE_PREFLIGHT] = (PhaseRecord) {};
        m->n_order = 0;
        m->phase = _PHASE_INVALID;
        m->action_running = false; /* its answer will not be read: srvmd is exiting */
        m->next_retry = USEC_INFINITY;
        return migration_add_event(m, "srvmd stopped in preflight, which changes nothing: the job is queued again as asked");
}

int migration_recover(Migration *m) {
        PhaseRecord *rec;

        if (!m)
                return -EINVAL;
        if (m->finished || m->phase < 0 || m->action_running)
                return -EALREADY;

        /* The phase srvmd stopped in ran into the void: say so, then find the domain. Its
         * duration runs to now, so the timeline has no hole: whatever happened meanwhile (a
         * migration libvirt finished on its own, the VM pause in it) happened in it. The job
         * keeps the first phase it stopped in: a phase run again after the restart (plug, link,
         * failback) holds its new attempt, and a second stop, in recover or after it, does not
         * change what turned the job around. */
        if (m->interrupted < 0)
                m->interrupted = m->phase;
        rec = &m->records[m->phase];
        if (rec->result == PHASE_RESULT_RUNNING) {
                rec->result = PHASE_RESULT_INTERRUPTED;
                rec->duration = now(m) - rec->start;
                /* Its action went on without srvmd: none of that was srvmd's own time. */
                if (rec->waited < rec->duration)
                        rec->waited = rec->duration;
        }
        m->next_retry = USEC_INFINITY;
        migration_set_phase(m, PHASE_RECOVER);
        return 0;
}
