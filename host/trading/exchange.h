/*
 * host/trading/exchange.h -- Binance-compatible spot REST client with a
 * circuit breaker per endpoint, the hub (breakers, counters, the cache of
 * symbol rules), and the pure helpers it is built from (signing, symbol
 * mapping, endpoint choice, client order ids, rejection classes).
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
 *                      (then arec_exchange_last_error() has them), or with
 *                      something unreadable (last error code 0)
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
/* 1 when `coid` is one of agent_id's client order ids: its last two
 * '-'-separated fields decode as fence and sequence and the id built from
 * them for this agent is exactly `coid` (so agent "ab" never matches an id
 * of agent "abc" or "ab-c").  fence/seq out params may be NULL. */
int arec__client_order_id_ours(const char *coid, const char *agent_id,
                               uint64_t *fence, uint64_t *seq);

/* Why the exchange refused a new order, from its error code and message:
 * -1013 (and "Filter failure" messages): AREC_XREJ_FILTER; -2010 with
 * "insufficient balance": AREC_XREJ_BALANCE; anything else:
 * AREC_XREJ_OTHER. */
typedef enum arec_xreject {
  AREC_XREJ_FILTER = 0,
  AREC_XREJ_BALANCE = 1,
  AREC_XREJ_OTHER = 2
} arec_xreject;
arec_xreject arec__xreject_reason(long code, const char *msg);
/* "filter", "insufficient_balance", "other" (the metric's label) */
const char *arec__xreject_name(arec_xreject r);
/* "filter failure", "insufficient balance", "rejected" (for people) */
const char *arec__xreject_text(arec_xreject r);

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
  int64_t rules_ttl_ms;      /* exchangeInfo refresh; default 3600000 */
  int64_t rules_retry_ms;    /* after a failed refresh; default 60000 */
} arec_exchange_hub_options;

#define AREC_EXCHANGE_HUB_OPTIONS_INIT \
  {5, 1000, 60000, NULL, NULL, NULL, NULL, 3600000, 60000}

int arec_exchange_hub_new(arec_exchange_hub **out,
                          const arec_exchange_hub_options *opts);
void arec_exchange_hub_free(arec_exchange_hub *hub);

typedef struct arec_exchange_counters {
  uint64_t ok, error, rejected, open;
  int64_t circuits_open; /* endpoints not closed now */
  uint64_t rejections[3]; /* orders refused, by arec_xreject */
  uint64_t rules_fetches, rules_failures; /* exchangeInfo refreshes */
} arec_exchange_counters;
void arec_exchange_hub_counters(arec_exchange_hub *hub,
                                arec_exchange_counters *out);
/* State of the breaker of `endpoint` (CLOSED when never used). */
arec_breaker_state arec_exchange_hub_state(arec_exchange_hub *hub,
                                           const char *endpoint);

/* Prometheus text: exchange_requests_total{result="ok|error|rejected|open"}
 * (counter), exchange_circuit_open (gauge: endpoints whose breaker is
 * not closed) and exchange_rejections_total{reason="filter|
 * insufficient_balance|other"} (counter: new orders the exchange refused).
 * *out is malloc'd, NUL-terminated; free(). 0 / ENOMEM. */
int arec_exchange_hub_render(arec_exchange_hub *hub, char **out);

/* Internal to the client: gate and record one request to `endpoint`.
 * gate returns 0 (send), AREC_EUNAVAILABLE (circuit open or Retry-After
 * pending; counted as "open").  record: kind 0 ok, 1 error (breaker
 * failure), 2 rejected (the exchange answered no: breaker success);
 * retry_after_ms > 0 bans calls to the endpoint for that long. */
int arec__hub_gate(arec_exchange_hub *hub, const char *endpoint);
void arec__hub_record(arec_exchange_hub *hub, const char *endpoint, int kind,
                      int64_t retry_after_ms);
/* Counts a refused new order. */
void arec__hub_rejection(arec_exchange_hub *hub, arec_xreject reason);

/* The exchange rules cache (one entry per endpoint and symbol), for
 * arec_exchange_rules().  rules_take: copies the cached rules into *out
 * when there are any (*have = 1) and returns 1 when the caller must
 * refresh them now (none yet, or older than rules_ttl_ms, and no other
 * caller is refreshing, and the last failed attempt is rules_retry_ms
 * old); the caller then calls rules_put with the new rules, or NULL when
 * the refresh failed (the old rules stay).  ENOMEM: -1. */
