/*
 * test_core_backoff.c -- agents that cannot start, on memory-backed
 * managers with the store's manual clock: an agent whose type is not
 * registered, whose start() refuses, or whose step fails goes to backoff
 * (fence +2 and one claim per attempt, retried exactly on the doubling
 * schedule, cleared by the first good step); one unreadable row among 30
 * healthy ones does not keep them from starting in the same pass; a pass
 * that cannot list records the error and keeps the gauges; agents report
 * their own last_error.
 *
 * Backoff 100 ms doubling to 400 ms on the store's clock; lock TTL 60 s so
 * that moving the clock never expires the healthy runners' locks; passes
 * are run by hand (reconcile interval 0) so each attempt is one call.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "agentrecover/sys/repository.h"
#include "support/toy_agent.h"
#include "support/runner.h"

#define MIN_MS 100
#define MAX_MS 400

/* What every test works on (a checked fixture, made and freed in the
 * test's own process): a memory store on its manual clock, the toy type's
 * control block (steps of 5 ms), the log captured and, once the test's
 * agents exist, a manager of pod-a. */
static struct {
  arec_memory_store *st;
  toy_ctl c;
  logcap lc;
  arec_manager *m;
} F;

static void setup(void) {
  memset(&F, 0, sizeof F);
  F.st = toy_store_manual(1000000, NULL, 0);
  toy_ctl_init(&F.c, 5);
  logcap_init(&F.lc);
}

static void teardown(void) {
  arec_manager_free(F.m);
  arec_memory_store_free(F.st);
  logcap_free(&F.lc);
}

/* The manager of pod-a over the agents the test has made: lock TTL 60 s,
 * passes by hand, backoff MIN_MS doubling to MAX_MS, debug log. */
static arec_manager *fixture_manager(void) {
  toy_opts o;
  memset(&o, 0, sizeof o);
  o.ttl = 60000;
  o.reconcile = 0;
  o.backoff_min = MIN_MS;
  o.backoff_max = MAX_MS;
  o.log = &F.lc;
  o.level = AREC_LOG_DEBUG;
  F.m = toy_manager(F.st, "pod-a", &F.c, &o);
  return F.m;
}

static arec_restore_result pass(arec_manager *m) {
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_reconcile(m, &r), 0);
  return r;
}

static int64_t wait_of(unsigned int failures) {
  int64_t d = MIN_MS;
  for (unsigned int i = 1; i < failures && d < MAX_MS; i++)
    d *= 2;
  return d < MAX_MS ? d : MAX_MS;
}

/* One failed attempt per wait, exactly on schedule: hidden 1 ms before the
 * wait ends, claimed once (fence + 2) when it has. */
static void failing_schedule(arec_memory_store *st, arec_manager *m,
                             const char *id, unsigned int from,
                             unsigned int to, const char *why) {
  for (unsigned int n = from; n <= to; n++) {
    toy_row a = agent_row(st, id);
    ck_assert_uint_eq(a.start_failures, n - 1);
    uint64_t fence = a.fence;
    if (n > 1) {
      arec_memory_clock_advance(st, wait_of(n - 1) - 1);
      ck_assert_uint_eq(pass(m).total, 0); /* still waiting */
      ck_assert_uint_eq(agent_row(st, id).fence, fence);
      arec_memory_clock_advance(st, 1);
    }
    arec_restore_result r = pass(m);
    ck_assert_uint_eq(r.total, 1);
    ck_assert_uint_eq(r.failed, 1);
    ck_assert_uint_eq(r.restored, 0);
    a = agent_row(st, id);
    ck_assert_uint_eq(a.start_failures, n);
    ck_assert_uint_eq(a.fence, fence + 2); /* claim + release */
    ck_assert_str_eq(a.running_on, "");
    ck_assert_ptr_nonnull(strstr(a.last_error, why));
    ck_assert(lock_free_p(st, id));
  }
}

/* The attempt after `failures` failures, once its wait is over, starts the
 * agent and its first good step clears the failures. */
