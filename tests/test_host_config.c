/*
 * test_host_config.c -- agentrecoverd's configuration from the environment:
 * defaults, durations, every validation error names its variable, secrets
 * never appear in an error line, serving needs ADMIN_TOKEN unless
 * ADMIN_AUTH=none, --help lists every variable with its default.  No
 * servers.
 */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/config.h"
#include "support/runner.h"

/* A fake environment: NULL-terminated name/value pairs. */
static const char *fake_get(const char *name, void *ud) {
  const char *const *kv = ud;
  for (; kv[0]; kv += 2)
    if (!strcmp(kv[0], name)) return kv[1];
  return NULL;
}

static int load(arec_host_config *c, const char *const *kv, char *err) {
  return arec_host_config_load(c, fake_get, (void *)kv, err, 256);
}

/* Loads DATABASE_URL=x and the NULL-ended name/value pairs of extra. */
static int load_with(arec_host_config *c, const char *const *extra,
                     char *err) {
  const char *env[24] = {"DATABASE_URL", "x"};
  size_t n = 2;
  for (size_t i = 0; extra[i]; i++) env[n++] = extra[i];
  env[n] = NULL;
  return load(c, env, err);
}

/* Loads kv, asserted to succeed (the error line as the message). */
static void load_ok(arec_host_config *c, const char *const *kv) {
  char err[256];
  ck_assert_msg(load(c, kv, err) == 0, "%s", err);
}

/* How a field of arec_host_config is read back as text. */
typedef enum { F_I64, F_INT, F_UINT, F_STR } field_kind;

/* One loaded field: its value when no variable sets it (defaults), and
 * its value under full_set's environment.  Values as text: a number, a
 * string, or "(null)". */
static const struct {
  const char *name;
  size_t off;
  field_kind kind;
  const char *def, *full;
} fields[] = {
#define FIELD(f, kind) #f, offsetof(arec_host_config, f), kind
    {FIELD(database_connect_timeout_ms, F_I64), "30000", "2000"},
    {FIELD(redis_addrs, F_STR), "localhost:6379", "a:1,b:2,c:3"},
    {FIELD(redis_password, F_STR), "(null)", "rpw"},
    {FIELD(redis_db, F_INT), "0", "3"},
    {FIELD(recovery_enabled, F_INT), "1", "0"},
    {FIELD(lock_ttl_ms, F_I64), "30000", "3000"},
    {FIELD(refresh_interval_ms, F_I64), "10000", "500"},
    {FIELD(reconcile_interval_ms, F_I64), "5000", "0"},
    {FIELD(lock_backend, F_STR), "redis", "redis"},
    {FIELD(pod_lease_ttl_ms, F_I64), "0", "5000"},
    {FIELD(workers, F_UINT), "32", "4"},
    {FIELD(save_interval_ms, F_I64), "5000", "1000"},
    {FIELD(migrate, F_INT), "0", "1"},
    {FIELD(shutdown_timeout_ms, F_I64), "25000", "60000"},
    {FIELD(http_port, F_INT), "8080", "9000"},
    {FIELD(admin_token, F_STR), "(null)", "tok-tok-tok-tok-tok"},
    {FIELD(has_secrets_key, F_INT), "0", "1"},
    {FIELD(log_json, F_INT), "0", "1"},
    {FIELD(trading_live, F_INT), "0", "1"},
    {FIELD(http_addr, F_STR), "0.0.0.0", "0.0.0.0"},
    {FIELD(http_max_connections, F_UINT), "4096", "4096"},
    {FIELD(http_max_per_ip, F_UINT), "64", "64"},
    {FIELD(http_connection_timeout_ms, F_I64), "10000", "10000"},
    {FIELD(admin_read_token, F_STR), "(null)", "(null)"},
    {FIELD(admin_auth_none, F_INT), "0", "0"},
    {FIELD(has_secrets_key_previous, F_INT), "0", "0"},
    {FIELD(database_pool_size, F_UINT), "4", "4"},
    {FIELD(database_admin_pool_size, F_UINT), "4", "4"},
    {FIELD(database_statement_timeout_ms, F_I64), "5000", "5000"},
    {FIELD(stop_check_interval_ms, F_I64), "5000", "5000"},
    {FIELD(fair_share, F_INT), "1", "0"},
    {FIELD(exchange_api_base, F_STR), "(null)", "https://x"},
    {FIELD(exchange_allow_mainnet, F_INT), "0", "1"},
    {FIELD(trading_step_interval_ms, F_I64), "10000", "2000"},
    /* the default: 30 s TTL / 3 > 5 s; full_set: 3 s TTL / 3 */
    {FIELD(trading_order_timeout_ms, F_I64), "5000", "1000"},
#undef FIELD
};

