/*
 * test_host_lifecycle.c -- agentrecoverd's start-up and exits as a process
 * (tests/support/daemon.c) on a real PostgreSQL 15 and redis-server:
 * exit 2 with one line naming the variable for every bad configuration
 * (ADMIN_TOKEN missing or short, ADMIN_AUTH not "none", the pools, ...);
 * --help lists every variable with its default; --version; usage errors;
 * exit 1 when the database stays unreachable (its password never
 * logged); --migrate-only and --rotate-secrets need no ADMIN_TOKEN; a
 * rotation prints "rotated N secrets" and needs AGENT_SECRETS_KEY;
 * ADMIN_AUTH=none is warned at every start; Redis down at start: /ready
 * at once, agents restored when it returns; recovery off: ready at once,
 * no restore.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/daemon.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"

#define TOKEN AREC_TEST_ADMIN_TOKEN

static arec_test_pg g_pg;
static arec_test_redis g_redis;

static void pod_env(arec_test_env *e, const char *name) {
  arec_test_pod_env(e, &g_pg, NULL, &g_redis, name, arec_test_port());
}

/* Runs agentrecoverd with env and args to its end (10 s at most). */
static int run_to_end(arec_test_daemon *d, const char *name,
                      const arec_test_env *env, const char *const *args) {
  ck_assert_int_eq(arec_test_daemon_start(d, name, env, args), 0);
  int rc = arec_test_proc_wait(&d->proc, 10000);
  if (rc == -2) arec_test_proc_kill(&d->proc);
  return rc;
}

/* ------------------------------------------------------------ exit 2 */
static const char *const bad_env[][3] = {
    /* variable set (NULL: unset), value, the name the line starts with */
    {"ADMIN_TOKEN", NULL, "ADMIN_TOKEN"},
    {"ADMIN_TOKEN", "", "ADMIN_TOKEN"},
    {"ADMIN_TOKEN", "too-short-tok", "ADMIN_TOKEN"},
    {"ADMIN_READ_TOKEN", "short", "ADMIN_READ_TOKEN"},
    {"ADMIN_AUTH", "off", "ADMIN_AUTH"},
    {"AGENT_LOCK_TTL", "abc", "AGENT_LOCK_TTL"},
    {"AGENT_LOCK_REFRESH_INTERVAL", "5s", "AGENT_LOCK_REFRESH_INTERVAL"},
    {"AGENT_LOCK_BACKEND", "etcd", "AGENT_LOCK_BACKEND"},
    {"AGENT_SECRETS_KEY", "abc", "AGENT_SECRETS_KEY"},
    {"AGENT_SECRETS_KEY_PREVIOUS", "abc", "AGENT_SECRETS_KEY_PREVIOUS"},
    {"DATABASE_POOL_SIZE", "0", "DATABASE_POOL_SIZE"},
    {"DATABASE_ADMIN_POOL_SIZE", "many", "DATABASE_ADMIN_POOL_SIZE"},
    {"DATABASE_STATEMENT_TIMEOUT", "5", "DATABASE_STATEMENT_TIMEOUT"},
    {"AGENT_STOP_CHECK_INTERVAL", "0", "AGENT_STOP_CHECK_INTERVAL"},
    {"HTTP_PORT", "0", "HTTP_PORT"},
    {"HTTP_ADDR", "localhost", "HTTP_ADDR"},
    {"HTTP_MAX_CONNECTIONS", "0", "HTTP_MAX_CONNECTIONS"},
    {"HTTP_CONNECTION_TIMEOUT", "10", "HTTP_CONNECTION_TIMEOUT"},
    {"TRADING_MODE", "yolo", "TRADING_MODE"},
};

START_TEST(invalid_env_exits_2) {
  arec_test_env e;
  pod_env(&e, "pod-badenv");
  if (bad_env[_i][1])
    arec_test_env_set(&e, "%s=%s", bad_env[_i][0], bad_env[_i][1]);
  else
    arec_test_env_unset(&e, bad_env[_i][0]);
  arec_test_daemon d;
  ck_assert_int_eq(run_to_end(&d, "pod-badenv", &e, NULL), 2);
  char *log = arec_test_log(&d.proc);
  char want[80];
  snprintf(want, sizeof want, "agentrecoverd: %s:", bad_env[_i][2]);
  ck_assert_msg(strstr(log, want) != NULL, "no \"%s\" in: %s", want, log);
  /* one line, nothing started */
  const char *nl = strchr(log, '\n');
  ck_assert_msg(nl && !nl[1], "more than one line: %s", log);
  ck_assert_ptr_null(strstr(log, "database connected"));
  free(log);
  unlink(d.proc.log);
  arec_test_env_free(&e);
}
END_TEST

