/*
 * test_telegram_bot.c -- the Telegram bot against the fake Bot API, with
 * real PostgreSQL and Redis: the notes' flow by chat messages (register,
 * keys deleted, pair, create, assign, start on this pod, status, profit,
 * stop notified), ownership (another user's agent is "not found"), usage
 * lines and the allowlist, malformed updates skipped, and the poller role
 * moving to another pod when its holder dies.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "agentrecover/redis.h"
#include "support/fake_exchange.h"
#include "support/fake_telegram.h"
#include "support/harness.h"
#include "telegram/bot.h"
#include "telegram/commands.h"
#include "trading/trading.h"

#define TOKEN "123456:TEST-token"
#define U1 111
#define U2 222
#define WAIT 8000

static arec_test_pg g_pg;
static arec_test_redis g_redis;
static char g_addrs[64];

static void quiet(void *ud, arec_log_level l, const char *m,
                  const arec_log_field *f, size_t n) {
  (void)ud, (void)l, (void)m, (void)f, (void)n;
  if (getenv("TG_TEST_LOG")) arec_log_stderr_text(NULL, l, m, f, n);
}

/* The manager's log goes to the bot's tap once the bot exists. */
typedef struct tap {
  arec_tg_bot *_Atomic bot;
} tap;

static void tap_log(void *ud, arec_log_level l, const char *m,
                    const arec_log_field *f, size_t n) {
  tap *t = ud;
  arec_tg_bot *b = atomic_load(&t->bot);
  if (b) arec_tg_bot_log_tap(b, l, m, f, n);
  quiet(NULL, l, m, f, n);
}

typedef struct fix {
  arec_pg *pg;
  arec_fx *fx;
  arec_ftg *tg;
  arec_exchange_hub *hub;
  arec_host_trading_config tc;
  arec_manager *mgr;
  tap tp;
} fix;

static arec_pg *pg_open(void) {
  static const unsigned char key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.secrets_key = key;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  return pg;
}

static arec_lock *redis_lock(void) {
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  o.addrs = g_addrs;
  arec_lock *l = NULL;
  ck_assert_int_eq(arec_redis_lock_new(&l, &o), 0);
  return l;
}

static void fix_init(fix *f, const char *pod) {
  memset(f, 0, sizeof *f);
  f->pg = pg_open();
  /* every fake Bot API numbers its updates from 100 again */
  ck_assert_int_eq(arec_pg_kv_set(f->pg, "telegram:offset", "0", NULL, 0), 0);
  ck_assert_int_eq(arec_fx_start(&f->fx, "k", "s"), 0);
  static const double flat[] = {100, 100, 100};
  arec_fx_set_prices(f->fx, "BTCUSDT", flat, 3);
  ck_assert_int_eq(arec_ftg_start(&f->tg, TOKEN), 0);
  arec_exchange_hub_options ho = AREC_EXCHANGE_HUB_OPTIONS_INIT;
  ck_assert_int_eq(arec_exchange_hub_new(&f->hub, &ho), 0);
  f->tc = (arec_host_trading_config)AREC_HOST_TRADING_CONFIG_INIT;
  f->tc.hub = f->hub;
  f->tc.api_base = arec_fx_url(f->fx);
  f->tc.step_interval_ms = 50;
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, f->pg), 0);
  arec_manager_options o = AREC_MANAGER_OPTIONS_INIT;
  o.pod_name = pod;
  o.lock_ttl_ms = 3000;
  o.reconcile_interval_ms = 0;
  o.save_interval_ms = 100;
  o.workers = 2;
  o.log = tap_log;
  o.log_userdata = &f->tp;
  ck_assert_int_eq(arec_manager_new(&f->mgr, &o, repo, redis_lock()), 0);
  ck_assert_int_eq(arec_host_trading_register(f->mgr, &f->tc), 0);
  arec_restore_result rr;
  arec_manager_restore(f->mgr, &rr);
}

