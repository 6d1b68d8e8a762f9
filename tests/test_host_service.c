/*
 * test_host_service.c -- the host's service layer (host/service.h) over a
 * real PostgreSQL 15 (the administrative pool, a pg repository, the host's
 * store) and a manager whose lock is the memory lock (so the lock service
 * can be made to fail or to be held by another pod):
 *   - every status path: 200/201, 202 (held elsewhere, lock service down,
 *     start failed for now), 400 naming the field, 403, 404, 409, 422 with
 *     the agent type's reason, 503 and 500 naming only a request id (the
 *     detail logged at WARN with it);
 *   - an audit row and an "audit" INFO line (user_id typed as a number)
 *     for every mutation, none for reads; never a secret in a result, an
 *     audit row or a log line;
 *   - the read-only actor gets 403 on every mutation and changes nothing;
 *   - a Telegram actor sees and changes only its own objects (404 else);
 *   - a poison credential makes only its own agent's start fail: of three
 *     trading agents two run, the third is in backoff with a last_error
 *     naming its user_exchanges row;
 *   - the bot's offset is written only by the role's current holder;
 *   - the strategy registry.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "agentrecover/pg.h"
#include "service.h"
#include "store.h"
#include "strategies.h"
#include "support/fake_exchange.h"
#include "support/harness.h"
#include "trading/trading.h"

static arec_test_pg g_pg;

static const unsigned char KEY[32] = "0123456789abcdef0123456789abcdef";
#define FX_KEY "fx-key-Z1"
#define FX_SECRET "fx-secret-Z2"
#define SECRET_WORD "sekr3t"

/* ------------------------------------------------------------ log sink */
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log[1 << 18];
static size_t g_log_n;

static void sink(void *ud, arec_log_level level, const char *msg,
                 const arec_log_field *f, size_t n) {
  (void)ud;
  char line[2048];
  size_t len = arec_log_format(line, sizeof line, 1, level, msg, f, n);
  if (len >= sizeof line)
    len = sizeof line - 1;
  pthread_mutex_lock(&g_log_mu);
  if (g_log_n + len < sizeof g_log) {
    memcpy(g_log + g_log_n, line, len);
    g_log_n += len;
    g_log[g_log_n] = 0;
  }
  pthread_mutex_unlock(&g_log_mu);
  if (getenv("SERVICE_TEST_LOG"))
    fputs(line, stderr);
}

static int logged(const char *s) {
  pthread_mutex_lock(&g_log_mu);
  int r = strstr(g_log, s) != NULL;
  pthread_mutex_unlock(&g_log_mu);
  return r;
}

static int logged_count(const char *s) {
  int n = 0;
  pthread_mutex_lock(&g_log_mu);
  for (const char *p = g_log; (p = strstr(p, s)); p++)
    n++;
  pthread_mutex_unlock(&g_log_mu);
  return n;
}

/* ------------------------------------------------------------ fixture */
typedef struct fix {
  arec_pg *pg;        /* the administrative pool */
  arec_pg *mpg;       /* the manager's pool */
  arec_memory_store *mst;
  arec_host_store *store;
  arec_manager *mgr;
  arec_svc *svc;
  arec_fx *fx;
  arec_exchange_hub *hub;
  arec_host_trading_config tc;
  arec_host_strategy_ctx ctx;
  arec_agent_type extra[2];
} fix;

/* "refuser": start refuses for good; "flaky": start fails for now. */
static int refuse_start(void **st, arec_agent *a, const arec_agent_info *i,
                        void *ud) {
  (void)st, (void)a, (void)i, (void)ud;
  arec_error_set("this agent refuses: no can do");
  return AREC_EINVAL;
}
static int flaky_start(void **st, arec_agent *a, const arec_agent_info *i,
                       void *ud) {
  (void)st, (void)a, (void)i, (void)ud;
  arec_error_set("exchange down for now");
  return AREC_EUNAVAILABLE;
}
static int x_step(void *st, arec_agent *a, int64_t *d, void *ud) {
  (void)st, (void)a, (void)ud;
  *d = 1000;
  return 0;
}
static int x_snap(void *st, arec_agent *a, arec_snapshot *s, void *ud) {
  (void)st, (void)a, (void)s, (void)ud;
  return 0;
}
static void x_stop(void *st, arec_agent *a, arec_stop_reason r, void *ud) {
  (void)st, (void)a, (void)r, (void)ud;
}

static arec_pg *open_pg(void) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.pool_size = 4;
  o.call_timeout_ms = 3000;
  o.log = sink;
  arec_pg *pg = NULL;
  int rc = arec_pg_new(&pg, &o);
  ck_assert_msg(rc == 0, "arec_pg_new: %s", arec_error_last());
  return pg;
}

