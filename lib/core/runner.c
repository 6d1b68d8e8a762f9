/*
 * runner.c -- one running agent on this pod: the runner table (hash map by
 * agent id), launching a runner whose lock and fence are held, marking it
 * to stop, finalizing it (final fenced save, type->stop, fenced repository
 * release, lock release), and the calls an agent makes on itself.
 *
 * Invariants: a runner is in the table from just before type->start until it
 * is freed; every lock acquired is released (or queued for retry) on every
 * path; no backend call or type callback runs with mgr->mu held; a runner
 * marked FENCED never writes again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------------ table */
static size_t hash_id(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return (size_t)h;
}

arec_agent *arec__runner_find(arec_manager *mgr, const char *id) {
  if (!mgr->nbuckets)
    return NULL;
  for (arec_agent *r = mgr->buckets[hash_id(id) & (mgr->nbuckets - 1)]; r;
       r = r->hnext)
    if (strcmp(r->id, id) == 0)
      return r;
  return NULL;
}

static int grow(arec_manager *mgr) {
  if (mgr->nrunners + 1 > mgr->capheap) {
    size_t cap = mgr->capheap ? mgr->capheap * 2 : 64;
    arec_agent **h = realloc(mgr->heap, cap * sizeof *h);
    if (!h)
      return AREC_ENOMEM;
    mgr->heap = h;
    mgr->capheap = cap;
  }
  if (mgr->nrunners + 1 > mgr->nbuckets) {
    size_t nb = mgr->nbuckets ? mgr->nbuckets * 2 : 64;
    arec_agent **b = calloc(nb, sizeof *b);
    if (!b)
      return AREC_ENOMEM;
    for (size_t i = 0; i < mgr->nbuckets; i++) {
      arec_agent *r = mgr->buckets[i];
      while (r) {
        arec_agent *next = r->hnext;
        size_t k = hash_id(r->id) & (nb - 1);
        r->hnext = b[k];
        b[k] = r;
        r = next;
      }
    }
    free(mgr->buckets);
    mgr->buckets = b;
    mgr->nbuckets = nb;
  }
  return 0;
}

int arec__runner_insert(arec_manager *mgr, arec_agent *r) {
  int rc = grow(mgr);
  if (rc < 0)
    return rc;
  size_t k = hash_id(r->id) & (mgr->nbuckets - 1);
  r->hnext = mgr->buckets[k];
  mgr->buckets[k] = r;
  mgr->nrunners++;
  return 0;
}

void arec__runner_remove(arec_manager *mgr, arec_agent *r) {
  arec_agent **pp = &mgr->buckets[hash_id(r->id) & (mgr->nbuckets - 1)];
  while (*pp && *pp != r)
    pp = &(*pp)->hnext;
  if (*pp) {
    *pp = r->hnext;
    mgr->nrunners--;
  }
  arec__heap_remove(mgr, r);
  if (r->in_dirty) {
    for (size_t i = 0; i < mgr->ndirty; i++)
      if (mgr->dirty[i] == r) {
        mgr->dirty[i] = mgr->dirty[--mgr->ndirty];
        break;
      }
    r->in_dirty = 0;
  }
  if (r->phase == AREC__R_ACTIVE) {
    atomic_fetch_sub(&mgr->m.running, 1);
    r->phase = AREC__R_STARTING;
  }
}

arec_agent *arec__runner_new(arec_manager *mgr, const char *id,
                             const char *strategy) {
  arec_agent *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->mgr = mgr;
  r->id = strdup(id);
  r->strategy = strdup(strategy ? strategy : "");
  if (!r->id || !r->strategy) {
    free(r->id);
    free(r->strategy);
    free(r);
    return NULL;
  }
  snprintf(r->key, sizeof r->key, "agent:lock:%s", id);
  r->heap_idx = SIZE_MAX;
  atomic_init(&r->cancel, 0);
  return r;
}

void arec__runner_free(arec_agent *r) {
  if (!r)
    return;
  arec__snapshot_free(r->last);
  arec__snapshot_free(r->pending);
  arec__snapshot_free(r->inflight);
  free(r->id);
  free(r->strategy);
  free(r);
}

void arec__runner_mark_stop(arec_manager *mgr, arec_agent *r,
                            arec_stop_reason reason) {
  if (atomic_load(&r->cancel)) {
    if (reason == AREC_STOP_FENCED)
      r->reason = AREC_STOP_FENCED;
    return;
  }
  r->reason = reason;
  atomic_store(&r->cancel, 1);
  if (r->heap_idx != SIZE_MAX)
    arec__heap_update(mgr, r, 0);
}

/* --------------------------------------------------------------- releases */
static void queue_release(arec_manager *mgr, const char *id, uint64_t fence,
                          int repo_pending, const char *key,
                          const arec_lease *lease, int lock_pending) {
  arec__release *x = calloc(1, sizeof *x);
  if (!x || !(x->id = strdup(id))) {
    free(x);
    arec__logkv(mgr, AREC_LOG_ERROR, "cannot queue a release (no memory)",
                "agent_id", id, NULL);
    return;
  }
  x->fence = fence;
  x->repo_pending = repo_pending;
  x->lock_pending = lock_pending;
  if (key)
    snprintf(x->key, sizeof x->key, "%s", key);
  if (lease)
    x->lease = *lease;
  pthread_mutex_lock(&mgr->mu);
  x->next = mgr->releases;
  mgr->releases = x;
  pthread_mutex_unlock(&mgr->mu);
}

