/*
 * repository.c -- the memory repository: the repository vtable
 * (agentrecover/sys/repository.h) over an arec_memory_store, and its slots
 * of the run protocol: agents_to_restore, unwanted, claim, saves,
 * releases, heartbeat, set_trading, fleet, pod_leaving, migrate.  The
 * administration slots are in admin.c, backoff and errors in backoff.c,
 * roles in role.c.
 *
 * Every slot passes the store's fault hooks (arec__mem_enter), then works
 * under the store mutex, so a save and a claim are atomic against each
 * other exactly as the PostgreSQL repository's row locks make them: a save
 * either lands before a claim or is refused with AREC_EFENCED.  Pod
 * liveness and backoff waits use the store's clock.  The fleet counts live
 * pods that are not leaving, wanted agents and those of them in backoff; a
 * migration hold lets only its target pod claim the agent while the target
 * is live and the hold lasts.  A deleted agent is never listed or claimed
 * and unwanted() answers 1 for it.  It never prints, never aborts, and
 * writes nothing when it refuses.
 */
#include <stdlib.h>
#include <string.h>

#include "agentrecover/sys/repository.h"
#include "memory/store.h"

typedef struct mem_repo {
  arec_repository parent;
  arec_memory_store *st;
} mem_repo;

#define REPO(r) (((mem_repo *)(r))->st)
#define M_REPO AREC_MEMORY_REPOSITORY
#define M_SAVE (AREC_MEMORY_REPOSITORY | AREC_MEMORY_SAVE)


arec_memory_store *arec__mem_repo_store(arec_repository *repo) {
  return REPO(repo);
}

int arec__mem_repo_enter(arec_repository *repo, int mask,
                         arec_memory_store **st, int bad) {
  *st = REPO(repo);
  return arec__mem_enter_checked(*st, mask, bad);
}

int arec__mem_repo_agent(arec_repository *repo, int mask,
                         arec_memory_store **st, int bad,
                         const char *agent_id, arec__mem_agent **a) {
  int rc = arec__mem_repo_enter(repo, mask, st, bad);
  if (rc)
    return rc;
  if (!(*a = arec__mem_agent_live(*st, agent_id))) {
    pthread_mutex_unlock(&(*st)->mu);
    return arec__mem_agent_missing(agent_id);
  }
  return 0;
}

/* A live pod row that is not leaving? mutex held. */
static int pod_live(const arec_memory_store *st, const char *name) {
  const arec__mem_pod *p = arec__mem_pod_find(st, name);
  return p && !p->leaving && p->lease_until > arec__mem_now(st);
}

/* The agent's migration target while its hold is in force, else NULL. */
static const char *hold_of(const arec_memory_store *st,
                           const arec__mem_agent *a) {
  if (!a->migrate_to || a->migrate_until <= arec__mem_now(st) ||
      !pod_live(st, a->migrate_to))
    return NULL;
  return a->migrate_to;
}

/* ------------------------------------------------------ agents_to_restore */
static int dup_opt(char **dst, const char *src) {
  return src && !(*dst = strdup(src)) ? AREC_ENOMEM : 0;
}

static int row_fill(arec_agent_row *r, const arec__mem_agent *a) {
  r->user_id = a->user_id;
  r->start_failures = a->start_failures;
  r->orphaned = a->running_on != NULL; /* listed only without a live owner */
  if (!(r->id = strdup(a->id)) || !(r->strategy = strdup(a->strategy)) ||
      !(r->name = strdup(a->name)) || dup_opt(&r->params, a->params) ||
      dup_opt(&r->requires, a->requires) ||
      dup_opt(&r->last_error, a->last_error))
    return AREC_ENOMEM;
  if (a->poison) { /* the test hook: a row that cannot be read whole */
    r->error = AREC_EBACKEND;
    return dup_opt(&r->error_text, a->poison);
  }
  r->symbols = calloc(a->nsymbols ? a->nsymbols : 1, sizeof *r->symbols);
  if (!r->symbols)
    return AREC_ENOMEM;
  for (size_t i = 0; i < a->nsymbols; i++) {
    if (!a->symbols[i].assigned)
      continue;
    arec_symbol *s = &r->symbols[r->nsymbols++]; /* partial rows free well */
    s->budget = a->symbols[i].budget;
    s->balance = a->symbols[i].balance;
    if (!(s->symbol = strdup(a->symbols[i].symbol)) ||
        !(s->memory = strdup(a->symbols[i].memory)))
      return AREC_ENOMEM;
  }
  return 0;
}

