/*
 * fake_exchange.c -- the fake Binance-compatible exchange of the trading
 * tests (see fake_exchange.h): HTTP, signing, market data, exchangeInfo,
 * the account and the test hooks.  Orders, fills and trades are in
 * fake_exchange_orders.c.
 *
 * libmicrohttpd with a thread per connection, so an order answer held past
 * the client's timeout blocks nobody else.  The raw request URI comes from
 * the URI log callback (before MHD decodes it), so the signature is checked
 * over the exact bytes the client signed: raw query string + raw body, with
 * the trailing signature parameter removed.  Never used outside tests.
 */
#include "fake_exchange_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct fx_req {
  char *uri;     /* raw, with query */
  char *body;
  size_t blen;
  int seen;
} fx_req;

/* ------------------------------------------------------------- helpers */
long long fx_wall_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int fx_param(const char *s, const char *name, char *out, size_t len) {
  size_t nl = strlen(name);
  const char *p = s;
  while (p && *p) {
    if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
      const char *v = p + nl + 1, *e = strchr(v, '&');
      size_t n = e ? (size_t)(e - v) : strlen(v);
      if (n >= len) n = len - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return 1;
    }
    p = strchr(p, '&');
    if (p) p++;
  }
  return 0;
}

fx_series *fx_series_get(arec_fx *fx, const char *sym, int create) {
  for (int i = 0; i < FX_SYMS; i++)
    if (fx->syms[i].symbol[0] && strcmp(fx->syms[i].symbol, sym) == 0)
      return &fx->syms[i];
  if (!create) return NULL;
  for (int i = 0; i < FX_SYMS; i++)
    if (!fx->syms[i].symbol[0]) {
      snprintf(fx->syms[i].symbol, sizeof fx->syms[i].symbol, "%s", sym);
      fx_filters_default(&fx->syms[i].f, sym);
      return &fx->syms[i];
    }
  return NULL;
}

double fx_last_price(const fx_series *s) {
  size_t i = s->cursor ? s->cursor - 1 : 0;
  if (i >= s->n) i = s->n - 1;
  return s->p[i];
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status,
                              const char *body, int retry_after) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  enum MHD_Result ret;
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", "application/json");
  if (retry_after > 0) {
    char ra[16];
    snprintf(ra, sizeof ra, "%d", retry_after);
    MHD_add_response_header(r, "Retry-After", ra);
  }
  ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned status,
                             int code, const char *msg) {
  char b[256];
  snprintf(b, sizeof b, "{\"code\":%d,\"msg\":\"%s\"}", code, msg);
  return answer(c, status, b, 0);
}

/* Checks key header, timestamp/recvWindow and signature over total (query
 * + body, one of which carries "signature=" last).  0 ok, else answered. */
static int check_signed(arec_fx *fx, struct MHD_Connection *c,
                        const char *query, const char *body,
                        enum MHD_Result *ret) {
  const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-MBX-APIKEY");
  char *total, sig[80] = "", ts[32], rw[32], mine[65];
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  size_t tl = strlen(query) + strlen(body) + 1;
  char *cut;
  int ok = 1;
  if (!key || strcmp(key, fx->key) != 0) {
    *ret = error(c, 401, -2015, "Invalid API-key, IP, or permissions for action.");
    return -1;
  }
  total = malloc(tl);
  if (!total) return *ret = MHD_NO, -1;
  snprintf(total, tl, "%s%s", query, body);
  cut = strstr(total, "signature=");
  if (!cut || (cut != total && cut[-1] != '&')) ok = 0;
  else {
    snprintf(sig, sizeof sig, "%s", cut + 10);
    if (cut != total) cut--; /* the '&' before it */
    *cut = '\0';
  }
  if (ok) {
    HMAC(EVP_sha256(), fx->secret, (int)strlen(fx->secret),
         (unsigned char *)total, strlen(total), mac, &maclen);
    for (unsigned i = 0; i < maclen; i++) sprintf(mine + 2 * i, "%02x", mac[i]);
    mine[64] = '\0';
    ok = strcmp(mine, sig) == 0;
  }
  if (ok && (!fx_param(total, "timestamp", ts, sizeof ts) ||
             !fx_param(total, "recvWindow", rw, sizeof rw)))
    ok = 0;
  if (ok) {
    long long d = fx_wall_ms() - atoll(ts);
    if (d > atoll(rw) || d < -1000) {
      free(total);
      *ret = error(c, 400, -1021, "Timestamp for this request is outside of the recvWindow.");
      pthread_mutex_lock(&fx->mu);
      fx->st.bad_signatures++;
      pthread_mutex_unlock(&fx->mu);
      return -1;
    }
  }
  free(total);
  if (!ok) {
    pthread_mutex_lock(&fx->mu);
    fx->st.bad_signatures++;
    pthread_mutex_unlock(&fx->mu);
    *ret = error(c, 400, -1022, "Signature for this request is not valid.");
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------- handler */
void fx_printf(fx_buf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->p && b->n + (size_t)n < b->cap) {
      b->n += (size_t)n;
      return;
    }
    size_t nc = (b->cap + (size_t)n + 1) * 2;
    char *np = realloc(b->p, nc);
    if (!np) return;
    b->p = np;
    b->cap = nc;
    if (b->n == 0) b->p[0] = '\0';
  }
}

