/*
 * test_redis_batch_noscript.c -- a script cache flushed in the middle of a
 * batched call.  Between the lock and a real redis-server sits a small
 * sequencing proxy (a thread of this test): it forwards the lock's commands
 * one by one and, before the third chunk's script call, waits until the
 * server has answered everything forwarded, runs SCRIPT FLUSH on its own
 * connection, then lets the rest through.  So the first two chunks run by
 * EVALSHA and every later one is answered NOSCRIPT, on every run, and the
 * lock must re-send exactly those as EVAL (counted by the server's
 * commandstats) and still give every key its answer; the next call loads
 * the scripts again.  Checked for the takeover acquire, refresh and
 * release; also with the flush before the first chunk and before the last.
 *
 * The proxy forwards bytes unchanged; it only decides when.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redis/internal.h" /* AREC__REDIS_CHUNK and the script SHAs */
#include "test_redis_fixture.h"
#include "support/runner.h"

static arec_test_redis g_srv[1];
static rfix g_f;

#define CH AREC__REDIS_CHUNK
#define NKEYS (5 * CH - 7) /* five chunks, the last one short */
#define TTL 10000
#define B "pod-b/fedcba9876543210fedcba9876543210"

/* ------------------------------------------------------ sequencing proxy */
typedef struct seqproxy {
  int lfd, port;
  const arec_test_redis *srv;
  pthread_mutex_t mu;
  int hold_after; /* flush after this many chunk calls ran (-1: never) */
  int nchunks;    /* chunk calls forwarded since armed */
  int flushed, failed;
  volatile int stop;
  pthread_t th;
} seqproxy;

static seqproxy g_px;

/* Length of the complete RESP command at p (0: incomplete); arg0/arg1 and
 * their lengths when present. */
static size_t resp_command(const char *p, size_t len, const char **a0,
                           size_t *l0, const char **a1, size_t *l1) {
  const char *end = p + len, *q = p;
  char *e;
  long n;
  *a0 = *a1 = NULL;
  *l0 = *l1 = 0;
  if (len < 4 || *q != '*')
    return 0;
  if (!memchr(q, '\n', len))
    return 0;
  n = strtol(q + 1, &e, 10);
  q = e + 2;
  for (long i = 0; i < n; i++) {
    long bl;
    if (q >= end || !memchr(q, '\n', (size_t)(end - q)))
      return 0;
    bl = strtol(q + 1, &e, 10);
    q = e + 2;
    if (end - q < bl + 2)
      return 0;
    if (i == 0) {
      *a0 = q;
      *l0 = (size_t)bl;
    } else if (i == 1) {
      *a1 = q;
      *l1 = (size_t)bl;
    }
    q += bl + 2;
  }
  return (size_t)(q - p);
}

static int is_chunk_call(const char *a0, size_t l0, const char *a1,
                         size_t l1) {
  static const char *const shas[] = {AREC__LUA_TAKEOVER_MANY_SHA,
                                     AREC__LUA_REFRESH_MANY_SHA,
                                     AREC__LUA_RELEASE_MANY_SHA};
  if (!a0 || l0 != 7 || strncasecmp(a0, "EVALSHA", 7) != 0 || l1 != 40)
    return 0;
  for (size_t i = 0; i < 3; i++)
    if (memcmp(a1, shas[i], 40) == 0)
      return 1;
  return 0;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) {
      if (k < 0 && errno == EINTR)
        continue;
      return;
    }
    p += k;
    n -= (size_t)k;
  }
}

