/*
 * repository_conformance.c -- the conformance suite of the repository
 * vtable (agentrecover/sys/repository.h), generic over a fixture
 * (conformance.h).  Every backend's test runs it: memory, PostgreSQL.
 *
 * Each test resets the fixture, builds its agents through the fixture, and
 * checks the answers of the vtable and what the fixture reads back: restore
 * listing, claim and fence, fenced save and release, pod liveness, unwanted,
 * set_trading, the batch slots, and saves racing claims from two threads.
 * Each test is a CONF_REPO_TEST body that conf_util's runner runs once per
 * fixture, so one binary can run several fixtures.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define POD_A "conf-pod-a"
#define POD_B "conf-pod-b"
#define INC_A1 "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define INC_A2 "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
#define INC_B "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
#define LEASE 60000

/* ---------------------------------------------------------------- helpers */
static const arec_agent_row *find_row(const struct arec_agent_list *l,
                                      const char *id) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->rows[i].id, id) == 0)
      return &l->rows[i];
  return NULL;
}

/* 1 when `id` is in agents_to_restore(NULL). */
static int restorable(arec_repository *r, const char *id) {
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, NULL, &l), 0);
  ck_assert_ptr_nonnull(l);
  int found = find_row(l, id) != NULL;
  arec_agent_list_free(l);
  return found;
}

static uint64_t claim(arec_repository *r, const char *pod, const char *inc,
                      const char *id) {
  uint64_t fence = 0;
  ck_assert_int_eq(r->claim(r, pod, inc, id, &fence), 0);
  return fence;
}

static int save(arec_repository *r, const char *id, uint64_t fence,
                double balance, const char *memory) {
  arec_symbol_state st = {"BTC/USDT", balance, memory};
  arec_save sv = {id, fence, POD_A, 1, &st};
  return r->save_state(r, &sv);
}

static size_t history(const arec_repo_fixture *f, const char *id,
                      uint64_t *fences, size_t max) {
  size_t n = 0;
  ck_assert_int_eq(f->get_history(f->ctx, id, "BTC/USDT", fences, max, &n),
                   0);
  return n;
}

/* ------------------------------------------------------- agents_to_restore */
CONF_REPO_TEST(restore_lists_wanted_unowned, 0) {
  arec_conf_add(f, r, "conf-a1", 2, 1);             /* wanted, unowned */
  arec_conf_add(f, r, "conf-a2", 1, 0);             /* not trading */
  arec_conf_add(f, r, "conf-a3", 1, 1);             /* disabled below */
  ck_assert_int_eq(f->set_active(f->ctx, "conf-a3", 0), 0);
  arec_conf_add(f, r, "conf-a4", 1, 1);             /* owned by a live pod */
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 0), 0);
  claim(r, POD_A, INC_A1, "conf-a4");
  arec_conf_add(f, r, "conf-a5", 0, 0);             /* no symbols */

  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, NULL, &l), 0);
  ck_assert_ptr_nonnull(l);
  ck_assert_uint_eq(l->n, 1);
  const arec_agent_row *row = find_row(l, "conf-a1");
  ck_assert_ptr_nonnull(row);
  ck_assert_int_eq(row->user_id, 7);
  ck_assert_str_eq(row->strategy, "toy");
  ck_assert_uint_eq(row->nsymbols, 2);
  int seen = 0;
  for (size_t i = 0; i < row->nsymbols; i++) {
    const arec_symbol *s = &row->symbols[i];
    ck_assert_ptr_nonnull(s->symbol);
    ck_assert_ptr_nonnull(s->memory);
    ck_assert_str_eq(s->memory, "{}");
    double want = strcmp(s->symbol, "BTC/USDT") == 0   ? 100.0
                  : strcmp(s->symbol, "ETH/USDT") == 0 ? 50.0
                                                       : -1;
    ck_assert(want > 0);
    ck_assert_double_eq_tol(s->budget, want, 1e-9);
    ck_assert_double_eq_tol(s->balance, want, 1e-9);
    seen |= want == 100.0 ? 1 : 2;
  }
  ck_assert_int_eq(seen, 3);
  arec_agent_list_free(l);
}

