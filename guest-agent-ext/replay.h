/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Record a VF's configuration into the guest's /run before it goes, and replay it onto the
 * VF plugged after the move, even when that is another model. What could not be applied is
 * said in a JSON report, never silently dropped. */
#pragma once

#include <json-c/json.h>

#include "vfconf.h"

#define SRVM_GUEST_STATE_DIR "/run/srvm"

/* SRVM_GUEST_STATE_DIR/BOND.vf.json */
int replay_record_path(const char *bond, char **ret);

/* Where a completed failback keeps the record it replayed (PATH.replayed), until the next
 * failover: a failback or enslave run again after it (srvmd finishing a job after a restart)
 * then knows the record was used, rather than never written. */
int replay_done_path(const char *path, char **ret);

/* Read ifname's configuration (and the devices stacked on bond). */
int replay_record_read(const char *ifname, const char *bond, struct vf_config **ret);
int replay_record_save(const struct vf_config *c, const char *path);
/* -ENOENT when there is no record. */
int replay_record_load(const char *path, struct vf_config **ret);

/* What a replay did, as the JSON object "replay":
 *   {"record", "from", "to", "applied": [...], "failed": [{"setting", "error"}]} */
int replay_report_new(const char *path, const struct vf_config *c, const char *ifname,
                      json_object **ret);

/* Offload features, ring sizes, coalescing, and the MTU if mtu (enslaving gives a slave the
 * bond's MTU, so a NIC about to be enslaved gets it afterwards). Only what differs is
 * changed: applying twice changes nothing the second time. */
int replay_link_settings(const struct vf_config *c, const char *ifname, bool mtu,
                         json_object *report);
/* Once it is the active slave (bonding has synced the bond's own addresses by then): the
 * multicast addresses it lacks, and a check that the stacked devices are still there. */
int replay_after_active(const struct vf_config *c, const char *ifname, const char *bond,
                        json_object *report);
