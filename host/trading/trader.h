/*
 * host/trading/trader.h -- order execution with order safety, shared by the
 * agent types (agent.c).  Internal to host/trading.
 */
#ifndef AREC_HOST_TRADING_TRADER_H
#define AREC_HOST_TRADING_TRADER_H

#include "trading/exchange.h"
#include "trading/strategy.h"
#include "trading/trading.h"

/* One assigned symbol of a running agent. */
typedef struct arec_trade_sym {
  char *symbol;      /* "BTC/USDT" */
  double budget;     /* assigned */
  double balance;    /* quote cash */
  arec_sym_mem mem;
  arec_exchange *x;  /* prices, and orders in live mode */
  int live;
} arec_trade_sym;

/* Records an intent (fenced sync save), then fills it: paper at `price`
 * with the fee, live through the exchange (only with enough lease
 * validity; a lost answer is looked up by client order id).  0 (done,
 * skipped or left unresolved), or AREC_EFENCED (nothing sent: stop). */
int arec__trade_execute(const arec_host_trading_config *cfg,
                        arec_agent *agent, arec_trade_sym *s, arec_side side,
                        double qty, double price, const char *reason);

/* Settles the intents found in memory (after a restore or a lost answer):
 * live ones are looked up by client order id (found: the fill is applied;
 * not found: dropped; no answer: kept), paper ones are dropped.  Returns
 * the number still unresolved (>= 0), or AREC_EFENCED. */
int arec__trade_resolve(const arec_host_trading_config *cfg,
                        arec_agent *agent, arec_trade_sym *s);

#endif
