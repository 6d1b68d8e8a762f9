/*
 * test_host_ui.c -- the fleet page and the API queries it makes, through
 * the real router, service layer and a real PostgreSQL 15 (harness), with a
 * manager over the PostgreSQL repository and the in-memory lock:
 *   - GET /ui and /ui/ answer without a token, text/html, the bytes of
 *     host/ui/index.html exactly, with a Content-Security-Policy naming the
 *     SHA-256 of the page's inline script and style (computed here from the
 *     file), nosniff, no referrer, no framing; other methods 405;
 *   - the document is self-contained (no URL to anything, no prompt(), a
 *     password field, the token in sessionStorage);
 *   - /api/agents?running_on= and ?state= (wanted, unowned, backoff), their
 *     400s; /api/pods with leaving and now;
 *   - /api/audit?action=&order=desc&before= pages one action newest first.
 */
#include <cJSON.h>
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/ui/page.h"
#include "support/host/api_fixture.h"
#include "support/runner.h"

/* GET with the read token: the status, *out the parsed body. */
static int get(const char *path, cJSON **out) {
  return call_as(READ, "GET", path, NULL, out, NULL);
}

static int post(const char *path, const char *body) {
  return call("POST", path, body, NULL);
}

static const char *header(const arec_host_response *r, const char *name) {
  for (size_t i = 0; i < AREC_HTTP_MAX_EXTRA_HEADERS; i++)
    if (r->extra[i].name && !strcmp(r->extra[i].name, name))
      return r->extra[i].value;
  return NULL;
}

static void expect_400(const char *path, const char *field) {
  cJSON *j = NULL;
  ck_assert_msg(get(path, &j) == 400, "%s", path);
  ck_assert_msg(str(j, "field") && !strcmp(str(j, "field"), field),
                "%s: field %s, want %s", path, str(j, "field"), field);
  cJSON_Delete(j);
}

/* The ids of a listing's "agents" (or "events" .agent_id), comma-joined. */
static void ids(const cJSON *j, const char *list, const char *key, char *buf,
                size_t len) {
  buf[0] = 0;
  const cJSON *a;
  cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, list)) {
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s%s", n ? "," : "", str(a, key));
  }
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s", path);
  char *buf = malloc(1 << 20);
  *len = fread(buf, 1, (1 << 20) - 1, f);
  buf[*len] = 0;
  fclose(f);
  return buf;
}

/* "'sha256-<base64>'" of the text between <tag> and </tag> in doc. */
static void element_hash(const char *doc, const char *tag, char *out,
                         size_t len) {
  char open[16], close[16];
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *b = strstr(doc, open), *e = b ? strstr(b, close) : NULL;
  ck_assert_msg(b && e, "no <%s> element", tag);
  b += strlen(open);
  ck_assert_ptr_null(strstr(e + 1, open)); /* exactly one */
  unsigned char md[32], b64[64];
  unsigned int n = 0;
  ck_assert(EVP_Digest(b, (size_t)(e - b), md, &n, EVP_sha256(), NULL));
  EVP_EncodeBlock(b64, md, 32);
  snprintf(out, len, "'sha256-%s'", (char *)b64);
}

