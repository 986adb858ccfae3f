/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated backend of srvmd-sim: the functions of virt.h without libvirt, a guest or a
 * second host, so that the daemon's control plane (manager, bus, metrics, the state machine)
 * can be driven at scale by the benchmarks and the bus tests. Every action of every job, for
 * any domain name, succeeds on the loop after a delay close to what the lab measured for
 * that phase, times --sim-scale. Preflight reads a made-up domain XML through the same
 * readers and policy resolution as the libvirt backend; the migration reports pre-copy
 * progress as it goes and a VM downtime at the end; a cancelled migration ends at once, as
 * libvirt's abort makes it. srvmd itself never links this file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "log.h"
#include "preflight.h"
#include "vf.h"
#include "virt-xml.h"
#include "virt.h"
#include "xml-util.h"

/* What each action takes at --sim-scale=1, in ms: the lab's figures, rounded. */
static const unsigned sim_delay_ms[_ACTION_MAX] = {
        [ACTION_PREFLIGHT] = 200,
        [ACTION_FAILOVER] = 100,
        [ACTION_UNPLUG] = 300,
        [ACTION_MIGRATE] = 3000,
        [ACTION_PLUG] = 200,
        [ACTION_LINK] = 3000,
        [ACTION_FAILBACK] = 80,
        [ACTION_LOCATE] = 50,
        [ACTION_VERIFY] = 80,
};

/* The pre-copy the migration pretends to run: this much memory, reported in this many steps,
 * with this VM pause at the end (the lab's 137-219 ms). */
#define SIM_MEMORY_BYTES (256ULL << 20)
#define SIM_DIRTY_RATE_BYTES_S (8ULL << 20)
#define SIM_MIGRATE_STEPS 6
#define SIM_VM_DOWNTIME_MS 170
/* The host PCI address of the simulated VF (sim_domain_xml()'s 0x0000:0x3b:0x02.0x1). */
#define SIM_VF_PCI_ADDRESS "0000:3b:02.1"
/* The SR-IOV inventory ListVFs shows: one PF with this many VFs. */
#define SIM_N_VFS 8

static double sim_scale = 1.0;
/* The driver the simulated VF's PCI device is bound to on the source (--sim-vf-driver), with
 * both simulated hosts at SIM_LIBVIRT_VERSION and SIM_QEMU_VERSION; NULL: no host is asked,
 * as before there was a native path. A VFIO migration variant driver makes auto take it. */
static const char *sim_vf_driver = NULL;
#define SIM_LIBVIRT_VERSION 9000000UL /* 9.0.0 */
#define SIM_QEMU_VERSION 8002000UL    /* 8.2.0 */

typedef struct SimJob {
        struct SimJob *next;
        Virt *virt;
        uint32_t id;
        Action action;          /* in flight; _ACTION_INVALID if none */
        Side side;
        sd_event_source *timer; /* owned: the action's next step */
        unsigned step;          /* migrate: progress reports so far */
        bool aborted;           /* migrate: cancelled, ends at once */
        char *domain;
        bool checking;          /* preflight: the job decided; its checks run */
} SimJob;

/* An answer for ListVFs, GetDomainPolicy or an arrival, given on the next loop iteration,
 * as the libvirt backend gives it once its thread is done. */
typedef struct SimErrand {
        struct SimErrand *next;
        Virt *virt;
        sd_event_source *source; /* owned */
        char *domain;            /* NULL for ListVFs and ListDomains */
        bool domains;            /* ListDomains */
        VirtTextFn cb;           /* NULL: an arrival to inspect */
        void *userdata;
} SimErrand;

struct Virt {
        const VirtEvents *events; /* not owned: how the backend reports */
        void *events_userdata;
        sd_event *event;      /* ref */
        SimJob *jobs;         /* owned */
        SimErrand *errands;   /* owned */
};

static int parse_option(size_t index, const char *arg) {
        char *end;
        double f;

        if (index == 1) {
                if (!*arg) {
                        fputs("srvmd-sim: --sim-vf-driver: expected a driver name.\n", stderr);
                        return -EINVAL;
                }
                sim_vf_driver = arg;
                return 0;
        }

        errno = 0;
        f = strtod(arg, &end);
        if (errno != 0 || end == arg || *end || !(f > 0.0) || f > 100.0) {
                fprintf(stderr, "srvmd-sim: --sim-scale=%s: expected a factor above 0 and up to 100.\n", arg);
                return -EINVAL;
        }
        sim_scale = f;
        return 0;
}

