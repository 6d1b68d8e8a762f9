/*
 * daemon.c -- the process harness of daemon.h.
 *
 * How: fork + execve with the given environment only; the child sets
 * PR_SET_PDEATHSIG(SIGKILL) (and exits at once if its parent is already
 * gone), unblocks every signal and sends stdout/stderr to its log.  Every
 * started process is recorded in a table; an atexit handler of the process
 * that started them sends SIGKILL by pid and reaps whatever is still there
 * (Check's test children start their own pods, and their handler is
 * theirs).  Ports handed out are remembered so that two pods of one run
 * never get the same port before either has bound it.
 *
 * Never: kill by name, signal a pid that was already reaped, or pass the
 * caller's environment on.
 */
#include "daemon.h"

#include <arpa/inet.h>
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ----------------------------------------------------------------- misc */
void arec_test_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

int arec_test_port(void) {
  static int used[256];
  static size_t n;
  for (int tries = 0; tries < 1000; tries++) {
    int p = arec_test_free_port(), dup = 0;
    for (size_t i = 0; i < n; i++) dup |= used[i] == p;
    if (dup || p <= 0) continue;
    if (n < sizeof used / sizeof *used) used[n++] = p;
    return p;
  }
  return -1;
}

/* ---------------------------------------------------------- environment */
void arec_test_env_init(arec_test_env *e) {
  memset(e, 0, sizeof *e);
  arec_test_env_set(e, "PATH=/usr/bin:/bin");
}

static size_t name_len(const char *kv) { return strcspn(kv, "="); }

void arec_test_env_unset(arec_test_env *e, const char *name) {
  size_t nl = strlen(name);
  for (size_t i = 0; i < e->n; i++)
    if (name_len(e->vars[i]) == nl && !strncmp(e->vars[i], name, nl)) {
      free(e->vars[i]);
      e->vars[i] = e->vars[--e->n];
      e->vars[e->n] = NULL;
      return;
    }
}

void arec_test_env_set(arec_test_env *e, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char name[256];
  snprintf(name, sizeof name, "%.*s", (int)name_len(buf), buf);
  arec_test_env_unset(e, name);
  if (e->n < AREC_TEST_ENV_MAX) {
    e->vars[e->n++] = strdup(buf);
    e->vars[e->n] = NULL;
  }
}

const char *arec_test_env_get(const arec_test_env *e, const char *name) {
  size_t nl = strlen(name);
  for (size_t i = 0; i < e->n; i++)
    if (name_len(e->vars[i]) == nl && !strncmp(e->vars[i], name, nl))
      return e->vars[i] + nl + 1;
  return NULL;
}

void arec_test_env_free(arec_test_env *e) {
  for (size_t i = 0; i < e->n; i++) free(e->vars[i]);
  memset(e, 0, sizeof *e);
}

void arec_test_pod_env(arec_test_env *e, const arec_test_pg *pg,
                       const char *database_url, const arec_test_redis *r,
                       const char *name, int port) {
  arec_test_env_init(e);
  arec_test_env_set(e, "DATABASE_URL=%s",
                    database_url ? database_url : pg->conninfo);
  arec_test_env_set(e, "DATABASE_CONNECT_TIMEOUT=5s");
  if (r) {
    arec_test_env_set(e, "REDIS_HOST=127.0.0.1");
    arec_test_env_set(e, "REDIS_PORT=%d", r->port);
  } else {
    arec_test_env_set(e, "AGENT_LOCK_BACKEND=postgres");
  }
  arec_test_env_set(e, "POD_NAME=%s", name);
  arec_test_env_set(e, "HTTP_PORT=%d", port);
  arec_test_env_set(e, "HTTP_ADDR=127.0.0.1");
  arec_test_env_set(e, "ADMIN_TOKEN=%s", AREC_TEST_ADMIN_TOKEN);
  arec_test_env_set(e, "AGENT_SECRETS_KEY=%s", AREC_TEST_KEY);
  arec_test_env_set(e, "AGENT_LOCK_TTL=%dms", AREC_TEST_LOCK_TTL_MS);
  arec_test_env_set(e, "AGENT_RECONCILE_INTERVAL=%dms", AREC_TEST_RECONCILE_MS);
  arec_test_env_set(e, "AGENT_SAVE_INTERVAL=1s");
  arec_test_env_set(e, "AGENT_WORKERS=4");
  arec_test_env_set(e, "SHUTDOWN_TIMEOUT=5s");
}

