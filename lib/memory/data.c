/*
 * data.c -- the test side of the memory store (memory.h): make an agent's
 * row unreadable, read states and history back, expire pods, and look at or
 * tamper with lock keys.  (Agents are created and changed through the
 * repository's administration slots, like on any backend.)
 *
 * These functions bypass the fault hooks (they are the test's own hands, not
 * a backend call) and take the store mutex for every access.  They never
 * print or abort; copies handed out are malloc'd and freed by the caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/store.h"

/* ----------------------------------------------------------------- agents */
int arec_memory_agent_poison(arec_memory_store *st, const char *id,
                             const char *reason) {
  if (!st || !id)
    return AREC_EINVAL;
  pthread_mutex_lock(&st->mu);
  arec__mem_agent *a = arec__mem_agent_find(st, id);
  int rc = a ? arec__mem_set_str(&a->poison, reason) : AREC_ENOTFOUND;
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec_memory_state_get(arec_memory_store *st, const char *id,
                          const char *symbol, double *out_balance,
                          char **out_memory, uint64_t *out_fence) {
  if (out_memory)
    *out_memory = NULL;
  if (!st || !id || !symbol)
    return AREC_EINVAL;
  int rc = 0;
  pthread_mutex_lock(&st->mu);
  arec__mem_agent *a = arec__mem_agent_find(st, id);
  arec__mem_symbol *s = a ? arec__mem_symbol_find(a, symbol) : NULL;
  if (!s) {
    rc = AREC_ENOTFOUND;
  } else {
    if (out_balance)
      *out_balance = s->balance;
    if (out_fence)
      *out_fence = s->fence;
    if (out_memory && !(*out_memory = strdup(s->memory)))
      rc = AREC_ENOMEM;
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec_memory_history(arec_memory_store *st, const char *id,
                        const char *symbol, uint64_t *out_fences, size_t max,
                        size_t *out_n) {
  if (out_n)
    *out_n = 0;
  if (!st || !id || !symbol)
    return AREC_EINVAL;
  pthread_mutex_lock(&st->mu);
  arec__mem_agent *a = arec__mem_agent_find(st, id);
  arec__mem_symbol *s = a ? arec__mem_symbol_any(a, symbol) : NULL;
  if (s) {
    for (size_t i = 0; out_fences && i < s->hist_n && i < max; i++)
      out_fences[i] = s->hist[(s->hist_head + i) % s->hist_cap];
    if (out_n)
      *out_n = s->hist_n;
  }
  pthread_mutex_unlock(&st->mu);
  return s ? 0 : AREC_ENOTFOUND;
}

/* ------------------------------------------------------------------- pods */
int arec_memory_pod_expire(arec_memory_store *st, const char *pod) {
  if (!st || !pod)
    return AREC_EINVAL;
  int rc = AREC_ENOTFOUND;
  pthread_mutex_lock(&st->mu);
  for (arec__mem_pod *p = st->pods; p; p = p->next)
    if (strcmp(p->name, pod) == 0) {
      p->lease_until = arec__mem_now(st) - 1;
      rc = 0;
    }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec_memory_pod_alive(arec_memory_store *st, const char *pod) {
  if (!st || !pod)
    return 0;
  pthread_mutex_lock(&st->mu);
  const arec__mem_pod *p = arec__mem_pod_find(st, pod);
  int alive = p && p->lease_until > arec__mem_now(st);
  pthread_mutex_unlock(&st->mu);
  return alive;
}

/* -------------------------------------------------------------- lock keys */
int arec_memory_lock_peek(arec_memory_store *st, const char *key, char *buf,
                          size_t len, int64_t *out_ttl_ms) {
  if (!st || !key)
    return AREC_EINVAL;
  pthread_mutex_lock(&st->mu);
  arec__mem_key *k = arec__mem_key_live(st, key);
  if (k) {
    if (buf && len)
      snprintf(buf, len, "%s", k->value);
    if (out_ttl_ms)
      *out_ttl_ms = k->expires_at - arec__mem_now(st);
  }
  pthread_mutex_unlock(&st->mu);
  return k ? 0 : AREC_ENOTFOUND;
}

int arec_memory_lock_force(arec_memory_store *st, const char *key,
                           const char *value, int64_t ttl_ms) {
  if (!st || !key || !*key || !value || ttl_ms <= 0)
    return AREC_EINVAL;
  char *v = strdup(value);
  if (!v)
    return AREC_ENOMEM;
  int rc = 0;
  pthread_mutex_lock(&st->mu);
  arec__mem_key *k = arec__mem_key_live(st, key);
  if (k) {
    free(k->value);
  } else if (!(k = calloc(1, sizeof *k)) ||
             arec__mem_map_put(&st->keys, key, k) != 0) {
    free(k);
    free(v);
    rc = AREC_ENOMEM;
    goto out;
  }
  k->value = v;
  k->expires_at = arec__mem_now(st) + ttl_ms;
out:
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec_memory_lock_drop(arec_memory_store *st, const char *key) {
  if (!st || !key)
    return AREC_EINVAL;
  pthread_mutex_lock(&st->mu);
  arec__mem_key *k = arec__mem_map_del(&st->keys, key);
  pthread_mutex_unlock(&st->mu);
  arec__mem_key_free(k);
  return 0;
}
