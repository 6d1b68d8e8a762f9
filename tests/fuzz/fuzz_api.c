/*
 * fuzz_api.c -- fuzz target of agentrecoverd's request handling: the
 * router (host/router.c: authentication, the probes) and the admin API's
 * route table (host/api*.c) over the real service layer and store against
 * a real PostgreSQL 15 started once per process by the test harness
 * (library and host migrations, seeded with a user, an exchange whose
 * secret is known here, a pair and two agents), a manager over the
 * PostgreSQL repository and the in-memory lock, and the noop agent type --
 * so a request reaches the same SQL it reaches in the daemon.
 *
 * Input: up to 8 requests separated by a line "~~"; each request is lines
 * METHOD, PATH, AUTHORIZATION, LIMIT, AFTER, then the body (the rest; no
 * body line at all means no body).  An empty AUTHORIZATION line means the
 * API is served without authentication (ADMIN_AUTH=none); otherwise the
 * admin token is "tok", the read-only token "rtok", and the line is the
 * header.  Empty LIMIT / AFTER lines are absent query arguments.
 *
 * Checked for every response, beyond "no crash, no leak": a status of the
 * API's set and never 500 (a client's bytes must not become an internal
 * error); under /api/ a JSON object body, an "error" string on every
 * 4xx/5xx and no other key than "error", "field" and "request_id"; 401
 * exactly when the bearer token is wrong and 403 exactly when the read
 * token asks for more than GET (checked with independent comparisons);
 * the seeded exchange secret and key never in a body (an input's copies of
 * them are blanked before it runs: stored by one request, they could come
 * back to a later one without any leak).  Every 256 inputs and at exit, a
 * canary table must still
 * hold its row (no request executes SQL of its own).  Violations abort().
 * FUZZ_VERBOSE=1 prints every request and answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>
#include <libpq-fe.h>

#include "../host/router.h"
#include "../host/store.h"
#include "../host/strategies.h"
#include "agentrecover/memory.h"
#include "agentrecover/pg.h"
#include "support/harness.h"

#define MAX_REQS 8
#define TOKEN "tok"
#define READ_TOKEN "rtok"
#define SECRET "S3cr3t-fz-7f1c9a"
#define APIKEY "K3y-fz-2b8e4d"

static arec_test_pg g_pg;
static arec_pg *g_db, *g_admin;
static arec_memory_store *g_store;
static arec_manager *g_mgr;
static arec_host_store *g_host;
static arec_svc *g_svc;
static arec_host_state g_st;
static PGconn *g_check;
static arec_host_strategy_ctx g_strategies = {1000, NULL};
static unsigned long g_runs;
static int g_verbose; /* FUZZ_VERBOSE=1: print every request and answer */
static const unsigned char g_key[32] = {7,  1,  2,  3,  4,  5,  6,  7,
                                        8,  9,  10, 11, 12, 13, 14, 15,
                                        16, 17, 18, 19, 20, 21, 22, 23,
                                        24, 25, 26, 27, 28, 29, 30, 31};

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_api: %s\n%s\n", what, detail ? detail : "");
  abort();
}

static void nolog(void *ud, arec_log_level lv, const char *msg,
                  const arec_log_field *f, size_t n) {
  (void)ud;
  (void)lv;
  (void)msg;
  (void)f;
  (void)n;
}

static void check_canary(void) {
  PGresult *r = PQexec(g_check, "SELECT count(*) FROM fuzz_canary");
  int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
           strcmp(PQgetvalue(r, 0, 0), "1") == 0;
  PQclear(r);
  if (!ok)
    die("the canary table lost its row: some request ran SQL of its own",
        PQerrorMessage(g_check));
}

static void cleanup(void) {
  if (g_check)
    check_canary();
  arec_svc_free(g_svc);
  arec_manager_free(g_mgr); /* shuts down: stops and saves the runners */
  arec_host_store_free(g_host);
  arec_memory_store_free(g_store);
  arec_pg_free(g_admin);
  arec_pg_free(g_db);
  if (g_check)
    PQfinish(g_check);
  g_svc = NULL;
  g_mgr = NULL;
  g_host = NULL;
  g_store = NULL;
  g_admin = NULL;
  g_db = NULL;
  g_check = NULL;
}

/* ------------------------------------------------------------ one request */
/* Which token the header carries: 2 admin, 1 read, 0 none (independent of
 * the router's comparison). */
static int bearer(const char *h) {
  if (!h || strncasecmp(h, "Bearer ", 7) != 0)
    return 0;
  h += 7;
  while (*h == ' ')
    h++;
  return !strcmp(h, TOKEN) ? 2 : !strcmp(h, READ_TOKEN) ? 1 : 0;
}

