/*
 * heap.h -- the timer heap of runners waiting for their next step (heap.c).
 * Every call needs mgr->mu held.
 */
#ifndef AREC_CORE_HEAP_H
#define AREC_CORE_HEAP_H

#include "internal.h"

/* Adds r (ordered by r->next_at); never allocates (the table grows the
 * array ahead of need, one slot per runner). */
void arec__heap_push(arec_manager *mgr, arec_agent *r);
void arec__heap_remove(arec_manager *mgr, arec_agent *r);
/* Moves r (when in the heap) to time `at`. */
void arec__heap_update(arec_manager *mgr, arec_agent *r, int64_t at);

#endif
