/* The manager object on the bus, org.srvm.srvm1.Manager at /org/srvm/srvm1: start a
 * migration, find, list and cancel jobs. Migrate returns the new job's object path at once
 * and the job runs on; its progress shows on the job object (job-bus.c) and its end in the
 * JobFinished signal, the way systemd's jobs work. Reading is open to everyone; starting and
 * cancelling migrations is for root. */
#include <inttypes.h>
#include <net/if.h>

#include "bus-error.h"
#include "bus.h"
#include "config.h"
#include "job-bus.h"
#include "log.h"
#include "migration.h"

static bool isempty(const char *s) {
        return !s || s[0] == '\0';
}

int bus_verify_root(sd_bus_message *message, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t euid;
        int r;

        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;

        /* Only what the bus itself vouches for counts; a value read from /proc afterwards
         * could belong to another process by then. */
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Only root may start or cancel migrations; the caller's user could not be verified.");

        r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Only root may start or cancel migrations; the caller's user could not be verified.");
        if (euid != 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Only root may start or cancel migrations.");

        return 0;
}

/* Read Migrate()'s a{sv} into p. The strings point into message. */
static int read_migrate_options(sd_bus_message *message, MigrationParams *p, sd_bus_error *error) {
        static const char *const keys[] = { "migrate_uri", "bond", "vf" };
        const char **fields[] = { &p->migrate_uri, &p->bond, &p->vf };
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;

        for (;;) {
                const char *key, *contents, *value;
                size_t k;
                char type;

                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;

                for (k = 0; k < ELEMENTSOF(keys); k++)
                        if (streq(key, keys[k]))
                                break;
                if (k >= ELEMENTSOF(keys))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown option '%s'; known options are 'migrate_uri', 'bond' and 'vf'.",
                                                 key);
                if (*fields[k])
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' is given more than once.", key);

                r = sd_bus_message_peek_type(message, &type, &contents);
                if (r < 0)
                        return r;
                if (type != SD_BUS_TYPE_VARIANT || !streq(contents, "s"))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' must be a string (s), not '%s'.", key, contents);

                r = sd_bus_message_read(message, "v", "s", &value);
                if (r < 0)
                        return r;
                if (isempty(value))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' must not be empty; leave it out for the default.", key);
                *fields[k] = value;

                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_exit_container(message);
}

static bool bond_name_is_valid(const char *s) {
        if (isempty(s) || strlen(s) >= IFNAMSIZ || streq(s, ".") || streq(s, ".."))
                return false;
        /* The kernel's rule (dev_valid_name()): no '/', ':' or whitespace. */
        for (; *s; s++)
                if (*s == '/' || *s == ':' || (unsigned char) *s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

static Migration *find_running_job(Manager *mgr, const char *domain) {
        for (size_t i = 0; i < manager_n_jobs(mgr); i++) {
                Migration *m = manager_get_job_at(mgr, i);

                if (!migration_is_finished(m) && streq_ptr(migration_get_domain(m), domain))
                        return m;
        }
        return NULL;
}

static int method_migrate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *path = NULL, *why = NULL;
        Manager *mgr = userdata;
        MigrationParams p = {};
        const char *domain, *destination;
        Migration *m;
        int r;

        r = sd_bus_message_read(message, "ss", &domain, &destination);
        if (r < 0)
                return r;

        r = read_migrate_options(message, &p, error);
        if (r < 0)
                return r;

        if (isempty(domain))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "The domain name must not be empty.");
        if (isempty(destination))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The destination URI for domain '%s' must not be empty.", domain);
        if (p.bond && !bond_name_is_valid(p.bond))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option 'bond' is not a valid interface name: '%s'.", p.bond);

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;

        p.domain = domain;
        p.destination_uri = destination;

        r = manager_migrate(mgr, &p, &m, &why);
        if (r == -EBUSY) {
                Migration *running = find_running_job(mgr, domain);

                if (running)
                        return sd_bus_error_setf(error, SRVM_ERROR_BUSY,
                                                 "Domain '%s' already has migration job %" PRIu32 " running.",
                                                 domain, migration_get_id(running));
                return sd_bus_error_setf(error, SRVM_ERROR_BUSY,
                                         "Domain '%s' already has a migration job running.", domain);
        }
        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Cannot migrate domain '%s': %s",
                                         domain, why ? why : "invalid parameters.");
        if (r < 0) {
                if (why)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                                 "Failed to start the migration of domain '%s': %s", domain, why);
                return sd_bus_error_set_errnof(error, r,
                                               "Failed to start the migration of domain '%s': %m", domain);
        }

        /* JobNew and ActiveJobs went out from manager_migrate() through bus_job_new(). */

        r = bus_job_path(migration_get_id(m), &path);
        if (r < 0)
                return r;

        return sd_bus_reply_method_return(message, "o", path);
}

