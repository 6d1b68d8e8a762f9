/*
 * runner.h -- the main() of a Check test binary: its test cases made with
 * their timeout, and its suite run (CK_ENV, fork mode) against the servers
 * it needs, started before the first test and stopped after the last.
 *
 *     const TTest *tests[] = {first_test, second_test, NULL};
 *     Suite *s = suite_create("pg-query");
 *     arec_test_cases(s, "query", 60, tests);
 *     return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL);
 *
 * Every function returns an exit status (EXIT_SUCCESS when every test
 * passed) or, for arec_test_start, 0 / -1 with a message on stderr.
 */
#ifndef AREC_TESTS_RUNNER_H
#define AREC_TESTS_RUNNER_H

#include <check.h>

struct arec_test_pg;
struct arec_test_redis;

/* A test case `name` added to s; timeout_s seconds per test (0: Check's
 * default). */
TCase *arec_test_tcase(Suite *s, const char *name, double timeout_s);

/* arec_test_tcase with the tests of a NULL-ended list added in order. */
TCase *arec_test_cases(Suite *s, const char *name, double timeout_s,
                       const TTest *const *tests);

/* The number of rows of a table (an array), for tcase_add_loop_test over
 * it: _i is the row. */
#define AREC_TEST_ROWS(a) ((int)(sizeof(a) / sizeof *(a)))

/* Runs every test of s and frees the runner: the exit status. */
int arec_test_run(Suite *s);

/* What arec_test_start does besides starting the servers it is given. */
enum {
  AREC_TEST_EMPTY = 0,        /* PostgreSQL with an empty database arec */
  AREC_TEST_LIBRARY = 1 << 0, /* ... the library's migrations applied */
  AREC_TEST_MIGRATED = 1 << 1, /* ... the library's and the host's, as a
                                  deployment has them */
  AREC_TEST_PODS = 1 << 2 /* end to end: agentrecoverd must be built; the
                             pods' log dir made first (so every test's pods
                             share it) and kept when a test failed
                             (daemon.h) */
};

/* Starts PostgreSQL when pg is not NULL (its schema as flags say) and
 * redis-server when r is not NULL. */
int arec_test_start(struct arec_test_pg *pg, unsigned flags,
                    struct arec_test_redis *r);
/* Runs s (arec_test_run), keeps the pods' logs when a test failed
 * (AREC_TEST_PODS), stops the servers: the exit status. */
int arec_test_finish(Suite *s, struct arec_test_pg *pg, unsigned flags,
                     struct arec_test_redis *r);
/* arec_test_start, then arec_test_finish: EXIT_FAILURE when a server did
 * not start. */
int arec_test_main(Suite *s, struct arec_test_pg *pg, unsigned flags,
                   struct arec_test_redis *r);

/* The main() of a binary whose tests all go in one test case:
 *
 *     AREC_TEST_CASE_MAIN("pg-query", "query", 60,
 *                         arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
 *                         first_test, second_test)
 *
 * defines main(): a suite named "pg-query" with one case "query" (60 s a
 * test, 0: Check's default) holding the tests in their order, then returns
 * the run expression, in which `s` is that suite (arec_test_run(s),
 * arec_test_main(s, ...), arec_test_pods_main(s, ...)).  It never starts a
 * server itself: the run expression says which. */
#define AREC_TEST_CASE_MAIN(suite, tcase, timeout_s, run, ...)   \
  int main(void) {                                             \
    const TTest *tests_[] = {__VA_ARGS__, NULL};               \
    Suite *s = suite_create(suite);                            \
    arec_test_cases(s, tcase, timeout_s, tests_);              \
    return run;                                                \
  }

#endif
