/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend. Three kinds of threads meet here, and only through one queue:
 *
 *  - the loop thread (sd-event) owns every struct below except where a comment says
 *    otherwise; it starts actions, and it is the only one that reports to the manager (through
 *    the VirtEvents table virt_new() was given) and calls into the state machine;
 *  - one event thread runs libvirt's default event loop: libvirt's domain events, the
 *    connections' keepalives and close notices. Its callbacks only copy what they are told
 *    into a Post and queue it;
 *  - one worker thread per job runs the job's actions one by one: the blocking libvirt and
 *    guest agent calls. It works on a private copy of what the action needs and queues the
 *    outcome as a Post.
 *
 * The queue is a mutex-protected list plus an eventfd the loop watches. Results carry the
 * job id and the number of the action they answer, so the result of an action the loop no
 * longer waits for (its job was released) is dropped rather than delivered.
 *
 * Preflight's checks and the job's policy are in virt-preflight.c, pre-copy progress and the
 * calls that steer a running migration (which the state machine's convergence rule decides)
 * in virt-monitor.c; the types they share in virt-internal.h. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "agent.h"
#include "config.h"
#include "guest-reply.h"
#include "json-util.h"
#include "log.h"
#include "srvm-hook.h"
#include "vf-netlink.h"
#include "vf-xml.h"
#include "policy.h"
#include "virt-monitor.h"
#include "virt-xml.h"
#include "utf8.h"
#include "virt.h"
#include "virt-internal.h"

static const struct option no_options[] = { {} };

const VirtCommandLine virt_command_line = {
        .program = "srvmd",
        .about = "Keep VMs with SR-IOV VFs live-migratable: fail their bond over to virtio-net,\n"
                 "unplug the VF, migrate, plug a VF on the destination and fail back.\n",
        .options_help = "",
        .options = no_options,
};

/* A local connection with its event registrations (and close callback), let go. */
static void local_conn_drop(virConnectPtr conn, const int *callbacks, size_t n_callbacks);

/* Posts */

static Post *post_free(Post *p) {
        if (!p)
                return NULL;
        switch (p->type) {
        case POST_DEVICE_REMOVED:
        case POST_DEVICE_REMOVAL_FAILED: {
                DevicePost *d = (DevicePost *) p;

                free(d->domain);
                free(d->alias);
                break;
        }
        case POST_JOB_COMPLETED:
                free(((JobCompletedPost *) p)->domain);
                break;
        case POST_LIFECYCLE:
                free(((LifecyclePost *) p)->domain);
                break;
        case POST_ITERATION:
                free(((IterationPost *) p)->domain);
                break;
        case POST_CONNECTION_CLOSED:
        case POST_WORKER_EXITED:
        case POST_PROGRESS:
                break;
        case POST_RESULT:
        case POST_DOMAIN_INFO: {
                ResultPost *r = (ResultPost *) p;

                free(r->domain);
                free(r->out.message);
                free(r->guest_note);
                free(r->xml);
                preflight_host_facts_done(&r->facts);
                break;
        }
        case POST_NOTE: {
                NotePost *n = (NotePost *) p;

                free(n->domain);
                free(n->note);
                break;
        }
        case POST_INSPECTED: {
                InspectedPost *i = (InspectedPost *) p;

                free(i->domain);
                free(i->out.message);
                virt_xml_plan_done(&i->plan);
                free(i->xml);
                break;
        }
        case POST_TEXT: {
                TextPost *t = (TextPost *) p;

                free(t->out.message);
                free(t->text);
                break;
        }
        case POST_CONNECTED: {
                ConnectedPost *c = (ConnectedPost *) p;

                if (c->conn) /* a connection the loop did not take */
                        local_conn_drop(c->conn, c->callbacks, c->n_callbacks);
                free(c->out.message);
                break;
        }
        case _POST_TYPE_MAX:
        case _POST_TYPE_INVALID:
                break;
        }
        free(p);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Post *, post_free);

/* A zeroed message of size bytes, which starts with its Post header; NULL if out of memory. */
void *post_alloc(PostType type, size_t size) {
        Post *p = calloc(1, size);

        if (!p)
                return NULL;
        p->type = type;
        return p;
}

/* A message that names a domain (copied); NULL if out of memory. */
#define POST_NEW_DOMAIN(type, T, name) ({                                        \
                T *_p = POST_NEW(type, T);                                       \
                if (_p && strdup_or_null((name), &_p->domain) < 0)               \
                        _p = (T *) post_free(&_p->post);                         \
                _p;                                                              \
        })

/* Any thread. Takes p. */
void virt_post(Virt *v, Post *p) {
        uint64_t one = 1;

        if (!p)
                return; /* out of memory in a callback: nothing better to do than lose it */

        pthread_mutex_lock(&v->lock);
        *v->posts_tail = p;
        v->posts_tail = &p->next;
        pthread_mutex_unlock(&v->lock);

        /* EAGAIN only if the counter is saturated, and then the loop wakes anyway. */
        (void) !write(v->fd, &one, sizeof(one));
}

/* Event thread: libvirt's callbacks. They copy and queue, nothing else. */

static void post_device_event(EventOrigin *o, PostType type, virDomainPtr dom, const char *alias) {
        DevicePost *p = POST_NEW_DOMAIN(type, DevicePost, virDomainGetName(dom));

        if (p) {
                p->job_id = o->job_id;
                if (strdup_or_null(alias, &p->alias) < 0)
                        p = (DevicePost *) post_free(&p->post);
        }
        if (p)
                virt_post(o->virt, &p->post);
}

static void on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        post_device_event(opaque, POST_DEVICE_REMOVED, dom, alias);
}

static void on_device_removal_failed(virConnectPtr conn, virDomainPtr dom, const char *alias,
                                     void *opaque) {
        post_device_event(opaque, POST_DEVICE_REMOVAL_FAILED, dom, alias);
}

static void on_job_completed(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params,
                             int nparams, void *opaque) {
        EventOrigin *o = opaque;
        unsigned long long downtime;
        JobCompletedPost *p;
        int operation;

        /* Only migrations, and only when libvirt measured the pause. */
        if (virTypedParamsGetInt(params, nparams, VIR_DOMAIN_JOB_OPERATION, &operation) == 1 &&
            operation != VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT &&
            operation != VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN)
                return;
        if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &downtime) != 1)
                return;

        p = POST_NEW_DOMAIN(POST_JOB_COMPLETED, JobCompletedPost, virDomainGetName(dom));
        if (!p)
                return;
        p->job_id = o->job_id;
        p->downtime_ms = downtime;
        virt_post(o->virt, &p->post);
}

static void on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        EventOrigin *o = opaque;
        LifecyclePost *p = POST_NEW_DOMAIN(POST_LIFECYCLE, LifecyclePost, virDomainGetName(dom));

        if (!p)
                return;
        p->job_id = o->job_id;
        p->event = event;
        p->detail = detail;
        virt_post(o->virt, &p->post);
}

static void on_migration_iteration(virConnectPtr conn, virDomainPtr dom, int iteration, void *opaque) {
        EventOrigin *o = opaque;
        IterationPost *p = POST_NEW_DOMAIN(POST_ITERATION, IterationPost, virDomainGetName(dom));

        if (!p)
                return;
        p->iteration = iteration > 0 ? (unsigned) iteration : 0;
        virt_post(o->virt, &p->post);
}

static void on_connection_closed(virConnectPtr conn, int reason, void *opaque) {
        EventOrigin *o = opaque;
        ConnectionClosedPost *p = POST_NEW(POST_CONNECTION_CLOSED, ConnectionClosedPost);

        if (!p)
                return;
        p->job_id = o->job_id;
        p->reason = reason;
        p->conn = conn; /* compared only */
        virt_post(o->virt, &p->post);
}

static void on_wake(int timer, void *opaque) {
}

static void *event_thread_main(void *userdata) {
        Virt *v = userdata;

        while (!atomic_load(&v->event_quit))
                (void) virEventRunDefaultImpl();
        return NULL;
}

static void silence_libvirt(void *userdata, virErrorPtr error) {
        /* libvirt prints every error to stderr by default; we report them ourselves. */
}

static int libvirt_init_result;
static void libvirt_init_once(void) {
        /* Before any connection is opened, and once per process. */
        if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
                libvirt_init_result = -EIO;
        virSetErrorFunc(NULL, silence_libvirt);
}

static int libvirt_init(void) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        pthread_once(&once, libvirt_init_once);
        return libvirt_init_result;
}

/* Jobs */

Request *request_free(Request *q) {
        if (!q)
                return NULL;
        free(q->domain);
        free(q->destination_uri);
        free(q->migrate_uri);
        free(q->bond);
        free(q->vf_spec);
        free(q->vf_alias);
        free(q->vf_mac);
        free(q->vf_xml);
        free(q->plug_network);
        free(q->plug_xml);
        free(q->check_error);
        free(q);
        return NULL;
}

static void migrate_call_reap(VirtJob *j, bool wait);

static VirtJob *virt_job_free(VirtJob *j) {
        if (!j)
                return NULL;
        /* The worker is gone (joined) or never ran: what it held is the loop's to drop. */
        while (j->requests) {
                Request *q = j->requests;
                j->requests = q->next;
                request_free(q);
        }
        if (j->source_dom)
                virDomainFree(j->source_dom);
        if (j->dest_dom)
                virDomainFree(j->dest_dom);
        json_object_put(j->replay_said);
        free(j->host_uuid);
        if (j->dest)
                virConnectClose(j->dest);
        if (j->local)
                virConnectClose(j->local);
        virt_monitor_stop(j->monitor);
        migrate_call_reap(j, true); /* the worker did before it exited: nothing left here */
        pthread_cond_destroy(&j->cond);
        pthread_mutex_destroy(&j->lock);
        free(j->domain);
        free(j);
        return NULL;
}

/* The backend's part of the job of id, through the manager's record of it: NULL if the job is
 * gone or released (its worker may still be exiting). */
VirtJob *virt_find_job(Virt *v, uint32_t id) {
        Migration *m = virt_job_migration(v, id);

        return m ? migration_get_backend_data(m) : NULL;
}

static void virt_unlink_job(Virt *v, VirtJob *j) {
        for (VirtJob **p = &v->jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        return;
                }
}

static int virt_job_new(Virt *v, Migration *m, VirtJob **ret) {
        VirtJob *j;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->virt = v;
        j->id = migration_get_id(m);
        j->domain = strdup(migration_get_domain(m));
        j->requests_tail = &j->requests;
        j->dest_callbacks[0] = j->dest_callbacks[1] = -1;
        pthread_mutex_init(&j->lock, NULL);
        pthread_cond_init(&j->cond, NULL);
        if (!j->domain) {
                virt_job_free(j);
                return -ENOMEM;
        }
        /* virConnectRef() only counts: fine on the loop. Without a connection (libvirtd went
         * away) the worker opens its own. */
        if (v->conn && virConnectRef(v->conn) >= 0)
                j->local = v->conn;

        j->next = v->jobs;
        v->jobs = j;
        migration_set_backend_data(m, j);
        *ret = j;
        return 0;
}

/* Worker: helpers that fill a result */

int result_fail(Outcome *o, int r, const char *fmt, ...) {
        va_list ap;

        o->r = r < 0 ? r : -EIO;
        free(o->message);
        va_start(ap, fmt);
        if (vasprintf(&o->message, fmt, ap) < 0)
                o->message = NULL;
        va_end(ap);
        return o->r;
}

/* "what: libvirt's message", for a libvirt call that just failed on this thread. */
/* What a libvirt error code means to the job: aborted (a cancel, or the policy's abort), the
 * domain gone, or a failure. */
static int errno_of_libvirt_error(int code) {
        if (code == VIR_ERR_OPERATION_ABORTED)
                return -ECANCELED;
        if (code == VIR_ERR_NO_DOMAIN)
                return -ENOENT;
        return -EIO;
}

int result_fail_libvirt(Outcome *o, const char *what) {
        virErrorPtr e = virGetLastError();

        return result_fail(o, errno_of_libvirt_error(e ? e->code : 0), "%s: %s", what, virGetLastErrorMessage());
}

