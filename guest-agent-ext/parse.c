/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing and formatting for srvm-guest, kept free of I/O: the command line, MAC addresses,
 * timeouts and the bonding driver's sysfs text. The program feeds this the files it reads and
 * the arguments it gets; the unit tests feed it tables. */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

#include "parse.h"

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

/* Six pairs of hex digits separated by colons, either case; any address. */
int hwaddr_parse_any(const char *s, struct hwaddr *ret) {
        struct hwaddr a;

        if (!s || strlen(s) != HWADDR_STR_MAX - 1)
                return -EINVAL;

        for (size_t i = 0; i < HWADDR_LEN; i++) {
                const char *p = s + i * 3;
                int hi = hexval(p[0]), lo = hexval(p[1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                if (i < HWADDR_LEN - 1 && p[2] != ':')
                        return -EINVAL;
                a.bytes[i] = (uint8_t) (hi << 4 | lo);
        }

        *ret = a;
        return 0;
}

/* As hwaddr_parse_any(), but a MAC that no NIC can carry (all zeros, or a multicast
 * address) is refused: it can only be a typo. */
int hwaddr_parse(const char *s, struct hwaddr *ret) {
        struct hwaddr a;
        int r;

        r = hwaddr_parse_any(s, &a);
        if (r < 0)
                return r;

        if (a.bytes[0] & 0x01)
                return -EINVAL;
        if (!(a.bytes[0] | a.bytes[1] | a.bytes[2] | a.bytes[3] | a.bytes[4] | a.bytes[5]))
                return -EINVAL;

        *ret = a;
        return 0;
}

const char *hwaddr_format(const struct hwaddr *a, char buf[static HWADDR_STR_MAX]) {
        snprintf(buf, HWADDR_STR_MAX, "%02x:%02x:%02x:%02x:%02x:%02x", a->bytes[0],
                 a->bytes[1], a->bytes[2], a->bytes[3], a->bytes[4], a->bytes[5]);
        return buf;
}

bool hwaddr_equal(const struct hwaddr *a, const struct hwaddr *b) {
        return memcmp(a->bytes, b->bytes, HWADDR_LEN) == 0;
}

/* The kernel's rules (dev_valid_name()): the name also becomes a path under /sys/class/net,
 * so anything that could walk out of it is refused here. */
bool ifname_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n >= IFNAME_MAX)
                return false;
        if (streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (*p == '/' || *p == ':' || isspace((unsigned char) *p) ||
                    !isprint((unsigned char) *p))
                        return false;
        return true;
}

/* Seconds as a plain decimal ("10", "2.5", "0.05"), to the microsecond. No sign, no
 * exponent, no unit: a value the daemon computes from its phase budget and passes on. */
/* A decimal number from 0 to max, digits only: no sign, no spaces, no leading "+". */
int uint_parse(const char *s, unsigned max, unsigned *ret) {
        unsigned long long v = 0;
        const char *p = s;

        if (!s || !isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                v = v * 10 + (unsigned long long) (*p - '0');
                if (v > max)
                        return -ERANGE;
        }
        if (*p != '\0')
                return -EINVAL;

        *ret = (unsigned) v;
        return 0;
}

int timeout_parse(const char *s, usec_t *ret) {
        usec_t sec = 0, frac = 0, scale = USEC_PER_SEC;
        const char *p = s;

        if (!s || !isdigit((unsigned char) *p))
                return -EINVAL;

        for (; isdigit((unsigned char) *p); p++) {
                sec = sec * 10 + (usec_t) (*p - '0');
                if (sec > TIMEOUT_MAX_USEC / USEC_PER_SEC)
                        return -ERANGE;
        }

        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++) {
                        if (scale == 1)
                                return -EINVAL; /* finer than a microsecond */
                        scale /= 10;
                        frac += (usec_t) (*p - '0') * scale;
                }
        }

        if (*p != '\0')
                return -EINVAL;
        if (sec * USEC_PER_SEC + frac > TIMEOUT_MAX_USEC)
                return -ERANGE;

        *ret = sec * USEC_PER_SEC + frac;
        return 0;
}

