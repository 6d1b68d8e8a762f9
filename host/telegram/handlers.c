/*
 * handlers.c -- the handlers of the bot's command table (commands.c): each
 * calls host/service.h as the actor {AREC_ACTOR_TELEGRAM, user id} and
 * writes one reply.  The service scopes every call to the user's own
 * objects (another user's agent is "not found", exactly like a missing
 * one) and validates every input (names, symbols, budgets, strategies);
 * the handlers only turn its outcomes into sentences.  Positions and PnL
 * come from the agents' memory JSON (host/trading/memory.h).
 *
 * Never: echo an API key or secret; call anything but the service for the
 * host's state; promise a start the service did not report.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "telegram/commands.h"
#include "trading/memory.h"

#define PAGE 100
#define MAX_PAGES 20

int arec_tg_agent_running(const arec_tg_cmd_ctx *c, const char *id,
                           char *what, size_t len, FILE *f) {
  snprintf(what, len, "Agent %.64s", id);
  arec_agent_record *rec = arec_tg_agent_get(c, id, what, f);
  if (!rec) return -1;
  int was = rec->is_trading || rec->running_on;
  arec_agent_records_free(rec, 1);
  return was;
}

int arec_tg_agent_act(const arec_tg_cmd_ctx *c, const char *id,
                      arec_tg_agent_op op, FILE *f) {
  char what[96];
  int was = arec_tg_agent_running(c, id, what, sizeof what, f);
  if (was < 0) return -1;
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  int rc = op(c->svc, &k.who, id, &k.r);
  if (arec_tg_failed(f, what, rc, &k.r)) return -1;
  return was;
}

arec_agent_record *arec_tg_agent_get(const arec_tg_cmd_ctx *c, const char *id,
                                     const char *what, FILE *f) {
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  arec_agent_record *rec = NULL;
  int rc = arec_svc_agent_get(c->svc, &k.who, id, &rec, &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (arec_tg_ok(st) && rec) return rec;
  if (arec_tg_ok(st)) k.r.status = 500;
  arec_tg_say_result(f, what, &k.r);
  arec_agent_records_free(rec, rec ? 1 : 0);
  return NULL;
}

/* --------------------------------------------------------------- plain */
void arec_tg_cmd_help(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                      FILE *f) {
  (void)c, (void)a;
  fputs(arec_tg_help(), f);
}

