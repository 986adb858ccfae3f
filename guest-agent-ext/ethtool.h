/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SIOCETHTOOL and SIOCxIF* ioctls srvm-guest needs to record and replay a VF's
 * configuration: offload features by name, ring sizes, interrupt coalescing, MTU, and the
 * link-level multicast list. Each call returns 0 or a negative errno (-EOPNOTSUPP when the
 * driver does not implement the command). */
#pragma once

#include <stdint.h>

#include "parse.h"
#include "vfconf.h"

struct ethtool_features_state {
        size_t n;            /* how many features the kernel knows */
        char (*names)[32];   /* owned: n names of ETH_GSTRING_LEN */
        uint32_t *available; /* owned: (n + 31) / 32 words each */
        uint32_t *requested;
        uint32_t *active;
        uint32_t *never_changed;
};

void ethtool_features_state_done(struct ethtool_features_state *s);
int ethtool_features_state_find(const struct ethtool_features_state *s, const char *name);
bool ethtool_bit(const uint32_t *words, size_t i);

int ethtool_socket(void);
int ethtool_get_features(int fd, const char *ifname, struct ethtool_features_state *ret);
/* Sets feature i to on for each i with change[i], the others untouched. */
int ethtool_set_features(int fd, const char *ifname, const struct ethtool_features_state *s,
                         const bool *change, const bool *on);
int ethtool_get_ring(int fd, const char *ifname, uint32_t ring[static _VF_RING_MAX],
                     uint32_t max[static _VF_RING_MAX]);
int ethtool_set_ring(int fd, const char *ifname, const uint32_t ring[static _VF_RING_MAX]);
int ethtool_get_coalesce(int fd, const char *ifname,
                         uint32_t coalesce[static _VF_COALESCE_MAX]);
int ethtool_set_coalesce(int fd, const char *ifname,
                         const uint32_t coalesce[static _VF_COALESCE_MAX]);
int ethtool_get_mtu(int fd, const char *ifname, unsigned *ret);
int ethtool_set_mtu(int fd, const char *ifname, unsigned mtu);
int ethtool_add_multicast(int fd, const char *ifname, const struct hwaddr *a);
