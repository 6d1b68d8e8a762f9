/*
 * agentrecover/sys/repository.h -- the repository vtable, for backend
 * authors.  The repository is the source of truth: who wants which agent
 * running, who runs it now (fence, running_on, running_incarnation), the
 * pods' liveness rows, the agents' state, their backoff after failed
 * starts, and the singleton roles.  docs/design.md describes the data model
 * and the claim/fence/release protocol every backend must keep.
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

/* 2 added fleet, pod_leaving and migrate (fair sharing and migration) and
 * the answer 3 of unwanted; 3 added the administration slots, the backoff
 * slots and the roles, and the new fields of arec_agent_row.  The manager
 * accepts versions 2 and 3 of a backend built against this header (the
 * structs are this header's; the slots a version lacks count as NULL and
 * are never read). */
#define AREC_REPOSITORY_VERSION 3

/* One agent to run, as the repository returns it.  Everything is allocated
 * by the repository with malloc() and freed by arec_agent_list_free() (so a
 * backend must allocate each string and array separately with malloc). */
typedef struct arec_agent_row {
  char *id;
  long long user_id;
  char *strategy;
  char *name;
  char *params;       /* JSON object text; NULL means "{}" */
  char *requires;     /* capability the pod must offer, NULL: none */
  unsigned int start_failures; /* consecutive failed starts */
  char *last_error;   /* NULL when none */
  int error;          /* 0, or <0 when the repository could not read this
                         row whole (e.g. a state that does not parse): the
                         manager does not start it but puts it in backoff
                         with error_text; the other rows are unaffected */
  char *error_text;   /* with error < 0: why, never a secret */
  size_t nsymbols;
  arec_symbol *symbols; /* const char * members point to malloc'd strings
                           owned by the row */
  int orphaned;       /* 1 when the agent had an owner (running_on set) that
                         is no longer live: a takeover after a failure; 0
                         when nobody owned it (a first start, a graceful
                         handover, a release).  The manager logs it as the
                         restore line's `after` field. */
} arec_agent_row;

/* The rows agents_to_restore returns.  Written `struct arec_agent_list`
 * (no typedef): the plain name is the administration function
 * arec_agent_list() of agentrecover.h, as `struct stat` and stat() share
 * theirs. */
struct arec_agent_list {
  size_t n;
  arec_agent_row *rows;
};

/* Frees a list and everything in it.  NULL ok. */
AREC_EXTERN void arec_agent_list_free(struct arec_agent_list *list);

/* An agent being migrated to a named pod (repository version 2). */
typedef struct arec_migration {
  char *agent_id; /* malloc'd */
  char *to_pod;   /* malloc'd */
} arec_migration;

/* What a reconcile pass needs to share the fleet fairly and to report it.
 * Filled by the repository's fleet slot; every string and the array are
 * malloc'd separately and freed by arec_fleet_clear(). */
typedef struct arec_fleet {
  uint64_t live_pods; /* pods rows live now and not leaving */
  uint64_t wanted;    /* wanted agents (is_active AND is_trading, with at
                         least one symbol) */
  uint64_t backoff;   /* of those, agents in backoff (start_failures > 0) */
  size_t nmigrations;
  arec_migration *migrations; /* migration holds in force now */
} arec_fleet;