CONF_REPO_TEST(restore_only_id, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 1, 1);
  arec_conf_add(f, r, "conf-a3", 1, 0);
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 0), 0);
  claim(r, POD_A, INC_A1, "conf-a2");

  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, "conf-a1", &l), 0);
  ck_assert_uint_eq(l->n, 1);
  ck_assert_str_eq(l->rows[0].id, "conf-a1");
  ck_assert_uint_eq(l->rows[0].nsymbols, 1);
  arec_agent_list_free(l);
  const char *empty[] = {"conf-a2", "conf-a3", "conf-missing"};
  for (size_t i = 0; i < 3; i++) {
    l = NULL;
    ck_assert_int_eq(r->agents_to_restore(r, empty[i], &l), 0);
    ck_assert_ptr_nonnull(l);
    ck_assert_msg(l->n == 0, "%s listed", empty[i]);
    arec_agent_list_free(l);
  }
}

/* The next owner starts from the last accepted state, budgets unchanged. */
CONF_REPO_TEST(restore_carries_saved_state, 0) {
  arec_conf_add(f, r, "conf-a1", 2, 1);
  uint64_t f1 = claim(r, POD_A, INC_A1, "conf-a1");
  arec_symbol_state st[2] = {{"BTC/USDT", 77.25, "{\"pos\": 3}"},
                             {"ETH/USDT", 33.5, "{\"pos\": 4}"}};
  arec_save sv = {"conf-a1", f1, POD_A, 2, st};
  ck_assert_int_eq(r->save_state(r, &sv), 0);
  ck_assert_int_eq(r->release(r, "conf-a1", f1), 0);
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, "conf-a1", &l), 0);
  ck_assert_uint_eq(l->n, 1);
  ck_assert_uint_eq(l->rows[0].nsymbols, 2);
  for (size_t i = 0; i < 2; i++) {
    const arec_symbol *s = &l->rows[0].symbols[i];
    int btc = strcmp(s->symbol, "BTC/USDT") == 0;
    ck_assert_double_eq_tol(s->balance, btc ? 77.25 : 33.5, 1e-9);
    ck_assert_double_eq_tol(s->budget, btc ? 100.0 : 50.0, 1e-9);
    ck_assert_ptr_nonnull(strstr(s->memory, btc ? "3" : "4"));
  }
  arec_agent_list_free(l);
}

/* ------------------------------------------------------------------- claim */
CONF_REPO_TEST(claim_bumps_fence, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  uint64_t f0 = arec_conf_read(f, "conf-a1").fence;
  uint64_t f1 = claim(r, POD_A, INC_A1, "conf-a1");
  ck_assert_uint_eq(f1, f0 + 1);
  arec_conf_agent a = arec_conf_read(f, "conf-a1");
  ck_assert_uint_eq(a.fence, f1);
  ck_assert_str_eq(a.running_on, POD_A);
  ck_assert_str_eq(a.running_incarnation, INC_A1);
  uint64_t f2 = claim(r, POD_B, INC_B, "conf-a1");
  ck_assert_uint_eq(f2, f1 + 1);
  a = arec_conf_read(f, "conf-a1");
  ck_assert_uint_eq(a.fence, f2);
  ck_assert_str_eq(a.running_on, POD_B);
  ck_assert_str_eq(a.running_incarnation, INC_B);
  ck_assert_int_eq(a.is_trading, 1);
}

CONF_REPO_TEST(claim_refused, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 0); /* not trading */
  arec_conf_add(f, r, "conf-a2", 1, 1);
  ck_assert_int_eq(f->set_active(f->ctx, "conf-a2", 0), 0);
  uint64_t f1 = arec_conf_read(f, "conf-a1").fence, f2 = arec_conf_read(f, "conf-a2").fence;
  uint64_t fence = 99;
  ck_assert_int_eq(r->claim(r, POD_A, INC_A1, "conf-a1", &fence),
                   AREC_ECONFLICT);
  ck_assert_int_eq(r->claim(r, POD_A, INC_A1, "conf-a2", &fence),
                   AREC_ECONFLICT);
  ck_assert_int_eq(r->claim(r, POD_A, INC_A1, "conf-missing", &fence),
                   AREC_ENOTFOUND);
  arec_conf_agent a = arec_conf_read(f, "conf-a1");
  ck_assert_uint_eq(a.fence, f1);
  ck_assert_str_eq(a.running_on, "");
  a = arec_conf_read(f, "conf-a2");
  ck_assert_uint_eq(a.fence, f2);
  ck_assert_str_eq(a.running_on, "");
}

/* -------------------------------------------------------------------- save */
/* An agent's saved BTC/USDT state, as the fixture reads it back. */
typedef struct btc_state {
  double balance;
  uint64_t fence;
  char memory[256];
} btc_state;

