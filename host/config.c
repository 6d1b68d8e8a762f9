/*
 * config.c -- reads agentrecoverd's environment (DESIGN.md section 7) into
 * an arec_host_config and validates it.
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

/* ------------------------------------------------------------ the table */
const arec_host_var arec_host_vars[] = {
    {"DATABASE_URL", "(required)", "libpq conninfo or URI"},
    {"DATABASE_CONNECT_TIMEOUT", "30s", "retry the database this long, then exit 1"},
    {"REDIS_HOST", "localhost", "the Redis master"},
    {"REDIS_PORT", "6379", "its port"},
    {"REDIS_PASSWORD", "(none)", "AUTH password"},
    {"REDIS_DB", "0", "SELECT db"},
    {"REDIS_ADDRS", "(none)", "host:port,host:port,... multi-master Redlock; overrides host/port"},
    {"POD_NAME", "(hostname)", "this pod's name"},
    {"AGENT_RECOVERY_ENABLED", "true", "restore and reconcile at all"},
    {"AGENT_LOCK_TTL", "30s", "per-agent lock TTL"},
    {"AGENT_LOCK_REFRESH_INTERVAL", "TTL/3", "lock refresh period, < TTL"},
    {"AGENT_RECONCILE_INTERVAL", "5s", "reconcile period; 0 disables"},
    {"AGENT_LOCK_BACKEND", "redis", "redis or postgres (then no Redis is needed)"},
    {"AGENT_POD_LEASE_TTL", "(off; 2s with postgres)", "pod lease TTL (5s recommended): a dead pod's agents fail over within it, not the lock TTL"},
    {"AGENT_FAIR_SHARE", "true", "each pod runs ceil(wanted / live pods) agents, hands the rest off"},
    {"AGENT_WORKERS", "32", "step worker threads"},
    {"AGENT_SAVE_INTERVAL", "5s", "coalescing window of state saves"},
    {"AGENT_MIGRATE", "false", "apply migrations at start (or --migrate)"},
    {"SHUTDOWN_TIMEOUT", "25s", "graceful shutdown budget"},
    {"HTTP_PORT", "8080", "health, ready, metrics, admin API"},
    {"HTTP_ADDR", "0.0.0.0", "bind address: an IPv4 or IPv6 literal"},
    {"HTTP_MAX_CONNECTIONS", "4096", "open HTTP connections, all clients"},
    {"HTTP_MAX_CONNECTIONS_PER_IP", "64", "open HTTP connections from one address; 0: no limit"},
    {"HTTP_CONNECTION_TIMEOUT", "10s", "idle HTTP connections close, request bodies must arrive within"},
    {"ADMIN_TOKEN", "(none)", "bearer token required on /api/* when set"},
    {"AGENT_SECRETS_KEY", "(none)", "64 hex chars, AES-256-GCM key of exchange secrets"},
    {"LOG_LEVEL", "info", "debug, info, warn, error"},
    {"LOG_FORMAT", "text", "text or json"},
    {"TELEGRAM_BOT_TOKEN", "(none)", "the Telegram bot; off when unset"},
    {"TELEGRAM_API_BASE", "(none)", "http(s) URL overriding the Telegram API"},
    {"TELEGRAM_ALLOWED_USERS", "(none)", "comma list of Telegram user ids"},
    {"EXCHANGE_API_BASE", "(none)", "http(s) URL overriding the exchange"},
    {"TRADING_MODE", "paper", "paper or live"},
    {"EXCHANGE_ALLOW_MAINNET", "false", "live orders to a non-testnet account"},
    {"TRADING_STEP_INTERVAL", "10s", "between a trading agent's steps"},
    {NULL, NULL, NULL}};

void arec_host_config_usage(void *fpv) {
  FILE *fp = fpv;
  fprintf(fp,
          "usage: agentrecoverd [--migrate | --migrate-only] [--help]\n"
          "\n"
          "Runs agents with automatic recovery: PostgreSQL holds the truth, a\n"
          "Redis lock per agent keeps each agent on exactly one pod.\n"
          "\n"
          "  --migrate        apply the database migrations, then serve\n"
          "  --migrate-only   apply the database migrations and exit\n"
          "  --version        print the library version\n"
          "  --help           this text\n"
          "\n"
          "Environment (durations take ms, s or m: 500ms, 30s, 2m; a bare\n"
          "number is rejected, except 0):\n");
  for (const arec_host_var *v = arec_host_vars; v->name; v++)
    fprintf(fp, "  %-28s default %-11s %s\n", v->name, v->def, v->meaning);
  fprintf(fp, "\nExit codes: 0 clean shutdown, 1 database unreachable or "
              "forced exit, 2 bad configuration.\n");
}

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
  if (get_bool(l, "AGENT_FAIR_SHARE", 1, &c->fair_share))
    return -1;
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

static int load_key(loader *l, arec_host_config *c) {
  const char *k = val(l, "AGENT_SECRETS_KEY");
  if (!k) return 0;
  if (strlen(k) != 64)
    return fail(l, "AGENT_SECRETS_KEY: expected 64 hex characters (32 "
                   "bytes), got %zu characters", strlen(k));
  for (size_t i = 0; i < 32; i++) {
    int hi = hexval(k[2 * i]), lo = hexval(k[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      memset(c->secrets_key, 0, sizeof c->secrets_key);
      return fail(l, "AGENT_SECRETS_KEY: expected 64 hex characters");
    }
    c->secrets_key[i] = (unsigned char)(hi << 4 | lo);
  }
  c->has_secrets_key = 1;
  return 0;
}

static int load_rest(loader *l, arec_host_config *c) {
  const char *port = val(l, "HTTP_PORT");
  long p = 8080;
  if (port && parse_long(port, 1, 65535, &p) != 0)
    return fail(l, "HTTP_PORT: expected a port 1..65535, got \"%.20s\"", port);
  c->http_port = (int)p;
  if (load_http(l, c)) return -1;
  c->admin_token = dup_or_null(val(l, "ADMIN_TOKEN"));
  if (load_key(l, c)) return -1;
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
  if (load_redis(&l, cfg) || load_agent(&l, cfg) || load_rest(&l, cfg))
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
  wipe_free(c->telegram_bot_token);
  free(c->telegram_api_base);
  free(c->telegram_allowed_users);
  free(c->exchange_api_base);
  volatile unsigned char *k = c->secrets_key;
  for (size_t i = 0; i < sizeof c->secrets_key; i++) k[i] = 0;
  memset(c, 0, sizeof *c);
}
