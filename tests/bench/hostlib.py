"""hostlib.py -- what the host benchmarks share: one PostgreSQL and three
redis-servers on loopback (tests/chaos/topo.py, no fault proxies), noop
agents inserted with SQL straight into the library's tables, agentrecoverd
pods started and stopped by pid, Prometheus histograms read back into
quantiles, /proc figures (CPU seconds, VmRSS), CPU burners, wrk, and the
physical limits of the machine measured in the same run (redis-benchmark
-P 50, pgbench -S and -N, wrk on /healthz).

How: every child is a subprocess.Popen kept in the topology's list and
stopped by its pid; a pod is a Popen plus its HTTP port.

Never: kill a process this run did not start, or leave one behind.
"""
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "chaos"))
from topo import ADMIN_VARS, KEY, PGBIN, TOKEN, Topology, free_port, http, wait_for  # noqa: E402,F401

STEP_MS = 10000  # the agents step every 10 s, like trading agents


def log(msg):
    print(msg, flush=True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# ------------------------------------------------------------ metrics
def parse_prom(text):
    """{name: value} for plain samples and {name: [(le, cumulative)]} under
    'hist' for histogram buckets."""
    out, hist = {}, {}
    if not isinstance(text, str):
        return out
    for ln in text.splitlines():
        if not ln or ln[0] == "#":
            continue
        name, _, val = ln.rpartition(" ")
        try:
            v = float(val)
        except ValueError:
            continue
        m = re.match(r'^(\w+)_bucket\{le="([^"]+)"\}$', name)
        if m:
            le = float("inf") if m.group(2) == "+Inf" else float(m.group(2))
            hist.setdefault(m.group(1), []).append((le, v))
        elif "{" not in name:
            out[name] = v
    out["hist"] = hist
    return out


def hist_delta(m1, m0, name):
    """The buckets of histogram `name` observed between two scrapes."""
    b1 = m1.get("hist", {}).get(name, [])
    b0 = dict(m0.get("hist", {}).get(name, [])) if m0 else {}
    return [(le, c - b0.get(le, 0.0)) for le, c in b1]


def hist_merge(*bucket_lists):
    acc = {}
    for bl in bucket_lists:
        for le, c in bl:
            acc[le] = acc.get(le, 0.0) + c
    return sorted(acc.items())


def quantile(buckets, q):
    """histogram_quantile() of Prometheus: linear inside the bucket; the
    upper bound of the last finite bucket when it falls in +Inf; None
    without observations."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            if c == prev_c:
                return le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return prev_le


def hist_count(buckets):
    return buckets[-1][1] if buckets else 0.0


# --------------------------------------------------------------- /proc
def proc_cpu(pid):
    """User + system CPU seconds of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) * 1024


# ---------------------------------------------------------------- pods
class Pod:
    def __init__(self, name, port, proc, logpath):
        self.name, self.port, self.proc, self.log = name, port, proc, logpath
        self.t0 = time.monotonic()

    @property
    def pid(self):
        return self.proc.pid

    def metrics(self, timeout=10):
        return parse_prom(http("GET", self.port, "/metrics", timeout=timeout)[1])

    def alive(self):
        return self.proc.poll() is None


