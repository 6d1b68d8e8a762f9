/*
 * podlease_conformance.c -- the pod-lease rules of the distributed-lock
 * vtable (agentrecover/sys/lock.h, version 2 slot pod_lease), generic over
 * a lock fixture in pod-lease mode (conformance.h).  Registered by
 * arec_conf_lock_add() for every fixture with pod_lease_mode set, as TCase
 * "<name>-lock-rules": memory,
 * Redis with one and three masters, PostgreSQL.
 *
 * What it proves, with owners that are pod-lease holders "<pod>/<32 hex>"
 * (the form the manager passes): an agent lock whose holder's pod lease is
 * gone (left, or expired unrenewed after its process died) is taken over at
 * once, long before the agent lock's own TTL, one key or a batch; never
 * while the holder keeps renewing; a plain value is taken only after its
 * TTL; renewing extends the lease and leaving ends it (twice is fine, it can
 * be taken again); a second lock object with the same holder name is
 * answered AREC_ELOST and cannot end the first one's lease.
 * Time bounds are the behaviour under test here, kept generous and short
 * (leases of a few hundred ms); a lock without the slot passes at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance.h"

#define K1 "agent:lock:conf-pl-1"
#define K2 "agent:lock:conf-pl-2"
#define K3 "agent:lock:conf-pl-3"
#define HOLDER_A "conf-pod-a/0123456789abcdef0123456789abcdef"
#define HOLDER_B "conf-pod-b/fedcba9876543210fedcba9876543210"
#define PLAIN "conf-plain"
#define AGENT_TTL 30000 /* agent locks: long, as with pod leases on */
#define LONG_LEASE 30000

/* ---------------------------------------------------------------- helpers */
static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A lock; NULL (freed) when it has no pod_lease slot. */
static arec_lock *open_pl(const arec_lock_fixture *f) {
  arec_lock *l = NULL;
  ck_assert_int_eq(f->open(f->ctx, &l), 0);
  ck_assert_ptr_nonnull(l);
  if (l->version < 2 || !l->pod_lease) {
    l->free(l);
    return NULL;
  }
  return l;
}

static void leave(arec_lock *l, const char *holder) {
  int rc = l->pod_lease(l, holder, 0, 1, NULL);
  ck_assert_msg(rc == 0, "leave(%s): %s %s", holder, arec_err_name(rc),
                arec_error_last());
}

/* try_acquire, asserting it is an answer (0 or 1), not an error. */
static int try1(arec_lock *l, const char *key, const char *owner,
                arec_lease *out) {
  memset(out, 0, sizeof *out);
  int rc = l->try_acquire(l, key, owner, AGENT_TTL, out);
  ck_assert_msg(rc == 0 || rc == 1, "try_acquire(%s): %s %s", key,
                arec_err_name(rc), arec_error_last());
  return rc;
}

/* Tries try1(l, key, owner) every 25 ms until it takes the key or `within`
 * ms have passed since t0: the ms from t0 to the take, -1 when it did not
 * take it. */
static long long taken_after(arec_lock *l, const char *key, const char *owner,
                             arec_lease *out, long long t0, long long within) {
  while (now_ms() - t0 < within) {
    if (try1(l, key, owner, out))
      return now_ms() - t0;
    sleep_ms(25);
  }
  return -1;
}

static void assert_owned_by(const arec_lease *l, const char *owner) {
  size_t n = strlen(owner);
  ck_assert_msg(strncmp(l->value, owner, n) == 0 && l->value[n] == '/' &&
                    strlen(l->value + n + 1) == 32,
                "value %s is not %s/<32 hex>", l->value, owner);
}

/* ------------------------------------------------------------------ tests */
/* The holder leaves: its agent locks are taken over at once (one key and a
 * batch), with the taker's own long TTL; the old values are lost. */
