/*
 * fake_exchange_orders.c -- the order book of the fake exchange (see
 * fake_exchange.h): per-symbol filters and exchangeInfo, new orders checked
 * against the filters (fixed-point arithmetic on the raw strings, as the
 * exchange does) and the balances, MARKET fills with commissions in one or
 * more trades, resting LIMIT orders, cancel, lookups, and the lists
 * openOrders / allOrders / myTrades.
 *
 * Called by fake_exchange.c with the signature checked; everything under
 * the fake's mutex.  Tests only: never a model of matching, only of the
 * answers a client must handle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_exchange_int.h"

/* --------------------------------------------------------------- numbers */
/* A decimal string in units of 1e-8; 0, -1 malformed, -2 more than 8
 * decimals. */
static int fixed(const char *s, long long *out) {
  long long v = 0;
  int dec = -1;
  *out = 0;
  if (!s || !*s) return -1;
  for (; *s; s++) {
    if (*s == '.') {
      if (dec >= 0) return -1;
      dec = 0;
      continue;
    }
    if (*s < '0' || *s > '9') return -1;
    if (dec >= 0 && ++dec > 8) {
      if (*s != '0') return -2;
      continue;
    }
    if (v > 90000000000000000LL) return -1;
    v = v * 10 + (*s - '0');
  }
  for (int d = dec < 0 ? 0 : dec; d < 8; d++) v *= 10;
  *out = v;
  return 0;
}

static void setf(char *dst, size_t len, long long *v, const char *src) {
  dst[0] = '\0';
  *v = 0;
  if (src && *src && fixed(src, v) == 0) snprintf(dst, len, "%s", src);
}

void fx_filters_default(fx_filters *f, const char *sym) {
  size_t n = strlen(sym);
  memset(f, 0, sizeof *f);
  setf(f->s_step, sizeof f->s_step, &f->step, "0.00000001");
  setf(f->s_min, sizeof f->s_min, &f->min_qty, "0.00000001");
  setf(f->s_max, sizeof f->s_max, &f->max_qty, "9000000000");
  setf(f->s_tick, sizeof f->s_tick, &f->tick, "0.01");
  setf(f->s_notional, sizeof f->s_notional, &f->min_notional, "1");
  f->notional_market = 1;
  if (n > 4 && strcmp(sym + n - 4, "USDT") == 0) {
    snprintf(f->base, sizeof f->base, "%.*s", (int)(n - 4), sym);
    snprintf(f->quote, sizeof f->quote, "USDT");
  } else {
    snprintf(f->base, sizeof f->base, "%.3s", sym);
    snprintf(f->quote, sizeof f->quote, "%s", n > 3 ? sym + 3 : "");
  }
}

void arec_fx_set_filters(arec_fx *fx, const char *symbol,
                         const arec_fx_filters *in) {
  pthread_mutex_lock(&fx->mu);
  fx_series *s = fx_series_get(fx, symbol, 1);
  if (s) {
    fx_filters *f = &s->f;
    char base[16], quote[16];
    snprintf(base, sizeof base, "%s", f->base);
    snprintf(quote, sizeof quote, "%s", f->quote);
    setf(f->s_step, sizeof f->s_step, &f->step, in->step);
    setf(f->s_min, sizeof f->s_min, &f->min_qty, in->min_qty);
    setf(f->s_max, sizeof f->s_max, &f->max_qty, in->max_qty);
    setf(f->s_mstep, sizeof f->s_mstep, &f->mstep, in->mstep);
    setf(f->s_mmin, sizeof f->s_mmin, &f->mmin_qty, in->mmin_qty);
    setf(f->s_mmax, sizeof f->s_mmax, &f->mmax_qty, in->mmax_qty);
    setf(f->s_tick, sizeof f->s_tick, &f->tick, in->tick);
    setf(f->s_notional, sizeof f->s_notional, &f->min_notional, in->min_notional);
    f->legacy = in->min_notional_legacy;
    f->notional_market = in->notional_market;
    snprintf(f->base, sizeof f->base, "%s", in->base ? in->base : base);
    snprintf(f->quote, sizeof f->quote, "%s", in->quote ? in->quote : quote);
  }
  pthread_mutex_unlock(&fx->mu);
}

