/*
 * api_admin.c -- the admin API's other routes: users, exchange accounts
 * (add, list, remove; the supported exchanges), trading pairs, stopping
 * all of a user's agents, this pod's runners, the live pods, the
 * strategies and the audit trail.
 *
 * How: as api_agents.c -- strict body, one service call, the API's shape.
 * The pods come from the service's administrative repository; the runners
 * are the one read of the manager the API makes (they are this process's
 * own state), at most RUNNERS_AT_ONCE of them at a time (503 with
 * Retry-After beyond).
 *
 * Never: echo an exchange key or secret (the answer names the account by
 * id, exchange and testnet only), or print an integer through a double.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"

/* ---------------------------------------------------------- users, pairs */
void api_user_upsert(api_call *c) {
  cJSON *b = api_body(c);
  if (!b) return;
  long long id;
  const char *name;
  if (api_int(c, b, "id", 1, AREC_JSON_INT_MAX, &id) == 0 &&
      api_str(c, b, "name", 1000, &name) == 0) {
    arec_svc_result res;
    memset(&res, 0, sizeof res);
    arec_svc_user_upsert(c->api->svc, c->who, id, name, &res);
    if (!api_failed(c, &res)) {
      cJSON *j = cJSON_CreateObject();
      if (j) {
        arec_json_add_int(j, "id", id);
        cJSON_AddStringToObject(j, "name", name);
      }
      api_json(c, 201, j);
    }
  }
  cJSON_Delete(b);
}

void api_exchange_add(api_call *c) {
  cJSON *b = api_body(c);
  if (!b) return;
  const char *exchange, *key, *secret;
  int testnet = 1;
  if (api_str(c, b, "exchange", 64, &exchange) ||
      api_str(c, b, "api_key", 1024, &key) ||
      api_str(c, b, "api_secret", 1024, &secret))
    goto out;
  if (arec_json_get_bool(b, "testnet", &testnet) < 0) {
    api_bad_field(c, "testnet", "a boolean");
    goto out;
  }
  long long id = 0;
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_exchange_add(c->api->svc, c->who, c->uid, exchange, key, secret,
                        testnet, &id, &res);
  if (!api_failed(c, &res)) {
    cJSON *j = cJSON_CreateObject();
    if (j) {
      arec_json_add_int(j, "id", id);
      arec_json_add_int(j, "user_id", c->uid);
      cJSON_AddStringToObject(j, "exchange", exchange);
      cJSON_AddBoolToObject(j, "testnet", testnet);
    }
    api_json(c, 201, j);
  }
out:
  cJSON_Delete(b);
}

void api_exchange_list(api_call *c) {
  arec_host_exchange *v = NULL;
  size_t n = 0;
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_exchange_list(c->api->svc, c->who, c->uid, &v, &n, &res);
  if (!api_failed(c, &res)) {
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "exchanges") : NULL;
    for (size_t i = 0; arr && i < n; i++) {
      cJSON *o = cJSON_CreateObject();
      if (!o) break;
      arec_json_add_int(o, "id", v[i].id);
      arec_json_add_int(o, "user_id", v[i].user_id);
      cJSON_AddStringToObject(o, "exchange", v[i].exchange);
      cJSON_AddBoolToObject(o, "testnet", v[i].testnet);
      cJSON_AddItemToArray(arr, o);
    }
    api_json(c, 200, j);
  }
  free(v);
}

void api_exchange_remove(api_call *c) {
  long long id = 0;
  if (arec_json_parse_int(c->id, 1, AREC_JSON_INT_MAX, &id) != 0) {
    api_fail(c, 400, "path \"id\": an exchange account id (a positive "
                     "integer)", "id");
    return;
  }
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_exchange_remove(c->api->svc, c->who, c->uid, id, &res);
  if (api_failed(c, &res)) return;
  cJSON *j = cJSON_CreateObject();
  if (j) {
    arec_json_add_int(j, "id", id);
    arec_json_add_int(j, "user_id", c->uid);
    cJSON_AddBoolToObject(j, "removed", 1);
  }
  api_json(c, 200, j);
}

