/*
 * fleet.c -- the repository slots of fair sharing and migration on
 * PostgreSQL: fleet (live pods not leaving, wanted agents, how many of them
 * are in backoff, migration holds in force), pod_leaving and migrate
 * (columns of sql/005).
 *
 * How: each slot is one parameterised statement judged on the database
 * clock (clock_timestamp()).  A migration hold counts only while its target
 * pod is live and not leaving, so a target that dies never strands an agent
 * past its own liveness.  The claim and unwanted statements that honour the
 * holds live in repository.c (AREC__PG_HOLD).
 * Must never: build SQL from data, confuse a transport failure with an
 * answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/fleet.h"

#define PG arec__pg_of

int arec__pg_fleet(arec_repository *repo, arec_fleet *out) {
  if (!out)
    return AREC_EINVAL;
  memset(out, 0, sizeof *out);
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "WITH w AS (SELECT count(*) AS wanted, "
      "             count(*) FILTER (WHERE c.start_failures > 0) AS backoff "
      "           FROM agent_configs c WHERE c.is_active AND c.is_trading "
      "           AND c.deleted_at IS NULL AND EXISTS (SELECT 1 FROM "
      "           agent_symbol_assignments s WHERE s.agent_id = c.id)) "
      "SELECT 0, (SELECT count(*) FROM pods WHERE NOT leaving "
      "           AND lease_until > clock_timestamp())::text, "
      "       (SELECT wanted FROM w)::text, (SELECT backoff FROM w)::text "
      "UNION ALL "
      "SELECT 1, a.id, a.migrate_to, NULL FROM agent_configs a "
      "WHERE a.deleted_at IS NULL AND " AREC__PG_HOLD("a"),
      0, NULL, NULL, NULL, &r);
  if (err)
    return err;
  int nt = PQntuples(r);
  size_t nm = nt > 1 ? (size_t)nt - 1 : 0;
  if (nm && !(out->migrations = calloc(nm, sizeof *out->migrations))) {
    PQclear(r);
    return AREC_ENOMEM;
  }
  for (int i = 0; i < nt; i++) {
    if (arec__pg_ll(r, i, 0) == 0) {
      out->live_pods = (uint64_t)arec__pg_ll(r, i, 1);
      out->wanted = (uint64_t)arec__pg_ll(r, i, 2);
      out->backoff = (uint64_t)arec__pg_ll(r, i, 3);
      continue;
    }
    if (out->nmigrations >= nm)
      break;
    arec_migration *m = &out->migrations[out->nmigrations++];
    m->agent_id = strdup(PQgetvalue(r, i, 1));
    m->to_pod = strdup(PQgetvalue(r, i, 2));
    if (!m->agent_id || !m->to_pod) {
      PQclear(r);
      arec_fleet_clear(out);
      return AREC_ENOMEM;
    }
  }
  PQclear(r);
  return 0;
}

int arec__pg_pod_leaving(arec_repository *repo, const char *pod,
                         const char *incarnation) {
  if (!pod || !incarnation)
    return AREC_EINVAL;
  const char *p[2] = {pod, incarnation};
  return arec__pg_query(PG(repo),
                        "UPDATE pods SET leaving = true "
                        "WHERE name = $1 AND incarnation = $2",
                        2, p, NULL, NULL, NULL);
}

int arec__pg_migrate(arec_repository *repo, const char *agent_id,
                     const char *to_pod, int64_t hold_ms) {
  if (!agent_id || !to_pod || !*to_pod || hold_ms <= 0)
    return AREC_EINVAL;
  char ms[32];
  snprintf(ms, sizeof ms, "%lld", (long long)hold_ms);
  const char *p[3] = {agent_id, to_pod, ms};
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "WITH t AS (SELECT incarnation FROM pods WHERE name = $2 "
      "           AND NOT leaving AND lease_until > clock_timestamp()), "
      "u AS (UPDATE agent_configs c SET "
      "        migrate_to = CASE WHEN c.running_on = $2 AND "
      "          c.running_incarnation = (SELECT incarnation FROM t) "
      "          THEN NULL ELSE $2 END, "
      "        migrate_until = clock_timestamp() + "
      "          $3::bigint * interval '1 millisecond' "
      "      WHERE c.id = $1 AND c.deleted_at IS NULL "
      "        AND c.is_active AND c.is_trading "
      "        AND EXISTS (SELECT 1 FROM t) "
      "        AND EXISTS (SELECT 1 FROM agent_symbol_assignments s "
      "                    WHERE s.agent_id = c.id) "
      "      RETURNING 1) "
      "SELECT (SELECT count(*) FROM agent_configs WHERE id = $1 "
      "        AND deleted_at IS NULL), "
      "       (SELECT count(*) FROM t), (SELECT count(*) FROM u)",
      3, p, NULL, NULL, &r);
  if (err)
    return err;
  long long found = arec__pg_ll(r, 0, 0), live = arec__pg_ll(r, 0, 1),
            done = arec__pg_ll(r, 0, 2);
  PQclear(r);
  if (!found)
    return arec__pg_not_found(agent_id);
  if (!live) {
    arec_error_set("pg: pod %s is not a live pod", to_pod);
    return AREC_ECONFLICT;
  }
  if (!done) {
    arec_error_set("pg: agent %s is not trading", agent_id);
    return AREC_ECONFLICT;
  }
  return 0;
}
