/*
 * fuzz_bot.c -- fuzz target of the Telegram bot's update handling: the
 * input bytes are a getUpdates answer body; it goes through the Bot API
 * answer parser (arec_tg_answer_parse) and, update by update, through
 * arec_tg_handle_update -- classification, range checks, the private-chat
 * rule, the fenced offset port, the command table and its handlers -- as in
 * the poller.  The service (host/service.h) is replaced by a recording test
 * double of that interface defined below (the real one needs PostgreSQL);
 * the ports (offset, deleteMessage, reply) record too.
 *
 * Checked beyond "no crash, no leak, no UB" (each violation abort()s):
 *  - the handler stores the offset for exactly the updates an independent
 *    reading of the JSON says it must (valid update_id >= the offset, in
 *    order), before touching anything else for that update;
 *  - after an offset write that failed (fenced, lost, unavailable) nothing
 *    more happens for that update;
 *  - the service is called only for a private chat's sender (independent
 *    reading: chat.type "private", no sender_chat, from.id a person, ids in
 *    range, chat.id == from.id), always as {AREC_ACTOR_TELEGRAM, that id},
 *    and only for users of the allowlist (odd-sized inputs run with one);
 *  - a non-private chat gets at most one reply per input, the private-chat
 *    request, and never a service call;
 *  - /add_exchange's keys are passed only after deleteMessage was tried for
 *    that very message, and never come back in a reply.
 * FUZZ_VERBOSE=1 prints every reply.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "service.h"
#include "telegram/commands.h"
#include "telegram/tg_api.h"
#include "telegram/update.h"

static int g_verbose;

static void die(const char *what) {
  fprintf(stderr, "fuzz_bot: %s\n", what);
  abort();
}

/* --------------------------------------------- the independent reading */
static int num(const cJSON *v, long long *out) {
  if (!v || !cJSON_IsNumber(v)) return 0;
  double d = v->valuedouble;
  if (d != d || d > 9007199254740992.0 || d < -9007199254740992.0) return 0;
  if ((double)(long long)d != d) return 0;
  *out = (long long)d;
  return 1;
}

