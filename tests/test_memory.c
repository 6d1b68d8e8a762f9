/*
 * test_memory.c -- the in-memory backends (lib/memory): every conformance
 * suite through a memory fixture (repository, fleet, admin, backoff, roles
 * on the manual clock; the lock suite also in pod-lease mode), then what
 * only the memory store has: the manual clock, the fault hooks (also on the
 * administration, backoff and role slots), the history ring (kept for an
 * unassigned symbol), the poison hook, the test API and the store's
 * lifetime.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "agentrecover/sys/lock.h"
#include "agentrecover/sys/repository.h"
#include "conformance/conformance.h"
#include "support/runner.h"
#include "support/toy_agent.h"

/* ---------------------------------------------------------------- fixture */
typedef struct mem_ctx {
  arec_memory_store *st;
} mem_ctx;

static mem_ctx ctx;

static void fx_reset(void *c) {
  mem_ctx *m = c;
  arec_memory_store_free(m->st);
  m->st = NULL;
  ck_assert_int_eq(arec_memory_store_new(&m->st), 0);
}

static int fx_open_repo(void *c, arec_repository **out) {
  return arec_memory_repository_new(out, ((mem_ctx *)c)->st);
}

/* The fixture uses the neutral administration API, like any backend. */
static int fx_add_agent(void *c, const char *id, long long user_id,
                        const char *strategy, const char *const *symbols,
                        const double *budgets, size_t n) {
  arec_repository *r = NULL;
  int rc = arec_memory_repository_new(&r, ((mem_ctx *)c)->st);
  if (rc == 0)
    rc = toy_create(r, id, user_id, strategy, id, NULL, NULL, NULL);
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = arec_agent_assign(r, id, symbols[i], budgets[i]);
  arec_repository_free(r);
  return rc;
}

static int fx_set_active(void *c, const char *id, int active) {
  arec_repository *r = NULL;
  int rc = arec_memory_repository_new(&r, ((mem_ctx *)c)->st);
  if (rc == 0)
    rc = arec_agent_set_active(r, id, active);
  arec_repository_free(r);
  return rc;
}

static int fx_get_agent(void *c, const char *id, arec_conf_agent *out) {
  arec_repository *r = NULL;
  arec_agent_record *a = NULL;
  int rc = arec_memory_repository_new(&r, ((mem_ctx *)c)->st);
  if (rc == 0)
    rc = arec_agent_get(r, id, &a);
  arec_repository_free(r);
  if (rc)
    return rc;
  out->is_active = a->is_active;
  out->is_trading = a->is_trading;
  out->fence = a->fence;
  snprintf(out->running_on, sizeof out->running_on, "%s",
           a->running_on ? a->running_on : "");
  snprintf(out->running_incarnation, sizeof out->running_incarnation, "%s",
           a->running_incarnation ? a->running_incarnation : "");
  arec_agent_records_free(a, 1);
  return 0;
}

static int fx_get_state(void *c, const char *id, const char *symbol,
                        double *out_balance, char **out_memory,
                        uint64_t *out_fence) {
  return arec_memory_state_get(((mem_ctx *)c)->st, id, symbol, out_balance,
                               out_memory, out_fence);
}

static int fx_get_history(void *c, const char *id, const char *symbol,
                          uint64_t *out_fences, size_t max, size_t *out_n) {
  return arec_memory_history(((mem_ctx *)c)->st, id, symbol, out_fences, max,
                             out_n);
}

static int fx_expire_pod(void *c, const char *pod) {
  return arec_memory_pod_expire(((mem_ctx *)c)->st, pod);
}

static void fx_advance(void *c, int64_t ms) {
  arec_memory_clock_advance(((mem_ctx *)c)->st, ms);
}

static int fx_poison(void *c, const char *id, const char *reason) {
  return arec_memory_agent_poison(((mem_ctx *)c)->st, id, reason);
}

static int fx_open_lock(void *c, arec_lock **out) {
  return arec_memory_lock_new(out, ((mem_ctx *)c)->st);
}

static int fx_expire(void *c, const char *key) {
  return arec_memory_lock_drop(((mem_ctx *)c)->st, key);
}

