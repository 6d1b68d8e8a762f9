/*
 * api.c -- the admin API's route table and dispatch, and the helpers its
 * handlers share (api_int.h).
 *
 * How: the path is split into segments and compared with every route's
 * pattern ("{id}" and "{uid}" match any one segment); among the matching
 * routes the one of the request's method runs, else 405 with Allow naming
 * the methods that exist, else 404.  {id} must be a valid agent id and
 * {uid} a positive integer (400 naming the field) before the handler runs.
 * Handlers parse and validate the body strictly (json.h), then call the
 * service, which decides every outcome; this file maps the outcome to an
 * HTTP answer and never adds detail of its own to a service error.
 *
 * Never: call the store, the PostgreSQL query API or the manager (except
 * the runners listing), echo an exchange key or secret, put database
 * internals in an answer, or crash on any input.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define JSON_TYPE "application/json"
#define MAX_SEGS 6

typedef struct route {
  const char *method;
  const char *pattern;
  api_handler fn;
  const char *doc; /* "METHOD pattern" */
} route;

#define R(m, p, f) {m, p, f, m " " p}
static const route routes[] = {
    R("POST", "/api/users", api_user_upsert),
    R("POST", "/api/users/{uid}/exchanges", api_exchange_add),
    R("GET", "/api/users/{uid}/exchanges", api_exchange_list),
    R("DELETE", "/api/users/{uid}/exchanges/{id}", api_exchange_remove),
    R("POST", "/api/users/{uid}/pairs", api_pair_add),
    R("POST", "/api/users/{uid}/stop_all", api_stop_all),
    R("GET", "/api/users/{uid}/balance", api_balance),
    R("GET", "/api/users/{uid}/trades", api_trades),
    R("GET", "/api/users/{uid}/daily", api_daily),
    R("GET", "/api/users/{uid}/performance", api_performance),
    R("GET", "/api/exchanges", api_exchanges),
    R("GET", "/api/agents", api_agents_list),
    R("POST", "/api/agents", api_agent_create),
    R("POST", "/api/agents/start/{id}", api_agent_start),
    R("POST", "/api/agents/stop/{id}", api_agent_stop),
    R("GET", "/api/agents/{id}", api_agent_get),
    R("DELETE", "/api/agents/{id}", api_agent_delete),
    R("POST", "/api/agents/{id}/assign", api_agent_assign),
    R("POST", "/api/agents/{id}/unassign", api_agent_unassign),
    R("POST", "/api/agents/{id}/enable", api_agent_enable),
    R("POST", "/api/agents/{id}/disable", api_agent_disable),
    R("POST", "/api/agents/{id}/migrate", api_agent_migrate),
    R("GET", "/api/runners", api_runners),
    R("GET", "/api/pods", api_pods),
    R("GET", "/api/strategies", api_strategies),
    R("GET", "/api/audit", api_audit),
};
#undef R
#define NROUTES (sizeof routes / sizeof *routes)

size_t arec_host_api_route_count(void) { return NROUTES; }

const char *arec_host_api_route(size_t i) {
  return i < NROUTES ? routes[i].doc : NULL;
}

/* ------------------------------------------------------------- answers */
static void respond(arec_host_response *out, int status, cJSON *j) {
  out->status = status;
  out->content_type = JSON_TYPE;
  out->body = j ? cJSON_PrintUnformatted(j) : NULL;
  cJSON_Delete(j);
  if (!out->body) {
    out->status = 500;
    out->body = strdup("{\"error\":\"out of memory\"}");
  }
}

void arec_host_api_error(arec_host_response *out, int status, const char *msg,
                         const char *field, const char *request_id) {
  cJSON *j = cJSON_CreateObject();
  if (j) {
    cJSON_AddStringToObject(j, "error", msg ? msg : "error");
    if (field && *field) cJSON_AddStringToObject(j, "field", field);
    if (request_id && *request_id)
      cJSON_AddStringToObject(j, "request_id", request_id);
  }
  respond(out, status, j);
}

void api_json(api_call *c, int status, cJSON *j) { respond(c->out, status, j); }

void api_json_text(api_call *c, int status, api_buf *b) {
  if (b->oom || !b->p) {
    free(b->p);
    memset(b, 0, sizeof *b);
    respond(c->out, 500, NULL);
    return;
  }
  c->out->status = status;
  c->out->content_type = JSON_TYPE;
  c->out->body = b->p;
  memset(b, 0, sizeof *b);
}

void api_fail(api_call *c, int status, const char *msg, const char *field) {
  arec_host_api_error(c->out, status, msg, field, c->who->request_id);
}

void api_bad_field(api_call *c, const char *field, const char *expected) {
  char msg[200];
  snprintf(msg, sizeof msg, "field \"%s\": %s", field, expected);
  api_fail(c, 400, msg, field);
}

int api_failed(api_call *c, const arec_svc_result *res) {
  if (res->status >= 200 && res->status < 300) return 0;
  int status = res->status >= 400 && res->status < 600 ? res->status : 500;
  const char *rid = res->request_id[0] ? res->request_id : c->who->request_id;
  arec_host_api_error(c->out, status,
                      res->message[0] ? res->message : "internal error",
                      res->field, rid);
  return 1;
}

