/*
 * test_pg_lock.c -- the PostgreSQL lock backend (lib/pg/lock.c) against a
 * real PostgreSQL 15: the lock conformance suite (fixture below), and the
 * pod-lease failover rules: an agent lease of a holder whose process died
 * (liveness session gone, pod lease unrenewed) is taken over after the pod
 * lease TTL, long before the agent TTL; a holder that keeps renewing is never
 * taken over, even when its liveness connection is killed (it re-takes its
 * advisory lock); a renewal slower than the call deadline (its row locked
 * by another session) times out without ending the liveness session: the
 * advisory lock stays with the same backend throughout, and the next
 * renewal after the row is free succeeds on that session -- while the
 * lease lasts: a renewal late past the lease closes that session, so its
 * advisory lock does not outlive the lease; one holder
 * cannot hold its pod lease twice.  The lock
 * suite also runs in pod-lease mode ("pg-podlease"), whose rules cover the
 * plain owner taken over by expiry only.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/lock.h"
#include "conformance/conformance.h"
#include "support/harness.h"
#include "support/runner.h"

static arec_test_pg g_pg;

static PGresult *sql(const char *q, int n, const char *const *p) {
  return arec_test_pg_exec(&g_pg, q, n, p);
}

/* A lock on a pool of two connections with these deadlines (0: the
 * defaults). */
static arec_lock *open_lock_timed(int64_t call_timeout_ms,
                                  int64_t statement_timeout_ms) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.pool_size = 2;
  o.call_timeout_ms = call_timeout_ms;
  o.statement_timeout_ms = statement_timeout_ms;
  arec_pg *pg = NULL;
  int e = arec_pg_new(&pg, &o);
  ck_assert_msg(e == 0, "arec_pg_new: %s", arec_error_last());
  arec_lock *l = NULL;
  ck_assert_int_eq(arec_pg_lock_new(&l, pg, NULL), 0);
  arec_pg_free(pg);
  ck_assert_uint_eq(l->version, AREC_LOCK_VERSION);
  ck_assert_ptr_nonnull(l->pod_lease);
  return l;
}

static arec_lock *open_lock(void) { return open_lock_timed(0, 0); }

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* -------------------------------------------------------------- fixture */
static void fx_reset(void *ctx) {
  (void)ctx;
  PQclear(sql("TRUNCATE agent_locks, lock_pods", 0, NULL));
}

static int fx_open(void *ctx, arec_lock **out) {
  (void)ctx;
  *out = open_lock();
  return 0;
}

static int fx_expire(void *ctx, const char *key) {
  (void)ctx;
  const char *p[1] = {key};
  PQclear(sql("UPDATE agent_locks SET expires_at = clock_timestamp() - "
              "interval '1 millisecond' WHERE key = $1",
              1, p));
  return 0;
}

static int fx_overwrite(void *ctx, const char *key, const char *value,
                        int64_t ttl_ms) {
  (void)ctx;
  char ttl[24];
  snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
  const char *p[3] = {key, value, ttl};
  PQclear(sql("INSERT INTO agent_locks (key, value, expires_at) VALUES ($1, $2, "
              "clock_timestamp() + $3::bigint * interval '1 millisecond') "
              "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
              "holder = NULL, expires_at = EXCLUDED.expires_at",
              3, p));
  return 0;
}

static int64_t fx_ttl(void *ctx, const char *key) {
  (void)ctx;
  const char *p[1] = {key};
  PGresult *r = sql("SELECT ceil(extract(epoch FROM expires_at - clock_timestamp()) "
                    "* 1000)::bigint FROM agent_locks WHERE key = $1 AND "
                    "expires_at > clock_timestamp()",
                    1, p);
  int64_t t = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -2;
  PQclear(r);
  return t;
}

static const arec_lock_fixture FIXTURE = {"pg", NULL, fx_reset, fx_open,
                                          fx_expire, fx_overwrite, fx_ttl, 0};
/* The same suite with pod-lease holders as owners, plus the pod-lease rules
 * (tests/conformance/podlease_conformance.c). */
static const arec_lock_fixture PODLEASE_FIXTURE = {
    "pg-podlease", NULL,   fx_reset, fx_open, fx_expire,
    fx_overwrite,  fx_ttl, 1};

/* ------------------------------------------------------------ pod leases */
#define K "agent:lock:pl-1"
#define A "pod-a/0123456789abcdef0123456789abcdef"
#define B "pod-b/fedcba9876543210fedcba9876543210"

/* On a fresh schema: a lock holding A's pod lease of ttl ms (its validity
 * asserted within (0, ttl]). */
