/*
 * lock.c -- the public Redlock object: options, constructor, the
 * arec_lock vtable (single-key and batched acquire / refresh / release),
 * ping, input checks, lock values "<owner>/<32 hex from getrandom()>", the
 * thread-local per-node detail of the last single-key call and its debug
 * log line, and the pod lease (vtable v2): key
 * "agent:podlease:<pod>/<incarnation>" holding this object's random token,
 * renewed by compare-and-PEXPIRE (or SET PX when gone) on every master with
 * quorum and validity like an agent lock, compare-and-deleted on leave.
 * An owner that is itself such a holder ("<pod>/<32 hex>") acquires with
 * the takeover script (a lock whose holder's pod lease is gone on a master
 * is taken over there at once); any other owner keeps SET NX PX.  The
 * protocol work is in ops.c / round.c.
 *
 * Thread safety: one mutex serialises every call (hiredis contexts are not
 * thread-safe; each master has one connection).  Never logs or stores the
 * password anywhere but in the object (wiped on free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "core/random.h"
#include "redis/internal.h"

/* The per-node detail of the last single-key call on this thread. */
static _Thread_local struct {
  const void *lock;
  size_t n;
  arec_redis_node_result r[AREC__REDIS_MAX_NODES];
} tl_detail;

static arec__redis_lock *LK(arec_lock *l) { return (arec__redis_lock *)l; }

/* ------------------------------------------------------------- helpers */
static int key_check(const char *key) {
  size_t len;
  if (!key || !*key)
    return AREC_EINVAL;
  len = strlen(key);
  return len > AREC__REDIS_KEY_MAX ? AREC_EINVAL : 0;
}

static int fill_random_hex(char *out, size_t nvalues, const char *owner,
                           size_t stride) {
  size_t need = nvalues * 16, ol = strlen(owner);
  unsigned char *rnd = malloc(need ? need : 1);
  int rc;
  if (!rnd)
    return AREC_ENOMEM;
  if ((rc = arec__random_fill(rnd, need, "redis")) != 0) {
    free(rnd);
    return rc;
  }
  for (size_t i = 0; i < nvalues; i++) {
    char *v = out + i * stride;
    memcpy(v, owner, ol);
    v[ol] = '/';
    arec__hex(v + ol + 1, rnd + i * 16, 16);
  }
  free(rnd);
  return 0;
}

/* 1 when owner is a pod-lease holder "<pod>/<32 lowercase hex>". */
static int is_holder(const char *owner) {
  size_t n = strlen(owner);
  if (n < 34 || owner[n - 33] != '/')
    return 0;
  for (size_t i = n - 32; i < n; i++)
    if (!((owner[i] >= '0' && owner[i] <= '9') ||
          (owner[i] >= 'a' && owner[i] <= 'f')))
      return 0;
  return 1;
}

static int acquire_kind(const char *owner) {
  return is_holder(owner) ? (AREC__OP_ACQUIRE | AREC__OP_F_TAKEOVER)
                          : AREC__OP_ACQUIRE;
}

static const char *op_name(int kind) {
  switch (kind) {
  case AREC__OP_PODLEASE:
    return "pod_lease";
  case AREC__OP_ACQUIRE:
    return "try_acquire";
  case AREC__OP_REFRESH:
    return "refresh";
  case AREC__OP_RELEASE:
    return "release";
  default:
    return "ping";
  }
}

static const char *result_name(int kind, int rc) {
  if (kind == AREC__OP_ACQUIRE && rc == 1)
    return "acquired";
  if (kind == AREC__OP_ACQUIRE && rc == 0)
    return "held";
  if (kind == AREC__OP_RELEASE && rc == 1)
    return "already-gone";
  return rc == 0 ? "ok" : arec_err_name(rc);
}

