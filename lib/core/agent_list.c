/*
 * agent_list.c -- arec_agent_list_free(): frees what a repository returned
 * from agents_to_restore.  Every string and array is its own malloc block;
 * credentials are wiped before they are freed.
 */
#include <stdlib.h>
#include <string.h>

#include "agentrecover/sys/repository.h"

static void wipe_free(const char *s) {
  if (!s)
    return;
  /* volatile keeps the compiler from dropping the wipe of a dying buffer */
  volatile char *p = (volatile char *)s;
  while (*p)
    *p++ = 0;
  free((void *)s);
}

void arec_agent_list_free(arec_agent_list *list) {
  if (!list)
    return;
  for (size_t i = 0; i < list->n; i++) {
    arec_agent_row *r = &list->rows[i];
    free(r->id);
    free(r->strategy);
    free(r->name);
    for (size_t j = 0; j < r->nsymbols; j++) {
      arec_symbol *s = &r->symbols[j];
      free((void *)s->symbol);
      free((void *)s->memory);
      free((void *)s->exchange);
      wipe_free(s->api_key);
      wipe_free(s->api_secret);
    }
    free(r->symbols);
  }
  free(list->rows);
  free(list);
}