/* ----------------------------------------------------------- exchangeInfo */
static void info_symbol(fx_buf *b, const fx_series *s, int first) {
  const fx_filters *f = &s->f;
  int nf = 0;
  fx_printf(b,
            "%s{\"symbol\":\"%s\",\"status\":\"TRADING\",\"baseAsset\":\"%s\","
            "\"baseAssetPrecision\":8,\"quoteAsset\":\"%s\","
            "\"quotePrecision\":8,\"orderTypes\":[\"LIMIT\",\"MARKET\"],"
            "\"isSpotTradingAllowed\":true,\"filters\":[",
            first ? "" : ",", s->symbol, f->base, f->quote);
  if (f->s_tick[0])
    fx_printf(b, "%s{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"0.00000000\","
                 "\"maxPrice\":\"0.00000000\",\"tickSize\":\"%s\"}",
              nf++ ? "," : "", f->s_tick);
  if (f->s_step[0])
    fx_printf(b, "%s{\"filterType\":\"LOT_SIZE\",\"minQty\":\"%s\","
                 "\"maxQty\":\"%s\",\"stepSize\":\"%s\"}",
              nf++ ? "," : "", f->s_min[0] ? f->s_min : "0.00000000",
              f->s_max[0] ? f->s_max : "9000000000.00000000", f->s_step);
  if (f->s_mstep[0])
    fx_printf(b, "%s{\"filterType\":\"MARKET_LOT_SIZE\",\"minQty\":\"%s\","
                 "\"maxQty\":\"%s\",\"stepSize\":\"%s\"}",
              nf++ ? "," : "", f->s_mmin[0] ? f->s_mmin : "0.00000000",
              f->s_mmax[0] ? f->s_mmax : "9000000000.00000000", f->s_mstep);
  if (f->s_notional[0]) {
    if (f->legacy)
      fx_printf(b, "%s{\"filterType\":\"MIN_NOTIONAL\",\"minNotional\":\"%s\","
                   "\"applyToMarket\":%s,\"avgPriceMins\":5}",
                nf++ ? "," : "", f->s_notional,
                f->notional_market ? "true" : "false");
    else
      fx_printf(b, "%s{\"filterType\":\"NOTIONAL\",\"minNotional\":\"%s\","
                   "\"applyMinToMarket\":%s,\"maxNotional\":\"9000000.00000000\","
                   "\"applyMaxToMarket\":false,\"avgPriceMins\":5}",
                nf++ ? "," : "", f->s_notional,
                f->notional_market ? "true" : "false");
  }
  fx_printf(b, "]}");
}

void fx_exchange_info(arec_fx *fx, const char *sym, unsigned *status,
                      char **body) {
  fx_buf b = {NULL, 0, 0};
  int n = 0;
  pthread_mutex_lock(&fx->mu);
  fx->st.exchange_info++;
  fx_printf(&b, "{\"timezone\":\"UTC\",\"serverTime\":%lld,\"symbols\":[",
            fx_wall_ms());
  for (int i = 0; i < FX_SYMS; i++) {
    const fx_series *s = &fx->syms[i];
    if (!s->symbol[0] || (*sym && strcmp(s->symbol, sym) != 0)) continue;
    info_symbol(&b, s, n++ == 0);
  }
  fx_printf(&b, "]}");
  pthread_mutex_unlock(&fx->mu);
  if (*sym && n == 0) {
    free(b.p);
    *status = 400;
    *body = strdup("{\"code\":-1121,\"msg\":\"Invalid symbol.\"}");
    return;
  }
  *status = 200;
  *body = b.p;
}

/* ------------------------------------------------------------------ JSON */
/* cancel: the answer of a DELETE (clientOrderId is the cancel's own id,
 * the order's is origClientOrderId). */
