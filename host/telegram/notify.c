/*
 * notify.c -- the bot's notification hooks (see bot.h) and the owner
 * lookup the outbox's sender calls to turn an agent into its owner's chat.
 *
 * How: a hook recognises the event (a log line of the core, a live trade,
 * a breaker change), writes one sentence and queues it for the agent's
 * owner or for the owners of the agents running on this pod; the hooks
 * never block on I/O (they run under the manager's and exchange's locks).
 * Backoff is told once per change of state: when an agent enters it (the
 * core's "agent start failed, backing off" with failures=1) and when it
 * recovers ("agent started after backoff"), not on every retry.  A
 * restore is told only after a failure (after=failure): handovers are
 * silent.  A user's stop is told once, by the trading type's line (what
 * it closed, what it could not and why) or else by the core's.  Owners
 * are the line's user_id when it names one, else read through the
 * service's administrative repository.
 *
 * Never: put a secret, a token or a message's text into a notification or
 * a log line; call the network or the database from a hook.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telegram/bot_int.h"

#define PAGE 1000
#define MAX_PAGES 50

void arec_tg_bot_notify(arec_tg_bot *b, const char *agent_id,
                        long long user_id, const char *text) {
  if (!b || !text) return;
  if (user_id > 0) arec_tg_outbox_to_chat(b->out, user_id, text);
  else if (agent_id && *agent_id) arec_tg_outbox_to_owner(b->out, agent_id, text);
  else if (user_id < 0) arec_tg_outbox_to_owner(b->out, NULL, text);
}

static const char *field(const arec_log_field *f, size_t n, const char *k) {
  for (size_t i = 0; i < n; i++)
    if (f[i].key && !strcmp(f[i].key, k)) return f[i].value;
  return NULL;
}

/* ------------------------------------------------------------ stops told */
/* A trading agent's stop line ("trading agent stopped", with what it
 * closed) comes just before the core's "agent stopped" line for the same
 * runner, on the same thread: the agents whose stop was told by the first
 * are remembered here so that the second is not told again.  Small and
 * bounded: an entry is used once, the oldest goes first. */
#define TOLD_MAX 64
static pthread_mutex_t g_told_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  const void *bot;
  char id[AREC_AGENT_ID_MAX + 1];
} g_told[TOLD_MAX];
static size_t g_told_next;

static void told_add(const void *bot, const char *id) {
  pthread_mutex_lock(&g_told_mu);
  g_told[g_told_next].bot = bot;
  snprintf(g_told[g_told_next].id, sizeof g_told[0].id, "%s", id);
  g_told_next = (g_told_next + 1) % TOLD_MAX;
  pthread_mutex_unlock(&g_told_mu);
}

/* 1 when (bot, id) was told (the entry is used up). */
static int told_take(const void *bot, const char *id) {
  int hit = 0;
  pthread_mutex_lock(&g_told_mu);
  for (size_t i = 0; i < TOLD_MAX && !hit; i++)
    if (g_told[i].bot == bot && !strcmp(g_told[i].id, id)) {
      g_told[i].bot = NULL;
      hit = 1;
    }
  pthread_mutex_unlock(&g_told_mu);
  return hit;
}

/* The owner a line names (user_id), else 0: then the note goes to the
 * agent's owner as the database knows it. */
static long long line_user(const arec_log_field *f, size_t n) {
  const char *u = field(f, n, "user_id");
  char *e = NULL;
  long long v = u ? strtoll(u, &e, 10) : 0;
  return u && e != u && !*e && v > 0 ? v : 0;
}

/* Appends to text (len bytes) at *k, never past its end. */
static void add(char *text, size_t len, size_t *k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *text, size_t len, size_t *k, const char *fmt, ...) {
  if (*k >= len) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text + *k, len - *k, fmt, ap);
  va_end(ap);
  if (n > 0) *k += (size_t)n;
}

/* "⏹ Agent X stopped; positions closed: ...; NOT closed: ... (why)". */
static void stop_text(char *text, size_t len, const char *id,
                      const arec_log_field *f, size_t n) {
  const char *closed = field(f, n, "closed");
  const char *open = field(f, n, "not_closed");
  const char *why = field(f, n, "why");
  const char *dust = field(f, n, "dust");
  int has_closed = closed && *closed, has_open = open && *open;
  size_t k = 0;
  text[0] = 0;
  add(text, len, &k, "%s Agent %.64s stopped", has_open ? "⚠️" : "⏹", id);
  if (!has_closed && !has_open) {
    add(text, len, &k, "; it held no open position.");
  } else {
    add(text, len, &k, "; positions closed: %.300s",
        has_closed ? closed : "none");
    if (has_open)
      add(text, len, &k, "; NOT closed: %.300s (%.600s). They are still open "
          "at the exchange: close them yourself or start the agent again.",
          open, why && *why ? why : "no reason given");
    else
      add(text, len, &k, ".");
  }
  if (dust && *dust)
    add(text, len, &k, " A remainder below the exchange minimum stays on "
        "%.200s.", dust);
}

