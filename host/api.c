/*
 * api.c -- the admin API handlers of agentrecoverd: users, exchanges, pairs,
 * agents (create, assign, start, stop, enable, disable, migrate, get, list),
 * the live pods and this pod's runners.  JSON in and out with cJSON; errors are {"error": "..."}
 * naming the field; status codes as issue 5 lists them.
 *
 * How: the path is split into segments and matched against the routes;
 * the method is checked (405), then the body is parsed and every field
 * validated before a single call to the PostgreSQL backend or the manager,
 * so a bad request writes nothing.
 *
 * Never: echo or log an exchange key or secret, compare the admin token in
 * variable time, or crash on any input.
 */
#include "api.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSON_TYPE "application/json"
#define MAX_SEGS 5

/* ------------------------------------------------------------- responses */
static void respond_json(arec_host_response *out, int status, cJSON *j) {
  out->status = status;
  out->content_type = JSON_TYPE;
  out->body = j ? cJSON_PrintUnformatted(j) : NULL;
  cJSON_Delete(j);
  if (!out->body) {
    out->status = 500;
    out->body = strdup("{\"error\":\"out of memory\"}");
  }
}

void arec_host_api_error(arec_host_response *out, int status,
                         const char *msg) {
  cJSON *j = cJSON_CreateObject();
  if (j) cJSON_AddStringToObject(j, "error", msg);
  respond_json(out, status, j);
}

/* Maps a backend/manager code to a status and message about `what`. */
static void respond_code(arec_host_response *out, int rc, const char *what) {
  char msg[256];
  int status;
  switch (rc) {
  case AREC_ENOTFOUND:
    status = 404;
    snprintf(msg, sizeof msg, "%s not found", what);
    break;
  case AREC_EEXIST:
    status = 409;
    snprintf(msg, sizeof msg, "%s already exists", what);
    break;
  case AREC_ECONFLICT:
    status = 409;
    snprintf(msg, sizeof msg, "%s: conflicts with the current state", what);
    break;
  case AREC_EINVAL:
    status = 400;
    snprintf(msg, sizeof msg, "%s: invalid (%.150s)", what, arec_error_last());
    break;
  case AREC_EUNAVAILABLE:
  case AREC_ETIMEDOUT:
  case AREC_ESHUTDOWN:
    status = 503;
    snprintf(msg, sizeof msg, "service unavailable: %s",
             arec_strerror(rc));
    break;
  default:
    status = 500;
    snprintf(msg, sizeof msg, "internal error: %s", arec_strerror(rc));
    break;
  }
  arec_host_api_error(out, status, msg);
}

/* ---------------------------------------------------------------- auth */
int arec_host_api_authorized(const char *token, const char *header) {
  if (!token || !*token) return 1;
  if (!header || strncasecmp(header, "Bearer ", 7) != 0) return 0;
  const char *given = header + 7;
  while (*given == ' ') given++;
  size_t tl = strlen(token), gl = strlen(given);
  unsigned char diff = (unsigned char)(tl != gl);
  /* Walk the whole token whatever was given: time depends on its length
   * only. */
  for (size_t i = 0; i < tl; i++) {
    unsigned char g = (unsigned char)(i < gl ? given[i] : 0);
    diff |= (unsigned char)(g ^ (unsigned char)token[i]);
  }
  return diff == 0;
}

/* ------------------------------------------------------ field validation */
/* Each getter returns 0, or fills `out` with 400 naming the field. */
static int bad_field(arec_host_response *out, const char *field,
                     const char *expected) {
  char msg[160];
  snprintf(msg, sizeof msg, "field \"%s\": %s", field, expected);
  arec_host_api_error(out, 400, msg);
  return -1;
}

static int get_int(arec_host_response *out, const cJSON *o, const char *f,
                   long long *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, f);
  if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) ||
      it->valuedouble < 1 || it->valuedouble > 9007199254740991.0 ||
      floor(it->valuedouble) != it->valuedouble)
    return bad_field(out, f, "required, a positive integer");
  *v = (long long)it->valuedouble;
  return 0;
}