static arec_lock *fresh_leased(int64_t ttl) {
  fx_reset(NULL);
  arec_lock *a = open_lock();
  int64_t v = 0;
  ck_assert_int_eq(a->pod_lease(a, A, ttl, 0, &v), 0);
  ck_assert_int_gt(v, 0);
  ck_assert_int_le(v, ttl);
  return a;
}

START_TEST(dead_holder_taken_over_after_pod_lease) {
  arec_lock *a = fresh_leased(1000), *b = open_lock();
  int64_t vb = 0;
  ck_assert_int_eq(b->pod_lease(b, B, 1000, 0, &vb), 0);
  arec_lease la, lb;
  ck_assert_int_eq(a->try_acquire(a, K, A, 30000, &la), 1);
  ck_assert_msg(strncmp(la.value, A "/", strlen(A) + 1) == 0, "%s", la.value);
  ck_assert_int_eq(b->try_acquire(b, K, B, 30000, &lb), 0);
  /* kill -9 of a: its sessions end, its pod lease is no longer renewed */
  long long t0 = arec_test_now_ms();
  a->free(a);
  ck_assert_int_eq(b->try_acquire(b, K, B, 30000, &lb), 0); /* not yet */
  int got = 0;
  while (!got && arec_test_now_ms() - t0 < 5000) {
    ck_assert_int_eq(b->pod_lease(b, B, 1000, 0, &vb), 0);
    got = b->try_acquire(b, K, B, 30000, &lb);
    ck_assert_int_ge(got, 0);
    if (!got)
      sleep_ms(50);
  }
  long long took = arec_test_now_ms() - t0;
  ck_assert_msg(got == 1, "not taken over within 5 s");
  ck_assert_msg(took >= 900 && took < 3000, "took over after %lld ms", took);
  ck_assert_int_gt(fx_ttl(NULL, K), 20000); /* b's long agent TTL */
  b->free(b);
}
END_TEST

START_TEST(renewing_holder_kept_across_connection_kill) {
  arec_lock *a = fresh_leased(600), *b = open_lock();
  int64_t v = 0;
  arec_lease la, lb;
  ck_assert_int_eq(a->try_acquire(a, K, A, 30000, &la), 1);
  long long t0 = arec_test_now_ms();
  int killed = 0;
  while (arec_test_now_ms() - t0 < 2000) {
    if (!killed && arec_test_now_ms() - t0 > 500) {
      /* a database-side drop of every liveness session */
      PQclear(sql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE "
                  "locktype = 'advisory' AND classid = 1095910723::oid",
                  0, NULL));
      killed = 1;
    }
    int rc = a->pod_lease(a, A, 600, 0, &v);
    if (rc != 0) /* the dropped connection is seen once; retried at once */
      rc = a->pod_lease(a, A, 600, 0, &v);
    ck_assert_msg(rc == 0, "renew: %s %s", arec_err_name(rc), arec_error_last());
    ck_assert_int_eq(b->try_acquire(b, K, B, 30000, &lb), 0);
    sleep_ms(150);
  }
  ck_assert_int_eq(a->refresh(a, K, &la, 30000), 0);
  /* leaving deletes the pod lease: the agent lease still needs a release */
  ck_assert_int_eq(a->release(a, K, &la), 0);
  ck_assert_int_eq(a->pod_lease(a, A, 0, 1, NULL), 0);
  ck_assert_int_eq(b->try_acquire(b, K, B, 30000, &lb), 1);
  a->free(a);
  b->free(b);
}
END_TEST

