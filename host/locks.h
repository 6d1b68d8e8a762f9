/*
 * locks.h -- the two lock factories of agentrecoverd: the agents' lock on
 * Redis (Redlock over REDIS_ADDRS) or on PostgreSQL alone
 * (AGENT_LOCK_BACKEND=postgres, with the pod's advisory-lock liveness),
 * and the wait for Redis at start-up.
 */
#ifndef AREC_HOST_LOCKS_H
#define AREC_HOST_LOCKS_H

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "config.h"

/* The lock of cfg->lock_backend; `pg` is the manager's pool (postgres
 * backend only).  `plain`: a second handle without the pod's liveness
 * connection (for work beside the manager's).  0, or 2 (bad options,
 * one line on stderr naming the variable). */
int arec_host_lock_new(arec_lock **out, const arec_host_config *cfg,
                       arec_pg *pg, int plain);

/* 1 when the backend is PostgreSQL (no Redis involved). */
int arec_host_lock_is_pg(const arec_host_config *cfg);

/* Redis: up to 5 pings with backoff (main thread, a signal interrupts).
 * 0 up, 1 down (warned: recovery waits for it), -1 a signal arrived. */
int arec_host_lock_wait_redis(arec_lock *lock, const arec_host_config *cfg);

/* One ping: 0 when the lock service answers. */
int arec_host_lock_ping(arec_lock *lock);

#endif
