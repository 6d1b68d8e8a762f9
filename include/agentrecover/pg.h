/*
 * agentrecover/pg.h -- the PostgreSQL backend (libpq): schema migrations,
 * the repository, and what the host needs beyond the vtable (users,
 * exchanges, pairs, agents, pods, fenced singleton roles, a small key-value
 * store).  No libpq type appears here: the backend takes a conninfo string.
 *
 * Threads: an arec_pg handle is thread-safe: it owns a small pool of
 * connections (pool_size) and hands one to each call.  A broken connection
 * is reset with backoff; every call returns AREC_EUNAVAILABLE or
 * AREC_ETIMEDOUT within call_timeout_ms rather than hang.
 *
 * Secrets: exchange api_key/api_secret are stored encrypted with AES-256-GCM
 * under the caller's 32-byte key (random 96-bit nonce per value).  A wrong
 * key gives AREC_ECRYPTO, never garbage.  No secret, password or conninfo
 * ever appears in arec_error_last() or a log line.
 */
#ifndef AGENTRECOVER_PG_H
#define AGENTRECOVER_PG_H

#include "../agentrecover.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AREC_PG_OPTIONS_VERSION 1

typedef struct arec_pg_options {
  unsigned int version;         /* AREC_PG_OPTIONS_VERSION */
  const char *conninfo;         /* libpq conninfo or URI; required (copied) */
  unsigned int pool_size;       /* connections; default 4 */
  int64_t connect_timeout_ms;   /* per connection attempt; default 5000 */
  int64_t call_timeout_ms;      /* client-side deadline per call; 5000 */
  unsigned int history_keep;    /* agent_state_history rows kept per agent
                                   and symbol; default 100 */
  const unsigned char *secrets_key; /* 32 bytes (copied) or NULL: then
                                       exchange secrets cannot be stored or
                                       read (AREC_EINVAL) */
  arec_log_fn log;              /* optional sink for the backend's logs */
  void *log_userdata;
} arec_pg_options;

#define AREC_PG_OPTIONS_INIT                                                   \
  {AREC_PG_OPTIONS_VERSION, NULL, 0, 0, 0, 0, NULL, NULL, NULL}

/* A reference-counted handle on a connection pool. */
typedef struct arec_pg arec_pg;

/* Connects one connection now (AREC_EUNAVAILABLE if the server cannot be
 * reached: the caller retries with backoff).  *out holds one reference. */
AREC_EXTERN int arec_pg_new(arec_pg **out, const arec_pg_options *opts);
/* Drops the caller's reference; the pool closes when the last reference
 * (including repositories made from it) is gone.  NULL ok. */
AREC_EXTERN void arec_pg_free(arec_pg *pg);
/* SELECT 1 within the call deadline. */
AREC_EXTERN int arec_pg_ping(arec_pg *pg);

/* Applies the migrations compiled into the library (sql/NNN_*.sql) that are
 * not yet in schema_migrations, each in its own transaction, serialised
 * across processes by an advisory lock.  *out_applied (may be NULL) gets
 * how many were applied now. */
AREC_EXTERN int arec_pg_migrate(arec_pg *pg, int *out_applied);
/* Highest applied migration version (0 on an empty database). */
AREC_EXTERN int arec_pg_schema_version(arec_pg *pg, int *out);

/* The repository vtable over this pool.  It takes its own reference on
 * `pg`; the manager it is given to frees it. */
AREC_EXTERN int arec_pg_repository_new(arec_repository **out, arec_pg *pg);

/* ------------------------------------------------------------ lock backend */
/* The distributed-lock vtable on PostgreSQL alone (AGENT_LOCK_BACKEND=
 * postgres; needs migration 004).  Agent leases are rows with expiry on the
 * database clock; the optional pod_lease slot (lock.h version 2) keeps one
 * lease row per pod incarnation plus one session-level advisory lock on a
 * dedicated connection: an agent lease whose holder's pod lease has not been
 * renewed for its TTL while the holder's advisory lock is free may be taken
 * over before its own TTL (fast failover after kill -9; a database restart
 * alone never triggers it, since live pods re-take their lock and renew).
 * Thread-safe; takes its own reference on `pg`; the manager frees it. */
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

/* ------------------------------------------------------ users & exchanges */
/* Creates the user or renames an existing one. */
AREC_EXTERN int arec_pg_user_upsert(arec_pg *pg, long long id,
                                    const char *name);
/* AREC_ENOTFOUND; *out_name (may be NULL) freed with arec_free(). */
AREC_EXTERN int arec_pg_user_get(arec_pg *pg, long long id, char **out_name);

/* Stores an exchange account with encrypted credentials; *out_id its id.
 * AREC_ENOTFOUND (user), AREC_EINVAL (no secrets key, empty fields). */
AREC_EXTERN int arec_pg_exchange_create(arec_pg *pg, long long *out_id,
                                        long long user_id,
                                        const char *exchange,
                                        const char *api_key,
                                        const char *api_secret, int testnet);

/* A trading pair of a user on one of that user's exchanges.  AREC_ENOTFOUND
 * (user, or exchange not this user's), AREC_EEXIST (user already has the
 * symbol). */
