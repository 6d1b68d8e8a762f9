/*
 * test_ctl.c -- build/agentrecoverctl against two real build/agentrecoverd
 * pods (test_ctl_fixture.h): every command's table (header, columns as wide
 * as their widest cell, two spaces apart, no trailing spaces, each cell
 * equal to the server's value) and --json output (the server's document,
 * or for agents and audit the concatenated pages); 250 agents come back
 * complete through keyset pages; 409 refusals of start and migrate with
 * the service's reason; the token never appears on stdout or stderr.
 * audit and strategies read GET /api/audit and GET /api/strategies.
 */
#include "test_ctl_fixture.h"
#include "support/runner.h"

/* ------------------------------------------------------------------ tests */
START_TEST(pods_table_and_json) {
  run r = ctl(0, "pods");
  cJSON *srv = get_json("/api/pods");
  const cJSON *pods = cJSON_GetObjectItem(srv, "pods");
  const char *const head[] = {"NAME", "INCARNATION", "LEASE_UNTIL", "AGENTS"};
  const char *const keys[] = {"name", "incarnation", NULL, NULL};
  table t = parse_table(r.out, head, 4);
  ck_assert_int_eq(t.rows - 1, 2);
  ck_assert_int_eq(cJSON_GetArraySize(pods), 2);
  for (int i = 1; i < t.rows; i++) { /* leases move on, counts may change */
    assert_row(&t, i, cJSON_GetArrayItem(pods, i - 1), keys);
    ck_assert_msg(!strncmp(cell(&t, i, 2), "20", 2), "%s", cell(&t, i, 2));
    ck_assert_int_ge(atoi(cell(&t, i, 3)), 0);
  }
  table_free(&t);
  run_free(&r);
  cJSON *j = ctl_json("pods");
  const cJSON *jp = cJSON_GetObjectItem(j, "pods");
  ck_assert_int_eq(cJSON_GetArraySize(jp), 2);
  for (int i = 0; i < 2; i++)
    ck_assert(cJSON_Compare(cJSON_GetObjectItem(cJSON_GetArrayItem(jp, i), "name"),
                            cJSON_GetObjectItem(cJSON_GetArrayItem(pods, i), "name"), 1));
  cJSON_Delete(j);
  cJSON_Delete(srv);
}
END_TEST

START_TEST(agents_and_agent) {
  seed_user(7001, SYMS);
  const char *a1[] = {"BTC/USDT=500", "ETH/USDT=1250", NULL};
  const char *a2[] = {"ETH/USDT=12.5", NULL};
  seed_agent(7001, "ctl-u-a", a1);
  seed_agent(7001, "ctl-u-b", a2);
  seed_agent(7001, "ctl-u-c", NULL);
  cJSON *srv[3] = {get_json("/api/agents/ctl-u-a"),
                   get_json("/api/agents/ctl-u-b"),
                   get_json("/api/agents/ctl-u-c")};
  run r = ctl(0, "agents", "--user", "7001");
  table t = parse_table(r.out, AGENT_HEAD, 10);
  ck_assert_int_eq(t.rows, 4);
  for (int i = 0; i < 3; i++) assert_row(&t, i + 1, srv[i], AGENT_KEYS);
  ck_assert_str_eq(cell(&t, 1, 8), "BTC/USDT,ETH/USDT");
  ck_assert_str_eq(cell(&t, 3, 6), "-");
  table_free(&t);
  run_free(&r);
  cJSON *arr = ctl_json("agents", "--user=7001");
  ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
  for (int i = 0; i < 3; i++)
    ck_assert(cJSON_Compare(cJSON_GetArrayItem(arr, i), srv[i], 1));
  cJSON_Delete(arr);
  arr = ctl_json("agents", "--user", "7001", "--limit", "2");
  ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
  cJSON_Delete(arr);

  /* agent ID: "key  value" lines in the server's order, then the symbols */
  r = ctl(0, "agent", "ctl-u-a");
  char *blank = strstr(r.out, "\n\n");
  ck_assert_ptr_nonnull(blank);
  blank[1] = 0;
  t = parse_table(r.out, NULL, 2);
  const cJSON *f;
  int row = 0;
  cJSON_ArrayForEach(f, srv[0]) {
    const char *kv[2] = {" key", f->string};
    cJSON *o = cJSON_Duplicate(srv[0], 1);
    cJSON_AddStringToObject(o, " key", f->string);
    ck_assert_int_lt(row, t.rows);
    assert_row(&t, row++, o, kv);
    cJSON_Delete(o);
  }
  ck_assert_int_eq(row, t.rows);
  table_free(&t);
  const char *const sh[] = {"SYMBOL", "BUDGET", "BALANCE", "FENCE", "UPDATED_AT"};
  const char *const sk[] = {"symbol", "budget", "balance", "fence", "updated_at"};
  t = parse_table(blank + 2, sh, 5);
  ck_assert_int_eq(t.rows - 1, 2);
  for (int i = 0; i < 2; i++)
    assert_row(&t, i + 1, cJSON_GetArrayItem(cJSON_GetObjectItem(srv[0], "symbols"), i), sk);
  table_free(&t);
  run_free(&r);
  /* --json: the server's document as it came */
  r = ctl(0, "agent", "ctl-u-b", "--json");
  char *body = NULL;
  ck_assert_int_eq(api("GET", "/api/agents/ctl-u-b", NULL, &body), 200);
  ck_assert_int_eq(strlen(r.out), strlen(body) + 1);
  ck_assert(!strncmp(r.out, body, strlen(body)) && r.out[strlen(body)] == '\n');
  free(body);
  run_free(&r);
  for (int i = 0; i < 3; i++) cJSON_Delete(srv[i]);
}
END_TEST

