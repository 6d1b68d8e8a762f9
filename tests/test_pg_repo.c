/*
 * test_pg_repo.c -- the PostgreSQL repository against a real PostgreSQL 15
 * with the library's migrations only (the schema the library owns: an
 * owner id is opaque, so the suites' owners need no users table): every
 * repository conformance suite -- versions 1 and 2, administration,
 * backoff and roles, the last two on the database's real clock (the
 * fixture has no advance: the suites sleep) -- through the fixture below,
 * fencing under concurrency (thousands of save-vs-claim rounds from two
 * threads: the history never shows a lower fence after a higher one),
 * history trimming, and batches of 10,000 agents in one call each.
 */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "conformance/conformance.h"
#include "support/harness.h"
#include "support/runner.h"

static arec_test_pg g_pg;

/* ---------------------------------------------------------------- helpers */
static arec_pg *open_pg(unsigned int keep) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.history_keep = keep;
  arec_pg *pg = NULL;
  int e = arec_pg_new(&pg, &o);
  ck_assert_msg(e == 0, "arec_pg_new: %s %s", arec_err_name(e), arec_error_last());
  return pg;
}

static PGresult *sql(const char *q, int n, const char *const *p) {
  return arec_test_pg_exec(&g_pg, q, n, p);
}

/* -------------------------------------------------------------- fixture */
static void fx_reset(void *ctx) {
  (void)ctx;
  PQclear(sql("TRUNCATE agent_configs, pods, agent_symbol_assignments, agent_states, "
              "agent_state_history, singleton_roles RESTART IDENTITY CASCADE",
              0, NULL));
}

static int fx_open(void *ctx, arec_repository **out) {
  (void)ctx;
  arec_pg *pg = open_pg(0);
  int e = arec_pg_repository_new(out, pg);
  arec_pg_free(pg);
  return e;
}

/* The agent is made through the repository's own administration slots. */
static int fx_add_agent(void *ctx, const char *id, long long user_id,
                        const char *strategy, const char *const *symbols,
                        const double *budgets, size_t n) {
  (void)ctx;
  arec_repository *r = NULL;
  int e = fx_open(NULL, &r);
  arec_agent_spec spec = AREC_AGENT_SPEC_INIT;
  spec.id = id;
  spec.user_id = user_id;
  spec.strategy = strategy;
  spec.name = "agent";
  char out[AREC_AGENT_ID_MAX + 1];
  if (!e)
    e = r->agent_create(r, &spec, out, sizeof out);
  for (size_t i = 0; i < n && !e; i++)
    e = r->agent_assign(r, id, symbols[i], budgets[i]);
  if (r)
    r->free(r);
  return e;
}

static int fx_set_active(void *ctx, const char *id, int active) {
  (void)ctx;
  arec_repository *r = NULL;
  int e = fx_open(NULL, &r);
  if (!e)
    e = r->set_active(r, id, active);
  if (r)
    r->free(r);
  return e;
}

static int fx_get_agent(void *ctx, const char *id, arec_conf_agent *out) {
  (void)ctx;
  const char *p[1] = {id};
  PGresult *r = sql("SELECT is_active, is_trading, fence, coalesce(running_on, ''), "
                    "coalesce(running_incarnation, '') FROM agent_configs WHERE id = $1",
                    1, p);
  int e = AREC_ENOTFOUND;
  if (PQntuples(r) == 1) {
    memset(out, 0, sizeof *out);
    out->is_active = PQgetvalue(r, 0, 0)[0] == 't';
    out->is_trading = PQgetvalue(r, 0, 1)[0] == 't';
    out->fence = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
    snprintf(out->running_on, sizeof out->running_on, "%s", PQgetvalue(r, 0, 3));
    snprintf(out->running_incarnation, sizeof out->running_incarnation, "%s",
             PQgetvalue(r, 0, 4));
    e = 0;
  }
  PQclear(r);
  return e;
}

static int fx_get_state(void *ctx, const char *id, const char *symbol,
                        double *out_balance, char **out_memory,
                        uint64_t *out_fence) {
  (void)ctx;
  const char *p[2] = {id, symbol};
  PGresult *r = sql("SELECT balance, memory::text, fence FROM agent_states "
                    "WHERE agent_id = $1 AND symbol = $2",
                    2, p);
  int e = AREC_ENOTFOUND;
  if (PQntuples(r) == 1) {
    if (out_balance)
      *out_balance = strtod(PQgetvalue(r, 0, 0), NULL);
    if (out_memory)
      *out_memory = strdup(PQgetvalue(r, 0, 1));
    if (out_fence)
      *out_fence = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
    e = 0;
  }
  PQclear(r);
  return e;
}