static const cJSON *get(const cJSON *o, const char *k) {
  return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* The private sender of an update, or 0. */
static long long private_sender(const cJSON *u) {
  const cJSON *m = get(u, "message"), *from = get(m, "from"), *chat = get(m, "chat");
  long long fid, cid, mid;
  if (!cJSON_IsObject(m) || !num(get(from, "id"), &fid) ||
      !num(get(chat, "id"), &cid) || !num(get(m, "message_id"), &mid))
    return 0;
  const cJSON *type = get(chat, "type");
  if (!cJSON_IsString(type) || strcmp(type->valuestring, "private")) return 0;
  if (get(m, "sender_chat") || cJSON_IsTrue(get(from, "is_bot"))) return 0;
  if (fid == 1087968824LL || fid == 136817688LL || fid == 777000LL) return 0;
  if (fid <= 0 || fid != cid) return 0;
  return fid;
}

/* ------------------------------------------------------ the recordings */
#define MAX_CHATS 64

typedef struct state {
  const cJSON *arr;     /* the answer's result */
  const cJSON *cursor;  /* the next element the handler may store */
  long long moff;       /* the mirrored offset */
  const cJSON *cur;     /* the update being handled (NULL: none) */
  long long user;       /* its private sender (0: none) */
  long long message_id;
  int dead;             /* its offset write failed: nothing may happen */
  int delete_tried;
  char secrets[2][4096];
  int allowlist;        /* 1: only 42 and 4242 may use the bot */
  long long replied[MAX_CHATS];
  size_t nreplied;
} state;

static state g;

static void expect_call(const arec_svc_actor *who) {
  if (!g.cur || g.dead) die("service called outside an update's handling");
  if (!g.user) die("service called for a non-private update");
  if (!who || who->kind != AREC_ACTOR_TELEGRAM || who->user_id != g.user)
    die("service called with the wrong actor");
  if (g.allowlist && g.user != 42 && g.user != 4242)
    die("service called for a user outside the allowlist");
}

static int port_offset(void *ud, long long off) {
  (void)ud;
  /* the next element the handler must store: valid id >= moff */
  const cJSON *e = g.cursor;
  long long id = -1;
  for (; e; e = e->next)
    if (num(get(e, "update_id"), &id) && id >= 0 && id >= g.moff) break;
  if (!e || off != id + 1) die("offset stored for an unexpected update");
  g.cursor = e->next;
  g.cur = e;
  g.user = private_sender(e);
  g.message_id = 0;
  num(get(get(e, "message"), "message_id"), &g.message_id);
  g.delete_tried = 0;
  g.secrets[0][0] = g.secrets[1][0] = 0;
  g.dead = 0;
  int rc = 0;
  if (off % 97 == 13) rc = AREC_EFENCED;
  else if (off % 89 == 7) rc = AREC_EUNAVAILABLE;
  else if (off % 83 == 5) rc = AREC_ELOST;
  if (rc) g.dead = 1;
  else g.moff = off;
  return rc;
}

static int port_delete(void *ud, long long chat, long long mid) {
  (void)ud;
  if (!g.cur || g.dead || !g.user) die("deleteMessage outside a private update");
  if (chat != g.user || mid != g.message_id) die("deleteMessage of another message");
  g.delete_tried = 1;
  return (mid & 1) ? AREC_EBACKEND : 0;
}

static void port_reply(void *ud, long long chat, const char *text) {
  (void)ud;
  if (!g.cur || g.dead) die("reply outside an update's handling");
  if (!text || !*text) die("empty reply");
  if (g_verbose) fprintf(stderr, "-> %lld: %s\n", chat, text);
  if (g.user) {
    if (chat != g.user) die("reply to another chat than the sender's");
  } else {
    if (strcmp(text, AREC_TG_PRIVATE_ONLY)) die("a non-private chat got more");
    for (size_t i = 0; i < g.nreplied; i++)
      if (g.replied[i] == chat) die("a non-private chat got two replies");
    if (g.nreplied < MAX_CHATS) g.replied[g.nreplied++] = chat;
  }
  for (int i = 0; i < 2; i++)
    if (g.secrets[i][0] && strstr(text, g.secrets[i])) die("a key came back in a reply");
}

/* ------------------------------------------ the double of host/service.h */
static unsigned hash(const char *s) {
  unsigned h = 2166136261u;
  for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static const int STATUSES[] = {200, 201, 202, 400, 403, 404, 409, 422, 500, 503};

static int outcome(const char *key, arec_svc_result *r, int ok_status) {
  memset(r, 0, sizeof *r);
  unsigned h = hash(key);
  int st = STATUSES[h % (sizeof STATUSES / sizeof STATUSES[0])];
  if (st == 200 || st == 201) st = ok_status;
  r->status = st;
  static const char *fields[] = {"name", "strategy", "symbol", "budget", "exchange", ""};
  if (st == 400) snprintf(r->field, sizeof r->field, "%s", fields[(h >> 8) % 6]);
  static const char *msgs[] = {"lock service unavailable: starts when it returns",
                               "another pod runs it", "no symbols", "", "refused by type"};
  snprintf(r->message, sizeof r->message, "%s", msgs[(h >> 12) % 5]);
  if (st >= 500) snprintf(r->request_id, sizeof r->request_id, "rq-%u", h % 1000);
  return st < 300 ? 0 : AREC_EINVAL;
}

int arec_svc_user_upsert(arec_svc *svc, const arec_svc_actor *who,
                         long long user_id, const char *name,
                         arec_svc_result *res) {
  (void)svc;
  expect_call(who);
  if (user_id != who->user_id || !name) die("user_upsert for another user");
  return outcome(name, res, 200);
}

int arec_svc_exchange_add(arec_svc *svc, const arec_svc_actor *who,
                          long long user_id, const char *exchange,
                          const char *api_key, const char *api_secret,
                          int testnet, long long *out_id,
                          arec_svc_result *res) {
  (void)svc, (void)testnet;
  expect_call(who);
  if (!g.delete_tried) die("keys handled before deleteMessage was tried");
  if (user_id != who->user_id) die("exchange_add for another user");
  /* a key is checked for when it cannot come from the reply's own words */
  const char *keys[2] = {api_key, api_secret};
  for (int i = 0; i < 2; i++) {
    size_t n = strlen(keys[i]);
    int up = 0, lo = 0, dig = 0;
    for (size_t k = 0; k < n; k++) {
      up |= keys[i][k] >= 'A' && keys[i][k] <= 'Z';
      lo |= keys[i][k] >= 'a' && keys[i][k] <= 'z';
      dig |= keys[i][k] >= '0' && keys[i][k] <= '9';
    }
    if (n >= 12 && n < sizeof g.secrets[i] && up && lo && dig &&
        !strstr(exchange, keys[i]))
      snprintf(g.secrets[i], sizeof g.secrets[i], "%s", keys[i]);
  }
  *out_id = 7;
  return outcome(exchange, res, 201);
}

const char *const *arec_svc_exchanges(void) {
  static const char *const ex[] = {"binance", NULL};
  return ex;
}

int arec_svc_pair_add(arec_svc *svc, const arec_svc_actor *who,
                      long long user_id, long long exchange_id,
                      const char *symbol, long long *out_id,
                      arec_svc_result *res) {
  (void)svc, (void)exchange_id;
  expect_call(who);
  if (user_id != who->user_id) die("pair_add for another user");
  *out_id = 9;
  return outcome(symbol, res, 201);
}

int arec_svc_strategies(arec_svc *svc, char ***out, size_t *out_n) {
  (void)svc;
  if (!g.cur || g.dead || !g.user) die("strategies asked outside a private update");
  *out = calloc(2, sizeof **out);
  if (!*out) return AREC_ENOMEM;
  (*out)[0] = strdup("noop");
  (*out)[1] = strdup("conservative");
  *out_n = 2;
  return 0;
}

int arec_svc_agent_create(arec_svc *svc, const arec_svc_actor *who,
                          const arec_svc_agent_new *spec, char *out_id,
                          size_t out_len, arec_svc_result *res) {
  (void)svc;
  expect_call(who);
  if (spec->user_id != who->user_id) die("agent_create for another user");
  int rc = outcome(spec->name, res, 201);
  if (!rc) snprintf(out_id, out_len, "fz%u", hash(spec->name) % 100000);
  return rc;
}

int arec_svc_agent_assign(arec_svc *svc, const arec_svc_actor *who,
                          const char *agent_id, const char *symbol,
                          double budget, arec_svc_result *res) {
  (void)svc, (void)symbol;
  expect_call(who);
  if (!isfinite(budget)) die("a budget that is not a number reached the service");
  return outcome(agent_id, res, 200);
}

int arec_svc_agent_start(arec_svc *svc, const arec_svc_actor *who,
                         const char *agent_id, char *out_pod, size_t out_len,
                         arec_svc_result *res) {
  (void)svc;
  expect_call(who);
  int rc = outcome(agent_id, res, 200);
  if (hash(agent_id) & 16) snprintf(out_pod, out_len, "pod-%u", hash(agent_id) % 7);
  return rc;
}

int arec_svc_agent_stop(arec_svc *svc, const arec_svc_actor *who,
                        const char *agent_id, arec_svc_result *res) {
  (void)svc;
  expect_call(who);
  return outcome(agent_id, res, 200);
}

static char *dup_or_null(const char *s, int null) { return null ? NULL : strdup(s); }

static void fill(arec_agent_record *a, const char *id, unsigned h) {
  static const char *mems[] = {
      ("{\"position\":0.5,\"avg_entry\":100,\"realized_pnl\":3.5,"
       "\"trades\":4,\"prices\":[99,101.5]}"),
      "{}", "{", "[1,2]", "{\"prices\":\"x\",\"position\":\"y\"}"};
  a->id = strdup(id);
  a->user_id = g.user;
  a->strategy = strdup("noop");
  a->name = dup_or_null((h & 4) ? "A name with spaces and ünïcödé" : "n", h & 64);
  a->is_active = (int)(h & 1);
  a->is_trading = (int)((h >> 1) & 1);
  a->running_on = dup_or_null("pod-x", h & 8);
  a->start_failures = (h >> 4) & 3;
  a->last_error = dup_or_null("exchange said no", h & 32);
  a->retry_at_ms = (h & 128) ? 1700000000000LL + h : 0;
  a->nsymbols = (h >> 9) % 3;
  a->symbols = a->nsymbols ? calloc(a->nsymbols, sizeof *a->symbols) : NULL;
  if (!a->symbols) a->nsymbols = 0;
  for (size_t j = 0; j < a->nsymbols; j++) {
    a->symbols[j].symbol = strdup(j ? "ETH/USDT" : "BTC/USDT");
    a->symbols[j].budget = 100;
    a->symbols[j].balance = 90.5;
    a->symbols[j].memory = strdup(mems[(h >> (11 + j)) % 5]);
  }
}

int arec_svc_agent_get(arec_svc *svc, const arec_svc_actor *who,
                       const char *agent_id, arec_agent_record **out,
                       arec_svc_result *res) {
  (void)svc;
  expect_call(who);
  *out = NULL;
  int rc = outcome(agent_id, res, 200);
  if (rc) return rc;
  *out = calloc(1, sizeof **out);
  if (!*out) return AREC_ENOMEM;
  fill(*out, agent_id, hash(agent_id));
  return 0;
}

int arec_svc_agent_list(arec_svc *svc, const arec_svc_actor *who,
                        const arec_agent_filter *filter,
                        arec_agent_record **out, size_t *out_n,
                        arec_svc_result *res) {
  (void)svc;
  expect_call(who);
  if (filter && filter->user_id != who->user_id) die("list of another user");
  *out = NULL;
  *out_n = 0;
  char key[96];
  snprintf(key, sizeof key, "list-%lld-%s", g.user,
           filter && filter->after ? filter->after : "");
  int rc = outcome(key, res, 200);
  if (rc) return rc;
  size_t n = filter && filter->after ? hash(key) % 3 : (hash(key) % 4 ? 3 : 100);
  *out = calloc(n, sizeof **out);
  if (!*out) return AREC_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof id, "ag%02zu-%s", i, filter && filter->after ? "b" : "a");
    fill(&(*out)[i], id, hash(id));
  }
  *out_n = n;
  return 0;
}

