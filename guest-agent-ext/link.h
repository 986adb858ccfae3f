/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Links over rtnetlink (libnl-route): look one up, list them, bring one up or down, enslave
 * it to a bond. Thin on purpose: every decision is made by the caller. */
#pragma once

#include <stdbool.h>

#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "macro.h"
#include "parse.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free);

int errno_from_nlerr(int nlerr);

int link_socket_open(struct nl_sock **ret);
int link_get(struct nl_sock *sk, int ifindex, const char *name, struct rtnl_link **ret);
int link_list(struct nl_sock *sk, struct nl_cache **ret);
int link_set_up(struct nl_sock *sk, int ifindex, bool up);
int link_enslave(struct nl_sock *sk, int master_ifindex, int ifindex);
int link_get_hwaddr(struct rtnl_link *link, struct hwaddr *ret);
bool link_is_bond(struct rtnl_link *link);
