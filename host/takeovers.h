/*
 * takeovers.h -- the takeover recorder: every agent this pod restores after
 * its previous owner failed becomes one audit event (actor "pod:<name>",
 * action "agent.takeover", the agent's id and owner, result "after
 * failure"), which GET /api/audit?action=agent.takeover lists and the fleet
 * page shows.
 *
 * Input: a log tap (arec_log_fn) fed every line of the daemon's log sink;
 * it reacts to the library's "✅ agent restored successfully" lines with
 * after=failure only (after=handover -- a first start, a graceful handover,
 * a release -- is not a takeover).  The library writes one such line per
 * symbol of the agent; the lines of one restore (same agent, symbols in
 * ascending byte order, one right after the other) count once.
 *
 * Output: a bounded queue drained by one thread, in batches of one INSERT
 * each.  The tap never waits for the database: when the queue is full the
 * event is dropped and counted, and the drainer logs the drops at most once
 * per interval.  A failed INSERT is retried (so an event may, rarely, be
 * written twice when the database committed but the answer was lost).
 */
#ifndef AREC_HOST_TAKEOVERS_H
#define AREC_HOST_TAKEOVERS_H

#include <stddef.h>
#include <stdint.h>

#include "agentrecover.h"

struct arec_host_store; /* store.h */
typedef struct arec_host_takeovers arec_host_takeovers;

typedef struct arec_host_takeovers_options {
  struct arec_host_store *store; /* borrowed: outlives the recorder */
  const char *pod;               /* this pod's name (copied) */
  size_t capacity;               /* queued events at most; 0: 1024 */
  size_t batch_max;              /* events per INSERT; 0: 128 */
  int64_t overflow_log_ms;       /* drops logged at most this often; 0:
                                    10 s */
  int64_t retry_ms;              /* wait after a failed INSERT; 0: 1 s */
  arec_log_fn log;               /* the drainer's own lines (NULL: none) */
  void *log_userdata;
} arec_host_takeovers_options;

typedef struct arec_host_takeovers_stats {
  uint64_t queued;    /* accepted by the tap */
  uint64_t recorded;  /* written */
  uint64_t dropped;   /* queue full */
  uint64_t lost;      /* still unwritten when the recorder stopped */
  uint64_t failures;  /* INSERTs that failed (each retried) */
} arec_host_takeovers_stats;

/* Starts the drainer thread.  0, AREC_EINVAL, AREC_ENOMEM. */
int arec_host_takeovers_new(arec_host_takeovers **out,
                            const arec_host_takeovers_options *opts);

/* The tap (userdata: the recorder; NULL is ignored).  Any thread; never
 * waits for I/O. */
void arec_host_takeovers_tap(void *userdata, arec_log_level level,
                             const char *msg, const arec_log_field *fields,
                             size_t nfields);

/* Waits until everything queued so far is written (or failed), at most
 * timeout_ms: 0, or AREC_ETIMEDOUT. */
int arec_host_takeovers_flush(arec_host_takeovers *t, int64_t timeout_ms);

void arec_host_takeovers_stats_get(arec_host_takeovers *t,
                                   arec_host_takeovers_stats *out);

/* Stops the drainer after one last attempt at what is queued (what still
 * fails is logged as lost) and frees.  The tap must no longer be called.
 * NULL ok. */
void arec_host_takeovers_free(arec_host_takeovers *t);

#endif
