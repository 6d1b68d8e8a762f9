/*
 * records.c -- administration reads of the PostgreSQL repository:
 * agent_get, agent_list (keyset pages) and pod_list, as the records of
 * agentrecover.h.
 *
 * How: a page is `id > $after ORDER BY id LIMIT $n` (the id column compares
 * in byte order) with one static parameterised text per filter shape --
 * owner, pod, and the AREC_AGENTS_* flags -- so each shape walks an index
 * in id order with no sort and stops after n rows: the primary key, the
 * owner's index (user_id, id), or the partial indexes of wanted agents and
 * agents in backoff.  No `($1 IS NULL OR ...)` pattern, which would hide
 * the index from the planner.  Each page statement is planned with sorts
 * and bitmap scans disabled (set_config(..., true) in the same round trip
 * and implicit transaction, arec__pg_exec_planned): otherwise the planner
 * may read all the rows a small filter matches and sort them -- cheap, but
 * not bounded by the page.  Symbols, when asked for, come in a second
 * statement for the page's ids only and are sorted here; for an unfiltered
 * page (every live agent between its first and last id) that statement
 * reads the id range of both symbol indexes and merges them, two index
 * descents instead of two per agent (with nested loops and sorts off).  These reads run
 * as prepared statements (prepared.c): an admin API serving many of them
 * would otherwise spend most of the database's time parsing and planning.  Deleted agents
 * are never shown.  A symbol's updated_at_ms (and the agent's, their
 * latest) counts accepted saves only: 0 until the first one.
 * Must never: build SQL from data, sort or scan the whole table for a page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_internal.h"
#include "pg/repository.h"

#define PG arec__pg_of

/* ------------------------------------------------------------ statements */
#define REC_BASE                                                               \
  "a.id, a.user_id, a.strategy, a.name, a.params::text, a.requires, "          \
  "a.is_active, a.is_trading, a.fence, a.running_on, a.running_incarnation, "  \
  "a.start_failures, a.last_error, " AREC__PG_MS("a.retry_at") ", "            \
  AREC__PG_MS("a.created_at") ", "
/* updated_at: the latest accepted save of any of its symbols (a symbol's
 * state row goes with its assignment) */
#define REC_COLS                                                               \
  REC_BASE "(SELECT " AREC__PG_MS("max(st.updated_at)") " FROM agent_states "  \
  "st WHERE st.agent_id = a.id AND st.fence > 0) "
/* with the symbols read next: updated_at comes from theirs (to_records) */
#define REC_COLS_SYM REC_BASE "NULL::bigint "

enum { R_ID, R_USER, R_STRATEGY, R_NAME, R_PARAMS, R_REQUIRES, R_ACTIVE,
       R_TRADING, R_FENCE, R_RUNNING_ON, R_RUNNING_INC, R_FAILURES,
       R_LAST_ERROR, R_RETRY_AT, R_CREATED_AT, R_UPDATED_AT };

static const char GET_SQL[] =
    "SELECT " REC_COLS_SYM "FROM agent_configs a "
    "WHERE a.id = $1 AND a.deleted_at IS NULL";

/* The page statements: $1 after, $2 limit, then user_id, then running_on;
 * without and with the symbols (LIST_SQL, LIST_SYM_SQL). */
#define LIST_HEAD                                                              \
  "SELECT " COLS "FROM agent_configs a "                                       \
  "WHERE a.deleted_at IS NULL AND a.id > $1"
#define LIST_TAIL " ORDER BY a.id LIMIT $2::int"
#define U_0 ""
#define U_1 " AND a.user_id = $3::bigint"
#define R_0_0 ""
#define R_0_1 ""
#define R_1_0 " AND a.running_on = $3"
#define R_1_1 " AND a.running_on = $4"
#define W_0 ""
#define W_1 " AND a.is_active AND a.is_trading"
#define O_0 ""
#define O_1 " AND a.running_on IS NULL"
#define B_0 ""
#define B_1 " AND a.start_failures > 0"
#define SHAPE(u, r, w, o, b)                                                   \
  LIST_HEAD U_##u R_##r##_##u W_##w O_##o B_##b LIST_TAIL
