/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See journal-writer.h. The loop and the thread share two lists under one mutex: the pending
 * records (at most one per job: a newer one replaces the text of one not yet taken) and the
 * results of finished batches. The thread takes the whole pending list at once; what the loop
 * hands over while it writes goes in the next batch. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "journal.h"
#include "journal-writer.h"

typedef struct Entry {
        uint32_t id;
        uint64_t seq;
        char *text; /* owned; NULL: remove the record */
        int r;      /* the result, once written */
} Entry;

typedef struct EntryList {
        Entry *entries;
        size_t n, allocated;
} EntryList;

struct JournalWriter {
        char *dir;
        JournalWriterSyncedFn synced;
        void *userdata;
        int efd;

        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        pthread_cond_t idle; /* a batch finished: for journal_writer_flush() */
        /* Under lock: */
        EntryList pending;
        EntryList done;
        bool stopping;
        bool held;
        bool writing; /* a batch taken and not yet in done */
        uint64_t batches;

        uint64_t next_seq; /* the loop's only */
};

static void entry_list_done(EntryList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->entries[i].text);
        free(l->entries);
        *l = (EntryList) {};
}

static Entry *entry_list_find(EntryList *l, uint32_t id) {
        for (size_t i = 0; i < l->n; i++)
                if (l->entries[i].id == id)
                        return &l->entries[i];
        return NULL;
}

static int entry_list_append(EntryList *l, const Entry *e) {
        if (l->n == l->allocated) {
                size_t a = l->allocated ? l->allocated * 2 : 16;
                Entry *more = realloc(l->entries, a * sizeof(Entry));

                if (!more)
                        return -ENOMEM;
                l->entries = more;
                l->allocated = a;
        }
        l->entries[l->n++] = *e;
        return 0;
}

/* One batch: each record's file, then the directory once. A failed directory fsync fails
 * every entry of the batch: none of their renames is known to be durable. */
static void batch_write(JournalWriter *w, EntryList *batch) {
        int r;

        for (size_t i = 0; i < batch->n; i++) {
                Entry *e = &batch->entries[i];

                e->r = e->text ? journal_write_text(w->dir, e->id, e->text) : journal_remove(w->dir, e->id);
        }
        r = journal_sync_dir(w->dir);
        for (size_t i = 0; r < 0 && i < batch->n; i++)
                if (batch->entries[i].r >= 0)
                        batch->entries[i].r = r;
}

static void *writer_main(void *userdata) {
        JournalWriter *w = userdata;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                EntryList batch;
                bool failed = false;

                while (!(w->pending.n > 0 && !w->held) && !(w->stopping && (w->pending.n == 0 || w->held)))
                        pthread_cond_wait(&w->cond, &w->lock);
                if (w->pending.n == 0)
                        break; /* stopping, nothing left */

                batch = w->pending;
                w->pending = (EntryList) {};
                w->writing = true;
                pthread_mutex_unlock(&w->lock);

                batch_write(w, &batch);

                pthread_mutex_lock(&w->lock);
                w->batches++;
                for (size_t i = 0; i < batch.n; i++) {
                        Entry e = batch.entries[i];

                        free(e.text);
                        e.text = NULL;
                        if (!failed && entry_list_append(&w->done, &e) < 0)
                                failed = true; /* the loop is not told; the records are written */
                }
                free(batch.entries);
                w->writing = false;
                pthread_cond_broadcast(&w->idle);
                if (!w->stopping) {
                        uint64_t one = 1;

                        (void) !write(w->efd, &one, sizeof one);
                }
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

int journal_writer_new(const char *dir, JournalWriterSyncedFn synced, void *userdata, JournalWriter **ret) {
        JournalWriter *w;
        int r;

        if (!dir || !synced || !ret)
                return -EINVAL;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (JournalWriter) { .synced = synced, .userdata = userdata, .efd = -EBADF, .next_seq = 1 };
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->cond, NULL);
        pthread_cond_init(&w->idle, NULL);
        w->dir = strdup(dir);
        if (!w->dir) {
                journal_writer_free(w);
                return -ENOMEM;
        }
        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0) {
                r = -errno;
                journal_writer_free(w);
                return r;
        }
        r = -pthread_create(&w->thread, NULL, writer_main, w);
        if (r < 0) {
                journal_writer_free(w);
                return r;
        }
        w->thread_started = true;
        *ret = w;
        return 0;
}

