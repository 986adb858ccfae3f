/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal writer: the job journal (journal.h) written off the event loop. The loop hands
 * over each job's record as text and goes on; one thread writes what is pending in batches:
 * every record handed over since the last batch (the newest text of each job only), each file
 * made durable and renamed into place, then one fsync of the directory for the whole batch.
 * Then it says, through an eventfd the loop watches, which records are durable, so the loop
 * can start an action only once the record that says it begins is on disk. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "macro.h"

typedef struct JournalWriter JournalWriter;

/* A record of job id, handed over with sequence number seq (or a removal), is durable: r is 0,
 * or the negative errno of the write that failed. Called on the loop, from
 * journal_writer_dispatch(), once per job per batch, with the newest seq the batch wrote. */
typedef void (*JournalWriterSyncedFn)(void *userdata, uint32_t id, uint64_t seq, int r);

/* dir must exist (journal_prepare()). Starts the thread. */
int journal_writer_new(const char *dir, JournalWriterSyncedFn synced, void *userdata, JournalWriter **ret);
/* Writes out what is still pending, then stops the thread. No callback runs from here. */
JournalWriter *journal_writer_free(JournalWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(JournalWriter *, journal_writer_free);

/* Hand over job id's record (serialized here, on the caller's thread). *ret_seq is the number
 * synced() reports once it, or a newer record of the same job, is durable. Sequence numbers
 * grow over all jobs. */
int journal_writer_put(JournalWriter *w, uint32_t id, json_object *record, uint64_t *ret_seq);
/* Remove job id's record, after any record of it handed over before. */
int journal_writer_remove(JournalWriter *w, uint32_t id, uint64_t *ret_seq);

/* Write out, on the caller's thread's time, every record handed over so far: wait until the
 * thread has written and synced them all (a held writer is let go), then call fn(userdata, ...)
 * instead of synced() for each record whose result the loop was not told yet. For an exit that
 * does not free the writer (SIGTERM's handover): the records on disk are then the newest. */
void journal_writer_flush(JournalWriter *w, JournalWriterSyncedFn fn, void *userdata);

/* The fd to watch for EPOLLIN; then call journal_writer_dispatch(). */
int journal_writer_get_fd(JournalWriter *w);
/* Run synced() for each batch finished since the last call. */
void journal_writer_dispatch(JournalWriter *w);

/* For tests: hold the thread before its next batch (true) or let it go on (false), so that
 * records handed over meanwhile all go in one batch. */
void journal_writer_hold(JournalWriter *w, bool hold);
/* Batches and directory fsyncs done so far. */
uint64_t journal_writer_get_batches(JournalWriter *w);