static btc_state btc_state_of(const arec_repo_fixture *f, const char *id) {
  btc_state st;
  char *mem = NULL;
  ck_assert_int_eq(
      f->get_state(f->ctx, id, "BTC/USDT", &st.balance, &mem, &st.fence), 0);
  ck_assert_ptr_nonnull(mem);
  snprintf(st.memory, sizeof st.memory, "%s", mem);
  free(mem);
  return st;
}

CONF_REPO_TEST(save_fenced, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  uint64_t f1 = claim(r, POD_A, INC_A1, "conf-a1");
  ck_assert_int_eq(save(r, "conf-a1", f1, 90.5, "{\"pos\": 1}"), 0);
  btc_state st = btc_state_of(f, "conf-a1");
  ck_assert_double_eq_tol(st.balance, 90.5, 1e-9);
  ck_assert_ptr_nonnull(strstr(st.memory, "pos"));
  ck_assert_uint_eq(st.fence, f1);
  uint64_t h[8];
  ck_assert_uint_eq(history(f, "conf-a1", h, 8), 1);
  ck_assert_uint_eq(h[0], f1);
  ck_assert_int_eq(save(r, "conf-a1", f1, 80, "{\"pos\": 2}"), 0);
  ck_assert_uint_eq(history(f, "conf-a1", h, 8), 2);
  ck_assert_uint_eq(h[1], f1);

  /* another claim: the old fence is refused and nothing changes */
  uint64_t f2 = claim(r, POD_B, INC_B, "conf-a1");
  ck_assert_int_eq(save(r, "conf-a1", f1, 1.0, "{\"zombie\": 1}"),
                   AREC_EFENCED);
  st = btc_state_of(f, "conf-a1");
  ck_assert_double_eq_tol(st.balance, 80, 1e-9);
  ck_assert_ptr_null(strstr(st.memory, "zombie"));
  ck_assert_uint_eq(st.fence, f1);
  ck_assert_uint_eq(history(f, "conf-a1", h, 8), 2);
  ck_assert_int_eq(save(r, "conf-a1", f2, 70, "{}"), 0);
  ck_assert_uint_eq(history(f, "conf-a1", h, 8), 3);
  ck_assert_uint_eq(h[2], f2);
}

/* ----------------------------------------------------------------- release */
CONF_REPO_TEST(release_fenced, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 1, 1);
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 0), 0);
  uint64_t f1 = claim(r, POD_A, INC_A1, "conf-a1");
  ck_assert(!restorable(r, "conf-a1"));
  ck_assert_int_eq(r->release(r, "conf-a1", f1), 0);
  arec_conf_agent a = arec_conf_read(f, "conf-a1");
  ck_assert_str_eq(a.running_on, "");
  ck_assert_str_eq(a.running_incarnation, "");
  ck_assert_uint_eq(a.fence, f1 + 1);
  ck_assert_int_eq(a.is_trading, 1);
  ck_assert_int_eq(r->release(r, "conf-a1", f1), AREC_EFENCED);
  ck_assert_int_eq(save(r, "conf-a1", f1, 1, "{}"), AREC_EFENCED);
  ck_assert_uint_eq(history(f, "conf-a1", NULL, 0), 0);
  ck_assert(restorable(r, "conf-a1"));

  /* superseded by another claim: release refused, new owner kept */
  uint64_t g1 = claim(r, POD_A, INC_A1, "conf-a2");
  uint64_t g2 = claim(r, POD_B, INC_B, "conf-a2");
  ck_assert_int_eq(r->release(r, "conf-a2", g1), AREC_EFENCED);
  a = arec_conf_read(f, "conf-a2");
  ck_assert_str_eq(a.running_on, POD_B);
  ck_assert_uint_eq(a.fence, g2);
}

/* ----------------------------------------------------------- pod liveness */
CONF_REPO_TEST(dead_pod_agents_restorable, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 1, 1);
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 0), 0);
  ck_assert_int_eq(r->heartbeat(r, POD_B, INC_B, LEASE, 0), 0);
  claim(r, POD_A, INC_A1, "conf-a1");
  claim(r, POD_B, INC_B, "conf-a2");
  ck_assert(!restorable(r, "conf-a1"));
  ck_assert(!restorable(r, "conf-a2"));
  ck_assert_int_eq(f->expire_pod(f->ctx, POD_A), 0);
  ck_assert(restorable(r, "conf-a1"));
  ck_assert(!restorable(r, "conf-a2"));
  /* a heartbeat brings the same incarnation back */
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 0), 0);
  ck_assert(!restorable(r, "conf-a1"));
}

