/*
 * pg_internal.h -- shared internals of the PostgreSQL backend: the pool
 * handle, the deadline-bounded query helpers (pool.c), AES-256-GCM
 * (crypto.c) and small parsing helpers.  Not installed.
 */
#ifndef AREC_PG_INTERNAL_H
#define AREC_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"

/* One pooled connection. */
typedef struct arec__pg_slot {
  PGconn *conn; /* NULL: not connected */
  int busy;
} arec__pg_slot;

struct arec_pg {
  char *conninfo;
  unsigned int pool_size;
  int64_t connect_timeout_ms;
  int64_t call_timeout_ms;
  unsigned int history_keep;
  int has_key;
  unsigned char key[32];
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
 * transaction, is dropped (or rolled back). */
void arec__pg_release(arec_pg *pg, arec__pg_slot *slot);

/* Runs one statement on a slot within `deadline`.  params are text unless
 * `lengths`/`formats` (may be NULL) say otherwise.  On success *out (may be
 * NULL: then the result is cleared) is a COMMAND_OK / TUPLES_OK result.
 * Errors: AREC_EUNAVAILABLE (connection lost: the slot's connection is
 * dropped), AREC_ETIMEDOUT (deadline: dropped too), or the SQLSTATE mapped
 * (23505 AREC_EEXIST, 23503 AREC_ENOTFOUND, 22xxx/23514 AREC_EINVAL, else
 * AREC_EBACKEND).  `sql` may hold several statements when nparams == 0. */
int arec__pg_exec(arec_pg *pg, arec__pg_slot *slot, int64_t deadline,
                  const char *sql, int nparams, const char *const *params,
                  const int *lengths, const int *formats, PGresult **out);

/* acquire + exec + release with the call deadline. */
int arec__pg_query(arec_pg *pg, const char *sql, int nparams,
                   const char *const *params, const int *lengths,
                   const int *formats, PGresult **out);

void arec__pg_ref(arec_pg *pg);
/* Logs through the handle's sink (if any). */
void arec__pg_log(arec_pg *pg, arec_log_level level, const char *msg,
                  const char *key, const char *value);

/* AES-256-GCM: *out = nonce(12) || ciphertext || tag(16), malloc'd. */
int arec__pg_encrypt(const arec_pg *pg, const char *plain,
                     unsigned char **out, size_t *out_len);
/* Inverse; *out is a malloc'd NUL-terminated string.  AREC_ECRYPTO. */
int arec__pg_decrypt(const arec_pg *pg, const unsigned char *in, size_t len,
                     char **out);
/* Decrypts a bytea column in text (hex) form. */
int arec__pg_decrypt_field(const arec_pg *pg, const char *hex, char **out);

/* Helpers. */
char *arec__pg_strdup(const char *s); /* NULL stays NULL */
/* Value or NULL for SQL NULL. */
const char *arec__pg_val(const PGresult *r, int row, int col);
uint64_t arec__pg_u64(const PGresult *r, int row, int col);
long long arec__pg_ll(const PGresult *r, int row, int col);
double arec__pg_dbl(const PGresult *r, int row, int col);
int arec__pg_bool(const PGresult *r, int row, int col);

/* A growing buffer for array literals ("{a,b}") passed as text params. */
typedef struct arec__pg_buf {
  char *p;
  size_t len, cap;
  int oom;
} arec__pg_buf;
void arec__pg_buf_init(arec__pg_buf *b);
void arec__pg_buf_free(arec__pg_buf *b);
void arec__pg_buf_put(arec__pg_buf *b, const char *s, size_t n);
/* Starts "{", appends elements quoted, closes "}". */
void arec__pg_arr_open(arec__pg_buf *b);
void arec__pg_arr_str(arec__pg_buf *b, const char *s); /* NULL -> NULL */
void arec__pg_arr_u64(arec__pg_buf *b, uint64_t v);
void arec__pg_arr_dbl(arec__pg_buf *b, double v);
/* Returns the NUL-terminated literal, or NULL on out of memory. */
const char *arec__pg_arr_close(arec__pg_buf *b);

#endif
