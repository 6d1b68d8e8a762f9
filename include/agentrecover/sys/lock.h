/*
 * agentrecover/sys/lock.h -- the distributed-lock vtable, for backend
 * authors.  One lock per agent, key "agent:lock:<agent_id>" (the manager
 * builds the key).  A lock value is unique per acquisition:
 * "<owner>/<32 hex random>".  (Singleton roles are not kept here but in the
 * repository, so they survive an outage of the lock service.)
 *
 * An implementation embeds `arec_lock` as the first member of its struct.
 * Contention is an answer, not an error: try_acquire returns 0 when the lock
 * is held elsewhere.  A transport failure is AREC_EUNAVAILABLE (too few
 * servers answered), kept apart from AREC_ELOST (the servers answered that
 * the value is no longer ours).
 *
 * Validity: every successful acquire/refresh reports how long the lease is
 * still valid, measured from the moment the request was SENT (monotonic
 * clock): ttl - elapsed - drift.  The manager stops a runner when validity
 * runs out without a successful refresh.
 *
 * Threads: called concurrently from several manager threads; an
 * implementation must be thread-safe and say how (pool or mutex).
 */
#ifndef AGENTRECOVER_SYS_LOCK_H
#define AGENTRECOVER_SYS_LOCK_H

#include "../../agentrecover.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 2 added pod_lease (a version-1 struct is still accepted: the slot is then
 * treated as NULL). */
#define AREC_LOCK_VERSION 2
#define AREC_LOCK_VALUE_MAX 160

/* A held lease.  Plain data, owned by the caller. */
typedef struct arec_lease {
  char value[AREC_LOCK_VALUE_MAX]; /* NUL-terminated lock value */
  int64_t validity_ms; /* remaining validity when the call returned */
} arec_lease;

struct arec_lock {
  unsigned int version; /* AREC_LOCK_VERSION */

  /* Required.  Takes `key` for `ttl_ms` with a fresh value
   * "<owner>/<32 hex>" if nobody holds it.  1 = acquired (*out filled), 0 =
   * held elsewhere (an answer, not an error), <0 = error (nothing is left
   * held). */
  int (*try_acquire)(arec_lock *lock, const char *key, const char *owner,
                     int64_t ttl_ms, arec_lease *out);

  /* Required.  Extends the lease to ttl_ms if its value is still ours;
   * updates lease->validity_ms.  0; AREC_ELOST when the value is gone or
   * different; AREC_EUNAVAILABLE when too few servers answered (the lease
   * may still be valid: the caller keeps going until its validity ends). */
  int (*refresh)(arec_lock *lock, const char *key, arec_lease *lease,
                 int64_t ttl_ms);

  /* Required.  Compare-and-delete.  0 = released; 1 = it had already
   * expired or was not ours (nothing deleted); <0 = error. */
  int (*release)(arec_lock *lock, const char *key, const arec_lease *lease);

  /* Optional (NULL: the manager loops over refresh).  n leases in one round
   * trip per server; out_results[i] is what refresh would return for
   * (keys[i], leases[i]), leases[i].validity_ms updated.  Returns 0 when
   * per-lock results were produced, <0 when nothing was sent. */
  int (*refresh_many)(arec_lock *lock, const char *const *keys,
                      arec_lease *leases, size_t n, int64_t ttl_ms,
                      int *out_results);

  /* Optional (NULL: the manager loops over try_acquire).  out_results[i] is
   * what try_acquire would return for keys[i]; out_leases[i] filled when 1. */
  int (*try_acquire_many)(arec_lock *lock, const char *const *keys, size_t n,
                          const char *owner, int64_t ttl_ms,
                          arec_lease *out_leases, int *out_results);

  /* Optional (NULL: the manager loops over release). */
  int (*release_many)(arec_lock *lock, const char *const *keys,
                      const arec_lease *leases, size_t n, int *out_results);

  /* Required.  Frees the lock (called by the manager that owns it). */
  void (*free)(arec_lock *lock);

  /* ---- valid from version 2 ---- */

  /* Optional (NULL: no pod leases; agent leases then end only by their TTL
   * or a release).  Takes or renews the pod lease of `holder`
   * ("<pod>/<incarnation>") for ttl_ms; *out_validity_ms gets its validity
   * measured from the moment the request was SENT.  With leaving != 0
   * deletes it instead (out_validity_ms may then be NULL).  An agent lease
   * acquired with owner == holder may be taken over by another try_acquire
   * at once, before its own TTL, when the holder's pod lease is gone.
   * 0; AREC_ELOST when it cannot be ours (another process holds it);
   * AREC_EUNAVAILABLE when the servers did not answer.  The manager stops
   * every runner when the validity runs out without a renewal. */
  int (*pod_lease)(arec_lock *lock, const char *holder, int64_t ttl_ms,
                   int leaving, int64_t *out_validity_ms);
};

#define AREC_LOCK_INIT                                                         \
  {AREC_LOCK_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

#ifdef __cplusplus
}
#endif
#endif
