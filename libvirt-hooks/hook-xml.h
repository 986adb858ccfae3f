/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the hook does to an incoming domain's XML on the destination: for a domain srvm
 * manages, drop the VF passthrough devices still in it, since a VF is per host and srvmd
 * plugs one of this host's VFs after the move. Pure libxml2 over strings and a loaded
 * policy set; no libvirt, no bus, no logging. */
#pragma once

#include "macro.h"
#include "policy.h"

/* Why hook_xml_filter_incoming() left the XML as it was, or that it did not. */
typedef enum HookXmlVerdict {
        HOOK_XML_UNMANAGED,   /* no srvm plan, and no policy other than the default matches */
        HOOK_XML_NO_VF,       /* managed, but no VF device is left in the XML */
        HOOK_XML_REWRITTEN,   /* managed, and the VF devices were removed */
        _HOOK_XML_VERDICT_MAX,
        _HOOK_XML_VERDICT_INVALID = -EINVAL,
} HookXmlVerdict;

/* A domain is srvm's if its <metadata> holds <srvm:plan> (namespace SRVM_XMLNS), or if it
 * has a VF device and a policy of policies (may be NULL: no policies) other than the
 * default matches it by UUID, metadata or name. The VF devices are those the plan names by
 * vf-alias (any device) or vf-mac (any interface but a virtio one); without either in the
 * plan, every <interface type='hostdev'> and every PCI <hostdev>. A virtio interface is
 * never removed.
 *
 * Returns the verdict; for HOOK_XML_REWRITTEN *ret_xml gets the new domain XML (to be
 * freed), otherwise it is left untouched. ret_removed (may be NULL) gets the removed
 * devices as "interface ua-vf0 (52:54:00:aa:00:02)" joined by ", " for
 * HOOK_XML_REWRITTEN. Errors: -EBADMSG if domain_xml is not a domain's XML, -ENOMEM. */
int hook_xml_filter_incoming(const char *domain_xml, const PolicySet *policies,
                             char **ret_xml, char **ret_removed);

const char *hook_xml_verdict_to_string(HookXmlVerdict v);
HookXmlVerdict hook_xml_verdict_from_string(const char *s);
