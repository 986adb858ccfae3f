/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recording and replaying the VF's configuration. The record is written by failover, before
 * the VF is unplugged, to a tmpfs file: guest memory travels with the migration, so the
 * destination's failback finds it without srvmd carrying anything. Only what differs on the
 * new NIC is changed, so a replay onto the same NIC (a failback after enslave already
 * replayed) changes nothing; a ring or MTU change made while the NIC is down costs no link
 * bounce, which is why enslave replays before bringing the NIC up. */

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "ethtool.h"
#include "json-util.h"
#include "replay.h"
#include "status.h"
#include "sysfs.h"

int replay_record_path(const char *bond, char **ret) {
        char *p;

        if (!ifname_valid(bond))
                return -EINVAL;
        if (asprintf(&p, SRVM_GUEST_STATE_DIR "/%s.vf.json", bond) < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int replay_done_path(const char *path, char **ret) {
        return asprintf(ret, "%s.replayed", path) < 0 ? -ENOMEM : 0;
}

static int read_file(const char *path, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = 0, size = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t k;

                if (n + 1 >= size) {
                        char *m;

                        size = size ? size * 2 : 4096;
                        if (size > 1024 * 1024)
                                return -EFBIG;
                        m = realloc(buf, size);
                        if (!m)
                                return -ENOMEM;
                        buf = m;
                }
                k = read(fd, buf + n, size - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The devices whose lower device is the bond: /sys/class/net/BOND/upper_NAME links. */
static int read_stacked(const char *bond, char ***ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_strv_free_ char **l = NULL;
        DIR *d;
        struct dirent *de;
        size_t n = 0;

        if (asprintf(&path, "/sys/class/net/%s", bond) < 0)
                return -ENOMEM;
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char **m;

                if (strncmp(de->d_name, "upper_", 6) != 0 || !ifname_valid(de->d_name + 6))
                        continue;
                m = reallocarray(l, n + 2, sizeof(char *));
                if (!m) {
                        closedir(d);
                        return -ENOMEM;
                }
                l = m;
                l[n] = strdup(de->d_name + 6);
                l[n + 1] = NULL;
                if (!l[n]) {
                        closedir(d);
                        return -ENOMEM;
                }
                n++;
        }
        closedir(d);
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_multicast(const char *ifname, struct hwaddr **ret, size_t *ret_n) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file("/proc/net/dev_mcast", &text);
        if (r < 0)
                return r;
        return proc_parse_dev_mcast(text, ifname, ret, ret_n);
}

int replay_record_read(const char *ifname, const char *bond, struct vf_config **ret) {
        _cleanup_(vf_config_freep) struct vf_config *c = NULL;
        _cleanup_(ethtool_features_state_done) struct ethtool_features_state fs = {};
        _cleanup_free_ struct hwaddr *mc = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint32_t max[_VF_RING_MAX];
        size_t n_mc = 0;
        int r;

        r = vf_config_new(&c);
        if (r < 0)
                return r;
        c->interface = strdup(ifname);
        if (!c->interface)
                return -ENOMEM;
        (void) sysfs_read_net_driver(ifname, &c->driver);

        fd = ethtool_socket();
        if (fd < 0)
                return fd;

        r = ethtool_get_mtu(fd, ifname, &c->mtu);
        if (r < 0)
                return r;

        /* Features the user may change (ethtool -K) are recorded, by name: another model
         * has another index for none of them, but may lack some. */
        if (ethtool_get_features(fd, ifname, &fs) >= 0)
                for (size_t i = 0; i < fs.n; i++) {
                        if (!ethtool_bit(fs.available, i) || ethtool_bit(fs.never_changed, i))
                                continue;
                        r = vf_config_add_feature(c, fs.names[i], ethtool_bit(fs.requested, i));
                        if (r < 0)
                                return r;
                }

        c->have_ring = ethtool_get_ring(fd, ifname, c->ring, max) >= 0;
        c->have_coalesce = ethtool_get_coalesce(fd, ifname, c->coalesce) >= 0;

        r = read_multicast(ifname, &mc, &n_mc);
        if (r >= 0)
                for (size_t i = 0; i < n_mc; i++) {
                        r = vf_config_add_multicast(c, &mc[i]);
                        if (r < 0)
                                return r;
                }

        r = read_stacked(bond, &c->stacked);
        if (r < 0 && r != -ENOENT)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int replay_record_save(const struct vf_config *c, const char *path) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *tmp = NULL, *done = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *text;
        size_t n;
        int r;

        r = vf_config_to_json(c, &o);
        if (r < 0)
                return r;
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
        if (!text)
                return -ENOMEM;

        if (mkdir(SRVM_GUEST_STATE_DIR, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        n = strlen(text);
        if (write(fd, text, n) != (ssize_t) n || write(fd, "\n", 1) != 1) {
                r = errno ? -errno : -EIO;
                unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        /* A new record: what an earlier failback replayed is history. */
        if (replay_done_path(path, &done) >= 0)
                (void) unlink(done);
        return 0;
}

int replay_record_load(const char *path, struct vf_config **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file(path, &text);
        if (r < 0)
                return r;
        o = json_tokener_parse(text);
        if (!o)
                return -EBADMSG;
        return vf_config_from_json(o, ret);
}

static int describe(const char *ifname, const char *driver, json_object **ret) {
        _cleanup_free_ char *s = NULL;

        if (asprintf(&s, "%s (%s)", ifname, driver ? driver : "no driver") < 0)
                return -ENOMEM;
        *ret = json_object_new_string(s);
        return *ret ? 0 : -ENOMEM;
}

int replay_report_new(const char *path, const struct vf_config *c, const char *ifname,
                      json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *driver = NULL;
        json_object *v;
        int r;

        if (!o)
                return -ENOMEM;
        r = json_add(o, "record", json_object_new_string(path));
        if (r < 0)
                return r;
        r = describe(c->interface, c->driver, &v);
        if (r < 0)
                return r;
        r = json_add(o, "from", v);
        if (r < 0)
                return r;
        (void) sysfs_read_net_driver(ifname, &driver);
        r = describe(ifname, driver, &v);
        if (r < 0)
                return r;
        r = json_add(o, "to", v);
        if (r < 0)
                return r;
        r = json_add(o, "applied", json_object_new_array());
        if (r < 0)
                return r;
        r = json_add(o, "failed", json_object_new_array());
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

/* A second pass over the same NIC (before and after enslaving) finds the same things: say
 * each once. */
static bool report_has(json_object *array, const char *key, const char *s) {
        size_t n = json_object_array_length(array);

        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(array, i), *v = e;

                if (key && !json_object_object_get_ex(e, key, &v))
                        continue;
                if (streq_ptr(json_object_get_string(v), s))
                        return true;
        }
        return false;
}

_printf_(2, 3)
static int report_applied(json_object *report, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        json_object *a;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        if (!json_object_object_get_ex(report, "applied", &a))
                return -EINVAL;
        if (report_has(a, NULL, s))
                return 0;
        return json_append(a, json_object_new_string(s));
}

_printf_(3, 4)
static int report_failed(json_object *report, int error, const char *fmt, ...) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *s = NULL;
        json_object *a;
        va_list ap;
        int k, r;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;

        if (!json_object_object_get_ex(report, "failed", &a))
                return -EINVAL;
        if (report_has(a, "setting", s))
                return 0;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = json_add(o, "setting", json_object_new_string(s));
        if (r < 0)
                return r;
        r = json_add(o, "error", json_object_new_string(error == -EOPNOTSUPP ? "not supported by the driver" : strerror(-error)));
        if (r < 0)
                return r;
        return json_append(a, TAKE_PTR(o));
}

static int replay_mtu(int fd, const struct vf_config *c, const char *ifname, json_object *report) {
        unsigned mtu;
        int r;

        r = ethtool_get_mtu(fd, ifname, &mtu);
        if (r < 0)
                return report_failed(report, r, "mtu %u", c->mtu);
        if (mtu == c->mtu)
                return 0;
        r = ethtool_set_mtu(fd, ifname, c->mtu);
        if (r < 0)
                return report_failed(report, r, "mtu %u", c->mtu);
        return report_applied(report, "mtu %u", c->mtu);
}

static int replay_features(int fd, const struct vf_config *c, const char *ifname,
                           json_object *report) {
        _cleanup_(ethtool_features_state_done) struct ethtool_features_state fs = {}, after = {};
        _cleanup_free_ bool *change = NULL, *on = NULL;
        bool any = false;
        int r;

        if (c->n_features == 0)
                return 0;
        r = ethtool_get_features(fd, ifname, &fs);
        if (r < 0)
                return report_failed(report, r, "offload features");

        change = calloc(fs.n, sizeof(bool));
        on = calloc(fs.n, sizeof(bool));
        if (!change || !on)
                return -ENOMEM;

        for (size_t k = 0; k < c->n_features; k++) {
                const struct vf_feature *f = &c->features[k];
                int i = ethtool_features_state_find(&fs, f->name);

                if (i < 0) {
                        if (f->on) {
                                r = report_failed(report, -EOPNOTSUPP, "%s on", f->name);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                if (!ethtool_bit(fs.available, (size_t) i) ||
                    ethtool_bit(fs.never_changed, (size_t) i)) {
                        /* Fixed on this model: only a difference is worth a word. */
                        if (ethtool_bit(fs.active, (size_t) i) != f->on) {
                                r = report_failed(report, -EOPNOTSUPP, "%s %s", f->name,
                                                  f->on ? "on" : "off");
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                if (ethtool_bit(fs.requested, (size_t) i) == f->on)
                        continue;
                change[i] = true;
                on[i] = f->on;
                any = true;
        }
        if (!any)
                return 0;

        r = ethtool_set_features(fd, ifname, &fs, change, on);
        if (r < 0) {
                for (size_t i = 0; i < fs.n; i++)
                        if (change[i]) {
                                int q = report_failed(report, r, "%s %s", fs.names[i],
                                                      on[i] ? "on" : "off");
                                if (q < 0)
                                        return q;
                        }
                return 0;
        }

        r = ethtool_get_features(fd, ifname, &after);
        if (r < 0)
                return report_failed(report, r, "offload features (reading them back)");
        for (size_t i = 0; i < fs.n; i++) {
                if (!change[i])
                        continue;
                if (ethtool_bit(after.active, i) == on[i])
                        r = report_applied(report, "%s %s", fs.names[i], on[i] ? "on" : "off");
                else
                        r = report_failed(report, -EIO, "%s %s (the driver kept it %s)",
                                          fs.names[i], on[i] ? "on" : "off",
                                          on[i] ? "off" : "on");
                if (r < 0)
                        return r;
        }
        return 0;
}

static int replay_ring(int fd, const struct vf_config *c, const char *ifname,
                       json_object *report) {
        uint32_t cur[_VF_RING_MAX], max[_VF_RING_MAX], want[_VF_RING_MAX];
        bool any = false;
        int r;

        if (!c->have_ring)
                return 0;
        r = ethtool_get_ring(fd, ifname, cur, max);
        if (r < 0)
                return report_failed(report, r, "ring sizes rx %u tx %u", c->ring[VF_RING_RX],
                                     c->ring[VF_RING_TX]);

        memcpy(want, cur, sizeof(want));
        for (size_t i = 0; i < _VF_RING_MAX; i++) {
                if (c->ring[i] == cur[i])
                        continue;
                if (c->ring[i] > max[i]) {
                        r = report_failed(report, -ERANGE, "ring %s %u (this NIC's maximum is %u)",
                                          vf_ring_to_string((enum vf_ring) i), c->ring[i], max[i]);
                        if (r < 0)
                                return r;
                        continue;
                }
                want[i] = c->ring[i];
                any = true;
        }
        if (!any)
                return 0;

        r = ethtool_set_ring(fd, ifname, want);
        for (size_t i = 0; i < _VF_RING_MAX; i++) {
                int q;

                if (want[i] == cur[i])
                        continue;
                if (r < 0)
                        q = report_failed(report, r, "ring %s %u",
                                          vf_ring_to_string((enum vf_ring) i), want[i]);
                else
                        q = report_applied(report, "ring %s %u",
                                           vf_ring_to_string((enum vf_ring) i), want[i]);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int replay_coalesce(int fd, const struct vf_config *c, const char *ifname,
                           json_object *report) {
        uint32_t cur[_VF_COALESCE_MAX], want[_VF_COALESCE_MAX];
        bool any = false;
        int r;

        if (!c->have_coalesce)
                return 0;
        r = ethtool_get_coalesce(fd, ifname, cur);
        if (r < 0) {
                /* A model without coalescing settings lacks nothing if none were set. */
                for (size_t i = 0; i < _VF_COALESCE_MAX; i++)
                        if (c->coalesce[i] != 0)
                                return report_failed(report, r, "interrupt coalescing");
                return 0;
        }

        memcpy(want, c->coalesce, sizeof(want));
        for (size_t i = 0; i < _VF_COALESCE_MAX; i++)
                any = any || want[i] != cur[i];
        if (!any)
                return 0;

        r = ethtool_set_coalesce(fd, ifname, want);
        for (size_t i = 0; i < _VF_COALESCE_MAX; i++) {
                int q;

                if (want[i] == cur[i])
                        continue;
                if (r < 0)
                        q = report_failed(report, r, "coalesce %s %u",
                                          vf_coalesce_to_string((enum vf_coalesce) i), want[i]);
                else
                        q = report_applied(report, "coalesce %s %u",
                                           vf_coalesce_to_string((enum vf_coalesce) i), want[i]);
                if (q < 0)
                        return q;
        }
        return 0;
}

int replay_link_settings(const struct vf_config *c, const char *ifname, bool mtu,
                         json_object *report) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = ethtool_socket();
        if (fd < 0)
                return fd;

        if (mtu) {
                r = replay_mtu(fd, c, ifname, report);
                if (r < 0)
                        return r;
        }
        r = replay_features(fd, c, ifname, report);
        if (r < 0)
                return r;
        r = replay_ring(fd, c, ifname, report);
        if (r < 0)
                return r;
        return replay_coalesce(fd, c, ifname, report);
}

int replay_after_active(const struct vf_config *c, const char *ifname, const char *bond,
                        json_object *report) {
        _cleanup_free_ struct hwaddr *cur = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[HWADDR_STR_MAX];
        size_t n_cur = 0;
        int r;

        fd = ethtool_socket();
        if (fd < 0)
                return fd;

        if (c->n_multicast > 0) {
                r = read_multicast(ifname, &cur, &n_cur);
                if (r < 0)
                        return report_failed(report, r, "multicast list");
        }
        for (size_t i = 0; i < c->n_multicast; i++) {
                bool present = false;

                for (size_t k = 0; k < n_cur; k++)
                        present = present || hwaddr_equal(&cur[k], &c->multicast[i]);
                if (present)
                        continue;
                r = ethtool_add_multicast(fd, ifname, &c->multicast[i]);
                if (r < 0)
                        r = report_failed(report, r, "multicast %s",
                                          hwaddr_format(&c->multicast[i], buf));
                else
                        r = report_applied(report, "multicast %s",
                                           hwaddr_format(&c->multicast[i], buf));
                if (r < 0)
                        return r;
        }

        /* Stacked devices hang off the bond, which stayed: bonding hands their VLAN filters
         * to each new slave itself. One that went away is worth telling. */
        for (char **s = c->stacked; s && *s; s++) {
                _cleanup_free_ char *attr = NULL;

                if (asprintf(&attr, "upper_%s", *s) < 0)
                        return -ENOMEM;
                if (sysfs_net_attr_exists(bond, attr))
                        continue;
                r = report_failed(report, -ENODEV, "%s stacked on %s", *s, bond);
                if (r < 0)
                        return r;
        }
        return 0;
}
