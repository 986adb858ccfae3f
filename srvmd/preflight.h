/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Preflight's decisions, made on a domain's XML and the loaded policies: which policy governs
 * the domain, which interface is its VF, what the destination plugs, and when the domain
 * cannot go, the sentence that says why. srvmd and srvmd-sim (a job's preflight), arrival
 * jobs, GetDomainPolicy and ListDomains all decide here. Pure: libxml2 over strings and a
 * policy set; no libvirt, no bus, no logging. */
#pragma once

#include "policy.h"
#include "virt-xml.h"

/* The policy of set in force for the domain domain_xml describes. -EBADMSG if it is not a
 * domain's XML (or names none), -ENOENT if no policy applies (a set without a default),
 * -ENOMEM. */
int preflight_resolve_policy(const PolicySet *set, const char *domain_xml, const Policy **ret,
                             PolicyMatchKind *ret_kind);

/* What preflight decided for one job. */
typedef struct PreflightDecision {
        const Policy *policy;  /* borrowed from the set; NULL if none applies */
        PolicyMatchKind match; /* how it matched */
        VirtXmlInterface vf;   /* the VF found; all NULL if none was */
        char *plug_xml;        /* the <interface> the destination plugs; NULL if refused */
        char *refusal;         /* why the domain cannot go, one phrase; NULL if it can */
} PreflightDecision;

void preflight_decision_done(PreflightDecision *d);

/* Decide for a job on the domain of domain_xml: resolve its policy, find the VF (by vf_spec,
 * the job's own alias or MAC, else the policy's, else the only candidate), make the XML the
 * destination plugs. Anything that stops the domain from going is a phrase in refusal, not an
 * error: no policy applies (policy NULL then), no VF or several, a VF with neither alias nor
 * MAC, a policy that cannot make the VF's XML. Errors: -EBADMSG if domain_xml is not a
 * domain's XML, -ENOMEM. */
int preflight_decide(const PolicySet *set, const char *domain_xml, const char *vf_spec,
                     PreflightDecision *ret);

/* Why virt_xml_find_vf() found no VF, r being what it returned (< 0): one phrase in *ret (to
 * be freed). -ENOMEM, or r itself when it is not one of virt_xml_find_vf()'s answers (*ret
 * untouched then). */
int preflight_vf_note(const char *domain_xml, const char *spec, int r, char **ret);

/* What ListDomains tells of a domain, from its XML and the policies: its name, the policy in
 * force (NULL if none resolves), and the VF that policy names (or, if it names none, the one
 * srvmd would pick itself): its alias, else its MAC; NULL with a phrase in note saying why
 * there is none, in preflight's words. Errors: -EBADMSG if domain_xml is not a domain's XML,
 * -ENOMEM. */
typedef struct PreflightDomainSummary {
        char *name;
        char *policy;
        char *vf;
        char *note;
} PreflightDomainSummary;

void preflight_domain_summary_done(PreflightDomainSummary *s);
int preflight_summarize_domain(const PolicySet *set, const char *domain_xml, PreflightDomainSummary *ret);
