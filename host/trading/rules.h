/*
 * host/trading/rules.h -- a symbol's exchange rules (the filters of
 * GET /api/v3/exchangeInfo) and the exact decimal arithmetic that applies
 * them: quantities rounded DOWN to LOT_SIZE.stepSize (and
 * MARKET_LOT_SIZE.stepSize for market orders), prices to
 * PRICE_FILTER.tickSize, minQty / maxQty and the minimum notional
 * (MIN_NOTIONAL or NOTIONAL).  Internal to host/trading; pure (no I/O).
 *
 * Decimals are integers with a scale (value = v / 10^scale), parsed from the
 * exchange's strings exactly; a double (a computed quantity) enters through
 * arec__dec_from_double(), which first snaps it to 15 significant digits
 * (when that is within float noise of it), so 0.1 + 0.2 is 0.3 and
 * 0.29999999999999993 is 0.3 too, then truncates.
 */
#ifndef AREC_HOST_TRADING_RULES_H
#define AREC_HOST_TRADING_RULES_H

#include <stddef.h>
#include <stdint.h>

#define AREC_DEC_MAX_SCALE 18

typedef struct arec_dec {
  int64_t v; /* >= 0 */
  int scale; /* 0..AREC_DEC_MAX_SCALE */
} arec_dec;

/* "0.00001000" -> {1, 5} (trailing zeros dropped).  0, or AREC_EINVAL
 * (empty, negative, not a plain decimal, more than 18 decimals or too
 * large for int64). */
int arec__dec_parse(arec_dec *out, const char *s);
/* x (>= 0, finite) snapped to 15 significant digits (17 when 15 would
 * move it by more than float noise) and truncated to
 * `scale` decimals.  0; 1 when it does not fit int64 (the result then
 * saturates at INT64_MAX units); AREC_EINVAL (negative, not finite, bad
 * scale). */
int arec__dec_from_double(arec_dec *out, double x, int scale);
double arec__dec_to_double(arec_dec d);
/* d written with exactly `scale` decimals (>= d.scale: padded with zeros;
 * < d.scale: truncated); no exponent, no float noise. */
void arec__dec_format(char *out, size_t len, arec_dec d, int scale);
/* -1, 0, 1 */
int arec__dec_cmp(arec_dec a, arec_dec b);

typedef struct arec_xrules {
  char symbol[32];      /* "BTCUSDT" */
  char base_asset[16];  /* "BTC" */
  char quote_asset[16]; /* "USDT" */
  arec_dec step, min_qty, max_qty;    /* LOT_SIZE; step.v 0: none */
  arec_dec mstep, mmin_qty, mmax_qty; /* MARKET_LOT_SIZE; 0: none */
  arec_dec tick, min_price, max_price; /* PRICE_FILTER; tick.v 0: none */
  double min_notional;  /* MIN_NOTIONAL or NOTIONAL minNotional; 0: none */
  int notional_market;  /* the minimum applies to MARKET orders */
} arec_xrules;

/* The rules of `xsym` ("BTCUSDT") from an exchangeInfo answer.  0,
 * AREC_ENOTFOUND (symbol absent), AREC_EINVAL (malformed); the message in
 * arec_error_last(). */
int arec__rules_parse(arec_xrules *out, const char *json, const char *xsym);

/* An order quantity after the rules. */
typedef struct arec_xqty {
  arec_dec qty;     /* rounded down, clamped to maxQty */
  int decimals;     /* of the step(s) used */
  char text[48];    /* qty with exactly `decimals` decimals */
  double value;     /* qty as a double */
  double notional;  /* value x price */
  char why[160];    /* when refused: "below minQty 0.001 (qty 0.0004)" */
} arec_xqty;

/* Applies the rules to `qty` base units at the estimated `price`
 * (market != 0: a MARKET order, MARKET_LOT_SIZE and the notional flag
 * apply).  0: out->text is what to send; AREC_ECONFLICT: the order must
 * be skipped, out->why says why (zero after rounding, under minQty, under
 * the minimum notional, out of range). */
int arec__rules_qty(const arec_xrules *r, double qty, double price,
                    int market, arec_xqty *out);

/* Rounds `price` to the tick (dir < 0 down, 0 nearest, > 0 up), clamped to
 * minPrice/maxPrice when set; text with exactly the tick's decimals.  0 or
 * AREC_ECONFLICT (zero or not finite). */
int arec__rules_price(const arec_xrules *r, double price, int dir,
                      arec_dec *out, char *text, size_t len);

#endif
