/*
 * lock_conformance.c -- the conformance suite of the distributed-lock vtable
 * (agentrecover/sys/lock.h), generic over a fixture (conformance.h).  Every
 * backend's test runs it: memory, Redis with one and with three masters.
 *
 * Each test resets the fixture and checks the lock's answers against what
 * the fixture sees on the server(s): value format and uniqueness, held vs
 * free, refresh after expiry or overwrite, compare-and-delete release,
 * validity bounds, the batch slots over 1,000 keys, and bad input.
 * Each test is a CONF_LOCK_TEST body that conf_util's runner runs once per
 * fixture on the lock open_lock() gives, so one binary can run several
 * fixtures.  In pod-lease mode (fixture->pod_lease_mode) the same tests run
 * with owners that are pod-lease holders "<pod>/<32 hex>": the lock under
 * test holds OWNER's pod lease and a second lock (the keeper) holds
 * OTHER's, so no value here is
 * ever taken over; the pod-lease rules themselves are in
 * podlease_conformance.c.  A lock without the pod_lease slot skips the mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define KEY "agent:lock:conf-1"
#define TTL 10000
#define POD_LEASE_TTL 60000

/* The owners of the running test (open_lock() picks them for the mode). */
static char g_owner[96], g_other[96];
#define OWNER ((const char *)g_owner)
#define OTHER ((const char *)g_other)
static int g_pod_mode;
static arec_lock *g_keeper; /* holds OTHER's pod lease in pod-lease mode */

/* ---------------------------------------------------------------- helpers */
static int has_pod_lease(const arec_lock *l) {
  return l->version >= 2 && l->pod_lease != NULL;
}

static void take_pod_lease(arec_lock *l, const char *holder) {
  arec_conf_pod_lease(l, holder, POD_LEASE_TTL);
}

/* The owners of the test about to run, as f's mode wants them. */
static void pick_owners(const arec_lock_fixture *f) {
  g_pod_mode = f->pod_lease_mode;
  snprintf(g_owner, sizeof g_owner, "%s",
           g_pod_mode ? "conf-pod-a/0123456789abcdef0123456789abcdef"
                      : "conf-pod-a");
  snprintf(g_other, sizeof g_other, "%s",
           g_pod_mode ? "conf-pod-b/fedcba9876543210fedcba9876543210"
                      : "conf-pod-b");
}

/* The lock under test; NULL when the mode does not apply to this backend
 * (pod-lease mode and no pod_lease slot): the test then passes at once. */
static arec_lock *open_lock(const arec_lock_fixture *f) {
  pick_owners(f);
  arec_lock *l = NULL;
  ck_assert_int_eq(f->open(f->ctx, &l), 0);
  ck_assert_ptr_nonnull(l);
  if (!g_pod_mode)
    return l;
  if (!has_pod_lease(l)) {
    l->free(l);
    return NULL;
  }
  take_pod_lease(l, OWNER);
  ck_assert_int_eq(f->open(f->ctx, &g_keeper), 0);
  take_pod_lease(g_keeper, OTHER);
  return l;
}

static void close_lock(arec_lock *l) {
  l->free(l);
  if (g_keeper)
    g_keeper->free(g_keeper);
  g_keeper = NULL;
}

/* "<OTHER>/<hex>" into buf: a value as another owner's acquire makes it. */
static const char *other_value(char *buf, size_t len, const char *hex) {
  snprintf(buf, len, "%s/%s", OTHER, hex);
  return buf;
}

static void assert_value(const char *value, const char *owner) {
  size_t n = strlen(owner);
  ck_assert_msg(strncmp(value, owner, n) == 0 && value[n] == '/',
                "value %s does not start with %s/", value, owner);
  const char *hex = value + n + 1;
  ck_assert_uint_eq(strlen(hex), 32);
  for (size_t i = 0; i < 32; i++)
    ck_assert_msg(strchr("0123456789abcdefABCDEF", hex[i]) && hex[i],
                  "not hex: %s", value);
}

