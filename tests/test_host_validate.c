/*
 * test_host_validate.c -- the host's input policy (host/validate.h) as
 * tables: every string field refuses CR, LF, TAB, ESC, DEL (and NUL when
 * decoded with a length) at its start, middle and end, naming the field
 * and never repeating the value; names counted in characters of valid
 * UTF-8 (200 accepted, 201 refused, in 2-, 3- and 4-byte characters;
 * overlong forms, surrogates, code points above U+10FFFF and cut sequences
 * refused); user ids at the edges of 1 .. 2^53 - 1; budgets (finite, > 0,
 * <= 1e15); symbols normalised to upper case; agent ids, credentials,
 * exchanges, strategies (against a manager's registered types), pod names
 * and params.
 */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "validate.h"
#include "support/runner.h"
#include "support/toy_agent.h"

typedef int (*check_fn)(const char *field, const char *s,
                        arec_host_invalid *e);

static int v_symbol(const char *f, const char *s, arec_host_invalid *e) {
  char out[AREC_HOST_SYMBOL_MAX];
  return arec_host_valid_symbol(f, s, out, sizeof out, e);
}
static int v_strategy(const char *f, const char *s, arec_host_invalid *e) {
  return arec_host_valid_strategy(f, s, NULL, e);
}
static int v_exchange(const char *f, const char *s, arec_host_invalid *e) {
  char out[32];
  return arec_host_valid_exchange(f, s, out, sizeof out, e);
}
static int v_text(const char *f, const char *s, arec_host_invalid *e) {
  return arec_host_valid_text(f, s, 50, e);
}

/* Each string field with a value it accepts. */
static const struct {
  const char *field;
  check_fn fn;
  const char *good;
} FIELDS[] = {
    {"id", arec_host_valid_agent_id, "agent-1"},
    {"name", arec_host_valid_name, "My agent"},
    {"symbol", v_symbol, "BTC/USDT"},
    {"strategy", v_strategy, "noop"},
    {"exchange", v_exchange, "binance"},
    {"api_key", arec_host_valid_credential, "AbC123xyz"},
    {"api_secret", arec_host_valid_credential, "s3cr3t!value"},
    {"to", arec_host_valid_pod, "pod-b.1"},
    {"params", arec_host_valid_params, "{\"a\": 1}"},
    {"text", v_text, "some text"},
};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

static void expect_bad(size_t i, const char *value, const char *what) {
  arec_host_invalid e;
  memset(&e, 0, sizeof e);
  ck_assert_msg(FIELDS[i].fn(FIELDS[i].field, value, &e) == AREC_EINVAL,
                "%s accepted %s", FIELDS[i].field, what);
  ck_assert_str_eq(e.field, FIELDS[i].field);
  ck_assert_msg(strncmp(e.message, FIELDS[i].field,
                        strlen(FIELDS[i].field)) == 0,
                "message %s", e.message);
  ck_assert_msg(!strstr(e.message, FIELDS[i].good), "value echoed: %s",
                e.message);
}

START_TEST(good_values_pass) {
  for (size_t i = 0; i < NFIELDS; i++) {
    arec_host_invalid e;
    ck_assert_msg(FIELDS[i].fn(FIELDS[i].field, FIELDS[i].good, &e) == 0,
                  "%s refused %s: %s", FIELDS[i].field, FIELDS[i].good,
                  e.message);
    /* NULL checks with no error struct do not crash */
    if (strcmp(FIELDS[i].field, "params"))
      ck_assert_int_eq(FIELDS[i].fn(FIELDS[i].field, NULL, NULL),
                       AREC_EINVAL);
  }
}
END_TEST

