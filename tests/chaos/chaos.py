#!/usr/bin/env python3
"""chaos.py -- the chaos runner of libagentrecover: builds the loopback
topology (3 pods, 3 Redis masters, 1 PostgreSQL, a faultproxy per pod and
server), runs the fault scenarios with seeded random schedules, checks the
invariants, prints a table and "N passed, N failed", and writes
build/chaos/report.json and build/chaos/timeline.png.

    tests/chaos/chaos.py            every scenario with its repetitions
    tests/chaos/chaos.py --smoke    one kill, one zombie, one PostgreSQL
                                    partition, poison (make check)
    tests/chaos/chaos.py --only s2,s5 --reps 2

Environment: CHAOS_SEED (replay), CHAOS_BACKEND (redis | postgres; default
AGENT_LOCK_BACKEND or redis), CHAOS_POD_LEASE_TTL (default
AGENT_POD_LEASE_TTL or off), CHAOS_TTL_MS (3000), CHAOS_RECONCILE_MS (1000),
CHAOS_AGENTS (30), CHAOS_FLOOD_S (30, the flood's duration),
CHAOS_KEEP=1 keeps the whole scratch dir, PostgreSQL's data included, even
when everything passed; a failed scenario keeps only its logs.

Never: reuse a topology across scenarios (counters would mix), or leave a
process running (every child is stopped by pid in a finally).
"""
import argparse
import json
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker import Checker, print_timeline  # noqa: E402
from observe import Observer, parse_metrics  # noqa: E402
from topo import Topology, http  # noqa: E402
import botdown  # noqa: E402
import flood  # noqa: E402
import plots  # noqa: E402
import poison  # noqa: E402
import scenarios as sc  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# name, function, repetitions under `make chaos`, title
PLAN = [
    ("s1", sc.s1_kill, 20, "kill -9 a pod"),
    ("s2", sc.s2_zombie, 4, "zombie: SIGSTOP 2xTTL"),
    ("s3", sc.s3_redis_partition, 4, "partition pod from Redis"),
    ("s4", sc.s4_pg_partition, 3, "partition pod from PostgreSQL"),
    ("s5", sc.s5_redis_down, 2, "Redis masters down 1, 2"),
    ("s6", sc.s6_pg_restart, 3, "PostgreSQL restart"),
    ("s7", sc.s7_rolling, 2, "rolling restart"),
    ("s8", None, 2, "wall clock jump (faketime)"),
    ("s9", poison.s9_poison, 2, "poison: 2 unstartable + kill -9"),
    ("s10", flood.s10_flood, 1, "flood: 6000 conns, wrk, 2 burners"),
    ("s11", botdown.s11_redis_down_bot, 1, "Redis down: the bot answers"),
]
SMOKE = ("s1", "s2", "s4", "s9")
# scenarios that cut Redis: nothing to cut when the locks are in PostgreSQL
REDIS_ONLY = ("s11",)
# run before the topology starts its pods (the fake Bot API)
PREPARE = {"s11": botdown.prepare}


def duration_ms(v):
    """'2s', '500ms', '1m' -> milliseconds (the host's duration syntax)."""
    for suffix, mul in (("ms", 1), ("s", 1000), ("m", 60000)):
        if v.endswith(suffix) and v[:-len(suffix)].replace(".", "", 1).isdigit():
            return int(float(v[:-len(suffix)]) * mul)
    raise ValueError(f"bad duration {v!r}")


