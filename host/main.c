/*
 * main.c -- agentrecoverd: wires the PostgreSQL repository and the Redis
 * lock into the manager and runs the lifecycle of DESIGN.md section 6.
 *
 * How: config (exit 2) -> database with backoff up to
 * DATABASE_CONNECT_TIMEOUT (exit 1) -> migrations if asked -> Redis lock,
 * 5 pings with backoff -> manager + the "noop" type -> HTTP -> restore on a
 * recovery thread (which first waits for Redis when it was down) -> /ready.
 * SIGTERM/SIGINT are blocked in every thread and taken by sigtimedwait()
 * in the main thread, which also sleeps the backoffs, so a signal is never
 * handled inside a handler.  Shutdown runs on its own thread so that a
 * second signal can still force exit 1.
 *
 * Never: log DATABASE_URL, REDIS_PASSWORD, ADMIN_TOKEN or a key; run an
 * agent without its lock (the manager decides, this file only wires).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "agentrecover/redis.h"
#include "agentrecover/sys/lock.h"
#include "config.h"
#include "http.h"
#include "noop.h"
#include "status.h"
#include "telegram/bot.h"
#include "trading/trading.h"

/* ------------------------------------------------------------------- log */
typedef struct host_log {
  arec_log_fn sink;
  arec_log_level min;
  void *tap; /* the Telegram bot: set before any thread logs, cleared after
                every logging thread was joined */
} host_log;

static host_log g_log = {arec_log_stderr_text, AREC_LOG_INFO, NULL};

/* A level-filtering sink for the manager and the backends. */
static void log_sink(void *ud, arec_log_level level, const char *msg,
                     const arec_log_field *fields, size_t nfields) {
  const host_log *l = ud;
  if (l->tap) arec_tg_bot_log_tap(l->tap, level, msg, fields, nfields);
  if (level < l->min) return;
  l->sink(NULL, level, msg, fields, nfields);
}

