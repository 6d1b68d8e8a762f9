/*
 * pool.c -- the arec_pg handle: a small pool of libpq connections, each
 * taken within the call's deadline (statement.c runs the statements).
 *
 * How: each call takes a slot (condition variable, monotonic deadline),
 * connects it with PQconnectStartParams/PQconnectPoll under poll(2) when
 * needed (application_name added), so a blackholed server costs at most
 * the call deadline (PQcancel is not used: it blocks on an unreachable
 * server; the statement_timeout every connection sets -- the configured
 * one, else the call timeout -- ends an orphaned statement on the server
 * side).  A slot whose session kept a late statement's results (keep_late,
 * the PostgreSQL lock's liveness session, whose advisory lock must not end
 * with a slow answer) reads and discards them when it is next taken,
 * within that call's deadline; still owed then: that call times out too,
 * and the session stays.  A failed connect makes the pool fail fast for a
 * backoff (25 ms doubling to 1 s) instead of hammering a dead server.
 * Each connection's settings are made once, right after it connects
 * (statement timeout, UTC, no JIT: the backend's statements are short, and
 * a batch of 100,000 ids looks costly enough to the planner to spend a
 * quarter of a second compiling it; no parallel workers; generic plans for
 * the named statements of prepared.c, which are planned once per
 * connection -- the unnamed ones of every other call are always planned
 * with their values), and hold for its whole session (a session-mode
 * pooler keeps them; nothing else relies on server state across
 * checkouts).  From PostgreSQL 14 on, the server also checks every second
 * that the client of a running statement is still there, so a statement
 * whose connection was dropped (a client deadline) ends then, with its
 * locks -- the liveness session's advisory lock among them -- instead of
 * when it would have finished.
 *
 * Must never: block without a deadline, print, put the conninfo (it may hold
 * a password) into an error message or a log line.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg/pg_internal.h"

/* ------------------------------------------------------------------ time */
int64_t arec__pg_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t arec__pg_deadline(const arec_pg *pg) {
  return arec__pg_now_ms() + pg->call_timeout_ms;
}

void arec__pg_log(arec_pg *pg, arec_log_level level, const char *msg,
                  const char *key, const char *value) {
  if (!pg->log)
    return;
  arec_log_field f = {key, value, AREC_LOG_STRING};
  pg->log(pg->log_userdata, level, msg, key ? &f : NULL, key ? 1 : 0);
}

void arec__pg_set_pq_error(const char *what, const char *msg) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", msg ? msg : "");
  for (char *p = buf; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  size_t n = strlen(buf);
  while (n && buf[n - 1] == ' ')
    buf[--n] = 0;
  arec_error_set("pg: %s: %s", what, buf);
}

int arec__pg_wait_fd(int fd, short events, int64_t deadline, short *revents) {
  for (;;) {
    int64_t left = deadline - arec__pg_now_ms();
    if (left <= 0)
      return 0;
    struct pollfd p = {fd, events, 0};
    int r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
    if (r > 0) {
      if (revents)
        *revents = p.revents;
      return 1;
    }
    if (r < 0 && errno != EINTR)
      return -1;
  }
}

/* ------------------------------------------------------------- connecting */
/* Server notices go to the log sink (libpq would print them to stderr). */
static void on_notice(void *arg, const char *message) {
  arec_pg *pg = arg;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", message ? message : "");
  buf[strcspn(buf, "\n")] = 0;
  arec__pg_log(pg, AREC_LOG_WARN, "postgres notice", "notice", buf);
}

static PGconn *connect_until(arec_pg *pg, int64_t deadline, int *err) {
  int64_t cdl = arec__pg_now_ms() + pg->connect_timeout_ms;
  if (cdl > deadline)
    cdl = deadline;
  /* The conninfo (string or URI) is expanded from "dbname"; a configured
   * application_name overrides the conninfo's, the default does not. */
  const char *keys[] = {"dbname",
                        pg->application_name ? "application_name"
                                             : "fallback_application_name",
                        NULL};
  const char *vals[] = {pg->conninfo,
                        pg->application_name ? pg->application_name
                                             : "agentrecover",
                        NULL};
  PGconn *c = PQconnectStartParams(keys, vals, 1);
  if (!c) {
    *err = AREC_ENOMEM;
    arec_error_set("pg: connect: out of memory");
    return NULL;
  }
  PQsetNoticeProcessor(c, on_notice, pg);
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  if (PQstatus(c) == CONNECTION_BAD)
    st = PGRES_POLLING_FAILED;
  while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
    int r = arec__pg_wait_fd(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                    cdl, NULL);
    if (r == 0) {
      PQfinish(c);
      *err = AREC_EUNAVAILABLE;
      arec_error_set("pg: connect: timed out");
      return NULL;
    }
    st = PQconnectPoll(c);
  }
  if (st == PGRES_POLLING_FAILED) {
    arec__pg_set_pq_error("connect", PQerrorMessage(c));
    PQfinish(c);
    *err = AREC_EUNAVAILABLE;
    return NULL;
  }
  if (PQsetnonblocking(c, 1) != 0) {
    arec__pg_set_pq_error("connect", PQerrorMessage(c));
    PQfinish(c);
    *err = AREC_EUNAVAILABLE;
    return NULL;
  }
  return c;
}

