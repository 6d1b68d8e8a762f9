/*
 * pods.c -- the end-to-end tests' steps on agentrecoverd pods (pods.h).
 *
 * How: on daemon.c's processes and HTTP client, every step asserted with
 * Check so that a failing one fails the test where it happened.
 *
 * Never: wait without a bound, or leave a pod's environment allocated.
 */
#include "pods.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "runner.h"

void arec_test_pod_run(arec_test_daemon *d, const char *name,
                       const arec_test_env *env, long ready_ms) {
  ck_assert_int_eq(arec_test_daemon_start(d, name, env, NULL), 0);
  ck_assert_msg(arec_test_daemon_ready(d, ready_ms), "%s not ready", name);
}

void arec_test_pod_start(arec_test_daemon *d, const arec_test_pg *pg,
                         const arec_test_redis *r, const char *name,
                         const char *const *extra) {
  arec_test_env e;
  arec_test_pod_env(&e, pg, NULL, r, name, arec_test_port());
  for (size_t i = 0; extra && extra[i]; i++)
    arec_test_env_set(&e, "%s", extra[i]);
  arec_test_pod_run(d, name, &e, 15000);
  arec_test_env_free(&e);
}

void arec_test_pod_env_fast(arec_test_env *e) {
  arec_test_env_set(e, "AGENT_RECONCILE_INTERVAL=300ms");
  arec_test_env_set(e, "AGENT_SAVE_INTERVAL=200ms");
  arec_test_env_set(e, "AGENT_WORKERS=2");
  arec_test_env_set(e, "SHUTDOWN_TIMEOUT=3s");
  arec_test_env_set(e, "TRADING_STEP_INTERVAL=100ms");
  arec_test_env_set(e, "LOG_LEVEL=%s", getenv("E2E_LOG") ? "debug" : "info");
}

int arec_test_pod_runs(arec_test_daemon *p, const char *id) {
  char *body = NULL, needle[128];
  if (!arec_test_proc_alive(&p->proc) ||
      arec_test_http(p->port, "GET", "/api/runners", AREC_TEST_ADMIN_TOKEN,
                     NULL, NULL, &body) != 200) {
    free(body);
    return 0;
  }
  snprintf(needle, sizeof needle, "\"agent_id\":\"%s\"", id);
  int yes = strstr(body, needle) != NULL;
  free(body);
  return yes;
}

void arec_test_pod_post(arec_test_daemon *p, const char *path, int want,
                        char **out) {
  char *b = NULL;
  int st = arec_test_http(p->port, "POST", path, AREC_TEST_ADMIN_TOKEN, NULL,
                          NULL, &b);
  ck_assert_msg(st == want, "POST %s -> %d %s (want %d)", path, st, b, want);
  if (out)
    *out = b;
  else
    free(b);
}

void arec_test_pod_start_agent(arec_test_daemon *p, const char *id) {
  char path[160];
  snprintf(path, sizeof path, "/api/agents/start/%s", id);
  arec_test_pod_post(p, path, 200, NULL);
}

int arec_test_silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(fd, 128), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

int arec_test_repo_open(const arec_test_pg *pg, arec_pg **db,
                        arec_repository **repo) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = pg->conninfo;
  if (arec_pg_new(db, &o) != 0) return -1;
  return arec_pg_repository_new(repo, *db) == 0 ? 0 : -1;
}

void arec_test_stop_all(arec_repository *repo) {
  arec_agent_filter f = AREC_AGENT_FILTER_INIT;
  f.limit = 1000;
  arec_agent_record *all = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_agent_list(repo, &f, &all, &n), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(arec_agent_set_trading(repo, all[i].id, 0), 0);
  arec_agent_records_free(all, n);
}

arec_repository *arec_test_repo_new(const arec_test_pg *pg) {
  arec_pg *db = NULL;
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_test_repo_open(pg, &db, &repo), 0);
  arec_pg_free(db); /* the repository holds its own reference */
  return repo;
}

void arec_test_repo_close(arec_pg *db, arec_repository *repo) {
  arec_repository_free(repo);
  arec_pg_free(db);
}

int arec_test_pods_main(Suite *s, arec_test_pg *pg, arec_test_redis *r,
                        arec_pg **db, arec_repository **repo) {
  const unsigned flags = AREC_TEST_MIGRATED | AREC_TEST_PODS;
  if (arec_test_start(pg, flags, r) || arec_test_repo_open(pg, db, repo))
    return EXIT_FAILURE;
  int rc = arec_test_finish(s, pg, flags, r);
  arec_test_repo_close(*db, *repo);
  return rc;
}