/* ------------------------------------------------------------ processes */
#define MAX_PROCS 64
static struct {
  pid_t owner;
  pid_t pids[MAX_PROCS];
} g_procs;

static void kill_all(void) {
  if (g_procs.owner != getpid()) return;
  for (int i = 0; i < MAX_PROCS; i++)
    if (g_procs.pids[i] > 0) {
      kill(g_procs.pids[i], SIGKILL);
      waitpid(g_procs.pids[i], NULL, 0);
      g_procs.pids[i] = 0;
    }
}

static void track(pid_t pid) {
  if (g_procs.owner != getpid()) { /* first spawn of this process */
    memset(&g_procs, 0, sizeof g_procs);
    g_procs.owner = getpid();
    atexit(kill_all);
  }
  for (int i = 0; i < MAX_PROCS; i++)
    if (g_procs.pids[i] <= 0) {
      g_procs.pids[i] = pid;
      return;
    }
}

static void untrack(pid_t pid) {
  if (g_procs.owner != getpid()) return;
  for (int i = 0; i < MAX_PROCS; i++)
    if (g_procs.pids[i] == pid) g_procs.pids[i] = 0;
}

int arec_test_proc_spawn(arec_test_proc *p, const char *name,
                         const char *const *argv, const arec_test_env *env,
                         const char *log) {
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->log, sizeof p->log, "%s", log);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) dup2(nul, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execve(argv[0], (char *const *)argv, (char *const *)env->vars);
    _exit(127);
  }
  p->pid = pid;
  track(pid);
  return 0;
}

static int reap(arec_test_proc *p, int options) {
  int st = 0;
  pid_t r = waitpid(p->pid, &st, options);
  if (r != p->pid) return 0;
  untrack(p->pid);
  p->pid = 0;
  p->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  p->exited_ms = arec_test_now_ms();
  return 1;
}

int arec_test_proc_wait(arec_test_proc *p, long timeout_ms) {
  long long end = arec_test_now_ms() + timeout_ms;
  while (p->pid > 0) {
    if (reap(p, WNOHANG)) break;
    if (arec_test_now_ms() >= end) return -2;
    arec_test_sleep_ms(5);
  }
  return p->status;
}

void arec_test_proc_signal(arec_test_proc *p, int sig) {
  if (p->pid > 0) kill(p->pid, sig);
}

void arec_test_proc_kill(arec_test_proc *p) {
  if (p->pid <= 0) return;
  kill(p->pid, SIGKILL);
  reap(p, 0);
}

int arec_test_proc_alive(arec_test_proc *p) {
  if (p->pid <= 0) return 0;
  return !reap(p, WNOHANG);
}

/* ------------------------------------------------------------------ pods */
const char *arec_test_daemon_path(void) {
  static char path[PATH_MAX];
  if (!path[0]) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return "build/agentrecoverd";
    self[n] = 0;
    snprintf(path, sizeof path, "%s/../agentrecoverd", dirname(self));
  }
  return path;
}

static struct {
  char dir[64];
  pid_t owner;
  int keep;
} g_logs;

static void remove_logs(void) {
  if (g_logs.owner != getpid() || g_logs.keep || !g_logs.dir[0]) return;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_logs.dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_logs.dir);
}

const char *arec_test_logdir(void) {
  if (!g_logs.dir[0]) {
    snprintf(g_logs.dir, sizeof g_logs.dir, "/tmp/arec-e2e.XXXXXX");
    if (!mkdtemp(g_logs.dir)) snprintf(g_logs.dir, sizeof g_logs.dir, "/tmp");
    g_logs.owner = getpid();
    g_logs.keep = getenv("AREC_TEST_KEEP_LOGS") != NULL;
    atexit(remove_logs);
  }
  return g_logs.dir;
}

