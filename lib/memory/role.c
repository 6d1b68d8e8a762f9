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
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st,
                                !name || !holder || !*holder || ttl_ms <= 0 ||
                                    !out_fence);
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

/* keep, release and check: what they do to a matching lease (mutex
 * held) after the same entry and match. */
enum { KEEP, RELEASE, CHECK };

static int on_match(arec_repository *repo, const char *name,
                    const char *holder, uint64_t fence, int op,
                    int64_t ttl_ms) {
  arec_memory_store *st;
  int bad = !name || !holder || (op == KEEP && ttl_ms <= 0);
  int rc = arec__mem_repo_enter(repo, M_REPO, &st, bad);
  if (rc)
    return rc;
  int64_t now = arec__mem_now(st);
  arec__mem_role *r = match(st, name, holder, fence);
  int live = r && r->lease_until > now;
  if (op == KEEP && live) {
    r->lease_until = now + ttl_ms;
  } else if (op == RELEASE && r) {
    arec__mem_set_str(&r->holder, NULL);
    r->fence++;
  } else if (op != CHECK || !live) {
    rc = op == CHECK ? AREC_EFENCED : AREC_ELOST;
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec__mem_role_keep(arec_repository *repo, const char *name,
                        const char *holder, uint64_t fence, int64_t ttl_ms) {
  return on_match(repo, name, holder, fence, KEEP, ttl_ms);
}

int arec__mem_role_release(arec_repository *repo, const char *name,
                           const char *holder, uint64_t fence) {
  return on_match(repo, name, holder, fence, RELEASE, 0);
}

int arec__mem_role_check(arec_repository *repo, const char *name,
                         const char *holder, uint64_t fence) {
  return on_match(repo, name, holder, fence, CHECK, 0);
}
