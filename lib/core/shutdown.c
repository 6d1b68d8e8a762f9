/*
 * shutdown.c -- graceful shutdown and the simulated kill -9
 * (arec_manager_abandon).
 *
 * Order: refuse new starts, stop the reconciler (waiting out a pass in
 * progress), mark the pod leaving (fair sharing stops counting it, so the
 * others' targets grow first), cancel every runner and take them out of the
 * timer heap, wait for running steps until the deadline (the refresher
 * keeps refreshing),
 * take final snapshots and save them in batches, call stop(reason), release
 * fences (batched) and locks (batched), delete the pod row, stop the
 * refresher and the saver.  A step still running at the deadline is
 * released anyway -- the fence bump refuses its late writes -- and its
 * worker frees it when the step returns; the call then returns
 * AREC_ETIMEDOUT.  Workers are joined by arec_manager_free().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "release.h"
#include "saver.h"
#include "scheduler.h"
#include "table.h"
#include "threads.h"

#define SHUTDOWN_BATCH 500

typedef struct rel {
  char *id;
  uint64_t fence;
  char key[AREC__KEY_MAX];
  arec_lease lease;
  int lock_held;
} rel;

static void save_final(arec_manager *mgr, arec_agent **rs, size_t n,
                       int64_t *saved) {
  arec_snapshot **snaps = calloc(n ? n : 1, sizeof *snaps);
  arec_save *sv = calloc(n ? n : 1, sizeof *sv);
  arec_agent **who = calloc(n ? n : 1, sizeof *who);
  int *res = calloc(n ? n : 1, sizeof *res);
  size_t k = 0;
  if (!snaps || !sv || !who || !res)
    goto out;
  for (size_t i = 0; i < n; i++) {
    arec_agent *r = rs[i];
    if (r->phase != AREC__R_ACTIVE || r->reason == AREC_STOP_FENCED)
      continue;
    arec_snapshot *s = arec__runner_snapshot(r);
    if (!s)
      continue;
    snaps[k] = s;
    who[k] = r;
    sv[k].agent_id = r->id;
    sv[k].fence = r->fence;
    sv[k].pod = mgr->pod;
    sv[k].nstates = s->n;
    sv[k].states = s->st;
    k++;
  }
  for (size_t off = 0; off < k; off += SHUTDOWN_BATCH) {
    size_t m = k - off < SHUTDOWN_BATCH ? k - off : SHUTDOWN_BATCH;
    arec__save_batch(mgr, sv + off, m, res + off);
  }
  pthread_mutex_lock(&mgr->mu);
  for (size_t i = 0; i < k; i++) {
    if (res[i] == 0)
      (*saved)++;
    arec__save_result(mgr, who[i], res[i], snaps[i]);
  }
  pthread_mutex_unlock(&mgr->mu);
out:
  free(snaps);
  free(sv);
  free(who);
  free(res);
}

static void release_all(arec_manager *mgr, rel *rl, size_t n) {
  const char **ids = calloc(n ? n : 1, sizeof *ids);
  uint64_t *fences = calloc(n ? n : 1, sizeof *fences);
  const char **keys = calloc(n ? n : 1, sizeof *keys);
  arec_lease *leases = calloc(n ? n : 1, sizeof *leases);
  int *res = calloc(n ? n : 1, sizeof *res);
  size_t nk = 0;
  if (!ids || !fences || !keys || !leases || !res) {
    /* fall back to one by one */
    for (size_t i = 0; i < n; i++)
      arec__release_now(mgr, rl[i].id, rl[i].fence, 1, rl[i].key,
                        &rl[i].lease, rl[i].lock_held);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    ids[i] = rl[i].id;
    fences[i] = rl[i].fence;
  }
  /* The locks first: they need no database, so a pod cut off from
   * PostgreSQL still frees them before its deadline.  Safe: until the
   * fenced release below (or this pod's row ending) the repository still
   * names this pod as the live owner, so no pod claims the agent early. */
  for (size_t i = 0; i < n; i++)
    if (rl[i].lock_held) {
      keys[nk] = rl[i].key;
      leases[nk++] = rl[i].lease;
    }
  for (size_t off = 0; off < nk; off += SHUTDOWN_BATCH) {
    size_t m = nk - off < SHUTDOWN_BATCH ? nk - off : SHUTDOWN_BATCH;
    if (mgr->lock->release_many) {
      mgr->lock->release_many(mgr->lock, keys + off, leases + off, m,
                              res + off);
    } else {
      for (size_t i = 0; i < m; i++)
        mgr->lock->release(mgr->lock, keys[off + i], &leases[off + i]);
    }
  }
  for (size_t off = 0; off < n; off += SHUTDOWN_BATCH) {
    size_t m = n - off < SHUTDOWN_BATCH ? n - off : SHUTDOWN_BATCH;
    if (mgr->repo->release_many) {
      int rc = mgr->repo->release_many(mgr->repo, ids + off, fences + off, m,
                                       res + off);
      if (rc < 0)
        for (size_t i = 0; i < m; i++)
          res[off + i] = rc;
    } else {
      for (size_t i = 0; i < m; i++)
        res[off + i] = mgr->repo->release(mgr->repo, ids[off + i],
                                          fences[off + i]);
    }
  }
  for (size_t i = 0; i < n; i++)
    if (res[i] < 0 && res[i] != AREC_EFENCED && res[i] != AREC_ENOTFOUND) {
      arec__logkv(mgr, AREC_LOG_WARN, "release failed at shutdown",
                  "agent_id", ids[i], "error", arec_err_name(res[i]), NULL);
    }
  atomic_fetch_sub(&mgr->m.lock_held, (int64_t)nk);
