/*
 * fake_exchange.c -- the fake Binance-compatible exchange of the trading
 * tests (see fake_exchange.h).
 *
 * libmicrohttpd with a thread per connection, so an order answer held past
 * the client's timeout blocks nobody else.  The raw request URI comes from
 * the URI log callback (before MHD decodes it), so the signature is checked
 * over the exact bytes the client signed: raw query string + raw body, with
 * the trailing signature parameter removed.  Never used outside tests.
 */
#include "fake_exchange.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FX_SYMS 8
#define FX_ORDERS 256

typedef struct fx_series {
  char symbol[32];
  double *p;
  size_t n, cursor;
} fx_series;

typedef struct fx_order {
  char client_id[48];
  char symbol[32];
  char side[8];
  double qty, quote;
  long long id;
} fx_order;

struct arec_fx {
  struct MHD_Daemon *d;
  char url[64];
  char key[128], secret[128];
  pthread_mutex_t mu;
  fx_series syms[FX_SYMS];
  fx_order orders[FX_ORDERS];
  size_t norders;
  int fail_status, fail_n;
  int rl_n, rl_after;
  int delay_n, delay_ms;
  volatile int stopping;
  arec_fx_stats st;
  double usdt;
};

typedef struct fx_req {
  char *uri;     /* raw, with query */
  char *body;
  size_t blen;
  int seen;
} fx_req;

