/*
 * test_host_trading_ctl.c -- the trading controls end to end, with real
 * agentrecoverd processes (tests/support/daemon.c) on real PostgreSQL and
 * Redis, the fake exchange and the fake Bot API:
 *
 *   - a live agent and a paper pod: the start is recorded, the agent waits
 *     wanted with last_error "waiting for a pod offering \"live\"" while
 *     only the paper pod lives; a TRADING_MODE=live pod with pod leases of
 *     5 s (the order timeout derived from them) takes it and its order
 *     reaches the exchange; a paper agent on the same fleet sends nothing;
 *     the live agent's stop meets an exchange refusing the sell, and its
 *     owner is told the position was NOT closed, and why;
 *   - DELETE /api/agents/{id}: the agent stops, sells its position, is
 *     gone for GET (404) while its state history stays, and its owner is
 *     told what was closed;
 *   - messages: a fair-share handover and a SIGTERM handover tell the
 *     owner nothing, a kill -9 takeover tells exactly once.
 * The test reads the agents through the library's administration
 * functions and SQL on a pool of its own.
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

#define TOKEN "42:CTL-token"
#define WAIT 20000

static arec_test_pg g_pg;
static arec_test_redis g_redis;
static arec_pg *g_db;
static arec_repository *g_repo;

static const double RISE[] = {100, 100, 100, 100, 100, 100, 100,
                              100, 100, 101, 102, 103, 104};

typedef struct pod_opts {
  int live;
  int64_t pod_lease_s; /* 0: none */
  const char *fx, *tg;
  const char *lock_ttl;
} pod_opts;

static void spawn(arec_test_daemon *d, const char *name, const pod_opts *o) {
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, NULL, &g_redis, name, arec_test_port());
  arec_test_pod_env_fast(&e);
  arec_test_env_set(&e, "AGENT_LOCK_TTL=%s", o->lock_ttl ? o->lock_ttl : "2s");
  if (o->pod_lease_s)
    arec_test_env_set(&e, "AGENT_POD_LEASE_TTL=%llds",
                      (long long)o->pod_lease_s);
  if (o->live) arec_test_env_set(&e, "TRADING_MODE=live");
  if (o->fx) arec_test_env_set(&e, "EXCHANGE_API_BASE=%s", o->fx);
  if (o->tg) {
    arec_test_env_set(&e, "TELEGRAM_BOT_TOKEN=%s", TOKEN);
    arec_test_env_set(&e, "TELEGRAM_API_BASE=%s", o->tg);
  }
  arec_test_pod_run(d, name, &e, 20000);
  arec_test_env_free(&e);
}

static int post(int port, const char *path, const char *body) {
  return arec_test_http(port, "POST", path, AREC_TEST_ADMIN_TOKEN, NULL, body,
                        NULL);
}

/* The agent as stored (NULL when deleted or missing): free it. */
static arec_agent_record *get(const char *id) {
  arec_agent_record *a = NULL;
  return arec_agent_get(g_repo, id, &a) == 0 ? a : NULL;
}

/* Nothing of an earlier test runs: the database is shared. */
static void all_stopped(void) { arec_test_stop_all(g_repo); }

/* One value of a query on the test's pool, as a number (-1: none). */
static double sql_num(const char *sql, const char *arg) {
  arec_pg_result *r = NULL;
  const char *p[1] = {arg};
  ck_assert_int_eq(arec_pg_query(g_db, &r, sql, 1, p, NULL, NULL), 0);
  const char *v = arec_pg_result_rows(r) ? arec_pg_result_value(r, 0, 0) : NULL;
  double d = v ? atof(v) : -1;
  arec_pg_result_free(r);
  return d;
}

