/*
 * signals.h -- how agentrecoverd takes SIGTERM and SIGINT: blocked in every
 * thread (block them before the first thread starts) and taken by
 * sigtimedwait() in the main thread, which also sleeps the start-up
 * backoffs in it, so a signal is never handled inside a signal handler and
 * a signal during start-up ends the wait at once.
 */
#ifndef AREC_HOST_SIGNALS_H
#define AREC_HOST_SIGNALS_H

#include <stdint.h>

/* Blocks SIGTERM and SIGINT in the calling thread (threads created later
 * inherit the mask) and ignores SIGPIPE. */
void arec_host_signals_block(void);

/* Sleeps up to ms (<= 0: only polls); the signal number that arrived, or 0.
 * Main thread only. */
int arec_host_signal_wait(int64_t ms);

/* Milliseconds on the monotonic clock. */
int64_t arec_host_now_ms(void);

#endif
