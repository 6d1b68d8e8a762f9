/*
 * test_redis_faults.c -- the Redlock backend against three real
 * redis-servers that fail: one killed (quorum holds), two killed (acquire
 * fails and leaves nothing behind), one paused with SIGSTOP (calls keep
 * their deadline; after SIGCONT the connection is in step), one restarted
 * empty (refresh holds on the quorum and never re-creates the key; EVALSHA
 * works again; NOSCRIPT falls back to EVAL), two lock objects racing for
 * the same 1,000 keys, a value changed behind our back, bad input,
 * AUTH/SELECT, per-node detail and its debug log line; a master that
 * always answers after the quorum is kept, one behind a black hole is
 * dropped and dialled again.
 *
 * Every test starts by bringing all three servers back (a test child may
 * have killed or paused one) and flushing them.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_redis_fixture.h"
#include "support/daemon.h"
#include "support/runner.h"

static arec_test_redis g_srv[3];
static rfix g_f;

#define TTL 10000
#define KEY "agent:lock:fault-1"

static void all_up(void) {
  for (size_t i = 0; i < 3; i++) {
    arec_test_redis_cont(&g_srv[i]);
    redisReply *rep = rcmd(&g_srv[i], "PING");
    if (!rep)
      ck_assert_int_eq(arec_test_redis_restart(&g_srv[i]), 0);
    else
      freeReplyObject(rep);
  }
  fx_reset(&g_f);
}

static arec_lock *open3(void) {
  arec_lock *l = NULL;
  all_up();
  ck_assert_int_eq(fx_open(&g_f, &l), 0);
  return l;
}

static arec_redis_node_result g_d[16];

static size_t detail(arec_lock *l) {
  size_t n = 0;
  ck_assert_int_eq(arec_redis_lock_last_detail(l, g_d, 16, &n), 0);
  ck_assert_uint_eq(n, 3);
  return n;
}

static int holders(const char *key, const char *value) {
  int n = 0;
  char buf[200];
  for (size_t i = 0; i < 3; i++) {
    rget(&g_srv[i], key, buf, sizeof buf);
    if (strcmp(buf, value) == 0)
      n++;
  }
  return n;
}

/* ------------------------------------------------------------ one killed */
START_TEST(one_master_killed) {
  arec_lock *l = open3();
  arec_lease a;
  ck_assert_int_eq(arec_test_redis_kill(&g_srv[2]), 0);
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", TTL, &a), 1);
  ck_assert_int_gt(a.validity_ms, TTL - 1000);
  detail(l);
  ck_assert_int_eq(g_d[0].answer, AREC_REDIS_YES);
  ck_assert_int_eq(g_d[1].answer, AREC_REDIS_YES);
  ck_assert_int_eq(g_d[2].answer, AREC_REDIS_FAIL);
  ck_assert_str_eq(g_d[0].why, "OK");
  ck_assert_int_eq(holders(KEY, a.value), 2);
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), 0);
  ck_assert_int_eq(l->release(l, KEY, &a), 0);
  ck_assert_int_eq(holders(KEY, a.value), 0);
  unsigned up = 9;
  ck_assert_int_eq(arec_redis_lock_ping(l, &up), 0);
  ck_assert_uint_eq(up, 2);
  l->free(l);
}
END_TEST

START_TEST(two_masters_killed) {
  arec_lock *l = open3();
  arec_lease a;
  ck_assert_int_eq(arec_test_redis_kill(&g_srv[0]), 0);
  ck_assert_int_eq(arec_test_redis_kill(&g_srv[1]), 0);
  for (int round = 0; round < 2; round++) { /* broken, then refused */
    char key[64];
    snprintf(key, sizeof key, "agent:lock:fault-2-%d", round);
    ck_assert_int_eq(l->try_acquire(l, key, "pod-a", TTL, &a),
                     AREC_EUNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(arec_error_last(), "quorum 2"));
    ck_assert_int_eq(rpttl(&g_srv[2], key), -2); /* nothing on the survivor */
    usleep(30000);
  }
  /* batched too */
  const char *keys[3] = {"agent:lock:fb-0", "agent:lock:fb-1",
                         "agent:lock:fb-2"};
  arec_lease leases[3];
  int res[3];
  ck_assert_int_eq(l->try_acquire_many(l, keys, 3, "pod-a", TTL, leases, res),
                   0);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(res[i], AREC_EUNAVAILABLE);
    ck_assert_int_eq(rpttl(&g_srv[2], keys[i]), -2);
  }
  unsigned up = 9;
  ck_assert_int_eq(arec_redis_lock_ping(l, &up), AREC_EUNAVAILABLE);
  ck_assert_uint_eq(up, 1);
  l->free(l);
}
END_TEST

