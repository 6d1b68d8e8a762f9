/*
 * backoff.c -- what happens when an agent cannot be started: its runner is
 * released through the repository's start_failed slot in one fenced write
 * that also counts the failure, keeps the reason as last_error and sets
 * retry_at = now + min(backoff_max, backoff_min * 2^(failures - 1)) on the
 * repository's clock, so every pod of the fleet waits the same time before
 * trying again (agents_to_restore hides the agent until then).  A runner
 * whose first step went well clears the count with start_ok, but only when
 * its row showed something to clear, so the common path writes nothing.
 * Also: the placement note (set_error with fence 0) a pod leaves on an
 * agent it cannot run, and arec_agent_report().
 *
 * Must never: hold mgr->mu during a repository call, store a text that is
 * not valid UTF-8 or longer than AREC__TEXT_MAX bytes, or bump a fence
 * more than once per failed attempt.
 */
#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "release.h"
#include "table.h"

void arec__backoff_reason(char *out, size_t cap, int rc) {
  const char *e = arec_error_last();
  arec__text_clean(out, cap, *e ? e : arec_strerror(rc));
}

static int64_t retry_in(const arec_manager *mgr, unsigned int failures) {
  int64_t d = mgr->backoff_min;
  for (unsigned int i = 1; i < failures && d < mgr->backoff_max; i++)
    d *= 2;
  return d < mgr->backoff_max ? d : mgr->backoff_max;
}

void arec__backoff_failed(arec_manager *mgr, const char *id, uint64_t fence,
                          const char *why, const char *key,
                          const arec_lease *lease, int do_lock) {
  char text[AREC__TEXT_MAX + 1], num[2][24];
  arec__text_clean(text, sizeof text, why);
  int (*slot)(arec_repository *, const char *, uint64_t, const char *,
              int64_t, int64_t, unsigned int *) =
      AREC__V3(mgr->repo, start_failed);
  atomic_fetch_add(&mgr->m.start_failures, 1);
  if (!slot) {
    arec__release_now(mgr, id, fence, 1, key, lease, do_lock);
    arec__logkv(mgr, AREC_LOG_WARN,
                "agent start failed, retrying at the next pass", "agent_id",
                id, "error", text, NULL);
    return;
  }
  unsigned int failures = 0;
  int rc = slot(mgr->repo, id, fence, text, mgr->backoff_min,
                mgr->backoff_max, &failures);
  if (rc < 0 && rc != AREC_EFENCED && rc != AREC_ENOTFOUND) {
    /* not recorded: at least give the agent up (retried until it lands) */
    char detail[AREC__TEXT_MAX + 1];
    arec__text_clean(detail, sizeof detail, arec_error_last());
    arec__logkv(mgr, AREC_LOG_WARN,
                "agent start failed, cannot record the backoff", "agent_id",
                id, "error", text, "store_error", arec_err_name(rc), "detail",
                detail, NULL);
    arec__release_queue(mgr, id, fence, 1, NULL, NULL, 0);
  } else if (rc < 0) {
    arec__logkv(mgr, AREC_LOG_INFO,
                "agent start failed; another owner has it now", "agent_id",
                id, "error", text, NULL);
  } else {
    if (failures == 0)
      failures = 1;
    snprintf(num[0], sizeof num[0], "%u", failures);
    snprintf(num[1], sizeof num[1], "%lld",
             (long long)retry_in(mgr, failures));
    arec__logkv(mgr, AREC_LOG_WARN, "agent start failed, backing off",
                "agent_id", id, "error", text, "#failures", num[0],
                "#retry_in_ms", num[1], NULL);
  }
  if (do_lock)
    arec__release_now(mgr, id, fence, 0, key, lease, 1);
}

void arec__backoff_clear(arec_manager *mgr, const char *id, uint64_t fence,
                         unsigned int failures, int noted) {
  int (*slot)(arec_repository *, const char *, uint64_t) =
      AREC__V3(mgr->repo, start_ok);
  if ((!failures && !noted) || !slot)
    return;
  int rc = slot(mgr->repo, id, fence);
  if (rc < 0 && rc != AREC_EFENCED)
    arec__logkv(mgr, AREC_LOG_WARN, "cannot clear the agent's failed starts",
                "agent_id", id, "error", arec_err_name(rc), NULL);
  if (rc == 0 && failures) {
    char n[24];
    snprintf(n, sizeof n, "%u", failures);
    arec__logkv(mgr, AREC_LOG_INFO, "agent started after backoff",
                "agent_id", id, "#failures", n, NULL);
  }
}

void arec__backoff_note_placement(arec_manager *mgr, const char *id,
                                  const char *requires) {
  int (*slot)(arec_repository *, const char *, uint64_t, const char *) =
      AREC__V3(mgr->repo, set_error);
  if (!slot)
    return;
  char raw[AREC__TEXT_MAX + 64], text[AREC__TEXT_MAX + 1];
  snprintf(raw, sizeof raw, "waiting for a pod offering \"%s\"", requires);
  arec__text_clean(text, sizeof text, raw);
  int rc = slot(mgr->repo, id, 0, text);
  if (rc < 0 && rc != AREC_EFENCED && rc != AREC_ENOTFOUND)
    arec__logkv(mgr, AREC_LOG_DEBUG, "cannot record the placement note",
                "agent_id", id, "error", arec_err_name(rc), NULL);
}

/* ------------------------------------------------------- arec_agent_report */
int arec_agent_report(arec_agent *agent, const char *last_error) {
  if (!agent)
    return AREC_EINVAL;
  arec_manager *mgr = agent->mgr;
  int (*slot)(arec_repository *, const char *, uint64_t, const char *) =
      AREC__V3(mgr->repo, set_error);
  if (!slot) {
    arec_error_set("the repository cannot record errors (no set_error)");
    return AREC_EINVAL;
  }
  char text[AREC__TEXT_MAX + 1];
  if (last_error)
    arec__text_clean(text, sizeof text, last_error);
  int rc = slot(mgr->repo, agent->id, agent->fence, last_error ? text : NULL);
  if (rc == AREC_EFENCED) { /* no longer the owner: no more writes */
    atomic_fetch_add(&mgr->m.fenced, 1);
    pthread_mutex_lock(&mgr->mu);
    arec__runner_mark_stop(mgr, agent, AREC_STOP_FENCED);
    pthread_mutex_unlock(&mgr->mu);
  }
  return rc;
}
