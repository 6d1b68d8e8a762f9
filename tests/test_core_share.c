/*
 * test_core_share.c -- fair sharing and migration across pods with
 * memory-backed managers: 300 agents started through one pod
 * end up exactly 100 on each of 3 pods within 3 reconcile passes; a 4th pod
 * joins -> 75 each; a pod that leaves hands its agents to the others; during
 * all of it no agent is without a runner for longer than reconcile + 1 s and
 * none runs on two pods at once; POST-like migrations hand one agent to a
 * named pod, fenced by a hold the other pods respect; a pass whose
 * candidates other pods hold in part still fills its share, and one that
 * falls short comes again soon.
 */
#include <check.h>
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

#define NAGENTS 300

/* A toy manager; fair sharing on unless pod_ttl > 0 (then pod leases with
 * 30 s agent locks instead). */
static arec_manager *make_manager(arec_memory_store *st, const char *pod,
                                  toy_ctl *ctl, int64_t reconcile,
                                  int64_t pod_ttl, const char *caps) {
  arec_manager_options o = AREC_MANAGER_OPTIONS_INIT;
  o.pod_name = pod;
  o.lock_ttl_ms = 3000;
  o.refresh_interval_ms = 500;
  o.reconcile_interval_ms = reconcile;
  o.save_interval_ms = 200;
  o.shutdown_timeout_ms = 3000;
  o.workers = 4;
  o.log = toy_log_null;
  o.fair_share = pod_ttl > 0 ? 0 : 1;
  o.capabilities = caps;
  if (pod_ttl > 0) {
    o.pod_lease_ttl_ms = pod_ttl;
    o.lock_ttl_ms = 30000;
    o.refresh_interval_ms = 10000;
  }
  arec_manager *mgr = toy_manager_on(st, &o);
  arec_agent_type type = toy_type("toy", ctl);
  ck_assert_int_eq(arec_manager_register_type(mgr, &type), 0);
  return mgr;
}

static arec_manager *fair_manager(arec_memory_store *st, const char *pod,
                                  toy_ctl *ctl, int64_t reconcile) {
  return make_manager(st, pod, ctl, reconcile, 0, NULL);
}

static void ctl_init(toy_ctl *c) { toy_ctl_init(c, 20); }

/* A store and the fair managers of pod-a, pod-b and pod-c on it, reconcile
 * passes run by hand, each restored once (nothing to restore yet). */
static const char *const PODS[3] = {"pod-a", "pod-b", "pod-c"};

static arec_memory_store *three_pods(toy_ctl c[3], arec_manager *m[3]) {
  arec_memory_store *st = toy_store(NULL, 0);
  for (int i = 0; i < 3; i++) {
    ctl_init(&c[i]);
    m[i] = fair_manager(st, PODS[i], &c[i], 0);
    ck_assert_int_eq(arec_manager_restore(m[i], NULL), 0);
  }
  return st;
}

/* Agents b0..b<n-1> with one symbol; wanted when `trading`. */
static void make_agents(arec_memory_store *st, int n, int trading) {
  if (trading) {
    toy_agents(st, "b", n);
    return;
  }
  for (int i = 0; i < n; i++) {
    char id[16];
    snprintf(id, sizeof id, "b%d", i);
    toy_agent(st, id, "toy", NULL, 0);
  }
}

/* A store with 4 wanted agents, and the controls of two pods' toys. */
static arec_memory_store *two_pods_four_agents(toy_ctl *ca, toy_ctl *cb) {
  arec_memory_store *st;
  ctl_init(ca);
  ctl_init(cb);
  ck_assert_int_eq(arec_memory_store_new(&st), 0);
  make_agents(st, 4, 1);
  return st;
}

static int64_t running(arec_manager *m) {
  arec_metrics mt = toy_metrics(m);
  return mt.agents_running;
}

