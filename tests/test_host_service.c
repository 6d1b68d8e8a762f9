/*
 * test_host_service.c -- the host's service layer (host/service.h) over a
 * real PostgreSQL 15 and a manager on the memory lock
 * (tests/support/host/svc_fixture.c):
 *   - every status path: 200/201, 202 (held by another pod, lock service
 *     down, start failed for now), 400 naming the field, 404, 409, 422
 *     with the agent type's reason, 503 and 500 naming only a request id
 *     (the detail logged at WARN with it);
 *   - an audit row and an "audit" INFO line (user_id typed as a number)
 *     for every mutation, none for reads; never a secret in a result, an
 *     audit row or a log line;
 *   - a poison credential makes only its own agent's start fail: of three
 *     trading agents two run, the third is in backoff with a last_error
 *     naming its user_exchanges row;
 *   - one service called from several threads at once: every call
 *     answered, every mutation audited once.
 */
#include <time.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/host/svc_fixture.h"
#include "support/runner.h"
#include "support/toy_agent.h"

/* ------------------------------------------------------------- statuses */
START_TEST(statuses_of_accounts_and_agents) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  long long ex = 0, pid = 0;
  char out[AREC_AGENT_ID_MAX + 1], pod[64];

  /* users */
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 0, "x", &res), 400);
  ck_assert_str_eq(res.field, "id");
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 101, "a\nb", &res), 400);
  ck_assert_str_eq(res.field, "name");
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 101, "Ann", &res), 201);
  char *name = NULL;
  EXPECT(arec_svc_user_get(f.svc, &ADMIN, 101, &name, &res), 200);
  ck_assert_str_eq(name, "Ann");
  free(name);
  EXPECT(arec_svc_user_get(f.svc, &ADMIN, 109, &name, &res), 404);

  /* exchange accounts */
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 101, "kraken", "k", "s", 1, &ex,
                               &res),
         400);
  ck_assert_str_eq(res.field, "exchange");
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 101, "binance",
                               SECRET_WORD " x", "s", 1, &ex, &res),
         400);
  ck_assert_str_eq(res.field, "api_key");
  ck_assert(!strstr(res.message, SECRET_WORD));
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 108, "binance", "k", "s", 1,
                               &ex, &res),
         404);
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 101, "Binance", SECRET_WORD "-k",
                               SECRET_WORD "-s", 1, &ex, &res),
         201);
  ck_assert_int_gt(ex, 0);
  ck_assert(!strstr(res.message, SECRET_WORD));

  /* pairs */
  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 102, "Bob", &res), 201);
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 102, 0, "BTC/USDT", &pid, &res),
         404);
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 101, 0, "BTC-USDT", &pid, &res),
         400);
  ck_assert_str_eq(res.field, "symbol");
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 101, 0, "btc/usdt", &pid, &res),
         201);
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 101, ex, "BTC/USDT", &pid, &res),
         409);
  EXPECT(arec_svc_pair_add(f.svc, &ADMIN, 101, ex + 1000, "ETH/USDT", &pid,
                           &res),
         404);

  /* agents: create */
  arec_svc_agent_new a = {"svc-a1", 101, "nope", "Agent", NULL, NULL};
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         400);
  ck_assert_str_eq(res.field, "strategy");
  a.strategy = "noop";
  a.user_id = 107;
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         404);
  a.user_id = 101;
  a.params = "[1]";
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         400);
  ck_assert_str_eq(res.field, "params");
  a.params = "{\"x\": 1}";
  a.id = "start";
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         400);
  ck_assert_str_eq(res.field, "id");
  a.id = "svc-a1";
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         201);
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         409);
  ck_assert_str_eq(res.field, "id");
  a.id = NULL;
  EXPECT(arec_svc_agent_create(f.svc, &OPEN, &a, out, sizeof out, &res), 201);
  ck_assert_uint_eq(strlen(out), 12);

  /* assign */
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "svc-a1", pod, sizeof pod, &res),
         409); /* no symbols */
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-a1", "ETH/USDT", 100,
                               &res),
         409); /* no pair */
  ck_assert_ptr_nonnull(strstr(res.message, "no trading pair for ETH/USDT"));
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-a1", "BTC/USDT", -1, &res),
         400);
  ck_assert_str_eq(res.field, "balance");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-zz", "BTC/USDT", 1, &res),
         404);
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-a1", "btc/usdt", 100,
                               &res),
         201);
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "svc-a1", "BTC/USDT", 100,
                               &res),
         409);

  /* start / stop */
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "svc-a1", pod, sizeof pod, &res),
         200);
  ck_assert_str_eq(pod, "pod-a");
  EXPECT(arec_svc_agent_unassign(f.svc, &ADMIN, "svc-a1", "BTC/USDT", &res),
         409); /* wanted */
  EXPECT(arec_svc_agent_migrate(f.svc, &ADMIN, "svc-a1", "pod-zz", &res),
         409);
  EXPECT(arec_svc_agent_migrate(f.svc, &ADMIN, "svc-a1", "pod a", &res), 400);
  ck_assert_str_eq(res.field, "to");
  arec_agent_record *rec = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "svc-a1", &rec, &res), 200);
  ck_assert_int_eq(rec->is_trading, 1);
  ck_assert_str_eq(rec->running_on, "pod-a");
  ck_assert_str_eq(rec->params, "{\"x\": 1, \"mode\": \"paper\"}");
  arec_agent_records_free(rec, 1);
  EXPECT(arec_svc_agent_stop(f.svc, &ADMIN, "svc-a1", &res), 200);
  EXPECT(arec_svc_agent_set_active(f.svc, &ADMIN, "svc-a1", 0, &res), 200);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "svc-a1", pod, sizeof pod, &res),
         409); /* disabled */
  EXPECT(arec_svc_agent_set_active(f.svc, &ADMIN, "svc-a1", 1, &res), 200);
  EXPECT(arec_svc_agent_stop(f.svc, &ADMIN, "svc-zz", &res), 404);

  /* the pair's account is not removed while a wanted agent trades on it */
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "svc-a1", pod, sizeof pod, &res),
         200);
  EXPECT(arec_svc_exchange_remove(f.svc, &ADMIN, 101, ex, &res), 409);
  ck_assert_ptr_nonnull(strstr(res.message, "svc-a1"));

  /* stop all of a user's */
  size_t stopped = 0;
  EXPECT(arec_svc_stop_all(f.svc, &ADMIN, 101, &stopped, &res), 200);
  ck_assert_uint_eq(stopped, 1);
  EXPECT(arec_svc_agent_unassign(f.svc, &ADMIN, "svc-a1", "ETH/USDT", &res),
         404);
  /* the account goes once the runner let go (refused while it runs) */
  for (int t = 0; t < 5000; t += 10) {
    ck_assert_int_eq(arec_svc_agent_get(f.svc, &ADMIN, "svc-a1", &rec, &res),
                     0);
    int gone = rec->running_on == NULL;
    arec_agent_records_free(rec, 1);
    if (gone) break;
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  EXPECT(arec_svc_exchange_remove(f.svc, &ADMIN, 101, ex, &res), 200);
  EXPECT(arec_svc_exchange_remove(f.svc, &ADMIN, 101, ex, &res), 404);

  /* delete: soft, the id stays taken */
  EXPECT(arec_svc_agent_delete(f.svc, &ADMIN, "svc-a1", &res), 200);
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "svc-a1", &rec, &res), 404);
  EXPECT(arec_svc_agent_delete(f.svc, &ADMIN, "svc-a1", &res), 404);
  a.id = "svc-a1";
  EXPECT(arec_svc_agent_create(f.svc, &ADMIN, &a, out, sizeof out, &res),
         409);
  ck_assert_int_eq(sql_ll("SELECT count(*) FROM agent_configs WHERE id = "
                          "'svc-a1' AND deleted_at IS NOT NULL"),
                   1);

  /* lists */
  arec_agent_record *v = NULL;
  size_t n = 0;
  arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
  flt.user_id = 101;
  EXPECT(arec_svc_agent_list(f.svc, &READER, &flt, &v, &n, &res), 200);
  ck_assert_uint_eq(n, 1); /* the random one */
  arec_agent_records_free(v, n);
  flt.limit = 1001;
  EXPECT(arec_svc_agent_list(f.svc, &READER, &flt, &v, &n, &res), 400);
  ck_assert_str_eq(res.field, "limit");
  flt.limit = 0;
  flt.after = "bad id!";
  EXPECT(arec_svc_agent_list(f.svc, &READER, &flt, &v, &n, &res), 400);
  ck_assert_str_eq(res.field, "after");
  ck_assert(!logged(SECRET_WORD));
  ck_assert_int_eq(sql_ll("SELECT count(*) FROM audit_events WHERE result "
                          "LIKE '%" SECRET_WORD "%'"),
                   0);
  fix_free(&f);
}
END_TEST

