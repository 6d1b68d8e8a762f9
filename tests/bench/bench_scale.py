"""bench_scale.py -- a fleet of three agentrecoverd pods at one size n:
cold start to all n running (pod leases on, median of several starts),
steady state (CPU and RSS per pod, saves and steps per second, the step and
save histograms), /metrics rendering time, the admin API beside pgbench -S,
kill -9 of one pod (its third restored by the other two, the restore
histogram per takeover), then the same fleet with per-agent TTLs (cold
start, then in the steady state the refresh cycle of one pod's share of
the keys beside the EVAL -P 50 limit for that many keys, on one master, on
every master at once, and on every master at once beside the running
fleet).

Every figure is read from the pods' Prometheus histograms and counters
(agent_restore_duration_seconds, agent_step_duration_seconds,
agent_save_duration_seconds, refresh_cycle_seconds) or from /proc.

Never: leave a pod behind (Bench.kill_all), or judge a figure without the
limit measured in the same run.
"""
import os
import tempfile
import time

from hostlib import (STEP_MS, hist_count, hist_delta, hist_merge, log, median, proc_cpu,
                     proc_rss, quantile, wait_for, wrk)

NAMES = ("pod-a", "pod-b", "pod-c")
# pod leases as the README recommends (5 s), agent locks long; the default
# reconcile interval
LEASE = {"ttl_ms": 30000, "lease_ms": 5000, "reconcile_ms": 5000}
# per-agent TTLs: a refresh of every key every 3 s
PER_AGENT = {"ttl_ms": 9000, "lease_ms": 0, "reconcile_ms": 5000}
# what one key of a refresh costs a master: redis-benchmark's physical
# limit (it creates no key, so it can run beside a fleet)
REFRESH_EVAL = ["EVAL", "if redis.call('get',KEYS[1])==ARGV[1] then return "
                        "redis.call('pexpire',KEYS[1],ARGV[2]) else return 0 end",
                "1", "k:__rand_int__", "v", "30000"]


def failover_bound_ms(mode):
    """The liveness bound of the design for a pod that dies: pod lease TTL +
    2 reconcile intervals + 1 s with pod leases, lock TTL + reconcile + 1 s
    without."""
    if mode["lease_ms"]:
        return mode["lease_ms"] + 2 * mode["reconcile_ms"] + 1000
    return mode["ttl_ms"] + mode["reconcile_ms"] + 1000


def start_fleet(b, mode, tag):
    return [b.start_pod(f"{name}-{tag}", mode["ttl_ms"], mode["lease_ms"],
                        reconcile_ms=mode["reconcile_ms"]) for name in NAMES]


def idle_rss(b, mode):
    """VmRSS of a pod that runs nothing (recovery off) after 2 s."""
    p = b.start_pod("idle", mode["ttl_ms"], mode["lease_ms"], recovery=False)
    b.wait_ready(p)
    time.sleep(2)
    rss = proc_rss(p.pid)
    b.kill9(p)
    b.pods.remove(p)
    return rss


def cold_start(b, n, mode, runs, tag):
    """Median time from spawning three pods on an unowned fleet to all n
    agents running; the pods of the last start stay up."""
    times, pods = [], []
    for r in range(runs):
        b.kill_all()
        b.reset_ownership()
        t0 = time.monotonic()
        pods = start_fleet(b, mode, f"{tag}{r}")
        ok = wait_for(lambda: b.running(pods) >= n, 120 + n / 500, 0.05)
        dt = time.monotonic() - t0
        if not ok:
            raise RuntimeError(f"cold start: {b.running(pods):.0f} of {n} running "
                               f"after {dt:.0f}s (logs in {b.topo.dir})")
        times.append(dt * 1000)
        log(f"   cold start {r + 1}/{runs}: {dt * 1000:.0f} ms")
    return median(times), times, pods


def scrape(pods):
    return [p.metrics() for p in pods]