static int fx_get_history(void *ctx, const char *id, const char *symbol,
                          uint64_t *out_fences, size_t max, size_t *out_n) {
  (void)ctx;
  const char *p[2] = {id, symbol};
  PGresult *r = sql("SELECT fence FROM agent_state_history WHERE agent_id = $1 "
                    "AND symbol = $2 ORDER BY id",
                    2, p);
  *out_n = (size_t)PQntuples(r);
  for (size_t i = 0; out_fences && i < *out_n && i < max; i++)
    out_fences[i] = strtoull(PQgetvalue(r, (int)i, 0), NULL, 10);
  PQclear(r);
  return 0;
}

/* An UPDATE ... RETURNING 1 of the rows of key $1: 0, or AREC_ENOTFOUND
 * when it touched none. */
static int update_one(const char *q, const char *key) {
  const char *p[1] = {key};
  PGresult *r = sql(q, 1, p);
  int e = PQntuples(r) ? 0 : AREC_ENOTFOUND;
  PQclear(r);
  return e;
}

static int fx_expire_pod(void *ctx, const char *pod) {
  (void)ctx;
  return update_one("UPDATE pods SET lease_until = clock_timestamp() - "
                    "interval '1 s' WHERE name = $1 RETURNING 1",
                    pod);
}

/* A stored state that does not convert: a balance that is not a finite
 * number (the reason is the repository's own). */
static int fx_poison(void *ctx, const char *id, const char *reason) {
  (void)ctx;
  (void)reason;
  return update_one("UPDATE agent_states SET balance = 'NaN' "
                    "WHERE agent_id = $1 RETURNING 1",
                    id);
}

static const arec_repo_fixture FIXTURE = {
    .name = "pg",
    .reset = fx_reset,
    .open = fx_open,
    .add_agent = fx_add_agent,
    .set_active = fx_set_active,
    .get_agent = fx_get_agent,
    .get_state = fx_get_state,
    .get_history = fx_get_history,
    .expire_pod = fx_expire_pod,
    .advance = NULL, /* the database's real clock: the suites sleep */
    .manual_clock = 0,
    .poison = fx_poison};

/* ------------------------------------------------- fencing, thousands of rounds */
#define ROUNDS 2000

/* What the claimer and the saver threads share: each works on a
 * repository of its own, opened (and freed) by the test. */
typedef struct race {
  arec_repository *claims, *saves;
  _Atomic uint64_t latest;
  atomic_int bad, saved, done, attempts;
} race;

static void *claimer(void *p) {
  race *rc = p;
  arec_repository *r = rc->claims;
  for (int i = 0; i < ROUNDS; i++) {
    /* stay in step with the saver (one claim per two save attempts), so
     * that claims really race saves instead of running ahead */
    int seen = atomic_load(&rc->attempts);
    for (int spin = 0; atomic_load(&rc->attempts) < seen + 2 && spin < 100000; spin++)
      sched_yield();
    uint64_t f = 0;
    const char *ids[1] = {"race"};
    int res = 0;
    /* alternate the single and the batched slot */
    int e = (i & 1) ? r->claim(r, "pod-b", "inc-b", "race", &f)
                    : r->claim_many(r, "pod-b", "inc-b", ids, 1, &f, &res);
    if (e || res)
      atomic_store(&rc->bad, e ? e : res);
    else
      atomic_store(&rc->latest, f);
  }
  atomic_store(&rc->done, 1);
  return NULL;
}

static void *saver(void *p) {
  race *rc = p;
  arec_repository *r = rc->saves;
  for (int i = 0; !atomic_load(&rc->done) && i < 50 * ROUNDS; i++) {
    arec_symbol_state st[2] = {{"BTC/USDT", (double)i, "{\"i\": 1}"},
                               {"ETH/USDT", (double)i, "{}"}};
    uint64_t f = atomic_load(&rc->latest);
    /* a save with a fence one behind now and then: must be refused or
     * land before the claim that superseded it */
    if (i % 7 == 0 && f > 1)
      f--;
    arec_save sv = {"race", f, "pod-b", 2, st};
    int e = r->save_state(r, &sv);
    atomic_fetch_add(&rc->attempts, 1);
    if (e == 0)
      atomic_fetch_add(&rc->saved, 1);
    else if (e != AREC_EFENCED)
      atomic_store(&rc->bad, e);
  }
  return NULL;
}

