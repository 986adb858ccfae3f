/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vf, vf-netlink: the SR-IOV inventory. The rtnetlink messages are built with libnl the way
 * the kernel lays out an RTM_NEWLINK with RTEXT_FILTER_VF (IFLA_NUM_VF, IFLA_VFINFO_LIST of
 * IFLA_VF_INFO) and parsed by libnl's own link parser, the one the dump goes through; then
 * the same code reads this machine's real links, which have no VFs. */
#include <stdio.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "assert.h"
#include "json-util.h"
#include "vf-netlink.h"
#include "vf.h"

#define SPOOFCHK_UNKNOWN UINT32_MAX /* what the kernel sends when the driver does not say */

typedef struct TestVf {
        uint32_t index;
        uint8_t mac[6];
        uint32_t vlan, qos;
        uint32_t spoofchk, trust, link_state;
} TestVf;

static void put_vf(struct nl_msg *m, const TestVf *v) {
        struct nlattr *info = nla_nest_start(m, IFLA_VF_INFO);
        struct ifla_vf_mac mac = { .vf = v->index };
        struct ifla_vf_vlan vlan = { .vf = v->index, .vlan = v->vlan, .qos = v->qos };
        struct ifla_vf_spoofchk spoofchk = { .vf = v->index, .setting = v->spoofchk };
        struct ifla_vf_trust trust = { .vf = v->index, .setting = v->trust };
        struct ifla_vf_link_state ls = { .vf = v->index, .link_state = v->link_state };

        ASSERT_NOT_NULL(info);
        memcpy(mac.mac, v->mac, 6);
        ASSERT_OK(nla_put(m, IFLA_VF_MAC, sizeof(mac), &mac));
        ASSERT_OK(nla_put(m, IFLA_VF_VLAN, sizeof(vlan), &vlan));
        ASSERT_OK(nla_put(m, IFLA_VF_SPOOFCHK, sizeof(spoofchk), &spoofchk));
        ASSERT_OK(nla_put(m, IFLA_VF_TRUST, sizeof(trust), &trust));
        ASSERT_OK(nla_put(m, IFLA_VF_LINK_STATE, sizeof(ls), &ls));
        ASSERT_OK(nla_nest_end(m, info));
}

/* num_vf < 0: no IFLA_NUM_VF; vfs NULL: no IFLA_VFINFO_LIST. */
static struct nl_msg *build_link(int ifindex, const char *name, const uint8_t mac[6],
                                 int num_vf, const TestVf *vfs, size_t n_vfs) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_type = 1 };
        struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_MULTI);

        ASSERT_NOT_NULL(m);
        nlmsg_set_proto(m, NETLINK_ROUTE);
        ASSERT_OK(nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO));
        ASSERT_OK(nla_put_string(m, IFLA_IFNAME, name));
        ASSERT_OK(nla_put(m, IFLA_ADDRESS, 6, mac));
        if (num_vf >= 0)
                ASSERT_OK(nla_put_u32(m, IFLA_NUM_VF, (uint32_t) num_vf));
        if (vfs) {
                struct nlattr *list = nla_nest_start(m, IFLA_VFINFO_LIST);
                ASSERT_NOT_NULL(list);
                for (size_t i = 0; i < n_vfs; i++)
                        put_vf(m, &vfs[i]);
                ASSERT_OK(nla_nest_end(m, list));
        }
        return m;
}

typedef struct ParseContext {
        VfInventory *inv;
        bool sriov_capable;
        int added;
} ParseContext;

static void on_object(struct nl_object *o, void *userdata) {
        ParseContext *c = userdata;
        int r = vf_inventory_add_link(c->inv, (struct rtnl_link *) o, c->sriov_capable);

        ASSERT_OK(r);
        c->added += r;
}

