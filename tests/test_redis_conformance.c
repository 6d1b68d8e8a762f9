/*
 * test_redis_conformance.c -- the lock conformance suite
 * (tests/conformance/lock_conformance.c) against the Redlock backend on one
 * real redis-server and on three (quorum 2), started once for the binary
 * through the harness; each also in pod-lease mode (owners that are
 * pod-lease holders, plus the pod-lease rules of podlease_conformance.c).
 */
#include "test_redis_fixture.h"
#include "support/runner.h"

static arec_test_redis g_one[1], g_three[3];
static rfix g_f1, g_f3;
static arec_lock_fixture g_lf1, g_lf3, g_pl1, g_pl3;

int main(void) {
  Suite *s = suite_create("redis-conformance");
  if (rfix_start(&g_f1, g_one, 1) != 0 || rfix_start(&g_f3, g_three, 3) != 0) {
    fprintf(stderr, "test_redis_conformance: cannot start redis-server\n");
    return 1;
  }
  g_lf1 = rfix_conf(&g_f1, "redis1");
  g_lf3 = rfix_conf(&g_f3, "redis3");
  g_pl1 = rfix_conf(&g_f1, "redis1-podlease");
  g_pl1.pod_lease_mode = 1;
  g_pl3 = rfix_conf(&g_f3, "redis3-podlease");
  g_pl3.pod_lease_mode = 1;
  arec_conf_lock_add(s, &g_lf1);
  arec_conf_lock_add(s, &g_lf3);
  arec_conf_lock_add(s, &g_pl1);
  arec_conf_lock_add(s, &g_pl3);
  return arec_test_run(s);
}