/* Listed by agents_to_restore: wanted, no live owner, no backoff wait. */
static int restorable(const arec_memory_store *st, const arec__mem_agent *a,
                      const char *only_id) {
  return (!only_id || strcmp(only_id, a->id) == 0) && arec__mem_wanted(a) &&
         !arec__mem_owner_alive(st, a) &&
         (a->retry_at == 0 || a->retry_at <= arec__mem_now(st));
}

static int repo_agents_to_restore(arec_repository *repo, const char *only_id,
                                  struct arec_agent_list **out) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  arec_memory_store *st = REPO(repo);
  int rc = arec__mem_enter(st, M_REPO);
  if (rc)
    return rc;
  struct arec_agent_list *list = calloc(1, sizeof *list);
  size_t count = 0;
  if (!list) {
    rc = AREC_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < st->nagents; i++)
    count += restorable(st, st->agents[i], only_id) != 0;
  if (count && !(list->rows = calloc(count, sizeof *list->rows))) {
    rc = AREC_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < st->nagents && list->n < count; i++) {
    const arec__mem_agent *a = st->agents[i];
    if (!restorable(st, a, only_id))
      continue;
    if ((rc = row_fill(&list->rows[list->n++], a)) != 0)
      goto out;
  }
out:
  pthread_mutex_unlock(&st->mu);
  if (rc) {
    arec_agent_list_free(list);
    arec_error_set("memory repository: agents_to_restore: %s",
                   arec_strerror(rc));
    return rc;
  }
  *out = list;
  return 0;
}

/* --------------------------------------------------------------- unwanted */
static int repo_unwanted(arec_repository *repo, const char *pod,
                         const char *incarnation, const char *const *ids,
                         size_t n, unsigned char *out_unwanted) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st,
                                !pod || !incarnation ||
                                    (n && (!ids || !out_unwanted)));
  if (rc)
    return rc;
  for (size_t i = 0; i < n; i++) {
    const arec__mem_agent *a = arec__mem_agent_find(st, ids[i]);
    if (!a || !arec__mem_wanted(a))
      out_unwanted[i] = 1;
    else if (!a->running_on || strcmp(a->running_on, pod) != 0 ||
             !a->running_incarnation ||
             strcmp(a->running_incarnation, incarnation) != 0)
      out_unwanted[i] = 2;
    else if (hold_of(st, a) && strcmp(hold_of(st, a), pod) != 0)
      out_unwanted[i] = 3;
    else
      out_unwanted[i] = 0;
  }
  pthread_mutex_unlock(&st->mu);
  return 0;
}

/* ------------------------------------------------------------------ claim */
static int claim_one(arec_memory_store *st, const char *pod,
                     const char *incarnation, const char *id,
                     uint64_t *out_fence) {
  arec__mem_agent *a = arec__mem_agent_live(st, id);
  if (!a)
    return AREC_ENOTFOUND;
  if (!arec__mem_wanted(a))
    return AREC_ECONFLICT;
  /* a pass that listed the agent before another pod's failed start put it
   * in backoff must not claim it: one claim per attempt, fleet-wide */
  if (a->retry_at != 0 && a->retry_at > arec__mem_now(st)) {
    arec_error_set("memory repository: agent %s is in backoff", id);
    return AREC_ECONFLICT;
  }
  const char *hold = hold_of(st, a);
  if (hold && strcmp(hold, pod) != 0) {
    arec_error_set("memory repository: agent %s is migrating to %s", id, hold);
    return AREC_ECONFLICT;
  }
  char *p = strdup(pod), *inc = strdup(incarnation);
  if (!p || !inc) {
    free(p);
    free(inc);
    return AREC_ENOMEM;
  }
  free(a->running_on);
  free(a->running_incarnation);
  a->running_on = p;
  a->running_incarnation = inc;
  arec__mem_set_str(&a->migrate_to, NULL); /* the hold ends with any claim */
  *out_fence = ++a->fence;
  return 0;
}

