/*
 * snapshot.c -- the snapshot builder agents fill in their snapshot()
 * callback (arec_snapshot_put), comparison of two snapshots (so unchanged
 * state is not written again), and stop reason names.
 *
 * A snapshot owns copies of every string; its arec_symbol_state array is
 * handed directly to the repository as arec_save.states.
 */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "internal.h"

int arec_snapshot_put(arec_snapshot *snap, const char *symbol, double balance,
                      const char *memory) {
  if (!snap || !symbol || !*symbol)
    return AREC_EINVAL;
  if (!memory)
    memory = "{}";
  if (arec__array_room(&snap->st, &snap->cap, snap->n, sizeof *snap->st, 4))
    return AREC_ENOMEM;
  char *s = strdup(symbol);
  char *m = strdup(memory);
  if (!s || !m) {
    free(s);
    free(m);
    return AREC_ENOMEM;
  }
  snap->st[snap->n].symbol = s;
  snap->st[snap->n].balance = balance;
  snap->st[snap->n].memory = m;
  snap->n++;
  return 0;
}

void arec__snapshot_free(arec_snapshot *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++) {
    free((void *)s->st[i].symbol);
    free((void *)s->st[i].memory);
  }
  free(s->st);
  free(s);
}

int arec__snapshot_equal(const arec_snapshot *a, const arec_snapshot *b) {
  if (!a || !b || a->n != b->n)
    return 0;
  for (size_t i = 0; i < a->n; i++) {
    if (strcmp(a->st[i].symbol, b->st[i].symbol) != 0 ||
        a->st[i].balance != b->st[i].balance ||
        strcmp(a->st[i].memory, b->st[i].memory) != 0)
      return 0;
  }
  return 1;
}

const char *arec_stop_reason_name(arec_stop_reason reason) {
  switch (reason) {
  case AREC_STOP_USER:
    return "user";
  case AREC_STOP_HANDOVER:
    return "handover";
  case AREC_STOP_LOST:
    return "lost";
  case AREC_STOP_FENCED:
    return "fenced";
  case AREC_STOP_ERROR:
    return "error";
  }
  return "unknown";
}
