/*
 * render.c -- arec_metrics_render(): a metrics snapshot in the Prometheus
 * text exposition format (HELP and TYPE lines; counters TYPE counter,
 * gauges TYPE gauge, histograms TYPE histogram with cumulative
 * _bucket{le="..."} lines ending in le="+Inf", then _sum and _count).
 *
 * The output has a fixed number of lines whatever the number of agents.
 * One name draws a `promtool check metrics` lint warning on purpose (it is
 * the name dashboards already use): the gauge agent_lock_held_total ends
 * in _total.  Never fails except for memory.
 */
#include "core/textbuf.h"
#include "internal.h"

static void head(arec__buf *b, const char *name, const char *type,
                 const char *help) {
  arec__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(arec__buf *b, const char *name, const char *help,
                    uint64_t v) {
  head(b, name, "counter", help);
  arec__buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge_i(arec__buf *b, const char *name, const char *help,
                    int64_t v) {
  head(b, name, "gauge", help);
  arec__buf_printf(b, "%s %lld\n", name, (long long)v);
}

static void gauge_d(arec__buf *b, const char *name, const char *help,
                    double v) {
  head(b, name, "gauge", help);
  arec__buf_printf(b, "%s %.9g\n", name, v);
}

static void histogram(arec__buf *b, const char *name, const char *help,
                      const arec_histogram *h) {
  const double *le = arec_histogram_bounds();
  head(b, name, "histogram", help);
  for (size_t i = 0; i < AREC_HISTOGRAM_BUCKETS; i++)
    arec__buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, le[i],
                     (unsigned long long)h->bucket[i]);
  arec__buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                   (unsigned long long)h->count);
  arec__buf_printf(b, "%s_sum %.9g\n", name, h->sum);
  arec__buf_printf(b, "%s_count %llu\n", name, (unsigned long long)h->count);
}

int arec_metrics_render(char **out, const arec_metrics *m) {
  arec__buf b;
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!m)
    return AREC_EINVAL;
  if (m->version < 3) {
    arec_error_set("metrics: unsupported version %u", m->version);
    return AREC_EVERSION;
  }
  arec__buf_init(&b);
  counter(&b, "agents_restored_total",
          "Agents taken over by this pod (reconcile passes and starts).",
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
  counter(&b, "agent_start_failures_total",
          "Failed agent starts and steps that released the agent into "
          "backoff.",
          m->agent_start_failures_total);
  counter(&b, "reconcile_passes_total", "Reconcile passes run.",
          m->reconcile_passes_total);
  counter(&b, "reconcile_errors_total",
          "Reconcile passes that could not list the agents to restore.",
          m->reconcile_errors_total);
  counter(&b, "refresh_cycles_total", "Lock refresh cycles run.",
          m->refresh_cycles_total);
  gauge_i(&b, "agent_lock_held_total", "Agent locks held by this pod now.",
          m->agent_lock_held_total);
  gauge_i(&b, "agents_running", "Agent runners on this pod now.",
          m->agents_running);
  gauge_i(&b, "agents_wanted",
          "Wanted agents (active and trading) seen by the last reconcile "
          "pass that could ask: the auto-scaling signal.",
          m->agents_wanted);
  gauge_i(&b, "agents_backoff",
          "Wanted agents waiting in backoff after failed starts, seen by the "
          "last reconcile pass.",
          m->agents_backoff);
  gauge_i(&b, "pods_live",
          "Live pods that are not leaving, seen by the last reconcile pass.",
          m->pods_live);
  gauge_i(&b, "agents_target",
          "This pod's fair share of the wanted agents: ceil(wanted / live "
          "pods).",
          m->agents_target);
  gauge_d(&b, "shutdown_duration_seconds",
          "Duration of the graceful shutdown (0 until then).",
          m->shutdown_duration_seconds);
  gauge_i(&b, "agents_saved_on_shutdown",
          "Agents whose final state was saved at shutdown.",
          m->agents_saved_on_shutdown);
  gauge_d(&b, "agent_lock_ttl_seconds", "Configured agent lock TTL.",
          m->agent_lock_ttl_seconds);
  gauge_d(&b, "agent_refresh_interval_seconds",
          "Configured agent lock refresh interval.",
          m->agent_refresh_interval_seconds);
  histogram(&b, "agent_restore_duration_seconds",
            "Time from the claim of a takeover to the end of the agent's "
            "first step.",
            &m->agent_restore_duration_seconds);
  histogram(&b, "agent_step_duration_seconds", "Duration of agent steps.",
            &m->agent_step_duration_seconds);
  histogram(&b, "agent_save_duration_seconds",
            "Duration of state save batches.",
            &m->agent_save_duration_seconds);
  histogram(&b, "refresh_cycle_seconds", "Duration of lock refresh cycles.",
            &m->refresh_cycle_seconds);
  if (b.oom) {
    arec__buf_free(&b);
    return AREC_ENOMEM;
  }
  *out = b.p;
  return 0;
}
