/*
 * http.c -- the HTTP server of agentrecoverd over libmicrohttpd: epoll I/O
 * threads that only move bytes and answer probes, and a bounded pool of
 * worker threads for every other request.
 *
 * How: the first call of the access handler only allocates the request's
 * state; later calls append upload chunks (up to body_max, the rest is
 * drained and flagged too large; a body still arriving timeout_s after the
 * headers closes the connection).  On the final call the request is copied
 * out of libmicrohttpd; the probe may answer it at once, otherwise it is
 * queued (503 when the queue is full) and its connection suspended.  A
 * worker runs the handler and resumes the connection; the next access call
 * queues the response (libmicrohttpd 0.9.75 wants the response queued on a
 * later call than the first, and after a resume).  A request's state is
 * reference-counted (its connection, a worker); the server itself too (its
 * owner, each worker), so that stop can leave a blocked handler behind.
 * Every suspended connection sits on the `parked` list; exactly one party
 * resumes it (the worker when done, or stop), decided under the lock, and
 * no worker resumes anything once stop has begun.
 *
 * Never: call into libmicrohttpd while holding the lock; resume a
 * connection twice or after stop handed it back; run a handler on an I/O
 * thread; print (libmicrohttpd's error log stays off); use select() (it
 * cannot watch descriptors above 1023); call MHD_quiesce_daemon (see
 * on_accept).
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "growbuf.h"
#include "http_req.h"

typedef enum cs_state {
  CS_NEW,       /* collecting, or answered on the I/O thread */
  CS_QUEUED,    /* waiting for a worker (connection suspended) */
  CS_RUNNING,   /* a worker runs the handler */
  CS_DONE,      /* handled (has_resp), or skipped: the client had gone */
  CS_ABANDONED  /* stop took the connection back; no response */
} cs_state;

typedef struct conn_state conn_state;
struct conn_state {
  int refs; /* the connection's, plus the job's while handed over (lock) */
  struct MHD_Connection *conn;
  long long started_ms;
  arec_growbuf body;
  int handed; /* went to the pool (I/O thread only) */
  int fd;
  void *arena;
  arec_http_request req;
  /* under the server's lock once handed over */
  cs_state state;
  int resumed;
  int has_resp;
  arec_http_response resp;
  conn_state *qnext;          /* the queue */
  conn_state *pprev, *pnext;  /* the parked list */
};

struct arec_host_http {
  struct MHD_Daemon *daemon;
  arec_http_options o;
  atomic_uint connections;
  atomic_int closing; /* stop began: new connections are refused */
  pthread_mutex_t mu;
  pthread_cond_t work; /* workers: a job, or stopping */
  pthread_cond_t idle; /* stop: resumes finished, workers exited */
  conn_state *q_head, *q_tail;
  conn_state *parked;
  unsigned queued, running, resuming, alive;
  int stopping;
  int refs;
  unsigned long long busy_total, dropped_total;
  pthread_t *threads;
  unsigned char *exited;
  unsigned nthreads;
};

typedef struct worker_arg {
  arec_host_http *s;
  unsigned idx;
} worker_arg;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------ request state */
static void cs_free(conn_state *cs) {
  free(cs->body.p);
  free(cs->arena);
  free(cs->resp.body);
  free(cs);
}

/* With the lock held (or before the state is shared). */
static void cs_unref(conn_state *cs) {
  if (--cs->refs == 0) cs_free(cs);
}

static void srv_free(arec_host_http *s) {
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->work);
  pthread_cond_destroy(&s->idle);
  free(s->threads);
  free(s->exited);
  free(s);
}

/* Drops one reference to the server; the lock must NOT be held. */
static void srv_unref(arec_host_http *s) {
  pthread_mutex_lock(&s->mu);
  int last = --s->refs == 0;
  pthread_mutex_unlock(&s->mu);
  if (last) srv_free(s);
}

static void park(arec_host_http *s, conn_state *cs) {
  cs->pprev = NULL;
  cs->pnext = s->parked;
  if (s->parked) s->parked->pprev = cs;
  s->parked = cs;
}

static void unpark(arec_host_http *s, conn_state *cs) {
  if (cs->pprev)
    cs->pprev->pnext = cs->pnext;
  else if (s->parked == cs)
    s->parked = cs->pnext;
  if (cs->pnext) cs->pnext->pprev = cs->pprev;
  cs->pprev = cs->pnext = NULL;
}

/* 1 when the client closed its side (or the socket failed) while its
 * request waited: nobody would read the answer. */