static int dial_server(int port) {
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* Forwards the complete commands in buf, holding back the chunk call due
 * after the armed number until the server answered all before it; then
 * SCRIPT FLUSH on another connection, and on.  Returns what it used. */
static size_t forward(seqproxy *px, int sfd, const char *buf, size_t len,
                      size_t *fwd, size_t answered) {
  size_t off = 0;
  pthread_mutex_lock(&px->mu);
  for (;;) {
    const char *a0, *a1;
    size_t l0, l1, n = resp_command(buf + off, len - off, &a0, &l0, &a1, &l1);
    int chunk = n && is_chunk_call(a0, l0, a1, l1);
    if (n == 0)
      break;
    if (chunk && px->hold_after >= 0 && !px->flushed &&
        px->nchunks == px->hold_after) {
      redisReply *rep;
      if (answered < *fwd)
        break; /* wait for the replies */
      rep = rcmd(px->srv, "SCRIPT FLUSH");
      if (!rep || rep->type == REDIS_REPLY_ERROR)
        px->failed = 1;
      if (rep)
        freeReplyObject(rep);
      px->flushed = 1;
    }
    write_all(sfd, buf + off, n);
    (*fwd)++;
    off += n;
    if (chunk)
      px->nchunks++;
  }
  pthread_mutex_unlock(&px->mu);
  return off;
}

/* One connection of the lock, until either side closes. */
static void serve(seqproxy *px, int cfd) {
  int sfd = dial_server(px->srv->port);
  redisReader *rd = redisReaderCreate();
  char *buf = NULL, tmp[65536];
  size_t len = 0, cap = 0, fwd = 0, answered = 0;
  while (sfd >= 0 && rd && !px->stop) {
    struct pollfd p[2] = {{cfd, POLLIN, 0}, {sfd, POLLIN, 0}};
    size_t used;
    if (poll(p, 2, 20) < 0 && errno != EINTR)
      break;
    if (p[1].revents) {
      ssize_t k = recv(sfd, tmp, sizeof tmp, 0);
      void *r = NULL;
      if (k <= 0)
        break;
      write_all(cfd, tmp, (size_t)k);
      redisReaderFeed(rd, tmp, (size_t)k);
      while (redisReaderGetReply(rd, &r) == REDIS_OK && r) {
        answered++;
        freeReplyObject(r);
        r = NULL;
      }
    }
    if (p[0].revents) {
      ssize_t k = recv(cfd, tmp, sizeof tmp, 0);
      if (k <= 0)
        break;
      if (len + (size_t)k > cap) {
        char *nb = realloc(buf, (len + (size_t)k) * 2);
        if (!nb)
          break;
        buf = nb;
        cap = (len + (size_t)k) * 2;
      }
      memcpy(buf + len, tmp, (size_t)k);
      len += (size_t)k;
    }
    used = forward(px, sfd, buf, len, &fwd, answered);
    memmove(buf, buf + used, len - used);
    len -= used;
  }
  free(buf);
  if (rd)
    redisReaderFree(rd);
  if (sfd >= 0)
    close(sfd);
}

static void *proxy_main(void *arg) {
  seqproxy *px = arg;
  while (!px->stop) {
    struct pollfd p = {px->lfd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0)
      continue;
    int cfd = accept(px->lfd, NULL, NULL);
    if (cfd < 0)
      continue;
    serve(px, cfd);
    close(cfd);
  }
  return NULL;
}

static void proxy_start(seqproxy *px, const arec_test_redis *srv) {
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  int one = 1;
  memset(px, 0, sizeof *px);
  px->srv = srv;
  px->hold_after = -1;
  pthread_mutex_init(&px->mu, NULL);
  px->lfd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(px->lfd, 0);
  setsockopt(px->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(px->lfd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(px->lfd, 4), 0);
  ck_assert_int_eq(getsockname(px->lfd, (struct sockaddr *)&a, &al), 0);
  px->port = ntohs(a.sin_port);
  ck_assert_int_eq(pthread_create(&px->th, NULL, proxy_main, px), 0);
}

static void proxy_stop(seqproxy *px) {
  px->stop = 1;
  pthread_join(px->th, NULL);
  close(px->lfd);
  pthread_mutex_destroy(&px->mu);
}

/* The next call's chunk calls: SCRIPT FLUSH once `after` of them ran. */
static void proxy_arm(seqproxy *px, int after) {
  pthread_mutex_lock(&px->mu);
  px->hold_after = after;
  px->nchunks = 0;
  px->flushed = 0;
  pthread_mutex_unlock(&px->mu);
}

static int proxy_flushed(seqproxy *px) {
  pthread_mutex_lock(&px->mu);
  int n = px->flushed && !px->failed;
  px->hold_after = -1;
  pthread_mutex_unlock(&px->mu);
  return n;
}

/* ------------------------------------------------------------- helpers */
/* EVAL calls since the last CONFIG RESETSTAT. */
static long long evals(void) {
  redisReply *rep = rcmd(&g_srv[0], "INFO commandstats");
  const char *p;
  long long n = 0;
  ck_assert_ptr_nonnull(rep);
  p = strstr(rep->str, "cmdstat_eval:calls=");
  if (p)
    n = atoll(p + strlen("cmdstat_eval:calls="));
  freeReplyObject(rep);
  return n;
}

static arec_lock *open_via_proxy(void) {
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  arec_lock *l = NULL;
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", g_px.port);
  o.addrs = addr;
  /* the proxy holds a batch for a moment: the deadline is not under test */
  o.node_timeout_ms = 5000;
  ck_assert_int_eq(arec_redis_lock_new(&l, &o), 0);
  return l;
}

static size_t holding(const char *const *keys, const arec_lease *ls,
                      size_t n) {
  size_t got = 0;
  char v[256];
  for (size_t i = 0; i < n; i++) {
    rget(&g_srv[0], keys[i], v, sizeof v);
    got += strcmp(v, ls[i].value) == 0;
  }
  return got;
}

/* ---------------------------------------------------------------- tests */
/* A batch of five chunks; SCRIPT FLUSH once `after` chunk calls ran: the
 * 5 - after later ones are re-sent as EVAL. */
static const int flush_after[] = {2, 0, 4};

static void run_op(arec_lock *l, int op, int after, const char *const *keys,
                   arec_lease *ls, int *res) {
  ck_assert(rok(rcmd(&g_srv[0], "CONFIG RESETSTAT")));
  proxy_arm(&g_px, after);
  if (op == 0)
    ck_assert_int_eq(l->try_acquire_many(l, keys, NKEYS, B, TTL, ls, res), 0);
  else if (op == 1)
    ck_assert_int_eq(l->refresh_many(l, keys, ls, NKEYS, 3 * TTL, res), 0);
  else
    ck_assert_int_eq(l->release_many(l, keys, ls, NKEYS, res), 0);
  ck_assert_int_eq(proxy_flushed(&g_px), 1);
  ck_assert_int_eq(evals(), 5 - after);
}

START_TEST(noscript_in_the_middle_of_a_batch) {
  int after = flush_after[_i];
  arec_lock *l;
  static char names[NKEYS][40];
  const char *keys[NKEYS];
  static arec_lease ls[NKEYS];
  static int res[NKEYS];
  int64_t v;
  fx_reset(&g_f);
  proxy_start(&g_px, &g_srv[0]);
  l = open_via_proxy();
  for (size_t i = 0; i < NKEYS; i++) {
    snprintf(names[i], sizeof names[i], "agent:lock:ns-%zu", i);
    keys[i] = names[i];
  }
  ck_assert_int_eq(l->pod_lease(l, B, 30000, 0, &v), 0);

  /* takeover acquire (a pod-lease holder as owner) */
  run_op(l, 0, after, keys, ls, res);
  for (size_t i = 0; i < NKEYS; i++)
    ck_assert_msg(res[i] == 1, "key %zu: %d", i, res[i]);
  ck_assert_uint_eq(holding(keys, ls, NKEYS), NKEYS);

  run_op(l, 1, after, keys, ls, res);
  for (size_t i = 0; i < NKEYS; i++) {
    ck_assert_msg(res[i] == 0, "key %zu: %d", i, res[i]);
    ck_assert_int_gt(ls[i].validity_ms, TTL);
  }
  for (size_t i = 0; i < NKEYS; i += NKEYS - 1) { /* the first, the last */
    long long ms = rpttl(&g_srv[0], keys[i]);
    ck_assert_int_gt(ms, TTL);
    ck_assert_int_le(ms, 3 * TTL); /* the refresh's TTL, from TIME */
  }

  run_op(l, 2, after, keys, ls, res);
  for (size_t i = 0; i < NKEYS; i++)
    ck_assert_msg(res[i] == 0, "key %zu: %d", i, res[i]);
  ck_assert_uint_eq(holding(keys, ls, NKEYS), 0);

  /* the scripts were loaded again: the next batch needs no EVAL */
  ck_assert(rok(rcmd(&g_srv[0], "CONFIG RESETSTAT")));
  ck_assert_int_eq(l->try_acquire_many(l, keys, NKEYS, B, TTL, ls, res), 0);
  ck_assert_int_eq(res[NKEYS - 1], 1);
  ck_assert_int_eq(evals(), 0);
  ck_assert_int_eq(l->release_many(l, keys, ls, NKEYS, res), 0);
  ck_assert_int_eq(res[0], 0);
  l->free(l);
  proxy_stop(&g_px);
}
END_TEST

int main(void) {
  Suite *s = suite_create("redis-batch-noscript");
  TCase *tc = arec_test_tcase(s, "redis-batch-noscript", 60);
  if (rfix_start(&g_f, g_srv, 1) != 0) {
    fprintf(stderr, "test_redis_batch_noscript: cannot start redis-server\n");
    return 1;
  }
  tcase_add_loop_test(tc, noscript_in_the_middle_of_a_batch, 0,
                      AREC_TEST_ROWS(flush_after));
  return arec_test_run(s);
}
