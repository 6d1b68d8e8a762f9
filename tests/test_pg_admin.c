/*
 * test_pg_admin.c -- administration in the PostgreSQL repository against a
 * real PostgreSQL 15, where it is PostgreSQL's own business: the database
 * checks params (a JSON object); ids compare in byte order (symbols and
 * pages sorted that way); unassign is refused while the agent is wanted or
 * has a live owner (not for a claim of an older incarnation of the pod)
 * and leaves the history; updated_at counts accepted saves only; delete is
 * soft (the row, its id and its history stay; nothing lists, claims or
 * wants it, its runner can still release); pods are listed with the agents
 * whose running_on names them; agents_to_restore lists an unreadable row
 * (a balance that is not a finite number) with its error instead of
 * failing, next to the readable ones.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"

static arec_test_pg g_pg;

static PGresult *sql(const char *q, int n, const char *const *p) {
  return arec_test_pg_exec(&g_pg, q, n, p);
}

/* Several statements, no parameters. */
static void sql_ok(const char *q) {
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, q, NULL), 0);
}

/* The first value of a query, malloc'd ("" for NULL). */
static char *val(const char *q, int n, const char *const *p) {
  PGresult *r = sql(q, n, p);
  char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
  PQclear(r);
  return v;
}

static arec_repository *open_repo(void) { return arec_test_repo_new(&g_pg); }

static void reset(void) {
  sql_ok("TRUNCATE agent_configs, pods, agent_symbol_assignments, agent_states, "
         "agent_state_history, singleton_roles CASCADE; "
         "INSERT INTO users (id, name) SELECT g, 'u' FROM generate_series(0, 20) g "
         "ON CONFLICT DO NOTHING");
}

static int create(arec_repository *r, const char *id, long long user,
                  const char *params, const char *requires, char *out) {
  arec_agent_spec s = AREC_AGENT_SPEC_INIT;
  s.id = id;
  s.user_id = user;
  s.strategy = "grid";
  s.name = "agent";
  s.params = params;
  s.requires = requires;
  char buf[AREC_AGENT_ID_MAX + 1];
  return r->agent_create(r, &s, out ? out : buf, sizeof buf);
}

/* What every test works on (a checked fixture, made and freed in the
 * test's own process): the repository over an emptied schema. */
static arec_repository *repo;

static void setup(void) {
  reset();
  repo = open_repo();
}

static void teardown(void) { repo->free(repo); }

/* A save by pod "pod" of one symbol of agent id with fence f: its code. */
static int save1(const char *id, uint64_t f, const char *symbol,
                 double balance, const char *memory) {
  arec_symbol_state st = {symbol, balance, memory};
  arec_save sv = {id, f, "pod", 1, &st};
  return repo->save_state(repo, &sv);
}

/* The pod "pod" (incarnation "inc") alive, owning agent id and saving its
 * symbol (balance, memory): the fence of its claim. */
static uint64_t claim_and_save(const char *id, const char *symbol,
                               double balance, const char *memory) {
  ck_assert_int_eq(repo->heartbeat(repo, "pod", "inc", 60000, 0), 0);
  uint64_t f = 0;
  ck_assert_int_eq(repo->claim(repo, "pod", "inc", id, &f), 0);
  ck_assert_int_eq(save1(id, f, symbol, balance, memory), 0);
  return f;
}

