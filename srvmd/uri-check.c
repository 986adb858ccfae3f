/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The destination and migrate URIs a caller passes, checked against root's allow lists
 * before srvmd or libvirtd acts on them (see uri-check.h). The parse is libvirt's own:
 * virURIParse() is xmlParseURI() plus a split of the raw query at '&' (or ';' when there is
 * no '&' at all), each name and value unescaped with xmlURIUnescapeString(); the remote
 * driver then takes the part of the scheme after '+' as the transport (tls when absent and a
 * host is named, unix when not), and compares parameter names without regard to case. Any
 * parameter not allowed is refused, known to libvirt or not: an unknown one is passed on to
 * the destination's libvirtd, whose meaning of it is not ours to guess. */
#include <libxml/uri.h>
#include <stdio.h>
#include <strings.h>

#include "macro.h"
#include "uri-check.h"

/* Longer than any sane URI, short enough to quote in a sentence. */
#define URI_LENGTH_MAX 1024
#define NAME_LENGTH_MAX 32

static const char *const uri_list_table[_URI_LIST_MAX] = {
        [URI_LIST_DRIVER] = "driver",
        [URI_LIST_TRANSPORT] = "transport",
        [URI_LIST_PARAM] = "param",
        [URI_LIST_MIGRATE_SCHEME] = "migrate-scheme",
};

DEFINE_STRING_TABLE_LOOKUP(uri_list, UriList);

/* What the remote driver knows (remoteDriverTransport in libvirt's remote_sockets.c). */
static const char *const libvirt_transports[] = { "tls", "unix", "ssh", "libssh2", "ext", "tcp", "libssh" };

static const char *const default_lists[_URI_LIST_MAX][5] = {
        [URI_LIST_DRIVER] = { "qemu" },
        [URI_LIST_TRANSPORT] = { "tls", "tcp", "ssh", "libssh2" },
        [URI_LIST_PARAM] = {},
        [URI_LIST_MIGRATE_SCHEME] = { "tcp" },
};

struct UriRules {
        char **names[_URI_LIST_MAX]; /* NULL-terminated, owned */
        size_t n_names[_URI_LIST_MAX];
        bool replaced[_URI_LIST_MAX]; /* the default gave way to root's first word */
};

static void names_free(char **names) {
        if (!names)
                return;
        for (char **p = names; *p; p++)
                free(*p);
        free(names);
}

static int names_add(UriRules *r, UriList l, const char *name, size_t len) {
        char **n;

        for (size_t i = 0; i < r->n_names[l]; i++)
                if (strlen(r->names[l][i]) == len && strncmp(r->names[l][i], name, len) == 0)
                        return 0;

        n = realloc(r->names[l], (r->n_names[l] + 2) * sizeof(char *));
        if (!n)
                return -ENOMEM;
        r->names[l] = n;
        n[r->n_names[l]] = strndup(name, len);
        if (!n[r->n_names[l]])
                return -ENOMEM;
        n[++r->n_names[l]] = NULL;
        return 0;
}

UriRules *uri_rules_free(UriRules *r) {
        if (!r)
                return NULL;
        for (size_t l = 0; l < _URI_LIST_MAX; l++)
                names_free(r->names[l]);
        free(r);
        return NULL;
}

int uri_rules_new(UriRules **ret) {
        _cleanup_(uri_rules_freep) UriRules *r = calloc(1, sizeof(UriRules));
        int k;

        if (!r)
                return -ENOMEM;
        for (size_t l = 0; l < _URI_LIST_MAX; l++) {
                r->names[l] = calloc(1, sizeof(char *));
                if (!r->names[l])
                        return -ENOMEM;
                for (size_t i = 0; i < ELEMENTSOF(default_lists[l]) && default_lists[l][i]; i++) {
                        k = names_add(r, (UriList) l, default_lists[l][i], strlen(default_lists[l][i]));
                        if (k < 0)
                                return k;
                }
        }
        *ret = TAKE_PTR(r);
        return 0;
}

