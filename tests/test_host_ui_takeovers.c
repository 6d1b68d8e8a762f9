/*
 * test_host_ui_takeovers.c -- the takeover recorder (host/takeovers.c) over
 * the host's store on a real PostgreSQL 15 (harness), fed the log lines
 * the library writes (host/log.c's tap contract):
 *   - after=failure lines become one "agent.takeover" event per restore
 *     (actor "pod:<name>", result "after failure", the agent's owner as
 *     user), the per-symbol lines of one restore counted once, a later
 *     restore of the same agent counted again; after=handover lines, lines
 *     without `after` and other messages record nothing;
 *   - events go in batches: 300 lines become 300 rows in order;
 *   - with the database down the tap never waits: a full queue drops and
 *     counts, the drops are logged once per interval, and what was queued
 *     is written once the database is back;
 *   - stopping while the database is down gives up after one attempt and
 *     logs what was lost.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../host/store.h"
#include "../host/takeovers.h"
#include "agentrecover/pg.h"
#include "support/harness.h"
#include "support/runner.h"

#define RESTORED "✅ agent restored successfully"

static arec_test_pg g_pg;
static arec_pg *pg;
static arec_host_store *store;

/* The recorder's own log lines, captured. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[8192];

static void capture(void *ud, arec_log_level level, const char *msg,
                    const arec_log_field *f, size_t n) {
  (void)ud;
  (void)level;
  pthread_mutex_lock(&log_mu);
  size_t k = strlen(logbuf);
  k += (size_t)snprintf(logbuf + k, sizeof logbuf - k, "%s", msg);
  for (size_t i = 0; i < n && k < sizeof logbuf; i++)
    k += (size_t)snprintf(logbuf + k, sizeof logbuf - k, " %s=%s", f[i].key,
                          f[i].value);
  if (k < sizeof logbuf - 1) snprintf(logbuf + k, sizeof logbuf - k, "\n");
  pthread_mutex_unlock(&log_mu);
}

/* How many captured lines contain `needle`. */
static int log_count(const char *needle) {
  int n = 0;
  pthread_mutex_lock(&log_mu);
  for (const char *p = logbuf; (p = strstr(p, needle)) != NULL; p++) n++;
  pthread_mutex_unlock(&log_mu);
  return n;
}

static void setup(void) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.pool_size = 2;
  o.statement_timeout_ms = 2000;
  o.call_timeout_ms = 3000;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  ck_assert_int_eq(arec_host_store_new(&store, pg, NULL, NULL, NULL, NULL), 0);
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "TRUNCATE audit_events", NULL), 0);
  logbuf[0] = 0;
}

static void teardown(void) {
  arec_host_store_free(store);
  arec_pg_free(pg);
}

static arec_host_takeovers *recorder(size_t capacity, size_t batch,
                                     int64_t overflow_ms, int64_t retry_ms) {
  arec_host_takeovers_options o = {.store = store,
                                    .pod = "pod-r",
                                    .capacity = capacity,
                                    .batch_max = batch,
                                    .overflow_log_ms = overflow_ms,
                                    .retry_ms = retry_ms,
                                    .log = capture};
  arec_host_takeovers *t = NULL;
  ck_assert_int_eq(arec_host_takeovers_new(&t, &o), 0);
  return t;
}

/* One line as the library writes it (symbol / after NULL: absent). */
static void line(arec_host_takeovers *t, const char *msg, const char *id,
                 const char *symbol, const char *after) {
  arec_log_field f[3];
  size_t n = 0;
  f[n++] = (arec_log_field){"agent_id", id, AREC_LOG_STRING};
  if (symbol) f[n++] = (arec_log_field){"symbol", symbol, AREC_LOG_STRING};
  if (after) f[n++] = (arec_log_field){"after", after, AREC_LOG_STRING};
  arec_host_takeovers_tap(t, AREC_LOG_INFO, msg, f, n);
}