static const struct option sim_options[] = {
        { "sim-scale", required_argument, NULL, 0 },
        { "sim-vf-driver", required_argument, NULL, 0 },
        {}
};

const VirtCommandLine virt_command_line = {
        .program = "srvmd-sim",
        .about = "srvmd with a simulated backend in place of libvirt, for benchmarks and tests, never\n"
                 "for a host: every action of every job succeeds after a set delay, for any domain\n"
                 "name; nothing is migrated. --connect only names the source in the jobs.\n"
                 "Delays at scale 1: preflight 200 ms, failover 100, unplug 300, migrate 3000 (with\n"
                 "pre-copy progress and a VM downtime of 170 ms), plug 200, link 3000, failback 80,\n"
                 "verify 80.\n",
        .options_help = "      --sim-scale=FACTOR multiply every simulated delay by FACTOR, above 0 and up\n"
                        "                         to 100 (default: 1)\n"
                        "      --sim-vf-driver=DRIVER the simulated VF is bound to DRIVER on the source, and\n"
                        "                         both hosts run libvirt 9.0.0 and QEMU 8.2.0 (default:\n"
                        "                         no host is asked); mlx5_vfio_pci makes auto go native\n",
        .options = sim_options,
        .parse_option = parse_option,
};

static usec_t sim_delay(Action a) {
        return (usec_t) (sim_delay_ms[a] * sim_scale * USEC_PER_MSEC);
}

/* Made-up but stable per domain: its MAC and UUID come from a hash of its name. */
static uint64_t name_hash(const char *s, uint64_t seed) {
        uint64_t h = 0xcbf29ce484222325ULL ^ seed;

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 0x100000001b3ULL;
        return h;
}

static void sim_mac(const char *domain, char ret[static 18]) {
        uint64_t h = name_hash(domain, 0);

        snprintf(ret, 18, "52:54:00:%02x:%02x:%02x", (unsigned) (h >> 16) & 0xff, (unsigned) (h >> 8) & 0xff,
                 (unsigned) h & 0xff);
}

/* The live XML of a domain as libvirt would give it: a hostdev VF (alias ua-vf0) and a
 * virtio-net standby with the same MAC, both in the guest's bond. */
static int sim_domain_xml(const char *domain, char **ret) {
        _cleanup_(xml_doc_freep) xmlDoc *doc = NULL;
        xmlNode *root, *devices, *iface, *source, *n;
        uint64_t a = name_hash(domain, 1), b = name_hash(domain, 2);
        char uuid[37], mac[18];
        _cleanup_xml_ xmlChar *text = NULL;
        int size;

        sim_mac(domain, mac);
        snprintf(uuid, sizeof(uuid), "%08x-%04x-%04x-%04x-%012llx", (unsigned) (a >> 32), (unsigned) (a >> 16) & 0xffff,
                 (unsigned) a & 0xffff, (unsigned) (b >> 48), (unsigned long long) (b & 0xffffffffffffULL));

        doc = xmlNewDoc(BAD_CAST "1.0");
        root = doc ? xmlNewNode(NULL, BAD_CAST "domain") : NULL;
        if (!root)
                return -ENOMEM;
        xmlDocSetRootElement(doc, root);
        if (!xmlNewProp(root, BAD_CAST "type", BAD_CAST "kvm") ||
            !xmlNewTextChild(root, NULL, BAD_CAST "name", BAD_CAST domain) ||
            !xmlNewTextChild(root, NULL, BAD_CAST "uuid", BAD_CAST uuid) ||
            !xmlNewTextChild(root, NULL, BAD_CAST "memory", BAD_CAST "262144") ||
            !(devices = xmlNewChild(root, NULL, BAD_CAST "devices", NULL)))
                return -ENOMEM;

        iface = xmlNewChild(devices, NULL, BAD_CAST "interface", NULL);
        if (!iface || !xmlNewProp(iface, BAD_CAST "type", BAD_CAST "hostdev") ||
            !xmlNewProp(iface, BAD_CAST "managed", BAD_CAST "yes") ||
            !(n = xmlNewChild(iface, NULL, BAD_CAST "mac", NULL)) || !xmlNewProp(n, BAD_CAST "address", BAD_CAST mac) ||
            !(source = xmlNewChild(iface, NULL, BAD_CAST "source", NULL)) ||
            !(n = xmlNewChild(source, NULL, BAD_CAST "address", NULL)) ||
            !xmlNewProp(n, BAD_CAST "type", BAD_CAST "pci") || !xmlNewProp(n, BAD_CAST "domain", BAD_CAST "0x0000") ||
            !xmlNewProp(n, BAD_CAST "bus", BAD_CAST "0x3b") || !xmlNewProp(n, BAD_CAST "slot", BAD_CAST "0x02") ||
            !xmlNewProp(n, BAD_CAST "function", BAD_CAST "0x1") ||
            !(n = xmlNewChild(iface, NULL, BAD_CAST "alias", NULL)) || !xmlNewProp(n, BAD_CAST "name", BAD_CAST "ua-vf0"))
                return -ENOMEM;

        iface = xmlNewChild(devices, NULL, BAD_CAST "interface", NULL);
        if (!iface || !xmlNewProp(iface, BAD_CAST "type", BAD_CAST "network") ||
            !(n = xmlNewChild(iface, NULL, BAD_CAST "mac", NULL)) || !xmlNewProp(n, BAD_CAST "address", BAD_CAST mac) ||
            !(n = xmlNewChild(iface, NULL, BAD_CAST "source", NULL)) || !xmlNewProp(n, BAD_CAST "network", BAD_CAST "default") ||
            !(n = xmlNewChild(iface, NULL, BAD_CAST "model", NULL)) || !xmlNewProp(n, BAD_CAST "type", BAD_CAST "virtio") ||
            !(n = xmlNewChild(iface, NULL, BAD_CAST "alias", NULL)) || !xmlNewProp(n, BAD_CAST "name", BAD_CAST "net0"))
                return -ENOMEM;

        xmlDocDumpMemory(doc, &text, &size);
        if (!text)
                return -ENOMEM;
        *ret = strdup((const char *) text);
        return *ret ? 0 : -ENOMEM;
}

