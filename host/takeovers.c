/*
 * takeovers.c -- the takeover recorder (takeovers.h): a log tap that turns
 * "✅ agent restored successfully ... after=failure" lines into audit
 * events, written by one drainer thread in batches.
 *
 * How: the tap compares the message first (every other line costs one
 * strcmp), then, under the queue's mutex, decides whether the line starts
 * a new restore -- a line continues the previous one when it names the same
 * agent, a symbol sorting after the previous line's symbol, and comes right
 * after it (within CONTINUE_MS; the library writes one restore's lines in
 * one loop, and its passes are serialised) -- and copies the agent id into
 * a fixed ring slot: no allocation, no I/O, no wait on the database.  The
 * drainer takes up to batch_max events out of the ring under the mutex,
 * writes them with one INSERT outside it (arec_host_store_audit_add_many),
 * retries a failed batch after retry_ms, and logs the drops of a full ring
 * at most once per overflow_log_ms.
 *
 * Never: block the tap's caller on anything but the short queue mutex (the
 * drainer holds it only to move events), log from the tap, hold the mutex
 * during I/O or logging, record a handover.
 */
#include "takeovers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define RESTORED_MSG "✅ agent restored successfully"
#define CONTINUE_MS 1000
#define SYMBOL_MAX 64

typedef struct slot {
  char agent_id[AREC_AGENT_ID_MAX + 1];
} slot;

