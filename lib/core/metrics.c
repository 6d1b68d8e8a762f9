/*
 * metrics.c -- the manager's metrics snapshot and its Prometheus text
 * rendering (DESIGN.md section 8).
 *
 * Counters are atomics bumped by every thread; the few doubles live under
 * the manager's mutex.  The names are those of the design notes (two of
 * them draw promtool lint warnings, accepted on purpose); counters are
 * TYPE counter, gauges TYPE gauge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int arec_manager_metrics(arec_manager *mgr, arec_metrics *out) {
  if (!mgr || !out)
    return AREC_EINVAL;
  memset(out, 0, sizeof *out);
  out->version = AREC_METRICS_VERSION;
  out->agents_restored_total = atomic_load(&mgr->m.restored);
  out->agents_restore_failed_total = atomic_load(&mgr->m.restore_failed);
  out->agent_lock_acquire_total = atomic_load(&mgr->m.acquire);
  out->agent_lock_acquire_failed_total = atomic_load(&mgr->m.acquire_failed);
  out->agent_lock_lost_total = atomic_load(&mgr->m.lost);
  out->agent_fenced_writes_total = atomic_load(&mgr->m.fenced);
  out->agent_saves_total = atomic_load(&mgr->m.saves);
  out->agent_save_errors_total = atomic_load(&mgr->m.save_errors);
  out->agent_steps_total = atomic_load(&mgr->m.steps);
  out->reconcile_passes_total = atomic_load(&mgr->m.passes);
  out->refresh_cycles_total = atomic_load(&mgr->m.refresh_cycles);
  out->agent_lock_held_total = atomic_load(&mgr->m.lock_held);
  out->agents_running = atomic_load(&mgr->m.running);
  out->agents_wanted = atomic_load(&mgr->m.wanted);
  out->pods_live = atomic_load(&mgr->m.pods_live);
  out->agents_target = atomic_load(&mgr->m.target);
  pthread_mutex_lock(&mgr->mu);
  out->agent_restore_duration_seconds = mgr->m.restore_duration;
  out->refresh_cycle_seconds = mgr->m.refresh_cycle;
  out->shutdown_duration_seconds = mgr->m.shutdown_duration;
  out->agents_saved_on_shutdown = mgr->m.saved_on_shutdown;
  pthread_mutex_unlock(&mgr->mu);
  return 0;
}

typedef struct mbuf {
  char *p;
  size_t n, cap;
  int err;
} mbuf;

static void emit(mbuf *b, const char *name, const char *type,
                 const char *help, const char *value) {
  char line[512];
  int k = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %s\n",
                   name, help, name, type, name, value);
  if (k < 0 || (size_t)k >= sizeof line) {
    b->err = 1;
    return;
  }
  if (b->n + (size_t)k + 1 > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 2048) + (size_t)k;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->err = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, line, (size_t)k);
  b->n += (size_t)k;
  b->p[b->n] = '\0';
}

static void counter(mbuf *b, const char *name, const char *help,
                    uint64_t v) {
  char s[32];
  snprintf(s, sizeof s, "%llu", (unsigned long long)v);
  emit(b, name, "counter", help, s);
}

static void gauge_i(mbuf *b, const char *name, const char *help, int64_t v) {
  char s[32];
  snprintf(s, sizeof s, "%lld", (long long)v);
  emit(b, name, "gauge", help, s);
}

static void gauge_d(mbuf *b, const char *name, const char *help, double v) {
  char s[64];
  snprintf(s, sizeof s, "%.9g", v);
  emit(b, name, "gauge", help, s);
}

int arec_metrics_render(char **out, const arec_metrics *m) {
  mbuf b = {NULL, 0, 0, 0};
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!m)
    return AREC_EINVAL;
  counter(&b, "agents_restored_total",
          "Agents taken over by this pod in a reconcile pass.",
          m->agents_restored_total);
  counter(&b, "agents_restore_failed_total",
          "Agents a reconcile pass failed to start.",
          m->agents_restore_failed_total);
  counter(&b, "agent_lock_acquire_total", "Agent locks acquired.",
          m->agent_lock_acquire_total);
  counter(&b, "agent_lock_acquire_failed_total",
          "Agent lock acquisitions that failed (held elsewhere or error).",
          m->agent_lock_acquire_failed_total);
  counter(&b, "agent_lock_lost_total",
          "Agent locks found held by someone else on refresh.",
          m->agent_lock_lost_total);
  counter(&b, "agent_fenced_writes_total",
          "State writes refused because the fence was stale.",
          m->agent_fenced_writes_total);
  counter(&b, "agent_saves_total", "Agent state writes accepted.",
          m->agent_saves_total);
  counter(&b, "agent_save_errors_total",
          "Agent state writes the repository did not take.",
          m->agent_save_errors_total);
  counter(&b, "agent_steps_total", "Agent steps run.", m->agent_steps_total);
  counter(&b, "reconcile_passes_total", "Reconcile passes run.",
          m->reconcile_passes_total);
  counter(&b, "refresh_cycles_total", "Lock refresh cycles run.",
          m->refresh_cycles_total);
  gauge_i(&b, "agent_lock_held_total", "Agent locks held by this pod now.",
          m->agent_lock_held_total);
  gauge_i(&b, "agents_running", "Agent runners on this pod now.",
          m->agents_running);
  gauge_d(&b, "agent_restore_duration_seconds",
          "Duration of the last restore pass.",
          m->agent_restore_duration_seconds);
  gauge_d(&b, "refresh_cycle_seconds", "Duration of the last refresh cycle.",
          m->refresh_cycle_seconds);
  gauge_d(&b, "shutdown_duration_seconds",
          "Duration of the graceful shutdown (0 until then).",
          m->shutdown_duration_seconds);
  gauge_i(&b, "agents_saved_on_shutdown",
          "Agents whose final state was saved at shutdown.",
          m->agents_saved_on_shutdown);
  if (m->version >= 2) {
    gauge_i(&b, "agents_wanted",
            "Wanted agents (active and trading) seen by the last reconcile "
            "pass: the auto-scaling signal.",
            m->agents_wanted);
    gauge_i(&b, "pods_live",
            "Live pods that are not leaving, seen by the last reconcile pass.",
            m->pods_live);
    gauge_i(&b, "agents_target",
            "This pod's fair share of the wanted agents: ceil(wanted / live "
            "pods).",
            m->agents_target);
  }
  if (b.err) {
    free(b.p);
    return AREC_ENOMEM;
  }
  *out = b.p;
  return 0;
}
