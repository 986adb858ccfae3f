/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the VF configuration record of srvm-guest (guest-agent-ext/vfconf.c): its
 * JSON form both ways, what a damaged record gives, and the /proc/net/dev_mcast format. */

#include <stdio.h>

#include "assert.h"
#include "status.h"
#include "vfconf.h"

static struct vf_config *sample(void) {
        struct vf_config *c = NULL;
        struct hwaddr m;

        ASSERT_OK(vf_config_new(&c));
        c->interface = strdup("eth1");
        c->driver = strdup("e1000e");
        c->mtu = 1400;
        ASSERT_OK(vf_config_add_feature(c, "rx-checksum", false));
        ASSERT_OK(vf_config_add_feature(c, "tx-scatter-gather", true));
        c->have_ring = true;
        c->ring[VF_RING_RX] = 512;
        c->ring[VF_RING_TX] = 256;
        c->have_coalesce = true;
        c->coalesce[VF_COALESCE_RX_USECS] = 3;
        c->coalesce[VF_COALESCE_SAMPLE_INTERVAL] = 7;
        ASSERT_OK(hwaddr_parse_any("01:00:5e:00:00:01", &m));
        ASSERT_OK(vf_config_add_multicast(c, &m));
        ASSERT_OK(vf_config_add_multicast(c, &m)); /* once only */
        ASSERT_OK(hwaddr_parse_any("33:33:ff:77:00:10", &m));
        ASSERT_OK(vf_config_add_multicast(c, &m));
        c->stacked = calloc(2, sizeof(char *));
        c->stacked[0] = strdup("bond0.100");
        return c;
}

static void test_round_trip(void) {
        _cleanup_(vf_config_freep) struct vf_config *c = sample(), *d = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL, *again = NULL;
        char buf[HWADDR_STR_MAX];

        ASSERT_EQ_INT(c->n_multicast, 2);
        ASSERT_OK(vf_config_to_json(c, &o));
        ASSERT_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                     "{\"version\":1,\"interface\":\"eth1\",\"driver\":\"e1000e\",\"mtu\":1400,"
                     "\"features\":{\"rx-checksum\":false,\"tx-scatter-gather\":true},"
                     "\"ring\":{\"rx\":512,\"rx-mini\":0,\"rx-jumbo\":0,\"tx\":256},"
                     "\"coalesce\":{\"rx-usecs\":3,\"rx-frames\":0,\"rx-usecs-irq\":0,"
                     "\"rx-frames-irq\":0,\"tx-usecs\":0,\"tx-frames\":0,\"tx-usecs-irq\":0,"
                     "\"tx-frames-irq\":0,\"stats-block-usecs\":0,\"adaptive-rx\":0,"
                     "\"adaptive-tx\":0,\"pkt-rate-low\":0,\"rx-usecs-low\":0,"
                     "\"rx-frames-low\":0,\"tx-usecs-low\":0,\"tx-frames-low\":0,"
                     "\"pkt-rate-high\":0,\"rx-usecs-high\":0,\"rx-frames-high\":0,"
                     "\"tx-usecs-high\":0,\"tx-frames-high\":0,\"sample-interval\":7},"
                     "\"multicast\":[\"01:00:5e:00:00:01\",\"33:33:ff:77:00:10\"],"
                     "\"stacked\":[\"bond0.100\"]}");

        ASSERT_OK(vf_config_from_json(o, &d));
        ASSERT_STREQ(d->interface, "eth1");
        ASSERT_STREQ(d->driver, "e1000e");
        ASSERT_EQ_INT(d->mtu, 1400);
        ASSERT_EQ_INT(d->n_features, 2);
        ASSERT_TRUE(!vf_config_find_feature(d, "rx-checksum")->on);
        ASSERT_TRUE(vf_config_find_feature(d, "tx-scatter-gather")->on);
        ASSERT_NULL(vf_config_find_feature(d, "rx-gro"));
        ASSERT_TRUE(d->have_ring);
        ASSERT_EQ_INT(d->ring[VF_RING_RX], 512);
        ASSERT_EQ_INT(d->ring[VF_RING_TX], 256);
        ASSERT_TRUE(d->have_coalesce);
        ASSERT_EQ_INT(d->coalesce[VF_COALESCE_RX_USECS], 3);
        ASSERT_EQ_INT(d->coalesce[VF_COALESCE_SAMPLE_INTERVAL], 7);
        ASSERT_EQ_INT(d->n_multicast, 2);
        ASSERT_STREQ(hwaddr_format(&d->multicast[1], buf), "33:33:ff:77:00:10");
        ASSERT_EQ_INT(strv_length(d->stacked), 1);
        ASSERT_STREQ(d->stacked[0], "bond0.100");

        ASSERT_OK(vf_config_to_json(d, &again));
        ASSERT_STREQ(json_object_to_json_string_ext(again, JSON_C_TO_STRING_PLAIN),
                     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static void test_minimal(void) {
        _cleanup_(vf_config_freep) struct vf_config *d = NULL;
        _cleanup_(json_object_putp) json_object *o =
                json_tokener_parse("{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500}");

        /* A driver without ring or coalescing answers records neither. */
        ASSERT_OK(vf_config_from_json(o, &d));
        ASSERT_NULL(d->driver);
        ASSERT_TRUE(!d->have_ring);
        ASSERT_TRUE(!d->have_coalesce);
        ASSERT_EQ_INT(d->n_features, 0);
        ASSERT_EQ_INT(d->n_multicast, 0);
        ASSERT_NULL(d->stacked);
}

static void test_bad(void) {
        static const char *const cases[] = {
                "[]",
                "{}",
                "{\"version\":2,\"interface\":\"eth1\",\"mtu\":1500}",
                "{\"version\":\"1\",\"interface\":\"eth1\",\"mtu\":1500}",
                "{\"version\":1,\"mtu\":1500}",
                "{\"version\":1,\"interface\":\"eth1\"}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":0}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":-1}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":4294967296}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"features\":[]}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"features\":{\"tso\":1}}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"features\":{\"\":true}}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"ring\":{\"rx\":-1}}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"ring\":{\"big\":1}}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"coalesce\":{\"rx-usecs\":\"3\"}}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"multicast\":[\"01:00:5e\"]}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"multicast\":\"01:00:5e:00:00:01\"}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"stacked\":[\"../x\"]}",
                "{\"version\":1,\"interface\":\"eth1\",\"mtu\":1500,\"stacked\":[1]}",
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) json_object *o = json_tokener_parse(cases[i]);
                struct vf_config *d = (struct vf_config *) 0x1;

                ASSERT_NOT_NULL(o);
                ASSERT_ERR(vf_config_from_json(o, &d), EBADMSG);
                ASSERT_TRUE(d == (struct vf_config *) 0x1); /* untouched */
        }
        ASSERT_ERR(vf_config_from_json(NULL, NULL), EBADMSG);
}