/* ------------------------------------------------------- body and query */
cJSON *api_body(api_call *c) {
  const char *why = NULL;
  cJSON *b = NULL;
  if (!c->req->body || c->req->body_len == 0)
    why = "a JSON object is required";
  else
    b = arec_json_parse_object(c->req->body, c->req->body_len, &why);
  if (!b) {
    char msg[160];
    snprintf(msg, sizeof msg, "malformed JSON: %s", why ? why : "invalid");
    api_fail(c, 400, msg, NULL);
  }
  return b;
}

int api_int(api_call *c, const cJSON *b, const char *key, long long min,
            long long max, long long *out) {
  if (arec_json_get_int(b, key, min, max, out) == 0) return 0;
  char e[96];
  snprintf(e, sizeof e, "required, an integer %lld..%lld", min, max);
  api_bad_field(c, key, e);
  return -1;
}

int api_opt_str(api_call *c, const cJSON *b, const char *key, size_t max,
                const char **out) {
  int rc = arec_json_get_string(b, key, max, out);
  if (rc >= 0) return rc;
  char e[96];
  snprintf(e, sizeof e, "a string of at most %zu bytes", max);
  api_bad_field(c, key, e);
  return -1;
}

int api_str(api_call *c, const cJSON *b, const char *key, size_t max,
            const char **out) {
  int rc = arec_json_get_string(b, key, max, out);
  if (rc == 0 && **out) return 0;
  char e[96];
  snprintf(e, sizeof e, "required, a non-empty string of at most %zu bytes",
           max);
  api_bad_field(c, key, e);
  return -1;
}

const char *api_query(const api_call *c, const char *name) {
  for (size_t i = 0; i < c->req->nquery; i++)
    if (c->req->query[i].name && !strcmp(c->req->query[i].name, name))
      return c->req->query[i].value;
  return NULL;
}

/* ------------------------------------------------------------- dispatch */
static size_t split(const char *path, char *buf, size_t len,
                    const char **segs) {
  size_t n = 0;
  if (strlen(path) >= len) return MAX_SEGS + 1;
  memcpy(buf, path, strlen(path) + 1);
  for (char *save = NULL, *t = strtok_r(buf, "/", &save); t;
       t = strtok_r(NULL, "/", &save)) {
    if (n == MAX_SEGS) return MAX_SEGS + 1;
    segs[n++] = t;
  }
  return n;
}

/* 1 when the path's segments fit the pattern; the {id}/{uid} values. */
static int match(const char *pattern, const char **segs, size_t n,
                 const char **id, const char **uid) {
  char buf[128];
  const char *ps[MAX_SEGS];
  size_t pn = split(pattern, buf, sizeof buf, ps);
  if (pn != n) return 0;
  for (size_t i = 0; i < n; i++) {
    if (!strcmp(ps[i], "{id}"))
      *id = segs[i];
    else if (!strcmp(ps[i], "{uid}"))
      *uid = segs[i];
    else if (strcmp(ps[i], segs[i]) != 0)
      return 0;
  }
  return 1;
}

void arec_host_api_handle(const arec_host_api *api, const arec_svc_actor *who,
                          const arec_host_request *req,
                          arec_host_response *out) {
  memset(out, 0, sizeof *out);
  api_call c = {api, who, req, out, NULL, 0};
  char buf[512];
  const char *segs[MAX_SEGS];
  size_t n = split(req->path ? req->path : "", buf, sizeof buf, segs);
  const char *method = req->method ? req->method : "";
  if (!strcmp(method, "HEAD")) method = "GET";
  const route *hit = NULL;
  const char *id = NULL, *uid = NULL;
  unsigned methods = 0; /* 1 GET, 2 POST, 4 DELETE: of the matching paths */
  for (size_t i = 0; n <= MAX_SEGS && i < NROUTES; i++) {
    const char *rid = NULL, *ruid = NULL;
    if (!match(routes[i].pattern, segs, n, &rid, &ruid)) continue;
    if (!strcmp(routes[i].method, method) && !hit) {
      hit = &routes[i];
      id = rid;
      uid = ruid;
    }
    methods |= routes[i].method[0] == 'G' ? 1u
               : routes[i].method[0] == 'P' ? 2u : 4u;
  }
  if (!hit && !methods) {
    api_fail(&c, 404, "no such endpoint", NULL);
    return;
  }
  if (!hit) {
    /* static: the transport sends the header after the handler returned */
    static const char *const allow[8] = {
        "", "GET", "POST", "GET, POST", "DELETE", "GET, DELETE",
        "POST, DELETE", "GET, POST, DELETE"};
    char msg[96];
    snprintf(msg, sizeof msg, "method not allowed: use %s", allow[methods]);
    api_fail(&c, 405, msg, NULL);
    out->extra[0].name = "Allow";
    out->extra[0].value = allow[methods];
    return;
  }
  if (req->body_too_large) {
    api_fail(&c, 413, "request body over 64 KiB", NULL);
    return;
  }
  if (id && !arec_agent_id_valid(id)) {
    api_fail(&c, 400, "path \"id\": [A-Za-z0-9_-]{1,64}, not \"start\" or "
                      "\"stop\"", "id");
    return;
  }
  if (uid && arec_json_parse_int(uid, 1, AREC_JSON_INT_MAX, &c.uid) != 0) {
    api_fail(&c, 400, "path \"uid\": a positive integer", "uid");
    return;
  }
  c.id = id;
  hit->fn(&c);
}
