/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Preflight in the libvirt backend: the worker reads the domain, the loop resolves its policy
 * and copies what the job keeps of it, then the worker runs every check and a refusal names
 * each one that failed. See virt-internal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "config.h"
#include "guest-reply.h"
#include "log.h"
#include "vfio.h"
#include "virt-internal.h"

static int check_not_on_destination(VirtJob *j, const Request *q, virDomainPtr source, ResultPost *p) {
        char here[VIR_UUID_STRING_BUFLEN], there[VIR_UUID_STRING_BUFLEN];
        virDomainPtr d;
        int active, r = 0;

        d = virDomainLookupByName(j->dest, q->domain);
        if (!d) {
                virErrorPtr e = virGetLastError();

                if (e && e->code == VIR_ERR_NO_DOMAIN)
                        return 0;
                return result_fail_libvirt(&p->out, "cannot ask the destination about the domain");
        }

        active = virDomainIsActive(d);
        if (active != 0)
                r = result_fail(&p->out, -EEXIST, "the domain already %s on the destination",
                                active > 0 ? "runs" : "exists");
        else if (virDomainGetUUIDString(source, here) < 0 || virDomainGetUUIDString(d, there) < 0 ||
                 !streq(here, there))
                r = result_fail(&p->out, -EEXIST, "the destination has another domain with the same name");
        /* An inactive definition of this very domain is fine: the migration takes its place. */

        virDomainFree(d);
        return r;
}

/* One host's libvirt and QEMU versions; 0 for what it does not tell. */
static void read_versions(virConnectPtr conn, PreflightHostVersions *ret) {
        unsigned long v;

        *ret = (PreflightHostVersions) {};
        if (!conn)
                return;
        if (virConnectGetLibVersion(conn, &v) == 0)
                ret->libvirt = v;
        if (virConnectGetVersion(conn, &v) == 0)
                ret->qemu = v;
}

/* Preflight, first stage: what the loop needs to resolve the domain's policy and choose the
 * migration path: the domain's XML, both hosts' versions, the VF drivers on this host. */
int do_preflight_read(VirtJob *j, const Request *q, ResultPost *p) {
        virDomainPtr dom;
        int r;

        r = job_get_domain(j, q, SIDE_SOURCE, &dom, p);
        if (r < 0)
                return r;

        p->xml = virDomainGetXMLDesc(dom, 0);
        if (!p->xml)
                return result_fail_libvirt(&p->out, "cannot read the domain's XML");

        read_versions(j->local, &p->facts.source);
        /* A destination that does not answer leaves its versions unknown; the checks say why. */
        if (dest_open(j, q->destination_uri, p) >= 0)
                read_versions(j->dest, &p->facts.destination);
        free(p->out.message);
        p->out.message = NULL;
        p->out.r = 0;

        r = vfio_read_domain_drivers("/", p->xml, &p->facts);
        if (r < 0)
                return result_fail(&p->out, r, r == -ENOMEM ? "out of memory" : "cannot understand the domain's XML");
        return 0;
}

/* The failed checks of a preflight, in the order they ran. */
typedef struct Checks {
        char *list;  /* "cause; cause; ..." */
        unsigned n_failed;
        int first_error;
} Checks;

/* Take the failure a check left in p (r < 0) into c. */
static void checks_take(Checks *c, ResultPost *p, int r) {
        char *joined;

        if (r >= 0)
                return;
        if (c->n_failed++ == 0)
                c->first_error = r;
        if (asprintf(&joined, "%s%s%s", c->list ? c->list : "", c->list ? "; " : "",
                     p->out.message ? p->out.message : "unknown error") >= 0) {
                free(c->list);
                c->list = joined;
        }
        free(p->out.message);
        p->out.message = NULL;
        p->out.r = 0;
}