/* ---------------------------------------------------------------- create */
START_TEST(create_checks_params_and_ids) {
  char id[AREC_AGENT_ID_MAX + 1];
  ck_assert_int_eq(create(repo, NULL, 1, NULL, NULL, id), 0);
  ck_assert_uint_eq(strlen(id), 12);
  ck_assert_int_eq(arec_agent_id_valid(id), 1);
  char id2[AREC_AGENT_ID_MAX + 1];
  ck_assert_int_eq(create(repo, NULL, 1, NULL, NULL, id2), 0);
  ck_assert_str_ne(id, id2);
  ck_assert_int_eq(create(repo, "p1", 2, "{\"grid\": [1, 2.5], \"x\": \"y\"}", "gpu", id), 0);
  ck_assert_str_eq(id, "p1");
  ck_assert_int_eq(create(repo, "p1", 2, NULL, NULL, id), AREC_EEXIST);
  ck_assert_int_eq(create(repo, "p2", 2, "[1, 2]", NULL, id), AREC_EINVAL);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "JSON object"));
  ck_assert_int_eq(create(repo, "p2", 2, "{not json", NULL, id), AREC_EINVAL);
  ck_assert_int_eq(create(repo, "p2", 2, "42", NULL, id), AREC_EINVAL);
  ck_assert_int_eq(create(repo, "bad id", 2, NULL, NULL, id), AREC_EINVAL);
  ck_assert_int_eq(create(repo, "p2", -1, NULL, NULL, id), AREC_EINVAL);
  /* an owner the host does not know: its foreign key (host migrations)
   * refuses it as not found */
  ck_assert_int_eq(create(repo, "p3", 999, NULL, NULL, id), AREC_ENOTFOUND);
  arec_agent_record *a = NULL;
  ck_assert_int_eq(repo->agent_get(repo, "p1", &a), 0);
  ck_assert_str_eq(a->params, "{\"x\": \"y\", \"grid\": [1, 2.5]}"); /* jsonb */
  ck_assert_str_eq(a->requires, "gpu");
  ck_assert_int_eq(a->is_active, 1);
  ck_assert_int_eq(a->is_trading, 0);
  ck_assert_int_eq(a->user_id, 2);
  ck_assert_int_gt(a->created_at_ms, 1700000000000LL);
  ck_assert_int_eq(a->updated_at_ms, 0);
  ck_assert_uint_eq(a->nsymbols, 0);
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(repo->agent_get(repo, "nope", &a), AREC_ENOTFOUND);
}
END_TEST

/* -------------------------------------------------------- assign/unassign */
START_TEST(assign_unassign_rules) {
  ck_assert_int_eq(create(repo, "u1", 1, NULL, NULL, NULL), 0);
  ck_assert_int_eq(repo->set_trading(repo, "u1", 1), AREC_ECONFLICT); /* no symbol */
  ck_assert_int_eq(repo->agent_assign(repo, "nope", "BTC/USDT", 1), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->agent_assign(repo, "u1", "BTC/USDT", 0), AREC_EINVAL);
  ck_assert_int_eq(repo->agent_assign(repo, "u1", "eth/usdt", 5), 0);
  ck_assert_int_eq(repo->agent_assign(repo, "u1", "BTC/USDT", 12.5), 0);
  ck_assert_int_eq(repo->agent_assign(repo, "u1", "ada", 1), 0);
  ck_assert_int_eq(repo->agent_assign(repo, "u1", "ada", 1), AREC_EEXIST);
  arec_agent_record *a = NULL;
  ck_assert_int_eq(repo->agent_get(repo, "u1", &a), 0);
  ck_assert_uint_eq(a->nsymbols, 3); /* byte order */
  ck_assert_str_eq(a->symbols[0].symbol, "BTC/USDT");
  ck_assert_str_eq(a->symbols[1].symbol, "ada");
  ck_assert_str_eq(a->symbols[2].symbol, "eth/usdt");
  ck_assert_double_eq_tol(a->symbols[0].budget, 12.5, 1e-9);
  ck_assert_double_eq_tol(a->symbols[0].balance, 12.5, 1e-9);
  ck_assert_str_eq(a->symbols[0].memory, "{}");
  ck_assert_int_eq(a->updated_at_ms, 0); /* no save yet */
  ck_assert_int_eq(a->symbols[0].updated_at_ms, 0);
  arec_agent_records_free(a, 1);
  /* wanted: unassign refused */
  ck_assert_int_eq(repo->set_trading(repo, "u1", 1), 0);
  ck_assert_int_eq(repo->agent_unassign(repo, "u1", "ada"), AREC_ECONFLICT);
  /* owned by a live pod (even when no longer wanted): refused */
  uint64_t f = claim_and_save("u1", "ada", 2, "{\"k\": 1}");
  ck_assert_int_eq(repo->agent_get(repo, "u1", &a), 0);
  ck_assert_int_gt(a->symbols[1].updated_at_ms, 0); /* ada */
  ck_assert_int_eq(a->symbols[0].updated_at_ms, 0);
  ck_assert_int_eq(a->updated_at_ms, a->symbols[1].updated_at_ms);
  ck_assert_uint_eq(a->symbols[1].fence, f);
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(repo->set_trading(repo, "u1", 0), 0);
  ck_assert_int_eq(repo->agent_unassign(repo, "u1", "ada"), AREC_ECONFLICT);
  /* a claim of an older incarnation of the pod is no live owner */
  ck_assert_int_eq(repo->heartbeat(repo, "pod", "inc-2", 60000, 0), 0);
  ck_assert_int_eq(repo->agent_unassign(repo, "u1", "eth/usdt"), 0);
  ck_assert_int_eq(repo->heartbeat(repo, "pod", "inc", 60000, 0), 0);
  ck_assert_int_eq(repo->release(repo, "u1", f), 0);
  /* stopped: the symbol and its state go, its history stays */
  ck_assert_int_eq(repo->agent_unassign(repo, "u1", "nope"), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->agent_unassign(repo, "nope", "ada"), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->agent_unassign(repo, "u1", "ada"), 0);
  ck_assert_int_eq(repo->agent_unassign(repo, "u1", "ada"), AREC_ENOTFOUND);
  char *n = val("SELECT count(*) FROM agent_states WHERE agent_id = 'u1' AND symbol = 'ada'",
                0, NULL);
  ck_assert_str_eq(n, "0");
  free(n);
  n = val("SELECT count(*) FROM agent_state_history WHERE agent_id = 'u1' AND symbol = 'ada'",
          0, NULL);
  ck_assert_str_eq(n, "1");
  free(n);
  /* disabled: not wanted */
  ck_assert_int_eq(repo->set_active(repo, "nope", 0), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->set_active(repo, "u1", 0), 0);
  ck_assert_int_eq(repo->set_trading(repo, "u1", 1), AREC_ECONFLICT);
  ck_assert_int_eq(repo->set_active(repo, "u1", 1), 0);
  ck_assert_int_eq(repo->set_trading(repo, "u1", 1), 0);
}
END_TEST

