/*
 * status.c -- routes agentrecoverd's requests: /healthz (200 while the
 * process serves and its loops tick, also during shutdown), /ready (200 only after the restore
 * and until shutdown starts), /metrics (the manager's metrics in Prometheus
 * text plus a few host gauges), and everything under /api/ to the admin API.
 *
 * /healthz and /ready are also the transport's probe, answered on its I/O
 * threads; every other route runs on its worker pool.
 *
 * Never: call into the manager, the database or a lock for /healthz or
 * /ready (they must answer even while the manager is busy restoring or
 * shutting down, and they run on the I/O threads).
 */
#include "status.h"

#include "trading/exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TEXT_TYPE "text/plain; charset=utf-8"
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

static void text(arec_host_response *out, int status, const char *body,
                 const char *type) {
  out->status = status;
  out->content_type = type;
  out->body = strdup(body);
}

static void metrics(arec_host_state *st, arec_host_response *out) {
  arec_metrics m;
  memset(&m, 0, sizeof m);
  m.version = AREC_METRICS_VERSION;
  char *txt = NULL;
  if (arec_manager_metrics(st->api.mgr, &m) != 0 ||
      arec_metrics_render(&txt, &m) != 0 || !txt) {
    arec_free(txt);
    text(out, 500, "metrics unavailable\n", TEXT_TYPE);
    return;
  }
  char host[768];
  int n = snprintf(
      host, sizeof host,
      "# HELP agentrecoverd_ready 1 while /ready answers 200.\n"
      "# TYPE agentrecoverd_ready gauge\n"
      "agentrecoverd_ready %d\n"
      "# HELP agentrecoverd_recovery_active 1 once the restore ran and the "
      "reconcile loop is on.\n"
      "# TYPE agentrecoverd_recovery_active gauge\n"
      "agentrecoverd_recovery_active %d\n"
      "# HELP agentrecoverd_build_info Library version of this daemon.\n"
      "# TYPE agentrecoverd_build_info gauge\n"
      "agentrecoverd_build_info{version=\"%s\"} 1\n",
      atomic_load(&st->ready) && !atomic_load(&st->stopping),
      atomic_load(&st->recovery_active),
      arec_version());
  char *xm = NULL; /* exchange_requests_total, exchange_circuit_open */
  if (st->exchange_hub && arec_exchange_hub_render(st->exchange_hub, &xm) != 0)
    xm = NULL;
  size_t tl = strlen(txt), xl = xm ? strlen(xm) : 0;
  char *body = malloc(tl + (size_t)n + xl + 2);
  if (body) {
    memcpy(body, txt, tl);
    if (tl && txt[tl - 1] != '\n') body[tl++] = '\n';
    memcpy(body + tl, host, (size_t)n + 1);
    if (xm) memcpy(body + tl + (size_t)n, xm, xl + 1);
  }
  free(xm);
  arec_free(txt);
  out->status = body ? 200 : 500;
  out->content_type = PROM_TYPE;
  out->body = body;
}

/* /healthz and /ready: atomics and the clock only. */
static void probe(arec_host_state *st, const char *p, int get,
                  arec_host_response *out) {
  if (!get) {
    arec_host_api_error(out, 405, "method not allowed: use GET");
  } else if (p[1] == 'h') {
    /* alive while the main loop sees the refresher tick (it does not
     * wait for the database or Redis), and always during shutdown */
    long long ok = atomic_load(&st->loops_ok_at);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int stalled = ok > 0 && !atomic_load(&st->stopping) &&
                  now - ok > st->healthz_stall_ms;
    text(out, stalled ? 503 : 200, stalled ? "stalled\n" : "ok\n", TEXT_TYPE);
  } else {
    int ready = atomic_load(&st->ready) && !atomic_load(&st->stopping);
    text(out, ready ? 200 : 503, ready ? "ready\n" : "not ready\n",
         TEXT_TYPE);
  }
}

static int is_probe(const char *p) {
  return !strcmp(p, "/healthz") || !strcmp(p, "/ready");
}

static int is_get(const char *method) {
  return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

void arec_host_route(void *ud, const arec_host_request *req,
                     arec_host_response *out) {
  arec_host_state *st = ud;
  const char *p = req->path;
  if (is_probe(p)) {
    probe(st, p, is_get(req->method), out);
    return;
  }
  if (!strcmp(p, "/metrics")) {
    if (!is_get(req->method))
      arec_host_api_error(out, 405, "method not allowed: use GET");
    else
      metrics(st, out);
    return;
  }
  if (!strncmp(p, "/api/", 5)) {
    arec_host_api_handle(&st->api, req, out);
    return;
  }
  arec_host_api_error(out, 404, "no such endpoint");
}

int arec_host_probe(void *ud, const arec_http_request *req,
                    arec_http_response *out) {
  if (!is_probe(req->path)) return 0;
  probe(ud, req->path, is_get(req->method), out);
  return 1;
}

void arec_host_http_route(void *ud, const arec_http_request *req,
                          arec_http_response *out) {
  arec_host_request r;
  memset(&r, 0, sizeof r);
  r.method = req->method;
  r.path = req->path;
  r.authorization = arec_http_header(req, "Authorization");
  r.arg_limit = arec_http_query(req, "limit");
  r.arg_after = arec_http_query(req, "after");
  r.body = req->body;
  r.body_len = req->body_len;
  r.body_too_large = req->body_too_large;
  arec_host_route(ud, &r, out);
}