static int get_str(arec_host_response *out, const cJSON *o, const char *f,
                   size_t max, const char **v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, f);
  if (!cJSON_IsString(it) || !it->valuestring[0] ||
      strlen(it->valuestring) > max) {
    char e[80];
    snprintf(e, sizeof e, "required, a non-empty string of at most %zu "
                          "characters", max);
    return bad_field(out, f, e);
  }
  *v = it->valuestring;
  return 0;
}

/* Parses the body as a JSON object; NULL after a 400. */
static cJSON *parse_body(const arec_host_request *req,
                         arec_host_response *out) {
  cJSON *j = req->body ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    arec_host_api_error(out, 400, "malformed JSON: expected an object");
    return NULL;
  }
  return j;
}

static int parse_id_segment(const char *s, long long *v) {
  if (!s || !*s || strlen(s) > 16 || s[strspn(s, "0123456789")]) return -1;
  errno = 0;
  *v = strtoll(s, NULL, 10);
  return (errno || *v < 1) ? -1 : 0;
}

static int symbol_valid(const char *s) {
  for (; *s; s++)
    if (*s <= ' ' || *s == '"' || *s == '\\' || *s == 0x7f) return 0;
  return 1;
}

/* ---------------------------------------------------------- users, pairs */
static void post_user(const arec_host_api *api, const arec_host_request *req,
                      arec_host_response *out) {
  cJSON *b = parse_body(req, out);
  if (!b) return;
  long long id;
  const char *name;
  if (get_int(out, b, "id", &id) == 0 &&
      get_str(out, b, "name", 200, &name) == 0) {
    int rc = arec_pg_user_upsert(api->pg, id, name);
    if (rc) {
      respond_code(out, rc, "user");
    } else {
      cJSON *j = cJSON_CreateObject();
      cJSON_AddNumberToObject(j, "id", (double)id);
      cJSON_AddStringToObject(j, "name", name);
      respond_json(out, 201, j);
    }
  }
  cJSON_Delete(b);
}

static void post_exchange(const arec_host_api *api, long long uid,
                          const arec_host_request *req,
                          arec_host_response *out) {
  cJSON *b = parse_body(req, out);
  if (!b) return;
  const char *exchange, *key, *secret;
  const cJSON *tn = cJSON_GetObjectItemCaseSensitive(b, "testnet");
  if (get_str(out, b, "exchange", 64, &exchange) ||
      get_str(out, b, "api_key", 512, &key) ||
      get_str(out, b, "api_secret", 512, &secret)) {
    cJSON_Delete(b);
    return;
  }
  if (tn && !cJSON_IsBool(tn)) {
    bad_field(out, "testnet", "a boolean");
  } else if (!api->has_secrets_key) {
    arec_host_api_error(out, 503, "AGENT_SECRETS_KEY is not configured: "
                                  "exchange keys cannot be stored");
  } else {
    long long id = 0;
    int rc = arec_pg_exchange_create(api->pg, &id, uid, exchange, key, secret,
                                     tn ? cJSON_IsTrue(tn) : 1);
    if (rc) {
      respond_code(out, rc, "user");
    } else {
      cJSON *j = cJSON_CreateObject();
      cJSON_AddNumberToObject(j, "id", (double)id);
      cJSON_AddNumberToObject(j, "user_id", (double)uid);
      cJSON_AddStringToObject(j, "exchange", exchange);
      cJSON_AddBoolToObject(j, "testnet", tn ? cJSON_IsTrue(tn) : 1);
      respond_json(out, 201, j);
    }
  }
  cJSON_Delete(b);
}

static void post_pair(const arec_host_api *api, long long uid,
                      const arec_host_request *req, arec_host_response *out) {
  cJSON *b = parse_body(req, out);
  if (!b) return;
  long long exid;
  const char *symbol;
  if (get_int(out, b, "exchange_id", &exid) == 0 &&
      get_str(out, b, "symbol", 32, &symbol) == 0) {
    if (!symbol_valid(symbol)) {
      bad_field(out, "symbol", "no spaces, quotes or control characters");
    } else {
      long long id = 0;
      int rc = arec_pg_pair_create(api->pg, &id, uid, exid, symbol);
      if (rc) {
        respond_code(out, rc, rc == AREC_EEXIST ? "pair" : "user or exchange");
      } else {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "id", (double)id);
        cJSON_AddNumberToObject(j, "user_id", (double)uid);
        cJSON_AddNumberToObject(j, "exchange_id", (double)exid);
        cJSON_AddStringToObject(j, "symbol", symbol);
        respond_json(out, 201, j);
      }
    }
  }
  cJSON_Delete(b);
}

