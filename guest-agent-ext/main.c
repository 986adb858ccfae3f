/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srvm-guest: the program srvmd runs inside a guest through qemu-guest-agent's guest-exec
 * to move the guest's active-backup bond between its VF and its virtio-net standby. One
 * command per run, one JSON object on stdout, and an exit code the daemon acts on:
 *
 *   0  success: the operation was done and verified
 *   1  the operation failed or was refused (the JSON "error" says why)
 *   2  usage error (bad command line)
 *   3  a wait ran out of time (--timeout)
 *   4  the bond or the interface does not exist
 *
 * The guest it runs in is minimal (a busybox initramfs, no udev), so the program is linked
 * statically and needs nothing but rtnetlink and sysfs. */

#include <stdio.h>
#include <unistd.h>

#include "bond.h"
#include "config.h"
#include "parse.h"
#include "status.h"

static void help(void) {
        printf("srvm-guest COMMAND [OPTIONS]\n"
               "\n"
               "Switch the guest's active-backup bond between its VF and its virtio-net NIC.\n"
               "\n"
               "Commands:\n"
               "  status   --bond B                  Show the bond and its slaves\n"
               "  failover --bond B [ANNOUNCE]       Make the virtio-net slave active, announce,\n"
               "                                     record the VF's configuration\n"
               "  enslave  --bond B --mac MAC [--timeout S]\n"
               "                                     Wait for the NIC with MAC, replay the\n"
               "                                     recorded configuration, enslave it,\n"
               "                                     wait for its link\n"
               "  failback --bond B --mac MAC [--timeout S] [ANNOUNCE]\n"
               "                                     Enslave if needed, make it active,\n"
               "                                     announce, replay the rest\n"
               "  verify   --bond B --mac MAC [--timeout S] [ANNOUNCE] [--hold-ms MS]\n"
               "                                     After a migration that moved the NIC\n"
               "                                     with the guest: check that it is still\n"
               "                                     the active slave, wait for its link,\n"
               "                                     announce; switch nothing; then release\n"
               "                                     the hold MS ms after the start\n"
               "  hold     --bond B                  Before such a migration: every slave\n"
               "                                     delivers what it receives\n"
               "  release  --bond B                  Undo hold\n"
               "\n"
               "Options:\n"
               "  --bond B        The bond interface\n"
               "  --mac MAC       The NIC's permanent MAC (aa:bb:cc:dd:ee:ff)\n"
               "  --timeout S     Seconds to wait, decimals allowed (default 10)\n"
               "  --announce-count N        ANNOUNCE: gratuitous ARPs / unsolicited NAs\n"
               "                            per address after a switch (default 3, 0: none)\n"
               "  --announce-interval-ms MS ANNOUNCE: milliseconds between them (default 20)\n"
               "  -h --help       Show this help\n"
               "  --version       Show the version\n"
               "\n"
               "--mac matches an enslaved NIC by its permanent MAC. When the virtio-net NIC\n"
               "carries the same MAC, the other NIC is the one meant.\n"
               "\n"
               "The VF's configuration (MTU, offloads, rings, coalescing, multicast list,\n"
               "stacked devices) is recorded in /run/srvm/BOND.vf.json by failover and\n"
               "replayed from there by enslave and failback.\n"
               "\n"
               "Prints one JSON object with \"ok\" and \"error\", then the bond's status.\n"
               "\n"
               "Exit status:\n"
               "  0  success, verified\n"
               "  1  the operation failed or was refused\n"
               "  2  usage error\n"
               "  3  timed out\n"
               "  4  bond or interface not found\n");
}

