/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading and rewriting libvirt's domain XML for the VF. See virt-xml.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "srvm-hook.h"
#include "virt-xml.h"
#include "xml-util.h"

static int parse(const char *xml, xmlDocPtr *ret) {
        return xml_parse(xml, XML_PARSE_NOBLANKS, ret);
}

static int parse_devices(const char *domain_xml, xmlDocPtr *ret_doc, xmlNodePtr *ret_devices) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        xmlNodePtr root, devices;
        int r;

        r = parse(domain_xml, &doc);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!node_is(root, "domain"))
                return -EBADMSG;
        devices = child_element(root, "devices"); /* may be NULL: no devices */

        *ret_devices = devices;
        *ret_doc = TAKE_PTR(doc);
        return 0;
}

bool virt_xml_is_mac(const char *s) {
        if (!s || strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i++)
                if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

static bool interface_is_virtio(xmlNodePtr iface) {
        _cleanup_xml_ xmlChar *model = child_attr(iface, "model", "type");

        return model && strncmp((const char *) model, "virtio", 6) == 0;
}

static bool interface_is_hostdev(xmlNodePtr iface) {
        return attr_is(iface, "type", "hostdev");
}

static bool interface_has_mac(xmlNodePtr iface, const char *mac) {
        _cleanup_xml_ xmlChar *m = child_attr(iface, "mac", "address");

        return m && strcasecmp((const char *) m, mac) == 0;
}

static bool node_has_alias(xmlNodePtr n, const char *alias) {
        _cleanup_xml_ xmlChar *a = child_attr(n, "alias", "name");

        return a && streq((const char *) a, alias);
}


static int dup_xml_string(const xmlChar *s, char **ret) {
        return strdup_or_null((const char *) s, ret);
}

void virt_xml_interface_done(VirtXmlInterface *i) {
        if (!i)
                return;
        free(i->alias);
        free(i->mac);
        free(i->xml);
        *i = (VirtXmlInterface) {};
}

static int interface_record(xmlDocPtr doc, xmlNodePtr iface, VirtXmlInterface *ret) {
        _cleanup_(virt_xml_interface_done) VirtXmlInterface i = {};
        _cleanup_xml_ xmlChar *alias = child_attr(iface, "alias", "name");
        _cleanup_xml_ xmlChar *mac = child_attr(iface, "mac", "address");
        int r;

        r = dup_xml_string(alias, &i.alias);
        if (r < 0)
                return r;
        r = dup_xml_string(mac, &i.mac);
        if (r < 0)
                return r;
        for (char *p = i.mac; p && *p; p++)
                *p = (char) tolower((unsigned char) *p);
        r = node_dump(doc, iface, false, &i.xml);
        if (r < 0)
                return r;

        *ret = i;
        i = (VirtXmlInterface) {};
        return 0;
}

/* Without a spec the candidates are the hostdev interfaces if there are any, else every
 * interface whose model is not virtio. */
static bool devices_have_hostdev(xmlNodePtr devices) {
        for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next)
                if (node_is(c, "interface") && interface_is_hostdev(c))
                        return true;
        return false;
}

static bool interface_is_candidate(xmlNodePtr c, bool any_hostdev) {
        if (!node_is(c, "interface"))
                return false;
        return any_hostdev ? interface_is_hostdev(c) : !interface_is_virtio(c);
}

int virt_xml_find_vf(const char *domain_xml, const char *spec, VirtXmlInterface *ret) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        xmlNodePtr devices, found = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = parse_devices(domain_xml, &doc, &devices);
        if (r < 0)
                return r;

        if (spec) {
                bool by_mac = virt_xml_is_mac(spec);

                for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next) {
                        if (!node_is(c, "interface"))
                                continue;
                        if (by_mac ? interface_has_mac(c, spec) : node_has_alias(c, spec)) {
                                found = c;
                                break;
                        }
                }
                if (!found)
                        return -ENOENT;
                if (interface_is_virtio(found))
                        return -EMEDIUMTYPE;
        } else {
                bool any_hostdev = devices_have_hostdev(devices);

                for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next) {
                        if (!interface_is_candidate(c, any_hostdev))
                                continue;
                        if (found)
                                return -ENOTUNIQ;
                        found = c;
                }
                if (!found)
                        return -ENOENT;
        }

        return interface_record(doc, found, ret);
}