/* Through libnl's cache ops for RTM_NEWLINK: what rtnl_link_alloc_cache() runs per reply. */
static int parse(VfInventory *inv, struct nl_msg *m, bool sriov_capable) {
        ParseContext c = { .inv = inv, .sriov_capable = sriov_capable };

        ASSERT_OK(nl_msg_parse(m, on_object, &c));
        nlmsg_free(m);
        return c.added;
}

static const uint8_t PF_MAC[6] = { 0x3c, 0xfd, 0xfe, 0x00, 0x00, 0x01 };

static const TestVf VFS[] = {
        { 0, { 0x52, 0x54, 0x00, 0xAA, 0x00, 0x02 }, 100, 3, 1, 0, IFLA_VF_LINK_STATE_AUTO },
        { 1, { 0 }, 0, 0, SPOOFCHK_UNKNOWN, SPOOFCHK_UNKNOWN, IFLA_VF_LINK_STATE_DISABLE },
        { 2, { 0x52, 0x54, 0x00, 0xbb, 0x00, 0x03 }, 0, 0, 0, 1, IFLA_VF_LINK_STATE_ENABLE },
};

static VfInventory *build_inventory(void) {
        VfInventory *inv = NULL;

        ASSERT_OK(vf_inventory_new(&inv));
        /* Sorted by name whatever the dump's order. */
        ASSERT_EQ_INT(parse(inv, build_link(5, "enp59s0f1", PF_MAC, 2, NULL, 0), false), 1);
        ASSERT_EQ_INT(parse(inv, build_link(4, "enp59s0f0", PF_MAC, 3, VFS, ELEMENTSOF(VFS)), false), 1);
        /* Not PFs: a plain link, a PCI NIC without VFs (the kernel sends IFLA_NUM_VF 0). */
        ASSERT_EQ_INT(parse(inv, build_link(1, "lo", (uint8_t[6]) {}, -1, NULL, 0), false), 0);
        ASSERT_EQ_INT(parse(inv, build_link(2, "eno1", PF_MAC, 0, NULL, 0), false), 0);
        /* SR-IOV capable by sysfs, no VF enabled. */
        ASSERT_EQ_INT(parse(inv, build_link(3, "eno2", PF_MAC, 0, NULL, 0), true), 1);
        return inv;
}

static void test_parse(void) {
        _cleanup_(vf_inventory_freep) VfInventory *inv = build_inventory();
        const VfPf *pf;

        ASSERT_EQ_INT(vf_inventory_get_n_pfs(inv), 3);
        ASSERT_STREQ(vf_inventory_get_pf(inv, 0)->ifname, "eno2");
        ASSERT_STREQ(vf_inventory_get_pf(inv, 2)->ifname, "enp59s0f1");
        ASSERT_NULL(vf_inventory_get_pf(inv, 3));

        pf = vf_inventory_get_pf(inv, 1);
        ASSERT_STREQ(pf->ifname, "enp59s0f0");
        ASSERT_EQ_INT(pf->ifindex, 4);
        ASSERT_STREQ(pf->mac, "3c:fd:fe:00:00:01");
        ASSERT_EQ_INT(pf->num_vfs, 3);
        ASSERT_EQ_INT(pf->n_vfs, 3);

        ASSERT_EQ_INT(pf->vfs[0].index, 0);
        ASSERT_STREQ(pf->vfs[0].mac, "52:54:00:aa:00:02");
        ASSERT_EQ_INT(pf->vfs[0].vlan, 100);
        ASSERT_EQ_INT(pf->vfs[0].qos, 3);
        ASSERT_EQ_INT(pf->vfs[0].spoof_check, VF_FLAG_ON);
        ASSERT_EQ_INT(pf->vfs[0].trust, VF_FLAG_OFF);
        ASSERT_EQ_INT(pf->vfs[0].link_state, VF_LINK_STATE_AUTO);

        ASSERT_STREQ(pf->vfs[1].mac, "00:00:00:00:00:00");
        ASSERT_EQ_INT(pf->vfs[1].vlan, 0);
        ASSERT_EQ_INT(pf->vfs[1].spoof_check, _VF_FLAG_INVALID);
        ASSERT_EQ_INT(pf->vfs[1].trust, _VF_FLAG_INVALID);
        ASSERT_EQ_INT(pf->vfs[1].link_state, VF_LINK_STATE_DISABLE);

        ASSERT_EQ_INT(pf->vfs[2].trust, VF_FLAG_ON);
        ASSERT_EQ_INT(pf->vfs[2].link_state, VF_LINK_STATE_ENABLE);

        /* The count without the list (a dump without RTEXT_FILTER_VF). */
        pf = vf_inventory_get_pf(inv, 2);
        ASSERT_EQ_INT(pf->num_vfs, 2);
        ASSERT_EQ_INT(pf->n_vfs, 0);
}

