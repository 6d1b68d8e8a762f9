/*
 * test_trading_strategy.c -- the pure strategy rules of host/trading:
 * deterministic decisions on fixed series for "conservative" and
 * "aggressive", the memory JSON round trip, and a memory restored
 * mid-position that continues to its exit without a second buy.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trading/strategy.h"
#include "support/runner.h"

#define FEE 0.001

typedef struct act {
  size_t i;
  arec_action a;
  const char *reason;
  double qty;
} act;

/* Feeds series[from..n) to m, filling every decision at the price with the
 * fee; records the actions.  Returns their number. */
static size_t run(const arec_strategy_params *p, arec_sym_mem *m, double *bal,
                  double budget, const double *series, size_t from, size_t n,
                  act *out, size_t max) {
  size_t k = 0;
  for (size_t i = from; i < n; i++) {
    arec__mem_push_price(m, series[i], arec__strategy_window(p));
    arec_decision d = arec__strategy_decide(p, m, budget, *bal);
    if (d.action == AREC_HOLD) continue;
    double quote = d.qty * series[i];
    arec__mem_apply_fill(m, bal, d.action == AREC_BUY ? AREC_SIDE_BUY : AREC_SIDE_SELL,
                         d.qty, quote, quote * FEE);
    if (k < max) out[k++] = (act){i, d.action, d.reason, d.qty};
  }
  return k;
}

static const double A[] = {100, 100, 100, 100, 100, 100, 100, 100, 100, 101, 102,
                           103, 104, 105, 104, 103, 102, 101, 100, 99,  98};
static const double B[] = {100, 100, 100, 100, 100, 100, 100,
                           100, 100, 101, 102, 103, 95,  96};

START_TEST(aggressive_crossover_then_trend_exit) {
  const arec_strategy_params *p = arec__strategy_find("aggressive");
  arec_sym_mem m;
  double bal = 1000;
  act a[8];
  ck_assert_ptr_nonnull(p);
  memset(&m, 0, sizeof m);
  size_t n = run(p, &m, &bal, 1000, A, 0, sizeof A / sizeof A[0], a, 8);
  ck_assert_uint_eq(n, 2);
  ck_assert_uint_eq(a[0].i, 9);
  ck_assert_int_eq(a[0].a, AREC_BUY);
  ck_assert_str_eq(a[0].reason, "cross_up");
  ck_assert_double_eq_tol(a[0].qty, 2.97029702, 1e-9); /* 30 % of 1000 at 101 */
  ck_assert_uint_eq(a[1].i, 17);
  ck_assert_int_eq(a[1].a, AREC_SELL);
  ck_assert_str_eq(a[1].reason, "trend_down");
  ck_assert_double_eq_tol(m.position, 0, 1e-12);
  ck_assert_uint_eq(m.trades, 2);
  ck_assert_double_eq_tol(bal, 999.40000000196, 1e-6);
  ck_assert_double_eq_tol(m.realized_pnl, bal - 1000, 1e-6);
}
END_TEST

START_TEST(aggressive_stop_loss) {
  const arec_strategy_params *p = arec__strategy_find("aggressive");
  arec_sym_mem m;
  double bal = 1000;
  act a[8];
  memset(&m, 0, sizeof m);
  size_t n = run(p, &m, &bal, 1000, B, 0, sizeof B / sizeof B[0], a, 8);
  ck_assert_uint_eq(n, 2);
  ck_assert_uint_eq(a[0].i, 9);
  ck_assert_uint_eq(a[1].i, 12);
  ck_assert_str_eq(a[1].reason, "stop_loss");
  ck_assert_double_eq_tol(bal, 981.5960396640801, 1e-6);
}
END_TEST

START_TEST(conservative_needs_its_longer_window) {
  const arec_strategy_params *p = arec__strategy_find("conservative");
  double s[40];
  size_t k = 0;
  arec_sym_mem m;
  double bal = 1000;
  act a[8];
  for (int i = 0; i < 21; i++) s[k++] = 100;
  static const double tail[] = {101, 102, 103, 104, 105, 106, 105, 104, 103,
                                102, 101, 100, 99,  98,  97,  96,  95,  94};
  for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++) s[k++] = tail[i];
  memset(&m, 0, sizeof m);
  /* the aggressive series A is too short for the 20-price window */
  ck_assert_uint_eq(run(p, &m, &bal, 1000, A, 0, 9, a, 8), 0);
  memset(&m, 0, sizeof m);
  size_t n = run(p, &m, &bal, 1000, s, 0, k, a, 8);
  ck_assert_uint_eq(n, 2);
  ck_assert_uint_eq(a[0].i, 21);
  ck_assert_double_eq_tol(a[0].qty, 0.990099, 1e-9); /* 10 % of 1000 at 101 */
  ck_assert_uint_eq(a[1].i, 33);
  ck_assert_str_eq(a[1].reason, "stop_loss");
  ck_assert_ptr_null(arec__strategy_find("yolo"));
}
END_TEST

