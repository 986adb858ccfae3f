/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager (see manager.h): one sd-event loop owns every job. Each job is a Migration
 * state machine plus what the loop keeps for it: its timer and the last phase logged. The
 * manager is the machine's backend towards the loop (clock, timer, change notification) and
 * hands the actions themselves to the libvirt backend. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "bus.h"
#include "errand.h"
#include "journal.h"
#include "journal-writer.h"
#include "json-util.h"
#include "log-journal.h"
#include "log.h"
#include "arrival-plug.h"
#include "manager.h"
#include "metrics-http.h"
#include "metrics-textfile.h"
#include "srvm-hook.h"
#include "vf-census.h"
#include "virt.h"

/* Finished jobs are kept for `srvmctl show` until there are more than this many. */
#define FINISHED_JOBS_MAX 64

/* Progress and other small changes of a job go out on the bus at most this often; a new
 * phase and the job's end go out at once. */
#define JOB_EMIT_INTERVAL_USEC (100 * USEC_PER_MSEC)

typedef struct Job {
        Manager *manager;
        Migration *migration;      /* owned */
        sd_event_source *timer;    /* owned; the phase budget */
        /* What the log and the bus were told last: each phase and the end are announced once. */
        Phase logged_phase;
        JobResult logged_result;
        bool logged_finished;
        bool journal_failed; /* said once, not at every phase */
        /* The journal: the newest record handed to the writer and the newest known durable. */
        uint64_t journal_seq;
        uint64_t journal_synced;
        /* An action that changes the host, waiting for the record that says it begins
         * (journal_seq when it was asked for) to be durable. */
        bool action_waiting;
        bool action_cancel; /* cancelled while it waited: cancel it once started */
        bool emit_waiting;  /* a new phase or result, told on the bus once its record is durable */
        Phase told_phase;   /* the last JobPhaseChanged */
        bool told_finished; /* JobFinished went out */
        Action waiting_action;
        Side waiting_side;
        uint64_t waiting_seq;
        sd_event_source *emit_timer; /* owned; a PropertiesChanged put off (JOB_EMIT_INTERVAL_USEC) */
} Job;

/* A domain that arrived by migration, to look at when its grace period is over. */
typedef struct Arrival {
        struct Arrival *next;
        Manager *manager;
        char *domain;
        sd_event_source *timer; /* owned */
} Arrival;

struct Manager {
        char *local_uri;
        char *state_dir;
        char *journal_dir; /* <state_dir>/jobs */
        bool user_bus;

        sd_event *event;
        sd_bus *bus;
        Virt *virt;

        Job **jobs; /* owned, in creation order */
        size_t n_jobs;
        uint32_t next_id;
        unsigned max_migrations_option; /* --max-migrations; 0: the default policy's, or the default */

        ErrandPool *errands; /* owned: the reads open to every caller */
        JournalWriter *journal_writer; /* owned */
        sd_event_source *journal_source; /* owned; the writer's "durable" reports */

        bool handed_over; /* stopped with jobs running, journaled for the next srvmd */

        usec_t arrival_grace;
        Arrival *arrivals; /* owned: domains that arrived, waiting out the grace period */

        char *policy_dir; /* NULL: the default directories */
        PolicySet *policies; /* owned; replaced whole on reload */

        Metrics *metrics;          /* owned */
        MetricsHttp *metrics_http; /* owned; NULL with --no-metrics */
        char *metrics_textfile;    /* owned; NULL without --metrics-textfile */
        sd_event_source *metrics_textfile_timer; /* owned */
        VfCensus *vf_census;       /* owned; NULL when no metrics go anywhere */
        bool metrics_textfile_failed; /* said so once; again when it works */
        char *metrics_address;
        uint16_t metrics_port;
        bool no_metrics;
};

static Arrival *arrival_free(Arrival *a) {
        if (!a)
                return NULL;
        sd_event_source_disable_unref(a->timer);
        free(a->domain);
        free(a);
        return NULL;
}

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        sd_event_source_disable_unref(j->timer);
        sd_event_source_disable_unref(j->emit_timer);
        migration_free(j->migration);
        free(j);
        return NULL;
}

static unsigned manager_metrics_n_active(void *userdata) {
        return manager_n_active_jobs(userdata);
}

/* The backend's reports (virt.h), on the loop thread. */
static Migration *virt_on_job(void *userdata, uint32_t id) {
        return manager_get_job(userdata, id);
}
static Migration *manager_find_running(Manager *mgr, const char *domain);
static Migration *virt_on_domain_job(void *userdata, const char *domain) {
        return manager_find_running(userdata, domain);
}
static void virt_on_device_removed(void *userdata, const char *domain, const char *alias) {
        manager_on_device_removed(userdata, domain, alias);
}
static void virt_on_device_removal_failed(void *userdata, const char *domain, const char *alias) {
        manager_on_device_removal_failed(userdata, domain, alias);
}
static void virt_on_job_completed(void *userdata, const char *domain, uint64_t downtime_ms) {
        manager_on_job_completed(userdata, domain, downtime_ms);
}
static void virt_on_domain_arrived(void *userdata, const char *domain) {
        manager_on_domain_arrived(userdata, domain);
}
static void virt_on_domain_left(void *userdata, const char *domain) {
        manager_on_domain_left(userdata, domain);
}
static void virt_on_domain_inspected(void *userdata, const char *domain, bool running, const VirtXmlPlan *plan,
                                     bool vf_present, uint64_t held_for_sec, const char *xml, const char *error) {
        manager_on_domain_inspected(userdata, domain, running, plan, vf_present, held_for_sec, xml, error);
}
static void virt_on_connection(void *userdata, bool connected) {
        manager_on_libvirt_connection(userdata, connected);
}
static void virt_on_agent_latency(void *userdata, const char *command, usec_t rtt) {
        Manager *mgr = userdata;

        (void) metrics_observe_agent(mgr->metrics, command, (double) rtt / USEC_PER_SEC);
}

static const VirtEvents manager_virt_events = {
        .job = virt_on_job,
        .domain_job = virt_on_domain_job,
        .device_removed = virt_on_device_removed,
        .device_removal_failed = virt_on_device_removal_failed,
        .job_completed = virt_on_job_completed,
        .domain_arrived = virt_on_domain_arrived,
        .domain_left = virt_on_domain_left,
        .domain_inspected = virt_on_domain_inspected,
        .connection = virt_on_connection,
        .agent_latency = virt_on_agent_latency,
};

static bool manager_metrics_libvirt_connected(void *userdata) {
        Manager *mgr = userdata;

        return mgr->virt && virt_is_connected(mgr->virt);
}

static unsigned manager_metrics_n_degraded(void *userdata) {
        Manager *mgr = userdata;
        unsigned n = 0;

        for (size_t i = 0; i < mgr->n_jobs; i++) {
                Migration *m = mgr->jobs[i]->migration;

                if (!migration_is_finished(m) && migration_get_result(m) == JOB_DEGRADED)
                        n++;
        }
        return n;
}

/* --metrics-textfile: the file rewritten whole; a failure said once until it works again. */
static void manager_write_textfile(Manager *mgr) {
        int r;

        if (!mgr->metrics_textfile)
                return;
        r = metrics_textfile_write(mgr->metrics, mgr->metrics_textfile);
        if (r < 0 && !mgr->metrics_textfile_failed)
                log_warning_errno(r, "Cannot write the metrics to %s: %m", mgr->metrics_textfile);
        else if (r >= 0 && mgr->metrics_textfile_failed)
                log_info("Writing the metrics to %s again.", mgr->metrics_textfile);
        mgr->metrics_textfile_failed = r < 0;
}

static int manager_on_textfile_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *mgr = userdata;

        manager_write_textfile(mgr);
        (void) sd_event_source_set_time(s, usec + METRICS_TEXTFILE_INTERVAL_USEC);
        return 0;
}

static const MetricsStateOps manager_metrics_state_ops = {
        .libvirt_connected = manager_metrics_libvirt_connected,
        .n_degraded = manager_metrics_n_degraded,
};

static unsigned manager_metrics_n_queued(void *userdata) {
        return manager_n_queued_jobs(userdata);
}

