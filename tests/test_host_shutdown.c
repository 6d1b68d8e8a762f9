/*
 * test_host_shutdown.c -- SIGTERM to exit within SHUTDOWN_TIMEOUT + 2 s
 * whatever is stuck, on real agentrecoverd processes
 * (tests/support/daemon.c), SHUTDOWN_TIMEOUT=3s:
 *   - nothing stuck (the baseline);
 *   - PostgreSQL blackholed: the pod reaches the database through
 *     build/tools/faultproxy, switched to "blackhole" (connections
 *     accepted, nothing answered) just before the signal;
 *   - the Telegram Bot API blackholed: TELEGRAM_API_BASE points at a
 *     socket that accepts connections and never answers;
 *   - a step that does not return: a live trading agent whose order the
 *     fake exchange fills and never answers (the order request outlives
 *     the shutdown timeout).
 * Each measures SIGTERM-to-exit; where PostgreSQL is reachable another pod
 * takes the agents over within reconcile + 1 s after the exit -- their
 * locks were released, not left to expire (the lock TTL is longer).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/daemon.h"
#include "support/host/fake_exchange.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"

#define TOKEN AREC_TEST_ADMIN_TOKEN
#define SHUTDOWN_MS 3000
#define BUDGET_MS (SHUTDOWN_MS + 2000)
#define RECONCILE_MS 1000
#define SLACK_MS 1000

static arec_test_pg g_pg;
static arec_test_redis g_redis;

static void pod_env(arec_test_env *e, const char *name, const char *db) {
  arec_test_pod_env(e, &g_pg, db, &g_redis, name, arec_test_port());
  arec_test_env_set(e, "SHUTDOWN_TIMEOUT=%dms", SHUTDOWN_MS);
  arec_test_env_set(e, "AGENT_LOCK_TTL=9s"); /* longer than the bound */
  arec_test_env_set(e, "AGENT_RECONCILE_INTERVAL=%dms", RECONCILE_MS);
  arec_test_env_set(e, "AGENT_FAIR_SHARE=false");
}

/* A pod `name` (pod_env; db NULL: the harness's database) run until ready. */
static void run_pod(arec_test_daemon *d, const char *name, const char *db) {
  arec_test_env e;
  pod_env(&e, name, db);
  arec_test_pod_run(d, name, &e, 20000);
  arec_test_env_free(&e);
}

/* The agents of the NULL-ended ids created for user uid (BTC/USDT, noop)
 * through d and started on d. */
static void seed_and_start(arec_test_daemon *d, long long uid,
                           const char *const *ids) {
  ck_assert_int_eq(arec_test_seed(d->port, TOKEN, uid, "BTC/USDT", "noop",
                                  ids), 0);
  for (size_t i = 0; ids[i]; i++) arec_test_pod_start_agent(d, ids[i]);
}

/* SIGTERM; the time to exit, asserted within the budget; *code the exit
 * code. */
static long long term_within_budget(arec_test_daemon *d, const char *what,
                                    int *code) {
  long long t0 = arec_test_now_ms();
  arec_test_proc_signal(&d->proc, SIGTERM);
  int rc = arec_test_proc_wait(&d->proc, BUDGET_MS + 5000);
  long long took = (d->proc.pid == 0 ? d->proc.exited_ms : arec_test_now_ms())
                   - t0;
  if (rc == -2) arec_test_proc_kill(&d->proc);
  fprintf(stderr, "shutdown: %s: SIGTERM to exit %lld ms, exit code %d "
                  "(bound %d ms)\n", what, took, rc, BUDGET_MS);
  ck_assert_msg(rc != -2, "%s: still running after %d ms", what,
                BUDGET_MS + 5000);
  ck_assert_msg(took <= BUDGET_MS, "%s: %lld ms > %d ms", what, took,
                BUDGET_MS);
  if (code) *code = rc;
  return took;
}

/* After the exit of the owner, `other` runs every agent of ids within
 * reconcile + 1 s. */