void api_exchanges(api_call *c) {
  const char *const *ex = arec_svc_exchanges();
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = j ? cJSON_AddArrayToObject(j, "exchanges") : NULL;
  for (size_t i = 0; arr && ex && ex[i]; i++)
    cJSON_AddItemToArray(arr, cJSON_CreateString(ex[i]));
  api_json(c, 200, j);
}

void api_stop_all(api_call *c) {
  size_t n = 0;
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_stop_all(c->api->svc, c->who, c->uid, &n, &res);
  if (api_failed(c, &res)) return;
  cJSON *j = cJSON_CreateObject();
  if (j) {
    arec_json_add_int(j, "user_id", c->uid);
    arec_json_add_int(j, "stopped", (long long)n);
  }
  api_json(c, 200, j);
}

void api_pair_add(api_call *c) {
  cJSON *b = api_body(c);
  if (!b) return;
  long long exid;
  const char *symbol;
  if (api_int(c, b, "exchange_id", 1, AREC_JSON_INT_MAX, &exid) == 0 &&
      api_str(c, b, "symbol", 64, &symbol) == 0) {
    long long id = 0;
    arec_svc_result res;
    memset(&res, 0, sizeof res);
    arec_svc_pair_add(c->api->svc, c->who, c->uid, exid, symbol, &id, &res);
    if (!api_failed(c, &res)) {
      cJSON *j = cJSON_CreateObject();
      if (j) {
        arec_json_add_int(j, "id", id);
        arec_json_add_int(j, "user_id", c->uid);
        arec_json_add_int(j, "exchange_id", exid);
        cJSON_AddStringToObject(j, "symbol", symbol);
      }
      api_json(c, 201, j);
    }
  }
  cJSON_Delete(b);
}

/* ------------------------------------------------------- runners, pods */
/* A list of every runner costs the pod in proportion to its agents (a copy
 * of the table, its JSON, its sending): at most this many are made at
 * once in this process; the others are told to come back. */
#define RUNNERS_AT_ONCE 2
static atomic_uint runners_busy;

static void runners_answer(api_call *c);

void api_runners(api_call *c) {
  if (atomic_fetch_add(&runners_busy, 1) >= RUNNERS_AT_ONCE) {
    atomic_fetch_sub(&runners_busy, 1);
    api_fail(c, 503, "the runners are being listed for other requests; retry",
             NULL);
    c->out->extra[0].name = "Retry-After";
    c->out->extra[0].value = "1";
    return;
  }
  runners_answer(c);
  atomic_fetch_sub(&runners_busy, 1);
}

