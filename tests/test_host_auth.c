/*
 * test_host_auth.c -- the admin API's authentication on a real
 * agentrecoverd process (tests/support/daemon.c): ADMIN_TOKEN may do
 * everything; ADMIN_READ_TOKEN the GET routes only (403 {"error"} on every
 * other method, nothing written); no token, a wrong one, a prefix or the
 * token plus one byte: 401 with WWW-Authenticate; /healthz, /ready and
 * /metrics need none; ADMIN_AUTH=none serves without tokens; the audit
 * trail names the actor (api:admin, api:none); no token ever
 * appears in a log.  The pods get their tokens from their own
 * environment only: the tokens exported to this test (if any) never reach
 * them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/daemon.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"

#define ADMIN AREC_TEST_ADMIN_TOKEN
#define READ "e2e-read-token-Hq3Vn8Zp"

static arec_test_pg g_pg;
static arec_test_redis g_redis;

static int status(arec_test_daemon *p, const char *method, const char *path,
                  const char *token, const char *body, char **out) {
  return arec_test_http(p->port, method, path, token, NULL, body, out);
}

static int count_users(void) {
  char *out = NULL;
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "SELECT count(*) FROM users",
                                    &out), 0);
  int n = atoi(out);
  free(out);
  return n;
}

/* The pod's audit trail (read with token) names `actor` for a user.upsert. */
static void audit_names(arec_test_daemon *p, const char *token,
                        const char *actor) {
  char *out = NULL, want[96];
  ck_assert_int_eq(status(p, "GET", "/api/audit?limit=1000", token, NULL,
                          &out), 200);
  snprintf(want, sizeof want, "\"actor\":\"%s\",\"action\":\"user.upsert\"",
           actor);
  ck_assert_msg(strstr(out, want) != NULL, "%s not in %s", want, out);
  free(out);
}

START_TEST(admin_and_read_tokens) {
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, NULL, &g_redis, "pod-auth", arec_test_port());
  arec_test_env_set(&e, "ADMIN_READ_TOKEN=%s", READ);
  arec_test_env_set(&e, "LOG_LEVEL=debug");
  arec_test_daemon p;
  arec_test_pod_run(&p, "pod-auth", &e, 15000);
  const char *user = "{\"id\": 4242, \"name\": \"auth\"}";
  /* the admin token: everything */
  ck_assert_int_eq(status(&p, "POST", "/api/users", ADMIN, user, NULL), 201);
  ck_assert_int_eq(status(&p, "GET", "/api/pods", ADMIN, NULL, NULL), 200);
  int users = count_users();
  /* the read token: GET only */
  char *out = NULL;
  ck_assert_int_eq(status(&p, "GET", "/api/agents", READ, NULL, NULL), 200);
  ck_assert_int_eq(status(&p, "GET", "/api/audit", READ, NULL, NULL), 200);
  ck_assert_int_eq(status(&p, "HEAD", "/api/pods", READ, NULL, NULL), 200);
  const char *writes[][2] = {{"POST", "/api/users"},
                             {"POST", "/api/agents/start/x"},
                             {"DELETE", "/api/agents/x"},
                             {"POST", "/api/nowhere"},
                             {"PUT", "/api/agents"}};
  for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
    ck_assert_int_eq(status(&p, writes[i][0], writes[i][1], READ, user, &out),
                     403);
    ck_assert_msg(strstr(out, "\"error\":") != NULL, "%s", out);
    free(out);
  }
  ck_assert_int_eq(count_users(), users);
  /* nothing valid: 401 */
  const char *bad[] = {NULL, "", "wrong-token-xxxxxxxx", ADMIN "x",
                       "e2e-admin-token-7Qm2Lx9", READ "-"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *head = NULL;
    ck_assert_int_eq(arec_test_http_full(p.port, "GET", "/api/agents", bad[i],
                                         NULL, NULL, &head, &out), 401);
    ck_assert_ptr_nonnull(strstr(out, "missing or wrong bearer token"));
    ck_assert_ptr_nonnull(strstr(head, "WWW-Authenticate: Bearer"));
    free(head);
    free(out);
  }
  ck_assert_int_eq(arec_test_http(p.port, "GET", "/api/agents", NULL,
                                  "Authorization: Basic Zm9vOmJhcg==\r\n",
                                  NULL, NULL), 401);
  /* lower-case scheme is the same scheme */
  char hdr[128];
  snprintf(hdr, sizeof hdr, "Authorization: bearer %s\r\n", ADMIN);
  ck_assert_int_eq(arec_test_http(p.port, "GET", "/api/agents", NULL, hdr,
                                  NULL, NULL), 200);
  /* the probes and /metrics are open */
  ck_assert_int_eq(status(&p, "GET", "/healthz", NULL, NULL, NULL), 200);
  ck_assert_int_eq(status(&p, "GET", "/ready", NULL, NULL, NULL), 200);
  ck_assert_int_eq(status(&p, "GET", "/metrics", NULL, NULL, NULL), 200);
  /* the audit names the actor of each write */
  audit_names(&p, READ, "api:admin");
  ck_assert_int_eq(arec_test_daemon_term(&p, 15000), 0);
  ck_assert(!arec_test_log_has(&p.proc, ADMIN));
  ck_assert(!arec_test_log_has(&p.proc, READ));
  ck_assert(!arec_test_log_has(&p.proc, "wrong-token-xxxxxxxx"));
  arec_test_env_free(&e);
}
END_TEST

START_TEST(auth_none_serves_open) {
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, NULL, &g_redis, "pod-none", arec_test_port());
  arec_test_env_unset(&e, "ADMIN_TOKEN");
  arec_test_env_set(&e, "ADMIN_AUTH=none");
  arec_test_daemon p;
  arec_test_pod_run(&p, "pod-none", &e, 15000);
  ck_assert(arec_test_log_has(&p.proc, "WARN ADMIN_AUTH=none"));
  ck_assert_int_eq(status(&p, "POST", "/api/users", NULL,
                          "{\"id\": 4343, \"name\": \"open\"}", NULL), 201);
  /* any header at all is as good as none */
  ck_assert_int_eq(status(&p, "GET", "/api/agents", "whatever-token-value",
                          NULL, NULL), 200);
  audit_names(&p, NULL, "api:none");
  ck_assert_int_eq(arec_test_daemon_term(&p, 15000), 0);
  arec_test_env_free(&e);
}
END_TEST

AREC_TEST_CASE_MAIN("host_auth", "tokens", 60,
                    arec_test_main(s, &g_pg,
                                   AREC_TEST_MIGRATED | AREC_TEST_PODS,
                                   &g_redis),
                    admin_and_read_tokens, auth_none_serves_open)
