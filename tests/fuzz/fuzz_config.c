/*
 * fuzz_config.c -- fuzz target of agentrecoverd's configuration parser
 * (host/config.c): arec_host_parse_duration() and arec_host_config_load()
 * over a fuzzed environment.
 *
 * Input: lines "NAME=VALUE" (the environment the loader sees through its
 * getter; the last line for a name wins); the first line is also parsed
 * as a duration on its own.  Checked, beyond "no crash, no leak":
 *  - the duration parser agrees with a reference: "0", or digits followed
 *    by ms | s | m, at most INT64_MAX / 60000 before the unit;
 *  - a loaded config is consistent (0 < refresh < TTL, TTL >= 100 ms,
 *    save interval and shutdown timeout > 0, ports and workers in range)
 *    and leaves err empty; a refused one leaves one line naming a variable;
 *  - tokens are NULL or 16+ characters, ADMIN_AUTH=none comes without
 *    tokens, pool sizes are 1..100, timeouts in their ranges;
 *  - no error line depends on the bytes of a secret (REDIS_PASSWORD,
 *    ADMIN_TOKEN, ADMIN_READ_TOKEN, AGENT_SECRETS_KEY,
 *    AGENT_SECRETS_KEY_PREVIOUS, TELEGRAM_BOT_TOKEN, DATABASE_URL): the
 *    load is repeated with every secret's letters and digits rotated
 *    (hex digits stay hex, ':' and ',' stay) and must fail identically.
 * A violation abort()s, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/config.h"

#define MAX_VARS 64

typedef struct env {
  char *names[MAX_VARS];
  char *values[MAX_VARS];
  size_t n;
} env;

static const char *const secret_vars[] = {
    "REDIS_PASSWORD",     "ADMIN_TOKEN",  "ADMIN_READ_TOKEN",
    "AGENT_SECRETS_KEY",  "AGENT_SECRETS_KEY_PREVIOUS",
    "TELEGRAM_BOT_TOKEN", "DATABASE_URL"};

static const char *env_get(const char *name, void *ud) {
  const env *e = ud;
  for (size_t i = e->n; i-- > 0;)
    if (strcmp(e->names[i], name) == 0)
      return e->values[i];
  return NULL;
}

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_config: %s: %s\n", what, detail ? detail : "");
  abort();
}

/* ------------------------------------------------------------- duration */
static int ref_duration(const char *s, int64_t *out) {
  const uint64_t lim = (uint64_t)(INT64_MAX / 60000);
  uint64_t v = 0;
  size_t i = 0;
  if (strcmp(s, "0") == 0)
    return *out = 0, 0;
  if (!(s[0] >= '0' && s[0] <= '9'))
    return -1;
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    if (v > lim)
      continue; /* already too big: keep scanning */
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > lim)
    return -1;
  if (strcmp(s + i, "ms") == 0)
    *out = (int64_t)v;
  else if (strcmp(s + i, "s") == 0)
    *out = (int64_t)v * 1000;
  else if (strcmp(s + i, "m") == 0)
    *out = (int64_t)v * 60000;
  else
    return -1;
  return 0;
}

static void check_duration(const char *s) {
  int64_t a = -7, b = -7;
  int ra = arec_host_parse_duration(s, &a);
  int rb = ref_duration(s, &b);
  if ((ra == 0) != (rb == 0) || (ra == 0 && a != b)) {
    char d[160];
    snprintf(d, sizeof d, "\"%.60s\": parser %d/%lld, reference %d/%lld", s,
             ra, (long long)a, rb, (long long)b);
    fail("duration parser disagrees with the reference", d);
  }
  if (ra == 0 && a < 0)
    fail("negative duration", s);
}

/* --------------------------------------------------------------- config */
static int is_secret(const char *name) {
  for (size_t i = 0; i < sizeof secret_vars / sizeof *secret_vars; i++)
    if (strcmp(name, secret_vars[i]) == 0)
      return 1;
  return 0;
}

/* Same length, same validity for every check of config.c, other bytes. */
static void rotate(char *s) {
  for (; *s; s++) {
    char c = *s;
    if (c >= '0' && c <= '9')
      *s = (char)('0' + (c - '0' + 3) % 10);
    else if (c >= 'a' && c <= 'f')
      *s = (char)('a' + (c - 'a' + 1) % 6);
    else if (c >= 'A' && c <= 'F')
      *s = (char)('A' + (c - 'A' + 1) % 6);
    else if (c >= 'g' && c <= 'z')
      *s = (char)('g' + (c - 'g' + 5) % 20);
    else if (c >= 'G' && c <= 'Z')
      *s = (char)('G' + (c - 'G' + 5) % 20);
  }
}