int result_fail_agent(Outcome *o, int r, usec_t timeout, const char *what) {
        _cleanup_free_ char *why = NULL;

        if (agent_describe_error(r, timeout, &why) < 0)
                return result_fail(o, r, "%s: out of memory", what);
        if (what)
                return result_fail(o, r, "%s: %s", what, why);
        return result_fail(o, r, "%s", why);
}

void record_sample(ResultPost *p, const char *command, usec_t rtt) {
        if (p->n_agent_samples < AGENT_SAMPLES_MAX)
                p->agent_samples[p->n_agent_samples++] = (AgentSample) { .command = command, .rtt = rtt };
}

usec_t agent_timeout(usec_t time_left, usec_t cap) {
        usec_t t = time_left == USEC_INFINITY ? AGENT_DEFAULT_TIMEOUT_USEC : time_left;

        if (cap != USEC_INFINITY && t > cap)
                t = cap;
        return t < USEC_PER_SEC ? USEC_PER_SEC : t;
}

/* Drop a trailing period so the message reads as part of our sentence. */
static void strip_period(char *s) {
        size_t n = s ? strlen(s) : 0;

        while (n > 0 && (s[n - 1] == '.' || s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = '\0';
}

/* Run srvm-guest VERB ARGS... in the guest; succeed iff it exits 0 with "ok": true. Hands
 * back its JSON answer. */
int guest_run(virDomainPtr dom, char *const argv[], usec_t timeout, ResultPost *p,
                     json_object **ret) {
        _cleanup_(agent_exec_result_done) AgentExecResult res = {};
        _cleanup_(json_object_putp) json_object *answer = NULL;
        _cleanup_free_ char *error = NULL;
        const char *verb = argv[0];
        json_object *v;
        bool ok = false;
        int r;

        r = agent_exec(dom, SRVM_GUEST_PATH, argv, timeout, &res);
        if (r == -ETIMEDOUT) {
                char span[32];

                snprintf(span, sizeof(span), "%.1f s", (double) timeout / USEC_PER_SEC);
                return result_fail(&p->out, r, "srvm-guest %s did not finish within %s", verb, span);
        }
        if (r < 0) {
                _cleanup_free_ char *what = NULL;

                if (asprintf(&what, "could not run srvm-guest %s", verb) < 0)
                        return result_fail(&p->out, -ENOMEM, "out of memory");
                return result_fail_agent(&p->out, r, timeout, r == -EIO ? what : NULL);
        }
        for (size_t i = 0; i < res.n_samples; i++)
                record_sample(p, res.samples[i].command, res.samples[i].rtt);

        /* An answer past GUEST_REPLY_MAX is not parsed; stderr may still say why it failed. */
        answer = res.out_size <= GUEST_REPLY_MAX ? json_tokener_parse(res.out) : NULL;
        if (answer && json_object_is_type(answer, json_type_object)) {
                ok = json_object_object_get_ex(answer, "ok", &v) && json_object_get_boolean(v);
                if (json_object_object_get_ex(answer, "error", &v) &&
                    json_object_is_type(v, json_type_string))
                        error = utf8_escape(json_object_get_string(v), GUEST_TEXT_MAX);
        } else {
                json_object_put(answer);
                answer = NULL;
        }
        if (!error && res.err_size > 0) {
                /* No JSON reason: the first line of stderr is the next best. */
                _cleanup_free_ char *line = strndup(res.err, strcspn(res.err, "\n"));

                error = utf8_escape(line, GUEST_TEXT_MAX);
        }
        strip_period(error);

        if (res.exit_code != 0) {
                if (res.signal > 0)
                        return result_fail(&p->out, -EIO, "srvm-guest %s was killed by signal %d", verb, res.signal);
                return result_fail(&p->out, res.exit_code == 3 ? -ETIMEDOUT : res.exit_code == 4 ? -ENODEV : -EIO,
                                   "srvm-guest %s exited with status %d: %s", verb, res.exit_code,
                                   error ? error : "no reason given");
        }
        if (res.out_size > GUEST_REPLY_MAX)
                return result_fail(&p->out, -EBADMSG, "srvm-guest %s printed %zu bytes, more than the %d srvmd reads as an answer",
                                   verb, res.out_size, GUEST_REPLY_MAX);
        if (!answer)
                return result_fail(&p->out, -EBADMSG, "srvm-guest %s exited with status 0 but printed no JSON answer", verb);
        if (!ok)
                return result_fail(&p->out, -EBADMSG, "srvm-guest %s exited with status 0 but did not answer \"ok\": true%s%s",
                                   verb, error ? ": " : "", error ? error : "");

        if (ret)
                *ret = TAKE_PTR(answer);
        return 0;
}

static const char *json_get_string(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* The bond must be active-backup with a virtio-net slave that has carrier. */
int check_bond_status(json_object *status, const char *bond, ResultPost *p) {
        json_object *slaves, *v;
        const char *mode = json_get_string(status, "mode");
        size_t n;

        if (!mode || !streq(mode, "active-backup"))
                return result_fail(&p->out, -EMEDIUMTYPE, "the guest's %s is in mode %s, not active-backup",
                                   bond, strna(mode));

        if (!json_object_object_get_ex(status, "slaves", &slaves) ||
            !json_object_is_type(slaves, json_type_array))
                return result_fail(&p->out, -EBADMSG, "srvm-guest status gave no slave list for %s", bond);

        n = json_object_array_length(slaves);
        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(slaves, i);
                const char *driver = json_get_string(s, "driver");
                const char *mii = json_get_string(s, "mii_status");
                bool carrier = json_object_object_get_ex(s, "carrier", &v) && json_object_get_boolean(v);

                if (streq_ptr(driver, "virtio_net") && carrier && (!mii || streq(mii, "up")))
                        return 0;
        }

        return result_fail(&p->out, -ENETDOWN, "the guest's %s has no virtio-net slave with carrier", bond);
}

/* Worker: connections and domains */

static void dest_close(VirtJob *j);

int dest_open(VirtJob *j, const char *uri, ResultPost *p) {
        static const struct {
                int id;
                virConnectDomainEventGenericCallback cb;
        } events[] = {
                { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(on_device_removed) },
                { VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, VIR_DOMAIN_EVENT_CALLBACK(on_job_completed) },
        };
        EventOrigin *closing;

        if (j->dest && virConnectIsAlive(j->dest) == 1)
                return 0;
        if (j->dest)
                dest_close(j); /* that libvirtd went away: its domain handles went with it */
        if (!uri)
                return result_fail(&p->out, -EINVAL, "no destination URI was given");

        j->dest = virConnectOpen(uri);
        if (!j->dest)
                return result_fail(&p->out, -EHOSTUNREACH, "cannot connect to the destination's libvirt at %s: %s",
                                   uri, virGetLastErrorMessage());
        (void) virConnectSetKeepAlive(j->dest, KEEPALIVE_INTERVAL_SEC, KEEPALIVE_COUNT);

        /* Events of the domain once it lives there; routed by name on the loop. */
        for (size_t i = 0; i < ELEMENTSOF(events); i++) {
                EventOrigin *o = malloc(sizeof(*o));

                if (!o)
                        return result_fail(&p->out, -ENOMEM, "out of memory");
                *o = (EventOrigin) { .virt = j->virt, .job_id = j->id };
                j->dest_callbacks[i] = virConnectDomainEventRegisterAny(j->dest, NULL, events[i].id,
                                                                        events[i].cb, o, free);
                if (j->dest_callbacks[i] < 0) {
                        free(o);
                        return result_fail_libvirt(&p->out, "cannot watch the destination's domain events");
                }
        }

        /* So the job's events say when that libvirtd goes away under it (a restart). */
        closing = malloc(sizeof(*closing));
        if (!closing)
                return result_fail(&p->out, -ENOMEM, "out of memory");
        *closing = (EventOrigin) { .virt = j->virt, .job_id = j->id };
        if (virConnectRegisterCloseCallback(j->dest, on_connection_closed, closing, free) < 0)
                free(closing);
        return 0;
}

static void dest_close(VirtJob *j) {
        if (j->dest_dom) {
                virDomainFree(j->dest_dom);
                j->dest_dom = NULL;
        }
        if (!j->dest)
                return;
        for (size_t i = 0; i < ELEMENTSOF(j->dest_callbacks); i++)
                if (j->dest_callbacks[i] >= 0) {
                        (void) virConnectDomainEventDeregisterAny(j->dest, j->dest_callbacks[i]);
                        j->dest_callbacks[i] = -1;
                }
        (void) virConnectUnregisterCloseCallback(j->dest, on_connection_closed);
        virConnectClose(j->dest);
        j->dest = NULL;
}

/* The worker's local connection, alive: the one it has, or, if libvirtd went away and came
 * back (a restart), a new one. A connection libvirt closed stays closed, and the domain
 * handles taken through it are dead too. libvirtd may still be starting: wait for it,
 * within half the phase's time left, at most WORKER_RECONNECT_WAIT_MAX. */
static int job_ensure_local(VirtJob *j, const Request *q, ResultPost *p) {
        usec_t wait = WORKER_RECONNECT_WAIT_MAX, end;

        if (j->local && virConnectIsAlive(j->local) == 1)
                return 0;
        if (j->source_dom) {
                virDomainFree(j->source_dom);
                j->source_dom = NULL;
        }
        if (j->local) {
                virConnectClose(j->local);
                j->local = NULL;
        }

        if (q->time_left != USEC_INFINITY && wait > q->time_left / 2)
                wait = q->time_left / 2;
        end = now_usec() + wait;
        for (;;) {
                j->local = virConnectOpen(j->virt->local_uri);
                if (j->local)
                        break;
                if (now_usec() >= end)
                        return result_fail(&p->out, -ENOTCONN, "libvirt at %s is not connected (reconnecting): %s",
                                           j->virt->local_uri, virGetLastErrorMessage());
                (void) usleep(500 * USEC_PER_MSEC);
        }
        (void) virConnectSetKeepAlive(j->local, KEEPALIVE_INTERVAL_SEC, KEEPALIVE_COUNT);
        log_debug("%s: job %u: opened a new connection to libvirt at %s", j->domain, j->id, j->virt->local_uri);
        return 0;
}

/* The job's domain on the given side, looked up once and kept. */
int job_get_domain(VirtJob *j, const Request *q, Side side, virDomainPtr *ret, ResultPost *p) {
        virDomainPtr *slot = side == SIDE_DESTINATION ? &j->dest_dom : &j->source_dom;
        virConnectPtr conn;
        int r;

        if (side == SIDE_DESTINATION && *slot && j->dest && virConnectIsAlive(j->dest) != 1)
                dest_close(j); /* drops the dead handle; dest_open() below opens anew */
        if (*slot) {
                *ret = *slot;
                return 0;
        }

        if (side == SIDE_DESTINATION) {
                r = dest_open(j, q->destination_uri, p);
                if (r < 0)
                        return r;
                conn = j->dest;
        } else
                conn = j->local;

        *slot = virDomainLookupByName(conn, q->domain);
        if (!*slot) {
                virErrorPtr e = virGetLastError();

                if (e && e->code == VIR_ERR_NO_DOMAIN)
                        return result_fail(&p->out, -ENOENT, "the domain does not exist on the %s host",
                                           side == SIDE_DESTINATION ? "destination" : "source");
                return result_fail_libvirt(&p->out, "cannot look the domain up");
        }
        *ret = *slot;
        return 0;
}

/* Worker: the actions */

static int do_failover(VirtJob *j, const Request *q, ResultPost *p) {
        virDomainPtr dom;
        int r;

        r = job_get_domain(j, q, q->side, &dom, p);
        if (r < 0)
                return r;

        return guest_run(dom, (char *const[]) { (char *) "failover", (char *) "--bond", q->bond,
                                                (char *) "--announce-count", (char *) GUEST_ANNOUNCE_COUNT,
                                                (char *) "--announce-interval-ms",
                                                (char *) GUEST_ANNOUNCE_INTERVAL_MS, NULL },
                         agent_timeout(q->time_left, USEC_INFINITY), p, NULL);
}

/* Whether the live XML still has the VF: 1 or 0; -EIO with libvirt's error on this thread,
 * or -EBADMSG. */
static int vf_present(virDomainPtr dom, const Request *q) {
        _cleanup_free_ char *xml = NULL;

        xml = virDomainGetXMLDesc(dom, 0);
        if (!xml)
                return -EIO;
        return virt_xml_has_vf(xml, q->vf_alias, q->vf_alias ? NULL : q->vf_mac);
}

/* The plan this job writes, from what the request holds: its strings are the request's. */
static VirtXmlPlan plan_of_request(VirtJob *j, const Request *q) {
        return (VirtXmlPlan) {
                .vf_alias = q->vf_alias,
                .vf_mac = q->vf_mac,
                .bond = q->bond,
                .source = j->virt->local_uri,
                .device_xml = q->vf_xml,
                .job = j->id,
        };
}

/* The plan into the domain's live <metadata>; -EIO with libvirt's error on this thread. */
static int plan_store(virDomainPtr dom, const VirtXmlPlan *plan) {
        _cleanup_free_ char *xml = NULL;
        int r;

        r = virt_xml_make_plan(plan, &xml);
        if (r < 0)
                return r;
        if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, SRVM_XMLNS_PREFIX, SRVM_XMLNS,
                                 VIR_DOMAIN_AFFECT_LIVE) < 0)
                return -EIO;
        return 0;
}

