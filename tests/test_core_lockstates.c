/*
 * test_core_lockstates.c -- one test per state an agent's lock can be in
 * (free, held, expired, lost, unreachable), and skip-if-locked
 * across two managers, on the in-memory store.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "agentrecover/sys/lock.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"
#include "support/toy_agent.h"
#include "support/runner.h"

static toy_opts quiet(void) { return toy_quiet(600, 150); }

static void ctl_init(toy_ctl *c) { toy_ctl_init(c, 10); }

/* What every test works on (a checked fixture, made and freed in the
 * test's own process): pod-a's control block (toy steps of 10 ms) and log
 * capture, the store and pod-a's manager once the test has made them (the
 * two-manager tests make their own managers). */
static toy_ctl ctl;
static logcap lc;
static arec_memory_store *st;
static arec_manager *m;

static void setup(void) {
  ctl_init(&ctl);
  logcap_init(&lc);
  st = NULL;
  m = NULL;
}

static void teardown(void) {
  arec_manager_free(m);
  arec_memory_store_free(st);
  logcap_free(&lc);
}

/* quiet() with the log captured in lc from INFO up. */
static toy_opts logged(void) {
  toy_opts o = quiet();
  o.log = &lc;
  o.level = AREC_LOG_INFO;
  return o;
}

/* st: a store with agents a0..a<n-1> that m, pod-a (options o), has
 * restored, every one of them; what the restore did in *rr when rr is not
 * NULL. */
static void restored_pod(int n, const toy_opts *o, arec_restore_result *rr) {
  arec_restore_result r;
  st = toy_store("a", n);
  m = toy_manager(st, "pod-a", &ctl, o);
  ck_assert_int_eq(arec_manager_restore(m, &r), 0);
  ck_assert_uint_eq(r.restored, (unsigned)n);
  if (rr)
    *rr = r;
}

/* Frees m now (its runners stop, handing over) for what a test checks
 * after. */
static void stop_pod(void) {
  arec_manager_free(m);
  m = NULL;
}

/* free: acquire, claim the fence, start. */
START_TEST(lock_free_acquires_claims_starts) {
  toy_opts o = logged();
  arec_restore_result rr;
  restored_pod(1, &o, &rr);
  ck_assert_uint_eq(rr.total, 1);
  ck_assert_uint_eq(rr.skipped, 0);
  ck_assert_uint_eq(rr.failed, 0);
  ck_assert(toy_has_runner(m, "a0"));
  toy_row a = agent_row(st, "a0");
  ck_assert_str_eq(a.running_on, "pod-a");
  ck_assert_str_eq(a.running_incarnation, arec_manager_incarnation(m));
  ck_assert_uint_eq(a.fence, 1);
  char buf[200];
  int64_t ttl;
  ck_assert_int_eq(
      arec_memory_lock_peek(st, "agent:lock:a0", buf, sizeof buf, &ttl), 0);
  ck_assert(strncmp(buf, "pod-a/", 6) == 0);
  ck_assert_uint_eq(strlen(buf), 6 + 32);
  WAIT_UNTIL(atomic_load(&ctl.steps) >= 3, 2000);
  ck_assert_int_ge(atomic_load(&ctl.steps), 3);
  ck_assert(logcap_has(&lc, " INFO ✅ agent restored successfully "
                            "agent_id=a0 symbol=BTC/USDT after=handover\n"));
  arec_metrics mt = toy_metrics(m);
  ck_assert_uint_eq(mt.agents_restored_total, 1);
  ck_assert_uint_eq(mt.agent_lock_acquire_total, 1);
  ck_assert_int_eq(mt.agent_lock_held_total, 1);
  ck_assert_int_eq(mt.agents_running, 1);
  stop_pod();
  ck_assert_int_eq(atomic_load(&ctl.stops[AREC_STOP_HANDOVER]), 1);
  ck_assert(lock_free_p(st, "a0"));
}
END_TEST

