/*
 * test_host_failover.c -- agents move between real agentrecoverd processes
 * (tests/support/daemon.c) on a real PostgreSQL 15 and redis-server: 3
 * pods, 2 agents, kill -9 the pod of agent 1 -> restored in another pod
 * within TTL + reconcile + 1 s and in exactly one pod's /api/runners;
 * SIGTERM a pod -> handover within reconcile + 1 s with is_trading kept; a
 * user's stop through any pod stops the agent where it runs; a rolling
 * restart of every pod leaves every agent running; with 1 s pod leases
 * (PostgreSQL lock backend, or Redis) a kill -9 fails over within pod
 * lease TTL + reconcile + 1 s although agent locks live 30 s.
 *
 * Timings are short (TTL 2 s, reconcile 1 s).  Every pod is killed by pid
 * at the test's exit, pass or fail.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/daemon.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"

#define TOKEN AREC_TEST_ADMIN_TOKEN
#define TTL_MS AREC_TEST_LOCK_TTL_MS
#define RECONCILE_MS AREC_TEST_RECONCILE_MS
/* Slack on top of each bound, for a noisy shared machine. */
#define SLACK_MS 1500

static arec_test_pg g_pg;
static arec_test_redis g_redis;

static void start_pod(arec_test_daemon *d, const char *name,
                      const char *const *extra) {
  arec_test_pod_start(d, &g_pg, &g_redis, name, extra);
}

static int count_running(arec_test_daemon **pods, size_t n, const char *id) {
  int c = 0;
  for (size_t i = 0; i < n; i++) c += arec_test_pod_runs(pods[i], id);
  return c;
}

/* Waits until the agent runs on exactly one of pods; the time it took. */
static long long wait_one_owner(arec_test_daemon **pods, size_t n,
                                const char *id, long timeout_ms) {
  long long t0 = arec_test_now_ms();
  while (arec_test_now_ms() - t0 < timeout_ms) {
    if (count_running(pods, n, id) == 1) return arec_test_now_ms() - t0;
    arec_test_sleep_ms(50);
  }
  return -1;
}

static arec_test_daemon *owner_of(arec_test_daemon **pods, size_t n,
                                  const char *id) {
  for (size_t i = 0; i < n; i++)
    if (arec_test_pod_runs(pods[i], id)) return pods[i];
  return NULL;
}

START_TEST(failover_and_graceful_handover) {
  static arec_test_daemon a, b, c;
  arec_test_daemon *all[3] = {&a, &b, &c};
  start_pod(&a, "pod-a", NULL);
  start_pod(&b, "pod-b", NULL);
  start_pod(&c, "pod-c", NULL);
  const char *ids[] = {"e2e-agent-1", "e2e-agent-2", NULL};
  ck_assert_int_eq(arec_test_seed(a.port, TOKEN, 9101, "BTC/USDT", "noop",
                                  ids), 0);
  char *out = NULL;
  arec_test_pod_post(&a, "/api/agents/start/e2e-agent-1", 200, &out);
  ck_assert_ptr_nonnull(strstr(out, "\"running_on\":\"pod-a\""));
  free(out);
  arec_test_pod_post(&b, "/api/agents/start/e2e-agent-2", 200, &out);
  ck_assert_ptr_nonnull(strstr(out, "\"running_on\":\"pod-b\""));
  free(out);
  ck_assert_int_eq(count_running(all, 3, "e2e-agent-1"), 1);
  ck_assert(arec_test_pod_runs(&a, "e2e-agent-1"));
  /* a second start elsewhere says where it runs */
  ck_assert_int_eq(arec_test_http(c.port, "POST",
                                  "/api/agents/start/e2e-agent-1", TOKEN,
                                  NULL, NULL, &out) / 100, 2);
  ck_assert_msg(strstr(out, "\"running_on\":\"pod-a\"") != NULL, "%s", out);
  free(out);

  /* kill -9 the pod of agent 1 */
  long long t0 = arec_test_now_ms();
  arec_test_proc_kill(&a.proc);
  long long bound = TTL_MS + RECONCILE_MS + 1000;
  int restored = 0;
  while (!restored && arec_test_now_ms() - t0 < bound + SLACK_MS) {
    restored = arec_test_log_has(&b.proc, "agent restored successfully "
                                          "agent_id=e2e-agent-1") ||
               arec_test_log_has(&c.proc, "agent restored successfully "
                                          "agent_id=e2e-agent-1");
    if (!restored) arec_test_sleep_ms(50);
  }
  ck_assert_msg(restored, "agent 1 not restored within %lld ms",
                bound + SLACK_MS);
  fprintf(stderr, "failover: kill -9 -> restored in %lld ms (bound %lld)\n",
          arec_test_now_ms() - t0, bound);
  arec_test_daemon *rest[2] = {&b, &c};
  ck_assert_int_ge(wait_one_owner(rest, 2, "e2e-agent-1", 2000), 0);
  ck_assert_int_eq(count_running(rest, 2, "e2e-agent-2"), 1);

  /* SIGTERM the pod of agent 2: handed over without the TTL wait */
  arec_test_daemon *p2 = owner_of(rest, 2, "e2e-agent-2");
  ck_assert_ptr_nonnull(p2);
  arec_test_daemon *other = p2 == &b ? &c : &b;
  ck_assert_int_eq(arec_test_daemon_term(p2, 15000), 0);
  ck_assert(arec_test_log_has(&p2->proc, "shutdown_duration_seconds="));
  long long took = wait_one_owner(&other, 1, "e2e-agent-2",
                                  RECONCILE_MS + 1000 + SLACK_MS);
  ck_assert_msg(took >= 0, "agent 2 not handed over within %d ms",
                RECONCILE_MS + 1000 + SLACK_MS);
  fprintf(stderr, "failover: SIGTERM -> handed over in %lld ms (bound %d)\n",
          took, RECONCILE_MS + 1000);
  ck_assert_int_ge(wait_one_owner(&other, 1, "e2e-agent-1",
                                  RECONCILE_MS + 1000 + SLACK_MS), 0);
  ck_assert_int_eq(arec_test_http(other->port, "GET",
                                  "/api/agents/e2e-agent-2", TOKEN, NULL,
                                  NULL, &out), 200);
  ck_assert_ptr_nonnull(strstr(out, "\"is_trading\":true"));
  free(out);

  /* the user's stop stops it where it runs */
  arec_test_pod_post(other, "/api/agents/stop/e2e-agent-1", 200, NULL);
  long long end = arec_test_now_ms() + RECONCILE_MS + 1000 + SLACK_MS;
  while (arec_test_pod_runs(other, "e2e-agent-1") && arec_test_now_ms() < end)
    arec_test_sleep_ms(50);
  ck_assert(!arec_test_pod_runs(other, "e2e-agent-1"));
  ck_assert_int_eq(arec_test_daemon_term(other, 15000), 0);
  (void)all;
}
END_TEST

