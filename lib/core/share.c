/*
 * share.c -- sharing the fleet across pods: what a reconcile pass may take
 * (fair share, migrations, capabilities) and what it hands off, and
 * arec_manager_migrate_agent().
 *
 * How: each pass asks the repository (fleet slot) for the live pods that
 * are not leaving, the wanted agents, how many of them are in backoff, and
 * the migration holds in force.  With fair_share on, the pod's target is
 * ceil(wanted / live pods): it acquires only while below it (agents
 * migrating here are always taken; the pass goes on down the candidate
 * list, which starts at a place that depends on the pod name, while other
 * pods hold some of them)
 * and hands runners above it off gracefully (AREC_STOP_HANDOVER: save,
 * release), oldest first, at most what the other pods have room for
 * ((live - 1) * target minus what they run minus what is still unowned) and
 * at most SHED_MAX per pass.  Since ceil makes the targets add up to at least
 * the wanted count, a stable split always exists, and a pod never sheds into
 * room that unowned agents already fill, so nothing thrashes.  A migration
 * is a hold on the agent row (only the named pod may claim it for a while);
 * the owner sees it through unwanted() == 3 and hands the agent off.
 *
 * Capabilities: an agent created with `requires` is taken only by a pod
 * whose capabilities option lists that name -- and, since the targets count
 * every pod while only some can run such an agent, a capable pod always
 * takes it (like an agent migrating here) and never sheds it: otherwise a
 * fleet mixing capable and other pods could leave it waiting forever.
 *
 * Turns: see arec__slot_shift.
 *
 * Must never: call the repository with mgr->mu held, hand off a runner that
 * is already stopping, or take an agent that is migrating to another pod.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "share.h"
#include "table.h"

#define SHED_MAX 1000

int arec__offers(const arec_manager *mgr, const char *cap) {
  if (!cap)
    return 1;
  for (size_t i = 0; i < mgr->ncaps; i++)
    if (strcmp(mgr->caps[i], cap) == 0)
      return 1;
  return 0;
}

void arec__share_load(arec_manager *mgr, arec__share *s) {
  memset(s, 0, sizeof *s);
  if (mgr->repo->version < 2 || !mgr->repo->fleet)
    return;
  int rc = mgr->repo->fleet(mgr->repo, &s->fleet);
  if (rc < 0) {
    arec_fleet_clear(&s->fleet);
    arec__logkv(mgr, AREC_LOG_WARN, "cannot read the fleet", "error",
                arec_err_name(rc), NULL);
    return;
  }
  s->have = 1;
  uint64_t live = s->fleet.live_pods ? s->fleet.live_pods : 1;
  int64_t target = (int64_t)((s->fleet.wanted + live - 1) / live);
  if (mgr->fair_share)
    s->target = target;
  atomic_store(&mgr->m.wanted, (int64_t)s->fleet.wanted);
  atomic_store(&mgr->m.backoff, (int64_t)s->fleet.backoff);
  atomic_store(&mgr->m.pods_live, (int64_t)s->fleet.live_pods);
  atomic_store(&mgr->m.target, target);
  arec__share_slot(mgr, s);
}

void arec__share_free(arec__share *s) { arec_fleet_clear(&s->fleet); }

/* ------------------------------------------------------------ turns */
/* Pods in step.  Every pod renews its whole share of locks in one burst per
 * refresh interval on the same masters; two bursts at the same moment take
 * about twice as long each, and since every pod's interval is the same,
 * pods that once met would meet every time.  So the live pods take turns:
 * pod `slot` of `nslots` (by name, listed by the passes) runs its refresh
 * cycles at the wall-clock moments slot * interval / nslots past a
 * multiple of the interval -- the wall clock only places a cycle on a
 * timeline the pods share; every wait is still on the monotonic clock.  A
 * cycle moves earlier to reach its place (at most half an interval at a
 * time; one due a little before it, within 1/32 of the interval, stays),
 * never later, so no lock waits longer than a refresh interval for its
 * renewal.  Passes keep clear of the turns (arec__pass_shift). */
#define SLOT_RELIST_MS 60000

/* Passes between the turns.  A pass is a few statements over the pod's
 * whole share (the restore list, the stop check, the fleet count): on a
 * machine the database shares with the lock servers it slows any refresh
 * cycle it meets.  The fleet's refresh cycles come once a turn (the refresh
 * interval / the live pods), this pod's own last cycle on that grid; a
 * pass moves earlier to begin a quarter of a turn after one, when that is
 * at most half a reconcile interval earlier (else it runs when due). */
int64_t arec__pass_shift(const arec_manager *mgr, int64_t next) {
  int64_t turn = mgr->refresh / (mgr->nslots >= 2 ? mgr->nslots : 1);
  if (mgr->cycle_at <= 0 || turn < 4 || turn > mgr->reconcile / 2)
    return 0;
  int64_t from = mgr->cycle_at + turn / 4;
  return ((next - from) % turn + turn) % turn;
}

