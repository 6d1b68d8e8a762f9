/*
 * test_pg_backoff.c -- failed starts and singleton roles in the PostgreSQL
 * repository against a real PostgreSQL 15, on the database's clock:
 *   - start_failed releases the agent (fence + 1) and sets start_failures,
 *     last_error (500 bytes at most, cut on a UTF-8 boundary, invalid bytes
 *     replaced) and retry_at = now + min(max, min * 2^(n-1)); the agent is
 *     not restored before retry_at and is once it passed; set_trading(1)
 *     ends the wait but keeps the count; start_ok clears (fenced, and
 *     without writing the row when there is nothing to clear); set_error
 *     with a fence or with fence 0 (nobody owns it); fleet counts the
 *     agents in backoff;
 *   - roles: claim / renew by the same holder with the same fence, refused
 *     to another holder while the lease runs, taken over with a new fence
 *     once it expired (the old holder then gets ELOST / EFENCED), release,
 *     and rows written before leases existed (lease_until NULL) are free.
 * Time bounds derive from the backoff and TTL values each test configures.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"

static arec_test_pg g_pg;

static PGresult *sql(const char *q, int n, const char *const *p) {
  return arec_test_pg_exec(&g_pg, q, n, p);
}

static char *val(const char *q) {
  PGresult *r = sql(q, 0, NULL);
  char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
  PQclear(r);
  return v;
}

static long long val_ll(const char *q) {
  char *v = val(q);
  long long x = atoll(v);
  free(v);
  return x;
}

/* Several statements, no parameters. */
static void sql_ok(const char *q) {
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, q, NULL), 0);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static arec_repository *open_repo(void) { return arec_test_repo_new(&g_pg); }

static void add_wanted(arec_repository *r, const char *id) {
  sql_ok("INSERT INTO users (id) VALUES (1) "
         "ON CONFLICT DO NOTHING");
  arec_agent_spec s = AREC_AGENT_SPEC_INIT;
  s.id = id;
  s.user_id = 1;
  s.strategy = "toy";
  s.name = "n";
  char out[AREC_AGENT_ID_MAX + 1];
  ck_assert_int_eq(r->agent_create(r, &s, out, sizeof out), 0);
  ck_assert_int_eq(r->agent_assign(r, id, "BTC/USDT", 10), 0);
  ck_assert_int_eq(r->set_trading(r, id, 1), 0);
}

static size_t restorable(arec_repository *r, const char *id) {
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, id, &l), 0);
  size_t n = l->n;
  arec_agent_list_free(l);
  return n;
}

/* 1 when before + delay <= retry_at <= after + delay (database clock). */
static int retry_between(const char *id, const char *before, const char *after,
                         long long delay_ms) {
  char d[24];
  snprintf(d, sizeof d, "%lld", delay_ms);
  const char *p[4] = {id, before, after, d};
  PGresult *r = sql("SELECT retry_at >= $2::timestamptz + $4::bigint * interval '1 ms' "
                    "AND retry_at <= $3::timestamptz + $4::bigint * interval '1 ms' "
                    "FROM agent_configs WHERE id = $1",
                    4, p);
  int ok = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  return ok;
}

/* ------------------------------------------------------------------ backoff */
#define MIN_MS 300
#define MAX_MS 700

