/*
 * lock.c -- the memory lock: the distributed-lock vtable
 * (agentrecover/sys/lock.h) over an arec_memory_store's keys.
 *
 * A key holds a value "<owner>/<32 hex from getrandom()>" that expires on
 * the store's clock (so a manual clock expires locks without sleeping).
 * Refresh and release compare the value, like Redlock's scripts.  Validity
 * is measured on the real monotonic clock from the moment the call began:
 * ttl - elapsed - drift, drift = ttl/100 + 2 ms.  Pod leases (lock
 * version 2) are keys "agent:podlease:<pod>/<incarnation>" holding the
 * random token of the lock object that took them (another object with the
 * same holder is answered AREC_ELOST and cannot delete it); an agent lock
 * whose value names such a holder ("<pod>/<32 hex>/<32 hex>") may be taken
 * over at once when that holder's pod lease key is gone.  Every slot passes
 * the store's fault hooks and then works under the store mutex.  It never
 * prints, never aborts, and never deletes a value that is not its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/sys/lock.h"
#include "core/random.h"
#include "memory/store.h"

typedef struct mem_lock {
  arec_lock parent;
  arec_memory_store *st;
  char pod_token[AREC_LOCK_VALUE_MAX]; /* "t/<32 hex>": pod leases' value */
} mem_lock;

#define LST(l) (((mem_lock *)(l))->st)
#define M_ACQ (AREC_MEMORY_LOCK | AREC_MEMORY_ACQUIRE)
#define M_REF (AREC_MEMORY_LOCK | AREC_MEMORY_REFRESH)
#define M_LOCK AREC_MEMORY_LOCK

static int64_t validity(int64_t ttl_ms, int64_t sent_at) {
  return ttl_ms - (arec__mem_mono_ms() - sent_at) - (ttl_ms / 100 + 2);
}

static int make_value(char *buf, const char *owner) {
  unsigned char rnd[16];
  int rc = arec__random_fill(rnd, sizeof rnd, "memory lock");
  if (rc)
    return rc;
  int len = snprintf(buf, AREC_LOCK_VALUE_MAX, "%s/", owner);
  arec__hex(buf + len, rnd, sizeof rnd);
  return 0;
}

static int owner_ok(const char *owner) {
  return owner && *owner && strlen(owner) + 1 + 32 < AREC_LOCK_VALUE_MAX;
}

/* ------------------------------------------------------------- pod lease */
#define PODLEASE_PREFIX "agent:podlease:"