static int fx_overwrite(void *c, const char *key, const char *value,
                        int64_t ttl_ms) {
  return arec_memory_lock_force(((mem_ctx *)c)->st, key, value, ttl_ms);
}

static int64_t fx_ttl(void *c, const char *key) {
  int64_t ttl = 0;
  if (arec_memory_lock_peek(((mem_ctx *)c)->st, key, NULL, 0, &ttl) != 0)
    return -2;
  return ttl;
}

static const arec_repo_fixture repo_fixture = {
    "memory",       &ctx,          fx_reset,     fx_open_repo,
    fx_add_agent,   fx_set_active, fx_get_agent, fx_get_state,
    fx_get_history, fx_expire_pod, fx_advance,   1,
    fx_poison};

static const arec_lock_fixture lock_fixture = {
    "memory", &ctx, fx_reset, fx_open_lock, fx_expire, fx_overwrite, fx_ttl,
    0};

/* The same suite with owners that are pod-lease holders, plus the pod-lease
 * rules (tests/conformance/podlease_conformance.c). */
static const arec_lock_fixture podlease_fixture = {
    "memory-podlease", &ctx, fx_reset, fx_open_lock, fx_expire, fx_overwrite,
    fx_ttl, 1};

/* ---------------------------------------------------------------- helpers */
typedef struct env {
  arec_memory_store *st;
  arec_repository *r;
  arec_lock *l;
} env;

static env env_new(void) {
  env e;
  ck_assert_int_eq(arec_memory_store_new(&e.st), 0);
  ck_assert_int_eq(arec_memory_repository_new(&e.r, e.st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&e.l, e.st), 0);
  return e;
}

static void env_free(env *e) {
  e->r->free(e->r);
  e->l->free(e->l);
  arec_memory_store_free(e->st);
}

/* The env of the memory backend's own tests (a checked fixture, made and
 * freed in the test's own process). */
static env E;

static void setup(void) { E = env_new(); }

static void teardown(void) { env_free(&E); }

/* Agent id with BTC/USDT (10), wanted: three repository calls. */
static void agent1(env *e, const char *id) {
  ck_assert_int_eq(toy_create(e->r, id, 1, "toy", "n", NULL, NULL, NULL), 0);
  ck_assert_int_eq(arec_agent_assign(e->r, id, "BTC/USDT", 10), 0);
  ck_assert_int_eq(arec_agent_set_trading(e->r, id, 1), 0);
}

static uint64_t fence_of(env *e, const char *id) {
  arec_agent_record *a = NULL;
  ck_assert_int_eq(arec_agent_get(e->r, id, &a), 0);
  uint64_t f = a->fence;
  arec_agent_records_free(a, 1);
  return f;
}