/* held: another pod holds the lock -> skip, logged, nothing started. */
START_TEST(lock_held_skips) {
  toy_opts o = logged();
  arec_restore_result rr;
  st = toy_store("a", 2);
  ck_assert_int_eq(arec_memory_lock_force(st, "agent:lock:a1",
                                          "other-pod/0123", 60000),
                   0);
  m = toy_manager(st, "pod-a", &ctl, &o);
  ck_assert_int_eq(arec_manager_restore(m, &rr), 0);
  ck_assert_uint_eq(rr.total, 2);
  ck_assert_uint_eq(rr.restored, 1);
  ck_assert_uint_eq(rr.skipped, 1);
  ck_assert(!toy_has_runner(m, "a1"));
  ck_assert(toy_has_runner(m, "a0"));
  toy_row a = agent_row(st, "a1");
  ck_assert_str_eq(a.running_on, "");
  ck_assert_uint_eq(a.fence, 0);
  ck_assert(logcap_has(&lc, " INFO agent already running in another pod "
                            "(lock held), skipping agent_id=a1\n"));
  ck_assert(logcap_has(&lc, " INFO 🎯 agent restoration complete total=2 "
                            "restored=1 skipped=1 failed=0\n"));
  arec_metrics mt = toy_metrics(m);
  ck_assert_uint_eq(mt.agent_lock_acquire_failed_total, 1);
  stop_pod();
  /* the other pod's lock is untouched */
  ck_assert(!lock_free_p(st, "a1"));
}
END_TEST

/* expired: the holder died and its TTL ran out -> same as free. */
START_TEST(lock_expired_recovers) {
  toy_opts o = quiet();
  arec_restore_result rr;
  st = toy_store_manual(1000000, "a", 1);
  ck_assert_int_eq(
      arec_memory_lock_force(st, "agent:lock:a0", "dead-pod/01", 5000), 0);
  m = toy_manager(st, "pod-a", &ctl, &o);
  ck_assert_int_eq(arec_manager_restore(m, &rr), 0);
  ck_assert_uint_eq(rr.skipped, 1);
  ck_assert(!toy_has_runner(m, "a0"));
  arec_memory_clock_advance(st, 5001);
  ck_assert_int_eq(arec_manager_reconcile(m, &rr), 0);
  ck_assert_uint_eq(rr.total, 1);
  ck_assert_uint_eq(rr.restored, 1);
  ck_assert(toy_has_runner(m, "a0"));
  ck_assert_str_eq(agent_row(st, "a0").running_on, "pod-a");
}
END_TEST

/* lost: a refresh finds another value -> stop now (LOST), count it. */
START_TEST(lock_lost_stops_runner) {
  toy_opts o = quiet();
  restored_pod(1, &o, NULL);
  ck_assert_int_eq(arec_memory_lock_drop(st, "agent:lock:a0"), 0);
  ck_assert_int_eq(
      arec_memory_lock_force(st, "agent:lock:a0", "thief/02", 60000), 0);
  long long t0 = (long long)arec_test_now_ms();
  WAIT_UNTIL(atomic_load(&ctl.stops[AREC_STOP_LOST]) == 1, 3000);
  ck_assert_int_eq(atomic_load(&ctl.stops[AREC_STOP_LOST]), 1);
  /* within about one refresh interval, not a TTL */
  ck_assert_int_lt((long long)arec_test_now_ms() - t0, 550);
  WAIT_UNTIL(toy_nrunners(m) == 0, 1000);
  ck_assert_uint_eq(toy_nrunners(m), 0);
  arec_metrics mt = toy_metrics(m);
  ck_assert_uint_eq(mt.agent_lock_lost_total, 1);
  WAIT_UNTIL((arec_manager_metrics(m, &mt), mt.agents_running == 0), 1000);
  ck_assert_int_eq(mt.agents_running, 0);
  ck_assert_int_eq(mt.agent_lock_held_total, 0);
  /* the thief's lock was not deleted by our release */
  char buf[200];
  int64_t ttl;
  ck_assert_int_eq(
      arec_memory_lock_peek(st, "agent:lock:a0", buf, sizeof buf, &ttl), 0);
  ck_assert_str_eq(buf, "thief/02");
}
END_TEST

