/*
 * test_pg_keyset.c -- keyset pages of agent_list on PostgreSQL with 20,000
 * agents (owners, wishes, owning pods, backoff and deleted rows mixed):
 *   - the plan of every filter shape's page statement (owner, pod, and each
 *     set of AREC_AGENTS_* flags: 32 shapes), with the planner settings the
 *     library sends with it, walks an index of agent_configs in id order --
 *     an Index Scan, no Sort, no sequential or bitmap scan -- and stops
 *     after the page;
 *   - 100 pages in a row, each after the last id of the one before, give
 *     exactly the ids in byte order: no duplicate, no gap;
 *   - a filtered walk (one owner, wanted only) matches the same query in
 *     SQL, and pages with symbols carry them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "pg/repository.h"
#include "support/harness.h"
#include "support/runner.h"

#define AGENTS 20000

static arec_test_pg g_pg;
static arec_pg *g_h;

static const char SEED[] =
    "INSERT INTO users (id, name) SELECT g, 'u' FROM generate_series(1, 20) g; "
    "INSERT INTO pods (name, incarnation, started_at, heartbeat_at, lease_until) "
    "  SELECT 'pod-' || g, 'inc', now(), now(), now() + interval '1 hour' "
    "  FROM generate_series(0, 2) g; "
    /* ids: 12 hex characters, some upper case (byte order matters) */
    "INSERT INTO agent_configs (id, user_id, strategy, name, is_active, "
    "  is_trading, fence, running_on, running_incarnation, start_failures, "
    "  deleted_at) "
    "SELECT CASE WHEN g % 7 = 0 THEN upper(substr(md5(g::text), 1, 12)) "
    "       ELSE substr(md5(g::text), 1, 12) END, "
    "  g % 20 + 1, 'grid', 'agent', g % 11 <> 0, g % 2 = 0, g, "
    "  CASE WHEN g % 3 = 0 THEN 'pod-' || (g % 9 / 3) END, "
    "  CASE WHEN g % 3 = 0 THEN 'inc' END, "
    "  CASE WHEN g % 97 = 0 THEN 1 + g % 4 ELSE 0 END, "
    "  CASE WHEN g % 101 = 0 THEN now() END "
    "FROM generate_series(1, 20000) g; "
    "INSERT INTO agent_symbol_assignments (agent_id, symbol, balance) "
    "  SELECT id, s, 10 FROM agent_configs, unnest(ARRAY['BTC/USDT', 'ETH/USDT']) s; "
    "INSERT INTO agent_states (agent_id, symbol, balance) "
    "  SELECT agent_id, symbol, balance FROM agent_symbol_assignments; "
    "ANALYZE";

static arec_repository *repo(void) {
  arec_repository *r = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&r, g_h), 0);
  return r;
}

/* ------------------------------------------------------------------ plans */
/* EXPLAIN of a page statement with the planner settings the library sets
 * for it (in the same transaction); with `prepare`, the statement is
 * prepared first on that connection (and deallocated after). */
typedef struct explain_arg {
  const char *setup;
  const char *prepare;
  const char *sql;
  int np;
  const char *const *p;
  arec_pg_result *r;
} explain_arg;

static int explain_fn(arec_pg_tx *tx, void *ud) {
  explain_arg *a = ud;
  int rc = a->prepare ? arec_pg_tx_query(tx, NULL, a->prepare, 0, NULL, NULL,
                                         NULL)
                      : 0;
  if (!rc)
    rc = arec_pg_tx_query(tx, NULL, a->setup, 0, NULL, NULL, NULL);
  if (!rc)
    rc = arec_pg_tx_query(tx, &a->r, a->sql, a->np, a->p, NULL, NULL);
  if (!rc && a->prepare)
    rc = arec_pg_tx_query(tx, NULL, "DEALLOCATE keyset_page", 0, NULL, NULL,
                          NULL);
  return rc;
}

/* The plan lines of one EXPLAIN in plan[]; 1 when it walks an index of
 * agent_configs with no sort, no sequential and no bitmap scan of it. */
static int index_walk(const char *prepare, const char *explain, int np,
                      const char *const *p, char *plan, size_t cap) {
  explain_arg ea = {arec__pg_page_setup, prepare, explain, np, p, NULL};
  int rc = arec_pg_transaction(g_h, explain_fn, &ea);
  ck_assert_msg(rc == 0, "%s: %s", explain, arec_error_last());
  arec_pg_result *r = ea.r;
  int index_scan = 0;
  plan[0] = '\0';
  for (size_t i = 0; i < arec_pg_result_rows(r); i++) {
    const char *line = arec_pg_result_value(r, i, 0);
    strncat(plan, line, cap - strlen(plan) - 2);
    strcat(plan, "\n");
    if (strstr(line, "Index Scan") && strstr(line, " on agent_configs"))
      index_scan = 1;
  }
  arec_pg_result_free(r);
  return index_scan && !strstr(plan, "Sort") &&
         !strstr(plan, "Seq Scan on agent_configs") &&
         !strstr(plan, "Bitmap Heap Scan on agent_configs");
}

