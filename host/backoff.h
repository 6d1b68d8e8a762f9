/*
 * backoff.h -- the daemon's retry loops: an attempt is repeated with a
 * doubling delay until it succeeds, fails for good, runs out of attempts
 * or time, or the wait is interrupted (a signal in the main thread, the
 * shutdown flag on another thread).  Each retry is logged once at WARN
 * with the attempt number, the delay and the reason.
 */
#ifndef AREC_HOST_BACKOFF_H
#define AREC_HOST_BACKOFF_H

#include <stdint.h>

/* One attempt: 0 done; > 0 failed, try again; < 0 failed for good (that
 * value is returned).  `attempt` counts from 1; `left_ms` is the time
 * until the deadline (INT64_MAX without one). */
typedef int (*arec_host_attempt_fn)(void *ud, int attempt, int64_t left_ms);
/* Sleeps ms; nonzero to stop retrying (a signal, a shutdown). */
typedef int (*arec_host_sleep_fn)(void *ud, int64_t ms);

typedef struct arec_host_retry {
  const char *retry_msg;   /* WARN line of each retry */
  const char *giveup_msg;  /* ERROR line when attempts or time run out
                              (NULL: not logged) */
  int64_t first_delay_ms;  /* default 200 */
  int64_t max_delay_ms;    /* default 5000 */
  int64_t timeout_ms;      /* give up after this long; 0: no limit */
  int max_attempts;        /* give up after this many; 0: no limit */
  arec_host_sleep_fn sleep; /* NULL: arec_host_signal_wait (main thread) */
  void *sleep_ud;
} arec_host_retry;

enum {
  AREC_HOST_RETRY_DONE = 0,
  AREC_HOST_RETRY_GAVE_UP = 1,     /* attempts or time ran out */
  AREC_HOST_RETRY_INTERRUPTED = 2  /* the sleep said stop */
};

/* Runs the loop.  AREC_HOST_RETRY_*, or the attempt's negative value. */
int arec_host_retry_run(const arec_host_retry *r, arec_host_attempt_fn fn,
                        void *ud);

#endif
