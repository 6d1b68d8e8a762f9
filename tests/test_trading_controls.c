/*
 * test_trading_controls.c -- a trading agent's controls on real managers
 * over the in-memory backends and the fake exchange: each agent trades in
 * the mode of its params (a paper agent on a live pod sends nothing to the
 * exchange; a live agent is refused by a paper pod, with the reason as its
 * last_error), max_position reduces a buy, max_daily_loss stops the agent
 * as its user would and its positions are closed, and a user's stop says
 * in one line what it closed and what it could not (the exchange refusing
 * the sell).
 */
#include <stdatomic.h>

#include "test_trading_fixture.h"
#include "support/runner.h"

/* The manager a risk stop goes to (the host's hook: the pod's manager). */
static arec_manager *_Atomic g_mgr;
static atomic_int g_stops;

static int stop_hook(void *ud, const char *agent_id) {
  (void)ud;
  atomic_fetch_add(&g_stops, 1);
  arec_manager *m = atomic_load(&g_mgr);
  return m ? arec_manager_stop_agent(m, agent_id) : AREC_EINVAL;
}

static arec_agent_record *record(fix *f) {
  arec_repository *repo;
  arec_agent_record *a = NULL;
  ck_assert_int_eq(arec_memory_repository_new(&repo, f->st), 0);
  ck_assert_int_eq(arec_agent_get(repo, AGENT, &a), 0);
  arec_repository_free(repo);
  return a;
}

/* The first captured line containing `a` (and `b`), copied into out. */
static int cap_line(logcap *c, const char *a, const char *b, char *out,
                    size_t len) {
  int found = 0;
  pthread_mutex_lock(&c->mu);
  for (const char *p = c->buf; !found && (p = strstr(p, a)); p++) {
    const char *s = p, *e = strchr(p, '\n');
    while (s > c->buf && s[-1] != '\n') s--;
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)n, s);
    if (!b || strstr(line, b)) {
      snprintf(out, len, "%s", line);
      found = 1;
    }
  }
  pthread_mutex_unlock(&c->mu);
  return found;
}

/* Empties the capture (it keeps 64 KiB; debug lines of a long run fill it). */
static void cap_clear(logcap *c) {
  pthread_mutex_lock(&c->mu);
  c->n = 0;
  c->buf[0] = '\0';
  pthread_mutex_unlock(&c->mu);
}

/* Waits up to ms for the core's line of a user's stop (the runner leaves
 * the runners list before its agent type's stop() has run). */
static int wait_user_stop(logcap *c, int ms) {
  for (int t = 0; t < ms; t += 10) {
    if (cap_has(c, "INFO agent stopped agent_id=" AGENT " reason=user"))
      return 1;
    sleep_ms(10);
  }
  return 0;
}

/* ------------------------------------------------------------------- mode */
START_TEST(paper_agent_on_a_live_pod_sends_nothing) {
  fix f;
  arec_fx_stats st;
  fix_init_p(&f, 1, "{\"mode\":\"paper\"}");
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 1, 8000);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert(m->position > 0);
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.order_posts, 0); /* filled on paper */
  ck_assert(cap_has(&f.lc, "trading agent started"));
  ck_assert(cap_has(&f.lc, "mode=paper"));
  ck_assert(cap_has(&f.lc, "order filled: BUY"));
  ck_assert(!cap_has(&f.lc, "mode=live"));
  fix_done(&f, A, m);
}
END_TEST

START_TEST(live_agent_refused_by_a_paper_pod) {
  fix f;
  fix_init_p(&f, 0, "{\"mode\":\"live\"}");
  arec_fx_set_prices(f.fx, "BTCUSDT", RISE, NRISE);
  arec_manager *A = manager(&f, "pod-a");
  int rc = arec_manager_start_agent(A, AGENT);
  ck_assert_int_eq(rc, AREC_EREFUSED);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "TRADING_MODE=paper"));
  ck_assert_uint_eq(nrunners(A), 0);
  arec_fx_stats st;
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.requests, 0); /* it never even asked for a price */
  arec_manager_free(A);
  fix_free(&f);
}
END_TEST

/* ------------------------------------------------------------------- risk */
START_TEST(max_position_reduces_the_buy) {
  fix f;
  fix_init_p(&f, 0, "{\"risk\":{\"max_position\":150}}");
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 1, 8000);
  ck_assert_uint_eq(m->trades, 1);
  /* 30 % of 1000 would be 2.97 BTC at 101; the limit allows 150 USDT */
  ck_assert(m->position > 1.4);
  ck_assert(m->position * 101 <= 150 + 1e-9);
  ck_assert(cap_has(&f.lc, "order reduced: max_position"));
  fix_done(&f, A, m);
}
END_TEST

