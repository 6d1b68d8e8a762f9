/*
 * bench_pg.c -- `make bench-pg`: the PostgreSQL repository's batch paths
 * against a throwaway PostgreSQL 15 (tests/support harness): agents_to_restore
 * (with credential decryption), claim_many and save_many for 1,000 and
 * 10,000 agents, each one round trip, beside `pgbench -S` TPS measured on
 * the same server in the same run.  Prints a table and writes the rows
 * ({"rows": [{what, value, unit, limit, limit_what, ratio}]}) to argv[1].
 * The "limit" is what the same work costs as one pgbench-speed query per
 * agent; ratio = limit / value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"

static arec_test_pg g_pg;
static const unsigned char KEY[32] = "0123456789abcdef0123456789abcdef";

typedef struct row {
  char what[64];
  double ms, limit_ms;
} row;
static row g_rows[16];
static int g_nrows;

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median3(double *v) {
  qsort(v, 3, sizeof *v, cmp_d);
  return v[1];
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

static int setup(arec_pg *pg, int n) {
  char sql[1024];
  if (arec_test_pg_sql(&g_pg,
                       "TRUNCATE users, user_exchanges, user_trading_pairs, agent_configs, "
                       "pods, agent_symbol_assignments, agent_states, agent_state_history "
                       "RESTART IDENTITY CASCADE",
                       NULL))
    return -1;
  long long ex = 0, pair = 0;
  if (arec_pg_user_upsert(pg, 1, "bench") ||
      arec_pg_exchange_create(pg, &ex, 1, "binance", "bench-key", "bench-secret", 1) ||
      arec_pg_pair_create(pg, &pair, 1, ex, "BTC/USDT"))
    return -1;
  snprintf(sql, sizeof sql,
           "INSERT INTO agent_configs (id, user_id, strategy, name, is_trading) "
           "SELECT 'b' || g, 1, 'toy', 'bench', true FROM generate_series(1, %d) g; "
           "INSERT INTO agent_symbol_assignments (agent_id, symbol, balance) "
           "SELECT 'b' || g, 'BTC/USDT', 100 FROM generate_series(1, %d) g; "
           "INSERT INTO agent_states (agent_id, symbol, balance) "
           "SELECT 'b' || g, 'BTC/USDT', 100 FROM generate_series(1, %d) g; "
           "ANALYZE",
           n, n, n);
  return arec_test_pg_sql(&g_pg, sql, NULL);
}

static void add_row(const char *what, int n, double ms, double tps) {
  row *r = &g_rows[g_nrows++];
  snprintf(r->what, sizeof r->what, "%s, %d agents", what, n);
  r->ms = ms;
  r->limit_ms = tps > 0 ? 1000.0 * n / tps : 0;
}

static int bench(arec_pg *pg, int n, double tps) {
  if (setup(pg, n)) {
    fprintf(stderr, "bench: setup failed: %s\n", arec_error_last());
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
    arec_agent_list *l = NULL;
    long long t0 = arec_test_now_ms();
    err = r->agents_to_restore(r, NULL, &l);
    t[k] = (double)(arec_test_now_ms() - t0);
    if (!err && l->n != (size_t)n)
      err = -1;
    arec_agent_list_free(l);
  }
  if (!err)
    add_row("agents_to_restore", n, median3(t), tps);
  for (int k = 0; k < 3 && !err; k++) {
    long long t0 = arec_test_now_ms();
    err = r->claim_many(r, "bench-pod", "inc", (const char *const *)ids, (size_t)n,
                        fences, res);
    t[k] = (double)(arec_test_now_ms() - t0);
    for (int i = 0; i < n && !err; i++)
      if (res[i])
        err = res[i];
  }
  if (getenv("BENCH_PG_VERBOSE"))
    fprintf(stderr, "claim_many %d: %.0f %.0f %.0f ms\n", n, t[0], t[1], t[2]);
  if (!err)
    add_row("claim_many (one round trip)", n, median3(t), tps);
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
    for (int i = 0; i < n && !err; i++)
      if (res[i])
        err = res[i];
  }
  if (!err)
    add_row("save_many (one round trip)", n, median3(t), tps);
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

int main(int argc, char **argv) {
  const char *json = argc > 1 ? argv[1] : "build/bench/pg.json";
  if (arec_test_pg_start(&g_pg) != 0)
    return 1;
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.call_timeout_ms = 120000;
  o.secrets_key = KEY;
  arec_pg *pg = NULL;
  if (arec_pg_new(&pg, &o) || arec_pg_migrate(pg, NULL)) {
    fprintf(stderr, "bench: %s\n", arec_error_last());
    return 1;
  }
  printf("bench-pg: pgbench -S -c 4 -j 2 -T 5 on the same server...\n");
  double tps = pgbench_tps();
  int rc = 0;
  if (bench(pg, 1000, tps) || bench(pg, 10000, tps))
    rc = 1;
  arec_pg_free(pg);

  printf("\n%-44s %10s %12s %22s %8s\n", "PostgreSQL repository", "ms", "agents/s",
         "1 query/agent at TPS", "ratio");
  for (int i = 0; i < g_nrows; i++) {
    row *r = &g_rows[i];
    int n = atoi(strstr(r->what, ", ") + 2);
    printf("%-44s %10.1f %12.0f %19.1f ms %7.1fx\n", r->what, r->ms,
           r->ms > 0 ? 1000.0 * n / r->ms : 0, r->limit_ms,
           r->ms > 0 ? r->limit_ms / r->ms : 0);
  }
  printf("%-44s %10.0f\n", "pgbench -S TPS (same server, same run)", tps);
  FILE *f = fopen(json, "w");
  if (f) {
    fprintf(f, "{\n  \"pgbench_select_tps\": %.1f,\n  \"rows\": [\n", tps);
    for (int i = 0; i < g_nrows; i++) {
      row *r = &g_rows[i];
      fprintf(f,
              "    {\"what\": \"%s\", \"value\": %.1f, \"unit\": \"ms\", \"limit\": %.1f, "
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