/* Frees what a fleet slot allocated and zeroes *f.  NULL ok. */
AREC_EXTERN void arec_fleet_clear(arec_fleet *f);

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
   * symbol, not deleted) that have no live owner: running_on NULL, or its
   * pod's row missing or expired (on the repository's clock), or the pod's
   * incarnation differs from running_incarnation; and (version 3) whose
   * backoff wait is over (retry_at NULL or past).  When `only_id` is
   * non-NULL, only that agent (an empty list if it is not wanted or has a
   * live owner).  Each agent once, with all its symbols.  A row that cannot
   * be read whole is listed with `error` set rather than failing the list.
   * *out is allocated by the repository; the caller frees it with
   * arec_agent_list_free(). */
  int (*agents_to_restore)(arec_repository *repo, const char *only_id,
                           struct arec_agent_list **out);

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
   * when it does not exist (or was deleted). */
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
   * has no symbol or is disabled; AREC_ENOTFOUND when it does not exist (or
   * was deleted).  (version 3) wanted != 0 also clears retry_at. */
  int (*set_trading)(arec_repository *repo, const char *agent_id,
                     int wanted);

  /* Optional (NULL: the manager calls claim n times).  One round trip for n
   * distinct agents; out_fences[i] and out_results[i] (0 or an AREC_E* code
   * as for claim) are the caller's arrays.  Returns 0 when the batch was
   * answered (per-agent results inside), <0 when it could not be sent at
   * all.  The _many slots' results for an id given twice in one call are
   * unspecified (the manager never does). */
  int (*claim_many)(arec_repository *repo, const char *pod,
                    const char *incarnation, const char *const *ids, size_t n,
                    uint64_t *out_fences, int *out_results);

  /* Optional (NULL: the manager calls save_state n times).  One round trip
   * for n saves of distinct agents, rows locked in agent id order so
   * concurrent batches never deadlock; out_results[i] as for save_state. */
  int (*save_many)(arec_repository *repo, const arec_save *saves, size_t n,
                   int *out_results);

  /* Optional (NULL: the manager calls release n times).  n distinct
   * agents. */
  int (*release_many)(arec_repository *repo, const char *const *ids,
                      const uint64_t *fences, size_t n, int *out_results);

  /* Required.  Frees the repository (called by the manager that owns it). */
  void (*free)(arec_repository *repo);

  /* ---- valid from version 2 ---- */

  /* Optional (NULL: no fair sharing and no migrations; every pod takes what
   * it can).  Fills *out (zeroed by the caller) with the number of live pods
   * that are not leaving, the number of wanted agents, how many of them are
   * in backoff, and the migration holds in force (on the repository's
   * clock); the caller frees it with arec_fleet_clear(). */
  int (*fleet)(arec_repository *repo, arec_fleet *out);

  /* Optional (NULL: nothing is marked).  Marks this pod's row leaving: it
   * stays live for its agents until heartbeat(leaving = 1) deletes it, but
   * fleet() no longer counts it.  A heartbeat of the same incarnation
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

  /* ---- valid from version 3 ---- */

  /* Optional (NULL: a failed start is released like any other runner and
   * the agent is retried at every pass).  A start (or a step) of the runner
   * holding `fence` failed: in one fenced write, release the agent as
   * release() does (running_on NULL, fence + 1), add 1 to start_failures,
   * set last_error (cut to 500 bytes at a UTF-8 character boundary; the
   * manager passes valid UTF-8 without control characters) and retry_at =
   * now + min(max_ms, min_ms * 2^(failures - 1)) on the repository's
   * clock.  *out_failures (may be NULL) gets the new count.  AREC_EFENCED
   * when superseded (fence 0 is never current), AREC_ENOTFOUND. */
  int (*start_failed)(arec_repository *repo, const char *agent_id,
                      uint64_t fence, const char *error, int64_t min_ms,
                      int64_t max_ms, unsigned int *out_failures);

  /* Optional (NULL: nothing to clear).  The runner holding `fence` started:
   * start_failures = 0, last_error = NULL, retry_at = NULL (fenced; a no-op
   * answer 0 when there was nothing to clear).  AREC_EFENCED. */
  int (*start_ok)(arec_repository *repo, const char *agent_id,
                  uint64_t fence);

  /* Optional (NULL: arec_agent_report() answers AREC_EINVAL).  Sets
   * last_error (NULL clears; cut like start_failed's) while `fence` is
   * current; fence 0 means "only while the agent has no live owner"
   * (running_on NULL, or its pod's row missing, expired or of another
   * incarnation: the rule of agents_to_restore) -- a pod that cannot run
   * it says why.  Does not touch start_failures or retry_at.
   * AREC_EFENCED, AREC_ENOTFOUND. */
  int (*set_error)(arec_repository *repo, const char *agent_id,
                   uint64_t fence, const char *error);

  /* Optional administration (NULL: the arec_agent_* / arec_pod_list call
   * answers AREC_EINVAL).  Semantics, codes and ownership as documented for
   * those functions in agentrecover.h; the public functions validate their
   * arguments (ids, NULLs, texts, params, budgets, limits) before calling,
   * and agent_list gets a filter whose limit is 1..1000.  agent_create
   * with spec->id NULL picks a random id of 12 characters [A-Za-z0-9].
   * Deleted agents are invisible to every slot here (AREC_ENOTFOUND) but
   * keep their id (agent_create answers AREC_EEXIST).  Agents are listed
   * in byte order of their ids (COLLATE "C"). */
  int (*agent_create)(arec_repository *repo, const arec_agent_spec *spec,
                      char *out_id, size_t out_len);
  int (*agent_assign)(arec_repository *repo, const char *agent_id,
                      const char *symbol, double budget);
  int (*agent_unassign)(arec_repository *repo, const char *agent_id,
                        const char *symbol);
  int (*set_active)(arec_repository *repo, const char *agent_id, int active);
  int (*agent_delete)(arec_repository *repo, const char *agent_id);
  int (*agent_get)(arec_repository *repo, const char *agent_id,
                   arec_agent_record **out);
  int (*agent_list)(arec_repository *repo, const arec_agent_filter *filter,
                    arec_agent_record **out, size_t *out_n);
  int (*pod_list)(arec_repository *repo, arec_pod_record **out,
                  size_t *out_n);

  /* Optional roles (NULL: arec_role_* answers AREC_EINVAL).  A role row:
   * name, fence, holder, lease_until (repository clock).
   * role_claim: when the row is missing, or its holder is NULL, or its
   *   lease_until is past: fence + 1, holder, lease_until = now + ttl_ms;
   *   answer 1 with the fence.  When `holder` holds it already: renew,
   *   answer 1 with the same fence.  Else 0.
   * role_keep: where (name, holder, fence) match and the lease has not
   *   expired: lease_until = now + ttl_ms; 0, else AREC_ELOST.
   * role_release: where (name, holder, fence) match: holder NULL, fence + 1;
   *   0, else AREC_ELOST.
   * role_check: 0 while (name, holder, fence) match and the lease has not
   *   expired, else AREC_EFENCED. */
  int (*role_claim)(arec_repository *repo, const char *name,
                    const char *holder, int64_t ttl_ms, uint64_t *out_fence);
  int (*role_keep)(arec_repository *repo, const char *name,
                   const char *holder, uint64_t fence, int64_t ttl_ms);
  int (*role_release)(arec_repository *repo, const char *name,
                      const char *holder, uint64_t fence);
  int (*role_check)(arec_repository *repo, const char *name,
                    const char *holder, uint64_t fence);
};

#define AREC_REPOSITORY_INIT                                                   \
  {AREC_REPOSITORY_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,    \
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,     \
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

#ifdef __cplusplus
}
#endif
#endif
