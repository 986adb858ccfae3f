/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading VFs from rtnetlink with libnl-route, and their PCI addresses from sysfs. See
 * vf-netlink.h. */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include <linux/if_link.h>
#include <netlink/netlink.h>
#include <netlink/route/link/sriov.h>

#include "vf-netlink.h"

static inline void nl_sock_freep(struct nl_sock **s) {
        if (*s)
                nl_socket_free(*s);
}

static inline void nl_cache_freep(struct nl_cache **c) {
        if (*c)
                nl_cache_free(*c);
}

static inline void rtnl_link_vf_putp(struct rtnl_link_vf **v) {
        if (*v)
                rtnl_link_vf_put(*v);
}

/* libnl's errors are its own small numbers; srvm speaks errno. */
static int errno_from_nl(int nlerr) {
        switch (abs(nlerr)) {
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_PERM:
                return -EPERM;
        case NLE_NOACCESS:
                return -EACCES;
        case NLE_OPNOTSUPP:
        case NLE_PROTO_MISMATCH:
                return -EOPNOTSUPP;
        case NLE_AGAIN:
                return -EAGAIN;
        case NLE_INTR:
                return -EINTR;
        default:
                return -EIO;
        }
}

static int mac_from_addr(struct nl_addr *a, char **ret) {
        char buf[64];
        char *s;

        if (!a || nl_addr_get_len(a) != 6) {
                *ret = NULL;
                return 0;
        }
        s = strdup(nl_addr2str(a, buf, sizeof(buf)));
        if (!s)
                return -ENOMEM;
        for (char *p = s; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        *ret = s;
        return 0;
}

static VfFlag flag_from(int r, uint32_t v) {
        if (r < 0)
                return _VF_FLAG_INVALID;
        return v ? VF_FLAG_ON : VF_FLAG_OFF;
}

static int vf_read(struct rtnl_link_vf *lv, Vf *ret) {
        _cleanup_(vf_done) Vf vf = {};
        struct nl_addr *addr = NULL;
        nl_vf_vlans_t *vlans = NULL;
        uint32_t v;
        int r;

        r = rtnl_link_vf_get_index(lv, &vf.index);
        if (r < 0)
                return -EBADMSG;
        if (rtnl_link_vf_get_addr(lv, &addr) >= 0) {
                r = mac_from_addr(addr, &vf.mac);
                if (r < 0)
                        return r;
        }
        /* The first VLAN is the one VST tags with; 802.1ad lists are rare for VFs. */
        if (rtnl_link_vf_get_vlans(lv, &vlans) >= 0 && vlans) {
                if (vlans->size > 0) {
                        vf.vlan = vlans->vlans[0].vf_vlan;
                        vf.qos = vlans->vlans[0].vf_vlan_qos;
                }
                rtnl_link_vf_vlan_put(vlans); /* the getter took a reference */
        }
        r = rtnl_link_vf_get_spoofchk(lv, &v);
        vf.spoof_check = flag_from(r, v);
        r = rtnl_link_vf_get_trust(lv, &v);
        vf.trust = flag_from(r, v);
        r = rtnl_link_vf_get_linkstate(lv, &v);
        vf.link_state = r < 0 || v >= _VF_LINK_STATE_MAX ? _VF_LINK_STATE_INVALID : (VfLinkState) v;

        *ret = vf;
        vf = (Vf) {};
        return 0;
}

/* The PF a link is, if it is one: 1 and *ret filled, or 0. */
static int pf_from_link(struct rtnl_link *link, bool sriov_capable, VfPf *ret) {
        _cleanup_(vf_pf_done) VfPf pf = {};
        uint32_t num_vf = 0;
        const char *name;
        int r;

        name = rtnl_link_get_name(link);
        if (!name)
                return -EBADMSG;
        if (rtnl_link_get_num_vf(link, &num_vf) < 0)
                num_vf = 0;
        if (num_vf == 0 && !sriov_capable)
                return 0;

        pf.ifname = strdup(name);
        if (!pf.ifname)
                return -ENOMEM;
        pf.ifindex = rtnl_link_get_ifindex(link);
        pf.num_vfs = num_vf;
        r = mac_from_addr(rtnl_link_get_addr(link), &pf.mac);
        if (r < 0)
                return r;

        /* Without RTEXT_FILTER_VF in the request the kernel sends the count but no list. */
        if (num_vf > 0 && rtnl_link_has_vf_list(link)) {
                pf.vfs = calloc(num_vf, sizeof(Vf));
                if (!pf.vfs)
                        return -ENOMEM;
                for (uint32_t i = 0; i < num_vf; i++) {
                        _cleanup_(rtnl_link_vf_putp) struct rtnl_link_vf *lv = rtnl_link_vf_get(link, i);

                        if (!lv)
                                continue; /* the list and the count disagree: keep what is there */
                        r = vf_read(lv, &pf.vfs[pf.n_vfs]);
                        if (r < 0)
                                return r;
                        pf.n_vfs++;
                }
        }

        *ret = pf;
        pf = (VfPf) {};
        return 1;
}

int vf_inventory_add_link(VfInventory *inv, struct rtnl_link *link, bool sriov_capable) {
        _cleanup_(vf_pf_done) VfPf pf = {};
        int r;

        if (!inv || !link)
                return -EINVAL;
        r = pf_from_link(link, sriov_capable, &pf);
        if (r <= 0)
                return r;
        r = vf_inventory_take_pf(inv, &pf);
        if (r < 0)
                return r;
        return 1;
}

/* The PCI address a sysfs device link points to: the last component of its target. */
static int read_pci_link(const char *path, char **ret) {
        char target[PATH_MAX];
        const char *base;
        ssize_t n;
        char *s;

        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        s = strdup(base);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static bool sysfs_sriov_capable(const char *sysfs, const char *ifname) {
        _cleanup_free_ char *path = NULL;
        unsigned long total = 0;
        FILE *f;

        if (asprintf(&path, "%s/class/net/%s/device/sriov_totalvfs", sysfs, ifname) < 0)
                return false;
        f = fopen(path, "re");
        if (!f)
                return false;
        if (fscanf(f, "%lu", &total) != 1)
                total = 0;
        fclose(f);
        return total > 0;
}

/* Best effort: an address that cannot be read stays unknown. */
static int pf_fill_pci(const char *sysfs, VfPf *pf) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/class/net/%s/device", sysfs, pf->ifname) < 0)
                return -ENOMEM;
        r = read_pci_link(path, &pf->pci_address);
        if (r == -ENOMEM)
                return r;

        for (size_t i = 0; i < pf->n_vfs; i++) {
                free(path);
                if (asprintf(&path, "%s/class/net/%s/device/virtfn%" PRIu32, sysfs, pf->ifname,
                             pf->vfs[i].index) < 0) {
                        path = NULL;
                        return -ENOMEM;
                }
                r = read_pci_link(path, &pf->vfs[i].pci_address);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

int vf_inventory_collect(const char *sysfs_root, VfInventory **ret) {
        _cleanup_(nl_sock_freep) struct nl_sock *sk = NULL;
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        _cleanup_(vf_inventory_freep) VfInventory *inv = NULL;
        const char *sysfs = sysfs_root ?: "/sys";
        int r;

        if (!ret)
                return -EINVAL;
        r = vf_inventory_new(&inv);
        if (r < 0)
                return r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return errno_from_nl(r);
        /* libnl's link cache asks the kernel with IFLA_EXT_MASK = RTEXT_FILTER_VF, so each
         * PF's reply carries IFLA_NUM_VF and IFLA_VFINFO_LIST. */
        r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
        if (r < 0)
                return errno_from_nl(r);

        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                _cleanup_(vf_pf_done) VfPf pf = {};
                struct rtnl_link *link = (struct rtnl_link *) o;
                const char *name = rtnl_link_get_name(link);

                r = pf_from_link(link, name && sysfs_sriov_capable(sysfs, name), &pf);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                r = pf_fill_pci(sysfs, &pf);
                if (r < 0)
                        return r;
                r = vf_inventory_take_pf(inv, &pf);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(inv);
        return 0;
}
