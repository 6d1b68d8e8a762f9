/*
 * test_ctl.c -- build/agentrecoverctl against two real build/agentrecoverd
 * pods (ADMIN_TOKEN set; started by the shared process harness,
 * tests/support/daemon.c) on a throwaway PostgreSQL 15 and redis-server.
 * Data is created through the admin API with libcurl; the CLI runs as a
 * child process with its own environment.
 *
 * What is checked: every command's table (header, columns as wide as their
 * widest cell, two spaces apart, no trailing spaces, each cell equal to the
 * server's value) and --json output (the server's document, or for agents
 * and audit the concatenated pages); 250 agents come back complete through
 * keyset pages; exit 1 for 404, 409, 401 (wrong or no token), a refused
 * connection and a server that never answers (after the 30 s total
 * timeout), with the server's message; exit 2 for usage errors without a
 * request; the token never appears on stdout or stderr (checked on every
 * run, --verbose included).  audit and strategies need GET /api/audit and
 * GET /api/strategies on the daemon.
 */
#include <arpa/inet.h>
#include <check.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentrecover/pg.h"
#include "support/daemon.h"
#include "support/harness.h"

#define TOKEN "ctl-admin-token-Zq8RkP3v"
/* The CLI gives up after 5 s + 30 s; a run longer than this is a hang. */
#define CTL_RUN_MAX_MS 45000

static arec_test_pg g_pg;
static arec_test_redis g_redis;
static char g_ctl[PATH_MAX], g_dir[64];
static char g_url[64];

static const char *const g_names[2] = {"ctl-pod-a", "ctl-pod-b"};
static arec_test_daemon g_pods[2];

static void sleep_ms(long ms) { arec_test_sleep_ms(ms); }

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  size_t cap = 4096, len = 0, r;
  char *b = malloc(cap);
  while (f && (r = fread(b + len, 1, cap - len - 1, f)) > 0) {
    len += r;
    if (len + 1 == cap) b = realloc(b, cap *= 2);
  }
  if (f) fclose(f);
  b[len] = 0;
  return b;
}

/* ------------------------------------------------------------- the pods */
/* Two pods through the shared harness (tests/support/daemon.c): their
 * environment is theirs alone, nothing of this process's. */
static int start_pod(int i) {
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, NULL, &g_redis, g_names[i], arec_test_port());
  arec_test_env_set(&e, "ADMIN_TOKEN=%s", TOKEN);
  arec_test_env_set(&e, "AGENT_FAIR_SHARE=false");
  int rc = arec_test_daemon_start(&g_pods[i], g_names[i], &e, NULL);
  arec_test_env_free(&e);
  return rc == 0 && arec_test_daemon_ready(&g_pods[i], 20000) ? 0 : -1;
}

/* ------------------------------------------------- the API, with libcurl */
static size_t on_body(char *d, size_t s, size_t n, void *ud) {
  char **b = ud;
  size_t old = *b ? strlen(*b) : 0;
  *b = realloc(*b, old + s * n + 1);
  memcpy(*b + old, d, s * n);
  (*b)[old + s * n] = 0;
  return s * n;
}

/* METHOD on pod a (or a full URL) with the token; the status, *out (may be
 * NULL) the body. */
static long api(const char *method, const char *path, const char *body,
                char **out) {
  static CURL *h; /* one per process: kept-alive while seeding */
  if (!h) h = curl_easy_init();
  char url[512], *b = NULL;
  snprintf(url, sizeof url, "%s%s", strncmp(path, "http", 4) ? g_url : "",
           path);
  struct curl_slist *hd = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
  hd = curl_slist_append(hd, "Content-Type: application/json");
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  if (!strcmp(method, "POST"))
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
  long status = -1;
  if (curl_easy_perform(h) == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hd);
  if (out)
    *out = b ? b : strdup("");
  else
    free(b);
  return status;
}

static void post_ok(const char *path, const char *body, long want) {
  char *out = NULL;
  long s = api("POST", path, body, &out);
  ck_assert_msg(s == want, "POST %s %s -> %ld %s", path, body ? body : "", s,
                out);
  free(out);
}

static cJSON *get_json(const char *path) {
  char *out = NULL;
  long s = api("GET", path, NULL, &out);
  ck_assert_msg(s == 200, "GET %s -> %ld %s", path, s, out);
  cJSON *j = cJSON_Parse(out);
  free(out);
  ck_assert_ptr_nonnull(j);
  return j;
}

