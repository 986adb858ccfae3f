/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ethtool ioctl edge. The ioctl interface rather than ethtool's netlink family: it is in
 * every kernel a guest may run, and libnl has no ethtool-netlink helpers; what it gives is
 * the same (features by name through the ETH_SS_FEATURES string set). */

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "ethtool.h"

_Static_assert(ETH_GSTRING_LEN == 32, "ETH_GSTRING_LEN changed");

static int ifreq_init(struct ifreq *ifr, const char *ifname, void *data) {
        if (!ifname_valid(ifname))
                return -EINVAL;
        *ifr = (struct ifreq) {};
        strncpy(ifr->ifr_name, ifname, IFNAMSIZ - 1);
        ifr->ifr_data = data;
        return 0;
}

static int ethtool_ioctl(int fd, const char *ifname, void *cmd) {
        struct ifreq ifr;
        int r;

        r = ifreq_init(&ifr, ifname, cmd);
        if (r < 0)
                return r;
        if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
                return -errno;
        return 0;
}

int ethtool_socket(void) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        return fd < 0 ? -errno : fd;
}

void ethtool_features_state_done(struct ethtool_features_state *s) {
        free(s->names);
        free(s->available);
        free(s->requested);
        free(s->active);
        free(s->never_changed);
        *s = (struct ethtool_features_state) {};
}

int ethtool_features_state_find(const struct ethtool_features_state *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (strncmp(s->names[i], name, ETH_GSTRING_LEN) == 0)
                        return (int) i;
        return -ENOENT;
}

bool ethtool_bit(const uint32_t *words, size_t i) {
        return words[i / 32] & (UINT32_C(1) << (i % 32));
}

