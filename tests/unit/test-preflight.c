/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Preflight's decisions (preflight.c): the policy a domain resolves to, the VF found by the
 * job's spec, the policy's or alone, the XML each plug source makes, and the one phrase for
 * every refusal; the same answers srvmd, srvmd-sim, arrivals and GetDomainPolicy get, and
 * what ListDomains says of a domain in the same words. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assert.h"
#include "domain-xml.h"
#include "preflight.h"

#define VF_NO_ALIAS                                                                  \
        "<interface type='hostdev' managed='yes'>"                                   \
        "<mac address='52:54:00:bb:00:03'/>"                                         \
        "<source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source>" \
        "</interface>"

#define VF_NO_ALIAS_NO_MAC                                                           \
        "<interface type='hostdev' managed='yes'>"                                   \
        "<source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x2'/></source>" \
        "</interface>"

#define DOMAIN(name, devices) \
        "<domain type='qemu' id='1'><name>" name "</name><devices>" devices "</devices></domain>"

static const char *const policy_files[][2] = {
        { "named.json", "{ \"match\": { \"names\": [\"g\"] }, \"guest\": { \"vf\": \"ua-vf0\" } }" },
        { "bymac.json", "{ \"match\": { \"names\": [\"m\"] }, \"guest\": { \"vf\": \"52:54:00:00:00:01\" } }" },
        { "pool.json", "{ \"match\": { \"names\": [\"pool\"] }, \"plug\": { \"source\": \"network\", \"network\": \"sriov-pool\" } }" },
        { "tmpl.json", "{ \"match\": { \"names\": [\"tmpl*\"] }, \"plug\": { \"source\": \"template\", \"template\":"
                       " \"<interface type='network'><mac address='{mac}'/><source network='sriov-db'/><alias name='{alias}'/></interface>\" } }" },
};

static PolicySet *load_policies(void) {
        char dir[] = "/tmp/test-preflight-XXXXXX", path[256];
        const char *dirs[] = { dir, NULL };
        _cleanup_free_ char *error = NULL;
        PolicySet *set = NULL;

        ASSERT_NOT_NULL(mkdtemp(dir));
        for (size_t i = 0; i < ELEMENTSOF(policy_files); i++) {
                FILE *f;

                snprintf(path, sizeof path, "%s/%s", dir, policy_files[i][0]);
                f = fopen(path, "we");
                ASSERT_NOT_NULL(f);
                ASSERT_TRUE(fputs(policy_files[i][1], f) >= 0);
                ASSERT_EQ_INT(fclose(f), 0);
        }
        ASSERT_OK(policy_set_load(dirs, &set, &error));
        for (size_t i = 0; i < ELEMENTSOF(policy_files); i++) {
                snprintf(path, sizeof path, "%s/%s", dir, policy_files[i][0]);
                ASSERT_EQ_INT(unlink(path), 0);
        }
        ASSERT_EQ_INT(rmdir(dir), 0);
        return set;
}

