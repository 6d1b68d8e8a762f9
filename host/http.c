/*
 * http.c -- the HTTP server of agentrecoverd over libmicrohttpd: internal
 * epoll threads (a small pool), one handler for every request.
 *
 * How: the first call of the access handler only allocates the connection's
 * state; later calls append upload chunks (up to AREC_HOST_BODY_MAX, the
 * rest is drained and flagged too large); the final call builds an
 * arec_host_request, runs the handler and queues its response (queued on a
 * later call, as libmicrohttpd 0.9.75 wants, so keep-alive works).
 *
 * Never: print (libmicrohttpd's error log stays off), block a request on
 * another, or let a body grow past the limit in memory.
 */
#include "http.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arec_host_http {
  struct MHD_Daemon *daemon;
  arec_host_handler handler;
  void *ud;
};

typedef struct conn_state {
  char *body;
  size_t len;
  size_t cap;
  int too_large;
} conn_state;

static int append(conn_state *cs, const char *data, size_t n) {
  if (cs->too_large || cs->len + n > AREC_HOST_BODY_MAX) {
    cs->too_large = 1;
    return 0;
  }
  if (cs->len + n + 1 > cs->cap) {
    size_t cap = cs->cap ? cs->cap : 1024;
    while (cap < cs->len + n + 1) cap *= 2;
    char *b = realloc(cs->body, cap);
    if (!b) return -1;
    cs->body = b;
    cs->cap = cap;
  }
  memcpy(cs->body + cs->len, data, n);
  cs->len += n;
  cs->body[cs->len] = 0;
  return 0;
}

static enum MHD_Result send_response(struct MHD_Connection *c,
                                     arec_host_response *r) {
  const char *body = r->body ? r->body : "";
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  free(r->body);
  r->body = NULL;
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          r->content_type ? r->content_type
                                          : "application/json");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  enum MHD_Result ret =
      MHD_queue_response(c, (unsigned int)(r->status ? r->status : 500), resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
  (void)version;
  arec_host_http *http = cls;
  conn_state *cs = *con_cls;
  if (!cs) {
    cs = calloc(1, sizeof *cs);
    if (!cs) return MHD_NO;
    *con_cls = cs;
    return MHD_YES;
  }
  if (*upload_size) {
    if (append(cs, upload, *upload_size) != 0) return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }
  arec_host_request req;
  memset(&req, 0, sizeof req);
  req.method = method;
  req.path = url;
  req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_AUTHORIZATION);
  req.arg_limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
  req.arg_after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
  req.body = cs->body;
  req.body_len = cs->len;
  req.body_too_large = cs->too_large;
  arec_host_response resp;
  memset(&resp, 0, sizeof resp);
  http->handler(http->ud, &req, &resp);
  return send_response(c, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  conn_state *cs = *con_cls;
  if (cs) {
    free(cs->body);
    free(cs);
    *con_cls = NULL;
  }
}

int arec_host_http_start(arec_host_http **out, int port, unsigned threads,
                         arec_host_handler handler, void *ud, char *err,
                         size_t errlen) {
  *out = NULL;
  arec_host_http *http = calloc(1, sizeof *http);
  if (!http) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  http->handler = handler;
  http->ud = ud;
  http->daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL,
      NULL, on_access, http, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned int)(threads ? threads : 1), MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned int)30, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_END);
  if (!http->daemon) {
    snprintf(err, errlen, "cannot listen on port %d (in use?)", port);
    free(http);
    return -1;
  }
  *out = http;
  return 0;
}

void arec_host_http_stop(arec_host_http *http) {
  if (!http) return;
  MHD_stop_daemon(http->daemon);
  free(http);
}
