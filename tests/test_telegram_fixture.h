/*
 * test_telegram_fixture.h -- what the bot's test binaries share: a service
 * (host/service.h) over a real PostgreSQL 15 with the library's and the
 * host's migrations, a manager whose lock is a Redis lock (a real
 * redis-server, or an address nobody listens on), the noop strategy, the
 * fake Bot API of tests/support, a log capture, and helpers to talk to the
 * bot as a user.  Header-only (static functions): the support objects are
 * linked into every test binary, these need the host's objects.
 */
#ifndef AREC_TEST_TELEGRAM_FIXTURE_H
#define AREC_TEST_TELEGRAM_FIXTURE_H

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "agentrecover/redis.h"
#include "service.h"
#include "store.h"
#include "strategies.h"
#include "support/host/fake_telegram.h"
#include "support/harness.h"
#include "support/runner.h"
#include "telegram/bot.h"
#include "telegram/commands.h"
#include "telegram/outbox.h"
#include "telegram/tg_api.h"
#include "telegram/update.h"

#define TOKEN "123456:TEST-token"
/* How long a test waits for an answer it expects (an upper bound for a
 * loaded 2-core machine, not a timing under test). */
#define WAIT 10000
/* The poller role's TTL in these tests. */
#define ROLE_TTL 1500

static arec_test_pg g_pg;
static arec_test_redis g_redis;
static char g_redis_addr[64];
static const unsigned char g_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                        12, 13, 14, 15, 16, 17, 18, 19, 20};

/* ------------------------------------------------------------- the logs */
#define LOG_MAX 4096
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_logs[LOG_MAX];
static size_t g_nlogs;
static arec_tg_bot *_Atomic g_tap; /* the bot the manager's log feeds */

static void log_sink(void *ud, arec_log_level l, const char *m,
                     const arec_log_field *f, size_t n) {
  (void)ud;
  char line[2048];
  arec_log_format(line, sizeof line, 0, l, m, f, n);
  if (getenv("TG_TEST_LOG")) fputs(line, stderr);
  pthread_mutex_lock(&g_log_mu);
  if (g_nlogs < LOG_MAX) g_logs[g_nlogs++] = strdup(line);
  pthread_mutex_unlock(&g_log_mu);
}

static void mgr_log(void *ud, arec_log_level l, const char *m,
                    const arec_log_field *f, size_t n) {
  arec_tg_bot *b = atomic_load(&g_tap);
  if (b) arec_tg_bot_log_tap(b, l, m, f, n);
  log_sink(ud, l, m, f, n);
}

/* Lines containing every needle (NULL-terminated list). */
static inline int log_count(const char *a, const char *b) {
  int n = 0;
  pthread_mutex_lock(&g_log_mu);
  for (size_t i = 0; i < g_nlogs; i++)
    n += strstr(g_logs[i], a) && (!b || strstr(g_logs[i], b));
  pthread_mutex_unlock(&g_log_mu);
  return n;
}

/* -------------------------------------------------------------- fixture */
typedef struct fix {
  arec_pg *pg;
  arec_host_store *store;
  arec_manager *mgr;
  arec_svc *svc;
  arec_ftg *tg;
  const char *pod;
  int64_t noop_ms;
} fix;

static arec_lock *redis_lock_at(const char *addr) {
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  o.addrs = addr;
  arec_lock *l = NULL;
  ck_assert_int_eq(arec_redis_lock_new(&l, &o), 0);
  return l;
}

/* A service on pod `pod`; redis_addr NULL: the harness's redis-server. */
static void fix_init(fix *f, const char *pod, const char *redis_addr) {
  memset(f, 0, sizeof *f);
  f->pod = pod;
  f->noop_ms = 100;
  arec_pg_options po = AREC_PG_OPTIONS_INIT;
  po.conninfo = g_pg.conninfo;
  ck_assert_int_eq(arec_pg_new(&f->pg, &po), 0);
  ck_assert_int_eq(arec_host_store_new(&f->store, f->pg, g_key, NULL, log_sink,
                                       NULL), 0);
  arec_repository *mrepo = NULL, *srepo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&mrepo, f->pg), 0);
  ck_assert_int_eq(arec_pg_repository_new(&srepo, f->pg), 0);
  arec_manager_options o = AREC_MANAGER_OPTIONS_INIT;
  o.pod_name = pod;
  o.lock_ttl_ms = 3000;
  o.reconcile_interval_ms = 0;
  o.save_interval_ms = 100;
  o.workers = 2;
  o.log = mgr_log;
  ck_assert_int_eq(arec_manager_new(&f->mgr, &o, mrepo,
                                    redis_lock_at(redis_addr ? redis_addr
                                                             : g_redis_addr)),
                   0);
  arec_host_strategy_ctx sc = {f->noop_ms, NULL};
  ck_assert_int_eq(arec_host_strategies_register(f->mgr, &sc), 0);
  arec_svc_options so = {.pg = f->pg, .repo = srepo, .mgr = f->mgr,
                         .store = f->store, .pod = pod, .log = log_sink};
  ck_assert_int_eq(arec_svc_new(&f->svc, &so), 0);
  ck_assert_int_eq(arec_ftg_start(&f->tg, TOKEN), 0);
  /* a new fake numbers its updates after what earlier tests stored */
  long long off = 0;
  ck_assert_int_eq(arec_svc_bot_offset_get(f->svc, &off), 0);
  arec_ftg_set_next_id(f->tg, off + 100);
}