/* The plan travels with the domain in its live <metadata>: a destination srvmd that sees the
 * domain arrive without its VF plugs it from there. Best effort: without it, only the
 * coordinator can finish the job. */
static void write_plan(VirtJob *j, const Request *q, virDomainPtr dom) {
        VirtXmlPlan plan = plan_of_request(j, q);

        (void) plan_store(dom, &plan);
}

/* The lease on finishing a domain after its move (see SRVM_PLAN_HOLDER). */

#define LEASE_DEFAULT_SEC 120 /* a phase with no time limit */
#define LEASE_MAX_SEC 600
#define LEASE_POLL_USEC (500 * USEC_PER_MSEC)

static uint64_t realtime_sec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec;
}

/* The host UUID of the libvirtd behind conn, from its capabilities. */
static int host_uuid_of(virConnectPtr conn, char **ret) {
        _cleanup_free_ char *caps = virConnectGetCapabilities(conn);

        return caps ? virt_xml_host_uuid(caps, ret) : -EIO;
}

/* This host's libvirt UUID, asked once per job; NULL if libvirt does not say. */
static const char *job_host_uuid(VirtJob *j) {
        if (!j->host_uuid && j->local)
                (void) host_uuid_of(j->local, &j->host_uuid);
        return j->host_uuid;
}

static bool job_quitting(VirtJob *j) {
        bool quit;

        pthread_mutex_lock(&j->lock);
        quit = j->quit;
        pthread_mutex_unlock(&j->lock);
        return quit;
}

/* A note for the job's events, from the worker. */
static void worker_note(VirtJob *j, const char *domain, const char *fmt, ...) _printf_(3, 4);
static void worker_note(VirtJob *j, const char *domain, const char *fmt, ...) {
        NotePost *p = POST_NEW_DOMAIN(POST_NOTE, NotePost, domain);
        va_list ap;

        if (!p)
                return;
        p->job_id = j->id;
        va_start(ap, fmt);
        if (vasprintf(&p->note, fmt, ap) < 0)
                p->note = NULL;
        va_end(ap);
        virt_post(j->virt, &p->post);
}

/* The domain's plan as it is now; for a coordinator whose plan is missing (written best
 * effort at unplug), the one it would have written. 0 with no plan: an arrival srvm adopted
 * from its policy, which no coordinator shares. */
static int read_plan(VirtJob *j, const Request *q, virDomainPtr dom, VirtXmlPlan *ret) {
        const VirtXmlPlan from = plan_of_request(j, q);
        _cleanup_free_ char *metadata = NULL;

        metadata = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, SRVM_XMLNS, VIR_DOMAIN_AFFECT_LIVE);
        if (metadata && virt_xml_parse_plan(metadata, ret) >= 0)
                return 1;
        if (q->arrival)
                return 0;
        *ret = (VirtXmlPlan) { .job = from.job };
        if (strdup_or_null(from.vf_alias, &ret->vf_alias) < 0 || strdup_or_null(from.vf_mac, &ret->vf_mac) < 0 ||
            strdup_or_null(from.bond, &ret->bond) < 0 || strdup_or_null(from.source, &ret->source) < 0 ||
            strdup_or_null(from.device_xml, &ret->device_xml) < 0) {
                virt_xml_plan_done(ret);
                return -ENOMEM;
        }
        return 1;
}

static int write_lease(VirtXmlPlan *plan, virDomainPtr dom, const char *host, unsigned job, uint64_t until) {
        int r;

        r = virt_xml_plan_set_lease(plan, host, job, until);
        if (r < 0)
                return r;
        return plan_store(dom, plan);
}

/* Before plug, link or failback where the domain now runs: take the lease on finishing it
 * for this phase's time, or wait while another srvmd's job holds it (a coordinator that came
 * back while the destination's srvmd finished its arrival, or the other way round), within
 * the phase's time. Who waited then finds done what the other did. 0: go on. */
static int lease_take(VirtJob *j, const Request *q, virDomainPtr dom, ResultPost *p) {
        usec_t deadline = q->time_left == USEC_INFINITY ? USEC_INFINITY : now_usec() + q->time_left;
        const char *self = job_host_uuid(j);
        _cleanup_free_ char *waited_for = NULL; /* the holder we waited for */

        if (!self) {
                worker_note(j, q->domain, "cannot take the lease on the domain: libvirt at %s does not give its host UUID",
                            j->virt->local_uri);
                return 0;
        }

        for (;;) {
                _cleanup_(virt_xml_plan_done) VirtXmlPlan plan = {};
                uint64_t now = realtime_sec(), left, budget;
                int r;

                r = read_plan(j, q, dom, &plan);
                if (r < 0)
                        return result_fail(&p->out, r, "out of memory");
                if (r == 0)
                        return 0;

                left = virt_xml_plan_lease_left(&plan, self, j->id, now);
                if (left == 0) {
                        budget = LEASE_DEFAULT_SEC;
                        if (q->time_left != USEC_INFINITY) {
                                budget = (q->time_left + USEC_PER_SEC - 1) / USEC_PER_SEC;
                                if (budget > LEASE_MAX_SEC)
                                        budget = LEASE_MAX_SEC;
                        }
                        r = write_lease(&plan, dom, self, j->id, now + budget + SRVM_LEASE_MARGIN_SEC);
                        if (r < 0)
                                worker_note(j, q->domain, "cannot write the lease on the domain: %s",
                                            r == -EIO ? virGetLastErrorMessage() : strerror(-r));
                        if (waited_for)
                                worker_note(j, q->domain, "the srvmd on host %s let the domain go; going on",
                                            waited_for);
                        return 0;
                }
                if (!waited_for) {
                        worker_note(j, q->domain,
                                    "the srvmd on host %s holds the domain (its job %u) for up to %" PRIu64
                                    " s more: waiting for it to finish",
                                    plan.holder, plan.holder_job, left);
                        waited_for = strdup(plan.holder);
                        if (!waited_for)
                                return result_fail(&p->out, -ENOMEM, "out of memory");
                }
                if (job_quitting(j))
                        return result_fail(&p->out, -ECANCELED, "srvmd is stopping");
                if (deadline != USEC_INFINITY && now_usec() + LEASE_POLL_USEC > deadline)
                        return result_fail(&p->out, -EBUSY,
                                           "the srvmd on host %s still holds the domain (its job %u) for %" PRIu64
                                           " s: it is finishing it",
                                           plan.holder, plan.holder_job, left);
                (void) usleep(LEASE_POLL_USEC);
        }
}

/* After failback: the domain is finished; nobody need wait for this job any more. */
static void lease_drop(VirtJob *j, const Request *q, virDomainPtr dom) {
        _cleanup_(virt_xml_plan_done) VirtXmlPlan plan = {};
        const char *self = job_host_uuid(j);

        if (!self || read_plan(j, q, dom, &plan) <= 0 || !plan.holder)
                return;
        if (strcasecmp(plan.holder, self) != 0 || plan.holder_job != j->id)
                return; /* someone else's by now */
        (void) write_lease(&plan, dom, NULL, 0, 0);
}

