/*
 * test_pg_migrate.c -- migrations against a real PostgreSQL 15:
 *   - the library applies exactly what `psql -f sql/NNN_*.sql` applies
 *     (schema dumps compared), re-applying is a no-op, and the library's
 *     files alone create no table of the host;
 *   - a database at an older version is brought up to date; concurrent
 *     migrators apply each file once;
 *   - arec_pg_migrate_set on a ledger of its own: idempotent, names and
 *     versions checked, a body that does not record its version or fails is
 *     rolled back, concurrent migrators (separate processes' handles) apply
 *     each version once, and no advisory lock outlives a migration;
 *   - an upgrade from the 0.1 schema (tests/fixtures/sql-0.1.tar.gz,
 *     unpacked into the server's temp dir and applied with psql -f, with users, exchange accounts, pairs, agents, states,
 *     history, roles and host_kv rows) through arec_pg_migrate() and the
 *     host's migrations (host/sql) keeps every row, the agents are still
 *     restorable, and the schema ends up identical to a fresh database made
 *     by psql -f of the library's and the host's files, and by the library.
 */
#include <check.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"
#include "support/runner.h"

#define BIN "/usr/lib/postgresql/15/bin/"

static arec_test_pg g_pg;

/* ---------------------------------------------------------------- helpers */
static void mkdb(const char *name) {
  char sql[128];
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, sql, NULL), 0);
}

static arec_pg *open_db(const char *db, unsigned int pool) {
  char ci[256];
  arec_test_pg_conninfo(&g_pg, db, ci, sizeof ci);
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  o.pool_size = pool;
  o.call_timeout_ms = 30000;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  return pg;
}

/* psql -f of the files matching `pattern` [0, upto); returns how many
 * files match. */
static size_t psql_apply(const char *db, const char *pattern, size_t upto) {
  glob_t g;
  ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
  size_t n = g.gl_pathc;
  for (size_t i = 0; i < n && i < upto; i++) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             BIN "psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %d -U postgres "
                 "-d %s -f %s >/dev/null 2>&1",
             g_pg.port, db, g.gl_pathv[i]);
    ck_assert_msg(system(cmd) == 0, "psql -f %s failed", g.gl_pathv[i]);
  }
  globfree(&g);
  return n;
}

static size_t lib_files(void) {
  glob_t g;
  ck_assert_int_eq(glob("sql/[0-9][0-9][0-9]_*.sql", 0, NULL, &g), 0);
  size_t n = g.gl_pathc;
  globfree(&g);
  return n;
}

/* Output of a shell command, malloc'd. */
static char *capture(const char *cmd) {
  FILE *f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  size_t r;
  while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += r;
    if (len + 1 >= cap)
      buf = realloc(buf, cap *= 2);
  }
  buf[len] = 0;
  ck_assert_int_eq(pclose(f), 0);
  return buf;
}

/* pg_dump --schema-only (without the random \restrict keys of newer pg_dump
 * releases). */
static char *dump(const char *db) {
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           BIN "pg_dump -s -h 127.0.0.1 -p %d -U postgres %s"
               " | grep -v -e '^.restrict ' -e '^.unrestrict '",
           g_pg.port, db);
  return capture(cmd);
}

/* One value (first row, first column) of a query on db, malloc'd. */
static char *value(const char *db, const char *sql) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           BIN "psql -X -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %d -U postgres "
               "-d %s -c \"%s\"",
           g_pg.port, db, sql);
  char *v = capture(cmd);
  v[strcspn(v, "\n")] = 0;
  return v;
}

static void psql_run(const char *db, const char *sql) {
  free(value(db, sql));
}

static char *versions(const char *db, const char *ledger) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT string_agg(version::text, ',' ORDER BY version) FROM %s",
           ledger);
  return value(db, sql);
}

static void assert_same_schema(const char *a, const char *b) {
  char *x = dump(a), *y = dump(b);
  ck_assert_msg(strcmp(x, y) == 0, "schema of %s differs from %s", a, b);
  ck_assert_ptr_nonnull(strstr(x, "CREATE TABLE public.agent_configs"));
  free(x);
  free(y);
}

