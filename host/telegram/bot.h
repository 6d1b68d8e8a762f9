/*
 * host/telegram/bot.h -- the Telegram bot of agentrecoverd: a singleton
 * long-polling role plus owner notifications.
 *
 * The poller: every pod runs a bot, exactly one polls.  The role is the
 * lock key "agent:role:telegram" (taken with try_acquire, refreshed every
 * ttl/3, lost when a refresh says so or its validity runs out) fenced in
 * PostgreSQL (arec_pg_role_claim; the update offset "telegram:offset" is
 * written with arec_pg_kv_set under that fence before each update is
 * handled, so a fenced-out holder handles nothing).  When the holder dies
 * its lock expires and a standby pod takes the role within ttl + its retry
 * interval.  Never hammers: after an error, or an empty answer that came
 * back early, it waits before polling again.
 *
 * Notifications (from any pod; sendMessage needs no role): the hooks below
 * only queue (they are called from manager, worker and exchange threads,
 * possibly under their locks); one sender thread resolves the agent's owner
 * and sends.  Telegram user id = private chat id.
 *
 * Threads: every function is thread-safe.  Never logs the token or a URL.
 */
#ifndef AREC_HOST_TG_BOT_H
#define AREC_HOST_TG_BOT_H

#include <stdint.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "trading/exchange.h"

typedef struct arec_tg_bot arec_tg_bot;

typedef struct arec_tg_bot_options {
  const char *token;          /* TELEGRAM_BOT_TOKEN; required */
  const char *api_base;       /* TELEGRAM_API_BASE; NULL: public API */
  const char *allowed_users;  /* TELEGRAM_ALLOWED_USERS or NULL */
  const char *pod;            /* this pod; required (copied) */
  arec_pg *pg;                /* required; the caller keeps its reference
                                 and frees it after the bot */
  arec_lock *lock;            /* required; the bot owns and frees it */
  int64_t lock_ttl_ms;        /* role lock TTL; default 30000 */
  int poll_timeout_s;         /* getUpdates timeout; default 25, capped to
                                 a third of the TTL */
  int64_t idle_wait_ms;       /* wait after an early empty answer or an
                                 error (doubles on errors, up to 30 s);
                                 default 1000 */
  arec_log_fn log;            /* optional */
  void *log_userdata;
} arec_tg_bot_options;

/* Creates the bot with its notification queue (the hooks work from now on,
 * messages wait until start).  0, AREC_EINVAL (message names the variable),
 * AREC_ENOMEM.  On error the lock is freed too. */
int arec_tg_bot_new(arec_tg_bot **out, const arec_tg_bot_options *opts);

/* Starts the sender and the poller; `mgr` serves the commands. */
int arec_tg_bot_start(arec_tg_bot *bot, arec_manager *mgr);

/* Stops polling (releases the role and its lock), sends what is queued
 * within a second, joins the threads.  Call before the manager is freed.
 * Idempotent; NULL ok. */
void arec_tg_bot_stop(arec_tg_bot *bot);

/* FOR TESTS: a simulated kill -9 of the poller: stops the threads without
 * releasing the role or its lock. */
void arec_tg_bot_abandon(arec_tg_bot *bot);

/* Stops if needed, frees the lock.  NULL ok. */
void arec_tg_bot_free(arec_tg_bot *bot);

/* 1 while this pod holds the poller role. */
int arec_tg_bot_is_poller(arec_tg_bot *bot);

/* ---------------------------------------------------- notification hooks */
/* A log sink tap: "✅ agent restored successfully" -> "restored on pod",
 * "agent stopped" reason=user -> "stop completed".  ud: the bot (NULL ok). */
void arec_tg_bot_log_tap(void *bot, arec_log_level level, const char *msg,
                         const arec_log_field *fields, size_t nfields);
/* arec_trade_fn: notifies live trades only.  ud: the bot (NULL ok). */
void arec_tg_bot_on_trade(void *bot, const char *agent_id, const char *symbol,
                          const char *side, double qty, double price, int live);
/* arec_breaker_change_fn: circuit opened / closed again -> the owners of
 * the agents running on this pod.  ud: the bot (NULL ok). */
void arec_tg_bot_on_breaker(void *bot, const char *endpoint,
                            arec_breaker_state from, arec_breaker_state to);
/* Queues `text` to the owner of agent_id (user_id 0) or to user_id. */
void arec_tg_bot_notify(arec_tg_bot *bot, const char *agent_id,
                        long long user_id, const char *text);

#endif
