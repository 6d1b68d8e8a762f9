"""checker.py -- the invariant checker of the chaos suite:

  (a) per agent and symbol, accepted writes (agent_state_history in id
      order) never go back to an older fence;
  (b) at the end every wanted agent is in exactly one live pod's runners;
  (c) the noop agent's iteration counter never goes backwards by more than
      one save interval allows;
  (d) failover within its bound (the scenarios measure and call bound());
  and, all along, no agent listed by two answering pods for longer than a
  refresh interval plus a second (double run).

How: works on the Observer's records after (or during) a scenario; every
violation carries a time, so the timeline around it can be printed.

Never: relax a bound to make a run pass; bounds come from the settings.
"""
import math
import time


class Checker:
    def __init__(self, settings, log):
        self.s = settings
        self.log = log
        self.violations = []   # (t, text)

    def violation(self, t, text):
        self.violations.append((t, text))
        self.log(f"   VIOLATION at t={t:.2f}s: {text}")

    def bound(self, what, value_s, bound_s, t):
        """(d): value_s must be <= bound_s."""
        if value_s is None:
            self.violation(t, f"{what}: never happened (bound {bound_s:.2f}s)")
        elif value_s > bound_s:
            self.violation(t, f"{what}: {value_s:.2f}s > bound {bound_s:.2f}s")

    # ------------------------------------------------------------ (a) (c)
    def history(self, history):
        rows = sorted(history.items())
        per = {}
        allowed = math.ceil(self.s.save_ms / self.s.step_ms) + 1
        for i, (t, agent, sym, fence, pod, it) in rows:
            key = (agent, sym)
            if key in per:
                pf, pit, ppod, pi = per[key]
                if fence < pf:
                    self.violation(t, f"(a) {agent}/{sym}: write of fence {fence} by {pod} "
                                      f"(history id {i}) after fence {pf} by {ppod} (id {pi})")
                if it < pit - allowed:
                    self.violation(t, f"(c) {agent}/{sym}: iterations {it} by {pod} "
                                      f"(id {i}) after {pit} by {ppod} (id {pi}); "
                                      f"at most {allowed} back allowed")
                if fence >= pf:
                    per[key] = (fence, max(it, pit) if fence == pf else it, pod, i)
            else:
                per[key] = (fence, it, pod, i)
        return len(rows)

    # ---------------------------------------------------------- double run
    def double_runs(self, obs, pods, agents, since):
        limit = self.s.refresh_ms / 1000.0 + 1.0
        worst = 0.0
        for a in agents:
            spans = []
            for p in pods:
                for iv in obs.intervals(p, a):
                    if iv[1] >= since:
                        spans.append((iv[0], iv[1], p))
            spans.sort()
            for i in range(len(spans)):
                for j in range(i + 1, len(spans)):
                    if spans[j][0] > spans[i][1]:
                        break
                    if spans[j][2] == spans[i][2]:
                        continue
                    ov = min(spans[i][1], spans[j][1]) - spans[j][0]
                    worst = max(worst, ov)
                    if ov > limit:
                        self.violation(spans[j][0], f"double run: {a} listed by {spans[i][2]} "
                                                    f"and {spans[j][2]} for {ov:.2f}s "
                                                    f"(> {limit:.2f}s)")
        return worst

    # ---------------------------------------------------------------- (b)
    def converged(self, topo, obs, wanted, timeout, balanced=False):
        """Waits until every wanted agent is in exactly one live pod's fresh
        runners and nothing unwanted runs -- with `balanced`, also no live
        pod above its fair share, ceil(wanted / live pods), so that no
        hand-over is still to come; a violation if not by timeout."""
        end = time.monotonic() + timeout
        bad = None
        while True:
            t_check = obs.now()
            time.sleep(2 * obs.poll_s + 0.05)
            live = topo.live_pods()
            fresh = all(obs.obs.get(p.name) and obs.obs[p.name][-1][0] > t_check
                        for p in live)
            own = obs.owners()
            bad = [a for a in wanted if len(own.get(a, [])) != 1]
            extra = [a for a in own if a not in wanted]
            over = []
            if balanced and live:
                share = -(-len(wanted) // len(live))
                counts = {}
                for pods in own.values():
                    for p in pods:
                        counts[p] = counts.get(p, 0) + 1
                over = [p for p, k in counts.items() if k > share]
            if fresh and not bad and not extra and not over:
                return True
            if time.monotonic() > end:
                detail = ", ".join(f"{a} on {own.get(a, [])}" for a in (bad + extra)[:6])
                self.violation(obs.now(), f"(b) not converged after {timeout:.1f}s: "
                                          f"{len(bad)} wanted agents not on exactly one pod, "
                                          f"{len(extra)} unwanted running ({detail})"
                                          + (f", above their fair share: {over}" if over else "")
                               if fresh else f"(b) a live pod stopped answering: "
                                             f"{[p.name for p in live]}")
                return False


def print_timeline(log, events, history, t, agent=None, before=6.0, after=4.0):
    log(f"   --- timeline around t={t:.2f}s ---")
    rows = [(te, txt) for te, txt in events if t - before <= te <= t + after]
    for te, a, sym, fence, pod, it in history.values():
        if (agent is None or a == agent) and t - before <= te <= t + after and agent:
            rows.append((te, f"history: {a}/{sym} fence {fence} by {pod} iterations {it}"))
    for te, txt in sorted(rows)[-60:]:
        log(f"   {te:8.2f}s  {txt}")
    log("   --- end of timeline ---")