static const char *HOST_TABLES[] = {"users", "user_exchanges",
                                    "user_trading_pairs", "host_kv",
                                    "host_schema_migrations"};

/* -------------------------------------------------------- library files */
START_TEST(fresh_apply_matches_psql) {
  mkdb("m_psql");
  mkdb("m_lib");
  size_t n = psql_apply("m_psql", "sql/[0-9][0-9][0-9]_*.sql", 1000);
  ck_assert_uint_ge(n, 6);
  arec_pg *pg = open_db("m_lib", 1);
  int v = -1, applied = -1;
  ck_assert_int_eq(arec_pg_schema_version(pg, &v), 0);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(arec_pg_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, (int)n);
  ck_assert_int_eq(arec_pg_schema_version(pg, &v), 0);
  ck_assert_int_eq(v, (int)n);
  ck_assert_int_eq(arec_pg_migrate(pg, &applied), 0); /* a no-op */
  ck_assert_int_eq(applied, 0);
  arec_pg_free(pg);
  assert_same_schema("m_psql", "m_lib");
  char *va = versions("m_psql", "schema_migrations");
  char *vb = versions("m_lib", "schema_migrations");
  ck_assert_str_eq(va, vb);
  ck_assert_str_eq(va, "1,2,3,4,5,6");
  free(va);
  free(vb);
  /* the library's files create no table of the host, and no foreign key
   * from agent_configs to anything */
  for (size_t i = 0; i < sizeof HOST_TABLES / sizeof *HOST_TABLES; i++) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT to_regclass('%s') IS NULL",
             HOST_TABLES[i]);
    char *x = value("m_psql", sql);
    ck_assert_msg(!strcmp(x, "t"), "library created %s", HOST_TABLES[i]);
    free(x);
  }
  char *fk = value("m_psql", "SELECT count(*) FROM pg_constraint WHERE "
                             "conrelid = 'agent_configs'::regclass AND "
                             "contype = 'f'");
  ck_assert_str_eq(fk, "0");
  free(fk);
}
END_TEST

START_TEST(apply_over_older_version) {
  mkdb("m_old");
  mkdb("m_ref");
  size_t n = psql_apply("m_old", "sql/[0-9][0-9][0-9]_*.sql", 1);
  psql_apply("m_ref", "sql/[0-9][0-9][0-9]_*.sql", 1000);
  arec_pg *pg = open_db("m_old", 1);
  int v = -1, applied = -1;
  ck_assert_int_eq(arec_pg_schema_version(pg, &v), 0);
  ck_assert_int_eq(v, 1);
  ck_assert_int_eq(arec_pg_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, (int)n - 1);
  arec_pg_free(pg);
  assert_same_schema("m_old", "m_ref");
}
END_TEST

typedef struct mig_arg {
  const char *db;
  const char *ledger; /* NULL: the library's migrations */
  const arec_pg_migration *m;
  size_t n;
  int rc, applied;
  char err[512];
} mig_arg;

/* A migrator with a handle of its own (as another process would have). */
static void *migrator(void *p) {
  mig_arg *a = p;
  char ci[256];
  arec_test_pg_conninfo(&g_pg, a->db, ci, sizeof ci);
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  o.call_timeout_ms = 30000;
  arec_pg *pg = NULL;
  a->rc = arec_pg_new(&pg, &o);
  if (!a->rc)
    a->rc = a->ledger ? arec_pg_migrate_set(pg, a->ledger, a->m, a->n,
                                            &a->applied)
                      : arec_pg_migrate(pg, &a->applied);
  snprintf(a->err, sizeof a->err, "%s", arec_error_last());
  arec_pg_free(pg);
  return NULL;
}

static int run_migrators(mig_arg *a, int k) {
  pthread_t t[8];
  for (int i = 0; i < k; i++)
    pthread_create(&t[i], NULL, migrator, &a[i]);
  int total = 0;
  for (int i = 0; i < k; i++) {
    pthread_join(t[i], NULL);
    ck_assert_msg(a[i].rc == 0, "migrator %d: %s %s", i, arec_err_name(a[i].rc),
                  a[i].err);
    total += a[i].applied;
  }
  return total;
}

