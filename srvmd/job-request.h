/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who asked for a job and when: the caller's uid and user name from the bus credentials (or
 * srvmd itself, for a domain that arrived without its VF), and the wall-clock time the job
 * started, as RFC 3339 in UTC. Monotonic times say how long each phase took; these say which
 * day, and who, which a monotonic clock cannot after a reboot. Pure: no bus, no NSS. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "macro.h"

/* How the request came: a caller on the bus (Migrate, Check), or srvmd itself (an arrival,
 * told by the hook or by libvirt's event). */
typedef enum JobRequestVia {
        JOB_REQUEST_BUS,
        JOB_REQUEST_SRVMD,
        _JOB_REQUEST_VIA_MAX,
        _JOB_REQUEST_VIA_INVALID = -EINVAL,
} JobRequestVia;

const char *job_request_via_to_string(JobRequestVia v);
JobRequestVia job_request_via_from_string(const char *s);

typedef struct JobRequest {
        JobRequestVia via;
        bool have_uid;
        uint32_t uid;
        const char *user; /* NULL: not known (no entry in the passwd file) */
} JobRequest;

/* "2026-12-02T19:45:01Z" from microseconds of CLOCK_REALTIME; -ERANGE if it does not fit. */
int job_request_format_time(usec_t realtime, char *buf, size_t size);

/* The name of uid in a passwd(5) file (/etc/passwd), read directly: srvmd's loop must not
 * wait on a name service. -ENOENT if it has none; a file that cannot be read is an error. */
int job_request_user_from_passwd(const char *path, uint32_t uid, char **ret);

/* {"uid": N|null, "user": "name"|null, "via": "bus"|"srvmd"} */
int job_request_to_json(const JobRequest *r, json_object **ret);
