/*
 * map.c -- the string-keyed hash map of the memory store (agents by id, lock
 * values by key).  Separate chaining, FNV-1a, power-of-two bucket count that
 * doubles when the load passes 1.  Not thread-safe by itself: the store's
 * mutex guards every call.  It never owns values: clear() hands each one to
 * the caller's destructor.
 */
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"
#include "memory/store.h"

static size_t hash(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return (size_t)h;
}

void *arec__mem_map_get(const arec__mem_map *m, const char *key) {
  if (m->cap == 0)
    return NULL;
  for (arec__mem_entry *e = m->buckets[hash(key) & (m->cap - 1)]; e;
       e = e->next)
    if (strcmp(e->key, key) == 0)
      return e->val;
  return NULL;
}

static int grow(arec__mem_map *m) {
  size_t ncap = m->cap ? m->cap * 2 : 64;
  arec__mem_entry **nb = calloc(ncap, sizeof *nb);
  if (!nb)
    return AREC_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    arec__mem_entry *e = m->buckets[i];
    while (e) {
      arec__mem_entry *next = e->next;
      size_t b = hash(e->key) & (ncap - 1);
      e->next = nb[b];
      nb[b] = e;
      e = next;
    }
  }
  free(m->buckets);
  m->buckets = nb;
  m->cap = ncap;
  return 0;
}

int arec__mem_map_put(arec__mem_map *m, const char *key, void *val) {
  if (m->n >= m->cap && grow(m) != 0)
    return AREC_ENOMEM;
  arec__mem_entry *e = malloc(sizeof *e);
  if (!e)
    return AREC_ENOMEM;
  e->key = strdup(key);
  if (!e->key) {
    free(e);
    return AREC_ENOMEM;
  }
  e->val = val;
  size_t b = hash(key) & (m->cap - 1);
  e->next = m->buckets[b];
  m->buckets[b] = e;
  m->n++;
  return 0;
}

void *arec__mem_map_del(arec__mem_map *m, const char *key) {
  if (m->cap == 0)
    return NULL;
  arec__mem_entry **pp = &m->buckets[hash(key) & (m->cap - 1)];
  for (; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->key, key) == 0) {
      arec__mem_entry *e = *pp;
      void *val = e->val;
      *pp = e->next;
      free(e->key);
      free(e);
      m->n--;
      return val;
    }
  }
  return NULL;
}

void arec__mem_map_clear(arec__mem_map *m, void (*fn)(void *)) {
  for (size_t i = 0; i < m->cap; i++) {
    arec__mem_entry *e = m->buckets[i];
    while (e) {
      arec__mem_entry *next = e->next;
      if (fn)
        fn(e->val);
      free(e->key);
      free(e);
      e = next;
    }
  }
  free(m->buckets);
  m->buckets = NULL;
  m->cap = 0;
  m->n = 0;
}
