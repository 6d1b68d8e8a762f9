/*
 * test_host_api_ctl.c -- the admin API's trading controls over the real
 * service and PostgreSQL (tests/support/host/api_fixture.c): an agent's "mode" at
 * creation (default the pod's, refused when it is neither paper nor live
 * or contradicts the params) and in GET and lists, a live agent requiring
 * the capability "live" (this paper pod records the start and leaves it
 * to a live pod), risk limits refused naming the field; unassign refused
 * while the agent runs; a user's exchange accounts listed (never a key)
 * and removed (refused while an agent uses one); stop_all; the supported
 * exchanges; the read-only reports (balance with its total, trades,
 * daily, performance) and the read token's 403 on the controls.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/host/api_fixture.h"
#include "support/runner.h"

/* Waits until agent id has no owner (its runner released it). */
static void wait_unowned(const char *id) {
  for (int t = 0; t < 5000; t += 20) {
    arec_agent_record *a = NULL;
    arec_svc_result r;
    const arec_svc_actor who = {AREC_ACTOR_API_ADMIN, 0, NULL};
    ck_assert_int_eq(arec_svc_agent_get(api.svc, &who, id, &a, &r), 0);
    int free_now = a->running_on == NULL;
    arec_agent_records_free(a, 1);
    if (free_now) return;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  ck_abort_msg("agent %s still owned", id);
}

static const char *field_str(const cJSON *j, const char *k) {
  return str(j, k) ? str(j, k) : "(none)";
}

START_TEST(mode_at_creation_and_in_reads) {
  seed(701, "BTC/USDT", NULL);
  cJSON *j = NULL;
  /* no mode: the pod's (paper), written into the params */
  ck_assert_int_eq(call("POST", "/api/agents",
                        "{\"user_id\": 701, \"strategy\": \"noop\", \"name\": "
                        "\"P\", \"id\": \"m-paper\"}", &j), 201);
  ck_assert_str_eq(field_str(j, "mode"), "paper");
  cJSON_Delete(j);
  /* live: requires a live pod */
  ck_assert_int_eq(call("POST", "/api/agents",
                        "{\"user_id\": 701, \"strategy\": \"noop\", \"name\": "
                        "\"L\", \"id\": \"m-live\", \"mode\": \"live\", "
                        "\"params\": {\"risk\": {\"max_position\": 200, "
                        "\"max_daily_loss\": 25}}}", &j), 201);
  ck_assert_str_eq(field_str(j, "mode"), "live");
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/agents/m-live", NULL, &j), 200);
  ck_assert_str_eq(field_str(j, "mode"), "live");
  cJSON_Delete(j);
  arec_agent_record *a = NULL;
  arec_svc_result r;
  const arec_svc_actor who = {AREC_ACTOR_API_ADMIN, 0, NULL};
  ck_assert_int_eq(arec_svc_agent_get(api.svc, &who, "m-live", &a, &r), 0);
  ck_assert_str_eq(a->requires, "live");
  /* the params keep the risk limits and say the mode */
  cJSON *p = cJSON_Parse(a->params);
  ck_assert_str_eq(field_str(p, "mode"), "live");
  ck_assert_double_eq(
      cJSON_GetObjectItem(cJSON_GetObjectItem(p, "risk"), "max_daily_loss")
          ->valuedouble,
      25);
  cJSON_Delete(p);
  arec_agent_records_free(a, 1);
  ck_assert_int_eq(arec_svc_agent_get(api.svc, &who, "m-paper", &a, &r), 0);
  ck_assert_ptr_null(a->requires);
  arec_agent_records_free(a, 1);
  /* this paper pod records the start and leaves the agent to a live pod */
  expect_status(201, "POST", "/api/agents/m-live/assign",
                "{\"symbol\": \"BTC/USDT\", \"balance\": 100}");
  ck_assert_int_eq(call("POST", "/api/agents/start/m-live", NULL, &j), 202);
  ck_assert_ptr_nonnull(strstr(field_str(j, "message"), "a pod offering it"));
  cJSON_Delete(j);
  ck_assert_uint_eq(arec_manager_has_type(api.mgr, "noop"), 1);
  ck_assert_int_eq(arec_svc_agent_get(api.svc, &who, "m-live", &a, &r), 0);
  ck_assert_int_eq(a->is_trading, 1);
  ck_assert_ptr_null(a->running_on);
  arec_agent_records_free(a, 1);
  /* the list shows each agent's mode */
  const cJSON *arr =
      get_list(ADMIN, "/api/agents?user_id=701", "agents", 2, &j);
  ck_assert_str_eq(field_str(cJSON_GetArrayItem(arr, 0), "mode"), "live");
  ck_assert_str_eq(field_str(cJSON_GetArrayItem(arr, 1), "mode"), "paper");
  cJSON_Delete(j);
  /* refusals name the field: the members added to a good body, the
   * field */
  static const char *const bad[][2] = {
      {"\"mode\": \"yolo\"", "mode"},
      {"\"mode\": \"paper\", \"params\": {\"mode\": \"live\"}", "mode"},
      {"\"params\": {\"risk\": {\"max_position\": -5}}", "risk.max_position"},
      {"\"params\": {\"risk\": {\"max_daily_loss\": \"9\"}}",
       "risk.max_daily_loss"},
      {"\"params\": {\"risk\": [1]}", "risk"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"user_id\": 701, \"strategy\": \"noop\", \"name\": \"X\", "
             "%s}",
             bad[i][0]);
    expect_error(400, "POST", "/api/agents", body, bad[i][1], bad[i][1]);
  }
}
END_TEST

START_TEST(unassign_accounts_and_stop_all) {
  seed(702, "BTC/USDT", "c-a1");
  cJSON *j = NULL;
  const cJSON *ex = get_list(ADMIN, "/api/exchanges", "exchanges", 1, &j);
  ck_assert_str_eq(cJSON_GetArrayItem(ex, 0)->valuestring, "binance");
  cJSON_Delete(j);
  ck_assert_int_eq(call("GET", "/api/users/702/exchanges", NULL, &j), 200);
  char *txt = cJSON_PrintUnformatted(j);
  ck_assert_ptr_null(strstr(txt, "K-visible"));
  ck_assert_ptr_null(strstr(txt, "S-hidden"));
  free(txt);
  const cJSON *acc = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "exchanges"), 0);
  ck_assert_ptr_nonnull(acc);
  long long exid = (long long)cJSON_GetObjectItem(acc, "id")->valuedouble;
  ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(acc, "testnet")));
  cJSON_Delete(j);
  char path[96];
  snprintf(path, sizeof path, "/api/users/702/exchanges/%lld", exid);

  /* running: neither the symbol nor the account can go */
  expect_status(200, "POST", "/api/agents/start/c-a1", NULL);
  expect_error(409, "POST", "/api/agents/c-a1/unassign",
               "{\"symbol\": \"BTC/USDT\"}", "stop it first", NULL);
  expect_error(409, "DELETE", path, NULL, "c-a1", NULL);
  /* nobody else's account, and ids are numbers */
  expect_error(404, "DELETE", "/api/users/703/exchanges/1", NULL, NULL, NULL);
  expect_error(400, "DELETE", "/api/users/702/exchanges/abc", NULL, "id",
               "id");
  /* the read token reads, and changes nothing */
  ck_assert_int_eq(call_as(READ, "GET", "/api/users/702/exchanges", NULL,
                           NULL, NULL), 200);
  ck_assert_int_eq(call_as(READ, "POST", "/api/users/702/stop_all", "{}",
                           NULL, NULL), 403);
  ck_assert_int_eq(call_as(READ, "DELETE", path, NULL, NULL, NULL), 403);
  /* stop all of the user's agents */
  ck_assert_int_eq(call("POST", "/api/users/702/stop_all", "{}", &j), 200);
  ck_assert_int_eq(cJSON_GetObjectItem(j, "stopped")->valueint, 1);
  cJSON_Delete(j);
  wait_unowned("c-a1");
  ck_assert_int_eq(call("POST", "/api/users/702/stop_all", "{}", &j), 200);
  ck_assert_int_eq(cJSON_GetObjectItem(j, "stopped")->valueint, 0);
  cJSON_Delete(j);
  /* stopped: both go */
  expect_error(404, "POST", "/api/agents/c-a1/unassign",
               "{\"symbol\": \"ETH/USDT\"}", "no symbol", "symbol");
  ck_assert_int_eq(call("POST", "/api/agents/c-a1/unassign",
                        "{\"symbol\": \"btc/usdt\"}", &j), 200);
  ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "unassigned")));
  cJSON_Delete(j);
  expect_count(ADMIN, "/api/agents/c-a1", "symbols", 0);
  ck_assert_int_eq(call("DELETE", path, NULL, &j), 200);
  ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "removed")));
  cJSON_Delete(j);
  expect_error(404, "DELETE", path, NULL, NULL, NULL);
  expect_count(ADMIN, "/api/users/702/exchanges", "exchanges", 0);
  /* the methods of the new paths */
  const char *allow = NULL;
  ck_assert_int_eq(call_as(ADMIN, "PUT", "/api/users/4/exchanges/5", NULL,
                           NULL, &allow), 405);
  ck_assert_str_eq(allow, "DELETE");
  ck_assert_int_eq(call_as(ADMIN, "POST", "/api/users/4/balance", "{}", NULL,
                           &allow), 405);
  ck_assert_str_eq(allow, "GET");
}
END_TEST

