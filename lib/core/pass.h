/*
 * pass.h -- the reconcile pass and the stop check (pass.c).
 */
#ifndef AREC_CORE_PASS_H
#define AREC_CORE_PASS_H

#include "internal.h"

/* One pass (logged: the restore lines), serialised with user starts and
 * stop checks by mgr->pass_mu.  AREC_ESHUTDOWN when shutting down. */
int arec__pass(arec_manager *mgr, int logged, arec_restore_result *out);
/* Without taking anything over: stops the local runners that are no longer
 * wanted here (stops, disables, deletes issued anywhere, another owner, a
 * migration) and retries queued releases.  Serialised like a pass. */
void arec__stop_check(arec_manager *mgr);

#endif
