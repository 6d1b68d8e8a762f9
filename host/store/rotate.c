/*
 * rotate.c -- re-encryption of the stored credentials under the current
 * key (agentrecoverd --rotate-secrets), while pods keep serving.
 *
 * How: batches walk user_exchanges by id.  Each batch is one transaction
 * that selects up to `batch` rows after the last id seen whose values are
 * not both "v2" under the current key's id (FOR UPDATE SKIP LOCKED: a row
 * another transaction holds is left for a later run), decrypts each value
 * (v2 under the key its id names, or a 0.1 value under the current or the
 * previous key), seals it again under the current key bound to its row
 * and column, and updates the row.  When the current and the previous key
 * happen to share their id byte, every row is a candidate and a value
 * that opens under the current key is left alone.  A reader sees the old
 * row or the new one, both readable while the previous key is configured;
 * a second run changes nothing.
 * Must never: log or put into an error a key or a value, rewrite a value
 * it could not decrypt, hold a batch's locks across batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

typedef struct rot_ctx {
  arec_host_store *s;
  size_t batch;
  long long after;    /* keyset: last id seen */
  size_t seen;        /* rows selected by the batch */
  uint64_t changed;   /* rows rewritten by the batch */
  uint64_t failed;    /* rows of the batch that decrypt under no key */
  long long first_bad; /* first such row (0 none) */
} rot_ctx;

/* Re-seals one value; *out NULL when it is current already. */
static int reseal(arec_host_store *s, long long id, const char *column,
                  const char *hex, unsigned char **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  unsigned char *raw = NULL;
  size_t len = 0;
  int err = arec__hs_unhex(hex, &raw, &len);
  if (err)
    return err == AREC_EINVAL ? AREC_ECRYPTO : err;
  char *plain = NULL;
  int current = 0;
  err = arec__hs_open(s, id, column, raw, len, &plain, &current);
  free(raw);
  if (err)
    return err;
  if (!current)
    err = arec__hs_seal(s, id, column, plain, out, out_len);
  arec__hs_secret_free(plain);
  return err;
}

static int rot_tx(arec_pg_tx *tx, void *ud) {
  rot_ctx *c = ud;
  arec_host_store *s = c->s;
  unsigned char prefix[AREC__HS_HDR] = {'v', '2', s->key_id};
  int all = s->has_prev && s->prev_id == s->key_id;
  char after[24], lim[24];
  const char *p[4] = {arec__hs_ll(after, c->after),
                      arec__hs_ll(lim, (long long)c->batch),
                      (const char *)prefix, all ? "t" : "f"};
  int lens[4] = {0, 0, AREC__HS_HDR, 0};
  int bin[4] = {0, 0, 1, 0};
  arec_pg_result *r = NULL;
  c->seen = 0;
  c->changed = 0;
  c->failed = 0;
  c->first_bad = 0;
  int err = arec_pg_tx_query(
      tx, &r,
      "SELECT id, encode(api_key, 'hex'), encode(api_secret, 'hex') "
      "FROM user_exchanges "
      "WHERE id > $1::bigint AND ($4::boolean "
      "  OR substring(api_key FROM 1 FOR 3) <> $3::bytea "
      "  OR substring(api_secret FROM 1 FOR 3) <> $3::bytea) "
      "ORDER BY id LIMIT $2::bigint FOR UPDATE SKIP LOCKED",
      4, p, lens, bin);
  if (err)
    return err;
  size_t n = arec_pg_result_rows(r);
  c->seen = n;
  for (size_t i = 0; i < n && !err; i++) {
    long long id = arec__hs_val_ll(r, i, 0);
    unsigned char *k = NULL, *sec = NULL;
    size_t kl = 0, sl = 0;
    c->after = id;
    int e = reseal(s, id, "api_key", arec_pg_result_value(r, i, 1), &k, &kl);
    if (!e)
      e = reseal(s, id, "api_secret", arec_pg_result_value(r, i, 2), &sec,
                 &sl);
    if (e == AREC_ECRYPTO) {
      char ids[24];
      arec__hs_log(s, AREC_LOG_WARN,
                   "stored credentials do not decrypt under any key: left "
                   "as they are",
                   "user_exchange_id", arec__hs_ll(ids, id), NULL, NULL);
      if (!c->failed++)
        c->first_bad = id;
    } else if (e) {
      err = e;
    } else if (k || sec) {
      char idt[24];
      /* NULL: that column is current already and stays as it is */
      const char *q[3] = {arec__hs_ll(idt, id), (const char *)k,
                          (const char *)sec};
      int ql[3] = {0, (int)kl, (int)sl};
      int qb[3] = {0, 1, 1};
      err = arec_pg_tx_query(
          tx, NULL,
          "UPDATE user_exchanges SET "
          "api_key = COALESCE($2::bytea, api_key), "
          "api_secret = COALESCE($3::bytea, api_secret) "
          "WHERE id = $1::bigint",
          3, q, ql, qb);
      if (!err)
        c->changed++;
    }
    free(k);
    free(sec);
  }
  arec_pg_result_free(r);
  return err;
}

int arec_host_store_rotate(arec_host_store *s, size_t batch,
                           uint64_t *out_changed) {
  if (out_changed)
    *out_changed = 0;
  if (!s)
    return AREC_EINVAL;
  if (!s->has_key) {
    arec_error_set("no AGENT_SECRETS_KEY configured: nothing to rotate to");
    return AREC_EINVAL;
  }
  rot_ctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.batch = batch ? batch : 100;
  uint64_t changed = 0, failed = 0;
  long long first_bad = 0;
  for (;;) {
    long long from = c.after;
    int err = arec_pg_transaction(s->pg, rot_tx, &c);
    if (err) {
      c.after = from; /* rolled back: nothing of this batch counts */
      if (out_changed)
        *out_changed = changed;
      return err;
    }
    changed += c.changed;
    if (c.failed && !failed)
      first_bad = c.first_bad;
    failed += c.failed;
    if (c.seen < c.batch)
      break;
  }
  if (out_changed)
    *out_changed = changed;
  char n[24];
  arec__hs_log(s, AREC_LOG_INFO, "stored credentials rotated", "rows",
               arec__hs_ll(n, (long long)changed), NULL, NULL);
  if (failed) {
    arec_error_set("%llu user_exchanges rows do not decrypt under any key "
                   "(first: row %lld); left as they are",
                   (unsigned long long)failed, first_bad);
    return AREC_ECRYPTO;
  }
  return 0;
}