START_TEST(agents_pages_through_250) {
  seed_user(7002, NULL);
  for (int i = 0; i < 250; i++) {
    char id[32];
    snprintf(id, sizeof id, "ctl-p-%03d", i);
    seed_agent(7002, id, NULL);
  }
  run r = ctl(0, "-v", "agents", "--user", "7002", "--json");
  cJSON *arr = cJSON_Parse(r.out);
  ck_assert_int_eq(cJSON_GetArraySize(arr), 250);
  char seen[250] = {0};
  const cJSON *a;
  cJSON_ArrayForEach(a, arr) {
    int k = -1;
    ck_assert_int_eq(sscanf(cJSON_GetObjectItem(a, "id")->valuestring,
                            "ctl-p-%d", &k), 1);
    ck_assert(k >= 0 && k < 250 && !seen[k]);
    seen[k] = 1;
  }
  cJSON_Delete(arr);
  /* keyset pages: the first without a cursor, every other after one */
  int gets = 0, afters = 0;
  for (const char *p = r.err; (p = strstr(p, "> GET ")) != NULL; p++) {
    const char *af = strstr(p, "after=");
    gets++;
    afters += af && af < strchr(p, '\n');
  }
  ck_assert_int_ge(gets, 3);
  ck_assert_int_eq(afters, gets - 1);
  ck_assert_ptr_nonnull(strstr(r.err, "(bearer token set)"));
  run_free(&r);

  /* every agent of every user, each once */
  arr = ctl_json("agents");
  char *cnt = NULL, want[32];
  ck_assert_int_eq(arec_test_pg_sql(&g_pg, "SELECT count(*), count(DISTINCT "
                                    "id) FROM agent_configs", &cnt), 0);
  snprintf(want, sizeof want, "%d|%d", cJSON_GetArraySize(arr),
           cJSON_GetArraySize(arr));
  ck_assert_msg(!strncmp(cnt, want, strlen(want)), "db %s, cli %s", cnt, want);
  free(cnt);
  cJSON_Delete(arr);
  r = ctl(0, "agents", "--user", "7002");
  table t = parse_table(r.out, AGENT_HEAD, 10);
  ck_assert_int_eq(t.rows, 251);
  table_free(&t);
  run_free(&r);
  arr = ctl_json("agents", "--limit", "7");
  ck_assert_int_eq(cJSON_GetArraySize(arr), 7);
  cJSON_Delete(arr);
}
END_TEST

START_TEST(start_stop_migrate) {
  seed_user(7003, SYMS);
  const char *as[] = {"BTC/USDT=100", NULL};
  seed_agent(7003, "ctl-ss-1", as);
  seed_agent(7003, "ctl-nosym", NULL);
  run r = ctl(0, "start", "ctl-ss-1");
  ck_assert_str_eq(r.out, "ID        RUNNING_ON\nctl-ss-1  ctl-pod-a\n");
  run_free(&r);
  cJSON *j = ctl_json("start", "ctl-ss-1");
  ck_assert_str_eq(cJSON_GetObjectItem(j, "running_on")->valuestring,
                   "ctl-pod-a");
  cJSON_Delete(j);
  r = ctl(0, "migrate", "ctl-ss-1", "ctl-pod-b");
  ck_assert_str_eq(r.out, "ID        TO         STATUS\n"
                          "ctl-ss-1  ctl-pod-b  migrating\n");
  run_free(&r);
  /* the service's reason, which names the pod (and no database internal) */
  run m = ctl_env(1, NULL, NULL, "migrate", "ctl-ss-1", "ctl-pod-gone",
                  (const char *)NULL);
  ck_assert_str_eq(m.out, "");
  ck_assert_msg(strstr(m.err, "HTTP 409: cannot migrate") &&
                    strstr(m.err, "ctl-pod-gone") && !strstr(m.err, "pg:"),
                "%s", m.err);
  run_free(&m);
  r = ctl(0, "stop", "ctl-ss-1");
  ck_assert_str_eq(r.out, "ID        IS_TRADING\nctl-ss-1  false\n");
  run_free(&r);
  fails(1, "has no symbols or is disabled", NULL, NULL,
        "start", "ctl-nosym", NULL);
}
END_TEST

