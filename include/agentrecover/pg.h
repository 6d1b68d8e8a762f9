/*
 * agentrecover/pg.h -- the PostgreSQL backend (libpq): schema migrations,
 * the repository, the lock on PostgreSQL alone, and a small deadline-bounded
 * query interface over the same connection pool so that an embedding
 * service can keep its own tables beside the library's (and migrate them
 * the same way).  No libpq type appears here: the backend takes a conninfo
 * string.
 *
 * Threads: an arec_pg handle is thread-safe: it owns a pool of connections
 * (pool_size) and hands one to each call.  A broken connection is reset
 * with backoff; every call returns AREC_EUNAVAILABLE or AREC_ETIMEDOUT
 * within call_timeout_ms rather than hang.  Give the manager a pool of its
 * own (arec_pg_new twice): then no administrative query can make its
 * heartbeats, claims, saves or releases wait for a connection.
 *
 * No password or conninfo ever appears in arec_error_last() or a log line;
 * database error details are logged through the handle's sink, while
 * arec_error_last() carries the SQLSTATE class and a short reason.
 */
#ifndef AGENTRECOVER_PG_H
#define AGENTRECOVER_PG_H

#include "../agentrecover.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 2 dropped secrets_key (credentials are the embedding service's business)
 * and added statement_timeout_ms and application_name.  Only version 2 is
 * accepted. */
#define AREC_PG_OPTIONS_VERSION 2

typedef struct arec_pg_options {
  unsigned int version;         /* AREC_PG_OPTIONS_VERSION */
  const char *conninfo;         /* libpq conninfo or URI; required (copied) */
  unsigned int pool_size;       /* connections; default 4 */
  int64_t connect_timeout_ms;   /* per connection attempt; default 5000 */
  int64_t call_timeout_ms;      /* client-side deadline per call; 5000 */
  unsigned int history_keep;    /* agent_state_history rows kept per agent
                                   and symbol; default 100 */
  arec_log_fn log;              /* optional sink for the backend's logs */
  void *log_userdata;
  int64_t statement_timeout_ms; /* > 0: each connection sets the server's
                                   statement_timeout to this (e.g. below
                                   call_timeout_ms in an administrative
                                   pool: a slow statement is then cancelled
                                   by the server, AREC_ECONFLICT, and the
                                   connection kept); 0: call_timeout_ms, so
                                   a statement abandoned at the client's
                                   deadline also ends on the server */
  const char *application_name; /* shown in pg_stat_activity (copied);
                                   NULL: "agentrecover" */
} arec_pg_options;

#define AREC_PG_OPTIONS_INIT                                                   \
  {AREC_PG_OPTIONS_VERSION, NULL, 0, 0, 0, 0, NULL, NULL, 0, NULL}

/* A reference-counted handle on a connection pool. */
typedef struct arec_pg arec_pg;

/* Connects one connection now (AREC_EUNAVAILABLE if the server cannot be
 * reached: the caller retries with backoff).  *out holds one reference. */
AREC_EXTERN int arec_pg_new(arec_pg **out, const arec_pg_options *opts);
/* Drops the caller's reference; the pool closes when the last reference
 * (including repositories and locks made from it) is gone.  NULL ok. */
AREC_EXTERN void arec_pg_free(arec_pg *pg);
/* SELECT 1 within the call deadline. */
AREC_EXTERN int arec_pg_ping(arec_pg *pg);

/* Checks that each client connection gets a server session of its own, as
 * the library needs (advisory locks, session settings): two connections of
 * the pool ask the server for their backend's pid.  0; AREC_ECONFLICT when
 * both were served by the same backend -- a connection pooler in
 * transaction or statement pooling mode (PgBouncer pool_mode=transaction):
 * arec_error_last() says so and names the pooling mode.  Needs pool_size >=
 * 2. */
AREC_EXTERN int arec_pg_check_session(arec_pg *pg);

/* ------------------------------------------------------------ migrations */
/* One migration: its version (> 0, ascending), file name, and SQL body
 * (without BEGIN/COMMIT; the body records its own version in the ledger,
 * so `psql -f` of the file and arec_pg_migrate_set() agree). */
typedef struct arec_pg_migration {
  int version;
  const char *name;
  const char *sql;
} arec_pg_migration;

/* Applies the migrations of `migrations[0..n)` whose version is not yet in
 * the ledger table `ledger` ([a-z_][a-z0-9_]{0,62}; the first migration
 * creates it), each in its own transaction, serialised across processes by
 * a transaction-level advisory lock per ledger.  *out_applied (may be NULL)
 * gets how many were applied now. */
AREC_EXTERN int arec_pg_migrate_set(arec_pg *pg, const char *ledger,
                                    const arec_pg_migration *migrations,
                                    size_t n, int *out_applied);
/* Applies the library's own migrations (sql/NNN_*.sql, compiled in) with
 * the ledger schema_migrations. */