struct arec_xrules;
int arec__hub_rules_take(arec_exchange_hub *hub, const char *endpoint,
                         const char *xsym, struct arec_xrules *out,
                         int *have);
void arec__hub_rules_put(arec_exchange_hub *hub, const char *endpoint,
                         const char *xsym, const struct arec_xrules *r);

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
/* The account's taker commission rate (signed GET /api/v3/account:
 * commissionRates.taker, else takerCommission / 10000) into *out. */
int arec_exchange_fee_rate(arec_exchange *x, double *out);

/* The symbol's rules, from the hub's cache; fetched (GET
 * /api/v3/exchangeInfo?symbol=) when missing or older than the hub's
 * rules_ttl_ms.  A failed refresh keeps the old rules (0) and is retried
 * after rules_retry_ms; with no rules at all the error is returned. */
struct arec_xrules;
int arec_exchange_rules(arec_exchange *x, const char *symbol,
                        struct arec_xrules *out);

#define AREC_ORDER_FILLS_MAX 16

typedef struct arec_xfill {
  double price, qty, commission;
  char commission_asset[16];
  long long trade_id;
} arec_xfill;

typedef struct arec_order {
  char client_id[37];
  long long order_id;
  char status[24];        /* "FILLED", "NEW", "CANCELED", ... */
  char side[8];           /* "BUY" / "SELL" ("" when not in the answer) */
  char type[16];          /* "MARKET", "LIMIT" */
  double orig_qty;
  double executed_qty;    /* base */
  double quote_qty;       /* cummulativeQuoteQty */
  long long time_ms;      /* transactTime, else time */
  size_t nfills;          /* fills[] of a FULL answer (new orders only) */
  int fills_truncated;    /* more fills than AREC_ORDER_FILLS_MAX */
  arec_xfill fills[AREC_ORDER_FILLS_MAX];
} arec_order;

/* 1 when the order's status is final (FILLED, CANCELED, EXPIRED,
 * REJECTED, EXPIRED_IN_MATCH). */
int arec__order_final(const arec_order *o);

/* A new order: MARKET (price NULL) or LIMIT GTC at `price`.  qty and price
 * are decimal strings already within the symbol's rules (rules.h).  The
 * answer is FULL (fills with commissions).  ETIMEDOUT / EUNAVAILABLE:
 * outcome unknown, query before any retry.  EBACKEND: the exchange
 * refused it (counted in the hub by reason; the code and message in
 * arec_exchange_last_error()). */
int arec_exchange_order_place(arec_exchange *x, const char *symbol,
                              const char *side, const char *qty,
                              const char *price, const char *client_id,
                              arec_order *out);
/* GET /api/v3/order by origClientOrderId. ENOTFOUND when it never
 * arrived. */
int arec_exchange_order_query(arec_exchange *x, const char *symbol,
                              const char *client_id, arec_order *out);
/* DELETE /api/v3/order by origClientOrderId. */
int arec_exchange_order_cancel(arec_exchange *x, const char *symbol,
                               const char *client_id, arec_order *out);
/* GET /api/v3/openOrders?symbol= (which = 0), or GET /api/v3/allOrders
 * (which = 1) from order id `from_order_id` when > 0, else in the window
 * [start_ms, start_ms + 24 h) (limit 1000).  *out malloc'd (free()), *n
 * entries (no fills). */
int arec_exchange_orders(arec_exchange *x, const char *symbol, int which,
                         long long from_order_id, long long start_ms,
                         arec_order **out, size_t *n);

typedef struct arec_xtrade {
  long long id, order_id;
  double price, qty, quote_qty, commission;
  char commission_asset[16];
  long long time_ms;
  int is_buyer;
} arec_xtrade;
/* GET /api/v3/myTrades?symbol= with orderId (when order_id > 0) or
 * startTime (when start_ms > 0) (limit 1000).  *out malloc'd (free()). */
int arec_exchange_my_trades(arec_exchange *x, const char *symbol,
                            long long order_id, long long start_ms,
                            arec_xtrade **out, size_t *n);

/* The code and message of the last error answer {"code","msg"} this
 * client got (0 / "" when the last call had none). */
long arec_exchange_last_error(const arec_exchange *x, const char **msg);

#endif
