/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VF an arrival job plugs here, as this host's policy allows it. A domain that arrives
 * without its VF carries the source's plan in its <metadata>, and with it the <interface> to
 * plug; but whoever may edit the domain's metadata could have written any device there (a
 * host PCI device passed through, another bridge, a script). So the destination rebuilds the
 * XML from its own policy (plug source network or template), and takes the recorded one
 * (plug source recorded) only when it is a plain <interface> on a libvirt network, or on a
 * bridge the domain is on already, with the plan's MAC, and without the old host's <target>
 * and <address>. Pure: unit-tested. */
#pragma once

#include "policy.h"

/* 0 and the XML to plug in *ret_xml; -EPERM with a sentence in *ret_why when the policy does
 * not allow what the plan asks; -ENOMEM. plan_xml, plan_mac and plan_alias are the plan's
 * (plan_xml may be NULL), domain_xml the domain as it runs here. */
int arrival_plug_xml(const Policy *pol, const char *domain_xml, const char *plan_xml, const char *plan_mac,
                     const char *plan_alias, char **ret_xml, char **ret_why);