double *fx_asset_free(arec_fx *fx, const char *asset) {
  for (size_t i = 0; i < fx->nassets; i++)
    if (strcmp(fx->assets[i].name, asset) == 0) return &fx->assets[i].free;
  if (fx->nassets == FX_ASSETS) return &fx->assets[FX_ASSETS - 1].free;
  snprintf(fx->assets[fx->nassets].name, sizeof fx->assets[0].name, "%s", asset);
  fx->assets[fx->nassets].free = 0;
  return &fx->assets[fx->nassets++].free;
}

static enum MHD_Result account(arec_fx *fx, struct MHD_Connection *c) {
  fx_buf b = {NULL, 0, 0};
  enum MHD_Result ret;
  pthread_mutex_lock(&fx->mu);
  fx->st.account++;
  fx_printf(&b,
            "{\"makerCommission\":%d,\"takerCommission\":%d,"
            "\"buyerCommission\":0,\"sellerCommission\":0,"
            "\"commissionRates\":{\"maker\":\"%.8f\",\"taker\":\"%.8f\","
            "\"buyer\":\"0.00000000\",\"seller\":\"0.00000000\"},"
            "\"canTrade\":true,\"balances\":[",
            (int)(fx->fee_rate * 10000 + 0.5), (int)(fx->fee_rate * 10000 + 0.5),
            fx->fee_rate, fx->fee_rate);
  for (size_t i = 0; i < fx->nassets; i++)
    fx_printf(&b, "%s{\"asset\":\"%s\",\"free\":\"%.8f\",\"locked\":\"0.00000000\"}",
              i ? "," : "", fx->assets[i].name, fx->assets[i].free);
  fx_printf(&b, "]}");
  pthread_mutex_unlock(&fx->mu);
  ret = answer(c, 200, b.p ? b.p : "{}", 0);
  free(b.p);
  return ret;
}

/* A market-data request (counted in *counter) for sym's prices: their
 * series with fx->mu held; NULL, unlocked, when sym is NULL or has none. */
static fx_series *market_locked(arec_fx *fx, unsigned *counter,
                                const char *sym) {
  pthread_mutex_lock(&fx->mu);
  (*counter)++;
  fx_series *s = sym ? fx_series_get(fx, sym, 0) : NULL;
  if (!s || !s->n) {
    pthread_mutex_unlock(&fx->mu);
    return NULL;
  }
  return s;
}