/* shape = u | r << 1 | only << 2 (only: wanted 1, unowned 2, backoff 4) */
#define FOUR(w, o, b)                                                          \
  SHAPE(0, 0, w, o, b), SHAPE(1, 0, w, o, b), SHAPE(0, 1, w, o, b),            \
      SHAPE(1, 1, w, o, b)

#define ALL_SHAPES                                                             \
  {FOUR(0, 0, 0), FOUR(1, 0, 0), FOUR(0, 1, 0), FOUR(1, 1, 0),                 \
   FOUR(0, 0, 1), FOUR(1, 0, 1), FOUR(0, 1, 1), FOUR(1, 1, 1)}
#define COLS REC_COLS
static const char *const LIST_SQL[AREC__PG_LIST_SHAPES] = ALL_SHAPES;
#undef COLS
#define COLS REC_COLS_SYM
static const char *const LIST_SYM_SQL[AREC__PG_LIST_SHAPES] = ALL_SHAPES;
#undef COLS

const char arec__pg_page_setup[] =
    "SELECT set_config('enable_sort', 'off', true), "
    "set_config('enable_bitmapscan', 'off', true)";

const char *arec__pg_list_sql(unsigned int shape, int with_symbols,
                              int *nparams) {
  if (shape >= AREC__PG_LIST_SHAPES)
    return NULL;
  if (nparams)
    *nparams = 2 + (int)(shape & 1) + (int)((shape >> 1) & 1);
  return with_symbols ? LIST_SYM_SQL[shape] : LIST_SQL[shape];
}

static const char SYMBOLS_SQL[] =
    "SELECT s.agent_id, s.symbol, s.balance::text, st.balance::text, "
    "       st.memory::text, st.fence, "
    "       CASE WHEN st.fence > 0 THEN " AREC__PG_MS("st.updated_at") " END "
    "FROM agent_symbol_assignments s "
    "LEFT JOIN agent_states st ON st.agent_id = s.agent_id "
    "     AND st.symbol = s.symbol "
    "WHERE s.agent_id = ANY($1::text[])";

/* The symbols of an unfiltered page, whose agents are every live agent
 * from its first id to its last: one range of each (agent_id, symbol)
 * index, merged in index order -- two index descents instead of two per
 * agent.  Rows of deleted agents in the range are skipped by the caller
 * (the page's own walk passed over the same rows). */
static const char SYMBOLS_RANGE_SQL[] =
    "SELECT s.agent_id, s.symbol, s.balance::text, st.balance::text, "
    "       st.memory::text, st.fence, "
    "       CASE WHEN st.fence > 0 THEN " AREC__PG_MS("st.updated_at") " END "
    "FROM agent_symbol_assignments s "
    "LEFT JOIN agent_states st ON st.agent_id = s.agent_id "
    "     AND st.symbol = s.symbol AND st.agent_id >= $1 AND st.agent_id <= $2 "
    "WHERE s.agent_id >= $1 AND s.agent_id <= $2";

const char arec__pg_symbols_range_setup[] =
    "SELECT set_config('enable_nestloop', 'off', true), "
    "set_config('enable_hashjoin', 'off', true), "
    "set_config('enable_sort', 'off', true), "
    "set_config('enable_bitmapscan', 'off', true)";

const char *arec__pg_symbols_range_sql(void) { return SYMBOLS_RANGE_SQL; }

