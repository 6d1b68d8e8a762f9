/*
 * test_host_api.c -- the admin API handlers of agentrecoverd against a real
 * PostgreSQL 15 (harness), with a manager over the PostgreSQL repository
 * and the in-memory lock (so a held or unreachable lock can be forced):
 * status codes, error bodies naming the field, secrets never echoed, and
 * nothing written by a refused request.  Also /healthz, /ready, /metrics
 * through the router.
 */
#include <cJSON.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../host/api.h"
#include "../host/noop.h"
#include "../host/status.h"
#include "agentrecover/memory.h"
#include "agentrecover/pg.h"
#include "support/harness.h"

static arec_test_pg g_pg;
static const unsigned char g_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                        12, 13, 14, 15, 16, 17, 18, 19, 20,
                                        21, 22, 23, 24, 25, 26, 27, 28, 29,
                                        30, 31, 32};

/* Per-test fixture (each test runs in its own forked child). */
static arec_pg *pg;
static arec_memory_store *store;
static arec_manager *mgr;
static arec_host_state st;
static int64_t step_ms = 50;

static void setup(void) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.pool_size = 2;
  o.secrets_key = g_key;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  ck_assert_int_eq(arec_memory_store_new(&store), 0);
  arec_repository *repo = NULL;
  arec_lock *lock = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, store), 0);
  arec_manager_options mo = AREC_MANAGER_OPTIONS_INIT;
  mo.pod_name = "pod-t";
  mo.lock_ttl_ms = 3000;
  mo.reconcile_interval_ms = 0;
  mo.workers = 2;
  mo.log_level = AREC_LOG_ERROR;
  ck_assert_int_eq(arec_manager_new(&mgr, &mo, repo, lock), 0);
  arec_agent_type t;
  arec_host_noop_type(&t, &step_ms);
  ck_assert_int_eq(arec_manager_register_type(mgr, &t), 0);
  memset(&st, 0, sizeof st);
  st.api.pg = pg;
  st.api.mgr = mgr;
  st.api.pod = "pod-t";
  st.api.has_secrets_key = 1;
}

static void teardown(void) {
  arec_manager_free(mgr);
  arec_memory_store_free(store);
  arec_pg_free(pg);
}

/* One request through the router; returns the status, *out the JSON. */
static int call(const char *method, const char *path, const char *body,
                cJSON **out) {
  arec_host_request req;
  memset(&req, 0, sizeof req);
  req.method = method;
  char p[256];
  snprintf(p, sizeof p, "%s", path);
  char *q = strchr(p, '?');
  char limit[32] = "", after[80] = "";
  if (q) {
    *q++ = 0;
    sscanf(q, "limit=%31[^&]", limit);
    char *a = strstr(q, "after=");
    if (a) sscanf(a, "after=%79[^&]", after);
    if (*limit) req.arg_limit = limit;
    if (*after) req.arg_after = after;
  }
  req.path = p;
  req.body = body;
  req.body_len = body ? strlen(body) : 0;
  arec_host_response r;
  arec_host_route(&st, &req, &r);
  if (out) *out = r.body ? cJSON_Parse(r.body) : NULL;
  free(r.body);
  return r.status;
}

static const char *str(const cJSON *j, const char *k) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Asserts the status and that {"error"} mentions `needle`. */
static void expect_error(int status, const char *method, const char *path,
                         const char *body, const char *needle) {
  cJSON *j = NULL;
  int s = call(method, path, body, &j);
  ck_assert_msg(s == status, "%s %s %s: %d, want %d", method, path,
                body ? body : "", s, status);
  const char *e = str(j, "error");
  ck_assert_msg(e != NULL, "%s %s: no error field", method, path);
  if (needle)
    ck_assert_msg(strstr(e, needle) != NULL, "%s %s: \"%s\" lacks %s", method,
                  path, e, needle);
  cJSON_Delete(j);
}

