/*
 * trader.c -- order execution with order safety for the trading agents,
 * and the application of fills.
 *
 * Every order goes: exchange rules (rounded down to the step, skipped under
 * minQty or the minimum notional, the skip recorded in memory) -> intent
 * into memory -> arec_agent_save() (fenced, sync) -> paper fill at the
 * account's fee rate, or live: lease validity check -> POST with
 * newClientOrderId -> on a lost answer GET by origClientOrderId -> fills
 * applied trade by trade (commission converted to the quote asset), intent
 * removed, saved again.  A refusal (-1013 filter, -2010 balance, ...) is
 * recorded as the symbol's last rejection and backs the symbol off; the
 * third in a row fails the step.  Client order ids come from agent id,
 * fence and a per-symbol sequence kept in memory, so a retry of the same
 * intent can never create a second order and two owners never share an
 * id.  Must never send an order when the intent save failed or was
 * fenced, never send a second order for an intent whose outcome is
 * unknown, never send a quantity the rules refuse, and never apply one
 * exchange trade twice.
 */
#include "trading/trader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------- helpers */
int64_t arec__trade_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void arec__trade_log(arec_agent *agent, arec_log_level lvl, const char *msg,
                     const arec_trade_sym *s, const char *k1, const char *v1,
                     const char *k2, const char *v2) {
  arec_log_field f[3] = {{"symbol", s->symbol, AREC_LOG_STRING},
                         {k1, v1, AREC_LOG_STRING},
                         {k2, v2, AREC_LOG_STRING}};
  size_t n = k2 ? 3 : k1 ? 2 : 1;
  arec_agent_log(agent, lvl, msg, f, n);
}

static double default_fee_rate(const arec_host_trading_config *cfg) {
  return cfg->fee_rate > 0 ? cfg->fee_rate : 0.001;
}

int arec__trade_rules(arec_trade_sym *s) {
  int rc = arec_exchange_rules(s->x, s->symbol, &s->rules);
  if (rc) return rc;
  s->have_rules = 1;
  if (s->rules.base_asset[0] && s->rules.quote_asset[0]) {
    snprintf(s->base, sizeof s->base, "%s", s->rules.base_asset);
    snprintf(s->quote, sizeof s->quote, "%s", s->rules.quote_asset);
  }
  return 0;
}

int arec__trade_sellable(const arec_trade_sym *s, double price) {
  arec_xqty q;
  if (!(s->mem.position > 0)) return 0;
  if (!s->have_rules) return 1;
  return arec__rules_qty(&s->rules, s->mem.position, price, 1, &q) == 0;
}

/* Quote per unit of a third commission asset (BNB): its price in the
 * quote asset if the exchange lists that pair, else 0 (kept unconverted,
 * logged once per runner). */
static double asset_price(arec_agent *agent, arec_trade_sym *s,
                          const char *asset) {
  char pair[40];
  double p;
  if (!asset || !*asset || !strcmp(asset, s->quote) || !strcmp(asset, s->base))
    return 0;
  snprintf(pair, sizeof pair, "%s%s", asset, s->quote);
  if (arec_exchange_price(s->x, pair, &p) == 0) return p;
  if (!s->fee_asset_warned) {
    s->fee_asset_warned = 1;
    arec__trade_log(
        agent, AREC_LOG_WARN,
        "commission asset has no price in the quote asset: kept unconverted", s,
        "asset", asset, "error", arec_error_last());
  }
  return 0;
}

/* asset_price() of `asset`, asked once per asset within one order
 * (cache: the last asset asked and its price). */
static double asset_rate(arec_agent *agent, arec_trade_sym *s,
                         const char *asset, char cached[16], double price) {
  if (strcmp(asset, cached) == 0 && cached[0]) return price;
  snprintf(cached, 16, "%s", asset);
  return asset_price(agent, s, asset);
}

/* ---------------------------------------------------------------- fills */
typedef struct tally {
  double qty, notional, fee;
  size_t applied;
} tally;

