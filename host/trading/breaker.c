/*
 * breaker.c -- the circuit breaker per exchange endpoint and the hub that
 * holds one per endpoint, the Retry-After bans and the request counters.
 *
 * The breaker itself is a pure state machine over a caller-given monotonic
 * time (testable without sleeping); the hub serialises it with one mutex,
 * logs once per state change and renders the exchange metrics in
 * Prometheus text.  Never logs a URL's query string or any credential
 * (endpoints are base URLs only).  The hub also owns libcurl's global
 * init (made before any thread uses curl).
 */
#include "trading/exchange.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

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

/* ------------------------------------------------------------------- hub */
typedef struct endpoint {
  char *url;
  arec_breaker b;
  int64_t banned_until_ms; /* Retry-After */
} endpoint;

struct arec_exchange_hub {
  pthread_mutex_t mu;
  arec_exchange_hub_options opts;
  endpoint *eps;
  size_t neps, cap;
  uint64_t ok, error, rejected, open;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int arec_exchange_hub_new(arec_exchange_hub **out,
                          const arec_exchange_hub_options *opts) {
  arec_exchange_hub *h;
  arec_exchange_hub_options def = AREC_EXCHANGE_HUB_OPTIONS_INIT;
  if (!out) return AREC_EINVAL;
  *out = NULL;
  h = calloc(1, sizeof *h);
  if (!h) return AREC_ENOMEM;
  h->opts = opts ? *opts : def;
  if (!h->opts.threshold) h->opts.threshold = 5;
  if (h->opts.cooldown_ms <= 0) h->opts.cooldown_ms = 1000;
  if (h->opts.cooldown_max_ms <= 0) h->opts.cooldown_max_ms = 60000;
  pthread_mutex_init(&h->mu, NULL);
  /* the hub is made once at startup, before threads: libcurl's global
   * init (reference counted) belongs here, paired with the free */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  *out = h;
  return 0;
}

void arec_exchange_hub_free(arec_exchange_hub *h) {
  if (!h) return;
  for (size_t i = 0; i < h->neps; i++) free(h->eps[i].url);
  free(h->eps);
  pthread_mutex_destroy(&h->mu);
  free(h);
  curl_global_cleanup();
}

/* Under the lock.  NULL on ENOMEM. */
static endpoint *ep_get(arec_exchange_hub *h, const char *url) {
  for (size_t i = 0; i < h->neps; i++)
    if (strcmp(h->eps[i].url, url) == 0) return &h->eps[i];
  if (h->neps == h->cap) {
    size_t nc = h->cap ? h->cap * 2 : 4;
    endpoint *n = realloc(h->eps, nc * sizeof *n);
    if (!n) return NULL;
    h->eps = n;
    h->cap = nc;
  }
  endpoint *e = &h->eps[h->neps];
  memset(e, 0, sizeof *e);
  e->url = strdup(url);
  if (!e->url) return NULL;
  unsigned seed = (unsigned)now_ms() ^ (unsigned)(h->neps * 2654435761u);
  arec__breaker_init(&e->b, h->opts.threshold, h->opts.cooldown_ms,
                     h->opts.cooldown_max_ms, seed);
  h->neps++;
  return e;
}

static void announce(arec_exchange_hub *h, const char *url,
                     arec_breaker_state from, arec_breaker_state to) {
  if (h->opts.log) {
    arec_log_field f[3] = {{"endpoint", url},
                           {"from", arec__breaker_state_name(from)},
                           {"to", arec__breaker_state_name(to)}};
    const char *msg = to == AREC_BREAKER_OPEN
                          ? "exchange unavailable: circuit breaker open"
                      : to == AREC_BREAKER_CLOSED
                          ? "exchange recovered: circuit breaker closed"
                          : "exchange circuit breaker half-open: probing";
    h->opts.log(h->opts.log_userdata,
                to == AREC_BREAKER_OPEN ? AREC_LOG_WARN : AREC_LOG_INFO, msg,
                f, 3);
  }
  if (h->opts.on_change)
    h->opts.on_change(h->opts.change_userdata, url, from, to);
}

int arec__hub_gate(arec_exchange_hub *h, const char *url) {
  int allowed, changed = 0;
  arec_breaker_state from = AREC_BREAKER_CLOSED, to = AREC_BREAKER_CLOSED;
  int64_t t = now_ms(), ban_left = 0;
  pthread_mutex_lock(&h->mu);
  endpoint *e = ep_get(h, url);
  if (!e) {
    pthread_mutex_unlock(&h->mu);
    return AREC_ENOMEM;
  }
  if (e->banned_until_ms > t) {
    allowed = 0;
    ban_left = e->banned_until_ms - t;
  } else {
    from = e->b.state;
    allowed = arec__breaker_allow(&e->b, t, &changed);
    to = e->b.state;
  }
  if (!allowed) h->open++;
  pthread_mutex_unlock(&h->mu);
  if (changed) announce(h, url, from, to);
  if (allowed) return 0;
  if (ban_left > 0)
    arec_error_set("exchange rate limit: calls refused for %lld ms more "
                   "(Retry-After)", (long long)ban_left);
  else
    arec_error_set("exchange circuit breaker open: call skipped");
  return AREC_EUNAVAILABLE;
}

void arec__hub_record(arec_exchange_hub *h, const char *url, int kind,
                      int64_t retry_after_ms) {
  int changed;
  arec_breaker_state from, to;
  int64_t t = now_ms();
  pthread_mutex_lock(&h->mu);
  endpoint *e = ep_get(h, url);
  if (!e) {
    pthread_mutex_unlock(&h->mu);
    return;
  }
  if (kind == 0) h->ok++;
  else if (kind == 1) h->error++;
  else h->rejected++;
  if (retry_after_ms > 0 && t + retry_after_ms > e->banned_until_ms)
    e->banned_until_ms = t + retry_after_ms;
  from = e->b.state;
  changed = arec__breaker_record(&e->b, t, kind != 1);
  to = e->b.state;
  pthread_mutex_unlock(&h->mu);
  if (changed) announce(h, url, from, to);
}

void arec_exchange_hub_counters(arec_exchange_hub *h,
                                arec_exchange_counters *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&h->mu);
  out->ok = h->ok;
  out->error = h->error;
  out->rejected = h->rejected;
  out->open = h->open;
  for (size_t i = 0; i < h->neps; i++)
    if (h->eps[i].b.state != AREC_BREAKER_CLOSED) out->circuits_open++;
  pthread_mutex_unlock(&h->mu);
}

