/*
 * random.c -- random bytes from getrandom() (the kernel's urandom source,
 * blocking only until it is first seeded) and lowercase hex text of bytes.
 * An interrupted call is retried; any other failure ends the reading, and
 * the caller decides between a fallback (arec__random_bytes) and an error
 * (arec__random_fill).
 *
 * Never logs the bytes it reads.
 */
#include <errno.h>
#include <string.h>

#include <sys/random.h>

#include "agentrecover.h"
#include "core/random.h"

size_t arec__random_bytes(void *buf, size_t n) {
  unsigned char *p = buf;
  size_t got = 0;
  while (got < n) {
    ssize_t k = getrandom(p + got, n - got, 0);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    got += (size_t)k;
  }
  return got;
}

int arec__random_fill(void *buf, size_t n, const char *who) {
  if (arec__random_bytes(buf, n) == n)
    return 0;
  arec_error_set("%s: getrandom failed: %s", who, strerror(errno));
  return AREC_EBACKEND;
}

void arec__hex(char *out, const unsigned char *b, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}
