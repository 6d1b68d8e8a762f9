/*
 * repo.c -- the repository vtable over an arec_pg pool: agents_to_restore,
 * unwanted, claim / claim_many, release / release_many, heartbeat,
 * set_trading (saves are in save.c; the version-2 slots balance,
 * pod_leaving and migrate in balance.c: claim and unwanted honour their
 * migration holds here).
 *
 * How: every slot is one parameterised statement; batches pass their ids
 * as array parameters and read per-item answers back by ordinality, so n
 * agents cost one round trip.  Rows of agent_configs are always locked in
 * id order (COLLATE "C") so concurrent batches never deadlock.  Liveness is
 * judged on the database clock (clock_timestamp()).
 * Must never: build SQL from data, return credentials in an error, confuse
 * a transport failure with an answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/balance.h"
#include "pg/pg_internal.h"
#include "pg/repo.h"

static arec_pg *PG(arec_repository *r) { return ((arec__pg_repo *)r)->pg; }

/* ------------------------------------------------------- agents_to_restore */
static const char *RESTORE_SQL =
    "SELECT a.id, a.user_id, a.strategy, a.name, s.symbol, s.balance, "
    "       st.balance, st.memory::text, e.id, e.exchange, e.api_key, "
    "       e.api_secret, e.testnet "
    "FROM agent_configs a "
    "JOIN agent_symbol_assignments s ON s.agent_id = a.id "
    "LEFT JOIN agent_states st ON st.agent_id = s.agent_id AND st.symbol = s.symbol "
    "LEFT JOIN user_trading_pairs tp ON tp.user_id = a.user_id AND tp.symbol = s.symbol "
    "LEFT JOIN user_exchanges e ON e.id = tp.exchange_id AND e.user_id = tp.user_id "
    "WHERE a.is_active AND a.is_trading "
    "  AND ($1::text IS NULL OR a.id = $1) "
    "  AND NOT EXISTS (SELECT 1 FROM pods p WHERE p.name = a.running_on "
    "                  AND p.incarnation = a.running_incarnation "
    "                  AND p.lease_until > clock_timestamp()) "
    "ORDER BY a.id COLLATE \"C\", s.symbol COLLATE \"C\"";

int arec__pg_rows_to_agents(arec_pg *pg, PGresult *r, arec_agent_list **out) {
  int nt = PQntuples(r);
  arec_agent_list *l = calloc(1, sizeof *l);
  if (!l)
    return AREC_ENOMEM;
  /* count agents (rows are grouped by id) */
  size_t na = 0;
  for (int i = 0; i < nt; i++)
    if (i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)))
      na++;
  l->rows = na ? calloc(na, sizeof *l->rows) : NULL;
  if (na && !l->rows) {
    free(l);
    return AREC_ENOMEM;
  }
  int err = 0;
  arec_agent_row *row = NULL;
  for (int i = 0; i < nt && !err; i++) {
    if (i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0))) {
      row = &l->rows[l->n++];
      int cnt = 0;
      for (int j = i; j < nt && !strcmp(PQgetvalue(r, j, 0), PQgetvalue(r, i, 0)); j++)
        cnt++;
      row->id = strdup(PQgetvalue(r, i, 0));
      row->user_id = arec__pg_ll(r, i, 1);
      row->strategy = strdup(PQgetvalue(r, i, 2));
      row->name = strdup(PQgetvalue(r, i, 3));
      row->symbols = calloc((size_t)cnt, sizeof *row->symbols);
      if (!row->id || !row->strategy || !row->name || !row->symbols) {
        err = AREC_ENOMEM;
        break;
      }
    }
    arec_symbol *s = &row->symbols[row->nsymbols++];
    s->symbol = strdup(PQgetvalue(r, i, 4));
    s->budget = arec__pg_dbl(r, i, 5);
    s->balance = arec__pg_val(r, i, 6) ? arec__pg_dbl(r, i, 6) : s->budget;
    s->memory = strdup(arec__pg_val(r, i, 7) ? arec__pg_val(r, i, 7) : "{}");
    if (!s->symbol || !s->memory) {
      err = AREC_ENOMEM;
      break;
    }
    if (arec__pg_val(r, i, 8)) {
      s->exchange_id = arec__pg_ll(r, i, 8);
      s->exchange = strdup(PQgetvalue(r, i, 9));
      s->testnet = arec__pg_bool(r, i, 12);
      if (!s->exchange) {
        err = AREC_ENOMEM;
        break;
      }
      /* Without a key the agent still gets its exchange, no credentials. */
      if (pg->has_key) {
        char *k = NULL, *sec = NULL;
        err = arec__pg_decrypt_field(pg, arec__pg_val(r, i, 10), &k);
        if (!err)
          err = arec__pg_decrypt_field(pg, arec__pg_val(r, i, 11), &sec);
        s->api_key = k;
        s->api_secret = sec;
      }
    }
  }
  if (err) {
    arec_agent_list_free(l);
    return err;
  }
  *out = l;
  return 0;
}

