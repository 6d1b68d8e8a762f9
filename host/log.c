/*
 * log.c -- the daemon's log sink (log.h).
 *
 * How: the format and level are set once at start; the tap pointers (the
 * bot's, and the takeover recorder's with its own minimum level) are
 * read under no lock (they change only while no other thread logs); each
 * line goes out through the library's arec_log_stderr_text/json, one
 * write(2) per line.  hlog() turns its typed variadic fields into
 * arec_log_field entries, numbers formatted into a buffer on the stack.
 *
 * Never: log a secret (callers pass names, never tokens, keys or URLs),
 * block, or call back into the manager.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#define MAX_FIELDS 12

static struct {
  arec_log_fn out;
  arec_log_level min;
  arec_log_fn tap;
  void *tap_ud;
  arec_log_fn rec;
  void *rec_ud;
  arec_log_level rec_min;
} g = {arec_log_stderr_text, AREC_LOG_INFO, NULL, NULL, NULL, NULL,
       AREC_LOG_INFO};

void arec_host_log_init(int json, arec_log_level min) {
  g.out = json ? arec_log_stderr_json : arec_log_stderr_text;
  g.min = min;
}

void arec_host_log_set_tap(arec_log_fn tap, void *tap_userdata) {
  g.tap_ud = tap_userdata;
  g.tap = tap;
}

void arec_host_log_set_recorder(arec_log_fn tap, void *tap_userdata,
                                arec_log_level min) {
  g.rec_ud = tap_userdata;
  g.rec_min = min;
  g.rec = tap;
}

void *arec_host_log_ud(void) { return &g; }

int arec_host_log_enabled(arec_log_level level) {
  return level >= g.min || g.tap != NULL ||
         (g.rec != NULL && level >= g.rec_min);
}

void arec_host_log_sink(void *userdata, arec_log_level level, const char *msg,
                        const arec_log_field *fields, size_t nfields) {
  (void)userdata;
  arec_log_fn tap = g.tap, rec = g.rec;
  if (tap) tap(g.tap_ud, level, msg, fields, nfields);
  if (rec && level >= g.rec_min) rec(g.rec_ud, level, msg, fields, nfields);
  if (level >= g.min) g.out(NULL, level, msg, fields, nfields);
}

void hlog(arec_log_level level, const char *msg, ...) {
  arec_log_field f[MAX_FIELDS];
  char num[MAX_FIELDS][32];
  size_t n = 0;
  va_list ap;
  va_start(ap, msg);
  for (int type; n < MAX_FIELDS && (type = va_arg(ap, int)) != AREC_HL_END;
       n++) {
    f[n].key = va_arg(ap, const char *);
    switch (type) {
    case AREC_HL_INT:
      snprintf(num[n], sizeof num[n], "%lld", va_arg(ap, long long));
      f[n].value = num[n];
      f[n].type = AREC_LOG_NUMBER;
      break;
    case AREC_HL_BOOL:
      f[n].value = va_arg(ap, int) ? "true" : "false";
      f[n].type = AREC_LOG_BOOL;
      break;
    case AREC_HL_DBL:
      snprintf(num[n], sizeof num[n], "%.6g", va_arg(ap, double));
      f[n].value = num[n];
      f[n].type = AREC_LOG_NUMBER;
      break;
    default:
      f[n].value = va_arg(ap, const char *);
      if (!f[n].value) f[n].value = "";
      f[n].type = AREC_LOG_STRING;
      break;
    }
  }
  va_end(ap);
  arec_host_log_sink(NULL, level, msg, f, n);
}
