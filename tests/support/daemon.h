/*
 * daemon.h -- the process harness of the end-to-end tests: build/agentrecoverd
 * (and helper processes such as build/tools/faultproxy) started with an
 * explicit environment -- nothing is inherited from the caller's, so an
 * ADMIN_TOKEN exported in the shell never reaches a test's pod -- its
 * output in a log file, waited for on /ready, signalled, killed (-9) and
 * reaped by pid.
 *
 * Every process started here gets PR_SET_PDEATHSIG(SIGKILL) and is killed
 * and reaped by pid at exit of the process that started it (also a Check
 * test child), pass or fail; a test may also stop it itself.  Functions
 * return 0 / 1 for success as documented, never abort.
 */
#ifndef AREC_TESTS_DAEMON_H
#define AREC_TESTS_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

struct arec_test_pg;
struct arec_test_redis;

/* ------------------------------------------------------------ environment */
#define AREC_TEST_ENV_MAX 64

/* A process environment: "NAME=value" strings (owned). */
typedef struct arec_test_env {
  char *vars[AREC_TEST_ENV_MAX + 1];
  size_t n;
} arec_test_env;

/* Empty but for PATH=/usr/bin:/bin. */
void arec_test_env_init(arec_test_env *e);
/* Sets "NAME=value" (printf format), replacing an earlier NAME. */
void arec_test_env_set(arec_test_env *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Removes NAME. */
void arec_test_env_unset(arec_test_env *e, const char *name);
/* The value of NAME, or NULL. */
const char *arec_test_env_get(const arec_test_env *e, const char *name);
void arec_test_env_free(arec_test_env *e);

/* The admin token every test pod is given unless the test says otherwise. */
#define AREC_TEST_ADMIN_TOKEN "e2e-admin-token-7Qm2Lx9c"
#define AREC_TEST_KEY                                                      \
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* The lock TTL and reconcile interval of arec_test_pod_env's pods. */
#define AREC_TEST_LOCK_TTL_MS 2000
#define AREC_TEST_RECONCILE_MS 1000

/* A pod's environment on the harness's servers: DATABASE_URL (pg, or
 * `database_url` when not NULL), REDIS_HOST/PORT (r may be NULL: then the
 * postgres lock backend), POD_NAME, HTTP_PORT, ADMIN_TOKEN
 * (AREC_TEST_ADMIN_TOKEN), AGENT_SECRETS_KEY, lock TTL
 * AREC_TEST_LOCK_TTL_MS, reconcile AREC_TEST_RECONCILE_MS, saves 1 s, 4 workers, SHUTDOWN_TIMEOUT 5 s, DATABASE_CONNECT_TIMEOUT
 * 5 s.  Tests override with arec_test_env_set. */
void arec_test_pod_env(arec_test_env *e, const struct arec_test_pg *pg,
                       const char *database_url,
                       const struct arec_test_redis *r, const char *name,
                       int port);

/* -------------------------------------------------------------- processes */
typedef struct arec_test_proc {
  char name[64];
  pid_t pid;          /* 0 once reaped */
  int status;         /* exit code once reaped; -1 killed by a signal */
  char log[320];      /* stdout and stderr, appended */
  long long exited_ms; /* monotonic ms when the reap saw it gone */
} arec_test_proc;

/* Starts argv[0] (a path) with exactly env's environment.  log: the file
 * stdout and stderr go to (appended).  0 or -1. */
int arec_test_proc_spawn(arec_test_proc *p, const char *name,
                         const char *const *argv, const arec_test_env *env,
                         const char *log);
/* Waits up to timeout_ms for it to exit and reaps it.  The exit code, -1
 * killed by a signal, -2 still running at the timeout. */
int arec_test_proc_wait(arec_test_proc *p, long timeout_ms);
/* Sends sig (by pid; nothing when already reaped). */
void arec_test_proc_signal(arec_test_proc *p, int sig);
/* SIGKILL and reap. */
void arec_test_proc_kill(arec_test_proc *p);
/* 1 while not reaped and alive. */
int arec_test_proc_alive(arec_test_proc *p);

/* --------------------------------------------------------------- the pods */
typedef struct arec_test_daemon {
  arec_test_proc proc;
  int port;
} arec_test_daemon;

/* The agentrecoverd of this build (next to the test binary). */
const char *arec_test_daemon_path(void);
/* A scratch dir for logs (created once per process, removed at exit unless
 * arec_test_keep_logs() was called or AREC_TEST_KEEP_LOGS is set). */
const char *arec_test_logdir(void);
void arec_test_keep_logs(void);
/* A free loopback port never handed out before in this process. */
int arec_test_port(void);

/* Starts agentrecoverd with env (and extra arguments, NULL-terminated, may
 * be NULL); the port is env's HTTP_PORT.  0 or -1. */
int arec_test_daemon_start(arec_test_daemon *d, const char *name,
                           const arec_test_env *env,
                           const char *const *args);
/* 1 once GET /ready answers 200 within timeout_ms, 0 otherwise (also when
 * the process exited). */
int arec_test_daemon_ready(arec_test_daemon *d, long timeout_ms);
/* SIGTERM and wait up to timeout_ms: the exit code (-1 signal, -2 still
 * running: then it is killed). */
int arec_test_daemon_term(arec_test_daemon *d, long timeout_ms);

/* The log so far (malloc'd, never NULL). */
char *arec_test_log(const arec_test_proc *p);
/* 1 when the log contains needle. */
int arec_test_log_has(const arec_test_proc *p, const char *needle);
/* Waits until it does: 1, or 0 after timeout_ms. */
int arec_test_log_wait(const arec_test_proc *p, const char *needle,
                       long timeout_ms);

/* ------------------------------------------------------------ faultproxy */
/* build/tools/faultproxy (tests/tools/faultproxy.c) started as p: it
 * listens on 127.0.0.1:listen, forwards to 127.0.0.1:target and takes
 * commands on 127.0.0.1:control; waits up to 5 s for it to answer one
 * ("pass").  0 or -1. */
int arec_test_faultproxy_start(arec_test_proc *p, int listen, int target,
                               int control);
/* One command ("pass", "blackhole", "delay MS", ...) to the faultproxy on
 * `control`: 0 once it answered ok, -1 otherwise. */
int arec_test_faultproxy_cmd(int control, const char *cmd);

/* ------------------------------------------------------------------- HTTP */
/* One HTTP/1.0 request to 127.0.0.1:port (10 s timeouts).  headers: extra
 * "Name: value\r\n" lines or NULL; token: sent as "Authorization: Bearer
 * <token>" when not NULL.  The status (-1 no answer); *out (may be NULL)
 * the body, malloc'd. */
int arec_test_http(int port, const char *method, const char *path,
                   const char *token, const char *headers, const char *body,
                   char **out);
/* The same with the response's status line and headers in *head (may be
 * NULL; malloc'd). */
int arec_test_http_full(int port, const char *method, const char *path,
                        const char *token, const char *headers,
                        const char *body, char **head, char **out);

/* Through the admin API of the pod on `port` (admin token): user `uid`
 * with an exchange account and a pair for `symbol`, then the agents ids[]
 * (NULL-terminated) of `strategy` assigned `symbol` with budget 500.
 * 0, or -1 with the failing request on stderr. */
int arec_test_seed(int port, const char *token, long long uid,
                   const char *symbol, const char *strategy,
                   const char *const *ids);

void arec_test_sleep_ms(long ms);

#endif