static void test_decide(void) {
        static const struct {
                const char *name;
                const char *xml;
                const char *spec;      /* the job's own --vf */
                const char *policy;    /* NULL: none resolves */
                PolicyMatchKind match;
                const char *vf_alias;  /* the VF found */
                const char *vf_mac;
                const char *plug[3];   /* all in the plug XML; none: no plug XML */
                const char *refusal;   /* the whole phrase, or NULL */
        } cases[] = {
                { "default policy, the only candidate, recorded plug without the guest address",
                  DOMAIN("d", VIRTIO_NIC EMULATED_VF), NULL, "default", POLICY_MATCH_DEFAULT,
                  "ua-vf0", "52:54:00:aa:00:02",
                  { "<mac address=\"52:54:00:AA:00:02\"/>", "<alias name=\"ua-vf0\"/>", "e1000e" }, NULL },
                { "the job names the VF by MAC",
                  DOMAIN("d", VIRTIO_NIC EMULATED_VF VF_NO_ALIAS), "52:54:00:aa:00:02", "default", POLICY_MATCH_DEFAULT,
                  "ua-vf0", "52:54:00:aa:00:02", { "ua-vf0" }, NULL },
                { "the policy names the VF",
                  DOMAIN("g", VIRTIO_NIC EMULATED_VF VF_NO_ALIAS), NULL, "named", POLICY_MATCH_NAME,
                  "ua-vf0", "52:54:00:aa:00:02", { "ua-vf0" }, NULL },
                { "the job's spec wins over the policy's",
                  DOMAIN("g", VIRTIO_NIC EMULATED_VF), "ua-vf9", "named", POLICY_MATCH_NAME,
                  NULL, NULL, {}, "the domain has no interface ua-vf9" },
                { "network plug source",
                  DOMAIN("pool", VIRTIO_NIC EMULATED_VF), NULL, "pool", POLICY_MATCH_NAME,
                  "ua-vf0", "52:54:00:aa:00:02",
                  { "<interface type='network'>", "<source network='sriov-pool'/>", "<mac address='52:54:00:aa:00:02'/>" }, NULL },
                { "template plug source",
                  DOMAIN("tmpl1", VIRTIO_NIC EMULATED_VF), NULL, "tmpl", POLICY_MATCH_GLOB,
                  "ua-vf0", "52:54:00:aa:00:02",
                  { "<source network='sriov-db'/>", "<mac address='52:54:00:aa:00:02'/>", "<alias name='ua-vf0'/>" }, NULL },
                { "a template needs an alias the VF does not have",
                  DOMAIN("tmpl2", VIRTIO_NIC VF_NO_ALIAS), NULL, "tmpl", POLICY_MATCH_GLOB,
                  NULL, "52:54:00:bb:00:03", {},
                  "the policy tmpl cannot make the VF's XML for the destination (the VF has no alias or MAC to fill in)" },
                { "no VF at all",
                  DOMAIN("d", VIRTIO_NIC), NULL, "default", POLICY_MATCH_DEFAULT, NULL, NULL, {},
                  "the domain has no VF interface (type 'hostdev' or a model other than virtio)" },
                { "the spec names the virtio standby",
                  DOMAIN("d", VIRTIO_NIC EMULATED_VF), "ua-net0", "default", POLICY_MATCH_DEFAULT, NULL, NULL, {},
                  "ua-net0 is the domain's virtio-net interface, not its VF" },
                { "several candidates",
                  DOMAIN("d", VIRTIO_NIC EMULATED_VF EMULATED_VF), NULL, "default", POLICY_MATCH_DEFAULT, NULL, NULL, {},
                  "the domain has several interfaces that could be the VF (ua-vf0 (52:54:00:AA:00:02), ua-vf0 (52:54:00:AA:00:02)); name one (the policy's vf, or --vf)" },
                { "a VF with neither alias nor MAC",
                  DOMAIN("d", VIRTIO_NIC VF_NO_ALIAS_NO_MAC), NULL, "default", POLICY_MATCH_DEFAULT, NULL, NULL, {},
                  "the domain's VF interface has neither an alias nor a MAC" },
        };
        _cleanup_(policy_set_freep) PolicySet *set = load_policies();

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(preflight_decision_done) PreflightDecision d = {};

                printf("decide: %s\n", cases[i].name);
                ASSERT_OK(preflight_decide(set, cases[i].xml, cases[i].spec, &d));
                ASSERT_NOT_NULL(d.policy);
                ASSERT_STREQ(policy_get_name(d.policy), cases[i].policy);
                ASSERT_EQ_INT(d.match, cases[i].match);
                if (cases[i].vf_alias || cases[i].vf_mac) {
                        ASSERT_TRUE(streq_ptr(d.vf.alias, cases[i].vf_alias));
                        ASSERT_TRUE(streq_ptr(d.vf.mac, cases[i].vf_mac));
                }
                if (cases[i].refusal) {
                        ASSERT_STREQ(d.refusal, cases[i].refusal);
                        ASSERT_NULL(d.plug_xml);
                } else {
                        ASSERT_NULL(d.refusal);
                        ASSERT_NOT_NULL(d.plug_xml);
                        ASSERT_NULL(strstr(d.plug_xml, "<address type='pci' domain='0x0000' bus='0x02'"));
                        ASSERT_NULL(strstr(d.plug_xml, "<target"));
                        for (size_t k = 0; k < ELEMENTSOF(cases[i].plug) && cases[i].plug[k]; k++)
                                if (!strstr(d.plug_xml, cases[i].plug[k])) {
                                        printf("missing %s in %s\n", cases[i].plug[k], d.plug_xml);
                                        ASSERT_TRUE(false);
                                }
                }
        }
}

/* What ListDomains tells of a domain: policy by name, VF found by the policy's spec or by
 * itself, and why there is none. */
