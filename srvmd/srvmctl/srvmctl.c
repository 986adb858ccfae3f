/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srvmctl: the command line client of srvmd. It starts, checks, follows, lists, shows and
 * cancels migration jobs, lists, shows and reloads policies over D-Bus, checks policy files
 * locally, and renders what it gets with format.c. Every failure ends in one
 * line on stderr and an exit code a script can act on (see the EXIT_* values). */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-error.h"
#include "config.h"
#include "evacuate.h"
#include "format.h"
#include "json-util.h"
#include "macro.h"
#include "policy.h"
#include "utf8.h"
#include "vf.h"

enum {
        EXIT_FAILED = 1,      /* the job failed, or the operation did */
        EXIT_USAGE = 2,       /* bad command line, or arguments srvmd rejected */
        EXIT_UNREACHABLE = 3, /* no bus, or srvmd is not on it */
        EXIT_DENIED = 4,      /* the caller may not do this */
        EXIT_INTERRUPTED = 130, /* SIGINT while following a job, which goes on */
};

#define JOB_PREFIX SRVM_BUS_PATH "/job/"

static bool arg_user;
static const char *arg_host;
static JsonMode arg_json = JSON_MODE_OFF;
static bool arg_wait;
static const char *arg_migrate_uri;
static const char *arg_bond;
static const char *arg_vf;
static unsigned arg_concurrency = EVAC_CONCURRENCY_DEFAULT;
static bool arg_concurrency_set;

/* "the system bus", "the user bus", "the system bus of HOST". */
static const char *bus_where(void) {
        static char buf[512];

        if (arg_user)
                return "the user bus";
        if (!arg_host)
                return "the system bus";
        snprintf(buf, sizeof buf, "the system bus of %s", arg_host);
        return buf;
}

/* What to type to reach the same srvmd again: "srvmctl", "srvmctl --user", "srvmctl -H HOST". */
static const char *self_command(void) {
        static char buf[512];

        if (arg_user)
                return "srvmctl --user";
        if (!arg_host)
                return "srvmctl";
        snprintf(buf, sizeof buf, "srvmctl -H %s", arg_host);
        return buf;
}

static int fail(int code, const char *fmt, ...) _printf_(2, 3);
static int fail(int code, const char *fmt, ...) {
        _cleanup_free_ char *raw = NULL, *line = NULL;
        va_list ap;
        int k;

        /* The message may be srvmd's, carrying a guest's or libvirt's words: one line, no
         * control character, whatever srvmd did about it. */
        va_start(ap, fmt);
        k = vasprintf(&raw, fmt, ap);
        va_end(ap);
        if (k < 0)
                raw = NULL;
        line = utf8_escape(raw, 0);
        fprintf(stderr, "srvmctl: %s\n", line ? line : "out of memory");
        return code;
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("srvmctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'srvmctl --help'.\n", stderr);
        return EXIT_USAGE;
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool errno_means_unreachable(int r) {
        r = r < 0 ? -r : r;
        return r == ENOENT || r == ECONNREFUSED || r == ECONNRESET || r == ENOTCONN ||
               r == EPIPE || r == ESHUTDOWN;
}

/* "what: " before srvmd's message, unless the message says it already: srvmd's own sentences
 * start with what failed ("Cannot list the VFs: ..."), which srvmctl need not say twice. */
static const char *say_what(const char *what, const char *message) {
        static char buf[256];

        if (startswith(message, "Cannot "))
                return "";
        snprintf(buf, sizeof buf, "%s: ", what);
        return buf;
}

/* One line naming what failed and why; returns the exit code that failure means. */
static int fail_bus(const sd_bus_error *error, int r, const char *what) {
        const char *message;

        if (sd_bus_error_is_set(error) && error->message)
                message = error->message;
        else
                message = strerror(r < 0 ? -r : r);

        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                   SD_BUS_ERROR_DISCONNECTED) ||
            (!sd_bus_error_is_set(error) && errno_means_unreachable(r)) ||
            (sd_bus_error_is_set(error) && startswith(error->name, "System.Error.") &&
             errno_means_unreachable(sd_bus_error_get_errno(error))))
                return fail(EXIT_UNREACHABLE, "cannot reach srvmd on %s (%s): %s",
                            bus_where(), SRVM_BUS_NAME, message);
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED)) {
                /* dbus-daemon's refusal spells out the whole matched rule; say what it means. */
                if (startswith(message, "Rejected send message"))
                        return fail(EXIT_DENIED, "%s: the bus policy of %s allows only root to start or cancel migrations.",
                                    what, bus_where());
                return fail(EXIT_DENIED, "%s%s", say_what(what, message), message);
        }
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_INVALID_ARGS))
                return fail(EXIT_USAGE, "%s%s", say_what(what, message), message);
        return fail(EXIT_FAILED, "%s%s", say_what(what, message), message);
}

static int fail_parse(int r, const char *what) {
        return fail(EXIT_FAILED, "%s: cannot parse srvmd's reply: %s", what, strerror(r < 0 ? -r : r));
}

/* Write what srvmd sent (or what was made of it), line by line, each line escaped again
 * (utf8_escape()): srvmd escapes what a guest or libvirt says, and srvmctl does not take
 * that on trust before it writes to a terminal. */
static void write_escaped(const char *s, FILE *f) {
        while (*s) {
                size_t n = strcspn(s, "\n");
                _cleanup_free_ char *line = strndup(s, n), *e = NULL;

                e = utf8_escape(line, 0);
                fputs(e ? e : "(out of memory)", f);
                if (s[n] == '\0')
                        break;
                fputc('\n', f);
                s += n + 1;
        }
}

/* printf() for lines that carry what srvmd sent. */
static void print_escaped(FILE *f, const char *fmt, ...) _printf_(2, 3);
static void print_escaped(FILE *f, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        write_escaped(k >= 0 ? s : "(out of memory)\n", f);
}

static void print_line(const char *s) {
        write_escaped(s, stdout);
        fputc('\n', stdout);
}

static int print_text(const char *s, FILE *f) {
        write_escaped(s, f);
        fflush(f);
        return 0;
}

/* JSON on stdout, as --json asked (short or pretty); returns an exit code. */
static int print_json_object(json_object *j) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = format_json_object(j, arg_json, &text);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot lay out the JSON: %s", strerror(-r));
        return print_text(text, stdout);
}

static int print_json(const char *json) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = format_json(json, arg_json, &text);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot lay out the JSON srvmd sent: %s", strerror(-r));
        return print_text(text, stdout);
}

/* JOB on the command line: a job id or a job object path. */
static int parse_job(const char *s, uint32_t *ret_id, const char **ret_path) {
        const char *digits = s;
        char *end;
        unsigned long long v;

        if (s[0] == '/') {
                if (!startswith(s, JOB_PREFIX))
                        return -EINVAL;
                digits = s + strlen(JOB_PREFIX);
        }
        if (digits[0] < '0' || digits[0] > '9')
                return -EINVAL;

        errno = 0;
        v = strtoull(digits, &end, 10);
        if (errno != 0 || *end != '\0' || v > UINT32_MAX)
                return -EINVAL;

        *ret_id = (uint32_t) v;
        *ret_path = s[0] == '/' ? s : NULL;
        return 0;
}

/* The arguments of each command, checked before any bus is opened, so a usage error is
 * exit 2 whether srvmd runs or not. argv[0] is the command. */
static int check_no_args(int argc, char *argv[]) {
        if (argc != 1)
                return usage_error("%s takes no arguments.", argv[0]);
        return 0;
}

static int check_domain_and_uri(int argc, char *argv[]) {
        if (argc != 3)
                return usage_error("%s needs a domain and a destination URI.", argv[0]);
        return 0;
}

