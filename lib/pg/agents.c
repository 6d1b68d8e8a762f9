/*
 * agents.c -- what the host needs beyond the vtable, for agents: create,
 * assign a symbol, the wish (set_trading), enable/disable, get and list
 * (paged) with owner, symbols, running_on and fence.
 *
 * How: one parameterised statement per call; answers that need telling
 * apart (missing agent vs. missing trading pair vs. already assigned) come
 * back as counts of one CTE statement, so no call leaves a partial write.
 * Must never build SQL from data.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"
#include "pg/repo.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

int arec_pg_agent_create(arec_pg *pg, char *out_id, const char *id,
                         long long user_id, const char *strategy,
                         const char *name) {
  if (!pg || !out_id || !strategy || !*strategy || !name || !*name) {
    arec_error_set("pg: agent needs a strategy and a name");
    return AREC_EINVAL;
  }
  char gen[13];
  if (!id) {
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rnd[12];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
      return AREC_EBACKEND;
    for (int i = 0; i < 12; i++)
      gen[i] = al[rnd[i] % 36];
    gen[12] = 0;
    id = gen;
  }
  if (!arec_agent_id_valid(id)) {
    arec_error_set("pg: invalid agent id");
    return AREC_EINVAL;
  }
  char uid[32];
  snprintf(uid, sizeof uid, "%lld", user_id);
  const char *p[4] = {id, uid, strategy, name};
  int err = arec__pg_query(pg,
                           "INSERT INTO agent_configs (id, user_id, strategy, name) "
                           "VALUES ($1, $2::bigint, $3, $4)",
                           4, p, NULL, NULL, NULL);
  if (err == AREC_ENOTFOUND)
    arec_error_set("pg: user %lld not found", user_id);
  else if (err == AREC_EEXIST)
    arec_error_set("pg: agent %s already exists", id);
  if (!err)
    snprintf(out_id, 65, "%s", id);
  return err;
}

int arec_pg_agent_assign(arec_pg *pg, const char *id, const char *symbol,
                         double budget) {
  if (!pg || !id || !symbol || !*symbol)
    return AREC_EINVAL;
  if (!(budget > 0)) {
    arec_error_set("pg: budget must be > 0");
    return AREC_EINVAL;
  }
  char b[40];
  snprintf(b, sizeof b, "%.17g", budget);
  const char *p[3] = {id, symbol, b};
  PGresult *r;
  int err = arec__pg_query(
      pg,
      "WITH a AS (SELECT id, user_id FROM agent_configs WHERE id = $1), "
      "ok AS (SELECT a.id FROM a WHERE EXISTS (SELECT 1 FROM user_trading_pairs tp "
      "       WHERE tp.user_id = a.user_id AND tp.symbol = $2)), "
      "ins AS (INSERT INTO agent_symbol_assignments (agent_id, symbol, balance) "
      "        SELECT id, $2, $3::numeric FROM ok ON CONFLICT DO NOTHING "
      "        RETURNING agent_id), "
      "st AS (INSERT INTO agent_states (agent_id, symbol, balance, memory, fence) "
      "       SELECT agent_id, $2, $3::numeric, '{}', 0 FROM ins) "
      "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM ok), "
      "       (SELECT count(*) FROM ins)",
      3, p, NULL, NULL, &r);
  if (err)
    return err;
  long long na = arec__pg_ll(r, 0, 0), nok = arec__pg_ll(r, 0, 1),
            nins = arec__pg_ll(r, 0, 2);
  PQclear(r);
  if (!na) {
    arec_error_set("pg: agent %s not found", id);
    return AREC_ENOTFOUND;
  }
  if (!nok) {
    arec_error_set("pg: the owner of %s has no trading pair for %s", id, symbol);
    return AREC_ECONFLICT;
  }
  if (!nins) {
    arec_error_set("pg: %s is already assigned to %s", symbol, id);
    return AREC_EEXIST;
  }
  return 0;
}

int arec_pg_agent_set_trading(arec_pg *pg, const char *id, int wanted) {
  return arec__pg_set_trading(pg, id, wanted);
}

int arec_pg_agent_set_active(arec_pg *pg, const char *id, int active) {
  if (!pg || !id)
    return AREC_EINVAL;
  const char *p[2] = {id, active ? "t" : "f"};
  PGresult *r;
  int err = arec__pg_query(pg,
                           "UPDATE agent_configs SET is_active = $2::boolean "
                           "WHERE id = $1 RETURNING 1",
                           2, p, NULL, NULL, &r);
  if (err)
    return err;
  int n = PQntuples(r);
  PQclear(r);
  if (!n) {
    arec_error_set("pg: agent %s not found", id);
    return AREC_ENOTFOUND;
  }
  return 0;
}

/* ------------------------------------------------------------ get / list */
static const char *LIST_SQL =
    "WITH page AS (SELECT * FROM agent_configs "
    "  WHERE ($1::text IS NULL OR id COLLATE \"C\" > $1::text COLLATE \"C\") "
    "    AND ($2::bigint = 0 OR user_id = $2::bigint) "
    "    AND ($4::text IS NULL OR id = $4::text) "
    "  ORDER BY id COLLATE \"C\" LIMIT $3::int) "
    "SELECT a.id, a.user_id, a.name, a.strategy, a.is_active, a.is_trading, "
    "  a.running_on, a.fence, " TS("a.created_at") ", "
    "  s.symbol, s.balance, st.balance, st.memory::text, st.fence, "
    TS("st.updated_at") " "
    "FROM page a LEFT JOIN agent_symbol_assignments s ON s.agent_id = a.id "
    "LEFT JOIN agent_states st ON st.agent_id = s.agent_id AND st.symbol = s.symbol "
    "ORDER BY a.id COLLATE \"C\", s.symbol COLLATE \"C\"";

