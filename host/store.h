/*
 * store.h -- the host's own PostgreSQL tables (host/sql/NNN_*.sql, ledger
 * host_schema_migrations): users, exchange accounts with their encrypted
 * credentials, trading pairs, the bot's state and the audit trail, over
 * the library's query interface (agentrecover/pg.h).
 *
 * Credentials: AES-256-GCM under AGENT_SECRETS_KEY, each value bound to its
 * row and column by associated data (a value moved to another row does not
 * decrypt); values written under AGENT_SECRETS_KEY_PREVIOUS still decrypt
 * while a rotation runs; values of 0.1 (no associated data) still decrypt
 * until rotated.  A wrong key is an error naming the row, never garbage.
 * No key, secret or decrypted value is ever logged or put in an error.
 *
 * Stored format of a value written by this version:
 *   "v2" | key id (1 byte) | nonce (12) | ciphertext | tag (16)
 * with associated data "user_exchanges/<row id>/<column>".  The key id is
 * the first byte of SHA-256("agentrecover key id" | key): it tells which
 * key wrote the value, so a rotation finds the rows not yet under the
 * current key.  A 0.1 value is nonce (12) | ciphertext | tag (16).
 *
 * Library tables the host relies on by name (stable across versions):
 * singleton_roles (name, holder, fence, lease_until) for the fenced
 * writes of a role's holder, agent_configs (id, user_id, is_active,
 * is_trading, deleted_at, running_on, running_incarnation), pods (name,
 * incarnation, lease_until) and agent_symbol_assignments (agent_id,
 * symbol) to refuse removing an account an agent trades on.
 *
 * Threads: an arec_host_store is thread-safe (the pool is; the store keeps
 * no other mutable state).
 */
#ifndef AREC_HOST_STORE_H
#define AREC_HOST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"

typedef struct arec_host_store arec_host_store;

#define AREC_HOST_KEY_LEN 32

/* key / previous_key: 32 bytes (copied, wiped on free) or NULL.  Without a
 * key credentials can neither be stored nor read (accounts are then
 * returned without them). */
int arec_host_store_new(arec_host_store **out, arec_pg *pg,
                        const unsigned char *key,
                        const unsigned char *previous_key, arec_log_fn log,
                        void *log_userdata);
void arec_host_store_free(arec_host_store *store);
/* 1 when a current key is configured. */
int arec_host_store_has_key(const arec_host_store *store);
/* The pool (borrowed). */
arec_pg *arec_host_store_pg(const arec_host_store *store);

/* Applies host/sql/NNN_*.sql (compiled in) after the library's. */
int arec_host_store_migrate(arec_pg *pg, int *out_applied);

/* Re-encrypts every stored secret under the current key with its
 * associated data, in batches of `batch` rows (0: 100), each batch one
 * transaction that locks its rows (FOR UPDATE SKIP LOCKED: a row another
 * transaction holds is left for the next run); idempotent; safe while pods
 * serve (a reader sees the old value or the new one, both readable while
 * the previous key is configured).  *out_changed: rows rewritten.  A row
 * that decrypts under no key is left as it is and logged (WARN, its id);
 * the call then goes on and returns AREC_ECRYPTO at the end, naming the
 * first such row.  Run it once every pod has the new key as current. */
int arec_host_store_rotate(arec_host_store *store, size_t batch,
                           uint64_t *out_changed);

/* ------------------------------------------------------------ accounts */
/* The exchange account a user trades `symbol` on (through the user's
 * trading pair), decrypted.  Free with arec_host_account_clear() (wipes).
 * 0; AREC_ENOTFOUND (no pair/account); AREC_ECRYPTO (does not decrypt:
 * arec_error_last() names the row, never the value; out->exchange_id is
 * set); AREC_EUNAVAILABLE.  Without a configured key the account comes
 * back without credentials (api_key, api_secret NULL). */
typedef struct arec_host_account {
  long long exchange_id;
  char exchange[32];
  char *api_key;
  char *api_secret;
  int testnet;
} arec_host_account;

int arec_host_store_account(arec_host_store *store, long long user_id,
                            const char *symbol, arec_host_account *out);
void arec_host_account_clear(arec_host_account *acc);

/* arec_host_store_account() as the trading agents' account hook
 * (arec_host_trading_config.account, userdata the store): the same codes,
 * with AREC_ECRYPTO's reason "credentials of user_exchanges row N do not
 * decrypt (wrong AGENT_SECRETS_KEY?)". */
int arec_host_store_account_hook(void *store, long long user_id,
                                 const char *symbol, arec_host_account *out);

/* --------------------------------------------------------------- users */
int arec_host_store_user_upsert(arec_host_store *store, long long id,
                                const char *name);