static arec_tg_bot *bot_new(fix *f, const char *pod, const char *allow) {
  arec_tg_bot_options bo = {0};
  bo.token = TOKEN;
  bo.api_base = arec_ftg_url(f->tg);
  bo.allowed_users = allow;
  bo.pod = pod;
  bo.pg = f->pg;
  bo.lock = redis_lock();
  bo.lock_ttl_ms = 1500;
  bo.idle_wait_ms = 100;
  bo.log = quiet;
  arec_tg_bot *b = NULL;
  ck_assert_int_eq(arec_tg_bot_new(&b, &bo), 0);
  ck_assert_int_eq(arec_tg_bot_start(b, f->mgr), 0);
  return b;
}

static void fix_free(fix *f) {
  arec_manager_free(f->mgr);
  arec_exchange_hub_free(f->hub);
  arec_ftg_stop(f->tg);
  arec_fx_stop(f->fx);
  arec_pg_free(f->pg);
}

/* Says `text` as `user` and waits for a reply containing `needle`. */
static void ask(fix *f, long long user, const char *text, const char *needle,
                char *out, size_t len) {
  size_t mark = arec_ftg_mark(f->tg);
  arec_ftg_say(f->tg, user, text);
  char buf[2048];
  int ok = arec_ftg_wait(f->tg, user, mark, NULL, WAIT, buf, sizeof buf);
  ck_assert_msg(ok, "no reply to %s", text);
  ck_assert_msg(strstr(buf, needle), "reply to \"%s\": \"%s\" lacks \"%s\"",
                text, buf, needle);
  if (out) snprintf(out, len, "%s", buf);
}

/* ---------------------------------------------------------------- flow */
START_TEST(notes_flow_by_chat) {
  fix f;
  fix_init(&f, "pod-a");
  arec_tg_bot *b = bot_new(&f, "pod-a", NULL);
  atomic_store(&f.tp.bot, b);
  char r[2048], id[72];
  ask(&f, U1, "/start", "Welcome", NULL, 0);
  size_t mark = arec_ftg_mark(f.tg);
  long long up = arec_ftg_say(f.tg, U1, "/add_exchange binance APIKEY-xyz SECRET-abc testnet");
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "added", WAIT, r, sizeof r));
  ck_assert_ptr_null(strstr(r, "APIKEY-xyz"));
  ck_assert_ptr_null(strstr(r, "SECRET-abc"));
  ck_assert(arec_ftg_deleted(f.tg, U1, up + 1000));
  ask(&f, U1, "/add_pair BTC/USDT", "Pair BTC/USDT added", NULL, 0);
  ask(&f, U1, "/create_agent conservative \"My Agent\"", "id=", r, sizeof r);
  ck_assert_int_eq(sscanf(strstr(r, "id=") + 3, "%64[A-Za-z0-9_-]", id), 1);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "/assign_agent %s BTC/USDT 500", id);
  ask(&f, U1, cmd, "500.00", NULL, 0);
  snprintf(cmd, sizeof cmd, "/start_agent %s", id);
  ask(&f, U1, cmd, "pod pod-a", NULL, 0);
  ask(&f, U1, "/agents", id, r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "My Agent"));
  snprintf(cmd, sizeof cmd, "/status %s", id);
  ask(&f, U1, cmd, "Runs on: pod-a", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "BTC/USDT: balance"));
  ask(&f, U1, "/profit", "Profit over 1 agent", NULL, 0);
  /* exchange down and back: the owner of the running agent hears it */
  mark = arec_ftg_mark(f.tg);
  arec_tg_bot_on_breaker(b, "x", AREC_BREAKER_CLOSED, AREC_BREAKER_OPEN);
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "unavailable", WAIT, NULL, 0));
  arec_tg_bot_on_breaker(b, "x", AREC_BREAKER_HALF_OPEN, AREC_BREAKER_CLOSED);
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "answers again", WAIT, NULL, 0));
  /* live trades notify, paper ones do not */
  arec_tg_bot_on_trade(b, id, "BTC/USDT", "BUY", 0.5, 100, 0);
  arec_tg_bot_on_trade(b, id, "BTC/USDT", "SELL", 0.25, 101, 1);
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "SELL 0.25 BTC/USDT", WAIT, NULL, 0));
  ck_assert_int_eq(arec_ftg_count(f.tg, U1, mark, "BUY 0.5"), 0);
  /* stop: the reply, then the notification once it completed */
  mark = arec_ftg_mark(f.tg);
  snprintf(cmd, sizeof cmd, "/stop_agent %s", id);
  arec_ftg_say(f.tg, U1, cmd);
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "Stopping agent", WAIT, NULL, 0));
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "positions are closed", WAIT, NULL, 0));
  arec_tg_bot_stop(b);
  atomic_store(&f.tp.bot, NULL);
  arec_tg_bot_free(b);
  fix_free(&f);
}
END_TEST

