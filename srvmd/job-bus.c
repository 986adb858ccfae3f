/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The job objects on the bus: one object per migration job at /org/srvm/srvm1/job/<id>,
 * served from a fallback vtable so the objects come and go with the manager's job table and
 * nothing has to be registered per job. A job's properties are read straight from the
 * migration; changes are pushed out as PropertiesChanged, and the manager's JobNew and
 * JobFinished signals are sent from here because they follow the life of a job. */
#include <inttypes.h>
#include <stdio.h>

#include "bus-error.h"
#include "bus.h"
#include "job-bus.h"
#include "json-util.h"
#include "log.h"
#include "migration.h"

static const char *strempty(const char *s) {
        return s ? s : "";
}

static int property_get_kind(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        Migration *m = userdata;

        return sd_bus_message_append(reply, "s", migration_is_check_only(m) ? "check" : "migrate");
}

/* Pre-copy progress: (iteration, data total, data remaining, dirty rate), bytes and bytes
 * per second, all 0 until libvirt reported any. The JSON property carries the rest. */
static int property_get_progress(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error) {
        const MigrationProgress *p = migration_get_progress(userdata);

        if (!p)
                return sd_bus_message_append(reply, "(uttt)", 0u, UINT64_C(0), UINT64_C(0), UINT64_C(0));

        return sd_bus_message_append(reply, "(uttt)", (uint32_t) p->iteration, p->data_total_bytes,
                                     p->data_remaining_bytes, p->dirty_rate_bytes_s);
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface,
                           const char *property, sd_bus_message *reply, void *userdata,
                           sd_bus_error *error) {
        Migration *m = userdata;

        return sd_bus_message_append(reply, "u", migration_get_id(m));
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error) {
        Migration *m = userdata;
        const char *s;

        if (streq(property, "Domain"))
                s = migration_get_domain(m);
        else if (streq(property, "SourceURI"))
                s = migration_get_source_uri(m);
        else if (streq(property, "DestinationURI"))
                s = migration_get_destination_uri(m);
        else if (streq(property, "Phase"))
                s = migration_is_queued(m) ? "queued" : phase_to_string(migration_get_phase(m));
        else if (streq(property, "Result"))
                s = job_result_to_string(migration_get_result(m));
        else if (streq(property, "Error"))
                s = migration_get_error(m);
        else
                return -EINVAL;

        return sd_bus_message_append(reply, "s", strempty(s));
}

static int property_get_json(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        Migration *m = userdata;
        int r;

        r = migration_build_json(m, &j);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to render job %" PRIu32 " as JSON: %m",
                                               migration_get_id(m));

        return sd_bus_message_append(reply, "s",
                                     json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
}

int bus_job_method_cancel(sd_bus_message *message, Migration *m, sd_bus_error *error) {
        uint32_t id = migration_get_id(m);
        int r;

        r = bus_verify_admin(message, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: asked the bus who calls; the call comes again */

        if (migration_is_finished(m))
                return sd_bus_error_setf(error, SRVM_ERROR_JOB_NOT_RUNNING,
                                         "Job %" PRIu32 " (domain '%s') has already finished (%s) and cannot be cancelled.",
                                         id, migration_get_domain(m),
                                         job_result_to_string(migration_get_result(m)));

        /* The migration reports its new phase and result through bus_job_changed(). */
        r = migration_cancel(m);
        if (r == -ESTALE)
                return sd_bus_error_setf(error, SRVM_ERROR_JOB_NOT_RUNNING,
                                         "Job %" PRIu32 " (domain '%s') has already finished and cannot be cancelled.",
                                         id, migration_get_domain(m));
        if (r == -EBUSY)
                return sd_bus_error_setf(error, SRVM_ERROR_NOT_CANCELLABLE,
                                         "Job %" PRIu32 " cannot be cancelled: domain '%s' already runs on the destination, so the job finishes forward.",
                                         id, migration_get_domain(m));
        if (r == -EALREADY)
                return sd_bus_error_setf(error, SRVM_ERROR_NOT_CANCELLABLE,
                                         "Job %" PRIu32 " (domain '%s') is already being cancelled or rolled back (phase %s).",
                                         id, migration_get_domain(m),
                                         strempty(phase_to_string(migration_get_phase(m))));
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to cancel job %" PRIu32 " of domain '%s': %m",
                                               id, migration_get_domain(m));

        log_info("Job %" PRIu32 ": cancelled over the bus", id);

        return sd_bus_reply_method_return(message, NULL);
}

static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return bus_job_method_cancel(message, userdata, error);
}

