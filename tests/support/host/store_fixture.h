/*
 * store_fixture.h -- shared by the tests of the host's data layer
 * (test_host_store.c, test_host_secrets.c, and through svc_fixture.h the
 * service tests): one PostgreSQL 15 migrated as a deployment is, a log
 * capture (JSON lines, searched for secrets), SQL helpers, fresh databases
 * for tests that must see only their own rows, store helpers (users,
 * accounts, pairs), and the secrets the tests store and look for.
 * Host-only: linked by those binaries (tests/support/build.mk).
 */
#ifndef AREC_TESTS_HOST_STORE_FIXTURE_H
#define AREC_TESTS_HOST_STORE_FIXTURE_H

#include <stddef.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "store.h"
#include "support/harness.h"

/* The database of the whole binary: started by its main (runner.h). */
extern arec_test_pg g_pg;

/* ------------------------------------------------------------ log sink */
/* The log function of every pool and store the fixture opens. */
void sink(void *ud, arec_log_level level, const char *msg,
          const arec_log_field *f, size_t n);
/* 1 when a captured line contains s. */
int logged(const char *s);
/* Where the capture is now (for counts of what a test logged itself). */
size_t log_mark(void);
/* How often `s` was logged since `mark`. */
int logged_count(size_t mark, const char *s);

/* ------------------------------------------------------------------ SQL */
/* Runs q (psql) on the shared database, asserted to succeed. */
void sql(const char *q);
/* The number q's one value is. */
long long sql_ll(const char *q);
/* The number of a query's one value through pg. */
long long count(arec_pg *pg, const char *q);
/* A pool (4 connections, 3 s calls, the sink) on conninfo ci. */
arec_pg *open_conninfo(const char *ci);
/* A pool on the shared database. */
arec_pg *open_pg(void);
/* A pool on a fresh database `db`, migrated as a deployment is (library
 * and host, or the library only), for tests that must see only their own
 * rows. */
arec_pg *open_db(const char *db, int host);

/* ---------------------------------------------------------------- store */
arec_host_store *open_store(arec_pg *pg, const unsigned char *key,
                            const unsigned char *prev);
void user(arec_host_store *s, long long id);
/* An exchange account of user uid (binance), asserted: its id. */
long long account(arec_host_store *s, long long uid, const char *key,
                  const char *secret, int testnet);
void pair(arec_host_store *s, long long uid, long long ex,
          const char *symbol);

/* ------------------------------------------------------------- secrets */
#define SECRET_KEY "AKIA-secret-key-7x"
#define SECRET_VAL "s3cr3t-value-Q9"
/* No secret (these, the tests' keys) in the error text or anything
 * logged so far. */
void no_secret(void);
/* The end of a test: no_secret, then every store listed after pg (a
 * NULL-ended list, freed in its order), then pg itself freed. */
void no_secret_then_free(arec_pg *pg, ...);
/* User uid's account for symbol is exchange account ex, binance, with
 * SECRET_KEY and SECRET_VAL; cleared after. */
void expect_account(arec_host_store *s, long long uid, const char *symbol,
                    long long ex);

#endif