/* The backend pid holding A's advisory lock ("" when none does). */
static void liveness_pid(char *out, size_t len) {
  PGresult *r = sql("SELECT pid FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = 1095910723::oid AND granted",
                    0, NULL);
  snprintf(out, len, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
  PQclear(r);
}

/* On a fresh schema: a lock on a pool whose calls give up after 300 ms
 * (the server answers late, never cancels), holding A's pod lease of ttl
 * ms; pid: the backend holding its liveness advisory lock; *blocker:
 * another session holding the pod's row (FOR UPDATE in an open
 * transaction), so that renewals wait on it until end_blocker(). */
static arec_lock *blocked_lease(int64_t ttl, char *pid, size_t len,
                                PGconn **blocker) {
  fx_reset(NULL);
  arec_lock *a = open_lock_timed(300, 10000);
  int64_t v = 0;
  ck_assert_int_eq(a->pod_lease(a, A, ttl, 0, &v), 0);
  liveness_pid(pid, len);
  ck_assert_str_ne(pid, "");
  *blocker = PQconnectdb(g_pg.conninfo);
  ck_assert_int_eq(PQstatus(*blocker), CONNECTION_OK);
  PQclear(PQexec(*blocker, "BEGIN"));
  const char *p[1] = {A};
  PGresult *r = PQexecParams(*blocker,
                             "SELECT 1 FROM lock_pods WHERE holder = $1 "
                             "FOR UPDATE",
                             1, NULL, p, NULL, NULL, 0);
  ck_assert_int_eq(PQntuples(r), 1);
  PQclear(r);
  return a;
}

static void end_blocker(PGconn *blocker) {
  PQclear(PQexec(blocker, "COMMIT"));
  PQfinish(blocker);
}

START_TEST(slow_renewal_keeps_the_liveness_session) {
  char pid[32], now[32];
  PGconn *blocker = NULL;
  arec_lock *a = blocked_lease(5000, pid, sizeof pid, &blocker);
  int64_t v = 0;
  for (int i = 0; i < 2; i++) { /* timed out, then still owed */
    long long t0 = arec_test_now_ms();
    ck_assert_int_eq(a->pod_lease(a, A, 5000, 0, &v), AREC_ETIMEDOUT);
    ck_assert_int_lt(arec_test_now_ms() - t0, 300 + 1000);
    liveness_pid(now, sizeof now);
    ck_assert_str_eq(now, pid); /* the advisory lock never went */
  }
  end_blocker(blocker);
  ck_assert_int_eq(a->pod_lease(a, A, 5000, 0, &v), 0);
  ck_assert_int_gt(v, 0);
  liveness_pid(now, sizeof now);
  ck_assert_str_eq(now, pid);
  ck_assert_int_eq(a->pod_lease(a, A, 0, 1, NULL), 0);
  a->free(a);
}
END_TEST

START_TEST(late_past_the_lease_the_session_goes) {
  char pid[32], now[32];
  PGconn *blocker = NULL;
  arec_lock *a = blocked_lease(700, pid, sizeof pid, &blocker);
  int64_t v = 0;
  ck_assert_int_eq(a->pod_lease(a, A, 700, 0, &v), AREC_ETIMEDOUT);
  sleep_ms(700); /* the lease has run out */
  /* the late session is closed; a new one is tried (and waits too) */
  ck_assert_int_ne(a->pod_lease(a, A, 700, 0, &v), 0);
  long long t0 = arec_test_now_ms();
  do { /* the server ends the old backend asynchronously */
    liveness_pid(now, sizeof now);
    if (strcmp(now, pid) != 0)
      break;
    sleep_ms(20);
  } while (arec_test_now_ms() - t0 < 3000);
  ck_assert_str_ne(now, pid);
  end_blocker(blocker);
  ck_assert_int_eq(a->pod_lease(a, A, 700, 0, &v), 0);
  ck_assert_int_eq(a->pod_lease(a, A, 0, 1, NULL), 0);
  a->free(a);
}
END_TEST

START_TEST(one_holder_one_session) {
  arec_lock *a = fresh_leased(1000), *a2 = open_lock();
  int64_t v = 0;
  ck_assert_int_eq(a2->pod_lease(a2, A, 1000, 0, &v), AREC_ELOST);
  ck_assert_int_eq(a->pod_lease(a, A, 1000, 0, &v), 0);
  ck_assert_int_eq(a->pod_lease(a, NULL, 1000, 0, &v),
                   AREC_EINVAL);
  ck_assert_int_eq(a->pod_lease(a, A, 0, 0, &v), AREC_EINVAL);
  a->free(a);
  /* a's session is gone: a second process of the same holder may take it
   * (once the server has ended a's backend, which it does asynchronously) */
  int rc2 = AREC_ELOST;
  for (int i = 0; i < 40 && rc2 == AREC_ELOST; i++) {
    rc2 = a2->pod_lease(a2, A, 1000, 0, &v);
    if (rc2 == AREC_ELOST)
      sleep_ms(50);
  }
  ck_assert_int_eq(rc2, 0);
  a2->free(a2);
}
END_TEST

int main(void) {
  const TTest *tests[] = {dead_holder_taken_over_after_pod_lease,
      renewing_holder_kept_across_connection_kill,
      slow_renewal_keeps_the_liveness_session,
      late_past_the_lease_the_session_goes, one_holder_one_session, NULL};
  Suite *s = suite_create("pg-lock");
  arec_conf_lock_add(s, &FIXTURE);
  arec_conf_lock_add(s, &PODLEASE_FIXTURE);
  arec_test_cases(s, "pg-pod-lease", 30, tests);
  return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL);
}
