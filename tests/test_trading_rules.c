/*
 * test_trading_rules.c -- the pure parts of host/trading that orders and
 * P&L rest on: exact step/tick rounding (0.1 + 0.2, tiny steps, huge
 * quantities, MARKET_LOT_SIZE), minQty / minimum notional skips, the
 * exchangeInfo parse, fills with commissions in the quote asset, the base
 * asset and a third asset (converted or kept), trade ids applied once, the
 * bounded fill list, rejection records, client order ids matched exactly
 * to their agent, rejection classes, and the memory JSON round trip
 * including memory written by the previous version.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "trading/exchange.h"
#include "trading/rules.h"
#include "trading/strategy.h"
#include "support/runner.h"

/* rules with LOT_SIZE step/min/max, PRICE_FILTER tick, min notional */
static arec_xrules R(const char *step, const char *minq, const char *maxq,
                     const char *tick, double notional) {
  arec_xrules r;
  memset(&r, 0, sizeof r);
  if (step) ck_assert_int_eq(arec__dec_parse(&r.step, step), 0);
  if (minq) ck_assert_int_eq(arec__dec_parse(&r.min_qty, minq), 0);
  if (maxq) ck_assert_int_eq(arec__dec_parse(&r.max_qty, maxq), 0);
  if (tick) ck_assert_int_eq(arec__dec_parse(&r.tick, tick), 0);
  r.min_notional = notional;
  r.notional_market = 1;
  return r;
}

/* the text of qty after the rules, "" when skipped */
static const char *Q(const arec_xrules *r, double qty, double price) {
  static arec_xqty q;
  if (arec__rules_qty(r, qty, price, 1, &q) != 0) return "";
  return q.text;
}

START_TEST(decimal_parse_and_format) {
  arec_dec d;
  char b[64];
  ck_assert_int_eq(arec__dec_parse(&d, "0.00001000"), 0);
  ck_assert_int_eq(d.v, 1);
  ck_assert_int_eq(d.scale, 5);
  ck_assert_int_eq(arec__dec_parse(&d, "10.00000000"), 0);
  ck_assert_int_eq(d.v, 10);
  ck_assert_int_eq(d.scale, 0);
  ck_assert_int_eq(arec__dec_parse(&d, "9000000000.00000000"), 0);
  ck_assert_int_eq(d.v, 9000000000LL);
  ck_assert_int_eq(arec__dec_parse(&d, "-1"), AREC_EINVAL);
  ck_assert_int_eq(arec__dec_parse(&d, "1e-8"), AREC_EINVAL);
  ck_assert_int_eq(arec__dec_parse(&d, ""), AREC_EINVAL);
  ck_assert_int_eq(arec__dec_parse(&d, "1.2.3"), AREC_EINVAL);
  ck_assert_int_eq(arec__dec_parse(&d, "0.5"), 0);
  arec__dec_format(b, sizeof b, d, 3);
  ck_assert_str_eq(b, "0.500");
  arec__dec_format(b, sizeof b, d, 0);
  ck_assert_str_eq(b, "0");
  d.v = 123456789;
  d.scale = 8;
  arec__dec_format(b, sizeof b, d, 8);
  ck_assert_str_eq(b, "1.23456789");
}
END_TEST

START_TEST(step_rounding_is_exact) {
  arec_xrules r = R("0.1", NULL, NULL, "0.01", 0);
  volatile double a = 0.1, b = 0.2, c = 0.7, d = 0.4;
  /* the classic: 0.1 + 0.2 = 0.30000000000000004, 0.7 - 0.4 =
   * 0.29999999999999993, and floor(0.3 / 0.1) = 2 in floating point */
  ck_assert_str_eq(Q(&r, a + b, 100), "0.3");
  ck_assert_str_eq(Q(&r, c - d, 100), "0.3");
  ck_assert_str_eq(Q(&r, 0.3, 100), "0.3");
  ck_assert_str_eq(Q(&r, 0.39999, 100), "0.3"); /* always DOWN */
  r = R("0.05", NULL, NULL, NULL, 0);
  ck_assert_str_eq(Q(&r, 1.15, 100), "1.15"); /* 1.149999999999999911 */
  ck_assert_str_eq(Q(&r, 1.19, 100), "1.15");
  r = R("0.00001000", "0.00001000", "9000.00000000", NULL, 0);
  ck_assert_str_eq(Q(&r, 2.97029702970297, 101), "2.97029");
  ck_assert_str_eq(Q(&r, 1, 101), "1.00000"); /* the step's decimals */
  r = R("1.00000000", "1.00000000", NULL, NULL, 0);
  ck_assert_str_eq(Q(&r, 12.9, 1), "12");
}
END_TEST

