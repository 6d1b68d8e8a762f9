"""bench_load.py -- the admin API under load with a busy CPU: one pod runs N
agents with per-agent lock TTLs while one wrk per GET route (50
connections each) and two CPU-burning processes run; it reports the locks
lost (must be 0), the agents still running, the refresh cycles seen
(refresh_cycle_seconds), the refresh failures the pod logged, and each
route's request rate.

Run alone: python3 tests/bench/bench_load.py AGENTS TTL_MS SECONDS
(the reproduction of a lock loss under load: 1000 3000 30).

Never: leave a process behind (the Bench stops every child by pid).
"""
import os
import sys
import time

from hostlib import Bench, Burners, hist_delta, log, quantile, wait_for, wrk_many

GET_ROUTES = ("/healthz", "/ready", "/metrics", "/api/agents?limit=100", "/api/agents/b1",
              "/api/runners", "/api/pods", "/api/strategies", "/api/audit")


def load_phase(b, n, ttl_ms, seconds, conns=50, burners=2, name="load"):
    """One pod with n agents (per-agent TTL ttl_ms) under wrk on every GET
    route plus `burners` spinning processes.  Returns a dict of figures."""
    b.reset_ownership()
    pod = b.start_pod(name, ttl_ms)
    b.wait_ready(pod)
    if not wait_for(lambda: b.running([pod]) >= n, 120, 0.2):
        raise RuntimeError(f"{name}: not all {n} agents running")
    time.sleep(2)
    m0 = pod.metrics()
    burn = Burners(burners)
    try:
        t0 = time.monotonic()
        res = wrk_many(pod.port, GET_ROUTES, seconds, conns)
        dt = time.monotonic() - t0
    finally:
        burn.stop()
    time.sleep(1)
    m1 = pod.metrics()
    cyc = hist_delta(m1, m0, "refresh_cycle_seconds")
    fails = b.log_tail(pod, "lock refresh failed", 1000)
    out = {
        "agents": n, "ttl_ms": ttl_ms, "seconds": round(dt, 1), "conns_per_route": conns,
        "burners": burners,
        "locks_lost": m1.get("agent_lock_lost_total", 0) - m0.get("agent_lock_lost_total", 0),
        "agents_running_after": m1.get("agents_running", 0),
        "refresh_cycles": (m1.get("refresh_cycles_total", 0) -
                           m0.get("refresh_cycles_total", 0)),
        "refresh_p50_s": quantile(cyc, 0.5), "refresh_p99_s": quantile(cyc, 0.99),
        "refresh_failed_lines": len(fails), "refresh_failed_last": fails[-3:],
        "routes": {p: {"rps": r[0], "non2xx": r[1], "errors": r[2]} for p, r in res.items()},
    }
    b.kill9(pod)
    b.pods.remove(pod)
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    ttl = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    secs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    b = Bench()
    try:
        b.start_servers()
        b.seed(n)
        r = load_phase(b, n, ttl, secs)
        for k, v in r.items():
            if k != "routes":
                log(f"   {k}: {v}")
        for p, v in r["routes"].items():
            log(f"   {p:<28} {v['rps']:9.1f} req/s  non-2xx {v['non2xx']}  errors {v['errors']}")
        keep = os.environ.get("BENCH_KEEP")
        if keep:
            log(f"   logs in {b.topo.dir}")
        return 0 if r["locks_lost"] == 0 else 1
    finally:
        b.topo.close(keep=bool(os.environ.get("BENCH_KEEP")))


if __name__ == "__main__":
    sys.exit(main())
