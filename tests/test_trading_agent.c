/*
 * test_trading_agent.c -- the "aggressive" agent type run by real managers
 * on the in-memory backend against the fake exchange: paper trading
 * carried across a kill -9 to another pod without a second buy, a user's
 * stop closing the position, a live order whose answer is lost found by
 * origClientOrderId and never sent twice, a zombie (stale fence) that
 * records and sends no order, and live mainnet refused without
 * EXCHANGE_ALLOW_MAINNET.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "support/fake_exchange.h"
#include "trading/strategy.h"
#include "trading/trading.h"

#define KEY "k-123"
#define SECRET "s-456"
#define AGENT "ag1"
#define SYM "BTC/USDT"

/* ---------------------------------------------------------- log capture */
typedef struct logcap {
  pthread_mutex_t mu;
  char buf[32768];
  size_t n;
} logcap;

static void cap_log(void *ud, arec_log_level lvl, const char *msg,
                    const arec_log_field *f, size_t nf) {
  logcap *c = ud;
  char line[512];
  size_t len = arec_log_format(line, sizeof line, 0, lvl, msg, f, nf);
  if (len >= sizeof line) len = sizeof line - 1;
  pthread_mutex_lock(&c->mu);
  if (c->n + len < sizeof c->buf) {
    memcpy(c->buf + c->n, line, len);
    c->n += len;
    c->buf[c->n] = '\0';
  }
  pthread_mutex_unlock(&c->mu);
  if (getenv("TRADING_TEST_LOG")) fputs(line, stderr);
}

static int cap_has(logcap *c, const char *s) {
  pthread_mutex_lock(&c->mu);
  int r = strstr(c->buf, s) != NULL;
  pthread_mutex_unlock(&c->mu);
  return r;
}

/* ------------------------------------------------------------- fixture */
typedef struct fix {
  arec_fx *fx;
  arec_exchange_hub *hub;
  arec_host_trading_config cfg;
  arec_memory_store *st;
  logcap lc;
  pthread_mutex_t mu;
  int buys, sells;
} fix;

static void on_trade(void *ud, const char *agent_id, const char *symbol,
                     const char *side, double qty, double price, int live) {
  fix *f = ud;
  (void)agent_id; (void)symbol; (void)qty; (void)price; (void)live;
  pthread_mutex_lock(&f->mu);
  if (strcmp(side, "BUY") == 0) f->buys++;
  else f->sells++;
  pthread_mutex_unlock(&f->mu);
}

static void fix_init(fix *f, int live) {
  arec_exchange_hub_options ho = AREC_EXCHANGE_HUB_OPTIONS_INIT;
  arec_host_trading_config c = AREC_HOST_TRADING_CONFIG_INIT;
  memset(f, 0, sizeof *f);
  pthread_mutex_init(&f->lc.mu, NULL);
  pthread_mutex_init(&f->mu, NULL);
  ck_assert_int_eq(arec_fx_start(&f->fx, KEY, SECRET), 0);
  ho.cooldown_ms = 50;
  ho.log = cap_log;
  ho.log_userdata = &f->lc;
  ck_assert_int_eq(arec_exchange_hub_new(&f->hub, &ho), 0);
  c.hub = f->hub;
  c.live = live;
  c.allow_mainnet = 1;
  c.api_base = arec_fx_url(f->fx);
  c.step_interval_ms = 15;
  c.request_timeout_ms = 400;
  c.connect_timeout_ms = 400;
  c.order_timeout_ms = 300;
  c.on_trade = on_trade;
  c.trade_userdata = f;
  c.default_api_key = KEY;
  c.default_api_secret = SECRET;
  f->cfg = c;
  ck_assert_int_eq(arec_memory_store_new(&f->st), 0);
  ck_assert_int_eq(arec_memory_agent_create(f->st, AGENT, 7, "aggressive", "My Agent"), 0);
  ck_assert_int_eq(arec_memory_agent_assign(f->st, AGENT, SYM, 1000), 0);
}

static void fix_free(fix *f) {
  arec_memory_store_free(f->st);
  arec_exchange_hub_free(f->hub);
  arec_fx_stop(f->fx);
}

