/*
 * test_host_serve.c -- the admin API and the probes of a real agentrecoverd
 * process over HTTP (tests/support/daemon.c) on PostgreSQL 15 and
 * redis-server: bad input answers its code with {"error"} and writes
 * nothing; a body with bytes after its JSON value is refused; a user id of
 * 2^53 - 1 comes back digit for digit, 2^53 is refused; 404 / 405 with
 * Allow; 413; /metrics parses with promtool and carries the host's gauges;
 * JSON logs are one object per line with numbers and booleans typed;
 * every API request is logged at DEBUG with its request id, method, path
 * and status; /healthz answers curl within 1 s while 2,000 idle
 * connections from 127.0.0.2 are held (the daemon lifts its own open-file
 * limit); HTTP_ADDR binds one address.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/daemon.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"

#define TOKEN AREC_TEST_ADMIN_TOKEN

static arec_test_pg g_pg;
static arec_test_redis g_redis;

static void start_pod(arec_test_daemon *d, const char *name,
                      const char *const *extra) {
  arec_test_pod_start(d, &g_pg, &g_redis, name, extra);
}

static int count_rows(const char *table) {
  char sql[128], *out = NULL;
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, sql, &out), 0);
  int n = atoi(out);
  free(out);
  return n;
}

/* status and body of a request with the admin token */
static int call(int port, const char *method, const char *path,
                const char *body, char **out) {
  return arec_test_http(port, method, path, TOKEN, NULL, body, out);
}

static void expect(int port, const char *method, const char *path,
                   const char *body, int want, const char *needle) {
  char *out = NULL;
  int st = call(port, method, path, body, &out);
  ck_assert_msg(st == want, "%s %s %s -> %d %s (want %d)", method, path,
                body ? body : "", st, out, want);
  if (st >= 400) ck_assert_msg(strstr(out, "\"error\":") != NULL, "%s", out);
  if (needle)
    ck_assert_msg(strstr(out, needle) != NULL, "%s not in %s", needle, out);
  free(out);
}

