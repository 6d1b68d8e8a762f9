/*
 * host/trading/params.h -- what a trading agent's params JSON says beyond
 * its strategy: its mode and its risk limits.
 *
 *   {"mode": "paper" | "live",
 *    "risk": {"max_position": <quote value per symbol, > 0>,
 *             "max_daily_loss": <quote, > 0>}}
 *
 * Both are optional.  A missing mode is paper (an agent never trades live
 * money unless it says so); a missing limit is no limit.  The service
 * validates them at creation (400 naming "mode", "risk",
 * "risk.max_position" or "risk.max_daily_loss") and writes the mode it
 * decided into the params; the agent type reads them at start.  Pure.
 */
#ifndef AREC_HOST_TRADING_PARAMS_H
#define AREC_HOST_TRADING_PARAMS_H

#include <stddef.h>

/* Upper bound of a limit (the budgets' bound). */
#define AREC_RISK_MAX 1e15

typedef struct arec_trading_params {
  int live;              /* "mode": "live" */
  int has_mode;          /* "mode" was given */
  double max_position;   /* 0: no limit */
  double max_daily_loss; /* 0: no limit */
} arec_trading_params;

/* The field at fault and why (never the value). */
typedef struct arec_params_error {
  char field[32];
  char message[160];
} arec_params_error;

/* Reads params JSON text (NULL or "": {}).  0, or -1 with `e` filled (a
 * text that is not a JSON object: field "params"). */
int arec_trading_params_parse(const char *json, arec_trading_params *out,
                              arec_params_error *e);

/* The params text with "mode" set to `mode` ("paper" / "live"), other
 * members kept as they are (a text without "mode" gets it inserted as
 * text, so its numbers keep every digit).  *out malloc'd.  0, -1 (not a
 * JSON object) or -2 (out of memory). */
int arec_trading_params_set_mode(const char *json, const char *mode,
                                 char **out);

#endif