START_TEST(tiny_steps_and_huge_quantities) {
  arec_xrules r = R("0.00000001", "0.00000001", "9000000000", NULL, 0);
  arec_xqty q;
  ck_assert_str_eq(Q(&r, 0.00000001, 1), "0.00000001");
  ck_assert_str_eq(Q(&r, 1.9e-8, 1), "0.00000001");
  ck_assert_int_eq(arec__rules_qty(&r, 5e-9, 1, 1, &q), AREC_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(q.why, "zero"));
  /* more digits than 15: the double's own 17 digits, never rounded up */
  ck_assert_str_eq(Q(&r, 123456789.123456789, 1), "123456789.12345679");
  ck_assert_str_eq(Q(&r, 8999999999.99999999, 1), "9000000000.00000000");
  /* above maxQty: clamped, even when it does not fit 64 bits */
  ck_assert_str_eq(Q(&r, 1e12, 1), "9000000000.00000000");
  ck_assert_str_eq(Q(&r, 1e30, 1), "9000000000.00000000");
  r = R("0.00000001", NULL, NULL, NULL, 0); /* no maxQty */
  ck_assert_int_eq(arec__rules_qty(&r, 1e30, 1, 1, &q), AREC_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(q.why, "out of range"));
  /* a step of 1e-18 still works */
  r = R("0.000000000000000001", NULL, NULL, NULL, 0);
  ck_assert_str_eq(Q(&r, 0.5, 1), "0.500000000000000000");
}
END_TEST

START_TEST(market_lot_size_and_minimums) {
  arec_xrules r = R("0.00001", "0.00001", "9000", "0.01", 10);
  arec_xqty q;
  /* MARKET_LOT_SIZE coarser than LOT_SIZE: both apply to MARKET orders */
  ck_assert_int_eq(arec__dec_parse(&r.mstep, "0.001"), 0);
  ck_assert_int_eq(arec__dec_parse(&r.mmax_qty, "100"), 0);
  ck_assert_int_eq(arec__rules_qty(&r, 0.123456, 100, 1, &q), 0);
  ck_assert_str_eq(q.text, "0.12300");
  ck_assert_int_eq(arec__rules_qty(&r, 0.123456, 100, 0, &q), 0);
  ck_assert_str_eq(q.text, "0.12345"); /* a LIMIT order: LOT_SIZE only */
  ck_assert_int_eq(arec__rules_qty(&r, 500, 100, 1, &q), 0);
  ck_assert_str_eq(q.text, "100.00000"); /* the market maximum */
  /* under minQty */
  r = R("0.001", "0.01", NULL, NULL, 0);
  ck_assert_int_eq(arec__rules_qty(&r, 0.0099, 100, 1, &q), AREC_ECONFLICT);
  ck_assert_str_eq(q.why, "below minQty 0.010 (qty 0.009)");
  /* under the minimum notional: 0.0001 x 50000 = 5 < 10 */
  r = R("0.00001", "0.00001", NULL, NULL, 10);
  ck_assert_int_eq(arec__rules_qty(&r, 0.0001, 50000, 1, &q), AREC_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(q.why, "minimum notional 10"));
  ck_assert_int_eq(arec__rules_qty(&r, 0.0002, 50000, 1, &q), 0);
  r.notional_market = 0; /* the filter does not apply to MARKET orders */
  ck_assert_int_eq(arec__rules_qty(&r, 0.0001, 50000, 1, &q), 0);
  ck_assert_int_eq(arec__rules_qty(&r, 0.0001, 50000, 0, &q), AREC_ECONFLICT);
}
END_TEST

