/*
 * fuzz_redis_reply.c -- fuzz target of the Redlock backend's reply handling
 * (lib/redis).  Every master is a socketpair; a responder thread plays the
 * servers: it parses each command the backend sends and answers it with the
 * next reply of that master's fuzzed script (and, when the script runs out,
 * its unparseable tail, then EOF).  So the real code -- lib/redis/round.c's
 * reader loop, handshake and stale-reply handling across calls,
 * lib/redis/ops.c's classification, NOSCRIPT retry, quorum decisions and the
 * clean-up of failed acquires, lib/redis/lock.c's results and detail -- meets
 * replies of every type (status, error, integer, nil, bulk, arrays, nested,
 * wrong types, NOSCRIPT, -BUSY, NOAUTH, garbage, truncated) in causal order,
 * as from real servers, without a server.
 *
 * Input: byte 0: bits 0-1 masters (1, 2, 3, 5), bits 2-3 calls (1-4) on the
 * same connections, bit 4 a SCRIPT LOAD handshake owed first.  Then one
 * byte per call: bits 0-1 acquire, refresh, release, ping; bits 2-3 keys
 * (1, 2, 3, 8; batched entry points above 1: one chunk script call, but
 * SET NX PX per key for a plain acquire); bit 4 an acquire's owner is a
 * pod-lease holder (takeover).  Then each master's reply script, masters
 * separated by "~~\n" ("DOWN": unreachable; missing: down).
 *
 * The oracle is the responder's log: which reply answered which command
 * (Redis answers commands in order).  Per call and key, a master's answer
 * is its reply to the first command of the call's kind naming that key not
 * answered NOSCRIPT (of a chunk call: the key's element in an array of one
 * integer per key; any other reply fails the chunk).  Checked: results are the vtable's; acquire and
 * refresh succeed only with a quorum of positive answers, release only with
 * one; refresh says AREC_ELOST only with a quorum of "not ours"; a call
 * every master answered positively succeeds; a granted lease's validity is
 * in (0, ttl]; a failed acquire sends a compare-and-delete to every master
 * that said OK and is still connected.  Violations abort().
 *
 * FUZZ_VERBOSE=1 prints each call's results beside the masters' answers.
 * Only the backend's internal struct (redis/internal.h) is touched,
 * to hand each master a connected context; lib/ is unchanged for it.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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
#include "redis/internal.h"

#define TTL_MS 10000
#define MAX_KEYS 8
#define MAX_NODES 5
#define MAX_REPLIES 1024
#define MAX_LOG 256
#define SEP "~~\n"

enum { YES = 1, NO = 0, FAIL = -1 };
enum { C_OTHER, C_SET, C_TAKEOVER, C_REFRESH, C_RELEASE, C_PING, C_SCRIPT };

static const size_t node_counts[4] = {1, 2, 3, 5};
static const size_t key_counts[4] = {1, 2, 3, 8};
static arec_lock *locks[4]; /* one lock per master count, made once */

typedef struct logent {
  int kind;
  int many;    /* a chunk script call: one array element per key */
  size_t nkeys;
  char key[MAX_KEYS][64];
  int reply; /* index into the script, or -1: no reply (script ran out) */
} logent;

typedef struct fnode {
  int fd; /* the server's end, or -1 when down */
  int eof; /* the backend closed its end (dropped the connection) */
  int closed; /* the script ran out: write side shut */
  const char *buf;
  size_t len;
  size_t start[MAX_REPLIES + 1]; /* reply k is buf[start[k], start[k+1]) */
  redisReply *rep[MAX_REPLIES];
  size_t nrep, next;
  redisReader *cmds; /* parses the commands the backend sends */
  logent log[MAX_LOG];
  size_t nlog;
} fnode;

typedef struct server {
  fnode n[MAX_NODES];
  size_t N;
  int ctl[2]; /* main -> responder: stop after draining */
} server;