START_TEST(statuses_of_starts) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  char pod[64];
  setup_user(&f, 111, "BTC/USDT");
  arec_repository *repo = arec_svc_repository(f.svc);

  /* 422: the agent type refuses for good; the wish is put back */
  create_agent(&f, &ADMIN, "st-ref", 111, "refuser");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "st-ref", "BTC/USDT", 10, &res),
         201);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-ref", pod, sizeof pod, &res),
         422);
  ck_assert_ptr_nonnull(strstr(res.message, "no can do"));
  arec_agent_record *rec = NULL;
  ck_assert_int_eq(arec_agent_get(repo, "st-ref", &rec), 0);
  ck_assert_int_eq(rec->is_trading, 0);
  arec_agent_records_free(rec, 1);
  expect_event(&f, "api:admin", "agent.start", "st-ref", 111, "422 ");

  /* 202: the start failed for now, retried later */
  create_agent(&f, &ADMIN, "st-flaky", 111, "flaky");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "st-flaky", "BTC/USDT", 10,
                               &res),
         201);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-flaky", pod, sizeof pod,
                              &res),
         202);
  ck_assert_ptr_nonnull(strstr(res.message, "exchange down for now"));

  /* 400: a strategy this pod does not have, at start */
  ck_assert_int_eq(
      toy_create(repo, "st-ghost", 111, "ghost", "g", NULL, NULL, NULL), 0);
  ck_assert_int_eq(arec_agent_assign(repo, "st-ghost", "BTC/USDT", 5), 0);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-ghost", pod, sizeof pod,
                              &res),
         400);
  ck_assert_str_eq(res.field, "strategy");

  /* 202: another pod holds the agent's lock */
  create_agent(&f, &ADMIN, "st-held", 111, "noop");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "st-held", "BTC/USDT", 10,
                               &res),
         201);
  ck_assert_int_eq(arec_memory_lock_force(f.mst, "agent:lock:st-held",
                                          "pod-b/1", 60000),
                   0);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-held", pod, sizeof pod,
                              &res),
         202);

  /* 202: the lock service is down, the wish is recorded */
  create_agent(&f, &ADMIN, "st-down", 111, "noop");
  EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, "st-down", "BTC/USDT", 10,
                               &res),
         201);
  arec_memory_fail(f.mst, AREC_MEMORY_LOCK, -1, AREC_EUNAVAILABLE);
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "st-down", pod, sizeof pod,
                              &res),
         202);
  ck_assert_ptr_nonnull(strstr(res.message, "lock service"));
  arec_memory_fail(f.mst, AREC_MEMORY_LOCK, 0, 0);
  ck_assert_int_eq(arec_agent_get(repo, "st-down", &rec), 0);
  ck_assert_int_eq(rec->is_trading, 1);
  arec_agent_records_free(rec, 1);
  fix_free(&f);
}
END_TEST

