/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The job journal: one JSON record per job in a directory (<state dir>/jobs/<id>.json),
 * replaced atomically and durably, so that a crash at any moment leaves the previous record or
 * the new one, never a torn file. A restarted srvmd reads the records back to show what it did
 * and to finish what it was doing (migration_new_from_journal(), migration_recover()). */
#pragma once

#include <stdint.h>

#include <json-c/json.h>

/* Create dir if needed. */
int journal_prepare(const char *dir);
/* Replace job id's record: temporary file, fsync, rename, fsync of the directory. */
int journal_write(const char *dir, uint32_t id, json_object *record);
int journal_remove(const char *dir, uint32_t id);
/* The two halves of journal_write(), for a writer that syncs the directory once for many
 * records (journal-writer.h): the record's file made durable and renamed into place, and the
 * directory's fsync that makes the renames (and removals) durable. */
int journal_write_text(const char *dir, uint32_t id, const char *text);
int journal_sync_dir(const char *dir);

/* Call cb for each record in id order. A file that cannot be read or parsed, is not a regular
 * file, or holds another job's "id" than its name says is passed with record NULL and a
 * sentence in error; the other files are still read. Removes the temporary files of writes
 * that never finished: call it before any journal_write(). Stops at the first
 * negative return of cb and returns it. */
typedef int (*JournalRecordFn)(uint32_t id, json_object *record, const char *error, void *userdata);
int journal_load(const char *dir, JournalRecordFn cb, void *userdata);
