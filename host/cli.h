/*
 * cli.h -- agentrecoverd's command line: what the process was asked to do.
 */
#ifndef AREC_HOST_CLI_H
#define AREC_HOST_CLI_H

typedef enum arec_host_mode {
  AREC_MODE_SERVE = 0,          /* the daemon */
  AREC_MODE_SERVE_MIGRATE,      /* --migrate: migrations, then serve */
  AREC_MODE_MIGRATE_ONLY,       /* --migrate-only: migrations, exit */
  AREC_MODE_ROTATE_SECRETS,     /* --rotate-secrets: re-encrypt, exit */
  AREC_MODE_EXIT                /* --help / --version printed: exit */
} arec_host_mode;

/* Parses argv; prints --help / --version itself (stdout) and a usage
 * error (one line on stderr).  0 with *mode set, or 2 (bad usage). */
int arec_host_cli_parse(int argc, char **argv, arec_host_mode *mode);

#endif