static void expect_status(int status, const char *method, const char *path,
                          const char *body) {
  int s = call(method, path, body, NULL);
  ck_assert_msg(s == status, "%s %s %s: %d, want %d", method, path,
                body ? body : "", s, status);
}

/* user `uid` with an exchange and a pair for `symbol`. */
static void seed_user(long long uid, const char *symbol) {
  char path[64], body[256];
  snprintf(body, sizeof body, "{\"id\": %lld, \"name\": \"u%lld\"}", uid, uid);
  expect_status(201, "POST", "/api/users", body);
  snprintf(path, sizeof path, "/api/users/%lld/exchanges", uid);
  cJSON *j = NULL;
  ck_assert_int_eq(call("POST", path,
                        "{\"exchange\": \"binance\", \"api_key\": \"K-visible"
                        "\", \"api_secret\": \"S-hidden\", \"testnet\": true}",
                        &j),
                   201);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
  ck_assert(cJSON_IsNumber(id));
  char *txt = cJSON_PrintUnformatted(j);
  ck_assert_ptr_null(strstr(txt, "S-hidden"));
  ck_assert_ptr_null(strstr(txt, "K-visible"));
  free(txt);
  snprintf(path, sizeof path, "/api/users/%lld/pairs", uid);
  snprintf(body, sizeof body, "{\"exchange_id\": %lld, \"symbol\": \"%s\"}",
           (long long)id->valuedouble, symbol);
  expect_status(201, "POST", path, body);
  expect_status(409, "POST", path, body); /* the same pair again */
  cJSON_Delete(j);
}

static void create_agent(const char *id, long long uid, const char *symbol) {
  char body[256];
  snprintf(body, sizeof body,
           "{\"user_id\": %lld, \"strategy\": \"noop\", \"name\": \"A %s\", "
           "\"id\": \"%s\"}",
           uid, id, id);
  cJSON *j = NULL;
  ck_assert_int_eq(call("POST", "/api/agents", body, &j), 201);
  ck_assert_str_eq(str(j, "id"), id);
  cJSON_Delete(j);
  if (symbol) {
    char path[128];
    snprintf(path, sizeof path, "/api/agents/%s/assign", id);
    snprintf(body, sizeof body, "{\"symbol\": \"%s\", \"balance\": 500}",
             symbol);
    expect_status(201, "POST", path, body);
  }
}

static int agent_count(void) {
  char *out = NULL;
  ck_assert_int_eq(
      arec_test_pg_sql(&g_pg, "SELECT count(*) FROM agent_configs", &out), 0);
  int n = atoi(out);
  free(out);
  return n;
}

/* ------------------------------------------------------------------ tests */
START_TEST(auth_constant_time_token) {
  ck_assert_int_eq(arec_host_api_authorized(NULL, NULL), 1);
  ck_assert_int_eq(arec_host_api_authorized("", NULL), 1);
  ck_assert_int_eq(arec_host_api_authorized("tok", NULL), 0);
  ck_assert_int_eq(arec_host_api_authorized("tok", "Bearer tok"), 1);
  ck_assert_int_eq(arec_host_api_authorized("tok", "bearer tok"), 1);
  ck_assert_int_eq(arec_host_api_authorized("tok", "Bearer to"), 0);
  ck_assert_int_eq(arec_host_api_authorized("tok", "Bearer tokk"), 0);
  ck_assert_int_eq(arec_host_api_authorized("tok", "Basic tok"), 0);
  st.api.admin_token = "tok";
  expect_error(401, "GET", "/api/runners", NULL, "token");
  arec_host_request req = {"GET", "/api/runners", "Bearer tok", NULL, NULL,
                           NULL, 0, 0};
  arec_host_response r;
  arec_host_route(&st, &req, &r);
  ck_assert_int_eq(r.status, 200);
  free(r.body);
  /* health endpoints need no token */
  expect_status(200, "GET", "/healthz", NULL);
}
END_TEST

