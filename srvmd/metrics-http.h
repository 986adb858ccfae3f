/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The metrics endpoint: libmicrohttpd serving GET and HEAD on /metrics, driven from srvmd's own
 * sd-event loop (no thread of MHD's: its epoll fd is an I/O source on the loop, and a timer
 * follows MHD_get_timeout()). Connections are bounded in number, per client address and in
 * idle time, and every MHD_run() only does what is ready, so no client stalls the loop. Also
 * the one place that reads /proc/self for the process_* metrics. */
#pragma once

#include <stdint.h>

#include <systemd/sd-event.h>

#include "metrics.h"

/* Loopback only unless configured otherwise: the figures are for the host's own Prometheus or
 * a tunnel to it, not for the network at large. */
#define METRICS_HTTP_ADDRESS_DEFAULT "127.0.0.1"
/* From the exporter range (9100-9999) of Prometheus' "Default port allocations" wiki page:
 * 9709 was left "FREE" between the Sonarr (9708) and Fortigate (9710) exporters, away from
 * the ports a hypervisor host already runs (node 9100, libvirt 9177, libvirtd 9729). The range
 * has been reported fully allocated since 2023, so check the page and register srvmd there
 * before a release. */
#define METRICS_HTTP_PORT_DEFAULT 9709

#define METRICS_HTTP_CONNECTION_LIMIT_DEFAULT 32U
#define METRICS_HTTP_PER_IP_CONNECTION_LIMIT_DEFAULT 8U
#define METRICS_HTTP_CONNECTION_TIMEOUT_SEC_DEFAULT 10U
/* A scrape takes milliseconds; a connection older than this is cut, busy or not. */
#define METRICS_HTTP_CONNECTION_LIFETIME_SEC_DEFAULT 15U

typedef struct MetricsHttp MetricsHttp;

/* Render the body: *ret_body malloc()ed (freed by the edge), *ret_size its length. */
typedef int (*MetricsRenderFn)(void *userdata, char **ret_body, size_t *ret_size);

typedef struct MetricsHttpConfig {
        const char *address;             /* numeric IPv4 or IPv6; NULL: METRICS_HTTP_ADDRESS_DEFAULT */
        uint16_t port;                   /* 0: any free port (tests; see metrics_http_get_port()) */
        unsigned connection_limit;       /* 0: the default */
        unsigned per_ip_connection_limit; /* per address, and per user for a peer on this host */
        unsigned connection_timeout_sec;  /* idle time before a connection is closed */
        unsigned connection_lifetime_sec; /* time, idle or not, before it is cut */
} MetricsHttpConfig;

/* Listen and serve on event. Failures are returned for the caller to log; only MHD's own
 * messages are logged here, at debug level. */
int metrics_http_new(sd_event *event, const MetricsHttpConfig *config, MetricsRenderFn render,
                     void *userdata, MetricsHttp **ret);
MetricsHttp *metrics_http_free(MetricsHttp *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricsHttp *, metrics_http_free);

uint16_t metrics_http_get_port(const MetricsHttp *h);

/* "ADDR:PORT", "[ADDR6]:PORT" or "PORT" (on METRICS_HTTP_ADDRESS_DEFAULT), numeric only.
 * *ret_address is malloc()ed. -EINVAL for anything else. */
int metrics_http_parse_listen(const char *s, char **ret_address, uint16_t *ret_port);

/* Read the process figures from /proc/self and getrlimit(). */
int metrics_read_process(MetricsProcess *ret);

/* A MetricsRenderFn over a Metrics registry (userdata), with the process figures read fresh. */
int metrics_http_render(void *userdata, char **ret_body, size_t *ret_size);
