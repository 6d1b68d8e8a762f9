/*
 * ops.c -- the Redlock decisions: one operation (acquire, refresh,
 * release, ping) over n keys on every master in one pipelined round trip.
 * The keys are sent in units: one command per key for a single-key call
 * (and a plain batched acquire), one script call per chunk of
 * AREC__REDIS_CHUNK keys for a batched one (cmd.c formats them).  Each
 * unit is formatted once and appended to every master's queue; the poll
 * loop (round.c) hands back every reply, which is
 * counted per key as yes / no / fail (a failed or unreadable unit fails
 * each of its keys on that master), and a key is decided as soon as its
 * outcome cannot change (quorum reached either way) -- a release only once
 * every master answered or missed the deadline.  Validity = ttl -
 * elapsed - drift, elapsed measured from the moment the request was queued
 * (monotonic) to the return of the call, for every key of a batch alike.
 * A renewal (refresh, pod lease) waits for its answers up to a third of
 * the TTL (arec__redis_renew_timeout), whatever the node deadline: its
 * validity counts from the send, so a late answer still renews, while
 * giving up after the node deadline and sending again a refresh interval
 * later only adds work to a machine too busy to answer in time.
 *
 * A failed acquire is deleted again (compare-and-delete, batched like the
 * acquire) from every master that may hold it, those that timed out
 * included.  A refreshed key that a master answered missing is set there
 * again (SET NX PX, repairs()).  EVALSHA answered NOSCRIPT is re-sent as
 * EVAL, for that unit on that master only.  Never re-creates a key whose
 * refresh did not find it on a quorum of masters.
 *
 * Pod leases: an acquire with AREC__OP_F_TAKEOVER runs the takeover script
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
  uint16_t nomask;   /* masters that answered no */
  uint16_t missmask; /* refresh: masters where the key is missing */
  int result;
  int64_t validity;
} ritem;

typedef struct rop {
  int kind;
  int batch;   /* the caller asked for chunks (AREC__OP_F_BATCH) */
  int cleanup; /* a follow-up round (follow_up()): nobody decides */
  /* refresh after a master (re)connected: once every key is decided, the
   * answers still coming are waited for until then (monotonic ms), to
   * learn where a key is missing (repairs()); 0: not waited for */
  int64_t grace_until;
  arec__rcmd cmd;
  size_t n, ndecided;
  char ttl[24];
  int64_t ttl_ms;
  ritem *items;
  arec_redis_node_result *detail;
  /* The items sent to master j this round, in order: unit u covers
   * idx[j][u * per ..], at most per of them; a reply's tag is its unit. */
  size_t per;
  uint32_t *idx[AREC__REDIS_MAX_NODES];
  size_t nidx[AREC__REDIS_MAX_NODES];
} rop;

int64_t arec__redis_batch_timeout(const arec__redis_lock *L, size_t n) {
  return L->node_timeout_ms + (int64_t)(n / 40);
}

int64_t arec__redis_renew_timeout(const arec__redis_lock *L, size_t n,
                                  int64_t ttl_ms) {
  int64_t t = arec__redis_batch_timeout(L, n);
  if (t < ttl_ms / 3)
    t = ttl_ms / 3;
  return t < ttl_ms ? t : ttl_ms;
}

static int64_t drift_of(int64_t ttl_ms) { return ttl_ms / 100 + 2; }

/* The commands for `kind`: chunks of keys when batched and a chunk script
 * exists for it (a plain acquire is SET NX PX per key either way). */
static void set_cmd(rop *op, int kind) {
  op->cmd.kind = kind;
  op->cmd.batch =
      op->batch && !(kind == AREC__OP_ACQUIRE && !op->cmd.takeover);
  op->per = op->cmd.batch ? AREC__REDIS_CHUNK : 1;
}