static int repo_claim(arec_repository *repo, const char *pod,
                      const char *incarnation, const char *agent_id,
                      uint64_t *out_fence) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st,
                                !pod || !*pod || !incarnation || !agent_id ||
                                    !out_fence);
  if (rc)
    return rc;
  rc = claim_one(st, pod, incarnation, agent_id, out_fence);
  pthread_mutex_unlock(&st->mu);
  return rc;
}

static int repo_claim_many(arec_repository *repo, const char *pod,
                           const char *incarnation, const char *const *ids,
                           size_t n, uint64_t *out_fences, int *out_results) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(
      repo, M_REPO, &st,
      !pod || !*pod || !incarnation ||
          (n && (!ids || !out_fences || !out_results)));
  if (rc)
    return rc;
  for (size_t i = 0; i < n; i++) {
    out_fences[i] = 0;
    out_results[i] = ids[i] ? claim_one(st, pod, incarnation, ids[i],
                                        &out_fences[i])
                            : AREC_EINVAL;
  }
  pthread_mutex_unlock(&st->mu);
  return 0;
}

/* ------------------------------------------------------------------- save */
static int save_one(arec_memory_store *st, const arec_save *sv) {
  if (!sv || !sv->agent_id || (sv->nstates && !sv->states))
    return AREC_EINVAL;
  arec__mem_agent *a = arec__mem_agent_find(st, sv->agent_id);
  if (!a)
    return AREC_ENOTFOUND;
  if (sv->fence == 0 || sv->fence != a->fence)
    return AREC_EFENCED;
  /* check and copy everything first: a refused save writes nothing */
  char **mem = calloc(sv->nstates ? sv->nstates : 1, sizeof *mem);
  if (!mem)
    return AREC_ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < sv->nstates && rc == 0; i++) {
    if (!arec__mem_symbol_find(a, sv->states[i].symbol))
      rc = AREC_ENOTFOUND;
    else if (!(mem[i] = strdup(sv->states[i].memory ? sv->states[i].memory
                                                     : "{}")))
      rc = AREC_ENOMEM;
  }
  for (size_t i = 0; i < sv->nstates; i++) {
    arec__mem_symbol *s = arec__mem_symbol_find(a, sv->states[i].symbol);
    if (rc == 0 && s) {
      free(s->memory);
      s->memory = mem[i];
      s->balance = sv->states[i].balance;
      s->fence = sv->fence;
      s->updated_wall = arec__mem_wall_ms();
      a->updated_wall = s->updated_wall;
      if (arec__mem_history_push(s, sv->fence) != 0)
        rc = AREC_ENOMEM; /* state written, one history row missing */
    } else {
      free(mem[i]);
    }
  }
  free(mem);
  return rc;
}

static int repo_save_state(arec_repository *repo, const arec_save *save) {
  arec_memory_store *st = REPO(repo);
  int rc = arec__mem_enter(st, M_SAVE);
  if (rc)
    return rc;
  rc = save_one(st, save);
  pthread_mutex_unlock(&st->mu);
  return rc;
}

static int repo_save_many(arec_repository *repo, const arec_save *saves,
                          size_t n, int *out_results) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_SAVE, &st,
                                n && (!saves || !out_results));
  if (rc)
    return rc;
  for (size_t i = 0; i < n; i++)
    out_results[i] = save_one(st, &saves[i]);
  pthread_mutex_unlock(&st->mu);
  return 0;
}

