/*
 * agentrecover/redis.h -- the Redlock lock backend over 1..N independent
 * Redis masters (hiredis).  Key "agent:lock:<id>" as the manager passes it;
 * value "<owner>/<32 hex from getrandom()>"; quorum N/2 + 1; every request
 * goes to all masters in parallel (non-blocking sockets, one poll loop), each
 * bounded by a per-node deadline; validity = ttl - elapsed - drift with
 * drift = ttl/100 + 2 ms, on the monotonic clock.
 *
 * TLS: hiredis 0.14 (Debian 12) has none; put a TLS sidecar (stunnel,
 * spiped) on loopback in front of each master when the network needs it.
 *
 * Threads: the lock is thread-safe; calls are serialised on one mutex (one
 * connection per master), and no call blocks past its deadline.
 */
#ifndef AGENTRECOVER_REDIS_H
#define AGENTRECOVER_REDIS_H

#include "../agentrecover.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AREC_REDIS_OPTIONS_VERSION 1

typedef struct arec_redis_options {
  unsigned int version;        /* AREC_REDIS_OPTIONS_VERSION */
  const char *addrs;           /* "host:port[,host:port...]"; required */
  const char *password;        /* AUTH, or NULL */
  int db;                      /* SELECT, default 0 */
  int64_t connect_timeout_ms;  /* default 200 */
  int64_t node_timeout_ms;     /* per-node deadline for one key; grows with
                                  the batch size; default 50 */
  arec_log_fn log;             /* per-node detail at debug level; optional */
  void *log_userdata;
} arec_redis_options;

#define AREC_REDIS_OPTIONS_INIT                                                \
  {AREC_REDIS_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, NULL, NULL}

/* Parses the addresses and dials every master (a master that does not
 * answer now is dialled again later: not an error).  AREC_EINVAL for a bad
 * address list. */
AREC_EXTERN int arec_redis_lock_new(arec_lock **out,
                                    const arec_redis_options *opts);

/* PINGs every master within the node deadline; *out_up = how many
 * answered.  0 when a quorum answered, else AREC_EUNAVAILABLE. */
AREC_EXTERN int arec_redis_lock_ping(arec_lock *lock, unsigned int *out_up);

/* Per-node detail of the last single-key call (try_acquire, refresh,
 * release, ping) made on the calling thread through this lock. */
typedef enum arec_redis_answer {
  AREC_REDIS_YES = 1,  /* the master did what was asked */
  AREC_REDIS_NO = 0,   /* it answered no (held / not ours) */
  AREC_REDIS_FAIL = -1 /* no answer: timeout, connection error, error reply */
} arec_redis_answer;

typedef struct arec_redis_node_result {
  char addr[64];
  arec_redis_answer answer;
  char why[96];          /* "OK", "held", "timeout", "ECONNREFUSED"... */
} arec_redis_node_result;

/* Copies up to `max` node results into out; *out_n = number of masters. */
AREC_EXTERN int arec_redis_lock_last_detail(arec_lock *lock,
                                            arec_redis_node_result *out,
                                            size_t max, size_t *out_n);

#ifdef __cplusplus
}
#endif
#endif