static void apply_fill(arec_agent *agent, arec_trade_sym *s,
                       const arec_fill *f, double aprice, tally *t) {
  double fees0 = s->mem.fees;
  (void)agent;
  if (!arec__mem_apply(&s->mem, &s->balance, f, s->base, s->quote, aprice))
    return;
  t->qty += f->qty;
  t->notional += f->qty * f->price;
  t->fee += s->mem.fees - fees0;
  t->applied++;
}

/* One log line and one on_trade call per order. */
static void announce(const arec_host_trading_config *cfg, arec_agent *agent,
                     arec_trade_sym *s, arec_side side, const char *coid,
                     const tally *t, int live) {
  char q[32], p[32], fee[32];
  double price = t->qty > 0 ? t->notional / t->qty : 0;
  if (!t->applied) return;
  snprintf(q, sizeof q, "%.8f", t->qty);
  snprintf(p, sizeof p, "%.8f", price);
  snprintf(fee, sizeof fee, "%.8f", t->fee);
  arec_log_field f[6] = {{"symbol", s->symbol, AREC_LOG_STRING},
                         {"qty", q, AREC_LOG_STRING},
                         {"price", p, AREC_LOG_STRING},
                         {"fee", fee, AREC_LOG_STRING},
                         {"client_order_id", coid, AREC_LOG_STRING},
                         {"mode", live ? "live" : "paper", AREC_LOG_STRING}};
  arec_agent_log(agent, AREC_LOG_INFO,
                 side == AREC_SIDE_BUY ? "order filled: BUY" : "order filled: SELL",
                 f, 6);
  if (cfg->on_trade)
    cfg->on_trade(cfg->trade_userdata, arec_agent_id(agent), s->symbol,
                  arec__side_name(side), t->qty, price, live);
}

/* Base units of order `oid` already recorded in memory. */
static double recorded_qty(const arec_sym_mem *m, long long oid) {
  double q = 0;
  for (size_t i = 0; i < m->nfills; i++)
    if (m->fills[i].order_id == oid) q += m->fills[i].qty;
  return q;
}

int arec__trade_apply_order(const arec_host_trading_config *cfg,
                            arec_agent *agent, arec_trade_sym *s,
                            arec_side side, const arec_order *o) {
  tally t = {0, 0, 0, 0};
  double fills_qty = 0, aprice = 0;
  char aasset[16] = "";
  int ids = 1;
  arec_fill f;
  if (!(o->executed_qty > 0)) return 0;
  if (o->order_id > 0 && (arec__mem_has_trade(&s->mem, 0, o->order_id) ||
                          recorded_qty(&s->mem, o->order_id) >=
                              o->executed_qty * (1 - 1e-9)))
    return 0; /* every trade of it is in memory already */
  for (size_t i = 0; i < o->nfills; i++) {
    fills_qty += o->fills[i].qty;
    if (o->fills[i].trade_id <= 0) ids = 0; /* no id: cannot dedupe it */
  }
  memset(&f, 0, sizeof f);
  f.side = side;
  f.order_id = o->order_id;
  f.coid = o->client_id;
  f.t_ms = o->time_ms > 0 ? o->time_ms : arec__trade_now_ms();
  if (o->nfills && !o->fills_truncated && ids &&
      fills_qty >= o->executed_qty * (1 - 1e-9)) {
    for (size_t i = 0; i < o->nfills; i++) {
      const arec_xfill *x = &o->fills[i];
      aprice = asset_rate(agent, s, x->commission_asset, aasset, aprice);
      f.qty = x->qty;
      f.price = x->price;
      f.commission = x->commission;
      f.commission_asset = x->commission_asset;
      f.trade_id = x->trade_id;
      apply_fill(agent, s, &f, aprice, &t);
    }
  } else {
    arec_xtrade *tr = NULL;
    size_t n = 0;
    double got = 0;
    int rc = arec_exchange_my_trades(s->x, s->symbol, o->order_id, 0, &tr, &n);
    if (rc) {
      arec__trade_log(agent, AREC_LOG_WARN,
                      "trades of an order unavailable, will ask again", s,
                      "client_order_id", o->client_id, "error",
                      arec_error_last());
      return rc;
    }
    for (size_t i = 0; i < n; i++) {
      if (tr[i].order_id != o->order_id) continue;
      aprice = asset_rate(agent, s, tr[i].commission_asset, aasset, aprice);
      f.t_ms = tr[i].time_ms > 0 ? tr[i].time_ms : f.t_ms;
      f.qty = tr[i].qty;
      f.price = tr[i].price;
      f.commission = tr[i].commission;
      f.commission_asset = tr[i].commission_asset;
      f.trade_id = tr[i].id;
      got += tr[i].qty;
      apply_fill(agent, s, &f, aprice, &t);
    }
    free(tr);
    if (got <= 0) {
      /* the exchange lists no trade for an executed order: apply it whole
       * (recorded by order id, so its trades are never applied later) */
      f.trade_id = 0;
      f.qty = o->executed_qty;
      f.price = o->quote_qty / o->executed_qty;
      f.commission = o->quote_qty * default_fee_rate(cfg);
      f.commission_asset = s->quote;
      apply_fill(agent, s, &f, 0, &t);
      arec__trade_log(agent, AREC_LOG_WARN, "order applied without its trades",
                      s, "client_order_id", o->client_id, NULL, NULL);
    }
  }
  if (t.applied) s->mem.rejections = 0; /* a filled order ends a streak */
  announce(cfg, agent, s, side, o->client_id, &t, 1);
  return (int)t.applied;
}

