/*
 * test_host_actors.c -- who may do what through the host's service layer
 * (tests/support/host/svc_fixture.c: real PostgreSQL 15, manager on the memory
 * lock): the read-only actor gets 403 on every mutation, is audited and
 * changes nothing; a Telegram actor sees and changes only its own users,
 * accounts, pairs, agents and audit events (404 for anyone else's, its
 * lists scoped); the bot's update offset is written only by the current
 * holder of its role; the strategy registry (the static table, the types
 * a manager gets with and without a trading config) and the 503 of a pod
 * without a secrets key.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/host/svc_fixture.h"
#include "support/runner.h"
#include "support/toy_agent.h"

/* ---------------------------------------------------------------- actors */
/* Every mutating call of `who` on user uid answers status: the user,
 * an exchange account, a pair, a new agent `new_id`, and the assignment,
 * start, stop and deletion of uid's agent `agent`, then stop_all. */
static void expect_mutations(fix *f, const arec_svc_actor *who, long long uid,
                             const char *agent, const char *new_id,
                             int status) {
  arec_svc_result res;
  long long ex = 0, pid = 0;
  size_t n = 0;
  char out[AREC_AGENT_ID_MAX + 1], pod[64];
  arec_svc_agent_new a = {new_id, uid, "noop", "x", NULL, NULL};
  EXPECT(arec_svc_user_upsert(f->svc, who, uid, "Hijack", &res), status);
  EXPECT(arec_svc_exchange_add(f->svc, who, uid, "binance", "k", "s", 1, &ex,
                               &res),
         status);
  EXPECT(arec_svc_pair_add(f->svc, who, uid, 0, "ETH/USDT", &pid, &res),
         status);
  EXPECT(arec_svc_agent_create(f->svc, who, &a, out, sizeof out, &res),
         status);
  EXPECT(arec_svc_agent_assign(f->svc, who, agent, "ETH/USDT", 1, &res),
         status);
  EXPECT(arec_svc_agent_start(f->svc, who, agent, pod, sizeof pod, &res),
         status);
  EXPECT(arec_svc_agent_stop(f->svc, who, agent, &res), status);
  EXPECT(arec_svc_agent_delete(f->svc, who, agent, &res), status);
  EXPECT(arec_svc_stop_all(f->svc, who, uid, &n, &res), status);
}

START_TEST(read_actor_forbidden_everywhere) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  setup_user(&f, 141, "BTC/USDT");
  create_agent(&f, &ADMIN, "ro-1", 141, "noop");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "ro-1", "BTC/USDT", 5, &res),
         201);
  long long before = audit_rows();
  EXPECT(arec_svc_exchange_remove(f.svc, &READER, 141, 1, &res), 403);
  EXPECT(arec_svc_agent_unassign(f.svc, &READER, "ro-1", "BTC/USDT", &res),
         403);
  EXPECT(arec_svc_agent_set_active(f.svc, &READER, "ro-1", 0, &res), 403);
  EXPECT(arec_svc_agent_migrate(f.svc, &READER, "ro-1", "pod-a", &res), 403);
  expect_mutations(&f, &READER, 141, "ro-1", "ro-2", 403);
  /* recorded, nothing changed */
  ck_assert_int_eq(audit_rows(), before + 13);
  expect_event(&f, "api:read", "agents.stop_all", NULL, 0, "403 ");
  arec_agent_record *rec = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &READER, "ro-1", &rec, &res), 200);
  ck_assert_int_eq(rec->is_active, 1);
  ck_assert_int_eq(rec->is_trading, 0);
  ck_assert_uint_eq(rec->nsymbols, 1);
  arec_agent_records_free(rec, 1);
  EXPECT(arec_svc_agent_get(f.svc, &READER, "ro-2", &rec, &res), 404);
  char *name = NULL;
  EXPECT(arec_svc_user_get(f.svc, &READER, 141, &name, &res), 200);
  ck_assert_str_eq(name, "User");
  free(name);
  ck_assert_int_eq(sql_ll("SELECT count(*) FROM user_trading_pairs WHERE "
                          "user_id = 141"),
                   1);
  fix_free(&f);
}
END_TEST

