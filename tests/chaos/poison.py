"""poison.py -- the poison scenario of the chaos suite: two agents that can
never start live among the healthy noop agents while pods are killed.

  poison-type  inserted by SQL with strategy 'no-such-type' and a symbol:
               no pod has that agent type;
  poison-cred  a 'conservative' agent (paper mode) of its own user, whose
               exchange account and pair exist, but whose account's
               api_key bytes were corrupted by SQL (one byte flipped): the
               account hook cannot decrypt it, so start() refuses.

Each repetition kills a pod (kill -9, as s1): every healthy agent must run
elsewhere within the usual bound, while the poisoned ones stay in backoff
(start_failures > 0, last_error naming the reason -- the user_exchanges
row for the credential, never a key) and cost at most one claim and one
release per attempt: fence growth <= 2 x attempts, attempts no closer
together than the backoff (backoff_min x 2^(failures - 1)) allows.

How: a sampler thread reads fence, start_failures, last_error and
running_on of both rows straight from PostgreSQL every 0.25 s; the checks
run on those samples when the scenario finishes.  A user's start through
the admin API is tried first on each: it must be refused (the wish left
as it was), the reply naming no secret.

Never: write to a pod's tables except the rows this file creates, or
print the poisoned account's key or secret.
"""
import os
import threading
import time

from topo import http, http_ok, wait_for

BAD_TYPE = "poison-type"
BAD_CRED = "poison-cred"
POISON_USER = 43
SAMPLE_S = 0.25
BACKOFF_MIN_S = 5.0  # the library's default; the host does not change it


def backoff_s(failures):
    """Delay after the failures-th failure (the library's schedule)."""
    return min(600.0, BACKOFF_MIN_S * 2 ** (failures - 1))