static void fix_init(fix *f, int with_key) {
  memset(f, 0, sizeof *f);
  f->pg = open_pg();
  f->mpg = open_pg();
  ck_assert_int_eq(arec_memory_store_new(&f->mst), 0);
  ck_assert_int_eq(arec_host_store_new(&f->store, f->pg, with_key ? KEY : NULL,
                                       NULL, sink, NULL),
                   0);
  ck_assert_int_eq(arec_fx_start(&f->fx, FX_KEY, FX_SECRET), 0);
  arec_exchange_hub_options ho = AREC_EXCHANGE_HUB_OPTIONS_INIT;
  ho.log = sink;
  ck_assert_int_eq(arec_exchange_hub_new(&f->hub, &ho), 0);
  arec_host_trading_config tc = AREC_HOST_TRADING_CONFIG_INIT;
  tc.hub = f->hub;
  tc.api_base = arec_fx_url(f->fx);
  tc.step_interval_ms = 50;
  tc.request_timeout_ms = 1000;
  tc.connect_timeout_ms = 1000;
  tc.account = arec_host_store_account_hook;
  tc.account_userdata = f->store;
  f->tc = tc;
  f->ctx.noop_step_ms = 50;
  f->ctx.trading = &f->tc;

  arec_repository *mrepo = NULL;
  arec_lock *lock = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&mrepo, f->mpg), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, f->mst), 0);
  arec_manager_options mo = AREC_MANAGER_OPTIONS_INIT;
  mo.pod_name = "pod-a";
  mo.reconcile_interval_ms = 0;
  mo.save_interval_ms = 200;
  mo.workers = 4;
  mo.log = sink;
  mo.backoff_min_ms = 60000;
  ck_assert_int_eq(arec_manager_new(&f->mgr, &mo, mrepo, lock), 0);
  ck_assert_int_eq(arec_host_strategies_register(f->mgr, &f->ctx), 0);
  static const char *names[2] = {"refuser", "flaky"};
  for (int i = 0; i < 2; i++) {
    arec_agent_type t = AREC_AGENT_TYPE_INIT;
    t.name = names[i];
    t.start = i ? flaky_start : refuse_start;
    t.step = x_step;
    t.snapshot = x_snap;
    t.stop = x_stop;
    f->extra[i] = t;
    ck_assert_int_eq(arec_manager_register_type(f->mgr, &f->extra[i]), 0);
  }

  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, f->pg), 0);
  arec_svc_options so;
  memset(&so, 0, sizeof so);
  so.pg = f->pg;
  so.repo = repo;
  so.mgr = f->mgr;
  so.store = f->store;
  so.pod = "pod-a";
  so.log = sink;
  ck_assert_int_eq(arec_svc_new(&f->svc, &so), 0);
}

static void fix_free(fix *f) {
  arec_svc_free(f->svc);
  arec_manager_free(f->mgr);
  arec_host_store_free(f->store);
  arec_memory_store_free(f->mst);
  arec_exchange_hub_free(f->hub);
  arec_fx_stop(f->fx);
  arec_pg_free(f->mpg);
  arec_pg_free(f->pg);
}

static const arec_svc_actor ADMIN = {AREC_ACTOR_API_ADMIN, 0, "req-admin"};
static const arec_svc_actor READER = {AREC_ACTOR_API_READ, 0, NULL};
static const arec_svc_actor OPEN = {AREC_ACTOR_API_OPEN, 0, NULL};

static void sql(const char *q) {
  ck_assert_msg(arec_test_pg_sql(&g_pg, q, NULL) == 0, "%s", q);
}

static long long sql_ll(const char *q) {
  char *out = NULL;
  ck_assert_msg(arec_test_pg_sql(&g_pg, q, &out) == 0, "%s", q);
  long long v = atoll(out ? out : "0");
  free(out);
  return v;
}

static long long audit_rows(void) {
  return sql_ll("SELECT count(*) FROM audit_events");
}

#define EXPECT(call, st)                                                       \
  do {                                                                         \
    arec_svc_result *r_ = &res;                                                \
    int rc_ = (call);                                                          \
    ck_assert_msg(r_->status == (st), "%s: %d %s (field %s)", #call,           \
                  r_->status, r_->message, r_->field);                         \
    ck_assert_int_eq(rc_ == 0, r_->status >= 200 && r_->status < 300);         \
  } while (0)

/* The newest audit event (through the service, as an admin reads it). */
static arec_svc_event *last_event(fix *f, arec_svc_event **all, size_t *n) {
  arec_svc_result res;
  long long newest = sql_ll("SELECT coalesce(max(id), 1) FROM audit_events");
  ck_assert_int_eq(arec_svc_audit_list(f->svc, &ADMIN, newest - 1, 10, all, n,
                                       &res),
                   0);
  ck_assert_uint_eq(*n, 1);
  return &(*all)[0];
}

static void expect_event(fix *f, const char *actor, const char *action,
                         const char *agent, long long uid,
                         const char *result_prefix) {
  arec_svc_event *all = NULL;
  size_t n = 0;
  arec_svc_event *e = last_event(f, &all, &n);
  ck_assert_str_eq(e->actor, actor);
  ck_assert_str_eq(e->action, action);
  if (agent)
    ck_assert_str_eq(e->agent_id, agent);
  else
    ck_assert_ptr_null(e->agent_id);
  ck_assert_int_eq(e->user_id, uid);
  ck_assert_msg(strncmp(e->result, result_prefix, strlen(result_prefix)) == 0,
                "result %s, expected %s...", e->result, result_prefix);
  arec_svc_events_free(all, n);
}

