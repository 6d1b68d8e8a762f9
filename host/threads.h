/*
 * threads.h -- the daemon's own threads: jobs that run beside the main
 * thread and are waited for with a deadline (the manager's shutdown, the
 * bot's stop, the recovery), and the recovery job itself (wait for Redis
 * when it was down at start, restore, then readiness).
 */
#ifndef AREC_HOST_THREADS_H
#define AREC_HOST_THREADS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "agentrecover.h"

typedef struct arec_host_job {
  const char *name;      /* for the log: what did not finish */
  void (*fn)(void *arg);
  void *arg;
  pthread_t thread;
  int started;           /* a thread runs it */
  int joined;
  atomic_int done;
} arec_host_job;

/* Runs fn(arg) on a thread of its own (inline when none can be made). */
void arec_host_job_start(arec_host_job *j, const char *name,
                         void (*fn)(void *), void *arg);
/* 1 once fn returned. */
int arec_host_job_done(arec_host_job *j);
/* Waits (main thread) until the job finished or the monotonic deadline;
 * joins it when finished.  1 finished, 0 not (yet); a signal arriving
 * meanwhile ends the wait early and is returned in *sig (else 0). */
int arec_host_job_wait(arec_host_job *j, int64_t deadline_ms, int *sig);

/* The recovery job's context: the restore runs whether or not recovery is
 * enabled (when it is not, the manager's takeover option is off and the
 * pass takes nothing over). */
typedef struct arec_host_recovery {
  arec_manager *mgr;
  arec_lock *lock;         /* pinged until it answers when !lock_up */
  int lock_up;             /* the lock service answered at start */
  int enabled;             /* AGENT_RECOVERY_ENABLED (the gauge) */
  atomic_int *stopping;    /* shutdown began: give up waiting */
  atomic_int *ready;       /* set when done */
  atomic_int *recovery_active;
} arec_host_recovery;

/* The job function (arg: arec_host_recovery *). */
void arec_host_recovery_main(void *arg);

#endif