static void taken_over(arec_test_daemon *other, const char *const *ids,
                       long long exited_ms) {
  long long bound = RECONCILE_MS + 1000;
  for (size_t i = 0; ids[i]; i++) {
    while (!arec_test_pod_runs(other, ids[i]) &&
           arec_test_now_ms() - exited_ms < bound + SLACK_MS)
      arec_test_sleep_ms(20);
    ck_assert_msg(arec_test_pod_runs(other, ids[i]), "%s not taken over within %lld ms",
                  ids[i], bound + SLACK_MS);
  }
  fprintf(stderr, "shutdown: taken over %lld ms after the exit (bound %lld, "
                  "lock TTL 9 s)\n", arec_test_now_ms() - exited_ms, bound);
}

/* ------------------------------------------------------------- baseline */
START_TEST(nothing_stuck) {
  static arec_test_daemon a, b;
  run_pod(&a, "sd-base-a", NULL);
  run_pod(&b, "sd-base-b", NULL);
  const char *ids[] = {"sd-base-1", "sd-base-2", NULL};
  seed_and_start(&a, 9601, ids);
  int code = -1;
  term_within_budget(&a, "nothing stuck", &code);
  ck_assert_int_eq(code, 0);
  taken_over(&b, ids, a.proc.exited_ms);
  ck_assert_int_eq(arec_test_daemon_term(&b, 15000), 0);
}
END_TEST

/* ------------------------------------------------- PostgreSQL blackholed */
START_TEST(postgres_blackholed) {
  int listen = arec_test_port(), control = arec_test_port();
  static arec_test_proc proxy;
  ck_assert_int_eq(
      arec_test_faultproxy_start(&proxy, listen, g_pg.port, control), 0);
  char url[256];
  snprintf(url, sizeof url, "host=127.0.0.1 port=%d dbname=arec "
                            "user=postgres connect_timeout=2", listen);
  static arec_test_daemon a;
  /* 9 s TTL: each database call may wait 3 s, more than the budget
   * allows for the shutdown's calls together */
  run_pod(&a, "sd-pg-a", url);
  const char *ids[] = {"sd-pg-1", "sd-pg-2", NULL};
  seed_and_start(&a, 9602, ids);
  ck_assert_int_eq(arec_test_faultproxy_cmd(control, "blackhole"), 0);
  arec_test_sleep_ms(200);
  int code = -1;
  term_within_budget(&a, "PostgreSQL blackholed", &code);
  /* the manager's calls could not finish: forced, and said so */
  ck_assert_int_eq(code, 1);
  ck_assert(arec_test_log_has(&a.proc, "shutdown deadline: not finished"));
  ck_assert(arec_test_log_has(&a.proc, "forced exit"));
  arec_test_proc_kill(&proxy);
}
END_TEST

/* -------------------------------------------------- Telegram blackholed */
START_TEST(telegram_blackholed) {
  /* listening, never accepting: the kernel completes the handshakes and
   * nothing ever answers */
  int port = 0, fd = arec_test_silent_listener(&port);
  static arec_test_daemon a, b;
  arec_test_env e;
  pod_env(&e, "sd-tg-a", NULL);
  arec_test_env_set(&e, "TELEGRAM_BOT_TOKEN=42:blackholed-bot");
  arec_test_env_set(&e, "TELEGRAM_API_BASE=http://127.0.0.1:%d", port);
  arec_test_pod_run(&a, "sd-tg-a", &e, 20000);
  arec_test_env_free(&e);
  run_pod(&b, "sd-tg-b", NULL);
  const char *all[] = {"sd-tg-1", "sd-tg-2", "sd-tg-3", NULL};
  const char *ids[] = {"sd-tg-1", "sd-tg-2", NULL};
  seed_and_start(&a, 9603, all);
  /* a user's stop: the bot queues "stop completed" for the owner, and
   * its sender hangs on the silent API -- the flush meets the deadline */
  char *out = NULL;
  ck_assert_int_eq(arec_test_http(a.port, "POST", "/api/agents/stop/sd-tg-3",
                                  TOKEN, NULL, NULL, &out), 200);
  free(out);
  arec_test_sleep_ms(500); /* the poller is in its long poll */
  char *m = NULL;
  ck_assert_int_eq(arec_test_http(a.port, "GET", "/metrics", NULL, NULL, NULL,
                                  &m), 200);
  ck_assert_ptr_nonnull(
      strstr(m, "agentrecoverd_role_held{role=\"telegram\"}"));
  free(m);
  int code = -1;
  term_within_budget(&a, "Telegram API blackholed", &code);
  ck_assert_msg(code == 0 || code == 1, "exit code %d", code);
  taken_over(&b, ids, a.proc.exited_ms);
  ck_assert_int_eq(arec_test_daemon_term(&b, 15000), 0);
  close(fd);
}
END_TEST