START_TEST(rolling_restart_keeps_every_agent) {
  static arec_test_daemon p[3];
  arec_test_daemon *all[3] = {&p[0], &p[1], &p[2]};
  const char *names[3] = {"roll-a", "roll-b", "roll-c"};
  for (int i = 0; i < 3; i++) start_pod(&p[i], names[i], NULL);
  const char *ids[] = {"roll-1", "roll-2", "roll-3", NULL};
  ck_assert_int_eq(arec_test_seed(p[0].port, TOKEN, 9102, "ETH/USDT", "noop",
                                  ids), 0);
  for (int i = 0; i < 3; i++) arec_test_pod_start_agent(&p[i], ids[i]);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(arec_test_daemon_term(&p[i], 15000), 0);
    start_pod(&p[i], names[i], NULL);
  }
  for (int i = 0; i < 3; i++)
    ck_assert_msg(wait_one_owner(all, 3, ids[i],
                                 TTL_MS + RECONCILE_MS + 1000 + SLACK_MS) >= 0,
                  "%s not running after the rolling restart", ids[i]);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(count_running(all, 3, ids[i]), 1);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(arec_test_daemon_term(&p[i], 15000), 0);
}
END_TEST

/* 30 s agent locks, 1 s pod leases: a kill -9 fails over within pod lease
 * TTL + reconcile + 1 s.  _i: 0 the PostgreSQL lock backend (no Redis at
 * all), 1 Redis. */
START_TEST(pod_lease_failover) {
  static arec_test_daemon a, b;
  char noredis[40];
  snprintf(noredis, sizeof noredis, "REDIS_PORT=%d", arec_test_port());
  const char *pg[] = {"AGENT_LOCK_BACKEND=postgres", noredis,
                      "AGENT_LOCK_TTL=30s", "AGENT_POD_LEASE_TTL=1s", NULL};
  const char *redis[] = {"AGENT_LOCK_TTL=30s", "AGENT_POD_LEASE_TTL=1s",
                         NULL};
  const char *const *extra = _i == 0 ? pg : redis;
  start_pod(&a, _i ? "pod-rpla" : "pod-pga", extra);
  start_pod(&b, _i ? "pod-rplb" : "pod-pgb", extra);
  ck_assert(arec_test_log_has(&a.proc, _i ? "pod leases on ttl=1000ms "
                                            "backend=redis"
                                          : "lock backend: postgres"));
  const char *ids[] = {_i ? "e2e-rpl-1" : "e2e-pgl-1", NULL};
  ck_assert_int_eq(arec_test_seed(a.port, TOKEN, 9301 + _i, "XRP/USDT",
                                  "noop", ids), 0);
  arec_test_pod_start_agent(&a, ids[0]);
  ck_assert(arec_test_pod_runs(&a, ids[0]));
  long long t0 = arec_test_now_ms();
  arec_test_proc_kill(&a.proc);
  arec_test_daemon *rest[1] = {&b};
  long long bound = 1000 + RECONCILE_MS + 1000;
  long long took = wait_one_owner(rest, 1, ids[0], bound + SLACK_MS);
  ck_assert_msg(took >= 0, "not failed over within %lld ms", bound + SLACK_MS);
  fprintf(stderr, "failover: %s pod leases, kill -9 -> %lld ms (30 s agent "
                  "TTL, 1 s pod lease; bound %lld)\n",
          _i ? "redis" : "postgres", arec_test_now_ms() - t0, bound);
  ck_assert_int_eq(arec_test_daemon_term(&b, 15000), 0);
}
END_TEST

int main(void) {
  const TTest *tests[] = {failover_and_graceful_handover,
      rolling_restart_keeps_every_agent, NULL};
  Suite *s = suite_create("host_failover");
  TCase *tc = arec_test_cases(s, "pods", 90, tests);
  tcase_add_loop_test(tc, pod_lease_failover, 0, 2);
  return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED | AREC_TEST_PODS,
                        &g_redis);
}
