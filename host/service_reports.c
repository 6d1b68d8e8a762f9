/*
 * service_reports.c -- the trader's reads of the service (service.h):
 * balance per agent and quote asset, the last fills, realised PnL per UTC
 * day, performance per symbol.  Owner-scoped like every read; nothing is
 * audited.
 *
 * How: the user's agents are read page by page with their symbols through
 * the library's administration API, each symbol's memory JSON is parsed
 * (host/trading/memory.h) and folded into the report's rows; rows are
 * sorted at the end.  Deleted agents are invisible (the library lists
 * none).  The quote asset is the part of the symbol after '/'.
 * Must never: show another user's agents to a Telegram user, hold more
 * than one agent page and one parsed memory at a time besides the rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service_int.h"
#include "trading/memory.h"

#define PAGE 200
#define MAX_PAGES 50 /* 10,000 agents per user */

/* A growing array of rows of `size` bytes. */
typedef struct rows {
  void *v;
  size_t n, cap, size;
} rows;

static void *rows_add(rows *r) {
  if (r->n == r->cap) {
    size_t nc = r->cap ? r->cap * 2 : 16;
    void *nv = realloc(r->v, nc * r->size);
    if (!nv) return NULL;
    r->v = nv;
    r->cap = nc;
  }
  void *p = (char *)r->v + r->n++ * r->size;
  memset(p, 0, r->size);
  return p;
}

static void quote_of(const char *symbol, char *out, size_t len) {
  const char *slash = symbol ? strchr(symbol, '/') : NULL;
  snprintf(out, len, "%s", slash ? slash + 1 : "?");
}

/* Calls fn for every symbol of every agent of user_id with its memory
 * parsed.  0, or a library code (the outcome is the caller's). */
typedef int (*sym_fn)(void *ud, const arec_agent_record *a,
                      const arec_symbol_record *s, const arec_sym_mem *m);

static int each_symbol(arec_svc *svc, long long user_id, sym_fn fn,
                       void *ud) {
  char after[AREC_AGENT_ID_MAX + 1] = "";
  arec_sym_mem *m = malloc(sizeof *m);
  if (!m) return AREC_ENOMEM;
  int rc = 0;
  for (int page = 0; page < MAX_PAGES && !rc; page++) {
    arec_agent_filter f = AREC_AGENT_FILTER_INIT;
    arec_agent_record *as = NULL;
    size_t n = 0;
    f.limit = PAGE;
    f.user_id = user_id;
    f.with_symbols = 1;
    f.after = after[0] ? after : NULL;
    rc = arec_agent_list(svc->repo, &f, &as, &n);
    for (size_t i = 0; !rc && i < n; i++)
      for (size_t j = 0; !rc && j < as[i].nsymbols; j++) {
        arec__mem_from_json(m, as[i].symbols[j].memory);
        rc = fn(ud, &as[i], &as[i].symbols[j], m);
      }
    if (n) snprintf(after, sizeof after, "%s", as[n - 1].id);
    arec_agent_records_free(as, n);
    if (n < PAGE) break;
  }
  free(m);
  return rc;
}

static double last_price(const arec_sym_mem *m) {
  return m->nprices ? m->prices[m->nprices - 1] : 0;
}

static int end(arec__svc_op *o, int rc, rows *r, void *out, size_t *out_n,
               const char *what) {
  if (rc) {
    free(r->v);
    arec__svc_fail(o, rc, what);
  } else {
    *(void **)out = r->v;
    *out_n = r->n;
    arec__svc_set(o, 200, NULL, "%zu %s", r->n, what);
  }
  return arec__svc_end(o);
}