class Settings:
    def __init__(self, **over):
        e = os.environ
        self.ttl_ms = int(e.get("CHAOS_TTL_MS", "3000"))
        self.refresh_ms = self.ttl_ms // 3
        self.reconcile_ms = int(e.get("CHAOS_RECONCILE_MS", "1000"))
        self.save_ms = 500
        self.step_ms = 1000  # the noop agent's step
        self.agents = int(e.get("CHAOS_AGENTS", "30"))
        self.backend = e.get("CHAOS_BACKEND") or e.get("AGENT_LOCK_BACKEND") or "redis"
        self.pod_lease_ttl = e.get("CHAOS_POD_LEASE_TTL") or e.get("AGENT_POD_LEASE_TTL") or ""
        for k, v in over.items():  # a configuration of the --matrix run
            setattr(self, k, v)
        # self-fencing on the repository: saves failing for longer than
        # the TTL stop the runner and release; the others take over at
        # their next reconcile.
        self.pg_partition_bound_s = (self.ttl_ms + self.save_ms + self.reconcile_ms) / 1000 + 1
        # kill -9: a dead pod's agents are free once its pod lease (pod
        # lease mode) or their lock TTL (per-agent-TTL mode) runs out.
        self.death_ms = duration_ms(self.pod_lease_ttl) if self.pod_lease_ttl else self.ttl_ms

    def label(self):
        if self.pod_lease_ttl:
            mode = f"pod lease {self.pod_lease_ttl}"
        elif self.backend == "postgres":
            mode = "pod lease 2s (the host's default for postgres)"
        else:
            mode = "per-agent TTL"
        return f"{self.backend}, {mode}, reconcile {self.reconcile_ms} ms"

    def as_dict(self):
        return dict(vars(self))


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def log(msg):
    print(msg, flush=True)


def final_metrics(topo, obs):
    for p in topo.live_pods():
        code, body, _ = http("GET", p.port, "/metrics", timeout=2)
        if code == 200:
            with obs.lock:
                obs.metrics[p.name] = parse_metrics(body)


