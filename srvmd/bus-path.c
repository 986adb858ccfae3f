/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Job object paths: one job id, one path under SRVM_BUS_PATH/job. Pure string work, no
 * sd-bus, so it sits in srvm-core with the rest of what decides. */
#include <inttypes.h>
#include <stdio.h>

#include "bus-path.h"

int bus_job_path(uint32_t id, char **ret) {
        char *p;

        if (!ret)
                return -EINVAL;

        if (asprintf(&p, BUS_JOB_PREFIX "/%" PRIu32, id) < 0)
                return -ENOMEM;

        *ret = p;
        return 0;
}

int bus_job_id_from_path(const char *path, uint32_t *ret) {
        const char *s;
        uint32_t id = 0;

        if (!path || !ret)
                return -EINVAL;

        if (strncmp(path, BUS_JOB_PREFIX "/", strlen(BUS_JOB_PREFIX "/")) != 0)
                return -EINVAL;
        s = path + strlen(BUS_JOB_PREFIX "/");

        /* Only the form bus_job_path() writes: decimal digits, no sign, no leading zero, so
         * every job has exactly one path. */
        if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (id > (UINT32_MAX - (uint32_t) (*s - '0')) / 10)
                        return -ERANGE;
                id = id * 10 + (uint32_t) (*s - '0');
        }

        *ret = id;
        return 0;
}
