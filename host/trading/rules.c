/*
 * rules.c -- a symbol's exchange rules (filters of exchangeInfo) and the
 * exact decimal arithmetic that applies them to an order (rules.h).
 *
 * Every step, tick, minimum and maximum is parsed from the exchange's
 * decimal strings into integers with a scale; a computed quantity enters
 * once, snapped to 15 significant digits, and from there on everything is
 * integer arithmetic, so no float noise ever reaches an order and a
 * quantity is never rounded UP past what the caller asked for.  Pure: no
 * I/O, no state.  Must never produce a quantity that breaks the rules it
 * was given.
 */
#include "trading/rules.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "agentrecover.h"

static const int64_t POW10[19] = {1LL,
                                  10LL,
                                  100LL,
                                  1000LL,
                                  10000LL,
                                  100000LL,
                                  1000000LL,
                                  10000000LL,
                                  100000000LL,
                                  1000000000LL,
                                  10000000000LL,
                                  100000000000LL,
                                  1000000000000LL,
                                  10000000000000LL,
                                  100000000000000LL,
                                  1000000000000000LL,
                                  10000000000000000LL,
                                  100000000000000000LL,
                                  1000000000000000000LL};

/* ------------------------------------------------------------- decimals */
int arec__dec_parse(arec_dec *out, const char *s) {
  int64_t v = 0;
  int scale = 0, seen_point = 0, digits = 0;
  out->v = 0;
  out->scale = 0;
  if (!s) return AREC_EINVAL;
  while (*s == ' ') s++;
  if (*s == '+') s++;
  for (; *s; s++) {
    if (*s == '.') {
      if (seen_point) return AREC_EINVAL;
      seen_point = 1;
      continue;
    }
    if (!isdigit((unsigned char)*s)) return AREC_EINVAL;
    if (seen_point) {
      if (scale == AREC_DEC_MAX_SCALE) {
        if (*s != '0') return AREC_EINVAL; /* more precision than we keep */
        continue;
      }
      scale++;
    }
    if (v > (INT64_MAX - 9) / 10) return AREC_EINVAL;
    v = v * 10 + (*s - '0');
    digits++;
  }
  if (!digits) return AREC_EINVAL;
  while (scale > 0 && v % 10 == 0) {
    v /= 10;
    scale--;
  }
  out->v = v;
  out->scale = scale;
  return 0;
}

/* x as m x 10^(exp - digits + 1) with `digits` significant digits; the
 * double nearest to that decimal into *back. */
static void sig_digits(double x, int digits, uint64_t *m, int *exp10,
                       double *back) {
  char buf[48];
  const char *e;
  *m = 0;
  snprintf(buf, sizeof buf, "%.*e", digits - 1, x);
  *back = strtod(buf, NULL);
  for (const char *p = buf; *p && *p != 'e'; p++)
    if (isdigit((unsigned char)*p)) *m = *m * 10 + (uint64_t)(*p - '0');
  e = strchr(buf, 'e');
  *exp10 = e ? (int)strtol(e + 1, NULL, 10) : 0;
}

int arec__dec_from_double(arec_dec *out, double x, int scale) {
  uint64_t m;
  double back;
  int exp10, digits = 15, shift;
  out->v = 0;
  out->scale = scale;
  if (!isfinite(x) || x < 0 || scale < 0 || scale > AREC_DEC_MAX_SCALE)
    return AREC_EINVAL;
  if (x == 0) return 0;
  /* 15 significant digits is what a double holds for sure: 0.1 + 0.2 and
   * 0.7 - 0.4 both become 0.3.  When that moved the value by more than a
   * few units in the last place (a quantity with more digits than that,
   * e.g. 123456789.12345679), the 17 digits that identify the double are
   * used instead, so the result never exceeds the value asked for by more
   * than float noise. */
  sig_digits(x, 15, &m, &exp10, &back);
  if (fabs(back - x) > 4 * DBL_EPSILON * x) {
    digits = 17;
    sig_digits(x, 17, &m, &exp10, &back);
  }
  shift = exp10 - (digits - 1) + scale; /* value * 10^scale = m * 10^shift */
  if (shift >= 0) {
    if (shift > 18 || m > (uint64_t)(INT64_MAX / POW10[shift])) {
      out->v = INT64_MAX;
      return 1;
    }
    out->v = (int64_t)m * POW10[shift];
  } else if (-shift <= 18) {
    out->v = (int64_t)(m / (uint64_t)POW10[-shift]);
  }
  return 0;
}

double arec__dec_to_double(arec_dec d) {
  return (double)d.v / (double)POW10[d.scale];
}

/* d at `scale` (>= d.scale exact; saturates; < d.scale truncates or rounds
 * up with up != 0). */