int manager_new(const ManagerConfig *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *mgr = NULL;
        int r;

        mgr = calloc(1, sizeof(*mgr));
        if (!mgr)
                return -ENOMEM;

        mgr->local_uri = strdup(config && config->local_uri ? config->local_uri : "qemu:///system");
        mgr->state_dir = strdup(config && config->state_dir ? config->state_dir : "/var/lib/srvm");
        if (!mgr->local_uri || !mgr->state_dir)
                return -ENOMEM;
        if (asprintf(&mgr->journal_dir, "%s/jobs", mgr->state_dir) < 0)
                return -ENOMEM;
        mgr->user_bus = config && config->user_bus;
        mgr->arrival_grace = config && config->arrival_grace ? config->arrival_grace : MANAGER_ARRIVAL_GRACE_DEFAULT;
        if (config && config->policy_dir) {
                mgr->policy_dir = strdup(config->policy_dir);
                if (!mgr->policy_dir)
                        return -ENOMEM;
        }
        mgr->next_id = 1;

        if (config && config->metrics_textfile) {
                mgr->metrics_textfile = strdup(config->metrics_textfile);
                if (!mgr->metrics_textfile)
                        return -ENOMEM;
        }
        if (config && config->metrics_address) {
                mgr->metrics_address = strdup(config->metrics_address);
                if (!mgr->metrics_address)
                        return -ENOMEM;
        }
        mgr->metrics_port = config && config->metrics_port ? config->metrics_port : METRICS_HTTP_PORT_DEFAULT;
        mgr->no_metrics = config && config->no_metrics;

        r = metrics_new(SRVM_VERSION, &mgr->metrics);
        if (r < 0)
                return r;
        metrics_set_active_jobs_callback(mgr->metrics, manager_metrics_n_active, mgr);
        metrics_set_state_ops(mgr->metrics, &manager_metrics_state_ops, mgr);
        metrics_set_queued_jobs_callback(mgr->metrics, manager_metrics_n_queued, mgr);
        mgr->max_migrations_option = config ? config->max_migrations : 0;

        *ret = TAKE_PTR(mgr);
        return 0;
}

Manager *manager_free(Manager *mgr) {
        if (!mgr)
                return NULL;

        for (size_t i = 0; i < mgr->n_jobs; i++) {
                if (mgr->virt)
                        virt_release_job(mgr->virt, mgr->jobs[i]->migration);
                job_free(mgr->jobs[i]);
        }
        free(mgr->jobs);
        while (mgr->arrivals) {
                Arrival *a = mgr->arrivals;

                mgr->arrivals = a->next;
                arrival_free(a);
        }
        virt_free(mgr->virt);
        errand_pool_free(mgr->errands); /* after the backend: no read reports any more */
        vf_census_free(mgr->vf_census); /* after the pool, which might still answer it */
        /* What is still pending is written out first; no report comes back any more. */
        sd_event_source_disable_unref(mgr->journal_source);
        journal_writer_free(mgr->journal_writer);
        metrics_http_free(mgr->metrics_http); /* before the registry it renders */
        sd_event_source_disable_unref(mgr->metrics_textfile_timer);
        free(mgr->metrics_textfile);
        metrics_free(mgr->metrics);
        free(mgr->metrics_address);
        sd_bus_flush_close_unref(mgr->bus);
        sd_event_unref(mgr->event);
        policy_set_free(mgr->policies);
        free(mgr->policy_dir);
        free(mgr->local_uri);
        free(mgr->state_dir);
        free(mgr->journal_dir);
        free(mgr);
        return NULL;
}

sd_event *manager_get_event(Manager *mgr) {
        return mgr->event;
}

sd_bus *manager_get_bus(Manager *mgr) {
        return mgr->bus;
}

const char *manager_get_local_uri(Manager *mgr) {
        return mgr->local_uri;
}

Metrics *manager_get_metrics(Manager *mgr) {
        return mgr->metrics;
}

size_t manager_n_jobs(Manager *mgr) {
        return mgr->n_jobs;
}

Migration *manager_get_job_at(Manager *mgr, size_t i) {
        return i < mgr->n_jobs ? mgr->jobs[i]->migration : NULL;
}

static Job *manager_find_job_record(Manager *mgr, uint32_t id);

Migration *manager_get_job(Manager *mgr, uint32_t id) {
        Job *j = manager_find_job_record(mgr, id);

        return j ? j->migration : NULL;
}

unsigned manager_n_active_jobs(Manager *mgr) {
        unsigned n = 0;

        for (size_t i = 0; i < mgr->n_jobs; i++)
                n += !migration_is_finished(mgr->jobs[i]->migration);
        return n;
}

unsigned manager_n_queued_jobs(Manager *mgr) {
        unsigned n = 0;

        for (size_t i = 0; i < mgr->n_jobs; i++)
                n += migration_is_queued(mgr->jobs[i]->migration);
        return n;
}

/* Migrations at once: --max-migrations, else the default policy's host.max_migrations, else
 * MANAGER_MAX_MIGRATIONS_DEFAULT. */
static unsigned manager_max_migrations(Manager *mgr) {
        unsigned n = policy_set_get_max_migrations(mgr->policies);

        if (mgr->max_migrations_option > 0)
                return mgr->max_migrations_option;
        return n > 0 ? n : MANAGER_MAX_MIGRATIONS_DEFAULT;
}

/* Whether a job counts against the cap on migrations at once: a migration of a domain from
 * this host, started and not finished. Checks (short, touching nothing), arrivals (a guest
 * without its VF waits for them) and jobs finishing after a restart go ahead regardless. */
static bool job_takes_slot(Migration *m) {
        return !migration_is_check_only(m) && !migration_is_arrival(m);
}

static unsigned manager_n_running_migrations(Manager *mgr) {
        unsigned n = 0;

        for (size_t i = 0; i < mgr->n_jobs; i++) {
                Migration *m = mgr->jobs[i]->migration;

                n += job_takes_slot(m) && !migration_is_finished(m) && !migration_is_queued(m);
        }
        return n;
}

/* The one lookup by domain: the domain's newest job that is not a check, finished or not. A
 * domain has at most one such job running (manager_migrate() refuses a second), and it is the
 * newest: no job of the domain can start while it runs. */
static Job *manager_find_domain_job(Manager *mgr, const char *domain) {
        Job *found = NULL;

        for (size_t i = 0; i < mgr->n_jobs; i++) {
                Job *j = mgr->jobs[i];

                if (migration_is_check_only(j->migration) || !streq(migration_get_domain(j->migration), domain))
                        continue;
                if (!found || migration_get_id(j->migration) > migration_get_id(found->migration))
                        found = j;
        }
        return found;
}

/* The running migration (not check) of a domain: the one libvirt's events concern. */
static Migration *manager_find_running(Manager *mgr, const char *domain) {
        Job *j = manager_find_domain_job(mgr, domain);

        return j && !migration_is_finished(j->migration) ? j->migration : NULL;
}

static void manager_update_status(Manager *mgr) {
        unsigned n = manager_n_active_jobs(mgr);

        if (mgr->virt && !virt_is_connected(mgr->virt))
                (void) sd_notifyf(false, "STATUS=reconnecting to libvirt at %s; %u active migration job%s",
                                  mgr->local_uri, n, n == 1 ? "" : "s");
        else
                (void) sd_notifyf(false, "STATUS=%u active migration job%s", n, n == 1 ? "" : "s");
}

/* Drop the oldest finished jobs beyond FINISHED_JOBS_MAX. */
static void manager_prune_jobs(Manager *mgr) {
        size_t finished = 0;

        for (size_t i = 0; i < mgr->n_jobs; i++)
                finished += migration_is_finished(mgr->jobs[i]->migration);

        for (size_t i = 0; i < mgr->n_jobs && finished > FINISHED_JOBS_MAX;) {
                Job *j = mgr->jobs[i];

                if (!migration_is_finished(j->migration) || j->emit_waiting) { /* JobFinished not said yet */
                        i++;
                        continue;
                }
                bus_job_removed(mgr, j->migration);
                if (journal_writer_remove(mgr->journal_writer, migration_get_id(j->migration), NULL) < 0)
                        (void) journal_remove(mgr->journal_dir, migration_get_id(j->migration));
                job_free(j);
                memmove(mgr->jobs + i, mgr->jobs + i + 1, (mgr->n_jobs - i - 1) * sizeof(Job *));
                mgr->n_jobs--;
                finished--;
        }
}

/* The machine's backend, as seen from the loop. */