/* ---------------------------------------------------------------- release */
static int release_one(arec_memory_store *st, const char *id, uint64_t fence) {
  if (!id)
    return AREC_EINVAL;
  arec__mem_agent *a = arec__mem_agent_find(st, id);
  if (!a)
    return AREC_ENOTFOUND;
  if (fence == 0 || fence != a->fence)
    return AREC_EFENCED;
  arec__mem_set_str(&a->running_on, NULL);
  arec__mem_set_str(&a->running_incarnation, NULL);
  a->fence++;
  return 0;
}

static int repo_release(arec_repository *repo, const char *agent_id,
                        uint64_t fence) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st, !agent_id);
  if (rc)
    return rc;
  rc = release_one(st, agent_id, fence);
  pthread_mutex_unlock(&st->mu);
  return rc;
}

static int repo_release_many(arec_repository *repo, const char *const *ids,
                             const uint64_t *fences, size_t n,
                             int *out_results) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st,
                                n && (!ids || !fences || !out_results));
  if (rc)
    return rc;
  for (size_t i = 0; i < n; i++)
    out_results[i] = release_one(st, ids[i], fences[i]);
  pthread_mutex_unlock(&st->mu);
  return 0;
}

/* -------------------------------------------------------------- heartbeat */
static int repo_heartbeat(arec_repository *repo, const char *pod,
                          const char *incarnation, int64_t lease_ms,
                          int leaving) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(
      repo, M_REPO, &st,
      !pod || !*pod || (!leaving && (!incarnation || lease_ms < 0)));
  if (rc)
    return rc;
  arec__mem_pod **pp = &st->pods;
  while (*pp && strcmp((*pp)->name, pod) != 0)
    pp = &(*pp)->next;
  if (leaving) {
    if (*pp) {
      arec__mem_pod *p = *pp;
      *pp = p->next;
      free(p->name);
      free(p->incarnation);
      free(p);
    }
  } else {
    arec__mem_pod *p = *pp;
    if (!p) {
      p = calloc(1, sizeof *p);
      if (!p || !(p->name = strdup(pod))) {
        free(p);
        rc = AREC_ENOMEM;
        goto out;
      }
      if (arec__mem_set_str(&p->incarnation, incarnation) != 0) {
        free(p->name);
        free(p);
        rc = AREC_ENOMEM;
        goto out;
      }
      p->next = st->pods;
      st->pods = p;
      p->started_wall = arec__mem_wall_ms();
    } else if (strcmp(p->incarnation, incarnation) != 0) {
      if (arec__mem_set_str(&p->incarnation, incarnation) != 0) {
        rc = AREC_ENOMEM;
        goto out;
      }
      p->leaving = 0;
      p->started_wall = arec__mem_wall_ms();
    }
    p->lease_until = arec__mem_now(st) + lease_ms;
    p->heartbeat_wall = arec__mem_wall_ms();
  }
out:
  pthread_mutex_unlock(&st->mu);
  return rc;
}

