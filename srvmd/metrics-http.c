/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The metrics endpoint (see metrics-http.h). MHD runs in external-epoll mode: its epoll fd
 * becomes readable when any of its sockets (listening or connected) is ready, and then one
 * MHD_run() does exactly the ready work, without waiting. After each run the timer is set from
 * MHD_get_timeout(), which is how idle connections get closed and how work MHD left for later
 * in a run (it reports a zero timeout then) is picked up on the next loop iteration. */
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics-http.h"

#define METRICS_PATH "/metrics"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* A scrape request is a request line and a few headers; MHD's per-connection pool. */
#define METRICS_HTTP_CONNECTION_MEMORY 16384U
/* Requests within this time of a render get the same body: a flood of scrapes costs one
 * render a second, not one each, and Prometheus scrapes far less often anyway. */
#define METRICS_HTTP_CACHE_USEC USEC_PER_SEC

/* Who a connection counts against: a user for a peer on this host (every local user comes
 * from 127.0.0.1, and one of them must not use up what all share), an address otherwise. */
typedef struct Peer {
        struct MHD_Connection *connection; /* borrowed: MHD's */
        int fd;                            /* borrowed: MHD's socket */
        uint64_t deadline;                 /* CLOCK_MONOTONIC; then it is cut, however busy */
        bool cut;
        bool local;
        uid_t uid;                         /* local: the peer socket's owner */
        struct in6_addr address;           /* not local: the peer's, IPv4 mapped */
} Peer;

struct MetricsHttp {
        sd_event *event;           /* a reference */
        sd_event_source *io;       /* owned: MHD's epoll fd */
        sd_event_source *timer;    /* owned: MHD's next timeout */
        struct MHD_Daemon *daemon; /* owned */
        MetricsRenderFn render;
        void *userdata;
        uint16_t port;
        struct MHD_Response *cached; /* a reference; MHD keeps its own while it sends */
        uint64_t cached_at;          /* CLOCK_MONOTONIC */
        Peer *peers;                 /* owned: one per open connection */
        size_t n_peers;
        unsigned per_peer_limit;
        uint64_t lifetime;
};

/* The owner of the socket at the other end of a loopback TCP connection, from the kernel's
 * socket table (sock_diag, the exact look-up of one socket by its addresses and ports). */
