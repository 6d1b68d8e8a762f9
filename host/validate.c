/*
 * validate.c -- the host's input policy (validate.h): one function per
 * kind of value, each naming the field at fault.
 *
 * How: every string is first checked for presence and for control bytes
 * (< 0x20, 0x7f), then for strict UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF) where text is allowed, then for its own syntax
 * and length.  Numbers are checked for range (and finiteness).
 * Must never: copy the value into a message (it may be a secret), accept
 * a string that the library or the database would refuse.
 */
#include "validate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const EXCHANGES[] = {"binance", NULL};

const char *const *arec_host_exchanges(void) { return EXCHANGES; }

int arec_host_invalid_set(arec_host_invalid *e, const char *field,
                          const char *fmt, ...) {
  if (e) {
    char why[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    snprintf(e->message, sizeof e->message, "%s: %s", field ? field : "",
             why);
  }
  return AREC_EINVAL;
}

/* Required and without control bytes; *out_len its length. */
static int present(const char *field, const char *s, size_t *out_len,
                   arec_host_invalid *e) {
  if (!s || !*s)
    return arec_host_invalid_set(e, field, "required");
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
    if (*p < 0x20 || *p == 0x7f)
      return arec_host_invalid_set(e, field,
                                   "control characters are not allowed");
  if (out_len)
    *out_len = n;
  return 0;
}

/* present(), and at most max bytes (the message names them as `unit`). */
static int present_within(const char *field, const char *s, size_t max,
                          const char *unit, arec_host_invalid *e) {
  size_t n = 0;
  int rc = present(field, s, &n, e);
  if (rc)
    return rc;
  if (n > max)
    return arec_host_invalid_set(e, field, "at most %zu %s", max, unit);
  return 0;
}

/* 1 when s has at most max bytes, each one `allowed`. */
static int made_of(const char *s, size_t max, int (*allowed)(unsigned char)) {
  size_t n = 0;
  for (; s[n]; n++)
    if (n == max || !allowed((unsigned char)s[n]))
      return 0;
  return 1;
}

/* Length of the UTF-8 sequence at p, 0 when invalid. */
static size_t utf8_seq(const unsigned char *p) {
  unsigned c = p[0];
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    return (p[1] & 0xc0) == 0x80 ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
      return 0;
    if (c == 0xe0 && p[1] < 0xa0) /* overlong */
      return 0;
    if (c == 0xed && p[1] >= 0xa0) /* surrogates */
      return 0;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
        (p[3] & 0xc0) != 0x80)
      return 0;
    if (c == 0xf0 && p[1] < 0x90) /* overlong */
      return 0;
    if (c == 0xf4 && p[1] >= 0x90) /* above U+10FFFF */
      return 0;
    return 4;
  }
  return 0;
}

int arec_host_valid_no_nul(const char *field, const char *s, size_t len,
                           arec_host_invalid *e) {
  if (s && memchr(s, '\0', len))
    return arec_host_invalid_set(e, field,
                                 "control characters are not allowed");
  return 0;
}

int arec_host_valid_text(const char *field, const char *s, size_t max_chars,
                         arec_host_invalid *e) {
  int rc = present(field, s, NULL, e);
  if (rc)
    return rc;
  size_t chars = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; chars++) {
    size_t k = utf8_seq(p);
    if (!k)
      return arec_host_invalid_set(e, field, "not valid UTF-8");
    p += k;
  }
  if (chars > max_chars)
    return arec_host_invalid_set(e, field, "at most %zu characters",
                                 max_chars);
  return 0;
}

int arec_host_valid_agent_id(const char *field, const char *s,
                             arec_host_invalid *e) {
  int rc = present(field, s, NULL, e);
  if (rc)
    return rc;
  if (!arec_agent_id_valid(s))
    return arec_host_invalid_set(e, field,
                                 "an agent id: 1..64 of A-Z a-z 0-9 _ -, not "
                                 "\"start\" or \"stop\"");
  return 0;
}

int arec_host_valid_name(const char *field, const char *s,
                         arec_host_invalid *e) {
  return arec_host_valid_text(field, s, AREC_HOST_NAME_MAX, e);
}

/* present(), with out (when given) cleared first: a refused value leaves
 * "" there. */
