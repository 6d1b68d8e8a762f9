/*
 * backoff_conformance.c -- the conformance suite of the repository's
 * backoff slots (version 3): start_failed, start_ok and set_error, and the
 * fields of arec_agent_row they feed, generic over a repository fixture
 * (conformance.h); registered by arec_conf_repository_add().
 *
 * What it proves: start_failed is fenced, releases like release() (fence
 * bumped, running_on cleared), counts the failure, keeps the reason cut to
 * 500 bytes at a character boundary and sets retry_at = now + min(max, min
 * * 2^(failures - 1)); agents_to_restore hides the agent until retry_at
 * passes (on the repository's clock, moved through the fixture; backoff
 * 50 ms doubling to 200 ms); set_trading(1) ends the wait but keeps the
 * count; start_ok clears everything, fenced; set_error is fenced and with
 * fence 0 writes only while the agent has no live owner; rows carry
 * params, requires, start_failures and last_error; an unreadable row is
 * listed with its error and does not hide the others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define POD_A "conf-pod-a"
#define INC_A "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define LEASE 60000
#define MIN_MS 50
#define MAX_MS 200

static uint64_t claim(arec_repository *r, const char *id) {
  uint64_t fence = 0;
  int rc = r->claim(r, POD_A, INC_A, id, &fence);
  ck_assert_msg(rc == 0, "claim %s: %s", id, arec_err_name(rc));
  return fence;
}

/* ------------------------------------------------------------ start_failed */
CONF_REPO_TEST(start_failed_is_fenced, CONF_ADMIN | CONF_BACKOFF) {
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A, LEASE, 0), 0);
  uint64_t f1 = claim(r, "conf-a1");
  unsigned int failures = 99;
  ck_assert_int_eq(
      r->start_failed(r, "conf-a1", f1 - 1, "stale", MIN_MS, MAX_MS, &failures),
      AREC_EFENCED);
  ck_assert_int_eq(
      r->start_failed(r, "conf-a1", 0, "zero", MIN_MS, MAX_MS, &failures),
      AREC_EFENCED);
  ck_assert_int_eq(r->start_failed(r, "conf-missing", 1, "x", MIN_MS, MAX_MS,
                                   &failures),
                   AREC_ENOTFOUND);
  arec_agent_record *a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->fence, f1); /* nothing written */
  ck_assert_str_eq(a->running_on, POD_A);
  ck_assert_uint_eq(a->start_failures, 0);
  ck_assert_ptr_null(a->last_error);
  arec_agent_records_free(a, 1);

  ck_assert_int_eq(
      r->start_failed(r, "conf-a1", f1, "boom: no ✓", MIN_MS, MAX_MS,
                      &failures),
      0);
  ck_assert_uint_eq(failures, 1);
  a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->fence, f1 + 1);
  ck_assert_ptr_null(a->running_on);
  ck_assert_ptr_null(a->running_incarnation);
  ck_assert_int_eq(a->is_trading, 1); /* the wish stays */
  ck_assert_uint_eq(a->start_failures, 1);
  ck_assert_str_eq(a->last_error, "boom: no ✓");
  ck_assert_int_gt(a->retry_at_ms, 0);
  arec_agent_records_free(a, 1);
  /* the released runner can no longer write or release */
  ck_assert_int_eq(
      r->start_failed(r, "conf-a1", f1, "again", MIN_MS, MAX_MS, NULL),
      AREC_EFENCED);
  ck_assert_int_eq(r->release(r, "conf-a1", f1), AREC_EFENCED);
  arec_symbol_state st = {"BTC/USDT", 1, "{}"};
  arec_save sv = {"conf-a1", f1, POD_A, 1, &st};
  ck_assert_int_eq(r->save_state(r, &sv), AREC_EFENCED);
}

