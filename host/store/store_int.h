/*
 * host/store/store_int.h -- what the files of host/store share: the store
 * struct, the credential cipher (crypto.c) and small helpers (store.c).
 * Internal to host/store.
 */
#ifndef AREC_HOST_STORE_INT_H
#define AREC_HOST_STORE_INT_H

#include <stddef.h>

#include "store.h"

struct arec_host_store {
  arec_pg *pg;
  unsigned char key[AREC_HOST_KEY_LEN];
  unsigned char prev[AREC_HOST_KEY_LEN];
  int has_key, has_prev;
  unsigned char key_id, prev_id; /* see crypto.c */
  arec_log_fn log;
  void *log_userdata;
};

/* ------------------------------------------------------------ crypto.c */
#define AREC__HS_HDR 3   /* "v2" + key id */
#define AREC__HS_NONCE 12
#define AREC__HS_TAG 16

/* The key id byte of a key. */
unsigned char arec__hs_key_id(const unsigned char *key);
/* Encrypts `plain` under the current key bound to (row, column).  *out
 * malloc'd.  AREC_ECRYPTO when no key is configured. */
int arec__hs_seal(const arec_host_store *s, long long row, const char *column,
                  const char *plain, unsigned char **out, size_t *out_len);
/* Decrypts a stored value of (row, column): v2 under the key its id names
 * (current, then previous), else as a 0.1 value under the current, then
 * the previous key.  *out malloc'd (free with arec__hs_secret_free);
 * *out_current (may be NULL) = 1 when the value is already v2 under the
 * current key.  AREC_ECRYPTO naming the row and column when no key fits. */
int arec__hs_open(const arec_host_store *s, long long row, const char *column,
                  const unsigned char *in, size_t len, char **out,
                  int *out_current);
/* Wipes then frees a decrypted value.  NULL ok. */
void arec__hs_secret_free(char *p);
void arec__hs_wipe(void *p, size_t n);

/* ------------------------------------------------------------- store.c */
/* Decimal text of v in buf (24 bytes). */
const char *arec__hs_ll(char *buf, long long v);
/* Parses a decimal integer value of a result (0 when NULL/bad). */
long long arec__hs_val_ll(const arec_pg_result *r, size_t row, size_t col);
/* Parses hex text (encode(x, 'hex')) into malloc'd bytes. */
int arec__hs_unhex(const char *hex, unsigned char **out, size_t *out_len);
/* A statement that must answer a row, in tx when not NULL, else on the
 * store's pool: AREC_ENOTFOUND (no result kept) when it answers none; the
 * caller names what is missing.  out may be NULL when only the row's
 * existence counts. */
int arec__hs_query_row(const arec_host_store *s, arec_pg_tx *tx,
                       arec_pg_result **out, const char *sql, int nparams,
                       const char *const *values);
/* strdup of a result value, NULL stays NULL; *oom set on failure. */
char *arec__hs_dup(const arec_pg_result *r, size_t row, size_t col, int *oom);
/* Logs through the store's sink (fields typed as strings). */
void arec__hs_log(const arec_host_store *s, arec_log_level lvl,
                  const char *msg, const char *k1, const char *v1,
                  const char *k2, const char *v2);

#endif
