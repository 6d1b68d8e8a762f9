/*
 * params.c -- a trading agent's mode and risk limits out of its params
 * JSON (params.h): strict reading (a mode other than "paper"/"live", a
 * risk that is not an object, an unknown risk member, a limit that is not
 * a finite number in (0, 1e15] are refused with the field's name), and
 * the params rewritten with the mode the service decided.
 *
 * Pure (cJSON only).  Must never: repeat a value in a message, accept a
 * limit of 0 or below (it would stop an agent at once), drop a member of
 * the params it does not know.
 */
#include "trading/params.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

static int bad(arec_params_error *e, const char *field, const char *fmt,
               ...) {
  if (!e) return -1;
  va_list ap;
  snprintf(e->field, sizeof e->field, "%s", field);
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
  return -1;
}

static int limit(const cJSON *risk, const char *key, double *out,
                 arec_params_error *e) {
  char field[32];
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(risk, key);
  *out = 0;
  if (!v) return 0;
  snprintf(field, sizeof field, "risk.%s", key);
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
      !(v->valuedouble > 0) || v->valuedouble > AREC_RISK_MAX)
    return bad(e, field, "%s: a number > 0 and <= 1e15 (quote asset)",
               field);
  *out = v->valuedouble;
  return 0;
}

int arec_trading_params_parse(const char *json, arec_trading_params *out,
                              arec_params_error *e) {
  memset(out, 0, sizeof *out);
  if (e) memset(e, 0, sizeof *e);
  if (!json || !*json) return 0;
  cJSON *j = cJSON_Parse(json);
  int rc = 0;
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    return bad(e, "params", "params: a JSON object");
  }
  const cJSON *mode = cJSON_GetObjectItemCaseSensitive(j, "mode");
  if (mode) {
    if (cJSON_IsString(mode) && !strcmp(mode->valuestring, "live")) {
      out->live = 1;
    } else if (!cJSON_IsString(mode) || strcmp(mode->valuestring, "paper")) {
      rc = bad(e, "mode", "mode: \"paper\" or \"live\"");
      goto done;
    }
    out->has_mode = 1;
  }
  const cJSON *risk = cJSON_GetObjectItemCaseSensitive(j, "risk");
  if (risk && !cJSON_IsNull(risk)) {
    const cJSON *m;
    if (!cJSON_IsObject(risk)) {
      rc = bad(e, "risk", "risk: an object {\"max_position\", "
                          "\"max_daily_loss\"}");
      goto done;
    }
    cJSON_ArrayForEach(m, risk) {
      if (!m->string || (strcmp(m->string, "max_position") &&
                         strcmp(m->string, "max_daily_loss"))) {
        rc = bad(e, "risk", "risk: only max_position and max_daily_loss");
        goto done;
      }
    }
    if ((rc = limit(risk, "max_position", &out->max_position, e)) ||
        (rc = limit(risk, "max_daily_loss", &out->max_daily_loss, e)))
      goto done;
  }
done:
  cJSON_Delete(j);
  if (rc) memset(out, 0, sizeof *out); /* a refused text reads as nothing */
  return rc;
}

int arec_trading_params_set_mode(const char *json, const char *mode,
                                 char **out) {
  *out = NULL;
  cJSON *j = NULL;
  if (json && *json) {
    j = cJSON_Parse(json);
    if (!cJSON_IsObject(j)) {
      cJSON_Delete(j);
      return -1;
    }
  }
  const cJSON *cur = j ? cJSON_GetObjectItemCaseSensitive(j, "mode") : NULL;
  if (cur && cJSON_IsString(cur) && !strcmp(cur->valuestring, mode)) {
    cJSON_Delete(j); /* already says so: the text stays as it is */
    *out = strdup(json);
    return *out ? 0 : -2;
  }
  if (cur) { /* another value: rewrite that member */
    cJSON *m = cJSON_CreateString(mode);
    if (!m || !cJSON_ReplaceItemInObjectCaseSensitive(j, "mode", m)) {
      cJSON_Delete(m);
      cJSON_Delete(j);
      return -2;
    }
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return *out ? 0 : -2;
  }
  cJSON_Delete(j);
  /* insert the member as text: numbers keep every digit they were given */
  const char *p = json && *json ? json : "{}";
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  const char *q = p + 1; /* p is at '{': the text is an object */
  while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
  size_t n = strlen(q) + strlen(mode) + 16;
  char *s = malloc(n);
  if (!s) return -2;
  snprintf(s, n, "{\"mode\":\"%s\"%s%s", mode, *q == '}' ? "" : ",", q);
  *out = s;
  return 0;
}