static int64_t at_scale(arec_dec d, int scale, int up) {
  if (scale >= d.scale) {
    int64_t f = POW10[scale - d.scale];
    if (d.v > INT64_MAX / f) return INT64_MAX;
    return d.v * f;
  }
  int64_t f = POW10[d.scale - scale], q = d.v / f;
  if (up && d.v % f) q++;
  return q;
}

void arec__dec_format(char *out, size_t len, arec_dec d, int scale) {
  if (scale < 0) scale = 0;
  if (scale > AREC_DEC_MAX_SCALE) scale = AREC_DEC_MAX_SCALE;
  int64_t v = at_scale(d, scale, 0);
  if (scale == 0)
    snprintf(out, len, "%lld", (long long)v);
  else
    snprintf(out, len, "%lld.%0*lld", (long long)(v / POW10[scale]), scale,
             (long long)(v % POW10[scale]));
}

int arec__dec_cmp(arec_dec a, arec_dec b) {
  int s = a.scale > b.scale ? a.scale : b.scale;
  int64_t x = at_scale(a, s, 0), y = at_scale(b, s, 0);
  return x < y ? -1 : x > y;
}

/* ----------------------------------------------------------------- parse */
static void get_dec(const cJSON *f, const char *k, arec_dec *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, k);
  if (cJSON_IsString(v)) arec__dec_parse(out, v->valuestring);
  else if (cJSON_IsNumber(v) && v->valuedouble >= 0)
    arec__dec_from_double(out, v->valuedouble, 8);
}

static double get_double(const cJSON *f, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, k);
  arec_dec d = {0, 0};
  if (cJSON_IsNumber(v)) return v->valuedouble;
  if (cJSON_IsString(v) && arec__dec_parse(&d, v->valuestring) == 0)
    return arec__dec_to_double(d);
  return 0;
}

/* a missing flag means "applies" */
static int get_flag(const cJSON *f, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, k);
  return v ? cJSON_IsTrue(v) : 1;
}

static void get_str(char *out, size_t len, const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (cJSON_IsString(v)) snprintf(out, len, "%s", v->valuestring);
}

int arec__rules_parse(arec_xrules *out, const char *json, const char *xsym) {
  cJSON *j = json ? cJSON_Parse(json) : NULL, *syms, *s, *f;
  const cJSON *found = NULL;
  double min_notional = 0, notional = 0;
  int has_min_notional = 0, mn_market = 1, n_market = 1;
  memset(out, 0, sizeof *out);
  syms = cJSON_GetObjectItemCaseSensitive(j, "symbols");
  if (!cJSON_IsArray(syms)) {
    cJSON_Delete(j);
    arec_error_set("exchangeInfo answer without symbols");
    return AREC_EINVAL;
  }
  cJSON_ArrayForEach(s, syms) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "symbol");
    if (cJSON_IsString(n) && strcmp(n->valuestring, xsym) == 0) found = s;
  }
  if (!found) {
    cJSON_Delete(j);
    arec_error_set("exchangeInfo has no symbol %.31s", xsym);
    return AREC_ENOTFOUND;
  }
  snprintf(out->symbol, sizeof out->symbol, "%s", xsym);
  get_str(out->base_asset, sizeof out->base_asset, found, "baseAsset");
  get_str(out->quote_asset, sizeof out->quote_asset, found, "quoteAsset");
  cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(found, "filters")) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "filterType");
    if (!cJSON_IsString(t)) continue;
    if (!strcmp(t->valuestring, "LOT_SIZE")) {
      get_dec(f, "stepSize", &out->step);
      get_dec(f, "minQty", &out->min_qty);
      get_dec(f, "maxQty", &out->max_qty);
    } else if (!strcmp(t->valuestring, "MARKET_LOT_SIZE")) {
      get_dec(f, "stepSize", &out->mstep);
      get_dec(f, "minQty", &out->mmin_qty);
      get_dec(f, "maxQty", &out->mmax_qty);
    } else if (!strcmp(t->valuestring, "PRICE_FILTER")) {
      get_dec(f, "tickSize", &out->tick);
      get_dec(f, "minPrice", &out->min_price);
      get_dec(f, "maxPrice", &out->max_price);
    } else if (!strcmp(t->valuestring, "MIN_NOTIONAL")) {
      min_notional = get_double(f, "minNotional");
      mn_market = get_flag(f, "applyToMarket");
      has_min_notional = 1;
    } else if (!strcmp(t->valuestring, "NOTIONAL")) {
      notional = get_double(f, "minNotional");
      n_market = get_flag(f, "applyMinToMarket");
    }
  }
  /* both may be published; the stricter one applies */
  if (has_min_notional && min_notional >= notional) {
    out->min_notional = min_notional;
    out->notional_market = mn_market;
  } else {
    out->min_notional = notional;
    out->notional_market = n_market;
  }
  cJSON_Delete(j);
  return 0;
}

/* ------------------------------------------------------------ quantities */
static int64_t floor_to(int64_t v, int64_t step) {
  return step > 0 ? v / step * step : v;
}

