/*
 * agent.c -- the "conservative" and "aggressive" agent types of the host:
 * start (memory JSON -> state, one exchange client per symbol), step (live:
 * reconcile with the exchange once per runner; settle open intents, fetch
 * the price and the symbol's exchange rules, decide -- a position too small
 * to sell counts as none --, trade through trader.c), snapshot (balance +
 * memory JSON per symbol), stop (AREC_STOP_USER closes positions and
 * says which it could not; any other reason keeps them), plus the
 * registration.  The mode (paper/live) and the risk limits come from the
 * agent's params (params.h); the config's mode is the pod's ceiling.  Each symbol's exchange
 * account (credentials, testnet) comes from the host's account hook at
 * start; a hook failure refuses the start with its reason.
 *
 * Must never log credentials, never trade live on a mainnet account
 * without allow_mainnet, and never open a position twice: a position in
 * memory is only ever closed.
 */
#include "trading/trading.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trading/params.h"
#include "trading/trader.h"

typedef struct runner {
  const arec_host_trading_config *cfg;
  const arec_strategy_params *params;
  arec_trading_params tp; /* mode and risk limits */
  int halted;             /* the daily loss limit was reached */
  char user_id[24];       /* the owner, for the lines the bot tells */
  size_t n;
  arec_trade_sym *syms;
} runner;

/* ------------------------------------------------------------- helpers */
static void runner_free(runner *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) {
    free(r->syms[i].symbol);
    arec_exchange_free(r->syms[i].x);
  }
  free(r->syms);
  free(r);
}

static void log1(arec_agent *agent, arec_log_level lvl, const char *msg,
                 const char *k, const char *v) {
  arec_log_field f[1] = {{k, v, AREC_LOG_STRING}};
  arec_agent_log(agent, lvl, msg, f, k ? 1 : 0);
}

/* Wipes and frees what the account hook returned. */
static void account_wipe(arec_host_account *acc) {
  char *v[2] = {acc->api_key, acc->api_secret};
  for (size_t i = 0; i < 2; i++) {
    if (!v[i]) continue;
    volatile char *p = v[i];
    while (*p) *p++ = 0;
    free(v[i]);
  }
  acc->api_key = acc->api_secret = NULL;
}

/* The symbol's exchange account through the host's hook.  *have = 1 with
 * `acc` filled; 0 with *have = 0 in paper mode when the user has none
 * (public endpoints only); < 0 refuses the start, the reason (never a
 * secret) in arec_error_last(). */
static int sym_account(const arec_host_trading_config *cfg, int live,
                       long long user_id, const char *symbol,
                       arec_host_account *acc, int *have) {
  *have = 0;
  if (!cfg->account) return 0;
  arec_error_clear();
  int rc = cfg->account(cfg->account_userdata, user_id, symbol, acc);
  if (rc == 0) {
    *have = 1;
    return 0;
  }
  account_wipe(acc);
  if (rc == AREC_ENOTFOUND) {
    if (!live) return 0;
    arec_error_set("no exchange account for %s", symbol);
    return AREC_EINVAL;
  }
  if (!*arec_error_last())
    arec_error_set("exchange account for %s unavailable: %s", symbol,
                   arec_strerror(rc));
  return rc;
}