static void nolog(void *ud, arec_log_level lv, const char *msg,
                  const arec_log_field *f, size_t n) {
  (void)ud, (void)lv, (void)msg, (void)f, (void)n;
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
    /* A responder answers at once or closes: this deadline is never the
     * reason a call ends, even on a loaded machine. */
    o.node_timeout_ms = 5000;
    o.log = nolog; /* the debug detail line is formatted too */
    if (arec_redis_lock_new(&locks[i], &o) != 0) {
      fprintf(stderr, "fuzz_redis_reply: lock_new: %s\n", arec_error_last());
      abort();
    }
  }
  return 0;
}

/* ------------------------------------------------------------ the servers */
/* Splits a script into replies: a reply ends at the byte where the reader
 * completes it; what follows the last one is the tail. */
static void split_script(fnode *f) {
  redisReader *rd = redisReaderCreate();
  size_t from = 0;
  f->nrep = 0;
  f->start[0] = 0;
  if (!rd)
    return;
  for (size_t i = 0; i < f->len && f->nrep < MAX_REPLIES; i++) {
    void *v = NULL;
    if (redisReaderFeed(rd, f->buf + i, 1) != REDIS_OK ||
        redisReaderGetReply(rd, &v) != REDIS_OK)
      break;
    if (v) {
      f->rep[f->nrep++] = v;
      from = i + 1;
      f->start[f->nrep] = from;
    }
  }
  redisReaderFree(rd);
}

static const struct { const char *sha, *text; int kind, many; } scripts[] = {
    {AREC__LUA_REFRESH_SHA, AREC__LUA_REFRESH, C_REFRESH, 0},
    {AREC__LUA_RELEASE_SHA, AREC__LUA_RELEASE, C_RELEASE, 0},
    {AREC__LUA_ACQUIRE_SHA, AREC__LUA_ACQUIRE, C_TAKEOVER, 0},
    {AREC__LUA_REFRESH_MANY_SHA, AREC__LUA_REFRESH_MANY, C_REFRESH, 1},
    {AREC__LUA_RELEASE_MANY_SHA, AREC__LUA_RELEASE_MANY, C_RELEASE, 1},
    {AREC__LUA_TAKEOVER_MANY_SHA, AREC__LUA_TAKEOVER_MANY, C_TAKEOVER, 1}};

/* The kind of a command and the keys it names (e->key, e->nkeys, e->many). */
static int command_kind(const redisReply *c, logent *e) {
  e->nkeys = 0;
  e->many = 0;
  if (c->type != REDIS_REPLY_ARRAY || c->elements < 1 ||
      c->element[0]->type != REDIS_REPLY_STRING)
    return C_OTHER;
  const char *name = c->element[0]->str;
  if (!strcmp(name, "PING"))
    return C_PING;
  if (!strcmp(name, "SCRIPT"))
    return C_SCRIPT;
  if (!strcmp(name, "SET") && c->elements >= 2) {
    snprintf(e->key[0], sizeof e->key[0], "%s", c->element[1]->str);
    e->nkeys = 1;
    return C_SET;
  }
  if ((!strcmp(name, "EVALSHA") || !strcmp(name, "EVAL")) &&
      c->elements >= 4) {
    const char *s = c->element[1]->str;
    size_t nk = (size_t)atoi(c->element[2]->str);
    int kind = C_OTHER;
    for (size_t k = 0; k < sizeof scripts / sizeof *scripts; k++)
      if (!strcmp(s, scripts[k].sha) || !strcmp(s, scripts[k].text)) {
        kind = scripts[k].kind;
        e->many = scripts[k].many;
      }
    if (kind == C_OTHER || nk > MAX_KEYS || 3 + nk > c->elements)
      return C_OTHER;
    for (size_t i = 0; i < nk; i++)
      snprintf(e->key[i], sizeof e->key[i], "%s", c->element[3 + i]->str);
    e->nkeys = nk;
    return kind;
  }
  return C_OTHER;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0)
      return;
    p += k;
    n -= (size_t)k;
  }
}

