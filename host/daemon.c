/*
 * daemon.c -- the parts of agentrecoverd beside the manager (daemon.h):
 * the exchange hub, the agent types with the trading configuration, and
 * the Telegram bot with its log tap and role gauge, the takeover recorder
 * with its own.
 *
 * How: the hub and the trading agents call the bot through trampolines
 * that read the daemon's bot pointer, so they can be created before the
 * bot (which needs the service, which needs the manager, which needs the
 * agent types); the pointer is set before any agent can run (the restore
 * and the API start after the bot) and cleared only at exit.
 *
 * Never: log the bot's token or an exchange credential; give the trading
 * agents a secret of their own (credentials come from the store per user
 * and symbol, at each agent's start).
 */
#include "daemon.h"

#include <string.h>

#include "log.h"
#include "strategies.h"

/* ----------------------------------------------------------- trampolines */
static void on_breaker(void *ud, const char *endpoint, arec_breaker_state from,
                       arec_breaker_state to) {
  arec_host_daemon *d = ud;
  arec_tg_bot *bot = atomic_load(&d->bot);
  if (bot) arec_tg_bot_on_breaker(bot, endpoint, from, to);
}

static void on_trade(void *ud, const char *agent_id, const char *symbol,
                     const char *side, double qty, double price, int live) {
  arec_host_daemon *d = ud;
  arec_tg_bot *bot = atomic_load(&d->bot);
  if (bot) arec_tg_bot_on_trade(bot, agent_id, symbol, side, qty, price, live);
}

/* A trading agent reached its daily loss limit: a user's stop. */
static int stop_agent(void *ud, const char *agent_id) {
  arec_host_daemon *d = ud;
  return d->mgr ? arec_manager_stop_agent(d->mgr, agent_id) : AREC_EINVAL;
}

static int role_held(void *ud) {
  arec_host_daemon *d = ud;
  arec_tg_bot *bot = atomic_load(&d->bot);
  return bot ? arec_tg_bot_is_poller(bot) : 0;
}

/* ------------------------------------------------------------------ hub */
int arec_host_daemon_start_hub(arec_host_daemon *d) {
  arec_exchange_hub_options ho = AREC_EXCHANGE_HUB_OPTIONS_INIT;
  ho.log = arec_host_log_sink;
  ho.log_userdata = arec_host_log_ud();
  ho.on_change = on_breaker;
  ho.change_userdata = d;
  if (arec_exchange_hub_new(&d->hub, &ho) != 0) {
    hlog(AREC_LOG_ERROR, "cannot create the exchange hub", HL_END);
    return 1;
  }
  return 0;
}

void arec_host_daemon_free_hub(arec_host_daemon *d) {
  arec_exchange_hub_free(d->hub);
  d->hub = NULL;
}

/* ---------------------------------------------------------- agent types */
/* The strategy registry (strategies.h): noop and the trading types (the
 * pod's mode is their ceiling; a risk stop is the manager's user stop). */
int arec_host_daemon_register_types(arec_host_daemon *d) {
  const arec_host_config *c = d->cfg;
  arec_host_trading_config *t = &d->trading;
  *t = (arec_host_trading_config)AREC_HOST_TRADING_CONFIG_INIT;
  t->hub = d->hub;
  t->live = c->trading_live;
  t->allow_mainnet = c->exchange_allow_mainnet;
  t->api_base = c->exchange_api_base;
  t->step_interval_ms = c->trading_step_interval_ms;
  t->order_timeout_ms = c->trading_order_timeout_ms;
  t->stop_agent = stop_agent;
  t->stop_userdata = d;
  t->on_trade = on_trade;
  t->trade_userdata = d;
  t->account = arec_host_store_account_hook;
  t->account_userdata = d->store;
  d->strategies.noop_step_ms = 1000;
  d->strategies.trading = t;
  if (arec_host_strategies_register(d->mgr, &d->strategies) != 0) {
    hlog(AREC_LOG_ERROR, "cannot register the agent types",
         HL_S("error", arec_error_last()), HL_END);
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------ takeovers */
int arec_host_daemon_start_takeovers(arec_host_daemon *d) {
  arec_host_takeovers_options o;
  memset(&o, 0, sizeof o);
  o.store = d->store;
  o.pod = d->cfg->pod_name;
  o.log = arec_host_log_sink;
  o.log_userdata = arec_host_log_ud();
  if (arec_host_takeovers_new(&d->takeovers, &o) != 0) {
    hlog(AREC_LOG_ERROR, "cannot start the takeover recorder", HL_END);
    return 1;
  }
  arec_host_log_set_recorder(arec_host_takeovers_tap, d->takeovers,
                             AREC_LOG_INFO);
  return 0;
}

void arec_host_daemon_free_takeovers(arec_host_daemon *d) {
  if (!d->takeovers) return;
  arec_host_log_set_recorder(NULL, NULL, AREC_LOG_INFO);
  arec_host_takeovers_free(d->takeovers);
  d->takeovers = NULL;
}

/* ------------------------------------------------------------------ bot */
int arec_host_daemon_new_bot(arec_host_daemon *d) {
  const arec_host_config *c = d->cfg;
  if (!c->telegram_bot_token) {
    hlog(AREC_LOG_INFO, "Telegram bot disabled (TELEGRAM_BOT_TOKEN unset)",
         HL_END);
    return 0;
  }
  arec_tg_bot_options bo;
  memset(&bo, 0, sizeof bo);
  bo.token = c->telegram_bot_token;
  bo.api_base = c->telegram_api_base;
  bo.allowed_users = c->telegram_allowed_users;
  bo.pod = c->pod_name;
  bo.role_ttl_ms = c->lock_ttl_ms;
  bo.log = arec_host_log_sink;
  bo.log_userdata = arec_host_log_ud();
  arec_tg_bot *bot = NULL;
  if (arec_tg_bot_new(&bot, &bo) != 0) {
    hlog(AREC_LOG_ERROR, "cannot create the Telegram bot",
         HL_S("error", arec_error_last()), HL_END);
    return 1;
  }
  atomic_store(&d->bot, bot);
  arec_host_log_set_tap(arec_tg_bot_log_tap, bot);
  d->state.telegram_role_held = role_held;
  d->state.telegram_role_ud = d;
  return 0;
}

int arec_host_daemon_start_bot(arec_host_daemon *d) {
  arec_tg_bot *bot = atomic_load(&d->bot);
  if (bot && arec_tg_bot_start(bot, d->svc) != 0) {
    hlog(AREC_LOG_ERROR, "cannot start the Telegram bot",
         HL_S("error", arec_error_last()), HL_END);
    return 1;
  }
  return 0;
}

void arec_host_daemon_stop_bot(arec_host_daemon *d, int64_t deadline_ms) {
  arec_tg_bot_stop(atomic_load(&d->bot), deadline_ms);
}

void arec_host_daemon_free_bot(arec_host_daemon *d) {
  arec_tg_bot *bot = atomic_load(&d->bot);
  if (!bot) return;
  arec_host_log_set_tap(NULL, NULL);
  atomic_store(&d->bot, NULL);
  arec_tg_bot_free(bot);
}