class Bench:
    """The servers of one benchmark run and the pods started on them."""

    def __init__(self, nredis=3):
        class Settings:
            backend, pod_lease_ttl, ttl_ms = "redis", "", 9000
        raise_nofile()
        self.topo = Topology(ROOT, Settings(), nslots=0, nredis=nredis)
        self.nredis = nredis
        self.pods = []
        self.seeded = 0

    def start_servers(self):
        self.topo.start_pg()
        for _ in range(self.nredis):
            self.topo.start_redis()
        self.topo.migrate()
        # a write per agent per save interval: give PostgreSQL room for it
        self.topo.psql("ALTER SYSTEM SET max_wal_size = '4GB'", db="postgres")
        self.topo.psql("ALTER SYSTEM SET checkpoint_timeout = '15min'", db="postgres")
        self.topo.psql("SELECT pg_reload_conf()", db="postgres")

    def close(self):
        self.topo.close()

    @property
    def redis_ports(self):
        return [p for p, _ in self.topo.redis]

    # ------------------------------------------------------------ data
    def seed(self, n):
        """Grows the fleet to n wanted noop agents (ids b1..bn), each with
        one symbol and a saved state, stepping every STEP_MS."""
        if n <= self.seeded:
            return 0.0
        t0 = time.monotonic()
        lo = self.seeded + 1
        if self.seeded == 0:
            self.topo.psql("INSERT INTO users (id, name) VALUES (1, 'bench') "
                           "ON CONFLICT DO NOTHING")
        params = '{"step_ms": %d}' % STEP_MS
        self.topo.psql(f"""
INSERT INTO agent_configs (id, user_id, strategy, name, params, is_active, is_trading)
  SELECT 'b' || g, 1, 'noop', 'bench ' || g, '{params}', true, true
  FROM generate_series({lo}, {n}) g;
INSERT INTO agent_symbol_assignments (agent_id, symbol, balance)
  SELECT 'b' || g, 'BTC/USDT', 100 FROM generate_series({lo}, {n}) g;
INSERT INTO agent_states (agent_id, symbol, balance, memory)
  SELECT 'b' || g, 'BTC/USDT', 100, '{{}}' FROM generate_series({lo}, {n}) g;""",
                       timeout=300)
        self.topo.psql("VACUUM ANALYZE", timeout=300)
        self.seeded = n
        return time.monotonic() - t0

    def reset_ownership(self):
        """No owner anywhere: rows released, no pods, every Redis emptied."""
        self.topo.psql("UPDATE agent_configs SET running_on = NULL, running_incarnation = NULL "
                       "WHERE running_on IS NOT NULL; DELETE FROM pods", timeout=120)
        self.flush_redis()

    def flush_redis(self):
        for port in self.redis_ports:
            subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True)

    # ------------------------------------------------------------ pods
    def start_pod(self, name, ttl_ms, lease_ms=0, recovery=True, extra=None,
                  reconcile_ms=5000, save_ms=5000, nredis=None):
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("AGENT_") or k.startswith("REDIS_") or k in ADMIN_VARS)}
        env.update({"DATABASE_URL": self.topo.db_url(self.topo.pg_port), "POD_NAME": name,
                    "ADMIN_TOKEN": TOKEN, "HTTP_PORT": str(port), "AGENT_SECRETS_KEY": KEY,
                    "REDIS_ADDRS": ",".join(f"127.0.0.1:{p}"
                                            for p in self.redis_ports[:nredis or self.nredis]),
                    "AGENT_LOCK_TTL": f"{ttl_ms}ms", "AGENT_SAVE_INTERVAL": f"{save_ms}ms",
                    "AGENT_RECONCILE_INTERVAL": f"{reconcile_ms}ms",
                    "AGENT_RECOVERY_ENABLED": "true" if recovery else "false",
                    "HTTP_MAX_CONNECTIONS_PER_IP": "0",
                    "SHUTDOWN_TIMEOUT": "25s", "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warn")})
        if lease_ms:
            env["AGENT_POD_LEASE_TTL"] = f"{lease_ms}ms"
        env.update(extra or {})
        path = os.path.join(self.topo.dir, f"{name}.log")
        p = subprocess.Popen([self.topo.daemon], env=env, stdout=open(path, "a"),
                             stderr=subprocess.STDOUT)
        self.topo.procs.append(p)
        pod = Pod(name, port, p, path)
        self.pods.append(pod)
        return pod

    def wait_ready(self, pod, timeout=120):
        ok = wait_for(lambda: pod.alive() and
                      http("GET", pod.port, "/ready", timeout=2)[0] == 200, timeout, 0.005)
        if not ok:
            raise RuntimeError(f"{pod.name} not ready (see {pod.log})")
        return time.monotonic() - pod.t0

    def kill9(self, pod):
        if pod.alive():
            pod.proc.kill()
        pod.proc.wait()

    def stop(self, pod, timeout=40):
        if pod.alive():
            pod.proc.send_signal(signal.SIGTERM)
        try:
            pod.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pod.proc.kill()
            pod.proc.wait()

    def kill_all(self):
        for p in self.pods:
            self.kill9(p)
        self.pods = []

    def running(self, pods):
        """agents_running summed over the pods that answer."""
        tot = 0
        for p in pods:
            code, body, _ = http("GET", p.port, "/metrics", timeout=5)
            if code == 200:
                tot += parse_prom(body).get("agents_running", 0)
        return tot

    def log_tail(self, pod, pattern, limit=5):
        try:
            with open(pod.log, errors="replace") as f:
                lines = [ln.rstrip() for ln in f if re.search(pattern, ln)]
        except OSError:
            return []
        return lines[-limit:]

    # ---------------------------------------------------------- limits
    def redis_benchmark(self, cmd, n=200000, ports=None, flush=True):
        """ops/s of redis-benchmark -P 50 on the first master, or on every
        master of `ports` at once (the mean of their rates: how a refresh
        cycle, which sends the same keys to every master, finds the
        machine).  flush=False leaves the masters' keys alone (a command
        that creates none, beside a running fleet)."""
        procs = [subprocess.Popen(["redis-benchmark", "-p", str(port), "-P", "50",
                                   "-n", str(n), "-r", "1000000", "-q"] + cmd,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True) for port in (ports or self.redis_ports[:1])]
        rates = []
        for p in procs:
            out, _ = p.communicate(timeout=180)
            m = re.findall(r"([\d.]+) requests per second", out)
            if m:
                rates.append(float(m[-1]))
        if flush:
            self.flush_redis()
        return sum(rates) / len(rates) if len(rates) == len(procs) else None

    def pgbench(self, mode, seconds=5, clients=4):
        """TPS of pgbench -S (select only) or -N (simple update: 3 writes and
        a select per transaction) on this run's server; the tables are made
        once in their own database."""
        env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(self.topo.pg_port),
                   PGUSER="postgres")
        if not getattr(self, "_pgbench_init", False):
            self.topo.psql("CREATE DATABASE pgbench", db="postgres")
            subprocess.run([f"{PGBIN}/pgbench", "-i", "-q", "-s", "1", "pgbench"], env=env,
                           capture_output=True, check=True)
            self._pgbench_init = True
        r = subprocess.run([f"{PGBIN}/pgbench", mode, "-n", "-c", str(clients), "-j", "2",
                            "-T", str(seconds), "pgbench"], env=env, capture_output=True,
                           text=True)
        m = re.search(r"tps = ([\d.]+)", r.stdout)
        return float(m.group(1)) if m else None


