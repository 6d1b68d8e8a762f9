/*
 * repository.c -- the repository vtable over an arec_pg pool (version 3):
 * the table of slots, and the ownership slots themselves: unwanted, claim /
 * claim_many, release / release_many, heartbeat, set_trading.  The other
 * slots live in the files repository.h names; claim and unwanted honour
 * the migration holds of fleet.c here.
 *
 * How: every slot is one parameterised statement; batches pass their ids
 * as array parameters and read per-item answers back by ordinality, so n
 * agents cost one round trip.  The planner guesses 10 rows for an array
 * parameter, whatever it holds, and joins what it believes small with a
 * nested loop: a batch joins its array to a table only through an index
 * and never joins two of its own intermediate results (each carries the
 * ordinality instead), or n agents would cost n * n comparisons (10,000
 * releases took 8 s).  Rows of agent_configs are always locked in
 * id order (the id column compares in byte order, COLLATE "C") so
 * concurrent batches never deadlock.  Liveness is judged on the database
 * clock (clock_timestamp()).  Fence 0 is never current (a claim makes it
 * >= 1), so a release with it changes nothing.  A deleted agent is never
 * claimed and always unwanted, but its runner can still save and release
 * with its fence.
 * Must never: build SQL from data, confuse a transport failure with an
 * answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/fleet.h"
#include "pg/pg_internal.h"
#include "pg/repository.h"

#define PG arec__pg_of

/* Runs sql with $1 the text[] of ids[0..n), $2 pod and $3 incarnation. */
static int query_ids(arec_repository *repo, const char *sql,
                     const char *const *ids, size_t n, const char *pod,
                     const char *incarnation, PGresult **r) {
  arec__buf b;
  const char *p[3] = {arec__pg_arr_strings(&b, ids, n), pod, incarnation};
  int err = p[0] ? arec__pg_query(PG(repo), sql, 3, p, NULL, NULL, r)
                 : AREC_ENOMEM;
  arec__buf_free(&b);
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
  PGresult *r;
  int err = query_ids(
      repo,
      "SELECT q.ord, CASE WHEN a.id IS NULL OR a.deleted_at IS NOT NULL "
      "  OR NOT (a.is_active AND a.is_trading) THEN 1 "
      "  WHEN NOT (a.running_on IS NOT DISTINCT FROM $2 "
      "   AND a.running_incarnation IS NOT DISTINCT FROM $3) THEN 2 "
      "  WHEN a.migrate_to IS DISTINCT FROM $2 AND " AREC__PG_HOLD("a") " THEN 3 "
      "  ELSE 0 END "
      "FROM unnest($1::text[]) WITH ORDINALITY AS q(id, ord) "
      "LEFT JOIN agent_configs a ON a.id = q.id",
      ids, n, pod, incarnation, &r);
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
  PGresult *r;
  int err = query_ids(
      repo,
      "WITH l AS (SELECT a.id, q.ord "
      "      FROM unnest($1::text[]) WITH ORDINALITY AS q(id, ord) "
      "      JOIN agent_configs a ON a.id = q.id WHERE a.deleted_at IS NULL "
      "      ORDER BY a.id FOR UPDATE OF a), "
      "u AS (UPDATE agent_configs a SET fence = a.fence + 1, running_on = $2, "
      "      running_incarnation = $3, migrate_to = NULL, migrate_until = NULL "
      "      FROM l WHERE a.id = l.id AND a.is_active AND a.is_trading "
      "      AND NOT (a.migrate_to IS DISTINCT FROM $2 AND " AREC__PG_HOLD("a") ") "
      /* a pass that listed the agent before another pod's failed start put
       * it in backoff must not claim it: one claim per attempt */
      "      AND (a.retry_at IS NULL OR a.retry_at <= clock_timestamp()) "
      "      RETURNING l.ord, a.fence) "
      "SELECT ord, NULL::bigint FROM l UNION ALL SELECT ord, fence FROM u",
      ids, n, pod, incarnation, &r);
  if (err)
    return err;
  for (size_t i = 0; i < n; i++) {
    out_fences[i] = 0;
    out_results[i] = AREC_ENOTFOUND;
  }
  /* a row of l (no fence): found; a row of u: claimed, in any order */
  for (int i = 0; i < PQntuples(r); i++) {
    long long ord = arec__pg_ll(r, i, 0);
    if (ord < 1 || (size_t)ord > n)
      continue;
    if (arec__pg_val(r, i, 1)) {
      out_results[ord - 1] = 0;
      out_fences[ord - 1] = arec__pg_u64(r, i, 1);
    } else if (out_results[ord - 1] == AREC_ENOTFOUND) {
      out_results[ord - 1] = AREC_ECONFLICT;
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
  arec__buf a, f;
  arec__buf_init(&a);
  arec__buf_init(&f);
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
        "WITH l AS (SELECT a.id, q.fence, q.ord "
        "      FROM unnest($1::text[], $2::bigint[]) "
        "           WITH ORDINALITY AS q(id, fence, ord) "
        "      JOIN agent_configs a ON a.id = q.id ORDER BY a.id FOR UPDATE OF a) "
        "UPDATE agent_configs a SET fence = a.fence + 1, running_on = NULL, "
        "running_incarnation = NULL FROM l "
        "WHERE a.id = l.id AND a.fence = l.fence AND l.fence > 0 "
        "RETURNING l.ord",
        2, p, NULL, NULL, &r);
  arec__buf_free(&a);
  arec__buf_free(&f);
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
/* wanted: only an enabled agent with a symbol (the assignment row is locked
 * FOR KEY SHARE, so a concurrent unassign of the last symbol either commits
 * first and is seen, or waits); it also ends a backoff wait. */
static int pg_set_trading(arec_repository *repo, const char *agent_id,
                          int wanted) {
  if (!agent_id)
    return AREC_EINVAL;
  const char *p[2] = {agent_id, wanted ? "t" : "f"};
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "WITH a AS (SELECT id FROM agent_configs WHERE id = $1 "
      "           AND deleted_at IS NULL), "
      "u AS (UPDATE agent_configs SET is_trading = $2::boolean, "
      "        retry_at = CASE WHEN $2::boolean THEN NULL ELSE retry_at END "
      "      WHERE id = $1 AND deleted_at IS NULL "
      "      AND (NOT $2::boolean OR (is_active AND EXISTS "
      "        (SELECT 1 FROM agent_symbol_assignments s WHERE s.agent_id = $1 "
      "         FOR KEY SHARE))) "
      "      RETURNING 1) "
      "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM u)",
      2, p, NULL, NULL, &r);
  if (err)
    return err;
  long long found = arec__pg_ll(r, 0, 0), updated = arec__pg_ll(r, 0, 1);
  PQclear(r);
  if (!found)
    return arec__pg_not_found(agent_id);
  if (!updated) {
    arec_error_set("pg: agent %s cannot trade: disabled or without symbols",
                   agent_id);
    return AREC_ECONFLICT;
  }
  return 0;
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
      .version = AREC_REPOSITORY_VERSION,
      .agents_to_restore = arec__pg_agents_to_restore,
      .unwanted = pg_unwanted,
      .claim = pg_claim,
      .save_state = arec__pg_save_state,
      .release = pg_release,
      .heartbeat = pg_heartbeat,
      .set_trading = pg_set_trading,
      .claim_many = pg_claim_many,
      .save_many = arec__pg_save_many,
      .release_many = pg_release_many,
      .free = pg_repo_free,
      .fleet = arec__pg_fleet,
      .pod_leaving = arec__pg_pod_leaving,
      .migrate = arec__pg_migrate,
      .start_failed = arec__pg_start_failed,
      .start_ok = arec__pg_start_ok,
      .set_error = arec__pg_set_error,
      .agent_create = arec__pg_agent_create,
      .agent_assign = arec__pg_agent_assign,
      .agent_unassign = arec__pg_agent_unassign,
      .set_active = arec__pg_set_active,
      .agent_delete = arec__pg_agent_delete,
      .agent_get = arec__pg_agent_get,
      .agent_list = arec__pg_agent_list,
      .pod_list = arec__pg_pod_list,
      .role_claim = arec__pg_role_claim,
      .role_keep = arec__pg_role_keep,
      .role_release = arec__pg_role_release,
      .role_check = arec__pg_role_check};
  r->parent = base;
  arec__pg_ref(pg);
  r->pg = pg;
  *out = &r->parent;
  return 0;
}
