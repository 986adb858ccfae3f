/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager: owner of the daemon's state. It holds the event loop, the job table, the
 * libvirt backend and the bus connection, routes libvirt's events to the job they concern,
 * and gives each job its timer. Everything here runs on the loop thread. */
#pragma once

#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "metrics.h"
#include "policy.h"
#include "preflight.h"
#include "virt-xml.h"
#include "migration.h"
#include "virt.h"

typedef struct Manager Manager;

typedef struct ManagerConfig {
        const char *local_uri;   /* libvirt URI of this host, default "qemu:///system" */
        const char *state_dir;   /* default "/var/lib/srvm" */
        bool user_bus;           /* connect to the user bus instead of the system bus (tests) */
        const char *metrics_address; /* NULL: METRICS_HTTP_ADDRESS_DEFAULT (127.0.0.1) */
        uint16_t metrics_port;       /* 0: METRICS_HTTP_PORT_DEFAULT (9709) */
        bool no_metrics;             /* serve no metrics endpoint */
        const char *policy_dir;      /* NULL: /etc/srvm/policies.d, then the shipped ones */
        usec_t arrival_grace;        /* 0: MANAGER_ARRIVAL_GRACE_DEFAULT */
        const char *metrics_textfile; /* NULL: none; else rewritten for node_exporter */
        unsigned max_migrations;     /* 0: MANAGER_MAX_MIGRATIONS_DEFAULT */
} ManagerConfig;

/* Migrations that run at once; the others wait, queued (libvirt's and Nova's habit of a few
 * outgoing migrations per host: they share the host's bandwidth and CPU). */
#define MANAGER_MAX_MIGRATIONS_DEFAULT 2
#define MANAGER_MAX_MIGRATIONS_MAX 1024

/* How long after a domain arrived by migration its coordinator has to plug the VF before this
 * host's srvmd does it itself (plug, link and failback budgets, with room to spare). */
#define MANAGER_ARRIVAL_GRACE_DEFAULT (120 * USEC_PER_SEC)

int manager_new(const ManagerConfig *config, Manager **ret);
Manager *manager_free(Manager *mgr);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Connect to libvirt and the bus, take the bus name, then run the loop until SIGTERM/SIGINT. */
int manager_startup(Manager *mgr);
int manager_run(Manager *mgr);

/* The loop ended on SIGTERM/SIGINT with jobs running, each journaled for the next srvmd: exit
 * without waiting for the actions in flight, as after a crash. */
bool manager_handed_over(Manager *mgr);

sd_event *manager_get_event(Manager *mgr);
sd_bus *manager_get_bus(Manager *mgr);
const char *manager_get_local_uri(Manager *mgr);
/* For the libvirt backend's metrics_observe_agent(). */
Metrics *manager_get_metrics(Manager *mgr);

/* Create and start a job. p->source_uri is filled in by the manager. -EBUSY if the domain
 * already has a running job; -EINVAL for a bad parameter (ret_error says which). */
int manager_migrate(Manager *mgr, const MigrationParams *p, Migration **ret, char **ret_error);

/* A check-only job: preflight against the destination, touching nothing. */
int manager_check(Manager *mgr, const MigrationParams *p, Migration **ret, char **ret_error);

/* Load the policies anew (SIGHUP, the bus' Reload). All or nothing: on error the set in force
 * stays, and ret_error says why. Running jobs keep the policy they resolved. */
int manager_reload_policies(Manager *mgr, char **ret_error);
const PolicySet *manager_get_policies(Manager *mgr);

Migration *manager_get_job(Manager *mgr, uint32_t id);
/* Jobs in creation order; i from 0 to manager_n_jobs() - 1. */
size_t manager_n_jobs(Manager *mgr);
Migration *manager_get_job_at(Manager *mgr, size_t i);
unsigned manager_n_active_jobs(Manager *mgr);
/* Jobs waiting for a free slot under the cap on migrations at once. */
unsigned manager_n_queued_jobs(Manager *mgr);

/* Events from libvirt, delivered on the loop thread by virt.c. */
void manager_on_device_removed(Manager *mgr, const char *domain, const char *alias);
void manager_on_device_removal_failed(Manager *mgr, const char *domain, const char *alias);
void manager_on_job_completed(Manager *mgr, const char *domain, uint64_t downtime_ms);
/* What srvm-hook says libvirt did to a domain (its hook arguments): `migrate` (an incoming
 * migration on this host) is an arrival, `stopped` and `release` a departure, as libvirt's
 * own events are; the others are only logged. */
void manager_on_hook_event(Manager *mgr, const char *domain, const char *operation, const char *sub_operation);
/* The VF inventory as JSON, put together off the loop. */
int manager_list_vfs(Manager *mgr, VirtTextFn cb, void *userdata);
/* The active domains of this host: each one's state, policy in force and VF (see
 * preflight_summarize_domain()). libvirt is read off the loop; cb runs on the loop with the
 * list (valid during the call only), or NULL and a sentence saying why not. */
typedef struct ManagerDomain {
        const char *state;
        PreflightDomainSummary summary;
} ManagerDomain;
typedef void (*ManagerDomainsFn)(void *userdata, const ManagerDomain *domains, size_t n, const char *error);
int manager_list_domains(Manager *mgr, ManagerDomainsFn cb, void *userdata);
/* The policy in force for a domain, as {"policy", "matched_by", "path", "effective"}. */
int manager_show_domain_policy(Manager *mgr, const char *domain, VirtTextFn cb, void *userdata);
/* The local libvirt connection was lost (connected false; srvmd reconnects on its own) or
 * is back (true): the status says so, and the unfinished jobs get a look. */
void manager_on_libvirt_connection(Manager *mgr, bool connected);
/* A domain arrived here by migration: look at it once the grace period is over. */
void manager_on_domain_arrived(Manager *mgr, const char *domain);
/* A domain stopped running here (migrated away, shut down): no look at it is due any more. */
void manager_on_domain_left(Manager *mgr, const char *domain);
/* What that look found: whether the domain runs here (not while an incoming migration still
 * holds it paused: its arrival comes after), the plan in its metadata (NULL if none), whether
 * the plan's VF is there, how many seconds more another host's srvmd holds the plan's lease
 * on finishing the domain (0: nobody else does), and the domain's live XML (for its policy
 * when it has no plan). */
void manager_on_domain_inspected(Manager *mgr, const char *domain, bool running, const VirtXmlPlan *plan,
                                 bool vf_present, uint64_t held_for_sec, const char *xml, const char *error);
