/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain XML as srvm reads it: which <interface> is the VF, what to record of it, and
 * how to turn the recorded element back into something libvirt accepts for a hot-plug.
 * Pure libxml2 over strings; no libvirt, no logging. */
#pragma once

#include <stdint.h>

#include "macro.h"
#include "policy.h"

typedef struct VirtXmlInterface {
        char *alias; /* <alias name>, NULL if the element has none */
        char *mac;   /* <mac address>, lower case, NULL if none */
        char *xml;   /* the <interface> element, serialized */
} VirtXmlInterface;

void virt_xml_interface_done(VirtXmlInterface *i);

/* Find the VF among the domain's <interface> elements. spec is an alias ("ua-vf0") or a
 * MAC address; NULL picks the only interface that is type='hostdev' or has a model other
 * than virtio (hostdev ones win if both kinds exist). Errors:
 *   -EBADMSG  domain_xml is not a domain's XML
 *   -ENOENT   no interface matches spec / no candidate
 *   -ENOTUNIQ several candidates (see virt_xml_list_vf_candidates())
 *   -EMEDIUMTYPE spec names a virtio interface, which srvm must never unplug */
int virt_xml_find_vf(const char *domain_xml, const char *spec, VirtXmlInterface *ret);

/* The candidates virt_xml_find_vf() would pick from without a spec, as "ua-vf0 (52:54:..)"
 * joined by ", "; an empty string if none. */
int virt_xml_list_vf_candidates(const char *domain_xml, char **ret);

/* 1 if the domain has a device with this alias, or a non-virtio interface with this MAC
 * (either may be NULL), 0 if not, -EBADMSG on bad XML. */
int virt_xml_has_vf(const char *domain_xml, const char *alias, const char *mac);

/* From a recorded <interface> element, the XML to attach it again elsewhere: drops the
 * guest <address>, <target> and the runtime-only attributes of <source> (portid, and
 * bridge on type='network'); keeps <mac>, <alias>, <model>, <source> and the rest. */
int virt_xml_make_plug_xml(const char *interface_xml, char **ret);

/* What a recorded <interface> element says of the device behind it, for the choice of the
 * migration path: a hostdev (type='hostdev', with the host PCI address of its <source>
 * "DDDD:BB:SS.F", NULL if it names none) or an emulated NIC QEMU moves itself (its <model>,
 * NULL if none). -EBADMSG if interface_xml is not an <interface> element, -ENOMEM. */
typedef struct VirtXmlNic {
        bool hostdev;
        char *pci_address;
        char *model;
} VirtXmlNic;

void virt_xml_nic_done(VirtXmlNic *n);
/* The host PCI addresses of the domain's hostdev interfaces, as virt_xml_read_nic() gives
 * them, in *ret: NULL-terminated, to be freed with virt_xml_strv_free(); n in *ret_n. */
int virt_xml_list_hostdev_pci(const char *domain_xml, char ***ret, size_t *ret_n);
char **virt_xml_strv_free(char **l);
int virt_xml_read_nic(const char *interface_xml, VirtXmlNic *ret);

/* True if s looks like a MAC address (six hex pairs separated by ':'). */
bool virt_xml_is_mac(const char *s);

/* The job plan srvmd writes into a domain's <metadata> (namespace SRVM_XMLNS, see
 * srvm-hook.h) before it unplugs the VF, so it travels with the domain: the VF, its recorded
 * <interface> element, the bond and the job. A destination srvmd that sees the domain arrive
 * without that VF plugs it from here. */
typedef struct VirtXmlPlan {
        char *vf_alias;
        char *vf_mac;
        char *bond;
        char *source;     /* the coordinator's libvirt URI */
        char *device_xml; /* the recorded <interface>, as text */
        unsigned job;
        /* The lease (see SRVM_PLAN_HOLDER): who finishes the domain where it runs now. */
        char *holder;         /* libvirt host UUID of its srvmd; NULL: nobody holds it */
        unsigned holder_job;
        uint64_t lease_until; /* seconds since the epoch */
} VirtXmlPlan;

void virt_xml_plan_done(VirtXmlPlan *p);
/* The element for virDomainSetMetadata(VIR_DOMAIN_METADATA_ELEMENT): <plan .../>, with no
 * namespace of its own (libvirt gives it SRVM_XMLNS). */
