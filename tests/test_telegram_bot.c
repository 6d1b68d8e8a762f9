/*
 * test_telegram_bot.c -- the Telegram bot as its users meet it, against
 * the fake Bot API, the real service (host/service.h) and real PostgreSQL
 * and Redis: the flow by chat messages (register, keys deleted, pair,
 * create, assign, start, agents, status with failed starts, profit, stop
 * notified), another user's agent "not found", HELP from the table, the
 * private-chat rule (groups, supergroups, channels, sender_chat, anonymous
 * admins change nothing and get at most one reply per chat), keys whose
 * message could not be deleted (the reply says so and says rotate), a 429
 * honoured (the message is delivered after retry_after), out-of-range
 * numbers skipped, the allowlist and its WARN, notifications told once per
 * backoff.
 */
#include "test_telegram_fixture.h"
#include "support/runner.h"

#define U1 111
#define U2 222

/* An agent type whose start fails for now ("flaky") or for good
 * ("picky"), to see backoff and refusals through the bot. */
static int flaky_start(void **st, arec_agent *a, const arec_agent_info *i,
                       void *ud) {
  (void)st, (void)a, (void)i;
  arec_error_set("%s", (const char *)ud);
  return strstr(ud, "never") ? AREC_EINVAL : AREC_EUNAVAILABLE;
}
static int no_step(void *s, arec_agent *a, int64_t *d, void *ud) {
  (void)s, (void)a, (void)ud;
  *d = 1000;
  return 0;
}
static int no_snap(void *s, arec_agent *a, arec_snapshot *sn, void *ud) {
  (void)s, (void)a, (void)sn, (void)ud;
  return 0;
}
static void no_stop(void *s, arec_agent *a, arec_stop_reason r, void *ud) {
  (void)s, (void)a, (void)r, (void)ud;
}

static void register_failing(fix *f) {
  arec_agent_type t = AREC_AGENT_TYPE_INIT;
  t.start = flaky_start;
  t.step = no_step;
  t.snapshot = no_snap;
  t.stop = no_stop;
  t.name = "flaky";
  t.userdata = "exchange not reachable";
  ck_assert_int_eq(arec_manager_register_type(f->mgr, &t), 0);
  t.name = "picky";
  t.userdata = "never on weekends";
  ck_assert_int_eq(arec_manager_register_type(f->mgr, &t), 0);
}

static void id_of(const char *reply, char *id) {
  const char *p = strstr(reply, "id=");
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(sscanf(p + 3, "%64[A-Za-z0-9_-]", id), 1);
}

