/*
 * role.c -- singleton roles: arec_role_claim/keep/release/fenced and
 * arec_role_validity_ms over the repository's role slots.
 *
 * A role is a fenced lease kept in the repository on its clock.  Locally a
 * lease is valid until deadline = t_send + ttl - drift on the monotonic
 * clock, where t_send is taken just before the request goes out (whatever
 * the call then takes is already inside the lease) and drift = ttl/100 +
 * 2 ms covers the clocks' different rates.  A holder whose local validity
 * ran out stops the role's work: keep then answers AREC_ELOST without
 * asking the repository, so an expired lease is never brought back to
 * life (another pod may hold the role by then).
 *
 * Must never: extend a deadline past t_send + ttl - drift, or let keep
 * succeed for a lease whose validity already ended.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int64_t drift(int64_t ttl_ms) { return ttl_ms / 100 + 2; }

static int name_ok(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n >= AREC_ROLE_NAME_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
          c == '-'))
      return 0;
  }
  return 1;
}

static int holder_ok(const char *holder) {
  return holder && *holder && strlen(holder) < AREC_ROLE_HOLDER_MAX &&
         arec__text_ok(holder);
}

static int bad(const char *why) {
  arec_error_set("role: %s", why);
  return AREC_EINVAL;
}

static int check(const arec_repository *repo, const char *name,
                 const char *holder, int has) {
  if (!name_ok(name))
    return bad("name must be [A-Za-z0-9_.:-]{1,63}");
  if (!holder_ok(holder))
    return bad("holder must be 1..159 bytes without control characters");
  if (!repo)
    return bad("repository is NULL");
  if (repo->version < 3 || !has) {
    arec_error_set("role: the repository (version %u) has no roles",
                   repo->version);
    return AREC_EINVAL;
  }
  return 0;
}

/* The repository has the version 3 slot `slot`. */
#define HAS(repo, slot) ((repo) && AREC__V3((repo), slot) != NULL)

/* check() of a lease's name and holder. */
static int check_lease(const arec_repository *repo,
                       const arec_role_lease *lease, int has) {
  if (!lease)
    return bad("lease is NULL");
  return check(repo, lease->name, lease->holder, has);
}

int arec_role_claim(arec_repository *repo, const char *name,
                    const char *holder, int64_t ttl_ms,
                    arec_role_lease *out) {
  if (!out)
    return bad("out is NULL");
  memset(out, 0, sizeof *out);
  int rc = check(repo, name, holder, HAS(repo, role_claim));
  if (rc < 0)
    return rc;
  if (ttl_ms <= drift(ttl_ms))
    return bad("ttl_ms too short");
  uint64_t fence = 0;
  int64_t sent = arec__now_ms();
  rc = repo->role_claim(repo, name, holder, ttl_ms, &fence);
  if (rc != 1)
    return rc;
  snprintf(out->name, sizeof out->name, "%s", name);
  snprintf(out->holder, sizeof out->holder, "%s", holder);
  out->fence = fence;
  out->deadline_ms = sent + ttl_ms - drift(ttl_ms);
  return 1;
}

int arec_role_keep(arec_repository *repo, arec_role_lease *lease,
                   int64_t ttl_ms) {
  int rc = check_lease(repo, lease, HAS(repo, role_keep));
  if (rc < 0)
    return rc;
  if (ttl_ms <= drift(ttl_ms))
    return bad("ttl_ms too short");
  if (arec_role_validity_ms(lease) <= 0) {
    arec_error_set("role %s: the lease ran out before it was kept",
                   lease->name);
    return AREC_ELOST;
  }
  int64_t sent = arec__now_ms();
  rc = repo->role_keep(repo, lease->name, lease->holder, lease->fence,
                       ttl_ms);
  if (rc == 0)
    lease->deadline_ms = sent + ttl_ms - drift(ttl_ms);
  else if (rc == AREC_ELOST)
    lease->deadline_ms = 0;
  return rc;
}

int arec_role_release(arec_repository *repo, arec_role_lease *lease) {
  int rc = check_lease(repo, lease, HAS(repo, role_release));
  if (rc < 0)
    return rc;
  rc = repo->role_release(repo, lease->name, lease->holder, lease->fence);
  if (rc == 0 || rc == AREC_ELOST)
    lease->deadline_ms = 0;
  return rc;
}

int arec_role_fenced(arec_repository *repo, const arec_role_lease *lease) {
  int rc = check_lease(repo, lease, HAS(repo, role_check));
  if (rc < 0)
    return rc;
  return repo->role_check(repo, lease->name, lease->holder, lease->fence);
}

int64_t arec_role_validity_ms(const arec_role_lease *lease) {
  if (!lease || lease->deadline_ms <= 0)
    return 0;
  return lease->deadline_ms - arec__now_ms();
}
