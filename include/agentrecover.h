/*
 * agentrecover.h -- the public API of libagentrecover for embedding services.
 *
 * libagentrecover keeps every agent a user started running on exactly one pod
 * of a fleet: PostgreSQL (or another repository) holds the truth, a
 * distributed lock keeps two pods from running one agent, and fence tokens
 * keep a zombie pod from writing.  docs/design.md explains the protocol and
 * docs/embedding.md walks through a complete embedding.
 *
 * This header shows the manager (opaque), the agent type an embedding service
 * implements, options, errors, logging, metrics, the administration of agents
 * (create, assign, wish, list ...) over any repository, and singleton roles.
 * Backend authors include
 * <agentrecover/sys/repository.h> and <agentrecover/sys/lock.h>; the shipped
 * backends have their constructors in <agentrecover/{pg,redis,memory}.h>.
 *
 * Conventions: functions return 0 on success and a negative AREC_E* code on
 * failure; results come back through out-parameters (the first one, `out`);
 * constructors set *out = NULL on failure; every *_free(NULL) is a no-op.
 * Strings the library returns are freed with arec_free() unless a specific
 * *_free function is named.
 *
 * Threads: the manager is thread-safe; every arec_manager_* function may be
 * called from any thread, and arec_manager_stop_agent() also from inside a
 * step.  The log callback must not call back into the manager.
 */
#ifndef AGENTRECOVER_H
#define AGENTRECOVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */
#define AREC_VERSION_MAJOR 0
#define AREC_VERSION_MINOR 2
#define AREC_VERSION_PATCH 0
/* One comparable integer: MAJOR * 10000 + MINOR * 100 + PATCH (0.2.0 is
 * 200), for `#if AREC_VERSION_NUMBER >= 200`. */
#define AREC_VERSION_NUMBER                                                    \
  (AREC_VERSION_MAJOR * 10000 + AREC_VERSION_MINOR * 100 + AREC_VERSION_PATCH)
/* The ABI generation: the SONAME is libagentrecover.so.<AREC_ABI_VERSION>.
 * It grows with every release that breaks binary compatibility (while the
 * major version is 0 the minor version alone cannot say so). */
#define AREC_ABI_VERSION 1

#if defined(_WIN32)
#define AREC_EXTERN __declspec(dllexport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define AREC_EXTERN __attribute__((visibility("default")))
#else
#define AREC_EXTERN
#endif

/* "MAJOR.MINOR.PATCH" of the library actually linked.  Static string. */
AREC_EXTERN const char *arec_version(void);
/* AREC_VERSION_NUMBER of the library actually linked. */
AREC_EXTERN int arec_version_number(void);

/* ----------------------------------------------------------------- errors */
/* One list generates the enum, arec_strerror() and arec_err_name(). */
#define AREC_ERRNO_MAP(XX)                                                   \
  XX(EINVAL, -1, "invalid argument")                                         \
  XX(ENOMEM, -2, "out of memory")                                            \
  XX(ELOCKED, -3, "agent is locked by another pod")                          \
  XX(ELOST, -4, "lock lost: held by someone else now")                       \
  XX(EFENCED, -5, "fenced: this runner is no longer the owner")              \
  XX(EUNAVAILABLE, -6, "backend unavailable")                                \
  XX(ETIMEDOUT, -7, "timed out")                                             \
  XX(ENOTFOUND, -8, "not found")                                             \
  XX(ESHUTDOWN, -9, "shutting down")                                         \
  XX(EEXIST, -10, "already exists")                                          \
  XX(ECONFLICT, -11, "conflicts with the current state")                     \
  XX(EVERSION, -12, "unsupported struct version")                            \
  XX(ECRYPTO, -13, "decryption failed (wrong key or corrupted value)")       \
  XX(EBACKEND, -14, "backend refused the request")                           \
  XX(EREFUSED, -15, "the agent type refused to start the agent")            \
  XX(EPLACEMENT, -16, "this pod cannot run the agent (capability missing)")

typedef enum arec_errno {
  AREC_OK = 0,
#define AREC__ERR_ENUM(name, val, msg) AREC_##name = (val),
  AREC_ERRNO_MAP(AREC__ERR_ENUM)
#undef AREC__ERR_ENUM
  AREC__ERR_LAST = -17
} arec_errno;

/* Human text for a code ("timed out").  Static string; unknown codes give
 * "unknown error". */
AREC_EXTERN const char *arec_strerror(int err);
/* The code's name without prefix ("ETIMEDOUT").  Static string. */
AREC_EXTERN const char *arec_err_name(int err);
/* The detail of the last error set on the calling thread by the library or a
 * backend (libpq's or hiredis's message, secrets removed).  Never NULL
 * ("" when none); valid until the next library call on this thread. */
