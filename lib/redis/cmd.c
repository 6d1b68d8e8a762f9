/*
 * cmd.c -- the commands of one lock operation and what their replies
 * mean.  A single-key call sends one command per key (SET NX PX, or
 * EVALSHA of the one-key scripts); a batched call sends one EVALSHA of a
 * many-key script per chunk of keys (KEYS = the chunk's keys, ARGV = ttl,
 * [pod lease prefix,] the values in KEYS order), answered by an array with
 * one integer per key -- except a plain acquire, which stays SET NX PX per
 * key.  EVAL instead of EVALSHA when asked (the NOSCRIPT fallback).
 * Classifies a reply, or one element of a chunk's array, as yes / no /
 * fail with a short reason.
 *
 * Never guesses: an element that is not one of the integers its script
 * returns, or an array of the wrong length, is a failure of that master,
 * not an answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/internal.h"

/* RESP: "*argc\r\n" then "$len\r\n<arg>\r\n" per argument, into one
 * malloc'ed buffer (free()).  Each length is taken once. */
static char *put_dec(char *p, size_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    *p++ = tmp[--n];
  return p;
}

static int format_argv(char **out, size_t argc, const char *const *argv,
                       size_t *lens) {
  size_t total = 32; /* "*<argc>\r\n" */
  char *buf, *p;
  for (size_t i = 0; i < argc; i++) {
    lens[i] = strlen(argv[i]);
    total += lens[i] + 26; /* "$<len>\r\n" <arg> "\r\n" */
  }
  if (total > (size_t)INT32_MAX || !(buf = malloc(total)))
    return -1;
  p = buf;
  *p++ = '*';
  p = put_dec(p, argc);
  *p++ = '\r';
  *p++ = '\n';
  for (size_t i = 0; i < argc; i++) {
    *p++ = '$';
    p = put_dec(p, lens[i]);
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, argv[i], lens[i]);
    p += lens[i];
    *p++ = '\r';
    *p++ = '\n';
  }
  *out = buf;
  return (int)(p - buf);
}

/* The scripts of an operation: the one-key script sent per key (KEYS[1],
 * ARGV = value [, ttl] [, pod lease prefix]) and the many-key script sent
 * per chunk (NULL: never batched), and whether ARGV carries the ttl and
 * the pod lease prefix.  A plain acquire (SET NX PX) and a ping have none. */
typedef struct {
  const char *one, *one_sha;
  const char *many, *many_sha;
  int with_ttl, with_prefix;
} op_scripts;

static const op_scripts *scripts_of(const arec__rcmd *c) {
  static const op_scripts scripts[] = {
      [AREC__OP_ACQUIRE] = {AREC__LUA_ACQUIRE, AREC__LUA_ACQUIRE_SHA,
                            AREC__LUA_TAKEOVER_MANY,
                            AREC__LUA_TAKEOVER_MANY_SHA, 1, 1},
      [AREC__OP_REFRESH] = {AREC__LUA_REFRESH, AREC__LUA_REFRESH_SHA,
                            AREC__LUA_REFRESH_MANY, AREC__LUA_REFRESH_MANY_SHA,
                            1, 0},
      [AREC__OP_RELEASE] = {AREC__LUA_RELEASE, AREC__LUA_RELEASE_SHA,
                            AREC__LUA_RELEASE_MANY, AREC__LUA_RELEASE_MANY_SHA,
                            0, 0},
      [AREC__OP_PODLEASE] = {AREC__LUA_PODLEASE, AREC__LUA_PODLEASE_SHA, NULL,
                             NULL, 1, 0},
  };
  if (c->kind < 0 || (size_t)c->kind >= sizeof scripts / sizeof scripts[0] ||
      (c->kind == AREC__OP_ACQUIRE && !c->takeover))
    return NULL;
  return scripts[c->kind].one ? &scripts[c->kind] : NULL;
}

/* One key (batch == 0) or one chunk of keys. */
static int format_single(const arec__rcmd *c, uint32_t i, int eval,
                         char **out) {
  const op_scripts *s = scripts_of(c);
  const char *argv[8];
  size_t lens[8], argc = 0;
  if (s) {
    argv[argc++] = eval ? "EVAL" : "EVALSHA";
    argv[argc++] = eval ? s->one : s->one_sha;
    argv[argc++] = "1";
    argv[argc++] = c->keys[i];
    argv[argc++] = c->values[i];
    if (s->with_ttl)
      argv[argc++] = c->ttl;
    if (s->with_prefix)
      argv[argc++] = AREC__PODLEASE_PREFIX;
  } else if (c->kind == AREC__OP_ACQUIRE) {
    argv[argc++] = "SET";
    argv[argc++] = c->keys[i];
    argv[argc++] = c->values[i];
    argv[argc++] = "NX";
    argv[argc++] = "PX";
    argv[argc++] = c->ttl;
  } else {
    argv[argc++] = "PING";
  }
  return format_argv(out, argc, argv, lens);
}

