/*
 * test_core_scale.c -- 10,000 toy agents on a handful of worker threads:
 * all restored in one pass, all stepping, their saves coalesced (far fewer
 * saves than steps), and one graceful shutdown stops, saves and releases
 * every one of them (no lock held, running_on cleared, is_trading kept).
 * And two pods on the same lock service take turns to renew their locks:
 * each at its own place in the interval, never in the same moment; a pod's
 * reconcile passes begin between the turns.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "agentrecover/sys/lock.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"
#include "support/toy_agent.h"
#include "support/runner.h"

#define NAGENTS 10000

START_TEST(ten_thousand_agents_on_few_workers) {
  arec_memory_store *st;
  toy_ctl c;
  toy_opts o = toy_quiet(30000, 10000);
  arec_restore_result r;
  toy_ctl_init(&c, 150);
  o.save = 300;
  o.workers = 8;
  o.shutdown = 20000;
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  toy_agents(st, "agent-", NAGENTS);
  arec_manager *m = toy_manager(st, "pod-a", &c, &o);

  ck_assert_int_eq(arec_manager_restore(m, &r), 0);
  ck_assert_uint_eq(r.total, NAGENTS);
  ck_assert_uint_eq(r.restored, NAGENTS);
  ck_assert_uint_eq(toy_nrunners(m), NAGENTS);

  toy_sleep_ms(1200);
  arec_metrics mt = toy_metrics(m);
  ck_assert_int_eq(mt.agents_running, NAGENTS);
  ck_assert_int_eq(mt.agent_lock_held_total, NAGENTS);
  /* every agent stepped more than once */
  ck_assert_uint_ge(mt.agent_steps_total, 2 * NAGENTS);
  /* saves coalesced: each agent's state changes every step, yet it is
   * written at most once per save interval */
  ck_assert_uint_gt(mt.agent_saves_total, 0);
  ck_assert_uint_lt(mt.agent_saves_total * 2, mt.agent_steps_total);
  /* one agent's history: fewer writes than steps */
  size_t hist = 0;
  uint64_t fences[4];
  ck_assert_int_eq(
      arec_memory_history(st, "agent-7", "BTC/USDT", fences, 4, &hist), 0);
  arec_runner_info *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_manager_runners(m, &v, &n), 0);
  ck_assert_uint_eq(n, NAGENTS);
  ck_assert_str_eq(v[0].agent_id, "agent-0"); /* sorted */
  uint64_t steps7 = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(v[i].agent_id, "agent-7") == 0)
      steps7 = v[i].steps;
    /* each record's own strings and figures (copied in one block) */
    ck_assert_str_eq(v[i].strategy, "toy");
    ck_assert(i == 0 || strcmp(v[i - 1].agent_id, v[i].agent_id) < 0);
    ck_assert_uint_gt(v[i].fence, 0);
    ck_assert_int_gt(v[i].validity_ms, 0);
    ck_assert_int_le(v[i].validity_ms, o.ttl);
    ck_assert_int_gt(v[i].started_at_ms, 0);
  }
  arec_runner_info_free(v, n);
  ck_assert_uint_lt(hist, steps7 + 1);

  ck_assert_int_eq(arec_manager_shutdown(m, 0), 0);
  ck_assert_int_eq(atomic_load(&c.stops[AREC_STOP_HANDOVER]), NAGENTS);
  ck_assert_int_eq(arec_manager_metrics(m, &mt), 0);
  ck_assert_int_eq(mt.agents_saved_on_shutdown, NAGENTS);
  ck_assert_int_eq(mt.agents_running, 0);
  ck_assert_int_eq(mt.agent_lock_held_total, 0);
  for (int i = 0; i < NAGENTS; i++) {
    char id[32];
    snprintf(id, sizeof id, "agent-%d", i);
    toy_row a = agent_row(st, id);
    ck_assert_str_eq(a.running_on, "");
    ck_assert_int_eq(a.is_trading, 1);
    ck_assert(lock_free_p(st, id));
  }
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