START_TEST(price_to_tick) {
  arec_xrules r = R(NULL, NULL, NULL, "0.01", 0);
  arec_dec d;
  char t[48];
  volatile double a = 0.1, b = 0.2;
  ck_assert_int_eq(arec__rules_price(&r, 101.005, 0, &d, t, sizeof t), 0);
  ck_assert_str_eq(t, "101.01");
  ck_assert_int_eq(arec__rules_price(&r, 101.019, -1, &d, t, sizeof t), 0);
  ck_assert_str_eq(t, "101.01");
  ck_assert_int_eq(arec__rules_price(&r, 101.011, 1, &d, t, sizeof t), 0);
  ck_assert_str_eq(t, "101.02");
  ck_assert_int_eq(arec__rules_price(&r, 101.01, 1, &d, t, sizeof t), 0);
  ck_assert_str_eq(t, "101.01");
  r = R(NULL, NULL, NULL, "0.1", 0);
  ck_assert_int_eq(arec__rules_price(&r, a + b, -1, &d, t, sizeof t), 0);
  ck_assert_str_eq(t, "0.3");
  r = R(NULL, NULL, NULL, "0.00000001", 0);
  ck_assert_int_eq(arec__rules_price(&r, 0.000012345678, 0, &d, t, sizeof t), 0);
  ck_assert_str_eq(t, "0.00001235");
  ck_assert_int_eq(arec__rules_price(&r, 0, 0, &d, t, sizeof t), AREC_ECONFLICT);
}
END_TEST

START_TEST(exchange_info_parse) {
  const char *js =
      "{\"symbols\":[{\"symbol\":\"ETHUSDT\",\"filters\":[]},"
      "{\"symbol\":\"BTCUSDT\",\"baseAsset\":\"BTC\",\"quoteAsset\":\"USDT\","
      "\"filters\":[{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"0.01000000\","
      "\"maxPrice\":\"1000000.00000000\",\"tickSize\":\"0.01000000\"},"
      "{\"filterType\":\"LOT_SIZE\",\"minQty\":\"0.00001000\",\"maxQty\":"
      "\"9000.00000000\",\"stepSize\":\"0.00001000\"},"
      "{\"filterType\":\"MARKET_LOT_SIZE\",\"minQty\":\"0.00000000\","
      "\"maxQty\":\"83.5\",\"stepSize\":\"0.00000000\"},"
      "{\"filterType\":\"MIN_NOTIONAL\",\"minNotional\":\"10.00000000\","
      "\"applyToMarket\":true,\"avgPriceMins\":5},"
      "{\"filterType\":\"NOTIONAL\",\"minNotional\":\"5.00000000\","
      "\"applyMinToMarket\":false}]}]}";
  arec_xrules r;
  ck_assert_int_eq(arec__rules_parse(&r, js, "BTCUSDT"), 0);
  ck_assert_str_eq(r.base_asset, "BTC");
  ck_assert_str_eq(r.quote_asset, "USDT");
  ck_assert_int_eq(r.step.v, 1);
  ck_assert_int_eq(r.step.scale, 5);
  ck_assert_int_eq(r.tick.v, 1);
  ck_assert_int_eq(r.tick.scale, 2);
  ck_assert_int_eq(r.mstep.v, 0); /* "0.00000000": no market step */
  ck_assert_double_eq(r.min_notional, 10); /* the stricter one */
  ck_assert_int_eq(r.notional_market, 1);
  ck_assert_int_eq(arec__rules_parse(&r, js, "XRPUSDT"), AREC_ENOTFOUND);
  ck_assert_int_eq(arec__rules_parse(&r, "[1", "BTCUSDT"), AREC_EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ fees */
static arec_fill F(arec_side side, double qty, double price, double c,
                   const char *asset, long long trade) {
  arec_fill f = {.t_ms = 1700000000000LL + trade, .side = side, .qty = qty,
                 .price = price, .commission = c, .commission_asset = asset,
                 .trade_id = trade, .order_id = 900 + trade,
                 .coid = "ag-1-1"};
  return f;
}

START_TEST(commission_in_the_quote_asset) {
  arec_sym_mem m;
  double bal = 1000;
  arec_fill f;
  memset(&m, 0, sizeof m);
  f = F(AREC_SIDE_BUY, 1, 100, 0.1, "USDT", 1);
  ck_assert_int_eq(arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0), 1);
  ck_assert_double_eq_tol(m.position, 1, 1e-12);
  ck_assert_double_eq_tol(m.avg_entry, 100.1, 1e-9); /* fee in the basis */
  ck_assert_double_eq_tol(bal, 899.9, 1e-9);
  f = F(AREC_SIDE_SELL, 1, 110, 0.11, "USDT", 2);
  ck_assert_int_eq(arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0), 1);
  ck_assert_double_eq(m.position, 0);
  ck_assert_double_eq_tol(m.realized_pnl, 110 - 0.11 - 100.1, 1e-9);
  ck_assert_double_eq_tol(m.fees, 0.21, 1e-12);
  ck_assert_double_eq_tol(bal, 1000 + m.realized_pnl, 1e-9);
  ck_assert_uint_eq(m.trades, 2);
  ck_assert_uint_eq(m.nfills, 2);
  ck_assert_double_eq_tol(m.fills[1].fee, 0.11, 1e-12);
  ck_assert_str_eq(m.fills[1].coid, "ag-1-1");
  /* the same trade again: nothing */
  ck_assert_int_eq(arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0), 0);
  ck_assert_uint_eq(m.trades, 2);
}
END_TEST

