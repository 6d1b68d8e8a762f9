/*
 * fuzz_redis_reply.c -- fuzz target of the Redlock backend's reply handling
 * (lib/redis): every master is a socketpair whose far end has already sent
 * the fuzzed bytes and shut down, so the real code (redis_round.c's reader
 * loop, handshake and stale handling, redis_ops.c's classification, NOSCRIPT
 * retry and quorum decisions, redis_lock.c's detail and results) parses
 * synthetic replies of every type -- status, error, integer, nil, bulk,
 * arrays, nested, wrong types, NOSCRIPT, -BUSY, NOAUTH, garbage, truncated
 * -- through hiredis's own reader, without a server and without waiting.
 *
 * Input: byte 0 picks the call (bits 0-1: acquire, refresh, release, ping;
 * bits 2-3: 1, 2, 3 or 8 keys, the batched entry points above 1; bit 4: a
 * SCRIPT LOAD handshake is owed first; bits 5-6: 1, 2, 3 or 5 masters);
 * the rest is each master's byte stream, masters separated by "~~\n"
 * ("DOWN" for a master that cannot be reached; a missing chunk is down too).
 *
 * Checked, beyond "no crash, no leak": the result codes are the vtable's;
 * and against an independent reading of the same bytes with a
 * redisReader (what each master answered for each key): acquire and
 * refresh succeed only with a quorum of positive answers, release only
 * with at least one; a refresh says AREC_ELOST only with a quorum of "not
 * ours"; a call that every master answered positively succeeds; a granted
 * lease's validity lies in (0, ttl].  Violations abort().
 *
 * It uses the backend's internal struct (redis/redis_internal.h) only to
 * hand each master a connected context; nothing in lib/ is changed for it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "agentrecover.h"
#include "agentrecover/redis.h"
#include "agentrecover/sys/lock.h"
#include "redis/redis_internal.h"

#define TTL_MS 10000
#define MAX_KEYS 8
#define SEP "~~\n"

enum { YES = 1, NO = 0, FAIL = -1 };

static const size_t node_counts[4] = {1, 2, 3, 5};
static const size_t key_counts[4] = {1, 2, 3, 8};
static arec_lock *locks[4]; /* one lock per master count, made once */

static void die(const char *what, int op, size_t nkeys, size_t nodes,
                size_t key, int rc) {
  fprintf(stderr,
          "fuzz_redis_reply: %s (op %d, %zu keys, %zu masters, key %zu, "
          "rc %d %s)\n",
          what, op, nkeys, nodes, key, rc, rc < 0 ? arec_err_name(rc) : "");
  abort();
}

static void nolog(void *ud, arec_log_level lv, const char *msg,
                  const arec_log_field *f, size_t n) {
  (void)ud;
  (void)lv;
  (void)msg;
  (void)f;
  (void)n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  for (size_t i = 0; i < 4; i++) {
    char addrs[128] = "";
    for (size_t j = 0; j < node_counts[i]; j++)
      strcat(addrs, j ? ",127.0.0.1:1" : "127.0.0.1:1");
    arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
    o.addrs = addrs;
    o.connect_timeout_ms = 200;
    /* Never reached: every master's stream ends in EOF at once.  Long, so
     * a loaded machine cannot turn an answer into a timeout. */
    o.node_timeout_ms = 5000;
    o.log = nolog; /* the debug detail line is formatted too */
    if (arec_redis_lock_new(&locks[i], &o) != 0) {
      fprintf(stderr, "fuzz_redis_reply: lock_new: %s\n", arec_error_last());
      abort();
    }
  }
  return 0;
}

/* ----------------------------------------------- the independent reading */
/* What `op` counts as a master's answer to one key (the backend's rules). */
static int classify(int op, const redisReply *r) {
  if (r->type == REDIS_REPLY_ERROR)
    return FAIL;
  if (op == AREC__OP_PING)
    return r->type == REDIS_REPLY_STATUS ? YES : FAIL;
  if (op == AREC__OP_ACQUIRE)
    return r->type == REDIS_REPLY_STATUS ? YES
           : r->type == REDIS_REPLY_NIL  ? NO
                                         : FAIL;
  if (r->type == REDIS_REPLY_INTEGER)
    return r->integer == 1 ? YES : NO;
  return FAIL;
}

/* Reads one master's bytes as the backend owes them: `hs` handshake
 * replies, then one reply per key in order; a NOSCRIPT error re-queues the
 * key at the end (the EVAL retry); NOAUTH/WRONGPASS ends the stream. */
