/*
 * agentrecover/memory.h -- in-process repository and lock over one shared
 * store, for unit tests of the core and for embedding without servers.
 *
 * Several managers each take their own repository/lock handle on one store
 * and behave like several pods: each manager frees its handles, the caller
 * frees the store last.  The memory repository enforces the fence and pod
 * liveness exactly like the PostgreSQL one; the memory lock implements the
 * lock vtable with TTLs on the store's clock.
 *
 * Clock: the store's clock (lock TTLs, pods' lease_until, backoff waits,
 * roles' leases) is the monotonic clock until arec_memory_clock_set() makes
 * it manual; then it only moves with arec_memory_clock_set() /
 * arec_memory_clock_advance(), so expiry is testable without sleeping.
 * (The manager's own validity deadlines always use the real monotonic
 * clock.)  Records show these times converted to the wall clock.
 *
 * Threads: every function here and every handle is thread-safe (one mutex
 * per store).
 *
 * Agents are created, assigned, wanted and listed through the neutral
 * administration API of agentrecover.h (arec_agent_create() ... on a
 * repository handle of the store), as on any backend.
 *
 * Details of the memory repository: a save naming a symbol the agent does
 * not have is refused whole with AREC_ENOTFOUND; fence 0 is never current
 * (a save, release, start_failed or start_ok with it gets AREC_EFENCED);
 * agents_to_restore lists agents in creation order; an unassigned symbol
 * keeps its history (arec_memory_history); a deleted agent keeps its
 * states and history.
 */
#ifndef AGENTRECOVER_MEMORY_H
#define AGENTRECOVER_MEMORY_H

#include "../agentrecover.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct arec_memory_store arec_memory_store;

AREC_EXTERN int arec_memory_store_new(arec_memory_store **out);
/* Frees the store.  Every handle on it must have been freed before. */
AREC_EXTERN void arec_memory_store_free(arec_memory_store *store);

/* New handles on `store`; the manager they are given to frees them. */
AREC_EXTERN int arec_memory_repository_new(arec_repository **out,
                                           arec_memory_store *store);
AREC_EXTERN int arec_memory_lock_new(arec_lock **out,
                                     arec_memory_store *store);

/* ------------------------------------------------------------------ clock */
/* Switches the store to a manual clock at `now_ms`. */
AREC_EXTERN void arec_memory_clock_set(arec_memory_store *store,
                                       int64_t now_ms);
/* Advances the manual clock (switching to manual mode at the current time
 * if needed). */
AREC_EXTERN void arec_memory_clock_advance(arec_memory_store *store,
                                           int64_t delta_ms);
AREC_EXTERN int64_t arec_memory_clock_now(arec_memory_store *store);

/* ------------------------------------------------------------------- data */
/* Makes agent `id`'s row unreadable, as a row whose stored state does not
 * parse: agents_to_restore lists it with error AREC_EBACKEND and
 * error_text `reason` (and no symbols) instead of failing the list.  NULL
 * reason makes it readable again.  AREC_ENOTFOUND. */
AREC_EXTERN int arec_memory_agent_poison(arec_memory_store *store,
                                         const char *id, const char *reason);

/* One symbol's state: balance, fence of the last accepted write, and a copy
 * of the memory JSON in *out_memory (free with arec_free()). Any out may be
 * NULL. */
AREC_EXTERN int arec_memory_state_get(arec_memory_store *store,
                                      const char *id, const char *symbol,
                                      double *out_balance, char **out_memory,
                                      uint64_t *out_fence);

/* The history of accepted saves of (id, symbol), oldest first: the fences
 * in out_fences (caller's array of `max`), their number in *out_n (total,
 * may exceed max).  The memory store keeps the last 1000 per symbol. */
AREC_EXTERN int arec_memory_history(arec_memory_store *store, const char *id,
                                    const char *symbol, uint64_t *out_fences,
                                    size_t max, size_t *out_n);

/* Makes `pod`'s liveness row expire now (as if its heartbeats stopped long
 * ago).  AREC_ENOTFOUND when it has no row. */
AREC_EXTERN int arec_memory_pod_expire(arec_memory_store *store,
                                       const char *pod);
/* 1 if `pod` has a live row, else 0. */
AREC_EXTERN int arec_memory_pod_alive(arec_memory_store *store,
                                      const char *pod);

/* ------------------------------------------------------------ lock state */
/* Copies the current value of `key` into buf (len bytes) and its remaining
 * TTL; AREC_ENOTFOUND when free or expired. */
AREC_EXTERN int arec_memory_lock_peek(arec_memory_store *store,
                                      const char *key, char *buf, size_t len,
                                      int64_t *out_ttl_ms);
/* Puts `value` on `key` for ttl_ms, as if another pod held it. */
AREC_EXTERN int arec_memory_lock_force(arec_memory_store *store,
                                       const char *key, const char *value,
                                       int64_t ttl_ms);
/* Deletes `key` whatever its value (expiry / eviction). */
AREC_EXTERN int arec_memory_lock_drop(arec_memory_store *store,
                                      const char *key);

/* ------------------------------------------------------------ fault hooks */
typedef enum arec_memory_target {
  AREC_MEMORY_REPOSITORY = 1, /* every repository slot (administration,
                                 backoff and roles included) */
  AREC_MEMORY_LOCK = 2,       /* every lock slot */
  AREC_MEMORY_SAVE = 4,       /* repository save_state/save_many only */
  AREC_MEMORY_REFRESH = 8,    /* lock refresh/refresh_many only */
  AREC_MEMORY_ACQUIRE = 16    /* lock try_acquire/try_acquire_many only */
} arec_memory_target;

/* The next `n` calls matching `targets` (a bitmask; n < 0: until cleared by
 * n = 0) fail with `err` (e.g. AREC_EUNAVAILABLE; err >= 0 means
 * AREC_EUNAVAILABLE) without touching the store.  A batch call counts once.
 * Calling it again with the same `targets` replaces that rule; up to 8
 * rules with different masks are kept at once. */
AREC_EXTERN void arec_memory_fail(arec_memory_store *store, int targets,
                                  int n, int err);
/* Every call matching `targets` sleeps delay_ms (real time) first; 0 off. */
AREC_EXTERN void arec_memory_delay(arec_memory_store *store, int targets,
                                   int64_t delay_ms);
/* Number of calls made so far matching `targets` (counting batch calls
 * once). */
AREC_EXTERN uint64_t arec_memory_calls(arec_memory_store *store, int targets);

#ifdef __cplusplus
}
#endif
#endif