/* ------------------------------------------------------------- settling */
/* Looks one intent up.  1 settled (applied or dropped), 0 unknown. */
static int settle(const arec_host_trading_config *cfg, arec_agent *agent,
                  arec_trade_sym *s, const arec_intent *in) {
  arec_order o, c;
  arec_intent copy = *in;
  int rc = arec_exchange_order_query(s->x, s->symbol, copy.id, &o);
  if (rc == 0 && !arec__order_final(&o)) {
    /* still open (a resting order): cancel it, keep what it executed */
    if (arec_exchange_order_cancel(s->x, s->symbol, copy.id, &c) == 0) {
      o = c;
      arec__trade_log(agent, AREC_LOG_INFO, "open order of an intent cancelled",
                      s, "client_order_id", copy.id, NULL, NULL);
    } else {
      rc = arec_exchange_order_query(s->x, s->symbol, copy.id, &o);
    }
    if (rc == 0 && !arec__order_final(&o)) {
      arec_error_set("order still open after a cancel");
      rc = AREC_EUNAVAILABLE;
    }
  }
  if (rc == 0) {
    if (arec__trade_apply_order(cfg, agent, s, copy.side, &o) < 0) return 0;
    arec__mem_intent_remove(&s->mem, copy.id);
    arec__trade_log(agent, AREC_LOG_INFO,
                    "order intent settled by origClientOrderId", s,
                    "client_order_id", copy.id, "status", o.status);
    return 1;
  }
  if (rc == AREC_ENOTFOUND) {
    arec__mem_intent_remove(&s->mem, copy.id);
    arec__trade_log(agent, AREC_LOG_INFO,
                    "order intent dropped: order never arrived", s,
                    "client_order_id", copy.id, NULL, NULL);
    return 1;
  }
  arec__trade_log(agent, AREC_LOG_WARN,
                  "order intent unresolved, will ask again", s,
                  "client_order_id", copy.id, "error", arec_error_last());
  return 0;
}

