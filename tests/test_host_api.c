/*
 * test_host_api.c -- the admin API's route table and the router over the
 * real service layer and a real PostgreSQL 15 (harness), with a manager
 * over the PostgreSQL repository and the in-memory lock (so a held or
 * unreachable lock can be forced): 404 / 405 with Allow for every route;
 * authentication (admin, read-only, ADMIN_AUTH=none, 401, 403); strict
 * bodies (one JSON value, an object, integers within 2^53 - 1 and written
 * exactly); every error {"error", "field"?, "request_id"} and never a
 * database internal; the new routes (DELETE an agent, strategies, audit
 * pages, agents by owner); start answers (200 here, 202 lock service down,
 * 409); migrate; /healthz, /ready, /metrics with the host's gauges.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

#include "../host/api_int.h"
#include "support/host/api_fixture.h"
#include "support/runner.h"

static int role_held_answer;
static int role_held(void *ud) { return *(int *)ud; }

/* ------------------------------------------------------------------ tests */
START_TEST(route_table_404_405_allow) {
  static const struct {
    const char *method, *path, *allow;
  } cases[] = {{"GET", "/api/users", "POST"},
               {"DELETE", "/api/agents", "GET, POST"},
               {"GET", "/api/agents/start/x1", "POST"},
               {"POST", "/api/runners", "GET"},
               {"PUT", "/api/agents/x1", "GET, DELETE"},
               {"GET", "/api/agents/x1/migrate", "POST"},
               {"POST", "/api/audit", "GET"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *allow = NULL;
    ck_assert_int_eq(call_as(ADMIN, cases[i].method, cases[i].path, NULL,
                             NULL, &allow), 405);
    ck_assert_msg(allow && !strcmp(allow, cases[i].allow), "%s %s: Allow %s",
                  cases[i].method, cases[i].path, allow);
  }
  expect_error(404, "GET", "/api/nothing", NULL, "endpoint", NULL);
  expect_error(404, "GET", "/nothing", NULL, "endpoint", NULL);
  expect_error(404, "GET", "/api", NULL, NULL, NULL);
  expect_error(404, "GET", "/api/agents/a/b/c/d", NULL, NULL, NULL);
  expect_error(400, "POST", "/api/agents/start/bad!id", NULL, "id", "id");
  expect_error(400, "POST", "/api/users/abc/pairs", "{}", "uid", "uid");
  expect_error(400, "POST", "/api/users/0/pairs", "{}", "uid", "uid");
  /* every route of the table is reached (no 404, no 405) */
  for (size_t i = 0; i < arec_host_api_route_count(); i++) {
    char m[16], pat[128], path[160] = "";
    ck_assert_int_eq(sscanf(arec_host_api_route(i), "%15s %127s", m, pat), 2);
    for (char *save = NULL, *seg = strtok_r(pat, "/", &save); seg;
         seg = strtok_r(NULL, "/", &save)) {
      const char *v = !strcmp(seg, "{id}") ? "zz1"
                      : !strcmp(seg, "{uid}") ? "4" : seg;
      snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", v);
    }
    int s = call(m, path, "{}", NULL);
    ck_assert_msg(s != 404 || strstr(path, "zz1") || strstr(path, "/4/"),
                  "%s %s -> %d", m, path, s);
    ck_assert_msg(s != 405, "%s %s -> 405", m, path);
  }
  ck_assert_ptr_null(arec_host_api_route(arec_host_api_route_count()));
  arec_host_request req = {"POST", "/api/users", NULL, 0, "{", 1, 1};
  arec_host_response r;
  arec_host_route(&api.st, &req, "Bearer " ADMIN, &r);
  ck_assert_int_eq(r.status, 413);
  free(r.body);
}
END_TEST

START_TEST(authentication_and_actors) {
  cJSON *j = NULL;
  ck_assert_int_eq(call_as(NULL, "GET", "/api/runners", NULL, &j, NULL), 401);
  ck_assert_str_eq(str(j, "error"), "missing or wrong bearer token");
  ck_assert_ptr_nonnull(str(j, "request_id"));
  cJSON_Delete(j);
  ck_assert_int_eq(call_as("nope-nope-nope-nope", "GET", "/api/pods", NULL,
                           NULL, NULL), 401);
  ck_assert_int_eq(call_as(ADMIN "x", "GET", "/api/pods", NULL, NULL, NULL),
                   401);
  ck_assert_int_eq(call_as(READ, "GET", "/api/pods", NULL, NULL, NULL), 200);
  ck_assert_int_eq(call_as(READ, "POST", "/api/users",
                           "{\"id\": 77, \"name\": \"r\"}", NULL, NULL), 403);
  ck_assert_int_eq(call_as(READ, "DELETE", "/api/nowhere", NULL, NULL, NULL),
                   403);
  expect_status(404, "GET", "/api/agents/nobody", NULL);
  /* ADMIN_AUTH=none: everyone is "api:none" */
  api.st.auth.admin_token = api.st.auth.read_token = NULL;
  api.st.auth.none = 1;
  ck_assert_int_eq(call_as(NULL, "POST", "/api/users",
                           "{\"id\": 78, \"name\": \"o\"}", NULL, NULL), 201);
  ck_assert_int_eq(call_as(NULL, "GET", "/api/audit?limit=1000", NULL, &j,
                           NULL), 200);
  char *txt = cJSON_PrintUnformatted(j);
  ck_assert_msg(strstr(txt, "\"actor\":\"api:none\",\"action\":\"user.upsert\"")
                    != NULL, "%s", txt);
  free(txt);
  cJSON_Delete(j);
  /* the probes never ask */
  ck_assert_int_eq(call_as(NULL, "GET", "/healthz", NULL, NULL, NULL), 200);
}
END_TEST

START_TEST(strict_bodies_and_exact_ids) {
  int before = 0;
  cJSON *j = NULL;
  ck_assert_int_eq(call("GET", "/api/agents?limit=1000", NULL, &j), 200);
  before = cJSON_GetArraySize(cJSON_GetObjectItem(j, "agents"));
  cJSON_Delete(j);
  expect_error(400, "POST", "/api/users", "{\"id\": 5, \"name\": \"x\"} {}",
               "trailing", NULL);
  expect_error(400, "POST", "/api/users", "{\"id\": 5, \"name\": \"x\"}x",
               "trailing", NULL);
  expect_error(400, "POST", "/api/users", "{\"id\": 5, \"id\": 6, "
               "\"name\": \"x\"}", "twice", NULL);
  expect_error(400, "POST", "/api/users", "[{\"id\": 5}]", "object", NULL);
  expect_error(400, "POST", "/api/users", NULL, "JSON", NULL);
  expect_error(400, "POST", "/api/users", "{\"id\": +5, \"name\": \"x\"}",
               "JSON", NULL);
  expect_error(400, "POST", "/api/users",
               "{\"id\": 9007199254740992, \"name\": \"x\"}", "id", "id");
  expect_error(400, "POST", "/api/users",
               "{\"id\": -1, \"name\": \"x\"}", "id", "id");
  expect_error(400, "POST", "/api/users", "{\"id\": 2.5, \"name\": \"x\"}",
               "id", "id");
  expect_error(400, "POST", "/api/users", "{\"id\": 5}", "name", "name");
  expect_error(400, "POST", "/api/agents",
               "{\"user_id\": 1, \"name\": \"n\"}", "strategy", "strategy");
  expect_error(400, "POST", "/api/agents",
               "{\"user_id\": 1, \"strategy\": \"noop\", \"name\": \"n\","
               " \"params\": [1]}", "params", "params");
  expect_error(400, "POST", "/api/agents",
               "{\"user_id\": 1, \"strategy\": \"noop\", \"name\": \"n\","
               " \"id\": \"start\"}", "id", "id");
  /* whitespace around the value is fine */
  expect_status(201, "POST", "/api/users",
                " \n{\"id\": 9007199254740991, \"name\": \"max\"}\r\n\t");
  ck_assert_int_eq(call("POST", "/api/agents",
                        "{\"user_id\": 9007199254740991, \"strategy\": "
                        "\"noop\", \"name\": \"m\", \"id\": \"api-max\", "
                        "\"params\": {\"k\": 1}}", &j), 201);
  cJSON_Delete(j);
  /* ids come back digit for digit, never through a double */
  arec_host_request req = {"GET", "/api/agents/api-max", NULL, 0, NULL, 0, 0};
  arec_host_response r;
  arec_host_route(&api.st, &req, "Bearer " ADMIN, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_msg(strstr(r.body, "\"user_id\":9007199254740991,") != NULL, "%s",
                r.body);
  free(r.body);
  expect_count(ADMIN, "/api/agents?user_id=9007199254740991", "agents", 1);
  expect_error(400, "GET", "/api/agents?user_id=9007199254740992", NULL,
               "user_id", "user_id");
  ck_assert_int_eq(call("GET", "/api/agents?limit=1000", NULL, &j), 200);
  ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "agents")),
                   before + 1);
  cJSON_Delete(j);
}
END_TEST