CONF_REPO_TEST(other_incarnation_restorable, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 0), 0);
  claim(r, POD_A, INC_A1, "conf-a1");
  ck_assert(!restorable(r, "conf-a1"));
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A2, LEASE, 0), 0);
  ck_assert(restorable(r, "conf-a1"));
}

/* `orphaned` tells a takeover after a failure (an owner that is no longer
 * live still holds the agent) from one nobody held (a first start, a
 * release). */
static int orphaned(arec_repository *r, const char *id) {
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, NULL, &l), 0);
  const arec_agent_row *row = find_row(l, id);
  ck_assert_msg(row != NULL, "%s not listed", id);
  int o = row->orphaned;
  arec_agent_list_free(l);
  l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, id, &l), 0); /* same by id */
  ck_assert_uint_eq(l->n, 1);
  ck_assert_int_eq(l->rows[0].orphaned, o);
  arec_agent_list_free(l);
  return o;
}

CONF_REPO_TEST(restore_tells_orphans, 0) {
  arec_conf_add(f, r, "conf-a1", 2, 1);
  arec_conf_add(f, r, "conf-a2", 1, 1);
  arec_conf_add(f, r, "conf-a3", 1, 1);
  ck_assert_int_eq(orphaned(r, "conf-a1"), 0); /* never owned */
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 0), 0);
  uint64_t f1 = claim(r, POD_A, INC_A1, "conf-a1");
  claim(r, POD_A, INC_A1, "conf-a2");
  claim(r, POD_A, INC_A1, "conf-a3");
  ck_assert_int_eq(r->release(r, "conf-a1", f1), 0); /* graceful */
  ck_assert_int_eq(orphaned(r, "conf-a1"), 0);
  ck_assert(!restorable(r, "conf-a2"));
  ck_assert_int_eq(f->expire_pod(f->ctx, POD_A), 0); /* A died */
  ck_assert_int_eq(orphaned(r, "conf-a1"), 0);
  ck_assert_int_eq(orphaned(r, "conf-a2"), 1);
  /* a restarted A (another incarnation) does not own them either */
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A2, LEASE, 0), 0);
  ck_assert_int_eq(orphaned(r, "conf-a3"), 1);
  /* taken over and released again: nobody holds it */
  ck_assert_int_eq(r->heartbeat(r, POD_B, INC_B, LEASE, 0), 0);
  uint64_t f2 = claim(r, POD_B, INC_B, "conf-a2");
  ck_assert_int_eq(r->release(r, "conf-a2", f2), 0);
  ck_assert_int_eq(orphaned(r, "conf-a2"), 0);
}

CONF_REPO_TEST(heartbeat_leaving_deletes, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 1, 1);
  /* claimed by a pod that never had a row: restorable */
  claim(r, POD_B, INC_B, "conf-a2");
  ck_assert(restorable(r, "conf-a2"));
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 0), 0);
  claim(r, POD_A, INC_A1, "conf-a1");
  ck_assert(!restorable(r, "conf-a1"));
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 1), 0);
  ck_assert(restorable(r, "conf-a1"));
  /* leaving twice is fine */
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A1, LEASE, 1), 0);
}

/* ---------------------------------------------------------------- unwanted */
CONF_REPO_TEST(unwanted_answers, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 1, 1);
  claim(r, POD_A, INC_A1, "conf-a1");
  claim(r, POD_A, INC_A1, "conf-a2");
  const char *ids[] = {"conf-a1", "conf-missing", "conf-a2"};
  unsigned char u[3] = {9, 9, 9};
  ck_assert_int_eq(r->unwanted(r, POD_A, INC_A1, ids, 3, u), 0);
  ck_assert_int_eq(u[0], 0);
  ck_assert_int_eq(u[1], 1);
  ck_assert_int_eq(u[2], 0);
  ck_assert_int_eq(r->set_trading(r, "conf-a1", 0), 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 1);
  ck_assert_int_eq(r->set_trading(r, "conf-a1", 1), 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 0);
  ck_assert_int_eq(f->set_active(f->ctx, "conf-a1", 0), 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 1);
  ck_assert_int_eq(f->set_active(f->ctx, "conf-a1", 1), 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 0);
  /* another owner now; also our own pod name in another incarnation */
  claim(r, POD_B, INC_B, "conf-a1");
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A1, "conf-a1"), 2);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_B, INC_B, "conf-a1"), 0);
  ck_assert_int_eq(arec_conf_unwanted1(r, POD_A, INC_A2, "conf-a2"), 2);
}

