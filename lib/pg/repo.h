/*
 * repo.h -- the PostgreSQL repository object (repo.c) and the save slots it
 * borrows from save.c.  Not installed.
 */
#ifndef AREC_PG_REPO_H
#define AREC_PG_REPO_H

#include "pg/pg_internal.h"

typedef struct arec__pg_repo {
  arec_repository parent; /* first: the manager sees this */
  arec_pg *pg;            /* one reference */
} arec__pg_repo;

int arec__pg_save_state(arec_repository *repo, const arec_save *save);
int arec__pg_save_many(arec_repository *repo, const arec_save *saves,
                       size_t n, int *out_results);
/* The set_trading rules, shared with arec_pg_agent_set_trading(). */
int arec__pg_set_trading(arec_pg *pg, const char *agent_id, int wanted);
/* Groups restore rows (ordered by agent id) into an agent list. */
int arec__pg_rows_to_agents(arec_pg *pg, PGresult *r, arec_agent_list **out);

#endif