/* Connects slot->conn and sets the per-connection settings. */
static int slot_connect(arec_pg *pg, arec__pg_slot *s, int64_t deadline) {
  pthread_mutex_lock(&pg->mu);
  int64_t now = arec__pg_now_ms();
  if (now < pg->down_until_ms) {
    pthread_mutex_unlock(&pg->mu);
    arec_error_set("pg: server unreachable (retrying with backoff)");
    return AREC_EUNAVAILABLE;
  }
  pthread_mutex_unlock(&pg->mu);
  int err = 0;
  PGconn *c = connect_until(pg, deadline, &err);
  if (c) {
    s->conn = c;
    /* From numbers of the options only.  No parallel workers: the
     * library's statements run every pass on every pod, and a count over
     * 100,000 agents with two workers took three processes' CPU for 79 ms
     * where one process takes 54. */
    char sql[320];
    snprintf(sql, sizeof sql,
             "SET statement_timeout = %lld; SET TIME ZONE 'UTC'; SET jit = off; "
             "SET plan_cache_mode = force_generic_plan; "
             "SET max_parallel_workers_per_gather = 0%s",
             (long long)pg->statement_timeout_ms,
             PQserverVersion(c) >= 140000
                 ? "; SET client_connection_check_interval = 1000"
                 : "");
    err = arec__pg_exec(pg, s, deadline, sql, 0, NULL, NULL, NULL, NULL);
  }
  pthread_mutex_lock(&pg->mu);
  if (err) {
    pg->down_until_ms = arec__pg_now_ms() + pg->backoff_ms;
    pg->backoff_ms = pg->backoff_ms * 2 > 1000 ? 1000 : pg->backoff_ms * 2;
  } else {
    pg->down_until_ms = 0;
    pg->backoff_ms = 25;
  }
  pthread_mutex_unlock(&pg->mu);
  if (err)
    arec__pg_log(pg, AREC_LOG_WARN, "postgres connection failed", "error",
                 arec_error_last());
  return err;
}

void arec__pg_slot_drop(arec__pg_slot *s) {
  if (s->conn)
    PQfinish(s->conn);
  s->conn = NULL;
  s->owed = 0;
  arec__pg_prep_clear(s);
}

/* Reads and discards the results a timed-out statement still owed, within
 * the deadline: 0 (the session is free again), AREC_ETIMEDOUT (still owed;
 * the session stays) or AREC_EUNAVAILABLE (broken: dropped). */
static int drain_owed(arec__pg_slot *s, int64_t deadline) {
  PGconn *c = s->conn;
  for (;;) {
    while (PQisBusy(c)) {
      int w = arec__pg_wait_fd(PQsocket(c), POLLIN, deadline, NULL);
      if (w == 0) {
        arec_error_set("pg: the session is still busy with a statement that "
                       "timed out earlier");
        return AREC_ETIMEDOUT;
      }
      if (w < 0 || !PQconsumeInput(c)) {
        arec__pg_set_pq_error("connection lost", PQerrorMessage(c));
        arec__pg_slot_drop(s);
        return AREC_EUNAVAILABLE;
      }
    }
    PGresult *r = PQgetResult(c);
    if (!r)
      break;
    PQclear(r);
  }
  if (PQstatus(c) != CONNECTION_OK ||
      PQtransactionStatus(c) != PQTRANS_IDLE) {
    arec__pg_set_pq_error("connection lost", PQerrorMessage(c));
    arec__pg_slot_drop(s);
    return AREC_EUNAVAILABLE;
  }
  s->owed = 0;
  return 0;
}

/* ------------------------------------------------------------------- pool */
int arec__pg_acquire(arec_pg *pg, int64_t deadline, arec__pg_slot **out) {
  *out = NULL;
  arec__pg_slot *s = NULL;
  pthread_mutex_lock(&pg->mu);
  for (;;) {
    for (unsigned int i = 0; i < pg->pool_size; i++) {
      arec__pg_slot *c = &pg->slots[i];
      if (!c->busy && (!s || (c->conn && !s->conn)))
        s = c;
    }
    if (s)
      break;
    int64_t left = deadline - arec__pg_now_ms();
    if (left <= 0) {
      pthread_mutex_unlock(&pg->mu);
      arec_error_set("pg: no free connection within the deadline");
      return AREC_ETIMEDOUT;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&pg->cv, &pg->mu, &ts);
  }
  s->busy = 1;
  pthread_mutex_unlock(&pg->mu);

  /* An idle connection that became readable was closed by the server (or
   * got a notice): consume it and drop it if it is broken. */
  if (s->conn) {
    struct pollfd p = {PQsocket(s->conn), POLLIN, 0};
    if (p.fd < 0 || (poll(&p, 1, 0) > 0 && (!PQconsumeInput(s->conn) ||
                                            PQstatus(s->conn) != CONNECTION_OK)))
      arec__pg_slot_drop(s);
    else if (PQstatus(s->conn) != CONNECTION_OK)
      arec__pg_slot_drop(s);
  }
  if (s->conn && s->owed) {
    int err = drain_owed(s, deadline);
    if (err == AREC_ETIMEDOUT) {
      arec__pg_release(pg, s);
      return err;
    }
  }
  if (!s->conn) {
    int err = slot_connect(pg, s, deadline);
    if (err) {
      arec__pg_release(pg, s);
      return err;
    }
  }
  *out = s;
  return 0;
}

