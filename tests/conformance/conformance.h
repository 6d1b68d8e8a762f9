/*
 * conformance.h -- the conformance suites of the repository and lock
 * vtables.  They are written once and run against every backend (memory,
 * PostgreSQL, Redis) through a fixture the backend's test provides.
 *
 * Use (in a backend's test_*.c):
 *     Suite *s = suite_create("pg");
 *     arec_conf_repository_add(s, &my_repo_fixture);
 *     arec_conf_lock_add(s, &my_lock_fixture);
 * The fixture's ctx must stay valid while the suite runs (file-static is
 * fine).  Tests run with CK_FORK as Check defaults; servers are started by
 * the backend's test before srunner_run_all() and survive across forks.
 *
 * What a repository fixture must provide (arec_repo_fixture below):
 *   reset, open, add_agent, set_active, get_agent, get_state, get_history,
 *   expire_pod   -- every backend (the version-1/2 suites use them);
 *   advance      -- the version-3 suites move the repository's clock with
 *                   it (backoff waits, role leases); manual_clock says
 *                   whether it jumps (memory) or sleeps (a real clock:
 *                   PostgreSQL passes a function that sleeps ms, or NULL);
 *   poison       -- optional: make one agent's row unreadable.
 * The version-3 suites (admin, backoff, roles) create agents through the
 * administration API (arec_agent_create ...) and read them back with
 * arec_agent_get, so they need nothing else from the fixture; reset must
 * also empty the roles.  A repository of version 3 must implement every
 * slot those suites use (a NULL slot fails them); an older one skips them.
 */
#ifndef AREC_TESTS_CONFORMANCE_H
#define AREC_TESTS_CONFORMANCE_H

#include <check.h>
#include <stdint.h>

#include "agentrecover.h"
#include "agentrecover/sys/lock.h"
#include "agentrecover/sys/repository.h"

/* What a repository test can read back about an agent. */
typedef struct arec_conf_agent {
  int is_active;
  int is_trading;
  uint64_t fence;
  char running_on[128];         /* "" when NULL */
  char running_incarnation[64]; /* "" when NULL */
} arec_conf_agent;

typedef struct arec_repo_fixture {
  const char *name; /* "memory", "pg": prefixes the test case names */
  void *ctx;
  /* Empties every table / the store (called before each test). */
  void (*reset)(void *ctx);
  /* A new repository handle on the same data (the test frees it with
   * repo->free). */
  int (*open)(void *ctx, arec_repository **out);
  /* Creates user `user_id` (if needed), an exchange and a trading pair for
   * each symbol, the agent, and assigns each symbol with budgets[i]. */
  int (*add_agent)(void *ctx, const char *id, long long user_id,
                   const char *strategy, const char *const *symbols,
                   const double *budgets, size_t n);
  int (*set_active)(void *ctx, const char *id, int active);
  int (*get_agent)(void *ctx, const char *id, arec_conf_agent *out);
  /* One symbol's state; *out_memory freed with free(). */
  int (*get_state)(void *ctx, const char *id, const char *symbol,
                   double *out_balance, char **out_memory,
                   uint64_t *out_fence);
  /* Number of history rows of (id, symbol) and the fences in save order
   * (out_fences may be NULL; at most max). */
  int (*get_history)(void *ctx, const char *id, const char *symbol,
                     uint64_t *out_fences, size_t max, size_t *out_n);
  /* Makes pod's liveness row expire now. */
  int (*expire_pod)(void *ctx, const char *pod);

  /* ---- the version-3 suites (admin, backoff, roles) ---- */
  /* Moves the repository's clock forward by at least ms.  NULL: the suites
   * sleep ms themselves (a real clock).  Each version-3 test calls it with
   * 0 first (a manual clock then stops moving on its own). */
  void (*advance)(void *ctx, int64_t ms);
  /* 1 when advance moves the clock exactly without real time passing (the
   * memory store's manual clock): the suites then also check that a wait
   * has NOT ended just before its end; with a real clock they check that
   * only when their own elapsed time shows it must still be running. */
  int manual_clock;
  /* Optional (NULL: skipped).  Makes agent id's row unreadable the way a
   * corrupt stored state would (agents_to_restore must list it with error
   * < 0 and error_text, and still list every other row). */
  int (*poison)(void *ctx, const char *id, const char *reason);
} arec_repo_fixture;