/* The controls and the trader reports (handlers_admin.c, handlers_trader.c):
 * always the sender's own user, rows of fixed text. */
int arec_svc_agent_is_live(const arec_agent_record *a) {
  return a && a->params && strstr(a->params, "\"live\"") != NULL;
}

int arec_svc_agent_unassign(arec_svc *svc, const arec_svc_actor *who,
                            const char *agent_id, const char *symbol,
                            arec_svc_result *res) {
  (void)svc, (void)symbol;
  expect_call(who);
  return outcome(agent_id, res, 200);
}

int arec_svc_agent_delete(arec_svc *svc, const arec_svc_actor *who,
                          const char *agent_id, arec_svc_result *res) {
  (void)svc;
  expect_call(who);
  return outcome(agent_id, res, 200);
}

int arec_svc_stop_all(arec_svc *svc, const arec_svc_actor *who,
                      long long user_id, size_t *out_n,
                      arec_svc_result *res) {
  (void)svc;
  expect_call(who);
  if (user_id != who->user_id) die("stop_all for another user");
  *out_n = hash("stop_all") % 3;
  return outcome("stop_all", res, 200);
}

int arec_svc_exchange_remove(arec_svc *svc, const arec_svc_actor *who,
                             long long user_id, long long exchange_id,
                             arec_svc_result *res) {
  (void)svc;
  expect_call(who);
  if (user_id != who->user_id) die("exchange_remove for another user");
  char key[32];
  snprintf(key, sizeof key, "rm-%lld", exchange_id);
  return outcome(key, res, 200);
}