static int check_job_arg(int argc, char *argv[]) {
        const char *path;
        uint32_t id;

        if (argc != 2)
                return usage_error("%s needs one job id or job path.", argv[0]);
        if (parse_job(argv[1], &id, &path) < 0)
                return usage_error("'%s' is neither a job id nor a job path (%s<id>).", argv[1], JOB_PREFIX);
        return 0;
}

static int check_vf(int argc, char *argv[]) {
        if (argc != 2 || !streq(argv[1], "list"))
                return usage_error("vf takes one subcommand: list.");
        return 0;
}

static int check_policy(int argc, char *argv[]) {
        if (argc < 2)
                return usage_error("policy needs a subcommand: list, show NAME or check FILE...");
        if (streq(argv[1], "list")) {
                if (argc != 2)
                        return usage_error("policy list takes no arguments.");
                return 0;
        }
        if (streq(argv[1], "show")) {
                if (argc != 3)
                        return usage_error("policy show needs one policy name.");
                return 0;
        }
        if (streq(argv[1], "check")) {
                if (argc < 3)
                        return usage_error("policy check needs at least one file.");
                return 0;
        }
        return usage_error("unknown policy subcommand '%s'; use list, show or check.", argv[1]);
}

static int check_evacuate(int argc, char *argv[]) {
        if (argc != 3)
                return usage_error("evacuate needs the source URI and a destination URI.");
        if (!argv[1][0] || !argv[2][0])
                return usage_error("evacuate: the URIs must not be empty.");
        if (streq(argv[1], argv[2]))
                return usage_error("evacuate: the destination URI is the source URI '%s'.", argv[1]);
        return 0;
}

/* Like the verbs, these print what failed and return the exit code that means, or 0. */
static int get_job_path(sd_bus *bus, uint32_t id, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char what[64], *copy;
        const char *path;
        int r;

        snprintf(what, sizeof what, "cannot find job %" PRIu32, id);

        r = sd_bus_call_method(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "GetJob",
                               &error, &reply, "u", id);
        if (r < 0)
                return fail_bus(&error, r, what);

        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return fail_parse(r, what);

        copy = strdup(path);
        if (!copy)
                return fail(EXIT_FAILED, "out of memory");

        *ret = copy;
        return 0;
}

/* The job's JSON property, as srvmd sent it. */
static int get_job_json(sd_bus *bus, const char *path, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char what[256];
        int r;

        r = sd_bus_get_property_string(bus, SRVM_BUS_NAME, path, SRVM_JOB_INTERFACE, "JSON", &error, ret);
        if (r < 0) {
                snprintf(what, sizeof what, "cannot read job %s", path);
                return fail_bus(&error, r, what);
        }
        return 0;
}

static int parse_json(const char *s, json_object **ret) {
        json_object *j;

        j = json_tokener_parse(s);
        if (!j || !json_object_is_type(j, json_type_object)) {
                json_object_put(j);
                return -EBADMSG;
        }

        *ret = j;
        return 0;
}

static int print_timeline(const char *json) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = parse_json(json, &j);
        if (r < 0)
                return fail_parse(r, "cannot show the job");

        r = format_timeline(j, &text);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot format the job: %s", strerror(-r));

        return print_text(text, stdout);
}

/* Following a job: everything the signal handlers need. */
typedef struct Watch {
        const char *path;    /* NULL until Migrate() answered */
        FILE *out;           /* where the progress lines go */
        bool tty;            /* out is a terminal: keep a status line at the bottom, redrawn */
        bool status_shown;   /* the status line is on the screen now */
        PhaseProgress progress;
        unsigned iteration;  /* the last pre-copy iteration printed (piped) */
        json_object *last;   /* the newest JSON seen, owned */
        int64_t last_elapsed_us; /* the job's elapsed time in last, from its own fields */
        int64_t last_seen_us;    /* when last arrived, on this host's monotonic clock */
        sigset_t wait_mask;      /* the signal mask while waiting for the bus: SIGINT open */
        bool done;
        bool daemon_gone;
} Watch;

static void watch_done(Watch *w) {
        json_object_put(w->last);
        w->last = NULL;
}

/* The job's "result", or NULL. */
static const char *json_get_result(json_object *j) {
        json_object *v;

        if (!json_object_object_get_ex(j, "result", &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* The job's elapsed time now: what its own fields said when it arrived, plus the time since on
 * this host's clock. Only a difference of local readings is used, so it holds when srvmd
 * runs on another host (-H) with a clock of its own. */
static int64_t watch_elapsed_us(const Watch *w) {
        int64_t now = (int64_t) now_usec();

        if (w->last_elapsed_us < 0)
                return -1;
        if (now < 0 || w->last_seen_us < 0 || now < w->last_seen_us)
                return w->last_elapsed_us;
        return w->last_elapsed_us + (now - w->last_seen_us);
}

/* The width of the terminal out is, else $COLUMNS, else 80. */
static unsigned terminal_columns(FILE *out) {
        struct winsize ws = {};
        const char *e;
        unsigned long v;
        char *end;

        if (ioctl(fileno(out), TIOCGWINSZ, &ws) >= 0 && ws.ws_col > 0)
                return ws.ws_col;
        e = getenv("COLUMNS");
        if (e && e[0]) {
                errno = 0;
                v = strtoul(e, &end, 10);
                if (errno == 0 && *end == '\0' && v > 0 && v <= 10000)
                        return (unsigned) v;
        }
        return 80;
}

/* A terminal that can redraw a line in place: not TERM=dumb. */
static bool is_smart_terminal(FILE *out) {
        const char *term = getenv("TERM");

        return isatty(fileno(out)) && !streq_ptr(term, "dumb");
}

static volatile sig_atomic_t sigint_seen;

static void on_sigint(int sig) {
        sigint_seen = 1;
}

/* SIGINT is blocked, and only let through while waiting for the bus (ppoll's mask), so it
 * cannot fall between the check of sigint_seen and the wait. */
static int watch_catch_sigint(Watch *w) {
        struct sigaction sa = { .sa_handler = on_sigint };
        sigset_t mask;

        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0)
                return -errno;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        if (pthread_sigmask(SIG_BLOCK, &mask, &w->wait_mask) != 0)
                return -EINVAL;
        sigdelset(&w->wait_mask, SIGINT);
        return 0;
}

/* sd_bus_wait() with SIGINT let through: 1 when the bus has something, 0 on timeout,
 * -EINTR on a signal. */
static int watch_wait_bus(sd_bus *bus, const Watch *w, uint64_t timeout_usec) {
        struct timespec ts, *tsp = NULL;
        struct pollfd p;
        uint64_t until;
        int fd, events, r;

        fd = sd_bus_get_fd(bus);
        if (fd < 0)
                return fd;
        events = sd_bus_get_events(bus);
        if (events < 0)
                return events;
        r = sd_bus_get_timeout(bus, &until);
        if (r < 0)
                return r;
        if (until != UINT64_MAX) {
                int64_t now = (int64_t) now_usec();
                uint64_t left = now >= 0 && until > (uint64_t) now ? until - (uint64_t) now : 0;

                if (left < timeout_usec)
                        timeout_usec = left;
        }
        if (timeout_usec != UINT64_MAX) {
                ts.tv_sec = (time_t) (timeout_usec / USEC_PER_SEC);
                ts.tv_nsec = (long) (timeout_usec % USEC_PER_SEC * NSEC_PER_USEC);
                tsp = &ts;
        }

        p = (struct pollfd) { .fd = fd, .events = (short) events };
        r = ppoll(&p, 1, tsp, &w->wait_mask);
        if (r < 0)
                return -errno;
        return r > 0;
}

static void watch_clear_status(Watch *w) {
        if (!w->status_shown)
                return;
        fputs("\r\033[K", w->out);
        w->status_shown = false;
}

/* On a terminal the status line stays at the bottom, redrawn in place; piped, a line is
 * printed for each new pre-copy iteration only, so a log stays short. */
static void watch_show_status(Watch *w) {
        _cleanup_free_ char *line = NULL;
        const char *result;

        if (!w->last)
                return;
        result = json_get_result(w->last);
        if (!result || !streq(result, "running"))
                return;

        if (w->tty) {
                if (format_status_line(w->last, watch_elapsed_us(w), terminal_columns(w->out), &line) < 0)
                        return;
                fputs("\r\033[K", w->out);
                write_escaped(line, w->out);
                w->status_shown = true;
                fflush(w->out);
                return;
        }

        if (format_progress_iteration(w->last) == w->iteration)
                return;
        w->iteration = format_progress_iteration(w->last);
        if (format_status_line(w->last, watch_elapsed_us(w), 0, &line) < 0)
                return;
        write_escaped(line, w->out);
        fputc('\n', w->out);
        fflush(w->out);
}

static void watch_feed_json(Watch *w, const char *json) {
        _cleanup_(json_object_putp) json_object *j = NULL;
        _cleanup_free_ char *text = NULL;
        const char *result;

        if (parse_json(json, &j) < 0)
                return;
        if (format_progress(j, &w->progress, &text) >= 0 && text[0]) {
                watch_clear_status(w);
                print_text(text, w->out);
        }

        result = json_get_result(j);
        if (result && !streq(result, "running"))
                w->done = true;

        json_object_put(w->last);
        w->last = TAKE_PTR(j);
        w->last_elapsed_us = format_job_elapsed_us(w->last);
        w->last_seen_us = (int64_t) now_usec();
        watch_show_status(w);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        const char *interface;
        int r;

        if (!w->path || !streq_ptr(sd_bus_message_get_path(m), w->path))
                return 0;

        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0 || !streq(interface, SRVM_JOB_INTERFACE))
                return 0;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return 0;

        for (;;) {
                const char *name, *contents;
                char type;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r <= 0)
                        break;
                if (sd_bus_message_read(m, "s", &name) < 0)
                        break;

                if (streq(name, "JSON") &&
                    sd_bus_message_peek_type(m, &type, &contents) > 0 && streq(contents, "s")) {
                        const char *json;

                        if (sd_bus_message_read(m, "v", "s", &json) < 0)
                                break;
                        watch_feed_json(w, json);
                } else if (sd_bus_message_skip(m, "v") < 0)
                        break;

                if (sd_bus_message_exit_container(m) < 0)
                        break;
        }

        /* A JSON sent as invalidated only is read when the job ends; Result tells that. */
        return 0;
}

