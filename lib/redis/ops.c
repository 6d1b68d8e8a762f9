/*
 * ops.c -- the Redlock decisions: one operation (acquire, refresh,
 * release, ping) over n keys on every master in one pipelined round trip.
 * Each command is formatted once and appended to every master's queue; the
 * poll loop (round.c) hands back every reply, which is counted per key
 * as yes / no / fail, and a key is decided as soon as its outcome cannot
 * change (quorum reached either way).  Validity = ttl - elapsed - drift,
 * elapsed measured from the moment the request was queued (monotonic).
 *
 * A failed acquire is deleted again (compare-and-delete) from every master
 * that may hold it, those that timed out included.  EVALSHA answered
 * NOSCRIPT is re-sent as EVAL.  Never re-creates a key on refresh.
 *
 * Pod leases: an acquire with AREC__OP_F_TAKEOVER runs AREC__LUA_ACQUIRE
 * (SET NX PX, or take over a value whose holder's pod lease key is gone on
 * that master) instead of SET NX PX; AREC__OP_PODLEASE renews a pod lease
 * (AREC__LUA_PODLEASE) and is decided like a refresh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/internal.h"

typedef struct ritem {
  uint8_t yes, no, fail, decided;
  uint16_t nomask; /* masters that answered no */
  int result;
  int64_t validity;
} ritem;

typedef struct rop {
  int kind;
  int takeover; /* acquire with AREC__LUA_ACQUIRE */
  int cleanup; /* compare-and-delete of failed acquires: nobody decides */
  size_t n, ndecided;
  const char *const *keys;
  const char *const *values;
  char ttl[24];
  int64_t ttl_ms;
  ritem *items;
  arec_redis_node_result *detail;
} rop;

/* ------------------------------------------------------------ commands */
static int format_cmd(const rop *op, size_t i, int eval, char **out) {
  const char *argv[8];
  int argc = 0;
  int kind = op->cleanup ? AREC__OP_RELEASE : op->kind;
  switch (kind) {
  case AREC__OP_ACQUIRE:
    if (op->takeover) {
      argv[0] = eval ? "EVAL" : "EVALSHA";
      argv[1] = eval ? AREC__LUA_ACQUIRE : AREC__LUA_ACQUIRE_SHA;
      argv[2] = "1";
      argv[3] = op->keys[i];
      argv[4] = op->values[i];
      argv[5] = op->ttl;
      argv[6] = AREC__PODLEASE_PREFIX;
      argc = 7;
      break;
    }
    argv[0] = "SET";
    argv[1] = op->keys[i];
    argv[2] = op->values[i];
    argv[3] = "NX";
    argv[4] = "PX";
    argv[5] = op->ttl;
    argc = 6;
    break;
  case AREC__OP_RELEASE:
    argv[0] = eval ? "EVAL" : "EVALSHA";
    argv[1] = eval ? AREC__LUA_RELEASE : AREC__LUA_RELEASE_SHA;
    argv[2] = "1";
    argv[3] = op->keys[i];
    argv[4] = op->values[i];
    argc = 5;
    break;
  case AREC__OP_REFRESH:
    argv[0] = eval ? "EVAL" : "EVALSHA";
    argv[1] = eval ? AREC__LUA_REFRESH : AREC__LUA_REFRESH_SHA;
    argv[2] = "1";
    argv[3] = op->keys[i];
    argv[4] = op->values[i];
    argv[5] = op->ttl;
    argc = 6;
    break;
  case AREC__OP_PODLEASE:
    argv[0] = eval ? "EVAL" : "EVALSHA";
    argv[1] = eval ? AREC__LUA_PODLEASE : AREC__LUA_PODLEASE_SHA;
    argv[2] = "1";
    argv[3] = op->keys[i];
    argv[4] = op->values[i];
    argv[5] = op->ttl;
    argc = 6;
    break;
  default:
    argv[0] = "PING";
    argc = 1;
  }
  return redisFormatCommandArgv(out, argc, argv, NULL);
}

