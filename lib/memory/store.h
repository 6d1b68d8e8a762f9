/*
 * store.h -- internal layout of the in-memory store shared by the memory
 * repository (repository.c) and the memory lock (lock.c).  Not installed.
 *
 * One mutex guards everything in a store.  Agents and lock keys live in
 * string-keyed hash maps (10,000 agents must stay cheap); pods are a short
 * list.  Times are milliseconds on the store's clock (monotonic until made
 * manual).  The store is reference-counted: its creator and every handle
 * hold one reference, so freeing the store before a handle is harmless.
 */
#ifndef AREC_MEMORY_STORE_H
#define AREC_MEMORY_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "agentrecover/memory.h"
#include "agentrecover/sys/repository.h"

#define AREC__MEM_HISTORY_KEEP 1000
#define AREC__MEM_RULES 8

/* ------------------------------------------------------------- hash map */
typedef struct arec__mem_entry {
  char *key;
  void *val;
  struct arec__mem_entry *next;
} arec__mem_entry;

typedef struct arec__mem_map {
  size_t cap; /* buckets, a power of two (0 before the first put) */
  size_t n;
  arec__mem_entry **buckets;
} arec__mem_map;

void *arec__mem_map_get(const arec__mem_map *m, const char *key);
/* Inserts key (copied) -> val; the key must not be present. 0 / ENOMEM. */
int arec__mem_map_put(arec__mem_map *m, const char *key, void *val);
/* Removes key, returning its value (NULL when absent). */
void *arec__mem_map_del(arec__mem_map *m, const char *key);
/* Calls fn(val) for every value, then empties the map. */
void arec__mem_map_clear(arec__mem_map *m, void (*fn)(void *));

/* ----------------------------------------------------------------- rows */
typedef struct arec__mem_symbol {
  char *symbol;
  int assigned;   /* 0 after unassign: hidden, its history kept */
  double budget;
  double balance;
  char *memory;   /* JSON text */
  uint64_t fence; /* fence of the last accepted write, 0 before any */
  int64_t updated_wall; /* wall ms of the last accepted write, 0 none */
  uint64_t *hist; /* ring of the last AREC__MEM_HISTORY_KEEP fences */
  size_t hist_cap, hist_head, hist_n;
} arec__mem_symbol;

typedef struct arec__mem_agent {
  char *id;
  long long user_id;
  char *strategy;
  char *name;
  char *params;   /* JSON object text */
  char *requires; /* NULL: any pod */
  int deleted;    /* soft delete: invisible, id kept */
  int is_active, is_trading;
  unsigned int start_failures;
  char *last_error;      /* NULL when none */
  int64_t retry_at;      /* store clock; 0: no backoff wait */
  char *poison;          /* test hook: listed unreadable with this reason */
  int64_t created_wall;  /* wall ms */
  int64_t updated_wall;  /* wall ms of the latest state write, 0 none */
  uint64_t fence;
  char *running_on;          /* NULL when nobody */
  char *running_incarnation; /* NULL when nobody */
  char *migrate_to;          /* migration hold: only this pod may claim */
  int64_t migrate_until;     /* ... until then (store clock) */
  size_t nsymbols, symcap;
  arec__mem_symbol *symbols;
} arec__mem_agent;

typedef struct arec__mem_pod {
  char *name;
  char *incarnation;
  int64_t lease_until;    /* store clock */
  int64_t started_wall;   /* wall ms of this incarnation's first beat */
  int64_t heartbeat_wall; /* wall ms of the latest beat */
  int leaving; /* marked by pod_leaving, cleared by a new incarnation */
  struct arec__mem_pod *next;
} arec__mem_pod;

typedef struct arec__mem_role {
  uint64_t fence;
  char *holder; /* NULL when released */
  int64_t lease_until; /* store clock */
} arec__mem_role;

typedef struct arec__mem_key {
  char *value;
  int64_t expires_at;
} arec__mem_key;

typedef struct arec__mem_rule {
  int targets; /* 0: unused */
  int n;       /* remaining; < 0 forever */
  int err;
} arec__mem_rule;

typedef struct arec__mem_delay {
  int targets;
  int64_t ms;
} arec__mem_delay;

struct arec_memory_store {
  pthread_mutex_t mu;
  unsigned refs;

  /* clock */
  int manual;
  int64_t manual_now;

  /* agents, in creation order (for stable listings) plus an index */
  arec__mem_agent **agents;
  size_t nagents, agentcap;
  arec__mem_map agent_index;

  arec__mem_pod *pods;
  arec__mem_map keys;  /* lock key -> arec__mem_key */
  arec__mem_map roles; /* role name -> arec__mem_role */

  /* fault hooks: counters per exact call mask (0..31) */
  arec__mem_rule rules[AREC__MEM_RULES];
  arec__mem_delay delays[AREC__MEM_RULES];
  uint64_t calls[32];
};

/* The store's clock; call with the mutex held. */
int64_t arec__mem_now(const arec_memory_store *st);
/* Real monotonic clock in ms. */
int64_t arec__mem_mono_ms(void);
/* Real wall clock in ms since the epoch. */
int64_t arec__mem_wall_ms(void);
/* A time of the store's clock as wall ms (mutex held). */
int64_t arec__mem_to_wall(const arec_memory_store *st, int64_t store_ms);