/* A user with an account and a pair for `symbol` (admin). */
static long long setup_user(fix *f, long long uid, const char *symbol) {
  arec_svc_result res;
  long long ex = 0, pid = 0;
  EXPECT(arec_svc_user_upsert(f->svc, &ADMIN, uid, "User", &res), 201);
  EXPECT(arec_svc_exchange_add(f->svc, &ADMIN, uid, "binance", FX_KEY,
                               FX_SECRET, 1, &ex, &res),
         201);
  if (symbol)
    EXPECT(arec_svc_pair_add(f->svc, &ADMIN, uid, 0, symbol, &pid, &res),
           201);
  return ex;
}

static void create_agent(fix *f, const arec_svc_actor *who, const char *id,
                         long long uid, const char *strategy) {
  arec_svc_result res;
  char out[AREC_AGENT_ID_MAX + 1];
  arec_svc_agent_new a = {id, uid, strategy, "An agent", NULL};
  EXPECT(arec_svc_agent_create(f->svc, who, &a, out, sizeof out, &res), 201);
  ck_assert_str_eq(out, id);
}

/* ------------------------------------------------------------- statuses */
START_TEST(statuses_of_accounts_and_agents) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  long long ex = 0, pid = 0;
  char out[AREC_AGENT_ID_MAX + 1], pod[64];

  /* users */
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 0, "x", &res), 400);
  ck_assert_str_eq(res.field, "id");
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 101, "a\nb", &res), 400);
  ck_assert_str_eq(res.field, "name");
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 101, "Ann", &res), 201);
  char *name = NULL;
  EXPECT(arec_svc_user_get(f.svc, &ADMIN, 101, &name, &res), 200);
  ck_assert_str_eq(name, "Ann");
  free(name);
  EXPECT(arec_svc_user_get(f.svc, &ADMIN, 109, &name, &res), 404);

  /* exchange accounts */
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 101, "kraken", "k", "s", 1, &ex,
                               &res),
         400);
  ck_assert_str_eq(res.field, "exchange");
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 101, "binance",
                               SECRET_WORD " x", "s", 1, &ex, &res),
         400);
  ck_assert_str_eq(res.field, "api_key");
  ck_assert(!strstr(res.message, SECRET_WORD));
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 108, "binance", "k", "s", 1,
                               &ex, &res),
         404);
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 101, "Binance", SECRET_WORD "-k",
                               SECRET_WORD "-s", 1, &ex, &res),
         201);
  ck_assert_int_gt(ex, 0);
  ck_assert(!strstr(res.message, SECRET_WORD));

  /* pairs */
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 102, "Bob", &res), 201);
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 102, 0, "BTC/USDT", &pid, &res),
         404);
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 101, 0, "BTC-USDT", &pid, &res),
         400);
  ck_assert_str_eq(res.field, "symbol");
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 101, 0, "btc/usdt", &pid, &res),
         201);
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 101, ex, "BTC/USDT", &pid, &res),
         409);
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 101, ex + 1000, "ETH/USDT", &pid,
                           &res),
         404);

  /* agents: create */
  arec_svc_agent_new a = {"svc-a1", 101, "nope", "Agent", NULL};
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         400);
  ck_assert_str_eq(res.field, "strategy");
  a.strategy = "noop";
  a.user_id = 107;
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         404);
  a.user_id = 101;
  a.params = "[1]";
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         400);
  ck_assert_str_eq(res.field, "params");
  a.params = "{\"x\": 1}";
  a.id = "start";
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         400);
  ck_assert_str_eq(res.field, "id");
  a.id = "svc-a1";
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         201);
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         409);
  ck_assert_str_eq(res.field, "id");
  a.id = NULL;
  EXPECT(arec_svc_agent_create(f.svc, &OPEN, &a, out, sizeof out, &res), 201);
  ck_assert_uint_eq(strlen(out), 12);

  /* assign */
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "svc-a1", pod, sizeof pod, &res),
         409); /* no symbols */
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-a1", "ETH/USDT", 100,
                               &res),
         409); /* no pair */
  ck_assert_ptr_nonnull(strstr(res.message, "no trading pair for ETH/USDT"));
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-a1", "BTC/USDT", -1, &res),
         400);
  ck_assert_str_eq(res.field, "balance");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-zz", "BTC/USDT", 1, &res),
         404);
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-a1", "btc/usdt", 100,
                               &res),
         201);
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-a1", "BTC/USDT", 100,
                               &res),
         409);

  /* start / stop */
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "svc-a1", pod, sizeof pod, &res),
         200);
  ck_assert_str_eq(pod, "pod-a");
  EXPECT(arec_svc_agent_unassign(f.svc, &ADMIN, "svc-a1", "BTC/USDT", &res),
         409); /* wanted */
  EXPECT(arec_svc_agent_migrate(f.svc, &ADMIN, "svc-a1", "pod-zz", &res),
         409);
  EXPECT(arec_svc_agent_migrate(f.svc, &ADMIN, "svc-a1", "pod a", &res), 400);
  ck_assert_str_eq(res.field, "to");
  arec_agent_record *rec = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "svc-a1", &rec, &res), 200);
  ck_assert_int_eq(rec->is_trading, 1);
  ck_assert_str_eq(rec->running_on, "pod-a");
  ck_assert_str_eq(rec->params, "{\"x\": 1}");
  arec_agent_records_free(rec, 1);
  EXPECT(arec_svc_agent_stop(f.svc, &ADMIN, "svc-a1", &res), 200);
  EXPECT(arec_svc_agent_set_active(f.svc, &ADMIN, "svc-a1", 0, &res), 200);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "svc-a1", pod, sizeof pod, &res),
         409); /* disabled */
  EXPECT(arec_svc_agent_set_active(f.svc, &ADMIN, "svc-a1", 1, &res), 200);
  EXPECT(arec_svc_agent_stop(f.svc, &ADMIN, "svc-zz", &res), 404);

  /* the pair's account is not removed while a wanted agent trades on it */
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "svc-a1", pod, sizeof pod, &res),
         200);
  EXPECT(arec_svc_exchange_remove(f.svc, &ADMIN, 101, ex, &res), 409);
  ck_assert_ptr_nonnull(strstr(res.message, "svc-a1"));

  /* stop all of a user's */
  size_t stopped = 0;
  EXPECT(arec_svc_stop_all(f.svc, &ADMIN, 101, &stopped, &res), 200);
  ck_assert_uint_eq(stopped, 1);
  EXPECT(arec_svc_agent_unassign(f.svc, &ADMIN, "svc-a1", "ETH/USDT", &res),
         404);
  EXPECT(arec_svc_exchange_remove(f.svc, &ADMIN, 101, ex, &res), 200);
  EXPECT(arec_svc_exchange_remove(f.svc, &ADMIN, 101, ex, &res), 404);

  /* delete: soft, the id stays taken */
  EXPECT(arec_svc_agent_delete(f.svc, &ADMIN, "svc-a1", &res), 200);
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "svc-a1", &rec, &res), 404);
  EXPECT(arec_svc_agent_delete(f.svc, &ADMIN, "svc-a1", &res), 404);
  a.id = "svc-a1";
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         409);
  ck_assert_int_eq(sql_ll("SELECT count(*) FROM agent_configs WHERE id = "
                          "'svc-a1' AND deleted_at IS NOT NULL"),
                   1);

  /* lists */
  arec_agent_record *v = NULL;
  size_t n = 0;
  arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
  flt.user_id = 101;
  EXPECT(arec_svc_agent_list(f.svc, &READER, &flt, &v, &n, &res), 200);
  ck_assert_uint_eq(n, 1); /* the random one */
  arec_agent_records_free(v, n);
  flt.limit = 1001;
  EXPECT(arec_svc_agent_list(f.svc, &READER, &flt, &v, &n, &res), 400);
  ck_assert_str_eq(res.field, "limit");
  flt.limit = 0;
  flt.after = "bad id!";
  EXPECT(arec_svc_agent_list(f.svc, &READER, &flt, &v, &n, &res), 400);
  ck_assert_str_eq(res.field, "after");
  ck_assert(!logged(SECRET_WORD));
  ck_assert_int_eq(sql_ll("SELECT count(*) FROM audit_events WHERE result "
                          "LIKE '%" SECRET_WORD "%'"),
                   0);
  fix_free(&f);
}
END_TEST