START_TEST(start_failed_backs_off) {
  sql_ok("TRUNCATE agent_configs CASCADE");
  arec_repository *r = open_repo();
  add_wanted(r, "b1");
  uint64_t f = 0;
  unsigned int n = 0;
  long long expect[4] = {MIN_MS, 2 * MIN_MS, MAX_MS, MAX_MS};
  for (int k = 0; k < 4; k++) {
    ck_assert_int_eq(restorable(r, "b1"), 1);
    ck_assert_int_eq(r->claim(r, "pod", "inc", "b1", &f), 0);
    ck_assert_int_eq(r->start_failed(r, "b1", f + 1, "stale", MIN_MS, MAX_MS, &n),
                     AREC_EFENCED);
    char *before = val("SELECT clock_timestamp()");
    long long t_before = arec_test_now_ms();
    ck_assert_int_eq(r->start_failed(r, "b1", f, "exchange down", MIN_MS, MAX_MS, &n), 0);
    char *after = val("SELECT clock_timestamp()");
    ck_assert_uint_eq(n, (unsigned int)k + 1);
    ck_assert_msg(retry_between("b1", before, after, expect[k]),
                  "failure %d: retry_at is not %lld ms after the call", k + 1, expect[k]);
    free(before);
    free(after);
    /* released: fence bumped, nobody owns it */
    arec_agent_record *a = NULL;
    ck_assert_int_eq(r->agent_get(r, "b1", &a), 0);
    ck_assert_uint_eq(a->fence, f + 1);
    ck_assert_ptr_null(a->running_on);
    ck_assert_uint_eq(a->start_failures, n);
    ck_assert_str_eq(a->last_error, "exchange down");
    ck_assert_int_gt(a->retry_at_ms, 0);
    arec_agent_records_free(a, 1);
    /* not restored while it waits, restored once retry_at passed */
    ck_assert_int_eq(restorable(r, "b1"), 0);
    while (restorable(r, "b1") == 0) {
      ck_assert_msg(arec_test_now_ms() - t_before < expect[k] + 2000, "still waiting");
      sleep_ms(20);
    }
    /* (1 ms for the clocks' rounding) */
    ck_assert_int_ge(arec_test_now_ms() - t_before, expect[k] - 1);
  }
  /* the wish ends a wait at once; the count stays */
  ck_assert_int_eq(r->claim(r, "pod", "inc", "b1", &f), 0);
  ck_assert_int_eq(r->start_failed(r, "b1", f, "again", MIN_MS, MAX_MS, &n), 0);
  ck_assert_uint_eq(n, 5);
  ck_assert_int_eq(restorable(r, "b1"), 0);
  ck_assert_int_eq(r->set_trading(r, "b1", 1), 0);
  ck_assert_int_eq(restorable(r, "b1"), 1);
  ck_assert_int_eq(val_ll("SELECT start_failures FROM agent_configs WHERE id = 'b1'"), 5);
  /* fleet counts it */
  add_wanted(r, "b2");
  arec_fleet fl;
  memset(&fl, 0, sizeof fl);
  ck_assert_int_eq(r->fleet(r, &fl), 0);
  ck_assert_uint_eq(fl.wanted, 2);
  ck_assert_uint_eq(fl.backoff, 1);
  arec_fleet_clear(&fl);
  /* start_ok: fenced, clears, and writes nothing when nothing to clear */
  ck_assert_int_eq(r->claim(r, "pod", "inc", "b1", &f), 0);
  ck_assert_int_eq(r->start_ok(r, "b1", f - 1), AREC_EFENCED);
  ck_assert_int_eq(r->start_ok(r, "b1", f), 0);
  char *x = val("SELECT start_failures || ':' || coalesce(last_error, '-') || ':' || "
                "(retry_at IS NULL) FROM agent_configs WHERE id = 'b1'");
  ck_assert_str_eq(x, "0:-:true");
  free(x);
  char *xmin = val("SELECT xmin FROM agent_configs WHERE id = 'b1'");
  ck_assert_int_eq(r->start_ok(r, "b1", f), 0);
  char *xmin2 = val("SELECT xmin FROM agent_configs WHERE id = 'b1'");
  ck_assert_str_eq(xmin, xmin2); /* no new row version */
  free(xmin);
  free(xmin2);
  ck_assert_int_eq(r->start_ok(r, "nope", 1), AREC_ENOTFOUND);
  ck_assert_int_eq(r->start_ok(r, "b1", 0), AREC_EFENCED);
  memset(&fl, 0, sizeof fl);
  ck_assert_int_eq(r->fleet(r, &fl), 0);
  ck_assert_uint_eq(fl.backoff, 0);
  arec_fleet_clear(&fl);
  r->free(r);
}
END_TEST