/* User uid with an exchange and pairs for syms (NULL-terminated). */
static void seed_user(long long uid, const char *const *syms) {
  char path[128], body[256], *out = NULL;
  snprintf(body, sizeof body, "{\"id\": %lld, \"name\": \"ctl user\"}", uid);
  post_ok("/api/users", body, 201);
  snprintf(path, sizeof path, "/api/users/%lld/exchanges", uid);
  ck_assert_int_eq(api("POST", path, "{\"exchange\": \"binance\", \"api_key\": "
                       "\"k\", \"api_secret\": \"s\", \"testnet\": true}", &out),
                   201);
  cJSON *j = cJSON_Parse(out);
  long long exid = (long long)cJSON_GetObjectItem(j, "id")->valuedouble;
  cJSON_Delete(j);
  free(out);
  snprintf(path, sizeof path, "/api/users/%lld/pairs", uid);
  for (size_t i = 0; syms && syms[i]; i++) {
    snprintf(body, sizeof body, "{\"exchange_id\": %lld, \"symbol\": \"%s\"}",
             exid, syms[i]);
    post_ok(path, body, 201);
  }
}

/* Agent id of uid, assigned "SYM=BALANCE" pairs (NULL-terminated). */
static void seed_agent(long long uid, const char *id, const char *const *as) {
  char path[128], body[256];
  snprintf(body, sizeof body, "{\"user_id\": %lld, \"strategy\": \"noop\", "
           "\"name\": \"agent %s\", \"id\": \"%s\"}", uid, id, id);
  post_ok("/api/agents", body, 201);
  snprintf(path, sizeof path, "/api/agents/%s/assign", id);
  for (size_t i = 0; as && as[i]; i++) {
    const char *eq = strchr(as[i], '=');
    snprintf(body, sizeof body, "{\"symbol\": \"%.*s\", \"balance\": %s}",
             (int)(eq - as[i]), as[i], eq + 1);
    post_ok(path, body, 201);
  }
}

/* ----------------------------------------------------------- running it */
typedef struct run {
  int code; /* exit status, -1 killed */
  char *out, *err;
} run;

static void run_free(run *r) {
  free(r->out);
  free(r->err);
}

/* Runs the CLI with AGENTRECOVER_URL=url (NULL: pod a) and
 * AGENTRECOVER_TOKEN=token (NULL: the admin token, "": unset) and the
 * arguments (NULL-terminated); asserts the exit status `want` and that the
 * admin token is on neither output. */
static run ctl_env(int want, const char *url, const char *token,
                   const char *arg, ...) {
  const char *argv[40] = {g_ctl};
  int argc = 1;
  va_list ap;
  va_start(ap, arg);
  for (const char *a = arg; a && argc < 39; a = va_arg(ap, const char *))
    argv[argc++] = a;
  va_end(ap);
  char eu[600], et[600], fo[128], fe[128];
  snprintf(eu, sizeof eu, "AGENTRECOVER_URL=%s", url ? url : g_url);
  snprintf(et, sizeof et, "AGENTRECOVER_TOKEN=%s", token ? token : TOKEN);
  char *envp[] = {"PATH=/usr/bin:/bin", eu, token && !*token ? NULL : et, NULL};
  snprintf(fo, sizeof fo, "%s/out.%d", g_dir, (int)getpid());
  snprintf(fe, sizeof fe, "%s/err.%d", g_dir, (int)getpid());
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(fo, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(fe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    execve(g_ctl, (char *const *)argv, envp);
    _exit(127);
  }
  run r = {-1, NULL, NULL};
  int st = 0;
  long long end = arec_test_now_ms() + CTL_RUN_MAX_MS;
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (arec_test_now_ms() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      break;
    }
    sleep_ms(5);
  }
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(fo);
  r.err = slurp(fe);
  ck_assert_msg(!strstr(r.out, TOKEN) && !strstr(r.err, TOKEN),
                "the token was printed (stdout or stderr)");
  char cmd[256] = "";
  for (int i = 1; i < argc; i++)
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", argv[i]);
  ck_assert_msg(r.code == want, "agentrecoverctl%s: exit %d, want %d: %s", cmd,
                r.code, want, r.err);
  return r;
}
#define ctl(want, ...) ctl_env(want, NULL, NULL, __VA_ARGS__, (const char *)NULL)