START_TEST(control_characters_refused_in_every_field) {
  static const char ctl[] = {'\r', '\n', '\t', 0x1b, 0x7f, 0x01, 0x1f};
  for (size_t i = 0; i < NFIELDS; i++) {
    const char *g = FIELDS[i].good;
    size_t n = strlen(g);
    for (size_t c = 0; c < sizeof ctl; c++) {
      for (int where = 0; where < 3; where++) {
        char v[128];
        size_t at = where == 0 ? 0 : where == 1 ? n / 2 : n;
        memcpy(v, g, at);
        v[at] = ctl[c];
        memcpy(v + at + 1, g + at, n - at + 1);
        arec_host_invalid e;
        ck_assert_msg(FIELDS[i].fn(FIELDS[i].field, v, &e) == AREC_EINVAL,
                      "%s accepted 0x%02x at %d", FIELDS[i].field, ctl[c],
                      where);
        ck_assert_str_eq(e.field, FIELDS[i].field);
        ck_assert_msg(strstr(e.message, "control characters"), "%s: %s",
                      FIELDS[i].field, e.message);
        ck_assert(!strstr(e.message, g));
      }
    }
    /* NUL inside a string decoded with its length */
    char v[128];
    memcpy(v, g, n + 1);
    v[n / 2] = '\0';
    arec_host_invalid e;
    ck_assert_int_eq(arec_host_valid_no_nul(FIELDS[i].field, v, n, &e),
                     AREC_EINVAL);
    ck_assert_str_eq(e.field, FIELDS[i].field);
    ck_assert_ptr_nonnull(strstr(e.message, "control characters"));
    ck_assert_int_eq(arec_host_valid_no_nul(FIELDS[i].field, g, n, &e), 0);
    /* empty */
    expect_bad(i, "", "an empty string");
  }
}
END_TEST

/* n copies of the UTF-8 character c. */
static char *repeat(const char *c, size_t n) {
  size_t k = strlen(c);
  char *s = malloc(n * k + 1);
  for (size_t i = 0; i < n; i++)
    memcpy(s + i * k, c, k);
  s[n * k] = '\0';
  return s;
}

START_TEST(names_counted_in_characters) {
  static const char *const chars[] = {"a", "\xc3\xa9" /* é */,
                                      "\xe2\x82\xac" /* € */,
                                      "\xf0\x9f\x98\x80" /* 😀 */};
  for (size_t c = 0; c < 4; c++) {
    char *ok = repeat(chars[c], 200), *over = repeat(chars[c], 201);
    arec_host_invalid e;
    ck_assert_msg(arec_host_valid_name("name", ok, &e) == 0, "200 x %zu: %s",
                  c, e.message);
    ck_assert_int_eq(arec_host_valid_name("name", over, &e), AREC_EINVAL);
    ck_assert_str_eq(e.message, "name: at most 200 characters");
    free(ok);
    free(over);
  }
  static const char *const bad[] = {
      "\xc0\xaf",         /* overlong '/' */
      "\xe0\x80\xaf",     /* overlong, 3 bytes */
      "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
      "\xed\xa0\x80",     /* a surrogate */
      "\xf4\x90\x80\x80", /* above U+10FFFF */
      "\xe2\x82",         /* cut */
      "\x80",             /* a lone continuation byte */
      "\xff",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char v[32];
    snprintf(v, sizeof v, "ab%scd", bad[i]);
    arec_host_invalid e;
    ck_assert_msg(arec_host_valid_name("name", v, &e) == AREC_EINVAL,
                  "accepted bad[%zu]", i);
    ck_assert_str_eq(e.message, "name: not valid UTF-8");
  }
  arec_host_invalid e;
  ck_assert_int_eq(arec_host_valid_name("name", "\xf4\x8f\xbf\xbf", &e), 0);
  ck_assert_int_eq(arec_host_valid_name("name", "\xef\xbf\xbf", &e), 0);
}
END_TEST

