/*
 * test_redis_podlease.c -- pod leases on the Redlock backend (lock vtable
 * v2 pod_lease), on one real redis-server and on three (quorum 2): an agent
 * lock whose holder's pod lease is gone is taken over at once, a live
 * holder's never, a plain value (no pod lease) never before its TTL, single
 * and batched; the lease key's refresh, expiry, re-creation, token
 * ownership and release on leave; one master down still works, two down is
 * EUNAVAILABLE; a flushed script cache falls back to EVAL.
 *
 * Every test starts by bringing all servers back (a test child may have
 * killed one) and flushing them.  Before a server is looked at, or another
 * lock object acts on what one wrote, the writer is settled (rsettle): a
 * call returns once a quorum answered.
 */
#include <time.h>
#include <unistd.h>

#include "test_redis_fixture.h"
#include "support/runner.h"

static arec_test_redis g_one[1], g_three[3];
static rfix g_f1, g_f3;

#define A "pod-a/0123456789abcdef0123456789abcdef"
#define B "pod-b/fedcba9876543210fedcba9876543210"
#define C "pod-c/00112233445566778899aabbccddeeff"
#define KEY "agent:lock:pl-1"
#define LEASE_A "agent:podlease:" A
#define TTL 30000
#define LEASE_TTL 1500

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* _i = 0: one master, 1: three masters; all servers up and empty. */
static rfix *fix(int i) { return rfix_ready(i ? &g_f3 : &g_f1); }

static arec_lock *open_lock(rfix *f) {
  arec_lock *l = rfix_lock(f);
  ck_assert_uint_ge(l->version, 2);
  ck_assert_ptr_nonnull(l->pod_lease);
  return l;
}

/* On how many servers `key` holds `value` ("" = absent). */
static size_t holders(rfix *f, const char *key, const char *value) {
  size_t n = 0;
  char buf[256];
  for (size_t j = 0; j < f->n; j++) {
    rget(f->srv[j], key, buf, sizeof buf);
    if (strcmp(buf, value) == 0)
      n++;
  }
  return n;
}

static void lease(arec_lock *l, const char *holder, int64_t ttl) {
  int64_t v = -1;
  ck_assert_int_eq(l->pod_lease(l, holder, ttl, 0, &v), 0);
  ck_assert_int_gt(v, 0);
  ck_assert_int_le(v, ttl);
}

/* A quorum of the n masters said `why`; the others too, or were not
 * waited for (the call decided early). */
static void check_detail(arec_lock *l, size_t n, const char *why) {
  arec_redis_node_result d[16];
  size_t got = 0, same = 0;
  ck_assert_int_eq(arec_redis_lock_last_detail(l, d, 16, &got), 0);
  ck_assert_uint_eq(got, n);
  for (size_t j = 0; j < n; j++) {
    same += strcmp(d[j].why, why) == 0;
    ck_assert_msg(strcmp(d[j].why, why) == 0 || strcmp(d[j].why, "pending") == 0,
                  "node %zu: %s (want %s)", j, d[j].why, why);
  }
  ck_assert_uint_ge(same, n / 2 + 1);
}

