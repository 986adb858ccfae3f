/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Gratuitous ARP and unsolicited neighbour advertisement frames, byte by byte. */

#include <net/ethernet.h>
#include <net/if_arp.h>

#include "frame.h"

#define ETH_HLEN_ 14
#define IPV6_HLEN 40
#define NA_LEN 24
#define NA_OPT_LEN 8
#define ICMPV6_NA 136
#define ND_OPT_TARGET_LLADDR 2
#define NA_FLAG_OVERRIDE 0x20

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static void eth_header(uint8_t *p, const uint8_t dst[HWADDR_LEN], const struct hwaddr *src,
                       uint16_t type) {
        memcpy(p, dst, HWADDR_LEN);
        memcpy(p + 6, src->bytes, HWADDR_LEN);
        put16(p + 12, type);
}

void frame_build_garp(const struct hwaddr *mac, const struct in_addr *addr,
                      uint8_t buf[static FRAME_ARP_LEN]) {
        static const uint8_t broadcast[HWADDR_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        uint8_t *a = buf + ETH_HLEN_;

        memset(buf, 0, FRAME_ARP_LEN);
        eth_header(buf, broadcast, mac, ETHERTYPE_ARP);
        put16(a, ARPHRD_ETHER);
        put16(a + 2, ETHERTYPE_IP);
        a[4] = HWADDR_LEN;
        a[5] = 4;
        put16(a + 6, ARPOP_REQUEST);
        memcpy(a + 8, mac->bytes, HWADDR_LEN);  /* sender MAC */
        memcpy(a + 14, &addr->s_addr, 4);       /* sender IP */
        /* target MAC stays zero */
        memcpy(a + 24, &addr->s_addr, 4);       /* target IP: the same */
}

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n) {
        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (n & 1)
                sum += (uint32_t) (p[n - 1] << 8);
        return sum;
}

static uint16_t fold(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) sum;
}

/* Over the pseudo-header (source, destination, length, next header) and the message. */
static uint32_t na_sum(const uint8_t *buf) {
        const uint8_t *ip = buf + ETH_HLEN_;
        uint32_t sum = 0;

        sum = sum16(sum, ip + 8, 32);
        sum += NA_LEN + NA_OPT_LEN;
        sum += IPPROTO_ICMPV6;
        return sum16(sum, ip + IPV6_HLEN, NA_LEN + NA_OPT_LEN);
}

uint16_t frame_na_checksum_sum(const uint8_t buf[static FRAME_NA_LEN]) {
        return fold(na_sum(buf));
}

void frame_build_na(const struct hwaddr *mac, const struct in6_addr *addr,
                    uint8_t buf[static FRAME_NA_LEN]) {
        static const uint8_t all_nodes_mac[HWADDR_LEN] = { 0x33, 0x33, 0, 0, 0, 1 };
        static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
        uint8_t *ip = buf + ETH_HLEN_, *na = ip + IPV6_HLEN;

        memset(buf, 0, FRAME_NA_LEN);
        eth_header(buf, all_nodes_mac, mac, ETHERTYPE_IPV6);

        ip[0] = 0x60;                       /* version 6, no traffic class, no flow label */
        put16(ip + 4, NA_LEN + NA_OPT_LEN); /* payload length */
        ip[6] = IPPROTO_ICMPV6;
        ip[7] = 255;                        /* hop limit: receivers drop anything else */
        memcpy(ip + 8, addr->s6_addr, 16);
        memcpy(ip + 24, all_nodes, 16);

        na[0] = ICMPV6_NA;
        na[4] = NA_FLAG_OVERRIDE;
        memcpy(na + 8, addr->s6_addr, 16);  /* target */
        na[24] = ND_OPT_TARGET_LLADDR;
        na[25] = 1;                         /* in units of 8 bytes */
        memcpy(na + 26, mac->bytes, HWADDR_LEN);

        put16(na + 2, (uint16_t) ~fold(na_sum(buf)));
}