static int is_get(const char *m) {
  return !strcmp(m, "GET") || !strcmp(m, "HEAD");
}

static void check_response(const arec_host_request *rq, const char *auth,
                           const arec_host_response *rs, int open,
                           const char *raw, size_t rawlen) {
  char ctx[1024];
  snprintf(ctx, sizeof ctx, "%.20s %.200s auth=%.40s body=%.300s -> %d %.150s",
           rq->method, rq->path, auth ? auth : "-",
           rq->body ? rq->body : "-", rs->status, rs->body ? rs->body : "-");
  if (g_verbose)
    fprintf(stderr, "fuzz_api: %s\n", ctx);
  switch (rs->status) {
  case 200: case 201: case 202: case 400: case 401: case 403: case 404:
  case 405: case 409: case 413: case 422: case 503:
    break;
  default:
    die("status outside the API's set (a 500 is a bug too)", ctx);
  }
  int api = !strcmp(rq->path, "/api") || !strncmp(rq->path, "/api/", 5);
  if (api) {
    if (!rs->body || !rs->content_type ||
        strcmp(rs->content_type, "application/json") != 0)
      die("no JSON body", ctx);
    cJSON *j = cJSON_Parse(rs->body);
    if (!cJSON_IsObject(j))
      die("body is not a JSON object", ctx);
    if (rs->status >= 400) {
      if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "error")))
        die("error status without an \"error\" string", ctx);
      for (const cJSON *f = j->child; f; f = f->next)
        if (strcmp(f->string, "error") && strcmp(f->string, "field") &&
            strcmp(f->string, "request_id"))
          die("an error body with another key", ctx);
    }
    cJSON_Delete(j);
    int who = open ? 2 : bearer(auth);
    if ((rs->status == 401) != (who == 0))
      die("401 does not match the bearer token", ctx);
    if ((rs->status == 403) != (who == 1 && !is_get(rq->method)))
      die("403 does not match the read token's limits", ctx);
  }
  (void)raw;
  (void)rawlen;
  if (rs->body && strstr(rs->body, SECRET))
    die("the exchange secret leaked into a response", ctx);
  if (rs->body && strstr(rs->body, APIKEY))
    die("the exchange key leaked into a response", ctx);
}

/* Runs one request text (NUL-terminated, may contain NULs: len). */
static void run_one(char *text, size_t len) {
  char *line[5];
  char *p = text, *end = text + len;
  size_t i = 0;
  for (; i < 5 && p <= end; i++) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    line[i] = p;
    if (!nl) {
      p = end + 1; /* no body */
      i++;
      break;
    }
    *nl = '\0';
    p = nl + 1;
  }
  for (; i < 5; i++)
    line[i] = "";
  int open = line[2][0] == 0;
  g_st.auth.none = open;
  g_st.auth.admin_token = open ? NULL : TOKEN;
  g_st.auth.read_token = open ? NULL : READ_TOKEN;
  arec_http_kv q[2];
  arec_host_request rq;
  memset(&rq, 0, sizeof rq);
  rq.method = line[0];
  rq.path = line[1];
  if (line[3][0])
    q[rq.nquery++] = (arec_http_kv){"limit", line[3]};
  if (line[4][0])
    q[rq.nquery++] = (arec_http_kv){"after", line[4]};
  rq.query = q;
  char *body = NULL;
  if (p <= end) {
    size_t bl = (size_t)(end - p);
    body = malloc(bl + 1);
    if (!body)
      return;
    memcpy(body, p, bl);
    body[bl] = '\0';
    rq.body = body;
    rq.body_len = bl;
    rq.body_too_large = bl > AREC_HOST_BODY_MAX;
  }
  arec_host_response rs;
  const char *auth = line[2][0] ? line[2] : NULL;
  arec_host_route(&g_st, &rq, auth, &rs);
  check_response(&rq, auth, &rs, open, text, len);
  free(rs.body);
  free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  /* no request may carry the seeded credentials (see the header) */
  const char *const creds[2] = {SECRET, APIKEY};
  for (int c = 0; c < 2; c++)
    for (char *hit; (hit = memmem(text, size, creds[c], strlen(creds[c])));)
      memset(hit, 'X', strlen(creds[c]));
  char *p = text, *end = text + size;
  for (int n = 0; n < MAX_REQS && p <= end; n++) {
    char *sep = memmem(p, (size_t)(end - p), "\n~~\n", 4);
    size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);
    p[len] = '\0';
    run_one(p, len);
    if (!sep)
      break;
    p = sep + 4;
  }
  free(text);
  if (++g_runs % 256 == 0)
    check_canary();
  return 0;
}

