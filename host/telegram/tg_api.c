/*
 * tg_api.c -- the Telegram Bot API client (see tg_api.h).
 *
 * How: one CURL easy handle per call, driven by a multi handle so the call
 * can be cut at its deadline or at the owner's abort time with a 50 ms
 * granularity; POST with Content-Type application/json; the answer parsed
 * with cJSON by arec_tg_answer_parse (which never trusts the bytes: a
 * getUpdates answer is what the fuzz target feeds it).  A 429's
 * parameters.retry_after is range-checked and clamped before it is handed
 * back.
 * Never: log or return in an error the URL or the token; follow
 * redirects; wait past a deadline.
 */
#include "telegram/tg_api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "growbuf.h"

#define MAX_ANSWER (4 * 1024 * 1024)
#define TICK_MS 50

struct arec_tg_api {
  char *base;
  char *token;
  int64_t connect_timeout_ms;
  _Atomic int64_t *abort_at;
};

int64_t arec_tg_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int arec_tg_join_by(pthread_t th, int64_t deadline_ms) {
  int64_t left = deadline_ms - arec_tg_now_ms();
  if (left < 0) left = 0;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += left / 1000;
  ts.tv_nsec += (left % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  return pthread_timedjoin_np(th, NULL, &ts) == 0;
}

int arec_tg_api_new(arec_tg_api **out, const char *base, const char *token,
                    int64_t connect_timeout_ms, _Atomic int64_t *abort_at) {
  if (!out) return AREC_EINVAL;
  *out = NULL;
  if (!token || !*token || strchr(token, '/') || strchr(token, '?') ||
      strchr(token, '#')) {
    arec_error_set("telegram: bad bot token");
    return AREC_EINVAL;
  }
  if (!base || !*base) base = AREC_TG_DEFAULT_BASE;
  if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) {
    arec_error_set("TELEGRAM_API_BASE: expected an http:// or https:// URL");
    return AREC_EINVAL;
  }
  arec_tg_api *a = calloc(1, sizeof *a);
  if (!a) return AREC_ENOMEM;
  a->base = strdup(base);
  a->token = strdup(token);
  if (!a->base || !a->token) {
    arec_tg_api_free(a);
    return AREC_ENOMEM;
  }
  size_t bl = strlen(a->base);
  while (bl && a->base[bl - 1] == '/') a->base[--bl] = 0;
  a->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 5000;
  a->abort_at = abort_at;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  *out = a;
  return 0;
}

static void wipe_free(char *s) {
  if (!s) return;
  volatile char *p = s;
  while (*p) *p++ = 0;
  free(s);
}

void arec_tg_api_free(arec_tg_api *api) {
  if (!api) return;
  free(api->base);
  wipe_free(api->token);
  free(api);
}

/* --------------------------------------------------------------- answer */
int arec_tg_answer_parse(const char *body, size_t len, long http_status,
                         arec_tg_answer *out) {
  memset(out, 0, sizeof *out);
  out->error_code = http_status;
  cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
  const cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
  if (!cJSON_IsObject(j) || !cJSON_IsBool(ok)) {
    cJSON_Delete(j);
    return AREC_EUNAVAILABLE;
  }
  out->ok = cJSON_IsTrue(ok);
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "error_code");
  if (cJSON_IsNumber(code) && isfinite(code->valuedouble) &&
      code->valuedouble >= 100 && code->valuedouble <= 599)
    out->error_code = (long)code->valuedouble;
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "description");
  if (cJSON_IsString(d) && d->valuestring)
    snprintf(out->description, sizeof out->description, "%s", d->valuestring);
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "parameters");
  const cJSON *ra = cJSON_GetObjectItemCaseSensitive(p, "retry_after");
  if (cJSON_IsNumber(ra) && isfinite(ra->valuedouble) && ra->valuedouble > 0) {
    double ms = ra->valuedouble * 1000.0;
    if (ms > AREC_TG_RETRY_AFTER_MAX_MS) ms = AREC_TG_RETRY_AFTER_MAX_MS;
    if (ms < 1) ms = 1;
    out->retry_after_ms = (int64_t)ms;
  }
  if (out->ok) out->result = cJSON_DetachItemFromObjectCaseSensitive(j, "result");
  cJSON_Delete(j);
  return 0;
}

/* ----------------------------------------------------------------- call */

static int aborted(const arec_tg_api *api, int64_t now) {
  int64_t at = api->abort_at ? atomic_load(api->abort_at) : 0;
  return at > 0 && now >= at;
}

/* Runs the transfer until done, the deadline or the abort time.  0 done
 * (*cr its result), AREC_ETIMEDOUT, AREC_ESHUTDOWN, AREC_ENOMEM. */
static int perform(const arec_tg_api *api, CURL *c, int64_t deadline,
                   CURLcode *cr) {
  CURLM *m = curl_multi_init();
  if (!m) return AREC_ENOMEM;
  if (curl_multi_add_handle(m, c) != CURLM_OK) {
    curl_multi_cleanup(m);
    return AREC_ENOMEM;
  }
  int running = 1, rc = 0;
  *cr = CURLE_OK;
  for (;;) {
    if (curl_multi_perform(m, &running) != CURLM_OK) {
      *cr = CURLE_FAILED_INIT;
      break;
    }
    if (!running) break;
    int64_t now = arec_tg_now_ms();
    if (aborted(api, now)) {
      rc = AREC_ESHUTDOWN;
      break;
    }
    if (now >= deadline) {
      rc = AREC_ETIMEDOUT;
      break;
    }
    int64_t wait = deadline - now;
    if (wait > TICK_MS) wait = TICK_MS;
    int64_t at = api->abort_at ? atomic_load(api->abort_at) : 0;
    if (at > 0 && at - now < wait) wait = at - now;
    if (wait < 1) wait = 1;
    curl_multi_poll(m, NULL, 0, (int)wait, NULL);
  }
  if (!rc && !running) {
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left)))
      if (msg->msg == CURLMSG_DONE) *cr = msg->data.result;
  }
  curl_multi_remove_handle(m, c);
  curl_multi_cleanup(m);
  return rc;
}

