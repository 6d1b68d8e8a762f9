/*
 * conn.c -- one connection per Redis master: the address list, the
 * non-blocking dial (hiredis 0.14 redisConnectNonBlock; completion is seen
 * by the poll loop), the handshake queued in front of the first request
 * (AUTH, SELECT, SCRIPT LOAD of the seven scripts: four single-key, three
 * batched), the command queue of a round, and dropping a broken connection
 * with exponential backoff before the next dial.
 *
 * Never blocks on the network (the DNS lookup of a host name is the one
 * exception: use IP addresses where that matters), never puts the password
 * in an error string or a log line.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/array.h"
#include "redis/internal.h"

int64_t arec__mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ addresses */
static int parse_one(arec__rnode *nd, const char *s, size_t len) {
  char buf[300];
  const char *host, *port = NULL;
  char *end;
  long p = 6379;
  while (len > 0 && (*s == ' ' || *s == '\t')) {
    s++;
    len--;
  }
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    len--;
  if (len == 0 || len >= sizeof buf)
    return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (buf[0] == '[') { /* [v6]:port */
    char *rb = strchr(buf, ']');
    if (!rb)
      return -1;
    *rb = '\0';
    host = buf + 1;
    if (rb[1] == ':')
      port = rb + 2;
    else if (rb[1] != '\0')
      return -1;
  } else {
    char *colon = strrchr(buf, ':');
    host = buf;
    if (colon) {
      if (strchr(buf, ':') != colon)
        return -1; /* bare IPv6 without brackets */
      *colon = '\0';
      port = colon + 1;
    }
  }
  if (port) {
    errno = 0;
    p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || errno || p < 1 || p > 65535)
      return -1;
  }
  if (*host == '\0' || strlen(host) >= sizeof nd->host)
    return -1;
  for (const char *h = host; *h; h++)
    if (*h == ' ' || *h == '/' || *h == '@' || *h == ',')
      return -1;
  memcpy(nd->host, host, strlen(host) + 1); /* length checked above */
  nd->port = (int)p;
  snprintf(nd->addr, sizeof nd->addr, "%.50s:%d", host, (int)p);
  return 0;
}

int arec__redis_parse_addrs(arec__redis_lock *L, const char *addrs) {
  const char *s = addrs;
  L->n = 0;
  if (!addrs || !*addrs) {
    arec_error_set("redis: empty address list");
    return AREC_EINVAL;
  }
  for (;;) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    if (L->n == AREC__REDIS_MAX_NODES) {
      arec_error_set("redis: more than %d masters", AREC__REDIS_MAX_NODES);
      return AREC_EINVAL;
    }
    if (parse_one(&L->nodes[L->n], s, len) != 0) {
      arec_error_set("redis: bad address '%.*s' in the list "
                     "(want host:port[,host:port...])",
                     (int)(len > 80 ? 80 : len), s);
      return AREC_EINVAL;
    }
    L->n++;
    if (!comma)
      break;
    s = comma + 1;
  }
  L->quorum = L->n / 2 + 1;
  return 0;
}

/* ----------------------------------------------------------- connection */
void arec__rnode_drop(arec__rnode *nd, const char *why, int64_t now) {
  if (nd->c) {
    redisFree(nd->c);
    nd->c = NULL;
  }
  nd->state = AREC__RN_DOWN;
  nd->stale = 0;
  nd->stale_since = 0;
  nd->want_write = 0;
  nd->active = 0;
  nd->backoff_ms = nd->backoff_ms ? nd->backoff_ms * 2
                                   : AREC__REDIS_BACKOFF_MIN_MS;
  if (nd->backoff_ms > AREC__REDIS_BACKOFF_MAX_MS)
    nd->backoff_ms = AREC__REDIS_BACKOFF_MAX_MS;
  nd->next_dial_ms = now + nd->backoff_ms;
  if (why)
    snprintf(nd->lasterr, sizeof nd->lasterr, "%s", why);
}

void arec__rnode_free(arec__rnode *nd) {
  if (nd->c)
    redisFree(nd->c);
  nd->c = NULL;
  free(nd->expect);
  nd->expect = NULL;
  nd->expect_cap = 0;
}

int arec__rnode_queue(arec__rnode *nd, const char *cmd, size_t len,
                      uint32_t tag) {
  if (arec__array_room(&nd->expect, &nd->expect_cap, nd->expect_n,
                       sizeof *nd->expect, 16))
    return -1;
  if (redisAppendFormattedCommand(nd->c, cmd, len) != REDIS_OK)
    return -1;
  nd->expect[nd->expect_n++] = tag;
  nd->want_write = 1;
  nd->unsent += len;
  return 0;
}

void arec__rnode_flush(arec__rnode *nd) {
  int done = 0;
  if (nd->unsent < AREC__REDIS_FLUSH_BYTES || !nd->c ||
      nd->state != AREC__RN_READY)
    return;
  nd->unsent = 0;
  if (arec__rnode_write(nd, &done) == REDIS_OK && done)
    nd->want_write = 0;
}

