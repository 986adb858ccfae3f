/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt-xml: finding the VF in live domain XML and rewriting it for a re-plug. The domain
 * XML below is shaped like libvirt 9.0's live XML for the lab guest and for a guest with a
 * VF from a hostdev network pool. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assert.h"
#include "domain-xml.h"
#include "virt-xml.h"

#define DOMAIN(devices) \
        "<domain type='qemu' id='1'><name>g</name><devices>" devices "</devices></domain>"

static void test_find_default(void) {
        VirtXmlInterface i = {};

        ASSERT_OK(virt_xml_find_vf(DOMAIN(VIRTIO_NIC EMULATED_VF), NULL, &i));
        ASSERT_STREQ(i.alias, "ua-vf0");
        ASSERT_STREQ(i.mac, "52:54:00:aa:00:02");
        ASSERT_NOT_NULL(strstr(i.xml, "<model type=\"e1000e\"/>"));
        ASSERT_TRUE(strncmp(i.xml, "<interface", 10) == 0);
        virt_xml_interface_done(&i);

        /* A hostdev interface wins over an emulated non-virtio one. */
        ASSERT_OK(virt_xml_find_vf(DOMAIN(VIRTIO_NIC EMULATED_VF POOL_VF), NULL, &i));
        ASSERT_STREQ(i.alias, "hostdev0");
        virt_xml_interface_done(&i);
}

static void test_find_spec(void) {
        static const struct {
                const char *spec;
                const char *alias; /* NULL: expect error */
                int error;
        } cases[] = {
                { "ua-vf0", "ua-vf0", 0 },
                { "52:54:00:aa:00:02", "ua-vf0", 0 },
                { "52:54:00:AA:00:02", "ua-vf0", 0 },
                { "hostdev0", "hostdev0", 0 },
                { "52:54:00:BB:00:03", "hostdev0", 0 },
                { "ua-vf1", NULL, ENOENT },
                { "52:54:00:00:00:09", NULL, ENOENT },
                { "ua-net0", NULL, EMEDIUMTYPE },
                { "52:54:00:00:00:01", NULL, EMEDIUMTYPE },
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                VirtXmlInterface i = {};
                int r = virt_xml_find_vf(DOMAIN(VIRTIO_NIC EMULATED_VF POOL_VF), cases[k].spec, &i);

                if (cases[k].alias) {
                        ASSERT_OK(r);
                        ASSERT_STREQ(i.alias, cases[k].alias);
                } else {
                        ASSERT_EQ_INT(r, -cases[k].error);
                        ASSERT_NULL(i.alias);
                        ASSERT_NULL(i.xml);
                }
                virt_xml_interface_done(&i);
        }
}

static void test_find_errors(void) {
        VirtXmlInterface i = {};
        char *list = NULL;

        ASSERT_ERR(virt_xml_find_vf(DOMAIN(VIRTIO_NIC), NULL, &i), ENOENT);
        ASSERT_ERR(virt_xml_find_vf(DOMAIN(""), NULL, &i), ENOENT);
        ASSERT_ERR(virt_xml_find_vf("<domain><name>g</name></domain>", NULL, &i), ENOENT);
        ASSERT_ERR(virt_xml_find_vf("<network/>", NULL, &i), EBADMSG);
        ASSERT_ERR(virt_xml_find_vf("not xml <", NULL, &i), EBADMSG);

        /* Two emulated NICs: ambiguous, and the list names both. */
        ASSERT_ERR(virt_xml_find_vf(DOMAIN(EMULATED_VF VIRTIO_NIC EMULATED_VF), NULL, &i), ENOTUNIQ);
        ASSERT_OK(virt_xml_list_vf_candidates(DOMAIN(EMULATED_VF VIRTIO_NIC EMULATED_VF), &list));
        ASSERT_STREQ(list, "ua-vf0 (52:54:00:AA:00:02), ua-vf0 (52:54:00:AA:00:02)");
        free(list);

        ASSERT_OK(virt_xml_list_vf_candidates(DOMAIN(VIRTIO_NIC), &list));
        ASSERT_STREQ(list, "");
        free(list);
}