/* ------------------------------------------------------- live and paper */
START_TEST(live_agent_waits_for_a_live_pod) {
  arec_fx *fx;
  arec_test_daemon paper, live;
  ck_assert_int_eq(arec_fx_start(&fx, "k", "s"), 0);
  /* each agent its own symbol: a price series is served once */
  arec_fx_set_prices(fx, "BTCUSDT", RISE, sizeof RISE / sizeof RISE[0]);
  arec_fx_set_prices(fx, "ETHUSDT", RISE, sizeof RISE / sizeof RISE[0]);
  all_stopped();
  pod_opts po = {0, 0, arec_fx_url(fx), NULL, NULL};
  spawn(&paper, "pod-p", &po);
  int port = paper.port;
  ck_assert_int_eq(arec_test_seed(port, AREC_TEST_ADMIN_TOKEN, 1601,
                                  "BTC/USDT", "aggressive", NULL), 0);
  char *out = NULL, body[128];
  ck_assert_int_eq(arec_test_http(port, "GET", "/api/users/1601/exchanges",
                                  AREC_TEST_ADMIN_TOKEN, NULL, NULL, &out),
                   200);
  snprintf(body, sizeof body, "{\"exchange_id\": %lld, \"symbol\": "
           "\"ETH/USDT\"}", atoll(strstr(out, "\"id\":") + 5));
  free(out);
  ck_assert_int_eq(post(port, "/api/users/1601/pairs", body), 201);
  ck_assert_int_eq(post(port, "/api/agents",
                        "{\"user_id\": 1601, \"strategy\": \"aggressive\", "
                        "\"name\": \"L\", \"id\": \"ctl-live\", \"mode\": "
                        "\"live\"}"), 201);
  ck_assert_int_eq(post(port, "/api/agents/ctl-live/assign",
                        "{\"symbol\": \"ETH/USDT\", \"balance\": 1000}"), 201);
  ck_assert_int_eq(post(port, "/api/agents",
                        "{\"user_id\": 1601, \"strategy\": \"aggressive\", "
                        "\"name\": \"P\", \"id\": \"ctl-paper\"}"), 201);
  ck_assert_int_eq(post(port, "/api/agents/ctl-paper/assign",
                        "{\"symbol\": \"BTC/USDT\", \"balance\": 1000}"), 201);
  ck_assert_int_eq(post(port, "/api/agents/start/ctl-paper", NULL), 200);
  ck_assert_int_eq(arec_test_http(port, "POST", "/api/agents/start/ctl-live",
                                  AREC_TEST_ADMIN_TOKEN, NULL, NULL, &out),
                   202);
  ck_assert_ptr_nonnull(strstr(out, "a pod offering it will"));
  free(out);
  /* wanted, unowned, and why: the paper pod's note */
  arec_agent_record *a = NULL;
  long long end = arec_test_now_ms() + WAIT;
  while (arec_test_now_ms() < end) {
    a = get("ctl-live");
    if (a && a->last_error) break;
    arec_agent_records_free(a, a ? 1 : 0);
    a = NULL;
    arec_test_sleep_ms(50);
  }
  ck_assert_ptr_nonnull(a);
  ck_assert_str_eq(a->last_error, "waiting for a pod offering \"live\"");
  ck_assert_int_eq(a->is_trading, 1);
  ck_assert_ptr_null(a->running_on);
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(arec_test_http(port, "GET", "/api/agents/ctl-live",
                                  AREC_TEST_ADMIN_TOKEN, NULL, NULL, &out),
                   200);
  ck_assert_ptr_nonnull(strstr(out, "\"mode\":\"live\""));
  ck_assert_ptr_nonnull(strstr(out, "waiting for a pod offering"));
  free(out);

  /* a live pod with 5 s pod leases (and the bot): it takes the agent, its
   * order goes */
  arec_ftg *tg;
  ck_assert_int_eq(arec_ftg_start(&tg, TOKEN), 0);
  pod_opts lo = {1, 5, arec_fx_url(fx), arec_ftg_url(tg), "9s"};
  spawn(&live, "pod-l", &lo);
  end = arec_test_now_ms() + WAIT;
  arec_sym_mem *m = calloc(1, sizeof *m);
  ck_assert_ptr_nonnull(m);
  while (arec_test_now_ms() < end) {
    a = get("ctl-live");
    int done = a && a->running_on && !strcmp(a->running_on, "pod-l") &&
               a->nsymbols &&
               arec__mem_from_json(m, a->symbols[0].memory) == 0 &&
               m->trades >= 1;
    arec_agent_records_free(a, a ? 1 : 0);
    if (done) break;
    arec_test_sleep_ms(50);
  }
  ck_assert_uint_ge(m->trades, 1);
  ck_assert_int_gt(m->fills[0].order_id, 0); /* filled at the exchange */
  arec_fx_stats st;
  arec_fx_get_stats(fx, &st);
  ck_assert_uint_eq(st.orders, 1); /* the live agent's only */
  ck_assert(!arec_test_log_has(&live.proc, "lease validity too short"));
  ck_assert(arec_test_log_has(&live.proc, "agent_id=ctl-live symbol=ETH/USDT "
                                          "position=0.00000000 mode=live"));
  a = get("ctl-live");
  ck_assert_ptr_null(a->last_error); /* cleared by its good start */
  arec_agent_records_free(a, 1);
  /* the paper agent bought on paper */
  a = get("ctl-paper");
  ck_assert_ptr_nonnull(a);
  ck_assert_int_eq(arec__mem_from_json(m, a->symbols[0].memory), 0);
  arec_agent_records_free(a, 1);
  ck_assert_uint_ge(m->trades, 1);
  ck_assert_int_eq(m->fills[0].order_id, 0);
  free(m);
  /* the user's stop: the exchange refuses the sell, and the owner is told
   * the position was NOT closed, and why */
  size_t mark = arec_ftg_mark(tg);
  arec_fx_reject_next(fx, 1, -2010,
                      "Account has insufficient balance for requested action.");
  ck_assert_int_eq(post(live.port, "/api/agents/stop/ctl-live", NULL), 200);
  char note[1024];
  ck_assert_msg(arec_ftg_wait(tg, 1601, mark, "NOT closed: ETH/USDT", WAIT,
                              note, sizeof note), "owner not told");
  ck_assert_ptr_nonnull(strstr(note, "refused by the exchange: Account has "
                                     "insufficient balance"));
  ck_assert_ptr_nonnull(strstr(note, "positions closed: none"));
  ck_assert_int_eq(arec_ftg_count(tg, 1601, mark, "Agent ctl-live stopped"),
                   1);
  ck_assert_int_eq(arec_test_daemon_term(&live, 15000), 0);
  ck_assert_int_eq(arec_test_daemon_term(&paper, 15000), 0);
  arec_ftg_stop(tg);
  arec_fx_stop(fx);
}
END_TEST