/* n takeovers after failures, no symbol, of agents prefix00, prefix01 ... */
static void failures(arec_host_takeovers *t, const char *prefix, int n) {
  for (int i = 0; i < n; i++) {
    char id[16];
    snprintf(id, sizeof id, "%s%02d", prefix, i);
    line(t, RESTORED, id, NULL, "failure");
  }
}

/* The recorded events' agent ids in id order, comma-joined (malloc'd). */
static char *recorded(const char *extra_cols) {
  char sql[256], *v = NULL;
  snprintf(sql, sizeof sql,
           "SELECT coalesce(string_agg(agent_id%s, ',' ORDER BY id), '') "
           "FROM audit_events WHERE action = 'agent.takeover'",
           extra_cols);
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, sql, &v), 0);
  v[strcspn(v, "\n")] = 0;
  return v;
}

START_TEST(failures_recorded_once_handovers_never) {
  ck_assert_int_eq(arec_test_pg_sql(
                       &g_pg,
                       "INSERT INTO users (id, name) VALUES (9301, 'r');"
                       "INSERT INTO agent_configs (id, user_id, strategy, "
                       "name) VALUES ('tk-a', 9301, 'noop', 'a')",
                       NULL),
                   0);
  arec_host_takeovers *t = recorder(0, 0, 0, 0);
  /* a restore of tk-a with three symbols after a failure: one event */
  line(t, RESTORED, "tk-a", "BTC/USDT", "failure");
  line(t, RESTORED, "tk-a", "ETH/USDT", "failure");
  line(t, RESTORED, "tk-a", "XRP/USDT", "failure");
  /* handovers, lines without `after`, other messages: nothing */
  line(t, RESTORED, "tk-h", "BTC/USDT", "handover");
  line(t, RESTORED, "tk-h", "ETH/USDT", "handover");
  line(t, RESTORED, "tk-n", "BTC/USDT", NULL);
  line(t, "agent stopped", "tk-s", NULL, "failure");
  line(t, "✅ agent restored", "tk-s", NULL, "failure");
  /* an agent without symbols: one line, one event */
  line(t, RESTORED, "tk-b", NULL, "failure");
  line(t, RESTORED, "tk-b", NULL, "failure"); /* a second restore */
  /* tk-a restored again (its first symbol again): a second event; the
   * same after a handover of another agent in between */
  line(t, RESTORED, "tk-a", "BTC/USDT", "failure");
  line(t, RESTORED, "tk-a", "ETH/USDT", "failure");
  line(t, RESTORED, "tk-c", "ETH/USDT", "failure");
  line(t, RESTORED, "tk-a", "XRP/USDT", "failure");
  ck_assert_int_eq(arec_host_takeovers_flush(t, 10000), 0);
  char *v = recorded("");
  ck_assert_str_eq(v, "tk-a,tk-b,tk-b,tk-a,tk-c,tk-a");
  free(v);
  ck_assert_int_eq(arec_test_pg_sql(&g_pg,
                                    "SELECT actor || '|' || result || '|' || "
                                    "coalesce(user_id::text, '-') FROM "
                                    "audit_events ORDER BY id LIMIT 2",
                                    &v),
                   0);
  ck_assert_str_eq(v, "pod:pod-r|after failure|9301\n"
                      "pod:pod-r|after failure|-\n");
  free(v);
  arec_host_takeovers_stats s;
  arec_host_takeovers_stats_get(t, &s);
  ck_assert_uint_eq(s.queued, 6);
  ck_assert_uint_eq(s.recorded, 6);
  ck_assert_uint_eq(s.dropped, 0);
  arec_host_takeovers_free(t);
  ck_assert_int_eq(log_count("takeover"), 0);
}
END_TEST

START_TEST(batches_keep_order) {
  arec_host_takeovers *t = recorder(512, 16, 0, 0);
  char want[300 * 8] = "";
  for (int i = 0; i < 300; i++) {
    char id[16];
    snprintf(id, sizeof id, "b%03d", i);
    line(t, RESTORED, id, "BTC/USDT", "failure");
    snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s",
             i ? "," : "", id);
  }
  ck_assert_int_eq(arec_host_takeovers_flush(t, 20000), 0);
  char *v = recorded("");
  ck_assert_str_eq(v, want);
  free(v);
  arec_host_takeovers_free(t);
}
END_TEST

