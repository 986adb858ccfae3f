/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bond moves srvm makes inside the guest. Membership, carrier and up/down go through
 * rtnetlink (link.c); the active slave, the mode and the MII monitor's view only exist in
 * the bonding sysfs files (sysfs.c). Every change is verified by reading it back, and every
 * wait polls against one deadline so that the daemon's phase budget holds.
 *
 * Each failure is recorded once, as a sentence naming the bond, the interface and the
 * cause: that sentence is what the operator sees in srvmd's job. */

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "announce.h"
#include "bond.h"
#include "link.h"
#include "replay.h"
#include "sysfs.h"

/* miimon in the guests is 100 ms; polling at half of it sees a change within a tick. */
#define BOND_POLL_USEC (50 * USEC_PER_MSEC)

/* More candidates than this for one MAC is a misconfiguration, not a case to handle. */
#define BOND_CANDIDATES_MAX 8

struct bond {
        char *name;         /* owned */
        int ifindex;
        struct nl_sock *nl; /* owned */
        char *error;        /* owned: the first failure's sentence */
        usec_t start;
        unsigned announce_count;
        unsigned announce_interval_ms;
        json_object *details; /* owned: "vf_record", "replay", "announce" for the answer */
        struct vf_config *record; /* owned: the VF's record failback replays, once loaded */
        char *record_path;  /* owned */
        json_object *replay; /* the "replay" member of details, once a replay started */
};

static double usec_to_sec(usec_t u) {
        return (double) u / (double) USEC_PER_SEC;
}