/* A phase's action starts once the record saying the phase began is durable, so that a restart
 * at any moment finds the phase the host was last changed in; until then it waits on the job,
 * and manager_on_journal_synced() starts it. Read-only actions (preflight, locate) wait too:
 * then no phase can end before its record is durable, and the bus, which tells a new phase
 * only once its record is, never skips one. A check journals nothing; a record that could not
 * be written does not hold the job up (the failure is logged, as journal_failed says). */
static int job_start_action(void *userdata, Migration *m, Action a, Side side) {
        Job *j = userdata;

        j->action_waiting = false;
        j->action_cancel = false;
        if (migration_is_check_only(m) || j->journal_synced >= j->journal_seq)
                return virt_start_action(j->manager->virt, m, a, side);

        j->action_waiting = true;
        j->waiting_action = a;
        j->waiting_side = side;
        j->waiting_seq = j->journal_seq;
        log_debug("%s: job %u: %s waits for its journal record to be durable",
                  migration_get_domain(m), migration_get_id(m), action_to_string(a));
        return 0;
}

static void job_cancel_action(void *userdata, Migration *m, Action a) {
        Job *j = userdata;

        if (j->action_waiting) {
                j->action_cancel = true; /* cancelled once it starts: the machine expects its end */
                return;
        }
        virt_cancel_action(j->manager->virt, m, a);
}

static const PolicySet *job_policies(void *userdata) {
        Job *j = userdata;

        return j->manager->policies;
}

static int job_check(void *userdata, Migration *m) {
        Job *j = userdata;

        log_info("%s: job %u: policy %s (matched by %s)", migration_get_domain(m), migration_get_id(m),
                 strna(migration_get_policy_name(m)),
                 strna(policy_match_kind_to_string(migration_get_policy_match(m))));
        return virt_check_domain(j->manager->virt, m);
}

static int job_control(void *userdata, Migration *m, MigrationControl c, uint64_t value) {
        Job *j = userdata;

        return virt_control_migration(j->manager->virt, m, c, value);
}

/* The one lookup by id. */
static Job *manager_find_job_record(Manager *mgr, uint32_t id) {
        for (size_t i = 0; i < mgr->n_jobs; i++)
                if (migration_get_id(mgr->jobs[i]->migration) == id)
                        return mgr->jobs[i];
        return NULL;
}

static void job_emit_now(Job *j);

static void manager_on_journal_synced(void *userdata, uint32_t id, uint64_t seq, int r) {
        Manager *mgr = userdata;
        Job *j = manager_find_job_record(mgr, id);
        Migration *m;

        if (!j)
                return;
        m = j->migration;
        if (seq > j->journal_synced)
                j->journal_synced = seq;
        if (r < 0 && !j->journal_failed) {
                j->journal_failed = true;
                log_warning_errno(r, "%s: job %u: cannot journal it in %s, a restart would not finish it: %m",
                                  migration_get_domain(m), id, mgr->journal_dir);
        } else if (r >= 0)
                j->journal_failed = false;

        /* First the bus says where the job is, then its action starts. */
        if (j->emit_waiting && j->journal_synced >= j->journal_seq) {
                j->emit_waiting = false;
                job_emit_now(j);
        }
        if (!j->action_waiting || j->journal_synced < j->waiting_seq)
                return;
        j->action_waiting = false;
        if (migration_is_finished(m))
                return;
        r = virt_start_action(mgr->virt, m, j->waiting_action, j->waiting_side);
        if (r < 0) {
                migration_action_done(m, j->waiting_action, r, "the action could not be started");
                return;
        }
        if (j->action_cancel) {
                j->action_cancel = false;
                virt_cancel_action(mgr->virt, m, j->waiting_action);
        }
}

static int manager_on_journal_fd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *mgr = userdata;

        journal_writer_dispatch(mgr->journal_writer);
        return 0;
}

static int job_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;

        migration_timer_elapsed(j->migration);
        return 0;
}

static int job_arm_timer(void *userdata, Migration *m, usec_t usec) {
        Job *j = userdata;
        int r;

        if (usec == USEC_INFINITY)
                return j->timer ? sd_event_source_set_enabled(j->timer, SD_EVENT_OFF) : 0;

        if (!j->timer) {
                r = sd_event_add_time(j->manager->event, &j->timer, CLOCK_MONOTONIC, usec,
                                      USEC_PER_MSEC, job_on_timer, j);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(j->timer, "job-timer");
                return 0;
        }

        r = sd_event_source_set_time(j->timer, usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(j->timer, SD_EVENT_ONESHOT);
}

/* The clock itself, not the loop's cached sd_event_now(): that is the same for everything one
 * dispatch does, so a phase that ends and the next that starts in it would look simultaneous
 * and the job could not tell its own time from the time it waited. */
static usec_t job_now(void *userdata) {
        (void) userdata;
        return now_usec();
}

/* Hand the job's record to the writer, so that a restarted srvmd can finish what it was
 * doing. It is durable once manager_on_journal_synced() says so. */
static void job_journal(Job *j) {
        _cleanup_(json_object_putp) json_object *record = NULL;
        Migration *m = j->migration;
        int r;

        /* A check touches nothing: nothing to finish. A queued job touched nothing yet either,
         * but it is journaled as soon as it is queued, so that no restart loses it: marked
         * "handed_over" when srvmd stops (SIGTERM), for the next srvmd to queue it again;
         * without the mark (a crash) the next srvmd ends it failed, saying so. */
        if (migration_is_check_only(m))
                return;
        r = migration_build_journal(m, &record);
        if (r >= 0 && migration_is_queued(m) && j->manager->handed_over)
                r = json_object_object_add(record, "handed_over", json_object_new_boolean(true)) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = journal_writer_put(j->manager->journal_writer, migration_get_id(m), record, &j->journal_seq);
        if (r < 0 && !j->journal_failed) {
                j->journal_failed = true;
                log_warning_errno(r, "%s: job %u: cannot journal it in %s, a restart would not finish it: %m",
                                  migration_get_domain(m), migration_get_id(m), j->manager->journal_dir);
        } else if (r >= 0)
                j->journal_failed = false;
}

static int job_on_emit_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;

        if (!j->emit_waiting) /* else the durable record's turn says it all */
                bus_job_changed(j->manager, j->migration);
        return 0;
}

/* A change that is no milestone (progress, an event, a guest agent sample): one
 * PropertiesChanged for all of them within JOB_EMIT_INTERVAL_USEC. */