START_TEST(internal_errors_name_only_a_request_id) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  setup_user(&f, 121, "BTC/USDT");
  create_agent(&f, &ADMIN, "ie-a", 121, "noop");

  /* 500: a table the store needs is gone */
  sql("ALTER TABLE user_trading_pairs RENAME TO utp_away");
  arec_svc_actor anon = {AREC_ACTOR_API_ADMIN, 0, NULL};
  EXPECT(arec_svc_agent_assign(f.svc, &anon, "ie-a", "BTC/USDT", 1, &res),
         500);
  sql("ALTER TABLE utp_away RENAME TO user_trading_pairs");
  ck_assert(res.request_id[0]);
  char want[128];
  snprintf(want, sizeof want, "internal error (request id %s)",
           res.request_id);
  ck_assert_str_eq(res.message, want);
  ck_assert(!strstr(res.message, "utp") && !strstr(res.message, "SQLSTATE"));
  char line[128];
  snprintf(line, sizeof line, "\"request_id\":\"%s\"", res.request_id);
  ck_assert(logged(line));
  ck_assert(logged("\"msg\":\"request failed\""));

  /* 503: the database is down; the actor's request id is used */
  ck_assert_int_eq(arec_test_pg_halt(&g_pg), 0);
  arec_agent_record *rec = NULL;
  arec_svc_actor rid = {AREC_ACTOR_API_ADMIN, 0, "rq-503"};
  EXPECT(arec_svc_agent_get(f.svc, &rid, "ie-a", &rec, &res), 503);
  ck_assert_str_eq(res.request_id, "rq-503");
  ck_assert_str_eq(res.message,
                   "service unavailable, try again (request id rq-503)");
  ck_assert(logged("\"request_id\":\"rq-503\""));
  ck_assert_int_eq(arec_test_pg_resume(&g_pg), 0);
  fix_free(&f);
}
END_TEST