START_TEST(error_texts_and_set_error) {
  sql_ok("TRUNCATE agent_configs CASCADE");
  arec_repository *r = open_repo();
  add_wanted(r, "e1");
  ck_assert_int_eq(r->heartbeat(r, "pod", "inc", 60000, 0), 0);
  uint64_t f = 0;
  ck_assert_int_eq(r->claim(r, "pod", "inc", "e1", &f), 0);
  /* 300 two-byte characters (600 bytes): 250 kept, 500 bytes */
  char big[700] = "";
  for (int i = 0; i < 300; i++)
    strcat(big, "\xc3\xa9");
  ck_assert_int_eq(r->start_failed(r, "e1", f, big, 10, 10, NULL), 0);
  ck_assert_int_eq(val_ll("SELECT octet_length(last_error) FROM agent_configs WHERE id = 'e1'"), 500);
  ck_assert_int_eq(val_ll("SELECT length(last_error) FROM agent_configs WHERE id = 'e1'"), 250);
  /* an odd cut point does not split a character (a user's start ends the
   * backoff wait, so the next claim is allowed at once) */
  ck_assert_int_eq(r->set_trading(r, "e1", 1), 0);
  ck_assert_int_eq(r->claim(r, "pod", "inc", "e1", &f), 0);
  ck_assert_int_eq(r->start_failed(r, "e1", f, big + 1, 10, 10, NULL), AREC_OK);
  ck_assert_int_le(val_ll("SELECT octet_length(last_error) FROM agent_configs WHERE id = 'e1'"), 500);
  /* invalid UTF-8 and control bytes become '?' */
  ck_assert_int_eq(r->set_trading(r, "e1", 1), 0);
  ck_assert_int_eq(r->claim(r, "pod", "inc", "e1", &f), 0);
  ck_assert_int_eq(r->set_error(r, "e1", f, "bad \xff\xfe byte\x01 ok\tfine"), 0);
  char *e = val("SELECT last_error FROM agent_configs WHERE id = 'e1'");
  ck_assert_str_eq(e, "bad ?? byte? ok\tfine");
  free(e);
  /* fenced */
  ck_assert_int_eq(r->set_error(r, "e1", f + 1, "x"), AREC_EFENCED);
  ck_assert_int_eq(r->set_error(r, "nope", f, "x"), AREC_ENOTFOUND);
  /* fence 0: only while it has no live owner */
  ck_assert_int_eq(r->set_error(r, "e1", 0, "no gpu here"), AREC_EFENCED);
  ck_assert_int_eq(r->release(r, "e1", f), 0);
  ck_assert_int_eq(r->set_error(r, "e1", 0, "no gpu here"), 0);
  ck_assert_int_eq(r->set_error(r, "e1", 0, "no gpu here"), 0); /* same: no write */
  e = val("SELECT last_error FROM agent_configs WHERE id = 'e1'");
  ck_assert_str_eq(e, "no gpu here");
  free(e);
  ck_assert_int_eq(r->set_error(r, "e1", 0, NULL), 0); /* clears */
  e = val("SELECT last_error IS NULL FROM agent_configs WHERE id = 'e1'");
  ck_assert_str_eq(e, "t");
  free(e);
  r->free(r);
}
END_TEST

/* -------------------------------------------------------------------- roles */
#define TTL_MS 1000