/* --------------------------------------------------------------- delete */
START_TEST(delete_stops_closes_and_forgets) {
  arec_fx *fx;
  arec_ftg *tg;
  arec_test_daemon pod;
  const long long U = 1701;
  ck_assert_int_eq(arec_fx_start(&fx, "k", "s"), 0);
  arec_fx_set_prices(fx, "BTCUSDT", RISE, sizeof RISE / sizeof RISE[0]);
  ck_assert_int_eq(arec_ftg_start(&tg, TOKEN), 0);
  all_stopped();
  pod_opts po = {0, 0, arec_fx_url(fx), arec_ftg_url(tg), NULL};
  spawn(&pod, "pod-d", &po);
  static const char *const ids[] = {"ctl-del", NULL};
  ck_assert_int_eq(arec_test_seed(pod.port, AREC_TEST_ADMIN_TOKEN, U,
                                  "BTC/USDT", "aggressive", ids), 0);
  ck_assert_int_eq(post(pod.port, "/api/agents/start/ctl-del", NULL), 200);
  const char *pos_sql = "SELECT (memory->>'position')::float8 FROM "
                        "agent_states WHERE agent_id = $1";
  long long end = arec_test_now_ms() + WAIT;
  while (arec_test_now_ms() < end && !(sql_num(pos_sql, "ctl-del") > 0))
    arec_test_sleep_ms(50);
  ck_assert(sql_num(pos_sql, "ctl-del") > 0);
  size_t mark = arec_ftg_mark(tg);
  char *out = NULL;
  ck_assert_int_eq(arec_test_http(pod.port, "DELETE", "/api/agents/ctl-del",
                                  AREC_TEST_ADMIN_TOKEN, NULL, NULL, &out),
                   200);
  ck_assert_ptr_nonnull(strstr(out, "\"deleted\":true"));
  free(out);
  ck_assert_int_eq(arec_test_http(pod.port, "GET", "/api/agents/ctl-del",
                                  AREC_TEST_ADMIN_TOKEN, NULL, NULL, NULL),
                   404);
  /* its stop sold the position, and its owner is told so */
  char note[1024];
  ck_assert_msg(arec_ftg_wait(tg, U, mark, "positions closed: BTC/USDT", WAIT,
                              note, sizeof note), "owner not told");
  ck_assert_ptr_nonnull(strstr(note, "Agent ctl-del stopped"));
  ck_assert_ptr_null(strstr(note, "NOT closed"));
  ck_assert(arec_test_log_has(&pod.proc, "trading agent stopped agent_id="
                                         "ctl-del reason=user closed=BTC/USDT"));
  ck_assert_double_eq(sql_num(pos_sql, "ctl-del"), 0);
  /* gone for reads, the history stays, the id stays taken */
  ck_assert_ptr_null(get("ctl-del"));
  ck_assert(sql_num("SELECT count(*) FROM agent_state_history WHERE "
                    "agent_id = $1", "ctl-del") >= 2);
  ck_assert(sql_num("SELECT count(*) FROM agent_configs WHERE id = $1 AND "
                    "deleted_at IS NOT NULL", "ctl-del") == 1);
  ck_assert_int_eq(post(pod.port, "/api/agents",
                        "{\"user_id\": 1701, \"strategy\": \"aggressive\", "
                        "\"name\": \"again\", \"id\": \"ctl-del\"}"), 409);
  ck_assert_int_eq(arec_test_daemon_term(&pod, 15000), 0);
  arec_ftg_stop(tg);
  arec_fx_stop(fx);
}
END_TEST

