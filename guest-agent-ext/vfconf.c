/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VF's configuration record as data and JSON:
 *
 *   {"version": 1, "interface": "eth1", "driver": "e1000e", "mtu": 1400,
 *    "features": {"rx-checksum": false, ...}, "ring": {"rx": 256, ...},
 *    "coalesce": {"rx-usecs": 3, ...}, "multicast": ["01:00:5e:00:00:01"],
 *    "stacked": ["bond0.100"]}
 *
 * "ring" and "coalesce" are absent when the driver did not answer for them. */

#include <ctype.h>
#include <stdio.h>

#include "json-util.h"
#include "status.h"
#include "vfconf.h"

static const char *const vf_ring_table[_VF_RING_MAX] = {
        [VF_RING_RX] = "rx",
        [VF_RING_RX_MINI] = "rx-mini",
        [VF_RING_RX_JUMBO] = "rx-jumbo",
        [VF_RING_TX] = "tx",
};

DEFINE_STRING_TABLE_LOOKUP(vf_ring, enum vf_ring);

static const char *const vf_coalesce_table[_VF_COALESCE_MAX] = {
        [VF_COALESCE_RX_USECS] = "rx-usecs",
        [VF_COALESCE_RX_FRAMES] = "rx-frames",
        [VF_COALESCE_RX_USECS_IRQ] = "rx-usecs-irq",
        [VF_COALESCE_RX_FRAMES_IRQ] = "rx-frames-irq",
        [VF_COALESCE_TX_USECS] = "tx-usecs",
        [VF_COALESCE_TX_FRAMES] = "tx-frames",
        [VF_COALESCE_TX_USECS_IRQ] = "tx-usecs-irq",
        [VF_COALESCE_TX_FRAMES_IRQ] = "tx-frames-irq",
        [VF_COALESCE_STATS_BLOCK_USECS] = "stats-block-usecs",
        [VF_COALESCE_ADAPTIVE_RX] = "adaptive-rx",
        [VF_COALESCE_ADAPTIVE_TX] = "adaptive-tx",
        [VF_COALESCE_PKT_RATE_LOW] = "pkt-rate-low",
        [VF_COALESCE_RX_USECS_LOW] = "rx-usecs-low",
        [VF_COALESCE_RX_FRAMES_LOW] = "rx-frames-low",
        [VF_COALESCE_TX_USECS_LOW] = "tx-usecs-low",
        [VF_COALESCE_TX_FRAMES_LOW] = "tx-frames-low",
        [VF_COALESCE_PKT_RATE_HIGH] = "pkt-rate-high",
        [VF_COALESCE_RX_USECS_HIGH] = "rx-usecs-high",
        [VF_COALESCE_RX_FRAMES_HIGH] = "rx-frames-high",
        [VF_COALESCE_TX_USECS_HIGH] = "tx-usecs-high",
        [VF_COALESCE_TX_FRAMES_HIGH] = "tx-frames-high",
        [VF_COALESCE_SAMPLE_INTERVAL] = "sample-interval",
};

DEFINE_STRING_TABLE_LOOKUP(vf_coalesce, enum vf_coalesce);

int vf_config_new(struct vf_config **ret) {
        struct vf_config *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

struct vf_config *vf_config_free(struct vf_config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_features; i++)
                free(c->features[i].name);
        free(c->features);
        free(c->multicast);
        strv_free(c->stacked);
        free(c->driver);
        free(c->interface);
        free(c);
        return NULL;
}

int vf_config_add_feature(struct vf_config *c, const char *name, bool on) {
        struct vf_feature *f;
        char *n;

        n = strdup(name);
        if (!n)
                return -ENOMEM;
        f = reallocarray(c->features, c->n_features + 1, sizeof(*f));
        if (!f) {
                free(n);
                return -ENOMEM;
        }
        c->features = f;
        c->features[c->n_features++] = (struct vf_feature) { .name = n, .on = on };
        return 0;
}

const struct vf_feature *vf_config_find_feature(const struct vf_config *c, const char *name) {
        for (size_t i = 0; i < c->n_features; i++)
                if (streq(c->features[i].name, name))
                        return &c->features[i];
        return NULL;
}

