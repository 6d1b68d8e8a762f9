/*
 * table.h -- the runner table (hash map by agent id), the registered agent
 * types, the lock key of an agent, and the small operations on one runner
 * that every other module uses (table.c).  Calls marked "mu held" need
 * mgr->mu.
 */
#ifndef AREC_CORE_TABLE_H
#define AREC_CORE_TABLE_H

#include "internal.h"

/* The lock key of an agent: "agent:lock:<id>" into out (AREC__KEY_MAX). */
void arec__lock_key(char *out, const char *id);
/* The agent id inside a lock key made by arec__lock_key. */
const char *arec__lock_key_id(const char *key);

/* mu held. */
const arec_agent_type *arec__type_find(arec_manager *mgr, const char *name);

/* mu held. */
arec_agent *arec__runner_find(arec_manager *mgr, const char *id);
int arec__runner_insert(arec_manager *mgr, arec_agent *r);
/* Takes r out of the table, the heap and the dirty list; adjusts the
 * running gauge.  mu held. */
void arec__runner_remove(arec_manager *mgr, arec_agent *r);
arec_agent *arec__runner_new(arec_manager *mgr, const char *id,
                             const char *strategy);
void arec__runner_free(arec_agent *r);
/* Marks a runner to stop (mu held).  FENCED overrides an earlier reason. */
void arec__runner_mark_stop(arec_manager *mgr, arec_agent *r,
                            arec_stop_reason reason);
/* Takes r out of the saver's dirty list (mu held). */
void arec__dirty_drop(arec_manager *mgr, arec_agent *r);
/* Takes a snapshot through the agent type (no mu held). NULL on failure. */
arec_snapshot *arec__runner_snapshot(arec_agent *r);

#endif
