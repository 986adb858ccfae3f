/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See vf-census.h. The answer is parsed and counted on the loop: an inventory is a few
 * hundred VFs at most, a few kilobytes of JSON. */
#include <time.h>

#include <json-c/json.h>

#include "json-util.h"
#include "log.h"
#include "vf-census.h"

struct VfCensus {
        sd_event *event;       /* a reference */
        sd_event_source *timer; /* owned */
        Metrics *metrics;      /* borrowed: the manager's */
        usec_t interval;
        usec_t settle;
        VfCensusReadFn read;
        void *userdata;
        bool reading; /* a read is in flight */
        bool again;   /* asked for while it was: read again when it answers */
        bool failed;  /* said so once; again when it works */
        unsigned n_reads;
        unsigned n_counted;
};

static void vf_census_read(VfCensus *c);

static void vf_census_on_read(void *userdata, const char *text, const char *error) {
        _cleanup_(json_object_putp) json_object *json = NULL;
        unsigned counts[_VF_STATE_MAX];
        VfCensus *c = userdata;
        int r = -EBADMSG;

        c->reading = false;
        if (text) {
                json = json_tokener_parse(text);
                if (json)
                        r = vf_count_states(json, counts);
        }
        if (r >= 0)
                r = metrics_vfs_counted(c->metrics, counts, (double) time(NULL));
        if (r >= 0) {
                c->n_counted++;
                if (c->failed)
                        log_info("Counting the host's VFs again.");
                c->failed = false;
        } else if (!c->failed) {
                c->failed = true;
                log_warning("Cannot count the host's VFs for srvm_vfs, which keeps its last count: %s",
                            error ? error : "the inventory is not of the expected shape");
        }

        if (c->again) {
                c->again = false;
                vf_census_read(c);
        }
}

static void vf_census_read(VfCensus *c) {
        int r;

        if (c->reading) {
                c->again = true;
                return;
        }
        /* Before the call: a result the pool still holds answers within it. */
        c->reading = true;
        c->n_reads++;
        r = c->read(c->userdata, vf_census_on_read, c);
        if (r < 0) { /* libvirt away, or the pool full: the next turn tries again */
                c->reading = false;
                c->n_reads--;
                log_debug("Not counting the host's VFs now: %s", strerror(-r));
        }
}

static int vf_census_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        VfCensus *c = userdata;

        vf_census_read(c);
        return sd_event_source_set_time(s, usec + c->interval);
}

int vf_census_new(sd_event *event, Metrics *metrics, usec_t interval, usec_t settle, VfCensusReadFn read,
                  void *userdata, VfCensus **ret) {
        _cleanup_(vf_census_freep) VfCensus *c = NULL;
        uint64_t now;
        int r;

        if (!event || !metrics || !read || !ret)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->metrics = metrics;
        c->interval = interval > 0 ? interval : VF_CENSUS_INTERVAL_USEC;
        c->settle = settle > 0 ? settle : VF_CENSUS_SETTLE_USEC;
        c->read = read;
        c->userdata = userdata;

        r = sd_event_now(event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        /* The first count at once, then one every interval (give or take 100 ms, so that the
         * timer may be coalesced with others). */
        r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, now, 100 * USEC_PER_MSEC, vf_census_on_timer, c);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(c->timer, SD_EVENT_ON);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->timer, "vf-census");

        *ret = TAKE_PTR(c);
        return 0;
}

VfCensus *vf_census_free(VfCensus *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->timer);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

/* The next turn of the timer, brought forward to the settle time from now. */
void vf_census_refresh(VfCensus *c) {
        uint64_t now, next;

        if (!c)
                return;
        if (sd_event_now(c->event, CLOCK_MONOTONIC, &now) < 0 ||
            sd_event_source_get_time(c->timer, &next) < 0) {
                vf_census_read(c); /* no timer to go by: now rather than not at all */
                return;
        }
        if (next > now + c->settle)
                (void) sd_event_source_set_time(c->timer, now + c->settle);
}

unsigned vf_census_n_reads(const VfCensus *c) {
        return c ? c->n_reads : 0;
}

unsigned vf_census_n_counted(const VfCensus *c) {
        return c ? c->n_counted : 0;
}