static void retry_recovers(const char *id, unsigned int failures) {
  arec_memory_clock_advance(F.st, wait_of(failures));
  ck_assert_uint_eq(pass(F.m).restored, 1);
  WAIT_UNTIL(agent_row(F.st, id).start_failures == 0, 3000);
  ck_assert_uint_eq(agent_row(F.st, id).start_failures, 0);
}

/* ------------------------------------------------------ unknown agent type */
START_TEST(unknown_type_backs_off_and_recovers) {
  toy_agent(F.st, "g0", "ghost", NULL, 1);
  arec_manager *m = fixture_manager();
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(m, &r), 0);
  ck_assert_uint_eq(r.failed, 1);
  toy_row a = agent_row(F.st, "g0");
  ck_assert_uint_eq(a.fence, 2);
  ck_assert_str_eq(a.last_error,
                   "no agent type \"ghost\" registered on this pod");
  ck_assert_int_eq(a.is_trading, 1);
  failing_schedule(F.st, m, "g0", 2, 5, "no agent type \"ghost\"");
  ck_assert_int_eq(logcap_count(&F.lc, "agent start failed, backing off"), 5);
  ck_assert(logcap_has(&F.lc, "failures=5 retry_in_ms=400"));
  ck_assert(logcap_has(&F.lc, "failures=1 retry_in_ms=100"));
  pass(m); /* the fleet as the next pass sees it */
  arec_metrics mt = toy_metrics(m);
  ck_assert_uint_eq(mt.agent_start_failures_total, 5);
  ck_assert_uint_eq(mt.agents_restore_failed_total, 5);
  ck_assert_int_eq(mt.agents_backoff, 1);
  ck_assert_int_eq(mt.agents_wanted, 1);
  ck_assert_int_eq(atomic_load(&F.c.start_calls), 0);

  /* the type appears: the next attempt (after the longest wait, MAX_MS)
   * starts it and the first good step clears the failures */
  arec_agent_type ghost = toy_type("ghost", &F.c);
  ck_assert_int_eq(arec_manager_register_type(m, &ghost), 0);
  ck_assert_int_eq(wait_of(5), MAX_MS);
  retry_recovers("g0", 5);
  a = agent_row(F.st, "g0");
  ck_assert_str_eq(a.last_error, "");
  ck_assert_int_eq(a.retry_at_ms, 0);
  ck_assert_str_eq(a.running_on, "pod-a");
  ck_assert_uint_eq(a.fence, 11);
  ck_assert(logcap_has(&F.lc, "agent started after backoff agent_id=g0"));
}
END_TEST

/* --------------------------------------------------------- start() refuses */
START_TEST(start_refusing_backs_off_with_its_reason) {
  toy_agent(F.st, "s0", "toy", NULL, 1);
  toy_agent(F.st, "s1", "toy", NULL, 1);
  snprintf(F.c.fail_id, sizeof F.c.fail_id, "s0");
  snprintf(F.c.fail_text, sizeof F.c.fail_text, "exchange keys rejected");
  atomic_store(&F.c.start_rc, AREC_EBACKEND);
  arec_manager *m = fixture_manager();
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(m, &r), 0);
  ck_assert_uint_eq(r.restored, 1);
  ck_assert_uint_eq(r.failed, 1);
  ck_assert(toy_has_runner(m, "s1"));
  toy_row a = agent_row(F.st, "s0");
  ck_assert_str_eq(a.last_error, "exchange keys rejected");
  ck_assert_uint_eq(a.fence, 2);
  ck_assert(logcap_has(&F.lc, "WARN agent start failed, backing off "
                              "agent_id=s0 error=\"exchange keys rejected\" "
                              "failures=1 retry_in_ms=100"));
  failing_schedule(F.st, m, "s0", 2, 3, "exchange keys rejected");
  ck_assert_int_eq(atomic_load(&F.c.start_calls), 4); /* s1 once, s0 3 times */

  atomic_store(&F.c.start_rc, 0);
  retry_recovers("s0", 3);
  ck_assert_str_eq(agent_row(F.st, "s0").last_error, "");
}
END_TEST