START_TEST(help_version_and_usage) {
  arec_test_env e;
  arec_test_env_init(&e); /* no configuration at all */
  arec_test_daemon d;
  const char *help[] = {"--help", NULL};
  ck_assert_int_eq(run_to_end(&d, "help", &e, help), 0);
  char *out = arec_test_log(&d.proc);
  const char *vars[] = {"DATABASE_CONNECT_TIMEOUT", "AGENT_RECONCILE_INTERVAL",
                        "EXCHANGE_ALLOW_MAINNET", "ADMIN_AUTH",
                        "ADMIN_READ_TOKEN", "AGENT_SECRETS_KEY_PREVIOUS",
                        "DATABASE_POOL_SIZE", "DATABASE_ADMIN_POOL_SIZE",
                        "DATABASE_STATEMENT_TIMEOUT",
                        "AGENT_STOP_CHECK_INTERVAL", "--rotate-secrets",
                        "--migrate-only", "Exit codes"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    ck_assert_msg(strstr(out, vars[i]) != NULL, "%s not in --help", vars[i]);
  free(out);
  const char *ver[] = {"--version", NULL};
  ck_assert_int_eq(run_to_end(&d, "version", &e, ver), 0);
  ck_assert(arec_test_log_has(&d.proc, "agentrecoverd 0."));
  const char *bogus[] = {"--bogus", NULL};
  ck_assert_int_eq(run_to_end(&d, "bogus", &e, bogus), 2);
  ck_assert(arec_test_log_has(&d.proc, "unknown argument"));
  const char *two[] = {"--migrate-only", "--rotate-secrets", NULL};
  ck_assert_int_eq(run_to_end(&d, "two", &e, two), 2);
  arec_test_env_free(&e);
}
END_TEST

/* ------------------------------------------------------------ exit 1 */
START_TEST(database_down_exits_1) {
  arec_test_env e;
  pod_env(&e, "pod-nodb");
  arec_test_env_set(&e, "DATABASE_URL=host=127.0.0.1 port=%d dbname=x "
                        "user=postgres password=pw-never-logged",
                    arec_test_port());
  arec_test_env_set(&e, "DATABASE_CONNECT_TIMEOUT=1s");
  arec_test_daemon d;
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(run_to_end(&d, "pod-nodb", &e, NULL), 1);
  ck_assert_int_lt(arec_test_now_ms() - t0, 1000 + 5000);
  ck_assert(arec_test_log_has(&d.proc, "database unreachable, giving up"));
  ck_assert(!arec_test_log_has(&d.proc, "pw-never-logged"));
  arec_test_env_free(&e);
}
END_TEST

/* ---------------------------------------------- one-shot modes, no token */
START_TEST(migrate_only_and_rotate_need_no_token) {
  arec_test_env e;
  pod_env(&e, "pod-tasks");
  arec_test_env_unset(&e, "ADMIN_TOKEN");
  arec_test_daemon d;
  const char *mig[] = {"--migrate-only", NULL};
  ck_assert_int_eq(run_to_end(&d, "migrate", &e, mig), 0);
  ck_assert(arec_test_log_has(&d.proc, "migrations applied"));
  char *v = NULL;
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "SELECT count(*) FROM "
                                    "host_schema_migrations", &v), 0);
  ck_assert_int_gt(atoi(v), 0);
  free(v);
  const char *rot[] = {"--rotate-secrets", NULL};
  ck_assert_int_eq(run_to_end(&d, "rotate", &e, rot), 0);
  char *out = arec_test_log(&d.proc);
  ck_assert_msg(strstr(out, "rotated ") && strstr(out, " secrets\n"), "%s",
                out);
  ck_assert_ptr_null(strstr(out, AREC_TEST_KEY));
  free(out);
  /* a rotation without the key to rotate to: exit 2 naming it */
  arec_test_env_unset(&e, "AGENT_SECRETS_KEY");
  ck_assert_int_eq(run_to_end(&d, "rotate-nokey", &e, rot), 2);
  ck_assert(arec_test_log_has(&d.proc, "AGENT_SECRETS_KEY"));
  arec_test_env_free(&e);
}
END_TEST