static void job_emit_later(Job *j) {
        uint64_t now;
        int r;

        if (j->emit_timer) {
                int enabled = SD_EVENT_OFF;

                (void) sd_event_source_get_enabled(j->emit_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return; /* one is due already */
        }
        r = sd_event_now(j->manager->event, CLOCK_MONOTONIC, &now);
        if (r >= 0 && !j->emit_timer) {
                r = sd_event_add_time(j->manager->event, &j->emit_timer, CLOCK_MONOTONIC, now + JOB_EMIT_INTERVAL_USEC,
                                      10 * USEC_PER_MSEC, job_on_emit_timer, j);
                if (r >= 0)
                        (void) sd_event_source_set_description(j->emit_timer, "job-emit");
        } else if (r >= 0) {
                r = sd_event_source_set_time(j->emit_timer, now + JOB_EMIT_INTERVAL_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(j->emit_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0) /* no timer: say it now rather than not at all */
                bus_job_changed(j->manager, j->migration);
}

/* Tell the bus: PropertiesChanged, and JobPhaseChanged and JobFinished once each. */
static void job_emit_now(Job *j) {
        Migration *m = j->migration;
        Phase p = migration_get_phase(m);

        if (j->emit_timer)
                (void) sd_event_source_set_enabled(j->emit_timer, SD_EVENT_OFF);
        bus_job_changed(j->manager, m);
        if (p >= 0 && p != j->told_phase) {
                j->told_phase = p;
                bus_job_phase_changed(j->manager, m);
        }
        if (migration_is_finished(m) && !j->told_finished) {
                j->told_finished = true;
                bus_job_finished(j->manager, m);
        }
}

static void manager_start_queued(Manager *mgr);

static void job_changed(void *userdata, Migration *m) {
        Job *j = userdata;
        Manager *mgr = j->manager;
        Phase p = migration_get_phase(m);
        JobResult result = migration_get_result(m);
        bool milestone = p != j->logged_phase || result != j->logged_result ||
                         (migration_is_finished(m) && !j->logged_finished);

        if (milestone)
                job_journal(j);

        if (p != j->logged_phase) {
                log_info("%s: job %u: %s -> %s", migration_get_domain(m), migration_get_id(m),
                         j->logged_phase >= 0 ? phase_to_string(j->logged_phase) : "new",
                         phase_to_string(p));
                j->logged_phase = p;
        }

        if (milestone && j->journal_synced < j->journal_seq) {
                /* A new phase or result is told once its record is durable (SIGKILL right
                 * after the bus said "plug" finds plug in the journal). */
                j->emit_waiting = true;
                if (j->emit_timer)
                        (void) sd_event_source_set_enabled(j->emit_timer, SD_EVENT_OFF);
        } else if (milestone)
                job_emit_now(j);
        else if (!j->emit_waiting)
                job_emit_later(j); /* progress: at most every JOB_EMIT_INTERVAL_USEC */

        if (result != j->logged_result) {
                j->logged_result = result;
                log_job_event(m, job_log_event_for_result(result), NULL);
        }

        if (migration_is_finished(m) && !j->logged_finished) {
                j->logged_finished = true;
                j->action_waiting = false;
                (void) metrics_job_finished(mgr->metrics, m);
                if (!migration_is_check_only(m)) /* a VF may have changed hands */
                        vf_census_refresh(mgr->vf_census);
                manager_write_textfile(mgr);
                virt_release_job(mgr->virt, m);
                manager_start_queued(mgr);
                manager_update_status(mgr);
        }
}

static const MigrationBackendOps job_ops = {
        .start_action = job_start_action,
        .cancel_action = job_cancel_action,
        .arm_timer = job_arm_timer,
        .now = job_now,
        .changed = job_changed,
        .control = job_control,
        .policies = job_policies,
        .check = job_check,
};

/* A new slot in the job table; the caller puts a migration in it. */
static int manager_add_job(Manager *mgr, Job **ret) {
        Job **jobs, *j;

        jobs = realloc(mgr->jobs, (mgr->n_jobs + 1) * sizeof(Job *));
        if (!jobs)
                return -ENOMEM;
        mgr->jobs = jobs;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (Job) {
                .manager = mgr,
                .logged_phase = _PHASE_INVALID,
                .told_phase = _PHASE_INVALID,
                .logged_result = JOB_RUNNING,
        };
        mgr->jobs[mgr->n_jobs++] = j;
        *ret = j;
        return 0;
}

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

int manager_migrate(Manager *mgr, const MigrationParams *p, Migration **ret, char **ret_error) {
        MigrationParams params = *p;
        _cleanup_free_ char *what = NULL;
        Migration *running;
        Job *j;
        int r;

        if (!p->domain || !*p->domain)
                return set_error(ret_error, -EINVAL, "No domain given.");
        if (!p->destination_uri || !*p->destination_uri)
                return set_error(ret_error, -EINVAL, "No destination URI given.");
        if (!virt_is_connected(mgr->virt))
                return set_error(ret_error, -ENOTCONN, "libvirt at %s is not connected (reconnecting)",
                                 mgr->local_uri);

        running = p->check_only ? NULL : manager_find_running(mgr, p->domain);
        if (running)
                return set_error(ret_error, -EBUSY, "Domain '%s' already has migration job %u running.",
                                 p->domain, migration_get_id(running));

        r = manager_add_job(mgr, &j);
        if (r < 0)
                return r;
        params.source_uri = mgr->local_uri;
        r = migration_new(mgr->next_id, &params, &job_ops, j, &j->migration);
        if (r < 0) {
                mgr->n_jobs--;
                free(j);
                return r;
        }
        mgr->next_id++;

        if (asprintf(&what, "%s %s%s%s",
                     p->check_only ? "checking a migration to" : p->arrival ? "plugging the VF of an arrival on" :
                                                                             "migrating to",
                     p->destination_uri, p->migrate_uri ? " over " : "", p->migrate_uri ? p->migrate_uri : "") >= 0)
                log_job_event(j->migration, JOB_LOG_STARTED, what);
        bus_job_new(mgr, j->migration);

        if (job_takes_slot(j->migration) && manager_n_running_migrations(mgr) >= manager_max_migrations(mgr)) {
                unsigned cap = manager_max_migrations(mgr);

                log_info("%s: job %u: queued: %u migration%s run%s already (at most %u at once)",
                         p->domain, migration_get_id(j->migration), manager_n_running_migrations(mgr),
                         cap == 1 ? "" : "s", cap == 1 ? "s" : "", cap);
                (void) migration_add_event(j->migration, "queued: %u migrations run already (at most %u at once)",
                                           manager_n_running_migrations(mgr), cap);
                job_journal(j); /* asked for, so not lost to a restart (see job_journal()) */
        } else {
                r = migration_start(j->migration);
                if (r < 0)
                        return r;
        }

        manager_update_status(mgr);
        manager_prune_jobs(mgr);
        if (ret)
                *ret = j->migration;
        return 0;
}

/* A slot came free: start the oldest queued migrations, as many as the cap allows. */
static void manager_start_queued(Manager *mgr) {
        unsigned running = manager_n_running_migrations(mgr);

        for (size_t i = 0; i < mgr->n_jobs && running < manager_max_migrations(mgr); i++) {
                Migration *m = mgr->jobs[i]->migration;

                if (!migration_is_queued(m) || mgr->handed_over)
                        continue;
                log_info("%s: job %u: leaves the queue", migration_get_domain(m), migration_get_id(m));
                running++;
                if (migration_start(m) < 0)
                        log_warning("%s: job %u: cannot start it", migration_get_domain(m), migration_get_id(m));
        }
}

/* The link to the pending look at domain in mgr->arrivals (at most one each), or NULL. */
static Arrival **arrival_link(Manager *mgr, const char *domain) {
        for (Arrival **k = &mgr->arrivals; *k; k = &(*k)->next)
                if (streq((*k)->domain, domain))
                        return k;
        return NULL;
}

static int arrival_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Arrival *a = userdata, **k;
        Manager *mgr = a->manager;
        int r;

        k = arrival_link(mgr, a->domain);
        if (k && *k == a)
                *k = a->next;
        r = virt_inspect_domain(mgr->virt, a->domain);
        if (r == -ENOTCONN) {
                /* libvirtd is restarting: look again once more of the grace has passed. */
                log_info("%s: cannot look at the domain that arrived yet: libvirt at %s is not connected (reconnecting)",
                         a->domain, mgr->local_uri);
                r = sd_event_source_set_time(a->timer, usec + mgr->arrival_grace);
                if (r >= 0)
                        r = sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
                if (r >= 0) {
                        a->next = mgr->arrivals;
                        mgr->arrivals = a;
                        return 0;
                }
        }
        if (r < 0)
                log_warning_errno(r, "%s: cannot look at the domain that arrived: %m", a->domain);
        arrival_free(a);
        return 0;
}

/* After libvirtd came back: what a job waited for may have happened while srvmd could not
 * hear it. A job with an action in flight learns it from the action (its worker opens a new
 * connection, or the call failed and the job takes its usual failure path); a job waiting in
 * unplug for DEVICE_REMOVED gets the domain's XML looked at, since the event may be lost. */
typedef struct ReconnectLook {
        Manager *manager;
        uint32_t job;
} ReconnectLook;

static void on_domain_xml_after_reconnect(void *userdata, const char *xml, const char *error) {
        _cleanup_free_ ReconnectLook *l = userdata;
        Migration *m = manager_get_job(l->manager, l->job);
        const char *alias;

        if (!m || migration_is_finished(m) || migration_get_phase(m) != PHASE_UNPLUG)
                return;
        alias = migration_get_vf_alias(m);
        if (!xml) {
                log_warning("%s: job %u: cannot read the domain's XML after reconnecting: %s",
                            migration_get_domain(m), l->job, strna(error));
                return;
        }
        if (alias && virt_xml_has_vf(xml, alias, NULL) == 0) {
                (void) migration_add_event(m, "the VF %s went while srvmd was reconnecting to libvirt", alias);
                manager_on_device_removed(l->manager, migration_get_domain(m), alias);
        }
}

static void manager_sweep_arrivals(Manager *mgr);

void manager_on_libvirt_connection(Manager *mgr, bool connected) {
        manager_update_status(mgr);
        if (connected)
                manager_sweep_arrivals(mgr);
        for (size_t i = 0; i < mgr->n_jobs; i++) {
                Migration *m = mgr->jobs[i]->migration;
                ReconnectLook *l;

                if (migration_is_finished(m) || migration_is_check_only(m))
                        continue;
                (void) migration_add_event(m, connected ? "srvmd reconnected to libvirt at %s" :
                                                          "lost the connection to libvirt at %s; reconnecting",
                                           mgr->local_uri);
                if (!connected || migration_get_phase(m) != PHASE_UNPLUG)
                        continue;
                l = malloc(sizeof(*l));
                if (!l)
                        continue;
                *l = (ReconnectLook) { .manager = mgr, .job = migration_get_id(m) };
                if (virt_get_domain_xml(mgr->virt, migration_get_domain(m), on_domain_xml_after_reconnect, l) < 0)
                        free(l);
        }
}

void manager_on_hook_event(Manager *mgr, const char *domain, const char *operation, const char *sub_operation) {
        log_info("%s: libvirt hook: %s %s", domain, operation, sub_operation);

        /* The same two entry points libvirt's own events feed, so an arrival is looked at even
         * when the event is missed (srvmd's libvirt connection was down at that moment). An
         * incoming migration holds the domain paused: the look, due after the grace period and
         * put off again by the RESUMED/MIGRATED event, finds it running or waits for it. */
        if (streq(operation, "migrate"))
                manager_on_domain_arrived(mgr, domain);
        else if (streq(operation, "stopped") || streq(operation, "release"))
                manager_on_domain_left(mgr, domain);
}

typedef struct PolicyShow {
        Manager *manager;
        VirtTextFn cb;
        void *userdata;
} PolicyShow;

static int domain_policy_json(Manager *mgr, const char *xml, char **ret, char **ret_error) {
        _cleanup_(json_object_putp) json_object *o = NULL, *effective = NULL;
        const Policy *p;
        PolicyMatchKind kind;
        const char *text;
        int r;

        r = preflight_resolve_policy(mgr->policies, xml, &p, &kind);
        if (r == -ENOENT)
                return set_error(ret_error, r, "no policy resolves for it");
        if (r == -ENOMEM)
                return set_error(ret_error, r, "out of memory");
        if (r < 0)
                return set_error(ret_error, r, "libvirt's XML of the domain cannot be read");
        r = policy_to_json(p, &effective);
        if (r < 0)
                return set_error(ret_error, r, "out of memory");

        o = json_object_new_object();
        if (!o ||
            json_object_object_add(o, "policy", json_object_new_string(policy_get_name(p))) < 0 ||
            json_object_object_add(o, "matched_by", json_object_new_string(policy_match_kind_to_string(kind))) < 0 ||
            json_object_object_add(o, "path", policy_get_path(p) ? json_object_new_string(policy_get_path(p)) : NULL) < 0 ||
            json_object_object_add(o, "effective", TAKE_PTR(effective)) < 0)
                return set_error(ret_error, -ENOMEM, "out of memory");
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
        *ret = text ? strdup(text) : NULL;
        if (!*ret)
                return set_error(ret_error, -ENOMEM, "out of memory");
        return 0;
}

static void on_domain_xml_for_policy(void *userdata, const char *xml, const char *error) {
        _cleanup_free_ PolicyShow *s = userdata;
        _cleanup_free_ char *text = NULL, *why = NULL;

        if (!xml) {
                s->cb(s->userdata, NULL, error);
                return;
        }
        if (domain_policy_json(s->manager, xml, &text, &why) < 0) {
                s->cb(s->userdata, NULL, strna(why));
                return;
        }
        s->cb(s->userdata, text, NULL);
}

#define ERRAND_KEY_DOMAINS "domains"
#define ERRAND_KEY_VFS "vfs"
#define ERRAND_KEY_XML "xml:"

/* The errand pool's run(): the read a key names, on the backend's errand threads. */
static int manager_run_errand(void *userdata, const char *key, ErrandDoneFn done, void *done_userdata) {
        Manager *mgr = userdata;

        if (streq(key, ERRAND_KEY_DOMAINS))
                return virt_list_domains(mgr->virt, done, done_userdata);
        if (streq(key, ERRAND_KEY_VFS))
                return virt_list_vfs(mgr->virt, done, done_userdata);
        if (strncmp(key, ERRAND_KEY_XML, strlen(ERRAND_KEY_XML)) == 0)
                return virt_get_domain_xml(mgr->virt, key + strlen(ERRAND_KEY_XML), done, done_userdata);
        return -EINVAL;
}

/* A read of libvirt for a caller: -ENOTCONN while libvirt is away, -EBUSY over the pool's
 * limits. */
static int manager_errand(Manager *mgr, const char *key, ErrandDoneFn cb, void *userdata) {
        if (!virt_is_connected(mgr->virt))
                return -ENOTCONN;
        return errand_pool_request(mgr->errands, key, cb, userdata);
}

int manager_show_domain_policy(Manager *mgr, const char *domain, VirtTextFn cb, void *userdata) {
        _cleanup_free_ char *key = NULL;
        PolicyShow *s;
        int r;

        if (!domain)
                return -EINVAL;
        if (asprintf(&key, ERRAND_KEY_XML "%s", domain) < 0)
                return -ENOMEM;
        s = malloc(sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (PolicyShow) { .manager = mgr, .cb = cb, .userdata = userdata };
        r = manager_errand(mgr, key, on_domain_xml_for_policy, s);
        if (r < 0)
                free(s);
        return r;
}

int manager_list_vfs(Manager *mgr, VirtTextFn cb, void *userdata) {
        if (!cb)
                return -EINVAL;
        return manager_errand(mgr, ERRAND_KEY_VFS, cb, userdata);
}

/* The VF census' read: the one ListVFs makes, shared with callers asking at the same time. */
static int manager_census_read_vfs(void *userdata, ErrandDoneFn done, void *done_userdata) {
        return manager_errand(userdata, ERRAND_KEY_VFS, done, done_userdata);
}

typedef struct DomainList {
        Manager *manager;
        ManagerDomainsFn cb;
        void *userdata;
} DomainList;

static void manager_domains_free(ManagerDomain *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                preflight_domain_summary_done(&d[i].summary);
        free(d);
}

/* The errand's [{"name", "state", "xml"}], with each domain's policy and VF resolved here, on
 * the loop, against the policies in force now. A domain whose XML cannot be read is listed
 * with a note saying so. */
static int domains_resolve(Manager *mgr, json_object *array, ManagerDomain **ret, size_t *ret_n) {
        size_t n = json_object_array_length(array), k = 0;
        ManagerDomain *d;
        int r;

        d = calloc(n ? n : 1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(array, i), *name, *state, *xml;

                if (!json_object_object_get_ex(o, "name", &name) ||
                    !json_object_object_get_ex(o, "state", &state) ||
                    !json_object_object_get_ex(o, "xml", &xml))
                        continue;
                d[k].state = json_object_get_string(state);
                r = preflight_summarize_domain(mgr->policies, json_object_get_string(xml), &d[k].summary);
                if (r == -ENOMEM) {
                        manager_domains_free(d, k);
                        return r;
                }
                if (r < 0) {
                        d[k].summary = (PreflightDomainSummary) {
                                .name = strdup(json_object_get_string(name)),
                                .note = strdup("libvirt's XML of the domain cannot be read"),
                        };
                        if (!d[k].summary.name || !d[k].summary.note) {
                                manager_domains_free(d, k + 1);
                                return -ENOMEM;
                        }
                }
                k++;
        }
        *ret = d;
        *ret_n = k;
        return 0;
}

static void on_domain_list(void *userdata, const char *json, const char *error) {
        _cleanup_free_ DomainList *l = userdata;
        _cleanup_(json_object_putp) json_object *array = NULL;
        ManagerDomain *d = NULL;
        size_t n = 0;
        int r;

        if (!json) {
                l->cb(l->userdata, NULL, 0, error);
                return;
        }
        array = json_tokener_parse(json);
        if (!array || !json_object_is_type(array, json_type_array)) {
                l->cb(l->userdata, NULL, 0, "the list of domains cannot be read");
                return;
        }
        r = domains_resolve(l->manager, array, &d, &n);
        if (r < 0) {
                l->cb(l->userdata, NULL, 0, "out of memory");
                return;
        }
        l->cb(l->userdata, d, n, NULL);
        manager_domains_free(d, n);
}

int manager_list_domains(Manager *mgr, ManagerDomainsFn cb, void *userdata) {
        DomainList *l;
        int r;

        if (!cb)
                return -EINVAL;
        l = malloc(sizeof(*l));
        if (!l)
                return -ENOMEM;
        *l = (DomainList) { .manager = mgr, .cb = cb, .userdata = userdata };
        r = manager_errand(mgr, ERRAND_KEY_DOMAINS, on_domain_list, l);
        if (r < 0)
                free(l);
        return r;
}

/* Look at a domain that arrived after delay. A look due already is put off to then: the
 * grace counts from the latest arrival (a look left from an earlier stay of the domain could
 * otherwise fire right after it came back, before its coordinator plugged anything). */
static void arrival_wait(Manager *mgr, const char *domain, usec_t delay) {
        uint64_t now, due;
        Arrival *a, **k;
        int r;

        r = sd_event_now(mgr->event, CLOCK_MONOTONIC, &now);
        if (r < 0) {
                log_warning_errno(r, "%s: arrived by migration, but cannot wait to look after it: %m", domain);
                return;
        }

        k = arrival_link(mgr, domain);
        if (k) {
                if (sd_event_source_get_time((*k)->timer, &due) >= 0 && due < now + delay)
                        (void) sd_event_source_set_time((*k)->timer, now + delay);
                return;
        }

        a = calloc(1, sizeof(*a));
        if (!a || !(a->domain = strdup(domain))) {
                arrival_free(a);
                log_warning("%s: arrived by migration, but out of memory to look after it", domain);
                return;
        }
        a->manager = mgr;
        r = sd_event_add_time(mgr->event, &a->timer, CLOCK_MONOTONIC, now + delay, USEC_PER_SEC,
                              arrival_on_timer, a);
        if (r < 0) {
                log_warning_errno(r, "%s: arrived by migration, but cannot wait to look after it: %m", domain);
                arrival_free(a);
                return;
        }
        a->next = mgr->arrivals;
        mgr->arrivals = a;
        log_debug("%s: looking at its VF in %llu s", domain, (unsigned long long) (delay / USEC_PER_SEC));
}

void manager_on_domain_arrived(Manager *mgr, const char *domain) {
        arrival_wait(mgr, domain, mgr->arrival_grace);
}

void manager_on_domain_left(Manager *mgr, const char *domain) {
        Arrival **k = arrival_link(mgr, domain), *a;

        if (!k)
                return;
        a = *k;
        *k = a->next;
        arrival_free(a);
        log_debug("%s: stopped running here; no longer looking at its VF", domain);
}

/* The domains that run here with an srvm plan, listed when srvmd starts or connects to
 * libvirtd again: one may have arrived while srvmd could not see it, its coordinator gone
 * too. Each gets the look an arrival gets, after the grace period; the look finds its VF
 * plugged, or a job here or elsewhere (the lease) finishing it, for all the others. */
static void on_sweep_list(void *userdata, const char *json, const char *error) {
        _cleanup_(json_object_putp) json_object *array = NULL;
        Manager *mgr = userdata;
        size_t n;

        if (!json) {
                log_warning("Cannot list the domains to look for unfinished arrivals: %s", strna(error));
                return;
        }
        array = json_tokener_parse(json);
        if (!array || !json_object_is_type(array, json_type_array)) {
                log_warning("Cannot list the domains to look for unfinished arrivals: the list cannot be read");
                return;
        }
        n = json_object_array_length(array);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(virt_xml_domain_info_done) VirtXmlDomainInfo info = {};
                json_object *o = json_object_array_get_idx(array, i), *state, *xml;

                if (!json_object_object_get_ex(o, "state", &state) || !json_object_object_get_ex(o, "xml", &xml) ||
                    !streq_ptr(json_object_get_string(state), "running") ||
                    virt_xml_read_domain_info(json_object_get_string(xml), &info) < 0 || !info.name)
                        continue;
                for (size_t k = 0; k < info.n_metadata; k++)
                        if (streq_ptr(info.metadata[k].namespace_uri, SRVM_XMLNS) &&
                            streq_ptr(info.metadata[k].element, SRVM_PLAN_ELEMENT)) {
                                arrival_wait(mgr, info.name, mgr->arrival_grace);
                                break;
                        }
        }
}

static void manager_sweep_arrivals(Manager *mgr) {
        int r;

        r = virt_list_domains(mgr->virt, on_sweep_list, mgr);
        if (r < 0 && r != -ENOTCONN)
                log_warning_errno(r, "Cannot list the domains to look for unfinished arrivals: %m");
}

/* A domain that arrived with no srvm plan (moved by another tool): srvm looks after it if its
 * policy says which VF to plug (see virt_xml_plan_from_policy()). The job checks the guest
 * first (preflight), so a guest without the policy's bond gets nothing plugged. */
static void manager_adopt_arrival(Manager *mgr, const char *domain, const char *xml) {
        _cleanup_(virt_xml_plan_done) VirtXmlPlan plan = {};
        _cleanup_free_ char *why = NULL, *error = NULL;
        MigrationParams p = {};
        PolicyMatchKind kind;
        const Policy *pol;
        Migration *m;
        int r;

        r = preflight_resolve_policy(mgr->policies, xml, &pol, &kind);
        if (r < 0) {
                log_warning_errno(r, "%s: arrived with no srvm plan, and no policy resolves for it: %m", domain);
                return;
        }

        r = virt_xml_plan_from_policy(xml, pol, &plan, &why);
        if (r == 0) {
                log_info("%s: arrived with no srvm plan; %s: nothing to do.", domain, strna(why));
                return;
        }
        if (r == -ENODATA) {
                /* Only the default policy matched: most likely a domain srvm has nothing to do
                 * with. A policy of its own that cannot say is a mistake worth a warning. */
                if (kind == POLICY_MATCH_DEFAULT)
                        log_info("%s: arrived with no srvm plan and no VF; left alone: %s.", domain, strna(why));
                else
                        log_warning("%s: arrived with no srvm plan and no VF; left alone: %s.", domain, strna(why));
                return;
        }
        if (r < 0) {
                log_warning_errno(r, "%s: arrived with no srvm plan, and its XML cannot be read: %m", domain);
                return;
        }
        if (manager_find_running(mgr, domain)) {
                log_debug("%s: arrived without a VF, which a job of ours is seeing to", domain);
                return;
        }

        policy_apply_to_params(pol, &p);
        p.domain = domain;
        p.destination_uri = mgr->local_uri;
        p.bond = plan.bond;
        p.vf = plan.vf_alias;
        p.vf_mac = plan.vf_mac;
        p.vf_xml = plan.device_xml;
        p.arrival = true;
        p.arrival_check = true;
        log_notice("%s: arrived with no srvm plan and no VF; its policy %s (matched by %s) gives the VF %s: checking the guest, then plugging it.",
                   domain, policy_get_name(pol), policy_match_kind_to_string(kind), plan.vf_mac);
        r = manager_migrate(mgr, &p, &m, &error);
        if (r < 0) {
                if (error)
                        log_warning("%s: cannot start the job that plugs its VF: %s", domain, error);
                else
                        log_warning_errno(r, "%s: cannot start the job that plugs its VF: %m", domain);
                return;
        }
        (void) migration_apply_policy(m, policy_get_name(pol), &p);
        (void) migration_add_event(m, "arrived with no srvm plan; policy %s (matched by %s) gives the VF %s on bond %s",
                                   policy_get_name(pol), policy_match_kind_to_string(kind), plan.vf_mac, plan.bond);
}

void manager_on_domain_inspected(Manager *mgr, const char *domain, bool running, const VirtXmlPlan *plan,
                                 bool vf_present, uint64_t held_for_sec, const char *xml, const char *error) {
        _cleanup_free_ char *why = NULL, *plug = NULL;
        PolicyMatchKind kind;
        const Policy *pol;
        MigrationParams p;
        Migration *m;
        int r;

        if (error) {
                log_warning("%s: cannot look at the domain that arrived: %s", domain, error);
                return;
        }
        if (!running) {
                log_debug("%s: does not run here (yet): its VF is looked at once it does", domain);
                return;
        }
        if (!plan) {
                manager_adopt_arrival(mgr, domain, xml);
                return;
        }
        if (vf_present) {
                log_debug("%s: arrived, and its VF %s is plugged", domain, strna(plan->vf_alias));
                return;
        }
        if (manager_find_running(mgr, domain)) {
                log_debug("%s: arrived without its VF, which a job of ours is seeing to", domain);
                return;
        }
        if (held_for_sec > 0) {
                /* The coordinator (or another srvmd) is finishing it: look again once its
                 * lease has run out, in case it stopped on the way. */
                log_info("%s: arrived without its VF %s; the srvmd on host %s (its job %u) holds it for %llu s more: looking again then.",
                         domain, strna(plan->vf_alias), strna(plan->holder), plan->holder_job,
                         (unsigned long long) held_for_sec);
                arrival_wait(mgr, domain, (held_for_sec + 1) * USEC_PER_SEC);
                return;
        }
        if (!plan->vf_alias || !plan->vf_mac || !plan->device_xml) {
                log_warning("%s: arrived without its VF, and its srvm plan does not say enough to plug one.", domain);
                return;
        }

        /* The plan says which VF; this host's policy says what may be plugged for it. */
        r = preflight_resolve_policy(mgr->policies, xml, &pol, &kind);
        if (r >= 0)
                r = arrival_plug_xml(pol, xml, plan->device_xml, plan->vf_mac, plan->vf_alias, &plug, &why);
        if (r < 0) {
                if (why)
                        log_warning("%s: arrived without its VF %s; not plugging it: %s.", domain, plan->vf_alias, why);
                else
                        log_warning_errno(r, "%s: arrived without its VF %s; cannot tell what its policy allows: %m",
                                          domain, plan->vf_alias);
                return;
        }

        p = (MigrationParams) {
                .domain = domain,
                .destination_uri = mgr->local_uri,
                .bond = plan->bond,
                .vf = plan->vf_alias,
                .vf_mac = plan->vf_mac,
                .vf_xml = plug,
                .arrival = true,
        };
        log_notice("%s: arrived without its VF %s (job %u of %s did not plug it); plugging it here.",
                   domain, plan->vf_alias, plan->job, strna(plan->source));
        r = manager_migrate(mgr, &p, &m, &why);
        if (r < 0 && why)
                log_warning("%s: cannot start the job that plugs its VF: %s", domain, why);
        else if (r < 0)
                log_warning_errno(r, "%s: cannot start the job that plugs its VF: %m", domain);
}

int manager_check(Manager *mgr, const MigrationParams *p, Migration **ret, char **ret_error) {
        MigrationParams params = *p;

        params.check_only = true;
        return manager_migrate(mgr, &params, ret, ret_error);
}

const PolicySet *manager_get_policies(Manager *mgr) {
        return mgr->policies;
}

int manager_reload_policies(Manager *mgr, char **ret_error) {
        const char *const dirs[] = { mgr->policy_dir, NULL };
        _cleanup_free_ char *error = NULL;
        PolicySet *set = NULL;
        int r;

        r = policy_set_load(mgr->policy_dir ? dirs : policy_dirs_default, &set, &error);
        (void) metrics_policy_reloaded(mgr->metrics, r >= 0, (double) time(NULL));
        if (r < 0) {
                log_error("Policies not reloaded, the %zu in force stay: %s",
                          mgr->policies ? policy_set_size(mgr->policies) : 0, strna(error));
                if (ret_error)
                        *ret_error = TAKE_PTR(error);
                return r;
        }

        policy_set_free(mgr->policies);
        mgr->policies = set;
        log_info("Loaded %zu polic%s; at most %u migration%s at once%s.", policy_set_size(set),
                 policy_set_size(set) == 1 ? "y" : "ies", manager_max_migrations(mgr),
                 manager_max_migrations(mgr) == 1 ? "" : "s",
                 mgr->max_migrations_option > 0 ? " (--max-migrations)" :
                 policy_set_get_max_migrations(set) > 0 ? " (the default policy's host.max_migrations)" : "");
        manager_start_queued(mgr); /* the cap may have risen */
        return 0;
}

static int manager_on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) manager_reload_policies(userdata, NULL);
        return 0;
}

