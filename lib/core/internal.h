/*
 * internal.h -- the manager's and the runner's private structs, shared by
 * the files of lib/core (manager, runner, scheduler, refresher, reconciler,
 * saver, shutdown, metrics, log).  Never installed.
 *
 * Locking: one mutex per manager (mgr->mu) guards every field below except
 * the immutable configuration and the atomics of the metrics.  No backend
 * call and no agent-type callback is ever made with mgr->mu held; the log
 * sink may be called with it held (it must not call back into the manager).
 */
#ifndef AREC_CORE_INTERNAL_H
#define AREC_CORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "agentrecover.h"
#include "agentrecover/sys/lock.h"
#include "agentrecover/sys/repository.h"

/* ---------------------------------------------------------------- snapshot */
struct arec_snapshot {
  size_t n, cap;
  arec_symbol_state *st; /* symbol and memory are malloc'd by the snapshot */
};

void arec__snapshot_free(arec_snapshot *s);
int arec__snapshot_equal(const arec_snapshot *a, const arec_snapshot *b);

/* ------------------------------------------------------------------ runner */
enum { AREC__R_STARTING = 0, AREC__R_ACTIVE = 1 };

struct arec_agent {
  arec_manager *mgr;
  char *id;
  char *strategy;
  char key[96]; /* "agent:lock:<id>" */
  const arec_agent_type *type;
  void *state;
  uint64_t serial; /* unique per manager, to recognise a runner later */
  uint64_t fence;
  arec_lease lease;
  int lock_held;       /* lease is ours until released */
  int64_t deadline_ms; /* validity end, monotonic */
  int phase;           /* AREC__R_* */

  /* scheduling */
  int64_t next_at;
  size_t heap_idx; /* SIZE_MAX when not in the heap */
  int busy;        /* a thread is inside start/step/finalize of it */
  atomic_int cancel;
  arec_stop_reason reason;
  int shutdown_owned; /* shutdown finalizes it, workers leave it alone */
  int orphaned;       /* released by shutdown while its step ran */
  int finalizing;     /* a worker is finalizing it */

  /* stats */
  uint64_t steps;
  int64_t started_wall_ms;

  /* saves */
  int64_t last_save_at;   /* monotonic: last time a save was considered */
  int64_t save_fail_since; /* 0 or first failure of the current streak */
  int64_t save_wait_since; /* 0, or since when a save has been due that the
                              repository has not accepted (monotonic ms) */
  int repo_lost;           /* stopping because the repository cannot take
                              saves: skip the final save, free the lock
                              first */
  arec_snapshot *last;     /* last content accepted by the repository */
  arec_snapshot *pending;  /* queued for the saver */
  arec_snapshot *inflight; /* with the saver now */
  int in_dirty;

  arec_agent *hnext; /* hash chain */
};

/* -------------------------------------------------------- pending releases */
typedef struct arec__release {
  char *id;
  uint64_t fence;
  int repo_pending;
  int lock_pending;
  char key[96];
  arec_lease lease;
  struct arec__release *next;
} arec__release;

/* ---------------------------------------------------------------- metrics */
typedef struct arec__metrics {
  atomic_uint_fast64_t restored, restore_failed, acquire, acquire_failed,
      lost, fenced, saves, save_errors, steps, passes, refresh_cycles;
  atomic_int_fast64_t lock_held, running;
  atomic_int_fast64_t wanted, pods_live, target; /* last pass (balance.c) */
  /* doubles and shutdown numbers: under mgr->mu */
  double restore_duration, refresh_cycle, shutdown_duration;
  int64_t saved_on_shutdown;
} arec__metrics;

