/*
 * host/trading/strategy.h -- the trading rules and the per-symbol memory of
 * the "conservative" and "aggressive" agent types, as pure functions (no
 * I/O), so their decisions are deterministic on a fixed price series.
 *
 * The rule, per assigned symbol, on the window of recent prices:
 *   flat (no position): BUY when the short simple moving average crosses
 *     above the long one (short <= long one price ago, short > long now);
 *     size = fraction x the assigned budget (at most the cash balance),
 *     in base units at the last price;
 *   long (a position):  SELL everything when the price falls to the
 *     stop-loss (average entry x (1 - stop_loss)), or when the short
 *     average is below the long one (trend turned down).
 *   conservative: SMA 5 / 20, 10 % of the budget, stop-loss 2 %.
 *   aggressive:   SMA 3 / 8,  30 % of the budget, stop-loss 5 %.
 * A position is never added to: a restored agent with a position only
 * waits for its exit, so nothing is opened twice.  (A remainder too small
 * for the exchange to take, "dust", is no position: the caller decides on
 * a copy of the memory with position 0, and a later buy adds to it.)
 *
 * The per-symbol memory (position, fills, intents, JSON form) is in
 * memory.h, included here.
 */
#ifndef AREC_HOST_TRADING_STRATEGY_H
#define AREC_HOST_TRADING_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

typedef struct arec_strategy_params {
  const char *name;
  unsigned short_window, long_window;
  double fraction;  /* of the assigned budget per entry */
  double stop_loss; /* below the average entry, e.g. 0.02 */
} arec_strategy_params;

/* The registered strategies by name; NULL when unknown. */
const arec_strategy_params *arec__strategy_find(const char *name);

#include "trading/memory.h"

typedef enum arec_action {
  AREC_HOLD = 0,
  AREC_BUY = 1,
  AREC_SELL = 2
} arec_action;

typedef struct arec_decision {
  arec_action action;
  double qty;         /* base units (BUY: sized; SELL: the whole position) */
  const char *reason; /* "cross_up", "stop_loss", "trend_down", "hold", ... */
} arec_decision;

/* Window size a strategy needs: long_window + 1. */
size_t arec__strategy_window(const arec_strategy_params *p);

/* The rule above on m's prices (the last one is "now"). */
arec_decision arec__strategy_decide(const arec_strategy_params *p,
                                    const arec_sym_mem *m, double budget,
                                    double balance);

#endif
