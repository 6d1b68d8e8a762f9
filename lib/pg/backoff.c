/*
 * backoff.c -- the repository slots of failed starts on PostgreSQL:
 * start_failed (release + failure count + reason + next attempt, in one
 * fenced statement), start_ok (clears them, writing only when there is
 * something to clear) and set_error (the reason alone, fenced by the
 * runner's fence, or by "nobody owns it" for fence 0).
 *
 * Fence 0 is never a runner's fence (a claim makes it >= 1): start_failed
 * and start_ok answer AREC_EFENCED for it.  set_error with fence 0 writes
 * only while the agent has no live owner (the rule of agents_to_restore).
 *
 * How: one parameterised statement each; the next attempt is
 * clock_timestamp() + least(max, min * 2^(failures - 1)) on the database
 * clock, the exponent capped so the arithmetic cannot overflow.  Error
 * texts are cut to 500 bytes on a UTF-8 boundary before they are sent.
 * Must never: write with a stale fence, build SQL from data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"
#include "pg/repository.h"

#define PG arec__pg_of

/* The answer of a fenced write whose statement returns one row: (the
 * fence was current, NULL when there is no agent; rows written): 0,
 * AREC_ENOTFOUND, or AREC_EFENCED with arec__pg_stale's error.  Clears r. */
static int fenced_answer(PGresult *r, const char *what, const char *agent_id,
                         uint64_t fence) {
  int found = arec__pg_val(r, 0, 0) != NULL;
  int ok = arec__pg_bool(r, 0, 0) || arec__pg_ll(r, 0, 1) > 0;
  PQclear(r);
  if (!found)
    return arec__pg_not_found(agent_id);
  return ok ? 0 : arec__pg_stale(what, agent_id, fence);
}

int arec__pg_start_failed(arec_repository *repo, const char *agent_id,
                          uint64_t fence, const char *error, int64_t min_ms,
                          int64_t max_ms, unsigned int *out_failures) {
  if (out_failures)
    *out_failures = 0;
  if (!agent_id || min_ms < 0 || max_ms < 0)
    return AREC_EINVAL;
  char f[24], mn[24], mx[24], text[AREC__PG_ERROR_MAX + 1];
  const char *p[5] = {agent_id, arec__pg_u64s(f, fence),
                      arec__pg_error_text(error, text), arec__pg_i64(mn, min_ms),
                      arec__pg_i64(mx, max_ms)};
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "WITH u AS (UPDATE agent_configs SET fence = fence + 1, "
      "    running_on = NULL, running_incarnation = NULL, "
      "    start_failures = start_failures + 1, last_error = $3::text, "
      "    retry_at = clock_timestamp() + least($5::float8, $4::float8 * "
      "      power(2::float8, least(start_failures, 62))) "
      "      * interval '1 millisecond' "
      "  WHERE id = $1 AND fence = $2::bigint AND $2::bigint > 0 "
      "  RETURNING start_failures) "
      "SELECT (SELECT start_failures FROM u), "
      "       EXISTS (SELECT 1 FROM agent_configs WHERE id = $1)",
      5, p, NULL, NULL, &r);
  if (err)
    return err;
  int n = arec__pg_val(r, 0, 0) != NULL, found = arec__pg_bool(r, 0, 1);
  if (n && out_failures)
    *out_failures = (unsigned int)arec__pg_ll(r, 0, 0);
  PQclear(r);
  if (!found)
    return arec__pg_not_found(agent_id);
  if (!n)
    return arec__pg_stale("failed start", agent_id, fence);
  return 0;
}

int arec__pg_start_ok(arec_repository *repo, const char *agent_id,
                      uint64_t fence) {
  if (!agent_id)
    return AREC_EINVAL;
  char f[24];
  const char *p[2] = {agent_id, arec__pg_u64s(f, fence)};
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "WITH a AS (SELECT fence = $2::bigint AND $2::bigint > 0 AS cur "
      "           FROM agent_configs WHERE id = $1), "
      "u AS (UPDATE agent_configs SET start_failures = 0, last_error = NULL, "
      "        retry_at = NULL "
      "      WHERE id = $1 AND fence = $2::bigint AND $2::bigint > 0 "
      "        AND (start_failures <> 0 OR last_error IS NOT NULL "
      "             OR retry_at IS NOT NULL) "
      "      RETURNING 1) "
      "SELECT (SELECT cur FROM a), (SELECT count(*) FROM u)",
      2, p, NULL, NULL, &r);
  return err ? err : fenced_answer(r, "start", agent_id, fence);
}

/* $1 id, $2 fence, $3 error: the row must hold the fence ... */
static const char SET_ERROR_FENCED[] =
    "WITH a AS (SELECT fence = $2::bigint AS ok FROM agent_configs "
    "           WHERE id = $1), "
    "u AS (UPDATE agent_configs SET last_error = $3::text "
    "      WHERE id = $1 AND fence = $2::bigint "
    "      AND last_error IS DISTINCT FROM $3::text RETURNING 1) "
    "SELECT (SELECT ok FROM a), (SELECT count(*) FROM u)";

/* ... or, for fence 0, it must have no live owner ($2 unused but typed). */
#define NO_LIVE_OWNER(c)                                                       \
  "NOT EXISTS (SELECT 1 FROM pods p WHERE p.name = " c ".running_on "          \
  "AND p.incarnation = " c ".running_incarnation "                             \
  "AND p.lease_until > clock_timestamp())"
static const char SET_ERROR_UNOWNED[] =
    "WITH a AS (SELECT " NO_LIVE_OWNER("c") " AND $2::bigint = 0 AS ok "
    "           FROM agent_configs c WHERE c.id = $1), "
    "u AS (UPDATE agent_configs c SET last_error = $3::text "
    "      WHERE c.id = $1 AND " NO_LIVE_OWNER("c") " "
    "      AND c.last_error IS DISTINCT FROM $3::text RETURNING 1) "
    "SELECT (SELECT ok FROM a), (SELECT count(*) FROM u)";

int arec__pg_set_error(arec_repository *repo, const char *agent_id,
                       uint64_t fence, const char *error) {
  if (!agent_id)
    return AREC_EINVAL;
  char f[24], text[AREC__PG_ERROR_MAX + 1];
  const char *p[3] = {agent_id, arec__pg_u64s(f, fence),
                      arec__pg_error_text(error, text)};
  PGresult *r;
  int err = arec__pg_query(PG(repo),
                           fence ? SET_ERROR_FENCED : SET_ERROR_UNOWNED, 3, p,
                           NULL, NULL, &r);
  if (err)
    return err;
  err = fenced_answer(r, "error", agent_id, fence);
  if (err == AREC_EFENCED && !fence)
    arec_error_set("pg: error of %s not recorded: a pod owns it", agent_id);
  return err;
}
