/*
 * toy_agent.c -- the toy agent type and the shared helpers of the core's
 * tests (see toy_agent.h).  Everything goes through the public API only:
 * agents are made with arec_agent_create/assign/set_trading on a memory
 * repository handle, rows read back with arec_agent_get.
 *
 * A helper that cannot do its job fails the calling Check test (ck_assert);
 * the agent type itself never asserts (it runs on manager threads).
 */
#include "toy_agent.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover/sys/repository.h"

typedef struct toy_state {
  char id[65];
  size_t n;
  char sym[4][32];
  double bal[4];
  long steps;
} toy_state;

void toy_ctl_init(toy_ctl *c, int64_t delay_ms) {
  memset(c, 0, sizeof *c);
  c->delay_ms = delay_ms;
}

void toy_sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int fails_here(toy_ctl *c, const char *id) {
  return c->fail_id[0] == '\0' || strcmp(c->fail_id, id) == 0;
}

/* What start() or step() of agent id returns when the test made them fail
 * (*rc_of < 0 for this agent): that code, after arec_error_set(fail_text);
 * 0 otherwise. */
static int injected_failure(toy_ctl *c, atomic_int *rc_of, const char *id) {
  int rc = atomic_load(rc_of);
  if (rc >= 0 || !fails_here(c, id))
    return 0;
  atomic_fetch_add(&c->fails, 1);
  arec_error_set("%s", c->fail_text);
  return rc;
}

/* 1, with *flag cleared, when the one-shot *flag is set and `here`. */
static int fire_once(atomic_int *flag, int here) {
  if (!here || !atomic_load(flag))
    return 0;
  atomic_store(flag, 0);
  return 1;
}

int toy_start(void **out, arec_agent *agent, const arec_agent_info *info,
              void *ud) {
  toy_ctl *c = ud;
  (void)agent;
  atomic_fetch_add(&c->start_calls, 1);
  int rc = injected_failure(c, &c->start_rc, info->id);
  if (rc < 0)
    return rc;
  toy_state *s = calloc(1, sizeof *s);
  if (!s)
    return AREC_ENOMEM;
  snprintf(s->id, sizeof s->id, "%s", info->id);
  for (size_t i = 0; i < info->nsymbols && i < 4; i++) {
    snprintf(s->sym[i], sizeof s->sym[i], "%s", info->symbols[i].symbol);
    s->bal[i] = info->symbols[i].balance;
    long k = 0;
    if (info->symbols[i].memory &&
        sscanf(info->symbols[i].memory, "{\"n\":%ld}", &k) == 1) {
      long cur = atomic_load(&c->max_n_at_start);
      while (k > cur &&
             !atomic_compare_exchange_weak(&c->max_n_at_start, &cur, k))
        ;
      s->steps = k;
    }
    s->n++;
  }
  *out = s;
  atomic_fetch_add(&c->starts, 1);
  return 0;
}

int toy_step(void *state, arec_agent *agent, int64_t *delay, void *ud) {
  toy_ctl *c = ud;
  toy_state *s = state;
  s->steps++;
  atomic_fetch_add(&c->steps, 1);
  *delay = c->delay_ms;
  if (atomic_load(&c->block) && strcmp(c->block_id, s->id) == 0) {
    atomic_store(&c->in_block, 1);
    while (atomic_load(&c->block))
      toy_sleep_ms(2);
  }
  if (fire_once(&c->save_in_step, strcmp(c->save_id, s->id) == 0)) {
    s->bal[0] += 1000; /* a change the test can look for */
    atomic_store(&c->save_rc, arec_agent_save(agent));
    atomic_store(&c->save_done, 1);
  }
  if (fire_once(&c->stop_self, c->mgr != NULL))
    arec_manager_stop_agent(c->mgr, s->id);
  if (fire_once(&c->report_in_step, fails_here(c, s->id))) {
    atomic_store(&c->report_rc, arec_agent_report(agent, c->fail_text));
    atomic_store(&c->report_done, 1);
  }
  return injected_failure(c, &c->step_rc, s->id);
}

int toy_snapshot(void *state, arec_agent *agent, arec_snapshot *snap,
                 void *ud) {
  toy_state *s = state;
  char mem[48];
  (void)agent;
  (void)ud;
  snprintf(mem, sizeof mem, "{\"n\":%ld}", s->steps);
  for (size_t i = 0; i < s->n; i++) {
    int rc = arec_snapshot_put(snap, s->sym[i], s->bal[i], mem);
    if (rc < 0)
      return rc;
  }
  return 0;
}

void toy_stop(void *state, arec_agent *agent, arec_stop_reason reason,
              void *ud) {
  toy_ctl *c = ud;
  (void)agent;
  if ((int)reason >= 0 && (int)reason < 5)
    atomic_fetch_add(&c->stops[reason], 1);
  free(state);
}