int virt_xml_list_vf_candidates(const char *domain_xml, char **ret) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        _cleanup_free_ char *list = NULL;
        size_t size = 0;
        xmlNodePtr devices;
        FILE *f;
        int r;

        if (!ret)
                return -EINVAL;
        r = parse_devices(domain_xml, &doc, &devices);
        if (r < 0)
                return r;

        f = open_memstream(&list, &size);
        if (!f)
                return -ENOMEM;

        bool any_hostdev = devices_have_hostdev(devices), first = true;
        for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next) {
                if (!interface_is_candidate(c, any_hostdev))
                        continue;

                _cleanup_xml_ xmlChar *alias = child_attr(c, "alias", "name");
                _cleanup_xml_ xmlChar *mac = child_attr(c, "mac", "address");

                fprintf(f, "%s%s (%s)", first ? "" : ", ",
                        alias ? (const char *) alias : "no alias",
                        mac ? (const char *) mac : "no MAC");
                first = false;
        }
        if (fclose(f) != 0)
                return -ENOMEM;

        *ret = TAKE_PTR(list);
        return 0;
}

int virt_xml_has_vf(const char *domain_xml, const char *alias, const char *mac) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        xmlNodePtr devices;
        int r;

        r = parse_devices(domain_xml, &doc, &devices);
        if (r < 0)
                return r;

        for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (alias && node_has_alias(c, alias))
                        return 1;
                if (mac && node_is(c, "interface") && !interface_is_virtio(c) &&
                    interface_has_mac(c, mac))
                        return 1;
        }
        return 0;
}

/* A recorded <interface> element, parsed: -EBADMSG if it is not one. */
static int parse_interface(const char *interface_xml, xmlDocPtr *ret_doc, xmlNodePtr *ret_iface) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        xmlNodePtr iface;
        int r;

        r = parse(interface_xml, &doc);
        if (r < 0)
                return r;
        iface = xmlDocGetRootElement(doc);
        if (!node_is(iface, "interface"))
                return -EBADMSG;
        *ret_iface = iface;
        *ret_doc = TAKE_PTR(doc);
        return 0;
}

void virt_xml_nic_done(VirtXmlNic *n) {
        if (!n)
                return;
        free(n->pci_address);
        free(n->model);
        *n = (VirtXmlNic) {};
}

/* "DDDD:BB:SS.F" from <address type='pci' domain='0x0000' bus='0x3b' slot='0x02'
 * function='0x1'/>; -ENODATA if a part is missing or out of range. */
static int pci_address_format(xmlNodePtr address, char **ret) {
        static const char *const attrs[] = { "domain", "bus", "slot", "function" };
        static const unsigned long max[] = { 0xffff, 0xff, 0x1f, 0x7 };
        unsigned long v[4];

        if (!attr_is(address, "type", "pci"))
                return -ENODATA;
        for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
                _cleanup_xml_ xmlChar *a = xmlGetProp(address, (const xmlChar *) attrs[i]);
                char *end;

                if (!a || !*a)
                        return -ENODATA;
                errno = 0;
                v[i] = strtoul((const char *) a, &end, 0);
                if (errno || *end || v[i] > max[i] || *a == '-')
                        return -ENODATA;
        }
        return asprintf(ret, "%04lx:%02lx:%02lx.%lx", v[0], v[1], v[2], v[3]) < 0 ? -ENOMEM : 0;
}

