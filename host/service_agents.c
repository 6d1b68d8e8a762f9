/*
 * service_agents.c -- the service operations on agents: create, assign,
 * unassign, start, stop, enable/disable, migrate, delete, stop all of a
 * user's, get and list.  Validation by the input policy, scoping to the
 * actor (a Telegram user's own agents only), then the library's
 * administration API (arec_agent_*) on the service's repository or the
 * manager (start, stop, migrate), and one outcome.
 *
 * Rules kept here: a strategy must be registered on this pod at create and
 * at start (400 "strategy"); the mode (given, else the params', else the
 * pod's TRADING_MODE) is written into the params and a live agent
 * requires the capability "live"; the risk limits are checked at create
 * (trading/params.h); a symbol is assigned only when the owner has
 * a trading pair for it (409); delete stops first (a user's stop: the
 * runner closes positions), then deletes (soft: history kept).
 * Must never: act on another Telegram user's agent, turn a lock-service
 * outage into an error when the wish was recorded (202).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_int.h"
#include "trading/params.h"

/* ------------------------------------------------------------ create */
int arec_svc_agent_create(arec_svc *svc, const arec_svc_actor *who,
                          const arec_svc_agent_new *spec, char *out_id,
                          size_t out_len, arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  if (out_id && out_len)
    out_id[0] = '\0';
  if (arec__svc_begin(&o, svc, who, res, "agent.create"))
    return arec__svc_end(&o);
  if (!spec) {
    arec_host_invalid_set(&e, "user_id", "required");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  o.user_id = spec->user_id > 0 ? spec->user_id : 0;
  if (spec->id && arec_agent_id_valid(spec->id))
    snprintf(o.agent_id, sizeof o.agent_id, "%s", spec->id);
  if (arec_host_valid_user_id("user_id", spec->user_id, &e) ||
      (spec->id && arec_host_valid_agent_id("id", spec->id, &e)) ||
      arec_host_valid_strategy("strategy", spec->strategy, svc->mgr, &e) ||
      arec_host_valid_name("name", spec->name, &e) ||
      arec_host_valid_params("params", spec->params, &e)) {
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  /* the mode and the risk limits: given, else the params', else the pod's */
  arec_trading_params tp;
  arec_params_error pe;
  if (arec_trading_params_parse(spec->params, &tp, &pe) != 0) {
    arec_host_invalid_set(&e, pe.field, "%s", pe.message);
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (spec->mode && strcmp(spec->mode, "paper") && strcmp(spec->mode, "live")) {
    arec_host_invalid_set(&e, "mode", "mode: \"paper\" or \"live\"");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (spec->mode && tp.has_mode &&
      strcmp(spec->mode, tp.live ? "live" : "paper")) {
    arec_host_invalid_set(&e, "mode", "mode: the params say another mode");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  const char *mode = spec->mode       ? spec->mode
                     : tp.has_mode    ? (tp.live ? "live" : "paper")
                     : svc->pod_live ? "live"
                                      : "paper";
  if (arec__svc_own_user(&o, spec->user_id))
    return arec__svc_end(&o);
  int rc = arec_host_store_user_get(svc->store, spec->user_id, NULL);
  if (rc) {
    arec__svc_fail(&o, rc, "user");
    return arec__svc_end(&o);
  }
  char *params = NULL;
  if ((rc = arec_trading_params_set_mode(spec->params, mode, &params)) != 0) {
    if (rc == -1) {
      arec_host_invalid_set(&e, "params", "params: a JSON object");
      arec__svc_invalid(&o, &e);
    } else {
      arec_error_set("out of memory");
      arec__svc_fail(&o, AREC_ENOMEM, "agent");
    }
    return arec__svc_end(&o);
  }
  arec_agent_spec as = AREC_AGENT_SPEC_INIT;
  char id[AREC_AGENT_ID_MAX + 1];
  as.id = spec->id;
  as.user_id = spec->user_id;
  as.strategy = spec->strategy;
  as.name = spec->name;
  as.params = params;
  as.requires = strcmp(mode, "live") == 0 ? "live" : NULL;
  rc = arec_agent_create(svc->repo, &as, id, sizeof id);
  free(params);
  if (rc == AREC_EEXIST) {
    o.rc = rc;
    arec__svc_set(&o, 409, "id", "agent id %s is taken", spec->id);
  } else if (rc) {
    arec__svc_fail(&o, rc, "user");
  } else {
    snprintf(o.agent_id, sizeof o.agent_id, "%s", id);
    if (out_id && out_len)
      snprintf(out_id, out_len, "%s", id);
    arec__svc_set(&o, 201, NULL, "agent %s created (%s)", id, mode);
  }
  return arec__svc_end(&o);
}

/* ---------------------------------------------------- assign/unassign */
int arec_svc_agent_assign(arec_svc *svc, const arec_svc_actor *who,
                          const char *agent_id, const char *symbol,
                          double budget, arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  char sym[AREC_HOST_SYMBOL_MAX];
  arec_agent_record *a = NULL;
  if (arec__svc_begin(&o, svc, who, res, "agent.assign"))
    return arec__svc_end(&o);
  if (arec_host_valid_agent_id("id", agent_id, &e) ||
      arec_host_valid_symbol("symbol", symbol, sym, sizeof sym, &e) ||
      arec_host_valid_budget("balance", budget, &e)) {
    if (agent_id && arec_agent_id_valid(agent_id))
      snprintf(o.agent_id, sizeof o.agent_id, "%s", agent_id);
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (arec__svc_agent(&o, agent_id, &a))
    return arec__svc_end(&o);
  int rc = arec_host_store_pair_exists(svc->store, a->user_id, sym);
  if (rc == 0) {
    o.rc = AREC_ECONFLICT;
    arec__svc_set(&o, 409, "symbol",
                  "the agent's owner has no trading pair for %s", sym);
  } else if (rc < 0) {
    arec__svc_fail(&o, rc, "pair");
  } else if ((rc = arec_agent_assign(svc->repo, agent_id, sym, budget))) {
    if (rc == AREC_EEXIST) {
      o.rc = rc;
      arec__svc_set(&o, 409, "symbol", "%s is already assigned to agent %s",
                    sym, agent_id);
    } else {
      arec__svc_fail(&o, rc, "agent");
    }
  } else {
    arec__svc_set(&o, 201, NULL, "agent %s trades %s with a budget of %.2f",
                  agent_id, sym, budget);
  }
  arec_agent_records_free(a, 1);
  return arec__svc_end(&o);
}

int arec_svc_agent_unassign(arec_svc *svc, const arec_svc_actor *who,
                            const char *agent_id, const char *symbol,
                            arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  char sym[AREC_HOST_SYMBOL_MAX];
  arec_agent_record *a = NULL;
  if (arec__svc_begin(&o, svc, who, res, "agent.unassign"))
    return arec__svc_end(&o);
  if (arec_host_valid_symbol("symbol", symbol, sym, sizeof sym, &e)) {
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (arec__svc_agent(&o, agent_id, &a))
    return arec__svc_end(&o);
  arec_agent_records_free(a, 1);
  int rc = arec_agent_unassign(svc->repo, agent_id, sym);
  if (rc == AREC_ENOTFOUND) {
    o.rc = rc;
    arec__svc_set(&o, 404, "symbol", "agent %s has no symbol %s", agent_id,
                  sym);
  } else if (rc == AREC_ECONFLICT) {
    o.rc = rc;
    arec__svc_set(&o, 409, NULL,
                  "agent %s is wanted or still running: stop it first",
                  agent_id);
  } else if (rc) {
    arec__svc_fail(&o, rc, "agent");
  } else {
    arec__svc_set(&o, 200, NULL, "%s removed from agent %s", sym, agent_id);
  }
  return arec__svc_end(&o);
}

/* ------------------------------------------------------------- start */
/* The start was recorded but runs elsewhere or later: 202 and why. */
static void accepted(arec__svc_op *o, int rc, const char *agent_id,
                     char *out_pod, size_t out_len) {
  arec_agent_record *a = NULL;
  int got = arec_agent_get(o->svc->repo, agent_id, &a) == 0;
  if (rc == AREC_ELOCKED) {
    const char *on = got && a->running_on ? a->running_on : NULL;
    if (on && out_pod && out_len)
      snprintf(out_pod, out_len, "%s", on);
    arec__svc_set(o, 202, NULL, "agent %s runs on pod %s", agent_id,
                  on ? on : "(another pod)");
  } else if (rc == AREC_EPLACEMENT) {
    arec__svc_set(o, 202, NULL,
                  "start recorded: this pod cannot run agent %s (it requires "
                  "a capability this pod lacks); a pod offering it will",
                  agent_id);
  } else if (got && a->is_trading && a->start_failures > 0 && a->last_error) {
    arec__svc_set(o, 202, NULL,
                  "start recorded: agent %s failed to start for now and is "
                  "retried (%.120s)",
                  agent_id, a->last_error);
  } else if (got && a->is_trading) {
    arec__svc_set(o, 202, NULL,
                  "start recorded: the lock service is unavailable, agent %s "
                  "starts when it returns",
                  agent_id);
  } else {
    arec__svc_fail(o, rc, "agent");
  }
  arec_agent_records_free(a, got ? 1 : 0);
}

int arec_svc_agent_start(arec_svc *svc, const arec_svc_actor *who,
                         const char *agent_id, char *out_pod, size_t out_len,
                         arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  arec_agent_record *a = NULL;
  if (out_pod && out_len)
    out_pod[0] = '\0';
  if (arec__svc_begin(&o, svc, who, res, "agent.start"))
    return arec__svc_end(&o);
  if (arec__svc_agent(&o, agent_id, &a))
    return arec__svc_end(&o);
  int typed = !arec_host_valid_strategy("strategy", a->strategy, svc->mgr, &e);
  int live = arec_svc_agent_is_live(a);
  arec_agent_records_free(a, 1);
  if (!typed) {
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  int rc = arec_manager_start_agent(svc->mgr, agent_id);
  switch (rc) {
  case 0:
    if (out_pod && out_len)
      snprintf(out_pod, out_len, "%s", svc->pod);
    arec__svc_set(&o, 200, NULL, "agent %s started on pod %s (%s)", agent_id,
                  svc->pod, live ? "live orders" : "paper trading");
    break;
  case AREC_ELOCKED:
  case AREC_EPLACEMENT:
  case AREC_EUNAVAILABLE:
  case AREC_ETIMEDOUT:
    o.rc = rc;
    accepted(&o, rc, agent_id, out_pod, out_len);
    break;
  case AREC_ECONFLICT:
    o.rc = rc;
    arec__svc_set(&o, 409, NULL, "agent %s has no symbols or is disabled",
                  agent_id);
    break;
  default:
    arec__svc_fail(&o, rc, "agent");
    break;
  }
  return arec__svc_end(&o);
}

/* ------------------------------------------------ stop, enable, delete */
/* An operation on one agent begun as `action`: the agent found and the
 * actor allowed to act on it (arec__svc_agent).  Nonzero when the
 * operation must not go on (then end it). */
static int begin_on(arec__svc_op *o, arec_svc *svc, const arec_svc_actor *who,
                    arec_svc_result *res, const char *action,
                    const char *agent_id) {
  arec_agent_record *a = NULL;
  if (arec__svc_begin(o, svc, who, res, action) ||
      arec__svc_agent(o, agent_id, &a))
    return -1;
  arec_agent_records_free(a, 1);
  return 0;
}

int arec_svc_agent_stop(arec_svc *svc, const arec_svc_actor *who,
                        const char *agent_id, arec_svc_result *res) {
  arec__svc_op o;
  if (begin_on(&o, svc, who, res, "agent.stop", agent_id))
    return arec__svc_end(&o);
  int rc = arec_manager_stop_agent(svc->mgr, agent_id);
  return arec__svc_done(&o, rc, "agent", 200, "agent %s stopped", agent_id);
}

int arec_svc_agent_set_active(arec_svc *svc, const arec_svc_actor *who,
                              const char *agent_id, int active,
                              arec_svc_result *res) {
  arec__svc_op o;
  if (begin_on(&o, svc, who, res, active ? "agent.enable" : "agent.disable",
               agent_id))
    return arec__svc_end(&o);
  int rc = arec_agent_set_active(svc->repo, agent_id, active ? 1 : 0);
  return arec__svc_done(&o, rc, "agent", 200, "agent %s %s", agent_id,
                        active ? "enabled" : "disabled");
}

int arec_svc_agent_migrate(arec_svc *svc, const arec_svc_actor *who,
                           const char *agent_id, const char *to_pod,
                           arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  if (begin_on(&o, svc, who, res, "agent.migrate", agent_id))
    return arec__svc_end(&o);
  if (arec_host_valid_pod("to", to_pod, &e)) {
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  int rc = arec_manager_migrate_agent(svc->mgr, agent_id, to_pod);
  if (rc == AREC_ECONFLICT) {
    o.rc = rc;
    arec__svc_set(&o, 409, NULL,
                  "cannot migrate agent %s: it is not wanted, or pod %s is "
                  "not live",
                  agent_id, to_pod);
  } else if (rc == AREC_EINVAL) {
    o.rc = rc;
    arec__svc_set(&o, 400, "to", "to: cannot migrate to pod %s", to_pod);
  } else if (rc) {
    arec__svc_fail(&o, rc, "agent");
  } else {
    arec__svc_set(&o, 202, NULL, "agent %s migrating to pod %s", agent_id,
                  to_pod);
  }
  return arec__svc_end(&o);
}

int arec_svc_agent_delete(arec_svc *svc, const arec_svc_actor *who,
                          const char *agent_id, arec_svc_result *res) {
  arec__svc_op o;
  if (begin_on(&o, svc, who, res, "agent.delete", agent_id))
    return arec__svc_end(&o);
  /* a user's stop first: a local runner closes its positions */
  int rc = arec_manager_stop_agent(svc->mgr, agent_id);
  if (!rc)
    rc = arec_agent_delete(svc->repo, agent_id);
  return arec__svc_done(&o, rc, "agent", 200, "agent %s deleted", agent_id);
}

int arec_svc_stop_all(arec_svc *svc, const arec_svc_actor *who,
                      long long user_id, size_t *out_n,
                      arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  size_t stopped = 0;
  if (out_n)
    *out_n = 0;
  if (arec__svc_begin(&o, svc, who, res, "agents.stop_all"))
    return arec__svc_end(&o);
  o.user_id = user_id > 0 ? user_id : 0;
  int invalid = arec_host_valid_user_id("user_id", user_id, &e);
  if (arec__svc_check_user(&o, invalid, &e, user_id))
    return arec__svc_end(&o);
  char after[AREC_AGENT_ID_MAX + 1] = "";
  int rc = 0;
  for (;;) {
    arec_agent_filter f = AREC_AGENT_FILTER_INIT;
    arec_agent_record *v = NULL;
    size_t n = 0;
    f.after = after[0] ? after : NULL;
    f.limit = 1000;
    f.user_id = user_id;
    f.only = AREC_AGENTS_WANTED;
    rc = arec_agent_list(svc->repo, &f, &v, &n);
    if (rc)
      break;
    for (size_t i = 0; i < n && !rc; i++) {
      rc = arec_manager_stop_agent(svc->mgr, v[i].id);
      if (rc == AREC_ENOTFOUND) /* deleted meanwhile */
        rc = 0;
      else if (!rc)
        stopped++;
    }
    if (n)
      snprintf(after, sizeof after, "%s", v[n - 1].id);
    arec_agent_records_free(v, n);
    if (rc || n < 1000)
      break;
  }
  if (out_n)
    *out_n = stopped;
  return arec__svc_done(&o, rc, "agents", 200, "%zu agents stopped", stopped);
}

/* ------------------------------------------------------------- reads */
int arec_svc_agent_is_live(const arec_agent_record *a) {
  arec_trading_params tp;
  return a && arec_trading_params_parse(a->params, &tp, NULL) == 0 && tp.live;
}

int arec_svc_agent_get(arec_svc *svc, const arec_svc_actor *who,
                       const char *agent_id, arec_agent_record **out,
                       arec_svc_result *res) {
  arec__svc_op o;
  if (out)
    *out = NULL;
  if (arec__svc_begin(&o, svc, who, res, NULL))
    return arec__svc_end(&o);
  arec_agent_record *a = NULL;
  if (arec__svc_agent(&o, agent_id, &a))
    return arec__svc_end(&o);
  if (out)
    *out = a;
  else
    arec_agent_records_free(a, 1);
  arec__svc_set(&o, 200, NULL, "agent %s", agent_id);
  return arec__svc_end(&o);
}

int arec_svc_agent_list(arec_svc *svc, const arec_svc_actor *who,
                        const arec_agent_filter *filter,
                        arec_agent_record **out, size_t *out_n,
                        arec_svc_result *res) {
  arec__svc_op o;
  arec_host_invalid e;
  if (arec__svc_begin_list(&o, svc, who, res, out, out_n))
    return arec__svc_end(&o);
  arec_agent_filter f = AREC_AGENT_FILTER_INIT;
  if (filter)
    f = *filter;
  f.version = AREC_AGENT_FILTER_VERSION;
  if (f.limit > 1000) {
    arec_host_invalid_set(&e, "limit", "an integer 1..1000");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (f.after && *f.after && arec_host_valid_agent_id("after", f.after, &e)) {
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (f.after && !*f.after)
    f.after = NULL;
  if (f.user_id < 0 ||
      (f.user_id > 0 && arec_host_valid_user_id("user_id", f.user_id, &e))) {
    arec_host_invalid_set(&e, "user_id", "an integer 1..9007199254740991");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (f.running_on && arec_host_valid_pod("running_on", f.running_on, &e)) {
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  if (who->kind == AREC_ACTOR_TELEGRAM)
    f.user_id = who->user_id;
  if (!out || !out_n) {
    arec_host_invalid_set(&e, "out", "required");
    arec__svc_invalid(&o, &e);
    return arec__svc_end(&o);
  }
  int rc = arec_agent_list(svc->repo, &f, out, out_n);
  return arec__svc_done(&o, rc, "agents", 200, "%zu agents", *out_n);
}