out:
  free(ids);
  free(fences);
  free(keys);
  free(leases);
  free(res);
}

int arec_manager_shutdown(arec_manager *mgr, int64_t timeout_ms) {
  struct timespec ts;
  if (!mgr)
    return AREC_EINVAL;
  pthread_mutex_lock(&mgr->mu);
  if (mgr->abandoned) {
    pthread_mutex_unlock(&mgr->mu);
    return AREC_ESHUTDOWN;
  }
  if (mgr->shutting_down) { /* done, or running in another thread */
    while (!mgr->shutdown_done)
      pthread_cond_wait(&mgr->idle_cv, &mgr->mu);
    int rc = mgr->shutdown_rc;
    pthread_mutex_unlock(&mgr->mu);
    return rc;
  }
  mgr->shutting_down = 1;
  pthread_mutex_unlock(&mgr->mu);

  double t0s = arec__now_s();
  int64_t t0 = arec__now_ms();
  int64_t deadline =
      t0 + (timeout_ms > 0 ? timeout_ms : mgr->shutdown_timeout);
  arec__logkv(mgr, AREC_LOG_INFO, "shutting down: handing agents over", NULL);

  arec__reconciler_join(mgr);
  pthread_mutex_lock(&mgr->pass_mu); /* wait out a pass or start */
  pthread_mutex_unlock(&mgr->pass_mu);
  if (mgr->repo->pod_leaving) {
    int lrc = mgr->repo->pod_leaving(mgr->repo, mgr->pod, mgr->incarnation);
    if (lrc < 0)
      arec__logkv(mgr, AREC_LOG_WARN, "cannot mark the pod leaving", "error",
                  arec_err_name(lrc), NULL);
  }

  /* cancel everyone, empty the heap, wait for running steps */
  pthread_mutex_lock(&mgr->mu);
  mgr->shutdown_claim = 1;
  for (size_t b = 0; b < mgr->nbuckets; b++)
    for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext)
      if (!atomic_load(&r->cancel)) {
        r->reason = AREC_STOP_HANDOVER;
        atomic_store(&r->cancel, 1);
      }
  while (mgr->nheap > 0)
    arec__heap_remove(mgr, mgr->heap[0]);
  while (mgr->nbusy > 0 && arec__now_ms() < deadline && !mgr->shutdown_hurry) {
    arec__deadline_ts(&ts, deadline);
    pthread_cond_timedwait(&mgr->idle_cv, &mgr->mu, &ts);
  }
  mgr->saver_paused = 1;

  /* split: owned by us now / orphans (step still running) */
  size_t n = mgr->nrunners, nown = 0, nrel = 0, norph = 0;
  arec_agent **own = calloc(n ? n : 1, sizeof *own);
  rel *rl = calloc(n ? n : 1, sizeof *rl);
  if (!own || !rl) {
    free(own);
    free(rl);
    own = NULL;
    rl = NULL;
    n = 0;
  }
  for (size_t b = 0; b < mgr->nbuckets && n; b++)
    for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext) {
      if (r->busy && r->finalizing)
        continue; /* a worker is finishing it */
      if (r->busy) {
        r->orphaned = 1;
        norph++;
      } else {
        r->shutdown_owned = 1;
        own[nown++] = r;
      }
      rel *x = &rl[nrel];
      x->id = strdup(r->id);
      if (!x->id)
        continue;
      x->fence = r->fence;
      memcpy(x->key, r->key, sizeof x->key);
      x->lease = r->lease;
      x->lock_held = r->lock_held;
      r->lock_held = 0;
      nrel++;
    }
  for (size_t i = 0; i < nown; i++)
    arec__save_quiesce(mgr, own[i]);
  pthread_mutex_unlock(&mgr->mu);

  /* final saves, stop callbacks, releases */
  int64_t saved = 0;
  save_final(mgr, own, nown, &saved);
  for (size_t i = 0; i < nown; i++)
    if (own[i]->phase == AREC__R_ACTIVE)
      own[i]->type->stop(own[i]->state, own[i], own[i]->reason,
                         own[i]->type->userdata);
  release_all(mgr, rl, nrel);
  arec__release_retry(mgr);
  arec__podlease_stop(mgr, 1);
  int hrc = mgr->repo->heartbeat(mgr->repo, mgr->pod, mgr->incarnation,
                                 mgr->ttl, 1);
  if (hrc < 0)
    arec__logkv(mgr, AREC_LOG_WARN, "cannot remove the pod row", "error",
                arec_err_name(hrc), NULL);

  pthread_mutex_lock(&mgr->mu);
  for (size_t i = 0; i < nown; i++) {
    arec__runner_remove(mgr, own[i]);
    arec__runner_free(own[i]);
  }
  pthread_mutex_unlock(&mgr->mu);
  for (size_t i = 0; i < nrel; i++)
    free(rl[i].id);
  free(rl);
  free(own);

  arec__refresher_join(mgr);
  arec__saver_join(mgr);

  int rc = norph ? AREC_ETIMEDOUT : 0;
  double dur = arec__now_s() - t0s;
  char a[24], b2[24], c[24];
  snprintf(a, sizeof a, "%.3f", dur);
  snprintf(b2, sizeof b2, "%lld", (long long)saved);
  snprintf(c, sizeof c, "%zu", norph);
  arec__logkv(mgr, rc ? AREC_LOG_WARN : AREC_LOG_INFO, "shutdown complete",
              "#duration_s", a, "#saved", b2, "#steps_unfinished", c, NULL);

  pthread_mutex_lock(&mgr->mu);
  mgr->m.shutdown_duration = dur;
  mgr->m.saved_on_shutdown = saved;
  mgr->shutdown_done = 1;
  mgr->shutdown_rc = rc;
  pthread_cond_broadcast(&mgr->idle_cv);
  pthread_mutex_unlock(&mgr->mu);
  return rc;
}

void arec_manager_abandon(arec_manager *mgr) {
  if (!mgr)
    return;
  pthread_mutex_lock(&mgr->mu);
  if (mgr->abandoned || mgr->shutdown_done) {
    pthread_mutex_unlock(&mgr->mu);
    return;
  }
  mgr->abandoned = 1;
  mgr->shutting_down = 1;
  pthread_cond_broadcast(&mgr->tick_cv);
  pthread_cond_broadcast(&mgr->work_cv);
  pthread_mutex_unlock(&mgr->mu);
  arec__reconciler_join(mgr);
  arec__refresher_join(mgr);
  arec__saver_join(mgr);
  arec__workers_join(mgr);
}

/* ------------------------------------------------------------------ hurry */
void arec_manager_shutdown_hurry(arec_manager *mgr) {
  if (!mgr)
    return;
  pthread_mutex_lock(&mgr->mu);
  mgr->shutdown_hurry = 1;
  pthread_cond_broadcast(&mgr->idle_cv);
  pthread_mutex_unlock(&mgr->mu);
}
