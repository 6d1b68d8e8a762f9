/*
 * host/trading/exchange_int.h -- what the parts of the exchange client
 * (exchange.c: requests and account/market calls; exchange_orders.c:
 * orders and trades) share.  Internal to host/trading/exchange*.c.
 */
#ifndef AREC_HOST_TRADING_EXCHANGE_INT_H
#define AREC_HOST_TRADING_EXCHANGE_INT_H

#include <cJSON.h>

#include "trading/exchange.h"

/* One request (see exchange.c).  method "GET"/"POST"/"DELETE"; params
 * "a=1&b=2" (URL-safe) or ""; signed_: timestamp, recvWindow, signature
 * and the key header.  On 0, *out_json is the parsed body (the caller
 * cJSON_Delete()s it).  An exchange error answer is remembered for
 * arec_exchange_last_error(). */
int arec__xrequest(arec_exchange *x, const char *method, const char *path,
                   const char *params, int signed_, cJSON **out_json);

/* A number field given as a JSON number or a decimal string. 0 or
 * AREC_EBACKEND. */
int arec__xnum(const cJSON *j, const char *name, double *out);
/* "symbol=BTCUSDT" from "BTC/USDT" into out; 0 or AREC_EINVAL. */
int arec__xsym_param(char *out, size_t len, const char *symbol);
arec_exchange_hub *arec__xhub(const arec_exchange *x);

#endif