JournalWriter *journal_writer_free(JournalWriter *w) {
        if (!w)
                return NULL;
        if (w->thread_started) {
                pthread_mutex_lock(&w->lock);
                w->stopping = true;
                w->held = false;
                pthread_cond_signal(&w->cond);
                pthread_mutex_unlock(&w->lock);
                (void) pthread_join(w->thread, NULL);
        }
        entry_list_done(&w->pending);
        entry_list_done(&w->done);
        pthread_cond_destroy(&w->cond);
        pthread_cond_destroy(&w->idle);
        pthread_mutex_destroy(&w->lock);
        if (w->efd >= 0)
                close(w->efd);
        free(w->dir);
        free(w);
        return NULL;
}

/* Queue text (owned, NULL for a removal) as job id's next record. */
static int writer_queue(JournalWriter *w, uint32_t id, char *text, uint64_t *ret_seq) {
        uint64_t seq = w->next_seq++;
        Entry *e;
        int r = 0;

        pthread_mutex_lock(&w->lock);
        e = entry_list_find(&w->pending, id);
        if (e) {
                free(e->text);
                e->text = text;
                e->seq = seq;
        } else {
                r = entry_list_append(&w->pending, &(Entry) { .id = id, .seq = seq, .text = text });
                if (r < 0)
                        free(text);
        }
        if (r >= 0)
                pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        if (r < 0)
                return r;
        if (ret_seq)
                *ret_seq = seq;
        return 0;
}

int journal_writer_put(JournalWriter *w, uint32_t id, json_object *record, uint64_t *ret_seq) {
        const char *text;
        char *copy;

        if (!w || !record)
                return -EINVAL;
        text = json_object_to_json_string_ext(record, JSON_C_TO_STRING_PLAIN);
        copy = text ? strdup(text) : NULL;
        if (!copy)
                return -ENOMEM;
        return writer_queue(w, id, copy, ret_seq);
}

int journal_writer_remove(JournalWriter *w, uint32_t id, uint64_t *ret_seq) {
        if (!w)
                return -EINVAL;
        return writer_queue(w, id, NULL, ret_seq);
}

int journal_writer_get_fd(JournalWriter *w) {
        return w ? w->efd : -EBADF;
}

/* Take the results of the finished batches, under lock, and report each to fn. */
static void writer_report_done(JournalWriter *w, JournalWriterSyncedFn fn, void *userdata, bool locked) {
        EntryList done;

        if (!locked)
                pthread_mutex_lock(&w->lock);
        done = w->done;
        w->done = (EntryList) {};
        pthread_mutex_unlock(&w->lock);

        for (size_t i = 0; i < done.n; i++)
                fn(userdata, done.entries[i].id, done.entries[i].seq, done.entries[i].r);
        entry_list_done(&done);
}

void journal_writer_dispatch(JournalWriter *w) {
        uint64_t n;

        if (!w)
                return;
        (void) !read(w->efd, &n, sizeof n);
        writer_report_done(w, w->synced, w->userdata, false);
}

void journal_writer_flush(JournalWriter *w, JournalWriterSyncedFn fn, void *userdata) {
        if (!w || !fn)
                return;
        pthread_mutex_lock(&w->lock);
        w->held = false;
        pthread_cond_signal(&w->cond);
        while (w->thread_started && (w->pending.n > 0 || w->writing))
                pthread_cond_wait(&w->idle, &w->lock);
        writer_report_done(w, fn, userdata, true);
}

void journal_writer_hold(JournalWriter *w, bool hold) {
        pthread_mutex_lock(&w->lock);
        w->held = hold;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

uint64_t journal_writer_get_batches(JournalWriter *w) {
        uint64_t n;

        pthread_mutex_lock(&w->lock);
        n = w->batches;
        pthread_mutex_unlock(&w->lock);
        return n;
}
