/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Files written whole or not at all: a temporary file next to the target, renamed over it,
 * so a reader never sees half of one. The journal's records and the metrics textfile use it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write size bytes of data to tmp (created with exactly mode, never through a symlink), fsync
 * it if sync, and rename it over path. On failure path is as it was and tmp is gone. */
int write_file_atomic(const char *path, const char *tmp, const void *data, size_t size, mode_t mode, bool sync);