static arec_manager *manager_s(fix *f, const char *pod, int64_t save_ms) {
  arec_repository *repo;
  arec_lock *lock;
  arec_manager *m;
  arec_manager_options o = AREC_MANAGER_OPTIONS_INIT;
  arec_restore_result rr;
  ck_assert_int_eq(arec_memory_repository_new(&repo, f->st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, f->st), 0);
  o.pod_name = pod;
  o.lock_ttl_ms = 30000;
  o.refresh_interval_ms = 10000;
  o.reconcile_interval_ms = 0;
  o.save_interval_ms = save_ms;
  o.workers = 2;
  o.log = cap_log;
  o.log_userdata = &f->lc;
  o.log_level = AREC_LOG_DEBUG;
  ck_assert_int_eq(arec_manager_new(&m, &o, repo, lock), 0);
  ck_assert_int_eq(arec_host_trading_register(m, &f->cfg), 0);
  ck_assert_int_eq(arec_manager_restore(m, &rr), 0);
  return m;
}

static arec_manager *manager(fix *f, const char *pod) {
  return manager_s(f, pod, 200);
}

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

/* The stored memory of the agent's symbol. */
static arec_sym_mem stored(fix *f, double *bal) {
  arec_sym_mem m;
  char *js = NULL;
  memset(&m, 0, sizeof m);
  ck_assert_int_eq(arec_memory_state_get(f->st, AGENT, SYM, bal, &js, NULL), 0);
  arec__mem_from_json(&m, js);
  arec_free(js);
  return m;
}

static char *stored_json(fix *f) {
  char *js = NULL;
  ck_assert_int_eq(arec_memory_state_get(f->st, AGENT, SYM, NULL, &js, NULL), 0);
  return js;
}

/* Waits up to ms for the stored memory to show trades >= n. */
static arec_sym_mem wait_trades(fix *f, uint64_t n, int ms) {
  arec_sym_mem m;
  for (int t = 0;; t += 10) {
    m = stored(f, NULL);
    if (m.trades >= n || t >= ms) return m;
    sleep_ms(10);
  }
}

static size_t nrunners(arec_manager *m) {
  arec_runner_info *ri;
  size_t n = 0;
  ck_assert_int_eq(arec_manager_runners(m, &ri, &n), 0);
  arec_runner_info_free(ri, n);
  return n;
}

/* 9 x 100 then a rise to 104, which then repeats: one BUY at 101, then
 * the position is held (the short average never falls below the long). */
static const double RISE[] = {100, 100, 100, 100, 100, 100, 100,
                              100, 100, 101, 102, 103, 104};
static const double FALL[] = {104, 103, 102, 101, 100, 99, 98, 97, 96, 95};

/* ------------------------------------------------------------- tests */
START_TEST(paper_position_survives_kill_and_is_not_bought_twice) {
  fix f;
  arec_fx_stats st;
  fix_init(&f, 0);
  arec_fx_set_prices(f.fx, "BTCUSDT", RISE, sizeof RISE / sizeof RISE[0]);
  arec_manager *A = manager(&f, "pod-a");
  ck_assert_int_eq(arec_manager_start_agent(A, AGENT), 0);
  arec_sym_mem m = wait_trades(&f, 1, 8000);
  ck_assert_uint_eq(m.trades, 1);
  ck_assert_double_eq_tol(m.position, 2.97029702, 1e-9);
  sleep_ms(100); /* more steps at 104: held, no second buy */
  /* kill -9 of pod A; pod B takes over after A's lease is gone */
  arec_manager_abandon(A);
  arec_manager_free(A);
  ck_assert_int_eq(arec_memory_pod_expire(f.st, "pod-a"), 0);
  ck_assert_int_eq(arec_memory_lock_drop(f.st, "agent:lock:" AGENT), 0);
  arec_manager *B = manager(&f, "pod-b"); /* its restore takes it over */
  ck_assert_uint_eq(nrunners(B), 1);
  sleep_ms(150); /* B steps at 104 with the position from memory */
  m = stored(&f, NULL);
  ck_assert_uint_eq(m.trades, 1);
  ck_assert_double_eq_tol(m.position, 2.97029702, 1e-9);
  /* the fall: B sells the position it inherited, once */
  arec_fx_set_prices(f.fx, "BTCUSDT", FALL, sizeof FALL / sizeof FALL[0]);
  m = wait_trades(&f, 2, 8000);
  ck_assert_uint_eq(m.trades, 2);
  ck_assert_double_eq(m.position, 0);
  ck_assert(m.realized_pnl != 0);
  pthread_mutex_lock(&f.mu);
  ck_assert_int_eq(f.buys, 1);
  ck_assert_int_eq(f.sells, 1);
  pthread_mutex_unlock(&f.mu);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.order_posts, 0); /* paper: nothing left the process */
  ck_assert(cap_has(&f.lc, "trading agent started agent_id=ag1 symbol=BTC/USDT position=2.97029702 mode=paper"));
  arec_manager_free(B);
  fix_free(&f);
}
END_TEST

