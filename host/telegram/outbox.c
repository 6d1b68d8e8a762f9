/*
 * outbox.c -- the bot's outgoing messages (see outbox.h): per-chat queues
 * (rings of pieces) in a small array, a ring of owner notes, one sender.
 *
 * How: the sender takes, round robin, the first chat whose queue is not on
 * hold, sends its oldest piece with a deadline (10 s, or the stop deadline
 * when that is sooner), and on success pops it; a 429 puts the chat on
 * hold for retry_after and keeps the piece; a transport error retries with
 * 1, 2, 4 s holds; a refusal drops the piece.  Owner notes are resolved
 * (unlocked) into chat pieces before anything else is sent.  Waits are on
 * a monotonic condition variable, until the next hold ends, a new message
 * or the stop.
 * Never: send after the stop deadline; block a caller of a put function on
 * I/O; log a text.
 */
#include "telegram/outbox.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "telegram/tg_api.h"

#define SEND_TIMEOUT_MS 10000
#define MAX_429 10
#define MAX_TRANSIENT 3
#define FOREVER INT64_MAX

typedef struct chatq {
  long long chat;
  char *msgs[AREC_TG_OUTBOX_PER_CHAT];
  size_t head, len;
  int64_t hold_until;
  unsigned tries;
} chatq;

typedef struct note {
  char agent_id[AREC_AGENT_ID_MAX + 1];
  int local; /* the owners of the agents running here */
  char *text;
} note;

struct arec_tg_outbox {
  arec_tg_api *api;
  _Atomic int64_t abort_at;
  arec_log_fn log;
  void *log_ud;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  chatq *q;
  size_t nq, rr;
  note notes[AREC_TG_OUTBOX_OWNER_NOTES];
  size_t nhead, nlen;
  arec_tg_owners_fn owners;
  void *owners_ud;
  int started, stopping, abandon, joined;
  int64_t deadline;
  pthread_t th;
  arec_tg_outbox_stats st;
};

static void olog(arec_tg_outbox *o, arec_log_level lvl, const char *msg,
                 long long chat, const char *why) {
  if (!o->log) return;
  char c[24];
  snprintf(c, sizeof c, "%lld", chat);
  arec_log_field f[2] = {{"chat_id", c, AREC_LOG_NUMBER},
                         {"why", why ? why : "", AREC_LOG_STRING}};
  o->log(o->log_ud, lvl, msg, f, 2);
}

int arec_tg_outbox_new(arec_tg_outbox **out, const char *api_base,
                       const char *token, arec_log_fn log, void *log_ud) {
  *out = NULL;
  arec_tg_outbox *o = calloc(1, sizeof *o);
  if (!o) return AREC_ENOMEM;
  o->q = calloc(AREC_TG_OUTBOX_CHATS, sizeof *o->q);
  if (!o->q) {
    free(o);
    return AREC_ENOMEM;
  }
  int rc = arec_tg_api_new(&o->api, api_base, token, 5000, &o->abort_at);
  if (rc) {
    free(o->q);
    free(o);
    return rc;
  }
  o->log = log;
  o->log_ud = log_ud;
  pthread_mutex_init(&o->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&o->cv, &ca);
  pthread_condattr_destroy(&ca);
  *out = o;
  return 0;
}

/* ------------------------------------------------------------------ put */
static chatq *chat_find(arec_tg_outbox *o, long long chat, int create) {
  for (size_t i = 0; i < o->nq; i++)
    if (o->q[i].chat == chat) return &o->q[i];
  if (!create || o->nq == AREC_TG_OUTBOX_CHATS) return NULL;
  chatq *c = &o->q[o->nq++];
  memset(c, 0, sizeof *c);
  c->chat = chat;
  return c;
}

/* The length of the next piece of s (<= AREC_TG_PIECE_MAX bytes): up to the
 * last newline in the window, else a UTF-8 character boundary. */
