/*
 * admin.c -- the memory repository's administration slots: agent create
 * (a random 12-character id when none is given), assign / unassign of
 * symbols, enable, soft delete, get, keyset-paged list, and the live pods.
 *
 * Agents stay in the store in creation order; a deleted one keeps its id
 * (create answers AREC_EEXIST) and its history but is invisible to every
 * read.  An unassigned symbol is hidden, not freed, so its history stays
 * readable; assigning it again starts it afresh.  A list collects the
 * matching agents after `after`, sorts them by id in byte order and keeps
 * `limit`.  Every slot passes the fault hooks and works under the store
 * mutex; records are malloc'd block by block for arec_agent_records_free.
 * It never prints and writes nothing when it refuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/random.h"
#include "memory/store.h"

#define M_REPO AREC_MEMORY_REPOSITORY

/* ------------------------------------------------------------------ create */
static void random_id(char out[13]) {
  static const char abc[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char b[12];
  size_t got = arec__random_bytes(b, sizeof b);
  for (size_t i = got; i < sizeof b; i++) /* no entropy: still an id */
    b[i] = (unsigned char)(arec__mem_mono_ms() >> (i % 8) ^ i * 37);
  for (size_t i = 0; i < 12; i++)
    out[i] = abc[b[i] % (sizeof abc - 1)];
  out[12] = '\0';
}

int arec__mem_agent_create(arec_repository *repo, const arec_agent_spec *spec,
                           char *out_id, size_t out_len) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st,
                                !spec || !spec->strategy || !spec->name ||
                                    !out_id || out_len < AREC_AGENT_ID_MAX + 1);
  if (rc)
    return rc;
  char gen[13];
  const char *id = spec->id;
  if (!id) {
    do
      random_id(gen);
    while (arec__mem_agent_find(st, gen));
    id = gen;
  }
  arec__mem_agent *a = NULL;
  if (arec__mem_agent_find(st, id)) {
    arec_error_set("memory repository: agent id %s is taken", id);
    rc = AREC_EEXIST;
    goto out;
  }
  rc = AREC_ENOMEM;
  if (!(a = calloc(1, sizeof *a)))
    goto out;
  a->id = strdup(id);
  a->strategy = strdup(spec->strategy);
  a->name = strdup(spec->name);
  a->params = strdup(spec->params ? spec->params : "{}");
  a->requires = spec->requires ? strdup(spec->requires) : NULL;
  a->user_id = spec->user_id;
  a->is_active = 1;
  a->created_wall = arec__mem_wall_ms();
  if (!a->id || !a->strategy || !a->name || !a->params ||
      (spec->requires && !a->requires))
    goto out;
  if (arec__array_room(&st->agents, &st->agentcap, st->nagents,
                       sizeof *st->agents, 16) ||
      arec__mem_map_put(&st->agent_index, id, a) != 0)
    goto out;
  st->agents[st->nagents++] = a;
  snprintf(out_id, out_len, "%s", id);
  a = NULL;
  rc = 0;
out:
  pthread_mutex_unlock(&st->mu);
  if (a)
    arec__mem_agent_free(a);
  return rc;
}

/* ---------------------------------------------------------------- symbols */
int arec__mem_agent_assign(arec_repository *repo, const char *agent_id,
                           const char *symbol, double budget) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st,
                                !agent_id || !symbol || !*symbol ||
                                    !(budget > 0));
  if (rc)
    return rc;
  arec__mem_agent *a = arec__mem_agent_live(st, agent_id);
  arec__mem_symbol *s = a ? arec__mem_symbol_any(a, symbol) : NULL;
  char *mem = strdup("{}");
  if (!a) {
    rc = AREC_ENOTFOUND;
  } else if (s && s->assigned) {
    rc = AREC_EEXIST;
  } else if (!mem) {
    rc = AREC_ENOMEM;
  } else if (s) { /* assigned before: start afresh, history kept */
    free(s->memory);
    s->memory = mem;
    mem = NULL;
  } else {
    if (arec__array_room(&a->symbols, &a->symcap, a->nsymbols,
                         sizeof *a->symbols, 4)) {
      rc = AREC_ENOMEM;
      goto out;
    }
    s = &a->symbols[a->nsymbols];
    memset(s, 0, sizeof *s);
    if (!(s->symbol = strdup(symbol))) {
      rc = AREC_ENOMEM;
      goto out;
    }
    s->memory = mem;
    mem = NULL;
    a->nsymbols++;
  }
  if (rc == 0) {
    s->assigned = 1;
    s->budget = budget;
    s->balance = budget;
    s->fence = 0;
    s->updated_wall = 0;
  }