/* Every shape, read with or without its symbols, walks an index in id
 * order: planned with its values (EXPLAIN) and as the prepared statement
 * the library runs, whose generic plan serves every later page (EXPLAIN
 * EXECUTE under plan_cache_mode = force_generic_plan, which every pooled
 * connection sets). */
START_TEST(every_shape_walks_an_index_without_sort) {
  for (unsigned int v = 0; v < 2 * AREC__PG_LIST_SHAPES; v++) {
    unsigned int shape = v % AREC__PG_LIST_SHAPES;
    int sym = v >= AREC__PG_LIST_SHAPES, np = 0;
    const char *q = arec__pg_list_sql(shape, sym, &np);
    ck_assert_ptr_nonnull(q);
    char explain[4096], prep[4096], plan[8192], args[64];
    snprintf(explain, sizeof explain, "EXPLAIN %s", q);
    const char *p[4] = {"", "100", NULL, NULL};
    int k = 2;
    snprintf(args, sizeof args, "'', 100");
    if (shape & 1) {
      p[k++] = "3";
      strcat(args, ", 3");
    }
    if (shape & 2) {
      p[k++] = "pod-1";
      strcat(args, ", 'pod-1'");
    }
    ck_assert_int_eq(k, np);
    ck_assert_msg(index_walk(NULL, explain, np, p, plan, sizeof plan),
                  "shape %u (symbols %d), custom plan:\n%s", shape, sym, plan);
    snprintf(prep, sizeof prep, "PREPARE keyset_page AS %s", q);
    snprintf(explain, sizeof explain, "EXPLAIN EXECUTE keyset_page(%s)", args);
    ck_assert_msg(index_walk(prep, explain, 0, NULL, plan, sizeof plan),
                  "shape %u (symbols %d), generic plan:\n%s", shape, sym, plan);
  }
  ck_assert_ptr_null(arec__pg_list_sql(AREC__PG_LIST_SHAPES, 0, NULL));
}
END_TEST

/* The symbols of an unfiltered page: both (agent_id, symbol) indexes read
 * over the page's id range and merged -- no nested loop (a descent per
 * agent), no sort, no hash, no sequential or bitmap scan -- planned with
 * its values and as the generic plan of the prepared statement. */
START_TEST(page_symbols_merge_two_index_ranges) {
  const char *q = arec__pg_symbols_range_sql();
  const char *p[2] = {"0", "3"};
  char sql[2048], prep[2048];
  for (int generic = 0; generic < 2; generic++) {
    if (generic) {
      snprintf(prep, sizeof prep, "PREPARE keyset_page AS %s", q);
      snprintf(sql, sizeof sql, "EXPLAIN EXECUTE keyset_page('0', '3')");
    } else {
      snprintf(sql, sizeof sql, "EXPLAIN %s", q);
    }
    explain_arg ea = {arec__pg_symbols_range_setup, generic ? prep : NULL,
                      sql, generic ? 0 : 2, generic ? NULL : p, NULL};
    int rc = arec_pg_transaction(g_h, explain_fn, &ea);
    ck_assert_msg(rc == 0, "%s: %s", sql, arec_error_last());
    char plan[8192] = "";
    for (size_t i = 0; i < arec_pg_result_rows(ea.r); i++) {
      strncat(plan, arec_pg_result_value(ea.r, i, 0),
              sizeof plan - strlen(plan) - 2);
      strcat(plan, "\n");
    }
    arec_pg_result_free(ea.r);
    ck_assert_msg(strstr(plan, "Merge Left Join") &&
                      strstr(plan, "Index Scan using "
                                   "agent_symbol_assignments_agent_id_symbol_key") &&
                      strstr(plan, "Index Scan using "
                                   "agent_states_agent_id_symbol_key") &&
                      !strstr(plan, "Nested Loop") && !strstr(plan, "Sort") &&
                      !strstr(plan, "Hash") && !strstr(plan, "Seq Scan") &&
                      !strstr(plan, "Bitmap"),
                  "%s plan:\n%s", generic ? "generic" : "custom", plan);
  }
}
END_TEST

/* ------------------------------------------------------------------ pages */
/* The ids the SQL query gives, newline-separated (psql). */
static char *expected(const char *where, int limit) {
  char q[512];
  snprintf(q, sizeof q,
           "SELECT id FROM agent_configs WHERE deleted_at IS NULL %s "
           "ORDER BY id COLLATE \"C\" LIMIT %d",
           where, limit);
  char *out = NULL;
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, q, &out), 0);
  return out;
}

/* Walks `pages` pages of `limit` with filter f; returns the ids joined by
 * newlines (malloc'd) and checks each page's order. */
