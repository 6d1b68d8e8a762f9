/*
 * backoff.c -- the retry loop of backoff.h: attempt, then sleep a delay
 * that doubles from first_delay_ms up to max_delay_ms, capped by what is
 * left of the timeout, until the attempt succeeds or the loop gives up.
 *
 * Never: sleep past the timeout, retry after a permanent failure, or
 * log anything but the attempt number, the delay and arec_error_last()
 * (which the library keeps free of secrets).
 */
#include "backoff.h"

#include "agentrecover.h"
#include "log.h"
#include "signals.h"

static int sleep_for_signal(void *ud, int64_t ms) {
  (void)ud;
  return arec_host_signal_wait(ms) != 0;
}

int arec_host_retry_run(const arec_host_retry *r, arec_host_attempt_fn fn,
                        void *ud) {
  int64_t delay = r->first_delay_ms > 0 ? r->first_delay_ms : 200;
  int64_t max = r->max_delay_ms > 0 ? r->max_delay_ms : 5000;
  arec_host_sleep_fn sleep = r->sleep ? r->sleep : sleep_for_signal;
  int64_t deadline = r->timeout_ms > 0 ? arec_host_now_ms() + r->timeout_ms
                                       : INT64_MAX;
  for (int attempt = 1;; attempt++) {
    int64_t left = deadline == INT64_MAX ? INT64_MAX
                                         : deadline - arec_host_now_ms();
    int rc = fn(ud, attempt, left);
    if (rc <= 0) return rc;
    left = deadline == INT64_MAX ? INT64_MAX : deadline - arec_host_now_ms();
    if (left <= 0 || (r->max_attempts > 0 && attempt >= r->max_attempts)) {
      if (r->giveup_msg)
        hlog(AREC_LOG_ERROR, r->giveup_msg, HL_I("attempts", attempt),
             HL_S("error", arec_error_last()), HL_END);
      return AREC_HOST_RETRY_GAVE_UP;
    }
    int64_t wait = delay < left ? delay : left;
    hlog(AREC_LOG_WARN, r->retry_msg, HL_I("attempt", attempt),
         HL_I("retry_in_ms", wait), HL_S("error", arec_error_last()), HL_END);
    if (sleep(r->sleep_ud, wait)) return AREC_HOST_RETRY_INTERRUPTED;
    delay = delay * 2 > max ? max : delay * 2;
  }
}