CONF_LOCK_TEST(takeover_when_holder_leaves) {
  arec_lock *a = l, *b = open_pl(f);
  arec_conf_pod_lease(a, HOLDER_A, LONG_LEASE);
  arec_conf_pod_lease(b, HOLDER_B, LONG_LEASE);
  arec_lease la1, la2, lp, lb;
  ck_assert_int_eq(try1(a, K1, HOLDER_A, &la1), 1);
  assert_owned_by(&la1, HOLDER_A);
  ck_assert_int_eq(try1(a, K2, HOLDER_A, &la2), 1);
  ck_assert_int_eq(try1(a, K3, PLAIN, &lp), 1);
  ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 0);

  leave(a, HOLDER_A);
  long long t0 = now_ms();
  ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 1);
  ck_assert_msg(now_ms() - t0 < 2000, "takeover took %lld ms",
                now_ms() - t0);
  assert_owned_by(&lb, HOLDER_B);
  ck_assert_int_gt(lb.validity_ms, AGENT_TTL / 2);
  ck_assert_int_gt(f->ttl(f->ctx, K1), AGENT_TTL / 2);
  ck_assert_int_eq(a->refresh(a, K1, &la1, AGENT_TTL), AREC_ELOST);
  ck_assert_int_eq(a->release(a, K1, &la1), 1); /* b's value kept */
  ck_assert_int_gt(f->ttl(f->ctx, K1), 0);
  ck_assert_int_eq(b->refresh(b, K1, &lb, AGENT_TTL), 0);

  /* the batch slot takes over too, and keeps the plain value */
  const char *keys[2] = {K2, K3};
  arec_lease out[2];
  int res[2] = {7, 7};
  memset(out, 0, sizeof out);
  if (b->try_acquire_many) {
    ck_assert_int_eq(
        b->try_acquire_many(b, keys, 2, HOLDER_B, AGENT_TTL, out, res), 0);
  } else {
    res[0] = try1(b, K2, HOLDER_B, &out[0]);
    res[1] = try1(b, K3, HOLDER_B, &out[1]);
  }
  ck_assert_int_eq(res[0], 1);
  assert_owned_by(&out[0], HOLDER_B);
  ck_assert_int_eq(res[1], 0);
  ck_assert_int_eq(a->refresh(a, K2, &la2, AGENT_TTL), AREC_ELOST);
  ck_assert_int_eq(a->refresh(a, K3, &lp, AGENT_TTL), 0);
  a->free(a);
  b->free(b);
}

/* The holder's process dies (its lock object is freed, nobody renews):
 * its agent lock is taken over once the pod lease has run out, long before
 * the agent lock's 30 s TTL. */
CONF_LOCK_TEST(takeover_when_lease_expires) {
  enum { PL = 600 };
  arec_lock *a = l, *b = open_pl(f);
  arec_conf_pod_lease(b, HOLDER_B, LONG_LEASE);
  long long renewed = now_ms();
  arec_conf_pod_lease(a, HOLDER_A, PL);
  arec_lease la, lb;
  ck_assert_int_eq(try1(a, K1, HOLDER_A, &la), 1);
  a->free(a); /* kill -9 */
  if (now_ms() - renewed < PL / 2) /* only when surely still live */
    ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 0);
  long long took = taken_after(b, K1, HOLDER_B, &lb, renewed, PL + 4000);
  ck_assert_msg(took >= 0, "not taken over %lld ms after the lease",
                now_ms() - renewed);
  ck_assert_msg(took >= PL - 100, "taken over after %lld ms, lease %d ms",
                took, PL);
  ck_assert_int_gt(f->ttl(f->ctx, K1), AGENT_TTL / 2);
  b->free(b);
}

/* A holder that keeps renewing is never taken over, over several lease
 * TTLs, one key or a batch. */
CONF_LOCK_TEST(never_while_lease_live) {
  enum { PL = 500, RUN = 1000 };
  arec_lock *a = l, *b = open_pl(f);
  arec_conf_pod_lease(a, HOLDER_A, PL);
  arec_conf_pod_lease(b, HOLDER_B, LONG_LEASE);
  arec_lease la, lb;
  ck_assert_int_eq(try1(a, K1, HOLDER_A, &la), 1);
  long long t0 = now_ms();
  int rounds = 0;
  while (now_ms() - t0 < RUN) {
    arec_conf_pod_lease(a, HOLDER_A, PL);
    ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 0);
    if (b->try_acquire_many) {
      const char *keys[1] = {K1};
      int res = 7;
      ck_assert_int_eq(
          b->try_acquire_many(b, keys, 1, HOLDER_B, AGENT_TTL, &lb, &res), 0);
      ck_assert_int_eq(res, 0);
    }
    rounds++;
    sleep_ms(80);
  }
  ck_assert_int_ge(rounds, 3);
  ck_assert_int_eq(a->refresh(a, K1, &la, AGENT_TTL), 0);
  a->free(a);
  b->free(b);
}

/* A plain value (its owner holds no pod lease) is taken over only after its
 * own TTL, even by a pod-lease holder's acquire. */
CONF_LOCK_TEST(plain_value_only_after_ttl) {
  enum { TTLP = 700 };
  arec_lock *p = l, *b = open_pl(f);
  arec_conf_pod_lease(b, HOLDER_B, LONG_LEASE);
  arec_lease lp, lb;
  long long t0 = now_ms();
  memset(&lp, 0, sizeof lp);
  ck_assert_int_eq(p->try_acquire(p, K1, PLAIN, TTLP, &lp), 1);
  ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 0);
  /* another plain value, written behind the lock's back */
  ck_assert_int_eq(f->overwrite(f->ctx, K2,
                                PLAIN "/00112233445566778899aabbccddeeff",
                                AGENT_TTL),
                   0);
  ck_assert_int_eq(try1(b, K2, HOLDER_B, &lb), 0);
  sleep_ms(TTLP / 2);
  ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 0);
  long long took = taken_after(b, K1, HOLDER_B, &lb, t0, TTLP + 4000);
  ck_assert_msg(took >= 0, "plain value not free %lld ms after its TTL",
                now_ms() - t0);
  ck_assert_msg(took >= TTLP - 100, "plain value taken after %lld ms, TTL %d",
                took, TTLP);
  ck_assert_int_eq(p->refresh(p, K1, &lp, TTLP), AREC_ELOST);
  ck_assert_int_eq(try1(b, K2, HOLDER_B, &lb), 0); /* still in its TTL */
  p->free(p);
  b->free(b);
}