/* unreachable: refreshes fail -> keep running until the lease validity
 * ends, then stop (LOST). */
START_TEST(lock_unreachable_runs_until_validity_ends) {
  toy_opts o = quiet();
  restored_pod(1, &o, NULL);
  toy_sleep_ms(200); /* at least one good refresh */
  arec_memory_fail(st, AREC_MEMORY_REFRESH, -1, AREC_EUNAVAILABLE);
  long long t0 = (long long)arec_test_now_ms();
  long steps0 = atomic_load(&ctl.steps);
  toy_sleep_ms(250); /* validity left at t0 is > ttl - refresh - drift */
  ck_assert(toy_has_runner(m, "a0"));
  ck_assert_int_gt(atomic_load(&ctl.steps), steps0);
  WAIT_UNTIL(atomic_load(&ctl.stops[AREC_STOP_LOST]) == 1, 3000);
  long long dt = (long long)arec_test_now_ms() - t0;
  ck_assert_int_eq(atomic_load(&ctl.stops[AREC_STOP_LOST]), 1);
  ck_assert_int_le(dt, 600 + 400); /* validity (<= ttl) plus slack */
  WAIT_UNTIL(toy_nrunners(m) == 0, 1000);
  ck_assert_uint_eq(toy_nrunners(m), 0);
  arec_memory_fail(st, AREC_MEMORY_REFRESH, 0, 0);
  /* released: running_on cleared (is_trading kept), so another pod can
   * take it over at once */
  WAIT_UNTIL(agent_row(st, "a0").running_on[0] == '\0', 1000);
  toy_row a = agent_row(st, "a0");
  ck_assert_str_eq(a.running_on, "");
  ck_assert_int_eq(a.is_trading, 1);
}
END_TEST

/* A refresh that hangs (a lock service too slow to answer: a renewal may
 * wait up to a third of the TTL, longer on a stuck connection) must not
 * keep a runner past its validity: it is stopped (LOST) about a TTL after
 * the last good refresh, long before the hanging call returns. */
START_TEST(lock_refresh_hanging_stops_runner_when_validity_ends) {
  toy_opts o = quiet();
  restored_pod(1, &o, NULL);
  toy_sleep_ms(200); /* at least one good refresh */
  arec_memory_delay(st, AREC_MEMORY_REFRESH, 4000);
  long long t0 = (long long)arec_test_now_ms();
  WAIT_UNTIL(atomic_load(&ctl.stops[AREC_STOP_LOST]) == 1, 6000);
  long long dt = (long long)arec_test_now_ms() - t0;
  ck_assert_int_eq(atomic_load(&ctl.stops[AREC_STOP_LOST]), 1);
  ck_assert_msg(dt <= 600 + 400, "stopped %lld ms after the refreshes hung "
                "(TTL 600 ms, the hanging call lasts 4000 ms)", dt);
  arec_memory_delay(st, AREC_MEMORY_REFRESH, 0);
}
END_TEST

/* restored_pod of n agents, pod-a saving every 40 ms; returns once they
 * have run for 100 ms. */
static void saving_pod(int n) {
  toy_opts o = quiet();
  o.save = 40;
  restored_pod(n, &o, NULL);
  toy_sleep_ms(100);
}

/* the repository refuses saves (unreachable) for longer than the TTL: the
 * runner stops (LOST) and releases, even though its lock refreshes fine. */