START_TEST(commission_in_the_base_asset) {
  arec_sym_mem m;
  double bal = 1000;
  arec_fill f;
  memset(&m, 0, sizeof m);
  f = F(AREC_SIDE_BUY, 1, 100, 0.001, "BTC", 1);
  arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0);
  ck_assert_double_eq_tol(m.position, 0.999, 1e-12); /* received less */
  ck_assert_double_eq_tol(m.avg_entry, 100 / 0.999, 1e-9);
  ck_assert_double_eq_tol(m.fees, 0.1, 1e-12); /* 0.001 BTC at 100 */
  ck_assert_double_eq_tol(bal, 900, 1e-9);
  f = F(AREC_SIDE_SELL, 0.999, 110, 0.10989, "USDT", 2);
  arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0);
  ck_assert_double_eq(m.position, 0);
  ck_assert_double_eq_tol(m.realized_pnl, 0.999 * 110 - 0.10989 - 100, 1e-9);
  ck_assert_double_eq_tol(bal, 1000 + m.realized_pnl, 1e-9);
}
END_TEST

START_TEST(commission_in_bnb_converted_or_kept) {
  arec_sym_mem m;
  double bal = 1000;
  arec_fill f;
  memset(&m, 0, sizeof m);
  /* 0.1 USDT worth of BNB at 300 */
  f = F(AREC_SIDE_BUY, 1, 100, 0.1 / 300, "BNB", 1);
  arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 300);
  ck_assert_double_eq_tol(m.position, 1, 1e-12);
  ck_assert_double_eq_tol(m.avg_entry, 100.1, 1e-9);
  ck_assert_double_eq_tol(m.fees, 0.1, 1e-9);
  ck_assert_double_eq_tol(bal, 900, 1e-9); /* paid in BNB, not in cash */
  ck_assert_uint_eq(m.nfees_other, 0);
  /* no price for the asset: kept unconverted, out of the PnL */
  f = F(AREC_SIDE_SELL, 1, 110, 0.05, "XYZ", 2);
  arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0);
  ck_assert_double_eq_tol(m.realized_pnl, 110 - 100.1, 1e-9);
  ck_assert_double_eq_tol(m.fees, 0.1, 1e-9);
  ck_assert_uint_eq(m.nfees_other, 1);
  ck_assert_str_eq(m.fees_other[0].asset, "XYZ");
  ck_assert_double_eq_tol(m.fees_other[0].amount, 0.05, 1e-12);
  ck_assert_double_eq_tol(m.fills[1].fee, 0, 1e-12);
}
END_TEST

START_TEST(trades_applied_once_and_list_bounded) {
  arec_sym_mem m;
  double bal = 1e9;
  arec_fill f;
  memset(&m, 0, sizeof m);
  for (long long t = 1; t <= 60; t++) {
    f = F(AREC_SIDE_BUY, 0.01, 100, 0.001, "USDT", t);
    ck_assert_int_eq(arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0), 1);
  }
  ck_assert_uint_eq(m.trades, 60);
  ck_assert_uint_eq(m.nfills, AREC_FILLS_MAX);
  ck_assert_int_eq(m.fills[0].trade_id, 11); /* the oldest dropped */
  ck_assert_int_eq(m.fills[AREC_FILLS_MAX - 1].trade_id, 60);
  ck_assert(arec__mem_has_trade(&m, 60, 0));
  ck_assert(!arec__mem_has_trade(&m, 61, 0));
  ck_assert_int_eq(arec__mem_last_fill_ms(&m), 1700000000060LL);
  ck_assert_int_eq(arec__mem_max_order_id(&m), 960);
  /* an order applied whole (no trades known) covers all its trades */
  f = F(AREC_SIDE_BUY, 0.5, 100, 0, "USDT", 0);
  f.order_id = 4242;
  ck_assert_int_eq(arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0), 1);
  ck_assert(arec__mem_has_trade(&m, 777777, 4242));
  ck_assert(!arec__mem_has_trade(&m, 777777, 4243));
  /* paper fills (trade id 0) are never "duplicates" of each other */
  f.order_id = 0;
  ck_assert_int_eq(arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0), 1);
  ck_assert_int_eq(arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0), 1);
}
END_TEST

