/*
 * host/telegram/commands.h -- the bot's chat commands: one static table
 * {command, usage, summary, handler, flags, argument counts}, the HELP text
 * generated from it, and the dispatcher that runs one message of a user.
 *
 * Handlers call host/service.h only, as the actor {AREC_ACTOR_TELEGRAM,
 * user id}, and turn the service's outcome (arec_svc_result) into a
 * sentence.  No Telegram I/O here except through the ctx's delete_message
 * callback (a message carrying secrets is deleted before it is handled,
 * and the reply says truthfully whether that worked).
 */
#ifndef AREC_HOST_TG_COMMANDS_H
#define AREC_HOST_TG_COMMANDS_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "agentrecover.h"
#include "service.h"

typedef struct arec_tg_cmd_ctx {
  arec_svc *svc;
  const char *pod;            /* this pod's name */
  long long user_id;          /* the sender (also its private chat id) */
  const char *user_name;      /* for /start ("" when none) */
  const long long *allowed;   /* TELEGRAM_ALLOWED_USERS; nallowed 0: all */
  size_t nallowed;
  /* Deletes the message being handled: 0 only when it is gone.  NULL:
   * cannot delete. */
  int (*delete_message)(void *ud);
  void *delete_ud;
} arec_tg_cmd_ctx;

#define AREC_TG_MAX_ARGS 8

/* A message split into words (double quotes, straight or curly, group a
 * name); v[0] is the command without "@botname". */
typedef struct arec_tg_args {
  char *buf;
  char *v[AREC_TG_MAX_ARGS];
  int n;
  int too_many;
  int deleted;                /* SECRET commands: the message is gone */
} arec_tg_args;

typedef void (*arec_tg_cmd_fn)(const arec_tg_cmd_ctx *c,
                               const arec_tg_args *a, FILE *out);

enum {
  AREC_TG_CMD_SECRET = 1 /* the message carries secrets: deleted before it
                            is handled, even when refused */
};

typedef struct arec_tg_cmd {
  const char *name;     /* "/add_pair" */
  const char *usage;    /* "/add_pair <symbol>" */
  const char *summary;  /* one line */
  arec_tg_cmd_fn fn;
  unsigned flags;       /* AREC_TG_CMD_* */
  int min_args, max_args; /* words after the command */
} arec_tg_cmd;

/* The table (static, in HELP order). */
const arec_tg_cmd *arec_tg_commands(size_t *out_n);
/* HELP, generated from the table once.  Static string. */
const char *arec_tg_help(void);

/* Runs one message (its text starts with '/').  *out_reply: malloc'd text
 * to send back (free()), never NULL on 0.  0 or AREC_ENOMEM. */
int arec_tg_command(const arec_tg_cmd_ctx *c, const char *text,
                    char **out_reply);

/* Parses "1,2,3" (spaces allowed) into a malloc'd array.  0 or -1. */
int arec_tg_parse_users(const char *s, long long **out, size_t *out_n);

/* The sentence for a service outcome other than success: 400 names the
 * field, 422 gives the reason, 500/503 name the request id.  `what`
 * names the object ("Agent abc123", "The pair"). */
void arec_tg_say_result(FILE *out, const char *what,
                        const arec_svc_result *res);

/* The handlers (handlers.c). */
void arec_tg_cmd_start(const arec_tg_cmd_ctx *, const arec_tg_args *, FILE *);
void arec_tg_cmd_help(const arec_tg_cmd_ctx *, const arec_tg_args *, FILE *);
void arec_tg_cmd_add_exchange(const arec_tg_cmd_ctx *, const arec_tg_args *,
                              FILE *);
void arec_tg_cmd_add_pair(const arec_tg_cmd_ctx *, const arec_tg_args *,
                          FILE *);
void arec_tg_cmd_create_agent(const arec_tg_cmd_ctx *, const arec_tg_args *,
                              FILE *);
void arec_tg_cmd_assign(const arec_tg_cmd_ctx *, const arec_tg_args *,
                        FILE *);
void arec_tg_cmd_start_agent(const arec_tg_cmd_ctx *, const arec_tg_args *,
                             FILE *);
void arec_tg_cmd_stop_agent(const arec_tg_cmd_ctx *, const arec_tg_args *,
                            FILE *);