/* Records the detail, logs it at debug level and sets the last error. */
static void single_done(arec__redis_lock *L, int kind, const char *key,
                        int rc, int64_t elapsed,
                        const arec_redis_node_result *d) {
  char nodes[AREC__REDIS_MAX_NODES * 120];
  size_t off = 0, yes = 0;
  tl_detail.lock = L;
  tl_detail.n = L->n;
  memcpy(tl_detail.r, d, L->n * sizeof *d);
  nodes[0] = '\0';
  for (size_t j = 0; j < L->n; j++) {
    int k = snprintf(nodes + off, sizeof nodes - off, "%s%s=%s", j ? "," : "",
                     d[j].addr, d[j].why);
    if (k > 0 && (size_t)k < sizeof nodes - off)
      off += (size_t)k;
    if (d[j].answer == AREC_REDIS_YES)
      yes++;
  }
  if (rc < 0)
    arec_error_set("redis %s: %s (%zu of %zu masters said yes, quorum %zu): "
                   "%s",
                   op_name(kind), arec_strerror(rc), yes, L->n, L->quorum,
                   nodes);
  if (L->log) {
    char el[24];
    arec_log_field f[4] = {{"key", key ? key : "", AREC_LOG_STRING},
                           {"result", result_name(kind, rc), AREC_LOG_STRING},
                           {"elapsed_ms", el, AREC_LOG_NUMBER},
                           {"nodes", nodes, AREC_LOG_STRING}};
    snprintf(el, sizeof el, "%lld", (long long)elapsed);
    L->log(L->log_userdata, AREC_LOG_DEBUG, op_name(kind), f, 4);
  }
}

static void batch_done(arec__redis_lock *L, int kind, size_t n,
                       const int *results, int64_t elapsed) {
  size_t good = 0, no = 0, err = 0;
  for (size_t i = 0; i < n; i++) {
    int r = results[i];
    if ((kind == AREC__OP_ACQUIRE && r == 1) ||
        (kind != AREC__OP_ACQUIRE && r == 0))
      good++;
    else if (r >= 0 || r == AREC_ELOST)
      no++;
    else
      err++;
  }
  if (L->log) {
    char a[24], b[24], c[24], d[24], e[24];
    arec_log_field f[5] = {
        {"n", a, AREC_LOG_NUMBER},      {"ok", b, AREC_LOG_NUMBER},
        {"no", c, AREC_LOG_NUMBER},     {"errors", d, AREC_LOG_NUMBER},
        {"elapsed_ms", e, AREC_LOG_NUMBER}};
    snprintf(a, sizeof a, "%zu", n);
    snprintf(b, sizeof b, "%zu", good);
    snprintf(c, sizeof c, "%zu", no);
    snprintf(d, sizeof d, "%zu", err);
    snprintf(e, sizeof e, "%lld", (long long)elapsed);
    char msg[32];
    snprintf(msg, sizeof msg, "%s_many", op_name(kind));
    L->log(L->log_userdata, AREC_LOG_DEBUG, msg, f, 5);
  }
}

/* ------------------------------------------------------------- vtable */
static int r_try_acquire_many(arec_lock *lock, const char *const *keys,
                              size_t n, const char *owner, int64_t ttl_ms,
                              arec_lease *out_leases, int *out_results);

static int r_try_acquire(arec_lock *lock, const char *key, const char *owner,
                         int64_t ttl_ms, arec_lease *out) {
  arec__redis_lock *L = LK(lock);
  arec_redis_node_result d[AREC__REDIS_MAX_NODES];
  const char *keys[1] = {key};
  const char *vals[1];
  int res = 1, rc;
  int64_t val = 0, t0, timeout;
  size_t ol = owner ? strlen(owner) : 0;
  if (!out || key_check(key) || ttl_ms <= 0 || ol == 0 ||
      ol + 34 > AREC_LOCK_VALUE_MAX) {
    arec_error_set("redis try_acquire: %s",
                   !out ? "no lease" : key_check(key) ? "empty or over-long key"
                   : ttl_ms <= 0 ? "ttl must be > 0"
                                 : "empty or over-long owner");
    return AREC_EINVAL;
  }
  if ((rc = fill_random_hex(out->value, 1, owner, sizeof out->value)) != 0)
    return rc;
  vals[0] = out->value;
  pthread_mutex_lock(&L->mu);
  t0 = arec__mono_ms();
  timeout = arec__redis_batch_timeout(L, 1);
  arec__redis_op(L, acquire_kind(owner), keys, vals, 1, ttl_ms,
                 timeout < ttl_ms ? timeout : ttl_ms, &res, &val, d);
  single_done(L, AREC__OP_ACQUIRE, key, res, arec__mono_ms() - t0, d);
  pthread_mutex_unlock(&L->mu);
  if (res == 1)
    out->validity_ms = val;
  else
    out->validity_ms = 0;
  return res;
}

static int lease_check(const char *key, const arec_lease *lease) {
  if (key_check(key) || !lease || !lease->value[0] ||
      memchr(lease->value, '\0', sizeof lease->value) == NULL)
    return AREC_EINVAL;
  return 0;
}

