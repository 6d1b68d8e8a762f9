/*
 * test_host_e2e.c -- agentrecoverd end to end: real processes against a
 * real PostgreSQL 15 and a real redis-server (harness), talking HTTP over
 * loopback.  The design notes' own test, automated: 3 pods, 2 agents,
 * kill -9 the pod of agent 1 -> restored in another pod within TTL +
 * reconcile + 1 s and in exactly one pod's /api/runners (with 1 s pod
 * leases on Redis or PostgreSQL: within pod lease TTL + reconcile + 1 s); SIGTERM a pod ->
 * handover within reconcile + 1 s with is_trading kept; a rolling restart
 * of every pod leaves every agent running; Redis down at start -> /ready
 * 200, the warning, restore once Redis is back; database down -> exit 1;
 * invalid env -> exit 2; bad API input over HTTP -> its code, nothing
 * written; /metrics parses with promtool; /healthz answers curl within
 * 1 s while 2,000 idle connections from 127.0.0.2 are held (the daemon
 * lifts its own open-file limit); HTTP_ADDR binds one address.
 *
 * Timings are short (TTL 2 s, reconcile 1 s).  Every pod is started with
 * PR_SET_PDEATHSIG and killed at the test's exit, pass or fail.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentrecover/pg.h"
#include "support/harness.h"

#define TTL_MS 2000
#define RECONCILE_MS 1000
/* Slack on top of each invariant's bound, for a noisy shared machine. */
#define SLACK_MS 1500

static arec_test_pg g_pg;
static arec_test_redis g_redis;
static char g_daemon[PATH_MAX];
static char g_logdir[128];
/* > 0: the open-file soft limit a spawned daemon starts with */
static rlim_t g_child_nofile;

/* --------------------------------------------------------------- helpers */
static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

/* Minimal HTTP/1.0 client: returns the status (or -1), *body malloc'd. */
static int http(int port, const char *method, const char *path,
                const char *extra_headers, const char *body, char **out) {
  if (out) *out = NULL;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  size_t blen = body ? strlen(body) : 0;
  char head[1024];
  int hl = snprintf(head, sizeof head,
                    "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%sContent-Type: "
                    "application/json\r\nContent-Length: %zu\r\n\r\n",
                    method, path, extra_headers ? extra_headers : "", blen);
  if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) != hl) {
    close(fd);
    return -1;
  }
  for (size_t off = 0; off < blen;) {
    ssize_t w = send(fd, body + off, blen - off, MSG_NOSIGNAL);
    if (w <= 0) break; /* the server may answer 413 and close early */
    off += (size_t)w;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  ssize_t r;
  while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
    len += (size_t)r;
    if (len + 1 == cap) buf = realloc(buf, cap *= 2);
  }
  close(fd);
  buf[len] = 0;
  int status = -1;
  if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = -1;
  char *b = strstr(buf, "\r\n\r\n");
  if (out) *out = strdup(b ? b + 4 : "");
  free(buf);
  return status;
}

static int http_status(int port, const char *method, const char *path,
                       const char *body) {
  return http(port, method, path, NULL, body, NULL);
}

/* ------------------------------------------------------------------ pods */
typedef struct pod {
  char name[32];
  int port;
  pid_t pid;
  char log[256];
} pod;

#define MAX_PODS 8
static pod *g_live[MAX_PODS]; /* killed at exit of the test child */

static void kill_all(void) {
  for (int i = 0; i < MAX_PODS; i++)
    if (g_live[i] && g_live[i]->pid > 0) {
      kill(g_live[i]->pid, SIGKILL);
      waitpid(g_live[i]->pid, NULL, 0);
      g_live[i]->pid = 0;
    }
}

static void track(pod *p) {
  static int registered;
  if (!registered) {
    atexit(kill_all);
    registered = 1;
  }
  for (int i = 0; i < MAX_PODS; i++)
    if (!g_live[i] || g_live[i] == p || g_live[i]->pid <= 0) {
      g_live[i] = p;
      return;
    }
}

/* Starts the daemon with the common env plus `extra` ("K=V" strings,
 * NULL-terminated; a later K overrides). */
