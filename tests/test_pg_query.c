/*
 * test_pg_query.c -- the query interface of agentrecover/pg.h against a
 * real PostgreSQL 15: statements with text and binary parameters and the
 * result accessors; SQLSTATEs mapped as pg.h documents, with an error text
 * that names the SQLSTATE but never a parameter value (the server's message
 * goes to the log sink); the server's statement timeout (ECONFLICT through
 * the query interface, ETIMEDOUT through the repository, never an answer),
 * the client-side deadline (ETIMEDOUT, the connection replaced);
 * transactions (commit, rollback on a negative return or a failed
 * statement, nothing left open); check_session on a direct connection; the
 * application_name.
 */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"
#include "support/runner.h"

static arec_test_pg g_pg;

/* ------------------------------------------------------------------ sink */
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log[8192];

static void sink(void *ud, arec_log_level level, const char *msg,
                 const arec_log_field *f, size_t n) {
  (void)ud;
  pthread_mutex_lock(&g_log_mu);
  size_t len = strlen(g_log);
  len += (size_t)snprintf(g_log + len, sizeof g_log - len, "%s %s",
                          arec_log_level_name(level), msg);
  for (size_t i = 0; i < n && len < sizeof g_log; i++)
    len += (size_t)snprintf(g_log + len, sizeof g_log - len, " %s=%s", f[i].key,
                            f[i].value);
  if (len < sizeof g_log - 1) {
    g_log[len++] = '\n';
    g_log[len] = 0;
  }
  pthread_mutex_unlock(&g_log_mu);
}

static arec_pg *open_pg(unsigned int pool, int64_t call_ms, int64_t stmt_ms,
                        const char *app) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.pool_size = pool;
  o.call_timeout_ms = call_ms;
  o.statement_timeout_ms = stmt_ms;
  o.application_name = app;
  o.log = sink;
  arec_pg *pg = NULL;
  int e = arec_pg_new(&pg, &o);
  ck_assert_msg(e == 0, "arec_pg_new: %s %s", arec_err_name(e), arec_error_last());
  return pg;
}

/* A direct libpq connection (a second client). */
static PGconn *direct(void) {
  PGconn *c = PQconnectdb(g_pg.conninfo);
  ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
  return c;
}

static void exec_ok(PGconn *c, const char *sql) {
  PGresult *r = PQexec(c, sql);
  ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
                    PQresultStatus(r) == PGRES_TUPLES_OK,
                "%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
}

static void setup_tables(void) {
  ck_assert_int_eq(
      arec_test_pg_sql(&g_pg,
                       "DROP TABLE IF EXISTS q_child, q_items; "
                       "CREATE TABLE q_items (id bigint PRIMARY KEY, "
                       "  name text NOT NULL CHECK (name <> ''), blob bytea, "
                       "  note text); "
                       "CREATE TABLE q_child (id bigint PRIMARY KEY, "
                       "  item bigint NOT NULL REFERENCES q_items (id))",
                       NULL),
      0);
}