static void order_json_c(fx_buf *b, const fx_order *o, const fx_trade *fills,
                         size_t nfills, int full, int cancel) {
  if (cancel)
    fx_printf(b, "{\"origClientOrderId\":\"%s\",\"clientOrderId\":\"cxl%lld\",",
              o->client_id, o->id);
  else
    fx_printf(b, "{\"clientOrderId\":\"%s\",", o->client_id);
  fx_printf(b,
            "\"symbol\":\"%s\",\"orderId\":%lld,\"orderListId\":-1,"
            "\"transactTime\":%lld,\"time\":%lld,"
            "\"updateTime\":%lld,\"price\":\"%.8f\",\"origQty\":\"%.8f\","
            "\"executedQty\":\"%.8f\",\"cummulativeQuoteQty\":\"%.8f\","
            "\"status\":\"%s\",\"timeInForce\":\"GTC\",\"type\":\"%s\","
            "\"side\":\"%s\",\"isWorking\":true",
            o->symbol, o->id, o->update_time, o->time, o->update_time,
            o->price, o->qty, o->executed, o->quote, o->status, o->type,
            o->side);
  if (full) {
    fx_printf(b, ",\"fills\":[");
    for (size_t i = 0; i < nfills; i++)
      fx_printf(b,
                "%s{\"price\":\"%.8f\",\"qty\":\"%.8f\",\"commission\":\"%.8f\","
                "\"commissionAsset\":\"%s\",\"tradeId\":%lld}",
                i ? "," : "", fills[i].price, fills[i].qty, fills[i].commission,
                fills[i].asset, fills[i].id);
    fx_printf(b, "]");
  }
  fx_printf(b, "}");
}

static void order_json(fx_buf *b, const fx_order *o, const fx_trade *fills,
                       size_t nfills, int full) {
  order_json_c(b, o, fills, nfills, full, 0);
}

static void trade_json(fx_buf *b, const fx_trade *t, int first) {
  fx_printf(b,
            "%s{\"symbol\":\"%s\",\"id\":%lld,\"orderId\":%lld,"
            "\"orderListId\":-1,\"price\":\"%.8f\",\"qty\":\"%.8f\","
            "\"quoteQty\":\"%.8f\",\"commission\":\"%.8f\","
            "\"commissionAsset\":\"%s\",\"time\":%lld,\"isBuyer\":%s,"
            "\"isMaker\":false,\"isBestMatch\":true}",
            first ? "" : ",", t->symbol, t->id, t->order_id, t->price, t->qty,
            t->qty * t->price, t->commission, t->asset, t->time,
            t->is_buyer ? "true" : "false");
}

static void err(unsigned *status, char **body, unsigned st, int code,
                const char *msg) {
  char b[256];
  snprintf(b, sizeof b, "{\"code\":%d,\"msg\":\"%s\"}", code, msg);
  *status = st;
  *body = strdup(b);
}

/* ----------------------------------------------------------------- fills */
/* One trade of `o` (under mu): balances moved, commission charged. */
static fx_trade *trade(arec_fx *fx, fx_order *o, const fx_filters *f,
                       double qty, double price) {
  fx_trade *t;
  int buy = strcmp(o->side, "BUY") == 0;
  double notional = qty * price;
  if (fx->ntrades == FX_TRADES) return NULL;
  t = &fx->trades[fx->ntrades++];
  memset(t, 0, sizeof *t);
  t->id = fx->next_trade_id++;
  t->order_id = o->id;
  t->time = fx_wall_ms();
  snprintf(t->symbol, sizeof t->symbol, "%s", o->symbol);
  t->price = price;
  t->qty = qty;
  t->is_buyer = buy;
  if (!fx->fee_asset[0]) {
    t->commission = notional * fx->fee_rate;
    snprintf(t->asset, sizeof t->asset, "%s", f->quote);
  } else if (strcmp(fx->fee_asset, "RECEIVED") == 0) {
    t->commission = (buy ? qty : notional) * fx->fee_rate;
    snprintf(t->asset, sizeof t->asset, "%s", buy ? f->base : f->quote);
  } else {
    t->commission = fx->fee_asset_price > 0
                        ? notional * fx->fee_rate / fx->fee_asset_price
                        : notional * fx->fee_rate;
    snprintf(t->asset, sizeof t->asset, "%s", fx->fee_asset);
  }
  /* as the answers show it: 8 decimals */
  t->commission = (double)(long long)(t->commission * 1e8 + 0.5) / 1e8;
  *fx_asset_free(fx, f->base) += buy ? qty : -qty;
  *fx_asset_free(fx, f->quote) += buy ? -notional : notional;
  *fx_asset_free(fx, t->asset) -= t->commission;
  o->executed += qty;
  o->quote += notional;
  o->update_time = t->time;
  fx->st.trades++;
  return t;
}