START_TEST(daily_loss_stops_the_agent_and_closes) {
  /* a buy at 101, then 97: no stop-loss (5 %), no trend exit, an open
   * loss of about 12 USDT against a daily limit of 10 */
  static const double SERIES[] = {100, 100, 100, 100, 100, 100, 100,
                                  100, 100, 101, 102, 103, 104, 97};
  fix f;
  fix_init_p(&f, 0, "{\"risk\":{\"max_daily_loss\":10}}");
  f.cfg.stop_agent = stop_hook;
  atomic_store(&g_stops, 0);
  arec_fx_set_prices(f.fx, "BTCUSDT", SERIES, sizeof SERIES / sizeof *SERIES);
  arec_manager *A = manager(&f, "pod-a");
  atomic_store(&g_mgr, A);
  ck_assert_int_eq(arec_manager_start_agent(A, AGENT), 0);
  arec_sym_mem *m = wait_trades(&f, 1, 8000); /* the buy at 101 */
  ck_assert_uint_eq(m->trades, 1);
  free(m);
  cap_clear(&f.lc);
  for (int t = 0; t < 10000 && (nrunners(A) > 0 || !atomic_load(&g_stops));
       t += 10)
    sleep_ms(10);
  ck_assert_int_eq(atomic_load(&g_stops), 1);
  ck_assert_uint_eq(nrunners(A), 0);
  ck_assert(wait_user_stop(&f.lc, 8000));
  char line[1024];
  ck_assert(cap_line(&f.lc, "daily loss limit reached, stopping the agent",
                     NULL, line, sizeof line));
  ck_assert_ptr_nonnull(strstr(line, " WARN "));
  ck_assert_ptr_nonnull(strstr(line, "limit=10.00"));
  ck_assert_ptr_nonnull(strstr(line, "user_id=7"));
  double loss = atof(strstr(line, "loss=") + 5);
  ck_assert(loss >= 10 && loss < 20);
  /* a user's stop: the position sold, said so */
  ck_assert(cap_line(&f.lc, "trading agent stopped", "reason=user", line,
                     sizeof line));
  ck_assert_ptr_nonnull(strstr(line, "closed=BTC/USDT"));
  ck_assert_ptr_nonnull(strstr(line, "not_closed=\"\""));
  m = stored(&f, NULL);
  ck_assert_uint_eq(m->trades, 2);
  ck_assert_double_eq(m->position, 0);
  ck_assert(m->realized_pnl < -10);
  /* the day's loss is in today's bucket */
  const arec_day_pnl *d = arec__mem_day(m, arec__utc_day(arec__trade_now_ms()));
  ck_assert_ptr_nonnull(d);
  ck_assert_double_eq_tol(d->realized, m->realized_pnl, 1e-9);
  arec_agent_record *a = record(&f);
  ck_assert_int_eq(a->is_trading, 0);
  ck_assert_ptr_nonnull(a->last_error);
  ck_assert_ptr_nonnull(strstr(a->last_error, "daily loss limit reached"));
  arec_agent_records_free(a, 1);
  atomic_store(&g_mgr, NULL);
  fix_done(&f, A, m);
}
END_TEST

/* -------------------------------------------------------------- the stop */
START_TEST(user_stop_says_what_it_could_not_close) {
  fix f;
  fix_init(&f, 1);
  arec_manager *A = start_on_rise(&f, "pod-a");
  arec_sym_mem *m = wait_trades(&f, 1, 8000);
  ck_assert(m->position > 0);
  free(m);
  /* the exchange refuses the sell of the stop */
  arec_fx_reject_next(f.fx, 1, -2010,
                      "Account has insufficient balance for requested action.");
  cap_clear(&f.lc);
  ck_assert_int_eq(arec_manager_stop_agent(A, AGENT), 0);
  ck_assert(wait_user_stop(&f.lc, 8000));
  ck_assert_uint_eq(nrunners(A), 0);
  char line[1024];
  ck_assert(cap_line(&f.lc, "trading agent stopped", "reason=user", line,
                     sizeof line));
  ck_assert_msg(strstr(line, " WARN "), "%s", line);
  ck_assert_ptr_nonnull(strstr(line, "closed=\"\""));
  ck_assert_ptr_nonnull(strstr(line, "not_closed=BTC/USDT"));
  ck_assert_ptr_nonnull(strstr(line, "why=\"BTC/USDT: refused by the "
                                     "exchange: Account has insufficient"));
  m = stored(&f, NULL);
  ck_assert(m->position > 0); /* still open, and said so */
  ck_assert_uint_eq(m->nintents, 0);
  free(m);
  arec_fx_stats st;
  arec_fx_get_stats(f.fx, &st);
  ck_assert_uint_eq(st.orders, 1);
  ck_assert_uint_eq(st.rejected + st.order_posts >= 2, 1);
  arec_manager_free(A);
  fix_free(&f);

  /* paper: the stop sells and says it closed the symbol */
  fix_init(&f, 0);
  arec_fx_set_prices(f.fx, "BTCUSDT", RISE, NRISE);
  A = manager(&f, "pod-a");
  ck_assert_int_eq(arec_manager_start_agent(A, AGENT), 0);
  m = wait_trades(&f, 1, 8000);
  free(m);
  cap_clear(&f.lc);
  ck_assert_int_eq(arec_manager_stop_agent(A, AGENT), 0);
  ck_assert(wait_user_stop(&f.lc, 8000));
  ck_assert(cap_line(&f.lc, "trading agent stopped", "reason=user", line,
                     sizeof line));
  ck_assert_msg(strstr(line, " INFO "), "%s", line);
  ck_assert_ptr_nonnull(strstr(line, "closed=BTC/USDT not_closed=\"\""));
  m = stored(&f, NULL);
  ck_assert_double_eq(m->position, 0);
  free(m);
  arec_manager_free(A);
  fix_free(&f);
}
END_TEST

AREC_TEST_CASE_MAIN("trading_controls", "controls", 30, arec_test_run(s),
                    paper_agent_on_a_live_pod_sends_nothing,
                    live_agent_refused_by_a_paper_pod,
                    max_position_reduces_the_buy,
                    daily_loss_stops_the_agent_and_closes,
                    user_stop_says_what_it_could_not_close)
