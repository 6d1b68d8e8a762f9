/*
 * api_fixture.h -- what the admin API's and the fleet page's test binaries
 * share (test_host_api.c, test_host_api_ctl.c, test_host_ui.c): the route
 * table and the router over the real service layer and a real PostgreSQL
 * 15 (harness), with a manager over the PostgreSQL repository and the
 * in-memory lock (so a held or unreachable lock can be forced), a per-test
 * setup and teardown, one request through the router (every error checked
 * to be {"error", "field"?, "request_id"?} without database internals),
 * and the seeding of a user with an exchange account, a pair and a noop
 * agent.  Host-only: linked by those binaries (tests/support/build.mk).
 */
#ifndef AREC_TESTS_HOST_API_FIXTURE_H
#define AREC_TESTS_HOST_API_FIXTURE_H

#include <cJSON.h>
#include <check.h>

#include "../host/router.h"
#include "../host/store.h"
#include "../host/strategies.h"
#include "agentrecover/memory.h"
#include "agentrecover/pg.h"
#include "support/harness.h"

#define ADMIN "api-admin-token-0123456789"
#define READ "api-read-token-0123456789"

/* The database of the whole binary: started by its main (runner.h). */
extern arec_test_pg g_pg;

/* What setup() makes for each test (each runs in its own forked child). */
typedef struct api_fixture {
  const char *pod; /* the manager's and the service's pod name */
  arec_pg *pg, *admin;
  arec_memory_store *mem;
  arec_manager *mgr;
  arec_host_store *store;
  arec_svc *svc;
  arec_host_state st; /* the router's: ADMIN and READ tokens */
  arec_host_strategy_ctx strategies;
} api_fixture;
extern api_fixture api;

void setup(void);
void teardown(void);
/* A test case of s with the NULL-ended tests (runner.h's arec_test_cases),
 * each run between setup() and teardown(). */
TCase *api_tcase(Suite *s, const char *name, double timeout_s,
                 const TTest *const *tests);

/* One request through the router with `token` (NULL: none), the query
 * string of path parsed into its parameters: the whole response (its body
 * freed by the caller). */
arec_host_response api_request(const char *token, const char *method,
                               const char *path, const char *body);
/* The same; the status, *out the parsed body, *allow the Allow header
 * (static) or NULL; an error's body is checked as above. */
int call_as(const char *token, const char *method, const char *path,
            const char *body, cJSON **out, const char **allow);
/* call_as with the admin token. */
int call(const char *method, const char *path, const char *body,
         cJSON **out);
/* j's string member k, or NULL. */
const char *str(const cJSON *j, const char *k);
/* Asserts the status and that {"error"} mentions `needle` and names
 * `field` (NULL: any). */
void expect_error(int status, const char *method, const char *path,
                  const char *body, const char *needle, const char *field);
void expect_status(int status, const char *method, const char *path,
                   const char *body);
/* GET path with `token` answers 200 with n items in its list `list`:
 * that list, *out the parsed body (the caller deletes it). */
const cJSON *get_list(const char *token, const char *path, const char *list,
                      int n, cJSON **out);
/* The same, the body deleted. */
void expect_count(const char *token, const char *path, const char *list,
                  int n);
/* user `uid` with an exchange and a pair for `symbol`, agent `id` (noop)
 * assigned it when id is not NULL. */
void seed(long long uid, const char *symbol, const char *id);

#endif
