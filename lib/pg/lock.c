/*
 * lock.c -- the distributed-lock vtable on PostgreSQL alone
 * (AGENT_LOCK_BACKEND=postgres): agent leases are rows of agent_locks (key,
 * value, holder, expires_at) with expiry on the database clock
 * (clock_timestamp()), so the pods' clocks never matter; pod leases are rows
 * of lock_pods backed by one session-level advisory lock per pod on a
 * dedicated connection (sql/004_locks.sql).
 *
 * How: every slot is one statement over the arec_pg pool (batches pass text
 * arrays and lock rows in key order, so concurrent batches never deadlock).
 * An acquire takes a row that is free, expired, or whose holder's pod lease
 * is gone: its lock_pods row is missing or past lease_until AND nobody holds
 * its advisory lock (a dropped connection alone is not proof of death: the
 * lease must also have gone unrenewed for its TTL).  pod_lease() runs on the
 * dedicated connection (a one-slot arec_pg): it re-takes the advisory lock
 * if the session lost it (reconnect) and renews lease_until in the same
 * statement, so a pod whose liveness connection is gone cannot renew, and
 * the manager stops its runners before anyone may take them over; leaving
 * unlocks it before the session ends, so a taker never waits for the
 * server to notice a closed session.  A
 * renewal slower than the call deadline (a server starved of CPU) leaves
 * that session open, its answer read and dropped before the next renewal:
 * dropping it would free the advisory lock and make the next renewal wait
 * for a new backend on the same starved server -- but only while the lease
 * lasts: a session still owing its answer when the lease has run out is
 * closed (the pod has stopped its runners by then, and a session held
 * open through a partition would keep the advisory lock from the pods
 * that must take them over).  Agent
 * leases carry a holder only when this handle holds the pod lease of
 * exactly that owner; plain owners are taken over by expiry only.
 *
 * Threads: thread-safe (the pool for agent leases, a mutex for the pod
 * lease).  Must never: take one advisory lock per agent, build SQL from
 * input (every value is a parameter), log the conninfo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/sys/lock.h"
#include "core/random.h"
#include "pg/pg_internal.h"

#define KEY_MAX 512
/* pg_advisory_lock(LIVE_NS, hashtext(holder) & 0x7fffffff) */
#define LIVE_NS "1095910723"

typedef struct pg_lock {
  arec_lock parent;
  arec_pg *pg;
  int liveness;
  pthread_mutex_t mu;  /* the pod lease below */
  arec_pg *live;       /* dedicated one-connection handle, or NULL */
  int64_t valid_until; /* monotonic ms: the last renewal's lease end */
  char holder[AREC_LOCK_VALUE_MAX]; /* "" when no pod lease is held */
} pg_lock;

static pg_lock *PL(arec_lock *l) { return (pg_lock *)l; }

/* ---------------------------------------------------------------- helpers */
static int key_ok(const char *key) {
  return key && *key && strlen(key) <= KEY_MAX;
}

static int64_t validity(int64_t ttl, int64_t sent, int64_t now) {
  return ttl - (now - sent) - (ttl / 100 + 2);
}

/* One statement granting leases of ttl_ms: *val is their validity, counted
 * from just before it was sent.  As arec__pg_query. */
static int lease_query(pg_lock *L, const char *sql, int nparams,
                       const char *const *p, int64_t ttl_ms, PGresult **r,
                       int64_t *val) {
  int64_t sent = arec__pg_now_ms();
  int rc = arec__pg_query(L->pg, sql, nparams, p, NULL, NULL, r);
  *val = validity(ttl_ms, sent, arec__pg_now_ms());
  return rc;
}

/* "<owner>/<32 hex>" into out (AREC_LOCK_VALUE_MAX). */
static int make_value(char *out, const char *owner) {
  unsigned char rnd[16];
  if (arec__random_fill(rnd, sizeof rnd, "pg"))
    return AREC_EBACKEND;
  size_t n = strlen(owner);
  if (n + 1 + 32 + 1 > AREC_LOCK_VALUE_MAX) {
    arec_error_set("pg lock: owner too long");
    return AREC_EINVAL;
  }
  memcpy(out, owner, n);
  out[n] = '/';
  arec__hex(out + n + 1, rnd, sizeof rnd);
  return 0;
}