/* Field i of c as text (fields[] says which and of which kind). */
static void field_text(const arec_host_config *c, size_t i, char *buf,
                       size_t len) {
  const char *p = (const char *)c + fields[i].off;
  switch (fields[i].kind) {
  case F_I64:
    snprintf(buf, len, "%lld", (long long)*(const int64_t *)p);
    break;
  case F_INT:
    snprintf(buf, len, "%d", *(const int *)p);
    break;
  case F_UINT:
    snprintf(buf, len, "%u", *(const unsigned int *)p);
    break;
  case F_STR: {
    const char *v = *(char *const *)p;
    snprintf(buf, len, "%s", v ? v : "(null)");
    break;
  }
  }
}

/* The row of fields[] named name (asserted to exist). */
static size_t field_index(const char *name) {
  size_t i = 0;
  while (i < sizeof fields / sizeof *fields && strcmp(fields[i].name, name))
    i++;
  ck_assert_msg(i < sizeof fields / sizeof *fields, "no field %s", name);
  return i;
}

/* Every field of c holds what fields[] says: the default column
 * (full == 0) or the full_set one. */
static void expect_fields(const arec_host_config *c, int full) {
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
    const char *want = full ? fields[i].full : fields[i].def;
    char got[128];
    field_text(c, i, got, sizeof got);
    ck_assert_msg(!strcmp(got, want), "%s: want %s, got %s", fields[i].name,
                  want, got);
  }
}

START_TEST(defaults) {
  const char *env[] = {"DATABASE_URL", "host=x", "POD_NAME", "pod-a", NULL};
  arec_host_config c;
  char err[256];
  load_ok(&c, env);
  ck_assert_str_eq(c.database_url, "host=x");
  ck_assert_str_eq(c.pod_name, "pod-a");
  ck_assert_int_eq(c.log_level, AREC_LOG_INFO);
  expect_fields(&c, 0);
  /* serving without a token is refused, naming ADMIN_TOKEN */
  ck_assert_int_eq(arec_host_config_check_serving(&c, err, sizeof err), -1);
  ck_assert_msg(!strncmp(err, "ADMIN_TOKEN:", 12), "%s", err);
  ck_assert_ptr_nonnull(strstr(err, "ADMIN_AUTH=none"));
  arec_host_config_free(&c);
}
END_TEST

/* ADMIN_TOKEN, ADMIN_READ_TOKEN, ADMIN_AUTH=none; the pools; the
 * previous secrets key; the stop check interval. */