void arec_pg_agents_free(arec_pg_agent *agents, size_t n) {
  if (!agents)
    return;
  for (size_t i = 0; i < n; i++) {
    arec_pg_agent *a = &agents[i];
    free(a->id);
    free(a->name);
    free(a->strategy);
    free(a->running_on);
    free(a->created_at);
    free(a->updated_at);
    for (size_t j = 0; j < a->nsymbols; j++) {
      free(a->symbols[j].symbol);
      free(a->symbols[j].memory);
      free(a->symbols[j].updated_at);
    }
    free(a->symbols);
  }
  free(agents);
}

static int list_query(arec_pg *pg, const char *after, unsigned int limit,
                      long long user_id, const char *only, arec_pg_agent **out,
                      size_t *out_n) {
  char uid[32], lim[16];
  snprintf(uid, sizeof uid, "%lld", user_id);
  snprintf(lim, sizeof lim, "%u", limit);
  const char *p[4] = {after, uid, lim, only};
  PGresult *r;
  int err = arec__pg_query(pg, LIST_SQL, 4, p, NULL, NULL, &r);
  if (err)
    return err;
  int nt = PQntuples(r);
  size_t na = 0;
  for (int i = 0; i < nt; i++)
    if (i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)))
      na++;
  arec_pg_agent *as = calloc(na ? na : 1, sizeof *as);
  if (!as) {
    PQclear(r);
    return AREC_ENOMEM;
  }
  size_t n = 0;
  arec_pg_agent *a = NULL;
  int oom = 0;
  for (int i = 0; i < nt && !oom; i++) {
    if (i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0))) {
      a = &as[n++];
      int cnt = 0;
      for (int j = i; j < nt && !strcmp(PQgetvalue(r, j, 0), PQgetvalue(r, i, 0)); j++)
        cnt++;
      a->id = strdup(PQgetvalue(r, i, 0));
      a->user_id = arec__pg_ll(r, i, 1);
      a->name = strdup(PQgetvalue(r, i, 2));
      a->strategy = strdup(PQgetvalue(r, i, 3));
      a->is_active = arec__pg_bool(r, i, 4);
      a->is_trading = arec__pg_bool(r, i, 5);
      a->running_on = arec__pg_strdup(arec__pg_val(r, i, 6));
      a->fence = arec__pg_u64(r, i, 7);
      a->created_at = strdup(PQgetvalue(r, i, 8));
      a->symbols = calloc((size_t)cnt, sizeof *a->symbols);
      if (!a->id || !a->name || !a->strategy || !a->created_at || !a->symbols)
        oom = 1;
    }
    if (oom || !arec__pg_val(r, i, 9))
      continue;
    arec_pg_symbol *s = &a->symbols[a->nsymbols++];
    s->symbol = strdup(PQgetvalue(r, i, 9));
    s->budget = arec__pg_dbl(r, i, 10);
    s->balance = arec__pg_dbl(r, i, 11);
    s->memory = strdup(arec__pg_val(r, i, 12) ? arec__pg_val(r, i, 12) : "{}");
    s->fence = arec__pg_u64(r, i, 13);
    s->updated_at = arec__pg_strdup(arec__pg_val(r, i, 14));
    if (!s->symbol || !s->memory)
      oom = 1;
    /* the agent's updated_at: the latest of its symbols (same format, so
     * the strings compare in time order) */
    if (s->updated_at && (!a->updated_at || strcmp(s->updated_at, a->updated_at) > 0)) {
      free(a->updated_at);
      if (!(a->updated_at = strdup(s->updated_at)))
        oom = 1;
    }
  }
  PQclear(r);
  if (oom) {
    arec_pg_agents_free(as, n);
    return AREC_ENOMEM;
  }
  *out = as;
  *out_n = n;
  return 0;
}

int arec_pg_agent_get(arec_pg *pg, const char *id, arec_pg_agent **out) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!pg || !id)
    return AREC_EINVAL;
  size_t n = 0;
  arec_pg_agent *a = NULL;
  int err = list_query(pg, NULL, 1, 0, id, &a, &n);
  if (err)
    return err;
  if (n == 0) {
    arec_pg_agents_free(a, 0);
    arec_error_set("pg: agent %s not found", id);
    return AREC_ENOTFOUND;
  }
  *out = a;
  return 0;
}

int arec_pg_agent_list(arec_pg *pg, const char *after, unsigned int limit,
                       long long user_id, arec_pg_agent **out, size_t *out_n) {
  if (!out || !out_n)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  if (!pg || limit < 1 || limit > 1000) {
    arec_error_set("pg: list limit must be 1..1000");
    return AREC_EINVAL;
  }
  return list_query(pg, after, limit, user_id, NULL, out, out_n);
}