/* ----------------------------------------------------------------- manager */
struct arec_manager {
  /* configuration, immutable after new */
  char *pod;
  char incarnation[33];
  int64_t ttl, refresh, reconcile, save_interval, shutdown_timeout;
  unsigned int nworkers;
  arec_log_fn log;
  void *log_userdata;
  arec_log_level log_level;
  arec_repository *repo;
  arec_lock *lock;
  int64_t pod_ttl;     /* pod lease TTL, 0 = off (podlease.c) */
  /* monotonic ms of the last repository call that answered (heartbeat or
   * save batch); the refresher stops every runner when it is older than
   * the liveness TTL (DESIGN.md section 3.5) */
  atomic_int_fast64_t repo_ok_at;
  /* monotonic ms of the last lock call that answered (held/free/lost, not
   * a transport failure); a pod whose lock service has not answered for two
   * refresh intervals removes its pods row (reconciler.c), so the others
   * stop counting it live and take its agents over once their locks run
   * out, instead of leaving them to a pod that cannot acquire */
  atomic_int_fast64_t lock_ok_at;
  int row_dropped; /* reconciler thread only */
  int shutdown_hurry; /* under mu: stop waiting for steps (second signal) */
  int fair_share;      /* balance.c: targets and hand-offs in passes */
  char owner[AREC_LOCK_VALUE_MAX]; /* lock owner: pod, or "<pod>/<inc>" */

  pthread_mutex_t mu;
  pthread_cond_t work_cv;  /* workers: heap changed */
  pthread_cond_t idle_cv;  /* a runner stopped being busy / saver idle /
                              runner freed */
  pthread_cond_t tick_cv;  /* refresher, reconciler, saver: wake up */
  pthread_mutex_t pass_mu; /* one reconcile pass or start at a time */

  /* agent types */
  arec_agent_type **types;
  size_t ntypes;

  /* runners: hash map by id */
  arec_agent **buckets;
  size_t nbuckets, nrunners;
  size_t nbusy;
  uint64_t next_serial;

  /* timer heap */
  arec_agent **heap;
  size_t nheap, capheap;

  /* saves */
  arec_agent **dirty;
  size_t ndirty, capdirty;
  int saver_busy;
  int saver_paused;

  arec__release *releases;

  /* lifecycle */
  int passes_enabled;
  int shutting_down;   /* refuse new starts */
  int shutdown_claim;  /* workers must hand finished steps to shutdown */
  int shutdown_done;
  int shutdown_rc;
  int abandoned;
  int stop_workers, stop_reconciler, stop_refresher, stop_saver;

  pthread_t *workers;
  unsigned int nworkers_started;
  pthread_t reconciler_th, refresher_th, saver_th;
  int reconciler_started, refresher_started, saver_started;

  /* pod lease (podlease.c), under mu */
  int64_t pod_deadline_ms; /* validity end of the pod lease, monotonic */
  int pod_expired_logged;
  int stop_podlease, podlease_started;
  pthread_t podlease_th;

  arec__metrics m;
};

/* ------------------------------------------------------------------- time */
int64_t arec__now_ms(void);       /* monotonic */
int64_t arec__wall_ms(void);      /* wall clock, ms since the epoch */
double arec__now_s(void);         /* monotonic seconds, for durations */
void arec__deadline_ts(struct timespec *ts, int64_t at_ms); /* for cond */
void arec__cond_init_mono(pthread_cond_t *cv);

/* -------------------------------------------------------------------- log */
void arec__log(arec_manager *mgr, arec_log_level level, const char *msg,
               const arec_log_field *fields, size_t nfields);
/* Shorthand for up to 4 key/value pairs (NULL-terminated key list). */
void arec__logkv(arec_manager *mgr, arec_log_level level, const char *msg,
                 ...);

/* ----------------------------------------------------------- runner table */
arec_agent *arec__runner_find(arec_manager *mgr, const char *id);
int arec__runner_insert(arec_manager *mgr, arec_agent *r);
void arec__runner_remove(arec_manager *mgr, arec_agent *r);
arec_agent *arec__runner_new(arec_manager *mgr, const char *id,
                             const char *strategy);
void arec__runner_free(arec_agent *r);
/* Marks a runner to stop (mu held).  FENCED overrides an earlier reason. */
void arec__runner_mark_stop(arec_manager *mgr, arec_agent *r,
                            arec_stop_reason reason);
/* Worker side: final save, type->stop, release, free.  mu held on entry and
 * on return (dropped inside).  r->busy is set by the caller. */
void arec__runner_finalize(arec_manager *mgr, arec_agent *r);
/* Releases (repo with fence, then lock) without holding mu; failures are
 * queued for retry.  Updates the lock gauge. */
