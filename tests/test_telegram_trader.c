/*
 * test_telegram_trader.c -- the bot's trader commands and controls as
 * users meet them, against the fake Bot API, the real service and real
 * PostgreSQL and Redis:
 *   - /balance, /trades [N], /daily [days], /performance for a user with
 *     two agents, from their stored memory, and nothing of another user's
 *     (the service answers 404 when one asks for another's);
 *   - /exchanges, /add_exchange of an unsupported exchange refused with the
 *     list, /create_agent ... live, /unassign and /remove_exchange refused
 *     while the agent runs, /stop_all, then both allowed, /delete_agent;
 *   - notifications: a restore told only after a failure, a user's stop
 *     told once with what was closed and what was NOT, a daily loss stop,
 *     the stop of a deleted agent still reaching its owner;
 *   - the per-user queues: a chat held by a 429's retry_after does not
 *     hold another chat's message.
 */
#include "test_telegram_fixture.h"

#include "agentrecover/sys/repository.h"
#include "trading/memory.h"
#include "support/runner.h"

#define UA 1201 /* two agents */
#define UB 1202 /* another user */
#define DAY_MS 86400000LL

static const arec_svc_actor g_tga = {AREC_ACTOR_TELEGRAM, UA, NULL};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A user with an account and the pairs, through the service. */
static void user(fix *f, long long uid, const char *const *pairs) {
  arec_svc_result r;
  long long ex = 0, id = 0;
  ck_assert_int_eq(arec_svc_user_upsert(f->svc, &g_admin, uid, "u", &r), 0);
  ck_assert_int_eq(arec_svc_exchange_add(f->svc, &g_admin, uid, "binance",
                                         "KEY-0001", "SECRET-0001", 1, &ex,
                                         &r),
                   0);
  for (size_t i = 0; pairs[i]; i++)
    ck_assert_int_eq(arec_svc_pair_add(f->svc, &g_admin, uid, ex, pairs[i],
                                       &id, &r),
                     0);
}

static void agent(fix *f, const char *id, long long uid, const char *sym,
                  double budget) {
  arec_svc_result r;
  char out[72];
  arec_svc_agent_new a = {id, uid, "noop", id, NULL, NULL};
  ck_assert_int_eq(arec_svc_agent_create(f->svc, &g_admin, &a, out,
                                         sizeof out, &r),
                   0);
  ck_assert_int_eq(arec_svc_agent_assign(f->svc, &g_admin, id, sym, budget,
                                         &r),
                   0);
}

/* Stores `m` and `balance` as the memory of (id, sym): a fenced save of a
 * pod of the test's own (claimed, saved, released; the wish put back). */
static void store_memory(fix *f, const char *id, const char *sym,
                         double balance, const arec_sym_mem *m) {
  arec_repository *r = arec_svc_repository(f->svc);
  char *js = NULL;
  uint64_t fence = 0;
  static const char inc[] = "0123456789abcdef0123456789abcdef";
  ck_assert_int_eq(arec__mem_to_json(m, &js), 0);
  ck_assert_int_eq(arec_agent_set_trading(r, id, 1), 0);
  ck_assert_int_eq(r->heartbeat(r, "seed-pod", inc, 60000, 0), 0);
  ck_assert_int_eq(r->claim(r, "seed-pod", inc, id, &fence), 0);
  arec_symbol_state st = {sym, balance, js};
  arec_save sv = {id, fence, "seed-pod", 1, &st};
  ck_assert_int_eq(r->save_state(r, &sv), 0);
  ck_assert_int_eq(r->release(r, id, fence), 0);
  ck_assert_int_eq(arec_agent_set_trading(r, id, 0), 0);
  free(js);
}

static void fill(arec_sym_mem *m, double *bal, int64_t t, arec_side side,
                 double qty, double price, long long trade) {
  arec_fill x = {.t_ms = t, .side = side, .qty = qty, .price = price,
                 .commission = qty * price * 0.001, .trade_id = trade};
  ck_assert_int_eq(arec__mem_apply(m, bal, &x, NULL, NULL, 0), 1);
}

