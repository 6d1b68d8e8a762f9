/*
 * test_core_toy.h -- the toy agent type and helpers shared by the
 * tests/test_core_*.c binaries (included by each, not a binary itself).
 *
 * The toy agent counts its steps in its memory JSON ({"n":K}), so every
 * step changes its snapshot; a control block (toy_ctl, the type's userdata)
 * lets a test block a step, make a step call arec_agent_save(), and read
 * back how many starts, steps and stops (per reason) happened.
 */
#ifndef AREC_TEST_CORE_TOY_H
#define AREC_TEST_CORE_TOY_H

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "agentrecover/sys/lock.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"

typedef struct toy_ctl {
  atomic_int starts;
  atomic_int stops[5];
  atomic_long steps;
  atomic_long max_n_at_start; /* highest "n" seen in memory at start */
  int64_t delay_ms;           /* step delay */
  atomic_int block;           /* steps of block_id block while set */
  atomic_int in_block;
  char block_id[65];
  atomic_int save_in_step; /* next step of save_id calls arec_agent_save */
  char save_id[65];
  atomic_int save_rc;  /* result of that save */
  atomic_int save_done;
  atomic_int stop_self; /* next step calls stop_agent on itself */
  arec_manager *mgr;    /* for stop_self */
} toy_ctl;

typedef struct toy_state {
  char id[65];
  size_t n;
  char sym[4][32];
  double bal[4];
  long steps;
} toy_state;

