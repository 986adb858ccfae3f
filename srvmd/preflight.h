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

/* The migration path: native when the VF moves with the domain (an emulated NIC QEMU migrates
 * itself, or a hostdev VF bound on the source to a VFIO migration variant driver, vfio.h, with
 * libvirt and QEMU recent enough on both hosts), else failover. The backend reads the facts
 * (the VF's driver from sysfs, each host's versions from libvirt) and the decision is here. */
#define PREFLIGHT_NATIVE_LIBVIRT_MIN 8006000UL /* 8.6.0: asks QEMU for blockers, VFIO hostdevs migrate */
#define PREFLIGHT_NATIVE_QEMU_MIN 8001000UL    /* 8.1.0: VFIO migration no longer experimental */

/* One host's versions, as virConnectGetLibVersion() and virConnectGetVersion() give them
 * (major * 1000000 + minor * 1000 + micro); 0: not known. */
typedef struct PreflightHostVersions {
        unsigned long libvirt;
        unsigned long qemu;
} PreflightHostVersions;

/* The driver a hostdev's PCI device is bound to on the source: driver, or NULL and why not
 * in error (vfio_read_pci_driver()'s answer). */
typedef struct PreflightPciDriver {
        char *address; /* "DDDD:BB:SS.F" */
        char *driver;
        int error;
} PreflightPciDriver;

/* What the backend's read action learned of the hosts, for the path: each host's versions
 * and the driver of every hostdev interface's PCI device. Owned. */
typedef struct PreflightHostFacts {
        PreflightHostVersions source, destination;
        PreflightPciDriver *drivers;
        size_t n_drivers;
} PreflightHostFacts;

void preflight_host_facts_done(PreflightHostFacts *f);
/* Add the driver of address as vfio_read_pci_driver() read it (r its answer). -ENOMEM. */
int preflight_host_facts_add_driver(PreflightHostFacts *f, const char *address, const char *driver, int r);

typedef struct PreflightPathFacts {
        PolicyMigrationPath wanted;      /* the policy's */
        const char *vf_xml;              /* the VF's <interface>, as the source has it; NULL: none */
        const PreflightHostFacts *hosts; /* NULL: nothing known of the hosts */
} PreflightPathFacts;

typedef struct PreflightPath {
        PolicyMigrationPath path; /* POLICY_PATH_NATIVE or POLICY_PATH_FAILOVER */
        char *reason;             /* one sentence: why this path */
        char *refusal;            /* the policy wants native and it cannot be: why; else NULL */
} PreflightPath;

void preflight_path_done(PreflightPath *p);

/* Decide the path for the facts. Never fails for what the facts say: a native path that
 * cannot be taken is failover under auto and a refusal under native. -EINVAL if f or ret is
 * NULL or f->wanted is not a path, -ENOMEM. */
int preflight_decide_path(const PreflightPathFacts *f, PreflightPath *ret);

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