typedef struct arec_lock_fixture {
  const char *name; /* "memory", "redis1", "redis3" */
  void *ctx;
  void (*reset)(void *ctx); /* deletes every key */
  int (*open)(void *ctx, arec_lock **out);
  /* Makes `key` expire now (on every server). */
  int (*expire)(void *ctx, const char *key);
  /* Overwrites `key`'s value behind the lock's back (on every server),
   * keeping a TTL of ttl_ms. */
  int (*overwrite)(void *ctx, const char *key, const char *value,
                   int64_t ttl_ms);
  /* Remaining TTL of `key` in ms (max over servers); -2 when absent. */
  int64_t (*ttl)(void *ctx, const char *key);
  /* 0: owners are plain pod names.  1: pod-lease mode: every test runs with
   * owners that are pod-lease holders ("<pod>/<32 hex>", as the manager
   * passes them when pod leases are on) whose leases were taken with
   * lock->pod_lease first, and the pod-lease tests run too.  A lock whose
   * pod_lease slot is NULL (or a version-1 lock) skips this mode. */
  int pod_lease_mode;
} arec_lock_fixture;

/* Adds a TCase "<name>-repository-conformance" to `s`, and the TCases of
 * the fleet, admin, backoff and roles suites below. */
void arec_conf_repository_add(Suite *s, const arec_repo_fixture *f);
/* Adds a TCase "<name>-lock-conformance" to `s`, and in pod-lease mode a
 * TCase "<name>-lock-rules" (arec_conf_podlease_add). */
void arec_conf_lock_add(Suite *s, const arec_lock_fixture *f);

/* Called by the two functions above (a fixture need not call them):
 *   "<name>-fleet-conformance"   version-2 slots: fleet, pod_leaving,
 *                                migrate (fleet_conformance.c);
 *   "<name>-admin-conformance"   version-3 administration slots
 *                                (admin_conformance.c);
 *   "<name>-backoff-conformance" version-3 start_failed, start_ok,
 *                                set_error, the new row fields
 *                                (backoff_conformance.c);
 *   "<name>-roles-conformance"   version-3 role slots
 *                                (role_conformance.c);
 *   "<name>-lock-rules"          the lock's pod-lease rules. */
void arec_conf_fleet_add(Suite *s, const arec_repo_fixture *f);
void arec_conf_admin_add(Suite *s, const arec_repo_fixture *f);
void arec_conf_backoff_add(Suite *s, const arec_repo_fixture *f);
void arec_conf_roles_add(Suite *s, const arec_repo_fixture *f);
void arec_conf_podlease_add(Suite *s, const arec_lock_fixture *f);

/* ------------------------------------------- shared helpers (conf_util.c) */
/* A test of the conformance suites, declared like START_TEST and written
 * as a body that sees the fixture f and what the runner opened on it:
 *     CONF_REPO_TEST(claim_bumps_fence, 0) { ... r->claim(r, ...) ... }
 *     CONF_LOCK_TEST(refresh_extends) { ... l->refresh(l, ...) ... }
 * A repository test says what it needs (0: any repository; CONF_FLEET; or
 * CONF_ADMIN / CONF_BACKOFF / CONF_ROLES, as arec_conf_open_v3 checks
 * them); the runner resets the fixture, opens r (a repository without what
 * the test needs passes it), runs the body and frees r.  A lock test runs
 * on the lock the suite's open function gives (after the reset; NULL: the
 * test passes), freed after the body by the suite's close function, or by
 * the body itself when the suite has none. */
typedef struct arec_conf_test {
  const char *name;
  int need;
  void (*repo_fn)(const arec_repo_fixture *f, arec_repository *r);
  void (*lock_fn)(const arec_lock_fixture *f, arec_lock *l);
  const char *file;
  int line;
} arec_conf_test;
#define CONF_TEST_(id, need_, slot, fixture_t, backend_t, b)                  \
  static void id##_body(const fixture_t *f, backend_t *b);                    \
  static const arec_conf_test id##_test = {                                   \
      .name = #id, .need = need_, .slot = id##_body, .file = __FILE__,        \
      .line = __LINE__};                                                      \
  static const arec_conf_test *const id = &id##_test;                         \
  static void id##_body(const fixture_t *f __attribute__((unused)),           \
                        backend_t *b)