START_TEST(saves_failing_longer_than_ttl_stop_runner) {
  saving_pod(1);
  arec_memory_fail(st, AREC_MEMORY_SAVE, -1, AREC_EUNAVAILABLE);
  long long t0 = arec_test_now_ms();
  toy_sleep_ms(300);
  ck_assert(toy_has_runner(m, "a0")); /* not before the TTL */
  WAIT_UNTIL(atomic_load(&ctl.stops[AREC_STOP_LOST]) == 1, 3000);
  ck_assert_int_eq(atomic_load(&ctl.stops[AREC_STOP_LOST]), 1);
  ck_assert_int_ge(arec_test_now_ms() - t0, 600);
  arec_metrics mt = toy_metrics(m);
  ck_assert_uint_gt(mt.agent_save_errors_total, 0);
  arec_memory_fail(st, AREC_MEMORY_SAVE, 0, 0);
  WAIT_UNTIL(lock_free_p(st, "a0"), 2000);
  ck_assert(lock_free_p(st, "a0"));
  ck_assert_str_eq(agent_row(st, "a0").running_on, "");
}
END_TEST

/* A repository that never answers (a blackholed database: the save only
 * returns at its call deadline) must not keep the agent: the runner stops
 * once its due save has waited longer than the TTL, and its lock is freed
 * at once, long before the hanging save returns. */
START_TEST(saves_hanging_longer_than_ttl_stop_runner_and_free_lock) {
  saving_pod(1);
  arec_memory_delay(st, AREC_MEMORY_SAVE, 4000);
  long long t0 = arec_test_now_ms();
  toy_sleep_ms(300);
  ck_assert(toy_has_runner(m, "a0")); /* not before the TTL (600 ms) */
  WAIT_UNTIL(lock_free_p(st, "a0"), 3000);
  long long freed = arec_test_now_ms() - t0;
  ck_assert(lock_free_p(st, "a0"));
  ck_assert_msg(freed >= 600 && freed < 600 + 1000,
                "lock freed after %lld ms (TTL 600 ms)", freed);
  WAIT_UNTIL(atomic_load(&ctl.stops[AREC_STOP_LOST]) == 1, 6000);
  ck_assert_int_eq(atomic_load(&ctl.stops[AREC_STOP_LOST]), 1);
  arec_memory_delay(st, AREC_MEMORY_SAVE, 0);
}
END_TEST

/* The whole repository unreachable (heartbeats and saves fail): the pod
 * cannot record its agents and its pods row expires, so it lets every
 * agent go about a TTL after the last answer, lock first. */
START_TEST(repository_down_longer_than_ttl_stops_every_runner) {
  saving_pod(3);
  arec_memory_fail(st, AREC_MEMORY_REPOSITORY, -1, AREC_EUNAVAILABLE);
  long long t0 = arec_test_now_ms();
  toy_sleep_ms(300);
  ck_assert_int_eq(toy_nrunners(m), 3); /* not before the TTL (600 ms) */
  WAIT_UNTIL(lock_free_p(st, "a0") && lock_free_p(st, "a1") &&
                 lock_free_p(st, "a2"),
             3000);
  long long freed = arec_test_now_ms() - t0;
  ck_assert_msg(freed < 600 + 1000, "locks freed after %lld ms", freed);
  WAIT_UNTIL(atomic_load(&ctl.stops[AREC_STOP_LOST]) == 3, 3000);
  ck_assert_int_eq(atomic_load(&ctl.stops[AREC_STOP_LOST]), 3);
  arec_memory_fail(st, AREC_MEMORY_REPOSITORY, 0, 0);
}
END_TEST

/* skip-if-locked across two managers: the pod row of A looks dead (missed
 * heartbeats) but A still holds the lock -> B skips; and two managers
 * restoring at once never run one agent twice. */
