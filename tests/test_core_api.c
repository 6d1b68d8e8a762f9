/*
 * test_core_api.c -- the manager's API surface: option validation (codes
 * and the field named in arec_error_last(), option structs of every
 * version), agent type registration and the type queries, the user's
 * start/stop (including stop from inside a step, a stop issued through
 * another pod, and every answer of start: refused, placement, backoff),
 * the restore log lines in text and JSON with typed fields, and the
 * version of the library.  (Metrics: test_core_metrics.c.)
 */
#include <regex.h>

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "agentrecover/sys/lock.h"
#include "agentrecover/sys/repository.h"
#include "support/harness.h"
#include "support/toy_agent.h"
#include "support/runner.h"

static toy_opts quiet(void) { return toy_quiet(600, 150); }

static void ctl_init(toy_ctl *c) { toy_ctl_init(c, 5); }

/* An agent without symbols. */
static void nosym_agent(arec_memory_store *st, const char *id) {
  arec_repository *repo = NULL;
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  ck_assert_int_eq(toy_create(repo, id, 0, "toy", id, NULL, NULL, NULL), 0);
  arec_repository_free(repo);
}

/* ------------------------------------------------------------ options */
static int try_new(arec_memory_store *st, arec_manager_options *o) {
  arec_repository *repo = NULL;
  arec_lock *lock = NULL;
  arec_manager *m = (arec_manager *)1;
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, st), 0);
  int rc = arec_manager_new(&m, o, repo, lock); /* owns repo/lock always */
  if (rc == 0)
    arec_manager_free(m);
  else
    ck_assert_ptr_null(m);
  return rc;
}

/* Options the manager accepts: pod-x, lock TTL 1000 ms (the refresh
 * interval defaults to 333 ms), errors only in the log. */
static arec_manager_options valid_options(void) {
  arec_manager_options o = AREC_MANAGER_OPTIONS_INIT;
  o.log_level = AREC_LOG_ERROR;
  o.pod_name = "pod-x";
  o.lock_ttl_ms = 1000;
  return o;
}

/* try_new answers rc and, when named is not NULL, arec_error_last() names
 * that field. */
static void refused(arec_memory_store *st, arec_manager_options *o, int rc,
                    const char *named) {
  ck_assert_int_eq(try_new(st, o), rc);
  if (named)
    ck_assert_msg(strstr(arec_error_last(), named) != NULL,
                  "error does not name %s: %s", named, arec_error_last());
}

#define MS_FIELD(f) offsetof(arec_manager_options, f)

/* An interval (int64_t field of valid options) set to a value refused with
 * AREC_EINVAL; named: the field the error names (NULL: not checked). */
static const struct {
  size_t field;
  int64_t value;
  const char *named;
} bad_intervals[] = {
    {MS_FIELD(lock_ttl_ms), -5, "lock_ttl_ms"},
    {MS_FIELD(refresh_interval_ms), 1000, "refresh_interval_ms"}, /* = TTL */
    {MS_FIELD(refresh_interval_ms), -1, NULL},
    {MS_FIELD(reconcile_interval_ms), -2, "reconcile_interval_ms"},
    {MS_FIELD(save_interval_ms), -1, "save_interval_ms"},
    {MS_FIELD(shutdown_timeout_ms), -1, "shutdown_timeout_ms"},
    {MS_FIELD(stop_check_interval_ms), -1, "stop_check_interval_ms"},
    {MS_FIELD(backoff_min_ms), -1, "backoff_min_ms"},
};

