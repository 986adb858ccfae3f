/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srvmd's metrics as a file for node_exporter's textfile collector (--metrics-textfile):
 * rendered, written next to the file and renamed over it, so a scrape never reads half of
 * one. The process_* families are left out: node_exporter has its own. */
#pragma once

#include "metrics.h"

/* How often srvmd rewrites the file besides at the end of each job. */
#define METRICS_TEXTFILE_INTERVAL_USEC (15 * USEC_PER_SEC)

/* path must be absolute; node_exporter reads only names ending in ".prom". */
bool metrics_textfile_path_is_valid(const char *path);

/* Render m into path atomically: path.tmp written whole, then renamed over path. On failure
 * path is as it was and no temporary file stays. */
int metrics_textfile_write(const Metrics *m, const char *path);
