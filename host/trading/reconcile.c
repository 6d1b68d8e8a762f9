/*
 * reconcile.c -- a live trading agent's reconcile with the exchange when it
 * starts on a pod (a takeover after a crash, a handover, a restart): before
 * its first order it reads, per symbol, its open orders and its orders
 * since the last fill it recorded (GET allOrders from that fill's order
 * id, or from the oldest intent's time when it has no fill yet), keeps
 * only its own (client order ids this agent made, matched exactly, see
 * arec__client_order_id_ours), and brings its memory in line:
 *
 *   - an open order of ours is CANCELLED, not adopted: the agent only ever
 *     places MARKET orders, so an open one is a leftover whose purpose the
 *     new owner cannot judge; what it executed before the cancel is kept;
 *   - every trade of our orders not yet in memory is applied exactly once
 *     (trade ids are recorded; a second reconcile, or the settlement of an
 *     intent, finds them and skips them);
 *   - an intent whose order is final is settled; the others are looked up
 *     by origClientOrderId as usual;
 *
 * then a fenced save.  A fill between the last save and a crash is
 * therefore never lost nor doubled.  Must never touch an order that is
 * not this agent's, and never mark the symbol reconciled when the exchange
 * did not answer (no order is sent until it has).
 */
#include "trading/trader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)
#define SKEW_MS 60000 /* local clock (intent times) vs the exchange's */
#define MAX_PAGES 30

typedef struct olist {
  arec_order *v;
  size_t n, cap;
} olist;

static int olist_add(olist *l, const arec_order *o) {
  for (size_t i = 0; i < l->n; i++)
    if (l->v[i].order_id == o->order_id) return 0;
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 4;
    arec_order *nv = realloc(l->v, nc * sizeof *nv);
    if (!nv) return AREC_ENOMEM;
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = *o;
  return 0;
}

/* Our open orders, cancelled, into l. */
static int cancel_open(arec_agent *agent, arec_trade_sym *s, olist *l,
                       int *cancelled) {
  arec_order *v = NULL, c;
  size_t n = 0;
  int rc = arec_exchange_orders(s->x, s->symbol, 0, 0, 0, &v, &n);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (!arec__client_order_id_ours(v[i].client_id, arec_agent_id(agent),
                                    NULL, NULL))
      continue;
    rc = arec_exchange_order_cancel(s->x, s->symbol, v[i].client_id, &c);
    if (rc != 0) {
      /* filled or cancelled meanwhile?  Its final state decides. */
      rc = arec_exchange_order_query(s->x, s->symbol, v[i].client_id, &c);
      if (rc == 0 && !arec__order_final(&c)) {
        arec_error_set("open order could not be cancelled");
        rc = AREC_EUNAVAILABLE;
      }
      if (rc) break;
    } else {
      (*cancelled)++;
      arec__trade_log(agent, AREC_LOG_INFO,
                      "open order of this agent cancelled", s,
                      "client_order_id", c.client_id, NULL, NULL);
    }
    if (!c.side[0]) snprintf(c.side, sizeof c.side, "%s", v[i].side);
    rc = olist_add(l, &c);
  }
  free(v);
  return rc;
}

/* Our orders since the last recorded fill (or the oldest intent), into l. */
static int orders_since(arec_agent *agent, arec_trade_sym *s, olist *l) {
  long long from = arec__mem_max_order_id(&s->mem), start = 0;
  long long now = (long long)arec__trade_now_ms();
  int rc = 0;
  if (!from) {
    for (size_t i = 0; i < s->mem.nintents; i++)
      if (s->mem.intents[i].t_ms > 0 &&
          (!start || s->mem.intents[i].t_ms - SKEW_MS < start))
        start = s->mem.intents[i].t_ms - SKEW_MS;
    if (!start) return 0; /* nothing of ours can be missing */
  }
  for (int page = 0; page < MAX_PAGES; page++) {
    arec_order *v = NULL;
    size_t n = 0;
    rc = arec_exchange_orders(s->x, s->symbol, 1, from, start, &v, &n);
    if (rc) return rc;
    for (size_t i = 0; rc == 0 && i < n; i++)
      if (arec__client_order_id_ours(v[i].client_id, arec_agent_id(agent),
                                     NULL, NULL))
        rc = olist_add(l, &v[i]);
    long long last = n ? v[n - 1].order_id : 0;
    free(v);
    if (rc) return rc;
    if (from) {
      if (n < 1000) return 0;
      from = last + 1; /* a full page: the next one */
    } else {
      start += DAY_MS; /* windows of a day up to now */
      if (start > now + SKEW_MS) return 0;
    }
  }
  return 0;
}

int arec__trade_reconcile(const arec_host_trading_config *cfg,
                          arec_agent *agent, arec_trade_sym *s) {
  olist l = {NULL, 0, 0};
  int rc, applied = 0, cancelled = 0, settled = 0;
  char a[16], c[16], st[16];
  if (!s->live || s->reconciled) return 0;

  rc = cancel_open(agent, s, &l, &cancelled);
  if (rc == 0) rc = orders_since(agent, s, &l);
  for (size_t i = 0; rc == 0 && i < l.n; i++) {
    const arec_order *o = &l.v[i];
    arec_side side = strcmp(o->side, "SELL") == 0 ? AREC_SIDE_SELL : AREC_SIDE_BUY;
    int k = arec__trade_apply_order(cfg, agent, s, side, o);
    if (k < 0) {
      rc = k;
      break;
    }
    applied += k;
    if (!arec__order_final(o)) continue;
    for (size_t j = 0; j < s->mem.nintents; j++)
      if (strcmp(s->mem.intents[j].id, o->client_id) == 0) {
        arec__mem_intent_remove(&s->mem, o->client_id);
        settled++;
        break;
      }
  }
  free(l.v);
  if (rc == 0) {
    /* intents whose order was not in the lists: by origClientOrderId */
    int left = arec__trade_resolve(cfg, agent, s);
    if (left == AREC_EFENCED) return AREC_EFENCED;
    if (left > 0) {
      arec_error_set("%d order intent(s) unresolved", left);
      rc = AREC_EUNAVAILABLE;
    }
  }
  if (rc) {
    arec__trade_log(agent, AREC_LOG_WARN,
                    "reconcile with the exchange incomplete, will "
                    "try again before any order",
                    s, "error", arec_error_last(), NULL, NULL);
    if (applied || settled || cancelled) {
      /* what was applied is applied: keep it */
      if (arec_agent_save(agent) == AREC_EFENCED) return AREC_EFENCED;
    }
    return rc;
  }
  s->reconciled = 1;
  rc = arec_agent_save(agent);
  if (rc == AREC_EFENCED) return AREC_EFENCED;
  snprintf(a, sizeof a, "%d", applied);
  snprintf(c, sizeof c, "%d", cancelled);
  snprintf(st, sizeof st, "%d", settled);
  arec_log_field f[4] = {{"symbol", s->symbol, AREC_LOG_STRING},
                         {"trades_applied", a, AREC_LOG_STRING},
                         {"orders_cancelled", c, AREC_LOG_STRING},
                         {"intents_settled", st, AREC_LOG_STRING}};
  arec_agent_log(agent, AREC_LOG_INFO, "reconciled with the exchange", f, 4);
  if (rc) {
    arec_log_field e[2] = {{"symbol", s->symbol, AREC_LOG_STRING},
                           {"error", arec_strerror(rc), AREC_LOG_STRING}};
    arec_agent_log(agent, AREC_LOG_WARN,
                   "reconcile saved later: the save was not taken", e, 2);
  }
  return 0;
}
