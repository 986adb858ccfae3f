/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The URI rules: what the default lets through and what it refuses, read as libvirt reads a
 * URI (escapes, case, its own query separators), and what root's allow lists change. */
#include <stdio.h>

#include "assert.h"
#include "macro.h"
#include "uri-check.h"

typedef struct Case {
        const char *uri;
        const char *why; /* NULL: allowed; else a part of the sentence */
} Case;

static void check_cases(const UriRules *r, bool migrate, const Case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *why = NULL;
                int k = migrate ? uri_check_migrate(r, cases[i].uri, &why) : uri_check_destination(r, cases[i].uri, &why);

                if (!cases[i].why) {
                        if (k != 0)
                                ASSERT_FAIL_("'%s' refused: %s", cases[i].uri, why ? why : "?");
                        ASSERT_NULL(why);
                        continue;
                }
                if (k != -EPERM || !why || !strstr(why, cases[i].why))
                        ASSERT_FAIL_("'%s': %d, '%s', expected '%s'", cases[i].uri, k, why ? why : "(none)", cases[i].why);
                /* One sentence, printable. */
                ASSERT_TRUE(why[strlen(why) - 1] == '.');
                for (const char *p = why; *p; p++)
                        ASSERT_TRUE((unsigned char) *p >= ' ' && (unsigned char) *p < 0x7f);
        }
}

static void test_default_destinations(void) {
        _cleanup_(uri_rules_freep) UriRules *r = NULL;
        static const Case cases[] = {
                { "qemu+ssh://host-b/system", NULL },
                { "qemu+ssh://root@host-b.example:2222/system", NULL },
                { "qemu+libssh2://host-b/system", NULL },
                { "qemu+tls://host-b/system", NULL },
                { "qemu+tcp://10.0.0.2/system", NULL },
                { "qemu+tcp://[fe80::1]:16509/system", NULL },
                { "qemu://host-b/system", NULL }, /* tls, implied */
                { "qemu+ext:///system?command=/tmp/x", "uses transport 'ext'" },
                { "qemu+ssh://h/system?command=/tmp/x", "uses parameter 'command'" },
                { "qemu+ssh://h/system?netcat=/tmp/x", "uses parameter 'netcat'" },
                { "qemu+ssh://h/system?COMMAND=/tmp/x", "uses parameter 'COMMAND'" },
                { "qemu+ssh://h/system?%63ommand=/tmp/x", "uses parameter '%63ommand'" },
                { "qemu+ssh://h/system?no_tty=1;command=/tmp/x", "uses parameter 'no_tty'" },
                { "qemu+ssh://h/system?&&=x&keyfile=/root/.ssh/id", "uses parameter 'keyfile'" },
                { "qemu+ssh://h/system?name=qemu%2Bext:///system", "uses parameter 'name'" },
                { "qemu+tls://h/system?pkipath=/tmp", "uses parameter 'pkipath'" },
                { "qemu+tls://h/system?no_verify=1", "uses parameter 'no_verify'" },
                { "qemu+ssh://h/system?known_hosts=/x", "uses parameter 'known_hosts'" },
                { "qemu+ssh://h/system?proxy=native", "uses parameter 'proxy'" },
                { "qemu+ssh://h/system?mode=direct", "uses parameter 'mode'" },
                { "qemu+ssh://h/system?authfile=/etc/shadow", "uses parameter 'authfile'" },
                { "qemu+ssh://h/system?socket=/x", "uses parameter 'socket'" },
                { "qemu+unix:///system?socket=/run/x", "uses transport 'unix'" },
                { "qemu:///system", "unix (implied by no host)" },
                { "qemu+libssh://h/system", "uses transport 'libssh'" },
                { "qemu+SSH://h/system", "uses transport 'SSH'" },
                { "qemu+ssh+ext://h/system", "uses transport 'ssh+ext'" },
                { "qemu+://h/system", "uses transport ''" },
                { "test:///default", "uses driver 'test'" },
                { "test:///etc/shadow", "uses driver 'test'" },
                { "esx://h/?no_verify=1", "uses driver 'esx'" },
                { "remote+ssh://h/system", "uses driver 'remote'" },
                { "qemu+ssh://-oProxyCommand=x/system", "names a host" },
                { "qemu+ssh://%2DoProxyCommand%3Dx/system", "names a host" },
                { "qemu+ssh://-oProxyCommand=x@h/system", "names a user" },
                { "qemu+ssh://a%0Ab@h/system", "names a user" },
                { "qemu+ssh://h/session", "has path '/session'" },
                { "qemu+ssh://h", "has path ''" },
                { "qemu+ssh:h/system", "has path" },
                { "qemu+ssh://h/system#x", "fragment" },
                { "vm-alias", "has no scheme" },
                { "qemu+ssh://h/system?command=\x1b[2J", "byte 0x1b at offset 28" },
                { "qemu+ssh://h/sys tem", "byte 0x20" },
                { "qemu+ssh://h/syst\xc3\xa9m", "byte 0xc3" },
                { "qemu+ssh://h:x/system", "not a URI libvirt can parse" },
        };

        ASSERT_OK(uri_rules_new(&r));
        check_cases(r, false, cases, ELEMENTSOF(cases));
}

