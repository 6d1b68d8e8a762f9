/*
 * test_trading_fixture.h -- shared by tests/test_trading_agent.c and
 * tests/test_trading_reconcile.c: the fake exchange, an exchange hub, the
 * trading config, an in-memory store with one agent "ag1" on BTC/USDT
 * (budget 1000; its params say "mode": "live" in a live fixture), managers ("pods") on that store whose agent types are the
 * real ones wrapped to record the error text of a failing step, a log
 * capture, and helpers to read the stored memory.  Header-only (static
 * functions): each binary includes it once.
 */
#ifndef AREC_TEST_TRADING_FIXTURE_H
#define AREC_TEST_TRADING_FIXTURE_H

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "support/host/fake_exchange.h"
#include "trading/strategy.h"
#include "trading/trader.h"
#include "trading/trading.h"

#define TF_UNUSED __attribute__((unused))

#define KEY "k-123"
#define SECRET "s-456"
#define AGENT "ag1"
#define SYM "BTC/USDT"

/* ---------------------------------------------------------- log capture */
typedef struct logcap {
  pthread_mutex_t mu;
  char buf[65536];
  size_t n;
} logcap;

static TF_UNUSED void cap_log(void *ud, arec_log_level lvl, const char *msg,
                    const arec_log_field *f, size_t nf) {
  logcap *c = ud;
  char line[768];
  size_t len = arec_log_format(line, sizeof line, 0, lvl, msg, f, nf);
  if (len >= sizeof line) len = sizeof line - 1;
  pthread_mutex_lock(&c->mu);
  if (c->n + len < sizeof c->buf) {
    memcpy(c->buf + c->n, line, len);
    c->n += len;
    c->buf[c->n] = '\0';
  }
  pthread_mutex_unlock(&c->mu);
  if (getenv("TRADING_TEST_LOG")) fputs(line, stderr);
}

static TF_UNUSED int cap_has(logcap *c, const char *s) {
  pthread_mutex_lock(&c->mu);
  int r = strstr(c->buf, s) != NULL;
  pthread_mutex_unlock(&c->mu);
  return r;
}

static TF_UNUSED int cap_count(logcap *c, const char *s) {
  int n = 0;
  pthread_mutex_lock(&c->mu);
  for (const char *p = c->buf; (p = strstr(p, s)); p++) n++;
  pthread_mutex_unlock(&c->mu);
  return n;
}

/* ------------------------------------------------------------- fixture */
typedef struct fix {
  arec_fx *fx;
  arec_exchange_hub *hub;
  arec_host_trading_config cfg;
  arec_memory_store *st;
  logcap lc;
  pthread_mutex_t mu;
  int buys, sells;
  char step_error[512]; /* arec_error_last() of the last failing step */
  int step_rc;
  arec_agent_type real; /* the wrapped type */
} fix;

static TF_UNUSED void on_trade(void *ud, const char *agent_id, const char *symbol,
                     const char *side, double qty, double price, int live) {
  fix *f = ud;
  (void)agent_id; (void)symbol; (void)qty; (void)price; (void)live;
  pthread_mutex_lock(&f->mu);
  if (strcmp(side, "BUY") == 0) f->buys++;
  else f->sells++;
  pthread_mutex_unlock(&f->mu);
}

/* The fixture with the pod's mode `live` and the agent's params (NULL:
 * "mode": "live" on a live pod, none otherwise). */
static TF_UNUSED void fix_init_p(fix *f, int live, const char *params) {
  arec_exchange_hub_options ho = AREC_EXCHANGE_HUB_OPTIONS_INIT;
  arec_host_trading_config c = AREC_HOST_TRADING_CONFIG_INIT;
  memset(f, 0, sizeof *f);
  pthread_mutex_init(&f->lc.mu, NULL);
  pthread_mutex_init(&f->mu, NULL);
  ck_assert_int_eq(arec_fx_start(&f->fx, KEY, SECRET), 0);
  ho.cooldown_ms = 50;
  ho.log = cap_log;
  ho.log_userdata = &f->lc;
  ck_assert_int_eq(arec_exchange_hub_new(&f->hub, &ho), 0);
  c.hub = f->hub;
  c.live = live;
  c.allow_mainnet = 1;
  c.api_base = arec_fx_url(f->fx);
  c.step_interval_ms = 15;
  c.request_timeout_ms = 400;
  c.connect_timeout_ms = 400;
  c.order_timeout_ms = 300;
  c.on_trade = on_trade;
  c.trade_userdata = f;
  c.default_api_key = KEY;
  c.default_api_secret = SECRET;
  c.reject_backoff_ms = 100;
  f->cfg = c;
  ck_assert_int_eq(arec_memory_store_new(&f->st), 0);
  arec_repository *repo;
  arec_agent_spec spec = AREC_AGENT_SPEC_INIT;
  char id[AREC_AGENT_ID_MAX + 1];
  spec.id = AGENT;
  spec.user_id = 7;
  spec.strategy = "aggressive";
  spec.name = "My Agent";
  spec.params = params ? params : live ? "{\"mode\":\"live\"}" : NULL;
  ck_assert_int_eq(arec_memory_repository_new(&repo, f->st), 0);
  ck_assert_int_eq(arec_agent_create(repo, &spec, id, sizeof id), 0);
  ck_assert_int_eq(arec_agent_assign(repo, AGENT, SYM, 1000), 0);
  arec_repository_free(repo);
}

static TF_UNUSED void fix_init(fix *f, int live) { fix_init_p(f, live, NULL); }

static TF_UNUSED void fix_free(fix *f) {
  arec_memory_store_free(f->st);
  arec_exchange_hub_free(f->hub);
  arec_fx_stop(f->fx);
}

