/*
 * internal.h -- what the files of the Redlock backend share: the
 * per-master connection (conn.c), the one poll loop over all masters
 * (round.c), the lock operations (ops.c) and the public object
 * (lock.c).  Nothing here is visible outside the library.
 */
#ifndef AREC_REDIS_INTERNAL_H
#define AREC_REDIS_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "agentrecover.h"
#include "agentrecover/redis.h"
#include "agentrecover/sys/lock.h"

#define AREC__REDIS_MAX_NODES 16
#define AREC__REDIS_KEY_MAX 512
#define AREC__REDIS_BACKOFF_MIN_MS 20
#define AREC__REDIS_BACKOFF_MAX_MS 1000
/* A connection with replies owed for this long without any byte read is
 * dropped and re-dialled (a master paused for good). */
#define AREC__REDIS_STALE_DROP_MS 1000

/* Tags of queued commands: the unit (a key, or a chunk of keys) of the
 * round, or one of the handshake tags. */
#define AREC__TAG_AUTH 0xFFFFFFF0u
#define AREC__TAG_SELECT 0xFFFFFFF1u
#define AREC__TAG_SCRIPT 0xFFFFFFF2u
#define AREC__TAG_IS_ITEM(t) ((t) < 0xFFFFFFF0u)

/* Lua scripts (sha1 of the exact text, checked by the tests). */
#define AREC__LUA_RELEASE                                                      \
  "if redis.call('get',KEYS[1])==ARGV[1] then return "                         \
  "redis.call('del',KEYS[1]) else return 0 end"
#define AREC__LUA_RELEASE_SHA "b998f9dfb154cdbea8cda65ad5177aadf0e945a2"
/* Refresh of one key: 1 = extended, 0 = not ours, 2 = missing. */
#define AREC__LUA_REFRESH                                                      \
  "local v=redis.call('get',KEYS[1]) if v==ARGV[1] then return "               \
  "redis.call('pexpire',KEYS[1],ARGV[2]) end if v then return 0 end "          \
  "return 2"
#define AREC__LUA_REFRESH_SHA "40571556545ef28ce44937c5927d3f2a365eea77"
/* Pod leases (lock vtable v2).  Acquire with takeover: SET NX PX, else take
 * the key over when its value is "<pod>/<32 hex>/<32 hex>" and the pod
 * lease key ARGV[3]..<pod>/<32 hex> is gone on this master (1 = set,
 * 2 = taken over, 0 = held).  The lease key is derived inside the script,
 * so it is not in KEYS: fine on independent masters, not for Redis Cluster. */
#define AREC__LUA_ACQUIRE                                                      \
  "if redis.call('set',KEYS[1],ARGV[1],'NX','PX',ARGV[2]) then return 1 end " \
  "local x=string.rep('[0-9a-f]',32) local h=string.match(redis.call('get'," \
  "KEYS[1]),'^(.+/'..x..')/'..x..'$') if h and redis.call('exists',"         \
  "ARGV[3]..h)==0 then redis.call('set',KEYS[1],ARGV[1],'PX',ARGV[2]) "       \
  "return 2 end return 0"
#define AREC__LUA_ACQUIRE_SHA "7b6e9b4eee9eac43146396a4f2dc83d3c6a484c1"
/* Pod lease: compare-and-PEXPIRE the lock object's token, or SET it PX when
 * the key is gone (1); 0 when another token holds it. */
#define AREC__LUA_PODLEASE                                                     \
  "local v=redis.call('get',KEYS[1]) if v==ARGV[1] then return "             \
  "redis.call('pexpire',KEYS[1],ARGV[2]) end if v then return 0 end "         \
  "redis.call('set',KEYS[1],ARGV[1],'PX',ARGV[2]) return 1"
#define AREC__LUA_PODLEASE_SHA "29653eab7a31a5152a3d9ebbb5c8fa29419962a8"
#define AREC__PODLEASE_PREFIX "agent:podlease:"

/* Batched calls: refresh_many, release_many and try_acquire_many with a
 * pod-lease holder as owner send one script call per chunk of up to
 * AREC__REDIS_CHUNK keys, KEYS = the chunk's keys, answered by an array
 * with one integer per key, in KEYS order.  A key of another type answers
 * 0 (held / not ours) instead of failing the whole chunk.  (try_acquire_many
 * with any other owner sends SET NX PX per key, pipelined: a native command
 * costs the master less than a redis.call from Lua, and a script call per
 * key is what a chunk saves.)
 *
 * Acquire with takeover (as AREC__LUA_ACQUIRE, per key): ARGV[1] = ttl,
 * ARGV[2] = pod lease key prefix, ARGV[2+i] = value of KEYS[i]; 1 = set,
 * 2 = taken over, 0 = held.  Whether a holder's lease is gone is looked up
 * once per holder and chunk. */