int arec__trade_resolve(const arec_host_trading_config *cfg,
                        arec_agent *agent, arec_trade_sym *s) {
  int changed = 0;
  if (s->mem.nintents == 0) return 0;
  if (!s->live) {
    /* paper orders never leave the process: an intent without its fill
     * means the fill was never recorded */
    while (s->mem.nintents) {
      arec__trade_log(agent, AREC_LOG_INFO, "paper order intent dropped", s,
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
static int64_t backoff_ms(const arec_host_trading_config *cfg, unsigned n) {
  int64_t b = cfg->reject_backoff_ms > 0 ? cfg->reject_backoff_ms : 60000;
  unsigned sh = n > 1 ? n - 1 : 0;
  return b << (sh > 6 ? 6 : sh);
}

/* The paper fee rate: the account's taker rate when it can be read (once),
 * else the configured default. */
static double paper_fee(const arec_host_trading_config *cfg,
                        arec_agent *agent, arec_trade_sym *s) {
  double r;
  if (s->fee_known) return s->fee_rate;
  if (s->has_keys && arec_exchange_fee_rate(s->x, &r) == 0) {
    char v[32];
    s->fee_rate = r;
    s->fee_known = 1;
    snprintf(v, sizeof v, "%.6f", r);
    arec__trade_log(agent, AREC_LOG_INFO, "paper fee rate from the account", s,
                    "fee_rate", v, NULL, NULL);
    return r;
  }
  return default_fee_rate(cfg);
}

/* A refusal: recorded, logged, counted against the symbol. */
static int rejected(arec_agent *agent, arec_trade_sym *s, const char *coid) {
  const char *msg;
  long code = arec_exchange_last_error(s->x, &msg);
  arec_xreject why = arec__xreject_reason(code, msg);
  char c[24], n[16];
  unsigned k = arec__mem_reject(&s->mem, (int)code, arec__xreject_name(why),
                                msg, arec__trade_now_ms());
  snprintf(c, sizeof c, "%ld", code);
  snprintf(n, sizeof n, "%u", k);
  arec_log_field f[5] = {{"symbol", s->symbol, AREC_LOG_STRING},
                         {"code", c, AREC_LOG_STRING},
                         {"reason", arec__xreject_name(why), AREC_LOG_STRING},
                         {"client_order_id", coid, AREC_LOG_STRING},
                         {"in_a_row", n, AREC_LOG_STRING}};
  arec_agent_log(agent, AREC_LOG_WARN, "order rejected by the exchange", f, 5);
  if (k < AREC_REJECTIONS_FAIL) return 0;
  arec_error_set("order rejected %u times: %s (%ld) on %s", k,
                 arec__xreject_text(why), code, s->symbol);
  return AREC_EBACKEND;
}

int arec__trade_execute(const arec_host_trading_config *cfg,
                        arec_agent *agent, arec_trade_sym *s, arec_side side,
                        double qty, double price, const char *reason) {
  char id[37], err[512];
  arec_order o;
  arec_xqty q;
  int rc, fail = 0;
  int64_t now = arec__trade_now_ms();

  if (!(qty > 0) || !(price > 0)) return 0;
  if (s->mem.nintents > 0) return 0; /* an unknown outcome blocks */
  if (s->mem.rejections &&
      now < s->mem.rej_t_ms + backoff_ms(cfg, s->mem.rejections))
    return 0; /* refused lately: not retried every step */
  if (!s->have_rules) {
    arec__trade_log(agent, AREC_LOG_WARN,
                    "order not sent: exchange rules unknown", s, "reason",
                    reason, NULL, NULL);
    return 0;
  }
  if (arec__rules_qty(&s->rules, qty, price, 1, &q) != 0) {
    arec__mem_skip(&s->mem, q.why, now);
    arec__trade_log(agent, AREC_LOG_WARN,
                    "order skipped: under the exchange minimum", s, "side",
                    arec__side_name(side), "why", q.why);
    return 0;
  }

  s->mem.seq++;
  arec__client_order_id(id, arec_agent_id(agent), arec_agent_fence(agent),
                        s->mem.seq);
  if (arec__mem_intent_add(&s->mem, id, side, q.value, now) != 0) return 0;
  arec__trade_log(agent, AREC_LOG_INFO,
                  side == AREC_SIDE_BUY ? "order intent: BUY"
                                        : "order intent: SELL",
                  s, "client_order_id", id, "reason", reason);

  rc = arec_agent_save(agent); /* the intent, fenced, before anything */
  if (rc == AREC_EFENCED) {
    arec__mem_intent_remove(&s->mem, id);
    arec__trade_log(agent, AREC_LOG_WARN,
                    "order not sent: fenced (no longer the owner)", s,
                    "client_order_id", id, NULL, NULL);
    return AREC_EFENCED;
  }
  if (rc != 0) {
    arec__mem_intent_remove(&s->mem, id);
    arec__trade_log(agent, AREC_LOG_WARN, "order not sent: intent not saved", s,
                    "client_order_id", id, "error", arec_strerror(rc));
    return 0;
  }

  if (!s->live) {
    arec_fill f;
    arec_dec pd;
    tally t = {0, 0, 0, 0};
    double fill_price = price;
    if (arec__rules_price(&s->rules, price, 0, &pd, NULL, 0) == 0)
      fill_price = arec__dec_to_double(pd);
    memset(&f, 0, sizeof f);
    f.t_ms = now;
    f.side = side;
    f.qty = q.value;
    f.price = fill_price;
    f.commission = q.value * fill_price * paper_fee(cfg, agent, s);
    f.commission_asset = s->quote;
    f.coid = id;
    arec__mem_intent_remove(&s->mem, id);
    apply_fill(agent, s, &f, 0, &t);
    s->mem.rejections = 0;
    announce(cfg, agent, s, side, id, &t, 0);
    rc = arec_agent_save(agent);
    return rc == AREC_EFENCED ? AREC_EFENCED : 0;
  }

  int64_t timeout = cfg->order_timeout_ms > 0 ? cfg->order_timeout_ms : 5000;
  if (arec_agent_validity_ms(agent) <= timeout) {
    arec__mem_intent_remove(&s->mem, id); /* never sent; a saved copy is
                                             settled as "never arrived" */
    arec__trade_log(agent, AREC_LOG_WARN,
                    "order not sent: lease validity too short", s,
                    "client_order_id", id, NULL, NULL);
    return 0;
  }
  rc = arec_exchange_order_place(s->x, s->symbol, arec__side_name(side),
                                 q.text, NULL, id, &o);
  if (rc == 0) {
    if (arec__trade_apply_order(cfg, agent, s, side, &o) >= 0)
      arec__mem_intent_remove(&s->mem, id);
    /* else: filled but its trades unreadable: the intent settles later */
  } else if (rc == AREC_EBACKEND && arec_exchange_last_error(s->x, NULL)) {
    /* the exchange said no: nothing was placed */
    arec__mem_intent_remove(&s->mem, id);
    fail = rejected(agent, s, id);
    if (fail) snprintf(err, sizeof err, "%s", arec_error_last());
  } else if (rc == AREC_EINVAL) {
    arec__mem_intent_remove(&s->mem, id);
    arec__trade_log(agent, AREC_LOG_WARN, "order not sent", s,
                    "client_order_id", id, "error", arec_error_last());
  } else {
    /* answer lost (or unreadable): the order may exist.  Ask before
     * anything else. */
    arec__trade_log(agent, AREC_LOG_WARN,
                    "order answer lost, asking by origClientOrderId", s,
                    "client_order_id", id, "error", arec_strerror(rc));
    arec_intent in = s->mem.intents[s->mem.nintents - 1];
    settle(cfg, agent, s, &in);
  }
  rc = arec_agent_save(agent);
  if (rc == AREC_EFENCED) return AREC_EFENCED;
  if (fail) {
    arec_error_set("%s", err); /* the save may have overwritten it */
    return fail;
  }
  return 0;
}
