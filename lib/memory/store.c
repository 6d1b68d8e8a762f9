/*
 * store.c -- the in-memory store: lifetime (reference counted, so handles
 * and the creator may be freed in any order), the clock (real monotonic
 * until made manual), the fault hooks every vtable slot passes through, and
 * the lookups and small helpers the repository's files and the lock share.
 *
 * One mutex per store guards all of it.  A configured delay is slept with
 * the mutex released, so a slow call never blocks the other handles.  This
 * file never prints, never aborts, and keeps no state outside the store.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memory/store.h"

/* ------------------------------------------------------------------ clock */
int64_t arec__mem_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t arec__mem_now(const arec_memory_store *st) {
  return st->manual ? st->manual_now : arec__mem_mono_ms();
}

int64_t arec__mem_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t arec__mem_to_wall(const arec_memory_store *st, int64_t store_ms) {
  return arec__mem_wall_ms() + (store_ms - arec__mem_now(st));
}

void arec_memory_clock_set(arec_memory_store *st, int64_t now_ms) {
  if (!st)
    return;
  pthread_mutex_lock(&st->mu);
  st->manual = 1;
  st->manual_now = now_ms;
  pthread_mutex_unlock(&st->mu);
}

void arec_memory_clock_advance(arec_memory_store *st, int64_t delta_ms) {
  if (!st)
    return;
  pthread_mutex_lock(&st->mu);
  if (!st->manual) {
    st->manual_now = arec__mem_mono_ms();
    st->manual = 1;
  }
  st->manual_now += delta_ms;
  pthread_mutex_unlock(&st->mu);
}

int64_t arec_memory_clock_now(arec_memory_store *st) {
  if (!st)
    return 0;
  pthread_mutex_lock(&st->mu);
  int64_t now = arec__mem_now(st);
  pthread_mutex_unlock(&st->mu);
  return now;
}

/* --------------------------------------------------------------- lifetime */
int arec_memory_store_new(arec_memory_store **out) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  arec_memory_store *st = calloc(1, sizeof *st);
  if (!st)
    return AREC_ENOMEM;
  if (pthread_mutex_init(&st->mu, NULL) != 0) {
    free(st);
    return AREC_ENOMEM;
  }
  st->refs = 1;
  *out = st;
  return 0;
}

static void symbol_free(arec__mem_symbol *s) {
  free(s->symbol);
  free(s->memory);
  free(s->hist);
}

void arec__mem_agent_free(arec__mem_agent *a) {
  for (size_t i = 0; i < a->nsymbols; i++)
    symbol_free(&a->symbols[i]);
  free(a->symbols);
  free(a->id);
  free(a->strategy);
  free(a->name);
  free(a->params);
  free(a->requires);
  free(a->last_error);
  free(a->poison);
  free(a->running_on);
  free(a->running_incarnation);
  free(a->migrate_to);
  free(a);
}

static void role_free(void *p) {
  arec__mem_role *r = p;
  if (!r)
    return;
  free(r->holder);
  free(r);
}

void arec__mem_key_free(void *p) {
  arec__mem_key *k = p;
  if (!k)
    return;
  free(k->value);
  free(k);
}

static void store_destroy(arec_memory_store *st) {
  for (size_t i = 0; i < st->nagents; i++)
    arec__mem_agent_free(st->agents[i]);
  free(st->agents);
  arec__mem_map_clear(&st->agent_index, NULL);
  arec__mem_map_clear(&st->keys, arec__mem_key_free);
  arec__mem_map_clear(&st->roles, role_free);
  while (st->pods) {
    arec__mem_pod *p = st->pods;
    st->pods = p->next;
    free(p->name);
    free(p->incarnation);
    free(p);
  }
  pthread_mutex_destroy(&st->mu);
  free(st);
}

void arec__mem_ref(arec_memory_store *st) {
  pthread_mutex_lock(&st->mu);
  st->refs++;
  pthread_mutex_unlock(&st->mu);
}

void arec__mem_unref(arec_memory_store *st) {
  pthread_mutex_lock(&st->mu);
  unsigned left = --st->refs;
  pthread_mutex_unlock(&st->mu);
  if (left == 0)
    store_destroy(st);
}

void arec_memory_store_free(arec_memory_store *st) {
  if (st)
    arec__mem_unref(st);
}

/* ------------------------------------------------------------ fault hooks */
void arec_memory_fail(arec_memory_store *st, int targets, int n, int err) {
  if (!st || targets == 0)
    return;
  pthread_mutex_lock(&st->mu);
  arec__mem_rule *slot = NULL;
  for (int i = 0; i < AREC__MEM_RULES; i++)
    if (st->rules[i].targets == targets)
      slot = &st->rules[i];
  if (!slot && n != 0)
    for (int i = 0; i < AREC__MEM_RULES && !slot; i++)
      if (st->rules[i].targets == 0 || st->rules[i].n == 0)
        slot = &st->rules[i];
  if (slot) {
    slot->targets = n != 0 ? targets : 0;
    slot->n = n;
    slot->err = err < 0 ? err : AREC_EUNAVAILABLE;
  }
  pthread_mutex_unlock(&st->mu);
}

void arec_memory_delay(arec_memory_store *st, int targets, int64_t delay_ms) {
  if (!st || targets == 0)
    return;
  pthread_mutex_lock(&st->mu);
  arec__mem_delay *slot = NULL;
  for (int i = 0; i < AREC__MEM_RULES; i++)
    if (st->delays[i].targets == targets)
      slot = &st->delays[i];
  if (!slot && delay_ms > 0)
    for (int i = 0; i < AREC__MEM_RULES && !slot; i++)
      if (st->delays[i].targets == 0)
        slot = &st->delays[i];
  if (slot) {
    slot->targets = delay_ms > 0 ? targets : 0;
    slot->ms = delay_ms > 0 ? delay_ms : 0;
  }
  pthread_mutex_unlock(&st->mu);
}

