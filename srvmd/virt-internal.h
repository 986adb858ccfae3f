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
        POST_DEVICE_REMOVED,        /* DevicePost */
        POST_DEVICE_REMOVAL_FAILED, /* DevicePost */
        POST_JOB_COMPLETED,         /* JobCompletedPost */
        POST_LIFECYCLE,             /* LifecyclePost */
        POST_CONNECTION_CLOSED,     /* ConnectionClosedPost */
        POST_RESULT,                /* ResultPost */
        POST_WORKER_EXITED,         /* WorkerExitedPost */
        POST_INSPECTED,             /* InspectedPost */
        POST_TEXT,                  /* TextPost: a read's answer for a VirtTextFn */
        POST_DOMAIN_INFO,           /* ResultPost: preflight read the domain, the loop decides on it */
        POST_PROGRESS,              /* ProgressPost: the monitor read the migration's job stats */
        POST_ITERATION,             /* IterationPost: libvirt's MIGRATION_ITERATION event */
        POST_NOTE,                  /* NotePost: for the job's events, e.g. a convergence step libvirt refused */
        POST_CONNECTED,             /* ConnectedPost: the connect errand's new local connection */
        _POST_TYPE_MAX,
        _POST_TYPE_INVALID = -EINVAL,
} PostType;

typedef struct VirtJob VirtJob;
typedef struct VirtErrand VirtErrand;

/* Every message from the event thread, a worker or an errand to the loop starts with this
 * header, and type says which of the structs below it is. Each message owns its strings. */
typedef struct Post {
        struct Post *next;
        PostType type;
} Post;

/* What an action or a read came to: r >= 0, or a negative errno and a sentence. */
typedef struct Outcome {
        int r;
        char *message;
} Outcome;

/* libvirt's events. job_id names the connection one came through: 0 the local one, else that
 * job's connection to its destination. */
typedef struct DevicePost {
        Post post;
        uint32_t job_id;
        char *domain;
        char *alias;
} DevicePost;

typedef struct JobCompletedPost {
        Post post;
        uint32_t job_id;
        char *domain;
        uint64_t downtime_ms; /* the pause libvirt measured */
} JobCompletedPost;

typedef struct LifecyclePost {
        Post post;
        uint32_t job_id;
        char *domain;
        int event, detail;
} LifecyclePost;

typedef struct IterationPost {
        Post post;
        char *domain;
        unsigned iteration;
} IterationPost;

typedef struct ConnectionClosedPost {
        Post post;
        uint32_t job_id;
        virConnectPtr conn; /* the connection that closed: compared only */
        int reason;
} ConnectionClosedPost;

/* A worker's action ended. */
typedef struct ResultPost {
        Post post;
        uint32_t job_id;
        uint64_t generation;   /* of the action it answers */
        Action action;
        char *domain;
        Outcome out;
        usec_t duration;       /* how long the action took on the worker */
        AgentSample agent_samples[AGENT_SAMPLES_MAX]; /* agent commands that answered */
        size_t n_agent_samples;
        uint64_t downtime_ms;  /* MIGRATE, LOCATE: the pause, when have_downtime */
        bool have_downtime;
        char *guest_note;      /* LINK, FAILBACK: what srvm-guest said of its replay, for the job's events */
        bool late_removal;     /* PLUG: the VF went only while the plug back waited for it */
        /* DOMAIN_INFO (preflight's first stage): the live domain XML, versions and VF drivers. */
        char *xml;
        PreflightHostFacts facts;
} ResultPost;

/* The worker of job exited: the loop joins and frees it. */
typedef struct WorkerExitedPost {
        Post post;
        VirtJob *job;
} WorkerExitedPost;

/* The monitor read the migration's job stats. */
typedef struct ProgressPost {
        Post post;
        uint32_t job_id;
        MigrationProgress progress;
} ProgressPost;

/* A sentence for the events of the job of domain (job_id 0: whichever runs there). */
typedef struct NotePost {
        Post post;
        uint32_t job_id;
        char *domain;
        char *note;
} NotePost;

/* An arrived domain's plan (if any), whether its VF is there, and its live XML (for the policy
 * when it has no plan). */
typedef struct InspectedPost {
        Post post;
        VirtErrand *errand;            /* to join */
        char *domain;
        Outcome out;
        VirtXmlPlan plan;
        bool have_plan;
        bool running;                  /* the domain runs here: not an incoming migration still paused */
        bool vf_present;
        uint64_t held_for_sec;         /* another host's srvmd holds the plan's lease this much longer */
        char *xml;
} InspectedPost;

