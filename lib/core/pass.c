/*
 * pass.c -- the reconcile pass (restore is its first, logged run) and the
 * stop check.
 *
 * A pass: ask the repository for wanted agents with no live owner whose
 * backoff wait is over, skip those with a local runner and those needing a
 * capability this pod lacks (leaving a note on them once), order the rest
 * by fair share and migrations (share.c), take their locks up to the
 * pod's room (try_acquire_many when present; in rounds that go on down the
 * list while other pods hold some of them, so pods racing for the same
 * agents at a cold start or a failover each fill their share in one pass;
 * when that still falls short of the room while some were held, asks
 * for the next pass soon: mgr->pass_again), claim them (claim_many when
 * present) to
 * get fences, and launch them; a row the repository could not read whole is
 * claimed too and put straight into backoff with the repository's reason.
 * With the option takeover off a pass takes nothing over.  Every pass (and
 * every stop check, which also reads the fleet for the gauges) then asks
 * which local runners are no longer wanted (1: the user stopped, disabled
 * or deleted it -> STOP_USER; 2: someone else owns it -> STOP_FENCED; 3: a
 * migration to another pod -> STOP_HANDOVER) and retries releases that
 * failed earlier.  After a pass over 1,000 rows
 * or more, glibc's malloc_trim() returns the free pages the list left.
 * Passes, stop checks and user starts (control.c) are serialised by
 * mgr->pass_mu.
 *
 * Must never: call a backend with mgr->mu held, start an agent without its
 * lock and fence, or let one unreadable row keep the others from starting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "backoff.h"
#include "pass.h"
#include "release.h"
#include "runner.h"
#include "share.h"
#include "table.h"
#include "threads.h"

#define UNWANTED_CHUNK 1000
#define TRIM_ROWS 1000

/* A pass over many rows (the restore of a fleet, a failover) leaves their
 * memory -- the list, the repository's result buffers -- free but
 * interleaved with the runners it launched, where the allocator does not
 * give it back by itself: hand the free pages back to the system. */
static void give_back(size_t rows) {
#ifdef __GLIBC__
  if (rows >= TRIM_ROWS)
    malloc_trim(0);
#else
  (void)rows;
#endif
}

/* ------------------------------------------------------------ stop check */
static void check_unwanted(arec_manager *mgr) {
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
                                 (const char *const *)ids + off, k, out + off);
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

/* ------------------------------------------------------------------ pass */
typedef struct pass {
  struct arec_agent_list *list;
  size_t n;                    /* rows to try, in idx */
  size_t *idx;                 /* indexes into list->rows */
  char (*keybuf)[AREC__KEY_MAX];
  const char **keys;
  arec_lease *leases;
  int *ares;                   /* try_acquire answers */
  int64_t *deadline;           /* validity ends */
  size_t got, held;            /* locks taken / held by someone else */
  size_t nc;                   /* locked, to claim */
  const char **cids;
  size_t *cidx;                /* index into idx[] */
  uint64_t *fences;
  int *cres;                   /* claim answers */
} pass;

static int pass_alloc(pass *p) {
  size_t m = p->list->n ? p->list->n : 1;
  p->idx = malloc(m * sizeof *p->idx);
  p->keybuf = malloc(m * sizeof *p->keybuf);
  p->keys = malloc(m * sizeof *p->keys);
  p->leases = calloc(m, sizeof *p->leases);
  p->ares = malloc(m * sizeof *p->ares);
  p->deadline = calloc(m, sizeof *p->deadline);
  p->cids = malloc(m * sizeof *p->cids);
  p->cidx = malloc(m * sizeof *p->cidx);
  p->fences = calloc(m, sizeof *p->fences);
  p->cres = malloc(m * sizeof *p->cres);
  return p->idx && p->keybuf && p->keys && p->leases && p->ares &&
                 p->deadline && p->cids && p->cidx && p->fences && p->cres
             ? 0
             : AREC_ENOMEM;
}

static void pass_free(pass *p) {
  free(p->idx);
  free(p->keybuf);
  free(p->keys);
  free(p->leases);
  free(p->ares);
  free(p->deadline);
  free(p->cids);
  free(p->cidx);
  free(p->fences);
  free(p->cres);
  arec_agent_list_free(p->list);
}