static pid_t spawn(const char *name, int port, const char *log,
                   const char *const *extra, const char *const *argv_extra) {
  char env[40][600];
  size_t n = 0;
  snprintf(env[n++], 600, "PATH=/usr/bin:/bin");
  snprintf(env[n++], 600, "DATABASE_URL=%s", g_pg.conninfo);
  snprintf(env[n++], 600, "DATABASE_CONNECT_TIMEOUT=5s");
  snprintf(env[n++], 600, "REDIS_HOST=127.0.0.1");
  snprintf(env[n++], 600, "REDIS_PORT=%d", g_redis.port);
  snprintf(env[n++], 600, "POD_NAME=%s", name);
  snprintf(env[n++], 600, "HTTP_PORT=%d", port);
  snprintf(env[n++], 600, "AGENT_LOCK_TTL=%dms", TTL_MS);
  snprintf(env[n++], 600, "AGENT_RECONCILE_INTERVAL=%dms", RECONCILE_MS);
  snprintf(env[n++], 600, "AGENT_SAVE_INTERVAL=1s");
  snprintf(env[n++], 600, "AGENT_WORKERS=4");
  snprintf(env[n++], 600, "SHUTDOWN_TIMEOUT=5s");
  snprintf(env[n++], 600, "AGENT_SECRETS_KEY=%s",
           "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  for (size_t i = 0; extra && extra[i] && n < 38; i++) {
    /* getenv() takes the first match: replace a common variable in place */
    size_t kl = strcspn(extra[i], "=") + 1, j;
    for (j = 0; j < n && strncmp(env[j], extra[i], kl) != 0; j++) {
    }
    snprintf(env[j], 600, "%s", extra[i]);
    if (j == n) n++;
  }
  char *envp[41];
  for (size_t i = 0; i < n; i++) envp[i] = env[i];
  envp[n] = NULL;
  char *argv[6] = {g_daemon, NULL};
  for (size_t i = 0; argv_extra && argv_extra[i] && i < 4; i++) {
    argv[i + 1] = (char *)argv_extra[i];
    argv[i + 2] = NULL;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct rlimit rl;
    if (g_child_nofile > 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      rl.rlim_cur = g_child_nofile;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    execve(g_daemon, argv, envp);
    _exit(127);
  }
  return pid;
}

static void pod_start(pod *p, const char *name, const char *const *extra) {
  if (!p->port) p->port = arec_test_free_port();
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->log, sizeof p->log, "%s/%s.log", g_logdir, name);
  p->pid = spawn(name, p->port, p->log, extra, NULL);
  ck_assert_int_gt(p->pid, 0);
  track(p);
}

static int wait_ready(const pod *p, long timeout_ms) {
  long long end = arec_test_now_ms() + timeout_ms;
  while (arec_test_now_ms() < end) {
    if (http_status(p->port, "GET", "/ready", NULL) == 200) return 1;
    sleep_ms(50);
  }
  return 0;
}

/* Waits for the pod to exit; its exit code, or -1 on timeout/signal. */
static int pod_wait(pod *p, long timeout_ms) {
  long long end = arec_test_now_ms() + timeout_ms;
  int st;
  while (arec_test_now_ms() < end) {
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
      p->pid = 0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    sleep_ms(20);
  }
  return -1;
}

static int pod_term(pod *p) {
  kill(p->pid, SIGTERM);
  return pod_wait(p, 15000);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return strdup("");
  size_t cap = 8192, len = 0, r;
  char *b = malloc(cap);
  while ((r = fread(b + len, 1, cap - len - 1, f)) > 0) {
    len += r;
    if (len + 1 == cap) b = realloc(b, cap *= 2);
  }
  fclose(f);
  b[len] = 0;
  return b;
}

static int log_has(const pod *p, const char *needle) {
  char *b = slurp(p->log);
  int yes = strstr(b, needle) != NULL;
  free(b);
  return yes;
}

/* 1 if the pod's /api/runners lists agent `id`. */
static int runs(const pod *p, const char *id) {
  char *body = NULL;
  if (p->pid <= 0 ||
      http(p->port, "GET", "/api/runners", NULL, NULL, &body) != 200) {
    free(body);
    return 0;
  }
  char needle[128];
  snprintf(needle, sizeof needle, "\"agent_id\":\"%s\"", id);
  int yes = strstr(body, needle) != NULL;
  free(body);
  return yes;
}

static int count_running(pod **pods, size_t n, const char *id) {
  int c = 0;
  for (size_t i = 0; i < n; i++) c += runs(pods[i], id);
  return c;
}

static void post_ok(int port, const char *path, const char *body, int want) {
  char *out = NULL;
  int s = http(port, "POST", path, NULL, body, &out);
  ck_assert_msg(s == want, "POST %s %s -> %d %s (want %d)", path,
                body ? body : "", s, out ? out : "", want);
  free(out);
}