/* A failing run: exit `want`, nothing on stdout, `msg` on stderr. */
static void fails(int want, const char *msg, const char *url,
                  const char *token, const char *a1, const char *a2,
                  const char *a3) {
  run r = ctl_env(want, url, token, a1, a2, a3, (const char *)NULL);
  ck_assert_str_eq(r.out, "");
  ck_assert_msg(strstr(r.err, msg) != NULL, "'%s' not in: %s", msg, r.err);
  run_free(&r);
}

/* The --json output of a successful run (up to 5 arguments): one line,
 * parsed. */
static cJSON *ctl_json_v(const char *const *a) {
  const char *x[6] = {0};
  for (int i = 0; i < 5 && a[i]; i++) x[i] = a[i];
  run r = ctl_env(0, NULL, NULL, "--json", x[0], x[1], x[2], x[3], x[4],
                  (const char *)NULL);
  ck_assert_msg(strchr(r.out, '\n') == r.out + strlen(r.out) - 1, "%s", r.out);
  cJSON *j = cJSON_Parse(r.out);
  ck_assert_msg(j != NULL, "not JSON: %s", r.out);
  run_free(&r);
  return j;
}
#define ctl_json(...) ctl_json_v((const char *[]){__VA_ARGS__, NULL})

/* ------------------------------------------------------ reading tables */
/* The cells of a table (row 0: the header) after asserting its layout: the
 * header cells in order (head NULL: a two-column table without header),
 * every column starting where its header does with two spaces before it,
 * at least one cell of each column filling it exactly, no empty cell and
 * no trailing space. */
typedef struct table {
  int rows, cols;
  char **cell; /* rows * cols */
} table;

static table parse_table(const char *text, const char *const *head, int cols) {
  table t = {0, cols, NULL};
  int start[16] = {0}, tight[16] = {0};
  for (int c = 0, pos = 0; c < cols; c++) {
    size_t hl = head ? strlen(head[c]) : strcspn(text, " ");
    ck_assert_msg(!head || !strncmp(text + pos, head[c], hl), "%s in:\n%s",
                  head ? head[c] : "", text);
    start[c] = pos;
    pos += (int)hl;
    while (text[pos] == ' ') pos++;
  }
  for (const char *l = text; *l;) {
    const char *nl = strchr(l, '\n');
    ck_assert_msg(nl != NULL, "unterminated line in:\n%s", text);
    int len = (int)(nl - l);
    ck_assert_msg(len > 0 && l[len - 1] != ' ', "trailing space:\n%s", text);
    t.cell = realloc(t.cell, sizeof(char *) * (size_t)((t.rows + 1) * cols));
    for (int c = 0; c < cols; c++) {
      int s = start[c], e = c + 1 < cols ? start[c + 1] - 2 : len;
      ck_assert_msg(len > s && l[s] != ' ', "column %d misplaced in:\n%s", c,
                    text);
      if (c > 0)
        ck_assert_msg(l[s - 1] == ' ' && l[s - 2] == ' ', "no gap:\n%s", text);
      int ce = e < len ? e : len;
      while (ce > s && l[ce - 1] == ' ') ce--;
      if (c + 1 < cols && ce == e) tight[c] = 1;
      t.cell[t.rows * cols + c] = strndup(l + s, (size_t)(ce - s));
    }
    t.rows++;
    l = nl + 1;
  }
  for (int c = 0; c + 1 < cols; c++)
    ck_assert_msg(tight[c], "column %d wider than its cells:\n%s", c, text);
  return t;
}

static const char *cell(const table *t, int row, int col) {
  return t->cell[row * t->cols + col];
}

static void table_free(table *t) {
  for (int i = 0; i < t->rows * t->cols; i++) free(t->cell[i]);
  free(t->cell);
}

/* A JSON value as a table shows it (an array: the agent's symbols). */
static void as_cell(const cJSON *v, char *buf, size_t n) {
  buf[0] = 0;
  if (cJSON_IsString(v)) {
    snprintf(buf, n, "%s", v->valuestring);
  } else if (cJSON_IsBool(v)) {
    snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
  } else if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if (d == (double)(long long)d)
      snprintf(buf, n, "%lld", (long long)d);
    else
      snprintf(buf, n, "%.15g", d);
  } else if (cJSON_IsArray(v)) {
    const cJSON *s;
    cJSON_ArrayForEach(s, v) {
      if (buf[0]) strncat(buf, ",", n - strlen(buf) - 1);
      strncat(buf, cJSON_GetObjectItem(s, "symbol")->valuestring,
              n - strlen(buf) - 1);
    }
  }
  if (!buf[0]) snprintf(buf, n, "-"); /* null, missing, no symbols */
}