/* ------------------------------------------------------------------ setup */
static void seed(const char *method, const char *path, const char *body,
                 int want) {
  arec_host_request rq;
  arec_host_response rs;
  memset(&rq, 0, sizeof rq);
  rq.method = method;
  rq.path = path;
  rq.body = body;
  rq.body_len = body ? strlen(body) : 0;
  g_st.auth.none = 1;
  arec_host_route(&g_st, &rq, NULL, &rs);
  if (rs.status != want) {
    fprintf(stderr, "fuzz_api: seeding %s %s: %d %s\n", method, path,
            rs.status, rs.body ? rs.body : "");
    abort();
  }
  free(rs.body);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  g_verbose = getenv("FUZZ_VERBOSE") != NULL;
  if (arec_test_pg_start(&g_pg) != 0)
    die("cannot start PostgreSQL", NULL);
  atexit(cleanup); /* runs before the harness stops the server */
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.pool_size = 2;
  o.log = nolog;
  if (arec_pg_new(&g_db, &o) != 0 || arec_pg_migrate(g_db, NULL) != 0 ||
      arec_host_store_migrate(g_db, NULL) != 0)
    die("cannot migrate", arec_error_last());
  o.statement_timeout_ms = 5000;
  if (arec_pg_new(&g_admin, &o) != 0)
    die("cannot open the admin pool", arec_error_last());
  arec_repository *repo = NULL, *arepo = NULL;
  arec_lock *lock = NULL;
  if (arec_memory_store_new(&g_store) != 0 ||
      arec_pg_repository_new(&repo, g_db) != 0 ||
      arec_pg_repository_new(&arepo, g_admin) != 0 ||
      arec_memory_lock_new(&lock, g_store) != 0)
    die("cannot make the backends", arec_error_last());
  arec_manager_options mo = AREC_MANAGER_OPTIONS_INIT;
  mo.pod_name = "pod-fz";
  mo.lock_ttl_ms = 30000;
  mo.reconcile_interval_ms = 0;
  mo.workers = 2;
  mo.shutdown_timeout_ms = 5000;
  mo.log = nolog;
  mo.log_level = AREC_LOG_ERROR;
  if (arec_manager_new(&g_mgr, &mo, repo, lock) != 0)
    die("cannot make the manager", arec_error_last());
  if (arec_host_strategies_register(g_mgr, &g_strategies) != 0)
    die("cannot register the strategies", arec_error_last());
  if (arec_host_store_new(&g_host, g_admin, g_key, NULL, nolog, NULL) != 0)
    die("cannot open the store", arec_error_last());
  arec_svc_options so;
  memset(&so, 0, sizeof so);
  so.pg = g_admin;
  so.repo = arepo;
  so.mgr = g_mgr;
  so.store = g_host;
  so.pod = "pod-fz";
  so.log = nolog;
  if (arec_svc_new(&g_svc, &so) != 0)
    die("cannot make the service", arec_error_last());
  g_st.api.svc = g_svc;
  g_st.api.mgr = g_mgr;
  g_st.api.pod = "pod-fz";
  atomic_store(&g_st.ready, 1);

  seed("POST", "/api/users", "{\"id\": 1, \"name\": \"fuzzer\"}", 201);
  seed("POST", "/api/users/1/exchanges",
       "{\"exchange\": \"binance\", \"api_key\": \"" APIKEY
       "\", \"api_secret\": \"" SECRET "\", \"testnet\": true}",
       201);
  seed("POST", "/api/users/1/pairs",
       "{\"exchange_id\": 1, \"symbol\": \"BTC/USDT\"}", 201);
  seed("POST", "/api/agents",
       "{\"user_id\": 1, \"strategy\": \"noop\", \"name\": \"one\", "
       "\"id\": \"fz-a1\"}",
       201);
  seed("POST", "/api/agents/fz-a1/assign",
       "{\"symbol\": \"BTC/USDT\", \"balance\": 100}", 201);
  seed("POST", "/api/agents",
       "{\"user_id\": 1, \"strategy\": \"noop\", \"name\": \"two\", "
       "\"id\": \"fz-a2\"}",
       201);

  g_check = PQconnectdb(g_pg.conninfo);
  if (PQstatus(g_check) != CONNECTION_OK)
    die("cannot connect the canary check", PQerrorMessage(g_check));
  PGresult *r = PQexec(g_check, "CREATE TABLE fuzz_canary (x int); "
                                "INSERT INTO fuzz_canary VALUES (1)");
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    die("cannot make the canary", PQerrorMessage(g_check));
  PQclear(r);
  return 0;
}