/* user `uid` with an exchange (id looked up) and a pair for `symbol`, then
 * agents ids[] (noop) assigned to it. */
static void seed(int port, long long uid, const char *symbol,
                 const char *const *ids) {
  char path[128], body[256], *out = NULL;
  snprintf(body, sizeof body, "{\"id\": %lld, \"name\": \"e2e\"}", uid);
  post_ok(port, "/api/users", body, 201);
  snprintf(path, sizeof path, "/api/users/%lld/exchanges", uid);
  ck_assert_int_eq(http(port, "POST", path, NULL,
                        "{\"exchange\": \"binance\", \"api_key\": \"k\", "
                        "\"api_secret\": \"very-secret\", \"testnet\": true}",
                        &out),
                   201);
  ck_assert_ptr_null(strstr(out, "very-secret"));
  long long exid = 0;
  ck_assert_int_eq(sscanf(strstr(out, "\"id\":"), "\"id\":%lld", &exid), 1);
  free(out);
  snprintf(path, sizeof path, "/api/users/%lld/pairs", uid);
  snprintf(body, sizeof body, "{\"exchange_id\": %lld, \"symbol\": \"%s\"}",
           exid, symbol);
  post_ok(port, path, body, 201);
  for (size_t i = 0; ids[i]; i++) {
    snprintf(body, sizeof body,
             "{\"user_id\": %lld, \"strategy\": \"noop\", \"name\": \"agent "
             "%zu\", \"id\": \"%s\"}",
             uid, i + 1, ids[i]);
    post_ok(port, "/api/agents", body, 201);
    snprintf(path, sizeof path, "/api/agents/%s/assign", ids[i]);
    snprintf(body, sizeof body, "{\"symbol\": \"%s\", \"balance\": 500}",
             symbol);
    post_ok(port, path, body, 201);
  }
}

/* Waits until the agent runs on exactly one of pods; the time it took. */
static long long wait_one_owner(pod **pods, size_t n, const char *id,
                                long timeout_ms) {
  long long t0 = arec_test_now_ms();
  while (arec_test_now_ms() - t0 < timeout_ms) {
    if (count_running(pods, n, id) == 1) return arec_test_now_ms() - t0;
    sleep_ms(50);
  }
  return -1;
}

static pod *owner_of(pod **pods, size_t n, const char *id) {
  for (size_t i = 0; i < n; i++)
    if (runs(pods[i], id)) return pods[i];
  return NULL;
}

