/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend: the edge of srvmd that talks to hypervisors. It carries out the
 * actions the migration state machine asks for, each on the job's own worker thread so the
 * loop never blocks, and reports the results back on the loop. libvirt's events come from
 * libvirt's default event loop, run on one thread that only copies them into the loop. */
#pragma once

#include <getopt.h>
#include <stddef.h>

#include <systemd/sd-event.h>

#include "migration.h"
#include "virt-xml.h"

typedef struct Virt Virt;
/* An answer put together off the loop: text, or NULL and a sentence saying why not. */
typedef void (*VirtTextFn)(void *userdata, const char *text, const char *error);

/* How the backend reports, on the loop thread, to whoever created it (the manager): a table
 * handed down at creation, so that the backend never calls up by name. */
typedef struct VirtEvents {
        /* The job with this id, NULL if it is gone (a result that comes too late). */
        Migration *(*job)(void *userdata, uint32_t id);
        /* The running job (not a check) of a domain, NULL if none: whom its events concern. */
        Migration *(*domain_job)(void *userdata, const char *domain);
        /* libvirt's DEVICE_REMOVED and DEVICE_REMOVAL_FAILED for a domain's device. */
        void (*device_removed)(void *userdata, const char *domain, const char *alias);
        void (*device_removal_failed)(void *userdata, const char *domain, const char *alias);
        /* A migration of domain completed; downtime_ms is the VM's pause. */
        void (*job_completed)(void *userdata, const char *domain, uint64_t downtime_ms);
        /* A domain arrived here by migration, or stopped running here. */
        void (*domain_arrived)(void *userdata, const char *domain);
        void (*domain_left)(void *userdata, const char *domain);
        /* What virt_inspect_domain() found (see manager_on_domain_inspected()). */
        void (*domain_inspected)(void *userdata, const char *domain, bool running, const VirtXmlPlan *plan,
                                 bool vf_present, uint64_t held_for_sec, const char *xml, const char *error);
        /* The local libvirt connection went down (srvmd reconnects on its own) or is back. */
        void (*connection)(void *userdata, bool connected);
        /* A guest agent command answered after rtt. */
        void (*agent_latency)(void *userdata, const char *command, usec_t rtt);
} VirtEvents;

/* The backend's part of the daemon's command line, which main.c parses for every executable
 * it is linked into: the program's name, what it is (for --help), the backend's own long
 * options with their --help lines, and the function that takes one of them. The libvirt
 * backend has no option of its own; the simulated one (virt-sim.c) has its timing. */
typedef struct VirtCommandLine {
        const char *program;
        const char *about;            /* the paragraph --help starts with */
        const char *options_help;     /* --help lines of options[], "" if none */
        const struct option *options; /* ends with an all-zero entry */
        /* Take the argument of options[index]; if it is bad, say why on stderr and return < 0. */
        int (*parse_option)(size_t index, const char *arg);
} VirtCommandLine;

extern const VirtCommandLine virt_command_line;

/* Connect to the local libvirt (blocking, at startup), register for domain events, start
 * the event thread. Reports go through events (borrowed, with userdata, for the backend's
 * life). */
int virt_new(const VirtEvents *events, void *userdata, sd_event *e, const char *local_uri, Virt **ret);
Virt *virt_free(Virt *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(Virt *, virt_free);

/* Whether the local connection is up. When libvirtd goes away (a restart), srvmd connects
 * again on its own, with a backoff from 1 s doubling to 30 s, and reports it through
 * VirtEvents.connection both times; meanwhile what needs libvirt returns
 * -ENOTCONN. */
bool virt_is_connected(Virt *v);
const char *virt_get_local_uri(Virt *v);

/* MigrationBackendOps.start_action / cancel_action. */
int virt_start_action(Virt *v, Migration *m, Action a, Side side);
void virt_cancel_action(Virt *v, Migration *m, Action a);
/* MigrationBackendOps.control: steer the running migration of m as the state machine's
 * convergence rule asks (off the loop; a refusal comes back as an event on the job). */
int virt_control_migration(Virt *v, Migration *m, MigrationControl c, uint64_t value);
/* MigrationBackendOps.check: preflight's checks on both hosts, once the job decided on the
 * domain's XML; they end with migration_action_done(ACTION_PREFLIGHT). */
int virt_check_domain(Virt *v, Migration *m);

/* Read an arrived domain's plan (from its metadata) and whether its VF is plugged, off the
 * loop; the answer comes through VirtEvents.domain_inspected. */
int virt_inspect_domain(Virt *v, const char *domain);

/* The host's SR-IOV inventory and which domain uses each VF, as JSON (vf_inventory_to_json()),
 * put together off the loop; cb runs on the loop with the JSON or an error sentence. */
int virt_list_vfs(Virt *v, VirtTextFn cb, void *userdata);
/* A local domain's live XML, read off the loop; cb runs on the loop. */
int virt_get_domain_xml(Virt *v, const char *domain, VirtTextFn cb, void *userdata);
/* The active domains, each with its state and live XML, as a JSON array
 * [{"name", "state", "xml"}], read off the loop; cb runs on the loop. */
int virt_list_domains(Virt *v, VirtTextFn cb, void *userdata);

/* The job ended: stop its worker once idle and drop its connections. Safe to call while an
 * action is still in flight (its result is then discarded). */
void virt_release_job(Virt *v, Migration *m);
