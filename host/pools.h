/*
 * pools.h -- agentrecoverd's two PostgreSQL pools: the manager's own (its
 * heartbeats, claims, saves and releases never wait behind an
 * administrative query) and the administrative one (API, bot, service),
 * both opened with backoff up to DATABASE_CONNECT_TIMEOUT and both checked
 * for a server session per connection (a pooler in transaction mode is
 * refused at start).
 */
#ifndef AREC_HOST_POOLS_H
#define AREC_HOST_POOLS_H

#include "agentrecover/pg.h"
#include "config.h"

typedef struct arec_host_pools {
  arec_pg *mgr;   /* the manager's pool (NULL when not asked for) */
  arec_pg *admin; /* the administrative pool (NULL when not asked for) */
} arec_host_pools;

enum { AREC_POOL_MANAGER = 1, AREC_POOL_ADMIN = 2 };

/* Opens the pools named in `which` (AREC_POOL_* flags).
 * Returns the exit code to leave with when it fails: 1 the database stayed
 * unreachable for DATABASE_CONNECT_TIMEOUT, 2 bad DATABASE_URL or a pooler
 * that does not give each connection its own session (one line on
 * stderr), -1 a signal arrived while waiting; 0 on success. */
int arec_host_pools_open(arec_host_pools *p, const arec_host_config *cfg,
                         int which);
void arec_host_pools_close(arec_host_pools *p);

#endif
