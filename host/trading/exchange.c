/*
 * exchange.c -- the Binance-compatible spot REST client (libcurl): the
 * request itself, market data, the account (balances, commission rate) and
 * the symbol rules through the hub's cache.  Orders and trades are in
 * exchange_orders.c.
 *
 * One CURL easy handle per call (no shared connection state between
 * threads), connect and total timeouts on every request, every call gated
 * by the hub's circuit breaker and Retry-After ban of its endpoint and its
 * outcome recorded there.  Signed calls carry timestamp + recvWindow and
 * signature = hex HMAC-SHA256(secret, query string + body), with the key in
 * the X-MBX-APIKEY header.  Errors become AREC_E* codes with a message that
 * never contains the key, the secret, the signature or the query string.
 */
#include "trading/exchange_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "growbuf.h"

#include "trading/rules.h"

#define MAX_BODY (1024 * 1024)

struct arec_exchange {
  arec_exchange_hub *hub;
  char *base;
  char *key;
  char *secret;
  int64_t connect_timeout_ms, timeout_ms, recv_window_ms, order_timeout_ms;
  long last_code;     /* of the last error answer */
  char last_msg[128];
};

/* ---------------------------------------------------------------- object */
static void wipe_free(char *s) {
  if (!s) return;
  volatile char *p = s;
  while (*p) *p++ = 0;
  free(s);
}

int arec_exchange_new(arec_exchange **out, arec_exchange_hub *hub,
                      const arec_exchange_config *cfg) {
  arec_exchange *x;
  if (!out) return AREC_EINVAL;
  *out = NULL;
  if (!hub || !cfg || !cfg->base_url || !*cfg->base_url) return AREC_EINVAL;
  x = calloc(1, sizeof *x);
  if (!x) return AREC_ENOMEM;
  x->hub = hub;
  x->base = strdup(cfg->base_url);
  x->key = cfg->api_key ? strdup(cfg->api_key) : NULL;
  x->secret = cfg->api_secret ? strdup(cfg->api_secret) : NULL;
  x->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 2000;
  x->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
  x->recv_window_ms = cfg->recv_window_ms > 0 ? cfg->recv_window_ms : 5000;
  x->order_timeout_ms =
      cfg->order_timeout_ms > 0 ? cfg->order_timeout_ms : x->timeout_ms;
  if (!x->base || (cfg->api_key && !x->key) ||
      (cfg->api_secret && !x->secret)) {
    arec_exchange_free(x);
    return AREC_ENOMEM;
  }
  *out = x;
  return 0;
}

void arec_exchange_free(arec_exchange *x) {
  if (!x) return;
  free(x->base);
  wipe_free(x->key);
  wipe_free(x->secret);
  free(x);
}

const char *arec_exchange_base(const arec_exchange *x) { return x->base; }
arec_exchange_hub *arec__xhub(const arec_exchange *x) { return x->hub; }

long arec_exchange_last_error(const arec_exchange *x, const char **msg) {
  if (msg) *msg = x->last_msg;
  return x->last_code;
}

/* --------------------------------------------------------------- request */
typedef struct reply {
  long status;
  arec_growbuf body;
  int64_t retry_after_ms;
} reply;

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
  reply *r = ud;
  size_t len = size * nmemb;
  if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
    char tmp[32];
    size_t n = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
    memcpy(tmp, data + 12, n);
    tmp[n] = '\0';
    long s = strtol(tmp, NULL, 10);
    if (s > 0 && s < 86400) r->retry_after_ms = (int64_t)s * 1000;
  }
  return len;
}

static long long wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses {"code":..,"msg":..} into the thread's last error and the
 * client's last error answer; returns the code (0 if none). */
static long exchange_error(arec_exchange *x, const reply *r, const char *path) {
  long code = 0;
  const char *msg = NULL;
  cJSON *j = r->body.p ? cJSON_Parse(r->body.p) : NULL;
  if (j) {
    cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
    cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "msg");
    if (cJSON_IsNumber(c)) code = (long)c->valuedouble;
    if (cJSON_IsString(m)) msg = m->valuestring;
  }
  x->last_code = code;
  snprintf(x->last_msg, sizeof x->last_msg, "%s", msg ? msg : "");
  if (code)
    arec_error_set("exchange error %ld on %s (HTTP %ld): %.200s", code, path,
                   r->status, msg ? msg : "");
  else
    arec_error_set("exchange answered HTTP %ld on %s", r->status, path);
  cJSON_Delete(j);
  return code;
}

