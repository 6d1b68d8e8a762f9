/*
 * saver.h -- coalesced, batched state saves (saver.c).
 */
#ifndef AREC_CORE_SAVER_H
#define AREC_CORE_SAVER_H

#include "internal.h"

/* Worker: after a step, queue a save when due and changed (no mu held). */
void arec__save_maybe(arec_manager *mgr, arec_agent *r);
/* mu held: 1 (and marks the runner repo_lost) when a save has been due for
 * longer than the lock TTL without being accepted. */
int arec__save_overdue(arec_manager *mgr, arec_agent *r, int64_t now);
/* Waits (mu held) until r has no save with the saver; drops its pending. */
void arec__save_quiesce(arec_manager *mgr, arec_agent *r);
/* Records the result of one save of r (mu held); takes `snap`. */
void arec__save_result(arec_manager *mgr, arec_agent *r, int rc,
                       arec_snapshot *snap);
/* One batch of saves through save_many (or save_state each) into res[];
 * records its duration.  No mu held. */
void arec__save_batch(arec_manager *mgr, const arec_save *sv, size_t n,
                      int *res);

int arec__saver_start(arec_manager *mgr);
void arec__saver_join(arec_manager *mgr);

#endif