START_TEST(fencing_thousands_of_rounds) {
  fx_reset(NULL);
  static const char *const syms[] = {"BTC/USDT", "ETH/USDT"};
  static const double budgets[] = {100, 50};
  ck_assert_int_eq(fx_add_agent(NULL, "race", 9, "toy", syms, budgets, 2), 0);
  arec_repository *r = NULL;
  ck_assert_int_eq(fx_open(NULL, &r), 0);
  ck_assert_int_eq(r->set_trading(r, "race", 1), 0);
  race rc;
  memset(&rc, 0, sizeof rc);
  ck_assert_int_eq(fx_open(NULL, &rc.claims), 0);
  ck_assert_int_eq(fx_open(NULL, &rc.saves), 0);
  uint64_t f0 = 0;
  ck_assert_int_eq(r->claim(r, "pod-b", "inc-b", "race", &f0), 0);
  atomic_store(&rc.latest, f0);
  /* no trimming during the race: the whole history is checked */
  PQclear(sql("UPDATE agent_states SET hist_n = -1000000", 0, NULL));
  long long t0 = arec_test_now_ms();
  pthread_t a, b;
  pthread_create(&a, NULL, claimer, &rc);
  pthread_create(&b, NULL, saver, &rc);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  long long ms = arec_test_now_ms() - t0;
  rc.claims->free(rc.claims);
  rc.saves->free(rc.saves);
  ck_assert_msg(atomic_load(&rc.bad) == 0, "unexpected %s",
                arec_err_name(atomic_load(&rc.bad)));
  ck_assert_int_gt(atomic_load(&rc.saved), 0);
  /* history, in insertion order, never goes back in fence */
  PGresult *h = sql("SELECT symbol, fence FROM agent_state_history "
                    "WHERE agent_id = 'race' ORDER BY id", 0, NULL);
  uint64_t last[2] = {0, 0};
  int n = PQntuples(h);
  ck_assert_int_eq(n, 2 * atomic_load(&rc.saved));
  for (int i = 0; i < n; i++) {
    int s = PQgetvalue(h, i, 0)[0] == 'E';
    uint64_t f = strtoull(PQgetvalue(h, i, 1), NULL, 10);
    ck_assert_msg(f >= last[s], "history fence went back: %llu after %llu",
                  (unsigned long long)f, (unsigned long long)last[s]);
    last[s] = f;
  }
  PQclear(h);
  arec_conf_agent ag;
  fx_get_agent(NULL, "race", &ag);
  ck_assert_uint_eq(ag.fence, f0 + ROUNDS);
  r->free(r);
  fprintf(stderr, "   fencing: %d claims, %d accepted saves, %d history rows in %lld ms\n",
          ROUNDS, atomic_load(&rc.saved), n, ms);
}
END_TEST

/* ------------------------------------------------------- history trimming */
START_TEST(history_trimmed_in_batches) {
  fx_reset(NULL);
  static const char *const syms[] = {"BTC/USDT"};
  static const double budgets[] = {100};
  ck_assert_int_eq(fx_add_agent(NULL, "trim", 9, "toy", syms, budgets, 1), 0);
  arec_pg *pg = open_pg(10);
  arec_repository *r;
  ck_assert_int_eq(arec_pg_repository_new(&r, pg), 0);
  ck_assert_int_eq(r->set_trading(r, "trim", 1), 0);
  uint64_t f;
  ck_assert_int_eq(r->claim(r, "p", "i", "trim", &f), 0);
  size_t maxn = 0, n = 0;
  for (int i = 0; i < 100; i++) {
    arec_symbol_state st = {"BTC/USDT", i, "{}"};
    arec_save sv = {"trim", f, "p", 1, &st};
    ck_assert_int_eq(r->save_state(r, &sv), 0);
    fx_get_history(NULL, "trim", "BTC/USDT", NULL, 0, &n);
    if (n > maxn)
      maxn = n;
  }
  ck_assert_uint_ge(n, 10);
  ck_assert_uint_le(maxn, 10 + 8);
  /* the newest rows are kept */
  PGresult *q = sql("SELECT max(balance) FROM agent_state_history WHERE agent_id = 'trim'", 0, NULL);
  ck_assert_str_eq(PQgetvalue(q, 0, 0), "99");
  PQclear(q);
  r->free(r);
  arec_pg_free(pg);
}
END_TEST

