/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's D-Bus objects: the Manager at SRVM_BUS_PATH and one object per job at
 * SRVM_BUS_PATH/job/<id>. Implemented in manager-bus.c and job-bus.c. */
#pragma once

#include "bus-path.h"
#include "manager.h"

/* The group whose members may change things besides root, SRVM_ADMIN_GROUP if NULL. Call
 * before bus_setup(); the name is borrowed and must outlive the bus objects. */
void bus_set_admin_group(const char *name);

struct UriRules;
/* Root's allow lists for the URIs a caller passes (uri-check.h). Borrowed, like the group;
 * without it every Migrate and Check is refused. */
void bus_set_uri_rules(const struct UriRules *rules);

/* Add the object vtables and enumerators to the manager's bus and request the well-known
 * name. Called once at startup, after the bus is attached to the loop. */
int bus_setup(Manager *mgr);

/* A job was created / changed phase or result. Emit the signals and PropertiesChanged. */
void bus_job_new(Manager *mgr, Migration *m);
void bus_job_changed(Manager *mgr, Migration *m);
/* The job entered a new phase / finished: JobPhaseChanged / JobFinished (and ActiveJobs).
 * The manager calls each once per phase and once at the end: the job's record says what was
 * announced, the bus keeps nothing of its own. */
void bus_job_phase_changed(Manager *mgr, Migration *m);
void bus_job_finished(Manager *mgr, Migration *m);
/* A finished job is about to be dropped from the job table: its object goes away. */
void bus_job_removed(Manager *mgr, Migration *m);