/* ----------------------------------------------------------------- tests */
START_TEST(failover_and_graceful_handover) {
  static pod a, b, c;
  pod *all[3] = {&a, &b, &c};
  pod_start(&a, "pod-a", NULL);
  pod_start(&b, "pod-b", NULL);
  pod_start(&c, "pod-c", NULL);
  for (int i = 0; i < 3; i++)
    ck_assert_msg(wait_ready(all[i], 15000), "%s not ready", all[i]->name);
  const char *ids[] = {"e2e-agent-1", "e2e-agent-2", NULL};
  seed(a.port, 9101, "BTC/USDT", ids);
  char *out = NULL;
  ck_assert_int_eq(http(a.port, "POST", "/api/agents/start/e2e-agent-1", NULL,
                        NULL, &out),
                   200);
  ck_assert_ptr_nonnull(strstr(out, "\"running_on\":\"pod-a\""));
  free(out);
  ck_assert_int_eq(http(b.port, "POST", "/api/agents/start/e2e-agent-2", NULL,
                        NULL, &out),
                   200);
  ck_assert_ptr_nonnull(strstr(out, "\"running_on\":\"pod-b\""));
  free(out);
  ck_assert_int_eq(count_running(all, 3, "e2e-agent-1"), 1);
  ck_assert(runs(&a, "e2e-agent-1"));
  /* a second start elsewhere answers where it runs */
  ck_assert_int_eq(http(c.port, "POST", "/api/agents/start/e2e-agent-1", NULL,
                        NULL, &out),
                   200);
  ck_assert_ptr_nonnull(strstr(out, "\"running_on\":\"pod-a\""));
  free(out);

  /* kill -9 the pod of agent 1 */
  long long t0 = arec_test_now_ms();
  kill(a.pid, SIGKILL);
  ck_assert_int_eq(pod_wait(&a, 5000), -1);
  pod *rest[2] = {&b, &c};
  long long restored = -1;
  while (arec_test_now_ms() - t0 < TTL_MS + RECONCILE_MS + 1000 + SLACK_MS) {
    if (log_has(&b, "agent restored successfully agent_id=e2e-agent-1") ||
        log_has(&c, "agent restored successfully agent_id=e2e-agent-1")) {
      restored = arec_test_now_ms() - t0;
      break;
    }
    sleep_ms(50);
  }
  ck_assert_msg(restored >= 0, "agent 1 not restored within %d ms",
                TTL_MS + RECONCILE_MS + 1000 + SLACK_MS);
  fprintf(stderr, "e2e: failover after kill -9 took %lld ms (bound %d ms)\n",
          restored, TTL_MS + RECONCILE_MS + 1000);
  ck_assert_int_ge(wait_one_owner(rest, 2, "e2e-agent-1", 2000), 0);
  ck_assert_int_eq(count_running(rest, 2, "e2e-agent-1"), 1);
  ck_assert_int_eq(count_running(rest, 2, "e2e-agent-2"), 1);

  /* SIGTERM the pod of agent 2: handed over without the TTL wait */
  pod *p2 = owner_of(rest, 2, "e2e-agent-2");
  ck_assert_ptr_nonnull(p2);
  pod *other = p2 == &b ? &c : &b;
  ck_assert_int_eq(pod_term(p2), 0);
  ck_assert(log_has(p2, "shutdown_duration_seconds="));
  long long took = wait_one_owner(&other, 1, "e2e-agent-2",
                                  RECONCILE_MS + 1000 + SLACK_MS);
  ck_assert_msg(took >= 0, "agent 2 not handed over within %d ms",
                RECONCILE_MS + 1000 + SLACK_MS);
  fprintf(stderr, "e2e: handover after SIGTERM took %lld ms (bound %d ms)\n",
          took, RECONCILE_MS + 1000);
  ck_assert_int_ge(wait_one_owner(&other, 1, "e2e-agent-1",
                                  RECONCILE_MS + 1000 + SLACK_MS),
                   0);
  ck_assert_int_eq(http(other->port, "GET", "/api/agents/e2e-agent-2", NULL,
                        NULL, &out),
                   200);
  ck_assert_ptr_nonnull(strstr(out, "\"is_trading\":true"));
  free(out);

  /* the user's stop, through any pod, stops it where it runs */
  post_ok(other->port, "/api/agents/stop/e2e-agent-1", NULL, 200);
  long long end = arec_test_now_ms() + RECONCILE_MS + 1000 + SLACK_MS;
  while (runs(other, "e2e-agent-1") && arec_test_now_ms() < end) sleep_ms(50);
  ck_assert(!runs(other, "e2e-agent-1"));
  ck_assert_int_eq(pod_term(other), 0);
}
END_TEST

/* AGENT_LOCK_BACKEND=postgres: no Redis at all (REDIS_PORT points nowhere),
 * 30 s agent locks, 1 s pod leases: a kill -9 fails over within pod lease
 * TTL + reconcile + 1 s. */
START_TEST(postgres_lock_backend_failover) {
  static pod a, b;
  char noredis[32];
  snprintf(noredis, sizeof noredis, "REDIS_PORT=%d", arec_test_free_port());
  const char *extra[] = {"AGENT_LOCK_BACKEND=postgres", noredis,
                         "AGENT_LOCK_TTL=30s", "AGENT_POD_LEASE_TTL=1s", NULL};
  pod_start(&a, "pod-pga", extra);
  ck_assert(wait_ready(&a, 15000));
  pod_start(&b, "pod-pgb", extra);
  ck_assert(wait_ready(&b, 15000));
  ck_assert(log_has(&a, "lock backend: postgres"));
  const char *ids[] = {"e2e-pgl-1", NULL};
  seed(a.port, 9301, "ETH/USDT", ids);
  post_ok(a.port, "/api/agents/start/e2e-pgl-1", NULL, 200);
  ck_assert(runs(&a, "e2e-pgl-1"));
  long long t0 = arec_test_now_ms();
  kill(a.pid, SIGKILL);
  ck_assert_int_eq(pod_wait(&a, 5000), -1);
  pod *rest[1] = {&b};
  long long took = wait_one_owner(rest, 1, "e2e-pgl-1",
                                  1000 + RECONCILE_MS + 1000 + SLACK_MS);
  ck_assert_msg(took >= 0, "not failed over within %d ms",
                1000 + RECONCILE_MS + 1000 + SLACK_MS);
  fprintf(stderr, "e2e: postgres lock backend, failover after kill -9 took "
                  "%lld ms (30 s agent TTL, 1 s pod lease)\n",
          arec_test_now_ms() - t0);
  ck_assert_int_eq(pod_term(&b), 0);
}
END_TEST