/* ------------------------------------------------------------- messages */
/* How many of the agents run on `pod`. */
static int running_on(const char *pod, const char *const *ids) {
  int n = 0;
  for (size_t i = 0; ids[i]; i++) {
    arec_agent_record *a = get(ids[i]);
    n += a && a->running_on && !strcmp(a->running_on, pod);
    arec_agent_records_free(a, a ? 1 : 0);
  }
  return n;
}

static void wait_split(const char *p1, int n1, const char *p2, int n2,
                       const char *const *ids) {
  long long end = arec_test_now_ms() + WAIT;
  while (arec_test_now_ms() < end &&
         (running_on(p1, ids) != n1 || running_on(p2, ids) != n2))
    arec_test_sleep_ms(50);
  ck_assert_msg(running_on(p1, ids) == n1 && running_on(p2, ids) == n2,
                "%s runs %d (want %d), %s runs %d (want %d)", p1,
                running_on(p1, ids), n1, p2, running_on(p2, ids), n2);
}

START_TEST(only_takeovers_after_failures_are_told) {
  arec_ftg *tg;
  arec_test_daemon a, b, c;
  const long long U = 1801;
  static const char *const ids[] = {"ctl-n1", "ctl-n2", NULL};
  ck_assert_int_eq(arec_ftg_start(&tg, TOKEN), 0);
  all_stopped();
  pod_opts po = {0, 0, NULL, arec_ftg_url(tg), NULL};
  spawn(&a, "pod-ma", &po);
  ck_assert_int_eq(arec_test_seed(a.port, AREC_TEST_ADMIN_TOKEN, U,
                                  "BTC/USDT", "noop", ids), 0);
  size_t mark = arec_ftg_mark(tg);
  ck_assert_int_eq(post(a.port, "/api/agents/start/ctl-n1", NULL), 200);
  ck_assert_int_eq(post(a.port, "/api/agents/start/ctl-n2", NULL), 200);
  wait_split("pod-ma", 2, "pod-mb", 0, ids);
  /* a second pod: fair sharing hands one agent over */
  spawn(&b, "pod-mb", &po);
  wait_split("pod-ma", 1, "pod-mb", 1, ids);
  ck_assert(arec_test_log_wait(&b.proc, "after=handover", WAIT));
  /* SIGTERM: the first pod hands its agent over */
  ck_assert_int_eq(arec_test_daemon_term(&a, 15000), 0);
  wait_split("pod-ma", 0, "pod-mb", 2, ids);
  /* a third pod takes one by fair sharing, then the second is killed */
  spawn(&c, "pod-mc", &po);
  wait_split("pod-mb", 1, "pod-mc", 1, ids);
  ck_assert_int_eq(arec_ftg_count(tg, U, mark, "restored"), 0);
  ck_assert(!arec_test_log_has(&b.proc, "after=failure"));
  ck_assert(!arec_test_log_has(&c.proc, "after=failure"));
  arec_test_proc_kill(&b.proc);
  wait_split("pod-mb", 0, "pod-mc", 2, ids);
  ck_assert(arec_test_log_has(&c.proc, "after=failure"));
  char note[1024];
  ck_assert_msg(arec_ftg_wait(tg, U, mark, "restored on pod pod-mc after a "
                              "failure", WAIT, note, sizeof note),
                "owner not told of the takeover");
  /* pod-mc's notes go out in the order its tap queued them: once the
   * notes of a later user stop arrive, anything it queued before has */
  ck_assert_int_eq(post(c.port, "/api/agents/stop/ctl-n1", NULL), 200);
  ck_assert_int_eq(post(c.port, "/api/agents/stop/ctl-n2", NULL), 200);
  long long end = arec_test_now_ms() + WAIT;
  while (arec_test_now_ms() < end && arec_ftg_count(tg, U, mark, "⏹ Agent") < 2)
    arec_test_sleep_ms(50);
  ck_assert_int_eq(arec_ftg_count(tg, U, mark, "⏹ Agent"), 2);
  ck_assert_int_eq(arec_ftg_count(tg, U, mark, "restored"), 1);
  ck_assert_int_eq(arec_test_daemon_term(&c, 15000), 0);
  arec_ftg_stop(tg);
}
END_TEST

AREC_TEST_CASE_MAIN("host_trading_ctl", "e2e", 120,
                    arec_test_pods_main(s, &g_pg, &g_redis, &g_db, &g_repo),
                    live_agent_waits_for_a_live_pod,
                    delete_stops_closes_and_forgets,
                    only_takeovers_after_failures_are_told)
