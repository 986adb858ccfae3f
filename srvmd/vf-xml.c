/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VF users from domain XML. See vf-xml.h. */
#include <ctype.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "vf-xml.h"
#include "xml-util.h"

struct VfUsers {
        VfUser *users; /* the strings in each are owned */
        size_t n, allocated;
};

int vf_users_new(VfUsers **ret) {
        VfUsers *u;

        if (!ret)
                return -EINVAL;
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        *ret = u;
        return 0;
}

static void user_done(VfUser *v) {
        free((char *) v->domain);
        free((char *) v->pci_address);
        free((char *) v->mac);
        *v = (VfUser) {};
}

VfUsers *vf_users_free(VfUsers *u) {
        if (!u)
                return NULL;
        for (size_t i = 0; i < u->n; i++)
                user_done(&u->users[i]);
        free(u->users);
        free(u);
        return NULL;
}

const VfUser *vf_users_get(const VfUsers *u, size_t *ret_n) {
        if (ret_n)
                *ret_n = u ? u->n : 0;
        return u ? u->users : NULL;
}

static bool device_is_passthrough(xmlNodePtr n) {
        if (node_is(n, "interface"))
                return attr_is(n, "type", "hostdev");
        if (node_is(n, "hostdev"))
                return attr_is(n, "type", "pci") && !attr_is(n, "mode", "capabilities");
        return false;
}

/* <source><address domain bus slot function/></source>; NULL if absent or malformed. */
static int device_pci_address(xmlNodePtr n, char **ret) {
        xmlNodePtr a = child_element(child_element(n, "source"), "address");
        _cleanup_xml_ xmlChar *d = NULL, *b = NULL, *s = NULL, *f = NULL;
        int r;

        *ret = NULL;
        if (!a)
                return 0;
        d = xmlGetProp(a, (const xmlChar *) "domain");
        b = xmlGetProp(a, (const xmlChar *) "bus");
        s = xmlGetProp(a, (const xmlChar *) "slot");
        f = xmlGetProp(a, (const xmlChar *) "function");
        r = vf_pci_address_from_libvirt((const char *) d, (const char *) b, (const char *) s,
                                        (const char *) f, ret);
        return r == -ENOMEM ? r : 0;
}

static int device_mac(xmlNodePtr n, char **ret) {
        xmlNodePtr m = child_element(n, "mac");
        _cleanup_xml_ xmlChar *a = m ? xmlGetProp(m, (const xmlChar *) "address") : NULL;

        *ret = NULL;
        if (!a)
                return 0;
        *ret = strdup((const char *) a);
        if (!*ret)
                return -ENOMEM;
        for (char *p = *ret; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        return 0;
}

static int users_push(VfUsers *u, VfUser *v) {
        if (u->n == u->allocated) {
                size_t a = u->allocated ? u->allocated * 2 : 8;
                VfUser *users = reallocarray(u->users, a, sizeof(*users));
                if (!users)
                        return -ENOMEM;
                u->users = users;
                u->allocated = a;
        }
        u->users[u->n++] = *v;
        *v = (VfUser) {};
        return 0;
}

int vf_users_add_domain_xml(VfUsers *u, const char *domain_xml) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = NULL;
        _cleanup_xml_ xmlChar *name = NULL;
        xmlNodePtr root, devices, n;
        int r, added = 0;

        if (!u || !domain_xml)
                return -EINVAL;
        r = xml_parse(domain_xml, 0, &doc);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!node_is(root, "domain"))
                return -EBADMSG;
        n = child_element(root, "name");
        name = n ? xmlNodeGetContent(n) : NULL;
        if (!name || !*name)
                return -EBADMSG;
        devices = child_element(root, "devices");

        for (xmlNodePtr c = devices ? devices->children : NULL; c; c = c->next) {
                VfUser v = {};
                char *pci = NULL, *mac = NULL;

                if (!device_is_passthrough(c))
                        continue;
                r = device_pci_address(c, &pci);
                if (r < 0)
                        return r;
                r = device_mac(c, &mac);
                if (r < 0) {
                        free(pci);
                        return r;
                }
                if (!pci && !mac)
                        continue;

                v.pci_address = pci;
                v.mac = mac;
                v.domain = strdup((const char *) name);
                if (!v.domain) {
                        user_done(&v);
                        return -ENOMEM;
                }
                r = users_push(u, &v);
                if (r < 0) {
                        user_done(&v);
                        return r;
                }
                added++;
        }
        return added;
}