/* --------------------------------------------------------------- reading */
static int read_record(const PGresult *r, int i, arec_agent_record *a) {
  memset(a, 0, sizeof *a);
  a->id = strdup(PQgetvalue(r, i, R_ID));
  a->user_id = arec__pg_ll(r, i, R_USER);
  a->strategy = strdup(PQgetvalue(r, i, R_STRATEGY));
  a->name = strdup(PQgetvalue(r, i, R_NAME));
  a->params = strdup(PQgetvalue(r, i, R_PARAMS));
  a->requires = arec__pg_strdup(arec__pg_val(r, i, R_REQUIRES));
  a->is_active = arec__pg_bool(r, i, R_ACTIVE);
  a->is_trading = arec__pg_bool(r, i, R_TRADING);
  a->fence = arec__pg_u64(r, i, R_FENCE);
  a->running_on = arec__pg_strdup(arec__pg_val(r, i, R_RUNNING_ON));
  a->running_incarnation = arec__pg_strdup(arec__pg_val(r, i, R_RUNNING_INC));
  a->start_failures = (unsigned int)arec__pg_ll(r, i, R_FAILURES);
  a->last_error = arec__pg_strdup(arec__pg_val(r, i, R_LAST_ERROR));
  a->retry_at_ms = arec__pg_ll(r, i, R_RETRY_AT);
  a->created_at_ms = arec__pg_ll(r, i, R_CREATED_AT);
  a->updated_at_ms = arec__pg_ll(r, i, R_UPDATED_AT);
  if (!a->id || !a->strategy || !a->name || !a->params ||
      (arec__pg_val(r, i, R_REQUIRES) && !a->requires) ||
      (arec__pg_val(r, i, R_RUNNING_ON) && !a->running_on) ||
      (arec__pg_val(r, i, R_RUNNING_INC) && !a->running_incarnation) ||
      (arec__pg_val(r, i, R_LAST_ERROR) && !a->last_error))
    return AREC_ENOMEM;
  return 0;
}

static int cmp_rec_id(const void *k, const void *e) {
  return strcmp((const char *)k, ((const arec_agent_record *)e)->id);
}

static int cmp_sym(const void *x, const void *y) {
  return strcmp(((const arec_symbol_record *)x)->symbol,
                ((const arec_symbol_record *)y)->symbol);
}

/* acquire + arec__pg_exec_planned + release with the call deadline. */
static int query_planned(arec_pg *pg, const char *setup, const char *sql,
                         int nparams, const char *const *p, PGresult **r) {
  int64_t dl = arec__pg_deadline(pg);
  arec__pg_slot *s;
  int err = arec__pg_acquire(pg, dl, &s);
  if (err)
    return err;
  err = arec__pg_exec_planned(pg, s, dl, setup, sql, nparams, p, r);
  arec__pg_release(pg, s);
  return err;
}

/* The rows of SYMBOLS_RANGE_SQL from recs[0].id to recs[n - 1].id. */
static int symbols_in_range(arec_pg *pg, const arec_agent_record *recs,
                            size_t n, PGresult **r) {
  const char *p[2] = {recs[0].id, recs[n - 1].id};
  return query_planned(pg, arec__pg_symbols_range_setup, SYMBOLS_RANGE_SQL,
                       2, p, r);
}

/* The rows of SYMBOLS_SQL for the ids of recs[0..n). */
static int symbols_by_id(arec_pg *pg, const arec_agent_record *recs,
                         size_t n, PGresult **out) {
  arec__buf b;
  const char *arr = NULL;
  {
    const char **ids = malloc(n * sizeof *ids);
    if (!ids)
      return AREC_ENOMEM;
    for (size_t i = 0; i < n; i++)
      ids[i] = recs[i].id;
    arr = arec__pg_arr_strings(&b, ids, n);
    free(ids);
  }
  if (!arr) {
    arec__buf_free(&b);
    return AREC_ENOMEM;
  }
  const char *p[1] = {arr};
  int err = arec__pg_query_prepared(pg, SYMBOLS_SQL, 1, p, out);
  arec__buf_free(&b);
  return err;
}