START_TEST(rejections_recorded) {
  arec_sym_mem m;
  memset(&m, 0, sizeof m);
  ck_assert_uint_eq(arec__mem_reject(&m, -1013, "filter", "Filter failure: LOT_SIZE", 5), 1);
  ck_assert_uint_eq(arec__mem_reject(&m, -2010, "insufficient_balance", "x", 6), 2);
  ck_assert_int_eq(m.rej_code, -2010);
  ck_assert_str_eq(m.rej_reason, "insufficient_balance");
  ck_assert_int_eq(m.rej_t_ms, 6);
  ck_assert_int_eq(arec__xreject_reason(-1013, "Filter failure: NOTIONAL"), AREC_XREJ_FILTER);
  ck_assert_int_eq(arec__xreject_reason(-2010, "Account has insufficient balance for requested action."),
                   AREC_XREJ_BALANCE);
  ck_assert_int_eq(arec__xreject_reason(-2010, "Duplicate order sent."), AREC_XREJ_OTHER);
  ck_assert_int_eq(arec__xreject_reason(-1111, "Parameter 'quantity' has too much precision."),
                   AREC_XREJ_OTHER);
  ck_assert_str_eq(arec__xreject_name(AREC_XREJ_BALANCE), "insufficient_balance");
  ck_assert_str_eq(arec__xreject_text(AREC_XREJ_FILTER), "filter failure");
}
END_TEST

START_TEST(client_order_ids_matched_exactly) {
  char id[37];
  uint64_t f, s;
  const char *lng = "agent_with_a_really_long_identifier_that_goes_on_and_on-1";
  arec__client_order_id(id, "ab", 3, 40);
  ck_assert(arec__client_order_id_ours(id, "ab", &f, &s));
  ck_assert_uint_eq(f, 3);
  ck_assert_uint_eq(s, 40);
  ck_assert(!arec__client_order_id_ours(id, "abc", NULL, NULL));
  ck_assert(!arec__client_order_id_ours(id, "a", NULL, NULL));
  arec__client_order_id(id, "abc", 3, 40);
  ck_assert(!arec__client_order_id_ours(id, "ab", NULL, NULL));
  arec__client_order_id(id, "ab-c", 1, 1); /* "ab-c-1-1" */
  ck_assert(!arec__client_order_id_ours(id, "ab", NULL, NULL));
  ck_assert(arec__client_order_id_ours(id, "ab-c", NULL, NULL));
  ck_assert(arec__client_order_id_ours("ab-1-1x", "ab", NULL, &s)); /* seq 69 */
  ck_assert_uint_eq(s, 69);
  ck_assert(!arec__client_order_id_ours("ab-1-1X", "ab", NULL, NULL));
  ck_assert(!arec__client_order_id_ours("ab-01-1", "ab", NULL, NULL));
  ck_assert(!arec__client_order_id_ours("web_1234", "ab", NULL, NULL));
  ck_assert(!arec__client_order_id_ours("", "ab", NULL, NULL));
  /* long ids: cut with a hash, still exact */
  arec__client_order_id(id, lng, 123456, 7);
  ck_assert(arec__client_order_id_ours(id, lng, NULL, NULL));
  ck_assert(!arec__client_order_id_ours(id, "agent_with_a_really_long_identifier_that_goes_on_and_on-2",
                                        NULL, NULL));
}
END_TEST