/* ------------------------------------------------------------- reports */
START_TEST(reports_show_my_two_agents_only) {
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-r");
  static const char *const pa[] = {"BTC/USDT", "ETH/USDT", NULL};
  static const char *const pb[] = {"BTC/USDT", NULL};
  user(&f, UA, pa);
  user(&f, UB, pb);
  agent(&f, "rep-a1", UA, "BTC/USDT", 1000);
  agent(&f, "rep-a2", UA, "ETH/USDT", 500);
  agent(&f, "rep-b1", UB, "BTC/USDT", 9000);
  int64_t now = now_ms();
  arec_sym_mem *m = calloc(1, sizeof *m);
  ck_assert_ptr_nonnull(m);
  /* rep-a1: +9.79 yesterday, a position of 0.5 bought today at 200 (open
   * +5 at 210) */
  double bal = 1000;
  fill(m, &bal, now - DAY_MS - 2000, AREC_SIDE_BUY, 1, 100, 11);
  fill(m, &bal, now - DAY_MS - 1000, AREC_SIDE_SELL, 1, 110, 12);
  fill(m, &bal, now - 3000, AREC_SIDE_BUY, 0.5, 200, 13);
  arec__mem_push_price(m, 210, 0);
  store_memory(&f, "rep-a1", "BTC/USDT", bal, m);
  double a1_bal = bal, a1_real = m->realized_pnl;
  /* rep-a2: -10.19 today */
  memset(m, 0, sizeof *m);
  bal = 500;
  fill(m, &bal, now - 2000, AREC_SIDE_BUY, 2, 50, 21);
  fill(m, &bal, now - 1000, AREC_SIDE_SELL, 2, 45, 22);
  store_memory(&f, "rep-a2", "ETH/USDT", bal, m);
  double a2_bal = bal, a2_real = m->realized_pnl;
  /* another user's agent: a trade of 7 BTC nobody else may see */
  memset(m, 0, sizeof *m);
  bal = 9000;
  fill(m, &bal, now - 500, AREC_SIDE_BUY, 7, 777, 31);
  arec__mem_push_price(m, 800, 0);
  store_memory(&f, "rep-b1", "BTC/USDT", bal, m);
  free(m);

  char r[8192], want[128];
  ask(&f, UA, "/balance", "Balance per agent", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "rep-a1 (paper)"));
  ck_assert_ptr_nonnull(strstr(r, "rep-a2 (paper)"));
  ck_assert_ptr_null(strstr(r, "rep-b1"));
  snprintf(want, sizeof want, "rep-a1 (paper): %.2f USDT = cash %.2f + "
           "positions 105.00", a1_bal + 105, a1_bal);
  ck_assert_msg(strstr(r, want), "%s lacks %s", r, want);
  snprintf(want, sizeof want, "Total: %.2f USDT", a1_bal + 105 + a2_bal);
  ck_assert_msg(strstr(r, want), "%s lacks %s", r, want);

  ask(&f, UA, "/trades", "Your last 5 trades", r, sizeof r);
  ck_assert_ptr_null(strstr(r, "rep-b1"));
  ck_assert_ptr_null(strstr(r, " 7 BTC"));
  /* newest first */
  const char *s1 = strstr(r, "SELL 2 ETH/USDT @ 45");
  const char *s2 = strstr(r, "BUY 0.5 BTC/USDT @ 200");
  const char *s3 = strstr(r, "BUY 1 BTC/USDT @ 100");
  ck_assert(s1 && s2 && s3 && s1 < s2 && s2 < s3);
  ask(&f, UA, "/trades 2", "Your last 2 trades", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "BUY 2 ETH/USDT @ 50"));
  ck_assert_ptr_null(strstr(r, "BTC/USDT"));
  ask(&f, UA, "/trades 0", "Usage: /trades [1..50]", NULL, 0);

  ask(&f, UA, "/daily 3", "Realised PnL per day", r, sizeof r);
  char today[16], yday[16], old[16];
  arec__utc_day_text(arec__utc_day(now), today, sizeof today);
  arec__utc_day_text(arec__utc_day(now) - 1, yday, sizeof yday);
  arec__utc_day_text(arec__utc_day(now) - 2, old, sizeof old);
  /* rep-a2's whole PnL is today's; rep-a1's yesterday's (its buy today
   * realised nothing) -- unless the test ran across midnight */
  if (arec__utc_day(now - 3000) == arec__utc_day(now) &&
      arec__utc_day(now - DAY_MS - 2000) == arec__utc_day(now) - 1) {
    snprintf(want, sizeof want, "%s: %+.2f USDT (3 trades", today, a2_real);
    ck_assert_msg(strstr(r, want), "%s lacks %s", r, want);
    snprintf(want, sizeof want, "%s: %+.2f USDT (2 trades", yday, a1_real);
    ck_assert_msg(strstr(r, want), "%s lacks %s", r, want);
  }
  snprintf(want, sizeof want, "%s: +0.00 USDT (0 trades", old);
  ck_assert_msg(strstr(r, want), "%s lacks %s", r, want);
  ck_assert_ptr_null(strstr(r, "(1 trade,")); /* rep-b1's lone buy */

  ask(&f, UA, "/performance", "Performance per symbol", r, sizeof r);
  snprintf(want, sizeof want, "BTC/USDT: realised %+.2f USDT, open +4.90, 3 "
           "trades", a1_real);
  ck_assert_msg(strstr(r, want), "%s lacks %s", r, want);
  snprintf(want, sizeof want, "ETH/USDT: realised %+.2f USDT, open +0.00, 2 "
           "trades", a2_real);
  ck_assert_msg(strstr(r, want), "%s lacks %s", r, want);
  ck_assert(strstr(r, "BTC/USDT") < strstr(r, "ETH/USDT")); /* best first */

  /* the other user sees theirs only */
  ask(&f, UB, "/trades", "Your last 1 trade", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "rep-b1 BUY 7 BTC/USDT"));
  ask(&f, UB, "/balance", "rep-b1", r, sizeof r);
  ck_assert_ptr_null(strstr(r, "rep-a"));
  /* and the service refuses a Telegram user another's reports */
  arec_svc_result res;
  arec_svc_balance *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_svc_balance_list(f.svc, &g_tga, UB, &v, &n, &res),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(res.status, 404);
  ck_assert_ptr_null(v);
  arec_svc_perf *p = NULL;
  ck_assert_int_eq(arec_svc_performance(f.svc, &g_admin, UB, &p, &n, &res), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_double_eq_tol(p[0].position, 7, 1e-12);
  free(p);
  arec_svc_day *d = NULL;
  ck_assert_int_eq(arec_svc_daily(f.svc, &g_admin, UA, 91, &d, &n, &res),
                   AREC_EINVAL);
  ck_assert_str_eq(res.field, "days");
  fix_bot_free(&f, b);
}
END_TEST

