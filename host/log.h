/*
 * log.h -- agentrecoverd's log sink: one line per event on stderr, text or
 * JSON (LOG_FORMAT), filtered by LOG_LEVEL, with taps that see the lines
 * before the filter: the Telegram bot's notifications (every line) and the
 * takeover recorder (info and above).  Every part of
 * the daemon logs through it: the library (arec_host_log_sink as its
 * arec_log_fn), the backends and the host's own lines (hlog) whose fields
 * are typed, so the JSON format writes numbers and booleans as such.
 */
#ifndef AREC_HOST_LOG_H
#define AREC_HOST_LOG_H

#include <stddef.h>

#include "agentrecover.h"

/* Output format and minimum level; before any thread logs. */
void arec_host_log_init(int json, arec_log_level min);
/* The tap (NULL: none): set before the threads that log start, cleared
 * only after every thread that may log has stopped or when the process
 * is about to exit. */
void arec_host_log_set_tap(arec_log_fn tap, void *tap_userdata);
/* A second tap, the takeover recorder's (takeovers.h), fed the lines of
 * `min` and above; set and cleared under the same rule. */
void arec_host_log_set_recorder(arec_log_fn tap, void *tap_userdata,
                                arec_log_level min);

/* The sink to hand to the library and the backends (userdata ignored:
 * pass arec_host_log_ud()). */
void arec_host_log_sink(void *userdata, arec_log_level level, const char *msg,
                        const arec_log_field *fields, size_t nfields);
void *arec_host_log_ud(void);
/* 1 when a line of that level is written (or tapped). */
int arec_host_log_enabled(arec_log_level level);

/* hlog(level, msg, fields..., HL_END): at most 12 fields, each one of
 *   HL_S("key", "text")   a string (NULL written as "")
 *   HL_I("key", 42)       an integer (JSON number)
 *   HL_B("key", flag)     a boolean (JSON true/false)
 *   HL_D("key", 0.25)     a number with a fraction (JSON number) */
enum { AREC_HL_END = 0, AREC_HL_STR, AREC_HL_INT, AREC_HL_BOOL, AREC_HL_DBL };
#define HL_S(k, v) AREC_HL_STR, (const char *)(k), (const char *)(v)
#define HL_I(k, v) AREC_HL_INT, (const char *)(k), (long long)(v)
#define HL_B(k, v) AREC_HL_BOOL, (const char *)(k), (int)(v)
#define HL_D(k, v) AREC_HL_DBL, (const char *)(k), (double)(v)
#define HL_END AREC_HL_END
void hlog(arec_log_level level, const char *msg, ...);

#endif