/* The wait doubles from MIN_MS to MAX_MS; the agent is hidden until then. */
CONF_REPO_TEST(backoff_hides_until_retry_at, CONF_ADMIN | CONF_BACKOFF) {
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  arec_conf_make(r, "conf-a2", 1, 1, 1); /* never fails */
  for (unsigned int n = 1; n <= 4; n++) {
    int64_t expected = MIN_MS << (n - 1);
    if (expected > MAX_MS)
      expected = MAX_MS;
    ck_assert(arec_conf_restorable(r, "conf-a1"));
    uint64_t fence = claim(r, "conf-a1");
    unsigned int failures = 0;
    int64_t w0 = arec_conf_wall_ms(), m0 = arec_conf_mono_ms();
    char why[32];
    snprintf(why, sizeof why, "failure %u", n);
    ck_assert_int_eq(
        r->start_failed(r, "conf-a1", fence, why, MIN_MS, MAX_MS, &failures),
        0);
    ck_assert_uint_eq(failures, n);
    int fresh = f->manual_clock || arec_conf_mono_ms() - m0 < expected / 2;
    if (fresh)
      ck_assert_msg(!arec_conf_restorable(r, "conf-a1"),
                    "listed during its wait (failure %u)", n);
    arec_agent_record *a = arec_conf_get(r, "conf-a1");
    int64_t w1 = arec_conf_wall_ms();
    ck_assert_uint_eq(a->start_failures, n);
    ck_assert_str_eq(a->last_error, why);
    ck_assert_msg(a->retry_at_ms >= w0 + expected - 25 &&
                      a->retry_at_ms <= w1 + expected + 25,
                  "retry_at %lld not about now + %lld (%lld..%lld)",
                  (long long)a->retry_at_ms, (long long)expected,
                  (long long)w0, (long long)w1);
    arec_agent_records_free(a, 1);
    ck_assert(arec_conf_restorable(r, "conf-a2"));
    if (f->manual_clock) {
      arec_conf_advance(f, expected - 1);
      ck_assert(!arec_conf_restorable(r, "conf-a1"));
      arec_conf_advance(f, 6);
    } else {
      arec_conf_advance(f, expected + 5);
    }
    ck_assert_msg(arec_conf_restorable(r, "conf-a1"),
                  "still hidden after its wait (failure %u)", n);
  }
}

/* A pod that listed the agent before another pod's start failed must not
 * claim it during the wait: one claim per attempt, fleet-wide. */
CONF_REPO_TEST(claim_refused_during_the_wait, CONF_ADMIN | CONF_BACKOFF) {
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  arec_conf_make(r, "conf-a2", 1, 1, 1);
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A, LEASE, 0), 0);
  uint64_t f1 = claim(r, "conf-a1");
  ck_assert_int_eq(r->start_failed(r, "conf-a1", f1, "boom", 600000, 600000,
                                   NULL),
                   0);
  uint64_t fence = 0;
  ck_assert_int_eq(r->claim(r, POD_A, INC_A, "conf-a1", &fence),
                   AREC_ECONFLICT);
  if (r->claim_many) {
    const char *ids[2] = {"conf-a1", "conf-a2"};
    uint64_t fences[2] = {0, 0};
    int res[2] = {0, 0};
    ck_assert_int_eq(r->claim_many(r, POD_A, INC_A, ids, 2, fences, res), 0);
    ck_assert_int_eq(res[0], AREC_ECONFLICT);
    ck_assert_int_eq(res[1], 0);
  }
  arec_agent_record *a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->fence, f1 + 1); /* the refused claims wrote nothing */
  ck_assert_ptr_null(a->running_on);
  arec_agent_records_free(a, 1);
  /* a user's start ends the wait */
  ck_assert_int_eq(r->set_trading(r, "conf-a1", 1), 0);
  ck_assert_uint_eq(claim(r, "conf-a1"), f1 + 2);
}

CONF_REPO_TEST(start_ok_clears, CONF_ADMIN | CONF_BACKOFF) {
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  uint64_t f1 = claim(r, "conf-a1");
  ck_assert_int_eq(
      r->start_failed(r, "conf-a1", f1, "boom", MIN_MS, MAX_MS, NULL), 0);
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-a1", 1), 0);
  uint64_t f2 = claim(r, "conf-a1");
  ck_assert_uint_eq(f2, f1 + 2);
  ck_assert_int_eq(r->start_ok(r, "conf-a1", f1), AREC_EFENCED);
  ck_assert_int_eq(r->start_ok(r, "conf-a1", 0), AREC_EFENCED);
  ck_assert_int_eq(r->start_ok(r, "conf-missing", 3), AREC_ENOTFOUND);
  arec_agent_record *a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->start_failures, 1);
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(r->start_ok(r, "conf-a1", f2), 0);
  a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->start_failures, 0);
  ck_assert_ptr_null(a->last_error);
  ck_assert_int_eq(a->retry_at_ms, 0);
  ck_assert_uint_eq(a->fence, f2); /* no fence bump */
  ck_assert_str_eq(a->running_on, POD_A);
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(r->start_ok(r, "conf-a1", f2), 0); /* nothing to clear */
}