/* ----------------------------------------------------------------- pause */
START_TEST(paused_master_keeps_deadline_and_step) {
  arec_lock *l = open3();
  arec_lease a, b;
  long long t0;
  ck_assert_int_eq(arec_test_redis_pause(&g_srv[1]), 0);
  /* quorum still there: decided early, no wait for the paused one */
  t0 = arec_test_now_ms();
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", TTL, &a), 1);
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), 0);
  ck_assert_int_eq(l->release(l, KEY, &a), 0);
  ck_assert_int_lt(arec_test_now_ms() - t0, 1000);
  /* quorum gone: the call returns at the node deadline (50 ms) */
  ck_assert_int_eq(arec_test_redis_pause(&g_srv[2]), 0);
  t0 = arec_test_now_ms();
  ck_assert_int_eq(l->try_acquire(l, "agent:lock:p2", "pod-a", TTL, &b),
                   AREC_EUNAVAILABLE);
  long long el = arec_test_now_ms() - t0;
  ck_assert_int_ge(el, 45);
  ck_assert_int_lt(el, 600);
  detail(l);
  ck_assert_str_eq(g_d[1].why, "timeout");
  ck_assert_int_eq(rpttl(&g_srv[0], "agent:lock:p2"), -2);
  /* SIGCONT: the late replies are read and discarded, the connection is
   * in step again */
  ck_assert_int_eq(arec_test_redis_cont(&g_srv[1]), 0);
  ck_assert_int_eq(arec_test_redis_cont(&g_srv[2]), 0);
  usleep(100000);
  for (int i = 0; i < 3; i++) {
    char key[64];
    snprintf(key, sizeof key, "agent:lock:p3-%d", i);
    ck_assert_int_eq(l->try_acquire(l, key, "pod-a", TTL, &b), 1);
    rsettle(l); /* the third master answered too */
    ck_assert_int_eq(holders(key, b.value), 3);
    ck_assert_int_eq(l->refresh(l, key, &b, TTL), 0);
    /* a reply read out of step would show as a failure here */
    detail(l);
    for (int j = 0; j < 3; j++)
      ck_assert_msg(g_d[j].answer == AREC_REDIS_YES ||
                        strcmp(g_d[j].why, "pending") == 0,
                    "node %d: %s", j, g_d[j].why);
    ck_assert_int_eq(l->release(l, key, &b), 0);
    rsettle(l);
    ck_assert_int_eq(holders(key, b.value), 0);
    unsigned up = 0;
    ck_assert_int_eq(arec_redis_lock_ping(l, &up), 0); /* waits for all */
    ck_assert_uint_eq(up, 3);
    detail(l);
    for (int j = 0; j < 3; j++)
      ck_assert_str_eq(g_d[j].why, "PONG");
  }
  /* the timed-out acquire was cleaned up on the paused masters too */
  usleep(50000);
  ck_assert_int_eq(fx_ttl(&g_f, "agent:lock:p2"), -2);
  l->free(l);
}
END_TEST

/* --------------------------------------------------------------- restart */
/* ----------------------------------------------------- lost bytes, healed */
/* A middlebox that swallowed requests (tests/tools/faultproxy in blackhole
 * mode drops what it reads) leaves the connection owing replies that will
 * never come; once it passes traffic again the lock must not stay out of
 * step: the connection is dropped and dialled again, and calls succeed. */
static void proxy_cmd(int port, const char *cmd) {
  ck_assert_int_eq(arec_test_faultproxy_cmd(port, cmd), 0);
}

