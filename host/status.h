/*
 * status.h -- the daemon's shared state and its request router: /healthz,
 * /ready and /metrics here, everything under /api/ to api.c; and the two
 * entry points the HTTP transport calls (probe, handler).
 */
#ifndef AREC_HOST_STATUS_H
#define AREC_HOST_STATUS_H

#include <stdatomic.h>

#include "api.h"
#include "http.h"

typedef struct arec_host_state {
  arec_host_api api;
  atomic_int ready;           /* /ready answers 200 */
  atomic_int recovery_active; /* the restore ran; reconcile loop on */
  atomic_int stopping;        /* shutdown started */
  /* /healthz: the main loop stores here (monotonic ms) each time it sees
   * the manager's refresher complete a new cycle; stale for longer than
   * healthz_stall_ms means the loops stopped ticking (503).  0: not yet
   * watched (start-up) */
  atomic_llong loops_ok_at;
  long long healthz_stall_ms;
  struct arec_exchange_hub *exchange_hub; /* its metrics join /metrics; NULL
                                             ok */
} arec_host_state;

/* Routes one request (every endpoint); ud is an arec_host_state. */
void arec_host_route(void *ud, const arec_host_request *req,
                     arec_host_response *out);

/* The transport's probe (arec_http_probe): answers /healthz and /ready from
 * atomics on the I/O thread; 0 for everything else. */
int arec_host_probe(void *ud, const arec_http_request *req,
                    arec_http_response *out);

/* The transport's handler (arec_http_handler, on a worker thread): the
 * request as the admin API sees it, through arec_host_route. */
void arec_host_http_route(void *ud, const arec_http_request *req,
                          arec_http_response *out);

#endif
