/*
 * lifecycle.h -- agentrecoverd serving: start-up in dependency order,
 * the serve loop, the SIGTERM budget and the teardown.
 *
 * Start-up: the two database pools (exit 1 when unreachable for
 * DATABASE_CONNECT_TIMEOUT, 2 for a pooler in transaction mode) ->
 * migrations if asked -> the host's store -> the agents' lock (Redis:
 * five pings, then agents wait for it on the recovery thread) -> the
 * exchange hub and the Telegram bot -> the manager with the agent types
 * -> the service -> HTTP -> the bot's threads -> restore on the recovery
 * thread -> /ready.
 *
 * Shutdown (SIGTERM or SIGINT): /ready off at once; the manager's shutdown
 * starts at once (agents saved, locks released); the bot's stop runs
 * beside it with what is left of SHUTDOWN_TIMEOUT; HTTP stops after them,
 * bounded; at SHUTDOWN_TIMEOUT + 1.5 s after the signal the process logs
 * what did not finish and exits 1 whatever is stuck.  A second signal
 * stops the wait for running steps; a third exits at once.
 */
#ifndef AREC_HOST_LIFECYCLE_H
#define AREC_HOST_LIFECYCLE_H

#include "config.h"

/* Serves until a signal and the shutdown.  `migrate`: apply the
 * migrations first (--migrate or AGENT_MIGRATE).  The exit code. */
int arec_host_serve(arec_host_config *cfg, int migrate);

#endif
