/*
 * util.c -- small helpers of the PostgreSQL backend: reading result values
 * (strictly, where a value that does not convert must be noticed), error
 * texts cut to what the repository keeps, counting the rows a
 * statement matched, and building array literals ("{\"a\",\"b\"}") that
 * are passed as ONE text parameter of a statement (so batches stay
 * parameterised: no SQL is ever built from data).  Must never print or
 * abort.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "pg/pg_internal.h"

char *arec__pg_strdup(const char *s) { return s ? strdup(s) : NULL; }

int arec__pg_matched(arec_pg *pg, const char *sql, int nparams,
                     const char *const *p) {
  PGresult *r;
  int err = arec__pg_query(pg, sql, nparams, p, NULL, NULL, &r);
  if (err)
    return err;
  int n = PQntuples(r);
  PQclear(r);
  return n;
}

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

int arec__pg_to_double(const char *text, double *out) {
  if (!text || !*text)
    return -1;
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno == ERANGE || !end || *end || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *p) {
  unsigned char c = p[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

const char *arec__pg_error_text(const char *in, char *out) {
  if (!in)
    return NULL;
  const unsigned char *p = (const unsigned char *)in;
  size_t o = 0;
  while (*p) {
    size_t n = utf8_len(p);
    if (n == 0 || (n == 1 && *p < 0x20 && *p != '\t' && *p != '\n') ||
        *p == 0x7F) {
      if (o + 1 > AREC__PG_ERROR_MAX)
        break;
      out[o++] = '?';
      p++;
      continue;
    }
    if (o + n > AREC__PG_ERROR_MAX)
      break;
    memcpy(out + o, p, n);
    o += n;
    p += n;
  }
  out[o] = 0;
  return out;
}

const char *arec__pg_i64(char *buf, long long v) {
  snprintf(buf, 24, "%lld", v);
  return buf;
}

const char *arec__pg_u64s(char *buf, uint64_t v) {
  snprintf(buf, 24, "%llu", (unsigned long long)v);
  return buf;
}

/* --------------------------------------------------------- array literal */
void arec__pg_arr_open(arec__buf *b) {
  b->len = 0;
  arec__buf_put(b, "{", 1);
}

static void sep(arec__buf *b) {
  if (b->len > 1)
    arec__buf_put(b, ",", 1);
}

void arec__pg_arr_str(arec__buf *b, const char *s) {
  sep(b);
  if (!s) {
    arec__buf_put(b, "NULL", 4);
    return;
  }
  arec__buf_put(b, "\"", 1);
  for (const char *p = s; *p; p++) {
    const char *q = p;
    while (*q && *q != '"' && *q != '\\')
      q++;
    arec__buf_put(b, p, (size_t)(q - p));
    if (!*q)
      break;
    arec__buf_put(b, "\\", 1);
    arec__buf_put(b, q, 1);
    p = q;
  }
  arec__buf_put(b, "\"", 1);
}

void arec__pg_arr_u64(arec__buf *b, uint64_t v) {
  char t[32];
  int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
  sep(b);
  arec__buf_put(b, t, (size_t)n);
}

void arec__pg_arr_dbl(arec__buf *b, double v) {
  char t[40];
  int n = snprintf(t, sizeof t, "%.17g", v);
  sep(b);
  arec__buf_put(b, t, (size_t)n);
}

const char *arec__pg_arr_close(arec__buf *b) {
  arec__buf_put(b, "}", 1);
  return b->oom ? NULL : b->p;
}

const char *arec__pg_arr_strings(arec__buf *b, const char *const *s,
                                 size_t n) {
  arec__buf_init(b);
  arec__pg_arr_open(b);
  for (size_t i = 0; i < n; i++)
    arec__pg_arr_str(b, s[i]);
  return arec__pg_arr_close(b);
}

int arec__pg_not_found(const char *agent_id) {
  arec_error_set("pg: agent %s not found", agent_id);
  return AREC_ENOTFOUND;
}

int arec__pg_stale(const char *what, const char *agent_id, uint64_t fence) {
  arec_error_set("pg: %s of %s not recorded: fence %llu is stale", what,
                 agent_id, (unsigned long long)fence);
  return AREC_EFENCED;
}
