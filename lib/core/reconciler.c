/*
 * reconciler.c -- the reconciler thread: renews this pod's heartbeat row
 * every refresh interval (from the start, and also when the lock service is
 * gone: then the row is removed, see lock_service_gone), runs a reconcile
 * pass every reconcile interval once arec_manager_restore() enabled them
 * (between the fleet's refresh turns, arec__pass_shift; QUICK_PASS_MS
 * after a pass that fell short racing other pods for agents and asked for
 * another), and, whenever no passes run here (reconcile interval 0,
 * takeover off, or before restore), a stop check every
 * stop_check_interval, so that stops, disables and deletes issued anywhere
 * still reach this pod's runners.
 *
 * Must never: call a backend with mgr->mu held, or run a pass after
 * shutdown began.
 */
#include <stdio.h>

#include "pass.h"
#include "share.h"
#include "threads.h"

#define QUICK_PASS_MS 250

/* 1 when the lock service has not answered for two refresh intervals.  An
 * idle pod (no lock held, nothing to acquire) probes it with a short-lived
 * key of its own first, so silence means unreachable, not idle. */
static int lock_service_gone(arec_manager *mgr, int64_t now) {
  if (now - atomic_load(&mgr->lock_ok_at) <= mgr->refresh)
    return 0;
  char key[AREC_LOCK_VALUE_MAX + 16];
  arec_lease lease;
  snprintf(key, sizeof key, "agent:probe:%s/%s", mgr->pod, mgr->incarnation);
  int rc = mgr->lock->try_acquire(mgr->lock, key, mgr->owner, mgr->refresh,
                                  &lease);
  if (rc >= 0)
    atomic_store(&mgr->lock_ok_at, arec__now_ms());
  if (rc == 1)
    mgr->lock->release(mgr->lock, key, &lease);
  return arec__now_ms() - atomic_load(&mgr->lock_ok_at) > 2 * mgr->refresh;
}

/* mu held: the wait before the next pass -- the reconcile interval, or
 * QUICK_PASS_MS after a pass that fell short racing other pods (pass.c). */
static int64_t next_pass_in(arec_manager *mgr) {
  if (mgr->pass_again && mgr->reconcile > QUICK_PASS_MS)
    return QUICK_PASS_MS;
  int64_t due = arec__now_ms() + mgr->reconcile;
  return mgr->reconcile - arec__pass_shift(mgr, due);
}

int arec__heartbeat(arec_manager *mgr, int64_t ttl_ms, int drop) {
  int rc = mgr->repo->heartbeat(mgr->repo, mgr->pod, mgr->incarnation,
                                ttl_ms, drop);
  if (rc == 0)
    atomic_store(&mgr->repo_ok_at, arec__now_ms());
  if (rc < 0)
    arec__logkv(mgr, AREC_LOG_WARN, "pod heartbeat failed", "error",
                arec_err_name(rc), NULL);
  return rc;
}

/* One heartbeat (no mu held), dropping the row while the lock service is
 * gone. */
static void heartbeat(arec_manager *mgr, int64_t now) {
  int drop = lock_service_gone(mgr, now);
  int rc = arec__heartbeat(mgr, mgr->ttl, drop);
  if (rc == 0 && drop != mgr->row_dropped) {
    mgr->row_dropped = drop;
    arec__logkv(mgr, drop ? AREC_LOG_WARN : AREC_LOG_INFO,
                drop ? "lock service unreachable: this pod no longer "
                       "counts as live, other pods take its agents over"
                     : "lock service answers again: this pod counts as "
                       "live again",
                NULL);
  }
}

static void *reconciler_main(void *arg) {
  arec_manager *mgr = arg;
  struct timespec ts;
  int64_t next_hb = arec__now_ms() + mgr->refresh;
  int64_t next_pass = 0;
  int64_t next_check = arec__now_ms() + mgr->stop_check;

  pthread_mutex_lock(&mgr->mu);
  while (!mgr->stop_reconciler && !mgr->abandoned) {
    int64_t now = arec__now_ms();
    /* passes run here when enabled, with an interval, taking over */
    int passes = mgr->passes_enabled && mgr->reconcile > 0 && mgr->takeover;
    if (passes && next_pass == 0)
      next_pass = now + next_pass_in(mgr);
    if (now >= next_hb) {
      next_hb = now + mgr->refresh;
      if (mgr->pod_ttl > 0) /* podlease.c renews the row */
        continue;
      pthread_mutex_unlock(&mgr->mu);
      heartbeat(mgr, now);
      pthread_mutex_lock(&mgr->mu);
      continue;
    }
    if (mgr->shutting_down) {
      arec__deadline_ts(&ts, next_hb);
      pthread_cond_timedwait(&mgr->tick_cv, &mgr->mu, &ts);
      continue;
    }
    if (passes && now >= next_pass) {
      pthread_mutex_unlock(&mgr->mu);
      arec__pass(mgr, 0, NULL);
      pthread_mutex_lock(&mgr->mu);
      next_pass = arec__now_ms() + next_pass_in(mgr);
      continue;
    }
    if (!passes && now >= next_check) {
      pthread_mutex_unlock(&mgr->mu);
      arec__stop_check(mgr);
      pthread_mutex_lock(&mgr->mu);
      next_check = arec__now_ms() + mgr->stop_check;
      continue;
    }
    int64_t wake = next_hb;
    if (passes && next_pass < wake)
      wake = next_pass;
    if (!passes && next_check < wake)
      wake = next_check;
    arec__deadline_ts(&ts, wake);
    pthread_cond_timedwait(&mgr->tick_cv, &mgr->mu, &ts);
  }
  pthread_mutex_unlock(&mgr->mu);
  return NULL;
}

int arec__reconciler_start(arec_manager *mgr) {
  return arec__thread_start(&mgr->reconciler_th, reconciler_main, mgr);
}

void arec__reconciler_join(arec_manager *mgr) {
  arec__thread_join(mgr, &mgr->stop_reconciler, &mgr->tick_cv,
                    &mgr->reconciler_th, 1);
}
