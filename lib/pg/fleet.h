/*
 * fleet.h -- the repository slots of fair sharing and migration across pods
 * on PostgreSQL (fleet.c), and the SQL fragment of a migration hold that
 * claim and unwanted (repository.c) honour too.  Not installed.
 */
#ifndef AREC_PG_FLEET_H
#define AREC_PG_FLEET_H

#include "pg/repository.h"

/* A migration hold of agent row `a` is in force (SQL fragment). */
#define AREC__PG_HOLD(a)                                                       \
  "(" a ".migrate_to IS NOT NULL AND " a ".migrate_until > clock_timestamp() " \
  "AND EXISTS (SELECT 1 FROM pods mp WHERE mp.name = " a ".migrate_to "        \
  "AND NOT mp.leaving AND mp.lease_until > clock_timestamp()))"

int arec__pg_fleet(arec_repository *repo, arec_fleet *out);
int arec__pg_pod_leaving(arec_repository *repo, const char *pod,
                         const char *incarnation);
int arec__pg_migrate(arec_repository *repo, const char *agent_id,
                     const char *to_pod, int64_t hold_ms);

#endif