START_TEST(concurrent_migrators) {
  mkdb("m_conc");
  mig_arg a[4];
  memset(a, 0, sizeof a);
  for (int i = 0; i < 4; i++)
    a[i].db = "m_conc";
  ck_assert_int_eq(run_migrators(a, 4), (int)lib_files());
  char *v = versions("m_conc", "schema_migrations");
  ck_assert_str_eq(v, "1,2,3,4,5,6");
  free(v);
}
END_TEST

/* ------------------------------------------------------- migrate_set */
static const arec_pg_migration APP[] = {
    {1, "001_app.sql",
     "CREATE TABLE app_ledger (version integer PRIMARY KEY, "
     "applied_at timestamptz NOT NULL DEFAULT now());\n"
     "CREATE TABLE app_items (id bigint PRIMARY KEY, name text NOT NULL);\n"
     "INSERT INTO app_ledger (version) VALUES (1);\n"},
    {2, "002_app.sql",
     "SELECT pg_sleep(0.2);\n"
     "ALTER TABLE app_items ADD COLUMN note text;\n"
     "INSERT INTO app_ledger (version) VALUES (2);\n"},
    {5, "005_app.sql",
     "CREATE INDEX app_items_name_idx ON app_items (name);\n"
     "INSERT INTO app_ledger (version) VALUES (5);\n"}};

START_TEST(migrate_set_rules) {
  mkdb("m_set");
  arec_pg *pg = open_db("m_set", 2);
  int v = -1, applied = -1;
  ck_assert_int_eq(arec_pg_ledger_version(pg, "app_ledger", &v), 0);
  ck_assert_int_eq(v, 0);
  /* bad ledger names and version lists are refused before any work */
  const char *bad[] = {NULL, "", "App", "1app", "app-ledger", "app ledger",
                       "a\"b",
                       "a123456789012345678901234567890123456789012345678901234567890123"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_int_eq(arec_pg_migrate_set(pg, bad[i], APP, 3, NULL), AREC_EINVAL);
    ck_assert_int_eq(arec_pg_ledger_version(pg, bad[i], &v), AREC_EINVAL);
  }
  arec_pg_migration rev[2] = {APP[1], APP[0]};
  ck_assert_int_eq(arec_pg_migrate_set(pg, "app_ledger", rev, 2, NULL), AREC_EINVAL);
  arec_pg_migration zero = {0, "000_x.sql", "SELECT 1"};
  ck_assert_int_eq(arec_pg_migrate_set(pg, "app_ledger", &zero, 1, NULL), AREC_EINVAL);
  /* apply, then again: a no-op */
  ck_assert_int_eq(arec_pg_migrate_set(pg, "app_ledger", APP, 3, &applied), 0);
  ck_assert_int_eq(applied, 3);
  ck_assert_int_eq(arec_pg_migrate_set(pg, "app_ledger", APP, 3, &applied), 0);
  ck_assert_int_eq(applied, 0);
  ck_assert_int_eq(arec_pg_ledger_version(pg, "app_ledger", &v), 0);
  ck_assert_int_eq(v, 5);
  /* a body that does not record its version is rolled back */
  arec_pg_migration forgot[4] = {APP[0], APP[1], APP[2],
                                 {6, "006_app.sql",
                                  "CREATE TABLE app_more (x int);\n"}};
  ck_assert_int_eq(arec_pg_migrate_set(pg, "app_ledger", forgot, 4, &applied),
                   AREC_EINVAL);
  ck_assert_int_eq(applied, 0);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "did not record"));
  char *t = value("m_set", "SELECT to_regclass('app_more') IS NULL");
  ck_assert_str_eq(t, "t");
  free(t);
  /* a failing body: nothing of it stays, the error names the file and the
   * SQLSTATE */
  arec_pg_migration fails[4] = {
      APP[0], APP[1], APP[2],
      {7, "007_app.sql",
       "CREATE TABLE app_half (x int);\n"
       "INSERT INTO app_missing VALUES (1);\n"
       "INSERT INTO app_ledger (version) VALUES (7);\n"}};
  ck_assert_int_eq(arec_pg_migrate_set(pg, "app_ledger", fails, 4, NULL),
                   AREC_EBACKEND);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "007_app.sql"));
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "42P01"));
  t = value("m_set", "SELECT to_regclass('app_half') IS NULL");
  ck_assert_str_eq(t, "t");
  free(t);
  ck_assert_int_eq(arec_pg_ledger_version(pg, "app_ledger", &v), 0);
  ck_assert_int_eq(v, 5);
  /* no advisory lock is left behind (a session lock would be, and would
   * not work through a transaction pooler) */
  t = value("m_set", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'");
  ck_assert_str_eq(t, "0");
  free(t);
  arec_pg_free(pg);
}
END_TEST

