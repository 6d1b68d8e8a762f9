/*
 * heap.c -- the timer heap: every runner waiting for its next step sits in
 * one binary min-heap ordered by next_at (monotonic ms); each runner knows
 * its index, so removal and rescheduling are O(log n).  The workers
 * (scheduler.c) take the earliest due runner from the top.
 *
 * Must never: allocate (the runner table grows the array ahead of need) or
 * run without mgr->mu.
 */
#include <stdint.h>

#include "heap.h"

static int before(const arec_agent *a, const arec_agent *b) {
  return a->next_at < b->next_at;
}

static void swap_at(arec_manager *mgr, size_t i, size_t j) {
  arec_agent *t = mgr->heap[i];
  mgr->heap[i] = mgr->heap[j];
  mgr->heap[j] = t;
  mgr->heap[i]->heap_idx = i;
  mgr->heap[j]->heap_idx = j;
}

static void sift_up(arec_manager *mgr, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(mgr->heap[i], mgr->heap[p]))
      break;
    swap_at(mgr, i, p);
    i = p;
  }
}

static void sift_down(arec_manager *mgr, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < mgr->nheap && before(mgr->heap[l], mgr->heap[m]))
      m = l;
    if (r < mgr->nheap && before(mgr->heap[r], mgr->heap[m]))
      m = r;
    if (m == i)
      break;
    swap_at(mgr, i, m);
    i = m;
  }
}

void arec__heap_push(arec_manager *mgr, arec_agent *r) {
  if (r->heap_idx != SIZE_MAX || mgr->nheap >= mgr->capheap)
    return;
  r->heap_idx = mgr->nheap;
  mgr->heap[mgr->nheap++] = r;
  sift_up(mgr, r->heap_idx);
  if (r->heap_idx == 0)
    pthread_cond_signal(&mgr->work_cv);
}

void arec__heap_remove(arec_manager *mgr, arec_agent *r) {
  size_t i = r->heap_idx;
  if (i == SIZE_MAX)
    return;
  mgr->nheap--;
  if (i != mgr->nheap) {
    mgr->heap[i] = mgr->heap[mgr->nheap];
    mgr->heap[i]->heap_idx = i;
    sift_down(mgr, i);
    sift_up(mgr, i);
  }
  r->heap_idx = SIZE_MAX;
}

void arec__heap_update(arec_manager *mgr, arec_agent *r, int64_t at) {
  if (r->heap_idx == SIZE_MAX)
    return;
  r->next_at = at;
  sift_down(mgr, r->heap_idx);
  sift_up(mgr, r->heap_idx);
  if (r->heap_idx == 0)
    pthread_cond_signal(&mgr->work_cv);
}
