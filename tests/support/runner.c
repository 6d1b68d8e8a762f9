/*
 * runner.c -- the main() of a Check test binary (runner.h).
 *
 * How: the servers are started in the process that runs the suite, before
 * srunner_run_all, so that every forked test child finds them; they are
 * stopped by the same process after the last test (the harness would stop
 * them at exit anyway).
 *
 * Never: run a test twice, or start a server from a test child.
 */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
#include "harness.h"

TCase *arec_test_tcase(Suite *s, const char *name, double timeout_s) {
  TCase *tc = tcase_create(name);
  if (timeout_s > 0) tcase_set_timeout(tc, timeout_s);
  suite_add_tcase(s, tc);
  return tc;
}

TCase *arec_test_cases(Suite *s, const char *name, double timeout_s,
                       const TTest *const *tests) {
  TCase *tc = arec_test_tcase(s, name, timeout_s);
  for (; *tests; tests++) tcase_add_test(tc, *tests);
  return tc;
}

int arec_test_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int arec_test_start(arec_test_pg *pg, unsigned flags, arec_test_redis *r) {
  if (flags & AREC_TEST_PODS) {
    if (access(arec_test_daemon_path(), X_OK) != 0) {
      fprintf(stderr, "%s not built\n", arec_test_daemon_path());
      return -1;
    }
    arec_test_logdir();
  }
  if (pg) {
    if (arec_test_pg_start(pg) != 0) return -1;
    if ((flags & AREC_TEST_MIGRATED) &&
        arec_test_pg_migrate(pg, "arec", 1) != 0)
      return -1;
    if ((flags & AREC_TEST_LIBRARY) && !(flags & AREC_TEST_MIGRATED) &&
        arec_test_pg_migrate(pg, "arec", 0) != 0)
      return -1;
  }
  if (r && arec_test_redis_start(r) != 0) return -1;
  return 0;
}

int arec_test_finish(Suite *s, arec_test_pg *pg, unsigned flags,
                     arec_test_redis *r) {
  int rc = arec_test_run(s);
  if (rc != EXIT_SUCCESS && (flags & AREC_TEST_PODS)) arec_test_keep_logs();
  if (r) arec_test_redis_stop(r);
  if (pg) arec_test_pg_stop(pg);
  return rc;
}

int arec_test_main(Suite *s, arec_test_pg *pg, unsigned flags,
                   arec_test_redis *r) {
  if (arec_test_start(pg, flags, r) != 0) return EXIT_FAILURE;
  return arec_test_finish(s, pg, flags, r);
}