/* set_trading(1) ends the wait, the count stays until a start succeeds. */
CONF_REPO_TEST(set_trading_ends_the_wait, CONF_ADMIN | CONF_BACKOFF) {
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  uint64_t f1 = claim(r, "conf-a1");
  ck_assert_int_eq(
      r->start_failed(r, "conf-a1", f1, "boom", 60000, 60000, NULL), 0);
  ck_assert(!arec_conf_restorable(r, "conf-a1"));
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-a1", 0), 0);
  ck_assert(!arec_conf_restorable(r, "conf-a1"));
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-a1", 1), 0);
  ck_assert(arec_conf_restorable(r, "conf-a1"));
  arec_agent_record *a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->start_failures, 1);
  ck_assert_str_eq(a->last_error, "boom");
  ck_assert_int_eq(a->retry_at_ms, 0);
  arec_agent_records_free(a, 1);
}

/* --------------------------------------------------------------- set_error */
static int utf8_whole(const char *s) {
  size_t n = strlen(s);
  if (n % 2)
    return 0;
  for (size_t i = 0; i < n; i += 2)
    if (strncmp(s + i, "é", 2) != 0)
      return 0;
  return 1;
}

CONF_REPO_TEST(set_error_rules, CONF_ADMIN | CONF_BACKOFF) {
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  /* fence 0: only while the agent has no live owner */
  ck_assert_int_eq(r->set_error(r, "conf-a1", 0, "waiting for gpu"), 0);
  arec_agent_record *a = arec_conf_get(r, "conf-a1");
  ck_assert_str_eq(a->last_error, "waiting for gpu");
  ck_assert_uint_eq(a->start_failures, 0); /* a note, not a failure */
  arec_agent_records_free(a, 1);
  ck_assert(arec_conf_restorable(r, "conf-a1"));
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A, LEASE, 0), 0);
  uint64_t fence = claim(r, "conf-a1");
  ck_assert_int_eq(r->set_error(r, "conf-a1", 0, "other pod"), AREC_EFENCED);
  ck_assert_int_eq(r->set_error(r, "conf-a1", fence - 1, "stale"),
                   AREC_EFENCED);
  a = arec_conf_get(r, "conf-a1");
  ck_assert_str_eq(a->last_error, "waiting for gpu");
  arec_agent_records_free(a, 1);
  /* the owner's fence */
  ck_assert_int_eq(r->set_error(r, "conf-a1", fence, "exchange slow"), 0);
  a = arec_conf_get(r, "conf-a1");
  ck_assert_str_eq(a->last_error, "exchange slow");
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(r->set_error(r, "conf-a1", fence, NULL), 0);
  a = arec_conf_get(r, "conf-a1");
  ck_assert_ptr_null(a->last_error);
  arec_agent_records_free(a, 1);
  /* cut to 500 bytes at a character boundary */
  char big[601];
  for (size_t i = 0; i < 300; i++)
    memcpy(big + 2 * i, "é", 2);
  big[600] = '\0';
  ck_assert_int_eq(r->set_error(r, "conf-a1", fence, big), 0);
  a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_le(strlen(a->last_error), 500);
  ck_assert_uint_ge(strlen(a->last_error), 400);
  ck_assert(utf8_whole(a->last_error));
  arec_agent_records_free(a, 1);
  /* the owner's pod died: nobody owns it live, fence 0 writes again */
  ck_assert_int_eq(f->expire_pod(f->ctx, POD_A), 0);
  ck_assert_int_eq(r->set_error(r, "conf-a1", 0, "note"), 0);
  ck_assert_int_eq(r->set_error(r, "conf-missing", 0, "x"), AREC_ENOTFOUND);
  /* start_failed cuts its reason the same way */
  uint64_t f2 = claim(r, "conf-a1");
  ck_assert_int_eq(r->start_failed(r, "conf-a1", f2, big, MIN_MS, MAX_MS, NULL),
                   0);
  a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_le(strlen(a->last_error), 500);
  ck_assert(utf8_whole(a->last_error));
  arec_agent_records_free(a, 1);
}