int virt_xml_make_plan(const VirtXmlPlan *p, char **ret);
/* The element as virDomainGetMetadata() gives it back. -EBADMSG if it is not a plan. */
int virt_xml_parse_plan(const char *xml, VirtXmlPlan *ret);
/* The same, from the element inside a document already parsed (libxml2's xmlNodePtr): the
 * one reader of a plan, for srvmd and for the hook, which finds it in the domain's XML. */
struct _xmlNode;
int virt_xml_plan_from_node(struct _xmlNode *plan, VirtXmlPlan *ret);
/* How many seconds the plan's lease still keeps the job `job` of the srvmd on host `host`
 * (a libvirt host UUID, any case) away from the domain at `now` (seconds since the epoch):
 * 0 if nobody holds it, the lease is that job's own, or it ran out. */
uint64_t virt_xml_plan_lease_left(const VirtXmlPlan *p, const char *host, unsigned job, uint64_t now);
/* Take (or renew) the lease for `job` on `host` until `until`; with host NULL, drop it. */
int virt_xml_plan_set_lease(VirtXmlPlan *p, const char *host, unsigned job, uint64_t until);

/* The host UUID in libvirt's capabilities XML (<capabilities><host><uuid>): what tells two
 * hosts apart (libvirt refuses to migrate between hosts that share it). -ENODATA if absent. */
int virt_xml_host_uuid(const char *capabilities_xml, char **ret);

/* What policy resolution needs of a domain: its name, UUID and every element under
 * <metadata> at any depth, as (namespace URI, local name, text with surrounding white space
 * removed; NULL if none). Owns its strings. */
typedef struct VirtXmlMetadata {
        char *namespace_uri; /* NULL if the element has no namespace */
        char *element;
        char *value;
} VirtXmlMetadata;

typedef struct VirtXmlDomainInfo {
        char *name;
        char *uuid;
        VirtXmlMetadata *metadata;
        size_t n_metadata;
} VirtXmlDomainInfo;

void virt_xml_domain_info_done(VirtXmlDomainInfo *i);

/* -EBADMSG if domain_xml is not a domain's XML. */
int virt_xml_read_domain_info(const char *domain_xml, VirtXmlDomainInfo *ret);

/* The policy of set in force for the domain info describes (srvmd's preflight and
 * GetDomainPolicy, and the hook, all decide by this). -EINVAL without a name. */
int virt_xml_resolve_policy(const PolicySet *set, const VirtXmlDomainInfo *info, const Policy **ret,
                            PolicyMatchKind *ret_kind);

/* The user alias srvm gives a VF it plugs for a domain that arrived with no plan of its own. */
#define VIRT_XML_ARRIVAL_ALIAS "ua-srvm-vf"

/* A plan for a domain that arrived with no srvm plan in its metadata (moved by another tool),
 * from the policy resolved for it and its live XML. Such a domain is srvm's to look after
 * only if the policy says which VF its bond expects and where to get one: guest.vf is a MAC
 * address (the MAC the new VF gets; srvm-guest finds it by that MAC) and the plug source is
 * "network" or "template" (a "recorded" source needs the source's record, which only a plan
 * carries). Returns:
 *   1         ret holds the plan: VIRT_XML_ARRIVAL_ALIAS, the MAC, the XML to plug, the bond
 *   0         nothing to do: the domain has that VF, or another interface srvm would take
 *             for a VF (*ret_why says which)
 *   -ENODATA  the policy cannot say which VF to plug (*ret_why says why)
 *   -EBADMSG  domain_xml is not a domain's XML
 * *ret_why (may be NULL) is a phrase to follow "<domain>: ", to be freed. */
int virt_xml_plan_from_policy(const char *domain_xml, const Policy *p, VirtXmlPlan *ret, char **ret_why);

/* What a libvirt network's live XML says of it as a VF pool: its <forward mode> ("bridge",
 * "hostdev", ...; NULL if it has no <forward>), and for the modes that hand out devices
 * (hostdev, passthrough), how many are free: the pool's <address>/<interface> entries less
 * the `connections` libvirt counts; -1 if the XML lists none (the pool is not expanded
 * yet, so it cannot be counted). -EBADMSG if it is not a network's XML. */
typedef struct VirtXmlNetworkPool {
        char *forward_mode;
        int n_devices;
        int n_free;
} VirtXmlNetworkPool;

void virt_xml_network_pool_done(VirtXmlNetworkPool *p);
int virt_xml_read_network_pool(const char *network_xml, VirtXmlNetworkPool *ret);
