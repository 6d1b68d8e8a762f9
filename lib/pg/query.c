/*
 * query.c -- the query interface of agentrecover/pg.h for an embedding
 * service's own tables: arec_pg_query, arec_pg_transaction /
 * arec_pg_tx_query, the result accessors, and arec_pg_check_session.
 *
 * How: every statement goes through the pool's deadline-bounded helper
 * with the extended protocol (PQsendQueryParams, one statement, values
 * always as parameters, text results), and its SQLSTATE is mapped as pg.h
 * documents (arec__pg_map_sqlstate(, 1)).  A transaction is BEGIN, the
 * caller's function, COMMIT on one pooled connection under one deadline; a
 * failed statement or a negative return rolls back.  check_session holds
 * two pooled connections at once and asks each for its backend's pid:
 * under a transaction pooler both are served by the same server session.
 * Must never: put a parameter value or the server's message into an error
 * (the pool logs the message), keep a connection inside a transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"

struct arec_pg_result {
  PGresult *res;
};

struct arec_pg_tx {
  arec_pg *pg;
  arec__pg_slot *slot;
  int64_t deadline;
  int failed; /* the first error of a statement, 0 while none */
};

/* One statement on a held slot, the error mapped for the public API. */
static int run(arec_pg *pg, arec__pg_slot *s, int64_t dl,
               arec_pg_result **out, const char *sql, int nparams,
               const char *const *values, const int *lengths,
               const int *binary) {
  if (out)
    *out = NULL;
  arec_pg_result *res = NULL;
  if (out && !(res = calloc(1, sizeof *res)))
    return AREC_ENOMEM;
  /* A format array forces the extended protocol even without parameters
   * (exactly one statement per call); libpq reads it only for parameters. */
  static const int no_params[1] = {0};
  const int *formats = binary ? binary : nparams == 0 ? no_params : NULL;
  int err = arec__pg_exec(pg, s, dl, sql, nparams, values, lengths, formats,
                          res ? &res->res : NULL);
  if (err && s->sqlstate[0])
    err = arec__pg_map_sqlstate(s->sqlstate, 1);
  if (err) {
    free(res);
    return err;
  }
  if (out)
    *out = res;
  return 0;
}

static int args_ok(const char *sql, int nparams, const char *const *values,
                   const int *lengths, const int *binary) {
  if (!sql || nparams < 0 || (nparams > 0 && !values)) {
    arec_error_set("pg: a statement needs its text and its values");
    return 0;
  }
  for (int i = 0; binary && i < nparams; i++)
    if (binary[i] && (!lengths || lengths[i] < 0)) {
      arec_error_set("pg: binary value %d needs its length", i + 1);
      return 0;
    }
  return 1;
}

int arec_pg_query(arec_pg *pg, arec_pg_result **out, const char *sql,
                  int nparams, const char *const *values, const int *lengths,
                  const int *binary) {
  if (out)
    *out = NULL;
  if (!pg || !args_ok(sql, nparams, values, lengths, binary))
    return AREC_EINVAL;
  int64_t dl = arec__pg_deadline(pg);
  arec__pg_slot *s;
  int err = arec__pg_acquire(pg, dl, &s);
  if (err)
    return err;
  err = run(pg, s, dl, out, sql, nparams, values, lengths, binary);
  arec__pg_release(pg, s);
  return err;
}

int arec_pg_tx_query(arec_pg_tx *tx, arec_pg_result **out, const char *sql,
                     int nparams, const char *const *values,
                     const int *lengths, const int *binary) {
  if (out)
    *out = NULL;
  if (!tx || !args_ok(sql, nparams, values, lengths, binary))
    return AREC_EINVAL;
  if (tx->failed) {
    arec_error_set("pg: the transaction failed already (%s): rolled back at "
                   "its end",
                   arec_err_name(tx->failed));
    return tx->failed;
  }
  int err = run(tx->pg, tx->slot, tx->deadline, out, sql, nparams, values,
                lengths, binary);
  if (err)
    tx->failed = err;
  return err;
}