/* ----------------------------------------------------------------- agents */
static void post_agent(const arec_host_api *api, const arec_host_request *req,
                       arec_host_response *out) {
  cJSON *b = parse_body(req, out);
  if (!b) return;
  long long uid;
  const char *strategy, *name, *id = NULL;
  const cJSON *idj = cJSON_GetObjectItemCaseSensitive(b, "id");
  if (get_int(out, b, "user_id", &uid) || get_str(out, b, "strategy", 64,
                                                  &strategy) ||
      get_str(out, b, "name", 200, &name)) {
    cJSON_Delete(b);
    return;
  }
  if (idj && !cJSON_IsNull(idj)) {
    if (!cJSON_IsString(idj) || !arec_agent_id_valid(idj->valuestring)) {
      bad_field(out, "id", "[A-Za-z0-9_-]{1,64}, not \"start\" or \"stop\"");
      cJSON_Delete(b);
      return;
    }
    id = idj->valuestring;
  }
  char new_id[72] = {0};
  int rc = arec_pg_agent_create(api->pg, new_id, id, uid, strategy, name);
  if (rc) {
    respond_code(out, rc, rc == AREC_EEXIST ? "agent" : "user");
  } else {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", new_id);
    cJSON_AddNumberToObject(j, "user_id", (double)uid);
    cJSON_AddStringToObject(j, "strategy", strategy);
    cJSON_AddStringToObject(j, "name", name);
    respond_json(out, 201, j);
  }
  cJSON_Delete(b);
}

static void post_assign(const arec_host_api *api, const char *id,
                        const arec_host_request *req,
                        arec_host_response *out) {
  cJSON *b = parse_body(req, out);
  if (!b) return;
  const char *symbol;
  const cJSON *bal = cJSON_GetObjectItemCaseSensitive(b, "balance");
  if (get_str(out, b, "symbol", 32, &symbol) == 0) {
    if (!symbol_valid(symbol)) {
      bad_field(out, "symbol", "no spaces, quotes or control characters");
    } else if (!cJSON_IsNumber(bal) || !isfinite(bal->valuedouble) ||
               bal->valuedouble <= 0) {
      bad_field(out, "balance", "required, a number > 0");
    } else {
      int rc = arec_pg_agent_assign(api->pg, id, symbol, bal->valuedouble);
      if (rc == AREC_ECONFLICT) {
        arec_host_api_error(out, 409, "the agent's owner has no trading pair "
                                      "for this symbol");
      } else if (rc) {
        respond_code(out, rc, rc == AREC_EEXIST ? "assignment" : "agent");
      } else {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", id);
        cJSON_AddStringToObject(j, "symbol", symbol);
        cJSON_AddNumberToObject(j, "balance", bal->valuedouble);
        respond_json(out, 201, j);
      }
    }
  }
  cJSON_Delete(b);
}

static void agent_started(const arec_host_api *api, const char *id,
                          const char *running_on, arec_host_response *out) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "id", id);
  if (running_on)
    cJSON_AddStringToObject(j, "running_on", running_on);
  else
    cJSON_AddNullToObject(j, "running_on");
  (void)api;
  respond_json(out, 200, j);
}

