/*
 * round.c -- the one poll() loop that drives a request over every
 * master at once.  Each node has a queue of commands already formatted into
 * its hiredis output buffer and the list of reply tags it owes, in order.
 * The loop writes, reads and parses (redisBufferWrite / redisBufferRead /
 * redisGetReplyFromReader), discards first the replies still owed to
 * earlier rounds (`stale`), answers the handshake itself, hands every other
 * reply to the round's on_reply, and stops as soon as done() says every
 * item is decided or the deadline passes.
 *
 * A node that breaks is dropped (its owed items fail with the reason); a
 * node still working (or still connecting, within connect_timeout) when the
 * round ends keeps its connection and owes its remaining replies as
 * `stale`, so the next round reads in step.  Never
 * blocks past the deadline.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <sys/socket.h>

#include "redis/internal.h"

/* Fails the items still owed by this node and drops its connection. */
static void node_fail(arec__rround *R, size_t i, const char *why) {
  arec__rnode *nd = &R->L->nodes[i];
  char reason[96];
  snprintf(reason, sizeof reason, "%s", why);
  while (nd->expect_head < nd->expect_n) {
    uint32_t tag = nd->expect[nd->expect_head++];
    if (AREC__TAG_IS_ITEM(tag))
      R->on_reply(R, i, tag, NULL, reason);
  }
  arec__rnode_drop(nd, reason, R->now);
}

/* The round is over for a node that has not answered everything. */
static void node_timeout(arec__rround *R, size_t i) {
  arec__rnode *nd = &R->L->nodes[i];
  if (nd->state == AREC__RN_CONNECTING &&
      R->now - nd->last_io_ms >= R->L->connect_timeout_ms) {
    node_fail(R, i, "connect timeout");
    return;
  }
  nd->stale += nd->expect_n - nd->expect_head;
  while (nd->expect_head < nd->expect_n) {
    uint32_t tag = nd->expect[nd->expect_head++];
    if (AREC__TAG_IS_ITEM(tag))
      R->on_reply(R, i, tag, NULL, "timeout");
  }
  nd->active = 0;
  nd->timed_out = 1;
}

static void handshake_reply(arec__rround *R, size_t i, uint32_t tag,
                            const redisReply *r) {
  arec__rnode *nd = &R->L->nodes[i];
  char why[96];
  if (tag == AREC__TAG_SCRIPT) {
    if (r->type != REDIS_REPLY_STRING)
      nd->need_load = 1; /* EVALSHA falls back to EVAL meanwhile */
    return;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(why, sizeof why, "%s: %.60s",
             tag == AREC__TAG_AUTH ? "AUTH" : "SELECT", r->str);
    node_fail(R, i, why);
  }
}

static void dispatch(arec__rround *R, size_t i, redisReply *r) {
  arec__rnode *nd = &R->L->nodes[i];
  uint32_t tag;
  if (nd->stale > 0) {
    nd->stale--;
    return;
  }
  if (nd->expect_head >= nd->expect_n)
    return; /* cannot happen: every command owes exactly one reply */
  tag = nd->expect[nd->expect_head++];
  nd->backoff_ms = 0;
  if (!AREC__TAG_IS_ITEM(tag)) {
    handshake_reply(R, i, tag, r);
    return;
  }
  R->on_reply(R, i, tag, r, NULL);
  /* The server restarted with a password, or our AUTH was lost: dial
   * again (with AUTH) instead of failing every request from now on. */
  if (r->type == REDIS_REPLY_ERROR &&
      (strncmp(r->str, "NOAUTH", 6) == 0 || strncmp(r->str, "WRONGPASS", 9) == 0))
    node_fail(R, i, "NOAUTH");
}

static int node_finished(const arec__rnode *nd) {
  return nd->expect_head == nd->expect_n;
}

static void try_write(arec__rround *R, size_t i) {
  arec__rnode *nd = &R->L->nodes[i];
  int done = 0;
  if (arec__rnode_write(nd, &done) != REDIS_OK) {
    char why[96];
    snprintf(why, sizeof why, "write: %.80s", nd->c->errstr);
    node_fail(R, i, why);
    return;
  }
  if (done)
    nd->want_write = 0;
}