/* A read's answer: text, or out.r < 0 and out.message. */
typedef struct TextPost {
        Post post;
        VirtErrand *errand;            /* to join; its cb gets the answer */
        Outcome out;
        char *text;
} TextPost;

/* The connect errand's new local connection (owned, with its event registrations), or out
 * says why not. */
typedef struct ConnectedPost {
        Post post;
        VirtErrand *errand;            /* to join */
        Outcome out;
        virConnectPtr conn;
        int callbacks[6];
        size_t n_callbacks;
} ConnectedPost;

/* A short errand off the loop, on a thread of its own (a look at a domain that arrived by
 * migration, a read for a caller, the connection opened again): what its thread needs. */
struct VirtErrand {
        VirtErrand *next;
        Virt *virt;
        char *domain;       /* the domain it concerns, if one */
        VirtTextFn cb;      /* a read's caller, NULL for the others */
        void *cb_userdata;
        virConnectPtr conn; /* the local connection: shared (a reference) or its own */
        pthread_t thread;
};

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
        char *domain;          /* the worker's copy, for its posts and logs */

        /* Loop only. The job's record (Migration, the manager's) points here through its
         * backend data until virt_release_job(); what the job decided lives there, not here. */
        uint64_t generation;   /* of the action in flight, 0 if none */
        bool thread_started;
        pthread_t thread;

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
        VirtErrand *errands;   /* owned; until their thread is joined */
};


/* A libvirt domain state (virDomainState) as virsh(1) names it; "unknown" for others. */
const char *virt_domain_state_to_string(int state);

/* The job of id through the events table; NULL if it is gone. */
static inline Migration *virt_job_migration(Virt *v, uint32_t id) {
        return v->events->job(v->events_userdata, id);
}

/* The running job of domain through the events table; NULL if none. */
static inline Migration *virt_domain_migration(Virt *v, const char *domain) {
        return v->events->domain_job(v->events_userdata, domain);
}

/* Posts: any thread makes and queues one; the loop dispatches it. */
void *post_alloc(PostType type, size_t size);
#define POST_NEW(type, T) ((T *) post_alloc(type, sizeof(T)))
void virt_post(Virt *v, Post *p);

/* Any thread: set the outcome to a failure and its sentence; return the error. */
int result_fail(Outcome *o, int r, const char *fmt, ...) _printf_(3, 4);
int result_fail_libvirt(Outcome *o, const char *what);
int result_fail_agent(Outcome *o, int r, usec_t timeout, const char *what);
/* Worker. */
void record_sample(ResultPost *p, const char *command, usec_t rtt);
usec_t agent_timeout(usec_t time_left, usec_t cap);
int guest_run(virDomainPtr dom, char *const argv[], usec_t timeout, ResultPost *p, json_object **ret);
int check_bond_status(json_object *status, const char *bond, ResultPost *p);
int dest_open(VirtJob *j, const char *uri, ResultPost *p);
int job_get_domain(VirtJob *j, const Request *q, Side side, virDomainPtr *ret, ResultPost *p);

/* Loop: jobs and their requests. */
Request *request_free(Request *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(Request *, request_free);
int request_new(Virt *v, VirtJob *j, Migration *m, Action a, Side side, Request **ret);
void virt_job_queue(VirtJob *j, Request *q);
VirtJob *virt_find_job(Virt *v, uint32_t id);
void virt_report_agent_latency(Virt *v, const ResultPost *p, Migration *m);
void on_control_failed(MigrationControl c, const char *domain, const char *message, void *userdata);

/* virt-preflight.c */
int do_preflight_read(VirtJob *j, const Request *q, ResultPost *p);
int do_preflight_checks(VirtJob *j, const Request *q, ResultPost *p);
int do_arrival_checks(VirtJob *j, const Request *q, ResultPost *p);
void virt_dispatch_domain_info(Virt *v, ResultPost *p);

/* virt-monitor.c: the loop's side of pre-copy. */
void on_progress(const MigrationProgress *progress, void *userdata);
void virt_dispatch_progress(Virt *v, ProgressPost *p);
void virt_dispatch_iteration(Virt *v, IterationPost *p);
void virt_dispatch_note(Virt *v, NotePost *p);
