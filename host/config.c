/*
 * config.c -- reads agentrecoverd's environment into an arec_host_config
 * and validates it; the only place of the daemon that reads it.
 *
 * How: each variable is fetched through a getter (getenv in production, a
 * table in tests), parsed, and checked against the others (refresh < TTL,
 * key length).  Durations need a unit ("500ms", "30s", "2m"); a bare number
 * is rejected, except "0".  Booleans: true/false, 1/0, yes/no, on/off.
 *
 * Never: touch a server, print a secret (error lines name the variable and
 * quote only values of non-secret variables), or keep a key in memory after
 * arec_host_config_free().
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ------------------------------------------------------------- parsing */
int arec_host_parse_duration(const char *s, int64_t *out_ms) {
  if (!s || !*s) return -1;
  if (strcmp(s, "0") == 0) {
    *out_ms = 0;
    return 0;
  }
  if (!isdigit((unsigned char)s[0])) return -1;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return -1;
  int64_t mul;
  if (strcmp(end, "ms") == 0)
    mul = 1;
  else if (strcmp(end, "s") == 0)
    mul = 1000;
  else if (strcmp(end, "m") == 0)
    mul = 60000;
  else
    return -1;
  if (v > (unsigned long long)(INT64_MAX / 60000)) return -1;
  *out_ms = (int64_t)v * mul;
  return 0;
}

static int parse_bool(const char *s, int *out) {
  static const char *yes[] = {"true", "1", "yes", "on"};
  static const char *no[] = {"false", "0", "no", "off"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) return *out = 1, 0;
    if (strcasecmp(s, no[i]) == 0) return *out = 0, 0;
  }
  return -1;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
  if (!s || !*s) return -1;
  errno = 0;
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* "host:port" with a non-empty host and a port 1..65535. */
static int addr_valid(const char *a, size_t n) {
  const char *colon = NULL;
  for (size_t i = 0; i < n; i++)
    if (a[i] == ':') colon = a + i;
  if (!colon || colon == a) return 0;
  char port[8];
  size_t pl = n - (size_t)(colon + 1 - a);
  if (pl == 0 || pl >= sizeof port) return 0;
  memcpy(port, colon + 1, pl);
  port[pl] = 0;
  long p;
  return parse_long(port, 1, 65535, &p) == 0;
}

static int addrs_valid(const char *s) {
  if (!*s) return 0;
  const char *p = s;
  for (;;) {
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    if (!addr_valid(p, n)) return 0;
    if (!c) return 1;
    p = c + 1;
  }
}

static int url_valid(const char *s) {
  return (strncmp(s, "http://", 7) == 0 && s[7]) ||
         (strncmp(s, "https://", 8) == 0 && s[8]);
}

static int id_list_valid(const char *s) {
  if (!*s) return 0;
  const char *p = s;
  for (;;) {
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n > 19) return 0;
    p += n;
    if (*p == 0) return 1;
    if (*p != ',') return 0;
    p++;
  }
}

static int pod_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 100) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!isalnum(c) && c != '-' && c != '_' && c != '.') return 0;
  }
  return 1;
}

/* ------------------------------------------------------------ the loader */
typedef struct loader {
  arec_host_getenv_fn get;
  void *ud;
  char *err;
  size_t errlen;
} loader;

static const char *env_getenv(const char *name, void *ud) {
  (void)ud;
  return getenv(name);
}

/* The value, or NULL when unset or empty (empty counts as unset). */
static const char *val(loader *l, const char *name) {
  const char *v = l->get(name, l->ud);
  return (v && *v) ? v : NULL;
}

