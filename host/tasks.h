/*
 * tasks.h -- agentrecoverd's one-shot work: the migrations (the library's
 * schema, then the host's), --migrate-only and --rotate-secrets.
 */
#ifndef AREC_HOST_TASKS_H
#define AREC_HOST_TASKS_H

#include "agentrecover/pg.h"
#include "config.h"

/* The library's migrations, then the host's.  0 or 1 (logged). */
int arec_host_migrate(arec_pg *pg);

/* --migrate-only: connect, migrate, exit.  The exit code. */
int arec_host_task_migrate_only(const arec_host_config *cfg);

/* --rotate-secrets: re-encrypts every stored secret under
 * AGENT_SECRETS_KEY (AGENT_SECRETS_KEY_PREVIOUS still read), prints
 * "rotated N secrets" on stdout.  The exit code: 0, 1 (database or a
 * value that decrypts under neither key), 2 (no AGENT_SECRETS_KEY). */
int arec_host_task_rotate_secrets(const arec_host_config *cfg);

#endif
