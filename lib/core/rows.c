/*
 * rows.c -- frees what repositories and the library hand out: the rows of
 * agents_to_restore (arec_agent_list_free), the fleet (arec_fleet_clear),
 * agent and pod records (arec_agent_records_free, arec_pod_records_free)
 * and string arrays (arec_strings_free).
 *
 * Every string and array is its own malloc block (backends allocate them
 * that way); every function accepts NULL.  Never frees a block twice: a
 * cleared fleet is zeroed.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void arec_agent_list_free(struct arec_agent_list *list) {
  if (!list)
    return;
  for (size_t i = 0; list->rows && i < list->n; i++) {
    arec_agent_row *r = &list->rows[i];
    free(r->id);
    free(r->strategy);
    free(r->name);
    free(r->params);
    free(r->requires);
    free(r->last_error);
    free(r->error_text);
    for (size_t j = 0; r->symbols && j < r->nsymbols; j++) {
      free((void *)r->symbols[j].symbol);
      free((void *)r->symbols[j].memory);
    }
    free(r->symbols);
  }
  free(list->rows);
  free(list);
}

void arec_fleet_clear(arec_fleet *f) {
  if (!f)
    return;
  for (size_t i = 0; f->migrations && i < f->nmigrations; i++) {
    free(f->migrations[i].agent_id);
    free(f->migrations[i].to_pod);
  }
  free(f->migrations);
  memset(f, 0, sizeof *f);
}

void arec_agent_records_free(arec_agent_record *records, size_t n) {
  if (!records)
    return;
  for (size_t i = 0; i < n; i++) {
    arec_agent_record *r = &records[i];
    free(r->id);
    free(r->strategy);
    free(r->name);
    free(r->params);
    free(r->requires);
    free(r->running_on);
    free(r->running_incarnation);
    free(r->last_error);
    for (size_t j = 0; r->symbols && j < r->nsymbols; j++) {
      free(r->symbols[j].symbol);
      free(r->symbols[j].memory);
    }
    free(r->symbols);
  }
  free(records);
}

void arec_pod_records_free(arec_pod_record *pods, size_t n) {
  if (!pods)
    return;
  for (size_t i = 0; i < n; i++) {
    free(pods[i].name);
    free(pods[i].incarnation);
  }
  free(pods);
}

void arec_strings_free(char **strings, size_t n) {
  if (!strings)
    return;
  for (size_t i = 0; i < n; i++)
    free(strings[i]);
  free(strings);
}