static enum MHD_Result handle(arec_fx *fx, struct MHD_Connection *c,
                              const char *method, fx_req *rq) {
  char path[128], *q;
  const char *query = "", *body = rq->body ? rq->body : "";
  char total[2048], sym[32], buf[4096];
  enum MHD_Result ret = MHD_NO;

  snprintf(path, sizeof path, "%s", rq->uri ? rq->uri : "/");
  q = strchr(rq->uri ? rq->uri : "", '?');
  if (q) query = q + 1;
  if ((q = strchr(path, '?'))) *q = '\0';
  snprintf(total, sizeof total, "%s%s%s", query, *query && *body ? "&" : "", body);

  pthread_mutex_lock(&fx->mu);
  fx->st.requests++;
  if (fx->fail_n) {
    int st = fx->fail_status;
    if (fx->fail_n > 0) fx->fail_n--;
    fx->st.failed++;
    pthread_mutex_unlock(&fx->mu);
    if (st == 0) return MHD_NO;
    return error(c, (unsigned)st, -1001, "Internal error; unable to process your request.");
  }
  if (fx->rl_n) {
    int after = fx->rl_after;
    if (fx->rl_n > 0) fx->rl_n--;
    fx->st.failed++;
    pthread_mutex_unlock(&fx->mu);
    return answer(c, 429, "{\"code\":-1003,\"msg\":\"Too many requests.\"}", after);
  }
  pthread_mutex_unlock(&fx->mu);

  int has_sym = fx_param(total, "symbol", sym, sizeof sym);
  if (strcmp(method, "GET") == 0 && strcmp(path, "/api/v3/ticker/price") == 0) {
    fx_series *s = market_locked(fx, &fx->st.ticker, has_sym ? sym : NULL);
    if (!s) return error(c, 400, -1121, "Invalid symbol.");
    size_t i = s->cursor < s->n ? s->cursor : s->n - 1;
    if (s->cursor < s->n) s->cursor++;
    snprintf(buf, sizeof buf, "{\"symbol\":\"%s\",\"price\":\"%.8f\"}", sym, s->p[i]);
    pthread_mutex_unlock(&fx->mu);
    return answer(c, 200, buf, 0);
  }
  if (strcmp(method, "GET") == 0 && strcmp(path, "/api/v3/klines") == 0) {
    char lim[16] = "500";
    size_t n = 0, limit;
    fx_param(total, "limit", lim, sizeof lim);
    limit = (size_t)atoi(lim);
    fx_series *s = market_locked(fx, &fx->st.klines, has_sym ? sym : NULL);
    if (!s) return error(c, 400, -1121, "Invalid symbol.");
    size_t end = s->cursor ? s->cursor : 1, start = end > limit ? end - limit : 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "[");
    for (size_t i = start; i < end && n < sizeof buf - 128; i++)
      n += (size_t)snprintf(buf + n, sizeof buf - n,
                            "%s[%zu,\"%.8f\",\"%.8f\",\"%.8f\",\"%.8f\",\"1.0\",%zu]",
                            i > start ? "," : "", i * 60000, s->p[i], s->p[i],
                            s->p[i], s->p[i], i * 60000 + 59999);
    snprintf(buf + n, sizeof buf - n, "]");
    pthread_mutex_unlock(&fx->mu);
    return answer(c, 200, buf, 0);
  }
  if (strcmp(method, "GET") == 0 && strcmp(path, "/api/v3/exchangeInfo") == 0) {
    unsigned status;
    char *b = NULL;
    fx_exchange_info(fx, has_sym ? sym : "", &status, &b);
    ret = answer(c, status, b ? b : "{}", 0);
    free(b);
    return ret;
  }
  int is_orders = strcmp(path, "/api/v3/order") == 0 ||
                  strcmp(path, "/api/v3/openOrders") == 0 ||
                  strcmp(path, "/api/v3/allOrders") == 0 ||
                  strcmp(path, "/api/v3/myTrades") == 0;
  if (strcmp(path, "/api/v3/account") && !is_orders)
    return error(c, 404, -1000, "Unknown path.");
  if (check_signed(fx, c, query, body, &ret) != 0) return ret;
  if (!is_orders) return account(fx, c);

  unsigned status = 500;
  char *b = NULL;
  int hold = 0;
  fx_orders_handle(fx, method, path, total, &status, &b, &hold);
  if (hold > 0) {
    for (int waited = 0; waited < hold && !fx->stopping; waited += 10)
      usleep(10000);
  } else if (hold < 0) {
    /* filled; the answer is lost: the connection drops when released */
    pthread_mutex_lock(&fx->mu);
    while (!fx->released && !fx->stopping) pthread_cond_wait(&fx->cv, &fx->mu);
    pthread_mutex_unlock(&fx->mu);
    free(b);
    return MHD_NO;
  }
  ret = answer(c, status, b ? b : "{}", 0);
  free(b);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  arec_fx *fx = cls;
  fx_req *rq = *con_cls;
  (void)url;
  (void)version;
  if (!rq) return MHD_NO;
  if (!rq->seen) {
    rq->seen = 1;
    return MHD_YES;
  }
  if (*upload_size) {
    char *nb = realloc(rq->body, rq->blen + *upload_size + 1);
    if (!nb) return MHD_NO;
    rq->body = nb;
    memcpy(rq->body + rq->blen, upload, *upload_size);
    rq->blen += *upload_size;
    rq->body[rq->blen] = '\0';
    *upload_size = 0;
    return MHD_YES;
  }
  return handle(fx, c, method, rq);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
  fx_req *rq = calloc(1, sizeof *rq);
  (void)cls;
  (void)c;
  if (rq) rq->uri = strdup(uri);
  return rq;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode code) {
  fx_req *rq = *con_cls;
  (void)cls;
  (void)c;
  (void)code;
  if (!rq) return;
  free(rq->uri);
  free(rq->body);
  free(rq);
  *con_cls = NULL;
}