static int json_add_ms(json_object *obj, const char *key, usec_t u) {
        char text[32];
        json_object *v;

        if (u == USEC_INFINITY)
                return json_object_object_add(obj, key, NULL) < 0 ? -ENOMEM : 0;

        /* Microsecond precision, printed as such rather than as a binary double. */
        snprintf(text, sizeof(text), "%llu.%03llu", u / USEC_PER_MSEC, u % USEC_PER_MSEC);
        v = json_object_new_double_s((double) u / (double) USEC_PER_MSEC, text);
        if (!v || json_object_object_add(obj, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_add_report(json_object *obj, const struct bond_report *rep) {
        _cleanup_(json_object_putp) json_object *t = NULL;
        int r;

        if (json_object_object_add(obj, "interface",
                                   rep->slave ? json_object_new_string(rep->slave) : NULL) < 0)
                return -ENOMEM;
        if (json_object_object_add(obj, "enslaved", json_object_new_boolean(rep->enslaved)) < 0)
                return -ENOMEM;
        if (json_object_object_add(obj, "attempts", json_object_new_int((int) rep->attempts)) < 0)
                return -ENOMEM;

        t = json_object_new_object();
        if (!t)
                return -ENOMEM;
        r = json_add_ms(t, "found", rep->found_usec);
        if (r < 0)
                return r;
        r = json_add_ms(t, "link_up", rep->link_usec);
        if (r < 0)
                return r;
        r = json_add_ms(t, "active", rep->active_usec);
        if (r < 0)
                return r;
        if (json_object_object_add(obj, "timings_ms", t) < 0)
                return -ENOMEM;
        TAKE_PTR(t);
        return 0;
}

static int print_result(const char *error, const struct bond_status *status,
                        const struct bond_report *report, const struct bond *b) {
        _cleanup_(json_object_putp) json_object *obj = NULL;
        int r;

        obj = json_object_new_object();
        if (!obj)
                return -ENOMEM;

        if (json_object_object_add(obj, "ok", json_object_new_boolean(!error)) < 0)
                return -ENOMEM;
        if (json_object_object_add(obj, "error", error ? json_object_new_string(error) : NULL) < 0)
                return -ENOMEM;

        if (status) {
                r = bond_status_to_json(status, obj);
                if (r < 0)
                        return r;
        }
        if (report) {
                r = json_add_report(obj, report);
                if (r < 0)
                        return r;
        }
        if (b) {
                json_object_object_foreach(bond_get_details(b), key, v)
                        if (json_object_object_add(obj, key, json_object_get(v)) < 0) {
                                json_object_put(v);
                                return -ENOMEM;
                        }
                r = json_add_ms(obj, "elapsed_ms", bond_elapsed(b));
                if (r < 0)
                        return r;
        }

        puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
        return fflush(stdout) == 0 ? 0 : -EIO;
}

static int run(const struct guest_args *args) {
        _cleanup_(bond_status_freep) struct bond_status *status = NULL;
        _cleanup_(bond_freep) struct bond *b = NULL;
        struct bond_report report;
        bool has_report = false, opened;
        const char *error;
        int r, q;

        bond_report_init(&report);

        r = bond_new(args->bond, &b);
        if (r < 0) {
                print_result("Out of memory.", NULL, NULL, NULL);
                return r;
        }

        bond_set_announce(b, args->announce_count, args->announce_interval_ms);
        r = bond_open(b);
        opened = r >= 0;
        if (opened)
                switch (args->command) {
                case GUEST_COMMAND_STATUS:
                        break;
                case GUEST_COMMAND_FAILOVER:
                        r = bond_failover(b);
                        break;
                case GUEST_COMMAND_ENSLAVE:
                        r = bond_enslave(b, &args->mac, args->timeout, &report);
                        has_report = true;
                        break;
                case GUEST_COMMAND_FAILBACK:
                        r = bond_failback(b, &args->mac, args->timeout, &report);
                        has_report = true;
                        break;
                case GUEST_COMMAND_VERIFY:
                        r = bond_verify(b, &args->mac, args->timeout, &report);
                        has_report = true;
                        if (args->hold_ms > 0) {
                                /* The hypervisor's own announces come in the first second
                                 * after the move; the hold lasts past them, whatever verify
                                 * found, so that it never outlives the move. */
                                usec_t until = (usec_t) args->hold_ms * USEC_PER_MSEC;

                                while (bond_elapsed(b) < until)
                                        (void) usleep((useconds_t) (until - bond_elapsed(b)));
                                q = bond_release(b);
                                if (q < 0 && r >= 0)
                                        r = q;
                        }
                        break;
                case GUEST_COMMAND_HOLD:
                        r = bond_hold(b);
                        break;
                case GUEST_COMMAND_RELEASE:
                        r = bond_release(b);
                        break;
                case GUEST_COMMAND_HELP:
                case GUEST_COMMAND_VERSION:
                case _GUEST_COMMAND_MAX:
                case _GUEST_COMMAND_INVALID:
                        r = -EINVAL;
                        break;
                }

        /* The status after the command, failed or not: what the daemon decides on next.
         * A bond that could not be opened has none. */
        if (opened) {
                q = bond_read_status(b, &status);
                if (q < 0 && r >= 0)
                        r = q;
        }

        error = bond_get_error(b);
        if (r < 0 && !error)
                error = strerror(-r);

        q = print_result(r < 0 ? error : NULL, status, has_report ? &report : NULL, b);
        bond_report_done(&report);
        if (q < 0 && r >= 0)
                r = q;
        return r;
}

int main(int argc, char *argv[]) {
        char error[ARGS_ERROR_MAX];
        struct guest_args args;
        int r;

        /* json-c seeds its default string hash from the kernel's random pool; in a guest
         * just booted, before the pool is ready, that read stalls for about a second under
         * TCG. The keys hashed here are our own, so the unseeded hash is as good. */
        json_global_set_string_hash(JSON_C_STR_HASH_PERLLIKE);

        r = args_parse(argc, argv, &args, error);
        if (r == -ENOMEM) {
                fputs("srvm-guest: Out of memory.\n", stderr);
                return GUEST_EXIT_FAILED;
        }
        if (r < 0) {
                fprintf(stderr, "srvm-guest: %s\n", error);
                print_result(error, NULL, NULL, NULL);
                return GUEST_EXIT_USAGE;
        }

        switch (args.command) {
        case GUEST_COMMAND_HELP:
                help();
                return GUEST_EXIT_SUCCESS;
        case GUEST_COMMAND_VERSION:
                /* The second line is what srvmd's preflight reads: see SRVM_GUEST_PROTOCOL. */
                printf("srvm-guest %s\nprotocol %d\n", SRVM_VERSION, SRVM_GUEST_PROTOCOL);
                return GUEST_EXIT_SUCCESS;
        case GUEST_COMMAND_STATUS:
        case GUEST_COMMAND_FAILOVER:
        case GUEST_COMMAND_ENSLAVE:
        case GUEST_COMMAND_FAILBACK:
        case GUEST_COMMAND_VERIFY:
        case GUEST_COMMAND_HOLD:
        case GUEST_COMMAND_RELEASE:
                break;
        case _GUEST_COMMAND_MAX:
        case _GUEST_COMMAND_INVALID:
                return GUEST_EXIT_USAGE;
        }

        return guest_exit_from_errno(run(&args));
}
