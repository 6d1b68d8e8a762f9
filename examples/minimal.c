/*
 * minimal.c -- the smallest embedding of libagentrecover: the in-memory
 * backends, a toy agent type that counts, one agent created through the
 * administration API and started, a few steps, a graceful shutdown.
 * Build: cc minimal.c $(pkg-config --cflags --libs agentrecover).  Real
 * services pass arec_pg_repository_new() and arec_redis_lock_new()
 * instead of the memory backends; the rest stays the same.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <agentrecover.h>
#include <agentrecover/memory.h>

typedef struct counter {
  long count;
  char symbol[32];
} counter;

static int counter_start(void **out, arec_agent *agent,
                         const arec_agent_info *info, void *ud) {
  (void)agent; (void)ud;
  counter *c = calloc(1, sizeof *c);
  if (!c)
    return AREC_ENOMEM;
  /* continue from the persisted memory, e.g. {"count": 41} */
  if (info->nsymbols > 0) {
    sscanf(info->symbols[0].memory, "{\"count\": %ld}", &c->count);
    snprintf(c->symbol, sizeof c->symbol, "%s", info->symbols[0].symbol);
  }
  *out = c;
  return 0;
}

static int counter_step(void *state, arec_agent *agent, int64_t *delay_ms,
                        void *ud) {
  (void)ud;
  counter *c = state;
  c->count++;
  if (c->count % 10 == 0) {
    char n[32];
    snprintf(n, sizeof n, "%ld", c->count);
    arec_log_field f[] = {{"count", n, AREC_LOG_NUMBER}};
    arec_agent_log(agent, AREC_LOG_INFO, "counter step", f, 1);
  }
  *delay_ms = 20;
  return 0;
}

static int counter_snapshot(void *state, arec_agent *agent,
                            arec_snapshot *snap, void *ud) {
  (void)agent; (void)ud;
  counter *c = state;
  char mem[64];
  snprintf(mem, sizeof mem, "{\"count\": %ld}", c->count);
  return arec_snapshot_put(snap, c->symbol, 100.0, mem);
}

static void counter_stop(void *state, arec_agent *agent,
                         arec_stop_reason why, void *ud) {
  (void)agent; (void)ud;
  printf("agent stopped (%s) after %ld steps\n", arec_stop_reason_name(why),
         ((counter *)state)->count);
  free(state);
}

int main(void) {
  arec_memory_store *store = NULL;
  arec_repository *repo = NULL;
  arec_lock *lock = NULL;
  arec_manager *mgr = NULL;
  int rc;

  if (arec_memory_store_new(&store) || arec_memory_repository_new(&repo, store) ||
      arec_memory_lock_new(&lock, store))
    return 1;

  arec_manager_options opts = AREC_MANAGER_OPTIONS_INIT;
  opts.pod_name = "pod-a";
  opts.lock_ttl_ms = 3000;
  opts.save_interval_ms = 100;
  opts.workers = 2;
  if ((rc = arec_manager_new(&mgr, &opts, repo, lock)) != 0) {
    fprintf(stderr, "manager: %s: %s\n", arec_strerror(rc), arec_error_last());
    return 1;
  }
  arec_agent_type type = AREC_AGENT_TYPE_INIT;
  type.name = "counter";
  type.start = counter_start;
  type.step = counter_step;
  type.snapshot = counter_snapshot;
  type.stop = counter_stop;
  arec_manager_register_type(mgr, &type);

  /* the agent, through the same administration API as on PostgreSQL;
   * set_trading(1) records the user's wish, so the restore below starts it
   * (arec_manager_start_agent() records the wish and starts it at once) */
  arec_repository *admin = arec_manager_repository(mgr);
  arec_agent_spec spec = AREC_AGENT_SPEC_INIT;
  char id[AREC_AGENT_ID_MAX + 1];
  spec.id = "abc123";
  spec.user_id = 42;
  spec.strategy = "counter";
  spec.name = "My Agent";
  if ((rc = arec_agent_create(admin, &spec, id, sizeof id)) != 0 ||
      (rc = arec_agent_assign(admin, id, "BTC/USDT", 100.0)) != 0 ||
      (rc = arec_agent_set_trading(admin, id, 1)) != 0) {
    fprintf(stderr, "admin: %s: %s\n", arec_strerror(rc), arec_error_last());
    arec_manager_free(mgr);
    arec_memory_store_free(store);
    return 1;
  }

  arec_restore_result res;
  if ((rc = arec_manager_restore(mgr, &res)) != 0 || res.restored != 1)
    fprintf(stderr, "restore: %s, %u restored\n", arec_strerror(rc),
            res.restored);

  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);

  arec_runner_info *runners = NULL;
  size_t n = 0;
  if (arec_manager_runners(mgr, &runners, &n) == 0)
    for (size_t i = 0; i < n; i++)
      printf("running %s fence=%llu steps=%llu\n", runners[i].agent_id,
             (unsigned long long)runners[i].fence,
             (unsigned long long)runners[i].steps);
  arec_runner_info_free(runners, n);

  rc = arec_manager_shutdown(mgr, 5000);
  arec_manager_free(mgr); /* frees repo and lock too */

  char *memory = NULL;
  arec_memory_state_get(store, "abc123", "BTC/USDT", NULL, &memory, NULL);
  printf("saved state: %s\n", memory ? memory : "(none)");
  arec_free(memory);
  arec_memory_store_free(store);
  return rc == 0 && n == 1 ? 0 : 1;
}
