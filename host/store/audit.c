/*
 * audit.c -- the audit trail in the host's store (audit_events, host/sql
 * 002): append one event, list events after an id (keyset pages on the
 * primary key; one user's through audit_events_user_idx).
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

int arec_host_store_audit_list(arec_host_store *s, long long after,
                               unsigned int limit, long long user_id,
                               arec_host_audit **out, size_t *out_n) {
  if (!out || !out_n)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  if (!s || after < 0 || limit < 1 || limit > 1000)
    return AREC_EINVAL;
  char a[24], l[24], u[24];
  const char *p[3] = {arec__hs_ll(a, after), arec__hs_ll(l, limit),
                      arec__hs_ll(u, user_id)};
  arec_pg_result *r = NULL;
  int err = arec_pg_query(
      s->pg, &r,
      user_id > 0
          ? "SELECT id, " TS("time") ", actor, action, agent_id, user_id, "
            "result, request_id FROM audit_events "
            "WHERE user_id = $3::bigint AND id > $1::bigint "
            "ORDER BY id LIMIT $2::bigint"
          : "SELECT id, " TS("time") ", actor, action, agent_id, user_id, "
            "result, request_id FROM audit_events WHERE id > $1::bigint "
            "ORDER BY id LIMIT $2::bigint",
      user_id > 0 ? 3 : 2, p, NULL, NULL);
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
