#!/bin/sh
# metrics.sh -- `make test-ops-metrics`: every metric the Grafana dashboard
# (examples/grafana/agentrecover.json) and the alerting rules
# (examples/prometheus/agentrecover-rules.yml) query is exported by a real
# agentrecoverd.  Starts a throwaway PostgreSQL and Redis (host/scripts/lib.sh,
# as the demo does: initdb as postgres when root, free loopback ports, a
# scratch dir), applies the migrations, starts one pod configured like the
# Kubernetes Deployment, with the Telegram bot enabled and pointed at a
# closed loopback port (so the bot's series exist),
# waits for /ready and a reconcile pass, saves /metrics to
# $BUILD/ops/metrics.txt and runs tests/ops/check_dashboard.py on it.
# Stops everything it started, by pid, pass or fail (trap).
set -eu
cd "$(dirname "$0")/../.."
. host/scripts/lib.sh
OUT=${BUILD:-build}/ops
mkdir -p "$OUT"
scratch ops
fail() {
  echo "   $*"
  [ -f "$T/pod-ops.log" ] && tail -20 "$T/pod-ops.log" | sed 's/^/   pod-ops: /'
  exit 1
}

start_servers "$T" || fail "PostgreSQL or Redis did not start"
daemon --migrate-only >"$T/migrate.log" 2>&1 || { cat "$T/migrate.log"; fail "migrations failed"; }
# The pod runs with the environment of examples/kubernetes/base: the
# Deployment's literal values and its ConfigMap's (pod leases, paper
# trading, ...), with loopback addresses, test timings (start_pod) and test
# tokens in place of the cluster's names and Secret.
python3 - >"$T/env.sh" <<'PY'
import shlex, yaml
k = "examples/kubernetes/base/"
dep = next(d for d in yaml.safe_load_all(open(k + "deployment.yaml")) if d)
cms = {d["metadata"]["name"]: d.get("data", {}) for d in yaml.safe_load_all(open(k + "configmap.yaml")) if d}
for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]:
    if e["name"] in ("REDIS_ADDRS", "HTTP_ADDR", "HTTP_PORT"):
        continue
    v = e.get("value")
    ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
    if ref:
        v = cms[ref["name"]][ref["key"]]
    if v is not None:
        print("%s=%s; export %s" % (e["name"], shlex.quote(v), e["name"]))
PY
. "$T/env.sh"
REDIS_ADDRS=127.0.0.1:$RPORT HTTP_ADDR=127.0.0.1 TOKEN=ops-metrics-check \
  READ_TOKEN=ops-metrics-read-token TELEGRAM_BOT_TOKEN=123456:ops-metrics-check \
  TELEGRAM_API_BASE=http://127.0.0.1:9
export REDIS_ADDRS HTTP_ADDR TELEGRAM_BOT_TOKEN TELEGRAM_API_BASE
start_pod pod-ops 3s 1s
wait_ready "$PORT_pod_ops" || fail "pod-ops did not become ready"
# agents_wanted appears with the first reconcile pass (1 s here).
i=0
until curl -sf "http://127.0.0.1:$PORT_pod_ops/metrics" >"$OUT/metrics.txt" &&
      grep -q '^agents_wanted ' "$OUT/metrics.txt"; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "no reconcile pass in /metrics after 10 s"
  sleep 0.1
done
echo "   scraped $(grep -c '^# TYPE' "$OUT/metrics.txt") metric families from a real agentrecoverd (saved in $OUT/metrics.txt)"
python3 tests/ops/check_dashboard.py examples/grafana/agentrecover.json "$OUT/metrics.txt" \
  --rules examples/prometheus/agentrecover-rules.yml
