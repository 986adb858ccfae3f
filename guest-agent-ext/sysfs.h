/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading and writing the small files under /sys/class/net that libnl cannot reach: the
 * bonding driver's attributes and a device's driver. */
#pragma once

#include <stdbool.h>

int sysfs_read_net_attr(const char *ifname, const char *attr, char **ret);
int sysfs_write_net_attr(const char *ifname, const char *attr, const char *value);
int sysfs_read_net_driver(const char *ifname, char **ret);
bool sysfs_net_attr_exists(const char *ifname, const char *attr);
