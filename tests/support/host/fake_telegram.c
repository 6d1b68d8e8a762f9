/*
 * fake_telegram.c -- the fake Telegram Bot API of the bot's tests (see
 * fake_telegram.h).  Updates and sent messages live in two arrays under
 * one mutex; getUpdates waits on a condition variable.  Never used outside
 * tests.
 */
#include "fake_telegram.h"

#include <cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/harness.h"

#define FTG_MAX 1024

typedef struct ftg_msg {
  long long chat_id;
  char *text;
  long long at_ms;
} ftg_msg;

struct arec_ftg {
  struct MHD_Daemon *d;
  char url[64];
  char token[128];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char *updates[FTG_MAX];
  long long update_ids[FTG_MAX];
  size_t nupdates;
  long long next_id;
  ftg_msg sent[FTG_MAX];
  size_t nsent;
  long long deleted[FTG_MAX][2];
  size_t ndeleted;
  int polling, stopping;
  unsigned throttle;
  int retry_after_s, fail_deletes, hang, ignore_offset;
  arec_ftg_stats st;
};

typedef struct ftg_req {
  char *body;
  size_t len;
  int seen;
} ftg_req;

static void deadline_in(struct timespec *ts, long long ms) {
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status,
                             const char *body) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type", "application/json");
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result error(struct MHD_Connection *c, int code,
                             const char *desc) {
  char b[256];
  snprintf(b, sizeof b, "{\"ok\":false,\"error_code\":%d,\"description\":\"%s\"}",
           code, desc);
  return reply(c, code, b);
}

static long long num(const cJSON *o, const char *k, long long def) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? (long long)v->valuedouble : def;
}

