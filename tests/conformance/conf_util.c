/*
 * conf_util.c -- helpers shared by the conformance suites: the runners of
 * their tests (CONF_REPO_TEST, CONF_LOCK_TEST; one entry per test and
 * fixture, whose index is the test's _i, in a TCase per fixture and
 * suite), which reset the fixture, open the repository a test needs (a
 * repository without it passes the test) or the suite's lock, run the body
 * and free what they opened; and for the version-3 suites (admin, backoff,
 * roles) opening a repository that must have the slots of version 3,
 * making agents through the administration API, reading them back, and
 * moving the repository's clock through the fixture.
 *
 * A repository older than version 3 makes arec_conf_open_v3 answer NULL
 * (the test then passes: those slots do not exist there); a version-3 one
 * missing a slot fails the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance.h"
#include "../support/runner.h"
#include "../support/toy_agent.h"

/* ------------------------------------------------------------ registry */
#define MAX_CASES 64

/* A TCase "<fixture_name>-<suite>" in s (Check keeps the name's pointer). */
static TCase *fixture_tcase(Suite *s, const char *fixture_name,
                            const char *suite, double timeout_s) {
  static char names[MAX_CASES][128];
  static int nnames;
  if (nnames == MAX_CASES)
    return NULL;
  char *name = names[nnames++];
  snprintf(name, sizeof names[0], "%s-%s", fixture_name, suite);
  return arec_test_tcase(s, name, timeout_s);
}

/* --------------------------------------------- repository and lock tests */
/* One test for one fixture; its index is the test's _i. */
#define MAX_RUNS 512
static struct conf_run {
  const void *fixture; /* an arec_repo_fixture or an arec_lock_fixture */
  const arec_conf_test *t;
  arec_lock *(*open)(const arec_lock_fixture *f); /* lock tests */
  void (*close)(arec_lock *l);
} runs[MAX_RUNS];
static TTest run_ttests[MAX_RUNS];
static int nruns;

/* The repository for a test that needs `need`, NULL when it lacks that. */
static arec_repository *open_for(const arec_repo_fixture *f, int need) {
  if (need & (CONF_ADMIN | CONF_BACKOFF | CONF_ROLES))
    return arec_conf_open_v3(f, need);
  arec_repository *r = NULL;
  ck_assert_int_eq(f->open(f->ctx, &r), 0);
  ck_assert_ptr_nonnull(r);
  if ((need & CONF_FLEET) &&
      (r->version < 2 || !r->fleet || !r->pod_leaving || !r->migrate)) {
    r->free(r);
    return NULL;
  }
  return r;
}

static void run_repo_test(int k) {
  const arec_repo_fixture *f = runs[k].fixture;
  f->reset(f->ctx);
  arec_repository *r = open_for(f, runs[k].t->need);
  if (!r)
    return;
  runs[k].t->repo_fn(f, r);
  r->free(r);
}

static void run_lock_test(int k) {
  const arec_lock_fixture *f = runs[k].fixture;
  f->reset(f->ctx);
  arec_lock *l = runs[k].open(f);
  if (!l)
    return;
  runs[k].t->lock_fn(f, l);
  if (runs[k].close)
    runs[k].close(l);
}

/* A TCase of tests[0..n) for one fixture, each run by fn. */
static void add_runs(Suite *s, struct conf_run proto, const char *fixture_name,
                     const char *suite, double timeout_s, TFun fn,
                     const arec_conf_test *const *tests, size_t n) {
  TCase *tc = fixture_tcase(s, fixture_name, suite, timeout_s);
  for (size_t k = 0; tc && k < n && nruns < MAX_RUNS; k++) {
    int i = nruns++;
    runs[i] = proto;
    runs[i].t = tests[k];
    TTest t = {tests[k]->name, fn, tests[k]->file, tests[k]->line};
    run_ttests[i] = t;
    tcase_add_loop_test(tc, &run_ttests[i], i, i + 1);
  }
}

void arec_conf_add_repo_tests(Suite *s, const arec_repo_fixture *f,
                              const char *suite, double timeout_s,
                              const arec_conf_test *const *tests, size_t n) {
  struct conf_run proto = {f, NULL, NULL, NULL};
  add_runs(s, proto, f->name, suite, timeout_s, run_repo_test, tests, n);
}

void arec_conf_add_lock_tests(Suite *s, const arec_lock_fixture *f,
                              const char *suite, double timeout_s,
                              arec_lock *(*open)(const arec_lock_fixture *f),
                              void (*close)(arec_lock *l),
                              const arec_conf_test *const *tests, size_t n) {
  struct conf_run proto = {f, NULL, open, close};
  add_runs(s, proto, f->name, suite, timeout_s, run_lock_test, tests, n);
}

