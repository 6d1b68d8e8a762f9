/*
 * test_redis_batch.c -- the batched calls of the Redlock backend
 * (try_acquire_many, refresh_many, release_many) on one and on three real
 * redis-servers: the chunk boundaries (0, 1, chunk-1, chunk, chunk+1 and
 * 10,000 keys; plain owners and pod-lease holders), every answer inside
 * one chunk (free, held by a live holder, held by a holder whose pod lease
 * is gone, a plain value, an expired key, a key of another type, a key
 * deleted behind our back), one master of three killed, and the batch
 * deadline that grows with the number of keys.
 *
 * The servers are looked at directly (MGET / PTTL / EXISTS over one
 * connection) after a ping through the lock, which waits for every master
 * and so for the replies an early decision left owed; so does another lock
 * object's next step (a master that answered after the quorum may run a
 * second connection's commands first).
 */
#include <time.h>
#include <unistd.h>

#include "redis/internal.h" /* AREC__REDIS_CHUNK */
#include "test_redis_fixture.h"
#include "support/runner.h"

static arec_test_redis g_one[1], g_three[3];
static rfix g_f1, g_f3;

#define CH AREC__REDIS_CHUNK
#define TTL 10000
#define LONG_TTL 60000
#define A "pod-a/0123456789abcdef0123456789abcdef"
#define B "pod-b/fedcba9876543210fedcba9876543210"
#define C "pod-c/00112233445566778899aabbccddeeff"
#define LEASE_A "agent:podlease:" A

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* _i = 0: one master, 1: three masters; all servers up and empty. */
static rfix *fix(int i) { return rfix_ready(i ? &g_f3 : &g_f1); }

static arec_lock *open_lock(rfix *f) { return rfix_lock(f); }

/* Every master has answered everything sent so far. */
static void settle(arec_lock *l) { rsettle(l); }

/* On one server: how many keys hold their lease's value (MGET), how many
 * have a TTL above `ms` and at most LONG_TTL (PTTL: a refresh sets its
 * deadline from the master's clock), how many exist. */
enum { HOLDING, TTL_ABOVE, EXISTING };

