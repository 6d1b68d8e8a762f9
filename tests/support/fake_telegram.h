/*
 * fake_telegram.h -- a local fake Telegram Bot API over HTTP on 127.0.0.1
 * (libmicrohttpd, a thread per connection), for the bot's tests.
 *
 * Serves POST /bot<token>/getUpdates (offset confirms earlier updates,
 * timeout long-polls until an update arrives), /sendMessage and
 * /deleteMessage with the Bot API's JSON shapes ({"ok":true,"result":...},
 * {"ok":false,"error_code":N,"description":...}); a wrong token is 401,
 * a getUpdates overlapping another is 409 Conflict, as Telegram does.
 * Thread-safe.
 */
#ifndef AREC_TESTS_FAKE_TELEGRAM_H
#define AREC_TESTS_FAKE_TELEGRAM_H

#include <stddef.h>

typedef struct arec_ftg arec_ftg;

int arec_ftg_start(arec_ftg **out, const char *token);
void arec_ftg_stop(arec_ftg *tg);
/* "http://127.0.0.1:PORT" */
const char *arec_ftg_url(const arec_ftg *tg);

/* A private text message from user_id; returns its update_id (the
 * message_id is update_id + 1000). */
long long arec_ftg_say(arec_ftg *tg, long long user_id, const char *text);
/* A raw update: `fmt` is the JSON object with one %lld for update_id. */
long long arec_ftg_push_raw(arec_ftg *tg, const char *fmt);

/* Count of messages sent so far (a mark for arec_ftg_wait). */
size_t arec_ftg_mark(arec_ftg *tg);
/* Waits up to timeout_ms for a message sent to chat_id at index >= mark
 * whose text contains `needle` (NULL: any); copies its text into out.
 * 1 found, 0 not. */
int arec_ftg_wait(arec_ftg *tg, long long chat_id, size_t mark,
                  const char *needle, int timeout_ms, char *out, size_t len);
/* Number of messages sent to chat_id at index >= mark containing needle. */
int arec_ftg_count(arec_ftg *tg, long long chat_id, size_t mark,
                   const char *needle);
/* 1 when deleteMessage was called for (chat_id, message_id). */
int arec_ftg_deleted(arec_ftg *tg, long long chat_id, long long message_id);

typedef struct arec_ftg_stats {
  unsigned get_updates, send_message, delete_message;
  unsigned unauthorized, conflicts;
  long long last_offset;   /* offset of the last getUpdates */
} arec_ftg_stats;
void arec_ftg_get_stats(arec_ftg *tg, arec_ftg_stats *out);

#endif