/* One line per symbol; `after` says whether a live owner's failure left
 * the agent behind ("failure") or nobody owned it ("handover": a first
 * start, a graceful handover, a release). */
static void log_restored(arec_manager *mgr, const arec_agent_row *row) {
  const char *after = row->orphaned ? "failure" : "handover";
  if (row->nsymbols == 0) {
    arec__logkv(mgr, AREC_LOG_INFO, "✅ agent restored successfully",
                "agent_id", row->id, "after", after, NULL);
    return;
  }
  for (size_t j = 0; j < row->nsymbols; j++)
    arec__logkv(mgr, AREC_LOG_INFO, "✅ agent restored successfully",
                "agent_id", row->id, "symbol", row->symbols[j].symbol,
                "after", after, NULL);
}

/* Drops the rows this pod cannot run for want of a capability (noting why
 * on each once); returns the new count. */
static size_t placement(arec_manager *mgr, pass *p, arec_restore_result *res) {
  size_t k = 0;
  for (size_t i = 0; i < p->n; i++) {
    const arec_agent_row *row = &p->list->rows[p->idx[i]];
    if (row->error < 0 || arec__offers(mgr, row->requires)) {
      p->idx[k++] = p->idx[i];
      continue;
    }
    res->skipped++;
    arec__logkv(mgr, AREC_LOG_DEBUG,
                "agent needs a capability this pod does not offer, skipping",
                "agent_id", row->id, "requires", row->requires, NULL);
    if (!row->last_error)
      arec__backoff_note_placement(mgr, row->id, row->requires);
  }
  return k;
}

/* Locks idx[from..from+n): fills ares, leases, deadline there. */
static void lock_range(arec_manager *mgr, pass *p, size_t from, size_t n) {
  const char **keys = p->keys + from;
  arec_lease *leases = p->leases + from;
  int *ares = p->ares + from;
  int64_t *deadline = p->deadline + from;
  for (size_t i = 0; i < n; i++) {
    arec__lock_key(p->keybuf[from + i], p->list->rows[p->idx[from + i]].id);
    keys[i] = p->keybuf[from + i];
  }
  if (n && mgr->lock->try_acquire_many) {
    /* validity is what is left when the call returns */
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
      ares[i] = mgr->lock->try_acquire(mgr->lock, keys[i], mgr->owner,
                                       mgr->ttl, &leases[i]);
      deadline[i] = arec__now_ms() + leases[i].validity_ms;
    }
  }
}

/* Takes up to `take` locks from idx[0..n), in rounds: a round asks for
 * what is still missing; when some were held by another pod (pods racing
 * for the same agents) the next round goes on down the list.  Sets p->n to
 * the number tried; fills ares, leases, deadline for them. */
static void take_locks(arec_manager *mgr, pass *p, size_t take) {
  size_t total = p->n, tried = 0, got = 0;
  pthread_mutex_lock(&mgr->mu);
  int pod_ok = arec__pod_valid(mgr, arec__now_ms());
  pthread_mutex_unlock(&mgr->mu);
  if (!pod_ok) { /* no pod lease: acquire nothing */
    p->n = take < total ? take : total;
    for (size_t i = 0; i < p->n; i++) {
      arec__lock_key(p->keybuf[i], p->list->rows[p->idx[i]].id);
      p->keys[i] = p->keybuf[i];
      p->ares[i] = AREC_EUNAVAILABLE;
    }
    return;
  }
  while (got < take && tried < total) {
    size_t k = take - got < total - tried ? take - got : total - tried;
    size_t held = 0;
    lock_range(mgr, p, tried, k);
    for (size_t i = tried; i < tried + k; i++) {
      if (p->ares[i] >= 0) /* the lock service answered */
        atomic_store(&mgr->lock_ok_at, arec__now_ms());
      got += p->ares[i] == 1;
      held += p->ares[i] == 0;
    }
    tried += k;
    p->held += held;
    if (held == 0) /* short only through errors: no use going on */
      break;
  }
  p->n = tried;
  p->got = got;
}

