/*
 * json.c -- strict JSON helpers of the admin API (json.h).
 *
 * How: a small recursive-descent checker walks the bytes once with RFC
 * 8259's grammar (values, string escapes, number syntax, UTF-8 without
 * overlong forms or surrogates) and requires the value to end the text
 * (whitespace aside); only then does cJSON build the tree.  Integers are
 * read from cJSON's double only when it is integral and within 2^53 - 1,
 * where a double is exact; they are written as raw "%lld" text.
 *
 * Never: accept trailing bytes, read past `len`, recurse without bound, or
 * print an integer through a double.
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 64

typedef struct scan {
  const unsigned char *p, *end;
  const char *why;
} scan;

static int bad(scan *s, const char *why) {
  if (!s->why) s->why = why;
  return -1;
}

static void ws(scan *s) {
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static int hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence starting at s->p (a byte >= 0x80). */
static int utf8(scan *s) {
  const unsigned char *p = s->p;
  size_t left = (size_t)(s->end - p), n;
  unsigned cp;
  if (p[0] >= 0xc2 && p[0] <= 0xdf) {
    n = 2, cp = p[0] & 0x1f;
  } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
    n = 3, cp = p[0] & 0x0f;
  } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
    n = 4, cp = p[0] & 0x07;
  } else {
    return bad(s, "invalid UTF-8");
  }
  if (left < n) return bad(s, "invalid UTF-8");
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return bad(s, "invalid UTF-8");
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return bad(s, "invalid UTF-8");
  s->p += n;
  return 0;
}

static int string(scan *s) {
  s->p++; /* the opening quote */
  while (s->p < s->end) {
    unsigned char c = *s->p;
    if (c == '"') {
      s->p++;
      return 0;
    }
    if (c < 0x20) return bad(s, "control character in a string");
    if (c == '\\') {
      if (s->end - s->p < 2) break;
      unsigned char e = s->p[1];
      if (e == 'u') {
        if (s->end - s->p < 6 || !hex(s->p[2]) || !hex(s->p[3]) ||
            !hex(s->p[4]) || !hex(s->p[5]))
          return bad(s, "bad \\u escape");
        s->p += 6;
      } else if (strchr("\"\\/bfnrt", e) && e) {
        s->p += 2;
      } else {
        return bad(s, "bad escape in a string");
      }
    } else if (c >= 0x80) {
      if (utf8(s)) return -1;
    } else {
      s->p++;
    }
  }
  return bad(s, "unterminated string");
}

static int digits(scan *s) {
  const unsigned char *start = s->p;
  while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
  return s->p > start ? 0 : bad(s, "malformed number");
}

static int number(scan *s) {
  if (*s->p == '-') s->p++;
  if (s->p < s->end && *s->p == '0') {
    s->p++;
  } else if (digits(s)) {
    return -1;
  }
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (digits(s)) return -1;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
    if (digits(s)) return -1;
  }
  return 0;
}

static int word(scan *s, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
    return bad(s, "unexpected character");
  s->p += n;
  return 0;
}

static int value(scan *s, int depth);

/* An object or an array: open/close brackets, members separated by ','. */
static int container(scan *s, int depth, int object) {
  if (depth >= MAX_DEPTH) return bad(s, "nested too deeply");
  unsigned char close = object ? '}' : ']';
  s->p++;
  ws(s);
  if (s->p < s->end && *s->p == close) {
    s->p++;
    return 0;
  }
  for (;;) {
    if (object) {
      ws(s);
      if (s->p >= s->end || *s->p != '"') return bad(s, "expected a key");
      if (string(s)) return -1;
      ws(s);
      if (s->p >= s->end || *s->p != ':') return bad(s, "expected ':'");
      s->p++;
    }
    if (value(s, depth + 1)) return -1;
    ws(s);
    if (s->p >= s->end) return bad(s, "unexpected end");
    if (*s->p == close) {
      s->p++;
      return 0;
    }
    if (*s->p != ',') return bad(s, "expected ',' or a closing bracket");
    s->p++;
  }
}

static int value(scan *s, int depth) {
  ws(s);
  if (s->p >= s->end) return bad(s, "unexpected end");
  switch (*s->p) {
  case '{': return container(s, depth, 1);
  case '[': return container(s, depth, 0);
  case '"': return string(s);
  case 't': return word(s, "true");
  case 'f': return word(s, "false");
  case 'n': return word(s, "null");
  default:
    if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) return number(s);
    return bad(s, "unexpected character");
  }
}

