/*
 * test_host_store.c -- the host's store (host/store.h) against a real
 * PostgreSQL 15 migrated as a deployment is: users, exchange accounts,
 * pairs and the removal rule; credentials bound to their row (a value
 * copied to another row does not decrypt, the row is named, the original
 * still works); 0.1 values (no associated data) and values under the
 * previous key still decrypt; a wrong key is AREC_ECRYPTO naming the row;
 * rotation (counts, idempotent, while another thread keeps reading with
 * no failed read); the bot's offset written only by the current holder of
 * its role; the audit trail's pages; the host's migrations compiled in
 * (and the same schema as `psql -f`).  No secret ever appears in an
 * arec_error_last() or a log line (every line logged is searched).
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "store.h"
#include "support/harness.h"

static arec_test_pg g_pg;

static const unsigned char K1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char K2[32] = "fedcba9876543210fedcba9876543210";
static const unsigned char K3[32] = "a wrong key, of thirty-two bytes";

#define SECRET_KEY "AKIA-secret-key-7x"
#define SECRET_VAL "s3cr3t-value-Q9"

/* ------------------------------------------------------------ log sink */
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log[1 << 16];
static size_t g_log_n;

static void sink(void *ud, arec_log_level level, const char *msg,
                 const arec_log_field *f, size_t n) {
  (void)ud;
  char line[1024];
  size_t len = arec_log_format(line, sizeof line, 0, level, msg, f, n);
  if (len >= sizeof line)
    len = sizeof line - 1;
  pthread_mutex_lock(&g_log_mu);
  if (g_log_n + len < sizeof g_log) {
    memcpy(g_log + g_log_n, line, len);
    g_log_n += len;
    g_log[g_log_n] = 0;
  }
  pthread_mutex_unlock(&g_log_mu);
}

static int logged(const char *s) {
  pthread_mutex_lock(&g_log_mu);
  int r = strstr(g_log, s) != NULL;
  pthread_mutex_unlock(&g_log_mu);
  return r;
}

/* No secret in the error text or anything logged so far. */
static void no_secret(void) {
  static const char *const secrets[] = {SECRET_KEY, SECRET_VAL, "s3cr3t",
                                        "0123456789abcdef", "fedcba98",
                                        "a wrong key"};
  for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
    ck_assert_msg(!strstr(arec_error_last(), secrets[i]), "error: %s",
                  arec_error_last());
    ck_assert_msg(!logged(secrets[i]), "logged: %s", secrets[i]);
  }
}

/* -------------------------------------------------------------- helpers */
static arec_pg *open_pg(void) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = g_pg.conninfo;
  o.pool_size = 4;
  o.log = sink;
  arec_pg *pg = NULL;
  int e = arec_pg_new(&pg, &o);
  ck_assert_msg(e == 0, "arec_pg_new: %s", arec_error_last());
  return pg;
}

static arec_host_store *open_store(arec_pg *pg, const unsigned char *key,
                                   const unsigned char *prev) {
  arec_host_store *s = NULL;
  ck_assert_int_eq(arec_host_store_new(&s, pg, key, prev, sink, NULL), 0);
  return s;
}

static void sql(const char *q) {
  ck_assert_msg(arec_test_pg_sql(&g_pg, q, NULL) == 0, "%s", q);
}

/* A pool on a fresh database `db`, migrated as a deployment is (library
 * and host), for tests that must see only their own rows. */
static arec_pg *open_db(const char *db) {
  char q[128];
  snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s", db);
  sql(q);
  snprintf(q, sizeof q, "CREATE DATABASE %s", db);
  sql(q);
  ck_assert_int_eq(arec_test_pg_migrate(&g_pg, db, 1), 0);
  char ci[600];
  arec_test_pg_conninfo(&g_pg, db, ci, sizeof ci);
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  o.pool_size = 4;
  o.log = sink;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  return pg;
}