/* The pool the destination plugs the VF from must exist, run, and have a VF free. */
static int check_pool(VirtJob *j, const Request *q, ResultPost *p) {
        _cleanup_(virt_xml_network_pool_done) VirtXmlNetworkPool pool = {};
        _cleanup_free_ char *xml = NULL;
        virNetworkPtr net;
        int active, r;

        net = virNetworkLookupByName(j->dest, q->plug_network);
        if (!net) {
                virErrorPtr e = virGetLastError();

                if (e && e->code == VIR_ERR_NO_NETWORK)
                        return result_fail(&p->out, -ENODEV, "the destination has no network %s to take a VF from",
                                           q->plug_network);
                return result_fail(&p->out, -EIO, "cannot look up the destination's network %s: %s",
                                   q->plug_network, virGetLastErrorMessage());
        }

        active = virNetworkIsActive(net);
        if (active == 0) {
                r = result_fail(&p->out, -ENODEV, "the destination's VF pool %s is not active", q->plug_network);
                goto finish;
        }
        xml = active > 0 ? virNetworkGetXMLDesc(net, 0) : NULL;
        if (!xml) {
                r = result_fail(&p->out, -EIO, "cannot read the destination's network %s: %s", q->plug_network,
                                virGetLastErrorMessage());
                goto finish;
        }
        r = virt_xml_read_network_pool(xml, &pool);
        if (r < 0) {
                r = result_fail(&p->out, r, "cannot understand the destination's network %s", q->plug_network);
                goto finish;
        }
        /* A bridge network hands out as many ports as asked; a hostdev pool runs dry. */
        if (pool.n_free == 0)
                r = result_fail(&p->out, -ENOSPC, "the destination's VF pool %s has no free VF (all %d in use)",
                                q->plug_network, pool.n_devices);
        else
                r = 0;
finish:
        virNetworkFree(net);
        return r;
}

static int check_destination(VirtJob *j, const Request *q, virDomainPtr dom, ResultPost *p) {
        int r;

        r = dest_open(j, q->destination_uri, p);
        if (r < 0)
                return r;
        if (virConnectIsAlive(j->dest) != 1)
                return result_fail(&p->out, -EHOSTUNREACH, "the destination's libvirt at %s does not answer",
                                   q->destination_uri);
        return check_not_on_destination(j, q, dom, p);
}

static int check_srvm_guest(virDomainPtr dom, usec_t timeout, ResultPost *p) {
        _cleanup_(agent_exec_result_done) AgentExecResult res = {};
        _cleanup_free_ char *version = NULL;
        unsigned protocol;
        int r;

        r = agent_exec(dom, SRVM_GUEST_PATH, (char *const[]) { (char *) "--version", NULL }, timeout, &res);
        if (r == -EIO)
                return result_fail(&p->out, -ENOPKG, "srvm-guest is not installed in the guest as %s (%s)",
                                   SRVM_GUEST_PATH, virGetLastErrorMessage());
        if (r < 0)
                return result_fail_agent(&p->out, r, timeout, "cannot run srvm-guest --version");
        for (size_t i = 0; i < res.n_samples; i++)
                record_sample(p, res.samples[i].command, res.samples[i].rtt);
        if (res.exit_code != 0)
                return result_fail(&p->out, -ENOPKG, "srvm-guest --version exited with status %d in the guest",
                                   res.exit_code);

        /* A guest with an older srvm-guest passes every other check and then refuses the
         * options failover is given: find that out here, before anything is touched. */
        r = guest_reply_parse_version(res.out, &version, &protocol);
        if (r == -ENOMEM)
                return result_fail(&p->out, r, "out of memory");
        if (r < 0)
                return result_fail(&p->out, -ENOPKG, "%s in the guest is not srvm-guest (--version printed \"%.64s\")",
                                   SRVM_GUEST_PATH, res.out);
        if (protocol < SRVM_GUEST_PROTOCOL)
                return result_fail(&p->out, -ENOPKG, "srvm-guest %s in the guest speaks protocol %u, srvmd %s needs "
                                   "protocol %d: install srvm-guest %s or later in the guest",
                                   version, protocol, SRVM_VERSION, SRVM_GUEST_PROTOCOL, SRVM_VERSION);
        return 0;
}

static int check_bond(virDomainPtr dom, const Request *q, ResultPost *p) {
        _cleanup_(json_object_putp) json_object *status = NULL;
        int r;

        r = guest_run(dom, (char *const[]) { (char *) "status", (char *) "--bond", q->bond, NULL },
                      agent_timeout(q->time_left, USEC_INFINITY), p, &status);
        if (r == -ENODEV)
                return result_fail(&p->out, r, "the guest has no bond %s", q->bond);
        if (r < 0)
                return r;
        return check_bond_status(status, q->bond, p);
}

/* The domain runs, its guest agent answers, srvm-guest is there and the bond is ready to
 * fail back onto a VF: what both preflights check in the guest. */