static void test_default_migrate(void) {
        _cleanup_(uri_rules_freep) UriRules *r = NULL;
        static const Case cases[] = {
                { "tcp://10.0.0.2:49152", NULL },
                { "tcp://host-b:49152", NULL },
                { "tcp://[fe80::1]:49152", NULL },
                { "tcp://host-b:49152/", NULL },
                { "tcp://host-b", "no port" },
                { "tcp://host-b:0", "no port" },
                { "tcp:host-b:49152", "names no host" },
                { "tcp:///x", "names no host" },
                { "rdma://host-b:49152", "uses scheme 'rdma'" },
                { "unix:///run/x.sock", "uses scheme 'unix'" },
                { "fd:3", "uses scheme 'fd'" },
                { "exec:/bin/sh", "uses scheme 'exec'" },
                { "TCP://host-b:1", "uses scheme 'TCP'" },
                { "host-b:49152", "uses scheme 'host-b'" },
                { "tcp://u@host-b:1", "has a user" },
                { "tcp://host-b:1?x=y", "has a query" },
                { "tcp://host-b:1#x", "has a fragment" },
                { "tcp://host-b:1/x", "has a path" },
                { "tcp://-x:1", "names a host" },
        };

        ASSERT_OK(uri_rules_new(&r));
        check_cases(r, true, cases, ELEMENTSOF(cases));
}

/* The lab's configuration: its unix sockets allowed the ordinary way. */
static void test_root_allows(void) {
        _cleanup_(uri_rules_freep) UriRules *r = NULL;
        _cleanup_free_ char *s = NULL;
        const char *bad = NULL;
        size_t bad_len = 0;
        static const Case cases[] = {
                { "qemu+unix:///system?socket=/run/lab/b/libvirt-sock", NULL },
                { "qemu+unix:///system?Socket=/run/lab/b/libvirt-sock", NULL },
                { "qemu+ssh://h/system", NULL },
                { "qemu+unix:///system?socket=/x&command=/tmp/x", "uses parameter 'command'" },
                { "qemu+ext:///system?socket=/x", "uses transport 'ext'" },
                { "qemu+tls://h/system", "uses transport 'tls'" },
                { "qemu://h/system", "uses transport 'tls (implied by the host)'" },
                { "test:///default", NULL },
                { "test:///default?socket=/x", NULL },
        };
        static const Case migrate_cases[] = {
                { "unix:///run/lab/migrate.sock", NULL },
                { "unix://h:1/x", "has a path" },
                { "unix:relative", "names no host" },
                { "rdma://h:1", "uses scheme 'rdma'" },
        };

        ASSERT_OK(uri_rules_new(&r));
        ASSERT_OK(uri_rules_describe(r, URI_LIST_PARAM, &s));
        ASSERT_STREQ(s, "none");
        free(s);
        s = NULL;

        ASSERT_OK(uri_rules_allow(r, URI_LIST_TRANSPORT, "unix", NULL, NULL));
        ASSERT_OK(uri_rules_allow(r, URI_LIST_TRANSPORT, "ssh,unix", NULL, NULL));
        ASSERT_OK(uri_rules_allow(r, URI_LIST_PARAM, "socket", NULL, NULL));
        ASSERT_OK(uri_rules_allow(r, URI_LIST_DRIVER, "qemu,test", NULL, NULL));
        ASSERT_OK(uri_rules_describe(r, URI_LIST_TRANSPORT, &s));
        ASSERT_STREQ(s, "unix, ssh");
        check_cases(r, false, cases, ELEMENTSOF(cases));

        /* A bad word changes nothing and is named. */
        ASSERT_ERR(uri_rules_allow(r, URI_LIST_TRANSPORT, "ssh,rsh", &bad, &bad_len), EINVAL);
        ASSERT_EQ_INT(bad_len, 3);
        ASSERT_TRUE(strncmp(bad, "rsh", 3) == 0);
        ASSERT_ERR(uri_rules_allow(r, URI_LIST_PARAM, "socket,", &bad, &bad_len), EINVAL);
        ASSERT_EQ_INT(bad_len, 0);
        ASSERT_ERR(uri_rules_allow(r, URI_LIST_PARAM, "Socket", &bad, &bad_len), EINVAL);
        ASSERT_ERR(uri_rules_allow(r, URI_LIST_DRIVER, "", &bad, &bad_len), EINVAL);
        ASSERT_ERR(uri_rules_allow(r, URI_LIST_DRIVER, "a-b", &bad, &bad_len), EINVAL);
        free(s);
        s = NULL;
        ASSERT_OK(uri_rules_describe(r, URI_LIST_TRANSPORT, &s));
        ASSERT_STREQ(s, "unix, ssh");

        ASSERT_OK(uri_rules_allow(r, URI_LIST_MIGRATE_SCHEME, "tcp,unix", NULL, NULL));
        check_cases(r, true, migrate_cases, ELEMENTSOF(migrate_cases));

        ASSERT_EQ_INT(uri_list_from_string("migrate-scheme"), URI_LIST_MIGRATE_SCHEME);
        ASSERT_EQ_INT(uri_list_from_string("scheme"), -EINVAL);
}

int main(void) {
        test_default_destinations();
        test_default_migrate();
        test_root_allows();
        printf("test-uri-check: all passed\n");
        return 0;
}
