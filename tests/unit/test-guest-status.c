/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for srvm-guest's bond status (guest-agent-ext/status.c): the failover decision
 * and the JSON srvmd reads. */

#include "assert.h"
#include "status.h"

#define SLAVE(n, m, c, mii, drv, act)                                               \
        {                                                                           \
                .name = (char *) (n), .mac = { .bytes = { 0x52, 0x54, 0, 0, 0, m } }, \
                .have_mac = true, .carrier = (c), .mii_status = (mii),              \
                .driver = (char *) (drv), .active = (act)                           \
        }

static void test_pick_failover(void) {
        struct slave_status up_vf_active[] = {
                SLAVE("eth0", 1, true, MII_STATUS_UP, "virtio_net", false),
                SLAVE("eth1", 2, true, MII_STATUS_UP, "e1000e", true),
        };
        struct slave_status virtio_active[] = {
                SLAVE("eth0", 1, true, MII_STATUS_UP, "virtio_net", true),
                SLAVE("eth1", 2, true, MII_STATUS_UP, "e1000e", false),
        };
        struct slave_status virtio_no_carrier[] = {
                SLAVE("eth0", 1, false, MII_STATUS_UP, "virtio_net", false),
                SLAVE("eth1", 2, true, MII_STATUS_UP, "e1000e", true),
        };
        struct slave_status virtio_going_back[] = {
                SLAVE("eth0", 1, true, MII_STATUS_GOING_BACK, "virtio_net", false),
                SLAVE("eth1", 2, true, MII_STATUS_UP, "e1000e", true),
        };
        struct slave_status no_virtio[] = {
                SLAVE("eth1", 2, true, MII_STATUS_UP, "e1000e", true),
        };
        struct slave_status virtio_second[] = {
                SLAVE("eth1", 2, true, MII_STATUS_UP, "e1000e", true),
                SLAVE("eth2", 3, true, MII_STATUS_UP, NULL, false),
                SLAVE("eth0", 1, true, MII_STATUS_UP, "virtio_net", false),
        };
        const struct {
                enum bond_mode mode;
                struct slave_status *slaves;
                size_t n_slaves;
                int ret;
                const char *pick;
        } cases[] = {
                { BOND_MODE_ACTIVE_BACKUP, up_vf_active, ELEMENTSOF(up_vf_active), 0, "eth0" },
                { BOND_MODE_ACTIVE_BACKUP, virtio_active, ELEMENTSOF(virtio_active), 1, "eth0" },
                { BOND_MODE_ACTIVE_BACKUP, virtio_no_carrier, ELEMENTSOF(virtio_no_carrier),
                  -ENETDOWN, NULL },
                { BOND_MODE_ACTIVE_BACKUP, virtio_going_back, ELEMENTSOF(virtio_going_back),
                  -ENETDOWN, NULL },
                { BOND_MODE_ACTIVE_BACKUP, no_virtio, ELEMENTSOF(no_virtio), -ENODEV, NULL },
                { BOND_MODE_ACTIVE_BACKUP, NULL, 0, -ENODEV, NULL },
                { BOND_MODE_ACTIVE_BACKUP, virtio_second, ELEMENTSOF(virtio_second), 0, "eth0" },
                { BOND_MODE_BALANCE_RR, up_vf_active, ELEMENTSOF(up_vf_active), -EOPNOTSUPP,
                  NULL },
                { BOND_MODE_8023AD, virtio_active, ELEMENTSOF(virtio_active), -EOPNOTSUPP,
                  NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct bond_status s = {
                        .name = (char *) "bond0",
                        .mode = cases[i].mode,
                        .slaves = cases[i].slaves,
                        .n_slaves = cases[i].n_slaves,
                };
                const struct slave_status *pick = NULL;
                int r = bond_status_pick_failover(&s, &pick);

                ASSERT_EQ_INT(r, cases[i].ret);
                if (r >= 0)
                        ASSERT_STREQ(pick->name, cases[i].pick);
                else
                        ASSERT_NULL(pick); /* untouched on failure */
        }
}

static void test_find(void) {
        struct slave_status slaves[] = {
                SLAVE("eth0", 1, true, MII_STATUS_UP, "virtio_net", true),
                SLAVE("eth1", 2, false, MII_STATUS_DOWN, "e1000e", false),
        };
        struct bond_status s = {
                .name = (char *) "bond0",
                .mode = BOND_MODE_ACTIVE_BACKUP,
                .slaves = slaves,
                .n_slaves = ELEMENTSOF(slaves),
        };

        ASSERT_TRUE(bond_status_find_slave(&s, "eth1") == &slaves[1]);
        ASSERT_NULL(bond_status_find_slave(&s, "eth2"));
        ASSERT_TRUE(bond_status_find_driver(&s, "e1000e") == &slaves[1]);
        ASSERT_NULL(bond_status_find_driver(&s, "ixgbevf"));
}

static void test_json(void) {
        struct slave_status slaves[] = {
                SLAVE("eth0", 1, true, MII_STATUS_UP, "virtio_net", true),
                SLAVE("eth1", 2, false, MII_STATUS_GOING_DOWN, NULL, false),
        };
        struct bond_status s = {
                .name = (char *) "bond0",
                .mode = BOND_MODE_ACTIVE_BACKUP,
                .active_slave = (char *) "eth0",
                .slaves = slaves,
                .n_slaves = ELEMENTSOF(slaves),
        };
        _cleanup_(json_object_putp) json_object *obj = NULL;

        slaves[1].have_mac = false;

        obj = json_object_new_object();
        ASSERT_NOT_NULL(obj);
        ASSERT_OK(bond_status_to_json(&s, obj));
        ASSERT_STREQ(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
                     "{\"bond\":\"bond0\",\"mode\":\"active-backup\",\"active_slave\":\"eth0\","
                     "\"slaves\":[{\"name\":\"eth0\",\"mac\":\"52:54:00:00:00:01\","
                     "\"carrier\":true,\"mii_status\":\"up\",\"driver\":\"virtio_net\","
                     "\"active\":true},{\"name\":\"eth1\",\"mac\":null,\"carrier\":false,"
                     "\"mii_status\":\"going down\",\"driver\":null,\"active\":false}]}");

        /* No active slave and no slaves: nulls and an empty list, never missing keys. */
        _cleanup_(json_object_putp) json_object *empty = NULL;
        struct bond_status e = { .name = (char *) "bond0", .mode = BOND_MODE_ACTIVE_BACKUP };

        empty = json_object_new_object();
        ASSERT_NOT_NULL(empty);
        ASSERT_OK(bond_status_to_json(&e, empty));
        ASSERT_STREQ(json_object_to_json_string_ext(empty, JSON_C_TO_STRING_PLAIN),
                     "{\"bond\":\"bond0\",\"mode\":\"active-backup\",\"active_slave\":null,"
                     "\"slaves\":[]}");
}

static void test_free(void) {
        struct bond_status *s = calloc(1, sizeof(*s));

        ASSERT_NOT_NULL(s);
        s->name = strdup("bond0");
        s->active_slave = strdup("eth0");
        s->slaves = calloc(1, sizeof(struct slave_status));
        ASSERT_NOT_NULL(s->slaves);
        s->slaves[0].name = strdup("eth0");
        s->slaves[0].driver = strdup("virtio_net");
        s->n_slaves = 1;
        ASSERT_NULL(bond_status_free(s));
        ASSERT_NULL(bond_status_free(NULL));
}

int main(void) {
        test_pick_failover();
        test_find();
        test_json();
        test_free();
        return 0;
}
