/*
 * botstate.c -- the host's small key-value store (host_kv) for state that
 * belongs to a singleton role, such as the Telegram bot's update offset:
 * read freely, written only by the role's current holder.
 *
 * How: the write is one INSERT ... SELECT from the role's row of the
 * library's singleton_roles table where (name, holder, fence) match and
 * lease_until is after clock_timestamp(), taking a share lock on that row
 * (FOR SHARE): a concurrent claim either committed before -- the row is
 * re-read, no longer matches, nothing is written -- or waits until this
 * write commits.  ON CONFLICT updates the existing key.
 * Must never: write for a holder that is not current, build SQL from
 * data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int arec_host_store_kv_get(arec_host_store *s, const char *key, char **out) {
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!s || !key || !*key)
    return AREC_EINVAL;
  const char *p[1] = {key};
  arec_pg_result *r = NULL;
  int err = arec__hs_query_row(
      s, NULL, &r, "SELECT value FROM host_kv WHERE key = $1", 1, p);
  if (err == AREC_ENOTFOUND)
    arec_error_set("host_kv: %s not set", key);
  if (err)
    return err;
  int oom = 0;
  *out = arec__hs_dup(r, 0, 0, &oom);
  arec_pg_result_free(r);
  return oom ? AREC_ENOMEM : 0;
}

int arec_host_store_kv_set_fenced(arec_host_store *s, const char *key,
                                  const char *value,
                                  const arec_role_lease *lease) {
  if (!s || !key || !*key || !value || !lease || !lease->name[0] ||
      !lease->holder[0])
    return AREC_EINVAL;
  char fence[24];
  snprintf(fence, sizeof fence, "%llu", (unsigned long long)lease->fence);
  const char *p[5] = {key, value, lease->name, lease->holder, fence};
  int err = arec__hs_query_row(
      s, NULL, NULL,
      "INSERT INTO host_kv (key, value, updated_at) "
      "SELECT $1, $2, clock_timestamp() FROM singleton_roles r "
      "WHERE r.name = $3 AND r.holder = $4 AND r.fence = $5::bigint "
      "  AND r.lease_until > clock_timestamp() "
      "FOR SHARE OF r "
      "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
      "  updated_at = EXCLUDED.updated_at "
      "RETURNING 1",
      5, p);
  if (err == AREC_ENOTFOUND) {
    arec_error_set("role %s: fence %llu is not the current holder's: %s not "
                   "written",
                   lease->name, (unsigned long long)lease->fence, key);
    return AREC_EFENCED;
  }
  return err;
}
