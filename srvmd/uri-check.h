/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which libvirt URIs a caller may name. srvmd opens a Migrate's or Check's destination URI
 * itself and hands it and the migrate URI to libvirtd, both as root; libvirt's URIs can run
 * programs (the ext transport's and ssh's command= and netcat=) and open files and sockets
 * (socket=, keyfile=, known_hosts=, pkipath=, authfile=, the test driver's path). So where a
 * migration may go is root's decision, written in srvmd's command line: the drivers, the
 * transports and the query parameters a destination URI may use, and the schemes of a migrate
 * URI. A URI is read the way libvirt reads it (libxml2's xmlParseURI, then libvirt's split of
 * the query), and whatever is not allowed is refused with one sentence naming it. */
#pragma once

#include <errno.h>

typedef enum UriList {
        URI_LIST_DRIVER,         /* the part of the scheme before '+': qemu */
        URI_LIST_TRANSPORT,      /* after '+', or implied: tls with a host, unix without */
        URI_LIST_PARAM,          /* query parameter names, compared as libvirt does: any case */
        URI_LIST_MIGRATE_SCHEME, /* the migrate URI's scheme: tcp */
        _URI_LIST_MAX,
        _URI_LIST_INVALID = -EINVAL,
} UriList;

const char *uri_list_to_string(UriList l);
UriList uri_list_from_string(const char *s);

typedef struct UriRules UriRules;

/* The safe default: driver qemu; transports tls, tcp, ssh, libssh2; no parameter; migrate
 * scheme tcp. */
int uri_rules_new(UriRules **ret);
UriRules *uri_rules_free(UriRules *r);
static inline void uri_rules_freep(UriRules **r) {
        uri_rules_free(*r);
}

/* Allow the comma-separated names in list l. The first call for a list replaces its default,
 * later ones add. -EINVAL if a name is not a plain lowercase word (or, for transports, not one
 * libvirt knows); *ret_bad then points at it within names. */
int uri_rules_allow(UriRules *r, UriList l, const char *names, const char **ret_bad, size_t *ret_bad_len);

/* The names allowed in l, comma-separated ("none" when empty), for help and refusals. */
int uri_rules_describe(const UriRules *r, UriList l, char **ret);

/* 0 if the destination URI of a migration or check may be used. -EPERM if not, with one
 * sentence naming the offending part in *ret_why (lowercase, to follow "Cannot migrate domain
 * 'x': "); -ENOMEM. */
int uri_check_destination(const UriRules *r, const char *uri, char **ret_why);

/* The same for the migrate URI of the migration stream (VIR_MIGRATE_PARAM_URI). */
int uri_check_migrate(const UriRules *r, const char *uri, char **ret_why);
