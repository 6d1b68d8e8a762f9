/*
 * reconciler.c -- the reconcile pass (restore is its first, logged run) and
 * the reconciler thread.
 *
 * A pass: ask the repository for wanted agents with no live owner, skip
 * those with a local runner, take their locks (try_acquire_many when
 * present), claim them (claim_many when present) to get fences, launch
 * them; then ask which local runners are no longer wanted (1: the user
 * stopped it -> STOP_USER; 2: someone else owns it -> STOP_FENCED; 3: a
 * migration to another pod -> STOP_HANDOVER); then retry releases that
 * failed earlier.  Fair sharing and migrations (balance.c) narrow what a
 * pass takes and hand off what is above the pod's target.  Passes and user starts (control.c)
 * are serialised by mgr->pass_mu.  The thread also renews this pod's heartbeat
 * row every refresh interval, even while passes are disabled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define UNWANTED_CHUNK 1000

/* ------------------------------------------------------------------ pass */
static void log_restored(arec_manager *mgr, const arec_agent_row *row) {
  if (row->nsymbols == 0) {
    arec__logkv(mgr, AREC_LOG_INFO, "✅ agent restored successfully",
                "agent_id", row->id, NULL);
    return;
  }
  for (size_t j = 0; j < row->nsymbols; j++)
    arec__logkv(mgr, AREC_LOG_INFO, "✅ agent restored successfully",
                "agent_id", row->id, "symbol", row->symbols[j].symbol, NULL);
}

static void check_unwanted(arec_manager *mgr) {
  {
    /* the ids of active runners, asked about in chunks */
    char **ids = NULL;
    uint64_t *serials = NULL;
    size_t n = 0, cap;
    pthread_mutex_lock(&mgr->mu);
    cap = mgr->nrunners;
    if (cap) {
      ids = calloc(cap, sizeof *ids);
      serials = calloc(cap, sizeof *serials);
    }
    if (ids && serials) {
      for (size_t b = 0; b < mgr->nbuckets; b++)
        for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext) {
          if (r->phase != AREC__R_ACTIVE || atomic_load(&r->cancel) ||
              n == cap)
            continue;
          ids[n] = strdup(r->id);
          if (!ids[n])
            continue;
          serials[n++] = r->serial;
        }
    }
    pthread_mutex_unlock(&mgr->mu);

    unsigned char *out = n ? calloc(n, 1) : NULL;
    for (size_t off = 0; out && off < n; off += UNWANTED_CHUNK) {
      size_t k = n - off < UNWANTED_CHUNK ? n - off : UNWANTED_CHUNK;
      int rc = mgr->repo->unwanted(mgr->repo, mgr->pod, mgr->incarnation,
                                   (const char *const *)ids + off, k,
                                   out + off);
      if (rc < 0) {
        memset(out + off, 0, k);
        arec__logkv(mgr, AREC_LOG_WARN, "cannot check for unwanted agents",
                    "error", arec_err_name(rc), NULL);
        break;
      }
    }
    pthread_mutex_lock(&mgr->mu);
    for (size_t i = 0; out && i < n; i++) {
      if (!out[i])
        continue;
      arec_agent *r = arec__runner_find(mgr, ids[i]);
      if (!r || r->serial != serials[i])
        continue;
      if (out[i] == 3) {
        arec__logkv(mgr, AREC_LOG_INFO,
                    "agent migrating to another pod, handing it off",
                    "agent_id", r->id, NULL);
        arec__runner_mark_stop(mgr, r, AREC_STOP_HANDOVER);
      } else if (out[i] == 2) {
        arec__logkv(mgr, AREC_LOG_WARN,
                    "agent owned by another pod now, stopping without writing",
                    "agent_id", r->id, NULL);
        arec__runner_mark_stop(mgr, r, AREC_STOP_FENCED);
      } else {
        arec__logkv(mgr, AREC_LOG_INFO, "agent no longer wanted, stopping",
                    "agent_id", r->id, NULL);
        arec__runner_mark_stop(mgr, r, AREC_STOP_USER);
      }
    }
    pthread_mutex_unlock(&mgr->mu);
    for (size_t i = 0; i < n; i++)
      free(ids[i]);
    free(ids);
    free(serials);
    free(out);
  }
}

