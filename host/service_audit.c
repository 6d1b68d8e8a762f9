/*
 * service_audit.c -- the service's reads of the audit trail (keyset pages
 * by id, oldest or newest first, optionally of one action; a Telegram user
 * sees only its own events) and the bot's state
 * (its update offset, written only by the current holder of its role).
 *
 * Must never: write the bot's offset for a holder that lost its role,
 * audit a read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_int.h"

void arec_svc_events_free(arec_svc_event *v, size_t n) {
  arec_host_audit_free(v, n);
}

int arec_svc_audit_list(arec_svc *svc, const arec_svc_actor *who,
                        long long after, unsigned int limit,
                        arec_svc_event **out, size_t *out_n,
                        arec_svc_result *res) {
  arec_svc_audit_filter f;
  memset(&f, 0, sizeof f);
  f.after = after;
  f.limit = limit;
  return arec_svc_audit_query(svc, who, &f, out, out_n, res);
}

int arec_svc_audit_query(arec_svc *svc, const arec_svc_actor *who,
                         const arec_svc_audit_filter *f,
                         arec_svc_event **out, size_t *out_n,
                         arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  if (arec__svc_begin_list(&o, svc, who, res, out, out_n))
    return arec__svc_end(&o);
  if (!f || !out || !out_n) {
    arec_host_invalid_set(&e, f ? "out" : "filter", "required");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (f->after < 0) {
    arec_host_invalid_set(&e, "after", "an event id >= 0");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (f->before < 0) {
    arec_host_invalid_set(&e, "before", "an event id >= 1");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (f->limit < 1 || f->limit > 1000) {
    arec_host_invalid_set(&e, "limit", "an integer 1..1000");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (f->action && !arec_host_audit_action_valid(f->action)) {
    arec_host_invalid_set(&e, "action", "an action name: [a-z0-9_.]{1,64}");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  arec_host_audit_query q;
  memset(&q, 0, sizeof q);
  q.after = f->after;
  q.before = f->before;
  q.limit = f->limit;
  q.user_id = who->kind == AREC_ACTOR_TELEGRAM ? who->user_id : 0;
  q.action = f->action;
  q.newest_first = f->newest_first ? 1 : 0;
  int rc = arec_host_store_audit_query(svc->store, &q, out, out_n);
  return arec__svc_done(&o, rc, "audit events", 200, "%zu events", *out_n);
}

/* ------------------------------------------------------------- the bot */
int arec_svc_bot_offset_get(arec_svc *svc, long long *out) {
  if (!svc || !out)
    return AREC_EINVAL;
  *out = 0;
  char *v = NULL;
  int rc = arec_host_store_kv_get(svc->store, AREC_HOST_KV_TELEGRAM_OFFSET,
                                  &v);
  if (rc == AREC_ENOTFOUND)
    return 0;
  if (rc)
    return rc;
  char *end = NULL;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  int bad = errno || end == v || *end;
  free(v);
  if (bad) {
    arec_error_set("host_kv: %s is not a number", AREC_HOST_KV_TELEGRAM_OFFSET);
    return AREC_EBACKEND;
  }
  *out = n;
  return 0;
}

int arec_svc_bot_offset_set(arec_svc *svc, const arec_role_lease *lease,
                            long long offset) {
  if (!svc || !lease)
    return AREC_EINVAL;
  char v[24];
  snprintf(v, sizeof v, "%lld", offset);
  return arec_host_store_kv_set_fenced(svc->store, AREC_HOST_KV_TELEGRAM_OFFSET,
                                       v, lease);
}
