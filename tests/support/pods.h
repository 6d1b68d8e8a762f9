/*
 * pods.h -- what the end-to-end tests do with the agentrecoverd pods of
 * daemon.h, asserted with Check (a failed step fails the test): start a
 * pod on the harness's servers and wait for it to be ready, ask whether it
 * runs an agent, POST to its admin API, a listening socket that never
 * answers (for clients that must give up), and the test's own pool and
 * repository on the pods' database for reading what they stored.
 */
#ifndef AREC_TESTS_PODS_H
#define AREC_TESTS_PODS_H

#include <check.h>

#include "agentrecover/pg.h"
#include "daemon.h"
#include "harness.h"

/* Starts pod `name` with arec_test_pod_env's environment on pg and r and
 * then the "NAME=value" strings of extra (NULL-terminated; may be NULL),
 * and waits up to 15 s for its /ready. */
void arec_test_pod_start(arec_test_daemon *d, const arec_test_pg *pg,
                         const arec_test_redis *r, const char *name,
                         const char *const *extra);
/* Starts pod `name` with exactly env and waits up to ready_ms for its
 * /ready. */
void arec_test_pod_run(arec_test_daemon *d, const char *name,
                       const arec_test_env *env, long ready_ms);
/* The short timings of the trading end-to-end tests: reconcile 300 ms,
 * saves 200 ms, 2 workers, SHUTDOWN_TIMEOUT 3 s, a trading step every
 * 100 ms, LOG_LEVEL debug when E2E_LOG is set. */
void arec_test_pod_env_fast(arec_test_env *e);

/* 1 when the pod is alive and its /api/runners lists agent id. */
int arec_test_pod_runs(arec_test_daemon *p, const char *id);
/* POST path with the admin token, no body; asserted to answer want; *out
 * the body (malloc'd) when out is not NULL. */
void arec_test_pod_post(arec_test_daemon *p, const char *path, int want,
                        char **out);

/* Starts agent id through the pod's API (POST /api/agents/start/<id>),
 * asserted to answer 200. */
void arec_test_pod_start_agent(arec_test_daemon *p, const char *id);

/* A socket listening on a free loopback port that never accepts (the
 * kernel completes the handshakes, nothing ever answers): its fd, *port
 * its port. */
int arec_test_silent_listener(int *port);

/* The main() of an end-to-end test that reads what the pods stored:
 * PostgreSQL (migrated) and Redis started for pods (runner.h's
 * AREC_TEST_PODS), *db and *repo opened on the database, s run, all of it
 * closed and stopped: the exit status. */
int arec_test_pods_main(Suite *s, arec_test_pg *pg, arec_test_redis *r,
                        arec_pg **db, arec_repository **repo);

/* A pool and a repository on the database of pg (the test's own, for
 * reading what the pods stored): 0 or -1. */
int arec_test_repo_open(const arec_test_pg *pg, arec_pg **db,
                        arec_repository **repo);
void arec_test_repo_close(arec_pg *db, arec_repository *repo);
/* Every agent of repo (its first 1000) no longer wanted: nothing of an
 * earlier test runs on a database the tests share. */
void arec_test_stop_all(arec_repository *repo);
/* A repository alone on the database of pg (asserted to open); free it
 * with repo->free. */
arec_repository *arec_test_repo_new(const arec_test_pg *pg);

#endif
