/*
 * host/telegram/commands.h -- the bot's chat commands, as a pure function
 * of (user, text) over the database and the manager: no Telegram I/O here,
 * so tests can drive it directly and the poller only moves text around.
 */
#ifndef AREC_HOST_TG_COMMANDS_H
#define AREC_HOST_TG_COMMANDS_H

#include <stddef.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"

typedef struct arec_tg_ctx {
  arec_pg *pg;
  arec_manager *mgr;
  const char *pod;            /* this pod's name */
  const long long *allowed;   /* TELEGRAM_ALLOWED_USERS; nallowed 0: all */
  size_t nallowed;
} arec_tg_ctx;

/* Runs one message of `user_id` (also its private chat id).  *out_reply:
 * malloc'd text to send back (free()), never NULL on 0.  *out_delete: 1
 * when the user's message must be deleted (it carried secrets).  0 or
 * AREC_ENOMEM. */
int arec_tg_command(const arec_tg_ctx *ctx, long long user_id,
                    const char *user_name, const char *text, char **out_reply,
                    int *out_delete);

/* Parses "1,2,3" (spaces allowed) into a malloc'd array.  0 or -1. */
int arec_tg_parse_users(const char *s, long long **out, size_t *out_n);

#endif