/* One request (exchange_int.h). */
int arec__xrequest(arec_exchange *x, const char *method, const char *path,
                   const char *params, int signed_, cJSON **out_json) {
  char *total = NULL, *url = NULL;
  const char *query = "", *body = NULL;
  reply r;
  CURL *c = NULL;
  struct curl_slist *hdr = NULL;
  int rc, is_post = strcmp(method, "POST") == 0;
  size_t tl;

  *out_json = NULL;
  memset(&r, 0, sizeof r);
  r.body.max = MAX_BODY;
  x->last_code = 0;
  x->last_msg[0] = '\0';
  if (signed_ && (!x->key || !x->secret)) {
    arec_error_set("exchange call %s needs API credentials", path);
    return AREC_EINVAL;
  }
  rc = arec__hub_gate(x->hub, x->base);
  if (rc) return rc;

  tl = strlen(params) + 160;
  total = malloc(tl);
  url = malloc(strlen(x->base) + strlen(path) + tl + 2);
  if (!total || !url) {
    rc = AREC_ENOMEM;
    goto done_unrecorded;
  }
  if (signed_) {
    char sig[65];
    int n = snprintf(total, tl, "%s%stimestamp=%lld&recvWindow=%lld", params,
                     *params ? "&" : "", wall_ms(),
                     (long long)x->recv_window_ms);
    /* all params in one place: query for GET/DELETE, body for POST, so
     * "query string + body" is just that string */
    arec__hmac_hex(sig, x->secret, total, (size_t)n);
    snprintf(total + n, tl - (size_t)n, "&signature=%s", sig);
  } else {
    snprintf(total, tl, "%s", params);
  }
  if (is_post) body = total;
  else query = total;
  sprintf(url, "%s%s%s%s", x->base, path, *query ? "?" : "", query);

  c = curl_easy_init();
  if (!c) {
    rc = AREC_ENOMEM;
    goto done_unrecorded;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)x->connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   (long)(is_post ? x->order_timeout_ms : x->timeout_ms));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, arec_growbuf_curl_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "agentrecoverd");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (is_post) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    hdr = curl_slist_append(hdr, "Content-Type: application/x-www-form-urlencoded");
  } else if (strcmp(method, "DELETE") == 0) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  if (signed_) {
    size_t kl = strlen(x->key) + 16;
    char *kh = malloc(kl);
    if (kh) {
      snprintf(kh, kl, "X-MBX-APIKEY: %s", x->key);
      hdr = curl_slist_append(hdr, kh);
      memset(kh, 0, kl);
      free(kh);
    }
  }
  if (hdr) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);

  CURLcode cc = curl_easy_perform(c);
  if (cc != CURLE_OK) {
    rc = cc == CURLE_OPERATION_TIMEDOUT ? AREC_ETIMEDOUT : AREC_EUNAVAILABLE;
    arec_error_set("exchange request %s %s failed: %s", method, path,
                   r.body.too_large ? "answer too large"
                                    : curl_easy_strerror(cc));
    arec__hub_record(x->hub, x->base, 1, 0);
    goto done;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (r.status == 429 || r.status == 418) {
    if (r.retry_after_ms <= 0) r.retry_after_ms = 1000;
    arec__hub_record(x->hub, x->base, 2, r.retry_after_ms);
    arec_error_set("exchange rate limit (HTTP %ld) on %s: calls refused for "
                   "%lld ms", r.status, path, (long long)r.retry_after_ms);
    rc = AREC_EUNAVAILABLE;
    goto done;
  }
  if (r.status >= 500 || r.status < 200) {
    arec__hub_record(x->hub, x->base, 1, 0);
    exchange_error(x, &r, path);
    rc = AREC_EUNAVAILABLE;
    goto done;
  }
  if (r.status >= 300) {
    arec__hub_record(x->hub, x->base, 2, 0);
    long code = exchange_error(x, &r, path);
    rc = code == -2013 ? AREC_ENOTFOUND : AREC_EBACKEND;
    goto done;
  }
  arec__hub_record(x->hub, x->base, 0, 0);
  *out_json = r.body.p ? cJSON_Parse(r.body.p) : NULL;
  if (!*out_json) {
    arec_error_set("exchange answer on %s is not JSON", path);
    rc = AREC_EBACKEND;
    goto done;
  }
  rc = 0;
done:
  curl_slist_free_all(hdr);
  curl_easy_cleanup(c);
  free(r.body.p);
  if (total) memset(total, 0, strlen(total));
  free(total);
  free(url);
  return rc;
done_unrecorded:
  /* the gate let a request through (maybe a half-open probe): count it */
  arec__hub_record(x->hub, x->base, 1, 0);
  goto done;
}

/* ------------------------------------------------------------- endpoints */
int arec__xnum(const cJSON *j, const char *name, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
  if (cJSON_IsNumber(v)) {
    *out = v->valuedouble;
    return 0;
  }
  if (cJSON_IsString(v) && v->valuestring) {
    char *end;
    errno = 0;
    *out = strtod(v->valuestring, &end);
    if (end != v->valuestring && errno == 0) return 0;
  }
  return AREC_EBACKEND;
}

int arec__xsym_param(char *out, size_t len, const char *symbol) {
  char s[32];
  if (arec__xsymbol(s, sizeof s, symbol) != 0) {
    arec_error_set("invalid symbol");
    return AREC_EINVAL;
  }
  snprintf(out, len, "symbol=%s", s);
  return 0;
}