static int loopback_peer_uid(const struct sockaddr_storage *local, const struct sockaddr_storage *peer, uid_t *ret) {
        struct {
                struct nlmsghdr nlh;
                struct inet_diag_req_v2 req;
        } q = {
                .nlh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
                .req = { .sdiag_family = (uint8_t) peer->ss_family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0U,
                         .id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
        };
        union {
                struct nlmsghdr nlh;
                char buf[1024];
        } a;
        _cleanup_close_ int fd = -EBADF;
        const struct inet_diag_msg *m;
        ssize_t n;

        /* As seen from the peer's socket: it is the source. */
        if (peer->ss_family == AF_INET) {
                const struct sockaddr_in *l = (const void *) local, *p = (const void *) peer;

                q.req.id.idiag_sport = p->sin_port;
                q.req.id.idiag_dport = l->sin_port;
                memcpy(q.req.id.idiag_src, &p->sin_addr, 4);
                memcpy(q.req.id.idiag_dst, &l->sin_addr, 4);
        } else {
                const struct sockaddr_in6 *l = (const void *) local, *p = (const void *) peer;

                q.req.id.idiag_sport = p->sin6_port;
                q.req.id.idiag_dport = l->sin6_port;
                memcpy(q.req.id.idiag_src, &p->sin6_addr, 16);
                memcpy(q.req.id.idiag_dst, &l->sin6_addr, 16);
        }

        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0)
                return -errno;
        if (send(fd, &q, sizeof(q), 0) < 0)
                return -errno;
        n = recv(fd, &a, sizeof(a), 0);
        if (n < 0)
                return -errno;
        if (!NLMSG_OK(&a.nlh, (size_t) n) || a.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
            a.nlh.nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
                return -ESRCH;
        m = NLMSG_DATA(&a.nlh);
        *ret = m->idiag_uid;
        return 0;
}

static bool is_loopback(const struct sockaddr_storage *sa) {
        if (sa->ss_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
        if (sa->ss_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;

                return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        return false;
}

static bool peer_same(const Peer *a, const Peer *b) {
        if (a->local != b->local)
                return false;
        return a->local ? a->uid == b->uid : memcmp(&a->address, &b->address, sizeof(a->address)) == 0;
}

static uint64_t monotonic_now(MetricsHttp *h) {
        uint64_t now;

        return sd_event_now(h->event, CLOCK_MONOTONIC, &now) >= 0 ? now : 0;
}

/* A new connection: note who it is, and cut it at once when that peer holds its share. */
static void peer_started(MetricsHttp *h, struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct sockaddr_storage local = {}, remote = {};
        socklen_t ll = sizeof(local), rl = sizeof(remote);
        Peer p = { .connection = c, .fd = -1 }, *more;
        unsigned same = 0;

        if (!info)
                return;
        p.fd = info->connect_fd;
        p.deadline = monotonic_now(h) + h->lifetime;
        if (getsockname(p.fd, (struct sockaddr *) &local, &ll) < 0 || getpeername(p.fd, (struct sockaddr *) &remote, &rl) < 0) {
                (void) shutdown(p.fd, SHUT_RDWR);
                return;
        }
        if (is_loopback(&remote) && loopback_peer_uid(&local, &remote, &p.uid) >= 0)
                p.local = true;
        else if (remote.ss_family == AF_INET6)
                p.address = ((const struct sockaddr_in6 *) &remote)->sin6_addr;
        else if (remote.ss_family == AF_INET) {
                p.address.s6_addr[10] = p.address.s6_addr[11] = 0xff;
                memcpy(&p.address.s6_addr[12], &((const struct sockaddr_in *) &remote)->sin_addr, 4);
        }

        for (size_t i = 0; i < h->n_peers; i++)
                if (!h->peers[i].cut && peer_same(&h->peers[i], &p))
                        same++;
        if (same >= h->per_peer_limit) {
                if (p.local)
                        log_debug("metrics: user %u holds %u connections already; closing the next one.", (unsigned) p.uid, same);
                (void) shutdown(p.fd, SHUT_RDWR);
                p.cut = true;
        }

        more = realloc(h->peers, (h->n_peers + 1) * sizeof(Peer));
        if (!more) {
                (void) shutdown(p.fd, SHUT_RDWR);
                return;
        }
        h->peers = more;
        h->peers[h->n_peers++] = p;
}

static void peer_closed(MetricsHttp *h, struct MHD_Connection *c) {
        for (size_t i = 0; i < h->n_peers; i++)
                if (h->peers[i].connection == c) {
                        h->peers[i] = h->peers[--h->n_peers];
                        return;
                }
}

static void metrics_http_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                                       enum MHD_ConnectionNotificationCode toe) {
        if (toe == MHD_CONNECTION_NOTIFY_STARTED)
                peer_started(cls, c);
        else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
                peer_closed(cls, c);
}

/* MHD's timeout counts idle time only: a client that trickles a byte now and then would keep
 * its connection for ever. Each gets a lifetime; past it the socket is shut down, which MHD
 * sees as the peer gone. Returns the time until the next deadline. */
static uint64_t peers_cut_expired(MetricsHttp *h) {
        uint64_t now = monotonic_now(h), next = UINT64_MAX;

        for (size_t i = 0; i < h->n_peers; i++) {
                Peer *p = &h->peers[i];

                if (p->cut)
                        continue;
                if (p->deadline <= now) {
                        (void) shutdown(p->fd, SHUT_RDWR);
                        p->cut = true;
                } else if (p->deadline - now < next)
                        next = p->deadline - now;
        }
        return next;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text, const char *allow) {
        struct MHD_Response *response;
        enum MHD_Result ret;

        response = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_PERSISTENT);
        if (!response)
                return MHD_NO;
        if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8") != MHD_YES ||
            (allow && MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
                MHD_destroy_response(response);
                return MHD_NO;
        }
        ret = MHD_queue_response(c, status, response);
        MHD_destroy_response(response);
        return ret;
}

/* Answered on the first call, when the headers are in: a request body, which no valid request
 * has, is never read, and MHD closes the connection after the answer instead. */
static enum MHD_Result metrics_http_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                               const char *method, const char *version,
                                               const char *upload_data, size_t *upload_data_size,
                                               void **req_cls) {
        MetricsHttp *h = cls;
        struct MHD_Response *response;
        uint64_t now;
        char *body = NULL;
        size_t size = 0;
        int r;

        if (!streq(url, METRICS_PATH))
                return reply(c, MHD_HTTP_NOT_FOUND, "Not found: metrics are at " METRICS_PATH ".\n", NULL);
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
                return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed: use GET or HEAD.\n", "GET, HEAD");

        if (sd_event_now(h->event, CLOCK_MONOTONIC, &now) < 0)
                now = 0;
        if (h->cached && now >= h->cached_at && now - h->cached_at < METRICS_HTTP_CACHE_USEC)
                return MHD_queue_response(c, MHD_HTTP_OK, h->cached);

        r = h->render(h->userdata, &body, &size);
        if (r < 0) {
                log_warning_errno(r, "Failed to render the metrics: %m");
                return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Failed to render the metrics.\n", NULL);
        }

        response = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        if (!response) {
                free(body);
                return MHD_NO;
        }
        if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE) != MHD_YES) {
                MHD_destroy_response(response);
                return MHD_NO;
        }

        if (h->cached)
                MHD_destroy_response(h->cached);
        h->cached = response;
        h->cached_at = now;
        return MHD_queue_response(c, MHD_HTTP_OK, response);
}

