/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal writer: a record is reported durable only once its file holds it, with the
 * number it was handed over with; records handed over while the thread is busy go in one
 * batch (one directory fsync), only the newest of each job written; a removal follows the
 * records before it; what is pending at the end is written out; a failure is reported. */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assert.h"
#include "journal-writer.h"
#include "json-util.h"
#include "macro.h"

typedef struct Report {
        uint32_t id;
        uint64_t seq;
        int r;
        char *text; /* the file's content when the report came */
} Report;

typedef struct Reports {
        const char *dir;
        Report list[16];
        size_t n;
} Reports;

static char *read_record(const char *dir, uint32_t id) {
        char path[512], buf[4096];
        ssize_t n;
        int fd;

        snprintf(path, sizeof path, "%s/%" PRIu32 ".json", dir, id);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        ASSERT_TRUE(n >= 0);
        buf[n] = 0;
        return strdup(buf);
}

static void on_synced(void *userdata, uint32_t id, uint64_t seq, int r) {
        Reports *rs = userdata;

        ASSERT_TRUE(rs->n < ELEMENTSOF(rs->list));
        rs->list[rs->n++] = (Report) { .id = id, .seq = seq, .r = r, .text = read_record(rs->dir, id) };
}

static void reports_done(Reports *rs) {
        for (size_t i = 0; i < rs->n; i++)
                free(rs->list[i].text);
        rs->n = 0;
}

/* Wait on the writer's fd, as the loop does, until n reports came. */
static void wait_reports(JournalWriter *w, Reports *rs, size_t n) {
        for (int tries = 0; rs->n < n; tries++) {
                struct pollfd p = { .fd = journal_writer_get_fd(w), .events = POLLIN };

                ASSERT_TRUE(tries < 100);
                ASSERT_TRUE(poll(&p, 1, 10 * 1000) > 0);
                journal_writer_dispatch(w);
        }
        ASSERT_EQ_INT(rs->n, n);
}

static json_object *record(uint32_t id, const char *phase) {
        json_object *o = json_object_new_object();

        ASSERT_NOT_NULL(o);
        ASSERT_OK(json_object_object_add(o, "id", json_object_new_int64(id)));
        ASSERT_OK(json_object_object_add(o, "phase", json_object_new_string(phase)));
        return o;
}

static void put(JournalWriter *w, uint32_t id, const char *phase, uint64_t *ret_seq) {
        _cleanup_(json_object_putp) json_object *o = record(id, phase);

        ASSERT_OK(journal_writer_put(w, id, o, ret_seq));
}

static void test_durable_before_report(const char *dir) {
        _cleanup_(journal_writer_freep) JournalWriter *w = NULL;
        Reports rs = { .dir = dir };
        uint64_t seq;

        ASSERT_OK(journal_writer_new(dir, on_synced, &rs, &w));
        put(w, 1, "unplug", &seq);
        wait_reports(w, &rs, 1);
        ASSERT_EQ_INT(rs.list[0].id, 1);
        ASSERT_EQ_INT(rs.list[0].seq, seq);
        ASSERT_EQ_INT(rs.list[0].r, 0);
        ASSERT_STREQ(rs.list[0].text, "{\"id\":1,\"phase\":\"unplug\"}");
        ASSERT_EQ_INT(journal_writer_get_batches(w), 1);
        reports_done(&rs);
}

static void test_batch(const char *dir) {
        _cleanup_(journal_writer_freep) JournalWriter *w = NULL;
        Reports rs = { .dir = dir };
        uint64_t s1, s2, s3, s4;
        _cleanup_free_ char *gone = NULL;

        ASSERT_OK(journal_writer_new(dir, on_synced, &rs, &w));
        put(w, 3, "failover", &s1); /* to be removed below */
        wait_reports(w, &rs, 1);
        reports_done(&rs);

        journal_writer_hold(w, true);
        put(w, 1, "migrate", &s1);
        put(w, 2, "preflight", &s2);
        put(w, 1, "plug", &s3);
        ASSERT_OK(journal_writer_remove(w, 3, &s4));
        ASSERT_TRUE(s1 < s2 && s2 < s3 && s3 < s4);
        journal_writer_hold(w, false);
        wait_reports(w, &rs, 3);
        ASSERT_EQ_INT(journal_writer_get_batches(w), 2); /* the first record, then all of these */

        /* One report per job, with the newest record of it, which the file holds. */
        ASSERT_EQ_INT(rs.list[0].id, 1);
        ASSERT_EQ_INT(rs.list[0].seq, s3);
        ASSERT_STREQ(rs.list[0].text, "{\"id\":1,\"phase\":\"plug\"}");
        ASSERT_EQ_INT(rs.list[1].id, 2);
        ASSERT_EQ_INT(rs.list[1].seq, s2);
        ASSERT_STREQ(rs.list[1].text, "{\"id\":2,\"phase\":\"preflight\"}");
        ASSERT_EQ_INT(rs.list[2].id, 3);
        ASSERT_EQ_INT(rs.list[2].seq, s4);
        ASSERT_NULL(rs.list[2].text);
        for (size_t i = 0; i < rs.n; i++)
                ASSERT_EQ_INT(rs.list[i].r, 0);
        reports_done(&rs);

        /* A put then a removal of the same job, in one batch: the removal wins. */
        journal_writer_hold(w, true);
        put(w, 2, "failover", NULL);
        ASSERT_OK(journal_writer_remove(w, 2, &s4));
        journal_writer_hold(w, false);
        wait_reports(w, &rs, 1);
        ASSERT_EQ_INT(rs.list[0].seq, s4);
        gone = read_record(dir, 2);
        ASSERT_NULL(gone);
        reports_done(&rs);
}

