/*
 * test_host_store.c -- the host's store (host/store.h) against a real
 * PostgreSQL 15 migrated as a deployment is: users, exchange accounts
 * (encrypted at rest, never listed with their credentials), pairs (the
 * newest account by default, only the user's own) and the removal rule
 * (refused while a wanted agent trades on the account); the bot's offset
 * written only by the current holder of its role (refused once the lease
 * expired and after another holder claimed it); the audit trail's pages;
 * the host's migrations compiled in (the same ledger as the files applied
 * one by one).  No secret ever appears in an arec_error_last() or a log
 * line (every line logged is searched).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/host/store_fixture.h"
#include "support/runner.h"
#include "support/toy_agent.h"

static const unsigned char K1[32] = "0123456789abcdef0123456789abcdef";


/* ------------------------------------------------------------------ CRUD */
START_TEST(users_accounts_pairs) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  char *name = NULL;
  ck_assert_int_eq(arec_host_store_user_get(s, 101, &name), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_host_store_user_upsert(s, 101, "Ann"), 0);
  ck_assert_int_eq(arec_host_store_user_upsert(s, 101, "Anna"), 0);
  ck_assert_int_eq(arec_host_store_user_get(s, 101, &name), 0);
  ck_assert_str_eq(name, "Anna");
  free(name);
  user(s, 102);

  /* accounts: the user must exist; the credentials are not listed */
  long long id = 0;
  ck_assert_int_eq(arec_host_store_exchange_create(s, 999, "binance", "k",
                                                   "s", 1, &id),
                   AREC_ENOTFOUND);
  long long a1 = account(s, 101, SECRET_KEY, SECRET_VAL, 1);
  long long a2 = account(s, 101, SECRET_KEY, SECRET_VAL, 0);
  long long b1 = account(s, 102, SECRET_KEY, SECRET_VAL, 1);
  ck_assert_int_gt(a2, a1);
  arec_host_exchange *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_host_store_exchange_list(s, 101, &v, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(v[0].id, a1);
  ck_assert_int_eq(v[0].testnet, 1);
  ck_assert_int_eq(v[1].testnet, 0);
  free(v);
  /* stored encrypted: no plaintext in the table */
  char q[256];
  snprintf(q, sizeof q,
           "SELECT count(*) FROM user_exchanges WHERE position('s3cr3t'::bytea "
           "IN api_secret) > 0 OR position('AKIA'::bytea IN api_key) > 0");
  ck_assert_int_eq(sql_ll(q), 0);

  /* pairs: 0 is the newest account; another user's account is not found */
  long long pid = 0, used = 0;
  ck_assert_int_eq(
      arec_host_store_pair_create(s, 101, 0, "BTC/USDT", &pid, &used), 0);
  ck_assert_int_eq(used, a2);
  ck_assert_int_eq(
      arec_host_store_pair_create(s, 101, a1, "ETH/USDT", &pid, &used), 0);
  ck_assert_int_eq(used, a1);
  ck_assert_int_eq(arec_host_store_pair_create(s, 101, b1, "XRP/USDT", &pid,
                                               NULL),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_host_store_pair_create(s, 101, 0, "BTC/USDT", &pid,
                                               NULL),
                   AREC_EEXIST);
  ck_assert_int_eq(arec_host_store_pair_create(s, 103, 0, "BTC/USDT", &pid,
                                               NULL),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_host_store_pair_exists(s, 101, "BTC/USDT"), 1);
  ck_assert_int_eq(arec_host_store_pair_exists(s, 102, "BTC/USDT"), 0);

  /* the account of a symbol, decrypted */
  expect_account(s, 101, "BTC/USDT", a2);
  expect_account(s, 101, "ETH/USDT", a1);
  arec_host_account acc;
  ck_assert_int_eq(arec_host_store_account(s, 101, "XRP/USDT", &acc),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_host_store_account(s, 102, "BTC/USDT", &acc),
                   AREC_ENOTFOUND);

  /* removal: refused while a wanted agent of the user trades on it */
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  ck_assert_int_eq(
      toy_create(repo, "store-ag1", 101, "noop", "n", NULL, NULL, NULL), 0);
  ck_assert_int_eq(arec_agent_assign(repo, "store-ag1", "BTC/USDT", 100), 0);
  ck_assert_int_eq(arec_agent_set_trading(repo, "store-ag1", 1), 0);
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 101, a2),
                   AREC_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "store-ag1"));
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 102, a2),
                   AREC_ENOTFOUND); /* not that user's */
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 101, a1), 0);
  ck_assert_int_eq(arec_host_store_pair_exists(s, 101, "ETH/USDT"), 0);
  ck_assert_int_eq(arec_agent_set_trading(repo, "store-ag1", 0), 0);
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 101, a2), 0);
  ck_assert_int_eq(arec_host_store_pair_exists(s, 101, "BTC/USDT"), 0);
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 101, a2),
                   AREC_ENOTFOUND);
  arec_repository_free(repo);
  no_secret_then_free(pg, s, NULL);
}
END_TEST

