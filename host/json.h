/*
 * json.h -- strict JSON for the admin API: a request body must be exactly
 * one JSON value as RFC 8259 writes it (cJSON alone is lenient: it stops
 * at the end of the first value and accepts "+1", "01" or raw control
 * characters in strings), integers are read exactly and only within
 * +-(2^53 - 1), and integers are written with "%lld", never through a
 * double, so an id comes back exactly as it was stored.
 */
#ifndef AREC_HOST_JSON_H
#define AREC_HOST_JSON_H

#include <cJSON.h>
#include <stddef.h>

/* 2^53 - 1: the largest integer every JSON reader holds exactly. */
#define AREC_JSON_INT_MAX 9007199254740991LL

/* 0 when text[0..len) is exactly one JSON value with only whitespace
 * around it (no NUL byte, valid UTF-8, nesting at most 64 deep); else -1
 * and *why (static text) says what is wrong. */
int arec_json_check(const char *text, size_t len, const char **why);

/* arec_json_check, then cJSON.  NULL with *why set on failure. */
cJSON *arec_json_parse(const char *text, size_t len, const char **why);

/* A body that must be one JSON object whose keys are all different.
 * NULL with *why set ("expected a JSON object", ...) otherwise. */
cJSON *arec_json_parse_object(const char *text, size_t len,
                              const char **why);

/* Field readers.  Each returns 0 (found and valid), 1 (absent or null:
 * the caller decides whether that is allowed) or -1 (present but not of
 * the kind asked).  Strings come back borrowed from the object. */
int arec_json_get_int(const cJSON *obj, const char *key, long long min,
                      long long max, long long *out);
int arec_json_get_string(const cJSON *obj, const char *key, size_t max_len,
                         const char **out);
int arec_json_get_bool(const cJSON *obj, const char *key, int *out);
int arec_json_get_number(const cJSON *obj, const char *key, double *out);

/* A decimal integer in text (a path segment, a query argument): optional
 * '-', digits without a leading zero, within [min, max] (and +-2^53 - 1).
 * 0 or -1. */
int arec_json_parse_int(const char *s, long long min, long long max,
                        long long *out);

/* Adds key: v written exactly ("%lld").  The item, or NULL out of
 * memory. */
cJSON *arec_json_add_int(cJSON *obj, const char *key, long long v);
/* Adds key: s, or key: null when s is NULL. */
cJSON *arec_json_add_string_or_null(cJSON *obj, const char *key,
                                    const char *s);
/* Adds key: <JSON text>, parsed (strict); the text as a string when it is
 * not JSON, null when NULL. */
cJSON *arec_json_add_json_text(cJSON *obj, const char *key,
                               const char *text);
/* Adds key: RFC 3339 UTC text of a wall-clock time in ms since the epoch
 * ("2026-01-02T03:04:05.678Z"), or null when ms <= 0. */
cJSON *arec_json_add_time(cJSON *obj, const char *key, long long ms);

#endif
