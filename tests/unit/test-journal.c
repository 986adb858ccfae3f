/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal's files: records written atomically read back in id order, strays ignored,
 * broken files (a FIFO, a symlink, another job's record) reported without stopping the others,
 * unfinished writes removed. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "assert.h"
#include "journal.h"
#include "json-util.h"
#include "macro.h"

typedef struct Seen {
        uint32_t ids[8];
        char *errors[8];
        size_t n;
} Seen;

static int collect(uint32_t id, json_object *record, const char *error, void *userdata) {
        Seen *s = userdata;

        ASSERT_TRUE(s->n < ELEMENTSOF(s->ids));
        s->ids[s->n] = id;
        s->errors[s->n] = error ? strdup(error) : NULL;
        if (record)
                ASSERT_EQ_INT(json_object_get_int64(json_object_object_get(record, "id")), id);
        s->n++;
        return 0;
}

static void record(const char *dir, uint32_t id) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_int64(id));
        ASSERT_OK(journal_write(dir, id, o));
}

int main(void) {
        char dir[] = "/tmp/test-journal-XXXXXX", jobs[600], path[700];
        Seen seen = {};
        struct stat st;

        ASSERT_NOT_NULL(mkdtemp(dir));
        snprintf(jobs, sizeof jobs, "%s/jobs", dir);

        /* No directory yet: nothing to load, not an error. */
        ASSERT_OK(journal_load(jobs, collect, &seen));
        ASSERT_EQ_INT(seen.n, 0);

        ASSERT_OK(journal_prepare(jobs));
        ASSERT_OK(journal_prepare(jobs)); /* again: fine */
        ASSERT_OK(stat(jobs, &st));
        ASSERT_EQ_INT(st.st_mode & 0777, 0700);

        record(jobs, 10);
        record(jobs, 2);
        record(jobs, 2); /* replaced, not duplicated */
        assert_write_file(jobs, "7.json", "{\"id\": 7, \"trunc");
        assert_write_file(jobs, ".3.json.tmp", "{\"id\": 3}"); /* a write that never finished */
        assert_write_file(jobs, "notes.txt", "hello");
        assert_write_file(jobs, "007.json", "{\"id\": 7}"); /* not a name we write */
        assert_write_file(jobs, "12.json", "{\"id\": 3}"); /* another job's record under this name */
        assert_write_file(jobs, "13.json", "{\"domain\": \"vm\"}");
        snprintf(path, sizeof path, "%s/5.json", jobs);
        ASSERT_OK(mkfifo(path, 0600)); /* no writer: a blocking open would hang here */
        snprintf(path, sizeof path, "%s/6.json", jobs);
        ASSERT_OK(symlink("/etc/passwd", path));

        ASSERT_OK(journal_load(jobs, collect, &seen));
        ASSERT_EQ_INT(seen.n, 7);
        ASSERT_EQ_INT(seen.ids[0], 2);
        ASSERT_NULL(seen.errors[0]);
        ASSERT_EQ_INT(seen.ids[1], 5);
        ASSERT_STREQ(seen.errors[1], "5.json: not a journal record (not a regular file, or over 4194304 bytes)");
        ASSERT_EQ_INT(seen.ids[2], 6);
        ASSERT_NOT_NULL(strstr(seen.errors[2], "6.json: cannot read it: "));
        ASSERT_EQ_INT(seen.ids[3], 7);
        ASSERT_STREQ(seen.errors[3], "7.json: not valid JSON");
        ASSERT_EQ_INT(seen.ids[4], 10);
        ASSERT_NULL(seen.errors[4]);
        ASSERT_EQ_INT(seen.ids[5], 12);
        ASSERT_STREQ(seen.errors[5], "12.json: not the record of job 12 (its \"id\" is 3)");
        ASSERT_EQ_INT(seen.ids[6], 13);
        ASSERT_STREQ(seen.errors[6], "13.json: not the record of job 13 (its \"id\" is missing)");
        for (size_t i = 0; i < seen.n; i++)
                free(seen.errors[i]);
        /* The unfinished write is gone; the strays that are not ours stay. */
        snprintf(path, sizeof path, "%s/.3.json.tmp", jobs);
        ASSERT_TRUE(access(path, F_OK) < 0 && errno == ENOENT);
        snprintf(path, sizeof path, "%s/notes.txt", jobs);
        ASSERT_OK(access(path, F_OK));
        ASSERT_OK(unlink(path));
        snprintf(path, sizeof path, "%s/12.json", jobs);
        ASSERT_OK(unlink(path));
        snprintf(path, sizeof path, "%s/13.json", jobs);
        ASSERT_OK(unlink(path));
        snprintf(path, sizeof path, "%s/5.json", jobs);
        ASSERT_OK(unlink(path));
        snprintf(path, sizeof path, "%s/6.json", jobs);
        ASSERT_OK(unlink(path));

        ASSERT_OK(journal_remove(jobs, 10));
        ASSERT_OK(journal_remove(jobs, 10)); /* gone already: fine */
        seen = (Seen) {};
        ASSERT_OK(journal_load(jobs, collect, &seen));
        ASSERT_EQ_INT(seen.n, 2);
        for (size_t i = 0; i < seen.n; i++)
                free(seen.errors[i]);

        {
                char cmd[700];

                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                ASSERT_TRUE(system(cmd) == 0);
        }
        printf("test-journal: all passed\n");
        return 0;
}