START_TEST(bad_input_answers_and_writes_nothing) {
  static arec_test_daemon p;
  const char *extra[] = {"LOG_FORMAT=json", "LOG_LEVEL=debug", NULL};
  start_pod(&p, "pod-api", extra);
  int agents = count_rows("agent_configs"), users = count_rows("users");
  expect(p.port, "POST", "/api/agents", "{\"user_id\":", 400, "malformed");
  expect(p.port, "POST", "/api/agents",
         "{\"user_id\": 1, \"name\": \"x\"}", 400, "\"field\":\"strategy\"");
  expect(p.port, "POST", "/api/users", "{\"id\": 5, \"name\": \"x\"} {}",
         400, "trailing");
  expect(p.port, "POST", "/api/users", "{\"id\": 5, \"name\": \"x\"}xyz",
         400, "trailing");
  expect(p.port, "POST", "/api/users", "[1]", 400, "object");
  expect(p.port, "POST", "/api/users",
         "{\"id\": 9007199254740992, \"name\": \"x\"}", 400,
         "\"field\":\"id\"");
  expect(p.port, "POST", "/api/users", "{\"id\": 1.5, \"name\": \"x\"}", 400,
         "\"field\":\"id\"");
  expect(p.port, "POST", "/api/users", "{\"id\": \"7\", \"name\": \"x\"}",
         400, "\"field\":\"id\"");
  expect(p.port, "POST", "/api/users/9007199254740992/pairs",
         "{\"exchange_id\": 1, \"symbol\": \"A/B\"}", 400, "uid");
  expect(p.port, "DELETE", "/api/agents", NULL, 405, "GET, POST");
  expect(p.port, "PUT", "/api/agents/abc", NULL, 405, "GET, DELETE");
  expect(p.port, "GET", "/api/nothing", NULL, 404, NULL);
  expect(p.port, "GET", "/api/agents/nope-nope", NULL, 404, NULL);
  expect(p.port, "GET", "/api/agents/bad%20id", NULL, 400, NULL);
  expect(p.port, "GET", "/api/agents?limit=0", NULL, 400, "limit");
  expect(p.port, "GET", "/api/agents?user_id=x", NULL, 400, "user_id");
  expect(p.port, "GET", "/api/audit?after=-1", NULL, 400, "after");
  size_t big = 70 * 1024;
  char *huge = malloc(big + 1);
  memset(huge, 'x', big);
  huge[big] = 0;
  memcpy(huge, "{\"name\":\"", 9);
  expect(p.port, "POST", "/api/users", huge, 413, NULL);
  free(huge);
  ck_assert_int_eq(count_rows("agent_configs"), agents);
  ck_assert_int_eq(count_rows("users"), users);
  /* 405 carries Allow */
  char *out = NULL, *head = NULL;
  ck_assert_int_eq(arec_test_http_full(p.port, "DELETE", "/api/agents/x/assign",
                                       TOKEN, NULL, NULL, &head, &out), 405);
  ck_assert_msg(strstr(head, "\r\nAllow: POST") != NULL, "%s", head);
  free(head);
  free(out);

  /* ids come back exactly: 2^53 - 1 */
  expect(p.port, "POST", "/api/users",
         "{\"id\": 9007199254740991, \"name\": \"max\"}", 201,
         "\"id\":9007199254740991");
  expect(p.port, "POST", "/api/agents",
         "{\"user_id\": 9007199254740991, \"strategy\": \"noop\", \"name\": "
         "\"m\", \"id\": \"e2e-max\"}", 201, "\"user_id\":9007199254740991");
  expect(p.port, "GET", "/api/agents/e2e-max", NULL, 200,
         "\"user_id\":9007199254740991");
  expect(p.port, "GET", "/api/agents?user_id=9007199254740991", NULL, 200,
         "\"id\":\"e2e-max\"");
  expect(p.port, "DELETE", "/api/agents/e2e-max", NULL, 200, "\"deleted\"");
  expect(p.port, "GET", "/api/agents/e2e-max", NULL, 404, NULL);
  expect(p.port, "GET", "/api/strategies", NULL, 200, "\"noop\"");
  expect(p.port, "GET", "/api/audit?limit=1000", NULL, 200,
         "\"action\":\"agent.delete\"");

  /* JSON logs: one object per line, numbers and booleans typed; requests
   * at DEBUG with their id */
  ck_assert_int_eq(arec_test_daemon_term(&p, 15000), 0);
  char *log = arec_test_log(&p.proc);
  for (char *l = log, *nl; *l; l = nl + 1) {
    nl = strchr(l, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_msg(l[0] == '{' && nl[-1] == '}', "not JSON: %.*s",
                  (int)(nl - l), l);
  }
  ck_assert_msg(strstr(log, "\"lock_ttl_ms\":2000") != NULL, "%s", log);
  ck_assert_ptr_nonnull(strstr(log, "\"recovery_enabled\":true"));
  ck_assert_ptr_nonnull(strstr(log, "\"port\":"));
  ck_assert_ptr_null(strstr(log, "\"port\":\""));
  ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"request\""));
  ck_assert_ptr_nonnull(strstr(log, "\"status\":413"));
  ck_assert_ptr_nonnull(strstr(log, "\"path\":\"/api/agents/e2e-max\""));
  ck_assert_ptr_nonnull(strstr(log, "\"request_id\":\""));
  ck_assert_ptr_null(strstr(log, TOKEN));
  free(log);
}
END_TEST

START_TEST(metrics_parse_and_carry_host_gauges) {
  static arec_test_daemon p;
  start_pod(&p, "pod-metrics", NULL);
  /* health endpoints need no token */
  ck_assert_int_eq(arec_test_http(p.port, "GET", "/healthz", NULL, NULL, NULL,
                                  NULL), 200);
  char *out = NULL;
  ck_assert_int_eq(arec_test_http(p.port, "GET", "/metrics", NULL, NULL, NULL,
                                  &out), 200);
  const char *want[] = {"agents_running", "agentrecoverd_ready 1",
                        "agentrecoverd_recovery_active 1",
                        "agentrecoverd_build_info{version=\"0."};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    ck_assert_msg(strstr(out, want[i]) != NULL, "%s", want[i]);
  /* no bot: no role gauge */
  ck_assert_ptr_null(strstr(out, "agentrecoverd_role_held"));
  char path[300];
  snprintf(path, sizeof path, "%s/metrics.txt", arec_test_logdir());
  FILE *f = fopen(path, "w");
  fputs(out, f);
  fclose(f);
  free(out);
  if (access("/usr/bin/promtool", X_OK) == 0) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "promtool check metrics < %s 2>&1 | grep -i 'pars' ", path);
    /* lint warnings on names are accepted; parse errors not */
    ck_assert_msg(system(cmd) != 0, "promtool could not parse /metrics");
  }
  ck_assert_int_eq(arec_test_http(p.port, "POST", "/metrics", NULL, NULL,
                                  NULL, NULL), 405);
  ck_assert_int_eq(arec_test_daemon_term(&p, 15000), 0);
}
END_TEST

