/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The /sys/class/net side of srvm-guest. libnl 3.7 neither reads nor sets a bond's active
 * slave, its mode or a slave's MII status, and a guest without udev has no other record of
 * which driver owns a NIC, so these come from sysfs. The text is handed to parse.c. */

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "macro.h"
#include "sysfs.h"

#define SYSFS_NET "/sys/class/net"

/* A sysfs attribute is at most a page. */
#define SYSFS_ATTR_MAX 4096

static int sysfs_net_path(const char *ifname, const char *attr, char **ret) {
        char *p;

        if (asprintf(&p, SYSFS_NET "/%s/%s", ifname, attr) < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int sysfs_read_net_attr(const char *ifname, const char *attr, char **ret) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = 0;
        int r;

        r = sysfs_net_path(ifname, attr, &path);
        if (r < 0)
                return r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        buf = malloc(SYSFS_ATTR_MAX + 1);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t k = read(fd, buf + n, SYSFS_ATTR_MAX - n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n == SYSFS_ATTR_MAX)
                        return -EFBIG;
        }
        buf[n] = '\0';

        *ret = TAKE_PTR(buf);
        return 0;
}

/* The bonding driver answers a refused write with the write's error (EINVAL for "Could not
 * set as active slave"), so that is what the caller gets. */
int sysfs_write_net_attr(const char *ifname, const char *attr, const char *value) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(value);
        ssize_t k;
        int r;

        r = sysfs_net_path(ifname, attr, &path);
        if (r < 0)
                return r;

        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        do
                k = write(fd, value, n);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        if ((size_t) k != n)
                return -EIO;
        return 0;
}

/* The name of the driver bound to the interface's device ("virtio_net", "e1000e"), from the
 * device/driver symlink. -ENOENT for an interface without one (a bond, a veth). */
int sysfs_read_net_driver(const char *ifname, char **ret) {
        _cleanup_free_ char *path = NULL;
        char target[PATH_MAX];
        const char *base;
        ssize_t k;
        char *s;
        int r;

        r = sysfs_net_path(ifname, "device/driver", &path);
        if (r < 0)
                return r;

        k = readlink(path, target, sizeof(target) - 1);
        if (k < 0)
                return -errno;
        target[k] = '\0';

        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (*base == '\0')
                return -EINVAL;

        s = strdup(base);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

bool sysfs_net_attr_exists(const char *ifname, const char *attr) {
        _cleanup_free_ char *path = NULL;

        if (sysfs_net_path(ifname, attr, &path) < 0)
                return false;
        return access(path, F_OK) == 0;
}
