/*
 * api.h -- the admin API of agentrecoverd: a table of routes (method,
 * pattern with {id}-style segments, handler) over the service layer
 * (service.h), JSON in and out, independent of the HTTP transport so it is
 * testable without a socket.  Authentication is the router's (router.h):
 * a request reaches the API with its actor already decided.
 */
#ifndef AREC_HOST_API_H
#define AREC_HOST_API_H

#include <stddef.h>

#include "agentrecover.h"
#include "http.h"
#include "service.h"

/* Largest request body accepted (413 above it). */
#define AREC_HOST_BODY_MAX (64 * 1024)

/* One request as the admin API sees it (the router builds it from the
 * transport's arec_http_request). */
typedef struct arec_host_request {
  const char *method;         /* "GET", "POST", ... */
  const char *path;           /* "/api/agents/abc" (no query string) */
  const arec_http_kv *query;  /* query arguments (may be NULL) */
  size_t nquery;
  const char *body;           /* NUL-terminated, may be NULL */
  size_t body_len;
  int body_too_large;         /* the body went over AREC_HOST_BODY_MAX */
} arec_host_request;

/* The transport's response: status, body (malloc'd, freed by the
 * transport), content_type (static string), extra headers (static). */
typedef arec_http_response arec_host_response;

/* What the handlers work on.  Everything is borrowed. */
typedef struct arec_host_api {
  arec_svc *svc;      /* every operation */
  arec_manager *mgr;  /* GET /api/runners only */
  const char *pod;    /* this pod's name */
} arec_host_api;

/* Handles a request under /api/ for `who` (its request_id goes into every
 * error body).  Always fills `out` (status, JSON body): 404 unknown path,
 * 405 known path with another method (Allow lists the methods), 413 body
 * too large, 400 bad input naming the field, else the service's outcome. */
void arec_host_api_handle(const arec_host_api *api, const arec_svc_actor *who,
                          const arec_host_request *req,
                          arec_host_response *out);

/* Fills `out` with {"error": msg, "field"?: field, "request_id"?: rid}
 * (field / rid NULL or "" are left out) and the status. */
void arec_host_api_error(arec_host_response *out, int status, const char *msg,
                         const char *field, const char *request_id);

/* The routes, for documentation and tests: "GET /api/agents/{id}", ...
 * (static strings; NULL past the end). */
size_t arec_host_api_route_count(void);
const char *arec_host_api_route(size_t i);

#endif