void arec_test_keep_logs(void) {
  g_logs.keep = 1;
  fprintf(stderr, "logs kept in %s\n", arec_test_logdir());
}

int arec_test_daemon_start(arec_test_daemon *d, const char *name,
                           const arec_test_env *env,
                           const char *const *args) {
  const char *port = arec_test_env_get(env, "HTTP_PORT");
  d->port = port ? atoi(port) : 8080;
  const char *argv[8] = {arec_test_daemon_path()};
  for (size_t i = 0; args && args[i] && i < 6; i++) argv[i + 1] = args[i];
  char log[320];
  snprintf(log, sizeof log, "%s/%s.log", arec_test_logdir(), name);
  return arec_test_proc_spawn(&d->proc, name, argv, env, log);
}

int arec_test_daemon_ready(arec_test_daemon *d, long timeout_ms) {
  long long end = arec_test_now_ms() + timeout_ms;
  while (arec_test_now_ms() < end) {
    if (!arec_test_proc_alive(&d->proc)) return 0;
    if (arec_test_http(d->port, "GET", "/ready", NULL, NULL, NULL, NULL) ==
        200)
      return 1;
    arec_test_sleep_ms(50);
  }
  return 0;
}

int arec_test_daemon_term(arec_test_daemon *d, long timeout_ms) {
  arec_test_proc_signal(&d->proc, SIGTERM);
  int rc = arec_test_proc_wait(&d->proc, timeout_ms);
  if (rc == -2) arec_test_proc_kill(&d->proc);
  return rc;
}

/* ------------------------------------------------------------ faultproxy */
/* tools/faultproxy of this build: next to the test binary's directory
 * (build/tests/..), or one further up (build/asan/tests/..). */
static const char *faultproxy_path(void) {
  static char path[PATH_MAX];
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = 0;
  const char *dir = dirname(self);
  snprintf(path, sizeof path, "%s/../tools/faultproxy", dir);
  if (access(path, X_OK) != 0)
    snprintf(path, sizeof path, "%s/../../tools/faultproxy", dir);
  return path;
}

int arec_test_faultproxy_cmd(int control, const char *cmd) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_port = htons((uint16_t)control);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char line[64], ans[64] = "";
  int len = snprintf(line, sizeof line, "%s\n", cmd);
  int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
           write(fd, line, (size_t)len) == len &&
           read(fd, ans, sizeof ans - 1) > 0 && !strncmp(ans, "ok", 2);
  close(fd);
  return ok ? 0 : -1;
}

int arec_test_faultproxy_start(arec_test_proc *p, int listen, int target,
                               int control) {
  char lp[16], tp[16], cp[16], log[320];
  snprintf(lp, sizeof lp, "%d", listen);
  snprintf(tp, sizeof tp, "%d", target);
  snprintf(cp, sizeof cp, "%d", control);
  snprintf(log, sizeof log, "%s/faultproxy.log", arec_test_logdir());
  const char *argv[] = {faultproxy_path(), lp, tp, cp, NULL};
  arec_test_env e;
  arec_test_env_init(&e);
  int rc = arec_test_proc_spawn(p, "faultproxy", argv, &e, log);
  arec_test_env_free(&e);
  long long end = arec_test_now_ms() + 5000;
  while (rc == 0 && arec_test_faultproxy_cmd(control, "pass") != 0)
    if (!arec_test_proc_alive(p) || arec_test_now_ms() >= end)
      rc = -1;
    else
      arec_test_sleep_ms(20);
  return rc;
}

/* ------------------------------------------------------------------- logs */
char *arec_test_log(const arec_test_proc *p) {
  FILE *f = fopen(p->log, "r");
  size_t cap = 8192, len = 0, r;
  char *b = malloc(cap);
  while (f && b && (r = fread(b + len, 1, cap - len - 1, f)) > 0) {
    len += r;
    if (len + 1 == cap) {
      char *nb = realloc(b, cap *= 2);
      if (!nb) break;
      b = nb;
    }
  }
  if (f) fclose(f);
  if (!b) return strdup("");
  b[len] = 0;
  return b;
}

int arec_test_log_has(const arec_test_proc *p, const char *needle) {
  char *b = arec_test_log(p);
  int yes = b && strstr(b, needle) != NULL;
  free(b);
  return yes;
}