START_TEST(auth_pools_and_keys) {
  const char *env[] = {
      "DATABASE_URL", "x", "ADMIN_TOKEN", "0123456789abcdef",
      "ADMIN_READ_TOKEN", "read-token-0123456789", "DATABASE_POOL_SIZE", "1",
      "DATABASE_ADMIN_POOL_SIZE", "12", "DATABASE_STATEMENT_TIMEOUT", "750ms",
      "AGENT_STOP_CHECK_INTERVAL", "250ms", "AGENT_SECRETS_KEY",
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "AGENT_SECRETS_KEY_PREVIOUS",
      "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
      NULL};
  arec_host_config c;
  char err[256];
  load_ok(&c, env);
  ck_assert_str_eq(c.admin_token, "0123456789abcdef");
  ck_assert_str_eq(c.admin_read_token, "read-token-0123456789");
  ck_assert_uint_eq(c.database_pool_size, 1);
  ck_assert_uint_eq(c.database_admin_pool_size, 12);
  ck_assert_int_eq(c.database_statement_timeout_ms, 750);
  ck_assert_int_eq(c.stop_check_interval_ms, 250);
  ck_assert_int_eq(c.has_secrets_key_previous, 1);
  ck_assert_uint_eq(c.secrets_key_previous[0], 0xff);
  ck_assert_uint_eq(c.secrets_key_previous[31], 0x00);
  ck_assert_int_eq(arec_host_config_check_serving(&c, err, sizeof err), 0);
  ck_assert_str_eq(err, "");
  arec_host_config_free(&c);
  ck_assert_ptr_null(c.admin_read_token);
  ck_assert_int_eq(c.secrets_key_previous[0], 0);

  const char *none[] = {"DATABASE_URL", "x", "ADMIN_AUTH", "none", NULL};
  load_ok(&c, none);
  ck_assert_int_eq(c.admin_auth_none, 1);
  ck_assert_ptr_null(c.admin_token);
  ck_assert_int_eq(arec_host_config_check_serving(&c, err, sizeof err), 0);
  arec_host_config_free(&c);
  /* an empty token counts as unset */
  const char *empty[] = {"DATABASE_URL", "x", "ADMIN_TOKEN", "", NULL};
  load_ok(&c, empty);
  ck_assert_ptr_null(c.admin_token);
  ck_assert_int_eq(arec_host_config_check_serving(&c, err, sizeof err), -1);
  arec_host_config_free(&c);
}
END_TEST