static int run_pass(arec_manager *mgr, int logged, arec_restore_result *res) {
  arec_agent_list *list = NULL;
  arec__plan plan;
  size_t listed = 0;
  double t0 = arec__now_s();
  memset(&plan, 0, sizeof plan);
  arec_log_level skip_level = logged ? AREC_LOG_INFO : AREC_LOG_DEBUG;
  char num[4][24];

  memset(res, 0, sizeof *res);
  if (logged)
    arec__logkv(mgr, AREC_LOG_INFO,
                "🔄 restoring running agents from database...", NULL);
  int rc = mgr->repo->agents_to_restore(mgr->repo, NULL, &list);
  if (rc < 0 || !list) {
    arec__logkv(mgr, AREC_LOG_ERROR, "cannot list agents to restore", "error",
                arec_err_name(rc < 0 ? rc : AREC_EUNAVAILABLE), NULL);
    atomic_fetch_add(&mgr->m.passes, 1);
    check_unwanted(mgr);
    arec__release_retry(mgr);
    return AREC_EUNAVAILABLE;
  }

  /* candidates: no local runner */
  size_t n = 0;
  size_t *idx = list->n ? malloc(list->n * sizeof *idx) : NULL;
  const char **keys = list->n ? malloc(list->n * sizeof *keys) : NULL;
  char (*keybuf)[96] = list->n ? malloc(list->n * sizeof *keybuf) : NULL;
  arec_lease *leases = list->n ? calloc(list->n, sizeof *leases) : NULL;
  int *ares = list->n ? malloc(list->n * sizeof *ares) : NULL;
  int64_t *deadline = list->n ? malloc(list->n * sizeof *deadline) : NULL;
  uint64_t *fences = list->n ? calloc(list->n, sizeof *fences) : NULL;
  int *cres = list->n ? malloc(list->n * sizeof *cres) : NULL;
  const char **cids = list->n ? malloc(list->n * sizeof *cids) : NULL;
  size_t *cidx = list->n ? malloc(list->n * sizeof *cidx) : NULL;
  if (list->n && (!idx || !keys || !keybuf || !leases || !ares || !deadline ||
                  !fences || !cres || !cids || !cidx)) {
    rc = AREC_ENOMEM;
    goto out;
  }
  pthread_mutex_lock(&mgr->mu);
  for (size_t i = 0; i < list->n; i++)
    if (!arec__runner_find(mgr, list->rows[i].id))
      idx[n++] = i;
  pthread_mutex_unlock(&mgr->mu);
  res->total = (unsigned int)n;
  /* fair sharing and migrations: read after the candidates, so a pod that
   * released its agents on leaving is seen leaving already */
  arec__plan_load(mgr, &plan);
  listed = n;
  n = arec__plan_select(mgr, &plan, list, idx, n, &res->skipped);
  if (logged) {
    snprintf(num[0], sizeof num[0], "%zu", listed);
    arec__logkv(mgr, AREC_LOG_INFO, "found agents to restore", "count",
                num[0], NULL);
  }

  /* locks */
  for (size_t i = 0; i < n; i++) {
    snprintf(keybuf[i], sizeof keybuf[i], "agent:lock:%s",
             list->rows[idx[i]].id);
    keys[i] = keybuf[i];
  }
  pthread_mutex_lock(&mgr->mu);
  int pod_ok = arec__pod_valid(mgr, arec__now_ms());
  pthread_mutex_unlock(&mgr->mu);
  if (n && !pod_ok) { /* no pod lease: acquire nothing */
    for (size_t i = 0; i < n; i++) {
      ares[i] = AREC_EUNAVAILABLE;
      deadline[i] = 0;
    }
  } else if (n && mgr->lock->try_acquire_many) {
    int r = mgr->lock->try_acquire_many(mgr->lock, keys, n, mgr->owner,
                                        mgr->ttl, leases, ares);
    int64_t t = arec__now_ms();
    for (size_t i = 0; i < n; i++) {
      if (r < 0)
        ares[i] = r;
      deadline[i] = t + leases[i].validity_ms;
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      ares[i] = mgr->lock->try_acquire(mgr->lock, keys[i], mgr->owner, mgr->ttl,
                                       &leases[i]);
      deadline[i] = arec__now_ms() + leases[i].validity_ms;
    }
  }
  for (size_t i = 0; i < n; i++)
    if (ares[i] >= 0) { /* the lock service answered */
      atomic_store(&mgr->lock_ok_at, arec__now_ms());
      break;
    }
  size_t nc = 0;
  for (size_t i = 0; i < n; i++) {
    const char *id = list->rows[idx[i]].id;
    if (ares[i] == 1) {
      atomic_fetch_add(&mgr->m.acquire, 1);
      atomic_fetch_add(&mgr->m.lock_held, 1);
      cids[nc] = id;
      cidx[nc++] = i;
    } else if (ares[i] == 0) {
      atomic_fetch_add(&mgr->m.acquire_failed, 1);
      res->skipped++;
      arec__logkv(mgr, skip_level,
                  "agent already running in another pod (lock held), skipping",
                  "agent_id", id, NULL);
    } else {
      atomic_fetch_add(&mgr->m.acquire_failed, 1);
      res->failed++;
      arec__logkv(mgr, AREC_LOG_WARN, "cannot take agent lock", "agent_id",
                  id, "error", arec_err_name(ares[i]), NULL);
    }
  }

  /* fences */
  if (nc && mgr->repo->claim_many) {
    int r = mgr->repo->claim_many(mgr->repo, mgr->pod, mgr->incarnation, cids,
                                  nc, fences, cres);
    if (r < 0)
      for (size_t i = 0; i < nc; i++)
        cres[i] = r;
  } else {
    for (size_t i = 0; i < nc; i++)
      cres[i] = mgr->repo->claim(mgr->repo, mgr->pod, mgr->incarnation,
                                 cids[i], &fences[i]);
  }

  /* launch */
  for (size_t c = 0; c < nc; c++) {
    size_t i = cidx[c];
    const arec_agent_row *row = &list->rows[idx[i]];
    if (cres[c] < 0) {
      arec__release_now(mgr, row->id, 0, 0, keys[i], &leases[i], 1);
      if (cres[c] == AREC_ECONFLICT || cres[c] == AREC_ENOTFOUND) {
        res->skipped++; /* no longer wanted */
      } else {
        res->failed++;
        arec__logkv(mgr, AREC_LOG_WARN, "cannot claim agent", "agent_id",
                    row->id, "error", arec_err_name(cres[c]), NULL);
      }
      continue;
    }
    int lr = arec__runner_launch(mgr, row, &leases[i], deadline[i], fences[c]);
    if (lr == 0) {
      res->restored++;
      atomic_fetch_add(&mgr->m.restored, 1);
      log_restored(mgr, row);
    } else {
      res->failed++;
    }
  }
  arec__plan_shed(mgr, &plan, listed > res->restored ? listed - res->restored
                                                       : 0);
  rc = 0;

out:
  atomic_fetch_add(&mgr->m.restore_failed, res->failed);
  atomic_fetch_add(&mgr->m.passes, 1);
  if (logged) { /* agent_restore_duration_seconds: restore passes only */
    pthread_mutex_lock(&mgr->mu);
    mgr->m.restore_duration = arec__now_s() - t0;
    pthread_mutex_unlock(&mgr->mu);
  }
  if (logged && rc == 0) {
    snprintf(num[0], sizeof num[0], "%u", res->total);
    snprintf(num[1], sizeof num[1], "%u", res->restored);
    snprintf(num[2], sizeof num[2], "%u", res->skipped);
    snprintf(num[3], sizeof num[3], "%u", res->failed);
    arec__logkv(mgr, AREC_LOG_INFO, "🎯 agent restoration complete", "total",
                num[0], "restored", num[1], "skipped", num[2], "failed",
                num[3], NULL);
  }
  free(idx);
  free(keys);
  free(keybuf);
  free(leases);
  free(ares);
  free(deadline);
  free(fences);
  free(cres);
  free(cids);
  free(cidx);
  arec_agent_list_free(list);
  arec__plan_free(&plan);
  check_unwanted(mgr);
  arec__release_retry(mgr);
  return rc;
}

