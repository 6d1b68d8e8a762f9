/*
 * saver.c -- coalesced, batched state saves.
 *
 * After a step, when save_interval has passed since the runner's last
 * look, its worker takes a snapshot; if it differs from what was last
 * queued or accepted, it becomes the runner's one pending save (a newer one
 * replaces it: coalescing).  The saver thread flushes pending saves every
 * ~50 ms in batches (repo->save_many when present) with each runner's
 * fence.  A runner has at most one save with the saver at a time, and a
 * synchronous save or a final save waits for it (arec__save_quiesce), so an
 * older snapshot can never land after a newer one.  EFENCED stops the
 * runner (no more writes); saves failing longer than the lock TTL stop it
 * too (LOST).  Because a save against a blackholed database only returns
 * at the repository's call deadline, the refresher also stops a runner
 * whose due save has not been accepted for longer than the TTL
 * (arec__save_overdue), whatever the saver thread is blocked on.  Never
 * holds mgr->mu during a repository call.  Every batch call is timed into
 * agent_save_duration_seconds.
 */
#include <stdlib.h>

#include "array.h"
#include "saver.h"
#include "table.h"

#define SAVER_TICK_MS 50
#define SAVER_BATCH 512

void arec__save_maybe(arec_manager *mgr, arec_agent *r) {
  int64_t now = arec__now_ms();
  if (now - r->last_save_at < mgr->save_interval)
    return;
  r->last_save_at = now;
  arec_snapshot *snap = arec__runner_snapshot(r);
  if (!snap)
    return;
  pthread_mutex_lock(&mgr->mu);
  const arec_snapshot *cmp =
      r->pending ? r->pending : r->inflight ? r->inflight : r->last;
  if (mgr->saver_paused || arec__snapshot_equal(snap, cmp)) {
    pthread_mutex_unlock(&mgr->mu);
    arec__snapshot_free(snap);
    return;
  }
  if (!r->in_dirty) {
    if (arec__array_room(&mgr->dirty, &mgr->capdirty, mgr->ndirty,
                         sizeof *mgr->dirty, 256)) {
      pthread_mutex_unlock(&mgr->mu);
      arec__snapshot_free(snap);
      return;
    }
    mgr->dirty[mgr->ndirty++] = r;
    r->in_dirty = 1;
  }
  arec__snapshot_free(r->pending);
  r->pending = snap;
  if (!r->save_wait_since) {
    r->save_wait_since = now;
    arec__watch_at(mgr, now + mgr->ttl + 1);
  }
  pthread_mutex_unlock(&mgr->mu);
}

int arec__save_overdue(arec_manager *mgr, arec_agent *r, int64_t now) {
  if (!r->save_wait_since || now - r->save_wait_since <= mgr->ttl)
    return 0;
  r->repo_lost = 1;
  return 1;
}

void arec__save_quiesce(arec_manager *mgr, arec_agent *r) {
  arec__snapshot_free(r->pending);
  r->pending = NULL;
  arec__dirty_drop(mgr, r);
  while (r->inflight)
    pthread_cond_wait(&mgr->idle_cv, &mgr->mu);
}

void arec__save_result(arec_manager *mgr, arec_agent *r, int rc,
                       arec_snapshot *snap) {
  if (rc == 0) {
    atomic_fetch_add(&mgr->m.saves, 1);
    r->save_fail_since = 0;
    r->save_wait_since = r->pending ? arec__now_ms() : 0;
    if (r->save_wait_since)
      arec__watch_at(mgr, r->save_wait_since + mgr->ttl + 1);
    arec__snapshot_free(r->last);
    r->last = snap;
    return;
  }
  arec__snapshot_free(snap);
  if (rc == AREC_EFENCED) {
    atomic_fetch_add(&mgr->m.fenced, 1);
    arec__logkv(mgr, AREC_LOG_WARN,
                "state write refused by the fence, stopping agent",
                "agent_id", r->id, NULL);
    arec__runner_mark_stop(mgr, r, AREC_STOP_FENCED);
    return;
  }
  atomic_fetch_add(&mgr->m.save_errors, 1);
  int64_t now = arec__now_ms();
  if (!r->save_fail_since)
    r->save_fail_since = now;
  if (now - r->save_fail_since > mgr->ttl && !atomic_load(&r->cancel)) {
    arec__logkv(mgr, AREC_LOG_WARN,
                "state saves failing longer than the lock TTL, stopping agent",
                "agent_id", r->id, "error", arec_err_name(rc), NULL);
    r->repo_lost = 1;
    arec__runner_mark_stop(mgr, r, AREC_STOP_LOST);
  }
}