/* Row `row` of t shows the `keys` of obj (a NULL key: not compared). */
static void assert_row(const table *t, int row, const cJSON *obj,
                       const char *const *keys) {
  for (int c = 0; c < t->cols; c++) {
    char want[512];
    if (!keys[c]) continue;
    as_cell(cJSON_GetObjectItem(obj, keys[c]), want, sizeof want);
    ck_assert_msg(!strcmp(cell(t, row, c), want), "row %d %s: '%s' != '%s'",
                  row, keys[c], cell(t, row, c), want);
  }
}

static const char *const AGENT_HEAD[] = {
    "ID", "USER_ID", "NAME", "STRATEGY", "ACTIVE", "TRADING", "RUNNING_ON",
    "FENCE", "SYMBOLS", "UPDATED_AT"};
static const char *const AGENT_KEYS[] = {
    "id", "user_id", "name", "strategy", "is_active", "is_trading",
    "running_on", "fence", "symbols", "updated_at"};
static const char *const SYMS[] = {"BTC/USDT", "ETH/USDT", NULL};

/* ------------------------------------------------------------------ tests */
START_TEST(pods_table_and_json) {
  run r = ctl(0, "pods");
  cJSON *srv = get_json("/api/pods");
  const cJSON *pods = cJSON_GetObjectItem(srv, "pods");
  const char *const head[] = {"NAME", "INCARNATION", "LEASE_UNTIL", "AGENTS"};
  const char *const keys[] = {"name", "incarnation", NULL, NULL};
  table t = parse_table(r.out, head, 4);
  ck_assert_int_eq(t.rows - 1, 2);
  ck_assert_int_eq(cJSON_GetArraySize(pods), 2);
  for (int i = 1; i < t.rows; i++) { /* leases move on, counts may change */
    assert_row(&t, i, cJSON_GetArrayItem(pods, i - 1), keys);
    ck_assert_msg(!strncmp(cell(&t, i, 2), "20", 2), "%s", cell(&t, i, 2));
    ck_assert_int_ge(atoi(cell(&t, i, 3)), 0);
  }
  table_free(&t);
  run_free(&r);
  cJSON *j = ctl_json("pods");
  const cJSON *jp = cJSON_GetObjectItem(j, "pods");
  ck_assert_int_eq(cJSON_GetArraySize(jp), 2);
  for (int i = 0; i < 2; i++)
    ck_assert(cJSON_Compare(cJSON_GetObjectItem(cJSON_GetArrayItem(jp, i), "name"),
                            cJSON_GetObjectItem(cJSON_GetArrayItem(pods, i), "name"), 1));
  cJSON_Delete(j);
  cJSON_Delete(srv);
}
END_TEST