/* ------------------------------------------------- HTTP under a flood */
/* An idle connection from `src` that closes with a reset.  Source ports
 * come from below the kernel's ephemeral range (a port picked by bind(0)
 * for a pod must not be taken by 127.0.0.2), and the reset leaves no
 * TIME_WAIT behind. */
static int dial_from(const char *src, int port) {
  static int next = 26000;
  while (next < 32768) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, src, &a.sin_addr);
    a.sin_port = htons((uint16_t)next++);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      close(fd);
      continue;
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
    int e = errno;
    close(fd);
    if (e != EADDRNOTAVAIL) {
      errno = e;
      return -1;
    }
  }
  errno = EADDRNOTAVAIL;
  return -1;
}

static int curl_status(const char *url, long long *ms) {
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "curl -s -o /dev/null -w '%%{http_code}' --max-time 1 '%s'", url);
  long long t0 = arec_test_now_ms();
  FILE *f = popen(cmd, "r");
  int code = -1;
  if (f) {
    if (fscanf(f, "%d", &code) != 1) code = -1;
    pclose(f);
  }
  *ms = arec_test_now_ms() - t0;
  return code;
}

#define IDLE_CONNS 2000

START_TEST(healthz_with_idle_flood) {
  struct rlimit rl;
  ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  ck_assert_msg(rl.rlim_max >= IDLE_CONNS + 1100, "open-file hard limit %lu",
                (unsigned long)rl.rlim_max);
  /* the pod starts with a soft limit of 1024 (inherited) and lifts it */
  struct rlimit low = {1024, rl.rlim_max};
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  const char *extra[] = {"HTTP_MAX_CONNECTIONS_PER_IP=4096",
                         "HTTP_CONNECTION_TIMEOUT=60s", "HTTP_ADDR=0.0.0.0",
                         NULL};
  static arec_test_daemon p;
  start_pod(&p, "pod-flood", extra);
  rl.rlim_cur = rl.rlim_max;
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  char want[64];
  snprintf(want, sizeof want, "open files limit nofile=%lu",
           (unsigned long)rl.rlim_max);
  ck_assert_msg(arec_test_log_has(&p.proc, want), "no \"%s\"", want);
  static int fds[IDLE_CONNS];
  for (int i = 0; i < IDLE_CONNS; i++) {
    fds[i] = dial_from("127.0.0.2", p.port);
    ck_assert_msg(fds[i] >= 0, "connection %d: %s", i, strerror(errno));
  }
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", p.port);
  long long worst = 0;
  for (int i = 0; i < 20; i++) {
    long long ms;
    int code = curl_status(url, &ms);
    ck_assert_msg(code == 200 && ms < 1000, "curl %d: %d after %lld ms", i,
                  code, ms);
    if (ms > worst) worst = ms;
  }
  fprintf(stderr, "serve: /healthz with %d idle connections: slowest curl "
                  "%lld ms\n", IDLE_CONNS, worst);
  char fddir[64];
  snprintf(fddir, sizeof fddir, "/proc/%d/fd", (int)p.proc.pid);
  DIR *dir = opendir(fddir);
  ck_assert_ptr_nonnull(dir);
  int nfd = 0;
  while (readdir(dir)) nfd++;
  closedir(dir);
  ck_assert_msg(nfd >= IDLE_CONNS, "daemon has %d descriptors", nfd);
  int open = 0;
  for (int i = 0; i < IDLE_CONNS; i++) {
    char b;
    ssize_t r = recv(fds[i], &b, 1, MSG_DONTWAIT);
    open += r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    close(fds[i]);
  }
  ck_assert_int_eq(open, IDLE_CONNS);
  ck_assert_int_eq(arec_test_daemon_term(&p, 15000), 0);
}
END_TEST

/* HTTP_ADDR=127.0.0.1: served there, refused on another loopback
 * address. */
START_TEST(http_addr_binds_one_address) {
  static arec_test_daemon p;
  start_pod(&p, "pod-addr", NULL);
  ck_assert(arec_test_log_has(&p.proc, "HTTP server listening "
                                       "addr=127.0.0.1"));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)p.port);
  inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
  errno = 0;
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), -1);
  ck_assert_int_eq(errno, ECONNREFUSED);
  close(fd);
  ck_assert_int_eq(arec_test_daemon_term(&p, 15000), 0);
}
END_TEST

AREC_TEST_CASE_MAIN(
    "host_serve", "http", 90,
    arec_test_main(s, &g_pg, AREC_TEST_MIGRATED | AREC_TEST_PODS, &g_redis),
    bad_input_answers_and_writes_nothing, metrics_parse_and_carry_host_gauges,
    healthz_with_idle_flood, http_addr_binds_one_address)