static int peer_gone(int fd) {
  if (fd < 0) return 0;
  struct pollfd p = {fd, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return 0;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return 1;
  if (p.revents & POLLRDHUP) {
    char b;
    return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }
  return 0;
}

/* ---------------------------------------------------------- responses */
static enum MHD_Result send_unavailable(struct MHD_Connection *c,
                                        const char *json) {
  arec_http_response r;
  memset(&r, 0, sizeof r);
  r.status = 503;
  r.body = strdup(json);
  r.extra[0].name = "Retry-After";
  r.extra[0].value = "1";
  return arec_http_send(c, &r);
}

/* ------------------------------------------------------------ workers */
/* Lock held.  A job is finished (state set): resume its connection unless
 * stop has begun (stop resumes it then), and drop the job's reference.
 * May unlock and lock again. */
static void finish_job(arec_host_http *s, conn_state *cs) {
  if (s->stopping || cs->resumed) {
    cs_unref(cs);
    return;
  }
  cs->resumed = 1;
  unpark(s, cs);
  struct MHD_Connection *c = cs->conn;
  cs_unref(cs); /* the connection still holds it until the resume */
  s->resuming++;
  pthread_mutex_unlock(&s->mu);
  MHD_resume_connection(c);
  pthread_mutex_lock(&s->mu);
  if (--s->resuming == 0) pthread_cond_broadcast(&s->idle);
}

static void *worker_main(void *arg) {
  worker_arg wa = *(worker_arg *)arg;
  free(arg);
  arec_host_http *s = wa.s;
  /* this thread only (Linux: a thread id is a PRIO_PROCESS target); a
   * refusal leaves it at the process's priority */
  if (s->o.worker_nice > 0)
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), s->o.worker_nice);
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (!s->stopping && !s->q_head) pthread_cond_wait(&s->work, &s->mu);
    if (s->stopping) break;
    conn_state *cs = s->q_head;
    s->q_head = cs->qnext;
    if (!s->q_head) s->q_tail = NULL;
    cs->qnext = NULL;
    s->queued--;
    if (peer_gone(cs->fd)) { /* checked while the connection is parked */
      s->dropped_total++;
      cs->state = CS_DONE;
      finish_job(s, cs);
      continue;
    }
    cs->state = CS_RUNNING;
    s->running++;
    pthread_mutex_unlock(&s->mu);
    arec_http_response r;
    memset(&r, 0, sizeof r);
    s->o.handler(s->o.ud, &cs->req, &r);
    pthread_mutex_lock(&s->mu);
    s->running--;
    if (cs->state == CS_RUNNING) {
      cs->resp = r;
      cs->has_resp = 1;
      cs->state = CS_DONE;
      finish_job(s, cs);
    } else { /* stop took the connection back meanwhile */
      free(r.body);
      cs_unref(cs);
    }
  }
  s->alive--;
  s->exited[wa.idx] = 1;
  pthread_cond_broadcast(&s->idle);
  int last = --s->refs == 0;
  pthread_mutex_unlock(&s->mu);
  if (last) srv_free(s);
  return NULL;
}

/* I/O thread: queue the request for a worker and suspend its connection,
 * or answer 503 at once. */
static enum MHD_Result hand_over(arec_host_http *s, conn_state *cs,
                                 struct MHD_Connection *c) {
  pthread_mutex_lock(&s->mu);
  if (s->stopping) {
    pthread_mutex_unlock(&s->mu);
    return send_unavailable(c, "{\"error\":\"server shutting down\"}");
  }
  if (s->queued >= s->o.queue_max) {
    s->busy_total++;
    pthread_mutex_unlock(&s->mu);
    return send_unavailable(c, "{\"error\":\"server busy, retry\"}");
  }
  s->queued++; /* the slot is ours; linked once the connection is parked */
  cs->refs++;
  cs->state = CS_QUEUED;
  cs->handed = 1;
  pthread_mutex_unlock(&s->mu);
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  cs->fd = ci ? ci->connect_fd : -1;
  MHD_suspend_connection(c);
  pthread_mutex_lock(&s->mu);
  if (s->stopping) { /* stop began in between: hand it straight back */
    s->queued--;
    cs->refs--;
    cs->state = CS_ABANDONED;
    cs->resumed = 1;
    pthread_mutex_unlock(&s->mu);
    MHD_resume_connection(c);
    return MHD_YES;
  }
  if (s->q_tail)
    s->q_tail->qnext = cs;
  else
    s->q_head = cs;
  s->q_tail = cs;
  park(s, cs);
  pthread_cond_signal(&s->work);
  pthread_mutex_unlock(&s->mu);
  return MHD_YES;
}