static void test_has_vf(void) {
        const char *xml = DOMAIN(VIRTIO_NIC EMULATED_VF);

        ASSERT_EQ_INT(virt_xml_has_vf(xml, "ua-vf0", NULL), 1);
        ASSERT_EQ_INT(virt_xml_has_vf(xml, "ua-net0", NULL), 1); /* any device's alias */
        ASSERT_EQ_INT(virt_xml_has_vf(xml, "ua-vf1", NULL), 0);
        ASSERT_EQ_INT(virt_xml_has_vf(xml, NULL, "52:54:00:aa:00:02"), 1);
        ASSERT_EQ_INT(virt_xml_has_vf(xml, "ua-vf1", "52:54:00:aa:00:02"), 1);
        /* The virtio NIC's MAC is not a VF. */
        ASSERT_EQ_INT(virt_xml_has_vf(xml, NULL, "52:54:00:00:00:01"), 0);
        ASSERT_EQ_INT(virt_xml_has_vf(DOMAIN(VIRTIO_NIC), "ua-vf0", "52:54:00:aa:00:02"), 0);
        ASSERT_EQ_INT(virt_xml_has_vf(xml, NULL, NULL), 0);
        ASSERT_ERR(virt_xml_has_vf("<", "ua-vf0", NULL), EBADMSG);
}

static void test_plug_xml(void) {
        static const struct {
                const char *in;
                const char *out;
        } cases[] = {
                { EMULATED_VF,
                  "<interface type=\"bridge\"><mac address=\"52:54:00:AA:00:02\"/>"
                  "<source bridge=\"br0\"/><model type=\"e1000e\"/><rom enabled=\"no\"/>"
                  "<alias name=\"ua-vf0\"/></interface>" },
                /* The host VF's address inside <source> stays; the guest address goes. */
                { POOL_VF,
                  "<interface type=\"hostdev\" managed=\"yes\"><mac address=\"52:54:00:bb:00:03\"/>"
                  "<driver name=\"vfio\"/><source><address type=\"pci\" domain=\"0x0000\" "
                  "bus=\"0x3b\" slot=\"0x02\" function=\"0x1\"/></source>"
                  "<alias name=\"hostdev0\"/></interface>" },
                /* A network's port and resolved bridge are the old host's. */
                { "<interface type='network'>\n  <mac address='52:54:00:cc:00:04'/>\n"
                  "  <source network='vfpool' portid='0c9a7a0e-8b43-4c6a-9b9c-8c2d1b9c1d11' bridge='virbr1'/>\n"
                  "  <target dev='vnet7'/>\n  <model type='e1000e'/>\n  <alias name='ua-vf0'/>\n"
                  "  <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>\n"
                  "</interface>\n",
                  "<interface type=\"network\"><mac address=\"52:54:00:cc:00:04\"/>"
                  "<source network=\"vfpool\"/><model type=\"e1000e\"/><alias name=\"ua-vf0\"/>"
                  "</interface>" },
                /* On a bridge, the bridge is configuration and stays. */
                { "<interface type='bridge'><source bridge='br0' portid='x'/></interface>",
                  "<interface type=\"bridge\"><source bridge=\"br0\"/></interface>" },
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                char *out = NULL;

                ASSERT_OK(virt_xml_make_plug_xml(cases[k].in, &out));
                ASSERT_STREQ(out, cases[k].out);
                free(out);
        }

        char *out = NULL;
        ASSERT_ERR(virt_xml_make_plug_xml("<hostdev/>", &out), EBADMSG);
        ASSERT_ERR(virt_xml_make_plug_xml("<interface", &out), EBADMSG);
        ASSERT_NULL(out);
}

static void test_is_mac(void) {
        ASSERT_TRUE(virt_xml_is_mac("52:54:00:aa:00:02"));
        ASSERT_TRUE(virt_xml_is_mac("52:54:00:AA:00:02"));
        ASSERT_TRUE(!virt_xml_is_mac("52:54:00:aa:00"));
        ASSERT_TRUE(!virt_xml_is_mac("52-54-00-aa-00-02"));
        ASSERT_TRUE(!virt_xml_is_mac("ua-vf0"));
        ASSERT_TRUE(!virt_xml_is_mac(NULL));
}