/* ------------------------------------------------------ large batches */
/* claim_many, save_many and release_many of 10,000 agents, each one call
 * within a 2 s client deadline (about 0.1 s each here).  The planner
 * guesses 10 rows for an array parameter; a statement that joined two of
 * its own intermediate results was planned as a nested loop, n * n
 * comparisons: save_many took 3.7 s and release_many 8 s. */
#define BIG 10000

START_TEST(batches_of_ten_thousand_in_one_call) {
  fx_reset(NULL);
  static const char *const seed[] = {
      "INSERT INTO agent_configs (id, user_id, strategy, name, is_trading) "
      "SELECT 'g' || g, 1, 'toy', 'big', true FROM generate_series(1, 10000) g",
      "INSERT INTO agent_symbol_assignments (agent_id, symbol, balance) "
      "SELECT id, 'BTC/USDT', 100 FROM agent_configs",
      "INSERT INTO agent_states (agent_id, symbol, balance) "
      "SELECT id, 'BTC/USDT', 100 FROM agent_configs",
      "ANALYZE agent_configs, agent_states"};
  for (size_t i = 0; i < sizeof seed / sizeof *seed; i++)
    PQclear(sql(seed[i], 0, NULL));
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.call_timeout_ms = 2000;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  arec_repository *r;
  ck_assert_int_eq(arec_pg_repository_new(&r, pg), 0);
  char (*ids)[16] = calloc(BIG, sizeof *ids);
  const char **idp = calloc(BIG, sizeof *idp);
  uint64_t *fences = calloc(BIG, sizeof *fences);
  int *res = calloc(BIG, sizeof *res);
  arec_save *sv = calloc(BIG, sizeof *sv);
  arec_symbol_state st = {"BTC/USDT", 101.5, "{\"n\": 1}"};
  for (int i = 0; i < BIG; i++) {
    snprintf(ids[i], sizeof ids[i], "g%d", BIG - i); /* not in id order */
    idp[i] = ids[i];
  }
  long long t0 = arec_test_now_ms();
  ck_assert_msg(r->claim_many(r, "big-pod", "inc", idp, BIG, fences, res) == 0,
                "claim_many: %s", arec_error_last());
  long long t1 = arec_test_now_ms();
  for (int i = 0; i < BIG; i++) {
    ck_assert_msg(res[i] == 0 && fences[i] == 1, "claim %s: %d fence %llu",
                  ids[i], res[i], (unsigned long long)fences[i]);
    sv[i] = (arec_save){ids[i], fences[i], "big-pod", 1, &st};
  }
  sv[7].fence = 0; /* never current: refused, alone */
  ck_assert_msg(r->save_many(r, sv, BIG, res) == 0, "save_many: %s",
                arec_error_last());
  long long t2 = arec_test_now_ms();
  for (int i = 0; i < BIG; i++)
    ck_assert_int_eq(res[i], i == 7 ? AREC_EFENCED : 0);
  fences[9] = 5; /* stale: refused, alone */
  ck_assert_msg(r->release_many(r, idp, fences, BIG, res) == 0,
                "release_many: %s", arec_error_last());
  long long t3 = arec_test_now_ms();
  for (int i = 0; i < BIG; i++)
    ck_assert_int_eq(res[i], i == 9 ? AREC_EFENCED : 0);
  PGresult *q = sql("SELECT count(*) FILTER (WHERE running_on IS NOT NULL), "
                    "count(*) FILTER (WHERE fence = 2), "
                    "(SELECT count(*) FROM agent_state_history) "
                    "FROM agent_configs",
                    0, NULL);
  ck_assert_str_eq(PQgetvalue(q, 0, 0), "1");    /* the stale release */
  ck_assert_str_eq(PQgetvalue(q, 0, 1), "9999"); /* released: fence bumped */
  ck_assert_str_eq(PQgetvalue(q, 0, 2), "9999"); /* one row per save */
  PQclear(q);
  fprintf(stderr, "   10,000 agents: claim_many %lld ms, save_many %lld ms, "
                  "release_many %lld ms\n", t1 - t0, t2 - t1, t3 - t2);
  free(ids);
  free(idp);
  free(fences);
  free(res);
  free(sv);
  r->free(r);
  arec_pg_free(pg);
}
END_TEST

int main(void) {
  const TTest *tests[] = {fencing_thousands_of_rounds,
      history_trimmed_in_batches, batches_of_ten_thousand_in_one_call, NULL};
  Suite *s = suite_create("pg-repository");
  arec_conf_repository_add(s, &FIXTURE);
  arec_test_cases(s, "pg-repository", 60, tests);
  return arec_test_main(s, &g_pg, AREC_TEST_LIBRARY, NULL);
}
