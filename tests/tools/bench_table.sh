#!/bin/sh
# bench_table.sh DIR -- merges the JSON every benchmark wrote into DIR
# (DIR/<name>.json) into DIR/bench.json and prints one table of every
# figure with its physical limit and the ratio, when the JSON carries them
# (ratio = value / limit) as {"rows": [{"what", "value", "unit", "limit", "limit_what", "ratio"}]}.
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
with open(os.path.join(d, 'bench.json'), 'w') as fh:
    json.dump(merged, fh, indent=2)
print()
print(f"{'bench':<6} {'figure':<52} {'value':>14}  {'physical limit (same run)':<44} {'ratio':>6}")
print('-' * 127)
for name, doc in merged.items():
    for r in (doc.get('rows', []) if isinstance(doc, dict) else []):
        v = f"{r.get('value', '')} {r.get('unit', '')}"
        lim = r.get('limit')
        lim = f"{lim} {r.get('limit_what', '')}" if lim is not None else '-'
        ratio = r.get('ratio')
        ratio = f"{ratio:.2f}" if isinstance(ratio, (int, float)) else '-'
        print(f"{name:<6} {r.get('what', ''):<52.52} {v:>14}  {lim:<44.44} {ratio:>6}")
print(f"\nwrote {os.path.join(d, 'bench.json')}")
PY