static void test_summary(void) {
        _cleanup_(policy_set_freep) PolicySet *set = load_policies();

        {       /* the policy names the VF by alias, and it is there */
                _cleanup_(preflight_domain_summary_done) PreflightDomainSummary s = {};
                ASSERT_OK(preflight_summarize_domain(set, DOMAIN("g", VIRTIO_NIC EMULATED_VF), &s));
                ASSERT_STREQ(s.name, "g");
                ASSERT_STREQ(s.policy, "named");
                ASSERT_STREQ(s.vf, "ua-vf0");
                ASSERT_NULL(s.note);
        }
        {       /* ... and it is not */
                _cleanup_(preflight_domain_summary_done) PreflightDomainSummary s = {};
                ASSERT_OK(preflight_summarize_domain(set, DOMAIN("g", VIRTIO_NIC POOL_VF), &s));
                ASSERT_STREQ(s.policy, "named");
                ASSERT_NULL(s.vf);
                ASSERT_STREQ(s.note, "the domain has no interface ua-vf0");
        }
        {       /* the default policy: srvmd's own pick, by alias */
                _cleanup_(preflight_domain_summary_done) PreflightDomainSummary s = {};
                ASSERT_OK(preflight_summarize_domain(set,
                        "<domain><name>other</name><devices>" VIRTIO_NIC POOL_VF "</devices></domain>", &s));
                ASSERT_STREQ(s.name, "other");
                ASSERT_STREQ(s.policy, "default");
                ASSERT_STREQ(s.vf, "hostdev0");
        }
        {       /* no alias: the MAC, lower case */
                _cleanup_(preflight_domain_summary_done) PreflightDomainSummary s = {};
                ASSERT_OK(preflight_summarize_domain(set,
                        "<domain><name>other</name><devices>"
                        "<interface type='network'><mac address='AA:BB:CC:DD:EE:FF'/></interface>"
                        "</devices></domain>", &s));
                ASSERT_STREQ(s.vf, "aa:bb:cc:dd:ee:ff");
        }
        {       /* only virtio: no VF, and why */
                _cleanup_(preflight_domain_summary_done) PreflightDomainSummary s = {};
                ASSERT_OK(preflight_summarize_domain(set,
                        "<domain><name>other</name><devices>" VIRTIO_NIC "</devices></domain>", &s));
                ASSERT_STREQ(s.policy, "default");
                ASSERT_NULL(s.vf);
                ASSERT_STREQ(s.note, "the domain has no VF interface (type 'hostdev' or a model other than virtio)");
        }
        {       /* two candidates: none picked */
                _cleanup_(preflight_domain_summary_done) PreflightDomainSummary s = {};
                ASSERT_OK(preflight_summarize_domain(set,
                        "<domain><name>other</name><devices>" EMULATED_VF
                        "<interface type='network'><mac address='52:54:00:00:00:09'/></interface>"
                        "</devices></domain>", &s));
                ASSERT_NULL(s.vf);
                ASSERT_TRUE(strstr(s.note, "several interfaces that could be the VF (ua-vf0 (52:54:00:AA:00:02), no alias (52:54:00:00:00:09))"));
        }
        {       /* the policy names the virtio NIC */
                _cleanup_(preflight_domain_summary_done) PreflightDomainSummary s = {};
                ASSERT_OK(preflight_summarize_domain(set,
                        "<domain><name>m</name><devices>" VIRTIO_NIC EMULATED_VF "</devices></domain>", &s));
                ASSERT_STREQ(s.policy, "bymac");
                ASSERT_NULL(s.vf);
                ASSERT_STREQ(s.note, "52:54:00:00:00:01 is the domain's virtio-net interface, not its VF");
        }
        {       /* no policies at all */
                _cleanup_(preflight_domain_summary_done) PreflightDomainSummary s = {};
                ASSERT_OK(preflight_summarize_domain(NULL, DOMAIN("g", EMULATED_VF), &s));
                ASSERT_NULL(s.policy);
                ASSERT_NULL(s.vf);
                ASSERT_STREQ(s.note, "no policy resolves for it");
        }
        {
                PreflightDomainSummary s = {};
                ASSERT_EQ_INT(preflight_summarize_domain(set, "<network/>", &s), -EBADMSG);
                ASSERT_EQ_INT(preflight_summarize_domain(set, "<domain><devices/></domain>", &s), -EBADMSG);
                ASSERT_NULL(s.name);
        }
}

static void test_decide_no_policy(void) {
        _cleanup_(preflight_decision_done) PreflightDecision d = {};

        /* No set at all (no default either): refused, with the phrase ListDomains uses. */
        ASSERT_OK(preflight_decide(NULL, DOMAIN("d", VIRTIO_NIC EMULATED_VF), NULL, &d));
        ASSERT_NULL(d.policy);
        ASSERT_STREQ(d.refusal, "no policy resolves for it");
        ASSERT_NULL(d.plug_xml);
        ASSERT_NULL(d.vf.alias);
}

static void test_errors(void) {
        _cleanup_(policy_set_freep) PolicySet *set = load_policies();
        PreflightDecision d = {};
        const Policy *p = NULL;
        PolicyMatchKind kind;

        ASSERT_EQ_INT(preflight_decide(set, "<network/>", NULL, &d), -EBADMSG);
        ASSERT_EQ_INT(preflight_decide(set, "<domain", NULL, &d), -EBADMSG);
        ASSERT_EQ_INT(preflight_decide(set, "<domain><devices/></domain>", NULL, &d), -EBADMSG);
        ASSERT_EQ_INT(preflight_decide(set, NULL, NULL, &d), -EINVAL);
        ASSERT_NULL(d.refusal); /* untouched on failure */

        ASSERT_EQ_INT(preflight_resolve_policy(set, "<network/>", &p, &kind), -EBADMSG);
        ASSERT_EQ_INT(preflight_resolve_policy(NULL, DOMAIN("d", ""), &p, &kind), -ENOENT);
        ASSERT_NULL(p);
        ASSERT_OK(preflight_resolve_policy(set, DOMAIN("tmpl9", ""), &p, &kind));
        ASSERT_STREQ(policy_get_name(p), "tmpl");
        ASSERT_EQ_INT(kind, POLICY_MATCH_GLOB);
}

int main(void) {
        test_decide();
        test_summary();
        test_decide_no_policy();
        test_errors();
        printf("test-preflight: all passed\n");
        return 0;
}
