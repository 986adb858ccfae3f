/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration path: the driver of a VF's PCI device read from a sysfs tree (each variant
 * driver, plain vfio-pci, no driver, no device), the NIC an <interface> describes, and the
 * decision with the sentence for each reason, under auto, native and failover. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assert.h"
#include "preflight.h"
#include "vfio.h"

#define ADDR_MLX5 "0000:3b:02.1"
#define ADDR_PDS "0000:3b:02.2"
#define ADDR_VIRTIO "0000:3b:02.3"
#define ADDR_PLAIN "0000:3b:02.4"
#define ADDR_UNBOUND "0000:3b:02.5"
#define ADDR_MISSING "0000:3b:02.6"

#define HOSTDEV(fn)                                                                          \
        "<interface type='hostdev' managed='yes'><mac address='52:54:00:bb:00:0" fn "'/>"   \
        "<source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x" fn "'/></source>" \
        "<alias name='ua-vf0'/></interface>"
#define EMULATED \
        "<interface type='network'><mac address='52:54:00:bb:00:09'/><source network='vf'/><model type='e1000e'/></interface>"
#define NO_MODEL "<interface type='network'><mac address='52:54:00:bb:00:09'/><source network='vf'/></interface>"
#define HOSTDEV_NO_ADDRESS "<interface type='hostdev'><mac address='52:54:00:bb:00:0a'/></interface>"

#define V_OK { .libvirt = 9000000, .qemu = 8002000 }

static char root[] = "/tmp/test-vfio-path-XXXXXX";

static void make_dir(const char *path) {
        char buf[512];

        for (char *p = strcpy(buf, path) + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                (void) mkdir(buf, 0755);
                *p = '/';
        }
        ASSERT_TRUE(mkdir(buf, 0755) == 0 || errno == EEXIST);
}

/* ROOT/sys/bus/pci/devices/ADDR, bound to driver if not NULL, as sysfs links it. */
static void make_device(const char *addr, const char *driver) {
        char dev[256], drv[512], link[512];

        snprintf(dev, sizeof dev, "%s/sys/bus/pci/devices/%s", root, addr);
        make_dir(dev);
        if (!driver)
                return;
        snprintf(drv, sizeof drv, "%s/sys/bus/pci/drivers/%s", root, driver);
        make_dir(drv);
        snprintf(link, sizeof link, "%s/driver", dev);
        snprintf(drv, sizeof drv, "../../../../bus/pci/drivers/%s", driver);
        ASSERT_OK(symlink(drv, link));
}

static void test_read_driver(void) {
        static const struct {
                const char *addr;
                const char *driver;
                int error;
                bool migrates;
        } cases[] = {
                { ADDR_MLX5, "mlx5_vfio_pci", 0, true },
                { ADDR_PDS, "pds_vfio_pci", 0, true },
                { ADDR_VIRTIO, "virtio_vfio_pci", 0, true },
                { ADDR_PLAIN, "vfio-pci", 0, false },
                { ADDR_UNBOUND, NULL, -ENOLINK, false },
                { ADDR_MISSING, NULL, -ENODEV, false },
        };
        char *driver = NULL;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                if (cases[i].error == 0 || cases[i].error == -ENOLINK)
                        make_device(cases[i].addr, cases[i].driver);
        }
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = vfio_read_pci_driver(root, cases[i].addr, &driver);

                ASSERT_EQ_INT(r, cases[i].error);
                if (r == 0) {
                        ASSERT_STREQ(driver, cases[i].driver);
                        ASSERT_EQ_INT(vfio_driver_can_migrate(driver), cases[i].migrates);
                        free(driver);
                        driver = NULL;
                }
        }
        /* what is not a PCI address never reaches the file system */
        ASSERT_ERR(vfio_read_pci_driver(root, "0000:3b:02.1/../../x", &driver), EINVAL);
        ASSERT_ERR(vfio_read_pci_driver(root, "0000:3B:02.1", &driver), EINVAL);
        ASSERT_ERR(vfio_read_pci_driver(root, NULL, &driver), EINVAL);
        ASSERT_NULL(driver);
        ASSERT_TRUE(!vfio_driver_can_migrate(NULL));
        ASSERT_TRUE(!vfio_driver_can_migrate("vfio-pci"));
        ASSERT_TRUE(!vfio_driver_can_migrate("nvgrace_gpu_vfio_pci"));
}

/* Every hostdev interface of a domain, read as the backend's read action does. */
static void test_read_domain_drivers(void) {
        _cleanup_(preflight_host_facts_done) PreflightHostFacts f = {};

        ASSERT_OK(vfio_read_domain_drivers(root, "<domain><name>d</name><devices>" EMULATED HOSTDEV("1") HOSTDEV("4")
                                           HOSTDEV_NO_ADDRESS HOSTDEV("6") "</devices></domain>", &f));
        ASSERT_EQ_INT(f.n_drivers, 3);
        ASSERT_STREQ(f.drivers[0].address, ADDR_MLX5);
        ASSERT_STREQ(f.drivers[0].driver, "mlx5_vfio_pci");
        ASSERT_STREQ(f.drivers[1].driver, "vfio-pci");
        ASSERT_STREQ(f.drivers[2].address, ADDR_MISSING);
        ASSERT_NULL(f.drivers[2].driver);
        ASSERT_EQ_INT(f.drivers[2].error, -ENODEV);
        ASSERT_ERR(vfio_read_domain_drivers(root, "<network/>", &f), EBADMSG);
}