/* ------------------------------------------------------------- statements */
START_TEST(statements_and_results) {
  setup_tables();
  arec_pg *pg = open_pg(2, 5000, 0, NULL);
  const char *v[3] = {"1", "first", "\x01\x00\xff"};
  int len[3] = {0, 0, 3}, bin[3] = {0, 0, 1};
  arec_pg_result *r = NULL;
  ck_assert_int_eq(arec_pg_query(pg, &r, "INSERT INTO q_items (id, name, blob) "
                                         "VALUES ($1, $2, $3)",
                                 3, v, len, bin),
                   0);
  ck_assert_uint_eq(arec_pg_result_changed(r), 1);
  ck_assert_uint_eq(arec_pg_result_rows(r), 0);
  arec_pg_result_free(r);
  const char *v2[2] = {"2", "second"};
  ck_assert_int_eq(arec_pg_query(pg, NULL, "INSERT INTO q_items (id, name) "
                                           "VALUES ($1, $2)",
                                 2, v2, NULL, NULL),
                   0);
  ck_assert_int_eq(arec_pg_query(pg, &r, "SELECT id, name, blob, note, "
                                         "length(blob) FROM q_items ORDER BY id",
                                 0, NULL, NULL, NULL),
                   0);
  ck_assert_uint_eq(arec_pg_result_rows(r), 2);
  ck_assert_str_eq(arec_pg_result_value(r, 0, 0), "1");
  ck_assert_str_eq(arec_pg_result_value(r, 0, 1), "first");
  ck_assert_str_eq(arec_pg_result_value(r, 0, 2), "\\x0100ff"); /* text form */
  ck_assert_str_eq(arec_pg_result_value(r, 0, 4), "3");
  ck_assert_uint_eq(arec_pg_result_length(r, 0, 1), 5);
  ck_assert_ptr_null(arec_pg_result_value(r, 0, 3)); /* SQL NULL */
  ck_assert_ptr_null(arec_pg_result_value(r, 1, 2));
  ck_assert_ptr_null(arec_pg_result_value(r, 2, 0)); /* out of range */
  ck_assert_ptr_null(arec_pg_result_value(r, 0, 5));
  ck_assert_uint_eq(arec_pg_result_length(r, 9, 9), 0);
  ck_assert_uint_eq(arec_pg_result_changed(r), 2); /* SELECT 2 */
  arec_pg_result_free(r);
  ck_assert_int_eq(arec_pg_query(pg, &r, "UPDATE q_items SET note = 'x'", 0,
                                 NULL, NULL, NULL),
                   0);
  ck_assert_uint_eq(arec_pg_result_changed(r), 2);
  arec_pg_result_free(r);
  arec_pg_result_free(NULL);
  ck_assert_uint_eq(arec_pg_result_rows(NULL), 0);
  /* one statement per call: a second one is refused by the server */
  ck_assert_int_eq(arec_pg_query(pg, NULL, "SELECT 1; SELECT 2", 0, NULL, NULL,
                                 NULL),
                   AREC_EBACKEND);
  /* bad arguments */
  ck_assert_int_eq(arec_pg_query(pg, NULL, NULL, 0, NULL, NULL, NULL), AREC_EINVAL);
  ck_assert_int_eq(arec_pg_query(pg, NULL, "SELECT $1", 1, NULL, NULL, NULL),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_pg_query(pg, NULL, "SELECT $1::bytea", 1, v + 2, NULL, bin + 2),
                   AREC_EINVAL);
  arec_pg_free(pg);
}
END_TEST

