/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hook-xml: what the libvirt hook does to an incoming domain's XML on the destination. The
 * domains are shaped like the XML libvirt 9.0 hands its migrate hook (the migratable live
 * definition), with the example policies of policies/examples loaded as the policy set. */
#include <stdio.h>

#include "assert.h"
#include "hook-xml.h"
#include "srvm-hook.h"

#define VIRTIO_NIC                                                                  \
        "\n    <interface type='bridge'>"                                           \
        "<mac address='52:54:00:00:00:01'/><source bridge='br0'/>"                  \
        "<model type='virtio'/><alias name='ua-net0'/></interface>"

#define EMULATED_VF                                                                 \
        "\n    <interface type='bridge'>"                                           \
        "<mac address='52:54:00:aa:00:02'/><source bridge='br0'/>"                  \
        "<model type='e1000e'/><rom enabled='no'/><alias name='ua-vf0'/></interface>"

#define HOSTDEV_IFACE                                                               \
        "\n    <interface type='hostdev' managed='yes'>"                            \
        "<mac address='52:54:00:bb:00:03'/><driver name='vfio'/>"                   \
        "<source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source>" \
        "<alias name='hostdev0'/></interface>"

#define PCI_HOSTDEV                                                                 \
        "\n    <hostdev mode='subsystem' type='pci' managed='yes'>"                 \
        "<source><address domain='0x0000' bus='0x3b' slot='0x02' function='0x2'/></source>" \
        "<alias name='hostdev1'/></hostdev>"

#define USB_HOSTDEV                                                                 \
        "\n    <hostdev mode='subsystem' type='usb'>"                               \
        "<source><vendor id='0x1234'/><product id='0xbeef'/></source>"              \
        "<alias name='hostdev2'/></hostdev>"

#define PLAN(attrs) \
        "<srvm:plan xmlns:srvm='" SRVM_XMLNS "' " attrs "/>"

#define TAG_PRODUCTION \
        "<t:policy xmlns:t='https://srvm.example.org/xmlns/srvm/1'> production </t:policy>"

#define DOMAIN_FULL(name, uuid, metadata, devices)                                   \
        "<?xml version='1.0'?>\n<domain type='qemu'>\n  <name>" name "</name>\n"    \
        "  <uuid>" uuid "</uuid>\n  <metadata>" metadata "</metadata>\n"            \
        "  <devices>" devices "\n  </devices>\n</domain>\n"

#define UUID_OTHER "0f6a4d3e-1111-4c55-9d3e-2a7c1e6f9b10"
#define UUID_PINNED "4B1B5D2E-8F0A-4C55-9D3E-2A7C1E6F9B10"

#define DOMAIN(metadata, devices) DOMAIN_FULL("vm1", UUID_OTHER, metadata, devices)

static void test_filter(const PolicySet *policies) {
        static const struct {
                const char *what;
                const char *xml;
                HookXmlVerdict verdict;
                const char *removed;       /* for HOOK_XML_REWRITTEN */
                const char *const gone[3]; /* must not be in the output */
                const char *const kept[3]; /* must still be in the output */
        } cases[] = {
                { "plan names the emulated VF by alias",
                  DOMAIN(PLAN("vf-alias='ua-vf0' bond='bond0' job='3'"), VIRTIO_NIC EMULATED_VF),
                  HOOK_XML_REWRITTEN, "interface ua-vf0 (52:54:00:aa:00:02)",
                  { "<alias name=\"ua-vf0\"/>", "e1000e" }, { "ua-net0", "srvm:plan" } },
                { "plan names the VF by MAC, any case",
                  DOMAIN(PLAN("vf-mac='52:54:00:AA:00:02'"), VIRTIO_NIC EMULATED_VF),
                  HOOK_XML_REWRITTEN, "interface ua-vf0 (52:54:00:aa:00:02)",
                  { "<alias name=\"ua-vf0\"/>" }, { "ua-net0" } },
                { "plan without VF names: every passthrough device goes, the emulated NIC stays",
                  DOMAIN(PLAN("job='3'"), VIRTIO_NIC EMULATED_VF HOSTDEV_IFACE PCI_HOSTDEV USB_HOSTDEV),
                  HOOK_XML_REWRITTEN, "interface hostdev0 (52:54:00:bb:00:03), hostdev hostdev1",
                  { "hostdev0", "hostdev1" }, { "ua-vf0", "ua-net0", "hostdev2" } },
                { "plan names a virtio NIC: never removed",
                  DOMAIN(PLAN("vf-alias='ua-net0' vf-mac='52:54:00:00:00:01'"), VIRTIO_NIC),
                  HOOK_XML_NO_VF, NULL, {}, {} },
                { "plan, VF already unplugged on the source",
                  DOMAIN(PLAN("vf-alias='ua-vf0'"), VIRTIO_NIC),
                  HOOK_XML_NO_VF, NULL, {}, {} },
                { "plan with a MAC that is not one: ignored, falls back to passthrough devices",
                  DOMAIN(PLAN("vf-mac='nonsense'"), VIRTIO_NIC EMULATED_VF),
                  HOOK_XML_NO_VF, NULL, {}, {} },
                { "plan element in another namespace: not srvm's",
                  DOMAIN("<x:plan xmlns:x='urn:other' vf-alias='ua-vf0'/>", VIRTIO_NIC EMULATED_VF HOSTDEV_IFACE),
                  HOOK_XML_UNMANAGED, NULL, {}, {} },
                { "no plan, hostdev interface, no policy but the default",
                  DOMAIN("", VIRTIO_NIC HOSTDEV_IFACE),
                  HOOK_XML_UNMANAGED, NULL, {}, {} },
                { "no plan, hostdev interface, a name policy (web-*) matches",
                  DOMAIN_FULL("web-3", UUID_OTHER, "", VIRTIO_NIC HOSTDEV_IFACE),
                  HOOK_XML_REWRITTEN, "interface hostdev0 (52:54:00:bb:00:03)",
                  { "hostdev0" }, { "ua-net0", "<name>web-3</name>" } },
                { "no plan, PCI hostdev, a UUID policy matches (any case)",
                  DOMAIN_FULL("db1", UUID_PINNED, "", VIRTIO_NIC PCI_HOSTDEV),
                  HOOK_XML_REWRITTEN, "hostdev hostdev1",
                  { "hostdev1" }, { "ua-net0" } },
                { "no plan, a metadata policy matches, its value trimmed",
                  DOMAIN("<app>" TAG_PRODUCTION "</app>", VIRTIO_NIC HOSTDEV_IFACE),
                  HOOK_XML_REWRITTEN, "interface hostdev0 (52:54:00:bb:00:03)",
                  { "hostdev0" }, { "production" } },
                { "no plan, a policy matches, but only an emulated NIC: left alone",
                  DOMAIN_FULL("web-3", UUID_OTHER, "", VIRTIO_NIC EMULATED_VF),
                  HOOK_XML_UNMANAGED, NULL, {}, {} },
                { "no plan, no metadata, no devices",
                  "<domain type='qemu'><name>web-1</name></domain>",
                  HOOK_XML_UNMANAGED, NULL, {}, {} },
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                char *out = NULL, *removed = NULL;
                int r;

                fprintf(stderr, "case: %s\n", cases[k].what);
                r = hook_xml_filter_incoming(cases[k].xml, policies, &out, &removed);
                ASSERT_EQ_INT(r, cases[k].verdict);
                if (r != HOOK_XML_REWRITTEN) {
                        ASSERT_NULL(out);
                        ASSERT_NULL(removed);
                        continue;
                }

                ASSERT_STREQ(removed, cases[k].removed);
                ASSERT_TRUE(strncmp(out, "<domain", 7) == 0);
                for (size_t i = 0; i < ELEMENTSOF(cases[k].gone) && cases[k].gone[i]; i++)
                        ASSERT_NULL(strstr(out, cases[k].gone[i]));
                for (size_t i = 0; i < ELEMENTSOF(cases[k].kept) && cases[k].kept[i]; i++)
                        ASSERT_NOT_NULL(strstr(out, cases[k].kept[i]));

                /* The output is itself a managed domain with nothing left to remove. */
                char *again = NULL;
                ASSERT_EQ_INT(hook_xml_filter_incoming(out, policies, &again, NULL),
                              strstr(out, "srvm:plan") ? HOOK_XML_NO_VF : HOOK_XML_UNMANAGED);
                ASSERT_NULL(again);
                free(out);
                free(removed);
        }
}