/* ------------------------------------------------------ refresh turns */
#define TURN_AGENTS 2000
#define TURN_REFRESH 2000
#define TURN_CALLS 5
#define NOTED_MAX 64

typedef int (*refresh_many_fn)(arec_lock *, const char *const *,
                               arec_lease *, size_t, int64_t, int *);
/* per pod: its lock, the memory lock's own refresh_many, and when (wall
 * clock and monotonic ms) each of its first NOTED_MAX cycles called it */
static struct noted {
  arec_lock *lock;
  refresh_many_fn inner;
  int64_t wall[NOTED_MAX], mono[NOTED_MAX];
  atomic_int n;
} noted[2];

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int noted_refresh_many(arec_lock *l, const char *const *keys,
                              arec_lease *leases, size_t n, int64_t ttl,
                              int *res) {
  struct noted *t = noted[0].lock == l ? &noted[0] : &noted[1];
  int i = atomic_fetch_add(&t->n, 1);
  if (i < NOTED_MAX) {
    t->wall[i] = wall_ms();
    t->mono[i] = arec_test_now_ms();
  }
  return t->inner(l, keys, leases, n, ttl, res);
}

/* A manager of pod on st (repo: made here when NULL) whose lock notes its
 * refresh cycles in noted[i]; the toy type registered for c. */
static arec_manager *noted_manager(arec_memory_store *st, int i,
                                   const arec_manager_options *opts,
                                   arec_repository *repo, toy_ctl *c) {
  arec_manager *m = NULL;
  if (!repo)
    ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&noted[i].lock, st), 0);
  noted[i].inner = noted[i].lock->refresh_many;
  ck_assert_ptr_nonnull(noted[i].inner);
  noted[i].lock->refresh_many = noted_refresh_many;
  ck_assert_int_eq(arec_manager_new(&m, opts, repo, noted[i].lock), 0);
  arec_agent_type type = toy_type("toy", c);
  ck_assert_int_eq(arec_manager_register_type(m, &type), 0);
  return m;
}

START_TEST(two_pods_take_turns_to_refresh) {
  static const char *const names[2] = {"pod-a", "pod-b"};
  arec_memory_store *st;
  arec_manager *m[2];
  toy_ctl c;
  toy_opts o = toy_quiet(4 * TURN_REFRESH, TURN_REFRESH);
  arec_restore_result r;
  toy_ctl_init(&c, 1000);
  o.shutdown = 20000;
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  toy_agents(st, "agent-", TURN_AGENTS);
  for (int i = 0; i < 2; i++) {
    arec_manager_options opts = toy_manager_options(names[i], &o);
    opts.fair_share = 1;
    m[i] = noted_manager(st, i, &opts, NULL, &c);
  }
  /* both pods live before either pass: each takes its fair half */
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(arec_manager_restore(m[i], &r), 0);
    ck_assert_uint_eq(r.restored, TURN_AGENTS / 2);
  }
  for (int64_t t0 = wall_ms(); atomic_load(&noted[0].n) < TURN_CALLS ||
                               atomic_load(&noted[1].n) < TURN_CALLS;
       toy_sleep_ms(10))
    ck_assert_msg(wall_ms() - t0 < (TURN_CALLS + 2) * TURN_REFRESH,
                  "refresh cycles: %d and %d", atomic_load(&noted[0].n),
                  atomic_load(&noted[1].n));
  for (int i = 0; i < 2; i++) {
    /* pod i of 2 renews i/2 of an interval past each multiple of it (on
     * the wall clock), from its third cycle on: the first comes at a
     * random moment, the second moves at most half an interval earlier */
    int64_t place = TURN_REFRESH * i / 2;
    for (int k = 2; k < TURN_CALLS; k++) {
      int64_t d = ((noted[i].wall[k] - place) % TURN_REFRESH + TURN_REFRESH) %
                  TURN_REFRESH;
      ck_assert_msg(d < 150 || d >= TURN_REFRESH - TURN_REFRESH / 32 - 5,
                    "%s cycle %d at %lld ms past its place", names[i], k,
                    (long long)d);
    }
    /* never more than an interval apart (the wait may overshoot a
     * little), never less than half of one */
    for (int k = 1; k < TURN_CALLS; k++) {
      int64_t gap = noted[i].wall[k] - noted[i].wall[k - 1];
      ck_assert_int_le(gap, TURN_REFRESH + 200);
      ck_assert_int_ge(gap, TURN_REFRESH / 2 - 20);
    }
    arec_metrics mt = toy_metrics(m[i]);
    ck_assert_int_eq(mt.agent_lock_held_total, TURN_AGENTS / 2);
    ck_assert_int_eq(mt.agent_lock_lost_total, 0);
  }
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(arec_manager_shutdown(m[i], 0), 0);
    arec_manager_free(m[i]);
  }
  arec_memory_store_free(st);
}
END_TEST

