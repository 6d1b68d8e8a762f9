/*
 * audit.c -- the audit trail in the host's store (audit_events, host/sql
 * 002 and 003): append one event, append a batch in one INSERT (the
 * takeover recorder's), list events after or before an id, oldest or
 * newest first (keyset pages on the primary key; one user's through
 * audit_events_user_idx, one action's through audit_events_action_idx).
 *
 * How: a batch goes as six PostgreSQL array literals (text[] / bigint[])
 * unnested WITH ORDINALITY, so the rows keep the batch's order (an event
 * naming an agent but no user gets the agent's owner); a listing
 * statement is put together from constant fragments, one per filter that
 * is set, every value a parameter.
 *
 * Must never: store a secret (the service passes none: actor, action,
 * ids, outcome and request id only), build SQL from data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define TS(col)                                                                \
  "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

int arec_host_store_audit_add(arec_host_store *s, const arec_host_audit *e) {
  if (!s || !e || !e->actor || !*e->actor || !e->action || !*e->action ||
      !e->result)
    return AREC_EINVAL;
  char uid[24];
  const char *p[6] = {e->actor,    e->action,
                      e->agent_id, e->user_id > 0 ? arec__hs_ll(uid, e->user_id)
                                                  : NULL,
                      e->result,   e->request_id};
  return arec_pg_query(s->pg, NULL,
                       "INSERT INTO audit_events (actor, action, agent_id, "
                       "user_id, result, request_id) VALUES ($1, $2, $3, "
                       "$4::bigint, $5, $6)",
                       6, p, NULL, NULL);
}

void arec_host_audit_free(arec_host_audit *v, size_t n) {
  if (!v)
    return;
  for (size_t i = 0; i < n; i++) {
    free(v[i].time);
    free(v[i].actor);
    free(v[i].action);
    free(v[i].agent_id);
    free(v[i].result);
    free(v[i].request_id);
  }
  free(v);
}

/* ---------------------------------------------------------------- batch */
/* Appends `v` (NULL: SQL NULL) to an array literal being built in *f. */
static void array_item(FILE *f, int first, const char *v) {
  if (!first)
    fputc(',', f);
  if (!v) {
    fputs("NULL", f);
    return;
  }
  fputc('"', f);
  for (const char *c = v; *c; c++) {
    if (*c == '"' || *c == '\\')
      fputc('\\', f);
    fputc(*c, f);
  }
  fputc('"', f);
}

/* Column `col` of the batch as an array literal (malloc'd), NULL out of
 * memory.  col: 0 actor, 1 action, 2 agent_id, 3 user_id, 4 result,
 * 5 request_id. */
static char *array_of(const arec_host_audit *e, size_t n, int col) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  fputc('{', f);
  for (size_t i = 0; i < n; i++) {
    char uid[24];
    const char *v = col == 0   ? e[i].actor
                    : col == 1 ? e[i].action
                    : col == 2 ? e[i].agent_id
                    : col == 3 ? (e[i].user_id > 0
                                      ? arec__hs_ll(uid, e[i].user_id)
                                      : NULL)
                    : col == 4 ? e[i].result
                               : e[i].request_id;
    array_item(f, i == 0, v);
  }
  fputc('}', f);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

int arec_host_store_audit_add_many(arec_host_store *s,
                                   const arec_host_audit *e, size_t n) {
  if (!s || (!e && n))
    return AREC_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!e[i].actor || !*e[i].actor || !e[i].action || !*e[i].action ||
        !e[i].result)
      return AREC_EINVAL;
  if (n == 0)
    return 0;
  char *p[6] = {NULL};
  int rc = 0;
  for (int c = 0; c < 6; c++)
    if (!(p[c] = array_of(e, n, c)))
      rc = AREC_ENOMEM;
  if (rc == 0)
    rc = arec_pg_query(
        s->pg, NULL,
        "INSERT INTO audit_events (actor, action, agent_id, user_id, "
        "result, request_id) SELECT u.actor, u.action, u.agent_id, "
        "coalesce(u.user_id, (SELECT a.user_id FROM agent_configs a "
        "WHERE a.id = u.agent_id)), u.result, u.request_id "
        "FROM unnest($1::text[], "
        "$2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) "
        "WITH ORDINALITY AS u(actor, action, agent_id, user_id, result, "
        "request_id, ord) ORDER BY u.ord",
        6, (const char *const *)p, NULL, NULL);
  for (int c = 0; c < 6; c++)
    free(p[c]);
  return rc;
}

