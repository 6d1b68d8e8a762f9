/*
 * test_core_admin.c -- the public wrappers over the repository's version-3
 * slots, on the memory repository: singleton roles (argument checks, the
 * local validity measured from the moment a request was sent, expiry that
 * keep never brings back, takeover by another holder, fencing, release,
 * an unreachable repository) and what the administration wrappers answer
 * for repositories without those slots.  (What the slots themselves do is
 * proven by the conformance suites, tests/conformance.)
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

typedef struct env {
  arec_memory_store *st;
  arec_repository *r;
} env;

static env env_new(void) {
  env e = {toy_store(NULL, 0), NULL};
  ck_assert_int_eq(arec_memory_repository_new(&e.r, e.st), 0);
  return e;
}

static void env_free(env *e) {
  arec_repository_free(e->r);
  arec_memory_store_free(e->st);
}

/* The env of every test (a checked fixture, made and freed in the test's
 * own process). */
static env E;

static void setup(void) { E = env_new(); }

static void teardown(void) { env_free(&E); }

static int64_t drift(int64_t ttl) { return ttl / 100 + 2; }

/* ------------------------------------------------------------------ roles */
START_TEST(role_arguments_are_checked) {
  arec_role_lease l;
  char long_name[80], long_holder[200];
  memset(long_name, 'n', 64);
  long_name[64] = '\0';
  memset(long_holder, 'h', 160);
  long_holder[160] = '\0';
  const char *bad_names[] = {"", "a b", "x/y", "ü", long_name};
  for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
    ck_assert_msg(arec_role_claim(E.r, bad_names[i], "h/1", 1000, &l) ==
                      AREC_EINVAL,
                  "name %s accepted", bad_names[i]);
  ck_assert_int_eq(arec_role_claim(E.r, NULL, "h/1", 1000, &l), AREC_EINVAL);
  ck_assert_int_eq(arec_role_claim(E.r, "bot", "", 1000, &l), AREC_EINVAL);
  ck_assert_int_eq(arec_role_claim(E.r, "bot", long_holder, 1000, &l),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_role_claim(E.r, "bot", "h\n1", 1000, &l),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_role_claim(E.r, "bot", "h/1", 0, &l), AREC_EINVAL);
  ck_assert_int_eq(arec_role_claim(E.r, "bot", "h/1", 1000, NULL),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_role_claim(NULL, "bot", "h/1", 1000, &l),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_role_keep(E.r, NULL, 1000), AREC_EINVAL);
  ck_assert_int_eq(arec_role_release(E.r, NULL), AREC_EINVAL);
  ck_assert_int_eq(arec_role_fenced(E.r, NULL), AREC_EINVAL);
  ck_assert_int_eq(arec_role_validity_ms(NULL), 0);
  /* every valid character, 63 of them */
  char ok_name[64];
  memset(ok_name, 'a', 63);
  memcpy(ok_name, "Az09_.:-", 8);
  ok_name[63] = '\0';
  ck_assert_int_eq(arec_role_claim(E.r, ok_name, "h/1", 1000, &l), 1);
  ck_assert_str_eq(l.name, ok_name);
  /* a repository without roles */
  E.r->version = 2;
  ck_assert_int_eq(arec_role_claim(E.r, "bot", "h/1", 1000, &l), AREC_EINVAL);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "no roles"));
  E.r->version = AREC_REPOSITORY_VERSION;
}
END_TEST

START_TEST(role_lifecycle_and_validity) {
  enum { TTL = 2000 };
  arec_role_lease a, b;
  long long t0 = arec_test_now_ms();
  ck_assert_int_eq(arec_role_claim(E.r, "bot.poller", "pod-a/1", TTL, &a), 1);
  long long t1 = arec_test_now_ms();
  ck_assert_str_eq(a.name, "bot.poller");
  ck_assert_str_eq(a.holder, "pod-a/1");
  ck_assert_uint_gt(a.fence, 0);
  int64_t v = arec_role_validity_ms(&a);
  ck_assert_int_le(v, TTL - drift(TTL));
  ck_assert_int_ge(v, TTL - drift(TTL) - (t1 - t0) - 50);
  /* held: another holder gets 0; the holder renews with the same fence */
  ck_assert_int_eq(arec_role_claim(E.r, "bot.poller", "pod-b/1", TTL, &b), 0);
  uint64_t fence = a.fence;
  ck_assert_int_eq(arec_role_claim(E.r, "bot.poller", "pod-a/1", TTL, &a), 1);
  ck_assert_uint_eq(a.fence, fence);
  toy_sleep_ms(100);
  int64_t before = arec_role_validity_ms(&a);
  ck_assert_int_eq(arec_role_keep(E.r, &a, TTL), 0);
  ck_assert_int_gt(arec_role_validity_ms(&a), before + 50);
  ck_assert_int_eq(arec_role_fenced(E.r, &a), 0);

  /* the repository does not answer: keep says so, the deadline stays */
  arec_memory_fail(E.st, AREC_MEMORY_REPOSITORY, 1, AREC_EUNAVAILABLE);
  int64_t dl = a.deadline_ms;
  ck_assert_int_eq(arec_role_keep(E.r, &a, TTL), AREC_EUNAVAILABLE);
  ck_assert_int_eq(a.deadline_ms, dl);

  /* release: fenced, bumps the fence, the lease ends here at once */
  ck_assert_int_eq(arec_role_release(E.r, &a), 0);
  ck_assert_int_le(arec_role_validity_ms(&a), 0);
  ck_assert_int_eq(arec_role_fenced(E.r, &a), AREC_EFENCED);
  ck_assert_int_eq(arec_role_release(E.r, &a), AREC_ELOST);
  ck_assert_int_eq(arec_role_claim(E.r, "bot.poller", "pod-b/1", TTL, &b), 1);
  ck_assert_uint_eq(b.fence, fence + 2);
  ck_assert_int_eq(arec_role_keep(E.r, &a, TTL), AREC_ELOST);
}
END_TEST

