/*
 * tg_api.c -- the Telegram Bot API client (see tg_api.h).
 *
 * How: one CURL easy handle per call, POST with Content-Type
 * application/json, connect and total timeouts, an xferinfo callback that
 * aborts when the owner's abort flag is set (so shutdown never waits out a
 * long poll), the answer parsed with cJSON.
 * Never: log or return in an error the URL or the token; follow redirects.
 */
#include "telegram/tg_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define MAX_ANSWER (4 * 1024 * 1024)

struct arec_tg_api {
  char *base;
  char *token;
  int64_t connect_timeout_ms;
  atomic_int *abort_flag;
};

int arec_tg_api_new(arec_tg_api **out, const char *base, const char *token,
                    int64_t connect_timeout_ms, atomic_int *abort_flag) {
  if (!out) return AREC_EINVAL;
  *out = NULL;
  if (!token || !*token || strchr(token, '/') || strchr(token, '?')) {
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
  a->abort_flag = abort_flag;
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

/* ----------------------------------------------------------------- call */
typedef struct buf {
  char *p;
  size_t n;
  int overflow;
} buf;

static size_t on_data(char *d, size_t sz, size_t nm, void *ud) {
  buf *b = ud;
  size_t len = sz * nm;
  if (b->n + len > MAX_ANSWER) {
    b->overflow = 1;
    return 0;
  }
  char *np = realloc(b->p, b->n + len + 1);
  if (!np) return 0;
  memcpy(np + b->n, d, len);
  b->n += len;
  np[b->n] = 0;
  b->p = np;
  return len;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c,
                       curl_off_t d) {
  (void)a, (void)b, (void)c, (void)d;
  atomic_int *flag = ud;
  return flag && atomic_load(flag) ? 1 : 0;
}

int arec_tg_call(const arec_tg_api *api, const char *method, const char *body,
                 int64_t timeout_ms, cJSON **out_result) {
  if (out_result) *out_result = NULL;
  if (!api || !method || !*method) return AREC_EINVAL;
  size_t ul = strlen(api->base) + strlen(api->token) + strlen(method) + 8;
  char *url = malloc(ul);
  if (!url) return AREC_ENOMEM;
  snprintf(url, ul, "%s/bot%s/%s", api->base, api->token, method);
  CURL *c = curl_easy_init();
  if (!c) {
    wipe_free(url);
    return AREC_ENOMEM;
  }
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  buf b = {NULL, 0, 0};
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "{}");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)api->connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 10000));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, api->abort_flag);
  CURLcode cr = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  wipe_free(url);
  int rc = 0;
  if (cr == CURLE_OPERATION_TIMEDOUT) {
    arec_error_set("telegram %s: timed out", method);
    rc = AREC_ETIMEDOUT;
  } else if (cr != CURLE_OK) {
    arec_error_set("telegram %s: %s", method,
                   b.overflow ? "answer too large" : curl_easy_strerror(cr));
    rc = AREC_EUNAVAILABLE;
  }
  cJSON *j = NULL;
  if (!rc) {
    j = b.p ? cJSON_Parse(b.p) : NULL;
    cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
    if (!cJSON_IsBool(ok)) {
      arec_error_set("telegram %s: HTTP %ld, unparsable answer", method, status);
      rc = AREC_EUNAVAILABLE;
    } else if (!cJSON_IsTrue(ok)) {
      cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "description");
      arec_error_set("telegram %s: HTTP %ld: %.200s", method, status,
                     cJSON_IsString(d) ? d->valuestring : "refused");
      rc = status >= 500 || status == 429 ? AREC_EUNAVAILABLE : AREC_EBACKEND;
    } else if (out_result) {
      *out_result = cJSON_DetachItemFromObjectCaseSensitive(j, "result");
    }
  }
  cJSON_Delete(j);
  free(b.p);
  return rc;
}

/* ------------------------------------------------------------- methods */
int arec_tg_get_updates(const arec_tg_api *api, long long offset,
                        int timeout_s, cJSON **out) {
  char body[160];
  if (timeout_s < 0) timeout_s = 0;
  snprintf(body, sizeof body,
           "{\"offset\":%lld,\"timeout\":%d,\"allowed_updates\":[\"message\"]}",
           offset, timeout_s);
  cJSON *r = NULL;
  int rc = arec_tg_call(api, "getUpdates", body,
                        (int64_t)timeout_s * 1000 + 10000, &r);
  if (rc) return rc;
  if (!cJSON_IsArray(r)) {
    cJSON_Delete(r);
    arec_error_set("telegram getUpdates: result is not an array");
    return AREC_EUNAVAILABLE;
  }
  *out = r;
  return 0;
}

int arec_tg_send_message(const arec_tg_api *api, long long chat_id,
                         const char *text) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return AREC_ENOMEM;
  cJSON_AddNumberToObject(o, "chat_id", (double)chat_id);
  cJSON_AddStringToObject(o, "text", text ? text : "");
  cJSON_AddBoolToObject(o, "disable_web_page_preview", 1);
  char *body = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!body) return AREC_ENOMEM;
  int rc = arec_tg_call(api, "sendMessage", body, 10000, NULL);
  free(body);
  return rc;
}

int arec_tg_delete_message(const arec_tg_api *api, long long chat_id,
                           long long message_id) {
  char body[96];
  snprintf(body, sizeof body, "{\"chat_id\":%lld,\"message_id\":%lld}",
           chat_id, message_id);
  return arec_tg_call(api, "deleteMessage", body, 10000, NULL);
}
