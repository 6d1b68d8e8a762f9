/*
 * fake_exchange_int.h -- the state of the fake exchange shared by its two
 * parts: fake_exchange.c (HTTP, signing, market data, account) and
 * fake_exchange_orders.c (filters, orders, fills, trades).  Tests only.
 */
#ifndef AREC_TESTS_FAKE_EXCHANGE_INT_H
#define AREC_TESTS_FAKE_EXCHANGE_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>

#include "fake_exchange.h"

#define FX_SYMS 8
#define FX_ORDERS 256
#define FX_TRADES 1024
#define FX_ASSETS 8
#define FX_SCALE 100000000LL /* fixed point: 8 decimals */

typedef struct fx_filters {
  long long step, min_qty, max_qty;    /* fixed point; 0: absent */
  long long mstep, mmin_qty, mmax_qty;
  long long tick;
  long long min_notional;
  int legacy, notional_market;
  char base[16], quote[16];
  /* the published strings */
  char s_step[32], s_min[32], s_max[32], s_mstep[32], s_mmin[32],
      s_mmax[32], s_tick[32], s_notional[32];
} fx_filters;

typedef struct fx_series {
  char symbol[32];
  double *p;
  size_t n, cursor;
  fx_filters f;
} fx_series;

typedef struct fx_order {
  char client_id[48];
  char symbol[32];
  char side[8];
  char type[8];
  char status[16];
  double qty, price, executed, quote;
  long long id, time, update_time;
} fx_order;

typedef struct fx_trade {
  long long id, order_id, time;
  char symbol[32];
  double price, qty, commission;
  char asset[16];
  int is_buyer;
} fx_trade;

typedef struct fx_asset {
  char name[16];
  double free;
} fx_asset;

struct arec_fx {
  struct MHD_Daemon *d;
  char url[64];
  char key[128], secret[128];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  fx_series syms[FX_SYMS];
  fx_order orders[FX_ORDERS];
  size_t norders;
  fx_trade trades[FX_TRADES];
  size_t ntrades;
  long long next_trade_id;
  fx_asset assets[FX_ASSETS];
  size_t nassets;
  double fee_rate, fee_asset_price;
  char fee_asset[16]; /* "" quote, "RECEIVED", or a name */
  int fill_split;
  int fail_status, fail_n;
  int rl_n, rl_after;
  int delay_n, delay_ms;
  int lose_n, released;
  int reject_n, reject_code;
  char reject_msg[128];
  volatile int stopping;
  arec_fx_stats st;
  char last_order[512];
};

/* A growable answer body. */
typedef struct fx_buf {
  char *p;
  size_t n, cap;
} fx_buf;
void fx_printf(fx_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Value of `name` in "a=1&b=2" into out; 1 found, 0 not. */
int fx_param(const char *s, const char *name, char *out, size_t len);
long long fx_wall_ms(void);
/* Under fx->mu. */
fx_series *fx_series_get(arec_fx *fx, const char *sym, int create);
double fx_last_price(const fx_series *s);
double *fx_asset_free(arec_fx *fx, const char *asset); /* created at 0 */
/* Default filters of a symbol (under fx->mu). */
void fx_filters_default(fx_filters *f, const char *sym);

/* The order endpoints, signature already checked.  Fill *status and
 * *body (malloc'd); *hold set when the answer must be delayed (ms > 0)
 * or lost (-1). */
void fx_orders_handle(arec_fx *fx, const char *method, const char *path,
                      const char *params, unsigned *status, char **body,
                      int *hold);
/* exchangeInfo for `sym` ("" all). */
void fx_exchange_info(arec_fx *fx, const char *sym, unsigned *status,
                      char **body);

#endif
