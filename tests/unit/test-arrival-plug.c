/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What an arrival job plugs: the destination's policy decides, whatever the plan in the
 * domain's metadata says. Table-driven over plans a metadata editor could write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrival-plug.h"
#include "assert.h"
#include "macro.h"

#define MAC "52:54:00:aa:bb:01"

static const char domain_xml[] =
        "<domain type='qemu'><name>vm1</name><devices>"
        "<interface type='bridge'><mac address='52:54:00:aa:bb:00'/><source bridge='labbr0'/><model type='virtio'/></interface>"
        "</devices></domain>";

static Policy *policy_from(const char *text) {
        char path[] = "/tmp/test-arrival-plug-XXXXXX.json";
        _cleanup_free_ char *error = NULL;
        Policy *p = NULL;
        int fd = mkstemps(path, 5);
        FILE *f;

        ASSERT_TRUE(fd >= 0);
        f = fdopen(fd, "w");
        ASSERT_NOT_NULL(f);
        fputs(text, f);
        fclose(f);
        if (policy_parse_file(path, &p, &error) < 0)
                ASSERT_FAIL_("policy: %s", error);
        unlink(path);
        return p;
}

static void test_recorded(void) {
        _cleanup_(policy_freep) Policy *p = NULL;
        static const struct {
                const char *plan_xml;
                const char *why; /* NULL: plugged as recorded */
        } cases[] = {
                { "<interface type='bridge'><mac address='" MAC "'/><source bridge='labbr0'/><model type='e1000e'/>"
                  "<rom enabled='no'/><alias name='ua-vf0'/></interface>", NULL },
                { "<interface type='network'><mac address='52:54:00:AA:BB:01'/><source network='sriov-pool'/></interface>", NULL },
                { "<interface type='bridge'><mac address='" MAC "'/><source bridge='mgmt0'/></interface>",
                  "on bridge 'mgmt0', which none of the domain's interfaces here is on" },
                { "<interface type='hostdev' managed='yes'><mac address='" MAC "'/><source><address type='pci' domain='0' "
                  "bus='0x3b' slot='0' function='0'/></source></interface>", "of type 'hostdev'" },
                { "<hostdev mode='subsystem' type='pci'><source><address bus='0x3b' slot='0' function='0'/></source></hostdev>",
                  "a device that is not one <interface>" },
                { "<interface type='ethernet'><mac address='" MAC "'/><script path='/tmp/x'/></interface>", "of type 'ethernet'" },
                { "<interface type='bridge'><mac address='" MAC "'/><source bridge='labbr0'/><script path='/tmp/x'/></interface>",
                  "with a <script> element" },
                { "<interface type='bridge'><mac address='" MAC "'/><source bridge='labbr0'/><backend tap='/dev/x'/></interface>",
                  "with a <backend> element" },
                { "<interface type='bridge'><mac address='52:54:00:00:00:09'/><source bridge='labbr0'/></interface>",
                  "not the one of the VF " MAC },
                { "<interface type='network'><mac address='" MAC "'/></interface>", "names no network" },
                { "<interface", "is not XML" },
                { NULL, "records no <interface>" },
        };

        p = policy_from("{ \"match\": { \"names\": [\"vm1\"] } }");

        /* The old host's tap and guest address are dropped; the rest is plugged as recorded. */
        {
                _cleanup_free_ char *xml = NULL, *why = NULL;

                ASSERT_OK(arrival_plug_xml(p, domain_xml,
                                           "<interface type='bridge'><mac address='" MAC "'/><source bridge='labbr0'/>"
                                           "<target dev='vnet3'/><model type='e1000e'/><alias name='ua-vf0'/>"
                                           "<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>"
                                           "</interface>", MAC, "ua-vf0", &xml, &why));
                ASSERT_STREQ(xml, "<interface type=\"bridge\"><mac address=\"" MAC "\"/><source bridge=\"labbr0\"/>"
                             "<model type=\"e1000e\"/><alias name=\"ua-vf0\"/></interface>");
        }
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *xml = NULL, *why = NULL;
                int r = arrival_plug_xml(p, domain_xml, cases[i].plan_xml, MAC, "ua-vf0", &xml, &why);

                if (!cases[i].why) {
                        if (r < 0)
                                ASSERT_FAIL_("case %zu refused: %s", i, why ? why : "?");
                        ASSERT_NOT_NULL(strstr(xml, MAC) ? xml : strcasestr(xml, MAC));
                        continue;
                }
                if (r != -EPERM || !why || !strstr(why, cases[i].why))
                        ASSERT_FAIL_("case %zu: %d '%s', expected '%s'", i, r, why ? why : "(none)", cases[i].why);
                ASSERT_NULL(xml);
        }
}

/* Plug source network: the plan's <interface> is not read at all. */
static void test_rebuilt(void) {
        _cleanup_(policy_freep) Policy *p = NULL, *pinned = NULL;
        _cleanup_free_ char *xml = NULL, *why = NULL;

        p = policy_from("{ \"match\": { \"names\": [\"vm1\"] }, \"plug\": { \"source\": \"network\", \"network\": \"sriov-pool\" } }");
        ASSERT_OK(arrival_plug_xml(p, domain_xml, "<interface type='hostdev'><script path='/tmp/x'/></interface>", MAC,
                                   "ua-vf0", &xml, &why));
        ASSERT_NOT_NULL(strstr(xml, "<source network='sriov-pool'/>"));
        ASSERT_NOT_NULL(strstr(xml, MAC));
        ASSERT_NULL(strstr(xml, "script"));

        /* A policy that names the MAC decides which VF it is. */
        pinned = policy_from("{ \"match\": { \"names\": [\"vm1\"] }, \"guest\": { \"vf\": \"52:54:00:aa:bb:02\" }, "
                             "\"plug\": { \"source\": \"network\", \"network\": \"sriov-pool\" } }");
        free(xml);
        xml = NULL;
        ASSERT_ERR(arrival_plug_xml(pinned, domain_xml, NULL, MAC, "ua-vf0", &xml, &why), EPERM);
        ASSERT_NOT_NULL(strstr(why, "plugs the VF " MAC ", and its policy"));
        ASSERT_NULL(xml);
}

int main(void) {
        test_recorded();
        test_rebuilt();
        printf("test-arrival-plug: all passed\n");
        return 0;
}
