/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who uses which VF, read from libvirt's domain XML: the input of vf_inventory_assign(). A
 * domain's <interface type='hostdev'> and PCI <hostdev> elements name a VF by its host PCI
 * address (<source><address domain bus slot function/>) and, for an interface, the MAC
 * libvirt programs on it. Pure libxml2 over strings; no libvirt, no logging. */
#pragma once

#include "vf.h"

typedef struct VfUsers VfUsers;

int vf_users_new(VfUsers **ret);
VfUsers *vf_users_free(VfUsers *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(VfUsers *, vf_users_free);

/* Add the VF users of one domain (its <name>); returns how many it added, -EBADMSG if
 * domain_xml is not a domain's XML, -ENOMEM. Other interfaces are skipped, and so is a
 * passthrough device that names neither a PCI address nor a MAC. */
int vf_users_add_domain_xml(VfUsers *u, const char *domain_xml);

/* The users collected so far, owned by u, valid until it changes. */
const VfUser *vf_users_get(const VfUsers *u, size_t *ret_n);