/* The host PCI address of a hostdev interface's <source><address>; -ENODATA if none. */
static int interface_pci_address(xmlNodePtr iface, char **ret) {
        xmlNodePtr address = child_element(child_element(iface, "source"), "address");

        return address ? pci_address_format(address, ret) : -ENODATA;
}

int virt_xml_read_nic(const char *interface_xml, VirtXmlNic *ret) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        _cleanup_(virt_xml_nic_done) VirtXmlNic n = {};
        _cleanup_xml_ xmlChar *model = NULL;
        xmlNodePtr iface;
        int r;

        if (!ret)
                return -EINVAL;
        r = parse_interface(interface_xml, &doc, &iface);
        if (r < 0)
                return r;

        n.hostdev = interface_is_hostdev(iface);
        if (n.hostdev) {
                r = interface_pci_address(iface, &n.pci_address);
                if (r == -ENOMEM)
                        return r;
        }
        model = child_attr(iface, "model", "type");
        r = dup_xml_string(model, &n.model);
        if (r < 0)
                return r;

        *ret = n;
        n = (VirtXmlNic) {};
        return 0;
}

char **virt_xml_strv_free(char **l) {
        for (char **i = l; i && *i; i++)
                free(*i);
        free(l);
        return NULL;
}

int virt_xml_list_hostdev_pci(const char *domain_xml, char ***ret, size_t *ret_n) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        xmlNodePtr devices;
        char **l = NULL;
        size_t n = 0;
        int r;

        if (!ret || !ret_n)
                return -EINVAL;
        r = parse_devices(domain_xml, &doc, &devices);
        if (r < 0)
                return r;
        for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next) {
                char *a = NULL, **grown;

                if (!node_is(c, "interface") || !interface_is_hostdev(c))
                        continue;
                r = interface_pci_address(c, &a);
                if (r == -ENODATA)
                        continue;
                grown = r < 0 ? NULL : reallocarray(l, n + 2, sizeof(*l));
                if (!grown) {
                        free(a);
                        virt_xml_strv_free(l);
                        return -ENOMEM;
                }
                l = grown;
                l[n++] = a;
                l[n] = NULL;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int virt_xml_make_plug_xml(const char *interface_xml, char **ret) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        xmlNodePtr iface, source, next;
        int r;

        if (!ret)
                return -EINVAL;
        r = parse_interface(interface_xml, &doc, &iface);
        if (r < 0)
                return r;

        /* Where the device sat in the guest and which host tap it used are the old host's
         * business; the new host picks its own. */
        for (xmlNodePtr c = iface->children; c; c = next) {
                next = c->next;
                if (node_is(c, "address") || node_is(c, "target")) {
                        xmlUnlinkNode(c);
                        xmlFreeNode(c);
                }
        }

        /* libvirt reports the network port and the bridge it resolved to; both are its
         * own, per host. */
        source = child_element(iface, "source");
        if (source) {
                xmlAttrPtr a;

                a = xmlHasProp(source, (const xmlChar *) "portid");
                if (a)
                        xmlRemoveProp(a);
                if (attr_is(iface, "type", "network")) {
                        a = xmlHasProp(source, (const xmlChar *) "bridge");
                        if (a)
                                xmlRemoveProp(a);
                }
        }

        return node_dump(doc, iface, false, ret);
}

void virt_xml_plan_done(VirtXmlPlan *p) {
        if (!p)
                return;
        free(p->vf_alias);
        free(p->vf_mac);
        free(p->bond);
        free(p->source);
        free(p->device_xml);
        free(p->holder);
        *p = (VirtXmlPlan) {};
}

