/*
 * admin_conformance.c -- the conformance suite of the repository's
 * administration slots (version 3): agent_create, agent_assign,
 * agent_unassign, set_active, agent_delete, agent_get, agent_list and
 * pod_list, called through the public functions of agentrecover.h
 * (arec_agent_create ...), so the argument checks in front of the slots
 * are part of what is proven.  Generic over a repository fixture
 * (conformance.h); registered by arec_conf_repository_add().
 *
 * What it proves: create with and without an id (a random valid 12
 * character one), every refused argument, duplicates (also of a deleted
 * agent); assign and unassign rules; enable/disable; a delete that hides
 * the agent from every read and write but keeps its id taken and makes
 * unwanted() answer 1 to its runner; keyset paging over 250 agents in byte
 * order, each exactly once; the list filters; get with sorted symbols and
 * the state of the last save; the live pods with their agent counts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "../support/toy_agent.h"

#define POD_A "conf-pod-a"
#define POD_B "conf-pod-b"
#define INC_A "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define INC_B "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
#define LEASE 60000

static uint64_t claim(arec_repository *r, const char *pod, const char *inc,
                      const char *id) {
  uint64_t fence = 0;
  int rc = r->claim(r, pod, inc, id, &fence);
  ck_assert_msg(rc == 0, "claim %s: %s", id, arec_err_name(rc));
  return fence;
}

static size_t count_all(arec_repository *r) {
  arec_agent_record *v = NULL;
  size_t n = 0;
  arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
  flt.limit = 1000;
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), 0);
  arec_agent_records_free(v, n);
  return n;
}

static int create_rc(arec_repository *r, const char *id, const char *strategy,
                     const char *name, const char *params,
                     const char *requires) {
  return arec_conf_create(r, id, 3, strategy, name, params, requires);
}

/* ------------------------------------------------------------------ create */
CONF_REPO_TEST(create_with_and_without_id, CONF_ADMIN) {
  int64_t t0 = arec_conf_wall_ms();
  char id[AREC_AGENT_ID_MAX + 1];
  ck_assert_int_eq(toy_create(r, "conf-a1", 42, "grid", "My agent ✓",
                              "{\"levels\": [1, 2.5], \"name\": \"x\"}",
                              "gpu", id),
                   0);
  ck_assert_str_eq(id, "conf-a1");
  arec_agent_record *a = arec_conf_get(r, "conf-a1");
  ck_assert_str_eq(a->id, "conf-a1");
  ck_assert_int_eq(a->user_id, 42);
  ck_assert_str_eq(a->strategy, "grid");
  ck_assert_str_eq(a->name, "My agent ✓");
  ck_assert_ptr_nonnull(strstr(a->params, "levels"));
  ck_assert_ptr_nonnull(strstr(a->params, "2.5"));
  ck_assert_str_eq(a->requires, "gpu");
  ck_assert_int_eq(a->is_active, 1);
  ck_assert_int_eq(a->is_trading, 0);
  ck_assert_ptr_null(a->running_on);
  ck_assert_ptr_null(a->running_incarnation);
  ck_assert_uint_eq(a->start_failures, 0);
  ck_assert_ptr_null(a->last_error);
  ck_assert_int_eq(a->retry_at_ms, 0);
  ck_assert_int_eq(a->updated_at_ms, 0);
  ck_assert_uint_eq(a->nsymbols, 0);
  /* the repository's clock may differ a little from this process's */
  ck_assert_int_ge(a->created_at_ms, t0 - 60000);
  ck_assert_int_le(a->created_at_ms, arec_conf_wall_ms() + 60000);
  uint64_t fence0 = a->fence;
  arec_agent_records_free(a, 1);

  /* without an id: a random valid one of 12 characters, each time new */
  char id2[AREC_AGENT_ID_MAX + 1], id3[AREC_AGENT_ID_MAX + 1];
  ck_assert_int_eq(
      toy_create(r, NULL, 42, "grid", "My agent ✓", NULL, NULL, id2), 0);
  ck_assert_int_eq(
      toy_create(r, NULL, 42, "grid", "My agent ✓", NULL, NULL, id3), 0);
  ck_assert_uint_eq(strlen(id2), 12);
  ck_assert(arec_agent_id_valid(id2));
  ck_assert(arec_agent_id_valid(id3));
  ck_assert_str_ne(id2, id3);
  a = arec_conf_get(r, id2);
  ck_assert_str_eq(a->params, "{}");
  ck_assert_ptr_null(a->requires);
  ck_assert_uint_eq(a->fence, fence0);
  arec_agent_records_free(a, 1);
  ck_assert_uint_eq(count_all(r), 3);
}

