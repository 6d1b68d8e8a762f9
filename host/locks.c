/*
 * locks.c -- the lock factories of locks.h: Redis or PostgreSQL by
 * AGENT_LOCK_BACKEND, and the start-up pings of Redis.
 *
 * Never: log REDIS_PASSWORD, or make the daemon wait for Redis longer than
 * five pings (agents wait for it on the recovery thread instead).
 */
#include "locks.h"

#include <stdio.h>
#include <string.h>

#include "agentrecover/redis.h"
#include "backoff.h"
#include "log.h"

int arec_host_lock_is_pg(const arec_host_config *cfg) {
  return cfg->lock_backend && !strcmp(cfg->lock_backend, "postgres");
}

int arec_host_lock_new(arec_lock **out, const arec_host_config *cfg,
                       arec_pg *pg, int plain) {
  *out = NULL;
  if (arec_host_lock_is_pg(cfg)) {
    arec_pg_lock_options lo = AREC_PG_LOCK_OPTIONS_INIT;
    lo.no_liveness = plain ? 1 : 0;
    if (arec_pg_lock_new(out, pg, &lo) != 0) {
      fprintf(stderr, "agentrecoverd: AGENT_LOCK_BACKEND: %s\n",
              arec_error_last());
      return 2;
    }
    return 0;
  }
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  o.addrs = cfg->redis_addrs;
  o.password = cfg->redis_password;
  o.db = cfg->redis_db;
  o.log = arec_host_log_sink;
  o.log_userdata = arec_host_log_ud();
  if (arec_redis_lock_new(out, &o) != 0) {
    fprintf(stderr, "agentrecoverd: REDIS_ADDRS: %s\n", arec_error_last());
    return 2;
  }
  return 0;
}

int arec_host_lock_ping(arec_lock *lock) {
  unsigned up = 0;
  return arec_redis_lock_ping(lock, &up);
}

static int ping_attempt(void *ud, int attempt, int64_t left_ms) {
  (void)attempt;
  (void)left_ms;
  return arec_host_lock_ping(ud) == 0 ? 0 : 1;
}

int arec_host_lock_wait_redis(arec_lock *lock, const arec_host_config *cfg) {
  arec_host_retry r = {0};
  r.retry_msg = "Redis unreachable, retrying";
  r.first_delay_ms = 100;
  r.max_attempts = 5;
  int rc = arec_host_retry_run(&r, ping_attempt, lock);
  if (rc == AREC_HOST_RETRY_DONE) {
    hlog(AREC_LOG_INFO, "Redis connected", HL_S("addrs", cfg->redis_addrs),
         HL_END);
    return 0;
  }
  if (rc == AREC_HOST_RETRY_INTERRUPTED) return -1;
  hlog(AREC_LOG_WARN, "⚠️ Redis unavailable, agent recovery skipped",
       HL_END);
  return 1;
}
