/*
 * admin.c -- the administration of agents over any repository: create,
 * assign, unassign, wish, enable, delete, get, list, the pods' list, and
 * freeing backends that were never handed to a manager.
 *
 * Each function checks its arguments first (agent ids, NULLs, names and
 * symbols without control characters and in valid UTF-8, params one JSON
 * object, budgets positive and finite, list limits), so every backend sees
 * only valid requests, then checks that the repository has the slot
 * (version 3; AREC_EINVAL with a message otherwise) and calls it.
 *
 * Must never: call a slot a repository's version does not have, or pass a
 * backend text it would have to reject.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

void arec_repository_free(arec_repository *repo) {
  if (repo && repo->free)
    repo->free(repo);
}

void arec_lock_free(arec_lock *lock) {
  if (lock && lock->free)
    lock->free(lock);
}

static int bad(const char *why) {
  arec_error_set("%s", why);
  return AREC_EINVAL;
}

/* The repository can do `what` (slot non-NULL): 0, else AREC_EINVAL. */
static int can(const arec_repository *repo, int has, const char *what) {
  if (!repo)
    return bad("repository is NULL");
  if (repo->version < 3) {
    arec_error_set("the repository (version %u) has no %s: version 3 needed",
                   repo->version, what);
    return AREC_EINVAL;
  }
  if (!has) {
    arec_error_set("the repository does not implement %s", what);
    return AREC_EINVAL;
  }
  return 0;
}

/* can() for the version 3 slot `slot`, which the error names. */
#define CAN(repo, slot)                                                        \
  can((repo), (repo) && AREC__V3((repo), slot) != NULL, #slot)

static int id_ok(const char *id) {
  return id && arec_agent_id_valid(id) ? 0 : bad("invalid agent id");
}

static int symbol_ok(const char *symbol) {
  return arec__text_ok(symbol)
             ? 0
             : bad("symbol: required, valid UTF-8 without control characters");
}

/* ----------------------------------------------------------------- create */
int arec_agent_create(arec_repository *repo, const arec_agent_spec *spec,
                      char *out_id, size_t out_len) {
  int rc;
  if (out_id && out_len)
    out_id[0] = '\0';
  if (!spec)
    return bad("spec is NULL");
  if (spec->version != AREC_AGENT_SPEC_VERSION) {
    arec_error_set("agent spec: unsupported version %u", spec->version);
    return AREC_EVERSION;
  }
  if (!out_id || out_len < AREC_AGENT_ID_MAX + 1)
    return bad("out_id needs AREC_AGENT_ID_MAX + 1 bytes");
  if (spec->id && (rc = id_ok(spec->id)) < 0)
    return rc;
  if (spec->user_id < 0)
    return bad("user_id must be >= 0");
  if (!arec__text_ok(spec->strategy))
    return bad("strategy: required, valid UTF-8 without control characters");
  if (!arec__text_ok(spec->name))
    return bad("name: required, valid UTF-8 without control characters");
  if (spec->params && !arec__json_object_valid(spec->params))
    return bad("params: not a JSON object");
  if (spec->requires &&
      (!arec__text_ok(spec->requires) || strchr(spec->requires, ',')))
    return bad("requires: one capability name (no comma, no control "
               "characters)");
  if ((rc = CAN(repo, agent_create)) < 0)
    return rc;
  return repo->agent_create(repo, spec, out_id, out_len);
}

/* ----------------------------------------------------------------- assign */
int arec_agent_assign(arec_repository *repo, const char *id,
                      const char *symbol, double budget) {
  int rc;
  if ((rc = id_ok(id)) < 0 || (rc = symbol_ok(symbol)) < 0)
    return rc;
  if (!(budget > 0) || !isfinite(budget))
    return bad("budget must be > 0 and finite");
  if ((rc = CAN(repo, agent_assign)) < 0)
    return rc;
  return repo->agent_assign(repo, id, symbol, budget);
}

int arec_agent_unassign(arec_repository *repo, const char *id,
                        const char *symbol) {
  int rc;
  if ((rc = id_ok(id)) < 0 || (rc = symbol_ok(symbol)) < 0 ||
      (rc = CAN(repo, agent_unassign)) < 0)
    return rc;
  return repo->agent_unassign(repo, id, symbol);
}

/* ------------------------------------------------------------ wish, state */
int arec_agent_set_trading(arec_repository *repo, const char *id,
                           int wanted) {
  int rc;
  if ((rc = id_ok(id)) < 0)
    return rc;
  if (!repo || !repo->set_trading)
    return bad("repository is NULL or has no set_trading");
  return repo->set_trading(repo, id, wanted != 0);
}

int arec_agent_set_active(arec_repository *repo, const char *id,
                          int active) {
  int rc;
  if ((rc = id_ok(id)) < 0 || (rc = CAN(repo, set_active)) < 0)
    return rc;
  return repo->set_active(repo, id, active != 0);
}

int arec_agent_delete(arec_repository *repo, const char *id) {
  int rc;
  if ((rc = id_ok(id)) < 0 || (rc = CAN(repo, agent_delete)) < 0)
    return rc;
  return repo->agent_delete(repo, id);
}

/* ------------------------------------------------------------------ reads */
int arec_agent_get(arec_repository *repo, const char *id,
                   arec_agent_record **out) {
  int rc;
  if (out)
    *out = NULL;
  if (!out)
    return bad("out is NULL");
  if ((rc = id_ok(id)) < 0 || (rc = CAN(repo, agent_get)) < 0)
    return rc;
  return repo->agent_get(repo, id, out);
}

int arec_agent_list(arec_repository *repo, const arec_agent_filter *filter,
                    arec_agent_record **out, size_t *out_n) {
  arec_agent_filter f = AREC_AGENT_FILTER_INIT;
  int rc;
  if (out)
    *out = NULL;
  if (out_n)
    *out_n = 0;
  if (!out || !out_n)
    return bad("out and out_n are required");
  if (filter) {
    if (filter->version != AREC_AGENT_FILTER_VERSION) {
      arec_error_set("agent filter: unsupported version %u", filter->version);
      return AREC_EVERSION;
    }
    f = *filter;
  }
  if (f.limit == 0)
    f.limit = 100;
  if (f.limit > 1000)
    return bad("limit: 1..1000 (0: 100)");
  if (f.user_id < 0)
    return bad("user_id must be >= 0 (0: any)");
  if (f.only & ~(unsigned int)(AREC_AGENTS_WANTED | AREC_AGENTS_UNOWNED |
                               AREC_AGENTS_BACKOFF))
    return bad("only: unknown flags");
  if (f.running_on && !*f.running_on)
    return bad("running_on: empty pod name");
  if ((rc = CAN(repo, agent_list)) < 0)
    return rc;
  return repo->agent_list(repo, &f, out, out_n);
}

int arec_pod_list(arec_repository *repo, arec_pod_record **out,
                  size_t *out_n) {
  int rc;
  if (out)
    *out = NULL;
  if (out_n)
    *out_n = 0;
  if (!out || !out_n)
    return bad("out and out_n are required");
  if ((rc = CAN(repo, pod_list)) < 0)
    return rc;
  return repo->pod_list(repo, out, out_n);
}