START_TEST(health_ready_metrics) {
  expect_status(200, "GET", "/healthz", NULL);
  /* the loops stopped ticking: the main loop has not seen a refresher
   * cycle for longer than the stall limit -> 503; fresh again -> 200 */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  st.healthz_stall_ms = 10000;
  atomic_store(&st.loops_ok_at, now - 20000);
  expect_status(503, "GET", "/healthz", NULL);
  atomic_store(&st.loops_ok_at, now);
  expect_status(200, "GET", "/healthz", NULL);
  atomic_store(&st.loops_ok_at, now - 20000);
  expect_status(503, "GET", "/ready", NULL);
  atomic_store(&st.ready, 1);
  expect_status(200, "GET", "/ready", NULL);
  atomic_store(&st.stopping, 1);
  expect_status(503, "GET", "/ready", NULL);
  expect_status(200, "GET", "/healthz", NULL); /* stalled, but shutting down */
  atomic_store(&st.loops_ok_at, 0);
  expect_status(405, "POST", "/ready", NULL);
  arec_host_request req = {"GET", "/metrics", NULL, NULL, NULL, NULL, 0, 0};
  arec_host_response r;
  arec_host_route(&st, &req, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_nonnull(strstr(r.content_type, "version=0.0.4"));
  ck_assert_ptr_nonnull(strstr(r.body, "agents_restored_total"));
  ck_assert_ptr_nonnull(strstr(r.body, "agentrecoverd_ready 0"));
  free(r.body);
}
END_TEST

START_TEST(routing_errors) {
  expect_error(404, "GET", "/api/nothing", NULL, "endpoint");
  expect_error(404, "GET", "/nothing", NULL, "endpoint");
  expect_error(404, "GET", "/api/agents/a/b/c/d", NULL, NULL);
  expect_error(405, "GET", "/api/users", NULL, "POST");
  expect_error(405, "DELETE", "/api/agents", NULL, "POST");
  expect_error(405, "GET", "/api/agents/start/x1", NULL, "POST");
  expect_error(405, "POST", "/api/runners", NULL, "GET");
  expect_error(405, "PUT", "/api/agents/x1", NULL, "GET");
  expect_error(400, "POST", "/api/agents/start/bad!id", NULL, "id");
  expect_error(400, "POST", "/api/users/abc/pairs", "{}", "uid");
  expect_error(404, "GET", "/api/agents/nosuchagent", NULL, "not found");
  expect_error(404, "POST", "/api/agents/start/nosuchagent", NULL, NULL);
  expect_error(404, "POST", "/api/agents/stop/nosuchagent", NULL, NULL);
  expect_error(404, "POST", "/api/agents/nosuchagent/enable", NULL, NULL);
  arec_host_request req = {"POST", "/api/users", NULL, NULL, NULL, "{", 1, 1};
  arec_host_response r;
  arec_host_route(&st, &req, &r);
  ck_assert_int_eq(r.status, 413);
  free(r.body);
}
END_TEST

START_TEST(bad_inputs_write_nothing) {
  seed_user(7001, "BTC/USDT");
  int before = agent_count();
  expect_error(400, "POST", "/api/agents", "{not json", "JSON");
  expect_error(400, "POST", "/api/agents", "[1,2]", "JSON");
  expect_error(400, "POST", "/api/agents", NULL, "JSON");
  expect_error(400, "POST", "/api/agents",
               "{\"strategy\": \"noop\", \"name\": \"n\"}", "user_id");
  expect_error(400, "POST", "/api/agents",
               "{\"user_id\": \"7001\", \"strategy\": \"noop\", \"name\": "
               "\"n\"}",
               "user_id");
  expect_error(400, "POST", "/api/agents",
               "{\"user_id\": 1.5, \"strategy\": \"noop\", \"name\": \"n\"}",
               "user_id");
  expect_error(400, "POST", "/api/agents",
               "{\"user_id\": 7001, \"strategy\": \"\", \"name\": \"n\"}",
               "strategy");
  expect_error(400, "POST", "/api/agents",
               "{\"user_id\": 7001, \"strategy\": \"noop\"}", "name");
  expect_error(400, "POST", "/api/agents",
               "{\"user_id\": 7001, \"strategy\": \"noop\", \"name\": \"n\", "
               "\"id\": \"start\"}",
               "id");
  expect_error(400, "POST", "/api/agents",
               "{\"user_id\": 7001, \"strategy\": \"noop\", \"name\": \"n\", "
               "\"id\": \"has space\"}",
               "id");
  expect_error(404, "POST", "/api/agents",
               "{\"user_id\": 999999, \"strategy\": \"noop\", \"name\": "
               "\"n\"}",
               "user");
  ck_assert_int_eq(agent_count(), before);
  expect_error(400, "POST", "/api/users", "{\"id\": 0, \"name\": \"x\"}",
               "id");
  expect_error(400, "POST", "/api/users", "{\"id\": 5}", "name");
  expect_error(400, "POST", "/api/users/7001/exchanges",
               "{\"exchange\": \"binance\", \"api_key\": \"k\"}",
               "api_secret");
  expect_error(400, "POST", "/api/users/7001/exchanges",
               "{\"exchange\": \"binance\", \"api_key\": \"k\", "
               "\"api_secret\": \"s\", \"testnet\": \"yes\"}",
               "testnet");
  expect_error(404, "POST", "/api/users/999999/exchanges",
               "{\"exchange\": \"binance\", \"api_key\": \"k\", "
               "\"api_secret\": \"s\"}",
               NULL);
  expect_error(400, "POST", "/api/users/7001/pairs", "{\"symbol\": \"X/Y\"}",
               "exchange_id");
  create_agent("api-bad-1", 7001, NULL);
  expect_error(400, "POST", "/api/agents/api-bad-1/assign",
               "{\"symbol\": \"BTC/USDT\", \"balance\": -5}", "balance");
  expect_error(400, "POST", "/api/agents/api-bad-1/assign",
               "{\"symbol\": \"BTC/USDT\"}", "balance");
  expect_error(400, "POST", "/api/agents/api-bad-1/assign",
               "{\"balance\": 5}", "symbol");
  expect_error(409, "POST", "/api/agents/api-bad-1/assign",
               "{\"symbol\": \"DOGE/USDT\", \"balance\": 5}", "pair");
  expect_error(404, "POST", "/api/agents/nosuch/assign",
               "{\"symbol\": \"BTC/USDT\", \"balance\": 5}", NULL);
  /* no symbols yet: 409, and the wish is not recorded */
  expect_error(409, "POST", "/api/agents/start/api-bad-1", NULL, "symbols");
  cJSON *j = NULL;
  ck_assert_int_eq(call("GET", "/api/agents/api-bad-1", NULL, &j), 200);
  ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "is_trading")));
  ck_assert_int_eq(cJSON_GetArraySize(
                       cJSON_GetObjectItemCaseSensitive(j, "symbols")),
                   0);
  cJSON_Delete(j);
  /* duplicate id */
  expect_error(409, "POST", "/api/agents",
               "{\"user_id\": 7001, \"strategy\": \"noop\", \"name\": \"n\", "
               "\"id\": \"api-bad-1\"}",
               "exists");
}
END_TEST

