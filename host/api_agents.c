/*
 * api_agents.c -- the admin API's agent routes: create, get, list (keyset
 * pages, by owner; each with its "mode"), delete, assign, unassign, start,
 * stop, enable, disable, migrate.
 *
 * How: each handler reads its body with the strict readers of api.c, calls
 * one service function with the caller's actor and answers with the shape
 * the API has always had ({"id": ..., "running_on": ...}, the agent
 * record, {"agents": [...], "next": ...}; records are written as text by
 * api_render.c); the service's error, if any, is answered as it is.
 *
 * Never: call the store, the PostgreSQL query API or the manager; print an
 * integer through a double (user ids and fences are written exactly).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

/* generous byte bounds: the service validates characters and lengths */
#define NAME_MAX_BYTES 1000

static cJSON *id_object(const char *id) {
  cJSON *j = cJSON_CreateObject();
  if (j) cJSON_AddStringToObject(j, "id", id);
  return j;
}

/* After a service call: its failure, or 200 with {"id", key: value}. */
static void id_flag(api_call *c, const arec_svc_result *res, const char *key,
                    int value) {
  if (api_failed(c, res)) return;
  cJSON *j = id_object(c->id);
  if (j) cJSON_AddBoolToObject(j, key, value);
  api_json(c, 200, j);
}

/* ------------------------------------------------------------------ reads */
void api_agent_get(api_call *c) {
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_agent_record *a = NULL;
  arec_svc_agent_get(c->api->svc, c->who, c->id, &a, &res);
  if (!api_failed(c, &res)) {
    api_buf b = {NULL, 0, 0, 0};
    if (a) api_agent_write(&b, a);
    api_json_text(c, 200, &b);
  }
  arec_agent_records_free(a, a ? 1 : 0);
}

/* ?state=wanted,unowned,backoff: the AREC_AGENTS_* flags, all of which
 * must hold (absent or empty: any agent).  0, or -1 answered 400. */
static int agents_state(api_call *c, const char *q, unsigned int *only) {
  static const struct {
    const char *name;
    unsigned int flag;
  } states[] = {{"wanted", AREC_AGENTS_WANTED},
                {"unowned", AREC_AGENTS_UNOWNED},
                {"backoff", AREC_AGENTS_BACKOFF}};
  *only = 0;
  for (const char *p = q; p && *p;) {
    size_t n = strcspn(p, ",");
    size_t i = 0;
    while (i < sizeof states / sizeof *states &&
           (strlen(states[i].name) != n || strncmp(states[i].name, p, n)))
      i++;
    if (i == sizeof states / sizeof *states) {
      api_fail(c, 400, "query \"state\": a comma list of wanted, unowned, "
                       "backoff", "state");
      return -1;
    }
    *only |= states[i].flag;
    p += n;
    if (*p == ',') p++;
  }
  return 0;
}

void api_agents_list(api_call *c) {
  arec_agent_filter f = AREC_AGENT_FILTER_INIT;
  long long limit = 50, uid = 0;
  const char *q = api_query(c, "limit");
  if (q && arec_json_parse_int(q, 1, 1000, &limit) != 0) {
    api_fail(c, 400, "query \"limit\": an integer 1..1000", "limit");
    return;
  }
  const char *after = api_query(c, "after");
  if (after && *after && !arec_agent_id_valid(after)) {
    api_fail(c, 400, "query \"after\": an agent id", "after");
    return;
  }
  q = api_query(c, "user_id");
  if (q && arec_json_parse_int(q, 1, AREC_JSON_INT_MAX, &uid) != 0) {
    api_fail(c, 400, "query \"user_id\": a positive integer", "user_id");
    return;
  }
  /* the fleet page's views: one pod's agents, and by state */
  const char *running_on = api_query(c, "running_on");
  unsigned int only = 0;
  if (agents_state(c, api_query(c, "state"), &only) != 0) return;
  f.after = after && *after ? after : NULL;
  f.limit = (unsigned)limit;
  f.user_id = uid;
  f.running_on = running_on && *running_on ? running_on : NULL;
  f.only = only;
  f.with_symbols = 1;
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_agent_record *list = NULL;
  size_t n = 0;
  arec_svc_agent_list(c->api->svc, c->who, &f, &list, &n, &res);
  if (!api_failed(c, &res)) {
    /* {"agents":[...],"next":id|null}, written without a cJSON tree */
    api_buf b = {NULL, 0, 0, 0};
    api_buf_str(&b, "{\"agents\":[");
    for (size_t i = 0; i < n; i++) {
      if (i) api_buf_put(&b, ",", 1);
      api_agent_write(&b, &list[i]);
    }
    api_buf_str(&b, "],\"next\":");
    if (n == (size_t)limit && n)
      api_buf_quoted(&b, list[n - 1].id);
    else
      api_buf_str(&b, "null");
    api_buf_put(&b, "}", 1);
    api_json_text(c, 200, &b);
  }
  arec_agent_records_free(list, n);
}