static int on_job_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        const char *path, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uos", &id, &path, &result) < 0)
                return 0;
        if (w->path && streq(path, w->path))
                w->done = true;
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq(name, SRVM_BUS_NAME) && new_owner[0] == '\0')
                w->daemon_gone = true;
        return 0;
}

/* Subscribe before anything is read, so no change can fall between reading and listening. */
static int watch_subscribe(sd_bus *bus, Watch *w) {
        int r;

        r = sd_bus_add_match(bus, NULL,
                             "type='signal',"
                             "sender='" SRVM_BUS_NAME "',"
                             "interface='org.freedesktop.DBus.Properties',"
                             "member='PropertiesChanged',"
                             "path_namespace='" SRVM_BUS_PATH "/job',"
                             "arg0='" SRVM_JOB_INTERFACE "'",
                             on_properties_changed, w);
        if (r < 0)
                return r;

        r = sd_bus_match_signal(bus, NULL, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE,
                                "JobFinished", on_job_finished, w);
        if (r < 0)
                return r;

        return sd_bus_add_match(bus, NULL,
                                "type='signal',"
                                "sender='org.freedesktop.DBus',"
                                "path='/org/freedesktop/DBus',"
                                "interface='org.freedesktop.DBus',"
                                "member='NameOwnerChanged',"
                                "arg0='" SRVM_BUS_NAME "'",
                                on_name_owner_changed, w);
}

/* What srvmctl check prints at the end: the verdict and every check that failed, then the
 * path the migration would take and why, when preflight got as far as choosing it. Preflight
 * stops at the first failure, and its error sentence says which check that was. */
static void print_check_result(json_object *j) {
        json_object *v;
        const char *domain = NULL, *destination = NULL, *result = json_get_result(j), *error = NULL, *why = NULL;

        if (json_object_object_get_ex(j, "domain", &v) && json_object_is_type(v, json_type_string))
                domain = json_object_get_string(v);
        if (json_object_object_get_ex(j, "destination_uri", &v) && json_object_is_type(v, json_type_string))
                destination = json_object_get_string(v);
        if (json_object_object_get_ex(j, "error", &v) && json_object_is_type(v, json_type_string))
                error = json_object_get_string(v);
        if (json_object_object_get_ex(j, "path_reason", &v) && json_object_is_type(v, json_type_string))
                why = json_object_get_string(v);

        if (streq_ptr(result, "succeeded"))
                print_escaped(stdout, "Domain '%s' passed every check for a migration to %s.\n", strna(domain), strna(destination));
        else {
                print_escaped(stdout, "Domain '%s' cannot be migrated to %s:\n", strna(domain), strna(destination));
                print_escaped(stdout, "  FAILED  %s\n", error && error[0] ? error : strna(result));
        }
        if (why)
                print_escaped(stdout, "Path: %s\n", why);
}

/* Ctrl-C: srvmctl stops following, the job goes on; one sentence says which job and how to
 * follow or cancel it. */
static int watch_interrupted(Watch *w) {
        const char *domain = NULL, *kind = NULL, *ignored;
        json_object *v;
        uint32_t id = 0;

        watch_clear_status(w);
        fflush(w->out);
        if (w->last && json_object_object_get_ex(w->last, "domain", &v) && json_object_is_type(v, json_type_string))
                domain = json_object_get_string(v);
        if (w->last && json_object_object_get_ex(w->last, "kind", &v) && json_object_is_type(v, json_type_string))
                kind = json_object_get_string(v);
        (void) parse_job(w->path, &id, &ignored);

        fprintf(stderr,
                "srvmctl: interrupted; job %" PRIu32 " (%s of domain '%s') goes on in srvmd: "
                "'%s watch %" PRIu32 "' follows it again, '%s cancel %" PRIu32 "' %s.\n",
                id, streq_ptr(kind, "check") ? "check" : streq_ptr(kind, "arrival") ? "arrival" : "migration",
                strna(domain), self_command(), id, self_command(), id,
                streq_ptr(kind, "check") ? "stops it" : "rolls it back");
        return EXIT_INTERRUPTED;
}

/* Follow the job at w->path until it ends; returns the exit code. check: print the check's
 * verdict instead of the timeline. */
