/*
 * test_example_embedding.c -- examples/embedding.c, the program that
 * docs/embedding.md walks through, runs against a real PostgreSQL and a
 * real redis-server: the first run creates, starts and runs its agent and
 * shuts down cleanly; a second run (another pod name) takes the agent over
 * and continues from the memory the first one saved.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/runner.h"

static arec_test_pg g_pg;
static arec_test_redis g_redis;

/* Runs the example; returns its exit status, *out its stdout (malloc'd). */
static int run_example(const char *pod, char **out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "build/examples/embedding '%s' 127.0.0.1:%d %s 2 2>/dev/null",
           g_pg.conninfo, g_redis.port, pod);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  size_t cap = 4096, n = 0;
  char *buf = calloc(1, cap);
  size_t k;
  while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
    n += k;
    if (n + 1 >= cap) {
      cap *= 2;
      buf = realloc(buf, cap);
    }
  }
  buf[n] = 0;
  *out = buf;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long ticks_of(const char *out) {
  const char *p = strstr(out, "\"ticks\": ");
  return p ? strtol(p + 9, NULL, 10) : -1;
}

START_TEST(runs_then_continues_on_another_pod) {
  char *first = NULL, *second = NULL;
  ck_assert_int_eq(run_example("pod-a", &first), 0);
  ck_assert_msg(strstr(first, "start: running here"), "%s", first);
  ck_assert_msg(strstr(first, "running_on=pod-a"), "%s", first);
  ck_assert_msg(strstr(first, "shutdown: clean"), "%s", first);
  long t1 = ticks_of(first);
  ck_assert_int_gt(t1, 0);
  /* the agent was left wanted; the second pod restores it and continues */
  ck_assert_int_eq(run_example("pod-b", &second), 0);
  ck_assert_msg(strstr(second, "running_on=pod-b"), "%s", second);
  long t2 = ticks_of(second);
  ck_assert_msg(t2 > t1, "ticks %ld after %ld: the count did not continue",
                t2, t1);
  free(first);
  free(second);
}
END_TEST

AREC_TEST_CASE_MAIN("example_embedding", "pg_and_redis", 60,
                    arec_test_main(s, &g_pg, AREC_TEST_EMPTY, &g_redis),
                    runs_then_continues_on_another_pod)