int arec_fx_fill_open(arec_fx *fx, const char *client_id) {
  int rc = -1;
  pthread_mutex_lock(&fx->mu);
  for (size_t i = 0; i < fx->norders; i++) {
    fx_order *o = &fx->orders[i];
    fx_series *s;
    if (strcmp(o->client_id, client_id) || strcmp(o->status, "NEW")) continue;
    s = fx_series_get(fx, o->symbol, 0);
    if (s && trade(fx, o, &s->f, o->qty - o->executed, o->price)) {
      snprintf(o->status, sizeof o->status, "FILLED");
      rc = 0;
    }
  }
  pthread_mutex_unlock(&fx->mu);
  return rc;
}

/* ------------------------------------------------------------ new orders */
/* The filter an order breaks ("" none). */
static const char *filter_failure(const fx_filters *f, int market,
                                  long long q, long long p, double price) {
  if (f->step && (q < f->min_qty || (f->max_qty && q > f->max_qty) ||
                  (q - f->min_qty) % f->step))
    return "Filter failure: LOT_SIZE";
  if (market && f->mstep &&
      (q < f->mmin_qty || (f->mmax_qty && q > f->mmax_qty) ||
       (q - f->mmin_qty) % f->mstep))
    return "Filter failure: MARKET_LOT_SIZE";
  if (!market && f->tick && p % f->tick) return "Filter failure: PRICE_FILTER";
  if (f->min_notional && (!market || f->notional_market) &&
      (double)q / FX_SCALE * price < (double)f->min_notional / FX_SCALE)
    return f->legacy ? "Filter failure: MIN_NOTIONAL" : "Filter failure: NOTIONAL";
  return "";
}

