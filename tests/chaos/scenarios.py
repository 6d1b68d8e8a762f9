"""scenarios.py -- the first eight fault scenarios of the chaos suite, each
one repetition per call, on a topology that setup() built: kill -9, zombie
(SIGSTOP), partition from Redis, partition from PostgreSQL, Redis masters
down, PostgreSQL restart, rolling restart, wall-clock jump (faketime).
The poison, flood and Redis-down bot scenarios live in poison.py, flood.py
and botdown.py on the same context (Ctx).

How: a scenario picks its victim with the seeded rng, injects the fault
through the topology (signals, faultproxy commands, server restarts), logs
it as an event, measures with the Observer and reports violations to the
Checker with the scenario's own bound (the failover bounds of the design:
lock TTL, or pod lease, + reconcile + 1 s; reconcile + 1 s after a
graceful shutdown).
Failover times go to ctx.failovers (seconds).

Never: sleep where a wait for the behaviour is possible, or choose a
victim without the rng (a failure must replay from its seed).
"""
import os
import signal
import subprocess
import time

from topo import http, wait_for


class Ctx:
    def __init__(self, topo, obs, chk, rng, s, log):
        self.topo, self.obs, self.chk, self.rng, self.s, self.log = topo, obs, chk, rng, s, log
        self.failovers = []
        self.agents = []
        self.notes = []
        self.figures = {}      # scenario figures for the report (poison, flood, bot)
        self.poisoned = set()  # agents that can never start: not wanted by the checks
        self.finishers = []    # called once after the repetitions
        self.cleanups = []     # called in the runner's finally

    @property
    def ttl(self):
        return self.s.ttl_ms / 1000.0

    @property
    def rec(self):
        return self.s.reconcile_ms / 1000.0

    @property
    def slack(self):  # observation resolution: two polls
        return 2 * self.obs.poll_s

    def fault(self, text):
        self.obs.event("FAULT " + text)
        self.log(f"   t={self.obs.now():7.2f}s {text}")

    def victim(self):
        """A live, answering pod with runners (seeded choice)."""
        cands = [p for p in self.topo.live_pods()
                 if not p.stopped and self.obs.runners_of(p)]
        if not cands:
            return None
        return cands[self.rng.randrange(len(cands))]

    def wait_taken_over(self, agents, since, exclude, timeout):
        wait_for(lambda: all(self.obs.first_seen(a, since, exclude) for a in agents),
                 timeout, 0.05)
        return {a: self.obs.first_seen(a, since, exclude) for a in agents}

    def failover_check(self, what, agents, t0, exclude, bound):
        seen = self.wait_taken_over(agents, t0, exclude, bound + 12)
        for a in agents:
            ft = seen[a][0] - t0 if seen[a] else None
            if ft is not None:
                self.failovers.append(ft)
            self.chk.bound(f"(d) {what}: failover of {a}", ft, bound, t0)

    def wanted(self):
        rows = self.topo.psql("SELECT id FROM agent_configs WHERE is_active AND is_trading")
        return [r[0] for r in rows if r[0] not in self.poisoned]

    def converge(self, timeout=None, balanced=False):
        if timeout is None:
            timeout = self.ttl + self.rec + 3
        return self.chk.converged(self.topo, self.obs, self.wanted(), timeout,
                                  balanced)


# ---------------------------------------------------------------- setup
def setup(topo, s, log, faketime=None, fake_slot=None):
    """Servers, proxies, pods, then s.agents noop agents through the admin
    API, agent i started through pod i % 3.  faketime applies to fake_slot."""
    topo.start_pg()
    for _ in range(topo.nredis):
        topo.start_redis()
    topo.start_proxies()
    topo.migrate()
    pods = [topo.start_pod(i, faketime if i == fake_slot else None)
            for i in range(topo.nslots)]
    for p in pods:
        topo.wait_ready(p)
    port = pods[0].port

    def call(method, path, body=None, port=port):
        code, b, _ = http(method, port, path, body, timeout=10)
        if code // 100 != 2:
            raise RuntimeError(f"{method} {path}: HTTP {code} {b}")
        return b
    call("POST", "/api/users", {"id": 42, "name": "chaos"})
    ex = call("POST", "/api/users/42/exchanges",
              {"exchange": "binance", "api_key": "k", "api_secret": "s", "testnet": True})
    call("POST", "/api/users/42/pairs", {"exchange_id": ex["id"], "symbol": "BTC/USDT"})
    agents = [f"agent-{i:03d}" for i in range(s.agents)]
    for i, a in enumerate(agents):
        call("POST", "/api/agents", {"user_id": 42, "strategy": "noop", "name": a, "id": a})
        call("POST", f"/api/agents/{a}/assign", {"symbol": "BTC/USDT", "balance": 100})
    for i, a in enumerate(agents):
        call("POST", f"/api/agents/start/{a}", port=pods[i % len(pods)].port)
    return agents


