/*
 * test_pg_lock_core.c -- managers with pod leases over the PostgreSQL lock
 * backend (a real PostgreSQL 15; the repository is the memory one, since
 * only the lock is under test): after a simulated kill -9 the other pod
 * takes every agent over within pod lease TTL + reconcile + 1 s although the
 * agent locks' TTL is 30 s; while PostgreSQL is down a pod cannot renew its
 * pod lease and stops every runner before the lease could expire, and after
 * the restart the agents run again, each on exactly one pod.
 */
#include <check.h>
#include <string.h>

#include "agentrecover/pg.h"
#include "support/harness.h"
#include "support/toy_agent.h"
#include "support/runner.h"

static arec_test_pg g_pg;

static arec_manager *pg_manager(arec_memory_store *st, const char *pod,
                                toy_ctl *ctl, int64_t pod_ttl) {
  arec_repository *repo = NULL;
  arec_lock *lock = NULL;
  arec_manager *mgr = NULL;
  arec_pg_options po = AREC_PG_OPTIONS_INIT;
  po.conninfo = g_pg.conninfo;
  po.call_timeout_ms = 400;
  po.connect_timeout_ms = 400;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &po), 0);
  ck_assert_int_eq(arec_pg_lock_new(&lock, pg, NULL), 0);
  arec_pg_free(pg);
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  toy_opts t = toy_quiet(30000, 5000);
  t.reconcile = 200;
  arec_manager_options o = toy_manager_options(pod, &t);
  o.pod_lease_ttl_ms = pod_ttl;
  ck_assert_int_eq(arec_manager_new(&mgr, &o, repo, lock), 0);
  arec_agent_type type = toy_type("toy", ctl);
  ck_assert_int_eq(arec_manager_register_type(mgr, &type), 0);
  return mgr;
}

static void reset_locks(void) {
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "TRUNCATE agent_locks, lock_pods", NULL), 0);
}

START_TEST(kill9_failover_within_pod_lease) {
  reset_locks();
  arec_memory_store *st = NULL;
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  toy_agents(st, "k", 10);
  toy_ctl ca, cb;
  toy_ctl_init(&ca, 20);
  toy_ctl_init(&cb, 20);
  arec_manager *a = pg_manager(st, "pod-a", &ca, 800);
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(a, &r), 0);
  ck_assert_uint_eq(r.restored, 10);
  arec_manager *b = pg_manager(st, "pod-b", &cb, 800);
  ck_assert_int_eq(arec_manager_restore(b, &r), 0);
  ck_assert_uint_eq(r.restored, 0);
  long long t0 = arec_test_now_ms();
  arec_manager_abandon(a);
  arec_manager_free(a); /* its sessions end, like a killed process's */
  WAIT_UNTIL(toy_nrunners(b) == 10, 5000);
  long long took = arec_test_now_ms() - t0;
  ck_assert_uint_eq(toy_nrunners(b), 10);
  ck_assert_msg(took < 800 + 200 + 1000 + 500, "failover took %lld ms", took);
  arec_manager_free(b);
  arec_memory_store_free(st);
}
END_TEST

START_TEST(database_down_stops_runners_then_resumes) {
  reset_locks();
  arec_memory_store *st = NULL;
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  toy_agents(st, "d", 5);
  toy_ctl ca;
  toy_ctl_init(&ca, 20);
  arec_manager *a = pg_manager(st, "pod-a", &ca, 900);
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(a, &r), 0);
  ck_assert_uint_eq(r.restored, 5);
  ck_assert_int_eq(arec_test_pg_halt(&g_pg), 0);
  long long t0 = arec_test_now_ms();
  WAIT_UNTIL(toy_nrunners(a) == 0, 4000);
  long long took = arec_test_now_ms() - t0;
  ck_assert_uint_eq(toy_nrunners(a), 0);
  ck_assert_msg(took < 900 + 700, "runners stopped after %lld ms", took);
  /* the list drops a runner once it is marked; its stop() runs a moment
   * later on its worker */
  WAIT_UNTIL(atomic_load(&ca.stops[AREC_STOP_LOST]) >= 5, 3000);
  ck_assert_int_ge(atomic_load(&ca.stops[AREC_STOP_LOST]), 5);
  ck_assert_int_eq(arec_test_pg_resume(&g_pg), 0);
  WAIT_UNTIL(toy_nrunners(a) == 5, 8000);
  ck_assert_uint_eq(toy_nrunners(a), 5);
  arec_manager_free(a);
  arec_memory_store_free(st);
}
END_TEST

AREC_TEST_CASE_MAIN("pg-lock-core", "pg-pod-lease-manager", 30,
                    arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
                    kill9_failover_within_pod_lease,
                    database_down_stops_runners_then_resumes)