START_TEST(blackholed_then_healed_master_recovers) {
  int lport = arec_test_free_port(), cport = arec_test_free_port();
  char addr[64];
  static arec_test_proc px;
  ck_assert_int_eq(
      arec_test_faultproxy_start(&px, lport, g_srv[0].port, cport), 0);
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  snprintf(addr, sizeof addr, "127.0.0.1:%d", lport);
  o.addrs = addr;
  arec_lock *l = NULL;
  arec_lease le;
  ck_assert_int_eq(arec_redis_lock_new(&l, &o), 0);
  ck_assert_int_eq(l->try_acquire(l, "agent:lock:bh", "pod-a", TTL, &le), 1);
  proxy_cmd(cport, "blackhole");
  /* a renewal waits up to a third of its TTL: a short one keeps this quick */
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(l->refresh(l, "agent:lock:bh", &le, 600),
                     AREC_EUNAVAILABLE);
    usleep(200000);
  }
  proxy_cmd(cport, "pass");
  long long t0 = arec_test_now_ms();
  int rc;
  while ((rc = l->try_acquire(l, "agent:lock:bh2", "pod-a", TTL, &le)) != 1 &&
         arec_test_now_ms() - t0 < 5000)
    usleep(100000);
  ck_assert_msg(rc == 1, "still failing %lld ms after healing: %s",
                arec_test_now_ms() - t0, arec_error_last());
  ck_assert_int_lt(arec_test_now_ms() - t0, 3000);
  ck_assert_int_eq(l->release(l, "agent:lock:bh2", &le), 0);
  l->free(l);
  arec_test_proc_kill(&px);
}
END_TEST

/* A healthy master that always answers after the quorum decided (here
 * behind the fault proxy, 30 ms late) owes a reply at every round start,
 * but the reply has arrived by then: its connection is kept however long
 * the calls go on, and it never counts as down. */
START_TEST(late_master_is_not_dropped) {
  int lport = arec_test_free_port(), cport = arec_test_free_port();
  char addr[200], key[64];
  all_up();
  static arec_test_proc px;
  ck_assert_int_eq(
      arec_test_faultproxy_start(&px, lport, g_srv[2].port, cport), 0);
  proxy_cmd(cport, "delay 30");
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  snprintf(addr, sizeof addr, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d",
           g_srv[0].port, g_srv[1].port, lport);
  o.addrs = addr;
  o.node_timeout_ms = 500; /* the late master answers within it */
  arec_lock *l = NULL;
  arec_lease le;
  ck_assert_int_eq(arec_redis_lock_new(&l, &o), 0);
  /* longer than AREC__REDIS_STALE_DROP_MS (1 s) of calls 100 ms apart */
  long long t0 = arec_test_now_ms();
  for (int i = 0; arec_test_now_ms() - t0 < 2500; i++) {
    snprintf(key, sizeof key, "agent:lock:late-%d", i);
    ck_assert_int_eq(l->try_acquire(l, key, "pod-a", TTL, &le), 1);
    detail(l);
    ck_assert_msg(strncmp(g_d[2].why, "down", 4) != 0,
                  "the late master was dropped after %lld ms: %s",
                  arec_test_now_ms() - t0, g_d[2].why);
    usleep(100000);
  }
  rsettle(l);
  ck_assert_int_eq(holders(key, le.value), 3);
  l->free(l);
  arec_test_proc_kill(&px);
}
END_TEST

/* Pings until every master answers (up to 5 s). */
static void wait_all_up(arec_lock *l) {
  unsigned up = 0;
  for (int i = 0; i < 250 && up != 3; i++) {
    arec_redis_lock_ping(l, &up);
    if (up != 3)
      usleep(20000);
  }
  ck_assert_uint_eq(up, 3);
}

/* A lock taken while a master was down lives on two masters; once that
 * master is back, a refresh sets it there too, batched or not, so losing
 * one of the other two no longer loses the lock.  A key another owner
 * holds on the returning master is left alone. */
