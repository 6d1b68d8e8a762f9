/*
 * host/telegram/tg_api.h -- a minimal Telegram Bot API client (libcurl):
 * every call is POST {base}/bot{token}/{method} with a JSON body, and the
 * answer {"ok":true,"result":...} or {"ok":false,"description":...}.
 *
 * Threads: an arec_tg_api is immutable after new(); calls may run
 * concurrently (one CURL handle per call).  Never logs or puts into an
 * error message the token or a URL (the token is in the URL).
 */
#ifndef AREC_HOST_TG_API_H
#define AREC_HOST_TG_API_H

#include <stdatomic.h>
#include <stdint.h>

#include <cJSON.h>

#include "agentrecover.h"

#define AREC_TG_DEFAULT_BASE "https://api.telegram.org"

typedef struct arec_tg_api arec_tg_api;

/* base NULL or "": the public Bot API.  Copies both (the token is wiped on
 * free).  `abort_flag` (may be NULL) aborts a call in flight when nonzero.
 * 0, AREC_EINVAL, AREC_ENOMEM. */
int arec_tg_api_new(arec_tg_api **out, const char *base, const char *token,
                    int64_t connect_timeout_ms, atomic_int *abort_flag);
void arec_tg_api_free(arec_tg_api *api);

/* One call.  `body` JSON text (NULL: "{}").  On 0, *out_result (may be
 * NULL) is the "result" member, detached; cJSON_Delete() it.
 * AREC_EUNAVAILABLE (transport, 5xx, unparsable), AREC_ETIMEDOUT,
 * AREC_EBACKEND (ok=false: description in arec_error_last()). */
int arec_tg_call(const arec_tg_api *api, const char *method, const char *body,
                 int64_t timeout_ms, cJSON **out_result);

/* getUpdates(offset, timeout=timeout_s, allowed_updates=["message"]);
 * *out an array (cJSON_Delete()). */
int arec_tg_get_updates(const arec_tg_api *api, long long offset,
                        int timeout_s, cJSON **out);
/* sendMessage to chat_id, plain text. */
int arec_tg_send_message(const arec_tg_api *api, long long chat_id,
                         const char *text);
/* deleteMessage. */
int arec_tg_delete_message(const arec_tg_api *api, long long chat_id,
                           long long message_id);

#endif
