/*
 * test_core_control.c -- where agents may run and how a user's start is
 * answered, on memory-backed managers: every answer of
 * arec_manager_start_agent() (refused by the type, placement, backoff
 * with the wish kept, a start that ends a backoff wait) and what it does
 * to the wish; capabilities (an agent requiring one is left to a pod
 * offering it, with a note recorded once); a pod with takeover off runs
 * only what is started through it; and with takeover off or the reconcile
 * interval 0, stops, disables, deletes and takeovers issued elsewhere
 * still reach the pod's runners within the stop check interval.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"
#include "support/toy_agent.h"
#include "support/runner.h"

#define STOP_CHECK 100

static toy_opts base_opts(void) {
  toy_opts o;
  memset(&o, 0, sizeof o);
  o.ttl = 3000;
  o.reconcile = 0;
  o.backoff_min = 60000; /* no retry during a test unless a user asks */
  o.backoff_max = 60000;
  return o;
}

static arec_memory_store *store(void) {
  arec_memory_store *st = NULL;
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  return st;
}

/* --------------------------------------------------------- start answers */
START_TEST(start_agent_answers) {
  arec_memory_store *st = store();
  toy_ctl c;
  toy_ctl_init(&c, 5);
  toy_agent(st, "a0", "toy", NULL, 0);
  toy_agent(st, "a1", "toy", NULL, 1);
  toy_agent(st, "g0", "toy", "gpu", 0);
  toy_opts o = base_opts();
  arec_manager *m = toy_manager(st, "pod-a", &c, &o);

  /* start() refuses permanently: the wish goes back, no backoff */
  snprintf(c.fail_text, sizeof c.fail_text, "no funds on the account");
  atomic_store(&c.start_rc, AREC_EBACKEND);
  ck_assert_int_eq(arec_manager_start_agent(m, "a0"), AREC_EREFUSED);
  ck_assert_str_eq(arec_error_last(), "no funds on the account");
  toy_row a = agent_row(st, "a0");
  ck_assert_int_eq(a.is_trading, 0);
  ck_assert_uint_eq(a.start_failures, 0);
  ck_assert_str_eq(a.last_error, "");
  ck_assert_str_eq(a.running_on, "");
  ck_assert_uint_eq(a.fence, 2); /* claim + release */
  ck_assert(lock_free_p(st, "a0"));
  /* an agent that was wanted already stays wanted */
  ck_assert_int_eq(arec_manager_start_agent(m, "a1"), AREC_EREFUSED);
  ck_assert_int_eq(agent_row(st, "a1").is_trading, 1);
  ck_assert_uint_eq(agent_row(st, "a1").start_failures, 0);

  /* refused as "try again later": backoff, the wish is kept */
  snprintf(c.fail_text, sizeof c.fail_text, "exchange unreachable");
  atomic_store(&c.start_rc, AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_manager_start_agent(m, "a0"), AREC_EUNAVAILABLE);
  a = agent_row(st, "a0");
  ck_assert_int_eq(a.is_trading, 1);
  ck_assert_uint_eq(a.start_failures, 1);
  ck_assert_str_eq(a.last_error, "exchange unreachable");
  ck_assert_int_gt(a.retry_at_ms, 0);
  ck_assert(lock_free_p(st, "a0"));
  ck_assert_int_eq(arec_manager_reconcile(m, NULL), 0); /* waits */
  ck_assert(!toy_has_runner(m, "a0"));
  /* a user's start ends the wait; the first good step clears the count */
  atomic_store(&c.start_rc, 0);
  ck_assert_int_eq(arec_manager_start_agent(m, "a0"), 0);
  ck_assert(toy_has_runner(m, "a0"));
  WAIT_UNTIL(agent_row(st, "a0").start_failures == 0, 3000);
  a = agent_row(st, "a0");
  ck_assert_uint_eq(a.start_failures, 0);
  ck_assert_str_eq(a.last_error, "");
  ck_assert_int_eq(a.retry_at_ms, 0);

  /* placement: the wish is recorded, a pod offering gpu will run it */
  ck_assert_int_eq(arec_manager_start_agent(m, "g0"), AREC_EPLACEMENT);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "gpu"));
  a = agent_row(st, "g0");
  ck_assert_int_eq(a.is_trading, 1);
  ck_assert_str_eq(a.last_error, "waiting for a pod offering \"gpu\"");
  ck_assert_uint_eq(a.fence, 0);
  ck_assert(!toy_has_runner(m, "g0"));
  toy_ctl cg;
  toy_ctl_init(&cg, 5);
  toy_opts og = base_opts();
  og.capabilities = "eu, gpu";
  arec_manager *g = toy_manager(st, "pod-g", &cg, &og);
  ck_assert_int_eq(arec_manager_start_agent(g, "g0"), 0);
  WAIT_UNTIL(agent_row(st, "g0").last_error[0] == '\0', 3000);
  ck_assert_str_eq(agent_row(st, "g0").last_error, ""); /* note cleared */
  arec_manager_free(g);
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

