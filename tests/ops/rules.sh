#!/bin/sh
# rules.sh -- `make test-ops-rules`: the alerting rules of agentrecoverd.
# promtool check rules on the plain rules file; the PrometheusRule is what
# tests/ops/gen_prometheus_rule.py makes of it; the static checks of
# tests/ops/check_rules.py; promtool test rules: every alert fires and
# clears on synthetic series (rules_test.yml, run on a copy of the rules
# without annotations in build/ops/rules) and two alerts' annotations
# render (rules_annotations_test.yml, on the real file).
set -eu
cd "$(dirname "$0")/../.."
OUT=${BUILD:-build}/ops/rules
RULES=examples/prometheus/agentrecover-rules.yml
mkdir -p "$OUT"
# run CMD...: its output indented, its exit status kept
run() {
  rc=0
  "$@" >"$OUT/log" 2>&1 || rc=$?
  grep -v '^$' "$OUT/log" | sed 's/^/   /'
  return $rc
}
run promtool check rules "$RULES"
python3 tests/ops/gen_prometheus_rule.py --check
python3 tests/ops/check_rules.py "$OUT"
run promtool test rules "$OUT/rules_test.yml" tests/ops/rules_annotations_test.yml