/* ------------------------------------------------------------ step fails */
START_TEST(step_failing_backs_off_and_the_count_grows) {
  toy_agent(F.st, "f0", "toy", NULL, 1);
  snprintf(F.c.fail_text, sizeof F.c.fail_text, "strategy crashed");
  atomic_store(&F.c.step_rc, AREC_EBACKEND);
  arec_manager *m = fixture_manager();
  ck_assert_int_eq(arec_manager_restore(m, NULL), 0);
  /* the start went well, the first step fails: stop (error), backoff */
  WAIT_UNTIL(agent_row(F.st, "f0").start_failures == 1, 3000);
  toy_row a = agent_row(F.st, "f0");
  ck_assert_uint_eq(a.start_failures, 1);
  ck_assert_str_eq(a.last_error, "strategy crashed");
  ck_assert_uint_eq(a.fence, 2);
  WAIT_UNTIL(toy_nrunners(m) == 0 && lock_free_p(F.st, "f0"), 3000);
  ck_assert(lock_free_p(F.st, "f0"));
  ck_assert_int_eq(atomic_load(&F.c.stops[AREC_STOP_ERROR]), 1);
  /* a start that goes well does not reset the count: only a good step */
  for (unsigned int n = 2; n <= 3; n++) {
    arec_memory_clock_advance(F.st, wait_of(n - 1));
    ck_assert_uint_eq(pass(m).restored, 1);
    WAIT_UNTIL(agent_row(F.st, "f0").start_failures == n, 3000);
    a = agent_row(F.st, "f0");
    ck_assert_uint_eq(a.start_failures, n);
    ck_assert_uint_eq(a.fence, 2 * n);
    WAIT_UNTIL(toy_nrunners(m) == 0 && lock_free_p(F.st, "f0"), 3000);
  }
  ck_assert(logcap_has(&F.lc, "failures=3 retry_in_ms=400"));
  atomic_store(&F.c.step_rc, 0);
  retry_recovers("f0", 3);
  ck_assert_str_eq(agent_row(F.st, "f0").running_on, "pod-a");
  ck_assert_int_eq(atomic_load(&F.c.stops[AREC_STOP_ERROR]), 3);
  arec_metrics mt = toy_metrics(m);
  ck_assert_uint_eq(mt.agent_start_failures_total, 3);
}
END_TEST

/* ------------------------------------------- one unreadable row among 30 */
START_TEST(one_poisoned_row_does_not_block_thirty) {
  F.c.delay_ms = 20; /* slower steps for 31 runners */
  toy_agents(F.st, "h", 15);
  toy_agent(F.st, "poison", "toy", NULL, 1);
  toy_agents(F.st, "k", 15);
  ck_assert_int_eq(arec_memory_agent_poison(F.st, "poison", "state unreadable"),
                   0);
  arec_manager *m = fixture_manager();
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(m, &r), 0);
  ck_assert_uint_eq(r.total, 31);
  ck_assert_uint_eq(r.restored, 30);
  ck_assert_uint_eq(r.failed, 1);
  ck_assert_uint_eq(toy_nrunners(m), 30);
  toy_row a = agent_row(F.st, "poison");
  ck_assert_uint_eq(a.start_failures, 1);
  ck_assert_str_eq(a.last_error, "state unreadable");
  ck_assert_uint_eq(a.fence, 2);
  ck_assert_str_eq(a.running_on, "");
  ck_assert(lock_free_p(F.st, "poison"));
  ck_assert_int_eq(atomic_load(&F.c.start_calls), 30); /* never started */
  /* retried on schedule, without touching the others */
  failing_schedule(F.st, m, "poison", 2, 3, "state unreadable");
  ck_assert_uint_eq(toy_nrunners(m), 30);
  ck_assert_int_eq(arec_memory_agent_poison(F.st, "poison", NULL), 0);
  retry_recovers("poison", 3);
  ck_assert_uint_eq(toy_nrunners(m), 31);
}
END_TEST

