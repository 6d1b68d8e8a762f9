/*
 * lifecycle.c -- agentrecoverd's start-up, serve loop and teardown
 * (lifecycle.h); the SIGTERM budget itself is in shutdown.c.
 *
 * How: every part is created in dependency order into one daemon struct;
 * a failure stops the start-up with its exit code and the teardown frees
 * what exists, newest first.  The main thread keeps the signals (it sleeps
 * the start-up backoffs and the serve loop in sigtimedwait) and watches the
 * manager's refresher for /healthz.
 *
 * Never: log DATABASE_URL, REDIS_PASSWORD, a token or a key; run an agent
 * without its lock (the manager decides, this file only wires); free a
 * part another thread may still use (a stuck job means exit without
 * freeing).
 */
#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "locks.h"
#include "log.h"
#include "noop.h"
#include "policy.h"
#include "signals.h"
#include "tasks.h"

/* ------------------------------------------------------------ start-up */
static int start_store(arec_host_daemon *d) {
  const arec_host_config *c = d->cfg;
  if (arec_host_store_new(&d->store, d->pools.admin,
                          c->has_secrets_key ? c->secrets_key : NULL,
                          c->has_secrets_key_previous
                              ? c->secrets_key_previous
                              : NULL,
                          arec_host_log_sink, arec_host_log_ud()) != 0) {
    hlog(AREC_LOG_ERROR, "cannot open the host's store",
         HL_S("error", arec_error_last()), HL_END);
    return 1;
  }
  /* the store copied the keys: wipe the configuration's */
  volatile unsigned char *k = d->cfg->secrets_key;
  for (size_t i = 0; i < sizeof d->cfg->secrets_key; i++) k[i] = 0;
  k = d->cfg->secrets_key_previous;
  for (size_t i = 0; i < sizeof d->cfg->secrets_key_previous; i++) k[i] = 0;
  return 0;
}

/* 0, 2 bad lock options, -1 a signal. */
static int start_lock(arec_host_daemon *d) {
  int rc = arec_host_lock_new(&d->lock, d->cfg, d->pools.mgr, 0);
  if (rc) return rc;
  if (arec_host_lock_is_pg(d->cfg)) {
    hlog(AREC_LOG_INFO, "lock backend: postgres (no Redis needed)", HL_END);
    d->lock_up = 1;
    return 0;
  }
  rc = arec_host_lock_wait_redis(d->lock, d->cfg);
  if (rc < 0) return -1;
  d->lock_up = rc == 0;
  return 0;
}

static int start_manager(arec_host_daemon *d) {
  arec_repository *repo = NULL;
  arec_lock *lock = d->lock;
  d->lock = NULL; /* the manager owns it now, even when it fails */
  d->agents_lock = lock; /* borrowed: the recovery pings it */
  if (arec_pg_repository_new(&repo, d->pools.mgr) != 0) {
    hlog(AREC_LOG_ERROR, "cannot create the repository",
         HL_S("error", arec_error_last()), HL_END);
    arec_lock_free(lock);
    return 1;
  }
  arec_manager_options o;
  arec_host_policy_manager(d->cfg, d->cfg->telegram_bot_token != NULL, &o);
  /* the takeover recorder's log tap needs the info lines whatever
   * LOG_LEVEL says (the sink still filters what is written) */
  if (o.log_level > AREC_LOG_INFO) o.log_level = AREC_LOG_INFO;
  if (o.pod_lease_ttl_ms > 0)
    hlog(AREC_LOG_INFO, "pod leases on",
         HL_S("ttl", d->pod_lease_text), HL_S("backend", d->cfg->lock_backend),
         HL_END);
  if (arec_manager_new(&d->mgr, &o, repo, lock) != 0) {
    hlog(AREC_LOG_ERROR, "cannot create the manager",
         HL_S("error", arec_error_last()), HL_END);
    return 1;
  }
  if (arec_host_daemon_register_types(d) != 0) return 1;
  return 0;
}

