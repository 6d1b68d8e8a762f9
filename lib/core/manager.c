/*
 * manager.c -- arec_manager_new/free: option validation and defaults
 * (option structs of versions 1 to 4: the fields a version lacks take their
 * defaults), the capabilities list, the pod's incarnation, the first
 * heartbeat, starting and joining the threads (workers, refresher, saver,
 * reconciler, pod lease), agent type registration and the type queries,
 * and the runners query.
 *
 * The manager owns repo and lock from the call of arec_manager_new on, even
 * when it fails.  The reconciler thread starts with the manager (it renews
 * the pod's heartbeat row every refresh interval) but runs no pass before
 * arec_manager_restore() enables them.  Never prints; never exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "release.h"
#include "saver.h"
#include "scheduler.h"
#include "table.h"
#include "threads.h"

/* ----------------------------------------------------------------- checks */
static int check_repo(const arec_repository *r) {
  if (r->version < 2 || r->version > AREC_REPOSITORY_VERSION) {
    arec_error_set("repository: unsupported vtable version %u", r->version);
    return AREC_EVERSION;
  }
  if (!r->agents_to_restore || !r->unwanted || !r->claim || !r->save_state ||
      !r->release || !r->heartbeat || !r->set_trading || !r->free) {
    arec_error_set("repository: a required slot is NULL");
    return AREC_EINVAL;
  }
  return 0;
}

static int check_lock(const arec_lock *l) {
  if (l->version < 1 || l->version > AREC_LOCK_VERSION) {
    arec_error_set("lock: unsupported vtable version %u", l->version);
    return AREC_EVERSION;
  }
  if (!l->try_acquire || !l->refresh || !l->release || !l->free) {
    arec_error_set("lock: a required slot is NULL");
    return AREC_EINVAL;
  }
  return 0;
}

static int bad(const char *field, const char *why) {
  arec_error_set("invalid option %s: %s", field, why);
  return AREC_EINVAL;
}

/* The validated options with their defaults. */
typedef struct conf {
  int64_t ttl, refresh, reconcile, save, shut, pod_ttl, stop_check;
  int64_t backoff_min, backoff_max;
  unsigned int workers;
  int fair, takeover;
  const char *caps;
} conf;