/* The plan round trip: the recorded element travels as text and comes back the same. */
static void test_plan(void) {
        static const char device[] = "<interface type='bridge'><mac address='52:54:00:77:00:11'/>"
                                     "<source bridge='br0'/><model type='e1000e'/><alias name='ua-vf0'/></interface>";
        VirtXmlPlan p = {
                .vf_alias = (char *) "ua-vf0", .vf_mac = (char *) "52:54:00:77:00:11", .bond = (char *) "bond0",
                .source = (char *) "qemu+ssh://a/system?x=1&y=2", .device_xml = (char *) device, .job = 42,
        };
        _cleanup_(virt_xml_plan_done) VirtXmlPlan back = {};
        _cleanup_free_ char *xml = NULL, *with_ns = NULL;
        VirtXmlPlan none = {};

        ASSERT_OK(virt_xml_make_plan(&p, &xml));
        ASSERT_NOT_NULL(strstr(xml, "<plan "));
        ASSERT_NOT_NULL(strstr(xml, "&lt;interface")); /* text, not an element */
        ASSERT_NOT_NULL(strstr(xml, "x=1&amp;y=2"));
        ASSERT_OK(virt_xml_parse_plan(xml, &back));
        ASSERT_STREQ(back.vf_alias, "ua-vf0");
        ASSERT_STREQ(back.vf_mac, "52:54:00:77:00:11");
        ASSERT_STREQ(back.bond, "bond0");
        ASSERT_STREQ(back.source, "qemu+ssh://a/system?x=1&y=2");
        ASSERT_STREQ(back.device_xml, device);
        ASSERT_EQ_INT(back.job, 42);

        /* As libvirt gives it back: in srvm's namespace. */
        virt_xml_plan_done(&back);
        with_ns = strdup("<srvm:plan xmlns:srvm='https://srvm.dev/xmlns/srvm/1' vf-alias='ua-vf0' job='3'/>");
        ASSERT_OK(virt_xml_parse_plan(with_ns, &back));
        ASSERT_STREQ(back.vf_alias, "ua-vf0");
        ASSERT_NULL(back.device_xml);
        ASSERT_EQ_INT(back.job, 3);

        ASSERT_ERR(virt_xml_parse_plan("<other/>", &none), EBADMSG);
        ASSERT_ERR(virt_xml_parse_plan("<plan job='x'/>", &none), EBADMSG);
        ASSERT_ERR(virt_xml_parse_plan("<plan vf-mac='nope'/>", &none), EBADMSG);
        ASSERT_ERR(virt_xml_parse_plan("<plan", &none), EBADMSG);
        ASSERT_NULL(none.vf_alias);
}