START_TEST(agents_and_agent) {
  seed_user(7001, SYMS);
  const char *a1[] = {"BTC/USDT=500", "ETH/USDT=1250", NULL};
  const char *a2[] = {"ETH/USDT=12.5", NULL};
  seed_agent(7001, "ctl-u-a", a1);
  seed_agent(7001, "ctl-u-b", a2);
  seed_agent(7001, "ctl-u-c", NULL);
  cJSON *srv[3] = {get_json("/api/agents/ctl-u-a"),
                   get_json("/api/agents/ctl-u-b"),
                   get_json("/api/agents/ctl-u-c")};
  run r = ctl(0, "agents", "--user", "7001");
  table t = parse_table(r.out, AGENT_HEAD, 10);
  ck_assert_int_eq(t.rows, 4);
  for (int i = 0; i < 3; i++) assert_row(&t, i + 1, srv[i], AGENT_KEYS);
  ck_assert_str_eq(cell(&t, 1, 8), "BTC/USDT,ETH/USDT");
  ck_assert_str_eq(cell(&t, 3, 6), "-");
  table_free(&t);
  run_free(&r);
  cJSON *arr = ctl_json("agents", "--user=7001");
  ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
  for (int i = 0; i < 3; i++)
    ck_assert(cJSON_Compare(cJSON_GetArrayItem(arr, i), srv[i], 1));
  cJSON_Delete(arr);
  arr = ctl_json("agents", "--user", "7001", "--limit", "2");
  ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
  cJSON_Delete(arr);

  /* agent ID: "key  value" lines in the server's order, then the symbols */
  r = ctl(0, "agent", "ctl-u-a");
  char *blank = strstr(r.out, "\n\n");
  ck_assert_ptr_nonnull(blank);
  blank[1] = 0;
  t = parse_table(r.out, NULL, 2);
  const cJSON *f;
  int row = 0;
  cJSON_ArrayForEach(f, srv[0]) {
    const char *kv[2] = {" key", f->string};
    cJSON *o = cJSON_Duplicate(srv[0], 1);
    cJSON_AddStringToObject(o, " key", f->string);
    ck_assert_int_lt(row, t.rows);
    assert_row(&t, row++, o, kv);
    cJSON_Delete(o);
  }
  ck_assert_int_eq(row, t.rows);
  table_free(&t);
  const char *const sh[] = {"SYMBOL", "BUDGET", "BALANCE", "FENCE", "UPDATED_AT"};
  const char *const sk[] = {"symbol", "budget", "balance", "fence", "updated_at"};
  t = parse_table(blank + 2, sh, 5);
  ck_assert_int_eq(t.rows - 1, 2);
  for (int i = 0; i < 2; i++)
    assert_row(&t, i + 1, cJSON_GetArrayItem(cJSON_GetObjectItem(srv[0], "symbols"), i), sk);
  table_free(&t);
  run_free(&r);
  /* --json: the server's document as it came */
  r = ctl(0, "agent", "ctl-u-b", "--json");
  char *body = NULL;
  ck_assert_int_eq(api("GET", "/api/agents/ctl-u-b", NULL, &body), 200);
  ck_assert_int_eq(strlen(r.out), strlen(body) + 1);
  ck_assert(!strncmp(r.out, body, strlen(body)) && r.out[strlen(body)] == '\n');
  free(body);
  run_free(&r);
  for (int i = 0; i < 3; i++) cJSON_Delete(srv[i]);
}
END_TEST

START_TEST(agents_pages_through_250) {
  seed_user(7002, NULL);
  for (int i = 0; i < 250; i++) {
    char id[32];
    snprintf(id, sizeof id, "ctl-p-%03d", i);
    seed_agent(7002, id, NULL);
  }
  run r = ctl(0, "-v", "agents", "--user", "7002", "--json");
  cJSON *arr = cJSON_Parse(r.out);
  ck_assert_int_eq(cJSON_GetArraySize(arr), 250);
  char seen[250] = {0};
  const cJSON *a;
  cJSON_ArrayForEach(a, arr) {
    int k = -1;
    ck_assert_int_eq(sscanf(cJSON_GetObjectItem(a, "id")->valuestring,
                            "ctl-p-%d", &k), 1);
    ck_assert(k >= 0 && k < 250 && !seen[k]);
    seen[k] = 1;
  }
  cJSON_Delete(arr);
  /* keyset pages: the first without a cursor, every other after one */
  int gets = 0, afters = 0;
  for (const char *p = r.err; (p = strstr(p, "> GET ")) != NULL; p++) {
    const char *af = strstr(p, "after=");
    gets++;
    afters += af && af < strchr(p, '\n');
  }
  ck_assert_int_ge(gets, 3);
  ck_assert_int_eq(afters, gets - 1);
  ck_assert_ptr_nonnull(strstr(r.err, "(bearer token set)"));
  run_free(&r);

  /* every agent of every user, each once */
  arr = ctl_json("agents");
  char *cnt = NULL, want[32];
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "SELECT count(*), count(DISTINCT "
                                    "id) FROM agent_configs", &cnt), 0);
  snprintf(want, sizeof want, "%d|%d", cJSON_GetArraySize(arr),
           cJSON_GetArraySize(arr));
  ck_assert_msg(!strncmp(cnt, want, strlen(want)), "db %s, cli %s", cnt, want);
  free(cnt);
  cJSON_Delete(arr);
  r = ctl(0, "agents", "--user", "7002");
  table t = parse_table(r.out, AGENT_HEAD, 10);
  ck_assert_int_eq(t.rows, 251);
  table_free(&t);
  run_free(&r);
  arr = ctl_json("agents", "--limit", "7");
  ck_assert_int_eq(cJSON_GetArraySize(arr), 7);
  cJSON_Delete(arr);
}
END_TEST

