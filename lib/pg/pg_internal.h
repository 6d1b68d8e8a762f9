/*
 * pg_internal.h -- shared internals of the PostgreSQL backend: the pool
 * handle (pool.c), the deadline-bounded statement helpers (statement.c),
 * the prepared statements (prepared.c), the SQLSTATE tables (sqlstate.c)
 * and small parsing helpers (util.c).  Not installed.
 */
#ifndef AREC_PG_INTERNAL_H
#define AREC_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "core/textbuf.h"

/* A statement prepared on one connection (prepared.c). */
#define AREC__PG_PREP_MAX 64
typedef struct arec__pg_prep {
  char *sql;     /* its text, copied */
  uint64_t hash; /* of the text */
  char name[24]; /* "arec_<pid>_<n>", never reused on the connection */
} arec__pg_prep;

/* One pooled connection. */
typedef struct arec__pg_slot {
  PGconn *conn; /* NULL: not connected */
  int busy;
  char sqlstate[6]; /* of the last failed statement, "" for none/transport */
  arec__pg_prep prep[AREC__PG_PREP_MAX]; /* prepared on conn */
  unsigned int nprep, prep_seq;
  int owed; /* keep_late: a timed-out statement's results are still due */
} arec__pg_slot;

struct arec_pg {
  char *conninfo;
  char *application_name; /* NULL: "agentrecover" unless the conninfo names one */
  unsigned int pool_size;
  int64_t connect_timeout_ms;
  int64_t call_timeout_ms;
  int64_t statement_timeout_ms; /* > 0 as configured, else call_timeout_ms */
  /* A statement (outside a pipeline) that outlives its call's deadline
   * leaves the session open with its results owed (read and discarded at
   * the next acquire) instead of dropping the connection: for sessions
   * whose identity matters, e.g. the one holding a pod's advisory lock. */
  int keep_late;
  unsigned int history_keep;
  arec_log_fn log;
  void *log_userdata;

  pthread_mutex_t mu;
  pthread_cond_t cv;      /* a slot was released */
  arec__pg_slot *slots;
  int64_t down_until_ms;  /* after a failed connect: fail fast until then */
  int64_t backoff_ms;     /* next backoff (doubles, capped) */
  int refs;
};

/* Monotonic clock, ms. */
int64_t arec__pg_now_ms(void);
/* The call deadline from now. */
int64_t arec__pg_deadline(const arec_pg *pg);

/* Takes a connected slot within `deadline` (monotonic ms).  0, or
 * AREC_EUNAVAILABLE / AREC_ETIMEDOUT with the detail set. */
int arec__pg_acquire(arec_pg *pg, int64_t deadline, arec__pg_slot **out);
/* Gives the slot back; a connection that is broken, or left inside a
 * transaction, is dropped. */
void arec__pg_release(arec_pg *pg, arec__pg_slot *slot);
/* Closes the slot's connection and forgets its prepared statements. */
void arec__pg_slot_drop(arec__pg_slot *slot);
/* Waits for `events` on `fd` until `deadline` (monotonic ms): 1 ready (the
 * events in *revents when not NULL), 0 timeout, -1 poll failed. */
int arec__pg_wait_fd(int fd, short events, int64_t deadline, short *revents);
/* Sets the error "pg: <what>: <libpq's message on one line>". */
void arec__pg_set_pq_error(const char *what, const char *msg);

/* Runs one statement on a slot within `deadline`.  params are text unless
 * `lengths`/`formats` (may be NULL) say otherwise.  On success *out (may be
 * NULL: then the result is cleared) is a COMMAND_OK / TUPLES_OK result.
 * Errors: AREC_EUNAVAILABLE (connection lost: the slot's connection is
 * dropped), AREC_ETIMEDOUT (deadline: dropped too), or the statement's
 * SQLSTATE (kept in slot->sqlstate) mapped by arec__pg_map_sqlstate(, 0).
 * arec_error_last() gets the SQLSTATE and a short reason; the server's
 * message goes to the log sink.  With nparams == 0 and no formats the
 * simple protocol is used, so `sql` may hold several statements (only the
 * library's own constant texts and migrations do that). */
int arec__pg_exec(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                  const char *sql, int nparams, const char *const *params,
                  const int *lengths, const int *formats, PGresult **out);

/* Runs `setup` (no parameters; e.g. set_config(..., true) of planner
 * settings) and then `sql` in one round trip and one implicit transaction
 * (a libpq pipeline), so what setup sets holds for sql's plan and ends with
 * it.  *out gets sql's rows.  Errors as arec__pg_exec. */
int arec__pg_exec_planned(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                          const char *setup, const char *sql, int nparams,
                          const char *const *params, PGresult **out);

/* acquire + exec + release with the call deadline. */
int arec__pg_query(arec_pg *pg, const char *sql, int nparams,
                   const char *const *params, const int *lengths,
                   const int *formats, PGresult **out);