int ethtool_get_features(int fd, const char *ifname, struct ethtool_features_state *ret) {
        _cleanup_free_ struct ethtool_sset_info *info = NULL;
        _cleanup_free_ struct ethtool_gstrings *strings = NULL;
        _cleanup_free_ struct ethtool_gfeatures *gf = NULL;
        struct ethtool_features_state s = {};
        size_t n, words;
        int r;

        info = calloc(1, sizeof(*info) + sizeof(uint32_t));
        if (!info)
                return -ENOMEM;
        info->cmd = ETHTOOL_GSSET_INFO;
        info->sset_mask = UINT64_C(1) << ETH_SS_FEATURES;
        r = ethtool_ioctl(fd, ifname, info);
        if (r < 0)
                return r;
        if (!(info->sset_mask & (UINT64_C(1) << ETH_SS_FEATURES)))
                return -EOPNOTSUPP;
        n = info->data[0];
        if (n == 0 || n > 4096)
                return -EBADMSG;
        words = (n + 31) / 32;

        strings = calloc(1, sizeof(*strings) + n * ETH_GSTRING_LEN);
        if (!strings)
                return -ENOMEM;
        strings->cmd = ETHTOOL_GSTRINGS;
        strings->string_set = ETH_SS_FEATURES;
        strings->len = (uint32_t) n;
        r = ethtool_ioctl(fd, ifname, strings);
        if (r < 0)
                return r;

        gf = calloc(1, sizeof(*gf) + words * sizeof(struct ethtool_get_features_block));
        if (!gf)
                return -ENOMEM;
        gf->cmd = ETHTOOL_GFEATURES;
        gf->size = (uint32_t) words;
        r = ethtool_ioctl(fd, ifname, gf);
        if (r < 0)
                return r;

        s.n = n;
        s.names = calloc(n, ETH_GSTRING_LEN);
        s.available = calloc(words, sizeof(uint32_t));
        s.requested = calloc(words, sizeof(uint32_t));
        s.active = calloc(words, sizeof(uint32_t));
        s.never_changed = calloc(words, sizeof(uint32_t));
        if (!s.names || !s.available || !s.requested || !s.active || !s.never_changed) {
                ethtool_features_state_done(&s);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                memcpy(s.names[i], strings->data + i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
                s.names[i][ETH_GSTRING_LEN - 1] = '\0';
        }
        for (size_t w = 0; w < words; w++) {
                s.available[w] = gf->features[w].available;
                s.requested[w] = gf->features[w].requested;
                s.active[w] = gf->features[w].active;
                s.never_changed[w] = gf->features[w].never_changed;
        }

        *ret = s;
        return 0;
}

int ethtool_set_features(int fd, const char *ifname, const struct ethtool_features_state *s,
                         const bool *change, const bool *on) {
        _cleanup_free_ struct ethtool_sfeatures *sf = NULL;
        size_t words = (s->n + 31) / 32;

        sf = calloc(1, sizeof(*sf) + words * sizeof(struct ethtool_set_features_block));
        if (!sf)
                return -ENOMEM;
        sf->cmd = ETHTOOL_SFEATURES;
        sf->size = (uint32_t) words;
        for (size_t i = 0; i < s->n; i++) {
                if (!change[i])
                        continue;
                sf->features[i / 32].valid |= UINT32_C(1) << (i % 32);
                if (on[i])
                        sf->features[i / 32].requested |= UINT32_C(1) << (i % 32);
        }

        /* A positive answer (ETHTOOL_F_WISH...) only says not all of it held; the caller
         * reads the features back to see which. */
        return ethtool_ioctl(fd, ifname, sf);
}

int ethtool_get_ring(int fd, const char *ifname, uint32_t ring[static _VF_RING_MAX],
                     uint32_t max[static _VF_RING_MAX]) {
        struct ethtool_ringparam rp = { .cmd = ETHTOOL_GRINGPARAM };
        int r;

        r = ethtool_ioctl(fd, ifname, &rp);
        if (r < 0)
                return r;
        ring[VF_RING_RX] = rp.rx_pending;
        ring[VF_RING_RX_MINI] = rp.rx_mini_pending;
        ring[VF_RING_RX_JUMBO] = rp.rx_jumbo_pending;
        ring[VF_RING_TX] = rp.tx_pending;
        max[VF_RING_RX] = rp.rx_max_pending;
        max[VF_RING_RX_MINI] = rp.rx_mini_max_pending;
        max[VF_RING_RX_JUMBO] = rp.rx_jumbo_max_pending;
        max[VF_RING_TX] = rp.tx_max_pending;
        return 0;
}

int ethtool_set_ring(int fd, const char *ifname, const uint32_t ring[static _VF_RING_MAX]) {
        struct ethtool_ringparam rp = { .cmd = ETHTOOL_GRINGPARAM };
        int r;

        r = ethtool_ioctl(fd, ifname, &rp);
        if (r < 0)
                return r;
        rp.cmd = ETHTOOL_SRINGPARAM;
        rp.rx_pending = ring[VF_RING_RX];
        rp.rx_mini_pending = ring[VF_RING_RX_MINI];
        rp.rx_jumbo_pending = ring[VF_RING_RX_JUMBO];
        rp.tx_pending = ring[VF_RING_TX];
        return ethtool_ioctl(fd, ifname, &rp);
}

/* struct ethtool_coalesce is cmd followed by the _VF_COALESCE_MAX u32 fields in the order
 * of enum vf_coalesce. */
_Static_assert(sizeof(struct ethtool_coalesce) == (1 + _VF_COALESCE_MAX) * sizeof(uint32_t),
               "struct ethtool_coalesce changed");

int ethtool_get_coalesce(int fd, const char *ifname,
                         uint32_t coalesce[static _VF_COALESCE_MAX]) {
        struct ethtool_coalesce ec = { .cmd = ETHTOOL_GCOALESCE };
        int r;

        r = ethtool_ioctl(fd, ifname, &ec);
        if (r < 0)
                return r;
        memcpy(coalesce, &ec.rx_coalesce_usecs, _VF_COALESCE_MAX * sizeof(uint32_t));
        return 0;
}

int ethtool_set_coalesce(int fd, const char *ifname,
                         const uint32_t coalesce[static _VF_COALESCE_MAX]) {
        struct ethtool_coalesce ec = { .cmd = ETHTOOL_SCOALESCE };

        memcpy(&ec.rx_coalesce_usecs, coalesce, _VF_COALESCE_MAX * sizeof(uint32_t));
        return ethtool_ioctl(fd, ifname, &ec);
}

int ethtool_get_mtu(int fd, const char *ifname, unsigned *ret) {
        struct ifreq ifr;
        int r;

        r = ifreq_init(&ifr, ifname, NULL);
        if (r < 0)
                return r;
        if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
                return -errno;
        *ret = (unsigned) ifr.ifr_mtu;
        return 0;
}

int ethtool_set_mtu(int fd, const char *ifname, unsigned mtu) {
        struct ifreq ifr;
        int r;

        r = ifreq_init(&ifr, ifname, NULL);
        if (r < 0)
                return r;
        ifr.ifr_mtu = (int) mtu;
        if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
                return -errno;
        return 0;
}

int ethtool_add_multicast(int fd, const char *ifname, const struct hwaddr *a) {
        struct ifreq ifr;
        int r;

        r = ifreq_init(&ifr, ifname, NULL);
        if (r < 0)
                return r;
        ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
        memcpy(ifr.ifr_hwaddr.sa_data, a->bytes, HWADDR_LEN);
        if (ioctl(fd, SIOCADDMULTI, &ifr) < 0)
                return -errno;
        return 0;
}
