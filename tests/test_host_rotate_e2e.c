/*
 * test_host_rotate_e2e.c -- AGENT_SECRETS_KEY rotated under a live fleet of
 * real agentrecoverd processes, without one failed start:
 *
 *   1. pods A and B serve with key K1; four users, each with an exchange
 *      account (its key and secret stored under K1) and three paper
 *      trading agents, all started: every start decrypts its account;
 *   2. the fleet is rolled to K2: pods C and D start with
 *      AGENT_SECRETS_KEY=K2 and AGENT_SECRETS_KEY_PREVIOUS=K1, A and B get
 *      SIGTERM and hand their agents over (C and D read the K1 values
 *      through the previous key);
 *   3. `agentrecoverd --rotate-secrets` (K2, previous K1) runs while C and
 *      D serve and rewrites the four accounts ("rotated 4 secrets"; run
 *      again: "rotated 0 secrets");
 *   4. C is killed (SIGKILL): D restores its agents;
 *   5. pod E starts with K2 only (the previous key retired) and D is
 *      killed: E restores every agent from the rotated rows.
 *
 * After each step every agent runs on exactly one pod; no pod ever logged
 * a failed start or a value that does not decrypt, and the counters of
 * failed starts and restores of every pod read 0 before it went away.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/daemon.h"
#include "support/harness.h"
#include "support/host/fake_exchange.h"
#include "support/pods.h"
#include "support/runner.h"

#define TOKEN AREC_TEST_ADMIN_TOKEN
#define K1 AREC_TEST_KEY
#define K2 "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff"
#define USERS 4
#define PER_USER 3
#define NAGENTS (USERS * PER_USER)
/* Every failover here is bounded by the lock TTL + one reconcile + 1 s
 * (daemon.h's timings); the slack covers a loaded machine. */
#define FAILOVER_MS (AREC_TEST_LOCK_TTL_MS + AREC_TEST_RECONCILE_MS + 1000)
#define SLACK_MS 4000

enum { A, B, C, D, E, NPODS };
static const char *const NAMES[NPODS] = {"pod-a", "pod-b", "pod-c", "pod-d",
                                         "pod-e"};

static arec_test_pg g_pg;
static arec_test_redis g_redis;
static arec_pg *g_db;
static arec_repository *g_repo;
static arec_test_daemon g_pods[NPODS];
static char g_ids[NAGENTS][32];

/* A pod on the fake exchange with key `key` and, when not NULL, the
 * previous key `prev`. */
static void spawn(int i, const char *fx, const char *key, const char *prev) {
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, NULL, &g_redis, NAMES[i], arec_test_port());
  arec_test_pod_env_fast(&e);
  arec_test_env_set(&e, "AGENT_LOCK_TTL=%dms", AREC_TEST_LOCK_TTL_MS);
  arec_test_env_set(&e, "AGENT_RECONCILE_INTERVAL=%dms",
                    AREC_TEST_RECONCILE_MS);
  arec_test_env_set(&e, "EXCHANGE_API_BASE=%s", fx);
  arec_test_env_set(&e, "AGENT_SECRETS_KEY=%s", key);
  if (prev) arec_test_env_set(&e, "AGENT_SECRETS_KEY_PREVIOUS=%s", prev);
  arec_test_pod_run(&g_pods[i], NAMES[i], &e, 20000);
  arec_test_env_free(&e);
}

/* Runs `agentrecoverd --rotate-secrets` with K2 and previous K1 on the
 * fleet's database; its output. */
static char *rotate(const char *name) {
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, NULL, &g_redis, name, arec_test_port());
  arec_test_env_set(&e, "AGENT_SECRETS_KEY=%s", K2);
  arec_test_env_set(&e, "AGENT_SECRETS_KEY_PREVIOUS=%s", K1);
  arec_test_daemon d;
  const char *args[] = {"--rotate-secrets", NULL};
  ck_assert_int_eq(arec_test_daemon_start(&d, name, &e, args), 0);
  ck_assert_int_eq(arec_test_proc_wait(&d.proc, 30000), 0);
  arec_test_env_free(&e);
  return arec_test_log(&d.proc);
}

/* The number of agents of g_ids that run on exactly one of the live pods
 * of `live` (a bit per pod) -- and on none outside it. */
static int placed(unsigned live) {
  int ok = 0;
  for (int a = 0; a < NAGENTS; a++) {
    int on = 0;
    for (int i = 0; i < NPODS; i++)
      if (arec_test_proc_alive(&g_pods[i].proc) &&
          arec_test_pod_runs(&g_pods[i], g_ids[a])) {
        on += (live >> i) & 1 ? 1 : 2; /* outside `live`: never placed */
      }
    ok += on == 1;
  }
  return ok;
}

static void wait_placed(unsigned live, long bound_ms, const char *step) {
  long long t0 = arec_test_now_ms();
  int n = 0;
  while ((n = placed(live)) != NAGENTS &&
         arec_test_now_ms() - t0 < bound_ms + SLACK_MS)
    arec_test_sleep_ms(100);
  ck_assert_msg(n == NAGENTS, "%s: %d of %d agents placed after %lld ms",
                step, n, NAGENTS, arec_test_now_ms() - t0);
}