static void read_master(int op, const char *buf, size_t len, size_t hs,
                        size_t nkeys, int *ans) {
  size_t queue[1024], head = 0, tail = 0;
  redisReader *rd = redisReaderCreate();
  for (size_t i = 0; i < nkeys; i++) {
    ans[i] = FAIL;
    queue[tail++] = i;
  }
  if (!rd)
    return;
  if (redisReaderFeed(rd, buf, len) != REDIS_OK)
    goto out;
  for (;;) {
    void *v = NULL;
    if (redisReaderGetReply(rd, &v) != REDIS_OK || !v)
      break;
    redisReply *r = v;
    if (hs > 0) {
      hs--;
      freeReplyObject(r);
      continue;
    }
    if (head == tail) {
      freeReplyObject(r);
      break;
    }
    size_t k = queue[head++];
    int stop = 0;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
        tail < sizeof queue / sizeof *queue) {
      queue[tail++] = k;
    } else {
      ans[k] = classify(op, r);
      stop = r->type == REDIS_REPLY_ERROR &&
             (strncmp(r->str, "NOAUTH", 6) == 0 ||
              strncmp(r->str, "WRONGPASS", 9) == 0);
    }
    freeReplyObject(r);
    if (stop)
      break;
  }
out:
  redisReaderFree(rd);
}

/* ------------------------------------------------------------ the target */
typedef struct master {
  const char *buf;
  size_t len;
  int down;
  int peer; /* far end of the socketpair, or -1 */
} master;