static const char *const bond_mode_table[_BOND_MODE_MAX] = {
        [BOND_MODE_BALANCE_RR] = "balance-rr",
        [BOND_MODE_ACTIVE_BACKUP] = "active-backup",
        [BOND_MODE_BALANCE_XOR] = "balance-xor",
        [BOND_MODE_BROADCAST] = "broadcast",
        [BOND_MODE_8023AD] = "802.3ad",
        [BOND_MODE_BALANCE_TLB] = "balance-tlb",
        [BOND_MODE_BALANCE_ALB] = "balance-alb",
};

DEFINE_STRING_TABLE_LOOKUP(bond_mode, enum bond_mode);

/* The kernel's own words for a slave's link state (bond_slave_link_status()). */
static const char *const mii_status_table[_MII_STATUS_MAX] = {
        [MII_STATUS_UP] = "up",
        [MII_STATUS_GOING_DOWN] = "going down",
        [MII_STATUS_DOWN] = "down",
        [MII_STATUS_GOING_BACK] = "going back",
};

DEFINE_STRING_TABLE_LOOKUP(mii_status, enum mii_status);

/* A sysfs attribute holds one line; take it without its newline. Text past the first line
 * means we are not reading what we think we are. */
static int sysfs_strip_line(const char *text, char **ret) {
        const char *nl;
        size_t n;
        char *s;

        if (!text)
                return -EINVAL;
        nl = strchr(text, '\n');
        n = nl ? (size_t) (nl - text) : strlen(text);
        if (nl && nl[1] != '\0')
                return -EINVAL;

        s = strndup(text, n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* bonding/mode reads "active-backup 1": the name, then the number. Both must agree. */
int sysfs_parse_bond_mode(const char *text, enum bond_mode *ret) {
        _cleanup_free_ char *line = NULL;
        enum bond_mode m;
        char *space, *end;
        long n;
        int r;

        r = sysfs_strip_line(text, &line);
        if (r < 0)
                return r;

        space = strchr(line, ' ');
        if (!space)
                return -EINVAL;
        *space = '\0';

        m = bond_mode_from_string(line);
        if (m < 0)
                return -EINVAL;

        errno = 0;
        n = strtol(space + 1, &end, 10);
        if (errno != 0 || end == space + 1 || *end != '\0' || n != (long) m)
                return -EINVAL;

        *ret = m;
        return 0;
}

int sysfs_parse_mii_status(const char *text, enum mii_status *ret) {
        _cleanup_free_ char *line = NULL;
        enum mii_status s;
        int r;

        r = sysfs_strip_line(text, &line);
        if (r < 0)
                return r;

        s = mii_status_from_string(line);
        if (s < 0)
                return -EINVAL;

        *ret = s;
        return 0;
}

/* bonding/active_slave: one interface name, or an empty line when there is none, which is
 * returned as NULL. */
int sysfs_parse_ifname(const char *text, char **ret) {
        _cleanup_free_ char *line = NULL;
        int r;

        r = sysfs_strip_line(text, &line);
        if (r < 0)
                return r;

        if (line[0] == '\0') {
                *ret = NULL;
                return 0;
        }
        if (!ifname_valid(line))
                return -EINVAL;

        *ret = TAKE_PTR(line);
        return 0;
}

/* bonding/slaves: names separated by single spaces, in enslavement order, maybe none. */
int sysfs_parse_ifnames(const char *text, char ***ret) {
        _cleanup_free_ char *line = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        char *p, *save = NULL;
        int r;

        r = sysfs_strip_line(text, &line);
        if (r < 0)
                return r;

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (p = strtok_r(line, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
                char **grown;

                if (!ifname_valid(p))
                        return -EINVAL;

                grown = realloc(l, (n + 2) * sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                l = grown;
                l[n] = strdup(p);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

/* bonding_slave/perm_hwaddr: the slave's own MAC, which it no longer shows as its address
 * once enslaved (it then carries the bond's). */
int sysfs_parse_hwaddr(const char *text, struct hwaddr *ret) {
        _cleanup_free_ char *line = NULL;
        int r;

        r = sysfs_strip_line(text, &line);
        if (r < 0)
                return r;

        return hwaddr_parse(line, ret);
}

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

static const char *const guest_command_table[_GUEST_COMMAND_MAX] = {
        [GUEST_COMMAND_STATUS] = "status",
        [GUEST_COMMAND_FAILOVER] = "failover",
        [GUEST_COMMAND_ENSLAVE] = "enslave",
        [GUEST_COMMAND_FAILBACK] = "failback",
        [GUEST_COMMAND_VERIFY] = "verify",
        [GUEST_COMMAND_HOLD] = "hold",
        [GUEST_COMMAND_RELEASE] = "release",
        [GUEST_COMMAND_HELP] = "--help",
        [GUEST_COMMAND_VERSION] = "--version",
};

DEFINE_STRING_TABLE_LOOKUP(guest_command, enum guest_command);

enum guest_option {
        GUEST_OPTION_BOND,
        GUEST_OPTION_MAC,
        GUEST_OPTION_TIMEOUT,
        GUEST_OPTION_ANNOUNCE_COUNT,
        GUEST_OPTION_ANNOUNCE_INTERVAL,
        GUEST_OPTION_HOLD_MS,
        _GUEST_OPTION_MAX,
        _GUEST_OPTION_INVALID = -EINVAL,
};

static const char *const guest_option_table[_GUEST_OPTION_MAX] = {
        [GUEST_OPTION_BOND] = "--bond",
        [GUEST_OPTION_MAC] = "--mac",
        [GUEST_OPTION_TIMEOUT] = "--timeout",
        [GUEST_OPTION_ANNOUNCE_COUNT] = "--announce-count",
        [GUEST_OPTION_ANNOUNCE_INTERVAL] = "--announce-interval-ms",
        [GUEST_OPTION_HOLD_MS] = "--hold-ms",
};

static enum guest_option guest_option_from_string(const char *s) {
        return (enum guest_option) string_table_lookup(guest_option_table,
                                                       ELEMENTSOF(guest_option_table), s);
}

static bool command_takes_option(enum guest_command c, enum guest_option o) {
        switch (c) {
        case GUEST_COMMAND_STATUS:
        case GUEST_COMMAND_HOLD:
        case GUEST_COMMAND_RELEASE:
                return o == GUEST_OPTION_BOND;
        case GUEST_COMMAND_FAILOVER:
                return o == GUEST_OPTION_BOND || o == GUEST_OPTION_ANNOUNCE_COUNT ||
                       o == GUEST_OPTION_ANNOUNCE_INTERVAL;
        case GUEST_COMMAND_ENSLAVE:
                return o == GUEST_OPTION_BOND || o == GUEST_OPTION_MAC ||
                       o == GUEST_OPTION_TIMEOUT;
        case GUEST_COMMAND_FAILBACK:
                return o != GUEST_OPTION_HOLD_MS;
        case GUEST_COMMAND_VERIFY:
                return true;
        case GUEST_COMMAND_HELP:
        case GUEST_COMMAND_VERSION:
        case _GUEST_COMMAND_MAX:
        case _GUEST_COMMAND_INVALID:
                return false;
        }
        return false;
}

_printf_(2, 3)
static int args_error(char error[static ARGS_ERROR_MAX], const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(error, ARGS_ERROR_MAX, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* srvm-guest COMMAND [--bond B] [--mac MAC] [--timeout S], options as "--opt value" or
 * "--opt=value". Strict on purpose: the caller is a program, and a typo that is silently
 * ignored would change what a migration does. */
int args_parse(int argc, char *const *argv, struct guest_args *ret,
               char error[static ARGS_ERROR_MAX]) {
        struct guest_args a = {
                .timeout = TIMEOUT_DEFAULT_USEC,
                .announce_count = ANNOUNCE_COUNT_DEFAULT,
                .announce_interval_ms = ANNOUNCE_INTERVAL_MS_DEFAULT,
        };
        bool seen[_GUEST_OPTION_MAX] = {};
        const char *cmd;

        if (argc < 2 || !argv[1])
                return args_error(error, "No command given; try --help.");

        /* A value never starts with "--", so --help anywhere is a request for help. */
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        a.command = GUEST_COMMAND_HELP;
                        *ret = a;
                        return 0;
                }

        cmd = argv[1];
        a.command = guest_command_from_string(cmd);
        if (a.command < 0)
                return args_error(error, "Unknown command '%s'; try --help.", cmd);

        for (int i = 2; i < argc; i++) {
                _cleanup_free_ char *name = NULL;
                const char *arg = argv[i], *value, *eq;
                enum guest_option o;

                if (a.command == GUEST_COMMAND_VERSION)
                        return args_error(error, "%s takes no arguments.", cmd);
                if (strncmp(arg, "--", 2) != 0)
                        return args_error(error, "Unexpected argument '%s'.", arg);

                eq = strchr(arg, '=');
                name = eq ? strndup(arg, (size_t) (eq - arg)) : strdup(arg);
                if (!name)
                        return -ENOMEM;

                o = guest_option_from_string(name);
                if (o < 0)
                        return args_error(error, "Unknown option '%s'.", name);
                if (!command_takes_option(a.command, o))
                        return args_error(error, "Option %s does not apply to %s.", name,
                                          guest_command_to_string(a.command));
                if (seen[o])
                        return args_error(error, "Option %s given twice.", name);
                seen[o] = true;

                if (eq)
                        value = eq + 1;
                else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                        value = argv[++i];
                else
                        return args_error(error, "Option %s needs a value.", name);

                switch (o) {
                case GUEST_OPTION_BOND:
                        if (!ifname_valid(value))
                                return args_error(error, "Invalid bond name '%s'.", value);
                        a.bond = value;
                        break;
                case GUEST_OPTION_MAC:
                        if (hwaddr_parse(value, &a.mac) < 0)
                                return args_error(error,
                                                  "Invalid MAC address '%s': expected six hex "
                                                  "pairs separated by colons, unicast and not "
                                                  "all zeros.",
                                                  value);
                        a.have_mac = true;
                        break;
                case GUEST_OPTION_TIMEOUT:
                        if (timeout_parse(value, &a.timeout) < 0)
                                return args_error(error,
                                                  "Invalid timeout '%s': expected seconds "
                                                  "between 0 and %d, such as 10 or 2.5.",
                                                  value, TIMEOUT_MAX_SEC);
                        break;
                case GUEST_OPTION_ANNOUNCE_COUNT:
                        if (uint_parse(value, ANNOUNCE_COUNT_MAX, &a.announce_count) < 0)
                                return args_error(error,
                                                  "Invalid announce count '%s': expected a "
                                                  "whole number between 0 and %d.",
                                                  value, ANNOUNCE_COUNT_MAX);
                        break;
                case GUEST_OPTION_ANNOUNCE_INTERVAL:
                        if (uint_parse(value, ANNOUNCE_INTERVAL_MS_MAX,
                                       &a.announce_interval_ms) < 0)
                                return args_error(error,
                                                  "Invalid announce interval '%s': expected "
                                                  "milliseconds between 0 and %d.",
                                                  value, ANNOUNCE_INTERVAL_MS_MAX);
                        break;
                case GUEST_OPTION_HOLD_MS:
                        if (uint_parse(value, HOLD_MS_MAX, &a.hold_ms) < 0)
                                return args_error(error,
                                                  "Invalid hold '%s': expected milliseconds "
                                                  "between 0 and %d.",
                                                  value, HOLD_MS_MAX);
                        break;
                case _GUEST_OPTION_MAX:
                case _GUEST_OPTION_INVALID:
                        return -EINVAL;
                }
        }

        if (a.command != GUEST_COMMAND_HELP && a.command != GUEST_COMMAND_VERSION) {
                if (!a.bond)
                        return args_error(error, "%s needs --bond.",
                                          guest_command_to_string(a.command));
                if (command_takes_option(a.command, GUEST_OPTION_MAC) && !a.have_mac)
                        return args_error(error, "%s needs --mac.",
                                          guest_command_to_string(a.command));
        }

        *ret = a;
        return 0;
}

enum guest_exit guest_exit_from_errno(int r) {
        if (r >= 0)
                return GUEST_EXIT_SUCCESS;
        if (r == -ETIMEDOUT)
                return GUEST_EXIT_TIMEOUT;
        if (r == -ENODEV)
                return GUEST_EXIT_NOT_FOUND;
        return GUEST_EXIT_FAILED;
}