arec_agent_type toy_type(const char *name, toy_ctl *ctl) {
  arec_agent_type t = AREC_AGENT_TYPE_INIT;
  t.name = name;
  t.userdata = ctl;
  t.start = toy_start;
  t.step = toy_step;
  t.snapshot = toy_snapshot;
  t.stop = toy_stop;
  return t;
}

void toy_log_null(void *ud, arec_log_level level, const char *msg,
                  const arec_log_field *f, size_t n) {
  (void)ud, (void)level, (void)msg, (void)f, (void)n;
}

/* ------------------------------------------------------------ log capture */
void logcap_init(logcap *lc) {
  memset(lc, 0, sizeof *lc);
  pthread_mutex_init(&lc->mu, NULL);
}

void logcap_fn(void *ud, arec_log_level level, const char *msg,
               const arec_log_field *f, size_t n) {
  logcap *lc = ud;
  char line[2048];
  size_t k = arec_log_format(line, sizeof line, lc->json, level, msg, f, n);
  if (k >= sizeof line)
    k = sizeof line - 1;
  pthread_mutex_lock(&lc->mu);
  if (lc->len + k + 1 > lc->cap) {
    size_t cap = (lc->cap + k + 1) * 2;
    char *b = realloc(lc->buf, cap);
    if (!b) {
      pthread_mutex_unlock(&lc->mu);
      return;
    }
    lc->buf = b;
    lc->cap = cap;
  }
  memcpy(lc->buf + lc->len, line, k);
  lc->len += k;
  lc->buf[lc->len] = '\0';
  pthread_mutex_unlock(&lc->mu);
}

int logcap_has(logcap *lc, const char *needle) {
  return logcap_count(lc, needle) > 0;
}

int logcap_count(logcap *lc, const char *needle) {
  int n = 0;
  pthread_mutex_lock(&lc->mu);
  for (const char *p = lc->buf; p && (p = strstr(p, needle)); p++)
    n++;
  pthread_mutex_unlock(&lc->mu);
  return n;
}

void logcap_clear(logcap *lc) {
  pthread_mutex_lock(&lc->mu);
  lc->len = 0;
  if (lc->buf)
    lc->buf[0] = '\0';
  pthread_mutex_unlock(&lc->mu);
}

void logcap_free(logcap *lc) {
  free(lc->buf);
  pthread_mutex_destroy(&lc->mu);
}

/* ----------------------------------------------------------------- agents */
static arec_repository *repo_of(arec_memory_store *st) {
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  return repo;
}

int toy_create(arec_repository *r, const char *id, long long user_id,
               const char *strategy, const char *name, const char *params,
               const char *requires, char *got) {
  arec_agent_spec spec = AREC_AGENT_SPEC_INIT;
  char buf[AREC_AGENT_ID_MAX + 1];
  spec.id = id;
  spec.user_id = user_id;
  spec.strategy = strategy;
  spec.name = name;
  spec.params = params;
  spec.requires = requires;
  return arec_agent_create(r, &spec, got ? got : buf, sizeof buf);
}

void toy_agent(arec_memory_store *st, const char *id, const char *strategy,
               const char *requires, int trading) {
  arec_repository *repo = repo_of(st);
  int rc = toy_create(repo, id, 1, strategy, id, NULL, requires, NULL);
  ck_assert_msg(rc == 0, "create %s: %s %s", id, arec_err_name(rc),
                arec_error_last());
  ck_assert_int_eq(arec_agent_assign(repo, id, "BTC/USDT", 1000.0), 0);
  if (trading)
    ck_assert_int_eq(arec_agent_set_trading(repo, id, 1), 0);
  arec_repository_free(repo);
}

void toy_agents(arec_memory_store *st, const char *prefix, int n) {
  for (int i = 0; i < n; i++) {
    char id[64];
    snprintf(id, sizeof id, "%s%d", prefix, i);
    toy_agent(st, id, "toy", NULL, 1);
  }
}

arec_memory_store *toy_store(const char *prefix, int n) {
  arec_memory_store *st = NULL;
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  toy_agents(st, prefix, n);
  return st;
}

arec_memory_store *toy_store_manual(int64_t now_ms, const char *prefix,
                                    int n) {
  arec_memory_store *st = toy_store(NULL, 0);
  arec_memory_clock_set(st, now_ms);
  toy_agents(st, prefix, n);
  return st;
}

void toy_assign(arec_memory_store *st, const char *id, const char *symbol,
                double budget) {
  arec_repository *repo = repo_of(st);
  ck_assert_int_eq(arec_agent_assign(repo, id, symbol, budget), 0);
  arec_repository_free(repo);
}

