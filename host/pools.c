/*
 * pools.c -- opens the pools of pools.h.
 *
 * How: arec_pg_new is retried with a doubling delay (200 ms .. 5 s) until
 * DATABASE_CONNECT_TIMEOUT; then arec_pg_check_session asks two
 * connections of each pool for their server's backend pid (a pool of one
 * connection is checked through a temporary pool of two).  The same
 * backend twice means a pooler in transaction or statement mode: exit 2
 * with the library's one-line reason, which names the pooling mode.
 *
 * Never: log DATABASE_URL (the library keeps it out of its errors too).
 */
#include "pools.h"

#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "log.h"
#include "policy.h"
#include "signals.h"

typedef struct opening {
  arec_pg_options o;
  arec_pg *pg;
  int bad_options;
} opening;

static int connect_attempt(void *ud, int attempt, int64_t left_ms) {
  (void)attempt;
  opening *op = ud;
  op->o.connect_timeout_ms =
      left_ms < 5000 ? (left_ms < 1000 ? 1000 : left_ms) : 5000;
  int rc = arec_pg_new(&op->pg, &op->o);
  if (rc == 0) return 0;
  if (rc == AREC_EINVAL) {
    op->bad_options = 1;
    return -1;
  }
  return 1;
}

static int open_one(arec_pg **out, const arec_pg_options *o,
                    int64_t timeout_ms) {
  opening op = {*o, NULL, 0};
  arec_host_retry r = {0};
  r.retry_msg = "database unreachable, retrying";
  r.giveup_msg = "database unreachable, giving up";
  r.timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
  int rc = arec_host_retry_run(&r, connect_attempt, &op);
  *out = op.pg;
  if (rc == AREC_HOST_RETRY_DONE) return 0;
  if (op.bad_options) {
    fprintf(stderr, "agentrecoverd: DATABASE_URL: %s\n", arec_error_last());
    return 2;
  }
  if (rc == AREC_HOST_RETRY_INTERRUPTED) return -1;
  return 1;
}

/* 0, or 2 after one line naming the pooling mode; 1 when the check could
 * not be made (the database went away). */
static int check_session(arec_pg *pg, const arec_pg_options *o,
                         const char *which) {
  arec_pg *tmp = NULL;
  int rc;
  if (o->pool_size < 2) {
    arec_pg_options t = *o;
    t.pool_size = 2;
    rc = arec_pg_new(&tmp, &t);
    if (rc == 0) rc = arec_pg_check_session(tmp);
    arec_pg_free(tmp);
  } else {
    rc = arec_pg_check_session(pg);
  }
  if (rc == 0) return 0;
  if (rc == AREC_ECONFLICT) {
    fprintf(stderr, "agentrecoverd: DATABASE_URL: the %s pool: %s\n", which,
            arec_error_last());
    return 2;
  }
  hlog(AREC_LOG_ERROR, "database session check failed", HL_S("pool", which),
       HL_S("error", arec_error_last()), HL_END);
  return 1;
}

int arec_host_pools_open(arec_host_pools *p, const arec_host_config *cfg,
                         int which) {
  memset(p, 0, sizeof *p);
  int64_t deadline = arec_host_now_ms() + cfg->database_connect_timeout_ms;
  arec_pg_options mo, ao;
  arec_host_policy_manager_pool(cfg, &mo);
  arec_host_policy_admin_pool(cfg, &ao);
  int rc = 0;
  if (which & AREC_POOL_MANAGER)
    rc = open_one(&p->mgr, &mo, deadline - arec_host_now_ms());
  if (rc == 0 && (which & AREC_POOL_ADMIN))
    rc = open_one(&p->admin, &ao, deadline - arec_host_now_ms());
  if (rc == 0 && p->mgr) rc = check_session(p->mgr, &mo, "manager");
  if (rc == 0 && p->admin) rc = check_session(p->admin, &ao, "admin");
  if (rc != 0) {
    arec_host_pools_close(p);
    return rc;
  }
  hlog(AREC_LOG_INFO, "database connected",
       HL_I("pool_size", p->mgr ? (long long)mo.pool_size : 0),
       HL_I("admin_pool_size", p->admin ? (long long)ao.pool_size : 0),
       HL_I("statement_timeout_ms", p->admin ? ao.statement_timeout_ms : 0),
       HL_END);
  return 0;
}

void arec_host_pools_close(arec_host_pools *p) {
  arec_pg_free(p->admin);
  arec_pg_free(p->mgr);
  p->admin = NULL;
  p->mgr = NULL;
}
