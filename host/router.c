/*
 * router.c -- agentrecoverd's top-level routes (router.h): /healthz (200
 * while the process serves and its loops tick, also during shutdown),
 * /ready (200 only after the restore and until shutdown starts), /metrics
 * (Prometheus text: the manager's metrics, the host's gauges, the exchange
 * hub's counters), /api/... to the admin API once the caller is known, and
 * /ui, the fleet page (a static document; its API calls carry the token).
 *
 * How: /healthz and /ready are also the transport's probe, answered on its
 * I/O threads; every other route runs on its worker pool.  Each /api/
 * request gets a random request id, which the service puts in its errors
 * and which is logged with the method, path and status at DEBUG.  Tokens
 * are compared in constant time, both of them on every request.
 *
 * Never: call into the manager, the database or a lock for /healthz or
 * /ready (they must answer while the manager is busy restoring or shutting
 * down); log a token or an Authorization header.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "trading/exchange.h"
#include "ui/page.h"

#define TEXT_TYPE "text/plain; charset=utf-8"
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void text(arec_host_response *out, int status, const char *body,
                 const char *type) {
  out->status = status;
  out->content_type = type;
  out->body = strdup(body);
}

/* ------------------------------------------------------------- metrics */
static char *host_gauges(arec_host_state *st) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  fprintf(f,
          "# HELP agentrecoverd_ready 1 while /ready answers 200.\n"
          "# TYPE agentrecoverd_ready gauge\n"
          "agentrecoverd_ready %d\n"
          "# HELP agentrecoverd_recovery_active 1 once the restore ran and "
          "the reconcile loop is on.\n"
          "# TYPE agentrecoverd_recovery_active gauge\n"
          "agentrecoverd_recovery_active %d\n"
          "# HELP agentrecoverd_build_info Library version of this daemon.\n"
          "# TYPE agentrecoverd_build_info gauge\n"
          "agentrecoverd_build_info{version=\"%s\"} 1\n",
          atomic_load(&st->ready) && !atomic_load(&st->stopping),
          atomic_load(&st->recovery_active), arec_version());
  if (st->telegram_role_held)
    fprintf(f,
            "# HELP agentrecoverd_role_held 1 while this pod holds the "
            "singleton role.\n"
            "# TYPE agentrecoverd_role_held gauge\n"
            "agentrecoverd_role_held{role=\"telegram\"} %d\n",
            st->telegram_role_held(st->telegram_role_ud) ? 1 : 0);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

static void metrics(arec_host_state *st, arec_host_response *out) {
  arec_metrics m = AREC_METRICS_INIT;
  char *lib = NULL, *xm = NULL, *host = NULL;
  if (arec_manager_metrics(st->api.mgr, &m) != 0 ||
      arec_metrics_render(&lib, &m) != 0 || !lib ||
      !(host = host_gauges(st))) {
    arec_free(lib);
    free(host);
    text(out, 500, "metrics unavailable\n", TEXT_TYPE);
    return;
  }
  /* exchange_requests_total, exchange_circuit_open, ... */
  if (st->exchange_hub && arec_exchange_hub_render(st->exchange_hub, &xm) != 0)
    xm = NULL;
  size_t ll = strlen(lib), hl = strlen(host), xl = xm ? strlen(xm) : 0;
  char *body = malloc(ll + hl + xl + 2);
  if (body) {
    memcpy(body, lib, ll);
    if (ll && lib[ll - 1] != '\n') body[ll++] = '\n';
    memcpy(body + ll, host, hl);
    if (xm) memcpy(body + ll + hl, xm, xl);
    body[ll + hl + xl] = 0;
  }
  free(xm);
  free(host);
  arec_free(lib);
  out->status = body ? 200 : 500;
  out->content_type = PROM_TYPE;
  out->body = body;
}