static int sym_init(runner *r, arec_agent *agent, arec_trade_sym *s,
                    long long user_id, const arec_symbol *in) {
  const arec_host_trading_config *cfg = r->cfg;
  char base[256];
  arec_exchange_config xc = {0};
  arec_host_account acc;
  int have = 0, rc;

  memset(&acc, 0, sizeof acc);
  s->symbol = strdup(in->symbol);
  if (!s->symbol) return AREC_ENOMEM;
  s->budget = in->budget;
  s->balance = in->balance;
  s->live = r->tp.live;
  {
    /* assets until the exchange rules name them: "BTC/USDT" */
    const char *slash = strchr(in->symbol, '/');
    if (slash && slash - in->symbol < (long)sizeof s->base) {
      snprintf(s->base, sizeof s->base, "%.*s", (int)(slash - in->symbol),
               in->symbol);
      snprintf(s->quote, sizeof s->quote, "%.15s", slash + 1);
    }
  }
  if (arec__mem_from_json(&s->mem, in->memory) != 0)
    log1(agent, AREC_LOG_WARN, "agent memory unreadable, starting empty",
         "symbol", in->symbol);
  rc = sym_account(cfg, s->live, user_id, in->symbol, &acc, &have);
  if (rc) {
    log1(agent, AREC_LOG_ERROR, arec_error_last(), "symbol", in->symbol);
    return rc;
  }
  const char *key = have && acc.api_key ? acc.api_key : cfg->default_api_key;
  const char *secret =
      have && acc.api_secret ? acc.api_secret : cfg->default_api_secret;
  int testnet = have ? acc.testnet : 0;
  rc = arec__xbase_url(base, sizeof base, have ? acc.exchange : NULL, testnet,
                       cfg->api_base);
  if (!rc && s->live) {
    if (!testnet && !cfg->allow_mainnet) {
      arec_error_set("live trading on a mainnet account needs "
                     "EXCHANGE_ALLOW_MAINNET=true");
      log1(agent, AREC_LOG_ERROR, arec_error_last(), "symbol", in->symbol);
      rc = AREC_EINVAL;
    } else if (!key || !secret) {
      arec_error_set("live trading needs the account's API key and secret");
      log1(agent, AREC_LOG_ERROR, arec_error_last(), "symbol", in->symbol);
      rc = AREC_EINVAL;
    }
  }
  if (!rc) {
    if (key && secret) {
      /* paper mode too: the account's fee rate is read with them (no
       * order is ever sent in paper mode) */
      xc.api_key = key;
      xc.api_secret = secret;
      s->has_keys = 1;
    }
    xc.base_url = base;
    xc.timeout_ms = cfg->request_timeout_ms;
    xc.connect_timeout_ms = cfg->connect_timeout_ms;
    xc.order_timeout_ms =
        cfg->order_timeout_ms > 0 ? cfg->order_timeout_ms : 5000;
    rc = arec_exchange_new(&s->x, cfg->hub, &xc); /* copies the keys */
  }
  account_wipe(&acc);
  return rc;
}

/* ----------------------------------------------------------- callbacks */
static int t_start(void **out_state, arec_agent *agent,
                   const arec_agent_info *info, void *userdata) {
  const arec_host_trading_config *cfg = userdata;
  runner *r = calloc(1, sizeof *r);
  int rc = 0;
  *out_state = NULL;
  if (!r) return AREC_ENOMEM;
  r->cfg = cfg;
  snprintf(r->user_id, sizeof r->user_id, "%lld", info->user_id);
  r->params = arec__strategy_find(info->strategy);
  r->syms = calloc(info->nsymbols ? info->nsymbols : 1, sizeof *r->syms);
  if (!r->params || !r->syms) {
    rc = r->params ? AREC_ENOMEM : AREC_EINVAL;
    runner_free(r);
    return rc;
  }
  arec_params_error pe;
  if (arec_trading_params_parse(info->params, &r->tp, &pe) != 0) {
    arec_error_set("%s", pe.message);
    runner_free(r);
    return AREC_EINVAL;
  }
  if (r->tp.live && !cfg->live) {
    /* the ceiling: a paper pod never trades live (the library does not
     * even hand it an agent that requires "live") */
    arec_error_set("a live agent cannot run on a pod with TRADING_MODE=paper");
    runner_free(r);
    return AREC_EINVAL;
  }
  for (size_t i = 0; i < info->nsymbols && rc == 0; i++) {
    rc = sym_init(r, agent, &r->syms[i], info->user_id, &info->symbols[i]);
    r->n = i + 1;
  }
  if (rc) {
    runner_free(r);
    return rc;
  }
  for (size_t i = 0; i < r->n; i++) {
    char pos[32];
    snprintf(pos, sizeof pos, "%.8f", r->syms[i].mem.position);
    arec_log_field f[3] = {{"symbol", r->syms[i].symbol, AREC_LOG_STRING},
                           {"position", pos, AREC_LOG_STRING},
                           {"mode", r->tp.live ? "live" : "paper",
                            AREC_LOG_STRING}};
    arec_agent_log(agent, AREC_LOG_INFO, "trading agent started", f, 3);
  }
  *out_state = r;
  return 0;
}

