/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srvm-hook: libvirt's qemu hook for srvm. libvirt runs it as
 * `qemu DOMAIN OPERATION SUB-OPERATION EXTRA` with the domain XML on stdin, and waits for it.
 * On `migrate begin` (on the destination) it looks for VF devices still in a domain srvm
 * manages and logs them (see filter_incoming for why it reports rather than removes them);
 * on the operations srvmd cares about it tells srvmd, without waiting on it. Whatever goes
 * wrong, it exits 0 with nothing printed: a bug here must never hold up or fail libvirt's work. It never calls
 * libvirt (libvirt is waiting on it: that would deadlock). See srvm-hook(8). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "hook-bus.h"
#include "hook-xml.h"
#include "policy.h"

/* A domain XML is a few KiB to a few hundred; anything near this is not one. */
#define HOOK_STDIN_MAX (16U * 1024U * 1024U)
/* What the bus may take of libvirt's time, and what the whole hook may. */
#define HOOK_BUS_TIMEOUT (500 * USEC_PER_MSEC)
#define HOOK_ALARM_SEC 10U

typedef enum HookOperation {
        HOOK_OP_PREPARE,
        HOOK_OP_START,
        HOOK_OP_STARTED,
        HOOK_OP_STOPPED,
        HOOK_OP_RELEASE,
        HOOK_OP_MIGRATE,
        HOOK_OP_RESTORE,
        HOOK_OP_RECONNECT,
        HOOK_OP_ATTACH,
        _HOOK_OP_MAX,
        _HOOK_OP_INVALID = -EINVAL,
} HookOperation;

static const char *const hook_operation_table[_HOOK_OP_MAX] = {
        [HOOK_OP_PREPARE] = "prepare",
        [HOOK_OP_START] = "start",
        [HOOK_OP_STARTED] = "started",
        [HOOK_OP_STOPPED] = "stopped",
        [HOOK_OP_RELEASE] = "release",
        [HOOK_OP_MIGRATE] = "migrate",
        [HOOK_OP_RESTORE] = "restore",
        [HOOK_OP_RECONNECT] = "reconnect",
        [HOOK_OP_ATTACH] = "attach",
};
static const char *hook_operation_to_string(HookOperation op) _unused_;
static HookOperation hook_operation_from_string(const char *s);
static DEFINE_STRING_TABLE_LOOKUP(hook_operation, HookOperation);

/* Which operations srvmd hears of. */
static bool hook_operation_notifies(HookOperation op) {
        switch (op) {
        case HOOK_OP_STARTED:
        case HOOK_OP_STOPPED:
        case HOOK_OP_RELEASE:
        case HOOK_OP_MIGRATE:
        case HOOK_OP_RECONNECT:
                return true;
        case HOOK_OP_PREPARE:
        case HOOK_OP_START:
        case HOOK_OP_RESTORE:
        case HOOK_OP_ATTACH:
        case _HOOK_OP_MAX:
        case _HOOK_OP_INVALID:
                return false;
        }
        return false;
}

