/*
 * svc_fixture.h -- shared by the tests of the host's service layer
 * (test_host_service.c, test_host_actors.c): a service over a real
 * PostgreSQL 15 (the administrative pool, a pg repository, the host's
 * store with a secrets key or without) and a manager on its own pool whose
 * lock is the memory lock (so the lock service can fail or be held by
 * another pod), with the host's strategies (the trading ones on a fake
 * exchange, credentials through the store's account hook) and two test
 * types: "refuser" (start refuses for good) and "flaky" (start fails for
 * now).  Actors, an EXPECT(call, status) check and audit readers.
 * Host-only: linked by those binaries (tests/support/build.mk).
 */
#ifndef AREC_TESTS_HOST_SVC_FIXTURE_H
#define AREC_TESTS_HOST_SVC_FIXTURE_H

#include "agentrecover/memory.h"
#include "service.h"
#include "strategies.h"
#include "support/host/fake_exchange.h"
#include "support/host/store_fixture.h"
#include "trading/trading.h"

#define FX_KEY "fx-key-Z1"
#define FX_SECRET "fx-secret-Z2"
#define SECRET_WORD "sekr3t"

/* ------------------------------------------------------------ fixture */
typedef struct fix {
  arec_pg *pg;        /* the administrative pool */
  arec_pg *mpg;       /* the manager's pool */
  arec_memory_store *mst;
  arec_host_store *store;
  arec_manager *mgr;
  arec_svc *svc;
  arec_fx *fx;
  arec_exchange_hub *hub;
  arec_host_trading_config tc;
  arec_host_strategy_ctx ctx;
  arec_agent_type extra[2];
} fix;

/* A fixture on the binary's database; with_key: the store has the test
 * secrets key. */
void fix_init(fix *f, int with_key);
void fix_free(fix *f);

extern const arec_svc_actor ADMIN, READER, OPEN;

/* The number of audit rows. */
long long audit_rows(void);

#define EXPECT(call, st)                                                       \
  do {                                                                         \
    arec_svc_result *r_ = &res;                                                \
    int rc_ = (call);                                                          \
    ck_assert_msg(r_->status == (st), "%s: %d %s (field %s)", #call,           \
                  r_->status, r_->message, r_->field);                         \
    ck_assert_int_eq(rc_ == 0, r_->status >= 200 && r_->status < 300);         \
  } while (0)

/* The newest audit event (through the service, as an admin reads it); free
 * *all with arec_svc_events_free(*all, *n). */
arec_svc_event *last_event(fix *f, arec_svc_event **all, size_t *n);
/* The newest audit event is (actor, action, agent or none, uid) with a
 * result starting with result_prefix. */
void expect_event(fix *f, const char *actor, const char *action,
                  const char *agent, long long uid, const char *result_prefix);
/* A user with an account and a pair for `symbol` (admin): the account. */
long long setup_user(fix *f, long long uid, const char *symbol);
/* Agent id of uid with strategy, created by who (asserted 201). */
void create_agent(fix *f, const arec_svc_actor *who, const char *id,
                  long long uid, const char *strategy);

#endif