START_TEST(lifecycle_start_stop_runners) {
  seed_user(7002, "ETH/USDT");
  create_agent("api-life-1", 7002, "ETH/USDT");
  expect_error(409, "POST", "/api/agents/api-life-1/assign",
               "{\"symbol\": \"ETH/USDT\", \"balance\": 5}", "exists");
  cJSON *j = NULL;
  ck_assert_int_eq(call("POST", "/api/agents/start/api-life-1", NULL, &j),
                   200);
  ck_assert_str_eq(str(j, "running_on"), "pod-t");
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/agents/api-life-1", NULL, &j), 200);
  ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "is_trading")));
  ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "is_active")));
  ck_assert_str_eq(str(j, "running_on"), "pod-t");
  ck_assert_str_eq(str(j, "strategy"), "noop");
  const cJSON *syms = cJSON_GetObjectItemCaseSensitive(j, "symbols");
  ck_assert_int_eq(cJSON_GetArraySize(syms), 1);
  ck_assert_str_eq(str(cJSON_GetArrayItem(syms, 0), "symbol"), "ETH/USDT");
  ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "fence")));
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/runners", NULL, &j), 200);
  const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "runners");
  ck_assert_int_eq(cJSON_GetArraySize(rs), 1);
  ck_assert_str_eq(str(cJSON_GetArrayItem(rs, 0), "agent_id"), "api-life-1");
  cJSON_Delete(j);
  /* GET /api/pods: this pod, live, running that one agent */
  ck_assert_int_eq(call("GET", "/api/pods", NULL, &j), 200);
  const cJSON *ps = cJSON_GetObjectItemCaseSensitive(j, "pods");
  ck_assert_int_eq(cJSON_GetArraySize(ps), 1);
  ck_assert_str_eq(str(cJSON_GetArrayItem(ps, 0), "name"), "pod-t");
  ck_assert_int_eq(
      (int)cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ps, 0), "agents")
          ->valuedouble,
      1);
  cJSON_Delete(j);
  /* a second start is answered with where it runs */
  ck_assert_int_eq(call("POST", "/api/agents/start/api-life-1", NULL, &j),
                   200);
  ck_assert_str_eq(str(j, "running_on"), "pod-t");
  cJSON_Delete(j);
  ck_assert_int_eq(call("POST", "/api/agents/stop/api-life-1", NULL, &j),
                   200);
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/agents/api-life-1", NULL, &j), 200);
  ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "is_trading")));
  cJSON_Delete(j);
  /* enable / disable */
  ck_assert_int_eq(call("POST", "/api/agents/api-life-1/disable", NULL, &j),
                   200);
  ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "is_active")));
  cJSON_Delete(j);
  expect_error(409, "POST", "/api/agents/start/api-life-1", NULL, NULL);
  expect_status(200, "POST", "/api/agents/api-life-1/enable", NULL);
}
END_TEST

