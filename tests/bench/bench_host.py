#!/usr/bin/env python3
"""bench_host.py -- `make bench-host`: agentrecoverd at scale (issue 6).

  1. restore of 10,000 noop agents by one pod, process start to /ready,
     with 1 and with 3 Redis masters;
  2. steady state with the 10,000 agents on that pod (3 masters): refresh
     cycle (refresh_cycle_seconds sampled from /metrics), saves per second
     after coalescing, CPU % and RSS (bytes per agent over an idle pod);
  3. wrk on /metrics and GET /api/agents while the agents run: no lock lost;
  4. the failover distribution of build/chaos/report.json when present;
and every figure beside its physical limit from the same run
(redis-benchmark -P 50, pgbench -S, wrk on /healthz) as a ratio, written to
build/bench/host.json in the rows shape of tools/bench_table.sh.

How: servers through tests/chaos/topo.py (no fault proxies); the agents
are inserted with SQL straight into the schema (sql/002_core.sql), not
through the API one by one.  BENCH_HOST_AGENTS and BENCH_HOST_WRK_S scale
it down.

Never: leave a process behind (every child stopped by pid).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "chaos"))
from observe import parse_metrics  # noqa: E402
from topo import ADMIN_VARS, KEY, PGBIN, TOKEN, Topology, free_port, http, wait_for  # noqa: E402

N = int(os.environ.get("BENCH_HOST_AGENTS", "10000"))
WRK_S = int(os.environ.get("BENCH_HOST_WRK_S", "30"))  # the issue: 30 s
SAVE_MS = 5000
TTL_MS = 9000  # refresh every 3 s: several cycles in the window
rows = []


def log(msg):
    print(msg, flush=True)


def row(what, value, unit, limit=None, limit_what="", ratio=None):
    if ratio is None and limit:
        ratio = (round(value / limit, 2) if value / limit >= 0.1 else round(value / limit, 4)) if limit else None
    rows.append({"what": what, "value": round(value, 2) if isinstance(value, float) else value,
                 "unit": unit, "limit": None if limit is None else round(limit, 2),
                 "limit_what": limit_what, "ratio": ratio})
    log(f"   {what}: {value:.2f} {unit}" + (f"  (limit {limit:.2f} {limit_what})" if limit else ""))


class Settings:
    backend = "redis"
    pod_lease_ttl = ""
    ttl_ms = TTL_MS


# ------------------------------------------------------------ limits
def redis_benchmark(port, cmd):
    r = subprocess.run(["redis-benchmark", "-p", str(port), "-P", "50", "-n", "200000",
                        "-r", "1000000", "-q"] + cmd, capture_output=True, text=True,
                       timeout=120)
    m = re.findall(r"([\d.]+) requests per second", r.stdout)
    return float(m[-1]) if m else None


def pgbench_tps(topo):
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(topo.pg_port), PGUSER="postgres")
    topo.psql("CREATE DATABASE pgbench", db="postgres")
    subprocess.run([f"{PGBIN}/pgbench", "-i", "-q", "-s", "1", "pgbench"], env=env,
                   capture_output=True, check=True)
    r = subprocess.run([f"{PGBIN}/pgbench", "-S", "-n", "-c", "4", "-j", "2", "-T", "5",
                        "pgbench"], env=env, capture_output=True, text=True)
    m = re.search(r"tps = ([\d.]+)", r.stdout)
    return float(m.group(1)) if m else None


def wrk(port, path, seconds, conns=25):
    r = subprocess.run(["wrk", "-t", "1", "-c", str(conns), "-d", f"{seconds}s",
                        "-H", "Authorization: Bearer " + TOKEN,
                        f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                       timeout=seconds + 30)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    return float(m.group(1)) if m else 0.0


# -------------------------------------------------------------- pods
def start_pod(topo, name, nredis, recovery=True):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("AGENT_") or k.startswith("REDIS_") or k in ADMIN_VARS)}
    env.update({"DATABASE_URL": topo.db_url(topo.pg_port), "POD_NAME": name, "ADMIN_TOKEN": TOKEN,
                "HTTP_PORT": str(port), "AGENT_SECRETS_KEY": KEY,
                "REDIS_ADDRS": ",".join(f"127.0.0.1:{topo.redis[i][0]}" for i in range(nredis)),
                "AGENT_LOCK_TTL": f"{TTL_MS}ms", "AGENT_SAVE_INTERVAL": f"{SAVE_MS}ms",
                "AGENT_RECOVERY_ENABLED": "true" if recovery else "false",
                "SHUTDOWN_TIMEOUT": "25s"})
    t0 = time.monotonic()
    p = subprocess.Popen([topo.daemon], env=env,
                         stdout=open(os.path.join(topo.dir, f"{name}.log"), "a"),
                         stderr=subprocess.STDOUT)
    topo.procs.append(p)
    ok = wait_for(lambda: http("GET", port, "/ready", timeout=2)[0] == 200, 120, 0.005)
    if not ok:
        raise RuntimeError(f"{name} not ready")
    return p, port, time.monotonic() - t0


def stop_pod(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def metrics(port):
    return parse_metrics(http("GET", port, "/metrics", timeout=5)[1])


def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    cpu = (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) * 1024
    return cpu, rss


def seed_agents(topo):
    t0 = time.monotonic()
    topo.psql(f"""
