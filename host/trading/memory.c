/*
 * memory.c -- one symbol's memory of a trading agent (memory.h): fills
 * applied one trade at a time with their commission converted to the quote
 * asset, the bounded list of the last fills, order intents, the last
 * rejection and skip, and the JSON form (cJSON), which reads the memory of
 * older versions (missing fields take their empty value); the realised
 * PnL per UTC day is days.c's.
 *
 * Pure: no I/O, no clock (times come from the caller).  Must never apply
 * one exchange trade twice, and never drop a field an older reader needs
 * (position, avg_entry, realized_pnl, fees, trades, seq, intents keep
 * their names and meaning).
 */
#include "trading/memory.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "agentrecover.h"

#define MEM_VERSION 2

const char *arec__side_name(arec_side s) {
  return s == AREC_SIDE_BUY ? "BUY" : "SELL";
}

void arec__mem_push_price(arec_sym_mem *m, double price, size_t cap) {
  if (cap == 0 || cap > AREC_PRICE_WINDOW_MAX) cap = AREC_PRICE_WINDOW_MAX;
  while (m->nprices >= cap) {
    memmove(m->prices, m->prices + 1, (m->nprices - 1) * sizeof m->prices[0]);
    m->nprices--;
  }
  m->prices[m->nprices++] = price;
}

/* ----------------------------------------------------------------- fills */
int arec__mem_has_trade(const arec_sym_mem *m, long long trade_id,
                        long long order_id) {
  for (size_t i = 0; i < m->nfills; i++) {
    const arec_fill_rec *f = &m->fills[i];
    if (trade_id > 0 && f->trade_id == trade_id) return 1;
    if (order_id > 0 && f->trade_id == 0 && f->order_id == order_id) return 1;
  }
  return 0;
}

static void record(arec_sym_mem *m, const arec_fill *f, double fee) {
  arec_fill_rec *r;
  if (m->nfills == AREC_FILLS_MAX) {
    memmove(m->fills, m->fills + 1, (AREC_FILLS_MAX - 1) * sizeof m->fills[0]);
    m->nfills--;
  }
  r = &m->fills[m->nfills++];
  memset(r, 0, sizeof *r);
  r->t_ms = f->t_ms;
  r->side = f->side;
  r->qty = f->qty;
  r->price = f->price;
  r->fee = fee;
  snprintf(r->coid, sizeof r->coid, "%s", f->coid ? f->coid : "");
  r->trade_id = f->trade_id;
  r->order_id = f->order_id;
}

static void fee_other_add(arec_sym_mem *m, const char *asset, double amount) {
  for (size_t i = 0; i < m->nfees_other; i++)
    if (strcmp(m->fees_other[i].asset, asset) == 0) {
      m->fees_other[i].amount += amount;
      return;
    }
  if (m->nfees_other == AREC_FEES_OTHER_MAX) return; /* bounded */
  snprintf(m->fees_other[m->nfees_other].asset,
           sizeof m->fees_other[0].asset, "%s", asset);
  m->fees_other[m->nfees_other++].amount = amount;
}

int arec__mem_apply(arec_sym_mem *m, double *balance, const arec_fill *f,
                    const char *base, const char *quote, double asset_price) {
  const char *asset = f->commission_asset ? f->commission_asset : "";
  double notional, c = f->commission > 0 ? f->commission : 0;
  double fee = 0;       /* commission in quote, for PnL and `fees` */
  double realized0 = m->realized_pnl;
  double cash_fee = 0;  /* taken from the quote cash */
  double base_fee = 0;  /* taken in base units */
  if (!(f->qty > 0) || !(f->price >= 0)) return 0;
  if (arec__mem_has_trade(m, f->trade_id, 0)) return 0;
  notional = f->qty * f->price;
  if (c > 0) {
    if (!*asset || (quote && strcmp(asset, quote) == 0)) {
      fee = cash_fee = c;
    } else if (base && strcmp(asset, base) == 0) {
      base_fee = c;
      fee = c * f->price;
    } else if (asset_price > 0) {
      fee = c * asset_price;
    } else {
      fee_other_add(m, asset, c);
    }
  }
  if (f->side == AREC_SIDE_BUY) {
    double got = f->qty - base_fee;
    /* a base commission is paid in units: the cost stays the notional */
    double cost = m->position * m->avg_entry + notional + (fee - base_fee * f->price);
    if (got < 0) got = 0;
    m->position += got;
    m->avg_entry = m->position > 0 ? cost / m->position : 0;
    *balance -= notional + cash_fee;
  } else {
    double gone = f->qty + base_fee;
    if (gone > m->position) gone = m->position;
    m->realized_pnl += notional - (fee - base_fee * f->price) - gone * m->avg_entry;
    m->position -= gone;
    if (m->position < 1e-12) {
      m->position = 0;
      m->avg_entry = 0;
    }
    *balance += notional - cash_fee;
  }
  m->fees += fee;
  m->trades++;
  record(m, f, fee);
  arec__mem_day_add(m, f->t_ms, m->realized_pnl - realized0, fee);
  return 1;
}