static inline void toy_sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static inline int toy_start(void **out, arec_agent *agent,
                            const arec_agent_info *info, void *ud) {
  toy_ctl *c = ud;
  toy_state *s = calloc(1, sizeof *s);
  (void)agent;
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

static inline int toy_step(void *state, arec_agent *agent, int64_t *delay,
                           void *ud) {
  toy_ctl *c = ud;
  toy_state *s = state;
  s->steps++;
  atomic_fetch_add(&c->steps, 1);
  if (atomic_load(&c->block) && strcmp(c->block_id, s->id) == 0) {
    atomic_store(&c->in_block, 1);
    while (atomic_load(&c->block))
      toy_sleep_ms(2);
  }
  if (atomic_load(&c->save_in_step) && strcmp(c->save_id, s->id) == 0) {
    atomic_store(&c->save_in_step, 0);
    s->bal[0] += 1000; /* a change the test can look for */
    atomic_store(&c->save_rc, arec_agent_save(agent));
    atomic_store(&c->save_done, 1);
  }
  if (atomic_load(&c->stop_self) && c->mgr) {
    atomic_store(&c->stop_self, 0);
    arec_manager_stop_agent(c->mgr, s->id);
  }
  *delay = c->delay_ms;
  return 0;
}

static inline int toy_snapshot(void *state, arec_agent *agent,
                               arec_snapshot *snap, void *ud) {
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

static inline void toy_stop(void *state, arec_agent *agent,
                            arec_stop_reason reason, void *ud) {
  toy_ctl *c = ud;
  (void)agent;
  if ((int)reason >= 0 && (int)reason < 5)
    atomic_fetch_add(&c->stops[reason], 1);
  free(state);
}

/* ------------------------------------------------------------ log capture */
typedef struct logcap {
  pthread_mutex_t mu;
  char *buf;
  size_t len, cap;
} logcap;

static inline void logcap_fn(void *ud, arec_log_level level, const char *msg,
                             const arec_log_field *f, size_t n) {
  logcap *lc = ud;
  char line[1024];
  size_t k = arec_log_format(line, sizeof line, 0, level, msg, f, n);
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

static inline void logcap_init(logcap *lc) {
  memset(lc, 0, sizeof *lc);
  pthread_mutex_init(&lc->mu, NULL);
}

/* 1 when some captured line contains `needle` */
static inline int logcap_has(logcap *lc, const char *needle) {
  pthread_mutex_lock(&lc->mu);
  int r = lc->buf && strstr(lc->buf, needle) != NULL;
  pthread_mutex_unlock(&lc->mu);
  return r;
}

static inline void logcap_free(logcap *lc) {
  free(lc->buf);
  pthread_mutex_destroy(&lc->mu);
}

static inline void toy_log_null(void *ud, arec_log_level level,
                                const char *msg, const arec_log_field *f,
                                size_t n) {
  (void)ud, (void)level, (void)msg, (void)f, (void)n;
}

/* ---------------------------------------------------------------- helpers */
/* Creates agents <prefix>0..n-1 (strategy "toy", one symbol), wanted. */
static inline void toy_agents(arec_memory_store *st, const char *prefix,
                              int n) {
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  for (int i = 0; i < n; i++) {
    char id[64];
    snprintf(id, sizeof id, "%s%d", prefix, i);
    ck_assert_int_eq(arec_memory_agent_create(st, id, 1 + i % 7, "toy", id),
                     0);
    ck_assert_int_eq(arec_memory_agent_assign(st, id, "BTC/USDT", 1000.0), 0);
    ck_assert_int_eq(repo->set_trading(repo, id, 1), 0);
  }
  repo->free(repo);
}

typedef struct toy_opts {
  int64_t ttl, refresh, reconcile, save, shutdown;
  unsigned int workers;
  logcap *log;
  arec_log_level level;
} toy_opts;

static inline arec_manager *toy_manager(arec_memory_store *st,
                                        const char *pod, toy_ctl *ctl,
                                        const toy_opts *o) {
  arec_repository *repo = NULL;
  arec_lock *lock = NULL;
  arec_manager *mgr = NULL;
  arec_manager_options opts = AREC_MANAGER_OPTIONS_INIT;
  arec_agent_type type = AREC_AGENT_TYPE_INIT;
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, st), 0);
  opts.pod_name = pod;
  opts.lock_ttl_ms = o->ttl ? o->ttl : 600;
  opts.refresh_interval_ms = o->refresh ? o->refresh : opts.lock_ttl_ms / 4;
  opts.reconcile_interval_ms = o->reconcile;
  opts.save_interval_ms = o->save ? o->save : 100;
  opts.shutdown_timeout_ms = o->shutdown ? o->shutdown : 3000;
  opts.workers = o->workers ? o->workers : 4;
  if (o->log) {
    opts.log = logcap_fn;
    opts.log_userdata = o->log;
  } else {
    opts.log = toy_log_null;
  }
  if (o->log)
    opts.log_level = o->level;
  ck_assert_int_eq(arec_manager_new(&mgr, &opts, repo, lock), 0);
  type.name = "toy";
  type.userdata = ctl;
  type.start = toy_start;
  type.step = toy_step;
  type.snapshot = toy_snapshot;
  type.stop = toy_stop;
  ck_assert_int_eq(arec_manager_register_type(mgr, &type), 0);
  return mgr;
}

static inline size_t toy_nrunners(arec_manager *mgr) {
  arec_runner_info *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_manager_runners(mgr, &v, &n), 0);
  arec_runner_info_free(v, n);
  return n;
}

static inline int toy_has_runner(arec_manager *mgr, const char *id) {
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

/* Polls cond() every 5 ms until true or `ms` passed; returns cond(). */
#define WAIT_UNTIL(cond, ms)                                                   \
  do {                                                                         \
    for (int wu_i = 0; wu_i < (ms) / 5 && !(cond); wu_i++)                     \
      toy_sleep_ms(5);                                                         \
  } while (0)

static inline int lock_free_p(arec_memory_store *st, const char *id) {
  char key[96], buf[200];
  int64_t ttl;
  snprintf(key, sizeof key, "agent:lock:%s", id);
  return arec_memory_lock_peek(st, key, buf, sizeof buf, &ttl) ==
         AREC_ENOTFOUND;
}

static inline arec_memory_agent agent_row(arec_memory_store *st,
                                          const char *id) {
  arec_memory_agent a;
  memset(&a, 0, sizeof a);
  ck_assert_int_eq(arec_memory_agent_get(st, id, &a), 0);
  return a;
}

#endif
