/*
 * exchange_orders.c -- orders and trades of the exchange client: new
 * orders (MARKET, or LIMIT GTC) with a FULL answer (fills with their
 * commissions), lookup and cancel by origClientOrderId, the open orders,
 * all orders from an order id or in a time window, and the account's
 * trades of a symbol by order id or since a time.
 *
 * Every call goes through arec__xrequest() (breaker, signing, errors); a
 * new order the exchange refuses is counted in the hub by reason.  Sends
 * quantities and prices only as the decimal strings it is given (already
 * within the symbol's rules), never a formatted double.  Never logs.
 */
#include "trading/exchange_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

static void str_field(char *out, size_t len, const cJSON *j, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  if (cJSON_IsString(v)) snprintf(out, len, "%s", v->valuestring);
}

static long long ll_field(const cJSON *j, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  if (cJSON_IsNumber(v)) return (long long)v->valuedouble;
  if (cJSON_IsString(v)) return strtoll(v->valuestring, NULL, 10);
  return 0;
}

static int parse_order(const cJSON *j, arec_order *out) {
  const cJSON *fills, *f;
  memset(out, 0, sizeof *out);
  str_field(out->client_id, sizeof out->client_id, j, "clientOrderId");
  /* a cancel's answer: clientOrderId is the cancel's own id */
  str_field(out->client_id, sizeof out->client_id, j, "origClientOrderId");
  str_field(out->status, sizeof out->status, j, "status");
  str_field(out->side, sizeof out->side, j, "side");
  str_field(out->type, sizeof out->type, j, "type");
  out->order_id = ll_field(j, "orderId");
  out->time_ms = ll_field(j, "transactTime");
  if (!out->time_ms) out->time_ms = ll_field(j, "time");
  arec__xnum(j, "origQty", &out->orig_qty);
  if (arec__xnum(j, "executedQty", &out->executed_qty) != 0 ||
      arec__xnum(j, "cummulativeQuoteQty", &out->quote_qty) != 0 ||
      !out->status[0]) {
    arec_error_set("exchange order answer malformed");
    return AREC_EBACKEND;
  }
  fills = cJSON_GetObjectItemCaseSensitive(j, "fills");
  cJSON_ArrayForEach(f, fills) {
    arec_xfill *x;
    if (out->nfills == AREC_ORDER_FILLS_MAX) {
      out->fills_truncated = 1;
      break;
    }
    x = &out->fills[out->nfills];
    memset(x, 0, sizeof *x);
    if (arec__xnum(f, "price", &x->price) != 0 ||
        arec__xnum(f, "qty", &x->qty) != 0) {
      out->fills_truncated = 1; /* a fill we cannot read: ask for trades */
      continue;
    }
    arec__xnum(f, "commission", &x->commission);
    str_field(x->commission_asset, sizeof x->commission_asset, f,
              "commissionAsset");
    x->trade_id = ll_field(f, "tradeId");
    out->nfills++;
  }
  return 0;
}

static int order_call(arec_exchange *x, const char *method, const char *params,
                      arec_order *out) {
  cJSON *j;
  int rc = arec__xrequest(x, method, "/api/v3/order", params, 1, &j);
  if (rc) return rc;
  rc = parse_order(j, out);
  cJSON_Delete(j);
  return rc;
}

/* A positive plain decimal ("0.001", "12"). */
static int decimal_ok(const char *s) {
  int digits = 0, nonzero = 0, points = 0;
  if (!s || !*s || strlen(s) > 40) return 0;
  for (; *s; s++) {
    if (*s == '.') points++;
    else if (isdigit((unsigned char)*s)) {
      digits++;
      if (*s != '0') nonzero = 1;
    } else return 0;
  }
  return digits && nonzero && points <= 1;
}

int arec_exchange_order_place(arec_exchange *x, const char *symbol,
                              const char *side, const char *qty,
                              const char *price, const char *client_id,
                              arec_order *out) {
  char s[64], p[384];
  int rc = arec__xsym_param(s, sizeof s, symbol);
  if (rc) return rc;
  if ((strcmp(side, "BUY") && strcmp(side, "SELL")) || !decimal_ok(qty) ||
      (price && !decimal_ok(price)) ||
      !arec__client_order_id_valid(client_id)) {
    arec_error_set("order refused locally: bad side, quantity, price or "
                   "client order id");
    return AREC_EINVAL;
  }
  if (price)
    snprintf(p, sizeof p,
             "%s&side=%s&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s"
             "&newClientOrderId=%s&newOrderRespType=FULL",
             s, side, qty, price, client_id);
  else
    snprintf(p, sizeof p,
             "%s&side=%s&type=MARKET&quantity=%s&newClientOrderId=%s"
             "&newOrderRespType=FULL",
             s, side, qty, client_id);
  rc = order_call(x, "POST", p, out);
  if (rc == AREC_EBACKEND) {
    const char *msg;
    long code = arec_exchange_last_error(x, &msg);
    /* an error answer: refused (a 200 we could not read is no rejection:
     * its outcome is unknown) */
    if (code) arec__hub_rejection(arec__xhub(x), arec__xreject_reason(code, msg));
  }
  return rc;
}