static void set_pci(VfInventory *inv, size_t p, size_t v, const char *pci) {
        VfPf *pf = (VfPf *) vf_inventory_get_pf(inv, p); /* the test plays sysfs */

        ASSERT_NOT_NULL(pf);
        pf->vfs[v].pci_address = strdup(pci);
        ASSERT_NOT_NULL(pf->vfs[v].pci_address);
}

static void test_assign(void) {
        _cleanup_(vf_inventory_freep) VfInventory *inv = build_inventory();
        const VfPf *pf = vf_inventory_get_pf(inv, 1);

        set_pci(inv, 1, 0, "0000:3b:02.0");
        set_pci(inv, 1, 1, "0000:3b:02.1");
        set_pci(inv, 1, 2, "0000:3b:02.2");

        const VfUser users[] = {
                { "vm-pci", "0000:3B:02.1", NULL },               /* by PCI, any case */
                { "vm-mac", NULL, "52:54:00:AA:00:02" },          /* by MAC */
                { "vm-zero", NULL, "00:00:00:00:00:00" },         /* matches nothing */
                { "vm-mac-wrong-pci", "0000:3b:02.2", NULL },     /* PCI wins over the MAC below */
                { "vm-mac-2", NULL, "52:54:00:bb:00:03" },
                { NULL, "0000:3b:02.0", NULL },                   /* no domain: ignored */
        };
        ASSERT_EQ_INT(vf_inventory_assign(inv, users, ELEMENTSOF(users)), 3);
        ASSERT_STREQ(pf->vfs[0].domain, "vm-mac");
        ASSERT_STREQ(pf->vfs[1].domain, "vm-pci");
        ASSERT_STREQ(pf->vfs[2].domain, "vm-mac-wrong-pci");

        /* Assigning again starts over. */
        ASSERT_EQ_INT(vf_inventory_assign(inv, users, 1), 1);
        ASSERT_NULL(pf->vfs[0].domain);
        ASSERT_STREQ(pf->vfs[1].domain, "vm-pci");
        ASSERT_EQ_INT(vf_inventory_assign(inv, NULL, 0), 0);
        ASSERT_NULL(pf->vfs[1].domain);
}