static int check_opts(const arec_manager_options *o, conf *c) {
  int64_t *ttl = &c->ttl, *refresh = &c->refresh, *reconcile = &c->reconcile,
          *save = &c->save, *shut = &c->shut, *pod_ttl = &c->pod_ttl;
  unsigned int *workers = &c->workers;
  int *fair = &c->fair;
  if (!o)
    return bad("opts", "NULL");
  if (o->version < 1 || o->version > AREC_MANAGER_OPTIONS_VERSION) {
    arec_error_set("options: unsupported version %u", o->version);
    return AREC_EVERSION;
  }
  if (!o->pod_name || !*o->pod_name)
    return bad("pod_name", "required");
  if (strlen(o->pod_name) > 127)
    return bad("pod_name", "longer than 127 characters");
  if (o->lock_ttl_ms < 0)
    return bad("lock_ttl_ms", "must be > 0");
  *ttl = o->lock_ttl_ms ? o->lock_ttl_ms : 30000;
  if (o->refresh_interval_ms < 0)
    return bad("refresh_interval_ms", "must be >= 0");
  *refresh = o->refresh_interval_ms ? o->refresh_interval_ms : *ttl / 3;
  if (*refresh < 1)
    *refresh = 1;
  if (*refresh >= *ttl)
    return bad("refresh_interval_ms", "must be < lock_ttl_ms");
  if (o->reconcile_interval_ms < -1)
    return bad("reconcile_interval_ms", "must be >= 0 (or -1: default)");
  *reconcile = o->reconcile_interval_ms == -1 ? 5000 : o->reconcile_interval_ms;
  if (o->save_interval_ms < 0)
    return bad("save_interval_ms", "must be >= 0");
  *save = o->save_interval_ms ? o->save_interval_ms : 5000;
  if (o->shutdown_timeout_ms < 0)
    return bad("shutdown_timeout_ms", "must be >= 0");
  *shut = o->shutdown_timeout_ms ? o->shutdown_timeout_ms : 25000;
  if (o->workers > 4096)
    return bad("workers", "at most 4096");
  *workers = o->workers ? o->workers : 32;
  if ((int)o->log_level < AREC_LOG_DEBUG || (int)o->log_level > AREC_LOG_ERROR)
    return bad("log_level", "unknown level");
  *pod_ttl = o->version >= 2 ? o->pod_lease_ttl_ms : 0;
  if (*pod_ttl < 0)
    return bad("pod_lease_ttl_ms", "must be >= 0");
  if (*pod_ttl > 0 && *pod_ttl < 30)
    return bad("pod_lease_ttl_ms", "at least 30 ms");
  *fair = o->version >= 3 ? o->fair_share : 0;
  if (*fair != 0 && *fair != 1)
    return bad("fair_share", "0 or 1");
  /* version 4: capabilities, takeover, stop checks, backoff bounds */
  int v4 = o->version >= 4;
  c->caps = v4 ? o->capabilities : NULL;
  c->takeover = v4 ? o->takeover : 1;
  if (c->takeover != 0 && c->takeover != 1)
    return bad("takeover", "0 or 1");
  c->stop_check = v4 ? o->stop_check_interval_ms : 0;
  if (c->stop_check < 0)
    return bad("stop_check_interval_ms", "must be >= 0");
  if (c->stop_check == 0)
    c->stop_check = 5000;
  c->backoff_min = v4 ? o->backoff_min_ms : 0;
  c->backoff_max = v4 ? o->backoff_max_ms : 0;
  if (c->backoff_min < 0)
    return bad("backoff_min_ms", "must be >= 0");
  if (c->backoff_max < 0)
    return bad("backoff_max_ms", "must be >= 0");
  if (c->backoff_min == 0)
    c->backoff_min = 5000;
  if (c->backoff_max == 0)
    c->backoff_max = c->backoff_min > 600000 ? c->backoff_min : 600000;
  if (c->backoff_max < c->backoff_min)
    return bad("backoff_max_ms", "must be >= backoff_min_ms");
  return 0;
}

/* Splits "a, b,c" into mgr->caps (names trimmed; empty items skipped). */
static int parse_caps(arec_manager *mgr, const char *list) {
  if (!list)
    return 0;
  if (arec__has_control(list))
    return bad("capabilities", "control characters");
  const char *p = list;
  while (*p) {
    const char *end = strchr(p, ',');
    if (!end)
      end = p + strlen(p);
    const char *a = p, *b = end;
    while (a < b && (*a == ' ' || *a == '\t'))
      a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
      b--;
    if (b > a) {
      char **v = realloc(mgr->caps, (mgr->ncaps + 1) * sizeof *v);
      if (!v)
        return AREC_ENOMEM;
      mgr->caps = v;
      if (!(mgr->caps[mgr->ncaps] = strndup(a, (size_t)(b - a))))
        return AREC_ENOMEM;
      mgr->ncaps++;
    }
    p = *end ? end + 1 : end;
  }
  return 0;
}

static void make_incarnation(char out[33]) {
  unsigned char b[16];
  size_t got = arec__random_bytes(b, sizeof b);
  if (got < sizeof b) { /* no entropy source: time and address */
    uint64_t x = (uint64_t)arec__wall_ms() ^ ((uint64_t)arec__now_ms() << 20) ^
                 (uint64_t)(uintptr_t)out;
    for (size_t i = got; i < sizeof b; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      b[i] = (unsigned char)(x >> 56);
    }
  }
  arec__hex(out, b, sizeof b);
}

