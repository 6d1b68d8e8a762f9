/*
 * balance.h -- the repository slots of version 2 on PostgreSQL (balance.c):
 * fair sharing and migration across pods.  Not installed.
 */
#ifndef AREC_PG_BALANCE_H
#define AREC_PG_BALANCE_H

#include "pg/repo.h"

/* A migration hold of agent row `a` is in force (SQL fragment). */
#define AREC__PG_HOLD(a)                                                       \
  "(" a ".migrate_to IS NOT NULL AND " a ".migrate_until > clock_timestamp() " \
  "AND EXISTS (SELECT 1 FROM pods mp WHERE mp.name = " a ".migrate_to "        \
  "AND NOT mp.leaving AND mp.lease_until > clock_timestamp()))"

int arec__pg_balance(arec_repository *repo, arec_balance *out);
int arec__pg_pod_leaving(arec_repository *repo, const char *pod,
                         const char *incarnation);
int arec__pg_migrate(arec_repository *repo, const char *agent_id,
                     const char *to_pod, int64_t hold_ms);

#endif