void manager_on_device_removed(Manager *mgr, const char *domain, const char *alias) {
        Migration *m = manager_find_running(mgr, domain);

        log_debug("%s: device %s removed", domain, alias);
        if (m)
                migration_device_removed(m, alias);
}

void manager_on_device_removal_failed(Manager *mgr, const char *domain, const char *alias) {
        Migration *m = manager_find_running(mgr, domain);

        log_warning("%s: the guest refused to release device %s", domain, alias);
        if (m)
                migration_device_removal_failed(m, alias);
}

void manager_on_job_completed(Manager *mgr, const char *domain, uint64_t downtime_ms) {
        /* The event may come just after the job finished. */
        Job *j = manager_find_domain_job(mgr, domain);
        Migration *m = j ? j->migration : NULL;

        log_debug("%s: libvirt job completed, downtime %llu ms", domain, (unsigned long long) downtime_ms);
        if (m && migration_get_phase(m) >= PHASE_MIGRATE) {
                uint64_t known;
                /* Told twice when the worker read the destination's job stats before the event
                 * came: the histogram counts each migration's pause once. */
                bool first = migration_get_vm_downtime_ms(m, &known) < 0;

                migration_set_vm_downtime(m, downtime_ms);
                if (first)
                        (void) metrics_observe_vm_downtime_ms(mgr->metrics, downtime_ms);
        }
}

