/*
 * test_pg_conn.c -- the PostgreSQL backend when the server goes away: a
 * stopped server (pg_ctl stop -m immediate) makes calls fail fast with
 * AREC_EUNAVAILABLE within the call deadline, and they succeed again once
 * it is back; a blackholed server (postmaster and backends SIGSTOPped: TCP
 * still accepts, nothing answers) costs at most the call deadline, then
 * calls succeed after SIGCONT.  No secret or conninfo in error strings.
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover/pg.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"
#include "support/runner.h"

static arec_test_pg g_pg;
#define CALL_MS 1000

static arec_pg *open_pg(void) {
  char ci[600];
  /* a password in the conninfo must never show up in an error string */
  snprintf(ci, sizeof ci, "%s password=hunter2-secret", g_pg.conninfo);
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  o.pool_size = 2;
  o.call_timeout_ms = CALL_MS;
  o.connect_timeout_ms = CALL_MS;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  return pg;
}

static void no_secret_in_error(void) {
  const char *e = arec_error_last();
  ck_assert_ptr_null(strstr(e, "hunter2"));
  ck_assert_ptr_null(strstr(e, "password="));
}

/* Waits until ping succeeds (up to 15 s); returns ms it took. */
static long long wait_ok(arec_pg *pg) {
  long long t0 = arec_test_now_ms();
  while (arec_pg_ping(pg) != 0) {
    ck_assert_msg(arec_test_now_ms() - t0 < 15000, "server did not come back");
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
  }
  return arec_test_now_ms() - t0;
}

START_TEST(stopped_server_fails_fast_then_recovers) {
  arec_pg *pg = open_pg();
  arec_repository *r;
  ck_assert_int_eq(arec_pg_repository_new(&r, pg), 0);
  ck_assert_int_eq(arec_pg_ping(pg), 0);
  ck_assert_int_eq(r->heartbeat(r, "pod", "inc", 5000, 0), 0);
  ck_assert_int_eq(arec_test_pg_halt(&g_pg), 0);
  for (int i = 0; i < 6; i++) {
    long long t0 = arec_test_now_ms();
    int e = (i % 2) ? arec_pg_ping(pg) : r->heartbeat(r, "pod", "inc", 5000, 0);
    long long ms = arec_test_now_ms() - t0;
    ck_assert_msg(e == AREC_EUNAVAILABLE, "call %d: %s (%s)", i, arec_err_name(e),
                  arec_error_last());
    ck_assert_msg(ms <= CALL_MS + 500, "call %d took %lld ms", i, ms);
    ck_assert_str_ne(arec_error_last(), "");
    no_secret_in_error();
  }
  ck_assert_int_eq(arec_test_pg_resume(&g_pg), 0);
  wait_ok(pg);
  int hb = r->heartbeat(r, "pod", "inc", 5000, 0);
  ck_assert_msg(hb == 0, "heartbeat after restart: %s (%s)", arec_err_name(hb),
                arec_error_last());
  /* both pooled connections work again */
  ck_assert_int_eq(arec_pg_ping(pg), 0);
  ck_assert_int_eq(arec_pg_ping(pg), 0);
  r->free(r);
  arec_pg_free(pg);
}
END_TEST

/* pids of the postmaster and all its children */
static int server_pids(pid_t *out, int max) {
  char p[300];
  snprintf(p, sizeof p, "%s/pg/postmaster.pid", g_pg.dir);
  FILE *f = fopen(p, "r");
  ck_assert_ptr_nonnull(f);
  long pm = 0;
  ck_assert_int_eq(fscanf(f, "%ld", &pm), 1);
  fclose(f);
  int n = 0;
  out[n++] = (pid_t)pm;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    long pid = atol(e->d_name);
    if (pid <= 0)
      continue;
    char sp[64], line[256];
    snprintf(sp, sizeof sp, "/proc/%ld/status", pid);
    FILE *s = fopen(sp, "r");
    if (!s)
      continue;
    while (fgets(line, sizeof line, s))
      if (!strncmp(line, "PPid:", 5)) {
        if (atol(line + 5) == pm)
          out[n++] = (pid_t)pid;
        break;
      }
    fclose(s);
  }
  closedir(d);
  return n;
}

static void signal_server(int sig) {
  pid_t pids[256];
  int n = server_pids(pids, 256);
  for (int i = 0; i < n; i++)
    kill(pids[i], sig);
}

START_TEST(blackholed_server_costs_the_deadline) {
  arec_pg *pg = open_pg();
  ck_assert_int_eq(arec_pg_ping(pg), 0);
  signal_server(SIGSTOP);
  for (int i = 0; i < 3; i++) {
    long long t0 = arec_test_now_ms();
    int e = arec_pg_ping(pg);
    long long ms = arec_test_now_ms() - t0;
    if (e == 0) { /* cannot be: nothing answers */
      signal_server(SIGCONT);
      ck_abort_msg("ping answered by a stopped server");
    }
    ck_assert_msg(e == AREC_ETIMEDOUT || e == AREC_EUNAVAILABLE, "%s", arec_err_name(e));
    ck_assert_msg(ms >= CALL_MS - 100 || e == AREC_EUNAVAILABLE, "returned early: %lld", ms);
    ck_assert_msg(ms <= CALL_MS + 1000, "call %d took %lld ms", i, ms);
    no_secret_in_error();
  }
  signal_server(SIGCONT);
  long long back = wait_ok(pg);
  ck_assert_int_lt(back, 10000);
  ck_assert_int_eq(arec_pg_ping(pg), 0);
  arec_pg_free(pg);
}
END_TEST

AREC_TEST_CASE_MAIN("pg-connection", "connection-loss", 60,
                    arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
                    stopped_server_fails_fast_then_recovers,
                    blackholed_server_costs_the_deadline)