static void test_read_nic(void) {
        _cleanup_(virt_xml_nic_done) VirtXmlNic n = {};

        ASSERT_OK(virt_xml_read_nic(HOSTDEV("1"), &n));
        ASSERT_TRUE(n.hostdev);
        ASSERT_STREQ(n.pci_address, ADDR_MLX5);
        ASSERT_NULL(n.model);
        virt_xml_nic_done(&n);

        ASSERT_OK(virt_xml_read_nic(EMULATED, &n));
        ASSERT_TRUE(!n.hostdev);
        ASSERT_NULL(n.pci_address);
        ASSERT_STREQ(n.model, "e1000e");
        virt_xml_nic_done(&n);

        ASSERT_OK(virt_xml_read_nic("<interface type='hostdev'><source><address type='pci' domain='0x0000' "
                                    "bus='0x3b' slot='0x40' function='0x1'/></source></interface>", &n));
        ASSERT_NULL(n.pci_address); /* slot above 0x1f */
        virt_xml_nic_done(&n);

        ASSERT_ERR(virt_xml_read_nic("<domain/>", &n), EBADMSG);
        ASSERT_ERR(virt_xml_read_nic("not xml", &n), EBADMSG);
}

/* The decision on the facts of one VF under wanted: path, reason and refusal. */
static void check_path(PolicyMigrationPath wanted, const char *vf_xml, const char *addr,
                       PreflightHostVersions source, PreflightHostVersions destination,
                       PolicyMigrationPath path, const char *reason, const char *refusal) {
        _cleanup_(preflight_path_done) PreflightPath p = {};
        _cleanup_(preflight_host_facts_done) PreflightHostFacts h = { .source = source, .destination = destination };
        _cleanup_free_ char *driver = NULL;
        PreflightPathFacts f = {
                .wanted = wanted,
                .vf_xml = vf_xml,
                .hosts = &h,
        };

        /* another device first: the decision looks the VF's own up */
        ASSERT_OK(preflight_host_facts_add_driver(&h, "0000:00:01.0", "e1000e", 0));
        if (addr) {
                int r = vfio_read_pci_driver(root, addr, &driver);

                ASSERT_OK(preflight_host_facts_add_driver(&h, addr, driver, r));
        }
        ASSERT_OK(preflight_decide_path(&f, &p));
        ASSERT_EQ_INT(p.path, path);
        ASSERT_STREQ(p.reason, reason);
        if (refusal)
                ASSERT_STREQ(p.refusal, refusal);
        else
                ASSERT_NULL(p.refusal);
}

#define NOT_VARIANT "the VF's PCI device 0000:3b:02.4 is bound to vfio-pci, not to a VFIO migration variant driver " \
                    "(mlx5_vfio_pci, pds_vfio_pci, virtio_vfio_pci)"
#define OLD_QEMU "the destination runs QEMU 7.2.0 and a VF migrates with its domain only from QEMU 8.1.0 on"