/* ----------------------------------------------------------------- API */
int arec_fx_start(arec_fx **out, const char *api_key, const char *api_secret) {
  arec_fx *fx = calloc(1, sizeof *fx);
  const union MHD_DaemonInfo *info;
  struct sockaddr_in sa;
  *out = NULL;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!fx) return -1;
  snprintf(fx->key, sizeof fx->key, "%s", api_key ? api_key : "");
  snprintf(fx->secret, sizeof fx->secret, "%s", api_secret ? api_secret : "");
  fx->fee_rate = 0.001;
  fx->fill_split = 1;
  fx->next_trade_id = 5000;
  *fx_asset_free(fx, "USDT") = 10000;
  pthread_mutex_init(&fx->mu, NULL);
  pthread_cond_init(&fx->cv, NULL);
  fx->d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
          MHD_USE_POLL,
      0, NULL, NULL, on_request, fx, MHD_OPTION_URI_LOG_CALLBACK, on_uri, fx,
      MHD_OPTION_NOTIFY_COMPLETED, on_done, fx, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&sa, MHD_OPTION_END);
  if (!fx->d) {
    fprintf(stderr, "fake exchange: MHD_start_daemon failed\n");
    pthread_cond_destroy(&fx->cv);
    pthread_mutex_destroy(&fx->mu);
    free(fx);
    return -1;
  }
  info = MHD_get_daemon_info(fx->d, MHD_DAEMON_INFO_BIND_PORT);
  snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%u",
           info ? (unsigned)info->port : 0u);
  *out = fx;
  return 0;
}

void arec_fx_stop(arec_fx *fx) {
  if (!fx) return;
  pthread_mutex_lock(&fx->mu);
  fx->stopping = 1;
  pthread_cond_broadcast(&fx->cv);
  pthread_mutex_unlock(&fx->mu);
  MHD_stop_daemon(fx->d);
  for (int i = 0; i < FX_SYMS; i++) free(fx->syms[i].p);
  pthread_cond_destroy(&fx->cv);
  pthread_mutex_destroy(&fx->mu);
  free(fx);
}

const char *arec_fx_url(const arec_fx *fx) { return fx->url; }

void arec_fx_set_prices(arec_fx *fx, const char *symbol, const double *prices,
                        size_t n) {
  pthread_mutex_lock(&fx->mu);
  fx_series *s = fx_series_get(fx, symbol, 1);
  if (s && n) {
    double *p = malloc(n * sizeof *p);
    if (p) {
      memcpy(p, prices, n * sizeof *p);
      free(s->p);
      s->p = p;
      s->n = n;
      s->cursor = 0;
    }
  }
  pthread_mutex_unlock(&fx->mu);
}

