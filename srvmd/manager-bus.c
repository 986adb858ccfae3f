/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager object on the bus, org.srvm.srvm1.Manager at /org/srvm/srvm1: start a
 * migration or a check, find, list and cancel jobs, list and show the policies and reload
 * them. Migrate and Check return the new job's object path at once and the job runs on; its
 * progress shows on the job object (job-bus.c) and its end in the JobFinished signal, the
 * way systemd's jobs work. ListDomains tells which running domains srvmd would move, with
 * their policy and VF. Reading is open to everyone; what changes something (Migrate,
 * Check, Cancel, Reload) is for root and the members of the admin group. */
#include <grp.h>
#include <pthread.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>

#include "bus-error.h"
#include "bus.h"
#include "config.h"
#include "errand.h"
#include "job-bus.h"
#include "job-request.h"
#include "json-util.h"
#include "log.h"
#include "migration.h"
#include "policy.h"
#include "uri-check.h"
#include "utf8.h"

static bool isempty(const char *s) {
        return !s || s[0] == '\0';
}

static const char *strempty(const char *s) {
        return s ? s : "";
}

/* The admin group, resolved when the bus is set up and again on Reload, so a group created
 * later counts from the next reload on. Looking a group up may ask NSS, which may block: at
 * setup, before the loop runs; on Reload, on a thread of its own, the loop reading the last
 * answer under admin_lock. One manager per process. */
static const char *admin_group = SRVM_ADMIN_GROUP;
static pthread_mutex_t admin_lock = PTHREAD_MUTEX_INITIALIZER;
static gid_t admin_gid;              /* under admin_lock */
static bool have_admin_gid;          /* under admin_lock */
static bool admin_group_looked_up;   /* under admin_lock */

static void *admin_group_resolve(void *userdata) {
        struct group grp, *g = NULL;
        char buf[16 * 1024];
        bool had, first;
        int r;

        r = getgrnam_r(admin_group, &grp, buf, sizeof buf, &g);
        pthread_mutex_lock(&admin_lock);
        had = have_admin_gid;
        first = !admin_group_looked_up;
        have_admin_gid = g != NULL;
        if (g)
                admin_gid = g->gr_gid;
        admin_group_looked_up = true;
        pthread_mutex_unlock(&admin_lock);
        if (!g && r == 0 && first)
                /* Once, at start: an install that skipped systemd-sysusers. */
                log_warning("Admin group '%s' does not exist: only root may start, check or cancel "
                            "migrations and reload policies. Create it (systemd-sysusers, or "
                            "groupadd --system %s), add operators with 'usermod -aG %s USER', "
                            "then run 'srvmctl reload'.",
                            admin_group, admin_group, admin_group);
        else if (!g && (had || r != 0))
                log_warning("Admin group '%s' not found%s%s; only root may change anything.",
                            admin_group, r != 0 ? ": " : "", r != 0 ? strerror(r) : "");
        return NULL;
}

static void admin_group_resolve_async(void) {
        pthread_attr_t attr;
        pthread_t t;
        int r;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&t, &attr, admin_group_resolve, NULL);
        pthread_attr_destroy(&attr);
        if (r != 0)
                log_warning_errno(-r, "Cannot look the admin group '%s' up again, the last answer stays: %m", admin_group);
}

/* 1 if gid is the admin group's, as last looked up. */
static bool is_admin_gid(uint32_t gid) {
        bool yes;

        pthread_mutex_lock(&admin_lock);
        yes = have_admin_gid && (uint32_t) admin_gid == gid;
        pthread_mutex_unlock(&admin_lock);
        return yes;
}

void bus_set_admin_group(const char *name) {
        admin_group = name ? name : SRVM_ADMIN_GROUP;
}

static const UriRules *uri_rules;

void bus_set_uri_rules(const UriRules *rules) {
        uri_rules = rules;
}

/* Where a job may go is root's decision (uri-check.h), for every caller, root included: a
 * URI can name a program for srvmd or libvirtd to run. */
static int verify_uris(const MigrationParams *p, sd_bus_error *error) {
        const char *verb = p->check_only ? "check" : "migrate";
        _cleanup_free_ char *why = NULL;
        int r;

        if (!uri_rules)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Cannot %s domain '%s': srvmd has no destination rules.", verb, p->domain);
        r = uri_check_destination(uri_rules, p->destination_uri, &why);
        if (r >= 0 && p->migrate_uri)
                r = uri_check_migrate(uri_rules, p->migrate_uri, &why);
        if (r == -EPERM)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Cannot %s domain '%s': %s",
                                         verb, p->domain, why);
        return r;
}

