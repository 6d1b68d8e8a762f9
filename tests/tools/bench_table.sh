#!/bin/sh
# bench_table.sh DIR -- merges the JSON every benchmark wrote into DIR
# (DIR/<name>.json) into DIR/bench.json and prints one table of every
# figure with its physical limit from the same run and the ratio (value /
# limit), and its goal where the benchmark set one, when the JSON carries
# them as {"rows": [{"what", "value", "unit", "limit", "limit_what",
# "ratio", "goal"?, "goal_op"?, "goal_ok"?}]}.
# bench.json also gets "summary": the headline figures others read
# (host.json's "summary", and the Redlock peer comparison of redis.json's
# "peer": medians of its runs); a key whose benchmark did not run is null.
set -eu
DIR=${1:-build/bench}
[ -d "$DIR" ] || { echo "bench: no results in $DIR"; exit 1; }
python3 - "$DIR" <<'PY'
import json, os, sys
d = sys.argv[1]
merged = {}
for f in sorted(os.listdir(d)):
    if f.endswith('.json') and f != 'bench.json':
        with open(os.path.join(d, f)) as fh:
            try:
                merged[f[:-5]] = json.load(fh)
            except ValueError as e:
                print(f"bench: {f}: bad JSON: {e}"); sys.exit(1)

KEYS = ["agents_max", "cold_start_ms", "rss_per_agent_bytes", "refresh_cycle_ms",
        "eval_limit_ms", "eval_all_masters_limit_ms", "eval_all_masters_busy_limit_ms",
        "api_page_rps", "api_get_rps",
        "pgbench_select_tps",
        "redlock_acquire_ms", "redlock_extend_ms", "ours_acquire_ms", "ours_refresh_ms"]
summary = {k: None for k in KEYS}
host = merged.get('host') if isinstance(merged.get('host'), dict) else {}
peer = merged.get('redis', {}).get('peer', {}) if isinstance(merged.get('redis'), dict) else {}
for k in KEYS:
    if k in host.get('summary', {}):
        summary[k] = host['summary'][k]
    elif k in peer:
        summary[k] = peer[k]
merged['summary'] = summary
with open(os.path.join(d, 'bench.json'), 'w') as fh:
    json.dump(merged, fh, indent=2)

def num(v):
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 1e6 else f"{v:.0f}"
    return str(v)

print()
print(f"{'bench':<6} {'figure':<50} {'value':>15}  {'goal':>13}  "
      f"{'physical limit (same run)':<42} {'ratio':>6}")
print('-' * 138)
for name, doc in merged.items():
    for r in (doc.get('rows', []) if isinstance(doc, dict) else []):
        v = '-' if r.get('value') is None else f"{num(r['value'])} {r.get('unit', '')}"
        g = r.get('goal')
        g = f"{r.get('goal_op', '<=')} {num(g)}{'' if r.get('goal_ok') else ' !'}" \
            if g is not None else ''
        lim = r.get('limit')
        lim = f"{num(lim)} {r.get('limit_what', '')}" if lim is not None else '-'
        ratio = r.get('ratio')
        ratio = f"{ratio:.2f}" if isinstance(ratio, (int, float)) else '-'
        print(f"{name:<6} {r.get('what', ''):<50.50} {v:>15}  {g:>13}  {lim:<42.42} {ratio:>6}")
print("\n(goal: '!' marks a goal missed in this run)")
print("\nsummary:")
for k in KEYS:
    print(f"  {k:<22} {'-' if summary[k] is None else num(summary[k])}")
print(f"\nwrote {os.path.join(d, 'bench.json')}")
PY