START_TEST(statuses_of_starts) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  char pod[64];
  setup_user(&f, 111, "BTC/USDT");
  arec_repository *repo = arec_svc_repository(f.svc);

  /* 422: the agent type refuses for good; the wish is put back */
  create_agent(&f, &ADMIN, "st-ref", 111, "refuser");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "st-ref", "BTC/USDT", 10, &res),
         201);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-ref", pod, sizeof pod, &res),
         422);
  ck_assert_ptr_nonnull(strstr(res.message, "no can do"));
  arec_agent_record *rec = NULL;
  ck_assert_int_eq(arec_agent_get(repo, "st-ref", &rec), 0);
  ck_assert_int_eq(rec->is_trading, 0);
  arec_agent_records_free(rec, 1);
  expect_event(&f, "api:admin", "agent.start", "st-ref", 111, "422 ");

  /* 202: the start failed for now, retried later */
  create_agent(&f, &ADMIN, "st-flaky", 111, "flaky");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "st-flaky", "BTC/USDT", 10,
                               &res),
         201);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-flaky", pod, sizeof pod,
                              &res),
         202);
  ck_assert_ptr_nonnull(strstr(res.message, "exchange down for now"));

  /* 400: a strategy this pod does not have, at start */
  arec_agent_spec sp = AREC_AGENT_SPEC_INIT;
  char id[AREC_AGENT_ID_MAX + 1];
  sp.id = "st-ghost";
  sp.user_id = 111;
  sp.strategy = "ghost";
  sp.name = "g";
  ck_assert_int_eq(arec_agent_create(repo, &sp, id, sizeof id), 0);
  ck_assert_int_eq(arec_agent_assign(repo, "st-ghost", "BTC/USDT", 5), 0);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-ghost", pod, sizeof pod,
                              &res),
         400);
  ck_assert_str_eq(res.field, "strategy");

  /* 202: another pod holds the agent's lock */
  create_agent(&f, &ADMIN, "st-held", 111, "noop");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "st-held", "BTC/USDT", 10,
                               &res),
         201);
  ck_assert_int_eq(arec_memory_lock_force(f.mst, "agent:lock:st-held",
                                          "pod-b/1", 60000),
                   0);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-held", pod, sizeof pod,
                              &res),
         202);

  /* 202: the lock service is down, the wish is recorded */
  create_agent(&f, &ADMIN, "st-down", 111, "noop");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "st-down", "BTC/USDT", 10,
                               &res),
         201);
  arec_memory_fail(f.mst, AREC_MEMORY_LOCK, -1, AREC_EUNAVAILABLE);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-down", pod, sizeof pod,
                              &res),
         202);
  ck_assert_ptr_nonnull(strstr(res.message, "lock service"));
  arec_memory_fail(f.mst, AREC_MEMORY_LOCK, 0, 0);
  ck_assert_int_eq(arec_agent_get(repo, "st-down", &rec), 0);
  ck_assert_int_eq(rec->is_trading, 1);
  arec_agent_records_free(rec, 1);
  fix_free(&f);
}
END_TEST