/* ---------------------------------------------------------------- tests */
START_TEST(takeover_only_when_holder_lease_gone) {
  rfix *f = fix(_i);
  arec_lock *a = open_lock(f), *b = open_lock(f);
  arec_lease la, lb;
  lease(a, A, 3000);
  rsettle(a); /* every master applied it (rsettle: test_redis_fixture.h) */
  ck_assert_uint_eq(holders(f, LEASE_A, ""), 0);
  ck_assert_int_le(fx_ttl(f, LEASE_A), 3000);
  ck_assert_int_gt(fx_ttl(f, LEASE_A), 2000);
  ck_assert_int_eq(a->try_acquire(a, KEY, A, TTL, &la), 1);
  ck_assert_int_eq(strncmp(la.value, A "/", strlen(A) + 1), 0);
  ck_assert_uint_eq(strlen(la.value), strlen(A) + 33);
  check_detail(a, f->n, "OK");
  rsettle(a);
  lease(b, B, 3000);
  /* the holder's lease is alive: held, whatever the caller */
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 0);
  check_detail(b, f->n, "held");
  ck_assert_uint_eq(holders(f, KEY, la.value), f->n);
  /* the holder's lease is gone (DEL on every master): taken over at once,
   * with the agent lock's own TTL far away */
  ck_assert_int_eq(fx_expire(f, LEASE_A), 0);
  ck_assert_int_gt(fx_ttl(f, KEY), TTL - 5000);
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 1);
  check_detail(b, f->n, "taken over");
  ck_assert_int_gt(lb.validity_ms, TTL - 1000);
  rsettle(b);
  ck_assert_uint_eq(holders(f, KEY, lb.value), f->n);
  ck_assert_int_gt(fx_ttl(f, KEY), TTL - 5000);
  /* the old holder finds it lost; the new one keeps it */
  ck_assert_int_eq(a->refresh(a, KEY, &la, TTL), AREC_ELOST);
  ck_assert_int_eq(a->release(a, KEY, &la), 1);
  ck_assert_int_eq(b->refresh(b, KEY, &lb, TTL), 0);
  /* b's own lease is alive: a (A's lease re-created) cannot take it back */
  lease(a, A, 3000);
  ck_assert_int_eq(a->try_acquire(a, KEY, A, TTL, &la), 0);
  ck_assert_int_eq(b->release(b, KEY, &lb), 0);
  rsettle(b);
  ck_assert_uint_eq(holders(f, KEY, ""), f->n);
  a->free(a);
  b->free(b);
}
END_TEST

START_TEST(plain_value_never_taken_over_before_ttl) {
  rfix *f = fix(_i);
  arec_lock *b = open_lock(f);
  arec_lease lb;
  lease(b, B, 3000);
  /* a value without a pod lease (per-agent TTL mode), and values that only
   * look alike: never taken over, the lease key being absent or not */
  static const char *const plain[] = {
      "pod-x/0123456789abcdef0123456789abcdef",
      "pod-x/0123456789abcdef0123456789abcdef/0123456789abcdef0123456789abcde",
      "pod-x/0123456789ABCDEF0123456789abcdef/0123456789abcdef0123456789abcdef",
      "/0123456789abcdef0123456789abcdef/0123456789abcdef0123456789abcdef",
      "0123456789abcdef0123456789abcdef/0123456789abcdef0123456789abcdef"};
  for (size_t k = 0; k < sizeof plain / sizeof *plain; k++) {
    ck_assert_int_eq(fx_overwrite(f, KEY, plain[k], 10000), 0);
    ck_assert_msg(b->try_acquire(b, KEY, B, TTL, &lb) == 0, "took over %s",
                  plain[k]);
    ck_assert_uint_eq(holders(f, KEY, plain[k]), f->n);
  }
  /* an owner without a pod lease keeps SET NX PX: no takeover either */
  ck_assert_int_eq(
      fx_overwrite(f, KEY, A "/0123456789abcdef0123456789abcdef", 10000), 0);
  ck_assert_int_eq(b->try_acquire(b, KEY, "pod-plain", TTL, &lb), 0);
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 1); /* A is gone */
  ck_assert_int_eq(b->release(b, KEY, &lb), 0);
  /* the plain value is acquired once its TTL has run out */
  ck_assert_int_eq(fx_overwrite(f, KEY, plain[0], LEASE_TTL), 0);
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 0);
  long long until = arec_test_now_ms() + LEASE_TTL + 2000;
  while (holders(f, KEY, "") != f->n && arec_test_now_ms() < until)
    sleep_ms(20);
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 1);
  check_detail(b, f->n, "OK");
  b->free(b);
}
END_TEST

