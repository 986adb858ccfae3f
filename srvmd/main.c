/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srvmd: the srvm host daemon. Parses the command line and hands over to the manager. The
 * backend linked in (virt.h) names the program and adds its own options: the same main()
 * makes srvmd (libvirt) and srvmd-sim (the simulated backend of the benchmarks). */
#include <assert.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "bus.h"
#include "bus-policy.h"
#include "log.h"
#include "manager.h"
#include "metrics-http.h"
#include "metrics-textfile.h"
#include "uri-check.h"
#include "virt.h"

/* Room for the backend's options next to the daemon's own. */
#define BACKEND_OPTIONS_MAX 16

static void help(void) {
        printf("Usage: %s [OPTIONS]\n"
               "\n"
               "%s"
               "Controlled over D-Bus (%s) with srvmctl.\n"
               "\n"
               "Options:\n"
               "  -c, --connect=URI      libvirt URI of this host (default: qemu:///system)\n"
               "      --state-dir=DIR    where job state is kept (default: /var/lib/srvm)\n"
               "      --user             use the user bus instead of the system bus\n"
               "      --arrival-grace=SEC\n"
               "                         after a domain arrives by migration without its VF, wait\n"
               "                         SEC seconds for its coordinator, then plug it here\n"
               "                         (default: 120)\n"
               "      --max-migrations=N run at most N migrations at once, from 1 to %d; the\n"
               "                         others wait, queued (default: the default policy's\n"
               "                         host.max_migrations, else %d)\n"
               "      --admin-group=NAME members of NAME may start, check and cancel migrations\n"
               "                         and reload policies, besides root (default: " SRVM_ADMIN_GROUP ")\n"
               "      --policy-dir=DIR   read policies from DIR only (default: /etc/srvm/policies.d,\n"
               "                         then " SRVM_POLICY_DATA_DIR ")\n"
               "      --metrics-listen=ADDR:PORT\n"
               "                         serve Prometheus metrics on ADDR:PORT, [ADDR6]:PORT or\n"
               "                         PORT (default: 127.0.0.1:9709), path /metrics\n"
               "      --no-metrics       serve no metrics\n"
               "      --metrics-textfile=PATH\n"
               "                         also write the metrics to PATH (absolute, *.prom) for\n"
               "                         node_exporter's textfile collector, every 15 s and at the\n"
               "                         end of each job, atomically (PATH.tmp, renamed)\n"
               "      --allow-uri-driver=NAME[,NAME...]\n"
               "      --allow-uri-transport=NAME[,NAME...]\n"
               "      --allow-uri-param=NAME[,NAME...]\n"
               "      --allow-uri-migrate-scheme=NAME[,NAME...]\n"
               "                         what a destination or migrate URI may use; the first use\n"
               "                         of each replaces its default (driver qemu; transports\n"
               "                         tls, tcp, ssh, libssh2; no parameter; migrate scheme tcp)\n"
               "%s"
               "  -v, --verbose          log debug messages too\n"
               "  -h, --help             show this help and exit\n"
               "      --version          show the version and exit\n",
               virt_command_line.program, virt_command_line.about, SRVM_BUS_NAME,
               MANAGER_MAX_MIGRATIONS_MAX, MANAGER_MAX_MIGRATIONS_DEFAULT,
               virt_command_line.options_help);
}