int arec__rules_qty(const arec_xrules *r, double qty, double price,
                    int market, arec_xqty *out) {
  int use_m = market && r->mstep.v > 0;
  int scale = r->step.v > 0 ? r->step.scale : 8;
  int64_t v, st, mst = 0, minq, maxq = 0;
  char a[48], b[48];
  memset(out, 0, sizeof *out);
  if (use_m && r->mstep.scale > scale) scale = r->mstep.scale;
  if (r->step.v <= 0 && !use_m) scale = 8; /* no LOT_SIZE: 8 decimals */
  st = r->step.v > 0 ? at_scale(r->step, scale, 0) : 1;
  if (use_m) mst = at_scale(r->mstep, scale, 0);
  if (arec__dec_from_double(&out->qty, qty, scale) < 0 || !(price >= 0)) {
    snprintf(out->why, sizeof out->why, "invalid quantity");
    return AREC_ECONFLICT;
  }
  v = out->qty.v;
  /* maxQty first (the largest order allowed), then the step(s) */
  if (r->max_qty.v > 0) maxq = at_scale(r->max_qty, scale, 0);
  if (use_m && r->mmax_qty.v > 0) {
    int64_t mm = at_scale(r->mmax_qty, scale, 0);
    if (!maxq || mm < maxq) maxq = mm;
  }
  if (maxq && v > maxq) v = maxq;
  if (v == INT64_MAX) {
    snprintf(out->why, sizeof out->why, "quantity out of range");
    return AREC_ECONFLICT;
  }
  /* round down to every step in force (they nest in practice; the loop
   * settles any pair: each pass only lowers v) */
  for (int i = 0; i < 64; i++) {
    int64_t w = floor_to(floor_to(v, st), mst);
    if (w == v) break;
    v = w;
    if (i == 63) v = 0;
  }
  out->qty.v = v;
  out->qty.scale = scale;
  out->decimals = scale;
  arec__dec_format(out->text, sizeof out->text, out->qty, scale);
  out->value = arec__dec_to_double(out->qty);
  out->notional = out->value * price;
  if (v <= 0) {
    snprintf(out->why, sizeof out->why,
             "quantity rounds to zero at the step (qty %.12g)", qty);
    return AREC_ECONFLICT;
  }
  minq = r->min_qty.v > 0 ? at_scale(r->min_qty, scale, 1) : 0;
  if (use_m && r->mmin_qty.v > 0) {
    int64_t mm = at_scale(r->mmin_qty, scale, 1);
    if (mm > minq) minq = mm;
  }
  if (v < minq) {
    arec_dec m = {minq, scale};
    arec__dec_format(a, sizeof a, m, scale);
    snprintf(out->why, sizeof out->why, "below minQty %.40s (qty %.40s)", a,
             out->text);
    return AREC_ECONFLICT;
  }
  if (r->min_notional > 0 && (!market || r->notional_market) &&
      out->notional < r->min_notional) {
    snprintf(a, sizeof a, "%.8g", r->min_notional);
    snprintf(b, sizeof b, "%.8g", out->notional);
    snprintf(out->why, sizeof out->why,
             "below the minimum notional %.24s (qty %.40s x price = %.24s)", a,
             out->text, b);
    return AREC_ECONFLICT;
  }
  return 0;
}

int arec__rules_price(const arec_xrules *r, double price, int dir,
                      arec_dec *out, char *text, size_t len) {
  int scale = r->tick.v > 0 ? r->tick.scale : 8;
  int64_t t = r->tick.v > 0 ? r->tick.v : 1, n, v;
  arec_dec fine;
  if (!isfinite(price) || price <= 0) return AREC_ECONFLICT;
  /* a few digits more than the tick decide the rounding (fewer when the
   * price is too large for them) */
  int extra = AREC_DEC_MAX_SCALE - scale < 6 ? AREC_DEC_MAX_SCALE - scale : 6;
  while (extra > 0 && (t > INT64_MAX / POW10[extra] ||
                       arec__dec_from_double(&fine, price, scale + extra) != 0))
    extra--;
  if (arec__dec_from_double(&fine, price, scale + extra) != 0)
    return AREC_ECONFLICT;
  int64_t unit = t * POW10[extra];
  n = fine.v / unit;
  int64_t rem = fine.v % unit;
  if ((dir > 0 && rem) || (dir == 0 && rem >= unit - rem)) n++;
  v = n * t;
  if (r->min_price.v > 0 && v < at_scale(r->min_price, scale, 1))
    v = at_scale(r->min_price, scale, 1);
  if (r->max_price.v > 0 && v > at_scale(r->max_price, scale, 0))
    v = at_scale(r->max_price, scale, 0);
  if (v <= 0) return AREC_ECONFLICT;
  out->v = v;
  out->scale = scale;
  if (text) arec__dec_format(text, len, *out, scale);
  return 0;
}