static size_t count_on(const arec_test_redis *r, const arec_conf_batch *k,
                       const arec_lease *ls, int what, long long ms) {
  struct timeval tv = {5, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
  size_t got = 0;
  ck_assert(c && !c->err);
  redisSetTimeout(c, tv);
  for (size_t from = 0; from < k->n; from += 1000) {
    size_t cnt = k->n - from < 1000 ? k->n - from : 1000;
    const char *argv[1001];
    redisReply *rep;
    if (what == TTL_ABOVE) {
      for (size_t i = 0; i < cnt; i++)
        redisAppendCommand(c, "PTTL %s", k->keys[from + i]);
      for (size_t i = 0; i < cnt; i++) {
        ck_assert_int_eq(redisGetReply(c, (void **)&rep), REDIS_OK);
        got += rep->type == REDIS_REPLY_INTEGER && rep->integer > ms &&
               rep->integer <= LONG_TTL;
        freeReplyObject(rep);
      }
      continue;
    }
    argv[0] = what == HOLDING ? "MGET" : "EXISTS";
    for (size_t i = 0; i < cnt; i++)
      argv[1 + i] = k->keys[from + i];
    rep = redisCommandArgv(c, (int)cnt + 1, argv, NULL);
    ck_assert_ptr_nonnull(rep);
    if (what == EXISTING) {
      got += (size_t)rep->integer;
    } else {
      ck_assert_int_eq(rep->type, REDIS_REPLY_ARRAY);
      for (size_t i = 0; i < cnt; i++)
        got += rep->element[i]->type == REDIS_REPLY_STRING &&
               strcmp(rep->element[i]->str, ls[from + i].value) == 0;
    }
    freeReplyObject(rep);
  }
  redisFree(c);
  return got;
}

static void lease(arec_lock *l, const char *holder) {
  int64_t v = 0;
  ck_assert_int_eq(l->pod_lease(l, holder, 30000, 0, &v), 0);
}

/* --------------------------------------------------------- chunk edges */
static const size_t sizes[] = {0, 1, CH - 1, CH, CH + 1, 10000};

/* One size, one owner: acquire, second owner refused, refresh, release. */
static void one_size(rfix *f, size_t n, const char *owner, int holder) {
  arec_lock *a = open_lock(f), *b = open_lock(f);
  char tag[64];
  snprintf(tag, sizeof tag, "edge-%zu-%d", n, holder);
  arec_conf_batch k = arec_conf_batch_new(n, tag);
  arec_conf_batch kb = arec_conf_batch_new(n, tag);
  if (holder) {
    lease(a, owner);
    lease(b, B);
  }
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(a->try_acquire_many(a, k.keys, n, owner, TTL, k.leases,
                                       k.res), 0);
  long long el = arec_test_now_ms() - t0;
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(k.res[i] == 1, "n %zu key %zu: %d", n, i, k.res[i]);
    /* validity from the send time: ttl - elapsed - drift */
    ck_assert_int_le(k.leases[i].validity_ms, TTL - TTL / 100 - 2);
    ck_assert_int_ge(k.leases[i].validity_ms, TTL - TTL / 100 - 2 - el - 1);
  }
  /* the other owner: held everywhere, nothing of it left behind (after
   * every master applied a's acquire: one that answered after the quorum
   * may see b's commands first) */
  settle(a);
  ck_assert_int_eq(b->try_acquire_many(b, k.keys, n, holder ? B : "pod-b",
                                       TTL, kb.leases, kb.res), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(kb.res[i] == 0, "n %zu key %zu: %d", n, i, kb.res[i]);
  settle(a);
  settle(b);
  for (size_t j = 0; j < f->n; j++) {
    ck_assert_uint_eq(count_on(f->srv[j], &k, k.leases, HOLDING, 0), n);
    ck_assert_uint_eq(count_on(f->srv[j], &k, kb.leases, HOLDING, 0), 0);
  }
  ck_assert_int_eq(a->refresh_many(a, k.keys, k.leases, n, LONG_TTL, k.res),
                   0);
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(k.res[i] == 0, "n %zu key %zu: %d", n, i, k.res[i]);
    ck_assert_int_gt(k.leases[i].validity_ms, TTL);
  }
  settle(a);
  for (size_t j = 0; j < f->n; j++)
    ck_assert_uint_eq(count_on(f->srv[j], &k, NULL, TTL_ABOVE, TTL), n);
  /* the other owner's leases are not ours */
  ck_assert_int_eq(b->refresh_many(b, k.keys, kb.leases, n, TTL, kb.res), 0);
  ck_assert_int_eq(b->release_many(b, k.keys, kb.leases, n, kb.res), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(kb.res[i], 1);
  ck_assert_int_eq(a->release_many(a, k.keys, k.leases, n, k.res), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(k.res[i] == 0, "n %zu key %zu: %d", n, i, k.res[i]);
  settle(a);
  for (size_t j = 0; j < f->n; j++)
    ck_assert_uint_eq(count_on(f->srv[j], &k, NULL, EXISTING, 0), 0);
  /* gone: release says so, refresh says lost */
  ck_assert_int_eq(a->release_many(a, k.keys, k.leases, n, k.res), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(k.res[i], 1);
  ck_assert_int_eq(a->refresh_many(a, k.keys, k.leases, n, TTL, k.res), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(k.res[i], AREC_ELOST);
  if (holder) {
    ck_assert_int_eq(a->pod_lease(a, owner, 0, 1, NULL), 0);
    ck_assert_int_eq(b->pod_lease(b, B, 0, 1, NULL), 0);
  }
  arec_conf_batch_free(&k);
  arec_conf_batch_free(&kb);
  a->free(a);
  b->free(b);
}

START_TEST(chunk_boundaries) {
  rfix *f = fix(_i);
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    one_size(f, sizes[s], "pod-a", 0);
    one_size(f, sizes[s], A, 1);
  }
}
END_TEST

/* --------------------------------------------------- mixed in one chunk */
enum { FREE, LIVE, DEAD, PLAIN, EXPIRED, HASH, NKINDS };

START_TEST(mixed_answers_inside_one_chunk) {
  rfix *f = fix(_i);
  arec_lock *a = open_lock(f), *b = open_lock(f), *c = open_lock(f),
            *p = open_lock(f);
  arec_conf_batch k = arec_conf_batch_new(60, "mixed");
  arec_conf_batch kp = arec_conf_batch_new(60, "mixed");
  arec_lease la, lc;
  lease(a, A);
  lease(b, B);
  lease(c, C);
  /* key i is of kind i % NKINDS; all 60 in the first chunk */
  for (size_t i = 0; i < k.n; i++) {
    switch (i % NKINDS) {
    case LIVE:
      ck_assert_int_eq(c->try_acquire(c, k.keys[i], C, TTL, &lc), 1);
      break;
    case DEAD:
      ck_assert_int_eq(a->try_acquire(a, k.keys[i], A, TTL, &la), 1);
      break;
    case PLAIN:
      ck_assert_int_eq(fx_overwrite(f, k.keys[i],
                                    "pod-x/0123456789abcdef0123456789abcdef",
                                    TTL), 0);
      break;
    case EXPIRED:
      ck_assert_int_eq(fx_overwrite(f, k.keys[i], C "/00", 1), 0);
      break;
    case HASH:
      for (size_t j = 0; j < f->n; j++)
        ck_assert(rok(rcmd(f->srv[j], "HSET %s f v", k.keys[i])));
      break;
    }
  }
  settle(a); /* every master applied every write above */
  settle(c);
  ck_assert_int_eq(fx_expire(f, LEASE_A), 0); /* A is gone; C lives */
  sleep_ms(5);                                 /* EXPIRED keys are gone */

  /* a plain owner never takes over */
  ck_assert_int_eq(p->try_acquire_many(p, kp.keys, kp.n, "pod-p", TTL,
                                       kp.leases, kp.res), 0);
  for (size_t i = 0; i < kp.n; i++) {
    int kind = (int)(i % NKINDS), want = kind == FREE || kind == EXPIRED;
    ck_assert_msg(kp.res[i] == want, "plain key %zu (kind %d): %d", i, kind,
                  kp.res[i]);
  }
  ck_assert_int_eq(p->release_many(p, kp.keys, kp.leases, kp.n, kp.res), 0);
  settle(p);

  /* holder B: free, expired and the dead holder's keys are B's */
  ck_assert_int_eq(b->try_acquire_many(b, k.keys, k.n, B, TTL, k.leases,
                                       k.res), 0);
  for (size_t i = 0; i < k.n; i++) {
    int kind = (int)(i % NKINDS);
    int want = kind == FREE || kind == DEAD || kind == EXPIRED;
    ck_assert_msg(k.res[i] == want, "key %zu (kind %d): %d", i, kind,
                  k.res[i]);
  }
  settle(b);
  for (size_t j = 0; j < f->n; j++)
    ck_assert_uint_eq(count_on(f->srv[j], &k, k.leases, HOLDING, 0),
                      3 * k.n / NKINDS);

  /* refresh: ours extended; the rest, and a key deleted behind our back,
   * lost; nothing of anyone else's touched */
  ck_assert_int_eq(fx_expire(f, k.keys[0]), 0);
  ck_assert_int_eq(b->refresh_many(b, k.keys, k.leases, k.n, LONG_TTL, k.res),
                   0);
  for (size_t i = 0; i < k.n; i++) {
    int kind = (int)(i % NKINDS);
    int ours = i != 0 && (kind == FREE || kind == DEAD || kind == EXPIRED);
    ck_assert_msg(k.res[i] == (ours ? 0 : AREC_ELOST), "key %zu (kind %d): %d",
                  i, kind, k.res[i]);
    if (kind == LIVE || kind == PLAIN)
      ck_assert_int_le(fx_ttl(f, k.keys[i]), TTL);
  }
  /* release: ours deleted, the others left as they were */
  ck_assert_int_eq(b->release_many(b, k.keys, k.leases, k.n, k.res), 0);
  settle(b);
  for (size_t i = 0; i < k.n; i++) {
    int kind = (int)(i % NKINDS);
    int ours = i != 0 && (kind == FREE || kind == DEAD || kind == EXPIRED);
    ck_assert_msg(k.res[i] == (ours ? 0 : 1), "key %zu (kind %d): %d", i,
                  kind, k.res[i]);
    ck_assert_int_eq(fx_ttl(f, k.keys[i]) != -2,
                     kind == LIVE || kind == PLAIN || kind == HASH);
  }
  arec_conf_batch_free(&k);
  arec_conf_batch_free(&kp);
  a->free(a);
  b->free(b);
  c->free(c);
  p->free(p);
}
END_TEST

/* Every key's result in k is want. */
static void expect_all(const arec_conf_batch *k, int want) {
  for (size_t i = 0; i < k->n; i++)
    ck_assert_int_eq(k->res[i], want);
}

/* ------------------------------------------------------- three masters */
START_TEST(one_master_of_three_killed) {
  rfix *f = fix(1);
  arec_lock *a = open_lock(f);
  arec_conf_batch k = arec_conf_batch_new(3 * CH + 17, "down");
  ck_assert_int_eq(arec_test_redis_kill(f->srv[1]), 0);
  ck_assert_int_eq(a->try_acquire_many(a, k.keys, k.n, "pod-a", TTL, k.leases,
                                       k.res), 0);
  expect_all(&k, 1);
  ck_assert_int_eq(a->refresh_many(a, k.keys, k.leases, k.n, TTL, k.res), 0);
  expect_all(&k, 0);
  ck_assert_int_eq(a->release_many(a, k.keys, k.leases, k.n, k.res), 0);
  expect_all(&k, 0);
  ck_assert_uint_eq(count_on(f->srv[0], &k, NULL, EXISTING, 0), 0);
  arec_conf_batch_free(&k);
  a->free(a);
}
END_TEST

/* Two masters of three paused: a refresh waits for its answers up to a
 * third of its TTL (its validity counts from the send), a release ends at
 * the batch deadline, node_timeout_ms + n / 40 ms; the connections are in
 * step after each. */
START_TEST(batch_deadline_grows_with_keys) {
  rfix *f = fix(1);
  arec_lock *a = open_lock(f);
  arec_conf_batch k = arec_conf_batch_new(4000, "deadline");
  int64_t deadline = 50 + 4000 / 40; /* fixture node timeout: default 50 */
  int64_t renew_ttl = 1500, renew = renew_ttl / 3; /* more than deadline */
  ck_assert_int_eq(a->try_acquire_many(a, k.keys, k.n, "pod-a", TTL, k.leases,
                                       k.res), 0);
  ck_assert_int_eq(k.res[k.n - 1], 1);
  ck_assert_int_eq(arec_test_redis_pause(f->srv[0]), 0);
  ck_assert_int_eq(arec_test_redis_pause(f->srv[2]), 0);
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(
      a->refresh_many(a, k.keys, k.leases, k.n, renew_ttl, k.res), 0);
  long long el = arec_test_now_ms() - t0;
  expect_all(&k, AREC_EUNAVAILABLE);
  ck_assert_int_ge(el, renew - 2);
  ck_assert_int_lt(el, renew + 1000);
  ck_assert_int_eq(arec_test_redis_cont(f->srv[0]), 0);
  ck_assert_int_eq(arec_test_redis_cont(f->srv[2]), 0);
  settle(a); /* reads what the paused masters owed */
  ck_assert_int_eq(a->refresh_many(a, k.keys, k.leases, k.n, TTL, k.res), 0);
  expect_all(&k, 0);
  ck_assert_int_eq(arec_test_redis_pause(f->srv[0]), 0);
  ck_assert_int_eq(arec_test_redis_pause(f->srv[2]), 0);
  t0 = arec_test_now_ms();
  ck_assert_int_eq(a->release_many(a, k.keys, k.leases, k.n, k.res), 0);
  el = arec_test_now_ms() - t0;
  expect_all(&k, AREC_EUNAVAILABLE);
  ck_assert_int_ge(el, deadline - 2);
  ck_assert_int_lt(el, deadline + 1000);
  ck_assert_int_eq(arec_test_redis_cont(f->srv[0]), 0);
  ck_assert_int_eq(arec_test_redis_cont(f->srv[2]), 0);
  settle(a);
  /* the paused masters ran the delete when they went on: gone everywhere */
  ck_assert_int_eq(a->release_many(a, k.keys, k.leases, k.n, k.res), 0);
  expect_all(&k, 1);
  arec_conf_batch_free(&k);
  a->free(a);
}
END_TEST

int main(void) {
  const TTest *tests[] = {one_master_of_three_killed,
      batch_deadline_grows_with_keys, NULL};
  Suite *s = suite_create("redis-batch");
  TCase *tc = arec_test_cases(s, "redis-batch", 120, tests);
  if (rfix_start(&g_f1, g_one, 1) != 0 || rfix_start(&g_f3, g_three, 3) != 0) {
    fprintf(stderr, "test_redis_batch: cannot start redis-server\n");
    return 1;
  }
  tcase_add_loop_test(tc, chunk_boundaries, 0, 2);
  tcase_add_loop_test(tc, mixed_answers_inside_one_chunk, 0, 2);
  return arec_test_run(s);
}