static enum MHD_Result get_updates(arec_ftg *tg, struct MHD_Connection *c,
                                   const cJSON *in) {
  long long offset = num(in, "offset", 0), timeout = num(in, "timeout", 0);
  if (timeout > 50) timeout = 50;
  pthread_mutex_lock(&tg->mu);
  tg->st.get_updates++;
  tg->st.last_offset = offset;
  if (tg->polling) {
    tg->st.conflicts++;
    pthread_mutex_unlock(&tg->mu);
    return error(c, 409, "Conflict: terminated by other getUpdates request");
  }
  tg->polling = 1;
  /* confirm: drop updates below offset */
  size_t k = 0;
  for (size_t i = 0; i < tg->nupdates; i++) {
    if (offset > 0 && tg->update_ids[i] < offset && !tg->ignore_offset) {
      free(tg->updates[i]);
      continue;
    }
    tg->updates[k] = tg->updates[i];
    tg->update_ids[k++] = tg->update_ids[i];
  }
  tg->nupdates = k;
  struct timespec dl;
  deadline_in(&dl, timeout * 1000);
  while (!tg->nupdates && !tg->stopping && timeout > 0)
    if (pthread_cond_timedwait(&tg->cv, &tg->mu, &dl)) break;
  size_t cap = 64;
  for (size_t i = 0; i < tg->nupdates; i++) cap += strlen(tg->updates[i]) + 1;
  char *b = malloc(cap);
  size_t n = (size_t)sprintf(b, "{\"ok\":true,\"result\":[");
  for (size_t i = 0; i < tg->nupdates && i < 100; i++)
    n += (size_t)sprintf(b + n, "%s%s", i ? "," : "", tg->updates[i]);
  sprintf(b + n, "]}");
  tg->polling = 0;
  pthread_mutex_unlock(&tg->mu);
  enum MHD_Result r = reply(c, 200, b);
  free(b);
  return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *size, void **con_cls) {
  arec_ftg *tg = cls;
  (void)version;
  ftg_req *rq = *con_cls;
  if (!rq) {
    rq = calloc(1, sizeof *rq);
    *con_cls = rq;
    return MHD_YES;
  }
  if (*size) {
    char *nb = realloc(rq->body, rq->len + *size + 1);
    if (!nb) return MHD_NO;
    memcpy(nb + rq->len, data, *size);
    rq->len += *size;
    nb[rq->len] = 0;
    rq->body = nb;
    *size = 0;
    return MHD_YES;
  }
  char prefix[160];
  snprintf(prefix, sizeof prefix, "/bot%s/", tg->token);
  if (strncmp(url, prefix, strlen(prefix))) {
    pthread_mutex_lock(&tg->mu);
    tg->st.unauthorized++;
    pthread_mutex_unlock(&tg->mu);
    return error(c, 401, "Unauthorized");
  }
  const char *m = url + strlen(prefix);
  if (strcmp(method, "POST")) return error(c, 400, "Bad Request: use POST");
  pthread_mutex_lock(&tg->mu);
  while (tg->hang && !tg->stopping) pthread_cond_wait(&tg->cv, &tg->mu);
  pthread_mutex_unlock(&tg->mu);
  cJSON *in = cJSON_Parse(rq->body ? rq->body : "{}");
  if (!cJSON_IsObject(in)) {
    cJSON_Delete(in);
    return error(c, 400, "Bad Request: body is not a JSON object");
  }
  enum MHD_Result r;
  if (!strcmp(m, "getUpdates")) {
    r = get_updates(tg, c, in);
  } else if (!strcmp(m, "sendMessage")) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "text");
    long long chat = num(in, "chat_id", 0);
    pthread_mutex_lock(&tg->mu);
    int throttled = tg->throttle > 0;
    if (throttled) {
      tg->throttle--;
      tg->st.throttled++;
      tg->st.last_429_ms = arec_test_now_ms();
    }
    int ra = tg->retry_after_s;
    pthread_mutex_unlock(&tg->mu);
    if (throttled) {
      char b[200];
      snprintf(b, sizeof b, "{\"ok\":false,\"error_code\":429,\"description\":"
               "\"Too Many Requests: retry after %d\",\"parameters\":"
               "{\"retry_after\":%d}}", ra, ra);
      r = reply(c, 429, b);
    } else if (!cJSON_IsString(t) || !chat || !*t->valuestring) {
      r = error(c, 400, "Bad Request: message text is empty");
    } else {
      pthread_mutex_lock(&tg->mu);
      tg->st.send_message++;
      long long mid = 0;
      if (tg->nsent < FTG_MAX) {
        tg->sent[tg->nsent].chat_id = chat;
        tg->sent[tg->nsent].text = strdup(t->valuestring);
        tg->sent[tg->nsent].at_ms = arec_test_now_ms();
        mid = 500000 + (long long)tg->nsent++;
      }
      pthread_cond_broadcast(&tg->cv);
      pthread_mutex_unlock(&tg->mu);
      char b[256];
      snprintf(b, sizeof b, "{\"ok\":true,\"result\":{\"message_id\":%lld,"
               "\"date\":%lld,\"chat\":{\"id\":%lld,\"type\":\"private\"}}}",
               mid, (long long)time(NULL), chat);
      r = reply(c, 200, b);
    }
  } else if (!strcmp(m, "deleteMessage")) {
    pthread_mutex_lock(&tg->mu);
    tg->st.delete_message++;
    int fail = tg->fail_deletes;
    if (tg->ndeleted < FTG_MAX && !fail) {
      tg->deleted[tg->ndeleted][0] = num(in, "chat_id", 0);
      tg->deleted[tg->ndeleted++][1] = num(in, "message_id", 0);
    }
    pthread_mutex_unlock(&tg->mu);
    if (fail) r = error(c, 400, "Bad Request: message can't be deleted");
    else r = reply(c, 200, "{\"ok\":true,\"result\":true}");
  } else {
    r = error(c, 404, "Not Found");
  }
  cJSON_Delete(in);
  return r;
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
                 enum MHD_RequestTerminationCode t) {
  (void)cls, (void)c, (void)t;
  ftg_req *rq = *con_cls;
  if (rq) free(rq->body);
  free(rq);
  *con_cls = NULL;
}