START_TEST(user_ids_and_budgets) {
  static const struct {
    long long v;
    int ok;
  } ids[] = {{1, 1},
             {9007199254740991LL, 1},
             {9007199254740990LL, 1},
             {0, 0},
             {-1, 0},
             {9007199254740992LL, 0},
             {9007199254740993LL, 0},
             {LLONG_MAX, 0},
             {LLONG_MIN, 0}};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    arec_host_invalid e;
    int rc = arec_host_valid_user_id("user_id", ids[i].v, &e);
    ck_assert_msg((rc == 0) == ids[i].ok, "%lld", ids[i].v);
    if (rc)
      ck_assert_str_eq(e.field, "user_id");
  }
  static const struct {
    double v;
    int ok;
  } budgets[] = {{1e-8, 1},   {100, 1},      {1e15, 1},   {0, 0},
                 {-0.0, 0},   {-5, 0},       {1.000001e15, 0},
                 {NAN, 0},    {INFINITY, 0}, {-INFINITY, 0}};
  for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
    arec_host_invalid e;
    int rc = arec_host_valid_budget("balance", budgets[i].v, &e);
    ck_assert_msg((rc == 0) == budgets[i].ok, "%g", budgets[i].v);
    if (rc)
      ck_assert_str_eq(e.field, "balance");
  }
}
END_TEST

START_TEST(symbols_normalised) {
  static const struct {
    const char *in, *out;
  } t[] = {{"BTC/USDT", "BTC/USDT"},
           {"btc/usdt", "BTC/USDT"},
           {"Eth/Btc", "ETH/BTC"},
           {"1INCH/USDT", "1INCH/USDT"},
           {"ABCDEFGHIJKLMNOPQRST/ABCDEFGHIJKLMNOPQRST",
            "ABCDEFGHIJKLMNOPQRST/ABCDEFGHIJKLMNOPQRST"},
           {"BTCUSDT", NULL},
           {"BTC/", NULL},
           {"/USDT", NULL},
           {"A/B/C", NULL},
           {"BTC-X/USDT", NULL},
           {"BTC/USDT ", NULL},
           {"BTC /USDT", NULL},
           {"BT\xc3\x89/USDT", NULL},
           {"ABCDEFGHIJKLMNOPQRSTU/USDT", NULL},
           {"BTC/ABCDEFGHIJKLMNOPQRSTU", NULL}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char out[AREC_HOST_SYMBOL_MAX];
    arec_host_invalid e;
    int rc = arec_host_valid_symbol("symbol", t[i].in, out, sizeof out, &e);
    if (t[i].out) {
      ck_assert_msg(rc == 0, "%s: %s", t[i].in, e.message);
      ck_assert_str_eq(out, t[i].out);
    } else {
      ck_assert_msg(rc == AREC_EINVAL, "accepted %s", t[i].in);
      ck_assert_str_eq(e.field, "symbol");
      ck_assert_str_eq(out, "");
    }
  }
}
END_TEST