int arec_tg_call(const arec_tg_api *api, const char *method, const char *body,
                 int64_t deadline_ms, cJSON **out_result,
                 int64_t *out_retry_after_ms) {
  if (out_result) *out_result = NULL;
  if (out_retry_after_ms) *out_retry_after_ms = 0;
  if (!api || !method || !*method) return AREC_EINVAL;
  int64_t now = arec_tg_now_ms();
  if (aborted(api, now)) {
    arec_error_set("telegram %s: stopping", method);
    return AREC_ESHUTDOWN;
  }
  if (deadline_ms <= now) {
    arec_error_set("telegram %s: no time left", method);
    return AREC_ETIMEDOUT;
  }
  size_t ul = strlen(api->base) + strlen(api->token) + strlen(method) + 8;
  char *url = malloc(ul);
  if (!url) return AREC_ENOMEM;
  snprintf(url, ul, "%s/bot%s/%s", api->base, api->token, method);
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  if (!c || !h) {
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    wipe_free(url);
    return AREC_ENOMEM;
  }
  arec_growbuf b = {.max = MAX_ANSWER};
  int64_t total = deadline_ms - now;
  int64_t conn = api->connect_timeout_ms < total ? api->connect_timeout_ms : total;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "{}");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(conn > 0 ? conn : 1));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)total + TICK_MS);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, arec_growbuf_curl_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  CURLcode cr = CURLE_OK;
  int rc = perform(api, c, deadline_ms, &cr);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  wipe_free(url);
  if (rc == AREC_ETIMEDOUT || (!rc && cr == CURLE_OPERATION_TIMEDOUT)) {
    arec_error_set("telegram %s: timed out", method);
    rc = AREC_ETIMEDOUT;
  } else if (rc == AREC_ESHUTDOWN) {
    arec_error_set("telegram %s: stopping", method);
  } else if (!rc && cr != CURLE_OK) {
    arec_error_set("telegram %s: %s", method,
                   b.too_large ? "answer too large" : curl_easy_strerror(cr));
    rc = AREC_EUNAVAILABLE;
  }
  if (!rc) {
    arec_tg_answer a;
    rc = arec_tg_answer_parse(b.p, b.len, status, &a);
    if (rc == AREC_EUNAVAILABLE) {
      arec_error_set("telegram %s: HTTP %ld, unparsable answer", method, status);
    } else if (!rc && !a.ok) {
      arec_error_set("telegram %s: %ld: %s", method, a.error_code,
                     a.description[0] ? a.description : "refused");
      if (a.error_code == 429) {
        rc = AREC_EUNAVAILABLE;
        if (out_retry_after_ms)
          *out_retry_after_ms = a.retry_after_ms > 0 ? a.retry_after_ms : 1000;
      } else {
        rc = a.error_code >= 500 ? AREC_EUNAVAILABLE : AREC_EBACKEND;
      }
    } else if (!rc) {
      if (out_result) *out_result = a.result;
      else cJSON_Delete(a.result);
    }
  }
  free(b.p);
  return rc;
}

/* ------------------------------------------------------------- methods */
int arec_tg_get_updates(const arec_tg_api *api, long long offset,
                        int timeout_s, int64_t deadline_ms, cJSON **out) {
  char body[160];
  if (timeout_s < 0) timeout_s = 0;
  snprintf(body, sizeof body,
           "{\"offset\":%lld,\"timeout\":%d,\"allowed_updates\":[\"message\"]}",
           offset, timeout_s);
  return arec_tg_call(api, "getUpdates", body, deadline_ms, out, NULL);
}

int arec_tg_send_message(const arec_tg_api *api, long long chat_id,
                         const char *text, int64_t deadline_ms,
                         int64_t *out_retry_after_ms) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return AREC_ENOMEM;
  cJSON_AddNumberToObject(o, "chat_id", (double)chat_id);
  cJSON_AddStringToObject(o, "text", text ? text : "");
  cJSON_AddBoolToObject(o, "disable_web_page_preview", 1);
  char *body = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!body) return AREC_ENOMEM;
  int rc = arec_tg_call(api, "sendMessage", body, deadline_ms, NULL,
                        out_retry_after_ms);
  free(body);
  return rc;
}

int arec_tg_delete_message(const arec_tg_api *api, long long chat_id,
                           long long message_id, int64_t deadline_ms) {
  char body[96];
  snprintf(body, sizeof body, "{\"chat_id\":%lld,\"message_id\":%lld}",
           chat_id, message_id);
  cJSON *r = NULL;
  int rc = arec_tg_call(api, "deleteMessage", body, deadline_ms, &r, NULL);
  if (!rc && !cJSON_IsTrue(r)) {
    arec_error_set("telegram deleteMessage: answered without deleting");
    rc = AREC_EBACKEND;
  }
  cJSON_Delete(r);
  return rc;
}
