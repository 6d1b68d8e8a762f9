/*
 * validate.h -- the host's one input policy.  Both front ends (the admin
 * API and the Telegram bot) and the service layer check every value a
 * user gives with these functions, so the same input is accepted or
 * refused the same way everywhere.
 *
 * Every check returns 0, or AREC_EINVAL with `e` (may be NULL) filled:
 * the field at fault and a message "<field>: <what is expected>" that
 * never repeats the value (it may be a secret).  NULL or empty strings are
 * "required".  Every string field refuses control characters (bytes below
 * 0x20 and 0x7f: NUL, CR, LF, TAB, DEL ...) before anything else.
 *
 * What is accepted:
 *   agent id     [A-Za-z0-9_-]{1,64}, not "start" or "stop"
 *   name         valid UTF-8, 1..200 characters (code points)
 *   symbol       BASE/QUOTE, each 1..20 of [A-Za-z0-9]; normalised to
 *                upper case ("btc/usdt" -> "BTC/USDT")
 *   strategy     a registered agent type (arec_manager_has_type); without
 *                a manager: 1..64 of [a-z0-9_-]
 *   exchange     a supported exchange: "binance" (case-insensitive,
 *                normalised to lower case)
 *   API key and secret   1..256 printable ASCII characters, no space
 *   user id      an integer 1 .. 2^53 - 1 (exact in a JSON number)
 *   budget       a finite number > 0 and <= 1e15
 *   pod name     1..253 of [A-Za-z0-9._-] (a Kubernetes pod name)
 *   params       a JSON object text of at most 16384 bytes (its syntax is
 *                checked by the library); NULL means {}
 */
#ifndef AREC_HOST_VALIDATE_H
#define AREC_HOST_VALIDATE_H

#include <stddef.h>

#include "agentrecover.h"

typedef struct arec_host_invalid {
  char field[32];
  char message[160];
} arec_host_invalid;

#define AREC_HOST_NAME_MAX 200       /* characters */
#define AREC_HOST_SYMBOL_PART_MAX 20 /* BASE and QUOTE each */
#define AREC_HOST_SYMBOL_MAX 42      /* "BASE/QUOTE" + NUL */
#define AREC_HOST_CREDENTIAL_MAX 256
#define AREC_HOST_USER_ID_MAX 9007199254740991LL /* 2^53 - 1 */
#define AREC_HOST_BUDGET_MAX 1e15
#define AREC_HOST_PARAMS_MAX 16384

/* Fills e (when not NULL) and returns AREC_EINVAL. */
int arec_host_invalid_set(arec_host_invalid *e, const char *field,
                          const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Any text field: required, no control characters, valid UTF-8, at most
 * max_chars code points. */
int arec_host_valid_text(const char *field, const char *s, size_t max_chars,
                         arec_host_invalid *e);
int arec_host_valid_agent_id(const char *field, const char *s,
                             arec_host_invalid *e);
int arec_host_valid_name(const char *field, const char *s,
                         arec_host_invalid *e);
/* out (AREC_HOST_SYMBOL_MAX bytes) gets the normalised symbol. */
int arec_host_valid_symbol(const char *field, const char *s, char *out,
                           size_t out_len, arec_host_invalid *e);
/* mgr NULL: the syntax only. */
int arec_host_valid_strategy(const char *field, const char *s,
                             arec_manager *mgr, arec_host_invalid *e);
/* out (32 bytes) gets the normalised name. */
int arec_host_valid_exchange(const char *field, const char *s, char *out,
                             size_t out_len, arec_host_invalid *e);
int arec_host_valid_credential(const char *field, const char *s,
                               arec_host_invalid *e);
int arec_host_valid_user_id(const char *field, long long id,
                            arec_host_invalid *e);
int arec_host_valid_budget(const char *field, double v, arec_host_invalid *e);
int arec_host_valid_pod(const char *field, const char *s,
                        arec_host_invalid *e);
/* NULL is fine (no params). */
int arec_host_valid_params(const char *field, const char *s,
                           arec_host_invalid *e);

/* For front ends that decode strings with a length (JSON "\u0000"): a
 * NUL byte inside the first `len` bytes of s is a control character too
 * (the C string would silently end there).  Call it before the check of
 * the field's kind. */
int arec_host_valid_no_nul(const char *field, const char *s, size_t len,
                           arec_host_invalid *e);

/* The supported exchange names, static, NULL-terminated. */
const char *const *arec_host_exchanges(void);

#endif