int virt_xml_make_plan(const VirtXmlPlan *p, char **ret) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        xmlNodePtr root;
        char job[16], holder_job[16], until[24];

        doc = xmlNewDoc((const xmlChar *) "1.0");
        if (!doc)
                return -ENOMEM;
        root = xmlNewDocNode(doc, NULL, (const xmlChar *) SRVM_PLAN_ELEMENT, NULL);
        if (!root)
                return -ENOMEM;
        xmlDocSetRootElement(doc, root);

        snprintf(job, sizeof job, "%u", p->job);
        snprintf(holder_job, sizeof holder_job, "%u", p->holder_job);
        snprintf(until, sizeof until, "%" PRIu64, p->lease_until);
        if ((p->vf_alias && !xmlNewProp(root, (const xmlChar *) SRVM_PLAN_VF_ALIAS, (const xmlChar *) p->vf_alias)) ||
            (p->vf_mac && !xmlNewProp(root, (const xmlChar *) SRVM_PLAN_VF_MAC, (const xmlChar *) p->vf_mac)) ||
            (p->bond && !xmlNewProp(root, (const xmlChar *) SRVM_PLAN_BOND, (const xmlChar *) p->bond)) ||
            (p->job && !xmlNewProp(root, (const xmlChar *) SRVM_PLAN_JOB, (const xmlChar *) job)) ||
            (p->source && !xmlNewProp(root, (const xmlChar *) SRVM_PLAN_SOURCE, (const xmlChar *) p->source)))
                return -ENOMEM;
        if (p->holder &&
            (!xmlNewProp(root, (const xmlChar *) SRVM_PLAN_HOLDER, (const xmlChar *) p->holder) ||
             !xmlNewProp(root, (const xmlChar *) SRVM_PLAN_HOLDER_JOB, (const xmlChar *) holder_job) ||
             !xmlNewProp(root, (const xmlChar *) SRVM_PLAN_LEASE_UNTIL, (const xmlChar *) until)))
                return -ENOMEM;
        /* xmlNewTextChild escapes the recorded element: it travels as text. */
        if (p->device_xml &&
            !xmlNewTextChild(root, NULL, (const xmlChar *) SRVM_PLAN_DEVICE, (const xmlChar *) p->device_xml))
                return -ENOMEM;

        return node_dump(doc, root, false, ret);
}

/* A decimal number up to max, digits only. -EBADMSG otherwise. */
static int parse_number(const char *s, uint64_t max, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || !isdigit((unsigned char) *s))
                return -EBADMSG;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int plan_attr(xmlNodePtr n, const char *name, char **ret) {
        _cleanup_xml_ xmlChar *v = xmlGetProp(n, (const xmlChar *) name);

        return dup_xml_string(v, ret);
}

int virt_xml_parse_plan(const char *xml, VirtXmlPlan *ret) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        int r;

        r = parse(xml, &doc);
        if (r < 0)
                return r;
        return virt_xml_plan_from_node(xmlDocGetRootElement(doc), ret);
}

int virt_xml_plan_from_node(struct _xmlNode *root, VirtXmlPlan *ret) {
        _cleanup_(virt_xml_plan_done) VirtXmlPlan p = {};
        _cleanup_free_ char *job = NULL, *holder_job = NULL, *until = NULL;
        xmlNodePtr device;
        uint64_t v;
        int r;

        if (!node_is(root, SRVM_PLAN_ELEMENT))
                return -EBADMSG;

        r = plan_attr(root, SRVM_PLAN_VF_ALIAS, &p.vf_alias);
        if (r >= 0)
                r = plan_attr(root, SRVM_PLAN_VF_MAC, &p.vf_mac);
        if (r >= 0)
                r = plan_attr(root, SRVM_PLAN_BOND, &p.bond);
        if (r >= 0)
                r = plan_attr(root, SRVM_PLAN_SOURCE, &p.source);
        if (r >= 0)
                r = plan_attr(root, SRVM_PLAN_JOB, &job);
        if (r >= 0)
                r = plan_attr(root, SRVM_PLAN_HOLDER, &p.holder);
        if (r >= 0)
                r = plan_attr(root, SRVM_PLAN_HOLDER_JOB, &holder_job);
        if (r >= 0)
                r = plan_attr(root, SRVM_PLAN_LEASE_UNTIL, &until);
        if (r < 0)
                return r;
        if (job) {
                r = parse_number(job, UINT32_MAX, &v);
                if (r < 0)
                        return r;
                p.job = (unsigned) v;
        }
        /* A lease is whole or it is not there: a holder without its job and time holds
         * nothing anyone could wait out, so it is not a plan srvmd wrote. */
        if (!p.holder != !holder_job || !p.holder != !until || (p.holder && !*p.holder))
                return -EBADMSG;
        if (p.holder) {
                r = parse_number(holder_job, UINT32_MAX, &v);
                if (r < 0)
                        return r;
                p.holder_job = (unsigned) v;
                r = parse_number(until, UINT64_MAX, &p.lease_until);
                if (r < 0)
                        return r;
        }
        if (p.vf_mac && !virt_xml_is_mac(p.vf_mac))
                return -EBADMSG;

        device = child_element(root, SRVM_PLAN_DEVICE);
        if (device) {
                _cleanup_xml_ xmlChar *text = xmlNodeGetContent(device);

                r = dup_xml_string(text, &p.device_xml);
                if (r < 0)
                        return r;
        }

        *ret = p;
        p = (VirtXmlPlan) {};
        return 0;
}