out:
  pthread_mutex_unlock(&st->mu);
  free(mem);
  if (rc == AREC_ENOTFOUND)
    arec_error_set("memory repository: agent %s not found", agent_id);
  else if (rc == AREC_EEXIST)
    arec_error_set("memory repository: %s is assigned already", symbol);
  return rc;
}

int arec__mem_agent_unassign(arec_repository *repo, const char *agent_id,
                             const char *symbol) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st, !agent_id || !symbol);
  if (rc)
    return rc;
  arec__mem_agent *a = arec__mem_agent_live(st, agent_id);
  arec__mem_symbol *s = a ? arec__mem_symbol_find(a, symbol) : NULL;
  if (!s) {
    rc = AREC_ENOTFOUND;
    arec_error_set("memory repository: no symbol %s on agent %s", symbol,
                   agent_id);
  } else if (arec__mem_wanted(a) || arec__mem_owner_alive(st, a)) {
    rc = AREC_ECONFLICT;
    arec_error_set("memory repository: agent %s is wanted or running",
                   agent_id);
  } else {
    s->assigned = 0;
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

/* ------------------------------------------------------- active / delete */
int arec__mem_set_active(arec_repository *repo, const char *agent_id,
                         int active) {
  arec_memory_store *st;
  arec__mem_agent *a;
  int rc = arec__mem_repo_agent(repo, M_REPO, &st, !agent_id, agent_id, &a);
  if (rc)
    return rc;
  a->is_active = active != 0;
  pthread_mutex_unlock(&st->mu);
  return 0;
}

int arec__mem_agent_delete(arec_repository *repo, const char *agent_id) {
  arec_memory_store *st;
  arec__mem_agent *a;
  int rc = arec__mem_repo_agent(repo, M_REPO, &st, !agent_id, agent_id, &a);
  if (rc)
    return rc;
  a->deleted = 1;
  a->is_trading = 0;
  arec__mem_set_str(&a->migrate_to, NULL);
  pthread_mutex_unlock(&st->mu);
  return 0;
}

/* ---------------------------------------------------------------- records */
static int cmp_symbol(const void *x, const void *y) {
  return strcmp(((const arec_symbol_record *)x)->symbol,
                ((const arec_symbol_record *)y)->symbol);
}

static int dup_opt(char **dst, const char *src) {
  return src && !(*dst = strdup(src)) ? AREC_ENOMEM : 0;
}

/* Fills *r from a (mutex held); a partial record frees well. */
static int record_fill(arec_memory_store *st, arec_agent_record *r,
                       const arec__mem_agent *a, int with_symbols) {
  r->user_id = a->user_id;
  r->is_active = a->is_active;
  r->is_trading = a->is_trading;
  r->fence = a->fence;
  r->start_failures = a->start_failures;
  r->retry_at_ms = a->retry_at ? arec__mem_to_wall(st, a->retry_at) : 0;
  r->created_at_ms = a->created_wall;
  r->updated_at_ms = a->updated_wall;
  if (dup_opt(&r->id, a->id) || dup_opt(&r->strategy, a->strategy) ||
      dup_opt(&r->name, a->name) || dup_opt(&r->params, a->params) ||
      dup_opt(&r->requires, a->requires) ||
      dup_opt(&r->running_on, a->running_on) ||
      dup_opt(&r->running_incarnation, a->running_incarnation) ||
      dup_opt(&r->last_error, a->last_error))
    return AREC_ENOMEM;
  size_t n = arec__mem_nassigned(a);
  if (!with_symbols || n == 0)
    return 0;
  if (!(r->symbols = calloc(n, sizeof *r->symbols)))
    return AREC_ENOMEM;
  for (size_t i = 0; i < a->nsymbols; i++) {
    const arec__mem_symbol *s = &a->symbols[i];
    if (!s->assigned)
      continue;
    arec_symbol_record *o = &r->symbols[r->nsymbols++];
    o->budget = s->budget;
    o->balance = s->balance;
    o->fence = s->fence;
    o->updated_at_ms = s->updated_wall;
    if (dup_opt(&o->symbol, s->symbol) || dup_opt(&o->memory, s->memory))
      return AREC_ENOMEM;
  }
  qsort(r->symbols, r->nsymbols, sizeof *r->symbols, cmp_symbol);
  return 0;
}

int arec__mem_agent_get(arec_repository *repo, const char *agent_id,
                        arec_agent_record **out) {
  if (!agent_id || !out)
    return AREC_EINVAL;
  *out = NULL;
  arec_memory_store *st = arec__mem_repo_store(repo);
  int rc = arec__mem_enter(st, M_REPO);
  if (rc)
    return rc;
  arec_agent_record *r = NULL;
  const arec__mem_agent *a = arec__mem_agent_live(st, agent_id);
  if (!a)
    rc = AREC_ENOTFOUND;
  else if (!(r = calloc(1, sizeof *r)))
    rc = AREC_ENOMEM;
  else
    rc = record_fill(st, r, a, 1);
  pthread_mutex_unlock(&st->mu);
  if (rc) {
    arec_agent_records_free(r, 1);
    return rc == AREC_ENOTFOUND ? arec__mem_agent_missing(agent_id) : rc;
  }
  *out = r;
  return 0;
}

static int listed(const arec__mem_agent *a, const arec_agent_filter *f) {
  if (a->deleted || (f->after && strcmp(a->id, f->after) <= 0))
    return 0;
  if (f->user_id > 0 && a->user_id != f->user_id)
    return 0;
  if (f->running_on &&
      (!a->running_on || strcmp(a->running_on, f->running_on) != 0))
    return 0;
  if ((f->only & AREC_AGENTS_WANTED) && !(a->is_active && a->is_trading))
    return 0;
  if ((f->only & AREC_AGENTS_UNOWNED) && a->running_on)
    return 0;
  if ((f->only & AREC_AGENTS_BACKOFF) && a->start_failures == 0)
    return 0;
  return 1;
}

static int cmp_agent(const void *x, const void *y) {
  return strcmp((*(arec__mem_agent *const *)x)->id,
                (*(arec__mem_agent *const *)y)->id);
}

int arec__mem_agent_list(arec_repository *repo,
                         const arec_agent_filter *filter,
                         arec_agent_record **out, size_t *out_n) {
  if (!filter || !out || !out_n || filter->limit == 0)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  arec_memory_store *st = arec__mem_repo_store(repo);
  int rc = arec__mem_enter(st, M_REPO);
  if (rc)
    return rc;
  arec__mem_agent **m = malloc((st->nagents ? st->nagents : 1) * sizeof *m);
  arec_agent_record *v = NULL;
  size_t nm = 0, n = 0;
  if (!m) {
    rc = AREC_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < st->nagents; i++)
    if (listed(st->agents[i], filter))
      m[nm++] = st->agents[i];
  qsort(m, nm, sizeof *m, cmp_agent);
  n = nm < filter->limit ? nm : filter->limit;
  if (!(v = calloc(n ? n : 1, sizeof *v))) {
    rc = AREC_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = record_fill(st, &v[i], m[i], filter->with_symbols);
out:
  pthread_mutex_unlock(&st->mu);
  free(m);
  if (rc) {
    arec_agent_records_free(v, n);
    return rc;
  }
  *out = v;
  *out_n = n;
  return 0;
}

/* ------------------------------------------------------------------- pods */
static int cmp_pod(const void *x, const void *y) {
  return strcmp(((const arec_pod_record *)x)->name,
                ((const arec_pod_record *)y)->name);
}

int arec__mem_pod_list(arec_repository *repo, arec_pod_record **out,
                       size_t *out_n) {
  if (!out || !out_n)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  arec_memory_store *st = arec__mem_repo_store(repo);
  int rc = arec__mem_enter(st, M_REPO);
  if (rc)
    return rc;
  int64_t now = arec__mem_now(st);
  size_t n = 0, k = 0;
  for (const arec__mem_pod *p = st->pods; p; p = p->next)
    n += p->lease_until > now;
  arec_pod_record *v = calloc(n ? n : 1, sizeof *v);
  if (!v)
    rc = AREC_ENOMEM;
  for (const arec__mem_pod *p = st->pods; v && p && rc == 0; p = p->next) {
    if (p->lease_until <= now)
      continue;
    arec_pod_record *o = &v[k++];
    o->started_at_ms = p->started_wall;
    o->heartbeat_at_ms = p->heartbeat_wall;
    o->lease_until_ms = arec__mem_to_wall(st, p->lease_until);
    o->leaving = p->leaving;
    for (size_t i = 0; i < st->nagents; i++)
      o->agents += !st->agents[i]->deleted && st->agents[i]->running_on &&
                   strcmp(st->agents[i]->running_on, p->name) == 0;
    if (dup_opt(&o->name, p->name) || dup_opt(&o->incarnation, p->incarnation))
      rc = AREC_ENOMEM;
  }
  pthread_mutex_unlock(&st->mu);
  if (rc) {
    arec_pod_records_free(v, k);
    return rc;
  }
  qsort(v, k, sizeof *v, cmp_pod);
  *out = v;
  *out_n = k;
  return 0;
}