struct arec_host_takeovers {
  arec_host_takeovers_options o;
  char actor[160];
  pthread_mutex_t mu;
  pthread_cond_t wake;  /* the drainer: events queued, or stop */
  pthread_cond_t idle;  /* flush: ring empty and no batch in flight */
  slot *ring;
  size_t head, count;   /* ring[head .. head + count) mod capacity */
  int busy;             /* the drainer holds a batch */
  int stop;
  pthread_t thread;
  /* the previous restore line, to count a restore's lines once */
  char last_id[AREC_AGENT_ID_MAX + 1];
  char last_symbol[SYMBOL_MAX + 1];
  int64_t last_ms;
  arec_host_takeovers_stats st;
  uint64_t dropped_logged; /* drops already logged */
  int64_t dropped_log_ms;  /* when */
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An absolute CLOCK_MONOTONIC time ms from now (the conds use it). */
static struct timespec after_ms(int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

static const char *field(const arec_log_field *f, size_t n, const char *k) {
  for (size_t i = 0; i < n; i++)
    if (f[i].key && !strcmp(f[i].key, k)) return f[i].value;
  return NULL;
}

static void say(arec_host_takeovers *t, arec_log_level level, const char *msg,
                const char *k1, uint64_t v1, const char *k2, uint64_t v2) {
  if (!t->o.log) return;
  char a[24], b[24];
  snprintf(a, sizeof a, "%llu", (unsigned long long)v1);
  snprintf(b, sizeof b, "%llu", (unsigned long long)v2);
  arec_log_field f[2] = {{k1, a, AREC_LOG_NUMBER}, {k2, b, AREC_LOG_NUMBER}};
  t->o.log(t->o.log_userdata, level, msg, f, 2);
}

/* --------------------------------------------------------------- the tap */
void arec_host_takeovers_tap(void *ud, arec_log_level level, const char *msg,
                             const arec_log_field *fields, size_t nfields) {
  arec_host_takeovers *t = ud;
  (void)level;
  if (!t || !msg || strcmp(msg, RESTORED_MSG) != 0) return;
  const char *id = field(fields, nfields, "agent_id");
  const char *symbol = field(fields, nfields, "symbol");
  const char *after = field(fields, nfields, "after");
  if (!id || !*id || strlen(id) > AREC_AGENT_ID_MAX) return;
  if (symbol && strlen(symbol) > SYMBOL_MAX) symbol = NULL;
  int64_t now = mono_ms();
  pthread_mutex_lock(&t->mu);
  int same = !strcmp(t->last_id, id) && symbol && t->last_symbol[0] &&
             strcmp(symbol, t->last_symbol) > 0 &&
             now - t->last_ms < CONTINUE_MS;
  snprintf(t->last_id, sizeof t->last_id, "%s", id);
  snprintf(t->last_symbol, sizeof t->last_symbol, "%s", symbol ? symbol : "");
  t->last_ms = now;
  if (!same && after && !strcmp(after, "failure")) {
    if (t->count == t->o.capacity) {
      t->st.dropped++;
    } else {
      slot *s = &t->ring[(t->head + t->count) % t->o.capacity];
      memcpy(s->agent_id, id, strlen(id) + 1);
      t->count++;
      t->st.queued++;
      pthread_cond_signal(&t->wake);
    }
  }
  pthread_mutex_unlock(&t->mu);
}

/* ------------------------------------------------------------ the drainer */
/* Writes ids[0..n) as one INSERT; 0 or the store's error. */
static int write_batch(arec_host_takeovers *t, char (*ids)[AREC_AGENT_ID_MAX + 1],
                       arec_host_audit *ev, size_t n) {
  for (size_t i = 0; i < n; i++) {
    memset(&ev[i], 0, sizeof ev[i]);
    ev[i].actor = t->actor;
    ev[i].action = "agent.takeover";
    ev[i].agent_id = ids[i];
    ev[i].result = "after failure";
  }
  return arec_host_store_audit_add_many(t->o.store, ev, n);
}

/* Unlogged drops whose log line is due (mutex held). */
static int drops_due(const arec_host_takeovers *t, int64_t now) {
  return t->st.dropped != t->dropped_logged &&
         (t->dropped_log_ms == 0 ||
          now - t->dropped_log_ms >= t->o.overflow_log_ms);
}

/* Logs the drops not logged yet when due (or `force`: at the end). */
static void log_drops(arec_host_takeovers *t, int force) {
  pthread_mutex_lock(&t->mu);
  int64_t now = mono_ms();
  uint64_t dropped = t->st.dropped, since = dropped - t->dropped_logged;
  int due = since > 0 && (force || drops_due(t, now));
  if (due) {
    t->dropped_logged = dropped;
    t->dropped_log_ms = now;
  }
  pthread_mutex_unlock(&t->mu);
  if (due)
    say(t, AREC_LOG_WARN, "takeover events dropped: the recorder's queue is "
        "full", "dropped", since, "dropped_total", dropped);
}

/* Waits (mutex held) until events are queued, the recorder stops or drops
 * are due to be logged. */
static void wait_work(arec_host_takeovers *t) {
  while (t->count == 0 && !t->stop) {
    int64_t now = mono_ms();
    if (drops_due(t, now)) return;
    int64_t ms = t->o.overflow_log_ms;
    if (t->st.dropped != t->dropped_logged)
      ms = t->dropped_log_ms + t->o.overflow_log_ms - now;
    struct timespec ts = after_ms(ms > 0 ? ms : 1);
    pthread_cond_timedwait(&t->wake, &t->mu, &ts);
  }
}

static void *drain(void *arg) {
  arec_host_takeovers *t = arg;
  size_t max = t->o.batch_max;
  char (*ids)[AREC_AGENT_ID_MAX + 1] = malloc(max * sizeof *ids);
  arec_host_audit *ev = malloc(max * sizeof *ev);
  size_t n = 0; /* the batch in hand (kept across a failed write) */
  for (;;) {
    log_drops(t, 0);
    pthread_mutex_lock(&t->mu);
    if (n == 0) {
      wait_work(t);
      if ((t->count == 0 && t->stop) || !ids || !ev) {
        pthread_mutex_unlock(&t->mu);
        break;
      }
      while (n < max && t->count > 0) {
        memcpy(ids[n++], t->ring[t->head].agent_id, AREC_AGENT_ID_MAX + 1);
        t->head = (t->head + 1) % t->o.capacity;
        t->count--;
      }
      t->busy = n > 0;
    }
    int stopping = t->stop;
    pthread_mutex_unlock(&t->mu);
    if (n == 0) continue; /* woken to log drops */
    int rc = write_batch(t, ids, ev, n);
    uint64_t failures, lost = 0;
    pthread_mutex_lock(&t->mu);
    if (rc == 0) {
      t->st.recorded += n;
      n = 0;
    } else {
      t->st.failures++;
      if (stopping) { /* the last attempt failed: give the rest up too */
        lost = n + t->count;
        t->st.lost += lost;
        t->head = (t->head + t->count) % t->o.capacity;
        t->count = 0;
        n = 0;
      }
    }
    failures = t->st.failures;
    t->busy = n > 0;
    if (!t->busy && t->count == 0) pthread_cond_broadcast(&t->idle);
    pthread_mutex_unlock(&t->mu);
    if (rc == 0) continue;
    if (stopping) {
      say(t, AREC_LOG_WARN, "takeover events lost: cannot record them",
          "events", lost, "failures", failures);
      continue;
    }
    say(t, AREC_LOG_WARN, "cannot record takeover events, retrying",
        "events", n, "failures", failures);
    pthread_mutex_lock(&t->mu);
    struct timespec ts = after_ms(t->o.retry_ms);
    while (!t->stop &&
           pthread_cond_timedwait(&t->wake, &t->mu, &ts) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&t->mu);
  }
  pthread_mutex_lock(&t->mu);
  t->st.lost += t->count; /* only when out of memory */
  t->count = 0;
  t->busy = 0;
  pthread_cond_broadcast(&t->idle);
  pthread_mutex_unlock(&t->mu);
  log_drops(t, 1);
  free(ids);
  free(ev);
  return NULL;
}

/* ------------------------------------------------------------- lifetime */
int arec_host_takeovers_new(arec_host_takeovers **out,
                            const arec_host_takeovers_options *opts) {
  if (!out) return AREC_EINVAL;
  *out = NULL;
  if (!opts || !opts->store || !opts->pod || !*opts->pod) return AREC_EINVAL;
  arec_host_takeovers *t = calloc(1, sizeof *t);
  if (!t) return AREC_ENOMEM;
  t->o = *opts;
  t->o.pod = NULL; /* copied into actor */
  if (!t->o.capacity) t->o.capacity = 1024;
  if (!t->o.batch_max) t->o.batch_max = 128;
  if (t->o.overflow_log_ms <= 0) t->o.overflow_log_ms = 10000;
  if (t->o.retry_ms <= 0) t->o.retry_ms = 1000;
  snprintf(t->actor, sizeof t->actor, "pod:%s", opts->pod);
  t->ring = calloc(t->o.capacity, sizeof *t->ring);
  pthread_condattr_t ca;
  int ok = t->ring != NULL && pthread_condattr_init(&ca) == 0;
  if (ok) {
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->wake, &ca);
    pthread_cond_init(&t->idle, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, drain, t) != 0) {
      pthread_cond_destroy(&t->idle);
      pthread_cond_destroy(&t->wake);
      pthread_mutex_destroy(&t->mu);
      ok = 0;
    }
  }
  if (!ok) {
    free(t->ring);
    free(t);
    return AREC_ENOMEM;
  }
  *out = t;
  return 0;
}

