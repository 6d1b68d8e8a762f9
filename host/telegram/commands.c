/*
 * commands.c -- the bot's commands: /start, /add_exchange, /add_pair,
 * /create_agent, /assign_agent, /start_agent, /stop_agent, /agents,
 * /status, /profit, /help.
 *
 * How: the text is split into words (double quotes, straight or curly,
 * group a name), "/cmd@botname" is accepted, each command checks its
 * arguments (a usage line otherwise) and the caller's ownership of the
 * agent it names (another user's agent is "not found", exactly like a
 * missing one), then calls arec_pg_* or arec_manager_*.  Positions and PnL
 * come from the agents' memory JSON (host/trading/strategy.h).
 *
 * Never: echo, log or keep an API key or secret (the reply to
 * /add_exchange asks for the message to be deleted); show one user
 * another user's agent.
 */
#include "telegram/commands.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trading/strategy.h"

#define MAX_ARGS 8
#define MAX_AGENTS 100

/* ------------------------------------------------------------ words */
typedef struct words {
  char *buf;
  char *v[MAX_ARGS];
  int n;
  int too_many;
} words;

static int is_open_quote(const char *p, size_t *len) {
  if (*p == '"') return (*len = 1), 1;
  if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
      ((unsigned char)p[2] == 0x9C || (unsigned char)p[2] == 0x9D))
    return (*len = 3), 1;
  return 0;
}

/* Splits in place into w->v; quotes group words.  0 or AREC_ENOMEM. */
static int split(words *w, const char *text) {
  memset(w, 0, sizeof *w);
  w->buf = strdup(text);
  if (!w->buf) return AREC_ENOMEM;
  char *p = w->buf;
  for (;;) {
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) break;
    size_t ql;
    char *start, *end;
    if (is_open_quote(p, &ql)) {
      start = p + ql;
      end = start;
      size_t cl = 0;
      while (*end && !is_open_quote(end, &cl)) end++;
      p = *end ? end + cl : end;
    } else {
      start = p;
      while (*p && !isspace((unsigned char)*p)) p++;
      end = p;
      if (*p) p++;
    }
    char save = *end;
    *end = 0;
    if (w->n == MAX_ARGS) w->too_many = 1;
    else w->v[w->n++] = start;
    if (!save) break;
  }
  return 0;
}

/* ------------------------------------------------------------- output */
typedef struct out {
  char *p;
  size_t n;
  FILE *f;
} out;

static int out_open(out *o) {
  o->p = NULL;
  o->n = 0;
  o->f = open_memstream(&o->p, &o->n);
  return o->f ? 0 : AREC_ENOMEM;
}

static char *out_close(out *o) {
  fclose(o->f);
  return o->p;
}

static const char *HELP =
    "Commands:\n"
    "/start - register\n"
    "/add_exchange <exchange> <api_key> <api_secret> [testnet] - store keys "
    "(encrypted; your message is deleted)\n"
    "/add_pair <symbol> - e.g. BTC/USDT, on your newest exchange account\n"
    "/create_agent <conservative|aggressive> \"<name>\"\n"
    "/assign_agent <id> <symbol> <balance>\n"
    "/start_agent <id>\n"
    "/stop_agent <id> - closes its positions\n"
    "/agents - your agents\n"
    "/status <id> - where it runs, positions, PnL\n"
    "/profit - realised and open PnL of all your agents\n"
    "/help - this text\n";

/* ---------------------------------------------------------- helpers */
/* The caller's agent, or NULL with the reply written ("not found"). */
static arec_pg_agent *own_agent(const arec_tg_ctx *c, long long uid,
                                const char *id, FILE *f) {
  arec_pg_agent *a = NULL;
  if (!arec_agent_id_valid(id)) {
    fprintf(f, "Agent %s not found.", id);
    return NULL;
  }
  int rc = arec_pg_agent_get(c->pg, id, &a);
  if (rc == 0 && a->user_id != uid) {
    arec_pg_agents_free(a, 1);
    a = NULL;
    rc = AREC_ENOTFOUND;
  }
  if (rc == AREC_ENOTFOUND)
    fprintf(f, "Agent %s not found.", id);
  else if (rc)
    fprintf(f, "Database unavailable (%s), try again.", arec_strerror(rc));
  return rc ? NULL : a;
}

typedef struct pnl {
  double realized, open, position, last;
  unsigned long long trades;
} pnl;