_printf_(2, 0) static void metrics_http_log(void *cls, const char *fmt, va_list ap) {
        _cleanup_free_ char *s = NULL;
        size_t n;

        if (vasprintf(&s, fmt, ap) < 0)
                return;
        n = strlen(s);
        while (n > 0 && s[n - 1] == '\n')
                s[--n] = 0;
        log_debug("metrics: %s", s);
}

/* Run what MHD has ready, then wake up again when it next needs to. */
static void metrics_http_dispatch(MetricsHttp *h) {
        MHD_UNSIGNED_LONG_LONG timeout_ms;
        uint64_t next;
        int r;

        (void) MHD_run(h->daemon);
        next = peers_cut_expired(h);

        if (MHD_get_timeout(h->daemon, &timeout_ms) == MHD_YES && (uint64_t) timeout_ms * USEC_PER_MSEC < next)
                next = (uint64_t) timeout_ms * USEC_PER_MSEC;
        if (next == UINT64_MAX) {
                (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        r = sd_event_source_set_time_relative(h->timer, next);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to arm the metrics endpoint's timer: %m");
}

static int metrics_http_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        metrics_http_dispatch(userdata);
        return 0;
}

static int metrics_http_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        metrics_http_dispatch(userdata);
        return 0;
}

MetricsHttp *metrics_http_free(MetricsHttp *h) {
        if (!h)
                return NULL;
        sd_event_source_disable_unref(h->io);
        sd_event_source_disable_unref(h->timer);
        if (h->daemon)
                MHD_stop_daemon(h->daemon);
        if (h->cached)
                MHD_destroy_response(h->cached);
        free(h->peers);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

int metrics_http_new(sd_event *event, const MetricsHttpConfig *config, MetricsRenderFn render,
                     void *userdata, MetricsHttp **ret) {
        _cleanup_(metrics_http_freep) MetricsHttp *h = NULL;
        const union MHD_DaemonInfo *info;
        const char *address;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa = {};
        unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
        int r;

        if (!event || !config || !render || !ret)
                return -EINVAL;

        address = config->address ? config->address : METRICS_HTTP_ADDRESS_DEFAULT;
        if (inet_pton(AF_INET, address, &sa.in.sin_addr) == 1) {
                sa.in.sin_family = AF_INET;
                sa.in.sin_port = htons(config->port);
        } else if (inet_pton(AF_INET6, address, &sa.in6.sin6_addr) == 1) {
                sa.in6.sin6_family = AF_INET6;
                sa.in6.sin6_port = htons(config->port);
                flags |= MHD_USE_IPv6;
        } else
                return -EINVAL;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->render = render;
        h->userdata = userdata;
        h->per_peer_limit = config->per_ip_connection_limit ?: METRICS_HTTP_PER_IP_CONNECTION_LIMIT_DEFAULT;
        h->lifetime = (uint64_t) (config->connection_lifetime_sec ?: METRICS_HTTP_CONNECTION_LIFETIME_SEC_DEFAULT) *
                      USEC_PER_SEC;

        errno = 0;
        h->daemon = MHD_start_daemon(
                flags, config->port, NULL, NULL, metrics_http_on_request, h,
                /* First, or libmicrohttpd logs the options before it through its own logger. */
                MHD_OPTION_EXTERNAL_LOGGER, metrics_http_log, NULL,
                MHD_OPTION_SOCK_ADDR, &sa.sa,
                MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned) 1,
                MHD_OPTION_CONNECTION_LIMIT,
                config->connection_limit ?: METRICS_HTTP_CONNECTION_LIMIT_DEFAULT,
                /* The share of each peer is counted here (peer_started()), per user on loopback. */
                MHD_OPTION_NOTIFY_CONNECTION, metrics_http_on_connection, h,
                MHD_OPTION_CONNECTION_TIMEOUT,
                config->connection_timeout_sec ?: METRICS_HTTP_CONNECTION_TIMEOUT_SEC_DEFAULT,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) METRICS_HTTP_CONNECTION_MEMORY,
                MHD_OPTION_END);
        if (!h->daemon)
                return errno > 0 ? -errno : -EIO;

        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
        if (!info)
                return -EIO;
        h->port = info->port;

        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info || info->epoll_fd < 0)
                return -EIO;

        r = sd_event_add_io(event, &h->io, info->epoll_fd, EPOLLIN, metrics_http_on_io, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(h->io, "metrics-http");

        r = sd_event_add_time_relative(event, &h->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                                       metrics_http_on_timer, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(h->timer, "metrics-http-timer");

        *ret = TAKE_PTR(h);
        return 0;
}

uint16_t metrics_http_get_port(const MetricsHttp *h) {
        return h ? h->port : 0;
}

int metrics_http_parse_listen(const char *s, char **ret_address, uint16_t *ret_port) {
        _cleanup_free_ char *address = NULL;
        const char *port;
        unsigned char buf[sizeof(struct in6_addr)];
        unsigned long n;
        char *end;

        if (!s || !ret_address || !ret_port)
                return -EINVAL;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close || close[1] != ':')
                        return -EINVAL;
                address = strndup(s + 1, close - s - 1);
                port = close + 2;
                if (!address)
                        return -ENOMEM;
                if (inet_pton(AF_INET6, address, buf) != 1)
                        return -EINVAL;
        } else if (strchr(s, ':')) {
                const char *colon = strchr(s, ':');

                address = strndup(s, colon - s);
                port = colon + 1;
                if (!address)
                        return -ENOMEM;
                if (inet_pton(AF_INET, address, buf) != 1)
                        return -EINVAL; /* an IPv6 address needs its brackets */
        } else {
                address = strdup(METRICS_HTTP_ADDRESS_DEFAULT);
                port = s;
                if (!address)
                        return -ENOMEM;
        }

        if (*port < '0' || *port > '9')
                return -EINVAL;
        errno = 0;
        n = strtoul(port, &end, 10);
        if (errno != 0 || *end || n == 0 || n > UINT16_MAX)
                return -EINVAL;

        *ret_address = TAKE_PTR(address);
        *ret_port = (uint16_t) n;
        return 0;
}

