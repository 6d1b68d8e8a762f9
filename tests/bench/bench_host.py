#!/usr/bin/env python3
"""bench_host.py -- `make bench-host`: agentrecoverd at scale.

  1. the physical limits of this run: redis-benchmark -P 50 (SET NX PX and
     the refresh script, the latter also on every master at once), pgbench
     -S and -N;
  2. three pods with 1,000, 10,000 and 100,000 noop agents stepping every
     10 s (bench_scale.py): cold start to all running (pod leases on; the
     median of 3 starts at the largest size), steady-state CPU and RSS per
     pod, saves/s beside pgbench -N, /metrics rendering time, the admin API
     beside pgbench -S, kill -9 of one pod, and the refresh cycle with
     per-agent TTLs beside the EVAL -P 50 limit for that many keys;
  3. the admin API under load (bench_load.py): one pod with per-agent TTLs
     of 3 s, wrk on every GET route with 50 connections and two CPU
     burners, at 1,000 and at 10,000 agents: locks lost must be 0;
  4. the failover distribution of build/chaos/report.json when present;
then build/bench/host.json (rows for tools/bench_table.sh, the scale curve,
a summary) and build/bench/scale.png (gnuplot).

BENCH_HOST_AGENTS (largest size, default 100000), BENCH_HOST_WRK_S (the
loaded phase, default 30 s) and BENCH_HOST_RUNS (cold starts at the
largest size, default 3) scale it down.

Never: leave a process behind (every child stopped by pid).
"""
import json
import os
import subprocess
import sys

from bench_load import load_phase
from bench_scale import LEASE, PER_AGENT, REFRESH_EVAL, scale_point
from hostlib import ROOT, Bench, log

N = int(os.environ.get("BENCH_HOST_AGENTS", "100000"))
WRK_S = int(os.environ.get("BENCH_HOST_WRK_S", "30"))
RUNS = int(os.environ.get("BENCH_HOST_RUNS", "3"))
rows = []


def row(what, value, unit, limit=None, limit_what="", goal=None, goal_op="<="):
    """One figure beside its physical limit (ratio = value / limit) and
    its goal where the project set one."""
    ratio = None
    if value is not None and limit:
        r = value / limit
        ratio = round(r, 2) if r >= 0.1 else round(r, 4)
    ok = None
    if goal is not None and value is not None:
        ok = value <= goal if goal_op == "<=" else value >= goal
    rows.append({"what": what, "value": round(value, 2) if isinstance(value, float) else value,
                 "unit": unit, "limit": None if limit is None else round(limit, 2),
                 "limit_what": limit_what, "ratio": ratio,
                 "goal": None if goal is None else round(goal, 2), "goal_op": goal_op,
                 "goal_ok": ok})
    v = "-" if value is None else f"{value:.2f}"
    log(f"   {what}: {v} {unit}" + (f"  (limit {limit:.2f} {limit_what})" if limit else "")
        + (f"  goal {goal_op} {goal:.0f}: {'ok' if ok else 'MISSED'}" if goal is not None else ""))


def limits_of(b):
    log("== physical limits of this run")
    lim = {"setnx_ops": b.redis_benchmark(["SET", "k:__rand_int__", "v", "NX", "PX", "30000"]),
           "eval_ops": b.redis_benchmark(REFRESH_EVAL),
           "eval_ops_all_masters": b.redis_benchmark(REFRESH_EVAL, ports=b.redis_ports),
           "pgbench_select_tps": b.pgbench("-S"), "pgbench_write_tps": b.pgbench("-N")}
    log(f"   redis-benchmark -P 50: SET NX PX {lim['setnx_ops']:.0f} ops/s, EVAL "
        f"{lim['eval_ops']:.0f} ops/s (on all {b.nredis} masters at once: "
        f"{lim['eval_ops_all_masters'] or 0:.0f} ops/s each); pgbench -S "
        f"{lim['pgbench_select_tps']:.0f} TPS, -N {lim['pgbench_write_tps']:.0f} TPS (4 clients)")
    return lim


