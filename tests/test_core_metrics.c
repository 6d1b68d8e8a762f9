/*
 * test_core_metrics.c -- the manager's metrics: the struct versions
 * arec_manager_metrics() accepts, the four histograms (one restore
 * observation per takeover, one per step, per save batch and per refresh
 * cycle, with the fixed bounds), the configured timings, and the
 * Prometheus rendering checked by `promtool check metrics`.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "support/toy_agent.h"
#include "support/runner.h"

static toy_opts quiet(void) { return toy_quiet(600, 150); }

static void ctl_init(toy_ctl *c) { toy_ctl_init(c, 5); }

/* Runs promtool on `text`; fills out with its output, returns its exit. */
static int promtool(const char *text, char *out, size_t len) {
  char path[] = "/tmp/arec_metrics_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  size_t k = fread(out, 1, len - 1, p);
  out[k] = '\0';
  int st_rc = pclose(p);
  unlink(path);
  return WIFEXITED(st_rc) ? WEXITSTATUS(st_rc) : -1;
}

START_TEST(metrics_render_parses_with_promtool) {
  toy_ctl c;
  toy_opts o = quiet();
  ctl_init(&c);
  arec_memory_store *st = toy_store("p", 3);
  arec_manager *m = toy_manager(st, "pod-a", &c, &o);
  ck_assert_int_eq(arec_manager_restore(m, NULL), 0);
  WAIT_UNTIL(atomic_load(&c.steps) > 10, 2000);
  arec_metrics mt = AREC_METRICS_INIT;
  char *text = NULL;
  ck_assert_int_eq(arec_manager_metrics(m, &mt), 0);
  ck_assert_int_eq(arec_metrics_render(&text, &mt), 0);
  const char *names[] = {
      "agents_restored_total 3",          "agents_restore_failed_total 0",
      "agent_lock_acquire_total 3",       "agent_lock_acquire_failed_total 0",
      "agent_lock_held_total 3",          "agent_lock_lost_total 0",
      "agent_fenced_writes_total 0",      "agents_running 3",
      "shutdown_duration_seconds 0",      "agents_saved_on_shutdown 0",
      "agent_start_failures_total 0",     "reconcile_errors_total 0",
      "agents_backoff 0",                 "agents_wanted 3",
      "agent_lock_ttl_seconds 0.6",       "agent_refresh_interval_seconds 0.15",
      "# TYPE agents_restored_total counter",
      "# TYPE agent_lock_held_total gauge",
      "# TYPE agent_restore_duration_seconds histogram",
      "# TYPE agent_step_duration_seconds histogram",
      "# TYPE agent_save_duration_seconds histogram",
      "# TYPE refresh_cycle_seconds histogram",
      "agent_restore_duration_seconds_bucket{le=\"0.001\"} ",
      "agent_restore_duration_seconds_bucket{le=\"0.0025\"} ",
      "agent_restore_duration_seconds_bucket{le=\"30\"} ",
      "agent_restore_duration_seconds_bucket{le=\"+Inf\"} 3\n",
      "agent_restore_duration_seconds_count 3\n",
      "agent_restore_duration_seconds_sum ",
      "# HELP agents_running "};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    ck_assert_msg(strstr(text, names[i]) != NULL, "missing: %s", names[i]);

  char out[8192];
  int code = promtool(text, out, sizeof out);
  /* 0 = clean, 3 = lint warnings only; 1 = parse error.  The only lint
   * warning accepted is the name kept on purpose (a gauge ending in
   * _total). */
  ck_assert_msg(code == 0 || code == 3, "promtool exit %d: %s", code, out);
  ck_assert_msg(strstr(out, "error") == NULL, "promtool: %s", out);
  int warnings = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    ck_assert_msg(strncmp(line, "agent_lock_held_total ", 22) == 0,
                  "unexpected promtool warning: %s", line);
    warnings++;
  }
  ck_assert_int_le(warnings, 1);
  arec_free(text);
  ck_assert_int_eq(arec_metrics_render(&text, NULL), AREC_EINVAL);
  ck_assert_ptr_null(text);
  mt.version = 2;
  ck_assert_int_eq(arec_metrics_render(&text, &mt), AREC_EVERSION);
  ck_assert_ptr_null(text);
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