uint64_t arec_memory_calls(arec_memory_store *st, int targets) {
  if (!st)
    return 0;
  uint64_t n = 0;
  pthread_mutex_lock(&st->mu);
  for (int m = 1; m < 32; m++)
    if (m & targets)
      n += st->calls[m];
  pthread_mutex_unlock(&st->mu);
  return n;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

int arec__mem_enter(arec_memory_store *st, int mask) {
  pthread_mutex_lock(&st->mu);
  st->calls[mask & 31]++;
  int64_t delay = 0;
  for (int i = 0; i < AREC__MEM_RULES; i++)
    if (st->delays[i].targets & mask && st->delays[i].ms > delay)
      delay = st->delays[i].ms;
  if (delay > 0) {
    pthread_mutex_unlock(&st->mu);
    sleep_ms(delay);
    pthread_mutex_lock(&st->mu);
  }
  for (int i = 0; i < AREC__MEM_RULES; i++) {
    arec__mem_rule *r = &st->rules[i];
    if ((r->targets & mask) && r->n != 0) {
      int err = r->err;
      if (r->n > 0 && --r->n == 0)
        r->targets = 0;
      pthread_mutex_unlock(&st->mu);
      arec_error_set("memory backend: injected failure (%s)",
                     arec_err_name(err));
      return err;
    }
  }
  return 0;
}

int arec__mem_enter_checked(arec_memory_store *st, int mask, int bad) {
  return bad ? AREC_EINVAL : arec__mem_enter(st, mask);
}

/* ---------------------------------------------------------------- lookups */
arec__mem_agent *arec__mem_agent_find(arec_memory_store *st, const char *id) {
  return id ? arec__mem_map_get(&st->agent_index, id) : NULL;
}

arec__mem_agent *arec__mem_agent_live(arec_memory_store *st, const char *id) {
  arec__mem_agent *a = arec__mem_agent_find(st, id);
  return a && !a->deleted ? a : NULL;
}

int arec__mem_agent_missing(const char *id) {
  arec_error_set("memory repository: agent %s not found", id);
  return AREC_ENOTFOUND;
}

arec__mem_symbol *arec__mem_symbol_any(arec__mem_agent *a, const char *sym) {
  if (!sym)
    return NULL;
  for (size_t i = 0; i < a->nsymbols; i++)
    if (strcmp(a->symbols[i].symbol, sym) == 0)
      return &a->symbols[i];
  return NULL;
}

arec__mem_symbol *arec__mem_symbol_find(arec__mem_agent *a, const char *sym) {
  arec__mem_symbol *s = arec__mem_symbol_any(a, sym);
  return s && s->assigned ? s : NULL;
}

size_t arec__mem_nassigned(const arec__mem_agent *a) {
  size_t n = 0;
  for (size_t i = 0; i < a->nsymbols; i++)
    n += a->symbols[i].assigned != 0;
  return n;
}

int arec__mem_wanted(const arec__mem_agent *a) {
  return !a->deleted && a->is_active && a->is_trading &&
         arec__mem_nassigned(a) > 0;
}

int arec__mem_set_str(char **dst, const char *src) {
  char *c = NULL;
  if (src && !(c = strdup(src)))
    return AREC_ENOMEM;
  free(*dst);
  *dst = c;
  return 0;
}

char *arec__mem_cut(const char *text) {
  size_t n = strlen(text);
  if (n > 500) {
    n = 500;
    while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
      n--; /* text[n] starts the character that does not fit */
  }
  return strndup(text, n);
}

const arec__mem_pod *arec__mem_pod_find(const arec_memory_store *st,
                                        const char *name) {
  for (const arec__mem_pod *p = st->pods; p; p = p->next)
    if (strcmp(p->name, name) == 0)
      return p;
  return NULL;
}

int arec__mem_owner_alive(const arec_memory_store *st,
                          const arec__mem_agent *a) {
  if (!a->running_on)
    return 0;
  const arec__mem_pod *p = arec__mem_pod_find(st, a->running_on);
  if (!p || p->lease_until <= arec__mem_now(st))
    return 0;
  return a->running_incarnation &&
         strcmp(p->incarnation, a->running_incarnation) == 0;
}

int arec__mem_history_push(arec__mem_symbol *s, uint64_t fence) {
  if (s->hist_n < s->hist_cap || s->hist_cap == AREC__MEM_HISTORY_KEEP) {
    /* room in the ring (or full ring: overwrite the oldest) */
  } else {
    size_t ncap = s->hist_cap ? s->hist_cap * 2 : 8;
    if (ncap > AREC__MEM_HISTORY_KEEP)
      ncap = AREC__MEM_HISTORY_KEEP;
    uint64_t *nh = realloc(s->hist, ncap * sizeof *nh);
    if (!nh)
      return AREC_ENOMEM;
    s->hist = nh; /* while growing, head stays 0: entries are in order */
    s->hist_cap = ncap;
  }
  if (s->hist_n < s->hist_cap) {
    s->hist[(s->hist_head + s->hist_n) % s->hist_cap] = fence;
    s->hist_n++;
  } else {
    s->hist[s->hist_head] = fence;
    s->hist_head = (s->hist_head + 1) % s->hist_cap;
  }
  return 0;
}

arec__mem_key *arec__mem_key_live(arec_memory_store *st, const char *key) {
  arec__mem_key *k = arec__mem_map_get(&st->keys, key);
  if (k && k->expires_at <= arec__mem_now(st)) {
    arec__mem_key_free(arec__mem_map_del(&st->keys, key));
    k = NULL;
  }
  return k;
}