const sd_bus_vtable job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Kind", "s", property_get_kind, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Domain", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SourceURI", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DestinationURI", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Phase", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Result", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Error", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Progress", "(uttt)", property_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Sent with its value: a watcher follows the phases from the signal alone. */
        SD_BUS_PROPERTY("JSON", "s", property_get_json, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int job_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                    void **found, sd_bus_error *error) {
        Manager *mgr = userdata;
        Migration *m;
        uint32_t id;

        if (bus_job_id_from_path(path, &id) < 0)
                return 0;

        m = manager_get_job(mgr, id);
        if (!m)
                return 0;

        *found = m;
        return 1;
}

int job_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                        sd_bus_error *error) {
        Manager *mgr = userdata;
        size_t n = manager_n_jobs(mgr);
        char **l;
        int r;

        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                r = bus_job_path(migration_get_id(manager_get_job_at(mgr, i)), &l[i]);
                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                free(l[k]);
                        free(l);
                        return r;
                }
        }

        *nodes = l;
        return 0;
}

void bus_job_new(Manager *mgr, Migration *m) {
        _cleanup_free_ char *path = NULL;
        uint32_t id = migration_get_id(m);
        sd_bus *bus = manager_get_bus(mgr);
        int r;

        if (!bus)
                return;

        r = bus_job_path(id, &path);
        if (r < 0) {
                log_warning_errno(r, "Job %" PRIu32 ": failed to build its object path: %m", id);
                return;
        }

        r = sd_bus_emit_signal(bus, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "JobNew", "uo", id, path);
        if (r < 0)
                log_warning_errno(r, "Job %" PRIu32 ": failed to send JobNew: %m", id);

        r = sd_bus_emit_object_added(bus, path);
        if (r < 0)
                log_warning_errno(r, "Job %" PRIu32 ": failed to send InterfacesAdded: %m", id);

        r = sd_bus_emit_properties_changed(bus, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "ActiveJobs", NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to send PropertiesChanged for ActiveJobs: %m");
}

/* The job's object path, or NULL (said in the log) if out of memory. */
static char *job_path(uint32_t id) {
        char *path = NULL;
        int r;

        r = bus_job_path(id, &path);
        if (r < 0)
                log_warning_errno(r, "Job %" PRIu32 ": failed to build its object path: %m", id);
        return path;
}

void bus_job_changed(Manager *mgr, Migration *m) {
        _cleanup_free_ char *path = NULL;
        uint32_t id = migration_get_id(m);
        sd_bus *bus = manager_get_bus(mgr);
        int r;

        if (!bus || !(path = job_path(id)))
                return;
        r = sd_bus_emit_properties_changed(bus, path, SRVM_JOB_INTERFACE,
                                           "Phase", "Result", "Error", "Progress", "JSON", NULL);
        if (r < 0)
                log_warning_errno(r, "Job %" PRIu32 ": failed to send PropertiesChanged: %m", id);
}

void bus_job_phase_changed(Manager *mgr, Migration *m) {
        _cleanup_free_ char *path = NULL;
        uint32_t id = migration_get_id(m);
        sd_bus *bus = manager_get_bus(mgr);
        int r;

        if (!bus || migration_get_phase(m) < 0 || !(path = job_path(id)))
                return;
        r = sd_bus_emit_signal(bus, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "JobPhaseChanged", "uos",
                               id, path, phase_to_string(migration_get_phase(m)));
        if (r < 0)
                log_warning_errno(r, "Job %" PRIu32 ": failed to send JobPhaseChanged: %m", id);
}

void bus_job_finished(Manager *mgr, Migration *m) {
        _cleanup_free_ char *path = NULL;
        uint32_t id = migration_get_id(m);
        sd_bus *bus = manager_get_bus(mgr);
        int r;

        if (!bus || !(path = job_path(id)))
                return;
        r = sd_bus_emit_signal(bus, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "JobFinished", "uos",
                               id, path, job_result_to_string(migration_get_result(m)));
        if (r < 0)
                log_warning_errno(r, "Job %" PRIu32 ": failed to send JobFinished: %m", id);

        r = sd_bus_emit_properties_changed(bus, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "ActiveJobs", NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to send PropertiesChanged for ActiveJobs: %m");
}

void bus_job_removed(Manager *mgr, Migration *m) {
        _cleanup_free_ char *path = NULL;
        uint32_t id = migration_get_id(m);
        sd_bus *bus = manager_get_bus(mgr);
        int r;

        if (!bus)
                return;

        r = bus_job_path(id, &path);
        if (r < 0) {
                log_warning_errno(r, "Job %" PRIu32 ": failed to build its object path: %m", id);
                return;
        }

        /* Sent while the object still resolves, so InterfacesRemoved lists its interfaces. */
        r = sd_bus_emit_object_removed(bus, path);
        if (r < 0)
                log_warning_errno(r, "Job %" PRIu32 ": failed to send InterfacesRemoved: %m", id);
}