int64_t arec__slot_shift(const arec_manager *mgr, int64_t next,
                         int64_t interval) {
  if (mgr->nslots < 2 || mgr->slot < 0 || mgr->slot >= mgr->nslots ||
      interval < 2)
    return 0;
  int64_t place = interval * mgr->slot / mgr->nslots;
  int64_t wall_next = arec__wall_ms() + (next - arec__now_ms());
  int64_t past = ((wall_next - place) % interval + interval) % interval;
  int64_t near = interval / 32 > 2 ? interval / 32 : 2;
  if (past <= interval / 2)
    return past;
  if (interval - past <= near) /* just before its place (the two clocks are
                                  read apart): stay */
    return 0;
  return interval / 2;
}

void arec__share_slot(arec_manager *mgr, const arec__share *s) {
  arec_pod_record *ps = NULL;
  size_t n = 0;
  int64_t now = arec__now_ms(), slot = 0, nslots = 0;
  int me = 0, fresh;
  if (!s->have || !AREC__V3(mgr->repo, pod_list))
    return;
  pthread_mutex_lock(&mgr->mu);
  fresh = mgr->slot_listed_at && mgr->slot_live == s->fleet.live_pods &&
          now - mgr->slot_listed_at < SLOT_RELIST_MS;
  pthread_mutex_unlock(&mgr->mu);
  if (fresh || mgr->repo->pod_list(mgr->repo, &ps, &n) < 0)
    return;
  for (size_t i = 0; i < n; i++) {
    if (ps[i].leaving || !ps[i].name)
      continue;
    int order = strcmp(ps[i].name, mgr->pod);
    nslots++;
    slot += order < 0;
    me |= order == 0;
  }
  arec_pod_records_free(ps, n);
  if (!me)
    slot = nslots = 0; /* our own row not seen live: no turn yet */
  pthread_mutex_lock(&mgr->mu);
  int changed = mgr->slot != slot || mgr->nslots != nslots;
  mgr->slot = slot;
  mgr->nslots = nslots;
  mgr->slot_live = s->fleet.live_pods;
  mgr->slot_listed_at = now;
  pthread_mutex_unlock(&mgr->mu);
  if (changed) {
    char a[24], b[24];
    snprintf(a, sizeof a, "%lld", (long long)slot);
    snprintf(b, sizeof b, "%lld", (long long)nslots);
    arec__logkv(mgr, AREC_LOG_DEBUG, "refresh turn among the live pods",
                "#slot", a, "#pods", b, NULL);
  }
}

/* 1: migrating to this pod; -1: to another pod; 0: no hold. */
static int migration_of(const arec__share *p, const char *pod,
                        const char *id) {
  for (size_t i = 0; p->have && i < p->fleet.nmigrations; i++)
    if (p->fleet.migrations[i].agent_id &&
        strcmp(p->fleet.migrations[i].agent_id, id) == 0)
      return p->fleet.migrations[i].to_pod &&
                     strcmp(p->fleet.migrations[i].to_pod, pod) == 0
                 ? 1
                 : -1;
  return 0;
}

/* Active runners that are not stopping (mu held). */
static size_t local_count(arec_manager *mgr) {
  size_t n = 0;
  for (size_t b = 0; b < mgr->nbuckets; b++)
    for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext)
      if (!atomic_load(&r->cancel))
        n++;
  return n;
}

static size_t pod_hash(const char *s) {
  return (size_t)(arec__hash_str(s) >> 7);
}

size_t arec__share_select(arec_manager *mgr, const arec__share *p,
                          const struct arec_agent_list *list, size_t *idx,
                          size_t n, size_t *out_take,
                          unsigned int *skipped) {
  *out_take = n;
  if (!p->have || n == 0)
    return n;
  size_t *forced = malloc(n * sizeof *forced);
  size_t *rest = malloc(n * sizeof *rest);
  if (!forced || !rest) {
    free(forced);
    free(rest);
    return n; /* no memory: behave as without sharing */
  }
  size_t nf = 0, nr = 0;
  for (size_t i = 0; i < n; i++) {
    int m = migration_of(p, mgr->pod, list->rows[idx[i]].id);
    if (m > 0 || (m == 0 && list->rows[idx[i]].requires))
      forced[nf++] = idx[i];
    else if (m == 0)
      rest[nr++] = idx[i];
    else {
      (*skipped)++;
      arec__logkv(mgr, AREC_LOG_DEBUG, "agent migrating to another pod, skipping",
                  "agent_id", list->rows[idx[i]].id, NULL);
    }
  }
  size_t room = nr;
  if (mgr->fair_share && p->target > 0) {
    pthread_mutex_lock(&mgr->mu);
    size_t local = local_count(mgr) + nf;
    pthread_mutex_unlock(&mgr->mu);
    room = (size_t)p->target > local ? (size_t)p->target - local : 0;
    if (room > nr)
      room = nr;
  }
  size_t k = 0;
  for (size_t i = 0; i < nf; i++)
    idx[k++] = forced[i];
  size_t start = nr ? pod_hash(mgr->pod) % nr : 0;
  for (size_t i = 0; i < nr; i++)
    idx[k++] = rest[(start + i) % nr];
  *out_take = nf + room;
  free(forced);
  free(rest);
  return k;
}

