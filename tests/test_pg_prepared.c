/*
 * test_pg_prepared.c -- the prepared statements of the PostgreSQL backend
 * (lib/pg/prepared.c) against a real PostgreSQL 15, on a pool of one
 * connection so the test sees the same session:
 *
 * - the admin reads (agent_get, list pages with symbols) run as prepared
 *   statements, prepared once per connection and answering like before
 *   (updated_at of an agent is its latest symbol's accepted save);
 * - a schema change that alters a prepared statement's result (the plan
 *   goes stale: SQLSTATE 0A000) costs nothing: the read still answers,
 *   and the text is prepared again afterwards;
 * - a connection keeps at most AREC__PG_PREP_MAX statements; texts past
 *   that run unprepared, with the same answers;
 * - a dropped connection forgets them (a new session prepares again);
 * - a name the session holds already (prepared by another process that
 *   shares it) is never trusted: the call runs unprepared and answers
 *   right, the next one prepares under a new name;
 * - children forked after the parent used the pool, one after another,
 *   each prepare and read on the shared session without a conflict.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "pg/pg_internal.h"
#include "support/harness.h"

static arec_test_pg g_pg;

static arec_pg *open_pg(void) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.pool_size = 1;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  return pg;
}

/* How many statements the (one) session of pg has prepared. */
static long long prepared_count(arec_pg *pg) {
  arec_pg_result *r = NULL;
  ck_assert_int_eq(arec_pg_query(pg, &r,
                                 "SELECT count(*) FROM pg_prepared_statements",
                                 0, NULL, NULL, NULL), 0);
  long long n = atoll(arec_pg_result_value(r, 0, 0));
  arec_pg_result_free(r);
  return n;
}

static void make_agents(arec_repository *repo, int n) {
  for (int i = 0; i < n; i++) {
    char id[32], out[AREC_AGENT_ID_MAX + 1];
    snprintf(id, sizeof id, "prep-%02d", i);
    arec_agent_spec sp = AREC_AGENT_SPEC_INIT;
    sp.id = id;
    sp.user_id = 7;
    sp.strategy = "toy";
    sp.name = "n";
    ck_assert_int_eq(arec_agent_create(repo, &sp, out, sizeof out), 0);
    ck_assert_int_eq(arec_agent_assign(repo, id, "BTC/USDT", 10), 0);
    ck_assert_int_eq(arec_agent_assign(repo, id, "ETH/USDT", 20), 0);
  }
}

START_TEST(admin_reads_are_prepared_once) {
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "TRUNCATE agent_configs CASCADE; "
                                           "INSERT INTO users (id) VALUES (7) "
                                           "ON CONFLICT DO NOTHING", NULL), 0);
  arec_pg *pg = open_pg();
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  make_agents(repo, 5);
  /* one accepted save of one symbol: the agent's updated_at is its time */
  ck_assert_int_eq(arec_test_pg_sql(&g_pg,
                                    "UPDATE agent_states SET fence = 1, "
                                    "updated_at = '2030-01-02 03:04:05+00' "
                                    "WHERE agent_id = 'prep-01' AND symbol = "
                                    "'ETH/USDT'", NULL), 0);
  long long before = prepared_count(pg);
  for (int round = 0; round < 3; round++) {
    arec_agent_record *a = NULL;
    ck_assert_int_eq(arec_agent_get(repo, "prep-01", &a), 0);
    ck_assert_str_eq(a->id, "prep-01");
    ck_assert_uint_eq(a->nsymbols, 2);
    ck_assert_str_eq(a->symbols[0].symbol, "BTC/USDT");
    ck_assert_str_eq(a->symbols[1].symbol, "ETH/USDT");
    ck_assert_int_eq(a->symbols[0].updated_at_ms, 0);
    ck_assert_int_eq(a->updated_at_ms, 1893553445000LL);
    ck_assert_int_eq(a->updated_at_ms, a->symbols[1].updated_at_ms);
    arec_agent_records_free(a, 1);
    ck_assert_int_eq(arec_agent_get(repo, "prep-77", &a), AREC_ENOTFOUND);

    arec_agent_filter f = AREC_AGENT_FILTER_INIT;
    f.limit = 2;
    f.after = "prep-00";
    f.with_symbols = 1;
    arec_agent_record *list = NULL;
    size_t n = 0;
    ck_assert_int_eq(arec_agent_list(repo, &f, &list, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].id, "prep-01");
    ck_assert_str_eq(list[1].id, "prep-02");
    ck_assert_int_eq(list[0].updated_at_ms, 1893553445000LL);
    ck_assert_int_eq(list[1].updated_at_ms, 0);
    ck_assert_uint_eq(list[1].nsymbols, 2);
    arec_agent_records_free(list, n);
    /* without symbols: the statement computes updated_at itself */
    f.with_symbols = 0;
    ck_assert_int_eq(arec_agent_list(repo, &f, &list, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(list[0].updated_at_ms, 1893553445000LL);
    ck_assert_uint_eq(list[0].nsymbols, 0);
    arec_agent_records_free(list, n);
    /* get, symbols by id (the get's), symbols by range (the unfiltered
     * page's), page with and without symbols, and the planner settings
     * sent before a page and before its symbols: prepared once */
    ck_assert_int_eq(prepared_count(pg), before + 7);
  }
  arec_repository_free(repo);
  arec_pg_free(pg);
}
END_TEST

START_TEST(stale_plan_after_a_schema_change) {
  arec_pg *pg = open_pg();
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  arec_agent_record *a = NULL;
  ck_assert_int_eq(arec_agent_get(repo, "prep-03", &a), 0);
  arec_agent_records_free(a, 1);
  long long before = prepared_count(pg);
  /* the type of a column the statement returns changes under it */
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "ALTER TABLE agent_configs ALTER "
                                           "COLUMN name TYPE varchar(200)",
                                    NULL), 0);
  ck_assert_int_eq(arec_agent_get(repo, "prep-03", &a), 0);
  ck_assert_str_eq(a->name, "n");
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(arec_agent_get(repo, "prep-04", &a), 0);
  ck_assert_str_eq(a->id, "prep-04");
  arec_agent_records_free(a, 1);
  /* prepared again under a new name; the stale one stays unused */
  ck_assert_int_eq(prepared_count(pg), before + 1);
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "ALTER TABLE agent_configs ALTER "
                                           "COLUMN name TYPE text", NULL), 0);
  arec_repository_free(repo);
  arec_pg_free(pg);
}
END_TEST