/* What the bus vouched for about a caller (GetConnectionCredentials), kept per unique name while
 * the caller stays connected, so that its next calls neither ask the bus again nor read
 * /etc/passwd again: a unique name is never reused on a bus, and the user and groups
 * dbus-daemon reports are the socket's, fixed when it connected. NameOwnerChanged drops an
 * entry when its name leaves the bus; should that signal be missed, at most CALLERS_MAX are
 * kept, the oldest going first. Whether the groups hold the admin group is decided at each
 * call, so a reload that finds the group counts at once. One manager per process. */
#define CALLERS_MAX 256

typedef struct Caller {
        struct Caller *next;
        char *name;       /* the unique bus name */
        uint32_t uid;
        uint32_t *gids;   /* owned, n_gids of them */
        size_t n_gids;
        bool user_read;   /* user is what /etc/passwd says (NULL: no name there) */
        char *user;
} Caller;

static Caller *callers; /* newest first */
static size_t n_callers;

static Caller *caller_free(Caller *c) {
        if (!c)
                return NULL;
        free(c->name);
        free(c->gids);
        free(c->user);
        free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Caller *, caller_free);

static Caller *caller_find(const char *name) {
        if (!name)
                return NULL;
        for (Caller *c = callers; c; c = c->next)
                if (streq(c->name, name))
                        return c;
        return NULL;
}

static void caller_forget(const char *name) {
        for (Caller **k = &callers; *k; k = &(*k)->next)
                if (streq((*k)->name, name)) {
                        Caller *c = *k;

                        *k = c->next;
                        caller_free(c);
                        n_callers--;
                        return;
                }
}

static void callers_forget_all(void *userdata) {
        while (callers) {
                Caller *c = callers;

                callers = c->next;
                caller_free(c);
        }
        n_callers = 0;
}

/* Takes c. */
static void caller_remember(Caller *c) {
        caller_forget(c->name);
        if (n_callers >= CALLERS_MAX) {
                Caller **k = &callers;

                while ((*k)->next)
                        k = &(*k)->next;
                *k = caller_free(*k);
                n_callers--;
        }
        c->next = callers;
        callers = c;
        n_callers++;
}

static bool caller_is_admin(const Caller *c) {
        if (c->uid == 0)
                return true;
        for (size_t i = 0; i < c->n_gids; i++)
                if (is_admin_gid(c->gids[i]))
                        return true;
        return false;
}

static int on_name_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] == ':' && isempty(new_owner))
                caller_forget(name);
        return 0;
}

/* Whether a caller may change something, asked of the bus without waiting for it. The bus
 * daemon vouches for the caller's user and groups in GetConnectionCredentials (dbus-daemon
 * reads them from the socket: SO_PEERCRED, SO_PEERGROUPS); sd-bus would ask the same thing
 * synchronously, stalling the loop for a round trip per call. So the first time a method
 * call is seen, the question goes out and the handler returns; the answer puts the call back
 * in the read queue (sd_bus_enqueue_for_read(), as systemd's polkit queries do), and the
 * handler, run again, finds the answer here. One manager per process. */
typedef struct AdminQuery {
        struct AdminQuery *next;
        sd_bus_message *request;   /* ref */
        sd_bus_slot *slot;         /* the question in flight */
        sd_event_source *cleanup;  /* drops an answer nobody came back for */
        bool answered;
        int verdict;               /* 1 root or admin group, 0 neither, < 0 the bus could not say */
} AdminQuery;

static AdminQuery *admin_queries;

static AdminQuery *admin_query_free(AdminQuery *q) {
        if (!q)
                return NULL;
        for (AdminQuery **k = &admin_queries; *k; k = &(*k)->next)
                if (*k == q) {
                        *k = q->next;
                        break;
                }
        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->cleanup);
        sd_bus_message_unref(q->request);
        free(q);
        return NULL;
}

/* GetConnectionCredentials' a{sv}: the caller's UnixUserID and UnixGroupIDs into a new Caller
 * named name; -ENODATA if the bus gave no user. */