/* ----------------------------------------------------------------- audit */
START_TEST(audit_for_mutations_not_reads) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  long long ex = 0, pid = 0;
  long long before = audit_rows();
  size_t mark = log_mark();

  EXPECT(arec_svc_user_upsert(f.svc, &ADMIN, 131, "Cid", &res), 201);
  expect_event(&f, "api:admin", "user.upsert", NULL, 131, "201");
  EXPECT(arec_svc_exchange_add(f.svc, &ADMIN, 131, "binance", SECRET_WORD "1",
                               SECRET_WORD "2", 0, &ex, &res),
         201);
  expect_event(&f, "api:admin", "exchange.add", NULL, 131, "201");
  EXPECT(arec_svc_pair_add(f.svc, &OPEN, 131, ex, "BTC/USDT", &pid, &res),
         201);
  expect_event(&f, "api:none", "pair.add", NULL, 131, "201");
  create_agent(&f, &ADMIN, "au-1", 131, "noop");
  expect_event(&f, "api:admin", "agent.create", "au-1", 131, "201");
  EXPECT(arec_svc_agent_stop(f.svc, &ADMIN, "au-2", &res), 404);
  expect_event(&f, "api:admin", "agent.stop", "au-2", 0,
               "404 agent not found");
  ck_assert_int_eq(audit_rows(), before + 5);

  /* reads record nothing */
  arec_agent_record *rec = NULL, *v = NULL;
  size_t n = 0;
  char *name = NULL, **names = NULL;
  arec_svc_event *ev = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "au-1", &rec, &res), 200);
  arec_agent_records_free(rec, 1);
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "au-9", &rec, &res), 404);
  EXPECT(arec_svc_agent_list(f.svc, &ADMIN, NULL, &v, &n, &res), 200);
  arec_agent_records_free(v, n);
  EXPECT(arec_svc_user_get(f.svc, &ADMIN, 131, &name, &res), 200);
  free(name);
  EXPECT(arec_svc_audit_list(f.svc, &READER, 0, 1000, &ev, &n, &res), 200);
  ck_assert_uint_ge(n, 5);
  arec_svc_events_free(ev, n);
  EXPECT(arec_svc_audit_list(f.svc, &READER, 0, 0, &ev, &n, &res), 400);
  ck_assert_str_eq(res.field, "limit");
  EXPECT(arec_svc_audit_list(f.svc, &READER, -1, 10, &ev, &n, &res), 400);
  ck_assert_str_eq(res.field, "after");
  ck_assert_int_eq(arec_svc_strategies(f.svc, &names, &n), 0);
  arec_strings_free(names, n);
  long long off = -1;
  ck_assert_int_eq(arec_svc_bot_offset_get(f.svc, &off), 0);
  ck_assert_int_eq(audit_rows(), before + 5);

  /* the log line: same fields, user_id a number, the request id */
  ck_assert(logged("\"msg\":\"audit\",\"actor\":\"api:admin\",\"action\":"
                   "\"agent.create\",\"agent_id\":\"au-1\",\"user_id\":131,"
                   "\"result\":\"201\",\"request_id\":\"req-admin\""));
  ck_assert_int_eq(logged_count(mark, "\"msg\":\"audit\""), 5);
  /* never a secret */
  ck_assert(!logged(SECRET_WORD));
  ck_assert_int_eq(sql_ll("SELECT count(*) FROM audit_events WHERE result "
                          "LIKE '%" SECRET_WORD "%' OR actor LIKE '%"
                          SECRET_WORD "%'"),
                   0);
  fix_free(&f);
}
END_TEST

