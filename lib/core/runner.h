/*
 * runner.h -- launching a runner whose lock and fence are held, and
 * finalizing one (runner.c).
 */
#ifndef AREC_CORE_RUNNER_H
#define AREC_CORE_RUNNER_H

#include "internal.h"

/* One launch: the agent's row, the held lease and fence, when the claim was
 * sent (monotonic s, for the restore histogram), and whether a user asked
 * for it (a permanent refusal of start() is then released plainly and
 * returned, without backoff; else every failed start goes to backoff). */
typedef struct arec__launch {
  const arec_agent_row *row;
  const arec_lease *lease;
  int64_t deadline; /* validity end of the lease, monotonic ms */
  uint64_t fence;
  double claim_at;
  int user;
  int refused; /* out: a user's start refused permanently (no type, or
                  start() with a code other than EUNAVAILABLE/ETIMEDOUT) */
  char why[AREC__TEXT_MAX + 1]; /* out: why the start failed */
} arec__launch;

/* Picks the type, calls start, schedules the first step (no mu held).  On
 * failure everything is released (or put in backoff) before it returns:
 * AREC_EREFUSED (no type of that name here), AREC_EEXIST (a runner of the
 * agent is here already), AREC_ENOMEM, or start()'s code. */
int arec__runner_launch(arec_manager *mgr, arec__launch *l);

/* Worker side: final save, type->stop, release (or backoff after a failed
 * step), free.  mu held on entry and on return (dropped inside).  r->busy
 * is set by the caller. */
void arec__runner_finalize(arec_manager *mgr, arec_agent *r);

#endif
