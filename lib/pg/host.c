/*
 * host.c -- the rest of what the host needs beyond the vtable: users,
 * exchange accounts (credentials AES-256-GCM encrypted before they leave the
 * process, sent as binary parameters), trading pairs, the live pods, fenced
 * singleton roles and a small key-value store.
 * Must never: put a secret in an error message or log line, build SQL from
 * data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* ------------------------------------------------------------------ users */
int arec_pg_user_upsert(arec_pg *pg, long long id, const char *name) {
  if (!pg)
    return AREC_EINVAL;
  char uid[32];
  snprintf(uid, sizeof uid, "%lld", id);
  const char *p[2] = {uid, name ? name : ""};
  return arec__pg_query(pg,
                        "INSERT INTO users (id, name) VALUES ($1::bigint, $2) "
                        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                        2, p, NULL, NULL, NULL);
}

int arec_pg_user_get(arec_pg *pg, long long id, char **out_name) {
  if (out_name)
    *out_name = NULL;
  if (!pg)
    return AREC_EINVAL;
  char uid[32];
  snprintf(uid, sizeof uid, "%lld", id);
  const char *p[1] = {uid};
  PGresult *r;
  int err = arec__pg_query(pg, "SELECT name FROM users WHERE id = $1::bigint",
                           1, p, NULL, NULL, &r);
  if (err)
    return err;
  if (PQntuples(r) == 0) {
    PQclear(r);
    arec_error_set("pg: user %lld not found", id);
    return AREC_ENOTFOUND;
  }
  if (out_name && !(*out_name = strdup(PQgetvalue(r, 0, 0))))
    err = AREC_ENOMEM;
  PQclear(r);
  return err;
}

/* -------------------------------------------------------------- exchanges */
int arec_pg_exchange_create(arec_pg *pg, long long *out_id, long long user_id,
                            const char *exchange, const char *api_key,
                            const char *api_secret, int testnet) {
  if (out_id)
    *out_id = 0;
  if (!pg || !exchange || !*exchange || !api_key || !*api_key || !api_secret ||
      !*api_secret) {
    arec_error_set("pg: exchange, api key and api secret are required");
    return AREC_EINVAL;
  }
  unsigned char *k = NULL, *s = NULL;
  size_t kl = 0, sl = 0;
  int err = arec__pg_encrypt(pg, api_key, &k, &kl);
  if (!err)
    err = arec__pg_encrypt(pg, api_secret, &s, &sl);
  if (err) {
    free(k);
    return err;
  }
  char uid[32];
  snprintf(uid, sizeof uid, "%lld", user_id);
  const char *p[5] = {uid, exchange, (const char *)k, (const char *)s,
                      testnet ? "t" : "f"};
  int lens[5] = {0, 0, (int)kl, (int)sl, 0};
  int fmts[5] = {0, 0, 1, 1, 0};
  PGresult *r;
  err = arec__pg_query(pg,
                       "INSERT INTO user_exchanges (user_id, exchange, api_key, "
                       "api_secret, testnet) VALUES ($1::bigint, $2, $3::bytea, "
                       "$4::bytea, $5::boolean) RETURNING id",
                       5, p, lens, fmts, &r);
  free(k);
  free(s);
  if (err == AREC_ENOTFOUND)
    arec_error_set("pg: user %lld not found", user_id);
  if (err)
    return err;
  if (out_id)
    *out_id = arec__pg_ll(r, 0, 0);
  PQclear(r);
  return 0;
}

int arec_pg_pair_create(arec_pg *pg, long long *out_id, long long user_id,
                        long long exchange_id, const char *symbol) {
  if (out_id)
    *out_id = 0;
  if (!pg || !symbol || !*symbol)
    return AREC_EINVAL;
  char uid[32], eid[32];
  snprintf(uid, sizeof uid, "%lld", user_id);
  snprintf(eid, sizeof eid, "%lld", exchange_id);
  const char *p[3] = {uid, eid, symbol};
  PGresult *r;
  int err = arec__pg_query(pg,
                           "INSERT INTO user_trading_pairs (user_id, exchange_id, symbol) "
                           "VALUES ($1::bigint, $2::bigint, $3) RETURNING id",
                           3, p, NULL, NULL, &r);
  if (err == AREC_ENOTFOUND)
    arec_error_set("pg: user %lld or its exchange %lld not found", user_id,
                   exchange_id);
  else if (err == AREC_EEXIST)
    arec_error_set("pg: user %lld already has a pair for %s", user_id, symbol);
  if (err)
    return err;
  if (out_id)
    *out_id = arec__pg_ll(r, 0, 0);
  PQclear(r);
  return 0;
}

/* ------------------------------------------------------------------- pods */
void arec_pg_pods_free(arec_pg_pod *pods, size_t n) {
  if (!pods)
    return;
  for (size_t i = 0; i < n; i++) {
    free(pods[i].name);
    free(pods[i].incarnation);
    free(pods[i].started_at);
    free(pods[i].heartbeat_at);
    free(pods[i].lease_until);
  }
  free(pods);
}

