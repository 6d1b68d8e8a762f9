/*
 * test_trading_agent.c -- the "aggressive" agent type run by real managers
 * on the in-memory backend against the fake exchange: paper trading
 * carried across a kill -9 to another pod without a second buy, a user's
 * stop closing the position, a live order whose answer is lost found by
 * origClientOrderId and never sent twice, a zombie (stale fence) that
 * records and sends no order, live mainnet refused without
 * EXCHANGE_ALLOW_MAINNET; the exchange rules (an order rounded to the step
 * and sent as such, an order under the minimum skipped and recorded), the
 * exchange's refusals (counted, backed off instead of retried every step,
 * the third in a row failing the step with its reason, a fill resetting
 * the count), and P&L from real fills (commission in the received asset,
 * in BNB converted or kept) in live and paper mode.
 */
#include "test_trading_fixture.h"
#include "support/runner.h"

/* ------------------------------------------------------------- tests */
START_TEST(paper_position_survives_kill_and_is_not_bought_twice) {
  fix f;
  arec_fx_stats st;
  fix_init(&f, 0);
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 1, 8000);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert_double_eq_tol(m->position, 2.97029702, 1e-9);
  sleep_ms(100); /* more steps at 104: held, no second buy */
  /* kill -9 of pod A; pod B takes over after A's lease is gone */
  arec_manager_abandon(A);
  arec_manager_free(A);
  ck_assert_int_eq(arec_memory_pod_expire(f.st, "pod-a"), 0);
  ck_assert_int_eq(arec_memory_lock_drop(f.st, "agent:lock:" AGENT), 0);
  arec_manager *B = manager(&f, "pod-b"); /* its restore takes it over */
  ck_assert_uint_eq(nrunners(B), 1);
  sleep_ms(150); /* B steps at 104 with the position from memory */
  free(m);
  m = stored(&f, NULL);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert_double_eq_tol(m->position, 2.97029702, 1e-9);
  /* the fall: B sells the position it inherited, once */
  arec_fx_set_prices(f.fx, "BTCUSDT", FALL, sizeof FALL / sizeof FALL[0]);
  free(m);
  m = wait_trades(&f, 2, 8000);
  ck_assert_uint_eq(m->trades, 2);
  ck_assert_double_eq(m->position, 0);
  ck_assert(m->realized_pnl != 0);
  pthread_mutex_lock(&f.mu);
  ck_assert_int_eq(f.buys, 1);
  ck_assert_int_eq(f.sells, 1);
  pthread_mutex_unlock(&f.mu);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.order_posts, 0); /* paper: nothing left the process */
  ck_assert(cap_has(&f.lc, "trading agent started agent_id=ag1 symbol=BTC/USDT position=2.97029702 mode=paper"));
  fix_done(&f, B, m);
}
END_TEST

START_TEST(user_stop_closes_position_handover_keeps_it) {
  fix f;
  double bal;
  fix_init(&f, 0);
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 1, 8000);
  ck_assert(m->position > 0);
  /* graceful shutdown = handover: the position stays */
  ck_assert_int_eq(arec_manager_shutdown(A, 5000), 0);
  arec_manager_free(A);
  free(m);
  m = stored(&f, NULL);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert(m->position > 0);
  ck_assert(cap_has(&f.lc, "positions kept"));
  /* the next pod; the user's stop sells it */
  arec_manager *B = manager(&f, "pod-b");
  ck_assert_uint_eq(nrunners(B), 1);
  ck_assert_int_eq(arec_manager_stop_agent(B, AGENT), 0);
  free(m);
  m = wait_trades(&f, 2, 5000);
  for (int t = 0; t < 5000 && nrunners(B) > 0; t += 10) sleep_ms(10);
  ck_assert_uint_eq(nrunners(B), 0);
  ck_assert(cap_has(&f.lc, "reason=user_stop"));
  free(m);
  m = stored(&f, &bal);
  ck_assert_uint_eq(m->trades, 2);
  ck_assert_double_eq(m->position, 0);
  ck_assert_uint_eq(m->nintents, 0);
  ck_assert_double_eq_tol(bal, 1000 + m->realized_pnl, 1e-6);
  fix_done(&f, B, m);
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
  arec_sym_mem *m = wait_trades(&f, 1, 8000);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert_double_eq_tol(m->position, 2.97029702, 1e-9);
  ck_assert_uint_eq(m->nintents, 0);
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
  fix_done(&f, A, m);
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