/* ---------------------------------------------------------------- flow */
START_TEST(flow_by_chat) {
  fix f;
  fix_init(&f, "pod-a", NULL);
  register_failing(&f);
  arec_tg_bot *b = bot_on(&f, "pod-a", NULL);
  atomic_store(&g_tap, b);
  char r[8192], id[72], cmd[256];
  ask(&f, U1, "/start", "Welcome", NULL, 0);
  size_t mark = arec_ftg_mark(f.tg);
  long long up = arec_ftg_say(f.tg, U1, "/add_exchange binance APIKEY-xyz1 SECRET-abc1 testnet");
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "added", WAIT, r, sizeof r));
  ck_assert_ptr_nonnull(strstr(r, "was deleted"));
  ck_assert_ptr_null(strstr(r, "APIKEY-xyz1"));
  ck_assert_ptr_null(strstr(r, "SECRET-abc1"));
  ck_assert(arec_ftg_deleted(f.tg, U1, up + 1000));
  ask(&f, U1, "/add_pair BTC/USDT", "Pair BTC/USDT added", NULL, 0);
  ask(&f, U1, "/create_agent noop \"My Agent\"", "id=", r, sizeof r);
  id_of(r, id);
  snprintf(cmd, sizeof cmd, "/assign_agent %s BTC/USDT 500", id);
  ask(&f, U1, cmd, "500.00", NULL, 0);
  snprintf(cmd, sizeof cmd, "/start_agent %s", id);
  ask(&f, U1, cmd, "started on pod pod-a", NULL, 0);
  ask(&f, U1, "/agents", id, r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "My Agent"));
  snprintf(cmd, sizeof cmd, "/status %s", id);
  ask(&f, U1, cmd, "Runs on: pod-a", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "BTC/USDT: balance"));
  ck_assert_ptr_null(strstr(r, "Failed starts"));
  ask(&f, U1, "/profit", "Profit over 1 agent", NULL, 0);
  /* names go through the service's validation: 400 names the field */
  char longname[400];
  memset(longname, 'n', 201);
  longname[201] = 0;
  snprintf(r, sizeof r, "/create_agent noop \"%s\"", longname);
  ask(&f, U1, r, "Invalid name", NULL, 0);
  ask(&f, U1, "/create_agent nosuch \"X\"", "Invalid strategy", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "noop"));
  /* another user's agent is not found, and stays as it is */
  ask(&f, U2, "/start", "Welcome", NULL, 0);
  const char *verbs[] = {"/status", "/start_agent", "/stop_agent"};
  for (int i = 0; i < 3; i++) {
    snprintf(cmd, sizeof cmd, "%s %s", verbs[i], id);
    ask(&f, U2, cmd, "not found", NULL, 0);
  }
  ask(&f, U2, "/agents", "no agents", r, sizeof r);
  ck_assert_ptr_null(strstr(r, id));
  arec_agent_record *rec = NULL;
  arec_svc_result res;
  ck_assert_int_eq(arec_svc_agent_get(f.svc, &g_admin, id, &rec, &res), 0);
  ck_assert_int_eq(rec->is_trading, 1);
  arec_agent_records_free(rec, 1);
  /* the exchange down and back: the owner of the running agent hears it */
  mark = arec_ftg_mark(f.tg);
  arec_tg_bot_on_breaker(b, "x", AREC_BREAKER_CLOSED, AREC_BREAKER_OPEN);
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "unavailable", WAIT, NULL, 0));
  arec_tg_bot_on_breaker(b, "x", AREC_BREAKER_HALF_OPEN, AREC_BREAKER_CLOSED);
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "answers again", WAIT, NULL, 0));
  ck_assert_int_eq(arec_ftg_count(f.tg, U2, mark, NULL), 0);
  /* live trades notify, paper ones do not */
  arec_tg_bot_on_trade(b, id, "BTC/USDT", "BUY", 0.5, 100, 0);
  arec_tg_bot_on_trade(b, id, "BTC/USDT", "SELL", 0.25, 101, 1);
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "SELL 0.25 BTC/USDT", WAIT, NULL, 0));
  ck_assert_int_eq(arec_ftg_count(f.tg, U1, mark, "BUY 0.5"), 0);
  /* stop: the reply, then the notification once it completed */
  mark = arec_ftg_mark(f.tg);
  snprintf(cmd, sizeof cmd, "/stop_agent %s", id);
  arec_ftg_say(f.tg, U1, cmd);
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "Stopping agent", WAIT, NULL, 0));
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "⏹ Agent", WAIT, r, sizeof r));
  ck_assert_ptr_nonnull(strstr(r, " stopped."));
  /* a start that fails for now: 202, backoff in /status, told once */
  ask(&f, U1, "/create_agent flaky \"Flaky\"", "id=", r, sizeof r);
  id_of(r, id);
  snprintf(cmd, sizeof cmd, "/assign_agent %s BTC/USDT 50", id);
  ask(&f, U1, cmd, "50.00", NULL, 0);
  mark = arec_ftg_mark(f.tg);
  snprintf(cmd, sizeof cmd, "/start_agent %s", id);
  arec_ftg_say(f.tg, U1, cmd); /* the reply and the note, in either order */
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "wish is recorded", WAIT, r, sizeof r));
  ck_assert_ptr_nonnull(strstr(r, "retried"));
  ck_assert(arec_ftg_wait(f.tg, U1, mark, "could not start", WAIT, r, sizeof r));
  ck_assert_ptr_nonnull(strstr(r, "exchange not reachable"));
  snprintf(cmd, sizeof cmd, "/status %s", id);
  ask(&f, U1, cmd, "Failed starts: 1", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "Last error: exchange not reachable"));
  ck_assert_ptr_nonnull(strstr(r, "Next retry: "));
  /* a start refused for good: 422 with the reason, the wish unchanged */
  ask(&f, U1, "/create_agent picky \"Picky\"", "id=", r, sizeof r);
  id_of(r, id);
  snprintf(cmd, sizeof cmd, "/assign_agent %s BTC/USDT 50", id);
  ask(&f, U1, cmd, "50.00", NULL, 0);
  snprintf(cmd, sizeof cmd, "/start_agent %s", id);
  ask(&f, U1, cmd, "refused", r, sizeof r);
  ck_assert_ptr_nonnull(strstr(r, "never on weekends"));
  atomic_store(&g_tap, NULL);
  fix_bot_free(&f, b);
}
END_TEST

