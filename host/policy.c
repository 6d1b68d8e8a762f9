/*
 * policy.c -- the configuration-to-options rules of policy.h.
 *
 * Never: read the environment (config.c does) or hold state.
 */
#include "policy.h"

#include <string.h>

#include "locks.h"
#include "log.h"

void arec_host_policy_manager_pool(const arec_host_config *cfg,
                                   arec_pg_options *o) {
  *o = (arec_pg_options)AREC_PG_OPTIONS_INIT;
  o->conninfo = cfg->database_url;
  o->pool_size = cfg->database_pool_size;
  o->call_timeout_ms = cfg->lock_ttl_ms / 3;
  if (o->call_timeout_ms > 5000) o->call_timeout_ms = 5000;
  if (o->call_timeout_ms < 500) o->call_timeout_ms = 500;
  o->application_name = "agentrecoverd";
  o->log = arec_host_log_sink;
  o->log_userdata = arec_host_log_ud();
}

void arec_host_policy_admin_pool(const arec_host_config *cfg,
                                 arec_pg_options *o) {
  *o = (arec_pg_options)AREC_PG_OPTIONS_INIT;
  o->conninfo = cfg->database_url;
  o->pool_size = cfg->database_admin_pool_size;
  o->statement_timeout_ms = cfg->database_statement_timeout_ms;
  o->call_timeout_ms = cfg->database_statement_timeout_ms + 1000;
  o->application_name = "agentrecoverd-admin";
  o->log = arec_host_log_sink;
  o->log_userdata = arec_host_log_ud();
}

void arec_host_policy_manager(const arec_host_config *cfg, int bot_enabled,
                              arec_manager_options *o) {
  *o = (arec_manager_options)AREC_MANAGER_OPTIONS_INIT;
  o->pod_name = cfg->pod_name;
  o->lock_ttl_ms = cfg->lock_ttl_ms;
  o->refresh_interval_ms = cfg->refresh_interval_ms;
  o->reconcile_interval_ms = cfg->reconcile_interval_ms;
  o->save_interval_ms = cfg->save_interval_ms;
  o->shutdown_timeout_ms = cfg->shutdown_timeout_ms;
  o->workers = cfg->workers;
  o->log = arec_host_log_sink;
  o->log_userdata = arec_host_log_ud();
  o->log_level = cfg->log_level;
  /* the bot's tap needs the info lines; the sink still filters output */
  if (bot_enabled && o->log_level > AREC_LOG_INFO) o->log_level = AREC_LOG_INFO;
  if (arec_host_lock_is_pg(cfg))
    o->pod_lease_ttl_ms = cfg->pod_lease_ttl_ms > 0 ? cfg->pod_lease_ttl_ms
                                                    : 2000;
  else
    o->pod_lease_ttl_ms = cfg->pod_lease_ttl_ms; /* 0: off */
  o->fair_share = cfg->fair_share ? 1 : 0;
  o->takeover = cfg->recovery_enabled ? 1 : 0;
  o->stop_check_interval_ms = cfg->stop_check_interval_ms;
}

int64_t arec_host_policy_healthz_stall_ms(const arec_host_config *cfg) {
  int64_t ms = 3 * cfg->refresh_interval_ms;
  return ms < 10000 ? 10000 : ms;
}

int64_t arec_host_policy_hard_deadline_ms(const arec_host_config *cfg) {
  return cfg->shutdown_timeout_ms + 1500;
}
