/*
 * text.c -- checks and cleaning of the text the library passes on: a
 * strict JSON scanner (agent params must be one JSON object; log fields
 * marked as numbers must be JSON numbers), control characters in names,
 * and the cleaning of error texts before a repository stores them (valid
 * UTF-8, no control characters, at most AREC__TEXT_MAX bytes cut at a
 * character boundary).
 *
 * The scanner follows RFC 8259 and is stricter where PostgreSQL's jsonb is:
 * strings must be valid UTF-8, "\u0000" and unpaired surrogate escapes are
 * refused, nesting is limited to 64 levels.  It never allocates.
 */
#include <string.h>

#include "internal.h"

#define JSON_DEPTH_MAX 64

/* ------------------------------------------------------------------ UTF-8 */
/* Length (1..4) of the valid UTF-8 sequence at p, or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_len(const unsigned char *p) {
  unsigned char c = p[0];
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    return (p[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
                   (p[3] & 0xc0) == 0x80
               ? 4
               : 0;
  }
  return 0;
}

int arec__has_control(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return 1;
  return 0;
}

int arec__text_ok(const char *s) {
  if (!s || !*s)
    return 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    size_t k = utf8_len(p);
    if (k == 0 || (k == 1 && (*p < 0x20 || *p == 0x7f)))
      return 0;
    p += k;
  }
  return 1;
}

void arec__text_clean(char *dst, size_t cap, const char *src) {
  size_t o = 0;
  if (cap == 0)
    return;
  const unsigned char *p = (const unsigned char *)(src ? src : "");
  while (*p) {
    size_t k = utf8_len(p);
    if (k == 0) { /* an invalid byte */
      if (o + 1 >= cap)
        break;
      dst[o++] = '?';
      p++;
      continue;
    }
    if (o + k >= cap)
      break; /* never split a character */
    if (k == 1 && (*p < 0x20 || *p == 0x7f))
      dst[o++] = ' ';
    else
      memcpy(dst + o, p, k), o += k;
    p += k;
  }
  dst[o] = '\0';
}

/* ------------------------------------------------------------------- JSON */
typedef struct scan {
  const unsigned char *p;
  int depth;
} scan;

static void ws(scan *s) {
  while (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')
    s->p++;
}

static int digits(scan *s) {
  if (*s->p < '0' || *s->p > '9')
    return 0;
  while (*s->p >= '0' && *s->p <= '9')
    s->p++;
  return 1;
}

static int number(scan *s) {
  if (*s->p == '-')
    s->p++;
  if (*s->p == '0')
    s->p++;
  else if (!digits(s))
    return 0;
  if (*s->p == '.') {
    s->p++;
    if (!digits(s))
      return 0;
  }
  if (*s->p == 'e' || *s->p == 'E') {
    s->p++;
    if (*s->p == '+' || *s->p == '-')
      s->p++;
    if (!digits(s))
      return 0;
  }
  return 1;
}

static int hex4(const unsigned char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return 0;
  }
  *out = v;
  return 1;
}

static int string(scan *s) {
  if (*s->p != '"')
    return 0;
  s->p++;
  for (;;) {
    unsigned char c = *s->p;
    if (c == '"') {
      s->p++;
      return 1;
    }
    if (c < 0x20)
      return 0; /* also the end of the text */
    if (c != '\\') {
      size_t k = utf8_len(s->p);
      if (k == 0)
        return 0;
      s->p += k;
      continue;
    }
    s->p++;
    c = *s->p;
    if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
        c == 'n' || c == 'r' || c == 't') {
      s->p++;
      continue;
    }
    unsigned u, lo;
    if (c != 'u' || !hex4(s->p + 1, &u) || u == 0)
      return 0;
    s->p += 5;
    if (u >= 0xdc00 && u <= 0xdfff)
      return 0; /* a low surrogate alone */
    if (u >= 0xd800 && u <= 0xdbff) {
      if (s->p[0] != '\\' || s->p[1] != 'u' || !hex4(s->p + 2, &lo) ||
          lo < 0xdc00 || lo > 0xdfff)
        return 0;
      s->p += 6;
    }
  }
}

static int value(scan *s);

static int members(scan *s, int object) {
  s->p++; /* '{' or '[' */
  if (++s->depth > JSON_DEPTH_MAX)
    return 0;
  ws(s);
  unsigned char close = object ? '}' : ']';
  if (*s->p == close) {
    s->p++;
    s->depth--;
    return 1;
  }
  for (;;) {
    if (object) {
      if (!string(s))
        return 0;
      ws(s);
      if (*s->p != ':')
        return 0;
      s->p++;
      ws(s);
    }
    if (!value(s))
      return 0;
    ws(s);
    if (*s->p == ',') {
      s->p++;
      ws(s);
      continue;
    }
    if (*s->p != close)
      return 0;
    s->p++;
    s->depth--;
    return 1;
  }
}

static int word(scan *s, const char *w) {
  size_t n = strlen(w);
  if (strncmp((const char *)s->p, w, n) != 0)
    return 0;
  s->p += n;
  return 1;
}

static int value(scan *s) {
  switch (*s->p) {
  case '{':
    return members(s, 1);
  case '[':
    return members(s, 0);
  case '"':
    return string(s);
  case 't':
    return word(s, "true");
  case 'f':
    return word(s, "false");
  case 'n':
    return word(s, "null");
  default:
    return number(s);
  }
}

int arec__json_object_valid(const char *text) {
  if (!text)
    return 0;
  scan s = {(const unsigned char *)text, 0};
  ws(&s);
  if (*s.p != '{' || !value(&s))
    return 0;
  ws(&s);
  return *s.p == '\0';
}

int arec__json_number_valid(const char *text) {
  if (!text)
    return 0;
  scan s = {(const unsigned char *)text, 0};
  return number(&s) && *s.p == '\0';
}