static long long sql_ll(const char *q) {
  char *out = NULL;
  ck_assert_msg(arec_test_pg_sql(&g_pg, q, &out) == 0, "%s", q);
  long long v = atoll(out ? out : "0");
  free(out);
  return v;
}

static long long count(arec_pg *pg, const char *q) {
  arec_pg_result *r = NULL;
  ck_assert_int_eq(arec_pg_query(pg, &r, q, 0, NULL, NULL, NULL), 0);
  long long v = atoll(arec_pg_result_value(r, 0, 0));
  arec_pg_result_free(r);
  return v;
}

static void user(arec_host_store *s, long long id) {
  ck_assert_int_eq(arec_host_store_user_upsert(s, id, "someone"), 0);
}

static long long account(arec_host_store *s, long long uid, const char *key,
                         const char *secret, int testnet) {
  long long id = 0;
  int rc = arec_host_store_exchange_create(s, uid, "binance", key, secret,
                                           testnet, &id);
  ck_assert_msg(rc == 0, "create: %s", arec_error_last());
  ck_assert_int_gt(id, 0);
  return id;
}

static void pair(arec_host_store *s, long long uid, long long ex,
                 const char *symbol) {
  long long id = 0;
  ck_assert_int_eq(arec_host_store_pair_create(s, uid, ex, symbol, &id, NULL),
                   0);
}

/* A value in 0.1's format (nonce | ciphertext | tag, no associated data)
 * as hex, for SQL decode(..., 'hex'). */
static void legacy_hex(const unsigned char *key, const char *plain,
                       char *out) {
  unsigned char buf[12 + 128 + 16];
  int n = (int)strlen(plain), len = 0, fin = 0;
  ck_assert_int_eq(RAND_bytes(buf, 12), 1);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  ck_assert(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, buf) == 1);
  ck_assert(EVP_EncryptUpdate(c, buf + 12, &len, (const unsigned char *)plain,
                              n) == 1);
  ck_assert(EVP_EncryptFinal_ex(c, buf + 12 + len, &fin) == 1);
  ck_assert(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, buf + 12 + n) ==
            1);
  EVP_CIPHER_CTX_free(c);
  for (int i = 0; i < 12 + n + 16; i++)
    sprintf(out + 2 * i, "%02x", buf[i]);
}

/* An account row written as 0.1 did (key and secret under `key`). */
static long long legacy_account(arec_pg *pg, long long uid,
                                const unsigned char *key,
                                const char *symbol) {
  char k[400], s[400], q[1400];
  legacy_hex(key, SECRET_KEY, k);
  legacy_hex(key, SECRET_VAL, s);
  snprintf(q, sizeof q,
           "INSERT INTO user_exchanges (user_id, exchange, api_key, "
           "api_secret, testnet) VALUES (%lld, 'binance', decode('%s', "
           "'hex'), decode('%s', 'hex'), true) RETURNING id",
           uid, k, s);
  arec_pg_result *r = NULL;
  ck_assert_int_eq(arec_pg_query(pg, &r, q, 0, NULL, NULL, NULL), 0);
  long long id = atoll(arec_pg_result_value(r, 0, 0));
  arec_pg_result_free(r);
  snprintf(q, sizeof q,
           "INSERT INTO user_trading_pairs (user_id, exchange_id, symbol) "
           "VALUES (%lld, %lld, '%s')",
           uid, id, symbol);
  ck_assert_int_eq(arec_pg_query(pg, NULL, q, 0, NULL, NULL, NULL), 0);
  return id;
}

static void expect_account(arec_host_store *s, long long uid,
                           const char *symbol, long long ex) {
  arec_host_account a;
  int rc = arec_host_store_account(s, uid, symbol, &a);
  ck_assert_msg(rc == 0, "account %lld %s: %s", uid, symbol,
                arec_error_last());
  ck_assert_int_eq(a.exchange_id, ex);
  ck_assert_str_eq(a.exchange, "binance");
  ck_assert_str_eq(a.api_key, SECRET_KEY);
  ck_assert_str_eq(a.api_secret, SECRET_VAL);
  arec_host_account_clear(&a);
  ck_assert_ptr_null(a.api_key);
}

