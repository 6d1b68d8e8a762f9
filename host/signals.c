/*
 * signals.c -- SIGTERM/SIGINT as synchronous events of the main thread
 * (signals.h), and the monotonic clock the lifecycle measures with.
 *
 * Never: install a handler that does work, or wait for a signal in a
 * thread other than the main one (the mask is shared by inheritance, the
 * waiting is not).
 */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

static sigset_t g_sigs;

void arec_host_signals_block(void) {
  sigemptyset(&g_sigs);
  sigaddset(&g_sigs, SIGTERM);
  sigaddset(&g_sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &g_sigs, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int arec_host_signal_wait(int64_t ms) {
  if (ms < 0) ms = 0;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  for (;;) {
    int s = sigtimedwait(&g_sigs, NULL, &ts);
    if (s > 0) return s;
    if (errno != EINTR) return 0; /* EAGAIN: the time is up */
  }
}

int64_t arec_host_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