int arec_host_takeovers_flush(arec_host_takeovers *t, int64_t timeout_ms) {
  if (!t) return 0;
  struct timespec ts = after_ms(timeout_ms);
  int rc = 0;
  pthread_mutex_lock(&t->mu);
  while ((t->count > 0 || t->busy) && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&t->idle, &t->mu, &ts);
  int left = t->count > 0 || t->busy;
  pthread_mutex_unlock(&t->mu);
  return left ? AREC_ETIMEDOUT : 0;
}

void arec_host_takeovers_stats_get(arec_host_takeovers *t,
                                   arec_host_takeovers_stats *out) {
  memset(out, 0, sizeof *out);
  if (!t) return;
  pthread_mutex_lock(&t->mu);
  *out = t->st;
  pthread_mutex_unlock(&t->mu);
}

void arec_host_takeovers_free(arec_host_takeovers *t) {
  if (!t) return;
  pthread_mutex_lock(&t->mu);
  t->stop = 1;
  pthread_cond_broadcast(&t->wake);
  pthread_mutex_unlock(&t->mu);
  pthread_join(t->thread, NULL);
  pthread_cond_destroy(&t->idle);
  pthread_cond_destroy(&t->wake);
  pthread_mutex_destroy(&t->mu);
  free(t->ring);
  free(t);
}