static int pg_agents_to_restore(arec_repository *repo, const char *only_id,
                                arec_agent_list **out) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  arec_pg *pg = PG(repo);
  const char *p[1] = {only_id};
  PGresult *r;
  int err = arec__pg_query(pg, RESTORE_SQL, 1, p, NULL, NULL, &r);
  if (err)
    return err;
  err = arec__pg_rows_to_agents(pg, r, out);
  PQclear(r);
  return err;
}

/* ---------------------------------------------------------------- unwanted */
static int pg_unwanted(arec_repository *repo, const char *pod,
                       const char *incarnation, const char *const *ids,
                       size_t n, unsigned char *out) {
  if (n == 0)
    return 0;
  if (!ids || !out || !pod || !incarnation)
    return AREC_EINVAL;
  arec__pg_buf b;
  arec__pg_buf_init(&b);
  arec__pg_arr_open(&b);
  for (size_t i = 0; i < n; i++)
    arec__pg_arr_str(&b, ids[i]);
  const char *arr = arec__pg_arr_close(&b);
  if (!arr) {
    arec__pg_buf_free(&b);
    return AREC_ENOMEM;
  }
  const char *p[3] = {arr, pod, incarnation};
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "SELECT q.ord, CASE WHEN a.id IS NULL OR NOT (a.is_active AND a.is_trading) THEN 1 "
      "  WHEN NOT (a.running_on IS NOT DISTINCT FROM $2 "
      "   AND a.running_incarnation IS NOT DISTINCT FROM $3) THEN 2 "
      "  WHEN a.migrate_to IS DISTINCT FROM $2 AND " AREC__PG_HOLD("a") " THEN 3 "
      "  ELSE 0 END "
      "FROM unnest($1::text[]) WITH ORDINALITY AS q(id, ord) "
      "LEFT JOIN agent_configs a ON a.id = q.id",
      3, p, NULL, NULL, &r);
  arec__pg_buf_free(&b);
  if (err)
    return err;
  for (size_t i = 0; i < n; i++)
    out[i] = 1;
  for (int i = 0; i < PQntuples(r); i++) {
    long long ord = arec__pg_ll(r, i, 0);
    if (ord >= 1 && (size_t)ord <= n)
      out[ord - 1] = (unsigned char)arec__pg_ll(r, i, 1);
  }
  PQclear(r);
  return 0;
}

