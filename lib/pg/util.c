/*
 * util.c -- small helpers of the PostgreSQL backend: reading result values
 * and building array literals ("{\"a\",\"b\"}") that are passed as ONE
 * text parameter of a statement (so batches stay parameterised: no SQL is
 * ever built from data).  Must never print or abort.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"

char *arec__pg_strdup(const char *s) { return s ? strdup(s) : NULL; }

const char *arec__pg_val(const PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

uint64_t arec__pg_u64(const PGresult *r, int row, int col) {
  const char *v = arec__pg_val(r, row, col);
  return v ? strtoull(v, NULL, 10) : 0;
}

long long arec__pg_ll(const PGresult *r, int row, int col) {
  const char *v = arec__pg_val(r, row, col);
  return v ? strtoll(v, NULL, 10) : 0;
}

double arec__pg_dbl(const PGresult *r, int row, int col) {
  const char *v = arec__pg_val(r, row, col);
  return v ? strtod(v, NULL) : 0.0;
}

int arec__pg_bool(const PGresult *r, int row, int col) {
  const char *v = arec__pg_val(r, row, col);
  return v && v[0] == 't';
}

/* ---------------------------------------------------------------- buffer */
void arec__pg_buf_init(arec__pg_buf *b) { memset(b, 0, sizeof *b); }

void arec__pg_buf_free(arec__pg_buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

void arec__pg_buf_put(arec__pg_buf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
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

void arec__pg_arr_open(arec__pg_buf *b) {
  b->len = 0;
  arec__pg_buf_put(b, "{", 1);
}

static void sep(arec__pg_buf *b) {
  if (b->len > 1)
    arec__pg_buf_put(b, ",", 1);
}

void arec__pg_arr_str(arec__pg_buf *b, const char *s) {
  sep(b);
  if (!s) {
    arec__pg_buf_put(b, "NULL", 4);
    return;
  }
  arec__pg_buf_put(b, "\"", 1);
  for (const char *p = s; *p; p++) {
    const char *q = p;
    while (*q && *q != '"' && *q != '\\')
      q++;
    arec__pg_buf_put(b, p, (size_t)(q - p));
    if (!*q)
      break;
    arec__pg_buf_put(b, "\\", 1);
    arec__pg_buf_put(b, q, 1);
    p = q;
  }
  arec__pg_buf_put(b, "\"", 1);
}

void arec__pg_arr_u64(arec__pg_buf *b, uint64_t v) {
  char t[32];
  int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
  sep(b);
  arec__pg_buf_put(b, t, (size_t)n);
}

void arec__pg_arr_dbl(arec__pg_buf *b, double v) {
  char t[40];
  int n = snprintf(t, sizeof t, "%.17g", v);
  sep(b);
  arec__pg_buf_put(b, t, (size_t)n);
}

const char *arec__pg_arr_close(arec__pg_buf *b) {
  arec__pg_buf_put(b, "}", 1);
  return b->oom ? NULL : b->p;
}