CONF_REPO_TEST(create_refuses_bad_arguments, CONF_ADMIN) {
  const char *bad_ids[] = {"bad id!", "start", "stop", "",
                           "x12345678901234567890123456789012345678901234567890"
                           "12345678901234"};
  for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++)
    ck_assert_msg(create_rc(r, bad_ids[i], "toy", "n", NULL, NULL) ==
                      AREC_EINVAL,
                  "id %s accepted", bad_ids[i]);
  ck_assert_int_eq(create_rc(r, "conf-a1", "", "n", NULL, NULL), AREC_EINVAL);
  ck_assert_int_eq(create_rc(r, "conf-a1", NULL, "n", NULL, NULL),
                   AREC_EINVAL);
  ck_assert_int_eq(create_rc(r, "conf-a1", "to\ny", "n", NULL, NULL),
                   AREC_EINVAL);
  ck_assert_int_eq(create_rc(r, "conf-a1", "toy", "", NULL, NULL),
                   AREC_EINVAL);
  ck_assert_int_eq(create_rc(r, "conf-a1", "toy", "a\tb", NULL, NULL),
                   AREC_EINVAL);
  ck_assert_int_eq(create_rc(r, "conf-a1", "toy", "bad \xff utf8", NULL, NULL),
                   AREC_EINVAL);
  const char *bad_params[] = {"[1]", "{", "{} x", "1", "{\"a\":}",
                              "{'a': 1}", "{\"a\": 01}", "\"{}\"",
                              "{\"a\": \"\\u0000\"}", "{\"a\" 1}", ""};
  for (size_t i = 0; i < sizeof bad_params / sizeof *bad_params; i++)
    ck_assert_msg(create_rc(r, "conf-a1", "toy", "n", bad_params[i], NULL) ==
                      AREC_EINVAL,
                  "params %s accepted", bad_params[i]);
  ck_assert_int_eq(create_rc(r, "conf-a1", "toy", "n", NULL, "a,b"),
                   AREC_EINVAL);
  ck_assert_int_eq(create_rc(r, "conf-a1", "toy", "n", NULL, ""),
                   AREC_EINVAL);

  arec_agent_spec spec = AREC_AGENT_SPEC_INIT;
  char id[AREC_AGENT_ID_MAX + 1];
  spec.strategy = "toy";
  spec.name = "n";
  spec.user_id = -1;
  ck_assert_int_eq(arec_agent_create(r, &spec, id, sizeof id), AREC_EINVAL);
  spec.user_id = 0;
  ck_assert_int_eq(arec_agent_create(r, &spec, id, AREC_AGENT_ID_MAX),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_agent_create(r, &spec, NULL, 0), AREC_EINVAL);
  ck_assert_int_eq(arec_agent_create(r, NULL, id, sizeof id), AREC_EINVAL);
  ck_assert_int_eq(arec_agent_create(NULL, &spec, id, sizeof id),
                   AREC_EINVAL);
  spec.version = 2;
  ck_assert_int_eq(arec_agent_create(r, &spec, id, sizeof id),
                   AREC_EVERSION);
  ck_assert_uint_eq(count_all(r), 0); /* nothing was created */

  /* accepted: nested params, a plain capability */
  ck_assert_int_eq(create_rc(r, "conf-a1", "toy", "n",
                             " {\"a\": {\"b\": [true, null, -1e3]}} ", "eu-1"),
                   0);
  ck_assert_uint_eq(count_all(r), 1);
}

CONF_REPO_TEST(duplicates_are_refused, CONF_ADMIN) {
  arec_conf_make(r, "conf-a1", 1, 1, 0);
  ck_assert_int_eq(create_rc(r, "conf-a1", "toy", "again", NULL, NULL),
                   AREC_EEXIST);
  ck_assert_int_eq(arec_agent_delete(r, "conf-a1"), 0);
  ck_assert_int_eq(create_rc(r, "conf-a1", "toy", "again", NULL, NULL),
                   AREC_EEXIST);
  ck_assert_uint_eq(count_all(r), 0);
}

