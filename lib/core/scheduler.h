/*
 * scheduler.h -- the worker pool that runs the steps (scheduler.c).
 */
#ifndef AREC_CORE_SCHEDULER_H
#define AREC_CORE_SCHEDULER_H

#include "internal.h"

int arec__workers_start(arec_manager *mgr);
void arec__workers_join(arec_manager *mgr);

#endif