static SimJob *sim_job_free(SimJob *j) {
        if (!j)
                return NULL;
        sd_event_source_disable_unref(j->timer);
        free(j->domain);
        free(j);
        return NULL;
}

static void sim_report_progress(SimJob *j, Migration *m) {
        uint64_t done = SIM_MEMORY_BYTES * j->step / SIM_MIGRATE_STEPS;
        usec_t d = sim_delay(ACTION_MIGRATE);
        MigrationProgress p = {
                .iteration = j->step,
                .data_total_bytes = SIM_MEMORY_BYTES,
                .data_processed_bytes = done,
                .data_remaining_bytes = SIM_MEMORY_BYTES - done,
                .dirty_rate_bytes_s = SIM_DIRTY_RATE_BYTES_S,
                .bandwidth_bytes_s = d > 0 ? SIM_MEMORY_BYTES * USEC_PER_SEC / d : 0,
        };

        (void) migration_set_progress(m, &p);
}

static int sim_arm(SimJob *j, usec_t delay) {
        uint64_t now;
        int r;

        r = sd_event_now(j->virt->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_source_set_time(j->timer, now + delay);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(j->timer, SD_EVENT_ONESHOT);
}

static int sim_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        SimJob *j = userdata;
        Virt *v = j->virt;
        const char *message = NULL;
        Migration *m;
        Action a = j->action;
        int r = 0;

        m = v->events->job(v->events_userdata, j->id);
        if (!m || a < 0)
                return 0;

        switch (a) {
        case ACTION_PREFLIGHT:
                /* As the libvirt backend: read the domain and hand its XML to the job, which
                 * decides and asks for the checks (virt_check_domain()); they pass unless the
                 * job found something wrong already. */
                if (!j->checking) {
                        _cleanup_free_ char *xml = NULL;

                        r = sim_domain_xml(j->domain, &xml);
                        if (r < 0) {
                                message = "out of memory";
                                break;
                        }
                        if (sim_vf_driver) {
                                _cleanup_(preflight_host_facts_done) PreflightHostFacts facts = {
                                        .source = { .libvirt = SIM_LIBVIRT_VERSION, .qemu = SIM_QEMU_VERSION },
                                        .destination = { .libvirt = SIM_LIBVIRT_VERSION, .qemu = SIM_QEMU_VERSION },
                                };

                                if (preflight_host_facts_add_driver(&facts, SIM_VF_PCI_ADDRESS, sim_vf_driver, 0) < 0) {
                                        r = -ENOMEM;
                                        message = "out of memory";
                                        break;
                                }
                                migration_domain_read(m, xml, &facts); /* may end the job and release j */
                                return 0;
                        }
                        /* No host to ask: versions and drivers unknown. */
                        migration_domain_read(m, xml, NULL); /* may end the job and release j */
                        return 0;
                }
                j->checking = false;
                message = migration_get_refusal(m);
                r = message ? -EINVAL : 0;
                break;
        case ACTION_MIGRATE:
                if (j->aborted) {
                        r = -ECANCELED;
                        message = "the migration was aborted on request";
                        break;
                }
                if (++j->step < SIM_MIGRATE_STEPS) {
                        sim_report_progress(j, m);
                        r = sim_arm(j, sim_delay(a) / SIM_MIGRATE_STEPS);
                        if (r >= 0)
                                return 0;
                        message = "cannot wait for the simulated pre-copy";
                        break;
                }
                sim_report_progress(j, m);
                v->events->job_completed(v->events_userdata, j->domain, SIM_VM_DOWNTIME_MS);
                break;
        case ACTION_UNPLUG:
                r = 1; /* verified gone */
                break;
        case ACTION_LOCATE:
                r = migration_get_domain_side(m) == SIDE_DESTINATION;
                break;
        case ACTION_FAILOVER:
        case ACTION_PLUG:
        case ACTION_LINK:
        case ACTION_FAILBACK:
        case ACTION_VERIFY:
                break;
        case _ACTION_MAX:
        case _ACTION_INVALID:
                return 0;
        }

        j->action = _ACTION_INVALID;
        log_debug("%s: job %u: simulated %s ended: %d", j->domain, j->id, action_to_string(a), r);
        /* This may end the job and release j: touch neither afterwards. */
        migration_action_done(m, a, r, message);
        return 0;
}

