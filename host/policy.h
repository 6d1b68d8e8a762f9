/*
 * policy.h -- how agentrecoverd turns its configuration into the options of
 * the library's parts: the two database pools, the manager, the health
 * watch and the shutdown budget.  Pure functions of the configuration, so
 * the rules can be read (and tested) in one place.
 */
#ifndef AREC_HOST_POLICY_H
#define AREC_HOST_POLICY_H

#include <stdint.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "config.h"

/* The manager's pool: DATABASE_POOL_SIZE connections; every call returns
 * within a third of the lock TTL (500 ms .. 5 s), so a pod cut off from
 * PostgreSQL notices, stops and frees its agents within about a TTL. */
void arec_host_policy_manager_pool(const arec_host_config *cfg,
                                   arec_pg_options *o);
/* The administrative pool (API, bot, service): DATABASE_ADMIN_POOL_SIZE
 * connections whose statements the server cancels after
 * DATABASE_STATEMENT_TIMEOUT; the client's deadline is a second later. */
void arec_host_policy_admin_pool(const arec_host_config *cfg,
                                 arec_pg_options *o);

/* The manager: timings, workers, pod leases (always with the postgres
 * lock backend: 2 s unless AGENT_POD_LEASE_TTL), fair sharing, takeover
 * off when AGENT_RECOVERY_ENABLED=false (stops issued elsewhere still
 * reach this pod within AGENT_STOP_CHECK_INTERVAL), and a log level low
 * enough for the bot's tap when the bot runs. */
void arec_host_policy_manager(const arec_host_config *cfg, int bot_enabled,
                              arec_manager_options *o);

/* /healthz turns 503 when the refresher has not completed a cycle for
 * this long (three refresh intervals, at least 10 s). */
int64_t arec_host_policy_healthz_stall_ms(const arec_host_config *cfg);

/* After SIGTERM the process is gone within SHUTDOWN_TIMEOUT + 1.5 s
 * whatever is stuck (the hard deadline, from the signal). */
int64_t arec_host_policy_hard_deadline_ms(const arec_host_config *cfg);

#endif
