/*
 * harness_pg.c -- the PostgreSQL half of tests/support/harness.h (plus the
 * shared arec_test_free_port / arec_test_now_ms / arec_test_tmpdir): a
 * throwaway PostgreSQL 15 per test binary.
 *
 * How: mkdtemp under /tmp; as root the dir is chowned to `postgres` and
 * initdb/pg_ctl run through `runuser -u postgres --` (initdb refuses root);
 * pg_ctl starts the server on a free loopback port with its socket in the
 * dir and fsync off; `CREATE DATABASE arec`.  Cleanup, pass or fail: an
 * atexit handler in the process that started the server (Check's forked
 * children never run it), plus a reaper child per server that waits for
 * the starter to die (EOF on a pipe only the starter holds) and then
 * SIGQUITs the postmaster by pid and removes the dir -- that covers signals
 * and crashes without fighting sanitizers over signal handlers.
 * Must never: leave a server running or a dir behind, kill by name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ------------------------------------------------------------ shared bits */
/* Ports come from below the kernel's ephemeral range: a port from that
 * range can be taken by any outgoing connection's local end (this
 * process's clients, another program's) while a server that had it is
 * being restarted on it, and the restart then fails to bind.  A random
 * start per process keeps parallel test processes apart; each candidate is
 * checked free by binding it. */
static void ephemeral_low(int *low) {
  *low = 32768;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  if (f) {
    int lo = 0, hi = 0;
    if (fscanf(f, "%d %d", &lo, &hi) == 2 && lo > 1024)
      *low = lo;
    fclose(f);
  }
}

static int bind_free(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((unsigned short)port);
  socklen_t len = sizeof a;
  int got = -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    got = ntohs(a.sin_port);
  close(fd);
  return got;
}

int arec_test_free_port(void) {
  static unsigned int seed;
  int low = 0;
  ephemeral_low(&low);
  int base = low > 12000 ? low - 11000 : 1025, span = low - base;
  if (!seed)
    seed = (unsigned int)getpid() * 2654435761u ^ (unsigned int)time(NULL);
  for (int i = 0; span > 0 && i < 200; i++) {
    seed = seed * 1103515245u + 12345u;
    int p = bind_free(base + (int)((seed >> 8) % (unsigned int)span));
    if (p > 0)
      return p;
  }
  return bind_free(0); /* no room below the range: the kernel's choice */
}

