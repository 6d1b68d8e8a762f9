/*
 * test_core_scale.c -- 10,000 toy agents on a handful of worker threads:
 * all restored in one pass, all stepping, their saves coalesced (far fewer
 * saves than steps), and one graceful shutdown stops, saves and releases
 * every one of them (no lock held, running_on cleared, is_trading kept).
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

AREC_TEST_CASE_MAIN("core_scale", "ten_thousand", 60,
                    arec_test_run(s),
                    ten_thousand_agents_on_few_workers)
