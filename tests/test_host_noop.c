/*
 * test_host_noop.c -- the built-in noop agent type (host/noop.c) called
 * directly, without a manager or servers: the step delay comes from the
 * type's setting, or from the agent's params {"step_ms": N} when that is a
 * number in range; each step counts one iteration, the snapshot writes it
 * into every symbol's memory with the balance unchanged, and a new start
 * continues from the highest count it is given.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../host/noop.h"
#include "core/internal.h" /* struct arec_snapshot, to read it back */
#include "support/runner.h"

typedef struct started {
  arec_agent_type t;
  void *state;
} started;

static void start(started *s, const int64_t *type_step, const char *params,
                  const char *memory) {
  arec_host_noop_type(&s->t, type_step);
  arec_symbol sym = {"BTC/USDT", 100.0, 100.0, memory};
  arec_agent_info info;
  memset(&info, 0, sizeof info);
  info.id = "n1";
  info.strategy = "noop";
  info.name = "n";
  info.params = params;
  info.fence = 1;
  info.nsymbols = 1;
  info.symbols = &sym;
  ck_assert_int_eq(s->t.start(&s->state, NULL, &info, s->t.userdata), 0);
}

static int64_t step(started *s) {
  int64_t delay = -1;
  ck_assert_int_eq(s->t.step(s->state, NULL, &delay, s->t.userdata), 0);
  return delay;
}

static void stop(started *s) {
  s->t.stop(s->state, NULL, AREC_STOP_HANDOVER, s->t.userdata);
}

START_TEST(step_delay_from_type_or_params) {
  const int64_t type_step = 250;
  started s;
  start(&s, &type_step, "{}", "{}");
  ck_assert_int_eq(step(&s), 250);
  stop(&s);
  start(&s, NULL, "{}", "{}");
  ck_assert_int_eq(step(&s), 1000);
  stop(&s);
  start(&s, &type_step, "{\"step_ms\": 10000}", "{}");
  ck_assert_int_eq(step(&s), 10000);
  ck_assert_int_eq(step(&s), 10000);
  stop(&s);
  /* out of range or not a number: the type's setting */
  const char *bad[] = {"{\"step_ms\": 0}", "{\"step_ms\": -5}",
                       "{\"step_ms\": 86400001}", "{\"step_ms\": \"10\"}",
                       "not json", NULL};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    start(&s, &type_step, bad[i], "{}");
    ck_assert_msg(step(&s) == 250, "params %s", bad[i] ? bad[i] : "NULL");
    stop(&s);
  }
  ck_assert_int_eq(arec_host_noop_param_step("{\"step_ms\": 86400000}"),
                   86400000);
  ck_assert_int_eq(arec_host_noop_param_step("{\"step_ms\": 1}"), 1);
}
END_TEST

START_TEST(counts_and_snapshots_iterations) {
  started s;
  start(&s, NULL, "{\"step_ms\": 10000}", "{\"iterations\": 41}");
  step(&s);
  arec_snapshot *snap = calloc(1, sizeof *snap);
  ck_assert_ptr_nonnull(snap);
  ck_assert_int_eq(s.t.snapshot(s.state, NULL, snap, s.t.userdata), 0);
  ck_assert_uint_eq(snap->n, 1);
  ck_assert_str_eq(snap->st[0].symbol, "BTC/USDT");
  ck_assert_double_eq(snap->st[0].balance, 100.0);
  ck_assert_int_eq(arec_host_noop_iterations(snap->st[0].memory), 42);
  arec__snapshot_free(snap);
  stop(&s);
}
END_TEST

AREC_TEST_CASE_MAIN("host_noop", "noop", 0, arec_test_run(s),
                    step_delay_from_type_or_params,
                    counts_and_snapshots_iterations)