#define AREC__LUA_TAKEOVER_MANY                                                \
  "local t,p=ARGV[1],ARGV[2] local x=string.rep('[0-9a-f]',32) "              \
  "local m='^(.+/'..x..')/'..x..'$' local g={} local r={} "                   \
  "for i,k in ipairs(KEYS) do local v=ARGV[i+2] r[i]=0 "                      \
  "if redis.call('set',k,v,'NX','PX',t) then r[i]=1 else "                    \
  "local o=redis.pcall('get',k) local h=type(o)=='string' and "               \
  "string.match(o,m) if h then if g[h]==nil then "                            \
  "g[h]=redis.call('exists',p..h)==0 end if g[h] then "                       \
  "redis.call('set',k,v,'PX',t) r[i]=2 end end end end return r"
#define AREC__LUA_TAKEOVER_MANY_SHA "66559fcc697fd13e778a0c0140691f81e4b8127c"
/* Refresh: ARGV[1] = ttl, ARGV[1+i] = value; 1 = extended, 0 = not ours,
 * 2 = missing.  One MGET reads the chunk (a key of another type reads as
 * nil, missing: the repair's SET NX then leaves it alone).  The
 * deadline is taken once per chunk from the master's own clock (TIME) and
 * set with PEXPIREAT: a PEXPIRE is rewritten by the master into a
 * PEXPIREAT with a new argument object per key, which costs it about a
 * fifth of the chunk's time.  replicate_commands lets a write follow TIME
 * on Redis before 7 (on 7 it does nothing). */
#define AREC__LUA_REFRESH_MANY                                                 \
  "redis.replicate_commands() local w=redis.call('time') "                     \
  "local t=string.format('%.0f',w[1]*1000+math.floor(w[2]/1000)+ARGV[1]) "     \
  "local v=redis.call('mget',unpack(KEYS)) local r={} "                        \
  "for i,k in ipairs(KEYS) do local x=v[i] if x==ARGV[i+1] then "              \
  "r[i]=redis.call('pexpireat',k,t) elseif x then r[i]=0 else r[i]=2 end "     \
  "end return r"
#define AREC__LUA_REFRESH_MANY_SHA "cc60d7e311103d1c3f6bffdd79e5b85877ab647e"
/* Release: ARGV[i] = value; 1 = deleted, 0 = not ours.  One MGET reads the
 * chunk, one DEL deletes what is ours. */
#define AREC__LUA_RELEASE_MANY                                                 \
  "local v=redis.call('mget',unpack(KEYS)) local r={} local d={} "            \
  "for i,k in ipairs(KEYS) do if v[i]==ARGV[i] then r[i]=1 d[#d+1]=k "        \
  "else r[i]=0 end end if #d>0 then redis.call('del',unpack(d)) end return r"
#define AREC__LUA_RELEASE_MANY_SHA "7d8699bd9580e5bc54cb2cde7f58b306818cb4c5"
/* Keys per script call.  Throughput is flat from 100 to 1,000 keys per
 * call (the master's work per key dominates); a call runs atomically, so
 * the smaller end keeps what other clients wait for short: about 0.3 ms
 * per call of 250 keys. */
#define AREC__REDIS_CHUNK 250

enum { AREC__RN_DOWN = 0, AREC__RN_CONNECTING = 1, AREC__RN_READY = 2 };

typedef struct arec__rnode {
  char host[256];
  int port;
  char addr[64]; /* "host:port" for detail and logs */
  redisContext *c;
  int state;
  int64_t next_dial_ms; /* earliest re-dial (backoff) */
  int64_t backoff_ms;
  int64_t last_io_ms;   /* last byte read (or dial) */
  size_t stale;         /* replies owed to earlier rounds: discarded first */
  int64_t stale_since;  /* since when `stale` has been > 0 at every round
                           start (0: it was 0 at the last one) */
  int need_load;        /* SCRIPT LOAD before the next round */
  char lasterr[80];     /* why the last connection went down */
  /* this round */
  uint32_t *expect;     /* tags of the replies owed to this round, in order */
  size_t expect_head, expect_n, expect_cap;
  int active;           /* takes part in this round and is not finished */
  int want_write;       /* output may be left in the hiredis buffer */
  size_t unsent;        /* bytes queued since the last write attempt */
  int timed_out;        /* missed the deadline of the last round */
  /* Refreshes left that wait, once every key is decided, for this master's
   * answers too (up to the node deadline): set on every connect, when keys
   * taken while it was away may be missing there (ops.c repairs()). */
  unsigned fresh;
} arec__rnode;
#define AREC__REDIS_FRESH_REFRESHES 3

typedef struct arec__redis_lock {
  arec_lock parent;
  pthread_mutex_t mu; /* serialises every call: one connection per master */
  arec__rnode nodes[AREC__REDIS_MAX_NODES];
  size_t n, quorum;
  char *password;
  int db;
  int64_t connect_timeout_ms, node_timeout_ms;
  arec_log_fn log;
  void *log_userdata;
  char pod_token[33]; /* value of this object's pod lease keys (32 hex) */
} arec__redis_lock;

/* One request over every master: the caller queues commands per node, then
 * runs the poll loop, which hands every reply (or a failure) to on_reply
 * and stops as soon as done() says every item is decided. */
