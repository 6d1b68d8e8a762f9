/*
 * bench_pg.c -- `make bench-pg`: the PostgreSQL repository against a
 * throwaway PostgreSQL 15 (tests/support harness, migrated as a deployment
 * is), beside `pgbench -S` TPS measured on the same server in the same run:
 *   - agents_to_restore, claim_many and save_many for 10,000 agents, each
 *     one round trip;
 *   - one page (100 agents) of agent_list, unfiltered and by owner + wanted,
 *     at 2,000, 10,000, 20,000 and 100,000 agents: a keyset page should
 *     cost the same at every size.
 * Prints a table and writes the rows ({"rows": [{what, value, unit, limit,
 * limit_what, ratio}]}) to argv[1].  The "limit" is what the same work
 * costs as one pgbench-speed query per agent; ratio = limit / value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"

static arec_test_pg g_pg;

typedef struct row {
  char what[80];
  int n;        /* agents the work touches (for the limit) */
  double ms, limit_ms;
} row;
static row g_rows[32];
static int g_nrows;

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return v[n / 2];
}

static double pgbench_tps(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "/usr/lib/postgresql/15/bin/pgbench -i -q -s 10 -h 127.0.0.1 -p %d -U postgres arec "
           ">/dev/null 2>&1 && /usr/lib/postgresql/15/bin/pgbench -n -S -c 4 -j 2 -T 5 "
           "-h 127.0.0.1 -p %d -U postgres arec 2>/dev/null",
           g_pg.port, g_pg.port);
  FILE *f = popen(cmd, "r");
  if (!f)
    return 0;
  char line[256];
  double tps = 0;
  while (fgets(line, sizeof line, f)) {
    const char *p = strstr(line, "tps = ");
    if (p && tps == 0)
      tps = strtod(p + 6, NULL);
  }
  pclose(f);
  return tps;
}

/* n agents "b1".."bn" of 20 owners, every other one wanted, one symbol. */
static int setup(int n) {
  char sql[2048];
  snprintf(sql, sizeof sql,
           "TRUNCATE agent_configs, pods, agent_symbol_assignments, agent_states, "
           "agent_state_history CASCADE; "
           "INSERT INTO users (id, name) SELECT g, 'bench' FROM generate_series(1, 20) g "
           "ON CONFLICT DO NOTHING; "
           "INSERT INTO agent_configs (id, user_id, strategy, name, is_trading) "
           "SELECT 'b' || g, g %% 20 + 1, 'toy', 'bench', g %% 2 = 0 "
           "FROM generate_series(1, %d) g; "
           "INSERT INTO agent_symbol_assignments (agent_id, symbol, balance) "
           "SELECT id, 'BTC/USDT', 100 FROM agent_configs; "
           "INSERT INTO agent_states (agent_id, symbol, balance) "
           "SELECT id, 'BTC/USDT', 100 FROM agent_configs",
           n);
  if (arec_test_pg_sql(&g_pg, sql, NULL))
    return -1;
  return arec_test_pg_sql(&g_pg, "VACUUM ANALYZE agent_configs, "
                                 "agent_symbol_assignments, agent_states",
                          NULL);
}

static void add_row(const char *what, int n, double ms, double tps) {
  row *r = &g_rows[g_nrows++];
  snprintf(r->what, sizeof r->what, "%s", what);
  r->n = n;
  r->ms = ms;
  r->limit_ms = tps > 0 ? 1000.0 * n / tps : 0;
}

/* The row "<call>, <n> agents" of the median of three timings t (ms),
 * unless a run failed (err). */
static void add_batch_row(int err, const char *call, int n, double *t,
                          double tps) {
  char what[80];
  snprintf(what, sizeof what, "%s, %d agents", call, n);
  if (!err)
    add_row(what, n, median(t, 3), tps);
}

/* The first per-agent code of a batch call that is not 0 (0: none). */
static int first_refused(const int *res, int n) {
  for (int i = 0; i < n; i++)
    if (res[i])
      return res[i];
  return 0;
}