/* ------------------------------------------------------ poison credential */
static const double FLAT[] = {100, 100, 100, 100};

START_TEST(poison_credential_fails_only_its_agent) {
  fix f;
  fix_init(&f, 1);
  arec_svc_result res;
  arec_fx_set_prices(f.fx, "BTCUSDT", FLAT, 4);
  long long ex[3];
  const char *ids[3] = {"po-1", "po-2", "po-3"};
  for (int i = 0; i < 3; i++) {
    ex[i] = setup_user(&f, 161 + i, "BTC/USDT");
    create_agent(&f, &ADMIN, ids[i], 161 + i, i == 1 ? "aggressive"
                                                     : "conservative");
    EXPECT(arec_svc_agent_assign(f.svc, &ADMIN, ids[i], "BTC/USDT", 100,
                                 &res),
           201);
  }
  /* the third account's key is another row's ciphertext */
  char q[256];
  snprintf(q, sizeof q,
           "UPDATE user_exchanges SET api_key = (SELECT api_key FROM "
           "user_exchanges WHERE id = %lld) WHERE id = %lld",
           ex[0], ex[2]);
  sql(q);
  arec_repository *repo = arec_svc_repository(f.svc);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(arec_agent_set_trading(repo, ids[i], 1), 0);
  /* the pass that takes over wanted agents (other tests' wanted agents in
   * this database come along: only ours are counted) */
  arec_restore_result rr;
  ck_assert_int_eq(arec_manager_restore(f.mgr, &rr), 0);
  ck_assert_uint_ge(rr.restored, 2);
  ck_assert_uint_ge(rr.failed, 1);
  arec_runner_info *ri = NULL;
  size_t n = 0;
  int ours[3] = {0, 0, 0};
  ck_assert_int_eq(arec_manager_runners(f.mgr, &ri, &n), 0);
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 3; k++)
      ours[k] += strcmp(ri[i].agent_id, ids[k]) == 0;
  arec_runner_info_free(ri, n);
  ck_assert(ours[0] == 1 && ours[1] == 1 && ours[2] == 0);
  arec_agent_record *rec = NULL;
  EXPECT(arec_svc_agent_get(f.svc, &ADMIN, "po-3", &rec, &res), 200);
  ck_assert_uint_eq(rec->start_failures, 1);
  ck_assert_ptr_nonnull(rec->last_error);
  char want[96];
  snprintf(want, sizeof want, "user_exchanges row %lld do not decrypt",
           ex[2]);
  ck_assert_msg(strstr(rec->last_error, want), "last_error: %s",
                rec->last_error);
  ck_assert_int_gt(rec->retry_at_ms, 0);
  ck_assert_int_eq(rec->is_trading, 1);
  ck_assert_ptr_null(rec->running_on);
  arec_agent_records_free(rec, 1);
  for (int i = 0; i < 2; i++) {
    EXPECT(arec_svc_agent_get(f.svc, &ADMIN, ids[i], &rec, &res), 200);
    ck_assert_uint_eq(rec->start_failures, 0);
    ck_assert_str_eq(rec->running_on, "pod-a");
    arec_agent_records_free(rec, 1);
  }
  /* a user's start of it says why (refused for good: 422) */
  char pod[64];
  EXPECT(arec_svc_agent_start(f.svc, &ADMIN, "po-3", pod, sizeof pod, &res),
         422);
  ck_assert_ptr_nonnull(strstr(res.message, want));
  ck_assert(!logged(FX_KEY) && !logged(FX_SECRET));
  fix_free(&f);
}
END_TEST