/* ------------------------------------------------------------- set_trading */
CONF_REPO_TEST(set_trading_rules, 0) {
  arec_conf_add(f, r, "conf-nosym", 0, 0);
  arec_conf_add(f, r, "conf-a1", 1, 0);
  arec_conf_add(f, r, "conf-off", 1, 0);
  ck_assert_int_eq(f->set_active(f->ctx, "conf-off", 0), 0);
  ck_assert_int_eq(r->set_trading(r, "conf-nosym", 1), AREC_ECONFLICT);
  ck_assert_int_eq(r->set_trading(r, "conf-off", 1), AREC_ECONFLICT);
  ck_assert_int_eq(r->set_trading(r, "conf-missing", 1), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_conf_read(f, "conf-nosym").is_trading, 0);
  ck_assert_int_eq(arec_conf_read(f, "conf-off").is_trading, 0);
  ck_assert_int_eq(r->set_trading(r, "conf-a1", 1), 0);
  ck_assert_int_eq(arec_conf_read(f, "conf-a1").is_trading, 1);
  ck_assert_int_eq(r->set_trading(r, "conf-a1", 0), 0);
  ck_assert_int_eq(arec_conf_read(f, "conf-a1").is_trading, 0);
}

/* ------------------------------------------------------------------ batches */
CONF_REPO_TEST(batch_slots, 0) {
  arec_conf_add(f, r, "conf-a1", 1, 1);
  arec_conf_add(f, r, "conf-a2", 1, 0);
  arec_conf_add(f, r, "conf-a3", 1, 1);
  uint64_t a3old = claim(r, POD_B, INC_B, "conf-a3");
  uint64_t a3cur = claim(r, POD_B, INC_B, "conf-a3");
  uint64_t a1fence = 0;
  if (r->claim_many) {
    const char *ids[] = {"conf-a1", "conf-a2", "conf-missing"};
    uint64_t fences[3];
    int res[3] = {7, 7, 7};
    ck_assert_int_eq(r->claim_many(r, POD_A, INC_A1, ids, 3, fences, res), 0);
    ck_assert_int_eq(res[0], 0);
    ck_assert_int_eq(res[1], AREC_ECONFLICT);
    ck_assert_int_eq(res[2], AREC_ENOTFOUND);
    a1fence = fences[0];
    arec_conf_agent a = arec_conf_read(f, "conf-a1");
    ck_assert_uint_eq(a.fence, a1fence);
    ck_assert_str_eq(a.running_on, POD_A);
    ck_assert_int_eq(r->claim_many(r, POD_A, INC_A1, ids, 0, fences, res), 0);
  } else {
    a1fence = claim(r, POD_A, INC_A1, "conf-a1");
  }
  if (r->save_many) {
    arec_symbol_state st = {"BTC/USDT", 42.0, "{\"b\": 1}"};
    arec_save sv[3] = {{"conf-a1", a1fence, POD_A, 1, &st},
                       {"conf-a3", a3old, POD_A, 1, &st},
                       {"conf-a3", a3cur, POD_B, 1, &st}};
    int res[3] = {7, 7, 7};
    ck_assert_int_eq(r->save_many(r, sv, 3, res), 0);
    ck_assert_int_eq(res[0], 0);
    ck_assert_int_eq(res[1], AREC_EFENCED);
    ck_assert_int_eq(res[2], 0);
    double bal = 0;
    uint64_t sf = 0;
    ck_assert_int_eq(
        f->get_state(f->ctx, "conf-a1", "BTC/USDT", &bal, NULL, &sf), 0);
    ck_assert_double_eq_tol(bal, 42.0, 1e-9);
    ck_assert_uint_eq(sf, a1fence);
    uint64_t h[4];
    ck_assert_uint_eq(history(f, "conf-a3", h, 4), 1);
    ck_assert_uint_eq(h[0], a3cur);
  }
  if (r->release_many) {
    const char *ids[] = {"conf-a1", "conf-a3"};
    uint64_t fences[] = {a1fence, a3old};
    int res[2] = {7, 7};
    ck_assert_int_eq(r->release_many(r, ids, fences, 2, res), 0);
    ck_assert_int_eq(res[0], 0);
    ck_assert_int_eq(res[1], AREC_EFENCED);
    ck_assert_str_eq(arec_conf_read(f, "conf-a1").running_on, "");
    ck_assert_uint_eq(arec_conf_read(f, "conf-a1").fence, a1fence + 1);
    ck_assert_str_eq(arec_conf_read(f, "conf-a3").running_on, POD_B);
  }
}