START_TEST(sqlstates_mapped_without_values) {
  setup_tables();
  arec_pg *pg = open_pg(2, 5000, 0, NULL);
  const char *v[2] = {"7", "secret-value-123"};
  ck_assert_int_eq(arec_pg_query(pg, NULL, "INSERT INTO q_items (id, name) VALUES ($1, $2)",
                                 2, v, NULL, NULL),
                   0);
  g_log[0] = 0;
  /* unique violation */
  ck_assert_int_eq(arec_pg_query(pg, NULL, "INSERT INTO q_items (id, name) VALUES ($1, $2)",
                                 2, v, NULL, NULL),
                   AREC_EEXIST);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "23505"));
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "q_items_pkey"));
  ck_assert_ptr_null(strstr(arec_error_last(), "secret-value"));
  ck_assert_ptr_null(strstr(arec_error_last(), "duplicate key")); /* not the server's text */
  /* the server's message went to the sink, at DEBUG, without its DETAIL */
  ck_assert_ptr_nonnull(strstr(g_log, "DEBUG postgres statement failed sqlstate=23505"));
  ck_assert_ptr_nonnull(strstr(g_log, "duplicate key"));
  ck_assert_ptr_null(strstr(g_log, "secret-value"));
  /* foreign key violation */
  const char *c[2] = {"1", "999"};
  ck_assert_int_eq(arec_pg_query(pg, NULL, "INSERT INTO q_child VALUES ($1, $2)", 2, c,
                                 NULL, NULL),
                   AREC_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "23503"));
  /* check violation, not-null, data exception */
  const char *e[2] = {"8", ""};
  ck_assert_int_eq(arec_pg_query(pg, NULL, "INSERT INTO q_items (id, name) VALUES ($1, $2)",
                                 2, e, NULL, NULL),
                   AREC_EINVAL);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "23514"));
  const char *bad[1] = {"not-a-number-secret"};
  ck_assert_int_eq(arec_pg_query(pg, NULL, "SELECT $1::bigint", 1, bad, NULL, NULL),
                   AREC_EINVAL);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "22P02"));
  ck_assert_ptr_null(strstr(arec_error_last(), "not-a-number"));
  /* any other server error */
  g_log[0] = 0;
  ck_assert_int_eq(arec_pg_query(pg, NULL, "SELECT * FROM q_nowhere", 0, NULL, NULL, NULL),
                   AREC_EBACKEND);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "42P01"));
  ck_assert_ptr_nonnull(strstr(g_log, "WARN postgres statement failed sqlstate=42P01"));
  /* lock timeout: ECONFLICT (another client holds the row) */
  arec_pg_free(pg);
  /* (one pooled connection, so the SET below holds for the next call) */
  pg = open_pg(1, 5000, 0, NULL);
  PGconn *d = direct();
  exec_ok(d, "BEGIN");
  exec_ok(d, "SELECT * FROM q_items WHERE id = 7 FOR UPDATE");
  ck_assert_int_eq(arec_pg_query(pg, NULL, "SET lock_timeout = 100", 0, NULL, NULL, NULL), 0);
  int rc = arec_pg_query(pg, NULL, "UPDATE q_items SET note = 'y' WHERE id = 7", 0, NULL,
                         NULL, NULL);
  ck_assert_msg(rc == AREC_ECONFLICT, "%s %s", arec_err_name(rc), arec_error_last());
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "55P03"));
  exec_ok(d, "ROLLBACK");
  PQfinish(d);
  arec_pg_free(pg);
}
END_TEST

