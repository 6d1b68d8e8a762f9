/*
 * strategy.c -- the rules of the "conservative" and "aggressive" agent
 * types (documented in strategy.h) and the per-symbol memory: price window,
 * position, average entry, realised PnL, fees, trade count, client order
 * sequence and open order intents, with its JSON form (cJSON).
 *
 * Pure: no I/O, no clock, no global mutable state; the same series gives
 * the same decisions.  Never adds to an open position.
 */
#include "trading/strategy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "agentrecover.h"

/* ------------------------------------------------------------ the rules */
static const arec_strategy_params strategies[] = {
    {"conservative", 5, 20, 0.10, 0.02},
    {"aggressive", 3, 8, 0.30, 0.05},
};

const arec_strategy_params *arec__strategy_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++)
    if (strcmp(strategies[i].name, name) == 0) return &strategies[i];
  return NULL;
}

const char *arec__side_name(arec_side s) {
  return s == AREC_SIDE_BUY ? "BUY" : "SELL";
}

size_t arec__strategy_window(const arec_strategy_params *p) {
  size_t w = (size_t)p->long_window + 1;
  return w > AREC_PRICE_WINDOW_MAX ? AREC_PRICE_WINDOW_MAX : w;
}

void arec__mem_push_price(arec_sym_mem *m, double price, size_t cap) {
  if (cap == 0 || cap > AREC_PRICE_WINDOW_MAX) cap = AREC_PRICE_WINDOW_MAX;
  while (m->nprices >= cap) {
    memmove(m->prices, m->prices + 1, (m->nprices - 1) * sizeof m->prices[0]);
    m->nprices--;
  }
  m->prices[m->nprices++] = price;
}

/* Mean of the k prices ending `back` prices before the last one. */
static double sma(const arec_sym_mem *m, unsigned k, size_t back) {
  double s = 0;
  size_t end = m->nprices - back; /* exclusive */
  for (size_t i = end - k; i < end; i++) s += m->prices[i];
  return s / k;
}

arec_decision arec__strategy_decide(const arec_strategy_params *p,
                                    const arec_sym_mem *m, double budget,
                                    double balance) {
  arec_decision d = {AREC_HOLD, 0, "hold"};
  double price;
  if (m->nprices == 0) {
    d.reason = "no_price";
    return d;
  }
  price = m->prices[m->nprices - 1];
  if (m->position > 1e-12) {
    if (price <= m->avg_entry * (1.0 - p->stop_loss)) {
      d.action = AREC_SELL;
      d.qty = m->position;
      d.reason = "stop_loss";
      return d;
    }
    if (m->nprices >= p->long_window &&
        sma(m, p->short_window, 0) < sma(m, p->long_window, 0)) {
      d.action = AREC_SELL;
      d.qty = m->position;
      d.reason = "trend_down";
    }
    return d;
  }
  if (m->nprices < (size_t)p->long_window + 1) {
    d.reason = "warming_up";
    return d;
  }
  double s_now = sma(m, p->short_window, 0), l_now = sma(m, p->long_window, 0);
  double s_prev = sma(m, p->short_window, 1), l_prev = sma(m, p->long_window, 1);
  if (s_prev <= l_prev && s_now > l_now) {
    double spend = p->fraction * budget;
    if (spend > balance * 0.99) spend = balance * 0.99; /* room for the fee */
    if (spend <= 0 || price <= 0) {
      d.reason = "no_balance";
      return d;
    }
    d.action = AREC_BUY;
    d.qty = floor(spend / price * 1e8) / 1e8; /* exchange precision */
    d.reason = "cross_up";
    if (d.qty <= 0) {
      d.action = AREC_HOLD;
      d.reason = "no_balance";
    }
  }
  return d;
}

void arec__mem_apply_fill(arec_sym_mem *m, double *balance, arec_side side,
                          double qty, double quote, double fee) {
  if (qty <= 0) return;
  if (side == AREC_SIDE_BUY) {
    double cost = m->position * m->avg_entry + quote + fee;
    m->position += qty;
    m->avg_entry = cost / m->position;
    *balance -= quote + fee;
  } else {
    if (qty > m->position) qty = m->position;
    m->realized_pnl += quote - fee - qty * m->avg_entry;
    m->position -= qty;
    if (m->position < 1e-12) {
      m->position = 0;
      m->avg_entry = 0;
    }
    *balance += quote - fee;
  }
  m->fees += fee;
  m->trades++;
}

/* -------------------------------------------------------------- intents */
int arec__mem_intent_add(arec_sym_mem *m, const char *id, arec_side side,
                         double qty) {
  arec_intent *in;
  if (m->nintents >= AREC_INTENTS_MAX) return AREC_ENOMEM;
  in = &m->intents[m->nintents++];
  memset(in, 0, sizeof *in);
  strncpy(in->id, id, sizeof in->id - 1);
  in->side = side;
  in->qty = qty;
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

/* ----------------------------------------------------------------- JSON */
int arec__mem_to_json(const arec_sym_mem *m, char **out) {
  cJSON *j = cJSON_CreateObject(), *a, *ins;
  *out = NULL;
  if (!j) return AREC_ENOMEM;
  cJSON_AddNumberToObject(j, "v", 1);
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
    cJSON *o = cJSON_CreateObject();
    if (!o) break;
    cJSON_AddStringToObject(o, "id", m->intents[i].id);
    cJSON_AddStringToObject(o, "side", arec__side_name(m->intents[i].side));
    cJSON_AddNumberToObject(o, "qty", m->intents[i].qty);
    cJSON_AddItemToArray(ins, o);
  }
  *out = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return *out ? 0 : AREC_ENOMEM;
}

static double getnum(const cJSON *j, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : 0;
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
    const cJSON *side = cJSON_GetObjectItemCaseSensitive(e, "side");
    if (!cJSON_IsString(id) || !cJSON_IsString(side) ||
        strlen(id->valuestring) > 36)
      continue;
    arec__mem_intent_add(m, id->valuestring,
                         strcmp(side->valuestring, "SELL") == 0
                             ? AREC_SIDE_SELL
                             : AREC_SIDE_BUY,
                         getnum(e, "qty"));
  }
  cJSON_Delete(j);
  return 0;
}