/* claims, saves and the restore query at n agents (all wanted) */
static int bench_batches(arec_pg *pg, int n, double tps) {
  if (setup(n) ||
      arec_test_pg_sql(&g_pg, "UPDATE agent_configs SET is_trading = true", NULL) ||
      arec_test_pg_sql(&g_pg, "VACUUM ANALYZE agent_configs", NULL)) {
    fprintf(stderr, "bench: setup failed\n");
    return -1;
  }
  arec_repository *r;
  if (arec_pg_repository_new(&r, pg))
    return -1;
  char **ids = calloc((size_t)n, sizeof *ids);
  uint64_t *fences = calloc((size_t)n, sizeof *fences);
  int *res = calloc((size_t)n, sizeof *res);
  arec_save *saves = calloc((size_t)n, sizeof *saves);
  arec_symbol_state st = {"BTC/USDT", 101.5, "{\"position\": 0.25, \"orders\": []}"};
  for (int i = 0; i < n; i++) {
    ids[i] = malloc(16);
    snprintf(ids[i], 16, "b%d", i + 1);
  }
  double t[3];
  int err = 0;
  for (int k = 0; k < 3 && !err; k++) {
    struct arec_agent_list *l = NULL;
    long long t0 = arec_test_now_ms();
    err = r->agents_to_restore(r, NULL, &l);
    t[k] = (double)(arec_test_now_ms() - t0);
    if (!err && l->n != (size_t)n)
      err = -1;
    arec_agent_list_free(l);
  }
  add_batch_row(err, "agents_to_restore", n, t, tps);
  for (int k = 0; k < 3 && !err; k++) {
    long long t0 = arec_test_now_ms();
    err = r->claim_many(r, "bench-pod", "inc", (const char *const *)ids, (size_t)n,
                        fences, res);
    t[k] = (double)(arec_test_now_ms() - t0);
    if (!err)
      err = first_refused(res, n);
  }
  add_batch_row(err, "claim_many (one round trip)", n, t, tps);
  for (int i = 0; i < n; i++) {
    saves[i].agent_id = ids[i];
    saves[i].fence = fences[i];
    saves[i].pod = "bench-pod";
    saves[i].nstates = 1;
    saves[i].states = &st;
  }
  for (int k = 0; k < 3 && !err; k++) {
    long long t0 = arec_test_now_ms();
    err = r->save_many(r, saves, (size_t)n, res);
    t[k] = (double)(arec_test_now_ms() - t0);
    if (!err)
      err = first_refused(res, n);
  }
  add_batch_row(err, "save_many (one round trip)", n, t, tps);
  if (err)
    fprintf(stderr, "bench: %s: %s\n", arec_err_name(err), arec_error_last());
  for (int i = 0; i < n; i++)
    free(ids[i]);
  free(ids);
  free(fences);
  free(res);
  free(saves);
  r->free(r);
  return err ? -1 : 0;
}

/* 40 pages of 100 in a row (each after the last id of the one before): the
 * median ms of one page, in microseconds' resolution. */
static double page_ms(arec_repository *r, arec_agent_filter *f) {
  double t[40];
  char after[AREC_AGENT_ID_MAX + 1] = "";
  int k = 0;
  for (; k < 40; k++) {
    f->after = k ? after : NULL;
    arec_agent_record *a = NULL;
    size_t n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (r->agent_list(r, f, &a, &n))
      return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    t[k] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (n)
      snprintf(after, sizeof after, "%s", a[n - 1].id);
    arec_agent_records_free(a, n);
    if (n < f->limit) {
      k++;
      break;
    }
  }
  return median(t, k);
}

static int bench_pages(arec_pg *pg, int n, double tps) {
  if (setup(n)) {
    fprintf(stderr, "bench: setup failed\n");
    return -1;
  }
  arec_repository *r;
  if (arec_pg_repository_new(&r, pg))
    return -1;
  arec_agent_filter f = AREC_AGENT_FILTER_INIT;
  f.limit = 100;
  char what[80];
  double ms = page_ms(r, &f);
  snprintf(what, sizeof what, "agent_list page of 100, %d agents", n);
  if (ms >= 0)
    add_row(what, 100, ms, tps);
  f.user_id = 3;
  f.only = AREC_AGENTS_WANTED;
  f.with_symbols = 1;
  double ms2 = page_ms(r, &f);
  snprintf(what, sizeof what, "page by owner, wanted, symbols, %d agents", n);
  if (ms2 >= 0)
    add_row(what, 100, ms2, tps);
  r->free(r);
  return ms < 0 || ms2 < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
  const char *json = argc > 1 ? argv[1] : "build/bench/pg.json";
  if (arec_test_pg_start_migrated(&g_pg) != 0)
    return 1;
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.call_timeout_ms = 120000;
  arec_pg *pg = NULL;
  if (arec_pg_new(&pg, &o)) {
    fprintf(stderr, "bench: %s\n", arec_error_last());
    return 1;
  }
  printf("bench-pg: pgbench -S -c 4 -j 2 -T 5 on the same server...\n");
  double tps = pgbench_tps();
  int rc = 0;
  if (bench_batches(pg, 10000, tps))
    rc = 1;
  static const int sizes[] = {2000, 10000, 20000, 100000};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes && !rc; i++)
    if (bench_pages(pg, sizes[i], tps))
      rc = 1;
  arec_pg_free(pg);

  printf("\n%-48s %10s %12s %22s %8s\n", "PostgreSQL repository", "ms", "agents/s",
         "1 query/agent at TPS", "ratio");
  for (int i = 0; i < g_nrows; i++) {
    row *r = &g_rows[i];
    printf("%-48s %10.2f %12.0f %19.1f ms %7.1fx\n", r->what, r->ms,
           r->ms > 0 ? 1000.0 * r->n / r->ms : 0, r->limit_ms,
           r->ms > 0 ? r->limit_ms / r->ms : 0);
  }
  printf("%-48s %10.0f\n", "pgbench -S TPS (same server, same run)", tps);
  FILE *f = fopen(json, "w");
  if (f) {
    fprintf(f, "{\n  \"pgbench_select_tps\": %.1f,\n  \"rows\": [\n", tps);
    for (int i = 0; i < g_nrows; i++) {
      row *r = &g_rows[i];
      fprintf(f,
              "    {\"what\": \"%s\", \"value\": %.2f, \"unit\": \"ms\", \"limit\": %.1f, "
              "\"limit_what\": \"ms as 1 query/agent at pgbench -S TPS\", \"ratio\": %.2f}%s\n",
              r->what, r->ms, r->limit_ms, r->ms > 0 ? r->limit_ms / r->ms : 0,
              i + 1 < g_nrows ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
  } else {
    rc = 1;
  }
  arec_test_pg_stop(&g_pg);
  return rc;
}
