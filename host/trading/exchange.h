/*
 * host/trading/exchange.h -- Binance-compatible spot REST client with a
 * circuit breaker per endpoint, and the pure helpers it is built from
 * (signing, symbol mapping, endpoint choice, client order ids).
 *
 * Threads: an arec_exchange_hub is thread-safe (one mutex); an arec_exchange
 * (one account on one endpoint) is used by one runner at a time and keeps no
 * connection between calls (one CURL handle per call).
 *
 * Errors: functions return 0 or a negative AREC_E* code and set
 * arec_error_last() to a message that never contains the API key, the
 * secret or a signature:
 *   AREC_EUNAVAILABLE  no answer (transport error, 5xx), or refused locally
 *                      without a request (circuit open, Retry-After pending)
 *   AREC_ETIMEDOUT     the request timed out (its outcome is unknown)
 *   AREC_EBACKEND      the exchange answered with an error {"code","msg"}
 *   AREC_ENOTFOUND     the order does not exist (code -2013)
 */
#ifndef AREC_HOST_TRADING_EXCHANGE_H
#define AREC_HOST_TRADING_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "agentrecover.h"

/* ------------------------------------------------------- pure helpers */
/* "BTC/USDT" -> "BTCUSDT" (also drops '-' and '_', upper-cases).  0, or
 * AREC_EINVAL when empty, too long or not [A-Za-z0-9/_-]. */
int arec__xsymbol(char *out, size_t len, const char *symbol);

/* Lower-case hex HMAC-SHA256 of msg under key into out (65 bytes). */
void arec__hmac_hex(char out[65], const char *key, const char *msg,
                    size_t msglen);

/* The REST base URL: `override` (EXCHANGE_API_BASE) when non-empty, else
 * the exchange's testnet or mainnet URL.  Known exchanges: "binance"
 * (https://testnet.binance.vision, https://api.binance.com); NULL exchange
 * means binance.  Trailing '/' removed.  0 or AREC_EINVAL (unknown
 * exchange, or the result does not fit). */
int arec__xbase_url(char *out, size_t len, const char *exchange, int testnet,
                    const char *override);

/* A client order id matching Binance's rule ^[.A-Z:/a-z0-9_-]{1,36}$,
 * unique per (agent, fence, seq): "<agent prefix>-<fence base36>-<seq
 * base36>", the agent id cut so the whole fits in 36 chars (out >= 37).
 * Characters of the agent id outside the rule become '_'. */
void arec__client_order_id(char out[37], const char *agent_id,
                           uint64_t fence, uint64_t seq);
/* 1 when s matches Binance's client order id rule. */
int arec__client_order_id_valid(const char *s);

/* --------------------------------------------------------------- breaker */
typedef enum arec_breaker_state {
  AREC_BREAKER_CLOSED = 0,
  AREC_BREAKER_OPEN = 1,
  AREC_BREAKER_HALF_OPEN = 2
} arec_breaker_state;

const char *arec__breaker_state_name(arec_breaker_state s);

/* A circuit breaker, pure: the caller passes the monotonic time.  Closed ->
 * open after `threshold` consecutive failures; open -> half-open once the
 * cool-down passed (it starts at cooldown_ms, doubles at each re-open from
 * half-open up to cooldown_max_ms, each with up to +20 % jitter); half-open
 * lets one probe through; its success closes (cool-down reset), its failure
 * re-opens.  Not thread-safe by itself (the hub locks it). */
typedef struct arec_breaker {
  arec_breaker_state state;
  unsigned failures;        /* consecutive */
  unsigned threshold;
  int64_t cooldown_ms;      /* base */
  int64_t cooldown_max_ms;
  int64_t cur_cooldown_ms;  /* the one in force (before jitter) */
  int64_t open_until_ms;    /* when open: half-open from then on */
  int probe_in_flight;
  unsigned jitter_seed;
} arec_breaker;

void arec__breaker_init(arec_breaker *b, unsigned threshold,
                        int64_t cooldown_ms, int64_t cooldown_max_ms,
                        unsigned seed);
/* 1: a request may go out (in half-open, this takes the probe slot);
 * 0: refused without a request.  May move open -> half-open; the new
 * state is in b->state (*changed set to 1 when it moved). */
int arec__breaker_allow(arec_breaker *b, int64_t now_ms, int *changed);
/* Records a request's outcome (ok != 0: success).  Returns 1 when the
 * state changed. */
int arec__breaker_record(arec_breaker *b, int64_t now_ms, int ok);

/* ------------------------------------------------------------------- hub */
/* One per host: the breakers per endpoint (base URL), the Retry-After
 * deadlines, the request counters, and the log of state changes. */
typedef struct arec_exchange_hub arec_exchange_hub;

/* Called once per breaker state change (after the log line), outside the
 * hub's lock; for notifications ("exchange unavailable" / "recovered"). */
