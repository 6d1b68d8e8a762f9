/*
 * bot.c -- the Telegram bot's lifecycle and its poller (see bot.h): the
 * poller holds the library's singleton role "telegram" in the
 * administrative repository and long-polls getUpdates while it does.
 *
 * Poller loop: standby -> arec_role_claim every min(TTL/3, 5 s) -> read
 * the stored offset -> poll: keep the role every TTL/3 (AREC_ELOST: stop
 * at once; unreachable: go on while arec_role_validity_ms() > 0, retrying
 * the keep), getUpdates with a timeout that ends before the next keep and
 * a deadline that never passes the lease's validity, then the updates
 * through arec_tg_handle_updates, whose offset port stores update_id + 1
 * with arec_svc_bot_offset_set (fenced by the role) before each update is
 * handled.  Fenced or lost: the role is dropped and nothing more handled.
 * Stop: abort the poll in flight, release the role, then the outbox
 * flushes until the stop deadline.
 *
 * Never: handle an update without the fenced offset write succeeding
 * first; poll after the lease's validity ended; use the lock service; log
 * the token, a URL or a message's text.
 */
#include "telegram/bot_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "telegram/commands.h"

#define MARGIN_MS 50

/* ------------------------------------------------------------ helpers */
static void blog(arec_tg_bot *b, arec_log_level lvl, const char *msg,
                 const char *k1, const char *v1, const char *k2,
                 const char *v2) {
  if (!b->o.log) return;
  arec_log_field f[2] = {{k1, v1 ? v1 : "", AREC_LOG_STRING},
                         {k2, v2 ? v2 : "", AREC_LOG_STRING}};
  b->o.log(b->o.log_userdata, lvl, msg, f, k2 ? 2 : (k1 ? 1 : 0));
}

static int stopping(arec_tg_bot *b) {
  pthread_mutex_lock(&b->mu);
  int s = b->stopping;
  pthread_mutex_unlock(&b->mu);
  return s;
}

/* Sleeps up to ms unless stopping; returns 1 when stopping. */
static int nap(arec_tg_bot *b, int64_t ms) {
  int64_t until = arec_tg_now_ms() + (ms > 0 ? ms : 0);
  struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
  pthread_mutex_lock(&b->mu);
  if (!b->stopping) pthread_cond_timedwait(&b->cv, &b->mu, &ts);
  int s = b->stopping;
  pthread_mutex_unlock(&b->mu);
  return s;
}

static void make_holder(arec_tg_bot *b) {
  unsigned char r[16];
  size_t got = 0;
  while (got < sizeof r) {
    ssize_t n = getrandom(r + got, sizeof r - got, 0);
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got < sizeof r) { /* no entropy source: still unique per process */
    unsigned long long x = (unsigned long long)arec_tg_now_ms() ^
                           ((unsigned long long)getpid() << 32) ^
                           (unsigned long long)(uintptr_t)b;
    for (size_t i = 0; i < sizeof r; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      r[i] = (unsigned char)(x >> 56);
    }
  }
  char hex[33];
  for (size_t i = 0; i < sizeof r; i++) snprintf(hex + 2 * i, 3, "%02x", r[i]);
  snprintf(b->holder, sizeof b->holder, "%.120s/%s", b->pod, hex);
}