/* A record written for the handover is durable, or failed: noted on the job only; nothing
 * starts and the bus is not told, srvmd is exiting. */
static void manager_on_journal_handed_over(void *userdata, uint32_t id, uint64_t seq, int r) {
        Job *j = manager_find_job_record(userdata, id);

        if (!j)
                return;
        if (seq > j->journal_synced)
                j->journal_synced = seq;
        j->journal_failed = r < 0;
}

/* SIGTERM/SIGINT (systemctl stop or restart, a package upgrade): hand the running jobs to the
 * next srvmd instead of rolling them back. Each job's record is handed to the journal writer
 * once more, saying the phase it is in, and the writer is flushed here, on the loop: srvmd
 * exits only once every record is durable, so none on disk is older than what the host was
 * last changed to (an action starts only once its phase's record is durable). Then srvmd exits
 * at once without waiting for the actions in flight (main() sees manager_handed_over()):
 * libvirt finishes a peer-to-peer migration on its own, and the next srvmd finds each job in
 * its journal and finishes it through recover, as after a crash. A queued job, which has
 * touched nothing, is journaled as queued, and so is one still in preflight (which reads and
 * changes nothing): the next srvmd queues it again, in the same order, and starts it in its
 * turn. Rolling a job back is `srvmctl cancel`'s. */
