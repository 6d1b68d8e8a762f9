/*
 * http.h -- agentrecoverd's HTTP transport (libmicrohttpd) with its own
 * request/response types.  Two kinds of handler: a probe answered on the
 * I/O thread itself (it must never block), and everything else, run on a
 * bounded worker pool so that no slow request can delay a probe.
 */
#ifndef AREC_HOST_HTTP_H
#define AREC_HOST_HTTP_H

#include <stddef.h>

/* One header or query argument (value NULL for "?flag"). */
typedef struct arec_http_kv {
  const char *name;
  const char *value;
} arec_http_kv;

/* One request as the transport hands it over.  Every string is owned by the
 * transport and valid until the handler returns. */
typedef struct arec_http_request {
  const char *method; /* "GET", "POST", ... */
  const char *path;   /* "/api/agents/abc" (no query string) */
  const char *peer;   /* the client's address ("127.0.0.1", "::1") or "" */
  const char *body;   /* NUL-terminated, may be NULL */
  size_t body_len;
  int body_too_large; /* the body went over the configured limit */
  const arec_http_kv *headers; /* use arec_http_header() */
  size_t nheaders;
  const arec_http_kv *query; /* use arec_http_query() */
  size_t nquery;
} arec_http_request;

#define AREC_HTTP_MAX_EXTRA_HEADERS 4

/* What a handler fills in.  The transport zeroes it before the call. */
typedef struct arec_http_response {
  int status;               /* 0 counts as 500 */
  char *body;               /* malloc'd; freed by the transport */
  const char *content_type; /* static string; NULL: application/json */
  /* extra headers (static strings), e.g. {"Retry-After", "1"}; unused
   * entries have a NULL name */
  arec_http_kv extra[AREC_HTTP_MAX_EXTRA_HEADERS];
} arec_http_response;

/* A header's value (name case-insensitive) or NULL. */
const char *arec_http_header(const arec_http_request *req, const char *name);
/* A query argument's value or NULL (also NULL for "?name" without '='). */
const char *arec_http_query(const arec_http_request *req, const char *name);

/* Runs on a worker thread, concurrently with other calls: thread-safe. */
typedef void (*arec_http_handler)(void *ud, const arec_http_request *req,
                                  arec_http_response *out);
/* Runs on an I/O thread: answers cheap requests (reads atomics, never a
 * lock another thread may hold for long, never I/O) and returns 1; returns
 * 0, leaving `out` alone, to hand the request to the worker pool. */
typedef int (*arec_http_probe)(void *ud, const arec_http_request *req,
                               arec_http_response *out);

typedef struct arec_http_options {
  const char *addr;         /* IPv4 or IPv6 literal; NULL: "0.0.0.0" */
  int port;
  unsigned io_threads;      /* libmicrohttpd's polling threads */
  unsigned workers;         /* handler threads */
  unsigned queue_max;       /* requests waiting for a worker; over: 503 */
  unsigned max_connections; /* all clients together */
  unsigned max_per_ip;      /* connections from one address; 0: no limit */
  unsigned timeout_s;       /* idle connection closed after; also the time a
                               request body may take to arrive */
  unsigned backlog;         /* listen() backlog */
  unsigned stop_wait_ms;    /* stop waits this long for busy handlers */
  size_t body_max;          /* larger bodies are drained, flagged too large */
  arec_http_probe probe;    /* may be NULL */
  arec_http_handler handler;
  void *ud;
  int worker_nice;          /* each handler thread's nice value (0..19): the
                               handlers yield the CPU to the process's
                               other threads when it is scarce */
} arec_http_options;

#define AREC_HTTP_OPTIONS_INIT                                              \
  {NULL, 8080, 4, 8, 256, 4096, 64, 10, 4096, 2000, 64 * 1024, NULL, NULL, \
   NULL, 0}

/* Counters of a running server (a snapshot). */
typedef struct arec_http_stats {
  unsigned connections;           /* open client connections */
  unsigned queued;                /* requests waiting for a worker */
  unsigned running;               /* handlers running now */
  unsigned long long busy_total;  /* requests answered 503 (queue full) */
  unsigned long long dropped_total; /* queued requests skipped: the client
                                       had gone */
} arec_http_stats;

typedef struct arec_host_http arec_host_http;

/* Starts listening.  0, or -1 with a reason in err. */
int arec_host_http_start(arec_host_http **out, const arec_http_options *o,
                         char *err, size_t errlen);

void arec_host_http_stats_get(arec_host_http *http, arec_http_stats *st);

/* Stops accepting, answers or closes every connection, waits up to
 * stop_wait_ms for busy handlers and leaves the ones still running behind
 * (they finish later without touching the freed server; their `ud` must
 * stay valid until they do).  Returns how many were left running; NULL ok
 * (returns 0). */
int arec_host_http_stop(arec_host_http *http);

/* Raises this process's open-file soft limit to its hard limit.  Returns
 * the soft limit now in force (or -1 when it cannot be read). */
long arec_http_raise_nofile_limit(void);

#endif