static void fix_free(fix *f) {
  atomic_store(&g_tap, NULL);
  arec_svc_free(f->svc);
  arec_manager_free(f->mgr);
  arec_ftg_stop(f->tg);
  arec_host_store_free(f->store);
  arec_pg_free(f->pg);
}

static arec_tg_bot *bot_on(fix *f, const char *pod, const char *allow) {
  arec_tg_bot_options bo;
  memset(&bo, 0, sizeof bo);
  bo.token = TOKEN;
  bo.api_base = arec_ftg_url(f->tg);
  bo.allowed_users = allow;
  bo.pod = pod;
  bo.role_ttl_ms = ROLE_TTL;
  bo.idle_wait_ms = 100;
  bo.log = log_sink;
  arec_tg_bot *b = NULL;
  ck_assert_int_eq(arec_tg_bot_new(&b, &bo), 0);
  ck_assert_int_eq(arec_tg_bot_start(b, f->svc), 0);
  return b;
}

static void bot_done(arec_tg_bot *b) {
  arec_tg_bot_stop(b, arec_tg_now_ms() + 2000);
  arec_tg_bot_free(b);
}

/* A test's usual start: the fixture on pod `pod` (the harness's
 * redis-server) with a bot on it (no allowlist): the bot. */
static inline arec_tg_bot *fix_with_bot(fix *f, const char *pod) {
  fix_init(f, pod, NULL);
  return bot_on(f, pod, NULL);
}

/* ... and its end: the bot stopped, the fixture freed. */
static inline void fix_bot_free(fix *f, arec_tg_bot *b) {
  bot_done(b);
  fix_free(f);
}

static const arec_svc_actor g_admin = {AREC_ACTOR_API_ADMIN, 0, NULL};

/* Says `text` as `user` and waits for a reply containing `needle`. */
static void ask(fix *f, long long user, const char *text, const char *needle,
                char *out, size_t len) {
  size_t mark = arec_ftg_mark(f->tg);
  arec_ftg_say(f->tg, user, text);
  char buf[8192];
  int ok = arec_ftg_wait(f->tg, user, mark, NULL, WAIT, buf, sizeof buf);
  ck_assert_msg(ok, "no reply to %s", text);
  ck_assert_msg(strstr(buf, needle), "reply to \"%s\": \"%s\" lacks \"%s\"",
                text, buf, needle);
  if (out) snprintf(out, len, "%s", buf);
}

static inline int wait_poller(arec_tg_bot *b, int ms) {
  long long end = arec_test_now_ms() + ms;
  while (arec_test_now_ms() < end) {
    if (arec_tg_bot_is_poller(b)) return 1;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return arec_tg_bot_is_poller(b);
}

/* A bot on pod (bot_on, no allowlist), asserted to become the poller
 * within WAIT. */
static inline arec_tg_bot *poller_on(fix *f, const char *pod) {
  arec_tg_bot *b = bot_on(f, pod, NULL);
  ck_assert(wait_poller(b, WAIT));
  return b;
}

static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* main()'s run: starts PostgreSQL (migrated) and redis-server for the
 * whole binary, runs s, stops them: the exit status. */
static int servers_main(Suite *s) {
  if (arec_test_start(&g_pg, AREC_TEST_MIGRATED, &g_redis)) return 1;
  snprintf(g_redis_addr, sizeof g_redis_addr, "127.0.0.1:%d", g_redis.port);
  return arec_test_finish(s, &g_pg, AREC_TEST_MIGRATED, &g_redis);
}

#endif