static int watch_run(sd_bus *bus, Watch *w, bool check) {
        _cleanup_free_ char *json = NULL;
        _cleanup_(json_object_putp) json_object *j = NULL;
        int r;

        /* The state now; signals queued since the subscription are replayed after it, and
         * format_progress() skips what they repeat. */
        r = get_job_json(bus, w->path, &json);
        if (r != 0)
                return r;
        watch_feed_json(w, json);

        while (!w->done) {
                if (sigint_seen)
                        return watch_interrupted(w);
                if (w->daemon_gone) {
                        watch_clear_status(w);
                        return fail(EXIT_UNREACHABLE, "srvmd left %s (%s) while job %s was running",
                                    bus_where(), SRVM_BUS_NAME, w->path);
                }

                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        watch_clear_status(w);
                        return fail_bus(NULL, r, "lost the connection to the bus");
                }
                if (r > 0)
                        continue;

                /* On a terminal, wake up each second to tick the elapsed time. */
                r = watch_wait_bus(bus, w, w->tty ? USEC_PER_SEC : UINT64_MAX);
                if (r == -EINTR)
                        continue;
                if (r < 0) {
                        watch_clear_status(w);
                        return fail_bus(NULL, r, "lost the connection to the bus");
                }
                if (r == 0)
                        watch_show_status(w);
        }

        /* The final state, read once more: the last signal may have carried no JSON. */
        free(json);
        json = NULL;
        r = get_job_json(bus, w->path, &json);
        if (r != 0)
                return r;
        watch_feed_json(w, json);
        watch_clear_status(w);
        fflush(w->out);

        r = parse_json(json, &j);
        if (r < 0)
                return fail_parse(r, "cannot show the job");

        if (arg_json) {
                r = print_json(json);
                if (r != 0)
                        return r;
        } else if (check)
                print_check_result(j);
        else {
                _cleanup_free_ char *text = NULL;

                r = format_timeline(j, &text);
                if (r < 0)
                        return fail(EXIT_FAILED, "cannot format the job: %s", strerror(-r));
                fputc('\n', stdout);
                print_text(text, stdout);
        }

        return streq_ptr(json_get_result(j), "succeeded") ? 0 : EXIT_FAILED;
}

static int append_option(sd_bus_message *m, const char *key, const char *value) {
        if (!value)
                return 0;
        return sd_bus_message_append(m, "{sv}", key, "s", value);
}

/* Migrate() or Check() of domain to destination, with the options of the command line. */
static int new_job_call(sd_bus *bus, const char *method, const char *domain, const char *destination,
                        sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &call, SRVM_BUS_NAME, SRVM_BUS_PATH,
                                           SRVM_MANAGER_INTERFACE, method);
        if (r >= 0)
                r = sd_bus_message_append(call, "ss", domain, destination);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0)
                r = append_option(call, "migrate_uri", arg_migrate_uri);
        if (r >= 0)
                r = append_option(call, "bond", arg_bond);
        if (r >= 0)
                r = append_option(call, "vf", arg_vf);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(call);
        return 0;
}

static void watch_init(Watch *w) {
        *w = (Watch) { .out = arg_json ? stderr : stdout, .last_elapsed_us = -1, .last_seen_us = -1 };
        w->tty = is_smart_terminal(w->out);
}

/* migrate and check: the same arguments, Migrate() or Check(). */
static int start_job(sd_bus *bus, int argc, char *argv[], bool check) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_free_ char *path = NULL, *what = NULL;
        _cleanup_(watch_done) Watch w;
        const char *domain, *destination, *p;
        bool wait = check || arg_wait;
        uint32_t id;
        int r;

        watch_init(&w);

        domain = argv[1];
        destination = argv[2];

        if (asprintf(&what, "cannot %s domain '%s'", check ? "check" : "migrate", domain) < 0)
                return fail(EXIT_FAILED, "out of memory");

        if (wait) {
                r = watch_catch_sigint(&w);
                if (r < 0)
                        return fail(EXIT_FAILED, "cannot take SIGINT: %s", strerror(-r));
                r = watch_subscribe(bus, &w);
                if (r < 0)
                        return fail_bus(NULL, r, "cannot subscribe to the job's signals");
        }

        r = new_job_call(bus, check ? "Check" : "Migrate", domain, destination, &call);
        if (r < 0)
                return fail(EXIT_FAILED, "%s: cannot build the request: %s", what, strerror(-r));

        r = sd_bus_call(bus, call, 0, &error, &reply);
        if (r < 0)
                return fail_bus(&error, r, what);

        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return fail_parse(r, what);
        path = strdup(p);
        if (!path)
                return fail(EXIT_FAILED, "out of memory");

        if (parse_job(path, &id, &p) < 0)
                return fail(EXIT_FAILED, "%s: srvmd answered with an unexpected job path %s", what, path);

        if (arg_json && !wait) {
                _cleanup_(json_object_putp) json_object *j = json_object_new_object();

                if (!j || json_add(j, "id", json_object_new_int64(id)) < 0 ||
                    json_add(j, "path", json_object_new_string(path)) < 0)
                        return fail(EXIT_FAILED, "out of memory");
                return print_json_object(j);
        }

        print_escaped(w.out, "Job %" PRIu32 " (%s): %s %s %s %s\n", id, path,
                check ? "checking whether" : "migrating", domain,
                check ? "can migrate to" : "to", destination);
        fflush(w.out);
        if (!wait)
                return 0;

        w.path = path;
        return watch_run(bus, &w, check);
}

static int verb_migrate(sd_bus *bus, int argc, char *argv[]) {
        return start_job(bus, argc, argv, false);
}

static int verb_check(sd_bus *bus, int argc, char *argv[]) {
        return start_job(bus, argc, argv, true);
}

static int verb_watch(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_free_ char *owned_path = NULL;
        _cleanup_(watch_done) Watch w;
        const char *path;
        uint32_t id;
        int r;

        watch_init(&w);

        if (parse_job(argv[1], &id, &path) < 0)
                return check_job_arg(argc, argv);

        r = watch_catch_sigint(&w);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot take SIGINT: %s", strerror(-r));
        r = watch_subscribe(bus, &w);
        if (r < 0)
                return fail_bus(NULL, r, "cannot subscribe to the job's signals");

        if (!path) {
                r = get_job_path(bus, id, &owned_path);
                if (r != 0)
                        return r;
                path = owned_path;
        }

        w.path = path;
        return watch_run(bus, &w, false);
}

static int verb_show(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_free_ char *owned_path = NULL, *json = NULL;
        const char *path;
        uint32_t id;
        int r;

        if (parse_job(argv[1], &id, &path) < 0)
                return check_job_arg(argc, argv);

        if (!path) {
                r = get_job_path(bus, id, &owned_path);
                if (r != 0)
                        return r;
                path = owned_path;
        }

        r = get_job_json(bus, path, &json);
        if (r != 0)
                return r;

        if (arg_json)
                return print_json(json);

        return print_timeline(json);
}

static int verb_jobs(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ JobRow *rows = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_(json_object_putp) json_object *jobs = NULL; /* the rows' started_at point into it */
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "ListJobs",
                               &error, &reply, NULL);
        if (r < 0)
                return fail_bus(&error, r, "cannot list jobs");

        r = sd_bus_message_enter_container(reply, 'a', "(ussso)");
        if (r < 0)
                return fail_parse(r, "cannot list jobs");

        for (;;) {
                JobRow row, *a;

                r = sd_bus_message_read(reply, "(ussso)", &row.id, &row.domain, &row.phase,
                                        &row.result, &row.path);
                if (r < 0)
                        return fail_parse(r, "cannot list jobs");
                if (r == 0)
                        break;

                row.started_at = NULL;
                a = realloc(rows, (n + 1) * sizeof(JobRow));
                if (!a)
                        return fail(EXIT_FAILED, "out of memory");
                rows = a;
                rows[n++] = row;
        }

        /* When each started: from its JSON, which ListJobs does not carry. */
        jobs = json_object_new_array();
        if (!jobs)
                return fail(EXIT_FAILED, "out of memory");
        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *json = NULL;
                json_object *j = NULL, *v;

                /* A job that went away meanwhile keeps no start time. */
                if (sd_bus_get_property_string(bus, SRVM_BUS_NAME, rows[i].path, SRVM_JOB_INTERFACE, "JSON",
                                               &e, &json) < 0 || parse_json(json, &j) < 0)
                        continue;
                if (json_append(jobs, j) < 0)
                        return fail(EXIT_FAILED, "out of memory");
                if (json_object_object_get_ex(j, "started_at", &v) && json_object_is_type(v, json_type_string))
                        rows[i].started_at = json_object_get_string(v);
        }

        if (arg_json)
                r = format_jobs_json(rows, n, &text);
        else
                r = format_jobs_table(rows, n, &text);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot format the job list: %s", strerror(-r));

        if (arg_json)
                return print_json(text);
        return print_text(text, stdout);
}

