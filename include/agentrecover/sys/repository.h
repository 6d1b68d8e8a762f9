/*
 * agentrecover/sys/repository.h -- the repository vtable, for backend
 * authors.  The repository is the source of truth (DESIGN.md sections 2, 5):
 * who wants which agent running, who runs it now (fence, running_on,
 * running_incarnation), the pods' liveness rows, and the agents' state.
 *
 * An implementation embeds `arec_repository` as the first member of its own
 * struct and casts down in its callbacks; its method table is static const.
 * Every slot returns 0 on success or a negative AREC_E* code; it fills
 * arec_error_last() with detail (never a secret).  A transport failure is
 * AREC_EUNAVAILABLE (or AREC_ETIMEDOUT past the backend's deadline), never
 * confused with an answer such as AREC_EFENCED or AREC_ENOTFOUND.
 *
 * Threads: the manager calls a repository from several threads at once
 * (reconciler, refresher, workers, API callers); an implementation must be
 * thread-safe (pool or serialise its connections, and say which).
 */
#ifndef AGENTRECOVER_SYS_REPOSITORY_H
#define AGENTRECOVER_SYS_REPOSITORY_H

#include "../../agentrecover.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 2 added balance, pod_leaving and migrate at the end (fair sharing and
 * migration, issue 8), and the answer 3 of unwanted; a version-1 struct is
 * still accepted (the new slots are then treated as NULL). */
#define AREC_REPOSITORY_VERSION 2

/* One agent to run, as the repository returns it.  Everything is allocated
 * by the repository with malloc() and freed by arec_agent_list_free() (so a
 * backend must allocate each string and array separately with malloc). */
typedef struct arec_agent_row {
  char *id;
  long long user_id;
  char *strategy;
  char *name;
  size_t nsymbols;
  arec_symbol *symbols; /* const char * members point to malloc'd strings
                           owned by the row */
} arec_agent_row;

typedef struct arec_agent_list {
  size_t n;
  arec_agent_row *rows;
} arec_agent_list;

/* Frees a list and everything in it (wiping api_key/api_secret).  NULL ok. */
AREC_EXTERN void arec_agent_list_free(arec_agent_list *list);

/* An agent being migrated to a named pod (repository version 2). */
typedef struct arec_migration {
  char *agent_id; /* malloc'd */
  char *to_pod;   /* malloc'd */
} arec_migration;

/* What a reconcile pass needs for fair sharing (repository version 2).
 * Filled by the repository's balance slot; every string and the array are
 * malloc'd separately and freed by arec_balance_clear(). */
typedef struct arec_balance {
  uint64_t live_pods; /* pods rows live now and not leaving */
  uint64_t wanted;    /* wanted agents (is_active AND is_trading, with at
                         least one symbol) */
  size_t nmigrations;
  arec_migration *migrations; /* migration holds in force now */
} arec_balance;

/* Frees what a balance slot allocated and zeroes *b.  NULL ok. */
AREC_EXTERN void arec_balance_clear(arec_balance *b);

/* One symbol's state in a save. */
typedef struct arec_symbol_state {
  const char *symbol;
  double balance;
  const char *memory; /* JSON text */
} arec_symbol_state;

/* One fenced write of an agent's state (all its symbols at once). */
typedef struct arec_save {
  const char *agent_id;
  uint64_t fence;
  const char *pod; /* recorded in the history */
  size_t nstates;
  const arec_symbol_state *states;
} arec_save;

struct arec_repository {
  unsigned int version; /* AREC_REPOSITORY_VERSION */

  /* Required.  Wanted agents (is_active AND is_trading, with at least one
   * symbol) that have no live owner: running_on NULL, or its pod's row
   * missing or expired (on the repository's clock), or the pod's incarnation
   * differs from running_incarnation.  When `only_id` is non-NULL, only that
   * agent (an empty list if it is not wanted or has a live owner).  Each
   * agent once, with all its symbols and its owner's exchange credentials
   * for each symbol (joined on owner AND symbol).  *out is allocated by the
   * repository; the caller frees it with arec_agent_list_free(). */
  int (*agents_to_restore)(arec_repository *repo, const char *only_id,
                           arec_agent_list **out);

  /* Required.  For each of this pod's runners `ids[i]` (n of them), sets
   * out_unwanted[i] (the caller's array) to:
   *   0  still wanted and still owned by this (pod, incarnation): keep;
   *   1  no longer wanted (is_trading or is_active false, or deleted): the
   *      user stopped it, stop with AREC_STOP_USER;
   *   2  wanted but owned by another (pod, incarnation) now: stop at once
   *      without writing (AREC_STOP_FENCED);
   *   3  (version 2) still ours, but a migration to another pod is in force:
   *      hand it off gracefully (AREC_STOP_HANDOVER: save, release).  */
  int (*unwanted)(arec_repository *repo, const char *pod,
                  const char *incarnation, const char *const *ids, size_t n,
                  unsigned char *out_unwanted);