/* An expired lease is never kept alive again, even when nobody took it:
 * keep answers AREC_ELOST without asking the repository. */
START_TEST(role_expiry_is_final) {
  enum { TTL = 150 };
  arec_role_lease a, b;
  ck_assert_int_eq(arec_role_claim(E.r, "cron", "pod-a/1", TTL, &a), 1);
  toy_sleep_ms(TTL + 20);
  ck_assert_int_le(arec_role_validity_ms(&a), 0);
  uint64_t calls = arec_memory_calls(E.st, AREC_MEMORY_REPOSITORY);
  ck_assert_int_eq(arec_role_keep(E.r, &a, TTL), AREC_ELOST);
  ck_assert_uint_eq(arec_memory_calls(E.st, AREC_MEMORY_REPOSITORY), calls);
  ck_assert_int_eq(arec_role_fenced(E.r, &a), AREC_EFENCED);
  /* another holder takes it over with a new fence */
  ck_assert_int_eq(arec_role_claim(E.r, "cron", "pod-b/1", 60000, &b), 1);
  ck_assert_uint_gt(b.fence, a.fence);
  ck_assert_int_eq(arec_role_fenced(E.r, &b), 0);
  ck_assert_int_eq(arec_role_release(E.r, &a), AREC_ELOST);
}
END_TEST

/* The validity counts from the moment the request was sent: a slow
 * repository eats into it. */
START_TEST(role_validity_counts_from_the_send) {
  enum { TTL = 1000, DELAY = 150 };
  arec_role_lease a;
  arec_memory_delay(E.st, AREC_MEMORY_REPOSITORY, DELAY);
  ck_assert_int_eq(arec_role_claim(E.r, "slow", "pod-a/1", TTL, &a), 1);
  ck_assert_int_le(arec_role_validity_ms(&a), TTL - drift(TTL) - DELAY + 5);
  ck_assert_int_gt(arec_role_validity_ms(&a), 0);
  ck_assert_int_eq(arec_role_keep(E.r, &a, TTL), 0);
  ck_assert_int_le(arec_role_validity_ms(&a), TTL - drift(TTL) - DELAY + 5);
  arec_memory_delay(E.st, AREC_MEMORY_REPOSITORY, 0);
}
END_TEST

/* ------------------------------------------------------ admin wrappers */
START_TEST(admin_needs_version_3_slots) {
  ck_assert_int_eq(toy_create(E.r, "a1", 0, "toy", "n", NULL, NULL, NULL), 0);
  ck_assert_int_eq(arec_agent_assign(E.r, "a1", "BTC/USDT", 5), 0);
  E.r->version = 2;
  ck_assert_int_eq(arec_agent_assign(E.r, "a1", "ETH/USDT", 5), AREC_EINVAL);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "version 3"));
  arec_agent_record *rec = (arec_agent_record *)1;
  ck_assert_int_eq(arec_agent_get(E.r, "a1", &rec), AREC_EINVAL);
  ck_assert_ptr_null(rec);
  arec_pod_record *pods = (arec_pod_record *)1;
  size_t n = 9;
  ck_assert_int_eq(arec_pod_list(E.r, &pods, &n), AREC_EINVAL);
  ck_assert_ptr_null(pods);
  ck_assert_uint_eq(n, 0);
  /* the wish is a slot every version has */
  ck_assert_int_eq(arec_agent_set_trading(E.r, "a1", 1), 0);
  E.r->version = AREC_REPOSITORY_VERSION;
  ck_assert_int_eq(toy_create(NULL, "a1", 0, "toy", "n", NULL, NULL, NULL),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_agent_delete(NULL, "a1"), AREC_EINVAL);
  /* a slot left NULL */
  int (*save)(arec_repository *, const char *) = E.r->agent_delete;
  E.r->agent_delete = NULL;
  ck_assert_int_eq(arec_agent_delete(E.r, "a1"), AREC_EINVAL);
  ck_assert_ptr_nonnull(strstr(arec_error_last(), "agent_delete"));
  E.r->agent_delete = save;
  ck_assert_int_eq(arec_agent_delete(E.r, "a1"), 0);

  /* freeing backends never handed to a manager */
  arec_lock *lock = NULL;
  ck_assert_int_eq(arec_memory_lock_new(&lock, E.st), 0);
  arec_lock_free(lock);
  arec_lock_free(NULL);
  arec_repository_free(NULL);
  arec_agent_records_free(NULL, 3);
  arec_pod_records_free(NULL, 3);
  arec_strings_free(NULL, 3);
  arec_fleet_clear(NULL);
  arec_agent_list_free(NULL);
}
END_TEST

int main(void) {
  const TTest *tests[] = {role_arguments_are_checked,
      role_lifecycle_and_validity, role_expiry_is_final,
      role_validity_counts_from_the_send, admin_needs_version_3_slots, NULL};
  Suite *s = suite_create("core_admin");
  TCase *tc = arec_test_cases(s, "admin", 20, tests);
  tcase_add_checked_fixture(tc, setup, teardown);
  return arec_test_run(s);
}
