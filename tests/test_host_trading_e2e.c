/*
 * test_host_trading_e2e.c -- end to end with real agentrecoverd processes:
 *
 *   - paper: two pods with the Telegram bot on the fake Bot API and paper
 *     trading on the fake exchange.  A user creates, assigns and starts an
 *     agent by chat; it buys; its pod is killed (SIGKILL); the other pod
 *     continues the agent with the same position (no second buy) and the
 *     owner is told it was restored;
 *   - live takeover: a live agent's order fills at the fake exchange but
 *     its answer never comes back, and its pod is killed (SIGKILL) with
 *     only the order intent saved; the other pod takes the agent over,
 *     reconciles with the exchange and has the fill exactly once; a third
 *     pod takes over from that one (SIGKILL again), reconciles again, and
 *     nothing is applied twice nor sent again.
 * The pods are started by the shared process harness (tests/support/
 * daemon.c) with their own environment; the test reads the agents through
 * the library's administration functions on a repository of its own.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "support/daemon.h"
#include "support/host/fake_exchange.h"
#include "support/host/fake_telegram.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"
#include "trading/memory.h"

#define TOKEN "42:E2E-token"
#define USER 777
#define WAIT 15000

static arec_test_pg g_pg;
static arec_test_redis g_redis;
static arec_test_daemon g_pods[3];
static arec_pg *g_db;           /* the test's own pool ...            */
static arec_repository *g_repo; /* ... and repository, for the reads */

static void sleep_ms(long ms) { arec_test_sleep_ms(ms); }

/* A pod.  live: TRADING_MODE=live without the bot (tg NULL), a lock TTL
 * that leaves orders enough lease validity (the order timeout is 5 s). */
static void spawn_mode(int i, const char *name, const char *fx,
                       const char *tg, int live) {
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, NULL, &g_redis, name, arec_test_port());
  arec_test_pod_env_fast(&e);
  arec_test_env_set(&e, "AGENT_LOCK_TTL=%s", live ? "9s" : "2s");
  if (tg) {
    arec_test_env_set(&e, "TELEGRAM_BOT_TOKEN=%s", TOKEN);
    arec_test_env_set(&e, "TELEGRAM_API_BASE=%s", tg);
  }
  if (live) arec_test_env_set(&e, "TRADING_MODE=live");
  arec_test_env_set(&e, "EXCHANGE_API_BASE=%s", fx);
  arec_test_pod_run(&g_pods[i], name, &e, 20000);
  arec_test_env_free(&e);
}

static void spawn(int i, const char *name, const char *fx, const char *tg) {
  spawn_mode(i, name, fx, tg, 0);
}

static void ask(arec_ftg *tg, const char *text, const char *needle, char *out,
                size_t len) {
  size_t mark = arec_ftg_mark(tg);
  arec_ftg_say(tg, USER, text);
  char buf[2048];
  ck_assert_msg(arec_ftg_wait(tg, USER, mark, NULL, WAIT, buf, sizeof buf),
                "no reply to %s", text);
  ck_assert_msg(strstr(buf, needle), "reply to \"%s\": \"%s\"", text, buf);
  if (out) snprintf(out, len, "%s", buf);
}

/* position and trades of the agent's BTC/USDT memory; running_on copied. */
static int read_agent(const char *id, double *pos, double *trades, char *on,
                      size_t onlen) {
  arec_agent_record *a = NULL;
  if (arec_agent_get(g_repo, id, &a) != 0) return -1;
  *pos = 0, *trades = 0;
  if (a->nsymbols) {
    const char *m = a->symbols[0].memory, *p;
    if ((p = strstr(m, "\"position\":"))) *pos = atof(p + 11);
    if ((p = strstr(m, "\"trades\":"))) *trades = atof(p + 9);
  }
  snprintf(on, onlen, "%s", a->running_on ? a->running_on : "");
  arec_agent_records_free(a, 1);
  return 0;
}

