/*
 * control.c -- the user's start and stop of one agent
 * (arec_manager_start_agent / arec_manager_stop_agent).
 *
 * Start records the wish (set_trading 1) first, then runs the agent here
 * only when it has no live owner and its lock is free: lock, fenced claim,
 * launch, serialised with reconcile passes by mgr->pass_mu.  It never runs
 * an agent without its lock.  Stop clears the wish and only marks a local
 * runner (so it may be called from inside a step); the worker finalizes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int arec_manager_start_agent(arec_manager *mgr, const char *agent_id) {
  arec_agent_list *list = NULL;
  arec_lease lease;
  char key[96];
  uint64_t fence = 0;
  int rc;

  if (!mgr || !agent_id || !arec_agent_id_valid(agent_id)) {
    arec_error_set("invalid agent id");
    return AREC_EINVAL;
  }
  pthread_mutex_lock(&mgr->mu);
  int down = mgr->shutting_down;
  pthread_mutex_unlock(&mgr->mu);
  if (down)
    return AREC_ESHUTDOWN;
  rc = mgr->repo->set_trading(mgr->repo, agent_id, 1);
  if (rc < 0)
    return rc;

  pthread_mutex_lock(&mgr->pass_mu);
  pthread_mutex_lock(&mgr->mu);
  arec_agent *r = arec__runner_find(mgr, agent_id);
  int local = r && !atomic_load(&r->cancel);
  down = mgr->shutting_down;
  pthread_mutex_unlock(&mgr->mu);
  if (down) {
    rc = AREC_ESHUTDOWN;
    goto out;
  }
  if (local) {
    rc = 0;
    goto out;
  }
  if (r) { /* still stopping here */
    rc = AREC_ELOCKED;
    goto out;
  }
  rc = mgr->repo->agents_to_restore(mgr->repo, agent_id, &list);
  if (rc < 0 || !list) {
    rc = AREC_EUNAVAILABLE;
    goto out;
  }
  if (list->n == 0) {
    arec_error_set("agent %s runs on another pod", agent_id);
    rc = AREC_ELOCKED;
    goto out;
  }
  snprintf(key, sizeof key, "agent:lock:%s", agent_id);
  memset(&lease, 0, sizeof lease);
  pthread_mutex_lock(&mgr->mu);
  int pod_ok = arec__pod_valid(mgr, arec__now_ms());
  pthread_mutex_unlock(&mgr->mu);
  rc = pod_ok ? mgr->lock->try_acquire(mgr->lock, key, mgr->owner, mgr->ttl,
                                       &lease)
              : AREC_EUNAVAILABLE;
  int64_t deadline = arec__now_ms() + lease.validity_ms;
  if (rc != 1) {
    atomic_fetch_add(&mgr->m.acquire_failed, 1);
    rc = rc == 0 ? AREC_ELOCKED : AREC_EUNAVAILABLE;
    goto out;
  }
  atomic_fetch_add(&mgr->m.acquire, 1);
  atomic_fetch_add(&mgr->m.lock_held, 1);
  rc = mgr->repo->claim(mgr->repo, mgr->pod, mgr->incarnation, agent_id,
                        &fence);
  if (rc < 0) {
    arec__release_now(mgr, agent_id, 0, 0, key, &lease, 1);
    /* wanted a moment ago: a migration hold names another pod */
    if (rc == AREC_ECONFLICT && mgr->repo->version >= 2)
      rc = AREC_ELOCKED;
    goto out;
  }
  rc = arec__runner_launch(mgr, &list->rows[0], &lease, deadline, fence);
  if (rc == 0)
    arec__logkv(mgr, AREC_LOG_INFO, "agent started", "agent_id", agent_id,
                NULL);
out:
  pthread_mutex_unlock(&mgr->pass_mu);
  arec_agent_list_free(list);
  return rc;
}

int arec_manager_stop_agent(arec_manager *mgr, const char *agent_id) {
  if (!mgr || !agent_id || !arec_agent_id_valid(agent_id)) {
    arec_error_set("invalid agent id");
    return AREC_EINVAL;
  }
  int rc = mgr->repo->set_trading(mgr->repo, agent_id, 0);
  if (rc < 0)
    return rc;
  pthread_mutex_lock(&mgr->mu);
  arec_agent *r = arec__runner_find(mgr, agent_id);
  if (r)
    arec__runner_mark_stop(mgr, r, AREC_STOP_USER);
  pthread_mutex_unlock(&mgr->mu);
  return 0;
}
