/*
 * bot.c -- the Telegram bot's two threads (see bot.h): the poller, a
 * singleton role elected with the distributed lock and fenced in
 * PostgreSQL, and the sender of owner notifications.
 *
 * Poller loop: standby -> try_acquire("agent:role:telegram") every
 * min(ttl/3, 5 s) -> role_claim (fence) -> read the offset -> poll:
 * refresh the lock every ttl/3 (lost: stop polling at once; unreachable:
 * go on until the lease validity ends), check the fence, getUpdates with a
 * timeout that ends before the validity does, and for each update write
 * offset = update_id + 1 under the fence *before* handling it.  Malformed
 * updates are logged and skipped.  Stop releases role and lock.
 *
 * Never: log the token, a URL or a message's text (it may carry keys);
 * handle an update without the fenced offset write succeeding first; call
 * the network from a notification hook (they only queue).
 */
#include "telegram/bot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentrecover/sys/lock.h"
#include "telegram/commands.h"
#include "telegram/tg_api.h"

#define ROLE "telegram"
#define ROLE_KEY "agent:role:telegram"
#define OFFSET_KEY "telegram:offset"
#define QUEUE_MAX 256

typedef struct note {
  char agent_id[72];
  long long user_id;  /* 0: the agent's owner; -1: owners of local runners */
  char *text;
} note;

struct arec_tg_bot {
  arec_tg_bot_options o;
  char *pod;
  arec_tg_api *poll_api, *send_api;
  atomic_int stop_poll, stop_send, is_poller;
  long long *allowed;
  size_t nallowed;
  arec_manager *mgr;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  note q[QUEUE_MAX];
  size_t qhead, qlen;
  int stopping, abandon;
  pthread_t poller, sender;
  int started, stopped;
};

/* ------------------------------------------------------------ helpers */
static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void blog(arec_tg_bot *b, arec_log_level lvl, const char *msg,
                 const char *k1, const char *v1, const char *k2,
                 const char *v2) {
  if (!b->o.log) return;
  arec_log_field f[2] = {{k1, v1 ? v1 : ""}, {k2, v2 ? v2 : ""}};
  b->o.log(b->o.log_userdata, lvl, msg, f, k2 ? 2 : (k1 ? 1 : 0));
}

/* Sleeps up to ms unless stopping; returns 1 when stopping. */
static int nap(arec_tg_bot *b, int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&b->mu);
  if (!b->stopping) pthread_cond_timedwait(&b->cv, &b->mu, &ts);
  int s = b->stopping;
  pthread_mutex_unlock(&b->mu);
  return s;
}

