/*
 * http_req.c -- the HTTP transport's request copy and its lookups: method,
 * path, the client's address, every header and query argument copied out
 * of libmicrohttpd's per-connection memory into one malloc'd block.
 *
 * How: two passes over the connection's values (collect pointers, then copy
 * into a block sized for them); lookups are linear scans (a request has a
 * handful of each).  Also the way back (an arec_http_response queued on
 * the connection) and the open-file limit helper of the server.
 *
 * Never: keep a pointer into libmicrohttpd's memory in the copy (a worker
 * reads it while the I/O thread may already have closed the connection).
 */
#include "http_req.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

typedef struct kv_vec {
  arec_http_kv *v;
  size_t n, cap;
  size_t bytes; /* string bytes, NULs included */
  int oom;
} kv_vec;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *value) {
  (void)kind;
  kv_vec *vec = cls;
  if (!key) return MHD_YES;
  if (vec->n == vec->cap) {
    size_t cap = vec->cap ? vec->cap * 2 : 16;
    arec_http_kv *v = realloc(vec->v, cap * sizeof *v);
    if (!v) {
      vec->oom = 1;
      return MHD_NO;
    }
    vec->v = v;
    vec->cap = cap;
  }
  vec->v[vec->n].name = key;
  vec->v[vec->n].value = value;
  vec->n++;
  vec->bytes += strlen(key) + 1 + (value ? strlen(value) + 1 : 0);
  return MHD_YES;
}

static void peer_string(struct MHD_Connection *c, char *buf, size_t len) {
  buf[0] = 0;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr) return;
  const struct sockaddr *sa = ci->client_addr;
  const void *v = sa;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)v)->sin_addr, buf,
              (socklen_t)len);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)v)->sin6_addr, buf,
              (socklen_t)len);
}

/* Copies s into the block at *p, returns the copy. */
static const char *put(char **p, const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  memcpy(*p, s, n);
  const char *r = *p;
  *p += n;
  return r;
}

static void put_all(char **p, arec_http_kv *dst, const kv_vec *src) {
  for (size_t i = 0; i < src->n; i++) {
    dst[i].name = put(p, src->v[i].name);
    dst[i].value = put(p, src->v[i].value);
  }
}

int arec_http_req_copy(struct MHD_Connection *c, const char *method,
                       const char *url, arec_http_request *req,
                       void **arena) {
  *arena = NULL;
  kv_vec h = {0}, q = {0};
  MHD_get_connection_values(c, MHD_HEADER_KIND, collect, &h);
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &q);
  char peer[INET6_ADDRSTRLEN];
  peer_string(c, peer, sizeof peer);
  size_t nkv = h.n + q.n;
  size_t size = nkv * sizeof(arec_http_kv) + h.bytes + q.bytes +
                strlen(method) + strlen(url) + strlen(peer) + 3;
  char *block = (h.oom || q.oom) ? NULL : malloc(size);
  if (!block) {
    free(h.v);
    free(q.v);
    return -1;
  }
  arec_http_kv *kv = (arec_http_kv *)(void *)block;
  char *p = block + nkv * sizeof(arec_http_kv);
  req->method = put(&p, method);
  req->path = put(&p, url);
  req->peer = put(&p, peer);
  put_all(&p, kv, &h);
  put_all(&p, kv + h.n, &q);
  req->headers = kv;
  req->nheaders = h.n;
  req->query = kv + h.n;
  req->nquery = q.n;
  free(h.v);
  free(q.v);
  *arena = block;
  return 0;
}

const char *arec_http_header(const arec_http_request *req, const char *name) {
  for (size_t i = 0; i < req->nheaders; i++)
    if (strcasecmp(req->headers[i].name, name) == 0)
      return req->headers[i].value;
  return NULL;
}

const char *arec_http_query(const arec_http_request *req, const char *name) {
  for (size_t i = 0; i < req->nquery; i++)
    if (strcmp(req->query[i].name, name) == 0) return req->query[i].value;
  return NULL;
}

enum MHD_Result arec_http_send(struct MHD_Connection *c,
                               arec_http_response *r) {
  struct MHD_Response *m;
  if (r->body) {
    m = MHD_create_response_from_buffer(strlen(r->body), r->body,
                                        MHD_RESPMEM_MUST_FREE);
    if (m) r->body = NULL; /* libmicrohttpd frees it now */
  } else {
    m = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  }
  free(r->body);
  r->body = NULL;
  if (!m) return MHD_NO;
  MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE,
                          r->content_type ? r->content_type
                                          : "application/json");
  MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  for (size_t i = 0; i < AREC_HTTP_MAX_EXTRA_HEADERS; i++)
    if (r->extra[i].name && r->extra[i].value)
      MHD_add_response_header(m, r->extra[i].name, r->extra[i].value);
  enum MHD_Result ret =
      MHD_queue_response(c, (unsigned int)(r->status ? r->status : 500), m);
  MHD_destroy_response(m);
  return ret;
}

long arec_http_raise_nofile_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit want = {rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl.rlim_cur = rl.rlim_max;
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX)
    return LONG_MAX;
  return (long)rl.rlim_cur;
}