void arec__pg_release(arec_pg *pg, arec__pg_slot *s) {
  if (!s)
    return;
  if (s->conn && (PQstatus(s->conn) != CONNECTION_OK ||
                  (!s->owed && PQtransactionStatus(s->conn) != PQTRANS_IDLE)))
    arec__pg_slot_drop(s);
  pthread_mutex_lock(&pg->mu);
  s->busy = 0;
  pthread_cond_signal(&pg->cv);
  pthread_mutex_unlock(&pg->mu);
}

/* ------------------------------------------------------------- lifecycle */
void arec__pg_ref(arec_pg *pg) {
  pthread_mutex_lock(&pg->mu);
  pg->refs++;
  pthread_mutex_unlock(&pg->mu);
}

static void pg_destroy(arec_pg *pg) {
  for (unsigned int i = 0; pg->slots && i < pg->pool_size; i++)
    arec__pg_slot_drop(&pg->slots[i]);
  free(pg->slots);
  if (pg->conninfo) {
    volatile char *p = pg->conninfo;
    while (*p)
      *p++ = 0;
    free(pg->conninfo);
  }
  free(pg->application_name);
  pthread_cond_destroy(&pg->cv);
  pthread_mutex_destroy(&pg->mu);
  free(pg);
}

int arec_pg_new(arec_pg **out, const arec_pg_options *opts) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!opts || !opts->conninfo) {
    arec_error_set("pg: options.conninfo is required");
    return AREC_EINVAL;
  }
  if (opts->version != AREC_PG_OPTIONS_VERSION) {
    arec_error_set("pg: unsupported options version %u", opts->version);
    return AREC_EVERSION;
  }
  arec_pg *pg = calloc(1, sizeof *pg);
  if (!pg)
    return AREC_ENOMEM;
  pg->pool_size = opts->pool_size ? opts->pool_size : 4;
  pg->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
  pg->call_timeout_ms = opts->call_timeout_ms > 0 ? opts->call_timeout_ms : 5000;
  pg->statement_timeout_ms = opts->statement_timeout_ms > 0
                                 ? opts->statement_timeout_ms
                                 : pg->call_timeout_ms;
  pg->history_keep = opts->history_keep ? opts->history_keep : 100;
  pg->log = opts->log;
  pg->log_userdata = opts->log_userdata;
  pg->backoff_ms = 25;
  pg->refs = 1;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&pg->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&pg->mu, NULL);
  pg->conninfo = strdup(opts->conninfo);
  pg->application_name = arec__pg_strdup(opts->application_name);
  pg->slots = calloc(pg->pool_size, sizeof *pg->slots);
  if (!pg->conninfo || !pg->slots ||
      (opts->application_name && !pg->application_name)) {
    pg_destroy(pg);
    return AREC_ENOMEM;
  }
  /* Validate the conninfo without echoing it (libpq's parse error could
   * quote it). */
  char *perr = NULL;
  PQconninfoOption *co = PQconninfoParse(pg->conninfo, &perr);
  if (!co) {
    PQfreemem(perr);
    arec_error_set("pg: invalid conninfo");
    pg_destroy(pg);
    return AREC_EINVAL;
  }
  PQconninfoFree(co);
  arec__pg_slot *s;
  int err = arec__pg_acquire(pg, arec__pg_now_ms() + pg->connect_timeout_ms, &s);
  if (err) {
    pg_destroy(pg);
    return err;
  }
  arec__pg_release(pg, s);
  *out = pg;
  return 0;
}

void arec_pg_free(arec_pg *pg) {
  if (!pg)
    return;
  pthread_mutex_lock(&pg->mu);
  int left = --pg->refs;
  pthread_mutex_unlock(&pg->mu);
  if (left == 0)
    pg_destroy(pg);
}

int arec_pg_ping(arec_pg *pg) {
  if (!pg)
    return AREC_EINVAL;
  return arec__pg_query(pg, "SELECT 1", 0, NULL, NULL, NULL, NULL);
}
