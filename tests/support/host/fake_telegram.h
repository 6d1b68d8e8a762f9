/*
 * fake_telegram.h -- a local fake Telegram Bot API over HTTP on 127.0.0.1
 * (libmicrohttpd, a thread per connection), for the bot's tests.
 *
 * Serves POST /bot<token>/getUpdates (offset confirms earlier updates,
 * timeout long-polls until an update arrives), /sendMessage and
 * /deleteMessage with the Bot API's JSON shapes ({"ok":true,"result":...},
 * {"ok":false,"error_code":N,"description":...}); a wrong token is 401,
 * a getUpdates overlapping another is 409 Conflict, as Telegram does.
 * Faults on demand: sendMessage answering 429 with parameters.retry_after,
 * deleteMessage refusing, every method never answering (until the fake
 * stops or the fault is cleared), getUpdates ignoring the offset (as if
 * the confirmation never reached Telegram).  Thread-safe.
 */
#ifndef AREC_TESTS_FAKE_TELEGRAM_H
#define AREC_TESTS_FAKE_TELEGRAM_H

#include <stddef.h>

typedef struct arec_ftg arec_ftg;

int arec_ftg_start(arec_ftg **out, const char *token);
void arec_ftg_stop(arec_ftg *tg);
/* "http://127.0.0.1:PORT" */
const char *arec_ftg_url(const arec_ftg *tg);

/* The update_id of the next update (default 100). */
void arec_ftg_set_next_id(arec_ftg *tg, long long id);
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
  unsigned throttled;      /* sendMessage calls answered 429 */
  long long last_offset;   /* offset of the last getUpdates */
  long long last_429_ms;   /* monotonic ms of the last 429 answer */
} arec_ftg_stats;

/* The next `n` sendMessage calls answer 429 with retry_after_s. */
void arec_ftg_throttle(arec_ftg *tg, unsigned n, int retry_after_s);
/* deleteMessage answers 400 "message can't be deleted" while on. */
void arec_ftg_fail_deletes(arec_ftg *tg, int on);
/* Every request waits without answering while on (until off or stop). */
void arec_ftg_hang(arec_ftg *tg, int on);
/* getUpdates returns confirmed updates again while on. */
void arec_ftg_ignore_offset(arec_ftg *tg, int on);
/* Monotonic ms at which the message index `i` (see arec_ftg_mark) was
 * accepted; -1 when there is none. */
long long arec_ftg_sent_at(arec_ftg *tg, size_t i);
/* Index of the first message sent to chat_id at index >= mark containing
 * needle, or (size_t)-1. */
size_t arec_ftg_find(arec_ftg *tg, long long chat_id, size_t mark,
                     const char *needle);
void arec_ftg_get_stats(arec_ftg *tg, arec_ftg_stats *out);

#endif
