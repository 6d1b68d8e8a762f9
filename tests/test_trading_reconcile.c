/*
 * test_trading_reconcile.c -- a live agent taken over by another pod
 * reconciles with the (fake) exchange before its first order, on the
 * in-memory backend with real managers:
 *
 *   - its pod dies while the answer of a filled order is lost and nothing
 *     after the order intent reached the store: the next pod applies the
 *     fill exactly once, never sends the order again, and a third pod's
 *     reconcile finds nothing more to apply;
 *   - while no pod runs it, one of its orders fills and another rests:
 *     the fill is applied once, the resting order is cancelled, and the
 *     orders of other agents (ids "ag1x-..", "ag1-c-..") and of nobody are
 *     never touched;
 *   - the exchange does not answer the reconcile: the agent neither looks
 *     at prices nor orders until a later step's reconcile succeeds.
 */
#include "test_trading_fixture.h"
#include "support/runner.h"

#define WAIT 8000

/* Waits until the log shows `s` at least n times. */
static int wait_log(fix *f, const char *s, int n, int ms) {
  for (int t = 0; t < ms; t += 10) {
    if (cap_count(&f->lc, s) >= n) return 1;
    sleep_ms(10);
  }
  return 0;
}

/* Waits until the stored memory has no intent and at least n trades. */
static arec_sym_mem *wait_settled(fix *f, uint64_t n, int ms) {
  for (int t = 0;; t += 10) {
    arec_sym_mem *m = stored(f, NULL);
    if ((m->trades >= n && m->nintents == 0) || t >= ms) return m;
    free(m);
    sleep_ms(10);
  }
}

START_TEST(fill_lost_with_its_pod_is_applied_once_by_the_next) {
  fix f;
  arec_fx_stats st;
  fix_init(&f, 1);
  arec_fx_set_prices(f.fx, "BTCUSDT", RISE, NRISE);
  arec_fx_order_lose(f.fx, 1); /* filled, never answered */
  arec_manager *A = manager(&f, "pod-a");
  ck_assert_int_eq(arec_manager_start_agent(A, AGENT), 0);
  for (int t = 0; t < WAIT && !arec_fx_order_find(f.fx, AGENT "-1-1", NULL, NULL); t += 5)
    sleep_ms(5);
  ck_assert_int_eq(arec_fx_order_find(f.fx, AGENT "-1-1", NULL, NULL), 1);
  /* A waits for an answer that never comes; its pod is dying: nothing it
   * writes from now on reaches the store */
  arec_memory_fail(f.st, AREC_MEMORY_SAVE, -1, AREC_EUNAVAILABLE);
  arec_fx_release(f.fx);
  kill_pod(&f, A, "pod-a");
  arec_memory_fail(f.st, AREC_MEMORY_SAVE, 0, 0);
  arec_sym_mem *m = stored(&f, NULL);
  /* what the next owner finds: the intent, not the fill */
  ck_assert_uint_eq(m->nintents, 1);
  ck_assert_str_eq(m->intents[0].id, AGENT "-1-1");
  ck_assert_uint_eq(m->trades, 0);
  ck_assert_double_eq(m->position, 0);
  free(m);

  arec_manager *B = manager(&f, "pod-b"); /* takes it over */
  ck_assert_uint_eq(nrunners(B), 1);
  ck_assert(wait_log(&f, "reconciled with the exchange agent_id=ag1 symbol=BTC/USDT "
                         "trades_applied=1 orders_cancelled=0 intents_settled=1", 1, WAIT));
  m = wait_settled(&f, 1, WAIT);
  ck_assert_uint_eq(m->nintents, 0);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert_double_eq_tol(m->position, 2.97029702, 1e-12);
  ck_assert_uint_eq(m->nfills, 1);
  ck_assert_int_gt(m->fills[0].trade_id, 0);
  ck_assert_str_eq(m->fills[0].coid, AGENT "-1-1");
  ck_assert_double_eq_tol(m->fees, 2.97029702 * 101 * 0.001, 1e-8);
  ck_assert_double_eq_tol(m->avg_entry, (2.97029702 * 101 + m->fees) / 2.97029702, 1e-9);
  long long trade = m->fills[0].trade_id;
  free(m);
  sleep_ms(150); /* B steps on at the top: no second buy */
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.order_posts, 1);
  ck_assert_uint_eq(st.orders, 1);

  /* a third pod reconciles again: nothing is applied twice */
  unsigned all_before = st.all_orders;
  kill_pod(&f, B, "pod-b");
  arec_manager *C = manager(&f, "pod-c");
  ck_assert_uint_eq(nrunners(C), 1);
  /* (A logged the same line at its start: C's is the second) */
  ck_assert(wait_log(&f, "reconciled with the exchange agent_id=ag1 symbol=BTC/USDT "
                         "trades_applied=0", 2, WAIT));
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_gt(st.all_orders, all_before); /* it did look */
  m = stored(&f, NULL);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert_uint_eq(m->nfills, 1);
  ck_assert_int_eq(m->fills[0].trade_id, trade);
  ck_assert_double_eq_tol(m->position, 2.97029702, 1e-12);
  ck_assert_uint_eq(st.order_posts, 1);
  ck_assert(!strstr(f.lc.buf, SECRET));
  fix_done(&f, C, m);
}
END_TEST