int arec_pg_transaction(arec_pg *pg, int (*fn)(arec_pg_tx *tx, void *ud),
                        void *ud) {
  if (!pg || !fn)
    return AREC_EINVAL;
  arec_pg_tx tx = {pg, NULL, arec__pg_deadline(pg), 0};
  int err = arec__pg_acquire(pg, tx.deadline, &tx.slot);
  if (err)
    return err;
  err = run(pg, tx.slot, tx.deadline, NULL, "BEGIN", 0, NULL, NULL, NULL);
  if (!err) {
    int rc = fn(&tx, ud);
    if (rc < 0 || tx.failed) {
      err = rc < 0 ? rc : tx.failed;
      char detail[512];
      snprintf(detail, sizeof detail, "%s", arec_error_last());
      if (tx.slot->conn)
        arec__pg_exec(pg, tx.slot, tx.deadline, "ROLLBACK", 0, NULL, NULL,
                      NULL, NULL);
      arec_error_set("%s", detail);
    } else {
      err = run(pg, tx.slot, tx.deadline, NULL, "COMMIT", 0, NULL, NULL, NULL);
    }
  }
  /* A connection still inside a transaction (a ROLLBACK that failed) is
   * dropped by the release. */
  arec__pg_release(pg, tx.slot);
  return err;
}

/* ----------------------------------------------------------------- results */
size_t arec_pg_result_rows(const arec_pg_result *r) {
  return r && r->res ? (size_t)PQntuples(r->res) : 0;
}

size_t arec_pg_result_changed(const arec_pg_result *r) {
  if (!r || !r->res)
    return 0;
  const char *t = PQcmdTuples(r->res);
  return t && *t ? (size_t)strtoull(t, NULL, 10) : 0;
}

static int in_range(const arec_pg_result *r, size_t row, size_t col) {
  return r && r->res && row < (size_t)PQntuples(r->res) &&
         col < (size_t)PQnfields(r->res);
}

const char *arec_pg_result_value(const arec_pg_result *r, size_t row,
                                 size_t col) {
  if (!in_range(r, row, col) || PQgetisnull(r->res, (int)row, (int)col))
    return NULL;
  return PQgetvalue(r->res, (int)row, (int)col);
}

size_t arec_pg_result_length(const arec_pg_result *r, size_t row,
                             size_t col) {
  if (!in_range(r, row, col))
    return 0;
  return (size_t)PQgetlength(r->res, (int)row, (int)col);
}

void arec_pg_result_free(arec_pg_result *r) {
  if (!r)
    return;
  PQclear(r->res);
  free(r);
}

/* ---------------------------------------------------------- check_session */
int arec_pg_check_session(arec_pg *pg) {
  if (!pg)
    return AREC_EINVAL;
  if (pg->pool_size < 2) {
    arec_error_set("pg: check_session needs pool_size >= 2");
    return AREC_EINVAL;
  }
  int64_t dl = arec__pg_deadline(pg);
  arec__pg_slot *a = NULL, *b = NULL;
  int err = arec__pg_acquire(pg, dl, &a);
  if (!err)
    err = arec__pg_acquire(pg, dl, &b);
  long long pid[2] = {0, 0};
  /* one after the other: a pooler hands the idle server session of the
   * first statement to the second one */
  for (int i = 0; i < 2 && !err; i++) {
    PGresult *r = NULL;
    err = arec__pg_exec(pg, i ? b : a, dl, "SELECT pg_backend_pid()", 0, NULL,
                        NULL, NULL, &r);
    if (!err)
      pid[i] = arec__pg_ll(r, 0, 0);
    PQclear(r);
  }
  arec__pg_release(pg, a);
  arec__pg_release(pg, b);
  if (err)
    return err;
  if (pid[0] == pid[1]) {
    arec_error_set("pg: two client connections were served by one server "
                   "session (backend pid %lld): a connection pooler in "
                   "transaction pooling (e.g. PgBouncer pool_mode="
                   "transaction) or statement pooling mode; the library "
                   "needs a session per connection (pool_mode=session, or a "
                   "direct connection)",
                   pid[0]);
    return AREC_ECONFLICT;
  }
  return 0;
}
