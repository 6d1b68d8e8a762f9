/*
 * refresher.c -- the refresher thread, which renews every held agent lock
 * every refresh interval, and the watch thread, which enforces lease
 * validity.
 *
 * Cycles come every refresh interval, the first after a random part of it
 * (pods started together must not refresh in step); once the passes have
 * seen the fleet, the live pods take turns (arec__slot_shift).  A cycle
 * copies (key, lease, runner serial) of every held lock under the mutex,
 * refreshes them without it (refresh_many in one call when the backend has
 * it, else one refresh each), then applies the answers: success moves the
 * runner's validity deadline to (return time + reported validity);
 * AREC_ELOST stops the runner at once (LOST); any other error leaves the
 * deadline alone.  On every tick (a fraction of the refresh interval, at
 * most 100 ms) the watch stops runners whose deadline passed (LOST) --
 * looking at every runner only once something can be due (mgr->watch_next:
 * the earliest validity end or save wait seen, lowered by arec__watch_at
 * wherever one is set); it has its own thread because a refresh round may
 * wait for its answers up to a third of the TTL (validity counts from the
 * send), and a stop must not wait for the round.  Every cycle is timed
 * (refresh_cycle_seconds).  No step can delay either thread: they never
 * wait for a worker.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saver.h"
#include "share.h"
#include "table.h"
#include "threads.h"

typedef struct held {
  char key[AREC__KEY_MAX];
  uint64_t serial;
} held;

static void cycle(arec_manager *mgr) {
  double t0 = arec__now_s();
  size_t n = 0, cap;
  held *hs = NULL;
  arec_lease *leases = NULL;
  const char **keys = NULL;
  int64_t *ret_at = NULL;
  int *res = NULL;

  pthread_mutex_lock(&mgr->mu);
  cap = mgr->nrunners;
  if (cap) {
    hs = malloc(cap * sizeof *hs);
    leases = malloc(cap * sizeof *leases);
    keys = malloc(cap * sizeof *keys);
    ret_at = malloc(cap * sizeof *ret_at);
    res = malloc(cap * sizeof *res);
  }
  if (cap && hs && leases && keys && ret_at && res) {
    for (size_t b = 0; b < mgr->nbuckets; b++)
      for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext) {
        if (!r->lock_held || n == cap)
          continue;
        memcpy(hs[n].key, r->key, sizeof hs[n].key);
        hs[n].serial = r->serial;
        leases[n] = r->lease;
        n++;
      }
  }
  pthread_mutex_unlock(&mgr->mu);
  for (size_t i = 0; i < n; i++)
    keys[i] = hs[i].key;

  if (n > 0) {
    if (mgr->lock->refresh_many) {
      int rc = mgr->lock->refresh_many(mgr->lock, keys, leases, n, mgr->ttl,
                                       res);
      int64_t t = arec__now_ms();
      for (size_t i = 0; i < n; i++) {
        if (rc < 0)
          res[i] = rc;
        ret_at[i] = t;
      }
    } else {
      for (size_t i = 0; i < n; i++) {
        res[i] = mgr->lock->refresh(mgr->lock, keys[i], &leases[i], mgr->ttl);
        ret_at[i] = arec__now_ms();
      }
    }
  }

  size_t nerr = 0;
  int last_err = 0;
  pthread_mutex_lock(&mgr->mu);
  for (size_t i = 0; i < n; i++) {
    arec_agent *r = arec__runner_find(mgr, arec__lock_key_id(hs[i].key));
    if (!r || r->serial != hs[i].serial || !r->lock_held)
      continue;
    if (res[i] == 0 || res[i] == AREC_ELOST)
      atomic_store(&mgr->lock_ok_at, ret_at[i]);
    if (res[i] == 0) {
      r->lease.validity_ms = leases[i].validity_ms;
      r->deadline_ms = ret_at[i] + leases[i].validity_ms;
      arec__watch_at(mgr, r->deadline_ms);
    } else if (res[i] == AREC_ELOST) {
      if (!atomic_load(&r->cancel)) {
        atomic_fetch_add(&mgr->m.lost, 1);
        arec__logkv(mgr, AREC_LOG_WARN,
                    "agent lock lost (held by someone else), stopping agent",
                    "agent_id", r->id, NULL);
        arec__runner_mark_stop(mgr, r, AREC_STOP_LOST);
      }
    } else {
      nerr++;
      last_err = res[i];
    }
  }
  pthread_mutex_unlock(&mgr->mu);
  arec__hist_observe(&mgr->m.refresh, arec__now_s() - t0);
  atomic_fetch_add(&mgr->m.refresh_cycles, 1);
  if (nerr) {
    char cnt[24];
    snprintf(cnt, sizeof cnt, "%zu", nerr);
    arec__logkv(mgr, AREC_LOG_WARN,
                "lock refresh failed, agents keep running until their lease "
                "validity ends",
                "#count", cnt, "error", arec_err_name(last_err), NULL);
  }
  free(hs);
  free(leases);
  free(keys);
  free(ret_at);
  free(res);
}

/* mu held */
static void check_deadlines(arec_manager *mgr) {
  int64_t now = arec__now_ms();
  if (!arec__pod_valid(mgr, now)) { /* pod lease lapsed: stop everything */
    int any = 0;
    for (size_t b = 0; b < mgr->nbuckets; b++)
      for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext) {
        if (!r->lock_held || atomic_load(&r->cancel) || r->orphaned)
          continue;
        atomic_fetch_add(&mgr->m.lost, 1);
        arec__runner_mark_stop(mgr, r, AREC_STOP_LOST);
        any = 1;
      }
    if (any || !mgr->pod_expired_logged)
      arec__logkv(mgr, AREC_LOG_WARN,
                  "pod lease ran out without a renewal, stopping every agent",
                  NULL);
    mgr->pod_expired_logged = 1;
    return;
  }
  /* The repository has not answered a heartbeat or a save for longer than
   * the liveness TTL: this pod can no longer record its agents (and its
   * pods row has expired), so it lets every one of them go. */
  int64_t live_ttl = mgr->pod_ttl > 0 ? mgr->pod_ttl : mgr->ttl;
  int repo_down = now - atomic_load(&mgr->repo_ok_at) > live_ttl;
  int logged_down = 0;
  /* nothing is due before watch_next: no need to look at every runner */
  if (!repo_down && now < mgr->watch_next)
    return;
  int64_t next = INT64_MAX;
  for (size_t b = 0; b < mgr->nbuckets; b++)
    for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext) {
      if (!r->lock_held || atomic_load(&r->cancel) || r->orphaned)
        continue;
      if (repo_down) {
        if (!logged_down)
          arec__logkv(mgr, AREC_LOG_WARN,
                      "repository unreachable for longer than the lock TTL, "
                      "stopping every agent",
                      NULL);
        logged_down = 1;
        r->repo_lost = 1;
        arec__runner_mark_stop(mgr, r, AREC_STOP_LOST);
        continue;
      }
      if (arec__save_overdue(mgr, r, now)) {
        arec__logkv(mgr, AREC_LOG_WARN,
                    "state saves not accepted for longer than the lock TTL, "
                    "stopping agent",
                    "agent_id", r->id, NULL);
        arec__runner_mark_stop(mgr, r, AREC_STOP_LOST);
        continue;
      }
      if (r->deadline_ms > now) {
        if (r->deadline_ms < next)
          next = r->deadline_ms;
        if (r->save_wait_since && r->save_wait_since + mgr->ttl + 1 < next)
          next = r->save_wait_since + mgr->ttl + 1;
        continue;
      }
      atomic_fetch_add(&mgr->m.lost, 1);
      arec__logkv(mgr, AREC_LOG_WARN,
                  "agent lease validity ran out without a refresh, stopping "
                  "agent",
                  "agent_id", r->id, NULL);
      arec__runner_mark_stop(mgr, r, AREC_STOP_LOST);
    }
  mgr->watch_next = next;
}