START_TEST(durations) {
  int64_t v;
  ck_assert_int_eq(arec_host_parse_duration("500ms", &v), 0);
  ck_assert_int_eq(v, 500);
  ck_assert_int_eq(arec_host_parse_duration("30s", &v), 0);
  ck_assert_int_eq(v, 30000);
  ck_assert_int_eq(arec_host_parse_duration("2m", &v), 0);
  ck_assert_int_eq(v, 120000);
  ck_assert_int_eq(arec_host_parse_duration("0", &v), 0);
  ck_assert_int_eq(v, 0);
  const char *bad[] = {"", "30", "-1s", "1h", "s", "1.5s", " 1s", "1s ",
                       "99999999999999999999m"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ck_assert_msg(arec_host_parse_duration(bad[i], &v) == -1, "%s", bad[i]);
}
END_TEST

START_TEST(full_set) {
  const char *env[] = {
      "DATABASE_URL", "postgres://u:pw@h/db", "DATABASE_CONNECT_TIMEOUT", "2s",
      "REDIS_ADDRS", "a:1,b:2,c:3", "REDIS_HOST", "ignored", "REDIS_PASSWORD",
      "rpw", "REDIS_DB", "3", "POD_NAME", "pod-b", "AGENT_RECOVERY_ENABLED",
      "false", "AGENT_LOCK_TTL", "3s", "AGENT_LOCK_REFRESH_INTERVAL", "500ms",
      "AGENT_RECONCILE_INTERVAL", "0", "AGENT_POD_LEASE_TTL", "5s",
      "AGENT_WORKERS", "4", "AGENT_SAVE_INTERVAL", "1s", "AGENT_MIGRATE",
      "yes", "SHUTDOWN_TIMEOUT", "1m", "HTTP_PORT", "9000", "ADMIN_TOKEN",
      "tok-tok-tok-tok-tok", "AGENT_SECRETS_KEY",
      "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF",
      "LOG_LEVEL", "debug", "LOG_FORMAT", "json", "TRADING_MODE", "live",
      "EXCHANGE_ALLOW_MAINNET", "true", "TELEGRAM_BOT_TOKEN", "123:abc",
      "TELEGRAM_ALLOWED_USERS", "1,22,333", "TELEGRAM_API_BASE",
      "http://127.0.0.1:1", "EXCHANGE_API_BASE", "https://x",
      "AGENT_FAIR_SHARE", "false", "TRADING_STEP_INTERVAL", "2s", NULL};
  arec_host_config c;
  load_ok(&c, env);
  expect_fields(&c, 1);
  ck_assert_uint_eq(c.secrets_key[0], 0x00);
  ck_assert_uint_eq(c.secrets_key[1], 0x11);
  ck_assert_uint_eq(c.secrets_key[31], 0xff);
  ck_assert_int_eq(c.log_level, AREC_LOG_DEBUG);
  arec_host_config_free(&c);
  ck_assert_int_eq(c.secrets_key[0] | c.secrets_key[31], 0);
  ck_assert_ptr_null(c.admin_token);
}
END_TEST

/* Variables and the fields they set: each row an environment (besides
 * DATABASE_URL) and the fields it must give (name, value as text). */
static const struct {
  const char *env[9];
  const char *want[9];
} set_cases[] = {
    /* the HTTP server's bind address and limits: IPv4 and IPv6 literals,
     * per-address limit 0 (off), durations with a unit */
    {{"HTTP_ADDR", "127.0.0.1", "HTTP_MAX_CONNECTIONS", "20000",
      "HTTP_MAX_CONNECTIONS_PER_IP", "0", "HTTP_CONNECTION_TIMEOUT", "1m"},
     {"http_addr", "127.0.0.1", "http_max_connections", "20000",
      "http_max_per_ip", "0", "http_connection_timeout_ms", "60000"}},
    {{"HTTP_ADDR", "::", "HTTP_CONNECTION_TIMEOUT", "1500ms"},
     {"http_addr", "::", "http_connection_timeout_ms", "1500"}},
    {{"HTTP_ADDR", "fd00::1"}, {"http_addr", "fd00::1"}},
    {{"AGENT_LOCK_BACKEND", "postgres", "AGENT_POD_LEASE_TTL", "1500ms"},
     {"lock_backend", "postgres", "pod_lease_ttl_ms", "1500"}},
    {{"REDIS_HOST", "10.0.0.5", "REDIS_PORT", "6380"},
     {"redis_addrs", "10.0.0.5:6380", "refresh_interval_ms", "10000"}},
    /* the order timeout's default follows the leases: min(5 s, a third of
     * the shorter of the lock TTL and the pod lease TTL); a value under
     * that third is taken */
    {{"AGENT_POD_LEASE_TTL", "5s"}, {"trading_order_timeout_ms", "1666"}},
    {{"AGENT_LOCK_TTL", "9s"}, {"trading_order_timeout_ms", "3000"}},
    {{"AGENT_LOCK_TTL", "60s", "AGENT_POD_LEASE_TTL", "30s"},
     {"trading_order_timeout_ms", "5000"}},
    {{"AGENT_LOCK_BACKEND", "postgres"}, {"trading_order_timeout_ms", "666"}},
    {{"AGENT_POD_LEASE_TTL", "5s", "TRADING_ORDER_TIMEOUT", "1500ms"},
     {"trading_order_timeout_ms", "1500"}},
};

/* A row of set_cases; once freed, no string field is left behind. */
START_TEST(variable_sets_field) {
  arec_host_config c;
  char err[256], got[128];
  ck_assert_msg(load_with(&c, set_cases[_i].env, err) == 0, "%s", err);
  for (const char *const *w = set_cases[_i].want; w[0]; w += 2) {
    size_t f = field_index(w[0]);
    field_text(&c, f, got, sizeof got);
    ck_assert_msg(!strcmp(got, w[1]), "%s: want %s, got %s", w[0], w[1], got);
  }
  arec_host_config_free(&c);
  for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
    if (fields[f].kind != F_STR) continue;
    field_text(&c, f, got, sizeof got);
    ck_assert_msg(!strcmp(got, "(null)"), "%s kept after free",
                  fields[f].name);
  }
}
END_TEST