/* After a statement was sent (sent: what the PQsend* call returned):
 * flushes, reads every result within `deadline`, as arec__pg_exec. */
int arec__pg_collect(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                     int sent, PGresult **out);

/* Prepared statements (prepared.c), for the library's own hot reads whose
 * plan does not depend on the size of an array parameter: the first use
 * on a connection prepares the text (one more round trip), later ones
 * skip parsing and, once PostgreSQL settles on a generic plan, planning.
 * The name of `sql` on the slot's connection into *name, preparing it when
 * needed; *name = NULL when the slot holds AREC__PG_PREP_MAX statements
 * (then run it unprepared).  Errors as arec__pg_exec. */
int arec__pg_prepare(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                     const char *sql, int nparams, const char **name);
/* 1 when the last statement on the slot failed because its prepared plan
 * went stale (a schema change altered its result: SQLSTATE 0A000); the
 * statement is then forgotten, the caller runs it once unprepared. */
int arec__pg_prep_stale(arec__pg_slot *slot, const char *sql);
/* Forgets every statement of the slot (its connection is gone). */
void arec__pg_prep_clear(arec__pg_slot *slot);
/* acquire + prepared statement + release with the call deadline; params
 * as text.  Errors as arec__pg_exec. */
int arec__pg_query_prepared(arec_pg *pg, const char *sql, int nparams,
                            const char *const *params, PGresult **out);

/* SQLSTATE -> AREC_E*.  public_api == 0 (the repository, the lock,
 * migrations): transient server conditions (statement timeout,
 * serialization failure, deadlock, lock timeout) read as AREC_ETIMEDOUT /
 * AREC_EUNAVAILABLE, never as an answer such as AREC_ECONFLICT.
 * public_api == 1 (arec_pg_query and friends): as pg.h documents. */
int arec__pg_map_sqlstate(const char *sqlstate, int public_api);
/* A short, value-free reason for a SQLSTATE ("unique violation"). */
const char *arec__pg_sqlstate_reason(const char *sqlstate);

void arec__pg_ref(arec_pg *pg);
/* Logs through the handle's sink (if any). */
void arec__pg_log(arec_pg *pg, arec_log_level level, const char *msg,
                  const char *key, const char *value);

/* Helpers. */
char *arec__pg_strdup(const char *s); /* NULL stays NULL */
/* Value or NULL for SQL NULL. */
const char *arec__pg_val(const PGresult *r, int row, int col);
uint64_t arec__pg_u64(const PGresult *r, int row, int col);
long long arec__pg_ll(const PGresult *r, int row, int col);
/* arec__pg_query of sql with params p, for a statement whose rows only
 * count (UPDATE ... RETURNING 1): how many it returned, or a negative
 * AREC_E* code. */
int arec__pg_matched(arec_pg *pg, const char *sql, int nparams,
                     const char *const *p);
double arec__pg_dbl(const PGresult *r, int row, int col);
int arec__pg_bool(const PGresult *r, int row, int col);
/* Strict conversion of a numeric's text to a finite double: 0, or -1 when
 * it does not convert (NaN, infinite, out of range, not a number). */
int arec__pg_to_double(const char *text, double *out);
/* An error text as the repository keeps it: at most 500 bytes, cut on a
 * UTF-8 character boundary, invalid bytes and control characters other
 * than tab/newline replaced by '?'.  out must hold 501 bytes; NULL in gives
 * NULL back, else out. */
#define AREC__PG_ERROR_MAX 500
const char *arec__pg_error_text(const char *in, char *out);
/* Decimal text of a number into buf (>= 24 bytes); returns buf. */
const char *arec__pg_i64(char *buf, long long v);
const char *arec__pg_u64s(char *buf, uint64_t v);

/* Array literals ("{a,b}") passed as text params, built in an arec__buf. */
/* Starts "{", appends elements quoted, closes "}". */
void arec__pg_arr_open(arec__buf *b);
void arec__pg_arr_str(arec__buf *b, const char *s); /* NULL -> NULL */
void arec__pg_arr_u64(arec__buf *b, uint64_t v);
void arec__pg_arr_dbl(arec__buf *b, double v);
/* Returns the NUL-terminated literal, or NULL on out of memory. */
const char *arec__pg_arr_close(arec__buf *b);
/* The literal of n strings in one go (NULL on out of memory; free with
 * arec__buf_free). */
const char *arec__pg_arr_strings(arec__buf *b, const char *const *s,
                                 size_t n);

/* Sets the error "pg: agent <id> not found": AREC_ENOTFOUND. */
int arec__pg_not_found(const char *agent_id);
/* Sets the error "pg: <what> of <id> not recorded: fence N is stale":
 * AREC_EFENCED. */
int arec__pg_stale(const char *what, const char *agent_id, uint64_t fence);

/* A timestamptz column as ms since the epoch (SQL fragment). */
#define AREC__PG_MS(col) "floor(extract(epoch FROM " col ") * 1000)::bigint"

#endif