int arec__rnode_write(arec__rnode *nd, int *done) {
  sigset_t pipe_set, old, pending;
  int had_pipe, rc;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  had_pipe = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  rc = redisBufferWrite(nd->c, done);
  if (!had_pipe) {
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE)) {
      struct timespec zero = {0, 0};
      int saved = errno;
      while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
        ;
      errno = saved;
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

static int queue_argv(arec__rnode *nd, int argc, const char **argv,
                      uint32_t tag) {
  char *cmd = NULL;
  int len = redisFormatCommandArgv(&cmd, argc, argv, NULL);
  int rc;
  if (len < 0)
    return -1;
  rc = arec__rnode_queue(nd, cmd, (size_t)len, tag);
  redisFreeCommand(cmd);
  return rc;
}

static int queue_scripts(arec__rnode *nd) {
  static const char *const scripts[] = {
      AREC__LUA_RELEASE,       AREC__LUA_REFRESH,      AREC__LUA_ACQUIRE,
      AREC__LUA_PODLEASE,      AREC__LUA_TAKEOVER_MANY, AREC__LUA_REFRESH_MANY,
      AREC__LUA_RELEASE_MANY};
  for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++) {
    const char *argv[] = {"SCRIPT", "LOAD", scripts[i]};
    if (queue_argv(nd, 3, argv, AREC__TAG_SCRIPT))
      return -1;
  }
  nd->need_load = 0;
  return 0;
}

/* Resolves host to a numeric address, IPv4 first ("localhost" must not
 * land on ::1 when the server listens on 127.0.0.1 only). */
static int resolve(const char *host, char *out, size_t outlen) {
  struct addrinfo hints, *res = NULL;
  int fam[2] = {AF_INET, AF_INET6};
  for (int i = 0; i < 2; i++) {
    memset(&hints, 0, sizeof hints);
    hints.ai_family = fam[i];
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) == 0 && res) {
      const void *a = fam[i] == AF_INET
                          ? (const void *)&((struct sockaddr_in *)res->ai_addr)
                                ->sin_addr
                          : (const void *)&((struct sockaddr_in6 *)res->ai_addr)
                                ->sin6_addr;
      const char *ok = inet_ntop(fam[i], a, out, (socklen_t)outlen);
      freeaddrinfo(res);
      if (ok)
        return 0;
    }
  }
  return -1;
}

static int dial(arec__redis_lock *L, arec__rnode *nd, int64_t now) {
  char ip[INET6_ADDRSTRLEN];
  if (resolve(nd->host, ip, sizeof ip) != 0) {
    arec__rnode_drop(nd, "cannot resolve host", now);
    return -1;
  }
  nd->c = redisConnectNonBlock(ip, nd->port);
  if (!nd->c) {
    arec__rnode_drop(nd, "out of memory", now);
    return -1;
  }
  if (nd->c->err) {
    char why[80];
    snprintf(why, sizeof why, "connect: %.60s", nd->c->errstr);
    arec__rnode_drop(nd, why, now);
    return -1;
  }
  nd->state = AREC__RN_CONNECTING;
  nd->stale = 0;
  nd->stale_since = 0;
  nd->last_io_ms = now;
  nd->expect_head = nd->expect_n = 0;
  if (L->password && *L->password) {
    const char *argv[] = {"AUTH", L->password};
    if (queue_argv(nd, 2, argv, AREC__TAG_AUTH))
      goto oom;
  }
  if (L->db != 0) {
    char db[16];
    const char *argv[] = {"SELECT", db};
    snprintf(db, sizeof db, "%d", L->db);
    if (queue_argv(nd, 2, argv, AREC__TAG_SELECT))
      goto oom;
  }
  if (queue_scripts(nd))
    goto oom;
  return 0;
oom:
  arec__rnode_drop(nd, "out of memory", now);
  return -1;
}

/* Reads and discards, without waiting, the replies owed to earlier rounds
 * that have arrived by now.  -1 when the connection broke. */
static int drain_stale(arec__rnode *nd, int64_t now) {
  for (int reads = 0; nd->stale > 0;) {
    void *r = NULL;
    struct pollfd p = {nd->c->fd, POLLIN, 0};
    if (redisGetReplyFromReader(nd->c, &r) != REDIS_OK)
      return -1;
    if (r) {
      freeReplyObject(r);
      nd->stale--;
      continue;
    }
    if (reads++ > 64 || poll(&p, 1, 0) != 1)
      return 0; /* nothing more there yet */
    if (redisBufferRead(nd->c) != REDIS_OK)
      return -1;
    nd->last_io_ms = now;
  }
  return 0;
}

int arec__rnode_prepare(arec__redis_lock *L, arec__rnode *nd, int64_t now,
                        char *why, size_t whylen) {
  nd->active = 0;
  nd->timed_out = 0;
  nd->want_write = nd->c != NULL; /* a write left over by the last round */
  nd->expect_head = nd->expect_n = 0;
  nd->unsent = 0;
  /* Owed replies that never drain mean a master that does not answer, or a
   * stream out of step (a middlebox lost what was sent, so what arrives
   * answers newer requests): drop the connection when replies have been
   * owed at every round start for longer than AREC__REDIS_STALE_DROP_MS,
   * counting only those still missing after what has arrived was read (a
   * healthy master that answers after every early decision owes a reply at
   * every round start, but never for long).  An idle connection is not
   * judged by its idle time. */
  if (nd->c && nd->state == AREC__RN_READY && nd->stale > 0 &&
      drain_stale(nd, now) != 0)
    arec__rnode_drop(nd, "read failed", now);
  if (nd->stale == 0)
    nd->stale_since = 0;
  else if (!nd->stale_since)
    nd->stale_since = now;
  if (nd->c && nd->stale > 0 &&
      now - nd->stale_since > AREC__REDIS_STALE_DROP_MS)
    arec__rnode_drop(nd, "unresponsive", now);
  if (!nd->c) {
    if (now < nd->next_dial_ms) {
      snprintf(why, whylen, "down (%s), retry in %lld ms", nd->lasterr,
               (long long)(nd->next_dial_ms - now));
      return -1;
    }
    if (dial(L, nd, now) != 0) {
      snprintf(why, whylen, "%s", nd->lasterr);
      return -1;
    }
  } else if (nd->need_load && queue_scripts(nd) != 0) {
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  nd->active = 1;
  return 0;
}