/* ----------------------------------------------------------- ownership */
START_TEST(ownership_usage_allowlist) {
  fix f;
  fix_init(&f, "pod-o");
  arec_tg_bot *b = bot_new(&f, "pod-o", NULL);
  char r[2048], cmd[160];
  char id[72];
  ck_assert_int_eq(arec_pg_user_upsert(f.pg, 301, "alice"), 0);
  ck_assert_int_eq(arec_pg_agent_create(f.pg, id, NULL, 301, "aggressive", "A"), 0);
  ask(&f, 302, "/start", "Welcome", NULL, 0);
  const char *verbs[] = {"/status", "/start_agent", "/stop_agent"};
  for (int i = 0; i < 3; i++) {
    snprintf(cmd, sizeof cmd, "%s %s", verbs[i], id);
    ask(&f, 302, cmd, "not found", NULL, 0);
  }
  snprintf(cmd, sizeof cmd, "/assign_agent %s BTC/USDT 10", id);
  ask(&f, 302, cmd, "not found", NULL, 0);
  ask(&f, 302, "/agents", "no agents", r, sizeof r);
  ck_assert_ptr_null(strstr(r, id));
  arec_pg_agent *a = NULL;
  ck_assert_int_eq(arec_pg_agent_get(f.pg, id, &a), 0);
  ck_assert_int_eq(a->is_trading, 0);
  arec_pg_agents_free(a, 1);
  ask(&f, 302, "/create_agent", "Usage: /create_agent", NULL, 0);
  ask(&f, 302, "/create_agent wild \"X\"", "Usage: /create_agent", NULL, 0);
  ask(&f, 302, "/assign_agent x BTC/USDT -5", "Usage: /assign_agent", NULL, 0);
  ask(&f, 302, "/add_exchange binance onlykey", "Usage: /add_exchange", NULL, 0);
  ask(&f, 302, "/status", "Usage: /status", NULL, 0);
  ask(&f, 302, "/frobnicate", "Unknown command", NULL, 0);
  arec_tg_bot_free(b);
  /* the allowlist, straight through the command layer */
  long long allowed[1] = {301};
  arec_tg_ctx c = {f.pg, f.mgr, "pod-o", allowed, 1};
  char *rep = NULL;
  int del = 0;
  ck_assert_int_eq(arec_tg_command(&c, 302, "bob", "/agents", &rep, &del), 0);
  ck_assert_ptr_nonnull(strstr(rep, "private"));
  free(rep);
  ck_assert_int_eq(arec_tg_command(&c, 301, "alice", "/agents", &rep, &del), 0);
  ck_assert_ptr_nonnull(strstr(rep, id));
  free(rep);
  long long *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_tg_parse_users("1, 2,3", &v, &n), 0);
  ck_assert_int_eq(n, 3);
  free(v);
  ck_assert_int_eq(arec_tg_parse_users("1,x", &v, &n), -1);
  fix_free(&f);
}
END_TEST