static void try_read(arec__rround *R, size_t i) {
  arec__rnode *nd = &R->L->nodes[i];
  void *reply = NULL;
  char why[96];
  if (redisBufferRead(nd->c) != REDIS_OK) {
    snprintf(why, sizeof why, "read: %.80s", nd->c->errstr);
    node_fail(R, i, why);
    return;
  }
  nd->last_io_ms = R->now;
  for (;;) {
    if (redisGetReplyFromReader(nd->c, &reply) != REDIS_OK) {
      snprintf(why, sizeof why, "protocol: %.70s", nd->c->errstr);
      node_fail(R, i, why);
      return;
    }
    if (!reply)
      break;
    dispatch(R, i, reply);
    freeReplyObject(reply);
    if (!nd->c)
      return; /* dropped by a handshake failure */
  }
  if (nd->want_write) /* on_reply queued a retry (NOSCRIPT) */
    try_write(R, i);
}

static void connected(arec__rround *R, size_t i) {
  arec__rnode *nd = &R->L->nodes[i];
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(nd->c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err) {
    char why[96];
    snprintf(why, sizeof why, "connect: %s", strerror(err));
    node_fail(R, i, why);
    return;
  }
  nd->state = AREC__RN_READY;
  nd->last_io_ms = R->now;
  nd->fresh = AREC__REDIS_FRESH_REFRESHES;
}

void arec__rround_run(arec__rround *R, int64_t deadline_ms) {
  arec__redis_lock *L = R->L;
  struct pollfd pfd[AREC__REDIS_MAX_NODES];
  size_t map[AREC__REDIS_MAX_NODES];

  R->now = arec__mono_ms();
  for (size_t i = 0; i < L->n; i++) {
    arec__rnode *nd = &L->nodes[i];
    if (nd->active && nd->state == AREC__RN_READY && nd->want_write)
      try_write(R, i);
  }
  for (;;) {
    nfds_t nfds = 0;
    int64_t wait;
    R->now = arec__mono_ms();
    for (size_t i = 0; i < L->n; i++) {
      arec__rnode *nd = &L->nodes[i];
      if (nd->active && nd->c && node_finished(nd))
        nd->active = 0;
    }
    if (R->done(R))
      break;
    for (size_t i = 0; i < L->n; i++) {
      arec__rnode *nd = &L->nodes[i];
      if (!nd->active || !nd->c)
        continue;
      if (R->now >= deadline_ms) {
        node_timeout(R, i);
        continue;
      }
      pfd[nfds].fd = nd->c->fd;
      pfd[nfds].events = nd->state == AREC__RN_CONNECTING
                             ? POLLOUT
                             : (short)(POLLIN | (nd->want_write ? POLLOUT : 0));
      pfd[nfds].revents = 0;
      map[nfds++] = i;
    }
    if (nfds == 0)
      break;
    wait = deadline_ms - R->now;
    if (R->soft_ms > R->now && R->soft_ms < deadline_ms)
      wait = R->soft_ms - R->now;
    if (poll(pfd, nfds, (int)(wait < 1 ? 1 : wait)) < 0) {
      if (errno == EINTR)
        continue;
      for (nfds_t k = 0; k < nfds; k++)
        node_fail(R, map[k], "poll failed");
      break;
    }
    R->now = arec__mono_ms();
    for (nfds_t k = 0; k < nfds; k++) {
      size_t i = map[k];
      arec__rnode *nd = &L->nodes[i];
      short ev = pfd[k].revents;
      if (!ev || !nd->c)
        continue;
      if (nd->state == AREC__RN_CONNECTING) {
        connected(R, i);
        if (!nd->c)
          continue;
      }
      if (nd->want_write && (ev & (POLLOUT | POLLERR | POLLHUP))) {
        try_write(R, i);
        if (!nd->c)
          continue;
      }
      if (ev & (POLLIN | POLLERR | POLLHUP))
        try_read(R, i);
    }
  }
  /* Early decision: whatever the nodes still owe is read (and discarded)
   * at the start of their next round. */
  for (size_t i = 0; i < L->n; i++) {
    arec__rnode *nd = &L->nodes[i];
    if (!nd->active || !nd->c)
      continue;
    nd->stale += nd->expect_n - nd->expect_head;
    nd->expect_head = nd->expect_n;
    nd->active = 0;
  }
}
