/*
 * test_ctl_fixture.h -- shared by the tests of agentrecoverctl
 * (test_ctl.c: tables, JSON and pages against two pods; test_ctl_errors.c:
 * exit codes, usage, the token): the pods on the shared process harness
 * (tests/support/daemon.c) over a throwaway PostgreSQL 15 and
 * redis-server, the admin API through libcurl for seeding and comparing,
 * the CLI run as a child with its own environment (the admin token never
 * on its output), and a reader of its tables.  Header-only (static
 * functions): each binary includes it once.
 */
#ifndef AREC_TEST_CTL_FIXTURE_H
#define AREC_TEST_CTL_FIXTURE_H

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
#include "support/runner.h"

#define CTL_UNUSED __attribute__((unused))

#define TOKEN "ctl-admin-token-Zq8RkP3v"
/* The CLI gives up after 5 s + 30 s; a run longer than this is a hang. */
#define CTL_RUN_MAX_MS 45000

static arec_test_pg g_pg;
static arec_test_redis g_redis;
static char g_ctl[PATH_MAX], g_dir[64];
static char g_url[64];

static const char *const g_names[2] = {"ctl-pod-a", "ctl-pod-b"};
static arec_test_daemon g_pods[2];

static CTL_UNUSED void sleep_ms(long ms) { arec_test_sleep_ms(ms); }

static CTL_UNUSED char *slurp(const char *path) {
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
static CTL_UNUSED int start_pod(int i) {
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, NULL, &g_redis, g_names[i], arec_test_port());
  arec_test_env_set(&e, "ADMIN_TOKEN=%s", TOKEN);
  arec_test_env_set(&e, "AGENT_FAIR_SHARE=false");
  int rc = arec_test_daemon_start(&g_pods[i], g_names[i], &e, NULL);
  arec_test_env_free(&e);
  return rc == 0 && arec_test_daemon_ready(&g_pods[i], 20000) ? 0 : -1;
}

/* ------------------------------------------------- the API, with libcurl */
static CTL_UNUSED size_t on_body(char *d, size_t s, size_t n, void *ud) {
  char **b = ud;
  size_t old = *b ? strlen(*b) : 0;
  *b = realloc(*b, old + s * n + 1);
  memcpy(*b + old, d, s * n);
  (*b)[old + s * n] = 0;
  return s * n;
}

/* METHOD on pod a (or a full URL) with the token; the status, *out (may be
 * NULL) the body. */
static CTL_UNUSED long api(const char *method, const char *path,
                           const char *body, char **out) {
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

static CTL_UNUSED void post_ok(const char *path, const char *body,
                               long want) {
  char *out = NULL;
  long s = api("POST", path, body, &out);
  ck_assert_msg(s == want, "POST %s %s -> %ld %s", path, body ? body : "", s,
                out);
  free(out);
}

static CTL_UNUSED cJSON *get_json(const char *path) {
  char *out = NULL;
  long s = api("GET", path, NULL, &out);
  ck_assert_msg(s == 200, "GET %s -> %ld %s", path, s, out);
  cJSON *j = cJSON_Parse(out);
  free(out);
  ck_assert_ptr_nonnull(j);
  return j;
}

/* User uid with an exchange and pairs for syms (NULL-terminated). */
static CTL_UNUSED void seed_user(long long uid, const char *const *syms) {
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
static CTL_UNUSED void seed_agent(long long uid, const char *id,
                                  const char *const *as) {
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

static CTL_UNUSED void run_free(run *r) {
  free(r->out);
  free(r->err);
}

/* Runs the CLI with AGENTRECOVER_URL=url (NULL: pod a) and
 * AGENTRECOVER_TOKEN=token (NULL: the admin token, "": unset) and the
 * arguments (NULL-terminated); asserts the exit status `want` and that the
 * admin token is on neither output. */
static CTL_UNUSED run ctl_env(int want, const char *url, const char *token,
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
static CTL_UNUSED void fails(int want, const char *msg, const char *url,
                  const char *token, const char *a1, const char *a2,
                  const char *a3) {
  run r = ctl_env(want, url, token, a1, a2, a3, (const char *)NULL);
  ck_assert_str_eq(r.out, "");
  ck_assert_msg(strstr(r.err, msg) != NULL, "'%s' not in: %s", msg, r.err);
  run_free(&r);
}

/* The --json output of a successful run (up to 5 arguments): one line,
 * parsed. */
static CTL_UNUSED cJSON *ctl_json_v(const char *const *a) {
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

static CTL_UNUSED table parse_table(const char *text,
                                    const char *const *head, int cols) {
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

static CTL_UNUSED const char *cell(const table *t, int row,
                                   int col) {
  return t->cell[row * t->cols + col];
}

static CTL_UNUSED void table_free(table *t) {
  for (int i = 0; i < t->rows * t->cols; i++) free(t->cell[i]);
  free(t->cell);
}

/* A JSON value as a table shows it (an array: the agent's symbols). */
static CTL_UNUSED void as_cell(const cJSON *v, char *buf, size_t n) {
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
static CTL_UNUSED void assert_row(const table *t, int row, const cJSON *obj,
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

/* Servers and `npods` pods (1 or 2); g_url names pod a.  0 or -1. */
static CTL_UNUSED int ctl_fixture_start(int npods) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  self[n] = 0;
  snprintf(g_ctl, sizeof g_ctl, "%s/../agentrecoverctl", dirname(self));
  if (access(arec_test_daemon_path(), X_OK) != 0 || access(g_ctl, X_OK) != 0) {
    fprintf(stderr, "test_ctl: %s or %s not built\n", arec_test_daemon_path(),
            g_ctl);
    return -1;
  }
  snprintf(g_dir, sizeof g_dir, "%s", arec_test_logdir());
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (arec_test_start(&g_pg, AREC_TEST_MIGRATED | AREC_TEST_PODS, &g_redis))
    return -1;
  for (int i = 0; i < npods; i++)
    if (start_pod(i) != 0) {
      fprintf(stderr, "test_ctl: %s not ready (log in %s)\n", g_names[i],
              g_dir);
      arec_test_keep_logs();
      return -1;
    }
  snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d", g_pods[0].port);
  return 0;
}

/* Runs the suite, stops everything; the exit status. */
static CTL_UNUSED int ctl_fixture_run(Suite *s) {
  int rc = arec_test_run(s);
  for (int i = 0; i < 2; i++)
    if (g_pods[i].proc.pid > 0) arec_test_daemon_term(&g_pods[i], 10000);
  if (rc != EXIT_SUCCESS) arec_test_keep_logs();
  arec_test_redis_stop(&g_redis);
  arec_test_pg_stop(&g_pg);
  return rc;
}

#endif