static int manager_on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *mgr = userdata;
        unsigned n = manager_n_active_jobs(mgr);

        if (n == 0)
                return sd_event_exit(mgr->event, 0);

        log_notice("Stopping with %u job%s running: each is journaled where it is, and the next srvmd finishes it; "
                   "'srvmctl cancel JOB' rolls one back instead.", n, n == 1 ? "" : "s");
        (void) sd_notifyf(false, "STOPPING=1\nSTATUS=Stopping: %u running job%s handed to the next srvmd",
                          n, n == 1 ? "" : "s");
        mgr->handed_over = true;
        for (size_t i = 0; i < mgr->n_jobs; i++) {
                Job *j = mgr->jobs[i];

                if (migration_is_finished(j->migration) || migration_is_check_only(j->migration))
                        continue;
                /* Preflight has changed nothing: the job starts afresh in the next srvmd. */
                if (migration_get_phase(j->migration) == PHASE_PREFLIGHT &&
                    migration_requeue(j->migration) >= 0)
                        log_info("%s: job %u: stopped in preflight, which changes nothing: queued again",
                                 migration_get_domain(j->migration), migration_get_id(j->migration));
                job_journal(j);
        }
        journal_writer_flush(mgr->journal_writer, manager_on_journal_handed_over, mgr);
        for (size_t i = 0; i < mgr->n_jobs; i++) {
                Migration *m = mgr->jobs[i]->migration;

                if (migration_is_finished(m) || migration_is_check_only(m))
                        continue;
                if (migration_is_queued(m))
                        log_info("%s: job %u: handed over while queued%s", migration_get_domain(m),
                                 migration_get_id(m), mgr->jobs[i]->journal_failed ?
                                 ", but its journal could not be written: the next srvmd will not know of it" : "");
                else
                        log_info("%s: job %u: handed over in phase %s%s", migration_get_domain(m),
                                 migration_get_id(m), phase_to_string(migration_get_phase(m)),
                                 mgr->jobs[i]->journal_failed ?
                                 ", but its journal could not be written: the next srvmd will not know of it" : "");
        }
        return sd_event_exit(mgr->event, 0);
}