START_TEST(cache_bounded_and_forgotten_with_the_connection) {
  arec_pg *pg = open_pg();
  enum { N = AREC__PG_PREP_MAX + 6 };
  static char sql[N][64];
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++) {
      snprintf(sql[i], sizeof sql[i], "SELECT $1::int + %d", i);
      const char *p[1] = {"1000"};
      PGresult *r = NULL;
      ck_assert_int_eq(arec__pg_query_prepared(pg, sql[i], 1, p, &r), 0);
      ck_assert_int_eq(atoi(PQgetvalue(r, 0, 0)), 1000 + i);
      PQclear(r);
    }
    ck_assert_int_eq(prepared_count(pg), AREC__PG_PREP_MAX);
  }
  /* the server ends the session: the next call connects again and
   * prepares from scratch */
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "SELECT pg_terminate_backend(pid) "
                                           "FROM pg_stat_activity WHERE "
                                           "application_name = 'agentrecover'",
                                    NULL), 0);
  int rc = AREC_EUNAVAILABLE;
  for (int i = 0; i < 20 && rc != 0; i++) {
    const char *p[1] = {"1"};
    PGresult *r = NULL;
    rc = arec__pg_query_prepared(pg, sql[0], 1, p, &r);
    PQclear(r);
  }
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(prepared_count(pg), 1);
  arec_pg_free(pg);
}
END_TEST

START_TEST(name_held_by_another_process_is_not_trusted) {
  arec_pg *pg = open_pg();
  char q[160];
  /* the next name this process would give, taken with another text */
  snprintf(q, sizeof q, "PREPARE arec_%ld_1 AS SELECT 'wrong'::text",
           (long)getpid() % 10000000);
  ck_assert_int_eq(arec_pg_query(pg, NULL, q, 0, NULL, NULL, NULL), 0);
  long long before = prepared_count(pg);
  for (int i = 0; i < 3; i++) {
    const char *p[1] = {"1000"};
    PGresult *r = NULL;
    ck_assert_int_eq(
        arec__pg_query_prepared(pg, "SELECT $1::int + 5", 1, p, &r), 0);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "1005");
    PQclear(r);
  }
  /* the first call ran unprepared, the second prepared as arec_<pid>_2 */
  ck_assert_int_eq(prepared_count(pg), before + 1);
  arec_pg_free(pg);
}
END_TEST

/* What a forked child does on the parent's pool: read an agent twice. */
static int child_reads(arec_repository *repo) {
  for (int i = 0; i < 2; i++) {
    arec_agent_record *a = NULL;
    if (arec_agent_get(repo, "prep-02", &a) != 0) {
      fprintf(stderr, "child %d: %s\n", (int)getpid(), arec_error_last());
      return 1;
    }
    arec_agent_records_free(a, 1);
  }
  return 0;
}

START_TEST(forked_children_share_the_session_one_after_another) {
  arec_pg *pg = open_pg();
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  ck_assert_int_eq(prepared_count(pg), 0); /* connected, nothing prepared */
  for (int k = 0; k < 3; k++) {
    pid_t c = fork();
    ck_assert_int_ne(c, -1);
    if (c == 0)
      _exit(child_reads(repo));
    int st = 0;
    ck_assert_int_eq(waitpid(c, &st, 0), c);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed",
                  k);
  }
  arec_repository_free(repo);
  arec_pg_free(pg);
}
END_TEST

int main(void) {
  if (arec_test_pg_start_migrated(&g_pg) != 0)
    return 1;
  Suite *s = suite_create("pg-prepared");
  TCase *tc = tcase_create("prepared");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, admin_reads_are_prepared_once);
  tcase_add_test(tc, stale_plan_after_a_schema_change);
  tcase_add_test(tc, cache_bounded_and_forgotten_with_the_connection);
  tcase_add_test(tc, name_held_by_another_process_is_not_trusted);
  tcase_add_test(tc, forked_children_share_the_session_one_after_another);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  arec_test_pg_stop(&g_pg);
  return failed ? 1 : 0;
}
