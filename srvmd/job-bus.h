/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What manager-bus.c and job-bus.c share: the job object's vtable and its lookup, and the
 * check that guards every method that changes something. */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-path.h"
#include "manager.h"

extern const sd_bus_vtable job_vtable[];

/* sd_bus_object_find_t and sd_bus_node_enumerator_t for the fallback vtable under
 * BUS_JOB_PREFIX; userdata is the Manager. */
int job_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                    void **found, sd_bus_error *error);
int job_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                        sd_bus_error *error);

/* Cancel m for the caller of message: check the caller, cancel, reply. */
int bus_job_method_cancel(sd_bus_message *message, Migration *m, sd_bus_error *error);

/* 1 if the caller of message runs as root or is in the admin group, as the bus vouches for
 * it; a negative errno, with error set to AccessDenied, when the caller is someone else; 0 when
 * the bus has been asked: the handler then returns 1 at once, without a reply, and runs again
 * with the same message once the answer is there. Call it after reading and checking the
 * arguments, before acting. */
int bus_verify_admin(sd_bus_message *message, sd_bus_error *error);

