/*
 * exchanges.c -- exchange accounts in the host's store: create (the
 * credentials encrypted bound to the new row), remove (refused while a
 * wanted agent trades on the account), list (never the credentials), and
 * the decrypted account of a user's symbol for the trading agents.
 *
 * How: create takes the row id from the sequence first, encrypts both
 * values with it as associated data and inserts the row with that id, in
 * one transaction; the ciphertexts go as binary parameters and come back
 * as hex (encode(..., 'hex')).  remove locks the account row, checks for
 * a wanted agent of the user assigned a symbol whose pair is on it
 * (library tables agent_configs / agent_symbol_assignments), then deletes
 * (pairs go with it by cascade).
 * Must never: put a credential (plain or encrypted) into an error or log
 * line, return a credential from list, build SQL from data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ------------------------------------------------------------- create */
typedef struct create_ctx {
  arec_host_store *s;
  long long user_id;
  const char *exchange, *key, *secret;
  int testnet;
  long long id;
} create_ctx;

static int create_tx(arec_pg_tx *tx, void *ud) {
  create_ctx *c = ud;
  arec_pg_result *r = NULL;
  int err = arec_pg_tx_query(
      tx, &r, "SELECT nextval(pg_get_serial_sequence('user_exchanges', 'id'))",
      0, NULL, NULL, NULL);
  if (err)
    return err;
  c->id = arec__hs_val_ll(r, 0, 0);
  arec_pg_result_free(r);
  if (c->id <= 0)
    return AREC_EBACKEND;
  unsigned char *k = NULL, *sec = NULL;
  size_t kl = 0, sl = 0;
  err = arec__hs_seal(c->s, c->id, "api_key", c->key, &k, &kl);
  if (!err)
    err = arec__hs_seal(c->s, c->id, "api_secret", c->secret, &sec, &sl);
  if (!err) {
    char id[24], uid[24];
    const char *p[6] = {arec__hs_ll(id, c->id), arec__hs_ll(uid, c->user_id),
                        c->exchange, (const char *)k, (const char *)sec,
                        c->testnet ? "t" : "f"};
    int lens[6] = {0, 0, 0, (int)kl, (int)sl, 0};
    int bin[6] = {0, 0, 0, 1, 1, 0};
    err = arec_pg_tx_query(
        tx, NULL,
        "INSERT INTO user_exchanges (id, user_id, exchange, api_key, "
        "api_secret, testnet) VALUES ($1::bigint, $2::bigint, $3, $4::bytea, "
        "$5::bytea, $6::boolean)",
        6, p, lens, bin);
    if (err == AREC_ENOTFOUND)
      arec_error_set("user %lld not found", c->user_id);
  }
  free(k);
  free(sec);
  return err;
}

int arec_host_store_exchange_create(arec_host_store *s, long long user_id,
                                    const char *exchange, const char *api_key,
                                    const char *api_secret, int testnet,
                                    long long *out_id) {
  if (out_id)
    *out_id = 0;
  if (!s || !exchange || !*exchange || !api_key || !*api_key ||
      !api_secret || !*api_secret) {
    arec_error_set("exchange, api key and api secret are required");
    return AREC_EINVAL;
  }
  if (!s->has_key) {
    arec_error_set("no AGENT_SECRETS_KEY configured: exchange keys cannot be "
                   "stored");
    return AREC_ECRYPTO;
  }
  create_ctx c = {s, user_id, exchange, api_key, api_secret, testnet, 0};
  int err = arec_pg_transaction(s->pg, create_tx, &c);
  if (!err && out_id)
    *out_id = c.id;
  return err;
}

/* ------------------------------------------------------------- remove */
typedef struct remove_ctx {
  long long user_id, id;
} remove_ctx;

static int remove_tx(arec_pg_tx *tx, void *ud) {
  remove_ctx *c = ud;
  char uid[24], id[24];
  const char *p[2] = {arec__hs_ll(uid, c->user_id), arec__hs_ll(id, c->id)};
  arec_pg_result *r = NULL;
  int err = arec__hs_query_row(NULL, tx, NULL,
                               "SELECT 1 FROM user_exchanges WHERE id = "
                               "$2::bigint AND user_id = $1::bigint FOR UPDATE",
                               2, p);
  if (err == AREC_ENOTFOUND)
    arec_error_set("exchange account %lld of user %lld not found", c->id,
                   c->user_id);
  if (err)
    return err;
  err = arec_pg_tx_query(
      tx, &r,
      "SELECT a.id FROM user_trading_pairs tp "
      "JOIN agent_symbol_assignments s ON s.symbol = tp.symbol "
      "JOIN agent_configs a ON a.id = s.agent_id AND a.user_id = tp.user_id "
      "WHERE tp.exchange_id = $2::bigint AND tp.user_id = $1::bigint "
      "  AND a.deleted_at IS NULL AND ((a.is_active AND a.is_trading) "
      "   OR EXISTS (SELECT 1 FROM pods p WHERE p.name = a.running_on "
      "              AND p.incarnation = a.running_incarnation "
      "              AND p.lease_until > clock_timestamp())) "
      "ORDER BY a.id LIMIT 1",
      2, p, NULL, NULL);
  if (err)
    return err;
  if (arec_pg_result_rows(r)) {
    arec_error_set("agent %s trades on exchange account %lld: stop it "
                   "first (and let it finish stopping)",
                   arec_pg_result_value(r, 0, 0), c->id);
    arec_pg_result_free(r);
    return AREC_ECONFLICT;
  }
  arec_pg_result_free(r);
  return arec_pg_tx_query(tx, NULL,
                          "DELETE FROM user_exchanges WHERE id = $2::bigint "
                          "AND user_id = $1::bigint",
                          2, p, NULL, NULL);
}

