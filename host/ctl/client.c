/*
 * client.c -- agentrecoverctl's HTTP client of agentrecoverd's admin API,
 * over libcurl: one easy handle (so the pages of a list share a kept-alive
 * connection), connect timeout 5 s, total 30 s, http/https only, no
 * redirects followed, answers capped at 64 MiB.
 *
 * How: the base URL is parsed and checked once; each call sets the method,
 * the headers (Accept, and Authorization: Bearer when a token is set) and
 * the body, performs, and turns a transport error or a non-2xx status into
 * one line on stderr with the server's {"error": ...} message.
 *
 * Never: print the token (not in --verbose, not in an error: every message
 * goes through a filter that masks it), accept credentials in the URL,
 * follow a redirect, or read an unbounded answer.
 */
#include "client.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "table.h"
#include "../growbuf.h"

struct ctl_client {
  CURL *curl;
  char *base;    /* normalized URL without a trailing '/' */
  char *token;   /* NULL: no Authorization header */
  struct curl_slist *hdr_get;
  struct curl_slist *hdr_post;
  int verbose;
  char errbuf[CURL_ERROR_SIZE];
};

/* ------------------------------------------------------------- messages */
/* Copies s into out (cap bytes) with every occurrence of the token
 * replaced by "***", and a start of the token that ends s too. */
static void mask_token(const ctl_client *c, const char *s, char *out,
                       size_t cap) {
  size_t tl = c && c->token ? strlen(c->token) : 0, j = 0;
  while (*s && j + 4 < cap) {
    size_t rl = tl ? strnlen(s, tl) : 0;
    if (tl && strncmp(s, c->token, tl) == 0) {
      memcpy(out + j, "***", 3);
      j += 3;
      s += tl;
    } else if (rl < tl && rl >= 4 && strncmp(s, c->token, rl) == 0) {
      memcpy(out + j, "***", 3); /* a token cut off by truncation */
      j += 3;
      break;
    } else {
      out[j++] = *s++;
    }
  }
  out[j] = 0;
}

void ctl_client_error(const ctl_client *c, const char *fmt, ...) {
  char msg[1024], masked[3 * sizeof msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  mask_token(c, msg, masked, sizeof masked);
  char *safe = ctl_sanitize(masked);
  fprintf(stderr, "agentrecoverctl: %s\n", safe ? safe : "(out of memory)");
  free(safe);
}

/* --------------------------------------------------------------- set-up */
/* 0 when the URL is usable; else a message (no URL parts that could hold a
 * secret are echoed). */
static int check_url(const char *url, char **base, const char **why) {
  *base = NULL;
  CURLU *u = curl_url();
  if (!u) {
    *why = "out of memory";
    return -1;
  }
  char *scheme = NULL, *host = NULL, *part = NULL, *full = NULL;
  int rc = -1;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
    *why = "not a URL (expected http://HOST[:PORT][/PREFIX])";
  } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
    *why = "the scheme must be http or https";
  } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
             !*host) {
    *why = "no host";
  } else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
    *why = "credentials in the URL are not accepted (use AGENTRECOVER_TOKEN "
           "or --token-file)";
  } else if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
    *why = "the URL must have no query or fragment";
  } else if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
    *why = "not a URL";
  } else {
    size_t n = strlen(full);
    while (n > 0 && full[n - 1] == '/') full[--n] = 0;
    *base = strdup(full);
    rc = *base ? 0 : -1;
    if (rc) *why = "out of memory";
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(part);
  curl_free(full);
  curl_url_cleanup(u);
  return rc;
}

static struct curl_slist *headers(const char *auth, int post) {
  struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
  if (h && post) {
    struct curl_slist *n =
        curl_slist_append(h, "Content-Type: application/json");
    h = n ? curl_slist_append(n, "Expect:") : NULL;
  }
  if (h && auth) {
    struct curl_slist *n = curl_slist_append(h, auth);
    if (!n) {
      curl_slist_free_all(h);
      return NULL;
    }
    h = n;
  }
  return h;
}