/* ------------------------------------------------------- version 3 */
arec_repository *arec_conf_open_v3(const arec_repo_fixture *f, int slots) {
  arec_repository *r = NULL;
  ck_assert_int_eq(f->open(f->ctx, &r), 0);
  ck_assert_ptr_nonnull(r);
  if (r->version < 3) {
    r->free(r);
    return NULL;
  }
  if (f->advance) /* a manual clock stops here, so waits are exact */
    f->advance(f->ctx, 0);
  if (slots & CONF_ADMIN)
    ck_assert_msg(r->agent_create && r->agent_assign && r->agent_unassign &&
                      r->set_active && r->agent_delete && r->agent_get &&
                      r->agent_list && r->pod_list,
                  "a version-3 repository lacks an administration slot");
  if (slots & CONF_BACKOFF)
    ck_assert_msg(r->start_failed && r->start_ok && r->set_error,
                  "a version-3 repository lacks a backoff slot");
  if (slots & CONF_ROLES)
    ck_assert_msg(r->role_claim && r->role_keep && r->role_release &&
                      r->role_check,
                  "a version-3 repository lacks a role slot");
  return r;
}

void arec_conf_make(arec_repository *r, const char *id, long long user_id,
                    size_t nsym, int trading) {
  char got[AREC_AGENT_ID_MAX + 1];
  int rc = toy_create(r, id, user_id, "toy", id, NULL, NULL, got);
  ck_assert_msg(rc == 0, "create %s: %s %s", id, arec_err_name(rc),
                arec_error_last());
  ck_assert_str_eq(got, id);
  if (nsym > 0)
    ck_assert_int_eq(arec_agent_assign(r, id, "BTC/USDT", 100.0), 0);
  if (nsym > 1)
    ck_assert_int_eq(arec_agent_assign(r, id, "ETH/USDT", 50.0), 0);
  if (trading)
    ck_assert_int_eq(arec_agent_set_trading(r, id, 1), 0);
}

int arec_conf_create(arec_repository *r, const char *id, long long user_id,
                     const char *strategy, const char *name,
                     const char *params, const char *requires) {
  return toy_create(r, id, user_id, strategy, name, params, requires, NULL);
}

arec_agent_record *arec_conf_get(arec_repository *r, const char *id) {
  arec_agent_record *rec = NULL;
  int rc = arec_agent_get(r, id, &rec);
  ck_assert_msg(rc == 0, "get %s: %s %s", id, arec_err_name(rc),
                arec_error_last());
  ck_assert_ptr_nonnull(rec);
  return rec;
}

int arec_conf_restorable(arec_repository *r, const char *id) {
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, id, &l), 0);
  ck_assert_ptr_nonnull(l);
  int found = l->n == 1;
  arec_agent_list_free(l);
  return found;
}

void arec_conf_add(const arec_repo_fixture *f, arec_repository *r,
                   const char *id, size_t nsym, int trading) {
  static const char *const syms[] = {"BTC/USDT", "ETH/USDT"};
  static const double budgets[] = {100.0, 50.0};
  ck_assert_int_eq(f->add_agent(f->ctx, id, 7, "toy", syms, budgets, nsym),
                   0);
  if (trading)
    ck_assert_int_eq(r->set_trading(r, id, 1), 0);
}

arec_conf_agent arec_conf_read(const arec_repo_fixture *f, const char *id) {
  arec_conf_agent a;
  memset(&a, 0, sizeof a);
  ck_assert_int_eq(f->get_agent(f->ctx, id, &a), 0);
  return a;
}

int arec_conf_unwanted1(arec_repository *r, const char *pod, const char *inc,
                        const char *id) {
  unsigned char u = 42;
  const char *ids[] = {id};
  ck_assert_int_eq(r->unwanted(r, pod, inc, ids, 1, &u), 0);
  return u;
}

int64_t arec_conf_pod_lease(arec_lock *l, const char *holder, int64_t ttl) {
  int64_t v = -1;
  int rc = l->pod_lease(l, holder, ttl, 0, &v);
  ck_assert_msg(rc == 0, "pod_lease(%s): %s %s", holder, arec_err_name(rc),
                arec_error_last());
  ck_assert_int_gt(v, 0);
  ck_assert_int_le(v, ttl);
  return v;
}

void arec_conf_advance(const arec_repo_fixture *f, int64_t ms) {
  if (f->advance) {
    f->advance(f->ctx, ms);
    return;
  }
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

static int64_t ms_on(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t arec_conf_wall_ms(void) { return ms_on(CLOCK_REALTIME); }

int64_t arec_conf_mono_ms(void) { return ms_on(CLOCK_MONOTONIC); }

/* ------------------------------------------------------------ key batches */
#define BATCH_KEY_MAX 64

arec_conf_batch arec_conf_batch_new(size_t n, const char *tag) {
  arec_conf_batch b;
  size_t room = n ? n : 1;
  b.n = n;
  b.names = calloc(room, BATCH_KEY_MAX);
  b.keys = calloc(room, sizeof *b.keys);
  b.leases = calloc(room, sizeof *b.leases);
  b.res = calloc(room, sizeof *b.res);
  ck_assert(b.names && b.keys && b.leases && b.res);
  for (size_t i = 0; i < n; i++) {
    char *name = b.names + i * BATCH_KEY_MAX;
    snprintf(name, BATCH_KEY_MAX, "agent:lock:%s-%zu", tag, i);
    b.keys[i] = name;
  }
  return b;
}

void arec_conf_batch_mark(arec_conf_batch *b) {
  for (size_t i = 0; i < b->n; i++)
    b->res[i] = 99;
}

void arec_conf_batch_free(arec_conf_batch *b) {
  free(b->names);
  free(b->keys);
  free(b->leases);
  free(b->res);
}