static void test_layout(void) {
        char *out = NULL;

        /* The removed device takes its indentation with it; the rest is as it came. */
        ASSERT_EQ_INT(hook_xml_filter_incoming(DOMAIN(PLAN("vf-alias='ua-vf0'"), VIRTIO_NIC EMULATED_VF),
                                               NULL, &out, NULL),
                      HOOK_XML_REWRITTEN);
        ASSERT_STREQ(out,
                     "<domain type=\"qemu\">\n  <name>vm1</name>\n  <uuid>" UUID_OTHER "</uuid>\n"
                     "  <metadata><srvm:plan xmlns:srvm=\"" SRVM_XMLNS "\" vf-alias=\"ua-vf0\"/></metadata>\n"
                     "  <devices>\n    <interface type=\"bridge\"><mac address=\"52:54:00:00:00:01\"/>"
                     "<source bridge=\"br0\"/><model type=\"virtio\"/><alias name=\"ua-net0\"/></interface>\n"
                     "  </devices>\n</domain>\n");
        free(out);
}

static void test_garbage(const PolicySet *policies) {
        static const char *const garbage[] = {
                "",
                "not xml <",
                "<domain>",
                "<network><name>n</name></network>",
                "<domain><devices><interface type='hostdev'></devices></domain>",
                "\x01\x02\x03",
                "<!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]><domain>&b;</domain>",
        };

        for (size_t k = 0; k < ELEMENTSOF(garbage); k++) {
                char *out = NULL, *removed = NULL;
                int r = hook_xml_filter_incoming(garbage[k], policies, &out, &removed);

                /* Garbage is either refused or (the entity case) a domain with nothing. */
                ASSERT_TRUE(r == -EBADMSG || r == HOOK_XML_UNMANAGED);
                ASSERT_NULL(out);
                ASSERT_NULL(removed);
        }

        char *out = NULL;
        ASSERT_ERR(hook_xml_filter_incoming(NULL, policies, &out, NULL), EINVAL);
}

static void test_verdict_strings(void) {
        for (HookXmlVerdict v = 0; v < _HOOK_XML_VERDICT_MAX; v++)
                ASSERT_EQ_INT(hook_xml_verdict_from_string(hook_xml_verdict_to_string(v)), v);
        ASSERT_EQ_INT(hook_xml_verdict_from_string("x"), _HOOK_XML_VERDICT_INVALID);
}

int main(void) {
        const char *dir = getenv("SRVM_POLICY_DIR");
        const char *const dirs[] = { dir, NULL };
        PolicySet *policies = NULL;
        char *error = NULL;

        ASSERT_NOT_NULL(dir);
        if (policy_set_load(dirs, &policies, &error) < 0)
                ASSERT_FAIL_("policy_set_load: %s", error);

        test_filter(policies);
        test_layout();
        test_garbage(policies);
        test_verdict_strings();

        policy_set_free(policies);
        printf("ok\n");
        return 0;
}
