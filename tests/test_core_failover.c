/*
 * test_core_failover.c -- what happens to agents when a pod goes away: a
 * crash (simulated kill -9) recovered by the other pod once the TTL passes
 * on the store's fake clock; a graceful shutdown handing agents over in one
 * reconcile pass with no TTL wait; a zombie's save after takeover refused
 * by the fence; a step stuck past the shutdown deadline unable to write.
 */
#include <pthread.h>

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

static toy_opts quiet(void) { return toy_quiet(500, 120); }

static void ctl_init(toy_ctl *c) { toy_ctl_init(c, 5); }

/* What every test works on (a checked fixture, made and freed in the
 * test's own process): the control blocks of pod-a and pod-b (toy steps of
 * 5 ms), a log capture, and the store once the test has made it. */
static toy_ctl ca, cb;
static logcap lc;
static arec_memory_store *st;

static void setup(void) {
  ctl_init(&ca);
  ctl_init(&cb);
  logcap_init(&lc);
  st = NULL;
}

static void teardown(void) {
  arec_memory_store_free(st);
  logcap_free(&lc);
}

/* o with the log captured in lc from INFO up. */
static toy_opts logged(const toy_opts *o) {
  toy_opts l = *o;
  l.log = &lc;
  l.level = AREC_LOG_INFO;
  return l;
}

/* Pod-a on st as o says, after a restore that started all n agents. */
static arec_manager *pod_a_restored(const toy_opts *o, unsigned int n) {
  arec_restore_result r;
  arec_manager *A = toy_manager(st, "pod-a", &ca, o);
  ck_assert_int_eq(arec_manager_restore(A, &r), 0);
  ck_assert_uint_eq(r.restored, n);
  return A;
}

/* pod_a_restored with the steps of agent id blocked: returns once one is
 * stuck in the block. */
static arec_manager *pod_a_blocked(const toy_opts *o, unsigned int n,
                                   const char *id) {
  snprintf(ca.block_id, sizeof ca.block_id, "%s", id);
  atomic_store(&ca.block, 1);
  arec_manager *A = pod_a_restored(o, n);
  WAIT_UNTIL(atomic_load(&ca.in_block), 2000);
  ck_assert_int_eq(atomic_load(&ca.in_block), 1);
  return A;
}

START_TEST(crash_then_restore_after_ttl) {
  toy_opts o = quiet();
  arec_restore_result r;
  st = toy_store_manual(1000000, "c", 5);
  arec_manager *A = pod_a_restored(&o, 5);
  WAIT_UNTIL(atomic_load(&ca.steps) >= 20, 2000);

  arec_manager_abandon(A); /* kill -9 */
  uint64_t calls = arec_memory_calls(st, AREC_MEMORY_REPOSITORY |
                                             AREC_MEMORY_LOCK);
  ck_assert_int_eq(atomic_load(&ca.stops[AREC_STOP_HANDOVER]), 0);
  ck_assert_str_eq(agent_row(st, "c0").running_on, "pod-a");
  ck_assert(!lock_free_p(st, "c0"));

  toy_opts ob = logged(&o);
  arec_manager *B = toy_manager(st, "pod-b", &cb, &ob);
  ck_assert_int_eq(arec_manager_restore(B, &r), 0);
  ck_assert_uint_eq(r.total, 0); /* A's row and locks still live */
  ck_assert_uint_eq(toy_nrunners(B), 0);

  arec_memory_clock_advance(st, 501); /* the TTL passes */
  ck_assert_int_eq(arec_manager_reconcile(B, &r), 0);
  ck_assert_uint_eq(r.total, 5);
  ck_assert_uint_eq(r.restored, 5);
  ck_assert_uint_eq(toy_nrunners(B), 5);
  for (int i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "c%d", i);
    toy_row a = agent_row(st, id);
    ck_assert_str_eq(a.running_on, "pod-b");
    ck_assert_uint_eq(a.fence, 2);
  }
  /* the takeover says it followed a failure: A still owned the agents */
  ck_assert_int_eq(logcap_count(&lc, "✅ agent restored successfully"), 5);
  ck_assert_int_eq(logcap_count(&lc, " after=failure\n"), 5);
  ck_assert(logcap_has(&lc, " INFO ✅ agent restored successfully "
                            "agent_id=c0 symbol=BTC/USDT after=failure\n"));
  /* freeing the killed manager makes no backend call */
  uint64_t calls_b = arec_memory_calls(st, AREC_MEMORY_REPOSITORY |
                                               AREC_MEMORY_LOCK);
  arec_manager_shutdown(B, 0);
  arec_manager_free(B);
  uint64_t calls_after_b = arec_memory_calls(st, AREC_MEMORY_REPOSITORY |
                                                     AREC_MEMORY_LOCK);
  ck_assert_uint_gt(calls_after_b, calls_b);
  arec_manager_free(A);
  ck_assert_uint_eq(arec_memory_calls(st, AREC_MEMORY_REPOSITORY |
                                              AREC_MEMORY_LOCK),
                    calls_after_b);
  ck_assert_uint_ge(calls_b, calls);
  ck_assert_int_eq(atomic_load(&ca.stops[AREC_STOP_LOST]), 5); /* state freed */
  ck_assert_int_eq(atomic_load(&cb.stops[AREC_STOP_HANDOVER]), 5);
}
END_TEST

