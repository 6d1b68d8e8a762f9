/*
 * conformance.h -- the conformance suites of the repository and lock
 * vtables.  One suite per vtable lives here and runs against every backend
 * (memory, PostgreSQL, Redis) through a fixture the backend's test provides.
 *
 * Use (in a backend's test_*.c):
 *     Suite *s = suite_create("pg");
 *     arec_conf_repository_add(s, &my_repo_fixture);
 *     arec_conf_lock_add(s, &my_lock_fixture);
 * The fixture's ctx must stay valid while the suite runs (file-static is
 * fine).  Tests run with CK_FORK as Check defaults; servers are started by
 * the backend's test before srunner_run_all() and survive across forks.
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

/* Adds a TCase "<name>-repository-conformance" to `s`. */
void arec_conf_repository_add(Suite *s, const arec_repo_fixture *f);
/* Adds a TCase "<name>-lock-conformance" to `s`, and in pod-lease mode a
 * TCase "<name>-lock-rules" (arec_conf_podlease_add). */
void arec_conf_lock_add(Suite *s, const arec_lock_fixture *f);

/* Called by the two functions above (a fixture need not call them): the
 * repository version-2 slots (balance, pod_leaving, migrate) as TCase
 * "<name>-balance-conformance", and the lock pod-lease rules as TCase
 * "<name>-lock-rules". */
void arec_conf_balance_add(Suite *s, const arec_repo_fixture *f);
void arec_conf_podlease_add(Suite *s, const arec_lock_fixture *f);

#endif