/* -------------------------------------------------------------------- new */
int arec_manager_new(arec_manager **out, const arec_manager_options *opts,
                     arec_repository *repo, arec_lock *lock) {
  conf c;
  int rc;
  memset(&c, 0, sizeof c);

  if (out)
    *out = NULL;
  if (!out || !repo || !lock) {
    rc = bad(!out ? "out" : !repo ? "repo" : "lock", "NULL");
    goto fail;
  }
  if ((rc = check_repo(repo)) < 0 || (rc = check_lock(lock)) < 0)
    goto fail;
  if ((rc = check_opts(opts, &c)) < 0)
    goto fail;
  if (c.fair && !repo->fleet) {
    rc = bad("fair_share", "the repository has no fleet slot");
    goto fail;
  }
  if (c.pod_ttl > 0 && (lock->version < 2 || !lock->pod_lease)) {
    rc = bad("pod_lease_ttl_ms", "the lock backend has no pod leases");
    goto fail;
  }

  arec_manager *mgr = calloc(1, sizeof *mgr);
  if (!mgr || !(mgr->pod = strdup(opts->pod_name))) {
    free(mgr);
    arec_error_set("out of memory");
    rc = AREC_ENOMEM;
    goto fail;
  }
  mgr->ttl = c.ttl;
  mgr->refresh = c.refresh;
  mgr->reconcile = c.reconcile;
  mgr->save_interval = c.save;
  mgr->shutdown_timeout = c.shut;
  mgr->nworkers = c.workers;
  mgr->takeover = c.takeover;
  mgr->stop_check = c.stop_check;
  mgr->backoff_min = c.backoff_min;
  mgr->backoff_max = c.backoff_max;
  mgr->log = opts->log ? opts->log : arec_log_stderr_text;
  mgr->log_userdata = opts->log_userdata;
  mgr->log_level = opts->log_level;
  mgr->repo = repo;
  mgr->lock = lock;
  make_incarnation(mgr->incarnation);
  mgr->pod_ttl = c.pod_ttl;
  mgr->fair_share = c.fair;
  if ((rc = parse_caps(mgr, c.caps)) < 0) {
    for (size_t i = 0; i < mgr->ncaps; i++)
      free(mgr->caps[i]);
    free(mgr->caps);
    free(mgr->pod);
    free(mgr);
    if (rc == AREC_ENOMEM)
      arec_error_set("out of memory");
    goto fail;
  }
  if (c.pod_ttl > 0)
    snprintf(mgr->owner, sizeof mgr->owner, "%s/%s", mgr->pod,
             mgr->incarnation);
  else
    snprintf(mgr->owner, sizeof mgr->owner, "%s", mgr->pod);
  pthread_mutex_init(&mgr->mu, NULL);
  pthread_mutex_init(&mgr->pass_mu, NULL);
  arec__cond_init_mono(&mgr->work_cv);
  arec__cond_init_mono(&mgr->idle_cv);
  arec__cond_init_mono(&mgr->tick_cv);

  rc = repo->heartbeat(repo, mgr->pod, mgr->incarnation,
                       c.pod_ttl > 0 ? c.pod_ttl : c.ttl, 0);
  atomic_store(&mgr->repo_ok_at, arec__now_ms());
  atomic_store(&mgr->lock_ok_at, arec__now_ms());
  if (rc < 0)
    arec__logkv(mgr, AREC_LOG_WARN, "pod heartbeat failed", "error",
                arec_err_name(rc), NULL);

  if ((rc = arec__podlease_start(mgr)) < 0 ||
      (rc = arec__workers_start(mgr)) < 0 ||
      (rc = arec__refresher_start(mgr)) < 0 ||
      (rc = arec__saver_start(mgr)) < 0 ||
      (rc = arec__reconciler_start(mgr)) < 0) {
    arec_manager_free(mgr);
    arec_error_set("cannot start manager threads");
    return rc;
  }
  *out = mgr;
  return 0;

fail:
  if (repo && repo->free)
    repo->free(repo);
  if (lock && lock->free)
    lock->free(lock);
  return rc;
}