void arec__watch_at(arec_manager *mgr, int64_t at) {
  if (at < mgr->watch_next)
    mgr->watch_next = at;
}

static int64_t tick_of(const arec_manager *mgr) {
  int64_t tick = mgr->refresh / 4;
  if (tick > 100)
    tick = 100;
  if (tick < 5)
    tick = 5;
  return tick;
}

/* The watch: stops the runners whose validity ended, every tick, on a
 * thread of its own, so that a refresh round still waiting for a slow
 * master never delays a stop. */
static void *watch_main(void *arg) {
  arec_manager *mgr = arg;
  struct timespec ts;
  int64_t tick = tick_of(mgr);

  pthread_mutex_lock(&mgr->mu);
  while (!mgr->stop_refresher && !mgr->abandoned) {
    check_deadlines(mgr);
    arec__deadline_ts(&ts, arec__now_ms() + tick);
    pthread_cond_timedwait(&mgr->tick_cv, &mgr->mu, &ts);
  }
  pthread_mutex_unlock(&mgr->mu);
  return NULL;
}

/* The first cycle comes after half a refresh interval plus a part of the
 * other half that depends on this process's incarnation (random): pods
 * started together would otherwise refresh at the same moments forever and
 * queue behind each other on the lock servers. */
static int64_t first_cycle_in(const arec_manager *mgr) {
  uint64_t h = 1469598103934665603ULL;
  for (const char *c = mgr->incarnation; *c; c++) {
    h ^= (unsigned char)*c;
    h *= 1099511628211ULL;
  }
  int64_t half = mgr->refresh / 2;
  int64_t part = half > 0 ? (int64_t)(h % (uint64_t)(half + 1)) : 0;
  return mgr->refresh - half + part;
}

static void *refresher_main(void *arg) {
  arec_manager *mgr = arg;
  struct timespec ts;
  int64_t next_cycle = arec__now_ms() + first_cycle_in(mgr);

  pthread_mutex_lock(&mgr->mu);
  while (!mgr->stop_refresher && !mgr->abandoned) {
    int64_t now = arec__now_ms();
    if (now >= next_cycle) {
      mgr->cycle_at = now;
      pthread_mutex_unlock(&mgr->mu);
      cycle(mgr);
      pthread_mutex_lock(&mgr->mu);
      next_cycle = now + mgr->refresh;
      next_cycle -= arec__slot_shift(mgr, next_cycle, mgr->refresh);
      if (next_cycle <= arec__now_ms())
        next_cycle = arec__now_ms() + 1;
      continue;
    }
    arec__deadline_ts(&ts, next_cycle);
    pthread_cond_timedwait(&mgr->tick_cv, &mgr->mu, &ts);
  }
  pthread_mutex_unlock(&mgr->mu);
  return NULL;
}

int arec__refresher_start(arec_manager *mgr) {
  int rc = arec__thread_start(&mgr->refresher_th, refresher_main, mgr);
  return rc < 0 ? rc : arec__thread_start(&mgr->watch_th, watch_main, mgr);
}

void arec__refresher_join(arec_manager *mgr) {
  arec__thread_join(mgr, &mgr->stop_refresher, &mgr->tick_cv,
                    &mgr->refresher_th, 1);
  arec__thread_join(mgr, &mgr->stop_refresher, &mgr->tick_cv, &mgr->watch_th,
                    1);
}
