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
 * Threads: an arec_host_store is thread-safe (the pool is).
 */
#ifndef AREC_HOST_STORE_H
#define AREC_HOST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"

typedef struct arec_host_store arec_host_store;

/* key / previous_key: 32 bytes (copied, wiped on free) or NULL. */
int arec_host_store_new(arec_host_store **out, arec_pg *pg,
                        const unsigned char *key,
                        const unsigned char *previous_key, arec_log_fn log,
                        void *log_userdata);
void arec_host_store_free(arec_host_store *store);

/* Applies host/sql/NNN_*.sql (compiled in) after the library's. */
int arec_host_store_migrate(arec_pg *pg, int *out_applied);

/* Re-encrypts every stored secret under the current key with its
 * associated data, in batches of `batch` rows, each batch one
 * transaction; idempotent; safe while pods serve.  *out_changed: rows
 * rewritten. */
int arec_host_store_rotate(arec_host_store *store, size_t batch,
                           uint64_t *out_changed);

/* The exchange account a user trades `symbol` on (through the user's
 * trading pair), decrypted.  Free with arec_host_account_clear() (wipes).
 * 0; AREC_ENOTFOUND (no pair/account); AREC_ECRYPTO (does not decrypt:
 * arec_error_last() names the row, never the value); AREC_EUNAVAILABLE. */
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

#endif