/* The holder recorded with an agent lease: the owner when this handle holds
 * its pod lease, else NULL (plain TTL semantics). */
static int holder_for(pg_lock *L, const char *owner, char *buf) {
  pthread_mutex_lock(&L->mu);
  int yes = L->holder[0] && !strcmp(L->holder, owner);
  if (yes)
    snprintf(buf, AREC_LOCK_VALUE_MAX, "%s", L->holder);
  pthread_mutex_unlock(&L->mu);
  return yes;
}

typedef struct idx_key {
  const char *key;
  size_t i;
} idx_key;

static int cmp_idx(const void *a, const void *b) {
  return strcmp(((const idx_key *)a)->key, ((const idx_key *)b)->key);
}

/* Index of `key` in the sorted table, or -1. */
static long find_key(const idx_key *t, size_t n, const char *key) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(t[mid].key, key);
    if (!c)
      return (long)t[mid].i;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

static idx_key *sorted(const char *const *keys, size_t n) {
  idx_key *t = malloc((n ? n : 1) * sizeof *t);
  if (!t)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    t[i].key = keys[i];
    t[i].i = i;
  }
  qsort(t, n, sizeof *t, cmp_idx);
  return t;
}

/* ------------------------------------------------------------- statements */
static const char SQL_ACQUIRE[] =
    "INSERT INTO agent_locks AS a (key, value, holder, expires_at) "
    "SELECT u.k, u.v, $3, clock_timestamp() + $4::bigint * interval '1 millisecond' "
    "FROM unnest($1::text[], $2::text[]) AS u(k, v) ORDER BY u.k COLLATE \"C\" "
    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
    "holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at "
    "WHERE a.expires_at <= clock_timestamp() "
    "OR (a.holder IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM lock_pods p WHERE p.holder = a.holder "
    "AND p.lease_until > clock_timestamp()) "
    "AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' "
    "AND l.granted AND l.classid = " LIVE_NS "::oid "
    "AND l.objid = (hashtext(a.holder) & 2147483647)::oid AND l.objsubid = 2)) "
    "RETURNING key";

static const char SQL_REFRESH[] =
    "WITH t AS (SELECT a.key FROM agent_locks a "
    "JOIN unnest($1::text[], $2::text[]) AS u(k, v) ON a.key = u.k AND a.value = u.v "
    "WHERE a.expires_at > clock_timestamp() ORDER BY a.key FOR UPDATE OF a) "
    "UPDATE agent_locks a SET expires_at = clock_timestamp() + "
    "$3::bigint * interval '1 millisecond' FROM t WHERE a.key = t.key "
    "RETURNING a.key";

static const char SQL_RELEASE[] =
    "WITH t AS (SELECT a.key, a.expires_at > clock_timestamp() AS live "
    "FROM agent_locks a "
    "JOIN unnest($1::text[], $2::text[]) AS u(k, v) ON a.key = u.k AND a.value = u.v "
    "ORDER BY a.key FOR UPDATE OF a) "
    "DELETE FROM agent_locks a USING t WHERE a.key = t.key "
    "RETURNING a.key, t.live";

/* Two text arrays (keys, values) as parameters. */
typedef struct arrays {
  arec__buf k, v;
} arrays;

static int build(arrays *a, const char *const *keys, const arec_lease *leases,
                 size_t n) {
  arec__buf_init(&a->k);
  arec__buf_init(&a->v);
  arec__pg_arr_open(&a->k);
  arec__pg_arr_open(&a->v);
  for (size_t i = 0; i < n; i++) {
    arec__pg_arr_str(&a->k, keys[i]);
    arec__pg_arr_str(&a->v, leases[i].value);
  }
  if (!arec__pg_arr_close(&a->k) || !arec__pg_arr_close(&a->v)) {
    arec__buf_free(&a->k);
    arec__buf_free(&a->v);
    return AREC_ENOMEM;
  }
  return 0;
}

static void arrays_free(arrays *a) {
  arec__buf_free(&a->k);
  arec__buf_free(&a->v);
}

