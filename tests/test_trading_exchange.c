/*
 * test_trading_exchange.c -- the exchange client of host/trading against
 * the fake exchange (tests/support/host/fake_exchange.c): signing as Binance
 * defines it, symbol and endpoint mapping, client order ids, error bodies,
 * Retry-After, the circuit breaker (pure and over HTTP) and its metrics,
 * a timed-out order found again by origClientOrderId, the symbol rules
 * (exchangeInfo cached in the hub, refreshed after their TTL, kept when a
 * refresh fails), refused orders counted by reason (not as breaker
 * failures) in promtool-clean metrics, fills with commissions, the order
 * and trade lists, and the account's commission rate.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>

#include "support/host/fake_exchange.h"
#include "support/runner.h"
#include "trading/exchange.h"
#include "trading/rules.h"

#define KEY "test-key-AAAA"
#define SECRET "test-secret-BBBB"

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

/* ----------------------------------------------------------- pure parts */
START_TEST(signature_matches_binance_example) {
  /* the worked example of Binance's "SIGNED endpoint examples" */
  char sig[65];
  const char *q = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1"
                  "&price=0.1&recvWindow=5000&timestamp=1499827319559";
  arec__hmac_hex(sig, "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
                 q, strlen(q));
  ck_assert_str_eq(sig, "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
}
END_TEST

START_TEST(symbols_and_endpoints) {
  char s[32], u[128];
  ck_assert_int_eq(arec__xsymbol(s, sizeof s, "BTC/USDT"), 0);
  ck_assert_str_eq(s, "BTCUSDT");
  ck_assert_int_eq(arec__xsymbol(s, sizeof s, "eth-usdt"), 0);
  ck_assert_str_eq(s, "ETHUSDT");
  ck_assert_int_eq(arec__xsymbol(s, sizeof s, "BTC/US DT"), AREC_EINVAL);
  ck_assert_int_eq(arec__xsymbol(s, sizeof s, "/"), AREC_EINVAL);
  ck_assert_int_eq(arec__xsymbol(s, 4, "BTCUSDT"), AREC_EINVAL);

  ck_assert_int_eq(arec__xbase_url(u, sizeof u, "binance", 1, NULL), 0);
  ck_assert_str_eq(u, "https://testnet.binance.vision");
  ck_assert_int_eq(arec__xbase_url(u, sizeof u, "binance", 0, ""), 0);
  ck_assert_str_eq(u, "https://api.binance.com");
  ck_assert_int_eq(arec__xbase_url(u, sizeof u, "binance", 0, "http://127.0.0.1:9/"), 0);
  ck_assert_str_eq(u, "http://127.0.0.1:9");
  ck_assert_int_eq(arec__xbase_url(u, sizeof u, "kraken", 1, NULL), AREC_EINVAL);
}
END_TEST

START_TEST(client_order_ids_fit_binance_rule) {
  char a[37], b[37], c[37], d[37];
  const char *long1 = "agent_with_a_really_long_identifier_that_goes_on_and_on-1";
  const char *long2 = "agent_with_a_really_long_identifier_that_goes_on_and_on-2";
  arec__client_order_id(a, "abc123", 7, 1);
  ck_assert_str_eq(a, "abc123-7-1");
  arec__client_order_id(b, "abc123", 7, 2);
  ck_assert_str_ne(a, b);
  arec__client_order_id(b, "abc123", 8, 1);
  ck_assert_str_ne(a, b);
  arec__client_order_id(c, long1, UINT64_MAX, UINT64_MAX);
  arec__client_order_id(d, long2, UINT64_MAX, UINT64_MAX);
  ck_assert(arec__client_order_id_valid(c));
  ck_assert(arec__client_order_id_valid(d));
  ck_assert_uint_le(strlen(c), 36);
  ck_assert_str_ne(c, d); /* same prefix, different agents */
  arec__client_order_id(c, long1, 3, 4);
  ck_assert(arec__client_order_id_valid(c));
  ck_assert(!arec__client_order_id_valid("has space"));
  ck_assert(!arec__client_order_id_valid("0123456789012345678901234567890123456"));
  ck_assert(!arec__client_order_id_valid(""));
}
END_TEST

START_TEST(breaker_state_machine) {
  arec_breaker b;
  int changed;
  arec__breaker_init(&b, 5, 100, 350, 42);
  for (int i = 0; i < 4; i++) {
    ck_assert(arec__breaker_allow(&b, 0, &changed));
    ck_assert(!arec__breaker_record(&b, 0, 0));
  }
  ck_assert_int_eq(b.state, AREC_BREAKER_CLOSED);
  ck_assert(arec__breaker_record(&b, 0, 0)); /* 5th failure */
  ck_assert_int_eq(b.state, AREC_BREAKER_OPEN);
  ck_assert_int_ge(b.open_until_ms, 100);
  ck_assert_int_le(b.open_until_ms, 120); /* + at most 20 % jitter */
  ck_assert(!arec__breaker_allow(&b, 99, &changed));
  ck_assert(!changed);
  ck_assert(arec__breaker_allow(&b, 121, &changed)); /* the probe */
  ck_assert(changed);
  ck_assert_int_eq(b.state, AREC_BREAKER_HALF_OPEN);
  ck_assert(!arec__breaker_allow(&b, 121, &changed)); /* one probe only */
  ck_assert(arec__breaker_record(&b, 130, 0));          /* probe failed */
  ck_assert_int_eq(b.state, AREC_BREAKER_OPEN);
  ck_assert_int_ge(b.open_until_ms, 130 + 200); /* doubled */
  ck_assert_int_le(b.open_until_ms, 130 + 240);
  ck_assert(arec__breaker_allow(&b, 400, &changed));
  ck_assert(arec__breaker_record(&b, 400, 0));
  ck_assert_int_ge(b.open_until_ms, 400 + 350); /* capped at max */
  ck_assert_int_le(b.open_until_ms, 400 + 420);
  ck_assert(arec__breaker_allow(&b, 900, &changed));
  ck_assert(arec__breaker_record(&b, 900, 1)); /* success closes */
  ck_assert_int_eq(b.state, AREC_BREAKER_CLOSED);
  ck_assert_int_eq(b.cur_cooldown_ms, 100); /* reset */
  ck_assert_uint_eq(b.failures, 0);
}
END_TEST

/* ----------------------------------------------------- over HTTP (fake) */
typedef struct fixture {
  arec_fx *fx;
  arec_exchange_hub *hub;
  arec_exchange *x;
  int changes[8];
  int nchanges;
} fixture;

static void on_change(void *ud, const char *endpoint, arec_breaker_state from,
                      arec_breaker_state to) {
  fixture *f = ud;
  (void)endpoint;
  (void)from;
  if (f->nchanges < 8) f->changes[f->nchanges++] = (int)to;
}

static void setup_r(fixture *f, const char *secret, int64_t timeout_ms,
                    int64_t rules_ttl_ms, int64_t rules_retry_ms) {
  static const double prices[] = {100, 101, 102, 103, 104, 105};
  arec_exchange_hub_options ho = AREC_EXCHANGE_HUB_OPTIONS_INIT;
  arec_exchange_config xc = {0};
  memset(f, 0, sizeof *f);
  ck_assert_int_eq(arec_fx_start(&f->fx, KEY, SECRET), 0);
  arec_fx_set_prices(f->fx, "BTCUSDT", prices, 6);
  ho.cooldown_ms = 300;
  ho.cooldown_max_ms = 1200;
  if (rules_ttl_ms) ho.rules_ttl_ms = rules_ttl_ms;
  if (rules_retry_ms) ho.rules_retry_ms = rules_retry_ms;
  ho.on_change = on_change;
  ho.change_userdata = f;
  ck_assert_int_eq(arec_exchange_hub_new(&f->hub, &ho), 0);
  xc.base_url = arec_fx_url(f->fx);
  xc.api_key = KEY;
  xc.api_secret = secret;
  xc.timeout_ms = timeout_ms;
  xc.connect_timeout_ms = 1000;
  ck_assert_int_eq(arec_exchange_new(&f->x, f->hub, &xc), 0);
}

static void setup_f(fixture *f, const char *secret, int64_t timeout_ms) {
  setup_r(f, secret, timeout_ms, 0, 0);
}

static void teardown_f(fixture *f) {
  arec_exchange_free(f->x);
  arec_exchange_hub_free(f->hub);
  arec_fx_stop(f->fx);
}

START_TEST(public_and_signed_calls) {
  fixture f;
  double p, closes[10], usdt;
  size_t n;
  arec_order o;
  arec_fx_stats st;
  setup_f(&f, SECRET, 2000);
  ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), 0);
  ck_assert_double_eq_tol(p, 100, 1e-9);
  ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), 0);
  ck_assert_double_eq_tol(p, 101, 1e-9);
  ck_assert_int_eq(arec_exchange_klines(f.x, "BTC/USDT", "1m", 10, closes, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_double_eq_tol(closes[1], 101, 1e-9);
  ck_assert_int_eq(arec_exchange_balance(f.x, "USDT", &usdt), 0);
  ck_assert_double_eq_tol(usdt, 10000, 1e-6);
  /* a signed POST (params in the body) */
  ck_assert_int_eq(arec_exchange_order_place(f.x, "BTC/USDT", "BUY", "0.5", NULL, "abc-1-1", &o), 0);
  ck_assert_str_eq(o.status, "FILLED");
  ck_assert_str_eq(o.client_id, "abc-1-1");
  ck_assert_double_eq_tol(o.executed_qty, 0.5, 1e-9);
  ck_assert_double_eq_tol(o.quote_qty, 50.5, 1e-6);
  /* the same client order id again: the exchange refuses a duplicate */
  ck_assert_int_eq(arec_exchange_order_place(f.x, "BTC/USDT", "BUY", "0.5", NULL, "abc-1-1", &o),
                   AREC_EBACKEND);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "-2010"));
  ck_assert_int_eq(arec_exchange_order_query(f.x, "BTC/USDT", "abc-1-1", &o), 0);
  ck_assert_double_eq_tol(o.executed_qty, 0.5, 1e-9);
  ck_assert_int_eq(arec_exchange_order_query(f.x, "BTC/USDT", "abc-1-2", &o), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_exchange_order_cancel(f.x, "BTC/USDT", "abc-1-1", &o), AREC_EBACKEND);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.bad_signatures, 0);
  ck_assert_uint_eq(st.orders, 1);
  teardown_f(&f);
}
END_TEST

