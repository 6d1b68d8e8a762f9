#!/usr/bin/env python3
# check_dashboard.py DASHBOARD METRICS_TEXT [--rules RULES.yml]...
# Checks a Grafana dashboard (and optionally Prometheus rules files) against
# the /metrics text of a real agentrecoverd: the dashboard parses as JSON,
# takes its data source from the ${DS_PROMETHEUS} variable, has a `pod`
# variable, and every metric name that any panel query, variable query or
# rule expression uses is exported by the daemon.
#
# How: PromQL expressions are reduced to their metric names without a
# parser: Grafana variables, string literals, label matchers {...}, ranges
# [...], grouping clauses (by/without/on/ignoring/group_left/group_right
# (...)) and offset/@ modifiers are removed, then the remaining tokens are
# numbers, keywords, functions (an identifier followed by "(") and metric
# names.  A name ending in _bucket is satisfied by a histogram family of
# the base name, _sum/_count by a histogram or summary; a bare histogram or
# summary family name (which has no samples) is an error.  The exported
# names come from the text's # TYPE lines and sample lines.
# Never special-cases a metric name: what the daemon does not export is
# reported, with the panels and rules that query it.  Exit 1 when anything
# is missing or malformed.
import json
import re
import sys
from collections import defaultdict

KEYWORDS = {"and", "or", "unless", "bool", "by", "without", "on", "ignoring",
            "group_left", "group_right", "offset", "inf", "nan", "atan2"}
TOKEN = re.compile(r"""
    (?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<id>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<other>\S)
""", re.X)
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', re.S)
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.I)
GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\[\[[^\]]*\]\]|\$__\w+|\$\w+")


def strip_expr(expr):
    """PromQL (with Grafana variables) -> the text left to tokenise."""
    expr = re.sub(r"#[^\n]*", " ", expr)
    expr = STRING.sub(" ", expr)
    expr = GRAFANA_VAR.sub(" ", expr)
    expr = re.sub(r"\{[^{}]*\}", " ", expr)
    expr = re.sub(r"\[[^\[\]]*\]", " ", expr)
    expr = GROUPING.sub(" ", expr)
    expr = re.sub(r"\boffset\s+-?[0-9a-zA-Z]+", " ", expr)
    expr = re.sub(r"@\s*(?:start\(\)|end\(\)|[0-9.eE+-]+)", " ", expr)
    return expr


def metric_names(expr):
    """The metric names an expression selects."""
    text = strip_expr(expr)
    toks = [(m.lastgroup, m.group()) for m in TOKEN.finditer(text)]
    names = set()
    for i, (kind, tok) in enumerate(toks):
        if kind != "id" or tok.lower() in KEYWORDS:
            continue
        if i + 1 < len(toks) and toks[i + 1][1] == "(":
            continue  # a function or an aggregation operator
        names.add(tok)
    return names


def variable_exprs(query):
    """The PromQL a Grafana Prometheus variable query runs (if any)."""
    q = query.strip()
    m = re.fullmatch(r"label_values\((.*)\)", q, re.S)
    if m:
        args = m.group(1)
        # label_values(selector, label) or label_values(label)
        depth, cut = 0, None
        for i, ch in enumerate(args):
            if ch in "({[":
                depth += 1
            elif ch in ")}]":
                depth -= 1
            elif ch == "," and depth == 0:
                cut = i
        return [args[:cut]] if cut is not None else []
    m = re.fullmatch(r"query_result\((.*)\)", q, re.S)
    if m:
        return [m.group(1)]
    if re.fullmatch(r"(?:metrics|label_names)\(.*\)", q, re.S):
        return []
    return [q]


def parse_metrics(text):
    """{family or sample name: type} of a Prometheus text exposition."""
    types, names = {}, set()
    for line in text.splitlines():
        m = re.match(r"#\s*TYPE\s+(\S+)\s+(\S+)", line)
        if m:
            types[m.group(1)] = m.group(2)
            continue
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)", line)
        if m:
            names.add(m.group(1))
    out = {n: "untyped" for n in names}
    out.update(types)
    return out


def resolve(name, exported):
    """None when the daemon exports what `name` selects, else the problem."""
    kind = exported.get(name)
    if kind in ("histogram", "summary"):
        return "%s is a %s family: query %s_bucket, _sum or _count" % (name, kind, name)
    if kind is not None:
        return None
    for suffix, kinds in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            bkind = exported.get(base)
            if bkind in kinds:
                return None
            if bkind is not None:
                return "%s is exported as a %s, not a %s (queried as %s)" % (
                    base, bkind, " or ".join(kinds), name)
            return "%s is not exported (queried as %s)" % (base, name)
    return "%s is not exported" % name


