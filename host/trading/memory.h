/*
 * host/trading/memory.h -- one symbol's memory of a trading agent (persisted
 * as JSON in the agent's state): price window, position, average entry
 * (cost basis incl. fees), realised PnL, fees, the last fills, open order
 * intents, the last rejection and the last skipped order.  Pure (no I/O).
 *
 * Fills are applied one exchange trade at a time and recorded with their
 * trade id (and order id), so the same trade reaching the memory twice --
 * from an order's answer, a lookup after a lost answer, or a reconcile
 * after a takeover -- is applied once.  A whole order applied without its
 * trades (an exchange that gave none) is recorded with trade id 0 and its
 * order id, and then covers every trade of that order.
 *
 * Commission: in the quote asset it is the fee; in the base asset it
 * reduces the quantity received (BUY) or adds to the quantity given
 * (SELL) and counts as fee at the fill price; in another asset (BNB) it is
 * converted at that asset's price in the quote asset when the caller has
 * one, else it is kept unconverted per asset (fees_other) and left out of
 * the PnL.  `balance` is the quote cash that really moved: a commission in
 * another asset is not taken from it.
 */
#ifndef AREC_HOST_TRADING_MEMORY_H
#define AREC_HOST_TRADING_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#define AREC_PRICE_WINDOW_MAX 64
#define AREC_INTENTS_MAX 4
#define AREC_FILLS_MAX 50
#define AREC_FEES_OTHER_MAX 4
#define AREC_DAYS_MAX 90

typedef enum arec_side { AREC_SIDE_BUY = 1, AREC_SIDE_SELL = 2 } arec_side;
const char *arec__side_name(arec_side s); /* "BUY" / "SELL" */

/* An order intent: recorded (fenced save) before the order may leave. */
typedef struct arec_intent {
  char id[37]; /* client order id */
  arec_side side;
  double qty;
  int64_t t_ms; /* wall clock when recorded; 0 in old memory */
} arec_intent;

/* One applied fill, as remembered (the last AREC_FILLS_MAX). */
typedef struct arec_fill_rec {
  int64_t t_ms;       /* trade time (exchange clock; paper: local) */
  arec_side side;
  double qty;         /* base units traded */
  double price;
  double fee;         /* commission in the quote asset (0: unconverted) */
  char coid[37];      /* client order id ("" unknown) */
  long long trade_id; /* exchange trade id; 0: paper or a whole order */
  long long order_id; /* exchange order id; 0: paper */
} arec_fill_rec;

/* The realised PnL of one UTC day (the fills of that day). */
typedef struct arec_day_pnl {
  int32_t day;     /* days since 1970-01-01, UTC */
  double realized; /* quote, fees included (a sell realises its buy's fee) */
  double fees;     /* quote, converted commission paid that day */
  uint32_t trades; /* fills that day */
} arec_day_pnl;

typedef struct arec_fee_other {
  char asset[16];
  double amount; /* commission in `asset` never converted */
} arec_fee_other;

/* One symbol's memory (persisted as JSON). */
typedef struct arec_sym_mem {
  double prices[AREC_PRICE_WINDOW_MAX]; /* oldest first */
  size_t nprices;
  double position;     /* base units held */
  double avg_entry;    /* quote per base unit, buy fees included */
  double realized_pnl; /* quote, fees included */
  double fees;         /* quote, paid so far (converted) */
  uint64_t trades;     /* fills applied */
  uint64_t seq;        /* last client order sequence used */
  arec_intent intents[AREC_INTENTS_MAX];
  size_t nintents;
  arec_fill_rec fills[AREC_FILLS_MAX]; /* oldest first */
  size_t nfills;
  arec_fee_other fees_other[AREC_FEES_OTHER_MAX];
  size_t nfees_other;
  /* the last order the exchange refused, and how many in a row */
  int rej_code;
  char rej_reason[24]; /* "filter", "insufficient_balance", "other" */
  char rej_msg[96];
  int64_t rej_t_ms;
  unsigned rejections; /* consecutive; a filled order resets it */
  /* the last order skipped before sending (under the exchange minimum) */
  char skip_why[160];
  int64_t skip_t_ms;
  /* realised PnL per UTC day, oldest first, the last AREC_DAYS_MAX days
   * that had fills (memory of an older version: none) */
  arec_day_pnl days[AREC_DAYS_MAX];
  size_t ndays;
} arec_sym_mem;

