/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See metrics-textfile.h. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "metrics-textfile.h"

bool metrics_textfile_path_is_valid(const char *path) {
        size_t n = path ? strlen(path) : 0;

        return n > strlen("/.prom") && path[0] == '/' && streq(path + n - strlen(".prom"), ".prom") &&
               path[n - strlen(".prom") - 1] != '/';
}

int metrics_textfile_write(const Metrics *m, const char *path) {
        _cleanup_free_ char *text = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0, done = 0;
        int r;

        if (!m || !metrics_textfile_path_is_valid(path))
                return -EINVAL;
        r = metrics_render(m, NULL, &text, &size);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;

        /* node_exporter reads it as another user: 0644, whatever srvmd's umask. */
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0) {
                r = -errno;
                goto fail;
        }
        while (done < size) {
                ssize_t n = write(fd, text + done, size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto fail;
                }
                done += (size_t) n;
        }
        r = close(fd);
        fd = -EBADF;
        if (r < 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        return 0;

fail:
        (void) unlink(tmp);
        return r;
}
