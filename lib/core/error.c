/*
 * error.c -- error codes, the per-thread last-error detail, arec_free(),
 * the version of the linked library, and agent id validation.
 *
 * The code list lives in one X-macro (AREC_ERRNO_MAP in agentrecover.h); the
 * enum and the table behind arec_strerror() and arec_err_name() are
 * generated from it.  The last-error buffer is thread-local: it must never
 * hold a secret, so callers pass messages already scrubbed (backends strip
 * conninfo and passwords).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"

#define AREC__STR2(x) #x
#define AREC__STR(x) AREC__STR2(x)

/* ------------------------------------------------------------ version */
const char *arec_version(void) {
  return AREC__STR(AREC_VERSION_MAJOR) "." AREC__STR(
      AREC_VERSION_MINOR) "." AREC__STR(AREC_VERSION_PATCH);
}

int arec_version_number(void) { return AREC_VERSION_NUMBER; }

/* -------------------------------------------------------------- codes */
/* Every code with its name and text, generated from AREC_ERRNO_MAP. */
static const struct {
  int code;
  const char *name, *msg;
} codes[] = {
    {AREC_OK, "OK", "success"},
#define AREC__ERR_ROW(name, val, msg) {AREC_##name, #name, msg},
    AREC_ERRNO_MAP(AREC__ERR_ROW)
#undef AREC__ERR_ROW
};

static size_t code_index(int err) {
  size_t i = 0;
  while (i < sizeof codes / sizeof codes[0] && codes[i].code != err)
    i++;
  return i;
}

const char *arec_strerror(int err) {
  size_t i = code_index(err);
  return i < sizeof codes / sizeof codes[0] ? codes[i].msg : "unknown error";
}

const char *arec_err_name(int err) {
  size_t i = code_index(err);
  return i < sizeof codes / sizeof codes[0] ? codes[i].name : "EUNKNOWN";
}

/* --------------------------------------------------------- last error */
static _Thread_local char last_error[512];

const char *arec_error_last(void) { return last_error; }

void arec_error_set(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
}

void arec_error_clear(void) { last_error[0] = '\0'; }

void arec_free(void *p) { free(p); }

/* ----------------------------------------------------------- agent ids */
int arec_agent_id_valid(const char *id) {
  size_t n;
  if (!id)
    return 0;
  n = strlen(id);
  if (n == 0 || n > AREC_AGENT_ID_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return 0;
  }
  return strcmp(id, "start") != 0 && strcmp(id, "stop") != 0;
}