/* Freed with records pending (held): they are written before it returns, and no report runs. */
static void test_flush_on_free(const char *dir) {
        JournalWriter *w = NULL;
        Reports rs = { .dir = dir };
        _cleanup_free_ char *text = NULL;

        ASSERT_OK(journal_writer_new(dir, on_synced, &rs, &w));
        journal_writer_hold(w, true);
        put(w, 5, "link", NULL);
        journal_writer_free(w);
        ASSERT_EQ_INT(rs.n, 0);
        text = read_record(dir, 5);
        ASSERT_STREQ(text, "{\"id\":5,\"phase\":\"link\"}");
}

/* Flushed with the thread held and a batch's report not yet taken: flush returns once the
 * newest record is on disk, and hands every report to its own function, not to synced(). */
static void test_flush(const char *dir) {
        _cleanup_(journal_writer_freep) JournalWriter *w = NULL;
        Reports rs = { .dir = dir }, flushed = { .dir = dir };
        _cleanup_free_ char *text = NULL;
        uint64_t first, seq;

        ASSERT_OK(journal_writer_new(dir, on_synced, &rs, &w));
        put(w, 6, "failover", &first);
        while (journal_writer_get_batches(w) < 1)
                usleep(1000);
        journal_writer_hold(w, true);
        put(w, 6, "unplug", NULL);
        put(w, 6, "migrate", &seq);
        journal_writer_flush(w, on_synced, &flushed);
        ASSERT_EQ_INT(rs.n, 0);
        ASSERT_EQ_INT(flushed.n, 2);
        ASSERT_EQ_INT(flushed.list[0].seq, first);
        ASSERT_EQ_INT(flushed.list[1].seq, seq);
        ASSERT_OK(flushed.list[1].r);
        ASSERT_STREQ(flushed.list[1].text, "{\"id\":6,\"phase\":\"migrate\"}");
        text = read_record(dir, 6);
        ASSERT_STREQ(text, "{\"id\":6,\"phase\":\"migrate\"}");
        reports_done(&flushed);

        /* Nothing pending: returns at once, nothing reported. */
        journal_writer_flush(w, on_synced, &flushed);
        ASSERT_EQ_INT(flushed.n, 0);
}

/* The directory went away: the failure is reported, with the record's number. */
static void test_failure(void) {
        _cleanup_(journal_writer_freep) JournalWriter *w = NULL;
        char dir[] = "/tmp/test-journal-writer-gone.XXXXXX";
        Reports rs = { .dir = dir };
        uint64_t seq;

        ASSERT_NOT_NULL(mkdtemp(dir));
        ASSERT_OK(journal_writer_new(dir, on_synced, &rs, &w));
        ASSERT_OK(rmdir(dir));
        put(w, 9, "unplug", &seq);
        wait_reports(w, &rs, 1);
        ASSERT_EQ_INT(rs.list[0].seq, seq);
        ASSERT_TRUE(rs.list[0].r < 0);
        reports_done(&rs);
}

static void test_arguments(void) {
        JournalWriter *w = NULL;

        ASSERT_ERR(journal_writer_new(NULL, on_synced, NULL, &w), EINVAL);
        ASSERT_ERR(journal_writer_new("/tmp", NULL, NULL, &w), EINVAL);
        ASSERT_ERR(journal_writer_put(NULL, 1, NULL, NULL), EINVAL);
        ASSERT_NULL(journal_writer_free(NULL));
}

int main(void) {
        char dir[] = "/tmp/test-journal-writer.XXXXXX";
        char cmd[128];

        ASSERT_NOT_NULL(mkdtemp(dir));
        test_durable_before_report(dir);
        test_batch(dir);
        test_flush_on_free(dir);
        test_flush(dir);
        test_failure();
        test_arguments();
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ASSERT_EQ_INT(system(cmd), 0);
        printf("test-journal-writer: all passed\n");
        return 0;
}