static int do_unplug(VirtJob *j, const Request *q, ResultPost *p) {
        virDomainPtr dom;
        int r;

        if (!q->vf_xml)
                return result_fail(&p->out, -EINVAL, "no VF was recorded to unplug");
        r = job_get_domain(j, q, q->side, &dom, p);
        if (r < 0)
                return r;

        write_plan(j, q, dom);

        /* libvirt waits a few seconds for the guest to let go; DEVICE_REMOVED tells the rest. */
        if (virDomainDetachDeviceFlags(dom, q->vf_xml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
                _cleanup_free_ char *why = strdup(virGetLastErrorMessage());

                /* Already gone (a retry, or the guest was quicker) is what we wanted. */
                if (vf_present(dom, q) == 0)
                        return 1;
                return result_fail(&p->out, -EIO, "libvirt could not detach the VF: %s", strna(why));
        }

        r = vf_present(dom, q);
        if (r == -EIO)
                return result_fail_libvirt(&p->out, "cannot read the domain's XML");
        if (r < 0)
                return result_fail(&p->out, r, "cannot understand the domain's XML");
        return r == 0; /* 1: verified gone; 0: DEVICE_REMOVED will tell */
}

/* The VM pause of the migration that brought dom here, from the destination's completed job
 * stats, for when the JOB_COMPLETED event does not bring it (or came while srvmd was down). */
static void read_completed_downtime(virDomainPtr dom, ResultPost *p) {
        virTypedParameterPtr stats = NULL;
        unsigned long long downtime;
        int type, n_stats = 0;

        /* KEEP_COMPLETED: reading them would otherwise take them from `virsh domjobinfo --completed`. */
        if (virDomainGetJobStats(dom, &type, &stats, &n_stats,
                                 VIR_DOMAIN_JOB_STATS_COMPLETED | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED) == 0 &&
            virTypedParamsGetULLong(stats, n_stats, VIR_DOMAIN_JOB_DOWNTIME, &downtime) == 1) {
                p->downtime_ms = downtime;
                p->have_downtime = true;
        }
        virTypedParamsFree(stats, n_stats);
}

/* libvirt's migrate call on a thread of its own. The worker waits for it, watching the
 * destination meanwhile: once QEMU resumed the domain there, the migration is done for the
 * job (the domain runs there, nothing undoes it), and the worker reports it at once and goes
 * on to plug, while libvirt still confirms on the source and stops its QEMU, which took
 * 1.2-1.9 s in the lab. The call's own end is said in the job's events. */
typedef struct MigrateCall {
        virDomainPtr dom; /* ref */
        char *uri;
        virTypedParameterPtr params; /* owned */
        int n_params;
        unsigned flags;
        usec_t ran_there; /* when the worker saw the domain run on the destination */

        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;  /* on CLOCK_MONOTONIC */
        bool done;            /* under lock, as the four below */
        usec_t ended;         /* when the call returned */
        int r;
        int error_code;       /* libvirt's, when r < 0 */
        char *error;          /* libvirt's message when r < 0 */
} MigrateCall;

#define MIGRATE_WATCH_USEC (20 * USEC_PER_MSEC)

static MigrateCall *migrate_call_free(MigrateCall *c) {
        if (!c)
                return NULL;
        if (c->dom)
                virDomainFree(c->dom);
        free(c->uri);
        virTypedParamsFree(c->params, c->n_params);
        free(c->error);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

static void *migrate_call_main(void *userdata) {
        MigrateCall *c = userdata;
        char *error = NULL;
        int r, code = 0;

        r = virDomainMigrateToURI3(c->dom, c->uri, c->params, (unsigned) c->n_params, c->flags);
        /* libvirt's errors are per thread: this one is read here or never. */
        if (r < 0) {
                virErrorPtr e = virGetLastError();

                code = e ? e->code : 0;
                error = strdup(virGetLastErrorMessage());
        }
        pthread_mutex_lock(&c->lock);
        c->ended = now_usec();
        c->r = r;
        c->error_code = code;
        c->error = error;
        c->done = true;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

/* Start the call; takes params. */
static int migrate_call_start(virDomainPtr dom, const char *uri, virTypedParameterPtr params, int n_params,
                              unsigned flags, MigrateCall **ret) {
        pthread_condattr_t attr;
        MigrateCall *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c) {
                virTypedParamsFree(params, n_params);
                return -ENOMEM;
        }
        c->params = params;
        c->n_params = n_params;
        c->flags = flags;
        pthread_mutex_init(&c->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &attr);
        pthread_condattr_destroy(&attr);
        c->uri = strdup(uri);
        if (!c->uri || virDomainRef(dom) < 0) {
                migrate_call_free(c);
                return -ENOMEM;
        }
        c->dom = dom;
        r = -pthread_create(&c->thread, NULL, migrate_call_main, c);
        if (r < 0) {
                migrate_call_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

/* Wait up to usec for the call to end; whether it did. */
static bool migrate_call_wait(MigrateCall *c, usec_t usec) {
        struct timespec until;
        bool done;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t) (usec / USEC_PER_SEC);
        until.tv_nsec += (long) (usec % USEC_PER_SEC * NSEC_PER_USEC);
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&c->lock);
        while (!c->done && pthread_cond_timedwait(&c->cond, &c->lock, &until) == 0)
                ;
        done = c->done;
        pthread_mutex_unlock(&c->lock);
        return done;
}

/* Whether QEMU runs the domain on the destination after a completed pre-copy migration
 * (not in post-copy, where its memory is still on the source). Quiet while the incoming
 * domain is not there yet or still paused. */
static bool runs_on_destination(VirtJob *j, const Request *q) {
        int state, reason;

        if (!j->dest_dom) {
                j->dest_dom = virDomainLookupByName(j->dest, q->domain);
                if (!j->dest_dom) {
                        virResetLastError();
                        return false;
                }
        }
        if (virDomainGetState(j->dest_dom, &state, &reason, 0) < 0) {
                virResetLastError();
                return false;
        }
        return state == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_MIGRATED;
}

/* A call the worker left running: join it once it ended (wait: however long that takes),
 * and say in the job's events how it ended. */
static void migrate_call_reap(VirtJob *j, bool wait) {
        MigrateCall *c = j->migrate_call;
        usec_t after;

        if (!c || (!wait && !migrate_call_wait(c, 0)))
                return;
        (void) pthread_join(c->thread, NULL);
        after = c->ended > c->ran_there ? c->ended - c->ran_there : 0;
        if (c->r < 0)
                worker_note(j, j->domain, "libvirt's migrate call failed %.1f s after the domain ran on the destination: %s",
                            (double) after / USEC_PER_SEC, strna(c->error));
        else
                worker_note(j, j->domain, "libvirt's migrate call returned %.1f s after the domain ran on the destination",
                            (double) after / USEC_PER_SEC);
        j->migrate_call = migrate_call_free(c);
}

/* How long verify keeps the hold after its start: QEMU announces the NICs it emulates at 0,
 * 50, 200, 450 and 800 ms after the domain resumes on the destination (its default
 * announce-initial 50 ms, -step 100 ms, -rounds 5), and verify starts after that resume. */
#define NATIVE_HOLD_MS "1000"

/* The native path's hold (srvm-guest hold, before the migration) and its release (after a
 * migration that did not move the domain; verify releases it otherwise). Best effort: without
 * it the migration still goes, the job's events say why it did not take. */
static void guest_hold(VirtJob *j, const Request *q, virDomainPtr dom, const char *verb) {
        _cleanup_(post_freep) Post *scratch = NULL;
        ResultPost *r = POST_NEW_DOMAIN(POST_RESULT, ResultPost, q->domain);

        if (!r)
                return;
        scratch = &r->post;
        if (guest_run(dom, (char *const[]) { (char *) verb, (char *) "--bond", q->bond, NULL },
                      agent_timeout(q->time_left, q->agent_timeout), r, NULL) < 0)
                worker_note(j, q->domain, "srvm-guest %s did not take: %s", verb, strna(r->out.message));
}

static int do_migrate(VirtJob *j, const Request *q, ResultPost *p) {
        _cleanup_free_ char *persist_xml = NULL;
        MigrateCall *call = NULL;
        virTypedParameterPtr params = NULL;
        int n_params = 0, max_params = 0, persistent, r = 0;
        unsigned flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_ABORT_ON_ERROR;
        virDomainPtr dom, there;

        r = job_get_domain(j, q, SIDE_SOURCE, &dom, p);
        if (r < 0)
                return r;
        r = dest_open(j, q->destination_uri, p);
        if (r < 0)
                return r;

        if (q->migrate_uri &&
            virTypedParamsAddString(&params, &n_params, &max_params, VIR_MIGRATE_PARAM_URI, q->migrate_uri) < 0) {
                r = result_fail(&p->out, -ENOMEM, "out of memory");
                goto finish;
        }

        /* The policy's settings. The max downtime is a migration parameter of QEMU's that
         * libvirt sets outside a migration job too: set it before the start. */
        if (q->migration.bandwidth_mib_s > 0 &&
            virTypedParamsAddULLong(&params, &n_params, &max_params, VIR_MIGRATE_PARAM_BANDWIDTH,
                                    q->migration.bandwidth_mib_s) < 0) {
                r = result_fail(&p->out, -ENOMEM, "out of memory");
                goto finish;
        }
        if (q->migration.auto_converge)
                flags |= VIR_MIGRATE_AUTO_CONVERGE;
        if (q->migration.allow_postcopy)
                flags |= VIR_MIGRATE_POSTCOPY;
        if (q->migration.parallel_connections > 0) {
                flags |= VIR_MIGRATE_PARALLEL;
                if (virTypedParamsAddInt(&params, &n_params, &max_params, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
                                         (int) q->migration.parallel_connections) < 0) {
                        r = result_fail(&p->out, -ENOMEM, "out of memory");
                        goto finish;
                }
        }
        if (q->migration.compression != POLICY_COMPRESSION_NONE) {
                flags |= VIR_MIGRATE_COMPRESSED;
                if (virTypedParamsAddString(&params, &n_params, &max_params, VIR_MIGRATE_PARAM_COMPRESSION,
                                            policy_compression_to_string(q->migration.compression)) < 0) {
                        r = result_fail(&p->out, -ENOMEM, "out of memory");
                        goto finish;
                }
        }
        if (q->migration.max_downtime_ms > 0 &&
            virDomainMigrateSetMaxDowntime(dom, q->migration.max_downtime_ms, 0) < 0) {
                r = result_fail_libvirt(&p->out, "cannot set the max downtime");
                goto finish;
        }

        persistent = virDomainIsPersistent(dom);
        if (persistent < 0) {
                r = result_fail_libvirt(&p->out, "cannot tell whether the domain is persistent");
                goto finish;
        }
        if (persistent) {
                /* The inactive config still has the VF: the destination defines it so. */
                persist_xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE |
                                                  VIR_DOMAIN_XML_MIGRATABLE);
                if (!persist_xml) {
                        r = result_fail_libvirt(&p->out, "cannot read the domain's persistent XML");
                        goto finish;
                }
                if (virTypedParamsAddString(&params, &n_params, &max_params, VIR_MIGRATE_PARAM_PERSIST_XML,
                                            persist_xml) < 0) {
                        r = result_fail(&p->out, -ENOMEM, "out of memory");
                        goto finish;
                }
                flags |= VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
        }

        /* The VF moves with the domain: the standby delivers what the network sends it while
         * the network relearns where the guest is (see srvm-guest hold). */
        if (q->native)
                guest_hold(j, q, dom, "hold");

        /* A call an earlier attempt left running ends first. */
        migrate_call_reap(j, true);
        /* Without the monitor the migration still runs; only its progress goes unseen. */
        (void) virt_monitor_start(dom, VIRT_MONITOR_INTERVAL_USEC, on_progress, j, &j->monitor);
        r = migrate_call_start(dom, q->destination_uri, TAKE_PTR(params), n_params, flags, &call);
        n_params = 0;
        if (r < 0) {
                j->monitor = virt_monitor_stop(j->monitor);
                r = result_fail(&p->out, r, "cannot start the migration's thread");
                goto finish;
        }
        while (!migrate_call_wait(call, MIGRATE_WATCH_USEC))
                if (runs_on_destination(j, q)) {
                        call->ran_there = now_usec();
                        break;
                }
        j->monitor = virt_monitor_stop(j->monitor);
        if (call->ran_there != 0) {
                /* Done for the job; the call's end is reaped later. */
                j->migrate_call = TAKE_PTR(call);
                log_debug("%s: job %u: runs on the destination; libvirt's migrate call still returning",
                          j->domain, j->id);
        } else {
                (void) pthread_join(call->thread, NULL);
                r = call->r;
                if (r < 0)
                        r = result_fail(&p->out, errno_of_libvirt_error(call->error_code),
                                        "libvirt could not migrate the domain: %s", strna(call->error));
                call = migrate_call_free(call);
                if (r < 0 && q->native && r != -ENOTCONN)
                        guest_hold(j, q, dom, "release"); /* still on the source, with its VF */
                if (r < 0) {
                        /* The incoming domain the watch looked up is gone with the migration. */
                        if (j->dest_dom) {
                                virDomainFree(j->dest_dom);
                                j->dest_dom = NULL;
                        }
                        goto finish;
                }
        }

        /* It runs there now. The pause as libvirt measured it, unless the event brings it. */
        if (job_get_domain(j, q, SIDE_DESTINATION, &there, p) < 0) {
                /* Migrated but not visible: say so, yet the migration itself succeeded. */
                free(p->out.message);
                p->out.message = NULL;
                p->out.r = 0;
                goto finish;
        }
        read_completed_downtime(there, p);

finish:
        virTypedParamsFree(params, n_params);
        return r;
}

#define LATE_REMOVAL_WAIT_USEC (5 * USEC_PER_SEC)
#define LATE_REMOVAL_POLL_USEC (100 * USEC_PER_MSEC)

/* 1 if the VF is still there after the wait (bounded by the phase's time left), 0 if it
 * went, -EIO if libvirt failed. */
static int await_late_removal(virDomainPtr dom, const Request *q, const char *alias) {
        usec_t wait = LATE_REMOVAL_WAIT_USEC, end;

        if (q->time_left != USEC_INFINITY && wait > q->time_left / 2)
                wait = q->time_left / 2;
        end = now_usec() + wait;
        for (;;) {
                _cleanup_free_ char *xml = NULL;
                int r;

                xml = virDomainGetXMLDesc(dom, 0);
                if (!xml)
                        return -EIO;
                r = virt_xml_has_vf(xml, alias, q->vf_mac);
                if (r <= 0)
                        return r < 0 ? -EIO : 0;
                if (now_usec() >= end)
                        return 1;
                (void) usleep(LATE_REMOVAL_POLL_USEC);
        }
}

static int do_plug(VirtJob *j, const Request *q, ResultPost *p) {
        _cleanup_free_ char *plug_xml = NULL, *xml = NULL;
        const char *alias;
        virDomainPtr dom;
        int r;

        if (!q->vf_xml)
                return result_fail(&p->out, -EINVAL, "no VF was recorded to plug");
        r = job_get_domain(j, q, q->side, &dom, p);
        if (r < 0)
                return r;

        /* The destination plugs what the policy says; the source takes its own VF back. */
        if (q->side == SIDE_DESTINATION && q->plug_xml) {
                plug_xml = strdup(q->plug_xml);
                if (!plug_xml)
                        return result_fail(&p->out, -ENOMEM, "out of memory");
        } else {
                r = virt_xml_make_plug_xml(q->vf_xml, &plug_xml);
                if (r < 0)
                        return result_fail(&p->out, r, "cannot rewrite the recorded VF XML");
        }

        /* Present already (by its user alias, or a VF with its MAC): nothing to attach.
         * libvirt's own aliases ("net1") are not kept across a re-plug, so only user ones
         * ("ua-") say anything. */
        xml = virDomainGetXMLDesc(dom, 0);
        if (!xml)
                return result_fail_libvirt(&p->out, "cannot read the domain's XML");
        alias = q->vf_alias && strncmp(q->vf_alias, "ua-", 3) == 0 ? q->vf_alias : NULL;
        r = virt_xml_has_vf(xml, alias, q->vf_mac);
        if (r < 0)
                return result_fail(&p->out, r, "cannot understand the domain's XML");
        if (r > 0 && q->removal_pending) {
                /* The guest was asked to let the VF go and had not when unplug gave up: QEMU
                 * keeps the eject request, so it may still go. Give the guest a moment to do
                 * it, then plug the VF back, rather than trust a VF on its way out. */
                r = await_late_removal(dom, q, alias);
                if (r < 0)
                        return result_fail_libvirt(&p->out, "cannot read the domain's XML");
                p->late_removal = r == 0;
        }
        if (r > 0)
                return 1;

        if (virDomainAttachDeviceFlags(dom, plug_xml, VIR_DOMAIN_AFFECT_LIVE) < 0)
                return result_fail_libvirt(&p->out, "libvirt could not attach the VF");
        return 0;
}

#define AGENT_CONNECT_WAIT_MAX (10 * USEC_PER_SEC)
#define AGENT_CONNECT_POLL_USEC (100 * USEC_PER_MSEC)

/* The destination's libvirt connects to the guest agent only once it has finished the incoming
 * migration, which in the lab came up to 3 s after QEMU resumed the domain there, when the job
 * already plugs and links: wait for the agent (bounded by half the phase's time left) rather
 * than fail the phase on an agent that is about to be there. Any other answer ends the wait;
 * the command that follows says what is wrong. */
static void await_agent(virDomainPtr dom, const Request *q) {
        usec_t wait = AGENT_CONNECT_WAIT_MAX, end;

        if (q->time_left != USEC_INFINITY && wait > q->time_left / 2)
                wait = q->time_left / 2;
        end = now_usec() + wait;
        while (agent_ping(dom, USEC_PER_SEC, NULL) == -ENOTCONN && now_usec() < end)
                (void) usleep(AGENT_CONNECT_POLL_USEC);
}

/* enslave, failback, or verify (the native path's: the VF that moved with the domain is still
 * the active slave with carrier; it switches nothing and announces). */
static int do_guest_enslave(VirtJob *j, const Request *q, const char *verb, ResultPost *p) {
        _cleanup_(json_object_putp) json_object *answer = NULL;
        bool announce = streq(verb, "failback") || streq(verb, "verify");
        bool verify = streq(verb, "verify");
        char seconds[32];
        usec_t s;
        virDomainPtr dom;
        int r;

        if (!q->vf_mac)
                return result_fail(&p->out, -EINVAL, "no VF MAC was recorded");
        r = job_get_domain(j, q, q->side, &dom, p);
        if (r < 0)
                return r;

        if (q->side == SIDE_DESTINATION || q->arrival)
                await_agent(dom, q);
        s = agent_timeout(q->time_left, USEC_INFINITY);
        snprintf(seconds, sizeof(seconds), "%llu.%llu", s / USEC_PER_SEC, s % USEC_PER_SEC / (USEC_PER_SEC / 10));

        r = guest_run(dom,
                      (char *const[]) { (char *) verb, (char *) "--bond", q->bond, (char *) "--mac",
                                        q->vf_mac, (char *) "--timeout", seconds,
                                        /* enslave announces nothing: its list ends here */
                                        announce ? (char *) "--announce-count" : NULL,
                                        (char *) GUEST_ANNOUNCE_COUNT, (char *) "--announce-interval-ms",
                                        (char *) GUEST_ANNOUNCE_INTERVAL_MS,
                                        verify ? (char *) "--hold-ms" : NULL, (char *) NATIVE_HOLD_MS, NULL },
                      s + AGENT_EXEC_MARGIN_USEC + (verify ? 1000 * USEC_PER_MSEC : 0), p, &answer);
        if (r >= 0) {
                json_object *replay = guest_reply_replay(answer);

                (void) guest_reply_replay_note(answer, j->replay_said, &p->guest_note);
                if (replay) {
                        json_object_put(j->replay_said);
                        j->replay_said = json_object_get(replay);
                }
        }
        return r;
}

/* Whether the named domain is active on conn: 1 yes, 0 no (absent or shut off). */
static int domain_is_active(virConnectPtr conn, const char *name, ResultPost *p) {
        virDomainPtr d;
        int r;

        d = virDomainLookupByName(conn, name);
        if (!d) {
                virErrorPtr e = virGetLastError();

                if (e && e->code == VIR_ERR_NO_DOMAIN)
                        return 0;
                return result_fail_libvirt(&p->out, "cannot look the domain up");
        }
        r = virDomainIsActive(d);
        virDomainFree(d);
        if (r < 0)
                return result_fail_libvirt(&p->out, "cannot read whether the domain runs");
        return r;
}

/* After srvmd restarted: where does the domain run? A migration libvirt still drives on its
 * own (peer to peer, it outlives our connection) is waited out first, within the budget. */
static int do_locate(VirtJob *j, const Request *q, ResultPost *p) {
        usec_t deadline = q->time_left == USEC_INFINITY ? USEC_INFINITY : now_usec() + q->time_left;
        int r;

        for (;;) {
                virDomainPtr d = virDomainLookupByName(j->local, q->domain);
                virDomainJobInfo info = {};

                if (!d)
                        break;
                r = virDomainGetJobInfo(d, &info);
                virDomainFree(d);
                if (r < 0 || info.type == VIR_DOMAIN_JOB_NONE || info.type == VIR_DOMAIN_JOB_COMPLETED ||
                    info.type == VIR_DOMAIN_JOB_FAILED || info.type == VIR_DOMAIN_JOB_CANCELLED)
                        break;
                if (now_usec() >= deadline)
                        return result_fail(&p->out, -ETIMEDOUT, "a libvirt job of the domain is still running");
                (void) usleep(200 * USEC_PER_MSEC);
        }

        r = domain_is_active(j->local, q->domain, p);
        if (r != 0)
                return r < 0 ? r : 0;

        r = dest_open(j, q->destination_uri, p);
        if (r < 0)
                return r;
        r = domain_is_active(j->dest, q->domain, p);
        if (r < 0)
                return r;
        if (r > 0) {
                virDomainPtr there;

                /* The move completed while srvmd was away: its JOB_COMPLETED event is lost. */
                if (job_get_domain(j, q, SIDE_DESTINATION, &there, p) >= 0)
                        read_completed_downtime(there, p);
                free(p->out.message);
                p->out.message = NULL;
                return 1;
        }

        return result_fail(&p->out, -ENOENT, "the domain runs on neither host");
}

static void run_request(VirtJob *j, const Request *q, ResultPost *p) {
        usec_t start = now_usec();
        virDomainPtr leased = NULL;
        int r = -EINVAL;

        r = job_ensure_local(j, q, p);
        if (r < 0) {
                p->out.r = r;
                p->duration = now_usec() - start;
                return;
        }

        /* Where the domain runs after its move, one srvmd at a time finishes it. */
        if ((q->action == ACTION_PLUG || q->action == ACTION_LINK || q->action == ACTION_FAILBACK ||
             q->action == ACTION_VERIFY) &&
            (q->side == SIDE_DESTINATION || q->arrival)) {
                r = job_get_domain(j, q, q->side, &leased, p);
                if (r >= 0)
                        r = lease_take(j, q, leased, p);
                if (r < 0) {
                        p->out.r = r;
                        p->duration = now_usec() - start;
                        return;
                }
        }

        switch (q->action) {
        case ACTION_PREFLIGHT:
                if (q->arrival)
                        r = do_arrival_checks(j, q, p);
                else
                        r = q->stage == 0 ? do_preflight_read(j, q, p) : do_preflight_checks(j, q, p);
                break;
        case ACTION_FAILOVER:
                r = do_failover(j, q, p);
                break;
        case ACTION_UNPLUG:
                r = do_unplug(j, q, p);
                break;
        case ACTION_MIGRATE:
                r = do_migrate(j, q, p);
                break;
        case ACTION_PLUG:
                r = do_plug(j, q, p);
                break;
        case ACTION_LINK:
                r = do_guest_enslave(j, q, "enslave", p);
                break;
        case ACTION_FAILBACK:
                r = do_guest_enslave(j, q, "failback", p);
                if (r >= 0 && leased)
                        lease_drop(j, q, leased);
                break;
        case ACTION_LOCATE:
                r = do_locate(j, q, p);
                break;
        case ACTION_VERIFY:
                r = do_guest_enslave(j, q, "verify", p);
                if (r >= 0 && q->side == SIDE_DESTINATION) {
                        virDomainPtr there;

                        /* The pause, if neither the event nor migrate's end brought it: migrate
                         * ends once the domain runs there, before libvirt's job completes. */
                        if (job_get_domain(j, q, SIDE_DESTINATION, &there, p) >= 0) /* looked up already */
                                read_completed_downtime(there, p);
                }
                if (r >= 0 && leased)
                        lease_drop(j, q, leased);
                break;
        case _ACTION_MAX:
        case _ACTION_INVALID:
                r = result_fail(&p->out, -EINVAL, "unknown action");
                break;
        }

        /* The call failed because libvirtd went away under it: say so, the job decides what
         * that means (for a migration: find out where the domain runs). */
        if (r < 0 && r != -ENOTCONN && j->local && virConnectIsAlive(j->local) == 0) {
                _cleanup_free_ char *why = TAKE_PTR(p->out.message);

                r = result_fail(&p->out, -ENOTCONN, "%s (the connection to libvirt at %s closed)", strna(why),
                                j->virt->local_uri);
        }
        p->out.r = r;
        p->duration = now_usec() - start;
}

static void *worker_main(void *userdata) {
        VirtJob *j = userdata;
        Virt *v = j->virt;
        WorkerExitedPost *e;

        for (;;) {
                _cleanup_(request_freep) Request *q = NULL;
                ResultPost *p;

                pthread_mutex_lock(&j->lock);
                while (!j->requests && !j->quit)
                        pthread_cond_wait(&j->cond, &j->lock);
                if (j->quit) {
                        pthread_mutex_unlock(&j->lock);
                        break;
                }
                q = j->requests;
                j->requests = q->next;
                if (!j->requests)
                        j->requests_tail = &j->requests;
                pthread_mutex_unlock(&j->lock);

                p = POST_NEW_DOMAIN(POST_RESULT, ResultPost, q->domain);
                if (!p)
                        continue; /* the phase timer will notice */
                p->job_id = j->id;
                p->action = q->action;
                p->generation = q->generation;
                run_request(j, q, p);
                /* The loop resolves the policy and sends the checks back to us. */
                if (q->action == ACTION_PREFLIGHT && !q->arrival && q->stage == 0 && p->out.r >= 0)
                        p->post.type = POST_DOMAIN_INFO;
                virt_post(v, &p->post);
                migrate_call_reap(j, false);
        }

        /* Drop what this job held before the loop joins us: a migrate call still returning
         * holds the source's domain, and closing a connection may be its last reference and an
         * RPC to libvirtd, which the loop must not wait for. */
        migrate_call_reap(j, true);
        dest_close(j);
        if (j->local) {
                virConnectClose(j->local);
                j->local = NULL;
        }
        if (j->source_dom) {
                virDomainFree(j->source_dom);
                j->source_dom = NULL;
        }

        e = POST_NEW(POST_WORKER_EXITED, WorkerExitedPost);
        if (e) {
                e->job = j;
                virt_post(v, &e->post);
        }
        return NULL;
}

/* Loop: start, cancel, release */

int request_new(Virt *v, VirtJob *j, Migration *m, Action a, Side side, Request **ret) {
        _cleanup_(request_freep) Request *q = NULL;
        const char *bond = migration_get_bond(m);
        usec_t deadline = migration_get_phase_deadline(m);
        uint64_t now;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->action = a;
        q->side = side;
        q->arrival = migration_is_arrival(m);

        if (sd_event_now(v->event, CLOCK_MONOTONIC, &now) < 0)
                now = now_usec();
        q->time_left = deadline == USEC_INFINITY ? USEC_INFINITY : deadline > now ? deadline - now : 0;

        if (strdup_or_null(migration_get_domain(m), &q->domain) < 0 ||
            strdup_or_null(migration_get_destination_uri(m), &q->destination_uri) < 0 ||
            strdup_or_null(migration_get_migrate_uri(m), &q->migrate_uri) < 0 ||
            strdup_or_null(bond ? bond : "bond0", &q->bond) < 0 ||
            strdup_or_null(migration_get_vf_spec(m), &q->vf_spec) < 0 ||
            strdup_or_null(migration_get_vf_alias(m), &q->vf_alias) < 0 ||
            strdup_or_null(migration_get_vf_mac(m), &q->vf_mac) < 0 ||
            strdup_or_null(migration_get_vf_xml(m), &q->vf_xml) < 0)
                return -ENOMEM;

        q->agent_timeout = AGENT_PING_TIMEOUT_USEC;
        if (migration_get_settings(m)) { /* what preflight decided; not for arrivals */
                q->agent_timeout = migration_get_agent_timeout(m);
                q->migration = *migration_get_settings(m);
                q->plug_source = migration_get_plug_source(m);
                if (strdup_or_null(migration_get_plug_network(m), &q->plug_network) < 0 ||
                    strdup_or_null(migration_get_plug_xml(m), &q->plug_xml) < 0)
                        return -ENOMEM;
        }
        q->removal_pending = a == ACTION_PLUG && side == SIDE_SOURCE && migration_vf_removal_pending(m);
        q->native = migration_get_path(m) == POLICY_PATH_NATIVE;

        *ret = TAKE_PTR(q);
        return 0;
}

void virt_job_queue(VirtJob *j, Request *q) {
        pthread_mutex_lock(&j->lock);
        *j->requests_tail = q;
        j->requests_tail = &q->next;
        pthread_cond_signal(&j->cond);
        pthread_mutex_unlock(&j->lock);
}

int virt_start_action(Virt *v, Migration *m, Action a, Side side) {
        _cleanup_(request_freep) Request *q = NULL;
        VirtJob *j;
        int r;

        if (!v || !m)
                return -EINVAL;

        j = migration_get_backend_data(m);
        if (!j) {
                r = virt_job_new(v, m, &j);
                if (r < 0)
                        return r;
        }

        r = request_new(v, j, m, a, side, &q);
        if (r < 0)
                return r;

        if (!j->thread_started) {
                r = -pthread_create(&j->thread, NULL, worker_main, j);
                if (r < 0)
                        return r;
                j->thread_started = true;
        }

        q->generation = j->generation = ++v->next_generation;
        virt_job_queue(j, TAKE_PTR(q));

        log_debug("%s: job %u: %s on the %s", j->domain, j->id, action_to_string(a), side_to_string(side));
        return 0;
}

static const char *const control_table[_MIGRATION_CONTROL_MAX] = {
        [MIGRATION_CONTROL_SET_MAX_DOWNTIME] = "set the max downtime",
        [MIGRATION_CONTROL_POSTCOPY] = "switch to post-copy",
        [MIGRATION_CONTROL_ABORT] = "abort the migration",
};

/* A control thread: libvirt refused a step. */
void on_control_failed(MigrationControl c, const char *domain, const char *message, void *userdata) {
        NotePost *p = POST_NEW_DOMAIN(POST_NOTE, NotePost, domain);

        if (!p)
                return;
        if (asprintf(&p->note, "could not %s: %s", control_table[c], message) < 0)
                p->note = NULL;
        virt_post(userdata, &p->post);
}

int virt_control_migration(Virt *v, Migration *m, MigrationControl c, uint64_t value) {
        if (!v || !m || c < 0 || c >= _MIGRATION_CONTROL_MAX)
                return -EINVAL;
        return virt_control_start(&v->controls, v->conn, migration_get_domain(m), c, value,
                                  on_control_failed, v);
}

void virt_cancel_action(Virt *v, Migration *m, Action a) {
        int r;

        if (!v || !m)
                return;

        /* Guest agent commands and detaches are bounded by their own timeouts; only a
         * migration can be asked to stop, and that call blocks too: it runs on a thread of
         * its own. */
        if (a != ACTION_MIGRATE)
                return;

        r = virt_control_start(&v->controls, v->conn, migration_get_domain(m), MIGRATION_CONTROL_ABORT, 0,
                               on_control_failed, v);
        if (r == -ENOTCONN) {
                log_warning("%s: cannot abort the migration: libvirt at %s is not connected (reconnecting)",
                            migration_get_domain(m), v->local_uri);
                return;
        }
        if (r < 0) {
                log_warning_errno(r, "%s: cannot abort the migration: %m", migration_get_domain(m));
                return;
        }
        log_info("%s: asked libvirt to abort the migration", migration_get_domain(m));
}

static void virt_job_stop(VirtJob *j) {
        pthread_mutex_lock(&j->lock);
        j->quit = true;
        pthread_cond_signal(&j->cond);
        pthread_mutex_unlock(&j->lock);
}

void virt_release_job(Virt *v, Migration *m) {
        VirtJob *j;

        if (!v || !m)
                return;
        j = migration_get_backend_data(m);
        if (!j)
                return;

        migration_set_backend_data(m, NULL);
        j->generation = 0;
        if (!j->thread_started) {
                virt_unlink_job(v, j);
                virt_job_free(j);
                return;
        }
        /* It finishes what it is doing, then exits and tells the loop to join it. */
        virt_job_stop(j);
}

/* Loop: what the threads posted */

static const char *const lifecycle_table[] = {
        [VIR_DOMAIN_EVENT_DEFINED] = "defined",
        [VIR_DOMAIN_EVENT_UNDEFINED] = "undefined",
        [VIR_DOMAIN_EVENT_STARTED] = "started",
        [VIR_DOMAIN_EVENT_SUSPENDED] = "suspended",
        [VIR_DOMAIN_EVENT_RESUMED] = "resumed",
        [VIR_DOMAIN_EVENT_STOPPED] = "stopped",
        [VIR_DOMAIN_EVENT_SHUTDOWN] = "shut down",
        [VIR_DOMAIN_EVENT_PMSUSPENDED] = "suspended by the guest",
        [VIR_DOMAIN_EVENT_CRASHED] = "crashed",
};

/* Events that came through a destination connection concern only that job's domain; the
 * others (other domains there) are some other job's, seen through its own connection. */
static bool event_is_for_us(Virt *v, uint32_t job_id, const char *domain) {
        VirtJob *j;

        if (job_id == 0)
                return true;
        j = virt_find_job(v, job_id);
        return j && streq_ptr(j->domain, domain);
}

/* The guest agent's latency, one sample per command that answered: into the job's JSON, and
 * reported (for the metrics). */
void virt_report_agent_latency(Virt *v, const ResultPost *p, Migration *m) {
        for (size_t i = 0; i < p->n_agent_samples; i++) {
                (void) migration_add_agent_sample(m, p->agent_samples[i].command, p->agent_samples[i].rtt);
                log_debug("%s: guest agent %s answered in %.1f ms", p->domain, p->agent_samples[i].command,
                          (double) p->agent_samples[i].rtt / USEC_PER_MSEC);
                v->events->agent_latency(v->events_userdata, p->agent_samples[i].command, p->agent_samples[i].rtt);
        }
}

static void virt_dispatch_result(Virt *v, ResultPost *p) {
        VirtJob *j = virt_find_job(v, p->job_id);
        uint64_t downtime;
        Migration *m;

        if (!j || j->generation != p->generation) {
                log_debug("%s: dropping the result of %s of a job no longer waiting for it",
                          strna(p->domain), action_to_string(p->action));
                return;
        }
        m = virt_job_migration(v, p->job_id);
        if (!m)
                return;
        j->generation = 0;

        log_debug("%s: job %u: %s ended after %llu ms: %d%s%s",
                  j->domain, j->id, action_to_string(p->action), p->duration / USEC_PER_MSEC, p->out.r,
                  p->out.message ? ", " : "", p->out.message ? p->out.message : "");
        virt_report_agent_latency(v, p, m);
        if (p->guest_note)
                (void) migration_add_event(m, "%s", p->guest_note);

        if (p->action == ACTION_PLUG && p->late_removal)
                migration_vf_removed_late(m);

        if ((p->action == ACTION_MIGRATE || p->action == ACTION_LOCATE || p->action == ACTION_VERIFY) &&
            p->out.r >= 0 && p->have_downtime &&
            migration_get_vm_downtime_ms(m, &downtime) < 0) {
                log_debug("%s: no JOB_COMPLETED event yet; the destination's job stats say the pause took %llu ms",
                          j->domain, (unsigned long long) p->downtime_ms);
                v->events->job_completed(v->events_userdata, p->domain, p->downtime_ms);
        }

        /* This may end the job and release j: touch neither afterwards. */
        migration_action_done(m, p->action, p->out.r, p->out.message);
}

static VirtErrand *errand_free(VirtErrand *i) {
        if (!i)
                return NULL;
        if (i->conn)
                virConnectClose(i->conn);
        free(i->domain);
        free(i);
        return NULL;
}

static void errand_join(Virt *v, VirtErrand *i) {
        for (VirtErrand **k = &v->errands; *k; k = &(*k)->next)
                if (*k == i) {
                        *k = i->next;
                        (void) pthread_join(i->thread, NULL);
                        errand_free(i);
                        return;
                }
}

/* Errand thread: the arrived domain's plan and whether the VF it names is plugged. */
static void *inspection_main(void *userdata) {
        VirtErrand *i = userdata;
        Virt *v = i->virt;
        InspectedPost *p = POST_NEW_DOMAIN(POST_INSPECTED, InspectedPost, i->domain);
        int r, state, reason;
        virDomainPtr dom;
        char *metadata, *xml;

        if (!p)
                return NULL; /* the thread stays unjoined until virt_free() */
        p->errand = i;

        dom = virDomainLookupByName(i->conn, i->domain);
        if (!dom) {
                virErrorPtr e = virGetLastError();

                if (e && e->code == VIR_ERR_NO_DOMAIN)
                        goto post; /* gone again: not running here */
                (void) result_fail_libvirt(&p->out, "cannot look the domain up");
                goto post;
        }
        /* An incoming migration holds it paused until it completes; RESUMED comes then. */
        if (virDomainGetState(dom, &state, &reason, 0) < 0) {
                (void) result_fail_libvirt(&p->out, "cannot read the domain's state");
                virDomainFree(dom);
                goto post;
        }
        p->running = state == VIR_DOMAIN_RUNNING;
        if (!p->running) {
                virDomainFree(dom);
                goto post;
        }
        metadata = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, SRVM_XMLNS, VIR_DOMAIN_AFFECT_LIVE);
        if (metadata) {
                p->have_plan = virt_xml_parse_plan(metadata, &p->plan) >= 0;
                free(metadata);
        }
        if (p->have_plan && p->plan.holder) {
                _cleanup_free_ char *self = NULL;

                /* Held by a job of this host: the manager knows whether it still runs. */
                if (host_uuid_of(i->conn, &self) >= 0 && strcasecmp(self, p->plan.holder) != 0)
                        p->held_for_sec = virt_xml_plan_lease_left(&p->plan, NULL, 0, realtime_sec());
        }
        xml = virDomainGetXMLDesc(dom, 0);
        if (!xml)
                (void) result_fail_libvirt(&p->out, "cannot read the domain's XML");
        else if (p->have_plan) {
                r = virt_xml_has_vf(xml, p->plan.vf_alias, p->plan.vf_mac);
                p->vf_present = r != 0; /* unreadable XML: do not plug on a guess */
        }
        p->xml = xml;
        virDomainFree(dom);
post:
        virt_post(v, &p->post);
        return NULL;
}