/* ------------------------------------------------------------------ types */
int arec_manager_register_type(arec_manager *mgr,
                               const arec_agent_type *type) {
  if (!mgr || !type)
    return AREC_EINVAL;
  if (type->version != AREC_AGENT_TYPE_VERSION) {
    arec_error_set("agent type: unsupported version %u", type->version);
    return AREC_EVERSION;
  }
  if (!type->name || !*type->name || !type->start || !type->step ||
      !type->snapshot || !type->stop) {
    arec_error_set("agent type: name, start, step, snapshot and stop are "
                   "required");
    return AREC_EINVAL;
  }
  arec_agent_type *copy = malloc(sizeof *copy);
  if (!copy)
    return AREC_ENOMEM;
  *copy = *type;
  pthread_mutex_lock(&mgr->mu);
  for (size_t i = 0; i < mgr->ntypes; i++)
    if (strcmp(mgr->types[i]->name, type->name) == 0) {
      pthread_mutex_unlock(&mgr->mu);
      free(copy);
      arec_error_set("agent type %s already registered", type->name);
      return AREC_EEXIST;
    }
  arec_agent_type **t =
      realloc(mgr->types, (mgr->ntypes + 1) * sizeof *mgr->types);
  if (!t) {
    pthread_mutex_unlock(&mgr->mu);
    free(copy);
    return AREC_ENOMEM;
  }
  mgr->types = t;
  mgr->types[mgr->ntypes++] = copy;
  pthread_mutex_unlock(&mgr->mu);
  return 0;
}

int arec_manager_has_type(arec_manager *mgr, const char *name) {
  if (!mgr || !name)
    return 0;
  pthread_mutex_lock(&mgr->mu);
  int found = arec__type_find(mgr, name) != NULL;
  pthread_mutex_unlock(&mgr->mu);
  return found;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int arec_manager_type_names(arec_manager *mgr, char ***out, size_t *out_n) {
  if (out)
    *out = NULL;
  if (out_n)
    *out_n = 0;
  if (!mgr || !out || !out_n)
    return AREC_EINVAL;
  pthread_mutex_lock(&mgr->mu);
  size_t n = mgr->ntypes;
  char **v = calloc(n ? n : 1, sizeof *v);
  for (size_t i = 0; v && i < n; i++)
    if (!(v[i] = strdup(mgr->types[i]->name))) {
      arec_strings_free(v, i);
      v = NULL;
    }
  pthread_mutex_unlock(&mgr->mu);
  if (!v)
    return AREC_ENOMEM;
  qsort(v, n, sizeof *v, cmp_str);
  *out = v;
  *out_n = n;
  return 0;
}

arec_repository *arec_manager_repository(arec_manager *mgr) {
  return mgr ? mgr->repo : NULL;
}

const char *arec_manager_incarnation(const arec_manager *mgr) {
  return mgr ? mgr->incarnation : NULL;
}

const char *arec_manager_pod(const arec_manager *mgr) {
  return mgr ? mgr->pod : NULL;
}

/* ---------------------------------------------------------------- runners */
static int cmp_info(const void *a, const void *b) {
  return strcmp(((const arec_runner_info *)a)->agent_id,
                ((const arec_runner_info *)b)->agent_id);
}

/* One runner as copied under mgr->mu: its strings sit in the same block,
 * right after the records, so the copy makes one allocation in all. */
typedef struct runner_rec {
  size_t id_off, strategy_off;
  uint64_t fence;
  int64_t validity_ms;
  int64_t started_at_ms;
  uint64_t steps;
} runner_rec;

static int listed(const arec_agent *r) {
  return r->phase == AREC__R_ACTIVE && !atomic_load(&r->cancel);
}

/* mu held: the listed runners into one block of records and strings (one
 * malloc, two walks of the table, no per-runner allocation), so that the
 * refresher and the watch never wait behind thousands of allocations. */
static runner_rec *runners_copy(arec_manager *mgr, size_t *out_n) {
  size_t n = 0, bytes = 0;
  for (size_t b = 0; b < mgr->nbuckets; b++)
    for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext)
      if (listed(r)) {
        n++;
        bytes += strlen(r->id) + strlen(r->strategy) + 2;
      }
  runner_rec *v = malloc(n * sizeof *v + bytes + 1);
  if (!v)
    return NULL;
  char *str = (char *)(v + n);
  size_t i = 0, off = 0;
  int64_t now = arec__now_ms();
  for (size_t b = 0; b < mgr->nbuckets; b++)
    for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext) {
      if (!listed(r))
        continue;
      size_t il = strlen(r->id) + 1, sl = strlen(r->strategy) + 1;
      v[i].id_off = off;
      memcpy(str + off, r->id, il);
      off += il;
      v[i].strategy_off = off;
      memcpy(str + off, r->strategy, sl);
      off += sl;
      v[i].fence = r->fence;
      v[i].validity_ms = r->lock_held ? r->deadline_ms - now : 0;
      v[i].started_at_ms = r->started_wall_ms;
      v[i].steps = r->steps;
      i++;
    }
  *out_n = n;
  return v;
}