static void post_start(const arec_host_api *api, const char *id,
                       arec_host_response *out) {
  int rc = arec_manager_start_agent(api->mgr, id);
  if (rc == 0) {
    agent_started(api, id, api->pod, out);
    return;
  }
  if (rc == AREC_ELOCKED || rc == AREC_EUNAVAILABLE) {
    arec_pg_agent *a = NULL;
    int grc = arec_pg_agent_get(api->pg, id, &a);
    if (rc == AREC_ELOCKED) {
      agent_started(api, id, grc == 0 ? a->running_on : NULL, out);
    } else if (grc == 0 && a->is_trading) {
      /* The wish is recorded; only the lock service is down. */
      cJSON *j = cJSON_CreateObject();
      cJSON_AddStringToObject(j, "id", id);
      cJSON_AddNullToObject(j, "running_on");
      cJSON_AddStringToObject(j, "message",
                              "lock service unavailable: the start is "
                              "recorded, the agent starts when it returns");
      respond_json(out, 202, j);
    } else {
      respond_code(out, AREC_EUNAVAILABLE, "agent");
    }
    arec_pg_agents_free(a, a ? 1 : 0);
    return;
  }
  if (rc == AREC_ECONFLICT) {
    arec_host_api_error(out, 409, "agent has no symbols or is disabled");
    return;
  }
  respond_code(out, rc, "agent");
}

static void post_stop(const arec_host_api *api, const char *id,
                      arec_host_response *out) {
  int rc = arec_manager_stop_agent(api->mgr, id);
  if (rc) {
    respond_code(out, rc, "agent");
    return;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "id", id);
  cJSON_AddBoolToObject(j, "is_trading", 0);
  respond_json(out, 200, j);
}

static void post_active(const arec_host_api *api, const char *id, int active,
                        arec_host_response *out) {
  int rc = arec_pg_agent_set_active(api->pg, id, active);
  if (rc) {
    respond_code(out, rc, "agent");
    return;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "id", id);
  cJSON_AddBoolToObject(j, "is_active", active);
  respond_json(out, 200, j);
}

static void add_str_or_null(cJSON *o, const char *k, const char *v) {
  if (v)
    cJSON_AddStringToObject(o, k, v);
  else
    cJSON_AddNullToObject(o, k);
}

static cJSON *agent_json(const arec_pg_agent *a) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", a->id);
  cJSON_AddNumberToObject(o, "user_id", (double)a->user_id);
  cJSON_AddStringToObject(o, "name", a->name ? a->name : "");
  cJSON_AddStringToObject(o, "strategy", a->strategy ? a->strategy : "");
  cJSON *syms = cJSON_AddArrayToObject(o, "symbols");
  for (size_t i = 0; i < a->nsymbols; i++) {
    const arec_pg_symbol *s = &a->symbols[i];
    cJSON *so = cJSON_CreateObject();
    cJSON_AddStringToObject(so, "symbol", s->symbol ? s->symbol : "");
    cJSON_AddNumberToObject(so, "budget", s->budget);
    cJSON_AddNumberToObject(so, "balance", s->balance);
    cJSON *mem = s->memory ? cJSON_Parse(s->memory) : NULL;
    if (mem)
      cJSON_AddItemToObject(so, "memory", mem);
    else
      add_str_or_null(so, "memory", s->memory);
    cJSON_AddNumberToObject(so, "fence", (double)s->fence);
    add_str_or_null(so, "updated_at", s->updated_at);
    cJSON_AddItemToArray(syms, so);
  }
  cJSON_AddBoolToObject(o, "is_active", a->is_active);
  cJSON_AddBoolToObject(o, "is_trading", a->is_trading);
  add_str_or_null(o, "running_on", a->running_on);
  cJSON_AddNumberToObject(o, "fence", (double)a->fence);
  add_str_or_null(o, "created_at", a->created_at);
  add_str_or_null(o, "updated_at", a->updated_at);
  return o;
}

static void get_agent(const arec_host_api *api, const char *id,
                      arec_host_response *out) {
  arec_pg_agent *a = NULL;
  int rc = arec_pg_agent_get(api->pg, id, &a);
  if (rc) {
    respond_code(out, rc, "agent");
    return;
  }
  respond_json(out, 200, agent_json(a));
  arec_pg_agents_free(a, 1);
}