int virt_start_action(Virt *v, Migration *m, Action a, Side side) {
        SimJob *j;
        int r;

        if (!v || !m || a < 0 || a >= _ACTION_MAX)
                return -EINVAL;

        j = migration_get_backend_data(m);
        if (!j) {
                j = calloc(1, sizeof(*j));
                if (!j)
                        return -ENOMEM;
                *j = (SimJob) { .virt = v, .id = migration_get_id(m), .action = _ACTION_INVALID };
                j->domain = strdup(migration_get_domain(m));
                if (!j->domain) {
                        sim_job_free(j);
                        return -ENOMEM;
                }
                r = sd_event_add_time(v->event, &j->timer, CLOCK_MONOTONIC, 0, 1, sim_on_timer, j);
                if (r < 0) {
                        sim_job_free(j);
                        return r;
                }
                (void) sd_event_source_set_enabled(j->timer, SD_EVENT_OFF);
                (void) sd_event_source_set_description(j->timer, "sim-action");
                j->next = v->jobs;
                v->jobs = j;
                migration_set_backend_data(m, j);
        }

        j->action = a;
        j->side = side;
        j->step = 0;
        j->aborted = false;
        j->checking = false;
        r = sim_arm(j, a == ACTION_MIGRATE ? sim_delay(a) / SIM_MIGRATE_STEPS : sim_delay(a));
        if (r < 0) {
                j->action = _ACTION_INVALID;
                return r;
        }
        log_debug("%s: job %u: %s on the %s (simulated)", j->domain, j->id, action_to_string(a), side_to_string(side));
        return 0;
}

void virt_cancel_action(Virt *v, Migration *m, Action a) {
        SimJob *j;

        if (!v || !m)
                return;
        /* As with libvirt, only a migration can be stopped early; the rest run to their end. */
        j = migration_get_backend_data(m);
        if (!j || a != ACTION_MIGRATE || j->action != ACTION_MIGRATE)
                return;
        j->aborted = true;
        (void) sim_arm(j, 0);
        log_info("%s: asked the simulated migration to abort", j->domain);
}

int virt_check_domain(Virt *v, Migration *m) {
        SimJob *j;

        if (!v || !m)
                return -EINVAL;
        j = migration_get_backend_data(m);
        if (!j || j->action != ACTION_PREFLIGHT)
                return -ESRCH;
        j->checking = true;
        return sim_arm(j, 0);
}

/* The convergence rule of the state machine steers the simulated pre-copy as it steers
 * libvirt's: an abort ends it at its next step; the max downtime and post-copy only show in
 * the job's progress and events, as the simulation has no memory to copy faster. */