static int caller_from_credentials(sd_bus_message *reply, const char *name, Caller **ret) {
        _cleanup_(caller_freep) Caller *c = NULL;
        bool have_uid = false;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->name = strdup(name);
        if (!c->name)
                return -ENOMEM;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;

                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "UnixUserID")) {
                        r = sd_bus_message_read(reply, "v", "u", &c->uid);
                        if (r < 0)
                                return r;
                        have_uid = true;
                } else if (streq(key, "UnixGroupIDs")) {
                        const void *a;
                        size_t size;

                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_array(reply, 'u', &a, &size);
                        if (r < 0)
                                return r;
                        free(c->gids);
                        c->n_gids = size / sizeof(uint32_t);
                        c->gids = c->n_gids > 0 ? malloc(c->n_gids * sizeof(uint32_t)) : NULL;
                        if (c->n_gids > 0 && !c->gids)
                                return -ENOMEM;
                        if (c->n_gids > 0)
                                memcpy(c->gids, a, c->n_gids * sizeof(uint32_t));
                        r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                return r;
                } else {
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (!have_uid)
                return -ENODATA;
        *ret = TAKE_PTR(c);
        return 0;
}

static int admin_query_on_cleanup(sd_event_source *s, void *userdata) {
        admin_query_free(userdata);
        return 0;
}

static int admin_query_on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AdminQuery *q = userdata;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        if (sd_bus_message_is_method_error(reply, NULL))
                q->verdict = -ENODATA;
        else {
                Caller *c = NULL;

                q->verdict = caller_from_credentials(reply, sd_bus_message_get_sender(q->request), &c);
                if (q->verdict >= 0) {
                        q->verdict = caller_is_admin(c);
                        caller_remember(c);
                }
        }
        q->answered = true;

        /* Run the call again; if its object went meanwhile, nobody comes back for the answer:
         * drop it once the loop is idle. */
        r = sd_event_add_defer(sd_bus_get_event(bus), &q->cleanup, admin_query_on_cleanup, q);
        if (r >= 0)
                r = sd_event_source_set_priority(q->cleanup, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_bus_message_rewind(q->request, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(bus, q->request);
        if (r < 0) {
                log_warning_errno(r, "Failed to answer a call after asking the bus who made it: %m");
                (void) sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_FAILED,
                                                  "srvmd could not verify the caller: %s", strerror(-r));
                admin_query_free(q);
        }
        return 0;
}

int bus_verify_admin(sd_bus_message *message, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(message);
        Caller *c = caller_find(sender);
        AdminQuery *q;
        int verdict, r;

        for (q = admin_queries; q; q = q->next)
                if (q->request == message)
                        break;
        if (q && !q->answered)
                return 0; /* asked already */
        if (q || c) {
                if (q) {
                        verdict = q->verdict;
                        admin_query_free(q);
                } else
                        verdict = caller_is_admin(c);
                if (verdict > 0)
                        return 1;
                if (verdict < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Only root and members of group '%s' may start, check or cancel migrations and reload policies; the caller's user could not be verified.",
                                                 admin_group);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root and members of group '%s' may start, check or cancel migrations and reload policies.",
                                         admin_group);
        }

        if (!sender)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root and members of group '%s' may start, check or cancel migrations and reload policies; the caller's user could not be verified.",
                                         admin_group);
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(message);
        r = sd_bus_call_method_async(sd_bus_message_get_bus(message), &q->slot, "org.freedesktop.DBus",
                                     "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionCredentials",
                                     admin_query_on_reply, q, "s", sender);
        if (r < 0) {
                admin_query_free(q);
                return r;
        }
        q->next = admin_queries;
        admin_queries = q;
        return 0;
}

/* The reads open to everyone are bounded (errand.h): past the limits a caller is told so. */
static int bus_error_errands_busy(sd_bus_error *error, const char *what) {
        return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                 "Cannot %s now: srvmd is at its limit for reads of libvirt (%d at once, %d more "
                                 "waiting, %d callers in all); try again shortly.",
                                 what, ERRAND_MAX_RUNNING_DEFAULT, ERRAND_MAX_QUEUED_DEFAULT, ERRAND_MAX_WAITERS_DEFAULT);
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

/* Who called, for the job's "requested_by": the uid the bus vouched for (bus_verify_admin()
 * asked, and remembered the caller) and its name from /etc/passwd, read directly rather than
 * through NSS, which could wait on a directory server; a user only a directory knows gets no
 * name. Both are looked up once per caller. */