arec_breaker_state arec_exchange_hub_state(arec_exchange_hub *h,
                                           const char *url) {
  arec_breaker_state s = AREC_BREAKER_CLOSED;
  pthread_mutex_lock(&h->mu);
  for (size_t i = 0; i < h->neps; i++)
    if (strcmp(h->eps[i].url, url) == 0) s = h->eps[i].b.state;
  pthread_mutex_unlock(&h->mu);
  return s;
}

int arec_exchange_hub_render(arec_exchange_hub *h, char **out) {
  arec_exchange_counters c;
  char buf[1024];
  int n;
  *out = NULL;
  arec_exchange_hub_counters(h, &c);
  n = snprintf(buf, sizeof buf,
               "# HELP exchange_requests_total Exchange REST calls by result "
               "(open: refused locally by the circuit breaker or a "
               "Retry-After).\n"
               "# TYPE exchange_requests_total counter\n"
               "exchange_requests_total{result=\"ok\"} %llu\n"
               "exchange_requests_total{result=\"error\"} %llu\n"
               "exchange_requests_total{result=\"rejected\"} %llu\n"
               "exchange_requests_total{result=\"open\"} %llu\n"
               "# HELP exchange_circuit_open Exchange endpoints whose circuit "
               "breaker is not closed.\n"
               "# TYPE exchange_circuit_open gauge\n"
               "exchange_circuit_open %lld\n",
               (unsigned long long)c.ok, (unsigned long long)c.error,
               (unsigned long long)c.rejected, (unsigned long long)c.open,
               (long long)c.circuits_open);
  if (n < 0 || (size_t)n >= sizeof buf) return AREC_ENOMEM;
  *out = strdup(buf);
  return *out ? 0 : AREC_ENOMEM;
}