def run_scenario(name, fn, reps, title, s, seed, out, panels):
    rng = random.Random(f"{seed}-{name}")
    log(f"\n== {name}: {title} x{reps} (seed {seed})")
    topo = Topology(ROOT, s)
    obs = Observer(topo)
    chk = Checker(s, log)
    ctx = None
    t_start = time.monotonic()
    keep_all = keep = os.environ.get("CHAOS_KEEP") == "1"
    tg = None
    try:
        if name in PREPARE:
            tg = PREPARE[name](topo)
        fake = None
        jumps = []
        if name == "s8":
            ftfile = os.path.join(topo.dir, "faketime.txt")
            off = rng.choice([-1, 1]) * rng.randint(2, 48)
            with open(ftfile, "w") as f:
                f.write(f"{off:+d}h\n")
            after = 10 + rng.randint(0, 3)
            fake = (ftfile, after)
            jumps.append(off)
        fake_slot = rng.randrange(topo.nslots) if fake else None
        agents = sc.setup(topo, s, log, fake, fake_slot)
        ctx = sc.Ctx(topo, obs, chk, rng, s, log)
        ctx.tg = tg
        ctx.agents = agents
        ctx.fake_slot = fake_slot
        log(f"   topology up in {time.monotonic() - t_start:.1f}s: {len(agents)} agents, "
            f"pods {[p.name for p in topo.pods]}, scratch {topo.dir}")
        ctx.converge(timeout=15)
        for r in range(reps):
            if name == "s8":
                p = topo.pods[fake_slot]
                sc.s8_clock_jump(ctx, p.started_at - obs.t0 + fake[1], jumps[0])
                if r + 1 < reps:  # a fresh faketime pod for the next jump
                    off = rng.choice([-1, 1]) * rng.randint(2, 48)
                    with open(fake[0], "w") as f:
                        f.write(f"{off:+d}h\n")
                    jumps[0] = off
                    p.proc.terminate()
                    p.proc.wait()
                    p.dead = True
                    obs.pod_gone(p, "stopped (SIGTERM) for the next jump")
                    # its agents move to the other pods; start some through the new one
                    np_ = topo.start_pod(fake_slot, fake)
                    topo.wait_ready(np_)
                    ctx.converge()
                    for a in agents[:: topo.nslots]:
                        own = obs.owners().get(a, [])
                        http("POST", np_.port, f"/api/agents/stop/{a}")
                        time.sleep(0.05)
                    time.sleep(s.ttl_ms / 1000)
                    for a in agents[:: topo.nslots]:
                        http("POST", np_.port, f"/api/agents/start/{a}")
                    ctx.converge()
            else:
                fn(ctx)
                ctx.converge()
        for f in ctx.finishers:
            f()
        final_metrics(topo, obs)
        time.sleep(1.0)
    except Exception as e:  # a harness failure is a failed scenario
        chk.violation(obs.now(), f"harness: {type(e).__name__}: {e}")
    finally:
        for f in (ctx.cleanups if ctx else []):
            f()
        if tg:
            tg.close()
        obs.close()
        pods = [p.name for p in topo.all_pods]
        _, events, hist, metrics = obs.snapshot()
        nrows = chk.history(hist)
        worst = chk.double_runs(obs, pods, ctx.agents if ctx else [], 0.0)
        fenced = sum(m.get("agent_fenced_writes_total", 0) for m in metrics.values())
        lost = sum(m.get("agent_lock_lost_total", 0) for m in metrics.values())
        for t, text in chk.violations[:3]:
            m = re.search(r"(agent-\d+)", text)
            print_timeline(log, events, hist, t, m.group(1) if m else None)
        failed = bool(chk.violations)
        if failed or keep:
            keep = True
            log(f"   logs kept in {topo.dir}")
        topo.close(keep=keep, keep_data=keep_all)
    fo = ctx.failovers if ctx else []
    res = {
        "title": title, "runs": reps,
        "failover_ms": {"n": len(fo), "p50": ms(pct(fo, 50)), "p99": ms(pct(fo, 99)),
                        "max": ms(max(fo) if fo else None)},
        "bound_ms": ms(bound_of(name, s)),
        "fenced_writes_refused": int(fenced), "locks_lost": int(lost),
        "history_rows_checked": nrows, "max_double_run_ms": ms(worst),
        "violations": len(chk.violations),
        "violation_list": [f"t={t:.2f}s {x}" for t, x in chk.violations[:20]],
        "duration_s": round(time.monotonic() - t_start, 1),
        "notes": ctx.notes if ctx else [],
        "figures": ctx.figures if ctx else {},
    }
    try:
        if name == "s2" and ctx and getattr(ctx, "zombie", None):
            panels.append(plots.zombie_panel(out, obs, ctx.zombie))
        if name == "s9" and ctx and getattr(ctx, "poison", None):
            panels.append(plots.poison_panel(out, ctx.poison.plot_rows(), events))
        if name == "s10" and ctx and getattr(ctx, "plot_probes", None):
            panels.append(plots.flood_panel(out, ctx.plot_probes, ctx.plot_probes[0][0],
                                            flood.PROBE_P99_MS))
        if name == "s11" and ctx and getattr(ctx, "plot_bot", None):
            panels.append(plots.bot_panel(out, obs, ctx.plot_bot[0], events))
    except (OSError, ValueError, KeyError) as e:
        log(f"   no timeline panel for {name}: {e}")
    return res


def ms(x):
    return None if x is None else round(x * 1000)


