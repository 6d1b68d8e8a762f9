/*
 * hub.c -- the exchange hub of a host: one circuit breaker (breaker.c) and
 * Retry-After ban per endpoint, the request and rejection counters, the
 * cache of each symbol's exchange rules, and their Prometheus rendering.
 *
 * One mutex serialises everything; the log and the change callback run
 * outside it, once per breaker state change.  The rules cache lets one
 * caller refresh an entry while the others keep using the old rules, so a
 * fleet of agents on one symbol makes one exchangeInfo call per refresh.
 * Never logs a URL's query string or any credential (endpoints are base
 * URLs only).  The hub also owns libcurl's global init (made before any
 * thread uses curl).
 */
#include "trading/exchange.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "trading/rules.h"

typedef struct endpoint {
  char *url;
  arec_breaker b;
  int64_t banned_until_ms; /* Retry-After */
} endpoint;

typedef struct rules_entry {
  char *url;
  char sym[32];
  arec_xrules r;
  int have;
  int64_t fetched_ms;    /* of the rules held */
  int64_t attempt_ms;    /* last refresh started */
  int refreshing;
  int last_failed;
} rules_entry;

struct arec_exchange_hub {
  pthread_mutex_t mu;
  arec_exchange_hub_options opts;
  endpoint *eps;
  size_t neps, cap;
  rules_entry *rules;
  size_t nrules, rcap;
  uint64_t ok, error, rejected, open;
  uint64_t rejections[3];
  uint64_t rules_fetches, rules_failures;
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
  if (h->opts.rules_ttl_ms <= 0) h->opts.rules_ttl_ms = 3600000;
  if (h->opts.rules_retry_ms <= 0) h->opts.rules_retry_ms = 60000;
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
  for (size_t i = 0; i < h->nrules; i++) free(h->rules[i].url);
  free(h->rules);
  pthread_mutex_destroy(&h->mu);
  free(h);
  curl_global_cleanup();
}

/* ------------------------------------------------------------- breakers */
/* v with room for one more element of `size` bytes (n of *cap in use; the
 * capacity doubles from `first`): v itself, a larger copy, or NULL (v left
 * as it was) when out of memory. */
static void *with_room(void *v, size_t n, size_t *cap, size_t size,
                       size_t first) {
  if (n < *cap) return v;
  size_t nc = *cap ? *cap * 2 : first;
  void *nv = realloc(v, nc * size);
  if (nv) *cap = nc;
  return nv;
}

/* Under the lock.  NULL on ENOMEM. */
static endpoint *ep_get(arec_exchange_hub *h, const char *url) {
  for (size_t i = 0; i < h->neps; i++)
    if (strcmp(h->eps[i].url, url) == 0) return &h->eps[i];
  endpoint *eps = with_room(h->eps, h->neps, &h->cap, sizeof *eps, 4);
  if (!eps) return NULL;
  h->eps = eps;
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
    arec_log_field f[3] = {
        {"endpoint", url, AREC_LOG_STRING},
        {"from", arec__breaker_state_name(from), AREC_LOG_STRING},
        {"to", arec__breaker_state_name(to), AREC_LOG_STRING}};
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

void arec__hub_rejection(arec_exchange_hub *h, arec_xreject reason) {
  if ((unsigned)reason > AREC_XREJ_OTHER) reason = AREC_XREJ_OTHER;
  pthread_mutex_lock(&h->mu);
  h->rejections[reason]++;
  pthread_mutex_unlock(&h->mu);
}

/* ---------------------------------------------------------- rules cache */
static rules_entry *rules_get(arec_exchange_hub *h, const char *url,
                              const char *sym) {
  for (size_t i = 0; i < h->nrules; i++)
    if (strcmp(h->rules[i].sym, sym) == 0 && strcmp(h->rules[i].url, url) == 0)
      return &h->rules[i];
  if (strlen(sym) >= sizeof h->rules[0].sym) return NULL;
  rules_entry *rules =
      with_room(h->rules, h->nrules, &h->rcap, sizeof *rules, 8);
  if (!rules) return NULL;
  h->rules = rules;
  rules_entry *e = &h->rules[h->nrules];
  memset(e, 0, sizeof *e);
  e->url = strdup(url);
  if (!e->url) return NULL;
  snprintf(e->sym, sizeof e->sym, "%s", sym);
  h->nrules++;
  return e;
}

int arec__hub_rules_take(arec_exchange_hub *h, const char *url,
                         const char *sym, arec_xrules *out, int *have) {
  int refresh = 0;
  int64_t t = now_ms();
  pthread_mutex_lock(&h->mu);
  rules_entry *e = rules_get(h, url, sym);
  if (!e) {
    pthread_mutex_unlock(&h->mu);
    *have = 0;
    return -1;
  }
  *have = e->have;
  if (e->have) *out = e->r;
  /* a refresh claimed longer ago than the retry interval was abandoned */
  if ((!e->refreshing || t - e->attempt_ms >= h->opts.rules_retry_ms) &&
      (!e->have || t - e->fetched_ms >= h->opts.rules_ttl_ms) &&
      (!e->last_failed || t - e->attempt_ms >= h->opts.rules_retry_ms)) {
    e->refreshing = 1;
    e->attempt_ms = t;
    refresh = 1;
  }
  pthread_mutex_unlock(&h->mu);
  return refresh;
}

void arec__hub_rules_put(arec_exchange_hub *h, const char *url,
                         const char *sym, const arec_xrules *r) {
  pthread_mutex_lock(&h->mu);
  rules_entry *e = rules_get(h, url, sym);
  if (e) {
    e->refreshing = 0;
    e->last_failed = r == NULL;
    if (r) {
      e->r = *r;
      e->have = 1;
      e->fetched_ms = now_ms();
    }
  }
  if (r) h->rules_fetches++;
  else h->rules_failures++;
  pthread_mutex_unlock(&h->mu);
}

/* ---------------------------------------------------------------- views */
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
  memcpy(out->rejections, h->rejections, sizeof out->rejections);
  out->rules_fetches = h->rules_fetches;
  out->rules_failures = h->rules_failures;
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
  char buf[2048];
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
               "exchange_circuit_open %lld\n"
               "# HELP exchange_rejections_total New orders the exchange "
               "refused, by reason (filter failure, insufficient balance, "
               "other).\n"
               "# TYPE exchange_rejections_total counter\n"
               "exchange_rejections_total{reason=\"filter\"} %llu\n"
               "exchange_rejections_total{reason=\"insufficient_balance\"} "
               "%llu\n"
               "exchange_rejections_total{reason=\"other\"} %llu\n",
               (unsigned long long)c.ok, (unsigned long long)c.error,
               (unsigned long long)c.rejected, (unsigned long long)c.open,
               (long long)c.circuits_open,
               (unsigned long long)c.rejections[AREC_XREJ_FILTER],
               (unsigned long long)c.rejections[AREC_XREJ_BALANCE],
               (unsigned long long)c.rejections[AREC_XREJ_OTHER]);
  if (n < 0 || (size_t)n >= sizeof buf) return AREC_ENOMEM;
  *out = strdup(buf);
  return *out ? 0 : AREC_ENOMEM;
}
