/*
 * release.c -- giving agents up: the fenced repository release (running_on
 * cleared, fence bumped, so a late write of the old runner is refused) and
 * the compare-and-delete of the lock.  A release the backend could not take
 * (unavailable) is queued and retried by every pass and stop check until
 * it lands; a release answered "superseded" or "gone" is done.
 *
 * Must never: hold mgr->mu during a backend call, or drop a failed release
 * silently.
 */
#include <stdlib.h>
#include <string.h>

#include "release.h"

void arec__release_queue(arec_manager *mgr, const char *id, uint64_t fence,
                         int repo_pending, const char *key,
                         const arec_lease *lease, int lock_pending) {
  arec__release *x = calloc(1, sizeof *x);
  if (!x || !(x->id = strdup(id))) {
    free(x);
    arec__logkv(mgr, AREC_LOG_ERROR, "cannot queue a release (no memory)",
                "agent_id", id, NULL);
    return;
  }
  x->fence = fence;
  x->repo_pending = repo_pending;
  x->lock_pending = lock_pending;
  if (key)
    memcpy(x->key, key, strnlen(key, AREC__KEY_MAX - 1));
  if (lease)
    x->lease = *lease;
  pthread_mutex_lock(&mgr->mu);
  x->next = mgr->releases;
  mgr->releases = x;
  pthread_mutex_unlock(&mgr->mu);
}

static int repo_release(arec_manager *mgr, const char *id, uint64_t fence) {
  int rc = mgr->repo->release(mgr->repo, id, fence);
  /* superseded or gone: nothing left to release */
  if (rc == AREC_EFENCED || rc == AREC_ENOTFOUND)
    rc = 0;
  if (rc < 0)
    arec__logkv(mgr, AREC_LOG_WARN, "release failed, will retry", "agent_id",
                id, "error", arec_err_name(rc), NULL);
  return rc;
}

void arec__release_now(arec_manager *mgr, const char *id, uint64_t fence,
                       int do_repo, const char *key, const arec_lease *lease,
                       int do_lock) {
  int rp = 0, lp = 0;
  if (do_repo && repo_release(mgr, id, fence) < 0)
    rp = 1;
  if (do_lock) {
    int rc = mgr->lock->release(mgr->lock, key, lease);
    atomic_fetch_sub(&mgr->m.lock_held, 1);
    if (rc < 0)
      lp = 1;
  }
  if (rp || lp)
    arec__release_queue(mgr, id, fence, rp, key, lease, lp);
}

void arec__release_retry(arec_manager *mgr) {
  pthread_mutex_lock(&mgr->mu);
  arec__release *list = mgr->releases;
  mgr->releases = NULL;
  pthread_mutex_unlock(&mgr->mu);
  while (list) {
    arec__release *x = list;
    list = x->next;
    if (x->repo_pending && repo_release(mgr, x->id, x->fence) == 0)
      x->repo_pending = 0;
    if (x->lock_pending &&
        mgr->lock->release(mgr->lock, x->key, &x->lease) >= 0)
      x->lock_pending = 0;
    if (x->repo_pending || x->lock_pending) {
      pthread_mutex_lock(&mgr->mu);
      x->next = mgr->releases;
      mgr->releases = x;
      pthread_mutex_unlock(&mgr->mu);
    } else {
      free(x->id);
      free(x);
    }
  }
}

void arec__release_queue_free(arec_manager *mgr) {
  while (mgr->releases) {
    arec__release *x = mgr->releases;
    mgr->releases = x->next;
    free(x->id);
    free(x);
  }
}
