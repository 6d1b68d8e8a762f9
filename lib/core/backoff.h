/*
 * backoff.h -- failed starts and their fleet-wide backoff, the clearing of
 * it after a good start, placement notes, and agents' own error reports
 * (backoff.c).  No mu held by the caller of any of these.
 */
#ifndef AREC_CORE_BACKOFF_H
#define AREC_CORE_BACKOFF_H

#include "internal.h"

/* Why a callback failed with rc: the text arec_error_last() holds right
 * after it returned (the caller clears it before the call), else
 * arec_strerror(rc); cleaned for a repository (AREC__TEXT_MAX). */
void arec__backoff_reason(char *out, size_t cap, int rc);

/* The start (or a step) of the runner holding `fence` failed with `why`:
 * releases the agent through the repository's start_failed slot (fenced;
 * release() when the slot is absent) and, with do_lock, the lock; counts
 * agent_start_failures_total and logs the WARN line. */
void arec__backoff_failed(arec_manager *mgr, const char *id, uint64_t fence,
                          const char *why, const char *key,
                          const arec_lease *lease, int do_lock);

/* The runner holding `fence` started after its row showed `failures`
 * failed starts or (noted) a last_error: start_ok, and the INFO line when
 * it had failed before. */
void arec__backoff_clear(arec_manager *mgr, const char *id, uint64_t fence,
                         unsigned int failures, int noted);

/* Records on an agent nobody owns why this pod leaves it alone: it needs
 * capability `requires` (set_error with fence 0). */
void arec__backoff_note_placement(arec_manager *mgr, const char *id,
                                  const char *requires);

#endif
