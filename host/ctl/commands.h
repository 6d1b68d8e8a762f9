/*
 * commands.h -- the commands of agentrecoverctl, one admin API call (or a
 * series of pages) each, printed as a table or as the server's JSON.
 * Arguments are validated by the caller; every function returns the exit
 * status (CTL_EXIT_*).
 */
#ifndef AREC_CTL_COMMANDS_H
#define AREC_CTL_COMMANDS_H

#include "client.h"

/* Agents and audit events are fetched this many per page. */
#define CTL_PAGE_SIZE 100

typedef struct ctl_opts {
  int json;          /* print JSON, not a table */
  long long user;    /* agents: only this user's (0: every user) */
  int limit;         /* agents, audit: at most this many (0: all) */
  const char *after; /* audit: start after this event id (NULL: start) */
} ctl_opts;

int ctl_cmd_pods(ctl_client *c, const ctl_opts *o);
int ctl_cmd_agents(ctl_client *c, const ctl_opts *o);
int ctl_cmd_agent(ctl_client *c, const ctl_opts *o, const char *id);
int ctl_cmd_start(ctl_client *c, const ctl_opts *o, const char *id);
int ctl_cmd_stop(ctl_client *c, const ctl_opts *o, const char *id);
int ctl_cmd_migrate(ctl_client *c, const ctl_opts *o, const char *id,
                    const char *pod);
int ctl_cmd_audit(ctl_client *c, const ctl_opts *o);
int ctl_cmd_strategies(ctl_client *c, const ctl_opts *o);

#endif