/* ------------------------------------------------- rules and refusals */
static arec_fx_filters FILTERS(const char *step, const char *notional) {
  arec_fx_filters ff = {step, step, "1000", NULL, NULL, NULL, "0.01", notional,
                        0, 1, NULL, NULL};
  return ff;
}

START_TEST(live_order_rounded_to_the_step_never_raw) {
  fix f;
  double bal;
  char params[512];
  arec_fx_stats st;
  arec_exchange_counters c;
  fix_init(&f, 1);
  arec_fx_filters ff = FILTERS("0.001", "10");
  arec_fx_set_filters(f.fx, "BTCUSDT", &ff);
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 1, 8000);
  arec_manager_free(A);
  /* 2.97029702 rounded DOWN to the step, with the step's decimals */
  arec_fx_last_order_params(f.fx, params, sizeof params);
  ck_assert_msg(strstr(params, "&quantity=2.970&"), "sent: %s", params);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.order_posts, 1);
  ck_assert_uint_eq(st.rejected, 0);
  free(m);
  m = stored(&f, &bal);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert_double_eq_tol(m->position, 2.970, 1e-12);
  ck_assert_uint_eq(m->nfills, 1);
  ck_assert_int_gt(m->fills[0].trade_id, 0);
  ck_assert_int_gt(m->fills[0].order_id, 0);
  ck_assert_str_eq(m->fills[0].coid, AGENT "-1-1");
  ck_assert_double_eq_tol(m->fills[0].price, 101, 1e-9);
  ck_assert_double_eq_tol(m->fees, 2.970 * 101 * 0.001, 1e-8);
  ck_assert_double_eq_tol(m->avg_entry, (2.970 * 101 + m->fees) / 2.970, 1e-9);
  ck_assert_double_eq_tol(bal, 1000 - 2.970 * 101 - m->fees, 1e-8);
  arec_exchange_hub_counters(f.hub, &c);
  ck_assert_uint_eq(c.rejections[0] + c.rejections[1] + c.rejections[2], 0);
  fix_done(&f, NULL, m);
}
END_TEST

START_TEST(order_under_the_minimum_is_skipped_and_recorded) {
  fix f;
  arec_fx_stats st;
  arec_sym_mem *m = NULL;
  fix_init(&f, 1);
  arec_fx_filters ff = FILTERS("0.00001", "1000"); /* the buy is ~300 */
  arec_fx_set_filters(f.fx, "BTCUSDT", &ff);
  arec_manager *A = start_on_rise(&f, "pod-a");
  for (int t = 0; t < 8000; t += 10) {
    free(m);
    m = stored(&f, NULL);
    if (m->skip_t_ms) break;
    sleep_ms(10);
  }
  arec_manager_free(A);
  ck_assert_msg(m->skip_t_ms > 0, "no skip recorded");
  ck_assert_ptr_nonnull(strstr(m->skip_why, "below the minimum notional 1000"));
  ck_assert_uint_eq(m->trades, 0);
  ck_assert_uint_eq(m->nintents, 0); /* skipped before any intent */
  ck_assert_double_eq(m->position, 0);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.order_posts, 0);
  ck_assert(cap_has(&f.lc, "order skipped: under the exchange minimum agent_id=ag1 "
                           "symbol=BTC/USDT side=BUY why=\"below the minimum notional 1000"));
  fix_done(&f, NULL, m);
}
END_TEST

/* 200 prices falling from 104 by 0.05: a SELL decision at every step */
static void long_fall(arec_fx *fx) {
  double p[200];
  for (int i = 0; i < 200; i++) p[i] = 104 - 0.05 * i;
  arec_fx_set_prices(fx, "BTCUSDT", p, 200);
}