/* Gives each record its rows of r (a symbols statement's; rows of ids not
 * among recs are skipped); clears r. */
static int fill_from(PGresult *r, arec_agent_record *recs, size_t n) {
  int err = 0;
  int nt = PQntuples(r);
  /* count per record, then fill */
  for (int i = 0; i < nt; i++) {
    arec_agent_record *a = bsearch(PQgetvalue(r, i, 0), recs, n, sizeof *recs,
                                   cmp_rec_id);
    if (a)
      a->nsymbols++;
  }
  for (size_t i = 0; i < n && !err; i++) {
    if (recs[i].nsymbols &&
        !(recs[i].symbols = calloc(recs[i].nsymbols, sizeof *recs[i].symbols)))
      err = AREC_ENOMEM;
    recs[i].nsymbols = 0;
  }
  for (int i = 0; i < nt && !err; i++) {
    arec_agent_record *a = bsearch(PQgetvalue(r, i, 0), recs, n, sizeof *recs,
                                   cmp_rec_id);
    if (!a)
      continue;
    arec_symbol_record *s = &a->symbols[a->nsymbols++];
    s->symbol = strdup(PQgetvalue(r, i, 1));
    s->budget = arec__pg_dbl(r, i, 2);
    s->balance = arec__pg_val(r, i, 3) ? arec__pg_dbl(r, i, 3) : s->budget;
    s->memory = strdup(arec__pg_val(r, i, 4) ? PQgetvalue(r, i, 4) : "{}");
    s->fence = arec__pg_u64(r, i, 5);
    s->updated_at_ms = arec__pg_ll(r, i, 6);
    if (!s->symbol || !s->memory)
      err = AREC_ENOMEM;
  }
  PQclear(r);
  for (size_t i = 0; i < n && !err; i++)
    if (recs[i].nsymbols > 1)
      qsort(recs[i].symbols, recs[i].nsymbols, sizeof *recs[i].symbols,
            cmp_sym);
  return err;
}

/* Fills the symbols of recs[0..n) (sorted by id in byte order); `range`:
 * they are every live agent from the first id to the last. */
static int fill_symbols(arec_pg *pg, arec_agent_record *recs, size_t n,
                        int range) {
  if (!n)
    return 0;
  PGresult *r;
  int err = range ? symbols_in_range(pg, recs, n, &r)
                  : symbols_by_id(pg, recs, n, &r);
  if (err)
    return err;
  return fill_from(r, recs, n);
}

/* Records of a result (rows ordered by id), with symbols when asked. */
static int to_records(arec_pg *pg, PGresult *r, int with_symbols,
                      int range, arec_agent_record **out, size_t *out_n) {
  size_t n = (size_t)PQntuples(r);
  arec_agent_record *recs = n ? calloc(n, sizeof *recs) : NULL;
  if (n && !recs)
    return AREC_ENOMEM;
  int err = 0;
  size_t done = 0;
  for (; done < n && !err; done++)
    err = read_record(r, (int)done, &recs[done]);
  if (!err && with_symbols)
    err = fill_symbols(pg, recs, n, range);
  for (size_t i = 0; !err && with_symbols && i < n; i++)
    for (size_t j = 0; j < recs[i].nsymbols; j++)
      if (recs[i].symbols[j].updated_at_ms > recs[i].updated_at_ms)
        recs[i].updated_at_ms = recs[i].symbols[j].updated_at_ms;
  if (err) {
    arec_agent_records_free(recs, done);
    return err;
  }
  *out = recs;
  *out_n = n;
  return 0;
}

/* ------------------------------------------------------------------ slots */
int arec__pg_agent_get(arec_repository *repo, const char *agent_id,
                       arec_agent_record **out) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!agent_id)
    return AREC_EINVAL;
  const char *p[1] = {agent_id};
  PGresult *r;
  int err = arec__pg_query_prepared(PG(repo), GET_SQL, 1, p, &r);
  if (err)
    return err;
  size_t n = 0;
  arec_agent_record *a = NULL;
  err = to_records(PG(repo), r, 1, 0, &a, &n);
  PQclear(r);
  if (err)
    return err;
  if (n == 0)
    return arec__pg_not_found(agent_id);
  *out = a;
  return 0;
}