/* To stderr, which libvirt keeps in its log, and to syslog. */
static _printf_(2, 3) void hook_log(int level, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        fputs("srvm-hook: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);

        va_start(ap, fmt);
        vsyslog(level, fmt, ap);
        va_end(ap);
}

static void on_alarm(int sig) {
        _exit(EXIT_SUCCESS);
}

/* All of stdin, NUL-terminated; -EFBIG past max. */
static int read_stdin(size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        for (;;) {
                if (allocated - size < 65536) {
                        size_t a = allocated ? allocated * 2 : 65536;
                        char *b;

                        if (a > max + 2)
                                a = max + 2;
                        if (a <= size + 1)
                                return -EFBIG;
                        b = realloc(buf, a);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated = a;
                }

                ssize_t n = read(STDIN_FILENO, buf + size, allocated - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max)
                        return -EFBIG;
        }

        buf[size] = '\0';
        *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int load_policies(PolicySet **ret) {
        const char *dir = getenv("SRVM_POLICY_DIR");
        const char *const dirs[] = { dir, NULL };
        _cleanup_free_ char *error = NULL;
        int r;

        r = policy_set_load(dir ? dirs : policy_dirs_default, ret, &error);
        if (r < 0)
                hook_log(LOG_WARNING,
                         "Failed to load the policies, deciding on the srvm plan alone: %s",
                         error ? error : strerror(-r));
        return r;
}

/* The XML is never printed back, only read: libvirt (9.0, and since 1.2.x) runs its ABI
 * stability check on the hook's XML against the incoming one and refuses the migration when
 * the count of interfaces or host devices differs ("Target domain net card count 1 does not
 * match source 2"); a PCI host device is refused even before the hook runs. Printing would
 * turn a VF that srvmd failed to unplug into a failed migration, so the hook logs what is
 * left and lets the XML through; srvmd unplugs on the source. */
static void filter_incoming(const char *domain) {
        _cleanup_(policy_set_freep) PolicySet *policies = NULL;
        _cleanup_free_ char *xml = NULL, *out = NULL, *removed = NULL;
        size_t size = 0;
        int r;

        r = read_stdin(HOOK_STDIN_MAX, &xml, &size);
        if (r == -EFBIG) {
                hook_log(LOG_WARNING, "%s: domain XML on stdin is larger than %u bytes, leaving it unchanged.",
                         domain, HOOK_STDIN_MAX);
                return;
        }
        if (r < 0) {
                hook_log(LOG_WARNING, "%s: failed to read the domain XML, leaving it unchanged: %s",
                         domain, strerror(-r));
                return;
        }
        if (size == 0 || strlen(xml) != size) {
                hook_log(LOG_WARNING, "%s: %s on stdin, leaving the domain XML unchanged.", domain,
                         size == 0 ? "nothing" : "a NUL byte");
                return;
        }

        (void) load_policies(&policies);

        r = hook_xml_filter_incoming(xml, policies, &out, &removed);
        if (r < 0) {
                hook_log(LOG_WARNING, "%s: cannot read the incoming domain XML, leaving it unchanged: %s",
                         domain, r == -EBADMSG ? "not a domain's XML" : strerror(-r));
                return;
        }
        switch ((HookXmlVerdict) r) {
        case HOOK_XML_UNMANAGED:
                return; /* not ours: say nothing, many domains pass here */
        case HOOK_XML_NO_VF:
                hook_log(LOG_INFO, "%s: incoming without a VF, nothing to remove.", domain);
                return;
        case HOOK_XML_REWRITTEN:
                break;
        case _HOOK_XML_VERDICT_MAX:
        case _HOOK_XML_VERDICT_INVALID:
                return;
        }

        hook_log(LOG_WARNING,
                 "%s: incoming with %s still present; leaving the XML unchanged, as libvirt refuses a changed device count. srvmd should have unplugged it on the source.",
                 domain, removed);
}

int main(int argc, char *argv[]) {
        HookOperation op;
        int r;

        openlog("srvm-hook", LOG_PID, LOG_DAEMON);
        (void) signal(SIGPIPE, SIG_IGN);
        (void) signal(SIGALRM, on_alarm);
        alarm(HOOK_ALARM_SEC);

        if (argc != 5) {
                hook_log(LOG_WARNING, "Called with %d arguments instead of 4 (DOMAIN OPERATION SUB-OPERATION EXTRA), doing nothing.",
                         argc - 1);
                return EXIT_SUCCESS;
        }

        const char *domain = argv[1], *operation = argv[2], *sub_operation = argv[3];

        op = hook_operation_from_string(operation);
        if (op < 0) {
                hook_log(LOG_INFO, "%s: unknown operation '%s', doing nothing.", domain, operation);
                return EXIT_SUCCESS;
        }

        if (op == HOOK_OP_MIGRATE && streq(sub_operation, "begin"))
                filter_incoming(domain);

        if (hook_operation_notifies(op)) {
                r = hook_bus_notify(domain, operation, sub_operation, HOOK_BUS_TIMEOUT);
                if (r < 0 && r != -ENOENT && r != -ECONNREFUSED)
                        hook_log(LOG_WARNING, "%s: failed to tell srvmd of %s %s: %s", domain,
                                 operation, sub_operation, strerror(-r));
        }

        return EXIT_SUCCESS;
}
