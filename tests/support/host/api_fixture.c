/*
 * api_fixture.c -- the admin API's test fixture (api_fixture.h).
 *
 * How: setup() opens two pools on the harness's database (the manager's
 * and the admin's, which has a statement timeout), the in-memory lock, a
 * manager that reconciles only when told, the host's store and the
 * service, and fills the router's state; teardown() frees them in reverse.
 * Requests go to arec_host_route directly, no socket.
 *
 * Never: start a server itself (the binary's main does), or share a
 * handle between tests (each test is a forked child with its own).
 */
#include "api_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/runner.h"

arec_test_pg g_pg;
static const unsigned char g_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                        12, 13, 14, 15, 16, 17, 18, 19, 20,
                                        21, 22, 23, 24, 25, 26, 27, 28, 29,
                                        30, 31, 32};
api_fixture api = {.pod = "pod-t", .strategies = {50, NULL}};

void setup(void) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.pool_size = 2;
  ck_assert_int_eq(arec_pg_new(&api.pg, &o), 0);
  o.statement_timeout_ms = 2000;
  ck_assert_int_eq(arec_pg_new(&api.admin, &o), 0);
  ck_assert_int_eq(arec_memory_store_new(&api.mem), 0);
  arec_repository *repo = NULL, *arepo = NULL;
  arec_lock *lock = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, api.pg), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, api.mem), 0);
  arec_manager_options mo = AREC_MANAGER_OPTIONS_INIT;
  mo.pod_name = api.pod;
  mo.lock_ttl_ms = 3000;
  mo.reconcile_interval_ms = 0;
  mo.workers = 2;
  mo.log_level = AREC_LOG_ERROR;
  ck_assert_int_eq(arec_manager_new(&api.mgr, &mo, repo, lock), 0);
  ck_assert_int_eq(arec_host_strategies_register(api.mgr, &api.strategies), 0);
  ck_assert_int_eq(arec_host_store_new(&api.store, api.admin, g_key, NULL, NULL,
                                       NULL), 0);
  ck_assert_int_eq(arec_pg_repository_new(&arepo, api.admin), 0);
  arec_svc_options so;
  memset(&so, 0, sizeof so);
  so.pg = api.admin;
  so.repo = arepo;
  so.mgr = api.mgr;
  so.store = api.store;
  so.pod = api.pod;
  ck_assert_int_eq(arec_svc_new(&api.svc, &so), 0);
  memset(&api.st, 0, sizeof api.st);
  api.st.api.svc = api.svc;
  api.st.api.mgr = api.mgr;
  api.st.api.pod = api.pod;
  api.st.auth.admin_token = ADMIN;
  api.st.auth.read_token = READ;
}

void teardown(void) {
  arec_svc_free(api.svc);
  arec_manager_free(api.mgr);
  arec_host_store_free(api.store);
  arec_memory_store_free(api.mem);
  arec_pg_free(api.admin);
  arec_pg_free(api.pg);
}

TCase *api_tcase(Suite *s, const char *name, double timeout_s,
                 const TTest *const *tests) {
  TCase *tc = arec_test_cases(s, name, timeout_s, tests);
  tcase_add_checked_fixture(tc, setup, teardown);
  return tc;
}

arec_host_response api_request(const char *token, const char *method,
                               const char *path, const char *body) {
  arec_host_request req;
  memset(&req, 0, sizeof req);
  char p[512];
  snprintf(p, sizeof p, "%s", path);
  arec_http_kv q[8];
  char *qs = strchr(p, '?');
  if (qs) {
    *qs++ = 0;
    for (char *save = NULL, *kv = strtok_r(qs, "&", &save);
         kv && req.nquery < 8; kv = strtok_r(NULL, "&", &save)) {
      char *eq = strchr(kv, '=');
      if (eq) *eq++ = 0;
      q[req.nquery].name = kv;
      q[req.nquery++].value = eq;
    }
    req.query = q;
  }
  req.method = method;
  req.path = p;
  req.body = body;
  req.body_len = body ? strlen(body) : 0;
  char auth[128];
  snprintf(auth, sizeof auth, "Bearer %s", token ? token : "");
  arec_host_response r;
  arec_host_route(&api.st, &req, token ? auth : NULL, &r);
  return r;
}

