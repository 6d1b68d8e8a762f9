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
 * waits for its exit, so nothing is opened twice.
 */
#ifndef AREC_HOST_TRADING_STRATEGY_H
#define AREC_HOST_TRADING_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#define AREC_PRICE_WINDOW_MAX 64
#define AREC_INTENTS_MAX 4

typedef struct arec_strategy_params {
  const char *name;
  unsigned short_window, long_window;
  double fraction;  /* of the assigned budget per entry */
  double stop_loss; /* below the average entry, e.g. 0.02 */
} arec_strategy_params;

/* The registered strategies by name; NULL when unknown. */
const arec_strategy_params *arec__strategy_find(const char *name);

typedef enum arec_side { AREC_SIDE_BUY = 1, AREC_SIDE_SELL = 2 } arec_side;
const char *arec__side_name(arec_side s); /* "BUY" / "SELL" */

/* An order intent: recorded (fenced save) before the order may leave. */
typedef struct arec_intent {
  char id[37]; /* client order id */
  arec_side side;
  double qty;
} arec_intent;

/* One symbol's memory (persisted as JSON). */
typedef struct arec_sym_mem {
  double prices[AREC_PRICE_WINDOW_MAX]; /* oldest first */
  size_t nprices;
  double position;     /* base units held */
  double avg_entry;    /* quote per base unit, buy fees included */
  double realized_pnl; /* quote, fees included */
  double fees;         /* quote, paid so far */
  uint64_t trades;     /* fills applied */
  uint64_t seq;        /* last client order sequence used */
  arec_intent intents[AREC_INTENTS_MAX];
  size_t nintents;
} arec_sym_mem;

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

/* Appends a price, keeping the last `cap` (<= AREC_PRICE_WINDOW_MAX). */
void arec__mem_push_price(arec_sym_mem *m, double price, size_t cap);
/* Window size a strategy needs: long_window + 1. */
size_t arec__strategy_window(const arec_strategy_params *p);

/* The rule above on m's prices (the last one is "now"). */
arec_decision arec__strategy_decide(const arec_strategy_params *p,
                                    const arec_sym_mem *m, double budget,
                                    double balance);

/* Applies a fill of `qty` base for `quote` quote (fee in quote) to the
 * position, average entry, realised PnL, fees, trade count and *balance. */
void arec__mem_apply_fill(arec_sym_mem *m, double *balance, arec_side side,
                          double qty, double quote, double fee);

/* Intents: add (0, or AREC_ENOMEM when full) and remove by id. */
int arec__mem_intent_add(arec_sym_mem *m, const char *id, arec_side side,
                         double qty);
void arec__mem_intent_remove(arec_sym_mem *m, const char *id);

/* JSON round trip (cJSON).  to_json: *out malloc'd, free().  from_json:
 * "{}" or NULL gives an empty memory; malformed JSON gives AREC_EINVAL and
 * an empty memory; unknown fields are ignored. */
int arec__mem_to_json(const arec_sym_mem *m, char **out);
int arec__mem_from_json(arec_sym_mem *m, const char *json);

#endif
