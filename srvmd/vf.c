/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SR-IOV inventory as plain data, its JSON and its table. See vf.h. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "json-util.h"
#include "vf.h"

struct VfInventory {
        VfPf *pfs; /* owned, n_pfs of them, sorted by ifname */
        size_t n_pfs;
};

static const char *const vf_link_state_table[_VF_LINK_STATE_MAX] = {
        [VF_LINK_STATE_AUTO] = "auto",
        [VF_LINK_STATE_ENABLE] = "enable",
        [VF_LINK_STATE_DISABLE] = "disable",
};
DEFINE_STRING_TABLE_LOOKUP(vf_link_state, VfLinkState);

static const char *const vf_state_table[_VF_STATE_MAX] = {
        [VF_STATE_FREE] = "free",
        [VF_STATE_ATTACHED] = "attached",
        [VF_STATE_DISABLED] = "disabled",
};
DEFINE_STRING_TABLE_LOOKUP(vf_state, VfState);

int vf_inventory_new(VfInventory **ret) {
        VfInventory *inv;

        if (!ret)
                return -EINVAL;
        inv = calloc(1, sizeof(*inv));
        if (!inv)
                return -ENOMEM;
        *ret = inv;
        return 0;
}

void vf_done(Vf *vf) {
        if (!vf)
                return;
        free(vf->mac);
        free(vf->pci_address);
        free(vf->domain);
        *vf = (Vf) {};
}

void vf_pf_done(VfPf *pf) {
        if (!pf)
                return;
        for (size_t i = 0; i < pf->n_vfs; i++)
                vf_done(&pf->vfs[i]);
        free(pf->vfs);
        free(pf->ifname);
        free(pf->mac);
        free(pf->pci_address);
        *pf = (VfPf) {};
}

VfInventory *vf_inventory_free(VfInventory *inv) {
        if (!inv)
                return NULL;
        for (size_t i = 0; i < inv->n_pfs; i++)
                vf_pf_done(&inv->pfs[i]);
        free(inv->pfs);
        free(inv);
        return NULL;
}

int vf_inventory_take_pf(VfInventory *inv, VfPf *pf) {
        VfPf *pfs;
        size_t at;

        if (!inv || !pf || !pf->ifname)
                return -EINVAL;
        pfs = reallocarray(inv->pfs, inv->n_pfs + 1, sizeof(*pfs));
        if (!pfs)
                return -ENOMEM;
        inv->pfs = pfs;

        for (at = inv->n_pfs; at > 0 && strcmp(pfs[at - 1].ifname, pf->ifname) > 0; at--)
                ;
        memmove(pfs + at + 1, pfs + at, (inv->n_pfs - at) * sizeof(*pfs));
        pfs[at] = *pf;
        inv->n_pfs++;
        *pf = (VfPf) {};
        return 0;
}

size_t vf_inventory_get_n_pfs(const VfInventory *inv) {
        return inv ? inv->n_pfs : 0;
}

const VfPf *vf_inventory_get_pf(const VfInventory *inv, size_t i) {
        return inv && i < inv->n_pfs ? &inv->pfs[i] : NULL;
}

static bool mac_is_zero(const char *mac) {
        for (const char *p = mac; *p; p++)
                if (*p != '0' && *p != ':')
                        return false;
        return true;
}

static const VfUser *find_user(const Vf *vf, const VfUser *users, size_t n_users) {
        if (vf->pci_address)
                for (size_t i = 0; i < n_users; i++)
                        if (users[i].domain && users[i].pci_address &&
                            strcasecmp(users[i].pci_address, vf->pci_address) == 0)
                                return &users[i];
        if (vf->mac && !mac_is_zero(vf->mac))
                for (size_t i = 0; i < n_users; i++)
                        if (users[i].domain && users[i].mac &&
                            strcasecmp(users[i].mac, vf->mac) == 0)
                                return &users[i];
        return NULL;
}

