/*
 * test_pg_host.c -- the host API of agentrecover/pg.h against a real
 * PostgreSQL 15: users, exchanges (secrets encrypted at rest), trading
 * pairs, agents (create, assign, wish, enable, get, paged list), live pods,
 * fenced singleton roles and the key-value store.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"

static arec_test_pg g_pg;
static const unsigned char KEY[32] = "0123456789abcdef0123456789abcdef";

static arec_pg *open_pg(void) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.secrets_key = KEY;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  return pg;
}

static void reset(void) {
  ck_assert_int_eq(
      arec_test_pg_sql(&g_pg,
                       "TRUNCATE users, user_exchanges, user_trading_pairs, "
                       "agent_configs, pods, agent_symbol_assignments, agent_states, "
                       "agent_state_history, singleton_roles, host_kv "
                       "RESTART IDENTITY CASCADE",
                       NULL),
      0);
}

START_TEST(users_exchanges_pairs) {
  reset();
  arec_pg *pg = open_pg();
  char *name = NULL;
  ck_assert_int_eq(arec_pg_user_get(pg, 5, &name), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_pg_user_upsert(pg, 5, "carol"), 0);
  ck_assert_int_eq(arec_pg_user_upsert(pg, 5, "carol2"), 0);
  ck_assert_int_eq(arec_pg_user_get(pg, 5, &name), 0);
  ck_assert_str_eq(name, "carol2");
  arec_free(name);
  long long ex = 0, ex6 = 0, pair = 0;
  ck_assert_int_eq(arec_pg_exchange_create(pg, &ex, 99, "binance", "k", "s", 1), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_pg_exchange_create(pg, &ex, 5, "binance", "", "s", 1), AREC_EINVAL);
  ck_assert_int_eq(arec_pg_exchange_create(pg, &ex, 5, "binance", "plain-api-key",
                                           "plain-api-secret", 1), 0);
  ck_assert_int_gt(ex, 0);
  ck_assert_ptr_null(strstr(arec_error_last(), "plain-api"));
  /* encrypted at rest */
  char *out = NULL;
  ck_assert_int_eq(arec_test_pg_sql(&g_pg,
                                    "SELECT encode(api_key, 'escape') || encode(api_secret, 'escape') "
                                    "FROM user_exchanges", &out), 0);
  ck_assert_ptr_null(strstr(out, "plain-api"));
  free(out);
  ck_assert_int_eq(arec_pg_user_upsert(pg, 6, "dave"), 0);
  ck_assert_int_eq(arec_pg_exchange_create(pg, &ex6, 6, "bybit", "k6", "s6", 0), 0);
  ck_assert_int_eq(arec_pg_pair_create(pg, &pair, 5, ex, "BTC/USDT"), 0);
  ck_assert_int_gt(pair, 0);
  ck_assert_int_eq(arec_pg_pair_create(pg, &pair, 5, ex, "BTC/USDT"), AREC_EEXIST);
  ck_assert_int_eq(arec_pg_pair_create(pg, &pair, 5, ex6, "ETH/USDT"), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_pg_pair_create(pg, &pair, 6, ex6, "BTC/USDT"), 0);
  arec_pg_free(pg);
}
END_TEST

