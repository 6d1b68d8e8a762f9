/*
 * http_req.h -- inside the HTTP transport: a request's own copy of what
 * libmicrohttpd parsed (method, path, peer, headers, query), so a worker
 * can read it while the connection is suspended or already gone; and the
 * response queued back.
 */
#ifndef AREC_HOST_HTTP_REQ_H
#define AREC_HOST_HTTP_REQ_H

#include <microhttpd.h>

#include "http.h"

/* Fills *req from the connection (body fields left alone) with every
 * string in one block, *arena (free() it).  0, or -1 out of memory. */
int arec_http_req_copy(struct MHD_Connection *c, const char *method,
                       const char *url, arec_http_request *req,
                       void **arena);

/* Queues r on the connection (Content-Type, Cache-Control: no-store, the
 * extra headers); takes r->body. */
enum MHD_Result arec_http_send(struct MHD_Connection *c,
                               arec_http_response *r);

#endif
