/*
 * trader.c -- order execution with order safety for the trading agents.
 *
 * Every order goes: intent into memory -> arec_agent_save() (fenced, sync)
 * -> paper fill, or live: lease validity check -> POST with
 * newClientOrderId -> on a lost answer GET by origClientOrderId -> fill
 * applied, intent removed, saved again.  Client order ids come from agent
 * id, fence and a per-symbol sequence kept in memory, so a retry of the
 * same intent can never create a second order and two owners never share
 * an id.  Must never send an order when the intent save failed or was
 * fenced, nor send a second order for an intent whose outcome is unknown.
 */
#include "trading/trader.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */
static void logf_(arec_agent *agent, arec_log_level lvl, const char *msg,
                  const arec_trade_sym *s, const char *k1, const char *v1,
                  const char *k2, const char *v2) {
  arec_log_field f[3] = {{"symbol", s->symbol}, {k1, v1}, {k2, v2}};
  size_t n = k2 ? 3 : k1 ? 2 : 1;
  arec_agent_log(agent, lvl, msg, f, n);
}

static double fee_rate(const arec_host_trading_config *cfg) {
  return cfg->fee_rate > 0 ? cfg->fee_rate : 0.001;
}

static void apply(const arec_host_trading_config *cfg, arec_agent *agent,
                  arec_trade_sym *s, arec_side side, double qty, double quote,
                  int live) {
  double fee = quote * fee_rate(cfg);
  char q[32], p[32];
  arec__mem_apply_fill(&s->mem, &s->balance, side, qty, quote, fee);
  snprintf(q, sizeof q, "%.8f", qty);
  snprintf(p, sizeof p, "%.8f", qty > 0 ? quote / qty : 0);
  logf_(agent, AREC_LOG_INFO,
        side == AREC_SIDE_BUY ? "order filled: BUY" : "order filled: SELL", s,
        "qty", q, "price", p);
  if (cfg->on_trade)
    cfg->on_trade(cfg->trade_userdata, arec_agent_id(agent), s->symbol,
                  arec__side_name(side), qty, qty > 0 ? quote / qty : 0, live);
}

/* Applies what the exchange says about an order of ours. */
static void apply_order(const arec_host_trading_config *cfg, arec_agent *agent,
                        arec_trade_sym *s, arec_side side,
                        const arec_order *o) {
  if (o->executed_qty > 0)
    apply(cfg, agent, s, side, o->executed_qty, o->quote_qty, 1);
}

/* Looks one intent up.  1 settled (applied or dropped), 0 unknown. */
static int settle(const arec_host_trading_config *cfg, arec_agent *agent,
                  arec_trade_sym *s, const arec_intent *in) {
  arec_order o;
  arec_intent copy = *in;
  int rc = arec_exchange_order_query(s->x, s->symbol, copy.id, &o);
  if (rc == 0) {
    arec__mem_intent_remove(&s->mem, copy.id);
    apply_order(cfg, agent, s, copy.side, &o);
    logf_(agent, AREC_LOG_INFO, "order intent settled by origClientOrderId",
          s, "client_order_id", copy.id, "status", o.status);
    return 1;
  }
  if (rc == AREC_ENOTFOUND) {
    arec__mem_intent_remove(&s->mem, copy.id);
    logf_(agent, AREC_LOG_INFO, "order intent dropped: order never arrived",
          s, "client_order_id", copy.id, NULL, NULL);
    return 1;
  }
  logf_(agent, AREC_LOG_WARN, "order intent unresolved, will ask again", s,
        "client_order_id", copy.id, "error", arec_error_last());
  return 0;
}

