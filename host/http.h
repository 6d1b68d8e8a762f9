/*
 * http.h -- agentrecoverd's HTTP transport (libmicrohttpd): collects each
 * request (body up to AREC_HOST_BODY_MAX) and hands it to one handler.
 */
#ifndef AREC_HOST_HTTP_H
#define AREC_HOST_HTTP_H

#include <stddef.h>

#include "api.h"

/* Called from the server's threads, concurrently: must be thread-safe. */
typedef void (*arec_host_handler)(void *ud, const arec_host_request *req,
                                  arec_host_response *out);

typedef struct arec_host_http arec_host_http;

/* Listens on `port` (all IPv4 addresses) with a pool of `threads`.  0, or
 * -1 with a reason in err. */
int arec_host_http_start(arec_host_http **out, int port, unsigned threads,
                         arec_host_handler handler, void *ud, char *err,
                         size_t errlen);
/* Stops listening, waits for the threads.  NULL ok. */
void arec_host_http_stop(arec_host_http *http);

#endif
