/*
 * service.c -- the service layer's handle and its one way of ending an
 * operation: actor checks (read-only actors may not change anything,
 * Telegram actors see only their own objects), the mapping of library and
 * store codes to outcomes, and the audit trail (one row in audit_events
 * and one INFO line "audit" per mutating operation, whatever its outcome).
 *
 * How: every operation runs between arec__svc_begin() and
 * arec__svc_end(); the outcome is set once by arec__svc_set / _invalid /
 * _fail.  For 500 and 503 the detail (arec_error_last()) goes to a WARN
 * line with the request id, and the message names only the request id
 * (the actor's, else one generated here).
 * Must never: put a secret or a database detail into a result, an audit
 * row or a log line; let a read-only actor change anything; keep mutable
 * state other than the request counter (every call may run concurrently).
 */
#include "service_int.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strategies.h"

/* ------------------------------------------------------------- handle */
int arec_svc_new(arec_svc **out, const arec_svc_options *o) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!o || !o->pg || !o->repo || !o->mgr || !o->store || !o->pod ||
      !*o->pod) {
    arec_error_set("service: pg, repo, mgr, store and pod are required");
    if (o && o->repo)
      arec_repository_free(o->repo);
    return AREC_EINVAL;
  }
  arec_svc *s = calloc(1, sizeof *s);
  char *pod = strdup(o->pod);
  if (!s || !pod) {
    free(s);
    free(pod);
    arec_repository_free(o->repo);
    return AREC_ENOMEM;
  }
  s->pg = o->pg;
  s->repo = o->repo;
  s->mgr = o->mgr;
  s->store = o->store;
  s->pod = pod;
  s->pod_live = o->pod_live;
  s->log = o->log;
  s->log_userdata = o->log_userdata;
  unsigned char r[4] = {0};
  if (RAND_bytes(r, sizeof r) != 1) {
    uintptr_t a = (uintptr_t)s;
    memcpy(r, &a, sizeof r < sizeof a ? sizeof r : sizeof a);
  }
  snprintf(s->rid_prefix, sizeof s->rid_prefix, "%02x%02x%02x%02x", r[0],
           r[1], r[2], r[3]);
  atomic_init(&s->rid_next, 1);
  *out = s;
  return 0;
}

void arec_svc_free(arec_svc *s) {
  if (!s)
    return;
  arec_repository_free(s->repo);
  free(s->pod);
  free(s);
}

arec_repository *arec_svc_repository(arec_svc *s) { return s ? s->repo : NULL; }

const char *const *arec_svc_exchanges(void) { return arec_host_exchanges(); }

int arec_svc_strategies(arec_svc *s, char ***out, size_t *out_n) {
  if (!s || !out || !out_n)
    return AREC_EINVAL;
  return arec_manager_type_names(s->mgr, out, out_n);
}

/* ----------------------------------------------------------- logging */
static void log_fields(arec_svc *s, arec_log_level lvl, const char *msg,
                       const arec_log_field *f, size_t n) {
  if (s->log)
    s->log(s->log_userdata, lvl, msg, f, n);
}

static void actor_text(const arec_svc_actor *who, char *buf, size_t len) {
  switch (who ? who->kind : AREC_ACTOR_API_READ) {
  case AREC_ACTOR_API_ADMIN:
    snprintf(buf, len, "api:admin");
    break;
  case AREC_ACTOR_API_OPEN:
    snprintf(buf, len, "api:none");
    break;
  case AREC_ACTOR_TELEGRAM:
    snprintf(buf, len, "telegram:%lld", who->user_id);
    break;
  default:
    snprintf(buf, len, "api:read");
    break;
  }
}

