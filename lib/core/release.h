/*
 * release.h -- giving an agent up: the fenced repository release and the
 * lock release, with failed ones queued and retried by the next pass
 * (release.c).  No mu held by the caller.
 */
#ifndef AREC_CORE_RELEASE_H
#define AREC_CORE_RELEASE_H

#include "internal.h"

/* Releases (repository with fence when do_repo, then the lock when do_lock)
 * now; failures are queued for retry.  Updates the lock gauge. */
void arec__release_now(arec_manager *mgr, const char *id, uint64_t fence,
                       int do_repo, const char *key, const arec_lease *lease,
                       int do_lock);
/* Queues a release to be retried by arec__release_retry. */
void arec__release_queue(arec_manager *mgr, const char *id, uint64_t fence,
                         int repo_pending, const char *key,
                         const arec_lease *lease, int lock_pending);
void arec__release_retry(arec_manager *mgr);
void arec__release_queue_free(arec_manager *mgr);

#endif