START_TEST(agents_start_stop_delete) {
  seed(7002, "ETH/USDT", "api-life-1");
  cJSON *j = NULL;
  ck_assert_int_eq(call("POST", "/api/agents/start/api-life-1", NULL, &j),
                   200);
  ck_assert_str_eq(str(j, "running_on"), "pod-t");
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/agents/api-life-1", NULL, &j), 200);
  ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "is_trading")));
  ck_assert_str_eq(str(j, "running_on"), "pod-t");
  const char *keys[] = {"id", "user_id", "name", "strategy", "symbols",
                        "is_active", "is_trading", "running_on", "fence",
                        "created_at", "updated_at", "start_failures",
                        "last_error", "retry_at"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    ck_assert_msg(cJSON_GetObjectItem(j, keys[i]) != NULL, "no %s", keys[i]);
  const cJSON *sym = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "symbols"), 0);
  ck_assert_str_eq(str(sym, "symbol"), "ETH/USDT");
  ck_assert(cJSON_IsObject(cJSON_GetObjectItem(sym, "memory")));
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/runners", NULL, &j), 200);
  ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "runners"),
                                          0), "agent_id"), "api-life-1");
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/pods", NULL, &j), 200);
  ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "pods"), 0),
                       "name"), "pod-t");
  cJSON_Delete(j);
  /* migrate: the body checked, an unknown pod refused, nothing moves */
  expect_error(400, "POST", "/api/agents/api-life-1/migrate", "{\"to\": 5}",
               NULL, "to");
  expect_error(409, "POST", "/api/agents/api-life-1/migrate",
               "{\"to\": \"pod-zz\"}", NULL, NULL);
  expect_error(404, "POST", "/api/agents/api-none/migrate",
               "{\"to\": \"pod-t\"}", NULL, NULL);
  ck_assert_int_eq(call("POST", "/api/agents/stop/api-life-1", NULL, &j), 200);
  ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "is_trading")));
  cJSON_Delete(j);
  ck_assert_int_eq(call("POST", "/api/agents/api-life-1/disable", NULL, &j),
                   200);
  ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "is_active")));
  cJSON_Delete(j);
  expect_error(409, "POST", "/api/agents/start/api-life-1", NULL, NULL, NULL);
  expect_status(200, "POST", "/api/agents/api-life-1/enable", NULL);
  /* unknown strategy at create: 400 naming it */
  expect_error(400, "POST", "/api/agents", "{\"user_id\": 7002, \"strategy\":"
               " \"nope\", \"name\": \"n\"}", NULL, "strategy");
  /* the lock service down: the wish is recorded, 202 */
  seed(7003, "SOL/USDT", "api-down-1");
  arec_memory_fail(api.mem, AREC_MEMORY_LOCK, -1, AREC_EUNAVAILABLE);
  ck_assert_int_eq(call("POST", "/api/agents/start/api-down-1", NULL, &j),
                   202);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "running_on")));
  ck_assert_ptr_nonnull(str(j, "message"));
  cJSON_Delete(j);
  arec_memory_fail(api.mem, AREC_MEMORY_LOCK, 0, 0);
  /* DELETE: gone from get and list, the id stays taken */
  expect_status(200, "DELETE", "/api/agents/api-down-1", NULL);
  expect_status(404, "GET", "/api/agents/api-down-1", NULL);
  expect_status(404, "DELETE", "/api/agents/api-down-1", NULL);
  expect_error(409, "POST", "/api/agents", "{\"user_id\": 7003, \"strategy\":"
               " \"noop\", \"name\": \"n\", \"id\": \"api-down-1\"}", NULL,
               NULL);
}
END_TEST