/* ------------------------------------------------------------------ assign */
CONF_REPO_TEST(assign_and_unassign_rules, CONF_ADMIN) {
  arec_conf_make(r, "conf-a1", 1, 0, 0);
  ck_assert_int_eq(arec_agent_assign(r, "conf-missing", "BTC/USDT", 1),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "ETH/USDT", 0),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "ETH/USDT", -5),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "ETH/USDT", HUGE_VAL),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "", 1), AREC_EINVAL);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", NULL, 1), AREC_EINVAL);
  ck_assert_int_eq(arec_agent_assign(r, "bad id", "BTC/USDT", 1),
                   AREC_EINVAL);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "ETH/USDT", 50), 0);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "BTC/USDT", 100), 0);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "ETH/USDT", 7),
                   AREC_EEXIST);
  arec_agent_record *a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->nsymbols, 2);
  ck_assert_str_eq(a->symbols[0].symbol, "BTC/USDT"); /* sorted */
  ck_assert_str_eq(a->symbols[1].symbol, "ETH/USDT");
  ck_assert_double_eq_tol(a->symbols[0].budget, 100, 1e-9);
  ck_assert_double_eq_tol(a->symbols[0].balance, 100, 1e-9);
  ck_assert_double_eq_tol(a->symbols[1].budget, 50, 1e-9);
  ck_assert_ptr_nonnull(strstr(a->symbols[1].memory, "{}"));
  ck_assert_uint_eq(a->symbols[0].fence, 0);
  arec_agent_records_free(a, 1);

  /* unassign: not while wanted, not while running */
  ck_assert_int_eq(arec_agent_unassign(r, "conf-a1", "XRP/USDT"),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_unassign(r, "conf-missing", "ETH/USDT"),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-a1", 1), 0);
  ck_assert_int_eq(arec_agent_unassign(r, "conf-a1", "ETH/USDT"),
                   AREC_ECONFLICT);
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A, LEASE, 0), 0);
  uint64_t fence = claim(r, POD_A, INC_A, "conf-a1");
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-a1", 0), 0);
  ck_assert_int_eq(arec_agent_unassign(r, "conf-a1", "ETH/USDT"),
                   AREC_ECONFLICT); /* still running */
  ck_assert_int_eq(r->release(r, "conf-a1", fence), 0);
  ck_assert_int_eq(arec_agent_unassign(r, "conf-a1", "ETH/USDT"), 0);
  a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->nsymbols, 1);
  ck_assert_str_eq(a->symbols[0].symbol, "BTC/USDT");
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(arec_agent_unassign(r, "conf-a1", "ETH/USDT"),
                   AREC_ENOTFOUND);
  /* assigned again: a fresh state */
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "ETH/USDT", 9), 0);
  a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->nsymbols, 2);
  ck_assert_double_eq_tol(a->symbols[1].balance, 9, 1e-9);
  arec_agent_records_free(a, 1);
}

/* ------------------------------------------------------- active / trading */
CONF_REPO_TEST(active_and_trading, CONF_ADMIN) {
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  ck_assert(arec_conf_restorable(r, "conf-a1"));
  ck_assert_int_eq(arec_agent_set_active(r, "conf-a1", 0), 0);
  ck_assert(!arec_conf_restorable(r, "conf-a1"));
  arec_agent_record *a = arec_conf_get(r, "conf-a1");
  ck_assert_int_eq(a->is_active, 0);
  ck_assert_int_eq(a->is_trading, 1);
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-a1", 1), AREC_ECONFLICT);
  ck_assert_int_eq(arec_agent_set_active(r, "conf-a1", 1), 0);
  ck_assert(arec_conf_restorable(r, "conf-a1"));
  ck_assert_int_eq(arec_agent_set_active(r, "conf-missing", 1),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-missing", 1),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_set_active(r, "bad id", 1), AREC_EINVAL);
  ck_assert_int_eq(arec_agent_set_trading(NULL, "conf-a1", 1), AREC_EINVAL);
}

/* ------------------------------------------------------------------ delete */
CONF_REPO_TEST(delete_hides_and_keeps_id, CONF_ADMIN) {
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  arec_conf_make(r, "conf-a2", 1, 1, 1);
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A, LEASE, 0), 0);
  uint64_t fence = claim(r, POD_A, INC_A, "conf-a1");
  arec_symbol_state st = {"BTC/USDT", 77.0, "{\"kept\": 1}"};
  arec_save sv = {"conf-a1", fence, POD_A, 1, &st};
  ck_assert_int_eq(r->save_state(r, &sv), 0);

  ck_assert_int_eq(arec_agent_delete(r, "conf-a1"), 0);
  arec_agent_record *a = NULL;
  ck_assert_int_eq(arec_agent_get(r, "conf-a1", &a), AREC_ENOTFOUND);
  ck_assert_ptr_null(a);
  ck_assert_uint_eq(count_all(r), 1);
  ck_assert_int_eq(arec_agent_set_trading(r, "conf-a1", 1), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_set_active(r, "conf-a1", 1), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_assign(r, "conf-a1", "ETH/USDT", 1),
                   AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_delete(r, "conf-a1"), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_delete(r, "conf-missing"), AREC_ENOTFOUND);
  ck_assert_int_eq(create_rc(r, "conf-a1", "toy", "n", NULL, NULL),
                   AREC_EEXIST);
  /* its runner is told it is no longer wanted; nobody restores it */
  unsigned char u = 9;
  const char *ids[] = {"conf-a1"};
  ck_assert_int_eq(r->unwanted(r, POD_A, INC_A, ids, 1, &u), 0);
  ck_assert_int_eq(u, 1);
  ck_assert(!arec_conf_restorable(r, "conf-a1"));
  ck_assert_int_eq(f->expire_pod(f->ctx, POD_A), 0);
  ck_assert(!arec_conf_restorable(r, "conf-a1"));
  uint64_t g = 0;
  ck_assert_int_eq(r->claim(r, POD_B, INC_B, "conf-a1", &g), AREC_ENOTFOUND);
  /* its state history is kept */
  size_t nh = 0;
  ck_assert_int_eq(f->get_history(f->ctx, "conf-a1", "BTC/USDT", NULL, 0, &nh),
                   0);
  ck_assert_uint_eq(nh, 1);
  a = arec_conf_get(r, "conf-a2"); /* the other agent is untouched */
  ck_assert_int_eq(a->is_trading, 1);
  arec_agent_records_free(a, 1);
}

