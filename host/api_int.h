/*
 * api_int.h -- inside the admin API: the context a route handler gets and
 * the helpers every handler file shares (api.c holds the route table,
 * api_agents.c, api_admin.c and api_reports.c the handlers).
 */
#ifndef AREC_HOST_API_INT_H
#define AREC_HOST_API_INT_H

#include <cJSON.h>

#include "api.h"
#include "json.h"

/* One matched request. */
typedef struct api_call {
  const arec_host_api *api;
  const arec_svc_actor *who;
  const arec_host_request *req;
  arec_host_response *out;
  const char *id;  /* the {id} segment (a valid agent id; an exchange
                      account's id is read from it as an integer) or NULL */
  long long uid;   /* the {uid} segment (a positive integer) or 0 */
} api_call;

typedef void (*api_handler)(api_call *c);

/* Responds with `j` (deleted) and the status; 500 out of memory. */
void api_json(api_call *c, int status, cJSON *j);
/* {"error": msg, "field"?, "request_id"} with the status. */
void api_fail(api_call *c, int status, const char *msg, const char *field);
/* 400 naming the field: "field \"f\": <expected>". */
void api_bad_field(api_call *c, const char *field, const char *expected);
/* The service's outcome when it is an error (responded: returns 1), else
 * 0.  A result without a status counts as 500. */
int api_failed(api_call *c, const arec_svc_result *res);

/* The body as one JSON object (responded 400 and NULL otherwise). */
cJSON *api_body(api_call *c);
/* Field readers that respond 400 naming the field and return -1; 0 when
 * read; for optional ones 1 when absent. */
int api_int(api_call *c, const cJSON *b, const char *key, long long min,
            long long max, long long *out);
int api_str(api_call *c, const cJSON *b, const char *key, size_t max,
            const char **out);
int api_opt_str(api_call *c, const cJSON *b, const char *key, size_t max,
                const char **out);
/* A query argument (NULL when absent). */
const char *api_query(const api_call *c, const char *name);

/* A growing text buffer (api_render.c); oom set once an allocation
 * failed (the text is then incomplete). */
typedef struct api_buf {
  char *p;
  size_t len, cap;
  int oom;
} api_buf;
void api_buf_put(api_buf *b, const char *s, size_t n);
void api_buf_str(api_buf *b, const char *s);
/* s as a JSON string, escaped as cJSON escapes it. */
void api_buf_quoted(api_buf *b, const char *s);
/* The agent record as the API's JSON object (api_render.c). */
void api_agent_write(api_buf *b, const arec_agent_record *a);
/* Responds with the JSON text in b (taken; 500 when b->oom). */
void api_json_text(api_call *c, int status, api_buf *b);

/* Handlers (api_agents.c). */
void api_agents_list(api_call *c);
void api_agent_create(api_call *c);
void api_agent_get(api_call *c);
void api_agent_delete(api_call *c);
void api_agent_assign(api_call *c);
void api_agent_unassign(api_call *c);
void api_agent_start(api_call *c);
void api_agent_stop(api_call *c);
void api_agent_enable(api_call *c);
void api_agent_disable(api_call *c);
void api_agent_migrate(api_call *c);
/* Handlers (api_admin.c). */
void api_user_upsert(api_call *c);
void api_exchange_add(api_call *c);
void api_exchange_list(api_call *c);
void api_exchange_remove(api_call *c);
void api_exchanges(api_call *c);
void api_stop_all(api_call *c);
void api_pair_add(api_call *c);
void api_runners(api_call *c);
void api_pods(api_call *c);
void api_strategies(api_call *c);
void api_audit(api_call *c);
/* Handlers (api_reports.c). */
void api_balance(api_call *c);
void api_trades(api_call *c);
void api_daily(api_call *c);
void api_performance(api_call *c);

#endif