void arec_tg_cmd_start(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                       FILE *f) {
  (void)a;
  /* Telegram's name for the user, trimmed; none: "user <id>" */
  char name[256];
  const char *p = c->user_name ? c->user_name : "";
  while (*p == ' ') p++;
  snprintf(name, sizeof name, "%s", p);
  size_t n = strlen(name);
  while (n && name[n - 1] == ' ') name[--n] = 0;
  if (!n) snprintf(name, sizeof name, "user %lld", c->user_id);
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  int rc = arec_svc_user_upsert(c->svc, &k.who, c->user_id, name, &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (!arec_tg_ok(st)) {
    arec_tg_say_result(f, "You", &k.r);
    return;
  }
  fprintf(f, "Welcome! You are registered (user %lld). Agents trade on paper "
             "unless you create them live (/create_agent <strategy> "
             "\"<name>\" live), which pods allowed to place live orders "
             "run.\n\n%s",
          c->user_id, arec_tg_help());
}

void arec_tg_cmd_add_exchange(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                              FILE *f) {
  int testnet = 0;
  if (a->n == 5) {
    if (!strcasecmp(a->v[4], "testnet")) testnet = 1;
    else if (strcasecmp(a->v[4], "mainnet")) {
      fprintf(f, "Usage: /add_exchange <exchange> <api_key> <api_secret> "
                 "[testnet]");
      return;
    }
  }
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  long long id = 0;
  int rc = arec_svc_exchange_add(c->svc, &k.who, c->user_id, a->v[1], a->v[2],
                                 a->v[3], testnet, &id, &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (arec_tg_ok(st)) {
    fprintf(f, "Exchange %s added (id=%lld, %s).", a->v[1], id,
            testnet ? "testnet" : "mainnet");
    return;
  }
  arec_tg_say_result(f, "The exchange account", &k.r);
  if (st == 400 && !strcmp(k.r.field, "exchange")) {
    const char *const *ex = arec_svc_exchanges();
    fprintf(f, " Supported:");
    for (size_t i = 0; ex && ex[i]; i++) fprintf(f, "%s %s", i ? "," : "", ex[i]);
    fprintf(f, ".");
  }
  if (st == 404) fprintf(f, " Send /start first.");
}

void arec_tg_cmd_add_pair(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                          FILE *f) {
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  long long id = 0;
  int rc = arec_svc_pair_add(c->svc, &k.who, c->user_id, 0, a->v[1], &id, &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (arec_tg_ok(st)) {
    fprintf(f, "Pair %s added (id=%lld). Let an agent trade it: "
               "/assign_agent <id> %s <budget>", a->v[1], id, a->v[1]);
    return;
  }
  arec_tg_say_result(f, "The pair", &k.r);
  if (st == 404)
    fprintf(f, " You need an exchange account first: /add_exchange <exchange> "
               "<api_key> <api_secret> [testnet] (and /start before that).");
}

/* ---------------------------------------------------------------- agents */
static void strategies(const arec_tg_cmd_ctx *c, FILE *f) {
  char **names = NULL;
  size_t n = 0;
  if (arec_svc_strategies(c->svc, &names, &n) != 0 || !n) return;
  fprintf(f, "\nStrategies:");
  for (size_t i = 0; i < n; i++) fprintf(f, "%s %s", i ? "," : "", names[i]);
  arec_strings_free(names, n);
}

void arec_tg_cmd_create_agent(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                              FILE *f) {
  if (a->n != 3 && a->n != 4) {
    fprintf(f, "Usage: /create_agent <strategy> \"<name>\" [paper|live]");
    strategies(c, f);
    return;
  }
  const char *mode = a->n == 4 ? a->v[3] : NULL;
  if (mode && strcasecmp(mode, "paper") && strcasecmp(mode, "live")) {
    fprintf(f, "Usage: /create_agent <strategy> \"<name>\" [paper|live]");
    return;
  }
  if (mode) mode = strcasecmp(mode, "live") ? "paper" : "live";
  arec_svc_agent_new spec = {NULL, c->user_id, a->v[1], a->v[2], NULL, mode};
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  char id[AREC_AGENT_ID_MAX + 1] = "";
  int rc = arec_svc_agent_create(c->svc, &k.who, &spec, id, sizeof id, &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (arec_tg_ok(st) && id[0]) {
    int live = strstr(k.r.message, "(live)") != NULL;
    fprintf(f, "Agent \"%s\" created: id=%s strategy=%s mode=%s. Next: "
               "/assign_agent %s <symbol> <budget>", a->v[2], id, a->v[1],
            live ? "live" : "paper", id);
    if (live)
      fprintf(f, "\nIt places live orders: only pods allowed to trade live "
                 "run it.");
    return;
  }
  if (arec_tg_ok(st)) {
    fprintf(f, "Agent created, but no id came back: see /agents.");
    return;
  }
  arec_tg_say_result(f, "The agent", &k.r);
  if (st == 400 && !strcmp(k.r.field, "strategy")) strategies(c, f);
  if (st == 404) fprintf(f, " Send /start first.");
}

void arec_tg_cmd_assign(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                        FILE *f) {
  char *e = NULL;
  double budget = strtod(a->v[3], &e);
  if (e == a->v[3] || *e || !isfinite(budget)) {
    fprintf(f, "Usage: %s <id> <symbol> <budget>   (budget: a number, e.g. "
               "500)", a->v[0]);
    return;
  }
  char what[96];
  snprintf(what, sizeof what, "Agent %.64s", a->v[1]);
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  int rc =
      arec_svc_agent_assign(c->svc, &k.who, a->v[1], a->v[2], budget, &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (arec_tg_ok(st)) {
    fprintf(f, "Agent %s trades %s with a budget of %.2f. Start it: "
               "/start_agent %s", a->v[1], a->v[2], budget, a->v[1]);
    return;
  }
  arec_tg_say_result(f, what, &k.r);
  if (st == 409) fprintf(f, " (Do you have the pair? /add_pair %s)", a->v[2]);
}

void arec_tg_cmd_start_agent(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                             FILE *f) {
  const char *id = a->v[1];
  char what[96], pod[160] = "";
  snprintf(what, sizeof what, "Agent %.64s", id);
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  int rc = arec_svc_agent_start(c->svc, &k.who, id, pod, sizeof pod, &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (st == 200) {
    fprintf(f, "Agent %s started on pod %s (%s).", id, pod[0] ? pod : c->pod,
            strstr(k.r.message, "live orders") ? "live orders"
                                                : "paper trading");
  } else if (st == 202) {
    if (strstr(k.r.message, "lock"))
      fprintf(f, "Agent %s will start when the lock service returns: the "
                 "lock service is unavailable right now, your wish is "
                 "recorded.", id);
    else if (pod[0])
      fprintf(f, "Agent %s runs on pod %s (your wish is recorded).", id, pod);
    else
      fprintf(f, "Agent %s: your wish is recorded%s%s.", id,
              k.r.message[0] ? ": " : "", k.r.message);
  } else if (st == 422) {
    fprintf(f, "Agent %s was refused by its strategy: %s. Your wish is "
               "unchanged.",
            id, k.r.message[0] ? k.r.message : "no reason given");
  } else {
    arec_tg_say_result(f, what, &k.r);
    if (st == 409)
      fprintf(f, " An agent needs a symbol (/assign_agent %s <symbol> "
                 "<budget>) and must be enabled.", id);
  }
}

void arec_tg_cmd_stop_agent(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                            FILE *f) {
  const char *id = a->v[1];
  int was = arec_tg_agent_act(c, id, arec_svc_agent_stop, f);
  if (was < 0) return;
  if (!was) fprintf(f, "Agent %s is not running.", id);
  else fprintf(f, "Stopping agent %s: its positions are being closed. You "
                  "will get a message when it has stopped.", id);
}

/* ------------------------------------------------------------------ reads */
typedef struct pnl {
  double realized, open, position, last;
  unsigned long long trades;
} pnl;

static pnl sym_pnl(const arec_symbol_record *s) {
  pnl p = {0, 0, 0, 0, 0};
  arec_sym_mem *m = calloc(1, sizeof *m);
  if (!m) return p;
  arec__mem_from_json(m, s->memory);
  p.realized = m->realized_pnl;
  p.position = m->position;
  p.trades = (unsigned long long)m->trades;
  p.last = m->nprices ? m->prices[m->nprices - 1] : 0;
  if (m->position > 0 && p.last > 0)
    p.open = m->position * (p.last - m->avg_entry);
  free(m);
  return p;
}

static const char *where(const arec_agent_record *a) {
  if (a->running_on) return a->running_on;
  if (a->start_failures) return "(waiting to retry its start)";
  if (a->is_trading && a->last_error &&
      strstr(a->last_error, "waiting for a pod offering"))
    return "(waiting for a pod that may run it)";
  return a->is_trading ? "(starting)" : "(stopped)";
}

void arec_tg_cmd_agents(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                        FILE *f) {
  (void)a;
  arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
  flt.limit = PAGE;
  flt.user_id = c->user_id;
  flt.with_symbols = 1;
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  arec_agent_record *as = NULL;
  size_t n = 0;
  int rc = arec_svc_agent_list(c->svc, &k.who, &flt, &as, &n, &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (!arec_tg_ok(st)) {
    arec_tg_say_result(f, "Your agents", &k.r);
    arec_agent_records_free(as, n);
    return;
  }
  if (!n) fprintf(f, "You have no agents yet: /create_agent <strategy> \"My Agent\"");
  else fprintf(f, "Your agents:");
  for (size_t i = 0; i < n; i++) {
    fprintf(f, "\n%s \"%s\" %s, %s", as[i].id, as[i].name ? as[i].name : "",
            as[i].strategy ? as[i].strategy : "", where(&as[i]));
    for (size_t j = 0; j < as[i].nsymbols; j++)
      fprintf(f, "%s%s", j ? ", " : " [", as[i].symbols[j].symbol);
    if (as[i].nsymbols) fprintf(f, "]");
    if (as[i].start_failures) fprintf(f, " - %u failed starts", as[i].start_failures);
  }
  if (n == PAGE) fprintf(f, "\n(the first %d)", PAGE);
  arec_agent_records_free(as, n);
}

static void wall_time(char *out, size_t len, int64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
    snprintf(out, len, "?");
}

void arec_tg_cmd_status(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                        FILE *f) {
  const char *id = a->v[1];
  char what[96];
  snprintf(what, sizeof what, "Agent %.64s", id);
  arec_agent_record *x = arec_tg_agent_get(c, id, what, f);
  if (!x) return;
  fprintf(f, "Agent %s \"%s\" (%s, %s)\nRuns on: %s\nWanted: %s%s", x->id,
          x->name ? x->name : "", x->strategy ? x->strategy : "",
          arec_svc_agent_is_live(x) ? "live" : "paper", where(x),
          x->is_trading ? "running" : "stopped",
          x->is_active ? "" : " (disabled)");
  if (x->start_failures || x->last_error) {
    if (x->start_failures) fprintf(f, "\nFailed starts: %u", x->start_failures);
    if (x->last_error) fprintf(f, "\nLast error: %s", x->last_error);
    if (x->retry_at_ms > 0) {
      char when[64];
      wall_time(when, sizeof when, x->retry_at_ms);
      long long in = (long long)(x->retry_at_ms / 1000 - (int64_t)time(NULL));
      fprintf(f, "\nNext retry: %s", when);
      if (in > 0) fprintf(f, " (in %llds)", in);
    }
  }
  for (size_t j = 0; j < x->nsymbols; j++) {
    pnl p = sym_pnl(&x->symbols[j]);
    fprintf(f, "\n%s: balance %.2f of %.2f, position %.8g @ last %.8g, "
               "realised PnL %.2f, open PnL %.2f, trades %llu",
            x->symbols[j].symbol, x->symbols[j].balance, x->symbols[j].budget,
            p.position, p.last, p.realized, p.open, p.trades);
  }
  if (!x->nsymbols) fprintf(f, "\nNo symbol assigned.");
  arec_agent_records_free(x, 1);
}

void arec_tg_cmd_profit(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                        FILE *f) {
  (void)a;
  arec_svc_actor who = arec_tg_actor(c);
  double real = 0, open = 0;
  unsigned long long trades = 0;
  size_t agents = 0;
  char after[AREC_AGENT_ID_MAX + 1] = "";
  for (int page = 0; page < MAX_PAGES; page++) {
    arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
    flt.limit = PAGE;
    flt.user_id = c->user_id;
    flt.with_symbols = 1;
    flt.after = after[0] ? after : NULL;
    arec_svc_result r;
    memset(&r, 0, sizeof r);
    arec_agent_record *as = NULL;
    size_t n = 0;
    int rc = arec_svc_agent_list(c->svc, &who, &flt, &as, &n, &r);
    int st = arec_tg_status(rc, &r);
    if (!arec_tg_ok(st)) {
      arec_tg_say_result(f, "Your agents", &r);
      arec_agent_records_free(as, n);
      return;
    }
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < as[i].nsymbols; j++) {
        pnl p = sym_pnl(&as[i].symbols[j]);
        real += p.realized;
        open += p.open;
        trades += p.trades;
      }
    agents += n;
    if (n) snprintf(after, sizeof after, "%s", as[n - 1].id ? as[n - 1].id : "");
    arec_agent_records_free(as, n);
    if (n < PAGE || !after[0]) break;
  }
  fprintf(f, "Profit over %zu agent%s: realised %.2f, open %.2f, total %.2f "
             "(%llu trades)", agents, agents == 1 ? "" : "s", real, open,
          real + open, trades);
}