/* ------------------------------------------------------------------ tests */
START_TEST(three_pods_split_300_exactly_within_3_passes) {
  toy_ctl c[3];
  arec_manager *m[3];
  arec_memory_store *st = three_pods(c, m);
  make_agents(st, NAGENTS, 0);
  /* every agent started through pod-a: user starts always run here */
  for (int i = 0; i < NAGENTS; i++) {
    char id[16];
    snprintf(id, sizeof id, "b%d", i);
    ck_assert_int_eq(arec_manager_start_agent(m[0], id), 0);
  }
  ck_assert_int_eq(running(m[0]), NAGENTS);

  int pass = 0, done = 0;
  for (pass = 1; pass <= 3 && !done; pass++) {
    for (int i = 0; i < 3; i++) {
      ck_assert_int_eq(arec_manager_reconcile(m[i], NULL), 0);
      /* hand-offs finish on the workers: wait until they are released */
      WAIT_UNTIL((size_t)running(m[i]) == toy_nrunners(m[i]), 3000);
    }
    done = 1;
    for (int i = 0; i < 3; i++)
      if (running(m[i]) != NAGENTS / 3)
        done = 0;
  }
  ck_assert_msg(done, "not 100/100/100 after 3 passes: %lld/%lld/%lld",
                (long long)running(m[0]), (long long)running(m[1]),
                (long long)running(m[2]));
  fprintf(stderr, "share: 300 agents split 100/100/100 after %d pass(es)\n",
          pass - 1);
  /* each agent on exactly one pod, and its row names that pod */
  for (int i = 0; i < NAGENTS; i++) {
    char id[16];
    snprintf(id, sizeof id, "b%d", i);
    int owners = 0;
    for (int k = 0; k < 3; k++)
      if (toy_has_runner(m[k], id)) {
        owners++;
        ck_assert_str_eq(agent_row(st, id).running_on, PODS[k]);
      }
    ck_assert_int_eq(owners, 1);
  }
  ck_assert_int_eq(atomic_load(&c[0].stops[AREC_STOP_HANDOVER]), 200);
  /* the auto-scaling signal */
  arec_metrics mt = toy_metrics(m[1]);
  ck_assert_int_eq(mt.agents_wanted, NAGENTS);
  ck_assert_int_eq(mt.pods_live, 3);
  ck_assert_int_eq(mt.agents_target, 100);
  char *txt = NULL;
  ck_assert_int_eq(arec_metrics_render(&txt, &mt), 0);
  ck_assert_ptr_nonnull(strstr(txt, "\nagents_wanted 300\n"));
  ck_assert_ptr_nonnull(strstr(txt, "# TYPE agents_wanted gauge"));
  arec_free(txt);
  /* a further pass moves nothing */
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(arec_manager_reconcile(m[i], NULL), 0);
  ck_assert_int_eq(atomic_load(&c[0].stops[AREC_STOP_HANDOVER]), 200);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(running(m[i]), 100);
  for (int i = 0; i < 3; i++)
    arec_manager_free(m[i]);
  arec_memory_store_free(st);
}
END_TEST

/* ------------------------------------------------- sampler of the fleet */
typedef struct fleet {
  pthread_mutex_t mu;
  arec_manager *m[4];
  int stop;
  int64_t last_seen[NAGENTS]; /* ms; 0 before the first sighting */
  int64_t max_gap;
  int max_gap_agent;
  int doubles; /* samples with an agent on two pods */
} fleet;

static void *sampler(void *arg) {
  fleet *f = arg;
  int seen[NAGENTS];
  for (;;) {
    pthread_mutex_lock(&f->mu);
    if (f->stop) {
      pthread_mutex_unlock(&f->mu);
      break;
    }
    memset(seen, 0, sizeof seen);
    for (int k = 0; k < 4; k++) {
      if (!f->m[k])
        continue;
      arec_runner_info *v = NULL;
      size_t n = 0;
      if (arec_manager_runners(f->m[k], &v, &n) != 0)
        continue;
      for (size_t i = 0; i < n; i++) {
        int a = atoi(v[i].agent_id + 1);
        if (a >= 0 && a < NAGENTS)
          seen[a]++;
      }
      arec_runner_info_free(v, n);
    }
    int64_t now = arec_test_now_ms();
    for (int a = 0; a < NAGENTS; a++) {
      if (seen[a] > 1)
        f->doubles++;
      if (!seen[a])
        continue;
      if (f->last_seen[a] && now - f->last_seen[a] > f->max_gap) {
        f->max_gap = now - f->last_seen[a];
        f->max_gap_agent = a;
      }
      f->last_seen[a] = now;
    }
    pthread_mutex_unlock(&f->mu);
    toy_sleep_ms(10);
  }
  return NULL;
}