static void check_hist(const arec_histogram *h, uint64_t count) {
  ck_assert_uint_eq(h->count, count);
  for (size_t i = 1; i < AREC_HISTOGRAM_BUCKETS; i++)
    ck_assert_uint_le(h->bucket[i - 1], h->bucket[i]);
  ck_assert_uint_le(h->bucket[AREC_HISTOGRAM_BUCKETS - 1], h->count);
  ck_assert(h->sum >= 0);
}

START_TEST(metrics_versions_and_histograms) {
  toy_ctl c;
  toy_opts o = quiet();
  ctl_init(&c);
  c.delay_ms = 20;
  arec_memory_store *st = toy_store("h", 3);
  arec_manager *m = toy_manager(st, "pod-a", &c, &o);

  const double *b = arec_histogram_bounds();
  static const double want[AREC_HISTOGRAM_BUCKETS] = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25,  0.5,    1,     2.5,  5,     10,   30};
  for (size_t i = 0; i < AREC_HISTOGRAM_BUCKETS; i++)
    ck_assert_double_eq(b[i], want[i]);

  arec_metrics mt = AREC_METRICS_INIT;
  ck_assert_uint_eq(mt.version, 3);
  unsigned int bad[] = {0, 1, 2, 4, 99};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    mt.version = bad[i];
    ck_assert_int_eq(arec_manager_metrics(m, &mt), AREC_EVERSION);
  }
  mt.version = AREC_METRICS_VERSION;
  ck_assert_int_eq(arec_manager_metrics(m, &mt), 0);
  check_hist(&mt.agent_restore_duration_seconds, 0);
  check_hist(&mt.agent_step_duration_seconds, 0);

  ck_assert_int_eq(arec_manager_restore(m, NULL), 0);
  WAIT_UNTIL(atomic_load(&c.steps) > 30, 3000);
  toy_sleep_ms(400); /* a few refresh cycles and save batches */
  ck_assert_int_eq(arec_manager_shutdown(m, 0), 0);
  ck_assert_int_eq(arec_manager_metrics(m, &mt), 0);
  /* one restore observation per takeover (claim to first step) */
  check_hist(&mt.agent_restore_duration_seconds, 3);
  ck_assert_uint_eq(mt.agent_restore_duration_seconds.bucket[13], 3);
  /* one step observation per step, one refresh per cycle */
  check_hist(&mt.agent_step_duration_seconds, mt.agent_steps_total);
  ck_assert_uint_ge(mt.agent_steps_total, 30);
  check_hist(&mt.refresh_cycle_seconds, mt.refresh_cycles_total);
  ck_assert_uint_ge(mt.refresh_cycles_total, 1);
  /* save batches: at least the shutdown's, never more than the saves */
  ck_assert_uint_ge(mt.agent_save_duration_seconds.count, 1);
  ck_assert_uint_le(mt.agent_save_duration_seconds.count,
                    mt.agent_saves_total);
  ck_assert_double_eq_tol(mt.agent_lock_ttl_seconds, 0.6, 1e-9);
  ck_assert_double_eq_tol(mt.agent_refresh_interval_seconds, 0.15, 1e-9);
  ck_assert_int_eq(mt.agents_running, 0);
  ck_assert_int_eq(mt.agents_saved_on_shutdown, 3);

  /* the rendering shows the same numbers */
  char *text = NULL, line[128];
  ck_assert_int_eq(arec_metrics_render(&text, &mt), 0);
  snprintf(line, sizeof line, "agent_step_duration_seconds_count %llu\n",
           (unsigned long long)mt.agent_step_duration_seconds.count);
  ck_assert_ptr_nonnull(strstr(text, line));
  snprintf(line, sizeof line,
           "agent_step_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
           (unsigned long long)mt.agent_step_duration_seconds.count);
  ck_assert_ptr_nonnull(strstr(text, line));
  snprintf(line, sizeof line,
           "agent_step_duration_seconds_bucket{le=\"0.01\"} %llu\n",
           (unsigned long long)mt.agent_step_duration_seconds.bucket[3]);
  ck_assert_ptr_nonnull(strstr(text, line));
  arec_free(text);
  ck_assert_int_eq(arec_manager_metrics(NULL, &mt), AREC_EINVAL);
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

AREC_TEST_CASE_MAIN("core_metrics", "metrics", 20,
                    arec_test_run(s),
                    metrics_render_parses_with_promtool,
                    metrics_versions_and_histograms)