void arec__release_now(arec_manager *mgr, const char *id, uint64_t fence,
                       int do_repo, const char *key, const arec_lease *lease,
                       int do_lock);
void arec__release_retry(arec_manager *mgr);
void arec__release_queue_free(arec_manager *mgr);
/* Takes a snapshot through the agent type (no mu held). NULL on failure. */
arec_snapshot *arec__runner_snapshot(arec_agent *r);
/* Starts one agent whose lock and fence are held: picks the type, calls
 * start, schedules.  On failure releases everything.  0 or <0. */
int arec__runner_launch(arec_manager *mgr, const arec_agent_row *row,
                        const arec_lease *lease, int64_t deadline,
                        uint64_t fence);

/* -------------------------------------------------------------- scheduler */
void arec__heap_push(arec_manager *mgr, arec_agent *r);
void arec__heap_remove(arec_manager *mgr, arec_agent *r);
void arec__heap_update(arec_manager *mgr, arec_agent *r, int64_t at);
int arec__workers_start(arec_manager *mgr);
void arec__workers_join(arec_manager *mgr);

/* ------------------------------------------------------------------ saves */
/* Worker: after a step, queue a save when due and changed (no mu held). */
void arec__save_maybe(arec_manager *mgr, arec_agent *r);
/* mu held: 1 (and marks the runner repo_lost) when a save has been due for
 * longer than the lock TTL without being accepted. */
int arec__save_overdue(arec_manager *mgr, arec_agent *r, int64_t now);
/* Waits (mu held) until r has no save with the saver; drops its pending. */
void arec__save_quiesce(arec_manager *mgr, arec_agent *r);
int arec__saver_start(arec_manager *mgr);
void arec__saver_join(arec_manager *mgr);
/* Records the result of one save of r (mu held). */
void arec__save_result(arec_manager *mgr, arec_agent *r, int rc,
                       arec_snapshot *snap);

/* -------------------------------------------------------------- refresher */
int arec__refresher_start(arec_manager *mgr);
void arec__refresher_join(arec_manager *mgr);

/* -------------------------------------------------------------- pod lease */
/* Takes the first pod lease synchronously and starts the renewing thread
 * (no-op when pod leases are off). */
int arec__podlease_start(arec_manager *mgr);
/* Stops renewing; with leave != 0 also deletes the pod lease. */
void arec__podlease_stop(arec_manager *mgr, int leave);
/* mu held: 1 when no pod lease is used or it is still valid. */
int arec__pod_valid(arec_manager *mgr, int64_t now);

/* ---------------------------------------------------------------- balance */
/* What one pass knows about fair sharing and migrations (balance.c). */
typedef struct arec__plan {
  int have;       /* the repository's balance slot answered */
  int64_t target; /* ceil(wanted / live pods); 0 when not sharing */
  arec_balance bal;
} arec__plan;

/* Asks the repository (version 2 balance slot, if any); sets the gauges. */
void arec__plan_load(arec_manager *mgr, arec__plan *p);
void arec__plan_free(arec__plan *p);
/* Reorders idx[0..n) (indexes into list->rows, agents without a local
 * runner) into what this pass should try: agents migrating here first, then
 * up to the room below the target, starting at a place that depends on the
 * pod name so pods do not all race for the same agents.  Agents migrating
 * elsewhere and those above the room are dropped and counted in *skipped.
 * Returns the new count. */
size_t arec__plan_select(arec_manager *mgr, const arec__plan *p,
                         const arec_agent_list *list, size_t *idx, size_t n,
                         unsigned int *skipped);
/* After the launches: hands off (AREC_STOP_HANDOVER) the runners above the
 * target, at most what the other pods have room for; `unowned` is the number
 * of wanted agents this pass saw without a live owner and did not take. */
void arec__plan_shed(arec_manager *mgr, const arec__plan *p, size_t unowned);

/* ------------------------------------------------------------- reconciler */
int arec__reconciler_start(arec_manager *mgr);
void arec__reconciler_join(arec_manager *mgr);
int arec__pass(arec_manager *mgr, int logged, arec_restore_result *out);

#endif
