/*
 * scheduler.c -- the worker pool and its timer heap, plus the time helpers.
 *
 * Every runner waiting for its next step sits in one min-heap ordered by
 * next_at (monotonic ms).  `workers` threads take the earliest due runner
 * out of the heap, run one step without the manager's mutex, then put it
 * back with its new time.  A runner is in the heap only while no thread is
 * inside it (r->busy), so a runner never runs concurrently with itself.
 * A cancelled runner is finalized by the worker that picks it up.  Workers
 * never sleep past the earliest due time and never busy-wait.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

/* ------------------------------------------------------------------- time */
int64_t arec__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double arec__now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t arec__wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void arec__deadline_ts(struct timespec *ts, int64_t at_ms) {
  if (at_ms < 0)
    at_ms = 0;
  ts->tv_sec = (time_t)(at_ms / 1000);
  ts->tv_nsec = (long)(at_ms % 1000) * 1000000L;
}

void arec__cond_init_mono(pthread_cond_t *cv) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &a);
  pthread_condattr_destroy(&a);
}

/* ------------------------------------------------------------------- heap */
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

/* The heap array grows ahead of need in arec__runner_insert (one slot per
 * runner), so a push never allocates and never fails. */
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

/* ---------------------------------------------------------------- workers */
static void release_busy(arec_manager *mgr, arec_agent *r) {
  r->busy = 0;
  mgr->nbusy--;
  pthread_cond_broadcast(&mgr->idle_cv);
}

static void run_step(arec_manager *mgr, arec_agent *r) {
  int64_t delay = 0;
  int rc;

  pthread_mutex_unlock(&mgr->mu);
  rc = r->type->step(r->state, r, &delay, r->type->userdata);
  atomic_fetch_add(&mgr->m.steps, 1);
  if (rc < 0) {
    arec__logkv(mgr, AREC_LOG_WARN, "agent step failed, stopping",
                "agent_id", r->id, "error", arec_err_name(rc), NULL);
  } else if (!atomic_load(&r->cancel) && !r->orphaned) {
    arec__save_maybe(mgr, r);
  }
  pthread_mutex_lock(&mgr->mu);
  r->steps++;
  if (rc < 0)
    arec__runner_mark_stop(mgr, r, AREC_STOP_ERROR);

  if (mgr->abandoned) {
    release_busy(mgr, r); /* simulated kill: no more calls of any kind */
    return;
  }
  if (r->orphaned) {
    /* shutdown released it while this step ran: free its state */
    arec__save_quiesce(mgr, r);
    pthread_mutex_unlock(&mgr->mu);
    r->type->stop(r->state, r, AREC_STOP_HANDOVER, r->type->userdata);
    pthread_mutex_lock(&mgr->mu);
    arec__runner_remove(mgr, r);
    release_busy(mgr, r);
    arec__runner_free(r);
    return;
  }
  if (mgr->shutdown_claim) {
    release_busy(mgr, r); /* shutdown takes it from here */
    return;
  }
  if (atomic_load(&r->cancel)) {
    arec__runner_finalize(mgr, r);
    return;
  }
  if (delay < 1)
    delay = 1;
  r->next_at = arec__now_ms() + delay;
  r->busy = 0;
  mgr->nbusy--;
  arec__heap_push(mgr, r);
}

static void *worker_main(void *arg) {
  arec_manager *mgr = arg;
  struct timespec ts;

  pthread_mutex_lock(&mgr->mu);
  while (!mgr->stop_workers && !mgr->abandoned) {
    if (mgr->nheap == 0) {
      pthread_cond_wait(&mgr->work_cv, &mgr->mu);
      continue;
    }
    arec_agent *r = mgr->heap[0];
    int64_t now = arec__now_ms();
    if (r->next_at > now) {
      arec__deadline_ts(&ts, r->next_at);
      pthread_cond_timedwait(&mgr->work_cv, &mgr->mu, &ts);
      continue;
    }
    arec__heap_remove(mgr, r);
    r->busy = 1;
    mgr->nbusy++;
    /* more work due: wake another worker */
    if (mgr->nheap > 0 && mgr->heap[0]->next_at <= now)
      pthread_cond_signal(&mgr->work_cv);
    if (atomic_load(&r->cancel))
      arec__runner_finalize(mgr, r);
    else
      run_step(mgr, r);
  }
  pthread_mutex_unlock(&mgr->mu);
  return NULL;
}

int arec__workers_start(arec_manager *mgr) {
  mgr->workers = calloc(mgr->nworkers, sizeof *mgr->workers);
  if (!mgr->workers)
    return AREC_ENOMEM;
  for (unsigned int i = 0; i < mgr->nworkers; i++) {
    if (pthread_create(&mgr->workers[i], NULL, worker_main, mgr) != 0) {
      arec_error_set("cannot start worker thread");
      return AREC_ENOMEM;
    }
    mgr->nworkers_started++;
  }
  return 0;
}

void arec__workers_join(arec_manager *mgr) {
  pthread_mutex_lock(&mgr->mu);
  mgr->stop_workers = 1;
  pthread_cond_broadcast(&mgr->work_cv);
  pthread_mutex_unlock(&mgr->mu);
  for (unsigned int i = 0; i < mgr->nworkers_started; i++)
    pthread_join(mgr->workers[i], NULL);
  mgr->nworkers_started = 0;
  free(mgr->workers);
  mgr->workers = NULL;
}
