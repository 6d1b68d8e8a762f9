/*
 * thread.c -- the one way the manager starts and joins its threads
 * (workers, refresher, saver, reconciler, pod lease).
 *
 * A thread records whether it started, so a manager whose construction
 * failed half-way joins exactly the threads that exist.  Joining sets the
 * thread's stop flag under the manager's mutex and wakes its condition
 * variable before waiting, so a sleeping loop sees the flag at once.
 *
 * Must never: join a thread that did not start, or join with mgr->mu held.
 */
#include "internal.h"

int arec__thread_start(arec__thread *t, void *(*fn)(void *), void *arg) {
  t->started = 0;
  if (pthread_create(&t->th, NULL, fn, arg) != 0) {
    arec_error_set("cannot start a manager thread");
    return AREC_ENOMEM;
  }
  t->started = 1;
  return 0;
}

void arec__thread_join(arec_manager *mgr, int *stop, pthread_cond_t *cv,
                       arec__thread *t, size_t n) {
  pthread_mutex_lock(&mgr->mu);
  *stop = 1;
  pthread_cond_broadcast(cv);
  pthread_mutex_unlock(&mgr->mu);
  for (size_t i = 0; t && i < n; i++) {
    if (t[i].started)
      pthread_join(t[i].th, NULL);
    t[i].started = 0;
  }
}