/* -------------------------------------------------------------- listing */
int arec_host_store_audit_list(arec_host_store *s, long long after,
                               unsigned int limit, long long user_id,
                               arec_host_audit **out, size_t *out_n) {
  arec_host_audit_query q;
  memset(&q, 0, sizeof q);
  q.after = after;
  q.limit = limit;
  q.user_id = user_id;
  return arec_host_store_audit_query(s, &q, out, out_n);
}

/* 1 when an action name is acceptable: [a-z0-9_.]{1,64}. */
int arec_host_audit_action_valid(const char *a) {
  size_t n = 0;
  if (!a)
    return 0;
  for (; a[n]; n++)
    if (!((a[n] >= 'a' && a[n] <= 'z') || (a[n] >= '0' && a[n] <= '9') ||
          a[n] == '_' || a[n] == '.'))
      return 0;
  return n >= 1 && n <= 64;
}

int arec_host_store_audit_query(arec_host_store *s,
                                const arec_host_audit_query *q,
                                arec_host_audit **out, size_t *out_n) {
  if (!out || !out_n)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  if (!s || !q || q->after < 0 || q->before < 0 || q->limit < 1 ||
      q->limit > 1000 || q->user_id < 0 ||
      (q->action && !arec_host_audit_action_valid(q->action)))
    return AREC_EINVAL;
  /* $1 after, $2 limit, then the filters that are set, in this order */
  char a[24], l[24], b[24], u[24], sql[640];
  const char *p[5] = {arec__hs_ll(a, q->after), arec__hs_ll(l, q->limit)};
  int np = 2;
  size_t k = (size_t)snprintf(
      sql, sizeof sql,
      "SELECT id, " TS("time") ", actor, action, agent_id, user_id, "
      "result, request_id FROM audit_events WHERE id > $1::bigint");
  if (q->before > 0) {
    p[np++] = arec__hs_ll(b, q->before);
    k += (size_t)snprintf(sql + k, sizeof sql - k, " AND id < $%d::bigint", np);
  }
  if (q->user_id > 0) {
    p[np++] = arec__hs_ll(u, q->user_id);
    k += (size_t)snprintf(sql + k, sizeof sql - k, " AND user_id = $%d::bigint",
                          np);
  }
  if (q->action) {
    p[np++] = q->action;
    k += (size_t)snprintf(sql + k, sizeof sql - k, " AND action = $%d::text",
                          np);
  }
  snprintf(sql + k, sizeof sql - k, " ORDER BY id%s LIMIT $2::bigint",
           q->newest_first ? " DESC" : "");
  arec_pg_result *r = NULL;
  int err = arec_pg_query(s->pg, &r, sql, np, p, NULL, NULL);
  if (err)
    return err;
  size_t n = arec_pg_result_rows(r);
  arec_host_audit *v = calloc(n ? n : 1, sizeof *v);
  int oom = !v;
  for (size_t i = 0; v && i < n; i++) {
    v[i].id = arec__hs_val_ll(r, i, 0);
    v[i].time = arec__hs_dup(r, i, 1, &oom);
    v[i].actor = arec__hs_dup(r, i, 2, &oom);
    v[i].action = arec__hs_dup(r, i, 3, &oom);
    v[i].agent_id = arec__hs_dup(r, i, 4, &oom);
    v[i].user_id = arec__hs_val_ll(r, i, 5);
    v[i].result = arec__hs_dup(r, i, 6, &oom);
    v[i].request_id = arec__hs_dup(r, i, 7, &oom);
  }
  arec_pg_result_free(r);
  if (oom) {
    arec_host_audit_free(v, n);
    return AREC_ENOMEM;
  }
  *out = v;
  *out_n = n;
  return 0;
}
