/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Interfaces as libvirt 9.0's live domain XML shows them, for the tests that read domain XML:
 * the lab guest's virtio-net standby and emulated VF, and a VF from a hostdev network pool. */
#pragma once

#define VIRTIO_NIC                                                                   \
        "<interface type='bridge'>"                                                  \
        "<mac address='52:54:00:00:00:01'/>"                                         \
        "<source bridge='br0'/>"                                                     \
        "<target dev='vnet0'/>"                                                      \
        "<model type='virtio'/>"                                                     \
        "<alias name='ua-net0'/>"                                                    \
        "<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>" \
        "</interface>"

#define EMULATED_VF                                                                  \
        "<interface type='bridge'>"                                                  \
        "<mac address='52:54:00:AA:00:02'/>"                                         \
        "<source bridge='br0'/>"                                                     \
        "<target dev='vnet1'/>"                                                      \
        "<model type='e1000e'/>"                                                     \
        "<rom enabled='no'/>"                                                        \
        "<alias name='ua-vf0'/>"                                                     \
        "<address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>" \
        "</interface>"

#define POOL_VF                                                                      \
        "<interface type='hostdev' managed='yes'>"                                   \
        "<mac address='52:54:00:bb:00:03'/>"                                         \
        "<driver name='vfio'/>"                                                      \
        "<source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source>" \
        "<alias name='hostdev0'/>"                                                   \
        "<address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>" \
        "</interface>"