START_TEST(telegram_actor_sees_only_its_own) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  long long ex = 0, pid = 0;
  size_t n = 0;
  char pod[64];
  arec_svc_actor me = {AREC_ACTOR_TELEGRAM, 151, NULL};
  arec_svc_actor bad = {AREC_ACTOR_TELEGRAM, 0, NULL};
  setup_user(&f, 152, "BTC/USDT"); /* someone else, by the admin */
  create_agent(&f, &ADMIN, "tg-other", 152, "noop");

  /* its own objects */
  EXPECT(arec_svc_user_upsert(f.svc, &me, 151, "Me", &res), 201);
  expect_event(&f, "telegram:151", "user.upsert", NULL, 151, "201");
  EXPECT(arec_svc_exchange_add(f.svc, &me, 151, "binance", FX_KEY, FX_SECRET,
                               1, &ex, &res),
         201);
  EXPECT(arec_svc_pair_add(f.svc, &me, 151, 0, "BTC/USDT", &pid, &res), 201);
  create_agent(&f, &me, "tg-mine", 151, "noop");
  EXPECT(arec_svc_agent_assign(f.svc, &me, "tg-mine", "BTC/USDT", 5, &res),
         201);
  EXPECT(arec_svc_agent_start(f.svc, &me, "tg-mine", pod, sizeof pod, &res),
         200);

  /* the other user's: 404 everywhere */
  expect_mutations(&f, &me, 152, "tg-other", "tg-x", 404);
  arec_agent_record *rec = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &me, "tg-other", &rec, &res), 404);
  ck_assert_str_eq(res.message, "agent not found");
  char *name = NULL;
  EXPECT(arec_svc_user_get(f.svc, &me, 152, &name, &res), 404);
  /* a list asking for another user's shows its own */
  arec_agent_record *v = NULL;
  arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
  flt.user_id = 152;
  EXPECT(arec_svc_agent_list(f.svc, &me, &flt, &v, &n, &res), 200);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(v[0].id, "tg-mine");
  arec_agent_records_free(v, n);
  /* its audit events only */
  arec_svc_event *ev = NULL;
  EXPECT(arec_svc_audit_list(f.svc, &me, 0, 1000, &ev, &n, &res), 200);
  ck_assert_uint_ge(n, 6);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(ev[i].user_id, 151);
  arec_svc_events_free(ev, n);
  /* the other agent is untouched, its own stopped by stop_all */
  EXPECT(arec_svc_stop_all(f.svc, &me, 151, &n, &res), 200);
  ck_assert_uint_eq(n, 1);
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "tg-other", &rec, &res), 200);
  arec_agent_records_free(rec, 1);
  /* an actor without a user id is not let in */
  EXPECT(arec_svc_agent_get(f.svc, &bad, "tg-mine", &rec, &res), 403);
  fix_free(&f);
}
END_TEST

/* -------------------------------------------------------------- the bot */
START_TEST(bot_offset_fenced_by_the_role) {
  fix f;
  fix_init(&f, 1);
  arec_repository *repo = arec_svc_repository(f.svc);
  long long off = -1;
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(off, 0);
  arec_role_lease a, b;
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-a/1", 60000, &a), 1);
  ck_assert_int_eq(arec_svc_bot_offset_set(f.svc, &a, 1234567890123LL), 0);
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(off, 1234567890123LL);
  sql("UPDATE singleton_roles SET lease_until = clock_timestamp() - interval "
      "'1 second' WHERE name = 'telegram'");
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-b/1", 60000, &b), 1);
  ck_assert_int_eq(arec_svc_bot_offset_set(f.svc, &a, 5), AREC_EFENCED);
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(off, 1234567890123LL);
  ck_assert_int_eq(arec_svc_bot_offset_set(f.svc, &b, 7), 0);
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(off, 7);
  sql("DELETE FROM host_kv WHERE key = 'telegram:offset'");
  fix_free(&f);
}
END_TEST

/* ------------------------------------------------------- strategy registry */
START_TEST(strategy_registry) {
  size_t n = 0;
  const arec_host_strategy *t = arec_host_strategies(&n);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(t[0].name, "noop");
  ck_assert_int_eq(t[0].trading, 0);
  ck_assert_str_eq(t[1].name, "conservative");
  ck_assert_str_eq(t[2].name, "aggressive");
  for (size_t i = 0; i < n; i++) {
    ck_assert_uint_gt(strlen(t[i].summary), 10);
    ck_assert_ptr_null(strchr(t[i].summary, '\n'));
    ck_assert_ptr_eq(arec_host_strategy_find(t[i].name), &t[i]);
  }
  ck_assert_ptr_null(arec_host_strategy_find("ghost"));

  fix f;
  fix_init(&f, 0);
  char **names = NULL;
  ck_assert_int_eq(arec_svc_strategies(f.svc, &names, &n), 0);
  ck_assert_uint_eq(n, 5);
  const char *want[5] = {"aggressive", "conservative", "flaky", "noop",
                         "refuser"};
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(names[i], want[i]);
  arec_strings_free(names, n);
  ck_assert_int_eq(arec_host_strategies_register(f.mgr, &f.ctx), AREC_EEXIST);
  /* without a trading config: noop only */
  arec_memory_store *ms = toy_store(NULL, 0);
  arec_manager_options mo = AREC_MANAGER_OPTIONS_INIT;
  mo.pod_name = "pod-m";
  mo.log = sink;
  arec_manager *m = toy_manager_on(ms, &mo);
  arec_host_strategy_ctx c = {0, NULL};
  ck_assert_int_eq(arec_host_strategies_register(m, &c), 0);
  ck_assert_int_eq(arec_manager_has_type(m, "noop"), 1);
  ck_assert_int_eq(arec_manager_has_type(m, "aggressive"), 0);
  arec_manager_free(m);
  arec_memory_store_free(ms);

  /* no secrets key: accounts cannot be stored (503, said plainly) */
  arec_svc_result res;
  long long ex = 0;
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 171, "Nokey", &res), 201);
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 171, "binance", "k", "s", 1,
                               &ex, &res),
         503);
  ck_assert_ptr_nonnull(strstr(res.message, "AGENT_SECRETS_KEY"));
  const char *const *xs = arec_svc_exchanges();
  ck_assert_str_eq(xs[0], "binance");
  ck_assert_ptr_null(xs[1]);
  fix_free(&f);
}
END_TEST

AREC_TEST_CASE_MAIN("host-actors", "actors", 60,
                    arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
                    read_actor_forbidden_everywhere,
                    telegram_actor_sees_only_its_own,
                    bot_offset_fenced_by_the_role, strategy_registry)