/* Sleeps one poll interval, or less when the deadline is nearer. */
static void bond_pause(usec_t deadline) {
        usec_t n = now_usec(), d = BOND_POLL_USEC;
        struct timespec ts;

        if (n >= deadline)
                return;
        if (deadline - n < d)
                d = deadline - n;
        ts.tv_sec = (time_t) (d / USEC_PER_SEC);
        ts.tv_nsec = (long) (d % USEC_PER_SEC * NSEC_PER_USEC);
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

void bond_report_init(struct bond_report *r) {
        *r = (struct bond_report) {
                .found_usec = USEC_INFINITY,
                .link_usec = USEC_INFINITY,
                .active_usec = USEC_INFINITY,
        };
}

void bond_report_done(struct bond_report *r) {
        free(r->slave);
        r->slave = NULL;
}

int bond_new(const char *name, struct bond **ret) {
        _cleanup_(bond_freep) struct bond *b = NULL;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;

        b->start = now_usec();
        b->announce_count = ANNOUNCE_COUNT_DEFAULT;
        b->announce_interval_ms = ANNOUNCE_INTERVAL_MS_DEFAULT;
        b->name = strdup(name);
        if (!b->name)
                return -ENOMEM;
        b->details = json_object_new_object();
        if (!b->details)
                return -ENOMEM;
        r = replay_record_path(name, &b->record_path);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(b);
        return 0;
}

struct bond *bond_free(struct bond *b) {
        if (!b)
                return NULL;
        nl_socket_free(b->nl);
        json_object_put(b->details);
        vf_config_free(b->record);
        free(b->record_path);
        free(b->error);
        free(b->name);
        free(b);
        return NULL;
}

const char *bond_get_error(const struct bond *b) {
        return b->error;
}

json_object *bond_get_details(const struct bond *b) {
        return b->details;
}

void bond_set_announce(struct bond *b, unsigned count, unsigned interval_ms) {
        b->announce_count = count;
        b->announce_interval_ms = interval_ms;
}

static int details_add(struct bond *b, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(b->details, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

usec_t bond_elapsed(const struct bond *b) {
        return now_usec() - b->start;
}

_printf_(3, 4)
static int bond_fail(struct bond *b, int r, const char *fmt, ...) {
        va_list ap;

        if (b->error)
                return r;

        va_start(ap, fmt);
        if (vasprintf(&b->error, fmt, ap) < 0)
                b->error = NULL;
        va_end(ap);
        return r;
}

int bond_open(struct bond *b) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = link_socket_open(&b->nl);
        if (r < 0)
                return bond_fail(b, r, "Could not open an rtnetlink socket: %s.", strerror(-r));

        r = link_get(b->nl, 0, b->name, &link);
        if (r == -ENODEV)
                return bond_fail(b, r, "There is no interface named %s.", b->name);
        if (r < 0)
                return bond_fail(b, r, "Could not look up %s: %s.", b->name, strerror(-r));

        if (!sysfs_net_attr_exists(b->name, "bonding"))
                return bond_fail(b, -ENODEV, "%s is not a bond (no bonding driver behind it).",
                                 b->name);

        b->ifindex = rtnl_link_get_ifindex(link);
        return 0;
}

static int bond_read_attr(struct bond *b, const char *ifname, const char *attr, char **ret) {
        int r;

        r = sysfs_read_net_attr(ifname, attr, ret);
        if (r < 0)
                return bond_fail(b, r, "Could not read %s of %s: %s.", attr, ifname,
                                 strerror(-r));
        return 0;
}

static int bond_read_mode(struct bond *b, enum bond_mode *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = bond_read_attr(b, b->name, "bonding/mode", &text);
        if (r < 0)
                return r;
        r = sysfs_parse_bond_mode(text, ret);
        if (r < 0)
                return bond_fail(b, r, "Could not make sense of bonding/mode of %s.", b->name);
        return 0;
}

static int bond_read_active(struct bond *b, char **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = bond_read_attr(b, b->name, "bonding/active_slave", &text);
        if (r < 0)
                return r;
        r = sysfs_parse_ifname(text, ret);
        if (r < 0)
                return bond_fail(b, r, "Could not make sense of bonding/active_slave of %s.",
                                 b->name);
        return 0;
}

/* A slave that vanishes while we look (hot-unplug) answers -ENOENT or -ENODEV; the caller
 * leaves it out rather than failing the whole status. */
static int slave_status_read(struct bond *b, const char *name, struct slave_status *ret) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        _cleanup_free_ char *mii = NULL, *perm = NULL, *driver = NULL, *copy = NULL;
        struct slave_status s = {};
        int r;

        r = link_get(b->nl, 0, name, &link);
        if (r < 0)
                return r;
        s.carrier = rtnl_link_get_carrier(link) > 0;

        r = sysfs_read_net_attr(name, "bonding_slave/mii_status", &mii);
        if (r < 0)
                return r;
        r = sysfs_parse_mii_status(mii, &s.mii_status);
        if (r < 0)
                return r;

        r = sysfs_read_net_attr(name, "bonding_slave/perm_hwaddr", &perm);
        if (r < 0)
                return r;
        s.have_mac = sysfs_parse_hwaddr(perm, &s.mac) >= 0;

        r = sysfs_read_net_driver(name, &driver);
        if (r < 0 && r != -ENOENT)
                return r;

        copy = strdup(name);
        if (!copy)
                return -ENOMEM;

        s.name = TAKE_PTR(copy);
        s.driver = TAKE_PTR(driver);
        *ret = s;
        return 0;
}

int bond_read_status(struct bond *b, struct bond_status **ret) {
        _cleanup_(bond_status_freep) struct bond_status *s = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->name = strdup(b->name);
        if (!s->name)
                return -ENOMEM;

        r = bond_read_mode(b, &s->mode);
        if (r < 0)
                return r;
        r = bond_read_active(b, &s->active_slave);
        if (r < 0)
                return r;

        r = bond_read_attr(b, b->name, "bonding/slaves", &text);
        if (r < 0)
                return r;
        r = sysfs_parse_ifnames(text, &names);
        if (r < 0)
                return bond_fail(b, r, "Could not make sense of bonding/slaves of %s.", b->name);

        s->slaves = calloc(strv_length(names) + 1, sizeof(struct slave_status));
        if (!s->slaves)
                return -ENOMEM;

        for (char **n = names; *n; n++) {
                struct slave_status *sl = &s->slaves[s->n_slaves];

                r = slave_status_read(b, *n, sl);
                if (r == -ENOENT || r == -ENODEV)
                        continue;
                if (r < 0)
                        return bond_fail(b, r, "Could not read the state of %s, slave of %s: %s.",
                                         *n, b->name, strerror(-r));
                sl->active = streq_ptr(sl->name, s->active_slave);
                s->n_slaves++;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

static int bond_check_mode(struct bond *b, enum bond_mode mode) {
        if (mode != BOND_MODE_ACTIVE_BACKUP)
                return bond_fail(b, -EOPNOTSUPP,
                                 "%s is in mode %s; only active-backup has an active slave to "
                                 "switch.",
                                 b->name, bond_mode_to_string(mode));
        return 0;
}

/* Writes bonding/active_slave and reads it back. 0 when it took, -EAGAIN when the bond
 * still shows another slave, or the write's error (bonding refuses a slave whose link its
 * MII monitor has not seen up with -EINVAL). */
static int bond_try_set_active(struct bond *b, const char *slave) {
        _cleanup_free_ char *active = NULL;
        int r, w;

        w = sysfs_write_net_attr(b->name, "bonding/active_slave", slave);

        r = bond_read_active(b, &active);
        if (r < 0)
                return r;
        if (streq_ptr(active, slave))
                return 0;
        return w < 0 ? w : -EAGAIN;
}

/* Record the VF's configuration (the bond's slave that is not virtio-net) in the guest's
 * /run, for the failback after the move. Never fails the failover: a VF that cannot be
 * recorded is one whose settings will not be replayed, and the answer says so. */
static int bond_record_vf(struct bond *b, const struct bond_status *s) {
        _cleanup_(vf_config_freep) struct vf_config *c = NULL;
        const struct slave_status *vf = NULL;
        json_object *o;
        int r;

        for (size_t i = 0; i < s->n_slaves && !vf; i++)
                if (!streq_ptr(s->slaves[i].driver, VIRTIO_NET_DRIVER))
                        vf = &s->slaves[i];

        o = json_object_new_object();
        r = details_add(b, "vf_record", o);
        if (r < 0)
                return r;
        if (!vf)
                return json_object_object_add(o, "error", json_object_new_string(
                                              "no VF enslaved; nothing recorded")) < 0 ? -ENOMEM : 0;

        r = replay_record_read(vf->name, b->name, &c);
        if (r >= 0)
                r = replay_record_save(c, b->record_path);
        if (r == -ENOMEM)
                return r;
        if (json_object_object_add(o, "interface", json_object_new_string(vf->name)) < 0 ||
            json_object_object_add(o, "path", json_object_new_string(b->record_path)) < 0 ||
            json_object_object_add(o, "error", r < 0 ? json_object_new_string(strerror(-r)) : NULL) < 0)
                return -ENOMEM;
        if (r >= 0 && (json_object_object_add(o, "mtu", json_object_new_int64(c->mtu)) < 0 ||
                       json_object_object_add(o, "features", json_object_new_int((int) c->n_features)) < 0 ||
                       json_object_object_add(o, "multicast", json_object_new_int((int) c->n_multicast)) < 0))
                return -ENOMEM;
        return 0;
}

static int bond_read_all_slaves_active(struct bond *b, char **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = sysfs_read_net_attr(b->name, "bonding/all_slaves_active", &text);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        *ret = TAKE_PTR(text);
        return 0;
}

/* Make slave the active one, with the least loss: while the switch's forwarding table still
 * points at the old slave's port, frames keep arriving there, and an inactive slave drops
 * them; so all_slaves_active is 1 from just before the switch until the announce has gone
 * out (which moves the table to the new port), then back to what it was. */
static int bond_switch(struct bond *b, const char *slave, usec_t *ret_switched) {
        _cleanup_free_ char *saved = NULL;
        int r, q;

        if (bond_read_all_slaves_active(b, &saved) >= 0 && !streq(saved, "1") &&
            sysfs_write_net_attr(b->name, "bonding/all_slaves_active", "1") < 0) {
                free(saved);
                saved = NULL;
        }

        r = bond_try_set_active(b, slave);
        if (r >= 0) {
                if (ret_switched)
                        *ret_switched = bond_elapsed(b);
                q = announce_send(b->nl, b->ifindex, b->name, b->announce_count,
                                  b->announce_interval_ms, b->details);
                if (q == -ENOMEM)
                        r = q;
        }

        if (saved && !streq(saved, "1"))
                (void) sysfs_write_net_attr(b->name, "bonding/all_slaves_active", saved);
        return r;
}

int bond_failover(struct bond *b) {
        _cleanup_(bond_status_freep) struct bond_status *s = NULL;
        const struct slave_status *virtio = NULL;
        const char *previous;
        int r;

        r = bond_read_status(b, &s);
        if (r < 0)
                return r;

        r = bond_status_pick_failover(s, &virtio);
        if (r == -EOPNOTSUPP)
                return bond_check_mode(b, s->mode);
        if (r == -ENODEV)
                return bond_fail(b, r, "%s has no virtio-net slave to fail over to.", b->name);
        if (r == -ENETDOWN) {
                virtio = bond_status_find_driver(s, VIRTIO_NET_DRIVER);
                return bond_fail(b, r,
                                 "Refusing to fail %s over: its virtio-net slave %s is not up "
                                 "(carrier %s, mii_status %s).",
                                 b->name, virtio->name, virtio->carrier ? "on" : "off",
                                 mii_status_to_string(virtio->mii_status));
        }
        if (r < 0)
                return r;

        if (r > 0)
                return bond_record_vf(b, s); /* already active */

        /* Switch first, record after: the VF stays plugged until srvmd unplugs it, and the
         * switch is what the traffic waits for. */
        previous = s->active_slave;
        r = bond_switch(b, virtio->name, NULL);
        if (r >= 0)
                return bond_record_vf(b, s);

        /* Leave the guest on what it had: a bond with no verified active slave is the one
         * outcome a failed step must not produce. */
        if (previous && bond_try_set_active(b, previous) >= 0)
                return bond_fail(b, r == -EAGAIN ? -EIO : r,
                                 "%s did not take %s as its active slave (%s); %s is active "
                                 "again.",
                                 b->name, virtio->name,
                                 r == -EAGAIN ? "another slave stayed active" : strerror(-r),
                                 previous);

        return bond_fail(b, r == -EAGAIN ? -EIO : r,
                         "%s did not take %s as its active slave (%s), and %s could not be "
                         "made active again.",
                         b->name, virtio->name,
                         r == -EAGAIN ? "another slave stayed active" : strerror(-r),
                         strna(previous));
}

/* The link's own MAC: once enslaved, a NIC carries the bond's address, so its permanent one
 * comes from bonding_slave/perm_hwaddr. */
static int link_read_mac(struct rtnl_link *link, struct hwaddr *ret) {
        _cleanup_free_ char *perm = NULL;
        const char *name = rtnl_link_get_name(link);

        if (rtnl_link_get_master(link) > 0 &&
            sysfs_read_net_attr(name, "bonding_slave/perm_hwaddr", &perm) >= 0 &&
            sysfs_parse_hwaddr(perm, ret) >= 0)
                return 0;

        return link_get_hwaddr(link, ret);
}

/* The NIC whose MAC is mac. The virtio-net standby may carry the same MAC as the VF (one
 * identity for the guest); it is never what enslave or failback is after, so when both
 * match, the virtio-net one is left out. -ENODEV when there is none (yet). */
static int bond_find_by_mac(struct bond *b, const struct hwaddr *mac, int *ret_ifindex,
                            char **ret_name) {
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        struct rtnl_link *found[BOND_CANDIDATES_MAX];
        size_t n = 0, kept = 0;
        char buf[HWADDR_STR_MAX];
        char *name;
        int r;

        r = link_list(b->nl, &cache);
        if (r < 0)
                return bond_fail(b, r, "Could not list the network interfaces: %s.",
                                 strerror(-r));

        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *link = (struct rtnl_link *) o;
                struct hwaddr a;

                if (rtnl_link_get_ifindex(link) == b->ifindex || link_is_bond(link))
                        continue;
                if (link_read_mac(link, &a) < 0 || !hwaddr_equal(&a, mac))
                        continue;
                if (n == ELEMENTSOF(found))
                        return bond_fail(b, -ENOTUNIQ, "Too many interfaces have MAC %s.",
                                         hwaddr_format(mac, buf));
                found[n++] = link;
        }

        if (n == 0)
                return -ENODEV;

        if (n > 1)
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *driver = NULL;

                        if (sysfs_read_net_driver(rtnl_link_get_name(found[i]), &driver) >= 0 &&
                            streq(driver, VIRTIO_NET_DRIVER))
                                continue;
                        found[kept++] = found[i];
                }
        else
                kept = 1;

        if (kept != 1)
                return bond_fail(b, -ENOTUNIQ,
                                 "%zu interfaces have MAC %s; cannot tell which one to use.",
                                 n, hwaddr_format(mac, buf));

        name = strdup(rtnl_link_get_name(found[0]));
        if (!name)
                return -ENOMEM;

        *ret_ifindex = rtnl_link_get_ifindex(found[0]);
        *ret_name = name;
        return 0;
}

/* Up to the deadline: the link has carrier and the bond's MII monitor reports it up. Only
 * then does bonding take it as the active slave. */
static int bond_wait_slave_up(struct bond *b, int ifindex, const char *name, usec_t deadline,
                              usec_t timeout) {
        bool carrier = false;
        enum mii_status mii = MII_STATUS_DOWN;
        int r;

        for (;;) {
                _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
                _cleanup_free_ char *text = NULL;

                r = link_get(b->nl, ifindex, NULL, &link);
                if (r == -ENODEV)
                        return bond_fail(b, r, "%s disappeared while waiting for its link.",
                                         name);
                if (r < 0)
                        return bond_fail(b, r, "Could not look up %s: %s.", name, strerror(-r));
                if (rtnl_link_get_master(link) != b->ifindex)
                        return bond_fail(b, -EIO, "%s left %s while waiting for its link.",
                                         name, b->name);

                carrier = rtnl_link_get_carrier(link) > 0;
                r = sysfs_read_net_attr(name, "bonding_slave/mii_status", &text);
                if (r >= 0 && sysfs_parse_mii_status(text, &mii) < 0)
                        mii = MII_STATUS_DOWN;

                if (carrier && mii == MII_STATUS_UP)
                        return 0;

                if (now_usec() >= deadline)
                        return bond_fail(b, -ETIMEDOUT,
                                         "%s did not come up in %s within %.1f s (carrier %s, "
                                         "mii_status %s).",
                                         name, b->name, usec_to_sec(timeout),
                                         carrier ? "on" : "off", mii_status_to_string(mii));
                bond_pause(deadline);
        }
}

/* The record failover left, if any: its absence (a guest that was never failed over by
 * srvm, or rebooted since) is said in "replay" and is no error. */
static int bond_load_record(struct bond *b, const char *name) {
        json_object *o;
        int r;

        if (b->replay)
                return 0;

        r = replay_record_load(b->record_path, &b->record);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_free_ char *done = NULL;
                bool missing = r == -ENOENT;

                o = json_object_new_object();
                r = details_add(b, "replay", o);
                if (r < 0)
                        return r;
                b->replay = o;
                if (json_object_object_add(o, "record", json_object_new_string(b->record_path)) < 0)
                        return -ENOMEM;
                /* A failback already replayed it: this is the same move, finished again. */
                if (missing && replay_done_path(b->record_path, &done) >= 0 && access(done, F_OK) == 0)
                        return json_object_object_add(o, "replayed_before", json_object_new_string(done)) < 0 ?
                                -ENOMEM : 0;
                if (json_object_object_add(o, "error", json_object_new_string(
                            missing ? "no record (the VF was not failed over by srvm-guest)"
                                    : "the record could not be read")) < 0)
                        return -ENOMEM;
                return 0;
        }

        r = replay_report_new(b->record_path, b->record, name, &o);
        if (r < 0)
                return r;
        r = details_add(b, "replay", o);
        if (r < 0)
                return r;
        b->replay = o;
        return 0;
}