/* ------------------------------------------------------------------ CRUD */
START_TEST(users_accounts_pairs) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  char *name = NULL;
  ck_assert_int_eq(arec_host_store_user_get(s, 101, &name), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_host_store_user_upsert(s, 101, "Ann"), 0);
  ck_assert_int_eq(arec_host_store_user_upsert(s, 101, "Anna"), 0);
  ck_assert_int_eq(arec_host_store_user_get(s, 101, &name), 0);
  ck_assert_str_eq(name, "Anna");
  free(name);
  user(s, 102);

  /* accounts: the user must exist; the credentials are not listed */
  long long id = 0;
  ck_assert_int_eq(arec_host_store_exchange_create(s, 999, "binance", "k",
                                                   "s", 1, &id),
                   AREC_ENOTFOUND);
  long long a1 = account(s, 101, SECRET_KEY, SECRET_VAL, 1);
  long long a2 = account(s, 101, SECRET_KEY, SECRET_VAL, 0);
  long long b1 = account(s, 102, SECRET_KEY, SECRET_VAL, 1);
  ck_assert_int_gt(a2, a1);
  arec_host_exchange *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_host_store_exchange_list(s, 101, &v, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(v[0].id, a1);
  ck_assert_int_eq(v[0].testnet, 1);
  ck_assert_int_eq(v[1].testnet, 0);
  free(v);
  /* stored encrypted: no plaintext in the table */
  char q[256];
  snprintf(q, sizeof q,
           "SELECT count(*) FROM user_exchanges WHERE position('s3cr3t'::bytea "
           "IN api_secret) > 0 OR position('AKIA'::bytea IN api_key) > 0");
  ck_assert_int_eq(sql_ll(q), 0);

  /* pairs: 0 is the newest account; another user's account is not found */
  long long pid = 0, used = 0;
  ck_assert_int_eq(
      arec_host_store_pair_create(s, 101, 0, "BTC/USDT", &pid, &used), 0);
  ck_assert_int_eq(used, a2);
  ck_assert_int_eq(
      arec_host_store_pair_create(s, 101, a1, "ETH/USDT", &pid, &used), 0);
  ck_assert_int_eq(used, a1);
  ck_assert_int_eq(arec_host_store_pair_create(s, 101, b1, "XRP/USDT", &pid,
                                               NULL),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_host_store_pair_create(s, 101, 0, "BTC/USDT", &pid,
                                               NULL),
                   AREC_EEXIST);
  ck_assert_int_eq(arec_host_store_pair_create(s, 103, 0, "BTC/USDT", &pid,
                                               NULL),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_host_store_pair_exists(s, 101, "BTC/USDT"), 1);
  ck_assert_int_eq(arec_host_store_pair_exists(s, 102, "BTC/USDT"), 0);

  /* the account of a symbol, decrypted */
  expect_account(s, 101, "BTC/USDT", a2);
  expect_account(s, 101, "ETH/USDT", a1);
  arec_host_account acc;
  ck_assert_int_eq(arec_host_store_account(s, 101, "XRP/USDT", &acc),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_host_store_account(s, 102, "BTC/USDT", &acc),
                   AREC_ENOTFOUND);

  /* removal: refused while a wanted agent of the user trades on it */
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  arec_agent_spec sp = AREC_AGENT_SPEC_INIT;
  char aid[AREC_AGENT_ID_MAX + 1];
  sp.id = "store-ag1";
  sp.user_id = 101;
  sp.strategy = "noop";
  sp.name = "n";
  ck_assert_int_eq(arec_agent_create(repo, &sp, aid, sizeof aid), 0);
  ck_assert_int_eq(arec_agent_assign(repo, "store-ag1", "BTC/USDT", 100), 0);
  ck_assert_int_eq(arec_agent_set_trading(repo, "store-ag1", 1), 0);
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 101, a2),
                   AREC_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "store-ag1"));
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 102, a2),
                   AREC_ENOTFOUND); /* not that user's */
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 101, a1), 0);
  ck_assert_int_eq(arec_host_store_pair_exists(s, 101, "ETH/USDT"), 0);
  ck_assert_int_eq(arec_agent_set_trading(repo, "store-ag1", 0), 0);
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 101, a2), 0);
  ck_assert_int_eq(arec_host_store_pair_exists(s, 101, "BTC/USDT"), 0);
  ck_assert_int_eq(arec_host_store_exchange_remove(s, 101, a2),
                   AREC_ENOTFOUND);
  arec_repository_free(repo);
  no_secret();
  arec_host_store_free(s);
  arec_pg_free(pg);
}
END_TEST