START_TEST(start_stop_migrate) {
  seed_user(7003, SYMS);
  const char *as[] = {"BTC/USDT=100", NULL};
  seed_agent(7003, "ctl-ss-1", as);
  seed_agent(7003, "ctl-nosym", NULL);
  run r = ctl(0, "start", "ctl-ss-1");
  ck_assert_str_eq(r.out, "ID        RUNNING_ON\nctl-ss-1  ctl-pod-a\n");
  run_free(&r);
  cJSON *j = ctl_json("start", "ctl-ss-1");
  ck_assert_str_eq(cJSON_GetObjectItem(j, "running_on")->valuestring,
                   "ctl-pod-a");
  cJSON_Delete(j);
  r = ctl(0, "migrate", "ctl-ss-1", "ctl-pod-b");
  ck_assert_str_eq(r.out, "ID        TO         STATUS\n"
                          "ctl-ss-1  ctl-pod-b  migrating\n");
  run_free(&r);
  /* the service's reason, which names the pod (and no database internal) */
  run m = ctl_env(1, NULL, NULL, "migrate", "ctl-ss-1", "ctl-pod-gone",
                  (const char *)NULL);
  ck_assert_str_eq(m.out, "");
  ck_assert_msg(strstr(m.err, "HTTP 409: cannot migrate") &&
                    strstr(m.err, "ctl-pod-gone") && !strstr(m.err, "pg:"),
                "%s", m.err);
  run_free(&m);
  r = ctl(0, "stop", "ctl-ss-1");
  ck_assert_str_eq(r.out, "ID        IS_TRADING\nctl-ss-1  false\n");
  run_free(&r);
  fails(1, "has no symbols or is disabled", NULL, NULL,
        "start", "ctl-nosym", NULL);
}
END_TEST

START_TEST(request_failures_exit_1) {
  fails(1, "GET /api/agents/ctl-nope: HTTP 404: agent not found", NULL, NULL,
        "agent", "ctl-nope", NULL);
  fails(1, "HTTP 401: missing or wrong bearer token", NULL, "wrong-token-77",
        "-v", "pods", NULL);
  fails(1, "HTTP 401", NULL, "", "agents", NULL, NULL);
  char refused[64];
  snprintf(refused, sizeof refused, "http://127.0.0.1:%d", arec_test_free_port());
  fails(1, "Couldn't connect", refused, NULL, "-v", "pods", NULL);
  /* a wrong token is not printed either */
  run r = ctl_env(1, NULL, "wrong-token-77", "-v", "pods", (const char *)NULL);
  ck_assert(!strstr(r.err, "wrong-token-77") && !strstr(r.out, "wrong-token-77"));
  run_free(&r);
  /* the token from a file, none in the environment */
  char tf[128];
  snprintf(tf, sizeof tf, "%s/token", g_dir);
  FILE *f = fopen(tf, "w");
  fputs("  " TOKEN "\n", f);
  fclose(f);
  r = ctl_env(0, NULL, "", "--token-file", tf, "-v", "pods", (const char *)NULL);
  run_free(&r);
}
END_TEST

/* A server that accepts the connection and never answers: the request
 * gives up after the total timeout of 30 s. */
START_TEST(silent_server_times_out_exit_1) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(fd, 8), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
  long long t0 = arec_test_now_ms();
  fails(1, "timed out", url, NULL, "pods", NULL, NULL);
  long long took = arec_test_now_ms() - t0;
  ck_assert_msg(took >= 30000 && took < 30000 + 5000, "took %lld ms", took);
  close(fd);
}
END_TEST

