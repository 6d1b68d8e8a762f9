/*
 * agentrecover.h -- the public API of libagentrecover for embedding services.
 *
 * libagentrecover keeps every agent a user started running on exactly one pod
 * of a fleet: PostgreSQL (or another repository) holds the truth, a
 * distributed lock keeps two pods from running one agent, and fence tokens
 * keep a zombie pod from writing.  See DESIGN.md.
 *
 * This header shows the manager (opaque), the agent type an embedding service
 * implements, options, errors, logging and metrics.  Backend authors include
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
#define AREC_VERSION_MINOR 1
#define AREC_VERSION_PATCH 0

#if defined(_WIN32)
#define AREC_EXTERN __declspec(dllexport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define AREC_EXTERN __attribute__((visibility("default")))
#else
#define AREC_EXTERN
#endif

/* "MAJOR.MINOR.PATCH" of the library actually linked.  Static string. */
AREC_EXTERN const char *arec_version(void);

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
  XX(EBACKEND, -14, "backend refused the request")

typedef enum arec_errno {
  AREC_OK = 0,
#define AREC__ERR_ENUM(name, val, msg) AREC_##name = (val),
  AREC_ERRNO_MAP(AREC__ERR_ENUM)
#undef AREC__ERR_ENUM
  AREC__ERR_LAST = -15
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

typedef struct arec_log_field {
  const char *key;
  const char *value;
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

/* Formats one line (with trailing '\n') the way DESIGN.md section 8 says:
 * json == 0: "<RFC 3339 UTC time> <LEVEL> <msg> key=value ..." (values quoted
 * only when they contain a space, a quote or '='); json != 0: one JSON object
 * {"time","level","msg",<fields>}.  Writes at most `len` bytes including the
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

/* ------------------------------------------------------------- agent data */
/* One assigned symbol of an agent, as handed to the agent type's start().
 * Every string is owned by the library and valid during start() only. */
typedef struct arec_symbol {
  const char *symbol;      /* "BTC/USDT" */
  double budget;           /* balance the user assigned */
  double balance;          /* current balance of the last accepted save */
  const char *memory;      /* JSON text of the last accepted save, "{}" new */
  long long exchange_id;   /* owner's user_exchanges.id, 0 when none */
  const char *exchange;    /* "binance", NULL when none */
  const char *api_key;     /* decrypted credentials or NULL: never log them */
  const char *api_secret;
  int testnet;
} arec_symbol;

/* An agent to run: identity and symbols. Owned by the library. */
typedef struct arec_agent_info {
  const char *id;
  long long user_id;
  const char *strategy;    /* picks the registered agent type by name */
  const char *name;
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
  AREC_STOP_ERROR = 4     /* the agent's own step/start failed */
} arec_stop_reason;

AREC_EXTERN const char *arec_stop_reason_name(arec_stop_reason reason);

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
   * to refuse (the runner is released, counted as a failed restore). */
  int (*start)(void **out_state, arec_agent *agent,
               const arec_agent_info *info, void *userdata);

  /* Required.  One iteration.  Set *out_delay_ms to the delay until the next
   * step (>= 0; the manager clamps it to at least 1 ms).  Return 0 to go on,
   * or a negative code to stop the runner with AREC_STOP_ERROR.  Should
   * bound its own I/O and check arec_agent_cancelled() at safe points. */
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
/* Logs through the manager's sink with agent_id added to the fields. */
AREC_EXTERN void arec_agent_log(arec_agent *agent, arec_log_level level,
                                const char *msg, const arec_log_field *fields,
                                size_t nfields);
/* The agent type's per-runner state as returned by start(). */
AREC_EXTERN void *arec_agent_state(const arec_agent *agent);

/* ---------------------------------------------------------------- manager */
/* 2 added pod_lease_ttl_ms, 3 added fair_share (older structs are still
 * accepted). */
#define AREC_MANAGER_OPTIONS_VERSION 3

typedef struct arec_manager_options {
  unsigned int version;          /* AREC_MANAGER_OPTIONS_VERSION */
  const char *pod_name;          /* required: this pod's name (copied) */
  int64_t lock_ttl_ms;           /* per-agent lock TTL; default 30000 */
  int64_t refresh_interval_ms;   /* default ttl/3; must be < ttl */
  int64_t reconcile_interval_ms; /* default 5000; 0 disables the loop;
                                    -1 = default */
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
                                    version-2 repository with balance);
                                    acquires only below it and hands agents
                                    above it off gracefully, a bounded
                                    number per pass.  User starts always
                                    run here. */
} arec_manager_options;

/* 0 means "default" for every numeric field except reconcile_interval_ms,
 * where 0 disables the loop and -1 picks the default. */
#define AREC_MANAGER_OPTIONS_INIT                                              \
  {AREC_MANAGER_OPTIONS_VERSION, NULL, 0, 0, -1, 0, 0, 0, NULL, NULL,          \
   AREC_LOG_INFO, 0, 0}

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

typedef struct arec_restore_result {
  unsigned int total;    /* wanted agents with no live owner */
  unsigned int restored; /* started here */
  unsigned int skipped;  /* lock held by another pod */
  unsigned int failed;   /* lock/repository error or agent start refused */
} arec_restore_result;

/* The first reconcile pass, synchronous, with the log lines of DESIGN.md
 * section 8; then starts the reconcile loop (unless its interval is 0).
 * Returns 0 even when some agents failed (see `out`); AREC_EUNAVAILABLE when
 * the repository could not be asked at all (the loop still starts and
 * retries).  Calling it again runs another logged pass. */
AREC_EXTERN int arec_manager_restore(arec_manager *mgr,
                                     arec_restore_result *out);

/* One reconcile pass now, synchronous (tests, operators).  Same result as
 * restore but logs only takeovers. */
AREC_EXTERN int arec_manager_reconcile(arec_manager *mgr,
                                       arec_restore_result *out);

/* The user's start: records the wish (is_trading), then runs the agent here
 * if its lock is free.  0: running here; AREC_ELOCKED: another pod runs it;
 * AREC_EUNAVAILABLE: the lock service is down, the wish is recorded and the
 * agent starts when it returns; AREC_ECONFLICT: agent has no symbols or is
 * disabled; AREC_ENOTFOUND; AREC_ESHUTDOWN. */
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

/* Graceful shutdown, DESIGN.md section 6.  timeout_ms <= 0 uses the
 * shutdown_timeout option.  0, or AREC_ETIMEDOUT when a step did not finish
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
/* 2 added agents_wanted, pods_live and agents_target at the end. */
#define AREC_METRICS_VERSION 2

/* A snapshot of the manager's metrics (DESIGN.md section 8).
 * arec_manager_metrics() fills the whole struct of this header's version. */
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
  uint64_t reconcile_passes_total;
  uint64_t refresh_cycles_total;
  /* gauges */
  int64_t agent_lock_held_total;          /* locks held now (gauge) */
  int64_t agents_running;                 /* runners on this pod now */
  double agent_restore_duration_seconds;  /* last restore pass */
  double refresh_cycle_seconds;           /* last refresh cycle */
  double shutdown_duration_seconds;       /* 0 until shutdown */
  int64_t agents_saved_on_shutdown;
  /* ---- from version 2: the auto-scaling signal (fair sharing) ---- */
  int64_t agents_wanted; /* wanted agents seen by the last pass (gauge; 0
                            until a version-2 repository answered) */
  int64_t pods_live;     /* live pods not leaving, seen by the last pass */
  int64_t agents_target; /* ceil(wanted / live pods) of the last pass */
} arec_metrics;

AREC_EXTERN int arec_manager_metrics(arec_manager *mgr, arec_metrics *out);

/* Renders `m` in Prometheus text exposition format (HELP and TYPE lines).
 * *out is NUL-terminated, free it with arec_free(). */
AREC_EXTERN int arec_metrics_render(char **out, const arec_metrics *m);

#ifdef __cplusplus
}
#endif
#endif /* AGENTRECOVER_H */
