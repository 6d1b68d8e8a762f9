/*
 * host/telegram/bot.h -- the Telegram bot of agentrecoverd: a singleton
 * long-polling role plus owner notifications, over host/service.h.
 *
 * The poller: every pod runs a bot, exactly one polls.  The role is the
 * library's singleton role "telegram" in the administrative repository
 * (arec_role_claim/keep/release, holder "<pod>/<32 hex random>"), kept
 * every TTL/3; on AREC_ELOST, or when its validity runs out without a
 * successful keep, polling stops at once.  The role lives in PostgreSQL,
 * not in the lock service: the bot keeps working while Redis is down.  The
 * update offset is stored with arec_svc_bot_offset_set under the role's
 * fence *before* each update is handled, so a holder that lost the role
 * handles nothing, and a new holder continues from the stored offset
 * without handling an update twice.  When the holder dies its lease
 * expires and a standby pod takes the role within TTL + min(TTL/3, 5 s).
 *
 * Privacy: the bot acts only on private chats (see update.h);
 * TELEGRAM_ALLOWED_USERS limits who may use it (unset: everyone, with a
 * WARN at start).
 *
 * Notifications (from any pod; sendMessage needs no role): the hooks below
 * only queue (they are called from manager, worker and exchange threads,
 * possibly under their locks); the outbox's sender resolves the owners
 * and sends, honouring 429s.  Telegram user id = private chat id.
 *
 * Wiring (the daemon): arec_tg_bot_new before the manager (its log sink
 * feeds arec_tg_bot_log_tap; the trading config's on_trade and the hub's
 * on_change take the hooks below, userdata the bot); arec_tg_bot_start
 * once the service exists; at shutdown arec_tg_bot_stop(bot, deadline)
 * early (the role moves to another pod at once), then arec_tg_bot_free
 * before arec_svc_free.  arec_tg_bot_is_poller() is the value of the
 * role-held gauge.
 *
 * Threads: every function is thread-safe.  Never logs the token, a URL or
 * a message's text.
 */
#ifndef AREC_HOST_TG_BOT_H
#define AREC_HOST_TG_BOT_H

#include <stdint.h>

#include "agentrecover.h"
#include "service.h"
#include "trading/exchange.h"

typedef struct arec_tg_bot arec_tg_bot;

#define AREC_TG_ROLE "telegram"

typedef struct arec_tg_bot_options {
  const char *token;          /* TELEGRAM_BOT_TOKEN; required */
  const char *api_base;       /* TELEGRAM_API_BASE; NULL: public API */
  const char *allowed_users;  /* TELEGRAM_ALLOWED_USERS or NULL (all) */
  const char *pod;            /* this pod; required (copied) */
  int64_t role_ttl_ms;        /* poller role TTL; default 30000; kept
                                 every TTL/3 */
  int poll_timeout_s;         /* getUpdates timeout; default 25, capped to
                                 TTL/3 */
  int64_t idle_wait_ms;       /* wait after an early empty answer or an
                                 error (doubles on errors, up to 30 s);
                                 default 1000 */
  arec_log_fn log;            /* optional */
  void *log_userdata;
} arec_tg_bot_options;

/* Creates the bot with its outbox (the hooks work from now on, messages
 * wait until start).  0, AREC_EINVAL (arec_error_last() names the
 * variable), AREC_ENOMEM. */
int arec_tg_bot_new(arec_tg_bot **out, const arec_tg_bot_options *opts);

/* Starts the sender and the poller over `svc` (borrowed: free the bot
 * before the svc).  Logs one WARN when every Telegram user may use it. */
int arec_tg_bot_start(arec_tg_bot *bot, arec_svc *svc);

/* Bounded stop (deadline_ms on the monotonic clock, arec_tg_now_ms() /
 * CLOCK_MONOTONIC in ms): stops polling at once and releases the role
 * first, then sends what is queued until the deadline (each sendMessage
 * cut at it).  Never blocks past the deadline; a thread still in a
 * database call then is joined by arec_tg_bot_free.  Idempotent; NULL ok. */
void arec_tg_bot_stop(arec_tg_bot *bot, int64_t deadline_ms);

/* FOR TESTS: a simulated kill -9: stops the threads without releasing the
 * role or sending anything more. */
void arec_tg_bot_abandon(arec_tg_bot *bot);

/* Stops if needed (a second at most), joins, frees.  NULL ok. */
void arec_tg_bot_free(arec_tg_bot *bot);

/* 1 while this bot holds the poller role. */
int arec_tg_bot_is_poller(arec_tg_bot *bot);

/* ---------------------------------------------------- notification hooks */
/* A log sink tap: "✅ agent restored successfully" with after=failure ->
 * "restored on pod after a failure" (after=handover: nothing);
 * "trading agent stopped" reason=user -> "stopped; positions closed: ...;
 * NOT closed: ... (why)", else "agent stopped" reason=user -> "stopped";
 * "daily loss limit reached, stopping the agent" -> "lost L today, being
 * stopped"; "agent start failed, backing off" with failures=1 -> "could
 * not start, retrying" (once per backoff, not per retry); "agent started
 * after backoff" -> "started".  ud: the bot (NULL ok). */
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