static int bus_caller_request(sd_bus_message *message, JobRequest *req, char **ret_user) {
        Caller *c = caller_find(sd_bus_message_get_sender(message));
        int r;

        if (!c) {
                /* Forgotten since bus_verify_admin() (more than CALLERS_MAX callers at once):
                 * ask the bus again, this once synchronously. */
                _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
                uid_t euid;

                r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
                if (r < 0)
                        return r;
                r = sd_bus_creds_get_euid(creds, &euid);
                if (r < 0)
                        return r;
                *req = (JobRequest) { .via = JOB_REQUEST_BUS, .have_uid = true, .uid = (uint32_t) euid };
                r = job_request_user_from_passwd("/etc/passwd", (uint32_t) euid, ret_user);
                req->user = r >= 0 ? *ret_user : NULL;
                return 0;
        }
        if (!c->user_read) {
                r = job_request_user_from_passwd("/etc/passwd", c->uid, &c->user);
                if (r < 0 && r != -ENOENT)
                        log_debug_errno(r, "Cannot read the name of uid %u from /etc/passwd: %m", (unsigned) c->uid);
                c->user_read = r >= 0 || r == -ENOENT;
        }
        *req = (JobRequest) { .via = JOB_REQUEST_BUS, .have_uid = true, .uid = c->uid };
        if (c->user) {
                *ret_user = strdup(c->user);
                if (!*ret_user)
                        return -ENOMEM;
        }
        req->user = *ret_user;
        return 0;
}

/* Migrate and Check: the same arguments, the same checks; a check runs preflight only. */
static int method_start_job(sd_bus_message *message, Manager *mgr, bool check_only, sd_bus_error *error) {
        _cleanup_free_ char *path = NULL, *why = NULL, *user = NULL;
        MigrationParams p = {};
        JobRequest request;
        const char *domain, *destination, *what = check_only ? "check" : "migration";
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

        p.domain = domain;
        p.destination_uri = destination;
        p.check_only = check_only;

        r = verify_uris(&p, error);
        if (r < 0)
                return r;

        r = bus_verify_admin(message, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: asked the bus who calls; the call comes again */

        r = bus_caller_request(message, &request, &user);
        if (r < 0)
                return r;
        p.request = &request;

        r = check_only ? manager_check(mgr, &p, &m, &why) : manager_migrate(mgr, &p, &m, &why);
        if (r == -EBUSY) /* the manager names the job in the way */
                return sd_bus_error_setf(error, SRVM_ERROR_BUSY, "%s", why ? why : "The domain already has a job running.");
        if (r == -ENOTCONN)
                return sd_bus_error_setf(error, SRVM_ERROR_NOT_CONNECTED, "%s.", strna(why));
        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Cannot %s domain '%s': %s",
                                         check_only ? "check" : "migrate", domain,
                                         why ? why : "invalid parameters.");
        if (r < 0) {
                if (why)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                                 "Failed to start the %s of domain '%s': %s", what, domain, why);
                return sd_bus_error_set_errnof(error, r,
                                               "Failed to start the %s of domain '%s': %m", what, domain);
        }

        /* JobNew and ActiveJobs went out from the manager through bus_job_new(). */

        r = bus_job_path(migration_get_id(m), &path);
        if (r < 0)
                return r;

        return sd_bus_reply_method_return(message, "o", path);
}

static int method_migrate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_start_job(message, userdata, false, error);
}

