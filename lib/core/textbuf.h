/*
 * textbuf.h -- the library's one growable text buffer (textbuf.c): the
 * metrics exposition and the PostgreSQL backend's array literals are built
 * in it.  Not installed.
 */
#ifndef AREC_CORE_TEXTBUF_H
#define AREC_CORE_TEXTBUF_H

#include <stddef.h>

/* p is NUL-terminated once anything is put; oom sticks after the first
 * failed allocation (later puts do nothing). */
typedef struct arec__buf {
  char *p;
  size_t len, cap;
  int oom;
} arec__buf;

void arec__buf_init(arec__buf *b);
/* Frees the text and leaves b as arec__buf_init does. */
void arec__buf_free(arec__buf *b);
void arec__buf_put(arec__buf *b, const char *s, size_t n);
/* Appends printf-style text. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void arec__buf_printf(arec__buf *b, const char *fmt, ...);

#endif