/* ------------------------------------------------------------------ delete */
START_TEST(delete_is_soft) {
  ck_assert_int_eq(create(repo, "d1", 1, NULL, NULL, NULL), 0);
  ck_assert_int_eq(create(repo, "d2", 1, NULL, NULL, NULL), 0);
  ck_assert_int_eq(repo->agent_assign(repo, "d1", "BTC/USDT", 10), 0);
  ck_assert_int_eq(repo->agent_assign(repo, "d2", "BTC/USDT", 10), 0);
  ck_assert_int_eq(repo->set_trading(repo, "d1", 1), 0);
  ck_assert_int_eq(repo->set_trading(repo, "d2", 1), 0);
  uint64_t f = claim_and_save("d1", "BTC/USDT", 11, "{}");
  ck_assert_int_eq(repo->agent_delete(repo, "nope"), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->agent_delete(repo, "d1"), 0);
  ck_assert_int_eq(repo->agent_delete(repo, "d1"), AREC_ENOTFOUND);
  /* its runner is told to stop as for a user's stop, and can still save
   * and release with its fence */
  const char *ids[2] = {"d1", "d2"};
  unsigned char un[2] = {9, 9};
  ck_assert_int_eq(repo->unwanted(repo, "pod", "inc", ids, 2, un), 0);
  ck_assert_int_eq(un[0], 1);
  ck_assert_int_eq(un[1], 2); /* d2 wanted, not ours */
  ck_assert_int_eq(save1("d1", f, "BTC/USDT", 11, "{}"), 0);
  ck_assert_int_eq(repo->release(repo, "d1", f), 0);
  /* nothing finds, wants or claims it */
  arec_agent_record *a = NULL;
  ck_assert_int_eq(repo->agent_get(repo, "d1", &a), AREC_ENOTFOUND);
  size_t n = 0;
  ck_assert_int_eq(repo->agent_list(repo, NULL, &a, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(a[0].id, "d2");
  arec_agent_records_free(a, n);
  ck_assert_int_eq(repo->set_trading(repo, "d1", 1), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->set_trading(repo, "d1", 0), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->set_active(repo, "d1", 1), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->agent_assign(repo, "d1", "ETH/USDT", 1), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->agent_unassign(repo, "d1", "BTC/USDT"), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->claim(repo, "pod", "inc", "d1", &f), AREC_ENOTFOUND);
  ck_assert_int_eq(repo->migrate(repo, "d1", "pod", 1000), AREC_ENOTFOUND);
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(repo->agents_to_restore(repo, NULL, &l), 0);
  ck_assert_uint_eq(l->n, 1);
  ck_assert_str_eq(l->rows[0].id, "d2");
  arec_agent_list_free(l);
  arec_fleet fl;
  memset(&fl, 0, sizeof fl);
  ck_assert_int_eq(repo->fleet(repo, &fl), 0);
  ck_assert_uint_eq(fl.wanted, 1);
  arec_fleet_clear(&fl);
  /* its id stays taken, its row and history stay */
  ck_assert_int_eq(create(repo, "d1", 1, NULL, NULL, NULL), AREC_EEXIST);
  char *c = val("SELECT count(*) FROM agent_state_history WHERE agent_id = 'd1'", 0, NULL);
  ck_assert_str_eq(c, "2");
  free(c);
  c = val("SELECT deleted_at IS NOT NULL AND NOT is_trading FROM agent_configs "
          "WHERE id = 'd1'", 0, NULL);
  ck_assert_str_eq(c, "t");
  free(c);
}
END_TEST

/* -------------------------------------------------------------------- pods */
START_TEST(pods_with_their_agents) {
  ck_assert_int_eq(repo->heartbeat(repo, "pod-b", "ib", 60000, 0), 0);
  ck_assert_int_eq(repo->heartbeat(repo, "pod-a", "ia", 60000, 0), 0);
  ck_assert_int_eq(repo->heartbeat(repo, "pod-c", "ic", 60000, 0), 0);
  ck_assert_int_eq(repo->heartbeat(repo, "Pod-z", "iz", 60000, 0), 0);
  sql_ok("UPDATE pods SET lease_until = clock_timestamp() - interval '1 s' "
         "WHERE name = 'pod-c'");
  ck_assert_int_eq(repo->pod_leaving(repo, "pod-b", "ib"), 0);
  for (int i = 0; i < 3; i++) {
    char id[16];
    snprintf(id, sizeof id, "pa%d", i);
    ck_assert_int_eq(create(repo, id, 1, NULL, NULL, NULL), 0);
    ck_assert_int_eq(repo->agent_assign(repo, id, "X", 1), 0);
    ck_assert_int_eq(repo->set_trading(repo, id, 1), 0);
    uint64_t f;
    ck_assert_int_eq(repo->claim(repo, i < 2 ? "pod-a" : "pod-b", i < 2 ? "ia" : "ib", id, &f), 0);
  }
  /* an agent claimed by an older incarnation of pod-a names it too */
  ck_assert_int_eq(create(repo, "old", 1, NULL, NULL, NULL), 0);
  ck_assert_int_eq(repo->agent_assign(repo, "old", "X", 1), 0);
  ck_assert_int_eq(repo->set_trading(repo, "old", 1), 0);
  uint64_t f;
  ck_assert_int_eq(repo->claim(repo, "pod-a", "ia-before", "old", &f), 0);
  arec_pod_record *p = NULL;
  size_t n = 0;
  ck_assert_int_eq(repo->pod_list(repo, &p, &n), 0);
  ck_assert_uint_eq(n, 3); /* byte order, pod-c expired */
  ck_assert_str_eq(p[0].name, "Pod-z");
  ck_assert_str_eq(p[1].name, "pod-a");
  ck_assert_str_eq(p[2].name, "pod-b");
  ck_assert_str_eq(p[1].incarnation, "ia");
  ck_assert_uint_eq(p[1].agents, 3);
  ck_assert_uint_eq(p[2].agents, 1);
  ck_assert_uint_eq(p[0].agents, 0);
  ck_assert_int_eq(p[2].leaving, 1);
  ck_assert_int_eq(p[1].leaving, 0);
  ck_assert_int_gt(p[1].lease_until_ms, p[1].heartbeat_at_ms);
  ck_assert_int_ge(p[1].heartbeat_at_ms, p[1].started_at_ms);
  arec_pod_records_free(p, n);
  /* list by pod */
  arec_agent_filter fl = AREC_AGENT_FILTER_INIT;
  fl.running_on = "pod-a";
  arec_agent_record *a = NULL;
  ck_assert_int_eq(repo->agent_list(repo, &fl, &a, &n), 0);
  ck_assert_uint_eq(n, 3); /* pa0, pa1 and old (running_on names the pod) */
  ck_assert_str_eq(a[0].id, "old");
  ck_assert_str_eq(a[0].running_incarnation, "ia-before");
  arec_agent_records_free(a, n);
}
END_TEST

/* ------------------------------------------------------------------ restore */
START_TEST(restore_lists_unreadable_rows) {
  ck_assert_int_eq(create(repo, "ok1", 3, "{\"a\": 1}", "gpu", NULL), 0);
  ck_assert_int_eq(create(repo, "nan", 3, NULL, NULL, NULL), 0);
  ck_assert_int_eq(create(repo, "ok2", 3, NULL, NULL, NULL), 0);
  const char *ids[3] = {"ok1", "nan", "ok2"};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(repo->agent_assign(repo, ids[i], "BTC/USDT", 10), 0);
    ck_assert_int_eq(repo->agent_assign(repo, ids[i], "ETH/USDT", 20), 0);
    ck_assert_int_eq(repo->set_trading(repo, ids[i], 1), 0);
  }
  sql_ok("UPDATE agent_states SET balance = 'NaN' WHERE agent_id = 'nan' "
         "AND symbol = 'ETH/USDT'");
  sql_ok("UPDATE agent_configs SET start_failures = 2, last_error = 'boom' "
         "WHERE id = 'ok2'");
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(repo->agents_to_restore(repo, NULL, &l), 0);
  ck_assert_uint_eq(l->n, 3);
  ck_assert_str_eq(l->rows[0].id, "nan");
  ck_assert_int_lt(l->rows[0].error, 0);
  ck_assert_ptr_nonnull(l->rows[0].error_text);
  ck_assert_ptr_nonnull(strstr(l->rows[0].error_text, "ETH/USDT"));
  ck_assert_str_eq(l->rows[0].strategy, "grid");
  ck_assert_str_eq(l->rows[1].id, "ok1");
  ck_assert_int_eq(l->rows[1].error, 0);
  ck_assert_ptr_null(l->rows[1].error_text);
  ck_assert_str_eq(l->rows[1].params, "{\"a\": 1}");
  ck_assert_str_eq(l->rows[1].requires, "gpu");
  ck_assert_uint_eq(l->rows[1].nsymbols, 2);
  ck_assert_str_eq(l->rows[2].id, "ok2");
  ck_assert_uint_eq(l->rows[2].start_failures, 2);
  ck_assert_str_eq(l->rows[2].last_error, "boom");
  ck_assert_ptr_null(l->rows[2].requires);
  arec_agent_list_free(l);
  /* one agent by id, readable or not */
  ck_assert_int_eq(repo->agents_to_restore(repo, "nan", &l), 0);
  ck_assert_uint_eq(l->n, 1);
  ck_assert_int_lt(l->rows[0].error, 0);
  arec_agent_list_free(l);
  ck_assert_int_eq(repo->agents_to_restore(repo, "nope", &l), 0);
  ck_assert_uint_eq(l->n, 0);
  arec_agent_list_free(l);
}
END_TEST

int main(void) {
  const TTest *tests[] = {create_checks_params_and_ids, assign_unassign_rules,
      delete_is_soft, pods_with_their_agents, restore_lists_unreadable_rows,
      NULL};
  Suite *s = suite_create("pg-admin");
  TCase *tc = arec_test_cases(s, "pg-admin", 60, tests);
  tcase_add_checked_fixture(tc, setup, teardown);
  return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL);
}
