/*
 * handlers_trader.c -- the bot's trader reports, as freqtrade's users know
 * them: /balance (per agent and the total per quote asset), /trades [N]
 * (the last fills), /daily [days] (realised PnL per UTC day) and
 * /performance (per symbol).  Each is one read of host/service.h as the
 * sender, so it shows the sender's own agents only.
 *
 * Never: show another user's agent; call anything but the service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "telegram/commands.h"

/* An optional count argument in [1, max] (default def): 0, or -1 after the
 * usage line. */
static int count_arg(const arec_tg_args *a, long def, long max, long *out,
                     FILE *f) {
  *out = def;
  if (a->n < 2) return 0;
  char *e = NULL;
  long v = strtol(a->v[1], &e, 10);
  if (e == a->v[1] || *e || v < 1 || v > max) {
    fprintf(f, "Usage: %s [1..%ld]", a->v[0], max);
    return -1;
  }
  *out = v;
  return 0;
}

void arec_tg_cmd_balance(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                         FILE *f) {
  (void)a;
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  arec_svc_balance *v = NULL;
  size_t n = 0;
  int rc = arec_svc_balance_list(c->svc, &k.who, c->user_id, &v, &n, &k.r);
  if (arec_tg_failed(f, "Your balance", rc, &k.r)) {
    free(v);
    return;
  }
  if (!n) {
    fprintf(f, "No agent of yours trades a symbol yet.");
    free(v);
    return;
  }
  fprintf(f, "Balance per agent (cash + open positions at the last price):");
  for (size_t i = 0; i < n; i++)
    fprintf(f, "\n%s (%s): %.2f %s = cash %.2f + positions %.2f (budget "
               "%.2f)", v[i].agent_id, v[i].live ? "live" : "paper",
            v[i].cash + v[i].positions, v[i].quote, v[i].cash,
            v[i].positions, v[i].budget);
  /* the total per quote asset, in the order they first appear */
  for (size_t i = 0; i < n; i++) {
    int seen = 0;
    for (size_t k = 0; k < i && !seen; k++)
      seen = !strcmp(v[k].quote, v[i].quote);
    if (seen) continue;
    double total = 0;
    for (size_t k = i; k < n; k++)
      if (!strcmp(v[k].quote, v[i].quote)) total += v[k].cash + v[k].positions;
    fprintf(f, "\nTotal: %.2f %s", total, v[i].quote);
  }
  free(v);
}

static void when(char *out, size_t len, int64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (ms <= 0 || !gmtime_r(&t, &tm) ||
      !strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm))
    snprintf(out, len, "?");
}

void arec_tg_cmd_trades(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                        FILE *f) {
  long limit;
  if (count_arg(a, 10, 50, &limit, f)) return;
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  arec_svc_fill *v = NULL;
  size_t n = 0;
  int rc = arec_svc_trades(c->svc, &k.who, c->user_id, (unsigned)limit, &v, &n,
                           &k.r);
  if (arec_tg_failed(f, "Your trades", rc, &k.r)) {
    free(v);
    return;
  }
  if (!n) fprintf(f, "No trades yet.");
  else fprintf(f, "Your last %zu trade%s (UTC):", n, n == 1 ? "" : "s");
  for (size_t i = 0; i < n; i++) {
    char t[32];
    when(t, sizeof t, v[i].t_ms);
    fprintf(f, "\n%s %s %s %.8g %s @ %.8g, fee %.4f", t, v[i].agent_id,
            v[i].side, v[i].qty, v[i].symbol, v[i].price, v[i].fee);
  }
  free(v);
}

void arec_tg_cmd_daily(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                       FILE *f) {
  long days;
  if (count_arg(a, 7, 90, &days, f)) return;
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  arec_svc_day *v = NULL;
  size_t n = 0;
  int rc = arec_svc_daily(c->svc, &k.who, c->user_id, (unsigned)days, &v, &n,
                          &k.r);
  if (arec_tg_failed(f, "Your daily PnL", rc, &k.r)) {
    free(v);
    return;
  }
  if (!n) {
    fprintf(f, "No agent of yours trades a symbol yet.");
    free(v);
    return;
  }
  fprintf(f, "Realised PnL per day (UTC, fees included), the last %ld:", days);
  for (size_t i = 0; i < n; i++)
    fprintf(f, "\n%s: %+.2f %s (%u trade%s, fees %.2f)", v[i].date,
            v[i].realized, v[i].quote, v[i].trades,
            v[i].trades == 1 ? "" : "s", v[i].fees);
  free(v);
}

void arec_tg_cmd_performance(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                             FILE *f) {
  (void)a;
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  arec_svc_perf *v = NULL;
  size_t n = 0;
  int rc = arec_svc_performance(c->svc, &k.who, c->user_id, &v, &n, &k.r);
  if (arec_tg_failed(f, "Your performance", rc, &k.r)) {
    free(v);
    return;
  }
  if (!n) fprintf(f, "No agent of yours trades a symbol yet.");
  else fprintf(f, "Performance per symbol (fees included):");
  for (size_t i = 0; i < n; i++)
    fprintf(f, "\n%s: realised %+.2f %s, open %+.2f, %llu trade%s, fees "
               "%.2f", v[i].symbol, v[i].realized, v[i].quote, v[i].open,
            v[i].trades, v[i].trades == 1 ? "" : "s", v[i].fees);
  free(v);
}