/* The reads open to every caller (VF list, domain XML, domain list) run on a connection of
 * their own, opened and closed on the errand's thread: a slow or flooded read never queues
 * behind, or in front of, the calls of running jobs, and closing it (an RPC) stays off the
 * loop. */
static int errand_connect(VirtErrand *i, TextPost *p) {
        i->conn = virConnectOpen(i->virt->local_uri);
        if (!i->conn)
                return result_fail(&p->out, -ENOTCONN, "cannot connect to libvirt at %s: %s", i->virt->local_uri,
                                          virGetLastErrorMessage());
        return 0;
}

static void errand_disconnect(VirtErrand *i) {
        if (i->conn)
                virConnectClose(i->conn);
        i->conn = NULL;
}

/* Errand thread: the host's VFs, and which domain uses each (from every domain's XML). */
static void *vf_list_main(void *userdata) {
        _cleanup_(vf_inventory_freep) VfInventory *inv = NULL;
        _cleanup_(vf_users_freep) VfUsers *users = NULL;
        _cleanup_(json_object_putp) json_object *json = NULL;
        VirtErrand *i = userdata;
        TextPost *p = POST_NEW(POST_TEXT, TextPost);
        virDomainPtr *domains = NULL;
        const VfUser *list;
        size_t n_users;
        int n, r;

        if (!p)
                return NULL;
        p->errand = i;
        if (errand_connect(i, p) < 0)
                goto post;

        r = vf_inventory_collect(NULL, &inv);
        if (r < 0) {
                (void) result_fail(&p->out, r, "cannot read the host's links: %s", strerror(-r));
                goto post;
        }
        r = vf_users_new(&users);
        if (r < 0) {
                (void) result_fail(&p->out, r, "out of memory");
                goto post;
        }
        n = virConnectListAllDomains(i->conn, &domains, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        if (n < 0) {
                (void) result_fail_libvirt(&p->out, "cannot list the domains");
                goto post;
        }
        for (int k = 0; k < n; k++) {
                char *xml = virDomainGetXMLDesc(domains[k], 0);

                if (xml)
                        (void) vf_users_add_domain_xml(users, xml);
                free(xml);
                virDomainFree(domains[k]);
        }
        free(domains);

        list = vf_users_get(users, &n_users);
        r = vf_inventory_assign(inv, list, n_users);
        if (r >= 0)
                r = vf_inventory_to_json(inv, &json);
        if (r >= 0 && !(p->text = strdup(json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN))))
                r = -ENOMEM;
        if (r < 0)
                (void) result_fail(&p->out, r, "cannot put the inventory together: %s", strerror(-r));
post:
        errand_disconnect(i);
        virt_post(i->virt, &p->post);
        return NULL;
}