static void place(arec_fx *fx, const char *params, unsigned *status,
                  char **body, int *hold) {
  char sym[32] = "", side[8] = "", qty[40] = "", price[40] = "", coid[48] = "",
       type[16] = "";
  long long q = 0, p = 0;
  fx_buf b = {NULL, 0, 0};
  fx_order *o;
  size_t first_trade;
  int market, fq, fp = 0;
  pthread_mutex_lock(&fx->mu);
  fx->st.order_posts++;
  snprintf(fx->last_order, sizeof fx->last_order, "%s", params);
  fx_param(params, "symbol", sym, sizeof sym);
  fx_series *s = fx_series_get(fx, sym, 0);
  fx_param(params, "side", side, sizeof side);
  fx_param(params, "type", type, sizeof type);
  fx_param(params, "price", price, sizeof price);
  market = strcmp(type, "MARKET") == 0;
  if (!s || !s->n || !fx_param(params, "quantity", qty, sizeof qty) ||
      !fx_param(params, "newClientOrderId", coid, sizeof coid) ||
      (!market && strcmp(type, "LIMIT")) || (!market && !price[0]) ||
      (strcmp(side, "BUY") && strcmp(side, "SELL")) || strlen(coid) > 36) {
    pthread_mutex_unlock(&fx->mu);
    err(status, body, 400, -1102, "Mandatory parameter was not sent or malformed.");
    return;
  }
  fq = fixed(qty, &q);
  if (!market) fp = fixed(price, &p);
  if (fq == -2 || fp == -2) {
    pthread_mutex_unlock(&fx->mu);
    err(status, body, 400, -1111,
        fq == -2 ? "Parameter 'quantity' has too much precision."
                 : "Parameter 'price' has too much precision.");
    return;
  }
  if (fq || fp || q <= 0 || (!market && p <= 0)) {
    pthread_mutex_unlock(&fx->mu);
    err(status, body, 400, -1102, "Mandatory parameter was not sent or malformed.");
    return;
  }
  for (size_t i = 0; i < fx->norders; i++)
    if (strcmp(fx->orders[i].client_id, coid) == 0) {
      pthread_mutex_unlock(&fx->mu);
      err(status, body, 400, -2010, "Duplicate order sent.");
      return;
    }
  if (fx->reject_n) {
    char m[128];
    int code = fx->reject_code;
    if (fx->reject_n > 0) fx->reject_n--;
    fx->st.rejected++;
    snprintf(m, sizeof m, "%s", fx->reject_msg);
    pthread_mutex_unlock(&fx->mu);
    err(status, body, 400, code, m);
    return;
  }
  double at = market ? fx_last_price(s) : (double)p / FX_SCALE;
  double dq = (double)q / FX_SCALE;
  const char *why = filter_failure(&s->f, market, q, p, at);
  if (*why) {
    fx->st.rejected++;
    pthread_mutex_unlock(&fx->mu);
    err(status, body, 400, -1013, why);
    return;
  }
  int buy = strcmp(side, "BUY") == 0;
  /* a commission in the quote asset on a BUY is paid on top */
  double need = buy ? dq * at * (fx->fee_asset[0] ? 1 : 1 + fx->fee_rate) : dq;
  if (*fx_asset_free(fx, buy ? s->f.quote : s->f.base) + 1e-12 < need) {
    fx->st.rejected++;
    pthread_mutex_unlock(&fx->mu);
    err(status, body, 400, -2010,
        "Account has insufficient balance for requested action.");
    return;
  }
  if (fx->norders >= FX_ORDERS) {
    pthread_mutex_unlock(&fx->mu);
    err(status, body, 400, -2010, "Too many orders.");
    return;
  }
  o = &fx->orders[fx->norders++];
  memset(o, 0, sizeof *o);
  snprintf(o->client_id, sizeof o->client_id, "%s", coid);
  snprintf(o->symbol, sizeof o->symbol, "%s", sym);
  snprintf(o->side, sizeof o->side, "%s", side);
  snprintf(o->type, sizeof o->type, "%s", market ? "MARKET" : "LIMIT");
  snprintf(o->status, sizeof o->status, "NEW");
  o->qty = dq;
  o->price = market ? 0 : at;
  o->id = (long long)fx->norders + 1000;
  o->time = o->update_time = fx_wall_ms();
  fx->st.orders++;
  first_trade = fx->ntrades;
  if (market) {
    int parts = fx->fill_split;
    long long each = q / parts;
    for (int i = 0; i < parts; i++) {
      long long part = i == parts - 1 ? q - each * (parts - 1) : each;
      if (part > 0) trade(fx, o, &s->f, (double)part / FX_SCALE, at);
    }
    snprintf(o->status, sizeof o->status, "FILLED");
  }
  order_json(&b, o, &fx->trades[first_trade], fx->ntrades - first_trade, 1);
  if (fx->lose_n) {
    if (fx->lose_n > 0) fx->lose_n--;
    *hold = -1;
  } else if (fx->delay_n) {
    if (fx->delay_n > 0) fx->delay_n--;
    *hold = fx->delay_ms;
  }
  pthread_mutex_unlock(&fx->mu);
  *status = 200;
  *body = b.p;
}

/* ---------------------------------------------------------------- lookups */
static fx_order *find(arec_fx *fx, const char *params) {
  char coid[48] = "", oid[24] = "";
  fx_param(params, "origClientOrderId", coid, sizeof coid);
  fx_param(params, "orderId", oid, sizeof oid);
  for (size_t i = 0; i < fx->norders; i++)
    if ((coid[0] && strcmp(fx->orders[i].client_id, coid) == 0) ||
        (!coid[0] && oid[0] && fx->orders[i].id == atoll(oid)))
      return &fx->orders[i];
  return NULL;
}