/* ----------------------------------------------- backoff told per change */
static void tap(arec_tg_bot *b, arec_log_level l, const char *msg,
                const char *id, const char *failures) {
  arec_log_field fl[3] = {{"agent_id", id, AREC_LOG_STRING},
                          {"error", "exchange down", AREC_LOG_STRING},
                          {"failures", failures, AREC_LOG_NUMBER}};
  arec_tg_bot_log_tap(b, l, msg, fl, 3);
}

START_TEST(backoff_told_once_per_change) {
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-k");
  arec_svc_result res;
  ck_assert_int_eq(arec_svc_user_upsert(f.svc, &g_admin, 333, "c", &res), 0);
  arec_svc_agent_new spec = {NULL, 333, "noop", "K", NULL, NULL};
  char id[72];
  ck_assert_int_eq(arec_svc_agent_create(f.svc, &g_admin, &spec, id, sizeof id, &res), 0);
  size_t mark = arec_ftg_mark(f.tg);
  const char *enter = "agent start failed, backing off";
  tap(b, AREC_LOG_WARN, enter, id, "1");
  tap(b, AREC_LOG_WARN, enter, id, "2");
  tap(b, AREC_LOG_WARN, enter, id, "3");
  tap(b, AREC_LOG_INFO, "agent started after backoff", id, "3");
  /* notes keep their order: when "started" arrived, every retry had its
   * chance to be told */
  ck_assert(arec_ftg_wait(f.tg, 333, mark, "started after 3 failed attempts",
                          WAIT, NULL, 0));
  ck_assert_int_eq(arec_ftg_count(f.tg, 333, mark, "could not start"), 1);
  ck_assert_int_eq(arec_ftg_count(f.tg, 333, mark, NULL), 2);
  /* entering it again later is a new change: told again */
  tap(b, AREC_LOG_WARN, enter, id, "1");
  ck_assert(arec_ftg_wait(f.tg, 333, mark + 2, "could not start", WAIT, NULL, 0));
  fix_bot_free(&f, b);
}
END_TEST