# --------------------------------------------------------------- load
def wrk(port, path, seconds, conns=25, threads=1, script=None):
    """(requests/s, non-2xx responses, socket errors) of wrk on one route."""
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s",
           "-H", "Authorization: Bearer " + TOKEN]
    if script:
        cmd += ["-s", script]
    r = subprocess.run(cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True,
                       text=True, timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", r.stdout)
    err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                    r.stdout)
    return (float(m.group(1)) if m else 0.0, int(bad.group(1)) if bad else 0,
            sum(int(x) for x in err.groups()) if err else 0)


def wrk_many(port, paths, seconds, conns):
    """One wrk per route at once; {path: (rps, non2xx, errors)}."""
    res = {}
    th = [threading.Thread(target=lambda p=p: res.__setitem__(p, wrk(port, p, seconds, conns)))
          for p in paths]
    for t in th:
        t.start()
    for t in th:
        t.join()
    return res


class Burners:
    """n processes spinning on a core each (a busy machine), by pid."""

    def __init__(self, n):
        self.procs = [subprocess.Popen(["sh", "-c", "while :; do :; done"])
                      for _ in range(n)]

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()
        self.procs = []


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    k = len(xs) // 2
    return xs[k] if len(xs) % 2 else (xs[k - 1] + xs[k]) / 2