static const char *const bad_usage[][5] = {
    {NULL}, {"bogus"}, {"agent"}, {"agent", "a/b"}, {"agent", "../etc"},
    {"agent", "x%2fy"}, {"agent", "start"}, {"agent", "a", "b"},
    {"agent", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    {"start"}, {"stop", "x y"}, {"migrate", "a"}, {"migrate", "a", "bad pod"},
    {"migrate", "a", "p/q"}, {"agents", "--user", "0"},
    {"agents", "--user", "-1"}, {"agents", "--user", "7x"},
    {"agents", "--limit", "0"}, {"agents", "--limit", "1001"},
    {"agents", "--limit"}, {"audit", "--after", "a b"},
    {"audit", "--limit", "x"}, {"pods", "--user", "3"}, {"pods", "--bogus"},
    {"pods", "extra"}, {"--url", "ftp://127.0.0.1/", "pods"},
    {"--url", "http://user:pw@127.0.0.1:1", "pods"},
    {"--url", "not a url", "pods"},
    {"--token-file", "/nonexistent/token", "pods"},
};

/* Usage errors exit 2 before any request: the server is unreachable, so a
 * request would exit 1, and --verbose would show it. */
START_TEST(usage_errors_exit_2) {
  const char *const *a = bad_usage[_i];
  char refused[64];
  snprintf(refused, sizeof refused, "http://127.0.0.1:%d", arec_test_free_port());
  /* the rows end with NULLs: the arguments stop at the first */
  run r = ctl_env(2, refused, NULL, "-v", a[0], a[1], a[2], a[3],
                  (const char *)NULL);
  ck_assert_str_eq(r.out, "");
  ck_assert_ptr_nonnull(strstr(r.err, "agentrecoverctl"));
  ck_assert_ptr_null(strstr(r.err, "> "));
  run_free(&r);
}
END_TEST

START_TEST(bad_token_exits_2_unprinted) {
  fails(2, "AGENTRECOVER_TOKEN contains spaces or control characters", NULL,
        "abc\x1b[31mdef", "pods", NULL, NULL);
  run r = ctl_env(2, NULL, "abc\x1b[31mdef", "pods", (const char *)NULL);
  ck_assert_ptr_null(strstr(r.err, "abc"));
  run_free(&r);
}
END_TEST

START_TEST(help_and_version) {
  run r = ctl(0, "--help");
  const char *words[] = {"Usage: agentrecoverctl", "pods", "agents", "agent ID",
                         "start ID", "stop ID", "migrate ID POD", "audit",
                         "strategies", "--json", "--url", "--token-file"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    ck_assert_msg(strstr(r.out, words[i]) != NULL, "%s", words[i]);
  run_free(&r);
  r = ctl(0, "-h");
  run_free(&r);
  r = ctl(0, "--version");
  ck_assert_msg(!strncmp(r.out, "agentrecoverctl ", 16) &&
                    r.out[16] >= '0' && r.out[16] <= '9', "%s", r.out);
  run_free(&r);
}
END_TEST

/* GET /api/audit: {"events": [{id, time, actor, action, agent_id, user_id,
 * result}], "next": cursor}. */
START_TEST(audit_table_json_and_paging) {
  seed_user(7004, SYMS);
  const char *as[] = {"ETH/USDT=50", NULL};
  seed_agent(7004, "ctl-aud-1", as);
  for (int i = 0; i < 2; i++) { /* four admin actions on the agent */
    run r = ctl(0, "start", "ctl-aud-1");
    run_free(&r);
    r = ctl(0, "stop", "ctl-aud-1");
    run_free(&r);
  }
  cJSON *all = ctl_json("audit");
  int n = cJSON_GetArraySize(all), mine = 0;
  ck_assert_int_ge(n, 4);
  const char *const head[] = {"ID", "TIME", "ACTOR", "ACTION", "AGENT_ID",
                              "USER_ID", "RESULT"};
  const char *const keys[] = {"id", "time", "actor", "action", "agent_id",
                              "user_id", "result"};
  const cJSON *e;
  cJSON_ArrayForEach(e, all) {
    for (int k = 0; k < 7; k++)
      ck_assert_ptr_nonnull(cJSON_GetObjectItem(e, keys[k]));
    const cJSON *ag = cJSON_GetObjectItem(e, "agent_id");
    mine += cJSON_IsString(ag) && !strcmp(ag->valuestring, "ctl-aud-1");
  }
  ck_assert_int_ge(mine, 4);
  run r = ctl(0, "audit");
  table t = parse_table(r.out, head, 7);
  ck_assert_int_ge(t.rows - 1, n); /* events may be added meanwhile */
  for (int i = 0; i < n; i++) {
    char id[64];
    int row = 1;
    as_cell(cJSON_GetObjectItem(cJSON_GetArrayItem(all, i), "id"), id, 64);
    while (row < t.rows && strcmp(cell(&t, row, 0), id)) row++;
    ck_assert_msg(row < t.rows, "event %s not in:\n%s", id, r.out);
    assert_row(&t, row, cJSON_GetArrayItem(all, i), keys);
  }
  table_free(&t);
  run_free(&r);
  /* one event, then the one after it, and the hint to read on */
  char first[64], second[64];
  as_cell(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 0), "id"), first, 64);
  as_cell(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 1), "id"), second, 64);
  cJSON *one = ctl_json("audit", "--limit", "1");
  ck_assert_int_eq(cJSON_GetArraySize(one), 1);
  ck_assert(cJSON_Compare(cJSON_GetArrayItem(one, 0), cJSON_GetArrayItem(all, 0), 1));
  cJSON_Delete(one);
  r = ctl(0, "audit", "--after", first, "--limit", "1");
  t = parse_table(r.out, head, 7);
  ck_assert_int_eq(t.rows, 2);
  ck_assert_str_eq(cell(&t, 1, 0), second);
  ck_assert_ptr_nonnull(strstr(r.err, "audit --after"));
  table_free(&t);
  run_free(&r);
  cJSON_Delete(all);
}
END_TEST