START_TEST(agents_create_assign_get_list) {
  reset();
  arec_pg *pg = open_pg();
  long long ex, pair;
  ck_assert_int_eq(arec_pg_user_upsert(pg, 1, "u1"), 0);
  ck_assert_int_eq(arec_pg_user_upsert(pg, 2, "u2"), 0);
  ck_assert_int_eq(arec_pg_exchange_create(pg, &ex, 1, "binance", "k", "s", 1), 0);
  ck_assert_int_eq(arec_pg_pair_create(pg, &pair, 1, ex, "BTC/USDT"), 0);
  char id[65];
  ck_assert_int_eq(arec_pg_agent_create(pg, id, NULL, 1, "grid", "G"), 0);
  ck_assert_uint_eq(strlen(id), 12);
  ck_assert_int_eq(arec_agent_id_valid(id), 1);
  ck_assert_int_eq(arec_pg_agent_create(pg, id, "bad id!", 1, "grid", "G"), AREC_EINVAL);
  ck_assert_int_eq(arec_pg_agent_create(pg, id, "x1", 1, "", "G"), AREC_EINVAL);
  ck_assert_int_eq(arec_pg_agent_create(pg, id, "x1", 42, "grid", "G"), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_pg_agent_create(pg, id, "x1", 1, "grid", "G"), 0);
  ck_assert_str_eq(id, "x1");
  ck_assert_int_eq(arec_pg_agent_create(pg, id, "x1", 1, "grid", "G"), AREC_EEXIST);
  /* assign */
  ck_assert_int_eq(arec_pg_agent_set_trading(pg, "x1", 1), AREC_ECONFLICT);
  ck_assert_int_eq(arec_pg_agent_assign(pg, "nope", "BTC/USDT", 10), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_pg_agent_assign(pg, "x1", "ETH/USDT", 10), AREC_ECONFLICT);
  ck_assert_int_eq(arec_pg_agent_assign(pg, "x1", "BTC/USDT", 0), AREC_EINVAL);
  ck_assert_int_eq(arec_pg_agent_assign(pg, "x1", "BTC/USDT", 12.5), 0);
  ck_assert_int_eq(arec_pg_agent_assign(pg, "x1", "BTC/USDT", 12.5), AREC_EEXIST);
  ck_assert_int_eq(arec_pg_agent_set_trading(pg, "x1", 1), 0);
  ck_assert_int_eq(arec_pg_agent_set_active(pg, "nope", 0), AREC_ENOTFOUND);
  /* claim through the repository, then get */
  arec_repository *r;
  ck_assert_int_eq(arec_pg_repository_new(&r, pg), 0);
  uint64_t f = 0;
  ck_assert_int_eq(r->claim(r, "pod-1", "inc-1", "x1", &f), 0);
  arec_symbol_state st = {"BTC/USDT", 11.25, "{\"pos\": [1, 2]}"};
  arec_save sv = {"x1", f, "pod-1", 1, &st};
  ck_assert_int_eq(r->save_state(r, &sv), 0);
  arec_pg_agent *a = NULL;
  ck_assert_int_eq(arec_pg_agent_get(pg, "nope", &a), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_pg_agent_get(pg, "x1", &a), 0);
  ck_assert_str_eq(a->id, "x1");
  ck_assert_int_eq(a->user_id, 1);
  ck_assert_str_eq(a->strategy, "grid");
  ck_assert_int_eq(a->is_active, 1);
  ck_assert_int_eq(a->is_trading, 1);
  ck_assert_str_eq(a->running_on, "pod-1");
  ck_assert_uint_eq(a->fence, f);
  ck_assert_uint_eq(a->nsymbols, 1);
  ck_assert_str_eq(a->symbols[0].symbol, "BTC/USDT");
  ck_assert_double_eq_tol(a->symbols[0].budget, 12.5, 1e-9);
  ck_assert_double_eq_tol(a->symbols[0].balance, 11.25, 1e-9);
  ck_assert_str_eq(a->symbols[0].memory, "{\"pos\": [1, 2]}");
  ck_assert_uint_eq(a->symbols[0].fence, f);
  ck_assert_ptr_nonnull(a->updated_at);
  ck_assert_int_eq(a->created_at[4], '-');
  ck_assert_int_eq(a->created_at[strlen(a->created_at) - 1], 'Z');
  arec_pg_agents_free(a, 1);
  ck_assert_int_eq(arec_pg_agent_set_active(pg, "x1", 0), 0);
  ck_assert_int_eq(arec_pg_agent_get(pg, "x1", &a), 0);
  ck_assert_int_eq(a->is_active, 0);
  arec_pg_agents_free(a, 1);
  /* paged list: 25 more agents of user 2 */
  for (int i = 0; i < 25; i++) {
    char aid[16];
    snprintf(aid, sizeof aid, "p%02d", i);
    ck_assert_int_eq(arec_pg_agent_create(pg, id, aid, 2, "grid", "P"), 0);
  }
  size_t n = 0, total = 0;
  char after[65] = "";
  int pages = 0;
  for (;;) {
    arec_pg_agent *as = NULL;
    ck_assert_int_eq(arec_pg_agent_list(pg, pages ? after : NULL, 10, 2, &as, &n), 0);
    for (size_t i = 0; i < n; i++) {
      char want[16];
      snprintf(want, sizeof want, "p%02zu", total + i);
      ck_assert_str_eq(as[i].id, want);
      ck_assert_int_eq(as[i].user_id, 2);
      ck_assert_ptr_null(as[i].running_on);
    }
    if (n)
      snprintf(after, sizeof after, "%s", as[n - 1].id);
    total += n;
    arec_pg_agents_free(as, n);
    pages++;
    if (n < 10)
      break;
  }
  ck_assert_uint_eq(total, 25);
  ck_assert_int_eq(pages, 3);
  arec_pg_agent *all = NULL;
  ck_assert_int_eq(arec_pg_agent_list(pg, NULL, 1000, 0, &all, &n), 0);
  ck_assert_uint_eq(n, 27);
  arec_pg_agents_free(all, n);
  ck_assert_int_eq(arec_pg_agent_list(pg, NULL, 0, 0, &all, &n), AREC_EINVAL);
  r->free(r);
  arec_pg_free(pg);
}
END_TEST