int arec_test_log_wait(const arec_test_proc *p, const char *needle,
                       long timeout_ms) {
  long long end = arec_test_now_ms() + timeout_ms;
  for (;;) {
    if (arec_test_log_has(p, needle)) return 1;
    if (arec_test_now_ms() >= end) return 0;
    arec_test_sleep_ms(50);
  }
}

/* ------------------------------------------------------------------- HTTP */
int arec_test_http(int port, const char *method, const char *path,
                   const char *token, const char *headers, const char *body,
                   char **out) {
  return arec_test_http_full(port, method, path, token, headers, body, NULL,
                             out);
}

int arec_test_http_full(int port, const char *method, const char *path,
                        const char *token, const char *headers,
                        const char *body, char **head, char **out) {
  if (out) *out = NULL;
  if (head) *head = NULL;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
  char auth[300] = "";
  if (token)
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
  char req[2048];
  int hl = snprintf(req, sizeof req,
                    "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s%sContent-Type: "
                    "application/json\r\nContent-Length: %zu\r\n\r\n",
                    method, path, auth, headers ? headers : "", blen);
  if (hl < 0 || (size_t)hl >= sizeof req ||
      send(fd, req, (size_t)hl, MSG_NOSIGNAL) != hl) {
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
  while (buf && (r = read(fd, buf + len, cap - len - 1)) > 0) {
    len += (size_t)r;
    if (len + 1 == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) break;
      buf = nb;
    }
  }
  close(fd);
  if (!buf) return -1;
  buf[len] = 0;
  int status = -1;
  if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = -1;
  char *b = strstr(buf, "\r\n\r\n");
  if (out) *out = strdup(b ? b + 4 : "");
  if (head) *head = b ? strndup(buf, (size_t)(b - buf)) : strdup(buf);
  free(buf);
  return status;
}

/* ------------------------------------------------------------------ seed */
static int post(int port, const char *token, const char *path,
                const char *body, int want, char **out) {
  char *b = NULL;
  int st = arec_test_http(port, "POST", path, token, NULL, body, &b);
  if (st != want) {
    fprintf(stderr, "seed: POST %s %s -> %d %s (want %d)\n", path, body, st,
            b ? b : "", want);
    free(b);
    return -1;
  }
  if (out)
    *out = b;
  else
    free(b);
  return 0;
}

int arec_test_seed(int port, const char *token, long long uid,
                   const char *symbol, const char *strategy,
                   const char *const *ids) {
  char path[160], body[400], *out = NULL;
  snprintf(body, sizeof body, "{\"id\": %lld, \"name\": \"e2e\"}", uid);
  if (post(port, token, "/api/users", body, 201, NULL)) return -1;
  snprintf(path, sizeof path, "/api/users/%lld/exchanges", uid);
  if (post(port, token, path,
           "{\"exchange\": \"binance\", \"api_key\": \"k\", "
           "\"api_secret\": \"s\", \"testnet\": true}",
           201, &out))
    return -1;
  const char *idp = strstr(out, "\"id\":");
  long long exid = idp ? atoll(idp + 5) : 0;
  free(out);
  snprintf(path, sizeof path, "/api/users/%lld/pairs", uid);
  snprintf(body, sizeof body, "{\"exchange_id\": %lld, \"symbol\": \"%s\"}",
           exid, symbol);
  if (post(port, token, path, body, 201, NULL)) return -1;
  for (size_t i = 0; ids && ids[i]; i++) {
    snprintf(body, sizeof body,
             "{\"user_id\": %lld, \"strategy\": \"%s\", \"name\": "
             "\"agent %zu\", \"id\": \"%s\"}",
             uid, strategy, i + 1, ids[i]);
    if (post(port, token, "/api/agents", body, 201, NULL)) return -1;
    snprintf(path, sizeof path, "/api/agents/%s/assign", ids[i]);
    snprintf(body, sizeof body, "{\"symbol\": \"%s\", \"balance\": 500}",
             symbol);
    if (post(port, token, path, body, 201, NULL)) return -1;
  }
  return 0;
}
