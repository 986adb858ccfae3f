/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy's terms the state machine keeps on a job: how the policy matched, where the
 * destination's VF comes from, the migration settings, the convergence rule and the step it
 * asks for. Shared by the policy code, which reads them from a file and decides
 * (policy_convergence_decide()), and the state machine, which applies them. Types only. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* How a policy matched a domain, least specific first: the order is the precedence. */
typedef enum PolicyMatchKind {
        POLICY_MATCH_DEFAULT,
        POLICY_MATCH_GLOB,
        POLICY_MATCH_NAME,
        POLICY_MATCH_METADATA,
        POLICY_MATCH_UUID,
        _POLICY_MATCH_KIND_MAX,
        _POLICY_MATCH_KIND_INVALID = -EINVAL,
} PolicyMatchKind;

/* Where the VF plugged on the destination comes from. */
typedef enum PolicyPlugSource {
        POLICY_PLUG_RECORDED, /* the VF's <interface> as preflight recorded it on the source */
        POLICY_PLUG_NETWORK,  /* a libvirt network of the destination, e.g. a hostdev pool */
        POLICY_PLUG_TEMPLATE, /* an <interface> template with {mac} and {alias} filled in */
        _POLICY_PLUG_SOURCE_MAX,
        _POLICY_PLUG_SOURCE_INVALID = -EINVAL,
} PolicyPlugSource;

/* What to do when pre-copy does not converge. */
typedef enum PolicyConvergenceAction {
        POLICY_CONVERGENCE_RAISE_DOWNTIME,
        POLICY_CONVERGENCE_POSTCOPY,
        POLICY_CONVERGENCE_ABORT,
        _POLICY_CONVERGENCE_ACTION_MAX,
        _POLICY_CONVERGENCE_ACTION_INVALID = -EINVAL,
} PolicyConvergenceAction;

/* What policy_decide_convergence() asks the migration to do now. */
typedef enum PolicyConvergenceStep {
        POLICY_STEP_NONE,           /* keep going */
        POLICY_STEP_RAISE_DOWNTIME, /* set the new max downtime */
        POLICY_STEP_POSTCOPY,       /* switch to post-copy */
        POLICY_STEP_ABORT,          /* abort the migration (it rolls back) */
        _POLICY_STEP_MAX,
        _POLICY_STEP_INVALID = -EINVAL,
} PolicyConvergenceStep;

/* How a domain's VF crosses: natively (it stays attached and QEMU moves it with the domain),
 * by failover (the bond moves to virtio-net, the VF is unplugged and a new one plugged on the
 * destination), or the one preflight finds possible (auto: native when it can, else
 * failover). See preflight_decide_path(). */
typedef enum PolicyMigrationPath {
        POLICY_PATH_AUTO,
        POLICY_PATH_NATIVE,
        POLICY_PATH_FAILOVER,
        _POLICY_PATH_MAX,
        _POLICY_PATH_INVALID = -EINVAL,
} PolicyMigrationPath;

/* How the migration stream is compressed (libvirt's compression methods for one stream). */
typedef enum PolicyCompression {
        POLICY_COMPRESSION_NONE,
        POLICY_COMPRESSION_XBZRLE, /* send a page rewritten since the last pass as its difference */
        POLICY_COMPRESSION_MT,     /* zlib on threads of QEMU's own */
        _POLICY_COMPRESSION_MAX,
        _POLICY_COMPRESSION_INVALID = -EINVAL,
} PolicyCompression;

typedef struct PolicyMigrationSettings {
        PolicyMigrationPath path;
        uint64_t max_downtime_ms;
        uint64_t bandwidth_mib_s; /* 0: unlimited */
        bool auto_converge;
        bool allow_postcopy;
        unsigned parallel_connections; /* 0: one stream; else multifd over this many */
        PolicyCompression compression;
} PolicyMigrationSettings;

typedef struct PolicyConvergence {
        unsigned after_iterations; /* pre-copy iterations without convergence before acting */
        PolicyConvergenceAction action;
        uint64_t downtime_step_ms;    /* raise-downtime: by this much each time */
        uint64_t downtime_ceiling_ms; /* raise-downtime: never above this */
} PolicyConvergence;
