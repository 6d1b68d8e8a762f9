/*
 * test_main.h -- the main() of a host test binary whose tests all go in
 * one test case: written once here instead of in every binary.
 *
 *     AREC_TEST_CASE_MAIN("host-store", "store", 60,
 *                         arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
 *                         users_accounts_pairs, audit_pages)
 *
 * defines main(): a suite named "host-store" with one case "store" (60 s a
 * test, 0: Check's default) holding the tests in their order, then returns
 * the run expression, in which `s` is that suite (arec_test_run(s),
 * arec_test_main(s, ...), arec_test_pods_main(s, ...)).  It never starts
 * a server itself: the run expression says which.
 */
#ifndef AREC_TESTS_HOST_TEST_MAIN_H
#define AREC_TESTS_HOST_TEST_MAIN_H

#include <check.h>

#include "support/runner.h"

#define AREC_TEST_CASE_MAIN(suite, tcase, timeout_s, run, ...)   \
  int main(void) {                                             \
    const TTest *tests_[] = {__VA_ARGS__, NULL};               \
    Suite *s = suite_create(suite);                            \
    arec_test_cases(s, tcase, timeout_s, tests_);              \
    return run;                                                \
  }

#endif