/* The lease: written and read back whole, refused when partial, and who it keeps away. */
static void test_plan_lease(void) {
        static const char a[] = "5a1b0000-0000-4000-8000-00000000000a", b[] = "5a1b0000-0000-4000-8000-00000000000b";
        _cleanup_(virt_xml_plan_done) VirtXmlPlan p = {}, back = {};
        _cleanup_free_ char *xml = NULL, *uuid = NULL;
        VirtXmlPlan none = {};

        p.vf_alias = strdup("ua-vf0");
        p.job = 7;
        ASSERT_NOT_NULL(p.vf_alias);
        ASSERT_OK(virt_xml_plan_set_lease(&p, a, 7, 1700000100));
        ASSERT_OK(virt_xml_make_plan(&p, &xml));
        ASSERT_OK(virt_xml_parse_plan(xml, &back));
        ASSERT_STREQ(back.holder, a);
        ASSERT_EQ_INT(back.holder_job, 7);
        ASSERT_TRUE(back.lease_until == 1700000100);
        ASSERT_STREQ(back.vf_alias, "ua-vf0");

        /* Another host, or another job of the same host, waits; the holder itself does not
         * (a restarted srvmd goes on with its own job); nobody waits once it ran out. */
        ASSERT_TRUE(virt_xml_plan_lease_left(&back, b, 7, 1700000000) == 100);
        ASSERT_TRUE(virt_xml_plan_lease_left(&back, a, 8, 1700000000) == 100);
        ASSERT_TRUE(virt_xml_plan_lease_left(&back, NULL, 0, 1700000099) == 1);
        ASSERT_TRUE(virt_xml_plan_lease_left(&back, a, 7, 1700000000) == 0);
        ASSERT_TRUE(virt_xml_plan_lease_left(&back, "5A1B0000-0000-4000-8000-00000000000A", 7, 1700000000) == 0);
        ASSERT_TRUE(virt_xml_plan_lease_left(&back, b, 7, 1700000100) == 0);

        /* Dropped: the attributes go, the rest of the plan stays. */
        free(xml);
        xml = NULL;
        ASSERT_OK(virt_xml_plan_set_lease(&back, NULL, 7, 1700000100));
        ASSERT_OK(virt_xml_make_plan(&back, &xml));
        ASSERT_NULL(strstr(xml, "holder"));
        ASSERT_NULL(strstr(xml, "lease-until"));
        virt_xml_plan_done(&back);
        ASSERT_OK(virt_xml_parse_plan(xml, &back));
        ASSERT_NULL(back.holder);
        ASSERT_STREQ(back.vf_alias, "ua-vf0");
        ASSERT_TRUE(virt_xml_plan_lease_left(&back, b, 1, 0) == 0);

        /* Half a lease is no lease srvmd wrote. */
        ASSERT_ERR(virt_xml_parse_plan("<plan holder='x' holder-job='1'/>", &none), EBADMSG);
        ASSERT_ERR(virt_xml_parse_plan("<plan holder='x' lease-until='5'/>", &none), EBADMSG);
        ASSERT_ERR(virt_xml_parse_plan("<plan holder-job='1' lease-until='5'/>", &none), EBADMSG);
        ASSERT_ERR(virt_xml_parse_plan("<plan holder='' holder-job='1' lease-until='5'/>", &none), EBADMSG);
        ASSERT_ERR(virt_xml_parse_plan("<plan holder='x' holder-job='1' lease-until='-5'/>", &none), EBADMSG);
        ASSERT_ERR(virt_xml_parse_plan("<plan holder='x' holder-job='4294967296' lease-until='5'/>", &none), EBADMSG);
        ASSERT_ERR(virt_xml_parse_plan("<plan holder='x' holder-job='1' lease-until='99999999999999999999'/>", &none),
                   EBADMSG);
        ASSERT_NULL(none.holder);

        /* The host UUID from libvirt's capabilities. */
        ASSERT_OK(virt_xml_host_uuid("<capabilities><host><uuid>5a1b0000-0000-4000-8000-00000000000a</uuid>"
                                     "<cpu><arch>x86_64</arch></cpu></host><guest/></capabilities>",
                                     &uuid));
        ASSERT_STREQ(uuid, a);
        ASSERT_ERR(virt_xml_host_uuid("<capabilities><host/></capabilities>", &uuid), ENODATA);
        ASSERT_ERR(virt_xml_host_uuid("<domain/>", &uuid), EBADMSG);
        ASSERT_ERR(virt_xml_host_uuid("<capab", &uuid), EBADMSG);
        ASSERT_STREQ(uuid, a); /* untouched on error */
}

static void test_domain_info(void) {
        _cleanup_(virt_xml_domain_info_done) VirtXmlDomainInfo i = {};
        static const char xml[] =
                "<domain type='qemu' id='1'><name> g1 </name>"
                "<uuid>5A1B0000-0000-4000-8000-00000000000a</uuid>"
                "<metadata>"
                "<srvm:policy xmlns:srvm='https://srvm.example/ns/1'> fast-lane\n</srvm:policy>"
                "<app:tags xmlns:app='urn:app'><app:tier>gold</app:tier><app:empty/></app:tags>"
                "<plain>text</plain>"
                "</metadata><devices>" VIRTIO_NIC "</devices></domain>";

        ASSERT_OK(virt_xml_read_domain_info(xml, &i));
        ASSERT_STREQ(i.name, "g1");
        ASSERT_STREQ(i.uuid, "5A1B0000-0000-4000-8000-00000000000a");
        ASSERT_EQ_INT(i.n_metadata, 5);
        ASSERT_STREQ(i.metadata[0].namespace_uri, "https://srvm.example/ns/1");
        ASSERT_STREQ(i.metadata[0].element, "policy");
        ASSERT_STREQ(i.metadata[0].value, "fast-lane");
        ASSERT_STREQ(i.metadata[1].namespace_uri, "urn:app");
        ASSERT_STREQ(i.metadata[1].element, "tags");
        ASSERT_NULL(i.metadata[1].value); /* only children, no text of its own */
        ASSERT_STREQ(i.metadata[2].element, "tier");
        ASSERT_STREQ(i.metadata[2].value, "gold");
        ASSERT_STREQ(i.metadata[3].element, "empty");
        ASSERT_NULL(i.metadata[3].value);
        ASSERT_NULL(i.metadata[4].namespace_uri);
        ASSERT_STREQ(i.metadata[4].element, "plain");
        ASSERT_STREQ(i.metadata[4].value, "text");
}

