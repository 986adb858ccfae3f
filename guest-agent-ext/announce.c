/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The announce after a switch. The bonding driver sends its own gratuitous ARPs
 * (num_grat_arp) and unsolicited NAs (num_unsol_na), but from its MII monitor's next tick,
 * up to miimon later; the switch's forwarding table keeps pointing at the old port until
 * then. These go out at once, for the stacked devices' addresses too. */

#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>

#include <netlink/route/addr.h>

#include "announce.h"
#include "frame.h"
#include "link.h"

#define ANNOUNCE_DEVICES_MAX 64
#define ANNOUNCE_FRAMES_MAX 256

struct announce_frame {
        int ifindex;
        size_t len;
        uint8_t data[FRAME_NA_LEN];
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put);

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The bond, and every link whose lower link is the bond (a VLAN on it), with their MACs. */
static int announce_devices(struct nl_sock *nl, int bond_ifindex, int *ifindex,
                            struct hwaddr *mac, size_t *n) {
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        int r;

        r = link_list(nl, &cache);
        if (r < 0)
                return r;

        *n = 0;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *link = (struct rtnl_link *) o;
                int i = rtnl_link_get_ifindex(link);

                if (i != bond_ifindex && rtnl_link_get_link(link) != bond_ifindex)
                        continue;
                if (!(rtnl_link_get_flags(link) & IFF_UP))
                        continue;
                if (link_get_hwaddr(link, &mac[*n]) < 0)
                        continue;
                ifindex[(*n)++] = i;
                if (*n == ANNOUNCE_DEVICES_MAX)
                        break;
        }
        return 0;
}

static int device_index(const int *ifindex, size_t n, int i) {
        for (size_t k = 0; k < n; k++)
                if (ifindex[k] == i)
                        return (int) k;
        return -1;
}

int announce_send(struct nl_sock *nl, int bond_ifindex, const char *bond, unsigned count,
                  unsigned interval_ms, json_object *report) {
        _cleanup_(nl_cache_freep) struct nl_cache *addrs = NULL;
        _cleanup_free_ struct announce_frame *frames = NULL;
        _cleanup_close_ int fd = -EBADF;
        int ifindex[ANNOUNCE_DEVICES_MAX];
        struct hwaddr mac[ANNOUNCE_DEVICES_MAX];
        size_t n_dev = 0, n = 0;
        unsigned v4 = 0, v6 = 0, sent = 0, failed = 0;
        json_object *o;
        int r, error = 0;

        r = announce_devices(nl, bond_ifindex, ifindex, mac, &n_dev);
        if (r < 0)
                return r;
        r = rtnl_addr_alloc_cache(nl, &addrs);
        if (r < 0)
                return errno_from_nlerr(r);

        frames = calloc(ANNOUNCE_FRAMES_MAX, sizeof(*frames));
        if (!frames)
                return -ENOMEM;

        for (struct nl_object *ob = nl_cache_get_first(addrs); ob; ob = nl_cache_get_next(ob)) {
                struct rtnl_addr *a = (struct rtnl_addr *) ob;
                struct nl_addr *local = rtnl_addr_get_local(a);
                int d = device_index(ifindex, n_dev, rtnl_addr_get_ifindex(a));

                if (d < 0 || !local || n == ANNOUNCE_FRAMES_MAX)
                        continue;
                if (rtnl_addr_get_family(a) == AF_INET && nl_addr_get_len(local) == 4) {
                        struct in_addr in;

                        memcpy(&in, nl_addr_get_binary_addr(local), 4);
                        frame_build_garp(&mac[d], &in, frames[n].data);
                        frames[n].len = FRAME_ARP_LEN;
                        v4++;
                } else if (rtnl_addr_get_family(a) == AF_INET6 && nl_addr_get_len(local) == 16) {
                        struct in6_addr in6;

                        /* A tentative address is not ours yet: advertising it would
                         * defeat duplicate address detection. */
                        if (rtnl_addr_get_flags(a) & (IFA_F_TENTATIVE | IFA_F_DADFAILED))
                                continue;
                        memcpy(&in6, nl_addr_get_binary_addr(local), 16);
                        frame_build_na(&mac[d], &in6, frames[n].data);
                        frames[n].len = FRAME_NA_LEN;
                        v6++;
                } else
                        continue;
                frames[n].ifindex = ifindex[d];
                n++;
        }

        if (n > 0 && count > 0) {
                fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        error = -errno;
        }

        for (unsigned round = 0; fd >= 0 && round < count; round++) {
                if (round > 0)
                        sleep_ms(interval_ms);
                for (size_t i = 0; i < n; i++) {
                        struct sockaddr_ll ll = {
                                .sll_family = AF_PACKET,
                                .sll_ifindex = frames[i].ifindex,
                                .sll_halen = HWADDR_LEN,
                        };

                        memcpy(ll.sll_addr, frames[i].data, HWADDR_LEN);
                        if (sendto(fd, frames[i].data, frames[i].len, 0,
                                   (struct sockaddr *) &ll, sizeof(ll)) < 0) {
                                failed++;
                                if (error == 0)
                                        error = -errno;
                                continue;
                        }
                        sent++;
                }
        }

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (json_object_object_add(report, "announce", o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        if (json_object_object_add(o, "device", json_object_new_string(bond)) < 0 ||
            json_object_object_add(o, "ipv4", json_object_new_int((int) v4)) < 0 ||
            json_object_object_add(o, "ipv6", json_object_new_int((int) v6)) < 0 ||
            json_object_object_add(o, "rounds", json_object_new_int((int) count)) < 0 ||
            json_object_object_add(o, "frames", json_object_new_int((int) sent)) < 0 ||
            json_object_object_add(o, "failed", json_object_new_int((int) failed)) < 0 ||
            json_object_object_add(o, "error", error < 0 ? json_object_new_string(strerror(-error)) : NULL) < 0)
                return -ENOMEM;
        return error;
}