/* ----------------------------------------------------------------- help */
START_TEST(help_lists_every_command) {
  size_t n = 0;
  const arec_tg_cmd *t = arec_tg_commands(&n);
  const char *help = arec_tg_help();
  const char *names[] = {
      "/start",        "/help",        "/add_exchange", "/exchanges",
      "/remove_exchange", "/add_pair", "/create_agent", "/assign_agent",
      "/assign",       "/unassign",    "/start_agent",  "/stop_agent",
      "/stop_all",     "/delete_agent", "/agents",      "/status",
      "/profit",       "/balance",     "/trades",       "/daily",
      "/performance"};
  ck_assert_uint_eq(n, sizeof names / sizeof names[0]);
  for (size_t i = 0; i < n; i++) {
    char line[512];
    snprintf(line, sizeof line, "\n%s - %s\n", t[i].usage, t[i].summary);
    ck_assert_msg(strstr(help, line), "HELP lacks %s", t[i].name);
    ck_assert_str_eq(t[i].name, names[i]);
    ck_assert_ptr_nonnull(t[i].fn);
  }
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-h");
  char r[8192];
  ask(&f, 444, "/help", "Commands:", r, sizeof r);
  ck_assert_str_eq(r, help);
  ask(&f, 444, "/help@SomeBot", "Commands:", NULL, 0);
  ask(&f, 444, "/frobnicate", "Unknown command", NULL, 0);
  ask(&f, 444, "/status", "Usage: /status <id>", NULL, 0);
  ask(&f, 444, "/assign_agent a BTC/USDT lots", "Usage: /assign_agent", NULL, 0);
  /* a sender whose name is only control characters still registers */
  size_t mark = arec_ftg_mark(f.tg);
  arec_ftg_push_raw(f.tg, "{\"update_id\":%lld,\"message\":{\"message_id\":3,"
                          "\"chat\":{\"id\":445,\"type\":\"private\"},\"from\":"
                          "{\"id\":445,\"first_name\":\"\\u0001\\u0002\"},"
                          "\"text\":\"/start\"}}");
  ck_assert(arec_ftg_wait(f.tg, 445, mark, "Welcome", WAIT, NULL, 0));
  char *name = NULL;
  arec_svc_result res;
  ck_assert_int_eq(arec_svc_user_get(f.svc, &g_admin, 445, &name, &res), 0);
  ck_assert_str_eq(name, "user 445");
  free(name);
  fix_bot_free(&f, b);
}
END_TEST

/* -------------------------------------------------------------- privacy */
static void raw(fix *f, const char *chat_type, long long chat, long long from,
                const char *extra, const char *text) {
  char fmt[1024];
  snprintf(fmt, sizeof fmt,
           "{\"update_id\":%%lld,\"message\":{\"message_id\":7,\"date\":1,"
           "\"chat\":{\"id\":%lld,\"type\":\"%s\"},\"from\":{\"id\":%lld,"
           "\"is_bot\":false,\"first_name\":\"G\"}%s,\"text\":\"%s\"}}",
           chat, chat_type, from, extra, text);
  arec_ftg_push_raw(f->tg, fmt);
}