static void test_domain_info_plain(void) {
        _cleanup_(virt_xml_domain_info_done) VirtXmlDomainInfo i = {};

        ASSERT_OK(virt_xml_read_domain_info(DOMAIN(VIRTIO_NIC), &i));
        ASSERT_STREQ(i.name, "g");
        ASSERT_NULL(i.uuid);
        ASSERT_EQ_INT(i.n_metadata, 0);
        ASSERT_NULL(i.metadata);

        ASSERT_EQ_INT(virt_xml_read_domain_info("<network/>", &i), -EBADMSG);
        ASSERT_EQ_INT(virt_xml_read_domain_info("<domain", &i), -EBADMSG);
}

static void test_network_pool(void) {
        static const struct {
                const char *xml;
                const char *mode;
                int n_devices, n_free;
        } cases[] = {
                { "<network connections='2'><name>pool</name><forward mode='hostdev' managed='yes'>"
                  "<pf dev='eth0'/>"
                  "<address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/>"
                  "<address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x2'/>"
                  "<address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x3'/>"
                  "</forward></network>", "hostdev", 3, 1 },
                { "<network connections='2'><name>pool</name><forward mode='hostdev'>"
                  "<address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/>"
                  "<address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x2'/>"
                  "</forward></network>", "hostdev", 2, 0 },
                { "<network><name>pool</name><forward mode='hostdev'><pf dev='eth0'/></forward></network>",
                  "hostdev", -1, -1 },
                { "<network><name>pool</name><forward mode='passthrough'>"
                  "<interface dev='eth1'/><interface dev='eth2'/></forward></network>", "passthrough", 2, 2 },
                { "<network connections='5'><name>vf-pool</name><forward mode='bridge'/>"
                  "<bridge name='br0'/></network>", "bridge", -1, -1 },
                { "<network><name>default</name><forward/></network>", "nat", -1, -1 },
                { "<network><name>isolated</name></network>", NULL, -1, -1 },
        };

        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
                _cleanup_(virt_xml_network_pool_done) VirtXmlNetworkPool p = {};

                ASSERT_OK(virt_xml_read_network_pool(cases[k].xml, &p));
                if (cases[k].mode)
                        ASSERT_STREQ(p.forward_mode, cases[k].mode);
                else
                        ASSERT_NULL(p.forward_mode);
                ASSERT_EQ_INT(p.n_devices, cases[k].n_devices);
                ASSERT_EQ_INT(p.n_free, cases[k].n_free);
        }

        {
                _cleanup_(virt_xml_network_pool_done) VirtXmlNetworkPool p = {};
                ASSERT_EQ_INT(virt_xml_read_network_pool(DOMAIN(""), &p), -EBADMSG);
        }
}