/* ---------------------------------------------------- libmicrohttpd */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
  (void)version;
  arec_host_http *s = cls;
  conn_state *cs = *con_cls;
  if (!cs) {
    cs = calloc(1, sizeof *cs);
    if (!cs) return MHD_NO;
    cs->refs = 1;
    cs->conn = c;
    cs->fd = -1;
    cs->started_ms = now_ms();
    cs->body.max = s->o.body_max;
    *con_cls = cs;
    return MHD_YES;
  }
  if (cs->handed) { /* resumed: answer, or close when there is nothing */
    pthread_mutex_lock(&s->mu);
    if (!cs->resumed) { /* not resumed yet (never expected): keep waiting */
      pthread_mutex_unlock(&s->mu);
      return MHD_YES;
    }
    arec_http_response r = cs->resp;
    int have = cs->state == CS_DONE && cs->has_resp;
    if (have) {
      cs->has_resp = 0;
      memset(&cs->resp, 0, sizeof cs->resp);
    }
    pthread_mutex_unlock(&s->mu);
    return have ? arec_http_send(c, &r) : MHD_NO;
  }
  if (*upload_size) {
    if (now_ms() - cs->started_ms > (long long)s->o.timeout_s * 1000)
      return MHD_NO; /* a body trickling in too slowly */
    if (arec_growbuf_append(&cs->body, upload, *upload_size) < 0)
      return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }
  if (arec_http_req_copy(c, method, url, &cs->req, &cs->arena) != 0)
    return MHD_NO;
  cs->req.body = cs->body.p;
  cs->req.body_len = cs->body.len;
  cs->req.body_too_large = cs->body.too_large;
  if (s->o.probe) {
    arec_http_response r;
    memset(&r, 0, sizeof r);
    if (s->o.probe(s->o.ud, &cs->req, &r)) return arec_http_send(c, &r);
  }
  return hand_over(s, cs, c);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)c;
  (void)toe;
  arec_host_http *s = cls;
  conn_state *cs = *con_cls;
  if (!cs) return;
  *con_cls = NULL;
  pthread_mutex_lock(&s->mu);
  cs_unref(cs);
  pthread_mutex_unlock(&s->mu);
}

/* The accept policy: once stop began, a new connection is closed as soon
 * as it is accepted.  (Not MHD_quiesce_daemon: with epoll I/O threads it
 * races an I/O thread for the listen socket's removal from the epoll set,
 * and the loser aborts the process -- libmicrohttpd 0.9.75, seen in a test
 * of stop.) */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
                                 socklen_t addrlen) {
  (void)addr;
  (void)addrlen;
  arec_host_http *s = cls;
  return atomic_load(&s->closing) ? MHD_NO : MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  (void)c;
  (void)socket_context;
  arec_host_http *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED)
    atomic_fetch_add(&s->connections, 1);
  else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
    atomic_fetch_sub(&s->connections, 1);
}

/* ------------------------------------------------------------ control */
/* Lock held.  Wakes the workers to exit and waits until `until_ms` (or
 * forever with -1) for them.  Returns how many are still running. */
static unsigned wait_workers(arec_host_http *s, long long until_ms) {
  s->stopping = 1;
  pthread_cond_broadcast(&s->work);
  while (s->alive > 0) {
    if (until_ms < 0) {
      pthread_cond_wait(&s->idle, &s->mu);
      continue;
    }
    long long left = until_ms - now_ms();
    if (left <= 0) break;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(left / 1000);
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->idle, &s->mu, &ts);
  }
  return s->alive;
}

/* Joins the workers that exited, detaches the others.  Lock not held. */
static int release_workers(arec_host_http *s) {
  int left = 0;
  for (unsigned i = 0; i < s->nthreads; i++) {
    pthread_mutex_lock(&s->mu);
    int done = s->exited[i];
    pthread_mutex_unlock(&s->mu);
    if (done) {
      pthread_join(s->threads[i], NULL);
    } else {
      pthread_detach(s->threads[i]);
      left++;
    }
  }
  return left;
}

static int start_workers(arec_host_http *s) {
  s->threads = calloc(s->o.workers, sizeof *s->threads);
  s->exited = calloc(s->o.workers, 1);
  if (!s->threads || !s->exited) return -1;
  for (unsigned i = 0; i < s->o.workers; i++) {
    worker_arg *wa = malloc(sizeof *wa);
    if (!wa) return -1;
    wa->s = s;
    wa->idx = i;
    pthread_mutex_lock(&s->mu);
    s->refs++;
    s->alive++;
    pthread_mutex_unlock(&s->mu);
    if (pthread_create(&s->threads[i], NULL, worker_main, wa) != 0) {
      free(wa);
      pthread_mutex_lock(&s->mu);
      s->refs--;
      s->alive--;
      pthread_mutex_unlock(&s->mu);
      return -1;
    }
    s->nthreads++;
  }
  return 0;
}