static void lists(arec_fx *fx, const char *path, const char *params,
                  unsigned *status, char **body) {
  char sym[32] = "", v[32];
  long long oid = 0, start = 0, end = 0;
  size_t limit = 500, n = 0;
  fx_buf b = {NULL, 0, 0};
  int has_sym = fx_param(params, "symbol", sym, sizeof sym);
  if (fx_param(params, "orderId", v, sizeof v)) oid = atoll(v);
  if (fx_param(params, "startTime", v, sizeof v)) start = atoll(v);
  if (fx_param(params, "endTime", v, sizeof v)) end = atoll(v);
  if (fx_param(params, "limit", v, sizeof v)) limit = (size_t)atoll(v);
  if (strcmp(path, "/api/v3/openOrders") && !has_sym) {
    err(status, body, 400, -1102, "Mandatory parameter 'symbol' was not sent.");
    return;
  }
  if (start && end && end - start > 24LL * 3600 * 1000) {
    err(status, body, 400, -1127, "More than 24 hours between startTime and endTime.");
    return;
  }
  fx_printf(&b, "[");
  if (!strcmp(path, "/api/v3/myTrades")) {
    fx->st.my_trades++;
    for (size_t i = 0; i < fx->ntrades && n < limit; i++) {
      const fx_trade *t = &fx->trades[i];
      if (strcmp(t->symbol, sym) || (oid && t->order_id != oid) ||
          (start && t->time < start) || (end && t->time > end))
        continue;
      trade_json(&b, t, n++ == 0);
    }
  } else {
    int open = !strcmp(path, "/api/v3/openOrders");
    if (open) fx->st.open_orders++;
    else fx->st.all_orders++;
    for (size_t i = 0; i < fx->norders && n < limit; i++) {
      const fx_order *o = &fx->orders[i];
      if ((has_sym && strcmp(o->symbol, sym)) ||
          (open && strcmp(o->status, "NEW")) || (!open && oid && o->id < oid) ||
          (!open && start && o->time < start) || (!open && end && o->time > end))
        continue;
      if (n++) fx_printf(&b, ",");
      order_json(&b, o, NULL, 0, 0);
    }
  }
  fx_printf(&b, "]");
  *status = 200;
  *body = b.p;
}

void fx_orders_handle(arec_fx *fx, const char *method, const char *path,
                      const char *params, unsigned *status, char **body,
                      int *hold) {
  fx_buf b = {NULL, 0, 0};
  *hold = 0;
  if (strcmp(path, "/api/v3/order")) {
    if (strcmp(method, "GET")) {
      err(status, body, 405, -1000, "Method not allowed.");
      return;
    }
    pthread_mutex_lock(&fx->mu);
    lists(fx, path, params, status, body);
    pthread_mutex_unlock(&fx->mu);
    return;
  }
  if (!strcmp(method, "POST")) {
    place(fx, params, status, body, hold);
    return;
  }
  if (strcmp(method, "GET") && strcmp(method, "DELETE")) {
    err(status, body, 405, -1000, "Method not allowed.");
    return;
  }
  pthread_mutex_lock(&fx->mu);
  fx_order *o = find(fx, params);
  if (method[0] == 'G') fx->st.order_queries++;
  if (!o) {
    pthread_mutex_unlock(&fx->mu);
    if (method[0] == 'G') err(status, body, 400, -2013, "Order does not exist.");
    else err(status, body, 400, -2011, "Unknown order sent.");
    return;
  }
  if (method[0] == 'D') {
    if (strcmp(o->status, "NEW")) {
      pthread_mutex_unlock(&fx->mu);
      err(status, body, 400, -2011, "Unknown order sent.");
      return;
    }
    snprintf(o->status, sizeof o->status, "CANCELED");
    o->update_time = fx_wall_ms();
    fx->st.cancels++;
  }
  order_json_c(&b, o, NULL, 0, 0, method[0] == 'D');
  pthread_mutex_unlock(&fx->mu);
  *status = 200;
  *body = b.p;
}

void arec_fx_reject_next(arec_fx *fx, int n, int code, const char *msg) {
  pthread_mutex_lock(&fx->mu);
  fx->reject_n = n;
  fx->reject_code = code;
  snprintf(fx->reject_msg, sizeof fx->reject_msg, "%s", msg ? msg : "");
  pthread_mutex_unlock(&fx->mu);
}
