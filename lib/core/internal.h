/*
 * internal.h -- the base layer of lib/core: the manager's and the runner's
 * structs, the clock, the thread helper, logging, text checks and metric
 * recording.  Every file of lib/core includes it; the modules above it have
 * headers of their own that only include downwards (heap.h <- table.h <-
 * saver.h, release.h <- backoff.h <- runner.h <- scheduler / pass ...), so
 * no two modules depend on each other.  Never installed.
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
#include <time.h>

#include "agentrecover.h"
#include "agentrecover/sys/lock.h"
#include "agentrecover/sys/repository.h"

#define AREC__KEY_MAX 96 /* "agent:lock:<id>" and its NUL */
#define AREC__TEXT_MAX 500 /* bytes of a last_error a repository keeps */

/* A slot of repository version 3, NULL for an older repository. */
#define AREC__V3(repo, slot) ((repo)->version >= 3 ? (repo)->slot : NULL)

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
  char key[AREC__KEY_MAX]; /* "agent:lock:<id>" */
  const arec_agent_type *type;
  void *state;
  uint64_t serial; /* unique per manager, to recognise a runner later */
  uint64_t fence;
  arec_lease lease;
  int lock_held;       /* lease is ours until released */
  int64_t deadline_ms; /* validity end, monotonic */
  int phase;           /* AREC__R_* */
  int placed;          /* the agent requires a capability: fair sharing
                          neither counts it against others nor sheds it */

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

  /* backoff (backoff.c): what the agent's row showed at launch, so the
   * first good step clears it with start_ok; the claim time for the restore
   * histogram (0 once the first step ended); why a step failed */
  unsigned int row_failures;
  int row_noted; /* the row had a last_error */
  double claim_at;
  char *fail_text;

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
  char key[AREC__KEY_MAX];
  arec_lease lease;
  struct arec__release *next;
} arec__release;

/* ---------------------------------------------------------------- metrics */
/* A histogram: per-bucket counts (not cumulative; the last is +Inf) and the
 * sum in nanoseconds, all atomics, so recording never waits. */
typedef struct arec__hist {
  atomic_uint_fast64_t n[AREC_HISTOGRAM_BUCKETS + 1];
  atomic_uint_fast64_t sum_ns;
} arec__hist;

typedef struct arec__metrics {
  atomic_uint_fast64_t restored, restore_failed, acquire, acquire_failed,
      lost, fenced, saves, save_errors, steps, start_failures, passes,
      pass_errors, refresh_cycles;
  atomic_int_fast64_t lock_held, running;
  atomic_int_fast64_t wanted, backoff, pods_live, target; /* last pass */
  arec__hist restore, step, save, refresh;
  /* shutdown numbers: under mgr->mu */
  double shutdown_duration;
  int64_t saved_on_shutdown;
} arec__metrics;

void arec__hist_observe(arec__hist *h, double seconds);