/* ------------------------------------------------------------ capabilities */
START_TEST(capabilities_place_agents) {
  arec_memory_store *st = store();
  toy_ctl ca, cb;
  toy_ctl_init(&ca, 5);
  toy_ctl_init(&cb, 5);
  toy_agent(st, "n0", "toy", NULL, 1);
  toy_agent(st, "e0", "toy", "eu", 1);
  toy_agent(st, "g0", "toy", "gpu", 1);
  toy_agent(st, "g1", "toy", "gpu", 1);
  toy_opts oa = base_opts();
  oa.capabilities = "eu";
  arec_manager *A = toy_manager(st, "pod-a", &ca, &oa);
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(A, &r), 0);
  ck_assert_uint_eq(r.total, 4);
  ck_assert_uint_eq(r.restored, 2);
  ck_assert_uint_eq(r.skipped, 2); /* skipped, not failed */
  ck_assert_uint_eq(r.failed, 0);
  ck_assert(toy_has_runner(A, "n0"));
  ck_assert(toy_has_runner(A, "e0"));
  toy_row a = agent_row(st, "g0");
  ck_assert_str_eq(a.last_error, "waiting for a pod offering \"gpu\"");
  ck_assert_uint_eq(a.start_failures, 0);
  ck_assert_uint_eq(a.fence, 0); /* never claimed */
  ck_assert(lock_free_p(st, "g0"));
  /* the note is written once: a note already there is left alone */
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  ck_assert_int_eq(repo->set_error(repo, "g1", 0, "operator note"), 0);
  ck_assert_int_eq(arec_manager_reconcile(A, &r), 0);
  ck_assert_uint_eq(r.skipped, 2);
  ck_assert_str_eq(agent_row(st, "g1").last_error, "operator note");
  arec_metrics mt = toy_metrics(A);
  ck_assert_uint_eq(mt.agent_start_failures_total, 0);
  ck_assert_uint_eq(mt.agents_restore_failed_total, 0);

  /* a pod offering gpu takes them and clears the notes */
  toy_opts ob = base_opts();
  ob.capabilities = "gpu";
  arec_manager *B = toy_manager(st, "pod-b", &cb, &ob);
  ck_assert_int_eq(arec_manager_restore(B, &r), 0);
  ck_assert_uint_eq(r.restored, 2);
  ck_assert(toy_has_runner(B, "g0"));
  ck_assert(toy_has_runner(B, "g1"));
  WAIT_UNTIL(agent_row(st, "g0").last_error[0] == '\0' &&
                 agent_row(st, "g1").last_error[0] == '\0',
             3000);
  ck_assert_str_eq(agent_row(st, "g0").last_error, "");
  ck_assert_str_eq(agent_row(st, "g1").last_error, "");
  ck_assert_str_eq(agent_row(st, "g0").running_on, "pod-b");
  arec_repository_free(repo);
  arec_manager_free(A);
  arec_manager_free(B);
  arec_memory_store_free(st);
}
END_TEST

/* --------------------------------------------------------- remote changes */
/* Stops, disables, deletes and a takeover issued through another pod's
 * repository reach `m`'s runners within the stop check interval. */
