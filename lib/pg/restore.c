/*
 * restore.c -- agents_to_restore on PostgreSQL: the wanted agents (enabled,
 * trading, not deleted, with at least one symbol) that have no live owner
 * and whose backoff wait is over, each with its parameters, its failure
 * count, whether an owner that is no longer live still held it (orphaned:
 * a takeover after a failure) and all its symbols' budget, balance and
 * memory.
 *
 * How: one statement (two static texts: every agent, or one by id), the
 * wanted agents without a live owner found before any join, rows ordered
 * by agent id then symbol and grouped here.  Liveness and backoff are
 * judged on the database clock.  A row that cannot be read whole (a
 * balance that is not a finite double) is listed with `error` and a reason
 * instead of failing the whole list: the manager puts that agent in
 * backoff and runs the others.
 * Must never: fail the list for one bad row, build SQL from data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"
#include "pg/repository.h"

/* The live pods are read once (a materialized CTE) and the wanted agents
 * filtered against them before any join (OFFSET 0 keeps the planner from
 * flattening the subquery): a hash anti join over the agents, where a NOT
 * EXISTS with clock_timestamp() inside ran a subplan per agent (every pass
 * of every pod, 100,000 agents all owned: 95 ms for an empty answer, now
 * about 40). */
#define RESTORE_SELECT(ONE)                                                    \
  "WITH live AS MATERIALIZED (SELECT name, incarnation FROM pods "             \
  "                           WHERE lease_until > clock_timestamp()) "        \
  "SELECT a.id, a.user_id, a.strategy, a.name, a.params::text, a.requires, "   \
  "       a.start_failures, a.last_error, s.symbol, s.balance::text, "         \
  "       st.balance::text, st.memory::text, a.running_on IS NOT NULL "        \
  "FROM (SELECT a.* FROM agent_configs a "                                     \
  "      WHERE a.is_active AND a.is_trading AND a.deleted_at IS NULL "         \
  "        AND (a.retry_at IS NULL OR a.retry_at <= clock_timestamp()) "       \
  "        AND NOT EXISTS (SELECT 1 FROM live p WHERE p.name = a.running_on "  \
  "                        AND p.incarnation = a.running_incarnation) "        \
  ONE "      OFFSET 0) a "                                                     \
  "JOIN agent_symbol_assignments s ON s.agent_id = a.id "                      \
  "LEFT JOIN agent_states st ON st.agent_id = s.agent_id "                     \
  "     AND st.symbol = s.symbol "

static const char RESTORE_ALL_SQL[] =
    RESTORE_SELECT("") "ORDER BY a.id, s.symbol COLLATE \"C\"";
static const char RESTORE_ONE_SQL[] = RESTORE_SELECT(
    "        AND a.id = $1 ") "ORDER BY s.symbol COLLATE \"C\"";

enum { C_ID, C_USER, C_STRATEGY, C_NAME, C_PARAMS, C_REQUIRES, C_FAILURES,
       C_LAST_ERROR, C_SYMBOL, C_BUDGET, C_BALANCE, C_MEMORY, C_ORPHANED };

/* Marks a row unreadable: its symbols go, the reason stays.  0 or ENOMEM. */
static int row_error(arec_agent_row *row, const char *why) {
  for (size_t j = 0; j < row->nsymbols; j++) {
    free((char *)row->symbols[j].symbol);
    free((char *)row->symbols[j].memory);
  }
  free(row->symbols);
  row->symbols = NULL;
  row->nsymbols = 0;
  row->error = AREC_EBACKEND;
  return (row->error_text = strdup(why)) ? 0 : AREC_ENOMEM;
}