static int r_refresh(arec_lock *lock, const char *key, arec_lease *lease,
                     int64_t ttl_ms) {
  arec__redis_lock *L = LK(lock);
  arec_redis_node_result d[AREC__REDIS_MAX_NODES];
  const char *keys[1] = {key};
  const char *vals[1];
  int res = 1;
  int64_t val = 0, t0;
  if (lease_check(key, lease) || ttl_ms <= 0) {
    arec_error_set("redis refresh: %s", ttl_ms <= 0
                                            ? "ttl must be > 0"
                                            : "empty or over-long key/lease");
    return AREC_EINVAL;
  }
  vals[0] = lease->value;
  pthread_mutex_lock(&L->mu);
  t0 = arec__mono_ms();
  arec__redis_op(L, AREC__OP_REFRESH, keys, vals, 1, ttl_ms,
                 arec__redis_renew_timeout(L, 1, ttl_ms), &res, &val, d);
  single_done(L, AREC__OP_REFRESH, key, res, arec__mono_ms() - t0, d);
  pthread_mutex_unlock(&L->mu);
  if (res == 0)
    lease->validity_ms = val;
  return res;
}

static int r_release(arec_lock *lock, const char *key,
                     const arec_lease *lease) {
  arec__redis_lock *L = LK(lock);
  arec_redis_node_result d[AREC__REDIS_MAX_NODES];
  const char *keys[1] = {key};
  const char *vals[1];
  int res = 1;
  int64_t t0;
  if (lease_check(key, lease)) {
    arec_error_set("redis release: empty or over-long key/lease");
    return AREC_EINVAL;
  }
  vals[0] = lease->value;
  pthread_mutex_lock(&L->mu);
  t0 = arec__mono_ms();
  arec__redis_op(L, AREC__OP_RELEASE, keys, vals, 1, 0,
                 arec__redis_batch_timeout(L, 1), &res, NULL, d);
  single_done(L, AREC__OP_RELEASE, key, res, arec__mono_ms() - t0, d);
  pthread_mutex_unlock(&L->mu);
  return res;
}

/* One batched call of `op` for n keys under the mutex, sending
 * leases[i].value (out_results[i] comes in as 1, or an error for an item
 * not to send), logged by batch_done.  With `update` (the same leases,
 * writable), a lease the call granted (acquired / extended) takes the
 * validity the call measured. */