/* Errand thread: a domain's live XML (a TextPost: the text or a sentence). */
static void *domain_xml_main(void *userdata) {
        VirtErrand *i = userdata;
        TextPost *p = POST_NEW(POST_TEXT, TextPost);
        virDomainPtr dom;

        if (!p)
                return NULL;
        p->errand = i;
        if (errand_connect(i, p) < 0)
                goto post;
        dom = virDomainLookupByName(i->conn, i->domain);
        if (!dom)
                (void) result_fail(&p->out, -ENOENT, "there is no domain '%s' on this host", i->domain);
        else {
                p->text = virDomainGetXMLDesc(dom, 0);
                if (!p->text)
                        (void) result_fail_libvirt(&p->out, "cannot read the domain's XML");
                virDomainFree(dom);
        }
post:
        errand_disconnect(i);
        virt_post(i->virt, &p->post);
        return NULL;
}

/* libvirt's domain states in the words virsh(1) uses, for ListDomains and for sentences. */
static const char *const domain_state_table[] = {
        [VIR_DOMAIN_NOSTATE] = "no state",
        [VIR_DOMAIN_RUNNING] = "running",
        [VIR_DOMAIN_BLOCKED] = "idle",
        [VIR_DOMAIN_PAUSED] = "paused",
        [VIR_DOMAIN_SHUTDOWN] = "in shutdown",
        [VIR_DOMAIN_SHUTOFF] = "shut off",
        [VIR_DOMAIN_CRASHED] = "crashed",
        [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
};

const char *virt_domain_state_to_string(int state) {
        if (state < 0 || (size_t) state >= ELEMENTSOF(domain_state_table) || !domain_state_table[state])
                return "unknown";
        return domain_state_table[state];
}

/* One domain of the list: {"name", "state", "xml"}; a domain that went away meanwhile is
 * left out (0), as it is no longer this host's. */
static int domain_list_add(virDomainPtr dom, json_object *array) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *xml = NULL;
        const char *name = virDomainGetName(dom);
        int state, reason, r;

        if (!name || virDomainGetState(dom, &state, &reason, 0) < 0)
                return 0;
        xml = virDomainGetXMLDesc(dom, 0);
        if (!xml)
                return 0;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = json_add(o, "name", json_object_new_string(name));
        if (r >= 0)
                r = json_add(o, "state", json_object_new_string(virt_domain_state_to_string(state)));
        if (r >= 0)
                r = json_add(o, "xml", json_object_new_string(xml));
        if (r >= 0)
                r = json_append(array, TAKE_PTR(o));
        return r;
}