/* ----------------------------------------------------------- lifecycle */
int arec_tg_bot_new(arec_tg_bot **out, const arec_tg_bot_options *opts) {
  if (!out) return AREC_EINVAL;
  *out = NULL;
  if (!opts || !opts->pg || !opts->lock || !opts->pod || !*opts->pod) {
    if (opts && opts->lock && opts->lock->free) opts->lock->free(opts->lock);
    arec_error_set("telegram: pg, lock and pod are required");
    return AREC_EINVAL;
  }
  arec_tg_bot *b = calloc(1, sizeof *b);
  if (!b) {
    opts->lock->free(opts->lock);
    return AREC_ENOMEM;
  }
  b->o = *opts;
  pthread_mutex_init(&b->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_cond_init(&b->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (b->o.lock_ttl_ms <= 0) b->o.lock_ttl_ms = 30000;
  if (b->o.poll_timeout_s <= 0) b->o.poll_timeout_s = 25;
  if (b->o.poll_timeout_s > b->o.lock_ttl_ms / 3000)
    b->o.poll_timeout_s = (int)(b->o.lock_ttl_ms / 3000);
  if (b->o.idle_wait_ms <= 0) b->o.idle_wait_ms = 1000;
  b->o.token = b->o.api_base = b->o.allowed_users = b->o.pod = NULL;
  int rc = 0;
  b->pod = strdup(opts->pod);
  if (!b->pod) rc = AREC_ENOMEM;
  if (!rc && arec_tg_parse_users(opts->allowed_users, &b->allowed, &b->nallowed)) {
    arec_error_set("TELEGRAM_ALLOWED_USERS: expected a comma list of user ids");
    rc = AREC_EINVAL;
  }
  if (!rc) rc = arec_tg_api_new(&b->poll_api, opts->api_base, opts->token, 5000,
                                &b->stop_poll);
  if (!rc) rc = arec_tg_api_new(&b->send_api, opts->api_base, opts->token, 5000,
                                &b->stop_send);
  if (rc) {
    arec_tg_bot_free(b);
    return rc;
  }
  *out = b;
  return 0;
}

int arec_tg_bot_is_poller(arec_tg_bot *b) {
  return b ? atomic_load(&b->is_poller) : 0;
}

/* ------------------------------------------------------------- notify */
void arec_tg_bot_notify(arec_tg_bot *b, const char *agent_id,
                        long long user_id, const char *text) {
  if (!b || !text) return;
  pthread_mutex_lock(&b->mu);
  int dup = 0;
  for (size_t i = 0; i < b->qlen && !dup; i++) {
    note *n = &b->q[(b->qhead + i) % QUEUE_MAX];
    dup = n->user_id == user_id && !strcmp(n->agent_id, agent_id ? agent_id : "") &&
          !strcmp(n->text, text);
  }
  if (!dup && b->qlen < QUEUE_MAX && !b->stopped) {
    note *n = &b->q[(b->qhead + b->qlen) % QUEUE_MAX];
    snprintf(n->agent_id, sizeof n->agent_id, "%s", agent_id ? agent_id : "");
    n->user_id = user_id;
    n->text = strdup(text);
    if (n->text) {
      b->qlen++;
      pthread_cond_broadcast(&b->cv);
    }
  }
  pthread_mutex_unlock(&b->mu);
}

static const char *field(const arec_log_field *f, size_t n, const char *k) {
  for (size_t i = 0; i < n; i++)
    if (f[i].key && !strcmp(f[i].key, k)) return f[i].value;
  return NULL;
}

void arec_tg_bot_log_tap(void *ud, arec_log_level level, const char *msg,
                         const arec_log_field *fields, size_t nfields) {
  arec_tg_bot *b = ud;
  (void)level;
  if (!b || !msg) return;
  const char *id = field(fields, nfields, "agent_id");
  if (!id) return;
  char text[256];
  if (!strcmp(msg, "✅ agent restored successfully")) {
    snprintf(text, sizeof text, "♻️ Agent %s was restored on pod %s and "
             "continues from its saved state.", id, b->pod);
  } else if (!strcmp(msg, "agent stopped")) {
    const char *r = field(fields, nfields, "reason");
    if (!r || strcmp(r, arec_stop_reason_name(AREC_STOP_USER))) return;
    snprintf(text, sizeof text, "⏹ Agent %s stopped; its positions are "
             "closed.", id);
  } else {
    return;
  }
  arec_tg_bot_notify(b, id, 0, text);
}

void arec_tg_bot_on_trade(void *ud, const char *agent_id, const char *symbol,
                          const char *side, double qty, double price,
                          int live) {
  if (!ud || !live) return;
  char text[256];
  snprintf(text, sizeof text, "💱 Agent %s: %s %.8g %s at %.8g", agent_id,
           side, qty, symbol, price);
  arec_tg_bot_notify(ud, agent_id, 0, text);
}

void arec_tg_bot_on_breaker(void *ud, const char *endpoint,
                            arec_breaker_state from, arec_breaker_state to) {
  (void)endpoint;
  if (!ud) return;
  if (to == AREC_BREAKER_OPEN && from == AREC_BREAKER_CLOSED)
    arec_tg_bot_notify(ud, NULL, -1, "⚠️ The exchange is unavailable: your "
                       "agents pause trading until it answers again.");
  else if (to == AREC_BREAKER_CLOSED)
    arec_tg_bot_notify(ud, NULL, -1, "✅ The exchange answers again: your "
                       "agents resume trading.");
}

static void send_to(arec_tg_bot *b, long long uid, const char *text) {
  int rc = arec_tg_send_message(b->send_api, uid, text);
  if (rc) {
    char u[24];
    snprintf(u, sizeof u, "%lld", uid);
    blog(b, AREC_LOG_WARN, "telegram notification not sent", "user_id", u,
         "error", arec_error_last());
  }
}

static void deliver(arec_tg_bot *b, note *n) {
  if (n->user_id > 0) {
    send_to(b, n->user_id, n->text);
  } else if (n->user_id == 0) {
    arec_pg_agent *a = NULL;
    if (arec_pg_agent_get(b->o.pg, n->agent_id, &a) == 0)
      send_to(b, a->user_id, n->text);
    arec_pg_agents_free(a, 1);
  } else if (b->mgr) {
    arec_runner_info *ri = NULL;
    size_t nr = 0;
    if (arec_manager_runners(b->mgr, &ri, &nr)) return;
    long long *seen = calloc(nr + 1, sizeof *seen);
    size_t ns = 0;
    for (size_t i = 0; seen && i < nr; i++) {
      arec_pg_agent *a = NULL;
      if (arec_pg_agent_get(b->o.pg, ri[i].agent_id, &a) == 0) {
        int dup = 0;
        for (size_t j = 0; j < ns; j++) dup |= seen[j] == a->user_id;
        if (!dup) {
          seen[ns++] = a->user_id;
          send_to(b, a->user_id, n->text);
        }
      }
      arec_pg_agents_free(a, 1);
    }
    free(seen);
    arec_runner_info_free(ri, nr);
  }
}

static void *sender_main(void *arg) {
  arec_tg_bot *b = arg;
  int64_t flush_until = 0;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    while (!b->qlen && !b->stopping) pthread_cond_wait(&b->cv, &b->mu);
    if (b->stopping) {
      if (b->abandon || !b->qlen) break;
      if (!flush_until) flush_until = mono_ms() + 1000;
      if (mono_ms() > flush_until) break;
    }
    note n = b->q[b->qhead];
    b->qhead = (b->qhead + 1) % QUEUE_MAX;
    b->qlen--;
    pthread_mutex_unlock(&b->mu);
    deliver(b, &n);
    free(n.text);
    pthread_mutex_lock(&b->mu);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/* ------------------------------------------------------------- poller */
typedef struct role {
  int held;
  arec_lease lease;
  int64_t valid_until, next_refresh;
  uint64_t fence;
  long long offset;
} role;

static void role_drop(arec_tg_bot *b, role *r, const char *why, int release) {
  if (!r->held) return;
  if (release) {
    arec_pg_role_release(b->o.pg, ROLE, r->fence);
    b->o.lock->release(b->o.lock, ROLE_KEY, &r->lease);
  }
  r->held = 0;
  atomic_store(&b->is_poller, 0);
  blog(b, AREC_LOG_INFO, "telegram poller role released", "pod", b->pod,
       "reason", why);
}

static int role_take(arec_tg_bot *b, role *r) {
  int64_t sent = mono_ms();
  int rc = b->o.lock->try_acquire(b->o.lock, ROLE_KEY, b->pod, b->o.lock_ttl_ms,
                                  &r->lease);
  if (rc != 1) return 0;
  r->valid_until = sent + r->lease.validity_ms;
  r->next_refresh = sent + b->o.lock_ttl_ms / 3;
  if (arec_pg_role_claim(b->o.pg, ROLE, b->pod, &r->fence) != 0) {
    blog(b, AREC_LOG_WARN, "telegram role claim failed", "error",
         arec_error_last(), NULL, NULL);
    b->o.lock->release(b->o.lock, ROLE_KEY, &r->lease);
    return 0;
  }
  char *v = NULL;
  r->offset = 0;
  if (arec_pg_kv_get(b->o.pg, OFFSET_KEY, &v) == 0 && v)
    r->offset = strtoll(v, NULL, 10);
  arec_free(v);
  r->held = 1;
  atomic_store(&b->is_poller, 1);
  char f[24];
  snprintf(f, sizeof f, "%llu", (unsigned long long)r->fence);
  blog(b, AREC_LOG_INFO, "telegram poller role acquired", "pod", b->pod,
       "fence", f);
  return 1;
}

/* Keeps the role: 1 still held, 0 dropped. */
static int role_keep(arec_tg_bot *b, role *r) {
  int64_t now = mono_ms();
  if (now >= r->next_refresh) {
    int rc = b->o.lock->refresh(b->o.lock, ROLE_KEY, &r->lease, b->o.lock_ttl_ms);
    if (rc == 0) {
      r->valid_until = now + r->lease.validity_ms;
      r->next_refresh = now + b->o.lock_ttl_ms / 3;
    } else if (rc == AREC_ELOST) {
      role_drop(b, r, "lock lost", 0);
      return 0;
    } else {
      r->next_refresh = now + 200;
    }
  }
  if (mono_ms() >= r->valid_until - 100) {
    role_drop(b, r, "lease validity ran out", 0);
    return 0;
  }
  int rc = arec_pg_role_check(b->o.pg, ROLE, r->fence);
  if (rc == AREC_EFENCED) {
    role_drop(b, r, "fenced", 1);
    return 0;
  }
  return 1;
}

/* Handles one update; 0 go on, AREC_EFENCED drop the role, <0 retry. */
static int handle_update(arec_tg_bot *b, role *r, const cJSON *u) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(u, "update_id");
  if (!cJSON_IsNumber(id)) {
    blog(b, AREC_LOG_WARN, "malformed telegram update skipped", "why",
         "no update_id", NULL, NULL);
    return 0;
  }
  long long uid = (long long)id->valuedouble;
  if (uid < r->offset) return 0;
  char v[24];
  snprintf(v, sizeof v, "%lld", uid + 1);
  int rc = arec_pg_kv_set(b->o.pg, OFFSET_KEY, v, ROLE, r->fence);
  if (rc) return rc;
  r->offset = uid + 1;
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(u, "message");
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(m, "from");
  const cJSON *fid = cJSON_GetObjectItemCaseSensitive(from, "id");
  const cJSON *chat = cJSON_GetObjectItemCaseSensitive(m, "chat");
  const cJSON *cid = cJSON_GetObjectItemCaseSensitive(chat, "id");
  const cJSON *mid = cJSON_GetObjectItemCaseSensitive(m, "message_id");
  const cJSON *text = cJSON_GetObjectItemCaseSensitive(m, "text");
  snprintf(v, sizeof v, "%lld", uid);
  if (!cJSON_IsObject(m) || !cJSON_IsNumber(fid) || !cJSON_IsNumber(cid) ||
      !cJSON_IsNumber(mid) || fid->valuedouble <= 0) {
    blog(b, AREC_LOG_WARN, "malformed telegram update skipped", "update_id", v,
         "why", "no message with from, chat and message_id");
    return 0;
  }
  if (!cJSON_IsString(text) || text->valuestring[0] != '/') return 0;
  const cJSON *un = cJSON_GetObjectItemCaseSensitive(from, "username");
  if (!cJSON_IsString(un)) un = cJSON_GetObjectItemCaseSensitive(from, "first_name");
  arec_tg_ctx c = {b->o.pg, b->mgr, b->pod, b->allowed, b->nallowed};
  char *reply = NULL;
  int del = 0;
  long long user = (long long)fid->valuedouble, chat_id = (long long)cid->valuedouble;
  if (arec_tg_command(&c, user, cJSON_IsString(un) ? un->valuestring : "",
                      text->valuestring, &reply, &del) != 0)
    return 0;
  if (del && arec_tg_delete_message(b->poll_api, chat_id,
                                    (long long)mid->valuedouble) != 0)
    blog(b, AREC_LOG_WARN, "telegram deleteMessage failed", "update_id", v,
         "error", arec_error_last());
  if (arec_tg_send_message(b->poll_api, chat_id, reply) != 0)
    blog(b, AREC_LOG_WARN, "telegram reply not sent", "update_id", v, "error",
         arec_error_last());
  free(reply);
  return 0;
}

static void *poller_main(void *arg) {
  arec_tg_bot *b = arg;
  role r;
  memset(&r, 0, sizeof r);
  int64_t standby = b->o.lock_ttl_ms / 3;
  if (standby > 5000) standby = 5000;
  if (standby < 100) standby = 100;
  int64_t err_wait = b->o.idle_wait_ms;
  while (!atomic_load(&b->stop_poll)) {
    if (!r.held && !role_take(b, &r)) {
      if (nap(b, standby)) break;
      continue;
    }
    if (!role_keep(b, &r)) continue;
    int64_t left = r.valid_until - mono_ms() - 1000;
    int timeout = b->o.poll_timeout_s;
    if ((int64_t)timeout * 1000 > left) timeout = left > 0 ? (int)(left / 1000) : 0;
    int64_t t0 = mono_ms();
    cJSON *ups = NULL;
    int rc = arec_tg_get_updates(b->poll_api, r.offset, timeout, &ups);
    if (atomic_load(&b->stop_poll)) {
      cJSON_Delete(ups);
      break;
    }
    if (rc) {
      blog(b, AREC_LOG_WARN, "telegram getUpdates failed", "error",
           arec_error_last(), NULL, NULL);
      if (nap(b, err_wait)) break;
      err_wait = err_wait * 2 > 30000 ? 30000 : err_wait * 2;
      continue;
    }
    err_wait = b->o.idle_wait_ms;
    int n = cJSON_GetArraySize(ups);
    const cJSON *u;
    cJSON_ArrayForEach(u, ups) {
      rc = handle_update(b, &r, u);
      if (rc == AREC_EFENCED) {
        role_drop(b, &r, "fenced", 0);
        break;
      }
      if (rc) {
        blog(b, AREC_LOG_WARN, "telegram offset not saved, retrying",
             "error", arec_error_last(), NULL, NULL);
        nap(b, err_wait);
        break;
      }
    }
    cJSON_Delete(ups);
    if (n == 0 && mono_ms() - t0 < (int64_t)timeout * 500 + 200)
      if (nap(b, b->o.idle_wait_ms)) break;
  }
  pthread_mutex_lock(&b->mu);
  int abandon = b->abandon;
  pthread_mutex_unlock(&b->mu);
  if (!abandon) role_drop(b, &r, "shutdown", 1);
  atomic_store(&b->is_poller, 0);
  return NULL;
}

/* ------------------------------------------------------- start / stop */
int arec_tg_bot_start(arec_tg_bot *b, arec_manager *mgr) {
  if (!b || !mgr || b->started) return AREC_EINVAL;
  b->mgr = mgr;
  if (pthread_create(&b->sender, NULL, sender_main, b) != 0) return AREC_ENOMEM;
  if (pthread_create(&b->poller, NULL, poller_main, b) != 0) {
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->sender, NULL);
    return AREC_ENOMEM;
  }
  b->started = 1;
  blog(b, AREC_LOG_INFO, "telegram bot started", "pod", b->pod, NULL, NULL);
  return 0;
}

static void stop(arec_tg_bot *b, int abandon) {
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  if (b->stopped) {
    pthread_mutex_unlock(&b->mu);
    return;
  }
  b->stopping = 1;
  b->abandon = abandon;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  atomic_store(&b->stop_poll, 1);
  if (abandon) atomic_store(&b->stop_send, 1);
  if (b->started) {
    pthread_join(b->poller, NULL);
    pthread_join(b->sender, NULL);
  }
  pthread_mutex_lock(&b->mu);
  b->stopped = 1;
  pthread_mutex_unlock(&b->mu);
}

void arec_tg_bot_stop(arec_tg_bot *b) { stop(b, 0); }
void arec_tg_bot_abandon(arec_tg_bot *b) { stop(b, 1); }

void arec_tg_bot_free(arec_tg_bot *b) {
  if (!b) return;
  stop(b, 0);
  for (size_t i = 0; i < b->qlen; i++) free(b->q[(b->qhead + i) % QUEUE_MAX].text);
  arec_tg_api_free(b->poll_api);
  arec_tg_api_free(b->send_api);
  if (b->o.lock && b->o.lock->free) b->o.lock->free(b->o.lock);
  free(b->allowed);
  free(b->pod);
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  free(b);
}