void arec__save_batch(arec_manager *mgr, const arec_save *sv, size_t n,
                      int *res) {
  double t0 = arec__now_s();
  if (mgr->repo->save_many) {
    int rc = mgr->repo->save_many(mgr->repo, sv, n, res);
    if (rc < 0)
      for (size_t i = 0; i < n; i++)
        res[i] = rc;
  } else {
    for (size_t i = 0; i < n; i++)
      res[i] = mgr->repo->save_state(mgr->repo, &sv[i]);
  }
  arec__hist_observe(&mgr->m.save, arec__now_s() - t0);
}

/* One batch: mu held on entry and return. */
static void flush_batch(arec_manager *mgr) {
  size_t n = mgr->ndirty < SAVER_BATCH ? mgr->ndirty : SAVER_BATCH;
  arec_agent **rs = malloc(n * sizeof *rs);
  arec_save *sv = malloc(n * sizeof *sv);
  int *res = malloc(n * sizeof *res);
  if (!rs || !sv || !res) {
    free(rs);
    free(sv);
    free(res);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    arec_agent *r = mgr->dirty[--mgr->ndirty];
    r->in_dirty = 0;
    r->inflight = r->pending;
    r->pending = NULL;
    rs[i] = r;
    sv[i].agent_id = r->id;
    sv[i].fence = r->fence;
    sv[i].pod = mgr->pod;
    sv[i].nstates = r->inflight->n;
    sv[i].states = r->inflight->st;
  }
  mgr->saver_busy = 1;
  pthread_mutex_unlock(&mgr->mu);

  arec__save_batch(mgr, sv, n, res);

  for (size_t i = 0; i < n; i++)
    if (res[i] == 0 || res[i] == AREC_EFENCED) { /* the repository answered */
      atomic_store(&mgr->repo_ok_at, arec__now_ms());
      break;
    }
  pthread_mutex_lock(&mgr->mu);
  for (size_t i = 0; i < n; i++) {
    arec_snapshot *snap = rs[i]->inflight;
    rs[i]->inflight = NULL;
    arec__save_result(mgr, rs[i], res[i], snap);
  }
  mgr->saver_busy = 0;
  pthread_cond_broadcast(&mgr->idle_cv);
  free(rs);
  free(sv);
  free(res);
}

static void *saver_main(void *arg) {
  arec_manager *mgr = arg;
  struct timespec ts;
  pthread_mutex_lock(&mgr->mu);
  while (!mgr->stop_saver && !mgr->abandoned) {
    while (mgr->ndirty > 0 && !mgr->saver_paused && !mgr->abandoned)
      flush_batch(mgr);
    arec__deadline_ts(&ts, arec__now_ms() + SAVER_TICK_MS);
    pthread_cond_timedwait(&mgr->tick_cv, &mgr->mu, &ts);
  }
  pthread_mutex_unlock(&mgr->mu);
  return NULL;
}

int arec__saver_start(arec_manager *mgr) {
  return arec__thread_start(&mgr->saver_th, saver_main, mgr);
}

void arec__saver_join(arec_manager *mgr) {
  arec__thread_join(mgr, &mgr->stop_saver, &mgr->tick_cv, &mgr->saver_th, 1);
}
