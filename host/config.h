/*
 * config.h -- agentrecoverd's configuration, read from the environment as
 * DESIGN.md section 7 lists it.  Parsing never touches a server: a bad or
 * inconsistent value is one error line naming the variable.
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
  int fair_share;           /* AGENT_FAIR_SHARE (issue 8), default 1 */
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
  char *admin_token;        /* NULL when unset or empty */
  int has_secrets_key;
  unsigned char secrets_key[32];
  arec_log_level log_level;
  int log_json;
  char *telegram_bot_token;
  char *telegram_api_base;
  char *telegram_allowed_users; /* validated comma list of user ids */
  char *exchange_api_base;
  int trading_live;             /* TRADING_MODE=live */
  int exchange_allow_mainnet;
  int64_t trading_step_interval_ms; /* TRADING_STEP_INTERVAL, default 10 s */
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

/* Frees the strings and wipes the secrets.  Safe on a zeroed struct. */
void arec_host_config_free(arec_host_config *cfg);

/* Parses "500ms", "30s", "2m" (or "0") into milliseconds. 0 or -1. */
int arec_host_parse_duration(const char *s, int64_t *out_ms);

/* Prints the --help text to `fp` (a FILE *, void to keep stdio out). */
void arec_host_config_usage(void *fp);

#endif
