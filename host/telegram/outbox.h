/*
 * host/telegram/outbox.h -- the bot's outgoing messages: bounded queues per
 * chat and one sender thread (replies and owner notifications alike).
 *
 * A message waits in its chat's queue (at most AREC_TG_OUTBOX_PER_CHAT
 * pieces; a longer text is cut into pieces Telegram accepts) until
 * sendMessage takes it.  A 429 answer holds that chat's queue for the
 * answer's parameters.retry_after (at most AREC_TG_RETRY_AFTER_MAX_MS) and
 * the message is sent again -- not dropped; other chats go on meanwhile.
 * Transport errors are retried a few times with a growing delay; a refusal
 * (blocked bot, bad chat) drops the message with a WARN.
 *
 * Messages for an agent's owner (or for the owners of the agents running on
 * this pod) wait in a bounded list until the sender resolves the owners
 * through the callback given at start (a database read the hooks must not
 * do themselves: they run under the manager's locks).
 *
 * Threads: every function is thread-safe; the put functions never block on
 * I/O.  Never logs a message's text, the token or a URL.
 */
#ifndef AREC_HOST_TG_OUTBOX_H
#define AREC_HOST_TG_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "agentrecover.h"

#define AREC_TG_OUTBOX_PER_CHAT 32
#define AREC_TG_OUTBOX_CHATS 1024
#define AREC_TG_OUTBOX_OWNER_NOTES 256
/* The longest piece sent in one sendMessage (bytes; Telegram's limit is
 * 4096 characters). */
#define AREC_TG_PIECE_MAX 3800

typedef struct arec_tg_outbox arec_tg_outbox;

/* The owners of agent_id (agent_id NULL: of the agents running on this
 * pod), as a malloc'd array (*out_n may be 0).  0 or <0. */
typedef int (*arec_tg_owners_fn)(void *ud, const char *agent_id,
                                 long long **out, size_t *out_n);

/* 0, AREC_EINVAL (bad token/base), AREC_ENOMEM. */
int arec_tg_outbox_new(arec_tg_outbox **out, const char *api_base,
                       const char *token, arec_log_fn log, void *log_userdata);
/* Starts the sender.  owners may be NULL (owner notes then wait). */
int arec_tg_outbox_start(arec_tg_outbox *o, arec_tg_owners_fn owners,
                         void *owners_ud);
/* Queues text for chat_id.  0, or AREC_EUNAVAILABLE when the chat's queue
 * (or the set of chats) is full or the outbox is stopped: dropped, WARN. */
int arec_tg_outbox_to_chat(arec_tg_outbox *o, long long chat_id,
                           const char *text);
/* Queues text for the owner of agent_id (NULL: the owners of the agents
 * running on this pod).  An identical note still waiting is not queued
 * twice. */
int arec_tg_outbox_to_owner(arec_tg_outbox *o, const char *agent_id,
                            const char *text);
/* Stops the sender: it sends what is queued until deadline_ms (monotonic,
 * arec_tg_now_ms()); a sendMessage in flight is cut at the deadline.
 * Returns by the deadline; a thread still running then (resolving owners
 * in the database) is joined by free.  abandon: stop at once, send
 * nothing more.  Idempotent. */
void arec_tg_outbox_stop(arec_tg_outbox *o, int64_t deadline_ms, int abandon);
/* Stops (abandon) if needed, joins, frees the queued messages.  NULL ok. */
void arec_tg_outbox_free(arec_tg_outbox *o);

/* Messages (pieces) sent, dropped, and waiting now. */
typedef struct arec_tg_outbox_stats {
  uint64_t sent, dropped, retried_429;
  size_t waiting;
} arec_tg_outbox_stats;
void arec_tg_outbox_get_stats(arec_tg_outbox *o, arec_tg_outbox_stats *out);

#endif