# ------------------------------------------------------------ scenarios
def s1_kill(c):
    """kill -9 a pod: each of its agents runs elsewhere within TTL (the pod
    lease TTL in pod-lease mode) + reconcile + 1 s; a replacement pod
    joins."""
    v = c.victim()
    if not v:
        return c.chk.violation(c.obs.now(), "no pod with runners to kill")
    time.sleep(c.rng.uniform(0, c.s.refresh_ms / 1000.0))
    agents = list(c.obs.runners_of(v))
    t0 = c.obs.now()
    v.proc.kill()
    v.proc.wait()
    v.dead = True
    c.obs.pod_gone(v, "killed")
    c.fault(f"kill -9 {v.name} ({len(agents)} runners)")
    c.failover_check("kill", agents, t0, {v.name},
                     c.s.death_ms / 1000.0 + c.rec + 1 + c.slack)
    p = c.topo.start_pod(v.slot)
    c.topo.wait_ready(p)
    c.obs.event(f"{p.name} started and ready")


def s2_zombie(c):
    """SIGSTOP a pod for 2 x TTL: others take over; after SIGCONT its
    runners stop within one refresh interval and none of its writes is
    accepted (the fence refuses them)."""
    v = c.victim()
    if not v:
        return c.chk.violation(c.obs.now(), "no pod with runners to stop")
    time.sleep(c.rng.uniform(0, c.s.refresh_ms / 1000.0))
    held = c.obs.runners_of(v)  # agent -> the fence the zombie holds
    agents = list(held)
    t0 = c.obs.now()
    os.kill(v.pid, signal.SIGSTOP)
    v.stopped = True
    c.fault(f"SIGSTOP {v.name} ({len(agents)} runners) for {2 * c.ttl:.1f}s")
    time.sleep(2 * c.ttl)
    t1 = c.obs.now()
    os.kill(v.pid, signal.SIGCONT)
    v.stopped = False
    c.fault(f"SIGCONT {v.name}")
    c.failover_check("zombie", agents, t0, {v.name}, c.ttl + c.rec + 1 + c.slack)
    bound = c.s.refresh_ms / 1000.0 + 1 + c.slack
    wait_for(lambda: (c.obs.obs.get(v.name) or [(0, {})])[-1][0] > t1 + bound, bound + 5)
    for _, a, ls in c.obs.seen_after({v.name: agents}, t1, bound):
        c.chk.violation(ls, f"zombie {v.name} still runs {a} {ls - t1:.2f}s after "
                            f"SIGCONT (bound {bound:.2f}s)")
    _, _, hist, _ = c.obs.snapshot()
    time.sleep(1.0)  # the history poller catches up
    _, _, hist, _ = c.obs.snapshot()
    # Its stale tokens must be refused; once it let them go it is a live pod
    # like any other and may claim agents anew (fair sharing), with new fences.
    for i, (t, a, sym, fence, pod, it) in sorted(hist.items()):
        if pod == v.name and t > t1 + 0.3 and held.get(a) == fence:
            c.chk.violation(t, f"zombie {v.name}: write to {a} with its stale fence "
                               f"{fence} accepted after SIGCONT (history id {i})")
    c.zombie = (v.name, t0, t1)


def s3_redis_partition(c):
    """Partition a pod from every Redis master for 2 x TTL: its runners stop
    before their lease validity ends (TTL), others take over; healed, no
    agent runs twice."""
    v = c.victim()
    if not v:
        return c.chk.violation(c.obs.now(), "no pod with runners to partition")
    agents = list(c.obs.runners_of(v))
    redis = list(range(1, 1 + c.topo.nredis))
    t0 = c.obs.now()
    c.topo.fault(v.slot, redis, "blackhole")
    c.fault(f"partition {v.name} from every Redis master ({len(agents)} runners)")
    if c.s.backend == "redis":
        c.failover_check("redis partition", agents, t0, {v.name}, c.ttl + c.rec + 1 + c.slack)
    time.sleep(max(0.0, t0 + 2 * c.ttl - c.obs.now()))
    stop_bound = c.ttl + c.slack
    for a in agents:
        ls = c.obs.last_seen(v.name, a, since=t0)
        if c.s.backend == "redis" and ls is not None and ls - t0 > stop_bound:
            c.chk.violation(ls, f"{v.name} still runs {a} {ls - t0:.2f}s into the Redis "
                                f"partition (lease validity < {stop_bound:.2f}s)")
        if c.s.backend != "redis" and (ls is None or ls < t0 + 2 * c.ttl - 1):
            c.chk.violation(t0, f"{a} left {v.name} though the lock is not in Redis")
    c.topo.fault(v.slot, redis, "pass")
    c.fault(f"heal {v.name} <-> Redis")