static void get_agents(const arec_host_api *api, const arec_host_request *req,
                       arec_host_response *out) {
  long limit = 50;
  if (req->arg_limit) {
    char *end = NULL;
    errno = 0;
    limit = strtol(req->arg_limit, &end, 10);
    if (errno || !*req->arg_limit || *end || limit < 1 || limit > 1000) {
      arec_host_api_error(out, 400, "query \"limit\": an integer 1..1000");
      return;
    }
  }
  if (req->arg_after && *req->arg_after &&
      !arec_agent_id_valid(req->arg_after)) {
    arec_host_api_error(out, 400, "query \"after\": an agent id");
    return;
  }
  arec_pg_agent *list = NULL;
  size_t n = 0;
  const char *after = req->arg_after && *req->arg_after ? req->arg_after : NULL;
  int rc = arec_pg_agent_list(api->pg, after, (unsigned)limit, 0, &list, &n);
  if (rc) {
    respond_code(out, rc, "agents");
    return;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(j, "agents");
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, agent_json(&list[i]));
  add_str_or_null(j, "next", n == (size_t)limit && n ? list[n - 1].id : NULL);
  arec_pg_agents_free(list, n);
  respond_json(out, 200, j);
}

static void get_runners(const arec_host_api *api, arec_host_response *out) {
  arec_runner_info *r = NULL;
  size_t n = 0;
  int rc = arec_manager_runners(api->mgr, &r, &n);
  if (rc) {
    respond_code(out, rc, "runners");
    return;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "pod", api->pod);
  cJSON *arr = cJSON_AddArrayToObject(j, "runners");
  for (size_t i = 0; i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "agent_id", r[i].agent_id ? r[i].agent_id : "");
    cJSON_AddStringToObject(o, "strategy", r[i].strategy ? r[i].strategy : "");
    cJSON_AddNumberToObject(o, "fence", (double)r[i].fence);
    cJSON_AddNumberToObject(o, "validity_ms", (double)r[i].validity_ms);
    cJSON_AddNumberToObject(o, "started_at_ms", (double)r[i].started_at_ms);
    cJSON_AddNumberToObject(o, "steps", (double)r[i].steps);
    cJSON_AddItemToArray(arr, o);
  }
  arec_runner_info_free(r, n);
  respond_json(out, 200, j);
}

/* POST /api/agents/{id}/migrate {"to": "pod-b"} (issue 8): hands one agent
 * to a named live pod, gracefully and fenced (a migration hold on the row). */
static void post_migrate(const arec_host_api *api, const char *id,
                         const arec_host_request *req,
                         arec_host_response *out) {
  cJSON *b = parse_body(req, out);
  if (!b) return;
  const char *to;
  if (get_str(out, b, "to", 127, &to) == 0) {
    int rc = arec_manager_migrate_agent(api->mgr, id, to);
    if (rc == AREC_ECONFLICT) {
      char msg[200];
      snprintf(msg, sizeof msg, "cannot migrate: %.150s", arec_error_last());
      arec_host_api_error(out, 409, msg);
    } else if (rc) {
      respond_code(out, rc, "agent");
    } else {
      cJSON *j = cJSON_CreateObject();
      cJSON_AddStringToObject(j, "id", id);
      cJSON_AddStringToObject(j, "to", to);
      cJSON_AddStringToObject(j, "status", "migrating");
      respond_json(out, 202, j);
    }
  }
  cJSON_Delete(b);
}