void arec__mem_apply_fill(arec_sym_mem *m, double *balance, arec_side side,
                          double qty, double quote, double fee) {
  arec_fill f;
  memset(&f, 0, sizeof f);
  if (!(qty > 0)) return;
  f.side = side;
  f.qty = qty;
  f.price = quote / qty;
  f.commission = fee;
  /* notional recomputed from price x qty: exact enough, and the paper
   * path calls arec__mem_apply() directly */
  arec__mem_apply(m, balance, &f, NULL, NULL, 0);
}

int64_t arec__mem_last_fill_ms(const arec_sym_mem *m) {
  int64_t t = 0;
  for (size_t i = 0; i < m->nfills; i++)
    if (m->fills[i].t_ms > t) t = m->fills[i].t_ms;
  return t;
}

long long arec__mem_max_order_id(const arec_sym_mem *m) {
  long long id = 0;
  for (size_t i = 0; i < m->nfills; i++)
    if (m->fills[i].order_id > id) id = m->fills[i].order_id;
  return id;
}

/* --------------------------------------------------------------- intents */
int arec__mem_intent_add(arec_sym_mem *m, const char *id, arec_side side,
                         double qty, int64_t t_ms) {
  arec_intent *in;
  if (m->nintents >= AREC_INTENTS_MAX) return AREC_ENOMEM;
  in = &m->intents[m->nintents++];
  memset(in, 0, sizeof *in);
  snprintf(in->id, sizeof in->id, "%s", id);
  in->side = side;
  in->qty = qty;
  in->t_ms = t_ms;
  return 0;
}

void arec__mem_intent_remove(arec_sym_mem *m, const char *id) {
  for (size_t i = 0; i < m->nintents; i++)
    if (strcmp(m->intents[i].id, id) == 0) {
      memmove(&m->intents[i], &m->intents[i + 1],
              (m->nintents - i - 1) * sizeof m->intents[0]);
      m->nintents--;
      return;
    }
}

/* ------------------------------------------------- rejections and skips */
unsigned arec__mem_reject(arec_sym_mem *m, int code, const char *reason,
                          const char *msg, int64_t now_ms) {
  m->rej_code = code;
  snprintf(m->rej_reason, sizeof m->rej_reason, "%s", reason ? reason : "");
  snprintf(m->rej_msg, sizeof m->rej_msg, "%s", msg ? msg : "");
  m->rej_t_ms = now_ms;
  return ++m->rejections;
}

void arec__mem_skip(arec_sym_mem *m, const char *why, int64_t now_ms) {
  snprintf(m->skip_why, sizeof m->skip_why, "%s", why ? why : "");
  m->skip_t_ms = now_ms;
}

/* ------------------------------------------------------------------ JSON */
static void add_fill(cJSON *a, const arec_fill_rec *f) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return;
  cJSON_AddNumberToObject(o, "t", (double)f->t_ms);
  cJSON_AddStringToObject(o, "side", arec__side_name(f->side));
  cJSON_AddNumberToObject(o, "qty", f->qty);
  cJSON_AddNumberToObject(o, "price", f->price);
  cJSON_AddNumberToObject(o, "fee", f->fee);
  cJSON_AddStringToObject(o, "coid", f->coid);
  cJSON_AddNumberToObject(o, "trade", (double)f->trade_id);
  cJSON_AddNumberToObject(o, "order", (double)f->order_id);
  cJSON_AddItemToArray(a, o);
}