/* --------------------------------------------------------------- binding */
START_TEST(ciphertext_bound_to_its_row) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  user(s, 201);
  long long a = account(s, 201, SECRET_KEY, SECRET_VAL, 1);
  long long b = account(s, 201, "other-key", "other-secret", 1);
  pair(s, 201, a, "BTC/USDT");
  pair(s, 201, b, "ETH/USDT");
  char q[300];
  snprintf(q, sizeof q,
           "UPDATE user_exchanges SET api_key = (SELECT api_key FROM "
           "user_exchanges WHERE id = %lld) WHERE id = %lld",
           a, b);
  sql(q);
  arec_host_account acc;
  ck_assert_int_eq(arec_host_store_account(s, 201, "ETH/USDT", &acc),
                   AREC_ECRYPTO);
  char want[128];
  snprintf(want, sizeof want,
           "user_exchanges row %lld api_key does not decrypt (wrong "
           "AGENT_SECRETS_KEY?)",
           b);
  ck_assert_str_eq(arec_error_last(), want);
  ck_assert_int_eq(acc.exchange_id, b);
  ck_assert_ptr_null(acc.api_key);
  ck_assert_ptr_null(acc.api_secret);
  /* the hook's reason names the row too */
  ck_assert_int_eq(arec_host_store_account_hook(s, 201, "ETH/USDT", &acc),
                   AREC_ECRYPTO);
  snprintf(want, sizeof want,
           "credentials of user_exchanges row %lld do not decrypt (wrong "
           "AGENT_SECRETS_KEY?)",
           b);
  ck_assert_str_eq(arec_error_last(), want);
  /* the secret copied into the key column of its own row fails too: the
   * column is bound as well */
  snprintf(q, sizeof q,
           "UPDATE user_exchanges SET api_key = api_secret WHERE id = %lld",
           a);
  sql(q);
  ck_assert_int_eq(arec_host_store_account(s, 201, "BTC/USDT", &acc),
                   AREC_ECRYPTO);
  no_secret();
  arec_host_store_free(s);
  arec_pg_free(pg);
}
END_TEST

START_TEST(source_row_still_decrypts) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  user(s, 211);
  long long a = account(s, 211, SECRET_KEY, SECRET_VAL, 1);
  long long b = account(s, 211, "other-key", "other-secret", 1);
  pair(s, 211, a, "BTC/USDT");
  pair(s, 211, b, "ETH/USDT");
  char q[300];
  snprintf(q, sizeof q,
           "UPDATE user_exchanges SET api_secret = (SELECT api_secret FROM "
           "user_exchanges WHERE id = %lld) WHERE id = %lld",
           a, b);
  sql(q);
  expect_account(s, 211, "BTC/USDT", a);
  arec_host_account acc;
  ck_assert_int_eq(arec_host_store_account(s, 211, "ETH/USDT", &acc),
                   AREC_ECRYPTO);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "api_secret"));
  no_secret();
  arec_host_store_free(s);
  arec_pg_free(pg);
}
END_TEST