/* Takes a reference / drops one (freeing the store on the last). */
void arec__mem_ref(arec_memory_store *st);
void arec__mem_unref(arec_memory_store *st);

/* Entry of every vtable slot: counts the call under `mask`, sleeps any
 * matching delay (unlocked), then locks the store.  Returns 0 with the mutex
 * HELD, or an injected error code with the mutex released. */
int arec__mem_enter(arec_memory_store *st, int mask);
/* The same for a slot whose arguments were checked: AREC_EINVAL when `bad`
 * (nothing counted, the mutex not taken). */
int arec__mem_enter_checked(arec_memory_store *st, int mask, int bad);

/* Sets the error "agent <id> not found": AREC_ENOTFOUND. */
int arec__mem_agent_missing(const char *id);

/* Frees an agent and all it holds (fields left NULL are skipped). */
void arec__mem_agent_free(arec__mem_agent *a);

/* Lookups; mutex held.  agent_find sees deleted agents too; agent_live
 * does not.  symbol_find sees assigned symbols only. */
arec__mem_agent *arec__mem_agent_find(arec_memory_store *st, const char *id);
arec__mem_agent *arec__mem_agent_live(arec_memory_store *st, const char *id);
arec__mem_symbol *arec__mem_symbol_find(arec__mem_agent *a, const char *sym);
/* The symbol whatever its assignment (history reads). */
arec__mem_symbol *arec__mem_symbol_any(arec__mem_agent *a, const char *sym);
/* Wanted: not deleted, active, trading, with an assigned symbol. */
int arec__mem_wanted(const arec__mem_agent *a);
/* Assigned symbols. */
size_t arec__mem_nassigned(const arec__mem_agent *a);
/* Replaces *dst with a copy of src (NULL ok): 0 / AREC_ENOMEM. */
int arec__mem_set_str(char **dst, const char *src);
/* A copy of `text` cut to 500 bytes at a UTF-8 character boundary. */
char *arec__mem_cut(const char *text);
const arec__mem_pod *arec__mem_pod_find(const arec_memory_store *st,
                                        const char *name);
/* A live (pod, incarnation) owner of the agent? mutex held. */
int arec__mem_owner_alive(const arec_memory_store *st,
                          const arec__mem_agent *a);
/* Appends a fence to a symbol's history ring. 0 / AREC_ENOMEM. */
int arec__mem_history_push(arec__mem_symbol *s, uint64_t fence);

/* Repository slots of version 3, in admin.c, backoff.c and role.c (the
 * vtable is in repository.c). */
int arec__mem_agent_create(arec_repository *repo, const arec_agent_spec *spec,
                           char *out_id, size_t out_len);
int arec__mem_agent_assign(arec_repository *repo, const char *agent_id,
                           const char *symbol, double budget);
int arec__mem_agent_unassign(arec_repository *repo, const char *agent_id,
                             const char *symbol);
int arec__mem_set_active(arec_repository *repo, const char *agent_id,
                         int active);
int arec__mem_agent_delete(arec_repository *repo, const char *agent_id);
int arec__mem_agent_get(arec_repository *repo, const char *agent_id,
                        arec_agent_record **out);
int arec__mem_agent_list(arec_repository *repo,
                         const arec_agent_filter *filter,
                         arec_agent_record **out, size_t *out_n);
int arec__mem_pod_list(arec_repository *repo, arec_pod_record **out,
                       size_t *out_n);
int arec__mem_start_failed(arec_repository *repo, const char *agent_id,
                           uint64_t fence, const char *error, int64_t min_ms,
                           int64_t max_ms, unsigned int *out_failures);
int arec__mem_start_ok(arec_repository *repo, const char *agent_id,
                       uint64_t fence);
int arec__mem_set_error(arec_repository *repo, const char *agent_id,
                        uint64_t fence, const char *error);
int arec__mem_role_claim(arec_repository *repo, const char *name,
                         const char *holder, int64_t ttl_ms,
                         uint64_t *out_fence);
int arec__mem_role_keep(arec_repository *repo, const char *name,
                        const char *holder, uint64_t fence, int64_t ttl_ms);
int arec__mem_role_release(arec_repository *repo, const char *name,
                           const char *holder, uint64_t fence);
int arec__mem_role_check(arec_repository *repo, const char *name,
                         const char *holder, uint64_t fence);

/* The store behind a memory repository handle. */
arec_memory_store *arec__mem_repo_store(arec_repository *repo);
/* Entry of a repository slot: AREC_EINVAL when `bad` (its arguments are
 * refused before the call is counted), else arec__mem_enter(mask) on the
 * repository's store: 0 with the mutex HELD and *st set, or an injected
 * error code with the mutex released. */
int arec__mem_repo_enter(arec_repository *repo, int mask,
                         arec_memory_store **st, int bad);
/* arec__mem_repo_enter, then the live agent agent_id into *a: 0 with the
 * mutex HELD, or an error with it released (arec__mem_agent_missing's when
 * there is no such agent). */
int arec__mem_repo_agent(arec_repository *repo, int mask,
                         arec_memory_store **st, int bad,
                         const char *agent_id, arec__mem_agent **a);

/* The live lock key (expired ones are deleted on the way); mutex held. */
arec__mem_key *arec__mem_key_live(arec_memory_store *st, const char *key);
void arec__mem_key_free(void *k);

#endif
