/*
 * breaker.c -- the circuit breaker of one exchange endpoint: a pure state
 * machine over a caller-given monotonic time (testable without sleeping).
 * The hub (hub.c) keeps one per endpoint and serialises it.
 *
 * Not thread-safe by itself; no I/O, no clock, no logging.
 */
#include "trading/exchange.h"

#include <string.h>

/* --------------------------------------------------------------- breaker */
const char *arec__breaker_state_name(arec_breaker_state s) {
  switch (s) {
  case AREC_BREAKER_CLOSED: return "closed";
  case AREC_BREAKER_OPEN: return "open";
  case AREC_BREAKER_HALF_OPEN: return "half-open";
  }
  return "?";
}

void arec__breaker_init(arec_breaker *b, unsigned threshold,
                        int64_t cooldown_ms, int64_t cooldown_max_ms,
                        unsigned seed) {
  memset(b, 0, sizeof *b);
  b->threshold = threshold ? threshold : 5;
  b->cooldown_ms = cooldown_ms > 0 ? cooldown_ms : 1000;
  b->cooldown_max_ms =
      cooldown_max_ms >= b->cooldown_ms ? cooldown_max_ms : b->cooldown_ms;
  b->cur_cooldown_ms = b->cooldown_ms;
  b->jitter_seed = seed ? seed : 0x9e3779b9u;
}

static void breaker_open(arec_breaker *b, int64_t now_ms) {
  /* xorshift32: per-breaker jitter source, no global state */
  unsigned x = b->jitter_seed;
  int64_t jitter;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  b->jitter_seed = x;
  jitter = (int64_t)(x % 1000u) * b->cur_cooldown_ms / 5000; /* 0..20 % */
  b->state = AREC_BREAKER_OPEN;
  b->open_until_ms = now_ms + b->cur_cooldown_ms + jitter;
  b->probe_in_flight = 0;
}

int arec__breaker_allow(arec_breaker *b, int64_t now_ms, int *changed) {
  if (changed) *changed = 0;
  switch (b->state) {
  case AREC_BREAKER_CLOSED:
    return 1;
  case AREC_BREAKER_OPEN:
    if (now_ms < b->open_until_ms) return 0;
    b->state = AREC_BREAKER_HALF_OPEN;
    b->probe_in_flight = 0;
    if (changed) *changed = 1;
    /* fall through: the first caller takes the probe */
    /* FALLTHROUGH */
  case AREC_BREAKER_HALF_OPEN:
    if (b->probe_in_flight) return 0;
    b->probe_in_flight = 1;
    return 1;
  }
  return 0;
}

int arec__breaker_record(arec_breaker *b, int64_t now_ms, int ok) {
  arec_breaker_state before = b->state;
  if (ok) {
    b->failures = 0;
    if (b->state != AREC_BREAKER_CLOSED) {
      b->state = AREC_BREAKER_CLOSED;
      b->cur_cooldown_ms = b->cooldown_ms;
      b->probe_in_flight = 0;
    }
  } else if (b->state == AREC_BREAKER_HALF_OPEN) {
    b->cur_cooldown_ms *= 2;
    if (b->cur_cooldown_ms > b->cooldown_max_ms)
      b->cur_cooldown_ms = b->cooldown_max_ms;
    breaker_open(b, now_ms);
  } else if (b->state == AREC_BREAKER_CLOSED) {
    if (++b->failures >= b->threshold) breaker_open(b, now_ms);
  }
  /* a late answer while open changes nothing */
  return b->state != before;
}
