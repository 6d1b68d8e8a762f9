/*
 * array.c -- growing an array by doubling (see array.h).  The array's
 * pointer is read and written through memcpy, so one function serves
 * arrays of any element type.
 *
 * Never loses the array: a failed reallocation leaves it and its capacity
 * as they were.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agentrecover.h"
#include "core/array.h"

int arec__array_room(void *arrp, size_t *cap, size_t n, size_t size,
                     size_t first) {
  void *p;
  size_t ncap = *cap ? *cap * 2 : first;
  if (n < *cap)
    return 0;
  if (ncap > SIZE_MAX / size)
    return AREC_ENOMEM;
  memcpy(&p, arrp, sizeof p);
  if (!(p = realloc(p, ncap * size)))
    return AREC_ENOMEM;
  memcpy(arrp, &p, sizeof p);
  *cap = ncap;
  return 0;
}