START_TEST(agent_survives_kill_with_its_position_and_owner_is_told) {
  arec_fx *fx;
  arec_ftg *tg;
  ck_assert_int_eq(arec_fx_start(&fx, "k", "s"), 0);
  static const double rise[] = {100, 100, 100, 100, 100, 100, 100, 100, 100,
                                101, 102, 103, 104};
  arec_fx_set_prices(fx, "BTCUSDT", rise, sizeof rise / sizeof rise[0]);
  ck_assert_int_eq(arec_ftg_start(&tg, TOKEN), 0);
  spawn(0, "pod-a", arec_fx_url(fx), arec_ftg_url(tg));
  ask(tg, "/start", "Welcome", NULL, 0); /* pod-a polls */
  spawn(1, "pod-b", arec_fx_url(fx), arec_ftg_url(tg));
  ask(tg, "/add_exchange binance k s testnet", "added", NULL, 0);
  ask(tg, "/add_pair BTC/USDT", "added", NULL, 0);
  char r[2048], id[72], cmd[160];
  ask(tg, "/create_agent aggressive \"E2E Agent\"", "id=", r, sizeof r);
  ck_assert_int_eq(sscanf(strstr(r, "id=") + 3, "%64[A-Za-z0-9_-]", id), 1);
  snprintf(cmd, sizeof cmd, "/assign_agent %s BTC/USDT 1000", id);
  ask(tg, cmd, "trades BTC/USDT", NULL, 0);
  snprintf(cmd, sizeof cmd, "/start_agent %s", id);
  ask(tg, cmd, "started on pod pod-a", NULL, 0);

  double pos = 0, trades = 0, pos2 = 0, trades2 = 0;
  char on[64] = "";
  long long end = arec_test_now_ms() + WAIT;
  while (arec_test_now_ms() < end) {
    if (read_agent(id, &pos, &trades, on, sizeof on) == 0 && pos > 0) break;
    sleep_ms(100);
  }
  ck_assert_msg(pos > 0, "the agent never bought");
  ck_assert_str_eq(on, "pod-a");
  sleep_ms(500); /* the buy's state is saved; nothing else happens on a flat top */
  read_agent(id, &pos, &trades, on, sizeof on);

  size_t mark = arec_ftg_mark(tg);
  arec_test_proc_kill(&g_pods[0].proc);
  /* the owner is told by pod-b, which also takes the poller role */
  char note[512];
  ck_assert_msg(arec_ftg_wait(tg, USER, mark, "restored on pod pod-b", WAIT,
                              note, sizeof note), "owner not notified");
  ck_assert_ptr_nonnull(strstr(note, id));
  read_agent(id, &pos2, &trades2, on, sizeof on);
  ck_assert_str_eq(on, "pod-b");
  ck_assert_double_eq_tol(pos2, pos, 1e-12);
  ck_assert_double_eq_tol(trades2, trades, 1e-9);
  snprintf(cmd, sizeof cmd, "/status %s", id);
  ask(tg, cmd, "Runs on: pod-b", NULL, 0);
  arec_fx_stats st;
  arec_fx_get_stats(fx, &st);
  ck_assert_int_eq(st.orders, 0); /* paper: no order left the process */
  ck_assert_int_eq(arec_test_daemon_term(&g_pods[1], 15000), 0);
  arec_ftg_stop(tg);
  arec_fx_stop(fx);
}
END_TEST


/* ------------------------------------------------------------ live takeover */
#define LIVE_ID "e2e-live"

/* The agent's BTC/USDT memory and running_on ("" none). */
static int live_state(arec_sym_mem *m, char *on, size_t onlen) {
  arec_agent_record *a = NULL;
  if (arec_agent_get(g_repo, LIVE_ID, &a) != 0) return -1;
  memset(m, 0, sizeof *m);
  if (a->nsymbols) arec__mem_from_json(m, a->symbols[0].memory);
  snprintf(on, onlen, "%s", a->running_on ? a->running_on : "");
  arec_agent_records_free(a, 1);
  return 0;
}

static void kill_pod(int i) { arec_test_proc_kill(&g_pods[i].proc); }

static int pod_index(const char *on) {
  return !strcmp(on, "pod-a") ? 0 : !strcmp(on, "pod-b") ? 1 : !strcmp(on, "pod-c") ? 2 : -1;
}

