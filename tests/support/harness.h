/*
 * harness.h -- throwaway real servers for integration tests: PostgreSQL 15
 * (initdb/pg_ctl, as an unprivileged user when run as root) and
 * redis-server 7, on free loopback ports, in a temp dir under /tmp.
 *
 * Whatever a test binary starts is stopped (by pid) and its dir removed at
 * exit, on SIGINT/SIGTERM/SIGHUP, and on a crash of the parent, pass or
 * fail.  Check's forked test children never run the cleanup (it checks the
 * pid that started the server).  Every function returns 0 or -1 with a
 * message on stderr.
 */
#ifndef AREC_TESTS_HARNESS_H
#define AREC_TESTS_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

/* A free TCP port on 127.0.0.1 (bind to port 0, read it back). */
int arec_test_free_port(void);
/* Milliseconds on the monotonic clock. */
long long arec_test_now_ms(void);
/* A new dir /tmp/arec-<what>.XXXXXX, its path in dir (len bytes). */
int arec_test_tmpdir(char *dir, size_t len, const char *what);

/* ------------------------------------------------------------ PostgreSQL */
typedef struct arec_test_pg {
  char dir[256];       /* temp dir: data in dir/pg, socket in dir */
  int port;
  char conninfo[512];  /* "host=127.0.0.1 port=N dbname=arec user=postgres
                          connect_timeout=5" */
  pid_t owner;         /* pid of the process that started it */
} arec_test_pg;

/* initdb + pg_ctl start (fsync off) + CREATE DATABASE arec.  ~1.5 s. */
int arec_test_pg_start(arec_test_pg *pg);
/* pg_ctl stop -m immediate (for connection-loss tests) / start again on the
 * same port and data. */
int arec_test_pg_halt(arec_test_pg *pg);
int arec_test_pg_resume(arec_test_pg *pg);
/* Runs SQL through psql -v ON_ERROR_STOP=1; *out (may be NULL) gets psql's
 * unaligned tuples-only output (malloc'd). */
int arec_test_pg_sql(const arec_test_pg *pg, const char *sql, char **out);
/* Stops the server and removes the dir. */
void arec_test_pg_stop(arec_test_pg *pg);
/* One statement with parameters $1..$n through a connection of its own
 * (libpq), asserted with Check to succeed: the result, for PQclear. */
struct pg_result;
struct pg_result *arec_test_pg_exec(const arec_test_pg *pg, const char *sql,
                                    int n, const char *const *params);

/* ------------------------------------- PostgreSQL migrations (harness_pgmig.c)
 * These link the library (agentrecover/pg.h). */
struct arec_pg_migration;
/* The migrations of a directory of NNN_name.sql files (e.g. "host/sql",
 * relative to the source tree the tests run in), as lib/pg/migrations.awk
 * compiles them: sorted by name, version NNN, lines `BEGIN;` / `COMMIT;`
 * dropped.  Free with arec_test_pg_migrations_free(). */
int arec_test_pg_load_migrations(const char *dir,
                                 struct arec_pg_migration **out, size_t *n);
void arec_test_pg_migrations_free(struct arec_pg_migration *m, size_t n);
/* Applies the library's migrations to database `db` of the server, and the
 * host's (host/sql, ledger host_schema_migrations) when `host` != 0. */
int arec_test_pg_migrate(const arec_test_pg *pg, const char *db, int host);
/* arec_test_pg_start() + the library's and the host's migrations on the
 * database arec: the schema a deployment has. */
int arec_test_pg_start_migrated(arec_test_pg *pg);
/* "host=127.0.0.1 port=N dbname=<db> user=postgres connect_timeout=5". */
void arec_test_pg_conninfo(const arec_test_pg *pg, const char *db, char *buf,
                           size_t len);

/* ------------------------------------------------------------------ Redis */
typedef struct arec_test_redis {
  char dir[256];
  int port;
  pid_t pid;
  pid_t owner;
} arec_test_redis;

/* redis-server --port N --bind 127.0.0.1 --save '' --appendonly no, ready
 * (PING answered) on return. */
int arec_test_redis_start(arec_test_redis *r);
/* SIGSTOP / SIGCONT. */
int arec_test_redis_pause(arec_test_redis *r);
int arec_test_redis_cont(arec_test_redis *r);
/* Kill (SIGKILL) and wait; start again empty on the same port. */
int arec_test_redis_kill(arec_test_redis *r);
int arec_test_redis_restart(arec_test_redis *r);
/* Runs one command through redis-cli; *out (may be NULL) gets its output. */
int arec_test_redis_cli(const arec_test_redis *r, char **out,
                        const char *fmt, ...);
void arec_test_redis_stop(arec_test_redis *r);

#endif
