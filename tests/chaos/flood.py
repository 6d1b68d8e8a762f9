"""flood.py -- the flood scenario of the chaos suite: one pod's HTTP port
under a connection flood, read load and CPU starvation at once, for
FLOOD_S seconds (30; CHAOS_FLOOD_S):

  * 5,000 idle and 1,000 slow-body connections from 127.0.0.2
    (loadgen.py flood: the server keeps 64 per address, closes the rest;
    closed ones are dialled again every second);
  * wrk with the read token on every GET route, round robin
    (/healthz, /ready, /metrics, /api/agents, /api/agents/{id},
    /api/pods, /api/runners, /api/strategies, /api/audit);
  * two CPU-burning processes beside (python3 -c 'while 1: pass' x 2).

Meanwhile loadgen.py probe asks /healthz and /ready from 127.0.0.1, 10
times a second each.  Passes when every probe answered 200 with p99 <= 100
ms and max <= 1 s, and nothing else moved: agent_lock_lost_total and
agents_restored_total unchanged on every pod, every agent's fence and
owner unchanged.  When locks were lost, the pods' warnings and errors of
the window are printed and kept in the report's notes.

Never: leave a load process behind (each is stopped by pid in a finally),
or relax the probe bounds: they are the kubelet's view of the pod.
"""
import json
import os
import re
import subprocess
import sys
import time

from observe import parse_metrics
from topo import READ_TOKEN, http

HERE = os.path.dirname(os.path.abspath(__file__))
FLOOD_S = float(os.environ.get("CHAOS_FLOOD_S", "30"))
IDLE, SLOW = 5000, 1000
PROBE_RATE = 10          # per second, each of /healthz and /ready
PROBE_P99_MS, PROBE_MAX_MS = 100.0, 1000.0
WRK_THREADS, WRK_CONNS = 2, 16   # 127.0.0.1 keeps room under the per-address limit

WRK_LUA = """-- round robin over the daemon's GET routes with the read token
paths = {%(paths)s}
counts = {}
local i = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) i = math.random(0, #paths - 1) end
function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = "Bearer %(token)s"})
end
function response(status, headers, body)
  local k = tostring(status)
  counts[k] = (counts[k] or 0) + 1
end
function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do parts[k] = (parts[k] or 0) + v end
  end
  local st = {}
  for k, v in pairs(parts) do table.insert(st, string.format('"%%s": %%d', k, v)) end
  io.write(string.format('WRKSTATS {"requests": %%d, "duration_us": %%d, ' ..
    '"connect_errors": %%d, "read_errors": %%d, "write_errors": %%d, ' ..
    '"timeouts": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"status": {%%s}}\\n', summary.requests, summary.duration,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, latency:percentile(50), latency:percentile(99),
    latency.max, table.concat(st, ", ")))
end
"""


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))]


def routes(agent):
    return ["/healthz", "/ready", "/metrics", "/api/agents", f"/api/agents/{agent}",
            "/api/pods", "/api/runners", "/api/strategies", "/api/audit"]


def state(c):
    """Every pod's counters and every agent's fence and owner, read now."""
    m = {}
    for p in c.topo.live_pods():
        code, body, _ = http("GET", p.port, "/metrics", timeout=5)
        m[p.name] = parse_metrics(body) if code == 200 else None
    rows = c.topo.psql("SELECT id, fence, coalesce(running_on, '') FROM agent_configs")
    return m, {r[0]: (int(r[1]), r[2]) for r in rows}


def log_offsets(c):
    out = {}
    for p in c.topo.live_pods():
        try:
            out[p.name] = (p.log, os.path.getsize(p.log))
        except OSError:
            pass
    return out


def log_lines_since(offsets, pattern=r" (WARN|ERROR) "):
    out = []
    for pod, (path, off) in offsets.items():
        try:
            with open(path, errors="replace") as f:
                f.seek(off)
                for ln in f:
                    if re.search(pattern, ln):
                        out.append(f"{pod}: {ln.rstrip()[:240]}")
        except OSError:
            pass
    return out