START_TEST(internal_errors_name_only_a_request_id) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  setup_user(&f, 121, "BTC/USDT");
  create_agent(&f, &ADMIN, "ie-a", 121, "noop");

  /* 500: a table the store needs is gone */
  sql("ALTER TABLE user_trading_pairs RENAME TO utp_away");
  arec_svc_actor anon = {AREC_ACTOR_API_ADMIN, 0, NULL};
  EXPECT(arec_svc_agent_assign(f.svc, &anon, "ie-a", "BTC/USDT", 1, &res),
         500);
  sql("ALTER TABLE utp_away RENAME TO user_trading_pairs");
  ck_assert(res.request_id[0]);
  char want[128];
  snprintf(want, sizeof want, "internal error (request id %s)",
           res.request_id);
  ck_assert_str_eq(res.message, want);
  ck_assert(!strstr(res.message, "utp") && !strstr(res.message, "SQLSTATE"));
  char line[128];
  snprintf(line, sizeof line, "\"request_id\":\"%s\"", res.request_id);
  ck_assert(logged(line));
  ck_assert(logged("\"msg\":\"request failed\""));

  /* 503: the database is down; the actor's request id is used */
  ck_assert_int_eq(arec_test_pg_halt(&g_pg), 0);
  arec_agent_record *rec = NULL;
  arec_svc_actor rid = {AREC_ACTOR_API_ADMIN, 0, "rq-503"};
  EXPECT(arec_svc_agent_get(f.svc, &rid, "ie-a", &rec, &res), 503);
  ck_assert_str_eq(res.request_id, "rq-503");
  ck_assert_str_eq(res.message,
                   "service unavailable, try again (request id rq-503)");
  ck_assert(logged("\"request_id\":\"rq-503\""));
  ck_assert_int_eq(arec_test_pg_resume(&g_pg), 0);
  fix_free(&f);
}
END_TEST

/* ----------------------------------------------------------------- audit */
START_TEST(audit_for_mutations_not_reads) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  long long ex = 0, pid = 0;
  long long before = audit_rows();

  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 131, "Cid", &res), 201);
  expect_event(&f, "api:admin", "user.upsert", NULL, 131, "201");
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 131, "binance", SECRET_WORD "1",
                               SECRET_WORD "2", 0, &ex, &res),
         201);
  expect_event(&f, "api:admin", "exchange.add", NULL, 131, "201");
  EXPECT(arec_svc_pair_add(f.svc, &OPEN, 131, ex, "BTC/USDT", &pid, &res),
         201);
  expect_event(&f, "api:none", "pair.add", NULL, 131, "201");
  create_agent(&f, &ADMIN, "au-1", 131, "noop");
  expect_event(&f, "api:admin", "agent.create", "au-1", 131, "201");
  EXPECT(arec_svc_agent_stop(f.svc, &ADMIN, "au-2", &res), 404);
  expect_event(&f, "api:admin", "agent.stop", "au-2", 0,
               "404 agent not found");
  ck_assert_int_eq(audit_rows(), before + 5);

  /* reads record nothing */
  arec_agent_record *rec = NULL, *v = NULL;
  size_t n = 0;
  char *name = NULL, **names = NULL;
  arec_svc_event *ev = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "au-1", &rec, &res), 200);
  arec_agent_records_free(rec, 1);
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "au-9", &rec, &res), 404);
  EXPECT(arec_svc_agent_list(f.svc, &ADMIN, NULL, &v, &n, &res), 200);
  arec_agent_records_free(v, n);
  EXPECT(arec_svc_user_get(f.svc, &ADMIN, 131, &name, &res), 200);
  free(name);
  EXPECT(arec_svc_audit_list(f.svc, &READER, 0, 1000, &ev, &n, &res), 200);
  ck_assert_uint_ge(n, 5);
  arec_svc_events_free(ev, n);
  EXPECT(arec_svc_audit_list(f.svc, &READER, 0, 0, &ev, &n, &res), 400);
  ck_assert_str_eq(res.field, "limit");
  EXPECT(arec_svc_audit_list(f.svc, &READER, -1, 10, &ev, &n, &res), 400);
  ck_assert_str_eq(res.field, "after");
  ck_assert_int_eq(arec_svc_strategies(f.svc, &names, &n), 0);
  arec_strings_free(names, n);
  long long off = -1;
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(audit_rows(), before + 5);

  /* the log line: same fields, user_id a number, the request id */
  ck_assert(logged("\"msg\":\"audit\",\"actor\":\"api:admin\",\"action\":"
                   "\"agent.create\",\"agent_id\":\"au-1\",\"user_id\":131,"
                   "\"result\":\"201\",\"request_id\":\"req-admin\""));
  ck_assert_int_eq(logged_count("\"msg\":\"audit\""), 5);
  /* never a secret */
  ck_assert(!logged(SECRET_WORD));
  ck_assert_int_eq(sql_ll("SELECT count(*) FROM audit_events WHERE result "
                          "LIKE '%" SECRET_WORD "%' OR actor LIKE '%" SECRET_WORD
                          "%'"),
                   0);
  fix_free(&f);
}
END_TEST