/* Errand thread: the active domains, each with its state and live XML, as a JSON array
 * [{"name", "state", "xml"}] (a TextPost); the loop resolves their policies. */
static void *domain_list_main(void *userdata) {
        _cleanup_(json_object_putp) json_object *array = NULL;
        VirtErrand *i = userdata;
        TextPost *p = POST_NEW(POST_TEXT, TextPost);
        virDomainPtr *domains = NULL;
        int n, r = 0;

        if (!p)
                return NULL;
        p->errand = i;
        if (errand_connect(i, p) < 0)
                goto post;

        n = virConnectListAllDomains(i->conn, &domains, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        if (n < 0) {
                (void) result_fail_libvirt(&p->out, "cannot list the domains");
                goto post;
        }
        array = json_object_new_array();
        if (!array)
                r = -ENOMEM;
        for (int k = 0; k < n; k++) {
                if (r >= 0)
                        r = domain_list_add(domains[k], array);
                virDomainFree(domains[k]);
        }
        free(domains);
        if (r >= 0 && !(p->text = strdup(json_object_to_json_string_ext(array, JSON_C_TO_STRING_PLAIN))))
                r = -ENOMEM;
        if (r < 0)
                (void) result_fail(&p->out, r, "out of memory");
post:
        errand_disconnect(i);
        virt_post(i->virt, &p->post);
        return NULL;
}

static int register_local(virConnectPtr conn, EventOrigin *origin, int *callbacks, size_t *n_callbacks);

/* Connect errand: the local connection again, with its event registrations, handed to the
 * loop (which may have to drop it, if it is shutting down). */
static void *connect_main(void *userdata) {
        VirtErrand *i = userdata;
        Virt *v = i->virt;
        ConnectedPost *p = POST_NEW(POST_CONNECTED, ConnectedPost);
        virConnectPtr conn;

        if (!p)
                return NULL;
        p->errand = i;

        conn = virConnectOpen(v->local_uri);
        if (!conn) {
                (void) result_fail(&p->out, -ENOTCONN, "%s", virGetLastErrorMessage());
                goto post;
        }
        if (virConnectSetKeepAlive(conn, KEEPALIVE_INTERVAL_SEC, KEEPALIVE_COUNT) < 0)
                log_debug("No keepalive on %s: %s", v->local_uri, virGetLastErrorMessage());
        if (register_local(conn, &v->local_origin, p->callbacks, &p->n_callbacks) < 0) {
                (void) result_fail(&p->out, -EIO, "cannot watch libvirt's domain events: %s", virGetLastErrorMessage());
                local_conn_drop(conn, p->callbacks, p->n_callbacks);
                p->n_callbacks = 0;
                goto post;
        }
        p->conn = conn;
post:
        virt_post(v, &p->post);
        return NULL;
}

/* Which connection an errand's thread works on. */
typedef enum ErrandConnection {
        ERRAND_SHARED,  /* a reference to the local connection, taken when it starts */
        ERRAND_OWN,     /* one of its own, opened and closed on its thread (errand_connect()) */
        ERRAND_NONE,    /* none: the connect errand opens the local connection again */
} ErrandConnection;

static int errand_start(Virt *v, void *(*main)(void *), ErrandConnection how, const char *domain,
                        VirtTextFn cb, void *cb_userdata) {
        VirtErrand *i;
        int r;

        if (how != ERRAND_NONE && !v->conn)
                return -ENOTCONN;

        i = calloc(1, sizeof(*i));
        if (!i)
                return -ENOMEM;
        *i = (VirtErrand) { .virt = v, .cb = cb, .cb_userdata = cb_userdata };
        if (domain && !(i->domain = strdup(domain))) {
                errand_free(i);
                return -ENOMEM;
        }
        /* The errand's own reference: the loop may drop the connection while it runs.
         * virConnectRef() only counts: fine on the loop. */
        if (how == ERRAND_SHARED) {
                if (virConnectRef(v->conn) < 0) {
                        errand_free(i);
                        return -ENOMEM;
                }
                i->conn = v->conn;
        }
        r = -pthread_create(&i->thread, NULL, main, i);
        if (r < 0) {
                errand_free(i);
                return r;
        }
        i->next = v->errands;
        v->errands = i;
        return 0;
}

int virt_inspect_domain(Virt *v, const char *domain) {
        return errand_start(v, inspection_main, ERRAND_SHARED, domain, NULL, NULL);
}

int virt_list_vfs(Virt *v, VirtTextFn cb, void *userdata) {
        return cb ? errand_start(v, vf_list_main, ERRAND_OWN, NULL, cb, userdata) : -EINVAL;
}

int virt_get_domain_xml(Virt *v, const char *domain, VirtTextFn cb, void *userdata) {
        return cb && domain ? errand_start(v, domain_xml_main, ERRAND_OWN, domain, cb, userdata) : -EINVAL;
}

int virt_list_domains(Virt *v, VirtTextFn cb, void *userdata) {
        return cb ? errand_start(v, domain_list_main, ERRAND_OWN, NULL, cb, userdata) : -EINVAL;
}

static const char *close_reason_to_string(int reason) {
        switch (reason) {
        case VIR_CONNECT_CLOSE_REASON_ERROR:
                return "a connection error";
        case VIR_CONNECT_CLOSE_REASON_EOF:
                return "libvirtd closed it";
        case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
                return "libvirtd stopped answering keepalives";
        case VIR_CONNECT_CLOSE_REASON_CLIENT:
                return "closed by srvmd";
        default:
                return "an unknown reason";
        }
}

static void virt_on_local_closed(Virt *v, const ConnectionClosedPost *p);
static void virt_on_connected(Virt *v, ConnectedPost *p);
static void virt_schedule_reconnect(Virt *v);

static void virt_dispatch_text(Virt *v, TextPost *p) {
        VirtTextFn cb = p->errand->cb;
        void *userdata = p->errand->cb_userdata;

        errand_join(v, p->errand);
        cb(userdata, p->text, p->out.r < 0 ? p->out.message : NULL);
}

static void virt_dispatch_lifecycle(Virt *v, LifecyclePost *p) {
        log_debug("%s: %s (detail %d)", p->domain,
                  p->event >= 0 && (size_t) p->event < ELEMENTSOF(lifecycle_table) &&
                  lifecycle_table[p->event] ? lifecycle_table[p->event] : "unknown event",
                  p->detail);
        /* An incoming migration completed here. */
        if (p->job_id == 0 && p->event == VIR_DOMAIN_EVENT_RESUMED &&
            p->detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED)
                v->events->domain_arrived(v->events_userdata, p->domain);
        /* Gone: migrated away, shut down, destroyed. */
        if (p->job_id == 0 && p->event == VIR_DOMAIN_EVENT_STOPPED)
                v->events->domain_left(v->events_userdata, p->domain);
}

static void virt_dispatch_closed(Virt *v, ConnectionClosedPost *p) {
        Migration *m;

        if (p->job_id == 0) {
                virt_on_local_closed(v, p);
                return;
        }
        m = virt_job_migration(v, p->job_id);
        log_warning("Job %u: lost the connection to the destination's libvirt (%s).",
                    p->job_id, close_reason_to_string(p->reason));
        if (m && !migration_is_finished(m))
                (void) migration_add_event(m, "lost the connection to the destination's libvirt (%s); the next action opens a new one",
                                           close_reason_to_string(p->reason));
}

static void virt_dispatch(Virt *v, Post *p) {
        switch (p->type) {
        case POST_DEVICE_REMOVED: {
                DevicePost *d = (DevicePost *) p;

                if (event_is_for_us(v, d->job_id, d->domain))
                        v->events->device_removed(v->events_userdata, d->domain, d->alias);
                break;
        }
        case POST_DEVICE_REMOVAL_FAILED: {
                DevicePost *d = (DevicePost *) p;

                if (event_is_for_us(v, d->job_id, d->domain))
                        v->events->device_removal_failed(v->events_userdata, d->domain, d->alias);
                break;
        }
        case POST_JOB_COMPLETED: {
                JobCompletedPost *c = (JobCompletedPost *) p;

                if (event_is_for_us(v, c->job_id, c->domain))
                        v->events->job_completed(v->events_userdata, c->domain, c->downtime_ms);
                break;
        }
        case POST_LIFECYCLE:
                virt_dispatch_lifecycle(v, (LifecyclePost *) p);
                break;
        case POST_CONNECTION_CLOSED:
                virt_dispatch_closed(v, (ConnectionClosedPost *) p);
                break;
        case POST_CONNECTED:
                errand_join(v, ((ConnectedPost *) p)->errand);
                virt_on_connected(v, (ConnectedPost *) p);
                break;
        case POST_RESULT:
                virt_dispatch_result(v, (ResultPost *) p);
                break;
        case POST_DOMAIN_INFO:
                virt_dispatch_domain_info(v, (ResultPost *) p);
                break;
        case POST_PROGRESS:
                virt_dispatch_progress(v, (ProgressPost *) p);
                break;
        case POST_ITERATION:
                virt_dispatch_iteration(v, (IterationPost *) p);
                break;
        case POST_NOTE:
                virt_dispatch_note(v, (NotePost *) p);
                break;
        case POST_WORKER_EXITED: {
                VirtJob *j = ((WorkerExitedPost *) p)->job;

                (void) pthread_join(j->thread, NULL);
                virt_unlink_job(v, j);
                virt_job_free(j);
                break;
        }
        case POST_TEXT:
                virt_dispatch_text(v, (TextPost *) p);
                break;
        case POST_INSPECTED: {
                InspectedPost *i = (InspectedPost *) p;

                errand_join(v, i->errand);
                v->events->domain_inspected(v->events_userdata, i->domain, i->running, i->have_plan ? &i->plan : NULL,
                                            i->vf_present, i->held_for_sec, i->xml, i->out.r < 0 ? i->out.message : NULL);
                break;
        }
        case _POST_TYPE_MAX:
        case _POST_TYPE_INVALID:
                break;
        }
}

static int on_posts(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Virt *v = userdata;
        uint64_t n;
        Post *list;

        (void) !read(fd, &n, sizeof(n));

        pthread_mutex_lock(&v->lock);
        list = v->posts;
        v->posts = NULL;
        v->posts_tail = &v->posts;
        pthread_mutex_unlock(&v->lock);

        while (list) {
                _cleanup_(post_freep) Post *p = list;

                list = p->next;
                virt_dispatch(v, p);
        }
        return 0;
}

/* Setup and teardown */

/* Any thread: the local connection's domain events and its close callback. On failure
 * libvirt's error is on the calling thread and what was registered is in callbacks. */
static int register_local(virConnectPtr conn, EventOrigin *origin, int *callbacks, size_t *n_callbacks) {
        static const struct {
                int id;
                virConnectDomainEventGenericCallback cb;
        } events[] = {
                { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(on_device_removed) },
                { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED, VIR_DOMAIN_EVENT_CALLBACK(on_device_removal_failed) },
                { VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, VIR_DOMAIN_EVENT_CALLBACK(on_job_completed) },
                { VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle) },
                { VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION, VIR_DOMAIN_EVENT_CALLBACK(on_migration_iteration) },
        };

        *n_callbacks = 0;
        for (size_t i = 0; i < ELEMENTSOF(events); i++) {
                int id = virConnectDomainEventRegisterAny(conn, NULL, events[i].id, events[i].cb, origin, NULL);
                if (id < 0)
                        return -EIO;
                callbacks[(*n_callbacks)++] = id;
        }

        if (virConnectRegisterCloseCallback(conn, on_connection_closed, origin, NULL) < 0)
                log_debug("Cannot watch the libvirt connection for closing: %s", virGetLastErrorMessage());
        return 0;
}

