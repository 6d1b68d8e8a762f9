/*
 * statement.c -- how one statement runs on a pooled connection (pool.c
 * hands out the slots): sent with PQsendQueryParams (or as a prepared
 * statement, or a setup + statement pipeline), flushed and read under
 * poll(2) until the call's monotonic deadline.  On timeout the connection
 * is dropped, unless the handle keeps late sessions (keep_late): then
 * the session stays with its results owed, read and discarded when the
 * slot is next taken.  A lost connection is dropped; a failed statement
 * sets arec_error_last() to its SQLSTATE and a short, value-free reason
 * (plus the constraint's name), and logs the server's primary message
 * (DEBUG for data, constraint, serialization and lock errors, WARN
 * otherwise), never its DETAIL, where rows' values appear.
 *
 * Must never: block without a deadline, print, put a value into an error.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "pg/pg_internal.h"

/* A failed statement: the SQLSTATE and a short reason in the error, the
 * server's primary message in the log. */
static int statement_failed(arec_pg *pg, arec__pg_slot *slot,
                            const PGresult *r) {
  const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  snprintf(slot->sqlstate, sizeof slot->sqlstate, "%s", st ? st : "");
  const char *con = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
  if (con)
    arec_error_set("pg: SQLSTATE %s: %s (%s)", slot->sqlstate,
                   arec__pg_sqlstate_reason(slot->sqlstate), con);
  else
    arec_error_set("pg: SQLSTATE %s: %s", slot->sqlstate,
                   arec__pg_sqlstate_reason(slot->sqlstate));
  if (pg->log) {
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", m ? m : "");
    for (char *p = buf; *p; p++)
      if (*p == '\n' || *p == '\r')
        *p = ' ';
    int expected = st && (!strncmp(st, "22", 2) || !strncmp(st, "23", 2) ||
                          !strncmp(st, "40", 2) || !strcmp(st, "55P03") || !strcmp(st, "42P05") ||
                          !strcmp(st, "57014"));
    arec_log_field f[2] = {{"sqlstate", slot->sqlstate, AREC_LOG_STRING},
                           {"message", buf, AREC_LOG_STRING}};
    pg->log(pg->log_userdata, expected ? AREC_LOG_DEBUG : AREC_LOG_WARN,
            "postgres statement failed", f, 2);
  }
  return arec__pg_map_sqlstate(slot->sqlstate, 0);
}

/* Writes what libpq buffered, within the deadline.  0 or an AREC_E*. */
static int flush_out(arec__pg_slot *slot, int64_t deadline) {
  PGconn *c = slot->conn;
  int fr;
  while ((fr = PQflush(c)) == 1) {
    short rev = 0;
    int w = arec__pg_wait_fd(PQsocket(c), POLLIN | POLLOUT, deadline, &rev);
    if (w <= 0) {
      arec_error_set(w == 0 ? "pg: statement timed out (client deadline)"
                            : "pg: poll failed");
      arec__pg_slot_drop(slot);
      return w == 0 ? AREC_ETIMEDOUT : AREC_EUNAVAILABLE;
    }
    if ((rev & POLLIN) && !PQconsumeInput(c))
      break;
  }
  if (fr < 0 || PQstatus(c) != CONNECTION_OK) {
    arec__pg_set_pq_error("send", PQerrorMessage(c));
    arec__pg_slot_drop(slot);
    return AREC_EUNAVAILABLE;
  }
  return 0;
}

/* After sending on the slot's connection: a failed send (ok 0) drops the
 * connection (AREC_EUNAVAILABLE); else what libpq buffered is written
 * (flush_out). */
static int sent(arec__pg_slot *slot, int ok, int64_t deadline) {
  if (!ok) {
    arec__pg_set_pq_error("send", PQerrorMessage(slot->conn));
    arec__pg_slot_drop(slot);
    return AREC_EUNAVAILABLE;
  }
  return flush_out(slot, deadline);
}

int arec__pg_exec(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                  const char *sql, int nparams, const char *const *params,
                  const int *lengths, const int *formats, PGresult **out) {
  if (out)
    *out = NULL;
  slot->sqlstate[0] = 0;
  PGconn *c = slot->conn;
  int ok = (nparams == 0 && !formats)
               ? PQsendQuery(c, sql)
               : PQsendQueryParams(c, sql, nparams, NULL, params, lengths,
                                   formats, 0);
  return arec__pg_collect(pg, slot, deadline, ok, out);
}

