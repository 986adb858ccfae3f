/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VFIO migration variant drivers: which host PCI drivers can hand a VF's state to QEMU so the
 * VF migrates with its domain, and which driver a PCI device is bound to, read from sysfs under
 * a root directory ("/" on a host, a tree of files in the tests). The one list of drivers
 * srvm trusts with a native migration lives here. */
#pragma once

#include <stdbool.h>

/* The Linux VFIO variant drivers for network VFs that implement migration (the name a bound
 * device's driver link shows: each driver's struct pci_driver .name, KBUILD_MODNAME, i.e. its
 * module's name with '_'). NULL-terminated. */
extern const char *const vfio_migration_drivers[];

/* True if driver is one of vfio_migration_drivers. */
bool vfio_driver_can_migrate(const char *driver);

/* The name of the driver the PCI device pci_address ("DDDD:BB:SS.F") is bound to: the last
 * component of ROOT/sys/bus/pci/devices/ADDRESS/driver. root NULL or "" means "/".
 * -EINVAL if pci_address does not look like one, -ENODEV if the device does not exist,
 * -ENOLINK if it is bound to no driver, another negative errno if sysfs cannot be read,
 * -ENOMEM. */
int vfio_read_pci_driver(const char *root, const char *pci_address, char **ret);

/* The driver of every hostdev interface's PCI device of the domain domain_xml describes, read
 * under root, into f (preflight.h). -EBADMSG if it is not a domain's XML, -ENOMEM; a device
 * whose driver cannot be read is recorded with its error. */
struct PreflightHostFacts;
int vfio_read_domain_drivers(const char *root, const char *domain_xml, struct PreflightHostFacts *f);