static pnl sym_pnl(const arec_pg_symbol *s) {
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

static const char *where(const arec_pg_agent *a) {
  if (a->running_on) return a->running_on;
  return a->is_trading ? "(starting)" : "(stopped)";
}

static int need_user(const arec_tg_ctx *c, long long uid, FILE *f) {
  int rc = arec_pg_user_get(c->pg, uid, NULL);
  if (rc == AREC_ENOTFOUND) fprintf(f, "Send /start first.");
  else if (rc) fprintf(f, "Database unavailable (%s), try again.", arec_strerror(rc));
  return rc;
}

static int parse_money(const char *s, double *out) {
  char *e;
  double v = strtod(s, &e);
  if (e == s || *e || !(v > 0) || v > 1e15) return -1;
  *out = v;
  return 0;
}

static int valid_symbol(const char *s) {
  size_t n = strlen(s);
  if (n < 3 || n > 20) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '/' && s[i] != '-' && s[i] != '_')
      return 0;
  return 1;
}

/* --------------------------------------------------------- commands */
static void cmd_start(const arec_tg_ctx *c, long long uid, const char *name,
                      FILE *f) {
  int rc = arec_pg_user_upsert(c->pg, uid, name ? name : "");
  if (rc) {
    fprintf(f, "Database unavailable (%s), try again.", arec_strerror(rc));
    return;
  }
  fprintf(f, "Welcome! You are registered (user %lld). Trading is in paper "
             "mode unless the operator enabled live orders.\n\n%s", uid, HELP);
}

static void cmd_add_exchange(const arec_tg_ctx *c, long long uid, words *w,
                             FILE *f) {
  if (w->n < 4 || w->n > 5 ||
      (w->n == 5 && strcasecmp(w->v[4], "testnet") && strcasecmp(w->v[4], "mainnet"))) {
    fprintf(f, "Usage: /add_exchange <exchange> <api_key> <api_secret> [testnet]");
    return;
  }
  if (need_user(c, uid, f)) return;
  int testnet = w->n == 5 && !strcasecmp(w->v[4], "testnet");
  long long id = 0;
  int rc = arec_pg_exchange_create(c->pg, &id, uid, w->v[1], w->v[2], w->v[3],
                                   testnet);
  if (rc == AREC_EINVAL)
    fprintf(f, "Cannot store keys: the operator has not set AGENT_SECRETS_KEY.");
  else if (rc)
    fprintf(f, "Could not store the exchange (%s).", arec_strerror(rc));
  else
    fprintf(f, "Exchange %s added (id=%lld, %s). Your message with the keys "
               "was deleted.", w->v[1], id, testnet ? "testnet" : "mainnet");
}

static void cmd_add_pair(const arec_tg_ctx *c, long long uid, words *w,
                         FILE *f) {
  if (w->n != 2 || !valid_symbol(w->v[1])) {
    fprintf(f, "Usage: /add_pair <symbol>   (e.g. /add_pair BTC/USDT)");
    return;
  }
  if (need_user(c, uid, f)) return;
  long long ex = 0, id = 0;
  int rc = arec_pg_exchange_latest(c->pg, uid, &ex);
  if (rc == AREC_ENOTFOUND) {
    fprintf(f, "Add an exchange first: /add_exchange <exchange> <api_key> "
               "<api_secret> [testnet]");
    return;
  }
  if (!rc) rc = arec_pg_pair_create(c->pg, &id, uid, ex, w->v[1]);
  if (rc == AREC_EEXIST) fprintf(f, "You already have the pair %s.", w->v[1]);
  else if (rc) fprintf(f, "Could not add the pair (%s).", arec_strerror(rc));
  else fprintf(f, "Pair %s added on exchange id=%lld.", w->v[1], ex);
}

static void cmd_create_agent(const arec_tg_ctx *c, long long uid, words *w,
                             FILE *f) {
  if (w->n != 3 || w->too_many || !*w->v[2] ||
      (strcmp(w->v[1], "conservative") && strcmp(w->v[1], "aggressive"))) {
    fprintf(f, "Usage: /create_agent <conservative|aggressive> \"<name>\"");
    return;
  }
  if (need_user(c, uid, f)) return;
  char id[72];
  int rc = arec_pg_agent_create(c->pg, id, NULL, uid, w->v[1], w->v[2]);
  if (rc) fprintf(f, "Could not create the agent (%s).", arec_strerror(rc));
  else fprintf(f, "Agent \"%s\" created: id=%s strategy=%s. Next: "
                  "/assign_agent %s <symbol> <balance>", w->v[2], id, w->v[1], id);
}

