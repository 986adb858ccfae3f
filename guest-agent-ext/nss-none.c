/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Name-service lookups for the statically linked srvm-guest: there are none. libnl's
 * address and protocol pretty-printers call getaddrinfo() and getprotoby*(), which in a
 * static glibc program would load NSS modules from a glibc the guest does not have (and the
 * linker warns so). srvm-guest never resolves names or protocol numbers, so these
 * definitions, linked ahead of libc, answer "not found" and keep NSS out of the binary. */

#include <netdb.h>

#include <stddef.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res) {
        return EAI_FAIL;
}

struct protoent *getprotobyname(const char *name) {
        return NULL;
}

struct protoent *getprotobynumber(int proto) {
        return NULL;
}