static int start_service(arec_host_daemon *d) {
  arec_repository *repo = NULL;
  if (arec_pg_repository_new(&repo, d->pools.admin) != 0) {
    hlog(AREC_LOG_ERROR, "cannot create the admin repository",
         HL_S("error", arec_error_last()), HL_END);
    return 1;
  }
  arec_svc_options so;
  memset(&so, 0, sizeof so);
  so.pg = d->pools.admin;
  so.repo = repo; /* the service owns it */
  so.mgr = d->mgr;
  so.store = d->store;
  so.pod = d->cfg->pod_name;
  so.pod_live = d->cfg->trading_live;
  so.log = arec_host_log_sink;
  so.log_userdata = arec_host_log_ud();
  if (arec_svc_new(&d->svc, &so) != 0) {
    hlog(AREC_LOG_ERROR, "cannot create the service",
         HL_S("error", arec_error_last()), HL_END);
    return 1;
  }
  return 0;
}

static int start_http(arec_host_daemon *d) {
  const arec_host_config *c = d->cfg;
  arec_host_state *st = &d->state;
  st->api.svc = d->svc;
  st->api.mgr = d->mgr;
  st->api.pod = c->pod_name;
  st->auth.admin_token = c->admin_token;
  st->auth.read_token = c->admin_read_token;
  st->auth.none = c->admin_auth_none;
  st->exchange_hub = d->hub;
  st->healthz_stall_ms = arec_host_policy_healthz_stall_ms(c);
  /* every allowed connection needs a descriptor: lift the soft limit */
  long lim = arec_http_raise_nofile_limit();
  hlog(lim >= 0 && lim < (long)c->http_max_connections + 256 ? AREC_LOG_WARN
                                                              : AREC_LOG_INFO,
       "open files limit", HL_I("nofile", lim),
       HL_I("http_max_connections", c->http_max_connections), HL_END);
  arec_http_options o = AREC_HTTP_OPTIONS_INIT;
  o.addr = c->http_addr;
  o.port = c->http_port;
  o.max_connections = c->http_max_connections;
  o.max_per_ip = c->http_max_per_ip;
  o.timeout_s = (unsigned)((c->http_connection_timeout_ms + 999) / 1000);
  o.body_max = AREC_HOST_BODY_MAX;
  o.stop_wait_ms = AREC_HOST_HTTP_STOP_MS;
  o.worker_nice = AREC_HOST_HTTP_WORKER_NICE;
  o.probe = arec_host_probe;
  o.handler = arec_host_http_route;
  o.ud = st;
  char err[160];
  if (arec_host_http_start(&d->http, &o, err, sizeof err) != 0) {
    hlog(AREC_LOG_ERROR, "HTTP server failed", HL_S("error", err), HL_END);
    return 1;
  }
  hlog(AREC_LOG_INFO, "HTTP server listening", HL_S("addr", c->http_addr),
       HL_I("port", c->http_port), HL_S("pod", c->pod_name), HL_END);
  return 0;
}

static void start_recovery(arec_host_daemon *d) {
  arec_host_recovery *r = &d->recovery;
  r->mgr = d->mgr;
  r->lock = d->agents_lock;
  r->lock_up = d->lock_up;
  r->enabled = d->cfg->recovery_enabled;
  r->stopping = &d->state.stopping;
  r->ready = &d->state.ready;
  r->recovery_active = &d->state.recovery_active;
  if (!d->cfg->recovery_enabled)
    hlog(AREC_LOG_INFO, "agent recovery disabled (AGENT_RECOVERY_ENABLED): "
                        "this pod takes over no agent; stops issued "
                        "elsewhere still reach it",
         HL_I("stop_check_interval_ms", d->cfg->stop_check_interval_ms),
         HL_END);
  /* ready at once while the lock service is down (agents start when it
   * returns); else after the first pass, which takes nothing over when
   * recovery is off (the manager's takeover option) */
  if (!d->lock_up) atomic_store(&d->state.ready, 1);
  arec_host_job_start(&d->recovery_job, "the restore pass",
                      arec_host_recovery_main, r);
}