#define CONF_REPO_TEST(id, need)                                              \
  CONF_TEST_(id, need, repo_fn, arec_repo_fixture, arec_repository, r)
#define CONF_LOCK_TEST(id)                                                    \
  CONF_TEST_(id, 0, lock_fn, arec_lock_fixture, arec_lock, l)
/* Add a TCase "<f->name>-<suite>" to s, timeout_s seconds per test, that
 * runs tests[0..n) for f (the lock tests with open and close). */
void arec_conf_add_repo_tests(Suite *s, const arec_repo_fixture *f,
                              const char *suite, double timeout_s,
                              const arec_conf_test *const *tests, size_t n);
void arec_conf_add_lock_tests(Suite *s, const arec_lock_fixture *f,
                              const char *suite, double timeout_s,
                              arec_lock *(*open)(const arec_lock_fixture *f),
                              void (*close)(arec_lock *l),
                              const arec_conf_test *const *tests, size_t n);

/* Shared by the version-3 suites. */
/* The repository when it is version 3 (checked to have every slot in
 * `slots`, a bitmask of CONF_*), else NULL (freed): the test passes. */
enum {
  CONF_ADMIN = 1,   /* agent_create .. pod_list */
  CONF_BACKOFF = 2, /* start_failed, start_ok, set_error */
  CONF_ROLES = 4,   /* role_claim .. role_check */
  CONF_FLEET = 8    /* version 2: fleet, pod_leaving, migrate */
};
arec_repository *arec_conf_open_v3(const arec_repo_fixture *f, int slots);
/* Creates agent id (user_id, strategy "toy", name = id) with the symbols
 * BTC/USDT (100) and, nsym 2, ETH/USDT (50) through the administration
 * API; wanted when trading. */
void arec_conf_make(arec_repository *r, const char *id, long long user_id,
                    size_t nsym, int trading);
/* arec_agent_create of agent id with these fields: its return code. */
int arec_conf_create(arec_repository *r, const char *id, long long user_id,
                     const char *strategy, const char *name,
                     const char *params, const char *requires);
/* arec_agent_get, asserted to succeed; free with arec_agent_records_free. */
arec_agent_record *arec_conf_get(arec_repository *r, const char *id);
/* Agent id of user 7, strategy "toy", through the fixture's add_agent, with
 * the symbols BTC/USDT (100) and, nsym 2, ETH/USDT (50); wanted when
 * trading (r->set_trading). */
void arec_conf_add(const arec_repo_fixture *f, arec_repository *r,
                   const char *id, size_t nsym, int trading);
/* What the fixture reads back about agent id (asserted to succeed). */
arec_conf_agent arec_conf_read(const arec_repo_fixture *f, const char *id);
/* Takes or renews holder's pod lease of ttl ms on l, asserted to succeed
 * with a validity in (0, ttl]; the validity. */
int64_t arec_conf_pod_lease(arec_lock *l, const char *holder, int64_t ttl);
/* What unwanted() answers for agent id alone, as pod's incarnation inc
 * (asserted to succeed). */
int arec_conf_unwanted1(arec_repository *r, const char *pod, const char *inc,
                        const char *id);
/* 1 when id is in agents_to_restore(id). */
int arec_conf_restorable(arec_repository *r, const char *id);
/* Moves the repository's clock by ms (fixture advance, else sleeps). */
void arec_conf_advance(const arec_repo_fixture *f, int64_t ms);
int64_t arec_conf_wall_ms(void);
int64_t arec_conf_mono_ms(void);

/* n lock keys "agent:lock:<tag>-<i>" and room for what a batch call of the
 * lock (try_acquire_many, refresh_many, release_many) writes back. */
typedef struct arec_conf_batch {
  size_t n;
  const char **keys;
  arec_lease *leases;
  int *res;
  char *names; /* the keys' text */
} arec_conf_batch;
arec_conf_batch arec_conf_batch_new(size_t n, const char *tag);
/* Sets every per-key result to 99, a value no batch call answers, so that
 * a key the call skipped shows. */
void arec_conf_batch_mark(arec_conf_batch *b);
void arec_conf_batch_free(arec_conf_batch *b);

#endif
