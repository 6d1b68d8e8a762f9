/*
 * test_host_pgbouncer.c -- agentrecoverd through PgBouncer (Debian's
 * pgbouncer) in front of the harness's PostgreSQL 15:
 *   - pool_mode = session: a pod migrates and serves through it, runs
 *     agents, is killed (-9) and a second pod, through the same PgBouncer,
 *     takes them over within TTL + reconcile + 1 s;
 *   - pool_mode = transaction: the daemon refuses at start, exit 2, one
 *     line naming the pooling mode (both with the default pools and with
 *     pools of one connection, which are checked through a second one).
 * PgBouncer runs as `postgres` (runuser when root) with -d, a pidfile,
 * auth_type = trust and an auth_file, on a free loopback port, no unix
 * socket; it is stopped by the pid of its pidfile -- by the test, by an
 * atexit handler, or by a reaper child when this process dies.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/daemon.h"
#include "support/harness.h"
#include "support/pods.h"
#include "support/runner.h"

#define SLACK_MS 1500

static arec_test_pg g_pg;
static arec_test_redis g_redis;

/* ------------------------------------------------------------ PgBouncer */
typedef struct bouncer {
  char dir[64];
  int port;
  pid_t pid;
  pid_t owner;
} bouncer;

static bouncer *g_live; /* stopped at exit */

static pid_t read_pid(const bouncer *b) {
  char path[128], buf[32] = "";
  snprintf(path, sizeof path, "%s/pgbouncer.pid", b->dir);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
  fclose(f);
  return (pid_t)atol(buf);
}

static void bouncer_stop(bouncer *b) {
  if (b->pid > 0 && b->owner == getpid()) {
    kill(b->pid, SIGTERM); /* immediate shutdown */
    for (int i = 0; i < 500 && kill(b->pid, 0) == 0; i++)
      arec_test_sleep_ms(10);
    if (kill(b->pid, 0) == 0) kill(b->pid, SIGKILL);
    b->pid = 0;
  }
  if (b->dir[0] && b->owner == getpid()) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", b->dir);
    b->dir[0] = 0;
  }
}

static void stop_live(void) {
  if (g_live) bouncer_stop(g_live);
}

/* A child that outlives a crash of this process: when the pipe closes (we
 * are gone, however) it kills the daemonized PgBouncer by pid. */
static void reaper(const bouncer *b) {
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_t r = fork();
  if (r == 0) {
    close(fds[1]);
    char c;
    while (read(fds[0], &c, 1) < 0 && errno == EINTR) {
    }
    pid_t p = read_pid(b);
    if (p > 0) kill(p, SIGKILL);
    _exit(0);
  }
  close(fds[0]);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC); /* only this process holds it */
}

static int bouncer_start(bouncer *b, const char *mode) {
  memset(b, 0, sizeof *b);
  snprintf(b->dir, sizeof b->dir, "/tmp/arec-pgb.XXXXXX");
  if (!mkdtemp(b->dir)) return -1;
  b->owner = getpid();
  b->port = arec_test_port();
  struct passwd *pw = geteuid() == 0 ? getpwnam("postgres") : NULL;
  if (pw && chown(b->dir, pw->pw_uid, pw->pw_gid) != 0) return -1;
  char ini[128], users[128];
  snprintf(ini, sizeof ini, "%s/pgbouncer.ini", b->dir);
  snprintf(users, sizeof users, "%s/userlist.txt", b->dir);
  FILE *f = fopen(users, "w");
  if (!f) return -1;
  fprintf(f, "\"postgres\" \"\"\n");
  fclose(f);
  f = fopen(ini, "w");
  if (!f) return -1;
  fprintf(f,
          "[databases]\n"
          "arec = host=127.0.0.1 port=%d dbname=arec user=postgres\n"
          "[pgbouncer]\n"
          "listen_addr = 127.0.0.1\n"
          "listen_port = %d\n"
          "unix_socket_dir =\n"
          "auth_type = trust\n"
          "auth_file = %s\n"
          "pool_mode = %s\n"
          "max_client_conn = 400\n"
          "default_pool_size = 60\n"
          "pidfile = %s/pgbouncer.pid\n"
          "logfile = %s/pgbouncer.log\n",
          g_pg.port, b->port, users, mode, b->dir, b->dir);
  fclose(f);
  if (pw) {
    if (chown(ini, pw->pw_uid, pw->pw_gid) != 0 ||
        chown(users, pw->pw_uid, pw->pw_gid) != 0)
      return -1;
  }
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s pgbouncer -d -q %s",
           pw ? "runuser -u postgres --" : "", ini);
  if (system(cmd) != 0) return -1;
  for (int i = 0; i < 500 && !(b->pid = read_pid(b)); i++)
    arec_test_sleep_ms(10);
  if (b->pid <= 0) return -1;
  g_live = b;
  static int registered;
  if (!registered) {
    atexit(stop_live);
    registered = 1;
  }
  reaper(b);
  /* it answers once a connection gets through */
  char url[256];
  snprintf(url, sizeof url, "host=127.0.0.1 port=%d dbname=arec "
                            "user=postgres connect_timeout=2", b->port);
  for (int i = 0; i < 100; i++) {
    snprintf(cmd, sizeof cmd, "psql -X -q -t -d '%s' -c 'SELECT 1' "
                              ">/dev/null 2>&1", url);
    if (system(cmd) == 0) return 0;
    arec_test_sleep_ms(50);
  }
  return -1;
}

