/*
 * scheduler.c -- the worker pool.
 *
 * `workers` threads take the earliest due runner out of the timer heap
 * (heap.c), run one step without the manager's mutex, then put it back with
 * its new time.  A runner is in the heap only while no thread is inside it
 * (r->busy), so a runner never runs concurrently with itself.  A cancelled
 * runner is finalized by the worker that picks it up.  Every step is timed
 * (agent_step_duration_seconds); the end of a runner's first good step
 * closes its restore time and clears a backoff its row showed.  A failed
 * step keeps the reason the step left in arec_error_last() and stops the
 * runner with AREC_STOP_ERROR (backoff).  Workers never sleep past the
 * earliest due time and never busy-wait.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "heap.h"
#include "runner.h"
#include "saver.h"
#include "scheduler.h"
#include "table.h"

static void release_busy(arec_manager *mgr, arec_agent *r) {
  r->busy = 0;
  mgr->nbusy--;
  pthread_cond_broadcast(&mgr->idle_cv);
}

/* After the step, before mu is taken again: metrics, backoff bookkeeping,
 * the save. */
static void after_step(arec_manager *mgr, arec_agent *r, int rc, double t0) {
  double t1 = arec__now_s();
  atomic_fetch_add(&mgr->m.steps, 1);
  arec__hist_observe(&mgr->m.step, t1 - t0);
  if (rc < 0) {
    char why[AREC__TEXT_MAX + 1];
    arec__backoff_reason(why, sizeof why, rc);
    char *copy = strdup(why);
    pthread_mutex_lock(&mgr->mu);
    free(r->fail_text);
    r->fail_text = copy;
    r->claim_at = 0;
    pthread_mutex_unlock(&mgr->mu);
    return;
  }
  if (r->claim_at > 0) { /* the first step of a takeover ended well */
    arec__hist_observe(&mgr->m.restore, t1 - r->claim_at);
    r->claim_at = 0;
    if (!atomic_load(&r->cancel) && !r->orphaned)
      arec__backoff_clear(mgr, r->id, r->fence, r->row_failures,
                          r->row_noted);
    r->row_failures = 0;
    r->row_noted = 0;
  }
  if (!atomic_load(&r->cancel) && !r->orphaned)
    arec__save_maybe(mgr, r);
}

static void run_step(arec_manager *mgr, arec_agent *r) {
  int64_t delay = 0;

  pthread_mutex_unlock(&mgr->mu);
  double t0 = arec__now_s();
  arec_error_clear();
  int rc = r->type->step(r->state, r, &delay, r->type->userdata);
  after_step(mgr, r, rc, t0);
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
    int rc = arec__thread_start(&mgr->workers[i], worker_main, mgr);
    if (rc < 0)
      return rc;
  }
  return 0;
}

void arec__workers_join(arec_manager *mgr) {
  arec__thread_join(mgr, &mgr->stop_workers, &mgr->work_cv, mgr->workers,
                    mgr->workers ? mgr->nworkers : 0);
  free(mgr->workers);
  mgr->workers = NULL;
}