/* One command arrived: log it and answer it from the script. */
static void answer(fnode *f, const redisReply *cmd) {
  logent e;
  int kind = command_kind(cmd, &e);
  int idx = -1;
  if (!f->closed) {
    if (f->next < f->nrep) {
      idx = (int)f->next++;
      write_all(f->fd, f->buf + f->start[idx], f->start[idx + 1] - f->start[idx]);
    } else {
      write_all(f->fd, f->buf + f->start[f->nrep], f->len - f->start[f->nrep]);
      shutdown(f->fd, SHUT_WR);
      f->closed = 1;
    }
  }
  if (f->nlog < MAX_LOG) {
    e.kind = kind;
    e.reply = idx;
    f->log[f->nlog++] = e;
  }
}

/* Reads what is there (without waiting when `nowait`) and answers it. */
static void serve(fnode *f, int nowait) {
  char tmp[4096];
  for (;;) {
    ssize_t k = recv(f->fd, tmp, sizeof tmp, nowait ? MSG_DONTWAIT : 0);
    if (k == 0) {
      f->eof = 1;
      return;
    }
    if (k < 0)
      return;
    redisReaderFeed(f->cmds, tmp, (size_t)k);
    for (;;) {
      void *v = NULL;
      if (redisReaderGetReply(f->cmds, &v) != REDIS_OK || !v)
        break;
      answer(f, v);
      freeReplyObject(v);
    }
    if (!nowait)
      return;
  }
}

static void *responder(void *arg) {
  server *S = arg;
  for (;;) {
    struct pollfd p[MAX_NODES + 1];
    size_t map[MAX_NODES], n = 0;
    for (size_t j = 0; j < S->N; j++)
      if (S->n[j].fd >= 0 && !S->n[j].eof) {
        p[n].fd = S->n[j].fd;
        p[n].events = POLLIN;
        p[n].revents = 0;
        map[n++] = j;
      }
    p[n].fd = S->ctl[0];
    p[n].events = POLLIN;
    p[n].revents = 0;
    if (poll(p, n + 1, -1) < 0)
      continue;
    for (size_t i = 0; i < n; i++)
      if (p[i].revents)
        serve(&S->n[map[i]], 0);
    if (p[n].revents) {
      char c;
      if (read(S->ctl[0], &c, 1) != 1) {
        /* the pipe is ours: cannot fail */
      }
      /* The call has returned: answer what it left, then stop. */
      for (size_t j = 0; j < S->N; j++)
        if (S->n[j].fd >= 0 && !S->n[j].eof)
          serve(&S->n[j], 1);
      return NULL;
    }
  }
}

/* ----------------------------------------------------------------- oracle */
/* takeover: the acquire ran the pod-lease takeover script (the owner was a
 * holder), answered by an integer (1 set, 2 taken over, 0 held). */
static int classify(int op, int takeover, const redisReply *r) {
  if (r->type == REDIS_REPLY_ERROR)
    return FAIL;
  if (op == AREC__OP_PING)
    return r->type == REDIS_REPLY_STATUS ? YES : FAIL;
  if (op == AREC__OP_ACQUIRE && takeover)
    return r->type != REDIS_REPLY_INTEGER ? FAIL
           : r->integer >= 1              ? YES
                                          : NO;
  if (op == AREC__OP_ACQUIRE)
    return r->type == REDIS_REPLY_STATUS ? YES
           : r->type == REDIS_REPLY_NIL  ? NO
                                         : FAIL;
  if (r->type == REDIS_REPLY_INTEGER)
    return r->integer == 1 ? YES : NO;
  return FAIL;
}

/* Key k of a chunk call answered by r: an array of one integer per key;
 * 0 no, 1 yes (2 yes for the takeover), anything else fail. */
static int classify_element(int op, const logent *e, size_t k,
                            const redisReply *r) {
  int ok = r->type == REDIS_REPLY_ARRAY && r->elements == e->nkeys &&
           r->element[k]->type == REDIS_REPLY_INTEGER;
  long long v = ok ? r->element[k]->integer : -1;
  return v == 0 ? NO
         : v == 1 || (v == 2 && op == AREC__OP_ACQUIRE) ? YES
                                                         : FAIL;
}

