/*
 * router.h -- agentrecoverd's top-level router and the state it answers
 * from: /healthz and /ready (probes, answered on the transport's I/O
 * thread from atomics), /metrics (the library's metrics, the host's gauges
 * and the exchange hub's), and /api/... to the admin API after
 * authentication (ADMIN_TOKEN: every route; ADMIN_READ_TOKEN: GET routes
 * only, 403 otherwise; ADMIN_AUTH=none: open).
 */
#ifndef AREC_HOST_ROUTER_H
#define AREC_HOST_ROUTER_H

#include <stdatomic.h>

#include "api.h"
#include "http.h"

struct arec_exchange_hub;

typedef struct arec_host_auth {
  const char *admin_token; /* NULL: none */
  const char *read_token;  /* NULL: none */
  int none;                /* ADMIN_AUTH=none: every caller is "api:none" */
} arec_host_auth;

typedef struct arec_host_state {
  arec_host_api api;
  arec_host_auth auth;
  atomic_int ready;           /* /ready answers 200 */
  atomic_int recovery_active; /* the restore ran; reconcile loop on */
  atomic_int stopping;        /* shutdown started */
  /* /healthz: the main loop stores here (monotonic ms) each time it sees
   * the manager's refresher complete a new cycle; stale for longer than
   * healthz_stall_ms means the loops stopped ticking (503).  0: not yet
   * watched (start-up) */
  atomic_llong loops_ok_at;
  long long healthz_stall_ms;
  struct arec_exchange_hub *exchange_hub; /* its metrics join /metrics;
                                             NULL ok */
  /* agentrecoverd_role_held{role="telegram"}: 1 while this pod holds the
   * bot's role (arec_tg_bot_is_poller); NULL: bot disabled, no gauge */
  int (*telegram_role_held)(void *ud);
  void *telegram_role_ud;
} arec_host_state;

/* Routes one request (every endpoint) for a caller presenting the
 * Authorization header `authorization` (NULL: none). */
void arec_host_route(arec_host_state *st, const arec_host_request *req,
                     const char *authorization, arec_host_response *out);

/* The caller of an Authorization header: 0 with *kind set, or 401 (no
 * valid token).  Both tokens are compared in constant time. */
int arec_host_authenticate(const arec_host_auth *auth,
                           const char *authorization,
                           arec_svc_actor_kind *kind);

/* The transport's probe (arec_http_probe): answers /healthz and /ready from
 * atomics on the I/O thread; 0 for everything else. */
int arec_host_probe(void *ud, const arec_http_request *req,
                    arec_http_response *out);

/* The transport's handler (arec_http_handler, on a worker thread): every
 * other request through arec_host_route. */
void arec_host_http_route(void *ud, const arec_http_request *req,
                          arec_http_response *out);

#endif