/* ------------------------------------------------------------------ page */
START_TEST(page_served_without_token_with_its_policy) {
  size_t flen = 0;
  char *file = read_file("host/ui/index.html", &flen);
  char script[80], style[80];
  element_hash(file, "script", script, sizeof script);
  element_hash(file, "style", style, sizeof style);
  const char *paths[] = {"/ui", "/ui/"};
  for (int i = 0; i < 2; i++) {
    arec_host_response r = api_request(NULL, "GET", paths[i], NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/html; charset=utf-8");
    ck_assert_uint_eq(strlen(r.body), flen);
    ck_assert_msg(memcmp(r.body, file, flen) == 0, "the served bytes differ "
                  "from host/ui/index.html");
    const char *csp = header(&r, "Content-Security-Policy");
    ck_assert_ptr_nonnull(csp);
    ck_assert_msg(!strncmp(csp, "default-src 'none'; ", 20), "%s", csp);
    char want[200];
    snprintf(want, sizeof want, "script-src %s;", script);
    ck_assert_msg(strstr(csp, want) != NULL, "%s lacks %s", csp, want);
    snprintf(want, sizeof want, "style-src %s;", style);
    ck_assert_msg(strstr(csp, want) != NULL, "%s lacks %s", csp, want);
    ck_assert_ptr_nonnull(strstr(csp, "connect-src 'self';"));
    ck_assert_ptr_nonnull(strstr(csp, "img-src data:;"));
    ck_assert_ptr_nonnull(strstr(csp, "frame-ancestors 'none'"));
    ck_assert_ptr_null(strstr(csp, "unsafe"));
    ck_assert_str_eq(header(&r, "X-Content-Type-Options"), "nosniff");
    ck_assert_str_eq(header(&r, "Referrer-Policy"), "no-referrer");
    free(r.body);
  }
  /* a token changes nothing; HEAD like GET; other methods and paths */
  arec_host_response r = api_request(READ, "HEAD", "/ui", NULL);
  ck_assert_int_eq(r.status, 200);
  free(r.body);
  r = api_request(ADMIN, "POST", "/ui", NULL);
  ck_assert_int_eq(r.status, 405);
  ck_assert_str_eq(header(&r, "Allow"), "GET");
  free(r.body);
  const char *none[] = {"/ui/x", "/uix", "/ui//", "/UI"};
  for (int i = 0; i < 4; i++) {
    r = api_request(NULL, "GET", none[i], NULL);
    ck_assert_msg(r.status == 404, "%s: %d", none[i], r.status);
    free(r.body);
  }
  free(file);
}
END_TEST

START_TEST(page_is_self_contained) {
  size_t n = 0;
  char *doc = read_file("host/ui/index.html", &n);
  /* nothing to fetch but its own API: no URL, no source, no import */
  const char *banned[] = {"http:", "https:", "src=", "@import", "url(",
                          "//cdn", "<iframe", "<object", "<embed",
                          "prompt(", "localStorage", "innerHTML",
                          "outerHTML", "insertAdjacentHTML", "eval(",
                          "document.write", " style=\""};
  for (size_t i = 0; i < sizeof banned / sizeof *banned; i++)
    ck_assert_msg(strstr(doc, banned[i]) == NULL, "the page has %s",
                  banned[i]);
  /* the one <link> is the empty data: icon (no favicon request) */
  const char *l = strstr(doc, "<link");
  ck_assert_ptr_nonnull(l);
  ck_assert(!strncmp(l, "<link rel=\"icon\" href=\"data:,\">", 31));
  ck_assert_ptr_null(strstr(l + 1, "<link"));
  ck_assert_ptr_nonnull(strstr(doc, "type=\"password\""));
  ck_assert_ptr_nonnull(strstr(doc, "sessionStorage"));
  ck_assert_ptr_nonnull(strstr(doc, "'Authorization': 'Bearer '"));
  /* every call it makes is one of the read API's */
  const char *calls[] = {"'/api/pods'", "'/api/runners'",
                         "'/api/agents?state=wanted,unowned&limit='",
                         "'/api/agents?state=backoff&limit='",
                         "'/api/audit?action=agent.takeover&order=desc&"
                         "limit=20'",
                         "'/api/agents?running_on='"};
  for (size_t i = 0; i < sizeof calls / sizeof *calls; i++)
    ck_assert_msg(strstr(doc, calls[i]) != NULL, "no call %s", calls[i]);
  free(doc);
}
END_TEST

/* ----------------------------------------------------------- agents, pods */
/* User 8100 with a pair and agent `id` assigned BTC/USDT. */
static void agent(const char *id) {
  char body[200], path[96];
  snprintf(body, sizeof body, "{\"user_id\": 8100, \"strategy\": \"noop\", "
           "\"name\": \"Agent %s\", \"id\": \"%s\"}", id, id);
  ck_assert_int_eq(post("/api/agents", body), 201);
  snprintf(path, sizeof path, "/api/agents/%s/assign", id);
  ck_assert_int_eq(post(path, "{\"symbol\": \"BTC/USDT\", \"balance\": 100}"),
                   201);
}

START_TEST(agents_by_pod_and_state) {
  ck_assert_int_eq(post("/api/users", "{\"id\": 8100, \"name\": \"ui\"}"), 201);
  ck_assert_int_eq(post("/api/users/8100/exchanges", "{\"exchange\": "
                        "\"binance\", \"api_key\": \"k\", \"api_secret\": "
                        "\"s\", \"testnet\": true}"), 201);
  cJSON *j = NULL;
  char *v = NULL;
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "SELECT id FROM user_exchanges "
                                    "WHERE user_id = 8100", &v), 0);
  char body[96];
  snprintf(body, sizeof body, "{\"exchange_id\": %d, \"symbol\": "
           "\"BTC/USDT\"}", atoi(v));
  free(v);
  ck_assert_int_eq(post("/api/users/8100/pairs", body), 201);
  const char *all[] = {"ui-run-1", "ui-run-2", "ui-wait", "ui-back",
                       "ui-idle", "ui-other"};
  for (int i = 0; i < 6; i++) agent(all[i]);
  /* two run here; one is wanted and waits; one waits in backoff; one is
   * not wanted; one belongs to another (live) pod */
  ck_assert_int_eq(post("/api/agents/start/ui-run-1", NULL), 200);
  ck_assert_int_eq(post("/api/agents/start/ui-run-2", NULL), 200);
  ck_assert_int_eq(arec_test_pg_sql(
                       &g_pg,
                       "UPDATE agent_configs SET is_trading = true WHERE id IN "
                       "('ui-wait', 'ui-back', 'ui-other');"
                       "UPDATE agent_configs SET start_failures = 3, "
                       "last_error = 'exchange said no', retry_at = now() + "
                       "interval '1 hour' WHERE id = 'ui-back';"
                       "INSERT INTO pods (name, incarnation, started_at, "
                       "heartbeat_at, lease_until, leaving) VALUES ('pod-zz', "
                       "'inc-zz', now(), now(), now() + interval '1 hour', "
                       "true);"
                       "UPDATE agent_configs SET running_on = 'pod-zz', "
                       "running_incarnation = 'inc-zz' WHERE id = 'ui-other'",
                       NULL),
                   0);
  char got[256];
  ck_assert_int_eq(get("/api/agents?running_on=pod-ui", &j), 200);
  ids(j, "agents", "id", got, sizeof got);
  ck_assert_str_eq(got, "ui-run-1,ui-run-2");
  const cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "agents"), 0);
  ck_assert_int_gt(cJSON_GetObjectItem(a0, "fence")->valueint, 0);
  cJSON_Delete(j);
  ck_assert_int_eq(get("/api/agents?running_on=pod-zz", &j), 200);
  ids(j, "agents", "id", got, sizeof got);
  ck_assert_str_eq(got, "ui-other");
  cJSON_Delete(j);
  ck_assert_int_eq(get("/api/agents?state=wanted,unowned", &j), 200);
  ids(j, "agents", "id", got, sizeof got);
  ck_assert_str_eq(got, "ui-back,ui-wait");
  cJSON_Delete(j);
  ck_assert_int_eq(get("/api/agents?state=backoff&limit=5", &j), 200);
  ids(j, "agents", "id", got, sizeof got);
  ck_assert_str_eq(got, "ui-back");
  a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "agents"), 0);
  ck_assert_str_eq(str(a0, "last_error"), "exchange said no");
  ck_assert_ptr_nonnull(str(a0, "retry_at"));
  ck_assert_int_eq(cJSON_GetObjectItem(a0, "start_failures")->valueint, 3);
  cJSON_Delete(j);
  ck_assert_int_eq(get("/api/agents?state=wanted&running_on=pod-ui&limit=1",
                       &j), 200);
  ids(j, "agents", "id", got, sizeof got);
  ck_assert_str_eq(got, "ui-run-1");
  ck_assert_str_eq(str(j, "next"), "ui-run-1");
  cJSON_Delete(j);
  expect_count(READ, "/api/agents?state=&user_id=8100", "agents", 6);
  expect_400("/api/agents?state=running", "state");
  expect_400("/api/agents?state=wanted,,", "state");
  expect_400("/api/agents?state=wanted;unowned", "state");
  expect_400("/api/agents?running_on=bad%20pod", "running_on");
  /* pods: live ones with leaving, agent counts and the serving clock */
  ck_assert_int_eq(get("/api/pods", &j), 200);
  ck_assert_ptr_nonnull(str(j, "now"));
  const cJSON *p;
  int seen = 0;
  cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "pods")) {
    const char *name = str(p, "name");
    ck_assert(cJSON_IsBool(cJSON_GetObjectItem(p, "leaving")));
    if (!strcmp(name, "pod-zz")) {
      seen |= 1;
      ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(p, "leaving")));
      ck_assert_int_eq(cJSON_GetObjectItem(p, "agents")->valueint, 1);
    } else if (!strcmp(name, "pod-ui")) {
      seen |= 2;
      ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(p, "leaving")));
      ck_assert_int_eq(cJSON_GetObjectItem(p, "agents")->valueint, 2);
    }
  }
  ck_assert_int_eq(seen, 3);
  cJSON_Delete(j);
}
END_TEST

