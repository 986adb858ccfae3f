/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See fileio.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int write_file_atomic(const char *path, const char *tmp, const void *data, size_t size, mode_t mode, bool sync) {
        _cleanup_close_ int fd = -EBADF;
        size_t done = 0;
        int r;

        if (!path || !tmp || (!data && size > 0))
                return -EINVAL;

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        /* Exactly mode, whatever srvmd's umask: a reader may be another user. */
        if (fchmod(fd, mode) < 0) {
                r = -errno;
                goto fail;
        }
        while (done < size) {
                ssize_t n = write(fd, (const char *) data + done, size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto fail;
                }
                done += (size_t) n;
        }
        if (sync && fsync(fd) < 0) {
                r = -errno;
                goto fail;
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