static void acquire(arec_lock *l, const char *key, const char *owner,
                    int64_t ttl, arec_lease *out) {
  memset(out, 0, sizeof *out);
  ck_assert_int_eq(l->try_acquire(l, key, owner, ttl, out), 1);
}

/* ------------------------------------------------------------------ tests */
CONF_LOCK_TEST(acquire_free_then_held) {
  arec_lease a, b;
  acquire(l, KEY, OWNER, TTL, &a);
  assert_value(a.value, OWNER);
  ck_assert_int_gt(a.validity_ms, 0);
  ck_assert_int_le(a.validity_ms, TTL);
  int64_t ttl = f->ttl(f->ctx, KEY);
  ck_assert_int_gt(ttl, 0);
  ck_assert_int_le(ttl, TTL);
  memset(&b, 0, sizeof b);
  ck_assert_int_eq(l->try_acquire(l, KEY, OTHER, TTL, &b), 0);
  ck_assert_int_eq(l->try_acquire(l, KEY, OWNER, TTL, &b), 0);
  /* still ours */
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), 0);
}

CONF_LOCK_TEST(values_unique) {
  enum { N = 40 };
  char vals[2 * N][AREC_LOCK_VALUE_MAX];
  for (int i = 0; i < N; i++) { /* same key, again and again */
    arec_lease a;
    acquire(l, KEY, OWNER, TTL, &a);
    snprintf(vals[i], sizeof vals[i], "%s", a.value);
    ck_assert_int_eq(l->release(l, KEY, &a), 0);
  }
  for (int i = 0; i < N; i++) { /* different keys */
    char key[64];
    snprintf(key, sizeof key, "agent:lock:conf-u%d", i);
    arec_lease a;
    acquire(l, key, OWNER, TTL, &a);
    snprintf(vals[N + i], sizeof vals[N + i], "%s", a.value);
  }
  for (int i = 0; i < 2 * N; i++)
    for (int j = i + 1; j < 2 * N; j++)
      ck_assert_str_ne(vals[i], vals[j]);
}

CONF_LOCK_TEST(refresh_extends) {
  arec_lease a;
  acquire(l, KEY, OWNER, 2000, &a);
  ck_assert_int_le(f->ttl(f->ctx, KEY), 2000);
  a.validity_ms = -1;
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), 0);
  ck_assert_int_gt(f->ttl(f->ctx, KEY), 5000);
  ck_assert_int_gt(a.validity_ms, 2000);
  ck_assert_int_le(a.validity_ms, TTL);
}

CONF_LOCK_TEST(refresh_after_expire_lost) {
  arec_lease a, b;
  acquire(l, KEY, OWNER, TTL, &a);
  ck_assert_int_eq(f->expire(f->ctx, KEY), 0);
  ck_assert_int_eq(f->ttl(f->ctx, KEY), -2);
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), AREC_ELOST);
  ck_assert_int_eq(f->ttl(f->ctx, KEY), -2); /* refresh did not revive it */
  acquire(l, KEY, OTHER, TTL, &b);
  assert_value(b.value, OTHER);
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), AREC_ELOST);
  ck_assert_int_eq(l->release(l, KEY, &a), 1);
  ck_assert_int_gt(f->ttl(f->ctx, KEY), 0); /* b's value survived */
  ck_assert_int_eq(l->refresh(l, KEY, &b, TTL), 0);
}

CONF_LOCK_TEST(refresh_after_overwrite_lost) {
  arec_lease a, b;
  acquire(l, KEY, OWNER, TTL, &a);
  char ov[AREC_LOCK_VALUE_MAX];
  ck_assert_int_eq(
      f->overwrite(f->ctx, KEY,
                   other_value(ov, sizeof ov,
                               "0123456789abcdef0123456789abcdef"),
                   TTL),
      0);
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), AREC_ELOST);
  ck_assert_int_eq(l->release(l, KEY, &a), 1);
  ck_assert_int_gt(f->ttl(f->ctx, KEY), 0);
  memset(&b, 0, sizeof b);
  ck_assert_int_eq(l->try_acquire(l, KEY, OWNER, TTL, &b), 0);
}