/* Sorts the lock answers; the locked ones go to cids for the claims. */
static void sort_locks(arec_manager *mgr, pass *p, arec_restore_result *res,
                       arec_log_level skip_level) {
  p->nc = 0;
  for (size_t i = 0; i < p->n; i++) {
    const char *id = p->list->rows[p->idx[i]].id;
    if (p->ares[i] == 1) {
      atomic_fetch_add(&mgr->m.acquire, 1);
      atomic_fetch_add(&mgr->m.lock_held, 1);
      p->cids[p->nc] = id;
      p->cidx[p->nc++] = i;
    } else if (p->ares[i] == 0) {
      atomic_fetch_add(&mgr->m.acquire_failed, 1);
      res->skipped++;
      arec__logkv(mgr, skip_level,
                  "agent already running in another pod (lock held), skipping",
                  "agent_id", id, NULL);
    } else {
      atomic_fetch_add(&mgr->m.acquire_failed, 1);
      res->failed++;
      arec__logkv(mgr, AREC_LOG_WARN, "cannot take agent lock", "agent_id",
                  id, "error", arec_err_name(p->ares[i]), NULL);
    }
  }
}

static void claim_all(arec_manager *mgr, pass *p) {
  if (p->nc && mgr->repo->claim_many) {
    int r = mgr->repo->claim_many(mgr->repo, mgr->pod, mgr->incarnation,
                                  p->cids, p->nc, p->fences, p->cres);
    if (r < 0)
      for (size_t i = 0; i < p->nc; i++)
        p->cres[i] = r;
  } else {
    for (size_t i = 0; i < p->nc; i++)
      p->cres[i] = mgr->repo->claim(mgr->repo, mgr->pod, mgr->incarnation,
                                    p->cids[i], &p->fences[i]);
  }
}

static void launch_all(arec_manager *mgr, pass *p, double claim_at,
                       arec_restore_result *res) {
  for (size_t c = 0; c < p->nc; c++) {
    size_t i = p->cidx[c];
    const arec_agent_row *row = &p->list->rows[p->idx[i]];
    if (p->cres[c] < 0) {
      arec__release_now(mgr, row->id, 0, 0, p->keys[i], &p->leases[i], 1);
      if (p->cres[c] == AREC_ECONFLICT || p->cres[c] == AREC_ENOTFOUND) {
        res->skipped++; /* no longer wanted */
      } else {
        res->failed++;
        arec__logkv(mgr, AREC_LOG_WARN, "cannot claim agent", "agent_id",
                    row->id, "error", arec_err_name(p->cres[c]), NULL);
      }
      continue;
    }
    if (row->error < 0) { /* unreadable row: straight to backoff, fenced */
      res->failed++;
      arec__backoff_failed(mgr, row->id, p->fences[c],
                           row->error_text ? row->error_text
                                           : arec_strerror(row->error),
                           p->keys[i], &p->leases[i], 1);
      continue;
    }
    arec__launch l;
    l.row = row;
    l.lease = &p->leases[i];
    l.deadline = p->deadline[i];
    l.fence = p->fences[c];
    l.claim_at = claim_at;
    l.user = 0;
    if (arec__runner_launch(mgr, &l) == 0) {
      res->restored++;
      atomic_fetch_add(&mgr->m.restored, 1);
      log_restored(mgr, row);
    } else {
      res->failed++;
    }
  }
}

static void log_complete(arec_manager *mgr, const arec_restore_result *res) {
  char num[4][24];
  snprintf(num[0], sizeof num[0], "%u", res->total);
  snprintf(num[1], sizeof num[1], "%u", res->restored);
  snprintf(num[2], sizeof num[2], "%u", res->skipped);
  snprintf(num[3], sizeof num[3], "%u", res->failed);
  arec__logkv(mgr, AREC_LOG_INFO, "🎯 agent restoration complete", "#total",
              num[0], "#restored", num[1], "#skipped", num[2], "#failed",
              num[3], NULL);
}

/* The pass of a pod that takes nothing over: keeps the fleet gauges. */
static int run_pass_no_takeover(arec_manager *mgr, int logged,
                                arec_restore_result *res) {
  arec__share s;
  arec__share_load(mgr, &s);
  arec__share_free(&s);
  if (logged) {
    arec__logkv(mgr, AREC_LOG_INFO,
                "takeover is off: this pod runs only the agents started "
                "through it",
                NULL);
    log_complete(mgr, res);
  }
  atomic_fetch_add(&mgr->m.passes, 1);
  check_unwanted(mgr);
  arec__release_retry(mgr);
  return 0;
}

