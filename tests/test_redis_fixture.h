/*
 * test_redis_fixture.h -- shared by the tests/test_redis_*.c binaries: the
 * lock conformance fixture over 1..3 throwaway redis-servers (harness.h),
 * and small blocking hiredis helpers to look at / change the servers behind
 * the lock's back.  Header-only (static functions): each binary includes it
 * once.
 */
#ifndef AREC_TEST_REDIS_FIXTURE_H
#define AREC_TEST_REDIS_FIXTURE_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "agentrecover.h"
#include "agentrecover/redis.h"
#include "agentrecover/sys/lock.h"
#include "conformance/conformance.h"
#include "support/harness.h"

typedef struct rfix {
  arec_test_redis *srv[3];
  size_t n;
  char addrs[256];
  int64_t node_timeout_ms;
} rfix;

/* One command on one server through a short-lived blocking connection.
 * NULL when the server does not answer. */
static redisReply *rcmd(const arec_test_redis *r, const char *fmt, ...) {
  struct timeval tv = {1, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
  redisReply *rep = NULL;
  va_list ap;
  if (!c || c->err) {
    if (c)
      redisFree(c);
    return NULL;
  }
  redisSetTimeout(c, tv);
  va_start(ap, fmt);
  rep = redisvCommand(c, fmt, ap);
  va_end(ap);
  redisFree(c);
  return rep;
}

/* The value of `key` on one server into buf ("" when absent). */
static __attribute__((unused)) void rget(const arec_test_redis *r, const char *key, char *buf,
                 size_t len) {
  redisReply *rep = rcmd(r, "GET %s", key);
  buf[0] = '\0';
  if (rep && rep->type == REDIS_REPLY_STRING)
    snprintf(buf, len, "%s", rep->str);
  if (rep)
    freeReplyObject(rep);
}

static __attribute__((unused)) long long rpttl(const arec_test_redis *r, const char *key) {
  redisReply *rep = rcmd(r, "PTTL %s", key);
  long long v = -2;
  if (rep && rep->type == REDIS_REPLY_INTEGER)
    v = rep->integer;
  if (rep)
    freeReplyObject(rep);
  return v;
}

static __attribute__((unused)) int rok(redisReply *rep) {
  int ok = rep && rep->type != REDIS_REPLY_ERROR;
  if (rep)
    freeReplyObject(rep);
  return ok;
}

/* Waits until every master has answered everything this lock object sent
 * (all must be up): a call decides as soon as a quorum answered, and a
 * master answering after it may run another connection's later commands
 * first.  A ping goes to every master and reads what each still owes
 * before its PONG; one that misses the ping's deadline on a loaded machine
 * is pinged again. */
static __attribute__((unused)) void rsettle(arec_lock *l) {
  arec_redis_node_result d[16];
  size_t n = 0;
  unsigned up = 0;
  long long until = arec_test_now_ms() + 10000;
  do {
    arec_redis_lock_ping(l, &up);
    ck_assert_int_eq(arec_redis_lock_last_detail(l, d, 16, &n), 0);
  } while (up < n && arec_test_now_ms() < until);
  ck_assert_msg(up == n, "only %u of %zu masters answered", up, n);
}

/* ------------------------------------------------------ fixture methods */
static __attribute__((unused)) void fx_reset(void *ctx) {
  rfix *f = ctx;
  for (size_t i = 0; i < f->n; i++)
    rok(rcmd(f->srv[i], "FLUSHALL"));
}

static __attribute__((unused)) int fx_open(void *ctx, arec_lock **out) {
  rfix *f = ctx;
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  o.addrs = f->addrs;
  o.node_timeout_ms = f->node_timeout_ms;
  return arec_redis_lock_new(out, &o);
}

/* f with every server up (resumed; restarted when it does not answer) and
 * empty: where each test starts. */
static __attribute__((unused)) rfix *rfix_ready(rfix *f) {
  for (size_t j = 0; j < f->n; j++) {
    arec_test_redis_cont(f->srv[j]);
    redisReply *rep = rcmd(f->srv[j], "PING");
    if (!rep)
      ck_assert_int_eq(arec_test_redis_restart(f->srv[j]), 0);
    else
      freeReplyObject(rep);
  }
  fx_reset(f);
  return f;
}

/* A lock on f's servers, asserted to open. */
static __attribute__((unused)) arec_lock *rfix_lock(rfix *f) {
  arec_lock *l = NULL;
  ck_assert_int_eq(fx_open(f, &l), 0);
  return l;
}

static __attribute__((unused)) int fx_expire(void *ctx, const char *key) {
  rfix *f = ctx;
  for (size_t i = 0; i < f->n; i++)
    if (!rok(rcmd(f->srv[i], "DEL %s", key)))
      return -1;
  return 0;
}

static __attribute__((unused)) int fx_overwrite(void *ctx, const char *key, const char *value,
                        int64_t ttl_ms) {
  rfix *f = ctx;
  for (size_t i = 0; i < f->n; i++)
    if (!rok(rcmd(f->srv[i], "SET %s %s PX %lld", key, value,
                  (long long)ttl_ms)))
      return -1;
  return 0;
}

static __attribute__((unused)) int64_t fx_ttl(void *ctx, const char *key) {
  rfix *f = ctx;
  long long best = -2;
  for (size_t i = 0; i < f->n; i++) {
    long long t = rpttl(f->srv[i], key);
    if (t > best)
      best = t;
  }
  return best;
}

/* Starts n servers into srv[] and fills the fixture. */
static __attribute__((unused)) int rfix_start(rfix *f, arec_test_redis *srv, size_t n) {
  size_t off = 0;
  memset(f, 0, sizeof *f);
  f->n = n;
  for (size_t i = 0; i < n; i++) {
    if (arec_test_redis_start(&srv[i]) != 0)
      return -1;
    f->srv[i] = &srv[i];
    off += (size_t)snprintf(f->addrs + off, sizeof f->addrs - off, "%s127.0.0.1:%d",
                            i ? "," : "", srv[i].port);
  }
  return 0;
}

static __attribute__((unused)) arec_lock_fixture rfix_conf(rfix *f, const char *name) {
  arec_lock_fixture lf = {.name = name, .ctx = f, .reset = fx_reset,
                          .open = fx_open, .expire = fx_expire,
                          .overwrite = fx_overwrite, .ttl = fx_ttl};
  return lf;
}

#endif