/* Redis lock backend with pod leases: 30 s agent locks, 1 s pod leases: a
 * kill -9 fails over within pod lease TTL + reconcile + 1 s (the dead
 * pod's agent lock is taken over as soon as its pod lease key is gone). */
START_TEST(redis_pod_lease_failover) {
  static pod a, b;
  const char *extra[] = {"AGENT_LOCK_TTL=30s", "AGENT_POD_LEASE_TTL=1s", NULL};
  pod_start(&a, "pod-rpla", extra);
  ck_assert(wait_ready(&a, 15000));
  pod_start(&b, "pod-rplb", extra);
  ck_assert(wait_ready(&b, 15000));
  ck_assert(log_has(&a, "pod leases on ttl=1000ms backend=redis"));
  const char *ids[] = {"e2e-rpl-1", NULL};
  seed(a.port, 9401, "XRP/USDT", ids);
  post_ok(a.port, "/api/agents/start/e2e-rpl-1", NULL, 200);
  ck_assert(runs(&a, "e2e-rpl-1"));
  long long t0 = arec_test_now_ms();
  kill(a.pid, SIGKILL);
  ck_assert_int_eq(pod_wait(&a, 5000), -1);
  pod *rest[1] = {&b};
  long long took = wait_one_owner(rest, 1, "e2e-rpl-1",
                                  1000 + RECONCILE_MS + 1000 + SLACK_MS);
  ck_assert_msg(took >= 0, "not failed over within %d ms",
                1000 + RECONCILE_MS + 1000 + SLACK_MS);
  fprintf(stderr, "e2e: redis pod leases, failover after kill -9 took %lld ms "
                  "(30 s agent TTL, 1 s pod lease; bound %d ms)\n",
          arec_test_now_ms() - t0, 1000 + RECONCILE_MS + 1000);
  ck_assert_int_eq(pod_term(&b), 0);
}
END_TEST

START_TEST(rolling_restart_keeps_every_agent) {
  static pod p[3];
  pod *all[3] = {&p[0], &p[1], &p[2]};
  const char *names[3] = {"roll-a", "roll-b", "roll-c"};
  for (int i = 0; i < 3; i++) pod_start(&p[i], names[i], NULL);
  for (int i = 0; i < 3; i++) ck_assert(wait_ready(&p[i], 15000));
  const char *ids[] = {"roll-1", "roll-2", "roll-3", NULL};
  seed(p[0].port, 9102, "ETH/USDT", ids);
  for (int i = 0; i < 3; i++) {
    char path[64];
    snprintf(path, sizeof path, "/api/agents/start/%s", ids[i]);
    post_ok(p[i].port, path, NULL, 200);
  }
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(pod_term(&p[i]), 0);
    pod_start(&p[i], names[i], NULL); /* same name, same port */
    ck_assert_msg(wait_ready(&p[i], 15000), "%s not ready again", names[i]);
  }
  for (int i = 0; i < 3; i++)
    ck_assert_msg(wait_one_owner(all, 3, ids[i],
                                 TTL_MS + RECONCILE_MS + 1000 + SLACK_MS) >= 0,
                  "%s not running after the rolling restart", ids[i]);
  for (int i = 0; i < 3; i++) ck_assert_int_eq(count_running(all, 3, ids[i]), 1);
  for (int i = 0; i < 3; i++) ck_assert_int_eq(pod_term(&p[i]), 0);
}
END_TEST

