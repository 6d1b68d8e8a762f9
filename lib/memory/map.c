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
#include "core/hash.h"
#include "memory/store.h"

/* The bucket of key among cap (a power of two). */
static size_t bucket_of(const char *key, size_t cap) {
  return (size_t)arec__hash_str(key) & (cap - 1);
}

/* Puts e at the head of its chain among cap buckets. */
static void link_entry(arec__mem_entry **buckets, size_t cap,
                       arec__mem_entry *e) {
  size_t b = bucket_of(e->key, cap);
  e->next = buckets[b];
  buckets[b] = e;
}

void *arec__mem_map_get(const arec__mem_map *m, const char *key) {
  if (m->cap == 0)
    return NULL;
  for (arec__mem_entry *e = m->buckets[bucket_of(key, m->cap)]; e;
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
  for (size_t i = 0; i < m->cap; i++)
    for (arec__mem_entry *e = m->buckets[i], *next; e; e = next) {
      next = e->next;
      link_entry(nb, ncap, e);
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
  link_entry(m->buckets, m->cap, e);
  m->n++;
  return 0;
}

void *arec__mem_map_del(arec__mem_map *m, const char *key) {
  if (m->cap == 0)
    return NULL;
  arec__mem_entry **pp = &m->buckets[bucket_of(key, m->cap)];
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
