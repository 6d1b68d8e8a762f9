/*
 * roles.c -- singleton roles in the PostgreSQL repository: rows of
 * singleton_roles (name, fence, holder, claimed_at, lease_until) whose
 * leases run on the database clock (clock_timestamp()), so no pod's clock
 * matters and a role survives an outage of the lock service.
 *
 * How: claim is one INSERT ... ON CONFLICT DO UPDATE that takes the row
 * only where it is free (holder NULL), expired (lease_until past or NULL,
 * as rows written before leases existed are), or already this holder's: a
 * new holder bumps the fence, the same holder within its lease keeps it
 * and renews.  keep, release and check match (name, holder, fence); keep
 * and check also need an unexpired lease.  One statement each.
 * Must never: hand a role to two holders with the same fence, build SQL
 * from data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"
#include "pg/repository.h"

#define PG arec__pg_of

#define LEASE_LIVE "(r.lease_until IS NOT NULL AND r.lease_until > clock_timestamp())"

int arec__pg_role_claim(arec_repository *repo, const char *name,
                        const char *holder, int64_t ttl_ms,
                        uint64_t *out_fence) {
  if (out_fence)
    *out_fence = 0;
  if (!name || !*name || !holder || !*holder || ttl_ms <= 0 || !out_fence)
    return AREC_EINVAL;
  char ttl[24];
  const char *p[3] = {name, holder, arec__pg_i64(ttl, ttl_ms)};
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "INSERT INTO singleton_roles AS r (name, fence, holder, claimed_at, "
      "  lease_until) "
      "VALUES ($1, 1, $2, clock_timestamp(), "
      "        clock_timestamp() + $3::bigint * interval '1 millisecond') "
      "ON CONFLICT (name) DO UPDATE SET "
      "  fence = CASE WHEN r.holder = EXCLUDED.holder AND " LEASE_LIVE
      "          THEN r.fence ELSE r.fence + 1 END, "
      "  claimed_at = CASE WHEN r.holder = EXCLUDED.holder AND " LEASE_LIVE
      "               THEN r.claimed_at ELSE EXCLUDED.claimed_at END, "
      "  holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until "
      "WHERE r.holder IS NULL OR r.holder = EXCLUDED.holder OR NOT " LEASE_LIVE
      " RETURNING r.fence",
      3, p, NULL, NULL, &r);
  if (err)
    return err;
  int got = PQntuples(r) == 1;
  if (got)
    *out_fence = arec__pg_u64(r, 0, 0);
  PQclear(r);
  return got;
}

/* Runs `sql` ($1 name, $2 holder, $3 fence[, $4 ttl]) and answers `miss`
 * when it matched no row. */
static int role_match(arec_repository *repo, const char *sql, int nparams,
                      const char *name, const char *holder, uint64_t fence,
                      int64_t ttl_ms, int miss, const char *what) {
  if (!name || !holder)
    return AREC_EINVAL;
  char f[24], ttl[24];
  const char *p[4] = {name, holder, arec__pg_u64s(f, fence),
                      arec__pg_i64(ttl, ttl_ms)};
  int n = arec__pg_matched(PG(repo), sql, nparams, p);
  if (n < 0)
    return n;
  if (!n) {
    arec_error_set("pg: role %s: %s (fence %llu is not the holder's current "
                   "lease)",
                   name, what, (unsigned long long)fence);
    return miss;
  }
  return 0;
}

int arec__pg_role_keep(arec_repository *repo, const char *name,
                       const char *holder, uint64_t fence, int64_t ttl_ms) {
  if (ttl_ms <= 0)
    return AREC_EINVAL;
  return role_match(
      repo,
      "UPDATE singleton_roles r SET lease_until = clock_timestamp() + "
      "  $4::bigint * interval '1 millisecond' "
      "WHERE r.name = $1 AND r.holder = $2 AND r.fence = $3::bigint "
      "AND " LEASE_LIVE " RETURNING 1",
      4, name, holder, fence, ttl_ms, AREC_ELOST, "lost");
}

int arec__pg_role_release(arec_repository *repo, const char *name,
                          const char *holder, uint64_t fence) {
  return role_match(
      repo,
      "UPDATE singleton_roles r SET holder = NULL, fence = r.fence + 1, "
      "  lease_until = NULL "
      "WHERE r.name = $1 AND r.holder = $2 AND r.fence = $3::bigint "
      "RETURNING 1",
      3, name, holder, fence, 0, AREC_ELOST, "already superseded");
}

int arec__pg_role_check(arec_repository *repo, const char *name,
                        const char *holder, uint64_t fence) {
  return role_match(
      repo,
      "SELECT 1 FROM singleton_roles r WHERE r.name = $1 AND r.holder = $2 "
      "AND r.fence = $3::bigint AND " LEASE_LIVE,
      3, name, holder, fence, 0, AREC_EFENCED, "fenced");
}