START_TEST(no_buy_without_balance) {
  const arec_strategy_params *p = arec__strategy_find("aggressive");
  arec_sym_mem m;
  double bal = 0;
  act a[8];
  memset(&m, 0, sizeof m);
  ck_assert_uint_eq(run(p, &m, &bal, 1000, A, 0, sizeof A / sizeof A[0], a, 8), 0);
}
END_TEST

START_TEST(memory_round_trip) {
  arec_sym_mem m, r;
  char *js, *js2;
  memset(&m, 0, sizeof m);
  for (int i = 0; i < 70; i++) arec__mem_push_price(&m, 100 + i * 0.125, 0);
  ck_assert_uint_eq(m.nprices, AREC_PRICE_WINDOW_MAX);
  ck_assert_double_eq(m.prices[0], 100 + 6 * 0.125);
  m.position = 0.12345678;
  m.avg_entry = 101.0101;
  m.realized_pnl = -3.25;
  m.fees = 0.75;
  m.trades = 7;
  m.seq = 9;
  ck_assert_int_eq(arec__mem_intent_add(&m, "abc-1-9", AREC_SIDE_SELL, 0.12345678, 1700000000000LL), 0);
  ck_assert_int_eq(arec__mem_to_json(&m, &js), 0);
  ck_assert_int_eq(arec__mem_from_json(&r, js), 0);
  ck_assert_uint_eq(r.nprices, m.nprices);
  for (size_t i = 0; i < m.nprices; i++) ck_assert_double_eq(r.prices[i], m.prices[i]);
  ck_assert_double_eq(r.position, m.position);
  ck_assert_double_eq(r.avg_entry, m.avg_entry);
  ck_assert_double_eq(r.realized_pnl, m.realized_pnl);
  ck_assert_double_eq(r.fees, m.fees);
  ck_assert_uint_eq(r.trades, 7);
  ck_assert_uint_eq(r.seq, 9);
  ck_assert_uint_eq(r.nintents, 1);
  ck_assert_str_eq(r.intents[0].id, "abc-1-9");
  ck_assert_int_eq(r.intents[0].side, AREC_SIDE_SELL);
  ck_assert_int_eq(arec__mem_to_json(&r, &js2), 0);
  ck_assert_str_eq(js, js2);
  free(js);
  free(js2);
  arec__mem_intent_remove(&r, "abc-1-9");
  ck_assert_uint_eq(r.nintents, 0);
  /* a new agent's "{}" and garbage */
  ck_assert_int_eq(arec__mem_from_json(&r, "{}"), 0);
  ck_assert_uint_eq(r.nprices, 0);
  ck_assert_double_eq(r.position, 0);
  ck_assert_int_eq(arec__mem_from_json(&r, "[1,2"), -1 /* AREC_EINVAL */);
  ck_assert_int_eq(arec__mem_from_json(&r, "{\"position\":-5,\"prices\":[\"x\",-1,3]}"), 0);
  ck_assert_double_eq(r.position, 0);
  ck_assert_uint_eq(r.nprices, 1);
}
END_TEST

START_TEST(restored_mid_position_continues_without_second_buy) {
  const arec_strategy_params *p = arec__strategy_find("aggressive");
  arec_sym_mem m, r;
  double bal = 1000, bal2;
  act a[8];
  char *js;
  memset(&m, 0, sizeof m);
  /* run up to just after the buy (index 9..11), then persist */
  ck_assert_uint_eq(run(p, &m, &bal, 1000, A, 0, 12, a, 8), 1);
  ck_assert(m.position > 0);
  ck_assert_int_eq(arec__mem_to_json(&m, &js), 0);
  /* a new owner restores it and sees the rest of the series */
  ck_assert_int_eq(arec__mem_from_json(&r, js), 0);
  free(js);
  bal2 = bal;
  size_t n = run(p, &r, &bal2, 1000, A, 12, sizeof A / sizeof A[0], a, 8);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(a[0].a, AREC_SELL); /* the one exit, at the same place */
  ck_assert_uint_eq(a[0].i, 17);
  ck_assert_double_eq_tol(bal2, 999.40000000196, 1e-6);
  ck_assert_uint_eq(r.trades, 2);
  /* a restored position with a fresh (empty) price window still never
   * buys: cross-ups in the following prices do not add to it */
  memset(&r, 0, sizeof r);
  r.position = 1;
  r.avg_entry = 50;
  bal2 = 500;
  n = run(p, &r, &bal2, 1000, A, 0, 14, a, 8);
  ck_assert_uint_eq(n, 0);
  ck_assert_double_eq(r.position, 1);
}
END_TEST

AREC_TEST_CASE_MAIN("trading_strategy", "rules", 0, arec_test_run(s),
                    aggressive_crossover_then_trend_exit, aggressive_stop_loss,
                    conservative_needs_its_longer_window,
                    no_buy_without_balance, memory_round_trip,
                    restored_mid_position_continues_without_second_buy)