static void runners_answer(api_call *c) {
  arec_runner_info *r = NULL;
  size_t n = 0;
  if (arec_manager_runners(c->api->mgr, &r, &n) != 0) {
    api_fail(c, 503, "runners unavailable", NULL);
    return;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = NULL;
  if (j) {
    cJSON_AddStringToObject(j, "pod", c->api->pod ? c->api->pod : "");
    arr = cJSON_AddArrayToObject(j, "runners");
  }
  for (size_t i = 0; arr && i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    if (!o) break;
    cJSON_AddStringToObject(o, "agent_id", r[i].agent_id ? r[i].agent_id : "");
    cJSON_AddStringToObject(o, "strategy", r[i].strategy ? r[i].strategy : "");
    arec_json_add_int(o, "fence", (long long)r[i].fence);
    arec_json_add_int(o, "validity_ms", r[i].validity_ms);
    arec_json_add_int(o, "started_at_ms", r[i].started_at_ms);
    arec_json_add_int(o, "steps", (long long)r[i].steps);
    cJSON_AddItemToArray(arr, o);
  }
  arec_runner_info_free(r, n);
  api_json(c, 200, j);
}

static long long wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void api_pods(api_call *c) {
  arec_pod_record *p = NULL;
  size_t n = 0;
  int rc = arec_pod_list(arec_svc_repository(c->api->svc), &p, &n);
  if (rc != 0) {
    api_fail(c, rc == AREC_EUNAVAILABLE || rc == AREC_ETIMEDOUT ? 503 : 500,
             "the pods cannot be read now; retry", NULL);
    return;
  }
  cJSON *j = cJSON_CreateObject();
  /* the serving pod's clock, to read lease_until against */
  if (j) arec_json_add_time(j, "now", wall_ms());
  cJSON *arr = j ? cJSON_AddArrayToObject(j, "pods") : NULL;
  for (size_t i = 0; arr && i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    if (!o) break;
    cJSON_AddStringToObject(o, "name", p[i].name ? p[i].name : "");
    cJSON_AddStringToObject(o, "incarnation",
                            p[i].incarnation ? p[i].incarnation : "");
    arec_json_add_time(o, "lease_until", p[i].lease_until_ms);
    cJSON_AddBoolToObject(o, "leaving", p[i].leaving);
    arec_json_add_int(o, "agents", (long long)p[i].agents);
    cJSON_AddItemToArray(arr, o);
  }
  arec_pod_records_free(p, n);
  api_json(c, 200, j);
}

/* ------------------------------------------------- strategies, audit */
void api_strategies(api_call *c) {
  char **names = NULL;
  size_t n = 0;
  if (arec_svc_strategies(c->api->svc, &names, &n) != 0) {
    api_fail(c, 500, "strategies unavailable", NULL);
    return;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = j ? cJSON_AddArrayToObject(j, "strategies") : NULL;
  for (size_t i = 0; arr && i < n; i++)
    cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
  arec_strings_free(names, n);
  api_json(c, 200, j);
}

void api_audit(api_call *c) {
  long long after = 0, before = 0, limit = 100;
  const char *q = api_query(c, "after");
  if (q && *q && arec_json_parse_int(q, 0, AREC_JSON_INT_MAX, &after) != 0) {
    api_fail(c, 400, "query \"after\": an event id (an integer >= 0)",
             "after");
    return;
  }
  q = api_query(c, "limit");
  if (q && arec_json_parse_int(q, 1, 1000, &limit) != 0) {
    api_fail(c, 400, "query \"limit\": an integer 1..1000", "limit");
    return;
  }
  /* the fleet page's "recent takeovers": action, newest first, before */
  arec_svc_audit_filter f;
  memset(&f, 0, sizeof f);
  q = api_query(c, "before");
  if (q && *q && arec_json_parse_int(q, 1, AREC_JSON_INT_MAX, &before) != 0) {
    api_fail(c, 400, "query \"before\": an event id (an integer >= 1)",
             "before");
    return;
  }
  q = api_query(c, "order");
  if (q && strcmp(q, "asc") != 0 && strcmp(q, "desc") != 0) {
    api_fail(c, 400, "query \"order\": asc or desc", "order");
    return;
  }
  f.newest_first = q && !strcmp(q, "desc");
  q = api_query(c, "action");
  f.action = q && *q ? q : NULL;
  f.after = after;
  f.before = before;
  f.limit = (unsigned)limit;
  arec_svc_event *ev = NULL;
  size_t n = 0;
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_audit_query(c->api->svc, c->who, &f, &ev, &n, &res);
  if (!api_failed(c, &res)) {
    cJSON *j = cJSON_CreateObject();
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "events") : NULL;
    for (size_t i = 0; arr && i < n; i++) {
      cJSON *o = cJSON_CreateObject();
      if (!o) break;
      arec_json_add_int(o, "id", ev[i].id);
      arec_json_add_string_or_null(o, "time", ev[i].time);
      arec_json_add_string_or_null(o, "actor", ev[i].actor);
      arec_json_add_string_or_null(o, "action", ev[i].action);
      arec_json_add_string_or_null(o, "agent_id", ev[i].agent_id);
      if (ev[i].user_id)
        arec_json_add_int(o, "user_id", ev[i].user_id);
      else
        cJSON_AddNullToObject(o, "user_id");
      arec_json_add_string_or_null(o, "result", ev[i].result);
      cJSON_AddItemToArray(arr, o);
    }
    if (j) {
      if (n == (size_t)limit && n)
        arec_json_add_int(j, "next", ev[n - 1].id);
      else
        cJSON_AddNullToObject(j, "next");
    }
    api_json(c, 200, j);
  }
  arec_svc_events_free(ev, n);
}