uint64_t virt_xml_plan_lease_left(const VirtXmlPlan *p, const char *host, unsigned job, uint64_t now) {
        if (!p || !p->holder || p->lease_until <= now)
                return 0;
        if (host && strcasecmp(p->holder, host) == 0 && p->holder_job == job)
                return 0; /* our own: a restarted srvmd takes up where it stopped */
        return p->lease_until - now;
}

int virt_xml_plan_set_lease(VirtXmlPlan *p, const char *host, unsigned job, uint64_t until) {
        char *h = NULL;

        if (!p)
                return -EINVAL;
        if (host) {
                h = strdup(host);
                if (!h)
                        return -ENOMEM;
        }
        free(p->holder);
        p->holder = h;
        p->holder_job = host ? job : 0;
        p->lease_until = host ? until : 0;
        return 0;
}

int virt_xml_host_uuid(const char *capabilities_xml, char **ret) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        _cleanup_xml_ xmlChar *text = NULL;
        xmlNodePtr root, uuid;
        int r;

        r = parse(capabilities_xml, &doc);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!node_is(root, "capabilities"))
                return -EBADMSG;
        uuid = child_element(child_element(root, "host"), "uuid");
        if (!uuid)
                return -ENODATA;
        text = xmlNodeGetContent(uuid);
        if (!text || !*text)
                return -ENODATA;
        return dup_xml_string(text, ret);
}

void virt_xml_domain_info_done(VirtXmlDomainInfo *i) {
        if (!i)
                return;
        free(i->name);
        free(i->uuid);
        for (size_t k = 0; k < i->n_metadata; k++) {
                free(i->metadata[k].namespace_uri);
                free(i->metadata[k].element);
                free(i->metadata[k].value);
        }
        free(i->metadata);
        *i = (VirtXmlDomainInfo) {};
}

/* The text of an element, white space around it removed; NULL if there is none. */
static int node_text(xmlNodePtr n, char **ret) {
        _cleanup_xml_ xmlChar *content = NULL;
        const char *s, *e;
        char *d = NULL;

        /* Only the element's own text: the text of its children is theirs. */
        for (xmlNodePtr c = n->children; c; c = c->next)
                if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
                        content = xmlNodeGetContent(c);
                        if (!content)
                                return -ENOMEM;
                        break;
                }

        if (content) {
                s = (const char *) content;
                while (*s && isspace((unsigned char) *s))
                        s++;
                e = s + strlen(s);
                while (e > s && isspace((unsigned char) e[-1]))
                        e--;
                if (e > s) {
                        d = strndup(s, (size_t) (e - s));
                        if (!d)
                                return -ENOMEM;
                }
        }
        *ret = d;
        return 0;
}

