/*
 * api.h -- the admin API of agentrecoverd (issue 5): JSON in and out,
 * independent of the HTTP transport so it is testable without a socket.
 */
#ifndef AREC_HOST_API_H
#define AREC_HOST_API_H

#include <stddef.h>

#include "agentrecover.h"
#include "agentrecover/pg.h"
#include "http.h"

/* Largest request body accepted (413 above it). */
#define AREC_HOST_BODY_MAX (64 * 1024)

/* One request as the admin API sees it (status.c builds it from the
 * transport's arec_http_request). */
typedef struct arec_host_request {
  const char *method;        /* "GET", "POST", ... */
  const char *path;          /* "/api/agents/abc" (no query string) */
  const char *authorization; /* the Authorization header or NULL */
  const char *arg_limit;     /* ?limit= or NULL */
  const char *arg_after;     /* ?after= or NULL */
  const char *body;          /* NUL-terminated, may be NULL */
  size_t body_len;
  int body_too_large;        /* the body went over AREC_HOST_BODY_MAX */
} arec_host_request;

/* The transport's response: status, body (malloc'd, freed by the
 * transport), content_type (static string). */
typedef arec_http_response arec_host_response;

/* What the handlers work on.  Everything is borrowed. */
typedef struct arec_host_api {
  arec_pg *pg;
  arec_manager *mgr;
  const char *pod;
  const char *admin_token; /* NULL or "": no authentication */
  int has_secrets_key;     /* exchange keys can be stored */
} arec_host_api;

/* Handles a request under /api/.  Always fills `out` (status, JSON body). */
void arec_host_api_handle(const arec_host_api *api,
                          const arec_host_request *req,
                          arec_host_response *out);

/* Constant-time check of an "Authorization: Bearer <token>" header. 1 ok. */
int arec_host_api_authorized(const char *token, const char *header);

/* Fills `out` with {"error": msg} and the status. */
void arec_host_api_error(arec_host_response *out, int status,
                         const char *msg);

#endif