START_TEST(refresh_restores_a_key_missing_on_a_master) {
  arec_lock *l = open3();
  const char *keys[3] = {"agent:lock:m-0", "agent:lock:m-1", "agent:lock:m-2"};
  arec_lease ls[3], one;
  int res[3];
  ck_assert_int_eq(arec_test_redis_kill(&g_srv[2]), 0);
  ck_assert_int_eq(l->try_acquire_many(l, keys, 3, "pod-a", TTL, ls, res), 0);
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", TTL, &one), 1);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(res[i], 1);
    ck_assert_int_eq(holders(keys[i], ls[i].value), 2);
  }
  ck_assert_int_eq(arec_test_redis_restart(&g_srv[2]), 0);
  ck_assert(rok(rcmd(&g_srv[2], "SET agent:lock:m-2 someone-else PX 60000")));
  wait_all_up(l);
  ck_assert_int_eq(l->refresh_many(l, keys, ls, 3, TTL, res), 0);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(res[i], 0);
  ck_assert_int_eq(l->refresh(l, KEY, &one, TTL), 0);
  ck_assert_int_eq(holders(keys[0], ls[0].value), 3);
  ck_assert_int_eq(holders(keys[1], ls[1].value), 3);
  ck_assert_int_eq(holders(KEY, one.value), 3);
  ck_assert_int_eq(holders(keys[2], ls[2].value), 2); /* not ours there */
  ck_assert_int_gt(rpttl(&g_srv[2], keys[0]), TTL / 2);
  ck_assert_int_le(rpttl(&g_srv[2], keys[0]), TTL);
  /* master 0 lost: two copies left, the refresh holds */
  ck_assert_int_eq(arec_test_redis_kill(&g_srv[0]), 0);
  ck_assert_int_eq(l->refresh_many(l, keys, ls, 2, TTL, res), 0);
  ck_assert_int_eq(res[0], 0);
  ck_assert_int_eq(res[1], 0);
  ck_assert_int_eq(l->refresh(l, KEY, &one, TTL), 0);
  l->free(l);
}
END_TEST

START_TEST(restarted_master_refresh_holds) {
  arec_lock *l = open3(), *l0 = NULL;
  arec_lease a, a0;
  char addr0[64];
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  snprintf(addr0, sizeof addr0, "127.0.0.1:%d", g_srv[0].port);
  o.addrs = addr0;
  ck_assert_int_eq(arec_redis_lock_new(&l0, &o), 0);
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", TTL, &a), 1);
  ck_assert_int_eq(l0->try_acquire(l0, "agent:lock:r0", "pod-a", TTL, &a0), 1);
  ck_assert_int_eq(arec_test_redis_restart(&g_srv[0]), 0);

  /* three masters: the quorum holds, and the restarted master, which
   * answers the key missing, gets it again (SET NX PX) */
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), 0); /* broken connection */
  ck_assert_int_eq(holders(KEY, a.value), 2);
  usleep(60000);                                    /* backoff */
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), 0); /* re-dialled */
  ck_assert_int_eq(holders(KEY, a.value), 3);
  ck_assert_int_gt(rpttl(&g_srv[0], KEY), TTL / 2);
  ck_assert_int_le(rpttl(&g_srv[0], KEY), TTL);

  /* the restarted master alone: broken, then EVALSHA answers "missing"
   * (lost: no quorum holds it, nothing is set again) */
  ck_assert_int_eq(l0->refresh(l0, "agent:lock:r0", &a0, TTL),
                   AREC_EUNAVAILABLE);
  usleep(60000);
  ck_assert_int_eq(l0->refresh(l0, "agent:lock:r0", &a0, TTL), AREC_ELOST);
  size_t n = 0;
  ck_assert_int_eq(arec_redis_lock_last_detail(l0, g_d, 16, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(g_d[0].why, "missing");
  ck_assert_int_eq(rpttl(&g_srv[0], "agent:lock:r0"), -2);

  /* scripts flushed behind our back: NOSCRIPT, then EVAL */
  ck_assert_int_eq(l0->try_acquire(l0, "agent:lock:r0", "pod-a", TTL, &a0), 1);
  ck_assert(rok(rcmd(&g_srv[0], "SCRIPT FLUSH")));
  ck_assert_int_eq(l0->refresh(l0, "agent:lock:r0", &a0, TTL), 0);
  ck_assert_int_eq(arec_redis_lock_last_detail(l0, g_d, 16, &n), 0);
  ck_assert_str_eq(g_d[0].why, "extended");
  ck_assert_int_eq(l0->release(l0, "agent:lock:r0", &a0), 0);
  /* and the scripts were loaded again, with the sha we call */
  redisReply *rep = rcmd(&g_srv[0], "SCRIPT EXISTS %s %s",
                         "b998f9dfb154cdbea8cda65ad5177aadf0e945a2",
                         "40571556545ef28ce44937c5927d3f2a365eea77");
  ck_assert_ptr_nonnull(rep);
  ck_assert_int_eq(rep->type, REDIS_REPLY_ARRAY);
  ck_assert_int_eq(rep->element[0]->integer, 1);
  ck_assert_int_eq(rep->element[1]->integer, 1);
  freeReplyObject(rep);

  for (int i = 0; i < 3; i++)
    ck_assert(rok(rcmd(&g_srv[i], "SCRIPT FLUSH")));
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), 0);
  ck_assert_int_eq(l->release(l, KEY, &a), 0);
  rsettle(l);
  ck_assert_int_eq(holders(KEY, a.value), 0);
  l0->free(l0);
  l->free(l);
}
END_TEST

