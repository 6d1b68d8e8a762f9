/*
 * runner.c -- one running agent on this pod: launching a runner whose lock
 * and fence are held (type lookup, start(), scheduling of its first step),
 * finalizing it (final fenced save, type->stop, fenced release or backoff,
 * lock release), and the calls an agent makes on itself.
 *
 * A start that fails -- no type of that name on this pod, or start()
 * refusing -- goes to backoff (backoff.c) with the reason start() left in
 * arec_error_last(); only a user's start refused permanently is released
 * plainly, so the caller can answer AREC_EREFUSED and restore the wish.
 *
 * Invariants: every lock acquired is released (or queued for retry) on
 * every path; no backend call or type callback runs with mgr->mu held; a
 * runner marked FENCED never writes again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "heap.h"
#include "release.h"
#include "runner.h"
#include "saver.h"
#include "table.h"

static int retryable(int rc) {
  return rc == AREC_EUNAVAILABLE || rc == AREC_ETIMEDOUT;
}

/* A launch that did not get as far as a runner: release, or backoff. */
static int launch_failed(arec_manager *mgr, arec__launch *l, int rc,
                         int backoff) {
  char key[AREC__KEY_MAX];
  arec__lock_key(key, l->row->id);
  if (backoff)
    arec__backoff_failed(mgr, l->row->id, l->fence, l->why, key, l->lease, 1);
  else
    arec__release_now(mgr, l->row->id, l->fence, 1, key, l->lease, 1);
  return rc;
}

int arec__runner_launch(arec_manager *mgr, arec__launch *l) {
  const arec_agent_row *row = l->row;
  const char *strategy = row->strategy ? row->strategy : "";
  l->why[0] = '\0';
  l->refused = 0;

  pthread_mutex_lock(&mgr->mu);
  const arec_agent_type *type = arec__type_find(mgr, strategy);
  if (!type) {
    pthread_mutex_unlock(&mgr->mu);
    char raw[AREC__TEXT_MAX + 64];
    snprintf(raw, sizeof raw, "no agent type \"%s\" registered on this pod",
             strategy);
    arec__text_clean(l->why, sizeof l->why, raw);
    l->refused = l->user;
    return launch_failed(mgr, l, AREC_EREFUSED, !l->user);
  }
  if (arec__runner_find(mgr, row->id)) {
    pthread_mutex_unlock(&mgr->mu);
    arec__logkv(mgr, AREC_LOG_WARN, "agent already has a runner here",
                "agent_id", row->id, NULL);
    return launch_failed(mgr, l, AREC_EEXIST, 0);
  }
  arec_agent *r = arec__runner_new(mgr, row->id, strategy);
  if (!r || arec__runner_insert(mgr, r) < 0) {
    pthread_mutex_unlock(&mgr->mu);
    arec__runner_free(r);
    return launch_failed(mgr, l, AREC_ENOMEM, 0);
  }
  r->serial = ++mgr->next_serial;
  r->placed = row->requires != NULL;
  r->type = type;
  r->fence = l->fence;
  r->lease = *l->lease;
  r->lock_held = 1;
  r->deadline_ms = l->deadline;
  arec__watch_at(mgr, r->deadline_ms);
  r->phase = AREC__R_STARTING;
  r->row_failures = row->start_failures;
  r->row_noted = row->last_error != NULL;
  r->claim_at = l->claim_at;
  r->busy = 1;
  mgr->nbusy++;
  pthread_mutex_unlock(&mgr->mu);

  arec_agent_info info;
  info.id = row->id;
  info.user_id = row->user_id;
  info.strategy = strategy;
  info.name = row->name ? row->name : "";
  info.params = row->params ? row->params : "{}";
  info.fence = l->fence;
  info.nsymbols = row->nsymbols;
  info.symbols = row->symbols;
  arec_error_clear();
  int rc = type->start(&r->state, r, &info, type->userdata);
  if (rc < 0)
    arec__backoff_reason(l->why, sizeof l->why, rc);

  pthread_mutex_lock(&mgr->mu);
  if (rc < 0) {
    arec_lease lease = r->lease;
    r->lock_held = 0;
    arec__runner_remove(mgr, r);
    r->busy = 0;
    mgr->nbusy--;
    pthread_cond_broadcast(&mgr->idle_cv);
    pthread_mutex_unlock(&mgr->mu);
    int backoff = !l->user || retryable(rc);
    l->refused = !backoff;
    if (backoff)
      arec__backoff_failed(mgr, r->id, l->fence, l->why, r->key, &lease, 1);
    else
      arec__release_now(mgr, r->id, l->fence, 1, r->key, &lease, 1);
    arec__runner_free(r);
    return rc;
  }
  r->phase = AREC__R_ACTIVE;
  atomic_fetch_add(&mgr->m.running, 1);
  r->started_wall_ms = arec__wall_ms();
  r->last_save_at = arec__now_ms();
  r->busy = 0;
  mgr->nbusy--;
  pthread_cond_broadcast(&mgr->idle_cv);
  if (!mgr->shutdown_claim) {
    r->next_at = arec__now_ms();
    arec__heap_push(mgr, r);
  }
  pthread_mutex_unlock(&mgr->mu);
  return 0;
}

