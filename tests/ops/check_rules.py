#!/usr/bin/env python3
# check_rules.py OUTDIR -- the static half of `make test-ops-rules`.
# Checks examples/prometheus/agentrecover-rules.yml: every rule is an alert
# with a CamelCase name, a severity label (critical, warning or info) and
# summary, description and runbook annotations; every alert has, in
# tests/ops/rules_test.yml, at least one case where it fires and one where
# it is expected not to (or no longer to) fire.  Then writes OUTDIR/ with
# a copy of the rules without annotations and a copy of rules_test.yml, for
# `promtool test rules OUTDIR/rules_test.yml` (the cases state timing and
# labels; tests/ops/rules_annotations_test.yml covers the templates).
# Never changes the committed files; exits 1 naming every problem found.
import os
import re
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PLAIN = os.path.join(ROOT, "examples/prometheus/agentrecover-rules.yml")
TESTS = os.path.join(ROOT, "tests/ops/rules_test.yml")


def main(argv):
    if len(argv) != 1:
        print("usage: check_rules.py OUTDIR", file=sys.stderr)
        return 2
    out = argv[0]
    errors = []
    with open(PLAIN) as f:
        rules = yaml.safe_load(f)
    alerts = []
    for g in rules.get("groups") or []:
        for r in g.get("rules") or []:
            name = r.get("alert")
            if not name:
                errors.append("rule %r is not an alert" % r.get("record"))
                continue
            alerts.append(name)
            if not re.fullmatch(r"(?:[A-Z][a-z0-9]+)+", name):
                errors.append("%s: name is not CamelCase" % name)
            if (r.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                errors.append("%s: severity label critical, warning or info" % name)
            ann = r.get("annotations") or {}
            for a in ("summary", "description", "runbook"):
                if not str(ann.get(a, "")).strip():
                    errors.append("%s: no %s annotation" % (name, a))
    if len(set(alerts)) != len(alerts):
        errors.append("alert names repeat: %s" % sorted(alerts))

    with open(TESTS) as f:
        tests = yaml.safe_load(f)
    fires, quiet = set(), set()
    for t in tests.get("tests") or []:
        for c in t.get("alert_rule_test") or []:
            (fires if c.get("exp_alerts") else quiet).add(c.get("alertname"))
    for name in alerts:
        if name not in fires:
            errors.append("%s: no test case where it fires" % name)
        if name not in quiet:
            errors.append("%s: no test case where it does not fire or clears" % name)
    for name in sorted((fires | quiet) - set(alerts)):
        errors.append("rules_test.yml tests an unknown alert %s" % name)

    if errors:
        print("rules: FAILED:\n  " + "\n  ".join(errors))
        return 1
    os.makedirs(out, exist_ok=True)
    for g in rules["groups"]:
        for r in g["rules"]:
            r.pop("annotations", None)
    with open(os.path.join(out, "agentrecover-rules.yml"), "w") as f:
        yaml.safe_dump(rules, f, sort_keys=False)
    with open(TESTS) as src, open(os.path.join(out, "rules_test.yml"), "w") as dst:
        dst.write(src.read())
    print("   %d alerts, each with severity, summary, description, runbook; "
          "each fires and stays quiet in rules_test.yml" % len(alerts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