def steady(b, pods, n, rss_idle, window_s):
    """CPU, RSS per agent, saves/s, steps/s and the step/save histograms
    over `window_s`, after a step interval to settle."""
    time.sleep(STEP_MS / 1000 + 1)
    m0, c0, t0 = scrape(pods), [proc_cpu(p.pid) for p in pods], time.monotonic()
    time.sleep(window_s)
    m1, c1, t1 = scrape(pods), [proc_cpu(p.pid) for p in pods], time.monotonic()
    dt = t1 - t0
    out = {"window_s": round(dt, 1), "pods": []}
    for p, a, z, x0, x1 in zip(pods, m0, m1, c0, c1):
        running = z.get("agents_running", 0)
        rss = proc_rss(p.pid)
        out["pods"].append({"name": p.name, "running": running,
                            "cpu_pct": round((x1 - x0) / dt * 100, 1), "rss_bytes": rss,
                            "rss_per_agent": round((rss - rss_idle) / running, 1)
                            if running else None})
    def rate(k):
        return sum(z.get(k, 0) - a.get(k, 0) for a, z in zip(m0, m1)) / dt
    out["saves_per_s"] = round(rate("agent_saves_total"), 1)
    out["save_errors_per_s"] = round(rate("agent_save_errors_total"), 2)
    out["steps_per_s"] = round(rate("agent_steps_total"), 1)
    for h in ("agent_step_duration_seconds", "agent_save_duration_seconds"):
        bk = hist_merge(*[hist_delta(z, a, h) for a, z in zip(m0, m1)])
        out[h] = {"n": hist_count(bk), "p50_ms": ms(quantile(bk, 0.5)),
                  "p99_ms": ms(quantile(bk, 0.99))}
    per = [q["rss_per_agent"] for q in out["pods"] if q["rss_per_agent"] is not None]
    out["rss_per_agent_mean"] = round(sum(per) / len(per), 1) if per else None
    out["rss_per_agent_max"] = max(per) if per else None
    out["cpu_pct_max"] = max(q["cpu_pct"] for q in out["pods"])
    return out


def ms(seconds):
    return None if seconds is None else round(seconds * 1000, 2)


def metrics_cost(pod, seconds=3):
    """ms per /metrics request (wrk, one connection) and per /healthz, the
    floor of an HTTP request on the same pod."""
    rps_m = wrk(pod.port, "/metrics", seconds, conns=1)[0]
    rps_h = wrk(pod.port, "/healthz", seconds, conns=1)[0]
    return (1000 / rps_m if rps_m else None), (1000 / rps_h if rps_h else None)


def lua_script(n, kind):
    """A wrk script asking for random agents (kind 'get') or random pages
    of 100 after a random id (kind 'page')."""
    fd, path = tempfile.mkstemp(suffix=".lua", prefix="bench-")
    if kind == "get":
        body = f'request = function() return wrk.format(nil, "/api/agents/b" .. math.random(1, {n})) end\n'
    else:
        body = (f'request = function() return wrk.format(nil, '
                f'"/api/agents?limit=100&after=b" .. math.random(1, {n})) end\n')
    with os.fdopen(fd, "w") as f:
        f.write("math.randomseed(42)\n" + body)
    return path


def admin_api(b, pod, n, seconds=5):
    """GET /api/agents pages and GET /api/agents/{id} on one pod of the
    running fleet, beside pgbench -S measured right before."""
    # 4 clients: the pod's admin pool has 4 connections (the default)
    tps = b.pgbench("-S", seconds=seconds, clients=4)
    out = {"pgbench_select_tps": tps}
    for kind in ("page", "get"):
        path = lua_script(n, kind)
        try:
            rps, bad, err = wrk(pod.port, "/", seconds, conns=16, threads=2, script=path)
        finally:
            os.unlink(path)
        out[f"{kind}_rps"], out[f"{kind}_non2xx"], out[f"{kind}_errors"] = rps, bad, err
    return out


def kill_one(b, pods, n, mode):
    """kill -9 of the first pod: time until the other two run all n agents,
    and the restore histogram of those takeovers."""
    victim, rest = pods[0], pods[1:]
    before = victim.metrics().get("agents_running", 0)
    m0 = scrape(rest)
    t0 = time.monotonic()
    b.kill9(victim)
    bound = failover_bound_ms(mode)
    ok = wait_for(lambda: b.running(rest) >= n, bound / 1000 + 60, 0.05)
    dt = (time.monotonic() - t0) * 1000
    time.sleep(1)
    m1 = scrape(rest)
    bk = hist_merge(*[hist_delta(z, a, "agent_restore_duration_seconds")
                      for a, z in zip(m0, m1)])
    restored = sum(z.get("agents_restored_total", 0) - a.get("agents_restored_total", 0)
                   for a, z in zip(m0, m1))
    return {"victim_running": before, "all_running_ms": round(dt) if ok else None,
            "bound_ms": bound, "restored": restored,
            "restore_p50_ms": ms(quantile(bk, 0.5)), "restore_p99_ms": ms(quantile(bk, 0.99)),
            "lost": sum(z.get("agent_lock_lost_total", 0) for z in m1)}


def refresh_cycles(pods, wait_s):
    """Per pod: keys held, refresh cycles seen, their mean (sum / count of
    refresh_cycle_seconds) and p99 over `wait_s`."""
    m0 = scrape(pods)
    time.sleep(wait_s)
    m1 = scrape(pods)
    out = []
    for p, a, z in zip(pods, m0, m1):
        bk = hist_delta(z, a, "refresh_cycle_seconds")
        cnt = hist_count(bk)
        s = z.get("refresh_cycle_seconds_sum", 0) - a.get("refresh_cycle_seconds_sum", 0)
        out.append({"name": p.name, "keys": z.get("agent_lock_held_total", 0),
                    "cycles": cnt, "mean_ms": round(s / cnt * 1000, 1) if cnt else None,
                    "p99_ms": ms(quantile(bk, 0.99)),
                    "lost": z.get("agent_lock_lost_total", 0)})
    return out