static int attach(arec__rnode *nd, master *m, int need_load) {
  int sv[2];
  if (nd->c) {
    redisFree(nd->c);
    nd->c = NULL;
  }
  nd->stale = 0;
  nd->backoff_ms = 0;
  nd->need_load = 0;
  nd->lasterr[0] = '\0';
  m->peer = -1;
  if (m->down) {
    nd->state = AREC__RN_DOWN;
    nd->next_dial_ms = INT64_MAX / 2; /* never re-dialled during the call */
    snprintf(nd->lasterr, sizeof nd->lasterr, "fuzz: down");
    return 0;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return -1;
  /* The far end says everything at once, then EOF. */
  size_t off = 0;
  while (off < m->len) {
    ssize_t k = write(sv[1], m->buf + off, m->len - off);
    if (k <= 0)
      break;
    off += (size_t)k;
  }
  shutdown(sv[1], SHUT_WR);
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  nd->c = redisConnectFd(sv[0]);
  if (!nd->c) {
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  nd->c->flags &= ~REDIS_BLOCK;
  nd->state = AREC__RN_READY;
  nd->next_dial_ms = INT64_MAX / 2;
  nd->need_load = need_load;
  m->peer = sv[1];
  return 0;
}

static void detach(arec__rnode *nd, master *m) {
  if (nd->c) {
    redisFree(nd->c);
    nd->c = NULL;
  }
  nd->state = AREC__RN_DOWN;
  nd->stale = 0;
  if (m->peer >= 0)
    close(m->peer);
  m->peer = -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int op = data[0] & 3;
  size_t nkeys = key_counts[(data[0] >> 2) & 3];
  int need_load = (data[0] >> 4) & 1;
  size_t ci = (size_t)((data[0] >> 5) & 3);
  size_t N = node_counts[ci], q = N / 2 + 1;
  arec_lock *lock = locks[ci];
  arec__redis_lock *L = (arec__redis_lock *)lock;
  master m[5];
  const char *p = (const char *)data + 1, *end = (const char *)data + size;

  if (op == AREC__OP_PING)
    nkeys = 1;
  for (size_t j = 0; j < N; j++) {
    const char *sep = NULL;
    for (const char *s = p; s && s + 3 <= end; s++)
      if (memcmp(s, SEP, 3) == 0) {
        sep = s;
        break;
      }
    m[j].buf = p;
    m[j].len = p ? (size_t)((sep ? sep : end) - p) : 0;
    m[j].down = !p || (m[j].len == 4 && memcmp(p, "DOWN", 4) == 0);
    p = sep ? sep + 3 : NULL;
  }

  /* What every master answered for every key, read independently. */
  int ans[5][MAX_KEYS];
  size_t yes[MAX_KEYS] = {0}, no[MAX_KEYS] = {0};
  for (size_t j = 0; j < N; j++) {
    if (m[j].down) {
      for (size_t i = 0; i < nkeys; i++)
        ans[j][i] = FAIL;
    } else {
      read_master(op, m[j].buf, m[j].len, need_load ? 2 : 0, nkeys, ans[j]);
    }
    for (size_t i = 0; i < nkeys; i++) {
      yes[i] += ans[j][i] == YES;
      no[i] += ans[j][i] == NO;
    }
  }

  for (size_t j = 0; j < N; j++)
    if (attach(&L->nodes[j], &m[j], need_load) != 0) {
      for (size_t k = 0; k < j; k++)
        detach(&L->nodes[k], &m[k]);
      return 0;
    }

  char keybuf[MAX_KEYS][48];
  const char *keys[MAX_KEYS];
  arec_lease leases[MAX_KEYS];
  int res[MAX_KEYS];
  memset(leases, 0, sizeof leases);
  for (size_t i = 0; i < nkeys; i++) {
    snprintf(keybuf[i], sizeof keybuf[i], "agent:lock:fz%zu", i);
    keys[i] = keybuf[i];
    snprintf(leases[i].value, sizeof leases[i].value,
             "pod-fz/0123456789abcdef0123456789abcde%zu", i);
    res[i] = 99;
  }

  int rc = 0;
  switch (op) {
  case AREC__OP_ACQUIRE:
    if (nkeys == 1)
      rc = res[0] = lock->try_acquire(lock, keys[0], "pod-fz", TTL_MS,
                                      &leases[0]);
    else
      rc = lock->try_acquire_many(lock, keys, nkeys, "pod-fz", TTL_MS, leases,
                                  res);
    break;
  case AREC__OP_REFRESH:
    if (nkeys == 1)
      rc = res[0] = lock->refresh(lock, keys[0], &leases[0], TTL_MS);
    else
      rc = lock->refresh_many(lock, keys, leases, nkeys, TTL_MS, res);
    break;
  case AREC__OP_RELEASE:
    if (nkeys == 1)
      rc = res[0] = lock->release(lock, keys[0], &leases[0]);
    else
      rc = lock->release_many(lock, keys, leases, nkeys, res);
    break;
  default: {
    unsigned int up = 99;
    rc = res[0] = arec_redis_lock_ping(lock, &up);
    if (up > N)
      die("ping counts more masters than there are", op, nkeys, N, 0, rc);
    arec_redis_node_result d[AREC__REDIS_MAX_NODES];
    size_t dn = 0;
    if (arec_redis_lock_last_detail(lock, d, AREC__REDIS_MAX_NODES, &dn) !=
            0 ||
        dn != N)
      die("no per-master detail after a ping", op, nkeys, N, 0, rc);
  }
  }
  if (nkeys > 1 && rc != 0)
    die("a batched call refused valid arguments", op, nkeys, N, 0, rc);

  for (size_t i = 0; i < nkeys; i++) {
    int r = res[i];
    switch (op) {
    case AREC__OP_ACQUIRE:
      if (r != 1 && r != 0 && r != AREC_ETIMEDOUT && r != AREC_EUNAVAILABLE &&
          r != AREC_ENOMEM)
        die("acquire: result outside the vtable's", op, nkeys, N, i, r);
      if (r == 1 && yes[i] < q)
        die("acquire granted without a quorum of OK", op, nkeys, N, i, r);
      if (r == 1 && (leases[i].validity_ms <= 0 ||
                     leases[i].validity_ms > TTL_MS))
        die("acquire: validity outside (0, ttl]", op, nkeys, N, i, r);
      if (yes[i] == N && r != 1)
        die("acquire refused though every master said OK", op, nkeys, N, i,
            r);
      break;
    case AREC__OP_REFRESH:
      if (r != 0 && r != AREC_ELOST && r != AREC_EUNAVAILABLE &&
          r != AREC_ENOMEM)
        die("refresh: result outside the vtable's", op, nkeys, N, i, r);
      if (r == 0 && yes[i] < q)
        die("refresh succeeded without a quorum", op, nkeys, N, i, r);
      if (r == AREC_ELOST && no[i] < q)
        die("refresh said lost without a quorum of 'not ours'", op, nkeys, N,
            i, r);
      if (yes[i] == N && r != 0)
        die("refresh failed though every master extended", op, nkeys, N, i,
            r);
      break;
    case AREC__OP_RELEASE:
      if (r != 0 && r != 1 && r != AREC_EUNAVAILABLE && r != AREC_ENOMEM)
        die("release: result outside the vtable's", op, nkeys, N, i, r);
      if (r == 0 && yes[i] < 1)
        die("release said released with no master deleting", op, nkeys, N, i,
            r);
      if (yes[i] == N && r != 0)
        die("release failed though every master deleted", op, nkeys, N, i,
            r);
      break;
    default:
      if (r != 0 && r != AREC_EUNAVAILABLE)
        die("ping: result outside its set", op, nkeys, N, i, r);
      if (r == 0 && yes[i] < q)
        die("ping ok without a quorum of PONG", op, nkeys, N, i, r);
      if (yes[i] == N && r != 0)
        die("ping failed though every master answered", op, nkeys, N, i, r);
    }
  }

  for (size_t j = 0; j < N; j++)
    detach(&L->nodes[j], &m[j]);
  return 0;
}
