/*
 * harness_redis.c -- the Redis half of tests/support/harness.h: throwaway
 * redis-server 7 processes on free loopback ports, each in its own temp dir
 * (`--save '' --appendonly no`, pidfile and log in the dir), ready when PING
 * answers; pause (SIGSTOP), cont, kill (SIGKILL and wait), restart empty on
 * the same port, one-shot commands through redis-cli.
 *
 * Cleanup, pass or fail, only in the process that started the server
 * (Check's forked children never run it): an atexit handler and handlers
 * for SIGINT/SIGTERM/SIGHUP (chained to the previous disposition) kill by
 * the pid in the pidfile and by the recorded pid, and remove the dir; a
 * server started by the owner also gets PR_SET_PDEATHSIG, so a crash of the
 * owner takes it down.  A server restarted from a forked test child is found
 * by the owner through the pidfile.  Must never kill by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "harness.h"

#define MAX_REDIS 16
static arec_test_redis *g_redis[MAX_REDIS];
static int g_installed;
static struct sigaction g_old[3];
static const int g_sigs[3] = {SIGINT, SIGTERM, SIGHUP};

/* --------------------------------------------------------------- helpers */
static pid_t read_pidfile(const char *dir) {
  char path[300], buf[32];
  int fd;
  ssize_t n;
  snprintf(path, sizeof path, "%s/redis.pid", dir);
  fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  return (pid_t)atoi(buf);
}

/* Gone or a zombie (a server restarted by a forked child is not ours to
 * reap). */
static int proc_gone(pid_t pid) {
  char path[64], buf[256];
  FILE *f;
  int st;
  if (waitpid(pid, &st, WNOHANG) == pid)
    return 1;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  f = fopen(path, "r");
  if (!f)
    return 1;
  if (!fgets(buf, sizeof buf, f))
    buf[0] = '\0';
  fclose(f);
  {
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
  }
}

static void kill_wait(pid_t pid) {
  long long t0 = arec_test_now_ms();
  if (pid <= 0)
    return;
  kill(pid, SIGCONT);
  if (kill(pid, SIGKILL) != 0)
    return;
  while (!proc_gone(pid) && arec_test_now_ms() - t0 < 5000)
    usleep(2000);
}

static void remove_dir(const char *dir) {
  static const char *files[] = {"redis.pid", "redis.log", "dump.rdb"};
  char path[300];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* Async-signal-safe enough: kill, open/read, unlink, rmdir. */
static void stop_quiet(arec_test_redis *r) {
  pid_t p = read_pidfile(r->dir);
  if (p > 0 && p != r->pid)
    kill(p, SIGKILL);
  if (r->pid > 0)
    kill(r->pid, SIGKILL);
}

static void cleanup_all(void) {
  for (int i = 0; i < MAX_REDIS; i++)
    if (g_redis[i] && g_redis[i]->owner == getpid())
      arec_test_redis_stop(g_redis[i]);
}

static void on_signal(int sig) {
  for (int i = 0; i < MAX_REDIS; i++)
    if (g_redis[i] && g_redis[i]->owner == getpid()) {
      stop_quiet(g_redis[i]);
      remove_dir(g_redis[i]->dir);
    }
  for (int k = 0; k < 3; k++)
    if (g_sigs[k] == sig) {
      sigaction(sig, &g_old[k], NULL);
      break;
    }
  raise(sig);
}

static void install_cleanup(arec_test_redis *r) {
  for (int i = 0; i < MAX_REDIS; i++)
    if (g_redis[i] == r)
      return;
  for (int i = 0; i < MAX_REDIS; i++)
    if (!g_redis[i]) {
      g_redis[i] = r;
      break;
    }
  if (!g_installed) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int k = 0; k < 3; k++)
      sigaction(g_sigs[k], &sa, &g_old[k]);
    atexit(cleanup_all);
    g_installed = 1;
  }
}

static int ping_ok(int port) {
  struct timeval tv = {0, 200000};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
  int ok = 0;
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    redisReply *rep = redisCommand(c, "PING");
    ok = rep && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;
    if (rep)
      freeReplyObject(rep);
  }
  if (c)
    redisFree(c);
  return ok;
}

