/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a bond looks like at one moment, and its JSON form: the "status" srvm-guest prints
 * after every command, which srvmd reads to decide and to show. */
#pragma once

#include <json-c/json.h>

#include "json-util.h"
#include "parse.h"

/* What the device/driver link of a virtio-net NIC names. */
#define VIRTIO_NET_DRIVER "virtio_net"

struct slave_status {
        char *name;      /* owned */
        struct hwaddr mac; /* the permanent one (bonding_slave/perm_hwaddr) */
        bool have_mac;
        bool carrier;
        enum mii_status mii_status;
        char *driver;    /* owned; NULL when the slave has no device behind it */
        bool active;
};

struct bond_status {
        char *name;         /* owned */
        enum bond_mode mode;
        char *active_slave; /* owned; NULL when there is none */
        struct slave_status *slaves; /* owned, n_slaves of them */
        size_t n_slaves;
};

struct bond_status *bond_status_free(struct bond_status *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bond_status *, bond_status_free);

const struct slave_status *bond_status_find_slave(const struct bond_status *s,
                                                  const char *name);
const struct slave_status *bond_status_find_driver(const struct bond_status *s,
                                                   const char *driver);
int bond_status_pick_failover(const struct bond_status *s, const struct slave_status **ret);
int bond_status_to_json(const struct bond_status *s, json_object *obj);