/* ------------------------------------------------ passes between turns */
#define GAP_REFRESH 400
#define GAP_RECONCILE 1000
#define GAP_PASSES 6

static int (*inner_to_restore)(arec_repository *, const char *,
                               struct arec_agent_list **);
static int64_t pass_at[GAP_PASSES];
static atomic_int npasses;

static int noted_to_restore(arec_repository *repo, const char *only,
                            struct arec_agent_list **out) {
  int i = atomic_fetch_add(&npasses, 1);
  if (i < GAP_PASSES)
    pass_at[i] = arec_test_now_ms();
  return inner_to_restore(repo, only, out);
}

START_TEST(passes_begin_between_refresh_turns) {
  arec_memory_store *st;
  arec_repository *repo = NULL;
  toy_ctl c;
  toy_opts o = toy_quiet(4 * GAP_REFRESH, GAP_REFRESH);
  arec_restore_result r;
  toy_ctl_init(&c, 1000);
  o.reconcile = GAP_RECONCILE;
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  toy_agents(st, "agent-", 100);
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  inner_to_restore = repo->agents_to_restore;
  repo->agents_to_restore = noted_to_restore;
  arec_manager_options opts = toy_manager_options("pod-a", &o);
  arec_manager *m = noted_manager(st, 0, &opts, repo, &c);
  ck_assert_int_eq(arec_manager_restore(m, &r), 0);
  ck_assert_uint_eq(r.restored, 100);
  for (int64_t t0 = arec_test_now_ms(); atomic_load(&npasses) < GAP_PASSES;
       toy_sleep_ms(10))
    ck_assert_msg(arec_test_now_ms() - t0 < (GAP_PASSES + 1) * GAP_RECONCILE,
                  "only %d passes", atomic_load(&npasses));
  ck_assert_int_eq(arec_manager_shutdown(m, 0), 0);
  /* one pod: a turn is the whole refresh interval.  Every pass from the
   * second after the restore's on (the first is set before any cycle ran)
   * begins a quarter of a turn after the cycle before it (the wait may
   * overshoot a little), and none waits longer than the reconcile
   * interval */
  int nc = atomic_load(&noted[0].n);
  if (nc > NOTED_MAX)
    nc = NOTED_MAX;
  for (int i = 2; i < GAP_PASSES; i++) {
    int64_t last = -1;
    for (int k = 0; k < nc; k++)
      if (noted[0].mono[k] <= pass_at[i])
        last = noted[0].mono[k];
    ck_assert_msg(last >= 0, "pass %d before any refresh cycle", i);
    int64_t d = (pass_at[i] - last) % GAP_REFRESH;
    ck_assert_msg(d >= GAP_REFRESH / 4 - 10 && d <= GAP_REFRESH / 4 + 60,
                  "pass %d began %lld ms after a cycle", i, (long long)d);
    ck_assert_int_le(pass_at[i] - pass_at[i - 1], GAP_RECONCILE + 100);
  }
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

AREC_TEST_CASE_MAIN("core_scale", "ten_thousand", 60,
                    arec_test_run(s),
                    ten_thousand_agents_on_few_workers,
                    two_pods_take_turns_to_refresh,
                    passes_begin_between_refresh_turns)