static int split_is(fleet *f, int n, int64_t want) {
  for (int k = 0; k < n; k++)
    if (running(f->m[k]) != want)
      return 0;
  return 1;
}

#define RECONCILE_MS 150

START_TEST(fourth_pod_joins_then_leaves_without_gaps) {
  static toy_ctl c[4];
  static fleet f;
  const char *names[4] = {"pod-a", "pod-b", "pod-c", "pod-d"};
  memset(&f, 0, sizeof f);
  pthread_mutex_init(&f.mu, NULL);
  arec_memory_store *st = toy_store(NULL, 0);
  make_agents(st, NAGENTS, 1);
  arec_manager *m[4];
  for (int i = 0; i < 3; i++) {
    ctl_init(&c[i]);
    m[i] = fair_manager(st, names[i], &c[i], RECONCILE_MS);
  }
  /* every pod's row exists before the first restore: 100 each at once */
  for (int i = 0; i < 3; i++) {
    arec_restore_result r;
    ck_assert_int_eq(arec_manager_restore(m[i], &r), 0);
    ck_assert_uint_eq(r.restored, 100);
  }
  pthread_mutex_lock(&f.mu);
  for (int i = 0; i < 3; i++)
    f.m[i] = m[i];
  pthread_mutex_unlock(&f.mu);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, sampler, &f), 0);
  toy_sleep_ms(100);

  /* a 4th pod joins: 75 each */
  ctl_init(&c[3]);
  m[3] = fair_manager(st, names[3], &c[3], RECONCILE_MS);
  ck_assert_int_eq(arec_manager_restore(m[3], NULL), 0);
  pthread_mutex_lock(&f.mu);
  f.m[3] = m[3];
  pthread_mutex_unlock(&f.mu);
  long long t0 = arec_test_now_ms();
  WAIT_UNTIL(split_is(&f, 4, 75), 8000);
  ck_assert_msg(split_is(&f, 4, 75), "not 75 each: %lld/%lld/%lld/%lld",
                (long long)running(m[0]), (long long)running(m[1]),
                (long long)running(m[2]), (long long)running(m[3]));
  fprintf(stderr, "share: 4th pod filled to 75 each in %lld ms\n",
          arec_test_now_ms() - t0);
  toy_sleep_ms(3 * RECONCILE_MS); /* stays put */
  ck_assert(split_is(&f, 4, 75));

  /* the 4th pod leaves: its agents go to the others, 100 each */
  t0 = arec_test_now_ms();
  pthread_mutex_lock(&f.mu);
  f.m[3] = NULL;
  pthread_mutex_unlock(&f.mu);
  ck_assert_int_eq(arec_manager_shutdown(m[3], 3000), 0);
  ck_assert_int_eq(atomic_load(&c[3].stops[AREC_STOP_HANDOVER]), 75);
  WAIT_UNTIL(split_is(&f, 3, 100), RECONCILE_MS + 1000);
  ck_assert_msg(split_is(&f, 3, 100), "not 100 each after the leave");
  fprintf(stderr, "share: a leaving pod's agents taken over in %lld ms\n",
          arec_test_now_ms() - t0);
  toy_sleep_ms(50);

  pthread_mutex_lock(&f.mu);
  f.stop = 1;
  pthread_mutex_unlock(&f.mu);
  pthread_join(th, NULL);
  fprintf(stderr, "share: longest gap without a runner %lld ms (agent b%d)\n",
          (long long)f.max_gap, f.max_gap_agent);
  ck_assert_int_eq(f.doubles, 0);
  ck_assert_msg(f.max_gap <= RECONCILE_MS + 1000,
                "agent b%d had no runner for %lld ms", f.max_gap_agent,
                (long long)f.max_gap);
  for (int a = 0; a < NAGENTS; a++)
    ck_assert_int_gt(f.last_seen[a], 0);
  for (int i = 0; i < 4; i++)
    arec_manager_free(m[i]);
  arec_memory_store_free(st);
  pthread_mutex_destroy(&f.mu);
}
END_TEST

