/*
 * api_reports.c -- the admin API's trader reports of one user, read-only
 * (the read token may call them): GET /api/users/{uid}/balance, /trades
 * (?limit=1..200, default 10), /daily (?days=1..90, default 7) and
 * /performance.
 *
 * How: one service read (service_reports.c), its rows as JSON arrays; the
 * balance adds a total per quote asset.  Never: call the store or the
 * manager, print an integer through a double.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

/* The query argument `name` as an integer in [min, max], else `def`:
 * 0, or -1 after a 400 naming it. */
static int query_int(api_call *c, const char *name, long long min,
                     long long max, long long def, long long *out) {
  const char *q = api_query(c, name);
  *out = def;
  if (!q) return 0;
  if (arec_json_parse_int(q, min, max, out) == 0) return 0;
  char msg[96];
  snprintf(msg, sizeof msg, "query \"%s\": an integer %lld..%lld", name, min,
           max);
  api_fail(c, 400, msg, name);
  return -1;
}

void api_balance(api_call *c) {
  arec_svc_balance *v = NULL;
  size_t n = 0;
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_balance_list(c->api->svc, c->who, c->uid, &v, &n, &res);
  if (api_failed(c, &res)) return;
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = j ? cJSON_AddArrayToObject(j, "agents") : NULL;
  cJSON *tot = j ? cJSON_AddObjectToObject(j, "total") : NULL;
  for (size_t i = 0; arr && tot && i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    if (!o) break;
    double value = v[i].cash + v[i].positions;
    cJSON_AddStringToObject(o, "agent_id", v[i].agent_id);
    cJSON_AddStringToObject(o, "mode", v[i].live ? "live" : "paper");
    cJSON_AddStringToObject(o, "quote", v[i].quote);
    cJSON_AddNumberToObject(o, "budget", v[i].budget);
    cJSON_AddNumberToObject(o, "cash", v[i].cash);
    cJSON_AddNumberToObject(o, "positions", v[i].positions);
    cJSON_AddNumberToObject(o, "value", value);
    cJSON_AddItemToArray(arr, o);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(tot, v[i].quote);
    if (t)
      cJSON_SetNumberValue(t, t->valuedouble + value);
    else
      cJSON_AddNumberToObject(tot, v[i].quote, value);
  }
  free(v);
  api_json(c, 200, j);
}

void api_trades(api_call *c) {
  long long limit;
  if (query_int(c, "limit", 1, 200, 10, &limit)) return;
  arec_svc_fill *v = NULL;
  size_t n = 0;
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_trades(c->api->svc, c->who, c->uid, (unsigned)limit, &v, &n, &res);
  if (api_failed(c, &res)) return;
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = j ? cJSON_AddArrayToObject(j, "trades") : NULL;
  for (size_t i = 0; arr && i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    if (!o) break;
    arec_json_add_time(o, "time", v[i].t_ms);
    cJSON_AddStringToObject(o, "agent_id", v[i].agent_id);
    cJSON_AddStringToObject(o, "symbol", v[i].symbol);
    cJSON_AddStringToObject(o, "side", v[i].side);
    cJSON_AddNumberToObject(o, "qty", v[i].qty);
    cJSON_AddNumberToObject(o, "price", v[i].price);
    cJSON_AddNumberToObject(o, "fee", v[i].fee);
    cJSON_AddItemToArray(arr, o);
  }
  free(v);
  api_json(c, 200, j);
}

void api_daily(api_call *c) {
  long long days;
  if (query_int(c, "days", 1, 90, 7, &days)) return;
  arec_svc_day *v = NULL;
  size_t n = 0;
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_daily(c->api->svc, c->who, c->uid, (unsigned)days, &v, &n, &res);
  if (api_failed(c, &res)) return;
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = j ? cJSON_AddArrayToObject(j, "days") : NULL;
  for (size_t i = 0; arr && i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    if (!o) break;
    cJSON_AddStringToObject(o, "date", v[i].date);
    cJSON_AddStringToObject(o, "quote", v[i].quote);
    cJSON_AddNumberToObject(o, "realized", v[i].realized);
    cJSON_AddNumberToObject(o, "fees", v[i].fees);
    arec_json_add_int(o, "trades", v[i].trades);
    cJSON_AddItemToArray(arr, o);
  }
  free(v);
  api_json(c, 200, j);
}

void api_performance(api_call *c) {
  arec_svc_perf *v = NULL;
  size_t n = 0;
  arec_svc_result res;
  memset(&res, 0, sizeof res);
  arec_svc_performance(c->api->svc, c->who, c->uid, &v, &n, &res);
  if (api_failed(c, &res)) return;
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = j ? cJSON_AddArrayToObject(j, "symbols") : NULL;
  for (size_t i = 0; arr && i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    if (!o) break;
    cJSON_AddStringToObject(o, "symbol", v[i].symbol);
    cJSON_AddStringToObject(o, "quote", v[i].quote);
    cJSON_AddNumberToObject(o, "realized", v[i].realized);
    cJSON_AddNumberToObject(o, "open", v[i].open);
    cJSON_AddNumberToObject(o, "fees", v[i].fees);
    cJSON_AddNumberToObject(o, "position", v[i].position);
    arec_json_add_int(o, "trades", (long long)v[i].trades);
    cJSON_AddItemToArray(arr, o);
  }
  free(v);
  api_json(c, 200, j);
}