static int bond_replay(struct bond *b, const char *name, bool mtu) {
        int r;

        if (!b->record)
                return 0;
        r = replay_link_settings(b->record, name, mtu, b->replay);
        if (r < 0)
                return bond_fail(b, r, "Could not replay the VF's configuration on %s: %s.",
                                 name, strerror(-r));
        return 0;
}

/* The NIC found by MAC goes into the report; its master's ifindex (0: none) in *ret_master. */
static int bond_report_found(struct bond *b, int ifindex, const char *name, struct bond_report *report,
                             int *ret_master) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        report->found_usec = bond_elapsed(b);
        report->slave = strdup(name);
        if (!report->slave)
                return -ENOMEM;

        r = link_get(b->nl, ifindex, NULL, &link);
        if (r < 0)
                return bond_fail(b, r, "Could not look up %s: %s.", name, strerror(-r));
        *ret_master = rtnl_link_get_master(link);
        return 0;
}

static int bond_enslave_until(struct bond *b, const struct hwaddr *mac, usec_t deadline,
                              usec_t timeout, struct bond_report *report) {
        _cleanup_free_ char *name = NULL;
        char buf[HWADDR_STR_MAX];
        int ifindex = 0, master, r;

        /* A VF plugged a moment ago shows up as a netdev some 0.5 s later. */
        for (;;) {
                r = bond_find_by_mac(b, mac, &ifindex, &name);
                if (r >= 0)
                        break;
                if (r != -ENODEV)
                        return r;
                if (now_usec() >= deadline)
                        return bond_fail(b, -ETIMEDOUT,
                                         "No interface with MAC %s appeared within %.1f s.",
                                         hwaddr_format(mac, buf), usec_to_sec(timeout));
                bond_pause(deadline);
        }
        r = bond_report_found(b, ifindex, name, report, &master);
        if (r < 0)
                return r;

        if (master > 0 && master != b->ifindex)
                return bond_fail(b, -EBUSY, "%s (MAC %s) is enslaved to another master.", name,
                                 hwaddr_format(mac, buf));

        r = bond_load_record(b, name);
        if (r < 0)
                return r;

        if (master == 0) {
                /* The kernel enslaves only a link that is down; ring sizes and offloads set
                 * while it is down cost no link reset. The MTU goes after, since enslaving
                 * gives the slave the bond's. */
                r = link_set_up(b->nl, ifindex, false);
                if (r < 0)
                        return bond_fail(b, r, "Could not bring %s down: %s.", name,
                                         strerror(-r));
                r = bond_replay(b, name, false);
                if (r < 0)
                        return r;
                r = link_enslave(b->nl, b->ifindex, ifindex);
                if (r < 0)
                        return bond_fail(b, r, "Could not enslave %s to %s: %s.", name, b->name,
                                         strerror(-r));
                report->enslaved = true;
                r = link_set_up(b->nl, ifindex, true);
                if (r < 0)
                        return bond_fail(b, r, "Could not bring %s up: %s.", name, strerror(-r));
        }
        r = bond_replay(b, name, true);
        if (r < 0)
                return r;

        r = bond_wait_slave_up(b, ifindex, name, deadline, timeout);
        if (r < 0)
                return r;
        report->link_usec = bond_elapsed(b);
        return 0;
}

