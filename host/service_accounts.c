/*
 * service_accounts.c -- the service operations on users, exchange
 * accounts and trading pairs: validate with the input policy, scope to the
 * actor, call the host's store, map its answer to an outcome.
 *
 * Must never: echo or log an API key or secret (not even in a 400: the
 * input policy's messages never repeat a value), store keys without a
 * configured secrets key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_int.h"

/* ------------------------------------------------------------ users */
int arec_svc_user_upsert(arec_svc *svc, const arec_svc_actor *who,
                         long long user_id, const char *name,
                         arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  if (arec__svc_begin(&o, svc, who, res, "user.upsert"))
    return arec__svc_end(&o);
  o.user_id = user_id > 0 ? user_id : 0;
  int invalid = arec_host_valid_user_id("id", user_id, &e) ||
                arec_host_valid_name("name", name, &e);
  if (arec__svc_check_user(&o, invalid, &e, user_id))
    return arec__svc_end(&o);
  int rc = arec_host_store_user_upsert(svc->store, user_id, name);
  return arec__svc_done(&o, rc, "user", 201, "user %lld saved", user_id);
}

int arec_svc_user_get(arec_svc *svc, const arec_svc_actor *who,
                      long long user_id, char **out_name,
                      arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  if (out_name)
    *out_name = NULL;
  if (arec__svc_begin(&o, svc, who, res, NULL))
    return arec__svc_end(&o);
  int invalid = arec_host_valid_user_id("id", user_id, &e);
  if (arec__svc_check_user(&o, invalid, &e, user_id))
    return arec__svc_end(&o);
  int rc = arec_host_store_user_get(svc->store, user_id, out_name);
  return arec__svc_done(&o, rc, "user", 200, "user %lld", user_id);
}

/* --------------------------------------------------- exchange accounts */
int arec_svc_exchange_add(arec_svc *svc, const arec_svc_actor *who,
                          long long user_id, const char *exchange,
                          const char *api_key, const char *api_secret,
                          int testnet, long long *out_id,
                          arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  char ex[32];
  if (out_id)
    *out_id = 0;
  if (arec__svc_begin(&o, svc, who, res, "exchange.add"))
    return arec__svc_end(&o);
  o.user_id = user_id > 0 ? user_id : 0;
  int invalid = arec_host_valid_user_id("user_id", user_id, &e) ||
                arec_host_valid_exchange("exchange", exchange, ex, sizeof ex,
                                         &e) ||
                arec_host_valid_credential("api_key", api_key, &e) ||
                arec_host_valid_credential("api_secret", api_secret, &e);
  if (arec__svc_check_user(&o, invalid, &e, user_id))
    return arec__svc_end(&o);
  if (!arec_host_store_has_key(svc->store)) {
    o.rc = AREC_ECRYPTO;
    arec__svc_set(&o, 503, NULL,
                  "AGENT_SECRETS_KEY is not configured: exchange keys cannot "
                  "be stored (request id %s)",
                  arec__svc_request_id(&o));
    return arec__svc_end(&o);
  }
  long long id = 0;
  int rc = arec_host_store_exchange_create(svc->store, user_id, ex, api_key,
                                           api_secret, testnet, &id);
  if (rc) {
    arec__svc_fail(&o, rc, "user");
  } else {
    if (out_id)
      *out_id = id;
    arec__svc_set(&o, 201, NULL, "exchange account %lld added (%s, %s)", id,
                  ex, testnet ? "testnet" : "mainnet");
  }
  return arec__svc_end(&o);
}

int arec_svc_exchange_remove(arec_svc *svc, const arec_svc_actor *who,
                             long long user_id, long long exchange_id,
                             arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  if (arec__svc_begin(&o, svc, who, res, "exchange.remove"))
    return arec__svc_end(&o);
  o.user_id = user_id > 0 ? user_id : 0;
  int invalid = arec_host_valid_user_id("user_id", user_id, &e) ||
                arec_host_valid_user_id("exchange_id", exchange_id, &e);
  if (arec__svc_check_user(&o, invalid, &e, user_id))
    return arec__svc_end(&o);
  int rc = arec_host_store_exchange_remove(svc->store, user_id, exchange_id);
  if (rc == AREC_ECONFLICT) {
    o.rc = rc;
    arec__svc_set(&o, 409, NULL, "%s", arec_error_last());
  } else if (rc) {
    arec__svc_fail(&o, rc, "exchange account");
  } else {
    arec__svc_set(&o, 200, NULL, "exchange account %lld removed",
                  exchange_id);
  }
  return arec__svc_end(&o);
}

int arec_svc_exchange_list(arec_svc *svc, const arec_svc_actor *who,
                           long long user_id, arec_host_exchange **out,
                           size_t *out_n, arec_svc_result *res) {
  arec__svc_op o;
  if (arec__svc_begin_user_list(&o, svc, who, res, user_id, out, out_n))
    return arec__svc_end(&o);
  int rc = arec_host_store_exchange_list(svc->store, user_id, out, out_n);
  return arec__svc_done(&o, rc, "exchange accounts", 200,
                        "%zu exchange accounts", *out_n);
}

/* ------------------------------------------------------------- pairs */
int arec_svc_pair_add(arec_svc *svc, const arec_svc_actor *who,
                      long long user_id, long long exchange_id,
                      const char *symbol, long long *out_id,
                      arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  char sym[AREC_HOST_SYMBOL_MAX];
  if (out_id)
    *out_id = 0;
  if (arec__svc_begin(&o, svc, who, res, "pair.add"))
    return arec__svc_end(&o);
  o.user_id = user_id > 0 ? user_id : 0;
  int invalid = arec_host_valid_user_id("user_id", user_id, &e) ||
                (exchange_id != 0 &&
                 arec_host_valid_user_id("exchange_id", exchange_id, &e)) ||
                arec_host_valid_symbol("symbol", symbol, sym, sizeof sym, &e);
  if (arec__svc_check_user(&o, invalid, &e, user_id))
    return arec__svc_end(&o);
  long long id = 0, used = 0;
  int rc = arec_host_store_pair_create(svc->store, user_id, exchange_id, sym,
                                       &id, &used);
  if (rc == AREC_ENOTFOUND) {
    o.rc = rc;
    if (exchange_id)
      arec__svc_set(&o, 404, "exchange_id", "exchange account not found");
    else
      arec__svc_set(&o, 404, NULL, "the user has no exchange account");
  } else if (rc == AREC_EEXIST) {
    o.rc = rc;
    arec__svc_set(&o, 409, NULL, "the user already has the pair %s", sym);
  } else if (rc) {
    arec__svc_fail(&o, rc, "pair");
  } else {
    if (out_id)
      *out_id = id;
    arec__svc_set(&o, 201, NULL, "pair %s added on exchange account %lld",
                  sym, used);
  }
  return arec__svc_end(&o);
}