int vf_inventory_assign(VfInventory *inv, const VfUser *users, size_t n_users) {
        int n = 0;

        if (!inv || (!users && n_users > 0))
                return -EINVAL;

        for (size_t p = 0; p < inv->n_pfs; p++)
                for (size_t v = 0; v < inv->pfs[p].n_vfs; v++) {
                        Vf *vf = &inv->pfs[p].vfs[v];
                        const VfUser *u = find_user(vf, users, n_users);
                        char *d = NULL;

                        if (u) {
                                d = strdup(u->domain);
                                if (!d)
                                        return -ENOMEM;
                                n++;
                        }
                        free(vf->domain);
                        vf->domain = d;
                }
        return n;
}

static int json_add_string(json_object *o, const char *key, const char *s) {
        json_object *v = NULL;

        if (s) {
                v = json_object_new_string(s);
                if (!v)
                        return -ENOMEM;
        }
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static int json_add_flag(json_object *o, const char *key, VfFlag f) {
        json_object *v = NULL;

        if (f >= 0) {
                v = json_object_new_boolean(f == VF_FLAG_ON);
                if (!v)
                        return -ENOMEM;
        }
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static int vf_to_json(const Vf *vf, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        if ((r = json_add(o, "index", json_object_new_int64(vf->index))) < 0 ||
            (r = json_add_string(o, "pci_address", vf->pci_address)) < 0 ||
            (r = json_add_string(o, "mac", vf->mac)) < 0 ||
            (r = json_add(o, "vlan", json_object_new_int64(vf->vlan))) < 0 ||
            (r = json_add(o, "qos", json_object_new_int64(vf->qos))) < 0 ||
            (r = json_add_flag(o, "spoof_check", vf->spoof_check)) < 0 ||
            (r = json_add_flag(o, "trust", vf->trust)) < 0 ||
            (r = json_add_string(o, "link_state", vf_link_state_to_string(vf->link_state))) < 0 ||
            (r = json_add_string(o, "domain", vf->domain)) < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int pf_to_json(const VfPf *pf, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *vfs;
        int r;

        if (!o)
                return -ENOMEM;
        if ((r = json_add_string(o, "ifname", pf->ifname)) < 0 ||
            (r = json_add(o, "ifindex", json_object_new_int(pf->ifindex))) < 0 ||
            (r = json_add_string(o, "mac", pf->mac)) < 0 ||
            (r = json_add_string(o, "pci_address", pf->pci_address)) < 0 ||
            (r = json_add(o, "num_vfs", json_object_new_int64(pf->num_vfs))) < 0 ||
            (r = json_add(o, "vfs", json_object_new_array())) < 0)
                return r;

        vfs = json_object_object_get(o, "vfs");
        for (size_t i = 0; i < pf->n_vfs; i++) {
                json_object *v;

                r = vf_to_json(&pf->vfs[i], &v);
                if (r < 0)
                        return r;
                if (json_object_array_add(vfs, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int vf_inventory_to_json(const VfInventory *inv, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *pfs;
        int r;

        if (!inv || !ret)
                return -EINVAL;
        if (!o)
                return -ENOMEM;
        r = json_add(o, "pfs", json_object_new_array());
        if (r < 0)
                return r;

        pfs = json_object_object_get(o, "pfs");
        for (size_t i = 0; i < inv->n_pfs; i++) {
                json_object *p;

                r = pf_to_json(&inv->pfs[i], &p);
                if (r < 0)
                        return r;
                if (json_object_array_add(pfs, p) < 0) {
                        json_object_put(p);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(o);
        return 0;
}

/* The table's cells as text; "-" for what is not known. */
enum { COL_PF, COL_VF, COL_PCI, COL_MAC, COL_VLAN, COL_SPOOFCHK, COL_TRUST, COL_LINK,
       COL_DOMAIN, _COL_MAX };

static const char *const column_title[_COL_MAX] = {
        "PF", "VF", "PCI", "MAC", "VLAN", "SPOOFCHK", "TRUST", "LINK", "DOMAIN",
};

typedef struct Row {
        char *cell[_COL_MAX]; /* owned */
} Row;

static void rows_free(Row *rows, size_t n) {
        for (size_t i = 0; i < n; i++)
                for (size_t c = 0; c < _COL_MAX; c++)
                        free(rows[i].cell[c]);
        free(rows);
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v = json_object_object_get(o, key);

        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static char *cell_string(json_object *o, const char *key) {
        const char *s = get_string(o, key);

        return strdup(s ? s : "-");
}

static char *cell_flag(json_object *o, const char *key) {
        json_object *v = json_object_object_get(o, key);

        if (!json_object_is_type(v, json_type_boolean))
                return strdup("-");
        return strdup(json_object_get_boolean(v) ? "on" : "off");
}

static char *cell_vlan(json_object *o) {
        int64_t vlan = json_object_get_int64(json_object_object_get(o, "vlan"));
        int64_t qos = json_object_get_int64(json_object_object_get(o, "qos"));
        char *s;

        if (vlan == 0)
                return strdup("-");
        if (qos == 0)
                return asprintf(&s, "%" PRId64, vlan) < 0 ? NULL : s;
        return asprintf(&s, "%" PRId64 "/%" PRId64, vlan, qos) < 0 ? NULL : s;
}

static int row_fill(Row *row, json_object *pf, json_object *vf) {
        row->cell[COL_PF] = strdup(get_string(pf, "ifname"));
        if (vf) {
                if (asprintf(&row->cell[COL_VF], "%" PRId64,
                             json_object_get_int64(json_object_object_get(vf, "index"))) < 0)
                        row->cell[COL_VF] = NULL;
                row->cell[COL_PCI] = cell_string(vf, "pci_address");
                row->cell[COL_MAC] = cell_string(vf, "mac");
                row->cell[COL_VLAN] = cell_vlan(vf);
                row->cell[COL_SPOOFCHK] = cell_flag(vf, "spoof_check");
                row->cell[COL_TRUST] = cell_flag(vf, "trust");
                row->cell[COL_LINK] = cell_string(vf, "link_state");
                row->cell[COL_DOMAIN] = cell_string(vf, "domain");
        } else {
                /* SR-IOV capable, no VF enabled: say so on the PF's own line. */
                row->cell[COL_VF] = strdup("-");
                row->cell[COL_PCI] = cell_string(pf, "pci_address");
                row->cell[COL_MAC] = cell_string(pf, "mac");
                for (size_t c = COL_VLAN; c < _COL_MAX; c++)
                        row->cell[c] = strdup(c == COL_DOMAIN ? "(no VFs)" : "-");
        }
        for (size_t c = 0; c < _COL_MAX; c++)
                if (!row->cell[c])
                        return -ENOMEM;
        return 0;
}

static bool pf_json_valid(json_object *pf) {
        return json_object_is_type(pf, json_type_object) && get_string(pf, "ifname") &&
               json_object_is_type(json_object_object_get(pf, "vfs"), json_type_array);
}

int vf_format_table(json_object *json, char **ret) {
        json_object *pfs = json_object_object_get(json, "pfs");
        _cleanup_free_ char *out = NULL;
        size_t width[_COL_MAX], n_rows = 0, out_size = 0, n_pfs;
        Row *rows = NULL;
        FILE *f;
        int r = 0;

        if (!ret)
                return -EINVAL;
        if (!json_object_is_type(pfs, json_type_array))
                return -EBADMSG;
        n_pfs = json_object_array_length(pfs);
        if (n_pfs == 0) {
                out = strdup("No SR-IOV physical function on this host.\n");
                if (!out)
                        return -ENOMEM;
                *ret = TAKE_PTR(out);
                return 0;
        }

        for (size_t p = 0; p < n_pfs; p++) {
                json_object *pf = json_object_array_get_idx(pfs, p);
                if (!pf_json_valid(pf))
                        return -EBADMSG;
                size_t n_vfs = json_object_array_length(json_object_object_get(pf, "vfs"));
                n_rows += n_vfs ? n_vfs : 1;
        }

        rows = calloc(n_rows, sizeof(*rows));
        if (!rows)
                return -ENOMEM;
        size_t k = 0;
        for (size_t p = 0; p < n_pfs && r >= 0; p++) {
                json_object *pf = json_object_array_get_idx(pfs, p);
                json_object *vfs = json_object_object_get(pf, "vfs");
                size_t n_vfs = json_object_array_length(vfs);

                if (n_vfs == 0)
                        r = row_fill(&rows[k++], pf, NULL);
                for (size_t v = 0; v < n_vfs && r >= 0; v++) {
                        json_object *vf = json_object_array_get_idx(vfs, v);
                        if (!json_object_is_type(vf, json_type_object))
                                r = -EBADMSG;
                        else
                                r = row_fill(&rows[k++], pf, vf);
                }
        }
        if (r < 0)
                goto finish;

        for (size_t c = 0; c < _COL_MAX; c++) {
                width[c] = strlen(column_title[c]);
                for (size_t i = 0; i < n_rows; i++)
                        if (strlen(rows[i].cell[c]) > width[c])
                                width[c] = strlen(rows[i].cell[c]);
        }

        f = open_memstream(&out, &out_size);
        if (!f) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i <= n_rows; i++) {
                for (size_t c = 0; c < _COL_MAX; c++) {
                        const char *s = i == 0 ? column_title[c] : rows[i - 1].cell[c];
                        bool right = c == COL_VF;

                        if (c == _COL_MAX - 1)
                                fprintf(f, "%s\n", s);
                        else
                                fprintf(f, right ? "%*s  " : "%-*s  ", (int) width[c], s);
                }
        }
        if (fclose(f) != 0) {
                r = -ENOMEM;
                goto finish;
        }
        *ret = TAKE_PTR(out);
finish:
        rows_free(rows, n_rows);
        return r;
}

static int parse_hex_field(const char *s, unsigned long max, unsigned long *ret) {
        unsigned long v;
        char *end;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 0);
        if (errno != 0 || *end || v > max || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

int vf_count_states(json_object *json, unsigned ret[static _VF_STATE_MAX]) {
        json_object *pfs = json_object_object_get(json, "pfs");
        unsigned counts[_VF_STATE_MAX] = {};
        size_t n_pfs;

        if (!ret)
                return -EINVAL;
        if (!json_object_is_type(pfs, json_type_array))
                return -EBADMSG;
        n_pfs = json_object_array_length(pfs);
        for (size_t p = 0; p < n_pfs; p++) {
                json_object *pf = json_object_array_get_idx(pfs, p), *vfs;

                if (!pf_json_valid(pf))
                        return -EBADMSG;
                vfs = json_object_object_get(pf, "vfs");
                for (size_t v = 0; v < json_object_array_length(vfs); v++) {
                        json_object *vf = json_object_array_get_idx(vfs, v);
                        const char *link;

                        if (!json_object_is_type(vf, json_type_object))
                                return -EBADMSG;
                        link = get_string(vf, "link_state");
                        if (get_string(vf, "domain"))
                                counts[VF_STATE_ATTACHED]++;
                        else if (link && vf_link_state_from_string(link) == VF_LINK_STATE_DISABLE)
                                counts[VF_STATE_DISABLED]++;
                        else
                                counts[VF_STATE_FREE]++;
                }
        }
        memcpy(ret, counts, sizeof(counts));
        return 0;
}

int vf_pci_address_from_libvirt(const char *domain, const char *bus, const char *slot,
                                const char *function, char **ret) {
        unsigned long d, b, s, fn;
        char *a;

        if (!ret)
                return -EINVAL;
        if (parse_hex_field(domain, 0xffff, &d) < 0 || parse_hex_field(bus, 0xff, &b) < 0 ||
            parse_hex_field(slot, 0x1f, &s) < 0 || parse_hex_field(function, 0x7, &fn) < 0)
                return -EINVAL;
        if (asprintf(&a, "%04lx:%02lx:%02lx.%lx", d, b, s, fn) < 0)
                return -ENOMEM;
        *ret = a;
        return 0;
}