int arec_manager_runners(arec_manager *mgr, arec_runner_info **out,
                         size_t *out_n) {
  if (!out || !out_n)
    return AREC_EINVAL;
  *out = NULL;
  *out_n = 0;
  if (!mgr)
    return AREC_EINVAL;
  size_t n = 0;
  pthread_mutex_lock(&mgr->mu);
  runner_rec *recs = runners_copy(mgr, &n);
  pthread_mutex_unlock(&mgr->mu);
  if (!recs)
    return AREC_ENOMEM;
  /* the caller's copies, made without the mutex */
  const char *str = (const char *)(recs + n);
  arec_runner_info *v = calloc(n ? n : 1, sizeof *v);
  if (!v) {
    free(recs);
    return AREC_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    v[i].agent_id = strdup(str + recs[i].id_off);
    v[i].strategy = strdup(str + recs[i].strategy_off);
    if (!v[i].agent_id || !v[i].strategy) {
      free(recs);
      arec_runner_info_free(v, i + 1);
      return AREC_ENOMEM;
    }
    v[i].fence = recs[i].fence;
    v[i].validity_ms = recs[i].validity_ms;
    v[i].started_at_ms = recs[i].started_at_ms;
    v[i].steps = recs[i].steps;
  }
  free(recs);
  qsort(v, n, sizeof *v, cmp_info);
  *out = v;
  *out_n = n;
  return 0;
}

void arec_runner_info_free(arec_runner_info *infos, size_t n) {
  if (!infos)
    return;
  for (size_t i = 0; i < n; i++) {
    free(infos[i].agent_id);
    free(infos[i].strategy);
  }
  free(infos);
}

/* ------------------------------------------------------------------- free */
void arec_manager_free(arec_manager *mgr) {
  if (!mgr)
    return;
  pthread_mutex_lock(&mgr->mu);
  int need_shutdown = !mgr->abandoned && !mgr->shutting_down;
  pthread_mutex_unlock(&mgr->mu);
  if (need_shutdown)
    arec_manager_shutdown(mgr, 0);
  arec__reconciler_join(mgr);
  arec__podlease_stop(mgr, 0);
  arec__refresher_join(mgr);
  arec__saver_join(mgr);
  arec__workers_join(mgr);

  /* runners left (only after abandon): let the type free its state */
  for (size_t b = 0; b < mgr->nbuckets; b++) {
    arec_agent *r = mgr->buckets[b];
    while (r) {
      arec_agent *next = r->hnext;
      if (r->phase == AREC__R_ACTIVE)
        r->type->stop(r->state, r, AREC_STOP_LOST, r->type->userdata);
      arec__runner_free(r);
      r = next;
    }
  }
  free(mgr->buckets);
  free(mgr->heap);
  free(mgr->dirty);
  arec__release_queue_free(mgr);
  for (size_t i = 0; i < mgr->ntypes; i++)
    free(mgr->types[i]);
  free(mgr->types);
  for (size_t i = 0; i < mgr->ncaps; i++)
    free(mgr->caps[i]);
  free(mgr->caps);
  mgr->repo->free(mgr->repo);
  mgr->lock->free(mgr->lock);
  pthread_mutex_destroy(&mgr->mu);
  pthread_mutex_destroy(&mgr->pass_mu);
  pthread_cond_destroy(&mgr->work_cv);
  pthread_cond_destroy(&mgr->idle_cv);
  pthread_cond_destroy(&mgr->tick_cv);
  free(mgr->pod);
  free(mgr);
}
