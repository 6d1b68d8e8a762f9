/*
 * migrate.c -- schema migrations: arec_pg_migrate_set() for any ledger
 * (the library's own sql/NNN_*.sql through arec_pg_migrate(), an embedding
 * service's through its own ledger), arec_pg_ledger_version() and
 * arec_pg_schema_version().
 *
 * How: the versions already in the ledger are read first; each missing one
 * then runs in a transaction of its own that takes
 * pg_advisory_xact_lock(<namespace>, hashtext(ledger)) -- so migrators of
 * the same ledger serialise across processes, and the lock ends with the
 * transaction, which also holds through a connection pooler --, checks the
 * ledger again, runs the body (which inserts its own version, exactly what
 * `psql -f` of the file does) and checks that the version is now recorded
 * before it commits.  The ledger's name is checked against
 * [a-z_][a-z0-9_]{0,62} and quoted as an identifier: the only SQL text
 * built here, from a name no caller's data can reach unchecked.
 * Must never: apply a version twice, leave a half-applied migration (a
 * failure rolls back), take a session-level lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/migrations.h"
#include "pg/pg_internal.h"

/* pg_advisory_xact_lock(MIGRATE_NS, hashtext(ledger)): "arec" + 1. */
#define MIGRATE_NS "1095910724"

/* Migrations may wait for another pod's migrator: a longer deadline. */
static int64_t migrate_deadline(const arec_pg *pg) {
  int64_t t = pg->call_timeout_ms > 30000 ? pg->call_timeout_ms : 30000;
  return arec__pg_now_ms() + t;
}

static int ledger_ok(const char *l) {
  if (!l || !*l || strlen(l) > 63)
    return 0;
  if (!((l[0] >= 'a' && l[0] <= 'z') || l[0] == '_'))
    return 0;
  for (const char *p = l; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return 0;
  return 1;
}

/* "SELECT ... FROM "<ledger>" ..." into buf. */
static void ledger_sql(char *buf, size_t len, const char *fmt,
                       const char *ledger) {
  char q[70];
  snprintf(q, sizeof q, "\"%s\"", ledger);
  snprintf(buf, len, fmt, q);
}

/* Does the ledger table exist (in the search path)?  1, 0, or <0.  Asked
 * of pg_class with the statement's snapshot: to_regclass() would consult
 * the backend's catalog cache, which inside a transaction that waited for
 * another migrator may not know the table that one just created. */
static int ledger_exists(arec_pg *pg, arec__pg_slot *s, int64_t dl,
                         const char *ledger) {
  const char *p[1] = {ledger};
  PGresult *r;
  int err = arec__pg_exec(pg, s, dl,
                          "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
                          "JOIN pg_catalog.pg_namespace n "
                          "ON n.oid = c.relnamespace WHERE c.relname = $1 "
                          "AND c.relkind IN ('r', 'p') "
                          "AND n.nspname = ANY (current_schemas(false)))",
                          1, p, NULL, NULL, &r);
  if (err)
    return err;
  int yes = arec__pg_bool(r, 0, 0);
  PQclear(r);
  return yes;
}

/* Is `version` recorded in the ledger?  1, 0, or <0. */
static int has_version(arec_pg *pg, arec__pg_slot *s, int64_t dl,
                       const char *ledger, int version) {
  int ex = ledger_exists(pg, s, dl, ledger);
  if (ex <= 0)
    return ex;
  char sql[160], v[24];
  ledger_sql(sql, sizeof sql, "SELECT 1 FROM %s WHERE version = $1::int",
             ledger);
  const char *p[1] = {arec__pg_i64(v, version)};
  PGresult *r;
  int err = arec__pg_exec(pg, s, dl, sql, 1, p, NULL, NULL, &r);
  if (err)
    return err;
  int n = PQntuples(r);
  PQclear(r);
  return n > 0;
}

/* The versions recorded now, as a sorted malloc'd array (NULL, 0 when the
 * ledger does not exist yet). */
static int applied_versions(arec_pg *pg, arec__pg_slot *s, int64_t dl,
                            const char *ledger, int **out, size_t *n) {
  *out = NULL;
  *n = 0;
  int ex = ledger_exists(pg, s, dl, ledger);
  if (ex <= 0)
    return ex;
  char sql[160];
  ledger_sql(sql, sizeof sql, "SELECT version FROM %s ORDER BY version",
             ledger);
  PGresult *r;
  int err = arec__pg_exec(pg, s, dl, sql, 0, NULL, NULL, NULL, &r);
  if (err)
    return err;
  size_t nt = (size_t)PQntuples(r);
  if (nt && !(*out = malloc(nt * sizeof **out))) {
    PQclear(r);
    return AREC_ENOMEM;
  }
  for (size_t i = 0; i < nt; i++)
    (*out)[i] = (int)arec__pg_ll(r, (int)i, 0);
  *n = nt;
  PQclear(r);
  return 0;
}

static int in_list(const int *v, size_t n, int x) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == x)
      return 1;
  return 0;
}

/* One migration in its own transaction: 1 applied, 0 found applied by
 * another migrator meanwhile, <0 error (rolled back). */