START_TEST(migrate_set_concurrent) {
  mkdb("m_setc");
  mig_arg a[6];
  memset(a, 0, sizeof a);
  for (int i = 0; i < 6; i++) {
    a[i].db = "m_setc";
    a[i].ledger = "app_ledger";
    a[i].m = APP;
    a[i].n = 3;
  }
  ck_assert_int_eq(run_migrators(a, 6), 3);
  char *v = versions("m_setc", "app_ledger");
  ck_assert_str_eq(v, "1,2,5");
  free(v);
  /* the library's ledger is independent of it */
  v = value("m_setc", "SELECT to_regclass('schema_migrations') IS NULL");
  ck_assert_str_eq(v, "t");
  free(v);
}
END_TEST

/* ----------------------------------------------------- upgrade from 0.1 */
/* Every row of the 0.1 tables, by the 0.1 columns, as one digest. */
static const char *const DIGESTS[] = {
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(id, name, "
    "created_at)::text x FROM users) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(id, user_id, "
    "exchange, api_key, api_secret, testnet, created_at)::text x FROM "
    "user_exchanges) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(id, user_id, "
    "exchange_id, symbol, created_at)::text x FROM user_trading_pairs) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(id, user_id, "
    "strategy, name, is_active, is_trading, fence, running_on, "
    "running_incarnation, created_at, migrate_to, migrate_until)::text x "
    "FROM agent_configs) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(name, "
    "incarnation, started_at, heartbeat_at, lease_until, leaving)::text x "
    "FROM pods) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(agent_id, "
    "symbol, balance, created_at)::text x FROM agent_symbol_assignments) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(agent_id, "
    "symbol, balance, memory, fence, hist_n, updated_at)::text x FROM "
    "agent_states) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(id, agent_id, "
    "symbol, fence, pod, balance, memory, saved_at)::text x FROM "
    "agent_state_history) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(name, fence, "
    "holder, claimed_at)::text x FROM singleton_roles) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(key, value, "
    "updated_at)::text x FROM host_kv) t",
    "SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (SELECT row(key, value, "
    "holder, expires_at)::text x FROM agent_locks) t",
};
#define NDIGESTS (sizeof DIGESTS / sizeof *DIGESTS)

static const char SEED_0_1[] =
    "INSERT INTO users (id, name) VALUES (101, 'alice'), (102, 'bob'); "
    "INSERT INTO user_exchanges (user_id, exchange, api_key, api_secret, "
    "  testnet) VALUES (101, 'binance', '\\\\x00112233', '\\\\xdeadbeef', "
    "  true), (102, 'bybit', '\\\\x0a0b', '\\\\x0c0d', false); "
    "INSERT INTO user_trading_pairs (user_id, exchange_id, symbol) VALUES "
    "  (101, 1, 'BTC/USDT'), (101, 1, 'ETH/USDT'), (102, 2, 'BTC/USDT'); "
    "INSERT INTO agent_configs (id, user_id, strategy, name, is_trading, "
    "  fence) VALUES ('a-alice', 101, 'grid', 'A', true, 7), "
    "  ('a-bob', 102, 'dca', 'B', false, 0), "
    "  ('Z-upper', 101, 'grid', 'Z', true, 2); "
    "INSERT INTO agent_symbol_assignments (agent_id, symbol, balance) VALUES "
    "  ('a-alice', 'BTC/USDT', 100), ('a-alice', 'ETH/USDT', 50.5), "
    "  ('a-bob', 'BTC/USDT', 20), ('Z-upper', 'BTC/USDT', 10); "
    "INSERT INTO agent_states (agent_id, symbol, balance, memory, fence) "
    "  VALUES ('a-alice', 'BTC/USDT', 101.25, '{\\\"pos\\\": [1, 2]}', 7), "
    "  ('a-alice', 'ETH/USDT', 50.5, '{}', 6), ('a-bob', 'BTC/USDT', 20, "
    "  '{}', 0), ('Z-upper', 'BTC/USDT', 9.5, '{\\\"z\\\": true}', 2); "
    "INSERT INTO agent_state_history (agent_id, symbol, fence, pod, balance, "
    "  memory) VALUES ('a-alice', 'BTC/USDT', 6, 'pod-1', 100, '{}'), "
    "  ('a-alice', 'BTC/USDT', 7, 'pod-1', 101.25, '{\\\"pos\\\": [1, 2]}'); "
    "INSERT INTO pods (name, incarnation, started_at, heartbeat_at, "
    "  lease_until) VALUES ('pod-old', 'inc', now(), now(), now()); "
    "INSERT INTO singleton_roles (name, fence, holder, claimed_at) VALUES "
    "  ('telegram', 4, 'pod-1', now()); "
    "INSERT INTO host_kv (key, value) VALUES ('tg_offset', '12345'); "
    "INSERT INTO agent_locks (key, value, holder, expires_at) VALUES "
    "  ('agent:lock:a-alice', 'pod-1/abc', NULL, now())";

/* The 0.1 migrations are kept as a gzip'd tar of the files, byte for byte
 * (tests/fixtures/README); tar and gzip, which every Debian has, unpack
 * them into the server's temp dir.  The glob pattern of the files. */
static const char *unpack_0_1(char *pattern, size_t len) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "tar -xzf tests/fixtures/sql-0.1.tar.gz -C '%s'",
           g_pg.dir);
  ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
  snprintf(pattern, len, "%s/sql-0.1/[0-9][0-9][0-9]_*.sql", g_pg.dir);
  return pattern;
}

