/*
 * api_render.c -- the admin API's agent record as JSON text, written
 * straight into one growing buffer (GET /api/agents/{id} and the pages of
 * GET /api/agents).
 *
 * How: the same keys, order and values as a cJSON tree of the record
 * printed unformatted -- strings escaped as cJSON escapes them, numbers as
 * cJSON 1.7.15 prints them (%1.15g, or %1.17g when that does not read
 * back), times as ISO 8601 UTC with ms, a symbol's memory parsed and
 * printed again (so it comes out normalised, or as a string when it is not
 * JSON) -- without a node, a key copy and a value copy per field: a page of 100 agents made tens of thousands of
 * allocations that way, more CPU than the database spent on the page.
 *
 * Never: print an integer (user id, fence) through a double, or leave a
 * truncated document behind an allocation failure (oom is set, the caller
 * answers 500).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"

/* The slow path of put: grow (doubling) and append. */
static void grow_put(api_buf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

/* Appends n bytes: a bounds check and a copy while the buffer has room. */
static inline void put(api_buf *b, const char *s, size_t n) {
  if (b->len + n < b->cap) {
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
  } else {
    grow_put(b, s, n);
  }
}
/* A string literal, its length known at compile time. */
#define PUT(b, lit) put((b), (lit), sizeof(lit) - 1)

void api_buf_put(api_buf *b, const char *s, size_t n) { put(b, s, n); }

void api_buf_str(api_buf *b, const char *s) { api_buf_put(b, s, strlen(s)); }

/* A JSON string, escaped like cJSON's printer does. */
void api_buf_quoted(api_buf *b, const char *s) {
  PUT(b, "\"");
  const char *run = s;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
    put(b, run, (size_t)(s - run));
    char esc[8];
    switch (ch) {
    case '"': memcpy(esc, "\\\"", 3); break;
    case '\\': memcpy(esc, "\\\\", 3); break;
    case '\b': memcpy(esc, "\\b", 3); break;
    case '\f': memcpy(esc, "\\f", 3); break;
    case '\n': memcpy(esc, "\\n", 3); break;
    case '\r': memcpy(esc, "\\r", 3); break;
    case '\t': memcpy(esc, "\\t", 3); break;
    default: snprintf(esc, sizeof esc, "\\u%04x", ch); break;
    }
    api_buf_str(b, esc);
    run = s + 1;
  }
  put(b, run, (size_t)(s - run));
  PUT(b, "\"");
}

static void str_or_null(api_buf *b, const char *s) {
  if (s)
    api_buf_quoted(b, s);
  else
    PUT(b, "null");
}

/* The decimal digits of v into the end of t[24]; returns where they
 * start (printf's "%lld" without its machinery: this runs for every
 * field of every agent of a page). */
static char *digits(char t[24], long long v) {
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                               : (unsigned long long)v;
  char *p = t + 24;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) *--p = '-';
  return p;
}

static void integer(api_buf *b, long long v) {
  char t[24];
  char *p = digits(t, v);
  put(b, p, (size_t)(t + 24 - p));
}

/* cJSON's test that a printed number reads back as the same double. */
static int same_double(double a, double b) {
  double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return fabs(a - b) <= m * DBL_EPSILON;
}

/* As cJSON prints a number.  A whole number below 10^15 in magnitude is
 * what %1.15g prints for it: its digits (and "-0" for minus zero). */
static void number(api_buf *b, double d) {
  char t[32];
  int n;
  if (isnan(d) || isinf(d)) {
    n = snprintf(t, sizeof t, "null");
  } else if (fabs(d) < 1e15 && d == trunc(d)) {
    if (d == 0 && signbit(d))
      PUT(b, "-0");
    else
      integer(b, (long long)d);
    return;
  } else {
    n = snprintf(t, sizeof t, "%1.15g", d);
    if (!same_double(strtod(t, NULL), d)) /* reads back as cJSON's sscanf */
      n = snprintf(t, sizeof t, "%1.17g", d);
  }
  put(b, t, (size_t)n);
}

