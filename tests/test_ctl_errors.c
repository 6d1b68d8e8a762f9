/*
 * test_ctl_errors.c -- build/agentrecoverctl's exit codes against a real
 * build/agentrecoverd pod (test_ctl_fixture.h): exit 1 for 404, 401 (wrong
 * or no token), a refused connection and a server that never answers
 * (after the 30 s total timeout), with the server's message; exit 2 for
 * usage errors and a bad token without a request; the token (right or
 * wrong) never on stdout or stderr; --help and --version.
 */
#include "test_ctl_fixture.h"
#include "support/pods.h"
#include "support/runner.h"

/* ------------------------------------------------------------------ tests */
START_TEST(request_failures_exit_1) {
  fails(1, "GET /api/agents/ctl-nope: HTTP 404: agent not found", NULL, NULL,
        "agent", "ctl-nope", NULL);
  fails(1, "HTTP 401: missing or wrong bearer token", NULL, "wrong-token-77",
        "-v", "pods", NULL);
  fails(1, "HTTP 401", NULL, "", "agents", NULL, NULL);
  char refused[64];
  snprintf(refused, sizeof refused, "http://127.0.0.1:%d", arec_test_free_port());
  fails(1, "Couldn't connect", refused, NULL, "-v", "pods", NULL);
  /* a wrong token is not printed either */
  run r = ctl_env(1, NULL, "wrong-token-77", "-v", "pods", (const char *)NULL);
  ck_assert(!strstr(r.err, "wrong-token-77") && !strstr(r.out, "wrong-token-77"));
  run_free(&r);
  /* the token from a file, none in the environment */
  char tf[128];
  snprintf(tf, sizeof tf, "%s/token", g_dir);
  FILE *f = fopen(tf, "w");
  fputs("  " TOKEN "\n", f);
  fclose(f);
  r = ctl_env(0, NULL, "", "--token-file", tf, "-v", "pods", (const char *)NULL);
  run_free(&r);
}
END_TEST

/* A server that accepts the connection and never answers: the request
 * gives up after the total timeout of 30 s. */
START_TEST(silent_server_times_out_exit_1) {
  int port = 0, fd = arec_test_silent_listener(&port);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  long long t0 = arec_test_now_ms();
  fails(1, "timed out", url, NULL, "pods", NULL, NULL);
  long long took = arec_test_now_ms() - t0;
  ck_assert_msg(took >= 30000 && took < 30000 + 5000, "took %lld ms", took);
  close(fd);
}
END_TEST

static const char *const bad_usage[][5] = {
    {NULL}, {"bogus"}, {"agent"}, {"agent", "a/b"}, {"agent", "../etc"},
    {"agent", "x%2fy"}, {"agent", "start"}, {"agent", "a", "b"},
    {"agent", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    {"start"}, {"stop", "x y"}, {"migrate", "a"}, {"migrate", "a", "bad pod"},
    {"migrate", "a", "p/q"}, {"agents", "--user", "0"},
    {"agents", "--user", "-1"}, {"agents", "--user", "7x"},
    {"agents", "--limit", "0"}, {"agents", "--limit", "1001"},
    {"agents", "--limit"}, {"audit", "--after", "a b"},
    {"audit", "--limit", "x"}, {"pods", "--user", "3"}, {"pods", "--bogus"},
    {"pods", "extra"}, {"--url", "ftp://127.0.0.1/", "pods"},
    {"--url", "http://user:pw@127.0.0.1:1", "pods"},
    {"--url", "not a url", "pods"},
    {"--token-file", "/nonexistent/token", "pods"},
};

/* Usage errors exit 2 before any request: the server is unreachable, so a
 * request would exit 1, and --verbose would show it. */
START_TEST(usage_errors_exit_2) {
  const char *const *a = bad_usage[_i];
  char refused[64];
  snprintf(refused, sizeof refused, "http://127.0.0.1:%d", arec_test_free_port());
  /* the rows end with NULLs: the arguments stop at the first */
  run r = ctl_env(2, refused, NULL, "-v", a[0], a[1], a[2], a[3],
                  (const char *)NULL);
  ck_assert_str_eq(r.out, "");
  ck_assert_ptr_nonnull(strstr(r.err, "agentrecoverctl"));
  ck_assert_ptr_null(strstr(r.err, "> "));
  run_free(&r);
}
END_TEST

START_TEST(bad_token_exits_2_unprinted) {
  fails(2, "AGENTRECOVER_TOKEN contains spaces or control characters", NULL,
        "abc\x1b[31mdef", "pods", NULL, NULL);
  run r = ctl_env(2, NULL, "abc\x1b[31mdef", "pods", (const char *)NULL);
  ck_assert_ptr_null(strstr(r.err, "abc"));
  run_free(&r);
}
END_TEST

START_TEST(help_and_version) {
  run r = ctl(0, "--help");
  const char *words[] = {"Usage: agentrecoverctl", "pods", "agents", "agent ID",
                         "start ID", "stop ID", "migrate ID POD", "audit",
                         "strategies", "--json", "--url", "--token-file"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    ck_assert_msg(strstr(r.out, words[i]) != NULL, "%s", words[i]);
  run_free(&r);
  r = ctl(0, "-h");
  run_free(&r);
  r = ctl(0, "--version");
  ck_assert_msg(!strncmp(r.out, "agentrecoverctl ", 16) &&
                    r.out[16] >= '0' && r.out[16] <= '9', "%s", r.out);
  run_free(&r);
}
END_TEST

/* GET /api/audit: {"events": [{id, time, actor, action, agent_id, user_id,
 * result}], "next": cursor}. */
int main(void) {
  const TTest *tests[] = {request_failures_exit_1, bad_token_exits_2_unprinted,
      help_and_version, silent_server_times_out_exit_1, NULL};
  if (ctl_fixture_start(1) != 0) return EXIT_FAILURE;
  Suite *s = suite_create("ctl_errors");
  TCase *tc = arec_test_cases(s, "exits", 60, tests);
  tcase_add_loop_test(tc, usage_errors_exit_2, 0, AREC_TEST_ROWS(bad_usage));
  return ctl_fixture_run(s);
}
