/*
 * fake_exchange.h -- a local fake Binance-compatible spot exchange over HTTP
 * on 127.0.0.1 (libmicrohttpd, a thread per connection), for the trading
 * tests.
 *
 * Serves GET /api/v3/ticker/price and /api/v3/klines from fixed price series
 * (each ticker call serves the next price of the symbol's series, the last
 * one repeating), GET /api/v3/exchangeInfo with per-symbol filters
 * (LOT_SIZE, MARKET_LOT_SIZE, PRICE_FILTER, NOTIONAL or MIN_NOTIONAL;
 * settable), and the signed GET /api/v3/account (balances, commission
 * rates), POST/GET/DELETE /api/v3/order, GET /api/v3/openOrders,
 * /api/v3/allOrders and /api/v3/myTrades, checking X-MBX-APIKEY and the
 * HMAC-SHA256 signature over query string + body exactly as Binance
 * defines it.
 *
 * Orders: a quantity or price that breaks the symbol's filters is refused
 * with Binance's answer (HTTP 400 {"code":-1013,"msg":"Filter failure:
 * LOT_SIZE"}, ...), one the balances cannot pay with -2010 "Account has
 * insufficient balance for requested action.".  MARKET orders fill at once
 * at the last served price, in one or more trades (settable), each with its
 * commission (rate, and asset: the quote asset, the base asset or another
 * one such as BNB), and answer FULL with fills[].  LIMIT orders always
 * rest (NEW) until the test fills them (arec_fx_fill_open: "it filled
 * while the pod was down") or they are cancelled.  It can fail (any HTTP
 * status, or drop the connection), answer 429 with Retry-After, fill an
 * order then hold its answer past the client's timeout, or fill it and
 * never answer.  Thread-safe.
 */
#ifndef AREC_TESTS_FAKE_EXCHANGE_H
#define AREC_TESTS_FAKE_EXCHANGE_H

#include <stddef.h>

typedef struct arec_fx arec_fx;

/* Starts on a free loopback port.  0 or -1 (message on stderr). */
int arec_fx_start(arec_fx **out, const char *api_key, const char *api_secret);
/* Stops the daemon (waits for its threads) and frees.  NULL ok. */
void arec_fx_stop(arec_fx *fx);
/* "http://127.0.0.1:PORT" */
const char *arec_fx_url(const arec_fx *fx);

/* The price series of `symbol` ("BTCUSDT"), copied; restarts its cursor. */
void arec_fx_set_prices(arec_fx *fx, const char *symbol, const double *prices,
                        size_t n);
/* Index of the next price the ticker serves for `symbol`. */
size_t arec_fx_cursor(arec_fx *fx, const char *symbol);

/* A symbol's filters, as decimal strings ("" or NULL: the filter is not
 * published).  Defaults for a symbol with prices: LOT_SIZE step / min
 * "0.00000001", max "9000000000"; PRICE_FILTER tick "0.01"; NOTIONAL
 * minNotional "1" (applies to market orders); no MARKET_LOT_SIZE; assets
 * "<sym minus USDT>" / "USDT". */
typedef struct arec_fx_filters {
  const char *step, *min_qty, *max_qty;    /* LOT_SIZE */
  const char *mstep, *mmin_qty, *mmax_qty; /* MARKET_LOT_SIZE */
  const char *tick;                        /* PRICE_FILTER */
  const char *min_notional;
  int min_notional_legacy;                 /* 1: MIN_NOTIONAL, 0: NOTIONAL */
  int notional_market;                     /* applies to MARKET orders */
  const char *base, *quote;                /* NULL: derived */
} arec_fx_filters;
void arec_fx_set_filters(arec_fx *fx, const char *symbol,
                         const arec_fx_filters *f);

/* Free balance of an asset (default: USDT 10000, others 0). */
void arec_fx_set_balance(arec_fx *fx, const char *asset, double amount);
double arec_fx_balance(arec_fx *fx, const char *asset);

/* Commission of every fill: `rate` of the notional (default 0.001),
 * charged in `asset`: NULL the quote asset, "RECEIVED" the asset the fill
 * brings in (base on a BUY, quote on a SELL: the exchange's default), else
 * that asset (e.g. "BNB") at `asset_price` quote per unit. */
void arec_fx_set_commission(arec_fx *fx, double rate, const char *asset,
                            double asset_price);
/* MARKET orders fill in `n` trades (default 1). */
void arec_fx_set_fill_split(arec_fx *fx, int n);

/* The next `n` requests (n < 0: all until called with n = 0) answer HTTP
 * `status` with a Binance error body; status 0 drops the connection
 * without an answer. */
void arec_fx_fail(arec_fx *fx, int status, int n);
/* The next `n` requests answer 429 with "Retry-After: <retry_after_s>". */
void arec_fx_rate_limit(arec_fx *fx, int n, int retry_after_s);
/* The next `n` accepted orders are filled, then their answer is held for
 * delay_ms (longer than the client's timeout: a lost answer). */
void arec_fx_order_delay(arec_fx *fx, int n, int delay_ms);
/* The next `n` accepted orders are filled and never answered: the
 * connection is dropped when arec_fx_release() is called (or at stop). */
void arec_fx_order_lose(arec_fx *fx, int n);
void arec_fx_release(arec_fx *fx);

/* The next `n` new orders are refused (HTTP 400) with {"code": code,
 * "msg": msg}, whatever they are. */
void arec_fx_reject_next(arec_fx *fx, int n, int code, const char *msg);

/* Fills the resting LIMIT order `client_id` at its price now (one trade,
 * with commission).  0, or -1 when no such open order. */
int arec_fx_fill_open(arec_fx *fx, const char *client_id);

typedef struct arec_fx_stats {
  unsigned requests;       /* every HTTP request that reached a handler */
  unsigned ticker;
  unsigned klines;
  unsigned account;
  unsigned exchange_info;
  unsigned order_posts;    /* POST /api/v3/order, accepted or not */
  unsigned orders;         /* orders accepted */
  unsigned rejected;       /* orders refused by a filter or the balance */
  unsigned order_queries;  /* GET /api/v3/order */
  unsigned cancels;        /* DELETE /api/v3/order that cancelled */
  unsigned open_orders;    /* GET /api/v3/openOrders */
  unsigned all_orders;     /* GET /api/v3/allOrders */
  unsigned my_trades;      /* GET /api/v3/myTrades */
  unsigned trades;         /* trades made */
  unsigned bad_signatures; /* refused: bad key, signature or timestamp */
  unsigned failed;         /* answered by arec_fx_fail / rate limit */
} arec_fx_stats;
void arec_fx_get_stats(arec_fx *fx, arec_fx_stats *out);

/* How many accepted orders carry this client order id (0 or 1), and the
 * side / quantity of that order (out params may be NULL). */
int arec_fx_order_find(arec_fx *fx, const char *client_id, char *side_out,
                       double *qty_out);
/* Status of that order ("NEW", "FILLED", "CANCELED") into out (>= 16);
 * 0, or -1 when unknown. */
int arec_fx_order_status(arec_fx *fx, const char *client_id, char *out);

/* The last POST /api/v3/order parameters received (raw, signature
 * removed), for checking what a client sent. */
void arec_fx_last_order_params(arec_fx *fx, char *out, size_t len);

#endif