/* hlog(level, msg, key, value, ..., NULL): at most 8 fields. */
static void hlog(arec_log_level level, const char *msg, ...) {
  arec_log_field f[8];
  size_t n = 0;
  va_list ap;
  va_start(ap, msg);
  const char *k;
  while (n < 8 && (k = va_arg(ap, const char *)) != NULL) {
    f[n].key = k;
    f[n].value = va_arg(ap, const char *);
    if (!f[n].value) f[n].value = "";
    n++;
  }
  va_end(ap);
  log_sink(&g_log, level, msg, f, n);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *fmt_ll(char *buf, size_t len, long long v) {
  snprintf(buf, len, "%lld", v);
  return buf;
}

/* --------------------------------------------------------------- signals */
static sigset_t g_sigs;

/* Sleeps up to ms; returns the signal number that arrived, or 0. */
static int wait_signal(int64_t ms) {
  if (ms < 0) ms = 0;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  for (;;) {
    int s = sigtimedwait(&g_sigs, NULL, &ts);
    if (s > 0) return s;
    if (errno == EAGAIN) return 0;
    if (errno != EINTR) return 0;
  }
}

/* ---------------------------------------------------------------- daemon */
typedef struct daemon_ctx {
  arec_host_config cfg;
  arec_pg *pg;
  arec_lock *lock;           /* owned by the manager once it exists */
  arec_manager *mgr;
  arec_host_http *http;
  arec_host_state state;
  int redis_up;
  pthread_t recovery;
  int recovery_started;
  pthread_t shutdown;
  atomic_int shutdown_done;
  int shutdown_rc;
  /* trading agents and the Telegram bot (issue 7) */
  arec_exchange_hub *hub;     /* freed after the manager */
  arec_host_trading_config trading;
  arec_tg_bot *bot;           /* NULL when TELEGRAM_BOT_TOKEN is unset */
} daemon_ctx;

static int connect_database(daemon_ctx *d) {
  arec_pg_options o = AREC_PG_OPTIONS_INIT;
  o.conninfo = d->cfg.database_url;
  o.secrets_key = d->cfg.has_secrets_key ? d->cfg.secrets_key : NULL;
  o.log = log_sink;
  o.log_userdata = &g_log;
  /* Every database call returns within a third of the lock TTL (at most
   * 5 s): a pod cut off from PostgreSQL must notice, stop and free its
   * agents within about a TTL (DESIGN.md section 3.5). */
  o.call_timeout_ms = d->cfg.lock_ttl_ms / 3;
  if (o.call_timeout_ms > 5000) o.call_timeout_ms = 5000;
  if (o.call_timeout_ms < 500) o.call_timeout_ms = 500;
  int64_t deadline = now_ms() + d->cfg.database_connect_timeout_ms;
  int64_t delay = 200;
  for (int attempt = 1;; attempt++) {
    int64_t left = deadline - now_ms();
    o.connect_timeout_ms = left < 5000 ? (left < 1000 ? 1000 : left) : 5000;
    int rc = arec_pg_new(&d->pg, &o);
    if (rc == 0) break;
    char a[24], w[24];
    left = deadline - now_ms();
    if (rc == AREC_EINVAL) {
      hlog(AREC_LOG_ERROR, "database options rejected", "variable",
           "DATABASE_URL", "error", arec_error_last(), NULL);
      return 2;
    }
    if (left <= 0) {
      hlog(AREC_LOG_ERROR, "database unreachable, giving up", "attempts",
           fmt_ll(a, sizeof a, attempt), "error", arec_error_last(), NULL);
      return 1;
    }
    if (delay > left) delay = left;
    hlog(AREC_LOG_WARN, "database unreachable, retrying", "attempt",
         fmt_ll(a, sizeof a, attempt), "retry_in_ms",
         fmt_ll(w, sizeof w, delay), "error", arec_error_last(), NULL);
    if (wait_signal(delay)) {
      hlog(AREC_LOG_INFO, "signal received before start-up finished", NULL);
      return 1;
    }
    delay = delay * 2 > 5000 ? 5000 : delay * 2;
  }
  /* The pool copied the key: wipe ours. */
  volatile unsigned char *k = d->cfg.secrets_key;
  for (size_t i = 0; i < sizeof d->cfg.secrets_key; i++) k[i] = 0;
  hlog(AREC_LOG_INFO, "database connected", NULL);
  return 0;
}

static int migrate(daemon_ctx *d) {
  int applied = 0, version = 0;
  int rc = arec_pg_migrate(d->pg, &applied);
  if (rc) {
    hlog(AREC_LOG_ERROR, "migrations failed", "error", arec_error_last(),
         NULL);
    return 1;
  }
  arec_pg_schema_version(d->pg, &version);
  char a[24], v[24];
  hlog(AREC_LOG_INFO, "migrations applied", "applied",
       fmt_ll(a, sizeof a, applied), "schema_version",
       fmt_ll(v, sizeof v, version), NULL);
  return 0;
}

/* 0 up, 1 down after 5 tries, -1 a signal arrived, 2 bad options. */
static int connect_redis(daemon_ctx *d) {
  if (!strcmp(d->cfg.lock_backend, "postgres")) { /* issue 8: no Redis */
    if (arec_pg_lock_new(&d->lock, d->pg, NULL) != 0) {
      fprintf(stderr, "agentrecoverd: AGENT_LOCK_BACKEND: %s\n",
              arec_error_last());
      return 2;
    }
    hlog(AREC_LOG_INFO, "lock backend: postgres (no Redis needed)", NULL);
    return 0;
  }
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  o.addrs = d->cfg.redis_addrs;
  o.password = d->cfg.redis_password;
  o.db = d->cfg.redis_db;
  o.log = log_sink;
  o.log_userdata = &g_log;
  if (arec_redis_lock_new(&d->lock, &o) != 0) {
    fprintf(stderr, "agentrecoverd: REDIS_ADDRS: %s\n", arec_error_last());
    return 2;
  }
  int64_t delay = 100;
  for (int i = 1; i <= 5; i++) {
    unsigned up = 0;
    if (arec_redis_lock_ping(d->lock, &up) == 0) {
      hlog(AREC_LOG_INFO, "Redis connected", "addrs", d->cfg.redis_addrs,
           NULL);
      return 0;
    }
    if (i == 5) break;
    char a[24];
    hlog(AREC_LOG_WARN, "Redis unreachable, retrying", "attempt",
         fmt_ll(a, sizeof a, i), "error", arec_error_last(), NULL);
    if (wait_signal(delay)) return -1;
    delay *= 2;
  }
  hlog(AREC_LOG_WARN, "⚠️ Redis unavailable, agent recovery skipped", NULL);
  return 1;
}

static void log_restore(const arec_restore_result *r, int rc) {
  if (rc == 0) return; /* the core logged the pass */
  (void)r;
  hlog(AREC_LOG_WARN, "restore pass could not read the database; the "
                      "reconcile loop retries",
       "error", arec_strerror(rc), NULL);
}

/* Restores (after waiting for Redis when it was down), then /ready. */
static void *recovery_main(void *arg) {
  daemon_ctx *d = arg;
  if (!d->redis_up) {
    int64_t delay = 500;
    for (;;) {
      for (int64_t slept = 0; slept < delay; slept += 100) {
        if (atomic_load(&d->state.stopping)) return NULL;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
      }
      unsigned up = 0;
      if (arec_redis_lock_ping(d->lock, &up) == 0) break;
      delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    if (atomic_load(&d->state.stopping)) return NULL;
    hlog(AREC_LOG_INFO, "Redis available again, starting agent recovery",
         NULL);
  }
  arec_restore_result r;
  memset(&r, 0, sizeof r);
  int rc = arec_manager_restore(d->mgr, &r);
  log_restore(&r, rc);
  atomic_store(&d->state.recovery_active, 1);
  atomic_store(&d->state.ready, 1);
  return NULL;
}

static void *shutdown_main(void *arg) {
  daemon_ctx *d = arg;
  arec_tg_bot_stop(d->bot); /* the poller role moves to another pod now */
  d->shutdown_rc = arec_manager_shutdown(d->mgr, d->cfg.shutdown_timeout_ms);
  atomic_store(&d->shutdown_done, 1);
  return NULL;
}

static int start_manager(daemon_ctx *d) {
  arec_repository *repo = NULL;
  if (arec_pg_repository_new(&repo, d->pg) != 0) {
    hlog(AREC_LOG_ERROR, "cannot create the repository", "error",
         arec_error_last(), NULL);
    arec_lock *l = d->lock;
    d->lock = NULL;
    if (l && l->free) l->free(l);
    return 1;
  }
  arec_manager_options o = AREC_MANAGER_OPTIONS_INIT;
  o.pod_name = d->cfg.pod_name;
  o.lock_ttl_ms = d->cfg.lock_ttl_ms;
  o.refresh_interval_ms = d->cfg.refresh_interval_ms;
  o.reconcile_interval_ms =
      d->cfg.recovery_enabled ? d->cfg.reconcile_interval_ms : 0;
  o.save_interval_ms = d->cfg.save_interval_ms;
  o.shutdown_timeout_ms = d->cfg.shutdown_timeout_ms;
  o.workers = d->cfg.workers;
  o.log = log_sink;
  o.log_userdata = &g_log;
  o.log_level = d->cfg.log_level;
  /* the bot's tap needs the info lines; log_sink still filters output */
  if (d->bot && o.log_level > AREC_LOG_INFO) o.log_level = AREC_LOG_INFO;
  /* pod leases: the postgres lock backend always uses one (its advisory
   * lock liveness); G defaults to 2 s there.  Redis: only when
   * AGENT_POD_LEASE_TTL is set (unset = off, DESIGN.md section 7). */
  if (!strcmp(d->cfg.lock_backend, "postgres"))
    o.pod_lease_ttl_ms =
        d->cfg.pod_lease_ttl_ms > 0 ? d->cfg.pod_lease_ttl_ms : 2000;
  else
    o.pod_lease_ttl_ms = d->cfg.pod_lease_ttl_ms; /* 0: off */
  if (o.pod_lease_ttl_ms > 0) {
    char pl[24];
    snprintf(pl, sizeof pl, "%lldms", (long long)o.pod_lease_ttl_ms);
    hlog(AREC_LOG_INFO, "pod leases on", "ttl", pl, "backend",
         d->cfg.lock_backend, NULL);
  }
  /* issue 8: fair sharing across pods (AGENT_FAIR_SHARE, default on) */
  o.fair_share = d->cfg.fair_share ? 1 : 0;
  if (arec_manager_new(&d->mgr, &o, repo, d->lock) != 0) {
    hlog(AREC_LOG_ERROR, "cannot create the manager", "error",
         arec_error_last(), NULL);
    d->lock = NULL;
    return 1;
  }
  static int64_t noop_step_ms = 1000;
  arec_agent_type noop;
  arec_host_noop_type(&noop, &noop_step_ms);
  if (arec_manager_register_type(d->mgr, &noop) != 0) {
    hlog(AREC_LOG_ERROR, "cannot register the noop agent type", NULL);
    return 1;
  }
  d->trading.hub = d->hub;
  d->trading.on_trade = d->bot ? arec_tg_bot_on_trade : NULL;
  d->trading.trade_userdata = d->bot;
  if (arec_host_trading_register(d->mgr, &d->trading) != 0) {
    hlog(AREC_LOG_ERROR, "cannot register the trading agent types", NULL);
    return 1;
  }
  return 0;
}

/* ------------------------------------------------ trading and Telegram */
/* The exchange hub (breakers, metrics) and, with TELEGRAM_BOT_TOKEN, the
 * bot with its own lock handle for the poller role. */
static int start_trading_and_bot(daemon_ctx *d) {
  if (d->cfg.telegram_bot_token) {
    arec_lock *rl = NULL;
    int rc;
    if (d->cfg.lock_backend && !strcmp(d->cfg.lock_backend, "postgres")) {
      arec_pg_lock_options lo = AREC_PG_LOCK_OPTIONS_INIT;
      lo.no_liveness = 1;
      rc = arec_pg_lock_new(&rl, d->pg, &lo);
    } else {
      arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
      o.addrs = d->cfg.redis_addrs;
      o.password = d->cfg.redis_password;
      o.db = d->cfg.redis_db;
      o.log = log_sink;
      o.log_userdata = &g_log;
      rc = arec_redis_lock_new(&rl, &o);
    }
    arec_tg_bot_options bo = {0};
    bo.token = d->cfg.telegram_bot_token;
    bo.api_base = d->cfg.telegram_api_base;
    bo.allowed_users = d->cfg.telegram_allowed_users;
    bo.pod = d->cfg.pod_name;
    bo.pg = d->pg;
    bo.lock = rl;
    bo.lock_ttl_ms = d->cfg.lock_ttl_ms;
    bo.log = log_sink;
    bo.log_userdata = &g_log;
    if (rc != 0 || arec_tg_bot_new(&d->bot, &bo) != 0) {
      hlog(AREC_LOG_ERROR, "cannot create the Telegram bot", "error",
           arec_error_last(), NULL);
      return 1;
    }
    g_log.tap = d->bot;
  }
  arec_exchange_hub_options ho = AREC_EXCHANGE_HUB_OPTIONS_INIT;
  ho.log = log_sink;
  ho.log_userdata = &g_log;
  ho.on_change = d->bot ? arec_tg_bot_on_breaker : NULL;
  ho.change_userdata = d->bot;
  if (arec_exchange_hub_new(&d->hub, &ho) != 0) {
    hlog(AREC_LOG_ERROR, "cannot create the exchange hub", NULL);
    return 1;
  }
  d->state.exchange_hub = d->hub;
  return 0;
}

static int start_http(daemon_ctx *d) {
  d->state.api.pg = d->pg;
  d->state.api.mgr = d->mgr;
  d->state.api.pod = d->cfg.pod_name;
  d->state.api.admin_token = d->cfg.admin_token;
  d->state.api.has_secrets_key = d->cfg.has_secrets_key;
  /* every allowed connection needs a descriptor: lift the soft limit */
  char err[160], port[16], nofile[24], maxc[24];
  long lim = arec_http_raise_nofile_limit();
  hlog(lim >= 0 && lim < (long)d->cfg.http_max_connections + 256
           ? AREC_LOG_WARN
           : AREC_LOG_INFO,
       "open files limit", "nofile", fmt_ll(nofile, sizeof nofile, lim),
       "http_max_connections",
       fmt_ll(maxc, sizeof maxc, d->cfg.http_max_connections), NULL);
  arec_http_options o = AREC_HTTP_OPTIONS_INIT;
  o.addr = d->cfg.http_addr;
  o.port = d->cfg.http_port;
  o.max_connections = d->cfg.http_max_connections;
  o.max_per_ip = d->cfg.http_max_per_ip;
  o.timeout_s = (unsigned)((d->cfg.http_connection_timeout_ms + 999) / 1000);
  o.body_max = AREC_HOST_BODY_MAX;
  o.probe = arec_host_probe;
  o.handler = arec_host_http_route;
  o.ud = &d->state;
  if (arec_host_http_start(&d->http, &o, err, sizeof err) != 0) {
    hlog(AREC_LOG_ERROR, "HTTP server failed", "error", err, NULL);
    return 1;
  }
  hlog(AREC_LOG_INFO, "HTTP server listening", "addr", d->cfg.http_addr,
       "port", fmt_ll(port, sizeof port, d->cfg.http_port), "pod",
       d->cfg.pod_name, NULL);
  return 0;
}

/* Serves until a signal, then shuts down.  Returns the exit code. */
static int serve_and_shutdown(daemon_ctx *d) {
  int sig;
  uint64_t cycles = UINT64_MAX;
  /* the refresher cycles every refresh interval whether or not it holds
   * locks; /healthz turns 503 when it stops doing so */
  d->state.healthz_stall_ms = 3 * d->cfg.refresh_interval_ms;
  if (d->state.healthz_stall_ms < 10000) d->state.healthz_stall_ms = 10000;
  for (;;) {
    arec_metrics m;
    memset(&m, 0, sizeof m);
    m.version = AREC_METRICS_VERSION;
    if (arec_manager_metrics(d->mgr, &m) == 0 &&
        m.refresh_cycles_total != cycles) {
      cycles = m.refresh_cycles_total;
      atomic_store(&d->state.loops_ok_at, (long long)now_ms());
    }
    if ((sig = wait_signal(1000)) != 0) break;
  }
  int64_t t0 = now_ms();
  hlog(AREC_LOG_INFO, "shutdown started", "signal", strsignal(sig), NULL);
  atomic_store(&d->state.stopping, 1);
  atomic_store(&d->state.ready, 0);
  if (pthread_create(&d->shutdown, NULL, shutdown_main, d) != 0) {
    shutdown_main(d);
  } else {
    while (!atomic_load(&d->shutdown_done)) {
      if (wait_signal(50)) {
        /* second signal: stop waiting for steps, release what can be
         * released within a few seconds, then exit 1 */
        hlog(AREC_LOG_ERROR, "second signal: releasing what can be released, "
                             "then exit 1",
             NULL);
        arec_manager_shutdown_hurry(d->mgr);
        int64_t until = now_ms() + 5000;
        while (!atomic_load(&d->shutdown_done) && now_ms() < until)
          if (wait_signal(50)) break; /* a third signal: at once */
        hlog(AREC_LOG_ERROR, atomic_load(&d->shutdown_done)
                                 ? "forced exit after releasing"
                                 : "forced exit; unreleased locks expire "
                                   "after their TTL",
             NULL);
        _exit(1);
      }
    }
    pthread_join(d->shutdown, NULL);
  }
  if (d->recovery_started) pthread_join(d->recovery, NULL);
  arec_metrics m;
  memset(&m, 0, sizeof m);
  m.version = AREC_METRICS_VERSION;
  arec_manager_metrics(d->mgr, &m);
  char dur[32], saved[24];
  snprintf(dur, sizeof dur, "%.3f", (double)(now_ms() - t0) / 1000.0);
  hlog(d->shutdown_rc ? AREC_LOG_WARN : AREC_LOG_INFO,
       d->shutdown_rc ? "shutdown complete, a step missed the deadline"
                      : "shutdown complete",
       "shutdown_duration_seconds", dur, "agents_saved_on_shutdown",
       fmt_ll(saved, sizeof saved, (long long)m.agents_saved_on_shutdown),
       NULL);
  if (arec_host_http_stop(d->http) > 0) {
    /* a handler is still blocked (database or lock): it may touch what
     * main() would free next, so leave without freeing */
    hlog(AREC_LOG_WARN, "HTTP handlers still busy at exit", NULL);
    _exit(0);
  }
  d->http = NULL;
  return 0;
}

static int run(daemon_ctx *d, int force_migrate) {
  int rc = connect_database(d);
  if (rc) return rc;
  if ((force_migrate || d->cfg.migrate) && migrate(d)) return 1;
  if (force_migrate == 2) return 0; /* --migrate-only: the Job's mode */
  rc = connect_redis(d);
  if (rc == 2) return 2;
  if (rc < 0) return 0;
  d->redis_up = rc == 0;
  if (start_trading_and_bot(d) || start_manager(d) || start_http(d)) return 1;
  if (d->bot && arec_tg_bot_start(d->bot, d->mgr) != 0) {
    hlog(AREC_LOG_ERROR, "cannot start the Telegram bot", NULL);
    return 1;
  }
  if (!d->bot)
    hlog(AREC_LOG_INFO, "Telegram bot disabled (TELEGRAM_BOT_TOKEN unset)",
         NULL);
  if (d->cfg.recovery_enabled) {
    if (!d->redis_up) atomic_store(&d->state.ready, 1);
    if (pthread_create(&d->recovery, NULL, recovery_main, d) == 0)
      d->recovery_started = 1;
    else
      recovery_main(d);
  } else {
    hlog(AREC_LOG_INFO, "agent recovery disabled (AGENT_RECOVERY_ENABLED)",
         NULL);
    atomic_store(&d->state.ready, 1);
  }
  return serve_and_shutdown(d);
}

int main(int argc, char **argv) {
  int force_migrate = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      arec_host_config_usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--migrate")) {
      force_migrate = 1;
    } else if (!strcmp(argv[i], "--migrate-only")) {
      force_migrate = 2;
    } else if (!strcmp(argv[i], "--version")) {
      printf("agentrecoverd %s\n", arec_version());
      return 0;
    } else {
      fprintf(stderr, "agentrecoverd: unknown argument \"%s\" (see --help)\n",
              argv[i]);
      return 2;
    }
  }
  static daemon_ctx d;
  char err[256];
  if (arec_host_config_load(&d.cfg, NULL, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "agentrecoverd: %s\n", err);
    return 2;
  }
  g_log.sink = d.cfg.log_json ? arec_log_stderr_json : arec_log_stderr_text;
  g_log.min = d.cfg.log_level;
  sigemptyset(&g_sigs);
  sigaddset(&g_sigs, SIGTERM);
  sigaddset(&g_sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &g_sigs, NULL);
  signal(SIGPIPE, SIG_IGN);
  d.trading = (arec_host_trading_config)AREC_HOST_TRADING_CONFIG_INIT;
  if (arec_host_trading_config_from_env(&d.trading) != 0) {
    fprintf(stderr, "agentrecoverd: %s\n", arec_error_last());
    arec_host_config_free(&d.cfg);
    return 2;
  }
  d.trading.step_interval_ms = d.cfg.trading_step_interval_ms;
  char ttl[24], rec[24];
  hlog(AREC_LOG_INFO, "agentrecoverd starting", "pod", d.cfg.pod_name,
       "version", arec_version(), "lock_ttl_ms",
       fmt_ll(ttl, sizeof ttl, d.cfg.lock_ttl_ms), "reconcile_interval_ms",
       fmt_ll(rec, sizeof rec, d.cfg.reconcile_interval_ms), NULL);
  int rc = run(&d, force_migrate);
  arec_host_http_stop(d.http);
  if (d.mgr) {
    arec_manager_free(d.mgr);
  } else if (d.lock && d.lock->free) {
    d.lock->free(d.lock);
  }
  arec_tg_bot_stop(d.bot);
  g_log.tap = NULL;
  arec_tg_bot_free(d.bot);
  arec_exchange_hub_free(d.hub);
  arec_pg_free(d.pg);
  arec_host_config_free(&d.cfg);
  return rc;
}