int arec_json_check(const char *text, size_t len, const char **why) {
  scan s = {(const unsigned char *)text, (const unsigned char *)text + len,
            NULL};
  if (!text) s.end = s.p;
  int rc = value(&s, 0);
  if (rc == 0) {
    ws(&s);
    if (s.p != s.end) rc = bad(&s, "trailing bytes after the JSON value");
  }
  if (why) *why = rc ? s.why : NULL;
  return rc;
}

cJSON *arec_json_parse(const char *text, size_t len, const char **why) {
  if (arec_json_check(text, len, why) != 0) return NULL;
  cJSON *j = cJSON_ParseWithLength(text, len);
  if (!j && why) *why = "malformed JSON";
  return j;
}

cJSON *arec_json_parse_object(const char *text, size_t len,
                              const char **why) {
  cJSON *j = arec_json_parse(text, len, why);
  if (!j) return NULL;
  if (!cJSON_IsObject(j)) {
    if (why) *why = "expected a JSON object";
    cJSON_Delete(j);
    return NULL;
  }
  /* the keys a handler reads: each once (a second copy would be silently
   * ignored by one reader and used by another) */
  int n = 0;
  for (const cJSON *a = j->child; a; a = a->next, n++) {
    if (n >= 64) {
      if (why) *why = "too many fields";
      cJSON_Delete(j);
      return NULL;
    }
    for (const cJSON *b = a->next; b; b = b->next)
      if (strcmp(a->string, b->string) == 0) {
        if (why) *why = "a key appears twice";
        cJSON_Delete(j);
        return NULL;
      }
  }
  return j;
}

/* ------------------------------------------------------------- readers */
static const cJSON *field(const cJSON *o, const char *key) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
  return (!it || cJSON_IsNull(it)) ? NULL : it;
}

int arec_json_get_int(const cJSON *obj, const char *key, long long min,
                      long long max, long long *out) {
  const cJSON *it = field(obj, key);
  if (!it) return 1;
  double d = it->valuedouble;
  if (!cJSON_IsNumber(it) || !isfinite(d) || floor(d) != d ||
      fabs(d) > (double)AREC_JSON_INT_MAX)
    return -1;
  long long v = (long long)d;
  if (v < min || v > max) return -1;
  *out = v;
  return 0;
}

int arec_json_get_string(const cJSON *obj, const char *key, size_t max_len,
                         const char **out) {
  const cJSON *it = field(obj, key);
  if (!it) return 1;
  if (!cJSON_IsString(it) || !it->valuestring ||
      strlen(it->valuestring) > max_len)
    return -1;
  *out = it->valuestring;
  return 0;
}

int arec_json_get_bool(const cJSON *obj, const char *key, int *out) {
  const cJSON *it = field(obj, key);
  if (!it) return 1;
  if (!cJSON_IsBool(it)) return -1;
  *out = cJSON_IsTrue(it);
  return 0;
}

int arec_json_get_number(const cJSON *obj, const char *key, double *out) {
  const cJSON *it = field(obj, key);
  if (!it) return 1;
  if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) return -1;
  *out = it->valuedouble;
  return 0;
}

int arec_json_parse_int(const char *s, long long min, long long max,
                        long long *out) {
  if (!s) return -1;
  const char *p = s;
  int neg = *p == '-';
  if (neg) p++;
  size_t n = strspn(p, "0123456789");
  if (n == 0 || p[n] || n > 16 || (n > 1 && p[0] == '0')) return -1;
  long long v = 0;
  for (size_t i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
  if (v > AREC_JSON_INT_MAX) return -1;
  if (neg) v = -v;
  if (v < min || v > max) return -1;
  *out = v;
  return 0;
}

/* -------------------------------------------------------------- writers */
cJSON *arec_json_add_int(cJSON *obj, const char *key, long long v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", v);
  return cJSON_AddRawToObject(obj, key, buf);
}

cJSON *arec_json_add_string_or_null(cJSON *obj, const char *key,
                                    const char *s) {
  return s ? cJSON_AddStringToObject(obj, key, s)
           : cJSON_AddNullToObject(obj, key);
}

cJSON *arec_json_add_json_text(cJSON *obj, const char *key,
                               const char *text) {
  if (!text) return cJSON_AddNullToObject(obj, key);
  cJSON *v = arec_json_parse(text, strlen(text), NULL);
  if (!v) return cJSON_AddStringToObject(obj, key, text);
  if (!cJSON_AddItemToObject(obj, key, v)) {
    cJSON_Delete(v);
    return NULL;
  }
  return v;
}

cJSON *arec_json_add_time(cJSON *obj, const char *key, long long ms) {
  if (ms <= 0) return cJSON_AddNullToObject(obj, key);
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char buf[40];
  if (!gmtime_r(&t, &tm)) return cJSON_AddNullToObject(obj, key);
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
  return cJSON_AddStringToObject(obj, key, buf);
}