def stop_proc(p, sig_term=True):
    if p is None or p.poll() is not None:
        return
    try:
        p.terminate() if sig_term else p.kill()
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def s10_flood(c):
    topo = c.topo
    live = [p for p in topo.live_pods() if not p.stopped]
    v = live[c.rng.randrange(len(live))]
    agent = c.agents[0]
    for path in routes(agent):
        code, _, _ = http("GET", v.port, path, timeout=5, token=READ_TOKEN)
        if code != 200:
            c.chk.violation(c.obs.now(), f"flood: GET {path} with the read token answered "
                                         f"{code} before the flood")
    m0, f0 = state(c)
    offsets = log_offsets(c)
    lua = os.path.join(topo.dir, "routes.lua")
    with open(lua, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(WRK_LUA % {"paths": ", ".join(f'"{p}"' for p in routes(agent)),
                           "token": READ_TOKEN})
    procs = {}
    fig = {"pod": v.name, "seconds": FLOOD_S}
    try:
        for i in range(2):
            procs[f"burn{i}"] = subprocess.Popen([sys.executable, "-c", "while 1: pass"])
        procs["flood"] = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "loadgen.py"), "flood", str(v.port),
             "--idle", str(IDLE), "--slow", str(SLOW), "--seconds", str(FLOOD_S + 5)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t_open = c.obs.now()
        ready = procs["flood"].stdout.readline().split()
        if not ready or ready[0] != "ready":
            err = procs["flood"].stderr.read()[:300]
            return c.chk.violation(c.obs.now(), f"flood: the flood did not start: {err}")
        fig["flood_opened"], fig["flood_failed"] = int(ready[1]), int(ready[2])
        t0 = c.obs.now()
        c.fault(f"flood {v.name}: {IDLE} idle + {SLOW} slow-body connections from 127.0.0.2 "
                f"(opened {ready[1]} in {t0 - t_open:.1f}s, {ready[2]} failed), wrk "
                f"-t{WRK_THREADS} -c{WRK_CONNS} on {len(routes(agent))} GET routes, "
                f"2 CPU burners, {FLOOD_S:.0f}s")
        procs["probe"] = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "loadgen.py"), "probe", str(v.port),
             "--rate", str(PROBE_RATE), "--seconds", str(FLOOD_S)],
            stdout=subprocess.PIPE, text=True)
        procs["wrk"] = subprocess.Popen(
            ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNS}", f"-d{int(FLOOD_S)}s", "--timeout",
             "2s", "-s", lua, f"http://127.0.0.1:{v.port}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wrk_out, _ = procs["wrk"].communicate(timeout=FLOOD_S + 30)
        probe_out, _ = procs["probe"].communicate(timeout=FLOOD_S + 30)
        stop_proc(procs["flood"])
        flood_out = procs["flood"].stdout.read()
    finally:
        for p in procs.values():
            stop_proc(p, sig_term=False)
    t1 = c.obs.now()
    c.fault(f"flood of {v.name} over")
    c.notes.append(f"flood load from t={t0:.1f}s to t={t1:.1f}s")

    # ---------------------------------------------------------- probes
    probes = json.loads(probe_out or "[]")
    lat = [p[2] for p in probes if p[2] is not None]
    bad = [p for p in probes if p[2] is None or p[3] != 200]
    fig.update({"probes": len(probes), "probe_failures": len(bad),
                "probe_p50_ms": pct(lat, 50), "probe_p99_ms": pct(lat, 99),
                "probe_max_ms": max(lat) if lat else None})
    for path in ("/healthz", "/ready"):
        xs = [p[2] for p in probes if p[1] == path and p[2] is not None]
        fig[f"probe_{path[1:]}_p99_ms"] = pct(xs, 99)
    c.plot_probes = [(t0 + p[0], p[1], p[2]) for p in probes]
    plan = 2 * PROBE_RATE * FLOOD_S
    if len(probes) < plan / 2:  # the prober fell behind: probes were slow
        c.chk.violation(t1, f"flood: {len(probes)} probes of {plan:.0f} planned")
    for p in bad[:5]:
        c.chk.violation(t0 + p[0], f"flood: probe {p[1]} failed (status {p[3]}, "
                                   f"{p[2]} ms)")
    if lat and fig["probe_p99_ms"] > PROBE_P99_MS:
        c.chk.violation(t1, f"flood: probe p99 {fig['probe_p99_ms']:.1f} ms > {PROBE_P99_MS} ms")
    if lat and fig["probe_max_ms"] > PROBE_MAX_MS:
        c.chk.violation(t1, f"flood: probe max {fig['probe_max_ms']:.1f} ms > {PROBE_MAX_MS} ms")

    # ------------------------------------------------------- wrk, flood
    m = re.search(r"WRKSTATS (\{.*\})", wrk_out or "")
    if m:
        w = json.loads(m.group(1))
        ok = sum(n for s, n in w["status"].items() if s.startswith("2"))
        fig["wrk"] = {"requests": w["requests"],
                      "rps": round(w["requests"] / max(1e-6, w["duration_us"] / 1e6)),
                      "ok": ok, "status": w["status"],
                      "errors": {k: w[k] for k in ("connect_errors", "read_errors",
                                                   "write_errors", "timeouts")},
                      "p50_ms": round(w["p50_us"] / 1000, 1),
                      "p99_ms": round(w["p99_us"] / 1000, 1),
                      "max_ms": round(w["max_us"] / 1000, 1)}
        if ok == 0:
            c.chk.violation(t1, f"flood: wrk got no 2xx answer: {w['status']}")
    else:
        c.chk.violation(t1, f"flood: wrk printed no statistics: {(wrk_out or '')[-300:]}")
    try:
        fig["flood"] = json.loads((flood_out or "").strip().splitlines()[-1])
    except (ValueError, IndexError):
        fig["flood"] = None

    # -------------------------------------------- nothing else moved
    time.sleep(1.0)  # a refresh that failed at the very end shows up
    m1, f1 = state(c)
    lost, restored = {}, {}
    for pod, a in m0.items():
        b = m1.get(pod)
        if a is None or b is None:
            c.chk.violation(t1, f"flood: {pod}'s /metrics did not answer "
                                f"{'before' if a is None else 'after'} the flood")
            continue
        lost[pod] = b.get("agent_lock_lost_total", 0) - a.get("agent_lock_lost_total", 0)
        restored[pod] = b.get("agents_restored_total", 0) - a.get("agents_restored_total", 0)
    moved = sorted(a for a in f0 if a in f1 and f1[a] != f0[a])
    fig.update({"locks_lost": int(sum(lost.values())), "locks_lost_by_pod": lost,
                "restarts": len(moved), "restored_during": int(sum(restored.values()))})
    if any(lost.values()):
        c.chk.violation(t1, f"flood: locks lost during the flood: {lost}")
    if any(restored.values()):
        c.chk.violation(t1, f"flood: agents restored during the flood: {restored}")
    for a in moved[:5]:
        c.chk.violation(t1, f"flood: {a} restarted (fence, owner {f0[a]} -> {f1[a]})")
    if any(lost.values()) or moved:
        lines = log_lines_since(offsets)
        fig["pod_warnings"] = lines[:20]
        c.log(f"   the pods' warnings and errors during the flood ({len(lines)}):")
        for ln in lines[:20]:
            c.log(f"     {ln}")
    c.figures["flood"] = fig
    w = fig.get("wrk") or {}
    c.log(f"   probes {fig['probes']}: p50 {fig['probe_p50_ms']} ms, p99 "
          f"{fig['probe_p99_ms']} ms, max {fig['probe_max_ms']} ms, {len(bad)} failed; wrk "
          f"{w.get('requests')} requests ({w.get('rps')}/s, {w.get('ok')} 2xx); locks lost "
          f"{fig['locks_lost']}, restarts {fig['restarts']}")