START_TEST(refused_three_times_the_step_fails_with_the_reason) {
  fix f;
  arec_fx_stats st0, st;
  arec_exchange_counters c;
  fix_init(&f, 1);
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 1, 8000);
  free(m);
  /* the exchange now trades whole units; the agent's rules are cached for
   * an hour, so its next orders break LOT_SIZE */
  arec_fx_filters ff = FILTERS("1", "1");
  arec_fx_set_filters(f.fx, "BTCUSDT", &ff);
  arec_fx_get_stats(f.fx, &st0);
  long_fall(f.fx);
  wait_no_runner(A, 10000);
  ck_assert_uint_eq(nrunners(A), 0); /* the step failed */
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.rejected, 3);
  ck_assert_uint_eq(st.order_posts - st0.order_posts, 3);
  /* one order per back-off (100 ms, then 200 ms), not one per 15 ms step */
  ck_assert_uint_ge(st.ticker - st0.ticker, 6);
  pthread_mutex_lock(&f.mu);
  ck_assert_int_eq(f.step_rc, AREC_EBACKEND);
  ck_assert_str_eq(f.step_error, "order rejected 3 times: filter failure (-1013) on BTC/USDT");
  pthread_mutex_unlock(&f.mu);
  arec_exchange_hub_counters(f.hub, &c);
  ck_assert_uint_eq(c.rejections[AREC_XREJ_FILTER], 3);
  ck_assert_uint_eq(c.error, 0);
  ck_assert_int_eq(cap_count(&f.lc, "WARN order rejected by the exchange agent_id=ag1 "
                                    "symbol=BTC/USDT code=-1013 reason=filter"), 3);
  ck_assert(!strstr(f.lc.buf, SECRET) && !strstr(f.lc.buf, "signature"));
  m = stored(&f, NULL);
  ck_assert_uint_eq(m->rejections, 3);
  ck_assert_int_eq(m->rej_code, -1013);
  ck_assert_str_eq(m->rej_reason, "filter");
  ck_assert_str_eq(m->rej_msg, "Filter failure: LOT_SIZE");
  ck_assert_int_gt(m->rej_t_ms, 0);
  ck_assert_double_eq_tol(m->position, 2.97029702, 1e-9); /* kept */
  ck_assert_uint_eq(m->nintents, 0);
  fix_done(&f, A, m);
}
END_TEST

START_TEST(refusals_then_a_fill_reset_the_count) {
  fix f;
  arec_exchange_counters c;
  fix_init(&f, 1);
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 1, 8000);
  free(m);
  arec_fx_reject_next(f.fx, 2, -2010, "Account has insufficient balance for requested action.");
  long_fall(f.fx);
  m = wait_trades(&f, 2, 8000);
  ck_assert_uint_eq(m->trades, 2);
  ck_assert_double_eq(m->position, 0);
  ck_assert_uint_eq(m->rejections, 0); /* the fill ended the streak */
  ck_assert_int_eq(m->rej_code, -2010); /* the last one stays on record */
  ck_assert_str_eq(m->rej_reason, "insufficient_balance");
  ck_assert_uint_eq(nrunners(A), 1);
  pthread_mutex_lock(&f.mu);
  ck_assert_int_eq(f.step_rc, 0);
  pthread_mutex_unlock(&f.mu);
  arec_exchange_hub_counters(f.hub, &c);
  ck_assert_uint_eq(c.rejections[AREC_XREJ_BALANCE], 2);
  ck_assert_int_eq(cap_count(&f.lc, "reason=insufficient_balance"), 2);
  fix_done(&f, A, m);
}
END_TEST

/* ------------------------------------------------------------- fees */
START_TEST(live_fills_with_commission_give_position_and_pnl) {
  fix f;
  double bal;
  fix_init(&f, 1);
  /* the exchange's default: commission in the asset received (BTC on a
   * buy, USDT on a sell), each order filled in two trades */
  arec_fx_set_commission(f.fx, 0.001, "RECEIVED", 0);
  arec_fx_set_fill_split(f.fx, 2);
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 2, 8000);
  ck_assert_uint_eq(m->trades, 2); /* one order, two trades */
  ck_assert_uint_eq(m->nfills, 2);
  /* 1.48514851 + 1.48514851 bought, 0.00148515 BTC commission each */
  ck_assert_double_eq_tol(m->position, 2.97029702 - 2 * 0.00148515, 1e-12);
  ck_assert_double_eq_tol(m->fees, 2 * 0.00148515 * 101, 1e-9);
  ck_assert_double_eq_tol(m->avg_entry, 2.97029702 * 101 / m->position, 1e-9);
  /* what the agent holds is what the exchange says it holds */
  ck_assert_double_eq_tol(m->position, arec_fx_balance(f.fx, "BTC"), 1e-9);
  double cost = 2.97029702 * 101;
  free(m);
  long_fall(f.fx);
  m = wait_trades(&f, 4, 8000);
  arec_manager_free(A);
  free(m);
  m = stored(&f, &bal);
  ck_assert_uint_eq(m->trades, 4);
  ck_assert_double_eq(m->position, 0);
  ck_assert_double_eq_tol(arec_fx_balance(f.fx, "BTC"), 0, 1e-9); /* all sold */
  double proceeds = 0, sell_fees = 0;
  for (size_t i = 2; i < 4; i++) {
    ck_assert_int_eq(m->fills[i].side, AREC_SIDE_SELL);
    proceeds += m->fills[i].qty * m->fills[i].price;
    sell_fees += m->fills[i].fee;
  }
  ck_assert_double_eq_tol(sell_fees, proceeds * 0.001, 1e-7);
  ck_assert_double_eq_tol(m->realized_pnl, proceeds - sell_fees - cost, 1e-7);
  ck_assert_double_eq_tol(bal, 1000 + m->realized_pnl, 1e-7);
  ck_assert_double_eq_tol(bal - 1000, arec_fx_balance(f.fx, "USDT") - 10000, 1e-7);
  fix_done(&f, NULL, m);
}
END_TEST

