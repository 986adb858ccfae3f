/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rtnetlink edge of srvm-guest, over libnl-route. Each call asks the kernel afresh:
 * the program polls links that are being hot-plugged, so a cached view would be stale. */

#include <net/if.h>
#include <net/if_arp.h>

#include <netlink/route/link/bonding.h>

#include "link.h"

/* libnl folds the kernel's errno into its own codes; give callers errnos back. */
int errno_from_nlerr(int nlerr) {
        switch (nlerr < 0 ? -nlerr : nlerr) {
        case NLE_SUCCESS:
                return 0;
        case NLE_INTR:
                return -EINTR;
        case NLE_BAD_SOCK:
                return -EBADF;
        case NLE_AGAIN:
                return -EAGAIN;
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_EXIST:
                return -EEXIST;
        case NLE_INVAL:
                return -EINVAL;
        case NLE_RANGE:
                return -ERANGE;
        case NLE_OPNOTSUPP:
                return -EOPNOTSUPP;
        case NLE_OBJ_NOTFOUND:
        case NLE_NODEV:
                return -ENODEV;
        case NLE_BUSY:
                return -EBUSY;
        case NLE_NOACCESS:
                return -EACCES;
        case NLE_PERM:
                return -EPERM;
        default:
                return -EIO;
        }
}

int link_socket_open(struct nl_sock **ret) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;

        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return errno_from_nlerr(r);

        *ret = TAKE_PTR(sk);
        return 0;
}

/* By index, or by name when ifindex is 0. -ENODEV when there is no such link. */
int link_get(struct nl_sock *sk, int ifindex, const char *name, struct rtnl_link **ret) {
        struct rtnl_link *link = NULL;
        int r;

        r = rtnl_link_get_kernel(sk, ifindex, ifindex > 0 ? NULL : name, &link);
        if (r < 0)
                return errno_from_nlerr(r);

        *ret = link;
        return 0;
}

int link_list(struct nl_sock *sk, struct nl_cache **ret) {
        struct nl_cache *cache = NULL;
        int r;

        r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
        if (r < 0)
                return errno_from_nlerr(r);

        *ret = cache;
        return 0;
}

int link_set_up(struct nl_sock *sk, int ifindex, bool up) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *orig = NULL, *change = NULL;
        int r;

        r = link_get(sk, ifindex, NULL, &orig);
        if (r < 0)
                return r;

        change = rtnl_link_alloc();
        if (!change)
                return -ENOMEM;

        if (up)
                rtnl_link_set_flags(change, IFF_UP);
        else
                rtnl_link_unset_flags(change, IFF_UP);

        r = rtnl_link_change(sk, orig, change, 0);
        if (r < 0)
                return errno_from_nlerr(r);
        return 0;
}

/* libnl checks afterwards that the kernel took the master; it answers -NLE_OPNOTSUPP when
 * it did not. */
int link_enslave(struct nl_sock *sk, int master_ifindex, int ifindex) {
        int r;

        r = rtnl_link_bond_enslave_ifindex(sk, master_ifindex, ifindex);
        if (r < 0)
                return errno_from_nlerr(r);
        return 0;
}

/* The link's current address, when it is an Ethernet one. */
int link_get_hwaddr(struct rtnl_link *link, struct hwaddr *ret) {
        struct nl_addr *a;

        if (rtnl_link_get_arptype(link) != ARPHRD_ETHER)
                return -ENODATA;

        a = rtnl_link_get_addr(link);
        if (!a || nl_addr_get_len(a) != HWADDR_LEN)
                return -ENODATA;

        memcpy(ret->bytes, nl_addr_get_binary_addr(a), HWADDR_LEN);
        return 0;
}

bool link_is_bond(struct rtnl_link *link) {
        return streq_ptr(rtnl_link_get_type(link), "bond");
}
