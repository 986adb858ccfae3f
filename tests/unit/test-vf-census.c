/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vf-census: srvm_vfs counted off the scrape's path. A fake read stands for the errand pool:
 * the test answers it, as the loop would, and reads what a scrape would render. */
#include <stdio.h>
#include <string.h>

#include "assert.h"
#include "vf-census.h"

#define INVENTORY                                                                                     \
        "{\"pfs\": [{\"ifname\": \"enp59s0f0\", \"vfs\": ["                                           \
        "{\"index\": 0, \"link_state\": \"auto\", \"domain\": \"vm1\"},"                              \
        "{\"index\": 1, \"link_state\": \"disable\", \"domain\": null},"                              \
        "{\"index\": 2, \"link_state\": \"enable\", \"domain\": null},"                               \
        "{\"index\": 3, \"link_state\": null, \"domain\": null}]}]}"

typedef struct FakeRead {
        int refuse;          /* < 0: refuse to start, as without libvirt */
        const char *at_once; /* answer within the call, as the pool does with a fresh result */
        unsigned n_calls;
        ErrandDoneFn done;   /* the read in flight */
        void *done_userdata;
} FakeRead;

static int fake_read(void *userdata, ErrandDoneFn done, void *done_userdata) {
        FakeRead *f = userdata;

        f->n_calls++;
        if (f->refuse < 0)
                return f->refuse;
        ASSERT_NULL(f->done); /* never two at once */
        if (f->at_once) {
                done(done_userdata, f->at_once, NULL);
                return 0;
        }
        f->done = done;
        f->done_userdata = done_userdata;
        return 0;
}

static void answer(FakeRead *f, const char *text, const char *error) {
        ErrandDoneFn done = f->done;

        ASSERT_NOT_NULL(done);
        f->done = NULL;
        done(f->done_userdata, text, error);
}

/* Ask for a count, and let the loop turn until the read starts. */
static void refresh_and_wait(sd_event *e, VfCensus *c, FakeRead *f) {
        unsigned before = f->n_calls;

        vf_census_refresh(c);
        ASSERT_EQ_INT(f->n_calls, before);
        ASSERT_TRUE(sd_event_run(e, 2 * USEC_PER_SEC) > 0);
        ASSERT_EQ_INT(f->n_calls, before + 1);
}

static char *render(Metrics *m) {
        char *text = NULL;

        ASSERT_OK(metrics_render(m, NULL, &text, NULL));
        return text;
}

static void test_census(void) {
        _cleanup_(metrics_freep) Metrics *m = NULL;
        sd_event *e = NULL;
        VfCensus *c = NULL;
        FakeRead f = {};
        char *text;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(metrics_new("1", &m));
        /* A turn every 2 s; asked to, it counts within 20 ms (and the timer's 100 ms). */
        ASSERT_OK(vf_census_new(e, m, 2 * USEC_PER_SEC, 20 * USEC_PER_MSEC, fake_read, &f, &c));

        /* The first count starts at the loop's first turn, not at a scrape. */
        ASSERT_EQ_INT(f.n_calls, 0);
        ASSERT_TRUE(sd_event_run(e, 2 * USEC_PER_SEC) > 0);
        ASSERT_EQ_INT(f.n_calls, 1);
        text = render(m);
        ASSERT_TRUE(strstr(text, "srvm_vfs{state=\"free\"} 0\n") != NULL);
        ASSERT_TRUE(strstr(text, "srvm_vfs_updated_timestamp_seconds 0\n") != NULL);
        free(text);

        /* Asked again while a read runs: no second read at once; the settle time later, the
         * timer finds the first still running and the second starts once it answers. */
        vf_census_refresh(c);
        ASSERT_EQ_INT(f.n_calls, 1);
        ASSERT_TRUE(sd_event_run(e, 2 * USEC_PER_SEC) > 0);
        ASSERT_EQ_INT(f.n_calls, 1);
        answer(&f, INVENTORY, NULL);
        ASSERT_EQ_INT(vf_census_n_counted(c), 1);
        ASSERT_EQ_INT(f.n_calls, 2);
        ASSERT_EQ_INT(vf_census_n_reads(c), 2);
        text = render(m);
        ASSERT_TRUE(strstr(text, "srvm_vfs{state=\"free\"} 2\n"
                                 "srvm_vfs{state=\"attached\"} 1\n"
                                 "srvm_vfs{state=\"disabled\"} 1\n") != NULL);
        ASSERT_TRUE(strstr(text, "srvm_vfs_updated_timestamp_seconds 0\n") == NULL);
        free(text);

        /* A failed read, or an answer of another shape, keeps the last count. */
        answer(&f, NULL, "cannot connect to libvirt");
        refresh_and_wait(e, c, &f);
        answer(&f, "{\"pfs\": 3}", NULL);
        refresh_and_wait(e, c, &f);
        answer(&f, "not json", NULL);
        ASSERT_EQ_INT(vf_census_n_counted(c), 1);
        text = render(m);
        ASSERT_TRUE(strstr(text, "srvm_vfs{state=\"free\"} 2\n") != NULL);
        ASSERT_TRUE(strstr(text, "srvm_vfs{state=\"attached\"} 1\n") != NULL);
        free(text);

        /* A read that cannot start (libvirt away) is skipped until the next turn. */
        f.refuse = -ENOTCONN;
        vf_census_refresh(c);
        ASSERT_TRUE(sd_event_run(e, 2 * USEC_PER_SEC) > 0);
        ASSERT_EQ_INT(f.n_calls, 5);
        ASSERT_EQ_INT(vf_census_n_reads(c), 4);
        ASSERT_NULL(f.done);

        /* Not asked, the timer counts again every interval on its own. */
        f.refuse = 0;
        ASSERT_TRUE(sd_event_run(e, 200 * USEC_PER_MSEC) == 0);
        ASSERT_NULL(f.done);
        ASSERT_TRUE(sd_event_run(e, 5 * USEC_PER_SEC) > 0);
        ASSERT_NOT_NULL(f.done);
        answer(&f, "{\"pfs\": []}", NULL);
        ASSERT_EQ_INT(vf_census_n_counted(c), 2);
        text = render(m);
        ASSERT_TRUE(strstr(text, "srvm_vfs{state=\"free\"} 0\n"
                                 "srvm_vfs{state=\"attached\"} 0\n"
                                 "srvm_vfs{state=\"disabled\"} 0\n") != NULL);
        free(text);

        /* A result the pool still holds comes within the call: counted, and the census reads
         * again when asked. */
        f.at_once = INVENTORY;
        refresh_and_wait(e, c, &f);
        ASSERT_EQ_INT(vf_census_n_counted(c), 3);
        refresh_and_wait(e, c, &f);
        ASSERT_EQ_INT(vf_census_n_counted(c), 4);
        ASSERT_NULL(f.done);
        text = render(m);
        ASSERT_TRUE(strstr(text, "srvm_vfs{state=\"attached\"} 1\n") != NULL);
        free(text);

        ASSERT_ERR(vf_census_new(e, NULL, 0, 0, fake_read, &f, &c), EINVAL);
        vf_census_refresh(NULL);
        vf_census_free(c);
        sd_event_unref(e);
}

int main(void) {
        test_census();
        printf("ok\n");
        return 0;
}