int arec_pg_pods_list(arec_pg *pg, arec_pg_pod **out, size_t *out_n) {
  if (!out || !out_n)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  if (!pg)
    return AREC_EINVAL;
  PGresult *r;
  int err = arec__pg_query(
      pg,
      "SELECT p.name, p.incarnation, " TS("p.started_at") ", " TS("p.heartbeat_at")
      ", " TS("p.lease_until") ", "
      "  (SELECT count(*) FROM agent_configs a WHERE a.running_on = p.name "
      "   AND a.running_incarnation = p.incarnation) "
      "FROM pods p WHERE p.lease_until > clock_timestamp() "
      "ORDER BY p.name COLLATE \"C\"",
      0, NULL, NULL, NULL, &r);
  if (err)
    return err;
  size_t n = (size_t)PQntuples(r);
  arec_pg_pod *ps = calloc(n ? n : 1, sizeof *ps);
  int oom = !ps;
  for (size_t i = 0; ps && i < n; i++) {
    ps[i].name = strdup(PQgetvalue(r, (int)i, 0));
    ps[i].incarnation = strdup(PQgetvalue(r, (int)i, 1));
    ps[i].started_at = strdup(PQgetvalue(r, (int)i, 2));
    ps[i].heartbeat_at = strdup(PQgetvalue(r, (int)i, 3));
    ps[i].lease_until = strdup(PQgetvalue(r, (int)i, 4));
    ps[i].agents = arec__pg_ll(r, (int)i, 5);
    if (!ps[i].name || !ps[i].incarnation || !ps[i].started_at ||
        !ps[i].heartbeat_at || !ps[i].lease_until)
      oom = 1;
  }
  PQclear(r);
  if (oom) {
    arec_pg_pods_free(ps, n);
    return AREC_ENOMEM;
  }
  *out = ps;
  *out_n = n;
  return 0;
}

/* ------------------------------------------------------------------ roles */
int arec_pg_role_claim(arec_pg *pg, const char *role, const char *pod,
                       uint64_t *out_fence) {
  if (!pg || !role || !*role || !pod || !out_fence)
    return AREC_EINVAL;
  const char *p[2] = {role, pod};
  PGresult *r;
  int err = arec__pg_query(
      pg,
      "INSERT INTO singleton_roles (name, fence, holder, claimed_at) "
      "VALUES ($1, 1, $2, clock_timestamp()) ON CONFLICT (name) DO UPDATE "
      "SET fence = singleton_roles.fence + 1, holder = EXCLUDED.holder, "
      "claimed_at = EXCLUDED.claimed_at RETURNING fence",
      2, p, NULL, NULL, &r);
  if (err)
    return err;
  *out_fence = arec__pg_u64(r, 0, 0);
  PQclear(r);
  return 0;
}

/* Runs `sql` ($1 role, $2 fence) and answers AREC_EFENCED when it matched
 * no row: the fence is not the role's current one. */
static int role_fenced(arec_pg *pg, const char *role, uint64_t fence,
                       const char *sql) {
  if (!pg || !role)
    return AREC_EINVAL;
  char f[32];
  snprintf(f, sizeof f, "%llu", (unsigned long long)fence);
  const char *p[2] = {role, f};
  PGresult *r;
  int err = arec__pg_query(pg, sql, 2, p, NULL, NULL, &r);
  if (err)
    return err;
  int n = PQntuples(r);
  PQclear(r);
  if (!n) {
    arec_error_set("pg: role %s: fence %llu is not current", role,
                   (unsigned long long)fence);
    return AREC_EFENCED;
  }
  return 0;
}

int arec_pg_role_check(arec_pg *pg, const char *role, uint64_t fence) {
  return role_fenced(pg, role, fence,
                     "SELECT 1 FROM singleton_roles WHERE name = $1 "
                     "AND fence = $2::bigint AND holder IS NOT NULL");
}

int arec_pg_role_release(arec_pg *pg, const char *role, uint64_t fence) {
  return role_fenced(pg, role, fence,
                     "UPDATE singleton_roles SET fence = fence + 1, holder = NULL "
                     "WHERE name = $1 AND fence = $2::bigint "
                     "AND holder IS NOT NULL RETURNING 1");
}

/* --------------------------------------------------------------------- kv */
int arec_pg_kv_get(arec_pg *pg, const char *key, char **out) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!pg || !key)
    return AREC_EINVAL;
  const char *p[1] = {key};
  PGresult *r;
  int err = arec__pg_query(pg, "SELECT value FROM host_kv WHERE key = $1", 1, p,
                           NULL, NULL, &r);
  if (err)
    return err;
  if (PQntuples(r) == 0) {
    PQclear(r);
    arec_error_set("pg: key %s not set", key);
    return AREC_ENOTFOUND;
  }
  if (!(*out = strdup(PQgetvalue(r, 0, 0))))
    err = AREC_ENOMEM;
  PQclear(r);
  return err;
}

int arec_pg_kv_set(arec_pg *pg, const char *key, const char *value,
                   const char *role, uint64_t fence) {
  if (!pg || !key || !*key || !value)
    return AREC_EINVAL;
  char f[32];
  snprintf(f, sizeof f, "%llu", (unsigned long long)fence);
  const char *p[4] = {key, value, role, f};
  PGresult *r;
  int err = arec__pg_query(
      pg,
      "WITH r AS (SELECT 1 FROM singleton_roles WHERE name = $3 "
      "           AND fence = $4::bigint AND holder IS NOT NULL FOR SHARE) "
      "INSERT INTO host_kv (key, value, updated_at) "
      "SELECT $1, $2, clock_timestamp() WHERE $3::text IS NULL OR EXISTS (SELECT 1 FROM r) "
      "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
      "updated_at = EXCLUDED.updated_at RETURNING 1",
      4, p, NULL, NULL, &r);
  if (err)
    return err;
  int n = PQntuples(r);
  PQclear(r);
  if (!n) {
    arec_error_set("pg: role %s: fence %llu is not current", role ? role : "",
                   (unsigned long long)fence);
    return AREC_EFENCED;
  }
  return 0;
}
