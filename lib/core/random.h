/*
 * random.h -- random bytes from the kernel (getrandom) and their lowercase
 * hex text, for lock values, incarnations, tokens and generated ids
 * (random.c).  Not installed.
 */
#ifndef AREC_CORE_RANDOM_H
#define AREC_CORE_RANDOM_H

#include <stddef.h>

/* Fills buf with up to n random bytes, retrying interrupted calls; returns
 * how many it got (fewer than n only when the kernel's source failed). */
size_t arec__random_bytes(void *buf, size_t n);
/* All n bytes or none: 0, or AREC_EBACKEND with the error
 * "<who>: getrandom failed: <reason>" set. */
int arec__random_fill(void *buf, size_t n, const char *who);
/* The 2 * n lowercase hex digits of b[0..n) into out, NUL-terminated. */
void arec__hex(char *out, const unsigned char *b, size_t n);

#endif
