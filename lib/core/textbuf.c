/*
 * textbuf.c -- a growable, NUL-terminated text buffer (see textbuf.h).
 * The capacity doubles from 256 bytes until the text fits, so appending is
 * amortised constant time.
 *
 * Never fails loudly: an allocation failure sets b->oom, keeps the text
 * written so far and turns later appends into no-ops; the caller checks
 * oom once at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/textbuf.h"

void arec__buf_init(arec__buf *b) { memset(b, 0, sizeof *b); }

void arec__buf_free(arec__buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* Room for n more bytes and the NUL; 0, or -1 with b->oom set. */
static int reserve(arec__buf *b, size_t n) {
  size_t cap = b->cap ? b->cap : 256;
  char *p;
  if (b->oom)
    return -1;
  if (b->len + n + 1 <= b->cap)
    return 0;
  while (cap < b->len + n + 1)
    cap *= 2;
  if (!(p = realloc(b->p, cap))) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void arec__buf_put(arec__buf *b, const char *s, size_t n) {
  if (reserve(b, n))
    return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void arec__buf_printf(arec__buf *b, const char *fmt, ...) {
  va_list ap;
  int k;
  va_start(ap, fmt);
  k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (k < 0) {
    b->oom = 1;
    return;
  }
  if (reserve(b, (size_t)k))
    return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)k + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)k;
}
