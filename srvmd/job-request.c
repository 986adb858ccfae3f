/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See job-request.h. */
#include <pwd.h>
#include <stdio.h>
#include <time.h>

#include "job-request.h"
#include "json-util.h"

static const char *const job_request_via_table[_JOB_REQUEST_VIA_MAX] = {
        [JOB_REQUEST_BUS] = "bus",
        [JOB_REQUEST_SRVMD] = "srvmd",
};

DEFINE_STRING_TABLE_LOOKUP(job_request_via, JobRequestVia);

int job_request_format_time(usec_t realtime, char *buf, size_t size) {
        time_t t = (time_t) (realtime / USEC_PER_SEC);
        struct tm tm;

        if (!buf || size == 0)
                return -EINVAL;
        if (!gmtime_r(&t, &tm))
                return -ERANGE;
        if (strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -ERANGE;
        return 0;
}

int job_request_user_from_passwd(const char *path, uint32_t uid, char **ret) {
        _cleanup_free_ char *buf = NULL;
        struct passwd pw, *found = NULL;
        size_t size = 4096;
        FILE *f;
        int r = 0;

        if (!path || !ret)
                return -EINVAL;
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                r = fgetpwent_r(f, &pw, buf, size, &found);
                if (r == ERANGE) {
                        char *bigger = size < 1024 * 1024 ? realloc(buf, size * 2) : NULL;

                        if (!bigger) {
                                r = ENOMEM;
                                break;
                        }
                        buf = bigger;
                        size *= 2;
                        continue;
                }
                if (r != 0 || !found)
                        break;
                if (pw.pw_uid == (uid_t) uid && pw.pw_name && pw.pw_name[0]) {
                        char *name = strdup(pw.pw_name);

                        fclose(f);
                        if (!name)
                                return -ENOMEM;
                        *ret = name;
                        return 0;
                }
        }
        fclose(f);
        /* ENOENT: the end of the file. */
        return r == 0 || r == ENOENT ? -ENOENT : -r;
}

int job_request_to_json(const JobRequest *req, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        int r;

        if (!req || !ret || !job_request_via_to_string(req->via))
                return -EINVAL;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (req->have_uid)
                r = json_add(o, "uid", json_object_new_int64(req->uid));
        else
                r = json_object_object_add(o, "uid", NULL) < 0 ? -ENOMEM : 0;
        if (r >= 0) {
                if (req->user)
                        r = json_add(o, "user", json_object_new_string(req->user));
                else
                        r = json_object_object_add(o, "user", NULL) < 0 ? -ENOMEM : 0;
        }
        if (r >= 0)
                r = json_add(o, "via", json_object_new_string(job_request_via_to_string(req->via)));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}