int virt_control_migration(Virt *v, Migration *m, MigrationControl c, uint64_t value) {
        SimJob *j;

        if (!v || !m || c < 0 || c >= _MIGRATION_CONTROL_MAX)
                return -EINVAL;
        j = migration_get_backend_data(m);
        if (!j || j->action != ACTION_MIGRATE)
                return -ESRCH;
        log_debug("%s: simulated migration: %s %llu", j->domain, migration_control_to_string(c),
                  (unsigned long long) value);
        if (c == MIGRATION_CONTROL_ABORT)
                j->aborted = true;
        return 0;
}

void virt_release_job(Virt *v, Migration *m) {
        SimJob *j;

        if (!v || !m)
                return;
        j = migration_get_backend_data(m);
        if (!j)
                return;
        migration_set_backend_data(m, NULL);
        for (SimJob **k = &v->jobs; *k; k = &(*k)->next)
                if (*k == j) {
                        *k = j->next;
                        sim_job_free(j);
                        return;
                }
}

/* Errands */

static SimErrand *sim_errand_free(SimErrand *e) {
        if (!e)
                return NULL;
        sd_event_source_disable_unref(e->source);
        free(e->domain);
        free(e);
        return NULL;
}

static int sim_vf_list(Virt *v, char **ret) {
        _cleanup_(vf_inventory_freep) VfInventory *inv = NULL;
        _cleanup_(json_object_putp) json_object *json = NULL;
        VfUser users[SIM_N_VFS];
        size_t n_users = 0;
        VfPf pf = {};
        const char *text;
        int r;

        /* The first jobs' domains hold the first VFs, with their MACs. */
        for (SimJob *j = v->jobs; j && n_users < SIM_N_VFS; j = j->next) {
                Migration *m = v->events->job(v->events_userdata, j->id);
                const char *mac = m ? migration_get_vf_mac(m) : NULL;

                if (mac)
                        users[n_users++] = (VfUser) { .domain = j->domain, .mac = mac };
        }

        r = vf_inventory_new(&inv);
        if (r < 0)
                return r;
        pf = (VfPf) { .ifindex = 2, .num_vfs = SIM_N_VFS };
        pf.ifname = strdup("sim0");
        pf.mac = strdup("52:54:00:00:00:01");
        pf.pci_address = strdup("0000:3b:00.0");
        pf.vfs = calloc(SIM_N_VFS, sizeof(Vf));
        if (!pf.ifname || !pf.mac || !pf.pci_address || !pf.vfs) {
                vf_pf_done(&pf);
                return -ENOMEM;
        }
        for (size_t i = 0; i < SIM_N_VFS; i++) {
                Vf *vf = &pf.vfs[pf.n_vfs++];

                *vf = (Vf) { .index = i, .spoof_check = VF_FLAG_ON, .trust = VF_FLAG_OFF,
                             .link_state = VF_LINK_STATE_AUTO };
                if (asprintf(&vf->pci_address, "0000:3b:02.%zu", i) < 0)
                        vf->pci_address = NULL;
                if (!vf->pci_address || (i < n_users && !(vf->mac = strdup(users[i].mac)))) {
                        vf_pf_done(&pf);
                        return -ENOMEM;
                }
        }
        r = vf_inventory_take_pf(inv, &pf);
        if (r < 0) {
                vf_pf_done(&pf);
                return r;
        }
        r = vf_inventory_assign(inv, users, n_users);
        if (r < 0)
                return r;
        r = vf_inventory_to_json(inv, &json);
        if (r < 0)
                return r;
        text = json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN);
        *ret = text ? strdup(text) : NULL;
        return *ret ? 0 : -ENOMEM;
}

/* ListDomains: the domains of the jobs in flight run here, as the libvirt backend lists
 * them ([{"name", "state", "xml"}]). */
static int sim_domain_list(Virt *v, char **ret) {
        _cleanup_(json_object_putp) json_object *array = json_object_new_array();
        const char *text;
        int r;

        if (!array)
                return -ENOMEM;
        for (SimJob *j = v->jobs; j; j = j->next) {
                _cleanup_(json_object_putp) json_object *o = NULL;
                _cleanup_free_ char *xml = NULL;
                bool seen = false;

                for (SimJob *k = v->jobs; k != j; k = k->next)
                        seen = seen || streq_ptr(k->domain, j->domain);
                if (seen || !j->domain)
                        continue;
                r = sim_domain_xml(j->domain, &xml);
                if (r < 0)
                        return r;
                o = json_object_new_object();
                if (!o)
                        return -ENOMEM;
                r = json_add(o, "name", json_object_new_string(j->domain));
                if (r >= 0)
                        r = json_add(o, "state", json_object_new_string("running"));
                if (r >= 0)
                        r = json_add(o, "xml", json_object_new_string(xml));
                if (r >= 0)
                        r = json_append(array, TAKE_PTR(o));
                if (r < 0)
                        return r;
        }
        text = json_object_to_json_string_ext(array, JSON_C_TO_STRING_PLAIN);
        *ret = text ? strdup(text) : NULL;
        return *ret ? 0 : -ENOMEM;
}

