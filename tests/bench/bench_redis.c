/*
 * bench_redis.c -- `make bench-redis`: the Redlock backend on loopback with
 * one and with three redis-servers (started through the harness): single
 * try_acquire / refresh / release latency (p50, p99) and batched acquire +
 * refresh of 10,000 locks, each beside what redis-benchmark measures in the
 * same run (the physical limit): -c 1 -P 1 round trips for the single
 * calls, -P 50 SET NX PX / EVAL compare-and-PEXPIRE for the batches.
 *
 * Then the peer beside us on the SAME first redis-server, three times,
 * interleaved: ours (try_acquire_many and refresh_many of 10,000 locks
 * after one untimed pass, as the peer is warm when it is timed;
 * refresh_many of 33,000 -- the per-pod share of 100,000 agents on three
 * pods --, one try_acquire + release round trip, median of 200) and
 * node-redlock 4 on ioredis 5 (tests/bench/peer/redlock_bench.js, run with
 * `node` from the directory given as argv[2], where `make bench-redis`
 * installed it): 10,000 lock(), 10,000 extend(), one lock + unlock; the
 * medians of the three runs, the ratio peer / ours, and the EVAL -P 50
 * limit for 10,000 and 33,000 keys.
 *
 * Prints a table and writes the rows as JSON (argv[1], default
 * build/bench/redis.json) for tests/tools/bench_table.sh, plus a top-level
 * "peer" object with the medians.  Exits non-zero when the peer cannot run
 * (no node, no installed packages): a benchmark without its peer is no
 * benchmark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentrecover.h"
#include "agentrecover/redis.h"
#include "agentrecover/sys/lock.h"
#include "redis/internal.h" /* AREC__REDIS_CHUNK, for the report */
#include "support/harness.h"

#define NSINGLE 2000
#define NBATCH 10000
#define NPOD 33000 /* the per-pod share of 100,000 agents on three pods */
#define NRT 200
#define RUNS 3
#define TTL 30000
#define REFRESH_LUA                                                            \
  "if redis.call('get',KEYS[1])==ARGV[1] then return "                         \
  "redis.call('pexpire',KEYS[1],ARGV[2]) else return 0 end"

typedef struct row {
  char what[64];
  double value;
  const char *unit;
  double limit;
  const char *limit_what;
} row;

static row g_rows[64];
static int g_nrows;
/* -c 1 round trips on the first server, for the lock+unlock rows */
static double g_rtt_set_us, g_rtt_eval_us;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_d);
  return v[(size_t)(p * (double)(n - 1))];
}

static double median3(const double *v) {
  double c[RUNS];
  memcpy(c, v, sizeof c);
  return pct(c, RUNS, 0.5);
}

static void add(const char *what, double value, const char *unit, double limit,
                const char *limit_what) {
  row *r = &g_rows[g_nrows++];
  snprintf(r->what, sizeof r->what, "%s", what);
  r->value = value;
  r->unit = unit;
  r->limit = limit;
  r->limit_what = limit_what;
}

/* Runs argv[0] (from PATH) and returns its stdout (stderr too when
 * `both`) in out; the exit status, or -1. */
static int run_capture(const char *const *argv, int both, char *out,
                       size_t cap) {
  int p[2], st = 0;
  size_t len = 0;
  pid_t pid;
  out[0] = '\0';
  if (pipe(p) != 0)
    return -1;
  pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    dup2(p[1], 1);
    if (both)
      dup2(p[1], 2);
    close(p[0]);
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "bench: cannot run %s\n", argv[0]);
    _exit(127);
  }
  close(p[1]);
  for (;;) {
    ssize_t k = read(p[0], out + len, cap - 1 - len);
    if (k <= 0)
      break;
    len += (size_t)k;
  }
  close(p[0]);
  out[len] = '\0';
  if (waitpid(pid, &st, 0) < 0)
    return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs redis-benchmark with argv and returns its requests per second. */