START_TEST(options_are_validated) {
  arec_memory_store *st = toy_store(NULL, 0);
  arec_manager_options o = valid_options();
  ck_assert_int_eq(try_new(st, &o), 0);
  ck_assert_int_eq(try_new(st, NULL), AREC_EINVAL);
  for (size_t i = 0; i < sizeof bad_intervals / sizeof *bad_intervals; i++) {
    o = valid_options();
    *(int64_t *)((char *)&o + bad_intervals[i].field) = bad_intervals[i].value;
    refused(st, &o, AREC_EINVAL, bad_intervals[i].named);
  }

  o = valid_options();
  o.pod_name = NULL;
  refused(st, &o, AREC_EINVAL, "pod_name");
  o.pod_name = "";
  refused(st, &o, AREC_EINVAL, NULL);
  o = valid_options();
  o.version = 99;
  refused(st, &o, AREC_EVERSION, NULL);
  o.version = 0;
  refused(st, &o, AREC_EVERSION, NULL);

  /* version 4 fields */
  o = valid_options();
  o.takeover = 2;
  refused(st, &o, AREC_EINVAL, "takeover");
  o.takeover = 1;
  o.backoff_min_ms = 2000;
  o.backoff_max_ms = 1000;
  refused(st, &o, AREC_EINVAL, "backoff_max_ms");
  o.backoff_max_ms = 0;
  ck_assert_int_eq(try_new(st, &o), 0); /* max defaults above min */
  o.capabilities = "gpu,\tbad";
  refused(st, &o, AREC_EINVAL, "capabilities");
  o.capabilities = " gpu , ,eu-west ";
  ck_assert_int_eq(try_new(st, &o), 0);
  /* older option structs: the version-4 fields are not read */
  o.takeover = 7;
  o.backoff_min_ms = -5;
  for (unsigned int v = 1; v <= 3; v++) {
    o.version = v;
    ck_assert_int_eq(try_new(st, &o), 0);
  }
  o = valid_options();

  /* a repository with a bad version or a missing slot */
  arec_repository *repo = NULL;
  arec_lock *lock = NULL;
  arec_manager *m = NULL;
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, st), 0);
  repo->version = 7;
  void (*rfree)(arec_repository *) = repo->free;
  /* the manager frees both even on failure: restore version for free() */
  ck_assert_int_eq(arec_manager_new(&m, &o, repo, lock), AREC_EVERSION);
  (void)rfree;
  ck_assert_ptr_null(m);
  /* version 1 repositories are no longer accepted (2 and 3 are) */
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, st), 0);
  repo->version = 1;
  ck_assert_int_eq(arec_manager_new(&m, &o, repo, lock), AREC_EVERSION);
  ck_assert_int_eq(arec_memory_repository_new(&repo, st), 0);
  ck_assert_int_eq(arec_memory_lock_new(&lock, st), 0);
  repo->version = 2;
  ck_assert_int_eq(arec_manager_new(&m, &o, repo, lock), 0);
  arec_manager_free(m);
  ck_assert_int_eq(arec_manager_new(&m, &o, NULL, NULL), AREC_EINVAL);
  arec_memory_store_free(st);
}
END_TEST