static void test_decide_path(void) {
        PreflightHostVersions ok = V_OK, zero = {}, old_libvirt = { .libvirt = 8005000, .qemu = 8001000 },
                              old_qemu = { .libvirt = 9000000, .qemu = 7002000 };

        /* an emulated NIC: native whatever the versions */
        check_path(POLICY_PATH_AUTO, EMULATED, NULL, zero, zero, POLICY_PATH_NATIVE,
                   "native: the VF is an emulated e1000e NIC, which QEMU migrates itself", NULL);
        check_path(POLICY_PATH_NATIVE, EMULATED, NULL, zero, zero, POLICY_PATH_NATIVE,
                   "native: the VF is an emulated e1000e NIC, which QEMU migrates itself", NULL);
        check_path(POLICY_PATH_FAILOVER, EMULATED, NULL, ok, ok, POLICY_PATH_FAILOVER,
                   "the policy pins the failover path", NULL);

        /* each variant driver, with both hosts recent enough */
        check_path(POLICY_PATH_AUTO, HOSTDEV("1"), ADDR_MLX5, ok, ok, POLICY_PATH_NATIVE,
                   "native: the VF's PCI device 0000:3b:02.1 is bound to mlx5_vfio_pci, a VFIO migration variant "
                   "driver, and both hosts run libvirt 8.6 and QEMU 8.1 or later", NULL);
        check_path(POLICY_PATH_NATIVE, HOSTDEV("2"), ADDR_PDS, ok, ok, POLICY_PATH_NATIVE,
                   "native: the VF's PCI device 0000:3b:02.2 is bound to pds_vfio_pci, a VFIO migration variant "
                   "driver, and both hosts run libvirt 8.6 and QEMU 8.1 or later", NULL);
        check_path(POLICY_PATH_AUTO, HOSTDEV("3"), ADDR_VIRTIO, ok, ok, POLICY_PATH_NATIVE,
                   "native: the VF's PCI device 0000:3b:02.3 is bound to virtio_vfio_pci, a VFIO migration variant "
                   "driver, and both hosts run libvirt 8.6 and QEMU 8.1 or later", NULL);

        /* plain vfio-pci: failover under auto, refused under native */
        check_path(POLICY_PATH_AUTO, HOSTDEV("4"), ADDR_PLAIN, ok, ok, POLICY_PATH_FAILOVER,
                   "failover: " NOT_VARIANT, NULL);
        check_path(POLICY_PATH_NATIVE, HOSTDEV("4"), ADDR_PLAIN, ok, ok, POLICY_PATH_FAILOVER,
                   "failover: " NOT_VARIANT, "the policy asks for the native path and " NOT_VARIANT);

        /* the driver cannot be read */
        check_path(POLICY_PATH_AUTO, HOSTDEV("5"), ADDR_UNBOUND, ok, ok, POLICY_PATH_FAILOVER,
                   "failover: the driver of the VF's PCI device 0000:3b:02.5 on the source is not known "
                   "(it is bound to no driver)", NULL);
        check_path(POLICY_PATH_AUTO, HOSTDEV("6"), ADDR_MISSING, ok, ok, POLICY_PATH_FAILOVER,
                   "failover: the driver of the VF's PCI device 0000:3b:02.6 on the source is not known "
                   "(the source has no such device)", NULL);

        /* versions, on either host */
        check_path(POLICY_PATH_AUTO, HOSTDEV("1"), ADDR_MLX5, old_libvirt, ok, POLICY_PATH_FAILOVER,
                   "failover: the source runs libvirt 8.5.0 and a VF migrates with its domain only from libvirt 8.6.0 on",
                   NULL);
        check_path(POLICY_PATH_NATIVE, HOSTDEV("1"), ADDR_MLX5, ok, old_qemu, POLICY_PATH_FAILOVER,
                   "failover: " OLD_QEMU, "the policy asks for the native path and " OLD_QEMU);
        check_path(POLICY_PATH_AUTO, HOSTDEV("1"), ADDR_MLX5, ok, zero, POLICY_PATH_FAILOVER,
                   "failover: the destination's libvirt version is not known", NULL);
        check_path(POLICY_PATH_AUTO, HOSTDEV("1"), ADDR_MLX5, (PreflightHostVersions) { .libvirt = 9000000 }, ok,
                   POLICY_PATH_FAILOVER, "failover: the source's QEMU version is not known", NULL);

        /* what the interface does not say */
        check_path(POLICY_PATH_AUTO, HOSTDEV_NO_ADDRESS, NULL, ok, ok, POLICY_PATH_FAILOVER,
                   "failover: the VF's hostdev interface names no host PCI address", NULL);
        check_path(POLICY_PATH_AUTO, NO_MODEL, NULL, ok, ok, POLICY_PATH_FAILOVER,
                   "failover: the VF's interface is neither a hostdev nor a NIC model QEMU migrates itself", NULL);
        check_path(POLICY_PATH_NATIVE, NULL, NULL, ok, ok, POLICY_PATH_FAILOVER,
                   "failover: no VF interface is known to decide on",
                   "the policy asks for the native path and no VF interface is known to decide on");

        /* a hostdev the backend did not read */
        check_path(POLICY_PATH_AUTO, HOSTDEV("7"), NULL, ok, ok, POLICY_PATH_FAILOVER,
                   "failover: the driver of the VF's PCI device 0000:3b:02.7 on the source is not known "
                   "(the source was not asked)", NULL);
        {
                _cleanup_(preflight_path_done) PreflightPath p = {};
                PreflightPathFacts f = { .wanted = POLICY_PATH_AUTO, .vf_xml = HOSTDEV("1") };

                /* no facts at all */
                ASSERT_OK(preflight_decide_path(&f, &p));
                ASSERT_EQ_INT(p.path, POLICY_PATH_FAILOVER);
        }
        {
                PreflightPath p = {};
                PreflightPathFacts f = { .wanted = _POLICY_PATH_MAX };

                ASSERT_ERR(preflight_decide_path(&f, &p), EINVAL);
                f.wanted = _POLICY_PATH_INVALID;
                ASSERT_ERR(preflight_decide_path(&f, &p), EINVAL);
                ASSERT_ERR(preflight_decide_path(NULL, &p), EINVAL);
                ASSERT_NULL(p.reason);
        }
}

int main(void) {
        char cmd[64 + sizeof root];

        ASSERT_NOT_NULL(mkdtemp(root));
        test_read_driver();
        test_read_domain_drivers();
        test_read_nic();
        test_decide_path();
        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", root);
        ASSERT_OK(system(cmd));
        printf("test-vfio-path: all passed\n");
        return 0;
}