AREC_EXTERN int arec_pg_migrate(arec_pg *pg, int *out_applied);
/* Highest version in a ledger (0 when it does not exist yet). */
AREC_EXTERN int arec_pg_ledger_version(arec_pg *pg, const char *ledger,
                                       int *out);
/* The same for the library's ledger. */
AREC_EXTERN int arec_pg_schema_version(arec_pg *pg, int *out);

/* ------------------------------------------------------------ repository */
/* The repository vtable over this pool.  It takes its own reference on
 * `pg`; the manager it is given to frees it (else arec_repository_free()). */
AREC_EXTERN int arec_pg_repository_new(arec_repository **out, arec_pg *pg);

/* ------------------------------------------------------------ lock backend */
/* The distributed-lock vtable on PostgreSQL alone (agent leases as rows
 * with expiry on the database clock).  The optional pod_lease slot keeps one
 * lease row per pod incarnation plus one session-level advisory lock on a
 * dedicated connection: an agent lease whose holder's pod lease has not
 * been renewed for its TTL while the holder's advisory lock is free may be
 * taken over before its own TTL (fast failover after kill -9; a database
 * restart alone never triggers it, since live pods re-take their lock and
 * renew).  Thread-safe; takes its own reference on `pg`; the manager frees
 * it (else arec_lock_free()). */
#define AREC_PG_LOCK_OPTIONS_VERSION 1

typedef struct arec_pg_lock_options {
  unsigned int version; /* AREC_PG_LOCK_OPTIONS_VERSION */
  int no_liveness;      /* 1: no dedicated connection/advisory lock (pod
                           leases are then plain rows); default 0 */
} arec_pg_lock_options;

#define AREC_PG_LOCK_OPTIONS_INIT {AREC_PG_LOCK_OPTIONS_VERSION, 0}

/* opts may be NULL (defaults). */
AREC_EXTERN int arec_pg_lock_new(arec_lock **out, arec_pg *pg,
                                 const arec_pg_lock_options *opts);

/* ------------------------------------------------------------------ queries */
/* For an embedding service's own tables.  Statements are always
 * parameterised: values[i] is text unless binary[i] (then lengths[i] bytes);
 * lengths and binary may be NULL (all text).  Results are text.  Errors:
 * AREC_EUNAVAILABLE / AREC_ETIMEDOUT (connection lost or deadline: the
 * connection is dropped), AREC_EEXIST (unique violation), AREC_ENOTFOUND
 * (foreign key violation), AREC_EINVAL (data exception, check violation),
 * AREC_ECONFLICT (serialization failure, lock timeout, statement timeout),
 * AREC_EBACKEND (any other server error); arec_error_last() names the
 * SQLSTATE, never a parameter value.  Every pooled session is set up for
 * short statements: TIME ZONE 'UTC', jit = off, plan_cache_mode =
 * force_generic_plan, max_parallel_workers_per_gather = 0, the
 * statement_timeout of the options (and from PostgreSQL 14 on
 * client_connection_check_interval = 1000); a statement that wants
 * otherwise sets it with SET LOCAL inside arec_pg_transaction(). */
typedef struct arec_pg_result arec_pg_result; /* rows of one statement */
typedef struct arec_pg_tx arec_pg_tx;         /* a transaction in progress */

/* One statement on a pooled connection within the call deadline.  *out
 * (may be NULL: the result is dropped) is freed with arec_pg_result_free(). */
AREC_EXTERN int arec_pg_query(arec_pg *pg, arec_pg_result **out,
                              const char *sql, int nparams,
                              const char *const *values, const int *lengths,
                              const int *binary);

/* Runs fn inside BEGIN ... COMMIT on one pooled connection, the whole
 * within the call deadline: fn's return value < 0 (or a failed statement)
 * rolls back and is returned.  fn must not keep `tx` after it returns. */
AREC_EXTERN int arec_pg_transaction(arec_pg *pg,
                                    int (*fn)(arec_pg_tx *tx, void *ud),
                                    void *ud);
/* One statement inside a transaction (as arec_pg_query). */
AREC_EXTERN int arec_pg_tx_query(arec_pg_tx *tx, arec_pg_result **out,
                                 const char *sql, int nparams,
                                 const char *const *values,
                                 const int *lengths, const int *binary);

AREC_EXTERN size_t arec_pg_result_rows(const arec_pg_result *r);
/* Rows the statement changed (UPDATE/DELETE/INSERT), 0 otherwise. */
AREC_EXTERN size_t arec_pg_result_changed(const arec_pg_result *r);
/* The text of a value, NULL for SQL NULL or out of range.  Valid until the
 * result is freed. */
AREC_EXTERN const char *arec_pg_result_value(const arec_pg_result *r,
                                             size_t row, size_t col);
AREC_EXTERN size_t arec_pg_result_length(const arec_pg_result *r, size_t row,
                                         size_t col);
AREC_EXTERN void arec_pg_result_free(arec_pg_result *r);

#ifdef __cplusplus
}
#endif
#endif