START_TEST(register_type_checks) {
  toy_ctl c;
  toy_opts o = quiet();
  ctl_init(&c);
  arec_memory_store *st = toy_store(NULL, 0);
  arec_manager *m = toy_manager(st, "pod-a", &c, &o);
  arec_agent_type t = toy_type("toy", &c); /* toy_manager registered it */
  ck_assert_int_eq(arec_manager_register_type(m, &t), AREC_EEXIST);
  t.name = "other";
  t.version = 2;
  ck_assert_int_eq(arec_manager_register_type(m, &t), AREC_EVERSION);
  t.version = AREC_AGENT_TYPE_VERSION;
  t.step = NULL;
  ck_assert_int_eq(arec_manager_register_type(m, &t), AREC_EINVAL);
  ck_assert_uint_eq(strlen(arec_manager_incarnation(m)), 32);
  ck_assert_str_eq(arec_manager_pod(m), "pod-a");

  /* the type queries: sorted names, has_type */
  t = toy_type("alpha", &c);
  ck_assert_int_eq(arec_manager_register_type(m, &t), 0);
  char **names = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_manager_type_names(m, &names, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(names[0], "alpha");
  ck_assert_str_eq(names[1], "toy");
  arec_strings_free(names, n);
  ck_assert_int_eq(arec_manager_type_names(m, NULL, &n), AREC_EINVAL);
  ck_assert_int_eq(arec_manager_has_type(m, "toy"), 1);
  ck_assert_int_eq(arec_manager_has_type(m, "other"), 0);
  ck_assert_int_eq(arec_manager_has_type(m, NULL), 0);
  ck_assert_ptr_nonnull(arec_manager_repository(m));
  ck_assert_ptr_null(arec_manager_repository(NULL));
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

/* -------------------------------------------------------- start / stop */
START_TEST(start_and_stop_agent) {
  toy_ctl ca, cb;
  toy_opts o = quiet();
  ctl_init(&ca);
  ctl_init(&cb);
  arec_memory_store *st = toy_store(NULL, 0);
  toy_agent(st, "u1", "toy", NULL, 0);
  nosym_agent(st, "nosym");
  toy_agent(st, "weird", "nope", NULL, 0);
  arec_manager *A = toy_manager(st, "pod-a", &ca, &o);
  arec_manager *B = toy_manager(st, "pod-b", &cb, &o);

  ck_assert_int_eq(arec_manager_start_agent(A, "missing"), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_manager_start_agent(A, "nosym"), AREC_ECONFLICT);
  ck_assert_int_eq(arec_manager_start_agent(A, "bad id!"), AREC_EINVAL);
  /* no type here: refused before the wish is written */
  ck_assert_int_eq(arec_manager_start_agent(A, "weird"), AREC_EREFUSED);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "no agent type \"nope\""));
  ck_assert_int_eq(agent_row(st, "weird").is_trading, 0);
  ck_assert_str_eq(agent_row(st, "weird").running_on, "");
  ck_assert_uint_eq(agent_row(st, "weird").fence, 0);
  ck_assert(lock_free_p(st, "weird"));

  ck_assert_int_eq(arec_manager_start_agent(A, "u1"), 0);
  ck_assert_int_eq(agent_row(st, "u1").is_trading, 1);
  ck_assert(toy_has_runner(A, "u1"));
  ck_assert_int_eq(arec_manager_start_agent(A, "u1"), 0); /* already here */
  ck_assert_int_eq(atomic_load(&ca.starts), 1);
  ck_assert_int_eq(arec_manager_start_agent(B, "u1"), AREC_ELOCKED);
  ck_assert(!toy_has_runner(B, "u1"));

  /* stop through the other pod: A stops it at its next pass (USER) */
  ck_assert_int_eq(arec_manager_stop_agent(B, "u1"), 0);
  ck_assert_int_eq(agent_row(st, "u1").is_trading, 0);
  ck_assert(toy_has_runner(A, "u1"));
  ck_assert_int_eq(arec_manager_reconcile(A, NULL), 0);
  WAIT_UNTIL(atomic_load(&ca.stops[AREC_STOP_USER]) == 1, 2000);
  ck_assert_int_eq(atomic_load(&ca.stops[AREC_STOP_USER]), 1);
  WAIT_UNTIL(agent_row(st, "u1").running_on[0] == '\0', 2000);
  ck_assert_str_eq(agent_row(st, "u1").running_on, "");
  WAIT_UNTIL(lock_free_p(st, "u1"), 2000);
  ck_assert(lock_free_p(st, "u1"));

  /* lock service down: the wish is recorded, start says unavailable */
  arec_memory_fail(st, AREC_MEMORY_ACQUIRE, 1, AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_manager_start_agent(B, "u1"), AREC_EUNAVAILABLE);
  ck_assert_int_eq(agent_row(st, "u1").is_trading, 1);
  ck_assert(!toy_has_runner(B, "u1"));
  /* ... and it starts when the lock service returns */
  ck_assert_int_eq(arec_manager_restore(B, NULL), 0);
  ck_assert(toy_has_runner(B, "u1"));

  /* stop from inside a step */
  cb.mgr = B;
  atomic_store(&cb.stop_self, 1);
  WAIT_UNTIL(atomic_load(&cb.stops[AREC_STOP_USER]) == 1, 2000);
  ck_assert_int_eq(atomic_load(&cb.stops[AREC_STOP_USER]), 1);
  WAIT_UNTIL(toy_nrunners(B) == 0, 2000);
  ck_assert_uint_eq(toy_nrunners(B), 0);
  ck_assert_int_eq(agent_row(st, "u1").is_trading, 0);
  ck_assert_int_eq(arec_manager_stop_agent(B, "missing"), AREC_ENOTFOUND);

  arec_manager_free(A);
  arec_manager_free(B);
  arec_memory_store_free(st);
}
END_TEST

