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

void api_buf_put(api_buf *b, const char *s, size_t n) {
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

void api_buf_str(api_buf *b, const char *s) { api_buf_put(b, s, strlen(s)); }

/* A JSON string, escaped like cJSON's printer does. */
void api_buf_quoted(api_buf *b, const char *s) {
  api_buf_put(b, "\"", 1);
  const char *run = s;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
    api_buf_put(b, run, (size_t)(s - run));
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
  api_buf_put(b, run, (size_t)(s - run));
  api_buf_put(b, "\"", 1);
}

static void key(api_buf *b, const char *k, int first) {
  if (!first) api_buf_put(b, ",", 1);
  api_buf_quoted(b, k);
  api_buf_put(b, ":", 1);
}

static void str_or_null(api_buf *b, const char *s) {
  if (s)
    api_buf_quoted(b, s);
  else
    api_buf_put(b, "null", 4);
}

static void integer(api_buf *b, long long v) {
  char t[24];
  api_buf_put(b, t, (size_t)snprintf(t, sizeof t, "%lld", v));
}

/* cJSON's test that a printed number reads back as the same double. */
static int same_double(double a, double b) {
  double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return fabs(a - b) <= m * DBL_EPSILON;
}

/* As cJSON prints a number. */
static void number(api_buf *b, double d) {
  char t[32];
  int n;
  if (isnan(d) || isinf(d)) {
    n = snprintf(t, sizeof t, "null");
  } else {
    double back = 0;
    n = snprintf(t, sizeof t, "%1.15g", d);
    if (sscanf(t, "%lg", &back) != 1 || !same_double(back, d))
      n = snprintf(t, sizeof t, "%1.17g", d);
  }
  api_buf_put(b, t, (size_t)n);
}

static void when(api_buf *b, long long ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char s[48];
  if (ms <= 0 || !gmtime_r(&t, &tm)) {
    api_buf_put(b, "null", 4);
    return;
  }
  size_t n = strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(s + n, sizeof s - n, ".%03dZ", (int)(ms % 1000));
  api_buf_quoted(b, s);
}

static void memory(api_buf *b, const char *text) {
  if (!text) {
    api_buf_put(b, "null", 4);
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
  api_buf_put(b, "{", 1);
  key(b, "id", 1);
  api_buf_quoted(b, a->id ? a->id : "");
  key(b, "user_id", 0);
  integer(b, a->user_id);
  key(b, "name", 0);
  api_buf_quoted(b, a->name ? a->name : "");
  key(b, "strategy", 0);
  api_buf_quoted(b, a->strategy ? a->strategy : "");
  key(b, "mode", 0);
  api_buf_quoted(b, arec_svc_agent_is_live(a) ? "live" : "paper");
  key(b, "symbols", 0);
  api_buf_put(b, "[", 1);
  for (size_t i = 0; i < a->nsymbols; i++) {
    const arec_symbol_record *s = &a->symbols[i];
    if (i) api_buf_put(b, ",", 1);
    api_buf_put(b, "{", 1);
    key(b, "symbol", 1);
    api_buf_quoted(b, s->symbol ? s->symbol : "");
    key(b, "budget", 0);
    number(b, s->budget);
    key(b, "balance", 0);
    number(b, s->balance);
    key(b, "memory", 0);
    memory(b, s->memory);
    key(b, "fence", 0);
    integer(b, (long long)s->fence);
    key(b, "updated_at", 0);
    when(b, s->updated_at_ms);
    api_buf_put(b, "}", 1);
  }
  api_buf_put(b, "]", 1);
  key(b, "is_active", 0);
  api_buf_str(b, a->is_active ? "true" : "false");
  key(b, "is_trading", 0);
  api_buf_str(b, a->is_trading ? "true" : "false");
  key(b, "running_on", 0);
  str_or_null(b, a->running_on);
  key(b, "fence", 0);
  integer(b, (long long)a->fence);
  key(b, "created_at", 0);
  when(b, a->created_at_ms);
  key(b, "updated_at", 0);
  when(b, a->updated_at_ms);
  key(b, "start_failures", 0);
  integer(b, a->start_failures);
  key(b, "last_error", 0);
  str_or_null(b, a->last_error);
  key(b, "retry_at", 0);
  when(b, a->retry_at_ms);
  api_buf_put(b, "}", 1);
}