static void cmd_assign(const arec_tg_ctx *c, long long uid, words *w, FILE *f) {
  double bal;
  if (w->n != 4 || !valid_symbol(w->v[2]) || parse_money(w->v[3], &bal)) {
    fprintf(f, "Usage: /assign_agent <id> <symbol> <balance>");
    return;
  }
  arec_pg_agent *a = own_agent(c, uid, w->v[1], f);
  if (!a) return;
  arec_pg_agents_free(a, 1);
  int rc = arec_pg_agent_assign(c->pg, w->v[1], w->v[2], bal);
  if (rc == AREC_ECONFLICT)
    fprintf(f, "Add the pair first: /add_pair %s", w->v[2]);
  else if (rc == AREC_EEXIST)
    fprintf(f, "%s is already assigned to agent %s.", w->v[2], w->v[1]);
  else if (rc)
    fprintf(f, "Could not assign (%s).", arec_strerror(rc));
  else
    fprintf(f, "Agent %s trades %s with a balance of %.2f. Start it: "
               "/start_agent %s", w->v[1], w->v[2], bal, w->v[1]);
}

static void cmd_start_agent(const arec_tg_ctx *c, long long uid, words *w,
                            FILE *f) {
  if (w->n != 2) {
    fprintf(f, "Usage: /start_agent <id>");
    return;
  }
  arec_pg_agent *a = own_agent(c, uid, w->v[1], f);
  if (!a) return;
  arec_pg_agents_free(a, 1);
  int rc = arec_manager_start_agent(c->mgr, w->v[1]);
  if (rc == 0) {
    fprintf(f, "Agent %s started on pod %s.", w->v[1], c->pod);
    return;
  }
  if (rc == AREC_ELOCKED) {
    a = NULL;
    if (arec_pg_agent_get(c->pg, w->v[1], &a) == 0 && a->running_on)
      fprintf(f, "Agent %s is running on pod %s.", w->v[1], a->running_on);
    else
      fprintf(f, "Agent %s is running on another pod.", w->v[1]);
    arec_pg_agents_free(a, 1);
  } else if (rc == AREC_EUNAVAILABLE) {
    fprintf(f, "Agent %s will start when the lock service is back (your "
               "wish is recorded).", w->v[1]);
  } else if (rc == AREC_ECONFLICT) {
    fprintf(f, "Agent %s has no symbol: /assign_agent %s <symbol> <balance>",
            w->v[1], w->v[1]);
  } else {
    fprintf(f, "Could not start agent %s (%s).", w->v[1], arec_strerror(rc));
  }
}

static void cmd_stop_agent(const arec_tg_ctx *c, long long uid, words *w,
                           FILE *f) {
  if (w->n != 2) {
    fprintf(f, "Usage: /stop_agent <id>");
    return;
  }
  arec_pg_agent *a = own_agent(c, uid, w->v[1], f);
  if (!a) return;
  int was = a->is_trading;
  arec_pg_agents_free(a, 1);
  int rc = arec_manager_stop_agent(c->mgr, w->v[1]);
  if (rc) fprintf(f, "Could not stop agent %s (%s).", w->v[1], arec_strerror(rc));
  else if (!was) fprintf(f, "Agent %s is not running.", w->v[1]);
  else fprintf(f, "Stopping agent %s: its positions are being closed. You "
                  "will get a message when it has stopped.", w->v[1]);
}

static void cmd_agents(const arec_tg_ctx *c, long long uid, FILE *f) {
  arec_pg_agent *as = NULL;
  size_t n = 0;
  int rc = arec_pg_agent_list(c->pg, NULL, MAX_AGENTS, uid, &as, &n);
  if (rc) {
    fprintf(f, "Database unavailable (%s), try again.", arec_strerror(rc));
    return;
  }
  if (!n) fprintf(f, "You have no agents yet: /create_agent conservative \"My Agent\"");
  else fprintf(f, "Your agents:");
  for (size_t i = 0; i < n; i++) {
    fprintf(f, "\n%s \"%s\" %s, %s", as[i].id, as[i].name, as[i].strategy,
            where(&as[i]));
    for (size_t j = 0; j < as[i].nsymbols; j++)
      fprintf(f, "%s%s", j ? ", " : " [", as[i].symbols[j].symbol);
    if (as[i].nsymbols) fprintf(f, "]");
  }
  arec_pg_agents_free(as, n);
}

static void cmd_status(const arec_tg_ctx *c, long long uid, words *w, FILE *f) {
  if (w->n != 2) {
    fprintf(f, "Usage: /status <id>");
    return;
  }
  arec_pg_agent *a = own_agent(c, uid, w->v[1], f);
  if (!a) return;
  fprintf(f, "Agent %s \"%s\" (%s)\nRuns on: %s\nWanted: %s", a->id, a->name,
          a->strategy, where(a), a->is_trading ? "running" : "stopped");
  for (size_t j = 0; j < a->nsymbols; j++) {
    pnl p = sym_pnl(&a->symbols[j]);
    fprintf(f, "\n%s: balance %.2f of %.2f, position %.8g @ last %.8g, "
               "realised PnL %.2f, open PnL %.2f, trades %llu",
            a->symbols[j].symbol, a->symbols[j].balance, a->symbols[j].budget,
            p.position, p.last, p.realized, p.open, p.trades);
  }
  if (!a->nsymbols) fprintf(f, "\nNo symbol assigned.");
  arec_pg_agents_free(a, 1);
}