int bond_enslave(struct bond *b, const struct hwaddr *mac, usec_t timeout,
                 struct bond_report *report) {
        return bond_enslave_until(b, mac, now_usec() + timeout, timeout, report);
}

int bond_failback(struct bond *b, const struct hwaddr *mac, usec_t timeout,
                  struct bond_report *report) {
        usec_t deadline = now_usec() + timeout;
        _cleanup_free_ char *done = NULL;
        enum bond_mode mode;
        int r;

        r = bond_read_mode(b, &mode);
        if (r < 0)
                return r;
        r = bond_check_mode(b, mode);
        if (r < 0)
                return r;

        r = bond_enslave_until(b, mac, deadline, timeout, report);
        if (r < 0)
                return r;

        /* bonding answers "Could not set as active slave" until its MII monitor has seen the
         * link up, even after carrier; so try again each poll until it sticks. */
        for (;;) {
                _cleanup_free_ char *active = NULL;

                r = bond_read_active(b, &active);
                if (r < 0)
                        return r;
                if (streq_ptr(active, report->slave))
                        break;

                report->attempts++;
                r = bond_switch(b, report->slave, &report->active_usec);
                if (r >= 0)
                        break;
                if (r != -EAGAIN && r != -EINVAL && r != -EBUSY)
                        return bond_fail(b, r, "Could not make %s the active slave of %s: %s.",
                                         report->slave, b->name, strerror(-r));

                if (now_usec() >= deadline)
                        return bond_fail(b, -ETIMEDOUT,
                                         "%s did not take %s as its active slave within %.1f s "
                                         "(%u attempts).",
                                         b->name, report->slave, usec_to_sec(timeout),
                                         report->attempts);
                bond_pause(deadline);
        }

        if (report->active_usec == USEC_INFINITY)
                report->active_usec = bond_elapsed(b); /* it was active already */

        if (b->record) {
                r = replay_after_active(b->record, report->slave, b->name, b->replay);
                if (r < 0)
                        return bond_fail(b, r, "Could not replay the VF's configuration on %s: %s.",
                                         report->slave, strerror(-r));
                /* Done with: a later failback that no failover preceded must not undo what
                 * the user set since. Kept aside, so that it can say it was replayed. */
                if (replay_done_path(b->record_path, &done) < 0 || rename(b->record_path, done) < 0)
                        (void) unlink(b->record_path);
        }
        return 0;
}

