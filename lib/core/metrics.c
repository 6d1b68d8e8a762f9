/*
 * metrics.c -- recording the manager's metrics and arec_manager_metrics().
 *
 * Counters and gauges are atomics bumped by every thread; a histogram is
 * one atomic count per bucket plus an atomic sum in nanoseconds, so
 * recording (on the step, save, refresh and launch paths) never waits and
 * never allocates.  A snapshot derives each histogram's cumulative buckets
 * and its count from the same per-bucket reads, so the count always equals
 * the +Inf bucket.
 *
 * Versions: arec_manager_metrics() fills the struct of the version the
 * caller set in out->version.  Version 3 is the first of this layout.  A
 * later version will append fields at the end of arec_metrics and this
 * function will then accept every version from 3 up to the new one and
 * write only the fields up to the caller's version (never past the end of
 * a caller's older, shorter struct); a version it does not know is
 * AREC_EVERSION.
 */
#include <string.h>

#include "internal.h"

static const double bounds[AREC_HISTOGRAM_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25,  0.5,    1,     2.5,  5,     10,   30};

const double *arec_histogram_bounds(void) { return bounds; }

void arec__hist_observe(arec__hist *h, double seconds) {
  if (!(seconds >= 0)) /* also NaN */
    seconds = 0;
  size_t i = 0;
  while (i < AREC_HISTOGRAM_BUCKETS && seconds > bounds[i])
    i++;
  atomic_fetch_add(&h->n[i], 1);
  atomic_fetch_add(&h->sum_ns, (uint_fast64_t)(seconds * 1e9 + 0.5));
}

static void hist_read(arec__hist *h, arec_histogram *out) {
  uint64_t cum = 0;
  for (size_t i = 0; i < AREC_HISTOGRAM_BUCKETS; i++) {
    cum += atomic_load(&h->n[i]);
    out->bucket[i] = cum;
  }
  out->count = cum + atomic_load(&h->n[AREC_HISTOGRAM_BUCKETS]);
  out->sum = (double)atomic_load(&h->sum_ns) / 1e9;
}

int arec_manager_metrics(arec_manager *mgr, arec_metrics *out) {
  if (!mgr || !out)
    return AREC_EINVAL;
  if (out->version != 3) {
    arec_error_set("metrics: unsupported version %u (this library fills 3)",
                   out->version);
    return AREC_EVERSION;
  }
  /* version 3: the whole struct of this header */
  memset(out, 0, sizeof *out);
  out->version = 3;
  out->agents_restored_total = atomic_load(&mgr->m.restored);
  out->agents_restore_failed_total = atomic_load(&mgr->m.restore_failed);
  out->agent_lock_acquire_total = atomic_load(&mgr->m.acquire);
  out->agent_lock_acquire_failed_total = atomic_load(&mgr->m.acquire_failed);
  out->agent_lock_lost_total = atomic_load(&mgr->m.lost);
  out->agent_fenced_writes_total = atomic_load(&mgr->m.fenced);
  out->agent_saves_total = atomic_load(&mgr->m.saves);
  out->agent_save_errors_total = atomic_load(&mgr->m.save_errors);
  out->agent_steps_total = atomic_load(&mgr->m.steps);
  out->agent_start_failures_total = atomic_load(&mgr->m.start_failures);
  out->reconcile_passes_total = atomic_load(&mgr->m.passes);
  out->reconcile_errors_total = atomic_load(&mgr->m.pass_errors);
  out->refresh_cycles_total = atomic_load(&mgr->m.refresh_cycles);
  out->agent_lock_held_total = atomic_load(&mgr->m.lock_held);
  out->agents_running = atomic_load(&mgr->m.running);
  out->agents_wanted = atomic_load(&mgr->m.wanted);
  out->agents_backoff = atomic_load(&mgr->m.backoff);
  out->pods_live = atomic_load(&mgr->m.pods_live);
  out->agents_target = atomic_load(&mgr->m.target);
  out->agent_lock_ttl_seconds = (double)mgr->ttl / 1000.0;
  out->agent_refresh_interval_seconds = (double)mgr->refresh / 1000.0;
  pthread_mutex_lock(&mgr->mu);
  out->shutdown_duration_seconds = mgr->m.shutdown_duration;
  out->agents_saved_on_shutdown = mgr->m.saved_on_shutdown;
  pthread_mutex_unlock(&mgr->mu);
  hist_read(&mgr->m.restore, &out->agent_restore_duration_seconds);
  hist_read(&mgr->m.step, &out->agent_step_duration_seconds);
  hist_read(&mgr->m.save, &out->agent_save_duration_seconds);
  hist_read(&mgr->m.refresh, &out->refresh_cycle_seconds);
  return 0;
}