/* ----------------------------------------------------- keys and formats */
START_TEST(legacy_and_previous_key_values_decrypt) {
  arec_pg *pg = open_pg();
  arec_host_store *old = open_store(pg, K1, NULL);
  user(old, 301);
  long long l1 = legacy_account(pg, 301, K1, "L1/USDT");
  long long v1 = account(old, 301, SECRET_KEY, SECRET_VAL, 1);
  pair(old, 301, v1, "V1/USDT");
  expect_account(old, 301, "L1/USDT", l1);
  /* after the key changed: both still read with the previous key */
  arec_host_store *cur = open_store(pg, K2, K1);
  expect_account(cur, 301, "L1/USDT", l1);
  expect_account(cur, 301, "V1/USDT", v1);
  /* a 0.1 value under the new key reads too */
  long long l2 = legacy_account(pg, 301, K2, "L2/USDT");
  expect_account(cur, 301, "L2/USDT", l2);
  /* without the previous key: the old rows name themselves */
  arec_host_store *only = open_store(pg, K2, NULL);
  arec_host_account acc;
  ck_assert_int_eq(arec_host_store_account(only, 301, "V1/USDT", &acc),
                   AREC_ECRYPTO);
  char want[128];
  snprintf(want, sizeof want, "user_exchanges row %lld api_key", v1);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), want));
  ck_assert_int_eq(arec_host_store_account(only, 301, "L1/USDT", &acc),
                   AREC_ECRYPTO);
  expect_account(only, 301, "L2/USDT", l2);
  /* a wrong key: ECRYPTO naming the row, never garbage */
  arec_host_store *wrong = open_store(pg, K3, NULL);
  ck_assert_int_eq(arec_host_store_account(wrong, 301, "V1/USDT", &acc),
                   AREC_ECRYPTO);
  snprintf(want, sizeof want,
           "user_exchanges row %lld api_key does not decrypt (wrong "
           "AGENT_SECRETS_KEY?)",
           v1);
  ck_assert_str_eq(arec_error_last(), want);
  ck_assert_ptr_null(acc.api_key);
  /* no key at all: the account without credentials */
  arec_host_store *none = open_store(pg, NULL, NULL);
  ck_assert_int_eq(arec_host_store_account(none, 301, "V1/USDT", &acc), 0);
  ck_assert_int_eq(acc.exchange_id, v1);
  ck_assert_ptr_null(acc.api_key);
  ck_assert_ptr_null(acc.api_secret);
  long long id;
  ck_assert_int_eq(arec_host_store_exchange_create(none, 301, "binance", "k",
                                                   "s", 1, &id),
                   AREC_ECRYPTO);
  ck_assert_int_eq(arec_host_store_has_key(none), 0);
  no_secret();
  arec_host_store_free(none);
  arec_host_store_free(wrong);
  arec_host_store_free(only);
  arec_host_store_free(cur);
  arec_host_store_free(old);
  arec_pg_free(pg);
}
END_TEST

/* -------------------------------------------------------------- rotation */
#define ROT_USER 401
#define ROT_ROWS 120

typedef struct reader {
  arec_host_store *s;
  atomic_int stop;
  atomic_ulong reads;
  unsigned long failures;
  char last_error[256];
} reader;

static void *read_loop(void *ud) {
  reader *r = ud;
  char sym[32];
  for (unsigned i = 0; !r->stop; i++) {
    snprintf(sym, sizeof sym, "S%u/USDT", i % ROT_ROWS);
    arec_host_account a;
    int rc = arec_host_store_account(r->s, ROT_USER, sym, &a);
    if (rc == 0 && (!a.api_key || strcmp(a.api_key, SECRET_KEY) ||
                    !a.api_secret || strcmp(a.api_secret, SECRET_VAL)))
      rc = -100;
    if (rc) {
      r->failures++;
      snprintf(r->last_error, sizeof r->last_error, "%s %s", sym,
               arec_error_last());
    }
    arec_host_account_clear(&a);
    r->reads++;
  }
  return NULL;
}