static int run_pass(arec_manager *mgr, int logged, arec_restore_result *res) {
  pass p;
  arec__share share;
  memset(&p, 0, sizeof p);
  memset(&share, 0, sizeof share);
  memset(res, 0, sizeof *res);
  if (logged)
    arec__logkv(mgr, AREC_LOG_INFO,
                "🔄 restoring running agents from database...", NULL);
  if (!mgr->takeover)
    return run_pass_no_takeover(mgr, logged, res);

  int rc = mgr->repo->agents_to_restore(mgr->repo, NULL, &p.list);
  if (rc < 0 || !p.list) {
    char detail[AREC__TEXT_MAX + 1];
    arec__text_clean(detail, sizeof detail, arec_error_last());
    arec__logkv(mgr, AREC_LOG_ERROR, "cannot list agents to restore", "error",
                arec_err_name(rc < 0 ? rc : AREC_EBACKEND), "detail", detail,
                NULL);
    atomic_fetch_add(&mgr->m.pass_errors, 1);
    atomic_fetch_add(&mgr->m.passes, 1);
    check_unwanted(mgr);
    arec__release_retry(mgr);
    return AREC_EUNAVAILABLE;
  }
  if ((rc = pass_alloc(&p)) < 0)
    goto out;

  /* candidates: no local runner */
  pthread_mutex_lock(&mgr->mu);
  for (size_t i = 0; i < p.list->n; i++) {
    const arec_agent_row *row = &p.list->rows[i];
    if (row->id && !arec__runner_find(mgr, row->id))
      p.idx[p.n++] = i;
  }
  pthread_mutex_unlock(&mgr->mu);
  res->total = (unsigned int)p.n;
  size_t listed = p.n;
  /* the fleet: read after the candidates, so a pod that released its
   * agents on leaving is seen leaving already */
  arec__share_load(mgr, &share);
  p.n = placement(mgr, &p, res);
  size_t take, offered;
  p.n = arec__share_select(mgr, &share, p.list, p.idx, p.n, &take,
                           &res->skipped);
  offered = p.n;
  if (logged) {
    char num[24];
    snprintf(num, sizeof num, "%zu", listed);
    arec__logkv(mgr, AREC_LOG_INFO, "found agents to restore", "#count", num,
                NULL);
  }

  take_locks(mgr, &p, take);
  sort_locks(mgr, &p, res, logged ? AREC_LOG_INFO : AREC_LOG_DEBUG);
  if (offered > p.n) { /* not tried: left to the other pods */
    char a[24], b[24];
    res->skipped += (unsigned int)(offered - p.n);
    snprintf(a, sizeof a, "%zu", offered - p.n);
    snprintf(b, sizeof b, "%lld", (long long)share.target);
    arec__logkv(mgr, AREC_LOG_DEBUG, "fair share: leaving agents to other pods",
                "#count", a, "#target", b, NULL);
  }
  double claim_at = arec__now_s();
  claim_all(mgr, &p);
  launch_all(mgr, &p, claim_at, res);
  arec__share_shed(mgr, &share,
                   listed > res->restored ? listed - res->restored : 0);
  pthread_mutex_lock(&mgr->mu);
  mgr->pass_again = p.held > 0 && p.got > 0 && p.got < take;
  pthread_mutex_unlock(&mgr->mu);
  rc = 0;

out:
  atomic_fetch_add(&mgr->m.restore_failed, res->failed);
  atomic_fetch_add(&mgr->m.passes, 1);
  if (logged && rc == 0)
    log_complete(mgr, res);
  size_t rows = p.list ? p.list->n : 0;
  pass_free(&p);
  arec__share_free(&share);
  check_unwanted(mgr);
  arec__release_retry(mgr);
  give_back(rows);
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

void arec__stop_check(arec_manager *mgr) {
  pthread_mutex_lock(&mgr->pass_mu);
  pthread_mutex_lock(&mgr->mu);
  int down = mgr->shutting_down;
  pthread_mutex_unlock(&mgr->mu);
  if (!down) {
    arec__share s; /* no passes run here: keep the fleet gauges fresh */
    arec__share_load(mgr, &s);
    arec__share_free(&s);
    check_unwanted(mgr);
    arec__release_retry(mgr);
  }
  pthread_mutex_unlock(&mgr->pass_mu);
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