/* ------------------------------------------------------- serving modes */
START_TEST(auth_none_is_warned_at_every_start) {
  arec_test_env e;
  pod_env(&e, "pod-open");
  arec_test_env_unset(&e, "ADMIN_TOKEN");
  arec_test_env_set(&e, "ADMIN_AUTH=none");
  for (int i = 0; i < 2; i++) {
    arec_test_daemon d;
    arec_test_pod_run(&d, "pod-open", &e, 15000);
    ck_assert_int_eq(arec_test_daemon_term(&d, 10000), 0);
    char *log = arec_test_log(&d.proc);
    int warns = 0;
    for (const char *p = log; (p = strstr(p, " WARN ADMIN_AUTH=none")); p++)
      warns++;
    ck_assert_int_eq(warns, i + 1); /* one per start, same log file */
    free(log);
  }
  arec_test_env_free(&e);
}
END_TEST

START_TEST(redis_down_at_start_then_back) {
  arec_test_redis r;
  ck_assert_int_eq(arec_test_redis_start(&r), 0);
  ck_assert_int_eq(arec_test_redis_kill(&r), 0);
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, NULL, &r, "pod-noredis", arec_test_port());
  arec_test_daemon d;
  arec_test_pod_run(&d, "pod-noredis", &e, 15000);
  ck_assert(arec_test_log_has(&d.proc, "⚠️ Redis unavailable, agent "
                                       "recovery skipped"));
  ck_assert_int_eq(arec_test_http(d.port, "GET", "/healthz", NULL, NULL, NULL,
                                  NULL), 200);
  /* an agent wanted while Redis is down starts when it returns */
  const char *ids[] = {"e2e-nr-1", NULL};
  ck_assert_int_eq(arec_test_seed(d.port, TOKEN, 9103, "SOL/USDT", "noop",
                                  ids), 0);
  char *out = NULL;
  ck_assert_int_eq(arec_test_http(d.port, "POST",
                                  "/api/agents/start/e2e-nr-1", TOKEN, NULL,
                                  NULL, &out), 202);
  ck_assert_ptr_nonnull(strstr(out, "\"running_on\":null"));
  free(out);
  ck_assert_int_eq(arec_test_redis_restart(&r), 0);
  ck_assert(arec_test_log_wait(&d.proc, "agent restored successfully "
                               "agent_id=e2e-nr-1", 15000));
  ck_assert_int_eq(arec_test_daemon_term(&d, 10000), 0);
  arec_test_redis_stop(&r);
  arec_test_env_free(&e);
}
END_TEST

START_TEST(recovery_disabled_ready_at_once) {
  arec_test_env e;
  pod_env(&e, "pod-norecovery");
  arec_test_env_set(&e, "AGENT_RECOVERY_ENABLED=false");
  arec_test_env_set(&e, "AGENT_POD_LEASE_TTL=5s");
  arec_test_daemon d;
  arec_test_pod_run(&d, "pod-norecovery", &e, 15000);
  ck_assert(arec_test_log_has(&d.proc, "agent recovery disabled"));
  ck_assert(arec_test_log_has(&d.proc, "pod leases on ttl=5000ms "
                                       "backend=redis"));
  /* the first pass runs with the manager's takeover option off */
  ck_assert(arec_test_log_wait(&d.proc, "takeover is off", 5000));
  ck_assert(!arec_test_log_has(&d.proc, "agent restored successfully"));
  ck_assert_int_eq(arec_test_daemon_term(&d, 10000), 0);
  ck_assert(arec_test_log_has(&d.proc, "shutdown_duration_seconds="));
  arec_test_env_free(&e);
}
END_TEST

int main(void) {
  const TTest *tests[] = {help_version_and_usage, database_down_exits_1,
      migrate_only_and_rotate_need_no_token, auth_none_is_warned_at_every_start,
      redis_down_at_start_then_back, recovery_disabled_ready_at_once, NULL};
  Suite *s = suite_create("host_lifecycle");
  TCase *tc = arec_test_cases(s, "process", 60, tests);
  tcase_add_loop_test(tc, invalid_env_exits_2, 0, AREC_TEST_ROWS(bad_env));
  return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED | AREC_TEST_PODS,
                        &g_redis);
}