/* ------------------------------------------------------- a pass cannot list */
START_TEST(pass_that_cannot_list_keeps_the_gauges) {
  toy_agents(F.st, "w", 3);
  arec_manager *m = fixture_manager();
  ck_assert_int_eq(arec_manager_restore(m, NULL), 0);
  arec_metrics mt = toy_metrics(m);
  ck_assert_int_eq(mt.agents_wanted, 3);
  ck_assert_int_eq(mt.pods_live, 1);
  ck_assert_int_eq(mt.agents_target, 3);
  uint64_t passes = mt.reconcile_passes_total;
  arec_memory_fail(F.st, AREC_MEMORY_REPOSITORY, 1, AREC_ETIMEDOUT);
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_reconcile(m, &r), AREC_EUNAVAILABLE);
  ck_assert(logcap_has(&F.lc, "ERROR cannot list agents to restore "
                              "error=ETIMEDOUT detail=\"memory backend: "
                              "injected failure (ETIMEDOUT)\""));
  ck_assert_int_eq(arec_manager_metrics(m, &mt), 0);
  ck_assert_uint_eq(mt.reconcile_errors_total, 1);
  ck_assert_uint_eq(mt.reconcile_passes_total, passes + 1);
  ck_assert_int_eq(mt.agents_wanted, 3); /* kept */
  ck_assert_int_eq(mt.pods_live, 1);
  ck_assert_int_eq(mt.agents_target, 3);
  ck_assert_uint_eq(toy_nrunners(m), 3);
}
END_TEST

/* ------------------------------------------------------- arec_agent_report */
START_TEST(agents_report_their_own_error) {
  toy_agent(F.st, "r0", "toy", NULL, 1);
  arec_manager *m = fixture_manager();
  ck_assert_int_eq(arec_manager_restore(m, NULL), 0);
  snprintf(F.c.fail_text, sizeof F.c.fail_text, "rate limited\nby exchange");
  atomic_store(&F.c.report_in_step, 1);
  WAIT_UNTIL(atomic_load(&F.c.report_done), 3000);
  ck_assert_int_eq(atomic_load(&F.c.report_rc), 0);
  toy_row a = agent_row(F.st, "r0");
  ck_assert_str_eq(a.last_error, "rate limited by exchange"); /* cleaned */
  ck_assert_uint_eq(a.start_failures, 0);
  ck_assert_str_eq(a.running_on, "pod-a"); /* still running */
  ck_assert_int_eq(arec_agent_report(NULL, "x"), AREC_EINVAL);
  /* another pod took it: the report is fenced and the runner stops */
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_memory_repository_new(&repo, F.st), 0);
  uint64_t fence = 0;
  ck_assert_int_eq(repo->claim(repo, "pod-z", "zz", "r0", &fence), 0);
  atomic_store(&F.c.report_done, 0);
  atomic_store(&F.c.report_in_step, 1);
  WAIT_UNTIL(atomic_load(&F.c.report_done), 3000);
  ck_assert_int_eq(atomic_load(&F.c.report_rc), AREC_EFENCED);
  WAIT_UNTIL(atomic_load(&F.c.stops[AREC_STOP_FENCED]) == 1, 3000);
  ck_assert_int_eq(atomic_load(&F.c.stops[AREC_STOP_FENCED]), 1);
  ck_assert_str_eq(agent_row(F.st, "r0").last_error,
                   "rate limited by exchange");
  arec_repository_free(repo);
}
END_TEST

int main(void) {
  const TTest *tests[] = {unknown_type_backs_off_and_recovers,
      start_refusing_backs_off_with_its_reason,
      step_failing_backs_off_and_the_count_grows,
      one_poisoned_row_does_not_block_thirty,
      pass_that_cannot_list_keeps_the_gauges, agents_report_their_own_error,
      NULL};
  Suite *s = suite_create("core_backoff");
  TCase *tc = arec_test_cases(s, "backoff", 30, tests);
  tcase_add_checked_fixture(tc, setup, teardown);
  return arec_test_run(s);
}