/* ----------------------------------------------------------- malformed */
START_TEST(malformed_updates_skipped) {
  fix f;
  fix_init(&f, "pod-m");
  arec_tg_bot *b = bot_new(&f, "pod-m", NULL);
  size_t mark = arec_ftg_mark(f.tg);
  arec_ftg_push_raw(f.tg, "{\"update_id\":%lld}");
  arec_ftg_push_raw(f.tg, "{\"update_id\":%lld,\"message\":\"x\"}");
  arec_ftg_push_raw(f.tg, "{\"update_id\":%lld,\"message\":{\"message_id\":1,\"text\":\"/help\"}}");
  arec_ftg_push_raw(f.tg, "{\"update_id\":%lld,\"message\":{\"message_id\":2,\"from\":{\"id\":\"7\"},\"chat\":{\"id\":7},\"text\":\"/help\"}}");
  arec_ftg_push_raw(f.tg, "{\"nothing\":%lld}");
  long long last = arec_ftg_say(f.tg, 401, "/help");
  ck_assert(arec_ftg_wait(f.tg, 401, mark, "Commands", WAIT, NULL, 0));
  ck_assert_int_eq(arec_ftg_count(f.tg, 7, mark, NULL), 0);
  /* the offset moved past every update, stored under the role's fence */
  char *off = NULL;
  ck_assert_int_eq(arec_pg_kv_get(f.pg, "telegram:offset", &off), 0);
  ck_assert_int_ge(atoll(off), last + 1);
  arec_free(off);
  arec_ftg_stats st;
  arec_ftg_get_stats(f.tg, &st);
  ck_assert_int_eq(st.unauthorized, 0);
  ck_assert_int_eq(st.conflicts, 0);
  arec_tg_bot_free(b);
  fix_free(&f);
}
END_TEST

/* ------------------------------------------------------------ failover */
static int wait_poller(arec_tg_bot *b, int ms) {
  for (int i = 0; i < ms / 20; i++) {
    if (arec_tg_bot_is_poller(b)) return 1;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return 0;
}

START_TEST(poller_moves_when_holder_dies) {
  fix f;
  fix_init(&f, "pod-f");
  arec_tg_bot *a = bot_new(&f, "pod-1", NULL);
  ck_assert(wait_poller(a, 5000));
  arec_tg_bot *b = bot_new(&f, "pod-2", NULL);
  ask(&f, 501, "/help", "Commands", NULL, 0);
  ck_assert(!arec_tg_bot_is_poller(b));
  char *before = NULL;
  ck_assert_int_eq(arec_pg_kv_get(f.pg, "telegram:offset", &before), 0);
  long long t0 = arec_test_now_ms();
  arec_tg_bot_abandon(a); /* kill -9: role and lock are left behind */
  size_t mark = arec_ftg_mark(f.tg);
  arec_ftg_say(f.tg, 502, "/help");
  ck_assert(arec_ftg_wait(f.tg, 502, mark, "Commands", WAIT, NULL, 0));
  ck_assert(arec_tg_bot_is_poller(b));
  /* within the role TTL plus a standby interval and a poll, generously */
  ck_assert_int_lt(arec_test_now_ms() - t0, 6000);
  /* exactly once: the answer was sent once */
  ck_assert_int_eq(arec_ftg_count(f.tg, 502, mark, "Commands"), 1);
  arec_ftg_stats st;
  arec_ftg_get_stats(f.tg, &st);
  ck_assert_int_eq(st.conflicts, 0);
  arec_free(before);
  arec_tg_bot_free(b);
  arec_tg_bot_free(a);
  fix_free(&f);
}
END_TEST

int main(void) {
  if (arec_test_pg_start(&g_pg) || arec_test_redis_start(&g_redis)) return 1;
  snprintf(g_addrs, sizeof g_addrs, "127.0.0.1:%d", g_redis.port);
  {
    arec_pg_options o = AREC_PG_OPTIONS_INIT;
    o.conninfo = g_pg.conninfo;
    arec_pg *pg = NULL;
    if (arec_pg_new(&pg, &o) != 0 || arec_pg_migrate(pg, NULL) != 0) return 1;
    arec_pg_free(pg);
  }
  Suite *s = suite_create("telegram_bot");
  TCase *t = tcase_create("bot");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, notes_flow_by_chat);
  tcase_add_test(t, ownership_usage_allowlist);
  tcase_add_test(t, malformed_updates_skipped);
  tcase_add_test(t, poller_moves_when_holder_dies);
  suite_add_tcase(s, t);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  arec_test_redis_stop(&g_redis);
  arec_test_pg_stop(&g_pg);
  return failed ? 1 : 0;
}
