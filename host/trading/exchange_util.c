/*
 * exchange_util.c -- pure helpers of the exchange client: symbol mapping
 * ("BTC/USDT" -> "BTCUSDT"), hex HMAC-SHA256 signatures as Binance defines
 * them, the endpoint choice (EXCHANGE_API_BASE, else testnet/mainnet of the
 * exchange row), client order ids within Binance's rule and the exact test
 * of whether an id is one agent's, and the classes of order rejections.
 *
 * No I/O and no state.  Must never log or keep a key or a secret.
 */
#include "trading/exchange.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* ---------------------------------------------------------------- symbol */
int arec__xsymbol(char *out, size_t len, const char *symbol) {
  size_t n = 0;
  if (!out || !len || !symbol || !*symbol) return AREC_EINVAL;
  for (const char *p = symbol; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '/' || c == '-' || c == '_') continue;
    if (!isalnum(c)) return AREC_EINVAL;
    if (n + 1 >= len) return AREC_EINVAL;
    out[n++] = (char)toupper(c);
  }
  if (n == 0) return AREC_EINVAL;
  out[n] = '\0';
  return 0;
}

/* --------------------------------------------------------------- signing */
void arec__hmac_hex(char out[65], const char *key, const char *msg,
                    size_t msglen) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  static const char hex[] = "0123456789abcdef";
  HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg,
       msglen, mac, &maclen);
  for (unsigned int i = 0; i < maclen && i < 32; i++) {
    out[2 * i] = hex[mac[i] >> 4];
    out[2 * i + 1] = hex[mac[i] & 15];
  }
  out[64] = '\0';
}

/* -------------------------------------------------------------- endpoint */
int arec__xbase_url(char *out, size_t len, const char *exchange, int testnet,
                    const char *override) {
  const char *base;
  size_t n;
  if (override && *override) {
    base = override;
  } else if (!exchange || !*exchange || strcasecmp(exchange, "binance") == 0) {
    base = testnet ? "https://testnet.binance.vision" : "https://api.binance.com";
  } else {
    arec_error_set("unknown exchange (only binance is supported)");
    return AREC_EINVAL;
  }
  n = strlen(base);
  while (n > 0 && base[n - 1] == '/') n--;
  if (n == 0 || n + 1 > len) {
    arec_error_set("exchange base URL too long or empty");
    return AREC_EINVAL;
  }
  memcpy(out, base, n);
  out[n] = '\0';
  return 0;
}

/* ------------------------------------------------------ client order ids */
static int coid_char_ok(unsigned char c) {
  return isalnum(c) || c == '.' || c == ':' || c == '/' || c == '_' ||
         c == '-';
}

int arec__client_order_id_valid(const char *s) {
  size_t n = 0;
  if (!s || !*s) return 0;
  for (; s[n]; n++)
    if (n >= 36 || !coid_char_ok((unsigned char)s[n])) return 0;
  return 1;
}

static size_t base36(char *out, uint64_t v) {
  char tmp[16];
  size_t n = 0;
  static const char dig[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  do {
    tmp[n++] = dig[v % 36];
    v /= 36;
  } while (v && n < sizeof tmp);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  out[n] = '\0';
  return n;
}

void arec__client_order_id(char out[37], const char *agent_id,
                           uint64_t fence, uint64_t seq) {
  char f[16], s[16];
  size_t fl = base36(f, fence), sl = base36(s, seq);
  size_t room = 36 - fl - sl - 2; /* two '-' separators; >= 8 always */
  size_t n = 0, idlen;
  if (!agent_id) agent_id = "";
  idlen = strlen(agent_id);
  if (idlen > room) {
    /* too long: a prefix plus a hash of the whole id keeps ids distinct */
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    char hs[8];
    for (size_t i = 0; i < idlen; i++)
      h = (h ^ (unsigned char)agent_id[i]) * 1099511628211ULL;
    snprintf(hs, sizeof hs, "%06llx", (unsigned long long)(h & 0xffffff));
    for (; n < room - 7; n++) {
      unsigned char c = (unsigned char)agent_id[n];
      out[n] = coid_char_ok(c) ? (char)c : '_';
    }
    out[n++] = '.';
    memcpy(out + n, hs, 6);
    n += 6;
  } else {
    for (; n < idlen; n++) {
      unsigned char c = (unsigned char)agent_id[n];
      out[n] = coid_char_ok(c) ? (char)c : '_';
    }
  }
  if (n == 0) out[n++] = 'a';
  out[n++] = '-';
  memcpy(out + n, f, fl);
  n += fl;
  out[n++] = '-';
  memcpy(out + n, s, sl);
  n += sl;
  out[n] = '\0';
}

/* base36 token [s, e) into *v; 0 ok, -1 not base36 or too large. */
static int unbase36(const char *s, const char *e, uint64_t *v) {
  uint64_t x = 0;
  if (e <= s || e - s > 13) return -1;
  for (; s < e; s++) {
    unsigned d;
    if (*s >= '0' && *s <= '9') d = (unsigned)(*s - '0');
    else if (*s >= 'a' && *s <= 'z') d = (unsigned)(*s - 'a') + 10;
    else return -1;
    if (x > (UINT64_MAX - d) / 36) return -1;
    x = x * 36 + d;
  }
  *v = x;
  return 0;
}

int arec__client_order_id_ours(const char *coid, const char *agent_id,
                               uint64_t *fence, uint64_t *seq) {
  const char *d2, *d1;
  uint64_t f, q;
  char mine[37];
  if (!coid || !agent_id || !arec__client_order_id_valid(coid)) return 0;
  d2 = strrchr(coid, '-');
  if (!d2 || d2 == coid) return 0;
  for (d1 = d2 - 1; d1 > coid && *d1 != '-'; d1--) {}
  if (*d1 != '-') return 0;
  if (unbase36(d1 + 1, d2, &f) || unbase36(d2 + 1, d2 + strlen(d2), &q))
    return 0;
  /* the id this agent would have used with that fence and sequence */
  arec__client_order_id(mine, agent_id, f, q);
  if (strcmp(mine, coid) != 0) return 0;
  if (fence) *fence = f;
  if (seq) *seq = q;
  return 1;
}

/* ------------------------------------------------------------ rejections */
arec_xreject arec__xreject_reason(long code, const char *msg) {
  if (code == -1013 || (msg && strncasecmp(msg, "Filter failure", 14) == 0))
    return AREC_XREJ_FILTER;
  if (code == -2010 && msg && strcasestr(msg, "insufficient balance"))
    return AREC_XREJ_BALANCE;
  return AREC_XREJ_OTHER;
}

const char *arec__xreject_name(arec_xreject r) {
  switch (r) {
  case AREC_XREJ_FILTER: return "filter";
  case AREC_XREJ_BALANCE: return "insufficient_balance";
  default: return "other";
  }
}

const char *arec__xreject_text(arec_xreject r) {
  switch (r) {
  case AREC_XREJ_FILTER: return "filter failure";
  case AREC_XREJ_BALANCE: return "insufficient balance";
  default: return "rejected";
  }
}

int arec__order_final(const arec_order *o) {
  static const char *const fin[] = {"FILLED", "CANCELED", "EXPIRED",
                                    "REJECTED", "EXPIRED_IN_MATCH"};
  for (size_t i = 0; i < sizeof fin / sizeof fin[0]; i++)
    if (strcmp(o->status, fin[i]) == 0) return 1;
  return 0;
}
