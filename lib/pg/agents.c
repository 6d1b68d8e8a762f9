/*
 * agents.c -- administration of agents in the PostgreSQL repository, the
 * writes: agent_create, agent_assign, agent_unassign, set_active and
 * agent_delete (the reads -- get, list, pod_list -- are in records.c).
 *
 * How: one parameterised statement per call; answers that need telling
 * apart (missing agent vs. already assigned vs. refused while running) come
 * back as counts of one CTE statement, so no call leaves a partial write.
 * A deleted agent (deleted_at set) is not found by any of them, but its id
 * stays taken.  params is checked by the database (jsonb, CHECK object).
 * Must never: build SQL from data, remove an agent's history.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "pg/pg_internal.h"
#include "pg/repository.h"

#define PG arec__pg_of

/* A random id: 12 characters of [A-Za-z0-9] (bytes >= 248 are drawn again,
 * so each character is uniform). */
static int random_id(char *out) {
  static const char al[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  size_t n = 0;
  while (n < 12) {
    unsigned char rnd[16];
    int err = arec__random_fill(rnd, sizeof rnd, "pg");
    if (err)
      return err;
    for (size_t i = 0; i < sizeof rnd && n < 12; i++)
      if (rnd[i] < 248)
        out[n++] = al[rnd[i] % 62];
  }
  out[n] = 0;
  return 0;
}

int arec__pg_agent_create(arec_repository *repo, const arec_agent_spec *spec,
                          char *out_id, size_t out_len) {
  if (!spec || !out_id || !spec->strategy || !*spec->strategy ||
      !spec->name || !*spec->name || spec->user_id < 0) {
    arec_error_set("pg: an agent needs a strategy, a name and an owner >= 0");
    return AREC_EINVAL;
  }
  if (spec->id && !arec_agent_id_valid(spec->id)) {
    arec_error_set("pg: invalid agent id");
    return AREC_EINVAL;
  }
  char gen[16], uid[24];
  arec__pg_i64(uid, spec->user_id);
  int err = AREC_EEXIST;
  /* A generated id that is taken already is drawn again. */
  for (int attempt = 0; attempt < (spec->id ? 1 : 5) && err == AREC_EEXIST;
       attempt++) {
    const char *id = spec->id;
    if (!id) {
      if ((err = random_id(gen)))
        return err;
      id = gen;
    }
    if (out_len <= strlen(id)) {
      arec_error_set("pg: out_id too short for the agent id");
      return AREC_EINVAL;
    }
    const char *p[6] = {id, uid, spec->strategy, spec->name, spec->params,
                        spec->requires};
    err = arec__pg_query(
        PG(repo),
        "INSERT INTO agent_configs (id, user_id, strategy, name, params, "
        "  requires) "
        "VALUES ($1, $2::bigint, $3, $4, coalesce($5::jsonb, '{}'), $6)",
        6, p, NULL, NULL, NULL);
    if (!err)
      snprintf(out_id, out_len, "%s", id);
    else if (err == AREC_EEXIST)
      arec_error_set("pg: agent %s already exists", id);
  }
  if (err == AREC_EINVAL && strstr(arec_error_last(), "params"))
    arec_error_set("pg: agent params must be a JSON object");
  else if (err == AREC_EINVAL && strstr(arec_error_last(), "SQLSTATE 22P02"))
    arec_error_set("pg: agent params is not valid JSON");
  return err;
}

int arec__pg_agent_assign(arec_repository *repo, const char *agent_id,
                          const char *symbol, double budget) {
  if (!agent_id || !symbol || !*symbol)
    return AREC_EINVAL;
  if (!(budget > 0) || !isfinite(budget)) {
    arec_error_set("pg: budget must be a finite number > 0");
    return AREC_EINVAL;
  }
  char b[40];
  snprintf(b, sizeof b, "%.17g", budget);
  const char *p[3] = {agent_id, symbol, b};
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "WITH a AS (SELECT id FROM agent_configs WHERE id = $1 "
      "           AND deleted_at IS NULL), "
      "ins AS (INSERT INTO agent_symbol_assignments (agent_id, symbol, balance) "
      "        SELECT id, $2, $3::numeric FROM a ON CONFLICT DO NOTHING "
      "        RETURNING agent_id), "
      "st AS (INSERT INTO agent_states (agent_id, symbol, balance, memory, fence) "
      "       SELECT agent_id, $2, $3::numeric, '{}', 0 FROM ins) "
      "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM ins)",
      3, p, NULL, NULL, &r);
  if (err == AREC_ENOTFOUND) /* deleted for good meanwhile (foreign key) */
    arec_error_set("pg: agent %s not found", agent_id);
  if (err)
    return err;
  long long na = arec__pg_ll(r, 0, 0), nins = arec__pg_ll(r, 0, 1);
  PQclear(r);
  if (!na)
    return arec__pg_not_found(agent_id);
  if (!nins) {
    arec_error_set("pg: %s is already assigned to %s", symbol, agent_id);
    return AREC_EEXIST;
  }
  return 0;
}