/* One fill to apply. */
typedef struct arec_fill {
  int64_t t_ms;
  arec_side side;
  double qty, price;
  double commission;
  const char *commission_asset; /* NULL or "": the quote asset */
  long long trade_id, order_id;
  const char *coid;             /* NULL: "" */
} arec_fill;

/* Appends a price, keeping the last `cap` (<= AREC_PRICE_WINDOW_MAX). */
void arec__mem_push_price(arec_sym_mem *m, double price, size_t cap);

/* 1 when the trade (trade_id > 0) was applied already, or its order
 * (order_id > 0) was applied as a whole. */
int arec__mem_has_trade(const arec_sym_mem *m, long long trade_id,
                        long long order_id);

/* Applies f to position, average entry, realised PnL, fees, trade count,
 * the day's bucket (by f->t_ms; none when 0), the fill list and *balance.  base/quote: the symbol's assets;
 * asset_price: quote per unit of f's commission asset when that is
 * neither (0: unknown, kept unconverted).  1 applied; 0 skipped (a trade
 * already applied, or qty <= 0). */
int arec__mem_apply(arec_sym_mem *m, double *balance, const arec_fill *f,
                    const char *base, const char *quote, double asset_price);

/* A fill of `qty` base for `quote` quote with `fee` in quote (paper). */
void arec__mem_apply_fill(arec_sym_mem *m, double *balance, arec_side side,
                          double qty, double quote, double fee);

/* Time of the newest recorded fill (0 none); max order id recorded. */
int64_t arec__mem_last_fill_ms(const arec_sym_mem *m);
long long arec__mem_max_order_id(const arec_sym_mem *m);

/* Intents: add (0, or AREC_ENOMEM when full) and remove by id. */
int arec__mem_intent_add(arec_sym_mem *m, const char *id, arec_side side,
                         double qty, int64_t t_ms);
void arec__mem_intent_remove(arec_sym_mem *m, const char *id);

/* Records a refused order; returns the number refused in a row. */
unsigned arec__mem_reject(arec_sym_mem *m, int code, const char *reason,
                          const char *msg, int64_t now_ms);
/* Records a skipped order. */
void arec__mem_skip(arec_sym_mem *m, const char *why, int64_t now_ms);

/* ------------------------------------------------ per-day PnL (days.c) */
/* The UTC day of a wall-clock time in ms (days since 1970-01-01). */
int32_t arec__utc_day(int64_t t_ms);
/* "YYYY-MM-DD" of a day (out: at least 11 bytes). */
void arec__utc_day_text(int32_t day, char *out, size_t len);
/* Parses "YYYY-MM-DD" (a valid date); 0 or -1. */
int arec__utc_day_parse(const char *s, int32_t *out);
/* Adds a fill's realised PnL and fee to its day's bucket (created in day
 * order; past AREC_DAYS_MAX days the oldest goes, and a day older than
 * every kept one is not recorded then). */
void arec__mem_day_add(arec_sym_mem *m, int64_t t_ms, double realized,
                       double fee);
/* The bucket of `day`, or NULL. */
const arec_day_pnl *arec__mem_day(const arec_sym_mem *m, int32_t day);

/* JSON round trip (cJSON).  to_json: *out malloc'd, free().  from_json:
 * "{}" or NULL gives an empty memory; malformed JSON gives AREC_EINVAL and
 * an empty memory; unknown fields are ignored, missing ones (memory of an
 * older version) take their empty value. */
int arec__mem_to_json(const arec_sym_mem *m, char **out);
int arec__mem_from_json(arec_sym_mem *m, const char *json);

#endif