START_TEST(start_when_lock_held_or_down) {
  seed_user(7003, "SOL/USDT");
  create_agent("api-held-1", 7003, "SOL/USDT");
  create_agent("api-down-1", 7003, "SOL/USDT");
  ck_assert_int_eq(arec_memory_lock_force(store, "agent:lock:api-held-1",
                                          "pod-x/0123", 60000),
                   0);
  cJSON *j = NULL;
  ck_assert_int_eq(call("POST", "/api/agents/start/api-held-1", NULL, &j),
                   200);
  ck_assert_str_eq(str(j, "id"), "api-held-1");
  /* nobody recorded running it yet: running_on is null, not this pod */
  ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "running_on")));
  cJSON_Delete(j);
  arec_memory_fail(store, AREC_MEMORY_LOCK, -1, AREC_EUNAVAILABLE);
  ck_assert_int_eq(call("POST", "/api/agents/start/api-down-1", NULL, &j),
                   202);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "running_on")));
  ck_assert_ptr_nonnull(str(j, "message"));
  cJSON_Delete(j);
  arec_memory_fail(store, AREC_MEMORY_LOCK, 0, 0);
  ck_assert_int_eq(call("GET", "/api/agents/api-down-1", NULL, &j), 200);
  ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "is_trading")));
  cJSON_Delete(j);
}
END_TEST

START_TEST(list_paged) {
  seed_user(7004, "ADA/USDT");
  create_agent("page-a", 7004, NULL);
  create_agent("page-b", 7004, NULL);
  create_agent("page-c", 7004, NULL);
  cJSON *j = NULL;
  ck_assert_int_eq(call("GET", "/api/agents?limit=2&after=page-", NULL, &j),
                   200);
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "agents");
  ck_assert_int_eq(cJSON_GetArraySize(a), 2);
  ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "id"), "page-a");
  ck_assert_str_eq(str(j, "next"), "page-b");
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/agents?limit=2&after=page-b", NULL, &j),
                   200);
  a = cJSON_GetObjectItemCaseSensitive(j, "agents");
  ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "id"), "page-c");
  cJSON_Delete(j);
  expect_error(400, "GET", "/api/agents?limit=0", NULL, "limit");
  expect_error(400, "GET", "/api/agents?limit=abc", NULL, "limit");
  expect_error(400, "GET", "/api/agents?limit=5&after=bad!", NULL, "after");
}
END_TEST

