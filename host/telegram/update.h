/*
 * host/telegram/update.h -- what the poller does with the updates of one
 * getUpdates answer: range-check, classify, store the offset (fenced by the
 * poller role) *before* handling, keep the bot to private chats, run the
 * command and hand the reply on.
 *
 * Every side effect goes through the ports below (the poller gives the
 * real ones; the fuzz target and tests give recording ones), and commands
 * reach the host only through host/service.h.
 *
 * Privacy: only a text message in a private chat from a user reaches a
 * command.  Messages in groups, supergroups and channels, messages with
 * `sender_chat`, and messages from Telegram's anonymous-admin / channel
 * senders change nothing and reveal nothing: such a chat gets at most one
 * reply, asking for a private chat (the chat ids already told are kept in
 * a bounded set).
 *
 * Numbers: update_id, from.id, chat.id and message_id must be finite
 * integral JSON numbers within +-2^53; an update failing that is skipped
 * with a WARN naming the field (never the message's content).
 */
#ifndef AREC_HOST_TG_UPDATE_H
#define AREC_HOST_TG_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "agentrecover.h"
#include "service.h"

/* The senders Telegram uses for anonymous group admins and for channels
 * posting into groups (and its service account forwarding channel posts):
 * no person stands behind them. */
#define AREC_TG_ANON_ADMIN 1087968824LL
#define AREC_TG_CHANNEL_BOT 136817688LL
#define AREC_TG_SERVICE_USER 777000LL

/* The reply a non-private chat gets (once). */
#define AREC_TG_PRIVATE_ONLY                                                  \
  "I only talk in private chats. Open a private chat with me and send "      \
  "/help there."

/* ------------------------------------------------------ bounded chat set */
#define AREC_TG_CHATSET_MAX 4096

typedef struct arec_tg_chatset {
  long long ids[AREC_TG_CHATSET_MAX]; /* FIFO: the oldest is forgotten */
  size_t n, next;
} arec_tg_chatset;

/* Adds id: 1 when it was new, 0 when already there.  Not thread-safe (the
 * poller is one thread). */
int arec_tg_chatset_add(arec_tg_chatset *s, long long id);

/* ------------------------------------------------------------ one update */
typedef enum arec_tg_kind {
  AREC_TG_MALFORMED = 0, /* a required number missing or out of range */
  AREC_TG_IGNORED,       /* no message, or not text: nothing to do */
  AREC_TG_NOT_PRIVATE,   /* group/supergroup/channel, sender_chat, anon */
  AREC_TG_PRIVATE        /* a text message in a private chat */
} arec_tg_kind;

typedef struct arec_tg_msg {
  arec_tg_kind kind;
  const char *why;         /* MALFORMED: the field at fault */
  long long update_id;
  long long user_id;       /* from.id (PRIVATE) */
  long long chat_id;       /* chat.id (0 when unknown) */
  long long message_id;
  const char *text;        /* borrowed from the cJSON (PRIVATE,
                              NOT_PRIVATE: may be NULL) */
  char name[256];          /* username, else first_name: control
                              characters replaced, at most 64 characters */
} arec_tg_msg;

/* A JSON number that is finite, integral and within +-2^53: 1 (and *out),
 * else 0. */
int arec_tg_json_int(const cJSON *v, long long *out);

/* Classifies one update (any JSON).  update_id is checked first: without a
 * valid one the kind is MALFORMED with why "update_id". */
void arec_tg_classify(const cJSON *update, arec_tg_msg *out);

/* ------------------------------------------------------------- handling */
typedef struct arec_tg_ports {
  void *ud;
  /* Stores the next offset, fenced by the poller role: 0; AREC_EFENCED or
   * AREC_ELOST (the role is gone: handle nothing more); other <0: not
   * stored (handle the update later). */
  int (*offset_set)(void *ud, long long offset);
  /* Deletes a message: 0 only when it is gone. */
  int (*delete_message)(void *ud, long long chat_id, long long message_id);
  /* Hands a reply on (queues it). */
  void (*reply)(void *ud, long long chat_id, const char *text);
} arec_tg_ports;

typedef struct arec_tg_handler {
  arec_tg_ports ports;
  arec_svc *svc;
  const char *pod;
  const long long *allowed; /* TELEGRAM_ALLOWED_USERS; nallowed 0: all */
  size_t nallowed;
  arec_tg_chatset *told;    /* non-private chats already answered */
  long long offset;         /* the next update id to handle (in/out) */
  arec_log_fn log;
  void *log_userdata;
} arec_tg_handler;

/* Handles one update: an update below h->offset is skipped (handled
 * before); otherwise the offset update_id + 1 is stored first, then the
 * update is handled.  0 (handled or skipped); AREC_EFENCED / AREC_ELOST
 * (nothing handled: stop); other <0 (the offset was not stored: nothing
 * handled, try again later); AREC_ENOMEM. */
int arec_tg_handle_update(arec_tg_handler *h, const cJSON *update);

/* Handles the "result" of a getUpdates answer in order, stopping at the
 * first update that returns an error (which it returns).  A result that is
 * not an array is logged and ignored (0). */
int arec_tg_handle_updates(arec_tg_handler *h, const cJSON *result);

#endif
