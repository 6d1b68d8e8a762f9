/*
 * bot.c -- small queries the Telegram bot of the host needs beyond host.c:
 * the newest exchange account of a user (the default for /add_pair).
 * Must never: return or log a credential, build SQL from data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"

int arec_pg_exchange_latest(arec_pg *pg, long long user_id,
                            long long *out_id) {
  if (out_id)
    *out_id = 0;
  if (!pg || !out_id)
    return AREC_EINVAL;
  char uid[32];
  snprintf(uid, sizeof uid, "%lld", user_id);
  const char *p[1] = {uid};
  PGresult *r;
  int err = arec__pg_query(pg,
                           "SELECT id FROM user_exchanges WHERE user_id = "
                           "$1::bigint ORDER BY id DESC LIMIT 1",
                           1, p, NULL, NULL, &r);
  if (err)
    return err;
  if (PQntuples(r) == 0) {
    PQclear(r);
    arec_error_set("pg: user %lld has no exchange account", user_id);
    return AREC_ENOTFOUND;
  }
  *out_id = arec__pg_ll(r, 0, 0);
  PQclear(r);
  return 0;
}
