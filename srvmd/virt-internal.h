/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt backend's own insides, shared by its files: virt.c (threads, queue, actions),
 * virt-preflight.c (the checks and the policy) and virt-monitor.c (pre-copy progress, and
 * steering the migration as the state machine asks). Nothing outside the backend includes this. See virt.c for who owns what. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <libvirt/libvirt.h>

#include "agent.h"
#include "json-util.h"
#include "migration.h"
#include "policy.h"
#include "preflight.h"
#include "vf-netlink.h"
#include "vf-xml.h"
#include "virt-monitor.h"
#include "virt-xml.h"
#include "virt.h"

#define KEEPALIVE_INTERVAL_SEC 5
#define KEEPALIVE_COUNT 3
#define RECONNECT_DELAY_MIN (1 * USEC_PER_SEC)
#define RECONNECT_DELAY_MAX (30 * USEC_PER_SEC)
/* A worker whose local connection died waits at most this long (and half its phase's time
 * left) for libvirtd to answer again before its action fails. */
#define WORKER_RECONNECT_WAIT_MAX (30 * USEC_PER_SEC)
#define AGENT_PING_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define AGENT_DEFAULT_TIMEOUT_USEC (30 * USEC_PER_SEC)
/* srvm-guest gets the phase's time left as --timeout; the agent waits this much longer so
 * the program's own timeout answer (exit status 3) arrives rather than ours. */
#define AGENT_EXEC_MARGIN_USEC (2 * USEC_PER_SEC)
/* srvm-guest's announce after each switch: gratuitous ARPs / unsolicited NAs per address,
 * and the milliseconds between them. Fixed until the policy has a key for them. */
#define GUEST_ANNOUNCE_COUNT "3"
#define GUEST_ANNOUNCE_INTERVAL_MS "20"

typedef enum PostType {
        POST_DEVICE_REMOVED,
        POST_DEVICE_REMOVAL_FAILED,
        POST_JOB_COMPLETED,
        POST_LIFECYCLE,
        POST_CONNECTION_CLOSED,
        POST_RESULT,
        POST_WORKER_EXITED,
        POST_INSPECTED,
        POST_VF_LIST,
        POST_DOMAIN_INFO,  /* preflight read the domain: the loop resolves its policy */
        POST_PROGRESS,     /* the monitor read the migration's job stats */
        POST_ITERATION,    /* libvirt's MIGRATION_ITERATION event */
        POST_NOTE,         /* a convergence step libvirt refused: message says why */
        POST_CONNECTED,    /* the connect errand: a new local connection, or message says why not */
        _POST_TYPE_MAX,
        _POST_TYPE_INVALID = -EINVAL,
} PostType;

typedef struct VirtJob VirtJob;

/* One message from the event thread or a worker to the loop. Owns its strings. */
typedef struct Post {
        struct Post *next;
        PostType type;
        uint32_t job_id;       /* 0: an event from the local connection */
        char *domain;
        char *alias;           /* device events */
        uint64_t downtime_ms;  /* JOB_COMPLETED, and MIGRATE results when have_downtime */
        bool have_downtime;
        int event, detail;     /* LIFECYCLE; CONNECTION_CLOSED uses event for the reason */
        /* CONNECTION_CLOSED: the connection that closed (compared only). CONNECTED: the new
         * local connection, owned, with its event registrations. */
        virConnectPtr conn;
        int callbacks[6];
        size_t n_callbacks;

        /* RESULT */
        uint64_t generation;
        Action action;
        int r;
        char *message;
        char *xml;             /* DOMAIN_INFO: the live domain XML */
        PreflightHostFacts facts; /* DOMAIN_INFO: versions and VF drivers, for the path */
        MigrationProgress progress; /* PROGRESS; ITERATION sets only its iteration */
        AgentSample agent_samples[AGENT_SAMPLES_MAX]; /* agent commands that answered */
        size_t n_agent_samples;
        usec_t duration;       /* how long the action took on the worker */
        char *guest_note;      /* LINK, FAILBACK: what srvm-guest said of its replay, for the job's events */
        bool late_removal;     /* PLUG: the VF went only while rollback waited for it */

        VirtJob *job;          /* WORKER_EXITED: the job to join and free */

        /* INSPECTED: an arrived domain's plan (if any), whether its VF is there, and its
         * live XML in xml (for the policy when it has no plan). */
        VirtXmlPlan plan;
        bool have_plan;
        bool running;                  /* the domain runs here: not an incoming migration still paused */
        bool vf_present;
        uint64_t held_for_sec;         /* another host's srvmd holds the plan's lease this much longer */
        struct Inspection *inspection; /* to join */

        char *vf_json;                 /* VF_LIST: the inventory, or NULL and message */
} Post;