AREC_EXTERN int arec_pg_pair_create(arec_pg *pg, long long *out_id,
                                    long long user_id, long long exchange_id,
                                    const char *symbol);

/* ----------------------------------------------------------------- agents */
/* Creates an agent (is_active, not trading).  `id` NULL: a random 12-char
 * id.  The id is copied into out_id (at least 65 bytes).  AREC_EINVAL (bad
 * id or empty strategy/name), AREC_ENOTFOUND (user), AREC_EEXIST. */
AREC_EXTERN int arec_pg_agent_create(arec_pg *pg, char *out_id,
                                     const char *id, long long user_id,
                                     const char *strategy, const char *name);

/* Assigns a symbol with its budget (> 0): creates the assignment and the
 * state row (balance = budget, memory {}).  AREC_ENOTFOUND (agent),
 * AREC_ECONFLICT (the owner has no trading pair for the symbol),
 * AREC_EEXIST (already assigned), AREC_EINVAL (budget <= 0). */
AREC_EXTERN int arec_pg_agent_assign(arec_pg *pg, const char *id,
                                     const char *symbol, double budget);

/* The user's wish, as the repository's set_trading. */
AREC_EXTERN int arec_pg_agent_set_trading(arec_pg *pg, const char *id,
                                          int wanted);
/* is_active.  AREC_ENOTFOUND. */
AREC_EXTERN int arec_pg_agent_set_active(arec_pg *pg, const char *id,
                                         int active);

typedef struct arec_pg_symbol {
  char *symbol;
  double budget;
  double balance;
  char *memory;          /* JSON text */
  uint64_t fence;        /* of the last accepted write */
  char *updated_at;      /* RFC 3339 */
} arec_pg_symbol;

typedef struct arec_pg_agent {
  char *id;
  long long user_id;
  char *name;
  char *strategy;
  int is_active;
  int is_trading;
  char *running_on;      /* NULL when no pod runs it */
  uint64_t fence;
  char *created_at;      /* RFC 3339 */
  char *updated_at;      /* latest state update, RFC 3339, or NULL */
  size_t nsymbols;
  arec_pg_symbol *symbols;
} arec_pg_agent;

/* One agent.  AREC_ENOTFOUND.  Free with arec_pg_agents_free(*out, 1). */
AREC_EXTERN int arec_pg_agent_get(arec_pg *pg, const char *id,
                                  arec_pg_agent **out);
/* A page of agents ordered by id, ids > `after` (NULL: from the start), at
 * most `limit` (1..1000), only user_id's when user_id != 0.  Free with
 * arec_pg_agents_free(*out, *out_n). */
AREC_EXTERN int arec_pg_agent_list(arec_pg *pg, const char *after,
                                   unsigned int limit, long long user_id,
                                   arec_pg_agent **out, size_t *out_n);
AREC_EXTERN void arec_pg_agents_free(arec_pg_agent *agents, size_t n);

/* ------------------------------------------------------------------- pods */
typedef struct arec_pg_pod {
  char *name;
  char *incarnation;
  char *started_at;
  char *heartbeat_at;
  char *lease_until;
  long long agents;      /* agent_configs rows running_on this pod */
} arec_pg_pod;

/* Live pods (lease_until in the future), ordered by name. */
AREC_EXTERN int arec_pg_pods_list(arec_pg *pg, arec_pg_pod **out,
                                  size_t *out_n);
AREC_EXTERN void arec_pg_pods_free(arec_pg_pod *pods, size_t n);

/* -------------------------------------------------- fenced singleton roles */
/* A role (e.g. "telegram") is decided by the distributed lock; the database
 * fences it.  claim bumps the role's fence and records the holder; renew and
 * release and the fenced kv write succeed only while `fence` is current
 * (AREC_EFENCED otherwise). */
AREC_EXTERN int arec_pg_role_claim(arec_pg *pg, const char *role,
                                   const char *pod, uint64_t *out_fence);
AREC_EXTERN int arec_pg_role_check(arec_pg *pg, const char *role,
                                   uint64_t fence);
AREC_EXTERN int arec_pg_role_release(arec_pg *pg, const char *role,
                                     uint64_t fence);

/* ---------------------------------------------------------- key-value */
/* *out freed with arec_free(); AREC_ENOTFOUND when unset. */
AREC_EXTERN int arec_pg_kv_get(arec_pg *pg, const char *key, char **out);
/* Sets key = value; when role != NULL only while (role, fence) is current
 * (AREC_EFENCED otherwise), in one transaction. */
AREC_EXTERN int arec_pg_kv_set(arec_pg *pg, const char *key,
                               const char *value, const char *role,
                               uint64_t fence);

/* ------------------------------------------------------ bot helpers */
/* The id of the user's newest exchange account.  AREC_ENOTFOUND when the
 * user has none (or does not exist). */
AREC_EXTERN int arec_pg_exchange_latest(arec_pg *pg, long long user_id,
                                        long long *out_id);

#ifdef __cplusplus
}
#endif
#endif
