/*
 * hash.h -- FNV-1a over a NUL-terminated string: the one string hash of
 * the library's tables (the runner table, the memory store's maps, the
 * prepared statement cache, the choice of a pod's share).  Not installed.
 * Not collision-resistant: its keys are agent ids and SQL texts that the
 * embedding service and its authenticated operators create, never input
 * from an unauthenticated peer.
 */
#ifndef AREC_CORE_HASH_H
#define AREC_CORE_HASH_H

#include <stdint.h>

static inline uint64_t arec__hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

#endif
