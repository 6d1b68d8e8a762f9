/*
 * test_host_recovery_flag.c -- AGENT_RECOVERY_ENABLED=false on a real
 * agentrecoverd: the pod takes over no agent (another pod's agents stay
 * where they are, a dead pod's agents are not restored here), yet runs the
 * agents users start through it, and stops and disables issued through
 * another pod's API reach it within AGENT_STOP_CHECK_INTERVAL; the same
 * with AGENT_RECONCILE_INTERVAL=0 (recovery on, no passes: stop checks
 * still run).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/daemon.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"

#define TOKEN AREC_TEST_ADMIN_TOKEN
#define STOP_CHECK_MS 500
#define STR_(x) #x
#define STR(x) STR_(x)
#define TTL_MS AREC_TEST_LOCK_TTL_MS
#define RECONCILE_MS AREC_TEST_RECONCILE_MS
#define SLACK_MS 1000

static arec_test_pg g_pg;
static arec_test_redis g_redis;

/* A pod with stop checks every STOP_CHECK_MS and `flag` ("NAME=value",
 * or NULL). */
static void start_pod(arec_test_daemon *d, const char *name,
                      const char *flag) {
  const char *extra[] = {"AGENT_STOP_CHECK_INTERVAL=" STR(STOP_CHECK_MS) "ms",
                         flag, NULL};
  arec_test_pod_start(d, &g_pg, &g_redis, name, extra);
}

static void post(arec_test_daemon *p, const char *fmt, const char *id,
                 int want) {
  char path[128];
  snprintf(path, sizeof path, fmt, id);
  arec_test_pod_post(p, path, want, NULL);
}

/* The time until `id` no longer runs on p, or -1 after timeout_ms. */
static long long wait_gone(arec_test_daemon *p, const char *id,
                           long timeout_ms) {
  long long t0 = arec_test_now_ms();
  while (arec_test_now_ms() - t0 < timeout_ms) {
    if (!arec_test_pod_runs(p, id)) return arec_test_now_ms() - t0;
    arec_test_sleep_ms(20);
  }
  return -1;
}

/* _i: 0 AGENT_RECOVERY_ENABLED=false, 1 AGENT_RECONCILE_INTERVAL=0. */
START_TEST(remote_stop_and_disable_reach_the_owner) {
  static arec_test_daemon a, b;
  start_pod(&a, _i ? "pod-zero" : "pod-off",
            _i ? "AGENT_RECONCILE_INTERVAL=0" : "AGENT_RECOVERY_ENABLED=false");
  start_pod(&b, _i ? "pod-other1" : "pod-other0", NULL);
  char s1[32], s2[32];
  snprintf(s1, sizeof s1, "flag%d-stop", _i);
  snprintf(s2, sizeof s2, "flag%d-disable", _i);
  const char *ids[] = {s1, s2, NULL};
  ck_assert_int_eq(arec_test_seed(a.port, TOKEN, 9500 + _i, "BTC/USDT",
                                  "noop", ids), 0);
  post(&a, "/api/agents/start/%s", s1, 200);
  post(&a, "/api/agents/start/%s", s2, 200);
  ck_assert(arec_test_pod_runs(&a, s1) && arec_test_pod_runs(&a, s2));
  /* no passes run on the owner: its stop checks find the change */
  long long bound = STOP_CHECK_MS + SLACK_MS;
  /* a stop through the other pod reaches the owner */
  post(&b, "/api/agents/stop/%s", s1, 200);
  long long took = wait_gone(&a, s1, bound + SLACK_MS);
  ck_assert_msg(took >= 0, "stop did not reach %s", a.proc.name);
  fprintf(stderr, "recovery flag %d: remote stop reached the owner in %lld "
                  "ms (stop checks every %d ms)\n", _i, took, STOP_CHECK_MS);
  ck_assert_int_le(took, bound);
  /* and a disable */
  post(&b, "/api/agents/%s/disable", s2, 200);
  took = wait_gone(&a, s2, bound + SLACK_MS);
  ck_assert_msg(took >= 0, "disable did not reach %s", a.proc.name);
  ck_assert_int_le(took, bound);
  ck_assert(!arec_test_pod_runs(&b, s1) && !arec_test_pod_runs(&b, s2));
  ck_assert_int_eq(arec_test_daemon_term(&a, 15000), 0);
  ck_assert_int_eq(arec_test_daemon_term(&b, 15000), 0);
}
END_TEST

/* With recovery off a pod never takes over: a dead pod's agent is not
 * restored there within TTL + reconcile + 1 s, and is by a pod with
 * recovery on once one starts. */
START_TEST(recovery_off_takes_nothing_over) {
  static arec_test_daemon off, victim, on;
  start_pod(&off, "pod-off2", "AGENT_RECOVERY_ENABLED=false");
  start_pod(&victim, "pod-victim", NULL);
  const char *ids[] = {"flag-orphan", NULL};
  ck_assert_int_eq(arec_test_seed(victim.port, TOKEN, 9510, "ETH/USDT",
                                  "noop", ids), 0);
  post(&victim, "/api/agents/start/%s", "flag-orphan", 200);
  arec_test_proc_kill(&victim.proc);
  long long end = arec_test_now_ms() + TTL_MS + RECONCILE_MS + 1000;
  while (arec_test_now_ms() < end) {
    ck_assert_msg(!arec_test_pod_runs(&off, "flag-orphan"), "taken over with recovery off");
    arec_test_sleep_ms(100);
  }
  ck_assert(!arec_test_log_has(&off.proc, "agent restored successfully"));
  start_pod(&on, "pod-on", NULL);
  end = arec_test_now_ms() + TTL_MS + RECONCILE_MS + 1000 + SLACK_MS;
  while (!arec_test_pod_runs(&on, "flag-orphan") && arec_test_now_ms() < end)
    arec_test_sleep_ms(50);
  ck_assert(arec_test_pod_runs(&on, "flag-orphan"));
  ck_assert(!arec_test_pod_runs(&off, "flag-orphan"));
  ck_assert_int_eq(arec_test_daemon_term(&on, 15000), 0);
  ck_assert_int_eq(arec_test_daemon_term(&off, 15000), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("host_recovery_flag");
  TCase *tc = arec_test_tcase(s, "flag", 60);
  tcase_add_loop_test(tc, remote_stop_and_disable_reach_the_owner, 0, 2);
  tcase_add_test(tc, recovery_off_takes_nothing_over);
  return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED | AREC_TEST_PODS,
                        &g_redis);
}