START_TEST(strategies_audit_pages) {
  cJSON *j = NULL;
  ck_assert_int_eq(call("GET", "/api/strategies", NULL, &j), 200);
  const cJSON *names = cJSON_GetObjectItem(j, "strategies");
  ck_assert(cJSON_IsArray(names));
  int noop = 0;
  const cJSON *n;
  cJSON_ArrayForEach(n, names) noop += !strcmp(n->valuestring, "noop");
  ck_assert_int_eq(noop, 1);
  cJSON_Delete(j);
  seed(7004, "ADA/USDT", NULL);
  for (int i = 0; i < 3; i++) {
    char body[128];
    snprintf(body, sizeof body, "{\"user_id\": 7004, \"strategy\": \"noop\","
             " \"name\": \"p\", \"id\": \"page-%c\"}", 'a' + i);
    expect_status(201, "POST", "/api/agents", body);
  }
  ck_assert_int_eq(call("GET", "/api/agents?limit=2&after=page-", NULL, &j),
                   200);
  ck_assert_str_eq(str(j, "next"), "page-b");
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/agents?limit=2&after=page-b&user_id=7004",
                        NULL, &j), 200);
  ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "agents")), 1);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "next")));
  cJSON_Delete(j);
  /* audit: oldest first, pages by id, every field present */
  ck_assert_int_eq(call("GET", "/api/audit?limit=2", NULL, &j), 200);
  const cJSON *ev = cJSON_GetObjectItem(j, "events");
  ck_assert_int_eq(cJSON_GetArraySize(ev), 2);
  const cJSON *e1 = cJSON_GetArrayItem(ev, 1);
  const char *f[] = {"id", "time", "actor", "action", "agent_id", "user_id",
                     "result"};
  for (size_t i = 0; i < 7; i++)
    ck_assert_msg(cJSON_GetObjectItem(e1, f[i]) != NULL, "no %s", f[i]);
  ck_assert_str_eq(str(e1, "actor"), "api:admin");
  double next = cJSON_GetObjectItem(j, "next")->valuedouble;
  ck_assert(next == cJSON_GetObjectItem(e1, "id")->valuedouble);
  char path[64];
  snprintf(path, sizeof path, "/api/audit?after=%.0f&limit=1000", next);
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", path, NULL, &j), 200);
  e1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 0);
  ck_assert(cJSON_GetObjectItem(e1, "id")->valuedouble > next);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "next")));
  cJSON_Delete(j);
  expect_error(400, "GET", "/api/audit?limit=0", NULL, "limit", "limit");
  expect_error(400, "GET", "/api/audit?after=x", NULL, "after", "after");
}
END_TEST