START_TEST(no_secrets_key_refuses_exchange) {
  st.api.has_secrets_key = 0;
  expect_status(201, "POST", "/api/users", "{\"id\": 7005, \"name\": \"z\"}");
  expect_error(503, "POST", "/api/users/7005/exchanges",
               "{\"exchange\": \"binance\", \"api_key\": \"k\", "
               "\"api_secret\": \"s\"}",
               "AGENT_SECRETS_KEY");
}
END_TEST


/* POST /api/agents/{id}/migrate (issue 8): hands one agent to a named live
 * pod, gracefully and fenced; a second manager "pod-u" shares the database
 * and the lock store.  Passes are run by hand. */
static int runs_on(arec_manager *m, const char *id) {
  arec_runner_info *v = NULL;
  size_t n = 0, found = 0;
  ck_assert_int_eq(arec_manager_runners(m, &v, &n), 0);
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].agent_id, id) == 0) found = 1;
  arec_runner_info_free(v, n);
  return (int)found;
}

static int row_on(const char *id, const char *pod) {
  char sql[200], *out = NULL;
  if (pod)
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM agent_configs WHERE id = '%s' AND "
             "running_on = '%s'", id, pod);
  else
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM agent_configs WHERE id = '%s' AND "
             "running_on IS NULL", id);
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, sql, &out), 0);
  int n = atoi(out);
  free(out);
  return n;
}

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