START_TEST(read_actor_forbidden_everywhere) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  long long ex = 0, pid = 0;
  size_t n = 0;
  char out[AREC_AGENT_ID_MAX + 1], pod[64];
  setup_user(&f, 141, "BTC/USDT");
  create_agent(&f, &ADMIN, "ro-1", 141, "noop");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "ro-1", "BTC/USDT", 5, &res),
         201);
  long long before = audit_rows();
  arec_svc_agent_new a = {"ro-2", 141, "noop", "x", NULL};
  EXPECT(arec_svc_user_upsert(f.svc, &READER, 141, "Evil", &res), 403);
  EXPECT(arec_svc_exchange_add(f.svc, &READER, 141, "binance", "k", "s", 1,
                               &ex, &res),
         403);
  EXPECT(arec_svc_exchange_remove(f.svc, &READER, 141, 1, &res), 403);
  EXPECT(arec_svc_pair_add(f.svc, &READER, 141, 0, "ETH/USDT", &pid, &res),
         403);
  EXPECT(arec_svc_agent_create(f.svc, &READER, &a, out, sizeof out, &res),
         403);
  EXPECT(arec_svc_agent_assign(f.svc, &READER, "ro-1", "ETH/USDT", 1, &res),
         403);
  EXPECT(arec_svc_agent_unassign(f.svc, &READER, "ro-1", "BTC/USDT", &res),
         403);
  EXPECT(arec_svc_agent_start(f.svc, &READER, "ro-1", pod, sizeof pod, &res),
         403);
  EXPECT(arec_svc_agent_stop(f.svc, &READER, "ro-1", &res), 403);
  EXPECT(arec_svc_agent_set_active(f.svc, &READER, "ro-1", 0, &res), 403);
  EXPECT(arec_svc_agent_migrate(f.svc, &READER, "ro-1", "pod-a", &res), 403);
  EXPECT(arec_svc_agent_delete(f.svc, &READER, "ro-1", &res), 403);
  EXPECT(arec_svc_stop_all(f.svc, &READER, 141, &n, &res), 403);
  /* recorded, nothing changed */
  ck_assert_int_eq(audit_rows(), before + 13);
  expect_event(&f, "api:read", "agents.stop_all", NULL, 0, "403 ");
  arec_agent_record *rec = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &READER, "ro-1", &rec, &res), 200);
  ck_assert_int_eq(rec->is_active, 1);
  ck_assert_int_eq(rec->is_trading, 0);
  ck_assert_uint_eq(rec->nsymbols, 1);
  arec_agent_records_free(rec, 1);
  EXPECT(arec_svc_agent_get(f.svc, &READER, "ro-2", &rec, &res), 404);
  char *name = NULL;
  EXPECT(arec_svc_user_get(f.svc, &READER, 141, &name, &res), 200);
  ck_assert_str_eq(name, "User");
  free(name);
  ck_assert_int_eq(sql_ll("SELECT count(*) FROM user_trading_pairs WHERE "
                          "user_id = 141"),
                   1);
  fix_free(&f);
}
END_TEST