int bond_verify(struct bond *b, const struct hwaddr *mac, usec_t timeout,
                struct bond_report *report) {
        usec_t deadline = now_usec() + timeout;
        _cleanup_free_ char *name = NULL, *active = NULL;
        char buf[HWADDR_STR_MAX];
        enum bond_mode mode;
        int ifindex = 0, master, r, q;

        r = bond_read_mode(b, &mode);
        if (r < 0)
                return r;
        r = bond_check_mode(b, mode);
        if (r < 0)
                return r;

        r = bond_find_by_mac(b, mac, &ifindex, &name);
        if (r == -ENODEV)
                return bond_fail(b, r, "No interface has MAC %s: the NIC did not arrive with the guest.",
                                 hwaddr_format(mac, buf));
        if (r < 0)
                return r;
        r = bond_report_found(b, ifindex, name, report, &master);
        if (r < 0)
                return r;
        if (master != b->ifindex)
                return bond_fail(b, -EREMCHG, "%s (MAC %s) is not a slave of %s.", name,
                                 hwaddr_format(mac, buf), b->name);

        /* The active slave first: a bond that moved off the NIC is what this check is for,
         * and waiting for a carrier would only delay saying so. */
        r = bond_read_active(b, &active);
        if (r < 0)
                return r;
        if (!streq_ptr(active, name))
                return bond_fail(b, -EREMCHG, "%s is not the active slave of %s (%s is).", name, b->name,
                                 active ? active : "none");

        r = bond_wait_slave_up(b, ifindex, name, deadline, timeout);
        if (r < 0)
                return r;
        report->link_usec = bond_elapsed(b);

        /* Still the active one once its link is seen up: the MII monitor may have moved the
         * bond away while the link was down. */
        free(active);
        active = NULL;
        r = bond_read_active(b, &active);
        if (r < 0)
                return r;
        if (!streq_ptr(active, name))
                return bond_fail(b, -EREMCHG, "%s is not the active slave of %s any more (%s is).", name,
                                 b->name, active ? active : "none");
        report->active_usec = bond_elapsed(b);

        /* The network learns the guest's new port from these, as after a switch: QEMU announces
         * only for the NICs it emulates, never for a passed-through VF. */
        q = announce_send(b->nl, b->ifindex, b->name, b->announce_count, b->announce_interval_ms,
                          b->details);
        if (q == -ENOMEM)
                return q;
        return 0;
}

