/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Job object paths: bus_job_path() and bus_job_id_from_path() map ids and paths one to one,
 * and a path that bus_job_path() would not write is refused, so no two paths name one job. */
#include <stdint.h>

#include "assert.h"
#include "bus-path.h"

static void test_round_trip(void) {
        static const uint32_t ids[] = { 0, 1, 7, 10, 4294967295u };

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                _cleanup_free_ char *path = NULL;
                uint32_t id = 12345;

                ASSERT_OK(bus_job_path(ids[i], &path));
                ASSERT_OK(bus_job_id_from_path(path, &id));
                ASSERT_EQ_INT(id, ids[i]);
        }
}

static void test_parse(void) {
        static const struct {
                const char *path;
                int r;
                uint32_t id;
        } cases[] = {
                { "/org/srvm/srvm1/job/7",           0,       7 },
                { "/org/srvm/srvm1/job/0",           0,       0 },
                { "/org/srvm/srvm1/job/4294967295",  0,       4294967295u },
                { "/org/srvm/srvm1/job/4294967296",  -ERANGE, 0 },
                { "/org/srvm/srvm1/job/99999999999", -ERANGE, 0 },
                { "/org/srvm/srvm1/job/07",          -EINVAL, 0 },
                { "/org/srvm/srvm1/job/00",          -EINVAL, 0 },
                { "/org/srvm/srvm1/job/",            -EINVAL, 0 },
                { "/org/srvm/srvm1/job",             -EINVAL, 0 },
                { "/org/srvm/srvm1/job/-1",          -EINVAL, 0 },
                { "/org/srvm/srvm1/job/+1",          -EINVAL, 0 },
                { "/org/srvm/srvm1/job/1a",          -EINVAL, 0 },
                { "/org/srvm/srvm1/job/1/x",         -EINVAL, 0 },
                { "/org/srvm/srvm1/job/ 1",          -EINVAL, 0 },
                { "/org/srvm/srvm1/jobs/1",          -EINVAL, 0 },
                { "/org/srvm/srvm1",                 -EINVAL, 0 },
                { "/org/srvm/srvm2/job/1",           -EINVAL, 0 },
                { "org/srvm/srvm1/job/1",            -EINVAL, 0 },
                { "",                                -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint32_t id = 12345;
                int r = bus_job_id_from_path(cases[i].path, &id);

                if (r != cases[i].r)
                        ASSERT_FAIL_("%s: expected %d, got %d", cases[i].path, cases[i].r, r);
                /* Untouched on failure. */
                ASSERT_EQ_INT(id, cases[i].r == 0 ? cases[i].id : 12345);
        }

        ASSERT_ERR(bus_job_id_from_path(NULL, &(uint32_t) { 0 }), EINVAL);
        ASSERT_ERR(bus_job_path(1, NULL), EINVAL);
}

int main(void) {
        test_round_trip();
        test_parse();
        return 0;
}
