/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who asked for a job and when: the RFC 3339 start time, the user name read from a passwd
 * file, the JSON, and the two surviving a journal round trip, through the journal writer and
 * a restart's reading of the journal directory. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "assert.h"
#include "job-request.h"
#include "journal-writer.h"
#include "journal.h"
#include "json-util.h"
#include "macro.h"
#include "migration.h"

static void test_time(void) {
        char buf[64], tiny[8];

        ASSERT_OK(job_request_format_time(0, buf, sizeof buf));
        ASSERT_STREQ(buf, "1970-01-01T00:00:00Z");
        /* 2026-12-02 19:45:01.999999 UTC: the second, not rounded up. */
        ASSERT_OK(job_request_format_time(1796240701999999ULL, buf, sizeof buf));
        ASSERT_STREQ(buf, "2026-12-02T19:45:01Z");
        ASSERT_ERR(job_request_format_time(0, tiny, sizeof tiny), ERANGE);
        ASSERT_ERR(job_request_format_time(0, NULL, 0), EINVAL);
}

static void test_passwd(void) {
        char path[] = "/tmp/test-job-request.XXXXXX";
        _cleanup_free_ char *a = NULL, *b = NULL, *none = NULL;
        int fd;
        FILE *f;

        fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        f = fdopen(fd, "w");
        ASSERT_NOT_NULL(f);
        fputs("root:x:0:0:root:/root:/bin/bash\n"
              "# not an entry\n"
              "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
              "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n", f);
        ASSERT_TRUE(fclose(f) == 0);

        ASSERT_OK(job_request_user_from_passwd(path, 0, &a));
        ASSERT_STREQ(a, "root");
        ASSERT_OK(job_request_user_from_passwd(path, 1000, &b));
        ASSERT_STREQ(b, "alice");
        ASSERT_ERR(job_request_user_from_passwd(path, 4242, &none), ENOENT);
        ASSERT_NULL(none);
        unlink(path);
        ASSERT_ERR(job_request_user_from_passwd(path, 0, &none), ENOENT);
        ASSERT_ERR(job_request_user_from_passwd("/nonexistent/dir/passwd", 0, &none), ENOENT);
}

static void test_json(void) {
        static const struct {
                JobRequest req;
                const char *json;
        } cases[] = {
                { { JOB_REQUEST_BUS, true, 0, "root" }, "{\"uid\":0,\"user\":\"root\",\"via\":\"bus\"}" },
                { { JOB_REQUEST_BUS, true, 70000, NULL }, "{\"uid\":70000,\"user\":null,\"via\":\"bus\"}" },
                { { JOB_REQUEST_SRVMD, false, 0, NULL }, "{\"uid\":null,\"user\":null,\"via\":\"srvmd\"}" },
        };
        json_object *none = NULL;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) json_object *o = NULL;

                ASSERT_OK(job_request_to_json(&cases[i].req, &o));
                ASSERT_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), cases[i].json);
        }
        ASSERT_ERR(job_request_to_json(&(JobRequest) { .via = _JOB_REQUEST_VIA_MAX }, &none), EINVAL);
        ASSERT_NULL(none);
}

static int fake_start(void *userdata, Migration *m, Action a, Side side) {
        return 0;
}
static int fake_arm(void *userdata, Migration *m, usec_t usec) {
        return 0;
}
static usec_t fake_now(void *userdata) {
        return 5 * USEC_PER_SEC;
}
static const MigrationBackendOps ops = { .start_action = fake_start, .arm_timer = fake_arm, .now = fake_now };

typedef struct Loaded {
        unsigned flushed;
        Migration *m;
        json_object *json;
} Loaded;

static void on_synced(void *userdata, uint32_t id, uint64_t seq, int r) {
        ASSERT_TRUE(false); /* the flush reports, not the loop */
}

static void on_flushed(void *userdata, uint32_t id, uint64_t seq, int r) {
        Loaded *l = userdata;

        ASSERT_EQ_INT(id, 3);
        ASSERT_OK(r);
        l->flushed++;
}

static int on_loaded(uint32_t id, json_object *record, const char *error, void *userdata) {
        Loaded *l = userdata;

        ASSERT_EQ_INT(id, 3);
        ASSERT_NOT_NULL(record);
        ASSERT_NULL(l->m);
        ASSERT_OK(migration_new_from_journal(record, &ops, NULL, &l->m, NULL));
        return 0;
}

