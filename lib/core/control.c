/*
 * control.c -- the user's start and stop of one agent
 * (arec_manager_start_agent / arec_manager_stop_agent).
 *
 * Start reads the agent first (agent_get): an agent whose type is not
 * registered here is refused before anything is written.  Then it records
 * the wish (set_trading 1, which also ends a backoff wait), answers
 * AREC_EPLACEMENT when this pod lacks the capability the agent requires,
 * and otherwise runs the agent here when it has no live owner and its lock
 * is free: lock, fenced claim, launch, serialised with reconcile passes by
 * mgr->pass_mu.  A start() refusing permanently is released without
 * backoff and the wish is put back as it was (AREC_EREFUSED); refusing
 * with AREC_EUNAVAILABLE / AREC_ETIMEDOUT puts the agent in backoff and
 * keeps the wish.  Stop clears the wish and only marks a local runner (so
 * it may be called from inside a step); the worker finalizes it.
 *
 * Must never: run an agent without its lock, or change the wish when it
 * answers AREC_EREFUSED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "pass.h"
#include "release.h"
#include "runner.h"
#include "share.h"
#include "table.h"
#include "threads.h"

/* What start needs to know about the agent before it writes anything. */
typedef struct known {
  int have;      /* the repository could tell (agent_get) */
  int was;       /* is_trading before */
  int noted;     /* it had a last_error */
  char *requires;
} known;

static int refuse_type(const char *strategy) {
  arec_error_set("no agent type \"%s\" registered on this pod",
                 strategy ? strategy : "");
  return AREC_EREFUSED;
}

static int know(arec_manager *mgr, const char *id, known *k) {
  int (*get)(arec_repository *, const char *, arec_agent_record **) =
      AREC__V3(mgr->repo, agent_get);
  memset(k, 0, sizeof *k);
  if (!get)
    return 0;
  arec_agent_record *rec = NULL;
  int rc = get(mgr->repo, id, &rec);
  if (rc < 0)
    return rc;
  pthread_mutex_lock(&mgr->mu);
  int typed = arec__type_find(mgr, rec->strategy) != NULL;
  pthread_mutex_unlock(&mgr->mu);
  if (!typed) {
    rc = refuse_type(rec->strategy);
  } else {
    k->have = 1;
    k->was = rec->is_trading;
    k->noted = rec->last_error != NULL;
    if (rec->requires && !(k->requires = strdup(rec->requires)))
      rc = AREC_ENOMEM;
  }
  arec_agent_records_free(rec, 1);
  return rc;
}

static int placement(arec_manager *mgr, const char *id, const char *requires,
                     int noted) {
  if (arec__offers(mgr, requires))
    return 0;
  if (!noted)
    arec__backoff_note_placement(mgr, id, requires);
  arec_error_set("this pod does not offer \"%s\", which agent %s requires",
                 requires, id);
  return AREC_EPLACEMENT;
}

/* Lock, claim, launch one listed row (pass_mu held). */
static int run_here(arec_manager *mgr, const arec_agent_row *row,
                    arec__launch *l) {
  char key[AREC__KEY_MAX];
  arec_lease lease;
  uint64_t fence = 0;
  arec__lock_key(key, row->id);
  memset(&lease, 0, sizeof lease);
  pthread_mutex_lock(&mgr->mu);
  int pod_ok = arec__pod_valid(mgr, arec__now_ms());
  pthread_mutex_unlock(&mgr->mu);
  int rc = pod_ok ? mgr->lock->try_acquire(mgr->lock, key, mgr->owner,
                                           mgr->ttl, &lease)
                  : AREC_EUNAVAILABLE;
  int64_t deadline = arec__now_ms() + lease.validity_ms;
  if (rc != 1) {
    atomic_fetch_add(&mgr->m.acquire_failed, 1);
    if (rc == 0)
      arec_error_set("agent %s is locked by another pod", row->id);
    return rc == 0 ? AREC_ELOCKED : AREC_EUNAVAILABLE;
  }
  atomic_fetch_add(&mgr->m.acquire, 1);
  atomic_fetch_add(&mgr->m.lock_held, 1);
  double claim_at = arec__now_s();
  rc = mgr->repo->claim(mgr->repo, mgr->pod, mgr->incarnation, row->id,
                        &fence);
  if (rc < 0) {
    arec__release_now(mgr, row->id, 0, 0, key, &lease, 1);
    /* wanted a moment ago: a migration hold names another pod */
    return rc == AREC_ECONFLICT ? AREC_ELOCKED : rc;
  }
  if (row->error < 0) { /* unreadable row: backoff, fenced */
    const char *why =
        row->error_text ? row->error_text : arec_strerror(row->error);
    arec__backoff_failed(mgr, row->id, fence, why, key, &lease, 1);
    arec_error_set("%s", why);
    return row->error;
  }
  l->row = row;
  l->lease = &lease;
  l->deadline = deadline;
  l->fence = fence;
  l->claim_at = claim_at;
  l->user = 1;
  return arec__runner_launch(mgr, l);
}

int arec_manager_start_agent(arec_manager *mgr, const char *agent_id) {
  struct arec_agent_list *list = NULL;
  arec__launch l;
  known k;
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
  if ((rc = know(mgr, agent_id, &k)) < 0)
    return rc;
  rc = mgr->repo->set_trading(mgr->repo, agent_id, 1);
  if (rc == 0 && k.have)
    rc = placement(mgr, agent_id, k.requires, k.noted);
  if (rc < 0) {
    free(k.requires);
    return rc;
  }

  pthread_mutex_lock(&mgr->pass_mu);
  pthread_mutex_lock(&mgr->mu);
  arec_agent *r = arec__runner_find(mgr, agent_id);
  int local = r && !atomic_load(&r->cancel);
  down = mgr->shutting_down;
  pthread_mutex_unlock(&mgr->mu);
  if (down) {
    rc = AREC_ESHUTDOWN;
  } else if (local) {
    rc = 0;
  } else if (r) { /* still stopping here */
    rc = AREC_ELOCKED;
  } else if ((rc = mgr->repo->agents_to_restore(mgr->repo, agent_id,
                                                &list)) < 0 ||
             !list) {
    rc = AREC_EUNAVAILABLE;
  } else if (list->n == 0 || !list->rows[0].id) {
    arec_error_set("agent %s runs on another pod", agent_id);
    rc = AREC_ELOCKED;
  } else if (!k.have && list->rows[0].error == 0 &&
             (rc = placement(mgr, agent_id, list->rows[0].requires, 1)) < 0) {
    /* a repository without agent_get: placement known only now */
  } else {
    l.refused = 0;
    l.why[0] = '\0';
    rc = run_here(mgr, &list->rows[0], &l);
    if (rc == 0) {
      arec__logkv(mgr, AREC_LOG_INFO, "agent started", "agent_id", agent_id,
                  NULL);
    } else if (l.refused) {
      /* refused permanently: put the wish back, say why */
      arec__logkv(mgr, AREC_LOG_WARN, "agent start refused", "agent_id",
                  agent_id, "error", l.why, NULL);
      if (k.have && !k.was)
        mgr->repo->set_trading(mgr->repo, agent_id, 0);
      arec_error_set("%s", l.why);
      rc = AREC_EREFUSED;
    }
  }
  pthread_mutex_unlock(&mgr->pass_mu);
  arec_agent_list_free(list);
  free(k.requires);
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