/* --------------------------------------------------------------------- rows */
CONF_REPO_TEST(rows_carry_the_new_fields, CONF_ADMIN | CONF_BACKOFF) {
  ck_assert_int_eq(
      arec_conf_create(r, "conf-a1", 5, "grid", "n", "{\"step\": 0.5}", "gpu"),
      0);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "BTC/USDT", 10), 0);
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-a1", 1), 0);
  arec_conf_make(r, "conf-a2", 1, 1, 1);
  uint64_t fence = claim(r, "conf-a1");
  ck_assert_int_eq(r->start_failed(r, "conf-a1", fence, "boom", 60000, 60000,
                                   NULL),
                   0);
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-a1", 1), 0);
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, NULL, &l), 0);
  ck_assert_uint_eq(l->n, 2);
  for (size_t i = 0; i < l->n; i++) {
    const arec_agent_row *row = &l->rows[i];
    ck_assert_int_eq(row->error, 0);
    ck_assert_ptr_null(row->error_text);
    if (strcmp(row->id, "conf-a1") == 0) {
      ck_assert_str_eq(row->strategy, "grid");
      ck_assert_int_eq(row->user_id, 5);
      ck_assert_ptr_nonnull(row->params);
      ck_assert_ptr_nonnull(strstr(row->params, "step"));
      ck_assert_str_eq(row->requires, "gpu");
      ck_assert_uint_eq(row->start_failures, 1);
      ck_assert_str_eq(row->last_error, "boom");
      ck_assert_uint_eq(row->nsymbols, 1);
    } else {
      ck_assert_str_eq(row->id, "conf-a2");
      ck_assert(row->params == NULL || strcmp(row->params, "{}") == 0);
      ck_assert_ptr_null(row->requires);
      ck_assert_uint_eq(row->start_failures, 0);
      ck_assert_ptr_null(row->last_error);
    }
  }
  arec_agent_list_free(l);
}

CONF_REPO_TEST(unreadable_row_is_listed_with_its_error, CONF_ADMIN | CONF_BACKOFF) {
  if (!f->poison)
    return;
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  arec_conf_make(r, "conf-a2", 1, 1, 1);
  arec_conf_make(r, "conf-a3", 1, 1, 1);
  ck_assert_int_eq(f->poison(f->ctx, "conf-a2", "state does not parse"), 0);
  struct arec_agent_list *l = NULL;
  ck_assert_int_eq(r->agents_to_restore(r, NULL, &l), 0);
  ck_assert_uint_eq(l->n, 3);
  int bad = 0;
  for (size_t i = 0; i < l->n; i++) {
    const arec_agent_row *row = &l->rows[i];
    if (strcmp(row->id, "conf-a2") == 0) {
      ck_assert_int_lt(row->error, 0);
      ck_assert_ptr_nonnull(row->error_text);
      ck_assert_uint_gt(strlen(row->error_text), 0);
      bad++;
    } else {
      ck_assert_int_eq(row->error, 0);
      ck_assert_uint_eq(row->nsymbols, 1);
    }
  }
  ck_assert_int_eq(bad, 1);
  arec_agent_list_free(l);
  /* claimed and put in backoff like any failed start */
  uint64_t fence = claim(r, "conf-a2");
  ck_assert_int_eq(r->start_failed(r, "conf-a2", fence, "state does not parse",
                                   60000, 60000, NULL),
                   0);
  ck_assert(!arec_conf_restorable(r, "conf-a2"));
  ck_assert(arec_conf_restorable(r, "conf-a1"));
}

/* ------------------------------------------------------------ registration */
void arec_conf_backoff_add(Suite *s, const arec_repo_fixture *f) {
  const arec_conf_test *tests[] = {
      start_failed_is_fenced, backoff_hides_until_retry_at,
      claim_refused_during_the_wait, start_ok_clears,
      set_trading_ends_the_wait, set_error_rules, rows_carry_the_new_fields,
      unreadable_row_is_listed_with_its_error};
  arec_conf_add_repo_tests(s, f, "backoff-conformance", 30, tests,
                           sizeof tests / sizeof *tests);
}