int arec_exchange_price(arec_exchange *x, const char *symbol, double *out) {
  char p[64];
  cJSON *j;
  int rc = arec__xsym_param(p, sizeof p, symbol);
  if (rc) return rc;
  rc = arec__xrequest(x, "GET", "/api/v3/ticker/price", p, 0, &j);
  if (rc) return rc;
  if (arec__xnum(j, "price", out) != 0 || *out <= 0) {
    arec_error_set("exchange ticker answer without a valid price");
    rc = AREC_EBACKEND;
  }
  cJSON_Delete(j);
  return rc;
}

int arec_exchange_klines(arec_exchange *x, const char *symbol,
                         const char *interval, unsigned limit, double *out,
                         size_t *out_n) {
  char p[128], s[64];
  cJSON *j, *k;
  size_t n = 0;
  int rc = arec__xsym_param(s, sizeof s, symbol);
  *out_n = 0;
  if (rc) return rc;
  if (!interval || strspn(interval, "0123456789smhdwM") != strlen(interval) ||
      !*interval || limit == 0 || limit > 1000)
    return AREC_EINVAL;
  snprintf(p, sizeof p, "%s&interval=%s&limit=%u", s, interval, limit);
  rc = arec__xrequest(x, "GET", "/api/v3/klines", p, 0, &j);
  if (rc) return rc;
  if (!cJSON_IsArray(j)) rc = AREC_EBACKEND;
  cJSON_ArrayForEach(k, j) {
    if (rc || n >= limit) break;
    cJSON *close = cJSON_GetArrayItem(k, 4);
    double v = 0;
    if (cJSON_IsString(close)) v = strtod(close->valuestring, NULL);
    else if (cJSON_IsNumber(close)) v = close->valuedouble;
    if (v <= 0) rc = AREC_EBACKEND;
    else out[n++] = v;
  }
  if (rc) arec_error_set("exchange klines answer malformed");
  else *out_n = n;
  cJSON_Delete(j);
  return rc;
}

int arec_exchange_balance(arec_exchange *x, const char *asset, double *out) {
  cJSON *j, *b, *bal;
  int rc = arec__xrequest(x, "GET", "/api/v3/account", "", 1, &j);
  *out = 0;
  if (rc) return rc;
  bal = cJSON_GetObjectItemCaseSensitive(j, "balances");
  if (!cJSON_IsArray(bal)) {
    arec_error_set("exchange account answer without balances");
    cJSON_Delete(j);
    return AREC_EBACKEND;
  }
  cJSON_ArrayForEach(b, bal) {
    cJSON *a = cJSON_GetObjectItemCaseSensitive(b, "asset");
    if (cJSON_IsString(a) && strcmp(a->valuestring, asset) == 0)
      arec__xnum(b, "free", out);
  }
  cJSON_Delete(j);
  return 0;
}


int arec_exchange_fee_rate(arec_exchange *x, double *out) {
  cJSON *j;
  const cJSON *cr;
  double v = -1;
  int rc = arec__xrequest(x, "GET", "/api/v3/account", "", 1, &j);
  *out = 0;
  if (rc) return rc;
  cr = cJSON_GetObjectItemCaseSensitive(j, "commissionRates");
  if (!cJSON_IsObject(cr) || arec__xnum(cr, "taker", &v) != 0) {
    double bp;
    v = -1;
    if (arec__xnum(j, "takerCommission", &bp) == 0) v = bp / 10000.0;
  }
  cJSON_Delete(j);
  if (!(v >= 0) || v >= 0.1) {
    arec_error_set("exchange account answer without a usable commission rate");
    return AREC_EBACKEND;
  }
  *out = v;
  return 0;
}

/* GET /api/v3/exchangeInfo?symbol= into *out. */
static int rules_fetch(arec_exchange *x, const char *xsym, arec_xrules *out) {
  char p[64], *text;
  cJSON *j;
  int rc;
  snprintf(p, sizeof p, "symbol=%s", xsym);
  rc = arec__xrequest(x, "GET", "/api/v3/exchangeInfo", p, 0, &j);
  if (rc) return rc;
  text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (!text) return AREC_ENOMEM;
  rc = arec__rules_parse(out, text, xsym);
  free(text);
  return rc == AREC_ENOTFOUND ? AREC_EBACKEND : rc;
}

int arec_exchange_rules(arec_exchange *x, const char *symbol,
                        arec_xrules *out) {
  char xsym[32];
  arec_xrules fresh;
  int have = 0, refresh, rc;
  if (arec__xsymbol(xsym, sizeof xsym, symbol) != 0) {
    arec_error_set("invalid symbol");
    return AREC_EINVAL;
  }
  refresh = arec__hub_rules_take(x->hub, x->base, xsym, out, &have);
  if (refresh < 0) return AREC_ENOMEM;
  if (refresh) {
    rc = rules_fetch(x, xsym, &fresh);
    arec__hub_rules_put(x->hub, x->base, xsym, rc == 0 ? &fresh : NULL);
    if (rc == 0) {
      *out = fresh;
      return 0;
    }
    if (!have) return rc; /* the error of the fetch is set */
    return 0;             /* the old rules stay; retried later */
  }
  if (!have) {
    arec_error_set("exchange rules of %s not known yet", xsym);
    return AREC_EUNAVAILABLE;
  }
  return 0;
}