START_TEST(graceful_shutdown_hands_over_without_ttl_wait) {
  toy_opts o = quiet();
  arec_restore_result r;
  o.ttl = 60000; /* a TTL wait would be obvious */
  o.refresh = 20000;
  o.save = 50;
  st = toy_store("g", 5);
  toy_opts ob = logged(&o);
  arec_manager *A = toy_manager(st, "pod-a", &ca, &o);
  arec_manager *B = toy_manager(st, "pod-b", &cb, &ob);
  ck_assert_int_eq(arec_manager_restore(A, &r), 0);
  ck_assert_uint_eq(r.restored, 5);
  ck_assert_int_eq(arec_manager_restore(B, &r), 0);
  ck_assert_uint_eq(r.restored, 0);
  WAIT_UNTIL(atomic_load(&ca.steps) >= 50, 3000);

  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(arec_manager_shutdown(A, 5000), 0);
  ck_assert_int_eq(atomic_load(&ca.stops[AREC_STOP_HANDOVER]), 5);
  ck_assert_int_eq(arec_memory_pod_alive(st, "pod-a"), 0);
  arec_metrics mt = toy_metrics(A);
  ck_assert_int_eq(mt.agents_saved_on_shutdown, 5);
  ck_assert(mt.shutdown_duration_seconds > 0);
  ck_assert_int_eq(mt.agents_running, 0);
  ck_assert_int_eq(mt.agent_lock_held_total, 0);
  long final_n = 0;
  for (int i = 0; i < 5; i++) {
    char id[16], *mem = NULL;
    snprintf(id, sizeof id, "g%d", i);
    toy_row a = agent_row(st, id);
    ck_assert_int_eq(a.is_trading, 1); /* the wish is kept */
    ck_assert_str_eq(a.running_on, "");
    ck_assert(lock_free_p(st, id));
    ck_assert_int_eq(
        arec_memory_state_get(st, id, "BTC/USDT", NULL, &mem, NULL), 0);
    long n = 0;
    ck_assert_int_eq(sscanf(mem, "{\"n\":%ld}", &n), 1);
    ck_assert_int_gt(n, 0); /* final state saved */
    if (n > final_n)
      final_n = n;
    arec_free(mem);
  }
  /* late calls are refused */
  ck_assert_int_eq(arec_manager_start_agent(A, "g0"), AREC_ESHUTDOWN);
  ck_assert_int_eq(arec_manager_shutdown(A, 0), 0); /* idempotent */

  ck_assert_int_eq(arec_manager_reconcile(B, &r), 0);
  ck_assert_uint_eq(r.restored, 5);
  ck_assert_int_lt(arec_test_now_ms() - t0, 5000);
  ck_assert_uint_eq(toy_nrunners(B), 5);
  /* the memory carried over */
  ck_assert_int_eq(atomic_load(&cb.max_n_at_start), final_n);
  /* a graceful handover, not a failure: nobody owned the agents */
  ck_assert_int_eq(logcap_count(&lc, "✅ agent restored successfully"), 5);
  ck_assert_int_eq(logcap_count(&lc, " after=handover\n"), 5);
  ck_assert_int_eq(logcap_count(&lc, "after=failure"), 0);
  arec_manager_free(A);
  arec_manager_free(B);
}
END_TEST

/* A pod cut off from its repository frees its locks at shutdown before the
 * fenced releases that wait for the repository: with every repository call
 * hanging D ms, the locks are free after the leaving mark's and the final
 * save's 2 D, not after those and the releases' 3 D. */
