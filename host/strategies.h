/*
 * strategies.h -- the host's strategy registry: every agent type the host
 * can run, in one static table with a one-line summary each, and their
 * registration on a manager.  The service checks a strategy against the
 * manager's registered types (arec_manager_has_type), so a pod registers
 * exactly what it can run.
 *
 *   noop          counts steps in memory (lifecycle tests, demos, load)
 *   conservative  SMA 5/20 crossover, 10 % of the budget, stop-loss 2 %
 *   aggressive    SMA 3/8 crossover, 30 % of the budget, stop-loss 5 %
 */
#ifndef AREC_HOST_STRATEGIES_H
#define AREC_HOST_STRATEGIES_H

#include <stddef.h>
#include <stdint.h>

#include "agentrecover.h"

struct arec_host_trading_config; /* trading/trading.h */

typedef struct arec_host_strategy {
  const char *name;
  const char *summary;
  int trading; /* an exchange trading type (needs a trading config) */
} arec_host_strategy;

/* What the registered types need.  Not copied: it (and what it points to)
 * must outlive the manager, like an agent type's userdata. */
typedef struct arec_host_strategy_ctx {
  int64_t noop_step_ms; /* between noop steps; <= 0: 1000 */
  const struct arec_host_trading_config *trading; /* NULL: the trading
                                                     types are not
                                                     registered */
} arec_host_strategy_ctx;

/* The static table, in display order. */
const arec_host_strategy *arec_host_strategies(size_t *out_n);
/* The entry of `name`, NULL when the host has none. */
const arec_host_strategy *arec_host_strategy_find(const char *name);

/* Registers every strategy of the table the context allows (noop always;
 * the trading ones with ctx->trading).  0, AREC_EINVAL, AREC_EEXIST,
 * AREC_EVERSION. */
int arec_host_strategies_register(arec_manager *mgr,
                                  const arec_host_strategy_ctx *ctx);

#endif
