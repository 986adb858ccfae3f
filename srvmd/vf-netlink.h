/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SR-IOV inventory read from the kernel: one RTM_GETLINK dump through libnl-route (with
 * the VF lists, IFLA_EXT_MASK RTEXT_FILTER_VF) and the PCI addresses from sysfs. The one
 * place srvm reads VFs from netlink; the tests feed it messages built with libnl. */
#pragma once

#include <stdbool.h>

#include <netlink/route/link.h>

#include "vf.h"

/* Add link to inv as a PF if the kernel reports VFs on it (IFLA_NUM_VF > 0), or if
 * sriov_capable (the caller knows it from sysfs) even without VFs. Returns 1 if added, 0 if
 * the link is no PF, a negative errno on failure. PCI addresses are left unknown. */
int vf_inventory_add_link(VfInventory *inv, struct rtnl_link *link, bool sriov_capable);

/* Dump every link of the host (of the caller's network namespace) and build the inventory,
 * with PCI addresses from sysfs_root (NULL: "/sys"). A host without SR-IOV gets an empty
 * inventory, not an error. Blocks for the dump: call it off the event loop, or accept a few
 * milliseconds (one netlink round trip). Does not log. */
int vf_inventory_collect(const char *sysfs_root, VfInventory **ret);
