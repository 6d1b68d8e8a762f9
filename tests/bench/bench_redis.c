/*
 * bench_redis.c -- `make bench-redis`: the Redlock backend on loopback with
 * one and with three redis-servers (started through the harness): single
 * try_acquire / refresh / release latency (p50, p99) and batched acquire +
 * refresh of 10,000 locks, each beside what redis-benchmark measures in the
 * same run (the physical limit): -c 1 -P 1 round trips for the single
 * calls, -P 50 SET NX PX / EVAL compare-and-PEXPIRE for the batches.
 * Prints a table and writes the rows as JSON (argv[1], default
 * build/bench/redis.json) for tests/tools/bench_table.sh.
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
#include "support/harness.h"

#define NSINGLE 2000
#define NBATCH 10000
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

static void add(const char *what, double value, const char *unit, double limit,
                const char *limit_what) {
  row *r = &g_rows[g_nrows++];
  snprintf(r->what, sizeof r->what, "%s", what);
  r->value = value;
  r->unit = unit;
  r->limit = limit;
  r->limit_what = limit_what;
}

/* Runs redis-benchmark with argv and returns its requests per second. */
static double redis_benchmark(int port, const char *const *extra) {
  const char *argv[32];
  char portbuf[16], out[65536];
  int p[2], n = 0, st;
  size_t len = 0;
  pid_t pid;
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
  if (pipe(p) != 0)
    return 0;
  pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    close(p[0]);
    execvp("redis-benchmark", (char *const *)argv);
    _exit(127);
  }
  close(p[1]);
  for (;;) {
    ssize_t k = read(p[0], out + len, sizeof out - 1 - len);
    if (k <= 0)
      break;
    len += (size_t)k;
  }
  close(p[0]);
  waitpid(pid, &st, 0);
  out[len] = '\0';
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

static void bench(const char *label, const char *addrs, int port) {
  arec_redis_options o = AREC_REDIS_OPTIONS_INIT;
  arec_lock *l = NULL;
  char what[64];
  o.addrs = addrs;
  if (arec_redis_lock_new(&l, &o) != 0) {
    fprintf(stderr, "bench: %s\n", arec_error_last());
    exit(1);
  }
  /* the limits, from the same run */
  const char *rtt_set[] = {"-c", "1", "-P", "1", "-n", "20000", "-r",
                           "100000", "SET", "k:__rand_int__", "v", "NX", "PX",
                           "30000", NULL};
  const char *rtt_eval[] = {"-c", "1", "-P", "1", "-n", "20000", "-r",
                            "100000", "EVAL", REFRESH_LUA, "1",
                            "k:__rand_int__", "v", "30000", NULL};
  const char *pipe_set[] = {"-P", "50", "-n", "100000", "-r", "100000", "SET",
                            "k:__rand_int__", "v", "NX", "PX", "30000", NULL};
  const char *pipe_eval[] = {"-P", "50", "-n", "100000", "-r", "100000",
                             "EVAL", REFRESH_LUA, "1", "k:__rand_int__", "v",
                             "30000", NULL};
  double rps_rtt_set = redis_benchmark(port, rtt_set);
  double rps_rtt_eval = redis_benchmark(port, rtt_eval);
  double rps_set = redis_benchmark(port, pipe_set);
  double rps_eval = redis_benchmark(port, pipe_eval);
  double rtt_set_us = rps_rtt_set > 0 ? 1e6 / rps_rtt_set : 0;
  double rtt_eval_us = rps_rtt_eval > 0 ? 1e6 / rps_rtt_eval : 0;

  /* single calls */
  double *acq = calloc(NSINGLE, sizeof *acq), *ref = calloc(NSINGLE, sizeof *ref),
         *rel = calloc(NSINGLE, sizeof *rel);
  arec_lease *ls = calloc(NSINGLE, sizeof *ls);
  char(*names)[40] = calloc(NBATCH, sizeof *names);
  const char **keys = calloc(NBATCH, sizeof *keys);
  arec_lease *lb = calloc(NBATCH, sizeof *lb);
  int *res = calloc(NBATCH, sizeof *res);
  for (int i = 0; i < NBATCH; i++) {
    snprintf(names[i], sizeof names[i], "agent:lock:bench-%d", i);
    keys[i] = names[i];
  }
  for (int i = 0; i < NSINGLE; i++) {
    double t = now_us();
    if (l->try_acquire(l, keys[i], "bench-pod", TTL, &ls[i]) != 1)
      fprintf(stderr, "bench: acquire %d failed\n", i);
    acq[i] = now_us() - t;
  }
  for (int i = 0; i < NSINGLE; i++) {
    double t = now_us();
    l->refresh(l, keys[i], &ls[i], TTL);
    ref[i] = now_us() - t;
  }
  for (int i = 0; i < NSINGLE; i++) {
    double t = now_us();
    l->release(l, keys[i], &ls[i]);
    rel[i] = now_us() - t;
  }
  snprintf(what, sizeof what, "%s: try_acquire p50", label);
  add(what, pct(acq, NSINGLE, 0.5), "us", rtt_set_us, "us SET NX PX -c1 RTT");
  snprintf(what, sizeof what, "%s: try_acquire p99", label);
  add(what, pct(acq, NSINGLE, 0.99), "us", rtt_set_us, "us SET NX PX -c1 RTT");
  snprintf(what, sizeof what, "%s: refresh p50", label);
  add(what, pct(ref, NSINGLE, 0.5), "us", rtt_eval_us, "us EVAL -c1 RTT");
  snprintf(what, sizeof what, "%s: refresh p99", label);
  add(what, pct(ref, NSINGLE, 0.99), "us", rtt_eval_us, "us EVAL -c1 RTT");
  snprintf(what, sizeof what, "%s: release p50", label);
  add(what, pct(rel, NSINGLE, 0.5), "us", rtt_eval_us, "us EVAL -c1 RTT");
  snprintf(what, sizeof what, "%s: release p99", label);
  add(what, pct(rel, NSINGLE, 0.99), "us", rtt_eval_us, "us EVAL -c1 RTT");

  /* batches of 10,000: best of 3 */
  double best_acq = 1e18, best_ref = 1e18;
  for (int rep = 0; rep < 3; rep++) {
    double t = now_us();
    l->try_acquire_many(l, keys, NBATCH, "bench-pod", TTL, lb, res);
    double ta = (now_us() - t) / 1e3;
    for (int i = 0; i < NBATCH; i++)
      if (res[i] != 1) {
        fprintf(stderr, "bench: batch acquire %d: %d\n", i, res[i]);
        break;
      }
    t = now_us();
    l->refresh_many(l, keys, lb, NBATCH, TTL, res);
    double tr = (now_us() - t) / 1e3;
    for (int i = 0; i < NBATCH; i++)
      if (res[i] != 0) {
        fprintf(stderr, "bench: batch refresh %d: %d\n", i, res[i]);
        break;
      }
    l->release_many(l, keys, lb, NBATCH, res);
    if (ta < best_acq)
      best_acq = ta;
    if (tr < best_ref)
      best_ref = tr;
  }
  snprintf(what, sizeof what, "%s: try_acquire_many 10,000", label);
  add(what, best_acq, "ms", rps_set > 0 ? NBATCH / rps_set * 1e3 : 0,
      "ms SET NX PX -P50");
  snprintf(what, sizeof what, "%s: refresh_many 10,000", label);
  add(what, best_ref, "ms", rps_eval > 0 ? NBATCH / rps_eval * 1e3 : 0,
      "ms EVAL -P50");
  free(acq);
  free(ref);
  free(rel);
  free(ls);
  free(names);
  free(keys);
  free(lb);
  free(res);
  l->free(l);
}