/* The value of a counter in the pod's /metrics (-1 when absent). */
static double counter(int i, const char *name) {
  char *body = NULL, needle[96];
  ck_assert_int_eq(
      arec_test_http(g_pods[i].port, "GET", "/metrics", NULL, NULL, NULL,
                     &body),
      200);
  snprintf(needle, sizeof needle, "\n%s ", name);
  const char *p = strstr(body, needle);
  double v = p ? atof(p + strlen(needle)) : -1;
  free(body);
  return v;
}

/* Pod i never failed a start, and says so in its counters. */
static void no_failed_start(int i) {
  ck_assert_msg(counter(i, "agent_start_failures_total") == 0,
                "%s counted failed starts", NAMES[i]);
  ck_assert_msg(counter(i, "agents_restore_failed_total") == 0,
                "%s counted failed restores", NAMES[i]);
}

/* Nothing in any pod's log about a failed start or a value that does not
 * decrypt (the logs outlive the pods). */
static void clean_logs(void) {
  for (int i = 0; i < NPODS; i++) {
    if (!g_pods[i].proc.log[0]) continue;
    ck_assert_msg(!arec_test_log_has(&g_pods[i].proc, "agent start failed"),
                  "%s logged a failed start", NAMES[i]);
    ck_assert_msg(!arec_test_log_has(&g_pods[i].proc, "decrypt"),
                  "%s logged a value that does not decrypt", NAMES[i]);
    ck_assert_msg(!arec_test_log_has(&g_pods[i].proc, "ECRYPTO"),
                  "%s logged ECRYPTO", NAMES[i]);
  }
}

START_TEST(rotate_a_live_fleet_without_a_failed_restore) {
  arec_fx *fx;
  ck_assert_int_eq(arec_fx_start(&fx, "k", "s"), 0);
  memset(g_pods, 0, sizeof g_pods);

  /* 1. the fleet on K1 */
  spawn(A, arec_fx_url(fx), K1, NULL);
  spawn(B, arec_fx_url(fx), K1, NULL);
  for (int u = 0; u < USERS; u++) {
    const char *ids[PER_USER + 1] = {NULL};
    for (int j = 0; j < PER_USER; j++) {
      char *id = g_ids[u * PER_USER + j];
      snprintf(id, sizeof g_ids[0], "rot-u%d-a%d", u, j);
      ids[j] = id;
    }
    ck_assert_int_eq(arec_test_seed(g_pods[A].port, TOKEN, 900 + u,
                                    "BTC/USDT", "conservative", ids),
                     0);
  }
  for (int a = 0; a < NAGENTS; a++) {
    char path[128];
    snprintf(path, sizeof path, "/api/agents/start/%.31s", g_ids[a]);
    int st = arec_test_http(g_pods[a % 2].port, "POST", path, TOKEN, NULL,
                            NULL, NULL);
    ck_assert_msg(st == 200 || st == 202, "start %s: %d", g_ids[a], st);
  }
  wait_placed(1u << A | 1u << B, 2 * FAILOVER_MS, "started on K1");
  no_failed_start(A);
  no_failed_start(B);

  /* 2. rolled to K2 (previous K1): C and D come, A and B leave */
  spawn(C, arec_fx_url(fx), K2, K1);
  spawn(D, arec_fx_url(fx), K2, K1);
  ck_assert_int_eq(arec_test_daemon_term(&g_pods[A], 15000), 0);
  ck_assert_int_eq(arec_test_daemon_term(&g_pods[B], 15000), 0);
  wait_placed(1u << C | 1u << D, FAILOVER_MS, "rolled to K2");

  /* 3. the rotation, while C and D serve */
  char *out = rotate("rotate-1");
  ck_assert_msg(strstr(out, "rotated 4 secrets\n"), "first rotation: %s", out);
  free(out);
  out = rotate("rotate-2");
  ck_assert_msg(strstr(out, "rotated 0 secrets\n"), "second rotation: %s",
                out);
  free(out);
  ck_assert_int_eq(placed(1u << C | 1u << D), NAGENTS);
  no_failed_start(C);
  no_failed_start(D);

  /* 4. C dies: D restores its agents */
  arec_test_proc_kill(&g_pods[C].proc);
  wait_placed(1u << D, FAILOVER_MS, "C killed");
  no_failed_start(D);

  /* 5. E knows K2 only; D dies: E restores every agent */
  spawn(E, arec_fx_url(fx), K2, NULL);
  arec_test_proc_kill(&g_pods[D].proc);
  wait_placed(1u << E, FAILOVER_MS, "D killed, E on K2 alone");
  no_failed_start(E);
  clean_logs();
  ck_assert_int_eq(arec_test_daemon_term(&g_pods[E], 15000), 0);
  arec_fx_stop(fx);
}
END_TEST

AREC_TEST_CASE_MAIN("host-rotate-e2e", "rotate-live-fleet", 150,
                    arec_test_pods_main(s, &g_pg, &g_redis, &g_db, &g_repo),
                    rotate_a_live_fleet_without_a_failed_restore)
