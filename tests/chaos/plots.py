"""plots.py -- build/chaos/timeline.png of the chaos suite: one panel per
scenario that has a picture, composed with gnuplot (multiplot):

  zombie   which pod ran which agent around the SIGSTOP / SIGCONT
  poison   the poisoned agents' fence growth beside 2 x their failed
           attempts, with the kills marked
  flood    every probe's latency (log scale) against the 100 ms bound
  bot      agents running fleet-wide while every Redis master was down,
           with the bot's answers marked

How: each panel function writes its data file into the output dir and
returns a panel (title, axes, arrows, plot clauses); render() writes one
gnuplot script for all panels and runs gnuplot when installed.

Never: fail a run because of the picture (gnuplot missing or failing is
logged, not a violation).
"""
import os
import shutil
import subprocess


def _dat(out, name):
    return os.path.join(out, f"timeline_{name}.dat")


def zombie_panel(out, obs, zombie):
    vname, t0, t1 = zombie
    lo, hi = t0 - 5, t1 + 10
    pods = sorted(obs.obs)
    agents = sorted({a for seq in obs.obs.values() for _, cur in seq for a in cur})
    aidx = {a: i for i, a in enumerate(agents)}
    dat = _dat(out, "zombie")
    with open(dat, "w") as f:
        for p in pods:
            f.write(f"# {p}\n")
            for t, cur in obs.obs[p]:
                if lo <= t <= hi:
                    for a in cur:
                        f.write(f"{t - t0:.3f} {aidx[a]} \n")
            f.write("\n\n")
    plots = [f"'{dat}' index {i} using 1:2 with points pt 5 ps 0.35 "
             f"title '{p}{' (zombie)' if p == vname else ''}'" for i, p in enumerate(pods)]
    return {"title": f"zombie: pod per agent (SIGSTOP {vname} at 0 s, SIGCONT at "
                     f"{t1 - t0:.1f} s)",
            "xlabel": "seconds since SIGSTOP", "ylabel": "agent",
            "yrange": f"[-1:{len(agents)}]",
            "arrows": [(0, "red"), (t1 - t0, "blue")], "plots": plots}


def poison_panel(out, rows, events):
    if not rows:
        return None
    t0 = min(r[0] for r in rows)
    ids = sorted({r[1] for r in rows})
    dat = _dat(out, "poison")
    with open(dat, "w") as f:
        for a in ids:
            f.write(f"# {a}: t fence_growth 2xattempts\n")
            for t, i, growth, fails in rows:
                if i == a:
                    f.write(f"{t - t0:.3f} {growth} {2 * fails}\n")
            f.write("\n\n")
    plots = []
    for k, a in enumerate(ids):
        plots.append(f"'{dat}' index {k} using 1:2 with steps lw 2 title '{a} fence growth'")
        plots.append(f"'{dat}' index {k} using 1:3 with steps dt 2 title '{a} 2 x attempts'")
    kills = [t - t0 for t, e in events if e.startswith("FAULT kill -9") and t >= t0]
    return {"title": "poison: fence growth vs 2 x failed attempts (kill -9: red)",
            "xlabel": "seconds since the poisoned agents were wanted",
            "ylabel": "fence growth", "yrange": "[0:*]",
            "arrows": [(k, "red") for k in kills], "plots": plots}


def flood_panel(out, probes, t_start, bound_ms):
    if not probes:
        return None
    dat = _dat(out, "flood")
    with open(dat, "w") as f:
        for k, path in enumerate(("/healthz", "/ready")):
            f.write(f"# {path}\n")
            for t, p, ms in probes:
                if p == path:
                    f.write(f"{t - t_start:.3f} {ms if ms is not None else 5000}\n")
            f.write("\n\n")
    plots = [f"'{dat}' index 0 using 1:2 with points pt 7 ps 0.4 title '/healthz'",
             f"'{dat}' index 1 using 1:2 with points pt 5 ps 0.4 title '/ready'",
             f"{bound_ms} with lines dt 2 lc rgb 'red' title 'p99 bound {bound_ms:.0f} ms'"]
    return {"title": "flood: probe latency (6,000 conns, wrk, 2 CPU burners)",
            "xlabel": "seconds since the flood started", "ylabel": "ms (log)",
            "logy": True, "yrange": "[0.1:5000]", "arrows": [], "plots": plots}


def bot_panel(out, obs, window, events):
    t_down, t_up = window
    lo, hi = t_down - 3, t_up + 8
    seq = sorted((t, p, len(cur)) for p, s in obs.obs.items() for t, cur in s if lo <= t <= hi)
    last, rows = {}, []
    for t, p, n in seq:
        last[p] = n
        rows.append((t - t_down, sum(last.values())))
    if not rows:
        return None
    dat = _dat(out, "bot")
    with open(dat, "w") as f:
        for t, n in rows:
            f.write(f"{t:.3f} {n}\n")
    says = [t - t_down for t, e in events if e.startswith("FAULT bot user says")
            and lo <= t <= hi]
    return {"title": "Redis down (red): runners; bot answers (green); Redis back (blue)",
            "xlabel": "seconds since every Redis master went", "ylabel": "agents running",
            "yrange": "[0:*]",
            "arrows": [(0, "red"), (t_up - t_down, "blue")] + [(s, "dark-green") for s in says],
            "plots": [f"'{dat}' using 1:2 with steps lw 2 title 'runners on all pods'"]}


def render(out, panels, log):
    panels = [p for p in panels if p]
    if not panels:
        return
    cols = 1 if len(panels) == 1 else 2
    nrows = (len(panels) + cols - 1) // cols
    png = os.path.join(out, "timeline.png")
    gp = os.path.join(out, "timeline.gp")
    lines = [f"set terminal pngcairo size {900 * cols},{560 * nrows} noenhanced",
             f"set output '{png}'", f"set multiplot layout {nrows},{cols}",
             "set key outside right"]
    for p in panels:
        lines += ["unset arrow", "unset logscale y",
                  f"set title '{p['title']}'", f"set xlabel '{p['xlabel']}'",
                  f"set ylabel '{p['ylabel']}'", f"set yrange {p.get('yrange', '[*:*]')}",
                  "set xrange [*:*]"]
        if p.get("logy"):
            lines.append("set logscale y")
        for x, color in p["arrows"]:
            lines.append(f"set arrow from {x:.3f}, graph 0 to {x:.3f}, graph 1 nohead "
                         f"lc rgb '{color}' dt 2")
        lines.append("plot " + ", ".join(p["plots"]))
    lines.append("unset multiplot")
    with open(gp, "w") as f:
        f.write("\n".join(lines) + "\n")
    if not shutil.which("gnuplot"):
        log("   gnuplot not installed: no timeline.png")
        return
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if r.returncode != 0:
        log(f"   gnuplot failed: {r.stderr.strip()[:200]}")
    else:
        log(f"   wrote {png} ({len(panels)} panels)")