typedef struct sd_arg {
  arec_manager *mgr;
} sd_arg;

static void *shutdown_thread(void *p) {
  sd_arg *a = p;
  arec_manager_shutdown(a->mgr, 1000);
  return NULL;
}

START_TEST(shutdown_frees_locks_before_waiting_on_repository) {
  toy_opts o = quiet();
  const int64_t D = 2000;
  o.ttl = 60000;
  o.refresh = 20000;
  st = toy_store("d", 3);
  arec_manager *A = pod_a_restored(&o, 3);
  WAIT_UNTIL(atomic_load(&ca.steps) >= 10, 3000);
  arec_memory_delay(st, AREC_MEMORY_REPOSITORY, D);
  sd_arg arg = {A};
  pthread_t th;
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(pthread_create(&th, NULL, shutdown_thread, &arg), 0);
  int freed = 0;
  while (!freed && arec_test_now_ms() - t0 < 4 * D) {
    freed = lock_free_p(st, "d0") && lock_free_p(st, "d1") &&
            lock_free_p(st, "d2");
    if (!freed)
      toy_sleep_ms(20);
  }
  long long took = arec_test_now_ms() - t0;
  pthread_join(th, NULL);
  arec_memory_delay(st, AREC_MEMORY_REPOSITORY, 0);
  ck_assert_msg(freed, "locks still held after %lld ms", took);
  ck_assert_msg(took < 2 * D + D / 2, "locks freed after %lld ms, not before "
                "the fenced releases (one repository delay is %lld ms)",
                took, (long long)D);
  arec_manager_free(A);
}
END_TEST

START_TEST(zombie_save_after_takeover_is_fenced) {
  toy_opts o = quiet();
  arec_restore_result r;
  o.ttl = 20000; /* the zombie's refresher must not notice first */
  o.refresh = 15000;
  o.save = 60000;
  st = toy_store("z", 1);
  arec_manager *A = pod_a_restored(&o, 1);

  /* A pauses (GC, partition): its row and lock look dead; B takes over */
  ck_assert_int_eq(arec_memory_pod_expire(st, "pod-a"), 0);
  ck_assert_int_eq(arec_memory_lock_drop(st, "agent:lock:z0"), 0);
  arec_manager *B = toy_manager(st, "pod-b", &cb, &o);
  ck_assert_int_eq(arec_manager_restore(B, &r), 0);
  ck_assert_uint_eq(r.restored, 1);
  ck_assert_uint_eq(agent_row(st, "z0").fence, 2);
  double bal0;
  uint64_t f0;
  char *mem0 = NULL;
  ck_assert_int_eq(
      arec_memory_state_get(st, "z0", "BTC/USDT", &bal0, &mem0, &f0), 0);

  /* the zombie wakes up and writes */
  snprintf(ca.save_id, sizeof ca.save_id, "z0");
  atomic_store(&ca.save_in_step, 1);
  WAIT_UNTIL(atomic_load(&ca.save_done), 3000);
  ck_assert_int_eq(atomic_load(&ca.save_done), 1);
  ck_assert_int_eq(atomic_load(&ca.save_rc), AREC_EFENCED);
  WAIT_UNTIL(atomic_load(&ca.stops[AREC_STOP_FENCED]) == 1, 3000);
  ck_assert_int_eq(atomic_load(&ca.stops[AREC_STOP_FENCED]), 1);
  ck_assert(!toy_has_runner(A, "z0"));
  arec_metrics mt = toy_metrics(A);
  ck_assert_uint_eq(mt.agent_fenced_writes_total, 1); /* no final save */

  double bal1;
  uint64_t f1;
  char *mem1 = NULL;
  ck_assert_int_eq(
      arec_memory_state_get(st, "z0", "BTC/USDT", &bal1, &mem1, &f1), 0);
  ck_assert(bal1 == bal0);
  ck_assert_uint_eq(f1, f0);
  ck_assert_str_eq(mem1, mem0);
  /* B still owns it, its lock untouched by the zombie's release */
  toy_row a = agent_row(st, "z0");
  ck_assert_str_eq(a.running_on, "pod-b");
  ck_assert_uint_eq(a.fence, 2);
  ck_assert(!lock_free_p(st, "z0"));
  ck_assert(toy_has_runner(B, "z0"));
  arec_free(mem0);
  arec_free(mem1);
  arec_manager_free(A);
  arec_manager_free(B);
}
END_TEST