def report_point(pt, lim, top):
    n = pt["agents"]
    ls, st = pt["lease"], pt["lease"]["steady"]
    floor = (n / lim["pgbench_select_tps"] + n / lim["setnx_ops"]) * 1000
    tag = f"{n // 1000}k" if n >= 1000 else str(n)
    row(f"{tag}: cold start, 3 pods to all running (leases)", float(ls["cold_start_ms"]), "ms",
        floor, "ms as 1 query + 1 SET NX/agent", 5000.0 if top else None)
    if top:
        row(f"{tag}: cold start, per-agent TTLs", float(pt["per_agent"]["cold_start_ms"]),
            "ms", floor, "ms as 1 query + 1 SET NX/agent")
        row(f"{tag}: restore per takeover p50 (cold start)", ls["restore_p50_ms"], "ms")
        row(f"{tag}: restore per takeover p99 (cold start)", ls["restore_p99_ms"], "ms")
    row(f"{tag}: RSS per agent (max of 3 pods)", st["rss_per_agent_max"], "B", None, "",
        2048.0 if top else None)
    if top:
        row(f"{tag}: CPU per pod, steady (max of 3)", st["cpu_pct_max"], "%",
            100.0 * os.cpu_count(), f"% ({os.cpu_count()} cores)")
        row(f"{tag}: saves/s after coalescing (3 pods)", st["saves_per_s"], "/s",
            lim["pgbench_write_tps"], "TPS pgbench -N")
        row(f"{tag}: steps/s (3 pods)", st["steps_per_s"], "/s", n / 10.0,
            "/s (one per agent per 10 s)")
        for h, short in (("agent_step_duration_seconds", "step"),
                         ("agent_save_duration_seconds", "save batch")):
            row(f"{tag}: {short} p50", st[h]["p50_ms"], "ms")
            row(f"{tag}: {short} p99", st[h]["p99_ms"], "ms")
    pa = pt["per_agent"]
    row(f"{tag}: refresh cycle, per-agent TTLs ({pa['keys']:.0f} keys/pod)",
        pa["refresh_cycle_ms"], "ms", pa["eval_limit_ms"], "ms EVAL -P50 for those keys",
        2 * pa["eval_limit_ms"] if top else None)
    if top:
        row(f"{tag}: refresh cycle p99", pa["refresh_p99_ms"], "ms", pa["eval_limit_ms"],
            "ms EVAL -P50 for those keys")
        if pa.get("eval_all_limit_ms"):
            row(f"{tag}: refresh cycle beside every master at once", pa["refresh_cycle_ms"],
                "ms", pa["eval_all_limit_ms"], "ms EVAL -P50 for those keys on all masters")
        if pa.get("eval_all_busy_limit_ms"):
            row(f"{tag}: refresh cycle beside every master at once, fleet running",
                pa["refresh_cycle_ms"], "ms", pa["eval_all_busy_limit_ms"],
                "ms EVAL -P50 for those keys on all masters, same load")
    row(f"{tag}: /metrics rendering", pt["metrics_ms"], "ms", pt["healthz_ms"],
        "ms per /healthz (one connection)")
    if "kill9" in ls:
        k = ls["kill9"]
        row(f"{tag}: kill -9 of a pod: its {k['victim_running']:.0f} restored",
            None if k["all_running_ms"] is None else float(k["all_running_ms"]), "ms",
            float(k["bound_ms"]), "ms lease + 2 reconciles + 1 s", float(k["bound_ms"]))
        row(f"{tag}: restore per takeover p99 (kill -9)", k["restore_p99_ms"], "ms")
    if "api" in pt:
        a = pt["api"]
        row(f"{tag}: GET /api/agents page of 100", a["page_rps"], "req/s",
            a["pgbench_select_tps"], "TPS pgbench -S", 0.05 * a["pgbench_select_tps"], ">=")
        row(f"{tag}: GET /api/agents/{{id}}", a["get_rps"], "req/s",
            a["pgbench_select_tps"], "TPS pgbench -S", 0.20 * a["pgbench_select_tps"], ">=")


def report_load(lp):
    n = lp["agents"]
    hz = lp["routes"]["/healthz"]["rps"]
    page = lp["routes"]["/api/agents?limit=100"]
    ok_page = page["rps"] - page["non2xx"] / lp["seconds"]
    tag = f"{n // 1000}k" if n >= 1000 else str(n)
    row(f"{tag} loaded: locks lost (TTL {lp['ttl_ms']} ms, wrk + {lp['burners']} burners)",
        float(lp["locks_lost"]), "", None, "", 0.0)
    row(f"{tag} loaded: GET /api/agents pages answered", ok_page, "req/s", hz,
        "req/s wrk /healthz, same load")
    row(f"{tag} loaded: refresh cycle p99", None if lp["refresh_p99_s"] is None
        else lp["refresh_p99_s"] * 1000, "ms", lp["ttl_ms"] / 3, "ms refresh interval")