static void test_json_and_table(void) {
        _cleanup_(vf_inventory_freep) VfInventory *inv = build_inventory();
        _cleanup_(json_object_putp) json_object *j = NULL, *back = NULL;
        _cleanup_free_ char *table = NULL;

        set_pci(inv, 1, 0, "0000:3b:02.0");
        ASSERT_EQ_INT(vf_inventory_assign(inv, &(VfUser) { "vm1", NULL, "52:54:00:aa:00:02" }, 1), 1);
        ASSERT_OK(vf_inventory_to_json(inv, &j));

        ASSERT_STREQ(json_object_to_json_string_ext(json_object_array_get_idx(
                             json_object_object_get(json_object_array_get_idx(
                                                            json_object_object_get(j, "pfs"), 1),
                                                    "vfs"),
                             0), JSON_C_TO_STRING_PLAIN),
                     "{\"index\":0,\"pci_address\":\"0000:3b:02.0\",\"mac\":\"52:54:00:aa:00:02\","
                     "\"vlan\":100,\"qos\":3,\"spoof_check\":true,\"trust\":false,"
                     "\"link_state\":\"auto\",\"domain\":\"vm1\"}");

        /* The table is made from the JSON as the bus would carry it: text, parsed again. */
        back = json_tokener_parse(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        ASSERT_NOT_NULL(back);
        ASSERT_OK(vf_format_table(back, &table));
        ASSERT_STREQ(table,
                     "PF         VF  PCI           MAC                VLAN   SPOOFCHK  TRUST  LINK     DOMAIN\n"
                     "eno2        -  -             3c:fd:fe:00:00:01  -      -         -      -        (no VFs)\n"
                     "enp59s0f0   0  0000:3b:02.0  52:54:00:aa:00:02  100/3  on        off    auto     vm1\n"
                     "enp59s0f0   1  -             00:00:00:00:00:00  -      -         -      disable  -\n"
                     "enp59s0f0   2  -             52:54:00:bb:00:03  -      off       on     enable   -\n"
                     "enp59s0f1   -  -             3c:fd:fe:00:00:01  -      -         -      -        (no VFs)\n");
}

static void test_table_errors(void) {
        static const char *const bad[] = {
                "{}", "{\"pfs\": 3}", "{\"pfs\": [3]}", "{\"pfs\": [{\"vfs\": []}]}",
                "{\"pfs\": [{\"ifname\": \"x\", \"vfs\": [7]}]}",
        };
        char *out = NULL;

        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                json_object *j = json_tokener_parse(bad[k]);
                ASSERT_NOT_NULL(j);
                ASSERT_ERR(vf_format_table(j, &out), EBADMSG);
                ASSERT_NULL(out);
                json_object_put(j);
        }
}

/* srvm_vfs' states, from the JSON the census gets: a VF a domain uses is attached whatever its
 * link; else its link forced down makes it disabled; else it is free. */
static void test_count_states(void) {
        _cleanup_(vf_inventory_freep) VfInventory *inv = build_inventory();
        _cleanup_(json_object_putp) json_object *j = NULL, *k = NULL, *l = NULL, *empty = NULL;
        unsigned counts[_VF_STATE_MAX], untouched[_VF_STATE_MAX] = { 7, 7, 7 };
        static const char *const bad[] = {
                "{}", "{\"pfs\": 3}", "{\"pfs\": [3]}", "{\"pfs\": [{\"vfs\": []}]}",
                "{\"pfs\": [{\"ifname\": \"x\", \"vfs\": [7]}]}",
        };

        /* VF 0: link auto, VF 1: link disable, VF 2: link enable; two PFs without VFs. */
        ASSERT_OK(vf_inventory_to_json(inv, &j));
        ASSERT_OK(vf_count_states(j, counts));
        ASSERT_EQ_INT(counts[VF_STATE_FREE], 2);
        ASSERT_EQ_INT(counts[VF_STATE_ATTACHED], 0);
        ASSERT_EQ_INT(counts[VF_STATE_DISABLED], 1);

        ASSERT_EQ_INT(vf_inventory_assign(inv, &(VfUser) { "vm1", NULL, "52:54:00:aa:00:02" }, 1), 1);
        ASSERT_OK(vf_inventory_to_json(inv, &k));
        ASSERT_OK(vf_count_states(k, counts));
        ASSERT_EQ_INT(counts[VF_STATE_FREE], 1);
        ASSERT_EQ_INT(counts[VF_STATE_ATTACHED], 1);
        ASSERT_EQ_INT(counts[VF_STATE_DISABLED], 1);

        set_pci(inv, 1, 1, "0000:3b:02.1");
        ASSERT_EQ_INT(vf_inventory_assign(inv, &(VfUser) { "vm2", "0000:3b:02.1", NULL }, 1), 1);
        ASSERT_OK(vf_inventory_to_json(inv, &l));
        ASSERT_OK(vf_count_states(l, counts));
        ASSERT_EQ_INT(counts[VF_STATE_FREE], 2);
        ASSERT_EQ_INT(counts[VF_STATE_ATTACHED], 1);
        ASSERT_EQ_INT(counts[VF_STATE_DISABLED], 0);

        /* A host without SR-IOV: all zero. */
        empty = json_tokener_parse("{\"pfs\": []}");
        ASSERT_OK(vf_count_states(empty, counts));
        for (VfState s = 0; s < _VF_STATE_MAX; s++)
                ASSERT_EQ_INT(counts[s], 0);

        for (size_t b = 0; b < ELEMENTSOF(bad); b++) {
                json_object *o = json_tokener_parse(bad[b]);

                ASSERT_NOT_NULL(o);
                ASSERT_ERR(vf_count_states(o, untouched), EBADMSG);
                json_object_put(o);
        }
        for (VfState s = 0; s < _VF_STATE_MAX; s++) {
                ASSERT_EQ_INT(untouched[s], 7);
                ASSERT_EQ_INT(vf_state_from_string(vf_state_to_string(s)), s);
        }
}