START_TEST(ids_credentials_exchanges_pods_params) {
  arec_host_invalid e;
  char id64[65], id65[66];
  memset(id64, 'a', 64);
  id64[64] = 0;
  memset(id65, 'a', 65);
  id65[65] = 0;
  ck_assert_int_eq(arec_host_valid_agent_id("id", id64, &e), 0);
  ck_assert_int_eq(arec_host_valid_agent_id("id", "A_b-9", &e), 0);
  const char *bad_ids[] = {id65, "start", "stop", "a.b", "a b", "a/b", "é"};
  for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
    ck_assert_msg(arec_host_valid_agent_id("id", bad_ids[i], &e) ==
                      AREC_EINVAL,
                  "accepted %s", bad_ids[i]);
    ck_assert_str_eq(e.field, "id");
  }

  char *k256 = repeat("k", 256), *k257 = repeat("k", 257);
  ck_assert_int_eq(arec_host_valid_credential("api_key", k256, &e), 0);
  ck_assert_int_eq(arec_host_valid_credential("api_key", k257, &e),
                   AREC_EINVAL);
  ck_assert_ptr_null(strstr(e.message, "kkkk"));
  free(k256);
  free(k257);
  const char *bad_keys[] = {"with space", "caf\xc3\xa9", "tab\there"};
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(arec_host_valid_credential("api_secret", bad_keys[i], &e),
                     AREC_EINVAL);
    ck_assert_str_eq(e.field, "api_secret");
    ck_assert_ptr_null(strstr(e.message, bad_keys[i]));
  }
  ck_assert_int_eq(arec_host_valid_credential("api_key", "~!@#$%^&*()_+{}", &e),
                   0);

  char ex[32];
  ck_assert_int_eq(arec_host_valid_exchange("exchange", "BiNaNcE", ex,
                                            sizeof ex, &e),
                   0);
  ck_assert_str_eq(ex, "binance");
  ck_assert_int_eq(arec_host_valid_exchange("exchange", "kraken", ex,
                                            sizeof ex, &e),
                   AREC_EINVAL);
  ck_assert_str_eq(e.message, "exchange: not a supported exchange (binance)");
  ck_assert_str_eq(arec_host_exchanges()[0], "binance");
  ck_assert_ptr_null(arec_host_exchanges()[1]);

  ck_assert_int_eq(arec_host_valid_pod("to", "agentrecoverd-7d9f-x2.a_b", &e),
                   0);
  ck_assert_int_eq(arec_host_valid_pod("to", "pod/a", &e), AREC_EINVAL);
  char *p254 = repeat("p", 254);
  ck_assert_int_eq(arec_host_valid_pod("to", p254, &e), AREC_EINVAL);
  free(p254);

  ck_assert_int_eq(arec_host_valid_params("params", NULL, &e), 0);
  ck_assert_int_eq(arec_host_valid_params("params", " {}", &e), 0);
  ck_assert_int_eq(arec_host_valid_params("params", "[1]", &e), AREC_EINVAL);
  char *big = repeat(" ", 16384);
  big[0] = '{';
  ck_assert_int_eq(arec_host_valid_params("params", big, &e), 0);
  free(big);
  big = repeat(" ", 16385);
  big[0] = '{';
  ck_assert_int_eq(arec_host_valid_params("params", big, &e), AREC_EINVAL);
  free(big);
}
END_TEST

static int s_start(void **st, arec_agent *a, const arec_agent_info *i,
                   void *ud) {
  (void)st, (void)a, (void)i, (void)ud;
  return AREC_EINVAL;
}
static int s_step(void *st, arec_agent *a, int64_t *d, void *ud) {
  (void)st, (void)a, (void)d, (void)ud;
  return AREC_EINVAL;
}
static int s_snap(void *st, arec_agent *a, arec_snapshot *s, void *ud) {
  (void)st, (void)a, (void)s, (void)ud;
  return 0;
}
static void s_stop(void *st, arec_agent *a, arec_stop_reason r, void *ud) {
  (void)st, (void)a, (void)r, (void)ud;
}

START_TEST(strategies_against_registered_types) {
  arec_memory_store *st = toy_store(NULL, 0);
  arec_manager_options o = AREC_MANAGER_OPTIONS_INIT;
  o.pod_name = "pod-v";
  o.log_level = AREC_LOG_ERROR;
  arec_manager *m = toy_manager_on(st, &o);
  arec_agent_type t = AREC_AGENT_TYPE_INIT;
  t.name = "registered";
  t.start = s_start; /* never called */
  t.step = s_step;
  t.snapshot = s_snap;
  t.stop = s_stop;
  ck_assert_int_eq(arec_manager_register_type(m, &t), 0);
  arec_host_invalid e;
  ck_assert_int_eq(arec_host_valid_strategy("strategy", "registered", m, &e),
                   0);
  ck_assert_int_eq(arec_host_valid_strategy("strategy", "noop", m, &e),
                   AREC_EINVAL);
  ck_assert_str_eq(e.field, "strategy");
  ck_assert_int_eq(arec_host_valid_strategy("strategy", "Registered", m, &e),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_host_valid_strategy("strategy", "noop", NULL, &e), 0);
  ck_assert_int_eq(arec_host_valid_strategy("strategy", "No Op", NULL, &e),
                   AREC_EINVAL);
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

AREC_TEST_CASE_MAIN("host-validate", "validate", 0, arec_test_run(s),
                    good_values_pass, control_characters_refused_in_every_field,
                    names_counted_in_characters, user_ids_and_budgets,
                    symbols_normalised, ids_credentials_exchanges_pods_params,
                    strategies_against_registered_types)