class Poison:
    def __init__(self, c):
        self.c = c
        self.ids = (BAD_TYPE, BAD_CRED)
        self.key = "PK" + os.urandom(16).hex()
        self.secret = "PS" + os.urandom(16).hex()
        self.exchange_id = None
        self.samples = []        # (t, id, fence, failures, last_error, owned)
        self.base = {}           # id -> (t, fence, failures) when it became wanted
        self.leaks = []
        self.stop = threading.Event()
        self.thread = None

    # ------------------------------------------------------------ rows
    def insert(self):
        c = self.c
        topo = c.topo
        port = topo.live_pods()[0].port
        http_ok("POST", port, "/api/users", {"id": POISON_USER, "name": "poison"})
        ex = http_ok("POST", port, f"/api/users/{POISON_USER}/exchanges",
                  {"exchange": "binance", "api_key": self.key, "api_secret": self.secret,
                   "testnet": True})
        self.exchange_id = int(ex["id"])
        http_ok("POST", port, f"/api/users/{POISON_USER}/pairs",
             {"exchange_id": self.exchange_id, "symbol": "BTC/USDT"})
        http_ok("POST", port, "/api/agents", {"user_id": POISON_USER, "strategy": "conservative",
                                     "name": BAD_CRED, "id": BAD_CRED})
        http_ok("POST", port, f"/api/agents/{BAD_CRED}/assign", {"symbol": "BTC/USDT", "balance": 100})
        # flip one byte inside the ciphertext (after the 12-byte nonce): the
        # GCM tag no longer matches
        topo.psql("UPDATE user_exchanges SET api_key = set_byte(api_key, 14, "
                  f"get_byte(api_key, 14) # 255) WHERE id = {self.exchange_id}")
        topo.psql("INSERT INTO agent_configs (id, user_id, strategy, name, is_active, "
                  f"is_trading) VALUES ('{BAD_TYPE}', {POISON_USER}, 'no-such-type', "
                  f"'{BAD_TYPE}', true, false); "
                  "INSERT INTO agent_symbol_assignments (agent_id, symbol, balance) "
                  f"VALUES ('{BAD_TYPE}', 'BTC/USDT', 100)")
        # a user's start is refused on both, the wish left as it was
        for a in self.ids:
            code, body, _ = http("POST", port, f"/api/agents/start/{a}", timeout=10)
            text = str(body)
            self.leak_check(f"start reply of {a}", text)
            wish = topo.psql(f"SELECT is_trading FROM agent_configs WHERE id = '{a}'")
            c.log(f"   user start of {a}: HTTP {code} {text[:160]}")
            if code // 100 == 2 or wish != [["f"]]:
                c.chk.violation(c.obs.now(), f"poison: a user's start of {a} was not refused "
                                             f"(HTTP {code}, is_trading {wish})")
            if a == BAD_CRED and f"user_exchanges row {self.exchange_id}" not in text:
                c.chk.violation(c.obs.now(), f"poison: the refusal of {a} does not name "
                                             f"user_exchanges row {self.exchange_id}: {text[:200]}")
        # the wish, as if the user had started them before they went bad
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        for a in self.ids:
            t = c.obs.now()
            r = topo.psql("UPDATE agent_configs SET is_trading = true WHERE id = "
                          f"'{a}' RETURNING fence, start_failures")
            self.base[a] = (t, int(r[0][0]), int(r[0][1]))
            c.obs.event(f"FAULT {a} wanted (fence {r[0][0]})")
        c.log(f"   t={c.obs.now():7.2f}s poisoned agents wanted: {BAD_TYPE} (strategy "
              f"no-such-type), {BAD_CRED} (user_exchanges row {self.exchange_id} api_key "
              "corrupted)")

    def leak_check(self, where, text):
        for name, v in (("api_key", self.key), ("api_secret", self.secret)):
            if v in text or v.encode().hex() in text:
                self.leaks.append(f"{where} contains the account's {name}")

    # ---------------------------------------------------------- sampler
    def _sample(self):
        ids = ",".join(f"'{a}'" for a in self.ids)
        while not self.stop.is_set():
            try:
                rows = self.c.topo.psql(
                    "SELECT id, fence, start_failures, coalesce(last_error, ''), "
                    f"running_on IS NOT NULL FROM agent_configs WHERE id IN ({ids})",
                    timeout=5)
                t = self.c.obs.now()
                for r in rows:
                    self.samples.append((t, r[0], int(r[1]), int(r[2]), r[3], r[4] == "t"))
            except Exception:  # noqa: BLE001 -- PostgreSQL busy: next sample
                pass
            self.stop.wait(SAMPLE_S)

    def last(self, a):
        for s in reversed(self.samples):
            if s[1] == a:
                return s
        return None

    def failures(self, a):
        s = self.last(a)
        return (s[3] - self.base[a][2]) if s else 0

    def wait_failures(self, n, timeout):
        return wait_for(lambda: all(self.failures(a) >= n for a in self.ids), timeout, 0.1)

    def close(self):
        self.stop.set()
        if self.thread:
            self.thread.join(timeout=5)

    # ----------------------------------------------------------- checks
    def finish(self):
        """After the repetitions: waits for a second attempt on each, then
        checks the samples; fills the scenario's figures."""
        c = self.c
        slack = 2 * SAMPLE_S + c.slack
        # the second attempt comes one backoff after the first failure, at
        # the next pass
        first = {a: self.first_failure(a) for a in self.ids}
        known = [t for t in first.values() if t is not None]
        bound = (max(known) if known else c.obs.now()) + backoff_s(1) + c.rec + 1 + slack
        self.wait_failures(2, max(0.0, bound - c.obs.now()))
        # an attempt in flight (claimed, not yet released) ends within a pass
        wait_for(lambda: not any(self.last(a) and self.last(a)[5] for a in self.ids),
                 c.rec + 1, 0.1)
        time.sleep(SAMPLE_S + 0.1)
        self.close()
        fig = {}
        for a in self.ids:
            fig[a] = self.check(a, first[a])
        for pod in c.topo.all_pods:
            try:
                with open(pod.log, errors="replace") as f:
                    self.leak_check(f"{pod.name}'s log", f.read())
            except OSError:
                pass
        for text in self.leaks:
            c.chk.violation(c.obs.now(), f"poison: secret leaked: {text}")
        backoff_now = [m.get("agents_backoff") for m in c.obs.snapshot()[3].values()]
        fig["agents_backoff"] = max((int(v) for v in backoff_now if v is not None), default=None)
        fig["secret_leaks"] = len(self.leaks)
        c.figures["poison"] = fig
        return fig

    def first_failure(self, a):
        b = self.base[a][2]
        for t, i, _, f, _, _ in self.samples:
            if i == a and f > b:
                return t
        return None

    def check(self, a, t_first):
        c = self.c
        t0, f0, s0 = self.base[a]
        mine = [s for s in self.samples if s[1] == a and s[0] >= t0]
        slack = 2 * SAMPLE_S + c.slack
        bound = c.rec + 1 + slack
        if t_first is None or t_first - t0 > bound:
            c.chk.bound(f"poison: first failed start of {a} after it became wanted",
                        None if t_first is None else t_first - t0, bound, t0)
        # every sample: fence - f0 <= 2 x failures (+1 while an attempt's
        # claim is in flight)
        for t, _, fence, f, _, owned in mine:
            allowed = 2 * (f - s0) + (1 if owned else 0)
            if fence - f0 > allowed:
                c.chk.violation(t, f"poison: {a} fence grew by {fence - f0} with "
                                   f"{f - s0} failed attempts{' (one in flight)' if owned else ''}")
                break
        # attempts no closer together than the backoff: two failures seen
        # in one sample (0.25 s apart at most) are two attempts with no
        # backoff between them
        times, prev = [], s0
        for t, _, _, f, _, _ in mine:
            if f > prev + 1:
                c.chk.violation(t, f"poison: {a} failed attempts {prev - s0 + 1} to {f - s0} "
                                   f"within one sample ({SAMPLE_S}s; backoff after "
                                   f"attempt {prev - s0 + 1}: {backoff_s(prev - s0 + 1):.1f}s)")
            if f > prev:
                times.append((t, f))
                prev = f
        gaps = []
        for (ta, fa), (tb, fb) in zip(times, times[1:]):
            gaps.append(round(tb - ta, 2))
            want = backoff_s(fa - s0) - 2 * SAMPLE_S
            if fb - fa == 1 and tb - ta < want:
                c.chk.violation(tb, f"poison: {a} attempt {fb - s0} came {tb - ta:.2f}s after "
                                    f"attempt {fa - s0} (backoff {backoff_s(fa - s0):.1f}s)")
        last = mine[-1] if mine else None
        attempts = (last[3] - s0) if last else 0
        growth = (last[2] - f0) if last else 0
        err = last[4] if last else ""
        if attempts < 2:
            c.chk.violation(c.obs.now(), f"poison: {a} made {attempts} failed attempts, "
                                         "want 2 (second one due one backoff after the first)")
        if last and last[5]:
            c.chk.violation(c.obs.now(), f"poison: {a} is claimed by a pod at the end")
        if growth > 2 * attempts:
            c.chk.violation(c.obs.now(), f"poison: {a} fence grew by {growth} in "
                                         f"{attempts} attempts (> 2 per attempt)")
        if not err:
            c.chk.violation(c.obs.now(), f"poison: {a} has no last_error")
        elif a == BAD_TYPE and "no-such-type" not in err:
            c.chk.violation(c.obs.now(), f"poison: last_error of {a} does not name the "
                                         f"type: {err[:160]}")
        elif a == BAD_CRED and f"user_exchanges row {self.exchange_id}" not in err:
            c.chk.violation(c.obs.now(), f"poison: last_error of {a} does not name "
                                         f"user_exchanges row {self.exchange_id}: {err[:160]}")
        self.leak_check(f"last_error of {a}", err)
        seen = c.obs.first_seen(a, 0.0)
        if seen:
            c.notes.append(f"{a} listed by {seen[1]}'s runners at t={seen[0]:.2f}s "
                           "(a runner whose start() was under way)")
        return {"attempts": attempts, "fence_growth": growth, "retry_gaps_s": gaps,
                "first_failure_s": None if t_first is None else round(t_first - t0, 2),
                "last_error": err[:200]}

    def plot_rows(self):
        """(t, id, fence growth, failures) for the timeline figure."""
        out = []
        for t, a, fence, f, _, _ in self.samples:
            if a in self.base:
                out.append((t, a, fence - self.base[a][1], f - self.base[a][2]))
        return out


def s9_poison(c):
    """One repetition: the poisoned agents are made wanted on the first,
    then a pod is killed (kill -9) as in s1."""
    from scenarios import s1_kill
    p = getattr(c, "poison", None)
    if p is None:
        p = c.poison = Poison(c)
        c.poisoned.update(p.ids)
        c.cleanups.append(p.close)
        c.finishers.append(p.finish)
        p.insert()
        # each is tried at the next pass: fail once before the first kill
        if not p.wait_failures(1, c.rec + 1 + 2 * SAMPLE_S + c.slack):
            c.log("   poisoned agents not failed yet; the kill goes ahead")
    s1_kill(c)
