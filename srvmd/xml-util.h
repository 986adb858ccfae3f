/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libxml2 glue shared by everything that reads libvirt's XML (virt-xml.c, vf-xml.c, the hook):
 * scope-bound release of documents and strings, and the few element and attribute lookups
 * they all need. Header-only. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "macro.h"

static inline void xml_doc_freep(xmlDocPtr *d) {
        if (*d)
                xmlFreeDoc(*d);
}

static inline void xml_charp_freep(xmlChar **s) {
        if (*s)
                xmlFree(*s);
}
#define _cleanup_xml_ _cleanup_(xml_charp_freep)

/* Parse a document from a string, never from the network, without printing errors;
 * -EBADMSG if it is not XML. extra_flags: more XML_PARSE_* (e.g. NOBLANKS). */
static inline int xml_parse(const char *xml, int extra_flags, xmlDocPtr *ret) {
        xmlDocPtr doc;

        if (!xml)
                return -EINVAL;
        doc = xmlReadMemory(xml, (int) strnlen(xml, INT32_MAX), NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | extra_flags);
        if (!doc)
                return -EBADMSG;
        *ret = doc;
        return 0;
}

static inline bool node_is(xmlNodePtr n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && streq((const char *) n->name, name);
}

static inline xmlNodePtr child_element(xmlNodePtr parent, const char *name) {
        for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
                if (node_is(c, name))
                        return c;
        return NULL;
}

/* The attribute of a child element, e.g. <model type='virtio'/>; NULL if absent. */
static inline xmlChar *child_attr(xmlNodePtr parent, const char *child, const char *attr) {
        xmlNodePtr c = child_element(parent, child);

        return c ? xmlGetProp(c, (const xmlChar *) attr) : NULL;
}

static inline bool attr_is(xmlNodePtr n, const char *attr, const char *value) {
        _cleanup_xml_ xmlChar *v = xmlGetProp(n, (const xmlChar *) attr);

        return v && streq((const char *) v, value);
}

/* An element serialized, as a string of its own; with a newline at the end if newline. */
static inline int node_dump(xmlDocPtr doc, xmlNodePtr n, bool newline, char **ret) {
        xmlBufferPtr buf;
        char *s;

        buf = xmlBufferCreate();
        if (!buf)
                return -ENOMEM;
        if (xmlNodeDump(buf, doc, n, 0, 0) < 0) {
                xmlBufferFree(buf);
                return -ENOMEM;
        }
        if (asprintf(&s, "%s%s", (const char *) xmlBufferContent(buf), newline ? "\n" : "") < 0)
                s = NULL;
        xmlBufferFree(buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