START_TEST(live_fill_after_the_last_save_survives_kill_exactly_once) {
  static const double rise[] = {100, 100, 100, 100, 100, 100, 100, 100, 100,
                                101, 102, 103, 104};
  arec_fx *fx;
  arec_fx_stats st;
  arec_sym_mem *m = calloc(1, sizeof *m);
  char on[64] = "";
  long long end;
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(arec_fx_start(&fx, "k", "s"), 0);
  arec_fx_set_prices(fx, "BTCUSDT", rise, sizeof rise / sizeof rise[0]);
  arec_fx_order_lose(fx, 1); /* the order fills; its answer never comes */
  /* the database is shared with the other test: only this agent trades */
  arec_test_stop_all(g_repo);
  spawn_mode(0, "pod-a", arec_fx_url(fx), NULL, 1);
  spawn_mode(1, "pod-b", arec_fx_url(fx), NULL, 1);
  /* a user with a testnet account ("k"/"s", as the fake exchange wants)
   * and the pair, the agent created and assigned, through the API */
  int port = g_pods[0].port;
  ck_assert_int_eq(arec_test_seed(port, AREC_TEST_ADMIN_TOKEN, 888,
                                  "BTC/USDT", "aggressive", NULL), 0);
  ck_assert_int_eq(arec_test_http(port, "POST", "/api/agents",
                                  AREC_TEST_ADMIN_TOKEN, NULL,
                                  "{\"user_id\": 888, \"strategy\": "
                                  "\"aggressive\", \"name\": \"Live\", "
                                  "\"id\": \"" LIVE_ID "\"}", NULL), 201);
  ck_assert_int_eq(arec_test_http(port, "POST",
                                  "/api/agents/" LIVE_ID "/assign",
                                  AREC_TEST_ADMIN_TOKEN, NULL,
                                  "{\"symbol\": \"BTC/USDT\", \"balance\": "
                                  "1000}", NULL), 201);
  ck_assert_int_eq(arec_agent_set_trading(g_repo, LIVE_ID, 1), 0);

  /* the buy reaches the exchange; its pod is killed while it waits for
   * the answer (within the 5 s order timeout) */
  end = arec_test_now_ms() + WAIT;
  while (arec_test_now_ms() < end && !arec_fx_order_find(fx, LIVE_ID "-1-1", NULL, NULL))
    sleep_ms(5);
  ck_assert_msg(arec_fx_order_find(fx, LIVE_ID "-1-1", NULL, NULL) == 1, "no order");
  ck_assert_int_eq(live_state(m, on, sizeof on), 0);
  int first = pod_index(on);
  ck_assert_msg(first >= 0, "running_on \"%s\"", on);
  kill_pod(first);
  arec_fx_release(fx);
  /* what it left behind: the intent, not the fill */
  ck_assert_int_eq(live_state(m, on, sizeof on), 0);
  ck_assert_uint_eq(m->nintents, 1);
  ck_assert_str_eq(m->intents[0].id, LIVE_ID "-1-1");
  ck_assert_uint_eq(m->trades, 0);
  ck_assert_double_eq(m->position, 0);

  /* the other pod takes over after the lock TTL and reconciles */
  int second = 1 - first;
  end = arec_test_now_ms() + 30000;
  while (arec_test_now_ms() < end) {
    if (live_state(m, on, sizeof on) == 0 && pod_index(on) == second &&
        m->trades >= 1 && m->nintents == 0)
      break;
    sleep_ms(100);
  }
  ck_assert_msg(pod_index(on) == second, "running_on \"%s\"", on);
  ck_assert_uint_eq(m->nintents, 0);
  ck_assert_uint_eq(m->trades, 1);
  ck_assert_uint_eq(m->nfills, 1);
  ck_assert_str_eq(m->fills[0].coid, LIVE_ID "-1-1");
  ck_assert_int_gt(m->fills[0].trade_id, 0);
  ck_assert_double_eq_tol(m->position, 2.97029702, 1e-12);
  ck_assert_double_eq_tol(m->fees, 2.97029702 * 101 * 0.001, 1e-8);
  long long trade = m->fills[0].trade_id;
  double pos = m->position, pnl = m->realized_pnl, fees = m->fees;
  arec_fx_get_stats(fx, &st);
  ck_assert_uint_eq(st.order_posts, 1); /* never sent again */
  unsigned all_before = st.all_orders;

  /* a third pod; the second is killed: the agent moves on and reconciles
   * once more */
  spawn_mode(2, "pod-c", arec_fx_url(fx), NULL, 1);
  sleep_ms(500); /* pod-c up; the agent stays where it is (one agent) */
  kill_pod(second);
  end = arec_test_now_ms() + 30000;
  while (arec_test_now_ms() < end) {
    arec_fx_get_stats(fx, &st);
    if (live_state(m, on, sizeof on) == 0 && !strcmp(on, "pod-c") &&
        st.all_orders > all_before)
      break;
    sleep_ms(100);
  }
  ck_assert_str_eq(on, "pod-c");
  ck_assert_uint_gt(st.all_orders, all_before); /* its reconcile looked */
  sleep_ms(500); /* its steps go on, its saves land */
  ck_assert_int_eq(live_state(m, on, sizeof on), 0);
  ck_assert_str_eq(on, "pod-c");
  ck_assert_uint_eq(m->trades, 1);
  ck_assert_uint_eq(m->nfills, 1);
  ck_assert_int_eq(m->fills[0].trade_id, trade);
  ck_assert_double_eq(m->position, pos);
  ck_assert_double_eq(m->realized_pnl, pnl);
  ck_assert_double_eq(m->fees, fees);
  arec_fx_get_stats(fx, &st);
  ck_assert_uint_eq(st.order_posts, 1);
  ck_assert_uint_eq(st.orders, 1);
  ck_assert_uint_eq(st.bad_signatures, 0);

  free(m);
  ck_assert_int_eq(arec_test_daemon_term(&g_pods[2], 15000), 0);
  arec_fx_stop(fx);
}
END_TEST

AREC_TEST_CASE_MAIN("host_trading_e2e", "e2e", 90,
                    arec_test_pods_main(s, &g_pg, &g_redis, &g_db, &g_repo),
                    agent_survives_kill_with_its_position_and_owner_is_told,
                    live_fill_after_the_last_save_survives_kill_exactly_once)