typedef void (*arec_breaker_change_fn)(void *userdata, const char *endpoint,
                                       arec_breaker_state from,
                                       arec_breaker_state to);

typedef struct arec_exchange_hub_options {
  unsigned threshold;        /* consecutive failures to open; default 5 */
  int64_t cooldown_ms;       /* first cool-down; default 1000 */
  int64_t cooldown_max_ms;   /* default 60000 */
  arec_log_fn log;           /* NULL: no log */
  void *log_userdata;
  arec_breaker_change_fn on_change; /* optional */
  void *change_userdata;
} arec_exchange_hub_options;

#define AREC_EXCHANGE_HUB_OPTIONS_INIT {5, 1000, 60000, NULL, NULL, NULL, NULL}

int arec_exchange_hub_new(arec_exchange_hub **out,
                          const arec_exchange_hub_options *opts);
void arec_exchange_hub_free(arec_exchange_hub *hub);

typedef struct arec_exchange_counters {
  uint64_t ok, error, rejected, open;
  int64_t circuits_open; /* endpoints not closed now */
} arec_exchange_counters;
void arec_exchange_hub_counters(arec_exchange_hub *hub,
                                arec_exchange_counters *out);
/* State of the breaker of `endpoint` (CLOSED when never used). */
arec_breaker_state arec_exchange_hub_state(arec_exchange_hub *hub,
                                           const char *endpoint);

/* Prometheus text: exchange_requests_total{result="ok|error|rejected|open"}
 * (counter) and exchange_circuit_open (gauge: endpoints whose breaker is
 * not closed).  *out is malloc'd, NUL-terminated; free(). 0 / ENOMEM. */
int arec_exchange_hub_render(arec_exchange_hub *hub, char **out);

/* Internal to the client: gate and record one request to `endpoint`.
 * gate returns 0 (send), AREC_EUNAVAILABLE (circuit open or Retry-After
 * pending; counted as "open").  record: kind 0 ok, 1 error (breaker
 * failure), 2 rejected (the exchange answered no: breaker success);
 * retry_after_ms > 0 bans calls to the endpoint for that long. */
int arec__hub_gate(arec_exchange_hub *hub, const char *endpoint);
void arec__hub_record(arec_exchange_hub *hub, const char *endpoint, int kind,
                      int64_t retry_after_ms);

/* ---------------------------------------------------------------- client */
typedef struct arec_exchange arec_exchange;

typedef struct arec_exchange_config {
  const char *base_url;       /* required, from arec__xbase_url() */
  const char *api_key;        /* NULL: only public endpoints */
  const char *api_secret;
  int64_t connect_timeout_ms; /* default 2000 */
  int64_t timeout_ms;         /* total per request; default 5000 */
  int64_t recv_window_ms;     /* default 5000 */
  int64_t order_timeout_ms;   /* total for POST /api/v3/order; default
                                 timeout_ms */
} arec_exchange_config;

/* Copies the config (secrets wiped on free). */
int arec_exchange_new(arec_exchange **out, arec_exchange_hub *hub,
                      const arec_exchange_config *cfg);
void arec_exchange_free(arec_exchange *x);
const char *arec_exchange_base(const arec_exchange *x);

/* Last price of `symbol` ("BTC/USDT"). */
int arec_exchange_price(arec_exchange *x, const char *symbol, double *out);
/* Close prices of the last `limit` klines (oldest first) into out[]
 * (capacity limit); *out_n gets their number. */
int arec_exchange_klines(arec_exchange *x, const char *symbol,
                         const char *interval, unsigned limit, double *out,
                         size_t *out_n);
/* Free balance of `asset` ("USDT") on the account (signed); 0 if absent. */
int arec_exchange_balance(arec_exchange *x, const char *asset, double *out);

typedef struct arec_order {
  char client_id[37];
  long long order_id;
  char status[24];        /* "FILLED", "NEW", "CANCELED", ... */
  double executed_qty;    /* base */
  double quote_qty;       /* cummulativeQuoteQty */
} arec_order;

/* MARKET order of `qty` base units, side "BUY"/"SELL", newClientOrderId =
 * client_id.  ETIMEDOUT / EUNAVAILABLE: outcome unknown, query before any
 * retry. */
int arec_exchange_order_place(arec_exchange *x, const char *symbol,
                              const char *side, double qty,
                              const char *client_id, arec_order *out);
/* GET /api/v3/order by origClientOrderId. ENOTFOUND when it never
 * arrived. */
int arec_exchange_order_query(arec_exchange *x, const char *symbol,
                              const char *client_id, arec_order *out);
/* DELETE /api/v3/order by origClientOrderId. */
int arec_exchange_order_cancel(arec_exchange *x, const char *symbol,
                               const char *client_id, arec_order *out);

#endif
