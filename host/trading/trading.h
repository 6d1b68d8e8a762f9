/*
 * host/trading/trading.h -- what the host calls to run trading agents: the
 * "conservative" and "aggressive" agent types (rules in strategy.h) on a
 * Binance-compatible exchange (exchange.h), in paper or live mode, with
 * order safety.
 *
 * Wiring in the host (agentrecoverd):
 *
 *   arec_exchange_hub *hub;
 *   arec_exchange_hub_options ho = AREC_EXCHANGE_HUB_OPTIONS_INIT;
 *   ho.log = my_log;                          // breaker state changes
 *   arec_exchange_hub_new(&hub, &ho);
 *   static arec_host_trading_config tc = AREC_HOST_TRADING_CONFIG_INIT;
 *   tc.live = ...; tc.api_base = ...;          // from the host's config
 *   tc.hub = hub;
 *   tc.account = arec_host_store_account_hook; // store.h (see Accounts)
 *   tc.account_userdata = store;
 *   arec_host_trading_register(mgr, &tc);      // before arec_manager_restore
 *   ...
 *   char *m; arec_exchange_hub_render(hub, &m); // append to /metrics; free(m)
 *   ...
 *   arec_manager_free(mgr); arec_exchange_hub_free(hub);  // hub last
 *
 * Order safety (live and paper alike): before an order, the agent records an
 * order intent (client order id, side, quantity, time) in its memory and
 * writes it with the synchronous fenced save arec_agent_save(); AREC_EFENCED
 * means a zombie: nothing is sent and the step returns AREC_EFENCED (the
 * runner stops).  A live order is sent only while arec_agent_validity_ms()
 * exceeds the order timeout.  When the answer is lost (timeout, transport
 * error, 5xx), the order is looked up by origClientOrderId before anything
 * else, and an intent whose outcome is unknown blocks new orders of its
 * symbol until a query settles it, so a lost answer never becomes a second
 * order.  A restored agent settles the intents it finds in its memory the
 * same way (paper intents never left the process and are dropped).
 *
 * Exchange rules: every order (paper too) is first fitted to the symbol's
 * filters from GET /api/v3/exchangeInfo (cached in the hub, refreshed
 * hourly; a failed refresh keeps the old rules): quantity rounded DOWN to
 * LOT_SIZE (and MARKET_LOT_SIZE) with exact decimal arithmetic and sent
 * with exactly the step's decimals; under minQty or the minimum notional
 * it is skipped -- no intent, a WARN line, and `last_skip` in memory.  A
 * position too small to sell ("dust") counts as none for the rule.
 *
 * Refusals: an order the exchange refuses (-1013 filter failure, -2010
 * insufficient balance, ...) is no breaker failure; it is counted in
 * exchange_rejections_total{reason}, logged once (WARN "order rejected by
 * the exchange", symbol, code, reason), recorded as the symbol's
 * `last_rejection`, and no order of that symbol is sent before
 * reject_backoff_ms (doubling per refusal in a row).  The third refusal in
 * a row fails the step (AREC_EBACKEND, arec_error_last() "order rejected 3
 * times: filter failure (-1013) on BTC/USDT"); a filled order resets the
 * count.
 *
 * Fills: positions and P&L come from each order's fills (the FULL answer,
 * else GET myTrades by order id), one exchange trade at a time with its
 * commission converted to the quote asset (in the base asset: fewer units
 * received; in BNB or another asset: at its price in the quote asset, else
 * kept unconverted and logged once); trade ids are remembered with the
 * last 50 fills so no trade is ever applied twice.  Paper fills are made
 * locally at the account's taker rate (GET /api/v3/account, when the
 * account has keys), else at fee_rate.
 *
 * Reconcile (live): before its first order on a pod, an agent reads its
 * open orders and its orders since its last recorded fill (or its oldest
 * intent), keeps only its own client order ids (matched exactly), cancels
 * the open ones (it only ever places MARKET orders: an open one is a
 * leftover), applies every trade not yet in memory exactly once, settles
 * the intents of final orders and saves (fenced).  A fill between the
 * last save and a crash is thus neither lost nor doubled.
 *
 * Mode: each agent trades in the mode of its params ("mode": "live", else
 * paper; params.h); a live agent is refused by a pod whose config is not
 * live (the service creates live agents with requires = "live", so paper
 * pods never claim them).
 *
 * Risk (params "risk"): a BUY that would take a symbol's position over
 * max_position (quote value at the order's price) is reduced to fit, or
 * skipped (recorded as the symbol's last skip); when today's (UTC)
 * realised PnL of all symbols plus the open PnL of their positions falls
 * to -max_daily_loss, the agent places no more orders, records
 * last_error, logs WARN "daily loss limit reached, stopping the agent"
 * (loss, limit, user_id) and asks the host to stop it (stop_agent): a
 * user stop.
 *
 * Stop: AREC_STOP_USER sells every open position (recorded with a save;
 * one more try even while a refusal back-off runs) and logs one line,
 * "trading agent stopped" with reason=user and the fields closed (the
 * symbols whose position was sold), not_closed (those still open) and why
 * ("SYMBOL: reason; ...") and user_id (the owner, so that the message
 * reaches them also when the agent was deleted meanwhile), WARN when
 * something stayed open; a remainder
 * too small to sell (dust) counts as closed and is named in `dust`.  Any
 * other reason keeps positions in memory for the next owner.
 *
 * Accounts: at start, each symbol's exchange account (exchange, testnet,
 * API key and secret) comes from the `account` hook (the host's store:
 * the owner's trading pair for the symbol and its exchange account).  A
 * user without an account for the symbol trades paper on public endpoints
 * only; in live mode that refuses the start ("no exchange account for
 * BTC/USDT").  Any other failure of the hook (credentials that do not
 * decrypt, database unavailable) refuses the start of that agent only
 * with the hook's reason, and the library puts it in backoff.  Credentials
 * are wiped as soon as the exchange client has its copy.
 */