/* ------------------------------------------------------------------ race */
#define NRACE 1000
typedef struct racer {
  arec_lock *l;
  const char *owner;
  int backward;
  arec_lease *leases;
  int *res;
} racer;

static char (*g_keys)[40];

static void *race_main(void *arg) {
  racer *r = arg;
  for (int k = 0; k < NRACE; k++) {
    int i = r->backward ? NRACE - 1 - k : k;
    r->res[i] = r->l->try_acquire(r->l, g_keys[i], r->owner, TTL,
                                  &r->leases[i]);
  }
  return NULL;
}

START_TEST(two_pods_race_one_owner_per_key) {
  racer r[2];
  pthread_t th[2];
  all_up();
  g_keys = calloc(NRACE, sizeof *g_keys);
  for (int i = 0; i < NRACE; i++)
    snprintf(g_keys[i], sizeof g_keys[i], "agent:lock:race-%d", i);
  for (int t = 0; t < 2; t++) {
    r[t].l = NULL;
    ck_assert_int_eq(fx_open(&g_f, &r[t].l), 0);
    r[t].owner = t ? "pod-b" : "pod-a";
    r[t].backward = t;
    r[t].leases = calloc(NRACE, sizeof(arec_lease));
    r[t].res = calloc(NRACE, sizeof(int));
  }
  for (int t = 0; t < 2; t++)
    pthread_create(&th[t], NULL, race_main, &r[t]);
  for (int t = 0; t < 2; t++)
    pthread_join(th[t], NULL);
  for (int i = 0; i < NRACE; i++) {
    int a = r[0].res[i], b = r[1].res[i];
    ck_assert_msg((a == 1) + (b == 1) == 1, "key %d: %d %d", i, a, b);
    ck_assert(a >= 0 && b >= 0);
    if (i % 10 == 0) { /* the winner holds a quorum, the loser nothing */
      const arec_lease *w = a == 1 ? &r[0].leases[i] : &r[1].leases[i];
      const arec_lease *o = a == 1 ? &r[1].leases[i] : &r[0].leases[i];
      ck_assert_int_ge(holders(g_keys[i], w->value), 2);
      if (o->value[0])
        ck_assert_int_eq(holders(g_keys[i], o->value), 0);
    }
  }
  for (int t = 0; t < 2; t++) {
    r[t].l->free(r[t].l);
    free(r[t].leases);
    free(r[t].res);
  }
  free(g_keys);
}
END_TEST

/* One lock object shared by four threads (the mutex serialises them). */
typedef struct sharer {
  arec_lock *l;
  int id, ok;
} sharer;

static void *share_main(void *arg) {
  sharer *s = arg;
  for (int i = 0; i < 100; i++) {
    char key[64];
    arec_lease a;
    snprintf(key, sizeof key, "agent:lock:shared-%d-%d", s->id, i);
    if (s->l->try_acquire(s->l, key, "pod-a", TTL, &a) == 1 &&
        s->l->refresh(s->l, key, &a, TTL) == 0 &&
        s->l->release(s->l, key, &a) == 0)
      s->ok++;
  }
  return NULL;
}

