"""observe.py -- watches the chaos topology while faults happen: every pod's
/api/runners (every poll interval) and /metrics (every second), and the
rows of agent_state_history (read straight from PostgreSQL, not through a
proxy, every half second, before the trim removes them).

How: one thread per pod slot (a SIGSTOPped pod only stalls its own
thread) and one history thread; every observation is stamped with the
monotonic clock relative to the observer's start.  Ownership changes and
the faults the scenarios inject go into one event list: the timeline
printed around a violation.

Never: write to the database or to a pod; it only reads.
"""
import threading
import time

from topo import http


def parse_metrics(text):
    out = {}
    if not isinstance(text, str):
        return out
    for ln in text.splitlines():
        if not ln or ln[0] == "#":
            continue
        parts = ln.rsplit(" ", 1)
        if len(parts) == 2 and "{" not in parts[0]:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out


class Observer:
    def __init__(self, topo, poll_s=0.1):
        self.topo, self.poll_s = topo, poll_s
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        self.lock = threading.Lock()
        self.obs = {}        # pod name -> [(t, {agent: fence}) ...] (answers only)
        self.last = {}       # pod name -> {agent: fence} last answer
        self.events = []     # (t, text)
        self.history = {}    # id -> (t, agent, symbol, fence, pod, iterations)
        self.metrics = {}    # pod name -> {metric: value}
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self._poll_slot, args=(i,), daemon=True)
                        for i in range(topo.nslots)]
        self.threads.append(threading.Thread(target=self._poll_history, daemon=True))
        for t in self.threads:
            t.start()

    def now(self):
        return time.monotonic() - self.t0

    def event(self, text, t=None):
        with self.lock:
            self.events.append((self.now() if t is None else t, text))

    def close(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=5)

    # --------------------------------------------------------- pollers
    def _poll_slot(self, slot):
        n = 0
        while not self.stop_flag.is_set():
            pod = self.topo.pods[slot]
            if pod is None or pod.dead:
                time.sleep(self.poll_s)
                continue
            code, body, _ = http("GET", pod.port, "/api/runners", timeout=0.5)
            t = self.now()
            if code == 200 and isinstance(body, dict) and not pod.dead:
                cur = {r["agent_id"]: int(r.get("fence", 0)) for r in body.get("runners", [])}
                self._record(pod.name, t, cur)
            n += 1
            if n % max(1, int(1.0 / self.poll_s)) == 0:
                code, body, _ = http("GET", pod.port, "/metrics", timeout=0.5)
                if code == 200:
                    m = parse_metrics(body)
                    with self.lock:
                        self.metrics[pod.name] = m
            time.sleep(self.poll_s)

    def _record(self, pod, t, cur):
        with self.lock:
            prev = self.last.get(pod, {})
            for a in sorted(set(cur) - set(prev)):
                self.events.append((t, f"{pod} runs {a} (fence {cur[a]})"))
            for a in sorted(set(prev) - set(cur)):
                self.events.append((t, f"{pod} no longer runs {a}"))
            self.last[pod] = cur
            self.obs.setdefault(pod, []).append((t, cur))

    def pod_gone(self, pod, why):
        """A killed or exited pod: its runners are gone from now on."""
        t = self.now()
        with self.lock:
            prev = self.last.get(pod.name, {})
            self.events.append((t, f"{pod.name} {why} (had {len(prev)} runners)"))
            self.last[pod.name] = {}
            self.obs.setdefault(pod.name, []).append((t, {}))

    def _poll_history(self):
        last_id, errors = 0, 0
        while not self.stop_flag.is_set():
            try:
                rows = self.topo.psql(
                    "SELECT id, agent_id, symbol, fence, pod, "
                    "coalesce(memory->>'iterations','0'), extract(epoch from saved_at) "
                    f"FROM agent_state_history WHERE id > {max(0, last_id - 2000)} "
                    "ORDER BY id", timeout=5)
                with self.lock:
                    for r in rows:
                        i = int(r[0])
                        if i in self.history:
                            continue
                        t = float(r[6]) - self.wall0
                        self.history[i] = (t, r[1], r[2], int(r[3]), r[4], int(float(r[5])))
                        last_id = max(last_id, i)
            except Exception as e:  # PostgreSQL restarting: try again later
                errors += 1
                if errors <= 3 and self.topo.pg_port:
                    self.event(f"history poll failed: {type(e).__name__}: {str(e)[:120]}")
            self.stop_flag.wait(0.5)

    # -------------------------------------------------------- queries
    def snapshot(self):
        with self.lock:
            return ({p: list(v) for p, v in self.obs.items()}, list(self.events),
                    dict(self.history), {p: dict(m) for p, m in self.metrics.items()})

    def owners(self, agents=None):
        """agent -> [pods whose last answer lists it] (live pods only)."""
        live = {p.name for p in self.topo.live_pods()}
        out = {}
        with self.lock:
            for pod, cur in self.last.items():
                if pod not in live:
                    continue
                for a in cur:
                    out.setdefault(a, []).append(pod)
        return out

    def runners_of(self, pod):
        with self.lock:
            return dict(self.last.get(pod.name, {}))

    def first_seen(self, agent, since, exclude=()):
        """(t, pod) of the first answer at or after `since` listing agent on
        a pod not in exclude; None if none yet."""
        best = None
        with self.lock:
            for pod, seq in self.obs.items():
                if pod in exclude:
                    continue
                for t, cur in seq:
                    if t >= since and agent in cur:
                        if best is None or t < best[0]:
                            best = (t, pod)
                        break
        return best

    def last_seen(self, pod, agent, since=0.0):
        """Time of the last answer of pod listing agent (after since)."""
        with self.lock:
            for t, cur in reversed(self.obs.get(pod, [])):
                if t < since:
                    break
                if agent in cur:
                    return t
        return None

    def seen_after(self, owned, since, bound):
        """(pod, agent, t) for each agent of owned ({pod name: [agents]})
        its pod still listed at t, more than bound s after since."""
        for pod, agents in owned.items():
            for a in agents:
                ls = self.last_seen(pod, a, since=since)
                if ls is not None and ls - since > bound:
                    yield pod, a, ls

    def intervals(self, pod, agent, max_gap=0.6):
        """Fresh runs of agent on pod: [a, b] spans between consecutive
        answers that both list it, at most max_gap apart."""
        out = []
        with self.lock:
            seq = list(self.obs.get(pod, []))
        prev = None
        for t, cur in seq:
            if agent in cur:
                if prev is not None and agent in prev[1] and t - prev[0] <= max_gap:
                    if out and out[-1][1] == prev[0]:
                        out[-1][1] = t
                    else:
                        out.append([prev[0], t])
                else:
                    out.append([t, t])
            prev = (t, cur)
        return out