/* ------------------------------------------------------------ controls */
static void id_of(const char *reply, char *id) {
  const char *p = strstr(reply, "id=");
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(sscanf(p + 3, "%64[A-Za-z0-9_-]", id), 1);
}

static int running_on_nobody(fix *f, const char *id, int ms) {
  for (int t = 0; t < ms; t += 20) {
    arec_agent_record *a = NULL;
    arec_svc_result r;
    if (arec_svc_agent_get(f->svc, &g_admin, id, &a, &r) == 0 &&
        !a->running_on) {
      arec_agent_records_free(a, 1);
      return 1;
    }
    arec_agent_records_free(a, a ? 1 : 0);
    sleep_ms(20);
  }
  return 0;
}

START_TEST(controls_by_chat) {
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-c");
  atomic_store(&g_tap, b);
  char r[8192], id[72], live[72], cmd[256], ex[32];
  const long long U = 1301, V = 1302;
  ask(&f, U, "/start", "Welcome", NULL, 0);
  ask(&f, V, "/start", "Welcome", NULL, 0);
  /* an unsupported exchange is refused with the list */
  ask(&f, U, "/add_exchange bybit KEY-x1 SEC-x1", "Invalid exchange", r,
      sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "Supported: binance."));
  ck_assert_ptr_null(strstr(r, "KEY-x1"));
  ask(&f, U, "/exchanges", "Supported exchanges: binance.", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "no exchange account yet"));
  ask(&f, U, "/add_exchange binance KEY-y1 SEC-y1 testnet", "added", NULL, 0);
  ask(&f, U, "/exchanges", "Your accounts:", r, sizeof r);
  ck_assert_int_eq(sscanf(strstr(r, "id=") + 3, "%31[0-9]", ex), 1);
  ck_assert_ptr_nonnull(strstr(r, "binance (testnet)"));
  ck_assert_ptr_null(strstr(r, "KEY-y1"));
  ask(&f, U, "/add_pair BTC/USDT", "added", NULL, 0);
  /* a live agent: created, said so, requires a live pod */
  ask(&f, U, "/create_agent noop \"Live One\" live", "mode=live", r, sizeof r);
  id_of(r, live);
  ck_assert_ptr_nonnull(strstr(r, "only pods allowed to trade live"));
  arec_agent_record *a = NULL;
  arec_svc_result res;
  ck_assert_int_eq(arec_svc_agent_get(f.svc, &g_admin, live, &a, &res), 0);
  ck_assert_str_eq(a->requires, "live");
  ck_assert_int_eq(arec_svc_agent_is_live(a), 1);
  arec_agent_records_free(a, 1);
  ask(&f, U, "/create_agent noop \"X\" yolo", "Usage: /create_agent", NULL, 0);
  ask(&f, U, "/create_agent noop \"Paper One\"", "mode=paper", r, sizeof r);
  id_of(r, id);
  snprintf(cmd, sizeof cmd, "/assign_agent %s BTC/USDT 100", id);
  ask(&f, U, cmd, "100.00", NULL, 0);
  snprintf(cmd, sizeof cmd, "/start_agent %s", id);
  ask(&f, U, cmd, "(paper trading)", NULL, 0);
  /* refused while it runs */
  snprintf(cmd, sizeof cmd, "/unassign %s BTC/USDT", id);
  ask(&f, U, cmd, "not possible right now", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "Stop it first"));
  snprintf(cmd, sizeof cmd, "/remove_exchange %s", ex);
  ask(&f, U, cmd, "not possible right now", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, id));
  /* another user can do none of it */
  snprintf(cmd, sizeof cmd, "/delete_agent %s", id);
  ask(&f, V, cmd, "not found", NULL, 0);
  snprintf(cmd, sizeof cmd, "/remove_exchange %s", ex);
  ask(&f, V, cmd, "not found", NULL, 0);
  ask(&f, V, "/stop_all", "None of your agents was running", NULL, 0);
  /* stop all: the agent stops (its owner is told), then both go */
  size_t mark = arec_ftg_mark(f.tg);
  arec_ftg_say(f.tg, U, "/stop_all");
  ck_assert(arec_ftg_wait(f.tg, U, mark, "Stopping 1 agent", WAIT, NULL, 0));
  ck_assert(arec_ftg_wait(f.tg, U, mark, "⏹ Agent", WAIT, NULL, 0));
  ck_assert(running_on_nobody(&f, id, WAIT));
  snprintf(cmd, sizeof cmd, "/unassign %s ETH/USDT", id);
  ask(&f, U, cmd, "does not trade ETH/USDT", NULL, 0);
  snprintf(cmd, sizeof cmd, "/unassign %s BTC/USDT", id);
  ask(&f, U, cmd, "no longer trades BTC/USDT", NULL, 0);
  snprintf(cmd, sizeof cmd, "/remove_exchange %s", ex);
  ask(&f, U, cmd, "removed", NULL, 0);
  ask(&f, U, "/exchanges", "no exchange account yet", NULL, 0);
  /* delete: gone for get and list, the id stays taken */
  snprintf(cmd, sizeof cmd, "/delete_agent %s", id);
  ask(&f, U, cmd, "deleted", NULL, 0);
  snprintf(cmd, sizeof cmd, "/status %s", id);
  ask(&f, U, cmd, "not found", NULL, 0);
  ask(&f, U, "/agents", live, r, sizeof r);
  ck_assert_ptr_null(strstr(r, id));
  ck_assert_int_gt(log_count("action=agent.delete", "result=200"), 0);
  ck_assert_int_gt(log_count("action=agents.stop_all", "actor=telegram:1301"),
                   0);
  atomic_store(&g_tap, NULL);
  fix_bot_free(&f, b);
}
END_TEST