START_TEST(orders_while_away_fill_once_rest_cancelled_others_untouched) {
  fix f;
  arec_exchange *x;
  arec_exchange_config xc = {0};
  arec_order o;
  char status[16];
  fix_init(&f, 1);
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 1, WAIT);
  double avg = m->avg_entry;
  free(m);
  ck_assert_int_eq(arec_manager_shutdown(A, 5000), 0); /* handover */
  arec_manager_free(A);

  /* while no pod runs it: orders of this agent and of others at the
   * exchange (made through the same account) */
  xc.base_url = arec_fx_url(f.fx);
  xc.api_key = KEY;
  xc.api_secret = SECRET;
  ck_assert_int_eq(arec_exchange_new(&x, f.hub, &xc), 0);
  ck_assert_int_eq(arec_exchange_order_place(x, SYM, "SELL", "1", "104.00", AGENT "-1-8", &o), 0);
  ck_assert_int_eq(arec_exchange_order_place(x, SYM, "SELL", "0.5", "150.00", AGENT "-1-9", &o), 0);
  ck_assert_int_eq(arec_exchange_order_place(x, SYM, "SELL", "0.5", "150.00", "ag1x-1-1", &o), 0);
  ck_assert_int_eq(arec_exchange_order_place(x, SYM, "SELL", "0.5", "150.00", "ag1-c-1-1", &o), 0);
  ck_assert_int_eq(arec_exchange_order_place(x, SYM, "BUY", "0.1", "90.00", "web_123", &o), 0);
  ck_assert_int_eq(arec_fx_fill_open(f.fx, AGENT "-1-8"), 0); /* filled while away */
  ck_assert_int_eq(arec_fx_fill_open(f.fx, "ag1x-1-1"), 0);   /* another agent's */
  arec_exchange_free(x);

  arec_manager *B = manager(&f, "pod-b");
  ck_assert(wait_log(&f, "reconciled with the exchange agent_id=ag1 symbol=BTC/USDT "
                         "trades_applied=1 orders_cancelled=1", 1, WAIT));
  ck_assert(cap_has(&f.lc, "open order of this agent cancelled agent_id=ag1 "
                           "symbol=BTC/USDT client_order_id=ag1-1-9"));
  m = wait_settled(&f, 2, WAIT);
  ck_assert_uint_eq(m->trades, 2);
  ck_assert_double_eq_tol(m->position, 2.97029702 - 1, 1e-12);
  ck_assert_int_eq(m->fills[1].side, AREC_SIDE_SELL);
  ck_assert_str_eq(m->fills[1].coid, AGENT "-1-8");
  ck_assert_double_eq_tol(m->realized_pnl, 104 - 104 * 0.001 - avg, 1e-9);
  ck_assert_int_eq(arec_fx_order_status(f.fx, AGENT "-1-9", status), 0);
  ck_assert_str_eq(status, "CANCELED");
  ck_assert_int_eq(arec_fx_order_status(f.fx, "ag1-c-1-1", status), 0);
  ck_assert_str_eq(status, "NEW");
  ck_assert_int_eq(arec_fx_order_status(f.fx, "web_123", status), 0);
  ck_assert_str_eq(status, "NEW");
  ck_assert_int_eq(arec_fx_order_status(f.fx, "ag1x-1-1", status), 0);
  ck_assert_str_eq(status, "FILLED");
  free(m);

  /* the next pod: nothing more */
  ck_assert_int_eq(arec_manager_shutdown(B, 5000), 0);
  arec_manager_free(B);
  arec_manager *C = manager(&f, "pod-c");
  /* (A logged the same line at its start: C's is the second) */
  ck_assert(wait_log(&f, "reconciled with the exchange agent_id=ag1 symbol=BTC/USDT "
                         "trades_applied=0 orders_cancelled=0", 2, WAIT));
  m = stored(&f, NULL);
  ck_assert_uint_eq(m->trades, 2);
  ck_assert_double_eq_tol(m->position, 2.97029702 - 1, 1e-12);
  ck_assert_int_eq(arec_fx_order_status(f.fx, "ag1-c-1-1", status), 0);
  ck_assert_str_eq(status, "NEW");
  fix_done(&f, C, m);
}
END_TEST


START_TEST(no_order_before_the_reconcile_succeeded) {
  fix f;
  arec_fx_stats st;
  fix_init(&f, 1);
  arec_fx_set_prices(f.fx, "BTCUSDT", RISE, NRISE);
  arec_fx_fail(f.fx, 503, 3); /* the first three requests fail */
  arec_manager *A = manager(&f, "pod-a");
  ck_assert_int_eq(arec_manager_start_agent(A, AGENT), 0);
  arec_sym_mem *m = wait_trades(&f, 1, WAIT);
  arec_manager_free(A);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert_int_eq(cap_count(&f.lc, "reconcile with the exchange incomplete"), 3);
  pthread_mutex_lock(&f.lc.mu);
  const char *ok = strstr(f.lc.buf, "reconciled with the exchange");
  const char *intent = strstr(f.lc.buf, "order intent: BUY");
  const char *last_fail = NULL;
  for (const char *p = f.lc.buf; (p = strstr(p, "reconcile with the exchange incomplete")); p++)
    last_fail = p;
  pthread_mutex_unlock(&f.lc.mu);
  ck_assert_ptr_nonnull(ok);
  ck_assert_ptr_nonnull(intent);
  ck_assert(last_fail < ok && ok < intent);
  arec_fx_get_stats(f.fx, &st);
  /* the failed requests were the reconcile's, not prices */
  ck_assert_uint_eq(st.failed, 3);
  ck_assert_uint_ge(st.open_orders, 1);
  ck_assert_uint_eq(st.order_posts, 1);
  fix_done(&f, NULL, m);
}
END_TEST

AREC_TEST_CASE_MAIN("trading_reconcile", "takeover", 30, arec_test_run(s),
                    fill_lost_with_its_pod_is_applied_once_by_the_next,
                    orders_while_away_fill_once_rest_cancelled_others_untouched,
                    no_order_before_the_reconcile_succeeded)
