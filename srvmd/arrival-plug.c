/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See arrival-plug.h. */
#include <stdio.h>
#include <strings.h>

#include "arrival-plug.h"
#include "virt-xml.h"
#include "xml-util.h"

static bool is_listed(const char *s, const char *const *list) {
        for (; *list; list++)
                if (streq(s, *list))
                        return true;
        return false;
}

/* Whether the domain has an interface on bridge already. */
static bool domain_on_bridge(const char *domain_xml, const char *bridge) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        xmlNodePtr devices;

        if (!domain_xml || xml_parse(domain_xml, 0, &doc) < 0)
                return false;
        devices = child_element(xmlDocGetRootElement(doc), "devices");
        for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next) {
                _cleanup_xml_ xmlChar *b = NULL;

                if (!node_is(c, "interface") || !attr_is(c, "type", "bridge"))
                        continue;
                b = child_attr(c, "source", "bridge");
                if (b && streq((const char *) b, bridge))
                        return true;
        }
        return false;
}

/* The recorded <interface>, checked (see arrival-plug.h), and without what was the old
 * host's (virt_xml_make_plug_xml()): the host tap it used (<target>), where it sat in the
 * guest (<address>) and the network port libvirt gave it there. */
static int check_recorded(const char *domain_xml, const char *xml, const char *mac, char **ret_xml, char **ret_why) {
        /* What an <interface> of a VF or its stand-in carries; nothing that runs a program
         * (<script>, <downscript>) or names a host file (<backend>). */
        static const char *const children[] = {
                "mac", "source", "model", "alias", "driver", "vlan", "virtualport", "rom", "teaming",
                "mtu", "link", "address", "target", "boot", "coalesce", "bandwidth", "tune", "guest", NULL,
        };
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        _cleanup_xml_ xmlChar *type = NULL, *recorded_mac = NULL, *name = NULL;
        xmlNodePtr root, source;
        bool network;

        if (!xml)
                return refuse_with(ret_why, -EPERM, "the srvm plan in its metadata records no <interface> to plug");
        if (xml_parse(xml, 0, &doc) < 0)
                return refuse_with(ret_why, -EPERM, "the <interface> its srvm plan records is not XML");
        root = xmlDocGetRootElement(doc);
        if (!node_is(root, "interface") || root->next)
                return refuse_with(ret_why, -EPERM, "its srvm plan records a device that is not one <interface>");
        type = xmlGetProp(root, (const xmlChar *) "type");
        network = type && streq((const char *) type, "network");
        if (!network && !(type && streq((const char *) type, "bridge")))
                return refuse_with(ret_why, -EPERM, "its srvm plan records an <interface> of type '%s', and a recorded one is "
                                   "plugged here only on a libvirt network or a bridge (a hostdev pool is plug source network)",
                                   type ? (const char *) type : "");
        for (xmlNodePtr c = root->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && !is_listed((const char *) c->name, children))
                        return refuse_with(ret_why, -EPERM, "its srvm plan records an <interface> with a <%.32s> element, which srvmd "
                                           "does not plug from a plan", (const char *) c->name);

        recorded_mac = child_attr(root, "mac", "address");
        if (!recorded_mac || !mac || strcasecmp((const char *) recorded_mac, mac) != 0)
                return refuse_with(ret_why, -EPERM, "the <interface> its srvm plan records is not the one of the VF %s",
                                   mac ? mac : "(none)");

        source = child_element(root, "source");
        name = source ? xmlGetProp(source, (const xmlChar *) (network ? "network" : "bridge")) : NULL;
        if (!name)
                return refuse_with(ret_why, -EPERM, "the <interface> its srvm plan records names no %s", network ? "network" : "bridge");
        if (!network && !domain_on_bridge(domain_xml, (const char *) name))
                return refuse_with(ret_why, -EPERM, "its srvm plan records an <interface> on bridge '%.64s', which none of the "
                                   "domain's interfaces here is on", (const char *) name);

        return virt_xml_make_plug_xml(xml, ret_xml);
}

int arrival_plug_xml(const Policy *pol, const char *domain_xml, const char *plan_xml, const char *plan_mac,
                     const char *plan_alias, char **ret_xml, char **ret_why) {
        const char *want = policy_get_vf(pol);
        char *xml = NULL;
        int r;

        if (!pol || !ret_xml || !ret_why)
                return -EINVAL;
        *ret_why = NULL;

        /* A policy that names the VF's MAC has the last word on which VF it is. */
        if (want && virt_xml_is_mac(want) && (!plan_mac || strcasecmp(want, plan_mac) != 0))
                return refuse_with(ret_why, -EPERM, "its srvm plan plugs the VF %s, and its policy %s here says %s",
                                   plan_mac ? plan_mac : "(none)", policy_get_name(pol), want);

        switch (policy_get_plug_source(pol)) {
        case POLICY_PLUG_RECORDED:
                r = check_recorded(domain_xml, plan_xml, plan_mac, &xml, ret_why);
                if (r < 0)
                        return r;
                break;
        case POLICY_PLUG_NETWORK:
        case POLICY_PLUG_TEMPLATE:
                r = policy_make_plug_xml(pol, NULL, plan_mac, plan_alias, &xml);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return refuse_with(ret_why, -EPERM, "its policy %s cannot make the VF's XML for its plan (%s)",
                                           policy_get_name(pol), strerror(-r));
                break;
        case _POLICY_PLUG_SOURCE_MAX:
        case _POLICY_PLUG_SOURCE_INVALID:
                return -EINVAL;
        }
        *ret_xml = xml;
        return 0;
}