/* Each bad value: exit-2 material, one line naming the variable. */
static const struct {
  const char *var, *value;
} bad_cases[] = {
    {"DATABASE_CONNECT_TIMEOUT", "30"},
    {"DATABASE_CONNECT_TIMEOUT", "0"},
    {"REDIS_ADDRS", "a:1,b"},
    {"REDIS_ADDRS", "a:99999"},
    {"REDIS_PORT", "http"},
    {"REDIS_DB", "-1"},
    {"POD_NAME", "pod a"},
    {"AGENT_RECOVERY_ENABLED", "maybe"},
    {"AGENT_LOCK_TTL", "10"},
    {"AGENT_LOCK_TTL", "10ms"},
    {"AGENT_LOCK_REFRESH_INTERVAL", "30s"},
    {"AGENT_LOCK_REFRESH_INTERVAL", "0"},
    {"AGENT_RECONCILE_INTERVAL", "-5s"},
    {"AGENT_LOCK_BACKEND", "etcd"},
    {"AGENT_POD_LEASE_TTL", "5"},
    {"AGENT_WORKERS", "0"},
    {"AGENT_WORKERS", "lots"},
    {"AGENT_SAVE_INTERVAL", "0"},
    {"AGENT_MIGRATE", "2"},
    {"SHUTDOWN_TIMEOUT", "25"},
    {"HTTP_PORT", "70000"},
    {"HTTP_ADDR", "localhost"},
    {"HTTP_ADDR", "10.0.0.256"},
    {"HTTP_ADDR", "0.0.0.0:8080"},
    {"HTTP_ADDR", "[::1]"},
    {"HTTP_MAX_CONNECTIONS", "0"},
    {"HTTP_MAX_CONNECTIONS", "-1"},
    {"HTTP_MAX_CONNECTIONS", "many"},
    {"HTTP_MAX_CONNECTIONS_PER_IP", "-1"},
    {"HTTP_MAX_CONNECTIONS_PER_IP", "64x"},
    {"HTTP_CONNECTION_TIMEOUT", "10"},
    {"HTTP_CONNECTION_TIMEOUT", "0"},
    {"HTTP_CONNECTION_TIMEOUT", "500ms"},
    {"HTTP_CONNECTION_TIMEOUT", "2h"},
    {"AGENT_SECRETS_KEY", "abcd"},
    {"AGENT_SECRETS_KEY",
     "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
    {"LOG_LEVEL", "loud"},
    {"LOG_FORMAT", "xml"},
    {"TELEGRAM_BOT_TOKEN", "nocolon"},
    {"TELEGRAM_API_BASE", "ftp://x"},
    {"TELEGRAM_ALLOWED_USERS", "1,,2"},
    {"EXCHANGE_API_BASE", "localhost"},
    {"TRADING_MODE", "yolo"},
    {"EXCHANGE_ALLOW_MAINNET", "true"},
    {"TRADING_STEP_INTERVAL", "0"},
    {"TRADING_ORDER_TIMEOUT", "0"},
    {"TRADING_ORDER_TIMEOUT", "10s"}, /* the default lock TTL 30 s: < 10 s */
    {"TRADING_ORDER_TIMEOUT", "5"},
    {"ADMIN_TOKEN", "short-token"},
    {"ADMIN_TOKEN", "0123456789abcdef with space"},
    {"ADMIN_READ_TOKEN", "short"},
    {"ADMIN_AUTH", "off"},
    {"ADMIN_AUTH", "None"},
    {"AGENT_SECRETS_KEY_PREVIOUS", "abcd"},
    {"DATABASE_POOL_SIZE", "0"},
    {"DATABASE_POOL_SIZE", "101"},
    {"DATABASE_ADMIN_POOL_SIZE", "x"},
    {"DATABASE_STATEMENT_TIMEOUT", "5"},
    {"DATABASE_STATEMENT_TIMEOUT", "50ms"},
    {"DATABASE_STATEMENT_TIMEOUT", "11m"},
    {"AGENT_STOP_CHECK_INTERVAL", "0"},
    {"AGENT_STOP_CHECK_INTERVAL", "5"},
};

/* Combinations refused, each naming the variable it starts with. */
static const char *const bad_combos[][7] = {
    {"ADMIN_AUTH", "ADMIN_AUTH", "none", "ADMIN_TOKEN", "0123456789abcdef",
     NULL},
    {"ADMIN_AUTH", "ADMIN_AUTH", "none", "ADMIN_READ_TOKEN",
     "0123456789abcdef", NULL},
    {"ADMIN_READ_TOKEN", "ADMIN_TOKEN", "0123456789abcdef", "ADMIN_READ_TOKEN",
     "0123456789abcdef", NULL},
    {"AGENT_SECRETS_KEY_PREVIOUS", "AGENT_SECRETS_KEY_PREVIOUS",
     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
     NULL},
    /* a live order must fit in a third of the shorter lease */
    {"TRADING_ORDER_TIMEOUT", "AGENT_POD_LEASE_TTL", "5s",
     "TRADING_ORDER_TIMEOUT", "2s", NULL},
    {"TRADING_ORDER_TIMEOUT", "AGENT_LOCK_TTL", "3s", "TRADING_ORDER_TIMEOUT",
     "1s", NULL},
    {"TRADING_ORDER_TIMEOUT", "AGENT_LOCK_BACKEND", "postgres",
     "TRADING_ORDER_TIMEOUT", "700ms", NULL}, /* its pod lease: 2 s */
};

START_TEST(bad_combination_names_variable) {
  const char *const *row = bad_combos[_i];
  arec_host_config c;
  char err[256];
  ck_assert_int_eq(load_with(&c, row + 1, err), -1);
  ck_assert_msg(!strncmp(err, row[0], strlen(row[0])) &&
                    err[strlen(row[0])] == ':',
                "want %s, got: %s", row[0], err);
  ck_assert_ptr_null(strstr(err, "0123456789abcdef"));
}
END_TEST

START_TEST(bad_value_names_variable) {
  const char *var = bad_cases[_i].var, *value = bad_cases[_i].value;
  const char *env[] = {"DATABASE_URL", "postgres://u:hunter2@h/db", var, value,
                       NULL};
  arec_host_config c;
  char err[256];
  ck_assert_int_eq(load(&c, env, err), -1);
  ck_assert_msg(strncmp(err, var, strlen(var)) == 0, "%s=%s gave: %s", var,
                value, err);
  ck_assert_ptr_null(strchr(err, '\n'));
  ck_assert_ptr_null(strstr(err, "hunter2"));
  ck_assert_ptr_null(c.database_url);
}
END_TEST

START_TEST(missing_database_url) {
  const char *env[] = {"POD_NAME", "p", NULL};
  arec_host_config c;
  char err[256];
  ck_assert_int_eq(load(&c, env, err), -1);
  ck_assert_ptr_nonnull(strstr(err, "DATABASE_URL"));
  const char *empty[] = {"DATABASE_URL", "", NULL};
  ck_assert_int_eq(load(&c, empty, err), -1);
}
END_TEST

START_TEST(secret_values_not_echoed) {
  const char *env[] = {"DATABASE_URL", "x", "AGENT_SECRETS_KEY",
                       "s3cr3t-s3cr3t", NULL};
  arec_host_config c;
  char err[256];
  ck_assert_int_eq(load(&c, env, err), -1);
  ck_assert_ptr_null(strstr(err, "s3cr3t"));
}
END_TEST

START_TEST(usage_lists_every_variable) {
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  arec_host_config_usage(fp);
  fclose(fp);
  const char *names[] = {
      "DATABASE_URL", "DATABASE_CONNECT_TIMEOUT", "REDIS_HOST", "REDIS_PORT",
      "REDIS_PASSWORD", "REDIS_DB", "REDIS_ADDRS", "POD_NAME",
      "AGENT_RECOVERY_ENABLED", "AGENT_LOCK_TTL", "AGENT_LOCK_REFRESH_INTERVAL",
      "AGENT_RECONCILE_INTERVAL", "AGENT_LOCK_BACKEND", "AGENT_POD_LEASE_TTL",
      "AGENT_WORKERS", "AGENT_SAVE_INTERVAL", "AGENT_MIGRATE",
      "SHUTDOWN_TIMEOUT", "HTTP_PORT", "HTTP_ADDR", "HTTP_MAX_CONNECTIONS",
      "HTTP_MAX_CONNECTIONS_PER_IP", "HTTP_CONNECTION_TIMEOUT",
      "ADMIN_TOKEN", "AGENT_SECRETS_KEY", "ADMIN_READ_TOKEN", "ADMIN_AUTH",
      "AGENT_SECRETS_KEY_PREVIOUS", "DATABASE_POOL_SIZE",
      "DATABASE_ADMIN_POOL_SIZE", "DATABASE_STATEMENT_TIMEOUT",
      "AGENT_STOP_CHECK_INTERVAL", "AGENT_FAIR_SHARE", "TRADING_STEP_INTERVAL",
      "LOG_LEVEL", "LOG_FORMAT", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE",
      "TELEGRAM_ALLOWED_USERS", "EXCHANGE_API_BASE", "TRADING_MODE",
      "EXCHANGE_ALLOW_MAINNET", "TRADING_ORDER_TIMEOUT"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    ck_assert_msg(strstr(buf, names[i]) != NULL, "%s missing", names[i]);
  /* every variable of the table is on a line with its default */
  for (const arec_host_var *v = arec_host_vars; v->name; v++) {
    char line[128];
    snprintf(line, sizeof line, "  %-27s default %s", v->name, v->def);
    ck_assert_msg(strstr(buf, line) != NULL, "no line \"%s\"", line);
  }
  ck_assert_ptr_nonnull(strstr(buf, "--migrate"));
  ck_assert_ptr_nonnull(strstr(buf, "--migrate-only"));
  ck_assert_ptr_nonnull(strstr(buf, "--rotate-secrets"));
  const char *defs[][2] = {{"DATABASE_POOL_SIZE", "4"},
                           {"DATABASE_ADMIN_POOL_SIZE", "4"},
                           {"DATABASE_STATEMENT_TIMEOUT", "5s"},
                           {"AGENT_STOP_CHECK_INTERVAL", "5s"}};
  for (size_t i = 0; i < 4; i++) {
    const char *l = strstr(buf, defs[i][0]);
    char want[64];
    snprintf(want, sizeof want, "default %s ", defs[i][1]);
    ck_assert_msg(l && strstr(l, want) && strstr(l, want) < strchr(l, '\n'),
                  "%s: default %s", defs[i][0], defs[i][1]);
  }
  free(buf);
}
END_TEST

int main(void) {
  const TTest *tests[] = {defaults, auth_pools_and_keys, durations,
      full_set, missing_database_url,
      secret_values_not_echoed, usage_lists_every_variable, NULL};
  Suite *s = suite_create("host_config");
  TCase *tc = arec_test_cases(s, "env", 0, tests);
  tcase_add_loop_test(tc, variable_sets_field, 0, AREC_TEST_ROWS(set_cases));
  tcase_add_loop_test(tc, bad_combination_names_variable, 0,
                      AREC_TEST_ROWS(bad_combos));
  tcase_add_loop_test(tc, bad_value_names_variable, 0,
                      AREC_TEST_ROWS(bad_cases));
  return arec_test_run(s);
}
