/*
 * share.h -- what a pass may take: fair sharing of the fleet, migrations
 * and capabilities (share.c).  No mu held by the callers.
 */
#ifndef AREC_CORE_SHARE_H
#define AREC_CORE_SHARE_H

#include "internal.h"

/* What one pass knows about the fleet. */
typedef struct arec__share {
  int have;       /* the repository's fleet slot answered */
  int64_t target; /* ceil(wanted / live pods); 0 when not sharing */
  arec_fleet fleet;
} arec__share;

/* Asks the repository (fleet slot, if any) and sets the gauges agents_wanted,
 * agents_backoff, pods_live and agents_target, and this pod's refresh turn
 * (arec__share_slot); a failure leaves them. */
void arec__share_load(arec_manager *mgr, arec__share *s);
void arec__share_free(arec__share *s);
/* Within a load: this pod's place among the live pods that are not leaving,
 * by name (mgr->slot of mgr->nslots, for the refresher's turns), listed
 * again (repository pod_list) when the number of live pods changed or a
 * minute passed; a failed listing keeps the last place. */
void arec__share_slot(arec_manager *mgr, const arec__share *s);
/* mu held: how much earlier than `next` (monotonic ms) this pod's next
 * refresh cycle should run to be at its turn among the live pods:
 * 0 .. interval / 2. */
int64_t arec__slot_shift(const arec_manager *mgr, int64_t next,
                         int64_t interval);
/* mu held: how much earlier than `next` (monotonic ms) the next pass
 * should run to start a quarter of a turn after one of the fleet's refresh
 * turns, clear of them: 0 .. reconcile / 2. */
int64_t arec__pass_shift(const arec_manager *mgr, int64_t next);
/* Reorders idx[0..n) (indexes into list->rows, agents without a local
 * runner) into the order this pass should try them: agents migrating here
 * first, then the others starting at a place that depends on the pod name,
 * so pods do not all race for the same agents.  Agents migrating elsewhere
 * are dropped and counted in *skipped.  Returns the new count; *out_take is
 * how many of them to take: the forced ones plus the room below the target
 * (all of them without sharing). */
size_t arec__share_select(arec_manager *mgr, const arec__share *s,
                          const struct arec_agent_list *list, size_t *idx,
                          size_t n, size_t *out_take, unsigned int *skipped);
/* After the launches: hands off (AREC_STOP_HANDOVER) the runners above the
 * target, at most what the other pods have room for; `unowned` is the number
 * of wanted agents this pass saw without a live owner and did not take. */
void arec__share_shed(arec_manager *mgr, const arec__share *s,
                      size_t unowned);

/* 1 when this pod offers capability `cap` (NULL: any pod does). */
int arec__offers(const arec_manager *mgr, const char *cap);

#endif