static int apply_one(arec_pg *pg, arec__pg_slot *s, int64_t dl,
                     const char *ledger, const arec_pg_migration *m) {
  const char *p[1] = {ledger};
  int err = arec__pg_exec(pg, s, dl, "BEGIN", 0, NULL, NULL, NULL, NULL);
  if (!err)
    err = arec__pg_exec(pg, s, dl, "SET LOCAL statement_timeout = 0", 0, NULL,
                        NULL, NULL, NULL);
  if (!err)
    err = arec__pg_exec(pg, s, dl,
                        "SELECT pg_advisory_xact_lock(" MIGRATE_NS
                        ", hashtext($1))",
                        1, p, NULL, NULL, NULL);
  int done = err ? err : has_version(pg, s, dl, ledger, m->version);
  int rc;
  if (done < 0) {
    rc = done;
  } else if (done == 1) {
    rc = arec__pg_exec(pg, s, dl, "ROLLBACK", 0, NULL, NULL, NULL, NULL);
  } else {
    rc = arec__pg_exec(pg, s, dl, m->sql, 0, NULL, NULL, NULL, NULL);
    if (rc) {
      char detail[400];
      snprintf(detail, sizeof detail, "%s", arec_error_last());
      arec_error_set("pg: migration %s failed: %s", m->name, detail);
    } else {
      int rec = has_version(pg, s, dl, ledger, m->version);
      if (rec == 0) {
        arec_error_set("pg: migration %s did not record version %d in %s",
                       m->name, m->version, ledger);
        rc = AREC_EINVAL;
      } else if (rec < 0) {
        rc = rec;
      }
    }
    if (!rc)
      rc = arec__pg_exec(pg, s, dl, "COMMIT", 0, NULL, NULL, NULL, NULL);
    if (!rc) {
      rc = 1;
      arec__pg_log(pg, AREC_LOG_INFO, "applied migration", "name", m->name);
    }
  }
  if (rc < 0 && s->conn && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
    char detail[512];
    snprintf(detail, sizeof detail, "%s", arec_error_last());
    arec__pg_exec(pg, s, dl, "ROLLBACK", 0, NULL, NULL, NULL, NULL);
    arec_error_set("%s", detail);
  }
  return rc;
}

int arec_pg_migrate_set(arec_pg *pg, const char *ledger,
                        const arec_pg_migration *migrations, size_t n,
                        int *out_applied) {
  if (out_applied)
    *out_applied = 0;
  if (!pg || (n && !migrations)) {
    arec_error_set("pg: migrate_set needs a handle and migrations");
    return AREC_EINVAL;
  }
  if (!ledger_ok(ledger)) {
    arec_error_set("pg: invalid ledger name (want [a-z_][a-z0-9_]{0,62})");
    return AREC_EINVAL;
  }
  for (size_t i = 0; i < n; i++)
    if (migrations[i].version <= 0 || !migrations[i].sql ||
        (i && migrations[i].version <= migrations[i - 1].version)) {
      arec_error_set("pg: migration %zu: versions must be > 0 and ascending, "
                     "with a body", i);
      return AREC_EINVAL;
    }
  int64_t dl = migrate_deadline(pg);
  arec__pg_slot *s;
  int err = arec__pg_acquire(pg, dl, &s);
  if (err)
    return err;
  int *have = NULL;
  size_t nhave = 0;
  err = applied_versions(pg, s, dl, ledger, &have, &nhave);
  int applied = 0;
  for (size_t i = 0; i < n && !err; i++) {
    if (in_list(have, nhave, migrations[i].version))
      continue;
    if (!migrations[i].name) {
      arec_error_set("pg: migration %d has no name", migrations[i].version);
      err = AREC_EINVAL;
      break;
    }
    int rc = apply_one(pg, s, dl, ledger, &migrations[i]);
    if (rc < 0)
      err = rc;
    else
      applied += rc;
  }
  free(have);
  arec__pg_release(pg, s);
  if (out_applied)
    *out_applied = applied;
  return err;
}

int arec_pg_migrate(arec_pg *pg, int *out_applied) {
  return arec_pg_migrate_set(pg, "schema_migrations", arec__pg_migrations,
                             arec__pg_migrations_n, out_applied);
}

int arec_pg_ledger_version(arec_pg *pg, const char *ledger, int *out) {
  if (out)
    *out = 0;
  if (!pg || !out)
    return AREC_EINVAL;
  if (!ledger_ok(ledger)) {
    arec_error_set("pg: invalid ledger name (want [a-z_][a-z0-9_]{0,62})");
    return AREC_EINVAL;
  }
  int64_t dl = arec__pg_deadline(pg);
  arec__pg_slot *s;
  int err = arec__pg_acquire(pg, dl, &s);
  if (err)
    return err;
  int ex = ledger_exists(pg, s, dl, ledger);
  if (ex < 0)
    err = ex;
  if (ex == 1) {
    char sql[160];
    ledger_sql(sql, sizeof sql, "SELECT coalesce(max(version), 0) FROM %s",
               ledger);
    PGresult *r = NULL;
    err = arec__pg_exec(pg, s, dl, sql, 0, NULL, NULL, NULL, &r);
    if (!err)
      *out = (int)arec__pg_ll(r, 0, 0);
    PQclear(r);
  }
  arec__pg_release(pg, s);
  return err;
}

int arec_pg_schema_version(arec_pg *pg, int *out) {
  return arec_pg_ledger_version(pg, "schema_migrations", out);
}
