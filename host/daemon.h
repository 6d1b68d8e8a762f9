/*
 * daemon.h -- the parts of a running agentrecoverd in one struct (created
 * by lifecycle.c, stopped by shutdown.c), and the parts beside the
 * manager: the exchange hub, the agent types, the Telegram bot, the
 * takeover recorder.
 */
#ifndef AREC_HOST_DAEMON_H
#define AREC_HOST_DAEMON_H

#include <stdatomic.h>
#include <stdint.h>

#include "agentrecover.h"
#include "config.h"
#include "http.h"
#include "pools.h"
#include "router.h"
#include "service.h"
#include "store.h"
#include "strategies.h"
#include "takeovers.h"
#include "telegram/bot.h"
#include "threads.h"
#include "trading/trading.h"

/* The HTTP server waits this long for busy handlers when it stops (a
 * handler stuck on the database would not finish within any wait that
 * fits the shutdown budget; quick ones finish within this). */
#define AREC_HOST_HTTP_STOP_MS 300
/* The HTTP handler threads run at this nice value: when the CPU is scarce
 * (a busy host, a container's CPU limit) the admin API waits, not the lock
 * refresher, the validity watch or the agents' steps. */
#define AREC_HOST_HTTP_WORKER_NICE 10

typedef struct arec_host_daemon {
  arec_host_config *cfg;
  arec_host_pools pools;
  arec_host_store *store;
  arec_lock *lock;        /* the agents' lock until the manager owns it */
  arec_lock *agents_lock; /* the same, borrowed, for the recovery's pings */
  int lock_up;            /* the lock service answered at start */
  arec_exchange_hub *hub;
  arec_host_trading_config trading; /* outlives the manager */
  arec_host_strategy_ctx strategies; /* outlives the manager */
  _Atomic(arec_tg_bot *) bot; /* NULL: TELEGRAM_BOT_TOKEN unset */
  arec_host_takeovers *takeovers; /* audit events of takeovers */
  arec_manager *mgr;
  arec_svc *svc;
  arec_host_http *http;
  arec_host_state state;
  arec_host_recovery recovery;
  arec_host_job recovery_job;
  arec_host_job mgr_job;  /* the manager's shutdown */
  arec_host_job bot_job;  /* the bot's stop */
  int mgr_rc;             /* arec_manager_shutdown's result */
  int64_t bot_deadline_ms;
  char pod_lease_text[24];
  int64_t hard_deadline_ms; /* monotonic: the process is gone by then */
  int keep_parts;           /* a part is still busy: exit without freeing */
} arec_host_daemon;

/* The exchange hub (breakers, metrics); its state changes go to the bot
 * once it exists.  0 or 1. */
int arec_host_daemon_start_hub(arec_host_daemon *d);
/* The agent types on the manager: the strategy registry (noop and the
 * trading strategies), with the trading configuration filled from the
 * daemon's (mode, exchange, step interval, the store's accounts).  0 or
 * 1. */
int arec_host_daemon_register_types(arec_host_daemon *d);
/* With TELEGRAM_BOT_TOKEN: the bot (before the manager: its log tap sees
 * every line from then on), and the role gauge on.  0 or 1. */
int arec_host_daemon_new_bot(arec_host_daemon *d);
/* Its poller and sender over the service.  0 or 1. */
int arec_host_daemon_start_bot(arec_host_daemon *d);
/* The bot's stop: its role released and its queue flushed, by the
 * monotonic deadline.  NULL bot ok. */
void arec_host_daemon_stop_bot(arec_host_daemon *d, int64_t deadline_ms);
/* The takeover recorder over the store, tapping the log (after the
 * store, before the manager: it sees every restore).  0 or 1. */
int arec_host_daemon_start_takeovers(arec_host_daemon *d);
/* Unhooks and frees it (after the manager, before the store). */
void arec_host_daemon_free_takeovers(arec_host_daemon *d);
/* Frees the bot (after its stop) and the hub (after the manager). */
void arec_host_daemon_free_bot(arec_host_daemon *d);
void arec_host_daemon_free_hub(arec_host_daemon *d);

/* The SIGTERM budget (shutdown.c): returns the exit code. */
int arec_host_shutdown(arec_host_daemon *d, int sig);

#endif