/* Renewing extends the lease; leaving ends it (twice is fine) and frees the
 * holder's agent locks; the same object can take the lease again. */
CONF_LOCK_TEST(renew_and_leave) {
  arec_lock *a = l, *b = open_pl(f);
  int64_t v = 0;
  ck_assert_int_eq(a->pod_lease(a, NULL, 2000, 0, &v), AREC_EINVAL);
  ck_assert_int_eq(a->pod_lease(a, "", 2000, 0, &v), AREC_EINVAL);
  ck_assert_int_eq(a->pod_lease(a, HOLDER_A, 0, 0, &v), AREC_EINVAL);
  ck_assert_int_eq(a->pod_lease(a, HOLDER_A, -1, 0, &v), AREC_EINVAL);
  ck_assert_int_eq(a->pod_lease(a, HOLDER_A, 2000, 0, NULL), AREC_EINVAL);
  arec_conf_pod_lease(a, HOLDER_A, 2000);
  ck_assert_int_gt(arec_conf_pod_lease(a, HOLDER_A, 8000), 2000); /* extended */
  arec_conf_pod_lease(b, HOLDER_B, LONG_LEASE);
  arec_lease la, lb;
  ck_assert_int_eq(try1(a, K1, HOLDER_A, &la), 1);
  ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 0);
  /* still ours after the lease left, until someone takes it over */
  leave(a, HOLDER_A);
  leave(a, HOLDER_A);
  ck_assert_int_eq(a->refresh(a, K1, &la, AGENT_TTL), 0);
  ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 1);
  ck_assert_int_eq(a->refresh(a, K1, &la, AGENT_TTL), AREC_ELOST);
  /* taken again: its new agent locks are safe again */
  arec_conf_pod_lease(a, HOLDER_A, LONG_LEASE);
  ck_assert_int_eq(try1(a, K2, HOLDER_A, &la), 1);
  ck_assert_int_eq(try1(b, K2, HOLDER_B, &lb), 0);
  a->free(a);
  b->free(b);
}

/* One holder, one lock object: a second object with the same holder name is
 * answered AREC_ELOST, and its leave does not end the first one's lease;
 * once the first leaves, the second may take it. */
CONF_LOCK_TEST(same_holder_other_object_lost) {
  arec_lock *a = l, *a2, *b;
  a2 = open_pl(f);
  b = open_pl(f);
  arec_conf_pod_lease(a, HOLDER_A, LONG_LEASE);
  int64_t v = 0;
  ck_assert_int_eq(a2->pod_lease(a2, HOLDER_A, LONG_LEASE, 0, &v),
                   AREC_ELOST);
  arec_conf_pod_lease(a, HOLDER_A, LONG_LEASE); /* not stolen */
  arec_conf_pod_lease(b, HOLDER_B, LONG_LEASE);
  arec_lease la, lb;
  ck_assert_int_eq(try1(a, K1, HOLDER_A, &la), 1);
  int rc = a2->pod_lease(a2, HOLDER_A, 0, 1, NULL);
  ck_assert_msg(rc == 0 || rc == AREC_ELOST, "leave by another object: %s",
                arec_err_name(rc));
  ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 0); /* a's lease holds */
  arec_conf_pod_lease(a, HOLDER_A, LONG_LEASE);
  ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 0);
  /* a leaves; a new process of the same holder takes the lease over */
  leave(a, HOLDER_A);
  arec_conf_pod_lease(a2, HOLDER_A, LONG_LEASE);
  ck_assert_int_eq(try1(b, K1, HOLDER_B, &lb), 0);
  ck_assert_int_eq(a->refresh(a, K1, &la, AGENT_TTL), 0);
  a->free(a);
  a2->free(a2);
  b->free(b);
}

/* ------------------------------------------------------------ registration */
void arec_conf_podlease_add(Suite *s, const arec_lock_fixture *f) {
  const arec_conf_test *tests[] = {
      takeover_when_holder_leaves, takeover_when_lease_expires,
      never_while_lease_live, plain_value_only_after_ttl, renew_and_leave,
      same_holder_other_object_lost};
  /* each test frees its locks itself (one is freed early: a kill -9) */
  arec_conf_add_lock_tests(s, f, "lock-rules", 30, open_pl, NULL, tests,
                           sizeof tests / sizeof *tests);
}