size_t arec_fx_cursor(arec_fx *fx, const char *symbol) {
  size_t c = 0;
  pthread_mutex_lock(&fx->mu);
  fx_series *s = fx_series_get(fx, symbol, 0);
  if (s) c = s->cursor;
  pthread_mutex_unlock(&fx->mu);
  return c;
}

void arec_fx_fail(arec_fx *fx, int status, int n) {
  pthread_mutex_lock(&fx->mu);
  fx->fail_status = status;
  fx->fail_n = n;
  pthread_mutex_unlock(&fx->mu);
}

void arec_fx_rate_limit(arec_fx *fx, int n, int retry_after_s) {
  pthread_mutex_lock(&fx->mu);
  fx->rl_n = n;
  fx->rl_after = retry_after_s;
  pthread_mutex_unlock(&fx->mu);
}

void arec_fx_order_delay(arec_fx *fx, int n, int delay_ms) {
  pthread_mutex_lock(&fx->mu);
  fx->delay_n = n;
  fx->delay_ms = delay_ms;
  pthread_mutex_unlock(&fx->mu);
}

void arec_fx_order_lose(arec_fx *fx, int n) {
  pthread_mutex_lock(&fx->mu);
  fx->lose_n = n;
  fx->released = 0;
  pthread_mutex_unlock(&fx->mu);
}

void arec_fx_release(arec_fx *fx) {
  pthread_mutex_lock(&fx->mu);
  fx->released = 1;
  pthread_cond_broadcast(&fx->cv);
  pthread_mutex_unlock(&fx->mu);
}

void arec_fx_set_balance(arec_fx *fx, const char *asset, double amount) {
  pthread_mutex_lock(&fx->mu);
  *fx_asset_free(fx, asset) = amount;
  pthread_mutex_unlock(&fx->mu);
}

double arec_fx_balance(arec_fx *fx, const char *asset) {
  double v;
  pthread_mutex_lock(&fx->mu);
  v = *fx_asset_free(fx, asset);
  pthread_mutex_unlock(&fx->mu);
  return v;
}

void arec_fx_set_commission(arec_fx *fx, double rate, const char *asset,
                            double asset_price) {
  pthread_mutex_lock(&fx->mu);
  fx->fee_rate = rate;
  snprintf(fx->fee_asset, sizeof fx->fee_asset, "%s", asset ? asset : "");
  fx->fee_asset_price = asset_price;
  pthread_mutex_unlock(&fx->mu);
}

void arec_fx_set_fill_split(arec_fx *fx, int n) {
  pthread_mutex_lock(&fx->mu);
  fx->fill_split = n > 0 ? n : 1;
  pthread_mutex_unlock(&fx->mu);
}

void arec_fx_last_order_params(arec_fx *fx, char *out, size_t len) {
  pthread_mutex_lock(&fx->mu);
  snprintf(out, len, "%s", fx->last_order);
  pthread_mutex_unlock(&fx->mu);
}

void arec_fx_get_stats(arec_fx *fx, arec_fx_stats *out) {
  pthread_mutex_lock(&fx->mu);
  *out = fx->st;
  pthread_mutex_unlock(&fx->mu);
}

int arec_fx_order_find(arec_fx *fx, const char *client_id, char *side_out,
                       double *qty_out) {
  int n = 0;
  pthread_mutex_lock(&fx->mu);
  for (size_t i = 0; i < fx->norders; i++)
    if (strcmp(fx->orders[i].client_id, client_id) == 0) {
      n++;
      if (side_out) strcpy(side_out, fx->orders[i].side);
      if (qty_out) *qty_out = fx->orders[i].qty;
    }
  pthread_mutex_unlock(&fx->mu);
  return n;
}

int arec_fx_order_status(arec_fx *fx, const char *client_id, char *out) {
  int rc = -1;
  pthread_mutex_lock(&fx->mu);
  for (size_t i = 0; i < fx->norders; i++)
    if (strcmp(fx->orders[i].client_id, client_id) == 0) {
      snprintf(out, 16, "%s", fx->orders[i].status);
      rc = 0;
    }
  pthread_mutex_unlock(&fx->mu);
  return rc;
}