START_TEST(audit_table_json_and_paging) {
  seed_user(7004, SYMS);
  const char *as[] = {"ETH/USDT=50", NULL};
  seed_agent(7004, "ctl-aud-1", as);
  for (int i = 0; i < 2; i++) { /* four admin actions on the agent */
    run r = ctl(0, "start", "ctl-aud-1");
    run_free(&r);
    r = ctl(0, "stop", "ctl-aud-1");
    run_free(&r);
  }
  cJSON *all = ctl_json("audit");
  int n = cJSON_GetArraySize(all), mine = 0;
  ck_assert_int_ge(n, 4);
  const char *const head[] = {"ID", "TIME", "ACTOR", "ACTION", "AGENT_ID",
                              "USER_ID", "RESULT"};
  const char *const keys[] = {"id", "time", "actor", "action", "agent_id",
                              "user_id", "result"};
  const cJSON *e;
  cJSON_ArrayForEach(e, all) {
    for (int k = 0; k < 7; k++)
      ck_assert_ptr_nonnull(cJSON_GetObjectItem(e, keys[k]));
    const cJSON *ag = cJSON_GetObjectItem(e, "agent_id");
    mine += cJSON_IsString(ag) && !strcmp(ag->valuestring, "ctl-aud-1");
  }
  ck_assert_int_ge(mine, 4);
  run r = ctl(0, "audit");
  table t = parse_table(r.out, head, 7);
  ck_assert_int_ge(t.rows - 1, n); /* events may be added meanwhile */
  for (int i = 0; i < n; i++) {
    char id[64];
    int row = 1;
    as_cell(cJSON_GetObjectItem(cJSON_GetArrayItem(all, i), "id"), id, 64);
    while (row < t.rows && strcmp(cell(&t, row, 0), id)) row++;
    ck_assert_msg(row < t.rows, "event %s not in:\n%s", id, r.out);
    assert_row(&t, row, cJSON_GetArrayItem(all, i), keys);
  }
  table_free(&t);
  run_free(&r);
  /* one event, then the one after it, and the hint to read on */
  char first[64], second[64];
  as_cell(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 0), "id"), first, 64);
  as_cell(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 1), "id"), second, 64);
  cJSON *one = ctl_json("audit", "--limit", "1");
  ck_assert_int_eq(cJSON_GetArraySize(one), 1);
  ck_assert(cJSON_Compare(cJSON_GetArrayItem(one, 0), cJSON_GetArrayItem(all, 0), 1));
  cJSON_Delete(one);
  r = ctl(0, "audit", "--after", first, "--limit", "1");
  t = parse_table(r.out, head, 7);
  ck_assert_int_eq(t.rows, 2);
  ck_assert_str_eq(cell(&t, 1, 0), second);
  ck_assert_ptr_nonnull(strstr(r.err, "audit --after"));
  table_free(&t);
  run_free(&r);
  cJSON_Delete(all);
}
END_TEST

/* GET /api/strategies: the strategy names (the daemon registers "noop"). */
START_TEST(strategies_table_and_json) {
  cJSON *doc = ctl_json("strategies"), *list = doc;
  if (!cJSON_IsArray(list)) list = cJSON_GetObjectItem(doc, "strategies");
  ck_assert(cJSON_IsArray(list));
  run r = ctl(0, "strategies");
  const char *const head[] = {"NAME"};
  table t = parse_table(r.out, head, 1);
  ck_assert_int_eq(t.rows - 1, cJSON_GetArraySize(list));
  int noop = 0;
  for (int i = 1; i < t.rows; i++) {
    const cJSON *s = cJSON_GetArrayItem(list, i - 1);
    if (cJSON_IsObject(s)) s = cJSON_GetObjectItem(s, "name");
    ck_assert_str_eq(cell(&t, i, 0), s->valuestring);
    noop += !strcmp(cell(&t, i, 0), "noop");
  }
  ck_assert_int_eq(noop, 1);
  table_free(&t);
  cJSON_Delete(doc);
  run_free(&r);
}
END_TEST
int main(void) {
  const TTest *tests_tc[] = {pods_table_and_json, agents_and_agent,
      agents_pages_through_250, start_stop_migrate, NULL};
  const TTest *tests_tn[] = {audit_table_json_and_paging,
      strategies_table_and_json, NULL};
  if (ctl_fixture_start(2) != 0) return EXIT_FAILURE;
  Suite *s = suite_create("ctl");
  arec_test_cases(s, "cli", 120, tests_tc);
  arec_test_cases(s, "audit_and_strategies", 60, tests_tn);
  return ctl_fixture_run(s);
}