START_TEST(migrate_hands_one_agent_to_a_named_pod) {
  toy_ctl ca, cb;
  arec_memory_store *st = two_pods_four_agents(&ca, &cb);
  arec_manager *A = fair_manager(st, "pod-a", &ca, 0);
  arec_manager *B = fair_manager(st, "pod-b", &cb, 0);
  ck_assert_int_eq(arec_manager_restore(A, NULL), 0);
  ck_assert_int_eq(arec_manager_restore(B, NULL), 0);
  ck_assert_int_eq(running(A), 2);
  ck_assert_int_eq(running(B), 2);
  const char *moved = NULL;
  char ids[4][16];
  for (int i = 0; i < 4; i++) {
    snprintf(ids[i], sizeof ids[i], "b%d", i);
    if (!moved && toy_has_runner(A, ids[i]))
      moved = ids[i];
  }
  ck_assert_ptr_nonnull(moved);

  /* bad requests change nothing */
  ck_assert_int_eq(arec_manager_migrate_agent(B, "nope", "pod-a"),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_manager_migrate_agent(B, moved, "pod-zz"),
                   AREC_ECONFLICT);
  ck_assert_int_eq(arec_manager_migrate_agent(B, moved, ""), AREC_EINVAL);
  ck_assert_int_eq(arec_manager_migrate_agent(B, moved, "pod-a"), 0);
  ck_assert(toy_has_runner(A, moved)); /* already there: no hand-off */

  /* asked through pod-b: pod-a hands it off at its next pass */
  uint64_t fence0 = agent_row(st, moved).fence;
  ck_assert_int_eq(arec_manager_migrate_agent(B, moved, "pod-b"), 0);
  ck_assert(toy_has_runner(A, moved));
  ck_assert_int_eq(arec_manager_reconcile(A, NULL), 0);
  WAIT_UNTIL(running(A) == 1, 3000);
  ck_assert_int_eq(running(A), 1);
  ck_assert_int_eq(atomic_load(&ca.stops[AREC_STOP_HANDOVER]), 1);
  /* while the hold lasts pod-a may not take it back */
  ck_assert_int_eq(arec_manager_reconcile(A, NULL), 0);
  ck_assert(!toy_has_runner(A, moved));
  ck_assert_int_eq(arec_manager_start_agent(A, moved), AREC_ELOCKED);
  ck_assert(!toy_has_runner(A, moved));
  /* pod-b takes it (over its target), then sheds its oldest other agent */
  ck_assert_int_eq(arec_manager_reconcile(B, NULL), 0);
  ck_assert(toy_has_runner(B, moved));
  toy_row row = agent_row(st, moved);
  ck_assert_str_eq(row.running_on, "pod-b");
  ck_assert_uint_gt(row.fence, fence0 + 1); /* released, then claimed */
  WAIT_UNTIL(running(B) == 2, 3000);
  ck_assert(toy_has_runner(B, moved));
  ck_assert_int_eq(arec_manager_reconcile(A, NULL), 0);
  ck_assert_int_eq(running(A), 2);
  ck_assert_int_eq(running(B), 2);
  ck_assert(toy_has_runner(B, moved));

  /* asked through the owner itself: handed off at once */
  ck_assert_int_eq(arec_manager_migrate_agent(B, moved, "pod-a"), 0);
  WAIT_UNTIL(!toy_has_runner(B, moved) && running(B) == 1, 3000);
  ck_assert_int_eq(arec_manager_reconcile(A, NULL), 0);
  ck_assert(toy_has_runner(A, moved));

  /* a leaving pod is no target */
  ck_assert_int_eq(arec_manager_shutdown(B, 3000), 0);
  ck_assert_int_eq(arec_manager_migrate_agent(A, moved, "pod-b"),
                   AREC_ECONFLICT);
  arec_manager_free(A);
  arec_manager_free(B);
  arec_memory_store_free(st);
}
END_TEST

/* Fair sharing counts every pod, but only some can run an agent that
 * requires a capability: a capable pod takes such agents whatever its
 * target and never hands them off, so none is left waiting in a fleet that
 * mixes capable and other pods. */