static int fail(loader *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(l->err, l->errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

static int get_duration(loader *l, const char *name, int64_t def,
                        int64_t *out) {
  const char *v = val(l, name);
  if (!v) return *out = def, 0;
  if (arec_host_parse_duration(v, out) != 0)
    return fail(l, "%s: bad duration \"%.40s\" (use e.g. 500ms, 30s, 2m)",
                name, v);
  return 0;
}

static int get_bool(loader *l, const char *name, int def, int *out) {
  const char *v = val(l, name);
  if (!v) return *out = def, 0;
  if (parse_bool(v, out) != 0)
    return fail(l, "%s: expected true or false, got \"%.40s\"", name, v);
  return 0;
}

static int get_url(loader *l, const char *name, char **out) {
  const char *v = val(l, name);
  if (v && !url_valid(v))
    return fail(l, "%s: expected an http:// or https:// URL", name);
  *out = dup_or_null(v);
  return 0;
}

static int load_redis(loader *l, arec_host_config *c) {
  const char *addrs = val(l, "REDIS_ADDRS");
  if (addrs) {
    if (!addrs_valid(addrs))
      return fail(l, "REDIS_ADDRS: expected host:port[,host:port...], got "
                     "\"%.80s\"", addrs);
    c->redis_addrs = strdup(addrs);
  } else {
    const char *host = val(l, "REDIS_HOST");
    const char *port = val(l, "REDIS_PORT");
    long p = 6379;
    if (port && parse_long(port, 1, 65535, &p) != 0)
      return fail(l, "REDIS_PORT: expected a port 1..65535, got \"%.20s\"",
                  port);
    if (host && strpbrk(host, ":, "))
      return fail(l, "REDIS_HOST: expected a host name without ':' or ','");
    char buf[300];
    snprintf(buf, sizeof buf, "%.250s:%ld", host ? host : "localhost", p);
    c->redis_addrs = strdup(buf);
  }
  c->redis_password = dup_or_null(val(l, "REDIS_PASSWORD"));
  const char *db = val(l, "REDIS_DB");
  long d = 0;
  if (db && parse_long(db, 0, 1000000, &d) != 0)
    return fail(l, "REDIS_DB: expected a number >= 0, got \"%.20s\"", db);
  c->redis_db = (int)d;
  return 0;
}

static int load_agent(loader *l, arec_host_config *c) {
  const char *pod = val(l, "POD_NAME");
  char host[256];
  if (!pod) {
    if (gethostname(host, sizeof host) != 0) host[0] = 0;
    host[sizeof host - 1] = 0;
    pod = host;
  }
  if (!pod_name_valid(pod))
    return fail(l, "POD_NAME: expected 1-100 chars of [A-Za-z0-9._-], got "
                   "\"%.40s\"", pod);
  c->pod_name = strdup(pod);
  if (get_bool(l, "AGENT_RECOVERY_ENABLED", 1, &c->recovery_enabled) ||
      get_duration(l, "AGENT_LOCK_TTL", 30000, &c->lock_ttl_ms))
    return -1;
  if (c->lock_ttl_ms < 100)
    return fail(l, "AGENT_LOCK_TTL: must be at least 100ms");
  if (get_duration(l, "AGENT_LOCK_REFRESH_INTERVAL", c->lock_ttl_ms / 3,
                   &c->refresh_interval_ms))
    return -1;
  if (c->refresh_interval_ms <= 0 || c->refresh_interval_ms >= c->lock_ttl_ms)
    return fail(l, "AGENT_LOCK_REFRESH_INTERVAL: must be > 0 and less than "
                   "AGENT_LOCK_TTL");
  if (get_duration(l, "AGENT_RECONCILE_INTERVAL", 5000,
                   &c->reconcile_interval_ms))
    return -1;
  const char *backend = val(l, "AGENT_LOCK_BACKEND");
  if (!backend) backend = "redis";
  if (strcmp(backend, "redis") != 0 && strcmp(backend, "postgres") != 0)
    return fail(l, "AGENT_LOCK_BACKEND: expected redis or postgres, got "
                   "\"%.20s\"",
                backend);
  c->lock_backend = strdup(backend);
  if (get_duration(l, "AGENT_POD_LEASE_TTL", 0, &c->pod_lease_ttl_ms))
    return -1;
  if (val(l, "AGENT_POD_LEASE_TTL") && c->pod_lease_ttl_ms < 100)
    return fail(l, "AGENT_POD_LEASE_TTL: must be at least 100ms");
  if (get_bool(l, "AGENT_FAIR_SHARE", 1, &c->fair_share) ||
      get_duration(l, "AGENT_STOP_CHECK_INTERVAL", 5000,
                   &c->stop_check_interval_ms))
    return -1;
  if (c->stop_check_interval_ms <= 0)
    return fail(l, "AGENT_STOP_CHECK_INTERVAL: must be > 0");
  const char *w = val(l, "AGENT_WORKERS");
  long wv = 32;
  if (w && parse_long(w, 1, 4096, &wv) != 0)
    return fail(l, "AGENT_WORKERS: expected 1..4096, got \"%.20s\"", w);
  c->workers = (unsigned int)wv;
  if (get_duration(l, "AGENT_SAVE_INTERVAL", 5000, &c->save_interval_ms))
    return -1;
  if (c->save_interval_ms <= 0)
    return fail(l, "AGENT_SAVE_INTERVAL: must be > 0");
  if (get_bool(l, "AGENT_MIGRATE", 0, &c->migrate) ||
      get_duration(l, "SHUTDOWN_TIMEOUT", 25000, &c->shutdown_timeout_ms))
    return -1;
  if (c->shutdown_timeout_ms <= 0)
    return fail(l, "SHUTDOWN_TIMEOUT: must be > 0");
  return 0;
}

/* HTTP_ADDR, HTTP_MAX_CONNECTIONS, HTTP_MAX_CONNECTIONS_PER_IP and
 * HTTP_CONNECTION_TIMEOUT: the HTTP server's bind address and limits. */
static int load_http(loader *l, arec_host_config *c) {
  const char *addr = val(l, "HTTP_ADDR");
  unsigned char buf[sizeof(struct in6_addr)];
  if (!addr) addr = "0.0.0.0";
  if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1)
    return fail(l, "HTTP_ADDR: expected an IPv4 or IPv6 address, got "
                   "\"%.60s\"", addr);
  c->http_addr = strdup(addr);
  const char *mc = val(l, "HTTP_MAX_CONNECTIONS");
  long v = 4096;
  if (mc && parse_long(mc, 16, 1000000, &v) != 0)
    return fail(l, "HTTP_MAX_CONNECTIONS: expected 16..1000000, got "
                   "\"%.20s\"", mc);
  c->http_max_connections = (unsigned int)v;
  const char *pi = val(l, "HTTP_MAX_CONNECTIONS_PER_IP");
  v = 64;
  if (pi && parse_long(pi, 0, 1000000, &v) != 0)
    return fail(l, "HTTP_MAX_CONNECTIONS_PER_IP: expected 0 (no limit) .. "
                   "1000000, got \"%.20s\"", pi);
  c->http_max_per_ip = (unsigned int)v;
  if (get_duration(l, "HTTP_CONNECTION_TIMEOUT", 10000,
                   &c->http_connection_timeout_ms))
    return -1;
  if (c->http_connection_timeout_ms < 1000 ||
      c->http_connection_timeout_ms > 3600000)
    return fail(l, "HTTP_CONNECTION_TIMEOUT: must be 1s..60m");
  return c->http_addr ? 0 : fail(l, "out of memory");
}

/* A 64-hex-character key variable into out[32]; *has = 1 when set. */
static int load_key(loader *l, const char *name, unsigned char *out,
                    int *has) {
  const char *k = val(l, name);
  if (!k) return 0;
  if (strlen(k) != 64)
    return fail(l, "%s: expected 64 hex characters (32 bytes), got %zu "
                   "characters", name, strlen(k));
  for (size_t i = 0; i < 32; i++) {
    int hi = hexval(k[2 * i]), lo = hexval(k[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      memset(out, 0, 32);
      return fail(l, "%s: expected 64 hex characters", name);
    }
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  *has = 1;
  return 0;
}

/* A bearer token: NULL when unset; else 16+ characters, no space or
 * control character (a header could never carry it). */
static int get_token(loader *l, const char *name, char **out) {
  const char *t = val(l, name);
  if (!t) return 0;
  size_t n = strlen(t);
  if (n < 16)
    return fail(l, "%s: must be at least 16 characters, got %zu", name, n);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f)
      return fail(l, "%s: must not contain spaces or control characters",
                  name);
  *out = strdup(t);
  return *out ? 0 : fail(l, "out of memory");
}

/* ADMIN_TOKEN, ADMIN_READ_TOKEN, ADMIN_AUTH and the two secrets keys. */
static int load_auth(loader *l, arec_host_config *c) {
  if (get_token(l, "ADMIN_TOKEN", &c->admin_token) ||
      get_token(l, "ADMIN_READ_TOKEN", &c->admin_read_token))
    return -1;
  const char *a = val(l, "ADMIN_AUTH");
  if (a && strcmp(a, "none") != 0)
    return fail(l, "ADMIN_AUTH: the only value is none (serve /api/* "
                   "without authentication), got \"%.20s\"", a);
  c->admin_auth_none = a != NULL;
  if (c->admin_auth_none && (c->admin_token || c->admin_read_token))
    return fail(l, "ADMIN_AUTH: none, but ADMIN_TOKEN or ADMIN_READ_TOKEN "
                   "is set: choose one");
  if (c->admin_token && c->admin_read_token &&
      strcmp(c->admin_token, c->admin_read_token) == 0)
    return fail(l, "ADMIN_READ_TOKEN: must differ from ADMIN_TOKEN");
  if (load_key(l, "AGENT_SECRETS_KEY", c->secrets_key, &c->has_secrets_key) ||
      load_key(l, "AGENT_SECRETS_KEY_PREVIOUS", c->secrets_key_previous,
               &c->has_secrets_key_previous))
    return -1;
  if (c->has_secrets_key_previous && !c->has_secrets_key)
    return fail(l, "AGENT_SECRETS_KEY_PREVIOUS: set without "
                   "AGENT_SECRETS_KEY (the key to rotate to)");
  return 0;
}

/* DATABASE_POOL_SIZE, DATABASE_ADMIN_POOL_SIZE, DATABASE_STATEMENT_TIMEOUT. */
static int load_pools(loader *l, arec_host_config *c) {
  static const char *const names[2] = {"DATABASE_POOL_SIZE",
                                       "DATABASE_ADMIN_POOL_SIZE"};
  unsigned int *dst[2] = {&c->database_pool_size,
                          &c->database_admin_pool_size};
  for (int i = 0; i < 2; i++) {
    const char *v = val(l, names[i]);
    long n = 4;
    if (v && parse_long(v, 1, 100, &n) != 0)
      return fail(l, "%s: expected 1..100, got \"%.20s\"", names[i], v);
    *dst[i] = (unsigned int)n;
  }
  if (get_duration(l, "DATABASE_STATEMENT_TIMEOUT", 5000,
                   &c->database_statement_timeout_ms))
    return -1;
  if (c->database_statement_timeout_ms < 100 ||
      c->database_statement_timeout_ms > 600000)
    return fail(l, "DATABASE_STATEMENT_TIMEOUT: must be 100ms..10m");
  return 0;
}

static int load_rest(loader *l, arec_host_config *c) {
  const char *port = val(l, "HTTP_PORT");
  long p = 8080;
  if (port && parse_long(port, 1, 65535, &p) != 0)
    return fail(l, "HTTP_PORT: expected a port 1..65535, got \"%.20s\"", port);
  c->http_port = (int)p;
  if (load_http(l, c)) return -1;
  if (load_auth(l, c)) return -1;
  const char *lv = val(l, "LOG_LEVEL");
  c->log_level = AREC_LOG_INFO;
  if (lv && arec_log_level_parse(&c->log_level, lv) != 0)
    return fail(l, "LOG_LEVEL: expected debug, info, warn or error, got "
                   "\"%.20s\"", lv);
  const char *lf = val(l, "LOG_FORMAT");
  if (lf && strcmp(lf, "json") == 0)
    c->log_json = 1;
  else if (lf && strcmp(lf, "text") != 0)
    return fail(l, "LOG_FORMAT: expected text or json, got \"%.20s\"", lf);
  c->telegram_bot_token = dup_or_null(val(l, "TELEGRAM_BOT_TOKEN"));
  if (c->telegram_bot_token && !strchr(c->telegram_bot_token, ':'))
    return fail(l, "TELEGRAM_BOT_TOKEN: expected <bot id>:<secret>");
  if (get_url(l, "TELEGRAM_API_BASE", &c->telegram_api_base)) return -1;
  const char *users = val(l, "TELEGRAM_ALLOWED_USERS");
  if (users && !id_list_valid(users))
    return fail(l, "TELEGRAM_ALLOWED_USERS: expected a comma list of user "
                   "ids, got \"%.40s\"", users);
  c->telegram_allowed_users = dup_or_null(users);
  if (get_url(l, "EXCHANGE_API_BASE", &c->exchange_api_base)) return -1;
  const char *mode = val(l, "TRADING_MODE");
  if (mode && strcmp(mode, "live") == 0)
    c->trading_live = 1;
  else if (mode && strcmp(mode, "paper") != 0)
    return fail(l, "TRADING_MODE: expected paper or live, got \"%.20s\"",
                mode);
  if (get_bool(l, "EXCHANGE_ALLOW_MAINNET", 0, &c->exchange_allow_mainnet))
    return -1;
  if (c->exchange_allow_mainnet && !c->trading_live)
    return fail(l, "EXCHANGE_ALLOW_MAINNET: true needs TRADING_MODE=live");
  if (get_duration(l, "TRADING_STEP_INTERVAL", 10000,
                   &c->trading_step_interval_ms))
    return -1;
  if (c->trading_step_interval_ms <= 0)
    return fail(l, "TRADING_STEP_INTERVAL: must be > 0");
  /* a live order is sent only while the lease outlasts it: a third of the
   * shorter of the lock TTL and the pod lease TTL (the postgres lock
   * backend holds a 2 s pod lease unless told otherwise) */
  int64_t lease = c->lock_ttl_ms;
  int64_t pod = c->pod_lease_ttl_ms > 0 ? c->pod_lease_ttl_ms
                : strcmp(c->lock_backend, "postgres") == 0 ? 2000
                                                           : 0;
  if (pod > 0 && pod < lease) lease = pod;
  int64_t third = lease / 3;
  if (get_duration(l, "TRADING_ORDER_TIMEOUT", third < 5000 ? third : 5000,
                   &c->trading_order_timeout_ms))
    return -1;
  if (val(l, "TRADING_ORDER_TIMEOUT") &&
      (c->trading_order_timeout_ms <= 0 ||
       c->trading_order_timeout_ms >= third))
    return fail(l, "TRADING_ORDER_TIMEOUT: must be > 0 and less than a third "
                   "of the shorter of AGENT_LOCK_TTL and AGENT_POD_LEASE_TTL "
                   "(%lldms)",
                (long long)third);
  return 0;
}

int arec_host_config_load(arec_host_config *cfg, arec_host_getenv_fn get,
                          void *ud, char *err, size_t errlen) {
  memset(cfg, 0, sizeof *cfg);
  loader l = {get ? get : env_getenv, ud, err, errlen};
  if (errlen) err[0] = 0;
  const char *url = val(&l, "DATABASE_URL");
  if (!url) {
    fail(&l, "DATABASE_URL: required (a libpq conninfo or URI)");
    goto bad;
  }
  cfg->database_url = strdup(url);
  if (get_duration(&l, "DATABASE_CONNECT_TIMEOUT", 30000,
                   &cfg->database_connect_timeout_ms))
    goto bad;
  if (cfg->database_connect_timeout_ms <= 0) {
    fail(&l, "DATABASE_CONNECT_TIMEOUT: must be > 0");
    goto bad;
  }
  if (load_pools(&l, cfg) || load_redis(&l, cfg) || load_agent(&l, cfg) ||
      load_rest(&l, cfg))
    goto bad;
  if (!cfg->database_url || !cfg->redis_addrs || !cfg->pod_name ||
      !cfg->lock_backend) {
    fail(&l, "out of memory");
    goto bad;
  }
  return 0;
bad:
  arec_host_config_free(cfg);
  return -1;
}

int arec_host_config_check_serving(const arec_host_config *cfg, char *err,
                                   size_t errlen) {
  if (errlen) err[0] = 0;
  if (cfg->admin_token || cfg->admin_auth_none) return 0;
  snprintf(err, errlen, "ADMIN_TOKEN: required to serve the admin API (at "
                        "least 16 characters); set ADMIN_AUTH=none to serve "
                        "it without authentication on purpose");
  return -1;
}

static void wipe_free(char *s) {
  if (!s) return;
  volatile char *p = s;
  while (*p) *p++ = 0;
  free(s);
}

void arec_host_config_free(arec_host_config *c) {
  if (!c) return;
  wipe_free(c->database_url);
  free(c->redis_addrs);
  wipe_free(c->redis_password);
  free(c->pod_name);
  free(c->lock_backend);
  free(c->http_addr);
  wipe_free(c->admin_token);
  wipe_free(c->admin_read_token);
  wipe_free(c->telegram_bot_token);
  free(c->telegram_api_base);
  free(c->telegram_allowed_users);
  free(c->exchange_api_base);
  volatile unsigned char *k = c->secrets_key;
  for (size_t i = 0; i < sizeof c->secrets_key; i++) k[i] = 0;
  k = c->secrets_key_previous;
  for (size_t i = 0; i < sizeof c->secrets_key_previous; i++) k[i] = 0;
  memset(c, 0, sizeof *c);
}
