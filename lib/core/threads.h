/*
 * threads.h -- the manager's background loops besides the workers and the
 * saver: the refresher (refresher.c), the pod lease (podlease.c) and the
 * reconciler (reconciler.c).  Started by arec_manager_new, joined by
 * shutdown/abandon/free (arec__thread_join is idempotent).
 */
#ifndef AREC_CORE_THREADS_H
#define AREC_CORE_THREADS_H

#include "internal.h"

int arec__refresher_start(arec_manager *mgr);
void arec__refresher_join(arec_manager *mgr);

/* Takes the first pod lease synchronously and starts the renewing thread
 * (no-op when pod leases are off). */
int arec__podlease_start(arec_manager *mgr);
/* Stops renewing; with leave != 0 also deletes the pod lease. */
void arec__podlease_stop(arec_manager *mgr, int leave);
/* mu held: 1 when no pod lease is used or it is still valid. */
int arec__pod_valid(arec_manager *mgr, int64_t now);

/* One heartbeat of this pod's row (no mu held): repo->heartbeat with
 * ttl_ms and drop, a success noted in repo_ok_at, a failure logged. */
int arec__heartbeat(arec_manager *mgr, int64_t ttl_ms, int drop);

int arec__reconciler_start(arec_manager *mgr);
void arec__reconciler_join(arec_manager *mgr);

#endif
