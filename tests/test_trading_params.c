/*
 * test_trading_params.c -- the pure parts of the trading controls: an
 * agent's mode and risk limits out of its params (strict, the field named,
 * the mode written into the params without touching other members), the
 * realised PnL per UTC day in a symbol's memory (calendar, order, bound,
 * JSON round trip, memory of an older version), and the risk arithmetic
 * (the room max_position leaves a buy, today's PnL).  No servers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trading/params.h"
#include "trading/trader.h"
#include "support/runner.h"

#define DAY_MS 86400000LL
/* 2026-03-01T12:00:00Z */
#define T0 1772366400000LL

/* ------------------------------------------------------------------ params */
START_TEST(params_read_mode_and_risk) {
  arec_trading_params p;
  arec_params_error e;
  ck_assert_int_eq(arec_trading_params_parse(NULL, &p, &e), 0);
  ck_assert_int_eq(p.live, 0);
  ck_assert_int_eq(p.has_mode, 0);
  ck_assert_int_eq(arec_trading_params_parse("{}", &p, &e), 0);
  ck_assert_int_eq(arec_trading_params_parse(
                       "{\"mode\":\"live\",\"x\":[1],\"risk\":{"
                       "\"max_position\":250.5,\"max_daily_loss\":40}}",
                       &p, &e),
                   0);
  ck_assert_int_eq(p.live, 1);
  ck_assert_int_eq(p.has_mode, 1);
  ck_assert_double_eq(p.max_position, 250.5);
  ck_assert_double_eq(p.max_daily_loss, 40);
  ck_assert_int_eq(arec_trading_params_parse("{\"mode\":\"paper\","
                                             "\"risk\":null}", &p, &e), 0);
  ck_assert_int_eq(p.live, 0);
  ck_assert_int_eq(p.has_mode, 1);
  ck_assert_double_eq(p.max_position, 0);

  static const struct {
    const char *json, *field;
  } bad[] = {
      {"{\"mode\":\"LIVE\"}", "mode"},
      {"{\"mode\":1}", "mode"},
      {"{\"risk\":5}", "risk"},
      {"{\"risk\":{\"max_loss\":5}}", "risk"},
      {"{\"risk\":{\"max_position\":0}}", "risk.max_position"},
      {"{\"risk\":{\"max_position\":-3}}", "risk.max_position"},
      {"{\"risk\":{\"max_position\":\"9\"}}", "risk.max_position"},
      {"{\"risk\":{\"max_daily_loss\":2e15}}", "risk.max_daily_loss"},
      {"[1]", "params"},
      {"{\"mode\":", "params"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_msg(arec_trading_params_parse(bad[i].json, &p, &e) == -1, "%s",
                  bad[i].json);
    ck_assert_str_eq(e.field, bad[i].field);
    ck_assert_msg(!strncmp(e.message, bad[i].field, strlen(bad[i].field)),
                  "%s", e.message);
    ck_assert_int_eq(p.live, 0); /* a refused text is never live */
  }
}
END_TEST

START_TEST(params_get_the_mode_written) {
  char *out = NULL;
  ck_assert_int_eq(arec_trading_params_set_mode(NULL, "paper", &out), 0);
  ck_assert_str_eq(out, "{\"mode\":\"paper\"}");
  free(out);
  ck_assert_int_eq(arec_trading_params_set_mode(" { } ", "live", &out), 0);
  ck_assert_str_eq(out, "{\"mode\":\"live\"} ");
  free(out);
  /* inserted as text: every digit of the other members stays */
  ck_assert_int_eq(arec_trading_params_set_mode(
                       "{\"n\": 12345678901234567890123}", "live", &out),
                   0);
  ck_assert_str_eq(out, "{\"mode\":\"live\",\"n\": 12345678901234567890123}");
  free(out);
  ck_assert_int_eq(arec_trading_params_set_mode("{\"mode\": \"live\"}", "live",
                                                &out),
                   0);
  ck_assert_str_eq(out, "{\"mode\": \"live\"}");
  free(out);
  ck_assert_int_eq(arec_trading_params_set_mode("{\"mode\":\"live\",\"a\":1}",
                                                "paper", &out),
                   0);
  arec_trading_params p;
  ck_assert_int_eq(arec_trading_params_parse(out, &p, NULL), 0);
  ck_assert_int_eq(p.live, 0);
  ck_assert_ptr_nonnull(strstr(out, "\"a\":1"));
  free(out);
  ck_assert_int_eq(arec_trading_params_set_mode("[]", "live", &out), -1);
  ck_assert_ptr_null(out);
}
END_TEST

/* -------------------------------------------------------------------- days */
START_TEST(days_calendar) {
  char d[16];
  int32_t day;
  ck_assert_int_eq(arec__utc_day(0), 0);
  ck_assert_int_eq(arec__utc_day(DAY_MS - 1), 0);
  ck_assert_int_eq(arec__utc_day(DAY_MS), 1);
  arec__utc_day_text(arec__utc_day(T0), d, sizeof d);
  ck_assert_str_eq(d, "2026-03-01");
  arec__utc_day_text(arec__utc_day(T0 - DAY_MS), d, sizeof d);
  ck_assert_str_eq(d, "2026-02-28");
  arec__utc_day_text(arec__utc_day(951782400000LL), d, sizeof d);
  ck_assert_str_eq(d, "2000-02-29");
  ck_assert_int_eq(arec__utc_day_parse("2026-03-01", &day), 0);
  ck_assert_int_eq(day, arec__utc_day(T0));
  ck_assert_int_eq(arec__utc_day_parse("2025-02-29", &day), -1);
  ck_assert_int_eq(arec__utc_day_parse("2026-3-1", &day), -1);
  ck_assert_int_eq(arec__utc_day_parse("2026-03-01x", &day), -1);
}
END_TEST

static void fill(arec_sym_mem *m, double *bal, int64_t t, arec_side side,
                 double qty, double price, long long trade) {
  arec_fill f = {.t_ms = t, .side = side, .qty = qty, .price = price,
                 .commission = qty * price * 0.001, .trade_id = trade};
  ck_assert_int_eq(arec__mem_apply(m, bal, &f, "BTC", "USDT", 0), 1);
}

START_TEST(days_follow_the_fills) {
  arec_sym_mem *m = calloc(1, sizeof *m), *r = calloc(1, sizeof *r);
  double bal = 1000;
  ck_assert_ptr_nonnull(m);
  ck_assert_ptr_nonnull(r);
  /* day 1: buy 1 @100, sell 1 @110; day 2: buy 2 @100, sell 2 @95 */
  fill(m, &bal, T0 - DAY_MS, AREC_SIDE_BUY, 1, 100, 1);
  fill(m, &bal, T0 - DAY_MS + 1000, AREC_SIDE_SELL, 1, 110, 2);
  fill(m, &bal, T0, AREC_SIDE_BUY, 2, 100, 3);
  fill(m, &bal, T0 + 1000, AREC_SIDE_SELL, 2, 95, 4);
  ck_assert_uint_eq(m->ndays, 2);
  const arec_day_pnl *d1 = arec__mem_day(m, arec__utc_day(T0 - DAY_MS));
  const arec_day_pnl *d2 = arec__mem_day(m, arec__utc_day(T0));
  ck_assert_ptr_nonnull(d1);
  ck_assert_ptr_nonnull(d2);
  /* realised = sell notional - sell fee - cost (buy fee included) */
  ck_assert_double_eq_tol(d1->realized, 110 - 0.11 - 100.1, 1e-9);
  ck_assert_double_eq_tol(d2->realized, 190 - 0.19 - 200.2, 1e-9);
  ck_assert_double_eq_tol(d1->realized + d2->realized, m->realized_pnl, 1e-9);
  ck_assert_double_eq_tol(d1->fees, 0.1 + 0.11, 1e-9);
  ck_assert_uint_eq(d1->trades, 2);
  ck_assert_uint_eq(d2->trades, 2);
  /* a late fill of an earlier day goes into its place */
  fill(m, &bal, T0 - 3 * DAY_MS, AREC_SIDE_BUY, 0.5, 100, 5);
  ck_assert_uint_eq(m->ndays, 3);
  ck_assert_int_eq(m->days[0].day, arec__utc_day(T0 - 3 * DAY_MS));
  ck_assert_int_eq(m->days[2].day, arec__utc_day(T0));
  /* JSON round trip */
  char *js = NULL, *js2 = NULL;
  ck_assert_int_eq(arec__mem_to_json(m, &js), 0);
  ck_assert_ptr_nonnull(strstr(js, "\"d\":\"2026-03-01\""));
  ck_assert_int_eq(arec__mem_from_json(r, js), 0);
  ck_assert_uint_eq(r->ndays, 3);
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(r->days[i].day, m->days[i].day);
    ck_assert_double_eq_tol(r->days[i].realized, m->days[i].realized, 1e-9);
    ck_assert_uint_eq(r->days[i].trades, m->days[i].trades);
  }
  ck_assert_int_eq(arec__mem_to_json(r, &js2), 0);
  ck_assert_str_eq(js, js2);
  free(js);
  free(js2);
  /* memory of an older version has no days, and bad ones are skipped */
  ck_assert_int_eq(arec__mem_from_json(r, "{\"position\":1,\"realized_pnl\":5}"),
                   0);
  ck_assert_uint_eq(r->ndays, 0);
  ck_assert_double_eq(r->realized_pnl, 5);
  ck_assert_int_eq(arec__mem_from_json(
                       r, "{\"days\":[{\"d\":\"2026-02-30\",\"pnl\":1},"
                          "{\"d\":\"2026-03-02\",\"pnl\":2},{\"d\":"
                          "\"2026-03-01\",\"pnl\":3},{\"pnl\":4}]}"),
                   0);
  ck_assert_uint_eq(r->ndays, 1);
  ck_assert_double_eq(r->days[0].realized, 2);
  free(m);
  free(r);
}
END_TEST

