/*
 * config.h -- agentrecoverd's configuration, read from the environment.
 * config.c is the only part of the daemon that reads the environment;
 * every other part gets its settings from this struct.  Parsing never
 * touches a server: a bad or inconsistent value is one error line naming
 * the variable.
 */
#ifndef AREC_HOST_CONFIG_H
#define AREC_HOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "agentrecover.h"

/* How the loader reads a variable: NULL when unset. */
typedef const char *(*arec_host_getenv_fn)(const char *name, void *ud);

typedef struct arec_host_config {
  char *database_url;
  int64_t database_connect_timeout_ms;
  char *redis_addrs;        /* "host:port[,host:port...]" built or given */
  char *redis_password;     /* NULL when unset */
  int redis_db;
  char *pod_name;
  int recovery_enabled;
  int64_t lock_ttl_ms;
  int64_t refresh_interval_ms;
  int64_t reconcile_interval_ms;
  char *lock_backend;       /* "redis" or "postgres" */
  int64_t pod_lease_ttl_ms; /* 0 when unset (pod leases are not built yet) */
  int fair_share;           /* AGENT_FAIR_SHARE, default 1 */
  int64_t stop_check_interval_ms; /* AGENT_STOP_CHECK_INTERVAL, 5 s */
  unsigned int workers;
  int64_t save_interval_ms;
  int migrate;
  int64_t shutdown_timeout_ms;
  int http_port;
  /* the HTTP server's bind address and limits */
  char *http_addr;                      /* HTTP_ADDR, default "0.0.0.0" */
  unsigned int http_max_connections;    /* HTTP_MAX_CONNECTIONS, 4096 */
  unsigned int http_max_per_ip;         /* HTTP_MAX_CONNECTIONS_PER_IP, 64;
                                           0: no limit */
  int64_t http_connection_timeout_ms;   /* HTTP_CONNECTION_TIMEOUT, 10 s */
  /* the admin API's authentication: ADMIN_TOKEN (every route),
   * ADMIN_READ_TOKEN (GET routes only), each NULL when unset or empty and
   * at least 16 characters otherwise; ADMIN_AUTH=none switches it off on
   * purpose (see arec_host_config_check_serving) */
  char *admin_token;
  char *admin_read_token;
  int admin_auth_none;
  int has_secrets_key;
  unsigned char secrets_key[32];
  int has_secrets_key_previous; /* AGENT_SECRETS_KEY_PREVIOUS (rotation) */
  unsigned char secrets_key_previous[32];
  /* the two database pools: the manager's (heartbeats, claims, saves,
   * releases) and the administrative one (API, bot, service) whose
   * statements the server cancels after database_statement_timeout_ms */
  unsigned int database_pool_size;         /* DATABASE_POOL_SIZE, 4 */
  unsigned int database_admin_pool_size;   /* DATABASE_ADMIN_POOL_SIZE, 4 */
  int64_t database_statement_timeout_ms;   /* DATABASE_STATEMENT_TIMEOUT, 5 s */
  arec_log_level log_level;
  int log_json;
  char *telegram_bot_token;
  char *telegram_api_base;
  char *telegram_allowed_users; /* validated comma list of user ids */
  char *exchange_api_base;
  int trading_live;             /* TRADING_MODE=live */
  int exchange_allow_mainnet;
  int64_t trading_step_interval_ms; /* TRADING_STEP_INTERVAL, default 10 s */
  int64_t trading_order_timeout_ms; /* TRADING_ORDER_TIMEOUT: default the
                                       smaller of 5 s and a third of the
                                       shorter of the lock TTL and the pod
                                       lease TTL; given, it must be less
                                       than that third */
} arec_host_config;

/* One variable of the table printed by --help. */
typedef struct arec_host_var {
  const char *name;
  const char *def;
  const char *meaning;
} arec_host_var;

/* The documented variables, terminated by a {NULL} entry. */
extern const arec_host_var arec_host_vars[];

/* Loads the configuration through `get` (NULL: getenv).  0 on success;
 * -1 with one line (no newline) naming the variable in err. */
int arec_host_config_load(arec_host_config *cfg, arec_host_getenv_fn get,
                          void *ud, char *err, size_t errlen);

/* Serving needs authentication: ADMIN_TOKEN set, or ADMIN_AUTH=none on
 * purpose (--migrate-only and --rotate-secrets do not serve and skip this
 * check).  0, or -1 with one line naming ADMIN_TOKEN in err. */
int arec_host_config_check_serving(const arec_host_config *cfg, char *err,
                                   size_t errlen);

/* Frees the strings and wipes the secrets.  Safe on a zeroed struct. */
void arec_host_config_free(arec_host_config *cfg);

/* Parses "500ms", "30s", "2m" (or "0") into milliseconds. 0 or -1. */
int arec_host_parse_duration(const char *s, int64_t *out_ms);

/* Prints the --help text to `fp` (a FILE *, void to keep stdio out). */
void arec_host_config_usage(void *fp);

#endif