void arec_tg_bot_log_tap(void *ud, arec_log_level level, const char *msg,
                         const arec_log_field *fields, size_t nfields) {
  arec_tg_bot *b = ud;
  (void)level;
  if (!b || !msg) return;
  const char *id = field(fields, nfields, "agent_id");
  if (!id || !*id) return;
  char text[2048];
  long long user = 0;
  if (!strcmp(msg, "✅ agent restored successfully")) {
    /* only a takeover after a failure is news to the owner: a first
     * start, a graceful handover and a fair-share move are not */
    const char *after = field(fields, nfields, "after");
    if (!after || strcmp(after, "failure")) return;
    snprintf(text, sizeof text, "♻️ Agent %.64s was restored on pod %.120s "
             "after a failure and continues from its saved state.", id,
             b->pod);
  } else if (!strcmp(msg, "trading agent stopped")) {
    const char *r = field(fields, nfields, "reason");
    if (!r || strcmp(r, arec_stop_reason_name(AREC_STOP_USER))) return;
    stop_text(text, sizeof text, id, fields, nfields);
    user = line_user(fields, nfields);
    told_add(b, id);
  } else if (!strcmp(msg, "agent stopped")) {
    const char *r = field(fields, nfields, "reason");
    if (!r || strcmp(r, arec_stop_reason_name(AREC_STOP_USER))) return;
    if (told_take(b, id)) return; /* its agent type told it already */
    snprintf(text, sizeof text, "⏹ Agent %.64s stopped.", id);
  } else if (!strcmp(msg, "daily loss limit reached, stopping the agent")) {
    const char *l = field(fields, nfields, "loss");
    const char *m = field(fields, nfields, "limit");
    snprintf(text, sizeof text, "🛑 Agent %.64s lost %.32s today (UTC), its "
             "daily loss limit is %.32s: it is being stopped and its "
             "positions closed.", id, l ? l : "?", m ? m : "?");
    user = line_user(fields, nfields);
  } else if (!strcmp(msg, "agent start failed, backing off")) {
    const char *n = field(fields, nfields, "failures");
    if (!n || strcmp(n, "1")) return; /* told when it entered the backoff */
    const char *e = field(fields, nfields, "error");
    snprintf(text, sizeof text, "⚠️ Agent %.64s could not start: %.200s. It "
             "retries on its own with a growing delay; /status %.64s shows "
             "the next attempt.", id, e && *e ? e : "unknown error", id);
  } else if (!strcmp(msg, "agent started after backoff")) {
    const char *n = field(fields, nfields, "failures");
    snprintf(text, sizeof text, "✅ Agent %.64s started after %.20s failed "
             "attempt%s.", id, n ? n : "some", n && !strcmp(n, "1") ? "" : "s");
  } else {
    return;
  }
  if (user > 0) arec_tg_outbox_to_chat(b->out, user, text);
  else arec_tg_outbox_to_owner(b->out, id, text);
}

void arec_tg_bot_on_trade(void *ud, const char *agent_id, const char *symbol,
                          const char *side, double qty, double price,
                          int live) {
  if (!ud || !live || !agent_id) return;
  char text[256];
  snprintf(text, sizeof text, "💱 Agent %.64s: %.8s %.8g %.32s at %.8g",
           agent_id, side ? side : "?", qty, symbol ? symbol : "?", price);
  arec_tg_bot_notify(ud, agent_id, 0, text);
}

void arec_tg_bot_on_breaker(void *ud, const char *endpoint,
                            arec_breaker_state from, arec_breaker_state to) {
  (void)endpoint;
  if (!ud) return;
  if (to == AREC_BREAKER_OPEN && from == AREC_BREAKER_CLOSED)
    arec_tg_bot_notify(ud, NULL, -1, "⚠️ The exchange is unavailable: your "
                       "agents pause trading until it answers again.");
  else if (to == AREC_BREAKER_CLOSED && from != AREC_BREAKER_CLOSED)
    arec_tg_bot_notify(ud, NULL, -1, "✅ The exchange answers again: your "
                       "agents resume trading.");
}

/* ---------------------------------------------------------- owner lookup */
static int add_user(long long **v, size_t *n, size_t *cap, long long u) {
  if (u <= 0) return 0;
  for (size_t i = 0; i < *n; i++)
    if ((*v)[i] == u) return 0;
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    long long *nv = realloc(*v, nc * sizeof *nv);
    if (!nv) return AREC_ENOMEM;
    *v = nv;
    *cap = nc;
  }
  (*v)[(*n)++] = u;
  return 0;
}

int arec__tg_owners(void *ud, const char *agent_id, long long **out,
                    size_t *out_n) {
  arec_tg_bot *b = ud;
  *out = NULL;
  *out_n = 0;
  arec_svc *svc = atomic_load(&b->svc);
  arec_repository *repo = svc ? arec_svc_repository(svc) : NULL;
  if (!repo) return AREC_EINVAL;
  size_t cap = 0;
  if (agent_id) {
    arec_agent_record *a = NULL;
    int rc = arec_agent_get(repo, agent_id, &a);
    if (rc == 0) rc = add_user(out, out_n, &cap, a->user_id);
    arec_agent_records_free(a, a ? 1 : 0);
    return rc;
  }
  char after[AREC_AGENT_ID_MAX + 1] = "";
  for (int page = 0; page < MAX_PAGES; page++) {
    arec_agent_filter f = AREC_AGENT_FILTER_INIT;
    f.limit = PAGE;
    f.running_on = b->pod;
    f.after = after[0] ? after : NULL;
    arec_agent_record *as = NULL;
    size_t n = 0;
    int rc = arec_agent_list(repo, &f, &as, &n);
    for (size_t i = 0; !rc && i < n; i++) rc = add_user(out, out_n, &cap, as[i].user_id);
    if (n) snprintf(after, sizeof after, "%s", as[n - 1].id);
    arec_agent_records_free(as, n);
    if (rc) return rc;
    if (n < PAGE) break;
  }
  return 0;
}