START_TEST(roles_lease_on_the_database_clock) {
  sql_ok("TRUNCATE singleton_roles");
  arec_repository *r = open_repo();
  uint64_t f1 = 0, f2 = 0, f = 0;
  ck_assert_int_eq(r->role_claim(r, "bot", "pod-a/1", TTL_MS, &f1), 1);
  ck_assert_uint_eq(f1, 1);
  ck_assert_int_eq(r->role_claim(r, "bot", "pod-a/1", TTL_MS, &f), 1); /* renew */
  ck_assert_uint_eq(f, f1);
  ck_assert_int_eq(r->role_claim(r, "bot", "pod-b/2", TTL_MS, &f2), 0);
  ck_assert_int_eq(r->role_check(r, "bot", "pod-a/1", f1), 0);
  ck_assert_int_eq(r->role_check(r, "bot", "pod-b/2", f1), AREC_EFENCED);
  ck_assert_int_eq(r->role_keep(r, "bot", "pod-a/1", f1, TTL_MS), 0);
  ck_assert_int_eq(r->role_keep(r, "bot", "pod-a/1", f1 + 1, TTL_MS), AREC_ELOST);
  ck_assert_int_eq(r->role_check(r, "nope", "pod-a/1", f1), AREC_EFENCED);
  /* kept alive for longer than one TTL: never taken */
  long long t0 = arec_test_now_ms(), t_keep = 0;
  while (arec_test_now_ms() - t0 < 2 * TTL_MS) {
    t_keep = arec_test_now_ms(); /* the lease runs at least TTL from here */
    ck_assert_int_eq(r->role_keep(r, "bot", "pod-a/1", f1, TTL_MS), 0);
    ck_assert_int_eq(r->role_claim(r, "bot", "pod-b/2", TTL_MS, &f2), 0);
    sleep_ms(TTL_MS / 4);
  }
  /* not kept: after the TTL another holder takes it with a new fence */
  t0 = arec_test_now_ms();
  int got;
  while ((got = r->role_claim(r, "bot", "pod-b/2", TTL_MS, &f2)) == 0) {
    ck_assert_msg(arec_test_now_ms() - t0 < TTL_MS + 1000, "not taken over");
    sleep_ms(20);
  }
  ck_assert_int_eq(got, 1);
  ck_assert_int_ge(arec_test_now_ms() - t_keep, TTL_MS - 1);
  ck_assert_uint_eq(f2, f1 + 1);
  ck_assert_int_eq(r->role_keep(r, "bot", "pod-a/1", f1, TTL_MS), AREC_ELOST);
  ck_assert_int_eq(r->role_check(r, "bot", "pod-a/1", f1), AREC_EFENCED);
  ck_assert_int_eq(r->role_release(r, "bot", "pod-a/1", f1), AREC_ELOST);
  ck_assert_int_eq(r->role_check(r, "bot", "pod-b/2", f2), 0);
  /* release bumps the fence; the role is free at once */
  ck_assert_int_eq(r->role_release(r, "bot", "pod-b/2", f2), 0);
  ck_assert_int_eq(r->role_check(r, "bot", "pod-b/2", f2), AREC_EFENCED);
  ck_assert_int_eq(r->role_keep(r, "bot", "pod-b/2", f2, TTL_MS), AREC_ELOST);
  ck_assert_int_eq(r->role_claim(r, "bot", "pod-a/1", TTL_MS, &f), 1);
  ck_assert_uint_eq(f, f2 + 2);
  /* the same holder after its own lease expired: a new fence */
  sql_ok("UPDATE singleton_roles SET lease_until = "
         "clock_timestamp() - interval '1 ms'");
  uint64_t g = 0;
  ck_assert_int_eq(r->role_claim(r, "bot", "pod-a/1", TTL_MS, &g), 1);
  ck_assert_uint_eq(g, f + 1);
  /* a row from before leases existed (holder set, no lease) is free */
  sql_ok("INSERT INTO singleton_roles (name, fence, holder, "
         "claimed_at) VALUES ('old', 7, 'pod-x', now())");
  ck_assert_int_eq(r->role_check(r, "old", "pod-x", 7), AREC_EFENCED);
  ck_assert_int_eq(r->role_claim(r, "old", "pod-a/1", TTL_MS, &g), 1);
  ck_assert_uint_eq(g, 8);
  ck_assert_int_eq(r->role_claim(r, "", "pod-a/1", TTL_MS, &g), AREC_EINVAL);
  ck_assert_int_eq(r->role_claim(r, "x", "pod-a/1", 0, &g), AREC_EINVAL);
  r->free(r);
}
END_TEST

AREC_TEST_CASE_MAIN("pg-backoff-roles", "pg-backoff-roles", 60,
                    arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
                    start_failed_backs_off, error_texts_and_set_error,
                    roles_lease_on_the_database_clock)
