/*
 * role_conformance.c -- the conformance suite of the repository's role
 * slots (version 3): role_claim, role_keep, role_release, role_check,
 * generic over a repository fixture (conformance.h); registered by
 * arec_conf_repository_add().
 *
 * What it proves: a free role is claimed with a new fence; a held one is
 * not (an answer, not an error); its holder claiming again renews it with
 * the same fence; keep works only for the holder's current lease before it
 * expires; after expiry another holder claims it with a new fence and the
 * old holder's keep and check fail; release is fenced and bumps the fence;
 * roles are independent of each other.  Expiry is reached by moving the
 * repository's clock through the fixture (TTL 100 ms).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define ROLE "conf.bot:poller-1"
#define H1 "conf-pod-a/0123456789abcdef"
#define H2 "conf-pod-b/fedcba9876543210"
#define LONG 60000
#define SHORT 100

static uint64_t claim1(arec_repository *r, const char *role, const char *h,
                       int64_t ttl) {
  uint64_t fence = 0;
  int rc = r->role_claim(r, role, h, ttl, &fence);
  ck_assert_msg(rc == 1, "claim %s by %s: %d %s", role, h, rc,
                arec_error_last());
  ck_assert_uint_gt(fence, 0);
  return fence;
}

CONF_REPO_TEST(claim_free_held_and_renewed, CONF_ROLES) {
  uint64_t f1 = claim1(r, ROLE, H1, LONG);
  uint64_t fence = 77;
  ck_assert_int_eq(r->role_claim(r, ROLE, H2, LONG, &fence), 0); /* held */
  ck_assert_uint_eq(claim1(r, ROLE, H1, LONG), f1); /* renewed, same fence */
  ck_assert_int_eq(r->role_check(r, ROLE, H1, f1), 0);
  ck_assert_int_eq(r->role_check(r, ROLE, H2, f1), AREC_EFENCED);
  /* another role is independent */
  uint64_t g = claim1(r, "conf.other", H2, LONG);
  ck_assert_int_eq(r->role_check(r, "conf.other", H2, g), 0);
  ck_assert_int_eq(r->role_check(r, ROLE, H1, f1), 0);
  ck_assert_int_eq(r->role_check(r, "conf.none", H1, f1), AREC_EFENCED);
}

CONF_REPO_TEST(keep_only_by_the_holder, CONF_ROLES) {
  uint64_t f1 = claim1(r, ROLE, H1, LONG);
  ck_assert_int_eq(r->role_keep(r, ROLE, H1, f1, LONG), 0);
  ck_assert_int_eq(r->role_keep(r, ROLE, H2, f1, LONG), AREC_ELOST);
  ck_assert_int_eq(r->role_keep(r, ROLE, H1, f1 + 1, LONG), AREC_ELOST);
  ck_assert_int_eq(r->role_keep(r, "conf.none", H1, f1, LONG), AREC_ELOST);
  ck_assert_int_eq(r->role_check(r, ROLE, H1, f1), 0);
}

CONF_REPO_TEST(expired_lease_is_taken_over, CONF_ROLES) {
  uint64_t f1 = claim1(r, ROLE, H1, SHORT);
  ck_assert_int_eq(r->role_keep(r, ROLE, H1, f1, SHORT), 0); /* in time */
  arec_conf_advance(f, SHORT + 50);
  /* expired: keep and check fail even before anyone else claims */
  ck_assert_int_eq(r->role_keep(r, ROLE, H1, f1, SHORT), AREC_ELOST);
  ck_assert_int_eq(r->role_check(r, ROLE, H1, f1), AREC_EFENCED);
  uint64_t f2 = claim1(r, ROLE, H2, LONG);
  ck_assert_uint_gt(f2, f1);
  ck_assert_int_eq(r->role_keep(r, ROLE, H1, f1, LONG), AREC_ELOST);
  ck_assert_int_eq(r->role_check(r, ROLE, H1, f1), AREC_EFENCED);
  ck_assert_int_eq(r->role_check(r, ROLE, H2, f2), 0);
  uint64_t fence = 0;
  ck_assert_int_eq(r->role_claim(r, ROLE, H1, LONG, &fence), 0);
  /* the same holder claiming after its own lease expired gets a new fence */
  uint64_t g1 = claim1(r, "conf.solo", H1, SHORT);
  arec_conf_advance(f, SHORT + 50);
  uint64_t g2 = claim1(r, "conf.solo", H1, LONG);
  ck_assert_uint_gt(g2, g1);
  ck_assert_int_eq(r->role_check(r, "conf.solo", H1, g1), AREC_EFENCED);
}

CONF_REPO_TEST(release_is_fenced_and_bumps, CONF_ROLES) {
  uint64_t f1 = claim1(r, ROLE, H1, LONG);
  ck_assert_int_eq(r->role_release(r, ROLE, H2, f1), AREC_ELOST);
  ck_assert_int_eq(r->role_release(r, ROLE, H1, f1 + 1), AREC_ELOST);
  ck_assert_int_eq(r->role_check(r, ROLE, H1, f1), 0);
  ck_assert_int_eq(r->role_release(r, ROLE, H1, f1), 0);
  ck_assert_int_eq(r->role_check(r, ROLE, H1, f1), AREC_EFENCED);
  ck_assert_int_eq(r->role_keep(r, ROLE, H1, f1, LONG), AREC_ELOST);
  ck_assert_int_eq(r->role_release(r, ROLE, H1, f1), AREC_ELOST);
  /* free again: the next claim gets a fence above the release's bump */
  uint64_t f2 = claim1(r, ROLE, H2, LONG);
  ck_assert_uint_eq(f2, f1 + 2);
  ck_assert_int_eq(r->role_release(r, "conf.none", H1, 1), AREC_ELOST);
}

/* ------------------------------------------------------------ registration */
void arec_conf_roles_add(Suite *s, const arec_repo_fixture *f) {
  const arec_conf_test *tests[] = {
      claim_free_held_and_renewed, keep_only_by_the_holder,
      expired_lease_is_taken_over, release_is_fenced_and_bumps};
  arec_conf_add_repo_tests(s, f, "roles-conformance", 30, tests,
                           sizeof tests / sizeof *tests);
}
