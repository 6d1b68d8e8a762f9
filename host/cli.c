/*
 * cli.c -- agentrecoverd's arguments: --help (the variables table from
 * config_usage.c), --version, --migrate, --migrate-only, --rotate-secrets.
 * At most one mode may be given; anything else is a usage error (exit 2).
 *
 * Never: read the environment (config.c does) or start anything.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "agentrecover.h"
#include "config.h"

int arec_host_cli_parse(int argc, char **argv, arec_host_mode *mode) {
  static const struct {
    const char *arg;
    arec_host_mode mode;
  } modes[] = {{"--migrate", AREC_MODE_SERVE_MIGRATE},
               {"--migrate-only", AREC_MODE_MIGRATE_ONLY},
               {"--rotate-secrets", AREC_MODE_ROTATE_SECRETS}};
  *mode = AREC_MODE_SERVE;
  const char *given = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      arec_host_config_usage(stdout);
      *mode = AREC_MODE_EXIT;
      return 0;
    }
    if (!strcmp(argv[i], "--version")) {
      printf("agentrecoverd %s\n", arec_version());
      *mode = AREC_MODE_EXIT;
      return 0;
    }
    size_t k = 0, n = sizeof modes / sizeof *modes;
    while (k < n && strcmp(argv[i], modes[k].arg) != 0) k++;
    if (k == n) {
      fprintf(stderr,
              "agentrecoverd: unknown argument \"%.60s\" (see --help)\n",
              argv[i]);
      return 2;
    }
    if (given && strcmp(given, argv[i]) != 0) {
      fprintf(stderr, "agentrecoverd: %s and %s exclude each other (see "
                      "--help)\n", given, argv[i]);
      return 2;
    }
    given = argv[i];
    *mode = modes[k].mode;
  }
  return 0;
}