/* The order of symbol with origClientOrderId client_id, by method (GET:
 * look it up, DELETE: cancel it). */
static int by_client_id(arec_exchange *x, const char *method,
                        const char *symbol, const char *client_id,
                        arec_order *out) {
  char s[64], p[160];
  int rc = arec__xsym_param(s, sizeof s, symbol);
  if (rc) return rc;
  if (!arec__client_order_id_valid(client_id)) return AREC_EINVAL;
  snprintf(p, sizeof p, "%s&origClientOrderId=%s", s, client_id);
  return order_call(x, method, p, out);
}

int arec_exchange_order_query(arec_exchange *x, const char *symbol,
                              const char *client_id, arec_order *out) {
  return by_client_id(x, "GET", symbol, client_id, out);
}

int arec_exchange_order_cancel(arec_exchange *x, const char *symbol,
                               const char *client_id, arec_order *out) {
  return by_client_id(x, "DELETE", symbol, client_id, out);
}

/* ------------------------------------------------------------------ lists */
/* One element of a list answer into dst: 0, or nonzero when it is
 * unreadable (skipped, never half-applied). */
typedef int (*list_el)(const cJSON *e, void *dst);

static int order_el(const cJSON *e, void *dst) { return parse_order(e, dst); }

static int trade_el(const cJSON *e, void *dst) {
  arec_xtrade *t = dst;
  memset(t, 0, sizeof *t);
  t->id = ll_field(e, "id");
  t->order_id = ll_field(e, "orderId");
  t->time_ms = ll_field(e, "time");
  t->is_buyer = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "isBuyer"));
  if (arec__xnum(e, "price", &t->price) != 0 ||
      arec__xnum(e, "qty", &t->qty) != 0 || t->id <= 0)
    return -1;
  arec__xnum(e, "quoteQty", &t->quote_qty);
  arec__xnum(e, "commission", &t->commission);
  str_field(t->commission_asset, sizeof t->commission_asset, e,
            "commissionAsset");
  return 0;
}

/* GET path?params (signed), whose answer must be a JSON array of `what`:
 * its readable elements, `size` bytes each, in a new array (*n of them;
 * NULL, with *rc set, when the call failed). */
static void *get_list(arec_exchange *x, const char *path, const char *params,
                      const char *what, size_t size, list_el parse, size_t *n,
                      int *rc) {
  cJSON *j, *e;
  size_t k = 0;
  *n = 0;
  *rc = arec__xrequest(x, "GET", path, params, 1, &j);
  if (*rc) return NULL;
  if (!cJSON_IsArray(j)) {
    cJSON_Delete(j);
    arec_error_set("exchange %s list answer malformed", what);
    *rc = AREC_EBACKEND;
    return NULL;
  }
  size_t cap = (size_t)cJSON_GetArraySize(j);
  char *v = calloc(cap ? cap : 1, size);
  if (!v) {
    cJSON_Delete(j);
    *rc = AREC_ENOMEM;
    return NULL;
  }
  cJSON_ArrayForEach(e, j) {
    if (k < cap && parse(e, v + k * size) == 0) k++;
  }
  cJSON_Delete(j);
  *n = k;
  return v;
}

int arec_exchange_orders(arec_exchange *x, const char *symbol, int which,
                         long long from_order_id, long long start_ms,
                         arec_order **out, size_t *n) {
  char s[64], p[256];
  int rc = arec__xsym_param(s, sizeof s, symbol);
  *out = NULL;
  *n = 0;
  if (rc) return rc;
  if (!which)
    snprintf(p, sizeof p, "%s", s);
  else if (from_order_id > 0)
    snprintf(p, sizeof p, "%s&orderId=%lld&limit=1000", s, from_order_id);
  else
    snprintf(p, sizeof p, "%s&startTime=%lld&endTime=%lld&limit=1000", s,
             start_ms, start_ms + DAY_MS - 1);
  *out = get_list(x, which ? "/api/v3/allOrders" : "/api/v3/openOrders", p,
                  "order", sizeof **out, order_el, n, &rc);
  return rc;
}

int arec_exchange_my_trades(arec_exchange *x, const char *symbol,
                            long long order_id, long long start_ms,
                            arec_xtrade **out, size_t *n) {
  char s[64], p[256];
  int rc = arec__xsym_param(s, sizeof s, symbol);
  *out = NULL;
  *n = 0;
  if (rc) return rc;
  if (order_id > 0)
    snprintf(p, sizeof p, "%s&orderId=%lld&limit=1000", s, order_id);
  else
    snprintf(p, sizeof p, "%s&startTime=%lld&endTime=%lld&limit=1000", s,
             start_ms, start_ms + DAY_MS - 1);
  *out = get_list(x, "/api/v3/myTrades", p, "trade", sizeof **out, trade_el,
                  n, &rc);
  return rc;
}
