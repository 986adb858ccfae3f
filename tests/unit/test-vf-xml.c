/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vf-xml: which domain uses which VF, from libvirt 9.0's live domain XML, and the
 * inventory marked with it. */
#include <stdio.h>

#include "assert.h"
#include "vf-xml.h"

#define DOMAIN(name, devices) \
        "<domain type='kvm' id='3'><name>" name "</name><devices>" devices "</devices></domain>"

#define HOSTDEV_IFACE(mac, fn)                                                        \
        "<interface type='hostdev' managed='yes'><mac address='" mac "'/>"            \
        "<driver name='vfio'/><source><address type='pci' domain='0x0000' bus='0x3b' " \
        "slot='0x02' function='" fn "'/></source><alias name='hostdev0'/></interface>"

#define PCI_HOSTDEV(fn)                                                               \
        "<hostdev mode='subsystem' type='pci' managed='yes'><source>"                 \
        "<address domain='0x0000' bus='0x3b' slot='0x02' function='" fn "'/>"         \
        "</source></hostdev>"

#define VIRTIO \
        "<interface type='bridge'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>"

static void test_users(void) {
        _cleanup_(vf_users_freep) VfUsers *u = NULL;
        const VfUser *v;
        size_t n;

        ASSERT_OK(vf_users_new(&u));
        ASSERT_EQ_INT(vf_users_add_domain_xml(u, DOMAIN("vm1", VIRTIO HOSTDEV_IFACE("52:54:00:AA:00:02", "0x1"))), 1);
        ASSERT_EQ_INT(vf_users_add_domain_xml(u, DOMAIN("vm2", PCI_HOSTDEV("0x2") PCI_HOSTDEV("0x9"))), 1);
        /* No passthrough device; a hostdev of another kind; one that names nothing. */
        ASSERT_EQ_INT(vf_users_add_domain_xml(u, DOMAIN("vm3", VIRTIO
                "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/></source></hostdev>"
                "<interface type='hostdev'/>")), 0);
        ASSERT_ERR(vf_users_add_domain_xml(u, "<domain><devices/></domain>"), EBADMSG);
        ASSERT_ERR(vf_users_add_domain_xml(u, "garbage"), EBADMSG);

        v = vf_users_get(u, &n);
        ASSERT_EQ_INT(n, 2);
        ASSERT_STREQ(v[0].domain, "vm1");
        ASSERT_STREQ(v[0].pci_address, "0000:3b:02.1");
        ASSERT_STREQ(v[0].mac, "52:54:00:aa:00:02");
        ASSERT_STREQ(v[1].domain, "vm2");
        ASSERT_STREQ(v[1].pci_address, "0000:3b:02.2");
        ASSERT_NULL(v[1].mac); /* function 9 is no PCI function: without a MAC, skipped */
}

static void test_assign(void) {
        _cleanup_(vf_users_freep) VfUsers *u = NULL;
        _cleanup_(vf_inventory_freep) VfInventory *inv = NULL;
        VfPf pf = {};
        const VfUser *v;
        size_t n;

        ASSERT_OK(vf_inventory_new(&inv));
        pf.ifname = strdup("enp59s0f0");
        pf.num_vfs = pf.n_vfs = 3;
        pf.vfs = calloc(3, sizeof(Vf));
        ASSERT_NOT_NULL(pf.vfs);
        for (uint32_t i = 0; i < 3; i++) {
                pf.vfs[i].index = i;
                ASSERT_TRUE(asprintf(&pf.vfs[i].pci_address, "0000:3b:02.%u", i) > 0);
                pf.vfs[i].link_state = _VF_LINK_STATE_INVALID;
        }
        pf.vfs[0].mac = strdup("52:54:00:cc:00:09");
        ASSERT_OK(vf_inventory_take_pf(inv, &pf));

        ASSERT_OK(vf_users_new(&u));
        ASSERT_OK(vf_users_add_domain_xml(u, DOMAIN("vm1", HOSTDEV_IFACE("52:54:00:aa:00:02", "0x1"))));
        ASSERT_OK(vf_users_add_domain_xml(u, DOMAIN("vm2", "<interface type='hostdev'><mac address='52:54:00:CC:00:09'/></interface>")));
        v = vf_users_get(u, &n);
        ASSERT_EQ_INT(vf_inventory_assign(inv, v, n), 2);
        ASSERT_STREQ(vf_inventory_get_pf(inv, 0)->vfs[0].domain, "vm2");
        ASSERT_STREQ(vf_inventory_get_pf(inv, 0)->vfs[1].domain, "vm1");
        ASSERT_NULL(vf_inventory_get_pf(inv, 0)->vfs[2].domain);
}

int main(void) {
        test_users();
        test_assign();
        printf("ok\n");
        return 0;
}