int main(int argc, char *argv[]) {
        enum { ARG_STATE_DIR = 0x100, ARG_USER, ARG_POLICY_DIR, ARG_ARRIVAL_GRACE, ARG_ADMIN_GROUP, ARG_METRICS_LISTEN, ARG_NO_METRICS, ARG_METRICS_TEXTFILE, ARG_VERSION,
               ARG_MAX_MIGRATIONS,
               ARG_ALLOW_URI = 0x180, /* + UriList */
               ARG_BACKEND = 0x200 };
        static const struct option options[] = {
                { "connect", required_argument, NULL, 'c' },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "user", no_argument, NULL, ARG_USER },
                { "policy-dir", required_argument, NULL, ARG_POLICY_DIR },
                { "arrival-grace", required_argument, NULL, ARG_ARRIVAL_GRACE },
                { "admin-group", required_argument, NULL, ARG_ADMIN_GROUP },
                { "max-migrations", required_argument, NULL, ARG_MAX_MIGRATIONS },
                { "metrics-listen", required_argument, NULL, ARG_METRICS_LISTEN },
                { "no-metrics", no_argument, NULL, ARG_NO_METRICS },
                { "metrics-textfile", required_argument, NULL, ARG_METRICS_TEXTFILE },
                { "allow-uri-driver", required_argument, NULL, ARG_ALLOW_URI + URI_LIST_DRIVER },
                { "allow-uri-transport", required_argument, NULL, ARG_ALLOW_URI + URI_LIST_TRANSPORT },
                { "allow-uri-param", required_argument, NULL, ARG_ALLOW_URI + URI_LIST_PARAM },
                { "allow-uri-migrate-scheme", required_argument, NULL, ARG_ALLOW_URI + URI_LIST_MIGRATE_SCHEME },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        struct option all[ELEMENTSOF(options) + BACKEND_OPTIONS_MAX] = {};
        const char *program = virt_command_line.program;
        size_t n = ELEMENTSOF(options) - 1;
        _cleanup_(manager_freep) Manager *mgr = NULL;
        _cleanup_(uri_rules_freep) UriRules *uri_rules = NULL;
        ManagerConfig config = {};
        _cleanup_free_ char *metrics_address = NULL;
        const char *admin_group = NULL;
        int c, r;

        memcpy(all, options, n * sizeof(struct option));
        for (size_t i = 0; virt_command_line.options[i].name; i++) {
                assert(i < BACKEND_OPTIONS_MAX);
                all[n] = virt_command_line.options[i];
                all[n].flag = NULL;
                all[n++].val = ARG_BACKEND + (int) i;
        }

        r = uri_rules_new(&uri_rules);
        if (r < 0) {
                fprintf(stderr, "%s: out of memory.\n", program);
                return EXIT_FAILURE;
        }

        while ((c = getopt_long(argc, argv, "c:vh", all, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config.local_uri = optarg;
                        break;
                case ARG_STATE_DIR:
                        config.state_dir = optarg;
                        break;
                case ARG_USER:
                        config.user_bus = true;
                        break;
                case ARG_POLICY_DIR:
                        config.policy_dir = optarg;
                        break;
                case ARG_ADMIN_GROUP:
                        if (optarg[0] == '\0' || strlen(optarg) > 32 || strpbrk(optarg, ": \t\n/")) {
                                fprintf(stderr, "%s: --admin-group=%s: expected a group name.\n", program, optarg);
                                return 2;
                        }
                        admin_group = optarg;
                        bus_set_admin_group(optarg);
                        break;
                case ARG_ARRIVAL_GRACE: {
                        char *end;
                        unsigned long s;

                        errno = 0;
                        s = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || s < 1 || s > 86400) {
                                fprintf(stderr, "%s: --arrival-grace=%s: expected whole seconds from 1 to 86400.\n",
                                        program, optarg);
                                return 2;
                        }
                        config.arrival_grace = s * USEC_PER_SEC;
                        break;
                }
                case ARG_MAX_MIGRATIONS: {
                        char *end;
                        unsigned long cap;

                        errno = 0;
                        cap = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-' || cap < 1 ||
                            cap > MANAGER_MAX_MIGRATIONS_MAX) {
                                fprintf(stderr, "%s: --max-migrations=%s: expected a whole number from 1 to %d.\n",
                                        program, optarg, MANAGER_MAX_MIGRATIONS_MAX);
                                return 2;
                        }
                        config.max_migrations = (unsigned) cap;
                        break;
                }
                case ARG_METRICS_LISTEN:
                        free(metrics_address);
                        metrics_address = NULL;
                        if (metrics_http_parse_listen(optarg, &metrics_address, &config.metrics_port) < 0) {
                                fprintf(stderr, "%s: --metrics-listen=%s: expected ADDR:PORT, [ADDR6]:PORT or PORT, "
                                        "with a numeric address and a port from 1 to 65535.\n", program, optarg);
                                return 2;
                        }
                        config.metrics_address = metrics_address;
                        break;
                case ARG_NO_METRICS:
                        config.no_metrics = true;
                        break;
                case ARG_METRICS_TEXTFILE:
                        if (!metrics_textfile_path_is_valid(optarg)) {
                                fprintf(stderr, "%s: --metrics-textfile=%s: expected an absolute path ending in .prom, "
                                        "as node_exporter's textfile collector reads.\n", program, optarg);
                                return 2;
                        }
                        config.metrics_textfile = optarg;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("%s %s\n", program, SRVM_VERSION);
                        return EXIT_SUCCESS;
                default:
                        if (c >= ARG_ALLOW_URI && c < ARG_ALLOW_URI + _URI_LIST_MAX) {
                                UriList l = (UriList) (c - ARG_ALLOW_URI);
                                const char *bad = optarg;
                                size_t bad_len = 0;

                                r = uri_rules_allow(uri_rules, l, optarg, &bad, &bad_len);
                                if (r == -ENOMEM) {
                                        fprintf(stderr, "%s: out of memory.\n", program);
                                        return EXIT_FAILURE;
                                }
                                if (r < 0) {
                                        fprintf(stderr, "%s: --allow-uri-%s=%s: '%.*s' is not %s.\n", program,
                                                uri_list_to_string(l), optarg, (int) bad_len, bad,
                                                l == URI_LIST_TRANSPORT ? "a libvirt transport (tls, tcp, ssh, libssh2, libssh, unix, ext)" :
                                                "a lowercase name of letters, digits and '_', at most 32 long");
                                        return 2;
                                }
                                break;
                        }
                        if (c >= ARG_BACKEND && c < ARG_BACKEND + BACKEND_OPTIONS_MAX) {
                                if (virt_command_line.parse_option(c - ARG_BACKEND, optarg) < 0)
                                        return 2;
                                break;
                        }
                        fprintf(stderr, "Try '%s --help'.\n", program);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s'. Try '%s --help'.\n", program, argv[optind], program);
                return 2;
        }

        /* Another group than the one the installed bus policy names would leave both groups
         * unable to do anything, without a word: say so now, unless a drop-in lets it in. (A
         * group that does not exist has no members to be confused; srvmd says so at start.) */
        if (admin_group && !streq(admin_group, SRVM_ADMIN_GROUP) && !config.user_bus && getgrnam(admin_group)) {
                r = bus_policy_allows_group(bus_policy_dirs_default, SRVM_BUS_NAME, admin_group, NULL);
                if (r < 0) {
                        fprintf(stderr, "%s: out of memory.\n", program);
                        return EXIT_FAILURE;
                }
                if (r == 0) {
                        fprintf(stderr, "%s: --admin-group=%s: no D-Bus policy in %s or %s lets group '%s' call %s "
                                "(the installed one names group '%s'); add a drop-in there that does, or leave the "
                                "option out.\n", program, admin_group, bus_policy_dirs_default[0],
                                bus_policy_dirs_default[1], admin_group, SRVM_BUS_NAME, SRVM_ADMIN_GROUP);
                        return EXIT_FAILURE;
                }
        }

        /* Under systemd, stderr is the journal: keep the levels. */
        log_set_prefix_priority(getenv("JOURNAL_STREAM") != NULL);

        bus_set_uri_rules(uri_rules);

        r = manager_new(&config, &mgr);
        if (r < 0) {
                log_error_errno(r, "Failed to allocate the manager: %m");
                return EXIT_FAILURE;
        }

        r = manager_startup(mgr);
        if (r < 0)
                return EXIT_FAILURE;

        r = manager_run(mgr);
        if (r >= 0 && manager_handed_over(mgr)) {
                /* Freeing the manager would wait for every action in flight (a migration call
                 * returns when libvirt is done): the jobs are the next srvmd's now. */
                fflush(stdout);
                fflush(stderr);
                _exit(EXIT_SUCCESS);
        }
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