def scale_point(b, n, limits, runs, window_s, api=False, kill=True):
    """Everything measured at fleet size n; returns a dict."""
    log(f"== {n} agents on 3 pods")
    seed_s = b.seed(n)
    log(f"   seeded to {n} agents with SQL in {seed_s:.1f}s")
    pt = {"agents": n}
    if "idle_rss" not in limits:
        limits["idle_rss"] = idle_rss(b, LEASE)
    rss0 = limits["idle_rss"]
    med, times, pods = cold_start(b, n, LEASE, runs, "l")
    m = scrape(pods)
    bk = hist_merge(*[z.get("hist", {}).get("agent_restore_duration_seconds", []) for z in m])
    pt["lease"] = {"cold_start_ms": round(med), "cold_start_runs_ms": [round(t) for t in times],
                   "restore_p50_ms": ms(quantile(bk, 0.5)),
                   "restore_p99_ms": ms(quantile(bk, 0.99))}
    log(f"   pod leases: cold start median {med:.0f} ms, restore p50 "
        f"{pt['lease']['restore_p50_ms']} ms p99 {pt['lease']['restore_p99_ms']} ms")
    st = steady(b, pods, n, rss0, window_s)
    pt["lease"]["steady"] = st
    log(f"   steady: CPU/pod max {st['cpu_pct_max']}%, RSS/agent mean "
        f"{st['rss_per_agent_mean']} B max {st['rss_per_agent_max']} B, saves {st['saves_per_s']}/s, "
        f"steps {st['steps_per_s']}/s")
    mm, hm = metrics_cost(pods[1])
    pt["metrics_ms"], pt["healthz_ms"] = mm, hm
    log(f"   /metrics {mm:.2f} ms per request (/healthz {hm:.2f} ms)")
    if api:
        pt["api"] = admin_api(b, pods[1], n)
        log(f"   admin API: page {pt['api']['page_rps']:.0f} req/s, get "
            f"{pt['api']['get_rps']:.0f} req/s; pgbench -S {pt['api']['pgbench_select_tps']:.0f} TPS")
    if kill:
        k = kill_one(b, pods, n, LEASE)
        pt["lease"]["kill9"] = k
        log(f"   kill -9 of {pods[0].name} ({k['victim_running']:.0f} agents): all running after "
            f"{k['all_running_ms']} ms (bound {k['bound_ms']} ms), restore p50 "
            f"{k['restore_p50_ms']} ms p99 {k['restore_p99_ms']} ms")
    # per-agent TTLs: one cold start, then the refresh cycles of the steady
    # state (after the first pass has listed the fleet and two cycles have
    # found their turns: one TTL), ten intervals of them
    med2, _, pods = cold_start(b, n, PER_AGENT, 1, "t")
    time.sleep(PER_AGENT["ttl_ms"] / 1000)
    cyc = refresh_cycles(pods, 10 * PER_AGENT["ttl_ms"] / 3000 + 1)
    worst = max(cyc, key=lambda c: c["mean_ms"] or 0)
    all_ops = limits.get("eval_ops_all_masters")
    # the same limit with the fleet running (its saves, steps, passes and
    # cycles): what the machine leaves a refresh cycle
    busy_ops = b.redis_benchmark(REFRESH_EVAL, n=100000, ports=b.redis_ports,
                                flush=False)
    pt["per_agent"] = {"cold_start_ms": round(med2), "pods": cyc,
                       "refresh_cycle_ms": worst["mean_ms"], "refresh_p99_ms": worst["p99_ms"],
                       "keys": worst["keys"],
                       "eval_limit_ms": round(worst["keys"] / limits["eval_ops"] * 1000, 1),
                       "eval_all_limit_ms": round(worst["keys"] / all_ops * 1000, 1)
                       if all_ops else None,
                       "eval_all_busy_limit_ms": round(worst["keys"] / busy_ops * 1000, 1)
                       if busy_ops else None}
    log(f"   per-agent TTLs: cold start {med2:.0f} ms, refresh cycle mean {worst['mean_ms']} ms "
        f"(p99 {worst['p99_ms']} ms) for {worst['keys']:.0f} keys, EVAL -P50 limit "
        f"{pt['per_agent']['eval_limit_ms']} ms (on every master at once "
        f"{pt['per_agent']['eval_all_limit_ms']} ms, with the fleet running "
        f"{pt['per_agent']['eval_all_busy_limit_ms']} ms)")
    b.kill_all()
    return pt