int ctl_client_new(ctl_client **out, const char *url, const char *token,
                   int verbose) {
  *out = NULL;
  ctl_client *c = calloc(1, sizeof *c);
  if (!c) {
    fprintf(stderr, "agentrecoverctl: out of memory\n");
    return CTL_EXIT_FAIL;
  }
  c->verbose = verbose;
  const char *why = NULL;
  if (check_url(url, &c->base, &why) != 0) {
    fprintf(stderr, "agentrecoverctl: server URL: %s\n", why);
    ctl_client_free(c);
    return CTL_EXIT_USAGE;
  }
  char *auth = NULL;
  if (token && *token) {
    c->token = strdup(token);
    size_t n = strlen(token) + sizeof "Authorization: Bearer ";
    auth = malloc(n);
    if (!c->token || !auth) goto oom;
    snprintf(auth, n, "Authorization: Bearer %s", token);
  }
  c->hdr_get = headers(auth, 0);
  c->hdr_post = headers(auth, 1);
  if (auth) {
    memset(auth, 0, strlen(auth));
    free(auth);
    auth = NULL;
  }
  c->curl = curl_easy_init();
  if (!c->hdr_get || !c->hdr_post || !c->curl) goto oom;
  *out = c;
  return 0;
oom:
  free(auth);
  ctl_client_free(c);
  fprintf(stderr, "agentrecoverctl: out of memory\n");
  return CTL_EXIT_FAIL;
}

static void wipe_headers(struct curl_slist *h) {
  for (struct curl_slist *p = h; p; p = p->next)
    if (p->data) memset(p->data, 0, strlen(p->data));
  curl_slist_free_all(h);
}

void ctl_client_free(ctl_client *c) {
  if (!c) return;
  if (c->curl) curl_easy_cleanup(c->curl);
  wipe_headers(c->hdr_get);
  wipe_headers(c->hdr_post);
  if (c->token) {
    memset(c->token, 0, strlen(c->token));
    free(c->token);
  }
  free(c->base);
  free(c);
}

char *ctl_client_escape(ctl_client *c, const char *s) {
  char *e = curl_easy_escape(c->curl, s, 0);
  char *copy = e ? strdup(e) : NULL;
  curl_free(e);
  return copy;
}

/* ----------------------------------------------------------------- calls */
static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server's {"error": "..."} message, or the start of a non-JSON body. */
static void error_message(const char *body, size_t len, char *msg,
                          size_t cap) {
  msg[0] = 0;
  if (!body || !len) return;
  cJSON *j = cJSON_ParseWithLength(body, len);
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
  if (cJSON_IsString(e))
    snprintf(msg, cap, "%s", e->valuestring);
  else
    snprintf(msg, cap, "%.200s", body);
  cJSON_Delete(j);
}

int ctl_client_call(ctl_client *c, const char *method, const char *path,
                    const char *body, ctl_reply *reply) {
  memset(reply, 0, sizeof *reply);
  int post = strcmp(method, "POST") == 0;
  size_t ul = strlen(c->base) + strlen(path) + 1;
  char *url = malloc(ul);
  if (!url) {
    ctl_client_error(c, "out of memory");
    return CTL_EXIT_FAIL;
  }
  snprintf(url, ul, "%s%s", c->base, path);
  arec_growbuf s = {.max = CTL_MAX_BODY};
  CURL *h = c->curl;
  c->errbuf[0] = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS,
                   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CTL_CONNECT_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, CTL_TOTAL_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, arec_growbuf_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "agentrecoverctl/" AREC_CTL_VERSION);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, post ? c->hdr_post : c->hdr_get);
  if (post) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
  if (c->verbose)
    fprintf(stderr, "> %s %s%s\n", method, url,
            c->token ? " (bearer token set)" : "");
  long long t0 = now_ms();
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (c->verbose && rc == CURLE_OK)
    fprintf(stderr, "< %ld (%zu bytes, %lld ms)\n", status, s.len,
            now_ms() - t0);
  int ret = CTL_EXIT_FAIL;
  if (rc != CURLE_OK) {
    if (s.too_large)
      ctl_client_error(c, "%s %s: the answer is over %u MiB", method, url,
                       CTL_MAX_BODY / (1024u * 1024u));
    else
      ctl_client_error(c, "%s %s: %s", method, url,
                       c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
  } else if (status < 200 || status > 299) {
    char msg[600];
    error_message(s.p, s.len, msg, sizeof msg);
    ctl_client_error(c, "%s %s: HTTP %ld%s%s", method, path, status,
                     msg[0] ? ": " : "", msg);
  } else {
    reply->status = status;
    reply->body = s.p ? s.p : strdup("");
    reply->len = s.len;
    s.p = NULL;
    ret = reply->body ? 0 : CTL_EXIT_FAIL;
    if (ret) ctl_client_error(c, "out of memory");
  }
  free(s.p);
  free(url);
  return ret;
}

void ctl_reply_free(ctl_reply *r) {
  if (!r) return;
  free(r->body);
  memset(r, 0, sizeof *r);
}