START_TEST(capable_pod_takes_required_agents_beyond_its_share) {
  toy_ctl ca, cb;
  arec_restore_result r;
  ctl_init(&ca);
  ctl_init(&cb);
  arec_memory_store *st = toy_store("b", 2);
  for (int i = 0; i < 4; i++) {
    char id[16];
    snprintf(id, sizeof id, "live%d", i);
    toy_agent(st, id, "toy", "live", 1);
  }
  arec_manager *A = make_manager(st, "pod-a", &ca, 0, 0, NULL);
  arec_manager *B = make_manager(st, "pod-b", &cb, 0, 0, "live");
  /* both pods live before the passes: the target is ceil(6 / 2) = 3 */
  ck_assert_int_eq(arec_manager_reconcile(A, &r), 0);
  for (int pass = 0; pass < 3; pass++) {
    ck_assert_int_eq(arec_manager_reconcile(B, &r), 0);
    ck_assert_int_eq(arec_manager_reconcile(A, &r), 0);
  }
  for (int i = 0; i < 4; i++) {
    char id[16];
    snprintf(id, sizeof id, "live%d", i);
    ck_assert_msg(toy_has_runner(B, id), "%s not running on the capable pod",
                  id);
  }
  ck_assert_int_eq(running(A) + running(B), 6);
  ck_assert_int_eq(running(B), 4);
  arec_manager_free(A);
  arec_manager_free(B);
  arec_memory_store_free(st);
}
END_TEST

START_TEST(fair_share_is_off_by_default) {
  toy_ctl ca, cb;
  toy_opts o;
  ctl_init(&ca);
  ctl_init(&cb);
  memset(&o, 0, sizeof o);
  arec_memory_store *st = toy_store(NULL, 0);
  make_agents(st, 6, 1);
  /* without the option the first pod still takes everything */
  arec_manager *A = toy_manager(st, "pod-a", &ca, &o);
  arec_manager *B = toy_manager(st, "pod-b", &cb, &o);
  arec_restore_result r;
  ck_assert_int_eq(arec_manager_restore(A, &r), 0);
  ck_assert_uint_eq(r.restored, 6);
  ck_assert_int_eq(arec_manager_reconcile(A, NULL), 0);
  ck_assert_int_eq(running(A), 6);
  arec_metrics mt = toy_metrics(A);
  ck_assert_int_eq(mt.agents_wanted, 6); /* the signal is there anyway */
  ck_assert_int_eq(mt.pods_live, 2);
  arec_manager_free(A);
  arec_manager_free(B);
  arec_memory_store_free(st);
}
END_TEST


/* Pod leases on the memory lock: a kill -9 (abandon) with 30 s agent locks
 * fails over within pod lease TTL + reconcile + 1 s, because the
 * dead holder's pod lease key is gone; a live holder keeps its locks. */
START_TEST(memory_pod_lease_fails_over_before_agent_ttl) {
  toy_ctl ca, cb;
  arec_memory_store *st = two_pods_four_agents(&ca, &cb);
  arec_manager *A = make_manager(st, "pod-a", &ca, 100, 300, NULL);
  ck_assert_int_eq(arec_manager_restore(A, NULL), 0);
  ck_assert_int_eq(running(A), 4);
  arec_manager *B = make_manager(st, "pod-b", &cb, 100, 300, NULL);
  ck_assert_int_eq(arec_manager_restore(B, NULL), 0);
  toy_sleep_ms(600); /* two pod lease TTLs: A renews, B takes nothing */
  ck_assert_int_eq(running(B), 0);
  ck_assert_int_eq(running(A), 4);
  char buf[200];
  int64_t ttl = 0;
  ck_assert_int_eq(arec_memory_lock_peek(st, "agent:lock:b0", buf, sizeof buf,
                                         &ttl),
                   0);
  ck_assert_ptr_nonnull(strstr(buf, arec_manager_incarnation(A)));
  ck_assert_int_gt(ttl, 20000);

  long long t0 = arec_test_now_ms();
  arec_manager_abandon(A);
  WAIT_UNTIL(running(B) == 4, 300 + 100 + 1000 + 500);
  long long took = arec_test_now_ms() - t0;
  fprintf(stderr, "pod lease (memory): kill -9 failover took %lld ms "
                  "(30 s agent TTL, 300 ms pod lease)\n", took);
  ck_assert_int_eq(running(B), 4);
  ck_assert_int_le(took, 300 + 100 + 1000);
  arec_manager_free(A);
  arec_manager_free(B);
  arec_memory_store_free(st);
}
END_TEST