/* -------------------------------------------------------------------- list */
#define NPAGED 250

static void paged_id(char *out, size_t len, int i) {
  static const char abc[] =
      "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
  snprintf(out, len, "%c%c%03d", abc[(i * 37) % 64], abc[(i * 11 + 5) % 64],
           (i * 7) % 1000);
}

CONF_REPO_TEST(list_pages_in_byte_order, CONF_ADMIN) {
  char id[32];
  for (int i = 0; i < NPAGED; i++) {
    paged_id(id, sizeof id, i);
    arec_conf_make(r, id, 1 + i % 3, 0, 0);
  }
  char seen[NPAGED][32];
  size_t nseen = 0, pages = 0;
  char after[32] = "";
  arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
  flt.limit = 100;
  for (;;) {
    arec_agent_record *v = NULL;
    size_t n = 0;
    flt.after = after[0] ? after : NULL;
    ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), 0);
    ck_assert_uint_le(n, 100);
    for (size_t k = 0; k < n; k++) {
      ck_assert_uint_lt(nseen, NPAGED);
      ck_assert_uint_eq(v[k].nsymbols, 0);
      snprintf(seen[nseen++], sizeof seen[0], "%s", v[k].id);
    }
    if (n)
      snprintf(after, sizeof after, "%s", v[n - 1].id);
    arec_agent_records_free(v, n);
    pages++;
    if (n < 100)
      break;
  }
  ck_assert_uint_eq(pages, 3);
  ck_assert_uint_eq(nseen, NPAGED);
  for (size_t k = 1; k < nseen; k++)
    ck_assert_msg(strcmp(seen[k - 1], seen[k]) < 0,
                  "not in byte order: %s then %s", seen[k - 1], seen[k]);
  for (int i = 0; i < NPAGED; i++) { /* every agent exactly once */
    paged_id(id, sizeof id, i);
    int found = 0;
    for (size_t k = 0; k < nseen; k++)
      found += strcmp(seen[k], id) == 0;
    ck_assert_msg(found == 1, "%s listed %d times", id, found);
  }

  /* limits: NULL filter and 0 mean 100; over 1000 is refused */
  arec_agent_record *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_agent_list(r, NULL, &v, &n), 0);
  ck_assert_uint_eq(n, 100);
  ck_assert_str_eq(v[0].id, seen[0]);
  arec_agent_records_free(v, n);
  flt.after = NULL;
  flt.limit = 0;
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), 0);
  ck_assert_uint_eq(n, 100);
  arec_agent_records_free(v, n);
  flt.limit = 1001;
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), AREC_EINVAL);
  ck_assert_ptr_null(v);
  flt.limit = 1000;
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), 0);
  ck_assert_uint_eq(n, NPAGED);
  arec_agent_records_free(v, n);
  flt.after = seen[NPAGED - 1];
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), 0);
  ck_assert_uint_eq(n, 0);
  arec_agent_records_free(v, n);
  flt.after = NULL;
  flt.version = 9;
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), AREC_EVERSION);
  ck_assert_int_eq(arec_agent_list(r, NULL, NULL, &n), AREC_EINVAL);
}

