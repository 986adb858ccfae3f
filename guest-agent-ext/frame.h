/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The frames that tell the network where the guest's addresses went after a switch: a
 * gratuitous ARP per IPv4 address and an unsolicited neighbour advertisement per IPv6
 * address (RFC 5227 section 3, RFC 4861 section 7.2.6), built as whole Ethernet frames for
 * an AF_PACKET socket. Pure: announce.c sends them. */
#pragma once

#include <netinet/in.h>
#include <stdint.h>

#include "parse.h"

#define FRAME_ARP_LEN 42 /* Ethernet 14 + ARP 28; the driver pads to 60 */
#define FRAME_NA_LEN 86  /* Ethernet 14 + IPv6 40 + NA 24 + target link-layer option 8 */

/* An ARP request from and for addr, broadcast, the form bonding and the kernel use. */
void frame_build_garp(const struct hwaddr *mac, const struct in_addr *addr,
                      uint8_t buf[static FRAME_ARP_LEN]);

/* A neighbour advertisement for addr from addr to all nodes (ff02::1), Override set,
 * with the target link-layer address option. */
void frame_build_na(const struct hwaddr *mac, const struct in6_addr *addr,
                    uint8_t buf[static FRAME_NA_LEN]);

/* The ones' complement sum of the IPv6 pseudo-header and the ICMPv6 message of an NA frame;
 * 0xffff when its checksum is right. */
uint16_t frame_na_checksum_sum(const uint8_t buf[static FRAME_NA_LEN]);