static size_t piece_len(const char *s) {
  size_t n = strlen(s);
  if (n <= AREC_TG_PIECE_MAX) return n;
  size_t cut = AREC_TG_PIECE_MAX;
  for (size_t i = cut; i > AREC_TG_PIECE_MAX / 2; i--)
    if (s[i - 1] == '\n') return i;
  while (cut > 1 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
  return cut;
}

int arec_tg_outbox_to_chat(arec_tg_outbox *o, long long chat,
                           const char *text) {
  if (!o || !text || !*text || !chat) return AREC_EINVAL;
  int rc = 0;
  pthread_mutex_lock(&o->mu);
  chatq *c = o->stopping ? NULL : chat_find(o, chat, 1);
  const char *p = text;
  while (*p && !rc) {
    size_t len = piece_len(p);
    char *piece = c && c->len < AREC_TG_OUTBOX_PER_CHAT ? strndup(p, len) : NULL;
    if (!piece) {
      rc = AREC_EUNAVAILABLE;
      o->st.dropped++;
      break;
    }
    c->msgs[(c->head + c->len++) % AREC_TG_OUTBOX_PER_CHAT] = piece;
    o->st.waiting++;
    p += len;
    while (*p == '\n') p++;
  }
  if (c && !c->len) { /* created for nothing: take it back */
    *c = o->q[--o->nq];
  }
  pthread_cond_broadcast(&o->cv);
  pthread_mutex_unlock(&o->mu);
  if (rc)
    olog(o, AREC_LOG_WARN, "telegram message dropped", chat,
         o->stopping ? "stopping" : "queue full");
  return rc;
}

int arec_tg_outbox_to_owner(arec_tg_outbox *o, const char *agent_id,
                            const char *text) {
  if (!o || !text || !*text) return AREC_EINVAL;
  const char *id = agent_id ? agent_id : "";
  int rc = 0;
  pthread_mutex_lock(&o->mu);
  int dup = 0;
  for (size_t i = 0; i < o->nlen && !dup; i++) {
    note *n = &o->notes[(o->nhead + i) % AREC_TG_OUTBOX_OWNER_NOTES];
    dup = n->local == !agent_id && !strcmp(n->agent_id, id) && !strcmp(n->text, text);
  }
  if (!dup) {
    char *t = NULL;
    if (!o->stopping && o->nlen < AREC_TG_OUTBOX_OWNER_NOTES) t = strdup(text);
    if (t) {
      note *n = &o->notes[(o->nhead + o->nlen++) % AREC_TG_OUTBOX_OWNER_NOTES];
      snprintf(n->agent_id, sizeof n->agent_id, "%s", id);
      n->local = !agent_id;
      n->text = t;
      pthread_cond_broadcast(&o->cv);
    } else {
      o->st.dropped++;
      rc = AREC_EUNAVAILABLE;
    }
  }
  pthread_mutex_unlock(&o->mu);
  if (rc) olog(o, AREC_LOG_WARN, "telegram notification dropped", 0, "queue full");
  return rc;
}

/* --------------------------------------------------------------- sender */
static void drop_head(arec_tg_outbox *o, size_t i) {
  chatq *c = &o->q[i];
  free(c->msgs[c->head]);
  c->head = (c->head + 1) % AREC_TG_OUTBOX_PER_CHAT;
  c->len--;
  c->tries = 0;
  c->hold_until = 0;
  o->st.waiting--;
  if (!c->len) o->q[i] = o->q[--o->nq];
}

static void timed_wait(arec_tg_outbox *o, int64_t until) {
  if (until == FOREVER) {
    pthread_cond_wait(&o->cv, &o->mu);
    return;
  }
  struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
  pthread_cond_timedwait(&o->cv, &o->mu, &ts);
}

/* Resolves the oldest owner note (called locked; unlocks meanwhile). */
static void resolve_one(arec_tg_outbox *o) {
  note n = o->notes[o->nhead];
  o->nhead = (o->nhead + 1) % AREC_TG_OUTBOX_OWNER_NOTES;
  o->nlen--;
  pthread_mutex_unlock(&o->mu);
  long long *users = NULL;
  size_t nu = 0;
  if (o->owners(o->owners_ud, n.local ? NULL : n.agent_id, &users, &nu) == 0)
    for (size_t i = 0; i < nu; i++)
      if (users[i] > 0) arec_tg_outbox_to_chat(o, users[i], n.text);
  free(users);
  free(n.text);
  pthread_mutex_lock(&o->mu);
}

static void *sender_main(void *arg) {
  arec_tg_outbox *o = arg;
  pthread_mutex_lock(&o->mu);
  for (;;) {
    int64_t now = arec_tg_now_ms();
    if (o->stopping && (o->abandon || now >= o->deadline)) break;
    if (o->nlen && o->owners) {
      if (o->stopping && o->deadline - now < 1000) { /* no time for reads */
        free(o->notes[o->nhead].text);
        o->nhead = (o->nhead + 1) % AREC_TG_OUTBOX_OWNER_NOTES;
        o->nlen--;
        o->st.dropped++;
      } else {
        resolve_one(o);
      }
      continue;
    }
    size_t pick = o->nq;
    int64_t soonest = FOREVER;
    for (size_t k = 0; k < o->nq; k++) {
      size_t i = (o->rr + k) % o->nq;
      if (o->q[i].hold_until <= now) {
        pick = i;
        break;
      }
      if (o->q[i].hold_until < soonest) soonest = o->q[i].hold_until;
    }
    if (pick == o->nq) {
      if (o->stopping && !o->nq) break;
      if (o->stopping && o->deadline < soonest) soonest = o->deadline;
      timed_wait(o, soonest);
      continue;
    }
    o->rr = pick + 1;
    chatq *c = &o->q[pick];
    long long chat = c->chat;
    char *text = c->msgs[c->head];
    int64_t dl = now + SEND_TIMEOUT_MS;
    if (o->stopping && o->deadline < dl) dl = o->deadline;
    pthread_mutex_unlock(&o->mu);
    int64_t ra = 0;
    int rc = arec_tg_send_message(o->api, chat, text, dl, &ra);
    char why[160];
    snprintf(why, sizeof why, "%s", rc ? arec_error_last() : "");
    pthread_mutex_lock(&o->mu);
    /* only this thread removes queues: find the chat again (appends may
     * have moved nothing, removals are ours) */
    c = chat_find(o, chat, 0);
    size_t i = c ? (size_t)(c - o->q) : 0;
    if (!c) continue;
    now = arec_tg_now_ms();
    if (rc == 0) {
      o->st.sent++;
      drop_head(o, i);
    } else if (ra > 0 && c->tries < MAX_429) {
      c->tries++;
      c->hold_until = now + ra;
      o->st.retried_429++;
    } else if ((rc == AREC_EUNAVAILABLE || rc == AREC_ETIMEDOUT) &&
               c->tries < MAX_TRANSIENT && !(o->stopping && now >= o->deadline)) {
      c->hold_until = now + (1000LL << c->tries);
      c->tries++;
    } else if (rc == AREC_ESHUTDOWN || (o->stopping && now >= o->deadline)) {
      break;
    } else {
      o->st.dropped++;
      drop_head(o, i);
      pthread_mutex_unlock(&o->mu);
      olog(o, AREC_LOG_WARN, "telegram message not sent", chat, why);
      pthread_mutex_lock(&o->mu);
    }
  }
  size_t left = o->st.waiting + o->nlen;
  pthread_mutex_unlock(&o->mu);
  if (left)
    olog(o, AREC_LOG_WARN, "telegram messages not sent at shutdown", 0,
         "stop deadline");
  return NULL;
}

/* -------------------------------------------------------------- lifecycle */
int arec_tg_outbox_start(arec_tg_outbox *o, arec_tg_owners_fn owners,
                         void *owners_ud) {
  if (!o || o->started) return AREC_EINVAL;
  pthread_mutex_lock(&o->mu);
  o->owners = owners;
  o->owners_ud = owners_ud;
  int stopping = o->stopping;
  pthread_mutex_unlock(&o->mu);
  if (stopping) return AREC_ESHUTDOWN;
  if (pthread_create(&o->th, NULL, sender_main, o) != 0) return AREC_ENOMEM;
  o->started = 1;
  return 0;
}

void arec_tg_outbox_stop(arec_tg_outbox *o, int64_t deadline_ms, int abandon) {
  if (!o) return;
  pthread_mutex_lock(&o->mu);
  if (!o->stopping || abandon) {
    if (!o->stopping || deadline_ms < o->deadline) o->deadline = deadline_ms;
    o->stopping = 1;
    o->abandon |= abandon;
  }
  atomic_store(&o->abort_at, o->abandon ? 1 : (o->deadline > 0 ? o->deadline : 1));
  pthread_cond_broadcast(&o->cv);
  pthread_mutex_unlock(&o->mu);
  if (o->started && !o->joined) {
    if (abandon) {
      pthread_join(o->th, NULL);
      o->joined = 1;
    } else {
      o->joined = arec_tg_join_by(o->th, deadline_ms);
    }
  }
}

void arec_tg_outbox_free(arec_tg_outbox *o) {
  if (!o) return;
  arec_tg_outbox_stop(o, arec_tg_now_ms(), 1);
  for (size_t i = 0; i < o->nq; i++)
    for (size_t k = 0; k < o->q[i].len; k++)
      free(o->q[i].msgs[(o->q[i].head + k) % AREC_TG_OUTBOX_PER_CHAT]);
  for (size_t i = 0; i < o->nlen; i++)
    free(o->notes[(o->nhead + i) % AREC_TG_OUTBOX_OWNER_NOTES].text);
  free(o->q);
  arec_tg_api_free(o->api);
  pthread_cond_destroy(&o->cv);
  pthread_mutex_destroy(&o->mu);
  free(o);
}

void arec_tg_outbox_get_stats(arec_tg_outbox *o, arec_tg_outbox_stats *out) {
  pthread_mutex_lock(&o->mu);
  *out = o->st;
  pthread_mutex_unlock(&o->mu);
}
