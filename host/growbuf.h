/*
 * growbuf.h -- a bounded, growing byte buffer: what the daemon's HTTP
 * server collects a request body into, and what every libcurl client of
 * the host (the Telegram Bot API, the exchange, agentrecoverctl) collects
 * an answer into.
 *
 * How: static inline, so that agentrecoverctl (which links none of the
 * daemon's objects) and the daemon's parts compile the same code in.  The
 * capacity doubles from 1 KiB; the text is NUL-terminated after every
 * append.  Past `max` bytes an append is refused and too_large stays set.
 *
 * Never: hold more than `max` bytes, or leave p unterminated once it is
 * allocated.
 */
#ifndef AREC_HOST_GROWBUF_H
#define AREC_HOST_GROWBUF_H

#include <stdlib.h>
#include <string.h>

typedef struct arec_growbuf {
  char *p;        /* NULL until the first append; the owner frees it */
  size_t len, cap;
  size_t max;     /* the most it holds */
  int too_large;  /* an append went past max (sticky) */
} arec_growbuf;

/* Appends n bytes: 0, 1 when that would pass max (nothing appended, and
 * nothing after it), -1 when out of memory. */
static inline int arec_growbuf_append(arec_growbuf *b, const char *data,
                                      size_t n) {
  if (b->too_large || n > b->max - b->len) {
    b->too_large = 1;
    return 1;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = 0;
  return 0;
}

/* libcurl's CURLOPT_WRITEFUNCTION with an arec_growbuf as CURLOPT_WRITEDATA:
 * a refused append ends the transfer (CURLE_WRITE_ERROR; too_large tells
 * an answer over max from a failed allocation). */
static inline size_t arec_growbuf_curl_write(char *data, size_t size,
                                             size_t nmemb, void *ud) {
  size_t n = size * nmemb;
  return arec_growbuf_append(ud, data, n) ? 0 : n;
}

#endif
