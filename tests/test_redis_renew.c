/*
 * test_redis_renew.c -- how long a renewal of the Redlock backend waits and
 * what validity it hands back, on three and on one real redis-server:
 *
 * - two masters of three paused for longer than the node deadline (and
 *   than the batch deadline of the keys) and then going on: a refresh
 *   (single and batched) and a pod-lease renewal still succeed, because a
 *   renewal waits up to a third of its TTL (its validity counts from the
 *   send); an acquire keeps the node deadline and fails;
 * - a batch whose answers arrive over many milliseconds (50,000 keys on one
 *   master): every key's validity is what is left when the call returns,
 *   the same for the keys answered first (acquire and refresh).
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "test_redis_fixture.h"
#include "support/runner.h"

static arec_test_redis g_one[1], g_three[3];
static rfix g_f1, g_f3;

#define TTL 3000
#define PAUSE_MS 400 /* > node deadline 50 + n / 40 for the keys below */

static int64_t drift(int64_t ttl) { return ttl / 100 + 2; }

static rfix *fix(int three) {
  rfix *f = three ? &g_f3 : &g_f1;
  for (size_t j = 0; j < f->n; j++)
    arec_test_redis_cont(f->srv[j]);
  fx_reset(f);
  return f;
}

static arec_lock *open_lock(rfix *f) {
  arec_lock *l = NULL;
  ck_assert_int_eq(fx_open(f, &l), 0);
  return l;
}

/* Continues the paused masters 0 and 2 after PAUSE_MS. */
static void *cont_later(void *arg) {
  rfix *f = arg;
  struct timespec ts = {0, PAUSE_MS * 1000000L};
  nanosleep(&ts, NULL);
  arec_test_redis_cont(f->srv[0]);
  arec_test_redis_cont(f->srv[2]);
  return NULL;
}

static pthread_t pause_two(rfix *f) {
  pthread_t th;
  ck_assert_int_eq(arec_test_redis_pause(f->srv[0]), 0);
  ck_assert_int_eq(arec_test_redis_pause(f->srv[2]), 0);
  ck_assert_int_eq(pthread_create(&th, NULL, cont_later, f), 0);
  return th;
}

START_TEST(renewals_wait_for_slow_masters) {
  rfix *f = fix(1);
  arec_lock *l = open_lock(f);
  arec_conf_batch b = arec_conf_batch_new(1000, "slow");
  ck_assert_int_eq(
      l->try_acquire_many(l, b.keys, b.n, "pod-a", TTL, b.leases, b.res), 0);
  for (size_t i = 0; i < b.n; i++)
    ck_assert_int_eq(b.res[i], 1);
  rsettle(l);

  /* batched refresh */
  pthread_t th = pause_two(f);
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(l->refresh_many(l, b.keys, b.leases, b.n, TTL, b.res), 0);
  long long t1 = arec_test_now_ms();
  pthread_join(th, NULL);
  ck_assert_int_ge(t1 - t0, PAUSE_MS - 5);
  for (size_t i = 0; i < b.n; i++) {
    ck_assert_msg(b.res[i] == 0, "key %zu: %d", i, b.res[i]);
    ck_assert_int_gt(b.leases[i].validity_ms, 0);
    ck_assert_int_le(b.leases[i].validity_ms, TTL - drift(TTL));
  }
  rsettle(l);

  /* one key */
  th = pause_two(f);
  t0 = arec_test_now_ms();
  ck_assert_int_eq(l->refresh(l, b.keys[0], &b.leases[0], TTL), 0);
  t1 = arec_test_now_ms();
  pthread_join(th, NULL);
  ck_assert_int_ge(t1 - t0, PAUSE_MS - 5);
  ck_assert_int_le(b.leases[0].validity_ms, TTL - drift(TTL));
  rsettle(l);

  /* the pod lease */
  int64_t v = 0;
  const char *holder = "pod-a/0123456789abcdef0123456789abcdef";
  ck_assert_int_eq(l->pod_lease(l, holder, TTL, 0, &v), 0);
  rsettle(l);
  th = pause_two(f);
  t0 = arec_test_now_ms();
  ck_assert_int_eq(l->pod_lease(l, holder, TTL, 0, &v), 0);
  t1 = arec_test_now_ms();
  pthread_join(th, NULL);
  ck_assert_int_ge(t1 - t0, PAUSE_MS - 5);
  ck_assert_int_gt(v, 0);
  ck_assert_int_le(v, TTL - drift(TTL));
  rsettle(l);

  /* an acquire keeps the node deadline: it fails and is cleaned up */
  arec_lease one;
  th = pause_two(f);
  t0 = arec_test_now_ms();
  ck_assert_int_eq(l->try_acquire(l, "agent:lock:slow-new", "pod-a", TTL, &one),
                   AREC_EUNAVAILABLE);
  ck_assert_int_lt(arec_test_now_ms() - t0, PAUSE_MS);
  pthread_join(th, NULL);
  rsettle(l);
  ck_assert_int_eq(fx_ttl(f, "agent:lock:slow-new"), -2);

  ck_assert_int_eq(l->release_many(l, b.keys, b.leases, b.n, b.res), 0);
  arec_conf_batch_free(&b);
  l->free(l);
}
END_TEST