static void test_pci_address(void) {
        static const struct {
                const char *d, *b, *s, *f, *out;
        } cases[] = {
                { "0x0000", "0x3b", "0x02", "0x1", "0000:3b:02.1" },
                { "0x0001", "0xAF", "0x1f", "0x7", "0001:af:1f.7" },
                { "0", "59", "2", "1", "0000:3b:02.1" },
                { "0x0000", "0x100", "0x02", "0x1", NULL },
                { "0x0000", "0x3b", "0x20", "0x1", NULL },
                { "0x0000", "0x3b", "0x02", "0x8", NULL },
                { "0x0000", "0x3b", "0x02", NULL, NULL },
                { "0x0000", "-1", "0x02", "0x1", NULL },
                { "zz", "0x3b", "0x02", "0x1", NULL },
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                char *a = NULL;
                int r = vf_pci_address_from_libvirt(cases[k].d, cases[k].b, cases[k].s, cases[k].f, &a);

                if (cases[k].out) {
                        ASSERT_OK(r);
                        ASSERT_STREQ(a, cases[k].out);
                } else {
                        ASSERT_EQ_INT(r, -EINVAL);
                        ASSERT_NULL(a);
                }
                free(a);
        }
}

static void test_link_state_strings(void) {
        for (VfLinkState s = 0; s < _VF_LINK_STATE_MAX; s++)
                ASSERT_EQ_INT(vf_link_state_from_string(vf_link_state_to_string(s)), s);
        ASSERT_NULL(vf_link_state_to_string(_VF_LINK_STATE_INVALID));
}

/* This machine's links, through the real dump: no SR-IOV here, so an empty inventory. */
static void test_collect_real(void) {
        _cleanup_(vf_inventory_freep) VfInventory *inv = NULL;
        _cleanup_(json_object_putp) json_object *j = NULL;
        _cleanup_free_ char *table = NULL;
        int r;

        r = vf_inventory_collect(NULL, &inv);
        ASSERT_OK(r);
        ASSERT_OK(vf_inventory_to_json(inv, &j));
        ASSERT_OK(vf_format_table(j, &table));
        fprintf(stderr, "this host: %zu PF(s): %s\n%s", vf_inventory_get_n_pfs(inv),
                json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), table);
        if (vf_inventory_get_n_pfs(inv) == 0) {
                ASSERT_STREQ(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), "{\"pfs\":[]}");
                ASSERT_STREQ(table, "No SR-IOV physical function on this host.\n");
        }
}

int main(void) {
        test_parse();
        test_assign();
        test_json_and_table();
        test_table_errors();
        test_count_states();
        test_pci_address();
        test_link_state_strings();
        test_collect_real();
        printf("ok\n");
        return 0;
}