START_TEST(lease_refresh_expiry_token_and_leave) {
  rfix *f = fix(_i);
  arec_lock *a = open_lock(f), *a2 = open_lock(f), *b = open_lock(f);
  arec_lease la, lb;
  int64_t v = 0;
  /* LEASE_TTL is long enough that no stall of a loaded machine between two
   * statements below can let it run out where the test says it is alive;
   * where it must run out, the test waits for it, bounded by the TTL. */
  lease(a, A, LEASE_TTL);
  check_detail(a, f->n, "renewed");
  ck_assert_int_eq(a->try_acquire(a, KEY, A, TTL, &la), 1);
  sleep_ms(200);
  long long before = fx_ttl(f, LEASE_A);
  ck_assert_int_lt(before, LEASE_TTL - 150);
  lease(a, A, LEASE_TTL); /* compare-and-PEXPIRE moves it forward */
  ck_assert_int_gt(fx_ttl(f, LEASE_A), before);
  /* another process with the same holder: not ours */
  ck_assert_int_eq(a2->pod_lease(a2, A, LEASE_TTL, 0, &v), AREC_ELOST);
  check_detail(a2, f->n, "not ours");
  /* while the lease lives, the agent lock stays a's */
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 0);
  /* not renewed: the key expires on every master by its own TTL, and the
   * agent lock goes to b at once */
  long long until = arec_test_now_ms() + LEASE_TTL + 2000;
  while (holders(f, LEASE_A, "") != f->n && arec_test_now_ms() < until)
    sleep_ms(20);
  ck_assert_uint_eq(holders(f, LEASE_A, ""), f->n);
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 1);
  /* a late renewal re-creates it (a's runners were stopped by its core) */
  lease(a, A, LEASE_TTL);
  rsettle(a);
  ck_assert_int_eq(a->refresh(a, KEY, &la, TTL), AREC_ELOST);
  /* leaving deletes it (compare-and-delete: ours only), twice is fine */
  ck_assert_int_eq(a2->pod_lease(a2, A, 600, 1, NULL), 0);
  ck_assert_uint_eq(holders(f, LEASE_A, ""), 0);
  ck_assert_int_eq(a->pod_lease(a, A, 600, 1, NULL), 0);
  rsettle(a);
  ck_assert_uint_eq(holders(f, LEASE_A, ""), f->n);
  ck_assert_int_eq(a->pod_lease(a, A, 600, 1, NULL), 0);
  ck_assert_int_eq(a2->pod_lease(a2, A, 600, 0, &v), 0); /* free again */
  /* bad input */
  ck_assert_int_eq(a->pod_lease(a, NULL, 600, 0, &v), AREC_EINVAL);
  ck_assert_int_eq(a->pod_lease(a, "", 600, 0, &v), AREC_EINVAL);
  ck_assert_int_eq(a->pod_lease(a, A, 0, 0, &v), AREC_EINVAL);
  ck_assert_int_eq(a->pod_lease(a, A, 600, 0, NULL), AREC_EINVAL);
  char big[AREC_LOCK_VALUE_MAX];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  ck_assert_int_eq(a->pod_lease(a, big, 600, 0, &v), AREC_EINVAL);
  a->free(a);
  a2->free(a2);
  b->free(b);
}
END_TEST

START_TEST(batched_acquire_takes_over_per_key) {
  rfix *f = fix(_i);
  arec_lock *a = open_lock(f), *c = open_lock(f), *b = open_lock(f);
  const char *keys[5] = {"agent:lock:pl-b0", "agent:lock:pl-b1",
                         "agent:lock:pl-b2", "agent:lock:pl-b3",
                         "agent:lock:pl-b4"};
  arec_lease la[2], lc, lb[5];
  int res[5];
  lease(a, A, 3000);
  lease(c, C, 3000);
  ck_assert_int_eq(a->try_acquire_many(a, keys, 2, A, TTL, la, res), 0);
  ck_assert_int_eq(res[0], 1);
  ck_assert_int_eq(res[1], 1);
  ck_assert_int_eq(c->try_acquire(c, keys[2], C, TTL, &lc), 1);
  ck_assert_int_eq(fx_overwrite(f, keys[3], "pod-x/0123456789abcdef0123456789abcdef",
                                TTL),
                   0);
  rsettle(a);
  rsettle(c);
  ck_assert_int_eq(fx_expire(f, LEASE_A), 0); /* A died; C lives */
  lease(b, B, 3000);
  ck_assert_int_eq(b->try_acquire_many(b, keys, 5, B, TTL, lb, res), 0);
  rsettle(b);
  ck_assert_int_eq(res[0], 1); /* A's: taken over */
  ck_assert_int_eq(res[1], 1);
  ck_assert_int_eq(res[2], 0); /* C's: its lease is alive */
  ck_assert_int_eq(res[3], 0); /* plain value */
  ck_assert_int_eq(res[4], 1); /* free */
  ck_assert_uint_eq(holders(f, keys[0], lb[0].value), f->n);
  ck_assert_uint_eq(holders(f, keys[2], lc.value), f->n);
  int rr[2];
  ck_assert_int_eq(a->refresh_many(a, keys, la, 2, TTL, rr), 0);
  ck_assert_int_eq(rr[0], AREC_ELOST);
  ck_assert_int_eq(rr[1], AREC_ELOST);
  a->free(a);
  b->free(b);
  c->free(c);
}
END_TEST

