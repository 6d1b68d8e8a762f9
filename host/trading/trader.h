/*
 * host/trading/trader.h -- order execution with order safety, fills and
 * the reconcile on takeover, shared by the agent types (agent.c).
 * Internal to host/trading.
 */
#ifndef AREC_HOST_TRADING_TRADER_H
#define AREC_HOST_TRADING_TRADER_H

#include "trading/exchange.h"
#include "trading/rules.h"
#include "trading/strategy.h"
#include "trading/trading.h"

/* Consecutive rejections of one symbol after which the step fails. */
#define AREC_REJECTIONS_FAIL 3

/* One assigned symbol of a running agent. */
typedef struct arec_trade_sym {
  char *symbol;      /* "BTC/USDT" */
  double budget;     /* assigned */
  double balance;    /* quote cash */
  arec_sym_mem mem;
  arec_exchange *x;  /* prices, rules, and orders in live mode */
  int live;
  int has_keys;      /* x carries credentials */
  /* runtime only (not persisted) */
  arec_xrules rules; /* valid when have_rules */
  int have_rules;
  char base[16], quote[16]; /* assets: from the rules, else the symbol */
  double fee_rate;   /* paper fills */
  int fee_known;     /* fee_rate read from the account */
  int reconciled;    /* live: memory brought in line on this pod */
  int fee_asset_warned; /* "commission kept unconverted" logged */
} arec_trade_sym;

/* Wall clock in ms (fill and intent times). */
int64_t arec__trade_now_ms(void);
/* A log line of the agent naming s's symbol, then k1=v1 and k2=v2 (a NULL
 * key ends the fields), all strings. */
void arec__trade_log(arec_agent *agent, arec_log_level lvl, const char *msg,
                     const arec_trade_sym *s, const char *k1, const char *v1,
                     const char *k2, const char *v2);

/* Refreshes s->rules from the exchange (hub cache); base/quote from them.
 * 0, or the error (no rules known: orders are skipped). */
int arec__trade_rules(arec_trade_sym *s);

/* 1 when the position can be sold under the rules at `price` (rounded
 * down it is at least minQty and the minimum notional); 0 when it is dust
 * (or no position).  Without rules: 1 for any position. */
int arec__trade_sellable(const arec_trade_sym *s, double price);

/* Applies the rules (skip recorded in memory and logged), records an
 * intent (fenced sync save), then fills it: paper at `price` with the
 * fee rate, live through the exchange (only with enough lease validity; a
 * lost answer is looked up by client order id).  A refused order is
 * recorded as the symbol's last rejection and not retried before its
 * back-off.  0 (done, skipped or left unresolved); AREC_EFENCED (stop);
 * AREC_EBACKEND when the symbol's orders were refused
 * AREC_REJECTIONS_FAIL times in a row (arec_error_last() names why). */
int arec__trade_execute(const arec_host_trading_config *cfg,
                        arec_agent *agent, arec_trade_sym *s, arec_side side,
                        double qty, double price, const char *reason);

/* Settles the intents found in memory (after a restore or a lost answer):
 * live ones are looked up by client order id (found and final: its trades
 * applied; found but open: cancelled, then its executed part applied; not
 * found: dropped; no answer: kept), paper ones are dropped.  Returns the
 * number still unresolved (>= 0), or AREC_EFENCED. */
int arec__trade_resolve(const arec_host_trading_config *cfg,
                        arec_agent *agent, arec_trade_sym *s);

/* Applies what the exchange says about an order of ours: the fills of its
 * answer, else its trades (GET myTrades by order id); trades already in
 * memory are skipped.  >= 0 trades applied; < 0 its trades could not be
 * read (nothing applied: ask again later). */
int arec__trade_apply_order(const arec_host_trading_config *cfg,
                            arec_agent *agent, arec_trade_sym *s,
                            arec_side side, const arec_order *o);

/* Live, once per runner before its first order (reconcile.c): brings the
 * memory in line with the exchange -- our open orders cancelled, our
 * orders since the last recorded fill (or the oldest intent) looked up
 * and their trades not yet in memory applied once, intents of final
 * orders settled -- then a fenced save.  0 (done, s->reconciled set), a
 * negative code when the exchange did not answer (try again next step;
 * no order until then), or AREC_EFENCED. */
int arec__trade_reconcile(const arec_host_trading_config *cfg,
                          arec_agent *agent, arec_trade_sym *s);

/* ------------------------------------------------------- risk (risk.c) */
/* The BUY quantity a symbol's max_position (quote value at `price`; 0: no
 * limit) leaves room for: qty when it fits, less when it does not (logged
 * "order reduced: max_position"), 0 when there is no room (the skip
 * recorded in memory and logged). */
double arec__risk_buy_qty(arec_agent *agent, arec_trade_sym *s,
                          double max_position, double qty, double price);
/* Today's (UTC day of now_ms) realised PnL of the symbols plus the open
 * PnL of their positions at their last price, in quote. */
double arec__risk_day_pnl(const arec_trade_sym *syms, size_t n,
                          int64_t now_ms);
/* The daily loss limit is reached: records last_error, logs WARN "daily
 * loss limit reached, stopping the agent" (loss, limit, user_id: the
 * owner) and asks the host to stop the agent (cfg->stop_agent, if any). */
void arec__risk_halt(const arec_host_trading_config *cfg, arec_agent *agent,
                     const char *user_id, double loss, double limit);

/* The agent type `name` ("conservative", "aggressive") on cfg, as
 * arec_host_trading_register() registers it (agent.c; tests wrap it). */
void arec__host_trading_type(arec_agent_type *t, const char *name,
                             const arec_host_trading_config *cfg);

#endif
