/*
 * fleet_conformance.c -- the conformance suite of the repository vtable's
 * version-2 slots (agentrecover/sys/repository.h): fleet, pod_leaving and
 * migrate, generic over a repository fixture (conformance.h).  Registered
 * by arec_conf_repository_add() for every backend: memory, PostgreSQL.
 *
 * What it proves: fleet counts live pods that are not leaving, wanted
 * agents (active, trading, with a symbol) and, of those, the ones in
 * backoff (version 3), and lists the migration holds in force; a leaving pod stays live for its agents but is not counted, a
 * heartbeat of the same incarnation keeps the mark and a new incarnation
 * clears it; a migration hold lets only its target claim the agent (claim
 * and claim_many answer AREC_ECONFLICT to any other pod), answers 3 to the
 * current owner's unwanted(), still lets the owner save and release, and
 * ends with the target's claim, with its time, or when its target dies;
 * migrate answers AREC_ENOTFOUND / AREC_ECONFLICT as the header documents
 * and records nothing then, nor when the target already owns the agent.
 * A repository whose slot is NULL passes at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance.h"

#define POD_A "conf-pod-a"
#define POD_B "conf-pod-b"
#define POD_C "conf-pod-c"
#define INC_A1 "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define INC_A2 "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
#define INC_B "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
#define INC_C "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
#define LEASE 60000
#define HOLD 60000

/* ---------------------------------------------------------------- helpers */
static void beat(arec_repository *r, const char *pod, const char *inc) {
  ck_assert_int_eq(r->heartbeat(r, pod, inc, LEASE, 0), 0);
}

static uint64_t claim(arec_repository *r, const char *pod, const char *inc,
                      const char *id) {
  uint64_t fence = 0;
  int rc = r->claim(r, pod, inc, id, &fence);
  ck_assert_msg(rc == 0, "claim %s by %s: %s %s", id, pod, arec_err_name(rc),
                arec_error_last());
  return fence;
}

static int claim_rc(arec_repository *r, const char *pod, const char *inc,
                    const char *id) {
  uint64_t fence = 0;
  return r->claim(r, pod, inc, id, &fence);
}

/* fleet() into *b (cleared first); the caller clears it. */
static void bal(arec_repository *r, arec_fleet *b) {
  memset(b, 0, sizeof *b);
  int rc = r->fleet(r, b);
  ck_assert_msg(rc == 0, "fleet: %s %s", arec_err_name(rc),
                arec_error_last());
  ck_assert(b->nmigrations == 0 || b->migrations != NULL);
}

/* What fleet() counts: live pods, and the agents held for a migration. */
typedef struct fleet_tally {
  uint64_t live_pods;
  size_t holds;
} fleet_tally;