/* ------------------------------------------------------------- resolve */
int arec__trade_resolve(const arec_host_trading_config *cfg,
                        arec_agent *agent, arec_trade_sym *s) {
  int changed = 0;
  if (s->mem.nintents == 0) return 0;
  if (!s->live) {
    /* paper orders never leave the process: an intent without its fill
     * means the fill was never recorded */
    while (s->mem.nintents) {
      logf_(agent, AREC_LOG_INFO, "paper order intent dropped", s,
            "client_order_id", s->mem.intents[0].id, NULL, NULL);
      arec__mem_intent_remove(&s->mem, s->mem.intents[0].id);
    }
    return 0;
  }
  for (size_t i = 0; i < s->mem.nintents;) {
    if (settle(cfg, agent, s, &s->mem.intents[i])) changed = 1;
    else i++;
  }
  if (changed && arec_agent_save(agent) == AREC_EFENCED) return AREC_EFENCED;
  return (int)s->mem.nintents;
}

/* ------------------------------------------------------------- execute */
int arec__trade_execute(const arec_host_trading_config *cfg,
                        arec_agent *agent, arec_trade_sym *s, arec_side side,
                        double qty, double price, const char *reason) {
  char id[37], qs[32];
  arec_order o;
  int rc;

  qty = floor(qty * 1e8) / 1e8; /* what the exchange can take */
  if (!(qty > 0) || !(price > 0)) return 0;
  if (s->mem.nintents > 0) return 0; /* an unknown outcome blocks */

  s->mem.seq++;
  arec__client_order_id(id, arec_agent_id(agent), arec_agent_fence(agent),
                        s->mem.seq);
  if (arec__mem_intent_add(&s->mem, id, side, qty) != 0) return 0;
  snprintf(qs, sizeof qs, "%.8f", qty);
  logf_(agent, AREC_LOG_INFO,
        side == AREC_SIDE_BUY ? "order intent: BUY" : "order intent: SELL", s,
        "client_order_id", id, "reason", reason);

  rc = arec_agent_save(agent); /* the intent, fenced, before anything */
  if (rc == AREC_EFENCED) {
    arec__mem_intent_remove(&s->mem, id);
    logf_(agent, AREC_LOG_WARN, "order not sent: fenced (no longer the owner)",
          s, "client_order_id", id, NULL, NULL);
    return AREC_EFENCED;
  }
  if (rc != 0) {
    arec__mem_intent_remove(&s->mem, id);
    logf_(agent, AREC_LOG_WARN, "order not sent: intent not saved", s,
          "client_order_id", id, "error", arec_strerror(rc));
    return 0;
  }

  if (!s->live) {
    arec__mem_intent_remove(&s->mem, id);
    apply(cfg, agent, s, side, qty, qty * price, 0);
    rc = arec_agent_save(agent);
    return rc == AREC_EFENCED ? AREC_EFENCED : 0;
  }

  int64_t timeout = cfg->order_timeout_ms > 0 ? cfg->order_timeout_ms : 5000;
  if (arec_agent_validity_ms(agent) <= timeout) {
    arec__mem_intent_remove(&s->mem, id); /* never sent; a saved copy is
                                             settled as "never arrived" */
    logf_(agent, AREC_LOG_WARN, "order not sent: lease validity too short",
          s, "client_order_id", id, NULL, NULL);
    return 0;
  }
  rc = arec_exchange_order_place(s->x, s->symbol, arec__side_name(side), qty,
                                 id, &o);
  if (rc == 0) {
    arec__mem_intent_remove(&s->mem, id);
    apply_order(cfg, agent, s, side, &o);
  } else if (rc == AREC_EBACKEND || rc == AREC_EINVAL) {
    /* the exchange said no: nothing was placed */
    arec__mem_intent_remove(&s->mem, id);
    logf_(agent, AREC_LOG_WARN, "order refused by the exchange", s,
          "client_order_id", id, "error", arec_error_last());
  } else {
    /* answer lost: the order may exist.  Ask before anything else. */
    logf_(agent, AREC_LOG_WARN, "order answer lost, asking by origClientOrderId",
          s, "client_order_id", id, "error", arec_strerror(rc));
    arec_intent in = s->mem.intents[s->mem.nintents - 1];
    settle(cfg, agent, s, &in);
  }
  rc = arec_agent_save(agent);
  return rc == AREC_EFENCED ? AREC_EFENCED : 0;
}
