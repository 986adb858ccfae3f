/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for srvm-guest's parsing (guest-agent-ext/parse.c): MAC addresses, interface
 * names, timeouts, the bonding sysfs formats, the command line and the exit codes. */

#include <stdio.h>

#include "assert.h"
#include "parse.h"

static void test_hwaddr(void) {
        static const struct {
                const char *in;
                int ret;
                const char *out;
        } cases[] = {
                { "52:54:00:12:34:56", 0, "52:54:00:12:34:56" },
                { "52:54:00:AB:cD:eF", 0, "52:54:00:ab:cd:ef" },
                { "02:00:00:00:00:01", 0, "02:00:00:00:00:01" },
                { "00:00:00:00:00:00", -EINVAL, NULL }, /* no NIC has it */
                { "01:00:5e:00:00:01", -EINVAL, NULL }, /* multicast */
                { "ff:ff:ff:ff:ff:ff", -EINVAL, NULL }, /* broadcast */
                { "52:54:00:12:34", -EINVAL, NULL },
                { "52:54:00:12:34:56:78", -EINVAL, NULL },
                { "52-54-00-12-34-56", -EINVAL, NULL },
                { "5254.0012.3456", -EINVAL, NULL },
                { "52:54:00:12:34:5g", -EINVAL, NULL },
                { "52:54:00:12:34:5", -EINVAL, NULL },
                { "2:54:00:12:34:56:", -EINVAL, NULL },
                { " 52:54:00:12:34:56", -EINVAL, NULL },
                { "52:54:00:12:34:56 ", -EINVAL, NULL },
                { "52:54:00:12:34:56\n", -EINVAL, NULL },
                { "", -EINVAL, NULL },
                { NULL, -EINVAL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct hwaddr a = { .bytes = { 0xaa } };
                char buf[HWADDR_STR_MAX];
                int r = hwaddr_parse(cases[i].in, &a);

                ASSERT_EQ_INT(r, cases[i].ret);
                if (r >= 0)
                        ASSERT_STREQ(hwaddr_format(&a, buf), cases[i].out);
                else
                        ASSERT_EQ_INT(a.bytes[0], 0xaa); /* untouched on failure */
        }

        struct hwaddr x, y, z;
        ASSERT_OK(hwaddr_parse("52:54:00:12:34:56", &x));
        ASSERT_OK(hwaddr_parse("52:54:00:12:34:56", &y));
        ASSERT_OK(hwaddr_parse("52:54:00:12:34:57", &z));
        ASSERT_TRUE(hwaddr_equal(&x, &y));
        ASSERT_TRUE(!hwaddr_equal(&x, &z));
}

static void test_ifname(void) {
        static const struct {
                const char *in;
                bool valid;
        } cases[] = {
                { "bond0", true },
                { "eth0", true },
                { "enp0s1f2v3", true },
                { "a", true },
                { "123456789012345", true }, /* 15: IFNAMSIZ - 1 */
                { "1234567890123456", false },
                { "", false },
                { ".", false },
                { "..", false },
                { "../../etc", false },
                { "bond0/bonding", false },
                { "bond 0", false },
                { "bond0\n", false },
                { "eth0:1", false },
                { NULL, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ASSERT_EQ_INT(ifname_valid(cases[i].in), cases[i].valid);
}

static void test_timeout(void) {
        static const struct {
                const char *in;
                int ret;
                usec_t usec;
        } cases[] = {
                { "10", 0, 10 * USEC_PER_SEC },
                { "0", 0, 0 },
                { "2.5", 0, 2500 * USEC_PER_MSEC },
                { "0.05", 0, 50 * USEC_PER_MSEC },
                { "0.000001", 0, 1 },
                { "3600", 0, 3600 * USEC_PER_SEC },
                { "86400", 0, 86400 * USEC_PER_SEC },
                { "86400.0", 0, 86400 * USEC_PER_SEC },
                { "9.5", 0, 9500 * USEC_PER_MSEC }, /* as srvmd formats it */
                { "007", 0, 7 * USEC_PER_SEC },
                { "86400.000001", -ERANGE, 0 },
                { "86401", -ERANGE, 0 },
                { "18446744073709", -ERANGE, 0 },
                { "99999999999999999999999", -ERANGE, 0 },
                { "0.0000001", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "+1", -EINVAL, 0 },
                { "1.", -EINVAL, 0 },
                { ".5", -EINVAL, 0 },
                { "1e3", -EINVAL, 0 },
                { "10s", -EINVAL, 0 },
                { " 10", -EINVAL, 0 },
                { "10 ", -EINVAL, 0 },
                { "1.2.3", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { NULL, -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                usec_t u = 42;
                int r = timeout_parse(cases[i].in, &u);

                ASSERT_EQ_INT(r, cases[i].ret);
                ASSERT_EQ_INT(u, r >= 0 ? cases[i].usec : 42);
        }
}

static void test_string_tables(void) {
        for (enum bond_mode m = 0; m < _BOND_MODE_MAX; m++)
                ASSERT_EQ_INT(bond_mode_from_string(bond_mode_to_string(m)), m);
        for (enum mii_status s = 0; s < _MII_STATUS_MAX; s++)
                ASSERT_EQ_INT(mii_status_from_string(mii_status_to_string(s)), s);
        for (enum guest_command c = 0; c < _GUEST_COMMAND_MAX; c++)
                ASSERT_EQ_INT(guest_command_from_string(guest_command_to_string(c)), c);

        ASSERT_NULL(bond_mode_to_string(_BOND_MODE_MAX));
        ASSERT_NULL(bond_mode_to_string(_BOND_MODE_INVALID));
        ASSERT_EQ_INT(bond_mode_from_string("active_backup"), _BOND_MODE_INVALID);
        ASSERT_EQ_INT(mii_status_from_string(NULL), _MII_STATUS_INVALID);
        ASSERT_EQ_INT(guest_command_from_string("Status"), _GUEST_COMMAND_INVALID);
}

static void test_sysfs_bond_mode(void) {
        static const struct {
                const char *in;
                int ret;
                enum bond_mode mode;
        } cases[] = {
                { "active-backup 1\n", 0, BOND_MODE_ACTIVE_BACKUP },
                { "balance-rr 0\n", 0, BOND_MODE_BALANCE_RR },
                { "802.3ad 4\n", 0, BOND_MODE_8023AD },
                { "balance-alb 6", 0, BOND_MODE_BALANCE_ALB },
                { "active-backup 2\n", -EINVAL, 0 }, /* name and number disagree */
                { "active-backup\n", -EINVAL, 0 },
                { "active-backup \n", -EINVAL, 0 },
                { "active-backup 1x\n", -EINVAL, 0 },
                { "1\n", -EINVAL, 0 },
                { "bogus 1\n", -EINVAL, 0 },
                { "active-backup 1\nbalance-rr 0\n", -EINVAL, 0 },
                { "", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                enum bond_mode m = _BOND_MODE_INVALID;
                int r = sysfs_parse_bond_mode(cases[i].in, &m);

                ASSERT_EQ_INT(r, cases[i].ret);
                ASSERT_EQ_INT(m, r >= 0 ? cases[i].mode : _BOND_MODE_INVALID);
        }
}

static void test_sysfs_mii_status(void) {
        static const struct {
                const char *in;
                int ret;
                enum mii_status status;
        } cases[] = {
                { "up\n", 0, MII_STATUS_UP },
                { "down\n", 0, MII_STATUS_DOWN },
                { "going down\n", 0, MII_STATUS_GOING_DOWN },
                { "going back\n", 0, MII_STATUS_GOING_BACK },
                { "up", 0, MII_STATUS_UP },
                { "UP\n", -EINVAL, 0 },
                { "up \n", -EINVAL, 0 },
                { "\n", -EINVAL, 0 },
                { "up\n\n", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                enum mii_status s = _MII_STATUS_INVALID;
                int r = sysfs_parse_mii_status(cases[i].in, &s);

                ASSERT_EQ_INT(r, cases[i].ret);
                ASSERT_EQ_INT(s, r >= 0 ? cases[i].status : _MII_STATUS_INVALID);
        }
}

static void test_sysfs_ifname(void) {
        static const struct {
                const char *in;
                int ret;
                const char *name;
        } cases[] = {
                { "eth1\n", 0, "eth1" },
                { "eth1", 0, "eth1" },
                { "\n", 0, NULL }, /* no active slave */
                { "", 0, NULL },
                { "eth1 eth0\n", -EINVAL, NULL },
                { "../x\n", -EINVAL, NULL },
                { "eth1\neth0\n", -EINVAL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *name = (char *) "untouched";
                int r = sysfs_parse_ifname(cases[i].in, &name);

                ASSERT_EQ_INT(r, cases[i].ret);
                if (r < 0)
                        ASSERT_STREQ(name, "untouched");
                else if (cases[i].name)
                        ASSERT_STREQ(name, cases[i].name);
                else
                        ASSERT_NULL(name);
                if (r >= 0)
                        free(name);
        }
}

static void test_sysfs_ifnames(void) {
        static const struct {
                const char *in;
                int ret;
                const char *names[4];
        } cases[] = {
                { "eth0 eth1\n", 0, { "eth0", "eth1" } },
                { "eth0\n", 0, { "eth0" } },
                { "\n", 0, { NULL } },
                { "", 0, { NULL } },
                { "eth0  eth1\n", 0, { "eth0", "eth1" } },
                { "eth0 eth1 enp1s0 ens2\n", 0, { "eth0", "eth1", "enp1s0", "ens2" } },
                { "eth0 ../x\n", -EINVAL, { NULL } },
                { "eth0\neth1\n", -EINVAL, { NULL } },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_strv_free_ char **l = NULL;
                size_t n = 0;
                int r = sysfs_parse_ifnames(cases[i].in, &l);

                ASSERT_EQ_INT(r, cases[i].ret);
                if (r < 0) {
                        ASSERT_NULL(l);
                        continue;
                }
                while (n < ELEMENTSOF(cases[i].names) && cases[i].names[n])
                        n++;
                ASSERT_EQ_INT(strv_length(l), n);
                for (size_t j = 0; j < n; j++)
                        ASSERT_STREQ(l[j], cases[i].names[j]);
        }
}

static void test_sysfs_hwaddr(void) {
        struct hwaddr a;
        char buf[HWADDR_STR_MAX];

        ASSERT_OK(sysfs_parse_hwaddr("52:54:00:aa:bb:cc\n", &a));
        ASSERT_STREQ(hwaddr_format(&a, buf), "52:54:00:aa:bb:cc");
        ASSERT_ERR(sysfs_parse_hwaddr("52:54:00:aa:bb\n", &a), EINVAL);
        ASSERT_ERR(sysfs_parse_hwaddr("\n", &a), EINVAL);
}

#define ARGV(...) ((char *const[]) { "srvm-guest", __VA_ARGS__, NULL })
#define ARGC(...) ((int) ELEMENTSOF(((char *const[]) { "srvm-guest", __VA_ARGS__ })))

static void test_uint(void) {
        static const struct {
                const char *in;
                unsigned max;
                int ret;
                unsigned out;
        } cases[] = {
                { "0", 10, 0, 0 },
                { "10", 10, 0, 10 },
                { "007", 10, 0, 7 },
                { "11", 10, -ERANGE, 0 },
                { "99999999999999999999999", 10, -ERANGE, 0 },
                { "", 10, -EINVAL, 0 },
                { "-1", 10, -EINVAL, 0 },
                { "+1", 10, -EINVAL, 0 },
                { " 1", 10, -EINVAL, 0 },
                { "1 ", 10, -EINVAL, 0 },
                { "1x", 10, -EINVAL, 0 },
                { NULL, 10, -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned v = 12345;
                int r = uint_parse(cases[i].in, cases[i].max, &v);

                ASSERT_EQ_INT(r, cases[i].ret);
                ASSERT_EQ_INT(v, r >= 0 ? cases[i].out : 12345);
        }
}

static void test_hwaddr_any(void) {
        struct hwaddr a;
        char buf[HWADDR_STR_MAX];

        /* What hwaddr_parse() refuses as a NIC's MAC is a fine multicast record. */
        ASSERT_OK(hwaddr_parse_any("01:00:5E:00:00:01", &a));
        ASSERT_STREQ(hwaddr_format(&a, buf), "01:00:5e:00:00:01");
        ASSERT_OK(hwaddr_parse_any("33:33:00:00:00:01", &a));
        ASSERT_OK(hwaddr_parse_any("00:00:00:00:00:00", &a));
        ASSERT_ERR(hwaddr_parse("33:33:00:00:00:01", &a), EINVAL);
        ASSERT_ERR(hwaddr_parse_any("33:33:00:00:00", &a), EINVAL);
        ASSERT_ERR(hwaddr_parse_any("33-33-00-00-00-01", &a), EINVAL);
        ASSERT_ERR(hwaddr_parse_any(NULL, &a), EINVAL);
}

static void test_args(void) {
        /* Not static: the argv arrays are compound literals. */
        const struct {
                int argc;
                char *const *argv;
                int ret;
                enum guest_command command;
                const char *bond;
                const char *mac;
                usec_t timeout;
                const char *error;
        } cases[] = {
#define OK(cmd, bond, mac, timeout, ...) \
        { ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), 0, cmd, bond, mac, timeout, NULL }
#define BAD(error, ...) \
        { ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), -EINVAL, 0, NULL, NULL, 0, error }
                OK(GUEST_COMMAND_STATUS, "bond0", NULL, TIMEOUT_DEFAULT_USEC,
                   "status", "--bond", "bond0"),
                OK(GUEST_COMMAND_STATUS, "bond0", NULL, TIMEOUT_DEFAULT_USEC,
                   "status", "--bond=bond0"),
                OK(GUEST_COMMAND_FAILOVER, "b", NULL, TIMEOUT_DEFAULT_USEC,
                   "failover", "--bond", "b"),
                OK(GUEST_COMMAND_ENSLAVE, "bond0", "52:54:00:00:00:02", TIMEOUT_DEFAULT_USEC,
                   "enslave", "--bond", "bond0", "--mac", "52:54:00:00:00:02"),
                OK(GUEST_COMMAND_FAILBACK, "bond0", "52:54:00:00:00:02", 2500 * USEC_PER_MSEC,
                   "failback", "--mac=52:54:00:00:00:02", "--timeout", "2.5", "--bond",
                   "bond0"),
                OK(GUEST_COMMAND_VERIFY, "bond0", "52:54:00:00:00:02", 3 * USEC_PER_SEC,
                   "verify", "--bond", "bond0", "--mac", "52:54:00:00:00:02", "--timeout", "3",
                   "--announce-count", "3", "--announce-interval-ms", "20"),
                OK(GUEST_COMMAND_HOLD, "bond0", NULL, TIMEOUT_DEFAULT_USEC, "hold", "--bond", "bond0"),
                OK(GUEST_COMMAND_RELEASE, "bond0", NULL, TIMEOUT_DEFAULT_USEC, "release", "--bond=bond0"),
                OK(GUEST_COMMAND_ENSLAVE, "bond0", "52:54:00:00:00:02", 0,
                   "enslave", "--bond", "bond0", "--mac", "52:54:00:00:00:02",
                   "--timeout=0"),
                OK(GUEST_COMMAND_HELP, NULL, NULL, TIMEOUT_DEFAULT_USEC, "--help"),
                OK(GUEST_COMMAND_HELP, NULL, NULL, TIMEOUT_DEFAULT_USEC, "-h"),
                OK(GUEST_COMMAND_HELP, NULL, NULL, TIMEOUT_DEFAULT_USEC, "status", "--help"),
                OK(GUEST_COMMAND_HELP, NULL, NULL, TIMEOUT_DEFAULT_USEC, "bogus", "--help"),
                OK(GUEST_COMMAND_VERSION, NULL, NULL, TIMEOUT_DEFAULT_USEC, "--version"),

                BAD("Unknown command 'bogus'; try --help.", "bogus"),
                BAD("Unknown command '--bond'; try --help.", "--bond", "bond0"),
                BAD("status needs --bond.", "status"),
                BAD("Option --bond needs a value.", "status", "--bond"),
                BAD("Option --bond needs a value.", "status", "--bond", "--mac"),
                BAD("Invalid bond name ''.", "status", "--bond="),
                BAD("Invalid bond name '../etc'.", "status", "--bond", "../etc"),
                BAD("Option --bond given twice.", "status", "--bond", "a", "--bond", "b"),
                BAD("Option --mac does not apply to status.", "status", "--bond", "b", "--mac",
                    "52:54:00:00:00:02"),
                BAD("Option --timeout does not apply to failover.", "failover", "--bond", "b",
                    "--timeout", "1"),
                BAD("Unknown option '--bnd'.", "status", "--bnd", "b"),
                BAD("Unknown option '--bnd'.", "status", "--bnd=b"),
                BAD("Unexpected argument 'extra'.", "status", "--bond", "b", "extra"),
                BAD("Unexpected argument '-b'.", "status", "-b", "bond0"),
                BAD("enslave needs --mac.", "enslave", "--bond", "b"),
                BAD("failback needs --bond.", "failback", "--mac", "52:54:00:00:00:02"),
                BAD("verify needs --mac.", "verify", "--bond", "b"),
                BAD("Option --hold-ms does not apply to failback.", "failback", "--bond", "b",
                    "--mac", "52:54:00:00:00:02", "--hold-ms", "1000"),
                BAD("Option --mac does not apply to hold.", "hold", "--bond", "b", "--mac",
                    "52:54:00:00:00:02"),
                BAD("Invalid hold '60001': expected milliseconds between 0 and 60000.", "verify",
                    "--bond", "b", "--mac", "52:54:00:00:00:02", "--hold-ms", "60001"),
                BAD("Invalid MAC address 'zz': expected six hex pairs separated by colons, "
                    "unicast and not all zeros.",
                    "enslave", "--bond", "b", "--mac", "zz"),
                BAD("Invalid timeout '-1': expected seconds between 0 and 86400, such as 10 or "
                    "2.5.",
                    "enslave", "--bond", "b", "--mac", "52:54:00:00:00:02", "--timeout", "-1"),
                BAD("Invalid timeout '10s': expected seconds between 0 and 86400, such as 10 or "
                    "2.5.",
                    "failback", "--bond", "b", "--mac", "52:54:00:00:00:02", "--timeout=10s"),
                BAD("--version takes no arguments.", "--version", "x"),
                BAD("Option --announce-count does not apply to status.", "status", "--bond", "b",
                    "--announce-count", "1"),
                BAD("Option --announce-count does not apply to enslave.", "enslave", "--bond",
                    "b", "--mac", "52:54:00:00:00:02", "--announce-count", "1"),
                BAD("Invalid announce count '101': expected a whole number between 0 and 100.",
                    "failover", "--bond", "b", "--announce-count", "101"),
                BAD("Invalid announce count '-1': expected a whole number between 0 and 100.",
                    "failover", "--bond", "b", "--announce-count=-1"),
                BAD("Invalid announce interval '2.5': expected milliseconds between 0 and "
                    "10000.",
                    "failover", "--bond", "b", "--announce-interval-ms", "2.5"),
#undef OK
#undef BAD
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct guest_args a = { .command = _GUEST_COMMAND_INVALID };
                char error[ARGS_ERROR_MAX] = "";
                char buf[HWADDR_STR_MAX];
                int r = args_parse(cases[i].argc, cases[i].argv, &a, error);

                ASSERT_EQ_INT(r, cases[i].ret);
                if (r < 0) {
                        ASSERT_STREQ(error, cases[i].error);
                        ASSERT_EQ_INT(a.command, _GUEST_COMMAND_INVALID);
                        continue;
                }
                ASSERT_EQ_INT(a.command, cases[i].command);
                if (a.command == GUEST_COMMAND_HELP || a.command == GUEST_COMMAND_VERSION)
                        continue;
                ASSERT_STREQ(a.bond, cases[i].bond);
                ASSERT_EQ_INT(a.have_mac, cases[i].mac != NULL);
                if (cases[i].mac)
                        ASSERT_STREQ(hwaddr_format(&a.mac, buf), cases[i].mac);
                ASSERT_EQ_INT(a.timeout, cases[i].timeout);
        }

        /* The announce options, and their defaults. */
        struct guest_args an;
        char err[ARGS_ERROR_MAX] = "";
        ASSERT_OK(args_parse(ARGC("failover", "--bond", "b"), ARGV("failover", "--bond", "b"),
                             &an, err));
        ASSERT_EQ_INT(an.announce_count, ANNOUNCE_COUNT_DEFAULT);
        ASSERT_EQ_INT(an.announce_interval_ms, ANNOUNCE_INTERVAL_MS_DEFAULT);
        ASSERT_OK(args_parse(ARGC("failback", "--bond", "b", "--mac", "52:54:00:00:00:02",
                                  "--announce-count", "0", "--announce-interval-ms=10000"),
                             ARGV("failback", "--bond", "b", "--mac", "52:54:00:00:00:02",
                                  "--announce-count", "0", "--announce-interval-ms=10000"),
                             &an, err));
        ASSERT_EQ_INT(an.announce_count, 0);
        ASSERT_EQ_INT(an.announce_interval_ms, 10000);
        ASSERT_EQ_INT(an.hold_ms, 0);
        ASSERT_OK(args_parse(ARGC("verify", "--bond", "b", "--mac", "52:54:00:00:00:02", "--hold-ms", "1000"),
                             ARGV("verify", "--bond", "b", "--mac", "52:54:00:00:00:02", "--hold-ms", "1000"),
                             &an, err));
        ASSERT_EQ_INT(an.hold_ms, 1000);

        /* No arguments at all. */
        char error[ARGS_ERROR_MAX] = "";
        struct guest_args a;
        ASSERT_ERR(args_parse(1, ARGV(NULL), &a, error), EINVAL);
        ASSERT_STREQ(error, "No command given; try --help.");
}

static void test_exit_codes(void) {
        static const struct {
                int r;
                enum guest_exit exit;
        } cases[] = {
                { 0, GUEST_EXIT_SUCCESS },
                { 1, GUEST_EXIT_SUCCESS },
                { -ETIMEDOUT, GUEST_EXIT_TIMEOUT },
                { -ENODEV, GUEST_EXIT_NOT_FOUND },
                { -EINVAL, GUEST_EXIT_FAILED }, /* bonding's refusal, not a usage error */
                { -ENETDOWN, GUEST_EXIT_FAILED },
                { -EIO, GUEST_EXIT_FAILED },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ASSERT_EQ_INT(guest_exit_from_errno(cases[i].r), cases[i].exit);

        /* The numbers are an interface: srvmd and the --help text rely on them. */
        ASSERT_EQ_INT(GUEST_EXIT_FAILED, 1);
        ASSERT_EQ_INT(GUEST_EXIT_USAGE, 2);
        ASSERT_EQ_INT(GUEST_EXIT_TIMEOUT, 3);
        ASSERT_EQ_INT(GUEST_EXIT_NOT_FOUND, 4);
}

int main(void) {
        test_hwaddr();
        test_ifname();
        test_timeout();
        test_string_tables();
        test_sysfs_bond_mode();
        test_sysfs_mii_status();
        test_sysfs_ifname();
        test_sysfs_ifnames();
        test_sysfs_hwaddr();
        test_uint();
        test_hwaddr_any();
        test_args();
        test_exit_codes();
        return 0;
}