int arec__mem_to_json(const arec_sym_mem *m, char **out) {
  cJSON *j = cJSON_CreateObject(), *a, *ins, *o;
  *out = NULL;
  if (!j) return AREC_ENOMEM;
  cJSON_AddNumberToObject(j, "v", MEM_VERSION);
  a = cJSON_AddArrayToObject(j, "prices");
  for (size_t i = 0; a && i < m->nprices; i++)
    cJSON_AddItemToArray(a, cJSON_CreateNumber(m->prices[i]));
  cJSON_AddNumberToObject(j, "position", m->position);
  cJSON_AddNumberToObject(j, "avg_entry", m->avg_entry);
  cJSON_AddNumberToObject(j, "realized_pnl", m->realized_pnl);
  cJSON_AddNumberToObject(j, "fees", m->fees);
  cJSON_AddNumberToObject(j, "trades", (double)m->trades);
  cJSON_AddNumberToObject(j, "seq", (double)m->seq);
  ins = cJSON_AddArrayToObject(j, "intents");
  for (size_t i = 0; ins && i < m->nintents; i++) {
    o = cJSON_CreateObject();
    if (!o) break;
    cJSON_AddStringToObject(o, "id", m->intents[i].id);
    cJSON_AddStringToObject(o, "side", arec__side_name(m->intents[i].side));
    cJSON_AddNumberToObject(o, "qty", m->intents[i].qty);
    cJSON_AddNumberToObject(o, "t", (double)m->intents[i].t_ms);
    cJSON_AddItemToArray(ins, o);
  }
  a = cJSON_AddArrayToObject(j, "fills");
  for (size_t i = 0; a && i < m->nfills; i++) add_fill(a, &m->fills[i]);
  if (m->nfees_other) {
    o = cJSON_AddObjectToObject(j, "fees_other");
    for (size_t i = 0; o && i < m->nfees_other; i++)
      cJSON_AddNumberToObject(o, m->fees_other[i].asset,
                              m->fees_other[i].amount);
  }
  if (m->rej_t_ms || m->rejections) {
    o = cJSON_AddObjectToObject(j, "last_rejection");
    if (o) {
      cJSON_AddNumberToObject(o, "code", m->rej_code);
      cJSON_AddStringToObject(o, "reason", m->rej_reason);
      cJSON_AddStringToObject(o, "msg", m->rej_msg);
      cJSON_AddNumberToObject(o, "t", (double)m->rej_t_ms);
    }
    cJSON_AddNumberToObject(j, "rejections", m->rejections);
  }
  if (m->ndays) {
    char d[16];
    a = cJSON_AddArrayToObject(j, "days");
    for (size_t i = 0; a && i < m->ndays; i++) {
      o = cJSON_CreateObject();
      if (!o) break;
      arec__utc_day_text(m->days[i].day, d, sizeof d);
      cJSON_AddStringToObject(o, "d", d);
      cJSON_AddNumberToObject(o, "pnl", m->days[i].realized);
      cJSON_AddNumberToObject(o, "fees", m->days[i].fees);
      cJSON_AddNumberToObject(o, "n", m->days[i].trades);
      cJSON_AddItemToArray(a, o);
    }
  }
  if (m->skip_t_ms) {
    o = cJSON_AddObjectToObject(j, "last_skip");
    if (o) {
      cJSON_AddStringToObject(o, "why", m->skip_why);
      cJSON_AddNumberToObject(o, "t", (double)m->skip_t_ms);
    }
  }
  *out = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return *out ? 0 : AREC_ENOMEM;
}

static double getnum(const cJSON *j, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : 0;
}

static void getstr(char *out, size_t len, const cJSON *j, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  snprintf(out, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static arec_side getside(const cJSON *j) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "side");
  return cJSON_IsString(v) && strcmp(v->valuestring, "SELL") == 0
             ? AREC_SIDE_SELL
             : AREC_SIDE_BUY;
}