/* ---------------------------------------------------------- memory JSON */
START_TEST(memory_round_trip_with_fills) {
  arec_sym_mem m, r;
  double bal = 1000;
  arec_fill f;
  char *js, *js2;
  memset(&m, 0, sizeof m);
  arec__mem_push_price(&m, 100.5, 0);
  f = F(AREC_SIDE_BUY, 0.5, 100, 0.00025, "BNB", 31);
  arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0); /* kept unconverted */
  f = F(AREC_SIDE_BUY, 0.5, 101, 0.0505, "USDT", 32);
  arec__mem_apply(&m, &bal, &f, "BTC", "USDT", 0);
  ck_assert_int_eq(arec__mem_intent_add(&m, "ag-2-3", AREC_SIDE_SELL, 1, 1700000001234LL), 0);
  arec__mem_reject(&m, -1013, "filter", "Filter failure: LOT_SIZE", 1700000000999LL);
  arec__mem_skip(&m, "below minQty 0.010 (qty 0.009)", 1700000000888LL);
  m.seq = 3;
  ck_assert_int_eq(arec__mem_to_json(&m, &js), 0);
  ck_assert_int_eq(arec__mem_from_json(&r, js), 0);
  ck_assert_double_eq(r.position, m.position);
  ck_assert_double_eq(r.avg_entry, m.avg_entry);
  ck_assert_uint_eq(r.nfills, 2);
  ck_assert_int_eq(r.fills[0].trade_id, 31);
  ck_assert_int_eq(r.fills[1].order_id, 932);
  ck_assert_int_eq(r.fills[1].t_ms, 1700000000032LL);
  ck_assert_int_eq(r.fills[1].side, AREC_SIDE_BUY);
  ck_assert_double_eq(r.fills[1].fee, m.fills[1].fee);
  ck_assert_str_eq(r.fills[1].coid, "ag-1-1");
  ck_assert_uint_eq(r.nfees_other, 1);
  ck_assert_str_eq(r.fees_other[0].asset, "BNB");
  ck_assert_int_eq(r.intents[0].t_ms, 1700000001234LL);
  ck_assert_int_eq(r.rej_code, -1013);
  ck_assert_str_eq(r.rej_reason, "filter");
  ck_assert_uint_eq(r.rejections, 1);
  ck_assert_str_eq(r.skip_why, "below minQty 0.010 (qty 0.009)");
  ck_assert(arec__mem_has_trade(&r, 32, 0));
  ck_assert_int_eq(arec__mem_to_json(&r, &js2), 0);
  ck_assert_str_eq(js, js2);
  free(js);
  free(js2);
}
END_TEST

START_TEST(memory_of_the_previous_version_loads) {
  /* what the first version wrote (no fills, no times, no rejections) */
  const char *old =
      "{\"v\":1,\"prices\":[100,101,102],\"position\":2.97029702,"
      "\"avg_entry\":101.101,\"realized_pnl\":-0.5,\"fees\":0.3,"
      "\"trades\":3,\"seq\":4,\"intents\":[{\"id\":\"ag1-1-4\",\"side\":"
      "\"SELL\",\"qty\":2.97029702}]}";
  arec_sym_mem m;
  char *js;
  ck_assert_int_eq(arec__mem_from_json(&m, old), 0);
  ck_assert_uint_eq(m.nprices, 3);
  ck_assert_double_eq(m.position, 2.97029702);
  ck_assert_double_eq(m.avg_entry, 101.101);
  ck_assert_double_eq(m.realized_pnl, -0.5);
  ck_assert_uint_eq(m.trades, 3);
  ck_assert_uint_eq(m.seq, 4);
  ck_assert_uint_eq(m.nintents, 1);
  ck_assert_int_eq(m.intents[0].t_ms, 0);
  ck_assert_uint_eq(m.nfills, 0);
  ck_assert_uint_eq(m.rejections, 0);
  ck_assert_int_eq(arec__mem_last_fill_ms(&m), 0);
  /* and it is written back in the new form with the old fields intact */
  ck_assert_int_eq(arec__mem_to_json(&m, &js), 0);
  ck_assert_ptr_nonnull(strstr(js, "\"position\":2.97029702"));
  ck_assert_ptr_nonnull(strstr(js, "\"trades\":3"));
  ck_assert_ptr_nonnull(strstr(js, "\"fills\":[]"));
  free(js);
}
END_TEST

AREC_TEST_CASE_MAIN(
    "trading_rules", "pure", 0, arec_test_run(s), decimal_parse_and_format,
    step_rounding_is_exact, tiny_steps_and_huge_quantities,
    market_lot_size_and_minimums, price_to_tick, exchange_info_parse,
    commission_in_the_quote_asset, commission_in_the_base_asset,
    commission_in_bnb_converted_or_kept, trades_applied_once_and_list_bounded,
    rejections_recorded, client_order_ids_matched_exactly,
    memory_round_trip_with_fills, memory_of_the_previous_version_loads)