START_TEST(one_lock_many_threads) {
  arec_lock *l = open3();
  pthread_t th[4];
  sharer s[4];
  for (int t = 0; t < 4; t++) {
    s[t].l = l;
    s[t].id = t;
    s[t].ok = 0;
    pthread_create(&th[t], NULL, share_main, &s[t]);
  }
  for (int t = 0; t < 4; t++) {
    pthread_join(th[t], NULL);
    ck_assert_int_eq(s[t].ok, 100);
  }
  l->free(l);
}
END_TEST

/* ------------------------------------------------------- behind our back */
START_TEST(value_changed_behind_our_back) {
  arec_lock *l = open3();
  arec_lease a;
  const char *other = "pod-z/0123456789abcdef0123456789abcdef";
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", TTL, &a), 1);
  ck_assert_int_eq(fx_overwrite(&g_f, KEY, other, TTL), 0);
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), AREC_ELOST);
  ck_assert_int_eq(l->release(l, KEY, &a), 1);
  ck_assert_int_eq(holders(KEY, other), 3);
  /* one master changed only: still ours on the quorum */
  ck_assert_int_eq(fx_expire(&g_f, KEY), 0);
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", TTL, &a), 1);
  ck_assert(rok(rcmd(&g_srv[0], "SET %s %s", KEY, other)));
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), 0);
  ck_assert_int_eq(l->release(l, KEY, &a), 0);
  char buf[200];
  rget(&g_srv[0], KEY, buf, sizeof buf);
  ck_assert_str_eq(buf, other);
  l->free(l);
}
END_TEST

/* -------------------------------------------------------------- bad input */
START_TEST(bad_input_clear_errors) {
  arec_lock *l = NULL;
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  static const char *bad[] = {"", ",", "127.0.0.1:", "127.0.0.1:0",
                              "127.0.0.1:99999", "a:1,,b:2", "h:x",
                              "::1:6379", "[::1", "a b:1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o.addrs = bad[i];
    l = (arec_lock *)&o; /* must be reset to NULL */
    ck_assert_msg(arec_redis_lock_new(&l, &o) == AREC_EINVAL, "%s", bad[i]);
    ck_assert_ptr_null(l);
    ck_assert_str_ne(arec_error_last(), "");
  }
  o.addrs = NULL;
  ck_assert_int_eq(arec_redis_lock_new(&l, &o), AREC_EINVAL);
  ck_assert_int_eq(arec_redis_lock_new(&l, NULL), AREC_EINVAL);
  o.version = 99;
  o.addrs = "127.0.0.1:6379";
  ck_assert_int_eq(arec_redis_lock_new(&l, &o), AREC_EVERSION);

  /* unreachable: created, then every call says unavailable, fast */
  arec_redis_options u = AREC_REDIS_OPTIONS_INIT;
  u.addrs = "127.0.0.1:1";
  u.password = "s3cret-pw";
  ck_assert_int_eq(arec_redis_lock_new(&l, &u), 0);
  arec_lease a;
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", TTL, &a),
                   AREC_EUNAVAILABLE);
  ck_assert_int_lt(arec_test_now_ms() - t0, 1000);
  ck_assert_ptr_null(strstr(arec_error_last(), "s3cret"));
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "127.0.0.1:1"));
  size_t n = 0;
  ck_assert_int_eq(arec_redis_lock_last_detail(l, g_d, 16, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(g_d[0].answer, AREC_REDIS_FAIL);
  ck_assert_str_ne(g_d[0].why, "");
  unsigned up = 9;
  ck_assert_int_eq(arec_redis_lock_ping(l, &up), AREC_EUNAVAILABLE);
  ck_assert_uint_eq(up, 0);
  snprintf(a.value, sizeof a.value, "pod-a/x");
  ck_assert_int_eq(l->refresh(l, KEY, &a, TTL), AREC_EUNAVAILABLE);
  ck_assert_int_eq(l->release(l, KEY, &a), AREC_EUNAVAILABLE);
  l->free(l);

  /* keys: empty and over-long refused, 512 bytes fine */
  l = open3();
  char key[600];
  memset(key, 'k', sizeof key);
  key[513] = '\0';
  ck_assert_int_eq(l->try_acquire(l, key, "pod-a", TTL, &a), AREC_EINVAL);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "key"));
  key[512] = '\0';
  ck_assert_int_eq(l->try_acquire(l, key, "pod-a", TTL, &a), 1);
  ck_assert_int_eq(l->release(l, key, &a), 0);
  ck_assert_int_eq(l->try_acquire(l, "", "pod-a", TTL, &a), AREC_EINVAL);
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", 0, &a), AREC_EINVAL);
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", -1, &a), AREC_EINVAL);
  ck_assert_int_eq(l->try_acquire(l, KEY, "", TTL, &a), AREC_EINVAL);
  ck_assert_int_eq(fx_ttl(&g_f, KEY), -2);
  l->free(l);
}
END_TEST

