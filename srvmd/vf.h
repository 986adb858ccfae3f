/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's SR-IOV inventory: each physical function (PF) with SR-IOV, each of its virtual
 * functions (VFs) as the kernel reports them (MAC, VLAN, spoof check, trust, link state) and,
 * filled in by the caller from libvirt, the domain that uses each VF. Plain data with its
 * JSON form (what `srvmctl vf list --json` prints and the bus carries) and a table for people
 * made from that JSON. Pure code over json-c: reading the kernel is vf-netlink.c's job. */
#pragma once

#include <stdint.h>

#include <json-c/json.h>

#include "macro.h"

typedef enum VfLinkState {
        VF_LINK_STATE_AUTO,    /* follows the PF's link (IFLA_VF_LINK_STATE_AUTO) */
        VF_LINK_STATE_ENABLE,  /* forced up */
        VF_LINK_STATE_DISABLE, /* forced down */
        _VF_LINK_STATE_MAX,
        _VF_LINK_STATE_INVALID = -EINVAL, /* not reported */
} VfLinkState;

/* What a VF is to srvm, as the metrics count them (srvm_vfs{state}): a domain uses it
 * (attached); no domain does and its link is forced down (disabled: a guest would get no
 * carrier on it); or free. */
typedef enum VfState {
        VF_STATE_FREE,
        VF_STATE_ATTACHED,
        VF_STATE_DISABLED,
        _VF_STATE_MAX,
        _VF_STATE_INVALID = -EINVAL,
} VfState;

/* A setting the driver may not report: spoof check, trust. */
typedef enum VfFlag {
        VF_FLAG_OFF,
        VF_FLAG_ON,
        _VF_FLAG_MAX,
        _VF_FLAG_INVALID = -EINVAL, /* not reported */
} VfFlag;

typedef struct Vf {
        uint32_t index;
        char *mac;         /* owned; lower case; NULL if not reported */
        uint32_t vlan;     /* 0: untagged */
        uint32_t qos;
        VfFlag spoof_check;
        VfFlag trust;
        VfLinkState link_state;
        char *pci_address; /* owned; "0000:3b:02.1"; NULL if not known */
        char *domain;      /* owned; the domain that uses the VF, NULL if none is known */
} Vf;

typedef struct VfPf {
        char *ifname;      /* owned */
        int ifindex;
        char *mac;         /* owned; NULL if not reported */
        char *pci_address; /* owned; NULL if not known */
        uint32_t num_vfs;  /* VFs enabled, as the kernel says (IFLA_NUM_VF) */
        Vf *vfs;           /* owned, n_vfs of them, in the order of their index */
        size_t n_vfs;
} VfPf;

typedef struct VfInventory VfInventory;

/* Who uses a VF, as the caller read it from libvirt (a domain's hostdev interfaces and PCI
 * hostdevs): the VF's PCI address, or the MAC libvirt programmed on it. Borrowed. */
typedef struct VfUser {
        const char *domain;
        const char *pci_address; /* "0000:3b:02.1", any case; may be NULL */
        const char *mac;         /* may be NULL */
} VfUser;

int vf_inventory_new(VfInventory **ret);
VfInventory *vf_inventory_free(VfInventory *inv);
DEFINE_TRIVIAL_CLEANUP_FUNC(VfInventory *, vf_inventory_free);

void vf_pf_done(VfPf *pf);
void vf_done(Vf *vf);

/* Hand pf to the inventory, which keeps the PFs in the order of their names. On success pf
 * is emptied (its memory is the inventory's now); on failure it is left as it was. */
int vf_inventory_take_pf(VfInventory *inv, VfPf *pf);

size_t vf_inventory_get_n_pfs(const VfInventory *inv);
const VfPf *vf_inventory_get_pf(const VfInventory *inv, size_t i); /* NULL past the end */

/* Mark the VFs the users name with their domain: a PCI address match wins over a MAC match,
 * an all-zero MAC matches nothing. Earlier marks are cleared first. Returns how many VFs got
 * a domain, or -ENOMEM. */
int vf_inventory_assign(VfInventory *inv, const VfUser *users, size_t n_users);

/* {"pfs": [{"ifname", "ifindex", "mac", "pci_address", "num_vfs", "vfs": [{"index",
 * "pci_address", "mac", "vlan", "qos", "spoof_check", "trust", "link_state", "domain"}]}]}
 * with null for what is not known. */
int vf_inventory_to_json(const VfInventory *inv, json_object **ret);

/* The table `srvmctl vf list` prints, from the JSON above: one line per VF, a line for a PF
 * without VFs, or one sentence if there is no PF at all. -EBADMSG if json is not of that
 * shape. */
int vf_format_table(json_object *json, char **ret);

/* The VFs of the JSON above by state: ret[s] is how many are in state s. -EBADMSG if json is
 * not of that shape (ret untouched). */
int vf_count_states(json_object *json, unsigned ret[static _VF_STATE_MAX]);

/* "0000:3b:02.1" from libvirt's <address domain='0x0000' bus='0x3b' slot='0x02'
 * function='0x1'/> attributes (hex with 0x, or decimal); -EINVAL if one is missing or out
 * of range. */
int vf_pci_address_from_libvirt(const char *domain, const char *bus, const char *slot,
                                const char *function, char **ret);

const char *vf_link_state_to_string(VfLinkState s);
const char *vf_state_to_string(VfState s);
VfState vf_state_from_string(const char *s);
VfLinkState vf_link_state_from_string(const char *s);