static fleet_tally tally(arec_repository *r) {
  arec_fleet b;
  bal(r, &b);
  fleet_tally c = {b.live_pods, b.nmigrations};
  arec_fleet_clear(&b);
  return c;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------- fleet */
CONF_REPO_TEST(fleet_counts, CONF_FLEET) {
  arec_fleet b;
  bal(r, &b);
  ck_assert_uint_eq(b.live_pods, 0);
  ck_assert_uint_eq(b.wanted, 0);
  ck_assert_uint_eq(b.nmigrations, 0);
  arec_fleet_clear(&b);
  ck_assert_ptr_null(b.migrations);
  ck_assert_uint_eq(b.nmigrations, 0);
  arec_fleet_clear(NULL);

  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 2, 1);
  arec_conf_add(f, r, "conf-a3", 1, 0); /* not trading */
  arec_conf_add(f, r, "conf-a4", 1, 1); /* disabled below */
  ck_assert_int_eq(f->set_active(f->ctx, "conf-a4", 0), 0);
  arec_conf_add(f, r, "conf-a5", 0, 0); /* no symbols */
  beat(r, POD_A, INC_A1);
  beat(r, POD_B, INC_B);
  claim(r, POD_A, INC_A1, "conf-a1"); /* owned agents are still wanted */
  bal(r, &b);
  ck_assert_uint_eq(b.live_pods, 2);
  ck_assert_uint_eq(b.wanted, 2);
  ck_assert_uint_eq(b.nmigrations, 0);
  arec_fleet_clear(&b);

  ck_assert_int_eq(f->expire_pod(f->ctx, POD_B), 0);
  ck_assert_uint_eq(tally(r).live_pods, 1);
  beat(r, POD_B, INC_B);
  ck_assert_uint_eq(tally(r).live_pods, 2);
  ck_assert_int_eq(r->heartbeat(r, POD_B, INC_B, LEASE, 1), 0);
  ck_assert_uint_eq(tally(r).live_pods, 1);
  ck_assert_int_eq(r->set_trading(r, "conf-a2", 0), 0);
  bal(r, &b);
  ck_assert_uint_eq(b.wanted, 1);
  arec_fleet_clear(&b);
  ck_assert_int_eq(f->set_active(f->ctx, "conf-a4", 1), 0);
  bal(r, &b);
  ck_assert_uint_eq(b.wanted, 2);
  ck_assert_uint_eq(b.backoff, 0);
  arec_fleet_clear(&b);

  /* version 3: wanted agents in backoff are counted */
  if (r->version >= 3) {
    ck_assert_ptr_nonnull(r->start_failed);
    ck_assert_ptr_nonnull(r->start_ok);
    uint64_t f1 = claim(r, POD_A, INC_A1, "conf-a4");
    ck_assert_int_eq(r->start_failed(r, "conf-a4", f1, "boom", 60000, 60000,
                                     NULL),
                     0);
    bal(r, &b);
    ck_assert_uint_eq(b.wanted, 2);
    ck_assert_uint_eq(b.backoff, 1);
    arec_fleet_clear(&b);
    ck_assert_int_eq(r->set_trading(r, "conf-a4", 0), 0); /* not wanted */
    bal(r, &b);
    ck_assert_uint_eq(b.wanted, 1);
    ck_assert_uint_eq(b.backoff, 0);
    arec_fleet_clear(&b);
    ck_assert_int_eq(r->set_trading(r, "conf-a4", 1), 0);
    uint64_t f2 = claim(r, POD_A, INC_A1, "conf-a4");
    ck_assert_int_eq(r->start_ok(r, "conf-a4", f2), 0);
    bal(r, &b);
    ck_assert_uint_eq(b.backoff, 0);
    arec_fleet_clear(&b);
  }
}

/* ------------------------------------------------------------- pod_leaving */
CONF_REPO_TEST(pod_leaving_rules, CONF_FLEET) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  beat(r, POD_A, INC_A1);
  beat(r, POD_B, INC_B);
  claim(r, POD_A, INC_A1, "conf-a1");
  ck_assert_uint_eq(tally(r).live_pods, 2);

  ck_assert_int_eq(r->pod_leaving(r, POD_A, INC_A1), 0);
  ck_assert_uint_eq(tally(r).live_pods, 1);
  /* still live for its agents */
  ck_assert(!arec_conf_restorable(r, "conf-a1"));
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 0);
  ck_assert_int_eq(r->pod_leaving(r, POD_A, INC_A1), 0); /* twice: fine */
  /* a heartbeat of the same incarnation keeps the mark */
  beat(r, POD_A, INC_A1);
  ck_assert_uint_eq(tally(r).live_pods, 1);
  ck_assert(!arec_conf_restorable(r, "conf-a1"));
  /* another incarnation's mark does not touch B */
  ck_assert_int_eq(r->pod_leaving(r, POD_B, INC_A2), 0);
  ck_assert_uint_eq(tally(r).live_pods, 1);
  /* a leaving pod is no migration target */
  ck_assert_int_eq(r->migrate(r, "conf-a1", POD_A, HOLD), AREC_ECONFLICT);
  ck_assert_int_eq(r->pod_leaving(r, POD_B, INC_B), 0);
  ck_assert_uint_eq(tally(r).live_pods, 0);
  ck_assert_int_eq(r->migrate(r, "conf-a1", POD_B, HOLD), AREC_ECONFLICT);
  ck_assert_uint_eq(tally(r).holds, 0);
  /* a new incarnation clears the mark */
  beat(r, POD_A, INC_A2);
  ck_assert_uint_eq(tally(r).live_pods, 1);
  ck_assert(arec_conf_restorable(r, "conf-a1")); /* its old incarnation is dead */
  beat(r, POD_B, INC_B);
  ck_assert_uint_eq(tally(r).live_pods, 1); /* B's mark stays */
  /* leaving = 1 deletes the row */
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A2, LEASE, 1), 0);
  ck_assert_uint_eq(tally(r).live_pods, 0);
}

