/*
 * svc_fixture.c -- the host service layer's test fixture (svc_fixture.h).
 *
 * How: fix_init opens the administrative pool and the manager's pool on
 * the binary's database (store_fixture.h), the memory lock, the host's
 * store (with the test key or without), a fake exchange and its hub for
 * the trading strategies, the manager with the host's strategies and the
 * two test types, and the service; fix_free frees them in reverse.  The
 * audit helpers read through the service as an admin does.
 *
 * Never: share a fixture between tests (each test is a forked child), or
 * let the test types do anything but refuse or fail to start.
 */
#include "svc_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char KEY[32] = "0123456789abcdef0123456789abcdef";

const arec_svc_actor ADMIN = {AREC_ACTOR_API_ADMIN, 0, "req-admin"};
const arec_svc_actor READER = {AREC_ACTOR_API_READ, 0, NULL};
const arec_svc_actor OPEN = {AREC_ACTOR_API_OPEN, 0, NULL};

/* "refuser": start refuses for good; "flaky": start fails for now. */
static int refuse_start(void **st, arec_agent *a,
                        const arec_agent_info *i, void *ud) {
  (void)st, (void)a, (void)i, (void)ud;
  arec_error_set("this agent refuses: no can do");
  return AREC_EINVAL;
}
static int flaky_start(void **st, arec_agent *a,
                       const arec_agent_info *i, void *ud) {
  (void)st, (void)a, (void)i, (void)ud;
  arec_error_set("exchange down for now");
  return AREC_EUNAVAILABLE;
}
static int x_step(void *st, arec_agent *a, int64_t *d, void *ud) {
  (void)st, (void)a, (void)ud;
  *d = 1000;
  return 0;
}
static int x_snap(void *st, arec_agent *a, arec_snapshot *s,
                  void *ud) {
  (void)st, (void)a, (void)s, (void)ud;
  return 0;
}
static void x_stop(void *st, arec_agent *a, arec_stop_reason r,
                   void *ud) {
  (void)st, (void)a, (void)r, (void)ud;
}

void fix_init(fix *f, int with_key) {
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
  arec_svc_options so = {.pg = f->pg, .repo = repo, .mgr = f->mgr,
                         .store = f->store, .pod = "pod-a", .log = sink};
  ck_assert_int_eq(arec_svc_new(&f->svc, &so), 0);
}

void fix_free(fix *f) {
  arec_svc_free(f->svc);
  arec_manager_free(f->mgr);
  arec_host_store_free(f->store);
  arec_memory_store_free(f->mst);
  arec_exchange_hub_free(f->hub);
  arec_fx_stop(f->fx);
  arec_pg_free(f->mpg);
  arec_pg_free(f->pg);
}

long long audit_rows(void) {
  return sql_ll("SELECT count(*) FROM audit_events");
}

/* The newest audit event (through the service, as an admin reads it). */
arec_svc_event *last_event(fix *f, arec_svc_event **all,
                           size_t *n) {
  arec_svc_result res;
  long long newest = sql_ll("SELECT coalesce(max(id), 1) FROM audit_events");
  ck_assert_int_eq(arec_svc_audit_list(f->svc, &ADMIN, newest - 1, 10, all, n,
                                       &res),
                   0);
  ck_assert_uint_eq(*n, 1);
  return &(*all)[0];
}

void expect_event(fix *f, const char *actor,
                  const char *action, const char *agent,
                  long long uid, const char *result_prefix) {
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
long long setup_user(fix *f, long long uid,
                     const char *symbol) {
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

void create_agent(fix *f, const arec_svc_actor *who,
                  const char *id, long long uid,
                  const char *strategy) {
  arec_svc_result res;
  char out[AREC_AGENT_ID_MAX + 1];
  arec_svc_agent_new a = {id, uid, strategy, "An agent", NULL, NULL};
  EXPECT(arec_svc_agent_create(f->svc, who, &a, out, sizeof out, &res), 201);
  ck_assert_str_eq(out, id);
}