static int op_kind(int op, int takeover) {
  return op == AREC__OP_ACQUIRE   ? (takeover ? C_TAKEOVER : C_SET)
         : op == AREC__OP_REFRESH ? C_REFRESH
         : op == AREC__OP_RELEASE ? C_RELEASE
                                  : C_PING;
}

/* Where key is among the entry's keys (a PING's is ""), or -1. */
static int key_at(const logent *e, const char *key) {
  for (size_t k = 0; k < e->nkeys; k++)
    if (strcmp(e->key[k], key) == 0)
      return (int)k;
  return e->kind == C_PING && !*key ? 0 : -1;
}

/* The master's answer for `key` in this call (log entries from `from`). */
static int answer_for(const fnode *f, size_t from, int op, int takeover,
                      const char *key) {
  for (size_t i = from; i < f->nlog; i++) {
    const logent *e = &f->log[i];
    const redisReply *r = e->reply >= 0 ? f->rep[e->reply] : NULL;
    int at = key_at(e, key);
    if (e->kind == op_kind(op, takeover) && at >= 0) {
      if (!r)
        return FAIL;
      if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
        continue;
      return e->many ? classify_element(op, e, (size_t)at, r)
                     : classify(op, takeover, r);
    }
    /* The backend re-dials after NOAUTH / WRONGPASS to a command of this
     * call: what the master said after it was never read. */
    if (r && r->type == REDIS_REPLY_ERROR && e->kind != C_SCRIPT &&
        (!strncmp(r->str, "NOAUTH", 6) || !strncmp(r->str, "WRONGPASS", 9)))
      return FAIL;
  }
  return FAIL;
}

static int released_in(const fnode *f, size_t from, const char *key) {
  for (size_t i = from; i < f->nlog; i++)
    if (f->log[i].kind == C_RELEASE && key_at(&f->log[i], key) >= 0)
      return 1;
  return 0;
}

static void die(const char *what, int call, int op, size_t nkeys, size_t N,
                size_t key, int rc) {
  fprintf(stderr,
          "fuzz_redis_reply: %s (call %d: op %d, %zu keys, %zu masters, key "
          "%zu, rc %d %s)\n",
          what, call, op, nkeys, N, key, rc, rc < 0 ? arec_err_name(rc) : "");
  abort();
}