static int method_check(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_start_job(message, userdata, true, error);
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
                const char *phase = migration_is_queued(m) ? "queued" : phase_to_string(migration_get_phase(m));

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

/* What a policy matches, in one line for ListPolicies: "names web-*, www-??; uuids ...". */
static int policy_match_summary(const Policy *policy, char **ret) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        _cleanup_free_ char *buf = NULL;
        static const char *const kinds[] = { "names", "uuids", "metadata" };
        json_object *match;
        const char *sep = "";
        size_t size;
        FILE *f;
        int r;

        if (policy_is_default(policy)) {
                char *s = strdup("every domain no other policy matches");

                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }

        r = policy_to_json(policy, &j);
        if (r < 0)
                return r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        if (json_object_object_get_ex(j, "match", &match))
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                        json_object *a;
                        size_t n;

                        if (!json_object_object_get_ex(match, kinds[k], &a) ||
                            !json_object_is_type(a, json_type_array))
                                continue;
                        n = json_object_array_length(a);
                        if (n == 0)
                                continue;

                        fprintf(f, "%s%s ", sep, kinds[k]);
                        for (size_t i = 0; i < n; i++) {
                                json_object *e = json_object_array_get_idx(a, i), *ns, *el, *v;

                                if (i > 0)
                                        fputs(", ", f);
                                if (json_object_is_type(e, json_type_string)) {
                                        fputs(json_object_get_string(e), f);
                                        continue;
                                }
                                if (json_object_object_get_ex(e, "namespace", &ns) &&
                                    json_object_object_get_ex(e, "element", &el))
                                        fprintf(f, "{%s}%s", json_object_get_string(ns), json_object_get_string(el));
                                if (json_object_object_get_ex(e, "value", &v) && v)
                                        fprintf(f, "=%s", json_object_get_string(v));
                        }
                        sep = "; ";
                }
        if (sep[0] == '\0')
                fputs("no domain", f);

        if (fclose(f) != 0)
                return -ENOMEM;

        *ret = TAKE_PTR(buf);
        return 0;
}