int arec__pg_agent_list(arec_repository *repo, const arec_agent_filter *filter,
                        arec_agent_record **out, size_t *out_n) {
  if (!out || !out_n)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  arec_agent_filter def = AREC_AGENT_FILTER_INIT;
  const arec_agent_filter *f = filter ? filter : &def;
  unsigned int limit = f->limit ? f->limit : 100;
  if (limit > 1000 || (f->only & ~7u)) {
    arec_error_set("pg: list limit must be 1..1000 and only a set of "
                   "AREC_AGENTS_* flags");
    return AREC_EINVAL;
  }
  unsigned int shape = (f->user_id > 0 ? 1u : 0u) |
                       (f->running_on ? 2u : 0u) | (f->only << 2);
  char lim[24], uid[24];
  const char *p[4] = {f->after ? f->after : "", arec__pg_i64(lim, limit),
                      NULL, NULL};
  int np = 2;
  if (f->user_id > 0)
    p[np++] = arec__pg_i64(uid, f->user_id);
  if (f->running_on)
    p[np++] = f->running_on;
  arec_pg *pg = PG(repo);
  PGresult *r = NULL;
  int err = query_planned(pg, arec__pg_page_setup,
                          f->with_symbols ? LIST_SYM_SQL[shape]
                                          : LIST_SQL[shape],
                          np, p, &r);
  if (err)
    return err;
  err = to_records(pg, r, f->with_symbols, shape == 0, out, out_n);
  PQclear(r);
  return err;
}

/* ------------------------------------------------------------------- pods */
int arec__pg_pod_list(arec_repository *repo, arec_pod_record **out,
                      size_t *out_n) {
  if (!out || !out_n)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  PGresult *r;
  int err = arec__pg_query(
      PG(repo),
      "SELECT p.name, p.incarnation, " AREC__PG_MS("p.started_at") ", "
      AREC__PG_MS("p.heartbeat_at") ", " AREC__PG_MS("p.lease_until") ", "
      "  p.leaving, coalesce(c.n, 0) "
      "FROM pods p LEFT JOIN (SELECT running_on, count(*) AS n "
      "  FROM agent_configs WHERE running_on IS NOT NULL "
      "  AND deleted_at IS NULL GROUP BY running_on) c "
      "  ON c.running_on = p.name "
      "WHERE p.lease_until > clock_timestamp() "
      "ORDER BY p.name COLLATE \"C\"",
      0, NULL, NULL, NULL, &r);
  if (err)
    return err;
  size_t n = (size_t)PQntuples(r);
  arec_pod_record *ps = n ? calloc(n, sizeof *ps) : NULL;
  int oom = n && !ps;
  for (size_t i = 0; ps && i < n; i++) {
    int row = (int)i;
    ps[i].name = strdup(PQgetvalue(r, row, 0));
    ps[i].incarnation = strdup(PQgetvalue(r, row, 1));
    ps[i].started_at_ms = arec__pg_ll(r, row, 2);
    ps[i].heartbeat_at_ms = arec__pg_ll(r, row, 3);
    ps[i].lease_until_ms = arec__pg_ll(r, row, 4);
    ps[i].leaving = arec__pg_bool(r, row, 5);
    ps[i].agents = arec__pg_u64(r, row, 6);
    if (!ps[i].name || !ps[i].incarnation)
      oom = 1;
  }
  PQclear(r);
  if (oom) {
    arec_pod_records_free(ps, n);
    return AREC_ENOMEM;
  }
  *out = ps;
  *out_n = n;
  return 0;
}