START_TEST(bad_secret_is_refused_and_never_echoed) {
  fixture f;
  double usdt;
  arec_order o;
  arec_fx_stats st;
  setup_f(&f, "wrong-secret-CCCC", 2000);
  ck_assert_int_eq(arec_exchange_balance(f.x, "USDT", &usdt), AREC_EBACKEND);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "-1022"));
  ck_assert_ptr_null(strstr(arec_error_last(), "wrong-secret"));
  ck_assert_ptr_null(strstr(arec_error_last(), KEY));
  ck_assert_ptr_null(strstr(arec_error_last(), "signature="));
  ck_assert_int_eq(arec_exchange_order_place(f.x, "BTC/USDT", "SELL", "1", NULL, "x-1-1", &o),
                   AREC_EBACKEND);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.bad_signatures, 2);
  ck_assert_uint_eq(st.orders, 0);
  /* an exchange that answered "no" is up: the breaker stays closed */
  ck_assert_int_eq(arec_exchange_hub_state(f.hub, arec_fx_url(f.fx)), AREC_BREAKER_CLOSED);
  teardown_f(&f);
}
END_TEST

START_TEST(timed_out_order_is_found_not_resent) {
  fixture f;
  arec_order o;
  arec_fx_stats st;
  long long t0;
  int rc;
  setup_f(&f, SECRET, 300);
  arec_fx_order_delay(f.fx, 1, 1500); /* filled, answer held */
  t0 = mono_ms();
  rc = arec_exchange_order_place(f.x, "BTC/USDT", "BUY", "0.25", NULL, "ag-2-5", &o);
  ck_assert_int_eq(rc, AREC_ETIMEDOUT);
  ck_assert_int_lt(mono_ms() - t0, 1400); /* the client's timeout bounded it */
  /* outcome unknown: ask by origClientOrderId before any retry */
  ck_assert_int_eq(arec_exchange_order_query(f.x, "BTC/USDT", "ag-2-5", &o), 0);
  ck_assert_str_eq(o.status, "FILLED");
  ck_assert_double_eq_tol(o.executed_qty, 0.25, 1e-9);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.order_posts, 1);
  ck_assert_uint_eq(st.orders, 1);
  ck_assert_int_eq(arec_fx_order_find(f.fx, "ag-2-5", NULL, NULL), 1);
  teardown_f(&f);
}
END_TEST