static int method_list_policies(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *mgr = userdata;
        const PolicySet *set = manager_get_policies(mgr);
        size_t n = set ? policy_set_size(set) : 0;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *summary = NULL;
                const Policy *policy = policy_set_get(set, i);

                r = policy_match_summary(policy, &summary);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to describe policy '%s': %m",
                                                       policy_get_name(policy));

                r = sd_bus_message_append(reply, "(sss)", policy_get_name(policy),
                                          strempty(policy_get_path(policy)), summary);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        Manager *mgr = userdata;
        const PolicySet *set = manager_get_policies(mgr);
        const Policy *policy;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;

        if (isempty(name))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "The policy name must not be empty.");

        policy = set ? policy_set_get_by_name(set, name) : NULL;
        if (!policy)
                return sd_bus_error_setf(error, SRVM_ERROR_NO_SUCH_POLICY,
                                         "There is no policy '%s'; 'srvmctl policy list' shows those in force.", name);

        r = policy_to_json(policy, &j);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to render policy '%s' as JSON: %m", name);

        return sd_bus_reply_method_return(message, "s",
                                          json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
                                                                            JSON_C_TO_STRING_SPACED |
                                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *why = NULL;
        Manager *mgr = userdata;
        int r;

        r = bus_verify_admin(message, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: asked the bus who calls; the call comes again */

        r = manager_reload_policies(mgr, &why);
        if (r < 0) {
                if (why)
                        return sd_bus_error_setf(error, SRVM_ERROR_INVALID_POLICY,
                                                 "The policies were not reloaded, the ones in force stay: %s", why);
                return sd_bus_error_set_errnof(error, r,
                                               "The policies were not reloaded, the ones in force stay: %m");
        }

        /* A group created since the start counts from now on (once looked up, off the loop). */
        admin_group_resolve_async();
        log_info("Policies reloaded over the bus.");

        r = sd_bus_emit_properties_changed(sd_bus_message_get_bus(message), SRVM_BUS_PATH,
                                           SRVM_MANAGER_INTERFACE, "Policies", NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to send PropertiesChanged for Policies: %m");

        return sd_bus_reply_method_return(message, NULL);
}

static int property_get_policies(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error) {
        const PolicySet *set = manager_get_policies(userdata);
        size_t n = set ? policy_set_size(set) : 0;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_message_append(reply, "s", policy_get_name(policy_set_get(set, i)));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_admin_group(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", admin_group);
}

static int property_get_local_uri(sd_bus *bus, const char *path, const char *interface,
                                  const char *property, sd_bus_message *reply, void *userdata,
                                  sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", strempty(manager_get_local_uri(userdata)));
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

/* The answers put together off the loop carry what the kernel (interface names) and libvirt
 * said: D-Bus wants UTF-8, and a caller left without any answer would wait for its timeout. */
static int reply_text(sd_bus_message *message, const char *error_name, const char *what,
                      const char *text, const char *error) {
        /* JSON escapes its own controls; an error may carry libvirt's words. */
        _cleanup_free_ char *copy = text ? utf8_scrub(strdup(text)) : utf8_escape(strna(error), 4096);

        if (!copy)
                return sd_bus_reply_method_errorf(message, SD_BUS_ERROR_NO_MEMORY, "%s: out of memory.", what);
        if (!text)
                return sd_bus_reply_method_errorf(message, error_name, "%s: %s.", what, copy);
        return sd_bus_reply_method_return(message, "s", copy);
}

static void on_vf_list(void *userdata, const char *json, const char *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = userdata;
        int r;

        r = reply_text(message, SD_BUS_ERROR_FAILED, "Cannot list the VFs", json, error);
        if (r < 0)
                log_warning_errno(r, "Failed to answer ListVFs: %m");
}

/* The inventory needs every domain's XML from libvirt: it is put together off the loop and
 * the answer goes out when it is there. */
static int method_list_vfs(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        int r;

        r = manager_list_vfs(mgr, on_vf_list, sd_bus_message_ref(message));
        if (r < 0) {
                sd_bus_message_unref(message);
                if (r == -ENOTCONN)
                        return sd_bus_error_setf(error, SRVM_ERROR_NOT_CONNECTED,
                                                 "Cannot list the VFs: libvirt at %s is not connected (reconnecting).",
                                                 manager_get_local_uri(mgr));
                if (r == -EBUSY)
                        return bus_error_errands_busy(error, "list the VFs");
                return sd_bus_error_set_errnof(error, r, "Cannot list the VFs: %m");
        }
        return 1;
}

static void on_domain_policy(void *userdata, const char *json, const char *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = userdata;
        int r;

        r = reply_text(message, SRVM_ERROR_NO_SUCH_POLICY, "No policy to show for the domain", json, error);
        if (r < 0)
                log_warning_errno(r, "Failed to answer GetDomainPolicy: %m");
}

/* The policy in force for a domain: resolving it needs the domain's XML from libvirt, read off
 * the loop; the answer goes out when it is there. */
static int method_get_domain_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        const char *domain;
        int r;

        r = sd_bus_message_read(message, "s", &domain);
        if (r < 0)
                return r;
        if (!*domain)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "No domain given.");

        r = manager_show_domain_policy(mgr, domain, on_domain_policy, sd_bus_message_ref(message));
        if (r < 0) {
                sd_bus_message_unref(message);
                if (r == -ENOTCONN)
                        return sd_bus_error_setf(error, SRVM_ERROR_NOT_CONNECTED,
                                                 "Cannot resolve the policy of domain '%s': libvirt at %s is not connected (reconnecting).",
                                                 domain, manager_get_local_uri(mgr));
                if (r == -EBUSY)
                        return bus_error_errands_busy(error, "resolve the policy of a domain");
                return sd_bus_error_set_errnof(error, r, "Cannot resolve the policy of domain '%s': %m", domain);
        }
        return 1;
}

static void on_domain_list(void *userdata, const ManagerDomain *domains, size_t n, const char *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = userdata, *reply = NULL;
        int r;

        if (!domains) {
                r = sd_bus_reply_method_errorf(message, SD_BUS_ERROR_FAILED, "Cannot list the domains: %s.",
                                               strna(error));
                goto finish;
        }

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssss)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(sssss)",
                                          domains[i].summary.name,
                                          strempty(domains[i].state),
                                          strempty(domains[i].summary.policy),
                                          strempty(domains[i].summary.vf),
                                          strempty(domains[i].summary.note));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        else
                r = sd_bus_reply_method_errorf(message, SD_BUS_ERROR_FAILED, "Cannot list the domains: %s.",
                                               strerror(-r));
finish:
        if (r < 0)
                log_warning_errno(r, "Failed to answer ListDomains: %m");
}

/* The running domains with the policy and VF srvmd would use for each: every domain's XML is
 * read from libvirt off the loop, the policies resolved on it when the XML is there. */
static int method_list_domains(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        int r;

        r = manager_list_domains(mgr, on_domain_list, sd_bus_message_ref(message));
        if (r < 0) {
                sd_bus_message_unref(message);
                if (r == -ENOTCONN)
                        return sd_bus_error_setf(error, SRVM_ERROR_NOT_CONNECTED,
                                                 "Cannot list the domains: libvirt at %s is not connected (reconnecting).",
                                                 manager_get_local_uri(mgr));
                if (r == -EBUSY)
                        return bus_error_errands_busy(error, "list the domains");
                return sd_bus_error_set_errnof(error, r, "Cannot list the domains: %m");
        }
        return 1;
}