static int save1(env *e, const char *id, uint64_t fence, double balance) {
  arec_symbol_state s = {"BTC/USDT", balance, "{}"};
  arec_save sv = {id, fence, "p", 1, &s};
  return e->r->save_state(e->r, &sv);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ clock */
START_TEST(manual_clock_expires_locks_and_pods) {
  arec_memory_clock_set(E.st, 1000000);
  ck_assert_int_eq(arec_memory_clock_now(E.st), 1000000);
  arec_lease a;
  ck_assert_int_eq(E.l->try_acquire(E.l, "k", "pod", 1000, &a), 1);
  arec_memory_clock_advance(E.st, 999);
  int64_t ttl = 0;
  ck_assert_int_eq(arec_memory_lock_peek(E.st, "k", NULL, 0, &ttl), 0);
  ck_assert_int_eq(ttl, 1);
  ck_assert_int_eq(E.l->refresh(E.l, "k", &a, 1000), 0);
  arec_memory_clock_advance(E.st, 1000);
  ck_assert_int_eq(arec_memory_lock_peek(E.st, "k", NULL, 0, &ttl),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(E.l->refresh(E.l, "k", &a, 1000), AREC_ELOST);
  ck_assert_int_eq(E.l->try_acquire(E.l, "k", "pod2", 1000, &a), 1);

  agent1(&E, "a1");
  ck_assert_int_eq(E.r->heartbeat(E.r, "p", "inc", 500, 0), 0);
  uint64_t f;
  ck_assert_int_eq(E.r->claim(E.r, "p", "inc", "a1", &f), 0);
  ck_assert_int_eq(arec_memory_pod_alive(E.st, "p"), 1);
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(E.r->agents_to_restore(E.r, NULL, &l), 0);
  ck_assert_uint_eq(l->n, 0);
  arec_agent_list_free(l);
  arec_memory_clock_advance(E.st, 500);
  ck_assert_int_eq(arec_memory_pod_alive(E.st, "p"), 0);
  ck_assert_int_eq(E.r->agents_to_restore(E.r, NULL, &l), 0);
  ck_assert_uint_eq(l->n, 1);
  arec_agent_list_free(l);
}
END_TEST

START_TEST(clock_real_until_manual) {
  long long t0 = now_ms();
  int64_t c = arec_memory_clock_now(E.st);
  ck_assert(c >= t0 - 5 && c <= now_ms() + 5);
  arec_memory_clock_advance(E.st, 60000); /* switches to manual */
  c = arec_memory_clock_now(E.st);
  ck_assert(c >= t0 + 60000 - 5);
  struct timespec ts = {0, 20 * 1000000L};
  nanosleep(&ts, NULL);
  ck_assert_int_eq(arec_memory_clock_now(E.st), c); /* frozen */
}
END_TEST

/* ------------------------------------------------------------ fault hooks */
START_TEST(fail_next_n_calls) {
  agent1(&E, "a1");
  uint64_t f = 0;
  arec_memory_fail(E.st, AREC_MEMORY_REPOSITORY, 2, AREC_EUNAVAILABLE);
  ck_assert_int_eq(E.r->claim(E.r, "p", "i", "a1", &f), AREC_EUNAVAILABLE);
  ck_assert_int_eq(E.r->heartbeat(E.r, "p", "i", 1000, 0), AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_memory_pod_alive(E.st, "p"), 0); /* nothing written */
  ck_assert_uint_eq(fence_of(&E, "a1"), 0);
  ck_assert_int_eq(E.r->claim(E.r, "p", "i", "a1", &f), 0);
  ck_assert_uint_eq(f, 1);

  /* SAVE only: claims pass, saves fail, both batch and single */
  arec_memory_fail(E.st, AREC_MEMORY_SAVE, -1, AREC_ETIMEDOUT);
  ck_assert_int_eq(save1(&E, "a1", f, 5), AREC_ETIMEDOUT);
  ck_assert_int_eq(E.r->claim(E.r, "p", "i", "a1", &f), 0);
  arec_symbol_state s = {"BTC/USDT", 5, "{}"};
  arec_save sv = {"a1", f, "p", 1, &s};
  int res = 7;
  ck_assert_int_eq(E.r->save_many(E.r, &sv, 1, &res), AREC_ETIMEDOUT);
  ck_assert_int_eq(save1(&E, "a1", f, 5), AREC_ETIMEDOUT);
  arec_memory_fail(E.st, AREC_MEMORY_SAVE, 0, 0); /* cleared */
  ck_assert_int_eq(save1(&E, "a1", f, 5), 0);

  /* lock: REFRESH only, ACQUIRE untouched */
  arec_lease l;
  arec_memory_fail(E.st, AREC_MEMORY_REFRESH, 1, AREC_EUNAVAILABLE);
  ck_assert_int_eq(E.l->try_acquire(E.l, "k", "p", 5000, &l), 1);
  ck_assert_int_eq(E.l->refresh(E.l, "k", &l, 5000), AREC_EUNAVAILABLE);
  ck_assert_int_eq(E.l->refresh(E.l, "k", &l, 5000), 0);
  arec_memory_fail(E.st, AREC_MEMORY_LOCK, -1, AREC_EUNAVAILABLE);
  ck_assert_int_eq(E.l->release(E.l, "k", &l), AREC_EUNAVAILABLE);
  ck_assert_int_eq(E.l->try_acquire(E.l, "k2", "p", 5000, &l),
                   AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_memory_lock_peek(E.st, "k2", NULL, 0, NULL),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(E.r->claim(E.r, "p", "i", "a1", &f), 0); /* repo fine */
  arec_memory_fail(E.st, AREC_MEMORY_LOCK, 0, 0);
  ck_assert_int_eq(E.l->try_acquire(E.l, "k2", "p", 5000, &l), 1);
}
END_TEST

START_TEST(calls_counted) {
  agent1(&E, "a1"); /* create, assign, set_trading: three calls */
  uint64_t base = arec_memory_calls(E.st, AREC_MEMORY_REPOSITORY);
  ck_assert_uint_eq(base, 3);
  uint64_t f;
  ck_assert_int_eq(E.r->claim(E.r, "p", "i", "a1", &f), 0);
  arec_symbol_state s = {"BTC/USDT", 5, "{}"};
  arec_save sv[2] = {{"a1", f, "p", 1, &s}, {"a1", f, "p", 1, &s}};
  int res[2];
  ck_assert_int_eq(E.r->save_many(E.r, sv, 2, res), 0);
  ck_assert_int_eq(save1(&E, "a1", f, 5), 0);
  ck_assert_uint_eq(arec_memory_calls(E.st, AREC_MEMORY_REPOSITORY), 6);
  ck_assert_uint_eq(arec_memory_calls(E.st, AREC_MEMORY_SAVE), 2);
  ck_assert_uint_eq(
      arec_memory_calls(E.st, AREC_MEMORY_SAVE | AREC_MEMORY_REPOSITORY), 6);
  ck_assert_uint_eq(arec_memory_calls(E.st, AREC_MEMORY_LOCK), 0);
  arec_lease l;
  const char *keys[] = {"x", "y", "z"};
  arec_lease ls[3];
  int r3[3];
  ck_assert_int_eq(E.l->try_acquire(E.l, "k", "p", 5000, &l), 1);
  ck_assert_int_eq(E.l->try_acquire_many(E.l, keys, 3, "p", 5000, ls, r3), 0);
  ck_assert_int_eq(E.l->refresh_many(E.l, keys, ls, 3, 5000, r3), 0);
  ck_assert_uint_eq(arec_memory_calls(E.st, AREC_MEMORY_ACQUIRE), 2);
  ck_assert_uint_eq(arec_memory_calls(E.st, AREC_MEMORY_REFRESH), 1);
  ck_assert_uint_eq(arec_memory_calls(E.st, AREC_MEMORY_LOCK), 3);
}
END_TEST

START_TEST(delay_slows_calls_and_validity) {
  arec_lease l;
  arec_memory_delay(E.st, AREC_MEMORY_ACQUIRE, 150);
  long long t0 = now_ms();
  ck_assert_int_eq(E.l->try_acquire(E.l, "k", "p", 10000, &l), 1);
  ck_assert_int_ge(now_ms() - t0, 140);
  /* validity counts from the send: the delay is taken off */
  ck_assert_int_le(l.validity_ms, 10000 - 140);
  ck_assert_int_gt(l.validity_ms, 0);
  t0 = now_ms(); /* other targets are not delayed */
  ck_assert_int_eq(E.l->refresh(E.l, "k", &l, 10000), 0);
  ck_assert_int_lt(now_ms() - t0, 100);
  arec_memory_delay(E.st, AREC_MEMORY_ACQUIRE, 0);
  t0 = now_ms();
  ck_assert_int_eq(E.l->try_acquire(E.l, "k2", "p", 10000, &l), 1);
  ck_assert_int_lt(now_ms() - t0, 100);
}
END_TEST

/* ---------------------------------------------------------------- history */
START_TEST(history_keeps_last_1000) {
  agent1(&E, "a1");
  for (int i = 0; i < 1100; i++) {
    uint64_t f;
    ck_assert_int_eq(E.r->claim(E.r, "p", "i", "a1", &f), 0);
    ck_assert_uint_eq(f, (uint64_t)i + 1);
    ck_assert_int_eq(save1(&E, "a1", f, i), 0);
  }
  static uint64_t h[1200];
  size_t n = 0;
  ck_assert_int_eq(arec_memory_history(E.st, "a1", "BTC/USDT", h, 1200, &n),
                   0);
  ck_assert_uint_eq(n, 1000);
  for (size_t i = 0; i < n; i++)
    ck_assert_uint_eq(h[i], 101 + i);
  uint64_t few[10];
  ck_assert_int_eq(arec_memory_history(E.st, "a1", "BTC/USDT", few, 10, &n),
                   0);
  ck_assert_uint_eq(n, 1000);
  ck_assert_uint_eq(few[0], 101);
  ck_assert_uint_eq(few[9], 110);
  ck_assert_int_eq(arec_memory_history(E.st, "a1", "ETH/USDT", few, 10, &n),
                   AREC_ENOTFOUND);
}
END_TEST

/* --------------------------------------------------------- data/test API */
START_TEST(test_api_and_poison) {
  agent1(&E, "a1");
  double bal = 0;
  char *mem = NULL;
  uint64_t fence = 9;
  ck_assert_int_eq(
      arec_memory_state_get(E.st, "a1", "BTC/USDT", &bal, &mem, &fence), 0);
  ck_assert_double_eq(bal, 10);
  ck_assert_str_eq(mem, "{}");
  ck_assert_uint_eq(fence, 0);
  arec_free(mem);
  ck_assert_int_eq(
      arec_memory_state_get(E.st, "a1", "ETH/USDT", &bal, NULL, NULL),
      AREC_ENOTFOUND);
  ck_assert_int_eq(arec_memory_pod_expire(E.st, "nopod"), AREC_ENOTFOUND);

  /* poison: listed unreadable with the reason, no symbols; NULL heals */
  agent1(&E, "a2");
  ck_assert_int_eq(arec_memory_agent_poison(E.st, "zz", "x"), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_memory_agent_poison(E.st, "a2", "bad json"), 0);
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(E.r->agents_to_restore(E.r, NULL, &l), 0);
  ck_assert_uint_eq(l->n, 2);
  ck_assert_int_eq(l->rows[0].error, 0);
  ck_assert_int_eq(l->rows[1].error, AREC_EBACKEND);
  ck_assert_str_eq(l->rows[1].error_text, "bad json");
  ck_assert_uint_eq(l->rows[1].nsymbols, 0);
  arec_agent_list_free(l);
  ck_assert_int_eq(arec_memory_agent_poison(E.st, "a2", NULL), 0);
  ck_assert_int_eq(E.r->agents_to_restore(E.r, "a2", &l), 0);
  ck_assert_uint_eq(l->n, 1);
  ck_assert_int_eq(l->rows[0].error, 0);
  ck_assert_uint_eq(l->rows[0].nsymbols, 1);
  arec_agent_list_free(l);
}
END_TEST

/* An unassigned symbol is hidden but its history stays; assigning it again
 * starts it afresh. */
START_TEST(unassign_keeps_history) {
  agent1(&E, "a1");
  ck_assert_int_eq(arec_agent_assign(E.r, "a1", "ETH/USDT", 5), 0);
  uint64_t f;
  ck_assert_int_eq(E.r->claim(E.r, "p", "i", "a1", &f), 0);
  arec_symbol_state s = {"ETH/USDT", 4, "{\"x\":1}"};
  arec_save sv = {"a1", f, "p", 1, &s};
  ck_assert_int_eq(E.r->save_state(E.r, &sv), 0);
  ck_assert_int_eq(E.r->release(E.r, "a1", f), 0);
  ck_assert_int_eq(arec_agent_set_trading(E.r, "a1", 0), 0);
  ck_assert_int_eq(arec_agent_unassign(E.r, "a1", "ETH/USDT"), 0);
  size_t n = 0;
  ck_assert_int_eq(arec_memory_history(E.st, "a1", "ETH/USDT", NULL, 0, &n),
                   0);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(
      arec_memory_state_get(E.st, "a1", "ETH/USDT", NULL, NULL, NULL),
      AREC_ENOTFOUND);
  ck_assert_int_eq(E.r->save_state(E.r, &sv), AREC_EFENCED);
  ck_assert_int_eq(arec_agent_assign(E.r, "a1", "ETH/USDT", 8), 0);
  double bal = 0;
  char *mem = NULL;
  ck_assert_int_eq(
      arec_memory_state_get(E.st, "a1", "ETH/USDT", &bal, &mem, NULL), 0);
  ck_assert_double_eq(bal, 8);
  ck_assert_str_eq(mem, "{}");
  arec_free(mem);
}
END_TEST

/* The fault hooks cover the administration, backoff and role slots. */
START_TEST(faults_reach_the_new_slots) {
  agent1(&E, "a1");
  arec_memory_fail(E.st, AREC_MEMORY_REPOSITORY, -1, AREC_EUNAVAILABLE);
  ck_assert_int_eq(toy_create(E.r, "a2", 0, "toy", "n", NULL, NULL, NULL),
                   AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_agent_assign(E.r, "a1", "ETH/USDT", 1),
                   AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_agent_delete(E.r, "a1"), AREC_EUNAVAILABLE);
  arec_agent_record *a = NULL;
  ck_assert_int_eq(arec_agent_get(E.r, "a1", &a), AREC_EUNAVAILABLE);
  arec_pod_record *p = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_pod_list(E.r, &p, &n), AREC_EUNAVAILABLE);
  ck_assert_int_eq(E.r->start_failed(E.r, "a1", 1, "x", 1, 1, NULL),
                   AREC_EUNAVAILABLE);
  ck_assert_int_eq(E.r->set_error(E.r, "a1", 0, "x"), AREC_EUNAVAILABLE);
  arec_role_lease lease;
  ck_assert_int_eq(arec_role_claim(E.r, "r1", "h/1", 1000, &lease),
                   AREC_EUNAVAILABLE);
  arec_memory_fail(E.st, AREC_MEMORY_REPOSITORY, 0, 0);
  ck_assert_int_eq(arec_agent_get(E.r, "a1", &a), 0); /* nothing changed */
  ck_assert_uint_eq(a->nsymbols, 1);
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(toy_create(E.r, "a2", 0, "toy", "n", NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(save_unknown_symbol_writes_nothing) {
  agent1(&E, "a1");
  uint64_t f;
  ck_assert_int_eq(E.r->claim(E.r, "p", "i", "a1", &f), 0);
  arec_symbol_state s[2] = {{"BTC/USDT", 1, "{\"a\":1}"},
                            {"DOGE/USDT", 2, "{}"}};
  arec_save sv = {"a1", f, "p", 2, s};
  ck_assert_int_eq(E.r->save_state(E.r, &sv), AREC_ENOTFOUND);
  double bal = 0;
  size_t n = 9;
  ck_assert_int_eq(
      arec_memory_state_get(E.st, "a1", "BTC/USDT", &bal, NULL, NULL), 0);
  ck_assert_double_eq(bal, 10);
  ck_assert_int_eq(arec_memory_history(E.st, "a1", "BTC/USDT", NULL, 0, &n),
                   0);
  ck_assert_uint_eq(n, 0);
  /* fence 0 is never a valid token, even on a never-claimed agent */
  agent1(&E, "a2");
  ck_assert_int_eq(save1(&E, "a2", 0, 1), AREC_EFENCED);
  ck_assert_int_eq(save1(&E, "nope", 1, 1), AREC_ENOTFOUND);
}
END_TEST

START_TEST(lock_force_and_drop) {
  arec_lease l;
  ck_assert_int_eq(arec_memory_lock_force(E.st, "k", "other/x", 5000), 0);
  char buf[64];
  int64_t ttl = 0;
  ck_assert_int_eq(arec_memory_lock_peek(E.st, "k", buf, sizeof buf, &ttl),
                   0);
  ck_assert_str_eq(buf, "other/x");
  ck_assert(ttl > 0 && ttl <= 5000);
  ck_assert_int_eq(E.l->try_acquire(E.l, "k", "p", 5000, &l), 0);
  ck_assert_int_eq(arec_memory_lock_drop(E.st, "k"), 0);
  ck_assert_int_eq(E.l->try_acquire(E.l, "k", "p", 5000, &l), 1);
  ck_assert_int_eq(arec_memory_lock_peek(E.st, "k", buf, sizeof buf, NULL),
                   0);
  ck_assert_str_eq(buf, l.value);
  /* a lock stolen behind our back: refresh says lost, release keeps it */
  ck_assert_int_eq(arec_memory_lock_force(E.st, "k", "thief/y", 5000), 0);
  ck_assert_int_eq(E.l->refresh(E.l, "k", &l, 5000), AREC_ELOST);
  ck_assert_int_eq(E.l->release(E.l, "k", &l), 1);
  ck_assert_int_eq(arec_memory_lock_peek(E.st, "k", buf, sizeof buf, NULL),
                   0);
  ck_assert_str_eq(buf, "thief/y");
}
END_TEST

/* ------------------------------------------------------ handles & lifetime */
START_TEST(handles_share_store_any_free_order) {
  arec_repository *r1, *r2;
  arec_lock *l1, *l2;
  arec_memory_store *st = toy_store(NULL, 0);
  ck_assert_int_eq(arec_memory_repository_new(&r1, st), 0);
  ck_assert_int_eq(arec_memory_repository_new(&r2, st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&l1, st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&l2, st), 0);
  ck_assert_int_eq(toy_create(r2, "a1", 0, "toy", "n", NULL, NULL, NULL), 0);
  ck_assert_int_eq(arec_agent_assign(r1, "a1", "BTC/USDT", 1), 0);
  ck_assert_int_eq(r1->set_trading(r1, "a1", 1), 0);
  uint64_t f1, f2;
  ck_assert_int_eq(r1->claim(r1, "p1", "i1", "a1", &f1), 0);
  ck_assert_int_eq(r2->claim(r2, "p2", "i2", "a1", &f2), 0);
  ck_assert_uint_eq(f2, f1 + 1);
  arec_lease a, b;
  ck_assert_int_eq(l1->try_acquire(l1, "k", "p1", 5000, &a), 1);
  ck_assert_int_eq(l2->try_acquire(l2, "k", "p2", 5000, &b), 0);
  /* the store freed first: handles keep it alive until the last goes */
  arec_memory_store_free(st);
  ck_assert_int_eq(l2->release(l2, "k", &a), 0);
  r1->free(r1);
  l1->free(l1);
  ck_assert_int_eq(r2->release(r2, "a1", f2), 0);
  r2->free(r2);
  l2->free(l2);
  arec_memory_store_free(NULL);
  ck_assert_int_eq(arec_memory_store_new(NULL), AREC_EINVAL);
  arec_repository *rn = (arec_repository *)1;
  ck_assert_int_eq(arec_memory_repository_new(&rn, NULL), AREC_EINVAL);
  ck_assert_ptr_null(rn);
}
END_TEST

START_TEST(ten_thousand_agents) {
  enum { N = 10000 };
  static char names[N][16];
  static const char *ids[N];
  static uint64_t fences[N];
  static int res[N];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "ag%d", i);
    ids[i] = names[i];
    agent1(&E, ids[i]);
  }
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(E.r->agents_to_restore(E.r, NULL, &l), 0);
  ck_assert_uint_eq(l->n, N);
  ck_assert_str_eq(l->rows[N - 1].id, "ag9999"); /* creation order */
  arec_agent_list_free(l);
  ck_assert_int_eq(E.r->heartbeat(E.r, "p", "i", 60000, 0), 0);
  ck_assert_int_eq(E.r->claim_many(E.r, "p", "i", ids, N, fences, res), 0);
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(res[i], 0);
  ck_assert_int_eq(E.r->agents_to_restore(E.r, NULL, &l), 0);
  ck_assert_uint_eq(l->n, 0);
  arec_agent_list_free(l);
  static unsigned char u[N];
  ck_assert_int_eq(E.r->unwanted(E.r, "p", "i", ids, N, u), 0);
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(u[i], 0);
}
END_TEST

/* ------------------------------------------------------------------- main */
int main(void) {
  const TTest *tests[] = {manual_clock_expires_locks_and_pods,
      clock_real_until_manual, fail_next_n_calls, calls_counted,
      delay_slows_calls_and_validity, history_keeps_last_1000,
      test_api_and_poison, unassign_keeps_history, faults_reach_the_new_slots,
      save_unknown_symbol_writes_nothing, lock_force_and_drop,
      handles_share_store_any_free_order, ten_thousand_agents, NULL};
  Suite *s = suite_create("memory");
  arec_conf_repository_add(s, &repo_fixture);
  arec_conf_lock_add(s, &lock_fixture);
  arec_conf_lock_add(s, &podlease_fixture);
  TCase *tc = arec_test_cases(s, "memory-backend", 20, tests);
  tcase_add_checked_fixture(tc, setup, teardown);
  int rc = arec_test_run(s);
  arec_memory_store_free(ctx.st);
  return rc;
}