static const char *check_options(const arec_http_options *o) {
  if (!o->handler) return "no handler";
  if (o->port < 1 || o->port > 65535) return "port out of range";
  if (o->worker_nice < 0 || o->worker_nice > 19)
    return "worker nice value out of 0..19";
  if (!o->io_threads || !o->workers || !o->queue_max || !o->timeout_s ||
      !o->backlog || !o->body_max)
    return "a zero thread count, queue, timeout, backlog or body limit";
  if (o->max_connections < o->io_threads)
    return "fewer connections allowed than I/O threads";
  return NULL;
}

int arec_host_http_start(arec_host_http **out, const arec_http_options *o,
                         char *err, size_t errlen) {
  *out = NULL;
  const char *bad = check_options(o);
  if (bad) {
    snprintf(err, errlen, "%s", bad);
    return -1;
  }
  const char *addr = o->addr && *o->addr ? o->addr : "0.0.0.0";
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  memset(&a4, 0, sizeof a4);
  memset(&a6, 0, sizeof a6);
  struct sockaddr *sa = NULL;
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                       MHD_ALLOW_SUSPEND_RESUME;
  if (inet_pton(AF_INET, addr, &a4.sin_addr) == 1) {
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)o->port);
    sa = (struct sockaddr *)&a4;
  } else if (inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1) {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)o->port);
    sa = (struct sockaddr *)&a6;
    /* "::" also takes IPv4 clients, like 0.0.0.0 */
    flags |= IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr) ? MHD_USE_DUAL_STACK
                                                    : MHD_USE_IPv6;
  } else {
    snprintf(err, errlen, "address \"%.60s\" is not an IPv4 or IPv6 literal",
             addr);
    return -1;
  }
  arec_host_http *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->o = *o;
  s->o.addr = NULL; /* the caller's string is not kept */
  s->refs = 1;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->work, &ca);
  pthread_cond_init(&s->idle, &ca);
  pthread_condattr_destroy(&ca);
  if (start_workers(s) != 0) {
    snprintf(err, errlen, "cannot start the worker threads");
    goto fail;
  }
  s->daemon = MHD_start_daemon(
      flags, (uint16_t)o->port, on_accept, s, on_access, s,
      MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned int)o->io_threads, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned int)o->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      (unsigned int)o->max_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned int)o->timeout_s, MHD_OPTION_LISTEN_BACKLOG_SIZE,
      (unsigned int)o->backlog, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
  if (!s->daemon) {
    snprintf(err, errlen, "cannot listen on %.60s port %d (in use?)", addr,
             o->port);
    goto fail;
  }
  *out = s;
  return 0;
fail:
  pthread_mutex_lock(&s->mu);
  wait_workers(s, -1);
  pthread_mutex_unlock(&s->mu);
  release_workers(s);
  srv_unref(s);
  return -1;
}

void arec_host_http_stats_get(arec_host_http *s, arec_http_stats *st) {
  memset(st, 0, sizeof *st);
  if (!s) return;
  st->connections = atomic_load(&s->connections);
  pthread_mutex_lock(&s->mu);
  st->queued = s->queued;
  st->running = s->running;
  st->busy_total = s->busy_total;
  st->dropped_total = s->dropped_total;
  pthread_mutex_unlock(&s->mu);
}

int arec_host_http_stop(arec_host_http *s) {
  if (!s) return 0;
  atomic_store(&s->closing, 1); /* no new connections (on_accept) */
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  pthread_cond_broadcast(&s->work);
  while (s->q_head) { /* queued requests are not run any more */
    conn_state *cs = s->q_head;
    s->q_head = cs->qnext;
    cs->qnext = NULL;
    s->queued--;
    cs->state = CS_ABANDONED;
    cs->refs--; /* the job's; the parked connection keeps it alive */
  }
  s->q_tail = NULL;
  conn_state *todo = NULL; /* every suspended connection, resumed below */
  while (s->parked) {
    conn_state *cs = s->parked;
    unpark(s, cs);
    if (cs->resumed) continue;
    cs->resumed = 1;
    if (cs->state == CS_RUNNING) cs->state = CS_ABANDONED;
    cs->qnext = todo;
    todo = cs;
  }
  pthread_mutex_unlock(&s->mu);
  while (todo) {
    conn_state *next = todo->qnext; /* todo may be freed once resumed */
    MHD_resume_connection(todo->conn);
    todo = next;
  }
  pthread_mutex_lock(&s->mu); /* a worker may be inside its resume call */
  while (s->resuming) pthread_cond_wait(&s->idle, &s->mu);
  pthread_mutex_unlock(&s->mu);
  MHD_stop_daemon(s->daemon); /* closes every connection */
  pthread_mutex_lock(&s->mu);
  wait_workers(s, now_ms() + s->o.stop_wait_ms);
  pthread_mutex_unlock(&s->mu);
  int left = release_workers(s);
  srv_unref(s);
  return left;
}