static int batch_call(arec__redis_lock *L, int op, const char *const *keys,
                      const arec_lease *leases, arec_lease *update, size_t n,
                      int64_t ttl_ms, int64_t timeout, int *out_results) {
  int kind = op & ~AREC__OP_F_TAKEOVER;
  int granted = kind == AREC__OP_ACQUIRE ? 1 : 0;
  const char **vals = malloc(n * sizeof *vals);
  int64_t *val = update ? malloc(n * sizeof *val) : NULL, t0;
  if (!vals || (update && !val)) {
    free(vals);
    free(val);
    return AREC_ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    vals[i] = leases[i].value;
  pthread_mutex_lock(&L->mu);
  t0 = arec__mono_ms();
  arec__redis_op(L, op | AREC__OP_F_BATCH, keys, vals, n, ttl_ms, timeout,
                 out_results, val, NULL);
  batch_done(L, kind, n, out_results, arec__mono_ms() - t0);
  pthread_mutex_unlock(&L->mu);
  for (size_t i = 0; update && i < n; i++)
    if (out_results[i] == granted)
      update[i].validity_ms = val[i];
  free(vals);
  free(val);
  return 0;
}

/* The arguments of a batched refresh / release (`args_ok`: the rest of
 * them); marks each item 1 (to send) or AREC_EINVAL (a bad key or lease). */
static int leases_check(const char *op, const char *const *keys,
                        const arec_lease *leases, size_t n, int args_ok,
                        int *out_results) {
  if (!keys || !leases || !out_results || !args_ok) {
    arec_error_set("redis %s: bad arguments", op);
    return AREC_EINVAL;
  }
  for (size_t i = 0; i < n; i++)
    out_results[i] = lease_check(keys[i], &leases[i]) ? AREC_EINVAL : 1;
  return 0;
}

static int r_refresh_many(arec_lock *lock, const char *const *keys,
                          arec_lease *leases, size_t n, int64_t ttl_ms,
                          int *out_results) {
  arec__redis_lock *L = LK(lock);
  int rc = leases_check("refresh_many", keys, leases, n, ttl_ms > 0,
                        out_results);
  if (rc || n == 0)
    return rc;
  return batch_call(L, AREC__OP_REFRESH, keys, leases, leases, n, ttl_ms,
                    arec__redis_renew_timeout(L, n, ttl_ms), out_results);
}

static int r_try_acquire_many(arec_lock *lock, const char *const *keys,
                              size_t n, const char *owner, int64_t ttl_ms,
                              arec_lease *out_leases, int *out_results) {
  arec__redis_lock *L = LK(lock);
  int64_t timeout;
  size_t ol = owner ? strlen(owner) : 0;
  int rc;
  if (!keys || !out_leases || !out_results || ttl_ms <= 0 || ol == 0 ||
      ol + 34 > AREC_LOCK_VALUE_MAX) {
    arec_error_set("redis try_acquire_many: bad arguments (ttl, owner)");
    return AREC_EINVAL;
  }
  if (n == 0)
    return 0;
  /* Lease values are generated straight into the caller's leases. */
  rc = fill_random_hex(out_leases[0].value, n, owner, sizeof(arec_lease));
  if (rc)
    return rc;
  for (size_t i = 0; i < n; i++) {
    out_results[i] = key_check(keys[i]) ? AREC_EINVAL : 1;
    out_leases[i].validity_ms = 0;
  }
  timeout = arec__redis_batch_timeout(L, n);
  if (timeout > ttl_ms)
    timeout = ttl_ms;
  return batch_call(L, acquire_kind(owner), keys, out_leases, out_leases, n,
                    ttl_ms, timeout, out_results);
}

static int r_release_many(arec_lock *lock, const char *const *keys,
                          const arec_lease *leases, size_t n,
                          int *out_results) {
  arec__redis_lock *L = LK(lock);
  int rc = leases_check("release_many", keys, leases, n, 1, out_results);
  if (rc || n == 0)
    return rc;
  return batch_call(L, AREC__OP_RELEASE, keys, leases, NULL, n, 0,
                    arec__redis_batch_timeout(L, n), out_results);
}

/* Takes or renews the pod lease of `holder` (leaving: deletes it). */
static int r_pod_lease(arec_lock *lock, const char *holder, int64_t ttl_ms,
                       int leaving, int64_t *out_validity_ms) {
  arec__redis_lock *L = LK(lock);
  arec_redis_node_result d[AREC__REDIS_MAX_NODES];
  char key[AREC_LOCK_VALUE_MAX + sizeof AREC__PODLEASE_PREFIX];
  const char *keys[1] = {key};
  const char *vals[1];
  int res = 1, kind = leaving ? AREC__OP_RELEASE : AREC__OP_PODLEASE;
  int64_t val = 0, t0, timeout = arec__redis_batch_timeout(L, 1);
  if (!holder || !*holder || strlen(holder) >= AREC_LOCK_VALUE_MAX - 34 ||
      (!leaving && (ttl_ms <= 0 || !out_validity_ms))) {
    arec_error_set("redis pod_lease: %s",
                   !holder || !*holder ? "empty holder"
                   : strlen(holder) >= AREC_LOCK_VALUE_MAX - 34
                       ? "over-long holder"
                   : ttl_ms <= 0 ? "ttl must be > 0"
                                 : "no validity out-parameter");
    return AREC_EINVAL;
  }
  snprintf(key, sizeof key, "%s%s", AREC__PODLEASE_PREFIX, holder);
  vals[0] = L->pod_token;
  if (!leaving)
    timeout = arec__redis_renew_timeout(L, 1, ttl_ms);
  pthread_mutex_lock(&L->mu);
  t0 = arec__mono_ms();
  arec__redis_op(L, kind, keys, vals, 1, leaving ? 0 : ttl_ms, timeout, &res,
                 &val, d);
  single_done(L, kind, key, res, arec__mono_ms() - t0, d);
  pthread_mutex_unlock(&L->mu);
  if (leaving)
    return res == 1 ? 0 : res; /* already gone is fine */
  if (res == 0)
    *out_validity_ms = val;
  else if (res == AREC_ELOST)
    arec_error_set("redis pod_lease: the pod lease of this incarnation is "
                   "held by another process");
  return res;
}

static void r_free(arec_lock *lock) {
  arec__redis_lock *L = LK(lock);
  if (!L)
    return;
  for (size_t j = 0; j < L->n; j++)
    arec__rnode_free(&L->nodes[j]);
  if (L->password) {
    volatile char *p = L->password;
    while (*p)
      *p++ = 0;
    free(L->password);
  }
  pthread_mutex_destroy(&L->mu);
  free(L);
}

/* --------------------------------------------------------------- public */
static int ping_locked(arec__redis_lock *L, int64_t timeout,
                       unsigned int *out_up, int record) {
  arec_redis_node_result d[AREC__REDIS_MAX_NODES];
  const char *keys[1] = {""};
  const char *vals[1] = {""};
  int res = 1;
  unsigned int up = 0;
  int64_t t0 = arec__mono_ms();
  arec__redis_op(L, AREC__OP_PING, keys, vals, 1, 0, timeout, &res, NULL, d);
  for (size_t j = 0; j < L->n; j++)
    if (d[j].answer == AREC_REDIS_YES)
      up++;
  if (record)
    single_done(L, AREC__OP_PING, NULL, res, arec__mono_ms() - t0, d);
  if (out_up)
    *out_up = up;
  return res;
}

int arec_redis_lock_ping(arec_lock *lock, unsigned int *out_up) {
  arec__redis_lock *L = LK(lock);
  int rc;
  if (out_up)
    *out_up = 0;
  if (!L)
    return AREC_EINVAL;
  pthread_mutex_lock(&L->mu);
  rc = ping_locked(L, L->node_timeout_ms, out_up, 1);
  pthread_mutex_unlock(&L->mu);
  return rc;
}

int arec_redis_lock_last_detail(arec_lock *lock, arec_redis_node_result *out,
                                size_t max, size_t *out_n) {
  if (out_n)
    *out_n = 0;
  if (!lock || tl_detail.lock != (const void *)lock)
    return AREC_ENOTFOUND;
  for (size_t j = 0; j < tl_detail.n && j < max && out; j++)
    out[j] = tl_detail.r[j];
  if (out_n)
    *out_n = tl_detail.n;
  return 0;
}

int arec_redis_lock_new(arec_lock **out, const arec_redis_options *opts) {
  static const arec_lock base = {
      AREC_LOCK_VERSION, r_try_acquire,      r_refresh,
      r_release,         r_refresh_many,     r_try_acquire_many,
      r_release_many,    r_free,
      r_pod_lease};
  arec__redis_lock *L;
  int rc;
  if (!out)
    return AREC_EINVAL;
  *out = NULL;
  if (!opts) {
    arec_error_set("redis: no options");
    return AREC_EINVAL;
  }
  if (opts->version != AREC_REDIS_OPTIONS_VERSION) {
    arec_error_set("redis: options version %u, want %u", opts->version,
                   AREC_REDIS_OPTIONS_VERSION);
    return AREC_EVERSION;
  }
  if (opts->db < 0 || opts->connect_timeout_ms < 0 ||
      opts->node_timeout_ms < 0) {
    arec_error_set("redis: negative db or timeout");
    return AREC_EINVAL;
  }
  L = calloc(1, sizeof *L);
  if (!L)
    return AREC_ENOMEM;
  if ((rc = arec__redis_parse_addrs(L, opts->addrs)) != 0) {
    free(L);
    return rc;
  }
  if (opts->password && *opts->password &&
      !(L->password = strdup(opts->password))) {
    free(L);
    return AREC_ENOMEM;
  }
  if (pthread_mutex_init(&L->mu, NULL) != 0) {
    free(L->password);
    free(L);
    return AREC_ENOMEM;
  }
  L->parent = base;
  /* the pod lease token: 32 hex (fill_random_hex writes "<owner>/<hex>") */
  {
    char tok[40];
    if ((rc = fill_random_hex(tok, 1, "t", sizeof tok)) != 0) {
      pthread_mutex_destroy(&L->mu);
      free(L->password);
      free(L);
      return rc;
    }
    memcpy(L->pod_token, tok + 2, 33);
  }
  L->db = opts->db;
  L->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms
                                                   : 200;
  L->node_timeout_ms = opts->node_timeout_ms ? opts->node_timeout_ms : 50;
  L->log = opts->log;
  L->log_userdata = opts->log_userdata;
  /* Dial every master now; one that does not answer is dialled later. */
  pthread_mutex_lock(&L->mu);
  ping_locked(L, L->connect_timeout_ms, NULL, 0);
  pthread_mutex_unlock(&L->mu);
  arec_error_clear();
  *out = &L->parent;
  return 0;
}