/* ------------------------------------------------------------------ migrate */
CONF_REPO_TEST(migrate_hold, CONF_FLEET) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 1, 1);
  beat(r, POD_A, INC_A1);
  beat(r, POD_B, INC_B);
  beat(r, POD_C, INC_C);
  uint64_t fa = claim(r, POD_A, INC_A1, "conf-a1");
  claim(r, POD_A, INC_A1, "conf-a2");

  ck_assert_int_eq(r->migrate(r, "conf-a1", POD_B, HOLD), 0);
  arec_fleet b;
  bal(r, &b);
  ck_assert_uint_eq(b.nmigrations, 1);
  ck_assert_str_eq(b.migrations[0].agent_id, "conf-a1");
  ck_assert_str_eq(b.migrations[0].to_pod, POD_B);
  ck_assert_uint_eq(b.live_pods, 3);
  ck_assert_uint_eq(b.wanted, 2);
  arec_fleet_clear(&b);
  ck_assert_uint_eq(b.nmigrations, 0);
  ck_assert_ptr_null(b.migrations);

  /* the owner hands off (3); others are not owners (2); a2 is untouched */
  const char *ids[] = {"conf-a1", "conf-a2"};
  unsigned char u[2] = {9, 9};
  ck_assert_int_eq(r->unwanted(r, POD_A, INC_A1, ids, 2, u), 0);
  ck_assert_int_eq(u[0], 3);
  ck_assert_int_eq(u[1], 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_B, INC_B, "conf-a1"), 2);

  /* only the target may claim */
  ck_assert_int_eq(claim_rc(r, POD_A, INC_A1, "conf-a1"), AREC_ECONFLICT);
  ck_assert_int_eq(claim_rc(r, POD_C, INC_C, "conf-a1"), AREC_ECONFLICT);
  if (r->claim_many) {
    uint64_t fences[2];
    int res[2] = {7, 7};
    ck_assert_int_eq(r->claim_many(r, POD_C, INC_C, ids, 2, fences, res), 0);
    ck_assert_int_eq(res[0], AREC_ECONFLICT);
    ck_assert_int_eq(res[1], 0); /* no hold on a2 */
    claim(r, POD_A, INC_A1, "conf-a2");
  }
  arec_conf_agent a = arec_conf_read(f, "conf-a1");
  ck_assert_uint_eq(a.fence, fa);
  ck_assert_str_eq(a.running_on, POD_A);

  /* the owner saves and releases as usual (graceful handover) */
  arec_symbol_state st = {"BTC/USDT", 55.0, "{\"handover\": 1}"};
  arec_save sv = {"conf-a1", fa, POD_A, 1, &st};
  ck_assert_int_eq(r->save_state(r, &sv), 0);
  ck_assert_int_eq(r->release(r, "conf-a1", fa), 0);
  ck_assert_int_eq(claim_rc(r, POD_C, INC_C, "conf-a1"), AREC_ECONFLICT);
  ck_assert_uint_eq(tally(r).holds, 1);

  /* the target's claim ends the hold */
  uint64_t fb = claim(r, POD_B, INC_B, "conf-a1");
  ck_assert_uint_eq(fb, fa + 2);
  ck_assert_uint_eq(tally(r).holds, 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_B, INC_B, "conf-a1"), 0);
  ck_assert_str_eq(arec_conf_read(f, "conf-a1").running_on, POD_B);
  /* afterwards any pod claims as before */
  ck_assert_uint_eq(claim(r, POD_C, INC_C, "conf-a1"), fb + 1);
}