/* The database gone: 503 with a request id, never its internals. */
START_TEST(database_down_503_with_request_id) {
  seed(7005, "XRP/USDT", NULL);
  ck_assert_int_eq(arec_test_pg_halt(&g_pg), 0);
  cJSON *j = NULL;
  int s = call("POST", "/api/users", "{\"id\": 7006, \"name\": \"d\"}", &j);
  ck_assert_int_eq(arec_test_pg_resume(&g_pg), 0);
  ck_assert_msg(s == 503 || s == 500, "%d", s);
  ck_assert_ptr_nonnull(str(j, "request_id"));
  ck_assert_uint_eq(strlen(str(j, "request_id")), 16);
  cJSON_Delete(j);
}
END_TEST

START_TEST(probes_and_metrics) {
  expect_status(200, "GET", "/healthz", NULL);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  api.st.healthz_stall_ms = 10000;
  atomic_store(&api.st.loops_ok_at, now - 20000);
  expect_status(503, "GET", "/healthz", NULL);
  atomic_store(&api.st.loops_ok_at, now);
  expect_status(200, "GET", "/healthz", NULL);
  expect_status(503, "GET", "/ready", NULL);
  atomic_store(&api.st.ready, 1);
  expect_status(200, "GET", "/ready", NULL);
  atomic_store(&api.st.stopping, 1);
  atomic_store(&api.st.loops_ok_at, now - 20000);
  expect_status(503, "GET", "/ready", NULL);
  expect_status(200, "GET", "/healthz", NULL); /* stalled, but stopping */
  expect_status(405, "POST", "/ready", NULL);
  atomic_store(&api.st.stopping, 0);
  arec_host_request req = {"GET", "/metrics", NULL, 0, NULL, 0, 0};
  arec_host_response r;
  arec_host_route(&api.st, &req, NULL, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_nonnull(strstr(r.content_type, "version=0.0.4"));
  ck_assert_ptr_nonnull(strstr(r.body, "agents_restored_total"));
  ck_assert_ptr_nonnull(strstr(r.body, "agentrecoverd_ready 1"));
  ck_assert_ptr_nonnull(strstr(r.body, "agentrecoverd_build_info{version="));
  ck_assert_ptr_null(strstr(r.body, "agentrecoverd_role_held"));
  free(r.body);
  api.st.telegram_role_held = role_held;
  api.st.telegram_role_ud = &role_held_answer;
  for (role_held_answer = 0; role_held_answer < 2; role_held_answer++) {
    arec_host_route(&api.st, &req, NULL, &r);
    char want[80];
    snprintf(want, sizeof want, "agentrecoverd_role_held{role=\"telegram\"} %d",
             role_held_answer);
    ck_assert_msg(strstr(r.body, want) != NULL, "%s", want);
    free(r.body);
  }
}
END_TEST

/* ---------------------------------------------------------------- render */
/* The record as a cJSON tree printed unformatted: the shape the API has
 * always answered, which the text writer must reproduce byte for byte. */
static char *agent_by_cjson(const arec_agent_record *a) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", a->id ? a->id : "");
  arec_json_add_int(o, "user_id", a->user_id);
  cJSON_AddStringToObject(o, "name", a->name ? a->name : "");
  cJSON_AddStringToObject(o, "strategy", a->strategy ? a->strategy : "");
  cJSON_AddStringToObject(o, "mode",
                          arec_svc_agent_is_live(a) ? "live" : "paper");
  cJSON *syms = cJSON_AddArrayToObject(o, "symbols");
  for (size_t i = 0; i < a->nsymbols; i++) {
    const arec_symbol_record *s = &a->symbols[i];
    cJSON *so = cJSON_CreateObject();
    cJSON_AddStringToObject(so, "symbol", s->symbol ? s->symbol : "");
    cJSON_AddNumberToObject(so, "budget", s->budget);
    cJSON_AddNumberToObject(so, "balance", s->balance);
    arec_json_add_json_text(so, "memory", s->memory);
    arec_json_add_int(so, "fence", (long long)s->fence);
    arec_json_add_time(so, "updated_at", s->updated_at_ms);
    cJSON_AddItemToArray(syms, so);
  }
  cJSON_AddBoolToObject(o, "is_active", a->is_active);
  cJSON_AddBoolToObject(o, "is_trading", a->is_trading);
  arec_json_add_string_or_null(o, "running_on", a->running_on);
  arec_json_add_int(o, "fence", (long long)a->fence);
  arec_json_add_time(o, "created_at", a->created_at_ms);
  arec_json_add_time(o, "updated_at", a->updated_at_ms);
  arec_json_add_int(o, "start_failures", a->start_failures);
  arec_json_add_string_or_null(o, "last_error", a->last_error);
  arec_json_add_time(o, "retry_at", a->retry_at_ms);
  char *t = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return t;
}