def s4_pg_partition(c):
    """Partition a pod from PostgreSQL only: its saves fail, it stops and
    releases its agents within about a TTL, others take over."""
    v = c.victim()
    if not v:
        return c.chk.violation(c.obs.now(), "no pod with runners to partition")
    agents = list(c.obs.runners_of(v))
    t0 = c.obs.now()
    c.topo.fault(v.slot, [0], "blackhole")
    c.fault(f"partition {v.name} from PostgreSQL ({len(agents)} runners)")
    bound = c.s.pg_partition_bound_s
    c.failover_check("PostgreSQL partition", agents, t0, {v.name}, bound)
    for _, a, ls in c.obs.seen_after({v.name: agents}, t0, bound):
        c.chk.violation(ls, f"{v.name} still runs {a} {ls - t0:.2f}s into its "
                            f"PostgreSQL partition (bound {bound:.2f}s)")
    time.sleep(max(0.0, t0 + 2 * c.ttl - c.obs.now()))
    c.topo.fault(v.slot, [0], "pass")
    c.fault(f"heal {v.name} <-> PostgreSQL")


def redis_count(port, keys):
    """How many of keys exist on the master at port (-1: no answer)."""
    r = subprocess.run(["redis-cli", "-p", str(port), "EXISTS", *keys],
                       capture_output=True, text=True, timeout=5)
    try:
        return int(r.stdout.strip())
    except ValueError:
        return -1


def s5_redis_down(c):
    """Kill 1 of 3 Redis masters: no agent changes owner.  Kill a second:
    runners stop within validity.  Bring both back: everything restored.
    Starts from a settled fleet: after the previous run's restore, the pod
    that took everything back hands agents over to reach the fair share,
    and such a hand-over is not the fault's doing.  Settled also means every
    agent's lock on every master: a lock taken while the previous run's
    masters were still down (or being dialled again) lives on two, and the
    library sets it again on the third at its next refresh."""
    c.converge(balanced=True)
    if c.s.backend == "redis":
        keys = [f"agent:lock:{a}" for a in c.wanted()]
        t = c.obs.now()
        if keys and not wait_for(lambda: all(redis_count(port, keys) == len(keys)
                                             for port, _ in c.topo.redis),
                                 c.ttl + 2, 0.1):
            c.chk.violation(t, "agent locks not on every master "
                               f"{c.ttl + 2:.0f}s after the fleet settled")
    order = list(range(c.topo.nredis))
    c.rng.shuffle(order)
    first, second = order[0], order[1]
    t0 = c.obs.now()
    c.topo.kill_redis(first)
    c.fault(f"kill Redis master {first}")
    time.sleep(2 * c.ttl)
    _, events, _, _ = c.obs.snapshot()
    moved = [(t, e) for t, e in events if t >= t0 and ("runs agent" in e)]
    for t, e in moved[:5]:
        c.chk.violation(t, f"owner changed with 1 of 3 masters down: {e}")
    owned = {p.name: list(c.obs.runners_of(p)) for p in c.topo.live_pods()}
    t1 = c.obs.now()
    c.topo.kill_redis(second)
    c.fault(f"kill Redis master {second} (quorum lost)")
    time.sleep(c.ttl + 1)
    if c.s.backend == "redis":
        bound = c.ttl + c.slack
        for pod, a, ls in c.obs.seen_after(owned, t1, bound):
            c.chk.violation(ls, f"{pod} still runs {a} {ls - t1:.2f}s after the "
                                f"quorum was lost (bound {bound:.2f}s)")
    t2 = c.obs.now()
    c.topo.start_redis(first)
    c.topo.start_redis(second)
    c.fault(f"Redis masters {first} and {second} back (empty)")
    agents = c.wanted()
    bound = c.ttl + c.rec + 1 + c.slack
    if c.s.backend == "redis":
        c.failover_check("restore after quorum back", agents, t2, set(), bound)