/* One symbol's step.  0, AREC_EFENCED, or the step's failure. */
static int sym_step(runner *r, arec_agent *agent, arec_trade_sym *s) {
  double price;
  int rc;
  if (s->live && !s->reconciled) {
    rc = arec__trade_reconcile(r->cfg, agent, s);
    if (rc == AREC_EFENCED) return rc;
    if (rc) return 0; /* no order before the memory is in line */
  }
  rc = arec__trade_resolve(r->cfg, agent, s);
  if (rc == AREC_EFENCED) return AREC_EFENCED;
  if (rc > 0) return 0; /* an unknown outcome blocks this symbol */
  if (arec_exchange_price(s->x, s->symbol, &price) != 0)
    return 0; /* the breaker logs state changes; the next step retries */
  arec__mem_push_price(&s->mem, price, arec__strategy_window(r->params));
  /* hourly refresh through the hub; a failure keeps the old rules */
  arec__trade_rules(s);
  arec_decision d;
  if (s->mem.position > 0 && !arec__trade_sellable(s, price)) {
    /* dust: too small to sell, so no position to the rule; a buy adds to
     * it */
    arec_sym_mem *flat = malloc(sizeof *flat);
    if (!flat) return 0;
    *flat = s->mem;
    flat->position = 0;
    d = arec__strategy_decide(r->params, flat, s->budget, s->balance);
    free(flat);
  } else {
    d = arec__strategy_decide(r->params, &s->mem, s->budget, s->balance);
  }
  if (d.action == AREC_HOLD || arec_agent_cancelled(agent) || r->halted)
    return 0;
  if (d.action == AREC_BUY) {
    d.qty = arec__risk_buy_qty(agent, s, r->tp.max_position, d.qty, price);
    if (!(d.qty > 0)) return 0;
  }
  return arec__trade_execute(r->cfg, agent, s,
                             d.action == AREC_BUY ? AREC_SIDE_BUY : AREC_SIDE_SELL,
                             d.qty, price, d.reason);
}

/* The daily loss limit: once reached, no more orders and a user stop. */
static void check_daily_loss(runner *r, arec_agent *agent) {
  if (r->halted || !(r->tp.max_daily_loss > 0)) return;
  double pnl = arec__risk_day_pnl(r->syms, r->n, arec__trade_now_ms());
  if (-pnl < r->tp.max_daily_loss) return;
  r->halted = 1;
  arec__risk_halt(r->cfg, agent, r->user_id, -pnl, r->tp.max_daily_loss);
}

static int t_step(void *state, arec_agent *agent, int64_t *out_delay_ms,
                  void *userdata) {
  runner *r = state;
  (void)userdata;
  *out_delay_ms = r->cfg->step_interval_ms > 0 ? r->cfg->step_interval_ms : 10000;
  check_daily_loss(r, agent); /* with the prices the last step saw */
  for (size_t i = 0; i < r->n; i++) {
    if (arec_agent_cancelled(agent)) break;
    int rc = sym_step(r, agent, &r->syms[i]);
    if (rc) return rc; /* fenced, or refused too often (error set) */
    check_daily_loss(r, agent);
  }
  return 0;
}

static int t_snapshot(void *state, arec_agent *agent, arec_snapshot *snap,
                      void *userdata) {
  runner *r = state;
  (void)agent;
  (void)userdata;
  for (size_t i = 0; i < r->n; i++) {
    char *js;
    int rc = arec__mem_to_json(&r->syms[i].mem, &js);
    if (rc) return rc;
    rc = arec_snapshot_put(snap, r->syms[i].symbol, r->syms[i].balance, js);
    free(js);
    if (rc) return rc;
  }
  return 0;
}

/* What a user's stop did with the positions: symbol lists for the log. */
typedef struct closing {
  char closed[512], not_closed[512], dust[512], why[1024];
} closing;

static void list_add(char *list, size_t len, const char *item) {
  size_t n = strlen(list);
  snprintf(list + n, len - n, "%s%s", n ? "," : "", item);
}

/* Why a sell at the stop left the position open (state before/after). */
static void not_closed(closing *c, const arec_trade_sym *s, const char *why,
                       const arec_sym_mem *before) {
  char reason[256];
  if (!why) {
    if (s->mem.rej_t_ms != before->rej_t_ms && s->mem.rej_msg[0])
      snprintf(reason, sizeof reason, "refused by the exchange: %.96s",
               s->mem.rej_msg);
    else if (s->mem.skip_t_ms != before->skip_t_ms && s->mem.skip_why[0])
      snprintf(reason, sizeof reason, "%.160s", s->mem.skip_why);
    else if (s->mem.nintents)
      snprintf(reason, sizeof reason, "an order's outcome is unknown");
    else if (!s->have_rules)
      snprintf(reason, sizeof reason, "exchange rules unknown");
    else
      snprintf(reason, sizeof reason, "the sell did not fill");
    why = reason;
  }
  list_add(c->not_closed, sizeof c->not_closed, s->symbol);
  size_t n = strlen(c->why);
  snprintf(c->why + n, sizeof c->why - n, "%s%s: %s", n ? "; " : "",
           s->symbol, why);
}