START_TEST(two_managers_skip_if_locked) {
  toy_ctl ca, cb;
  toy_opts o = quiet();
  arec_restore_result ra, rb;
  ctl_init(&ca);
  ctl_init(&cb);
  st = toy_store("a", 3);
  arec_manager *A = toy_manager(st, "pod-a", &ca, &o);
  arec_manager *B = toy_manager(st, "pod-b", &cb, &o);
  ck_assert_int_eq(arec_manager_restore(A, &ra), 0);
  ck_assert_uint_eq(ra.restored, 3);
  ck_assert_int_eq(arec_manager_restore(B, &rb), 0);
  ck_assert_uint_eq(rb.total, 0); /* A is alive: nothing to do */
  ck_assert_int_eq(arec_memory_pod_expire(st, "pod-a"), 0);
  ck_assert_int_eq(arec_manager_reconcile(B, &rb), 0);
  ck_assert_uint_eq(rb.total, 3);
  ck_assert_uint_eq(rb.skipped, 3);
  ck_assert_uint_eq(rb.restored, 0);
  ck_assert_uint_eq(toy_nrunners(B), 0);
  ck_assert_uint_eq(toy_nrunners(A), 3);
  ck_assert_str_eq(agent_row(st, "a0").running_on, "pod-a");
  arec_manager_free(A);
  arec_manager_free(B);
}
END_TEST

typedef struct race_arg {
  arec_manager *m;
  arec_restore_result r;
  int rc;
} race_arg;

static void *race_restore(void *p) {
  race_arg *a = p;
  a->rc = arec_manager_restore(a->m, &a->r);
  return NULL;
}

START_TEST(two_managers_race_run_each_agent_once) {
  toy_ctl ca, cb;
  toy_opts o = quiet();
  ctl_init(&ca);
  ctl_init(&cb);
  st = toy_store("r", 60);
  race_arg a = {toy_manager(st, "pod-a", &ca, &o), {0, 0, 0, 0}, -1};
  race_arg b = {toy_manager(st, "pod-b", &cb, &o), {0, 0, 0, 0}, -1};
  pthread_t ta, tb;
  pthread_create(&ta, NULL, race_restore, &a);
  pthread_create(&tb, NULL, race_restore, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  ck_assert_int_eq(a.rc, 0);
  ck_assert_int_eq(b.rc, 0);
  ck_assert_uint_eq(a.r.restored + b.r.restored, 60);
  ck_assert_uint_eq(toy_nrunners(a.m) + toy_nrunners(b.m), 60);
  for (int i = 0; i < 60; i++) {
    char id[16];
    snprintf(id, sizeof id, "r%d", i);
    ck_assert(toy_has_runner(a.m, id) != toy_has_runner(b.m, id));
    toy_row row = agent_row(st, id);
    ck_assert_str_eq(row.running_on,
                     toy_has_runner(a.m, id) ? "pod-a" : "pod-b");
  }
  ck_assert_int_eq(atomic_load(&ca.starts) + atomic_load(&cb.starts), 60);
  arec_manager_free(a.m);
  arec_manager_free(b.m);
}
END_TEST

int main(void) {
  const TTest *tests_tc[] = {lock_free_acquires_claims_starts, lock_held_skips,
      lock_expired_recovers, lock_lost_stops_runner,
      lock_unreachable_runs_until_validity_ends,
      lock_refresh_hanging_stops_runner_when_validity_ends,
      saves_failing_longer_than_ttl_stop_runner,
      saves_hanging_longer_than_ttl_stop_runner_and_free_lock,
      repository_down_longer_than_ttl_stops_every_runner, NULL};
  const TTest *tests_tc2[] = {two_managers_skip_if_locked,
      two_managers_race_run_each_agent_once, NULL};
  Suite *s = suite_create("core_lock_states");
  TCase *tc = arec_test_cases(s, "lock_state_table", 20, tests_tc);
  tcase_add_checked_fixture(tc, setup, teardown);
  tc = arec_test_cases(s, "two_managers", 20, tests_tc2);
  tcase_add_checked_fixture(tc, setup, teardown);
  return arec_test_run(s);
}