def s6_pg_restart(c):
    """Restart PostgreSQL mid-run: no agent lost, saves fail fast and
    succeed after, no state regression ((a) and (c) on the history)."""
    t0 = c.obs.now()
    c.fault("PostgreSQL restart (pg_ctl restart -m fast)")
    c.topo.pg_ctl("restart", ["-m", "fast"])
    t1 = c.obs.now()
    c.fault(f"PostgreSQL back after {t1 - t0:.2f}s")
    ok = wait_for(lambda: any(t > t1 for t, *_ in c.obs.snapshot()[2].values()),
                  c.ttl + c.rec + 2, 0.2)
    if not ok:
        c.chk.violation(t1, "no save accepted after PostgreSQL came back")
    else:
        first = min(t for t, *_ in c.obs.snapshot()[2].values() if t > t1)
        c.failovers.append(first - t1)
    c.converge()


def s7_rolling(c):
    """SIGTERM every pod in turn, a new pod each time: every agent's gap
    (time on no pod) at most reconcile + 1 s."""
    ts = c.obs.now()
    for slot in range(c.topo.nslots):
        v = c.topo.pods[slot]
        t = c.obs.now()
        v.proc.send_signal(signal.SIGTERM)
        c.fault(f"SIGTERM {v.name}")
        try:
            v.proc.wait(timeout=20)
        except Exception:
            c.chk.violation(t, f"{v.name} did not exit within 20s of SIGTERM")
            v.proc.kill()
            v.proc.wait()
        v.dead = True
        c.obs.pod_gone(v, f"exited with code {v.proc.returncode}")
        if v.proc.returncode != 0:
            c.chk.violation(c.obs.now(), f"{v.name} exited with {v.proc.returncode}")
        p = c.topo.start_pod(slot)
        c.topo.wait_ready(p)
        c.obs.event(f"{p.name} started and ready")
    c.converge()
    te = c.obs.now()
    bound = c.rec + 1 + c.slack
    pods = [p.name for p in c.topo.all_pods]
    for a in c.wanted():
        spans = sorted(iv for p in pods for iv in c.obs.intervals(p, a)
                       if iv[1] >= ts and iv[0] <= te)
        worst, reach = 0.0, None
        for s0, s1 in spans:
            if reach is not None and s0 > reach:
                gap = s0 - reach
                worst = max(worst, gap)
                if gap > bound:
                    c.chk.violation(reach, f"{a} ran nowhere for {gap:.2f}s "
                                           f"(bound {bound:.2f}s)")
            reach = s1 if reach is None else max(reach, s1)
        c.failovers.append(worst)


def s8_clock_jump(c, jump_at, offset_h):
    """One pod's wall clock jumps by hours (faketime): no owner change, no
    lock lost, nothing fenced; the jump is checked on the pod's Date header."""
    v = c.topo.pods[c.fake_slot]
    before = c.obs.metrics.get(v.name, {}).get("agent_lock_lost_total", 0)
    wait_for(lambda: c.obs.now() >= jump_at, jump_at - c.obs.now() + 1)
    c.fault(f"{v.name}'s wall clock jumps {offset_h:+d}h (faketime)")
    time.sleep(1.0)
    _, _, hdrs = http("GET", v.port, "/healthz")
    date = hdrs.get("Date")
    skew = None
    if date:
        import email.utils
        skew = email.utils.parsedate_to_datetime(date).timestamp() - time.time()
    if skew is None or abs(skew - offset_h * 3600) > 120:
        c.chk.violation(c.obs.now(), f"faketime did not take effect on {v.name} "
                                     f"(Date header {date!r})")
    c.notes.append(f"{v.name} clock skew {skew if skew is None else round(skew)}s")
    t0 = jump_at
    time.sleep(2 * c.ttl + c.rec)
    _, events, _, metrics = c.obs.snapshot()
    for t, e in events:
        if t >= t0 - 0.5 and ("runs agent" in e or "no longer runs" in e):
            c.chk.violation(t, f"owner changed after a wall-clock jump: {e}")
    lost = metrics.get(v.name, {}).get("agent_lock_lost_total", 0)
    if lost != before:
        c.chk.violation(c.obs.now(), f"{v.name} lost {lost - before} locks after the jump")