/* 50,000 keys on one master: answers stream in for many milliseconds.
 * Every key gets the same validity, what is left at the return: a key
 * answered first would otherwise be counted valid for the rest of the
 * round past its TTL. */
static void check_batch(const char *what, const arec_lease *leases, size_t n,
                        long long t0, long long t1, int64_t ttl) {
  int64_t lo = leases[0].validity_ms, hi = lo;
  for (size_t i = 1; i < n; i++) {
    if (leases[i].validity_ms < lo)
      lo = leases[i].validity_ms;
    if (leases[i].validity_ms > hi)
      hi = leases[i].validity_ms;
  }
  ck_assert_msg(hi - lo <= 1,
                "%s: validities from %lld to %lld ms in one batch (%lld ms)",
                what, (long long)lo, (long long)hi, t1 - t0);
  ck_assert_msg(hi <= ttl - drift(ttl) && lo >= ttl - drift(ttl) - (t1 - t0),
                "%s: validity %lld ms after a %lld ms call", what,
                (long long)hi, t1 - t0);
}

START_TEST(batch_validity_counts_to_the_return) {
  rfix *f = fix(0);
  arec_lock *l = open_lock(f);
  arec_conf_batch b = arec_conf_batch_new(50000, "v");
  const int64_t ttl = 30000;
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(
      l->try_acquire_many(l, b.keys, b.n, "pod-a", ttl, b.leases, b.res), 0);
  long long t1 = arec_test_now_ms();
  for (size_t i = 0; i < b.n; i++)
    ck_assert_int_eq(b.res[i], 1);
  check_batch("acquire", b.leases, b.n, t0, t1, ttl);
  t0 = arec_test_now_ms();
  ck_assert_int_eq(l->refresh_many(l, b.keys, b.leases, b.n, ttl, b.res), 0);
  t1 = arec_test_now_ms();
  for (size_t i = 0; i < b.n; i++)
    ck_assert_int_eq(b.res[i], 0);
  check_batch("refresh", b.leases, b.n, t0, t1, ttl);
  ck_assert_int_eq(l->release_many(l, b.keys, b.leases, b.n, b.res), 0);
  arec_conf_batch_free(&b);
  l->free(l);
}
END_TEST

int main(void) {
  if (rfix_start(&g_f1, g_one, 1) != 0 || rfix_start(&g_f3, g_three, 3) != 0) {
    fprintf(stderr, "cannot start redis-server\n");
    return EXIT_FAILURE;
  }
  const TTest *tests[] = {renewals_wait_for_slow_masters,
      batch_validity_counts_to_the_return, NULL};
  Suite *s = suite_create("redis-renew");
  arec_test_cases(s, "redis-renew", 60, tests);
  int rc = arec_test_run(s);
  arec_test_redis_stop(&g_one[0]);
  for (size_t i = 0; i < 3; i++)
    arec_test_redis_stop(&g_three[i]);
  return rc;
}
