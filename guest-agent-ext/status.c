/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A bond's state as plain data, and its rendering into the JSON object srvm-guest prints:
 * {"bond", "mode", "active_slave", "slaves": [{"name", "mac", "carrier", "mii_status",
 * "driver", "active"}]}. */

#include "json-util.h"
#include "status.h"

struct bond_status *bond_status_free(struct bond_status *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_slaves; i++) {
                free(s->slaves[i].name);
                free(s->slaves[i].driver);
        }
        free(s->slaves);
        free(s->active_slave);
        free(s->name);
        free(s);
        return NULL;
}

const struct slave_status *bond_status_find_slave(const struct bond_status *s,
                                                  const char *name) {
        for (size_t i = 0; i < s->n_slaves; i++)
                if (streq_ptr(s->slaves[i].name, name))
                        return &s->slaves[i];
        return NULL;
}

const struct slave_status *bond_status_find_driver(const struct bond_status *s,
                                                   const char *driver) {
        for (size_t i = 0; i < s->n_slaves; i++)
                if (streq_ptr(s->slaves[i].driver, driver))
                        return &s->slaves[i];
        return NULL;
}

/* Which slave a failover makes active: the virtio-net one, and only when its link is up
 * (carrier, and the MII monitor agrees), since switching to a dead standby would cut the
 * guest off. 1 when it already is the active slave, 0 when it must be switched to,
 * -EOPNOTSUPP when the mode has no active slave, -ENODEV when there is no virtio-net slave,
 * -ENETDOWN when it is not up. */
int bond_status_pick_failover(const struct bond_status *s, const struct slave_status **ret) {
        const struct slave_status *virtio;

        if (s->mode != BOND_MODE_ACTIVE_BACKUP)
                return -EOPNOTSUPP;

        virtio = bond_status_find_driver(s, VIRTIO_NET_DRIVER);
        if (!virtio)
                return -ENODEV;

        if (!virtio->carrier || virtio->mii_status != MII_STATUS_UP)
                return -ENETDOWN;

        *ret = virtio;
        return virtio->active ? 1 : 0;
}

/* json_object_new_null() is NULL itself, which json_add() would take for a failed
 * allocation: add nulls directly. */
static int json_add_string(json_object *obj, const char *key, const char *s) {
        if (!s)
                return json_object_object_add(obj, key, NULL) < 0 ? -ENOMEM : 0;
        return json_add(obj, key, json_object_new_string(s));
}

static int slave_status_to_json(const struct slave_status *sl, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        char mac[HWADDR_STR_MAX];
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        r = json_add_string(o, "name", sl->name);
        if (r < 0)
                return r;
        r = json_add_string(o, "mac", sl->have_mac ? hwaddr_format(&sl->mac, mac) : NULL);
        if (r < 0)
                return r;
        r = json_add(o, "carrier", json_object_new_boolean(sl->carrier));
        if (r < 0)
                return r;
        r = json_add_string(o, "mii_status", mii_status_to_string(sl->mii_status));
        if (r < 0)
                return r;
        r = json_add_string(o, "driver", sl->driver);
        if (r < 0)
                return r;
        r = json_add(o, "active", json_object_new_boolean(sl->active));
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

/* Adds the status's keys to obj, which already holds "ok" and "error". */
int bond_status_to_json(const struct bond_status *s, json_object *obj) {
        _cleanup_(json_object_putp) json_object *slaves = NULL;
        int r;

        r = json_add_string(obj, "bond", s->name);
        if (r < 0)
                return r;
        r = json_add_string(obj, "mode", bond_mode_to_string(s->mode));
        if (r < 0)
                return r;
        r = json_add_string(obj, "active_slave", s->active_slave);
        if (r < 0)
                return r;

        slaves = json_object_new_array();
        if (!slaves)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_slaves; i++) {
                json_object *o = NULL;

                r = slave_status_to_json(&s->slaves[i], &o);
                if (r < 0)
                        return r;
                if (json_object_array_add(slaves, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }

        return json_add(obj, "slaves", TAKE_PTR(slaves));
}
