/*
 * service_int.h -- what the files of the service layer share (service.c,
 * service_accounts.c, service_agents.c, service_audit.c): the handle, the
 * operation in progress (actor, action, ids for the audit trail) and the
 * outcome helpers.  Internal to the host.
 */
#ifndef AREC_HOST_SERVICE_INT_H
#define AREC_HOST_SERVICE_INT_H

#include <stdatomic.h>

#include "service.h"
#include "store.h"
#include "validate.h"

struct arec_svc {
  arec_pg *pg;
  arec_repository *repo; /* owned */
  arec_manager *mgr;
  arec_host_store *store;
  char *pod;
  int pod_live;
  arec_log_fn log;
  void *log_userdata;
  char rid_prefix[10];   /* random per handle: generated request ids */
  atomic_ullong rid_next;
};

/* One operation: who does what to which agent/user, and its outcome. */
typedef struct arec__svc_op {
  arec_svc *svc;
  const arec_svc_actor *who;
  arec_svc_result *res;
  const char *action;   /* "agent.create" ...; NULL for reads */
  char agent_id[AREC_AGENT_ID_MAX + 1];
  long long user_id;
  int rc;               /* the cause of a failure (returned) */
} arec__svc_op;

/* Starts an operation: clears res, copies the actor's request id.  A
 * mutation (action != NULL) by a read-only actor is answered 403 here:
 * returns nonzero when the operation must not go on (then call end). */
int arec__svc_begin(arec__svc_op *o, arec_svc *svc, const arec_svc_actor *who,
                    arec_svc_result *res, const char *action);
/* arec__svc_begin for a read of a list: clears *out (a pointer of any
 * type) and *out_n first, so that a refused read leaves none behind. */
int arec__svc_begin_list(arec__svc_op *o, arec_svc *svc,
                         const arec_svc_actor *who, arec_svc_result *res,
                         void *out, size_t *out_n);
/* arec__svc_begin_list for a list of one user's: the user id valid
 * ("user_id") and the actor's to read, out and out_n given; 0 to go on. */
int arec__svc_begin_user_list(arec__svc_op *o, arec_svc *svc,
                              const arec_svc_actor *who, arec_svc_result *res,
                              long long user_id, void *out, size_t *out_n);
/* Ends it: records the audit event and its log line for a mutation;
 * returns 0 for 2xx, else the cause (a negative AREC_E* code). */
int arec__svc_end(arec__svc_op *o);

/* Outcomes (message formatted like printf). */
void arec__svc_set(arec__svc_op *o, int status, const char *field,
                   const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* The operation's request id: the actor's, else one generated now. */
const char *arec__svc_request_id(arec__svc_op *o);
/* A 400 from the input policy. */
void arec__svc_invalid(arec__svc_op *o, const arec_host_invalid *e);
/* A library/store code: 404 "<what> not found", 409 "<what> already
 * exists" / "<what>: <reason>", 400 (field from the reason), 422 with the
 * reason, 503 / 500 with the request id (the detail logged at WARN). */
void arec__svc_fail(arec__svc_op *o, int rc, const char *what);
/* Ends the operation on its call's outcome rc: arec__svc_fail(rc, what),
 * else `status` with the message; arec__svc_end's value. */
int arec__svc_done(arec__svc_op *o, int rc, const char *what, int status,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Telegram actors act only on their own user id: 0, or 404 set. */
int arec__svc_own_user(arec__svc_op *o, long long user_id);
/* The checks of an operation on user_id's data: `invalid` (a validator
 * refused the input, e says why) answered 400, else arec__svc_own_user.
 * Nonzero when the operation must not go on (then call end). */
int arec__svc_check_user(arec__svc_op *o, int invalid,
                         const arec_host_invalid *e, long long user_id);
/* The agent (validated id, scoped to a Telegram actor's own agents):
 * 0 with *out, or the outcome set (400/404/503 ...). */
int arec__svc_agent(arec__svc_op *o, const char *id, arec_agent_record **out);

#endif
