/*
 * test_core_snapshot.c -- a list of the runners (arec_manager_runners) that
 * is slow to make never holds up the lock refresher or the validity watch:
 * while one list is stuck in its copies for three lock TTLs, the locks are
 * still refreshed every interval and no agent is lost.
 *
 * How: this binary defines strdup(), which the library's static archive
 * links to; while armed, the call that copies "agent-0" on the listing
 * thread blocks until the test releases it.  A list that made its copies
 * with the manager's mutex held would stop the refresher for those three
 * TTLs: the memory store's locks would run out (agent_lock_lost_total > 0
 * once it resumes).  The memory backends, no server.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"
#include "agentrecover/memory.h"
#include "support/runner.h"
#include "support/toy_agent.h"

#define NAGENTS 200
#define TTL_MS 1500
#define REFRESH_MS 500

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static atomic_int g_armed;
static pthread_t g_lister;
static int g_blocked, g_release;

/* The library's strdup in this binary: a copy, and the gate. */
char *strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p)
    memcpy(p, s, n);
  if (atomic_load(&g_armed) && pthread_equal(pthread_self(), g_lister) &&
      strcmp(s, "agent-0") == 0) {
    pthread_mutex_lock(&g_mu);
    g_blocked = 1;
    pthread_cond_broadcast(&g_cv);
    while (!g_release)
      pthread_cond_wait(&g_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
  }
  return p;
}

typedef struct lister {
  arec_manager *m;
  int rc;
  size_t n;
} lister;

static void *list_main(void *arg) {
  lister *l = arg;
  arec_runner_info *v = NULL;
  /* this thread's copies are the gated ones, from here on */
  g_lister = pthread_self();
  atomic_store(&g_armed, 1);
  l->rc = arec_manager_runners(l->m, &v, &l->n);
  arec_runner_info_free(v, l->n);
  return NULL;
}

START_TEST(slow_runner_list_does_not_hold_up_refreshes) {
  arec_memory_store *st;
  toy_ctl c;
  toy_ctl_init(&c, 1000);
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  toy_agents(st, "agent-", NAGENTS);
  toy_opts o = toy_quiet(TTL_MS, REFRESH_MS);
  arec_manager *m = toy_manager(st, "pod-a", &c, &o);
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(m, &r), 0);
  ck_assert_uint_eq(r.restored, NAGENTS);
  arec_metrics m0 = AREC_METRICS_INIT, m1 = AREC_METRICS_INIT;
  ck_assert_int_eq(arec_manager_metrics(m, &m0), 0);

  lister l = {m, -1, 0};
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, list_main, &l), 0);
  pthread_mutex_lock(&g_mu);
  while (!g_blocked)
    pthread_cond_wait(&g_cv, &g_mu);
  pthread_mutex_unlock(&g_mu);
  /* the list is stuck in its copies for three TTLs */
  toy_sleep_ms(3 * TTL_MS);
  pthread_mutex_lock(&g_mu);
  g_release = 1;
  atomic_store(&g_armed, 0);
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);
  pthread_join(th, NULL);
  ck_assert_int_eq(l.rc, 0);
  ck_assert_uint_eq(l.n, NAGENTS);

  ck_assert_int_eq(arec_manager_metrics(m, &m1), 0);
  ck_assert_int_eq(m1.agent_lock_lost_total, 0);
  ck_assert_int_eq(m1.agents_running, NAGENTS);
  /* refreshed all along: at least one cycle per interval but one or two
   * of the blocked time */
  ck_assert_uint_ge(m1.refresh_cycles_total - m0.refresh_cycles_total,
                    3 * TTL_MS / REFRESH_MS - 2);
  arec_manager_free(m);
  arec_memory_store_free(st);
}
END_TEST

AREC_TEST_CASE_MAIN("core_snapshot", "snapshot", 30,
                    arec_test_run(s),
                    slow_runner_list_does_not_hold_up_refreshes)
