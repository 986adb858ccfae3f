/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See journal.h. The loader reads a directory only root writes, yet takes nothing there on
 * trust: a FIFO or a device must not hang or feed it (opened non-blocking, then checked to
 * be a regular file), a record must be the job its name says, and a temporary file left by
 * a write that a crash cut short is removed. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fileio.h"
#include "journal.h"
#include "json-util.h"
#include "macro.h"

/* Records are small; anything bigger is not ours. */
#define JOURNAL_RECORD_MAX (4 * 1024 * 1024)

int journal_prepare(const char *dir) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int fsync_path(const char *path, int flags) {
        _cleanup_close_ int fd = open(path, flags | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

int journal_sync_dir(const char *dir) {
        return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

int journal_write_text(const char *dir, uint32_t id, const char *text) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;

        if (!dir || !text)
                return -EINVAL;
        if (asprintf(&path, "%s/%" PRIu32 ".json", dir, id) < 0 ||
            asprintf(&tmp, "%s/.%" PRIu32 ".json.tmp", dir, id) < 0)
                return -ENOMEM;
        return write_file_atomic(path, tmp, text, strlen(text), 0600, true);
}

int journal_write(const char *dir, uint32_t id, json_object *record) {
        const char *text;
        int r;

        text = json_object_to_json_string_ext(record, JSON_C_TO_STRING_PLAIN);
        if (!text)
                return -ENOMEM;
        r = journal_write_text(dir, id, text);
        if (r < 0)
                return r;
        return journal_sync_dir(dir);
}

int journal_remove(const char *dir, uint32_t id) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%" PRIu32 ".json", dir, id) < 0)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static int record_id(const char *name, uint32_t *ret);

/* ".42.json.tmp": a record being written; at load time, one that never was. */
static bool is_stale_tmp(const char *name) {
        uint32_t id;
        size_t n = strlen(name);
        _cleanup_free_ char *inner = NULL;

        if (name[0] != '.' || n < 10 || !streq(name + n - 4, ".tmp"))
                return false;
        inner = strndup(name + 1, n - 5);
        return inner && record_id(inner, &id) >= 0;
}

/* "42.json" -> 42; anything else (temporary files, strays) is not a record. */
static int record_id(const char *name, uint32_t *ret) {
        char *end;
        unsigned long v;

        if (name[0] < '1' || name[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(name, &end, 10);
        if (errno != 0 || v == 0 || v > UINT32_MAX || !streq(end, ".json"))
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static int compare_ids(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

static int load_one(int dirfd, uint32_t id, JournalRecordFn cb, void *userdata) {
        _cleanup_(json_object_putp) json_object *record = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        _cleanup_close_ int fd = -EBADF;
        char name[32];
        struct stat st;
        size_t done = 0;

        snprintf(name, sizeof name, "%" PRIu32 ".json", id);
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0)
                (void) asprintf(&error, "%s: cannot read it: %s", name, strerror(errno));
        else if (!S_ISREG(st.st_mode) || st.st_size > JOURNAL_RECORD_MAX)
                (void) asprintf(&error, "%s: not a journal record (not a regular file, or over %d bytes)",
                                name, JOURNAL_RECORD_MAX);
        else {
                text = malloc((size_t) st.st_size + 1);
                if (!text)
                        return -ENOMEM;
                while (done < (size_t) st.st_size) {
                        ssize_t k = read(fd, text + done, (size_t) st.st_size - done);

                        if (k <= 0)
                                break;
                        done += (size_t) k;
                }
                text[done] = 0;
                record = json_tokener_parse(text);
                if (!record || !json_object_is_type(record, json_type_object))
                        (void) asprintf(&error, "%s: not valid JSON", name);
                else {
                        json_object *v;

                        if (!json_object_object_get_ex(record, "id", &v) || !json_object_is_type(v, json_type_int) ||
                            json_object_get_int64(v) != (int64_t) id)
                                (void) asprintf(&error, "%s: not the record of job %" PRIu32 " (its \"id\" is %s)",
                                                name, id, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "missing");
                }
        }

        return cb(id, error ? NULL : record, error, userdata);
}

int journal_load(const char *dir, JournalRecordFn cb, void *userdata) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0, allocated = 0;
        DIR *d;
        struct dirent *de;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        while ((de = readdir(d))) {
                uint32_t id;

                if (is_stale_tmp(de->d_name)) {
                        /* Only srvmd writes here, and it has written nothing yet. */
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (record_id(de->d_name, &id) < 0)
                        continue;
                if (n == allocated) {
                        uint32_t *more = realloc(ids, (allocated = allocated ? allocated * 2 : 16) * sizeof(uint32_t));

                        if (!more) {
                                r = -ENOMEM;
                                goto done;
                        }
                        ids = more;
                }
                ids[n++] = id;
        }
        if (n > 0)
                qsort(ids, n, sizeof(uint32_t), compare_ids);

        for (size_t i = 0; i < n; i++) {
                r = load_one(dirfd(d), ids[i], cb, userdata);
                if (r < 0)
                        break;
        }
done:
        closedir(d);
        return r < 0 ? r : 0;
}
