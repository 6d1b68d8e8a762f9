/*
 * main.c -- agentrecoverctl, the command line of agentrecoverd's admin API:
 * reads the options and the command, validates every argument, finds the
 * server (--url, AGENTRECOVER_URL, http://127.0.0.1:8080) and the token
 * (--token-file, AGENTRECOVER_TOKEN), and runs the command.
 *
 * How: options may come before or after the command; `--` ends them.
 * Validation happens before any connection: a usage error exits 2 without
 * a request.  Exit 0 on success, 1 when a request failed, 2 on usage.
 *
 * Never: print the token or the token file's content (not in an error
 * either), or hand an argument that failed validation to a command.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "table.h"

#define DEFAULT_URL "http://127.0.0.1:8080"
#define MAX_TOKEN 4096

static const char USAGE[] =
    "Usage: agentrecoverctl [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "The admin API of agentrecoverd from the command line.\n"
    "\n"
    "Commands:\n"
    "  pods                            live pods and how many agents each runs\n"
    "  agents [--user N] [--limit N]   agents (every page, or the first N)\n"
    "  agent ID                        one agent: its fields and symbols\n"
    "  start ID                        start an agent (a pod takes it)\n"
    "  stop ID                         stop an agent wherever it runs\n"
    "  migrate ID POD                  hand a running agent to the live pod POD\n"
    "  audit [--after ID] [--limit N]  the audit log (every page, or N events)\n"
    "  strategies                      the strategies an agent can use\n"
    "\n"
    "Options:\n"
    "  --url URL          the daemon (default: $AGENTRECOVER_URL, else\n"
    "                     " DEFAULT_URL ")\n"
    "  --token-file FILE  read the bearer token from FILE (default:\n"
    "                     $AGENTRECOVER_TOKEN); it is never printed\n"
    "  --json             print the server's JSON (lists: one array)\n"
    "  -v, --verbose      print each request and its status on stderr\n"
    "  -h, --help         print this help\n"
    "  --version          print the version\n"
    "\n"
    "IDs are 1-64 characters of [A-Za-z0-9_-]; user ids positive integers;\n"
    "limits 1..1000.  Exit status: 0 success, 1 the request failed, 2 usage.\n";

typedef struct args {
  const char *url, *token_file;
  int json, verbose, help, version;
  const char *user, *limit, *after; /* as given, validated later */
  const char *pos[4];
  int npos;
} args;

/* fmt has one %s: `what`, with control characters shown as '?'. */
static int usage_error(const char *fmt, const char *what) {
  char *safe = ctl_sanitize(what);
  fprintf(stderr, "agentrecoverctl: ");
  fprintf(stderr, fmt, safe ? safe : "");
  fprintf(stderr, "\nTry 'agentrecoverctl --help'.\n");
  free(safe);
  return CTL_EXIT_USAGE;
}

/* ------------------------------------------------------------ validation */
static int id_valid(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 64) return 0;
  if (s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789_-")])
    return 0;
  return 1;
}

/* The names the API's routes take for themselves are no agent's id. */
static int agent_id_valid(const char *s) {
  return id_valid(s) && strcmp(s, "start") != 0 && strcmp(s, "stop") != 0;
}

static int pod_valid(const char *s) {
  size_t n = strlen(s);
  return n >= 1 && n <= 100 &&
         !s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789._-")];
}

/* A decimal integer in [lo, hi] (digits only, no sign or spaces). */
static int parse_int(const char *s, long long lo, long long hi,
                     long long *v) {
  if (!*s || strlen(s) > 16 || s[strspn(s, "0123456789")]) return -1;
  errno = 0;
  long long x = strtoll(s, NULL, 10);
  if (errno || x < lo || x > hi) return -1;
  *v = x;
  return 0;
}