static void cmd_profit(const arec_tg_ctx *c, long long uid, FILE *f) {
  arec_pg_agent *as = NULL;
  size_t n = 0;
  int rc = arec_pg_agent_list(c->pg, NULL, MAX_AGENTS, uid, &as, &n);
  if (rc) {
    fprintf(f, "Database unavailable (%s), try again.", arec_strerror(rc));
    return;
  }
  double real = 0, open = 0;
  unsigned long long trades = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < as[i].nsymbols; j++) {
      pnl p = sym_pnl(&as[i].symbols[j]);
      real += p.realized;
      open += p.open;
      trades += p.trades;
    }
  fprintf(f, "Profit over %zu agent%s: realised %.2f, open %.2f, total %.2f "
             "(%llu trades)", n, n == 1 ? "" : "s", real, open, real + open, trades);
  arec_pg_agents_free(as, n);
}

/* ----------------------------------------------------------- dispatch */
int arec_tg_command(const arec_tg_ctx *c, long long uid, const char *user_name,
                    const char *text, char **out_reply, int *out_delete) {
  *out_reply = NULL;
  *out_delete = 0;
  words w;
  out o;
  if (split(&w, text ? text : "")) return AREC_ENOMEM;
  if (out_open(&o)) {
    free(w.buf);
    return AREC_ENOMEM;
  }
  int allowed = c->nallowed == 0;
  for (size_t i = 0; i < c->nallowed && !allowed; i++)
    allowed = c->allowed[i] == uid;
  char *cmd = w.n ? w.v[0] : "";
  char *at = strchr(cmd, '@');
  if (at && cmd[0] == '/') *at = 0;
  if (!allowed) {
    fprintf(o.f, "Sorry, this bot is private.");
    if (!strcmp(cmd, "/add_exchange")) *out_delete = 1;
  } else if (!strcmp(cmd, "/start")) {
    cmd_start(c, uid, user_name, o.f);
  } else if (!strcmp(cmd, "/help")) {
    fputs(HELP, o.f);
  } else if (!strcmp(cmd, "/add_exchange")) {
    *out_delete = 1;
    cmd_add_exchange(c, uid, &w, o.f);
  } else if (!strcmp(cmd, "/add_pair")) {
    cmd_add_pair(c, uid, &w, o.f);
  } else if (!strcmp(cmd, "/create_agent")) {
    cmd_create_agent(c, uid, &w, o.f);
  } else if (!strcmp(cmd, "/assign_agent")) {
    cmd_assign(c, uid, &w, o.f);
  } else if (!strcmp(cmd, "/start_agent")) {
    cmd_start_agent(c, uid, &w, o.f);
  } else if (!strcmp(cmd, "/stop_agent")) {
    cmd_stop_agent(c, uid, &w, o.f);
  } else if (!strcmp(cmd, "/agents")) {
    cmd_agents(c, uid, o.f);
  } else if (!strcmp(cmd, "/status")) {
    cmd_status(c, uid, &w, o.f);
  } else if (!strcmp(cmd, "/profit")) {
    cmd_profit(c, uid, o.f);
  } else {
    fprintf(o.f, "Unknown command. /help lists them.");
  }
  free(w.buf);
  *out_reply = out_close(&o);
  return *out_reply ? 0 : AREC_ENOMEM;
}

int arec_tg_parse_users(const char *s, long long **out, size_t *out_n) {
  *out = NULL;
  *out_n = 0;
  if (!s) return 0;
  size_t cap = 1;
  for (const char *p = s; *p; p++) cap += *p == ',';
  long long *v = calloc(cap, sizeof *v);
  if (!v) return -1;
  size_t n = 0;
  const char *p = s;
  while (*p) {
    while (*p == ' ' || *p == ',') p++;
    if (!*p) break;
    char *e;
    long long x = strtoll(p, &e, 10);
    if (e == p || x <= 0) {
      free(v);
      return -1;
    }
    v[n++] = x;
    p = e;
    while (*p == ' ') p++;
    if (*p && *p != ',') {
      free(v);
      return -1;
    }
  }
  *out = v;
  *out_n = n;
  return 0;
}