/* Three live pods, 300 agents, every even one locked by a pod that is not
 * one of them (racing pods hold some of each pod's candidates): one pass
 * still takes its whole share (100) from the free ones, going on down its
 * list past the held ones. */
START_TEST(a_pass_fills_its_share_past_agents_held_elsewhere) {
  toy_ctl c[3];
  arec_manager *m[3];
  arec_restore_result rr;
  arec_memory_store *st = three_pods(c, m);
  make_agents(st, NAGENTS, 1);
  for (int i = 0; i < NAGENTS; i += 2) {
    char key[32];
    snprintf(key, sizeof key, "agent:lock:b%d", i);
    ck_assert_int_eq(arec_memory_lock_force(st, key, "pod-x/racing", 60000), 0);
  }
  ck_assert_int_eq(arec_manager_reconcile(m[1], &rr), 0);
  ck_assert_uint_eq(rr.restored, NAGENTS / 3);
  ck_assert_int_eq(running(m[1]), NAGENTS / 3);
  for (int i = 0; i < 3; i++)
    arec_manager_free(m[i]);
  arec_memory_store_free(st);
}
END_TEST

/* A pass that falls short of its share while other pods hold some of its
 * candidates (at a cold start, votes split between racing pods leave keys
 * nobody got) asks for the next pass soon: once the held locks are gone,
 * the pod has its share long before the reconcile interval (5 s) ends. */
START_TEST(a_pass_short_of_its_share_comes_again_soon) {
  toy_ctl c[3];
  arec_manager *m[3];
  arec_restore_result rr;
  arec_memory_store *st = toy_store(NULL, 0);
  ctl_init(&c[0]);
  ctl_init(&c[2]);
  m[0] = fair_manager(st, "pod-a", &c[0], 0);
  m[2] = fair_manager(st, "pod-c", &c[2], 0);
  ck_assert_int_eq(arec_manager_restore(m[0], NULL), 0);
  ck_assert_int_eq(arec_manager_restore(m[2], NULL), 0);
  make_agents(st, NAGENTS, 1);
  for (int i = 0; i < 250; i++) {
    char key[32];
    snprintf(key, sizeof key, "agent:lock:b%d", i);
    ck_assert_int_eq(arec_memory_lock_force(st, key, "pod-x/racing", 60000), 0);
  }
  ctl_init(&c[1]);
  m[1] = fair_manager(st, "pod-b", &c[1], 5000);
  ck_assert_int_eq(arec_manager_restore(m[1], &rr), 0);
  ck_assert_uint_eq(rr.restored, NAGENTS - 250);
  for (int i = 0; i < 250; i++) {
    char key[32];
    snprintf(key, sizeof key, "agent:lock:b%d", i);
    ck_assert_int_eq(arec_memory_lock_drop(st, key), 0);
  }
  long long t0 = arec_test_now_ms();
  WAIT_UNTIL(running(m[1]) == NAGENTS / 3, 4000);
  long long dt = arec_test_now_ms() - t0;
  ck_assert_int_eq(running(m[1]), NAGENTS / 3);
  ck_assert_msg(dt < 2000, "share reached after %lld ms (reconcile 5000 ms)",
                dt);
  for (int i = 0; i < 3; i++)
    arec_manager_free(m[i]);
  arec_memory_store_free(st);
}
END_TEST

AREC_TEST_CASE_MAIN("core-share", "fair-share", 60,
                    arec_test_run(s),
                    three_pods_split_300_exactly_within_3_passes,
                    fourth_pod_joins_then_leaves_without_gaps,
                    migrate_hands_one_agent_to_a_named_pod,
                    capable_pod_takes_required_agents_beyond_its_share,
                    fair_share_is_off_by_default,
                    memory_pod_lease_fails_over_before_agent_ttl,
                    a_pass_fills_its_share_past_agents_held_elsewhere,
                    a_pass_short_of_its_share_comes_again_soon)