int arec_ftg_start(arec_ftg **out, const char *token) {
  arec_ftg *tg = calloc(1, sizeof *tg);
  if (!tg) return -1;
  snprintf(tg->token, sizeof tg->token, "%s", token);
  pthread_mutex_init(&tg->mu, NULL);
  pthread_cond_init(&tg->cv, NULL);
  tg->next_id = 100;
  for (int tries = 0; tries < 5 && !tg->d; tries++) {
    int port = arec_test_free_port();
    tg->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                             (uint16_t)port, NULL, NULL, handle, tg,
                             MHD_OPTION_NOTIFY_COMPLETED, done, tg,
                             MHD_OPTION_END);
    snprintf(tg->url, sizeof tg->url, "http://127.0.0.1:%d", port);
  }
  if (!tg->d) {
    fprintf(stderr, "fake_telegram: cannot start\n");
    free(tg);
    return -1;
  }
  *out = tg;
  return 0;
}

void arec_ftg_stop(arec_ftg *tg) {
  if (!tg) return;
  pthread_mutex_lock(&tg->mu);
  tg->stopping = 1;
  pthread_cond_broadcast(&tg->cv);
  pthread_mutex_unlock(&tg->mu);
  MHD_stop_daemon(tg->d);
  for (size_t i = 0; i < tg->nupdates; i++) free(tg->updates[i]);
  for (size_t i = 0; i < tg->nsent; i++) free(tg->sent[i].text);
  pthread_cond_destroy(&tg->cv);
  pthread_mutex_destroy(&tg->mu);
  free(tg);
}

const char *arec_ftg_url(const arec_ftg *tg) { return tg->url; }

static long long push(arec_ftg *tg, char *json, long long id) {
  pthread_mutex_lock(&tg->mu);
  if (tg->nupdates < FTG_MAX) {
    tg->updates[tg->nupdates] = json;
    tg->update_ids[tg->nupdates++] = id;
    json = NULL;
  }
  pthread_cond_broadcast(&tg->cv);
  pthread_mutex_unlock(&tg->mu);
  free(json);
  return id;
}

static long long take_id(arec_ftg *tg) {
  pthread_mutex_lock(&tg->mu);
  long long id = tg->next_id++;
  pthread_mutex_unlock(&tg->mu);
  return id;
}

long long arec_ftg_say(arec_ftg *tg, long long user_id, const char *text) {
  long long id = take_id(tg);
  cJSON *u = cJSON_CreateObject(), *m = cJSON_CreateObject();
  cJSON *from = cJSON_CreateObject(), *chat = cJSON_CreateObject();
  cJSON_AddNumberToObject(u, "update_id", (double)id);
  cJSON_AddNumberToObject(m, "message_id", (double)(id + 1000));
  cJSON_AddNumberToObject(from, "id", (double)user_id);
  cJSON_AddBoolToObject(from, "is_bot", 0);
  cJSON_AddStringToObject(from, "first_name", "Tester");
  cJSON_AddItemToObject(m, "from", from);
  cJSON_AddNumberToObject(chat, "id", (double)user_id);
  cJSON_AddStringToObject(chat, "type", "private");
  cJSON_AddItemToObject(m, "chat", chat);
  cJSON_AddNumberToObject(m, "date", (double)time(NULL));
  cJSON_AddStringToObject(m, "text", text);
  cJSON_AddItemToObject(u, "message", m);
  char *s = cJSON_PrintUnformatted(u);
  cJSON_Delete(u);
  return push(tg, s, id);
}

long long arec_ftg_push_raw(arec_ftg *tg, const char *fmt) {
  long long id = take_id(tg);
  size_t n = strlen(fmt) + 32;
  char *s = malloc(n);
  snprintf(s, n, fmt, id);
  return push(tg, s, id);
}

size_t arec_ftg_mark(arec_ftg *tg) {
  pthread_mutex_lock(&tg->mu);
  size_t n = tg->nsent;
  pthread_mutex_unlock(&tg->mu);
  return n;
}