/* Fills one agent's header from result row i.  0 or ENOMEM. */
static int read_agent(PGresult *r, int i, int nsym, arec_agent_row *row) {
  row->id = strdup(PQgetvalue(r, i, C_ID));
  row->user_id = arec__pg_ll(r, i, C_USER);
  row->strategy = strdup(PQgetvalue(r, i, C_STRATEGY));
  row->name = strdup(PQgetvalue(r, i, C_NAME));
  row->params = strdup(PQgetvalue(r, i, C_PARAMS));
  row->requires = arec__pg_strdup(arec__pg_val(r, i, C_REQUIRES));
  row->start_failures = (unsigned int)arec__pg_ll(r, i, C_FAILURES);
  row->last_error = arec__pg_strdup(arec__pg_val(r, i, C_LAST_ERROR));
  row->orphaned = PQgetvalue(r, i, C_ORPHANED)[0] == 't';
  row->symbols = calloc((size_t)nsym, sizeof *row->symbols);
  if (!row->id || !row->strategy || !row->name || !row->params ||
      !row->symbols || (arec__pg_val(r, i, C_REQUIRES) && !row->requires) ||
      (arec__pg_val(r, i, C_LAST_ERROR) && !row->last_error))
    return AREC_ENOMEM;
  return 0;
}

/* Adds result row i as a symbol of `row` (or marks the row unreadable).
 * 0 or ENOMEM. */
static int read_symbol(PGresult *r, int i, arec_agent_row *row) {
  if (row->error)
    return 0;
  double budget = 0, balance = 0;
  const char *sym = PQgetvalue(r, i, C_SYMBOL);
  const char *bal = arec__pg_val(r, i, C_BALANCE);
  const char *bad = NULL;
  if (arec__pg_to_double(PQgetvalue(r, i, C_BUDGET), &budget))
    bad = "budget";
  else if (bal && arec__pg_to_double(bal, &balance))
    bad = "balance";
  if (bad) {
    char why[200];
    snprintf(why, sizeof why, "the %s of symbol %.64s is not a finite number",
             bad, sym);
    return row_error(row, why);
  }
  arec_symbol *s = &row->symbols[row->nsymbols++];
  s->budget = budget;
  s->balance = bal ? balance : budget;
  s->symbol = strdup(sym);
  s->memory = strdup(arec__pg_val(r, i, C_MEMORY) ? PQgetvalue(r, i, C_MEMORY)
                                                  : "{}");
  return s->symbol && s->memory ? 0 : AREC_ENOMEM;
}

/* Groups restore rows (ordered by agent id) into an agent list. */
static int rows_to_agents(PGresult *r, struct arec_agent_list **out) {
  int nt = PQntuples(r);
  struct arec_agent_list *l = calloc(1, sizeof *l);
  if (!l)
    return AREC_ENOMEM;
  size_t na = 0;
  for (int i = 0; i < nt; i++)
    if (i == 0 || strcmp(PQgetvalue(r, i, C_ID), PQgetvalue(r, i - 1, C_ID)))
      na++;
  l->rows = na ? calloc(na, sizeof *l->rows) : NULL;
  if (na && !l->rows) {
    free(l);
    return AREC_ENOMEM;
  }
  int err = 0;
  arec_agent_row *row = NULL;
  for (int i = 0; i < nt && !err; i++) {
    if (i == 0 || strcmp(PQgetvalue(r, i, C_ID), PQgetvalue(r, i - 1, C_ID))) {
      row = &l->rows[l->n++];
      int cnt = 0;
      for (int j = i; j < nt && !strcmp(PQgetvalue(r, j, C_ID),
                                        PQgetvalue(r, i, C_ID));
           j++)
        cnt++;
      err = read_agent(r, i, cnt, row);
    }
    if (!err)
      err = read_symbol(r, i, row);
  }
  if (err) {
    arec_agent_list_free(l);
    return err;
  }
  *out = l;
  return 0;
}

int arec__pg_agents_to_restore(arec_repository *repo, const char *only_id,
                               struct arec_agent_list **out) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  const char *p[1] = {only_id};
  PGresult *r;
  int err = only_id ? arec__pg_query(arec__pg_of(repo), RESTORE_ONE_SQL, 1, p,
                                     NULL, NULL, &r)
                    : arec__pg_query(arec__pg_of(repo), RESTORE_ALL_SQL, 0,
                                     NULL, NULL, NULL, &r);
  if (err)
    return err;
  err = rows_to_agents(r, out);
  PQclear(r);
  return err;
}
