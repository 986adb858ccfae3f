/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Filtering an incoming domain's XML for srvm. See hook-xml.h. */
#include <stdio.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hook-xml.h"
#include "srvm-hook.h"
#include "virt-xml.h"
#include "xml-util.h"

static const char *const hook_xml_verdict_table[_HOOK_XML_VERDICT_MAX] = {
        [HOOK_XML_UNMANAGED] = "unmanaged",
        [HOOK_XML_NO_VF] = "no-vf",
        [HOOK_XML_REWRITTEN] = "rewritten",
};
DEFINE_STRING_TABLE_LOOKUP(hook_xml_verdict, HookXmlVerdict);


/* What the plan says about the VF; both NULL if the plan names none. */
typedef struct Plan {
        bool present;
        VirtXmlPlan plan; /* owned; vf_alias and vf_mac are what device_is_vf() looks at */
} Plan;

static void plan_done(Plan *p) {
        virt_xml_plan_done(&p->plan);
        *p = (Plan) {};
}

static bool node_is_plan(xmlNodePtr n) {
        return node_is(n, SRVM_PLAN_ELEMENT) && n->ns && n->ns->href &&
               streq((const char *) n->ns->href, SRVM_XMLNS);
}

/* The plan is read as srvmd reads it. One srvmd could not have written (a MAC that is not
 * one, a torn lease) still marks the domain as srvm's, but names no VF: then every
 * passthrough device counts. */
static int plan_read(xmlNodePtr metadata, Plan *ret) {
        xmlNodePtr n = NULL;
        Plan p = {};
        int r;

        for (xmlNodePtr c = metadata ? metadata->children : NULL; c; c = c->next)
                if (node_is_plan(c)) {
                        n = c;
                        break;
                }
        if (!n) {
                *ret = p;
                return 0;
        }

        p.present = true;
        r = virt_xml_plan_from_node(n, &p.plan);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                p.plan = (VirtXmlPlan) {};
        else if (p.plan.vf_alias && !*p.plan.vf_alias) {
                free(p.plan.vf_alias);
                p.plan.vf_alias = NULL;
        }
        *ret = p;
        return 0;
}

/* The metadata as policy resolution wants it: every element under <metadata>, any depth.
 * The strings are owned by the table (values) or by the document (names, namespaces). */
static bool interface_is_virtio(xmlNodePtr iface) {
        _cleanup_xml_ xmlChar *model = child_attr(iface, "model", "type");

        return model && strncmp((const char *) model, "virtio", 6) == 0;
}

static bool device_has_alias(xmlNodePtr n, const char *alias) {
        _cleanup_xml_ xmlChar *a = child_attr(n, "alias", "name");

        return a && streq((const char *) a, alias);
}

static bool interface_has_mac(xmlNodePtr iface, const char *mac) {
        _cleanup_xml_ xmlChar *m = child_attr(iface, "mac", "address");

        return m && strcasecmp((const char *) m, mac) == 0;
}

static bool device_is_passthrough(xmlNodePtr n) {
        if (node_is(n, "interface"))
                return attr_is(n, "type", "hostdev");
        if (node_is(n, "hostdev"))
                return attr_is(n, "type", "pci") && !attr_is(n, "mode", "capabilities");
        return false;
}

static bool device_is_vf(xmlNodePtr n, const Plan *plan) {
        if (!node_is(n, "interface") && !node_is(n, "hostdev"))
                return false;
        if (node_is(n, "interface") && interface_is_virtio(n))
                return false; /* the standby: srvm never touches it */

        if (plan->plan.vf_alias || plan->plan.vf_mac) {
                if (plan->plan.vf_alias && device_has_alias(n, plan->plan.vf_alias))
                        return true;
                return plan->plan.vf_mac && node_is(n, "interface") &&
                       interface_has_mac(n, plan->plan.vf_mac);
        }
        return device_is_passthrough(n);
}

static bool devices_have_vf(xmlNodePtr devices, const Plan *plan) {
        for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next)
                if (device_is_vf(c, plan))
                        return true;
        return false;
}

/* Whether a policy other than the default claims the domain: the same resolution srvmd makes. */
static bool domain_matches_policy(const char *domain_xml, const PolicySet *policies, int *ret_error) {
        _cleanup_(virt_xml_domain_info_done) VirtXmlDomainInfo info = {};
        PolicyMatchKind kind;
        const Policy *p;
        int r;

        *ret_error = 0;
        if (!policies)
                return false;
        r = virt_xml_read_domain_info(domain_xml, &info);
        if (r < 0) {
                *ret_error = r;
                return false;
        }
        if (virt_xml_resolve_policy(policies, &info, &p, &kind) < 0)
                return false; /* a domain without a name: no policy can claim it */
        return kind != POLICY_MATCH_DEFAULT;
}

static void describe_device(FILE *f, xmlNodePtr n, bool first) {
        _cleanup_xml_ xmlChar *alias = child_attr(n, "alias", "name");
        _cleanup_xml_ xmlChar *mac = child_attr(n, "mac", "address");

        fprintf(f, "%s%s %s", first ? "" : ", ", (const char *) n->name,
                alias ? (const char *) alias : "without alias");
        if (mac)
                fprintf(f, " (%s)", (const char *) mac);
}

/* Unlink the device and the indentation before it, so the output keeps its layout. */
static void device_remove(xmlNodePtr n) {
        xmlNodePtr prev = n->prev;

        if (prev && xmlIsBlankNode(prev)) {
                xmlUnlinkNode(prev);
                xmlFreeNode(prev);
        }
        xmlUnlinkNode(n);
        xmlFreeNode(n);
}


int hook_xml_filter_incoming(const char *domain_xml, const PolicySet *policies,
                             char **ret_xml, char **ret_removed) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        _cleanup_(plan_done) Plan plan = {};
        _cleanup_free_ char *xml = NULL, *removed = NULL;
        xmlNodePtr root, metadata, devices, next;
        size_t removed_size = 0;
        bool first = true;
        FILE *f;
        int r;

        if (!domain_xml || !ret_xml)
                return -EINVAL;
        r = xml_parse(domain_xml, 0, &doc);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!node_is(root, "domain"))
                return -EBADMSG;
        metadata = child_element(root, "metadata");
        devices = child_element(root, "devices");

        r = plan_read(metadata, &plan);
        if (r < 0)
                return r;
        if (!devices_have_vf(devices, &plan))
                /* Nothing to remove either way; no need to ask the policies. */
                return plan.present ? HOOK_XML_NO_VF : HOOK_XML_UNMANAGED;
        if (!plan.present) {
                bool managed = domain_matches_policy(domain_xml, policies, &r);
                if (r < 0)
                        return r;
                if (!managed)
                        return HOOK_XML_UNMANAGED;
        }

        f = open_memstream(&removed, &removed_size);
        if (!f)
                return -ENOMEM;
        for (xmlNodePtr c = devices->children; c; c = next) {
                next = c->next;
                if (!device_is_vf(c, &plan))
                        continue;
                describe_device(f, c, first);
                first = false;
                device_remove(c);
        }
        if (fclose(f) != 0)
                return -ENOMEM;

        r = node_dump(doc, root, true, &xml);
        if (r < 0)
                return r;

        *ret_xml = TAKE_PTR(xml);
        if (ret_removed)
                *ret_removed = TAKE_PTR(removed);
        return HOOK_XML_REWRITTEN;
}