/* ---------------------------------------------------- a step stuck */
START_TEST(step_stuck_in_an_order) {
  arec_fx *fx;
  ck_assert_int_eq(arec_fx_start(&fx, "k", "s"), 0);
  static const double rise[] = {100, 100, 100, 100, 100, 100, 100, 100, 100,
                                101, 102, 103, 104};
  arec_fx_set_prices(fx, "BTCUSDT", rise, sizeof rise / sizeof *rise);
  arec_fx_order_lose(fx, 1); /* filled, never answered */
  static arec_test_daemon a, b;
  arec_test_env e;
  pod_env(&e, "sd-step-a", NULL);
  arec_test_env_set(&e, "TRADING_MODE=live");
  arec_test_env_set(&e, "EXCHANGE_API_BASE=%s", arec_fx_url(fx));
  arec_test_env_set(&e, "TRADING_STEP_INTERVAL=100ms");
  /* the order's own timeout must outlive the shutdown timeout (by 2 s):
   * its default, a third of the 9 s lock TTL, would end with it */
  arec_test_env_set(&e, "AGENT_LOCK_TTL=18s");
  arec_test_env_set(&e, "TRADING_ORDER_TIMEOUT=%dms", SHUTDOWN_MS + 2000);
  arec_test_pod_run(&a, "sd-step-a", &e, 20000);
  arec_test_env_set(&e, "POD_NAME=sd-step-b");
  arec_test_env_set(&e, "HTTP_PORT=%d", arec_test_port());
  arec_test_pod_run(&b, "sd-step-b", &e, 20000);
  arec_test_env_free(&e);
  const char *ids[] = {"sd-step-1", NULL};
  ck_assert_int_eq(arec_test_seed(a.port, TOKEN, 9604, "BTC/USDT",
                                  "aggressive", ids), 0);
  arec_test_pod_start_agent(&a, ids[0]);
  long long end = arec_test_now_ms() + 20000;
  while (!arec_fx_order_find(fx, "sd-step-1-1-1", NULL, NULL) &&
         arec_test_now_ms() < end)
    arec_test_sleep_ms(5);
  ck_assert_msg(arec_fx_order_find(fx, "sd-step-1-1-1", NULL, NULL) == 1,
                "no order");
  int code = -1;
  term_within_budget(&a, "a step stuck in an order", &code);
  ck_assert_int_eq(code, 0);
  ck_assert(arec_test_log_has(&a.proc, "a step missed the deadline"));
  /* the lock was released: the other pod has the agent within reconcile
   * + 1 s, not the 18 s TTL */
  arec_fx_release(fx);
  taken_over(&b, ids, a.proc.exited_ms);
  ck_assert_int_eq(arec_test_daemon_term(&b, 15000), 0);
  arec_fx_stop(fx);
}
END_TEST

AREC_TEST_CASE_MAIN("host_shutdown", "budget", 90,
                    arec_test_main(s, &g_pg,
                                   AREC_TEST_MIGRATED | AREC_TEST_PODS,
                                   &g_redis),
                    nothing_stuck, postgres_blackholed, telegram_blackholed,
                    step_stuck_in_an_order)