void toy_set_active(arec_memory_store *st, const char *id, int active) {
  arec_repository *repo = repo_of(st);
  ck_assert_int_eq(arec_agent_set_active(repo, id, active), 0);
  arec_repository_free(repo);
}

toy_row agent_row(arec_memory_store *st, const char *id) {
  toy_row row;
  memset(&row, 0, sizeof row);
  arec_repository *repo = repo_of(st);
  arec_agent_record *rec = NULL;
  int rc = arec_agent_get(repo, id, &rec);
  ck_assert_msg(rc == 0, "get %s: %s", id, arec_err_name(rc));
  row.is_active = rec->is_active;
  row.is_trading = rec->is_trading;
  row.fence = rec->fence;
  snprintf(row.running_on, sizeof row.running_on, "%s",
           rec->running_on ? rec->running_on : "");
  snprintf(row.running_incarnation, sizeof row.running_incarnation, "%s",
           rec->running_incarnation ? rec->running_incarnation : "");
  row.start_failures = rec->start_failures;
  snprintf(row.last_error, sizeof row.last_error, "%s",
           rec->last_error ? rec->last_error : "");
  row.retry_at_ms = rec->retry_at_ms;
  arec_agent_records_free(rec, 1);
  arec_repository_free(repo);
  return row;
}

/* --------------------------------------------------------------- managers */
toy_opts toy_quiet(int64_t ttl, int64_t refresh) {
  toy_opts o;
  memset(&o, 0, sizeof o);
  o.ttl = ttl;
  o.refresh = refresh;
  return o;
}

arec_manager *toy_manager_on(arec_memory_store *st,
                             const arec_manager_options *opts) {
  arec_repository *repo = NULL;
  arec_lock *lock = NULL;
  arec_manager *mgr = NULL;
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, st), 0);
  int rc = arec_manager_new(&mgr, opts, repo, lock);
  ck_assert_msg(rc == 0, "manager: %s %s", arec_err_name(rc),
                arec_error_last());
  return mgr;
}

arec_manager_options toy_manager_options(const char *pod,
                                         const toy_opts *o) {
  arec_manager_options opts = AREC_MANAGER_OPTIONS_INIT;
  opts.pod_name = pod;
  opts.lock_ttl_ms = o->ttl ? o->ttl : 600;
  opts.refresh_interval_ms = o->refresh ? o->refresh : opts.lock_ttl_ms / 4;
  opts.reconcile_interval_ms = o->reconcile;
  opts.save_interval_ms = o->save ? o->save : 100;
  opts.shutdown_timeout_ms = o->shutdown ? o->shutdown : 3000;
  opts.workers = o->workers ? o->workers : 4;
  opts.capabilities = o->capabilities;
  opts.takeover = o->no_takeover ? 0 : 1;
  opts.stop_check_interval_ms = o->stop_check;
  opts.backoff_min_ms = o->backoff_min;
  opts.backoff_max_ms = o->backoff_max;
  if (o->log) {
    opts.log = logcap_fn;
    opts.log_userdata = o->log;
    opts.log_level = o->level;
  } else {
    opts.log = toy_log_null;
  }
  return opts;
}

arec_manager *toy_manager(arec_memory_store *st, const char *pod,
                          toy_ctl *ctl, const toy_opts *o) {
  arec_manager_options opts = toy_manager_options(pod, o);
  arec_manager *mgr = toy_manager_on(st, &opts);
  arec_agent_type type = toy_type(o->type_name ? o->type_name : "toy", ctl);
  ck_assert_int_eq(arec_manager_register_type(mgr, &type), 0);
  return mgr;
}

size_t toy_nrunners(arec_manager *mgr) {
  arec_runner_info *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_manager_runners(mgr, &v, &n), 0);
  arec_runner_info_free(v, n);
  return n;
}

arec_metrics toy_metrics(arec_manager *mgr) {
  arec_metrics mt = AREC_METRICS_INIT;
  ck_assert_int_eq(arec_manager_metrics(mgr, &mt), 0);
  return mt;
}

int toy_has_runner(arec_manager *mgr, const char *id) {
  arec_runner_info *v = NULL;
  size_t n = 0;
  int found = 0;
  ck_assert_int_eq(arec_manager_runners(mgr, &v, &n), 0);
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].agent_id, id) == 0)
      found = 1;
  arec_runner_info_free(v, n);
  return found;
}

int lock_free_p(arec_memory_store *st, const char *id) {
  char key[96], buf[200];
  int64_t ttl;
  snprintf(key, sizeof key, "agent:lock:%s", id);
  return arec_memory_lock_peek(st, key, buf, sizeof buf, &ttl) ==
         AREC_ENOTFOUND;
}