/* ---------------------------------------------------------- bot's state */
START_TEST(offset_written_only_by_the_role_holder) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  char *v = NULL;
  ck_assert_int_eq(arec_host_store_kv_get(s, "telegram:offset", &v),
                   AREC_ENOTFOUND);
  arec_role_lease a, b;
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-a/1", 60000, &a),
                   1);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "41",
                                                 &a),
                   0);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "42",
                                                 &a),
                   0);
  ck_assert_int_eq(arec_host_store_kv_get(s, "telegram:offset", &v), 0);
  ck_assert_str_eq(v, "42");
  free(v);
  /* another holder is refused while a holds it */
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-b/1", 60000, &b),
                   0);
  /* a's lease runs out (as if a stopped renewing) and b claims the role */
  sql("UPDATE singleton_roles SET lease_until = clock_timestamp() - "
      "interval '1 second' WHERE name = 'telegram'");
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "43",
                                                 &a),
                   AREC_EFENCED); /* expired, not yet claimed */
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-b/1", 60000, &b),
                   1);
  ck_assert_uint_gt(b.fence, a.fence);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "44",
                                                 &a),
                   AREC_EFENCED);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "telegram"));
  /* the same holder name with the old fence is refused too */
  arec_role_lease stale = b;
  stale.fence = a.fence;
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "45",
                                                 &stale),
                   AREC_EFENCED);
  ck_assert_int_eq(arec_host_store_kv_get(s, "telegram:offset", &v), 0);
  ck_assert_str_eq(v, "42");
  free(v);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "46",
                                                 &b),
                   0);
  ck_assert_int_eq(arec_host_store_kv_get(s, "telegram:offset", &v), 0);
  ck_assert_str_eq(v, "46");
  free(v);
  /* released: nobody writes */
  ck_assert_int_eq(arec_role_release(repo, &b), 0);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "47",
                                                 &b),
                   AREC_EFENCED);
  arec_repository_free(repo);
  no_secret_then_free(pg, s, NULL);
}
END_TEST

/* ----------------------------------------------------------------- audit */
START_TEST(audit_pages) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  for (int i = 0; i < 25; i++) {
    arec_host_audit e;
    memset(&e, 0, sizeof e);
    char agent[16];
    snprintf(agent, sizeof agent, "ag%d", i);
    e.actor = i % 2 ? "telegram:601" : "api:admin";
    e.action = "agent.create";
    e.agent_id = i % 3 ? agent : NULL;
    e.user_id = i % 2 ? 601 : 0;
    e.result = "201";
    e.request_id = i % 5 ? NULL : "req-1";
    ck_assert_int_eq(arec_host_store_audit_add(s, &e), 0);
  }
  arec_host_audit *v = NULL;
  size_t n = 0, seen = 0;
  long long after = 0, last = 0;
  for (;;) {
    ck_assert_int_eq(arec_host_store_audit_list(s, after, 10, 0, &v, &n), 0);
    for (size_t i = 0; i < n; i++) {
      ck_assert_int_gt(v[i].id, last);
      last = v[i].id;
      ck_assert_ptr_nonnull(v[i].time);
      ck_assert_int_eq((int)strlen(v[i].time), 27); /* ...T..:..:..ssssssZ */
      ck_assert_str_eq(v[i].result, "201");
    }
    seen += n;
    if (n)
      after = v[n - 1].id;
    arec_host_audit_free(v, n);
    if (n < 10)
      break;
  }
  ck_assert_uint_eq(seen, 25);
  ck_assert_int_eq(arec_host_store_audit_list(s, 0, 1000, 601, &v, &n), 0);
  ck_assert_uint_eq(n, 12);
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_eq(v[i].actor, "telegram:601");
    ck_assert_int_eq(v[i].user_id, 601);
  }
  ck_assert_ptr_null(v[1].agent_id); /* i = 3 */
  ck_assert_ptr_nonnull(v[2].agent_id);
  arec_host_audit_free(v, n);
  ck_assert_int_eq(arec_host_store_audit_list(s, 0, 0, 0, &v, &n),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_host_store_audit_list(s, 0, 1001, 0, &v, &n),
                   AREC_EINVAL);
  no_secret_then_free(pg, s, NULL);
}
END_TEST

