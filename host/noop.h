/*
 * noop.h -- the built-in agent type "noop": one step a second (or the
 * agent's params {"step_ms": N}), counting
 * iterations in each symbol's memory JSON {"iterations": N}.  It makes the
 * lifecycle testable without an exchange, and stays for tests, demos, load.
 */
#ifndef AREC_HOST_NOOP_H
#define AREC_HOST_NOOP_H

#include "agentrecover.h"

/* The agent type (name "noop").  `step_ms` is the delay between steps
 * (read at each start; NULL or <= 0: 1000); it must outlive the manager. */
void arec_host_noop_type(arec_agent_type *out, const int64_t *step_ms);

/* The agent's own step delay from its params {"step_ms": N} (a number in
 * 1..86400000, which then wins over the type's `step_ms`); 0 when absent
 * or out of range. */
int64_t arec_host_noop_param_step(const char *params);

/* Reads "iterations" from a memory JSON text; 0 when absent or invalid. */
long long arec_host_noop_iterations(const char *memory);

#endif