START_TEST(days_are_bounded) {
  arec_sym_mem *m = calloc(1, sizeof *m);
  ck_assert_ptr_nonnull(m);
  for (int i = 0; i < AREC_DAYS_MAX + 10; i++)
    arec__mem_day_add(m, T0 + i * DAY_MS, i, 0.5);
  ck_assert_uint_eq(m->ndays, AREC_DAYS_MAX);
  ck_assert_int_eq(m->days[0].day, arec__utc_day(T0) + 10); /* oldest gone */
  ck_assert_int_eq(m->days[AREC_DAYS_MAX - 1].day,
                   arec__utc_day(T0) + AREC_DAYS_MAX + 9);
  /* a day older than every one kept is not recorded when full */
  arec__mem_day_add(m, T0, -100, 0);
  ck_assert_uint_eq(m->ndays, AREC_DAYS_MAX);
  ck_assert_ptr_null(arec__mem_day(m, arec__utc_day(T0)));
  arec__mem_day_add(m, 0, 5, 0); /* no time: no bucket */
  ck_assert_uint_eq(m->ndays, AREC_DAYS_MAX);
  for (size_t i = 1; i < m->ndays; i++)
    ck_assert_int_lt(m->days[i - 1].day, m->days[i].day);
  free(m);
}
END_TEST