/* ------------------------------------------------------------------- claim */
static int pg_claim_many(arec_repository *repo, const char *pod,
                         const char *incarnation, const char *const *ids,
                         size_t n, uint64_t *out_fences, int *out_results) {
  if (n == 0)
    return 0;
  if (!ids || !out_fences || !out_results || !pod || !incarnation)
    return AREC_EINVAL;
  arec__pg_buf b;
  arec__pg_buf_init(&b);
  arec__pg_arr_open(&b);
  for (size_t i = 0; i < n; i++)
    arec__pg_arr_str(&b, ids[i]);
  const char *arr = arec__pg_arr_close(&b);
  if (!arr) {
    arec__pg_buf_free(&b);
    return AREC_ENOMEM;
  }
  const char *p[3] = {arr, pod, incarnation};
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "WITH q AS (SELECT * FROM unnest($1::text[]) WITH ORDINALITY AS q(id, ord)), "
      "l AS (SELECT a.id FROM agent_configs a WHERE a.id IN (SELECT id FROM q) "
      "      ORDER BY a.id COLLATE \"C\" FOR UPDATE), "
      "u AS (UPDATE agent_configs a SET fence = a.fence + 1, running_on = $2, "
      "      running_incarnation = $3, migrate_to = NULL, migrate_until = NULL "
      "      FROM l WHERE a.id = l.id AND a.is_active AND a.is_trading "
      "      AND NOT (a.migrate_to IS DISTINCT FROM $2 AND " AREC__PG_HOLD("a") ") "
      "      RETURNING a.id, a.fence) "
      "SELECT q.ord, l.id IS NOT NULL, u.fence FROM q "
      "LEFT JOIN l ON l.id = q.id LEFT JOIN u ON u.id = q.id",
      3, p, NULL, NULL, &r);
  arec__pg_buf_free(&b);
  if (err)
    return err;
  for (size_t i = 0; i < n; i++) {
    out_fences[i] = 0;
    out_results[i] = AREC_ENOTFOUND;
  }
  for (int i = 0; i < PQntuples(r); i++) {
    long long ord = arec__pg_ll(r, i, 0);
    if (ord < 1 || (size_t)ord > n)
      continue;
    if (!arec__pg_bool(r, i, 1))
      out_results[ord - 1] = AREC_ENOTFOUND;
    else if (!arec__pg_val(r, i, 2))
      out_results[ord - 1] = AREC_ECONFLICT;
    else {
      out_results[ord - 1] = 0;
      out_fences[ord - 1] = arec__pg_u64(r, i, 2);
    }
  }
  PQclear(r);
  return 0;
}

static int pg_claim(arec_repository *repo, const char *pod,
                    const char *incarnation, const char *agent_id,
                    uint64_t *out_fence) {
  if (!agent_id || !out_fence)
    return AREC_EINVAL;
  int res = 0;
  const char *ids[1] = {agent_id};
  int err = pg_claim_many(repo, pod, incarnation, ids, 1, out_fence, &res);
  if (err)
    return err;
  if (res == AREC_ECONFLICT)
    arec_error_set("pg: agent %s is not wanted (disabled or not trading)", agent_id);
  else if (res == AREC_ENOTFOUND)
    arec_error_set("pg: agent %s not found", agent_id);
  return res;
}

/* ----------------------------------------------------------------- release */
static int pg_release_many(arec_repository *repo, const char *const *ids,
                           const uint64_t *fences, size_t n, int *out_results) {
  if (n == 0)
    return 0;
  if (!ids || !fences || !out_results)
    return AREC_EINVAL;
  arec__pg_buf a, f;
  arec__pg_buf_init(&a);
  arec__pg_buf_init(&f);
  arec__pg_arr_open(&a);
  arec__pg_arr_open(&f);
  for (size_t i = 0; i < n; i++) {
    arec__pg_arr_str(&a, ids[i]);
    arec__pg_arr_u64(&f, fences[i]);
  }
  const char *p[2] = {arec__pg_arr_close(&a), arec__pg_arr_close(&f)};
  int err = AREC_ENOMEM;
  PGresult *r = NULL;
  if (p[0] && p[1])
    err = arec__pg_query(
        PG(repo),
        "WITH q AS (SELECT * FROM unnest($1::text[], $2::bigint[]) "
        "           WITH ORDINALITY AS q(id, fence, ord)), "
        "l AS (SELECT a.id FROM agent_configs a WHERE a.id IN (SELECT id FROM q) "
        "      ORDER BY a.id COLLATE \"C\" FOR UPDATE), "
        "u AS (UPDATE agent_configs a SET fence = a.fence + 1, running_on = NULL, "
        "      running_incarnation = NULL FROM l, q "
        "      WHERE a.id = l.id AND q.id = a.id AND a.fence = q.fence "
        "      RETURNING a.id) "
        "SELECT q.ord FROM q JOIN u ON u.id = q.id",
        2, p, NULL, NULL, &r);
  arec__pg_buf_free(&a);
  arec__pg_buf_free(&f);
  if (err)
    return err;
  for (size_t i = 0; i < n; i++)
    out_results[i] = AREC_EFENCED;
  for (int i = 0; i < PQntuples(r); i++) {
    long long ord = arec__pg_ll(r, i, 0);
    if (ord >= 1 && (size_t)ord <= n)
      out_results[ord - 1] = 0;
  }
  PQclear(r);
  return 0;
}