START_TEST(database_down_tap_never_waits) {
  /* capacity 4, batches of 2: at most 6 events held; drops logged at most
   * once a minute; a failed batch retried every 50 ms */
  arec_host_takeovers *t = recorder(4, 2, 60000, 50);
  ck_assert_int_eq(arec_test_pg_halt(&g_pg), 0);
  failures(t, "d", 20); /* returns: never waits */
  arec_host_takeovers_stats s;
  arec_host_takeovers_stats_get(t, &s);
  ck_assert_uint_eq(s.queued + s.dropped, 20);
  ck_assert_uint_ge(s.dropped, 14);
  /* the drops are logged once the drainer comes round (after a failed
   * attempt and its retry wait), then not again within the interval */
  long long deadline = arec_test_now_ms() + 15000;
  while (log_count("takeover events dropped") == 0 &&
         arec_test_now_ms() < deadline) {
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  ck_assert_int_eq(log_count("takeover events dropped"), 1);
  ck_assert_int_ge(log_count("cannot record takeover events, retrying"), 1);
  for (int i = 0; i < 5; i++) line(t, RESTORED, "d-more", NULL, "failure");
  arec_host_takeovers_stats_get(t, &s);
  uint64_t failures = s.failures;
  deadline = arec_test_now_ms() + 15000;
  while (s.failures < failures + 3 && arec_test_now_ms() < deadline) {
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    arec_host_takeovers_stats_get(t, &s);
  }
  ck_assert_uint_ge(s.failures, failures + 3); /* three more rounds */
  ck_assert_int_eq(log_count("takeover events dropped"), 1);
  /* the database back: everything queued is written */
  ck_assert_int_eq(arec_test_pg_resume(&g_pg), 0);
  ck_assert_int_eq(arec_host_takeovers_flush(t, 20000), 0);
  arec_host_takeovers_stats_get(t, &s);
  ck_assert_uint_eq(s.recorded, s.queued);
  ck_assert_uint_eq(s.lost, 0);
  char *v = NULL;
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "SELECT count(*) FROM "
                                    "audit_events", &v), 0);
  ck_assert_int_eq(atoi(v), (int)s.recorded);
  free(v);
  arec_host_takeovers_free(t);
  /* the drops since the one line are told at the stop */
  ck_assert_int_eq(log_count("takeover events dropped"), 2);
  char total[48];
  snprintf(total, sizeof total, "dropped_total=%llu\n",
           (unsigned long long)s.dropped);
  ck_assert_uint_eq(s.queued + s.dropped, 25);
  ck_assert_int_eq(log_count(total), 1);
}
END_TEST

START_TEST(stop_while_down_gives_up_once) {
  arec_host_takeovers *t = recorder(64, 4, 0, 60000);
  ck_assert_int_eq(arec_test_pg_halt(&g_pg), 0);
  failures(t, "s", 10);
  ck_assert_int_eq(arec_host_takeovers_flush(t, 200), AREC_ETIMEDOUT);
  /* the drainer is in its retry wait (a minute): the stop ends it, one
   * more attempt fails, the rest is given up */
  arec_host_takeovers_free(t);
  ck_assert_int_eq(log_count("takeover events lost"), 1);
  ck_assert_int_eq(log_count("events=10"), 1);
  ck_assert_int_eq(arec_test_pg_resume(&g_pg), 0);
}
END_TEST

int main(void) {
  const TTest *tests[] = {failures_recorded_once_handovers_never,
      batches_keep_order, database_down_tap_never_waits,
      stop_while_down_gives_up_once, NULL};
  Suite *s = suite_create("host_ui_takeovers");
  TCase *tc = arec_test_cases(s, "recorder", 60, tests);
  tcase_add_checked_fixture(tc, setup, teardown);
  return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL);
}