/* ------------------------------------------------------------- threads */
#define NTHREADS 4
#define PER_THREAD 12

typedef struct caller {
  fix *f;
  int n;
  int bad;
  char why[400];
} caller;

static void *call_loop(void *ud) {
  caller *c = ud;
  for (int i = 0; i < PER_THREAD; i++) {
    char id[32], out[AREC_AGENT_ID_MAX + 1];
    arec_svc_result res;
    snprintf(id, sizeof id, "th-%d-%d", c->n, i);
    arec_svc_agent_new a = {id, 181, "noop", "threaded", NULL, NULL};
    int st[3];
    arec_svc_agent_create(c->f->svc, &ADMIN, &a, out, sizeof out, &res);
    st[0] = res.status;
    arec_svc_agent_assign(c->f->svc, &ADMIN, id, "BTC/USDT", 10, &res);
    st[1] = res.status;
    arec_agent_record *rec = NULL;
    arec_svc_agent_get(c->f->svc, &READER, id, &rec, &res);
    st[2] = res.status;
    arec_agent_records_free(rec, rec ? 1 : 0);
    if (st[0] != 201 || st[1] != 201 || st[2] != 200) {
      c->bad++;
      snprintf(c->why, sizeof c->why, "%s: %d %d %d %s", id, st[0], st[1],
               st[2], res.message);
    }
  }
  return NULL;
}

START_TEST(concurrent_callers) {
  fix f;
  fix_init(&f, 1);
  setup_user(&f, 181, "BTC/USDT");
  long long before = audit_rows();
  pthread_t t[NTHREADS];
  caller c[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    memset(&c[i], 0, sizeof c[i]);
    c[i].f = &f;
    c[i].n = i;
    ck_assert_int_eq(pthread_create(&t[i], NULL, call_loop, &c[i]), 0);
  }
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(t[i], NULL);
    ck_assert_msg(c[i].bad == 0, "%d failed: %s", c[i].bad, c[i].why);
  }
  ck_assert_int_eq(audit_rows(), before + NTHREADS * PER_THREAD * 2);
  ck_assert_int_eq(sql_ll("SELECT count(*) FROM agent_configs WHERE user_id "
                          "= 181"),
                   NTHREADS * PER_THREAD);
  fix_free(&f);
}
END_TEST

AREC_TEST_CASE_MAIN("host-service", "service", 60,
                    arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
                    statuses_of_accounts_and_agents, statuses_of_starts,
                    internal_errors_name_only_a_request_id,
                    audit_for_mutations_not_reads,
                    poison_credential_fails_only_its_agent, concurrent_callers)