static double redis_benchmark(int port, const char *const *extra) {
  const char *argv[32];
  char portbuf[16], out[65536];
  int n = 0;
  snprintf(portbuf, sizeof portbuf, "%d", port);
  argv[n++] = "redis-benchmark";
  argv[n++] = "-h";
  argv[n++] = "127.0.0.1";
  argv[n++] = "-p";
  argv[n++] = portbuf;
  argv[n++] = "-q";
  while (*extra)
    argv[n++] = *extra++;
  argv[n] = NULL;
  run_capture(argv, 1, out, sizeof out);
  /* "...: 412371.12 requests per second, p50=..." (the last one) */
  char *last = NULL, *s = out;
  while ((s = strstr(s, " requests per second")) != NULL)
    last = s++;
  if (!last)
    return 0;
  while (last > out && last[-1] != ' ')
    last--;
  return atof(last);
}

static const char *const k_rtt_set[] = {
    "-c", "1", "-P", "1", "-n", "20000", "-r", "100000", "SET",
    "k:__rand_int__", "v", "NX", "PX", "30000", NULL};
static const char *const k_rtt_eval[] = {
    "-c", "1", "-P", "1", "-n", "20000", "-r", "100000", "EVAL", REFRESH_LUA,
    "1", "k:__rand_int__", "v", "30000", NULL};
static const char *const k_pipe_set[] = {
    "-P", "50", "-n", "100000", "-r", "100000", "SET", "k:__rand_int__", "v",
    "NX", "PX", "30000", NULL};
static const char *const k_pipe_eval[] = {
    "-P", "50", "-n", "100000", "-r", "100000", "EVAL", REFRESH_LUA, "1",
    "k:__rand_int__", "v", "30000", NULL};

static arec_lock *open_lock(const char *addrs) {
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  arec_lock *l = NULL;
  o.addrs = addrs;
  if (arec_redis_lock_new(&l, &o) != 0) {
    fprintf(stderr, "bench: %s\n", arec_error_last());
    exit(1);
  }
  return l;
}

typedef struct keys {
  char (*names)[48];
  const char **keys;
  arec_lease *leases;
  int *res;
} keys;