#ifndef AREC_HOST_TRADING_H
#define AREC_HOST_TRADING_H

#include <stdint.h>

#include "agentrecover.h"
#include "store.h" /* arec_host_account */
#include "trading/exchange.h"

#define AREC_HOST_TRADING_CONFIG_VERSION 1

/* Called after every fill (paper and live); the bot notifies live trades.
 * From a worker thread; must not call back into the manager. */
typedef void (*arec_trade_fn)(void *userdata, const char *agent_id,
                              const char *symbol, const char *side,
                              double qty, double price, int live);

typedef struct arec_host_trading_config {
  unsigned int version;       /* AREC_HOST_TRADING_CONFIG_VERSION */
  arec_exchange_hub *hub;     /* required: breakers and metrics; outlives
                                 the manager */
  int live;                   /* TRADING_MODE=live: this pod may run live
                                 agents (default paper: 0, it refuses
                                 them); each agent trades in the mode of
                                 its params (params.h) */
  int allow_mainnet;          /* EXCHANGE_ALLOW_MAINNET=true */
  const char *api_base;       /* EXCHANGE_API_BASE, NULL: from the account */
  int64_t step_interval_ms;   /* between steps; default 10000 */
  int64_t request_timeout_ms; /* total per request; default 5000 */
  int64_t connect_timeout_ms; /* default 2000 */
  int64_t order_timeout_ms;   /* per order request; a live order is sent
                                 only while the lease validity exceeds it:
                                 keep it under a third of the lock TTL and
                                 of the pod lease TTL; default 5000 */
  double fee_rate;            /* paper fills when the account's rate cannot
                                 be read; 0 = default 0.001 (0.1 %) */
  arec_trade_fn on_trade;     /* optional */
  void *trade_userdata;
  /* Credentials used when the account hook gives none (embedding services
   * with one account, tests); the host leaves them NULL.  Never logged. */
  const char *default_api_key;
  const char *default_api_secret;
  /* After an order the exchange refused, no order of that symbol for this
   * long, doubling with each further refusal in a row (at most x64);
   * default 60000. */
  int64_t reject_backoff_ms;
  /* The exchange account `user_id` trades `symbol` on, called in start()
   * for every symbol (from a worker thread, concurrently for different
   * agents).  Fills *out: exchange, testnet and the API key and secret as
   * malloc'd strings (NULL when there are none), which the agent wipes and
   * frees.  0; AREC_ENOTFOUND when the user has no account for the
   * symbol; any other code refuses the start with the reason set by
   * arec_error_set() (never a secret).  NULL: no accounts (the default
   * credentials above, public endpoints otherwise). */
  int (*account)(void *ud, long long user_id, const char *symbol,
                 arec_host_account *out);
  void *account_userdata;
  /* Stops an agent as its user would (the host: arec_manager_stop_agent
   * on this pod's manager), called from inside the agent's step when its
   * daily loss limit is reached; the runner then stops with
   * AREC_STOP_USER and closes its positions.  NULL: the agent only stops
   * placing orders. */
  int (*stop_agent)(void *ud, const char *agent_id);
  void *stop_userdata;
} arec_host_trading_config;

#define AREC_HOST_TRADING_CONFIG_INIT                                         \
  {AREC_HOST_TRADING_CONFIG_VERSION, NULL, 0, 0, NULL, 0, 0, 0, 0, 0.0, NULL, \
   NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL}

/* Registers the agent types "conservative" and "aggressive" on mgr.  `cfg`
 * is not copied: it (and its hub) must outlive the manager, like an agent
 * type's name.  0, AREC_EINVAL (no hub, bad version), AREC_EEXIST. */
int arec_host_trading_register(arec_manager *mgr,
                               const arec_host_trading_config *cfg);

#endif