static int verb_cancel(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char what[64];
        const char *path;
        uint32_t id;
        int r;

        if (parse_job(argv[1], &id, &path) < 0)
                return check_job_arg(argc, argv);

        snprintf(what, sizeof what, "cannot cancel job %" PRIu32, id);

        r = sd_bus_call_method(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "Cancel",
                               &error, NULL, "u", id);
        if (r < 0)
                return fail_bus(&error, r, what);

        return 0;
}

static int verb_reload(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "Reload",
                               &error, NULL, NULL);
        if (r < 0)
                return fail_bus(&error, r, "cannot reload the policies");

        return 0;
}

static int verb_vf(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *json = NULL;
        _cleanup_free_ char *table = NULL;
        const char *text;
        int r;

        r = sd_bus_call_method(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "ListVFs",
                               &error, &reply, NULL);
        if (r < 0)
                return fail_bus(&error, r, "cannot list the VFs");
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0)
                return fail(EXIT_FAILED, "srvmd's answer to ListVFs is not a string");

        if (arg_json)
                return print_json(text);
        json = json_tokener_parse(text);
        if (!json)
                return fail(EXIT_FAILED, "srvmd's VF inventory is not JSON");
        r = vf_format_table(json, &table);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot lay out the VF inventory: %s", strerror(-r));
        write_escaped(table, stdout);
        return 0;
}

static int verb_version(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *daemon = NULL;
        int r;

        r = sd_bus_get_property_string(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "Version",
                                       &error, &daemon);

        if (arg_json) {
                _cleanup_(json_object_putp) json_object *j = json_object_new_object();

                if (!j ||
                    json_object_object_add(j, "srvmctl", json_object_new_string(SRVM_VERSION)) < 0 ||
                    json_object_object_add(j, "srvmd", r >= 0 ? json_object_new_string(daemon) : NULL) < 0)
                        return fail(EXIT_FAILED, "out of memory");
                print_json_object(j);
        } else {
                printf("srvmctl %s\n", SRVM_VERSION);
                if (r >= 0)
                        print_escaped(stdout, "srvmd %s\n", daemon);
        }
        if (r < 0)
                return fail_bus(&error, r, "cannot read srvmd's version");

        return 0;
}

static int policy_list(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *a = NULL;
        int r;

        r = sd_bus_call_method(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "ListPolicies",
                               &error, &reply, NULL);
        if (r < 0)
                return fail_bus(&error, r, "cannot list the policies");

        r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        if (r < 0)
                return fail_parse(r, "cannot list the policies");

        a = json_object_new_array();
        if (!a)
                return fail(EXIT_FAILED, "out of memory");

        for (;;) {
                const char *name, *path, *match;
                json_object *o;

                r = sd_bus_message_read(reply, "(sss)", &name, &path, &match);
                if (r < 0)
                        return fail_parse(r, "cannot list the policies");
                if (r == 0)
                        break;

                o = json_object_new_object();
                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return fail(EXIT_FAILED, "out of memory");
                }
                if (json_object_object_add(o, "name", json_object_new_string(name)) < 0 ||
                    json_object_object_add(o, "path", path[0] ? json_object_new_string(path) : NULL) < 0 ||
                    json_object_object_add(o, "match", json_object_new_string(match)) < 0)
                        return fail(EXIT_FAILED, "out of memory");
        }

        if (arg_json)
                return print_json_object(a);

        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *o = json_object_array_get_idx(a, i), *name, *path, *match;

                json_object_object_get_ex(o, "name", &name);
                json_object_object_get_ex(o, "path", &path);
                json_object_object_get_ex(o, "match", &match);
                _cleanup_free_ char *entry = NULL;

                if (asprintf(&entry, "%s\n  file:  %s\n  match: %s\n", strna(json_object_get_string(name)),
                             path ? strna(json_object_get_string(path)) : "(built in)",
                             strna(json_object_get_string(match))) < 0)
                        return fail(EXIT_FAILED, "out of memory");
                write_escaped(entry, stdout);
        }
        printf("\n%zu polic%s in force.\n", json_object_array_length(a),
               json_object_array_length(a) == 1 ? "y" : "ies");
        return 0;
}

/* policy show DOMAIN: the policy in force for that domain (which one, how it matched, every
 * value); policy show NAME: the policy of that name, when no domain is called so. */
static int policy_show(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *what = NULL;
        const char *json;
        int r;

        if (asprintf(&what, "cannot show the policy of domain or policy '%s'", name) < 0)
                return fail(EXIT_FAILED, "out of memory");

        r = sd_bus_call_method(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "GetDomainPolicy",
                               &error, &reply, "s", name);
        if (r < 0 && sd_bus_error_has_name(&error, SRVM_ERROR_NO_SUCH_POLICY)) {
                sd_bus_error_free(&error);
                r = sd_bus_call_method(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "GetPolicy",
                                       &error, &reply, "s", name);
        }
        if (r < 0)
                return fail_bus(&error, r, what);

        r = sd_bus_message_read(reply, "s", &json);
        if (r < 0)
                return fail_parse(r, what);

        /* The policy file's own form either way: it is JSON already. */
        if (arg_json)
                return print_json(json);
        print_line(json);
        return 0;
}

/* Parse policy files here, as srvmd would load them; needs no daemon. */
static int policy_check(int n, char *files[]) {
        int ret = 0;

        for (int i = 0; i < n; i++) {
                _cleanup_(policy_freep) Policy *policy = NULL;
                _cleanup_free_ char *why = NULL;
                int r;

                r = policy_parse_file(files[i], &policy, &why);
                if (r < 0) {
                        if (why)
                                fail(EXIT_FAILED, "%s", why);
                        else
                                fail(EXIT_FAILED, "%s: %s", files[i], strerror(-r));
                        ret = EXIT_FAILED;
                        continue;
                }

                if (arg_json) {
                        _cleanup_(json_object_putp) json_object *j = NULL;

                        r = policy_to_json(policy, &j);
                        if (r < 0)
                                return fail(EXIT_FAILED, "%s: cannot render the policy: %s", files[i], strerror(-r));
                        print_json_object(j);
                } else
                        printf("%s: valid policy '%s'\n", files[i], policy_get_name(policy));
        }

        return ret;
}

/* The subcommand was checked by check_policy(). */
static int verb_policy(sd_bus *bus, int argc, char *argv[]) {
        if (streq(argv[1], "list"))
                return policy_list(bus);
        if (streq(argv[1], "show"))
                return policy_show(bus, argv[2]);
        return policy_check(argc - 2, argv + 2);
}

/* ListDomains(): the rows point into *ret_reply. Prints what failed and returns the exit
 * code, or 0. */