START_TEST(reports_of_a_user) {
  seed(704, "BTC/USDT", "r-a1");
  seed(705, "ETH/USDT", "r-b1");
  cJSON *j = NULL;
  ck_assert_int_eq(call_as(READ, "GET", "/api/users/704/balance", NULL, &j,
                           NULL), 200);
  const cJSON *ag = cJSON_GetObjectItem(j, "agents");
  ck_assert_int_eq(cJSON_GetArraySize(ag), 1);
  const cJSON *row = cJSON_GetArrayItem(ag, 0);
  ck_assert_str_eq(field_str(row, "agent_id"), "r-a1");
  ck_assert_str_eq(field_str(row, "quote"), "USDT");
  ck_assert_str_eq(field_str(row, "mode"), "paper");
  ck_assert_double_eq(cJSON_GetObjectItem(row, "cash")->valuedouble, 500);
  ck_assert_double_eq(cJSON_GetObjectItem(row, "value")->valuedouble, 500);
  ck_assert_double_eq(
      cJSON_GetObjectItem(cJSON_GetObjectItem(j, "total"), "USDT")->valuedouble,
      500);
  cJSON_Delete(j);
  expect_count(ADMIN, "/api/users/704/trades?limit=5", "trades", 0);
  expect_error(400, "GET", "/api/users/704/trades?limit=201", NULL, "limit",
               "limit");
  const cJSON *days =
      get_list(ADMIN, "/api/users/704/daily?days=3", "days", 3, &j);
  ck_assert_str_eq(field_str(cJSON_GetArrayItem(days, 0), "quote"), "USDT");
  ck_assert_int_eq(
      cJSON_GetObjectItem(cJSON_GetArrayItem(days, 2), "trades")->valueint, 0);
  cJSON_Delete(j);
  expect_error(400, "GET", "/api/users/704/daily?days=0", NULL, "days",
               "days");
  const cJSON *sy =
      get_list(ADMIN, "/api/users/705/performance", "symbols", 1, &j);
  ck_assert_str_eq(field_str(cJSON_GetArrayItem(sy, 0), "symbol"), "ETH/USDT");
  cJSON_Delete(j);
  expect_error(400, "GET", "/api/users/0/balance", NULL, "uid", "uid");
}
END_TEST

int main(void) {
  const TTest *tests[] = {mode_at_creation_and_in_reads,
      unassign_accounts_and_stop_all, reports_of_a_user, NULL};
  Suite *s = suite_create("host_api_ctl");
  api_tcase(s, "controls", 30, tests);
  return arec_test_main(s, &g_pg, AREC_TEST_MIGRATED, NULL);
}
