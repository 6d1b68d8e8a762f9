/*
 * clock.c -- the manager's time helpers: the monotonic clock (every
 * deadline, validity and duration), the wall clock (only for what is shown
 * to people, started_at, and for the place of a pod's turn on a timeline
 * the pods share, share.c), absolute deadlines for condition waits, and
 * condition variables that wait on the monotonic clock.
 *
 * Must never: measure a deadline or a duration on the wall clock (it jumps).
 */
#include <time.h>

#include "internal.h"

static int64_t clock_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t arec__now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

double arec__now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t arec__wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

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
