/*
 * commands.c -- the bot's command table, its HELP text and the dispatcher
 * (see commands.h); the handlers are in handlers.c.
 *
 * How: the text is split into words (double quotes, straight or curly,
 * group a name), "/cmd@botname" is accepted, the command is looked up in
 * the table, a user outside TELEGRAM_ALLOWED_USERS is refused, a command
 * flagged SECRET has its message deleted first (whatever follows), the
 * argument counts are checked against the table (the usage line
 * otherwise), then the handler writes the reply into a memory stream.
 * Service outcomes become sentences in arec_tg_say_result.
 *
 * Never: echo, log or keep a SECRET command's arguments; claim a message
 * was deleted when deleteMessage did not say so; reach the host other than
 * through host/service.h.
 */
#include "telegram/commands.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------------- the table */
static const arec_tg_cmd TABLE[] = {
    {"/start", "/start", "register (or update your name)", arec_tg_cmd_start,
     0, 0, 0},
    {"/help", "/help", "this text", arec_tg_cmd_help, 0, 0, 8},
    {"/add_exchange", "/add_exchange <exchange> <api_key> <api_secret> [testnet]",
     "store exchange keys, encrypted (your message is deleted)",
     arec_tg_cmd_add_exchange, AREC_TG_CMD_SECRET, 3, 4},
    {"/exchanges", "/exchanges",
     "the supported exchanges and your exchange accounts",
     arec_tg_cmd_exchanges, 0, 0, 0},
    {"/remove_exchange", "/remove_exchange <account id>",
     "remove an exchange account and its pairs (not while an agent uses it)",
     arec_tg_cmd_remove_exchange, 0, 1, 1},
    {"/add_pair", "/add_pair <symbol>",
     "a trading pair on your newest exchange account, e.g. BTC/USDT",
     arec_tg_cmd_add_pair, 0, 1, 1},
    {"/create_agent", "/create_agent <strategy> \"<name>\" [paper|live]",
     "a new agent (strategies: /create_agent lists them)",
     arec_tg_cmd_create_agent, 0, 0, 3},
    {"/assign_agent", "/assign_agent <id> <symbol> <budget>",
     "let an agent trade a pair of yours with a budget", arec_tg_cmd_assign,
     0, 3, 3},
    {"/assign", "/assign <id> <symbol> <budget>", "the same as /assign_agent",
     arec_tg_cmd_assign, 0, 3, 3},
    {"/unassign", "/unassign <id> <symbol>",
     "take a symbol away from a stopped agent", arec_tg_cmd_unassign, 0, 2,
     2},
    {"/start_agent", "/start_agent <id>", "start an agent", arec_tg_cmd_start_agent,
     0, 1, 1},
    {"/stop_agent", "/stop_agent <id>", "stop an agent (closes its positions)",
     arec_tg_cmd_stop_agent, 0, 1, 1},
    {"/stop_all", "/stop_all", "stop all your agents (closes their positions)",
     arec_tg_cmd_stop_all, 0, 0, 0},
    {"/delete_agent", "/delete_agent <id>",
     "stop an agent, close its positions and delete it (its history stays)",
     arec_tg_cmd_delete_agent, 0, 1, 1},
    {"/agents", "/agents", "your agents and where they run", arec_tg_cmd_agents,
     0, 0, 0},
    {"/status", "/status <id>",
     "where an agent runs, its positions, PnL and failed starts",
     arec_tg_cmd_status, 0, 1, 1},
    {"/profit", "/profit", "realised and open PnL of all your agents",
     arec_tg_cmd_profit, 0, 0, 0},
    {"/balance", "/balance", "cash and positions per agent, and the total",
     arec_tg_cmd_balance, 0, 0, 0},
    {"/trades", "/trades [N]", "your last N fills (default 10, at most 50)",
     arec_tg_cmd_trades, 0, 0, 1},
    {"/daily", "/daily [days]",
     "realised PnL per UTC day (default 7 days, at most 90)",
     arec_tg_cmd_daily, 0, 0, 1},
    {"/performance", "/performance", "realised and open PnL per symbol",
     arec_tg_cmd_performance, 0, 0, 0},
};

#define NCMDS (sizeof TABLE / sizeof TABLE[0])

const arec_tg_cmd *arec_tg_commands(size_t *out_n) {
  if (out_n) *out_n = NCMDS;
  return TABLE;
}

static pthread_once_t help_once = PTHREAD_ONCE_INIT;
static char *help_text;

static void help_build(void) {
  size_t cap = 32;
  for (size_t i = 0; i < NCMDS; i++)
    cap += strlen(TABLE[i].usage) + strlen(TABLE[i].summary) + 4;
  help_text = malloc(cap);
  if (!help_text) return;
  size_t n = (size_t)snprintf(help_text, cap, "Commands:\n");
  for (size_t i = 0; i < NCMDS; i++)
    n += (size_t)snprintf(help_text + n, cap - n, "%s - %s\n", TABLE[i].usage,
                          TABLE[i].summary);
}

const char *arec_tg_help(void) {
  pthread_once(&help_once, help_build);
  return help_text ? help_text : "Commands: /help\n";
}

