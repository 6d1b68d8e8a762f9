/*
 * test_pg_migrate.c -- the migrations against a real PostgreSQL 15: the
 * library applies exactly what `psql -f sql/NNN_*.sql` applies (schema dumps
 * compared), re-applying is a no-op, a database at an older version is
 * brought up to date, and two concurrent migrators apply each file once.
 */
#include <check.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/pg.h"
#include "support/harness.h"

static arec_test_pg g_pg;

static void mkdb(const char *name) {
  char sql[128];
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, sql, NULL), 0);
}

static void conninfo(char *buf, size_t len, const char *db) {
  snprintf(buf, len, "host=127.0.0.1 port=%d dbname=%s user=postgres", g_pg.port, db);
}

static arec_pg *open_db(const char *db) {
  char ci[256];
  conninfo(ci, sizeof ci, db);
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  o.pool_size = 1;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  return pg;
}

/* Applies sql files [0, upto) with psql -f; returns how many files exist. */
static size_t psql_apply(const char *db, size_t upto) {
  glob_t g;
  ck_assert_int_eq(glob("sql/[0-9][0-9][0-9]_*.sql", 0, NULL, &g), 0);
  size_t n = g.gl_pathc;
  for (size_t i = 0; i < n && i < upto; i++) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 "
             "-p %d -U postgres -d %s -f %s >/dev/null",
             g_pg.port, db, g.gl_pathv[i]);
    ck_assert_msg(system(cmd) == 0, "psql -f %s failed", g.gl_pathv[i]);
  }
  globfree(&g);
  return n;
}

/* pg_dump --schema-only, malloc'd (without the random \\restrict keys of
 * newer pg_dump releases). */
static char *dump(const char *db) {
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "/usr/lib/postgresql/15/bin/pg_dump -s -h 127.0.0.1 -p %d -U postgres %s"
           " | grep -v -e '^.restrict ' -e '^.unrestrict '",
           g_pg.port, db);
  FILE *f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  size_t r;
  while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += r;
    if (len + 1 >= cap)
      buf = realloc(buf, cap *= 2);
  }
  buf[len] = 0;
  ck_assert_int_eq(pclose(f), 0);
  return buf;
}

static char *versions(const char *db) {
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "/usr/lib/postgresql/15/bin/psql -X -A -t -h 127.0.0.1 -p %d -U postgres -d %s "
           "-c 'SELECT string_agg(version::text, chr(44) ORDER BY version) FROM schema_migrations'",
           g_pg.port, db);
  FILE *f = popen(cmd, "r");
  char *buf = calloc(1, 256);
  if (!fgets(buf, 255, f))
    buf[0] = 0;
  pclose(f);
  buf[strcspn(buf, "\n")] = 0;
  return buf;
}

START_TEST(fresh_apply_matches_psql) {
  mkdb("m_psql");
  mkdb("m_lib");
  size_t n = psql_apply("m_psql", 1000);
  ck_assert_uint_ge(n, 3);
  arec_pg *pg = open_db("m_lib");
  int v = -1, applied = -1;
  ck_assert_int_eq(arec_pg_schema_version(pg, &v), 0);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(arec_pg_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, (int)n);
  ck_assert_int_eq(arec_pg_schema_version(pg, &v), 0);
  ck_assert_int_eq(v, (int)n);
  /* re-apply: a no-op */
  ck_assert_int_eq(arec_pg_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, 0);
  arec_pg_free(pg);
  char *a = dump("m_psql"), *b = dump("m_lib");
  ck_assert_msg(strcmp(a, b) == 0, "schema differs between psql -f and arec_pg_migrate");
  ck_assert_ptr_nonnull(strstr(a, "CREATE TABLE public.agent_configs"));
  free(a);
  free(b);
  char *va = versions("m_psql"), *vb = versions("m_lib");
  ck_assert_str_eq(va, vb);
  ck_assert_str_eq(va, "1,2,3,4,5");
  free(va);
  free(vb);
}
END_TEST

START_TEST(apply_over_older_version) {
  mkdb("m_old");
  mkdb("m_ref");
  size_t n = psql_apply("m_old", 1);
  psql_apply("m_ref", 1000);
  arec_pg *pg = open_db("m_old");
  int v = -1, applied = -1;
  ck_assert_int_eq(arec_pg_schema_version(pg, &v), 0);
  ck_assert_int_eq(v, 1);
  ck_assert_int_eq(arec_pg_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, (int)n - 1);
  arec_pg_free(pg);
  char *a = dump("m_old"), *b = dump("m_ref");
  ck_assert_msg(strcmp(a, b) == 0, "schema differs after migrating over 001");
  free(a);
  free(b);
}
END_TEST

typedef struct mig_arg {
  int rc, applied;
} mig_arg;

static void *migrator(void *p) {
  mig_arg *a = p;
  char ci[256];
  conninfo(ci, sizeof ci, "m_conc");
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  arec_pg *pg = NULL;
  a->rc = arec_pg_new(&pg, &o);
  if (!a->rc)
    a->rc = arec_pg_migrate(pg, &a->applied);
  arec_pg_free(pg);
  return NULL;
}

START_TEST(concurrent_migrators) {
  mkdb("m_conc");
  mig_arg a[4] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, migrator, &a[i]);
  int total = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    ck_assert_int_eq(a[i].rc, 0);
    total += a[i].applied;
  }
  glob_t g;
  glob("sql/[0-9][0-9][0-9]_*.sql", 0, NULL, &g);
  ck_assert_int_eq(total, (int)g.gl_pathc);
  globfree(&g);
  char *v = versions("m_conc");
  ck_assert_str_eq(v, "1,2,3,4,5");
  free(v);
}
END_TEST

int main(void) {
  if (arec_test_pg_start(&g_pg) != 0)
    return 1;
  Suite *s = suite_create("pg-migrations");
  TCase *tc = tcase_create("migrations");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fresh_apply_matches_psql);
  tcase_add_test(tc, apply_over_older_version);
  tcase_add_test(tc, concurrent_migrators);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  arec_test_pg_stop(&g_pg);
  return failed ? 1 : 0;
}