static int pg_release(arec_repository *repo, const char *agent_id,
                      uint64_t fence) {
  if (!agent_id)
    return AREC_EINVAL;
  int res = 0;
  const char *ids[1] = {agent_id};
  int err = pg_release_many(repo, ids, &fence, 1, &res);
  if (err)
    return err;
  if (res == AREC_EFENCED)
    arec_error_set("pg: release of %s refused: fence %llu is stale", agent_id,
                   (unsigned long long)fence);
  return res;
}

/* --------------------------------------------------------------- heartbeat */
static int pg_heartbeat(arec_repository *repo, const char *pod,
                        const char *incarnation, int64_t lease_ms,
                        int leaving) {
  if (!pod || !incarnation)
    return AREC_EINVAL;
  if (leaving) {
    const char *p[2] = {pod, incarnation};
    return arec__pg_query(PG(repo),
                          "DELETE FROM pods WHERE name = $1 AND incarnation = $2",
                          2, p, NULL, NULL, NULL);
  }
  char ms[32];
  snprintf(ms, sizeof ms, "%lld", (long long)(lease_ms > 0 ? lease_ms : 0));
  const char *p[3] = {pod, incarnation, ms};
  return arec__pg_query(
      PG(repo),
      "INSERT INTO pods (name, incarnation, started_at, heartbeat_at, lease_until) "
      "VALUES ($1, $2, clock_timestamp(), clock_timestamp(), "
      "        clock_timestamp() + $3::bigint * interval '1 millisecond') "
      "ON CONFLICT (name) DO UPDATE SET incarnation = EXCLUDED.incarnation, "
      "  started_at = CASE WHEN pods.incarnation = EXCLUDED.incarnation "
      "               THEN pods.started_at ELSE EXCLUDED.started_at END, "
      "  heartbeat_at = EXCLUDED.heartbeat_at, lease_until = EXCLUDED.lease_until, "
      "  leaving = pods.leaving AND pods.incarnation = EXCLUDED.incarnation",
      3, p, NULL, NULL, NULL);
}

/* ------------------------------------------------------------- set_trading */
int arec__pg_set_trading(arec_pg *pg, const char *agent_id, int wanted) {
  if (!pg || !agent_id)
    return AREC_EINVAL;
  const char *p[2] = {agent_id, wanted ? "t" : "f"};
  PGresult *r;
  int err = arec__pg_query(
      pg,
      "WITH a AS (SELECT id FROM agent_configs WHERE id = $1), "
      "u AS (UPDATE agent_configs SET is_trading = $2::boolean WHERE id = $1 "
      "      AND (NOT $2::boolean OR (is_active AND EXISTS "
      "        (SELECT 1 FROM agent_symbol_assignments s WHERE s.agent_id = $1))) "
      "      RETURNING 1) "
      "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM u)",
      2, p, NULL, NULL, &r);
  if (err)
    return err;
  long long found = arec__pg_ll(r, 0, 0), updated = arec__pg_ll(r, 0, 1);
  PQclear(r);
  if (!found) {
    arec_error_set("pg: agent %s not found", agent_id);
    return AREC_ENOTFOUND;
  }
  if (!updated) {
    arec_error_set("pg: agent %s cannot trade: disabled or without symbols",
                   agent_id);
    return AREC_ECONFLICT;
  }
  return 0;
}

static int pg_set_trading(arec_repository *repo, const char *agent_id,
                          int wanted) {
  return arec__pg_set_trading(PG(repo), agent_id, wanted);
}

/* -------------------------------------------------------------- lifecycle */
static void pg_repo_free(arec_repository *repo) {
  if (!repo)
    return;
  arec_pg_free(PG(repo));
  free(repo);
}

int arec_pg_repository_new(arec_repository **out, arec_pg *pg) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!pg)
    return AREC_EINVAL;
  arec__pg_repo *r = calloc(1, sizeof *r);
  if (!r)
    return AREC_ENOMEM;
  static const arec_repository base = {
      AREC_REPOSITORY_VERSION, pg_agents_to_restore, pg_unwanted, pg_claim,
      arec__pg_save_state,     pg_release,           pg_heartbeat,
      pg_set_trading,          pg_claim_many,        arec__pg_save_many,
      pg_release_many,         pg_repo_free,         arec__pg_balance,
      arec__pg_pod_leaving,    arec__pg_migrate};
  r->parent = base;
  arec__pg_ref(pg);
  r->pg = pg;
  *out = &r->parent;
  return 0;
}