static int metadata_collect(xmlNodePtr parent, VirtXmlDomainInfo *info) {
        int r;

        for (xmlNodePtr c = parent->children; c; c = c->next) {
                VirtXmlMetadata *m, *a;

                if (c->type != XML_ELEMENT_NODE)
                        continue;

                a = reallocarray(info->metadata, info->n_metadata + 1, sizeof(*a));
                if (!a)
                        return -ENOMEM;
                info->metadata = a;
                m = &a[info->n_metadata];
                *m = (VirtXmlMetadata) {};
                info->n_metadata++;

                m->element = strdup((const char *) c->name);
                if (!m->element)
                        return -ENOMEM;
                if (c->ns && c->ns->href) {
                        m->namespace_uri = strdup((const char *) c->ns->href);
                        if (!m->namespace_uri)
                                return -ENOMEM;
                }
                r = node_text(c, &m->value);
                if (r < 0)
                        return r;

                r = metadata_collect(c, info);
                if (r < 0)
                        return r;
        }
        return 0;
}

int virt_xml_read_domain_info(const char *domain_xml, VirtXmlDomainInfo *ret) {
        _cleanup_(virt_xml_domain_info_done) VirtXmlDomainInfo info = {};
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        xmlNodePtr root, n;
        int r;

        r = parse(domain_xml, &doc);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!node_is(root, "domain"))
                return -EBADMSG;

        n = child_element(root, "name");
        if (n) {
                r = node_text(n, &info.name);
                if (r < 0)
                        return r;
        }
        n = child_element(root, "uuid");
        if (n) {
                r = node_text(n, &info.uuid);
                if (r < 0)
                        return r;
        }
        n = child_element(root, "metadata");
        if (n) {
                r = metadata_collect(n, &info);
                if (r < 0)
                        return r;
        }

        *ret = info;
        info = (VirtXmlDomainInfo) {};
        return 0;
}

int virt_xml_resolve_policy(const PolicySet *set, const VirtXmlDomainInfo *info, const Policy **ret,
                            PolicyMatchKind *ret_kind) {
        _cleanup_free_ PolicyMetadata *md = NULL;
        PolicyDomainInfo d;
        const Policy *p;

        if (!info->name)
                return -EINVAL;
        md = calloc(info->n_metadata ? info->n_metadata : 1, sizeof(*md));
        if (!md)
                return -ENOMEM;
        for (size_t i = 0; i < info->n_metadata; i++)
                md[i] = (PolicyMetadata) {
                        .namespace_uri = info->metadata[i].namespace_uri,
                        .element = info->metadata[i].element,
                        .value = info->metadata[i].value,
                };
        d = (PolicyDomainInfo) {
                .name = info->name,
                .uuid = info->uuid,
                .metadata = md,
                .n_metadata = info->n_metadata,
        };
        p = policy_set_resolve(set, &d, ret_kind);
        if (!p)
                return -ENOENT;
        *ret = p;
        return 0;
}

static int why(char **ret_why, int r, const char *fmt, ...) _printf_(3, 4);
static int why(char **ret_why, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_why) {
                va_start(ap, fmt);
                if (vasprintf(ret_why, fmt, ap) < 0)
                        *ret_why = NULL;
                va_end(ap);
        }
        return r;
}

