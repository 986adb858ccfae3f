/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VF's configuration as srvm-guest records it before the VF is unplugged and replays it
 * on the VF plugged after the move (the shadow-driver idea: the device goes, what the guest
 * asked of it stays). Plain data and its JSON form, the file /run/srvm/BOND.vf.json that
 * lives in guest memory and so travels with the migration. Nothing here touches the system:
 * replay.c reads and applies it. */
#pragma once

#include <stdint.h>

#include <json-c/json.h>

#include "parse.h"

#define VF_CONFIG_VERSION 1

/* Ring sizes (ETHTOOL_GRINGPARAM), in the order of struct ethtool_ringparam's *_pending. */
enum vf_ring {
        VF_RING_RX,
        VF_RING_RX_MINI,
        VF_RING_RX_JUMBO,
        VF_RING_TX,
        _VF_RING_MAX,
        _VF_RING_INVALID = -EINVAL,
};

/* Interrupt coalescing (ETHTOOL_GCOALESCE), in the order of struct ethtool_coalesce's
 * fields after cmd, named as `ethtool -C` names them. */
enum vf_coalesce {
        VF_COALESCE_RX_USECS,
        VF_COALESCE_RX_FRAMES,
        VF_COALESCE_RX_USECS_IRQ,
        VF_COALESCE_RX_FRAMES_IRQ,
        VF_COALESCE_TX_USECS,
        VF_COALESCE_TX_FRAMES,
        VF_COALESCE_TX_USECS_IRQ,
        VF_COALESCE_TX_FRAMES_IRQ,
        VF_COALESCE_STATS_BLOCK_USECS,
        VF_COALESCE_ADAPTIVE_RX,
        VF_COALESCE_ADAPTIVE_TX,
        VF_COALESCE_PKT_RATE_LOW,
        VF_COALESCE_RX_USECS_LOW,
        VF_COALESCE_RX_FRAMES_LOW,
        VF_COALESCE_TX_USECS_LOW,
        VF_COALESCE_TX_FRAMES_LOW,
        VF_COALESCE_PKT_RATE_HIGH,
        VF_COALESCE_RX_USECS_HIGH,
        VF_COALESCE_RX_FRAMES_HIGH,
        VF_COALESCE_TX_USECS_HIGH,
        VF_COALESCE_TX_FRAMES_HIGH,
        VF_COALESCE_SAMPLE_INTERVAL,
        _VF_COALESCE_MAX,
        _VF_COALESCE_INVALID = -EINVAL,
};

const char *vf_ring_to_string(enum vf_ring r);
enum vf_ring vf_ring_from_string(const char *s);
const char *vf_coalesce_to_string(enum vf_coalesce c);
enum vf_coalesce vf_coalesce_from_string(const char *s);

/* One offload feature the driver lets the user change, by its ethtool name, and whether the
 * user asked for it on. */
struct vf_feature {
        char *name; /* owned */
        bool on;
};

struct vf_config {
        char *interface;  /* owned: the VF's name when it was recorded */
        char *driver;     /* owned, may be NULL */
        unsigned mtu;
        struct vf_feature *features; /* owned, n_features of them */
        size_t n_features;
        bool have_ring;   /* the driver answered ETHTOOL_GRINGPARAM */
        uint32_t ring[_VF_RING_MAX];
        bool have_coalesce;
        uint32_t coalesce[_VF_COALESCE_MAX];
        struct hwaddr *multicast; /* owned: link-level multicast addresses, n_multicast */
        size_t n_multicast;
        char **stacked;   /* owned strv: devices stacked on the bond (VLANs, macvlans...) */
};

int vf_config_new(struct vf_config **ret);
struct vf_config *vf_config_free(struct vf_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vf_config *, vf_config_free);

int vf_config_add_feature(struct vf_config *c, const char *name, bool on);
const struct vf_feature *vf_config_find_feature(const struct vf_config *c, const char *name);
int vf_config_add_multicast(struct vf_config *c, const struct hwaddr *a);

int vf_config_to_json(const struct vf_config *c, json_object **ret);
/* -EBADMSG for JSON that is not a record of this version. */
int vf_config_from_json(json_object *o, struct vf_config **ret);

/* The multicast addresses of ifname in the text of /proc/net/dev_mcast, each once:
 * "index name users global address-in-hex" a line. */
int proc_parse_dev_mcast(const char *text, const char *ifname, struct hwaddr **ret,
                         size_t *ret_n);