/* The array parameters of a batch and its keys sorted for the answers'
 * lookup: 0, or AREC_ENOMEM with nothing left allocated. */
static int batch_open(arrays *a, idx_key **t, const char *const *keys,
                      const arec_lease *leases, size_t n) {
  if (build(a, keys, leases, n))
    return AREC_ENOMEM;
  if (!(*t = sorted(keys, n))) {
    arrays_free(a);
    return AREC_ENOMEM;
  }
  return 0;
}

/* The arguments of a batch: AREC_EINVAL when `bad` or one of keys is not a
 * key, else 0. */
static int batch_check(const char *const *keys, size_t n, int bad) {
  if (bad)
    return AREC_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!key_ok(keys[i]))
      return AREC_EINVAL;
  return 0;
}

/* batch_check, then (n > 0) batch_open: 0, or the error with nothing left
 * allocated; nothing is allocated when n is 0. */
static int batch_start(arrays *a, idx_key **t, const char *const *keys,
                       const arec_lease *leases, size_t n, int bad) {
  int rc = batch_check(keys, n, bad);
  if (rc || n == 0)
    return rc;
  return batch_open(a, t, keys, leases, n);
}

/* ---------------------------------------------------------------- batches */
static int acquire_many(arec_lock *lock, const char *const *keys, size_t n,
                        const char *owner, int64_t ttl_ms,
                        arec_lease *out_leases, int *out_results) {
  pg_lock *L = PL(lock);
  int rc = batch_check(keys, n,
                       !keys || !owner || !*owner || ttl_ms <= 0 ||
                           !out_leases || !out_results);
  if (rc || n == 0)
    return rc;
  for (size_t i = 0; i < n; i++) {
    out_results[i] = 0;
    out_leases[i].validity_ms = 0;
    if ((rc = make_value(out_leases[i].value, owner)) != 0)
      return rc;
  }
  arrays a;
  idx_key *t;
  if (batch_open(&a, &t, keys, out_leases, n))
    return AREC_ENOMEM;
  char holder[AREC_LOCK_VALUE_MAX], ttl[24];
  int has_holder = holder_for(L, owner, holder);
  const char *p[4] = {a.k.p, a.v.p, has_holder ? holder : NULL,
                      arec__pg_i64(ttl, ttl_ms)};
  PGresult *r = NULL;
  int64_t val;
  rc = lease_query(L, SQL_ACQUIRE, 4, p, ttl_ms, &r, &val);
  if (rc == 0) {
    for (int row = 0; row < PQntuples(r); row++) {
      long i = find_key(t, n, PQgetvalue(r, row, 0));
      if (i < 0)
        continue;
      out_results[i] = val > 0 ? 1 : 0;
      out_leases[i].validity_ms = val;
    }
    /* A lease that is already invalid when we learn of it is released
     * rather than reported (nothing is left held on error/late answers). */
    if (val <= 0) {
      PQclear(r);
      r = NULL;
      const char *q[2] = {a.k.p, a.v.p};
      arec__pg_query(L->pg, SQL_RELEASE, 2, q, NULL, NULL, NULL);
    }
  }
  PQclear(r);
  free(t);
  arrays_free(&a);
  return rc;
}

static int refresh_many(arec_lock *lock, const char *const *keys,
                        arec_lease *leases, size_t n, int64_t ttl_ms,
                        int *out_results) {
  pg_lock *L = PL(lock);
  arrays a;
  idx_key *t;
  int rc = batch_start(&a, &t, keys, leases, n,
                       !keys || !leases || ttl_ms <= 0 || !out_results);
  if (rc || n == 0)
    return rc;
  char ttl[24];
  const char *p[3] = {a.k.p, a.v.p, arec__pg_i64(ttl, ttl_ms)};
  PGresult *r = NULL;
  int64_t val;
  rc = lease_query(L, SQL_REFRESH, 3, p, ttl_ms, &r, &val);
  if (rc == 0) {
    for (size_t i = 0; i < n; i++)
      out_results[i] = AREC_ELOST;
    for (int row = 0; row < PQntuples(r); row++) {
      long i = find_key(t, n, PQgetvalue(r, row, 0));
      if (i < 0)
        continue;
      /* decided past its validity: we cannot know it was still ours */
      out_results[i] = val > 0 ? 0 : AREC_EUNAVAILABLE;
      leases[i].validity_ms = val;
    }
  }
  PQclear(r);
  free(t);
  arrays_free(&a);
  return rc;
}