START_TEST(migrate_to_named_pod) {
  arec_repository *repo = NULL;
  arec_lock *lock = NULL;
  arec_manager *u = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, store), 0);
  arec_manager_options mo = AREC_MANAGER_OPTIONS_INIT;
  mo.pod_name = "pod-u";
  mo.lock_ttl_ms = 3000;
  mo.reconcile_interval_ms = 0;
  mo.workers = 2;
  mo.log_level = AREC_LOG_ERROR;
  ck_assert_int_eq(arec_manager_new(&u, &mo, repo, lock), 0);
  arec_agent_type t;
  arec_host_noop_type(&t, &step_ms);
  ck_assert_int_eq(arec_manager_register_type(u, &t), 0);
  ck_assert_int_eq(arec_manager_restore(mgr, NULL), 0);
  ck_assert_int_eq(arec_manager_restore(u, NULL), 0);

  seed_user(7010, "SOL/USDT");
  create_agent("api-mig-1", 7010, "SOL/USDT");
  create_agent("api-mig-idle", 7010, "SOL/USDT"); /* never started */
  expect_status(200, "POST", "/api/agents/start/api-mig-1", NULL);
  ck_assert(runs_on(mgr, "api-mig-1"));

  /* refused requests move nothing */
  expect_error(400, "POST", "/api/agents/api-mig-1/migrate", "{", "JSON");
  expect_error(400, "POST", "/api/agents/api-mig-1/migrate", "{\"to\": 5}",
               "to");
  expect_error(400, "POST", "/api/agents/api-mig-1/migrate", "{}", "to");
  expect_error(405, "GET", "/api/agents/api-mig-1/migrate", NULL, "POST");
  expect_error(400, "POST", "/api/agents/bad!id/migrate", "{\"to\": \"pod-u\"}",
               "id");
  expect_error(404, "POST", "/api/agents/api-mig-none/migrate",
               "{\"to\": \"pod-u\"}", "not found");
  expect_error(409, "POST", "/api/agents/api-mig-1/migrate",
               "{\"to\": \"pod-zz\"}", "pod-zz");
  expect_error(409, "POST", "/api/agents/api-mig-idle/migrate",
               "{\"to\": \"pod-u\"}", "not trading");
  ck_assert(runs_on(mgr, "api-mig-1"));
  ck_assert_int_eq(row_on("api-mig-1", "pod-t"), 1);

  /* asked through the owner: handed off at once, then only pod-u takes it */
  cJSON *j = NULL;
  ck_assert_int_eq(call("POST", "/api/agents/api-mig-1/migrate",
                        "{\"to\": \"pod-u\"}", &j),
                   202);
  ck_assert_str_eq(str(j, "to"), "pod-u");
  cJSON_Delete(j);
  for (int i = 0; i < 300 && !row_on("api-mig-1", NULL); i++)
    nap_ms(10);
  ck_assert_int_eq(row_on("api-mig-1", NULL), 1);
  ck_assert(!runs_on(mgr, "api-mig-1"));
  ck_assert_int_eq(arec_manager_reconcile(mgr, NULL), 0);
  ck_assert(!runs_on(mgr, "api-mig-1")); /* the hold names pod-u */
  ck_assert_int_eq(arec_manager_reconcile(u, NULL), 0);
  ck_assert(runs_on(u, "api-mig-1"));
  ck_assert_int_eq(row_on("api-mig-1", "pod-u"), 1);
  ck_assert_int_eq(call("GET", "/api/pods", NULL, &j), 200);
  ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "pods")), 2);
  cJSON_Delete(j);

  /* asked through another pod: the owner hands it off at its next pass */
  ck_assert_int_eq(call("POST", "/api/agents/api-mig-1/migrate",
                        "{\"to\": \"pod-t\"}", NULL),
                   202);
  ck_assert(runs_on(u, "api-mig-1"));
  ck_assert_int_eq(arec_manager_reconcile(u, NULL), 0);
  for (int i = 0; i < 300 && runs_on(u, "api-mig-1"); i++)
    nap_ms(10);
  ck_assert(!runs_on(u, "api-mig-1"));
  for (int i = 0; i < 300 && !row_on("api-mig-1", NULL); i++)
    nap_ms(10);
  ck_assert_int_eq(arec_manager_reconcile(u, NULL), 0);
  ck_assert(!runs_on(u, "api-mig-1"));
  ck_assert_int_eq(arec_manager_reconcile(mgr, NULL), 0);
  ck_assert(runs_on(mgr, "api-mig-1"));
  ck_assert_int_eq(row_on("api-mig-1", "pod-t"), 1);
  /* already there: accepted, nothing moves */
  expect_status(202, "POST", "/api/agents/api-mig-1/migrate",
                "{\"to\": \"pod-t\"}");
  ck_assert(runs_on(mgr, "api-mig-1"));
  arec_manager_free(u);
}
END_TEST

int main(void) {
  if (arec_test_pg_start(&g_pg) != 0) return EXIT_FAILURE;
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  arec_pg *p = NULL;
  if (arec_pg_new(&p, &o) != 0 || arec_pg_migrate(p, NULL) != 0) {
    fprintf(stderr, "migrate failed: %s\n", arec_error_last());
    arec_pg_free(p);
    arec_test_pg_stop(&g_pg);
    return EXIT_FAILURE;
  }
  arec_pg_free(p);
  Suite *s = suite_create("host_api");
  TCase *tc = tcase_create("handlers");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, auth_constant_time_token);
  tcase_add_test(tc, health_ready_metrics);
  tcase_add_test(tc, routing_errors);
  tcase_add_test(tc, bad_inputs_write_nothing);
  tcase_add_test(tc, lifecycle_start_stop_runners);
  tcase_add_test(tc, start_when_lock_held_or_down);
  tcase_add_test(tc, list_paged);
  tcase_add_test(tc, no_secrets_key_refuses_exchange);
  tcase_add_test(tc, migrate_to_named_pod);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  arec_test_pg_stop(&g_pg);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
