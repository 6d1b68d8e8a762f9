/*
 * host/telegram/tg_api.h -- a minimal Telegram Bot API client (libcurl):
 * every call is POST {base}/bot{token}/{method} with a JSON body, and the
 * answer {"ok":true,"result":...} or {"ok":false,"error_code":N,
 * "description":...,"parameters":{"retry_after":S}}.
 *
 * Time: every call ends by its deadline (monotonic ms, arec_tg_now_ms()),
 * and at once (within 50 ms) once the monotonic clock passes the owner's
 * abort time (`abort_at`, 0: none), so a stop never waits out a long poll.
 *
 * Threads: an arec_tg_api is immutable after new(); calls may run
 * concurrently (one CURL handle per call).  Never logs or puts into an
 * error message the token or a URL (the token is in the URL).
 */
#ifndef AREC_HOST_TG_API_H
#define AREC_HOST_TG_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "agentrecover.h"

#define AREC_TG_DEFAULT_BASE "https://api.telegram.org"
/* The longest wait a 429's retry_after is honoured for. */
#define AREC_TG_RETRY_AFTER_MAX_MS 60000

typedef struct arec_tg_api arec_tg_api;

/* Monotonic milliseconds (the clock of every deadline here). */
int64_t arec_tg_now_ms(void);
/* Joins th by deadline_ms (arec_tg_now_ms()): 1 joined, 0 still running. */
int arec_tg_join_by(pthread_t th, int64_t deadline_ms);

/* base NULL or "": the public Bot API.  Copies both (the token is wiped on
 * free).  `abort_at` (may be NULL): a call in flight ends with
 * AREC_ESHUTDOWN once *abort_at > 0 and the clock reached it.  0,
 * AREC_EINVAL, AREC_ENOMEM. */
int arec_tg_api_new(arec_tg_api **out, const char *base, const char *token,
                    int64_t connect_timeout_ms, _Atomic int64_t *abort_at);
void arec_tg_api_free(arec_tg_api *api);

/* A Bot API answer, parsed. */
typedef struct arec_tg_answer {
  int ok;                  /* "ok": true */
  long error_code;         /* "error_code", else the HTTP status */
  int64_t retry_after_ms;  /* "parameters.retry_after" (a 429's wait), in
                              ms, clamped to 1..AREC_TG_RETRY_AFTER_MAX_MS;
                              0 when absent or not a sane number */
  char description[160];   /* "description" (cut), "" when none */
  cJSON *result;           /* ok: the detached "result" (may be NULL);
                              the caller cJSON_Delete()s it */
} arec_tg_answer;

/* Parses an answer body of `len` bytes (any bytes: no NUL needed, none
 * trusted).  0 (an answer with a boolean "ok"), AREC_EUNAVAILABLE (not a
 * Bot API answer), AREC_ENOMEM. */
int arec_tg_answer_parse(const char *body, size_t len, long http_status,
                         arec_tg_answer *out);

/* One call.  `body` JSON text (NULL: "{}").  deadline_ms: monotonic ms by
 * which the call has ended (<= now: fails at once with AREC_ETIMEDOUT).
 * On 0, *out_result (may be NULL) is the "result" member; cJSON_Delete()
 * it.  *out_retry_after_ms (may be NULL) is set on a 429 (0 otherwise).
 * AREC_EUNAVAILABLE (transport, 5xx, 429, unparsable), AREC_ETIMEDOUT,
 * AREC_ESHUTDOWN (aborted), AREC_EBACKEND (refused, e.g. 400/403: the
 * description in arec_error_last()). */
int arec_tg_call(const arec_tg_api *api, const char *method, const char *body,
                 int64_t deadline_ms, cJSON **out_result,
                 int64_t *out_retry_after_ms);

/* getUpdates(offset, timeout=timeout_s, allowed_updates=["message"]),
 * ending by deadline_ms; *out the "result" (not checked: the update
 * handler checks everything).  */
int arec_tg_get_updates(const arec_tg_api *api, long long offset,
                        int timeout_s, int64_t deadline_ms, cJSON **out);
/* sendMessage to chat_id, plain text (no parse mode). */
int arec_tg_send_message(const arec_tg_api *api, long long chat_id,
                         const char *text, int64_t deadline_ms,
                         int64_t *out_retry_after_ms);
/* deleteMessage: 0 only when Telegram answered ok with result true (the
 * message is gone); AREC_EBACKEND when it answered anything else. */
int arec_tg_delete_message(const arec_tg_api *api, long long chat_id,
                           long long message_id, int64_t deadline_ms);

#endif