/* calloc'd rows (n may be 0) with the user checked: 0, or the outcome. */
static int rows(const arec_svc_actor *who, long long user_id, const char *key,
                size_t size, void **out, size_t *out_n,
                arec_svc_result *res) {
  expect_call(who);
  if (user_id != who->user_id) die("a report of another user");
  *out = NULL;
  *out_n = 0;
  int rc = outcome(key, res, 200);
  if (rc) return rc;
  size_t n = hash(key) % 4;
  if (!(*out = calloc(n ? n : 1, size))) return AREC_ENOMEM;
  *out_n = n;
  return 0;
}

int arec_svc_exchange_list(arec_svc *svc, const arec_svc_actor *who,
                           long long user_id, arec_host_exchange **out,
                           size_t *out_n, arec_svc_result *res) {
  (void)svc;
  int rc = rows(who, user_id, "exchanges", sizeof **out, (void **)out, out_n,
                res);
  for (size_t i = 0; !rc && i < *out_n; i++) {
    (*out)[i].id = (long long)i + 1;
    snprintf((*out)[i].exchange, sizeof (*out)[i].exchange, "binance");
  }
  return rc;
}

int arec_svc_balance_list(arec_svc *svc, const arec_svc_actor *who,
                          long long user_id, arec_svc_balance **out,
                          size_t *out_n, arec_svc_result *res) {
  (void)svc;
  int rc = rows(who, user_id, "balance", sizeof **out, (void **)out, out_n,
                res);
  for (size_t i = 0; !rc && i < *out_n; i++) {
    snprintf((*out)[i].agent_id, sizeof (*out)[i].agent_id, "ag%zu", i);
    snprintf((*out)[i].quote, sizeof (*out)[i].quote, i & 1 ? "BTC" : "USDT");
    (*out)[i].cash = 10.5 * (double)i;
  }
  return rc;
}