int arec__pass(arec_manager *mgr, int logged, arec_restore_result *out) {
  arec_restore_result res;
  int rc;
  pthread_mutex_lock(&mgr->pass_mu);
  pthread_mutex_lock(&mgr->mu);
  int down = mgr->shutting_down;
  pthread_mutex_unlock(&mgr->mu);
  if (down) {
    pthread_mutex_unlock(&mgr->pass_mu);
    if (out)
      memset(out, 0, sizeof *out);
    return AREC_ESHUTDOWN;
  }
  rc = run_pass(mgr, logged, &res);
  pthread_mutex_unlock(&mgr->pass_mu);
  if (out)
    *out = res;
  return rc;
}

int arec_manager_restore(arec_manager *mgr, arec_restore_result *out) {
  if (!mgr)
    return AREC_EINVAL;
  int rc = arec__pass(mgr, 1, out);
  pthread_mutex_lock(&mgr->mu);
  if (!mgr->shutting_down)
    mgr->passes_enabled = 1;
  pthread_cond_broadcast(&mgr->tick_cv);
  pthread_mutex_unlock(&mgr->mu);
  return rc;
}

int arec_manager_reconcile(arec_manager *mgr, arec_restore_result *out) {
  if (!mgr)
    return AREC_EINVAL;
  return arec__pass(mgr, 0, out);
}