/* A short errand off the loop, on a thread of its own: a look at a domain that arrived by
 * migration, the VF inventory, a domain's XML, or the running domains with their XML. */
typedef enum ErrandKind {
        ERRAND_INSPECT,
        ERRAND_VF_LIST,
        ERRAND_DOMAIN_XML,
        ERRAND_DOMAIN_LIST,
        ERRAND_CONNECT,     /* open the local connection again, after libvirtd went away */
} ErrandKind;

typedef struct Inspection {
        struct Inspection *next;
        Virt *virt;
        ErrandKind kind;
        char *domain;
        VirtTextFn cb;      /* VF_LIST, DOMAIN_XML, DOMAIN_LIST */
        void *cb_userdata;
        virConnectPtr conn; /* a reference to the local connection, taken when it started; NULL for CONNECT */
        pthread_t thread;
} Inspection;

/* What one action needs, copied on the loop when it is started. Owned by the worker once
 * queued. */
typedef struct Request {
        struct Request *next;
        Action action;
        Side side;
        uint64_t generation;
        usec_t time_left;      /* of the phase's budget, USEC_INFINITY if none */
        char *domain;
        char *destination_uri;
        char *migrate_uri;
        char *bond;
        char *vf_spec;
        char *vf_alias;
        char *vf_mac;
        char *vf_xml;

        /* From the job's policy, copied when preflight resolved it. */
        unsigned stage;        /* PREFLIGHT: 0 reads the domain, 1 runs the checks */
        bool arrival;          /* the job's domain arrived here: PREFLIGHT checks the guest only */
        usec_t agent_timeout;
        PolicyMigrationSettings migration;
        PolicyPlugSource plug_source;
        char *plug_network;    /* NETWORK: the destination's pool */
        char *plug_xml;        /* what to attach on the destination */
        char *check_error;     /* PREFLIGHT stage 1: what the loop found wrong already */
        bool removal_pending;  /* PLUG on the source: a detach the guest never confirmed */
        bool native;           /* the job's path is native: the VF moves with the domain */
} Request;

/* The opaque of an event registration: which connection an event came through. Those of
 * destination connections are heap-allocated and freed by libvirt (through free()) when the
 * registration goes. */
typedef struct EventOrigin {
        Virt *virt;
        uint32_t job_id; /* 0: the local connection */
} EventOrigin;

struct VirtJob {
        VirtJob *next;
        Virt *virt;
        uint32_t id;
        char *domain;

        /* Loop only. */
        uint64_t generation;   /* of the action in flight, 0 if none */
        bool released;         /* the job ended; waiting for the worker to exit */
        bool downtime_seen;    /* a JOB_COMPLETED event gave the downtime already */
        bool thread_started;
        pthread_t thread;

        bool removal_pending;       /* the VF's detach returned unconfirmed, no DEVICE_REMOVED yet */

        /* Shared between the loop and the worker, under lock. */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Request *requests, **requests_tail;
        bool quit;