static int method_get_job(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *path = NULL;
        Manager *mgr = userdata;
        uint32_t id;
        int r;

        r = sd_bus_message_read(message, "u", &id);
        if (r < 0)
                return r;

        if (!manager_get_job(mgr, id))
                return sd_bus_error_setf(error, SRVM_ERROR_NO_SUCH_JOB, "There is no job %" PRIu32 ".", id);

        r = bus_job_path(id, &path);
        if (r < 0)
                return r;

        return sd_bus_reply_method_return(message, "o", path);
}

static int method_list_jobs(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *mgr = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(reply, 'a', "(ussso)");
        if (r < 0)
                return r;

        for (size_t i = 0; i < manager_n_jobs(mgr); i++) {
                _cleanup_free_ char *path = NULL;
                Migration *m = manager_get_job_at(mgr, i);
                const char *phase = phase_to_string(migration_get_phase(m));

                r = bus_job_path(migration_get_id(m), &path);
                if (r < 0)
                        return r;

                r = sd_bus_message_append(reply, "(ussso)",
                                          migration_get_id(m),
                                          migration_get_domain(m),
                                          phase ? phase : "",
                                          job_result_to_string(migration_get_result(m)),
                                          path);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        Migration *m;
        uint32_t id;
        int r;

        r = sd_bus_message_read(message, "u", &id);
        if (r < 0)
                return r;

        m = manager_get_job(mgr, id);
        if (!m)
                return sd_bus_error_setf(error, SRVM_ERROR_NO_SUCH_JOB, "There is no job %" PRIu32 ".", id);

        return bus_job_method_cancel(message, m, error);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", SRVM_VERSION);
}

static int property_get_active_jobs(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error) {
        Manager *mgr = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) manager_n_active_jobs(mgr));
}

/* Every method is marked unprivileged so that sd-bus lets the call through to the handler,
 * which answers a refused caller with a sentence; Migrate and Cancel check the caller there. */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ActiveJobs", "u", property_get_active_jobs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Migrate",
                                SD_BUS_ARGS("s", domain, "s", destination_uri, "a{sv}", options),
                                SD_BUS_RESULT("o", job),
                                method_migrate,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetJob",
                                SD_BUS_ARGS("u", id),
                                SD_BUS_RESULT("o", job),
                                method_get_job,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListJobs",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ussso)", jobs),
                                method_list_jobs,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Cancel",
                                SD_BUS_ARGS("u", id),
                                SD_BUS_NO_RESULT,
                                method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("JobNew",
                                SD_BUS_ARGS("u", id, "o", job), 0),
        SD_BUS_SIGNAL_WITH_ARGS("JobFinished",
                                SD_BUS_ARGS("u", id, "o", job, "s", result), 0),
        SD_BUS_VTABLE_END,
};

int bus_setup(Manager *mgr) {
        sd_bus *bus = manager_get_bus(mgr);
        int r;

        if (!bus)
                return log_error_errno(ENOTCONN, "Cannot export the bus objects: not connected to a bus.");

        r = sd_bus_add_object_vtable(bus, NULL, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, manager_vtable, mgr);
        if (r < 0)
                return log_error_errno(r, "Failed to add the manager object: %m");

        r = sd_bus_add_fallback_vtable(bus, NULL, BUS_JOB_PREFIX, SRVM_JOB_INTERFACE, job_vtable,
                                       job_object_find, mgr);
        if (r < 0)
                return log_error_errno(r, "Failed to add the job objects: %m");

        r = sd_bus_add_node_enumerator(bus, NULL, BUS_JOB_PREFIX, job_node_enumerator, mgr);
        if (r < 0)
                return log_error_errno(r, "Failed to add the job object enumerator: %m");

        r = sd_bus_add_object_manager(bus, NULL, SRVM_BUS_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");

        /* Synchronously, so that a second srvmd, or one the bus policy does not allow to own
         * the name, fails at startup instead of running unreachable. */
        r = sd_bus_request_name(bus, SRVM_BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r, "Failed to take the bus name %s: another srvmd owns it.", SRVM_BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to take the bus name %s: %m", SRVM_BUS_NAME);

        return 0;
}