static int is_hex32(const char *s, size_t n) {
  if (n != 32)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

/* 1 when `value` is "<pod>/<32 hex>/<32 hex>" (a pod-lease holder) and that
 * holder's pod lease key is gone; mutex held. */
static int holder_gone(arec_memory_store *st, const char *value) {
  const char *last = strrchr(value, '/');
  if (!last || !is_hex32(last + 1, strlen(last + 1)))
    return 0;
  const char *mid = last;
  while (mid > value && mid[-1] != '/')
    mid--;
  if (mid == value || !is_hex32(mid, (size_t)(last - mid)) || mid - 1 == value)
    return 0;
  char key[AREC_LOCK_VALUE_MAX + sizeof PODLEASE_PREFIX];
  snprintf(key, sizeof key, "%s%.*s", PODLEASE_PREFIX, (int)(last - value),
           value);
  return arec__mem_key_live(st, key) == NULL;
}

/* ------------------------------------------------------------ per key ops */
/* mutex held; the value was made before the lock was taken */
static int acquire_one(arec_memory_store *st, const char *key,
                       const char *value, int64_t ttl_ms, int64_t sent_at,
                       arec_lease *out) {
  if (!key || !*key)
    return AREC_EINVAL;
  arec__mem_key *cur = arec__mem_key_live(st, key);
  if (cur && !holder_gone(st, cur->value))
    return 0;
  if (cur) /* its holder's pod lease is gone: take it over now */
    arec__mem_key_free(arec__mem_map_del(&st->keys, key));
  arec__mem_key *k = calloc(1, sizeof *k);
  if (!k || !(k->value = strdup(value))) {
    free(k);
    return AREC_ENOMEM;
  }
  k->expires_at = arec__mem_now(st) + ttl_ms;
  if (arec__mem_map_put(&st->keys, key, k) != 0) {
    arec__mem_key_free(k);
    return AREC_ENOMEM;
  }
  int64_t v = validity(ttl_ms, sent_at);
  if (v <= 0) { /* as Redlock: no time left to use it, give it back */
    arec__mem_key_free(arec__mem_map_del(&st->keys, key));
    return 0;
  }
  snprintf(out->value, sizeof out->value, "%s", value);
  out->validity_ms = v;
  return 1;
}

static int refresh_one(arec_memory_store *st, const char *key,
                       arec_lease *lease, int64_t ttl_ms, int64_t sent_at) {
  if (!key || !*key || !lease)
    return AREC_EINVAL;
  arec__mem_key *k = arec__mem_key_live(st, key);
  if (!k || strcmp(k->value, lease->value) != 0)
    return AREC_ELOST;
  k->expires_at = arec__mem_now(st) + ttl_ms;
  lease->validity_ms = validity(ttl_ms, sent_at);
  return 0;
}

static int release_one(arec_memory_store *st, const char *key,
                       const arec_lease *lease) {
  if (!key || !*key || !lease)
    return AREC_EINVAL;
  arec__mem_key *k = arec__mem_key_live(st, key);
  if (!k || strcmp(k->value, lease->value) != 0)
    return 1;
  arec__mem_key_free(arec__mem_map_del(&st->keys, key));
  return 0;
}

/* ------------------------------------------------------------------ slots */
static int lock_try_acquire(arec_lock *lock, const char *key,
                            const char *owner, int64_t ttl_ms,
                            arec_lease *out) {
  if (!key || !*key || !owner_ok(owner) || ttl_ms <= 0 || !out)
    return AREC_EINVAL;
  int64_t sent_at = arec__mem_mono_ms();
  char value[AREC_LOCK_VALUE_MAX];
  int rc = make_value(value, owner);
  if (rc)
    return rc;
  arec_memory_store *st = LST(lock);
  if ((rc = arec__mem_enter(st, M_ACQ)) != 0)
    return rc;
  rc = acquire_one(st, key, value, ttl_ms, sent_at, out);
  pthread_mutex_unlock(&st->mu);
  return rc;
}

static int lock_refresh(arec_lock *lock, const char *key, arec_lease *lease,
                        int64_t ttl_ms) {
  int64_t sent_at = arec__mem_mono_ms();
  arec_memory_store *st = LST(lock);
  int rc = arec__mem_enter_checked(st, M_REF,
                                    !key || !*key || !lease || ttl_ms <= 0);
  if (rc)
    return rc;
  rc = refresh_one(st, key, lease, ttl_ms, sent_at);
  pthread_mutex_unlock(&st->mu);
  return rc;
}

static int lock_release(arec_lock *lock, const char *key,
                        const arec_lease *lease) {
  arec_memory_store *st = LST(lock);
  int rc = arec__mem_enter_checked(st, M_LOCK, !key || !*key || !lease);
  if (rc)
    return rc;
  rc = release_one(st, key, lease);
  pthread_mutex_unlock(&st->mu);
  return rc;
}

static int lock_refresh_many(arec_lock *lock, const char *const *keys,
                             arec_lease *leases, size_t n, int64_t ttl_ms,
                             int *out_results) {
  int64_t sent_at = arec__mem_mono_ms();
  arec_memory_store *st = LST(lock);
  int rc = arec__mem_enter_checked(
      st, M_REF, ttl_ms <= 0 || (n && (!keys || !leases || !out_results)));
  if (rc)
    return rc;
  for (size_t i = 0; i < n; i++)
    out_results[i] = refresh_one(st, keys[i], &leases[i], ttl_ms, sent_at);
  pthread_mutex_unlock(&st->mu);
  return 0;
}

static int lock_try_acquire_many(arec_lock *lock, const char *const *keys,
                                 size_t n, const char *owner, int64_t ttl_ms,
                                 arec_lease *out_leases, int *out_results) {
  if (!owner_ok(owner) || ttl_ms <= 0 ||
      (n && (!keys || !out_leases || !out_results)))
    return AREC_EINVAL;
  int64_t sent_at = arec__mem_mono_ms();
  /* random values are drawn before the store is locked */
  char(*values)[AREC_LOCK_VALUE_MAX] = malloc((n ? n : 1) * sizeof *values);
  if (!values)
    return AREC_ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = make_value(values[i], owner);
  arec_memory_store *st = LST(lock);
  if (rc == 0 && (rc = arec__mem_enter(st, M_ACQ)) == 0) {
    for (size_t i = 0; i < n; i++)
      out_results[i] =
          acquire_one(st, keys[i], values[i], ttl_ms, sent_at, &out_leases[i]);
    pthread_mutex_unlock(&st->mu);
  }
  free(values);
  return rc;
}

static int lock_release_many(arec_lock *lock, const char *const *keys,
                             const arec_lease *leases, size_t n,
                             int *out_results) {
  arec_memory_store *st = LST(lock);
  int rc = arec__mem_enter_checked(st, M_LOCK,
                                    n && (!keys || !leases || !out_results));
  if (rc)
    return rc;
  for (size_t i = 0; i < n; i++)
    out_results[i] = release_one(st, keys[i], &leases[i]);
  pthread_mutex_unlock(&st->mu);
  return 0;
}

static int lock_pod_lease(arec_lock *lock, const char *holder, int64_t ttl_ms,
                          int leaving, int64_t *out_validity_ms) {
  if (!holder || !*holder || strlen(holder) >= AREC_LOCK_VALUE_MAX - 34 ||
      (!leaving && (ttl_ms <= 0 || !out_validity_ms)))
    return AREC_EINVAL;
  int64_t sent_at = arec__mem_mono_ms();
  char key[AREC_LOCK_VALUE_MAX + sizeof PODLEASE_PREFIX];
  snprintf(key, sizeof key, "%s%s", PODLEASE_PREFIX, holder);
  arec_memory_store *st = LST(lock);
  int rc = arec__mem_enter(st, M_REF);
  if (rc)
    return rc;
  const char *token = ((mem_lock *)lock)->pod_token;
  arec__mem_key *k = arec__mem_key_live(st, key);
  if (leaving) {
    if (k && strcmp(k->value, token) == 0) /* only our own lease */
      arec__mem_key_free(arec__mem_map_del(&st->keys, key));
  } else if (k && strcmp(k->value, token) != 0) {
    arec_error_set("memory lock: the pod lease of this holder is held by "
                   "another lock object");
    rc = AREC_ELOST;
  } else if (k) {
    k->expires_at = arec__mem_now(st) + ttl_ms;
  } else if (!(k = calloc(1, sizeof *k)) || !(k->value = strdup(token))) {
    free(k);
    rc = AREC_ENOMEM;
  } else {
    k->expires_at = arec__mem_now(st) + ttl_ms;
    if (arec__mem_map_put(&st->keys, key, k) != 0) {
      arec__mem_key_free(k);
      rc = AREC_ENOMEM;
    }
  }
  pthread_mutex_unlock(&st->mu);
  if (rc == 0 && !leaving)
    *out_validity_ms = validity(ttl_ms, sent_at);
  return rc;
}

static void lock_free(arec_lock *lock) {
  if (!lock)
    return;
  arec__mem_unref(LST(lock));
  free(lock);
}

static const arec_lock mem_lock_methods = {
    AREC_LOCK_VERSION,     lock_try_acquire,      lock_refresh,
    lock_release,          lock_refresh_many,     lock_try_acquire_many,
    lock_release_many,     lock_free,
    lock_pod_lease};

int arec_memory_lock_new(arec_lock **out, arec_memory_store *store) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!store)
    return AREC_EINVAL;
  mem_lock *l = calloc(1, sizeof *l);
  if (!l)
    return AREC_ENOMEM;
  l->parent = mem_lock_methods;
  int rc = make_value(l->pod_token, "t");
  if (rc) {
    free(l);
    return rc;
  }
  l->st = store;
  arec__mem_ref(store);
  *out = &l->parent;
  return 0;
}
