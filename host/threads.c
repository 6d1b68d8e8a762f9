/*
 * threads.c -- the jobs of threads.h.
 *
 * How: a job's thread sets `done` when fn returns; the main thread waits
 * for it in slices of 20 ms while listening for signals, and joins it only
 * once done, so a job stuck in I/O never blocks the main thread past its
 * deadline (the process may then exit with the job still running).  The
 * recovery job pings the lock service with a doubling delay (500 ms ..
 * 5 s), checking the shutdown flag every 100 ms, then runs the restore
 * pass and turns readiness on.
 *
 * Never: wait for a signal outside the main thread, or join a job that has
 * not finished.
 */
#include "threads.h"

#include <string.h>
#include <time.h>

#include "locks.h"
#include "log.h"
#include "signals.h"

static void *job_main(void *arg) {
  arec_host_job *j = arg;
  j->fn(j->arg);
  atomic_store(&j->done, 1);
  return NULL;
}

void arec_host_job_start(arec_host_job *j, const char *name,
                         void (*fn)(void *), void *arg) {
  memset(j, 0, sizeof *j);
  j->name = name;
  j->fn = fn;
  j->arg = arg;
  atomic_store(&j->done, 0);
  if (pthread_create(&j->thread, NULL, job_main, j) == 0) {
    j->started = 1;
  } else {
    fn(arg);
    atomic_store(&j->done, 1);
  }
}

int arec_host_job_done(arec_host_job *j) {
  return !j->fn || atomic_load(&j->done);
}

int arec_host_job_wait(arec_host_job *j, int64_t deadline_ms, int *sig) {
  if (sig) *sig = 0;
  while (!arec_host_job_done(j)) {
    int64_t left = deadline_ms - arec_host_now_ms();
    if (left <= 0) return 0;
    int s = arec_host_signal_wait(left < 20 ? left : 20);
    if (s && sig) {
      *sig = s;
      return arec_host_job_done(j);
    }
  }
  if (j->started && !j->joined) {
    pthread_join(j->thread, NULL);
    j->joined = 1;
  }
  return 1;
}

/* ---------------------------------------------------------------- recovery */
static int sleep_unless_stopping(atomic_int *stopping, int64_t ms) {
  for (int64_t slept = 0; slept < ms; slept += 100) {
    if (atomic_load(stopping)) return 1;
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return atomic_load(stopping);
}

void arec_host_recovery_main(void *arg) {
  arec_host_recovery *r = arg;
  if (!r->lock_up) {
    int64_t delay = 500;
    while (arec_host_lock_ping(r->lock) != 0) {
      if (sleep_unless_stopping(r->stopping, delay)) return;
      delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    if (atomic_load(r->stopping)) return;
    hlog(AREC_LOG_INFO, "Redis available again, starting agent recovery",
         HL_END);
  }
  /* with recovery off the manager's takeover option is 0: this first pass
   * takes nothing over and the loop only checks for stops */
  arec_restore_result res;
  memset(&res, 0, sizeof res);
  int rc = arec_manager_restore(r->mgr, &res);
  if (rc != 0) /* the library logged the pass itself otherwise */
    hlog(AREC_LOG_WARN, "restore pass could not read the database; the "
                        "reconcile loop retries",
         HL_S("error", arec_strerror(rc)), HL_END);
  atomic_store(r->recovery_active, r->enabled);
  atomic_store(r->ready, 1);
}