INSERT INTO users (id, name) VALUES (1, 'bench');
INSERT INTO agent_configs (id, user_id, strategy, name, is_active, is_trading)
  SELECT 'b' || g, 1, 'noop', 'bench ' || g, true, true FROM generate_series(1, {N}) g;
INSERT INTO agent_symbol_assignments (agent_id, symbol, balance)
  SELECT 'b' || g, 'BTC/USDT', 100 FROM generate_series(1, {N}) g;
INSERT INTO agent_states (agent_id, symbol, balance, memory)
  SELECT 'b' || g, 'BTC/USDT', 100, '{{}}' FROM generate_series(1, {N}) g;""", timeout=120)
    topo.psql("VACUUM ANALYZE", timeout=120)
    log(f"   {N} agents inserted with SQL in {time.monotonic() - t0:.2f}s")


def reset_ownership(topo):
    topo.psql("UPDATE agent_configs SET running_on = NULL, running_incarnation = NULL; "
              "DELETE FROM pods")
    for port, _ in topo.redis:
        subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True)


# -------------------------------------------------------------- main
def main(out):
    topo = Topology(ROOT, Settings(), nslots=0, nredis=3)
    try:
        topo.start_pg()
        for _ in range(3):
            topo.start_redis()
        topo.migrate()
        log("== bench-host: physical limits of this run")
        setnx = redis_benchmark(topo.redis[0][0], ["SET", "k:__rand_int__", "v", "NX", "PX", "30000"])
        evalr = redis_benchmark(topo.redis[0][0], [
            "EVAL", "if redis.call('get',KEYS[1])==ARGV[1] then return "
                    "redis.call('pexpire',KEYS[1],ARGV[2]) else return 0 end",
            "1", "k:__rand_int__", "v", "30000"])
        tps = pgbench_tps(topo)
        log(f"   redis-benchmark -P 50: SET NX PX {setnx:.0f} ops/s, EVAL {evalr:.0f} ops/s; "
            f"pgbench -S -c 4: {tps:.0f} TPS")
        for port, _ in topo.redis:
            subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True)
        seed_agents(topo)
        # one query per agent and one SET NX PX per agent: the floor of a restore
        restore_limit = (N / tps + N / setnx) * 1000

        log(f"== restore of {N} agents by one pod, process start to /ready")
        pod = port = None
        for nredis in (1, 3):
            reset_ownership(topo)
            p, port_, secs = start_pod(topo, f"bench-{nredis}m", nredis)
            m = metrics(port_)
            running = m.get("agents_running", 0)
            row(f"restore {N} agents to /ready, {nredis} master{'s' if nredis > 1 else ''}",
                secs * 1000, "ms", restore_limit,
                "ms as 1 query + 1 SET NX/agent")
            if running != N:
                log(f"   WARNING: {running:.0f} of {N} agents running after /ready")
            rows[-1]["agents_running"] = running
            if nredis == 1:
                stop_pod(p)
            else:
                pod, port = p, port_

        log(f"== steady state, {N} noop agents on one pod (3 masters), save interval "
            f"{SAVE_MS} ms, TTL {TTL_MS} ms")
        time.sleep(2)
        m0, (c0, _), t0 = metrics(port), proc_stat(pod.pid), time.monotonic()
        cycles, ncyc = [], m0.get("refresh_cycles_total", 0)
        while time.monotonic() - t0 < 15:
            m = metrics(port)
            if m.get("refresh_cycles_total", 0) != ncyc:
                ncyc = m.get("refresh_cycles_total", 0)
                cycles.append(m.get("refresh_cycle_seconds", 0) * 1000)
            time.sleep(0.2)
        cycles = cycles or [0.0]
        m1, (c1, rss), t1 = metrics(port), proc_stat(pod.pid), time.monotonic()
        dt = t1 - t0
        cycles.sort()
        row(f"refresh cycle p50 ({len(cycles)} cycles)", cycles[len(cycles) // 2], "ms",
            N / evalr * 1000, "ms EVAL -P50 for N keys")
        row("refresh cycle max", cycles[-1], "ms", 100.0, "ms (goal)")
        saves = (m1.get("agent_saves_total", 0) - m0.get("agent_saves_total", 0)) / dt
        row("saves per second after coalescing", saves, "/s", N / (SAVE_MS / 1000),
            "/s (one per agent per save interval)")
        steps = (m1.get("agent_steps_total", 0) - m0.get("agent_steps_total", 0)) / dt
        row("noop steps per second", steps, "/s", float(N), "/s (one per agent per s)")
        row("CPU of the pod", (c1 - c0) / dt * 100, "%", 100.0 * os.cpu_count(),
            f"% ({os.cpu_count()} cores)")
        idle, iport, _ = start_pod(topo, "bench-idle", 3, recovery=False)
        time.sleep(1)
        _, rss_idle = proc_stat(idle.pid)
        stop_pod(idle)
        row("RSS per agent (over an idle pod)", (rss - rss_idle) / N, "B", 8192.0,
            "B (goal 8 KiB)")
        log(f"   RSS {rss / 1048576:.1f} MiB with {N} agents, idle pod {rss_idle / 1048576:.1f} MiB")

        log(f"== wrk on /metrics and GET /api/agents for {WRK_S}s while the agents run")
        lost0 = metrics(port).get("agent_lock_lost_total", 0)
        hz = wrk(port, "/healthz", 3, 50)
        import threading
        res = {}
        th = [threading.Thread(target=lambda k=k: res.__setitem__(k, wrk(port, k, WRK_S)))
              for k in ("/metrics", "/api/agents")]
        for t in th:
            t.start()
        for t in th:
            t.join()
        m2 = metrics(port)
        lost = m2.get("agent_lock_lost_total", 0) - lost0
        row("wrk /metrics (25 conns, beside /api/agents)", res["/metrics"], "req/s", hz,
            "req/s wrk /healthz -c50")
        row("wrk GET /api/agents (25 conns)", res["/api/agents"], "req/s", hz,
            "req/s wrk /healthz -c50")
        row("locks lost during the wrk load", float(lost), "", None, "", None)
        row("agents running after the wrk load", m2.get("agents_running", 0), "", float(N),
            "agents")
        ok = lost == 0 and m2.get("agents_running", 0) == N
        stop_pod(pod)

        rep = os.path.join(ROOT, "build", "chaos", "report.json")
        if os.path.exists(rep):
            with open(rep) as f:
                ch = json.load(f)
            s1 = ch.get("scenarios", {}).get("s1")
            st = ch.get("settings", {})
            if s1 and s1["failover_ms"]["n"]:
                bound = st["ttl_ms"] + st["reconcile_ms"]
                for k in ("p50", "p99", "max"):
                    row(f"failover after kill -9 (chaos, n={s1['failover_ms']['n']}) {k}",
                        float(s1["failover_ms"][k]), "ms", float(bound), "ms TTL + reconcile")
        else:
            log("   (no build/chaos/report.json: run make chaos for the failover figures)")
        doc = {"agents": N, "redis_setnx_ops": setnx, "redis_eval_ops": evalr,
               "pgbench_select_tps": tps, "no_lock_lost_under_wrk": ok, "rows": rows}
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump(doc, f, indent=2)
        log(f"wrote {out}")
        return 0 if ok else 1
    finally:
        topo.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/bench/host.json")))