static bool name_is_valid(UriList l, const char *s, size_t len) {
        if (len == 0 || len > NAME_LENGTH_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_", s[i]))
                        return false;
        if (l == URI_LIST_TRANSPORT) {
                for (size_t i = 0; i < ELEMENTSOF(libvirt_transports); i++)
                        if (strlen(libvirt_transports[i]) == len && strncmp(libvirt_transports[i], s, len) == 0)
                                return true;
                return false;
        }
        return true;
}

int uri_rules_allow(UriRules *r, UriList l, const char *names, const char **ret_bad, size_t *ret_bad_len) {
        const char *p = names;
        int k;

        if ((int) l < 0 || l >= _URI_LIST_MAX || !names)
                return -EINVAL;

        /* All or nothing: check every word before the list changes. */
        for (;;) {
                size_t len = strcspn(p, ",");

                if (!name_is_valid(l, p, len)) {
                        if (ret_bad)
                                *ret_bad = p;
                        if (ret_bad_len)
                                *ret_bad_len = len;
                        return -EINVAL;
                }
                if (p[len] == '\0')
                        break;
                p += len + 1;
        }

        if (!r->replaced[l]) {
                for (size_t i = 0; i < r->n_names[l]; i++)
                        free(r->names[l][i]);
                r->n_names[l] = 0;
                r->names[l][0] = NULL;
                r->replaced[l] = true;
        }

        for (p = names;;) {
                size_t len = strcspn(p, ",");

                k = names_add(r, l, p, len);
                if (k < 0)
                        return k;
                if (p[len] == '\0')
                        return 0;
                p += len + 1;
        }
}

int uri_rules_describe(const UriRules *r, UriList l, char **ret) {
        size_t size = 5;
        char *s;

        if ((int) l < 0 || l >= _URI_LIST_MAX)
                return -EINVAL;
        for (size_t i = 0; i < r->n_names[l]; i++)
                size += strlen(r->names[l][i]) + 2;
        s = malloc(size);
        if (!s)
                return -ENOMEM;
        s[0] = '\0';
        for (size_t i = 0; i < r->n_names[l]; i++) {
                if (i > 0)
                        strcat(s, ", ");
                strcat(s, r->names[l][i]);
        }
        if (r->n_names[l] == 0)
                strcpy(s, "none");
        *ret = s;
        return 0;
}

static bool rules_allow(const UriRules *r, UriList l, const char *name, bool any_case) {
        for (size_t i = 0; i < r->n_names[l]; i++)
                if (any_case ? strcasecmp(r->names[l][i], name) == 0 : streq(r->names[l][i], name))
                        return true;
        return false;
}

static bool is_empty(const char *s) {
        return !s || s[0] == '\0';
}

/* A URI goes into sentences, logs and the journal: printable ASCII only, as RFC 3986 wants. */
static int check_printable(const char *what, const char *uri, char **ret_why) {
        size_t n = strlen(uri);

        if (n > URI_LENGTH_MAX)
                return asprintf(ret_why, "the %s URI is %zu bytes long; srvmd takes at most %d.",
                                what, n, URI_LENGTH_MAX) < 0 ? -ENOMEM : -EPERM;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) uri[i] <= ' ' || (unsigned char) uri[i] >= 0x7f)
                        return asprintf(ret_why, "the %s URI has byte 0x%02x at offset %zu; a URI is printable "
                                        "ASCII without spaces (escape the rest with %%XX).",
                                        what, (unsigned char) uri[i], i) < 0 ? -ENOMEM : -EPERM;
        return 0;
}

/* A host name, an IPv4 or a bracketed IPv6 address as libxml2 leaves it; never one that ssh
 * or a resolver would read as an option or as something else. */
static bool host_is_valid(const char *s) {
        if (is_empty(s) || s[0] == '-')
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]_", *s))
                        return false;
        return true;
}

static bool user_is_valid(const char *s) {
        if (is_empty(s) || s[0] == '-')
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *s))
                        return false;
        return true;
}

static void xml_urip(xmlURIPtr *u) {
        if (*u)
                xmlFreeURI(*u);
}

static void xml_freep(char **p) {
        if (*p)
                xmlFree(*p);
}

static int refuse_not_allowed(const UriRules *r, UriList l, char **ret_why, const char *uri,
                              const char *what, const char *name) {
        _cleanup_free_ char *allowed = NULL;
        int k;

        k = uri_rules_describe(r, l, &allowed);
        if (k < 0)
                return k;
        return refuse_with(ret_why, -EPERM, "the destination URI '%s' uses %s '%s', which this host's srvmd does not allow "
                           "(allowed: %s; see --allow-uri-%s in srvmd(8)).",
                           uri, what, name, allowed, uri_list_to_string(l));
}

/* libvirt's virURIParseParams(), which has its own idea of separators: the first '&' of the
 * rest of the query ends a section, and ';' only when no '&' is left. */
static int check_params(const UriRules *r, const char *uri, const char *query, char **ret_why) {
        if (is_empty(query))
                return 0;

        while (*query) {
                _cleanup_(xml_freep) char *name = NULL;
                const char *end, *eq;

                end = strchr(query, '&');
                if (!end)
                        end = strchr(query, ';');
                if (!end)
                        end = query + strlen(query);
                eq = strchr(query, '=');
                if (eq && eq >= end)
                        eq = NULL;

                /* libvirt skips "" and "=value"; so may we. */
                if (end != query && eq != query) {
                        size_t raw_len = (size_t) ((eq ? eq : end) - query);

                        name = xmlURIUnescapeString(query, (int) raw_len, NULL);
                        if (!name)
                                return -ENOMEM;
                        if (!rules_allow(r, URI_LIST_PARAM, name, true)) {
                                _cleanup_free_ char *raw = strndup(query, raw_len);

                                if (!raw)
                                        return -ENOMEM;
                                return refuse_not_allowed(r, URI_LIST_PARAM, ret_why, uri, "parameter", raw);
                        }
                }

                query = end;
                if (*query)
                        query++;
        }
        return 0;
}