static void local_conn_drop(virConnectPtr conn, const int *callbacks, size_t n_callbacks) {
        if (!conn)
                return;
        for (size_t i = 0; i < n_callbacks; i++)
                (void) virConnectDomainEventDeregisterAny(conn, callbacks[i]);
        (void) virConnectUnregisterCloseCallback(conn, on_connection_closed);
        virConnectClose(conn);
}

bool virt_is_connected(Virt *v) {
        return v && v->conn;
}

const char *virt_get_local_uri(Virt *v) {
        return v->local_uri;
}

static int virt_on_reconnect_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Virt *v = userdata;
        int r;

        r = errand_start(v, connect_main, ERRAND_NONE, NULL, NULL, NULL);
        if (r < 0) {
                log_warning_errno(r, "Cannot start reconnecting to libvirt at %s: %m", v->local_uri);
                virt_schedule_reconnect(v);
                return 0;
        }
        v->connecting = true;
        return 0;
}

/* Try again after the current delay, then double it (up to RECONNECT_DELAY_MAX). */
static void virt_schedule_reconnect(Virt *v) {
        uint64_t now;
        int r;

        r = sd_event_now(v->event, CLOCK_MONOTONIC, &now);
        if (r >= 0 && !v->reconnect_timer) {
                r = sd_event_add_time(v->event, &v->reconnect_timer, CLOCK_MONOTONIC, now + v->reconnect_delay,
                                      USEC_PER_MSEC, virt_on_reconnect_timer, v);
                if (r >= 0)
                        (void) sd_event_source_set_description(v->reconnect_timer, "libvirt-reconnect");
        } else if (r >= 0) {
                r = sd_event_source_set_time(v->reconnect_timer, now + v->reconnect_delay);
                if (r >= 0)
                        r = sd_event_source_set_enabled(v->reconnect_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0) {
                /* Without a timer nothing would ever try again: better to stop and be restarted. */
                log_error_errno(r, "Cannot schedule reconnecting to libvirt at %s, exiting: %m", v->local_uri);
                (void) sd_event_exit(v->event, r);
                return;
        }
        log_info("Reconnecting to libvirt at %s in %.0f s.", v->local_uri, (double) v->reconnect_delay / USEC_PER_SEC);
        v->reconnect_delay = v->reconnect_delay * 2 > RECONNECT_DELAY_MAX ? RECONNECT_DELAY_MAX : v->reconnect_delay * 2;
}

/* libvirtd went away (restarted, stopped, crashed): drop the connection, keep serving, and
 * connect again with a backoff. Jobs hold connections of their own; their workers open new
 * ones when they next act. */
static void virt_on_local_closed(Virt *v, const ConnectionClosedPost *p) {
        if (!v->conn || p->conn != v->conn)
                return; /* a connection dropped already */

        log_warning("Lost the connection to libvirt at %s (%s); reconnecting.", v->local_uri,
                    close_reason_to_string(p->reason));
        local_conn_drop(v->conn, v->callbacks, v->n_callbacks);
        v->conn = NULL;
        v->n_callbacks = 0;
        v->disconnected_at = now_usec();
        v->reconnect_delay = RECONNECT_DELAY_MIN;
        v->events->connection(v->events_userdata, false);
        virt_schedule_reconnect(v);
}

static void virt_on_connected(Virt *v, ConnectedPost *p) {
        v->connecting = false;
        if (p->conn && virConnectIsAlive(p->conn) != 1)
                (void) result_fail(&p->out, -ENOTCONN, "the new connection closed at once");
        if (!p->conn || p->out.r < 0) {
                log_info("Cannot connect to libvirt at %s yet: %s", v->local_uri, strna(p->out.message));
                virt_schedule_reconnect(v);
                return; /* post_free() drops a connection it still holds */
        }

        v->conn = TAKE_PTR(p->conn);
        memcpy(v->callbacks, p->callbacks, sizeof(v->callbacks));
        v->n_callbacks = p->n_callbacks;
        p->n_callbacks = 0;
        log_notice("Reconnected to libvirt at %s, %.1f s after losing it.", v->local_uri,
                   (double) (now_usec() - v->disconnected_at) / USEC_PER_SEC);
        v->events->connection(v->events_userdata, true);
}

int virt_new(const VirtEvents *events, void *userdata, sd_event *e, const char *local_uri, Virt **ret) {
        _cleanup_(virt_freep) Virt *v = NULL;
        int r;

        if (!events || !e || !ret)
                return -EINVAL;

        r = libvirt_init();
        if (r < 0)
                return log_error_errno(r, "Failed to initialize libvirt: %s", virGetLastErrorMessage());

        v = calloc(1, sizeof(*v));
        if (!v)
                return log_error_errno(ENOMEM, "Failed to set up the libvirt backend: %m");
        v->events = events;
        v->events_userdata = userdata;
        v->event = sd_event_ref(e);
        v->fd = -EBADF;
        v->posts_tail = &v->posts;
        v->local_origin = (EventOrigin) { .virt = v, .job_id = 0 };
        pthread_mutex_init(&v->lock, NULL);
        virt_control_group_init(&v->controls);
        v->local_uri = strdup(local_uri ? local_uri : "qemu:///system");
        if (!v->local_uri)
                return log_error_errno(ENOMEM, "Failed to set up the libvirt backend: %m");

        v->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (v->fd < 0)
                return log_error_errno(errno, "Failed to create an eventfd: %m");
        r = sd_event_add_io(e, &v->fd_source, v->fd, EPOLLIN, on_posts, v);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the eventfd: %m");
        (void) sd_event_source_set_description(v->fd_source, "virt-posts");

        v->conn = virConnectOpen(v->local_uri);
        if (!v->conn)
                return log_error_errno(EHOSTUNREACH, "Failed to connect to libvirt at %s: %s",
                                       v->local_uri, virGetLastErrorMessage());
        if (virConnectSetKeepAlive(v->conn, KEEPALIVE_INTERVAL_SEC, KEEPALIVE_COUNT) < 0)
                log_debug("No keepalive on %s: %s", v->local_uri, virGetLastErrorMessage());

        r = register_local(v->conn, &v->local_origin, v->callbacks, &v->n_callbacks);
        if (r < 0)
                return log_error_errno(r, "Failed to watch libvirt's domain events at %s: %s",
                                       v->local_uri, virGetLastErrorMessage());

        r = -pthread_create(&v->event_thread, NULL, event_thread_main, v);
        if (r < 0)
                return log_error_errno(r, "Failed to start the libvirt event thread: %m");
        v->event_thread_started = true;

        log_debug("Connected to libvirt at %s", v->local_uri);
        *ret = TAKE_PTR(v);
        return 0;
}

Virt *virt_free(Virt *v) {
        if (!v)
                return NULL;

        /* A control thread (max downtime, post-copy, abort) posts into v when libvirt refuses:
         * its call returns within libvirt's keepalive at worst. */
        virt_control_group_done(&v->controls);

        while (v->errands) {
                VirtErrand *i = v->errands;

                v->errands = i->next;
                (void) pthread_join(i->thread, NULL);
                errand_free(i);
        }

        /* Workers first: they finish the call in flight (a migration may take a while),
         * and drop their destination connections and registrations. */
        for (VirtJob *j = v->jobs; j; j = j->next)
                if (j->thread_started)
                        virt_job_stop(j);
        while (v->jobs) {
                VirtJob *j = v->jobs;

                v->jobs = j->next;
                if (j->thread_started)
                        (void) pthread_join(j->thread, NULL);
                virt_job_free(j);
        }

        sd_event_source_disable_unref(v->reconnect_timer);
        if (v->conn) {
                for (size_t i = 0; i < v->n_callbacks; i++)
                        (void) virConnectDomainEventDeregisterAny(v->conn, v->callbacks[i]);
                (void) virConnectUnregisterCloseCallback(v->conn, on_connection_closed);
        }

        if (v->event_thread_started) {
                int timer;

                atomic_store(&v->event_quit, true);
                /* Adding a timer wakes libvirt's poll; the thread then sees the flag. */
                timer = virEventAddTimeout(0, on_wake, NULL, NULL);
                (void) pthread_join(v->event_thread, NULL);
                if (timer >= 0)
                        (void) virEventRemoveTimeout(timer);
        }

        if (v->conn)
                virConnectClose(v->conn);

        /* Whatever the threads said last is no longer of interest. */
        while (v->posts) {
                Post *p = v->posts;

                v->posts = p->next;
                post_free(p);
        }

        sd_event_source_disable_unref(v->fd_source);
        if (v->fd >= 0)
                close(v->fd);
        sd_event_unref(v->event);
        pthread_mutex_destroy(&v->lock);
        free(v->local_uri);
        free(v);
        return NULL;
}