static size_t list_n(arec_repository *r, const arec_agent_filter *flt,
                     const char *first) {
  arec_agent_record *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_agent_list(r, flt, &v, &n), 0);
  if (first) {
    ck_assert_uint_gt(n, 0);
    ck_assert_str_eq(v[0].id, first);
  }
  arec_agent_records_free(v, n);
  return n;
}

CONF_REPO_TEST(list_filters, CONF_ADMIN | CONF_BACKOFF) {
  arec_conf_make(r, "conf-a1", 1, 2, 1); /* user 1, wanted, runs on A */
  arec_conf_make(r, "conf-a2", 1, 1, 0); /* user 1, not wanted */
  arec_conf_make(r, "conf-b1", 2, 1, 1); /* user 2, wanted, unowned */
  arec_conf_make(r, "conf-b2", 2, 1, 1); /* user 2, wanted, in backoff */
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A, LEASE, 0), 0);
  claim(r, POD_A, INC_A, "conf-a1");
  uint64_t fb = claim(r, POD_B, INC_B, "conf-b2");
  ck_assert_int_eq(r->start_failed(r, "conf-b2", fb, "boom", 60000, 60000,
                                   NULL),
                   0);

  arec_agent_filter flt = AREC_AGENT_FILTER_INIT;
  ck_assert_uint_eq(list_n(r, &flt, "conf-a1"), 4);
  flt.user_id = 2;
  ck_assert_uint_eq(list_n(r, &flt, "conf-b1"), 2);
  flt.user_id = 3;
  ck_assert_uint_eq(list_n(r, &flt, NULL), 0);
  flt.user_id = -1;
  arec_agent_record *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), AREC_EINVAL);
  flt.user_id = 0;
  flt.running_on = POD_A;
  ck_assert_uint_eq(list_n(r, &flt, "conf-a1"), 1);
  flt.running_on = "";
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), AREC_EINVAL);
  flt.running_on = NULL;
  flt.only = AREC_AGENTS_WANTED;
  ck_assert_uint_eq(list_n(r, &flt, "conf-a1"), 3);
  flt.only = AREC_AGENTS_UNOWNED;
  ck_assert_uint_eq(list_n(r, &flt, "conf-a2"), 3);
  flt.only = AREC_AGENTS_WANTED | AREC_AGENTS_UNOWNED;
  ck_assert_uint_eq(list_n(r, &flt, "conf-b1"), 2);
  flt.only = AREC_AGENTS_BACKOFF;
  ck_assert_uint_eq(list_n(r, &flt, "conf-b2"), 1);
  flt.only = AREC_AGENTS_BACKOFF | AREC_AGENTS_WANTED;
  flt.user_id = 1;
  ck_assert_uint_eq(list_n(r, &flt, NULL), 0);
  flt.only = 8;
  flt.user_id = 0;
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), AREC_EINVAL);

  /* with_symbols fills the symbols and the backoff fields are there */
  flt.only = 0;
  flt.with_symbols = 1;
  ck_assert_int_eq(arec_agent_list(r, &flt, &v, &n), 0);
  ck_assert_uint_eq(n, 4);
  ck_assert_uint_eq(v[0].nsymbols, 2);
  ck_assert_str_eq(v[0].symbols[0].symbol, "BTC/USDT");
  ck_assert_str_eq(v[0].symbols[1].symbol, "ETH/USDT");
  ck_assert_str_eq(v[0].running_on, POD_A);
  ck_assert_str_eq(v[0].running_incarnation, INC_A);
  ck_assert_uint_eq(v[3].nsymbols, 1);
  ck_assert_uint_eq(v[3].start_failures, 1);
  ck_assert_str_eq(v[3].last_error, "boom");
  ck_assert_int_gt(v[3].retry_at_ms, 0);
  arec_agent_records_free(v, n);
}