/* ---------------------------------------------------------------- timeouts */
START_TEST(statement_timeout_and_deadline) {
  setup_tables();
  /* the server's statement_timeout (300 ms) below the call deadline (5 s):
   * ECONFLICT, the connection stays usable */
  arec_pg *pg = open_pg(1, 5000, 300, NULL);
  arec_pg_result *r = NULL;
  ck_assert_int_eq(arec_pg_query(pg, &r, "SHOW statement_timeout", 0, NULL, NULL, NULL), 0);
  ck_assert_str_eq(arec_pg_result_value(r, 0, 0), "300ms");
  arec_pg_result_free(r);
  /* and no JIT: big batches must not pay for compiling their plans */
  ck_assert_int_eq(arec_pg_query(pg, &r, "SHOW jit", 0, NULL, NULL, NULL), 0);
  ck_assert_str_eq(arec_pg_result_value(r, 0, 0), "off");
  arec_pg_result_free(r);
  /* nor parallel workers: a pass's count must not take three processes */
  ck_assert_int_eq(arec_pg_query(pg, &r, "SHOW max_parallel_workers_per_gather",
                                 0, NULL, NULL, NULL), 0);
  ck_assert_str_eq(arec_pg_result_value(r, 0, 0), "0");
  arec_pg_result_free(r);
  long long t0 = arec_test_now_ms();
  int rc = arec_pg_query(pg, NULL, "SELECT pg_sleep(2)", 0, NULL, NULL, NULL);
  long long ms = arec_test_now_ms() - t0;
  ck_assert_msg(rc == AREC_ECONFLICT, "%s", arec_err_name(rc));
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "57014"));
  ck_assert_int_lt(ms, 2000);
  ck_assert_int_eq(arec_pg_query(pg, &r, "SELECT pg_backend_pid()", 0, NULL, NULL, NULL), 0);
  arec_pg_result_free(r);
  /* through the repository the same condition is a transport failure
   * (ETIMEDOUT), never an answer: a claim blocked by another client's row
   * lock until the statement timeout */
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "TRUNCATE agent_configs CASCADE; "
                                           "INSERT INTO users (id) VALUES (1) ON CONFLICT DO NOTHING; "
                                           "INSERT INTO agent_configs (id, user_id, strategy, "
                                           "name, is_trading) VALUES ('t1', 1, 's', 'n', true); "
                                           "INSERT INTO agent_symbol_assignments VALUES "
                                           "('t1', 'BTC/USDT', 1)",
                                   NULL),
                   0);
  PGconn *d = direct();
  exec_ok(d, "BEGIN");
  exec_ok(d, "SELECT * FROM agent_configs WHERE id = 't1' FOR UPDATE");
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  uint64_t f = 0;
  rc = repo->claim(repo, "pod", "inc", "t1", &f);
  ck_assert_msg(rc == AREC_ETIMEDOUT, "claim: %s", arec_err_name(rc));
  exec_ok(d, "ROLLBACK");
  PQfinish(d);
  ck_assert_int_eq(repo->claim(repo, "pod", "inc", "t1", &f), 0);
  repo->free(repo);
  arec_pg_free(pg);
  /* the client deadline (300 ms) below the server's timeout: ETIMEDOUT
   * within the deadline, the connection dropped and replaced */
  pg = open_pg(1, 300, 10000, NULL);
  t0 = arec_test_now_ms();
  rc = arec_pg_query(pg, NULL, "SELECT pg_sleep(3)", 0, NULL, NULL, NULL);
  ms = arec_test_now_ms() - t0;
  ck_assert_msg(rc == AREC_ETIMEDOUT, "%s", arec_err_name(rc));
  ck_assert_int_ge(ms, 250);
  ck_assert_int_lt(ms, 1500);
  ck_assert_int_eq(arec_pg_query(pg, NULL, "SELECT 1", 0, NULL, NULL, NULL), 0);
  arec_pg_free(pg);
}
END_TEST

/* ------------------------------------------------------------ transactions */
typedef struct tx_case {
  int mode; /* 0 commit, 1 negative return, 2 failed statement ignored */
  int second_rc;
  arec_pg *other;
  size_t seen_outside;
} tx_case;

static int tx_fn(arec_pg_tx *tx, void *ud) {
  tx_case *c = ud;
  const char *a[2] = {"100", "in-tx"};
  if (arec_pg_tx_query(tx, NULL, "INSERT INTO q_items (id, name) VALUES ($1, $2)", 2,
                       a, NULL, NULL))
    return -100;
  arec_pg_result *r = NULL;
  if (arec_pg_tx_query(tx, &r, "SELECT count(*) FROM q_items WHERE id = 100", 0, NULL,
                       NULL, NULL))
    return -101;
  int inside = !strcmp(arec_pg_result_value(r, 0, 0), "1");
  arec_pg_result_free(r);
  if (!inside)
    return -102;
  /* another connection does not see it before the commit */
  if (arec_pg_query(c->other, &r, "SELECT count(*) FROM q_items WHERE id = 100", 0,
                    NULL, NULL, NULL) == 0) {
    c->seen_outside = strcmp(arec_pg_result_value(r, 0, 0), "0") ? 1 : 0;
    arec_pg_result_free(r);
  }
  if (c->mode == 1)
    return AREC_ECONFLICT;
  if (c->mode == 2) {
    arec_pg_tx_query(tx, NULL, "INSERT INTO q_items (id, name) VALUES ($1, $2)", 2, a,
                     NULL, NULL); /* duplicate: fails, ignored by fn */
    c->second_rc = arec_pg_tx_query(tx, NULL, "SELECT 1", 0, NULL, NULL, NULL);
  }
  return 0;
}