/* --------------------------------------------- saves racing claims, 2 threads */
#define RACE_ROUNDS 300

typedef struct race {
  const arec_repo_fixture *f;
  _Atomic uint64_t latest;
  atomic_int bad;   /* an unexpected code from either thread */
  atomic_int saved; /* accepted saves */
  atomic_int done;
} race;

static void *claimer(void *p) {
  race *rc = p;
  arec_repository *r = NULL;
  if (rc->f->open(rc->f->ctx, &r) != 0) {
    atomic_store(&rc->bad, -100);
    atomic_store(&rc->done, 1);
    return NULL;
  }
  for (int i = 0; i < RACE_ROUNDS; i++) {
    uint64_t fence = 0;
    int e = r->claim(r, POD_B, INC_B, "conf-race", &fence);
    if (e != 0)
      atomic_store(&rc->bad, e);
    else
      atomic_store(&rc->latest, fence);
  }
  atomic_store(&rc->done, 1);
  r->free(r);
  return NULL;
}

static void *saver(void *p) {
  race *rc = p;
  arec_repository *r = NULL;
  if (rc->f->open(rc->f->ctx, &r) != 0) {
    atomic_store(&rc->bad, -101);
    return NULL;
  }
  /* race the claimer until it is done, then a few saves with the final
   * fence, which must land (so an always-stale race still proves the
   * accepted path) */
  int after = 0;
  for (int i = 0; after < 10; i++) {
    if (atomic_load(&rc->done))
      after++;
    int e = save(r, "conf-race", atomic_load(&rc->latest), (double)i, "{}");
    if (e == 0)
      atomic_fetch_add(&rc->saved, 1);
    else if (e != AREC_EFENCED)
      atomic_store(&rc->bad, e);
  }
  r->free(r);
  return NULL;
}

CONF_REPO_TEST(saves_race_claims, 0) {
  arec_conf_add(f, r, "conf-race", 1, 1);
  race rc;
  memset(&rc, 0, sizeof rc);
  rc.f = f;
  atomic_store(&rc.latest, claim(r, POD_B, INC_B, "conf-race"));
  pthread_t t1, t2;
  ck_assert_int_eq(pthread_create(&t1, NULL, claimer, &rc), 0);
  ck_assert_int_eq(pthread_create(&t2, NULL, saver, &rc), 0);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  ck_assert_msg(atomic_load(&rc.bad) == 0, "unexpected code %d",
                atomic_load(&rc.bad));
  ck_assert_int_gt(atomic_load(&rc.saved), 0);
  enum { MAXH = 4096 };
  uint64_t *h = malloc(MAXH * sizeof *h);
  ck_assert_ptr_nonnull(h);
  size_t n = history(f, "conf-race", h, MAXH);
  ck_assert_uint_gt(n, 0);
  ck_assert_uint_le(n, (size_t)atomic_load(&rc.saved));
  for (size_t i = 1; i < n && i < MAXH; i++)
    ck_assert_msg(h[i] >= h[i - 1], "history fence went back: %llu then %llu",
                  (unsigned long long)h[i - 1], (unsigned long long)h[i]);
  uint64_t sf = 0;
  ck_assert_int_eq(
      f->get_state(f->ctx, "conf-race", "BTC/USDT", NULL, NULL, &sf), 0);
  ck_assert_uint_le(sf, arec_conf_read(f, "conf-race").fence);
  ck_assert_uint_eq(sf, h[(n < MAXH ? n : MAXH) - 1]);
  free(h);
}

/* ------------------------------------------------------------ registration */
void arec_conf_repository_add(Suite *s, const arec_repo_fixture *f) {
  const arec_conf_test *tests[] = {
      restore_lists_wanted_unowned, restore_only_id,
      restore_carries_saved_state, claim_bumps_fence, claim_refused,
      save_fenced, release_fenced, dead_pod_agents_restorable,
      other_incarnation_restorable, restore_tells_orphans,
      heartbeat_leaving_deletes, unwanted_answers, set_trading_rules,
      batch_slots, saves_race_claims};
  arec_conf_add_repo_tests(s, f, "repository-conformance", 30, tests,
                           sizeof tests / sizeof *tests);
  arec_conf_fleet_add(s, f);
  arec_conf_admin_add(s, f);
  arec_conf_backoff_add(s, f);
  arec_conf_roles_add(s, f);
}