static int names_a_variable(const char *err) {
  if (strncmp(err, "out of memory", 13) == 0)
    return 1;
  for (const arec_host_var *v = arec_host_vars; v->name; v++) {
    size_t n = strlen(v->name);
    if (strncmp(err, v->name, n) == 0 && err[n] == ':')
      return 1;
  }
  return 0;
}

static void check_loaded(const arec_host_config *c, const char *err) {
  if (err[0])
    fail("success with an error line", err);
  if (!c->database_url || !c->redis_addrs || !c->pod_name || !c->lock_backend)
    fail("success with a missing string", NULL);
  if (c->lock_ttl_ms < 100 || c->refresh_interval_ms <= 0 ||
      c->refresh_interval_ms >= c->lock_ttl_ms)
    fail("inconsistent TTL / refresh interval", NULL);
  if (c->reconcile_interval_ms < 0 || c->save_interval_ms <= 0 ||
      c->shutdown_timeout_ms <= 0 || c->database_connect_timeout_ms <= 0)
    fail("a duration out of range", NULL);
  if (c->pod_lease_ttl_ms != 0 && c->pod_lease_ttl_ms < 100)
    fail("pod lease TTL under 100ms", NULL);
  if (c->workers < 1 || c->workers > 4096 || c->http_port < 1 ||
      c->http_port > 65535 || c->redis_db < 0)
    fail("a number out of range", NULL);
  if (c->exchange_allow_mainnet && !c->trading_live)
    fail("mainnet allowed in paper mode", NULL);
  if (c->admin_token && !c->admin_token[0])
    fail("empty admin token kept (it would require an empty bearer)", NULL);
  if ((c->admin_token && strlen(c->admin_token) < 16) ||
      (c->admin_read_token && strlen(c->admin_read_token) < 16))
    fail("a token under 16 characters", NULL);
  if (c->admin_auth_none && (c->admin_token || c->admin_read_token))
    fail("ADMIN_AUTH=none with a token", NULL);
  if (c->database_pool_size < 1 || c->database_pool_size > 100 ||
      c->database_admin_pool_size < 1 || c->database_admin_pool_size > 100)
    fail("a pool size out of range", NULL);
  if (c->database_statement_timeout_ms < 100 ||
      c->database_statement_timeout_ms > 600000 ||
      c->stop_check_interval_ms <= 0)
    fail("a timeout out of range", NULL);
  if (c->has_secrets_key_previous && !c->has_secrets_key)
    fail("a previous key without a current one", NULL);
  char line[256];
  int serving = arec_host_config_check_serving(c, line, sizeof line);
  if ((serving == 0) != (c->admin_token || c->admin_auth_none))
    fail("serving allowed without authentication", line);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  env e;
  arec_host_config cfg;
  char err[256], err2[256];
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  memset(&e, 0, sizeof e);

  /* The first line as a duration. */
  {
    size_t l = strcspn(text, "\n");
    char save = text[l];
    text[l] = '\0';
    check_duration(text);
    text[l] = save;
  }

  for (char *save = NULL, *line = strtok_r(text, "\n", &save);
       line && e.n < MAX_VARS; line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (!eq || eq == line)
      continue;
    *eq = '\0';
    e.names[e.n] = line;
    e.values[e.n] = eq + 1;
    e.n++;
  }

  int rc = arec_host_config_load(&cfg, env_get, &e, err, sizeof err);
  if (strchr(err, '\n'))
    fail("error over more than one line", err);
  if (rc == 0) {
    check_loaded(&cfg, err);
    arec_host_config_free(&cfg);
  } else {
    if (rc != -1)
      fail("load returned neither 0 nor -1", err);
    if (!err[0] || !names_a_variable(err))
      fail("error line does not name a variable", err);
    /* The same load with every secret rotated must fail the same way. */
    for (size_t i = 0; i < e.n; i++)
      if (is_secret(e.names[i]))
        rotate(e.values[i]);
    int rc2 = arec_host_config_load(&cfg, env_get, &e, err2, sizeof err2);
    if (rc2 == 0)
      arec_host_config_free(&cfg);
    if (rc2 != rc || strcmp(err, err2) != 0) {
      char d[600];
      snprintf(d, sizeof d, "\"%s\" became \"%s\"", err, err2);
      fail("an error line depends on a secret's value", d);
    }
  }
  free(text);
  return 0;
}
