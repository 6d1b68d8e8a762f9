/*
 * page.c -- serves the fleet page (page.h): the document compiled in from
 * host/ui/index.html by host/ui/embed.awk, with its security headers.
 *
 * How: the Content-Security-Policy is computed once (pthread_once) from
 * the document itself: the SHA-256 of every inline <script> and <style>
 * element's text, base64, so the browser runs that script and applies that
 * style and nothing else -- no other script, style, font, image (but
 * data:), frame or form target, and fetches only to the page's own origin.
 * The transport adds Cache-Control: no-store to every answer.
 *
 * Never: put data, a token or a secret into the document (it is served to
 * anyone who can reach the port); reference anything outside the page.
 */
#include "ui/page.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTML_TYPE "text/html; charset=utf-8"
#define MAX_HASHES 4

static pthread_once_t csp_once = PTHREAD_ONCE_INIT;
static char csp[1024];

/* Appends " 'sha256-<base64>'" for each element <tag>...</tag> of the
 * document to buf (of size len); -1 when one is unterminated or too many. */
static int hashes(const char *tag, char *buf, size_t len) {
  char open[16], close[16];
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *p = arec__host_ui_html;
  size_t used = strlen(buf);
  for (int n = 0; (p = strstr(p, open)) != NULL; n++) {
    p += strlen(open);
    const char *e = strstr(p, close);
    if (!e || n == MAX_HASHES) return -1;
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(p, (size_t)(e - p), md, &mdlen, EVP_sha256(), NULL) ||
        mdlen != sizeof md)
      return -1;
    unsigned char b64[64];
    EVP_EncodeBlock(b64, md, (int)sizeof md);
    int w = snprintf(buf + used, len - used, " 'sha256-%s'", b64);
    if (w < 0 || (size_t)w >= len - used) return -1;
    used += (size_t)w;
    p = e + strlen(close);
  }
  return 0;
}

static void build_csp(void) {
  char script[400] = "", style[400] = "";
  if (hashes("script", script, sizeof script) != 0 || !script[0] ||
      hashes("style", style, sizeof style) != 0 || !style[0])
    return; /* csp stays "": 500 */
  snprintf(csp, sizeof csp,
           "default-src 'none'; script-src%s; style-src%s; "
           "connect-src 'self'; img-src data:; base-uri 'none'; "
           "form-action 'none'; frame-ancestors 'none'",
           script, style);
}

const char *arec_host_ui_csp(void) {
  pthread_once(&csp_once, build_csp);
  return csp;
}

int arec_host_ui_path(const char *path) {
  return path && (!strcmp(path, "/ui") || !strcmp(path, "/ui/"));
}

void arec_host_ui_serve(const char *method, arec_host_response *out) {
  memset(out, 0, sizeof *out);
  if (!method || (strcmp(method, "GET") && strcmp(method, "HEAD"))) {
    arec_host_api_error(out, 405, "method not allowed: use GET", NULL, NULL);
    out->extra[0].name = "Allow";
    out->extra[0].value = "GET";
    return;
  }
  const char *policy = arec_host_ui_csp();
  char *body = malloc(arec__host_ui_html_len + 1);
  if (!policy[0] || !body) {
    free(body);
    out->status = 500;
    out->content_type = "text/plain; charset=utf-8";
    out->body = strdup("the fleet page is unavailable\n");
    return;
  }
  memcpy(body, arec__host_ui_html, arec__host_ui_html_len + 1);
  out->status = 200;
  out->content_type = HTML_TYPE;
  out->body = body;
  out->extra[0].name = "Content-Security-Policy";
  out->extra[0].value = policy;
  out->extra[1].name = "X-Content-Type-Options";
  out->extra[1].value = "nosniff";
  out->extra[2].name = "Referrer-Policy";
  out->extra[2].value = "no-referrer";
  out->extra[3].name = "X-Frame-Options";
  out->extra[3].value = "DENY";
}