START_TEST(stuck_step_past_shutdown_deadline_cannot_write) {
  toy_opts o = quiet();
  arec_restore_result r;
  o.save = 60000;
  st = toy_store("s", 2);
  arec_manager *A = pod_a_blocked(&o, 2, "s0");
  double bal0;
  uint64_t f0;
  ck_assert_int_eq(
      arec_memory_state_get(st, "s0", "BTC/USDT", &bal0, NULL, &f0), 0);

  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(arec_manager_shutdown(A, 300), AREC_ETIMEDOUT);
  long long dt = arec_test_now_ms() - t0;
  ck_assert_int_ge(dt, 290);
  ck_assert_int_lt(dt, 2000);
  /* released anyway: fence bumped, lock free, row cleared */
  toy_row a = agent_row(st, "s0");
  ck_assert_str_eq(a.running_on, "");
  ck_assert_uint_eq(a.fence, 2);
  ck_assert(lock_free_p(st, "s0"));
  ck_assert_int_eq(atomic_load(&ca.stops[AREC_STOP_HANDOVER]), 1); /* s1 */

  /* another pod takes it at once */
  arec_manager *B = toy_manager(st, "pod-b", &cb, &o);
  ck_assert_int_eq(arec_manager_restore(B, &r), 0);
  ck_assert_uint_eq(r.restored, 2);

  /* the stuck step wakes up and tries to write */
  snprintf(ca.save_id, sizeof ca.save_id, "s0");
  atomic_store(&ca.save_in_step, 1);
  atomic_store(&ca.block, 0);
  WAIT_UNTIL(atomic_load(&ca.save_done), 3000);
  ck_assert_int_eq(atomic_load(&ca.save_rc), AREC_EFENCED);
  double bal1;
  uint64_t f1;
  ck_assert_int_eq(
      arec_memory_state_get(st, "s0", "BTC/USDT", &bal1, NULL, &f1), 0);
  ck_assert(bal1 < bal0 + 1000); /* the zombie's +1000 never landed */
  arec_manager_free(A);          /* joins the late worker */
  ck_assert_int_eq(atomic_load(&ca.stops[AREC_STOP_HANDOVER]), 2);
  ck_assert_str_eq(agent_row(st, "s0").running_on, "pod-b");
  arec_manager_free(B);
}
END_TEST

/* A second SIGTERM: arec_manager_shutdown_hurry() from another thread makes
 * a shutdown that waits for a stuck step (20 s budget) release what it can
 * now. */
typedef struct shut_arg {
  arec_manager *m;
  atomic_int rc, done;
} shut_arg;

static void *shut_main(void *p) {
  shut_arg *a = p;
  atomic_store(&a->rc, arec_manager_shutdown(a->m, 20000));
  atomic_store(&a->done, 1);
  return NULL;
}

START_TEST(shutdown_hurry_releases_without_waiting_for_steps) {
  toy_opts o = quiet();
  o.save = 60000;
  st = toy_store("h", 2);
  arec_manager *A = pod_a_blocked(&o, 2, "h0");
  shut_arg sa = {A, 0, 0};
  pthread_t th;
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(pthread_create(&th, NULL, shut_main, &sa), 0);
  toy_sleep_ms(200);
  ck_assert_int_eq(atomic_load(&sa.done), 0); /* waiting for the step */
  arec_manager_shutdown_hurry(A);
  WAIT_UNTIL(atomic_load(&sa.done), 3000);
  pthread_join(th, NULL);
  ck_assert_int_eq(atomic_load(&sa.rc), AREC_ETIMEDOUT);
  ck_assert_int_lt(arec_test_now_ms() - t0, 3000);
  ck_assert(lock_free_p(st, "h0"));
  ck_assert(lock_free_p(st, "h1"));
  ck_assert_str_eq(agent_row(st, "h0").running_on, "");
  atomic_store(&ca.block, 0);
  arec_manager_free(A);
}
END_TEST

int main(void) {
  const TTest *tests[] = {crash_then_restore_after_ttl,
      graceful_shutdown_hands_over_without_ttl_wait,
      shutdown_frees_locks_before_waiting_on_repository,
      zombie_save_after_takeover_is_fenced,
      stuck_step_past_shutdown_deadline_cannot_write,
      shutdown_hurry_releases_without_waiting_for_steps, NULL};
  Suite *s = suite_create("core_failover");
  TCase *tc = arec_test_cases(s, "failover", 20, tests);
  tcase_add_checked_fixture(tc, setup, teardown);
  return arec_test_run(s);
}