int arec__mem_from_json(arec_sym_mem *m, const char *json) {
  cJSON *j, *a, *e;
  memset(m, 0, sizeof *m);
  if (!json || !*json) return 0;
  j = cJSON_Parse(json);
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    return AREC_EINVAL;
  }
  a = cJSON_GetObjectItemCaseSensitive(j, "prices");
  cJSON_ArrayForEach(e, a) {
    if (cJSON_IsNumber(e) && e->valuedouble > 0)
      arec__mem_push_price(m, e->valuedouble, AREC_PRICE_WINDOW_MAX);
  }
  m->position = getnum(j, "position");
  if (m->position < 0) m->position = 0;
  m->avg_entry = getnum(j, "avg_entry");
  m->realized_pnl = getnum(j, "realized_pnl");
  m->fees = getnum(j, "fees");
  m->trades = (uint64_t)getnum(j, "trades");
  m->seq = (uint64_t)getnum(j, "seq");
  a = cJSON_GetObjectItemCaseSensitive(j, "intents");
  cJSON_ArrayForEach(e, a) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
    if (!cJSON_IsString(id) || strlen(id->valuestring) > 36 ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "side")))
      continue;
    arec__mem_intent_add(m, id->valuestring, getside(e), getnum(e, "qty"),
                         (int64_t)getnum(e, "t"));
  }
  a = cJSON_GetObjectItemCaseSensitive(j, "fills");
  cJSON_ArrayForEach(e, a) {
    arec_fill_rec *f;
    if (!cJSON_IsObject(e)) continue;
    if (m->nfills == AREC_FILLS_MAX) {
      memmove(m->fills, m->fills + 1, (AREC_FILLS_MAX - 1) * sizeof m->fills[0]);
      m->nfills--;
    }
    f = &m->fills[m->nfills++];
    f->t_ms = (int64_t)getnum(e, "t");
    f->side = getside(e);
    f->qty = getnum(e, "qty");
    f->price = getnum(e, "price");
    f->fee = getnum(e, "fee");
    getstr(f->coid, sizeof f->coid, e, "coid");
    f->trade_id = (long long)getnum(e, "trade");
    f->order_id = (long long)getnum(e, "order");
  }
  a = cJSON_GetObjectItemCaseSensitive(j, "fees_other");
  cJSON_ArrayForEach(e, a) {
    if (cJSON_IsNumber(e) && e->string && strlen(e->string) < 16)
      fee_other_add(m, e->string, e->valuedouble);
  }
  e = cJSON_GetObjectItemCaseSensitive(j, "last_rejection");
  if (cJSON_IsObject(e)) {
    m->rej_code = (int)getnum(e, "code");
    getstr(m->rej_reason, sizeof m->rej_reason, e, "reason");
    getstr(m->rej_msg, sizeof m->rej_msg, e, "msg");
    m->rej_t_ms = (int64_t)getnum(e, "t");
  }
  m->rejections = (unsigned)getnum(j, "rejections");
  e = cJSON_GetObjectItemCaseSensitive(j, "last_skip");
  if (cJSON_IsObject(e)) {
    getstr(m->skip_why, sizeof m->skip_why, e, "why");
    m->skip_t_ms = (int64_t)getnum(e, "t");
  }
  a = cJSON_GetObjectItemCaseSensitive(j, "days");
  cJSON_ArrayForEach(e, a) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "d");
    int32_t day;
    if (!cJSON_IsString(d) || arec__utc_day_parse(d->valuestring, &day) ||
        (m->ndays && m->days[m->ndays - 1].day >= day))
      continue; /* kept in order, each day once */
    if (m->ndays == AREC_DAYS_MAX) {
      memmove(m->days, m->days + 1, (AREC_DAYS_MAX - 1) * sizeof m->days[0]);
      m->ndays--;
    }
    arec_day_pnl *b = &m->days[m->ndays++];
    b->day = day;
    b->realized = getnum(e, "pnl");
    b->fees = getnum(e, "fees");
    b->trades = (uint32_t)getnum(e, "n");
  }
  cJSON_Delete(j);
  return 0;
}