/* Key names shaped like the manager's: "agent:lock:<uuid>". */
static keys keys_new(size_t n) {
  keys k;
  k.names = calloc(n, sizeof *k.names);
  k.keys = calloc(n, sizeof *k.keys);
  k.leases = calloc(n, sizeof *k.leases);
  k.res = calloc(n, sizeof *k.res);
  if (!k.names || !k.keys || !k.leases || !k.res) {
    fprintf(stderr, "bench: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++) {
    snprintf(k.names[i], sizeof k.names[i],
             "agent:lock:%08zx-0000-4000-8000-%012zx", i, i * 7919);
    k.keys[i] = k.names[i];
  }
  return k;
}

static void keys_free(keys *k) {
  free(k->names);
  free(k->keys);
  free(k->leases);
  free(k->res);
}

static void expect(const int *res, size_t n, int want, const char *what) {
  for (size_t i = 0; i < n; i++)
    if (res[i] != want) {
      fprintf(stderr, "bench: %s: key %zu answered %d (%s)\n", what, i,
              res[i], arec_error_last());
      exit(1);
    }
}

/* ms of one try_acquire_many / refresh_many of n keys (released after). */
static void batch_once(arec_lock *l, keys *k, size_t n, double *acq_ms,
                       double *ref_ms) {
  double t = now_us();
  l->try_acquire_many(l, k->keys, n, "bench-pod", TTL, k->leases, k->res);
  if (acq_ms)
    *acq_ms = (now_us() - t) / 1e3;
  expect(k->res, n, 1, "try_acquire_many");
  t = now_us();
  l->refresh_many(l, k->keys, k->leases, n, TTL, k->res);
  if (ref_ms)
    *ref_ms = (now_us() - t) / 1e3;
  expect(k->res, n, 0, "refresh_many");
  l->release_many(l, k->keys, k->leases, n, k->res);
  expect(k->res, n, 0, "release_many");
}

/* The single calls timed, one key at a time. */
enum { ACQUIRE, REFRESH, RELEASE, NCALLS };

/* us of one single call of kind `call` on key i of k. */
static double single_us(arec_lock *l, keys *k, int i, int call) {
  double t = now_us();
  if (call == ACQUIRE) {
    if (l->try_acquire(l, k->keys[i], "bench-pod", TTL, &k->leases[i]) != 1)
      fprintf(stderr, "bench: acquire %d failed\n", i);
  } else if (call == REFRESH) {
    l->refresh(l, k->keys[i], &k->leases[i], TTL);
  } else {
    l->release(l, k->keys[i], &k->leases[i]);
  }
  return now_us() - t;
}

static void bench(const char *label, const char *addrs, int port,
                  int batches) {
  arec_lock *l = open_lock(addrs);
  char what[64];
  double rps_rtt_set = redis_benchmark(port, k_rtt_set);
  double rps_rtt_eval = redis_benchmark(port, k_rtt_eval);
  double rtt_set_us = rps_rtt_set > 0 ? 1e6 / rps_rtt_set : 0;
  double rtt_eval_us = rps_rtt_eval > 0 ? 1e6 / rps_rtt_eval : 0;
  if (!g_rtt_set_us) {
    g_rtt_set_us = rtt_set_us;
    g_rtt_eval_us = rtt_eval_us;
  }

  /* single calls: every key acquired, then refreshed, then released; p50
   * and p99 of each beside the round trip of its redis command */
  const struct {
    const char *name;
    double rtt_us;
    const char *rtt_what;
  } calls[NCALLS] = {
      [ACQUIRE] = {"try_acquire", rtt_set_us, "us SET NX PX -c1 RTT"},
      [REFRESH] = {"refresh", rtt_eval_us, "us EVAL -c1 RTT"},
      [RELEASE] = {"release", rtt_eval_us, "us EVAL -c1 RTT"},
  };
  static const double pcts[] = {0.5, 0.99};
  double *us = calloc(NSINGLE, sizeof *us);
  keys k = keys_new(NBATCH);
  for (int call = 0; call < NCALLS; call++) {
    for (int i = 0; i < NSINGLE; i++)
      us[i] = single_us(l, &k, i, call);
    for (size_t p = 0; p < sizeof pcts / sizeof *pcts; p++) {
      snprintf(what, sizeof what, "%s: %s p%.0f", label, calls[call].name,
               pcts[p] * 100);
      add(what, pct(us, NSINGLE, pcts[p]), "us", calls[call].rtt_us,
          calls[call].rtt_what);
    }
  }

  /* batches of 10,000: median of 3, beside the -P 50 limits */
  if (batches) {
    double a[RUNS], r[RUNS], set[RUNS], ev[RUNS];
    for (int rep = 0; rep < RUNS; rep++) {
      batch_once(l, &k, NBATCH, &a[rep], &r[rep]);
      double rs = redis_benchmark(port, k_pipe_set);
      double re = redis_benchmark(port, k_pipe_eval);
      set[rep] = rs > 0 ? NBATCH / rs * 1e3 : 0;
      ev[rep] = re > 0 ? NBATCH / re * 1e3 : 0;
    }
    snprintf(what, sizeof what, "%s: try_acquire_many 10,000", label);
    add(what, median3(a), "ms", median3(set), "ms SET NX PX -P50");
    snprintf(what, sizeof what, "%s: refresh_many 10,000", label);
    add(what, median3(r), "ms", median3(ev), "ms EVAL -P50");
  }
  free(us);
  keys_free(&k);
  l->free(l);
}

/* ------------------------------------------------------------- the peer */
/* "key": number in the peer's one-line JSON; -1 when missing. */
static double json_num(const char *js, const char *key) {
  char pat[64];
  const char *p;
  snprintf(pat, sizeof pat, "\"%s\":", key);
  p = strstr(js, pat);
  return p ? strtod(p + strlen(pat), NULL) : -1;
}

typedef struct peer_run {
  double acquire, extend, roundtrip_ms; /* the peer's figures */
  double acq_seq, acq_par, ext_seq, ext_par;
} peer_run;

static void run_peer(const char *dir, int port, peer_run *pr) {
  char script[512], portbuf[16], n[16], out[8192];
  const char *argv[] = {"node", script, portbuf, n, "100", NULL};
  int rc;
  snprintf(script, sizeof script, "%s/redlock_bench.js", dir);
  snprintf(portbuf, sizeof portbuf, "%d", port);
  snprintf(n, sizeof n, "%d", NBATCH);
  if (access(script, R_OK) != 0) {
    fprintf(stderr,
            "bench: the node-redlock peer is not installed (%s missing): run "
            "it through `make bench-redis`, which installs it with npm\n",
            script);
    exit(1);
  }
  rc = run_capture(argv, 0, out, sizeof out);
  pr->acquire = json_num(out, "acquire_ms");
  pr->extend = json_num(out, "extend_ms");
  pr->roundtrip_ms = json_num(out, "roundtrip_ms");
  pr->acq_seq = json_num(out, "acquire_seq_ms");
  pr->acq_par = json_num(out, "acquire_par_ms");
  pr->ext_seq = json_num(out, "extend_seq_ms");
  pr->ext_par = json_num(out, "extend_par_ms");
  if (rc != 0 || pr->acquire <= 0 || pr->extend <= 0 || pr->roundtrip_ms <= 0) {
    fprintf(stderr,
            "bench: the node-redlock peer failed (exit %d); its output:\n%s\n"
            "bench: without the peer there is no comparison: failing\n",
            rc, out);
    exit(1);
  }
}

typedef struct peer_report {
  double r_acq, r_ext, r_rt, o_acq, o_ref, o_rt, o_ref33;
  double set10, ev10, ev33;
  double acq_seq, acq_par, ext_seq, ext_par;
} peer_report;

/* Empties the server: redis-benchmark leaves up to 100,000 keys with a
 * 30 s TTL behind, and growing past them would put a dictionary rehash
 * into whichever run comes next. */
static void flushall(int port) {
  char portbuf[16], out[256];
  const char *argv[] = {"redis-cli", "-p", portbuf, "FLUSHALL", NULL};
  snprintf(portbuf, sizeof portbuf, "%d", port);
  if (run_capture(argv, 1, out, sizeof out) != 0) {
    fprintf(stderr, "bench: redis-cli FLUSHALL failed: %s\n", out);
    exit(1);
  }
}

/* Ours and the peer on the same server, RUNS times, interleaved, each run
 * on an emptied server. */
static void peer(const char *addrs, int port, const char *dir,
                 peer_report *pr) {
  double r_acq[RUNS], r_ext[RUNS], r_rt[RUNS], o_acq[RUNS], o_ref[RUNS];
  double o_rt[RUNS], o_ref33[RUNS], set10[RUNS], ev10[RUNS], ev33[RUNS];
  double as[RUNS], ap[RUNS], es[RUNS], ep[RUNS];
  arec_lock *l = open_lock(addrs);
  keys k = keys_new(NPOD);
  double *rt = calloc(NRT, sizeof *rt);
  char what[64];
  for (int rep = 0; rep < RUNS; rep++) {
    peer_run p;
    flushall(port);
    /* warm, as the peer is when it takes its 100-at-a-time figure (after
     * its warm-up and its one-at-a-time pass on the same server): one
     * untimed pass first */
    batch_once(l, &k, NBATCH, NULL, NULL);
    batch_once(l, &k, NBATCH, &o_acq[rep], &o_ref[rep]);
    batch_once(l, &k, NPOD, NULL, &o_ref33[rep]);
    for (int i = 0; i < NRT; i++) {
      double t = now_us();
      if (l->try_acquire(l, "agent:lock:bench-rt", "bench-pod", TTL,
                         &k.leases[0]) != 1 ||
          l->release(l, "agent:lock:bench-rt", &k.leases[0]) != 0) {
        fprintf(stderr, "bench: round trip failed: %s\n", arec_error_last());
        exit(1);
      }
      rt[i] = now_us() - t;
    }
    o_rt[rep] = pct(rt, NRT, 0.5) / 1e3;
    flushall(port);
    run_peer(dir, port, &p);
    r_acq[rep] = p.acquire;
    r_ext[rep] = p.extend;
    r_rt[rep] = p.roundtrip_ms;
    as[rep] = p.acq_seq;
    ap[rep] = p.acq_par;
    es[rep] = p.ext_seq;
    ep[rep] = p.ext_par;
    double rs = redis_benchmark(port, k_pipe_set);
    double re = redis_benchmark(port, k_pipe_eval);
    set10[rep] = rs > 0 ? NBATCH / rs * 1e3 : 0;
    ev10[rep] = re > 0 ? NBATCH / re * 1e3 : 0;
    ev33[rep] = re > 0 ? NPOD / re * 1e3 : 0;
    printf("run %d: ours acquire %.1f ms, refresh %.1f ms, refresh 33,000 "
           "%.1f ms, round trip %.3f ms; node-redlock acquire %.1f ms, extend "
           "%.1f ms, round trip %.3f ms\n",
           rep + 1, o_acq[rep], o_ref[rep], o_ref33[rep], o_rt[rep],
           r_acq[rep], r_ext[rep], r_rt[rep]);
  }
  pr->r_acq = median3(r_acq);
  pr->r_ext = median3(r_ext);
  pr->r_rt = median3(r_rt);
  pr->o_acq = median3(o_acq);
  pr->o_ref = median3(o_ref);
  pr->o_rt = median3(o_rt);
  pr->o_ref33 = median3(o_ref33);
  pr->set10 = median3(set10);
  pr->ev10 = median3(ev10);
  pr->ev33 = median3(ev33);
  pr->acq_seq = median3(as);
  pr->acq_par = median3(ap);
  pr->ext_seq = median3(es);
  pr->ext_par = median3(ep);
  add("1 master: try_acquire_many 10,000", pr->o_acq, "ms", pr->set10,
      "ms SET NX PX -P50");
  add("1 master: refresh_many 10,000", pr->o_ref, "ms", pr->ev10,
      "ms EVAL -P50");
  add("1 master: refresh_many 33,000", pr->o_ref33, "ms", pr->ev33,
      "ms EVAL -P50");
  add("1 master: try_acquire + release", pr->o_rt * 1e3, "us",
      g_rtt_set_us + g_rtt_eval_us, "us SET + EVAL -c1 RTT");
  snprintf(what, sizeof what, "node-redlock: 10,000 lock() (%s)",
           pr->acq_par < pr->acq_seq ? "100 at a time" : "one at a time");
  add(what, pr->r_acq, "ms", pr->set10, "ms SET NX PX -P50");
  snprintf(what, sizeof what, "node-redlock: 10,000 extend() (%s)",
           pr->ext_par < pr->ext_seq ? "100 at a time" : "one at a time");
  add(what, pr->r_ext, "ms", pr->ev10, "ms EVAL -P50");
  add("node-redlock: lock() + unlock()", pr->r_rt * 1e3, "us",
      g_rtt_set_us + g_rtt_eval_us, "us SET + EVAL -c1 RTT");
  free(rt);
  keys_free(&k);
  l->free(l);
}

static void write_json(const char *out, const peer_report *p) {
  FILE *f = fopen(out, "w");
  if (!f) {
    fprintf(stderr, "bench: cannot write %s\n", out);
    exit(1);
  }
  fprintf(f, "{\"rows\": [\n");
  for (int i = 0; i < g_nrows; i++) {
    row *r = &g_rows[i];
    double ratio = r->limit > 0 ? r->value / r->limit : 0;
    fprintf(f,
            "  {\"what\": \"%s\", \"value\": %.1f, \"unit\": \"%s\", "
            "\"limit\": %.1f, \"limit_what\": \"%s\", \"ratio\": %.2f}%s\n",
            r->what, r->value, r->unit, r->limit, r->limit_what, ratio,
            i + 1 < g_nrows ? "," : "");
  }
  fprintf(f, "],\n\"peer\": {\n");
  fprintf(f, "  \"redlock_acquire_ms\": %.3f,\n  \"redlock_extend_ms\": %.3f,\n"
             "  \"redlock_roundtrip_ms\": %.3f,\n",
          p->r_acq, p->r_ext, p->r_rt);
  fprintf(f, "  \"ours_acquire_ms\": %.3f,\n  \"ours_refresh_ms\": %.3f,\n"
             "  \"ours_roundtrip_ms\": %.3f,\n",
          p->o_acq, p->o_ref, p->o_rt);
  fprintf(f, "  \"eval_limit_10k_ms\": %.3f,\n  \"refresh_33k_ms\": %.3f,\n"
             "  \"eval_limit_33k_ms\": %.3f,\n  \"set_limit_10k_ms\": %.3f,\n",
          p->ev10, p->o_ref33, p->ev33, p->set10);
  fprintf(f, "  \"ratio_acquire\": %.2f,\n  \"ratio_extend\": %.2f,\n"
             "  \"ratio_roundtrip\": %.2f,\n  \"refresh_33k_vs_limit\": %.2f,\n",
          p->r_acq / p->o_acq, p->r_ext / p->o_ref, p->r_rt / p->o_rt,
          p->o_ref33 / p->ev33);
  fprintf(f, "  \"redlock_acquire_seq_ms\": %.3f,\n"
             "  \"redlock_acquire_par_ms\": %.3f,\n"
             "  \"redlock_extend_seq_ms\": %.3f,\n"
             "  \"redlock_extend_par_ms\": %.3f,\n"
             "  \"redlock_concurrency\": 100,\n  \"chunk\": %d,\n"
             "  \"runs\": %d\n}}\n",
          p->acq_seq, p->acq_par, p->ext_seq, p->ext_par, AREC__REDIS_CHUNK,
          RUNS);
  fclose(f);
  printf("wrote %s\n", out);
}

int main(int argc, char **argv) {
  const char *out = argc > 1 ? argv[1] : "build/bench/redis.json";
  const char *peer_dir = argc > 2 ? argv[2] : "build/bench/peer";
  arec_test_redis srv[3];
  char addrs1[64], addrs3[200];
  peer_report p;
  for (int i = 0; i < 3; i++)
    if (arec_test_redis_start(&srv[i]) != 0)
      return 1;
  snprintf(addrs1, sizeof addrs1, "127.0.0.1:%d", srv[0].port);
  snprintf(addrs3, sizeof addrs3, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d",
           srv[0].port, srv[1].port, srv[2].port);
  bench("1 master", addrs1, srv[0].port, 0);
  bench("3 masters", addrs3, srv[0].port, 1);
  peer(addrs1, srv[0].port, peer_dir, &p);

  printf("\n%-44s %12s %30s %7s\n", "redis lock", "value",
         "limit (redis-benchmark, same run)", "ratio");
  for (int i = 0; i < g_nrows; i++) {
    row *r = &g_rows[i];
    double ratio = r->limit > 0 ? r->value / r->limit : 0;
    printf("%-44s %9.1f %-2s %8.1f %-21s %7.2f\n", r->what, r->value, r->unit,
           r->limit, r->limit_what, ratio);
  }
  printf("\nnode-redlock 4 / ours, same redis-server, medians of %d runs "
         "(batched calls: %d keys per script call):\n",
         RUNS, AREC__REDIS_CHUNK);
  printf("  10,000 acquires: %.1f ms / %.1f ms = %.1fx (goal >= 10x: %s)\n",
         p.r_acq, p.o_acq, p.r_acq / p.o_acq,
         p.r_acq / p.o_acq >= 10 ? "met" : "NOT met");
  printf("  10,000 extends:  %.1f ms / %.1f ms = %.1fx (goal >= 10x: %s)\n",
         p.r_ext, p.o_ref, p.r_ext / p.o_ref,
         p.r_ext / p.o_ref >= 10 ? "met" : "NOT met");
  printf("  lock + unlock:   %.3f ms / %.3f ms = %.1fx\n", p.r_rt, p.o_rt,
         p.r_rt / p.o_rt);
  printf("  (node-redlock one at a time: %.1f ms acquire, %.1f ms extend; "
         "100 at a time: %.1f ms, %.1f ms)\n",
         p.acq_seq, p.ext_seq, p.acq_par, p.ext_par);
  printf("refresh_many of 33,000 locks: %.1f ms, EVAL -P50 limit %.1f ms: "
         "%.2fx (goal <= 2x: %s)\n",
         p.o_ref33, p.ev33, p.o_ref33 / p.ev33,
         p.o_ref33 <= 2 * p.ev33 ? "met" : "NOT met");
  printf("refresh_many of 10,000 locks on one master: %.1f ms (goal < 50 ms: "
         "%s)\n",
         p.o_ref, p.o_ref < 50 ? "met" : "NOT met");
  write_json(out, &p);
  for (int i = 0; i < 3; i++)
    arec_test_redis_stop(&srv[i]);
  return 0;
}