static int spawn(arec_test_redis *r) {
  char port[16], pidf[300], logf[300];
  pid_t starter = getpid();
  pid_t pid;
  long long t0;
  snprintf(port, sizeof port, "%d", r->port);
  snprintf(pidf, sizeof pidf, "%s/redis.pid", r->dir);
  snprintf(logf, sizeof logf, "%s/redis.log", r->dir);
  unlink(pidf);
  pid = fork();
  if (pid < 0) {
    fprintf(stderr, "harness: fork: %s\n", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    if (starter == r->owner)
      prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != starter)
      _exit(127);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    for (int fd = 3; fd < 1024; fd++)
      close(fd);
    setpgid(0, 0); /* a ^C to the test's group reaches the handler only */
    execlp("redis-server", "redis-server", "--port", port, "--bind",
           "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize",
           "no", "--dir", r->dir, "--pidfile", pidf, "--logfile", logf,
           (char *)NULL);
    _exit(127);
  }
  r->pid = pid;
  t0 = arec_test_now_ms();
  while (arec_test_now_ms() - t0 < 10000) {
    if (ping_ok(r->port))
      return 0;
    if (proc_gone(pid)) {
      fprintf(stderr, "harness: redis-server on port %d exited (see %s)\n",
              r->port, logf);
      return -1;
    }
    usleep(10000);
  }
  fprintf(stderr, "harness: redis-server on port %d not ready in 10 s\n",
          r->port);
  kill_wait(pid);
  return -1;
}

/* ------------------------------------------------------------------- API */
int arec_test_redis_start(arec_test_redis *r) {
  memset(r, 0, sizeof *r);
  if (arec_test_tmpdir(r->dir, sizeof r->dir, "redis") != 0)
    return -1;
  r->owner = getpid();
  install_cleanup(r);
  for (int attempt = 0; attempt < 3; attempt++) {
    r->port = arec_test_free_port();
    if (r->port > 0 && spawn(r) == 0)
      return 0;
  }
  return -1;
}

/* The server's current pid: a forked test child may have restarted it. */
static pid_t current_pid(arec_test_redis *r) {
  pid_t p = read_pidfile(r->dir);
  if (p > 0 && p != r->pid && !proc_gone(p))
    r->pid = p;
  return r->pid;
}

int arec_test_redis_pause(arec_test_redis *r) {
  return kill(current_pid(r), SIGSTOP) == 0 ? 0 : -1;
}

int arec_test_redis_cont(arec_test_redis *r) {
  return kill(current_pid(r), SIGCONT) == 0 ? 0 : -1;
}

int arec_test_redis_kill(arec_test_redis *r) {
  pid_t old = r->pid;
  kill_wait(current_pid(r));
  if (old != r->pid)
    kill_wait(old); /* reaps our own child, if it was one */
  return 0;
}

int arec_test_redis_restart(arec_test_redis *r) {
  arec_test_redis_kill(r);
  return spawn(r);
}

int arec_test_redis_cli(const arec_test_redis *r, char **out, const char *fmt,
                        ...) {
  char args[2048], cmd[2300], buf[4096];
  size_t len = 0, cap = 0;
  char *res = NULL;
  va_list ap;
  FILE *p;
  int st;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "redis-cli -h 127.0.0.1 -p %d %s 2>&1", r->port,
           args);
  if (out)
    *out = NULL;
  p = popen(cmd, "r");
  if (!p) {
    fprintf(stderr, "harness: popen redis-cli failed\n");
    return -1;
  }
  for (;;) {
    size_t k = fread(buf, 1, sizeof buf, p);
    if (k == 0)
      break;
    if (len + k + 1 > cap) {
      cap = (len + k + 1) * 2;
      char *nr = realloc(res, cap);
      if (!nr)
        break;
      res = nr;
    }
    memcpy(res + len, buf, k);
    len += k;
  }
  st = pclose(p);
  if (res)
    res[len] = '\0';
  if (out)
    *out = res ? res : calloc(1, 1);
  else
    free(res);
  if (st != 0) {
    fprintf(stderr, "harness: '%s' exited with %d\n", cmd, st);
    return -1;
  }
  return 0;
}

void arec_test_redis_stop(arec_test_redis *r) {
  if (!r->dir[0])
    return;
  arec_test_redis_kill(r);
  remove_dir(r->dir);
  for (int i = 0; i < MAX_REDIS; i++)
    if (g_redis[i] == r)
      g_redis[i] = NULL;
  r->dir[0] = '\0';
  r->pid = 0;
}
