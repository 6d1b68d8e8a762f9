/*
 * strategies.c -- the host's strategy registry (strategies.h): one static
 * table of the agent types the host can run, and their registration on a
 * manager (noop from noop.c, the trading types from host/trading).
 *
 * Must never: register a type whose userdata does not outlive the manager
 * (the context is borrowed for the manager's lifetime), register a trading
 * type without its configuration.
 */
#include "strategies.h"

#include <string.h>

#include "noop.h"
#include "trading/trader.h"
#include "trading/trading.h"

static const arec_host_strategy TABLE[] = {
    {"noop", "counts steps in memory; no exchange (tests, demos, load)", 0},
    {"conservative",
     "SMA 5/20 crossover, 10% of the budget per entry, stop-loss 2%", 1},
    {"aggressive",
     "SMA 3/8 crossover, 30% of the budget per entry, stop-loss 5%", 1},
};
#define NTABLE (sizeof TABLE / sizeof TABLE[0])

const arec_host_strategy *arec_host_strategies(size_t *out_n) {
  if (out_n)
    *out_n = NTABLE;
  return TABLE;
}

const arec_host_strategy *arec_host_strategy_find(const char *name) {
  for (size_t i = 0; name && i < NTABLE; i++)
    if (strcmp(TABLE[i].name, name) == 0)
      return &TABLE[i];
  return NULL;
}

int arec_host_strategies_register(arec_manager *mgr,
                                  const arec_host_strategy_ctx *ctx) {
  if (!mgr || !ctx)
    return AREC_EINVAL;
  const arec_host_trading_config *tc = ctx->trading;
  if (tc && (!tc->hub || tc->version != AREC_HOST_TRADING_CONFIG_VERSION))
    return tc->hub ? AREC_EVERSION : AREC_EINVAL;
  for (size_t i = 0; i < NTABLE; i++) {
    arec_agent_type t;
    if (TABLE[i].trading) {
      if (!tc)
        continue;
      arec__host_trading_type(&t, TABLE[i].name, tc);
    } else {
      /* noop reads its step from the context: it outlives the manager */
      arec_host_noop_type(&t, &ctx->noop_step_ms);
    }
    int rc = arec_manager_register_type(mgr, &t);
    if (rc)
      return rc;
  }
  return 0;
}