int uri_check_destination(const UriRules *r, const char *uri, char **ret_why) {
        _cleanup_(xml_urip) xmlURIPtr u = NULL;
        _cleanup_free_ char *driver = NULL;
        const char *plus, *transport;
        int k;

        k = check_printable("destination", uri, ret_why);
        if (k < 0)
                return k;

        u = xmlParseURI(uri);
        if (!u)
                return refuse_with(ret_why, -EPERM, "the destination URI '%s' is not a URI libvirt can parse.", uri);
        if (is_empty(u->scheme))
                return refuse_with(ret_why, -EPERM, "the destination URI '%s' has no scheme; name the driver and transport, "
                                   "as in qemu+ssh://HOST/system.", uri);

        plus = strchr(u->scheme, '+');
        driver = strndup(u->scheme, plus ? (size_t) (plus - u->scheme) : strlen(u->scheme));
        if (!driver)
                return -ENOMEM;
        if (!rules_allow(r, URI_LIST_DRIVER, driver, false))
                return refuse_not_allowed(r, URI_LIST_DRIVER, ret_why, uri, "driver", driver);

        /* The remote driver's choice when the scheme names no transport. */
        transport = plus ? plus + 1 : !is_empty(u->server) ? "tls" : "unix";
        if (!rules_allow(r, URI_LIST_TRANSPORT, transport, false))
                return refuse_not_allowed(r, URI_LIST_TRANSPORT, ret_why, uri, "transport",
                                          plus ? transport : !is_empty(u->server) ? "tls (implied by the host)" :
                                                                                     "unix (implied by no host)");

        if (!is_empty(u->server) && !host_is_valid(u->server))
                return refuse_with(ret_why, -EPERM, "the destination URI '%s' names a host that is not a host name or an IP "
                                   "address.", uri);
        if (u->user && !user_is_valid(u->user))
                return refuse_with(ret_why, -EPERM, "the destination URI '%s' names a user that is not a plain user name "
                                   "(letters, digits, '.', '_', '-', not first).", uri);
        if (u->fragment)
                return refuse_with(ret_why, -EPERM, "the destination URI '%s' has a fragment ('#...'), which libvirt does not use.", uri);
        if (streq(driver, "qemu") && !streq_ptr(u->path, "/system"))
                return refuse_with(ret_why, -EPERM, "the destination URI '%s' has path '%s'; srvmd migrates to the destination's "
                                   "system instance, path /system.", uri, u->path ? u->path : "");

        return check_params(r, uri, u->query_raw, ret_why);
}

int uri_check_migrate(const UriRules *r, const char *uri, char **ret_why) {
        _cleanup_(xml_urip) xmlURIPtr u = NULL;
        _cleanup_free_ char *allowed = NULL;
        int k;

        k = check_printable("migrate", uri, ret_why);
        if (k < 0)
                return k;

        u = xmlParseURI(uri);
        if (!u)
                return refuse_with(ret_why, -EPERM, "the migrate URI '%s' is not a URI libvirt can parse.", uri);
        if (is_empty(u->scheme) || !rules_allow(r, URI_LIST_MIGRATE_SCHEME, u->scheme, false)) {
                k = uri_rules_describe(r, URI_LIST_MIGRATE_SCHEME, &allowed);
                if (k < 0)
                        return k;
                return refuse_with(ret_why, -EPERM, "the migrate URI '%s' uses scheme '%s', which this host's srvmd does not allow "
                                   "(allowed: %s; see --allow-uri-migrate-scheme in srvmd(8)).",
                                   uri, u->scheme ? u->scheme : "", allowed);
        }
        if (u->user || u->query_raw || u->fragment)
                return refuse_with(ret_why, -EPERM, "the migrate URI '%s' has a %s; it is SCHEME://HOST:PORT only.",
                                   uri, u->user ? "user" : u->query_raw ? "query" : "fragment");

        if (is_empty(u->server)) {
                /* unix:///run/... names a socket, if root allowed the scheme; every other one a
                 * host (libvirt reads an opaque tcp:HOST:PORT its own way: not ours to guess). */
                if (!streq(u->scheme, "unix") || is_empty(u->path) || u->path[0] != '/')
                        return refuse_with(ret_why, -EPERM, "the migrate URI '%s' names no host; it is SCHEME://HOST:PORT.", uri);
                return 0;
        }
        if (!host_is_valid(u->server))
                return refuse_with(ret_why, -EPERM, "the migrate URI '%s' names a host that is not a host name or an IP address.", uri);
        if (u->port <= 0 || u->port > 65535)
                return refuse_with(ret_why, -EPERM, "the migrate URI '%s' has no port from 1 to 65535; it is SCHEME://HOST:PORT.", uri);
        if (!is_empty(u->path) && !streq(u->path, "/"))
                return refuse_with(ret_why, -EPERM, "the migrate URI '%s' has a path; it is SCHEME://HOST:PORT only.", uri);
        return 0;
}