        /* The worker's own, once the thread runs. References, released by the worker. */
        virConnectPtr local;
        virConnectPtr dest;
        int dest_callbacks[2];
        virDomainPtr source_dom;
        virDomainPtr dest_dom;
        VirtMonitor *monitor;  /* while migrate runs */
        /* libvirt's migrate call, still returning after the worker reported the domain running
         * on the destination (joined by migrate_call_reap()). */
        struct MigrateCall *migrate_call;
        json_object *replay_said; /* srvm-guest's last replay report: the next note says what is new */
        char *host_uuid;       /* this host's, as libvirt gives it: who holds a lease */
};

struct Virt {
        const VirtEvents *events; /* not owned: how the backend reports */
        void *events_userdata;
        VirtControlGroup controls; /* the control threads, waited for at free */
        sd_event *event;       /* ref */
        char *local_uri;
        virConnectPtr conn;    /* the local connection; NULL while reconnecting */
        EventOrigin local_origin;
        int callbacks[6];
        size_t n_callbacks;

        /* Loop only: after libvirtd went away, the connection is opened again on an errand
         * thread, with a backoff from RECONNECT_DELAY_MIN doubling to RECONNECT_DELAY_MAX. */
        sd_event_source *reconnect_timer; /* owned */
        usec_t reconnect_delay;
        usec_t disconnected_at;
        bool connecting;                  /* the connect errand runs */

        pthread_t event_thread;
        bool event_thread_started;
        atomic_bool event_quit;

        /* The queue into the loop. lock guards posts; the fd is written after each post. */
        pthread_mutex_t lock;
        Post *posts, **posts_tail;
        int fd;
        sd_event_source *fd_source;

        VirtJob *jobs;         /* owned; released ones stay until their worker exited */
        uint64_t next_generation;
        Inspection *inspections; /* owned; until their thread is joined */
};


/* A libvirt domain state (virDomainState) as virsh(1) names it; "unknown" for others. */
const char *virt_domain_state_to_string(int state);

/* The job of id through the events table; NULL if it is gone. */
static inline Migration *virt_job_migration(Virt *v, uint32_t id) {
        return v->events->job(v->events_userdata, id);
}

/* Posts: any thread queues; the loop dispatches. */
Post *post_new(PostType type, uint32_t job_id, const char *domain, const char *alias);
void virt_post(Virt *v, Post *p);

/* Worker: fill a result with a failure and its sentence; return the error. */
int result_fail(Post *p, int r, const char *fmt, ...) _printf_(3, 4);
int result_fail_libvirt(Post *p, const char *what);
int result_fail_agent(Post *p, int r, usec_t timeout, const char *what);
void record_sample(Post *p, const char *command, usec_t rtt);
usec_t agent_timeout(usec_t time_left, usec_t cap);
int guest_run(virDomainPtr dom, char *const argv[], usec_t timeout, Post *p, json_object **ret);
int check_bond_status(json_object *status, const char *bond, Post *p);
int dest_open(VirtJob *j, const char *uri, Post *p);
int job_get_domain(VirtJob *j, const Request *q, Side side, virDomainPtr *ret, Post *p);

/* Loop: jobs and their requests. */
Request *request_free(Request *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(Request *, request_free);
int request_new(Virt *v, VirtJob *j, Migration *m, Action a, Side side, Request **ret);
void virt_job_queue(VirtJob *j, Request *q);
VirtJob *virt_find_job(Virt *v, uint32_t id);
void virt_report_agent_latency(Virt *v, const Post *p, Migration *m);
void on_control_failed(MigrationControl c, const char *domain, const char *message, void *userdata);

/* virt-preflight.c */
int do_preflight_read(VirtJob *j, const Request *q, Post *p);
int do_preflight_checks(VirtJob *j, const Request *q, Post *p);
int do_arrival_checks(VirtJob *j, const Request *q, Post *p);
void virt_dispatch_domain_info(Virt *v, Post *p);

/* virt-monitor.c: the loop's side of pre-copy. */
void on_progress(const MigrationProgress *progress, void *userdata);
void virt_dispatch_progress(Virt *v, Post *p);
void virt_dispatch_note(Virt *v, Post *p);
