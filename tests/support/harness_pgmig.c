/*
 * harness_pgmig.c -- the migration helpers of tests/support/harness.h: a
 * throwaway PostgreSQL migrated as a deployment is (the library's
 * migrations, then the host's from host/sql with the ledger
 * host_schema_migrations), the loader that reads a directory of
 * NNN_name.sql files the way lib/pg/migrations.awk compiles them, and one
 * statement with parameters over a connection of its own.
 *
 * How: glob + read + drop the lines that hold only `BEGIN;` or `COMMIT;`
 * (the same rule as the awk script), then arec_pg_migrate() and
 * arec_pg_migrate_set() over a fresh handle.
 * Must never: leave a handle open, print a conninfo with a password (the
 * harness's never has one).
 */
#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libpq-fe.h>

#include "agentrecover/pg.h"
#include "harness.h"

/* 1 when the line (without its newline) is only BEGIN; or COMMIT; */
static int tx_line(const char *l, size_t n) {
  size_t i = 0;
  while (i < n && (l[i] == ' ' || l[i] == '\t'))
    i++;
  size_t w = i;
  while (i < n && isalpha((unsigned char)l[i]))
    i++;
  if (!((i - w == 5 && !strncmp(l + w, "BEGIN", 5)) ||
        (i - w == 6 && !strncmp(l + w, "COMMIT", 6))))
    return 0;
  while (i < n && (l[i] == ' ' || l[i] == '\t'))
    i++;
  if (i >= n || l[i] != ';')
    return 0;
  i++;
  while (i < n && (l[i] == ' ' || l[i] == '\t'))
    i++;
  return i == n;
}

static char *read_body(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  size_t cap = 4096, len = 0;
  char *out = malloc(cap);
  if (out)
    out[0] = 0;
  char *line = NULL;
  size_t lcap = 0;
  ssize_t n;
  while (out && (n = getline(&line, &lcap, f)) >= 0) {
    size_t body = n && line[n - 1] == '\n' ? (size_t)n - 1 : (size_t)n;
    if (tx_line(line, body))
      continue;
    while (out && len + (size_t)n + 2 > cap) {
      char *nb = realloc(out, cap *= 2);
      if (!nb)
        free(out);
      out = nb;
    }
    if (!out)
      break;
    memcpy(out + len, line, (size_t)n);
    len += (size_t)n;
    if (body == (size_t)n)
      out[len++] = '\n';
    out[len] = 0;
  }
  free(line);
  fclose(f);
  return out;
}

int arec_test_pg_load_migrations(const char *dir, arec_pg_migration **out,
                                 size_t *n) {
  *out = NULL;
  *n = 0;
  char pat[512];
  snprintf(pat, sizeof pat, "%s/[0-9][0-9][0-9]_*.sql", dir);
  glob_t g;
  if (glob(pat, 0, NULL, &g) != 0) {
    fprintf(stderr, "harness: no migrations in %s\n", dir);
    return -1;
  }
  arec_pg_migration *m = calloc(g.gl_pathc, sizeof *m);
  int rc = m ? 0 : -1;
  for (size_t i = 0; m && i < g.gl_pathc; i++) {
    const char *base = strrchr(g.gl_pathv[i], '/');
    base = base ? base + 1 : g.gl_pathv[i];
    m[i].version = atoi(base);
    m[i].name = strdup(base);
    m[i].sql = read_body(g.gl_pathv[i]);
    if (!m[i].name || !m[i].sql) {
      fprintf(stderr, "harness: cannot read %s\n", g.gl_pathv[i]);
      rc = -1;
    }
  }
  size_t count = g.gl_pathc;
  globfree(&g);
  if (rc) {
    arec_test_pg_migrations_free(m, count);
    return -1;
  }
  *out = m;
  *n = count;
  return 0;
}

void arec_test_pg_migrations_free(arec_pg_migration *m, size_t n) {
  for (size_t i = 0; m && i < n; i++) {
    free((char *)m[i].name);
    free((char *)m[i].sql);
  }
  free(m);
}

void arec_test_pg_conninfo(const arec_test_pg *pg, const char *db, char *buf,
                           size_t len) {
  snprintf(buf, len,
           "host=127.0.0.1 port=%d dbname=%s user=postgres connect_timeout=5",
           pg->port, db);
}

int arec_test_pg_migrate(const arec_test_pg *pg, const char *db, int host) {
  char ci[512];
  arec_test_pg_conninfo(pg, db, ci, sizeof ci);
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  o.pool_size = 1;
  o.call_timeout_ms = 30000;
  arec_pg *h = NULL;
  int rc = arec_pg_new(&h, &o);
  if (!rc)
    rc = arec_pg_migrate(h, NULL);
  if (!rc && host) {
    arec_pg_migration *m = NULL;
    size_t n = 0;
    rc = arec_test_pg_load_migrations("host/sql", &m, &n) ? -1 : 0;
    if (!rc)
      rc = arec_pg_migrate_set(h, "host_schema_migrations", m, n, NULL);
    arec_test_pg_migrations_free(m, n);
  }
  if (rc)
    fprintf(stderr, "harness: migrating %s failed: %s\n", db,
            arec_error_last());
  arec_pg_free(h);
  return rc ? -1 : 0;
}

int arec_test_pg_start_migrated(arec_test_pg *pg) {
  if (arec_test_pg_start(pg) != 0)
    return -1;
  return arec_test_pg_migrate(pg, "arec", 1);
}

PGresult *arec_test_pg_exec(const arec_test_pg *pg, const char *sql, int n,
                            const char *const *params) {
  PGconn *c = PQconnectdb(pg->conninfo);
  ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
  ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK ||
                    PQresultStatus(r) == PGRES_COMMAND_OK,
                "%s", PQresultErrorMessage(r));
  PQfinish(c);
  return r;
}