int arec_svc_trades(arec_svc *svc, const arec_svc_actor *who,
                    long long user_id, unsigned int limit,
                    arec_svc_fill **out, size_t *out_n,
                    arec_svc_result *res) {
  (void)svc;
  if (limit < 1 || limit > 200) die("a trades limit out of range");
  int rc = rows(who, user_id, "trades", sizeof **out, (void **)out, out_n,
                res);
  for (size_t i = 0; !rc && i < *out_n; i++) {
    (*out)[i].t_ms = 1700000000000LL + (long long)i;
    snprintf((*out)[i].side, sizeof (*out)[i].side, "BUY");
  }
  return rc;
}

int arec_svc_daily(arec_svc *svc, const arec_svc_actor *who,
                   long long user_id, unsigned int days, arec_svc_day **out,
                   size_t *out_n, arec_svc_result *res) {
  (void)svc;
  if (days < 1 || days > 90) die("a days count out of range");
  return rows(who, user_id, "daily", sizeof **out, (void **)out, out_n, res);
}

int arec_svc_performance(arec_svc *svc, const arec_svc_actor *who,
                         long long user_id, arec_svc_perf **out,
                         size_t *out_n, arec_svc_result *res) {
  (void)svc;
  return rows(who, user_id, "performance", sizeof **out, (void **)out, out_n,
              res);
}

/* ---------------------------------------------------------- the target */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  g_verbose = getenv("FUZZ_VERBOSE") != NULL;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  arec_tg_answer a;
  if (arec_tg_answer_parse((const char *)data, size, 200, &a) != 0) return 0;
  static arec_tg_chatset told;
  memset(&told, 0, sizeof told);
  memset(&g, 0, sizeof g);
  static const long long allowed[] = {42, 4242};
  g.allowlist = (int)(size & 1);
  arec_tg_handler h = {{NULL, port_offset, port_delete, port_reply},
                       NULL, "pod-fz", g.allowlist ? allowed : NULL,
                       g.allowlist ? 2 : 0, &told, 0, NULL, NULL};
  if (a.ok && cJSON_IsArray(a.result)) {
    g.arr = a.result;
    g.cursor = a.result->child;
    const cJSON *u;
    int stopped = 0;
    cJSON_ArrayForEach(u, a.result) {
      stopped = 1;
      int rc = arec_tg_handle_update(&h, u);
      if (rc != 0 && !g.dead && rc != AREC_ENOMEM)
        die("an error without a failed offset write");
      if (rc == AREC_EFENCED || rc == AREC_ELOST) break; /* the poller stops */
      if (rc) { /* not stored: the poller polls again from the same offset */
        g.cursor = g.cur;
        g.dead = 0;
        break;
      }
      g.cur = NULL;
      stopped = 0;
    }
    long long id;
    for (const cJSON *e = g.cursor; !stopped && e; e = e->next)
      if (num(get(e, "update_id"), &id) && id >= 0 && id >= g.moff)
        die("an update was neither handled nor skipped as handled before");
    /* the next element the handler should have stored must be after it */
    if (h.offset != g.moff) die("the handler's offset differs");
  } else if (a.ok) {
    if (arec_tg_handle_updates(&h, a.result) != 0) die("a non-list result failed");
  }
  cJSON_Delete(a.result);
  return 0;
}