static int list_domains(sd_bus *bus, sd_bus_message **ret_reply, DomainRow **ret_rows, size_t *ret_n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ DomainRow *rows = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "ListDomains",
                               &error, &reply, NULL);
        if (r < 0)
                return fail_bus(&error, r, "cannot list the domains");

        r = sd_bus_message_enter_container(reply, 'a', "(sssss)");
        if (r < 0)
                return fail_parse(r, "cannot list the domains");
        for (;;) {
                DomainRow row, *a;

                r = sd_bus_message_read(reply, "(sssss)", &row.name, &row.state, &row.policy, &row.vf, &row.note);
                if (r < 0)
                        return fail_parse(r, "cannot list the domains");
                if (r == 0)
                        break;
                a = realloc(rows, (n + 1) * sizeof(DomainRow));
                if (!a)
                        return fail(EXIT_FAILED, "out of memory");
                rows = a;
                rows[n++] = row;
        }

        *ret_reply = TAKE_PTR(reply);
        *ret_rows = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

static int verb_domains(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ DomainRow *rows = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        int r;

        r = list_domains(bus, &reply, &rows, &n);
        if (r != 0)
                return r;

        r = arg_json ? format_domains_json(rows, n, &text) : format_domains_table(rows, n, &text);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot format the domain list: %s", strerror(-r));
        if (arg_json)
                return print_json(text);
        return print_text(text, stdout);
}

/* evacuate: the jobs, the finishes the signals announced and not yet handled, and how it
 * ends. Signals are only noted in their handlers; the bus calls they lead to (the job's
 * JSON, the next Migrate()) run from a defer source, outside any bus callback. */
typedef struct Evac {
        sd_bus *bus;
        sd_event *event;
        sd_event_source *work;
        Evacuation plan;
        const char *destination;
        FILE *out;
        uint32_t *finished;      /* job ids JobFinished named, not handled yet */
        size_t n_finished;
        int ret;                 /* the exit code when it ends early, else 0 */
} Evac;

static int evac_schedule(Evac *x) {
        return sd_event_source_set_enabled(x->work, SD_EVENT_ONESHOT);
}

static int evac_on_job_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Evac *x = userdata;
        const char *path, *result;
        uint32_t id, *a;

        if (sd_bus_message_read(m, "uos", &id, &path, &result) < 0)
                return 0;
        a = realloc(x->finished, (x->n_finished + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        x->finished = a;
        x->finished[x->n_finished++] = id;
        (void) evac_schedule(x);
        return 0;
}

static int evac_on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Evac *x = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq(name, SRVM_BUS_NAME) && new_owner[0] == '\0') {
                x->ret = fail(EXIT_UNREACHABLE, "srvmd left %s (%s) during the evacuation",
                              bus_where(), SRVM_BUS_NAME);
                x->plan.stopped = true;
                return sd_event_exit(x->event, 0);
        }
        return 0;
}

static void evac_print(Evac *x, int (*format)(const EvacItem *i, char **ret), const EvacItem *i) {
        _cleanup_free_ char *line = NULL;

        if (format(i, &line) >= 0)
                print_text(line, x->out);
}

/* Start jobs until the concurrency is reached or none is left. A domain srvmd refuses is
 * reported and counts as failed; a refusal that would hit every domain alike (access denied,
 * an option srvmd rejects, srvmd gone) ends the evacuation with that exit code. */
static int evac_fill(Evac *x) {
        EvacItem *i;
        int r;

        while ((i = evac_next(&x->plan))) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
                const char *path, *ignored;
                uint32_t id;

                r = new_job_call(x->bus, "Migrate", i->domain, x->destination, &call);
                if (r < 0)
                        return fail(EXIT_FAILED, "cannot migrate domain '%s': cannot build the request: %s",
                                    i->domain, strerror(-r));
                r = sd_bus_call(x->bus, call, 0, &error, &reply);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0 && parse_job(path, &id, &ignored) < 0)
                        r = -EBADMSG;
                if (r < 0) {
                        char what[512];

                        if (sd_bus_error_has_names(&error, SD_BUS_ERROR_ACCESS_DENIED, SD_BUS_ERROR_INVALID_ARGS,
                                                   SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                                   SD_BUS_ERROR_DISCONNECTED) ||
                            (!sd_bus_error_is_set(&error) && errno_means_unreachable(r))) {
                                snprintf(what, sizeof what, "cannot migrate domain '%s'", i->domain);
                                return fail_bus(&error, r, what);
                        }
                        r = evac_start_failed(&x->plan, i, sd_bus_error_is_set(&error) && error.message ?
                                                           error.message : strerror(-r));
                        if (r < 0)
                                return fail(EXIT_FAILED, "out of memory");
                        evac_print(x, evac_format_finished, i);
                        continue;
                }
                evac_started(&x->plan, i, id);
                evac_print(x, evac_format_started, i);
        }
        return 0;
}

/* Defer source: handle the finished jobs, start the next ones, end when all are done. */
static int evac_on_work(sd_event_source *s, void *userdata) {
        Evac *x = userdata;
        int r;

        while (x->n_finished > 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *json_path = NULL, *json = NULL;
                json_object *j = NULL;
                uint32_t id = x->finished[0];
                EvacItem *i;

                memmove(x->finished, x->finished + 1, --x->n_finished * sizeof(*x->finished));
                i = evac_find_running(&x->plan, id);
                if (!i)
                        continue; /* someone else's job */

                if (asprintf(&json_path, JOB_PREFIX "%" PRIu32, id) < 0) {
                        x->ret = fail(EXIT_FAILED, "out of memory");
                        return sd_event_exit(x->event, 0);
                }
                /* Without the JSON, the job still counts as ended; its result then is unknown. */
                if (sd_bus_get_property_string(x->bus, SRVM_BUS_NAME, json_path, SRVM_JOB_INTERFACE, "JSON",
                                               &error, &json) >= 0)
                        (void) parse_json(json, &j);
                r = evac_finished(&x->plan, i, NULL, j);
                if (r < 0) {
                        x->ret = fail(EXIT_FAILED, "out of memory");
                        return sd_event_exit(x->event, 0);
                }
                evac_print(x, evac_format_finished, i);
        }

        r = evac_fill(x);
        if (r != 0) {
                x->ret = r;
                x->plan.stopped = true;
                return sd_event_exit(x->event, 0);
        }
        if (evac_is_over(&x->plan))
                return sd_event_exit(x->event, 0);
        return 0;
}

static int evac_on_sigint(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Evac *x = userdata;
        size_t n = evac_count(&x->plan, EVAC_RUNNING);

        x->plan.stopped = true;
        x->ret = EXIT_FAILED;
        fprintf(x->out, "Interrupted: no more jobs are started.");
        if (n > 0) {
                bool first = true;

                fprintf(x->out, " Still running in srvmd:");
                for (size_t k = 0; k < x->plan.n_items; k++) {
                        const EvacItem *i = &x->plan.items[k];

                        if (i->state != EVAC_RUNNING)
                                continue;
                        print_escaped(x->out, "%s job %" PRIu32 " (%s)", first ? "" : ",", i->job, i->domain);
                        first = false;
                }
                fprintf(x->out, "; 'srvmctl cancel JOB' stops one.");
        }
        fputc('\n', x->out);
        fflush(x->out);
        return sd_event_exit(x->event, 0);
}

