/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Preflight's decisions on a domain's XML and the policies. See preflight.h. */
#include <stdio.h>

#include "preflight.h"
#include "vfio.h"

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

void preflight_host_facts_done(PreflightHostFacts *f) {
        if (!f)
                return;
        for (size_t i = 0; i < f->n_drivers; i++) {
                free(f->drivers[i].address);
                free(f->drivers[i].driver);
        }
        free(f->drivers);
        *f = (PreflightHostFacts) {};
}

int preflight_host_facts_add_driver(PreflightHostFacts *f, const char *address, const char *driver, int r) {
        PreflightPciDriver *a, d = { .error = r < 0 ? r : 0 };

        if (!f || !address)
                return -EINVAL;
        d.address = strdup(address);
        if (!d.address)
                return -ENOMEM;
        if (r >= 0 && driver && !(d.driver = strdup(driver))) {
                free(d.address);
                return -ENOMEM;
        }
        a = reallocarray(f->drivers, f->n_drivers + 1, sizeof(*a));
        if (!a) {
                free(d.address);
                free(d.driver);
                return -ENOMEM;
        }
        f->drivers = a;
        f->drivers[f->n_drivers++] = d;
        return 0;
}

static const PreflightPciDriver *find_driver(const PreflightHostFacts *h, const char *address) {
        for (size_t i = 0; h && i < h->n_drivers; i++)
                if (streq(h->drivers[i].address, address))
                        return &h->drivers[i];
        return NULL;
}

void preflight_path_done(PreflightPath *p) {
        if (!p)
                return;
        free(p->reason);
        free(p->refusal);
        *p = (PreflightPath) {};
}

static int format_version(unsigned long v, char *buf, size_t size) {
        return snprintf(buf, size, "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
}

/* Why one program of a host (libvirt, QEMU) at version have cannot migrate a VF natively,
 * needing min; NULL in *ret if it can. */
static int version_blocks_native(const char *host, const char *program, unsigned long have, unsigned long min,
                                 char **ret) {
        char h[32], m[32];

        if (have == 0)
                return asprintf(ret, "the %s's %s version is not known", host, program) < 0 ? -ENOMEM : 0;
        if (have >= min)
                return 0;
        format_version(have, h, sizeof h);
        format_version(min, m, sizeof m);
        return asprintf(ret, "the %s runs %s %s and a VF migrates with its domain only from %s %s on",
                        host, program, h, program, m) < 0 ? -ENOMEM : 0;
}

/* Why a host's libvirt or QEMU cannot migrate a VF natively; NULL in *ret if it can. */
static int host_blocks_native(const char *host, const PreflightHostVersions *h, char **ret) {
        int r;

        *ret = NULL;
        r = version_blocks_native(host, "libvirt", h->libvirt, PREFLIGHT_NATIVE_LIBVIRT_MIN, ret);
        if (r < 0 || *ret)
                return r;
        return version_blocks_native(host, "QEMU", h->qemu, PREFLIGHT_NATIVE_QEMU_MIN, ret);
}

static int driver_list(char **ret) {
        _cleanup_free_ char *list = NULL;

        for (size_t i = 0; vfio_migration_drivers[i]; i++) {
                char *joined;

                if (asprintf(&joined, "%s%s%s", list ? list : "", list ? ", " : "", vfio_migration_drivers[i]) < 0)
                        return -ENOMEM;
                free(list);
                list = joined;
        }
        *ret = TAKE_PTR(list);
        return 0;
}

/* For a hostdev VF: why it cannot migrate natively in *ret_why, or what makes it able to in
 * *ret_how. */
static int hostdev_native(const PreflightPathFacts *f, const VirtXmlNic *nic, char **ret_why, char **ret_how) {
        static const PreflightHostVersions unknown = {};
        _cleanup_free_ char *why = NULL, *list = NULL;
        const PreflightPciDriver *d;
        int r;

        if (!nic->pci_address)
                return (*ret_why = strdup("the VF's hostdev interface names no host PCI address")) ? 0 : -ENOMEM;
        d = find_driver(f->hosts, nic->pci_address);
        if (!d || !d->driver)
                return asprintf(ret_why, "the driver of the VF's PCI device %s on the source is not known (%s)",
                                nic->pci_address,
                                !d ? "the source was not asked" :
                                d->error == -ENODEV ? "the source has no such device" :
                                d->error == -ENOLINK ? "it is bound to no driver" :
                                strerror(d->error < 0 ? -d->error : ENODATA)) < 0 ? -ENOMEM : 0;
        if (!vfio_driver_can_migrate(d->driver)) {
                r = driver_list(&list);
                if (r < 0)
                        return r;
                return asprintf(ret_why, "the VF's PCI device %s is bound to %s, not to a VFIO migration variant driver (%s)",
                                nic->pci_address, d->driver, list) < 0 ? -ENOMEM : 0;
        }
        r = host_blocks_native("source", f->hosts ? &f->hosts->source : &unknown, &why);
        if (r >= 0 && !why)
                r = host_blocks_native("destination", f->hosts ? &f->hosts->destination : &unknown, &why);
        if (r < 0)
                return r;
        if (why) {
                *ret_why = TAKE_PTR(why);
                return 0;
        }
        return asprintf(ret_how, "the VF's PCI device %s is bound to %s, a VFIO migration variant driver, and both hosts "
                        "run libvirt 8.6 and QEMU 8.1 or later", nic->pci_address, d->driver) < 0 ? -ENOMEM : 0;
}

int preflight_decide_path(const PreflightPathFacts *f, PreflightPath *ret) {
        _cleanup_(preflight_path_done) PreflightPath p = {};
        _cleanup_(virt_xml_nic_done) VirtXmlNic nic = {};
        _cleanup_free_ char *why = NULL, *how = NULL;
        int r;

        if (!f || !ret || f->wanted < 0 || f->wanted >= _POLICY_PATH_MAX)
                return -EINVAL;

        switch (f->wanted) {
        case POLICY_PATH_FAILOVER:
                p.path = POLICY_PATH_FAILOVER;
                p.reason = strdup("the policy pins the failover path");
                if (!p.reason)
                        return -ENOMEM;
                *ret = p;
                p = (PreflightPath) {};
                return 0;
        case POLICY_PATH_AUTO:
        case POLICY_PATH_NATIVE:
                break;
        case _POLICY_PATH_MAX:
        case _POLICY_PATH_INVALID:
                return -EINVAL;
        }

        r = f->vf_xml ? virt_xml_read_nic(f->vf_xml, &nic) : -ENODATA;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                why = strdup("no VF interface is known to decide on");
        else if (nic.hostdev)
                r = hostdev_native(f, &nic, &why, &how);
        else if (nic.model)
                r = asprintf(&how, "the VF is an emulated %s NIC, which QEMU migrates itself", nic.model) < 0 ? -ENOMEM : 0;
        else
                why = strdup("the VF's interface is neither a hostdev nor a NIC model QEMU migrates itself");
        if (r == -ENOMEM || (!why && !how))
                return -ENOMEM;

        if (how) {
                p.path = POLICY_PATH_NATIVE;
                r = asprintf(&p.reason, "native: %s", how);
        } else {
                p.path = POLICY_PATH_FAILOVER;
                if (f->wanted == POLICY_PATH_NATIVE)
                        r = asprintf(&p.refusal, "the policy asks for the native path and %s", why);
                r = r < 0 ? r : asprintf(&p.reason, "failover: %s", why);
        }
        if (r < 0)
                return -ENOMEM;
        *ret = p;
        p = (PreflightPath) {};
        return 0;
}