/* ----------------------------------------------------------------- threads */
typedef struct arec__thread {
  pthread_t th;
  int started;
} arec__thread;

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
  int fair_share;      /* share.c: targets and hand-offs in passes */
  char **caps;         /* capabilities this pod offers */
  size_t ncaps;
  int takeover;        /* passes take over agents with no live owner */
  int64_t stop_check;  /* interval of the stop checks without passes */
  int64_t backoff_min, backoff_max;
  char owner[AREC_LOCK_VALUE_MAX]; /* lock owner: pod, or "<pod>/<inc>" */
  /* monotonic ms of the last repository call that answered (heartbeat or
   * save batch); the refresher stops every runner when it is older than
   * the liveness TTL */
  atomic_int_fast64_t repo_ok_at;
  /* monotonic ms of the last lock call that answered (held/free/lost, not
   * a transport failure); a pod whose lock service has not answered for two
   * refresh intervals removes its pods row (reconciler.c), so the others
   * stop counting it live and take its agents over once their locks run
   * out, instead of leaving them to a pod that cannot acquire */
  atomic_int_fast64_t lock_ok_at;
  int row_dropped; /* reconciler thread only */
  /* under mu: the last pass fell short of its room while other pods held
   * some of its candidates, and took some: pods racing for the same agents
   * (a cold start, a failover) split some keys' votes so that nobody got
   * them, so the next pass comes soon instead of a reconcile interval later */
  int pass_again;
  int shutdown_hurry; /* under mu: stop waiting for steps (second signal) */

  pthread_mutex_t mu;
  pthread_cond_t work_cv;  /* workers: heap changed */
  pthread_cond_t idle_cv;  /* a runner stopped being busy / saver idle /
                              runner freed */
  pthread_cond_t tick_cv;  /* refresher, reconciler, saver: wake up */
  pthread_mutex_t pass_mu; /* one reconcile pass, stop check or start at a
                              time */

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
  int stop_workers, stop_reconciler, stop_refresher, stop_saver,
      stop_podlease;

  arec__thread *workers;
  arec__thread reconciler_th, refresher_th, watch_th, saver_th, podlease_th;

  /* under mu: no runner can be due (validity end, save waiting longer than
   * the TTL) before this monotonic ms; the watch (refresher.c) looks at
   * every runner only then, and whoever sets an earlier due time lowers it
   * with arec__watch_at */
  int64_t watch_next;

  /* under mu: this pod's place among the live pods by name (slot of
   * nslots, 0 slots: not known), set by the passes (share.c), read by the
   * refresher to renew at its turn and by the reconciler to keep passes
   * clear of the turns */
  int64_t slot, nslots;
  uint64_t slot_live;      /* live pods when the slot was found */
  int64_t slot_listed_at;  /* monotonic ms of that listing */
  int64_t cycle_at;        /* monotonic ms the last refresh cycle began
                              (refresher; read by arec__pass_shift) */

  /* pod lease (podlease.c), under mu */
  int64_t pod_deadline_ms; /* validity end of the pod lease, monotonic */
  int pod_expired_logged;

  arec__metrics m;
};

/* mu held: something may be due at monotonic ms `at` (refresher.c). */
void arec__watch_at(arec_manager *mgr, int64_t at);

/* ------------------------------------------------------------------ clock */
int64_t arec__now_ms(void);       /* monotonic */
int64_t arec__wall_ms(void);      /* wall clock, ms since the epoch */
double arec__now_s(void);         /* monotonic seconds, for durations */
void arec__deadline_ts(struct timespec *ts, int64_t at_ms); /* for cond */
void arec__cond_init_mono(pthread_cond_t *cv);

/* ---------------------------------------------------------------- threads */
/* Starts fn(arg); AREC_ENOMEM when the thread cannot be created. */
int arec__thread_start(arec__thread *t, void *(*fn)(void *), void *arg);
/* Sets *stop under mgr->mu, wakes `cv`, joins the threads t[0..n) that
 * started (no mu held by the caller). */
void arec__thread_join(arec_manager *mgr, int *stop, pthread_cond_t *cv,
                       arec__thread *t, size_t n);

/* -------------------------------------------------------------------- log */
void arec__log(arec_manager *mgr, arec_log_level level, const char *msg,
               const arec_log_field *fields, size_t nfields);
/* Shorthand for up to 8 key/value pairs (NULL-terminated).  A key starting
 * with '#' is a number field, with '?' a boolean field (the mark is not
 * part of the key): arec__logkv(mgr, lvl, "msg", "#count", "3", NULL). */
void arec__logkv(arec_manager *mgr, arec_log_level level, const char *msg,
                 ...);

/* ------------------------------------------------------------------- text */
/* 1 when `text` is exactly one JSON object (strict, see text.c). */
int arec__json_object_valid(const char *text);
/* 1 when `text` is exactly one JSON number. */
int arec__json_number_valid(const char *text);
/* 1 when s holds a control character (< 0x20 or 0x7f). */
int arec__has_control(const char *s);
/* 1 when s is non-empty valid UTF-8 without control characters. */
int arec__text_ok(const char *s);
/* Copies src into dst (cap bytes with the NUL) as valid UTF-8 without
 * control characters (replaced), cut at a character boundary.  NULL src
 * gives "". */
void arec__text_clean(char *dst, size_t cap, const char *src);

#endif