static int verb_evacuate(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *work = NULL, *sigint = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_free_ DomainRow *rows = NULL;
        _cleanup_free_ char *local = NULL, *summary = NULL;
        _cleanup_free_ uint32_t *finished = NULL;
        Evac x = { .bus = bus, .out = arg_json ? stderr : stdout };
        const char *source, *destination;
        int64_t begin_us;
        sigset_t mask;
        size_t n = 0;
        int r;

        source = argv[1];
        destination = argv[2];

        r = sd_bus_get_property_string(bus, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE, "LocalURI",
                                       &error, &local);
        if (r < 0)
                return fail_bus(&error, r, "cannot read srvmd's local URI");
        if (!streq(local, source))
                return fail(EXIT_USAGE,
                            "the source URI '%s' is not the URI of the srvmd srvmctl talks to, '%s': run evacuate on the source host, with its srvmd's URI.",
                            source, local);

        evac_init(&x.plan, arg_concurrency);
        x.destination = destination;

        /* Listen before any job starts, so no end can be missed. */
        r = sd_bus_match_signal(bus, NULL, SRVM_BUS_NAME, SRVM_BUS_PATH, SRVM_MANAGER_INTERFACE,
                                "JobFinished", evac_on_job_finished, &x);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL,
                                     "type='signal',"
                                     "sender='org.freedesktop.DBus',"
                                     "path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',"
                                     "member='NameOwnerChanged',"
                                     "arg0='" SRVM_BUS_NAME "'",
                                     evac_on_name_owner_changed, &x);
        if (r < 0) {
                evac_done(&x.plan);
                return fail_bus(NULL, r, "cannot subscribe to the jobs' signals");
        }

        r = list_domains(bus, &reply, &rows, &n);
        if (r != 0) {
                evac_done(&x.plan);
                return r;
        }
        for (size_t k = 0; k < n; k++) {
                char buf[512];
                const char *why = evac_skip_reason(rows[k].state, rows[k].policy, rows[k].vf, rows[k].note,
                                                   buf, sizeof buf);

                if (why)
                        print_escaped(x.out, "%s: skipped: %s.\n", rows[k].name, why);
                else if (evac_add(&x.plan, rows[k].name) < 0) {
                        evac_done(&x.plan);
                        return fail(EXIT_FAILED, "out of memory");
                }
        }
        if (x.plan.n_items == 0) {
                fprintf(x.out, "No domain to evacuate from %s.\n", source);
                if (arg_json)
                        print_json("[]");
                evac_done(&x.plan);
                return 0;
        }
        fprintf(x.out, "Evacuating %zu domain%s from %s to %s, at most %u at a time.\n", x.plan.n_items,
                x.plan.n_items == 1 ? "" : "s", source, destination, x.plan.concurrency);
        fflush(x.out);

        /* SIGINT is taken through the loop, not by the default action. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        r = sd_event_default(&event);
        if (r >= 0)
                r = -pthread_sigmask(SIG_BLOCK, &mask, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, &sigint, SIGINT, evac_on_sigint, &x);
        if (r >= 0)
                r = sd_event_add_defer(event, &work, evac_on_work, &x);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                evac_done(&x.plan);
                return fail(EXIT_FAILED, "cannot set up the event loop: %s", strerror(-r));
        }
        x.event = event;
        x.work = work;

        /* The first jobs start from the loop, like the later ones. */
        begin_us = (int64_t) now_usec();
        r = sd_event_loop(event);
        x.plan.elapsed_us = (int64_t) now_usec() - begin_us;
        (void) sd_bus_detach_event(bus);
        finished = x.finished;
        if (r < 0)
                x.ret = fail(EXIT_FAILED, "the event loop failed: %s", strerror(-r));

        if (evac_format_summary(&x.plan, &summary) >= 0)
                print_text(summary, x.out);
        if (arg_json) {
                _cleanup_(json_object_putp) json_object *a = NULL;

                if (evac_to_json(&x.plan, &a) >= 0)
                        print_json_object(a);
        }
        r = x.ret ? x.ret : evac_exit_code(&x.plan);
        evac_done(&x.plan);
        return r;
}

/* Each command, its checks, what it runs and its lines of --help. */
typedef struct Verb {
        const char *name;
        int (*check)(int argc, char *argv[]); /* before the bus is opened; NULL: none */
        int (*run)(sd_bus *bus, int argc, char *argv[]);
        bool takes_job_options;               /* --wait and friends */
        bool reads;                           /* --json applies */
        const char *help;                     /* its lines under "Commands:" */
} Verb;

static int verb_help(sd_bus *bus, int argc, char *argv[]);
static int check_help(int argc, char *argv[]);