/* n as exactly `w` digits at p. */
static void fixed(char *p, int n, int w) {
  for (int i = w - 1; i >= 0; i--, n /= 10) p[i] = (char)('0' + n % 10);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC), or null for no time. */
static void when(api_buf *b, long long ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char s[48];
  if (ms <= 0 || !gmtime_r(&t, &tm)) {
    PUT(b, "null");
    return;
  }
  if (tm.tm_year + 1900 >= 1000 && tm.tm_year + 1900 <= 9999) {
    memcpy(s, "\"0000-00-00T00:00:00.000Z\"", 27);
    fixed(s + 1, tm.tm_year + 1900, 4);
    fixed(s + 6, tm.tm_mon + 1, 2);
    fixed(s + 9, tm.tm_mday, 2);
    fixed(s + 12, tm.tm_hour, 2);
    fixed(s + 15, tm.tm_min, 2);
    fixed(s + 18, tm.tm_sec, 2);
    fixed(s + 21, (int)(ms % 1000), 3);
    put(b, s, 26);
    return;
  }
  size_t n = strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(s + n, sizeof s - n, ".%03dZ", (int)(ms % 1000));
  api_buf_quoted(b, s);
}

static void memory(api_buf *b, const char *text) {
  if (!text) {
    PUT(b, "null");
    return;
  }
  cJSON *v = arec_json_parse(text, strlen(text), NULL);
  char *p = v ? cJSON_PrintUnformatted(v) : NULL;
  if (v && !p) b->oom = 1;
  if (p)
    api_buf_str(b, p);
  else
    api_buf_quoted(b, text);
  free(p);
  cJSON_Delete(v);
}

void api_agent_write(api_buf *b, const arec_agent_record *a) {
  PUT(b, "{\"id\":");
  api_buf_quoted(b, a->id ? a->id : "");
  PUT(b, ",\"user_id\":");
  integer(b, a->user_id);
  PUT(b, ",\"name\":");
  api_buf_quoted(b, a->name ? a->name : "");
  PUT(b, ",\"strategy\":");
  api_buf_quoted(b, a->strategy ? a->strategy : "");
  PUT(b, ",\"mode\":");
  api_buf_quoted(b, arec_svc_agent_is_live(a) ? "live" : "paper");
  PUT(b, ",\"symbols\":[");
  for (size_t i = 0; i < a->nsymbols; i++) {
    const arec_symbol_record *s = &a->symbols[i];
    if (i) PUT(b, ",");
    PUT(b, "{\"symbol\":");
    api_buf_quoted(b, s->symbol ? s->symbol : "");
    PUT(b, ",\"budget\":");
    number(b, s->budget);
    PUT(b, ",\"balance\":");
    number(b, s->balance);
    PUT(b, ",\"memory\":");
    memory(b, s->memory);
    PUT(b, ",\"fence\":");
    integer(b, (long long)s->fence);
    PUT(b, ",\"updated_at\":");
    when(b, s->updated_at_ms);
    PUT(b, "}");
  }
  PUT(b, "]");
  PUT(b, ",\"is_active\":");
  if (a->is_active)
    PUT(b, "true");
  else
    PUT(b, "false");
  PUT(b, ",\"is_trading\":");
  if (a->is_trading)
    PUT(b, "true");
  else
    PUT(b, "false");
  PUT(b, ",\"running_on\":");
  str_or_null(b, a->running_on);
  PUT(b, ",\"fence\":");
  integer(b, (long long)a->fence);
  PUT(b, ",\"created_at\":");
  when(b, a->created_at_ms);
  PUT(b, ",\"updated_at\":");
  when(b, a->updated_at_ms);
  PUT(b, ",\"start_failures\":");
  integer(b, a->start_failures);
  PUT(b, ",\"last_error\":");
  str_or_null(b, a->last_error);
  PUT(b, ",\"retry_at\":");
  when(b, a->retry_at_ms);
  PUT(b, "}");
}