static void bouncer_url(const bouncer *b, char *buf, size_t len) {
  snprintf(buf, len, "host=127.0.0.1 port=%d dbname=arec user=postgres "
                     "connect_timeout=5", b->port);
}

START_TEST(session_mode_serves_and_fails_over) {
  static bouncer b;
  ck_assert_msg(bouncer_start(&b, "session") == 0, "pgbouncer did not start");
  char url[256];
  bouncer_url(&b, url, sizeof url);
  static arec_test_daemon p1, p2;
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, url, &g_redis, "pgb-a", arec_test_port());
  const char *migrate[] = {"--migrate", NULL};
  ck_assert_int_eq(arec_test_daemon_start(&p1, "pgb-a", &e, migrate), 0);
  ck_assert_msg(arec_test_daemon_ready(&p1, 20000), "pgb-a not ready");
  ck_assert(arec_test_log_has(&p1.proc, "migrations applied"));
  arec_test_env_set(&e, "POD_NAME=pgb-b");
  arec_test_env_set(&e, "HTTP_PORT=%d", arec_test_port());
  arec_test_pod_run(&p2, "pgb-b", &e, 20000);
  arec_test_env_free(&e);
  const char *ids[] = {"pgb-1", "pgb-2", NULL};
  ck_assert_int_eq(arec_test_seed(p1.port, AREC_TEST_ADMIN_TOKEN, 9701,
                                  "BTC/USDT", "noop", ids), 0);
  for (int i = 0; i < 2; i++) arec_test_pod_start_agent(&p1, ids[i]);
  ck_assert(arec_test_pod_runs(&p1, "pgb-1") && arec_test_pod_runs(&p1, "pgb-2"));
  long long t0 = arec_test_now_ms();
  arec_test_proc_kill(&p1.proc);
  long long bound = AREC_TEST_LOCK_TTL_MS + AREC_TEST_RECONCILE_MS + 1000;
  while ((!arec_test_pod_runs(&p2, "pgb-1") || !arec_test_pod_runs(&p2, "pgb-2")) &&
         arec_test_now_ms() - t0 < bound + SLACK_MS)
    arec_test_sleep_ms(50);
  ck_assert_msg(arec_test_pod_runs(&p2, "pgb-1") && arec_test_pod_runs(&p2, "pgb-2"),
                "not failed over through PgBouncer");
  fprintf(stderr, "pgbouncer (session): kill -9 failover in %lld ms (bound "
                  "%lld)\n", arec_test_now_ms() - t0, bound);
  /* the saves went through PgBouncer too */
  char *out = NULL;
  ck_assert_int_eq(arec_test_http(p2.port, "GET", "/api/agents/pgb-1",
                                  AREC_TEST_ADMIN_TOKEN, NULL, NULL, &out),
                   200);
  ck_assert_ptr_nonnull(strstr(out, "\"running_on\":\"pgb-b\""));
  free(out);
  ck_assert_int_eq(arec_test_daemon_term(&p2, 15000), 0);
  bouncer_stop(&b);
}
END_TEST

/* _i: 0 default pools, 1 pools of one connection each. */
START_TEST(transaction_mode_refused_at_start) {
  static bouncer b;
  ck_assert_msg(bouncer_start(&b, "transaction") == 0,
                "pgbouncer did not start");
  char url[256];
  bouncer_url(&b, url, sizeof url);
  char name[32];
  snprintf(name, sizeof name, "pgb-tx%d", _i);
  arec_test_env e;
  arec_test_pod_env(&e, &g_pg, url, &g_redis, name, arec_test_port());
  if (_i) {
    arec_test_env_set(&e, "DATABASE_POOL_SIZE=1");
    arec_test_env_set(&e, "DATABASE_ADMIN_POOL_SIZE=1");
  }
  static arec_test_daemon p;
  ck_assert_int_eq(arec_test_daemon_start(&p, name, &e, NULL), 0);
  arec_test_env_free(&e);
  int rc = arec_test_proc_wait(&p.proc, 15000);
  if (rc == -2) arec_test_proc_kill(&p.proc);
  ck_assert_int_eq(rc, 2);
  char *log = arec_test_log(&p.proc);
  const char *line = strstr(log, "agentrecoverd: DATABASE_URL:");
  ck_assert_msg(line != NULL, "%s", log);
  const char *nl = strchr(line, '\n');
  ck_assert_msg(strstr(line, "pool_mode=transaction") != NULL &&
                    strstr(line, "pool_mode=transaction") < nl,
                "the line does not name the pooling mode: %s", line);
  ck_assert_ptr_null(strstr(log, "HTTP server listening"));
  free(log);
  bouncer_stop(&b);
}
END_TEST

int main(void) {
  if (access("/usr/sbin/pgbouncer", X_OK) != 0) {
    fprintf(stderr, "test_host_pgbouncer: pgbouncer not installed\n");
    return EXIT_FAILURE;
  }
  Suite *s = suite_create("host_pgbouncer");
  TCase *tc = arec_test_tcase(s, "pooler", 90);
  tcase_add_test(tc, session_mode_serves_and_fails_over);
  tcase_add_loop_test(tc, transaction_mode_refused_at_start, 0, 2);
  return arec_test_main(s, &g_pg, AREC_TEST_EMPTY | AREC_TEST_PODS, &g_redis);
}