/* ------------------------------------------------------------ serving */
/* Serves until a signal; the signal. */
static int serve(arec_host_daemon *d) {
  uint64_t cycles = UINT64_MAX;
  for (;;) {
    arec_metrics m = AREC_METRICS_INIT;
    if (arec_manager_metrics(d->mgr, &m) == 0 &&
        m.refresh_cycles_total != cycles) {
      cycles = m.refresh_cycles_total;
      atomic_store(&d->state.loops_ok_at, (long long)arec_host_now_ms());
    }
    int sig = arec_host_signal_wait(1000);
    if (sig) return sig;
  }
}

static int start(arec_host_daemon *d, int migrate) {
  int rc = arec_host_pools_open(&d->pools, d->cfg,
                                AREC_POOL_MANAGER | AREC_POOL_ADMIN);
  if (rc < 0) return -1;
  if (rc) return rc;
  if (migrate && arec_host_migrate(d->pools.mgr)) return 1;
  if ((rc = start_store(d)) != 0) return rc;
  if ((rc = arec_host_daemon_start_takeovers(d)) != 0) return rc;
  if ((rc = start_lock(d)) != 0) return rc;
  if ((rc = arec_host_daemon_start_hub(d)) != 0) return rc;
  if ((rc = arec_host_daemon_new_bot(d)) != 0) return rc;
  if ((rc = start_manager(d)) != 0) return rc;
  if ((rc = start_service(d)) != 0) return rc;
  if ((rc = start_http(d)) != 0) return rc;
  if ((rc = arec_host_daemon_start_bot(d)) != 0) return rc;
  start_recovery(d);
  return 0;
}

/* Frees what exists, newest first (on a job: see arec_host_serve). */
static void teardown(void *arg) {
  arec_host_daemon *d = arg;
  if (d->http && arec_host_http_stop(d->http) > 0) {
    /* a handler is still blocked (database or lock): it may touch what
     * would be freed next, so leave without freeing */
    hlog(AREC_LOG_WARN, "HTTP handlers still busy at exit", HL_END);
    d->keep_parts = 1;
    return;
  }
  d->http = NULL;
  arec_host_daemon_free_bot(d);
  arec_svc_free(d->svc);
  arec_manager_free(d->mgr);
  arec_lock_free(d->lock);
  arec_host_daemon_free_hub(d);
  arec_host_daemon_free_takeovers(d);
  arec_host_store_free(d->store);
  arec_host_pools_close(&d->pools);
}

int arec_host_serve(arec_host_config *cfg, int migrate) {
  static arec_host_daemon d;
  memset(&d, 0, sizeof d);
  d.cfg = cfg;
  snprintf(d.pod_lease_text, sizeof d.pod_lease_text, "%lldms",
           (long long)(arec_host_lock_is_pg(cfg) && cfg->pod_lease_ttl_ms <= 0
                           ? 2000
                           : cfg->pod_lease_ttl_ms));
  if (cfg->admin_auth_none)
    hlog(AREC_LOG_WARN, "ADMIN_AUTH=none: the admin API is served without "
                        "authentication",
         HL_END);
  int rc = start(&d, migrate);
  if (rc < 0) {
    hlog(AREC_LOG_INFO, "signal received before start-up finished", HL_END);
    rc = 0;
  }
  if (rc == 0 && d.mgr) {
    int sig = serve(&d);
    rc = arec_host_shutdown(&d, sig); /* sets d.hard_deadline_ms */
  } else {
    /* start-up failed or was interrupted: nothing runs agents yet */
    int64_t t0 = arec_host_now_ms();
    d.hard_deadline_ms = t0 + arec_host_policy_hard_deadline_ms(cfg);
    atomic_store(&d.state.stopping, 1);
    if (d.mgr) arec_manager_shutdown(d.mgr, cfg->shutdown_timeout_ms);
    arec_host_daemon_stop_bot(&d, t0 + cfg->shutdown_timeout_ms);
  }
  /* the frees join threads (the bot's, the manager's workers): never past
   * the hard deadline -- then the process leaves without them */
  arec_host_job job;
  arec_host_job_start(&job, "freeing", teardown, &d);
  if (!arec_host_job_wait(&job, d.hard_deadline_ms, NULL) || d.keep_parts) {
    hlog(AREC_LOG_WARN, "exit without freeing: parts still busy",
         HL_I("exit_code", rc), HL_END);
    _exit(rc);
  }
  return rc;
}
