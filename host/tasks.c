/*
 * tasks.c -- the one-shot modes of tasks.h.
 *
 * How: each opens only the pool it needs (the manager's for migrations,
 * the administrative one for the rotation), does its work and closes it.
 * The rotation runs in batches, each one transaction, and may run while
 * pods serve.
 *
 * Never: print or log a key or a decrypted value (the store names the row
 * of a value that does not decrypt, never its content).
 */
#include "tasks.h"

#include <stdio.h>

#include "log.h"
#include "pools.h"
#include "store.h"

#define ROTATE_BATCH 100

int arec_host_migrate(arec_pg *pg) {
  int applied = 0, host_applied = 0, version = 0, host_version = 0;
  if (arec_pg_migrate(pg, &applied) != 0) {
    hlog(AREC_LOG_ERROR, "migrations failed", HL_S("schema", "library"),
         HL_S("error", arec_error_last()), HL_END);
    return 1;
  }
  if (arec_host_store_migrate(pg, &host_applied) != 0) {
    hlog(AREC_LOG_ERROR, "migrations failed", HL_S("schema", "host"),
         HL_S("error", arec_error_last()), HL_END);
    return 1;
  }
  arec_pg_schema_version(pg, &version);
  arec_pg_ledger_version(pg, "host_schema_migrations", &host_version);
  hlog(AREC_LOG_INFO, "migrations applied", HL_I("applied", applied),
       HL_I("schema_version", version), HL_I("host_applied", host_applied),
       HL_I("host_schema_version", host_version), HL_END);
  return 0;
}

int arec_host_task_migrate_only(const arec_host_config *cfg) {
  arec_host_pools p;
  int rc = arec_host_pools_open(&p, cfg, AREC_POOL_MANAGER);
  if (rc < 0) return 0; /* a signal: nothing was started */
  if (rc) return rc;
  rc = arec_host_migrate(p.mgr);
  arec_host_pools_close(&p);
  return rc;
}

int arec_host_task_rotate_secrets(const arec_host_config *cfg) {
  if (!cfg->has_secrets_key) {
    fprintf(stderr, "agentrecoverd: AGENT_SECRETS_KEY: required by "
                    "--rotate-secrets (the key to encrypt under)\n");
    return 2;
  }
  arec_host_pools p;
  int rc = arec_host_pools_open(&p, cfg, AREC_POOL_ADMIN);
  if (rc < 0) return 0;
  if (rc) return rc;
  arec_host_store *store = NULL;
  uint64_t changed = 0;
  rc = arec_host_store_new(&store, p.admin, cfg->secrets_key,
                           cfg->has_secrets_key_previous
                               ? cfg->secrets_key_previous
                               : NULL,
                           arec_host_log_sink, arec_host_log_ud());
  int ran = rc == 0;
  if (ran) rc = arec_host_store_rotate(store, ROTATE_BATCH, &changed);
  if (ran) {
    /* also after a row that decrypts under no key: the others are done */
    hlog(AREC_LOG_INFO, "secrets rotated", HL_I("rotated", (long long)changed),
         HL_END);
    printf("rotated %llu secrets\n", (unsigned long long)changed);
    fflush(stdout);
  }
  if (rc != 0)
    hlog(AREC_LOG_ERROR, "rotation failed", HL_S("error", arec_error_last()),
         HL_END);
  arec_host_store_free(store);
  arec_host_pools_close(&p);
  return rc ? 1 : 0;
}