/* -------------------------------------------------------------- options */
/* Parses argv; CTL_EXIT_USAGE after a message. */
static int parse_args(int argc, char **argv, args *a) {
  static const char *const with_value[] = {"--url", "--token-file", "--user",
                                           "--limit", "--after"};
  int opts_done = 0;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (opts_done || s[0] != '-' || !s[1]) {
      if (a->npos == 4) return usage_error("too many arguments%s", "");
      a->pos[a->npos++] = s;
      continue;
    }
    if (!strcmp(s, "--")) {
      opts_done = 1;
    } else if (!strcmp(s, "--json")) {
      a->json = 1;
    } else if (!strcmp(s, "-v") || !strcmp(s, "--verbose")) {
      a->verbose = 1;
    } else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
      a->help = 1;
    } else if (!strcmp(s, "--version")) {
      a->version = 1;
    } else {
      const char *val = NULL;
      size_t k = 0, nk = sizeof with_value / sizeof *with_value;
      for (; k < nk; k++) {
        size_t l = strlen(with_value[k]);
        if (!strncmp(s, with_value[k], l) && (s[l] == '=' || !s[l])) {
          if (s[l] == '=')
            val = s + l + 1;
          else if (i + 1 < argc)
            val = argv[++i];
          else
            return usage_error("option %s needs a value", with_value[k]);
          break;
        }
      }
      if (k == nk) return usage_error("unknown option '%s'", s);
      const char **slot[] = {&a->url, &a->token_file, &a->user, &a->limit,
                             &a->after};
      *slot[k] = val;
    }
  }
  return 0;
}

/* The token from the file (first line, surrounding blanks dropped) or the
 * environment; NULL when none.  *rc is set to CTL_EXIT_USAGE on error. */
static char *load_token(const args *a, int *rc) {
  *rc = 0;
  char *tok = NULL;
  if (a->token_file) {
    FILE *f = fopen(a->token_file, "r");
    if (!f) {
      fprintf(stderr, "agentrecoverctl: --token-file %s: %s\n", a->token_file,
              strerror(errno));
      *rc = CTL_EXIT_USAGE;
      return NULL;
    }
    tok = calloc(1, MAX_TOKEN + 2);
    size_t n = tok ? fread(tok, 1, MAX_TOKEN + 1, f) : 0;
    fclose(f);
    if (!tok) {
      *rc = CTL_EXIT_FAIL;
      return NULL;
    }
    if (n > MAX_TOKEN) {
      fprintf(stderr, "agentrecoverctl: --token-file %s: over %d bytes\n",
              a->token_file, MAX_TOKEN);
      memset(tok, 0, MAX_TOKEN + 2);
      free(tok);
      *rc = CTL_EXIT_USAGE;
      return NULL;
    }
    tok[strcspn(tok, "\r\n")] = 0;
  } else {
    const char *env = getenv("AGENTRECOVER_TOKEN");
    if (!env || !*env) return NULL;
    tok = strdup(env);
    if (!tok) {
      *rc = CTL_EXIT_FAIL;
      return NULL;
    }
  }
  size_t n = strlen(tok), start = strspn(tok, " \t");
  while (n > start && (tok[n - 1] == ' ' || tok[n - 1] == '\t')) tok[--n] = 0;
  memmove(tok, tok + start, n - start + 1);
  const char *bad = NULL;
  for (const char *p = tok; *p && !bad; p++)
    if ((unsigned char)*p < 0x21 || (unsigned char)*p == 0x7f)
      bad = "contains spaces or control characters";
  if (!bad && !*tok) bad = "is empty";
  if (bad) {
    if (a->token_file)
      fprintf(stderr, "agentrecoverctl: the token in %s %s\n", a->token_file,
              bad);
    else
      fprintf(stderr, "agentrecoverctl: AGENTRECOVER_TOKEN %s\n", bad);
    memset(tok, 0, strlen(tok));
    free(tok);
    *rc = CTL_EXIT_USAGE;
    return NULL;
  }
  return tok;
}

/* ------------------------------------------------------------- commands */
typedef struct command {
  const char *name;
  int nargs;          /* positional arguments after the name */
  const char *syntax; /* for messages */
  int user, limit, after;
} command;

static const command COMMANDS[] = {
    {"pods", 0, "pods", 0, 0, 0},
    {"agents", 0, "agents [--user N] [--limit N]", 1, 1, 0},
    {"agent", 1, "agent ID", 0, 0, 0},
    {"start", 1, "start ID", 0, 0, 0},
    {"stop", 1, "stop ID", 0, 0, 0},
    {"migrate", 2, "migrate ID POD", 0, 0, 0},
    {"audit", 0, "audit [--after ID] [--limit N]", 0, 1, 1},
    {"strategies", 0, "strategies", 0, 0, 0},
};

