/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the announce frames of srvm-guest (guest-agent-ext/frame.c): a gratuitous
 * ARP and an unsolicited neighbour advertisement, checked byte by byte against RFC 5227 and
 * RFC 4861, and the ICMPv6 checksum. */

#include <arpa/inet.h>

#include "assert.h"
#include "frame.h"

static const struct hwaddr mac = { .bytes = { 0x52, 0x54, 0x00, 0x77, 0x00, 0x10 } };

static void test_garp(void) {
        static const uint8_t want[FRAME_ARP_LEN] = {
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* broadcast */
                0x52, 0x54, 0x00, 0x77, 0x00, 0x10,     /* from the bond's MAC */
                0x08, 0x06,                             /* ARP */
                0x00, 0x01, 0x08, 0x00, 6, 4,           /* Ethernet, IPv4 */
                0x00, 0x01,                             /* request */
                0x52, 0x54, 0x00, 0x77, 0x00, 0x10, 10, 77, 0, 10, /* sender */
                0, 0, 0, 0, 0, 0, 10, 77, 0, 10,        /* target: the same address */
        };
        uint8_t buf[FRAME_ARP_LEN];
        struct in_addr a;

        ASSERT_TRUE(inet_pton(AF_INET, "10.77.0.10", &a) == 1);
        memset(buf, 0xaa, sizeof(buf));
        frame_build_garp(&mac, &a, buf);
        ASSERT_TRUE(memcmp(buf, want, sizeof(want)) == 0);
}

static void test_na(void) {
        static const char *const addrs[] = {
                "fe80::5054:ff:fe77:10", "2001:db8::10", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "::1",
        };

        for (size_t i = 0; i < ELEMENTSOF(addrs); i++) {
                uint8_t buf[FRAME_NA_LEN];
                struct in6_addr a;
                const uint8_t *ip = buf + 14, *na = ip + 40;

                ASSERT_TRUE(inet_pton(AF_INET6, addrs[i], &a) == 1);
                memset(buf, 0xaa, sizeof(buf));
                frame_build_na(&mac, &a, buf);

                /* To all nodes, from the bond's MAC, IPv6. */
                ASSERT_TRUE(memcmp(buf, (const uint8_t[]) { 0x33, 0x33, 0, 0, 0, 1 }, 6) == 0);
                ASSERT_TRUE(memcmp(buf + 6, mac.bytes, 6) == 0);
                ASSERT_EQ_INT(buf[12], 0x86);
                ASSERT_EQ_INT(buf[13], 0xdd);

                ASSERT_EQ_INT(ip[0], 0x60);
                ASSERT_EQ_INT(ip[4] << 8 | ip[5], 32);  /* payload: NA 24 + option 8 */
                ASSERT_EQ_INT(ip[6], 58);               /* ICMPv6 */
                ASSERT_EQ_INT(ip[7], 255);              /* hop limit, else dropped */
                ASSERT_TRUE(memcmp(ip + 8, a.s6_addr, 16) == 0);
                ASSERT_EQ_INT(ip[24], 0xff);
                ASSERT_EQ_INT(ip[25], 0x02);
                ASSERT_EQ_INT(ip[39], 1);

                ASSERT_EQ_INT(na[0], 136);              /* neighbour advertisement */
                ASSERT_EQ_INT(na[1], 0);
                ASSERT_EQ_INT(na[4], 0x20);             /* Override, not Solicited/Router */
                ASSERT_TRUE(memcmp(na + 8, a.s6_addr, 16) == 0);
                ASSERT_EQ_INT(na[24], 2);               /* target link-layer address */
                ASSERT_EQ_INT(na[25], 1);
                ASSERT_TRUE(memcmp(na + 26, mac.bytes, 6) == 0);

                ASSERT_EQ_INT(frame_na_checksum_sum(buf), 0xffff);
                buf[FRAME_NA_LEN - 1] ^= 1;             /* a flipped bit shows */
                ASSERT_TRUE(frame_na_checksum_sum(buf) != 0xffff);
        }
}

/* The checksum against a hand computation over the pseudo-header and the message. */
static void test_na_checksum_value(void) {
        uint8_t buf[FRAME_NA_LEN];
        struct in6_addr a;
        uint32_t sum = 0;

        ASSERT_TRUE(inet_pton(AF_INET6, "2001:db8::10", &a) == 1);
        frame_build_na(&mac, &a, buf);

        /* source 2001:0db8::0010, destination ff02::1, length 32, next header 58,
         * type/code 0x8800, flags 0x2000, target 2001:0db8::0010, option 0x0201 and MAC. */
        sum += 0x2001 + 0x0db8 + 0x0010;
        sum += 0xff02 + 0x0001;
        sum += 32 + 58;
        sum += 0x8800 + 0x2000;
        sum += 0x2001 + 0x0db8 + 0x0010;
        sum += 0x0201 + 0x5254 + 0x0077 + 0x0010;
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        ASSERT_EQ_INT(buf[14 + 40 + 2] << 8 | buf[14 + 40 + 3], (uint16_t) ~sum);
}

int main(void) {
        test_garp();
        test_na();
        test_na_checksum_value();
        return 0;
}