/* The end of a test: the manager mgr and the memory m read back (each
 * may be NULL), then the fixture freed. */
static TF_UNUSED void fix_done(fix *f, arec_manager *mgr, arec_sym_mem *m) {
  arec_manager_free(mgr);
  free(m);
  fix_free(f);
}

/* the real step, with the error text of a failure kept (same thread) */
static TF_UNUSED int w_step(void *state, arec_agent *agent, int64_t *delay, void *ud) {
  fix *f = ud;
  int rc = f->real.step(state, agent, delay, f->real.userdata);
  if (rc < 0) {
    pthread_mutex_lock(&f->mu);
    snprintf(f->step_error, sizeof f->step_error, "%s", arec_error_last());
    f->step_rc = rc;
    pthread_mutex_unlock(&f->mu);
  }
  return rc;
}
static TF_UNUSED int w_start(void **st, arec_agent *a, const arec_agent_info *i, void *ud) {
  fix *f = ud;
  return f->real.start(st, a, i, f->real.userdata);
}
static TF_UNUSED int w_snapshot(void *st, arec_agent *a, arec_snapshot *s, void *ud) {
  fix *f = ud;
  return f->real.snapshot(st, a, s, f->real.userdata);
}
static TF_UNUSED void w_stop(void *st, arec_agent *a, arec_stop_reason r, void *ud) {
  fix *f = ud;
  f->real.stop(st, a, r, f->real.userdata);
}

static TF_UNUSED arec_manager *manager_s(fix *f, const char *pod, int64_t save_ms) {
  arec_repository *repo;
  arec_lock *lock;
  arec_manager *m;
  arec_manager_options o = AREC_MANAGER_OPTIONS_INIT;
  arec_restore_result rr;
  arec_agent_type t = AREC_AGENT_TYPE_INIT;
  ck_assert_int_eq(arec_memory_repository_new(&repo, f->st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, f->st), 0);
  o.pod_name = pod;
  o.lock_ttl_ms = 30000;
  o.refresh_interval_ms = 10000;
  o.reconcile_interval_ms = 0;
  o.save_interval_ms = save_ms;
  o.workers = 2;
  o.log = cap_log;
  o.log_userdata = &f->lc;
  o.log_level = AREC_LOG_DEBUG;
  ck_assert_int_eq(arec_manager_new(&m, &o, repo, lock), 0);
  arec__host_trading_type(&f->real, "aggressive", &f->cfg);
  t.name = "aggressive";
  t.userdata = f;
  t.start = w_start;
  t.step = w_step;
  t.snapshot = w_snapshot;
  t.stop = w_stop;
  ck_assert_int_eq(arec_manager_register_type(m, &t), 0);
  ck_assert_int_eq(arec_manager_restore(m, &rr), 0);
  return m;
}

static TF_UNUSED arec_manager *manager(fix *f, const char *pod) {
  return manager_s(f, pod, 200);
}

/* A simulated kill -9 of `m` (pod `pod`): its lease and lock are gone. */
static TF_UNUSED void kill_pod(fix *f, arec_manager *m, const char *pod) {
  arec_manager_abandon(m);
  arec_manager_free(m);
  ck_assert_int_eq(arec_memory_pod_expire(f->st, pod), 0);
  arec_memory_lock_drop(f->st, "agent:lock:" AGENT);
}

static TF_UNUSED void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

/* The stored memory of the agent's symbol (heap: it is large). */
static TF_UNUSED arec_sym_mem *stored(fix *f, double *bal) {
  arec_sym_mem *m = calloc(1, sizeof *m);
  char *js = NULL;
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(arec_memory_state_get(f->st, AGENT, SYM, bal, &js, NULL), 0);
  arec__mem_from_json(m, js);
  arec_free(js);
  return m;
}

static TF_UNUSED char *stored_json(fix *f) {
  char *js = NULL;
  ck_assert_int_eq(arec_memory_state_get(f->st, AGENT, SYM, NULL, &js, NULL), 0);
  return js;
}

/* Waits up to ms for the stored memory to show trades >= n. */
static TF_UNUSED arec_sym_mem *wait_trades(fix *f, uint64_t n, int ms) {
  for (int t = 0;; t += 10) {
    arec_sym_mem *m = stored(f, NULL);
    if (m->trades >= n || t >= ms) return m;
    free(m);
    sleep_ms(10);
  }
}

static TF_UNUSED size_t nrunners(arec_manager *m) {
  arec_runner_info *ri;
  size_t n = 0;
  ck_assert_int_eq(arec_manager_runners(m, &ri, &n), 0);
  arec_runner_info_free(ri, n);
  return n;
}

static TF_UNUSED void wait_no_runner(arec_manager *m, int ms) {
  for (int t = 0; t < ms && nrunners(m) > 0; t += 10) sleep_ms(10);
}

/* 9 x 100 then a rise to 104, which then repeats: one BUY at 101 (of
 * 30 % of 1000: 2.97029702), then the position is held. */
static TF_UNUSED const double RISE[] = {100, 100, 100, 100, 100, 100, 100,
                              100, 100, 101, 102, 103, 104};
#define NRISE (sizeof RISE / sizeof RISE[0])
/* The rise above on BTCUSDT, a manager of pod on f and the agent started
 * there (asserted): the start of most tests. */
static TF_UNUSED arec_manager *start_on_rise(fix *f, const char *pod) {
  arec_fx_set_prices(f->fx, "BTCUSDT", RISE, NRISE);
  arec_manager *m = manager(f, pod);
  ck_assert_int_eq(arec_manager_start_agent(m, AGENT), 0);
  return m;
}

static TF_UNUSED const double FALL[] = {104, 103, 102, 101, 100, 99, 98, 97, 96, 95};
#define NFALL (sizeof FALL / sizeof FALL[0])

#endif