static int repo_release(arec_manager *mgr, const char *id, uint64_t fence) {
  int rc = mgr->repo->release(mgr->repo, id, fence);
  /* superseded or gone: nothing left to release */
  if (rc == AREC_EFENCED || rc == AREC_ENOTFOUND)
    rc = 0;
  if (rc < 0)
    arec__logkv(mgr, AREC_LOG_WARN, "release failed, will retry", "agent_id",
                id, "error", arec_err_name(rc), NULL);
  return rc;
}

void arec__release_now(arec_manager *mgr, const char *id, uint64_t fence,
                       int do_repo, const char *key, const arec_lease *lease,
                       int do_lock) {
  int rp = 0, lp = 0;
  if (do_repo && repo_release(mgr, id, fence) < 0)
    rp = 1;
  if (do_lock) {
    int rc = mgr->lock->release(mgr->lock, key, lease);
    atomic_fetch_sub(&mgr->m.lock_held, 1);
    if (rc < 0)
      lp = 1;
  }
  if (rp || lp)
    queue_release(mgr, id, fence, rp, key, lease, lp);
}

void arec__release_retry(arec_manager *mgr) {
  pthread_mutex_lock(&mgr->mu);
  arec__release *list = mgr->releases;
  mgr->releases = NULL;
  pthread_mutex_unlock(&mgr->mu);
  while (list) {
    arec__release *x = list;
    list = x->next;
    if (x->repo_pending && repo_release(mgr, x->id, x->fence) == 0)
      x->repo_pending = 0;
    if (x->lock_pending && mgr->lock->release(mgr->lock, x->key, &x->lease) >= 0)
      x->lock_pending = 0;
    if (x->repo_pending || x->lock_pending) {
      pthread_mutex_lock(&mgr->mu);
      x->next = mgr->releases;
      mgr->releases = x;
      pthread_mutex_unlock(&mgr->mu);
    } else {
      free(x->id);
      free(x);
    }
  }
}

void arec__release_queue_free(arec_manager *mgr) {
  while (mgr->releases) {
    arec__release *x = mgr->releases;
    mgr->releases = x->next;
    free(x->id);
    free(x);
  }
}

/* ---------------------------------------------------------------- launch */
arec_snapshot *arec__runner_snapshot(arec_agent *r) {
  arec_snapshot *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  if (r->type->snapshot(r->state, r, s, r->type->userdata) < 0) {
    arec__snapshot_free(s);
    return NULL;
  }
  return s;
}

static const arec_agent_type *find_type(arec_manager *mgr, const char *name) {
  for (size_t i = 0; i < mgr->ntypes; i++)
    if (strcmp(mgr->types[i]->name, name) == 0)
      return mgr->types[i];
  return NULL;
}

int arec__runner_launch(arec_manager *mgr, const arec_agent_row *row,
                        const arec_lease *lease, int64_t deadline,
                        uint64_t fence) {
  arec_agent *r;
  int rc;

  pthread_mutex_lock(&mgr->mu);
  const arec_agent_type *type = find_type(mgr, row->strategy ? row->strategy : "");
  if (!type || arec__runner_find(mgr, row->id)) {
    pthread_mutex_unlock(&mgr->mu);
    arec__logkv(mgr, AREC_LOG_WARN,
                type ? "agent already has a runner here"
                     : "no agent type registered for strategy",
                "agent_id", row->id, "strategy",
                row->strategy ? row->strategy : "", NULL);
    arec__release_now(mgr, row->id, fence, 1, NULL, lease, 0);
    {
      char key[96];
      snprintf(key, sizeof key, "agent:lock:%s", row->id);
      arec__release_now(mgr, row->id, fence, 0, key, lease, 1);
    }
    return type ? AREC_EEXIST : AREC_ENOTFOUND;
  }
  r = arec__runner_new(mgr, row->id, row->strategy);
  if (!r || arec__runner_insert(mgr, r) < 0) {
    pthread_mutex_unlock(&mgr->mu);
    char key[96];
    snprintf(key, sizeof key, "agent:lock:%s", row->id);
    arec__runner_free(r);
    arec__release_now(mgr, row->id, fence, 1, key, lease, 1);
    return AREC_ENOMEM;
  }
  r->serial = ++mgr->next_serial;
  r->type = type;
  r->fence = fence;
  r->lease = *lease;
  r->lock_held = 1;
  r->deadline_ms = deadline;
  r->phase = AREC__R_STARTING;
  r->busy = 1;
  mgr->nbusy++;
  pthread_mutex_unlock(&mgr->mu);

  arec_agent_info info;
  info.id = row->id;
  info.user_id = row->user_id;
  info.strategy = row->strategy;
  info.name = row->name ? row->name : "";
  info.fence = fence;
  info.nsymbols = row->nsymbols;
  info.symbols = row->symbols;
  rc = type->start(&r->state, r, &info, type->userdata);

  pthread_mutex_lock(&mgr->mu);
  if (rc < 0) {
    arec_lease l = r->lease;
    r->lock_held = 0;
    arec__runner_remove(mgr, r);
    r->busy = 0;
    mgr->nbusy--;
    pthread_cond_broadcast(&mgr->idle_cv);
    pthread_mutex_unlock(&mgr->mu);
    arec__logkv(mgr, AREC_LOG_WARN, "agent start refused", "agent_id",
                row->id, "error", arec_err_name(rc), NULL);
    arec__release_now(mgr, r->id, fence, 1, r->key, &l, 1);
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