static int release_many(arec_lock *lock, const char *const *keys,
                        const arec_lease *leases, size_t n, int *out_results) {
  pg_lock *L = PL(lock);
  arrays a;
  idx_key *t;
  int rc = batch_start(&a, &t, keys, leases, n,
                       !keys || !leases || !out_results);
  if (rc || n == 0)
    return rc;
  const char *p[2] = {a.k.p, a.v.p};
  PGresult *r = NULL;
  rc = arec__pg_query(L->pg, SQL_RELEASE, 2, p, NULL, NULL, &r);
  if (rc == 0) {
    for (size_t i = 0; i < n; i++)
      out_results[i] = 1;
    for (int row = 0; row < PQntuples(r); row++) {
      long i = find_key(t, n, PQgetvalue(r, row, 0));
      if (i >= 0)
        out_results[i] = PQgetvalue(r, row, 1)[0] == 't' ? 0 : 1;
    }
  }
  PQclear(r);
  free(t);
  arrays_free(&a);
  return rc;
}

/* ------------------------------------------------------------ single keys */
static int try_acquire(arec_lock *lock, const char *key, const char *owner,
                       int64_t ttl_ms, arec_lease *out) {
  if (!key_ok(key) || !owner || !*owner || ttl_ms <= 0 || !out)
    return AREC_EINVAL;
  int res = 0;
  int rc = acquire_many(lock, &key, 1, owner, ttl_ms, out, &res);
  return rc < 0 ? rc : res;
}

static int refresh(arec_lock *lock, const char *key, arec_lease *lease,
                   int64_t ttl_ms) {
  if (!key_ok(key) || !lease || ttl_ms <= 0)
    return AREC_EINVAL;
  int res = 0;
  int rc = refresh_many(lock, &key, lease, 1, ttl_ms, &res);
  return rc < 0 ? rc : res;
}

static int release(arec_lock *lock, const char *key, const arec_lease *lease) {
  if (!key_ok(key) || !lease)
    return AREC_EINVAL;
  int res = 0;
  int rc = release_many(lock, &key, lease, 1, &res);
  return rc < 0 ? rc : res;
}

/* -------------------------------------------------------------- pod lease */
/* On the dedicated connection: hold the advisory lock (re-take it when the
 * session is new), then renew the lease row; no row back = someone else
 * holds the advisory lock of this holder. */
static const char SQL_POD_LEASE[] =
    "WITH adv AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks l "
    "WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted "
    "AND l.classid = " LIVE_NS "::oid "
    "AND l.objid = (hashtext($1) & 2147483647)::oid AND l.objsubid = 2) "
    "THEN true ELSE pg_try_advisory_lock(" LIVE_NS ", hashtext($1) & 2147483647) "
    "END AS held) "
    "INSERT INTO lock_pods (holder, lock_key, lease_until) "
    "SELECT $1, hashtext($1) & 2147483647, "
    "clock_timestamp() + $2::bigint * interval '1 millisecond' "
    "FROM adv WHERE adv.held "
    "ON CONFLICT (holder) DO UPDATE SET lease_until = EXCLUDED.lease_until "
    "RETURNING 1";

static const char SQL_POD_LEAVE[] =
    "DELETE FROM lock_pods WHERE holder = $1";

/* Housekeeping on renewals: leases of pods gone for an hour. */
static const char SQL_POD_GC[] =
    "DELETE FROM lock_pods WHERE lease_until < clock_timestamp() - interval '1 hour'";

static int live_open(pg_lock *L) {
  if (L->live)
    return 0;
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = L->pg->conninfo;
  o.pool_size = 1;
  o.connect_timeout_ms = L->pg->connect_timeout_ms;
  o.call_timeout_ms = L->pg->call_timeout_ms;
  o.statement_timeout_ms = L->pg->statement_timeout_ms;
  o.application_name = L->pg->application_name;
  o.log = L->pg->log;
  o.log_userdata = L->pg->log_userdata;
  int rc = arec_pg_new(&L->live, &o);
  if (rc == 0)
    L->live->keep_late = 1; /* a slow renewal must not end the session */
  return rc;
}