static int present_into(const char *field, const char *s, char *out,
                        size_t out_len, arec_host_invalid *e) {
  if (out && out_len)
    out[0] = '\0';
  return present(field, s, NULL, e);
}

static int alnum(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9');
}

int arec_host_valid_symbol(const char *field, const char *s, char *out,
                           size_t out_len, arec_host_invalid *e) {
  int rc = present_into(field, s, out, out_len, e);
  if (rc)
    return rc;
  const char *slash = strchr(s, '/');
  size_t base = slash ? (size_t)(slash - s) : 0;
  size_t quote = slash ? strlen(slash + 1) : 0;
  int ok = slash && base >= 1 && base <= AREC_HOST_SYMBOL_PART_MAX &&
           quote >= 1 && quote <= AREC_HOST_SYMBOL_PART_MAX;
  for (const char *p = s; ok && *p; p++)
    ok = p == slash || alnum((unsigned char)*p);
  if (!ok)
    return arec_host_invalid_set(e, field,
                                 "BASE/QUOTE, each 1..20 letters or digits "
                                 "(e.g. BTC/USDT)");
  if (out) {
    if (out_len < base + quote + 2)
      return arec_host_invalid_set(e, field, "too long");
    size_t i = 0;
    for (; s[i]; i++) {
      char c = s[i];
      out[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    out[i] = '\0';
  }
  return 0;
}

static int strategy_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

int arec_host_valid_strategy(const char *field, const char *s,
                             arec_manager *mgr, arec_host_invalid *e) {
  int rc = present(field, s, NULL, e);
  if (rc)
    return rc;
  if (!made_of(s, 64, strategy_char) ||
      (mgr && !arec_manager_has_type(mgr, s)))
    return arec_host_invalid_set(e, field,
                                 "not a registered strategy (see "
                                 "/api/strategies)");
  return 0;
}

int arec_host_valid_exchange(const char *field, const char *s, char *out,
                             size_t out_len, arec_host_invalid *e) {
  int rc = present_into(field, s, out, out_len, e);
  if (rc)
    return rc;
  for (size_t i = 0; EXCHANGES[i]; i++) {
    if (strcasecmp(s, EXCHANGES[i]) == 0) {
      if (out)
        snprintf(out, out_len, "%s", EXCHANGES[i]);
      return 0;
    }
  }
  return arec_host_invalid_set(e, field, "not a supported exchange (binance)");
}

int arec_host_valid_credential(const char *field, const char *s,
                               arec_host_invalid *e) {
  int rc = present_within(field, s, AREC_HOST_CREDENTIAL_MAX, "characters",
                          e);
  if (rc)
    return rc;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p <= 0x20 || *p >= 0x7f)
      return arec_host_invalid_set(e, field,
                                   "printable ASCII characters without "
                                   "spaces");
  return 0;
}

int arec_host_valid_user_id(const char *field, long long id,
                            arec_host_invalid *e) {
  if (id < 1 || id > AREC_HOST_USER_ID_MAX)
    return arec_host_invalid_set(e, field, "an integer 1..9007199254740991");
  return 0;
}

int arec_host_valid_budget(const char *field, double v,
                           arec_host_invalid *e) {
  if (!isfinite(v) || !(v > 0) || v > AREC_HOST_BUDGET_MAX)
    return arec_host_invalid_set(e, field, "a number > 0 and <= 1e15");
  return 0;
}

static int pod_char(unsigned char c) {
  return alnum(c) || c == '.' || c == '_' || c == '-';
}

int arec_host_valid_pod(const char *field, const char *s,
                        arec_host_invalid *e) {
  int rc = present(field, s, NULL, e);
  if (rc)
    return rc;
  if (!made_of(s, 253, pod_char))
    return arec_host_invalid_set(e, field,
                                 "a pod name: 1..253 of A-Z a-z 0-9 . _ -");
  return 0;
}

int arec_host_valid_params(const char *field, const char *s,
                           arec_host_invalid *e) {
  if (!s)
    return 0;
  int rc = present_within(field, s, AREC_HOST_PARAMS_MAX, "bytes", e);
  if (rc)
    return rc;
  const char *p = s;
  while (*p == ' ')
    p++;
  if (*p != '{')
    return arec_host_invalid_set(e, field, "a JSON object");
  return 0;
}