START_TEST(rotation_idempotent_while_reading) {
  arec_pg *pg = open_db("rot_read");
  arec_host_store *old = open_store(pg, K1, NULL);
  user(old, ROT_USER);
  char sym[32];
  for (int i = 0; i < ROT_ROWS; i++) {
    snprintf(sym, sizeof sym, "S%d/USDT", i);
    if (i % 4 == 0) { /* a quarter written by 0.1 */
      legacy_account(pg, ROT_USER, K1, sym);
    } else {
      long long id = account(old, ROT_USER, SECRET_KEY, SECRET_VAL, 1);
      pair(old, ROT_USER, id, sym);
    }
  }
  arec_host_store *cur = open_store(pg, K2, K1);
  reader r;
  memset(&r, 0, sizeof r);
  r.s = cur;
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, read_loop, &r), 0);
  while (r.reads < 20) /* the reader runs before the rotation starts */
    usleep(1000);
  uint64_t changed = 0;
  int rc = arec_host_store_rotate(cur, 7, &changed);
  unsigned long after = r.reads;
  ck_assert_msg(rc == 0, "rotate: %s", arec_error_last());
  ck_assert_int_eq(changed, ROT_ROWS);
  while (r.reads < after + 20) /* and after it */
    usleep(1000);
  r.stop = 1;
  pthread_join(t, NULL);
  ck_assert_msg(r.failures == 0, "%lu failed reads: %s", r.failures,
                r.last_error);
  /* every one of ours is now v2 under K2 */
  ck_assert_int_eq(
      count(pg, "SELECT count(*) FROM user_exchanges WHERE "
                "substring(api_key FROM 1 FOR 2) <> 'v2'::bytea OR "
                "substring(api_secret FROM 1 FOR 2) <> 'v2'::bytea"),
      0);
  /* idempotent */
  uint64_t again = 99;
  ck_assert_int_eq(arec_host_store_rotate(cur, 7, &again), 0);
  ck_assert_int_eq(again, 0);
  /* readable without the previous key, and not under the old one */
  arec_host_store *only = open_store(pg, K2, NULL);
  for (int i = 0; i < ROT_ROWS; i++) {
    arec_host_account a;
    snprintf(sym, sizeof sym, "S%d/USDT", i);
    ck_assert_msg(arec_host_store_account(only, ROT_USER, sym, &a) == 0,
                  "%s: %s", sym, arec_error_last());
    ck_assert_str_eq(a.api_secret, SECRET_VAL);
    arec_host_account_clear(&a);
    ck_assert_int_eq(arec_host_store_account(old, ROT_USER, sym, &a),
                     AREC_ECRYPTO);
  }
  ck_assert(logged("stored credentials rotated"));
  no_secret();
  arec_host_store_free(only);
  arec_host_store_free(cur);
  arec_host_store_free(old);
  arec_pg_free(pg);
}
END_TEST

START_TEST(rotation_reports_rows_it_cannot_read) {
  arec_pg *pg = open_db("rot_bad");
  arec_host_store *wrong = open_store(pg, K3, NULL);
  arec_host_store *cur = open_store(pg, K2, K1);
  user(cur, 501);
  long long w = account(wrong, 501, SECRET_KEY, SECRET_VAL, 1);
  for (int i = 0; i < 5; i++)
    account(cur, 501, SECRET_KEY, SECRET_VAL, 1);
  arec_host_store *old = open_store(pg, K1, NULL);
  for (int i = 0; i < 3; i++)
    account(old, 501, SECRET_KEY, SECRET_VAL, 1);
  uint64_t changed = 0;
  ck_assert_int_eq(arec_host_store_rotate(cur, 2, &changed), AREC_ECRYPTO);
  ck_assert_int_eq(changed, 3);
  char want[64];
  snprintf(want, sizeof want, "first: row %lld", w);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), want));
  char idt[64];
  snprintf(idt, sizeof idt, "user_exchange_id=%lld", w);
  ck_assert(logged(idt));
  ck_assert_int_eq(arec_host_store_rotate(cur, 2, &changed), AREC_ECRYPTO);
  ck_assert_int_eq(changed, 0);
  no_secret();
  arec_host_store_free(old);
  arec_host_store_free(cur);
  arec_host_store_free(wrong);
  arec_pg_free(pg);
}
END_TEST

