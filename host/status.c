/*
 * status.c -- routes agentrecoverd's requests: /healthz (200 while the
 * process serves and its loops tick, also during shutdown), /ready (200 only after the restore
 * and until shutdown starts), /metrics (the manager's metrics in Prometheus
 * text plus a few host gauges), and everything under /api/ to the admin API.
 *
 * Never: call into the manager for /healthz or /ready (they must answer even
 * while the manager is busy restoring or shutting down).
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

void arec_host_route(void *ud, const arec_host_request *req,
                     arec_host_response *out) {
  arec_host_state *st = ud;
  const char *p = req->path;
  int is_get = strcmp(req->method, "GET") == 0 ||
               strcmp(req->method, "HEAD") == 0;
  if (!strcmp(p, "/healthz") || !strcmp(p, "/ready") ||
      !strcmp(p, "/metrics")) {
    if (!is_get) {
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
      text(out, stalled ? 503 : 200, stalled ? "stalled\n" : "ok\n",
           TEXT_TYPE);
    } else if (p[1] == 'r') {
      int ready = atomic_load(&st->ready) && !atomic_load(&st->stopping);
      text(out, ready ? 200 : 503, ready ? "ready\n" : "not ready\n",
           TEXT_TYPE);
    } else {
      metrics(st, out);
    }
    return;
  }
  if (!strncmp(p, "/api/", 5)) {
    arec_host_api_handle(&st->api, req, out);
    return;
  }
  arec_host_api_error(out, 404, "no such endpoint");
}
