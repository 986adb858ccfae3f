/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text srvm-guest reads or is given: its command line, MAC addresses, timeouts and the
 * formats of the bonding driver's sysfs files. Nothing here touches the system, so every rule
 * the program applies to its input is covered by the unit tests. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define HWADDR_LEN 6
#define HWADDR_STR_MAX (HWADDR_LEN * 3) /* "aa:bb:cc:dd:ee:ff" and its NUL */
#define IFNAME_MAX 16                   /* IFNAMSIZ, NUL included */
#define ARGS_ERROR_MAX 256

/* The longest --timeout accepted: a day, the longest phase budget a policy may give
 * (srvmd passes what is left of the budget). */
#define TIMEOUT_MAX_SEC 86400
#define TIMEOUT_MAX_USEC (TIMEOUT_MAX_SEC * USEC_PER_SEC)
#define TIMEOUT_DEFAULT_USEC (10 * USEC_PER_SEC)

struct hwaddr {
        uint8_t bytes[HWADDR_LEN];
};

int hwaddr_parse(const char *s, struct hwaddr *ret);
int hwaddr_parse_any(const char *s, struct hwaddr *ret);
const char *hwaddr_format(const struct hwaddr *a, char buf[static HWADDR_STR_MAX]);
bool hwaddr_equal(const struct hwaddr *a, const struct hwaddr *b);

bool ifname_valid(const char *s);

int timeout_parse(const char *s, usec_t *ret);
int uint_parse(const char *s, unsigned max, unsigned *ret);

/* Gratuitous ARPs / unsolicited neighbour advertisements sent after each switch: how many
 * of each, and how far apart. */
#define ANNOUNCE_COUNT_DEFAULT 3
#define ANNOUNCE_COUNT_MAX 100
#define ANNOUNCE_INTERVAL_MS_DEFAULT 20
#define ANNOUNCE_INTERVAL_MS_MAX 10000
#define HOLD_MS_MAX 60000

/* The bonding modes, named and numbered as the kernel's bonding/mode file shows them. */
enum bond_mode {
        BOND_MODE_BALANCE_RR,
        BOND_MODE_ACTIVE_BACKUP,
        BOND_MODE_BALANCE_XOR,
        BOND_MODE_BROADCAST,
        BOND_MODE_8023AD,
        BOND_MODE_BALANCE_TLB,
        BOND_MODE_BALANCE_ALB,
        _BOND_MODE_MAX,
        _BOND_MODE_INVALID = -EINVAL,
};

const char *bond_mode_to_string(enum bond_mode m);
enum bond_mode bond_mode_from_string(const char *s);

/* A slave's link as the bond's MII monitor sees it (bonding_slave/mii_status). */
enum mii_status {
        MII_STATUS_UP,
        MII_STATUS_GOING_DOWN,
        MII_STATUS_DOWN,
        MII_STATUS_GOING_BACK,
        _MII_STATUS_MAX,
        _MII_STATUS_INVALID = -EINVAL,
};

const char *mii_status_to_string(enum mii_status s);
enum mii_status mii_status_from_string(const char *s);

/* The bonding sysfs files, as read (trailing newline included). */
int sysfs_parse_bond_mode(const char *text, enum bond_mode *ret);
int sysfs_parse_mii_status(const char *text, enum mii_status *ret);
int sysfs_parse_ifname(const char *text, char **ret);
int sysfs_parse_ifnames(const char *text, char ***ret);
int sysfs_parse_hwaddr(const char *text, struct hwaddr *ret);

char **strv_free(char **l);
size_t strv_length(char *const *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

enum guest_command {
        GUEST_COMMAND_STATUS,
        GUEST_COMMAND_FAILOVER,
        GUEST_COMMAND_ENSLAVE,
        GUEST_COMMAND_FAILBACK,
        GUEST_COMMAND_VERIFY,
        GUEST_COMMAND_HOLD,
        GUEST_COMMAND_RELEASE,
        GUEST_COMMAND_HELP,
        GUEST_COMMAND_VERSION,
        _GUEST_COMMAND_MAX,
        _GUEST_COMMAND_INVALID = -EINVAL,
};

const char *guest_command_to_string(enum guest_command c);
enum guest_command guest_command_from_string(const char *s);

struct guest_args {
        enum guest_command command;
        const char *bond; /* points into argv */
        struct hwaddr mac;
        bool have_mac;
        usec_t timeout;
        unsigned announce_count;
        unsigned announce_interval_ms;
        unsigned hold_ms; /* verify: release the hold this long after the start; 0: no hold */
};

int args_parse(int argc, char *const *argv, struct guest_args *ret,
               char error[static ARGS_ERROR_MAX]);

/* The exit codes, part of the interface srvmd relies on (also listed by --help). */
enum guest_exit {
        GUEST_EXIT_SUCCESS = 0,   /* the operation was done and verified */
        GUEST_EXIT_FAILED = 1,    /* the operation failed or was refused */
        GUEST_EXIT_USAGE = 2,     /* bad command line */
        GUEST_EXIT_TIMEOUT = 3,   /* a wait ran out of time */
        GUEST_EXIT_NOT_FOUND = 4, /* the bond or the interface does not exist */
};

enum guest_exit guest_exit_from_errno(int r);