/* ------------------------------------------------------------ migrations */
/* The host's tables, columns and indexes as one text. */
static char *schema_text(arec_pg *pg) {
  arec_pg_result *r = NULL;
  ck_assert_int_eq(
      arec_pg_query(
          pg, &r,
          "SELECT (SELECT string_agg(table_name || '.' || column_name || ':' "
          "  || data_type || ':' || is_nullable || ':' || "
          "  coalesce(column_default, ''), ',' ORDER BY table_name, "
          "  ordinal_position) FROM information_schema.columns WHERE "
          "  table_schema = 'public' AND table_name IN ('users', "
          "  'user_exchanges', 'user_trading_pairs', 'host_kv', "
          "  'audit_events', 'host_schema_migrations')) || ' | ' || "
          "(SELECT string_agg(indexdef, ',' ORDER BY indexname) FROM "
          "  pg_indexes WHERE schemaname = 'public' AND tablename IN "
          "  ('users', 'user_exchanges', 'user_trading_pairs', 'host_kv', "
          "  'audit_events'))",
          0, NULL, NULL, NULL),
      0);
  char *t = strdup(arec_pg_result_value(r, 0, 0));
  arec_pg_result_free(r);
  return t;
}

START_TEST(migrations_compiled_in_match_psql) {
  /* compiled in, on a database with the library's tables only */
  arec_pg *pg = open_db("mig_lib", 0);
  int applied = -1, version = -1;
  ck_assert_int_eq(arec_host_store_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, 3);
  ck_assert_int_eq(arec_host_store_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, 0);
  ck_assert_int_eq(arec_pg_ledger_version(pg, "host_schema_migrations",
                                          &version),
                   0);
  ck_assert_int_eq(version, 3);
  /* the files as an operator runs them: psql -f, one after the other */
  arec_pg *pp = open_db("mig_psql", 0);
  static const char *const files[] = {"host/sql/001_host.sql",
                                      "host/sql/002_audit.sql",
                                      "host/sql/003_audit_action.sql"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %d -U postgres "
             "-d mig_psql -f %s >/dev/null",
             g_pg.port, files[i]);
    ck_assert_msg(system(cmd) == 0, "%s", cmd);
  }
  ck_assert_int_eq(arec_host_store_migrate(pp, &applied), 0);
  ck_assert_int_eq(applied, 0);
  char *a = schema_text(pg), *b = schema_text(pp);
  ck_assert_str_eq(a, b);
  ck_assert_ptr_nonnull(strstr(a, "audit_events.user_id:bigint:YES"));
  ck_assert_ptr_nonnull(strstr(a, "audit_events_user_idx"));
  ck_assert_ptr_nonnull(strstr(a, "audit_events_action_idx"));
  free(a);
  free(b);
  /* the audit table's columns as the admin API pages them */
  arec_pg_result *r = NULL;
  ck_assert_int_eq(
      arec_pg_query(pg, &r,
                    "SELECT string_agg(column_name || ':' || data_type, ',' "
                    "ORDER BY ordinal_position) FROM "
                    "information_schema.columns WHERE table_name = "
                    "'audit_events'",
                    0, NULL, NULL, NULL),
      0);
  ck_assert_str_eq(arec_pg_result_value(r, 0, 0),
                   "id:bigint,time:timestamp with time zone,actor:text,"
                   "action:text,agent_id:text,user_id:bigint,result:text,"
                   "request_id:text");
  arec_pg_result_free(r);
  /* and the harness's database (the files through the loader) agrees */
  arec_pg *main_pg = open_pg();
  ck_assert_int_eq(arec_host_store_migrate(main_pg, &applied), 0);
  ck_assert_int_eq(applied, 0);
  arec_pg_free(main_pg);
  arec_pg_free(pp);
  arec_pg_free(pg);
}
END_TEST

AREC_TEST_CASE_MAIN("host-store", "store", 60,
                    arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
                    users_accounts_pairs,
                    offset_written_only_by_the_role_holder, audit_pages,
                    migrations_compiled_in_match_psql)