CONF_LOCK_TEST(release_deletes_once) {
  arec_lease a, b;
  acquire(l, KEY, OWNER, TTL, &a);
  ck_assert_int_eq(l->release(l, KEY, &a), 0);
  ck_assert_int_eq(f->ttl(f->ctx, KEY), -2);
  ck_assert_int_eq(l->release(l, KEY, &a), 1);
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), AREC_ELOST);
  acquire(l, KEY, OTHER, TTL, &b);
  ck_assert_str_ne(a.value, b.value);
}

CONF_LOCK_TEST(bad_input) {
  arec_lease a;
  memset(&a, 0, sizeof a);
  ck_assert_int_eq(l->try_acquire(l, NULL, OWNER, TTL, &a), AREC_EINVAL);
  ck_assert_int_eq(l->try_acquire(l, "", OWNER, TTL, &a), AREC_EINVAL);
  ck_assert_int_eq(l->try_acquire(l, KEY, OWNER, 0, &a), AREC_EINVAL);
  ck_assert_int_eq(l->try_acquire(l, KEY, OWNER, -5, &a), AREC_EINVAL);
  ck_assert_int_eq(l->try_acquire(l, KEY, NULL, TTL, &a), AREC_EINVAL);
  ck_assert_int_eq(l->try_acquire(l, KEY, OWNER, TTL, NULL), AREC_EINVAL);
  ck_assert_int_eq(f->ttl(f->ctx, KEY), -2); /* nothing left held */
  acquire(l, KEY, OWNER, TTL, &a);
  ck_assert_int_eq(l->refresh(l, NULL, &a, TTL), AREC_EINVAL);
  ck_assert_int_eq(l->refresh(l, "", &a, TTL), AREC_EINVAL);
  ck_assert_int_eq(l->refresh(l, KEY, NULL, TTL), AREC_EINVAL);
  ck_assert_int_eq(l->refresh(l, KEY, &a, 0), AREC_EINVAL);
  ck_assert_int_eq(l->release(l, NULL, &a), AREC_EINVAL);
  ck_assert_int_eq(l->release(l, "", &a), AREC_EINVAL);
  ck_assert_int_eq(l->release(l, KEY, NULL), AREC_EINVAL);
  ck_assert_int_gt(f->ttl(f->ctx, KEY), 0); /* bad calls changed nothing */
  ck_assert_int_eq(l->release(l, KEY, &a), 0);
}

/* 1,000 keys: i % 50 == 1 held by another owner before, == 2 overwritten
 * after our acquire, == 3 expired after our acquire; the rest plain ours. */
#define NB 1000

