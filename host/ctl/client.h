/*
 * client.h -- agentrecoverctl's HTTP client of the admin API (libcurl):
 * one connection reused for every request of a command, the bearer token
 * in a header only, bounded time and size.
 */
#ifndef AREC_CTL_CLIENT_H
#define AREC_CTL_CLIENT_H

#include <stddef.h>

/* Exit statuses of agentrecoverctl. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2

#define CTL_CONNECT_TIMEOUT_MS 5000L
#define CTL_TOTAL_TIMEOUT_MS 30000L
/* Largest answer read (a list of 1000 agents is far below it). */
#define CTL_MAX_BODY (64u * 1024u * 1024u)

typedef struct ctl_client ctl_client;

typedef struct ctl_reply {
  long status;
  char *body; /* NUL-terminated, malloc'd */
  size_t len;
} ctl_reply;

/* Checks `url` (http or https, a host, no credentials, query or fragment;
 * a path prefix is kept) and prepares the client; `token` may be NULL (no
 * Authorization header).  0, or CTL_EXIT_USAGE / CTL_EXIT_FAIL after a
 * message on stderr that names neither the token nor credentials. */
int ctl_client_new(ctl_client **out, const char *url, const char *token,
                   int verbose);
/* Wipes the token from memory and frees. NULL is a no-op. */
void ctl_client_free(ctl_client *c);

/* METHOD base + path ("/api/...", every segment already escaped), with a
 * JSON body for POST (NULL: empty).  0 with *reply filled for a 2xx answer;
 * otherwise CTL_EXIT_FAIL after printing to stderr what failed: the
 * transport error, or the status and the server's {"error": ...}. */
int ctl_client_call(ctl_client *c, const char *method, const char *path,
                    const char *body, ctl_reply *reply);
void ctl_reply_free(ctl_reply *r);

/* A path segment or query value percent-escaped (malloc'd), NULL out of
 * memory. */
char *ctl_client_escape(ctl_client *c, const char *s);

/* Prints "agentrecoverctl: <msg>" on stderr with the token (when set)
 * replaced by "***" and control characters by '?'. */
void ctl_client_error(const ctl_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