START_TEST(private_chats_only) {
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-p");
  arec_svc_result res;
  ck_assert_int_eq(arec_svc_user_upsert(f.svc, &g_admin, 902, "known", &res), 0);
  size_t mark = arec_ftg_mark(f.tg);
  const char *sc = ",\"sender_chat\":{\"id\":-100300,\"type\":\"channel\"}";
  /* groups and supergroups: two commands each, one reply per chat */
  raw(&f, "group", -200, 901, "", "/start");
  raw(&f, "group", -200, 902, "", "/create_agent noop \\\"G\\\"");
  raw(&f, "supergroup", -100200, 903, "", "/start");
  raw(&f, "supergroup", -100200, 902, "", "/add_pair BTC/USDT");
  /* a channel, a channel posting into a group, anonymous admins */
  raw(&f, "channel", -100300, 136817688, sc, "/start");
  raw(&f, "supergroup", -100400, 136817688, sc, "/agents");
  raw(&f, "supergroup", -100500, 1087968824,
      ",\"sender_chat\":{\"id\":-100500,\"type\":\"supergroup\"}", "/agents");
  raw(&f, "supergroup", -100500, 1087968824, "", "/start");
  /* sender_chat or an anonymous sender even where the chat says private */
  raw(&f, "private", 904, 904, sc, "/start");
  raw(&f, "private", 1087968824, 1087968824, "", "/start");
  raw(&f, "private", 136817688, 136817688, "", "/start");
  /* then a private message, answered: every update before it was read */
  arec_ftg_say(f.tg, 905, "/help");
  ck_assert(arec_ftg_wait(f.tg, 905, mark, "Commands", WAIT, NULL, 0));
  const long long chats[] = {-200, -100200, -100300, -100400, -100500, 904,
                             1087968824, 136817688};
  for (size_t i = 0; i < sizeof chats / sizeof chats[0]; i++) {
    ck_assert_msg(arec_ftg_count(f.tg, chats[i], mark, NULL) <= 1,
                  "chat %lld got more than one reply", chats[i]);
    ck_assert_int_eq(arec_ftg_count(f.tg, chats[i], mark, NULL),
                     arec_ftg_count(f.tg, chats[i], mark, "private chat"));
  }
  ck_assert_int_eq(arec_ftg_count(f.tg, -200, mark, "private chat"), 1);
  ck_assert_int_eq(arec_ftg_count(f.tg, -100200, mark, "private chat"), 1);
  /* nothing changed: no user registered, no agent, no pair */
  const long long users[] = {901, 903, 904, 1087968824, 136817688};
  for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
    char *name = NULL;
    arec_svc_user_get(f.svc, &g_admin, users[i], &name, &res);
    ck_assert_int_eq(res.status, 404);
    free(name);
  }
  arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
  flt.user_id = 902;
  arec_agent_record *as = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_svc_agent_list(f.svc, &g_admin, &flt, &as, &n, &res), 0);
  ck_assert_uint_eq(n, 0);
  arec_agent_records_free(as, n);
  /* a second round in the same chats: still at most one reply each */
  raw(&f, "group", -200, 901, "", "/help");
  raw(&f, "supergroup", -100200, 903, "", "/help");
  arec_ftg_say(f.tg, 905, "/agents");
  ck_assert(arec_ftg_wait(f.tg, 905, mark, "no agents", WAIT, NULL, 0));
  ck_assert_int_eq(arec_ftg_count(f.tg, -200, mark, NULL), 1);
  ck_assert_int_eq(arec_ftg_count(f.tg, -100200, mark, NULL), 1);
  ck_assert_int_eq(log_count("telegram update skipped", NULL), 0);
  fix_bot_free(&f, b);
}
END_TEST

/* ---------------------------------------------- keys that stay visible */
START_TEST(keys_not_deleted_say_rotate) {
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-d");
  ask(&f, 601, "/start", "Welcome", NULL, 0);
  arec_ftg_fail_deletes(f.tg, 1);
  char r[8192];
  size_t mark = arec_ftg_mark(f.tg);
  long long up = arec_ftg_say(f.tg, 601, "/add_exchange binance KEY-vis1ble SEC-vis1ble");
  ck_assert(arec_ftg_wait(f.tg, 601, mark, NULL, WAIT, r, sizeof r));
  ck_assert_ptr_nonnull(strstr(r, "NOT delete"));
  ck_assert_ptr_nonnull(strstr(r, "rotate"));
  ck_assert_ptr_null(strstr(r, "was deleted"));
  ck_assert_ptr_null(strstr(r, "KEY-vis1ble"));
  ck_assert_ptr_null(strstr(r, "SEC-vis1ble"));
  ck_assert(!arec_ftg_deleted(f.tg, 601, up + 1000));
  /* also when the command is refused (bad usage): the truth about the keys */
  mark = arec_ftg_mark(f.tg);
  arec_ftg_say(f.tg, 601, "/add_exchange binance KEY-only2");
  ck_assert(arec_ftg_wait(f.tg, 601, mark, "Usage", WAIT, r, sizeof r));
  ck_assert_ptr_nonnull(strstr(r, "rotate"));
  /* deleted: says so, no rotate */
  arec_ftg_fail_deletes(f.tg, 0);
  mark = arec_ftg_mark(f.tg);
  arec_ftg_say(f.tg, 601, "/add_exchange binance KEY-gone3 SEC-gone3");
  ck_assert(arec_ftg_wait(f.tg, 601, mark, NULL, WAIT, r, sizeof r));
  ck_assert_ptr_nonnull(strstr(r, "was deleted"));
  ck_assert_ptr_null(strstr(r, "rotate"));
  fix_bot_free(&f, b);
}
END_TEST

