/*
 * noop.c -- the built-in "noop" agent type: each step adds one to an
 * iteration counter and asks for the next step a second later (or after
 * the agent's params {"step_ms": N}, 1..86400000, e.g. 10000 to load a
 * fleet like trading agents do); snapshot
 * writes {"iterations": N} as every symbol's memory with its balance
 * unchanged, so a takeover continues from the last saved count.
 *
 * Never: touch the network, block, or keep pointers into the start() info
 * (it is valid during start() only; everything kept is copied).
 */
#include "noop.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct noop_symbol {
  char *symbol;
  double balance;
} noop_symbol;

typedef struct noop_state {
  long long iterations;
  int64_t step_ms;
  size_t n;
  noop_symbol *symbols;
} noop_state;

long long arec_host_noop_iterations(const char *memory) {
  if (!memory) return 0;
  cJSON *j = cJSON_Parse(memory);
  long long n = 0;
  const cJSON *it = j ? cJSON_GetObjectItemCaseSensitive(j, "iterations") : NULL;
  if (cJSON_IsNumber(it) && it->valuedouble >= 0) n = (long long)it->valuedouble;
  cJSON_Delete(j);
  return n;
}

static void noop_free(noop_state *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) free(s->symbols[i].symbol);
  free(s->symbols);
  free(s);
}

/* The params' "step_ms" when it is a number in 1..86400000, else 0. */
int64_t arec_host_noop_param_step(const char *params) {
  cJSON *j = params ? cJSON_Parse(params) : NULL;
  const cJSON *it = j ? cJSON_GetObjectItemCaseSensitive(j, "step_ms") : NULL;
  int64_t ms = 0;
  if (cJSON_IsNumber(it) && it->valuedouble >= 1 && it->valuedouble <= 86400000)
    ms = (int64_t)it->valuedouble;
  cJSON_Delete(j);
  return ms;
}

static int noop_start(void **out_state, arec_agent *agent,
                      const arec_agent_info *info, void *userdata) {
  (void)agent;
  noop_state *s = calloc(1, sizeof *s);
  if (!s) return AREC_ENOMEM;
  s->step_ms = userdata && *(const int64_t *)userdata > 0
                   ? *(const int64_t *)userdata
                   : 1000;
  int64_t own = arec_host_noop_param_step(info->params);
  if (own > 0) s->step_ms = own;
  if (info->nsymbols) {
    s->symbols = calloc(info->nsymbols, sizeof *s->symbols);
    if (!s->symbols) {
      free(s);
      return AREC_ENOMEM;
    }
  }
  for (size_t i = 0; i < info->nsymbols; i++) {
    const arec_symbol *sym = &info->symbols[i];
    s->symbols[i].symbol = strdup(sym->symbol ? sym->symbol : "");
    s->symbols[i].balance = sym->balance;
    s->n = i + 1;
    if (!s->symbols[i].symbol) {
      noop_free(s);
      return AREC_ENOMEM;
    }
    long long it = arec_host_noop_iterations(sym->memory);
    if (it > s->iterations) s->iterations = it;
  }
  *out_state = s;
  return 0;
}

static int noop_step(void *state, arec_agent *agent, int64_t *out_delay_ms,
                     void *userdata) {
  (void)agent;
  (void)userdata;
  noop_state *s = state;
  s->iterations++;
  *out_delay_ms = s->step_ms;
  return 0;
}

static int noop_snapshot(void *state, arec_agent *agent, arec_snapshot *snap,
                         void *userdata) {
  (void)agent;
  (void)userdata;
  noop_state *s = state;
  char memory[64];
  snprintf(memory, sizeof memory, "{\"iterations\": %lld}", s->iterations);
  for (size_t i = 0; i < s->n; i++) {
    int rc = arec_snapshot_put(snap, s->symbols[i].symbol,
                               s->symbols[i].balance, memory);
    if (rc) return rc;
  }
  return 0;
}

static void noop_stop(void *state, arec_agent *agent, arec_stop_reason reason,
                      void *userdata) {
  (void)agent;
  (void)reason;
  (void)userdata;
  noop_free(state);
}

void arec_host_noop_type(arec_agent_type *out, const int64_t *step_ms) {
  arec_agent_type t = AREC_AGENT_TYPE_INIT;
  t.name = "noop";
  t.userdata = (void *)step_ms; /* read only */
  t.start = noop_start;
  t.step = noop_step;
  t.snapshot = noop_snapshot;
  t.stop = noop_stop;
  *out = t;
}
