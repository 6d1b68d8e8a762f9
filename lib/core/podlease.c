/*
 * podlease.c -- the pod lease (manager option pod_lease_ttl_ms, lock vtable
 * version 2 slot pod_lease): one short lease per pod incarnation in the lock
 * store, renewed every TTL/3 together with the pods row (same TTL), so other
 * pods may take this pod's agents over as soon as it is gone instead of
 * waiting for each agent lock's TTL.
 *
 * How: the first lease is taken synchronously by arec_manager_new(); a
 * thread renews it and moves pod_deadline_ms to (sent + reported validity).
 * The refresher stops every runner once the deadline passes without a
 * renewal (arec__pod_valid), before anybody may take them over; the
 * reconciler and user starts acquire nothing while it is invalid.
 *
 * Must never: call a backend with mgr->mu held, keep renewing after
 * abandon (a simulated kill -9 must let the lease lapse).
 */
#include <stdio.h>
#include <string.h>

#include "threads.h"

int arec__pod_valid(arec_manager *mgr, int64_t now) {
  return mgr->pod_ttl <= 0 || now < mgr->pod_deadline_ms;
}

/* One renewal: the lock's pod lease, then the pods row. */
static void renew(arec_manager *mgr) {
  int64_t v = 0, sent = arec__now_ms();
  int rc = mgr->lock->pod_lease(mgr->lock, mgr->owner, mgr->pod_ttl, 0, &v);
  pthread_mutex_lock(&mgr->mu);
  if (rc == 0 && v > 0) {
    if (sent + v > mgr->pod_deadline_ms)
      mgr->pod_deadline_ms = sent + v;
    if (mgr->pod_expired_logged)
      arec__logkv(mgr, AREC_LOG_INFO, "pod lease renewed again", NULL);
    mgr->pod_expired_logged = 0;
  } else if (rc < 0 && !mgr->pod_expired_logged) {
    arec__logkv(mgr, AREC_LOG_WARN, "pod lease renewal failed", "error",
                arec_err_name(rc), NULL);
  }
  pthread_mutex_unlock(&mgr->mu);
  if (rc == 0)
    arec__heartbeat(mgr, mgr->pod_ttl, 0);
}

static void *podlease_main(void *arg) {
  arec_manager *mgr = arg;
  struct timespec ts;
  int64_t every = mgr->pod_ttl / 3;
  if (every < 10)
    every = 10;
  int64_t next = arec__now_ms() + every;
  pthread_mutex_lock(&mgr->mu);
  while (!mgr->stop_podlease && !mgr->abandoned) {
    int64_t now = arec__now_ms();
    if (now >= next) {
      pthread_mutex_unlock(&mgr->mu);
      renew(mgr);
      pthread_mutex_lock(&mgr->mu);
      next = now + every;
      /* after a failure retry sooner: the lease is short */
      if (mgr->pod_deadline_ms <= arec__now_ms() + every)
        next = now + every / 2;
      continue;
    }
    arec__deadline_ts(&ts, next);
    pthread_cond_timedwait(&mgr->tick_cv, &mgr->mu, &ts);
  }
  pthread_mutex_unlock(&mgr->mu);
  return NULL;
}

int arec__podlease_start(arec_manager *mgr) {
  if (mgr->pod_ttl <= 0)
    return 0;
  int64_t v = 0, sent = arec__now_ms();
  int rc = mgr->lock->pod_lease(mgr->lock, mgr->owner, mgr->pod_ttl, 0, &v);
  if (rc == 0 && v > 0)
    mgr->pod_deadline_ms = sent + v;
  else
    arec__logkv(mgr, AREC_LOG_WARN,
                "cannot take the pod lease yet, no agent starts until then",
                "error", arec_err_name(rc < 0 ? rc : AREC_ETIMEDOUT), NULL);
  return arec__thread_start(&mgr->podlease_th, podlease_main, mgr);
}

void arec__podlease_stop(arec_manager *mgr, int leave) {
  arec__thread_join(mgr, &mgr->stop_podlease, &mgr->tick_cv,
                    &mgr->podlease_th, 1);
  pthread_mutex_lock(&mgr->mu);
  int abandoned = mgr->abandoned;
  pthread_mutex_unlock(&mgr->mu);
  if (leave && !abandoned && mgr->pod_ttl > 0) {
    int rc = mgr->lock->pod_lease(mgr->lock, mgr->owner, mgr->pod_ttl, 1, NULL);
    if (rc < 0)
      arec__logkv(mgr, AREC_LOG_WARN, "cannot delete the pod lease", "error",
                  arec_err_name(rc), NULL);
  }
}