/* --------------------------------------------------------------------- get */
CONF_REPO_TEST(get_shows_symbols_and_saves, CONF_ADMIN) {
  arec_conf_make(r, "conf-a1", 1, 2, 1);
  int64_t t0 = arec_conf_wall_ms();
  uint64_t fence = claim(r, POD_A, INC_A, "conf-a1");
  arec_symbol_state st = {"ETH/USDT", 33.5, "{\"pos\": 4}"};
  arec_save sv = {"conf-a1", fence, POD_A, 1, &st};
  ck_assert_int_eq(r->save_state(r, &sv), 0);
  arec_agent_record *a = arec_conf_get(r, "conf-a1");
  ck_assert_uint_eq(a->fence, fence);
  ck_assert_str_eq(a->running_on, POD_A);
  ck_assert_uint_eq(a->nsymbols, 2);
  ck_assert_str_eq(a->symbols[1].symbol, "ETH/USDT");
  ck_assert_double_eq_tol(a->symbols[1].balance, 33.5, 1e-9);
  ck_assert_double_eq_tol(a->symbols[1].budget, 50, 1e-9);
  ck_assert_ptr_nonnull(strstr(a->symbols[1].memory, "pos"));
  ck_assert_uint_eq(a->symbols[1].fence, fence);
  ck_assert_int_ge(a->symbols[1].updated_at_ms, t0 - 60000);
  ck_assert_uint_eq(a->symbols[0].fence, 0);
  ck_assert_int_ge(a->updated_at_ms, a->symbols[1].updated_at_ms);
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(arec_agent_get(r, "conf-missing", &a), AREC_ENOTFOUND);
  ck_assert_int_eq(arec_agent_get(r, "bad id", &a), AREC_EINVAL);
  ck_assert_int_eq(arec_agent_get(r, "conf-a1", NULL), AREC_EINVAL);
}

/* -------------------------------------------------------------------- pods */
CONF_REPO_TEST(pod_list_shows_live_pods, CONF_ADMIN) {
  arec_pod_record *p = NULL;
  size_t n = 9;
  ck_assert_int_eq(arec_pod_list(r, &p, &n), 0);
  ck_assert_uint_eq(n, 0);
  arec_pod_records_free(p, n);
  arec_conf_make(r, "conf-a1", 1, 1, 1);
  arec_conf_make(r, "conf-a2", 1, 1, 1);
  int64_t t0 = arec_conf_wall_ms();
  ck_assert_int_eq(r->heartbeat(r, POD_B, INC_B, LEASE, 0), 0);
  ck_assert_int_eq(r->heartbeat(r, POD_A, INC_A, LEASE, 0), 0);
  claim(r, POD_A, INC_A, "conf-a1");
  claim(r, POD_A, INC_A, "conf-a2");
  ck_assert_int_eq(arec_pod_list(r, &p, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(p[0].name, POD_A); /* by name */
  ck_assert_str_eq(p[0].incarnation, INC_A);
  ck_assert_uint_eq(p[0].agents, 2);
  ck_assert_int_eq(p[0].leaving, 0);
  ck_assert_int_ge(p[0].heartbeat_at_ms, t0 - 60000);
  ck_assert_int_ge(p[0].lease_until_ms, p[0].heartbeat_at_ms + LEASE - 5000);
  ck_assert_int_le(p[0].started_at_ms, p[0].heartbeat_at_ms);
  ck_assert_str_eq(p[1].name, POD_B);
  ck_assert_uint_eq(p[1].agents, 0);
  arec_pod_records_free(p, n);
  ck_assert_int_eq(r->pod_leaving(r, POD_B, INC_B), 0);
  ck_assert_int_eq(f->expire_pod(f->ctx, POD_A), 0);
  ck_assert_int_eq(arec_pod_list(r, &p, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(p[0].name, POD_B);
  ck_assert_int_eq(p[0].leaving, 1);
  arec_pod_records_free(p, n);
  ck_assert_int_eq(arec_pod_list(r, NULL, &n), AREC_EINVAL);
  arec_pod_records_free(NULL, 0);
}

/* ------------------------------------------------------------ registration */
void arec_conf_admin_add(Suite *s, const arec_repo_fixture *f) {
  const arec_conf_test *tests[] = {
      create_with_and_without_id, create_refuses_bad_arguments,
      duplicates_are_refused, assign_and_unassign_rules, active_and_trading,
      delete_hides_and_keeps_id, list_pages_in_byte_order, list_filters,
      get_shows_symbols_and_saves, pod_list_shows_live_pods};
  arec_conf_add_repo_tests(s, f, "admin-conformance", 60, tests,
                           sizeof tests / sizeof *tests);
}