/* ------------------------------------------------------------------ words */
static int is_quote(const char *p, size_t *len) {
  if (*p == '"') return (*len = 1), 1;
  if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
      ((unsigned char)p[2] == 0x9C || (unsigned char)p[2] == 0x9D))
    return (*len = 3), 1;
  return 0;
}

/* Splits in place into a->v; quotes group words.  0 or AREC_ENOMEM. */
static int split(arec_tg_args *a, const char *text) {
  memset(a, 0, sizeof *a);
  a->buf = strdup(text);
  if (!a->buf) return AREC_ENOMEM;
  char *p = a->buf;
  for (;;) {
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) break;
    size_t ql;
    char *start, *end;
    if (is_quote(p, &ql)) {
      start = p + ql;
      end = start;
      size_t cl = 0;
      while (*end && !is_quote(end, &cl)) end++;
      p = *end ? end + cl : end;
    } else {
      start = p;
      while (*p && !isspace((unsigned char)*p)) p++;
      end = p;
      if (*p) p++;
    }
    char save = *end;
    *end = 0;
    if (a->n == AREC_TG_MAX_ARGS) a->too_many = 1;
    else a->v[a->n++] = start;
    if (!save) break;
  }
  return 0;
}

/* ---------------------------------------------------------------- results */
void arec_tg_say_result(FILE *f, const char *what, const arec_svc_result *r) {
  const char *m = r->message[0] ? r->message : NULL;
  switch (r->status) {
  case 400:
    if (r->field[0])
      fprintf(f, "Invalid %s%s%s.", r->field, m ? ": " : "", m ? m : "");
    else
      fprintf(f, "Invalid input%s%s.", m ? ": " : "", m ? m : "");
    break;
  case 403:
    fprintf(f, "Not allowed%s%s.", m ? ": " : "", m ? m : "");
    break;
  case 404:
    fprintf(f, "%s not found.", what);
    break;
  case 409:
    fprintf(f, "%s: not possible right now%s%s.", what, m ? ": " : "",
            m ? m : "");
    break;
  case 422:
    fprintf(f, "%s: refused: %s.", what, m ? m : "no reason given");
    break;
  case 503:
    if (m)
      fprintf(f, "Temporarily unavailable: %s. Please try again later.", m);
    else
      fprintf(f, "Temporarily unavailable, please try again later (request "
                 "%s).", r->request_id[0] ? r->request_id : "-");
    break;
  case 500:
    if (m)
      fprintf(f, "Something went wrong on our side: %s.", m);
    else
      fprintf(f, "Something went wrong on our side (request %s).",
              r->request_id[0] ? r->request_id : "-");
    break;
  default:
    fprintf(f, "%s: unexpected outcome %d%s%s.", what, r->status, m ? ": " : "",
            m ? m : "");
  }
}

/* ---------------------------------------------------------------- dispatch */
static const arec_tg_cmd *lookup(const char *name) {
  for (size_t i = 0; i < NCMDS; i++)
    if (!strcmp(TABLE[i].name, name)) return &TABLE[i];
  return NULL;
}

static int allowed(const arec_tg_cmd_ctx *c) {
  if (!c->nallowed) return 1;
  for (size_t i = 0; i < c->nallowed; i++)
    if (c->allowed[i] == c->user_id) return 1;
  return 0;
}

static void secret_note(FILE *f, int deleted) {
  if (deleted)
    fprintf(f, "\nYour message with the keys was deleted.");
  else
    fprintf(f, "\nI could NOT delete your message with the keys: delete it "
               "yourself now and rotate these API keys at the exchange "
               "(create new ones, revoke these).");
}

int arec_tg_command(const arec_tg_cmd_ctx *c, const char *text,
                    char **out_reply) {
  *out_reply = NULL;
  arec_tg_args a;
  if (split(&a, text ? text : "")) return AREC_ENOMEM;
  char *p = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&p, &n);
  if (!f) {
    free(a.buf);
    return AREC_ENOMEM;
  }
  char *name = a.n ? a.v[0] : "";
  char *at = strchr(name, '@');
  if (at) *at = 0;
  const arec_tg_cmd *cmd = lookup(name);
  if (cmd && (cmd->flags & AREC_TG_CMD_SECRET))
    a.deleted = c->delete_message && c->delete_message(c->delete_ud) == 0;
  int nargs = a.n - 1;
  if (!allowed(c)) {
    fprintf(f, "Sorry, this bot is private.");
  } else if (!cmd) {
    fprintf(f, "Unknown command. /help lists them.");
  } else if (a.too_many || nargs < cmd->min_args || nargs > cmd->max_args) {
    fprintf(f, "Usage: %s", cmd->usage);
  } else {
    cmd->fn(c, &a, f);
  }
  if (cmd && (cmd->flags & AREC_TG_CMD_SECRET)) secret_note(f, a.deleted);
  free(a.buf);
  if (fclose(f) != 0 || !p) {
    free(p);
    return AREC_ENOMEM;
  }
  if (!*p) {
    free(p);
    p = strdup("Done.");
    if (!p) return AREC_ENOMEM;
  }
  *out_reply = p;
  return 0;
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