/* ---------------------------------------------------- auth, db, log line */
static int g_debug_lines;
static char g_last_nodes[512];

static void capture(void *ud, arec_log_level lv, const char *msg,
                    const arec_log_field *f, size_t nf) {
  (void)ud;
  (void)msg;
  if (lv != AREC_LOG_DEBUG)
    return;
  g_debug_lines++;
  for (size_t i = 0; i < nf; i++)
    if (strcmp(f[i].key, "nodes") == 0)
      snprintf(g_last_nodes, sizeof g_last_nodes, "%s", f[i].value);
}

START_TEST(auth_select_and_debug_log) {
  arec_lock *l = NULL;
  arec_lease a;
  char addr[64];
  all_up();
  ck_assert(rok(rcmd(&g_srv[0], "CONFIG SET requirepass %s", "pw-123")));
  snprintf(addr, sizeof addr, "127.0.0.1:%d", g_srv[0].port);
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  o.addrs = addr;
  o.password = "pw-123";
  o.db = 3;
  o.log = capture;
  ck_assert_int_eq(arec_redis_lock_new(&l, &o), 0);
  ck_assert_int_eq(l->try_acquire(l, KEY, "pod-a", TTL, &a), 1);
  ck_assert_int_ge(g_debug_lines, 1);
  ck_assert_ptr_nonnull(strstr(g_last_nodes, "=OK"));
  ck_assert_ptr_null(strstr(g_last_nodes, "pw-123"));
  char *out = NULL;
  ck_assert_int_eq(arec_test_redis_cli(&g_srv[0], &out,
                                       "-a pw-123 --no-auth-warning -n 3 GET %s",
                                       KEY),
                   0);
  ck_assert_ptr_nonnull(strstr(out, a.value));
  free(out);
  l->free(l);
  /* a wrong password: the master fails with the reason, not the secret */
  o.password = "wrong-pw";
  ck_assert_int_eq(arec_redis_lock_new(&l, &o), 0);
  ck_assert_int_eq(l->try_acquire(l, "agent:lock:w", "pod-a", TTL, &a),
                   AREC_EUNAVAILABLE);
  ck_assert_ptr_null(strstr(arec_error_last(), "wrong-pw"));
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "AUTH"));
  l->free(l);
  ck_assert_int_eq(arec_test_redis_cli(&g_srv[0], NULL,
                                       "-a pw-123 --no-auth-warning CONFIG SET "
                                       "requirepass ''"),
                   0);
}
END_TEST

int main(void) {
  const TTest *tests[] = {one_master_killed, two_masters_killed,
      paused_master_keeps_deadline_and_step, restarted_master_refresh_holds,
      blackholed_then_healed_master_recovers, late_master_is_not_dropped,
      two_pods_race_one_owner_per_key, one_lock_many_threads,
      value_changed_behind_our_back, bad_input_clear_errors,
      auth_select_and_debug_log, refresh_restores_a_key_missing_on_a_master,
      NULL};
  Suite *s = suite_create("redis-faults");
  arec_test_cases(s, "redis3-faults", 30, tests);
  if (rfix_start(&g_f, g_srv, 3) != 0) {
    fprintf(stderr, "test_redis_faults: cannot start redis-server\n");
    return 1;
  }
  return arec_test_run(s);
}
