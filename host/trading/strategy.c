/*
 * strategy.c -- the rules of the "conservative" and "aggressive" agent
 * types (documented in strategy.h) on a symbol's price window.  The rest
 * of the memory (fills, intents, JSON) is memory.c.
 *
 * Pure: no I/O, no clock, no global mutable state; the same series gives
 * the same decisions.  Never adds to an open position.
 */
#include "trading/strategy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"

/* ------------------------------------------------------------ the rules */
static const arec_strategy_params strategies[] = {
    {"conservative", 5, 20, 0.10, 0.02},
    {"aggressive", 3, 8, 0.30, 0.05},
};

const arec_strategy_params *arec__strategy_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++)
    if (strcmp(strategies[i].name, name) == 0) return &strategies[i];
  return NULL;
}

size_t arec__strategy_window(const arec_strategy_params *p) {
  size_t w = (size_t)p->long_window + 1;
  return w > AREC_PRICE_WINDOW_MAX ? AREC_PRICE_WINDOW_MAX : w;
}

/* Mean of the k prices ending `back` prices before the last one. */
static double sma(const arec_sym_mem *m, unsigned k, size_t back) {
  double s = 0;
  size_t end = m->nprices - back; /* exclusive */
  for (size_t i = end - k; i < end; i++) s += m->prices[i];
  return s / k;
}

arec_decision arec__strategy_decide(const arec_strategy_params *p,
                                    const arec_sym_mem *m, double budget,
                                    double balance) {
  arec_decision d = {AREC_HOLD, 0, "hold"};
  double price;
  if (m->nprices == 0) {
    d.reason = "no_price";
    return d;
  }
  price = m->prices[m->nprices - 1];
  if (m->position > 1e-12) {
    if (price <= m->avg_entry * (1.0 - p->stop_loss)) {
      d.action = AREC_SELL;
      d.qty = m->position;
      d.reason = "stop_loss";
      return d;
    }
    if (m->nprices >= p->long_window &&
        sma(m, p->short_window, 0) < sma(m, p->long_window, 0)) {
      d.action = AREC_SELL;
      d.qty = m->position;
      d.reason = "trend_down";
    }
    return d;
  }
  if (m->nprices < (size_t)p->long_window + 1) {
    d.reason = "warming_up";
    return d;
  }
  double s_now = sma(m, p->short_window, 0), l_now = sma(m, p->long_window, 0);
  double s_prev = sma(m, p->short_window, 1), l_prev = sma(m, p->long_window, 1);
  if (s_prev <= l_prev && s_now > l_now) {
    double spend = p->fraction * budget;
    if (spend > balance * 0.99) spend = balance * 0.99; /* room for the fee */
    if (spend <= 0 || price <= 0) {
      d.reason = "no_balance";
      return d;
    }
    d.action = AREC_BUY;
    d.qty = floor(spend / price * 1e8) / 1e8; /* exchange precision */
    d.reason = "cross_up";
    if (d.qty <= 0) {
      d.action = AREC_HOLD;
      d.reason = "no_balance";
    }
  }
  return d;
}