/* ------------------------------------------------------------- creation */
void api_agent_create(api_call *c) {
  cJSON *b = api_body(c);
  if (!b) return;
  arec_svc_agent_new spec;
  memset(&spec, 0, sizeof spec);
  char *params = NULL;
  const cJSON *pj = cJSON_GetObjectItemCaseSensitive(b, "params");
  if (api_int(c, b, "user_id", 1, AREC_JSON_INT_MAX, &spec.user_id) ||
      api_str(c, b, "strategy", 256, &spec.strategy) ||
      api_str(c, b, "name", NAME_MAX_BYTES, &spec.name) ||
      api_opt_str(c, b, "id", AREC_AGENT_ID_MAX, &spec.id) < 0 ||
      api_opt_str(c, b, "mode", 16, &spec.mode) < 0)
    goto out;
  if (spec.id && !arec_agent_id_valid(spec.id)) {
    api_bad_field(c, "id", "[A-Za-z0-9_-]{1,64}, not \"start\" or \"stop\"");
    goto out;
  }
  if (pj && !cJSON_IsNull(pj)) {
    if (!cJSON_IsObject(pj)) {
      api_bad_field(c, "params", "a JSON object");
      goto out;
    }
    params = cJSON_PrintUnformatted(pj);
    if (!params) {
      api_fail(c, 500, "out of memory", NULL);
      goto out;
    }
  }
  spec.params = params;
  char id[AREC_AGENT_ID_MAX + 8] = "";
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_agent_create(c->api->svc, c->who, &spec, id, sizeof id, &res);
  if (!api_failed(c, &res)) {
    cJSON *j = id_object(id);
    if (j) {
      arec_json_add_int(j, "user_id", spec.user_id);
      cJSON_AddStringToObject(j, "strategy", spec.strategy);
      cJSON_AddStringToObject(j, "name", spec.name);
      /* the mode the service decided, as GET shows it */
      arec_agent_record *a = NULL;
      memset(&res, 0, sizeof res);
      if (arec_svc_agent_get(c->api->svc, c->who, id, &a, &res) == 0 && a)
        cJSON_AddStringToObject(j, "mode",
                                arec_svc_agent_is_live(a) ? "live" : "paper");
      arec_agent_records_free(a, a ? 1 : 0);
    }
    api_json(c, 201, j);
  }
out:
  free(params);
  cJSON_Delete(b);
}

void api_agent_assign(api_call *c) {
  cJSON *b = api_body(c);
  if (!b) return;
  const char *symbol;
  double balance = 0;
  if (api_str(c, b, "symbol", 64, &symbol) == 0) {
    if (arec_json_get_number(b, "balance", &balance) != 0 || !(balance > 0)) {
      api_bad_field(c, "balance", "required, a number > 0");
    } else {
      arec_svc_result res;
      memset(&res, 0, sizeof res);
      arec_svc_agent_assign(c->api->svc, c->who, c->id, symbol, balance, &res);
      if (!api_failed(c, &res)) {
        cJSON *j = id_object(c->id);
        if (j) {
          cJSON_AddStringToObject(j, "symbol", symbol);
          cJSON_AddNumberToObject(j, "balance", balance);
        }
        api_json(c, 201, j);
      }
    }
  }
  cJSON_Delete(b);
}

void api_agent_unassign(api_call *c) {
  cJSON *b = api_body(c);
  if (!b) return;
  const char *symbol;
  if (api_str(c, b, "symbol", 64, &symbol) == 0) {
    arec_svc_result res;
    memset(&res, 0, sizeof res);
    arec_svc_agent_unassign(c->api->svc, c->who, c->id, symbol, &res);
    if (!api_failed(c, &res)) {
      cJSON *j = id_object(c->id);
      if (j) {
        cJSON_AddStringToObject(j, "symbol", symbol);
        cJSON_AddBoolToObject(j, "unassigned", 1);
      }
      api_json(c, 200, j);
    }
  }
  cJSON_Delete(b);
}

void api_agent_delete(api_call *c) {
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_agent_delete(c->api->svc, c->who, c->id, &res);
  id_flag(c, &res, "deleted", 1);
}

/* ------------------------------------------------------------ the wish */
void api_agent_start(api_call *c) {
  char pod[128] = "";
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_agent_start(c->api->svc, c->who, c->id, pod, sizeof pod, &res);
  if (api_failed(c, &res)) return;
  cJSON *j = id_object(c->id);
  if (j) {
    arec_json_add_string_or_null(j, "running_on", pod[0] ? pod : NULL);
    if (res.status == 202 && res.message[0])
      cJSON_AddStringToObject(j, "message", res.message);
  }
  api_json(c, res.status == 202 ? 202 : 200, j);
}

void api_agent_stop(api_call *c) {
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_agent_stop(c->api->svc, c->who, c->id, &res);
  id_flag(c, &res, "is_trading", 0);
}

static void set_active(api_call *c, int active) {
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_agent_set_active(c->api->svc, c->who, c->id, active, &res);
  id_flag(c, &res, "is_active", active);
}

void api_agent_enable(api_call *c) { set_active(c, 1); }
void api_agent_disable(api_call *c) { set_active(c, 0); }

void api_agent_migrate(api_call *c) {
  cJSON *b = api_body(c);
  if (!b) return;
  const char *to;
  if (api_str(c, b, "to", 127, &to) == 0) {
    arec_svc_result res;
    memset(&res, 0, sizeof res);
    arec_svc_agent_migrate(c->api->svc, c->who, c->id, to, &res);
    if (!api_failed(c, &res)) {
      cJSON *j = id_object(c->id);
      if (j) {
        cJSON_AddStringToObject(j, "to", to);
        cJSON_AddStringToObject(j, "status", "migrating");
      }
      api_json(c, 202, j);
    }
  }
  cJSON_Delete(b);
}