/* ------------------------------------------------------------------- pods */
/* GET /api/pods (issue 8): live pods with their agent counts. */
static void get_pods(const arec_host_api *api, arec_host_response *out) {
  arec_pg_pod *p = NULL;
  size_t n = 0;
  int rc = arec_pg_pods_list(api->pg, &p, &n);
  if (rc != 0) {
    respond_code(out, rc, "pods");
    return;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(j, "pods");
  for (size_t i = 0; i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", p[i].name ? p[i].name : "");
    cJSON_AddStringToObject(o, "incarnation",
                            p[i].incarnation ? p[i].incarnation : "");
    cJSON_AddStringToObject(o, "lease_until",
                            p[i].lease_until ? p[i].lease_until : "");
    cJSON_AddNumberToObject(o, "agents", (double)p[i].agents);
    cJSON_AddItemToArray(arr, o);
  }
  arec_pg_pods_free(p, n);
  respond_json(out, 200, j);
}

/* ----------------------------------------------------------------- router */
static size_t split_path(const char *path, char *buf, size_t len,
                         const char **segs) {
  size_t n = 0;
  snprintf(buf, len, "%s", path);
  for (char *save = NULL, *t = strtok_r(buf, "/", &save); t;
       t = strtok_r(NULL, "/", &save)) {
    if (n == MAX_SEGS) return MAX_SEGS + 1;
    segs[n++] = t;
  }
  return n;
}

static int method_ok(const arec_host_request *req, const char *want,
                     arec_host_response *out) {
  if (strcmp(req->method, want) == 0) return 1;
  char msg[64];
  snprintf(msg, sizeof msg, "method not allowed: use %s", want);
  arec_host_api_error(out, 405, msg);
  return 0;
}

static int agent_id_ok(const char *id, arec_host_response *out) {
  if (arec_agent_id_valid(id)) return 1;
  arec_host_api_error(out, 400, "path \"id\": [A-Za-z0-9_-]{1,64}");
  return 0;
}

static void route_agents(const arec_host_api *api,
                         const arec_host_request *req, const char **s,
                         size_t n, arec_host_response *out) {
  int get = strcmp(req->method, "GET") == 0;
  if (n == 1) {
    if (get)
      get_agents(api, req, out);
    else if (method_ok(req, "POST", out))
      post_agent(api, req, out);
  } else if (n == 3 && (!strcmp(s[1], "start") || !strcmp(s[1], "stop"))) {
    if (method_ok(req, "POST", out) && agent_id_ok(s[2], out)) {
      if (s[1][2] == 'a')
        post_start(api, s[2], out);
      else
        post_stop(api, s[2], out);
    }
  } else if (n == 2) {
    if (method_ok(req, "GET", out) && agent_id_ok(s[1], out))
      get_agent(api, s[1], out);
  } else if (n == 3 && !strcmp(s[2], "assign")) {
    if (method_ok(req, "POST", out) && agent_id_ok(s[1], out))
      post_assign(api, s[1], req, out);
  } else if (n == 3 && !strcmp(s[2], "migrate")) {
    if (method_ok(req, "POST", out) && agent_id_ok(s[1], out))
      post_migrate(api, s[1], req, out);
  } else if (n == 3 && (!strcmp(s[2], "enable") || !strcmp(s[2], "disable"))) {
    if (method_ok(req, "POST", out) && agent_id_ok(s[1], out))
      post_active(api, s[1], s[2][0] == 'e', out);
  } else {
    arec_host_api_error(out, 404, "no such endpoint");
  }
}

void arec_host_api_handle(const arec_host_api *api,
                          const arec_host_request *req,
                          arec_host_response *out) {
  memset(out, 0, sizeof *out);
  if (!arec_host_api_authorized(api->admin_token, req->authorization)) {
    arec_host_api_error(out, 401, "missing or wrong bearer token");
    return;
  }
  if (req->body_too_large) {
    arec_host_api_error(out, 413, "request body over 64 KiB");
    return;
  }
  char buf[512];
  const char *s[MAX_SEGS];
  size_t n = strlen(req->path) < sizeof buf
                 ? split_path(req->path, buf, sizeof buf, s)
                 : MAX_SEGS + 1;
  if (n < 2 || n > MAX_SEGS || strcmp(s[0], "api") != 0) {
    arec_host_api_error(out, 404, "no such endpoint");
    return;
  }
  long long uid;
  if (!strcmp(s[1], "agents")) {
    route_agents(api, req, s + 1, n - 1, out);
  } else if (!strcmp(s[1], "pods") && n == 2) {
    if (method_ok(req, "GET", out)) get_pods(api, out);
  } else if (!strcmp(s[1], "runners") && n == 2) {
    if (method_ok(req, "GET", out)) get_runners(api, out);
  } else if (!strcmp(s[1], "users") && n == 2) {
    if (method_ok(req, "POST", out)) post_user(api, req, out);
  } else if (!strcmp(s[1], "users") && n == 4 &&
             (!strcmp(s[3], "exchanges") || !strcmp(s[3], "pairs"))) {
    if (!method_ok(req, "POST", out)) return;
    if (parse_id_segment(s[2], &uid)) {
      arec_host_api_error(out, 400, "path \"uid\": a positive integer");
    } else if (s[3][0] == 'e') {
      post_exchange(api, uid, req, out);
    } else {
      post_pair(api, uid, req, out);
    }
  } else {
    arec_host_api_error(out, 404, "no such endpoint");
  }
}
