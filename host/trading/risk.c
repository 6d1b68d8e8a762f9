/*
 * risk.c -- a trading agent's risk limits (params "risk", params.h): the
 * room max_position leaves a BUY, today's PnL for max_daily_loss, and what
 * happens when that limit is reached (last_error, one WARN line, a user
 * stop through the host's hook).
 *
 * How: positions are valued at the order's price (max_position) or at each
 * symbol's last price (the day's open PnL); the day is the UTC day of the
 * fills (memory.h day buckets).  Never: raise a quantity, place an order,
 * call into the manager other than through the host's stop hook.
 */
#include <math.h>
#include <stdio.h>

#include "trading/trader.h"

double arec__risk_buy_qty(arec_agent *agent, arec_trade_sym *s,
                          double max_position, double qty, double price) {
  char lim[32], why[160];
  if (!(max_position > 0) || !(price > 0) || !(qty > 0)) return qty;
  double held = s->mem.position > 0 ? s->mem.position * price : 0;
  double room = max_position - held;
  snprintf(lim, sizeof lim, "%.2f", max_position);
  if (qty * price <= room) return qty;
  double fit = room > 0 ? floor(room / price * 1e8) / 1e8 : 0;
  arec_log_field f[3] = {{"symbol", s->symbol, AREC_LOG_STRING},
                         {"max_position", lim, AREC_LOG_NUMBER},
                         {"quote", s->quote, AREC_LOG_STRING}};
  if (fit > 0) {
    arec_agent_log(agent, AREC_LOG_INFO, "order reduced: max_position", f, 3);
    return fit;
  }
  snprintf(why, sizeof why, "risk limit: the position is at max_position "
                            "%s %s", lim, s->quote);
  arec__mem_skip(&s->mem, why, arec__trade_now_ms());
  arec_agent_log(agent, AREC_LOG_INFO, "order skipped: max_position", f, 3);
  return 0;
}

double arec__risk_day_pnl(const arec_trade_sym *syms, size_t n,
                          int64_t now_ms) {
  int32_t today = arec__utc_day(now_ms);
  double pnl = 0;
  for (size_t i = 0; i < n; i++) {
    const arec_sym_mem *m = &syms[i].mem;
    const arec_day_pnl *d = arec__mem_day(m, today);
    if (d) pnl += d->realized;
    if (m->position > 0 && m->nprices)
      pnl += m->position * (m->prices[m->nprices - 1] - m->avg_entry);
  }
  return pnl;
}

void arec__risk_halt(const arec_host_trading_config *cfg, arec_agent *agent,
                     const char *user_id, double loss, double limit) {
  char l[32], m[32], text[200];
  snprintf(l, sizeof l, "%.2f", loss);
  snprintf(m, sizeof m, "%.2f", limit);
  snprintf(text, sizeof text,
           "daily loss limit reached: lost %s today (UTC), max_daily_loss %s; "
           "stopped",
           l, m);
  arec_agent_report(agent, text);
  arec_log_field f[3] = {{"loss", l, AREC_LOG_NUMBER},
                         {"limit", m, AREC_LOG_NUMBER},
                         {"user_id", user_id, AREC_LOG_NUMBER}};
  arec_agent_log(agent, AREC_LOG_WARN,
                 "daily loss limit reached, stopping the agent", f, 3);
  if (cfg->stop_agent) {
    int rc = cfg->stop_agent(cfg->stop_userdata, arec_agent_id(agent));
    if (rc) {
      arec_log_field e[1] = {{"error", arec_strerror(rc), AREC_LOG_STRING}};
      arec_agent_log(agent, AREC_LOG_WARN,
                     "the agent could not be stopped; it places no more "
                     "orders",
                     e, 1);
    }
  }
}