START_TEST(redis_down_at_start_then_back) {
  arec_test_redis r;
  ck_assert_int_eq(arec_test_redis_start(&r), 0);
  ck_assert_int_eq(arec_test_redis_kill(&r), 0);
  char rport[32];
  snprintf(rport, sizeof rport, "REDIS_PORT=%d", r.port);
  const char *extra[] = {rport, NULL};
  static pod p;
  pod_start(&p, "pod-noredis", extra);
  ck_assert(wait_ready(&p, 15000));
  ck_assert(log_has(&p, "⚠️ Redis unavailable, agent recovery skipped"));
  ck_assert_int_eq(http_status(p.port, "GET", "/healthz", NULL), 200);
  const char *ids[] = {"e2e-noredis-1", NULL};
  seed(p.port, 9103, "SOL/USDT", ids);
  char *out = NULL;
  ck_assert_int_eq(http(p.port, "POST", "/api/agents/start/e2e-noredis-1",
                        NULL, NULL, &out),
                   202);
  ck_assert_ptr_nonnull(strstr(out, "\"running_on\":null"));
  free(out);
  ck_assert(!runs(&p, "e2e-noredis-1"));
  ck_assert_int_eq(arec_test_redis_restart(&r), 0);
  long long t0 = arec_test_now_ms();
  while (!log_has(&p, "agent restored successfully agent_id=e2e-noredis-1") &&
         arec_test_now_ms() - t0 < 15000)
    sleep_ms(50);
  ck_assert(log_has(&p, "agent restored successfully agent_id=e2e-noredis-1"));
  ck_assert(runs(&p, "e2e-noredis-1"));
  ck_assert_int_eq(pod_term(&p), 0);
  arec_test_redis_stop(&r);
}
END_TEST

START_TEST(database_down_exits_1) {
  char url[128];
  snprintf(url, sizeof url,
           "DATABASE_URL=host=127.0.0.1 port=%d dbname=x user=postgres "
           "password=pw-never-logged",
           arec_test_free_port());
  const char *extra[] = {url, "DATABASE_CONNECT_TIMEOUT=1s", NULL};
  static pod p;
  pod_start(&p, "pod-nodb", extra);
  ck_assert_int_eq(pod_wait(&p, 15000), 1);
  ck_assert(log_has(&p, "database unreachable"));
  ck_assert(!log_has(&p, "pw-never-logged"));
}
END_TEST

static const char *const bad_env[][2] = {
    {"AGENT_LOCK_TTL=abc", "AGENT_LOCK_TTL"},
    {"AGENT_LOCK_REFRESH_INTERVAL=5s", "AGENT_LOCK_REFRESH_INTERVAL"},
    {"AGENT_LOCK_BACKEND=etcd", "AGENT_LOCK_BACKEND"},
    {"AGENT_SECRETS_KEY=abc", "AGENT_SECRETS_KEY"},
    {"HTTP_PORT=0", "HTTP_PORT"},
    {"HTTP_ADDR=localhost", "HTTP_ADDR"},
    {"HTTP_MAX_CONNECTIONS=0", "HTTP_MAX_CONNECTIONS"},
    {"HTTP_CONNECTION_TIMEOUT=10", "HTTP_CONNECTION_TIMEOUT"},
};

START_TEST(invalid_env_exits_2) {
  const char *extra[] = {bad_env[_i][0], NULL};
  static pod p;
  pod_start(&p, "pod-badenv", extra);
  ck_assert_int_eq(pod_wait(&p, 5000), 2);
  char *log = slurp(p.log);
  ck_assert_msg(strstr(log, bad_env[_i][1]) != NULL, "%s", log);
  ck_assert_ptr_null(strstr(log, "database connected"));
  free(log);
  unlink(p.log);
}
END_TEST

START_TEST(help_lists_variables) {
  char cmd[PATH_MAX + 64];
  snprintf(cmd, sizeof cmd, "%s --help", g_daemon);
  FILE *f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  ck_assert_int_eq(pclose(f), 0);
  ck_assert_ptr_nonnull(strstr(buf, "DATABASE_CONNECT_TIMEOUT"));
  ck_assert_ptr_nonnull(strstr(buf, "AGENT_RECONCILE_INTERVAL"));
  ck_assert_ptr_nonnull(strstr(buf, "EXCHANGE_ALLOW_MAINNET"));
}
END_TEST

static int agents_in_db(void) {
  char *out = NULL;
  ck_assert_int_eq(
      arec_test_pg_sql(&g_pg, "SELECT count(*) FROM agent_configs", &out), 0);
  int n = atoi(out);
  free(out);
  return n;
}