/* ---------------------------------------------------------------- thread */
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

static void *reconciler_main(void *arg) {
  arec_manager *mgr = arg;
  struct timespec ts;
  int64_t next_hb = arec__now_ms() + mgr->refresh;
  int64_t next_pass = 0;
  int enabled = 0;

  pthread_mutex_lock(&mgr->mu);
  while (!mgr->stop_reconciler && !mgr->abandoned) {
    int64_t now = arec__now_ms();
    if (mgr->passes_enabled && !enabled) {
      enabled = 1;
      next_pass = now + mgr->reconcile;
    }
    if (now >= next_hb && mgr->pod_ttl > 0) { /* podlease.c renews it */
      next_hb = now + mgr->refresh;
      continue;
    }
    if (now >= next_hb) {
      pthread_mutex_unlock(&mgr->mu);
      int drop = lock_service_gone(mgr, now);
      int rc = mgr->repo->heartbeat(mgr->repo, mgr->pod, mgr->incarnation,
                                    mgr->ttl, drop);
      if (rc == 0 && drop != mgr->row_dropped) {
        mgr->row_dropped = drop;
        arec__logkv(mgr, drop ? AREC_LOG_WARN : AREC_LOG_INFO,
                    drop ? "lock service unreachable: this pod no longer "
                           "counts as live, other pods take its agents over"
                         : "lock service answers again: this pod counts as "
                           "live again",
                    NULL);
      }
      if (rc == 0)
        atomic_store(&mgr->repo_ok_at, arec__now_ms());
      if (rc < 0)
        arec__logkv(mgr, AREC_LOG_WARN, "pod heartbeat failed", "error",
                    arec_err_name(rc), NULL);
      pthread_mutex_lock(&mgr->mu);
      next_hb = now + mgr->refresh;
      continue;
    }
    if (enabled && mgr->reconcile > 0 && now >= next_pass &&
        !mgr->shutting_down) {
      pthread_mutex_unlock(&mgr->mu);
      arec__pass(mgr, 0, NULL);
      pthread_mutex_lock(&mgr->mu);
      next_pass = arec__now_ms() + mgr->reconcile;
      continue;
    }
    int64_t wake = next_hb;
    if (enabled && mgr->reconcile > 0 && next_pass < wake)
      wake = next_pass;
    arec__deadline_ts(&ts, wake);
    pthread_cond_timedwait(&mgr->tick_cv, &mgr->mu, &ts);
  }
  pthread_mutex_unlock(&mgr->mu);
  return NULL;
}

int arec__reconciler_start(arec_manager *mgr) {
  if (pthread_create(&mgr->reconciler_th, NULL, reconciler_main, mgr) != 0)
    return AREC_ENOMEM;
  mgr->reconciler_started = 1;
  return 0;
}

void arec__reconciler_join(arec_manager *mgr) {
  pthread_mutex_lock(&mgr->mu);
  mgr->stop_reconciler = 1;
  pthread_cond_broadcast(&mgr->tick_cv);
  pthread_mutex_unlock(&mgr->mu);
  if (mgr->reconciler_started)
    pthread_join(mgr->reconciler_th, NULL);
  mgr->reconciler_started = 0;
}