START_TEST(user_stop_closes_position_handover_keeps_it) {
  fix f;
  double bal;
  fix_init(&f, 0);
  arec_fx_set_prices(f.fx, "BTCUSDT", RISE, sizeof RISE / sizeof RISE[0]);
  arec_manager *A = manager(&f, "pod-a");
  ck_assert_int_eq(arec_manager_start_agent(A, AGENT), 0);
  arec_sym_mem m = wait_trades(&f, 1, 8000);
  ck_assert(m.position > 0);
  /* graceful shutdown = handover: the position stays */
  ck_assert_int_eq(arec_manager_shutdown(A, 5000), 0);
  arec_manager_free(A);
  m = stored(&f, NULL);
  ck_assert_uint_eq(m.trades, 1);
  ck_assert(m.position > 0);
  ck_assert(cap_has(&f.lc, "positions kept"));
  /* the next pod; the user's stop sells it */
  arec_manager *B = manager(&f, "pod-b");
  ck_assert_uint_eq(nrunners(B), 1);
  ck_assert_int_eq(arec_manager_stop_agent(B, AGENT), 0);
  m = wait_trades(&f, 2, 5000);
  for (int t = 0; t < 5000 && nrunners(B) > 0; t += 10) sleep_ms(10);
  ck_assert_uint_eq(nrunners(B), 0);
  ck_assert(cap_has(&f.lc, "reason=user_stop"));
  m = stored(&f, &bal);
  ck_assert_uint_eq(m.trades, 2);
  ck_assert_double_eq(m.position, 0);
  ck_assert_uint_eq(m.nintents, 0);
  ck_assert_double_eq_tol(bal, 1000 + m.realized_pnl, 1e-6);
  arec_manager_free(B);
  fix_free(&f);
}
END_TEST

START_TEST(live_lost_answer_found_by_client_id_not_resent) {
  fix f;
  arec_fx_stats st;
  char side[8] = "";
  double qty = 0;
  char coid[37];
  fix_init(&f, 1);
  arec_fx_set_prices(f.fx, "BTCUSDT", RISE, sizeof RISE / sizeof RISE[0]);
  arec_fx_order_delay(f.fx, 1, 1200); /* filled, answer held past 300 ms */
  arec_manager *A = manager(&f, "pod-a");
  ck_assert_int_eq(arec_manager_start_agent(A, AGENT), 0);
  arec_sym_mem m = wait_trades(&f, 1, 8000);
  ck_assert_uint_eq(m.trades, 1);
  ck_assert_double_eq_tol(m.position, 2.97029702, 1e-9);
  ck_assert_uint_eq(m.nintents, 0);
  sleep_ms(200);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.order_posts, 1); /* never a second order */
  ck_assert_uint_eq(st.orders, 1);
  ck_assert_uint_ge(st.order_queries, 1);
  ck_assert_uint_eq(st.bad_signatures, 0);
  /* the order carries the id derived from agent, fence 1, sequence 1 */
  snprintf(coid, sizeof coid, "%s-1-1", AGENT);
  ck_assert_int_eq(arec_fx_order_find(f.fx, coid, side, &qty), 1);
  ck_assert_str_eq(side, "BUY");
  ck_assert_double_eq_tol(qty, 2.97029702, 1e-9);
  ck_assert(cap_has(&f.lc, "order answer lost, asking by origClientOrderId"));
  ck_assert(cap_has(&f.lc, "order intent settled by origClientOrderId"));
  ck_assert(!strstr(f.lc.buf, SECRET));
  arec_manager_free(A);
  fix_free(&f);
}
END_TEST