CONF_LOCK_TEST(batch_slots) {
  arec_conf_batch b = arec_conf_batch_new(NB, "conf-b");
  const char **keys = b.keys;
  arec_lease *leases = b.leases;
  int *res = b.res;
  for (int i = 1; i < NB; i += 50) {
    arec_lease o;
    acquire(l, keys[i], OTHER, TTL, &o);
  }
  if (l->try_acquire_many) {
    arec_conf_batch_mark(&b);
    ck_assert_int_eq(
        l->try_acquire_many(l, keys, NB, OWNER, TTL, leases, res), 0);
    for (int i = 0; i < NB; i++) {
      ck_assert_msg(res[i] == (i % 50 == 1 ? 0 : 1), "key %d: %d", i, res[i]);
      if (res[i] == 1) {
        assert_value(leases[i].value, OWNER);
        ck_assert_int_gt(leases[i].validity_ms, 0);
        ck_assert_int_le(leases[i].validity_ms, TTL);
      }
    }
    for (int i = 0; i < NB; i += 97) /* spot-check on the server */
      ck_assert_int_gt(f->ttl(f->ctx, keys[i]), 0);
    for (int i = 0; i < NB; i++)
      for (int j = i + 1; j < NB && j < i + 5; j++)
        ck_assert_str_ne(leases[i].value, leases[j].value);
  } else {
    for (int i = 0; i < NB; i++)
      if (i % 50 != 1)
        acquire(l, keys[i], OWNER, TTL, &leases[i]);
  }
  char ov[AREC_LOCK_VALUE_MAX];
  other_value(ov, sizeof ov, "ffffffffffffffffffffffffffffffff");
  for (int i = 2; i < NB; i += 50)
    ck_assert_int_eq(f->overwrite(f->ctx, keys[i], ov, TTL), 0);
  for (int i = 3; i < NB; i += 50)
    ck_assert_int_eq(f->expire(f->ctx, keys[i]), 0);

  if (l->refresh_many) {
    arec_conf_batch_mark(&b);
    ck_assert_int_eq(l->refresh_many(l, keys, leases, NB, TTL, res), 0);
    for (int i = 0; i < NB; i++) {
      int want = (i % 50 >= 1 && i % 50 <= 3) ? AREC_ELOST : 0;
      ck_assert_msg(res[i] == want, "refresh key %d: %d", i, res[i]);
      if (want == 0)
        ck_assert_int_gt(leases[i].validity_ms, 0);
    }
  }
  if (l->release_many) {
    arec_conf_batch_mark(&b);
    ck_assert_int_eq(l->release_many(l, keys, leases, NB, res), 0);
    for (int i = 0; i < NB; i++) {
      int want = (i % 50 >= 1 && i % 50 <= 3) ? 1 : 0;
      ck_assert_msg(res[i] == want, "release key %d: %d", i, res[i]);
    }
    for (int i = 0; i < NB; i += 50) {
      ck_assert_int_eq(f->ttl(f->ctx, keys[i]), -2);     /* ours: gone */
      ck_assert_int_gt(f->ttl(f->ctx, keys[i + 1]), 0);  /* other's: kept */
      ck_assert_int_gt(f->ttl(f->ctx, keys[i + 2]), 0);  /* overwritten */
      ck_assert_int_eq(f->ttl(f->ctx, keys[i + 3]), -2); /* expired */
    }
  }
  arec_conf_batch_free(&b);
}

CONF_LOCK_TEST(batch_bad_input) {
  const char *keys[] = {"agent:lock:conf-x", ""};
  arec_lease leases[2];
  int res[2];
  memset(leases, 0, sizeof leases);
  if (l->try_acquire_many) {
    ck_assert_int_eq(l->try_acquire_many(l, keys, 2, OWNER, 0, leases, res),
                     AREC_EINVAL);
    ck_assert_int_eq(l->try_acquire_many(l, NULL, 2, OWNER, TTL, leases, res),
                     AREC_EINVAL);
    ck_assert_int_eq(l->try_acquire_many(l, keys, 0, OWNER, TTL, leases, res),
                     0);
  }
  if (l->refresh_many) {
    ck_assert_int_eq(l->refresh_many(l, keys, leases, 2, -1, res),
                     AREC_EINVAL);
    ck_assert_int_eq(l->refresh_many(l, NULL, leases, 2, TTL, res),
                     AREC_EINVAL);
  }
  if (l->release_many)
    ck_assert_int_eq(l->release_many(l, NULL, leases, 2, res), AREC_EINVAL);
  ck_assert_int_eq(f->ttl(f->ctx, keys[0]), -2);
}

/* ------------------------------------------------------------ registration */
void arec_conf_lock_add(Suite *s, const arec_lock_fixture *f) {
  const arec_conf_test *tests[] = {
      acquire_free_then_held, values_unique, refresh_extends,
      refresh_after_expire_lost, refresh_after_overwrite_lost,
      release_deletes_once, bad_input, batch_slots, batch_bad_input};
  arec_conf_add_lock_tests(s, f, "lock-conformance", 30, open_lock,
                           close_lock, tests, sizeof tests / sizeof *tests);
  if (f->pod_lease_mode)
    arec_conf_podlease_add(s, f);
}