bool manager_handed_over(Manager *mgr) {
        return mgr && mgr->handed_over;
}

static int manager_restore_job(uint32_t id, json_object *record, const char *error, void *userdata) {
        Manager *mgr = userdata;
        _cleanup_free_ char *why = NULL;
        Migration *m;
        Job *j;
        int r;

        if (id >= mgr->next_id)
                mgr->next_id = id + 1;
        if (!record) {
                log_warning("Journal %s: %s; skipped.", mgr->journal_dir, error);
                return 0;
        }

        r = manager_add_job(mgr, &j);
        if (r < 0)
                return r;
        r = migration_new_from_journal(record, &job_ops, j, &j->migration, &why);
        if (r < 0) {
                mgr->n_jobs--;
                free(j);
                log_warning("Journal %s: job %u: %s; skipped.", mgr->journal_dir, id, strna(why));
                return 0;
        }
        m = j->migration;
        j->logged_phase = migration_get_phase(m);
        j->logged_result = migration_get_result(m);
        j->logged_finished = migration_is_finished(m);
        j->told_phase = j->logged_phase;
        j->told_finished = j->logged_finished;
        bus_job_new(mgr, m);

        if (migration_is_queued(m) &&
            !json_object_get_boolean(json_object_object_get(record, "handed_over"))) {
                /* Queued when srvmd died without handing it over: it touched nothing. */
                log_notice("%s: job %u was queued when srvmd died; it ends failed, nothing was changed.",
                           migration_get_domain(m), id);
                (void) migration_abandon_queued(m);
                job_journal(j);
        } else if (migration_is_queued(m)) {
                /* Handed over before it started: queued again, started in its turn once the
                 * journal is read (manager_startup()). */
                log_notice("%s: job %u was queued when srvmd stopped; queued again.", migration_get_domain(m), id);
                (void) migration_add_event(m, "srvmd stopped while the job was queued; queued again");
        } else if (!migration_is_finished(m)) {
                log_notice("%s: job %u was in phase %s when srvmd stopped; finding the domain to finish it.",
                           migration_get_domain(m), id, phase_to_string(migration_get_phase(m)));
                (void) migration_recover(m);
        }
        return 0;
}

int manager_startup(Manager *mgr) {
        sigset_t mask;
        int r;

        r = sd_event_default(&mgr->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        r = -pthread_sigmask(SIG_BLOCK, &mask, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to block signals: %m");

        r = sd_event_add_signal(mgr->event, NULL, SIGTERM, manager_on_signal, mgr);
        if (r >= 0)
                r = sd_event_add_signal(mgr->event, NULL, SIGINT, manager_on_signal, mgr);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGTERM/SIGINT: %m");

        r = sd_event_add_signal(mgr->event, NULL, SIGHUP, manager_on_sighup, mgr);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGHUP: %m");

        /* Without a valid policy set there is nothing to go by: refuse to start. */
        r = manager_reload_policies(mgr, NULL);
        if (r < 0)
                return r;

        r = sd_event_set_watchdog(mgr->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog, continuing without: %m");

        r = virt_new(&manager_virt_events, mgr, mgr->event, mgr->local_uri, &mgr->virt);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to libvirt at %s: %m", mgr->local_uri);

        r = errand_pool_new(&(ErrandPoolConfig) {
                                    .max_running = ERRAND_MAX_RUNNING_DEFAULT,
                                    .max_queued = ERRAND_MAX_QUEUED_DEFAULT,
                                    .max_waiters = ERRAND_MAX_WAITERS_DEFAULT,
                                    .result_ttl = ERRAND_RESULT_TTL_DEFAULT,
                                    .run = manager_run_errand,
                                    .now = job_now,
                                    .userdata = mgr,
                            }, &mgr->errands);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the errands: %m");

        r = mgr->user_bus ? sd_bus_open_user(&mgr->bus) : sd_bus_open_system(&mgr->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus: %m", mgr->user_bus ? "user" : "system");

        r = sd_bus_attach_event(mgr->bus, mgr->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        r = bus_setup(mgr); /* logs its own failures, with context */
        if (r < 0)
                return r;

        /* What a previous srvmd did, and what it left unfinished. */
        r = journal_prepare(mgr->state_dir);
        if (r >= 0)
                r = journal_prepare(mgr->journal_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to create the job journal %s: %m", mgr->journal_dir);
        r = journal_writer_new(mgr->journal_dir, manager_on_journal_synced, mgr, &mgr->journal_writer);
        if (r >= 0)
                r = sd_event_add_io(mgr->event, &mgr->journal_source, journal_writer_get_fd(mgr->journal_writer),
                                    EPOLLIN, manager_on_journal_fd, mgr);
        if (r < 0)
                return log_error_errno(r, "Failed to start the job journal's writer: %m");
        (void) sd_event_source_set_description(mgr->journal_source, "journal-writer");
        r = journal_load(mgr->journal_dir, manager_restore_job, mgr);
        if (r < 0)
                return log_error_errno(r, "Failed to read the job journal %s: %m", mgr->journal_dir);
        manager_start_queued(mgr); /* the jobs handed over while queued, as the cap allows */
        manager_update_status(mgr);
        manager_sweep_arrivals(mgr);

        if (mgr->metrics_textfile) {
                uint64_t now;

                manager_write_textfile(mgr);
                r = sd_event_now(mgr->event, CLOCK_MONOTONIC, &now);
                if (r >= 0)
                        r = sd_event_add_time(mgr->event, &mgr->metrics_textfile_timer, CLOCK_MONOTONIC,
                                              now + METRICS_TEXTFILE_INTERVAL_USEC, USEC_PER_SEC,
                                              manager_on_textfile_timer, mgr);
                if (r >= 0)
                        r = sd_event_source_set_enabled(mgr->metrics_textfile_timer, SD_EVENT_ON);
                if (r < 0)
                        log_warning_errno(r, "Cannot rewrite %s periodically, only at the end of each job: %m",
                                          mgr->metrics_textfile);
                else
                        log_info("Writing metrics to %s every %llu s and at the end of each job",
                                 mgr->metrics_textfile, METRICS_TEXTFILE_INTERVAL_USEC / USEC_PER_SEC);
        }

        if (!mgr->no_metrics || mgr->metrics_textfile) {
                r = vf_census_new(mgr->event, mgr->metrics, 0, 0, manager_census_read_vfs, mgr, &mgr->vf_census);
                if (r < 0)
                        log_warning_errno(r, "Cannot count the host's VFs for the metrics, continuing without: %m");
        }

        /* Migrations matter more than their figures: a taken port is worth a warning, not a
         * daemon that does not start. */
        if (!mgr->no_metrics) {
                const MetricsHttpConfig mc = {
                        .address = mgr->metrics_address,
                        .port = mgr->metrics_port,
                };

                r = metrics_http_new(mgr->event, &mc, metrics_http_render, mgr->metrics, &mgr->metrics_http);
                if (r < 0)
                        log_warning_errno(r, "Failed to serve metrics on %s port %u, continuing without: %m",
                                          mgr->metrics_address ?: METRICS_HTTP_ADDRESS_DEFAULT, mgr->metrics_port);
                else
                        log_info("Serving metrics at %s port %u, path /metrics",
                                 mgr->metrics_address ?: METRICS_HTTP_ADDRESS_DEFAULT,
                                 metrics_http_get_port(mgr->metrics_http));
        }

        return 0;
}

int manager_run(Manager *mgr) {
        int r;

        (void) sd_notifyf(false, "READY=1\nSTATUS=0 active migration jobs");
        log_info("srvmd %s running, libvirt at %s", SRVM_VERSION, mgr->local_uri);

        r = sd_event_loop(mgr->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down");
        if (r < 0) {
                int code;

                /* Stopped on purpose with an error (the bus or libvirt lost for good): whoever
                 * stopped it said why. */
                if (sd_event_get_exit_code(mgr->event, &code) >= 0 && code == r)
                        return r;
                return log_error_errno(r, "Event loop failed: %m");
        }
        return 0;
}