static void digests(const char *db, char **out) {
  for (size_t i = 0; i < NDIGESTS; i++)
    out[i] = value(db, DIGESTS[i]);
}

START_TEST(upgrade_from_0_1_keeps_every_row) {
  mkdb("u_old");
  mkdb("u_psql");
  mkdb("u_lib");
  char old[400];
  ck_assert_uint_eq(psql_apply("u_old", unpack_0_1(old, sizeof old), 1000), 5);
  psql_run("u_old", SEED_0_1);
  char *before[NDIGESTS], *after[NDIGESTS];
  digests("u_old", before);
  /* the library's migrations, then the host's, as a deployment runs them */
  arec_pg *pg = open_db("u_old", 2);
  int applied = -1, v = -1;
  ck_assert_int_eq(arec_pg_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, (int)lib_files() - 5);
  arec_pg_migration *hm = NULL;
  size_t hn = 0;
  ck_assert_int_eq(arec_test_pg_load_migrations("host/sql", &hm, &hn), 0);
  ck_assert_uint_ge(hn, 1);
  ck_assert_int_eq(arec_pg_migrate_set(pg, "host_schema_migrations", hm, hn, &applied), 0);
  ck_assert_int_eq(applied, (int)hn);
  ck_assert_int_eq(arec_pg_ledger_version(pg, "host_schema_migrations", &v), 0);
  ck_assert_int_eq(v, hm[hn - 1].version);
  /* every row is still there, every 0.1 column unchanged */
  digests("u_old", after);
  for (size_t i = 0; i < NDIGESTS; i++) {
    ck_assert_msg(strcmp(before[i], after[i]) == 0, "rows changed: %s", DIGESTS[i]);
    ck_assert_str_ne(before[i], ""); /* every table had rows */
    free(before[i]);
    free(after[i]);
  }
  /* the agents are restorable, with their symbols and states */
  arec_repository *r = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&r, pg), 0);
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, NULL, &l), 0);
  ck_assert_uint_eq(l->n, 2); /* in byte order: "Z-upper" < "a-alice" */
  ck_assert_str_eq(l->rows[0].id, "Z-upper");
  ck_assert_str_eq(l->rows[1].id, "a-alice");
  arec_agent_row *a = &l->rows[1];
  ck_assert_int_eq(a->error, 0);
  ck_assert_int_eq(a->user_id, 101);
  ck_assert_str_eq(a->strategy, "grid");
  ck_assert_str_eq(a->params, "{}");
  ck_assert_uint_eq(a->nsymbols, 2);
  ck_assert_str_eq(a->symbols[0].symbol, "BTC/USDT");
  ck_assert_double_eq_tol(a->symbols[0].budget, 100, 1e-9);
  ck_assert_double_eq_tol(a->symbols[0].balance, 101.25, 1e-9);
  ck_assert_str_eq(a->symbols[0].memory, "{\"pos\": [1, 2]}");
  ck_assert_str_eq(a->symbols[1].symbol, "ETH/USDT");
  ck_assert_double_eq_tol(a->symbols[1].balance, 50.5, 1e-9);
  arec_agent_list_free(l);
  /* and runnable: claim (fence 7 -> 8) and a fenced save */
  uint64_t f = 0;
  ck_assert_int_eq(r->claim(r, "pod-new", "inc-new", "a-alice", &f), 0);
  ck_assert_uint_eq(f, 8);
  arec_symbol_state st = {"BTC/USDT", 102, "{}"};
  arec_save sv = {"a-alice", f, "pod-new", 1, &st};
  ck_assert_int_eq(r->save_state(r, &sv), 0);
  /* the owner's foreign key is back (host): deleting a user deletes its
   * agents, as in 0.1 */
  psql_run("u_old", "DELETE FROM users WHERE id = 102");
  char *n = value("u_old", "SELECT count(*) FROM agent_configs WHERE id = 'a-bob'");
  ck_assert_str_eq(n, "0");
  free(n);
  r->free(r);
  arec_pg_free(pg);
  /* the schema is the one of a fresh database, made by psql -f of the
   * library's and the host's files, or by the library */
  psql_apply("u_psql", "sql/[0-9][0-9][0-9]_*.sql", 1000);
  psql_apply("u_psql", "host/sql/[0-9][0-9][0-9]_*.sql", 1000);
  pg = open_db("u_lib", 1);
  ck_assert_int_eq(arec_pg_migrate(pg, NULL), 0);
  ck_assert_int_eq(arec_pg_migrate_set(pg, "host_schema_migrations", hm, hn, NULL), 0);
  arec_pg_free(pg);
  assert_same_schema("u_old", "u_psql");
  assert_same_schema("u_old", "u_lib");
  char *v1 = versions("u_old", "schema_migrations"), *v2 = versions("u_psql", "schema_migrations");
  ck_assert_str_eq(v1, v2);
  free(v1);
  free(v2);
  v1 = versions("u_old", "host_schema_migrations");
  v2 = versions("u_lib", "host_schema_migrations");
  ck_assert_str_eq(v1, v2);
  free(v1);
  free(v2);
  /* the host's migrations again: a no-op */
  pg = open_db("u_old", 1);
  ck_assert_int_eq(arec_pg_migrate_set(pg, "host_schema_migrations", hm, hn, &applied), 0);
  ck_assert_int_eq(applied, 0);
  arec_pg_free(pg);
  arec_test_pg_migrations_free(hm, hn);
}
END_TEST

AREC_TEST_CASE_MAIN("pg-migrations", "migrations", 120,
                    arec_test_main(s, &g_pg, AREC_TEST_EMPTY, NULL),
                    fresh_apply_matches_psql, apply_over_older_version,
                    concurrent_migrators, migrate_set_rules,
                    migrate_set_concurrent, upgrade_from_0_1_keeps_every_row)
