/*
 * host/telegram/bot_int.h -- the bot's state shared by bot.c (lifecycle,
 * poller) and notify.c (hooks, owner lookup).  Internal to host/telegram.
 */
#ifndef AREC_HOST_TG_BOT_INT_H
#define AREC_HOST_TG_BOT_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "telegram/bot.h"
#include "telegram/outbox.h"
#include "telegram/tg_api.h"
#include "telegram/update.h"

struct arec_tg_bot {
  arec_tg_bot_options o;        /* strings cleared: copies below */
  char *pod;
  char holder[AREC_ROLE_HOLDER_MAX];
  arec_tg_api *poll_api;
  _Atomic int64_t poll_abort;
  arec_tg_outbox *out;
  long long *allowed;
  size_t nallowed;
  arec_svc *_Atomic svc;        /* set by start */
  atomic_int is_poller;
  pthread_mutex_t mu;
  pthread_cond_t cv;            /* monotonic */
  int stopping, abandon;        /* under mu */
  pthread_t poller;
  int started, poller_joined, stopped;
  arec_tg_chatset told;         /* the poller's only */
};

/* notify.c: the outbox's owner lookup (ud: the bot). */
int arec__tg_owners(void *ud, const char *agent_id, long long **out,
                    size_t *out_n);

#endif