/* The hold: while a migration moves the VF with the guest, the hypervisor announces every NIC it
 * emulates on the destination, the virtio-net standby included, and a learning switch then
 * sends the bond's MAC to the standby until the guest sends from its VF again; an inactive slave
 * drops what it receives. all_slaves_active makes it deliver instead, so the guest answers, out
 * of the VF, and the switch learns its port back at once. The value it had is kept in
 * /run/srvm/BOND.hold (in the guest's memory: it moves with the guest) until the release. */
static int hold_path(const struct bond *b, char **ret) {
        return asprintf(ret, SRVM_GUEST_STATE_DIR "/%s.hold", b->name) < 0 ? -ENOMEM : 0;
}

static int hold_note(struct bond *b, const char *what, const char *value) {
        json_object *o = json_object_new_object();

        if (!o || json_object_object_add(o, "state", json_object_new_string(what)) < 0 ||
            json_object_object_add(o, "all_slaves_active", value ? json_object_new_string(value) : NULL) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return details_add(b, "hold", o);
}

int bond_hold(struct bond *b) {
        _cleanup_free_ char *path = NULL, *saved = NULL;
        FILE *f;
        int r;

        r = hold_path(b, &path);
        if (r < 0)
                return r;
        if (access(path, F_OK) == 0)
                return hold_note(b, "held already", "1");
        r = bond_read_all_slaves_active(b, &saved);
        if (r < 0)
                return bond_fail(b, r, "Could not read bonding/all_slaves_active of %s: %s.", b->name, strerror(-r));
        if (mkdir(SRVM_GUEST_STATE_DIR, 0755) < 0 && errno != EEXIST)
                return bond_fail(b, -errno, "Could not make %s: %m.", SRVM_GUEST_STATE_DIR);
        f = fopen(path, "we");
        if (!f)
                return bond_fail(b, -errno, "Could not write %s: %m.", path);
        r = fprintf(f, "%s\n", saved) < 0 ? -EIO : 0;
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r >= 0)
                r = sysfs_write_net_attr(b->name, "bonding/all_slaves_active", "1");
        if (r < 0) {
                (void) unlink(path);
                return bond_fail(b, r, "Could not hold %s's slaves active: %s.", b->name, strerror(-r));
        }
        return hold_note(b, "held", saved);
}

int bond_release(struct bond *b) {
        _cleanup_free_ char *path = NULL, *saved = NULL;
        char text[16] = "";
        FILE *f;
        int r;

        r = hold_path(b, &path);
        if (r < 0)
                return r;
        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT)
                        return hold_note(b, "not held", NULL);
                return bond_fail(b, -errno, "Could not read %s: %m.", path);
        }
        if (!fgets(text, sizeof text, f))
                text[0] = '\0';
        fclose(f);
        text[strcspn(text, "\n")] = '\0';
        if (!streq(text, "0") && !streq(text, "1"))
                strcpy(text, "0"); /* the bonding driver's default */
        r = sysfs_write_net_attr(b->name, "bonding/all_slaves_active", text);
        if (r < 0)
                return bond_fail(b, r, "Could not put back bonding/all_slaves_active of %s: %s.", b->name, strerror(-r));
        (void) unlink(path);
        return hold_note(b, "released", text);
}