int virt_xml_plan_from_policy(const char *domain_xml, const Policy *p, VirtXmlPlan *ret, char **ret_why) {
        _cleanup_(virt_xml_interface_done) VirtXmlInterface other = {};
        _cleanup_(virt_xml_plan_done) VirtXmlPlan plan = {};
        _cleanup_free_ char *xml = NULL;
        const char *mac, *name;
        int r;

        if (!domain_xml || !p || !ret)
                return -EINVAL;
        name = policy_get_name(p);
        mac = policy_get_vf(p);

        /* A domain that has its VF, or anything srvm would take for one, is left as it is. */
        if (mac && virt_xml_is_mac(mac)) {
                r = virt_xml_has_vf(domain_xml, NULL, mac);
                if (r < 0)
                        return r;
                if (r > 0)
                        return why(ret_why, 0, "its VF %s is plugged", mac);
        }
        r = virt_xml_find_vf(domain_xml, NULL, &other);
        if (r == -EBADMSG)
                return r;
        if (r >= 0 || r == -ENOTUNIQ) {
                _cleanup_free_ char *list = NULL;

                (void) virt_xml_list_vf_candidates(domain_xml, &list);
                return why(ret_why, 0, "it has an interface that could be a VF (%s): not plugging another",
                           strna(list));
        }

        if (!mac || !virt_xml_is_mac(mac))
                return why(ret_why, -ENODATA,
                           "its policy %s does not give the VF's MAC address (guest.vf is %s), so srvm cannot tell which VF its bond expects",
                           name, mac ? mac : "auto");
        if (policy_get_plug_source(p) == POLICY_PLUG_RECORDED)
                return why(ret_why, -ENODATA,
                           "its policy %s plugs the VF recorded on the source, and a domain that arrives without srvm's plan carries no record (plug source network or template can say)",
                           name);
        r = policy_make_plug_xml(p, NULL, mac, VIRT_XML_ARRIVAL_ALIAS, &xml);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return why(ret_why, -ENODATA, "its policy %s cannot make the VF's XML: %s", name, strerror(-r));

        plan.vf_alias = strdup(VIRT_XML_ARRIVAL_ALIAS);
        plan.vf_mac = strdup(mac);
        plan.bond = strdup(policy_get_bond(p) ?: "bond0");
        if (!plan.vf_alias || !plan.vf_mac || !plan.bond)
                return -ENOMEM;
        for (char *c = plan.vf_mac; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        plan.device_xml = TAKE_PTR(xml);
        *ret = plan;
        plan = (VirtXmlPlan) {};
        if (ret_why)
                *ret_why = NULL;
        return 1;
}

void virt_xml_network_pool_done(VirtXmlNetworkPool *p) {
        if (!p)
                return;
        free(p->forward_mode);
        *p = (VirtXmlNetworkPool) {};
}

static int attr_int(xmlNodePtr n, const char *attr) {
        _cleanup_xml_ xmlChar *v = xmlGetProp(n, (const xmlChar *) attr);
        char *end;
        long l;

        if (!v)
                return 0;
        errno = 0;
        l = strtol((const char *) v, &end, 10);
        if (errno != 0 || *end || l < 0 || l > INT_MAX)
                return 0;
        return (int) l;
}

int virt_xml_read_network_pool(const char *network_xml, VirtXmlNetworkPool *ret) {
        _cleanup_(virt_xml_network_pool_done) VirtXmlNetworkPool pool = { .n_devices = -1, .n_free = -1 };
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        _cleanup_xml_ xmlChar *mode = NULL;
        xmlNodePtr root, forward;
        int r, used, n = 0;

        r = parse(network_xml, &doc);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!node_is(root, "network"))
                return -EBADMSG;

        forward = child_element(root, "forward");
        if (forward) {
                mode = xmlGetProp(forward, (const xmlChar *) "mode");
                /* libvirt's default forward mode. */
                pool.forward_mode = strdup(mode ? (const char *) mode : "nat");
                if (!pool.forward_mode)
                        return -ENOMEM;
        }

        if (forward && pool.forward_mode &&
            (streq(pool.forward_mode, "hostdev") || streq(pool.forward_mode, "passthrough"))) {
                /* A hostdev pool lists its VFs as <address>, a passthrough one as <interface>;
                 * libvirt expands a <pf> into them when the network starts. */
                for (xmlNodePtr c = forward->children; c; c = c->next)
                        if (node_is(c, "address") || node_is(c, "interface"))
                                n++;
                used = attr_int(root, "connections");
                if (n > 0) {
                        pool.n_devices = n;
                        pool.n_free = n > used ? n - used : 0;
                }
        }

        *ret = pool;
        pool = (VirtXmlNetworkPool) {};
        return 0;
}