/* ----------------------------------------------------------- lifecycle */
int arec_tg_bot_new(arec_tg_bot **out, const arec_tg_bot_options *opts) {
  if (!out) return AREC_EINVAL;
  *out = NULL;
  if (!opts || !opts->pod || !*opts->pod || !opts->token || !*opts->token) {
    arec_error_set("telegram: TELEGRAM_BOT_TOKEN and the pod name are required");
    return AREC_EINVAL;
  }
  arec_tg_bot *b = calloc(1, sizeof *b);
  if (!b) return AREC_ENOMEM;
  b->o = *opts;
  pthread_mutex_init(&b->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&b->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (b->o.role_ttl_ms <= 0) b->o.role_ttl_ms = 30000;
  if (b->o.role_ttl_ms < 300) b->o.role_ttl_ms = 300;
  if (b->o.poll_timeout_s <= 0) b->o.poll_timeout_s = 25;
  if (b->o.poll_timeout_s > b->o.role_ttl_ms / 3000)
    b->o.poll_timeout_s = (int)(b->o.role_ttl_ms / 3000);
  if (b->o.idle_wait_ms <= 0) b->o.idle_wait_ms = 1000;
  b->o.token = b->o.api_base = b->o.allowed_users = b->o.pod = NULL;
  b->poller_joined = 1;
  int rc = 0;
  b->pod = strdup(opts->pod);
  if (!b->pod) rc = AREC_ENOMEM;
  if (!rc && arec_tg_parse_users(opts->allowed_users, &b->allowed, &b->nallowed)) {
    arec_error_set("TELEGRAM_ALLOWED_USERS: expected a comma list of user ids");
    rc = AREC_EINVAL;
  }
  if (!rc) rc = arec_tg_api_new(&b->poll_api, opts->api_base, opts->token, 5000,
                                &b->poll_abort);
  if (!rc) rc = arec_tg_outbox_new(&b->out, opts->api_base, opts->token,
                                   opts->log, opts->log_userdata);
  if (rc) {
    arec_tg_bot_free(b);
    return rc;
  }
  make_holder(b);
  *out = b;
  return 0;
}

int arec_tg_bot_is_poller(arec_tg_bot *b) {
  return b ? atomic_load(&b->is_poller) : 0;
}

/* ------------------------------------------------------------- poller */
typedef struct poller {
  arec_tg_bot *b;
  arec_svc *svc;
  arec_repository *repo;
  arec_role_lease lease;
  int held;
} poller;

static int p_offset_set(void *ud, long long offset) {
  poller *p = ud;
  if (arec_role_validity_ms(&p->lease) <= MARGIN_MS) return AREC_ELOST;
  return arec_svc_bot_offset_set(p->svc, &p->lease, offset);
}

static int p_delete(void *ud, long long chat, long long message_id) {
  poller *p = ud;
  int64_t dl = arec_tg_now_ms() + 5000;
  if (p->lease.deadline_ms < dl) dl = p->lease.deadline_ms;
  return arec_tg_delete_message(p->b->poll_api, chat, message_id, dl);
}

static void p_reply(void *ud, long long chat, const char *text) {
  poller *p = ud;
  arec_tg_outbox_to_chat(p->b->out, chat, text);
}

static void role_drop(poller *p, const char *why, int release) {
  if (!p->held) return;
  if (release) arec_role_release(p->repo, &p->lease);
  p->held = 0;
  atomic_store(&p->b->is_poller, 0);
  blog(p->b, release ? AREC_LOG_INFO : AREC_LOG_WARN,
       "telegram poller role released", "pod", p->b->pod, "reason", why);
}

/* Tries to take the role: 1 taken (offset in *offset), 0 not. */
static int role_take(poller *p, long long *offset, int *warned) {
  arec_tg_bot *b = p->b;
  int rc = arec_role_claim(p->repo, AREC_TG_ROLE, b->holder, b->o.role_ttl_ms,
                           &p->lease);
  if (rc != 1) {
    if (rc < 0 && !*warned)
      blog(b, AREC_LOG_WARN, "telegram poller role claim failed", "error",
           arec_error_last(), NULL, NULL);
    *warned = rc < 0;
    return 0;
  }
  *warned = 0;
  if (arec_svc_bot_offset_get(p->svc, offset) != 0) {
    blog(b, AREC_LOG_WARN, "telegram offset not read, role given back",
         "error", arec_error_last(), NULL, NULL);
    arec_role_release(p->repo, &p->lease);
    return 0;
  }
  p->held = 1;
  atomic_store(&b->is_poller, 1);
  char f[24];
  snprintf(f, sizeof f, "%llu", (unsigned long long)p->lease.fence);
  blog(b, AREC_LOG_INFO, "telegram poller role acquired", "pod", b->pod,
       "fence", f);
  return 1;
}

static void *poller_main(void *arg) {
  arec_tg_bot *b = arg;
  poller p;
  memset(&p, 0, sizeof p);
  p.b = b;
  p.svc = atomic_load(&b->svc);
  p.repo = arec_svc_repository(p.svc);
  arec_tg_handler h = {{&p, p_offset_set, p_delete, p_reply}, p.svc, b->pod,
                       b->allowed, b->nallowed, &b->told, 0, b->o.log,
                       b->o.log_userdata};
  int64_t ttl = b->o.role_ttl_ms, third = ttl / 3;
  int64_t standby = third > 5000 ? 5000 : third;
  int64_t err_wait = b->o.idle_wait_ms, next_keep = 0;
  int claim_warned = 0, keep_warned = 0;
  while (!stopping(b)) {
    if (!p.held) {
      if (!role_take(&p, &h.offset, &claim_warned)) {
        if (nap(b, standby)) break;
        continue;
      }
      next_keep = arec_tg_now_ms() + third;
      keep_warned = 0;
    }
    int64_t now = arec_tg_now_ms();
    if (now >= next_keep) {
      int rc = arec_role_keep(p.repo, &p.lease, ttl);
      if (rc == 0) {
        next_keep = now + third;
        keep_warned = 0;
      } else if (rc == AREC_ELOST) {
        role_drop(&p, "lost", 0);
        continue;
      } else {
        if (!keep_warned)
          blog(b, AREC_LOG_WARN, "telegram poller role not renewed, retrying",
               "error", arec_error_last(), NULL, NULL);
        keep_warned = 1;
        next_keep = now + (ttl / 10 < 500 ? ttl / 10 : 500);
      }
    }
    now = arec_tg_now_ms();
    if (arec_role_validity_ms(&p.lease) <= MARGIN_MS) {
      role_drop(&p, "lease validity ran out", 0);
      continue;
    }
    int64_t until_keep = next_keep - now;
    int timeout = b->o.poll_timeout_s;
    if ((int64_t)timeout * 1000 > until_keep)
      timeout = until_keep > 0 ? (int)(until_keep / 1000) : 0;
    int64_t deadline = now + (int64_t)timeout * 1000 + 5000;
    if (deadline > p.lease.deadline_ms - MARGIN_MS)
      deadline = p.lease.deadline_ms - MARGIN_MS;
    cJSON *ups = NULL;
    int rc = arec_tg_get_updates(b->poll_api, h.offset, timeout, deadline, &ups);
    if (stopping(b)) {
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
    long long before = h.offset;
    int n = cJSON_IsArray(ups) ? cJSON_GetArraySize(ups) : 0;
    rc = arec_tg_handle_updates(&h, ups);
    cJSON_Delete(ups);
    if (rc == AREC_EFENCED || rc == AREC_ELOST) {
      role_drop(&p, rc == AREC_EFENCED ? "fenced" : "lease validity ran out", 0);
      continue;
    }
    if (rc) {
      blog(b, AREC_LOG_WARN, "telegram offset not saved, retrying", "error",
           arec_error_last(), NULL, NULL);
      if (nap(b, err_wait)) break;
      continue;
    }
    int early = arec_tg_now_ms() - now < (int64_t)timeout * 500 + 200;
    if ((n == 0 && early) || (n > 0 && h.offset == before))
      if (nap(b, b->o.idle_wait_ms)) break;
  }
  pthread_mutex_lock(&b->mu);
  int abandon = b->abandon;
  pthread_mutex_unlock(&b->mu);
  if (!abandon && p.held && arec_role_validity_ms(&p.lease) > 0)
    role_drop(&p, "shutdown", 1);
  atomic_store(&b->is_poller, 0);
  return NULL;
}

/* ------------------------------------------------------- start / stop */
int arec_tg_bot_start(arec_tg_bot *b, arec_svc *svc) {
  if (!b || !svc || b->started || !arec_svc_repository(svc)) return AREC_EINVAL;
  atomic_store(&b->svc, svc);
  if (!b->nallowed)
    blog(b, AREC_LOG_WARN, "telegram: TELEGRAM_ALLOWED_USERS is not set: the "
         "bot answers every Telegram user", NULL, NULL, NULL, NULL);
  int rc = arec_tg_outbox_start(b->out, arec__tg_owners, b);
  if (rc) return rc;
  if (pthread_create(&b->poller, NULL, poller_main, b) != 0) {
    arec_tg_outbox_stop(b->out, arec_tg_now_ms(), 1);
    return AREC_ENOMEM;
  }
  b->started = 1;
  b->poller_joined = 0;
  blog(b, AREC_LOG_INFO, "telegram bot started", "pod", b->pod, NULL, NULL);
  return 0;
}

static void stop(arec_tg_bot *b, int64_t deadline_ms, int abandon) {
  pthread_mutex_lock(&b->mu);
  b->stopping = 1;
  b->abandon |= abandon;
  b->stopped = 1;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  atomic_store(&b->poll_abort, 1); /* the poll in flight ends now */
  if (b->started && !b->poller_joined) {
    if (abandon) {
      pthread_join(b->poller, NULL);
      b->poller_joined = 1;
    } else {
      b->poller_joined = arec_tg_join_by(b->poller, deadline_ms);
    }
  }
  arec_tg_outbox_stop(b->out, deadline_ms, abandon);
}

void arec_tg_bot_stop(arec_tg_bot *b, int64_t deadline_ms) {
  if (b) stop(b, deadline_ms, 0);
}

void arec_tg_bot_abandon(arec_tg_bot *b) {
  if (b) stop(b, arec_tg_now_ms(), 1);
}

void arec_tg_bot_free(arec_tg_bot *b) {
  if (!b) return;
  if (!b->stopped) stop(b, arec_tg_now_ms() + 1000, 0);
  if (b->started && !b->poller_joined) pthread_join(b->poller, NULL);
  arec_tg_outbox_free(b->out);
  arec_tg_api_free(b->poll_api);
  free(b->allowed);
  free(b->pod);
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  free(b);
}
