/*
 * main.c -- agentrecoverd: the wiring of the daemon's parts and nothing
 * else.  argv (cli.c) -> configuration from the environment (config.c,
 * exit 2 on a bad value) -> the log sink (log.c) -> signals blocked
 * (signals.c) -> one of: --migrate-only / --rotate-secrets (tasks.c), or
 * serving (lifecycle.c, shutdown.c).
 *
 * Exit codes: 0 clean shutdown, 1 database unreachable or forced exit,
 * 2 bad configuration or usage.
 *
 * Never: read the environment (config.c does), log a secret, or do work of
 * its own beyond choosing the mode.
 */
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "lifecycle.h"
#include "log.h"
#include "signals.h"
#include "tasks.h"

int main(int argc, char **argv) {
  arec_host_mode mode;
  if (arec_host_cli_parse(argc, argv, &mode) != 0) return 2;
  if (mode == AREC_MODE_EXIT) return 0;
  static arec_host_config cfg;
  char err[320];
  if (arec_host_config_load(&cfg, NULL, NULL, err, sizeof err) != 0 ||
      ((mode == AREC_MODE_SERVE || mode == AREC_MODE_SERVE_MIGRATE) &&
       arec_host_config_check_serving(&cfg, err, sizeof err) != 0)) {
    fprintf(stderr, "agentrecoverd: %s\n", err);
    arec_host_config_free(&cfg);
    return 2;
  }
  arec_host_log_init(cfg.log_json, cfg.log_level);
  arec_host_signals_block();
  hlog(AREC_LOG_INFO, "agentrecoverd starting", HL_S("pod", cfg.pod_name),
       HL_S("version", arec_version()), HL_I("lock_ttl_ms", cfg.lock_ttl_ms),
       HL_I("reconcile_interval_ms", cfg.reconcile_interval_ms),
       HL_B("recovery_enabled", cfg.recovery_enabled), HL_END);
  int rc;
  switch (mode) {
  case AREC_MODE_MIGRATE_ONLY:
    rc = arec_host_task_migrate_only(&cfg);
    break;
  case AREC_MODE_ROTATE_SECRETS:
    rc = arec_host_task_rotate_secrets(&cfg);
    break;
  default:
    rc = arec_host_serve(&cfg, mode == AREC_MODE_SERVE_MIGRATE || cfg.migrate);
    break;
  }
  arec_host_config_free(&cfg);
  return rc;
}
