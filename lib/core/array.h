/*
 * array.h -- room for one more element in a growable array (array.c), for
 * the library's arrays that grow by doubling.  Not installed.
 */
#ifndef AREC_CORE_ARRAY_H
#define AREC_CORE_ARRAY_H

#include <stddef.h>

/* arrp is the address of the array's pointer (e.g. &mgr->dirty), *cap its
 * capacity in elements of `size` bytes, n the elements in use.  When n has
 * reached *cap, reallocates the array to twice *cap (`first` when *cap is
 * 0) and updates both.  0, or AREC_ENOMEM with the array and *cap left as
 * they were. */
int arec__array_room(void *arrp, size_t *cap, size_t n, size_t size,
                     size_t first);

#endif