def chaos_rows():
    rep = os.path.join(ROOT, "build", "chaos", "report.json")
    if not os.path.exists(rep):
        log("   (no build/chaos/report.json: run make chaos for the failover figures)")
        return
    with open(rep) as f:
        ch = json.load(f)
    s1, st = ch.get("scenarios", {}).get("s1"), ch.get("settings", {})
    if s1 and s1["failover_ms"]["n"]:
        bound = st["ttl_ms"] + st["reconcile_ms"]
        for k in ("p50", "p99", "max"):
            row(f"chaos kill -9 failover (n={s1['failover_ms']['n']}) {k}",
                float(s1["failover_ms"][k]), "ms", float(bound), "ms TTL + reconcile")


def plot(points, out_png):
    """scale.png: restore (cold start) and refresh cycle in ms, RSS per
    agent in bytes, against the fleet size (log scales)."""
    dat = out_png[:-4] + ".dat"
    with open(dat, "w") as f:
        f.write("# agents cold_start_ms refresh_cycle_ms rss_per_agent_B restore_p99_ms\n")
        for p in points:
            f.write(f"{p['agents']} {p['lease']['cold_start_ms']} "
                    f"{p['per_agent']['refresh_cycle_ms'] or 0} "
                    f"{p['lease']['steady']['rss_per_agent_max'] or 0} "
                    f"{p['lease']['restore_p99_ms'] or 0}\n")
    gp = f"""set terminal pngcairo size 900,560
set output '{out_png}'
set title 'agentrecoverd, 3 pods, noop agents stepping every 10 s'
set logscale x
set logscale y
set xlabel 'agents (fleet)'
set ylabel 'ms'
set y2label 'bytes per agent'
set y2tics
set ytics nomirror
set key top left
set grid
plot '{dat}' using 1:2 with linespoints title 'cold start to all running (ms)', \\
     '{dat}' using 1:5 with linespoints title 'restore per takeover p99 (ms)', \\
     '{dat}' using 1:3 with linespoints title 'refresh cycle, one pod, per-agent TTLs (ms)', \\
     '{dat}' using 1:4 axes x1y2 with linespoints title 'RSS per agent (bytes, right)'
"""
    r = subprocess.run(["gnuplot"], input=gp, capture_output=True, text=True)
    if r.returncode != 0:
        log(f"   gnuplot failed: {r.stderr.strip()}")
    else:
        log(f"wrote {out_png}")


def main(out):
    sizes = sorted({max(100, N // 100), max(100, N // 10), N})
    b = Bench()
    points, loads = [], []
    try:
        b.start_servers()
        lim = limits_of(b)
        for i, n in enumerate(sizes):
            top = n == N
            points.append(scale_point(b, n, lim, RUNS if top else 1, 20, api=top))
            if i < 2 and n >= 1000:
                log(f"== {n} agents on one pod, per-agent TTL 3 s, wrk on every GET route "
                    f"(50 connections each) and 2 CPU burners for {WRK_S}s")
                b.kill_all()
                lp = load_phase(b, n, 3000, WRK_S)
                loads.append(lp)
                log(f"   locks lost {lp['locks_lost']:.0f}, running after {lp['agents_running_after']:.0f}, "
                    f"refresh failures logged {lp['refresh_failed_lines']}")
        log("== figures")
        for pt in points:
            report_point(pt, lim, pt["agents"] == N)
        for lp in loads:
            report_load(lp)
        chaos_rows()
    finally:
        b.close()
    top = points[-1]
    summary = {"agents_max": N, "cold_start_ms": top["lease"]["cold_start_ms"],
               "rss_per_agent_bytes": top["lease"]["steady"]["rss_per_agent_max"],
               "refresh_cycle_ms": top["per_agent"]["refresh_cycle_ms"],
               "eval_limit_ms": top["per_agent"]["eval_limit_ms"],
               "eval_all_masters_limit_ms": top["per_agent"].get("eval_all_limit_ms"),
               "eval_all_masters_busy_limit_ms": top["per_agent"].get("eval_all_busy_limit_ms"),
               "api_page_rps": top["api"]["page_rps"], "api_get_rps": top["api"]["get_rps"],
               "pgbench_select_tps": top["api"]["pgbench_select_tps"]}
    lost = sum(lp["locks_lost"] for lp in loads)
    doc = {"agents": N, "limits": lim, "modes": {"lease": LEASE, "per_agent": PER_AGENT},
           "scale": points, "loaded": loads, "summary": summary,
           "no_lock_lost_under_load": lost == 0, "rows": rows}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
    log(f"wrote {out}")
    plot(points, os.path.join(os.path.dirname(out), "scale.png"))
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/bench/host.json")))