static void check_guest(virDomainPtr dom, const Request *q, Checks *c, ResultPost *p) {
        int state, reason, r;
        bool running = false, agent = false;
        usec_t rtt = 0, timeout;

        if (virDomainGetState(dom, &state, &reason, 0) < 0)
                checks_take(c, p, result_fail_libvirt(&p->out, "cannot read the domain's state"));
        else if (state != VIR_DOMAIN_RUNNING)
                checks_take(c, p, result_fail(&p->out, -ESRCH, "the domain is not running (its state is %s)",
                                               virt_domain_state_to_string(state)));
        else
                running = true;

        if (running) {
                timeout = agent_timeout(q->time_left, q->agent_timeout);
                r = agent_ping(dom, timeout, &rtt);
                if (r < 0) {
                        _cleanup_free_ char *why = NULL;

                        (void) agent_describe_error(r, timeout, &why);
                        checks_take(c, p, result_fail(&p->out, r, "%s, so srvm-guest and the guest's bond could not be checked",
                                                       why ? why : "the guest agent did not answer"));
                } else {
                        record_sample(p, "guest-ping", rtt);
                        agent = true;
                }
        }
        if (agent) {
                r = check_srvm_guest(dom, agent_timeout(q->time_left, q->agent_timeout), p);
                checks_take(c, p, r);
                if (r >= 0)
                        checks_take(c, p, check_bond(dom, q, p));
        }
}

static int checks_end(Checks *c, ResultPost *p) {
        _cleanup_free_ char *list = c->list;

        if (c->n_failed == 0)
                return 0;
        return result_fail(&p->out, c->first_error, "%u check%s failed: %s", c->n_failed, c->n_failed == 1 ? "" : "s",
                           strna(list));
}

/* Preflight, second stage, once the policy is known: every check runs (those that need the
 * guest agent only if it answers), and a refusal names every check that failed. */
int do_preflight_checks(VirtJob *j, const Request *q, ResultPost *p) {
        Checks c = {};
        virDomainPtr dom;
        int r;

        r = job_get_domain(j, q, SIDE_SOURCE, &dom, p);
        if (r < 0)
                return r;

        check_guest(dom, q, &c, p);

        r = check_destination(j, q, dom, p);
        checks_take(&c, p, r);
        if (r >= 0 && q->plug_source == POLICY_PLUG_NETWORK && q->plug_network)
                checks_take(&c, p, check_pool(j, q, p));

        /* The VF and the policy, which the loop checked on the domain's XML. */
        if (q->check_error) {
                free(p->out.message);
                p->out.message = strdup(q->check_error);
                checks_take(&c, p, -EINVAL);
        }

        return checks_end(&c, p);
}

/* Preflight of an arrival with no plan (see virt_xml_plan_from_policy()): all srvm knows is
 * what the policy says, so the guest must show it is ready for the VF before one is plugged:
 * srvm-guest answers, and the policy's bond is active-backup with a virtio-net slave that has
 * carrier. A guest without that bond keeps what it has. */
int do_arrival_checks(VirtJob *j, const Request *q, ResultPost *p) {
        Checks c = {};
        virDomainPtr dom;
        int r;

        r = job_get_domain(j, q, SIDE_SOURCE, &dom, p);
        if (r < 0)
                return r;
        check_guest(dom, q, &c, p);
        return checks_end(&c, p);
}

/* Loop: preflight's first action read the domain; the job decides on its XML and asks for
 * the checks (virt_check_domain()). This may end the job and release j. */
void virt_dispatch_domain_info(Virt *v, ResultPost *p) {
        VirtJob *j = virt_find_job(v, p->job_id);
        Migration *m;

        if (!j || j->generation != p->generation)
                return;
        m = virt_job_migration(v, p->job_id);
        if (!m)
                return;
        virt_report_agent_latency(v, p, m);
        j->generation = 0;
        migration_domain_read(m, p->xml, &p->facts);
}

int virt_check_domain(Virt *v, Migration *m) {
        _cleanup_(request_freep) Request *q = NULL;
        VirtJob *j;
        int r;

        if (!v || !m)
                return -EINVAL;
        j = migration_get_backend_data(m);
        if (!j || !j->thread_started)
                return -ESRCH; /* preflight's first action made both */

        r = request_new(v, j, m, ACTION_PREFLIGHT, SIDE_SOURCE, &q);
        if (r < 0)
                return r;
        q->stage = 1;
        r = strdup_or_null(migration_get_refusal(m), &q->check_error);
        if (r < 0)
                return r;
        q->generation = j->generation = ++v->next_generation;
        virt_job_queue(j, TAKE_PTR(q));
        return 0;
}