/* ---------------------------------------------------------------- probes */
static void probe(arec_host_state *st, const char *p, int get,
                  arec_host_response *out) {
  if (!get) {
    arec_host_api_error(out, 405, "method not allowed: use GET", NULL, NULL);
    out->extra[0].name = "Allow";
    out->extra[0].value = "GET";
  } else if (p[1] == 'h') {
    /* alive while the main loop sees the refresher tick (it does not
     * wait for the database or Redis), and always during shutdown */
    long long ok = atomic_load(&st->loops_ok_at);
    int stalled = ok > 0 && !atomic_load(&st->stopping) &&
                  mono_ms() - ok > st->healthz_stall_ms;
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

/* -------------------------------------------------------- authentication */
/* Constant time in the token's length: the whole token is walked whatever
 * was given. */
static int token_equal(const char *token, const char *given) {
  size_t tl = strlen(token), gl = strlen(given);
  unsigned char diff = (unsigned char)(tl != gl);
  for (size_t i = 0; i < tl; i++) {
    unsigned char g = (unsigned char)(i < gl ? given[i] : 0);
    diff |= (unsigned char)(g ^ (unsigned char)token[i]);
  }
  return diff == 0;
}

int arec_host_authenticate(const arec_host_auth *auth,
                           const char *authorization,
                           arec_svc_actor_kind *kind) {
  if (auth->none) {
    *kind = AREC_ACTOR_API_OPEN;
    return 0;
  }
  const char *given = "";
  if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
    given = authorization + 7;
    while (*given == ' ') given++;
  }
  /* both comparisons always run: the time does not say which matched */
  int admin = auth->admin_token && *given && token_equal(auth->admin_token,
                                                         given);
  int read = auth->read_token && *given && token_equal(auth->read_token,
                                                       given);
  if (admin) {
    *kind = AREC_ACTOR_API_ADMIN;
    return 0;
  }
  if (read) {
    *kind = AREC_ACTOR_API_READ;
    return 0;
  }
  return 401;
}

static void request_id(char out[24]) {
  unsigned char r[8] = {0};
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
    static atomic_ullong seq;
    unsigned long long v =
        atomic_fetch_add(&seq, 1) ^ (unsigned long long)mono_ms();
    memcpy(r, &v, sizeof r);
  }
  for (int i = 0; i < 8; i++) snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static void route_api(arec_host_state *st, const arec_host_request *req,
                      const char *authorization, arec_host_response *out) {
  char rid[24];
  request_id(rid);
  long long t0 = mono_ms();
  arec_svc_actor who;
  memset(&who, 0, sizeof who);
  who.request_id = rid;
  if (arec_host_authenticate(&st->auth, authorization, &who.kind) != 0) {
    arec_host_api_error(out, 401, "missing or wrong bearer token", NULL, rid);
    out->extra[0].name = "WWW-Authenticate";
    out->extra[0].value = "Bearer";
  } else if (who.kind == AREC_ACTOR_API_READ && !is_get(req->method)) {
    arec_host_api_error(out, 403, "the read-only token allows GET only",
                        NULL, rid);
  } else {
    arec_host_api_handle(&st->api, &who, req, out);
  }
  if (arec_host_log_enabled(AREC_LOG_DEBUG))
    hlog(AREC_LOG_DEBUG, "request", HL_S("request_id", rid),
         HL_S("method", req->method), HL_S("path", req->path),
         HL_I("status", out->status), HL_I("duration_ms", mono_ms() - t0),
         HL_END);
}

/* ---------------------------------------------------------------- router */
void arec_host_route(arec_host_state *st, const arec_host_request *req,
                     const char *authorization, arec_host_response *out) {
  memset(out, 0, sizeof *out);
  const char *p = req->path ? req->path : "";
  if (is_probe(p)) {
    probe(st, p, is_get(req->method), out);
  } else if (!strcmp(p, "/metrics")) {
    if (!is_get(req->method)) {
      arec_host_api_error(out, 405, "method not allowed: use GET", NULL, NULL);
      out->extra[0].name = "Allow";
      out->extra[0].value = "GET";
    } else {
      metrics(st, out);
    }
  } else if (!strcmp(p, "/api") || !strncmp(p, "/api/", 5)) {
    route_api(st, req, authorization, out);
  } else if (arec_host_ui_path(p)) {
    /* the fleet page: no data in it, so no token (its fetches send one) */
    arec_host_ui_serve(req->method, out);
  } else {
    arec_host_api_error(out, 404, "no such endpoint", NULL, NULL);
  }
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
  r.query = req->query;
  r.nquery = req->nquery;
  r.body = req->body;
  r.body_len = req->body_len;
  r.body_too_large = req->body_too_large;
  arec_host_route(ud, &r, arec_http_header(req, "Authorization"), out);
}