def bound_of(name, s):
    ttl, rec = s.ttl_ms / 1000, s.reconcile_ms / 1000
    return {"s1": s.death_ms / 1000 + rec + 1, "s2": ttl + rec + 1, "s3": ttl + rec + 1,
            "s4": s.pg_partition_bound_s, "s5": ttl + rec + 1, "s6": ttl + rec + 1,
            "s7": rec + 1, "s8": None, "s9": s.death_ms / 1000 + rec + 1, "s10": None,
            "s11": rec + 1}.get(name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true",
                    help="s1, s2, s4 and s9 once each (s4 guards the self-fencing "
                         "of a pod cut off from PostgreSQL, s9 the backoff of agents "
                         "that cannot start)")
    ap.add_argument("--only", default="", help="comma-separated scenarios (s1..s11)")
    ap.add_argument("--reps", type=int, default=0, help="repetitions of each scenario")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "chaos"))
    ap.add_argument("--matrix", action="store_true",
                    help="every scenario for redis (per-agent TTL and pod leases) and "
                         "postgres, then kill -9 in both modes side by side (make chaos)")
    args = ap.parse_args()
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**9))
    s = Settings()
    os.makedirs(args.out, exist_ok=True)
    plan = PLAN
    if args.smoke:
        plan = [(n, f, 1, t) for n, f, _, t in PLAN if n in SMOKE]
    if args.only:
        want = args.only.split(",")
        plan = [p for p in plan if p[0] in want]
    if args.reps:
        plan = [(n, f, args.reps, t) for n, f, _, t in plan]
    if not args.matrix:
        report = run_config(s, plan, seed, args.out)
        with open(os.path.join(args.out, "report.json"), "w") as fh:
            json.dump(report, fh, indent=2)
        log(f"wrote {os.path.join(args.out, 'report.json')} in {report['duration_s']}s; "
            f"seed {seed}")
        log(f"{report['passed']} passed, {report['failed']} failed")
        return 1 if report["failed"] else 0

    # --matrix (make chaos): every scenario for both lock backends and both
    # modes, then kill -9 in both modes with short timings (lease 2 s,
    # reconcile 0.5 s), side by side.
    t0 = time.monotonic()
    configs = [("redis-ttl", {}), ("redis-podlease", {"pod_lease_ttl": "2s"}),
               ("postgres", {"backend": "postgres"})]
    s1 = [p for p in PLAN if p[0] == "s1"]
    compare = [("s1-ttl-fast", {"reconcile_ms": 500}),
               ("s1-podlease-fast", {"pod_lease_ttl": "2s", "reconcile_ms": 500})]
    report = {"seed": seed, "configs": {}, "comparison": {}}
    for key, over in configs:
        cs = Settings(**over)
        out = args.out if key == "redis-ttl" else os.path.join(args.out, key)
        os.makedirs(out, exist_ok=True)
        report["configs"][key] = run_config(cs, plan, seed, out)
    for key, over in compare:
        cs = Settings(**over)
        out = os.path.join(args.out, key)
        os.makedirs(out, exist_ok=True)
        report["comparison"][key] = run_config(cs, s1, seed, out)
    # the default configuration also at the top level (report format of a
    # single run)
    report.update({k: v for k, v in report["configs"]["redis-ttl"].items()
                   if k in ("settings", "scenarios")})
    runs = list(report["configs"].values()) + list(report["comparison"].values())
    report["passed"] = sum(r["passed"] for r in runs)
    report["failed"] = sum(r["failed"] for r in runs)
    report["duration_s"] = round(time.monotonic() - t0, 1)
    with open(os.path.join(args.out, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2)
    log("\n== kill -9 failover, the two modes side by side (same run)")
    log(f"{'mode':<46} {'p50':>7} {'p99':>7} {'max':>7} {'bound':>7}  result")
    for key, r in report["comparison"].items():
        sc1 = r["scenarios"]["s1"]
        fo = sc1["failover_ms"]
        g = lambda v: "-" if v is None else str(v)  # noqa: E731
        log(f"{r['label']:<46.46} {g(fo['p50']):>7} {g(fo['p99']):>7} {g(fo['max']):>7} "
            f"{g(sc1['bound_ms']):>7}  {'PASS' if sc1['violations'] == 0 else 'FAIL'}")
    log(f"wrote {os.path.join(args.out, 'report.json')} in {report['duration_s']}s; seed {seed}")
    log(f"{report['passed']} passed, {report['failed']} failed")
    return 1 if report["failed"] else 0


def run_config(s, plan, seed, out):
    """Every scenario of `plan` under settings `s`; prints the table."""
    log(f"chaos: seed {seed} (CHAOS_SEED={seed} replays), backend {s.backend}, "
        f"pod lease {s.pod_lease_ttl or 'off'}, TTL {s.ttl_ms} ms, refresh {s.refresh_ms} ms, "
        f"reconcile {s.reconcile_ms} ms, save {s.save_ms} ms, {s.agents} agents")
    results = {}
    panels = []
    t0 = time.monotonic()
    for name, fn, reps, title in plan:
        if name in REDIS_ONLY and s.backend != "redis":
            log(f"\n== {name}: {title}: not run with the {s.backend} lock backend "
                "(no Redis to stop)")
            continue
        results[name] = run_scenario(name, fn, reps, title, s, seed, out, panels)
    plots.render(out, panels, log)
    report = {"label": s.label(), "settings": s.as_dict(), "scenarios": results,
              "duration_s": round(time.monotonic() - t0, 1)}
    npass = sum(1 for r in results.values() if r["violations"] == 0)
    report["passed"], report["failed"] = npass, len(results) - npass
    f = lambda v: "-" if v is None else str(v)  # noqa: E731
    log("")
    log(f"{s.label()}")
    log(f"{'scenario':<34} {'runs':>4} {'failover p50':>12} {'p99':>7} {'max':>7} "
        f"{'bound':>7} {'fenced':>6} {'viol.':>5}  result")
    log("-" * 100)
    for name, r in results.items():
        fo = r["failover_ms"]
        log(f"{name + ' ' + r['title']:<34.34} {r['runs']:>4} {f(fo['p50']):>10}ms "
            f"{f(fo['p99']):>7} {f(fo['max']):>7} {f(r['bound_ms']):>7} "
            f"{r['fenced_writes_refused']:>6} {r['violations']:>5}  "
            f"{'PASS' if r['violations'] == 0 else 'FAIL'}")
    log("(times in ms; s5: restore after the quorum is back; s6: first accepted save after "
        "the restart; s7: longest gap; s9: healthy agents after the kill; s11: the agent "
        "started through the bot, after Redis is back; s3, s5 and s11 have no Redis to cut "
        "with postgres)")
    for line in figure_lines(results):
        log(line)
    return report


def figure_lines(results):
    """The new scenarios' own figures, one line each, under the table."""
    out = []
    g = lambda v: "-" if v is None else str(v)  # noqa: E731
    r = results.get("s9", {}).get("figures", {}).get("poison")
    if r:
        parts = [f"{a}: {r[a]['attempts']} attempts, fence +{r[a]['fence_growth']} "
                 f"(<= {2 * r[a]['attempts']}), retried after {r[a]['retry_gaps_s']} s"
                 for a in (poison.BAD_TYPE, poison.BAD_CRED) if a in r]
        out.append("s9  poisoned: " + "; ".join(parts) +
                   f"; agents_backoff {g(r.get('agents_backoff'))}")
    r = results.get("s10", {}).get("figures", {}).get("flood")
    if r:
        w = r.get("wrk") or {}
        fl = r.get("flood") or {}
        out.append(f"s10 flood of {r['pod']}: probes {r['probes']} p50 {g(r['probe_p50_ms'])} "
                   f"p99 {g(r['probe_p99_ms'])} max {g(r['probe_max_ms'])} ms (bounds "
                   f"{flood.PROBE_P99_MS:.0f} / {flood.PROBE_MAX_MS:.0f}), "
                   f"{r['probe_failures']} failed; locks lost {r['locks_lost']}, restarts "
                   f"{r['restarts']}; wrk {g(w.get('requests'))} requests "
                   f"({g(w.get('rps'))}/s, {g(w.get('ok'))} 2xx, p99 {g(w.get('p99_ms'))} ms); "
                   f"flood {g(fl.get('opened'))} connections opened, "
                   f"{g(fl.get('refused'))} refused at once, "
                   f"{g(fl.get('closed_after_held'))} closed after held, "
                   f"{g(fl.get('alive_min'))}-{g(fl.get('alive_max'))} open")
    r = results.get("s11", {}).get("figures", {}).get("bot")
    for run in (r or {}).get("runs", []):
        out.append(f"s11 Redis down: runners stopped in {g(run['runners_stopped_ms'])} ms; "
                   f"bot answered /help in {g(run['help_reply_ms'])} ms, /start_agent in "
                   f"{g(run['start_reply_ms'])} ms; the agent ran "
                   f"{g(run['agent_after_redis_ms'])} ms after Redis was back, the others "
                   f"within {g(run['others_restored_max_ms'])} ms; "
                   f"{run['poll_conflicts']} poll conflicts")
    return out


if __name__ == "__main__":
    sys.exit(main())