static char *walk(arec_repository *r, arec_agent_filter *f, int pages,
                  int *out_pages) {
  size_t cap = 1 << 20, len = 0;
  char *ids = malloc(cap);
  ids[0] = 0;
  char after[AREC_AGENT_ID_MAX + 1] = "";
  int n_pages = 0;
  for (int pg = 0; pg < pages; pg++) {
    f->after = pg ? after : NULL;
    arec_agent_record *a = NULL;
    size_t n = 0;
    int rc = r->agent_list(r, f, &a, &n);
    ck_assert_msg(rc == 0, "page %d: %s", pg, arec_error_last());
    for (size_t i = 0; i < n; i++) {
      ck_assert_msg(strcmp(a[i].id, after) > 0, "page %d: %s after %s", pg, a[i].id, after);
      snprintf(after, sizeof after, "%s", a[i].id);
      size_t l = strlen(a[i].id);
      ck_assert_uint_lt(len + l + 2, cap);
      memcpy(ids + len, a[i].id, l);
      len += l;
      ids[len++] = '\n';
      ids[len] = 0;
      if (f->with_symbols) {
        ck_assert_uint_eq(a[i].nsymbols, 2);
        ck_assert_str_eq(a[i].symbols[0].symbol, "BTC/USDT");
        ck_assert_str_eq(a[i].symbols[1].symbol, "ETH/USDT");
      }
    }
    arec_agent_records_free(a, n);
    n_pages++;
    if (n < f->limit)
      break;
  }
  *out_pages = n_pages;
  return ids;
}

START_TEST(hundred_pages_no_duplicates_no_gaps) {
  arec_repository *r = repo();
  arec_agent_filter f = AREC_AGENT_FILTER_INIT;
  f.limit = 150;
  int pages = 0;
  char *got = walk(r, &f, 100, &pages);
  ck_assert_int_eq(pages, 100);
  char *want = expected("", 100 * 150);
  ck_assert_msg(strcmp(got, want) == 0, "the pages differ from the ids in byte order");
  free(got);
  /* the same pages with their symbols (each page's id range holds deleted
   * agents' symbols too: they are left out) */
  f.with_symbols = 1;
  got = walk(r, &f, 100, &pages);
  ck_assert_int_eq(pages, 100);
  ck_assert_msg(strcmp(got, want) == 0, "pages with symbols differ");
  f.with_symbols = 0;
  free(got);
  free(want);
  /* one owner's wanted agents with symbols, to the end */
  f.limit = 37;
  f.user_id = 3;
  f.only = AREC_AGENTS_WANTED;
  f.with_symbols = 1;
  got = walk(r, &f, 1000, &pages);
  want = expected("AND user_id = 3 AND is_active AND is_trading", 100000);
  ck_assert_str_eq(got, want);
  ck_assert_int_gt(pages, 5);
  free(got);
  free(want);
  /* agents of one pod in backoff, not wanted ... any combination */
  f.user_id = 0;
  f.with_symbols = 0;
  f.running_on = "pod-2";
  f.only = AREC_AGENTS_BACKOFF;
  got = walk(r, &f, 1000, &pages);
  want = expected("AND running_on = 'pod-2' AND start_failures > 0", 100000);
  ck_assert_str_eq(got, want);
  ck_assert_str_ne(got, "");
  free(got);
  free(want);
  f.running_on = NULL;
  f.only = AREC_AGENTS_UNOWNED | AREC_AGENTS_WANTED;
  f.limit = 1000;
  got = walk(r, &f, 1000, &pages);
  want = expected("AND running_on IS NULL AND is_active AND is_trading", 100000);
  ck_assert_str_eq(got, want);
  free(got);
  free(want);
  /* limits */
  arec_agent_record *a = NULL;
  size_t n = 0;
  f.limit = 1001;
  ck_assert_int_eq(r->agent_list(r, &f, &a, &n), AREC_EINVAL);
  f.limit = 10;
  f.only = 8;
  ck_assert_int_eq(r->agent_list(r, &f, &a, &n), AREC_EINVAL);
  ck_assert_int_eq(r->agent_list(r, NULL, &a, &n), 0); /* the first 100 */
  ck_assert_uint_eq(n, 100);
  arec_agent_records_free(a, n);
  r->free(r);
}
END_TEST

int main(void) {
  const TTest *tests[] = {every_shape_walks_an_index_without_sort,
      page_symbols_merge_two_index_ranges, hundred_pages_no_duplicates_no_gaps,
      NULL};
  if (arec_test_pg_start_migrated(&g_pg) != 0)
    return 1;
  if (arec_test_pg_sql(&g_pg, SEED, NULL) != 0)
    return 1;
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.call_timeout_ms = 30000;
  if (arec_pg_new(&g_h, &o) != 0)
    return 1;
  Suite *s = suite_create("pg-keyset");
  arec_test_cases(s, "pg-keyset", 120, tests);
  int rc = arec_test_run(s);
  arec_pg_free(g_h);
  arec_test_pg_stop(&g_pg);
  return rc;
}