START_TEST(bnb_commission_converted_or_kept_unconverted) {
  static const double BNB[] = {250};
  for (int listed = 1; listed >= 0; listed--) {
    fix f;
    fix_init(&f, 1);
    arec_fx_set_commission(f.fx, 0.00075, listed ? "BNB" : "XYZ", 250);
    if (listed) arec_fx_set_prices(f.fx, "BNBUSDT", BNB, 1);
    arec_manager *A = start_on_rise(&f, "pod-a");
    arec_sym_mem *m = wait_trades(&f, 1, 8000);
    double notional = 2.97029702 * 101;
    ck_assert_double_eq_tol(m->position, 2.97029702, 1e-12); /* not BTC */
    if (listed) {
      ck_assert_double_eq_tol(m->fees, notional * 0.00075, 1e-5);
      ck_assert_double_eq_tol(m->avg_entry, (notional + m->fees) / m->position, 1e-9);
      ck_assert_uint_eq(m->nfees_other, 0);
    } else {
      ck_assert_double_eq(m->fees, 0);
      ck_assert_uint_eq(m->nfees_other, 1);
      ck_assert_str_eq(m->fees_other[0].asset, "XYZ");
      ck_assert_double_eq_tol(m->fees_other[0].amount, notional * 0.00075 / 250, 1e-8);
      free(m);
      long_fall(f.fx); /* a second order: the warning is logged once */
      m = wait_trades(&f, 2, 8000);
      ck_assert_double_eq_tol(m->fees_other[0].amount,
                              (notional + m->fills[1].qty * m->fills[1].price) * 0.00075 / 250,
                              1e-7);
      ck_assert_int_eq(cap_count(&f.lc, "commission asset has no price in the quote asset"), 1);
    }
    fix_done(&f, A, m);
  }
}
END_TEST

START_TEST(paper_fills_at_the_account_fee_rate) {
  for (int keys = 1; keys >= 0; keys--) {
    fix f;
    arec_fx_stats st;
    fix_init(&f, 0);
    if (!keys) f.cfg.default_api_key = f.cfg.default_api_secret = NULL;
    arec_fx_set_commission(f.fx, 0.002, NULL, 0);
    arec_fx_filters ff = FILTERS("0.001", "10");
    arec_fx_set_filters(f.fx, "BTCUSDT", &ff);
    arec_manager *A = start_on_rise(&f, "pod-a");
    arec_sym_mem *m = wait_trades(&f, 1, 8000);
    arec_manager_free(A);
    double rate = keys ? 0.002 : 0.001; /* the account's, else the default */
    ck_assert_double_eq_tol(m->position, 2.970, 1e-12); /* paper obeys the rules */
    ck_assert_double_eq_tol(m->fees, 2.970 * 101 * rate, 1e-9);
    ck_assert_int_eq(m->fills[0].trade_id, 0);
    ck_assert_str_eq(m->fills[0].coid, AGENT "-1-1");
    arec_fx_get_stats(f.fx, &st);
    ck_assert_uint_eq(st.order_posts, 0);
    ck_assert_uint_eq(st.account, keys ? 1 : 0);
    ck_assert(cap_has(&f.lc, "paper fee rate from the account") == keys);
    fix_done(&f, NULL, m);
  }
}
END_TEST

/* The account hook: what it answers for (user 7, BTC/USDT). */
typedef struct hook {
  int rc;          /* 0: the account below; else this code */
  int testnet;
  const char *key, *secret;
  const char *why; /* reason set with the code */
  int calls;
  long long user_id;
  char symbol[32];
} hook;

static int account_hook(void *ud, long long user_id, const char *symbol,
                        arec_host_account *out) {
  hook *h = ud;
  h->calls++;
  h->user_id = user_id;
  snprintf(h->symbol, sizeof h->symbol, "%s", symbol);
  memset(out, 0, sizeof *out);
  if (h->rc) {
    if (h->why) arec_error_set("%s", h->why);
    return h->rc;
  }
  out->exchange_id = 3;
  snprintf(out->exchange, sizeof out->exchange, "binance");
  out->testnet = h->testnet;
  out->api_key = h->key ? strdup(h->key) : NULL;
  out->api_secret = h->secret ? strdup(h->secret) : NULL;
  return 0;
}