/* Checks the command's arguments and options into *o. */
static int check_command(const args *a, const command **cmd, ctl_opts *o) {
  const command *c = NULL;
  for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
    if (!strcmp(a->pos[0], COMMANDS[i].name)) c = &COMMANDS[i];
  if (!c) return usage_error("unknown command '%s'", a->pos[0]);
  if (a->npos - 1 != c->nargs)
    return usage_error("usage: agentrecoverctl %s", c->syntax);
  const char *opt = a->user && !c->user     ? "--user"
                    : a->limit && !c->limit ? "--limit"
                    : a->after && !c->after ? "--after"
                                            : NULL;
  if (opt) {
    fprintf(stderr, "agentrecoverctl: %s does not apply to '%s'\n", opt,
            c->name);
    return usage_error("usage: agentrecoverctl %s", c->syntax);
  }
  long long v;
  if (a->user) {
    if (parse_int(a->user, 1, 9007199254740991LL, &v))
      return usage_error("--user: expected a positive integer, got '%s'",
                         a->user);
    o->user = v;
  }
  if (a->limit) {
    if (parse_int(a->limit, 1, 1000, &v))
      return usage_error("--limit: expected an integer 1..1000, got '%s'",
                         a->limit);
    o->limit = (int)v;
  }
  if (a->after) {
    if (!id_valid(a->after))
      return usage_error("--after: expected an event id ([A-Za-z0-9_-]{1,64}), "
                         "got '%s'", a->after);
    o->after = a->after;
  }
  if (c->nargs >= 1 && !agent_id_valid(a->pos[1]))
    return usage_error("invalid agent id '%s': expected 1-64 characters of "
                       "[A-Za-z0-9_-], not start or stop", a->pos[1]);
  if (c->nargs == 2 && !pod_valid(a->pos[2]))
    return usage_error("invalid pod name '%s': expected 1-100 characters of "
                       "[A-Za-z0-9._-]", a->pos[2]);
  *cmd = c;
  return 0;
}

static int run(ctl_client *cl, const command *c, const args *a,
               const ctl_opts *o) {
  switch (c - COMMANDS) {
  case 0: return ctl_cmd_pods(cl, o);
  case 1: return ctl_cmd_agents(cl, o);
  case 2: return ctl_cmd_agent(cl, o, a->pos[1]);
  case 3: return ctl_cmd_start(cl, o, a->pos[1]);
  case 4: return ctl_cmd_stop(cl, o, a->pos[1]);
  case 5: return ctl_cmd_migrate(cl, o, a->pos[1], a->pos[2]);
  case 6: return ctl_cmd_audit(cl, o);
  default: return ctl_cmd_strategies(cl, o);
  }
}

int main(int argc, char **argv) {
  args a;
  memset(&a, 0, sizeof a);
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc;
  if (a.help) {
    fputs(USAGE, stdout);
    return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
  }
  if (a.version) {
    printf("agentrecoverctl %s\n", AREC_CTL_VERSION);
    return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
  }
  if (a.npos == 0) {
    fputs(USAGE, stderr);
    return CTL_EXIT_USAGE;
  }
  const command *cmd = NULL;
  ctl_opts o;
  memset(&o, 0, sizeof o);
  o.json = a.json;
  if ((rc = check_command(&a, &cmd, &o)) != 0) return rc;
  const char *url = a.url;
  if (!url) url = getenv("AGENTRECOVER_URL");
  if (!url || !*url) url = DEFAULT_URL;
  char *token = load_token(&a, &rc);
  if (rc) return rc;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, "agentrecoverctl: libcurl could not start\n");
    rc = CTL_EXIT_FAIL;
  }
  ctl_client *cl = NULL;
  if (!rc) rc = ctl_client_new(&cl, url, token, a.verbose);
  if (token) {
    memset(token, 0, strlen(token));
    free(token);
  }
  if (!rc) rc = run(cl, cmd, &a, &o);
  ctl_client_free(cl);
  curl_global_cleanup();
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "agentrecoverctl: writing the output: %s\n",
            strerror(errno));
    if (!rc) rc = CTL_EXIT_FAIL;
  }
  return rc;
}
