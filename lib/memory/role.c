/*
 * role.c -- the memory repository's singleton roles: one row per role name
 * (fence, holder, lease_until on the store's clock) in a hash map.
 *
 * claim takes a role that is free, released or expired (fence + 1) and
 * renews it for its current holder (same fence); keep renews only a lease
 * that still matches and has not expired; release frees a matching lease
 * and bumps the fence so late work of the old holder is refused; check
 * answers whether a lease is still the current one.  Every slot passes the
 * fault hooks and works under the store mutex.
 */
#include <stdlib.h>
#include <string.h>

#include "memory/store.h"

#define M_REPO AREC_MEMORY_REPOSITORY

/* The role's row when (holder, fence) match it; mutex held. */
static arec__mem_role *match(arec_memory_store *st, const char *name,
                             const char *holder, uint64_t fence) {
  arec__mem_role *r = arec__mem_map_get(&st->roles, name);
  if (!r || !r->holder || strcmp(r->holder, holder) != 0 || r->fence != fence)
    return NULL;
  return r;
}

int arec__mem_role_claim(arec_repository *repo, const char *name,
                         const char *holder, int64_t ttl_ms,
                         uint64_t *out_fence) {
  if (!name || !holder || !*holder || ttl_ms <= 0 || !out_fence)
    return AREC_EINVAL;
  arec_memory_store *st = arec__mem_repo_store(repo);
  int rc = arec__mem_enter(st, M_REPO);
  if (rc)
    return rc;
  int64_t now = arec__mem_now(st);
  arec__mem_role *r = arec__mem_map_get(&st->roles, name);
  if (!r) {
    if (!(r = calloc(1, sizeof *r)) ||
        arec__mem_map_put(&st->roles, name, r) != 0) {
      free(r);
      rc = AREC_ENOMEM;
      goto out;
    }
  }
  if (!r->holder || r->lease_until <= now) {
    if (arec__mem_set_str(&r->holder, holder) != 0) {
      rc = AREC_ENOMEM;
      goto out;
    }
    r->fence++;
  } else if (strcmp(r->holder, holder) != 0) {
    rc = 0; /* held by another holder: an answer */
    goto out;
  }
  r->lease_until = now + ttl_ms;
  *out_fence = r->fence;
  rc = 1;
out:
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec__mem_role_keep(arec_repository *repo, const char *name,
                        const char *holder, uint64_t fence, int64_t ttl_ms) {
  if (!name || !holder || ttl_ms <= 0)
    return AREC_EINVAL;
  arec_memory_store *st = arec__mem_repo_store(repo);
  int rc = arec__mem_enter(st, M_REPO);
  if (rc)
    return rc;
  int64_t now = arec__mem_now(st);
  arec__mem_role *r = match(st, name, holder, fence);
  if (r && r->lease_until > now)
    r->lease_until = now + ttl_ms;
  else
    rc = AREC_ELOST;
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec__mem_role_release(arec_repository *repo, const char *name,
                           const char *holder, uint64_t fence) {
  if (!name || !holder)
    return AREC_EINVAL;
  arec_memory_store *st = arec__mem_repo_store(repo);
  int rc = arec__mem_enter(st, M_REPO);
  if (rc)
    return rc;
  arec__mem_role *r = match(st, name, holder, fence);
  if (r) {
    arec__mem_set_str(&r->holder, NULL);
    r->fence++;
  } else {
    rc = AREC_ELOST;
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec__mem_role_check(arec_repository *repo, const char *name,
                         const char *holder, uint64_t fence) {
  if (!name || !holder)
    return AREC_EINVAL;
  arec_memory_store *st = arec__mem_repo_store(repo);
  int rc = arec__mem_enter(st, M_REPO);
  if (rc)
    return rc;
  arec__mem_role *r = match(st, name, holder, fence);
  if (!r || r->lease_until <= arec__mem_now(st))
    rc = AREC_EFENCED;
  pthread_mutex_unlock(&st->mu);
  return rc;
}