static int format_chunk(const arec__rcmd *c, const uint32_t *items, size_t n,
                        int eval, char **out) {
  const op_scripts *s = scripts_of(c);
  const char **argv;
  size_t *lens;
  char nk[24];
  size_t argc = 0, head;
  int len;
  if (!s || !s->many)
    return -1; /* SET NX PX per key, pings and pod leases: never batched */
  argv = malloc((2 * n + 5) * sizeof *argv);
  lens = malloc((2 * n + 5) * sizeof *lens);
  if (!argv || !lens) {
    free(argv);
    free(lens);
    return -1;
  }
  snprintf(nk, sizeof nk, "%zu", n);
  argv[argc++] = eval ? "EVAL" : "EVALSHA";
  argv[argc++] = eval ? s->many : s->many_sha;
  argv[argc++] = nk;
  for (size_t k = 0; k < n; k++)
    argv[argc++] = c->keys[items[k]];
  if (s->with_ttl)
    argv[argc++] = c->ttl;
  if (s->with_prefix)
    argv[argc++] = AREC__PODLEASE_PREFIX;
  head = argc;
  for (size_t k = 0; k < n; k++)
    argv[head + k] = c->values[items[k]];
  argc += n;
  len = format_argv(out, argc, argv, lens);
  free(argv);
  free(lens);
  return len;
}

int arec__rcmd_format(const arec__rcmd *c, const uint32_t *items, size_t n,
                      int eval, char **out) {
  *out = NULL;
  if (n == 0)
    return -1;
  return c->batch ? format_chunk(c, items, n, eval, out)
                  : format_single(c, items[0], eval, out);
}

const char arec__redis_why_missing[] = "missing";

arec_redis_answer arec__rcmd_classify(const arec__rcmd *c,
                                      const redisReply *r, const char **why) {
  if (r->type == REDIS_REPLY_ERROR) {
    *why = r->str;
    return AREC_REDIS_FAIL;
  }
  if (c->kind == AREC__OP_PING) {
    *why = "PONG";
    return r->type == REDIS_REPLY_STATUS ? AREC_REDIS_YES : AREC_REDIS_FAIL;
  }
  if (c->kind == AREC__OP_ACQUIRE && c->takeover) {
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= 1) {
      *why = r->integer == 2 ? "taken over" : "OK";
      return AREC_REDIS_YES;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
      *why = "held";
      return AREC_REDIS_NO;
    }
  } else if (c->kind == AREC__OP_ACQUIRE) {
    if (r->type == REDIS_REPLY_STATUS) {
      *why = "OK";
      return AREC_REDIS_YES;
    }
    if (r->type == REDIS_REPLY_NIL) {
      *why = "held";
      return AREC_REDIS_NO;
    }
  } else if (r->type == REDIS_REPLY_INTEGER) {
    if (r->integer == 1) {
      *why = c->kind == AREC__OP_RELEASE    ? "deleted"
             : c->kind == AREC__OP_PODLEASE ? "renewed"
                                            : "extended";
      return AREC_REDIS_YES;
    }
    *why = r->integer == 2 && c->kind == AREC__OP_REFRESH
               ? arec__redis_why_missing
               : "not ours";
    return AREC_REDIS_NO;
  }
  *why = "unexpected reply";
  return AREC_REDIS_FAIL;
}

arec_redis_answer arec__rcmd_element(const arec__rcmd *c,
                                     const redisReply *e, const char **why) {
  long long v = e->type == REDIS_REPLY_INTEGER ? e->integer : -1;
  if (v == 0) {
    *why = c->kind == AREC__OP_ACQUIRE ? "held" : "not ours";
    return AREC_REDIS_NO;
  }
  if (v == 1) {
    *why = c->kind == AREC__OP_ACQUIRE   ? "OK"
           : c->kind == AREC__OP_RELEASE ? "deleted"
                                         : "extended";
    return AREC_REDIS_YES;
  }
  if (v == 2 && c->kind == AREC__OP_ACQUIRE) {
    *why = "taken over";
    return AREC_REDIS_YES;
  }
  if (v == 2 && c->kind == AREC__OP_REFRESH) {
    *why = arec__redis_why_missing;
    return AREC_REDIS_NO;
  }
  *why = "unexpected reply";
  return AREC_REDIS_FAIL;
}
