/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Preflight's decisions on a domain's XML and the policies. See preflight.h. */
#include <stdio.h>

#include "preflight.h"

#define NO_POLICY "no policy resolves for it"

int preflight_resolve_policy(const PolicySet *set, const char *domain_xml, const Policy **ret,
                             PolicyMatchKind *ret_kind) {
        _cleanup_(virt_xml_domain_info_done) VirtXmlDomainInfo info = {};
        int r;

        if (!domain_xml || !ret)
                return -EINVAL;
        r = virt_xml_read_domain_info(domain_xml, &info);
        if (r < 0)
                return r;
        if (!info.name)
                return -EBADMSG; /* libvirt's XML always names the domain */
        if (!set)
                return -ENOENT;
        r = virt_xml_resolve_policy(set, &info, ret, ret_kind);
        return r == -EINVAL ? -ENOENT : r;
}

int preflight_vf_note(const char *domain_xml, const char *spec, int r, char **ret) {
        _cleanup_free_ char *list = NULL;

        switch (r) {
        case -ENOENT:
                if (spec)
                        return asprintf(ret, "the domain has no interface %s", spec) < 0 ? -ENOMEM : 0;
                return (*ret = strdup("the domain has no VF interface (type 'hostdev' or a model other than virtio)"))
                        ? 0 : -ENOMEM;
        case -EMEDIUMTYPE:
                return asprintf(ret, "%s is the domain's virtio-net interface, not its VF", spec) < 0 ? -ENOMEM : 0;
        case -ENOTUNIQ:
                if (virt_xml_list_vf_candidates(domain_xml, &list) < 0)
                        return -ENOMEM;
                return asprintf(ret, "the domain has several interfaces that could be the VF (%s); name one (the policy's vf, or --vf)",
                                list) < 0 ? -ENOMEM : 0;
        default:
                return r;
        }
}

/* The VF by spec, or the phrase saying why there is none usable in *ret_refusal. 0 either
 * way; -ENOMEM. */
static int find_vf(const char *domain_xml, const char *spec, VirtXmlInterface *ret, char **ret_refusal) {
        _cleanup_(virt_xml_interface_done) VirtXmlInterface vf = {};
        int r;

        r = virt_xml_find_vf(domain_xml, spec, &vf);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT || r == -EMEDIUMTYPE || r == -ENOTUNIQ)
                return preflight_vf_note(domain_xml, spec, r, ret_refusal);
        if (r < 0)
                return (*ret_refusal = strdup("cannot understand the domain's XML")) ? 0 : -ENOMEM;
        if (!vf.alias && !vf.mac)
                return (*ret_refusal = strdup("the domain's VF interface has neither an alias nor a MAC")) ? 0 : -ENOMEM;
        *ret = vf;
        vf = (VirtXmlInterface) {};
        return 0;
}

/* The XML the destination plugs for vf, as the policy says; or the phrase why not. */
static int make_plug_xml(const Policy *pol, const VirtXmlInterface *vf, char **ret, char **ret_refusal) {
        _cleanup_free_ char *made = NULL, *plug = NULL;
        int r;

        r = policy_make_plug_xml(pol, vf->xml, vf->mac, vf->alias, &made);
        if (r >= 0 && policy_get_plug_source(pol) == POLICY_PLUG_RECORDED)
                r = virt_xml_make_plug_xml(made, &plug);
        else if (r >= 0)
                plug = TAKE_PTR(made);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return asprintf(ret_refusal, "the policy %s cannot make the VF's XML for the destination (%s)",
                                policy_get_name(pol),
                                r == -ENODATA ? "the VF has no alias or MAC to fill in" :
                                r == -EINVAL ? "the VF's MAC or alias does not fit its template" :
                                strerror(-r)) < 0 ? -ENOMEM : 0;
        *ret = TAKE_PTR(plug);
        return 0;
}

void preflight_decision_done(PreflightDecision *d) {
        if (!d)
                return;
        virt_xml_interface_done(&d->vf);
        free(d->plug_xml);
        free(d->refusal);
        *d = (PreflightDecision) {};
}

int preflight_decide(const PolicySet *set, const char *domain_xml, const char *vf_spec,
                     PreflightDecision *ret) {
        _cleanup_(preflight_decision_done) PreflightDecision d = {};
        const char *spec;
        int r;

        if (!domain_xml || !ret)
                return -EINVAL;

        r = preflight_resolve_policy(set, domain_xml, &d.policy, &d.match);
        if (r == -ENOENT) {
                d.policy = NULL;
                d.refusal = strdup(NO_POLICY);
                if (!d.refusal)
                        return -ENOMEM;
                *ret = d;
                d = (PreflightDecision) {};
                return 0;
        }
        if (r < 0)
                return r;

        spec = vf_spec && *vf_spec ? vf_spec : policy_get_vf(d.policy);
        if (spec && !*spec)
                spec = NULL;
        r = find_vf(domain_xml, spec, &d.vf, &d.refusal);
        if (r < 0)
                return r;
        if (!d.refusal) {
                r = make_plug_xml(d.policy, &d.vf, &d.plug_xml, &d.refusal);
                if (r < 0)
                        return r;
        }

        *ret = d;
        d = (PreflightDecision) {};
        return 0;
}

void preflight_domain_summary_done(PreflightDomainSummary *s) {
        if (!s)
                return;
        free(s->name);
        free(s->policy);
        free(s->vf);
        free(s->note);
        *s = (PreflightDomainSummary) {};
}

int preflight_summarize_domain(const PolicySet *set, const char *domain_xml, PreflightDomainSummary *ret) {
        _cleanup_(preflight_domain_summary_done) PreflightDomainSummary s = {};
        _cleanup_(virt_xml_domain_info_done) VirtXmlDomainInfo info = {};
        _cleanup_(virt_xml_interface_done) VirtXmlInterface vf = {};
        const Policy *policy = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = virt_xml_read_domain_info(domain_xml, &info);
        if (r < 0)
                return r;
        if (!info.name)
                return -EBADMSG;
        s.name = strdup(info.name);
        if (!s.name)
                return -ENOMEM;

        r = set ? virt_xml_resolve_policy(set, &info, &policy, NULL) : -ENOENT;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                s.note = strdup(NO_POLICY);
                if (!s.note)
                        return -ENOMEM;
                *ret = s;
                s = (PreflightDomainSummary) {};
                return 0;
        }
        s.policy = strdup(policy_get_name(policy));
        if (!s.policy)
                return -ENOMEM;

        r = find_vf(domain_xml, policy_get_vf(policy), &vf, &s.note);
        if (r < 0)
                return r;
        if (!s.note)
                s.vf = vf.alias ? TAKE_PTR(vf.alias) : TAKE_PTR(vf.mac);

        *ret = s;
        s = (PreflightDomainSummary) {};
        return 0;
}