/* ------------------------------------------------------------ decisions */
static void decide(arec__rround *R, rop *op, ritem *it) {
  size_t N = R->L->n, q = R->L->quorum;
  size_t r = N - (size_t)(it->yes + it->no + it->fail);
  int64_t drift = op->ttl_ms / 100 + 2;
  int64_t validity = op->ttl_ms - (R->now - R->t_start) - drift;
  int res = 1, done = 0;
  if (op->cleanup)
    return;
  switch (op->kind) {
  case AREC__OP_ACQUIRE:
    if (it->yes >= q) {
      done = 1;
      res = validity > 0 ? 1 : AREC_ETIMEDOUT;
    } else if (it->yes + r < q) {
      done = 1;
      res = it->fail > N - q ? AREC_EUNAVAILABLE : 0;
    }
    break;
  case AREC__OP_REFRESH:
  case AREC__OP_PODLEASE:
    if (it->yes >= q) {
      done = 1;
      res = validity > 0 ? 0 : AREC_EUNAVAILABLE; /* too late to count */
    } else if (it->no >= q) {
      done = 1;
      res = AREC_ELOST;
    } else if (it->yes + r < q && it->no + r < q) {
      done = 1;
      res = AREC_EUNAVAILABLE;
    }
    break;
  case AREC__OP_RELEASE:
    if (it->yes >= 1 && it->yes + it->no >= q) {
      done = 1;
      res = 0;
    } else if (r == 0) {
      done = 1;
      res = it->yes + it->no < q ? AREC_EUNAVAILABLE : 1;
    }
    break;
  default: /* ping */
    if (r == 0) {
      done = 1;
      res = it->yes >= q ? 0 : AREC_EUNAVAILABLE;
    }
  }
  if (done) {
    it->decided = 1;
    it->result = res;
    it->validity = validity;
    op->ndecided++;
  }
}

/* yes / no / fail, with a short reason for the node's detail. */
static arec_redis_answer classify(const rop *op, const redisReply *r,
                                  const char **why) {
  if (r->type == REDIS_REPLY_ERROR) {
    *why = r->str;
    return AREC_REDIS_FAIL;
  }
  if (op->kind == AREC__OP_PING) {
    *why = "PONG";
    return r->type == REDIS_REPLY_STATUS ? AREC_REDIS_YES : AREC_REDIS_FAIL;
  }
  if (op->kind == AREC__OP_ACQUIRE && !op->cleanup && op->takeover) {
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= 1) {
      *why = r->integer == 2 ? "taken over" : "OK";
      return AREC_REDIS_YES;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
      *why = "held";
      return AREC_REDIS_NO;
    }
  } else if (op->kind == AREC__OP_ACQUIRE && !op->cleanup) {
    if (r->type == REDIS_REPLY_STATUS) {
      *why = "OK";
      return AREC_REDIS_YES;
    }
    if (r->type == REDIS_REPLY_NIL) {
      *why = "held";
      return AREC_REDIS_NO;
    }
  } else if (r->type == REDIS_REPLY_INTEGER) {
    if (r->integer == 1) {
      *why = op->cleanup || op->kind == AREC__OP_RELEASE ? "deleted"
             : op->kind == AREC__OP_PODLEASE           ? "renewed"
                                                       : "extended";
      return AREC_REDIS_YES;
    }
    *why = "not ours";
    return AREC_REDIS_NO;
  }
  *why = "unexpected reply";
  return AREC_REDIS_FAIL;
}

static void on_reply(arec__rround *R, size_t node, uint32_t tag,
                     const redisReply *r, const char *why) {
  rop *op = R->ud;
  ritem *it;
  arec_redis_answer ans = AREC_REDIS_FAIL;
  if (tag >= op->n)
    return;
  it = &op->items[tag];
  if (r && r->type == REDIS_REPLY_ERROR &&
      strncmp(r->str, "NOSCRIPT", 8) == 0) {
    arec__rnode *nd = &R->L->nodes[node];
    char *cmd = NULL;
    int len = format_cmd(op, tag, 1, &cmd);
    nd->need_load = 1;
    if (len >= 0 && arec__rnode_queue(nd, cmd, (size_t)len, tag) == 0) {
      redisFreeCommand(cmd);
      return; /* the EVAL reply decides */
    }
    if (len >= 0)
      redisFreeCommand(cmd);
    why = "out of memory";
    r = NULL;
  }
  if (r)
    ans = classify(op, r, &why);
  if (ans == AREC_REDIS_YES)
    it->yes++;
  else if (ans == AREC_REDIS_NO) {
    it->no++;
    it->nomask |= (uint16_t)(1u << node);
  } else
    it->fail++;
  if (op->detail) {
    op->detail[node].answer = ans;
    snprintf(op->detail[node].why, sizeof op->detail[node].why, "%s",
             why ? why : "");
  }
  if (!it->decided)
    decide(R, op, it);
}

static int all_decided(arec__rround *R) {
  rop *op = R->ud;
  return !op->cleanup && op->ndecided == op->n;
}

/* --------------------------------------------------------------- rounds */
/* Queues every undecided item on every master (cleanup: on the masters in
 * `sendmask` that did not answer no), then runs the poll loop.  Masters in
 * `nowait` get their commands written but are not waited for (they missed
 * the last deadline): their replies are owed as stale. */
