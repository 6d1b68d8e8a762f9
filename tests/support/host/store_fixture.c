/*
 * store_fixture.c -- the host data layer's test fixture (store_fixture.h).
 *
 * How: one PostgreSQL of the binary (g_pg, started by its main), pools
 * with a log sink that keeps every line (JSON) in a buffer under a mutex,
 * so that a test can search it for secrets; fresh databases migrated by
 * the harness for tests that must see only their own rows.
 *
 * Never: print a captured line unless HOST_TEST_LOG is set, or share a
 * pool between tests (each test is a forked child).
 */
#include "store_fixture.h"

#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

arec_test_pg g_pg;

/* ------------------------------------------------------------ log sink */
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log[1 << 18];
static size_t g_log_n;

void sink(void *ud, arec_log_level level, const char *msg,
          const arec_log_field *f, size_t n) {
  (void)ud;
  char line[2048];
  size_t len = arec_log_format(line, sizeof line, 1, level, msg, f, n);
  if (len >= sizeof line)
    len = sizeof line - 1;
  pthread_mutex_lock(&g_log_mu);
  if (g_log_n + len < sizeof g_log) {
    memcpy(g_log + g_log_n, line, len);
    g_log_n += len;
    g_log[g_log_n] = 0;
  }
  pthread_mutex_unlock(&g_log_mu);
  if (getenv("HOST_TEST_LOG"))
    fputs(line, stderr);
}

int logged(const char *s) {
  pthread_mutex_lock(&g_log_mu);
  int r = strstr(g_log, s) != NULL;
  pthread_mutex_unlock(&g_log_mu);
  return r;
}

/* Where the capture is now (for counts of what a test logged itself). */
size_t log_mark(void) {
  pthread_mutex_lock(&g_log_mu);
  size_t n = g_log_n;
  pthread_mutex_unlock(&g_log_mu);
  return n;
}

/* How often `s` was logged since `mark`. */
int logged_count(size_t mark, const char *s) {
  int n = 0;
  pthread_mutex_lock(&g_log_mu);
  for (const char *p = g_log + mark; (p = strstr(p, s)); p++)
    n++;
  pthread_mutex_unlock(&g_log_mu);
  return n;
}

/* ------------------------------------------------------------------ SQL */
void sql(const char *q) {
  ck_assert_msg(arec_test_pg_sql(&g_pg, q, NULL) == 0, "%s", q);
}

long long sql_ll(const char *q) {
  char *out = NULL;
  ck_assert_msg(arec_test_pg_sql(&g_pg, q, &out) == 0, "%s", q);
  long long v = atoll(out ? out : "0");
  free(out);
  return v;
}

long long count(arec_pg *pg, const char *q) {
  arec_pg_result *r = NULL;
  ck_assert_int_eq(arec_pg_query(pg, &r, q, 0, NULL, NULL, NULL), 0);
  long long v = atoll(arec_pg_result_value(r, 0, 0));
  arec_pg_result_free(r);
  return v;
}

arec_pg *open_conninfo(const char *ci) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  o.pool_size = 4;
  o.call_timeout_ms = 3000;
  o.log = sink;
  arec_pg *pg = NULL;
  int e = arec_pg_new(&pg, &o);
  ck_assert_msg(e == 0, "arec_pg_new: %s", arec_error_last());
  return pg;
}

/* A pool on the shared database. */
arec_pg *open_pg(void) { return open_conninfo(g_pg.conninfo); }

/* A pool on a fresh database `db`, migrated as a deployment is (library
 * and host, or the library only), for tests that must see only their own
 * rows. */
arec_pg *open_db(const char *db, int host) {
  char q[128], ci[600];
  snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s", db);
  sql(q);
  snprintf(q, sizeof q, "CREATE DATABASE %s", db);
  sql(q);
  ck_assert_int_eq(arec_test_pg_migrate(&g_pg, db, host), 0);
  arec_test_pg_conninfo(&g_pg, db, ci, sizeof ci);
  return open_conninfo(ci);
}

/* ---------------------------------------------------------------- store */
arec_host_store *open_store(arec_pg *pg,
                            const unsigned char *key,
                            const unsigned char *prev) {
  arec_host_store *s = NULL;
  ck_assert_int_eq(arec_host_store_new(&s, pg, key, prev, sink, NULL), 0);
  return s;
}

void user(arec_host_store *s, long long id) {
  ck_assert_int_eq(arec_host_store_user_upsert(s, id, "someone"), 0);
}

long long account(arec_host_store *s, long long uid,
                  const char *key, const char *secret,
                  int testnet) {
  long long id = 0;
  int rc = arec_host_store_exchange_create(s, uid, "binance", key, secret,
                                           testnet, &id);
  ck_assert_msg(rc == 0, "create: %s", arec_error_last());
  ck_assert_int_gt(id, 0);
  return id;
}

void pair(arec_host_store *s, long long uid, long long ex,
          const char *symbol) {
  long long id = 0;
  ck_assert_int_eq(arec_host_store_pair_create(s, uid, ex, symbol, &id, NULL),
                   0);
}

/* ------------------------------------------------------------- secrets */
void no_secret(void) {
  static const char *const secrets[] = {SECRET_KEY, SECRET_VAL, "s3cr3t",
                                        "0123456789abcdef", "fedcba98",
                                        "a wrong key"};
  for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
    ck_assert_msg(!strstr(arec_error_last(), secrets[i]), "error: %s",
                  arec_error_last());
    ck_assert_msg(!logged(secrets[i]), "logged: %s", secrets[i]);
  }
}

void no_secret_then_free(arec_pg *pg, ...) {
  no_secret();
  va_list ap;
  va_start(ap, pg);
  for (arec_host_store *s; (s = va_arg(ap, arec_host_store *)) != NULL;)
    arec_host_store_free(s);
  va_end(ap);
  arec_pg_free(pg);
}

void expect_account(arec_host_store *s, long long uid, const char *symbol,
                    long long ex) {
  arec_host_account a;
  int rc = arec_host_store_account(s, uid, symbol, &a);
  ck_assert_msg(rc == 0, "account %lld %s: %s", uid, symbol,
                arec_error_last());
  ck_assert_int_eq(a.exchange_id, ex);
  ck_assert_str_eq(a.exchange, "binance");
  ck_assert_str_eq(a.api_key, SECRET_KEY);
  ck_assert_str_eq(a.api_secret, SECRET_VAL);
  arec_host_account_clear(&a);
  ck_assert_ptr_null(a.api_key);
}