int main(int argc, char **argv) {
  const char *out = argc > 1 ? argv[1] : "build/bench/redis.json";
  arec_test_redis srv[3];
  char addrs1[64], addrs3[200];
  FILE *f;
  for (int i = 0; i < 3; i++)
    if (arec_test_redis_start(&srv[i]) != 0)
      return 1;
  snprintf(addrs1, sizeof addrs1, "127.0.0.1:%d", srv[0].port);
  snprintf(addrs3, sizeof addrs3, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d",
           srv[0].port, srv[1].port, srv[2].port);
  bench("1 master", addrs1, srv[0].port);
  bench("3 masters", addrs3, srv[0].port);

  printf("\n%-36s %12s %30s %7s\n", "redis lock", "value",
         "limit (redis-benchmark, same run)", "ratio");
  f = fopen(out, "w");
  if (f)
    fprintf(f, "{\"rows\": [\n");
  for (int i = 0; i < g_nrows; i++) {
    row *r = &g_rows[i];
    double ratio = r->limit > 0 ? r->value / r->limit : 0;
    printf("%-36s %9.1f %-2s %8.1f %-21s %7.2f\n", r->what, r->value, r->unit,
           r->limit, r->limit_what, ratio);
    if (f)
      fprintf(f,
              "  {\"what\": \"%s\", \"value\": %.1f, \"unit\": \"%s\", "
              "\"limit\": %.1f, \"limit_what\": \"%s\", \"ratio\": %.2f}%s\n",
              r->what, r->value, r->unit, r->limit, r->limit_what, ratio,
              i + 1 < g_nrows ? "," : "");
  }
  if (f) {
    fprintf(f, "]}\n");
    fclose(f);
    printf("wrote %s\n", out);
  }
  for (int i = 0; i < g_nrows; i++)
    if (strcmp(g_rows[i].what, "1 master: refresh_many 10,000") == 0)
      printf("goal: batched refresh of 10,000 locks on one master < 50 ms: "
             "%.1f ms, %s\n",
             g_rows[i].value, g_rows[i].value < 50 ? "met" : "NOT met");
  for (int i = 0; i < 3; i++)
    arec_test_redis_stop(&srv[i]);
  return 0;
}