/* ----------------------------------------------------------------- 429 */
START_TEST(throttled_message_delivered_after_retry_after) {
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-t");
  ck_assert(wait_poller(b, WAIT));
  /* two 429s with retry_after 3 s (longer than the retry delay after a
   * transport error: only honouring retry_after waits that long) */
  arec_ftg_throttle(f.tg, 2, 3);
  size_t mark = arec_ftg_mark(f.tg);
  arec_ftg_say(f.tg, 701, "/help");
  ck_assert(arec_ftg_wait(f.tg, 701, mark, "Commands", WAIT, NULL, 0));
  arec_ftg_stats st;
  arec_ftg_get_stats(f.tg, &st);
  ck_assert_uint_eq(st.throttled, 2);
  ck_assert_uint_eq(st.send_message, 1);
  size_t at = arec_ftg_find(f.tg, 701, mark, "Commands");
  /* sent only once retry_after passed after the second 429 */
  ck_assert_int_ge(arec_ftg_sent_at(f.tg, at) - st.last_429_ms, 3000);
  ck_assert_int_eq(arec_ftg_count(f.tg, 701, mark, "Commands"), 1);
  fix_bot_free(&f, b);
}
END_TEST

/* ------------------------------------------------------- out of range */
START_TEST(out_of_range_numbers_skipped) {
  fix f;
  arec_tg_bot *b = fix_with_bot(&f, "pod-n");
  size_t mark = arec_ftg_mark(f.tg);
  const char *m = "\"text\":\"/start\",\"date\":1";
  char fmt[512];
  /* from.id beyond 2^53, fractional; message_id infinite (1e999 parses as
   * inf); chat.id a string */
  snprintf(fmt, sizeof fmt, "{\"update_id\":%%lld,\"message\":{\"message_id\":1,"
           "\"chat\":{\"id\":805,\"type\":\"private\"},"
           "\"from\":{\"id\":9007199254740994},%s}}", m);
  arec_ftg_push_raw(f.tg, fmt);
  snprintf(fmt, sizeof fmt, "{\"update_id\":%%lld,\"message\":{\"message_id\":1,"
           "\"chat\":{\"id\":801,\"type\":\"private\"},\"from\":{\"id\":801.5},%s}}", m);
  arec_ftg_push_raw(f.tg, fmt);
  snprintf(fmt, sizeof fmt, "{\"update_id\":%%lld,\"message\":{\"message_id\":1e999,"
           "\"chat\":{\"id\":802,\"type\":\"private\"},\"from\":{\"id\":802},%s}}", m);
  arec_ftg_push_raw(f.tg, fmt);
  snprintf(fmt, sizeof fmt, "{\"update_id\":%%lld,\"message\":{\"message_id\":1,"
           "\"chat\":{\"id\":\"803\",\"type\":\"private\"},\"from\":{\"id\":803},%s}}", m);
  arec_ftg_push_raw(f.tg, fmt);
  arec_ftg_push_raw(f.tg, "{\"update_id\":%lld,\"message\":\"x\"}");
  /* an update_id out of range cannot even be confirmed: skipped too */
  arec_ftg_push_raw(f.tg, "{\"update_id\":1e300,\"x\":%lld}");
  long long last = arec_ftg_say(f.tg, 804, "/help");
  ck_assert(arec_ftg_wait(f.tg, 804, mark, "Commands", WAIT, NULL, 0));
  const long long chats[] = {805, 801, 802, 803};
  for (size_t i = 0; i < 4; i++)
    ck_assert_int_eq(arec_ftg_count(f.tg, chats[i], mark, NULL), 0);
  arec_svc_result res;
  const long long users[] = {801, 802, 803};
  for (size_t i = 0; i < 3; i++) {
    char *name = NULL;
    arec_svc_user_get(f.svc, &g_admin, users[i], &name, &res);
    ck_assert_int_eq(res.status, 404);
    free(name);
  }
  /* logged (WARN, the field named), never with the text */
  ck_assert_int_ge(log_count("telegram update skipped", "from.id"), 2);
  ck_assert_int_ge(log_count("telegram update skipped", "message_id"), 1);
  ck_assert_int_ge(log_count("telegram update skipped", "chat.id"), 1);
  ck_assert_int_ge(log_count("telegram update skipped", "update_id"), 1);
  ck_assert_int_eq(log_count("telegram update skipped", "/start"), 0);
  long long off = 0;
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(off, last + 1);
  fix_bot_free(&f, b);
}
END_TEST