static int read_small_file(const char *path, char *buf, size_t size) {
        FILE *f;
        size_t n;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        n = fread(buf, 1, size - 1, f);
        if (ferror(f)) {
                fclose(f);
                return -EIO;
        }
        fclose(f);
        buf[n] = 0;
        return 0;
}

/* /proc/stat's btime line; the file's other lines can be long on a big host. */
static int read_btime_line(char **ret) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *f;
        int r = -EBADMSG;

        f = fopen("/proc/stat", "re");
        if (!f)
                return -errno;
        while (getline(&line, &size, f) > 0)
                if (strncmp(line, "btime ", 6) == 0) {
                        *ret = TAKE_PTR(line);
                        r = 0;
                        break;
                }
        fclose(f);
        return r;
}

static int count_open_fds(uint64_t *ret) {
        DIR *d;
        struct dirent *de;
        uint64_t n = 0;

        d = opendir("/proc/self/fd");
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        *ret = n > 0 ? n - 1 : 0; /* not the directory's own fd */
        return 0;
}

int metrics_read_process(MetricsProcess *ret) {
        _cleanup_free_ char *btime = NULL;
        MetricsProcess p = {};
        struct rlimit rl;
        char self_stat[1024];
        int r;

        r = read_small_file("/proc/self/stat", self_stat, sizeof(self_stat));
        if (r < 0)
                return r;
        r = read_btime_line(&btime);
        if (r < 0)
                return r;
        r = metrics_parse_process_stat(self_stat, btime, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), &p);
        if (r < 0)
                return r;
        r = count_open_fds(&p.open_fds);
        if (r < 0)
                return r;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        p.max_fds = rl.rlim_cur;

        *ret = p;
        return 0;
}

int metrics_http_render(void *userdata, char **ret_body, size_t *ret_size) {
        MetricsProcess p;
        int r;

        r = metrics_read_process(&p);
        if (r < 0)
                log_debug_errno(r, "Failed to read the process figures, leaving them out: %m");
        return metrics_render(userdata, r >= 0 ? &p : NULL, ret_body, ret_size);
}