static const Verb verbs[] = {
        { "migrate", check_domain_and_uri, verb_migrate, true, true,
          "  migrate DOMAIN DEST_URI   Migrate DOMAIN to the libvirt URI DEST_URI; prints the\n"
          "                            new job's id and object path\n" },
        { "check", check_domain_and_uri, verb_check, true, true,
          "  check DOMAIN DEST_URI     Run the preflight checks of such a migration, touching\n"
          "                            nothing, and print what fails\n" },
        { "watch", check_job_arg, verb_watch, false, true,
          "  watch JOB                 Follow a job: each phase as it starts and ends, and\n"
          "                            the pre-copy progress\n" },
        { "show", check_job_arg, verb_show, false, true,
          "  show JOB                  Show a job's phase timeline, downtime and events\n" },
        { "jobs", check_no_args, verb_jobs, false, true,
          "  jobs                      List the jobs srvmd knows of\n" },
        { "cancel", check_job_arg, verb_cancel, false, false,
          "  cancel JOB                Cancel a running job; it rolls back to the source\n" },
        { "policy", check_policy, verb_policy, false, true,
          "  policy list               List the policies in force and what they match\n"
          "  policy show DOMAIN|NAME   Show the policy in force for a domain (which, how it\n"
          "                            matched, every value), or the policy called NAME\n"
          "  policy check FILE...      Check policy files, without srvmd\n" },
        { "reload", check_no_args, verb_reload, false, false,
          "  reload                    Load the policies anew; a bad file keeps the old set\n" },
        { "vf", check_vf, verb_vf, false, true,
          "  vf list                   List the host's SR-IOV PFs and VFs, and who uses each\n" },
        { "domains", check_no_args, verb_domains, false, true,
          "  domains                   List the active domains: state, policy, VF, and why\n"
          "                            one has no policy or VF\n" },
        { "evacuate", check_evacuate, verb_evacuate, false, true,
          "  evacuate SRC_URI DEST_URI Migrate every running domain with a policy and a VF\n"
          "                            off this host (SRC_URI, srvmd's own URI) to DEST_URI,\n"
          "                            at most --concurrency at a time; prints a line as\n"
          "                            each job starts and ends, then a summary\n" },
        { "version", check_no_args, verb_version, false, true,
          "  version                   Show the versions of srvmctl and srvmd\n" },
        { "help", check_help, verb_help, false, false,
          "  help [COMMAND]            Show this help, or COMMAND's lines of it\n" },
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static void help(void) {
        printf("srvmctl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Start, follow and inspect live migrations of VMs with an SR-IOV VF, run by srvmd.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fputs(verbs[i].help, stdout);
        printf("\n"
               "JOB is a job id (3) or a job object path (" JOB_PREFIX "3).\n"
               "\n"
               "Options:\n"
               "  -h --help                 Show this help and exit\n"
               "     --version              Show the version and exit\n"
               "     --user                 Talk to srvmd on the user bus, not the system bus\n"
               "  -H --host [USER@]HOST     Talk to srvmd on HOST's system bus, over ssh\n"
               "     --json=MODE            Print JSON, short (one line) or pretty (indented);\n"
               "                            off: text (the default). --json and -j: pretty on a\n"
               "                            terminal, short otherwise. What is printed: the\n"
               "                            job's JSON (show, watch, check, migrate --wait; the\n"
               "                            phases go to stderr), {\"id\",\"path\"} (migrate), an\n"
               "                            array of jobs (jobs) or of policies (policy list),\n"
               "                            the policy (policy show, policy check), the versions\n"
               "                            (version), an array of domains (domains) or of the\n"
               "                            finished jobs' JSON (evacuate; the lines go to\n"
               "                            stderr)\n"
               "  -j                        Same as --json\n"
               "  -w --wait                 migrate: follow the job, print each phase as it\n"
               "                            starts and ends, then its timeline\n"
               "     --migrate-uri URI      migrate, check, evacuate: the URI of the migration\n"
               "                            stream (e.g. tcp://10.0.0.2:49152)\n"
               "     --bond NAME            migrate, check, evacuate: the guest's bond (default:\n"
               "                            the policy's, else bond0)\n"
               "     --vf ALIAS|MAC         migrate, check: the VF to move, by device alias or\n"
               "                            MAC (default: found by srvmd)\n"
               "     --concurrency N        evacuate: run at most N migrations at once, 1 to\n"
               "                            64 (default 1)\n"
               "\n"
               "The system bus is found through DBUS_SYSTEM_BUS_ADDRESS if set. On a terminal,\n"
               "watch and migrate --wait keep a status line that fits its width, redrawn in\n"
               "place, unless TERM=dumb. srvmctl prints no colours.\n"
               "\n"
               "Exit status:\n"
               "  0    success (migrate --wait, watch: the job succeeded; check: every check\n"
               "       passed; evacuate: every job succeeded, or there was no domain to move)\n"
               "  1    the job failed, was rolled back or cancelled, a check or a policy failed,\n"
               "       the operation failed; evacuate: a job did not succeed, or it was\n"
               "       interrupted (SIGINT)\n"
               "  2    usage error, or arguments srvmd rejected\n"
               "  3    srvmd is not reachable on the bus\n"
               "  4    access denied (changing anything needs root or the admin group)\n"
               "  130  watch, migrate --wait, check: interrupted (SIGINT); the job goes on\n");
}

static int check_help(int argc, char *argv[]) {
        if (argc > 2)
                return usage_error("help takes at most one command.");
        if (argc == 2 && !verb_find(argv[1]))
                return usage_error("unknown command '%s'.", argv[1]);
        return 0;
}

/* help: all of --help; help COMMAND: that command's lines, and where the rest is. */
static int verb_help(sd_bus *bus, int argc, char *argv[]) {
        if (argc < 2) {
                help();
                return 0;
        }
        printf("srvmctl [OPTIONS...] %s ...\n\n%s\nThe options and exit codes: srvmctl --help; all of it: man srvmctl.\n",
               argv[1], verb_find(argv[1])->help);
        return 0;
}

enum {
        ARG_VERSION = 0x100,
        ARG_USER,
        ARG_JSON,
        ARG_MIGRATE_URI,
        ARG_BOND,
        ARG_VF,
        ARG_CONCURRENCY,
};

/* --json and -j without a mode: pretty for a reader, short for a pipe. */
static JsonMode json_mode_auto(void) {
        return isatty(STDOUT_FILENO) ? JSON_MODE_PRETTY : JSON_MODE_SHORT;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",        no_argument,       NULL, 'h'             },
                { "version",     no_argument,       NULL, ARG_VERSION     },
                { "user",        no_argument,       NULL, ARG_USER        },
                { "host",        required_argument, NULL, 'H'             },
                { "json",        optional_argument, NULL, ARG_JSON        },
                { "wait",        no_argument,       NULL, 'w'             },
                { "migrate-uri", required_argument, NULL, ARG_MIGRATE_URI },
                { "bond",        required_argument, NULL, ARG_BOND        },
                { "vf",          required_argument, NULL, ARG_VF          },
                { "concurrency", required_argument, NULL, ARG_CONCURRENCY },
                {}
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hwjH:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("srvmctl %s\n", SRVM_VERSION);
                        return 0;
                case ARG_USER:
                        arg_user = true;
                        break;
                case 'H':
                        /* ssh takes it from here; an empty host or one that looks like an
                         * option would reach it as something else. */
                        if (!optarg[0] || optarg[0] == '-')
                                return -usage_error("--host takes [USER@]HOST, not '%s'.", optarg);
                        arg_host = optarg;
                        break;
                case ARG_JSON:
                        if (!optarg) {
                                arg_json = json_mode_auto();
                                break;
                        }
                        arg_json = json_mode_from_string(optarg);
                        if (arg_json < 0)
                                return -usage_error("--json takes short, pretty or off, not '%s'.", optarg);
                        break;
                case 'j':
                        arg_json = json_mode_auto();
                        break;
                case 'w':
                        arg_wait = true;
                        break;
                case ARG_MIGRATE_URI:
                        arg_migrate_uri = optarg;
                        break;
                case ARG_BOND:
                        arg_bond = optarg;
                        break;
                case ARG_VF:
                        arg_vf = optarg;
                        break;
                case ARG_CONCURRENCY:
                        if (evac_parse_concurrency(optarg, &arg_concurrency) < 0)
                                return -usage_error("--concurrency takes a number of jobs from 1 to %u, not '%s'.",
                                                    EVAC_CONCURRENCY_MAX, optarg);
                        arg_concurrency_set = true;
                        break;
                case ':':
                        return -usage_error("option '%s' needs a value.", argv[optind - 1]);
                case '?':
                        if (optopt)
                                return -usage_error("unknown option '-%c'.", optopt);
                        return -usage_error("unknown option '%s'.", argv[optind - 1]);
                default:
                        return -usage_error("cannot parse the options.");
                }

        if (arg_user && arg_host)
                return -usage_error("--user and --host exclude each other: srvmd runs on a system bus.");
        return 1;
}

static int open_bus(sd_bus **ret) {
        if (arg_host)
                return sd_bus_open_system_remote(ret, arg_host);
        return arg_user ? sd_bus_open_user(ret) : sd_bus_open_system(ret);
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *v;
        const char *verb;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return -r;

        if (optind >= argc)
                return usage_error("no command given.");
        verb = argv[optind];

        v = verb_find(verb);
        if (!v)
                return usage_error("unknown command '%s'.", verb);

        if (streq(verb, "evacuate")) {
                if (arg_wait || arg_vf)
                        return usage_error("evacuate always waits and finds each domain's VF; --wait and --vf apply to migrate and check only.");
        } else if (!v->takes_job_options && (arg_wait || arg_migrate_uri || arg_bond || arg_vf))
                return usage_error("--wait, --migrate-uri, --bond and --vf apply to migrate and check only (--migrate-uri and --bond to evacuate too).");
        if (arg_concurrency_set && !streq(verb, "evacuate"))
                return usage_error("--concurrency applies to evacuate only.");
        if (streq(verb, "check") && arg_wait)
                return usage_error("check always waits; --wait applies to migrate only.");
        if (!v->reads && arg_json)
                return usage_error("--json does not apply to %s.", verb);

        if (v->check) {
                r = v->check(argc - optind, argv + optind);
                if (r != 0)
                        return r;
        }

        /* help and checking policy files are local: no bus. */
        if (streq(verb, "help") || (streq(verb, "policy") && streq(argv[optind + 1], "check")))
                return v->run(NULL, argc - optind, argv + optind);

        r = open_bus(&bus);
        if (r < 0) {
                if (streq(verb, "version")) {
                        if (arg_json) {
                                _cleanup_(json_object_putp) json_object *j = json_object_new_object();

                                if (j && json_add(j, "srvmctl", json_object_new_string(SRVM_VERSION)) >= 0 &&
                                    json_object_object_add(j, "srvmd", NULL) >= 0)
                                        print_json_object(j);
                        } else
                                printf("srvmctl %s\n", SRVM_VERSION);
                }
                return fail(EXIT_UNREACHABLE, "cannot reach srvmd on %s (%s): cannot connect to the bus: %s",
                            bus_where(), SRVM_BUS_NAME, strerror(-r));
        }

        return v->run(bus, argc - optind, argv + optind);
}
