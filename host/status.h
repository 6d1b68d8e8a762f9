/*
 * status.h -- the daemon's shared state and its request router: /healthz,
 * /ready and /metrics here, everything under /api/ to api.c.
 */
#ifndef AREC_HOST_STATUS_H
#define AREC_HOST_STATUS_H

#include <stdatomic.h>

#include "api.h"

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

/* The arec_host_handler of the daemon; ud is an arec_host_state. */
void arec_host_route(void *ud, const arec_host_request *req,
                     arec_host_response *out);

#endif