/* a repository down at restore: EUNAVAILABLE, and the loop retries */
START_TEST(restore_with_repository_down_retries) {
  toy_ctl c;
  toy_opts o = quiet();
  arec_restore_result r;
  ctl_init(&c);
  o.reconcile = 100;
  arec_memory_store *st = toy_store("d", 2);
  arec_manager *m = toy_manager(st, "pod-a", &c, &o);
  arec_memory_fail(st, AREC_MEMORY_REPOSITORY, 1, AREC_EUNAVAILABLE);
  ck_assert_int_eq(arec_manager_restore(m, &r), AREC_EUNAVAILABLE);
  ck_assert_uint_eq(toy_nrunners(m), 0);
  WAIT_UNTIL(toy_nrunners(m) == 2, 3000);
  ck_assert_uint_eq(toy_nrunners(m), 2);
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

/* ----------------------------------------------------------------- logs */
static int matches(const char *re, const char *s) {
  regex_t rx;
  ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
  int ok = regexec(&rx, s, 0, NULL, 0) == 0;
  regfree(&rx);
  return ok;
}

START_TEST(log_format_text_and_json) {
  char buf[512];
  arec_log_field f[3] = {{"agent_id", "abc123", AREC_LOG_STRING},
                         {"symbol", "BTC/USDT", AREC_LOG_STRING},
                         {"note", "two words", AREC_LOG_STRING}};
  size_t n = arec_log_format(buf, sizeof buf, 0, AREC_LOG_INFO,
                             "✅ agent restored successfully", f, 2);
  ck_assert_uint_eq(n, strlen(buf));
  ck_assert(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                    "\\.[0-9]{3}Z INFO ✅ agent restored successfully "
                    "agent_id=abc123 symbol=BTC/USDT\n$",
                    buf));
  arec_log_field q[3] = {{"a", "two words", AREC_LOG_STRING},
                         {"b", "x=y", AREC_LOG_STRING},
                         {"c", "say \"hi\"", AREC_LOG_STRING}};
  arec_log_format(buf, sizeof buf, 0, AREC_LOG_WARN, "m", q, 3);
  ck_assert_ptr_nonnull(
      strstr(buf, " WARN m a=\"two words\" b=\"x=y\" c=\"say \\\"hi\\\"\"\n"));
  (void)f[2];
  arec_log_format(buf, sizeof buf, 1, AREC_LOG_ERROR, "a \"q\"\n", f, 1);
  ck_assert(matches("^\\{\"time\":\"[0-9T:.-]+Z\",\"level\":\"ERROR\","
                    "\"msg\":\"a \\\\\"q\\\\\"\\\\n\",\"agent_id\":\"abc123\"\\}\n$",
                    buf));
  /* typed fields: numbers bare when they are JSON numbers, booleans true /
   * false; the text format is unchanged by types */
  arec_log_field t[8] = {{"count", "3", AREC_LOG_NUMBER},
                         {"ratio", "-0.25e3", AREC_LOG_NUMBER},
                         {"bad", "12abc", AREC_LOG_NUMBER},
                         {"lead", "007", AREC_LOG_NUMBER},
                         {"on", "true", AREC_LOG_BOOL},
                         {"one", "1", AREC_LOG_BOOL},
                         {"off", "no", AREC_LOG_BOOL},
                         {"s", "3", AREC_LOG_STRING}};
  arec_log_format(buf, sizeof buf, 1, AREC_LOG_INFO, "typed", t, 8);
  ck_assert_msg(strstr(buf, "\"count\":3,\"ratio\":-0.25e3,\"bad\":\"12abc\","
                            "\"lead\":\"007\",\"on\":true,\"one\":true,"
                            "\"off\":false,\"s\":\"3\"}\n") != NULL,
                "%s", buf);
  arec_log_format(buf, sizeof buf, 0, AREC_LOG_INFO, "typed", t, 8);
  ck_assert_msg(strstr(buf, " INFO typed count=3 ratio=-0.25e3 bad=12abc "
                            "lead=007 on=true one=1 off=no s=3\n") != NULL,
                "%s", buf);

  /* truncation behaves like snprintf */
  char small[10];
  n = arec_log_format(small, sizeof small, 0, AREC_LOG_INFO, "hello", NULL, 0);
  ck_assert_uint_gt(n, sizeof small);
  ck_assert_uint_eq(strlen(small), sizeof small - 1);
  ck_assert_uint_gt(arec_log_format(NULL, 0, 0, AREC_LOG_INFO, "x", NULL, 0),
                    0);

  arec_log_level l;
  ck_assert_int_eq(arec_log_level_parse(&l, "WARN"), 0);
  ck_assert_int_eq(l, AREC_LOG_WARN);
  ck_assert_int_eq(arec_log_level_parse(&l, "debug"), 0);
  ck_assert_int_eq(l, AREC_LOG_DEBUG);
  ck_assert_int_eq(arec_log_level_parse(&l, "loud"), AREC_EINVAL);
  ck_assert_str_eq(arec_log_level_name(AREC_LOG_ERROR), "ERROR");
}
END_TEST