/* Escapes, control characters, non-ASCII, numbers cJSON prints as ints,
 * with 15 and with 17 digits, NaN and infinities, huge and negative ones,
 * whole ones just below and at 10^15, memory that is JSON (normalised),
 * not JSON (a string) or absent, times absent, present, in the years 1970
 * and 10000, nulls and 64-bit fences: the text writer's bytes equal the
 * cJSON tree's. */
START_TEST(agent_text_equals_cjson_tree) {
  static const double nums[] = {0,       -0.0,   100,     -3,     0.1,
                                1.0 / 3, 1e20,   -2.5e-9, 2147483647.0,
                                -2147483648.0, 2147483648.5, 1e308, NAN,
                                INFINITY, -INFINITY, 123456789.123456789,
                                999999999999999.0, 1e15, -999999999999999.0,
                                123456.0, 4503599627370497.0, -7.0};
  static char *mems[] = {"{}", "{\"a\": [1, 2.50, {\"b\": null}]}",
                               "not json", "\"x\"", NULL};
  char odd[] = "E\xc3\xa9/\"q\"\\\x01\x1f\n\t\b\f\r", plain[] = "BTC/USDT";
  char id[] = "b42", name1[] = "na\"me\x7f</script>", name0[] = "";
  char strategy[] = "noop", pod[] = "pod-a", err[] = "boom\n\"quoted\"";
  arec_symbol_record syms[3];
  for (size_t k = 0; k < sizeof nums / sizeof *nums; k++) {
    memset(syms, 0, sizeof syms);
    for (size_t j = 0; j < 3; j++) {
      syms[j].symbol = j == 1 ? odd : plain;
      syms[j].budget = nums[k];
      syms[j].balance = nums[(k + j + 1) % (sizeof nums / sizeof *nums)];
      syms[j].memory = mems[(k + j) % (sizeof mems / sizeof *mems)];
      syms[j].fence = j ? UINT64_MAX >> 1 : 0;
      syms[j].updated_at_ms = j ? 1764400000123LL + (long long)k : 0;
    }
    arec_agent_record a;
    memset(&a, 0, sizeof a);
    a.id = id;
    a.user_id = 9007199254740991LL;
    a.name = k % 2 ? name1 : name0;
    a.strategy = strategy;
    a.symbols = syms;
    a.nsymbols = k % 4;
    a.is_active = (int)(k % 2);
    a.is_trading = (int)(k % 3 == 0);
    a.running_on = k % 2 ? pod : NULL;
    a.fence = (uint64_t)k * 1000000007ULL;
    a.created_at_ms = k % 3 ? 1700000000999LL : 0;
    a.updated_at_ms = 1764400000001LL;
    a.start_failures = (unsigned)k;
    a.last_error = k % 3 ? NULL : err;
    a.retry_at_ms = k % 5 ? 0 : 1764400000500LL;
    if (k % 7 == 1) /* years 10000 and 1970 */
      a.retry_at_ms = 253402300800000LL + 7;
    if (k % 7 == 2)
      a.retry_at_ms = 1;
    char *want = agent_by_cjson(&a);
    api_buf b = {NULL, 0, 0, 0};
    api_agent_write(&b, &a);
    ck_assert(!b.oom);
    ck_assert_msg(strcmp(want, b.p) == 0, "case %zu:\n cjson %s\n text  %s",
                  k, want, b.p);
    free(want);
    free(b.p);
  }
}
END_TEST

int main(void) {
  const TTest *render[] = {agent_text_equals_cjson_tree, NULL};
  const TTest *routes[] = {route_table_404_405_allow, authentication_and_actors,
      strict_bodies_and_exact_ids, agents_start_stop_delete,
      strategies_audit_pages, database_down_503_with_request_id,
      probes_and_metrics, NULL};
  Suite *s = suite_create("host_api");
  arec_test_cases(s, "render", 30, render);
  api_tcase(s, "routes", 30, routes);
  return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL);
}