START_TEST(retry_after_is_honoured) {
  fixture f;
  double p;
  arec_fx_stats st;
  setup_f(&f, SECRET, 2000);
  arec_fx_rate_limit(f.fx, 1, 1);
  ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), AREC_EUNAVAILABLE);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "429"));
  /* refused locally until the ban ends: no request reaches the exchange */
  for (int i = 0; i < 10; i++)
    ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), AREC_EUNAVAILABLE);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.requests, 1);
  sleep_ms(1100);
  ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), 0);
  ck_assert_int_eq(arec_exchange_hub_state(f.hub, arec_fx_url(f.fx)), AREC_BREAKER_CLOSED);
  teardown_f(&f);
}
END_TEST

START_TEST(breaker_opens_probes_and_closes_without_storm) {
  fixture f;
  double p;
  arec_fx_stats st;
  arec_exchange_counters c;
  char *text;
  const char *ep;
  setup_f(&f, SECRET, 1000);
  ep = arec_fx_url(f.fx);
  arec_fx_fail(f.fx, 503, -1); /* exchange down */
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_exchange_hub_state(f.hub, ep), AREC_BREAKER_OPEN);
  /* while open: 50 calls, none reaches the exchange */
  for (int i = 0; i < 50; i++)
    ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), AREC_EUNAVAILABLE);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.requests, 5);
  /* cool-down (300 ms + up to 20 % jitter), one probe, still down:
   * re-opens */
  sleep_ms(400);
  ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_exchange_hub_state(f.hub, ep), AREC_BREAKER_OPEN);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.requests, 6);
  /* doubled cool-down (600..720 ms): 300 ms later it is still open */
  sleep_ms(300);
  ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), AREC_EUNAVAILABLE);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.requests, 6);
  /* exchange back; after the cool-down the probe succeeds and closes */
  arec_fx_fail(f.fx, 0, 0);
  sleep_ms(500);
  ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), 0);
  ck_assert_int_eq(arec_exchange_hub_state(f.hub, ep), AREC_BREAKER_CLOSED);
  ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), 0);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.requests, 8);
  /* one notification per state change */
  ck_assert_int_eq(f.nchanges, 5);
  ck_assert_int_eq(f.changes[0], AREC_BREAKER_OPEN);
  ck_assert_int_eq(f.changes[1], AREC_BREAKER_HALF_OPEN);
  ck_assert_int_eq(f.changes[2], AREC_BREAKER_OPEN);
  ck_assert_int_eq(f.changes[3], AREC_BREAKER_HALF_OPEN);
  ck_assert_int_eq(f.changes[4], AREC_BREAKER_CLOSED);
  arec_exchange_hub_counters(f.hub, &c);
  ck_assert_uint_eq(c.ok, 2);
  ck_assert_uint_eq(c.error, 6);
  ck_assert_uint_eq(c.open, 51);
  ck_assert_int_eq(c.circuits_open, 0);
  ck_assert_int_eq(arec_exchange_hub_render(f.hub, &text), 0);
  ck_assert_ptr_nonnull(strstr(text, "# TYPE exchange_requests_total counter\n"));
  ck_assert_ptr_nonnull(strstr(text, "exchange_requests_total{result=\"ok\"} 2\n"));
  ck_assert_ptr_nonnull(strstr(text, "exchange_requests_total{result=\"error\"} 6\n"));
  ck_assert_ptr_nonnull(strstr(text, "exchange_requests_total{result=\"open\"} 51\n"));
  ck_assert_ptr_nonnull(strstr(text, "exchange_requests_total{result=\"rejected\"} 0\n"));
  ck_assert_ptr_nonnull(strstr(text, "# TYPE exchange_circuit_open gauge\nexchange_circuit_open 0\n"));
  free(text);
  teardown_f(&f);
}
END_TEST

