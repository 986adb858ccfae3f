/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One bond inside the guest and the moves srvm makes on it: read its status, fail over to
 * the virtio-net slave, enslave a (newly plugged) NIC found by MAC, fail back to it. */
#pragma once

#include "parse.h"
#include "status.h"

struct bond;

/* What an operation did and when, for the daemon's timeline. Times count from
 * bond_new(); USEC_INFINITY for a step that was not reached. */
struct bond_report {
        char *slave;      /* owned: the interface found by MAC */
        bool enslaved;    /* this run enslaved it (it was not a slave yet) */
        unsigned attempts; /* writes to bonding/active_slave */
        usec_t found_usec;
        usec_t link_usec;
        usec_t active_usec;
};

void bond_report_init(struct bond_report *r);
void bond_report_done(struct bond_report *r);

int bond_new(const char *name, struct bond **ret);
struct bond *bond_free(struct bond *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct bond *, bond_free);

const char *bond_get_error(const struct bond *b);
/* What the command did besides the switch, as JSON members for the answer: "vf_record"
 * (failover), "replay" (enslave, failback), "announce" (after a switch). Owned by b. */
json_object *bond_get_details(const struct bond *b);
void bond_set_announce(struct bond *b, unsigned count, unsigned interval_ms);
usec_t bond_elapsed(const struct bond *b);

int bond_open(struct bond *b);
int bond_read_status(struct bond *b, struct bond_status **ret);
int bond_failover(struct bond *b);
int bond_enslave(struct bond *b, const struct hwaddr *mac, usec_t timeout,
                 struct bond_report *report);
int bond_failback(struct bond *b, const struct hwaddr *mac, usec_t timeout,
                  struct bond_report *report);
/* After a migration that moved the NIC with MAC along with the guest (the native path): it
 * must still be a slave of the bond and its active one; wait up to timeout for its carrier
 * and MII status, then announce the bond's addresses. Switches nothing: a bond that left the
 * NIC is an error (-EREMCHG), for the daemon to bring it back with enslave and failback. */
int bond_verify(struct bond *b, const struct hwaddr *mac, usec_t timeout,
                struct bond_report *report);
/* Before a migration that moves the NIC with the guest: make every slave deliver what it
 * receives (bonding/all_slaves_active 1), keeping the value it had in /run/srvm/BOND.hold, so
 * that frames the network sends to the standby while it relearns the guest's port are not
 * lost; a second hold keeps the first one's value. The release puts it back; without a hold
 * it does nothing. The answer says what each did in "hold". */
int bond_hold(struct bond *b);
int bond_release(struct bond *b);