START_TEST(api_over_http_bad_inputs_and_metrics) {
  const char *extra[] = {"ADMIN_TOKEN=e2e-token", "LOG_FORMAT=json", NULL};
  static pod p;
  pod_start(&p, "pod-api", extra);
  ck_assert(wait_ready(&p, 15000));
  const char *auth = "Authorization: Bearer e2e-token\r\n";
  int before = agents_in_db();
  ck_assert_int_eq(http(p.port, "POST", "/api/agents", NULL,
                        "{\"user_id\": 1, \"strategy\": \"noop\", \"name\": "
                        "\"x\"}",
                        NULL),
                   401);
  ck_assert_int_eq(http(p.port, "POST", "/api/agents",
                        "Authorization: Bearer wrong\r\n", "{}", NULL),
                   401);
  char *out = NULL;
  ck_assert_int_eq(http(p.port, "POST", "/api/agents", auth, "{\"user_id\":",
                        &out),
                   400);
  ck_assert_ptr_nonnull(strstr(out, "\"error\""));
  free(out);
  ck_assert_int_eq(http(p.port, "POST", "/api/agents", auth,
                        "{\"user_id\": 1, \"name\": \"x\"}", &out),
                   400);
  ck_assert_ptr_nonnull(strstr(out, "strategy"));
  free(out);
  ck_assert_int_eq(http(p.port, "DELETE", "/api/agents", auth, NULL, NULL),
                   405);
  ck_assert_int_eq(http(p.port, "GET", "/api/agents/nope-nope", auth, NULL,
                        NULL),
                   404);
  size_t big = 70 * 1024;
  char *huge = malloc(big + 1);
  memset(huge, 'x', big);
  huge[big] = 0;
  memcpy(huge, "{\"name\":\"", 9);
  ck_assert_int_eq(http(p.port, "POST", "/api/users", auth, huge, NULL), 413);
  free(huge);
  ck_assert_int_eq(agents_in_db(), before);
  /* health endpoints need no token */
  ck_assert_int_eq(http_status(p.port, "GET", "/healthz", NULL), 200);
  ck_assert_int_eq(http(p.port, "GET", "/metrics", NULL, NULL, &out), 200);
  ck_assert_ptr_nonnull(strstr(out, "agents_running"));
  char mpath[256];
  snprintf(mpath, sizeof mpath, "%s/metrics.txt", g_logdir);
  FILE *f = fopen(mpath, "w");
  fputs(out, f);
  fclose(f);
  free(out);
  if (access("/usr/bin/promtool", X_OK) == 0) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "promtool check metrics < %s 2>&1 | grep -i 'pars' ", mpath);
    /* lint warnings on the notes' names are accepted; parse errors not */
    ck_assert_msg(system(cmd) != 0, "promtool could not parse /metrics");
  }
  /* json logs: one object per line */
  char *log = slurp(p.log);
  ck_assert_ptr_nonnull(strstr(log, "{\"time\":"));
  ck_assert_ptr_null(strstr(log, "e2e-token"));
  free(log);
  ck_assert_int_eq(pod_term(&p), 0);
}
END_TEST

START_TEST(recovery_disabled_ready_at_once) {
  const char *extra[] = {"AGENT_RECOVERY_ENABLED=false",
                         "AGENT_POD_LEASE_TTL=5s", NULL};
  static pod p;
  pod_start(&p, "pod-norecovery", extra);
  ck_assert(wait_ready(&p, 15000));
  ck_assert(log_has(&p, "agent recovery disabled"));
  ck_assert(log_has(&p, "pod leases on ttl=5000ms backend=redis"));
  ck_assert(!log_has(&p, "not implemented yet"));
  ck_assert(!log_has(&p, "restoring running agents"));
  ck_assert_int_eq(pod_term(&p), 0);
  ck_assert(log_has(&p, "shutdown_duration_seconds="));
}
END_TEST

/* ------------------------------------------------- HTTP under a flood */
/* An idle connection from `src` that closes with a reset.  Source ports
 * come from below the kernel's ephemeral range (a daemon binding 0.0.0.0
 * on a port picked by bind(port 0) must not find it taken by 127.0.0.2),
 * and the reset leaves no TIME_WAIT behind. */
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
      continue; /* in use: the next port */
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

/* curl's status for url (within max 1 s), *ms the time it took. */
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

#define E2E_IDLE_CONNS 2000

/* A real daemon, started with an open-file soft limit of 1024 (it lifts it
 * to the hard limit itself), holds 2,000 idle connections from 127.0.0.2
 * while /healthz answers curl from 127.0.0.1: 200 within 1 s each. */
