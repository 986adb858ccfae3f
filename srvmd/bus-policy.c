/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See bus-policy.h. */
#include <dirent.h>
#include <stdio.h>

#include "bus-policy.h"
#include "xml-util.h"

const char *const bus_policy_dirs_default[] = { "/etc/dbus-1/system.d", "/usr/share/dbus-1/system.d", NULL };

static bool file_allows(const char *path, const char *name, const char *group) {
        _cleanup_(xml_doc_freep) xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

        if (!node_is(root, "busconfig"))
                return false;
        for (xmlNodePtr p = root->children; p; p = p->next) {
                if (!node_is(p, "policy") || !attr_is(p, "group", group))
                        continue;
                for (xmlNodePtr a = p->children; a; a = a->next)
                        if (node_is(a, "allow") && attr_is(a, "send_destination", name))
                                return true;
        }
        return false;
}

int bus_policy_allows_group(const char *const *dirs, const char *name, const char *group, char **ret_file) {
        for (; dirs && *dirs; dirs++) {
                DIR *d = opendir(*dirs);
                struct dirent *de;

                if (!d)
                        continue;
                while ((de = readdir(d))) {
                        size_t n = strlen(de->d_name);
                        _cleanup_free_ char *path = NULL;

                        if (n < 6 || !streq(de->d_name + n - 5, ".conf"))
                                continue;
                        if (asprintf(&path, "%s/%s", *dirs, de->d_name) < 0) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        if (file_allows(path, name, group)) {
                                closedir(d);
                                if (ret_file)
                                        *ret_file = TAKE_PTR(path);
                                return 1;
                        }
                }
                closedir(d);
        }
        return 0;
}