/* ------------------------------------------------------------- balance */
static int balance_fn(void *ud, const arec_agent_record *a,
                      const arec_symbol_record *s, const arec_sym_mem *m) {
  rows *r = ud;
  char quote[24];
  quote_of(s->symbol, quote, sizeof quote);
  arec_svc_balance *b = NULL;
  for (size_t i = r->n; i > 0 && !b; i--) {
    arec_svc_balance *x = (arec_svc_balance *)r->v + i - 1;
    if (strcmp(x->agent_id, a->id)) break; /* rows of one agent are last */
    if (!strcmp(x->quote, quote)) b = x;
  }
  if (!b) {
    if (!(b = rows_add(r))) return AREC_ENOMEM;
    snprintf(b->agent_id, sizeof b->agent_id, "%s", a->id);
    snprintf(b->quote, sizeof b->quote, "%s", quote);
    b->live = arec_svc_agent_is_live(a);
  }
  b->budget += s->budget;
  b->cash += s->balance;
  if (m->position > 0) b->positions += m->position * last_price(m);
  return 0;
}

int arec_svc_balance_list(arec_svc *svc, const arec_svc_actor *who,
                          long long user_id, arec_svc_balance **out,
                          size_t *out_n, arec_svc_result *res) {
  arec__svc_op o;
  rows r = {NULL, 0, 0, sizeof(arec_svc_balance)};
  if (arec__svc_begin_user_list(&o, svc, who, res, user_id, out, out_n))
    return arec__svc_end(&o);
  int rc = each_symbol(svc, user_id, balance_fn, &r);
  return end(&o, rc, &r, out, out_n, "balances");
}

/* -------------------------------------------------------------- trades */
typedef struct trades_ctx {
  rows r;
  unsigned int limit;
} trades_ctx;

static int newest_first(const void *a, const void *b) {
  const arec_svc_fill *x = a, *y = b;
  if (x->t_ms != y->t_ms) return x->t_ms > y->t_ms ? -1 : 1;
  int c = strcmp(x->agent_id, y->agent_id);
  return c ? c : strcmp(x->symbol, y->symbol);
}

static int trades_fn(void *ud, const arec_agent_record *a,
                     const arec_symbol_record *s, const arec_sym_mem *m) {
  trades_ctx *t = ud;
  for (size_t i = 0; i < m->nfills; i++) {
    arec_svc_fill *f = rows_add(&t->r);
    if (!f) return AREC_ENOMEM;
    const arec_fill_rec *x = &m->fills[i];
    f->t_ms = x->t_ms;
    snprintf(f->agent_id, sizeof f->agent_id, "%s", a->id);
    snprintf(f->symbol, sizeof f->symbol, "%s", s->symbol);
    snprintf(f->side, sizeof f->side, "%s", arec__side_name(x->side));
    f->qty = x->qty;
    f->price = x->price;
    f->fee = x->fee;
  }
  /* keep the array bounded: the newest `limit` so far */
  if (t->r.n > 4 * (size_t)t->limit + 256) {
    qsort(t->r.v, t->r.n, t->r.size, newest_first);
    t->r.n = t->limit;
  }
  return 0;
}

