/*
 * test_host_secrets.c -- the credentials of the host's store against a
 * real PostgreSQL 15: a value is bound to its row and column (copied to
 * another row or column it does not decrypt and the row is named, the
 * original still works); 0.1 values (no associated data) and values under
 * AGENT_SECRETS_KEY_PREVIOUS still decrypt; a wrong key is AREC_ECRYPTO
 * naming the row, never garbage; without a key accounts come back without
 * credentials and none can be stored; rotation rewrites every row not yet
 * under the current key (counts, idempotent) while another thread keeps
 * reading without a failed read, reports rows it cannot read, and still
 * tells the keys apart when their id bytes are the same.  No
 * secret or key ever appears in an arec_error_last() or a log line.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdatomic.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/host/store_fixture.h"
#include "support/runner.h"

static const unsigned char K1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char K2[32] = "fedcba9876543210fedcba9876543210";
static const unsigned char K3[32] = "a wrong key, of thirty-two bytes";


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

/* --------------------------------------------------------------- binding */
/* User uid with two accounts, a (SECRET_KEY, SECRET_VAL; pair BTC/USDT)
 * and b (pair ETH/USDT); then b's column col overwritten with a's. */
static void copied_column(arec_host_store *s, long long uid, const char *col,
                          long long *a, long long *b) {
  user(s, uid);
  *a = account(s, uid, SECRET_KEY, SECRET_VAL, 1);
  *b = account(s, uid, "other-key", "other-secret", 1);
  pair(s, uid, *a, "BTC/USDT");
  pair(s, uid, *b, "ETH/USDT");
  char q[300];
  snprintf(q, sizeof q,
           "UPDATE user_exchanges SET %s = (SELECT %s FROM user_exchanges "
           "WHERE id = %lld) WHERE id = %lld",
           col, col, *a, *b);
  sql(q);
}

START_TEST(ciphertext_bound_to_its_row) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  long long a, b;
  copied_column(s, 201, "api_key", &a, &b);
  char q[300];
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
  no_secret_then_free(pg, s, NULL);
}
END_TEST

START_TEST(source_row_still_decrypts) {
  arec_pg *pg = open_pg();
  arec_host_store *s = open_store(pg, K1, NULL);
  long long a, b;
  copied_column(s, 211, "api_secret", &a, &b);
  expect_account(s, 211, "BTC/USDT", a);
  arec_host_account acc;
  ck_assert_int_eq(arec_host_store_account(s, 211, "ETH/USDT", &acc),
                   AREC_ECRYPTO);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "api_secret"));
  no_secret_then_free(pg, s, NULL);
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
  no_secret_then_free(pg, none, wrong, only, cur, old, NULL);
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
  arec_pg *pg = open_db("rot_read", 1);
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
  no_secret_then_free(pg, only, cur, old, NULL);
}
END_TEST

START_TEST(rotation_reports_rows_it_cannot_read) {
  arec_pg *pg = open_db("rot_bad", 1);
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
  snprintf(idt, sizeof idt, "\"user_exchange_id\":\"%lld\"", w);
  ck_assert(logged(idt));
  ck_assert_int_eq(arec_host_store_rotate(cur, 2, &changed), AREC_ECRYPTO);
  ck_assert_int_eq(changed, 0);
  no_secret_then_free(pg, old, cur, wrong, NULL);
}
END_TEST

/* The key id byte store.h documents: SHA-256("agentrecover key id" | key). */
static unsigned char key_id(const unsigned char *key) {
  unsigned char buf[19 + 32], md[32];
  unsigned int n = 0;
  memcpy(buf, "agentrecover key id", 19);
  memcpy(buf + 19, key, 32);
  ck_assert_int_eq(EVP_Digest(buf, sizeof buf, md, &n, EVP_sha256(), NULL), 1);
  return md[0];
}

START_TEST(rotation_when_both_keys_share_their_id) {
  /* a new key whose id byte is the old key's */
  unsigned char kc[32];
  memcpy(kc, K2, 32);
  for (unsigned i = 0; key_id(kc) != key_id(K1); i++) {
    ck_assert_uint_lt(i, 100000);
    memcpy(kc, &i, sizeof i);
  }
  ck_assert(memcmp(kc, K1, 32) != 0);
  arec_pg *pg = open_db("rot_same", 1);
  arec_host_store *old = open_store(pg, K1, NULL);
  arec_host_store *cur = open_store(pg, kc, K1);
  user(old, 551);
  char sym[32];
  long long ids[6];
  for (int i = 0; i < 6; i++) {
    snprintf(sym, sizeof sym, "C%d/USDT", i);
    /* rows under the old key, and some under the new one already */
    ids[i] = account(i < 4 ? old : cur, 551, SECRET_KEY, SECRET_VAL, 1);
    pair(old, 551, ids[i], sym);
  }
  for (int i = 0; i < 6; i++) {
    snprintf(sym, sizeof sym, "C%d/USDT", i);
    expect_account(cur, 551, sym, ids[i]);
  }
  uint64_t changed = 0;
  ck_assert_int_eq(arec_host_store_rotate(cur, 4, &changed), 0);
  ck_assert_int_eq(changed, 4);
  ck_assert_int_eq(arec_host_store_rotate(cur, 4, &changed), 0);
  ck_assert_int_eq(changed, 0);
  arec_host_store *only = open_store(pg, kc, NULL);
  for (int i = 0; i < 6; i++) {
    snprintf(sym, sizeof sym, "C%d/USDT", i);
    expect_account(only, 551, sym, ids[i]);
  }
  no_secret_then_free(pg, only, cur, old, NULL);
}
END_TEST

AREC_TEST_CASE_MAIN("host-secrets", "secrets", 60,
                    arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL),
                    ciphertext_bound_to_its_row, source_row_still_decrypts,
                    legacy_and_previous_key_values_decrypt,
                    rotation_idempotent_while_reading,
                    rotation_reports_rows_it_cannot_read,
                    rotation_when_both_keys_share_their_id)