static uint16_t run_round(arec__redis_lock *L, rop *op, uint16_t sendmask,
                          uint16_t nowait, int64_t timeout_ms) {
  arec__rround R;
  uint16_t sent = 0;
  char why[96];
  int ok[AREC__REDIS_MAX_NODES];
  memset(&R, 0, sizeof R);
  R.L = L;
  R.on_reply = on_reply;
  R.done = all_decided;
  R.ud = op;
  R.t_start = R.now = arec__mono_ms();
  for (size_t j = 0; j < L->n; j++) {
    ok[j] = 0;
    if (!(sendmask & (1u << j)))
      continue;
    if (arec__rnode_prepare(L, &L->nodes[j], R.now, why, sizeof why) == 0) {
      ok[j] = 1;
      sent |= (uint16_t)(1u << j);
      continue;
    }
    for (size_t i = 0; i < op->n; i++)
      if (!op->items[i].decided)
        on_reply(&R, j, (uint32_t)i, NULL, why);
  }
  for (size_t i = 0; i < op->n; i++) {
    char *cmd = NULL;
    int len;
    if (op->items[i].decided)
      continue;
    len = format_cmd(op, i, 0, &cmd);
    for (size_t j = 0; j < L->n; j++) {
      if (!ok[j] || (op->cleanup && (op->items[i].nomask & (1u << j))))
        continue;
      if (len < 0 ||
          arec__rnode_queue(&L->nodes[j], cmd, (size_t)len, (uint32_t)i))
        on_reply(&R, j, (uint32_t)i, NULL, "out of memory");
    }
    if (len >= 0)
      redisFreeCommand(cmd);
  }
  for (size_t j = 0; j < L->n; j++) {
    arec__rnode *nd = &L->nodes[j];
    int done = 0;
    if (!ok[j] || !(nowait & (1u << j)) || !nd->active)
      continue;
    if (nd->state == AREC__RN_READY &&
        arec__rnode_write(nd, &done) != REDIS_OK) {
      arec__rnode_drop(nd, "write failed", R.now);
      continue;
    }
    nd->stale += nd->expect_n - nd->expect_head;
    nd->expect_head = nd->expect_n;
    nd->active = 0;
  }
  arec__rround_run(&R, R.t_start + timeout_ms);
  return sent;
}

void arec__redis_op(arec__redis_lock *L, int kind, const char *const *keys,
                    const char *const *values, size_t n, int64_t ttl_ms,
                    int64_t timeout_ms, int *results, int64_t *validity,
                    arec_redis_node_result *detail) {
  rop op;
  uint16_t all = (uint16_t)((1u << L->n) - 1), sent;
  memset(&op, 0, sizeof op);
  op.takeover = (kind & AREC__OP_F_TAKEOVER) != 0;
  kind &= ~AREC__OP_F_TAKEOVER;
  op.kind = kind;
  op.n = n;
  op.keys = keys;
  op.values = values;
  op.ttl_ms = ttl_ms;
  snprintf(op.ttl, sizeof op.ttl, "%lld", (long long)ttl_ms);
  op.detail = detail;
  op.items = calloc(n ? n : 1, sizeof *op.items);
  if (!op.items) {
    for (size_t i = 0; i < n; i++)
      results[i] = AREC_ENOMEM;
    return;
  }
  for (size_t i = 0; i < n; i++)
    if (results[i] != 1) {
      op.items[i].decided = 1;
      op.items[i].result = results[i];
      op.ndecided++;
    }
  if (detail)
    for (size_t j = 0; j < L->n; j++) {
      snprintf(detail[j].addr, sizeof detail[j].addr, "%s", L->nodes[j].addr);
      detail[j].answer = AREC_REDIS_FAIL;
      snprintf(detail[j].why, sizeof detail[j].why, "pending");
    }

  sent = run_round(L, &op, all, 0, timeout_ms);

  for (size_t i = 0; i < n; i++) {
    ritem *it = &op.items[i];
    if (!it->decided) { /* every node finished without a decision */
      it->decided = 1;
      it->result = AREC_EUNAVAILABLE;
    }
    results[i] = it->result;
    if (validity)
      validity[i] = it->validity;
  }

  /* No partial lock outlives a failed acquire. */
  if (kind == AREC__OP_ACQUIRE) {
    size_t nfail = 0;
    for (size_t i = 0; i < n; i++) {
      ritem *it = &op.items[i];
      int was_sent = it->yes + it->no + it->fail > 0;
      if (results[i] != 1 && was_sent &&
          (sent & (uint16_t)~it->nomask) != 0) {
        it->decided = 0;
        nfail++;
      } else {
        it->decided = 1;
      }
    }
    if (nfail > 0) {
      uint16_t late = 0;
      for (size_t j = 0; j < L->n; j++)
        if (L->nodes[j].timed_out)
          late |= (uint16_t)(1u << j);
      op.cleanup = 1;
      op.detail = NULL;
      run_round(L, &op, sent, late, L->node_timeout_ms);
    }
  }
  free(op.items);
}
