/*
 * backoff.c -- the memory repository's backoff slots: start_failed (a
 * fenced release that counts the failure, keeps the reason and sets the
 * wait), start_ok (clears them), and set_error (an agent's last_error,
 * fenced; fence 0 writes only while the agent has no live owner).
 *
 * The wait is retry_at = now + min(max_ms, min_ms * 2^(failures - 1)) on
 * the store's clock, so the manual clock moves it like pod leases.  Texts
 * are kept cut to 500 bytes at a character boundary.  Every slot passes
 * the fault hooks and works under the store mutex; nothing is written
 * when a slot refuses.
 */
#include <stdlib.h>
#include <string.h>

#include "memory/store.h"

#define M_REPO AREC_MEMORY_REPOSITORY

static int64_t wait_ms(unsigned int failures, int64_t min_ms, int64_t max_ms) {
  int64_t d = min_ms > 0 ? min_ms : 1;
  for (unsigned int i = 1; i < failures && d < max_ms; i++)
    d *= 2;
  return d < max_ms ? d : max_ms;
}

/* The agent at its current fence (fence 0 never is). */
static int fenced(arec_memory_store *st, const char *id, uint64_t fence,
                  arec__mem_agent **out) {
  arec__mem_agent *a = arec__mem_agent_live(st, id);
  if (!a)
    return arec__mem_agent_missing(id);
  if (fence == 0 || fence != a->fence) {
    arec_error_set("memory repository: agent %s: fence %llu is not current",
                   id, (unsigned long long)fence);
    return AREC_EFENCED;
  }
  *out = a;
  return 0;
}

int arec__mem_start_failed(arec_repository *repo, const char *agent_id,
                           uint64_t fence, const char *error, int64_t min_ms,
                           int64_t max_ms, unsigned int *out_failures) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st,
                                !agent_id || min_ms < 0 || max_ms < min_ms);
  if (rc)
    return rc;
  arec__mem_agent *a = NULL;
  char *text = NULL;
  if ((rc = fenced(st, agent_id, fence, &a)) == 0 && error &&
      !(text = arec__mem_cut(error)))
    rc = AREC_ENOMEM;
  if (rc == 0) {
    arec__mem_set_str(&a->running_on, NULL);
    arec__mem_set_str(&a->running_incarnation, NULL);
    a->fence++;
    a->start_failures++;
    free(a->last_error);
    a->last_error = text;
    a->retry_at =
        arec__mem_now(st) + wait_ms(a->start_failures, min_ms, max_ms);
    if (out_failures)
      *out_failures = a->start_failures;
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec__mem_start_ok(arec_repository *repo, const char *agent_id,
                       uint64_t fence) {
  arec_memory_store *st;
  int rc = arec__mem_repo_enter(repo, M_REPO, &st, !agent_id);
  if (rc)
    return rc;
  arec__mem_agent *a = NULL;
  if ((rc = fenced(st, agent_id, fence, &a)) == 0) {
    a->start_failures = 0;
    arec__mem_set_str(&a->last_error, NULL);
    a->retry_at = 0;
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int arec__mem_set_error(arec_repository *repo, const char *agent_id,
                        uint64_t fence, const char *error) {
  arec_memory_store *st;
  arec__mem_agent *a;
  int rc = arec__mem_repo_agent(repo, M_REPO, &st, !agent_id, agent_id, &a);
  if (rc)
    return rc;
  char *text = NULL;
  if (fence == 0 ? arec__mem_owner_alive(st, a) : fence != a->fence) {
    rc = AREC_EFENCED;
    arec_error_set("memory repository: agent %s is owned by another runner",
                   agent_id);
  } else if (error && !(text = arec__mem_cut(error))) {
    rc = AREC_ENOMEM;
  } else {
    free(a->last_error);
    a->last_error = text;
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}