static void remote_changes_reach(arec_memory_store *st, arec_manager *m,
                                 toy_ctl *c, const char *prefix) {
  char id[4][32];
  for (int i = 0; i < 4; i++) {
    snprintf(id[i], sizeof id[i], "%s%d", prefix, i);
    ck_assert_int_eq(arec_manager_start_agent(m, id[i]), 0);
  }
  ck_assert_uint_eq(toy_nrunners(m), 4);
  arec_repository *other = NULL;
  ck_assert_int_eq(arec_memory_repository_new(&other, st), 0);
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(arec_agent_set_trading(other, id[0], 0), 0); /* stop */
  ck_assert_int_eq(arec_agent_set_active(other, id[1], 0), 0);  /* disable */
  ck_assert_int_eq(arec_agent_delete(other, id[2]), 0);         /* delete */
  uint64_t f = 0;
  ck_assert_int_eq(other->heartbeat(other, "pod-z", "zz", 60000, 0), 0);
  ck_assert_int_eq(other->claim(other, "pod-z", "zz", id[3], &f), 0);
  /* the bound is the configured interval plus one step and the stop; the
   * runners listing leaves a runner out as soon as it is told to stop,
   * before its stop() ran, so the stops themselves are waited for */
  WAIT_UNTIL(toy_nrunners(m) == 0 &&
                 atomic_load(&c->stops[AREC_STOP_USER]) == 3 &&
                 atomic_load(&c->stops[AREC_STOP_FENCED]) == 1,
             STOP_CHECK + 1000);
  long long took = arec_test_now_ms() - t0;
  ck_assert_uint_eq(toy_nrunners(m), 0);
  ck_assert_int_le(took, STOP_CHECK + 1000);
  ck_assert_int_eq(atomic_load(&c->stops[AREC_STOP_USER]), 3);
  ck_assert_int_eq(atomic_load(&c->stops[AREC_STOP_FENCED]), 1);
  ck_assert_str_eq(agent_row(st, id[0]).running_on, "");
  ck_assert_str_eq(agent_row(st, id[3]).running_on, "pod-z");
  arec_repository_free(other);
}

START_TEST(takeover_off_runs_only_user_starts) {
  arec_memory_store *st = store();
  toy_ctl ca, cb;
  toy_ctl_init(&ca, 5);
  toy_ctl_init(&cb, 5);
  toy_agents(st, "t", 4);
  toy_agents(st, "u", 2);
  toy_opts oa = base_opts();
  oa.no_takeover = 1;
  oa.reconcile = 50; /* passes would run often: they must take nothing */
  oa.stop_check = STOP_CHECK;
  arec_manager *A = toy_manager(st, "pod-a", &ca, &oa);
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(A, &r), 0);
  ck_assert_uint_eq(r.restored, 0);
  toy_sleep_ms(300);
  ck_assert_uint_eq(toy_nrunners(A), 0);
  arec_metrics mt = toy_metrics(A);
  ck_assert_int_eq(mt.agents_wanted, 6); /* the gauges are kept fresh */
  remote_changes_reach(st, A, &ca, "t");
  /* a pod with takeover on takes what A leaves */
  toy_opts ob = base_opts();
  arec_manager *B = toy_manager(st, "pod-b", &cb, &ob);
  ck_assert_int_eq(arec_manager_restore(B, &r), 0);
  ck_assert_uint_eq(r.restored, 2); /* u0, u1 */
  ck_assert_uint_eq(toy_nrunners(A), 0);
  arec_manager_free(B);
  arec_manager_free(A);
  arec_memory_store_free(st);
}
END_TEST

START_TEST(reconcile_off_still_applies_remote_stops) {
  arec_memory_store *st = store();
  toy_ctl c;
  toy_ctl_init(&c, 5);
  toy_agents(st, "r", 4);
  toy_opts o = base_opts();
  o.reconcile = 0;
  o.stop_check = STOP_CHECK;
  arec_manager *m = toy_manager(st, "pod-a", &c, &o);
  /* without restore (no passes at all) and after it (interval 0) */
  remote_changes_reach(st, m, &c, "r");
  ck_assert_int_eq(arec_manager_restore(m, NULL), 0);
  toy_agents(st, "s", 4);
  toy_ctl_init(&c, 5);
  remote_changes_reach(st, m, &c, "s");
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

AREC_TEST_CASE_MAIN("core_control", "control", 30,
                    arec_test_run(s),
                    start_agent_answers, capabilities_place_agents,
                    takeover_off_runs_only_user_starts,
                    reconcile_off_still_applies_remote_stops)