/* A policy from JSON text, through a scratch file as srvmd reads them. */
static Policy *policy_from_text(const char *name, const char *text) {
        char dir[] = "/tmp/test-virt-xml-XXXXXX", path[128];
        _cleanup_free_ char *error = NULL;
        Policy *p = NULL;
        FILE *f;

        ASSERT_NOT_NULL(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/%s.json", dir, name);
        f = fopen(path, "we");
        ASSERT_NOT_NULL(f);
        /* Every policy but the default one matches something. */
        if (strcmp(name, "default") != 0)
                fprintf(f, "{\"match\": {\"names\": [\"g\"]}, %s", text + 1);
        else
                fputs(text, f);
        ASSERT_OK(fclose(f));
        if (policy_parse_file(path, &p, &error) < 0)
                ASSERT_FAIL_("%s: %s", name, strna(error));
        (void) unlink(path);
        (void) rmdir(dir);
        return p;
}

/* A domain that arrived with no plan: its policy says which VF to plug, or why it cannot. */
static void test_plan_from_policy(void) {
        static const struct {
                const char *policy;
                const char *devices;
                int r;
                const char *why_has; /* NULL: no sentence */
                const char *xml_has;
        } table[] = {
                /* template with the MAC: plugs it, alias and MAC filled in */
                { "{\"guest\": {\"bond\": \"bond1\", \"vf\": \"52:54:00:AA:00:02\"}, \"plug\": {\"source\": \"template\", "
                  "\"template\": \"<interface type='bridge'><mac address='{mac}'/><source bridge='br0'/><model type='e1000e'/><alias name='{alias}'/></interface>\"}}",
                  VIRTIO_NIC, 1, NULL, "<alias name='ua-srvm-vf'/>" },
                /* network pool with the MAC */
                { "{\"guest\": {\"vf\": \"52:54:00:aa:00:02\"}, \"plug\": {\"source\": \"network\", \"network\": \"vf-pool\", \"model\": \"e1000e\"}}",
                  VIRTIO_NIC, 1, NULL, "<source network='vf-pool'/>" },
                /* the VF is there already */
                { "{\"guest\": {\"vf\": \"52:54:00:aa:00:02\"}, \"plug\": {\"source\": \"network\", \"network\": \"vf-pool\"}}",
                  VIRTIO_NIC EMULATED_VF, 0, "its VF 52:54:00:aa:00:02 is plugged", NULL },
                /* another non-virtio interface: left alone */
                { "{\"guest\": {\"vf\": \"52:54:00:aa:00:09\"}, \"plug\": {\"source\": \"network\", \"network\": \"vf-pool\"}}",
                  VIRTIO_NIC POOL_VF, 0, "it has an interface that could be a VF (hostdev0 (52:54:00:bb:00:03))", NULL },
                /* the default policy: no MAC, recorded */
                { "{}", VIRTIO_NIC, -ENODATA, "its policy default does not give the VF's MAC address (guest.vf is auto)", NULL },
                /* an alias is not enough */
                { "{\"guest\": {\"vf\": \"ua-vf0\"}, \"plug\": {\"source\": \"network\", \"network\": \"vf-pool\"}}",
                  VIRTIO_NIC, -ENODATA, "(guest.vf is ua-vf0)", NULL },
                /* recorded: nothing recorded without a plan */
                { "{\"guest\": {\"vf\": \"52:54:00:aa:00:02\"}}",
                  VIRTIO_NIC, -ENODATA, "plugs the VF recorded on the source", NULL },
                /* but even then a domain with its VF is simply fine */
                { "{}", VIRTIO_NIC EMULATED_VF, 0, "it has an interface that could be a VF", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(policy_freep) Policy *p =
                        policy_from_text(streq(table[i].policy, "{}") ? "default" : "p", table[i].policy);
                _cleanup_(virt_xml_plan_done) VirtXmlPlan plan = {};
                _cleanup_free_ char *why = NULL;

                printf("plan from policy %zu\n", i);
                ASSERT_EQ_INT(virt_xml_plan_from_policy("<network/>", p, &plan, &why), -EBADMSG);
                ASSERT_NULL(plan.device_xml);
                {
                        char xml[2048];

                        snprintf(xml, sizeof xml, "<domain type='qemu'><name>g</name><devices>%s</devices></domain>",
                                 table[i].devices);
                        ASSERT_EQ_INT(virt_xml_plan_from_policy(xml, p, &plan, &why), table[i].r);
                }
                if (table[i].why_has) {
                        ASSERT_NOT_NULL(why);
                        ASSERT_NOT_NULL(strstr(why, table[i].why_has));
                } else
                        ASSERT_NULL(why);
                if (table[i].r == 1) {
                        ASSERT_STREQ(plan.vf_alias, "ua-srvm-vf");
                        ASSERT_STREQ(plan.vf_mac, "52:54:00:aa:00:02");
                        ASSERT_NOT_NULL(strstr(plan.device_xml, table[i].xml_has));
                        ASSERT_NOT_NULL(strstr(plan.device_xml, "52:54:00:"));
                        ASSERT_STREQ(plan.bond, i == 0 ? "bond1" : "bond0");
                } else
                        ASSERT_NULL(plan.device_xml);
        }
}

int main(void) {
        test_find_default();
        test_find_spec();
        test_find_errors();
        test_has_vf();
        test_plug_xml();
        test_is_mac();
        test_plan();
        test_plan_lease();
        test_domain_info();
        test_domain_info_plain();
        test_network_pool();

        test_plan_from_policy();
        printf("ok\n");
        return 0;
}