/* ------------------------------------------------------------- helpers */
static long long wall_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Value of `name` in "a=1&b=2" into out; 1 found, 0 not. */
static int param(const char *s, const char *name, char *out, size_t len) {
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

static fx_series *series(arec_fx *fx, const char *sym, int create) {
  for (int i = 0; i < FX_SYMS; i++)
    if (fx->syms[i].p && strcmp(fx->syms[i].symbol, sym) == 0)
      return &fx->syms[i];
  if (!create) return NULL;
  for (int i = 0; i < FX_SYMS; i++)
    if (!fx->syms[i].p) return &fx->syms[i];
  return NULL;
}

static double last_price(const fx_series *s) {
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

static void order_json(char *b, size_t len, const fx_order *o) {
  snprintf(b, len,
           "{\"symbol\":\"%s\",\"orderId\":%lld,\"orderListId\":-1,"
           "\"clientOrderId\":\"%s\",\"transactTime\":%lld,"
           "\"price\":\"0.00000000\",\"origQty\":\"%.8f\","
           "\"executedQty\":\"%.8f\",\"cummulativeQuoteQty\":\"%.8f\","
           "\"status\":\"FILLED\",\"timeInForce\":\"GTC\",\"type\":\"MARKET\","
           "\"side\":\"%s\",\"fills\":[]}",
           o->symbol, o->id, o->client_id, wall_ms(), o->qty, o->qty,
           o->quote, o->side);
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
  if (ok && (!param(total, "timestamp", ts, sizeof ts) ||
             !param(total, "recvWindow", rw, sizeof rw)))
    ok = 0;
  if (ok) {
    long long d = wall_ms() - atoll(ts);
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
static enum MHD_Result handle(arec_fx *fx, struct MHD_Connection *c,
                              const char *method, fx_req *rq) {
  char path[128], *q;
  const char *query = "", *body = rq->body ? rq->body : "";
  char total[2048], sym[32], buf[2048];
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

  int has_sym = param(total, "symbol", sym, sizeof sym);
  if (strcmp(method, "GET") == 0 && strcmp(path, "/api/v3/ticker/price") == 0) {
    pthread_mutex_lock(&fx->mu);
    fx->st.ticker++;
    fx_series *s = has_sym ? series(fx, sym, 0) : NULL;
    if (!s) {
      pthread_mutex_unlock(&fx->mu);
      return error(c, 400, -1121, "Invalid symbol.");
    }
    size_t i = s->cursor < s->n ? s->cursor : s->n - 1;
    if (s->cursor < s->n) s->cursor++;
    snprintf(buf, sizeof buf, "{\"symbol\":\"%s\",\"price\":\"%.8f\"}", sym, s->p[i]);
    pthread_mutex_unlock(&fx->mu);
    return answer(c, 200, buf, 0);
  }
  if (strcmp(method, "GET") == 0 && strcmp(path, "/api/v3/klines") == 0) {
    char lim[16] = "500";
    size_t n = 0, limit;
    param(total, "limit", lim, sizeof lim);
    limit = (size_t)atoi(lim);
    pthread_mutex_lock(&fx->mu);
    fx->st.klines++;
    fx_series *s = has_sym ? series(fx, sym, 0) : NULL;
    if (!s) {
      pthread_mutex_unlock(&fx->mu);
      return error(c, 400, -1121, "Invalid symbol.");
    }
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
  int is_order = strcmp(path, "/api/v3/order") == 0;
  if (strcmp(path, "/api/v3/account") == 0 || is_order) {
    if (check_signed(fx, c, query, body, &ret) != 0) return ret;
  } else {
    return error(c, 404, -1000, "Unknown path.");
  }
  if (!is_order) {
    pthread_mutex_lock(&fx->mu);
    fx->st.account++;
    snprintf(buf, sizeof buf,
             "{\"canTrade\":true,\"balances\":[{\"asset\":\"USDT\",\"free\":"
             "\"%.8f\",\"locked\":\"0.00000000\"}]}", fx->usdt);
    pthread_mutex_unlock(&fx->mu);
    return answer(c, 200, buf, 0);
  }
  if (strcmp(method, "POST") == 0) {
    char side[8] = "", qty[32] = "", coid[48] = "", type[16] = "";
    fx_order o;
    int delay = 0;
    pthread_mutex_lock(&fx->mu);
    fx->st.order_posts++;
    fx_series *s = has_sym ? series(fx, sym, 0) : NULL;
    if (!s || !param(total, "side", side, sizeof side) ||
        !param(total, "quantity", qty, sizeof qty) ||
        !param(total, "newClientOrderId", coid, sizeof coid) ||
        !param(total, "type", type, sizeof type) || strcmp(type, "MARKET") ||
        (strcmp(side, "BUY") && strcmp(side, "SELL")) || atof(qty) <= 0 ||
        strlen(coid) > 36) {
      pthread_mutex_unlock(&fx->mu);
      return error(c, 400, -1102, "Mandatory parameter was not sent or malformed.");
    }
    for (size_t i = 0; i < fx->norders; i++)
      if (strcmp(fx->orders[i].client_id, coid) == 0) {
        pthread_mutex_unlock(&fx->mu);
        return error(c, 400, -2010, "Duplicate order sent.");
      }
    if (fx->norders >= FX_ORDERS) {
      pthread_mutex_unlock(&fx->mu);
      return error(c, 400, -2010, "Too many orders.");
    }
    memset(&o, 0, sizeof o);
    snprintf(o.client_id, sizeof o.client_id, "%s", coid);
    snprintf(o.symbol, sizeof o.symbol, "%s", sym);
    snprintf(o.side, sizeof o.side, "%s", side);
    o.qty = atof(qty);
    o.quote = o.qty * last_price(s);
    o.id = (long long)fx->norders + 1000;
    fx->usdt += strcmp(side, "BUY") == 0 ? -o.quote : o.quote;
    fx->orders[fx->norders++] = o;
    fx->st.orders++;
    if (fx->delay_n) {
      if (fx->delay_n > 0) fx->delay_n--;
      delay = fx->delay_ms;
    }
    pthread_mutex_unlock(&fx->mu);
    for (int waited = 0; waited < delay && !fx->stopping; waited += 10)
      usleep(10000);
    order_json(buf, sizeof buf, &o);
    return answer(c, 200, buf, 0);
  }
  if (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0) {
    char coid[48] = "";
    int found = -1;
    param(total, "origClientOrderId", coid, sizeof coid);
    pthread_mutex_lock(&fx->mu);
    if (method[0] == 'G') fx->st.order_queries++;
    for (size_t i = 0; i < fx->norders; i++)
      if (strcmp(fx->orders[i].client_id, coid) == 0) found = (int)i;
    if (found >= 0) order_json(buf, sizeof buf, &fx->orders[found]);
    pthread_mutex_unlock(&fx->mu);
    if (found < 0) return error(c, 400, -2013, "Order does not exist.");
    if (method[0] == 'D') return error(c, 400, -2011, "Unknown order sent.");
    return answer(c, 200, buf, 0);
  }
  return error(c, 405, -1000, "Method not allowed.");
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
  fx->usdt = 10000;
  pthread_mutex_init(&fx->mu, NULL);
  fx->d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
          MHD_USE_POLL,
      0, NULL, NULL, on_request, fx, MHD_OPTION_URI_LOG_CALLBACK, on_uri, fx,
      MHD_OPTION_NOTIFY_COMPLETED, on_done, fx, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&sa, MHD_OPTION_END);
  if (!fx->d) {
    fprintf(stderr, "fake exchange: MHD_start_daemon failed\n");
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
  fx->stopping = 1;
  MHD_stop_daemon(fx->d);
  for (int i = 0; i < FX_SYMS; i++) free(fx->syms[i].p);
  pthread_mutex_destroy(&fx->mu);
  free(fx);
}

const char *arec_fx_url(const arec_fx *fx) { return fx->url; }

void arec_fx_set_prices(arec_fx *fx, const char *symbol, const double *prices,
                        size_t n) {
  pthread_mutex_lock(&fx->mu);
  fx_series *s = series(fx, symbol, 1);
  if (s && n) {
    double *p = malloc(n * sizeof *p);
    if (p) {
      memcpy(p, prices, n * sizeof *p);
      free(s->p);
      s->p = p;
      s->n = n;
      s->cursor = 0;
      snprintf(s->symbol, sizeof s->symbol, "%s", symbol);
    }
  }
  pthread_mutex_unlock(&fx->mu);
}

size_t arec_fx_cursor(arec_fx *fx, const char *symbol) {
  size_t c = 0;
  pthread_mutex_lock(&fx->mu);
  fx_series *s = series(fx, symbol, 0);
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