START_TEST(pods_roles_kv) {
  reset();
  arec_pg *pg = open_pg();
  arec_repository *r;
  ck_assert_int_eq(arec_pg_repository_new(&r, pg), 0);
  ck_assert_int_eq(r->heartbeat(r, "pod-a", "ia", 60000, 0), 0);
  ck_assert_int_eq(r->heartbeat(r, "pod-b", "ib", 60000, 0), 0);
  ck_assert_int_eq(r->heartbeat(r, "pod-c", "ic", 60000, 0), 0);
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "UPDATE pods SET lease_until = now() - "
                                           "interval '1 s' WHERE name = 'pod-c'", NULL), 0);
  ck_assert_int_eq(r->heartbeat(r, "pod-b", "ib", 60000, 1), 0);
  arec_pg_pod *pods = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_pg_pods_list(pg, &pods, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(pods[0].name, "pod-a");
  ck_assert_str_eq(pods[0].incarnation, "ia");
  ck_assert_int_eq(pods[0].agents, 0);
  arec_pg_pods_free(pods, n);
  /* roles */
  uint64_t f1 = 0, f2 = 0;
  ck_assert_int_eq(arec_pg_role_claim(pg, "telegram", "pod-a", &f1), 0);
  ck_assert_int_eq(arec_pg_role_check(pg, "telegram", f1), 0);
  ck_assert_int_eq(arec_pg_role_claim(pg, "telegram", "pod-b", &f2), 0);
  ck_assert_uint_gt(f2, f1);
  ck_assert_int_eq(arec_pg_role_check(pg, "telegram", f1), AREC_EFENCED);
  ck_assert_int_eq(arec_pg_role_check(pg, "nope", 1), AREC_EFENCED);
  ck_assert_int_eq(arec_pg_role_release(pg, "telegram", f1), AREC_EFENCED);
  /* kv: unfenced and fenced writes */
  char *v = NULL;
  ck_assert_int_eq(arec_pg_kv_get(pg, "offset", &v), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_pg_kv_set(pg, "offset", "10", NULL, 0), 0);
  ck_assert_int_eq(arec_pg_kv_set(pg, "offset", "11", "telegram", f1), AREC_EFENCED);
  ck_assert_int_eq(arec_pg_kv_get(pg, "offset", &v), 0);
  ck_assert_str_eq(v, "10");
  arec_free(v);
  ck_assert_int_eq(arec_pg_kv_set(pg, "offset", "12", "telegram", f2), 0);
  ck_assert_int_eq(arec_pg_kv_get(pg, "offset", &v), 0);
  ck_assert_str_eq(v, "12");
  arec_free(v);
  ck_assert_int_eq(arec_pg_role_release(pg, "telegram", f2), 0);
  ck_assert_int_eq(arec_pg_role_check(pg, "telegram", f2), AREC_EFENCED);
  ck_assert_int_eq(arec_pg_kv_set(pg, "offset", "13", "telegram", f2), AREC_EFENCED);
  ck_assert_int_eq(arec_pg_role_release(pg, "telegram", f2), AREC_EFENCED);
  r->free(r);
  arec_pg_free(pg);
}
END_TEST

START_TEST(exchange_latest_is_the_users_newest) {
  arec_pg *pg = open_pg();
  long long a = 0, b = 0, other = 0, got = -1;
  ck_assert_int_eq(arec_pg_user_upsert(pg, 9101, "x"), 0);
  ck_assert_int_eq(arec_pg_user_upsert(pg, 9102, "y"), 0);
  ck_assert_int_eq(arec_pg_exchange_latest(pg, 9101, &got), AREC_ENOTFOUND);
  ck_assert_int_eq(got, 0);
  ck_assert_int_eq(arec_pg_exchange_create(pg, &a, 9101, "binance", "k1", "s1", 1), 0);
  ck_assert_int_eq(arec_pg_exchange_create(pg, &b, 9101, "binance", "k2", "s2", 0), 0);
  ck_assert_int_eq(arec_pg_exchange_create(pg, &other, 9102, "binance", "k3", "s3", 1), 0);
  ck_assert_int_eq(arec_pg_exchange_latest(pg, 9101, &got), 0);
  ck_assert_int_eq(got, b);
  ck_assert_int_eq(arec_pg_exchange_latest(pg, 9102, &got), 0);
  ck_assert_int_eq(got, other);
  ck_assert_int_eq(arec_pg_exchange_latest(pg, 9103, &got), AREC_ENOTFOUND);
  arec_pg_free(pg);
}
END_TEST

int main(void) {
  if (arec_test_pg_start(&g_pg) != 0)
    return 1;
  {
    arec_pg_options o = AREC_PG_OPTIONS_INIT;
    o.conninfo = g_pg.conninfo;
    arec_pg *pg = NULL;
    if (arec_pg_new(&pg, &o) != 0 || arec_pg_migrate(pg, NULL) != 0) {
      fprintf(stderr, "migrate: %s\n", arec_error_last());
      return 1;
    }
    arec_pg_free(pg);
  }
  Suite *s = suite_create("pg-host-api");
  TCase *tc = tcase_create("host-api");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, users_exchanges_pairs);
  tcase_add_test(tc, agents_create_assign_get_list);
  tcase_add_test(tc, pods_roles_kv);
  tcase_add_test(tc, exchange_latest_is_the_users_newest);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  arec_test_pg_stop(&g_pg);
  return failed ? 1 : 0;
}