/* Refused while the agent is wanted or has a live owner (running_on whose
 * pod row is live and of the same incarnation).  The agent row is locked
 * first, so a concurrent wish (set_trading, which needs a symbol) and this
 * removal are ordered: unassign sees the wish, or the wish sees the symbol
 * gone. */
int arec__pg_agent_unassign(arec_repository *repo, const char *agent_id,
                            const char *symbol) {
  if (!agent_id || !symbol)
    return AREC_EINVAL;
  const char *p[2] = {agent_id, symbol};
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "WITH a AS (SELECT c.id, (c.is_active AND c.is_trading) OR EXISTS "
      "             (SELECT 1 FROM pods p WHERE p.name = c.running_on "
      "              AND p.incarnation = c.running_incarnation "
      "              AND p.lease_until > clock_timestamp()) AS busy "
      "           FROM agent_configs c WHERE c.id = $1 "
      "           AND c.deleted_at IS NULL FOR UPDATE OF c), "
      "d AS (DELETE FROM agent_symbol_assignments s USING a "
      "      WHERE s.agent_id = a.id AND s.symbol = $2 AND NOT a.busy "
      "      RETURNING 1), "
      "x AS (SELECT 1 FROM agent_symbol_assignments s WHERE s.agent_id = $1 "
      "      AND s.symbol = $2) "
      "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM x), "
      "       (SELECT count(*) FROM d)",
      2, p, NULL, NULL, &r);
  if (err)
    return err;
  long long na = arec__pg_ll(r, 0, 0), nx = arec__pg_ll(r, 0, 1),
            nd = arec__pg_ll(r, 0, 2);
  PQclear(r);
  if (!na)
    return arec__pg_not_found(agent_id);
  if (!nx && !nd) {
    arec_error_set("pg: %s is not assigned to %s", symbol, agent_id);
    return AREC_ENOTFOUND;
  }
  if (!nd) {
    arec_error_set("pg: agent %s is wanted or has a live owner: stop it first",
                   agent_id);
    return AREC_ECONFLICT;
  }
  return 0;
}

/* UPDATE ... WHERE id = $1 AND not deleted RETURNING 1: ENOTFOUND if no
 * row. */
static int update_one(arec_repository *repo, const char *sql, int nparams,
                      const char *const *p) {
  int n = arec__pg_matched(PG(repo), sql, nparams, p);
  if (n < 0)
    return n;
  if (!n)
    return arec__pg_not_found(p[0]);
  return 0;
}

int arec__pg_set_active(arec_repository *repo, const char *agent_id,
                        int active) {
  if (!agent_id)
    return AREC_EINVAL;
  const char *p[2] = {agent_id, active ? "t" : "f"};
  return update_one(repo,
                    "UPDATE agent_configs SET is_active = $2::boolean "
                    "WHERE id = $1 AND deleted_at IS NULL RETURNING 1",
                    2, p);
}

/* Soft: the row stays (its id taken, its history kept), no longer wanted;
 * a runner sees unwanted() = 1 and stops as for a user's stop. */
int arec__pg_agent_delete(arec_repository *repo, const char *agent_id) {
  if (!agent_id)
    return AREC_EINVAL;
  const char *p[1] = {agent_id};
  return update_one(repo,
                    "UPDATE agent_configs SET deleted_at = clock_timestamp(), "
                    "  is_trading = false, retry_at = NULL, migrate_to = NULL, "
                    "  migrate_until = NULL "
                    "WHERE id = $1 AND deleted_at IS NULL RETURNING 1",
                    1, p);
}