int arec__pg_collect(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                     int ok, PGresult **out) {
  PGconn *c = slot->conn;
  if (out)
    *out = NULL;
  int err = sent(slot, ok, deadline);
  if (err)
    return err;
  PGresult *keep = NULL;
  for (;;) {
    while (PQisBusy(c)) {
      int w = arec__pg_wait_fd(PQsocket(c), POLLIN, deadline, NULL);
      if (w <= 0) {
        PQclear(keep);
        arec_error_set(w == 0 ? "pg: statement timed out (client deadline)"
                              : "pg: poll failed");
        if (w == 0 && pg->keep_late &&
            PQpipelineStatus(c) == PQ_PIPELINE_OFF) {
          slot->owed = 1; /* the session stays; its results come later */
          return AREC_ETIMEDOUT;
        }
        arec__pg_slot_drop(slot);
        return w == 0 ? AREC_ETIMEDOUT : AREC_EUNAVAILABLE;
      }
      if (!PQconsumeInput(c)) {
        PQclear(keep);
        arec__pg_set_pq_error("connection lost", PQerrorMessage(c));
        arec__pg_slot_drop(slot);
        return AREC_EUNAVAILABLE;
      }
    }
    PGresult *r = PQgetResult(c);
    if (!r)
      break;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      PQclear(keep);
      keep = r;
    } else {
      if (!err)
        err = statement_failed(pg, slot, r);
      PQclear(r);
    }
  }
  if (PQstatus(c) != CONNECTION_OK) {
    PQclear(keep);
    arec__pg_set_pq_error("connection lost", PQerrorMessage(c));
    arec__pg_slot_drop(slot);
    slot->sqlstate[0] = 0;
    return AREC_EUNAVAILABLE;
  }
  if (err) {
    PQclear(keep);
    return err;
  }
  if (out)
    *out = keep;
  else
    PQclear(keep);
  return 0;
}

/* One setup + sql pipeline; sql through the prepared statement `name`
 * when not NULL. */
static int planned(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                   const char *setup, const char *setup_name, const char *sql,
                   const char *name, int nparams, const char *const *params,
                   PGresult **out) {
  if (out)
    *out = NULL;
  slot->sqlstate[0] = 0;
  PGconn *c = slot->conn;
  int err = sent(slot,
                 PQenterPipelineMode(c) &&
                     (setup_name ? PQsendQueryPrepared(c, setup_name, 0, NULL,
                                                       NULL, NULL, 0)
                                 : PQsendQueryParams(c, setup, 0, NULL, NULL,
                                                     NULL, NULL, 0)) &&
                     (name ? PQsendQueryPrepared(c, name, nparams, params, NULL,
                                                 NULL, 0)
                           : PQsendQueryParams(c, sql, nparams, NULL, params,
                                               NULL, NULL, 0)) &&
                     PQpipelineSync(c),
                 deadline);
  if (err)
    return err;
  PGresult *keep = NULL;
  int query = 0; /* 0 setup, 1 sql; a NULL result ends each */
  for (;;) {
    while (PQisBusy(c)) {
      int w = arec__pg_wait_fd(PQsocket(c), POLLIN, deadline, NULL);
      if (w <= 0 || !PQconsumeInput(c)) {
        PQclear(keep);
        if (w == 0)
          arec_error_set("pg: statement timed out (client deadline)");
        else
          arec__pg_set_pq_error("connection lost", PQerrorMessage(c));
        arec__pg_slot_drop(slot);
        return w == 0 ? AREC_ETIMEDOUT : AREC_EUNAVAILABLE;
      }
    }
    PGresult *r = PQgetResult(c);
    if (!r) {
      query++;
      continue;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (st == PGRES_TUPLES_OK && query == 1 && !keep)
      keep = r;
    else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK ||
             st == PGRES_PIPELINE_ABORTED)
      PQclear(r);
    else {
      if (!err)
        err = statement_failed(pg, slot, r);
      PQclear(r);
    }
  }
  if (!PQexitPipelineMode(c) || PQstatus(c) != CONNECTION_OK) {
    PQclear(keep);
    arec__pg_set_pq_error("connection lost", PQerrorMessage(c));
    arec__pg_slot_drop(slot);
    slot->sqlstate[0] = 0;
    return AREC_EUNAVAILABLE;
  }
  if (err || !keep) {
    PQclear(keep);
    return err ? err : AREC_EBACKEND;
  }
  if (out)
    *out = keep;
  else
    PQclear(keep);
  return 0;
}

int arec__pg_exec_planned(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                          const char *setup, const char *sql, int nparams,
                          const char *const *params, PGresult **out) {
  const char *name = NULL, *setup_name = NULL;
  /* the setup too: constant, parsed and planned once per connection */
  int err = arec__pg_prepare(pg, slot, deadline, sql, nparams, &name);
  if (!err && name)
    err = arec__pg_prepare(pg, slot, deadline, setup, 0, &setup_name);
  if (err)
    return err;
  err = planned(pg, slot, deadline, setup, setup_name, sql, name, nparams,
                params, out);
  if (err && name && arec__pg_prep_stale(slot, sql))
    err = planned(pg, slot, deadline, setup, setup_name, sql, NULL, nparams,
                  params, out);
  return err;
}

int arec__pg_query(arec_pg *pg, const char *sql, int nparams,
                   const char *const *params, const int *lengths,
                   const int *formats, PGresult **out) {
  if (out)
    *out = NULL;
  int64_t dl = arec__pg_deadline(pg);
  arec__pg_slot *s;
  int err = arec__pg_acquire(pg, dl, &s);
  if (err)
    return err;
  err = arec__pg_exec(pg, s, dl, sql, nparams, params, lengths, formats, out);
  arec__pg_release(pg, s);
  return err;
}