static int sim_errand_run(sd_event_source *s, void *userdata) {
        SimErrand *e = userdata;
        Virt *v = e->virt;
        _cleanup_free_ char *text = NULL;
        int r;

        for (SimErrand **k = &v->errands; *k; k = &(*k)->next)
                if (*k == e) {
                        *k = e->next;
                        break;
                }

        if (!e->cb) {
                /* No plan: the manager decides from the domain's policy, as for a domain
                 * another tool moved. */
                r = sim_domain_xml(e->domain, &text);
                v->events->domain_inspected(v->events_userdata, e->domain, true, NULL, false, 0, r < 0 ? NULL : text,
                                            r < 0 ? "out of memory" : NULL);
        }
        else if (e->domains) {
                r = sim_domain_list(v, &text);
                e->cb(e->userdata, r < 0 ? NULL : text, r < 0 ? "out of memory listing the simulated domains" : NULL);
        } else if (e->domain) {
                r = sim_domain_xml(e->domain, &text);
                e->cb(e->userdata, r < 0 ? NULL : text, r < 0 ? "out of memory" : NULL);
        } else {
                r = sim_vf_list(v, &text);
                e->cb(e->userdata, r < 0 ? NULL : text, r < 0 ? "out of memory reading the simulated VFs" : NULL);
        }
        sim_errand_free(e);
        return 0;
}

static int sim_errand_start(Virt *v, const char *domain, bool domains, VirtTextFn cb, void *userdata) {
        SimErrand *e;
        int r;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        *e = (SimErrand) { .virt = v, .domains = domains, .cb = cb, .userdata = userdata };
        if (domain && !(e->domain = strdup(domain))) {
                sim_errand_free(e);
                return -ENOMEM;
        }
        r = sd_event_add_defer(v->event, &e->source, sim_errand_run, e);
        if (r < 0) {
                sim_errand_free(e);
                return r;
        }
        e->next = v->errands;
        v->errands = e;
        return 0;
}

int virt_inspect_domain(Virt *v, const char *domain) {
        return domain ? sim_errand_start(v, domain, false, NULL, NULL) : -EINVAL;
}

int virt_list_vfs(Virt *v, VirtTextFn cb, void *userdata) {
        return cb ? sim_errand_start(v, NULL, false, cb, userdata) : -EINVAL;
}

/* Nothing to lose: the simulated backend has no connection. */
bool virt_is_connected(Virt *v) {
        return true;
}

int virt_list_domains(Virt *v, VirtTextFn cb, void *userdata) {
        return cb ? sim_errand_start(v, NULL, true, cb, userdata) : -EINVAL;
}

int virt_get_domain_xml(Virt *v, const char *domain, VirtTextFn cb, void *userdata) {
        return cb && domain ? sim_errand_start(v, domain, false, cb, userdata) : -EINVAL;
}

int virt_new(const VirtEvents *events, void *userdata, sd_event *e, const char *local_uri, Virt **ret) {
        Virt *v;

        if (!events || !e || !ret)
                return -EINVAL;
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->events = events;
        v->events_userdata = userdata;
        v->event = sd_event_ref(e);
        log_notice("Simulated backend in place of libvirt at %s, delays scaled by %g: nothing is migrated.",
                   local_uri, sim_scale);
        *ret = v;
        return 0;
}

Virt *virt_free(Virt *v) {
        if (!v)
                return NULL;
        while (v->jobs) {
                SimJob *j = v->jobs;

                v->jobs = j->next;
                sim_job_free(j);
        }
        /* Like the libvirt backend's, answers still due when the daemon stops are not given. */
        while (v->errands) {
                SimErrand *e = v->errands;

                v->errands = e->next;
                sim_errand_free(e);
        }
        sd_event_unref(v->event);
        free(v);
        return NULL;
}