/* ----------------------------------------------------------------- audit */
START_TEST(audit_by_action_newest_first) {
  /* service events (user.upsert) and takeover events, interleaved */
  for (int i = 0; i < 5; i++) {
    char body[64];
    snprintf(body, sizeof body, "{\"id\": %d, \"name\": \"a\"}", 8200 + i);
    ck_assert_int_eq(post("/api/users", body), 201);
    arec_host_audit e;
    memset(&e, 0, sizeof e);
    char id[16];
    snprintf(id, sizeof id, "tk-%d", i);
    e.actor = "pod:pod-ui";
    e.action = "agent.takeover";
    e.agent_id = id;
    e.result = "after failure";
    ck_assert_int_eq(arec_host_store_audit_add_many(api.store, &e, 1), 0);
  }
  cJSON *j = NULL;
  char got[256];
  ck_assert_int_eq(get("/api/audit?action=agent.takeover&order=desc&limit=2",
                       &j), 200);
  ids(j, "events", "agent_id", got, sizeof got);
  ck_assert_str_eq(got, "tk-4,tk-3");
  const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 1);
  ck_assert_str_eq(str(e, "actor"), "pod:pod-ui");
  ck_assert_str_eq(str(e, "result"), "after failure");
  long long next = (long long)cJSON_GetObjectItem(j, "next")->valuedouble;
  ck_assert_int_eq(next, (long long)cJSON_GetObjectItem(e, "id")->valuedouble);
  cJSON_Delete(j);
  char path[128];
  snprintf(path, sizeof path,
           "/api/audit?action=agent.takeover&order=desc&limit=10&before=%lld",
           next);
  ck_assert_int_eq(get(path, &j), 200);
  ids(j, "events", "agent_id", got, sizeof got);
  ck_assert_str_eq(got, "tk-2,tk-1,tk-0");
  ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "next")));
  cJSON_Delete(j);
  /* oldest first (the default) of one action; another action */
  ck_assert_int_eq(get("/api/audit?action=agent.takeover&limit=2&order=asc",
                       &j), 200);
  ids(j, "events", "agent_id", got, sizeof got);
  ck_assert_str_eq(got, "tk-0,tk-1");
  cJSON_Delete(j);
  ck_assert_int_eq(get("/api/audit?action=user.upsert&limit=1000", &j), 200);
  const cJSON *ev;
  int n = 0;
  cJSON_ArrayForEach(ev, cJSON_GetObjectItem(j, "events")) {
    ck_assert_str_eq(str(ev, "action"), "user.upsert");
    n++;
  }
  ck_assert_int_ge(n, 5);
  cJSON_Delete(j);
  expect_count(READ, "/api/audit?action=no.such.action", "events", 0);
  expect_400("/api/audit?action=Agent.Takeover", "action");
  expect_400("/api/audit?action=a'b", "action");
  expect_400("/api/audit?order=up", "order");
  expect_400("/api/audit?before=0", "before");
  expect_400("/api/audit?before=x", "before");
}
END_TEST

int main(void) {
  api.pod = "pod-ui";
  const TTest *tests[] = {page_served_without_token_with_its_policy,
      page_is_self_contained, agents_by_pod_and_state,
      audit_by_action_newest_first, NULL};
  Suite *s = suite_create("host_ui");
  api_tcase(s, "ui", 30, tests);
  return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL);
}
