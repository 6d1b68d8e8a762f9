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

#include "array.h"
#include "hash.h"
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

/* The bucket of id among nb (a power of two). */
static size_t bucket_of(const char *id, size_t nb) {
  return (size_t)arec__hash_str(id) & (nb - 1);
}

/* Puts r at the head of its chain among nb buckets. */
static void link_runner(arec_agent **buckets, size_t nb, arec_agent *r) {
  size_t k = bucket_of(r->id, nb);
  r->hnext = buckets[k];
  buckets[k] = r;
}

arec_agent *arec__runner_find(arec_manager *mgr, const char *id) {
  if (!mgr->nbuckets || !id)
    return NULL;
  for (arec_agent *r = mgr->buckets[bucket_of(id, mgr->nbuckets)]; r;
       r = r->hnext)
    if (strcmp(r->id, id) == 0)
      return r;
  return NULL;
}

static int grow(arec_manager *mgr) {
  if (arec__array_room(&mgr->heap, &mgr->capheap, mgr->nrunners,
                       sizeof *mgr->heap, 64))
    return AREC_ENOMEM;
  if (mgr->nrunners + 1 > mgr->nbuckets) {
    size_t nb = mgr->nbuckets ? mgr->nbuckets * 2 : 64;
    arec_agent **b = calloc(nb, sizeof *b);
    if (!b)
      return AREC_ENOMEM;
    for (size_t i = 0; i < mgr->nbuckets; i++)
      for (arec_agent *r = mgr->buckets[i], *next; r; r = next) {
        next = r->hnext;
        link_runner(b, nb, r);
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
  link_runner(mgr->buckets, mgr->nbuckets, r);
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
  arec_agent **pp = &mgr->buckets[bucket_of(r->id, mgr->nbuckets)];
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
