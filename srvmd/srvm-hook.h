/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What srvmd and the libvirt hook (srvm-hook) agree on: the XML namespace of the job plan
 * srvmd writes into a domain's <metadata>, and the D-Bus call with which the hook tells the
 * local srvmd what libvirt did to a domain. One place for both, so neither side spells them
 * on its own. */
#pragma once

/* <srvm:plan xmlns:srvm="https://srvm.dev/xmlns/srvm/1" vf-alias="ua-vf0"
 *            vf-mac="52:54:00:aa:00:02" bond="bond0" job="3" source="qemu+ssh://a/system"/>
 * Every attribute is optional; the element's presence alone marks the domain as srvm's. */
#define SRVM_XMLNS "https://srvm.dev/xmlns/srvm/1"
#define SRVM_XMLNS_PREFIX "srvm"
#define SRVM_PLAN_ELEMENT "plan"
#define SRVM_PLAN_VF_ALIAS "vf-alias"
#define SRVM_PLAN_VF_MAC "vf-mac"
#define SRVM_PLAN_BOND "bond"
#define SRVM_PLAN_JOB "job"
#define SRVM_PLAN_SOURCE "source"
/* The lease on finishing the domain after its move: the libvirt host UUID of the srvmd that
 * runs plug, link and failback where the domain now runs (the coordinator, or the
 * destination's own arrival job), its job id there, and until when (seconds since the epoch,
 * wall clock: the hosts' clocks are assumed to agree within SRVM_LEASE_MARGIN_SEC). A holder
 * renews it at each of those phases and drops it when failback is done; another srvmd waits
 * until it is dropped or runs out before it touches the domain. */
#define SRVM_PLAN_HOLDER "holder"
#define SRVM_PLAN_HOLDER_JOB "holder-job"
#define SRVM_PLAN_LEASE_UNTIL "lease-until"
#define SRVM_LEASE_MARGIN_SEC 10
/* <srvm:device>: the VF's recorded <interface> element, as escaped text. */
#define SRVM_PLAN_DEVICE "device"

/* org.srvm.srvm1.Manager.DomainEvent(s domain, s operation, s sub_operation) on
 * /org/srvm/srvm1, sent by the hook with NO_REPLY_EXPECTED and without auto-start: the
 * arguments are libvirt's hook arguments as they came ("vm1", "migrate", "begin"). srvmd
 * must not reply and must not call back into libvirt from the handler synchronously with
 * the hook (libvirt may still be inside the hook call). */
#define SRVM_HOOK_BUS_INTERFACE "org.srvm.srvm1.Manager"
#define SRVM_HOOK_BUS_METHOD "DomainEvent"
#define SRVM_HOOK_BUS_SIGNATURE "sss"
