/*
 * toy_agent.h -- the toy agent type and the helpers the tests of the core
 * share (tests/test_core_*.c): an agent type whose memory counts its steps,
 * a control block to block, fail or stop it, a log capture, agents created
 * through the administration API, and managers over a memory store.
 *
 * The toy agent counts its steps in its memory JSON ({"n":K}), so every
 * step changes its snapshot; the control block (toy_ctl, the type's
 * userdata) lets a test block a step, make a step call arec_agent_save(),
 * make start() or step() fail for one agent with a reason, and read back
 * how many starts, steps and stops (per reason) happened.
 */
#ifndef AREC_TEST_TOY_AGENT_H
#define AREC_TEST_TOY_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "agentrecover/sys/repository.h"

typedef struct toy_ctl {
  atomic_int starts; /* successful starts */
  atomic_int stops[5];
  atomic_long steps;
  atomic_long max_n_at_start; /* highest "n" seen in memory at start */
  int64_t delay_ms;           /* step delay */
  atomic_int block;           /* steps of block_id block while set */
  atomic_int in_block;
  char block_id[65];
  atomic_int save_in_step; /* next step of save_id calls arec_agent_save */
  char save_id[65];
  atomic_int save_rc; /* result of that save */
  atomic_int save_done;
  atomic_int stop_self; /* next step calls stop_agent on itself */
  arec_manager *mgr;    /* for stop_self */
  /* failures: start() / every step() of fail_id ("" = every agent) return
   * start_rc / step_rc (< 0) after arec_error_set("%s", fail_text) */
  char fail_id[65];
  char fail_text[128];
  atomic_int start_rc;
  atomic_int step_rc;
  atomic_int start_calls; /* every start() call, refused ones included */
  atomic_int fails;       /* failures returned by start() or step() */
  atomic_int report_in_step; /* next step of fail_id reports fail_text */
  atomic_int report_rc;      /* what arec_agent_report answered */
  atomic_int report_done;
} toy_ctl;

void toy_ctl_init(toy_ctl *c, int64_t delay_ms);

int toy_start(void **out, arec_agent *agent, const arec_agent_info *info,
              void *ud);
int toy_step(void *state, arec_agent *agent, int64_t *delay, void *ud);
int toy_snapshot(void *state, arec_agent *agent, arec_snapshot *snap,
                 void *ud);
void toy_stop(void *state, arec_agent *agent, arec_stop_reason reason,
              void *ud);
/* The toy type under `name` with `ctl` as userdata. */
arec_agent_type toy_type(const char *name, toy_ctl *ctl);

void toy_sleep_ms(int64_t ms);
void toy_log_null(void *ud, arec_log_level level, const char *msg,
                  const arec_log_field *f, size_t n);

/* ------------------------------------------------------------ log capture */
typedef struct logcap {
  pthread_mutex_t mu;
  char *buf;
  size_t len, cap;
  int json; /* lines formatted as JSON */
} logcap;

void logcap_init(logcap *lc);
void logcap_fn(void *ud, arec_log_level level, const char *msg,
               const arec_log_field *f, size_t n);
/* 1 when some captured line contains `needle` */
int logcap_has(logcap *lc, const char *needle);
/* Number of captured lines containing `needle`. */
int logcap_count(logcap *lc, const char *needle);
void logcap_clear(logcap *lc);
void logcap_free(logcap *lc);

/* ----------------------------------------------------------------- agents */
/* Creates agent `id` (strategy, user_id 1, name = id, requires may be NULL)
 * with one symbol BTC/USDT of budget 1000 through the administration API;
 * wanted when `trading`. */
void toy_agent(arec_memory_store *st, const char *id, const char *strategy,
               const char *requires, int trading);
/* arec_agent_create through r of agent id (user_id, strategy, name; params
 * and requires may be NULL): its return code; *got (AREC_AGENT_ID_MAX + 1
 * bytes, may be NULL) the agent's id. */
int toy_create(arec_repository *r, const char *id, long long user_id,
               const char *strategy, const char *name, const char *params,
               const char *requires, char *got);
/* Creates agents <prefix>0..n-1 (strategy "toy", one symbol), wanted. */
void toy_agents(arec_memory_store *st, const char *prefix, int n);
/* A new memory store (asserted) with toy_agents(prefix, n) in it (none
 * when n is 0). */
arec_memory_store *toy_store(const char *prefix, int n);
/* toy_store with the store's clock manual from now_ms on, set before the
 * agents are made. */
arec_memory_store *toy_store_manual(int64_t now_ms, const char *prefix,
                                    int n);
/* Another symbol for an existing agent. */
void toy_assign(arec_memory_store *st, const char *id, const char *symbol,
                double budget);
void toy_set_active(arec_memory_store *st, const char *id, int active);

/* What a test reads back about an agent (arec_agent_get). */
typedef struct toy_row {
  int is_active;
  int is_trading;
  uint64_t fence;
  char running_on[128];         /* "" when NULL */
  char running_incarnation[64]; /* "" when NULL */
  unsigned int start_failures;
  char last_error[512];         /* "" when NULL */
  int64_t retry_at_ms;
} toy_row;
toy_row agent_row(arec_memory_store *st, const char *id);

/* --------------------------------------------------------------- managers */
typedef struct toy_opts {
  int64_t ttl, refresh, reconcile, save, shutdown;
  unsigned int workers;
  logcap *log;
  arec_log_level level;
  const char *type_name;    /* NULL: "toy" */
  const char *capabilities; /* NULL: none */
  int no_takeover;          /* 1: takeover = 0 */
  int64_t stop_check;       /* 0: default */
  int64_t backoff_min, backoff_max; /* 0: defaults */
} toy_opts;

/* Options with only the lock TTL and refresh interval set: no reconcile
 * loop, every other field 0 (the manager's defaults). */
toy_opts toy_quiet(int64_t ttl, int64_t refresh);

/* The options of a manager of pod as o says (what toy_manager uses; o's
 * zero fields: TTL 600 ms, refresh TTL/4, saves every 100 ms, shutdown
 * 3000 ms, 4 workers, no log). */
arec_manager_options toy_manager_options(const char *pod, const toy_opts *o);
/* A manager of pod on st as o says, the toy type registered for ctl. */
arec_manager *toy_manager(arec_memory_store *st, const char *pod,
                          toy_ctl *ctl, const toy_opts *o);
/* A manager of options opts on st, with a repository and a lock of its own
 * on st (asserted to start); no agent type registered. */
arec_manager *toy_manager_on(arec_memory_store *st,
                             const arec_manager_options *opts);
size_t toy_nrunners(arec_manager *mgr);
/* The manager's metrics (the read asserted). */
arec_metrics toy_metrics(arec_manager *mgr);
int toy_has_runner(arec_manager *mgr, const char *id);
/* 1 when agent id's lock key is free. */
int lock_free_p(arec_memory_store *st, const char *id);

/* Polls cond every 5 ms until true or `ms` passed. */
#define WAIT_UNTIL(cond, ms)                                                   \
  do {                                                                         \
    for (int wu_i = 0; wu_i < (ms) / 5 && !(cond); wu_i++)                     \
      toy_sleep_ms(5);                                                         \
  } while (0)

#endif