CONF_REPO_TEST(migrate_refused, CONF_FLEET) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 1, 0); /* not trading */
  arec_conf_add(f, r, "conf-a3", 1, 1); /* disabled below */
  ck_assert_int_eq(f->set_active(f->ctx, "conf-a3", 0), 0);
  beat(r, POD_A, INC_A1);
  beat(r, POD_B, INC_B);
  claim(r, POD_A, INC_A1, "conf-a1");
  uint64_t f0 = arec_conf_read(f, "conf-a1").fence;

  ck_assert_int_eq(r->migrate(r, "conf-missing", POD_B, HOLD),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(r->migrate(r, "conf-a2", POD_B, HOLD), AREC_ECONFLICT);
  ck_assert_int_eq(r->migrate(r, "conf-a3", POD_B, HOLD), AREC_ECONFLICT);
  ck_assert_int_eq(r->migrate(r, "conf-a1", "conf-pod-none", HOLD),
                   AREC_ECONFLICT);
  ck_assert_int_eq(f->expire_pod(f->ctx, POD_B), 0);
  ck_assert_int_eq(r->migrate(r, "conf-a1", POD_B, HOLD), AREC_ECONFLICT);
  beat(r, POD_B, INC_B);
  ck_assert_int_eq(r->pod_leaving(r, POD_B, INC_B), 0);
  ck_assert_int_eq(r->migrate(r, "conf-a1", POD_B, HOLD), AREC_ECONFLICT);
  /* nothing was recorded */
  ck_assert_uint_eq(tally(r).holds, 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 0);
  ck_assert_uint_eq(arec_conf_read(f, "conf-a1").fence, f0);

  /* to the pod that already owns it: 0, nothing recorded */
  ck_assert_int_eq(r->migrate(r, "conf-a1", POD_A, HOLD), 0);
  ck_assert_uint_eq(tally(r).holds, 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 0);
  /* owned by the target's previous incarnation: that is not "already
   * there", the hold is recorded and only the target may claim */
  beat(r, POD_C, INC_C);
  claim(r, POD_C, INC_C, "conf-a1");
  ck_assert_int_eq(r->heartbeat(r, POD_C, INC_A2, LEASE, 0), 0);
  ck_assert_int_eq(r->migrate(r, "conf-a1", POD_C, HOLD), 0);
  ck_assert_uint_eq(tally(r).holds, 1);
  ck_assert_int_eq(claim_rc(r, POD_A, INC_A1, "conf-a1"), AREC_ECONFLICT);
  claim(r, POD_C, INC_A2, "conf-a1");
  ck_assert_uint_eq(tally(r).holds, 0);
}

/* A hold ends with its time and when its target dies; a user's stop beats
 * a hand-off (1 before 3). */
CONF_REPO_TEST(hold_ends, CONF_FLEET) {
  enum { SHORT = 300 };
  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 1, 1);
  beat(r, POD_A, INC_A1);
  beat(r, POD_B, INC_B);
  beat(r, POD_C, INC_C);
  claim(r, POD_A, INC_A1, "conf-a1");
  claim(r, POD_A, INC_A1, "conf-a2");

  ck_assert_int_eq(r->migrate(r, "conf-a1", POD_B, HOLD), 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 3);
  ck_assert_int_eq(r->set_trading(r, "conf-a1", 0), 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 1);
  ck_assert_int_eq(r->set_trading(r, "conf-a1", 1), 0);
  /* the target dies: the hold no longer binds anyone */
  ck_assert_int_eq(f->expire_pod(f->ctx, POD_B), 0);
  ck_assert_uint_eq(tally(r).holds, 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 0);
  claim(r, POD_C, INC_C, "conf-a1");

  /* a target that starts leaving no longer binds anyone either */
  ck_assert_int_eq(r->migrate(r, "conf-a2", POD_B, HOLD), AREC_ECONFLICT);
  ck_assert_int_eq(r->migrate(r, "conf-a1", POD_A, HOLD), 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_C, INC_C, "conf-a1"), 3);
  ck_assert_int_eq(r->pod_leaving(r, POD_A, INC_A1), 0);
  ck_assert_uint_eq(tally(r).holds, 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_C, INC_C, "conf-a1"), 0);
  claim(r, POD_C, INC_C, "conf-a1"); /* any claim ends the suspended hold */
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A2, LEASE, 0), 0); /* restart */
  ck_assert_uint_eq(tally(r).holds, 0);

  /* a short hold runs out */
  ck_assert_int_eq(r->migrate(r, "conf-a2", POD_C, SHORT), 0);
  ck_assert_int_eq(claim_rc(r, POD_A, INC_A2, "conf-a2"), AREC_ECONFLICT);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a2"), 3);
  sleep_ms(SHORT + 200);
  ck_assert_uint_eq(tally(r).holds, 0);
  claim(r, POD_A, INC_A2, "conf-a2");
}

/* ------------------------------------------------------------ registration */
void arec_conf_fleet_add(Suite *s, const arec_repo_fixture *f) {
  const arec_conf_test *tests[] = {
      fleet_counts, pod_leaving_rules, migrate_hold, migrate_refused,
      hold_ends};
  arec_conf_add_repo_tests(s, f, "fleet-conformance", 30, tests,
                           sizeof tests / sizeof *tests);
}
