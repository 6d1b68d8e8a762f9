/*
 * fake_exchange.h -- a local fake Binance-compatible spot exchange over HTTP
 * on 127.0.0.1 (libmicrohttpd, a thread per connection), for the trading
 * tests.
 *
 * Serves GET /api/v3/ticker/price and /api/v3/klines from fixed price series
 * (each ticker call serves the next price of the symbol's series, the last
 * one repeating), and the signed GET /api/v3/account, POST/GET/DELETE
 * /api/v3/order, checking X-MBX-APIKEY and the HMAC-SHA256 signature over
 * query string + body exactly as Binance defines it.  MARKET orders fill at
 * once at the last served price.  It can fail (any HTTP status, or drop the
 * connection), answer 429 with Retry-After, and fill an order then hold
 * its answer past the client's timeout.  Thread-safe.
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

/* The next `n` requests (n < 0: all until called with n = 0) answer HTTP
 * `status` with a Binance error body; status 0 drops the connection
 * without an answer. */
void arec_fx_fail(arec_fx *fx, int status, int n);
/* The next `n` requests answer 429 with "Retry-After: <retry_after_s>". */
void arec_fx_rate_limit(arec_fx *fx, int n, int retry_after_s);
/* The next `n` accepted orders are filled, then their answer is held for
 * delay_ms (longer than the client's timeout: a lost answer). */
void arec_fx_order_delay(arec_fx *fx, int n, int delay_ms);

typedef struct arec_fx_stats {
  unsigned requests;       /* every HTTP request that reached a handler */
  unsigned ticker;
  unsigned klines;
  unsigned account;
  unsigned order_posts;    /* POST /api/v3/order, accepted or not */
  unsigned orders;         /* orders accepted and filled */
  unsigned order_queries;  /* GET /api/v3/order */
  unsigned bad_signatures; /* refused: bad key, signature or timestamp */
  unsigned failed;         /* answered by arec_fx_fail / rate limit */
} arec_fx_stats;
void arec_fx_get_stats(arec_fx *fx, arec_fx_stats *out);

/* How many accepted orders carry this client order id (0 or 1), and the
 * side / quantity of that order (out params may be NULL). */
int arec_fx_order_find(arec_fx *fx, const char *client_id, char *side_out,
                       double *qty_out);

#endif