/* -------------------------------------------------------------------- risk */
START_TEST(risk_room_and_day_pnl) {
  arec_trade_sym *s = calloc(2, sizeof *s);
  ck_assert_ptr_nonnull(s);
  s[0].symbol = "BTC/USDT";
  snprintf(s[0].quote, sizeof s[0].quote, "USDT");
  /* no limit, or it fits: the quantity stays */
  ck_assert_double_eq(arec__risk_buy_qty(NULL, &s[0], 0, 3, 100), 3);
  ck_assert_double_eq(arec__risk_buy_qty(NULL, &s[0], 300, 3, 100), 3);
  /* over it: reduced to the room left */
  ck_assert_double_eq_tol(arec__risk_buy_qty(NULL, &s[0], 150, 3, 100), 1.5,
                          1e-12);
  s[0].mem.position = 1;
  ck_assert_double_eq_tol(arec__risk_buy_qty(NULL, &s[0], 150, 3, 100), 0.5,
                          1e-12);
  ck_assert_str_eq(s[0].mem.skip_why, "");
  /* no room: nothing, and the skip recorded */
  s[0].mem.position = 2;
  ck_assert_double_eq(arec__risk_buy_qty(NULL, &s[0], 150, 3, 100), 0);
  ck_assert_ptr_nonnull(strstr(s[0].mem.skip_why, "max_position 150.00 USDT"));
  ck_assert_int_gt(s[0].mem.skip_t_ms, 0);

  /* today's PnL: realised today + open positions at the last price */
  int64_t now = arec__trade_now_ms();
  s[0].mem.position = 2;
  s[0].mem.avg_entry = 100;
  arec__mem_push_price(&s[0].mem, 95, 0);
  arec__mem_day_add(&s[0].mem, now, -3, 0.1);
  arec__mem_day_add(&s[0].mem, now - DAY_MS, -50, 0.1); /* yesterday */
  s[1].mem.position = 0;
  arec__mem_day_add(&s[1].mem, now, 1.5, 0.1);
  ck_assert_double_eq_tol(arec__risk_day_pnl(s, 2, now), -3 - 10 + 1.5, 1e-9);
  free(s);
}
END_TEST

AREC_TEST_CASE_MAIN("trading_params", "params", 0, arec_test_run(s),
                    params_read_mode_and_risk, params_get_the_mode_written,
                    days_calendar, days_follow_the_fills, days_are_bounded,
                    risk_room_and_day_pnl)