/* ---------------------------------------------------------- bot's state */
START_TEST(offset_written_only_by_the_role_holder) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_pg_repository_new(&repo, pg), 0);
  char *v = NULL;
  ck_assert_int_eq(arec_host_store_kv_get(s, "telegram:offset", &v),
                   AREC_ENOTFOUND);
  arec_role_lease a, b;
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-a/1", 60000, &a),
                   1);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "41",
                                                 &a),
                   0);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "42",
                                                 &a),
                   0);
  ck_assert_int_eq(arec_host_store_kv_get(s, "telegram:offset", &v), 0);
  ck_assert_str_eq(v, "42");
  free(v);
  /* another holder is refused while a holds it */
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-b/1", 60000, &b),
                   0);
  /* a's lease runs out (as if a stopped renewing) and b claims the role */
  sql("UPDATE singleton_roles SET lease_until = clock_timestamp() - "
      "interval '1 second' WHERE name = 'telegram'");
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "43",
                                                 &a),
                   AREC_EFENCED); /* expired, not yet claimed */
  ck_assert_int_eq(arec_role_claim(repo, "telegram", "pod-b/1", 60000, &b),
                   1);
  ck_assert_uint_gt(b.fence, a.fence);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "44",
                                                 &a),
                   AREC_EFENCED);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "telegram"));
  /* the same holder name with the old fence is refused too */
  arec_role_lease stale = b;
  stale.fence = a.fence;
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "45",
                                                 &stale),
                   AREC_EFENCED);
  ck_assert_int_eq(arec_host_store_kv_get(s, "telegram:offset", &v), 0);
  ck_assert_str_eq(v, "42");
  free(v);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "46",
                                                 &b),
                   0);
  ck_assert_int_eq(arec_host_store_kv_get(s, "telegram:offset", &v), 0);
  ck_assert_str_eq(v, "46");
  free(v);
  /* released: nobody writes */
  ck_assert_int_eq(arec_role_release(repo, &b), 0);
  ck_assert_int_eq(arec_host_store_kv_set_fenced(s, "telegram:offset", "47",
                                                 &b),
                   AREC_EFENCED);
  arec_repository_free(repo);
  arec_host_store_free(s);
  arec_pg_free(pg);
}
END_TEST

/* ----------------------------------------------------------------- audit */
START_TEST(audit_pages) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  for (int i = 0; i < 25; i++) {
    arec_host_audit e;
    memset(&e, 0, sizeof e);
    char agent[16];
    snprintf(agent, sizeof agent, "ag%d", i);
    e.actor = i % 2 ? "telegram:601" : "api:admin";
    e.action = "agent.create";
    e.agent_id = i % 3 ? agent : NULL;
    e.user_id = i % 2 ? 601 : 0;
    e.result = "201";
    e.request_id = i % 5 ? NULL : "req-1";
    ck_assert_int_eq(arec_host_store_audit_add(s, &e), 0);
  }
  arec_host_audit *v = NULL;
  size_t n = 0, seen = 0;
  long long after = 0, last = 0;
  for (;;) {
    ck_assert_int_eq(arec_host_store_audit_list(s, after, 10, 0, &v, &n), 0);
    for (size_t i = 0; i < n; i++) {
      ck_assert_int_gt(v[i].id, last);
      last = v[i].id;
      ck_assert_ptr_nonnull(v[i].time);
      ck_assert_int_eq((int)strlen(v[i].time), 27); /* ...T..:..:..ssssssZ */
      ck_assert_str_eq(v[i].result, "201");
    }
    seen += n;
    if (n)
      after = v[n - 1].id;
    arec_host_audit_free(v, n);
    if (n < 10)
      break;
  }
  ck_assert_uint_eq(seen, 25);
  ck_assert_int_eq(arec_host_store_audit_list(s, 0, 1000, 601, &v, &n), 0);
  ck_assert_uint_eq(n, 12);
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_eq(v[i].actor, "telegram:601");
    ck_assert_int_eq(v[i].user_id, 601);
  }
  ck_assert_ptr_null(v[1].agent_id); /* i = 3 */
  ck_assert_ptr_nonnull(v[2].agent_id);
  arec_host_audit_free(v, n);
  ck_assert_int_eq(arec_host_store_audit_list(s, 0, 0, 0, &v, &n),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_host_store_audit_list(s, 0, 1001, 0, &v, &n),
                   AREC_EINVAL);
  arec_host_store_free(s);
  arec_pg_free(pg);
}
END_TEST