START_TEST(account_hook_credentials_and_refusals) {
  /* live, no default credentials: the hook's keys sign the orders */
  {
    fix f;
    hook h = {0, 1, KEY, SECRET, NULL, 0, 0, ""};
    arec_fx_stats st;
    fix_init(&f, 1);
    f.cfg.default_api_key = f.cfg.default_api_secret = NULL;
    f.cfg.allow_mainnet = 0; /* the account is a testnet one */
    f.cfg.account = account_hook;
    f.cfg.account_userdata = &h;
    arec_manager *A = start_on_rise(&f, "pod-a");
    arec_sym_mem *m = wait_trades(&f, 1, 8000);
    ck_assert_uint_eq(m->trades, 1);
    arec_manager_free(A);
    ck_assert_int_ge(h.calls, 1);
    ck_assert_int_eq(h.user_id, 7);
    ck_assert_str_eq(h.symbol, SYM);
    arec_fx_get_stats(f.fx, &st);
    ck_assert_uint_ge(st.order_posts, 1);
    ck_assert_uint_eq(st.bad_signatures, 0);
    ck_assert(!cap_has(&f.lc, KEY) && !cap_has(&f.lc, SECRET));
    fix_done(&f, NULL, m);
  }
  /* refusals: no account in live mode, credentials that do not decrypt,
   * the database down; the reason is the answer and nothing is sent */
  static const struct {
    int live, rc;
    const char *why, *expect;
  } cases[] = {
      {1, AREC_ENOTFOUND, "user 7 has no pair BTC/USDT",
       "no exchange account for BTC/USDT"},
      {0, AREC_ECRYPTO, "credentials of user_exchanges row 7 do not decrypt",
       "credentials of user_exchanges row 7 do not decrypt"},
      {1, AREC_ECRYPTO, "credentials of user_exchanges row 7 do not decrypt",
       "credentials of user_exchanges row 7 do not decrypt"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fix f;
    hook h = {cases[i].rc, 1, NULL, NULL, cases[i].why, 0, 0, ""};
    arec_fx_stats st;
    fix_init(&f, cases[i].live);
    f.cfg.account = account_hook;
    f.cfg.account_userdata = &h;
    arec_fx_set_prices(f.fx, "BTCUSDT", RISE, NRISE);
    arec_manager *A = manager(&f, "pod-a");
    ck_assert_int_eq(arec_manager_start_agent(A, AGENT), AREC_EREFUSED);
    ck_assert_msg(strstr(arec_error_last(), cases[i].expect), "case %zu: %s",
                  i, arec_error_last());
    ck_assert_uint_eq(nrunners(A), 0);
    arec_fx_get_stats(f.fx, &st);
    ck_assert_uint_eq(st.requests, 0);
    arec_manager_free(A);
    fix_free(&f);
  }
  /* paper without an account: public endpoints, it trades on paper */
  {
    fix f;
    hook h = {AREC_ENOTFOUND, 0, NULL, NULL, "no pair", 0, 0, ""};
    arec_fx_stats st;
    fix_init(&f, 0);
    f.cfg.default_api_key = f.cfg.default_api_secret = NULL;
    f.cfg.account = account_hook;
    f.cfg.account_userdata = &h;
    arec_manager *A = start_on_rise(&f, "pod-a");
    arec_sym_mem *m = wait_trades(&f, 1, 8000);
    ck_assert_uint_eq(m->trades, 1);
    arec_manager_free(A);
    arec_fx_get_stats(f.fx, &st);
    ck_assert_uint_eq(st.order_posts, 0);
    ck_assert_uint_eq(st.account, 0);
    fix_done(&f, NULL, m);
  }
}
END_TEST

AREC_TEST_CASE_MAIN("trading_agent", "agents", 30, arec_test_run(s),
                    paper_position_survives_kill_and_is_not_bought_twice,
                    user_stop_closes_position_handover_keeps_it,
                    live_lost_answer_found_by_client_id_not_resent,
                    zombie_records_and_sends_no_order,
                    live_mainnet_needs_allow_mainnet,
                    account_hook_credentials_and_refusals,
                    live_order_rounded_to_the_step_never_raw,
                    order_under_the_minimum_is_skipped_and_recorded,
                    refused_three_times_the_step_fails_with_the_reason,
                    refusals_then_a_fill_reset_the_count,
                    live_fills_with_commission_give_position_and_pnl,
                    bnb_commission_converted_or_kept_unconverted,
                    paper_fills_at_the_account_fee_rate)
