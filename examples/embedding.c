/*
 * embedding.c -- a complete embedding of libagentrecover on PostgreSQL and
 * Redis, with an agent type of its own.  docs/embedding.md walks through
 * it; `make check` builds it and runs it twice against real servers (the
 * second run continues from the state the first one saved).
 *
 *   embedding CONNINFO REDIS_ADDRS POD SECONDS
 *
 * It migrates the database, creates the agent "ticker-1" with one symbol
 * if it does not exist yet, starts it (the owner's wish), serves SECONDS
 * seconds and shuts down gracefully.  The agent type "ticker" counts its
 * steps in its memory ({"ticks": N}); a pod that takes it over continues
 * the count.  Build: cc embedding.c $(pkg-config --cflags --libs
 * agentrecover).
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <agentrecover.h>
#include <agentrecover/pg.h>
#include <agentrecover/redis.h>

/* ------------------------------------------------------ the agent type */
typedef struct ticker {
  long ticks;
  long every_ms;
  double balance;
  char symbol[64];
} ticker;

/* Reads an integer field out of a small JSON object ({"ticks": 41}).  A
 * real service would use its JSON library. */
static long json_long(const char *json, const char *key, long dflt) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = json ? strstr(json, pat) : NULL;
  return p ? strtol(p + strlen(pat), NULL, 10) : dflt;
}

static int ticker_start(void **out, arec_agent *agent,
                        const arec_agent_info *info, void *ud) {
  (void)agent;
  (void)ud;
  if (info->nsymbols == 0) {
    arec_error_set("ticker needs one symbol");
    return AREC_EINVAL; /* a permanent refusal: the agent goes to backoff */
  }
  ticker *t = calloc(1, sizeof *t);
  if (!t)
    return AREC_ENOMEM;
  t->ticks = json_long(info->symbols[0].memory, "ticks", 0);
  t->every_ms = json_long(info->params, "every_ms", 200);
  t->balance = info->symbols[0].balance;
  snprintf(t->symbol, sizeof t->symbol, "%s", info->symbols[0].symbol);
  *out = t;
  return 0;
}

static int ticker_step(void *state, arec_agent *agent, int64_t *delay_ms,
                       void *ud) {
  (void)agent;
  (void)ud;
  ticker *t = state;
  t->ticks++; /* the agent's work: bounded, checks nothing slow */
  *delay_ms = t->every_ms;
  return 0;
}

static int ticker_snapshot(void *state, arec_agent *agent, arec_snapshot *snap,
                           void *ud) {
  (void)agent;
  (void)ud;
  ticker *t = state;
  char memory[64];
  snprintf(memory, sizeof memory, "{\"ticks\": %ld}", t->ticks);
  return arec_snapshot_put(snap, t->symbol, t->balance, memory);
}

static void ticker_stop(void *state, arec_agent *agent,
                        arec_stop_reason reason, void *ud) {
  (void)ud;
  ticker *t = state;
  char ticks[32];
  snprintf(ticks, sizeof ticks, "%ld", t->ticks);
  arec_log_field f[2] = {{"ticks", ticks, AREC_LOG_NUMBER},
                         {"reason", arec_stop_reason_name(reason),
                          AREC_LOG_STRING}};
  arec_agent_log(agent, AREC_LOG_INFO, "ticker stopped", f, 2);
  free(t);
}

/* ----------------------------------------------------------------- main */
static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "embedding: %s: %s (%s)\n", what, arec_strerror(rc),
          arec_error_last());
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: embedding CONNINFO REDIS_ADDRS POD SECONDS\n");
    return 2;
  }
  const char *pod = argv[3];
  long seconds = strtol(argv[4], NULL, 10);

  /* 1. PostgreSQL: a pool for the manager, the library's migrations. */
  arec_pg_options po = AREC_PG_OPTIONS_INIT;
  po.conninfo = argv[1];
  arec_pg *pg = NULL;
  int rc = arec_pg_new(&pg, &po); /* AREC_EUNAVAILABLE: retry later */
  if (rc)
    return fail("database", rc);
  if ((rc = arec_pg_migrate(pg, NULL)) != 0) {
    arec_pg_free(pg);
    return fail("migrations", rc);
  }
  arec_repository *repo = NULL;
  rc = arec_pg_repository_new(&repo, pg); /* holds its own reference */
  arec_pg_free(pg);
  if (rc)
    return fail("repository", rc);

  /* 2. Redis: one lock per agent (more masters: "h1:6379,h2:6379,..."). */
  arec_redis_options ro = AREC_REDIS_OPTIONS_INIT;
  ro.addrs = argv[2];
  arec_lock *lock = NULL;
  if ((rc = arec_redis_lock_new(&lock, &ro)) != 0) {
    arec_repository_free(repo);
    return fail("redis", rc);
  }

  /* 3. The manager owns both backends from here on. */
  arec_manager_options mo = AREC_MANAGER_OPTIONS_INIT;
  mo.pod_name = pod;
  mo.lock_ttl_ms = 3000;
  mo.reconcile_interval_ms = 1000;
  mo.save_interval_ms = 500;
  arec_manager *mgr = NULL;
  if ((rc = arec_manager_new(&mgr, &mo, repo, lock)) != 0)
    return fail("manager", rc);
  arec_agent_type tt = AREC_AGENT_TYPE_INIT;
  tt.name = "ticker";
  tt.start = ticker_start;
  tt.step = ticker_step;
  tt.snapshot = ticker_snapshot;
  tt.stop = ticker_stop;
  if ((rc = arec_manager_register_type(mgr, &tt)) != 0) {
    arec_manager_free(mgr);
    return fail("register", rc);
  }

  /* 4. Administration: the same calls work on any repository. */
  arec_repository *admin = arec_manager_repository(mgr);
  arec_agent_spec spec = AREC_AGENT_SPEC_INIT;
  spec.id = "ticker-1";
  spec.user_id = 1;
  spec.strategy = "ticker";
  spec.name = "counts its steps";
  spec.params = "{\"every_ms\": 100}";
  char id[AREC_AGENT_ID_MAX + 1];
  rc = arec_agent_create(admin, &spec, id, sizeof id);
  if (rc == 0)
    rc = arec_agent_assign(admin, "ticker-1", "BTC/USDT", 100.0);
  if (rc != 0 && rc != AREC_EEXIST) {
    arec_manager_free(mgr);
    return fail("create", rc);
  }

  /* 5. Restore (the first reconcile pass), then the owner's start. */
  arec_restore_result res;
  arec_manager_restore(mgr, &res);
  rc = arec_manager_start_agent(mgr, "ticker-1");
  printf("start: %s\n", rc == 0 ? "running here" : arec_err_name(rc));

  sleep_ms(seconds * 1000);

  arec_agent_record *rec = NULL;
  if (arec_agent_get(admin, "ticker-1", &rec) == 0) {
    printf("ticker-1 fence=%llu running_on=%s memory=%s\n",
           (unsigned long long)rec->fence,
           rec->running_on ? rec->running_on : "-",
           rec->nsymbols ? rec->symbols[0].memory : "{}");
    arec_agent_records_free(rec, 1);
  }

  /* 6. Graceful shutdown: final saves, locks released, the wish kept. */
  rc = arec_manager_shutdown(mgr, 0);
  arec_manager_free(mgr);
  printf("shutdown: %s\n", rc == 0 ? "clean" : arec_err_name(rc));
  return rc == 0 ? 0 : 1;
}