/* ------------------------------------------------------------ outcomes */
void arec__svc_set(arec__svc_op *o, int status, const char *field,
                   const char *fmt, ...) {
  arec_svc_result *r = o->res;
  va_list ap;
  r->status = status;
  snprintf(r->field, sizeof r->field, "%s", field ? field : "");
  va_start(ap, fmt);
  vsnprintf(r->message, sizeof r->message, fmt, ap);
  va_end(ap);
  /* results are shown to people: keep them on one line */
  for (char *p = r->message; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = ' ';
}

void arec__svc_invalid(arec__svc_op *o, const arec_host_invalid *e) {
  o->rc = AREC_EINVAL;
  arec__svc_set(o, 400, e->field, "%s", e->message);
}

/* The request id of a 500/503: the actor's, else a generated one. */
const char *arec__svc_request_id(arec__svc_op *o) {
  arec_svc_result *r = o->res;
  if (!r->request_id[0]) {
    unsigned long long n = atomic_fetch_add(&o->svc->rid_next, 1);
    snprintf(r->request_id, sizeof r->request_id, "s%s-%llu",
             o->svc->rid_prefix, n);
  }
  return r->request_id;
}

/* A 500/503: the detail goes to the log only. */
static void hidden(arec__svc_op *o, int status, int rc) {
  char detail[300];
  snprintf(detail, sizeof detail, "%s", arec_error_last());
  const char *rid = arec__svc_request_id(o);
  arec_log_field f[4] = {{"request_id", rid, AREC_LOG_STRING},
                         {"action", o->action ? o->action : "read",
                          AREC_LOG_STRING},
                         {"code", arec_err_name(rc), AREC_LOG_STRING},
                         {"error", detail, AREC_LOG_STRING}};
  log_fields(o->svc, AREC_LOG_WARN, "request failed", f, 4);
  if (status == 503)
    arec__svc_set(o, 503, NULL,
                  "service unavailable, try again (request id %s)", rid);
  else
    arec__svc_set(o, 500, NULL, "internal error (request id %s)", rid);
}

/* The field a library EINVAL names ("params: not a JSON object"). */
static const char *reason_field(const char *why) {
  static const char *const known[] = {"params", "name", "strategy", "symbol",
                                      "budget", "requires", NULL};
  for (size_t i = 0; known[i]; i++) {
    size_t n = strlen(known[i]);
    if (strncmp(why, known[i], n) == 0 && why[n] == ':')
      return strcmp(known[i], "budget") == 0 ? "balance" : known[i];
  }
  return "";
}

int arec__svc_done(arec__svc_op *o, int rc, const char *what, int status,
                   const char *fmt, ...) {
  if (rc) {
    arec__svc_fail(o, rc, what);
  } else {
    char msg[sizeof o->res->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    arec__svc_set(o, status, NULL, "%s", msg);
  }
  return arec__svc_end(o);
}

void arec__svc_fail(arec__svc_op *o, int rc, const char *what) {
  o->rc = rc < 0 ? rc : AREC_EBACKEND;
  char why[200];
  snprintf(why, sizeof why, "%s", arec_error_last());
  switch (rc) {
  case AREC_ENOTFOUND:
    arec__svc_set(o, 404, NULL, "%s not found", what);
    break;
  case AREC_EEXIST:
    arec__svc_set(o, 409, NULL, "%s already exists", what);
    break;
  case AREC_ECONFLICT:
    arec__svc_set(o, 409, NULL, "%s: conflicts with the current state", what);
    break;
  case AREC_EINVAL:
    if (!why[0] || strstr(why, "SQLSTATE") || strncmp(why, "pg:", 3) == 0)
      arec__svc_set(o, 400, NULL, "%s: invalid input", what);
    else
      arec__svc_set(o, 400, reason_field(why), "%s", why);
    break;
  case AREC_EREFUSED:
    arec__svc_set(o, 422, NULL, "%s", why[0] ? why : "refused");
    break;
  case AREC_EUNAVAILABLE:
  case AREC_ETIMEDOUT:
  case AREC_ESHUTDOWN:
    hidden(o, 503, rc);
    break;
  default:
    hidden(o, 500, rc);
    break;
  }
}

/* ------------------------------------------------------- begin / end */
int arec__svc_begin(arec__svc_op *o, arec_svc *svc, const arec_svc_actor *who,
                    arec_svc_result *res, const char *action) {
  static _Thread_local arec_svc_result scratch;
  memset(o, 0, sizeof *o);
  o->svc = svc;
  o->who = who;
  o->res = res ? res : &scratch; /* callers always give one */
  o->action = action;
  memset(o->res, 0, sizeof *o->res);
  if (who && who->request_id)
    snprintf(o->res->request_id, sizeof o->res->request_id, "%s",
             who->request_id);
  if (!svc || !who) {
    o->rc = AREC_EINVAL;
    arec__svc_set(o, 500, NULL, "internal error: no service or actor");
    return -1;
  }
  if (who->kind == AREC_ACTOR_TELEGRAM &&
      arec_host_valid_user_id("user_id", who->user_id, NULL)) {
    o->rc = AREC_EINVAL;
    arec__svc_set(o, 403, NULL, "unknown Telegram user");
    return -1;
  }
  if (action && who->kind == AREC_ACTOR_API_READ) {
    o->rc = AREC_EINVAL;
    arec__svc_set(o, 403, NULL,
                  "the read-only token cannot change anything");
    return -1;
  }
  return 0;
}

int arec__svc_begin_list(arec__svc_op *o, arec_svc *svc,
                         const arec_svc_actor *who, arec_svc_result *res,
                         void *out, size_t *out_n) {
  if (out)
    *(void **)out = NULL;
  if (out_n)
    *out_n = 0;
  return arec__svc_begin(o, svc, who, res, NULL);
}

int arec__svc_begin_user_list(arec__svc_op *o, arec_svc *svc,
                              const arec_svc_actor *who, arec_svc_result *res,
                              long long user_id, void *out, size_t *out_n) {
  arec_host_invalid e;
  if (arec__svc_begin_list(o, svc, who, res, out, out_n) ||
      arec__svc_check_user(
          o, arec_host_valid_user_id("user_id", user_id, &e), &e, user_id))
    return -1;
  if (!out || !out_n) {
    arec_host_invalid_set(&e, "out", "required");
    arec__svc_invalid(o, &e);
    return -1;
  }
  o->user_id = user_id;
  return 0;
}

int arec__svc_end(arec__svc_op *o) {
  arec_svc_result *r = o->res;
  if (o->action && o->svc) {
    char actor[48], result[300], uid[24];
    actor_text(o->who, actor, sizeof actor);
    if (r->status >= 300)
      snprintf(result, sizeof result, "%d %s", r->status, r->message);
    else
      snprintf(result, sizeof result, "%d", r->status);
    arec_host_audit ev;
    memset(&ev, 0, sizeof ev);
    ev.actor = actor;
    ev.action = (char *)o->action;
    ev.agent_id = o->agent_id[0] ? o->agent_id : NULL;
    ev.user_id = o->user_id;
    ev.result = result;
    ev.request_id = r->request_id[0] ? r->request_id : NULL;
    arec_log_field f[6];
    size_t n = 0;
    f[n++] = (arec_log_field){"actor", actor, AREC_LOG_STRING};
    f[n++] = (arec_log_field){"action", o->action, AREC_LOG_STRING};
    if (ev.agent_id)
      f[n++] = (arec_log_field){"agent_id", ev.agent_id, AREC_LOG_STRING};
    if (ev.user_id > 0) {
      snprintf(uid, sizeof uid, "%lld", ev.user_id);
      f[n++] = (arec_log_field){"user_id", uid, AREC_LOG_NUMBER};
    }
    f[n++] = (arec_log_field){"result", result, AREC_LOG_STRING};
    if (ev.request_id)
      f[n++] = (arec_log_field){"request_id", ev.request_id, AREC_LOG_STRING};
    log_fields(o->svc, AREC_LOG_INFO, "audit", f, n);
    int rc = arec_host_store_audit_add(o->svc->store, &ev);
    if (rc) {
      arec_log_field w[3] = {{"action", o->action, AREC_LOG_STRING},
                             {"code", arec_err_name(rc), AREC_LOG_STRING},
                             {"error", arec_error_last(), AREC_LOG_STRING}};
      log_fields(o->svc, AREC_LOG_WARN, "audit event not recorded", w, 3);
    }
  }
  if (r->status >= 200 && r->status < 300)
    return 0;
  return o->rc < 0 ? o->rc : AREC_EINVAL;
}

/* ------------------------------------------------------------- scoping */
int arec__svc_own_user(arec__svc_op *o, long long user_id) {
  if (o->who->kind == AREC_ACTOR_TELEGRAM && o->who->user_id != user_id) {
    o->rc = AREC_ENOTFOUND;
    arec__svc_set(o, 404, NULL, "user not found");
    return -1;
  }
  return 0;
}

int arec__svc_check_user(arec__svc_op *o, int invalid,
                         const arec_host_invalid *e, long long user_id) {
  if (invalid) {
    arec__svc_invalid(o, e);
    return -1;
  }
  return arec__svc_own_user(o, user_id);
}

int arec__svc_agent(arec__svc_op *o, const char *id,
                    arec_agent_record **out) {
  arec_host_invalid e;
  *out = NULL;
  if (arec_host_valid_agent_id("id", id, &e)) {
    arec__svc_invalid(o, &e);
    return -1;
  }
  snprintf(o->agent_id, sizeof o->agent_id, "%s", id);
  arec_agent_record *rec = NULL;
  int rc = arec_agent_get(o->svc->repo, id, &rec);
  if (rc) {
    arec__svc_fail(o, rc, "agent");
    return -1;
  }
  if (o->who->kind == AREC_ACTOR_TELEGRAM && rec->user_id != o->who->user_id) {
    arec_agent_records_free(rec, 1);
    o->rc = AREC_ENOTFOUND;
    arec__svc_set(o, 404, NULL, "agent not found");
    return -1;
  }
  o->user_id = rec->user_id;
  *out = rec;
  return 0;
}