/* --------------------------------------------------------------- finalize */
void arec__runner_finalize(arec_manager *mgr, arec_agent *r) {
  r->finalizing = 1;
  /* A repository that cannot take saves would only block this worker for
   * its call deadline (and a save in flight holds us in quiesce until it
   * returns): free the lock first, so another pod can take the agent over
   * at once, and skip the final save (the last accepted state stays; the
   * fence refuses anything older). */
  int repo_lost = r->repo_lost;
  if (repo_lost && r->lock_held) {
    arec_lease early = r->lease;
    r->lock_held = 0;
    pthread_mutex_unlock(&mgr->mu);
    arec__release_now(mgr, r->id, r->fence, 0, r->key, &early, 1);
    pthread_mutex_lock(&mgr->mu);
  }
  arec__save_quiesce(mgr, r);
  arec_stop_reason reason = r->reason;
  int active = r->phase == AREC__R_ACTIVE;
  pthread_mutex_unlock(&mgr->mu);

  if (active && reason != AREC_STOP_FENCED && !repo_lost) {
    arec_snapshot *snap = arec__runner_snapshot(r);
    if (snap) {
      arec_save sv = {r->id, r->fence, mgr->pod, snap->n, snap->st};
      int rc = mgr->repo->save_state(mgr->repo, &sv);
      pthread_mutex_lock(&mgr->mu);
      arec__save_result(mgr, r, rc, snap);
      reason = r->reason;
      pthread_mutex_unlock(&mgr->mu);
    }
  }
  if (active)
    r->type->stop(r->state, r, reason, r->type->userdata);
  arec__logkv(mgr, AREC_LOG_INFO, "agent stopped", "agent_id", r->id,
              "reason", arec_stop_reason_name(reason), NULL);

  pthread_mutex_lock(&mgr->mu);
  int had_lock = r->lock_held;
  arec_lease lease = r->lease;
  r->lock_held = 0;
  pthread_mutex_unlock(&mgr->mu);
  if (reason == AREC_STOP_ERROR)
    arec__backoff_failed(mgr, r->id, r->fence,
                         r->fail_text ? r->fail_text : "agent step failed",
                         r->key, &lease, had_lock);
  else
    arec__release_now(mgr, r->id, r->fence, 1, r->key, &lease, had_lock);

  pthread_mutex_lock(&mgr->mu);
  arec__runner_remove(mgr, r);
  r->busy = 0;
  mgr->nbusy--;
  pthread_cond_broadcast(&mgr->idle_cv);
  arec__runner_free(r);
}

/* ------------------------------------------------------ calls of an agent */
const char *arec_agent_id(const arec_agent *agent) {
  return agent ? agent->id : NULL;
}
uint64_t arec_agent_fence(const arec_agent *agent) {
  return agent ? agent->fence : 0;
}
const char *arec_agent_pod(const arec_agent *agent) {
  return agent ? agent->mgr->pod : NULL;
}
int arec_agent_cancelled(const arec_agent *agent) {
  return agent ? atomic_load(&((arec_agent *)agent)->cancel) : 1;
}
void *arec_agent_state(const arec_agent *agent) {
  return agent ? agent->state : NULL;
}

int64_t arec_agent_validity_ms(const arec_agent *agent) {
  if (!agent)
    return 0;
  arec_manager *mgr = agent->mgr;
  pthread_mutex_lock(&mgr->mu);
  int64_t now = arec__now_ms();
  int64_t v = agent->lock_held ? agent->deadline_ms - now : 0;
  if (mgr->pod_ttl > 0 && mgr->pod_deadline_ms - now < v)
    v = mgr->pod_deadline_ms - now;
  pthread_mutex_unlock(&mgr->mu);
  return v;
}

int arec_agent_save(arec_agent *agent) {
  if (!agent)
    return AREC_EINVAL;
  arec_manager *mgr = agent->mgr;
  pthread_mutex_lock(&mgr->mu);
  if (agent->reason == AREC_STOP_FENCED && atomic_load(&agent->cancel)) {
    pthread_mutex_unlock(&mgr->mu);
    return AREC_EFENCED;
  }
  arec__save_quiesce(mgr, agent);
  pthread_mutex_unlock(&mgr->mu);

  arec_snapshot *snap = arec__runner_snapshot(agent);
  if (!snap)
    return AREC_EINVAL;
  arec_save sv = {agent->id, agent->fence, mgr->pod, snap->n, snap->st};
  int rc = mgr->repo->save_state(mgr->repo, &sv);
  pthread_mutex_lock(&mgr->mu);
  arec__save_result(mgr, agent, rc, snap);
  pthread_mutex_unlock(&mgr->mu);
  return rc;
}