static int find(arec_ftg *tg, long long chat, size_t mark, const char *needle,
                char *out, size_t len) {
  int count = 0;
  for (size_t i = mark; i < tg->nsent; i++) {
    if (tg->sent[i].chat_id != chat) continue;
    if (needle && !strstr(tg->sent[i].text, needle)) continue;
    if (!count && out) snprintf(out, len, "%s", tg->sent[i].text);
    count++;
  }
  return count;
}

int arec_ftg_wait(arec_ftg *tg, long long chat_id, size_t mark,
                  const char *needle, int timeout_ms, char *out, size_t len) {
  struct timespec dl;
  deadline_in(&dl, timeout_ms);
  pthread_mutex_lock(&tg->mu);
  int found;
  while (!(found = find(tg, chat_id, mark, needle, out, len)))
    if (pthread_cond_timedwait(&tg->cv, &tg->mu, &dl)) {
      found = find(tg, chat_id, mark, needle, out, len);
      break;
    }
  pthread_mutex_unlock(&tg->mu);
  return found > 0;
}

int arec_ftg_count(arec_ftg *tg, long long chat_id, size_t mark,
                   const char *needle) {
  pthread_mutex_lock(&tg->mu);
  int n = find(tg, chat_id, mark, needle, NULL, 0);
  pthread_mutex_unlock(&tg->mu);
  return n;
}

int arec_ftg_deleted(arec_ftg *tg, long long chat_id, long long message_id) {
  int f = 0;
  pthread_mutex_lock(&tg->mu);
  for (size_t i = 0; i < tg->ndeleted; i++)
    f |= tg->deleted[i][0] == chat_id && tg->deleted[i][1] == message_id;
  pthread_mutex_unlock(&tg->mu);
  return f;
}

void arec_ftg_get_stats(arec_ftg *tg, arec_ftg_stats *out) {
  pthread_mutex_lock(&tg->mu);
  *out = tg->st;
  pthread_mutex_unlock(&tg->mu);
}

static void set_flag(arec_ftg *tg, int *flag, int on) {
  pthread_mutex_lock(&tg->mu);
  *flag = on;
  pthread_cond_broadcast(&tg->cv);
  pthread_mutex_unlock(&tg->mu);
}

void arec_ftg_throttle(arec_ftg *tg, unsigned n, int retry_after_s) {
  pthread_mutex_lock(&tg->mu);
  tg->throttle = n;
  tg->retry_after_s = retry_after_s;
  pthread_mutex_unlock(&tg->mu);
}

void arec_ftg_fail_deletes(arec_ftg *tg, int on) { set_flag(tg, &tg->fail_deletes, on); }
void arec_ftg_hang(arec_ftg *tg, int on) { set_flag(tg, &tg->hang, on); }
void arec_ftg_ignore_offset(arec_ftg *tg, int on) { set_flag(tg, &tg->ignore_offset, on); }

long long arec_ftg_sent_at(arec_ftg *tg, size_t i) {
  pthread_mutex_lock(&tg->mu);
  long long at = i < tg->nsent ? tg->sent[i].at_ms : -1;
  pthread_mutex_unlock(&tg->mu);
  return at;
}

size_t arec_ftg_find(arec_ftg *tg, long long chat_id, size_t mark,
                     const char *needle) {
  size_t at = (size_t)-1;
  pthread_mutex_lock(&tg->mu);
  for (size_t i = mark; i < tg->nsent && at == (size_t)-1; i++)
    if (tg->sent[i].chat_id == chat_id && (!needle || strstr(tg->sent[i].text, needle)))
      at = i;
  pthread_mutex_unlock(&tg->mu);
  return at;
}

void arec_ftg_set_next_id(arec_ftg *tg, long long id) {
  pthread_mutex_lock(&tg->mu);
  tg->next_id = id;
  pthread_mutex_unlock(&tg->mu);
}