int arec_svc_trades(arec_svc *svc, const arec_svc_actor *who,
                    long long user_id, unsigned int limit,
                    arec_svc_fill **out, size_t *out_n,
                    arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  trades_ctx t = {{NULL, 0, 0, sizeof(arec_svc_fill)}, limit};
  if (arec__svc_begin_user_list(&o, svc, who, res, user_id, out, out_n))
    return arec__svc_end(&o);
  if (limit < 1 || limit > 200) {
    arec_host_invalid_set(&e, "limit", "limit: an integer 1..200");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  int rc = each_symbol(svc, user_id, trades_fn, &t);
  if (!rc && t.r.n) {
    qsort(t.r.v, t.r.n, t.r.size, newest_first);
    if (t.r.n > limit) t.r.n = limit;
  }
  return end(&o, rc, &t.r, out, out_n, "fills");
}

/* --------------------------------------------------------------- daily */
typedef struct daily_ctx {
  rows r;          /* arec_svc_day: days rows per quote, today first */
  unsigned int days;
  int32_t today;
} daily_ctx;

/* The block of `days` rows of a quote asset (added when new). */
static arec_svc_day *quote_block(daily_ctx *d, const char *quote) {
  for (size_t i = 0; i < d->r.n; i += d->days) {
    arec_svc_day *b = (arec_svc_day *)d->r.v + i;
    if (!strcmp(b->quote, quote)) return b;
  }
  size_t first = d->r.n;
  for (unsigned int k = 0; k < d->days; k++) {
    arec_svc_day *x = rows_add(&d->r);
    if (!x) return NULL;
    arec__utc_day_text(d->today - (int32_t)k, x->date, sizeof x->date);
    snprintf(x->quote, sizeof x->quote, "%s", quote);
  }
  return (arec_svc_day *)d->r.v + first;
}

static int daily_fn(void *ud, const arec_agent_record *a,
                    const arec_symbol_record *s, const arec_sym_mem *m) {
  daily_ctx *d = ud;
  char quote[24];
  (void)a;
  quote_of(s->symbol, quote, sizeof quote);
  arec_svc_day *b = quote_block(d, quote);
  if (!b) return AREC_ENOMEM;
  for (size_t i = 0; i < m->ndays; i++) {
    int32_t back = d->today - m->days[i].day;
    if (back < 0 || back >= (int32_t)d->days) continue;
    b[back].realized += m->days[i].realized;
    b[back].fees += m->days[i].fees;
    b[back].trades += m->days[i].trades;
  }
  return 0;
}

int arec_svc_daily(arec_svc *svc, const arec_svc_actor *who,
                   long long user_id, unsigned int days, arec_svc_day **out,
                   size_t *out_n, arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  daily_ctx d = {{NULL, 0, 0, sizeof(arec_svc_day)}, days,
                 arec__utc_day((int64_t)now.tv_sec * 1000)};
  if (arec__svc_begin_user_list(&o, svc, who, res, user_id, out, out_n))
    return arec__svc_end(&o);
  if (days < 1 || days > AREC_DAYS_MAX) {
    arec_host_invalid_set(&e, "days", "days: an integer 1..%d", AREC_DAYS_MAX);
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  int rc = each_symbol(svc, user_id, daily_fn, &d);
  return end(&o, rc, &d.r, out, out_n, "days");
}

/* --------------------------------------------------------- performance */
static int perf_fn(void *ud, const arec_agent_record *a,
                   const arec_symbol_record *s, const arec_sym_mem *m) {
  rows *r = ud;
  (void)a;
  arec_svc_perf *p = NULL;
  for (size_t i = 0; i < r->n && !p; i++)
    if (!strcmp(((arec_svc_perf *)r->v)[i].symbol, s->symbol))
      p = (arec_svc_perf *)r->v + i;
  if (!p) {
    if (!(p = rows_add(r))) return AREC_ENOMEM;
    snprintf(p->symbol, sizeof p->symbol, "%s", s->symbol);
    quote_of(s->symbol, p->quote, sizeof p->quote);
  }
  p->realized += m->realized_pnl;
  p->fees += m->fees;
  p->trades += m->trades;
  p->position += m->position;
  if (m->position > 0 && last_price(m) > 0)
    p->open += m->position * (last_price(m) - m->avg_entry);
  return 0;
}

static int best_first(const void *a, const void *b) {
  const arec_svc_perf *x = a, *y = b;
  if (x->realized != y->realized) return x->realized > y->realized ? -1 : 1;
  return strcmp(x->symbol, y->symbol);
}

int arec_svc_performance(arec_svc *svc, const arec_svc_actor *who,
                         long long user_id, arec_svc_perf **out,
                         size_t *out_n, arec_svc_result *res) {
  arec__svc_op o;
  rows r = {NULL, 0, 0, sizeof(arec_svc_perf)};
  if (arec__svc_begin_user_list(&o, svc, who, res, user_id, out, out_n))
    return arec__svc_end(&o);
  int rc = each_symbol(svc, user_id, perf_fn, &r);
  if (!rc && r.n) qsort(r.v, r.n, r.size, best_first);
  return end(&o, rc, &r, out, out_n, "symbols");
}
