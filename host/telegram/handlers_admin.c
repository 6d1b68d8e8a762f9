/*
 * handlers_admin.c -- the bot's commands that take things down or away:
 * /exchanges (supported exchanges and the user's accounts),
 * /remove_exchange, /unassign, /stop_all, /delete_agent.  Each calls
 * host/service.h as the sender (the service scopes it to the sender's own
 * objects, validates and audits it) and writes one reply.
 *
 * Never: echo an API key or secret (accounts are named by id, exchange
 * and network only); promise that positions were closed (the stop
 * notification says what was and what was not).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telegram/commands.h"

void arec_tg_cmd_exchanges(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                           FILE *f) {
  (void)a;
  const char *const *ex = arec_svc_exchanges();
  fprintf(f, "Supported exchanges:");
  for (size_t i = 0; ex && ex[i]; i++) fprintf(f, "%s %s", i ? "," : "", ex[i]);
  fprintf(f, ".");
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  arec_host_exchange *v = NULL;
  size_t n = 0;
  int rc = arec_svc_exchange_list(c->svc, &k.who, c->user_id, &v, &n, &k.r);
  if (!arec_tg_ok(arec_tg_status(rc, &k.r))) {
    fprintf(f, "\n");
    arec_tg_say_result(f, "Your exchange accounts", &k.r);
    free(v);
    return;
  }
  if (!n)
    fprintf(f, "\nYou have no exchange account yet: /add_exchange <exchange> "
               "<api_key> <api_secret> [testnet]");
  else
    fprintf(f, "\nYour accounts:");
  for (size_t i = 0; i < n; i++)
    fprintf(f, "\nid=%lld %s (%s)", v[i].id, v[i].exchange,
            v[i].testnet ? "testnet" : "mainnet");
  if (n) fprintf(f, "\nRemove one: /remove_exchange <id>");
  free(v);
}

void arec_tg_cmd_remove_exchange(const arec_tg_cmd_ctx *c,
                                 const arec_tg_args *a, FILE *f) {
  char *e = NULL;
  long long id = strtoll(a->v[1], &e, 10);
  if (e == a->v[1] || *e || id <= 0) {
    fprintf(f, "Usage: /remove_exchange <account id>   (/exchanges lists "
               "them)");
    return;
  }
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  int rc = arec_svc_exchange_remove(c->svc, &k.who, c->user_id, id, &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (arec_tg_ok(st)) {
    fprintf(f, "Exchange account %lld removed, with its pairs.", id);
    return;
  }
  arec_tg_say_result(f, "The exchange account", &k.r);
  if (st == 409)
    fprintf(f, " Stop the agent first (/stop_agent <id>), or move it off the "
               "pair (/unassign <id> <symbol>).");
}

void arec_tg_cmd_unassign(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                          FILE *f) {
  char what[96];
  snprintf(what, sizeof what, "Agent %.64s", a->v[1]);
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  int rc = arec_svc_agent_unassign(c->svc, &k.who, a->v[1], a->v[2], &k.r);
  int st = arec_tg_status(rc, &k.r);
  if (arec_tg_ok(st)) {
    fprintf(f, "Agent %s no longer trades %s.", a->v[1], a->v[2]);
    return;
  }
  if (st == 404 && k.r.field[0]) { /* the agent exists, the symbol not */
    fprintf(f, "Agent %s does not trade %s.", a->v[1], a->v[2]);
    return;
  }
  arec_tg_say_result(f, what, &k.r);
  if (st == 409)
    fprintf(f, " Stop it first: /stop_agent %s", a->v[1]);
}

void arec_tg_cmd_stop_all(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                          FILE *f) {
  (void)a;
  arec_tg_svc_call k = arec_tg_svc_call_of(c);
  size_t n = 0;
  int rc = arec_svc_stop_all(c->svc, &k.who, c->user_id, &n, &k.r);
  if (arec_tg_failed(f, "Your agents", rc, &k.r)) {
    if (n) fprintf(f, " (%zu were stopped before that)", n);
    return;
  }
  if (!n)
    fprintf(f, "None of your agents was running.");
  else
    fprintf(f, "Stopping %zu agent%s: their positions are being closed. You "
               "will get a message for each when it has stopped.", n,
            n == 1 ? "" : "s");
}

void arec_tg_cmd_delete_agent(const arec_tg_cmd_ctx *c, const arec_tg_args *a,
                              FILE *f) {
  const char *id = a->v[1];
  int was = arec_tg_agent_act(c, id, arec_svc_agent_delete, f);
  if (was < 0) return;
  if (was)
    fprintf(f, "Agent %s deleted: it stops and closes its positions first; "
               "you will get a message when it has stopped. Its history is "
               "kept.", id);
  else
    fprintf(f, "Agent %s deleted. Its history is kept.", id);
}