typedef struct arec__rround {
  arec__redis_lock *L;
  int64_t t_start; /* monotonic ms when the first byte was queued */
  int64_t now;     /* monotonic ms, refreshed every poll iteration */
  /* r == NULL: the node failed for this item, `why` says why. */
  void (*on_reply)(struct arec__rround *R, size_t node, uint32_t tag,
                   const redisReply *r, const char *why);
  int (*done)(struct arec__rround *R);
  void *ud;
  /* > 0: done() changes its answer then (the poll wakes for it). */
  int64_t soft_ms;
} arec__rround;

int64_t arec__mono_ms(void);

/* conn.c */
int arec__redis_parse_addrs(arec__redis_lock *L, const char *addrs);
/* Readies a node for a round: re-dials when down and due, queues AUTH,
 * SELECT and SCRIPT LOAD on a fresh connection.  0, or -1 with `why`. */
int arec__rnode_prepare(arec__redis_lock *L, arec__rnode *nd, int64_t now,
                        char *why, size_t whylen);
/* Queues one formatted command owing one reply tagged `tag`. */
int arec__rnode_queue(arec__rnode *nd, const char *cmd, size_t len,
                      uint32_t tag);
/* Writes what is queued without waiting, once AREC__REDIS_FLUSH_BYTES
 * have gathered on a ready connection, so the master starts on the first
 * commands while later ones are still being formatted.  A write error is
 * left for the poll loop to find. */
#define AREC__REDIS_FLUSH_BYTES 32768
void arec__rnode_flush(arec__rnode *nd);
/* redisBufferWrite with SIGPIPE blocked on this thread (a write to a
 * closed socket must not kill the embedding process); a SIGPIPE it raised
 * is consumed. */
int arec__rnode_write(arec__rnode *nd, int *done);
/* Closes the connection; the next dial waits for the backoff. */
void arec__rnode_drop(arec__rnode *nd, const char *why, int64_t now);
void arec__rnode_free(arec__rnode *nd);

/* round.c */
void arec__rround_run(arec__rround *R, int64_t deadline_ms);

/* ops.c: one lock operation over n keys on every master. */
enum {
  AREC__OP_ACQUIRE = 0,
  AREC__OP_REFRESH = 1,
  AREC__OP_RELEASE = 2,
  AREC__OP_PING = 3,
  AREC__OP_PODLEASE = 4, /* renew (AREC__LUA_PODLEASE); decided as refresh */
  /* or'ed into AREC__OP_ACQUIRE: acquire with AREC__LUA_ACQUIRE */
  AREC__OP_F_TAKEOVER = 0x10,
  /* or'ed into acquire / refresh / release: one script call per chunk of
   * AREC__REDIS_CHUNK keys (the *_MANY scripts) instead of one command per
   * key, where such a script exists (not for a plain acquire) */
  AREC__OP_F_BATCH = 0x20
};

/* cmd.c: what one operation sends and what the replies mean. */
typedef struct arec__rcmd {
  int kind;     /* AREC__OP_ACQUIRE .. AREC__OP_PODLEASE (no flags) */
  int takeover; /* acquire with the takeover script */
  int batch;    /* one *_MANY script call per chunk of keys */
  const char *const *keys;
  const char *const *values;
  const char *ttl; /* decimal ms */
} arec__rcmd;
/* Formats the command for items[0..n) (n == 1 unless batch) into *out
 * (free with free()); eval: EVAL with the script text instead of EVALSHA.
 * The length, or -1. */
int arec__rcmd_format(const arec__rcmd *c, const uint32_t *items, size_t n,
                      int eval, char **out);
/* A single-key command's reply. */
arec_redis_answer arec__rcmd_classify(const arec__rcmd *c,
                                      const redisReply *r, const char **why);
/* One element of a chunk's array reply. */
arec_redis_answer arec__rcmd_element(const arec__rcmd *c,
                                     const redisReply *e, const char **why);
/* The `why` of a refresh's AREC_REDIS_NO when the key is missing on that
 * master (compared by address). */
extern const char arec__redis_why_missing[];

/* The per-node deadline of a call over n keys: node_timeout_ms, plus 1 ms
 * per 40 keys. */
int64_t arec__redis_batch_timeout(const arec__redis_lock *L, size_t n);
/* The deadline of a renewal (refresh, pod lease) of n keys to ttl_ms: the
 * batch deadline, but at least ttl_ms / 3 and at most ttl_ms. */
int64_t arec__redis_renew_timeout(const arec__redis_lock *L, size_t n,
                                  int64_t ttl_ms);
/* keys[i]/values[i] for each item; results[i] preset to 1 (send) or to an
 * error code (skip).  On return results[i] holds the per-item answer in
 * the vtable's terms and validity[i] (may be NULL) the remaining validity.
 * detail (n == 1, may be NULL) gets one entry per master.  Failed acquires
 * are deleted again from every master that may hold them. */
void arec__redis_op(arec__redis_lock *L, int kind, const char *const *keys,
                    const char *const *values, size_t n, int64_t ttl_ms,
                    int64_t timeout_ms, int *results, int64_t *validity,
                    arec_redis_node_result *detail);

#endif