/* ------------------------------------------------------------ migrations */
START_TEST(migrations_compiled_in_match_psql) {
  sql("DROP DATABASE IF EXISTS mig_lib");
  sql("CREATE DATABASE mig_lib");
  ck_assert_int_eq(arec_test_pg_migrate(&g_pg, "mig_lib", 0), 0);
  char ci[600];
  arec_test_pg_conninfo(&g_pg, "mig_lib", ci, sizeof ci);
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = ci;
  o.log = sink;
  arec_pg *pg = NULL;
  ck_assert_int_eq(arec_pg_new(&pg, &o), 0);
  int applied = -1, version = -1;
  ck_assert_int_eq(arec_host_store_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, 2);
  ck_assert_int_eq(arec_host_store_migrate(pg, &applied), 0);
  ck_assert_int_eq(applied, 0);
  ck_assert_int_eq(arec_pg_ledger_version(pg, "host_schema_migrations",
                                          &version),
                   0);
  ck_assert_int_eq(version, 2);
  /* the harness applied host/sql from the files (as psql -f would): the
   * same ledger, and the compiled-in set has nothing left to do there */
  arec_pg *main_pg = open_pg();
  ck_assert_int_eq(arec_host_store_migrate(main_pg, &applied), 0);
  ck_assert_int_eq(applied, 0);
  ck_assert_int_eq(arec_pg_ledger_version(main_pg, "host_schema_migrations",
                                          &version),
                   0);
  ck_assert_int_eq(version, 2);
  arec_pg_free(main_pg);
  /* the audit table's columns as the admin API pages them */
  arec_pg_result *r = NULL;
  ck_assert_int_eq(
      arec_pg_query(pg, &r,
                    "SELECT string_agg(column_name || ':' || data_type, ',' "
                    "ORDER BY ordinal_position) FROM information_schema.columns "
                    "WHERE table_name = 'audit_events'",
                    0, NULL, NULL, NULL),
      0);
  ck_assert_str_eq(arec_pg_result_value(r, 0, 0),
                   "id:bigint,time:timestamp with time zone,actor:text,"
                   "action:text,agent_id:text,user_id:bigint,result:text,"
                   "request_id:text");
  arec_pg_result_free(r);
  arec_pg_free(pg);
}
END_TEST

int main(void) {
  if (arec_test_pg_start_migrated(&g_pg) != 0)
    return 1;
  Suite *s = suite_create("host-store");
  TCase *tc = tcase_create("store");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, users_accounts_pairs);
  tcase_add_test(tc, ciphertext_bound_to_its_row);
  tcase_add_test(tc, source_row_still_decrypts);
  tcase_add_test(tc, legacy_and_previous_key_values_decrypt);
  tcase_add_test(tc, rotation_idempotent_while_reading);
  tcase_add_test(tc, rotation_reports_rows_it_cannot_read);
  tcase_add_test(tc, offset_written_only_by_the_role_holder);
  tcase_add_test(tc, audit_pages);
  tcase_add_test(tc, migrations_compiled_in_match_psql);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  arec_test_pg_stop(&g_pg);
  return failed ? 1 : 0;
}