/* srvm-hook tells what libvirt did to a domain. No reply: the hook does not wait. */
static int method_domain_event(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *domain, *operation, *sub_operation;
        Manager *mgr = userdata;
        int r;

        r = sd_bus_message_read(message, "sss", &domain, &operation, &sub_operation);
        if (r < 0)
                return r;
        if (!*domain || !*operation)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "The domain and the operation must not be empty.");
        r = bus_verify_admin(message, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: asked the bus who calls; the call comes again */

        manager_on_hook_event(mgr, domain, operation, sub_operation);
        return sd_bus_reply_method_return(message, NULL); /* dropped by sd-bus when no reply is expected */
}

/* Every method is marked unprivileged so that sd-bus lets the call through to the handler,
 * which answers a refused caller with a sentence; Migrate, Check, Cancel and Reload check the
 * caller there. */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ActiveJobs", "u", property_get_active_jobs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Policies", "as", property_get_policies, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("AdminGroup", "s", property_get_admin_group, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LocalURI", "s", property_get_local_uri, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Migrate",
                                SD_BUS_ARGS("s", domain, "s", destination_uri, "a{sv}", options),
                                SD_BUS_RESULT("o", job),
                                method_migrate,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Check",
                                SD_BUS_ARGS("s", domain, "s", destination_uri, "a{sv}", options),
                                SD_BUS_RESULT("o", job),
                                method_check,
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
        SD_BUS_METHOD_WITH_ARGS("ListPolicies",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sss)", policies),
                                method_list_policies,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPolicy",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_RESULT("s", json),
                                method_get_policy,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetDomainPolicy",
                                SD_BUS_ARGS("s", domain),
                                SD_BUS_RESULT("s", json),
                                method_get_domain_policy,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListVFs",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", json),
                                method_list_vfs,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDomains",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sssss)", domains),
                                method_list_domains,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DomainEvent",
                                SD_BUS_ARGS("s", domain, "s", operation, "s", sub_operation),
                                SD_BUS_NO_RESULT,
                                method_domain_event,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_METHOD_NO_REPLY),
        SD_BUS_SIGNAL_WITH_ARGS("JobNew",
                                SD_BUS_ARGS("u", id, "o", job), 0),
        SD_BUS_SIGNAL_WITH_ARGS("JobPhaseChanged",
                                SD_BUS_ARGS("u", id, "o", job, "s", phase), 0),
        SD_BUS_SIGNAL_WITH_ARGS("JobFinished",
                                SD_BUS_ARGS("u", id, "o", job, "s", result), 0),
        SD_BUS_VTABLE_END,
};

/* sd-bus tells of a lost connection (dbus-daemon restarted or gone) with this local signal.
 * Running on without the bus would leave srvmd deaf to srvmctl for good: exit instead, with
 * a failure, so that the service manager starts it again and it resumes its unfinished jobs
 * from the journal. */
static int on_bus_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;

        log_error("Lost the connection to the bus; exiting so that srvmd is started again "
                  "(unfinished jobs resume from the journal).");
        return sd_event_exit(manager_get_event(mgr), -ECONNRESET);
}

int bus_setup(Manager *mgr) {
        sd_bus *bus = manager_get_bus(mgr);
        sd_bus_slot *slot;
        int r;

        if (!bus)
                return log_error_errno(ENOTCONN, "Cannot export the bus objects: not connected to a bus.");

        (void) admin_group_resolve(NULL);

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

        r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", on_bus_disconnected, mgr);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for the loss of the bus: %m");

        /* Callers that leave the bus are forgotten; all of them when the bus connection goes. */
        r = sd_bus_match_signal_async(bus, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to watch callers leave the bus: %m");
        (void) sd_bus_slot_set_destroy_callback(slot, callers_forget_all);
        if (sd_bus_slot_set_floating(slot, 1) >= 0) /* the bus holds it now */
                sd_bus_slot_unref(slot);

        /* Synchronously, so that a second srvmd, or one the bus policy does not allow to own
         * the name, fails at startup instead of running unreachable. */
        r = sd_bus_request_name(bus, SRVM_BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r, "Failed to take the bus name %s: another srvmd owns it.", SRVM_BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to take the bus name %s: %m", SRVM_BUS_NAME);

        return 0;
}