/* AREC_ENOTFOUND; *out_name (may be NULL) malloc'd. */
int arec_host_store_user_get(arec_host_store *store, long long id,
                             char **out_name);

/* ---------------------------------------------------- exchange accounts */
/* One account as listed (never its credentials). */
typedef struct arec_host_exchange {
  long long id;
  long long user_id;
  char exchange[32];
  int testnet;
} arec_host_exchange;

/* Encrypts both values bound to the new row (its id is taken from the
 * sequence first, all in one transaction).  AREC_ENOTFOUND: no such user;
 * AREC_ECRYPTO: no key configured. */
int arec_host_store_exchange_create(arec_host_store *store, long long user_id,
                                    const char *exchange, const char *api_key,
                                    const char *api_secret, int testnet,
                                    long long *out_id);
/* Deletes the account and its pairs.  AREC_ENOTFOUND (not the user's);
 * AREC_ECONFLICT while an agent of the user that is wanted (active,
 * trading, not deleted) or still running (its running_on pod live) is
 * assigned a symbol whose pair is on this account. */
int arec_host_store_exchange_remove(arec_host_store *store, long long user_id,
                                    long long exchange_id);
/* The user's accounts by id.  Free with free(*out). */
int arec_host_store_exchange_list(arec_host_store *store, long long user_id,
                                  arec_host_exchange **out, size_t *out_n);

/* --------------------------------------------------------------- pairs */
/* exchange_id 0: the user's newest account.  *out_exchange_id (may be
 * NULL) gets the account used.  AREC_ENOTFOUND: no such account of the
 * user; AREC_EEXIST: the user has a pair for the symbol. */
int arec_host_store_pair_create(arec_host_store *store, long long user_id,
                                long long exchange_id, const char *symbol,
                                long long *out_id, long long *out_exchange_id);
/* 1 when the user has a pair for `symbol`, 0 when not, < 0 error. */
int arec_host_store_pair_exists(arec_host_store *store, long long user_id,
                                const char *symbol);

/* ----------------------------------------------------------- bot state */
/* host_kv: a value by key (AREC_ENOTFOUND when never set; *out malloc'd). */
int arec_host_store_kv_get(arec_host_store *store, const char *key,
                           char **out);
/* Writes `value` under `key` in one statement, only while `lease` is the
 * current holder of its role (singleton_roles: name, holder and fence
 * match and lease_until is after the database's clock; the role row is
 * share-locked, so a concurrent claim is either before -- nothing written
 * -- or after).  0; AREC_EFENCED when not. */
int arec_host_store_kv_set_fenced(arec_host_store *store, const char *key,
                                  const char *value,
                                  const arec_role_lease *lease);
#define AREC_HOST_KV_TELEGRAM_OFFSET "telegram:offset"

/* --------------------------------------------------------------- audit */
/* One event (strings: NULL when none). */
typedef struct arec_host_audit {
  long long id;       /* listed: the row id */
  char *time;         /* listed: RFC 3339 UTC */
  char *actor;
  char *action;
  char *agent_id;
  long long user_id;  /* 0: none */
  char *result;
  char *request_id;
} arec_host_audit;

/* Records one event (id and time are the database's). */
int arec_host_store_audit_add(arec_host_store *store,
                              const arec_host_audit *event);
/* Records events in one statement, in their order (ids ascending), all or
 * none; an event with an agent_id and no user_id gets the agent's owner as
 * its user (so its owner sees it).  n == 0: nothing, 0. */
int arec_host_store_audit_add_many(arec_host_store *store,
                                   const arec_host_audit *events, size_t n);
/* Events with id > after, oldest first, at most limit (1..1000); user_id
 * > 0: only that user's.  Free with arec_host_audit_free(*out, *out_n). */
int arec_host_store_audit_list(arec_host_store *store, long long after,
                               unsigned int limit, long long user_id,
                               arec_host_audit **out, size_t *out_n);
/* Which events arec_host_store_audit_query() lists. */
typedef struct arec_host_audit_query {
  long long after;     /* id > after (0: from the first) */
  long long before;    /* > 0: id < before */
  unsigned int limit;  /* 1..1000 */
  long long user_id;   /* > 0: only that user's */
  const char *action;  /* NULL: any; else [a-z0-9_.]{1,64} */
  int newest_first;    /* 1: ids descending */
} arec_host_audit_query;
/* As audit_list with every filter; AREC_EINVAL for a bad one. */
int arec_host_store_audit_query(arec_host_store *store,
                                const arec_host_audit_query *query,
                                arec_host_audit **out, size_t *out_n);
/* 1 when `action` is a well-formed action name: [a-z0-9_.]{1,64}. */
int arec_host_audit_action_valid(const char *action);
void arec_host_audit_free(arec_host_audit *events, size_t n);

#endif