START_TEST(healthz_with_idle_flood) {
  struct rlimit rl;
  ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  ck_assert_msg(rl.rlim_max >= E2E_IDLE_CONNS + 1100,
                "open-file hard limit %lu too low", (unsigned long)rl.rlim_max);
  rl.rlim_cur = rl.rlim_max;
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  const char *extra[] = {"HTTP_MAX_CONNECTIONS_PER_IP=4096",
                         "HTTP_CONNECTION_TIMEOUT=60s", NULL};
  static pod p;
  g_child_nofile = 1024;
  pod_start(&p, "pod-flood", extra);
  g_child_nofile = 0;
  ck_assert(wait_ready(&p, 15000));
  char want[64];
  snprintf(want, sizeof want, "open files limit nofile=%lu",
           (unsigned long)rl.rlim_max);
  ck_assert_msg(log_has(&p, want), "no \"%s\" in the log", want);
  static int fds[E2E_IDLE_CONNS];
  for (int i = 0; i < E2E_IDLE_CONNS; i++) {
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
  printf("  /healthz with %d idle connections: slowest curl %lld ms\n",
         E2E_IDLE_CONNS, worst);
  /* accepted by the daemon, not just queued by the kernel: it has a
   * descriptor for each */
  char fddir[64];
  snprintf(fddir, sizeof fddir, "/proc/%d/fd", (int)p.pid);
  DIR *dir = opendir(fddir);
  ck_assert_ptr_nonnull(dir);
  int nfd = 0;
  while (readdir(dir)) nfd++;
  closedir(dir);
  ck_assert_msg(nfd >= E2E_IDLE_CONNS, "daemon has %d descriptors", nfd);
  /* the daemon held every one of them (none closed) */
  int open = 0;
  for (int i = 0; i < E2E_IDLE_CONNS; i++) {
    char b;
    ssize_t r = recv(fds[i], &b, 1, MSG_DONTWAIT);
    open += r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    close(fds[i]);
  }
  ck_assert_int_eq(open, E2E_IDLE_CONNS);
  ck_assert_int_eq(pod_term(&p), 0);
}
END_TEST

/* HTTP_ADDR=127.0.0.1: served there, refused on another loopback
 * address. */
START_TEST(http_addr_binds_one_address) {
  const char *extra[] = {"HTTP_ADDR=127.0.0.1", NULL};
  static pod p;
  pod_start(&p, "pod-addr", extra);
  ck_assert(wait_ready(&p, 15000));
  ck_assert(log_has(&p, "HTTP server listening addr=127.0.0.1"));
  ck_assert_int_eq(http_status(p.port, "GET", "/healthz", NULL), 200);
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
  ck_assert_int_eq(pod_term(&p), 0);
}
END_TEST

int main(void) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return EXIT_FAILURE;
  self[n] = 0;
  snprintf(g_daemon, sizeof g_daemon, "%s/../agentrecoverd", dirname(self));
  if (access(g_daemon, X_OK) != 0) {
    fprintf(stderr, "test_host_e2e: %s not built\n", g_daemon);
    return EXIT_FAILURE;
  }
  snprintf(g_logdir, sizeof g_logdir, "/tmp/arec-e2e.XXXXXX");
  if (!mkdtemp(g_logdir)) return EXIT_FAILURE;
  if (arec_test_pg_start(&g_pg) != 0 || arec_test_redis_start(&g_redis) != 0)
    return EXIT_FAILURE;
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  arec_pg *pg = NULL;
  if (arec_pg_new(&pg, &o) != 0 || arec_pg_migrate(pg, NULL) != 0) {
    fprintf(stderr, "migrate failed: %s\n", arec_error_last());
    return EXIT_FAILURE;
  }
  arec_pg_free(pg);
  Suite *s = suite_create("host_e2e");
  TCase *tc = tcase_create("processes");
  tcase_set_timeout(tc, 90);
  tcase_add_test(tc, failover_and_graceful_handover);
  tcase_add_test(tc, rolling_restart_keeps_every_agent);
  tcase_add_test(tc, redis_down_at_start_then_back);
  tcase_add_test(tc, database_down_exits_1);
  tcase_add_loop_test(tc, invalid_env_exits_2, 0,
                      (int)(sizeof bad_env / sizeof *bad_env));
  tcase_add_test(tc, help_lists_variables);
  tcase_add_test(tc, recovery_disabled_ready_at_once);
  tcase_add_test(tc, postgres_lock_backend_failover);
  tcase_add_test(tc, redis_pod_lease_failover);
  tcase_add_test(tc, api_over_http_bad_inputs_and_metrics);
  tcase_add_test(tc, healthz_with_idle_flood);
  tcase_add_test(tc, http_addr_binds_one_address);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  arec_test_redis_stop(&g_redis);
  arec_test_pg_stop(&g_pg);
  if (failed)
    fprintf(stderr, "test_host_e2e: pod logs kept in %s\n", g_logdir);
  else {
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_logdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_logdir);
  }
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