  /* Required.  Claims one agent where it is wanted: fence = fence + 1,
   * running_on = pod, running_incarnation = incarnation; *out_fence gets the
   * new fence.  AREC_ECONFLICT when the agent is not wanted, AREC_ENOTFOUND
   * when it does not exist. */
  int (*claim)(arec_repository *repo, const char *pod,
               const char *incarnation, const char *agent_id,
               uint64_t *out_fence);

  /* Required.  Fenced write of one agent's symbol states: applied only while
   * `save->fence` is still the agent's current fence, atomically against a
   * concurrent claim (the agent row is locked in the same transaction);
   * updates agent_states in place and appends to the history.
   * AREC_EFENCED when the fence is stale (nothing written). */
  int (*save_state)(arec_repository *repo, const arec_save *save);

  /* Required.  Fenced release: where fence matches, running_on and
   * running_incarnation become NULL and the fence is bumped (so a late write
   * of the old runner is refused).  AREC_EFENCED when already superseded. */
  int (*release)(arec_repository *repo, const char *agent_id, uint64_t fence);

  /* Required.  Renews this pod's row: heartbeat_at = now, lease_until =
   * now + lease_ms on the repository's clock, inserting it (with
   * started_at) when missing or when the incarnation changed.  With
   * leaving != 0, deletes the row instead. */
  int (*heartbeat)(arec_repository *repo, const char *pod,
                   const char *incarnation, int64_t lease_ms, int leaving);

  /* Required.  The user's wish.  wanted != 0: AREC_ECONFLICT when the agent
   * has no symbol or is disabled; AREC_ENOTFOUND when it does not exist. */
  int (*set_trading)(arec_repository *repo, const char *agent_id,
                     int wanted);

  /* Optional (NULL: the manager calls claim n times).  One round trip for n
   * agents; out_fences[i] and out_results[i] (0 or an AREC_E* code as for
   * claim) are the caller's arrays.  Returns 0 when the batch was answered
   * (per-agent results inside), <0 when it could not be sent at all. */
  int (*claim_many)(arec_repository *repo, const char *pod,
                    const char *incarnation, const char *const *ids, size_t n,
                    uint64_t *out_fences, int *out_results);

  /* Optional (NULL: the manager calls save_state n times).  One round trip
   * for n saves, rows locked in agent id order so concurrent batches never
   * deadlock; out_results[i] as for save_state. */
  int (*save_many)(arec_repository *repo, const arec_save *saves, size_t n,
                   int *out_results);

  /* Optional (NULL: the manager calls release n times). */
  int (*release_many)(arec_repository *repo, const char *const *ids,
                      const uint64_t *fences, size_t n, int *out_results);

  /* Required.  Frees the repository (called by the manager that owns it). */
  void (*free)(arec_repository *repo);

  /* ---- valid from version 2 ---- */

  /* Optional (NULL: no fair sharing and no migrations; every pod takes what
   * it can).  Fills *out (zeroed by the caller) with the number of live pods
   * that are not leaving, the number of wanted agents and the migration
   * holds in force (on the repository's clock); the caller frees it with
   * arec_balance_clear(). */
  int (*balance)(arec_repository *repo, arec_balance *out);

  /* Optional (NULL: nothing is marked).  Marks this pod's row leaving: it
   * stays live for its agents until heartbeat(leaving = 1) deletes it, but
   * balance() no longer counts it.  A heartbeat of the same incarnation
   * keeps the mark; a new incarnation clears it. */
  int (*pod_leaving)(arec_repository *repo, const char *pod,
                     const char *incarnation);

  /* Optional (NULL: the manager answers AREC_EINVAL).  Records a migration
   * hold of `agent_id` to pod `to_pod` for hold_ms: until it ends only
   * to_pod may claim the agent (claim answers AREC_ECONFLICT to any other
   * pod, and clears the hold when to_pod claims), and unwanted() answers 3
   * to the current owner.  0 (also when to_pod already owns it: nothing is
   * recorded); AREC_ENOTFOUND: no such agent; AREC_ECONFLICT: the agent is
   * not wanted, or to_pod has no live row or is leaving. */
  int (*migrate)(arec_repository *repo, const char *agent_id,
                 const char *to_pod, int64_t hold_ms);
};

#define AREC_REPOSITORY_INIT                                                   \
  {AREC_REPOSITORY_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,    \
   NULL, NULL, NULL, NULL, NULL, NULL}

#ifdef __cplusplus
}
#endif
#endif
