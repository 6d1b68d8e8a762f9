/*
 * repository.h -- the PostgreSQL repository object (repository.c) and the
 * slots it borrows from the other files of lib/pg: saves (save.c),
 * agents_to_restore (restore.c), fair sharing and migration (fleet.c),
 * backoff (backoff.c), administration (agents.c, records.c) and singleton
 * roles (roles.c).  Not installed.
 */
#ifndef AREC_PG_REPOSITORY_H
#define AREC_PG_REPOSITORY_H

#include "pg/pg_internal.h"

typedef struct arec__pg_repo {
  arec_repository parent; /* first: the manager sees this */
  arec_pg *pg;            /* one reference */
} arec__pg_repo;

static inline arec_pg *arec__pg_of(arec_repository *r) {
  return ((arec__pg_repo *)r)->pg;
}

/* save.c */
int arec__pg_save_state(arec_repository *repo, const arec_save *save);
int arec__pg_save_many(arec_repository *repo, const arec_save *saves,
                       size_t n, int *out_results);

/* restore.c */
int arec__pg_agents_to_restore(arec_repository *repo, const char *only_id,
                               struct arec_agent_list **out);

/* backoff.c */
int arec__pg_start_failed(arec_repository *repo, const char *agent_id,
                          uint64_t fence, const char *error, int64_t min_ms,
                          int64_t max_ms, unsigned int *out_failures);
int arec__pg_start_ok(arec_repository *repo, const char *agent_id,
                      uint64_t fence);
int arec__pg_set_error(arec_repository *repo, const char *agent_id,
                       uint64_t fence, const char *error);

/* agents.c */
int arec__pg_agent_create(arec_repository *repo, const arec_agent_spec *spec,
                          char *out_id, size_t out_len);
int arec__pg_agent_assign(arec_repository *repo, const char *agent_id,
                          const char *symbol, double budget);
int arec__pg_agent_unassign(arec_repository *repo, const char *agent_id,
                            const char *symbol);
int arec__pg_set_active(arec_repository *repo, const char *agent_id,
                        int active);
int arec__pg_agent_delete(arec_repository *repo, const char *agent_id);

/* records.c */
int arec__pg_agent_get(arec_repository *repo, const char *agent_id,
                       arec_agent_record **out);
int arec__pg_agent_list(arec_repository *repo, const arec_agent_filter *filter,
                        arec_agent_record **out, size_t *out_n);
int arec__pg_pod_list(arec_repository *repo, arec_pod_record **out,
                      size_t *out_n);
/* The page statement of a filter shape (for tests: EXPLAIN of each shape),
 * for a page read with its symbols or without.  shape: bit 0 user_id, bit
 * 1 running_on, bits 2..4 the AREC_AGENTS_* flags (only << 2).  *nparams
 * gets how many parameters it takes: $1 after (text, "" for the start), $2
 * limit, then user_id, then running_on. */
#define AREC__PG_LIST_SHAPES 32
const char *arec__pg_list_sql(unsigned int shape, int with_symbols,
                              int *nparams);
/* The statement run before each page in the same implicit transaction
 * (planner settings for that page only). */
extern const char arec__pg_page_setup[];
/* The symbols statement of an unfiltered page ($1 its first id, $2 its
 * last) and the planner settings sent with it (tests: its plans). */
const char *arec__pg_symbols_range_sql(void);
extern const char arec__pg_symbols_range_setup[];

/* roles.c */
int arec__pg_role_claim(arec_repository *repo, const char *name,
                        const char *holder, int64_t ttl_ms,
                        uint64_t *out_fence);
int arec__pg_role_keep(arec_repository *repo, const char *name,
                       const char *holder, uint64_t fence, int64_t ttl_ms);
int arec__pg_role_release(arec_repository *repo, const char *name,
                          const char *holder, uint64_t fence);
int arec__pg_role_check(arec_repository *repo, const char *name,
                        const char *holder, uint64_t fence);

#endif
