/*
 * agentrecover/redis.h -- the Redlock lock backend over 1..N independent
 * Redis masters (hiredis).  Key "agent:lock:<id>" as the manager passes it;
 * value "<owner>/<32 hex from getrandom()>"; quorum N/2 + 1; every request
 * goes to all masters in parallel (non-blocking sockets, one poll loop), each
 * bounded by a per-node deadline, and is decided as soon as a quorum
 * answered -- except a release (and a pod lease's leave), which waits for
 * every master up to the deadline, so that no reachable master still holds
 * the value when it returns; validity = ttl - elapsed - drift with
 * drift = ttl/100 + 2 ms, on the monotonic clock.
 *
 * TLS: hiredis 0.14 (Debian 12) has none; put a TLS sidecar (stunnel,
 * spiped) on loopback in front of each master when the network needs it.
 *
 * Threads: the lock is thread-safe; calls are serialised on one mutex (one
 * connection per master), and no call blocks past its deadline.
 *
 * Details: at most 16 masters; keys of 1..512 bytes; owner of 1..126 bytes.
 * Sockets are non-blocking and every wait is one poll() bounded by the
 * deadline (so redisSetTimeout is not needed); connect is bounded by
 * connect_timeout_ms.  A failed acquire is deleted again from every master
 * before the call returns.  A master that breaks is re-dialled with
 * exponential backoff (20 ms .. 1 s); one that owes replies past an early
 * decision has them read and discarded before its next request.  Release,
 * refresh, the pod lease and the takeover acquire are Lua scripts loaded
 * with SCRIPT LOAD on every new connection and called with EVALSHA (EVAL
 * after a NOSCRIPT, for that call on that master only).  The batched calls
 * refresh_many, release_many and try_acquire_many with a pod-lease holder
 * as owner send one script call per chunk of 250 keys, every chunk
 * pipelined in one round trip per master, each answered with one result
 * per key; try_acquire_many for any other owner pipelines SET NX PX per
 * key (a native command costs the master less than a call from Lua).  A
 * key of another type answers "held" / "not ours" without failing its
 * chunk.  A write to a closed socket never raises SIGPIPE in the caller.  Host names are
 * resolved (IPv4 first) at each dial, which may block: prefer addresses.
 *
 * Pod leases (lock vtable v2 pod_lease): the lease of holder
 * "<pod>/<incarnation>" is the key "agent:podlease:<holder>" holding a
 * random token of the lock object, renewed with compare-and-PEXPIRE (SET PX
 * when gone) on every master, with quorum and validity as for agent locks,
 * and compare-and-deleted on leave.  When the owner passed to try_acquire /
 * try_acquire_many is such a holder ("<pod>/<32 hex>", as the manager passes
 * it when pod leases are on), each master runs one Lua script: SET NX PX,
 * or take the key over when its value "<pod>/<32 hex>/<32 hex>" names a
 * holder whose pod lease key is gone on that master; the quorum decides as
 * usual.  Any other owner acquires with SET NX PX, and a value that names
 * no holder is never taken over before its TTL.  The script reads the
 * lease key it is not given in KEYS: independent masters, not Redis
 * Cluster.
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
                                  the batch size; default 50.  A renewal
                                  (refresh, pod lease) waits at least a
                                  third of its TTL: its validity counts
                                  from the send, so a slow answer still
                                  renews */
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
 * release, ping) made on the calling thread through this lock.  A master
 * not yet heard from when the call decided early shows FAIL "pending". */
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

/* Copies up to `max` node results into out; *out_n = number of masters.
 * 0, or AREC_ENOTFOUND when this thread made no single-key call through
 * this lock yet.  The same detail is logged at debug level (one line per
 * call: key, result, elapsed_ms, nodes="addr=why,..."). */
AREC_EXTERN int arec_redis_lock_last_detail(arec_lock *lock,
                                            arec_redis_node_result *out,
                                            size_t max, size_t *out_n);

#ifdef __cplusplus
}
#endif
#endif