int call_as(const char *token, const char *method, const char *path,
            const char *body, cJSON **out, const char **allow) {
  arec_host_response r = api_request(token, method, path, body);
  if (out) *out = r.body ? cJSON_Parse(r.body) : NULL;
  if (allow) *allow = r.extra[0].name && !strcmp(r.extra[0].name, "Allow")
                          ? r.extra[0].value : NULL;
  /* every error is {"error", "field"?, "request_id"?} and nothing else */
  if (r.status >= 400 && (!r.content_type || strstr(r.content_type, "json"))) {
    cJSON *e = cJSON_Parse(r.body);
    ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(e, "error")), "%s",
                  r.body);
    for (cJSON *f = e->child; f; f = f->next)
      ck_assert_msg(!strcmp(f->string, "error") ||
                        !strcmp(f->string, "field") ||
                        !strcmp(f->string, "request_id"),
                    "extra key %s in %s", f->string, r.body);
    ck_assert_msg(!strstr(r.body, "SQLSTATE") && !strstr(r.body, "pg:") &&
                      !strstr(r.body, "relation"),
                  "database internals: %s", r.body);
    cJSON_Delete(e);
  }
  free(r.body);
  return r.status;
}

int call(const char *method, const char *path, const char *body,
         cJSON **out) {
  return call_as(ADMIN, method, path, body, out, NULL);
}

const char *str(const cJSON *j, const char *k) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

void expect_error(int status, const char *method, const char *path,
                  const char *body, const char *needle, const char *field) {
  cJSON *j = NULL;
  int s = call(method, path, body, &j);
  ck_assert_msg(s == status, "%s %s %s: %d, want %d", method, path,
                body ? body : "", s, status);
  const char *e = str(j, "error");
  ck_assert_msg(e != NULL, "%s %s: no error field", method, path);
  if (needle)
    ck_assert_msg(strstr(e, needle) != NULL, "%s %s: \"%s\" lacks %s", method,
                  path, e, needle);
  if (field)
    ck_assert_msg(str(j, "field") && !strcmp(str(j, "field"), field),
                  "%s %s: field %s, want %s", method, path, str(j, "field"),
                  field);
  cJSON_Delete(j);
}

void expect_status(int status, const char *method, const char *path,
                   const char *body) {
  int s = call(method, path, body, NULL);
  ck_assert_msg(s == status, "%s %s %s: %d, want %d", method, path,
                body ? body : "", s, status);
}

const cJSON *get_list(const char *token, const char *path, const char *list,
                      int n, cJSON **out) {
  ck_assert_msg(call_as(token, "GET", path, NULL, out, NULL) == 200, "%s",
                path);
  const cJSON *l = cJSON_GetObjectItem(*out, list);
  ck_assert_msg(cJSON_GetArraySize(l) == n, "%s: %d %s, want %d", path,
                cJSON_GetArraySize(l), list, n);
  return l;
}

void expect_count(const char *token, const char *path, const char *list,
                  int n) {
  cJSON *j = NULL;
  get_list(token, path, list, n, &j);
  cJSON_Delete(j);
}

void seed(long long uid, const char *symbol, const char *id) {
  char path[96], body[256];
  snprintf(body, sizeof body, "{\"id\": %lld, \"name\": \"u%lld\"}", uid, uid);
  expect_status(201, "POST", "/api/users", body);
  snprintf(path, sizeof path, "/api/users/%lld/exchanges", uid);
  cJSON *j = NULL;
  ck_assert_int_eq(call("POST", path, "{\"exchange\": \"binance\", "
                        "\"api_key\": \"K-visible\", \"api_secret\": "
                        "\"S-hidden\", \"testnet\": true}", &j), 201);
  char *txt = cJSON_PrintUnformatted(j);
  ck_assert_ptr_null(strstr(txt, "S-hidden"));
  ck_assert_ptr_null(strstr(txt, "K-visible"));
  free(txt);
  snprintf(path, sizeof path, "/api/users/%lld/pairs", uid);
  snprintf(body, sizeof body, "{\"exchange_id\": %lld, \"symbol\": \"%s\"}",
           (long long)cJSON_GetObjectItem(j, "id")->valuedouble, symbol);
  cJSON_Delete(j);
  expect_status(201, "POST", path, body);
  if (!id) return;
  snprintf(body, sizeof body, "{\"user_id\": %lld, \"strategy\": \"noop\", "
           "\"name\": \"A %s\", \"id\": \"%s\"}", uid, id, id);
  expect_status(201, "POST", "/api/agents", body);
  snprintf(path, sizeof path, "/api/agents/%s/assign", id);
  snprintf(body, sizeof body, "{\"symbol\": \"%s\", \"balance\": 500}", symbol);
  expect_status(201, "POST", path, body);
}
