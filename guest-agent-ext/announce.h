/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tell the network where the guest's addresses are now: gratuitous ARPs and unsolicited
 * neighbour advertisements for every address of the bond and of the devices stacked on it,
 * sent through the bond (so out of its active slave) on AF_PACKET sockets. */
#pragma once

#include <json-c/json.h>
#include <netlink/socket.h>

/* count rounds, interval_ms apart, the first at once. Adds "announce": {"device", "ipv4", "ipv6",
 * "rounds", "frames", "failed", "error"} to report. Returns the first error, having sent
 * what it could. */
int announce_send(struct nl_sock *nl, int bond_ifindex, const char *bond, unsigned count,
                  unsigned interval_ms, json_object *report);