int arec_test_tmpdir(char *dir, size_t len, const char *what) {
  snprintf(dir, len, "/tmp/arec-%s.XXXXXX", what);
  if (!mkdtemp(dir)) {
    fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

long long arec_test_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -------------------------------------------------------------- processes */
static const char *bindir(void) {
  const char *e = getenv("AREC_PG_BINDIR");
  if (e && *e)
    return e;
  static const char *cands[] = {"/usr/lib/postgresql/15/bin",
                                "/usr/lib/postgresql/16/bin",
                                "/usr/lib/postgresql/17/bin"};
  for (size_t i = 0; i < sizeof cands / sizeof *cands; i++) {
    char p[300];
    snprintf(p, sizeof p, "%s/pg_ctl", cands[i]);
    if (access(p, X_OK) == 0)
      return cands[i];
  }
  return cands[0];
}

/* Runs argv (as `postgres` when root and as_pg), stdout+stderr appended to
 * `logpath` (or captured into *out when out != NULL).  Returns exit code. */
static int run(int as_pg, const char *logpath, char **out, char *const argv[]) {
  int pfd[2] = {-1, -1};
  if (out && pipe(pfd) != 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    if (out) {
      dup2(pfd[1], 1);
      close(pfd[0]);
      close(pfd[1]);
      int lf = open(logpath ? logpath : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (lf >= 0)
        dup2(lf, 2);
    } else {
      int lf = open(logpath ? logpath : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (lf >= 0) {
        dup2(lf, 1);
        dup2(lf, 2);
      }
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0)
      dup2(nul, 0);
    if (as_pg && geteuid() == 0) {
      char *args[64];
      int n = 0;
      args[n++] = "runuser";
      args[n++] = "-u";
      args[n++] = "postgres";
      args[n++] = "--";
      for (int i = 0; argv[i] && n < 63; i++)
        args[n++] = argv[i];
      args[n] = NULL;
      execvp("runuser", args);
    } else {
      execvp(argv[0], argv);
    }
    _exit(127);
  }
  if (out) {
    close(pfd[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
      if (buf && len + 1024 > cap) {
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
          free(buf);
          buf = NULL;
        } else {
          buf = nb;
          cap *= 2;
        }
      }
      char tmp[1024];
      ssize_t r = read(pfd[0], buf ? buf + len : tmp, buf ? cap - len - 1 : sizeof tmp);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      if (buf)
        len += (size_t)r;
    }
    close(pfd[0]);
    if (buf)
      buf[len] = 0;
    *out = buf;
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void rm_rf(const char *path) {
  char *argv[] = {"rm", "-rf", (char *)path, NULL};
  run(0, NULL, NULL, argv);
}

static pid_t postmaster_pid(const char *dir) {
  char p[300];
  snprintf(p, sizeof p, "%s/pg/postmaster.pid", dir);
  FILE *f = fopen(p, "r");
  if (!f)
    return -1;
  long v = -1;
  if (fscanf(f, "%ld", &v) != 1)
    v = -1;
  fclose(f);
  return (pid_t)v;
}

/* Immediate stop by pid: SIGCONT (in case a test stopped it), SIGQUIT,
 * wait up to 10 s, then SIGKILL. */
static void kill_postmaster(const char *dir) {
  pid_t pid = postmaster_pid(dir);
  if (pid <= 0)
    return;
  kill(pid, SIGCONT);
  kill(pid, SIGQUIT);
  for (int i = 0; i < 1000 && kill(pid, 0) == 0; i++) {
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
    waitpid(pid, NULL, WNOHANG);
  }
  if (kill(pid, 0) == 0)
    kill(pid, SIGKILL);
}

/* ----------------------------------------------------------- registration */
#define MAX_PG 8
static arec_test_pg *g_pgs[MAX_PG];
static int g_atexit;

static void cleanup_all(void) {
  for (int i = 0; i < MAX_PG; i++)
    if (g_pgs[i] && g_pgs[i]->owner == getpid())
      arec_test_pg_stop(g_pgs[i]);
}

/* A child that outlives the starter: when the pipe's write end (held only
 * by the starter and its forks) closes, it stops the server and removes the
 * dir. */
static int start_reaper(const char *dir) {
  int p[2];
  if (pipe(p) != 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    setsid();
    for (int fd = 3; fd < 1024; fd++)
      if (fd != p[0])
        close(fd);
    char c;
    while (read(p[0], &c, 1) != 0 && errno == EINTR)
      ;
    kill_postmaster(dir);
    rm_rf(dir);
    _exit(0);
  }
  close(p[0]);
  fcntl(p[1], F_SETFD, FD_CLOEXEC);
  /* The write end stays open in this process until it exits. */
  return 0;
}

/* ------------------------------------------------------------- PostgreSQL */
static int pg_ctl_start(arec_test_pg *pg) {
  char ctl[300], data[300], log[300], opts[600];
  snprintf(ctl, sizeof ctl, "%s/pg_ctl", bindir());
  snprintf(data, sizeof data, "%s/pg", pg->dir);
  snprintf(log, sizeof log, "%s/pg.log", pg->dir);
  snprintf(opts, sizeof opts,
           /* fsync off is safe for a throwaway server, but commits must
            * reach the WAL before they return (synchronous_commit stays
            * on): tests stop the server with -m immediate and expect every
            * committed row back after the restart. */
           "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off "
           "-c full_page_writes=off "
           "-c max_connections=200",
           pg->port, pg->dir);
  char *argv[] = {ctl, "-D", data, "-l", log, "-w", "-t", "30", "start",
                  "-o", opts, NULL};
  return run(1, NULL, NULL, argv);
}

int arec_test_pg_start(arec_test_pg *pg) {
  memset(pg, 0, sizeof *pg);
  if (arec_test_tmpdir(pg->dir, sizeof pg->dir, "pg") != 0)
    return -1;
  pg->owner = getpid();
  if (geteuid() == 0) {
    char *argv[] = {"chown", "postgres:", pg->dir, NULL};
    if (run(0, NULL, NULL, argv) != 0) {
      fprintf(stderr, "harness: chown postgres %s failed\n", pg->dir);
      rm_rf(pg->dir);
      return -1;
    }
  }
  int slot = -1;
  for (int i = 0; i < MAX_PG; i++)
    if (!g_pgs[i]) {
      slot = i;
      break;
    }
  if (slot < 0) {
    fprintf(stderr, "harness: too many servers\n");
    return -1;
  }
  g_pgs[slot] = pg;
  if (!g_atexit) {
    atexit(cleanup_all);
    g_atexit = 1;
  }
  start_reaper(pg->dir);

  char initdb[300], data[300], log[300];
  snprintf(initdb, sizeof initdb, "%s/initdb", bindir());
  snprintf(data, sizeof data, "%s/pg", pg->dir);
  snprintf(log, sizeof log, "%s/initdb.log", pg->dir);
  char *iargv[] = {initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E",
                   "UTF8", "--locale=C.UTF-8", "--no-sync", NULL};
  if (run(1, log, NULL, iargv) != 0) {
    fprintf(stderr, "harness: initdb failed, see %s\n", log);
    return -1;
  }
  int started = 0;
  for (int attempt = 0; attempt < 3 && !started; attempt++) {
    pg->port = arec_test_free_port();
    started = pg_ctl_start(pg) == 0;
  }
  if (!started) {
    fprintf(stderr, "harness: pg_ctl start failed, see %s/pg.log\n", pg->dir);
    return -1;
  }
  snprintf(pg->conninfo, sizeof pg->conninfo,
           "host=127.0.0.1 port=%d dbname=arec user=postgres connect_timeout=5",
           pg->port);
  char psql[300], port[16];
  snprintf(psql, sizeof psql, "%s/psql", bindir());
  snprintf(port, sizeof port, "%d", pg->port);
  char *cargv[] = {psql, "-X", "-q", "-h", "127.0.0.1", "-p", port, "-U",
                   "postgres", "-d", "postgres", "-c", "CREATE DATABASE arec",
                   NULL};
  if (run(0, NULL, NULL, cargv) != 0) {
    fprintf(stderr, "harness: CREATE DATABASE arec failed\n");
    return -1;
  }
  return 0;
}

int arec_test_pg_halt(arec_test_pg *pg) {
  char ctl[300], data[300];
  snprintf(ctl, sizeof ctl, "%s/pg_ctl", bindir());
  snprintf(data, sizeof data, "%s/pg", pg->dir);
  char *argv[] = {ctl, "-D", data, "-m", "immediate", "-w", "stop", NULL};
  if (run(1, NULL, NULL, argv) != 0) {
    fprintf(stderr, "harness: pg_ctl stop failed\n");
    return -1;
  }
  return 0;
}

int arec_test_pg_resume(arec_test_pg *pg) {
  if (pg_ctl_start(pg) != 0) {
    fprintf(stderr, "harness: pg_ctl start (resume) failed, see %s/pg.log\n",
            pg->dir);
    return -1;
  }
  return 0;
}

int arec_test_pg_sql(const arec_test_pg *pg, const char *sql, char **out) {
  char psql[300], port[16];
  snprintf(psql, sizeof psql, "%s/psql", bindir());
  snprintf(port, sizeof port, "%d", pg->port);
  char *argv[] = {psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                  "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d",
                  "arec", "-c", (char *)sql, NULL};
  char *buf = NULL;
  int rc = run(0, NULL, &buf, argv);
  if (rc != 0) {
    fprintf(stderr, "harness: psql failed (%d): %s\n", rc, sql);
    free(buf);
    if (out)
      *out = NULL;
    return -1;
  }
  if (out)
    *out = buf;
  else
    free(buf);
  return 0;
}

void arec_test_pg_stop(arec_test_pg *pg) {
  if (!pg->dir[0])
    return;
  kill_postmaster(pg->dir);
  rm_rf(pg->dir);
  for (int i = 0; i < MAX_PG; i++)
    if (g_pgs[i] == pg)
      g_pgs[i] = NULL;
  pg->dir[0] = 0;
}