/* ------------------------------------------------------------ allowlist */
START_TEST(allowlist_and_its_warning) {
  fix f;
  fix_init(&f, "pod-l", NULL);
  int before = log_count("the bot answers every Telegram user", NULL);
  arec_tg_bot *b = bot_on(&f, "pod-l", "901, 902");
  ck_assert_int_eq(log_count("the bot answers every Telegram user", NULL), before);
  ask(&f, 903, "/agents", "private", NULL, 0);
  char *name = NULL;
  arec_svc_result res;
  ask(&f, 903, "/start", "private", NULL, 0);
  arec_svc_user_get(f.svc, &g_admin, 903, &name, &res);
  ck_assert_int_eq(res.status, 404);
  free(name);
  ask(&f, 901, "/start", "Welcome", NULL, 0);
  bot_done(b);
  b = bot_on(&f, "pod-l", NULL);
  ck_assert_int_eq(log_count("the bot answers every Telegram user", "WARN"), before + 1);
  fix_bot_free(&f, b);
}
END_TEST

/* -------------------------------------------------------------- outbox */
START_TEST(long_replies_cut_into_pieces) {
  fix f;
  fix_init(&f, "pod-o", NULL);
  arec_tg_outbox *o = NULL;
  ck_assert_int_eq(arec_tg_outbox_new(&o, arec_ftg_url(f.tg), TOKEN, log_sink,
                                      NULL), 0);
  ck_assert_int_eq(arec_tg_outbox_start(o, NULL, NULL), 0);
  char *big = malloc(9001);
  for (int i = 0; i < 9000; i++) big[i] = (i % 100 == 99) ? '\n' : 'a' + i % 26;
  big[9000] = 0;
  size_t mark = arec_ftg_mark(f.tg);
  ck_assert_int_eq(arec_tg_outbox_to_chat(o, 42, big), 0);
  arec_tg_outbox_stop(o, arec_tg_now_ms() + WAIT, 0);
  ck_assert_int_eq(arec_ftg_count(f.tg, 42, mark, NULL), 3);
  arec_tg_outbox_stats st;
  arec_tg_outbox_get_stats(o, &st);
  ck_assert_uint_eq(st.sent, 3);
  ck_assert_uint_eq(st.waiting, 0);
  arec_tg_outbox_free(o);
  free(big);
  fix_free(&f);
}
END_TEST

AREC_TEST_CASE_MAIN("telegram_bot", "bot", 120, servers_main(s), flow_by_chat,
                    backoff_told_once_per_change, help_lists_every_command,
                    private_chats_only, keys_not_deleted_say_rotate,
                    throttled_message_delivered_after_retry_after,
                    out_of_range_numbers_skipped, allowlist_and_its_warning,
                    long_replies_cut_into_pieces)