/* Three masters only. */
START_TEST(one_master_down_still_ok) {
  rfix *f = fix(1);
  arec_lock *a = open_lock(f), *b = open_lock(f);
  arec_lease la, lb;
  int64_t v = 0;
  ck_assert_int_eq(arec_test_redis_kill(f->srv[2]), 0);
  lease(a, A, 3000);
  ck_assert_int_eq(a->try_acquire(a, KEY, A, TTL, &la), 1);
  lease(b, B, 3000);
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 0);
  /* the lease gone on one live master only: no quorum to take over, and
   * b's partial value is cleaned up */
  ck_assert(rok(rcmd(f->srv[0], "DEL %s", LEASE_A)));
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 0);
  ck_assert_uint_eq(holders(f, KEY, lb.value), 0);
  /* gone on both live masters: taken over */
  ck_assert(rok(rcmd(f->srv[1], "DEL %s", LEASE_A)));
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 1);
  ck_assert_uint_eq(holders(f, KEY, lb.value), 2);
  /* two masters down: the lease cannot be renewed */
  ck_assert_int_eq(arec_test_redis_kill(f->srv[1]), 0);
  ck_assert_int_eq(b->pod_lease(b, B, 3000, 0, &v), AREC_EUNAVAILABLE);
  ck_assert_int_eq(b->pod_lease(b, B, 3000, 1, NULL), AREC_EUNAVAILABLE);
  a->free(a);
  b->free(b);
}
END_TEST

START_TEST(flushed_scripts_fall_back_to_eval) {
  rfix *f = fix(_i);
  arec_lock *a = open_lock(f), *b = open_lock(f);
  arec_lease la, lb;
  lease(a, A, 3000);
  ck_assert_int_eq(a->try_acquire(a, KEY, A, TTL, &la), 1);
  rsettle(a);
  ck_assert_int_eq(fx_expire(f, LEASE_A), 0);
  lease(b, B, 3000);
  for (size_t j = 0; j < f->n; j++)
    ck_assert(rok(rcmd(f->srv[j], "SCRIPT FLUSH")));
  ck_assert_int_eq(b->try_acquire(b, KEY, B, TTL, &lb), 1);
  check_detail(b, f->n, "taken over");
  for (size_t j = 0; j < f->n; j++)
    ck_assert(rok(rcmd(f->srv[j], "SCRIPT FLUSH")));
  lease(b, B, 3000);
  check_detail(b, f->n, "renewed");
  a->free(a);
  b->free(b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("redis-podlease");
  TCase *tc = arec_test_tcase(s, "redis-podlease", 30);
  if (rfix_start(&g_f1, g_one, 1) != 0 || rfix_start(&g_f3, g_three, 3) != 0) {
    fprintf(stderr, "test_redis_podlease: cannot start redis-server\n");
    return 1;
  }
  tcase_add_loop_test(tc, takeover_only_when_holder_lease_gone, 0, 2);
  tcase_add_loop_test(tc, plain_value_never_taken_over_before_ttl, 0, 2);
  tcase_add_loop_test(tc, lease_refresh_expiry_token_and_leave, 0, 2);
  tcase_add_loop_test(tc, batched_acquire_takes_over_per_key, 0, 2);
  tcase_add_test(tc, one_master_down_still_ok);
  tcase_add_loop_test(tc, flushed_scripts_fall_back_to_eval, 0, 2);
  return arec_test_run(s);
}