START_TEST(restore_log_lines_are_exact) {
  arec_memory_store *st;
  toy_ctl c;
  logcap lc;
  toy_opts o = quiet();
  ctl_init(&c);
  logcap_init(&lc);
  o.log = &lc;
  o.level = AREC_LOG_INFO;
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  toy_agents(st, "abc", 4);
  toy_assign(st, "abc0", "ETH/USDT", 10);
  ck_assert_int_eq(
      arec_memory_lock_force(st, "agent:lock:abc3", "pod-z/00", 60000), 0);
  arec_manager *m = toy_manager(st, "pod-a", &c, &o);
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(m, &r), 0);
  const char *want[] = {
      " INFO 🔄 restoring running agents from database...\n",
      " INFO found agents to restore count=4\n",
      " INFO ✅ agent restored successfully agent_id=abc0 symbol=BTC/USDT "
      "after=handover\n",
      " INFO ✅ agent restored successfully agent_id=abc0 symbol=ETH/USDT "
      "after=handover\n",
      " INFO ✅ agent restored successfully agent_id=abc1 symbol=BTC/USDT "
      "after=handover\n",
      " INFO agent already running in another pod (lock held), skipping "
      "agent_id=abc3\n",
      " INFO 🎯 agent restoration complete total=4 restored=3 skipped=1 "
      "failed=0\n"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    ck_assert_msg(logcap_has(&lc, want[i]), "missing line: %s", want[i]);
  /* later passes do not repeat the banner */
  pthread_mutex_lock(&lc.mu);
  lc.len = 0;
  lc.buf[0] = '\0';
  pthread_mutex_unlock(&lc.mu);
  ck_assert_int_eq(arec_manager_reconcile(m, &r), 0);
  ck_assert(!logcap_has(&lc, "restoring running agents"));
  arec_manager_free(m);

  /* as JSON, the counts are numbers */
  arec_memory_store_free(st);
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  logcap_clear(&lc);
  lc.json = 1;
  toy_agents(st, "j", 2);
  m = toy_manager(st, "pod-b", &c, &o);
  ck_assert_int_eq(arec_manager_restore(m, &r), 0);
  ck_assert(logcap_has(&lc, "\"msg\":\"found agents to restore\",\"count\":2}"));
  ck_assert(logcap_has(&lc, "\"total\":2,\"restored\":2,\"skipped\":0,"
                            "\"failed\":0}"));
  ck_assert(logcap_has(&lc, "\"agent_id\":\"j0\",\"symbol\":\"BTC/USDT\","
                            "\"after\":\"handover\"}"));
  arec_manager_free(m);
  arec_memory_store_free(st);
  logcap_free(&lc);
}
END_TEST

START_TEST(version_of_the_library) {
  ck_assert_str_eq(arec_version(), "0.2.0");
  ck_assert_int_eq(arec_version_number(), 200);
  ck_assert_int_eq(AREC_VERSION_NUMBER, 200);
  ck_assert_int_eq(AREC_ABI_VERSION, 1);
}
END_TEST

START_TEST(errors_and_names) {
  ck_assert_str_eq(arec_strerror(AREC_EFENCED),
                   "fenced: this runner is no longer the owner");
  ck_assert_str_eq(arec_err_name(AREC_ELOCKED), "ELOCKED");
  ck_assert_str_eq(arec_err_name(AREC_EREFUSED), "EREFUSED");
  ck_assert_str_eq(arec_err_name(AREC_EPLACEMENT), "EPLACEMENT");
  ck_assert_str_eq(arec_strerror(-17), "unknown error");
  ck_assert_str_eq(arec_stop_reason_name(AREC_STOP_HANDOVER), "handover");
  arec_snapshot *none = NULL;
  ck_assert_int_eq(arec_snapshot_put(none, "X", 1, NULL), AREC_EINVAL);
  arec_manager_free(NULL);
  ck_assert_int_eq(arec_manager_shutdown(NULL, 0), AREC_EINVAL);
}
END_TEST

AREC_TEST_CASE_MAIN("core_api", "api", 20,
                    arec_test_run(s),
                    options_are_validated, register_type_checks,
                    start_and_stop_agent, restore_with_repository_down_retries,
                    log_format_text_and_json, restore_log_lines_are_exact,
                    errors_and_names, version_of_the_library)