/* Sells one symbol's position at a user's stop.  AREC_EFENCED or 0. */
static int close_one(runner *r, arec_agent *agent, arec_trade_sym *s,
                     closing *c) {
  double price = s->mem.nprices ? s->mem.prices[s->mem.nprices - 1] : 0;
  if (s->live && !s->reconciled &&
      arec__trade_reconcile(r->cfg, agent, s) == AREC_EFENCED)
    return AREC_EFENCED;
  if (arec__trade_resolve(r->cfg, agent, s) == AREC_EFENCED)
    return AREC_EFENCED;
  if (!s->have_rules) arec__trade_rules(s);
  if (s->mem.position <= 0) return 0;
  double fresh;
  if (arec_exchange_price(s->x, s->symbol, &fresh) == 0) price = fresh;
  if (!(price > 0)) {
    not_closed(c, s, "no price from the exchange", &s->mem);
    return 0;
  }
  if (!arec__trade_sellable(s, price)) { /* dust: nothing the exchange takes */
    list_add(c->dust, sizeof c->dust, s->symbol);
    return 0;
  }
  arec_sym_mem *before = malloc(sizeof *before);
  if (!before) {
    not_closed(c, s, "out of memory", &s->mem);
    return 0;
  }
  *before = s->mem;
  s->mem.rej_t_ms = 0; /* one more try even while a refusal back-off runs */
  int rc = arec__trade_execute(r->cfg, agent, s, AREC_SIDE_SELL,
                               s->mem.position, price, "user_stop");
  if (rc == AREC_EFENCED) {
    free(before);
    return rc;
  }
  if (!(s->mem.position > 0)) {
    list_add(c->closed, sizeof c->closed, s->symbol);
  } else if (!arec__trade_sellable(s, price)) {
    list_add(c->closed, sizeof c->closed, s->symbol);
    list_add(c->dust, sizeof c->dust, s->symbol);
  } else {
    if (s->mem.rej_t_ms == 0) s->mem.rej_t_ms = before->rej_t_ms;
    not_closed(c, s, NULL, before);
  }
  free(before);
  return 0;
}

static void t_stop(void *state, arec_agent *agent, arec_stop_reason reason,
                   void *userdata) {
  runner *r = state;
  (void)userdata;
  if (!r) return;
  if (reason == AREC_STOP_USER) {
    closing c;
    size_t i = 0;
    memset(&c, 0, sizeof c);
    for (; i < r->n; i++)
      if (close_one(r, agent, &r->syms[i], &c) == AREC_EFENCED) break;
    for (size_t k = i; k < r->n; k++) /* fenced: another owner now */
      if (r->syms[k].mem.position > 0)
        not_closed(&c, &r->syms[k], "no longer the owner (fenced)",
                   &r->syms[k].mem);
    arec_log_field f[6] = {{"reason", "user", AREC_LOG_STRING},
                           {"closed", c.closed, AREC_LOG_STRING},
                           {"not_closed", c.not_closed, AREC_LOG_STRING},
                           {"why", c.why, AREC_LOG_STRING},
                           {"dust", c.dust, AREC_LOG_STRING},
                           {"user_id", r->user_id, AREC_LOG_NUMBER}};
    arec_agent_log(agent, c.not_closed[0] ? AREC_LOG_WARN : AREC_LOG_INFO,
                   "trading agent stopped", f, 6);
  } else {
    log1(agent, AREC_LOG_INFO, "trading agent stopped, positions kept",
         "reason", arec_stop_reason_name(reason));
  }
  runner_free(r);
}

/* -------------------------------------------------------- registration */
void arec__host_trading_type(arec_agent_type *t, const char *name,
                             const arec_host_trading_config *cfg) {
  arec_agent_type init = AREC_AGENT_TYPE_INIT;
  *t = init;
  t->name = name;
  t->userdata = (void *)cfg;
  t->start = t_start;
  t->step = t_step;
  t->snapshot = t_snapshot;
  t->stop = t_stop;
}

int arec_host_trading_register(arec_manager *mgr,
                               const arec_host_trading_config *cfg) {
  static const char *const names[] = {"conservative", "aggressive"};
  if (!mgr || !cfg || !cfg->hub) return AREC_EINVAL;
  if (cfg->version != AREC_HOST_TRADING_CONFIG_VERSION) return AREC_EVERSION;
  for (size_t i = 0; i < 2; i++) {
    arec_agent_type t;
    arec__host_trading_type(&t, names[i], cfg);
    int rc = arec_manager_register_type(mgr, &t);
    if (rc) return rc;
  }
  return 0;
}