START_TEST(telegram_actor_sees_only_its_own) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  long long ex = 0, pid = 0;
  size_t n = 0;
  char out[AREC_AGENT_ID_MAX + 1], pod[64];
  arec_svc_actor me = {AREC_ACTOR_TELEGRAM, 151, NULL};
  arec_svc_actor bad = {AREC_ACTOR_TELEGRAM, 0, NULL};
  setup_user(&f, 152, "BTC/USDT"); /* someone else, by the admin */
  create_agent(&f, &ADMIN, "tg-other", 152, "noop");

  /* its own objects */
  EXPECT(arec_svc_user_upsert(f.svc, &me, 151, "Me", &res), 201);
  expect_event(&f, "telegram:151", "user.upsert", NULL, 151, "201");
  EXPECT(arec_svc_exchange_add(f.svc, &me, 151, "binance", FX_KEY, FX_SECRET,
                               1, &ex, &res),
         201);
  EXPECT(arec_svc_pair_add(f.svc, &me, 151, 0, "BTC/USDT", &pid, &res), 201);
  create_agent(&f, &me, "tg-mine", 151, "noop");
  EXPECT(arec_svc_agent_assign(f.svc, &me, "tg-mine", "BTC/USDT", 5, &res),
         201);
  EXPECT(arec_svc_agent_start(f.svc, &me, "tg-mine", pod, sizeof pod, &res),
         200);

  /* the other user's: 404 everywhere */
  arec_svc_agent_new a = {"tg-x", 152, "noop", "x", NULL};
  EXPECT(arec_svc_user_upsert(f.svc, &me, 152, "Hijack", &res), 404);
  EXPECT(arec_svc_exchange_add(f.svc, &me, 152, "binance", "k", "s", 1, &ex,
                               &res),
         404);
  EXPECT(arec_svc_pair_add(f.svc, &me, 152, 0, "ETH/USDT", &pid, &res), 404);
  EXPECT(arec_svc_agent_create(f.svc, &me, &a, out, sizeof out, &res), 404);
  EXPECT(arec_svc_agent_assign(f.svc, &me, "tg-other", "BTC/USDT", 1, &res),
         404);
  EXPECT(arec_svc_agent_start(f.svc, &me, "tg-other", pod, sizeof pod, &res),
         404);
  EXPECT(arec_svc_agent_stop(f.svc, &me, "tg-other", &res), 404);
  EXPECT(arec_svc_agent_delete(f.svc, &me, "tg-other", &res), 404);
  EXPECT(arec_svc_stop_all(f.svc, &me, 152, &n, &res), 404);
  arec_agent_record *rec = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &me, "tg-other", &rec, &res), 404);
  ck_assert_str_eq(res.message, "agent not found");
  char *name = NULL;
  EXPECT(arec_svc_user_get(f.svc, &me, 152, &name, &res), 404);
  /* a list asking for another user's shows its own */
  arec_agent_record *v = NULL;
  arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
  flt.user_id = 152;
  EXPECT(arec_svc_agent_list(f.svc, &me, &flt, &v, &n, &res), 200);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(v[0].id, "tg-mine");
  arec_agent_records_free(v, n);
  /* its audit events only */
  arec_svc_event *ev = NULL;
  EXPECT(arec_svc_audit_list(f.svc, &me, 0, 1000, &ev, &n, &res), 200);
  ck_assert_uint_ge(n, 6);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(ev[i].user_id, 151);
  arec_svc_events_free(ev, n);
  /* the other agent is untouched, its own stopped by stop_all */
  EXPECT(arec_svc_stop_all(f.svc, &me, 151, &n, &res), 200);
  ck_assert_uint_eq(n, 1);
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "tg-other", &rec, &res), 200);
  arec_agent_records_free(rec, 1);
  /* an actor without a user id is not let in */
  EXPECT(arec_svc_agent_get(f.svc, &bad, "tg-mine", &rec, &res), 403);
  fix_free(&f);
}
END_TEST

/* ------------------------------------------------------ poison credential */
static const double FLAT[] = {100, 100, 100, 100};

START_TEST(poison_credential_fails_only_its_agent) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  arec_fx_set_prices(f.fx, "BTCUSDT", FLAT, 4);
  long long ex[3];
  const char *ids[3] = {"po-1", "po-2", "po-3"};
  for (int i = 0; i < 3; i++) {
    ex[i] = setup_user(&f, 161 + i, "BTC/USDT");
    create_agent(&f, &ADMIN, ids[i], 161 + i, i == 1 ? "aggressive"
                                                     : "conservative");
    EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, ids[i], "BTC/USDT", 100,
                                 &res),
           201);
  }
  /* the third account's key is another row's ciphertext */
  char q[256];
  snprintf(q, sizeof q,
           "UPDATE user_exchanges SET api_key = (SELECT api_key FROM "
           "user_exchanges WHERE id = %lld) WHERE id = %lld",
           ex[0], ex[2]);
  sql(q);
  arec_repository *repo = arec_svc_repository(f.svc);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(arec_agent_set_trading(repo, ids[i], 1), 0);
  /* the pass that takes over wanted agents (other tests' wanted agents in
   * this database come along: only ours are counted) */
  arec_restore_result rr;
  ck_assert_int_eq(arec_manager_restore(f.mgr, &rr), 0);
  ck_assert_uint_ge(rr.restored, 2);
  ck_assert_uint_ge(rr.failed, 1);
  arec_runner_info *ri = NULL;
  size_t n = 0;
  int ours[3] = {0, 0, 0};
  ck_assert_int_eq(arec_manager_runners(f.mgr, &ri, &n), 0);
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 3; k++)
      ours[k] += strcmp(ri[i].agent_id, ids[k]) == 0;
  arec_runner_info_free(ri, n);
  ck_assert(ours[0] == 1 && ours[1] == 1 && ours[2] == 0);
  arec_agent_record *rec = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "po-3", &rec, &res), 200);
  ck_assert_uint_eq(rec->start_failures, 1);
  ck_assert_ptr_nonnull(rec->last_error);
  char want[96];
  snprintf(want, sizeof want, "user_exchanges row %lld do not decrypt",
           ex[2]);
  ck_assert_msg(strstr(rec->last_error, want), "last_error: %s",
                rec->last_error);
  ck_assert_int_gt(rec->retry_at_ms, 0);
  ck_assert_int_eq(rec->is_trading, 1);
  ck_assert_ptr_null(rec->running_on);
  arec_agent_records_free(rec, 1);
  for (int i = 0; i < 2; i++) {
    EXPECT(arec_svc_agent_get(f.svc, &ADMIN, ids[i], &rec, &res), 200);
    ck_assert_uint_eq(rec->start_failures, 0);
    ck_assert_str_eq(rec->running_on, "pod-a");
    arec_agent_records_free(rec, 1);
  }
  /* a user's start of it says why (refused for good: 422) */
  char pod[64];
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "po-3", pod, sizeof pod, &res),
         422);
  ck_assert_ptr_nonnull(strstr(res.message, want));
  ck_assert(!logged(FX_KEY) && !logged(FX_SECRET));
  fix_free(&f);
}
END_TEST

