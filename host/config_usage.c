/*
 * config_usage.c -- the documented environment of agentrecoverd: the table
 * of variables (name, default, meaning) and the --help text printed from
 * it.  config.c parses what this table lists; a variable added there is
 * added here, so --help always shows every variable with its default.
 *
 * Never: read the environment or print a value (only names and defaults).
 */
#include <stdio.h>

#include "config.h"

/* ------------------------------------------------------------ the table */
const arec_host_var arec_host_vars[] = {
    {"DATABASE_URL", "(required)", "libpq conninfo or URI"},
    {"DATABASE_CONNECT_TIMEOUT", "30s", "retry the database this long, then exit 1"},
    {"DATABASE_POOL_SIZE", "4", "connections of the manager's pool (locks, claims, saves)"},
    {"DATABASE_ADMIN_POOL_SIZE", "4", "connections of the admin pool (API, bot), apart from the manager's"},
    {"DATABASE_STATEMENT_TIMEOUT", "5s", "the server cancels an admin statement after this"},
    {"REDIS_HOST", "localhost", "the Redis master"},
    {"REDIS_PORT", "6379", "its port"},
    {"REDIS_PASSWORD", "(none)", "AUTH password"},
    {"REDIS_DB", "0", "SELECT db"},
    {"REDIS_ADDRS", "(none)", "host:port,host:port,... multi-master Redlock; overrides host/port"},
    {"POD_NAME", "(hostname)", "this pod's name"},
    {"AGENT_RECOVERY_ENABLED", "true", "take agents over (restore, reconcile); false: only agents started here run here"},
    {"AGENT_LOCK_TTL", "30s", "per-agent lock TTL"},
    {"AGENT_LOCK_REFRESH_INTERVAL", "TTL/3", "lock refresh period, < TTL"},
    {"AGENT_RECONCILE_INTERVAL", "5s", "reconcile period; 0: no passes (stops are still checked)"},
    {"AGENT_LOCK_BACKEND", "redis", "redis or postgres (then no Redis is needed)"},
    {"AGENT_POD_LEASE_TTL", "(off; 2s with postgres)", "pod lease TTL (5s recommended): a dead pod's agents fail over within it, not the lock TTL"},
    {"AGENT_FAIR_SHARE", "true", "each pod runs ceil(wanted / live pods) agents, hands the rest off"},
    {"AGENT_STOP_CHECK_INTERVAL", "5s", "stops issued elsewhere reach this pod's agents within it when passes are off"},
    {"AGENT_WORKERS", "32", "step worker threads"},
    {"AGENT_SAVE_INTERVAL", "5s", "coalescing window of state saves"},
    {"AGENT_MIGRATE", "false", "apply migrations at start (or --migrate)"},
    {"SHUTDOWN_TIMEOUT", "25s", "graceful shutdown budget; the process is gone 1.5 s after it"},
    {"HTTP_PORT", "8080", "health, ready, metrics, admin API"},
    {"HTTP_ADDR", "0.0.0.0", "bind address: an IPv4 or IPv6 literal"},
    {"HTTP_MAX_CONNECTIONS", "4096", "open HTTP connections, all clients"},
    {"HTTP_MAX_CONNECTIONS_PER_IP", "64", "open HTTP connections from one address; 0: no limit"},
    {"HTTP_CONNECTION_TIMEOUT", "10s", "idle HTTP connections close, request bodies must arrive within"},
    {"ADMIN_TOKEN", "(required)", "bearer token of /api/* (16+ chars); serving without it needs ADMIN_AUTH=none"},
    {"ADMIN_READ_TOKEN", "(none)", "bearer token (16+ chars) allowed the GET routes of /api/* only"},
    {"ADMIN_AUTH", "(on)", "none: serve /api/* without authentication (warned at every start)"},
    {"AGENT_SECRETS_KEY", "(none)", "64 hex chars, AES-256-GCM key of exchange secrets"},
    {"AGENT_SECRETS_KEY_PREVIOUS", "(none)", "64 hex chars: the key before a rotation, still read"},
    {"LOG_LEVEL", "info", "debug, info, warn, error"},
    {"LOG_FORMAT", "text", "text or json"},
    {"TELEGRAM_BOT_TOKEN", "(none)", "the Telegram bot; off when unset"},
    {"TELEGRAM_API_BASE", "(none)", "http(s) URL overriding the Telegram API"},
    {"TELEGRAM_ALLOWED_USERS", "(none)", "comma list of Telegram user ids"},
    {"EXCHANGE_API_BASE", "(none)", "http(s) URL overriding the exchange"},
    {"TRADING_MODE", "paper", "paper or live: agents' default mode and this pod's ceiling (live pods also run paper agents)"},
    {"EXCHANGE_ALLOW_MAINNET", "false", "live orders to a non-testnet account"},
    {"TRADING_STEP_INTERVAL", "10s", "between a trading agent's steps"},
    {"TRADING_ORDER_TIMEOUT", "(derived)", "a live order's request; < min(AGENT_LOCK_TTL, AGENT_POD_LEASE_TTL)/3, default that or 5s"},
    {NULL, NULL, NULL}};

void arec_host_config_usage(void *fpv) {
  FILE *fp = fpv;
  fprintf(fp,
          "usage: agentrecoverd [--migrate | --migrate-only | --rotate-secrets]\n"
          "                     [--version] [--help]\n"
          "\n"
          "Runs agents with automatic recovery: PostgreSQL holds the truth, a\n"
          "Redis lock per agent keeps each agent on exactly one pod.\n"
          "\n"
          "  --migrate        apply the database migrations, then serve\n"
          "  --migrate-only   apply the database migrations and exit\n"
          "  --rotate-secrets re-encrypt every stored exchange secret under\n"
          "                   AGENT_SECRETS_KEY (AGENT_SECRETS_KEY_PREVIOUS still\n"
          "                   read), print \"rotated N secrets\" and exit\n"
          "  --version        print the library version\n"
          "  --help           this text\n"
          "\n"
          "Environment (durations take ms, s or m: 500ms, 30s, 2m; a bare\n"
          "number is rejected, except 0):\n");
  for (const arec_host_var *v = arec_host_vars; v->name; v++)
    fprintf(fp, "  %-27s default %-11s %s\n", v->name, v->def, v->meaning);
  fprintf(fp, "\nExit codes: 0 clean shutdown, 1 database unreachable or "
              "forced exit, 2 bad configuration.\n");
}