int vf_config_add_multicast(struct vf_config *c, const struct hwaddr *a) {
        struct hwaddr *m;

        for (size_t i = 0; i < c->n_multicast; i++)
                if (hwaddr_equal(&c->multicast[i], a))
                        return 0;
        m = reallocarray(c->multicast, c->n_multicast + 1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        c->multicast = m;
        c->multicast[c->n_multicast++] = *a;
        return 0;
}

static int u32_table_to_json(const uint32_t *values, size_t n,
                             const char *(*name)(int), json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = json_add(o, name((int) i), json_object_new_int64(values[i]));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static const char *ring_name(int i) {
        return vf_ring_to_string((enum vf_ring) i);
}

static const char *coalesce_name(int i) {
        return vf_coalesce_to_string((enum vf_coalesce) i);
}

int vf_config_to_json(const struct vf_config *c, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = NULL, *features = NULL, *mc = NULL,
                                                *stacked = NULL, *t = NULL;
        char buf[HWADDR_STR_MAX];
        int r;

        o = json_object_new_object();
        features = json_object_new_object();
        mc = json_object_new_array();
        stacked = json_object_new_array();
        if (!o || !features || !mc || !stacked)
                return -ENOMEM;

        r = json_add(o, "version", json_object_new_int(VF_CONFIG_VERSION));
        if (r < 0)
                return r;
        r = json_add(o, "interface", json_object_new_string(c->interface ? c->interface : ""));
        if (r < 0)
                return r;
        if (c->driver) {
                r = json_add(o, "driver", json_object_new_string(c->driver));
                if (r < 0)
                        return r;
        }
        r = json_add(o, "mtu", json_object_new_int64(c->mtu));
        if (r < 0)
                return r;

        for (size_t i = 0; i < c->n_features; i++) {
                r = json_add(features, c->features[i].name,
                             json_object_new_boolean(c->features[i].on));
                if (r < 0)
                        return r;
        }
        r = json_add(o, "features", TAKE_PTR(features));
        if (r < 0)
                return r;

        if (c->have_ring) {
                r = u32_table_to_json(c->ring, _VF_RING_MAX, ring_name, &t);
                if (r < 0)
                        return r;
                r = json_add(o, "ring", TAKE_PTR(t));
                if (r < 0)
                        return r;
        }
        if (c->have_coalesce) {
                r = u32_table_to_json(c->coalesce, _VF_COALESCE_MAX, coalesce_name, &t);
                if (r < 0)
                        return r;
                r = json_add(o, "coalesce", TAKE_PTR(t));
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < c->n_multicast; i++) {
                r = json_append(mc, json_object_new_string(hwaddr_format(&c->multicast[i], buf)));
                if (r < 0)
                        return r;
        }
        r = json_add(o, "multicast", TAKE_PTR(mc));
        if (r < 0)
                return r;

        for (char **s = c->stacked; s && *s; s++) {
                r = json_append(stacked, json_object_new_string(*s));
                if (r < 0)
                        return r;
        }
        r = json_add(o, "stacked", TAKE_PTR(stacked));
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

static int json_get_u32(json_object *v, uint32_t *ret) {
        int64_t n;

        if (!json_object_is_type(v, json_type_int))
                return -EBADMSG;
        n = json_object_get_int64(v);
        if (n < 0 || n > UINT32_MAX)
                return -EBADMSG;
        *ret = (uint32_t) n;
        return 0;
}

/* Every key must be a known one; a missing one keeps 0. */
static int u32_table_from_json(json_object *o, uint32_t *values, int (*lookup)(const char *)) {
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        json_object_object_foreach(o, key, v) {
                int i = lookup(key);

                if (i < 0 || json_get_u32(v, &values[i]) < 0)
                        return -EBADMSG;
        }
        return 0;
}

static int ring_lookup(const char *s) {
        return vf_ring_from_string(s);
}

static int coalesce_lookup(const char *s) {
        return vf_coalesce_from_string(s);
}

static int strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **m, *d;

        d = strdup(s);
        if (!d)
                return -ENOMEM;
        m = reallocarray(*l, n + 2, sizeof(char *));
        if (!m) {
                free(d);
                return -ENOMEM;
        }
        m[n] = d;
        m[n + 1] = NULL;
        *l = m;
        return 0;
}

int vf_config_from_json(json_object *o, struct vf_config **ret) {
        _cleanup_(vf_config_freep) struct vf_config *c = NULL;
        json_object *v;
        uint32_t u;
        int r;

        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(o, "version", &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int(v) != VF_CONFIG_VERSION)
                return -EBADMSG;

        r = vf_config_new(&c);
        if (r < 0)
                return r;

        if (!json_object_object_get_ex(o, "interface", &v) ||
            !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        c->interface = strdup(json_object_get_string(v));
        if (!c->interface)
                return -ENOMEM;

        if (json_object_object_get_ex(o, "driver", &v)) {
                if (!json_object_is_type(v, json_type_string))
                        return -EBADMSG;
                c->driver = strdup(json_object_get_string(v));
                if (!c->driver)
                        return -ENOMEM;
        }

        if (!json_object_object_get_ex(o, "mtu", &v) || json_get_u32(v, &u) < 0 || u == 0)
                return -EBADMSG;
        c->mtu = u;

        if (json_object_object_get_ex(o, "features", &v)) {
                if (!json_object_is_type(v, json_type_object))
                        return -EBADMSG;
                json_object_object_foreach(v, key, f) {
                        if (!json_object_is_type(f, json_type_boolean) || *key == '\0')
                                return -EBADMSG;
                        r = vf_config_add_feature(c, key, json_object_get_boolean(f));
                        if (r < 0)
                                return r;
                }
        }

        if (json_object_object_get_ex(o, "ring", &v)) {
                r = u32_table_from_json(v, c->ring, ring_lookup);
                if (r < 0)
                        return r;
                c->have_ring = true;
        }
        if (json_object_object_get_ex(o, "coalesce", &v)) {
                r = u32_table_from_json(v, c->coalesce, coalesce_lookup);
                if (r < 0)
                        return r;
                c->have_coalesce = true;
        }

        if (json_object_object_get_ex(o, "multicast", &v)) {
                size_t n;

                if (!json_object_is_type(v, json_type_array))
                        return -EBADMSG;
                n = json_object_array_length(v);
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        struct hwaddr a;

                        /* hwaddr_parse() takes unicast addresses only. */
                        if (!json_object_is_type(e, json_type_string) ||
                            hwaddr_parse_any(json_object_get_string(e), &a) < 0)
                                return -EBADMSG;
                        r = vf_config_add_multicast(c, &a);
                        if (r < 0)
                                return r;
                }
        }

        if (json_object_object_get_ex(o, "stacked", &v)) {
                size_t n;

                if (!json_object_is_type(v, json_type_array))
                        return -EBADMSG;
                n = json_object_array_length(v);
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(v, i);

                        if (!json_object_is_type(e, json_type_string) ||
                            !ifname_valid(json_object_get_string(e)))
                                return -EBADMSG;
                        r = strv_push(&c->stacked, json_object_get_string(e));
                        if (r < 0)
                                return r;
                }
        }

        *ret = TAKE_PTR(c);
        return 0;
}

static int hexval(char ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

int proc_parse_dev_mcast(const char *text, const char *ifname, struct hwaddr **ret,
                         size_t *ret_n) {
        _cleanup_free_ struct hwaddr *list = NULL;
        size_t n = 0;

        if (!text || !ifname)
                return -EINVAL;

        for (const char *line = text; *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                char name[IFNAME_MAX], hex[HWADDR_LEN * 2 + 2];
                _cleanup_free_ char *copy = strndup(line, len);
                unsigned idx, users, global;
                struct hwaddr a;
                bool seen = false;

                line += len + (end ? 1 : 0);
                if (!copy)
                        return -ENOMEM;
                if (sscanf(copy, "%u %15s %u %u %13s", &idx, name, &users, &global, hex) != 5)
                        return -EBADMSG;
                if (strlen(hex) != HWADDR_LEN * 2)
                        return -EBADMSG;
                for (size_t i = 0; i < HWADDR_LEN; i++) {
                        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

                        if (hi < 0 || lo < 0)
                                return -EBADMSG;
                        a.bytes[i] = (uint8_t) (hi << 4 | lo);
                }
                if (!streq(name, ifname))
                        continue;

                for (size_t i = 0; i < n; i++)
                        seen = seen || hwaddr_equal(&list[i], &a);
                if (seen)
                        continue;

                struct hwaddr *m = reallocarray(list, n + 1, sizeof(*m));
                if (!m)
                        return -ENOMEM;
                list = m;
                list[n++] = a;
        }

        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}
