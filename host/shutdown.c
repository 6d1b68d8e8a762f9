/*
 * shutdown.c -- agentrecoverd's SIGTERM budget (arec_host_shutdown in
 * daemon.h): the process is gone within SHUTDOWN_TIMEOUT + 1.5 s of the
 * signal whatever is stuck (PostgreSQL or the Telegram API silent, a step
 * that does not return).
 *
 * How: readiness goes off at once.  The manager's shutdown starts at once
 * on a job of its own (it cancels every runner, waits for running steps up
 * to SHUTDOWN_TIMEOUT, saves, releases every lock, removes the pod row);
 * the bot's stop runs on another job beside it with the deadline signal +
 * SHUTDOWN_TIMEOUT.  The main thread waits for both until the hard
 * deadline minus the HTTP stop's bound, stops HTTP, and exits: 0 when
 * everything finished, 1 when the hard deadline (or a third signal) cut
 * something short -- logged by name.  A second signal makes the manager
 * stop waiting for steps.  Parts still in use by a job that did not finish
 * are not freed: the process exits with _exit instead.
 *
 * Never: wait without a deadline, or free what a running job still uses.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "policy.h"
#include "signals.h"

static void manager_job(void *arg) {
  arec_host_daemon *d = arg;
  d->mgr_rc = arec_manager_shutdown(d->mgr, d->cfg->shutdown_timeout_ms);
}

static void bot_job(void *arg) {
  arec_host_daemon *d = arg;
  arec_host_daemon_stop_bot(d, d->bot_deadline_ms);
}

/* Waits for a job until `until`, acting on signals: the second hurries the
 * manager, the third ends the wait at once (*forced).  1 finished. */
static int wait_job(arec_host_daemon *d, arec_host_job *j, int64_t until,
                    int *signals, int *forced) {
  for (;;) {
    int sig = 0;
    if (arec_host_job_wait(j, until, &sig)) return 1;
    if (!sig) return 0; /* the deadline */
    if (++*signals == 2) {
      hlog(AREC_LOG_ERROR, "second signal: no more waiting for running "
                           "steps; releasing what can be released",
           HL_END);
      arec_manager_shutdown_hurry(d->mgr);
    } else {
      hlog(AREC_LOG_ERROR, "third signal: exit now", HL_END);
      *forced = 1;
      return 0;
    }
  }
}

int arec_host_shutdown(arec_host_daemon *d, int sig) {
  const arec_host_config *c = d->cfg;
  int64_t t0 = arec_host_now_ms();
  int64_t hard = t0 + arec_host_policy_hard_deadline_ms(c);
  d->hard_deadline_ms = hard;
  /* the HTTP stop (bounded) and the last lines fit before the deadline */
  int64_t jobs_until = hard - AREC_HOST_HTTP_STOP_MS - 100;
  atomic_store(&d->state.stopping, 1);
  atomic_store(&d->state.ready, 0);
  hlog(AREC_LOG_INFO, "shutdown started", HL_S("signal", strsignal(sig)),
       HL_I("shutdown_timeout_ms", c->shutdown_timeout_ms),
       HL_I("hard_deadline_ms", hard - t0), HL_END);

  d->bot_deadline_ms = t0 + c->shutdown_timeout_ms;
  arec_host_job_start(&d->mgr_job, "the manager's shutdown (saves, lock "
                                   "releases, pod row)",
                      manager_job, d);
  if (atomic_load(&d->bot))
    arec_host_job_start(&d->bot_job, "the Telegram bot's stop (role "
                                     "release, queued messages)",
                        bot_job, d);

  int signals = 1, forced = 0;
  int mgr_done = wait_job(d, &d->mgr_job, jobs_until, &signals, &forced);
  int bot_done = forced ? arec_host_job_done(&d->bot_job)
                        : wait_job(d, &d->bot_job, jobs_until, &signals,
                                   &forced);
  int rec_done = forced ? arec_host_job_done(&d->recovery_job)
                        : arec_host_job_wait(&d->recovery_job, jobs_until,
                                             NULL);
  if (!mgr_done) mgr_done = arec_host_job_done(&d->mgr_job);

  arec_metrics m = AREC_METRICS_INIT;
  if (mgr_done) arec_manager_metrics(d->mgr, &m);
  int clean = mgr_done && bot_done && rec_done && !forced;
  if (mgr_done)
    hlog(d->mgr_rc ? AREC_LOG_WARN : AREC_LOG_INFO,
         d->mgr_rc ? "shutdown complete, a step missed the deadline"
                   : "shutdown complete",
         HL_D("shutdown_duration_seconds",
              (double)(arec_host_now_ms() - t0) / 1000.0),
         HL_I("agents_saved_on_shutdown", m.agents_saved_on_shutdown),
         HL_END);
  if (!clean) {
    const arec_host_job *left[3] = {mgr_done ? NULL : &d->mgr_job,
                                    bot_done ? NULL : &d->bot_job,
                                    rec_done ? NULL : &d->recovery_job};
    for (int i = 0; i < 3; i++)
      if (left[i])
        hlog(AREC_LOG_ERROR, "shutdown deadline: not finished",
             HL_S("what", left[i]->name),
             HL_I("elapsed_ms", arec_host_now_ms() - t0), HL_END);
    if (!mgr_done)
      hlog(AREC_LOG_ERROR, "locks not released expire after their TTL",
           HL_I("lock_ttl_ms", c->lock_ttl_ms), HL_END);
  }
  /* HTTP last: the API answered (503 where the manager refused) until
   * now; bounded by AREC_HOST_HTTP_STOP_MS */
  int busy = arec_host_http_stop(d->http);
  d->http = NULL;
  if (busy > 0)
    hlog(AREC_LOG_WARN, "HTTP handlers still busy at exit",
         HL_I("handlers", busy), HL_END);
  /* a step still running or a stuck job would be joined by the frees */
  if (!clean || busy > 0 || d->mgr_rc != 0) {
    hlog(clean ? AREC_LOG_INFO : AREC_LOG_ERROR,
         clean ? "exit without freeing: a step is still running"
               : "forced exit",
         HL_I("exit_code", clean ? 0 : 1),
         HL_I("elapsed_ms", arec_host_now_ms() - t0), HL_END);
    _exit(clean ? 0 : 1);
  }
  return 0;
}