AREC_EXTERN const char *arec_error_last(void);
/* Set / clear the calling thread's last error (for backend authors). */
AREC_EXTERN void arec_error_set(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
AREC_EXTERN void arec_error_clear(void);

/* Frees memory the library returned (strings, rendered metrics). NULL ok. */
AREC_EXTERN void arec_free(void *p);

/* -------------------------------------------------------------------- log */
typedef enum arec_log_level {
  AREC_LOG_DEBUG = 0,
  AREC_LOG_INFO = 1,
  AREC_LOG_WARN = 2,
  AREC_LOG_ERROR = 3
} arec_log_level;

/* How a field's value is written by the JSON format (the text format writes
 * every value as text).  A value marked as a number that is not a valid JSON
 * number is written as a string. */
typedef enum arec_log_type {
  AREC_LOG_STRING = 0, /* "value" */
  AREC_LOG_NUMBER = 1, /* 3000, 0.25 */
  AREC_LOG_BOOL = 2    /* true / false ("true", "1" are true) */
} arec_log_type;

/* One key=value field of a log line: `{"agent_id", id, AREC_LOG_STRING}`,
 * `{"ttl_ms", "3000", AREC_LOG_NUMBER}`.  (`{"key", "value"}` is a string
 * field too, but compilers warn about the missing initializer under
 * -Wextra: name the type.) */
typedef struct arec_log_field {
  const char *key;
  const char *value;
  arec_log_type type;
} arec_log_field;

/* A log sink.  Called from any library thread, possibly concurrently; must
 * not call back into the manager.  `msg` and `fields` are valid only during
 * the call. */
typedef void (*arec_log_fn)(void *userdata, arec_log_level level,
                            const char *msg, const arec_log_field *fields,
                            size_t nfields);

/* "DEBUG", "INFO", "WARN", "ERROR". */
AREC_EXTERN const char *arec_log_level_name(arec_log_level level);
/* Parses "debug".."error" (case-insensitive). 0 or AREC_EINVAL. */
AREC_EXTERN int arec_log_level_parse(arec_log_level *out, const char *s);

/* Formats one line (with trailing '\n'):
 * json == 0: "<RFC 3339 UTC time> <LEVEL> <msg> key=value ..." (values quoted
 * only when they contain a space, a quote or '='); json != 0: one JSON object
 * {"time","level","msg",<fields>}, numbers and booleans typed as the fields
 * say.  Writes at most `len` bytes including the
 * NUL; returns the length it needed (like snprintf). */
AREC_EXTERN size_t arec_log_format(char *buf, size_t len, int json,
                                   arec_log_level level, const char *msg,
                                   const arec_log_field *fields,
                                   size_t nfields);

/* Ready-made sinks writing arec_log_format() lines to stderr, one write(2)
 * per line.  userdata is ignored. */
AREC_EXTERN void arec_log_stderr_text(void *userdata, arec_log_level level,
                                      const char *msg,
                                      const arec_log_field *fields,
                                      size_t nfields);
AREC_EXTERN void arec_log_stderr_json(void *userdata, arec_log_level level,
                                      const char *msg,
                                      const arec_log_field *fields,
                                      size_t nfields);

/* ------------------------------------------------------- forward declares */
typedef struct arec_manager arec_manager;     /* opaque, thread-safe */
typedef struct arec_agent arec_agent;         /* a runner, seen by its agent */
typedef struct arec_snapshot arec_snapshot;   /* snapshot builder */
typedef struct arec_repository arec_repository; /* sys/repository.h */
typedef struct arec_lock arec_lock;             /* sys/lock.h */

/* Frees a repository or a lock that was never handed to a manager (a
 * manager frees the backends it was given).  NULL ok. */
AREC_EXTERN void arec_repository_free(arec_repository *repo);
AREC_EXTERN void arec_lock_free(arec_lock *lock);

/* ------------------------------------------------------------- agent data */
/* One assigned symbol of an agent, as handed to the agent type's start().
 * Every string is owned by the library and valid during start() only. */
typedef struct arec_symbol {
  const char *symbol;      /* "BTC/USDT" */
  double budget;           /* balance the user assigned */
  double balance;          /* current balance of the last accepted save */
  const char *memory;      /* JSON text of the last accepted save, "{}" new */
} arec_symbol;

/* An agent to run: identity, the type's parameters and symbols.  Owned by
 * the library, valid during start() only. */
typedef struct arec_agent_info {
  const char *id;
  long long user_id;       /* the owner: opaque to the library */
  const char *strategy;    /* picks the registered agent type by name */
  const char *name;
  const char *params;      /* JSON object text given at creation, "{}" */
  uint64_t fence;          /* the token of this runner */
  size_t nsymbols;
  const arec_symbol *symbols;
} arec_agent_info;

/* Why a runner stops; given to the agent type's stop(). */
typedef enum arec_stop_reason {
  AREC_STOP_USER = 0,     /* the user stopped it: close positions */
  AREC_STOP_HANDOVER = 1, /* shutdown or migration: keep positions open for
                             the next owner */
  AREC_STOP_LOST = 2,     /* lock lost or lease validity ran out: keep
                             positions, another pod takes over */
  AREC_STOP_FENCED = 3,   /* a write was refused by the fence: stop at once,
                             no more writes */
  AREC_STOP_ERROR = 4     /* the agent's own step/start failed: the agent
                             goes to backoff (see arec_agent_report) */
} arec_stop_reason;

AREC_EXTERN const char *arec_stop_reason_name(arec_stop_reason reason);

#define AREC_AGENT_ID_MAX 64

/* 1 when `id` is a valid agent id: [A-Za-z0-9_-]{1,64} and not one of the
 * reserved words "start" and "stop"; else 0. */
AREC_EXTERN int arec_agent_id_valid(const char *id);

/* ------------------------------------------------------------- agent type */
#define AREC_AGENT_TYPE_VERSION 1

/* What an embedding service runs.  Registered with
 * arec_manager_register_type(), which copies the struct (not `name`'s
 * characters: `name` and `userdata` must outlive the manager).
 *
 * Callbacks of one runner never run concurrently with each other; callbacks
 * of different runners run concurrently on the worker pool. */
typedef struct arec_agent_type {
  unsigned int version; /* AREC_AGENT_TYPE_VERSION */
  const char *name;     /* matches agent_configs.strategy; required */
  void *userdata;       /* passed to every callback */

  /* Required.  Creates the runner's state from `info` (valid during the call
   * only: copy what you keep) into *out_state.  Return 0, or a negative code
   * to refuse, after arec_error_set() with the reason (never a secret): the
   * runner is released and the agent goes to backoff with that reason as
   * its last_error (AREC_EUNAVAILABLE / AREC_ETIMEDOUT mean "try again
   * later"; any other code is a permanent refusal, which a user's start
   * through arec_manager_start_agent() reports as AREC_EREFUSED). */
  int (*start)(void **out_state, arec_agent *agent,
               const arec_agent_info *info, void *userdata);

  /* Required.  One iteration.  Set *out_delay_ms to the delay until the next
   * step (>= 0; the manager clamps it to at least 1 ms).  Return 0 to go on,
   * or a negative code (after arec_error_set() with the reason) to stop the
   * runner with AREC_STOP_ERROR: the agent goes to backoff with that reason
   * as its last_error.  Should bound its own I/O and check
   * arec_agent_cancelled() at safe points. */
  int (*step)(void *state, arec_agent *agent, int64_t *out_delay_ms,
              void *userdata);

  /* Required.  Reports each symbol's balance and memory to persist by
   * calling arec_snapshot_put() once per symbol.  Called by the manager on
   * the agent's worker (never concurrently with step) before a save. */
  int (*snapshot)(void *state, arec_agent *agent, arec_snapshot *snap,
                  void *userdata);

  /* Required.  The runner stops for `reason`.  Before calling it the manager
   * has taken the final snapshot and saved it (fenced; skipped for
   * AREC_STOP_FENCED).  AREC_STOP_USER: close positions, and call
   * arec_agent_save() from here if the closing must be recorded; any other
   * reason: keep positions open.  Then free `state`: it is not used again. */
  void (*stop)(void *state, arec_agent *agent, arec_stop_reason reason,
               void *userdata);
} arec_agent_type;

#define AREC_AGENT_TYPE_INIT {AREC_AGENT_TYPE_VERSION, NULL, NULL, NULL, NULL, NULL, NULL}

/* Adds one symbol's state to a snapshot (copies every argument).  `memory`
 * must be JSON text (NULL means "{}").  0, AREC_EINVAL, AREC_ENOMEM. */
AREC_EXTERN int arec_snapshot_put(arec_snapshot *snap, const char *symbol,
                                  double balance, const char *memory);

/* --------------------------------------- calls for an agent, from its step */
/* The agent's id / fence / this pod's name.  Valid while the runner lives. */
AREC_EXTERN const char *arec_agent_id(const arec_agent *agent);
AREC_EXTERN uint64_t arec_agent_fence(const arec_agent *agent);
AREC_EXTERN const char *arec_agent_pod(const arec_agent *agent);
/* Nonzero once the runner was asked to stop (shutdown, user stop, lost
 * lock): finish the step quickly. */
AREC_EXTERN int arec_agent_cancelled(const arec_agent *agent);
/* Remaining lease validity in ms on the monotonic clock (<= 0: expired). */
AREC_EXTERN int64_t arec_agent_validity_ms(const arec_agent *agent);
/* Synchronous fenced save: takes a snapshot now and writes it.  Call from
 * inside start/step/stop only.  0; AREC_EFENCED when this runner is no
 * longer the owner (the runner then stops: do nothing irreversible);
 * AREC_EUNAVAILABLE / AREC_ETIMEDOUT when the repository did not take it. */
AREC_EXTERN int arec_agent_save(arec_agent *agent);
/* Records `last_error` on the agent in the repository now (fenced: only
 * while this runner is the owner), without stopping it: an operator or the
 * owner can see why the agent is unhappy.  NULL clears it.  At most 500
 * bytes are kept; never pass a secret.  Call from start/step/stop only.
 * 0, AREC_EFENCED, AREC_EUNAVAILABLE / AREC_ETIMEDOUT, AREC_EINVAL (the
 * repository cannot record errors). */
AREC_EXTERN int arec_agent_report(arec_agent *agent, const char *last_error);
/* Logs through the manager's sink with agent_id added to the fields. */
AREC_EXTERN void arec_agent_log(arec_agent *agent, arec_log_level level,
                                const char *msg, const arec_log_field *fields,
                                size_t nfields);
/* The agent type's per-runner state as returned by start(). */
AREC_EXTERN void *arec_agent_state(const arec_agent *agent);

/* ---------------------------------------------------------------- manager */
/* 2 added pod_lease_ttl_ms, 3 fair_share, 4 capabilities, takeover,
 * stop_check_interval_ms and the backoff bounds (older structs are still
 * accepted: the new fields then take their defaults). */
#define AREC_MANAGER_OPTIONS_VERSION 4

typedef struct arec_manager_options {
  unsigned int version;          /* AREC_MANAGER_OPTIONS_VERSION */
  const char *pod_name;          /* required: this pod's name (copied) */
  int64_t lock_ttl_ms;           /* per-agent lock TTL; default 30000 */
  int64_t refresh_interval_ms;   /* default ttl/3; must be < ttl */
  int64_t reconcile_interval_ms; /* default 5000; 0: no periodic passes
                                    (stop checks still run, see
                                    stop_check_interval_ms); -1 = default */
  int64_t save_interval_ms;      /* coalescing window; default 5000 */
  int64_t shutdown_timeout_ms;   /* default 25000 */
  unsigned int workers;          /* step threads; default 32 */
  arec_log_fn log;               /* default arec_log_stderr_text */
  void *log_userdata;
  arec_log_level log_level;      /* minimum level passed to `log` */
  /* ---- from version 2 ---- */
  int64_t pod_lease_ttl_ms;      /* 0: off.  > 0: hold a pod lease of this
                                    TTL in the lock (needs a lock with the
                                    pod_lease slot), renewed every TTL/3 with
                                    the pods row; agent lock values name
                                    "<pod>/<incarnation>"; every runner stops
                                    when the pod lease cannot be renewed
                                    before it expires. */
  /* ---- from version 3 ---- */
  int fair_share;                /* 0: off (take every agent it can).
                                    1: each pass computes the target
                                    ceil(wanted / live pods) (needs a
                                    repository with the fleet slot);
                                    acquires only below it and hands agents
                                    above it off gracefully, a bounded
                                    number per pass.  User starts always
                                    run here. */
  /* ---- from version 4 ---- */
  const char *capabilities;      /* comma-separated names this pod offers
                                    (copied), NULL: none.  An agent created
                                    with `requires` is only claimed by pods
                                    offering that capability; the others
                                    leave it alone (and record why in its
                                    last_error once). */
  int takeover;                  /* 1 (default): reconcile passes take over
                                    wanted agents with no live owner.  0:
                                    they never do (only user starts through
                                    this manager run agents here), but stops
                                    and disables issued anywhere still reach
                                    this pod's runners. */
  int64_t stop_check_interval_ms; /* how often runners are checked for
                                    stops issued elsewhere when reconcile
                                    passes are off (reconcile_interval_ms 0
                                    or takeover 0); default 5000 */
  int64_t backoff_min_ms;        /* first retry delay after a failed start;
                                    doubles per failure; default 5000 */
  int64_t backoff_max_ms;        /* cap of the retry delay; default 600000 */
} arec_manager_options;

/* 0 means "default" for every numeric field except reconcile_interval_ms,
 * where 0 disables the reconcile passes and -1 picks the default, and
 * takeover, whose default is 1. */
#define AREC_MANAGER_OPTIONS_INIT                                              \
  {AREC_MANAGER_OPTIONS_VERSION, NULL, 0, 0, -1, 0, 0, 0, NULL, NULL,          \
   AREC_LOG_INFO, 0, 0, NULL, 1, 0, 0, 0}

/* Creates a manager that owns `repo` and `lock` from now on, even when it
 * fails (they are freed by arec_manager_free() or by this call on error).
 * Writes this pod's heartbeat row once, then starts the worker pool, the
 * refresher, the saver and the reconciler thread; the reconciler renews the
 * heartbeat every refresh interval from now on, but runs reconcile passes
 * only after arec_manager_restore().  AREC_EINVAL names the bad option in
 * arec_error_last(). */
AREC_EXTERN int arec_manager_new(arec_manager **out,
                                 const arec_manager_options *opts,
                                 arec_repository *repo, arec_lock *lock);

/* Registers an agent type (copied; see arec_agent_type).  AREC_EEXIST when
 * the name is taken, AREC_EVERSION for an unknown version. */
AREC_EXTERN int arec_manager_register_type(arec_manager *mgr,
                                           const arec_agent_type *type);

/* This process's incarnation: 32 hex chars, random per arec_manager_new(). */
AREC_EXTERN const char *arec_manager_incarnation(const arec_manager *mgr);
AREC_EXTERN const char *arec_manager_pod(const arec_manager *mgr);

/* The names of the registered agent types, sorted.  *out is a malloc'd
 * array of malloc'd strings: free with arec_strings_free(*out, *out_n). */
AREC_EXTERN int arec_manager_type_names(arec_manager *mgr, char ***out,
                                        size_t *out_n);
/* 1 when an agent type of that name is registered, else 0. */
AREC_EXTERN int arec_manager_has_type(arec_manager *mgr, const char *name);
AREC_EXTERN void arec_strings_free(char **strings, size_t n);

/* The manager's repository (borrowed: valid until arec_manager_free()), for
 * the administration functions below.  Thread-safe like the manager. */
AREC_EXTERN arec_repository *arec_manager_repository(arec_manager *mgr);

typedef struct arec_restore_result {
  unsigned int total;    /* wanted agents with no live owner */
  unsigned int restored; /* started here */
  unsigned int skipped;  /* lock held by another pod */
  unsigned int failed;   /* lock/repository error or agent start refused */
} arec_restore_result;

/* The first reconcile pass, synchronous, with the restore log lines
 * ("🔄 restoring running agents from database...", "found agents to restore
 * count=N", "✅ agent restored successfully agent_id=... symbol=...
 * after=failure|handover" (failure: an owner that is no longer live still
 * held the agent; handover: nobody did),
 * "🎯 agent restoration complete total=... restored=... skipped=...
 * failed=..."); then starts the reconcile loop (unless its interval is 0).
 * Returns 0 even when some agents failed (see `out`); AREC_EUNAVAILABLE when
 * the repository could not be asked at all (the loop still starts and
 * retries).  Calling it again runs another logged pass. */
AREC_EXTERN int arec_manager_restore(arec_manager *mgr,
                                     arec_restore_result *out);

/* One reconcile pass now, synchronous (tests, operators).  Same result as
 * restore but logs only takeovers. */
AREC_EXTERN int arec_manager_reconcile(arec_manager *mgr,
                                       arec_restore_result *out);

/* The user's start: records the wish (is_trading, and ends a backoff wait so
 * the next attempt is now), then runs the agent here if its lock is free.
 * 0: running here; AREC_ELOCKED: another pod runs it; AREC_EUNAVAILABLE: the
 * lock service is down, the wish is recorded and the agent starts when it
 * returns; AREC_EPLACEMENT: this pod lacks the capability the agent
 * requires, the wish is recorded and a pod offering it will run it;
 * AREC_EREFUSED: no agent type of the agent's strategy is registered here,
 * or its start() refused permanently: the wish is left as it was and
 * arec_error_last() says why; AREC_ECONFLICT: agent has no symbols or is
 * disabled; AREC_ENOTFOUND; AREC_ESHUTDOWN.  A start() that failed with
 * AREC_EUNAVAILABLE / AREC_ETIMEDOUT puts the agent in backoff (wish kept)
 * and returns that code; so does a row the repository could not read
 * (its error code, the reason in arec_error_last()). */
AREC_EXTERN int arec_manager_start_agent(arec_manager *mgr,
                                         const char *agent_id);

/* The user's stop: clears the wish; a local runner stops with
 * AREC_STOP_USER (asynchronously: this only marks it, so it may be called
 * from inside a step); a runner on another pod stops at that pod's next
 * reconcile pass.  0, AREC_ENOTFOUND, AREC_EUNAVAILABLE. */
AREC_EXTERN int arec_manager_stop_agent(arec_manager *mgr,
                                        const char *agent_id);

typedef struct arec_runner_info {
  char *agent_id;
  char *strategy;
  uint64_t fence;
  int64_t validity_ms;    /* remaining lease validity now */
  int64_t started_at_ms;  /* wall clock, ms since the epoch */
  uint64_t steps;         /* steps run so far */
} arec_runner_info;

/* The runners this pod holds now (sorted by agent id).  Free with
 * arec_runner_info_free(*out, *out_n). */
AREC_EXTERN int arec_manager_runners(arec_manager *mgr,
                                     arec_runner_info **out, size_t *out_n);
AREC_EXTERN void arec_runner_info_free(arec_runner_info *infos, size_t n);

/* Hands one agent to the named live pod, gracefully and fenced: records a
 * migration hold (only `to_pod` may claim it for a while), then the owner
 * stops it with AREC_STOP_HANDOVER, saves and releases (at once when the
 * owner is this pod, else at the owner's next reconcile pass) and `to_pod`
 * takes it at its next pass.  0 (also when to_pod runs it already);
 * AREC_ENOTFOUND: no such agent; AREC_ECONFLICT: the agent is not wanted or
 * to_pod is not a live pod (or is leaving); AREC_EINVAL: bad arguments or
 * a repository without migrations; AREC_EUNAVAILABLE. */
AREC_EXTERN int arec_manager_migrate_agent(arec_manager *mgr,
                                           const char *agent_id,
                                           const char *to_pod);

/* Graceful shutdown: readiness is the caller's; stop the reconciler and mark
 * the pod leaving, cancel every runner, wait for steps (the refresher still
 * running), save and stop each agent, release every lock, delete the pods
 * row.  timeout_ms <= 0 uses the shutdown_timeout option.  0, or AREC_ETIMEDOUT when a step did not finish
 * by the deadline (its late writes are fenced out).  Idempotent. */
AREC_EXTERN int arec_manager_shutdown(arec_manager *mgr, int64_t timeout_ms);

/* Makes a shutdown in progress (on another thread) stop waiting for running
 * steps now: it goes on at once to save, stop and release what it can, and
 * returns AREC_ETIMEDOUT if a step was still running (its late writes are
 * fenced out).  For a second SIGTERM.  Any thread; NULL ok; before a
 * shutdown starts it makes that shutdown skip the wait. */
AREC_EXTERN void arec_manager_shutdown_hurry(arec_manager *mgr);

/* FOR TESTS: a simulated kill -9.  Stops every thread of the manager
 * (a running step is allowed to finish; no further step, save, release or
 * heartbeat is made) without stopping agents, saving, releasing locks or
 * touching the pods row; afterwards only arec_manager_free() may be called,
 * which makes no backend call except the backends' free.  So that agent
 * types can free their state, free() then calls each runner's stop() with
 * AREC_STOP_LOST (an agent must not call arec_agent_save() from it). */
AREC_EXTERN void arec_manager_abandon(arec_manager *mgr);

/* Shuts down if needed (with the default timeout), joins every thread,
 * frees the backends.  NULL ok. */
AREC_EXTERN void arec_manager_free(arec_manager *mgr);

/* ---------------------------------------------------------------- metrics */
/* A latency histogram with the fixed upper bounds of
 * arec_histogram_bounds(): bucket[i] counts the observations <= bound i
 * (cumulative, as Prometheus shows them); `count` includes those above the
 * last bound (+Inf). */
#define AREC_HISTOGRAM_BUCKETS 14
typedef struct arec_histogram {
  uint64_t count;
  double sum; /* seconds */
  uint64_t bucket[AREC_HISTOGRAM_BUCKETS];
} arec_histogram;

/* The AREC_HISTOGRAM_BUCKETS upper bounds in seconds, ascending (0.001 ..
 * 30).  Static array. */
AREC_EXTERN const double *arec_histogram_bounds(void);

/* 3 is the first version of this layout (0.2.0); later versions only add
 * fields at the end.  arec_manager_metrics() fills the fields of the
 * version the caller set in out->version (AREC_EVERSION for a version it
 * does not know: older than 3 or newer than the library's), so a program
 * built against an older header keeps working with a newer library. */
#define AREC_METRICS_VERSION 3

/* A snapshot of the manager's metrics.  Set `version` to
 * AREC_METRICS_VERSION before calling arec_manager_metrics(). */
typedef struct arec_metrics {
  unsigned int version;
  /* counters */
  uint64_t agents_restored_total;         /* takeovers by any pass */
  uint64_t agents_restore_failed_total;
  uint64_t agent_lock_acquire_total;
  uint64_t agent_lock_acquire_failed_total; /* held elsewhere or error */
  uint64_t agent_lock_lost_total;
  uint64_t agent_fenced_writes_total;
  uint64_t agent_saves_total;             /* accepted state writes */
  uint64_t agent_save_errors_total;       /* unavailable/timeout */
  uint64_t agent_steps_total;
  uint64_t agent_start_failures_total;    /* start()/step() failures that
                                             put an agent in backoff */
  uint64_t reconcile_passes_total;
  uint64_t reconcile_errors_total;        /* passes that could not list the
                                             agents at all */
  uint64_t refresh_cycles_total;
  /* gauges */
  int64_t agent_lock_held_total;          /* locks held now (gauge) */
  int64_t agents_running;                 /* runners on this pod now */
  int64_t agents_wanted;                  /* wanted agents fleet-wide, as
                                             the last pass that could ask
                                             saw them (kept when a pass
                                             fails) */
  int64_t agents_backoff;                 /* wanted agents in backoff
                                             fleet-wide (last pass) */
  int64_t pods_live;                      /* live pods not leaving */
  int64_t agents_target;                  /* ceil(wanted / live pods) */
  double shutdown_duration_seconds;       /* 0 until shutdown */
  int64_t agents_saved_on_shutdown;
  double agent_lock_ttl_seconds;          /* configured lock TTL */
  double agent_refresh_interval_seconds;  /* configured refresh interval */
  /* histograms */
  arec_histogram agent_restore_duration_seconds; /* per takeover: claim to
                                                    the end of the first
                                                    step */
  arec_histogram agent_step_duration_seconds;
  arec_histogram agent_save_duration_seconds;    /* per save batch */
  arec_histogram refresh_cycle_seconds;
} arec_metrics;

/* A zeroed struct of this header's version (every field named, so
 * `-Wextra` stays quiet in C and C++). */
#define AREC__HISTOGRAM_ZERO {0, 0.0, {0}}
#define AREC_METRICS_INIT                                                      \
  {AREC_METRICS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    \
   0, 0, 0.0, 0, 0.0, 0.0, AREC__HISTOGRAM_ZERO, AREC__HISTOGRAM_ZERO,         \
   AREC__HISTOGRAM_ZERO, AREC__HISTOGRAM_ZERO}

AREC_EXTERN int arec_manager_metrics(arec_manager *mgr, arec_metrics *out);

/* Renders `m` in Prometheus text exposition format (HELP and TYPE lines;
 * histograms as _bucket/_sum/_count).  Its cost does not depend on the
 * number of agents.  *out is NUL-terminated, free it with arec_free().
 * AREC_EVERSION when m->version is older than 3. */
AREC_EXTERN int arec_metrics_render(char **out, const arec_metrics *m);

/* --------------------------------------------------------- administration */
/* Agents are created, assigned symbols, wanted and listed through the
 * repository, whatever backend it is: the same code runs on memory and
 * PostgreSQL.  Use the manager's repository (arec_manager_repository()) or
 * a repository of your own (arec_repository_free() it).  Every function is
 * thread-safe and returns 0 or a negative AREC_E* code (AREC_EINVAL also
 * when the repository does not implement the operation), with detail in
 * arec_error_last(). */

#define AREC_AGENT_SPEC_VERSION 1

/* A new agent.  Strings are copied. */
typedef struct arec_agent_spec {
  unsigned int version;  /* AREC_AGENT_SPEC_VERSION */
  const char *id;        /* NULL: a random 12-character id */
  long long user_id;     /* the owner, opaque to the library (>= 0) */
  const char *strategy;  /* the agent type's name; required, no control
                            characters */
  const char *name;      /* required, no control characters */
  const char *params;    /* JSON object for the agent type; NULL: "{}" */
  const char *requires;  /* a capability the running pod must offer
                            (arec_manager_options.capabilities); NULL: any
                            pod */
} arec_agent_spec;

#define AREC_AGENT_SPEC_INIT {AREC_AGENT_SPEC_VERSION, NULL, 0, NULL, NULL, NULL, NULL}

/* Creates an agent: enabled (is_active), not wanted.  The id is written to
 * out_id (out_len >= AREC_AGENT_ID_MAX + 1).  AREC_EINVAL (bad id, empty
 * strategy or name, params not a JSON object), AREC_EEXIST (the id is taken,
 * also by a deleted agent). */
AREC_EXTERN int arec_agent_create(arec_repository *repo,
                                  const arec_agent_spec *spec, char *out_id,
                                  size_t out_len);
/* Assigns a symbol with its budget (> 0): the assignment and the symbol's
 * state (balance = budget, memory {}).  AREC_ENOTFOUND, AREC_EEXIST,
 * AREC_EINVAL. */
AREC_EXTERN int arec_agent_assign(arec_repository *repo, const char *id,
                                  const char *symbol, double budget);
/* Removes a symbol (its state goes; the history stays).  AREC_ENOTFOUND;
 * AREC_ECONFLICT while the agent is wanted or has a live owner. */
AREC_EXTERN int arec_agent_unassign(arec_repository *repo, const char *id,
                                    const char *symbol);
/* The user's wish.  wanted != 0 also ends a backoff wait (the next pass
 * tries at once; the failure count stays until a start succeeds).
 * AREC_ECONFLICT (wanted without symbols, or disabled), AREC_ENOTFOUND. */
AREC_EXTERN int arec_agent_set_trading(arec_repository *repo, const char *id,
                                       int wanted);
/* Enables / disables (a disabled agent is not wanted).  AREC_ENOTFOUND. */
AREC_EXTERN int arec_agent_set_active(arec_repository *repo, const char *id,
                                      int active);
/* Deletes an agent: it is no longer wanted (its runner stops as for a
 * user's stop), get/list no longer show it, its id stays taken and its
 * state history is kept.  AREC_ENOTFOUND. */
AREC_EXTERN int arec_agent_delete(arec_repository *repo, const char *id);

/* One symbol of an agent record. */
typedef struct arec_symbol_record {
  char *symbol;
  double budget;
  double balance;
  char *memory;          /* JSON text */
  uint64_t fence;        /* of the last accepted write */
  int64_t updated_at_ms; /* wall clock, ms since the epoch */
} arec_symbol_record;

/* An agent as stored.  Allocated by the library; free with
 * arec_agent_records_free(). */
typedef struct arec_agent_record {
  char *id;
  long long user_id;
  char *strategy;
  char *name;
  char *params;                /* JSON text */
  char *requires;              /* NULL: any pod */
  int is_active;
  int is_trading;              /* the user's wish */
  uint64_t fence;
  char *running_on;            /* the owning pod, NULL when none */
  char *running_incarnation;   /* NULL when none */
  unsigned int start_failures; /* consecutive failed starts (0: none) */
  char *last_error;            /* NULL when none */
  int64_t retry_at_ms;         /* backoff: next attempt (wall ms), 0 none */
  int64_t created_at_ms;       /* wall clock, ms since the epoch */
  int64_t updated_at_ms;       /* latest state write, 0 when none */
  size_t nsymbols;
  arec_symbol_record *symbols; /* sorted by symbol */
} arec_agent_record;

AREC_EXTERN void arec_agent_records_free(arec_agent_record *records,
                                         size_t n);

/* One agent with its symbols.  AREC_ENOTFOUND (also when deleted).  Free
 * with arec_agent_records_free(*out, 1). */
AREC_EXTERN int arec_agent_get(arec_repository *repo, const char *id,
                               arec_agent_record **out);

#define AREC_AGENT_FILTER_VERSION 1

/* Which agents arec_agent_list() returns. */
enum {
  AREC_AGENTS_WANTED = 1,  /* is_active AND is_trading */
  AREC_AGENTS_UNOWNED = 2, /* running_on NULL */
  AREC_AGENTS_BACKOFF = 4  /* start_failures > 0 */
};

typedef struct arec_agent_filter {
  unsigned int version;   /* AREC_AGENT_FILTER_VERSION */
  const char *after;      /* ids > after in byte order; NULL: the start */
  unsigned int limit;     /* 1..1000; 0: 100 */
  long long user_id;      /* > 0: only this owner's */
  const char *running_on; /* only the agents this pod runs */
  unsigned int only;      /* AREC_AGENTS_* flags, all must hold; 0: any */
  int with_symbols;       /* 1: fill each record's symbols */
} arec_agent_filter;

#define AREC_AGENT_FILTER_INIT {AREC_AGENT_FILTER_VERSION, NULL, 0, 0, NULL, 0, 0}

/* One page of agents in id byte order (keyset: pass the last id as `after`
 * for the next page); the cost of a page does not grow with the number of
 * agents.  filter NULL: the first 100.  Free with
 * arec_agent_records_free(*out, *out_n). */
AREC_EXTERN int arec_agent_list(arec_repository *repo,
                                const arec_agent_filter *filter,
                                arec_agent_record **out, size_t *out_n);

/* A pod as its liveness row shows it. */
typedef struct arec_pod_record {
  char *name;
  char *incarnation;
  int64_t started_at_ms;   /* wall clock */
  int64_t heartbeat_at_ms;
  int64_t lease_until_ms;
  int leaving;             /* shutting down: no longer counted for sharing */
  uint64_t agents;         /* agents whose running_on is this pod */
} arec_pod_record;

/* The live pods (lease not expired), by name.  Free with
 * arec_pod_records_free(*out, *out_n). */
AREC_EXTERN int arec_pod_list(arec_repository *repo, arec_pod_record **out,
                              size_t *out_n);
AREC_EXTERN void arec_pod_records_free(arec_pod_record *pods, size_t n);

/* ---------------------------------------------------------- singleton roles */
/* Work that must run on one pod at a time (a chat bot's poller, a cron)
 * holds a role: a fenced lease kept in the repository, on the repository's
 * clock, like the pods' rows.  It does not need the lock service, so a role
 * survives a Redis outage.  Claiming bumps the role's fence; a holder that
 * lost the role (it did not keep it within its TTL and another claimed it)
 * gets AREC_ELOST from keep and AREC_EFENCED from arec_role_fenced(), and
 * must stop the role's work at once.  A holder stops on its own when
 * arec_role_validity_ms() reaches 0 without a successful keep (the
 * repository could not be reached): by then another pod may claim it. */

#define AREC_ROLE_NAME_MAX 64
#define AREC_ROLE_HOLDER_MAX 160

/* A held role.  Plain data, owned by the caller. */
typedef struct arec_role_lease {
  char name[AREC_ROLE_NAME_MAX];     /* [A-Za-z0-9_.:-]{1,63} */
  char holder[AREC_ROLE_HOLDER_MAX]; /* unique per process: "<pod>/<random>" */
  uint64_t fence;                    /* the role's fence for this holder */
  int64_t deadline_ms;               /* validity end, monotonic clock */
} arec_role_lease;

/* Claims `name` for `holder` for ttl_ms (measured from the moment the
 * request was sent) if nobody holds it or its holder's lease expired.  1 =
 * claimed (*out filled; also when `holder` already held it: then the lease
 * is renewed with the same fence), 0 = held by another holder (an answer,
 * not an error), <0 = error. */
AREC_EXTERN int arec_role_claim(arec_repository *repo, const char *name,
                                const char *holder, int64_t ttl_ms,
                                arec_role_lease *out);
/* Renews a held role for ttl_ms and moves lease->deadline_ms.  0;
 * AREC_ELOST when another holder has it now (or it was released);
 * AREC_EUNAVAILABLE / AREC_ETIMEDOUT when the repository did not answer
 * (keep working only while arec_role_validity_ms() > 0). */
AREC_EXTERN int arec_role_keep(arec_repository *repo, arec_role_lease *lease,
                               int64_t ttl_ms);
/* Gives the role up (fenced: only while this lease is current; the fence is
 * bumped so late work of this holder is refused).  0; AREC_ELOST when
 * already superseded. */
AREC_EXTERN int arec_role_release(arec_repository *repo,
                                  arec_role_lease *lease);
/* Asks the repository whether this lease is still the current one: 0 yes;
 * AREC_EFENCED no (another claim happened, or it was released or expired);
 * AREC_EUNAVAILABLE / AREC_ETIMEDOUT. */
AREC_EXTERN int arec_role_fenced(arec_repository *repo,
                                 const arec_role_lease *lease);
/* Remaining validity of a lease in ms on the monotonic clock (<= 0:
 * expired: stop the role's work). */
AREC_EXTERN int64_t arec_role_validity_ms(const arec_role_lease *lease);

#ifdef __cplusplus
}
#endif
#endif /* AGENTRECOVER_H */