static char *count_100(void) {
  char *out = NULL;
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "SELECT count(*) FROM q_items WHERE id = 100",
                                    &out),
                   0);
  out[strcspn(out, "\n")] = 0;
  return out;
}

START_TEST(transactions) {
  setup_tables();
  arec_pg *pg = open_pg(1, 5000, 0, NULL), *other = open_pg(1, 5000, 0, NULL);
  tx_case c = {1, 0, other, 0};
  /* a negative return rolls back and is returned */
  ck_assert_int_eq(arec_pg_transaction(pg, tx_fn, &c), AREC_ECONFLICT);
  char *n = count_100();
  ck_assert_str_eq(n, "0");
  free(n);
  /* a failed statement rolls back even when fn returns 0; later statements
   * of the transaction are not sent */
  c.mode = 2;
  ck_assert_int_eq(arec_pg_transaction(pg, tx_fn, &c), AREC_EEXIST);
  ck_assert_int_eq(c.second_rc, AREC_EEXIST);
  n = count_100();
  ck_assert_str_eq(n, "0");
  free(n);
  /* the one connection of the pool is not left inside a transaction: a
   * savepoint is refused outside of one */
  ck_assert_int_eq(arec_pg_query(pg, NULL, "SAVEPOINT s", 0, NULL, NULL, NULL),
                   AREC_EBACKEND);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "25P01"));
  /* commit */
  c.mode = 0;
  c.seen_outside = 9;
  ck_assert_int_eq(arec_pg_transaction(pg, tx_fn, &c), 0);
  ck_assert_uint_eq(c.seen_outside, 0);
  n = count_100();
  ck_assert_str_eq(n, "1");
  free(n);
  ck_assert_int_eq(arec_pg_transaction(pg, NULL, NULL), AREC_EINVAL);
  arec_pg_free(pg);
  arec_pg_free(other);
}
END_TEST

/* --------------------------------------------------------------- sessions */
START_TEST(check_session_and_application_name) {
  arec_pg *pg = open_pg(2, 5000, 0, NULL);
  int rc = arec_pg_check_session(pg);
  ck_assert_msg(rc == 0, "%s %s", arec_err_name(rc), arec_error_last());
  arec_pg_result *r = NULL;
  ck_assert_int_eq(arec_pg_query(pg, &r, "SHOW application_name", 0, NULL, NULL, NULL), 0);
  ck_assert_str_eq(arec_pg_result_value(r, 0, 0), "agentrecover");
  arec_pg_result_free(r);
  arec_pg_free(pg);
  pg = open_pg(1, 5000, 0, "my-admin");
  ck_assert_int_eq(arec_pg_check_session(pg), AREC_EINVAL); /* pool of 1 */
  ck_assert_int_eq(arec_pg_query(pg, &r, "SELECT count(*) FROM pg_stat_activity "
                                         "WHERE application_name = 'my-admin'",
                                 0, NULL, NULL, NULL),
                   0);
  ck_assert_str_eq(arec_pg_result_value(r, 0, 0), "1");
  arec_pg_result_free(r);
  arec_pg_free(pg);
  /* a conninfo's own application_name wins over the default only */
  char ci[600];
  snprintf(ci, sizeof ci, "%s application_name=from-conninfo", g_pg.conninfo);
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  ck_assert_int_eq(arec_pg_query(pg, &r, "SHOW application_name", 0, NULL, NULL, NULL), 0);
  ck_assert_str_eq(arec_pg_result_value(r, 0, 0), "from-conninfo");
  arec_pg_result_free(r);
  arec_pg_free(pg);
  o.version = 1;
  ck_assert_int_eq(arec_pg_new(&pg, &o), AREC_EVERSION);
}
END_TEST

AREC_TEST_CASE_MAIN("pg-query", "query", 60,
                    arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
                    statements_and_results, sqlstates_mapped_without_values,
                    statement_timeout_and_deadline, transactions,
                    check_session_and_application_name)