void arec_tg_cmd_agents(const arec_tg_cmd_ctx *, const arec_tg_args *,
                        FILE *);
void arec_tg_cmd_status(const arec_tg_cmd_ctx *, const arec_tg_args *,
                        FILE *);
void arec_tg_cmd_profit(const arec_tg_cmd_ctx *, const arec_tg_args *,
                        FILE *);
/* handlers_admin.c */
void arec_tg_cmd_exchanges(const arec_tg_cmd_ctx *, const arec_tg_args *,
                           FILE *);
void arec_tg_cmd_remove_exchange(const arec_tg_cmd_ctx *,
                                 const arec_tg_args *, FILE *);
void arec_tg_cmd_unassign(const arec_tg_cmd_ctx *, const arec_tg_args *,
                          FILE *);
void arec_tg_cmd_stop_all(const arec_tg_cmd_ctx *, const arec_tg_args *,
                          FILE *);
void arec_tg_cmd_delete_agent(const arec_tg_cmd_ctx *, const arec_tg_args *,
                              FILE *);
/* handlers_trader.c */
void arec_tg_cmd_balance(const arec_tg_cmd_ctx *, const arec_tg_args *,
                         FILE *);
void arec_tg_cmd_trades(const arec_tg_cmd_ctx *, const arec_tg_args *,
                        FILE *);
void arec_tg_cmd_daily(const arec_tg_cmd_ctx *, const arec_tg_args *, FILE *);
void arec_tg_cmd_performance(const arec_tg_cmd_ctx *, const arec_tg_args *,
                             FILE *);

/* For the handlers: agent id as the sender sees it, or NULL when the
 * service did not give it (its answer, about `what`, said to f); free it
 * with arec_agent_records_free(rec, 1). */
arec_agent_record *arec_tg_agent_get(const arec_tg_cmd_ctx *c, const char *id,
                                     const char *what, FILE *f);
/* For the handlers: whether agent id is wanted or running (1, else 0) as
 * the sender sees it, or -1 when the service did not give it (said to f);
 * what gets "Agent <id>" for the replies. */
int arec_tg_agent_running(const arec_tg_cmd_ctx *c, const char *id,
                          char *what, size_t len, FILE *f);
/* For the handlers: a service operation on agent id (stop, delete) for
 * the sender, after arec_tg_agent_running: whether it was wanted or
 * running before (1, else 0), or -1 when the service did not give it or
 * refused the operation (its answer said to f). */
typedef int (*arec_tg_agent_op)(arec_svc *svc, const arec_svc_actor *who,
                                const char *agent_id, arec_svc_result *res);
int arec_tg_agent_act(const arec_tg_cmd_ctx *c, const char *id,
                      arec_tg_agent_op op, FILE *f);
/* For the handlers: the sender as the service's actor; the status of an
 * outcome (the result's, else 200/500 from rc); 1 for 2xx. */
static inline arec_svc_actor arec_tg_actor(const arec_tg_cmd_ctx *c) {
  arec_svc_actor a = {AREC_ACTOR_TELEGRAM, c->user_id, NULL};
  return a;
}
static inline int arec_tg_status(int rc, const arec_svc_result *r) {
  return r->status ? r->status : rc == 0 ? 200 : 500;
}
static inline int arec_tg_ok(int status) {
  return status >= 200 && status < 300;
}
/* One call of the service for the sender: its actor and a zeroed result. */
typedef struct arec_tg_svc_call {
  arec_svc_actor who;
  arec_svc_result r;
} arec_tg_svc_call;
static inline arec_tg_svc_call arec_tg_svc_call_of(const arec_tg_cmd_ctx *c) {
  arec_tg_svc_call k;
  memset(&k, 0, sizeof k);
  k.who = arec_tg_actor(c);
  return k;
}
/* 1, with the service's answer about `what` said to f, when the outcome
 * (rc, r) is not a 2xx. */
static inline int arec_tg_failed(FILE *f, const char *what, int rc,
                                 const arec_svc_result *r) {
  if (arec_tg_ok(arec_tg_status(rc, r))) return 0;
  arec_tg_say_result(f, what, r);
  return 1;
}

#endif
