/*
 * table.c -- the runner table: a hash map by agent id with power-of-two
 * buckets (FNV-1a), grown together with the timer heap's array so that a
 * push onto the heap never allocates; the registered agent types; the lock
 * key of an agent; marking a runner to stop; a runner's snapshot.
 *
 * Invariants: a runner is in the table from just before type->start until
 * it is freed; removing it also takes it out of the heap and the saver's
 * dirty list.  Never calls a backend; only arec__runner_snapshot calls the
 * agent type, and never with mgr->mu held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "table.h"

#define LOCK_PREFIX "agent:lock:"

void arec__lock_key(char *out, const char *id) {
  snprintf(out, AREC__KEY_MAX, LOCK_PREFIX "%s", id);
}

const char *arec__lock_key_id(const char *key) {
  return key + sizeof LOCK_PREFIX - 1;
}

const arec_agent_type *arec__type_find(arec_manager *mgr, const char *name) {
  for (size_t i = 0; name && i < mgr->ntypes; i++)
    if (strcmp(mgr->types[i]->name, name) == 0)
      return mgr->types[i];
  return NULL;
}

static size_t hash_id(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return (size_t)h;
}

arec_agent *arec__runner_find(arec_manager *mgr, const char *id) {
  if (!mgr->nbuckets || !id)
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

void arec__dirty_drop(arec_manager *mgr, arec_agent *r) {
  if (!r->in_dirty)
    return;
  for (size_t i = 0; i < mgr->ndirty; i++)
    if (mgr->dirty[i] == r) {
      mgr->dirty[i] = mgr->dirty[--mgr->ndirty];
      break;
    }
  r->in_dirty = 0;
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
  arec__dirty_drop(mgr, r);
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
  arec__lock_key(r->key, id);
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
  free(r->fail_text);
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