/* ------------------------------------------------------------ set_trading */
static int repo_set_trading(arec_repository *repo, const char *agent_id,
                            int want) {
  arec_memory_store *st;
  arec__mem_agent *a;
  int rc = arec__mem_repo_agent(repo, M_REPO, &st, !agent_id, agent_id, &a);
  if (rc)
    return rc;
  if (want && (arec__mem_nassigned(a) == 0 || !a->is_active)) {
    rc = AREC_ECONFLICT;
    arec_error_set("memory repository: agent %s has no symbol or is disabled",
                   agent_id);
  } else {
    a->is_trading = want != 0;
    if (want)
      a->retry_at = 0; /* a user's start ends the backoff wait */
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

/* ------------------------------------------------------ fleet (version 2) */
static int repo_fleet(arec_repository *repo, arec_fleet *out) {
  if (!out)
    return AREC_EINVAL;
  memset(out, 0, sizeof *out);
  arec_memory_store *st = REPO(repo);
  int rc = arec__mem_enter(st, M_REPO);
  if (rc)
    return rc;
  for (const arec__mem_pod *p = st->pods; p; p = p->next)
    if (!p->leaving && p->lease_until > arec__mem_now(st))
      out->live_pods++;
  size_t nm = 0;
  for (size_t i = 0; i < st->nagents; i++) {
    if (arec__mem_wanted(st->agents[i])) {
      out->wanted++;
      if (st->agents[i]->start_failures > 0)
        out->backoff++;
    }
    if (!st->agents[i]->deleted && hold_of(st, st->agents[i]))
      nm++;
  }
  if (nm && !(out->migrations = calloc(nm, sizeof *out->migrations)))
    rc = AREC_ENOMEM;
  for (size_t i = 0; rc == 0 && i < st->nagents; i++) {
    const char *to = st->agents[i]->deleted ? NULL : hold_of(st, st->agents[i]);
    if (!to)
      continue;
    arec_migration *m = &out->migrations[out->nmigrations++];
    if (!(m->agent_id = strdup(st->agents[i]->id)) ||
        !(m->to_pod = strdup(to)))
      rc = AREC_ENOMEM;
  }
  pthread_mutex_unlock(&st->mu);
  if (rc)
    arec_fleet_clear(out);
  return rc;
}

static int repo_pod_leaving(arec_repository *repo, const char *pod,
                            const char *incarnation) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st, !pod || !incarnation);
  if (rc)
    return rc;
  for (arec__mem_pod *p = st->pods; p; p = p->next)
    if (strcmp(p->name, pod) == 0 && strcmp(p->incarnation, incarnation) == 0)
      p->leaving = 1;
  pthread_mutex_unlock(&st->mu);
  return 0;
}

static int repo_migrate(arec_repository *repo, const char *agent_id,
                        const char *to_pod, int64_t hold_ms) {
  arec_memory_store *st;
  arec__mem_agent *a;
  int rc = arec__mem_repo_agent(
      repo, M_REPO, &st, !agent_id || !to_pod || !*to_pod || hold_ms <= 0,
      agent_id, &a);
  if (rc)
    return rc;
  if (!arec__mem_wanted(a)) {
    rc = AREC_ECONFLICT;
    arec_error_set("memory repository: agent %s is not trading", agent_id);
  } else if (!pod_live(st, to_pod)) {
    rc = AREC_ECONFLICT;
    arec_error_set("memory repository: pod %s is not live", to_pod);
  } else if (a->running_on && strcmp(a->running_on, to_pod) == 0 &&
             arec__mem_owner_alive(st, a)) {
    rc = arec__mem_set_str(&a->migrate_to, NULL); /* already there */
  } else if ((rc = arec__mem_set_str(&a->migrate_to, to_pod)) == 0) {
    a->migrate_until = arec__mem_now(st) + hold_ms;
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

/* ------------------------------------------------------------------- free */
static void repo_free(arec_repository *repo) {
  if (!repo)
    return;
  arec__mem_unref(REPO(repo));
  free(repo);
}

static const arec_repository mem_repo_methods = {
    AREC_REPOSITORY_VERSION,
    repo_agents_to_restore,
    repo_unwanted,
    repo_claim,
    repo_save_state,
    repo_release,
    repo_heartbeat,
    repo_set_trading,
    repo_claim_many,
    repo_save_many,
    repo_release_many,
    repo_free,
    /* version 2 */
    repo_fleet,
    repo_pod_leaving,
    repo_migrate,
    /* version 3 */
    arec__mem_start_failed,
    arec__mem_start_ok,
    arec__mem_set_error,
    arec__mem_agent_create,
    arec__mem_agent_assign,
    arec__mem_agent_unassign,
    arec__mem_set_active,
    arec__mem_agent_delete,
    arec__mem_agent_get,
    arec__mem_agent_list,
    arec__mem_pod_list,
    arec__mem_role_claim,
    arec__mem_role_keep,
    arec__mem_role_release,
    arec__mem_role_check};

int arec_memory_repository_new(arec_repository **out,
                               arec_memory_store *store) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!store)
    return AREC_EINVAL;
  mem_repo *r = calloc(1, sizeof *r);
  if (!r)
    return AREC_ENOMEM;
  r->parent = mem_repo_methods;
  r->st = store;
  arec__mem_ref(store);
  *out = &r->parent;
  return 0;
}