int arec_host_store_exchange_remove(arec_host_store *s, long long user_id,
                                    long long exchange_id) {
  if (!s)
    return AREC_EINVAL;
  remove_ctx c = {user_id, exchange_id};
  return arec_pg_transaction(s->pg, remove_tx, &c);
}

/* --------------------------------------------------------------- list */
int arec_host_store_exchange_list(arec_host_store *s, long long user_id,
                                  arec_host_exchange **out, size_t *out_n) {
  if (!out || !out_n)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  if (!s)
    return AREC_EINVAL;
  char uid[24];
  const char *p[1] = {arec__hs_ll(uid, user_id)};
  arec_pg_result *r = NULL;
  int err = arec_pg_query(s->pg, &r,
                          "SELECT id, exchange, testnet FROM user_exchanges "
                          "WHERE user_id = $1::bigint ORDER BY id",
                          1, p, NULL, NULL);
  if (err)
    return err;
  size_t n = arec_pg_result_rows(r);
  arec_host_exchange *v = calloc(n ? n : 1, sizeof *v);
  if (!v) {
    arec_pg_result_free(r);
    return AREC_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const char *ex = arec_pg_result_value(r, i, 1);
    const char *tn = arec_pg_result_value(r, i, 2);
    v[i].id = arec__hs_val_ll(r, i, 0);
    v[i].user_id = user_id;
    snprintf(v[i].exchange, sizeof v[i].exchange, "%s", ex ? ex : "");
    v[i].testnet = tn && tn[0] == 't';
  }
  arec_pg_result_free(r);
  *out = v;
  *out_n = n;
  return 0;
}

/* ------------------------------------------------------------ account */
void arec_host_account_clear(arec_host_account *acc) {
  if (!acc)
    return;
  arec__hs_secret_free(acc->api_key);
  arec__hs_secret_free(acc->api_secret);
  memset(acc, 0, sizeof *acc);
}

/* Decrypts one hex column of account row `id` into *out. */
static int open_hex(arec_host_store *s, long long id, const char *column,
                    const char *hex, char **out) {
  unsigned char *raw = NULL;
  size_t len = 0;
  int err = arec__hs_unhex(hex, &raw, &len);
  if (err == AREC_EINVAL) {
    arec_error_set("user_exchanges row %lld %s does not decrypt (wrong "
                   "AGENT_SECRETS_KEY?)",
                   id, column);
    return AREC_ECRYPTO;
  }
  if (err)
    return err;
  err = arec__hs_open(s, id, column, raw, len, out, NULL);
  free(raw);
  return err;
}

int arec_host_store_account(arec_host_store *s, long long user_id,
                            const char *symbol, arec_host_account *out) {
  if (!out)
    return AREC_EINVAL;
  memset(out, 0, sizeof *out);
  if (!s || !symbol)
    return AREC_EINVAL;
  char uid[24];
  const char *p[2] = {arec__hs_ll(uid, user_id), symbol};
  arec_pg_result *r = NULL;
  int err = arec__hs_query_row(
      s, NULL, &r,
      "SELECT e.id, e.exchange, encode(e.api_key, 'hex'), "
      "       encode(e.api_secret, 'hex'), e.testnet "
      "FROM user_trading_pairs tp "
      "JOIN user_exchanges e ON e.id = tp.exchange_id AND e.user_id = "
      "tp.user_id "
      "WHERE tp.user_id = $1::bigint AND tp.symbol = $2",
      2, p);
  if (err == AREC_ENOTFOUND)
    arec_error_set("user %lld has no exchange account for %s", user_id,
                   symbol);
  if (err)
    return err;
  const char *ex = arec_pg_result_value(r, 0, 1);
  const char *tn = arec_pg_result_value(r, 0, 4);
  out->exchange_id = arec__hs_val_ll(r, 0, 0);
  snprintf(out->exchange, sizeof out->exchange, "%s", ex ? ex : "");
  out->testnet = tn && tn[0] == 't';
  if (s->has_key) {
    err = open_hex(s, out->exchange_id, "api_key",
                   arec_pg_result_value(r, 0, 2), &out->api_key);
    if (!err)
      err = open_hex(s, out->exchange_id, "api_secret",
                     arec_pg_result_value(r, 0, 3), &out->api_secret);
  }
  arec_pg_result_free(r);
  if (err) {
    long long id = out->exchange_id;
    arec_host_account_clear(out);
    out->exchange_id = id;
  }
  return err;
}

int arec_host_store_account_hook(void *store, long long user_id,
                                 const char *symbol, arec_host_account *out) {
  int err = arec_host_store_account(store, user_id, symbol, out);
  if (err == AREC_ECRYPTO)
    arec_error_set("credentials of user_exchanges row %lld do not decrypt "
                   "(wrong AGENT_SECRETS_KEY?)",
                   out->exchange_id);
  return err;
}
