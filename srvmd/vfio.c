/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VFIO migration variant drivers and the sysfs read of a PCI device's driver. See vfio.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "preflight.h"
#include "vfio.h"

/* From Linux drivers/vfio/pci/: mlx5/ (ConnectX-7, BlueField-3 VFs; module mlx5-vfio-pci),
 * pds/ (AMD Pensando VFs; pds-vfio-pci), virtio/ (virtio-net VFs, migration since 6.11;
 * virtio-vfio-pci). Left out: hisi_acc_vfio_pci and qat_vfio_pci (accelerators, never a NIC),
 * nvgrace_gpu_vfio_pci (a GPU, and it has no migration). */
const char *const vfio_migration_drivers[] = {
        "mlx5_vfio_pci",
        "pds_vfio_pci",
        "virtio_vfio_pci",
        NULL,
};

bool vfio_driver_can_migrate(const char *driver) {
        if (!driver)
                return false;
        for (size_t i = 0; vfio_migration_drivers[i]; i++)
                if (streq(vfio_migration_drivers[i], driver))
                        return true;
        return false;
}

/* "DDDD:BB:SS.F" in lower-case hexadecimal, as sysfs names PCI devices. */
static bool is_pci_address(const char *s) {
        static const char form[] = "xxxx:xx:xx.x";

        if (!s || strlen(s) != sizeof form - 1)
                return false;
        for (size_t i = 0; form[i]; i++)
                if (form[i] == 'x' ? !isxdigit((unsigned char) s[i]) || isupper((unsigned char) s[i]) : s[i] != form[i])
                        return false;
        return true;
}

int vfio_read_pci_driver(const char *root, const char *pci_address, char **ret) {
        char device[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
        const char *base;
        struct stat st;
        ssize_t n;

        if (!ret || !is_pci_address(pci_address))
                return -EINVAL;
        if (!root || !*root)
                root = "/";
        if (snprintf(device, sizeof device, "%s/sys/bus/pci/devices/%s", root, pci_address) >= (int) sizeof device ||
            snprintf(link, sizeof link, "%s/driver", device) >= (int) sizeof link)
                return -ENAMETOOLONG;

        if (stat(device, &st) < 0)
                return errno == ENOENT ? -ENODEV : -errno;
        n = readlink(link, target, sizeof target - 1);
        if (n < 0)
                return errno == ENOENT ? -ENOLINK : -errno;
        target[n] = '\0';

        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (!*base)
                return -ENOLINK;
        *ret = strdup(base);
        return *ret ? 0 : -ENOMEM;
}

int vfio_read_domain_drivers(const char *root, const char *domain_xml, PreflightHostFacts *f) {
        char **addresses = NULL;
        size_t n = 0;
        int r;

        if (!f)
                return -EINVAL;
        r = virt_xml_list_hostdev_pci(domain_xml, &addresses, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *driver = NULL;

                r = vfio_read_pci_driver(root, addresses[i], &driver);
                r = r == -ENOMEM ? r : preflight_host_facts_add_driver(f, addresses[i], driver, r);
        }
        virt_xml_strv_free(addresses);
        return r < 0 ? r : 0;
}