/* ------------------------------------------------------- notifications */
static void tap(arec_tg_bot *b, arec_log_level l, const char *msg,
                const arec_log_field *f, size_t n) {
  arec_tg_bot_log_tap(b, l, msg, f, n);
}

#define S(k, v) {k, v, AREC_LOG_STRING}

START_TEST(notifications_say_what_happened) {
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-n");
  static const char *const pa[] = {"BTC/USDT", NULL};
  user(&f, 1401, pa);
  agent(&f, "note-a", 1401, "BTC/USDT", 100);
  size_t mark = arec_ftg_mark(f.tg);
  /* a first start, a graceful or fair-share handover: not told */
  arec_log_field h[3] = {S("agent_id", "note-a"), S("symbol", "BTC/USDT"),
                         S("after", "handover")};
  tap(b, AREC_LOG_INFO, "✅ agent restored successfully", h, 3);
  tap(b, AREC_LOG_INFO, "✅ agent restored successfully", h, 2); /* no field */
  /* a takeover after a failure: told */
  arec_log_field k[3] = {S("agent_id", "note-a"), S("symbol", "BTC/USDT"),
                         S("after", "failure")};
  tap(b, AREC_LOG_INFO, "✅ agent restored successfully", k, 3);
  ck_assert(arec_ftg_wait(f.tg, 1401, mark, "restored on pod pod-n after a "
                          "failure", WAIT, NULL, 0));
  /* a user's stop with a position that could not be closed: told once,
   * with what and why */
  arec_log_field st[7] = {S("agent_id", "note-a"), S("reason", "user"),
                          S("closed", "ETH/USDT"), S("not_closed", "BTC/USDT"),
                          S("why", "BTC/USDT: refused by the exchange: "
                                   "Account has insufficient balance"),
                          S("dust", ""), {"user_id", "1401", AREC_LOG_NUMBER}};
  tap(b, AREC_LOG_WARN, "trading agent stopped", st, 7);
  arec_log_field core[2] = {S("agent_id", "note-a"), S("reason", "user")};
  tap(b, AREC_LOG_INFO, "agent stopped", core, 2);
  char r[2048];
  ck_assert(arec_ftg_wait(f.tg, 1401, mark, "NOT closed", WAIT, r, sizeof r));
  ck_assert_ptr_nonnull(strstr(r, "Agent note-a stopped; positions closed: "
                                  "ETH/USDT; NOT closed: BTC/USDT (BTC/USDT: "
                                  "refused by the exchange: Account has "
                                  "insufficient balance)"));
  /* a daily loss stop */
  arec_log_field dl[4] = {S("agent_id", "note-a"), {"loss", "12.18",
                          AREC_LOG_NUMBER}, {"limit", "10.00", AREC_LOG_NUMBER},
                          {"user_id", "1401", AREC_LOG_NUMBER}};
  tap(b, AREC_LOG_WARN, "daily loss limit reached, stopping the agent", dl, 4);
  ck_assert(arec_ftg_wait(f.tg, 1401, mark, "lost 12.18 today (UTC), its "
                          "daily loss limit is 10.00", WAIT, NULL, 0));
  /* a stop with everything closed, then a stop without a trading line */
  arec_log_field ok[7] = {S("agent_id", "note-a"), S("reason", "user"),
                          S("closed", "BTC/USDT"), S("not_closed", ""),
                          S("why", ""), S("dust", ""),
                          {"user_id", "1401", AREC_LOG_NUMBER}};
  tap(b, AREC_LOG_INFO, "trading agent stopped", ok, 7);
  tap(b, AREC_LOG_INFO, "agent stopped", core, 2);
  ck_assert(arec_ftg_wait(f.tg, 1401, mark, "positions closed: BTC/USDT.",
                          WAIT, NULL, 0));
  tap(b, AREC_LOG_INFO, "agent stopped", core, 2);
  ck_assert(arec_ftg_wait(f.tg, 1401, mark, "⏹ Agent note-a stopped.", WAIT,
                          NULL, 0));
  /* a handover's stop is not the user's: nothing */
  arec_log_field ho[2] = {S("agent_id", "note-a"), S("reason", "handover")};
  tap(b, AREC_LOG_INFO, "agent stopped", ho, 2);
  /* a deleted agent's stop still reaches its owner (the line names them) */
  arec_svc_result res;
  ck_assert_int_eq(arec_svc_agent_delete(f.svc, &g_admin, "note-a", &res), 0);
  arec_log_field gone[7] = {S("agent_id", "note-a"), S("reason", "user"),
                            S("closed", "BTC/USDT"), S("not_closed", ""),
                            S("why", ""), S("dust", "BTC/USDT"),
                            {"user_id", "1401", AREC_LOG_NUMBER}};
  tap(b, AREC_LOG_INFO, "trading agent stopped", gone, 7);
  ck_assert(arec_ftg_wait(f.tg, 1401, mark, "remainder below the exchange "
                          "minimum stays on BTC/USDT", WAIT, NULL, 0));
  /* a sentinel through the owner path: everything before it was handled */
  arec_tg_bot_notify(b, NULL, 1401, "sentinel-1");
  ck_assert(arec_ftg_wait(f.tg, 1401, mark, "sentinel-1", WAIT, NULL, 0));
  ck_assert_int_eq(arec_ftg_count(f.tg, 1401, mark, "restored"), 1);
  ck_assert_int_eq(arec_ftg_count(f.tg, 1401, mark, "NOT closed"), 1);
  ck_assert_int_eq(arec_ftg_count(f.tg, 1401, mark, "stopped"), 5);
  ck_assert_int_eq(arec_ftg_count(f.tg, 1401, mark, NULL), 7);
  fix_bot_free(&f, b);
}
END_TEST

