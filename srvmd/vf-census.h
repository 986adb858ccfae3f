/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VF census: srvm_vfs{state} kept current without a scrape ever waiting for libvirt or the
 * kernel. Every interval, and shortly after it is asked to (a job ended, so a VF changed
 * hands), it has the VF inventory read off the loop (the same read ListVFs answers with,
 * through the errand pool), counts the VFs by state and hands the counts to the metrics; a
 * scrape renders the last counts and when they were made. At most one read at a time. Runs on
 * the loop. */
#pragma once

#include <systemd/sd-event.h>

#include "errand.h"
#include "metrics.h"

typedef struct VfCensus VfCensus;

/* How often the census counts the VFs besides after the end of each job. */
#define VF_CENSUS_INTERVAL_USEC (30 * USEC_PER_SEC)
/* How long after it is asked: past the errand pool's result TTL, so the count is read after
 * the change rather than served from a read made before it, and the ends of many jobs at once
 * make one read. */
#define VF_CENSUS_SETTLE_USEC (2 * USEC_PER_SEC)

/* Start a read of the inventory JSON (vf_inventory_to_json()); done(done_userdata, ...) is
 * called later, on the loop, exactly once, unless this returns < 0 (-ENOTCONN: libvirt is
 * away; the census tries again at its next turn). */
typedef int (*VfCensusReadFn)(void *userdata, ErrandDoneFn done, void *done_userdata);

/* The first count starts at once. interval 0: VF_CENSUS_INTERVAL_USEC; settle 0:
 * VF_CENSUS_SETTLE_USEC. */
int vf_census_new(sd_event *event, Metrics *metrics, usec_t interval, usec_t settle, VfCensusReadFn read,
                  void *userdata, VfCensus **ret);
/* Free it only once no read can answer any more (after the errand pool). */
VfCensus *vf_census_free(VfCensus *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(VfCensus *, vf_census_free);

/* Count again within the settle time (or right after the read then in flight). */
void vf_census_refresh(VfCensus *c);

/* For the tests: reads started, counts handed to the metrics. */
unsigned vf_census_n_reads(const VfCensus *c);
unsigned vf_census_n_counted(const VfCensus *c);