static int pod_lease(arec_lock *lock, const char *holder, int64_t ttl_ms,
                     int leaving, int64_t *out_validity_ms) {
  pg_lock *L = PL(lock);
  if (!holder || !*holder || strlen(holder) >= AREC_LOCK_VALUE_MAX - 34 ||
      (!leaving && (ttl_ms <= 0 || !out_validity_ms)))
    return AREC_EINVAL;
  int rc;
  pthread_mutex_lock(&L->mu);
  if (leaving) {
    L->holder[0] = 0;
    const char *p[1] = {holder};
    rc = arec__pg_query(L->pg, SQL_POD_LEAVE, 1, p, NULL, NULL, NULL);
    /* the advisory lock goes now, not when the server gets round to ending
     * the session: a taker right after the leave must find it free */
    if (L->live)
      arec__pg_query(L->live, "SELECT pg_advisory_unlock_all()", 0, NULL,
                     NULL, NULL, NULL);
    arec_pg_free(L->live); /* ends the session (the lock goes with it) */
    L->live = NULL;
    pthread_mutex_unlock(&L->mu);
    return rc;
  }
  snprintf(L->holder, sizeof L->holder, "%s", holder);
  int64_t sent = arec__pg_now_ms();
  if (L->live && L->live->slots[0].owed && sent >= L->valid_until) {
    /* late past the lease itself: this pod has stopped its runners, and a
     * session kept open (through a partition the server cannot see) would
     * keep the advisory lock from everyone who could take them over */
    arec_pg_free(L->live);
    L->live = NULL;
  }
  rc = L->liveness ? live_open(L) : 0;
  if (rc == 0) {
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    const char *p[2] = {holder, ttl};
    PGresult *r = NULL;
    rc = arec__pg_query(L->live ? L->live : L->pg, SQL_POD_LEASE, 2, p, NULL,
                        NULL, &r);
    if (rc == 0 && PQntuples(r) != 1) {
      arec_error_set("pg lock: the pod's advisory lock is held by another "
                     "session");
      rc = AREC_ELOST;
    }
    PQclear(r);
  }
  int64_t now = arec__pg_now_ms();
  if (rc == 0) {
    *out_validity_ms = validity(ttl_ms, sent, now);
    L->valid_until = sent + ttl_ms;
    if ((sent / 1000) % 60 == 0) /* about once a minute */
      arec__pg_query(L->pg, SQL_POD_GC, 0, NULL, NULL, NULL, NULL);
  }
  pthread_mutex_unlock(&L->mu);
  return rc;
}

/* ------------------------------------------------------------- lifecycle */
static void lock_free(arec_lock *lock) {
  pg_lock *L = PL(lock);
  if (!L)
    return;
  arec_pg_free(L->live);
  arec_pg_free(L->pg);
  pthread_mutex_destroy(&L->mu);
  free(L);
}

int arec_pg_lock_new(arec_lock **out, arec_pg *pg,
                     const arec_pg_lock_options *opts) {
  static const arec_lock base = {
      AREC_LOCK_VERSION, try_acquire,  refresh,   release,   refresh_many,
      acquire_many,      release_many, lock_free, pod_lease};
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!pg) {
    arec_error_set("pg lock: pg is NULL");
    return AREC_EINVAL;
  }
  if (opts && opts->version != AREC_PG_LOCK_OPTIONS_VERSION) {
    arec_error_set("pg lock: unsupported options version %u", opts->version);
    return AREC_EVERSION;
  }
  pg_lock *L = calloc(1, sizeof *L);
  if (!L)
    return AREC_ENOMEM;
  L->parent = base;
  L->liveness = opts ? !opts->no_liveness : 1;
  pthread_mutex_init(&L->mu, NULL);
  arec__pg_ref(pg);
  L->pg = pg;
  *out = &L->parent;
  return 0;
}