/* ----------------------------------------------------- per-user queues */
START_TEST(a_held_chat_does_not_hold_another) {
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-q");
  size_t mark = arec_ftg_mark(f.tg);
  arec_ftg_throttle(f.tg, 1, 3); /* the next sendMessage: 429, retry 3 s */
  arec_tg_bot_notify(b, NULL, 1501, "to the first user");
  arec_ftg_stats st;
  for (int t = 0; t < WAIT; t += 10) {
    arec_ftg_get_stats(f.tg, &st);
    if (st.throttled == 1) break;
    sleep_ms(10);
  }
  ck_assert_uint_eq(st.throttled, 1);
  arec_tg_bot_notify(b, NULL, 1502, "to the second user");
  ck_assert(arec_ftg_wait(f.tg, 1502, mark, "second", WAIT, NULL, 0));
  ck_assert(arec_ftg_wait(f.tg, 1501, mark, "first", WAIT, NULL, 0));
  size_t i1 = arec_ftg_find(f.tg, 1501, mark, "first");
  size_t i2 = arec_ftg_find(f.tg, 1502, mark, "second");
  arec_ftg_get_stats(f.tg, &st);
  /* the second went out while the first waited out its retry_after */
  ck_assert_int_lt(arec_ftg_sent_at(f.tg, i2), arec_ftg_sent_at(f.tg, i1));
  ck_assert_int_lt(arec_ftg_sent_at(f.tg, i2) - st.last_429_ms, 3000);
  ck_assert_int_ge(arec_ftg_sent_at(f.tg, i1) - st.last_429_ms, 3000);
  ck_assert_int_eq(arec_ftg_count(f.tg, 1501, mark, "first"), 1);
  fix_bot_free(&f, b);
}
END_TEST

AREC_TEST_CASE_MAIN("telegram_trader", "trader", 120, servers_main(s),
                    reports_show_my_two_agents_only, controls_by_chat,
                    notifications_say_what_happened,
                    a_held_chat_does_not_hold_another)