def dashboard_queries(dash, errors):
    """[(where, expr)] of every panel target and variable query."""
    out = []
    ds_ok = True

    def walk(panels):
        nonlocal ds_ok
        for p in panels or []:
            title = p.get("title") or "(untitled %s)" % p.get("type")
            if p.get("type") == "row":
                walk(p.get("panels"))
                continue
            targets = p.get("targets") or []
            if p.get("type") not in ("text", "news", "dashlist") and not targets:
                errors.append("panel %r has no query" % title)
            ds = p.get("datasource")
            if isinstance(ds, dict) and ds.get("uid") != "${DS_PROMETHEUS}":
                ds_ok = False
            for t in targets:
                tds = t.get("datasource")
                if isinstance(tds, dict) and tds.get("uid") != "${DS_PROMETHEUS}":
                    ds_ok = False
                if t.get("expr"):
                    out.append(("panel %r" % title, t["expr"]))
                elif p.get("type") != "text":
                    errors.append("panel %r: a target without expr" % title)
            walk(p.get("panels"))

    walk(dash.get("panels"))
    if not ds_ok:
        errors.append("a panel or target does not use the ${DS_PROMETHEUS} data source")
    variables = {v.get("name"): v for v in (dash.get("templating") or {}).get("list", [])}
    dsv = variables.get("DS_PROMETHEUS")
    if not dsv or dsv.get("type") != "datasource" or dsv.get("query") != "prometheus":
        errors.append("no DS_PROMETHEUS variable of type datasource (prometheus)")
    if "pod" not in variables or variables["pod"].get("type") != "query":
        errors.append("no `pod` query variable")
    for name, v in variables.items():
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        for e in variable_exprs(q):
            out.append(("variable $%s" % name, e))
    for a in (dash.get("annotations") or {}).get("list", []):
        if a.get("expr"):
            out.append(("annotation %r" % a.get("name"), a["expr"]))
    return out


def rules_queries(path, errors):
    import yaml  # only needed with --rules (python3-yaml)
    with open(path) as f:
        doc = yaml.safe_load(f)
    if doc.get("kind") == "PrometheusRule":
        doc = doc.get("spec", {})
    out = []
    for g in doc.get("groups") or []:
        for r in g.get("rules") or []:
            where = "rule %s" % (r.get("alert") or r.get("record"))
            if not r.get("expr"):
                errors.append("%s has no expr" % where)
            else:
                out.append((where, str(r["expr"])))
    return out


def main(argv):
    rules = []
    args = []
    it = iter(argv)
    for a in it:
        if a == "--rules":
            rules.append(next(it, None))
        else:
            args.append(a)
    if len(args) != 2 or None in rules:
        print("usage: check_dashboard.py DASHBOARD METRICS_TEXT [--rules RULES.yml]...",
              file=sys.stderr)
        return 2
    errors = []
    try:
        with open(args[0]) as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print("dashboard: %s does not parse as JSON: %s" % (args[0], e))
        return 1
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        errors.append("schemaVersion %r (want 36 or later)" % dash.get("schemaVersion"))
    queries = dashboard_queries(dash, errors)
    for r in rules:
        queries += rules_queries(r, errors)
    with open(args[1]) as f:
        exported = parse_metrics(f.read())
    if not exported:
        errors.append("%s holds no metric" % args[1])

    used = defaultdict(set)
    for where, expr in queries:
        names = metric_names(expr)
        if not names:
            errors.append("%s: no metric name in %r" % (where, expr))
        for n in names:
            used[n].add(where)
    missing = {}
    for n in sorted(used):
        problem = resolve(n, exported)
        if problem:
            missing.setdefault(problem, set()).update(used[n])
    for problem in sorted(missing):
        where = sorted(missing[problem])
        errors.append("%s -- used by %s%s" % (
            problem, ", ".join(where[:3]), " and %d more" % (len(where) - 3) if len(where) > 3 else ""))
    if errors:
        print("dashboard: FAILED (%d problems):\n  %s" % (len(errors), "\n  ".join(errors)))
        return 1
    print("   %d queries use %d metric names, all exported by agentrecoverd" % (len(queries), len(used)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
