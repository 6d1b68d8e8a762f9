/*
 * migrate.c -- arec_pg_migrate() and arec_pg_schema_version(): applies the
 * migrations compiled into the library (sql/NNN_*.sql, see migrations.h).
 *
 * How: each migration runs in its own transaction that first takes
 * pg_advisory_xact_lock(AREC_PG_MIGRATE_LOCK) (so pods migrating at the same
 * moment serialise), then skips the version if schema_migrations already
 * records it, else runs the file's body, which inserts its own version --
 * exactly what `psql -f sql/NNN_*.sql` does.  Must never apply a version
 * twice or leave a half-applied migration (a failure rolls back).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/migrations.h"
#include "pg/pg_internal.h"

/* "arecPG" + 1: the advisory lock key of migrations. */
#define AREC_PG_MIGRATE_LOCK "7089074254227046401"

/* Migrations may wait for another pod's migrator: a longer deadline. */
static int64_t migrate_deadline(const arec_pg *pg) {
  int64_t t = pg->call_timeout_ms > 30000 ? pg->call_timeout_ms : 30000;
  return arec__pg_now_ms() + t;
}

/* 1 applied, 0 not, <0 error. */
static int is_applied(arec_pg *pg, arec__pg_slot *s, int64_t dl, int version) {
  PGresult *r;
  int err = arec__pg_exec(pg, s, dl,
                          "SELECT to_regclass('schema_migrations') IS NOT NULL",
                          0, NULL, NULL, NULL, &r);
  if (err)
    return err;
  int exists = arec__pg_bool(r, 0, 0);
  PQclear(r);
  if (!exists)
    return 0;
  char v[16];
  snprintf(v, sizeof v, "%d", version);
  const char *p[1] = {v};
  err = arec__pg_exec(pg, s, dl,
                      "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
                      p, NULL, NULL, &r);
  if (err)
    return err;
  int n = PQntuples(r);
  PQclear(r);
  return n > 0;
}

int arec_pg_migrate(arec_pg *pg, int *out_applied) {
  if (out_applied)
    *out_applied = 0;
  if (!pg)
    return AREC_EINVAL;
  int64_t dl = migrate_deadline(pg);
  arec__pg_slot *s;
  int err = arec__pg_acquire(pg, dl, &s);
  if (err)
    return err;
  int applied = 0;
  for (size_t i = 0; i < arec__pg_nmigrations && !err; i++) {
    const arec__pg_migration *m = &arec__pg_migrations[i];
    const char *lock[1] = {AREC_PG_MIGRATE_LOCK};
    err = arec__pg_exec(pg, s, dl, "BEGIN", 0, NULL, NULL, NULL, NULL);
    if (!err)
      err = arec__pg_exec(pg, s, dl, "SET LOCAL statement_timeout = 0", 0,
                          NULL, NULL, NULL, NULL);
    if (!err)
      err = arec__pg_exec(pg, s, dl, "SELECT pg_advisory_xact_lock($1::bigint)",
                          1, lock, NULL, NULL, NULL);
    int done = err ? err : is_applied(pg, s, dl, m->version);
    if (done < 0) {
      err = done;
    } else if (done == 1) {
      err = arec__pg_exec(pg, s, dl, "ROLLBACK", 0, NULL, NULL, NULL, NULL);
    } else {
      err = arec__pg_exec(pg, s, dl, m->sql, 0, NULL, NULL, NULL, NULL);
      if (err) {
        char detail[400];
        snprintf(detail, sizeof detail, "%s", arec_error_last());
        arec_error_set("pg: migration %s failed: %s", m->name, detail);
      } else {
        err = arec__pg_exec(pg, s, dl, "COMMIT", 0, NULL, NULL, NULL, NULL);
      }
      if (!err) {
        applied++;
        arec__pg_log(pg, AREC_LOG_INFO, "applied migration", "name", m->name);
      }
    }
    if (err && s->conn && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
      char detail[512];
      snprintf(detail, sizeof detail, "%s", arec_error_last());
      arec__pg_exec(pg, s, dl, "ROLLBACK", 0, NULL, NULL, NULL, NULL);
      arec_error_set("%s", detail);
    }
  }
  arec__pg_release(pg, s);
  if (out_applied)
    *out_applied = applied;
  return err;
}

int arec_pg_schema_version(arec_pg *pg, int *out) {
  if (out)
    *out = 0;
  if (!pg || !out)
    return AREC_EINVAL;
  int64_t dl = arec__pg_deadline(pg);
  arec__pg_slot *s;
  int err = arec__pg_acquire(pg, dl, &s);
  if (err)
    return err;
  PGresult *r = NULL;
  err = arec__pg_exec(pg, s, dl,
                      "SELECT to_regclass('schema_migrations') IS NOT NULL", 0,
                      NULL, NULL, NULL, &r);
  if (!err && arec__pg_bool(r, 0, 0)) {
    PQclear(r);
    r = NULL;
    err = arec__pg_exec(pg, s, dl,
                        "SELECT coalesce(max(version), 0) FROM schema_migrations",
                        0, NULL, NULL, NULL, &r);
    if (!err)
      *out = (int)arec__pg_ll(r, 0, 0);
  }
  PQclear(r);
  arec__pg_release(pg, s);
  return err;
}
