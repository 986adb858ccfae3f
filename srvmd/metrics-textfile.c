/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See metrics-textfile.h. */
#include <stdio.h>

#include "fileio.h"
#include "metrics-textfile.h"

bool metrics_textfile_path_is_valid(const char *path) {
        size_t n = path ? strlen(path) : 0;

        return n > strlen("/.prom") && path[0] == '/' && streq(path + n - strlen(".prom"), ".prom") &&
               path[n - strlen(".prom") - 1] != '/';
}

int metrics_textfile_write(const Metrics *m, const char *path) {
        _cleanup_free_ char *text = NULL, *tmp = NULL;
        size_t size = 0;
        int r;

        if (!m || !metrics_textfile_path_is_valid(path))
                return -EINVAL;
        r = metrics_render(m, NULL, &text, &size);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        /* node_exporter reads it as another user: 0644. A scrape needs no fsync. */
        return write_file_atomic(path, tmp, text, size, 0644, false);
}