/* ------------------------------------------------------------ decisions */
static void decide(arec__rround *R, rop *op, ritem *it) {
  size_t N = R->L->n, q = R->L->quorum;
  size_t r = N - (size_t)(it->yes + it->no + it->fail);
  int64_t validity = op->ttl_ms - (R->now - R->t_start) - drift_of(op->ttl_ms);
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
    /* Every master's answer is waited for (up to the deadline): one that
     * would answer after a quorum could still hold the value when the
     * caller goes on -- and run another client's next command (a takeover
     * after a pod leaves) before this delete. */
    if (r == 0) {
      done = 1;
      res = it->yes + it->no < q ? AREC_EUNAVAILABLE : it->yes >= 1 ? 0 : 1;
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

/* Master `node` answered `ans` for item i. */
static void answer(arec__rround *R, rop *op, size_t node, uint32_t i,
                   arec_redis_answer ans, const char *why) {
  ritem *it = &op->items[i];
  if (ans == AREC_REDIS_YES)
    it->yes++;
  else if (ans == AREC_REDIS_NO) {
    it->no++;
    it->nomask |= (uint16_t)(1u << node);
    if (why == arec__redis_why_missing)
      it->missmask |= (uint16_t)(1u << node);
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

/* The items of unit `tag` on master `node`: *out, *cnt. */
static int unit_items(const rop *op, size_t node, uint32_t tag,
                      const uint32_t **out, size_t *cnt) {
  size_t from = (size_t)tag * op->per;
  if (!op->idx[node] || from >= op->nidx[node])
    return -1;
  *out = op->idx[node] + from;
  *cnt = op->nidx[node] - from < op->per ? op->nidx[node] - from : op->per;
  return 0;
}

static void on_reply(arec__rround *R, size_t node, uint32_t tag,
                     const redisReply *r, const char *why) {
  rop *op = R->ud;
  const uint32_t *items;
  size_t cnt;
  if (unit_items(op, node, tag, &items, &cnt) != 0)
    return;
  if (r && r->type == REDIS_REPLY_ERROR &&
      strncmp(r->str, "NOSCRIPT", 8) == 0) {
    arec__rnode *nd = &R->L->nodes[node];
    char *cmd = NULL;
    int len = arec__rcmd_format(&op->cmd, items, cnt, 1, &cmd);
    nd->need_load = 1;
    if (len >= 0 && arec__rnode_queue(nd, cmd, (size_t)len, tag) == 0) {
      free(cmd);
      return; /* the EVAL reply decides */
    }
    free(cmd);
    why = "out of memory";
    r = NULL;
  }
  if (!r) {
    for (size_t k = 0; k < cnt; k++)
      answer(R, op, node, items[k], AREC_REDIS_FAIL, why);
    return;
  }
  if (!op->cmd.batch) {
    arec_redis_answer ans = arec__rcmd_classify(&op->cmd, r, &why);
    answer(R, op, node, items[0], ans, why);
    return;
  }
  if (r->type == REDIS_REPLY_ARRAY && r->elements == cnt) {
    for (size_t k = 0; k < cnt; k++) {
      arec_redis_answer ans = arec__rcmd_element(&op->cmd, r->element[k], &why);
      answer(R, op, node, items[k], ans, why);
    }
    return;
  }
  why = r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply";
  for (size_t k = 0; k < cnt; k++)
    answer(R, op, node, items[k], AREC_REDIS_FAIL, why);
}

static int all_decided(arec__rround *R) {
  rop *op = R->ud;
  return !op->cleanup && op->ndecided == op->n && R->now >= op->grace_until;
}

/* --------------------------------------------------------------- rounds */
/* Queues master j's own units (follow-up: each master has its own items);
 * out of memory fails the unit's items there. */
static void queue_units(arec__rround *R, rop *op, size_t j) {
  arec__rnode *nd = &R->L->nodes[j];
  size_t units = (op->nidx[j] + op->per - 1) / op->per;
  for (size_t u = 0; u < units; u++) {
    const uint32_t *items = NULL;
    size_t cnt = 0;
    char *cmd = NULL;
    int len;
    unit_items(op, j, (uint32_t)u, &items, &cnt);
    len = arec__rcmd_format(&op->cmd, items, cnt, 0, &cmd);
    if (len < 0 || arec__rnode_queue(nd, cmd, (size_t)len, (uint32_t)u))
      on_reply(R, j, (uint32_t)u, NULL, "out of memory");
    free(cmd);
    arec__rnode_flush(nd);
  }
}

/* The same units to every master in `ok`: formatted once. */
static void queue_shared(arec__rround *R, rop *op, const int *ok) {
  size_t units = (op->nidx[0] + op->per - 1) / op->per;
  for (size_t u = 0; u < units; u++) {
    const uint32_t *items = NULL;
    size_t cnt = 0;
    char *cmd = NULL;
    int len;
    unit_items(op, 0, (uint32_t)u, &items, &cnt);
    len = arec__rcmd_format(&op->cmd, items, cnt, 0, &cmd);
    for (size_t j = 0; j < R->L->n; j++) {
      if (!ok[j])
        continue;
      if (len < 0 ||
          arec__rnode_queue(&R->L->nodes[j], cmd, (size_t)len, (uint32_t)u))
        on_reply(R, j, (uint32_t)u, NULL, "out of memory");
      arec__rnode_flush(&R->L->nodes[j]);
    }
    free(cmd);
  }
}

/* Queues every undecided item on every master (follow-up: on the masters
 * in `sendmask`, op->idx[] listing each master's own items), then runs the
 * poll loop.  Masters in `nowait` get their
 * commands written but are not waited for (they missed the last deadline):
 * their replies are owed as stale. */
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
  R.soft_ms = op->cleanup ? 0 : op->grace_until;
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
    for (size_t k = 0; k < op->nidx[j]; k++)
      if (!op->items[op->idx[j][k]].decided)
        answer(&R, op, j, op->idx[j][k], AREC_REDIS_FAIL, why);
  }
  if (op->cleanup) {
    for (size_t j = 0; j < L->n; j++)
      if (ok[j])
        queue_units(&R, op, j);
  } else {
    queue_shared(&R, op, ok);
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

/* A follow-up round after the operation: on each master j in `sent`, the
 * items for which pick(item, bit of j) holds (at most n per master), sent
 * as operation `kind`; nobody decides, the operation's results stand.  Out
 * of memory: nothing is sent. */
static void follow_up(arec__redis_lock *L, rop *op, uint16_t sent, size_t n,
                      int (*pick)(const ritem *it, uint16_t j), int kind) {
  uint16_t late = 0, mask = 0;
  uint32_t *buf = malloc(n * L->n * sizeof *buf);
  if (!buf)
    return;
  for (size_t j = 0; j < L->n; j++) {
    op->idx[j] = buf + j * n;
    op->nidx[j] = 0;
    if (!(sent & (1u << j)))
      continue;
    for (size_t i = 0; i < op->n; i++)
      if (pick(&op->items[i], (uint16_t)(1u << j)))
        op->idx[j][op->nidx[j]++] = (uint32_t)i;
    if (op->nidx[j])
      mask |= (uint16_t)(1u << j);
    if (L->nodes[j].timed_out)
      late |= (uint16_t)(1u << j);
  }
  op->cleanup = 1;
  op->detail = NULL;
  op->cmd.takeover = 0;
  set_cmd(op, kind);
  run_round(L, op, mask, late, arec__redis_batch_timeout(L, n));
  free(buf);
  for (size_t j = 0; j < L->n; j++) {
    op->idx[j] = NULL;
    op->nidx[j] = 0;
  }
}

/* A failed acquire (not decided) that master j may hold: it did not answer
 * no.  Compare-and-deleted there (their TTL ends them if out of memory). */
static int failed_acquire(const ritem *it, uint16_t j) {
  return !it->decided && !(it->nomask & j);
}

/* A refreshed key (result 0) that master j answered missing: set there
 * again, SET NX PX with the key's value.  A key taken while a master was
 * down, or that a master lost in a restart, lives on a bare quorum, and
 * one more master lost would end it.  Safe: the refresh has just found the
 * value on a quorum of masters, so no other owner can hold a quorum; NX
 * never overwrites a value.  Best effort: a master that does not answer in
 * time is tried again next refresh. */
static int repairs(const ritem *it, uint16_t j) {
  return it->decided && it->result == 0 && (it->missmask & j);
}

void arec__redis_op(arec__redis_lock *L, int kind, const char *const *keys,
                    const char *const *values, size_t n, int64_t ttl_ms,
                    int64_t timeout_ms, int *results, int64_t *validity,
                    arec_redis_node_result *detail) {
  rop op;
  uint16_t all = (uint16_t)((1u << L->n) - 1), sent;
  int64_t t_sent, left;
  uint32_t *order;
  size_t norder = 0;
  memset(&op, 0, sizeof op);
  op.cmd.takeover = (kind & AREC__OP_F_TAKEOVER) != 0;
  op.batch = (kind & AREC__OP_F_BATCH) != 0;
  kind &= ~(AREC__OP_F_TAKEOVER | AREC__OP_F_BATCH);
  op.kind = kind;
  set_cmd(&op, kind);
  op.cmd.keys = keys;
  op.cmd.values = values;
  op.cmd.ttl = op.ttl;
  op.n = n;
  op.ttl_ms = ttl_ms;
  snprintf(op.ttl, sizeof op.ttl, "%lld", (long long)ttl_ms);
  op.detail = detail;
  op.items = calloc(n ? n : 1, sizeof *op.items);
  order = malloc((n ? n : 1) * sizeof *order);
  if (!op.items || !order) {
    free(op.items);
    free(order);
    for (size_t i = 0; i < n; i++)
      results[i] = AREC_ENOMEM;
    return;
  }
  for (size_t i = 0; i < n; i++)
    if (results[i] != 1) {
      op.items[i].decided = 1;
      op.items[i].result = results[i];
      op.ndecided++;
    } else {
      order[norder++] = (uint32_t)i;
    }
  for (size_t j = 0; j < L->n; j++) {
    op.idx[j] = order;
    op.nidx[j] = norder;
  }
  if (detail)
    for (size_t j = 0; j < L->n; j++) {
      snprintf(detail[j].addr, sizeof detail[j].addr, "%s", L->nodes[j].addr);
      detail[j].answer = AREC_REDIS_FAIL;
      snprintf(detail[j].why, sizeof detail[j].why, "pending");
    }

  t_sent = arec__mono_ms(); /* no later than the round's own start */
  if (kind == AREC__OP_REFRESH)
    for (size_t j = 0; j < L->n; j++)
      if (L->nodes[j].fresh > 0) {
        op.grace_until = t_sent + arec__redis_batch_timeout(L, norder);
        break;
      }
  sent = run_round(L, &op, all, 0, timeout_ms);
  if (kind == AREC__OP_REFRESH) { /* before the validity is taken below */
    size_t nrep = 0;
    for (size_t j = 0; j < L->n; j++)
      if (L->nodes[j].fresh > 0 && (sent & (1u << j)))
        L->nodes[j].fresh--;
    for (size_t i = 0; i < n; i++)
      nrep += (size_t)repairs(&op.items[i], sent);
    if (nrep > 0)
      follow_up(L, &op, sent, nrep, repairs, AREC__OP_ACQUIRE);
  }

  /* The validity handed back is what is left when this call returns (the
   * caller adds it to its clock then), the same for every key of a batch
   * however early its own answers came: a key decided in the first
   * milliseconds of a long round would otherwise be counted valid for the
   * rest of the round past its TTL.  Too late to count: refused. */
  left = ttl_ms - (arec__mono_ms() - t_sent) - drift_of(ttl_ms);
  for (size_t i = 0; i < n; i++) {
    ritem *it = &op.items[i];
    if (!it->decided) { /* every node finished without a decision */
      it->decided = 1;
      it->result = AREC_EUNAVAILABLE;
    }
    if (kind == AREC__OP_ACQUIRE && it->result == 1) {
      it->validity = left;
      if (left <= 0)
        it->result = AREC_ETIMEDOUT; /* deleted again below */
    } else if ((kind == AREC__OP_REFRESH || kind == AREC__OP_PODLEASE) &&
               it->result == 0) {
      it->validity = left;
      if (left <= 0)
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
    if (nfail > 0)
      follow_up(L, &op, sent, nfail, failed_acquire, AREC__OP_RELEASE);
  }
  free(order);
  free(op.items);
}