/* ------------------------------------------------------------- one input */
static int attach(arec__rnode *nd, fnode *f, int need_load) {
  int sv[2];
  if (nd->c) {
    redisFree(nd->c);
    nd->c = NULL;
  }
  nd->stale = 0;
  nd->backoff_ms = 0;
  nd->need_load = 0;
  nd->state = AREC__RN_DOWN;
  nd->next_dial_ms = INT64_MAX / 2; /* a down master is never re-dialled */
  snprintf(nd->lasterr, sizeof nd->lasterr, "fuzz: down");
  if (f->fd < -1)
    return 0; /* down */
  f->fd = -1;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return -1;
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  nd->c = redisConnectFd(sv[0]);
  if (!nd->c) {
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  nd->c->flags &= ~REDIS_BLOCK;
  nd->state = AREC__RN_READY;
  nd->need_load = need_load;
  f->fd = sv[1];
  return 0;
}

#define HOLDER "pod-fz/0123456789abcdef0123456789abcdef"

static int call(arec_lock *lock, int op, int takeover, size_t nkeys,
                const char **keys, arec_lease *leases, int *res) {
  const char *owner = takeover ? HOLDER : "pod-fz";
  switch (op) {
  case AREC__OP_ACQUIRE:
    if (nkeys == 1)
      return res[0] = lock->try_acquire(lock, keys[0], owner, TTL_MS,
                                        &leases[0]);
    return lock->try_acquire_many(lock, keys, nkeys, owner, TTL_MS, leases,
                                  res);
  case AREC__OP_REFRESH:
    if (nkeys == 1)
      return res[0] = lock->refresh(lock, keys[0], &leases[0], TTL_MS);
    return lock->refresh_many(lock, keys, leases, nkeys, TTL_MS, res);
  case AREC__OP_RELEASE:
    if (nkeys == 1)
      return res[0] = lock->release(lock, keys[0], &leases[0]);
    return lock->release_many(lock, keys, leases, nkeys, res);
  default: {
    unsigned int up = 99;
    return res[0] = arec_redis_lock_ping(lock, &up);
  }
  }
}

static void check(int c, int op, size_t nkeys, size_t N, const int *res,
                  const arec_lease *leases, const int ans[][MAX_KEYS],
                  const server *S, const size_t *from, const char **keys) {
  size_t q = N / 2 + 1;
  for (size_t i = 0; i < nkeys; i++) {
    size_t yes = 0, no = 0;
    int r = res[i];
    for (size_t j = 0; j < N; j++) {
      yes += ans[j][i] == YES;
      no += ans[j][i] == NO;
    }
    switch (op) {
    case AREC__OP_ACQUIRE:
      if (r != 1 && r != 0 && r != AREC_ETIMEDOUT && r != AREC_EUNAVAILABLE &&
          r != AREC_ENOMEM)
        die("acquire: result outside the vtable's", c, op, nkeys, N, i, r);
      if (r == 1 && yes < q)
        die("acquire granted without a quorum of OK", c, op, nkeys, N, i, r);
      if (r == 1 && (leases[i].validity_ms <= 0 ||
                     leases[i].validity_ms > TTL_MS))
        die("acquire: validity outside (0, ttl]", c, op, nkeys, N, i, r);
      if (yes == N && r != 1)
        die("acquire refused though every master said OK", c, op, nkeys, N,
            i, r);
      if (r != 1)
        for (size_t j = 0; j < N; j++)
          if (ans[j][i] == YES && !S->n[j].eof &&
              !released_in(&S->n[j], from[j], keys[i]))
            die("a failed acquire left its key on a master that said OK", c,
                op, nkeys, N, i, r);
      break;
    case AREC__OP_REFRESH:
      if (r != 0 && r != AREC_ELOST && r != AREC_EUNAVAILABLE &&
          r != AREC_ENOMEM)
        die("refresh: result outside the vtable's", c, op, nkeys, N, i, r);
      if (r == 0 && yes < q)
        die("refresh succeeded without a quorum", c, op, nkeys, N, i, r);
      if (r == AREC_ELOST && no < q)
        die("refresh said lost without a quorum of 'not ours'", c, op, nkeys,
            N, i, r);
      if (yes == N && r != 0)
        die("refresh failed though every master extended", c, op, nkeys, N, i,
            r);
      break;
    case AREC__OP_RELEASE:
      if (r != 0 && r != 1 && r != AREC_EUNAVAILABLE && r != AREC_ENOMEM)
        die("release: result outside the vtable's", c, op, nkeys, N, i, r);
      if (r == 0 && yes < 1)
        die("release said released with no master deleting", c, op, nkeys, N,
            i, r);
      if (yes == N && r != 0)
        die("release failed though every master deleted", c, op, nkeys, N, i,
            r);
      break;
    default:
      if (r != 0 && r != AREC_EUNAVAILABLE)
        die("ping: result outside its set", c, op, nkeys, N, i, r);
      if (r == 0 && yes < q)
        die("ping ok without a quorum of PONG", c, op, nkeys, N, i, r);
      if (yes == N && r != 0)
        die("ping failed though every master answered", c, op, nkeys, N, i,
            r);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  size_t ci = data[0] & 3, N = node_counts[ci];
  size_t ncalls = (size_t)((data[0] >> 2) & 3) + 1;
  int need_load = (data[0] >> 4) & 1;
  if (size < 1 + ncalls)
    return 0;
  const uint8_t *calls = data + 1;
  arec_lock *lock = locks[ci];
  arec__redis_lock *L = (arec__redis_lock *)lock;
  server *S = calloc(1, sizeof *S);
  if (!S)
    return 0;
  S->N = N;
  const char *p = (const char *)data + 1 + ncalls, *end = (const char *)data + size;
  for (size_t j = 0; j < N; j++) {
    fnode *f = &S->n[j];
    const char *sep = NULL;
    for (const char *s = p; s && s + 3 <= end; s++)
      if (memcmp(s, SEP, 3) == 0) {
        sep = s;
        break;
      }
    f->buf = p ? p : "";
    f->len = p ? (size_t)((sep ? sep : end) - p) : 0;
    f->fd = (!p || (f->len == 4 && !memcmp(p, "DOWN", 4))) ? -2 : -1;
    p = sep ? sep + 3 : NULL;
    split_script(f);
    f->cmds = redisReaderCreate();
  }
  int ok = pipe(S->ctl) == 0;
  for (size_t j = 0; ok && j < N; j++)
    ok = S->n[j].cmds && attach(&L->nodes[j], &S->n[j], need_load) == 0;

  for (size_t c = 0; ok && c < ncalls; c++) {
    int op = calls[c] & 3, takeover = op == AREC__OP_ACQUIRE && (calls[c] & 16);
    size_t nkeys = op == AREC__OP_PING ? 1 : key_counts[(calls[c] >> 2) & 3];
    char keybuf[MAX_KEYS][64];
    const char *keys[MAX_KEYS];
    arec_lease leases[MAX_KEYS];
    int res[MAX_KEYS], ans[MAX_NODES][MAX_KEYS];
    size_t from[MAX_NODES];
    pthread_t th;
    memset(leases, 0, sizeof leases);
    for (size_t i = 0; i < nkeys; i++) {
      snprintf(keybuf[i], sizeof keybuf[i], "agent:lock:c%zuk%zu", c, i);
      keys[i] = keybuf[i];
      snprintf(leases[i].value, sizeof leases[i].value,
               "pod-fz/0123456789abcdef0123456789abcde%zu", i);
      res[i] = 99;
    }
    for (size_t j = 0; j < N; j++)
      from[j] = S->n[j].nlog;
    if (pthread_create(&th, NULL, responder, S) != 0)
      break;
    int rc = call(lock, op, takeover, nkeys, keys, leases, res);
    if (write(S->ctl[1], "x", 1) != 1)
      abort();
    pthread_join(th, NULL);
    if (nkeys > 1 && rc != 0)
      die("a batched call refused valid arguments", (int)c, op, nkeys, N, 0,
          rc);
    for (size_t j = 0; j < N; j++)
      for (size_t i = 0; i < nkeys; i++)
        ans[j][i] = S->n[j].fd < 0 ? FAIL
                                   : answer_for(&S->n[j], from[j], op,
                                                takeover,
                                                op == AREC__OP_PING ? ""
                                                                    : keys[i]);
    if (getenv("FUZZ_VERBOSE")) {
      fprintf(stderr, "call %zu op %d keys %zu masters %zu:", c, op, nkeys, N);
      for (size_t i = 0; i < nkeys; i++) {
        fprintf(stderr, " [%d:", res[i]);
        for (size_t j = 0; j < N; j++)
          fprintf(stderr, "%s%d", j ? "," : "", ans[j][i]);
        fprintf(stderr, "]");
      }
      fprintf(stderr, "\n");
    }
    check((int)c, op, nkeys, N, res, leases, ans, S, from, keys);
  }

  for (size_t j = 0; j < N; j++) {
    fnode *f = &S->n[j];
    arec__rnode *nd = &L->nodes[j];
    if (nd->c) {
      redisFree(nd->c);
      nd->c = NULL;
    }
    nd->state = AREC__RN_DOWN;
    nd->stale = 0;
    if (f->fd >= 0)
      close(f->fd);
    for (size_t k = 0; k < f->nrep; k++)
      freeReplyObject(f->rep[k]);
    if (f->cmds)
      redisReaderFree(f->cmds);
  }
  if (S->ctl[0] > 0) {
    close(S->ctl[0]);
    close(S->ctl[1]);
  }
  free(S);
  return 0;
}