static void test_tables(void) {
        for (int i = 0; i < _VF_RING_MAX; i++)
                ASSERT_EQ_INT(vf_ring_from_string(vf_ring_to_string((enum vf_ring) i)), i);
        for (int i = 0; i < _VF_COALESCE_MAX; i++)
                ASSERT_EQ_INT(vf_coalesce_from_string(vf_coalesce_to_string((enum vf_coalesce) i)), i);
        ASSERT_EQ_INT(vf_ring_from_string("rx_pending"), -EINVAL);
        ASSERT_NULL(vf_coalesce_to_string(_VF_COALESCE_MAX));
}

static void test_dev_mcast(void) {
        static const char text[] =
                "2    eth0            1     0     333300000001\n"
                "2    eth0            1     0     01005e000001\n"
                "3    eth1            1     0     333300000001\n"
                "3    eth1            2     0     01005e000001\n"
                "3    eth1            1     0     01005e000001\n"
                "4    bond0           1     0     333300000001\n"
                "3    eth1            1     1     3333ff770010\n";
        _cleanup_free_ struct hwaddr *l = NULL;
        char buf[HWADDR_STR_MAX];
        size_t n = 99;

        ASSERT_OK(proc_parse_dev_mcast(text, "eth1", &l, &n));
        ASSERT_EQ_INT(n, 3);
        ASSERT_STREQ(hwaddr_format(&l[0], buf), "33:33:00:00:00:01");
        ASSERT_STREQ(hwaddr_format(&l[1], buf), "01:00:5e:00:00:01");
        ASSERT_STREQ(hwaddr_format(&l[2], buf), "33:33:ff:77:00:10");
        free(TAKE_PTR(l));

        ASSERT_OK(proc_parse_dev_mcast(text, "eth9", &l, &n));
        ASSERT_EQ_INT(n, 0);
        free(TAKE_PTR(l));
        ASSERT_OK(proc_parse_dev_mcast("", "eth1", &l, &n));
        ASSERT_EQ_INT(n, 0);
        free(TAKE_PTR(l));

        ASSERT_ERR(proc_parse_dev_mcast("3 eth1 1 0 01005e00000\n", "eth1", &l, &n), EBADMSG);
        ASSERT_ERR(proc_parse_dev_mcast("3 eth1 1 0 01005e0000zz\n", "eth1", &l, &n), EBADMSG);
        ASSERT_ERR(proc_parse_dev_mcast("3 eth1 1\n", "eth1", &l, &n), EBADMSG);
        ASSERT_ERR(proc_parse_dev_mcast(NULL, "eth1", &l, &n), EINVAL);
}

int main(void) {
        test_round_trip();
        test_minimal();
        test_bad();
        test_tables();
        test_dev_mcast();
        return 0;
}