START_TEST(zombie_records_and_sends_no_order) {
  fix f;
  arec_fx_stats st;
  arec_restore_result rr;
  static const double FLAT[] = {100};
  static const double UP[] = {101, 102, 103, 104, 105, 106, 107, 108};
  fix_init(&f, 1);
  arec_fx_set_prices(f.fx, "BTCUSDT", FLAT, 1);
  /* A's coalesced saves are rare here, so that its first write after the
   * claim below is the order intent itself */
  arec_manager *A = manager_s(&f, "pod-a", 60000);
  ck_assert_int_eq(arec_manager_start_agent(A, AGENT), 0);
  for (int t = 0; t < 5000; t += 10) { /* A's window fills with 100s */
    arec_fx_get_stats(f.fx, &st);
    if (st.ticker >= 12) break;
    sleep_ms(10);
  }
  /* B claims the agent behind A's back: A's pod looked dead and its lock
   * expired, but A itself still runs (a paused or partitioned pod) */
  arec_manager *B = manager(&f, "pod-b");
  ck_assert_int_eq(arec_memory_pod_expire(f.st, "pod-a"), 0);
  ck_assert_int_eq(arec_memory_lock_drop(f.st, "agent:lock:" AGENT), 0);
  ck_assert_int_eq(arec_manager_reconcile(B, &rr), 0);
  ck_assert_uint_eq(rr.restored, 1);
  /* the price rises: A (window full of 100s) wants to buy at once */
  arec_fx_set_prices(f.fx, "BTCUSDT", UP, sizeof UP / sizeof UP[0]);
  for (int t = 0; t < 5000 && nrunners(A) > 0; t += 10) sleep_ms(10);
  ck_assert_uint_eq(nrunners(A), 0); /* the zombie stopped */
  ck_assert(cap_has(&f.lc, "order not sent: fenced"));
  /* nothing with A's fence (1) reached the exchange or the store */
  ck_assert_int_eq(arec_fx_order_find(f.fx, AGENT "-1-1", NULL, NULL), 0);
  char *js = stored_json(&f);
  ck_assert_ptr_null(strstr(js, AGENT "-1-"));
  arec_free(js);
  arec_fx_get_stats(f.fx, &st);
  /* every order that did go out is B's (fence 2) */
  ck_assert_uint_eq(st.order_posts, st.orders);
  if (st.orders) ck_assert_int_eq(arec_fx_order_find(f.fx, AGENT "-2-1", NULL, NULL), 1);
  arec_manager_free(A);
  arec_manager_free(B);
  fix_free(&f);
}
END_TEST

START_TEST(live_mainnet_needs_allow_mainnet) {
  fix f;
  arec_fx_stats st;
  fix_init(&f, 1);
  f.cfg.allow_mainnet = 0; /* the memory repository's account is mainnet */
  arec_fx_set_prices(f.fx, "BTCUSDT", RISE, sizeof RISE / sizeof RISE[0]);
  arec_manager *A = manager(&f, "pod-a");
  ck_assert_int_ne(arec_manager_start_agent(A, AGENT), 0);
  ck_assert_uint_eq(nrunners(A), 0);
  ck_assert(cap_has(&f.lc, "EXCHANGE_ALLOW_MAINNET=true"));
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.requests, 0);
  arec_manager_free(A);
  fix_free(&f);
}
END_TEST

START_TEST(config_from_env) {
  arec_host_trading_config c = AREC_HOST_TRADING_CONFIG_INIT;
  setenv("TRADING_MODE", "live", 1);
  setenv("EXCHANGE_ALLOW_MAINNET", "true", 1);
  setenv("EXCHANGE_API_BASE", "http://127.0.0.1:1", 1);
  ck_assert_int_eq(arec_host_trading_config_from_env(&c), 0);
  ck_assert_int_eq(c.live, 1);
  ck_assert_int_eq(c.allow_mainnet, 1);
  ck_assert_str_eq(c.api_base, "http://127.0.0.1:1");
  setenv("TRADING_MODE", "yolo", 1);
  ck_assert_int_eq(arec_host_trading_config_from_env(&c), AREC_EINVAL);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "TRADING_MODE"));
  setenv("TRADING_MODE", "paper", 1);
  setenv("EXCHANGE_ALLOW_MAINNET", "maybe", 1);
  ck_assert_int_eq(arec_host_trading_config_from_env(&c), AREC_EINVAL);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "EXCHANGE_ALLOW_MAINNET"));
  unsetenv("TRADING_MODE");
  unsetenv("EXCHANGE_ALLOW_MAINNET");
  unsetenv("EXCHANGE_API_BASE");
}
END_TEST

int main(void) {
  Suite *s = suite_create("trading_agent");
  TCase *tc = tcase_create("agents");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, paper_position_survives_kill_and_is_not_bought_twice);
  tcase_add_test(tc, user_stop_closes_position_handover_keeps_it);
  tcase_add_test(tc, live_lost_answer_found_by_client_id_not_resent);
  tcase_add_test(tc, zombie_records_and_sends_no_order);
  tcase_add_test(tc, live_mainnet_needs_allow_mainnet);
  tcase_add_test(tc, config_from_env);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
