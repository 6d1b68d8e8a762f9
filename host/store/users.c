/*
 * users.c -- users and trading pairs in the host's store: upsert and get
 * a user; create a pair on one of the user's exchange accounts (the
 * newest when none is named) and ask whether a pair exists.
 *
 * How: one parameterised statement each; the pair is inserted by an
 * INSERT ... SELECT over the user's accounts, so naming another user's
 * account or none at all inserts nothing (AREC_ENOTFOUND).
 * Must never: build SQL from data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int arec_host_store_user_upsert(arec_host_store *s, long long id,
                                const char *name) {
  if (!s || !name)
    return AREC_EINVAL;
  char uid[24];
  const char *p[2] = {arec__hs_ll(uid, id), name};
  return arec_pg_query(s->pg, NULL,
                       "INSERT INTO users (id, name) VALUES ($1::bigint, $2) "
                       "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                       2, p, NULL, NULL);
}

int arec_host_store_user_get(arec_host_store *s, long long id,
                             char **out_name) {
  if (out_name)
    *out_name = NULL;
  if (!s)
    return AREC_EINVAL;
  char uid[24];
  const char *p[1] = {arec__hs_ll(uid, id)};
  arec_pg_result *r = NULL;
  int err = arec__hs_query_row(
      s, NULL, &r, "SELECT name FROM users WHERE id = $1::bigint", 1, p);
  if (err == AREC_ENOTFOUND)
    arec_error_set("user %lld not found", id);
  if (err)
    return err;
  int oom = 0;
  if (out_name)
    *out_name = arec__hs_dup(r, 0, 0, &oom);
  arec_pg_result_free(r);
  return oom ? AREC_ENOMEM : 0;
}

int arec_host_store_pair_create(arec_host_store *s, long long user_id,
                                long long exchange_id, const char *symbol,
                                long long *out_id,
                                long long *out_exchange_id) {
  if (out_id)
    *out_id = 0;
  if (out_exchange_id)
    *out_exchange_id = 0;
  if (!s || !symbol || !*symbol || exchange_id < 0)
    return AREC_EINVAL;
  char uid[24], eid[24];
  const char *p[3] = {arec__hs_ll(uid, user_id), arec__hs_ll(eid, exchange_id),
                      symbol};
  arec_pg_result *r = NULL;
  int err = arec__hs_query_row(
      s, NULL, &r,
      "INSERT INTO user_trading_pairs (user_id, exchange_id, symbol) "
      "SELECT e.user_id, e.id, $3 FROM user_exchanges e "
      "WHERE e.user_id = $1::bigint AND ($2::bigint = 0 OR e.id = $2::bigint) "
      "ORDER BY e.id DESC LIMIT 1 "
      "RETURNING id, exchange_id",
      3, p);
  if (err == AREC_EEXIST)
    arec_error_set("user %lld already has a pair for %s", user_id, symbol);
  else if (err == AREC_ENOTFOUND && exchange_id)
    arec_error_set("exchange account %lld of user %lld not found",
                   exchange_id, user_id);
  else if (err == AREC_ENOTFOUND)
    arec_error_set("user %lld has no exchange account", user_id);
  if (err)
    return err;
  if (out_id)
    *out_id = arec__hs_val_ll(r, 0, 0);
  if (out_exchange_id)
    *out_exchange_id = arec__hs_val_ll(r, 0, 1);
  arec_pg_result_free(r);
  return 0;
}

int arec_host_store_pair_exists(arec_host_store *s, long long user_id,
                                const char *symbol) {
  if (!s || !symbol)
    return AREC_EINVAL;
  char uid[24];
  const char *p[2] = {arec__hs_ll(uid, user_id), symbol};
  int err = arec__hs_query_row(s, NULL, NULL,
                               "SELECT 1 FROM user_trading_pairs "
                               "WHERE user_id = $1::bigint AND symbol = $2",
                               2, p);
  return err == AREC_ENOTFOUND ? 0 : err ? err : 1;
}