START_TEST(dropped_connections_count_as_failures) {
  fixture f;
  double p;
  setup_f(&f, SECRET, 1000);
  arec_fx_fail(f.fx, 0, -1); /* connection closed without an answer */
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_exchange_hub_state(f.hub, arec_fx_url(f.fx)), AREC_BREAKER_OPEN);
  teardown_f(&f);
}
END_TEST


START_TEST(rules_cached_refreshed_and_kept_when_refresh_fails) {
  fixture f;
  arec_xrules r;
  arec_fx_stats st;
  arec_exchange_counters c;
  arec_fx_filters ff = {"0.00001000", "0.00001000", "9000.00000000", NULL,
                        NULL, NULL, "0.01000000", "10.00000000", 1, 1,
                        NULL, NULL};
  const long long TTL = 400, RETRY = 300;
  setup_r(&f, SECRET, 2000, TTL, RETRY);
  arec_fx_set_filters(f.fx, "BTCUSDT", &ff);
  ck_assert_int_eq(arec_exchange_rules(f.x, "BTC/USDT", &r), 0);
  long long fetched = mono_ms();
  ck_assert_str_eq(r.base_asset, "BTC");
  ck_assert_str_eq(r.quote_asset, "USDT");
  ck_assert_int_eq(r.step.v, 1);
  ck_assert_int_eq(r.step.scale, 5);
  ck_assert_double_eq(r.min_notional, 10);
  /* within the TTL: from the hub, for any client on that endpoint */
  for (int i = 0; i < 5; i++) ck_assert_int_eq(arec_exchange_rules(f.x, "BTC/USDT", &r), 0);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.exchange_info, 1);
  /* the exchange changes its step; seen after the TTL only */
  ff.step = "0.00100000";
  arec_fx_set_filters(f.fx, "BTCUSDT", &ff);
  ck_assert_int_eq(arec_exchange_rules(f.x, "BTC/USDT", &r), 0);
  if (mono_ms() - fetched < TTL) ck_assert_int_eq(r.step.scale, 5);
  sleep_ms((int)TTL + 50);
  ck_assert_int_eq(arec_exchange_rules(f.x, "BTC/USDT", &r), 0);
  fetched = mono_ms();
  ck_assert_int_eq(r.step.scale, 3);
  /* the next refresh fails: the old rules stay, no call before RETRY */
  sleep_ms((int)TTL + 50);
  arec_fx_fail(f.fx, 503, -1);
  ck_assert_int_eq(arec_exchange_rules(f.x, "BTC/USDT", &r), 0);
  long long failed_at = mono_ms();
  ck_assert_int_eq(r.step.scale, 3);
  arec_fx_get_stats(f.fx, &st);
  unsigned calls = st.requests;
  ck_assert_int_eq(arec_exchange_rules(f.x, "BTC/USDT", &r), 0);
  arec_fx_get_stats(f.fx, &st);
  if (mono_ms() - failed_at < RETRY) ck_assert_uint_eq(st.requests, calls);
  /* back: retried after RETRY */
  arec_fx_fail(f.fx, 0, 0);
  ff.step = "0.01000000";
  arec_fx_set_filters(f.fx, "BTCUSDT", &ff);
  sleep_ms((int)RETRY + 50);
  ck_assert_int_eq(arec_exchange_rules(f.x, "BTC/USDT", &r), 0);
  ck_assert_int_eq(r.step.scale, 2);
  arec_exchange_hub_counters(f.hub, &c);
  ck_assert_uint_eq(c.rules_fetches, 3);
  ck_assert_uint_eq(c.rules_failures, 1);
  /* a symbol the exchange does not list: an error, nothing cached */
  ck_assert_int_ne(arec_exchange_rules(f.x, "DOGE/USDT", &r), 0);
  (void)fetched;
  teardown_f(&f);
}
END_TEST