/* A job asked for by the admin group's nobody keeps who and when through the journal. */
static void test_migration_round_trip(void) {
        JobRequest req = { .via = JOB_REQUEST_BUS, .have_uid = true, .uid = 65534, .user = "nobody" };
        MigrationParams p = {
                .domain = "vm1",
                .source_uri = "qemu:///system",
                .destination_uri = "qemu+ssh://b/system",
                .request = &req,
                .started_realtime = 1796240701000000ULL,
        };
        _cleanup_(migration_freep) Migration *m = NULL, *n = NULL, *arrival = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL, *record = NULL, *back = NULL, *a = NULL;
        MigrationParams q = p;

        ASSERT_OK(migration_new(3, &p, &ops, NULL, &m));
        ASSERT_OK(migration_start(m));
        ASSERT_OK(migration_build_json(m, &o));
        ASSERT_STREQ(json_object_get_string(json_object_object_get(o, "started_at")), "2026-12-02T19:45:01Z");
        ASSERT_STREQ(json_object_to_json_string_ext(json_object_object_get(o, "requested_by"), JSON_C_TO_STRING_PLAIN),
                     "{\"uid\":65534,\"user\":\"nobody\",\"via\":\"bus\"}");

        ASSERT_OK(migration_build_journal(m, &record));
        ASSERT_OK(migration_new_from_journal(record, &ops, NULL, &n, NULL));
        ASSERT_OK(migration_build_json(n, &back));
        ASSERT_STREQ(json_object_get_string(json_object_object_get(back, "started_at")), "2026-12-02T19:45:01Z");
        ASSERT_STREQ(json_object_to_json_string_ext(json_object_object_get(back, "requested_by"), JSON_C_TO_STRING_PLAIN),
                     "{\"uid\":65534,\"user\":\"nobody\",\"via\":\"bus\"}");

        /* Written by the journal writer, flushed as SIGTERM's handover does, and read back as
         * the next srvmd does. */
        {
                char dir[] = "/tmp/test-job-request.XXXXXX";
                _cleanup_(journal_writer_freep) JournalWriter *w = NULL;
                Loaded loaded = {};
                char cmd[128];

                ASSERT_NOT_NULL(mkdtemp(dir));
                ASSERT_OK(journal_writer_new(dir, on_synced, NULL, &w));
                ASSERT_OK(journal_writer_put(w, 3, record, NULL));
                journal_writer_flush(w, on_flushed, &loaded);
                ASSERT_EQ_INT(loaded.flushed, 1);
                ASSERT_OK(journal_load(dir, on_loaded, &loaded));
                ASSERT_NOT_NULL(loaded.m);
                ASSERT_OK(migration_build_json(loaded.m, &loaded.json));
                ASSERT_STREQ(json_object_get_string(json_object_object_get(loaded.json, "started_at")),
                             "2026-12-02T19:45:01Z");
                ASSERT_STREQ(json_object_to_json_string_ext(json_object_object_get(loaded.json, "requested_by"),
                                                            JSON_C_TO_STRING_PLAIN),
                             "{\"uid\":65534,\"user\":\"nobody\",\"via\":\"bus\"}");
                migration_free(loaded.m);
                json_object_put(loaded.json);
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                ASSERT_EQ_INT(system(cmd), 0);
        }

        /* No requester: srvmd itself; no start time given: now, which is after 2020. */
        q.request = NULL;
        q.started_realtime = 0;
        ASSERT_OK(migration_new(4, &q, &ops, NULL, &arrival));
        ASSERT_OK(migration_build_json(arrival, &a));
        ASSERT_STREQ(json_object_to_json_string_ext(json_object_object_get(a, "requested_by"), JSON_C_TO_STRING_PLAIN),
                     "{\"uid\":null,\"user\":null,\"via\":\"srvmd\"}");
        ASSERT_TRUE(strcmp(json_object_get_string(json_object_object_get(a, "started_at")), "2020") > 0);
}

int main(void) {
        test_time();
        test_passwd();
        test_json();
        test_migration_round_trip();
        return 0;
}