/* GET /api/strategies: the strategy names (the daemon registers "noop"). */
START_TEST(strategies_table_and_json) {
  cJSON *doc = ctl_json("strategies"), *list = doc;
  if (!cJSON_IsArray(list)) list = cJSON_GetObjectItem(doc, "strategies");
  ck_assert(cJSON_IsArray(list));
  run r = ctl(0, "strategies");
  const char *const head[] = {"NAME"};
  table t = parse_table(r.out, head, 1);
  ck_assert_int_eq(t.rows - 1, cJSON_GetArraySize(list));
  int noop = 0;
  for (int i = 1; i < t.rows; i++) {
    const cJSON *s = cJSON_GetArrayItem(list, i - 1);
    if (cJSON_IsObject(s)) s = cJSON_GetObjectItem(s, "name");
    ck_assert_str_eq(cell(&t, i, 0), s->valuestring);
    noop += !strcmp(cell(&t, i, 0), "noop");
  }
  ck_assert_int_eq(noop, 1);
  table_free(&t);
  cJSON_Delete(doc);
  run_free(&r);
}
END_TEST

int main(void) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return EXIT_FAILURE;
  self[n] = 0;
  snprintf(g_ctl, sizeof g_ctl, "%s/../agentrecoverctl", dirname(self));
  if (access(arec_test_daemon_path(), X_OK) != 0 || access(g_ctl, X_OK) != 0) {
    fprintf(stderr, "test_ctl: %s or %s not built\n", arec_test_daemon_path(),
            g_ctl);
    return EXIT_FAILURE;
  }
  snprintf(g_dir, sizeof g_dir, "%s", arec_test_logdir());
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (arec_test_pg_start_migrated(&g_pg) != 0 ||
      arec_test_redis_start(&g_redis) != 0)
    return EXIT_FAILURE;
  for (int i = 0; i < 2; i++)
    if (start_pod(i) != 0) {
      fprintf(stderr, "test_ctl: %s not ready (log in %s)\n", g_names[i],
              g_dir);
      arec_test_keep_logs();
      return EXIT_FAILURE;
    }
  snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d", g_pods[0].port);

  Suite *s = suite_create("ctl");
  TCase *tc = tcase_create("cli");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, pods_table_and_json);
  tcase_add_test(tc, agents_and_agent);
  tcase_add_test(tc, agents_pages_through_250);
  tcase_add_test(tc, start_stop_migrate);
  tcase_add_test(tc, request_failures_exit_1);
  tcase_add_loop_test(tc, usage_errors_exit_2, 0,
                      (int)(sizeof bad_usage / sizeof *bad_usage));
  tcase_add_test(tc, bad_token_exits_2_unprinted);
  tcase_add_test(tc, help_and_version);
  suite_add_tcase(s, tc);
  TCase *tt = tcase_create("timeout");
  tcase_set_timeout(tt, 60);
  tcase_add_test(tt, silent_server_times_out_exit_1);
  suite_add_tcase(s, tt);
  TCase *tn = tcase_create("audit_and_strategies");
  tcase_set_timeout(tn, 60);
  tcase_add_test(tn, audit_table_json_and_paging);
  tcase_add_test(tn, strategies_table_and_json);
  suite_add_tcase(s, tn);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  for (int i = 0; i < 2; i++) arec_test_daemon_term(&g_pods[i], 10000);
  if (failed) arec_test_keep_logs();
  arec_test_redis_stop(&g_redis);
  arec_test_pg_stop(&g_pg);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