/* promtool's verdict on `text`; 1 clean. */
static int promtool_clean(const char *text, char *out, size_t len) {
  char path[] = "/tmp/arec_fx_metrics_XXXXXX", cmd[256];
  int fd = mkstemp(path);
  FILE *p;
  size_t n;
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
  p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  n = fread(out, 1, len - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  unlink(path);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

START_TEST(refused_orders_counted_by_reason_not_as_failures) {
  fixture f;
  arec_order o;
  arec_exchange_counters c;
  arec_fx_filters ff = {"0.001", "0.001", "1000", NULL, NULL, NULL, "0.01",
                        "10", 0, 1, NULL, NULL};
  const char *msg;
  char *text, out[4096];
  setup_f(&f, SECRET, 2000);
  arec_fx_set_filters(f.fx, "BTCUSDT", &ff);
  /* each order the exchange refuses (or the client, before sending) */
  static const struct {
    const char *side, *qty, *coid;
    int rc;          /* what order_place answers */
    long code;       /* the exchange's error code (0: not read) */
    const char *msg; /* its message (NULL: not compared) */
  } refused[] = {
      /* a quantity off the step: Binance's exact answer */
      {"BUY", "0.0015", "ab-1-1", AREC_EBACKEND, -1013,
       "Filter failure: LOT_SIZE"},
      /* under the minimum notional (0.05 x 100 = 5 < 10) */
      {"BUY", "0.05", "ab-1-2", AREC_EBACKEND, 0, "Filter failure: NOTIONAL"},
      /* more than the balance (10000 USDT) */
      {"BUY", "500", "ab-1-3", AREC_EBACKEND, -2010,
       "Account has insufficient balance for requested action."},
      /* a sell of what the account does not hold */
      {"SELL", "1", "ab-1-4", AREC_EBACKEND, 0, NULL},
      /* too many decimals for the exchange: refused, "other" */
      {"BUY", "0.123456789", "ab-1-5", AREC_EBACKEND, -1111, NULL},
      /* refused locally, never sent: not counted */
      {"BUY", "1e-3", "ab-1-6", AREC_EINVAL, 0, NULL},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    ck_assert_msg(arec_exchange_order_place(f.x, "BTC/USDT", refused[i].side,
                                            refused[i].qty, NULL,
                                            refused[i].coid, &o) ==
                      refused[i].rc,
                  "order %s", refused[i].coid);
    if (refused[i].code)
      ck_assert_int_eq(arec_exchange_last_error(f.x, &msg), refused[i].code);
    if (refused[i].msg) /* the last error read */
      ck_assert_str_eq(msg, refused[i].msg);
  }
  /* the exchange is up: refusals never open the breaker */
  for (int i = 0; i < 6; i++)
    ck_assert_int_eq(arec_exchange_order_place(f.x, "BTC/USDT", "BUY", "0.0015", NULL, "ab-2-1", &o),
                     AREC_EBACKEND);
  ck_assert_int_eq(arec_exchange_hub_state(f.hub, arec_fx_url(f.fx)), AREC_BREAKER_CLOSED);
  arec_exchange_hub_counters(f.hub, &c);
  ck_assert_uint_eq(c.rejections[AREC_XREJ_FILTER], 8);
  ck_assert_uint_eq(c.rejections[AREC_XREJ_BALANCE], 2);
  ck_assert_uint_eq(c.rejections[AREC_XREJ_OTHER], 1);
  ck_assert_uint_eq(c.error, 0);
  /* a query of an unknown order is no rejection */
  ck_assert_int_eq(arec_exchange_order_query(f.x, "BTC/USDT", "ab-1-1", &o), AREC_ENOTFOUND);
  arec_exchange_hub_counters(f.hub, &c);
  ck_assert_uint_eq(c.rejections[AREC_XREJ_OTHER], 1);
  ck_assert_int_eq(arec_exchange_hub_render(f.hub, &text), 0);
  ck_assert_ptr_nonnull(strstr(text, "# TYPE exchange_rejections_total counter\n"));
  ck_assert_ptr_nonnull(strstr(text, "exchange_rejections_total{reason=\"filter\"} 8\n"));
  ck_assert_ptr_nonnull(strstr(text, "exchange_rejections_total{reason=\"insufficient_balance\"} 2\n"));
  ck_assert_ptr_nonnull(strstr(text, "exchange_rejections_total{reason=\"other\"} 1\n"));
  ck_assert_msg(promtool_clean(text, out, sizeof out), "promtool: %s", out);
  ck_assert_ptr_null(strstr(text, SECRET));
  free(text);
  teardown_f(&f);
}
END_TEST

START_TEST(fills_with_commissions_and_the_lists) {
  fixture f;
  arec_order o, *v;
  arec_xtrade *t;
  size_t n;
  double rate;
  char params[512], status[16];
  setup_f(&f, SECRET, 2000);
  arec_fx_set_fill_split(f.fx, 2);
  arec_fx_set_commission(f.fx, 0.00075, "BNB", 250);
  ck_assert_int_eq(arec_exchange_fee_rate(f.x, &rate), 0);
  ck_assert_double_eq_tol(rate, 0.00075, 1e-12);
  /* served price 100 */
  double p;
  ck_assert_int_eq(arec_exchange_price(f.x, "BTC/USDT", &p), 0);
  ck_assert_int_eq(arec_exchange_order_place(f.x, "BTC/USDT", "BUY", "0.50000", NULL, "ab-1-1", &o), 0);
  arec_fx_last_order_params(f.fx, params, sizeof params);
  ck_assert_ptr_nonnull(strstr(params, "quantity=0.50000&"));
  ck_assert_ptr_nonnull(strstr(params, "type=MARKET"));
  ck_assert_ptr_nonnull(strstr(params, "newOrderRespType=FULL"));
  ck_assert_str_eq(o.status, "FILLED");
  ck_assert_str_eq(o.side, "BUY");
  ck_assert_uint_eq(o.nfills, 2);
  ck_assert_double_eq_tol(o.fills[0].qty + o.fills[1].qty, 0.5, 1e-12);
  ck_assert_double_eq_tol(o.fills[0].price, 100, 1e-9);
  ck_assert_str_eq(o.fills[0].commission_asset, "BNB");
  ck_assert_double_eq_tol(o.fills[0].commission, 0.25 * 100 * 0.00075 / 250, 1e-8);
  ck_assert_int_gt(o.fills[1].trade_id, o.fills[0].trade_id);
  long long first_trade = o.fills[0].trade_id, oid = o.order_id;
  /* its trades by order id, with the same ids and commissions */
  ck_assert_int_eq(arec_exchange_my_trades(f.x, "BTC/USDT", oid, 0, &t, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(t[0].id, first_trade);
  ck_assert_int_eq(t[0].order_id, oid);
  ck_assert(t[0].is_buyer);
  ck_assert_str_eq(t[0].commission_asset, "BNB");
  long long tt = t[1].time_ms;
  free(t);
  /* by startTime: none after the last trade */
  ck_assert_int_eq(arec_exchange_my_trades(f.x, "BTC/USDT", 0, tt + 1, &t, &n), 0);
  ck_assert_uint_eq(n, 0);
  free(t);
  ck_assert_int_eq(arec_exchange_my_trades(f.x, "BTC/USDT", 0, tt - 60000, &t, &n), 0);
  ck_assert_uint_eq(n, 2);
  free(t);
  /* LIMIT orders rest; one is cancelled, one fills "while we were away" */
  ck_assert_int_eq(arec_exchange_order_place(f.x, "BTC/USDT", "SELL", "0.1", "150.00", "ab-1-2", &o), 0);
  ck_assert_str_eq(o.status, "NEW");
  ck_assert_uint_eq(o.nfills, 0);
  ck_assert_int_eq(arec_exchange_order_place(f.x, "BTC/USDT", "SELL", "0.2", "160.00", "ab-1-3", &o), 0);
  ck_assert_int_eq(arec_exchange_orders(f.x, "BTC/USDT", 0, 0, 0, &v, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(v[0].client_id, "ab-1-2");
  ck_assert_str_eq(v[1].type, "LIMIT");
  free(v);
  ck_assert_int_eq(arec_exchange_order_cancel(f.x, "BTC/USDT", "ab-1-2", &o), 0);
  ck_assert_str_eq(o.status, "CANCELED");
  ck_assert_str_eq(o.client_id, "ab-1-2"); /* origClientOrderId, not the cancel's id */
  ck_assert_int_eq(arec_fx_fill_open(f.fx, "ab-1-3"), 0);
  ck_assert_int_eq(arec_fx_order_status(f.fx, "ab-1-3", status), 0);
  ck_assert_str_eq(status, "FILLED");
  ck_assert_int_eq(arec_exchange_orders(f.x, "BTC/USDT", 0, 0, 0, &v, &n), 0);
  ck_assert_uint_eq(n, 0);
  free(v);
  /* all orders from the first one's id; and in a time window */
  ck_assert_int_eq(arec_exchange_orders(f.x, "BTC/USDT", 1, oid, 0, &v, &n), 0);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(v[1].status, "CANCELED");
  ck_assert_str_eq(v[2].status, "FILLED");
  ck_assert_double_eq_tol(v[2].executed_qty, 0.2, 1e-12);
  long long created = v[0].time_ms;
  free(v);
  ck_assert_int_eq(arec_exchange_orders(f.x, "BTC/USDT", 1, oid + 1, 0, &v, &n), 0);
  ck_assert_uint_eq(n, 2);
  free(v);
  ck_assert_int_eq(arec_exchange_orders(f.x, "BTC/USDT", 1, 0, created - 1000, &v, &n), 0);
  ck_assert_uint_eq(n, 3);
  free(v);
  ck_assert_int_eq(arec_exchange_my_trades(f.x, "BTC/USDT", 0, tt - 60000, &t, &n), 0);
  ck_assert_uint_eq(n, 3);
  ck_assert(!t[2].is_buyer);
  ck_assert_double_eq_tol(t[2].price, 160, 1e-9);
  free(t);
  teardown_f(&f);
}
END_TEST

int main(void) {
  const TTest *tests_pure[] = {signature_matches_binance_example,
      symbols_and_endpoints, client_order_ids_fit_binance_rule,
      breaker_state_machine, NULL};
  const TTest *tests_http[] = {public_and_signed_calls,
      bad_secret_is_refused_and_never_echoed,
      timed_out_order_is_found_not_resent, retry_after_is_honoured,
      breaker_opens_probes_and_closes_without_storm,
      dropped_connections_count_as_failures,
      rules_cached_refreshed_and_kept_when_refresh_fails,
      refused_orders_counted_by_reason_not_as_failures,
      fills_with_commissions_and_the_lists, NULL};
  Suite *s = suite_create("trading_exchange");
  arec_test_cases(s, "pure", 0, tests_pure);
  arec_test_cases(s, "http", 20, tests_http);
  return arec_test_run(s);
}