/* -------------------------------------------------------------- the bot */
START_TEST(bot_offset_fenced_by_the_role) {
  fix f;
  fix_init(&f, 1);
  arec_repository *repo = arec_svc_repository(f.svc);
  long long off = -1;
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(off, 0);
  arec_role_lease a, b;
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-a/1", 60000, &a), 1);
  ck_assert_int_eq(arec_svc_bot_offset_set(f.svc, &a, 1234567890123LL), 0);
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(off, 1234567890123LL);
  sql("UPDATE singleton_roles SET lease_until = clock_timestamp() - interval "
      "'1 second' WHERE name = 'telegram'");
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-b/1", 60000, &b), 1);
  ck_assert_int_eq(arec_svc_bot_offset_set(f.svc, &a, 5), AREC_EFENCED);
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(off, 1234567890123LL);
  ck_assert_int_eq(arec_svc_bot_offset_set(f.svc, &b, 7), 0);
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(off, 7);
  sql("DELETE FROM host_kv WHERE key = 'telegram:offset'");
  fix_free(&f);
}
END_TEST

/* ------------------------------------------------------- strategy registry */
START_TEST(strategy_registry) {
  size_t n = 0;
  const arec_host_strategy *t = arec_host_strategies(&n);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(t[0].name, "noop");
  ck_assert_int_eq(t[0].trading, 0);
  ck_assert_str_eq(t[1].name, "conservative");
  ck_assert_str_eq(t[2].name, "aggressive");
  for (size_t i = 0; i < n; i++) {
    ck_assert_uint_gt(strlen(t[i].summary), 10);
    ck_assert_ptr_null(strchr(t[i].summary, '\n'));
    ck_assert_ptr_eq(arec_host_strategy_find(t[i].name), &t[i]);
  }
  ck_assert_ptr_null(arec_host_strategy_find("ghost"));

  fix f;
  fix_init(&f, 0);
  char **names = NULL;
  ck_assert_int_eq(arec_svc_strategies(f.svc, &names, &n), 0);
  ck_assert_uint_eq(n, 5);
  const char *want[5] = {"aggressive", "conservative", "flaky", "noop",
                         "refuser"};
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(names[i], want[i]);
  arec_strings_free(names, n);
  ck_assert_int_eq(arec_host_strategies_register(f.mgr, &f.ctx), AREC_EEXIST);
  /* without a trading config: noop only */
  arec_memory_store *ms = NULL;
  arec_repository *r = NULL;
  arec_lock *l = NULL;
  arec_manager *m = NULL;
  ck_assert_int_eq(arec_memory_store_new(&ms), 0);
  ck_assert_int_eq(arec_memory_repository_new(&r, ms), 0);
  ck_assert_int_eq(arec_memory_lock_new(&l, ms), 0);
  arec_manager_options mo = AREC_MANAGER_OPTIONS_INIT;
  mo.pod_name = "pod-m";
  mo.log = sink;
  ck_assert_int_eq(arec_manager_new(&m, &mo, r, l), 0);
  arec_host_strategy_ctx c = {0, NULL};
  ck_assert_int_eq(arec_host_strategies_register(m, &c), 0);
  ck_assert_int_eq(arec_manager_has_type(m, "noop"), 1);
  ck_assert_int_eq(arec_manager_has_type(m, "aggressive"), 0);
  arec_manager_free(m);
  arec_memory_store_free(ms);

  /* no secrets key: accounts cannot be stored (503, said plainly) */
  arec_svc_result res;
  long long ex = 0;
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 171, "Nokey", &res), 201);
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 171, "binance", "k", "s", 1,
                               &ex, &res),
         503);
  ck_assert_ptr_nonnull(strstr(res.message, "AGENT_SECRETS_KEY"));
  const char *const *xs = arec_svc_exchanges();
  ck_assert_str_eq(xs[0], "binance");
  ck_assert_ptr_null(xs[1]);
  fix_free(&f);
}
END_TEST

int main(void) {
  if (arec_test_pg_start_migrated(&g_pg) != 0)
    return 1;
  Suite *s = suite_create("host-service");
  TCase *tc = tcase_create("service");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, statuses_of_accounts_and_agents);
  tcase_add_test(tc, statuses_of_starts);
  tcase_add_test(tc, internal_errors_name_only_a_request_id);
  tcase_add_test(tc, audit_for_mutations_not_reads);
  tcase_add_test(tc, read_actor_forbidden_everywhere);
  tcase_add_test(tc, telegram_actor_sees_only_its_own);
  tcase_add_test(tc, poison_credential_fails_only_its_agent);
  tcase_add_test(tc, bot_offset_fenced_by_the_role);
  tcase_add_test(tc, strategy_registry);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  arec_test_pg_stop(&g_pg);
  return failed ? 1 : 0;
}