/* ------------------------------------------------------------------- shed */
typedef struct cand {
  arec_agent *r;
  int64_t started;
  uint64_t serial;
} cand;

static int cmp_oldest(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->started != y->started)
    return x->started < y->started ? -1 : 1;
  return x->serial < y->serial ? -1 : x->serial > y->serial;
}

void arec__share_shed(arec_manager *mgr, const arec__share *p,
                      size_t unowned) {
  if (!mgr->fair_share || !p->have || p->target <= 0)
    return;
  int64_t live = (int64_t)p->fleet.live_pods;
  int64_t wanted = (int64_t)p->fleet.wanted;
  pthread_mutex_lock(&mgr->mu);
  int64_t local = (int64_t)local_count(mgr);
  int64_t excess = local - p->target;
  /* the other pods' room: their targets minus what they run minus what is
   * still waiting for an owner */
  int64_t others = wanted - (int64_t)unowned - local;
  if (others < 0)
    others = 0;
  int64_t room = (live - 1) * p->target - others - (int64_t)unowned;
  int64_t k = excess < room ? excess : room;
  if (k > SHED_MAX)
    k = SHED_MAX;
  if (k <= 0 || mgr->shutting_down) {
    pthread_mutex_unlock(&mgr->mu);
    return;
  }
  cand *c = malloc((size_t)local * sizeof *c);
  size_t n = 0;
  for (size_t b = 0; c && b < mgr->nbuckets; b++)
    for (arec_agent *r = mgr->buckets[b]; r; r = r->hnext)
      if (!atomic_load(&r->cancel) && r->phase == AREC__R_ACTIVE &&
          !r->placed && n < (size_t)local) {
        c[n].r = r;
        c[n].started = r->started_wall_ms;
        c[n].serial = r->serial;
        n++;
      }
  if (c)
    qsort(c, n, sizeof *c, cmp_oldest);
  size_t shed = 0;
  for (size_t i = 0; c && i < n && (int64_t)shed < k; i++) {
    arec__runner_mark_stop(mgr, c[i].r, AREC_STOP_HANDOVER);
    shed++;
  }
  pthread_mutex_unlock(&mgr->mu);
  free(c);
  if (shed) {
    char a[24], b[24], d[24];
    snprintf(a, sizeof a, "%zu", shed);
    snprintf(b, sizeof b, "%lld", (long long)p->target);
    snprintf(d, sizeof d, "%lld", (long long)live);
    arec__logkv(mgr, AREC_LOG_INFO, "fair share: handing agents off",
                "#count", a, "#target", b, "#live_pods", d, NULL);
  }
}

/* ---------------------------------------------------------------- migrate */
int arec_manager_migrate_agent(arec_manager *mgr, const char *agent_id,
                               const char *to_pod) {
  if (!mgr || !agent_id || !arec_agent_id_valid(agent_id)) {
    arec_error_set("invalid agent id");
    return AREC_EINVAL;
  }
  if (!to_pod || !*to_pod || strlen(to_pod) > 127) {
    arec_error_set("invalid target pod name");
    return AREC_EINVAL;
  }
  if (mgr->repo->version < 2 || !mgr->repo->migrate) {
    arec_error_set("the repository has no migrations");
    return AREC_EINVAL;
  }
  /* long enough for the owner's next pass, the target's next pass and an
   * owner that died meanwhile (its lock must expire first) */
  int64_t rec = mgr->reconcile > 0 ? mgr->reconcile : 5000;
  int64_t hold = 2 * rec + mgr->ttl + 1000;
  int rc = mgr->repo->migrate(mgr->repo, agent_id, to_pod, hold);
  if (rc < 0)
    return rc;
  if (strcmp(to_pod, mgr->pod) != 0) {
    pthread_mutex_lock(&mgr->mu);
    arec_agent *r = arec__runner_find(mgr, agent_id);
    if (r && !atomic_load(&r->cancel)) {
      arec__logkv(mgr, AREC_LOG_INFO, "migrating agent, handing it off",
                  "agent_id", agent_id, "to", to_pod, NULL);
      arec__runner_mark_stop(mgr, r, AREC_STOP_HANDOVER);
    }
    pthread_mutex_unlock(&mgr->mu);
  }
  return 0;
}
