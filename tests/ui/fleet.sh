#!/bin/sh
# fleet.sh -- `make test-ui`: the fleet page (GET /ui) in headless Chromium
# against a real system.  Starts a throwaway PostgreSQL and Redis
# (host/scripts/lib.sh: initdb as postgres when root, free loopback ports, a
# scratch dir), three agentrecoverd pods (lock TTL 3 s, pod leases 2 s,
# reconcile 1 s, LOG_LEVEL=warn) with an admin and a read token, then through the admin API
# a user, an exchange account, a pair and six noop agents, all started on
# pod-a (fair sharing hands four of them over).  Once each pod runs two
# agents, no takeover may have been recorded (handovers are not
# takeovers); one agent of a strategy no pod registers is added through SQL
# (it goes into backoff with its reason); then pod-c is killed with SIGKILL
# and the survivors take its agents over: exactly one agent.takeover event
# per agent it ran.
# The remaining 2-pod system is what tests/ui/fleet.js loads in Chromium
# (Debian's /usr/bin/chromium; puppeteer-core from $UI_NODE), where it
# types the read token, and checks the rendered page; the screenshot is
# kept in $BUILD/ui/fleet.png.  Stops everything it started, by pid, pass
# or fail (trap).
set -eu
cd "$(dirname "$0")/../.."
. host/scripts/lib.sh
BUILD=${BUILD:-build}
UI_NODE=${UI_NODE:-$BUILD/ui/node}
OUT=$BUILD/ui
mkdir -p "$OUT"
T=$(mktemp -d /tmp/arec-ui.XXXXXX)
: >"$T/state"
NODE_PID=
cleanup() {
  set +e
  # the browser's driver closes Chromium on SIGTERM
  [ -n "$NODE_PID" ] && kill -TERM "$NODE_PID" 2>/dev/null && wait "$NODE_PID"
  stop_all "$T/state"
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() {
  echo "   FAIL: $*"
  for f in "$T"/pod-*.log; do
    [ -f "$f" ] && tail -12 "$f" | sed "s|^|   $(basename "$f" .log): |"
  done
  exit 1
}
t0=$(now_ms)

# rd PORT PATH: GET with the read token, body on stdout.
rd() {
  curl -sf -H "Authorization: Bearer $READ_TOKEN" "http://127.0.0.1:$1$2"
}
# jq-like reads with python3: py 'expression over j' < json
py() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
# until_ok SECONDS WHAT CMD...: retries CMD every 0.1 s.
until_ok() {
  n=$(($1 * 10)); what=$2; shift 2
  i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt $n ] && fail "$what (after $((n / 10)) s)"
    sleep 0.1
  done
}

start_servers "$T" || fail "PostgreSQL or Redis did not start"
daemon --migrate-only >"$T/migrate.log" 2>&1 || { cat "$T/migrate.log"; fail "migrations failed"; }
READ_TOKEN=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
# LOG_LEVEL=warn: the takeover recorder must see the restores all the same
AGENT_POD_LEASE_TTL=2s HTTP_ADDR=127.0.0.1 LOG_LEVEL=warn
export AGENT_POD_LEASE_TTL HTTP_ADDR LOG_LEVEL
for p in pod-a pod-b pod-c; do start_pod "$p" 3s 1s; done
for port in $PORT_pod_a $PORT_pod_b $PORT_pod_c; do
  wait_ready "$port" || fail "a pod did not become ready"
done
echo "   PostgreSQL, Redis and 3 pods up in $(( $(now_ms) - t0 )) ms"

A=$PORT_pod_a
api POST "$A" /api/users '{"id": 1, "name": "fleet"}' >/dev/null || fail "user"
ex=$(api POST "$A" /api/users/1/exchanges \
  '{"exchange": "binance", "api_key": "fleet-key", "api_secret": "fleet-secret", "testnet": true}' |
  py 'j["id"]') || fail "exchange account"
api POST "$A" /api/users/1/pairs "{\"exchange_id\": $ex, \"symbol\": \"BTC/USDT\"}" >/dev/null || fail "pair"
AGENTS="alpha bravo charlie delta echo foxtrot"
for a in $AGENTS; do
  api POST "$A" /api/agents "{\"user_id\": 1, \"strategy\": \"noop\", \"name\": \"Agent $a\", \"id\": \"$a\"}" >/dev/null &&
  api POST "$A" "/api/agents/$a/assign" '{"symbol": "BTC/USDT", "balance": 250}' >/dev/null &&
  api POST "$A" "/api/agents/start/$a" >/dev/null || fail "agent $a"
done
# every pod runs two agents: the handovers are done
balanced() {
  rd "$A" /api/pods | py 'sorted((p["name"], p["agents"]) for p in j["pods"]) == [("pod-a", 2), ("pod-b", 2), ("pod-c", 2)] or sys.exit(1)'
}
until_ok 20 "the six agents spread over the three pods" balanced
# an agent of a strategy no pod registers (added after the spread, so the
# fair share stays at two): wanted, and in backoff once a pod tried it
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d arec -c "
  INSERT INTO agent_configs (id, user_id, strategy, name, is_trading)
    VALUES ('legacy-grid', 1, 'retired-grid', 'Legacy grid', true);
  INSERT INTO agent_symbol_assignments (agent_id, symbol, balance)
    VALUES ('legacy-grid', 'BTC/USDT', 100);" >/dev/null || fail "backoff agent"

backoff() {
  rd "$A" '/api/agents?state=backoff' | py '[a["id"] for a in j["agents"]] == ["legacy-grid"] or sys.exit(1)'
}
until_ok 10 "legacy-grid in backoff" backoff
takeovers() {
  rd "$A" '/api/audit?action=agent.takeover&limit=1000' | py '" ".join(sorted(e["agent_id"] for e in j["events"]))'
}
got=$(takeovers) || fail "audit"
[ -z "$got" ] || fail "takeovers recorded for starts and handovers: $got"
echo "   6 agents started and spread (handovers only: no takeover recorded) at $(( $(now_ms) - t0 )) ms"

# kill -9 pod-c: its agents are taken over after its lease and locks expire
on_c=$(rd "$A" '/api/agents?running_on=pod-c' |
  py '" ".join(sorted(a["id"] for a in j["agents"] if a["strategy"] == "noop"))')
[ -n "$on_c" ] || fail "pod-c runs nothing"
kill -KILL "$PID_pod_c"
tk=$(now_ms)
taken() {
  [ "$(takeovers)" = "$on_c" ] &&
  rd "$A" /api/pods | py '(sorted(p["name"] for p in j["pods"]) == ["pod-a", "pod-b"] and sum(p["agents"] for p in j["pods"]) == 6) or sys.exit(1)'
}
until_ok 20 "pod-c's agents ($on_c) taken over, one takeover event each" taken
echo "   kill -9 pod-c: its agents $on_c taken over in $(( $(now_ms) - tk )) ms, one event each"
got=$(takeovers)
[ "$got" = "$on_c" ] || fail "takeover events: '$got', want '$on_c' once each"

# the browser: the 2-pod system left
rm -f "$OUT/fleet.png" "$OUT/fleet-login.png"
NODE_PATH="$UI_NODE/node_modules" UI_URL="http://127.0.0.1:$A/ui" UI_TOKEN="$READ_TOKEN" \
  UI_PODS="pod-a pod-b" UI_TAKEN="$on_c" UI_BACKOFF="legacy-grid" \
  UI_BACKOFF_ERROR='no agent type "retired-grid" registered on this pod' \
  UI_PROFILE="$T/chromium-profile" UI_SHOT="$OUT/fleet.png" \
  node tests/ui/fleet.js &
NODE_PID=$!
wait "$NODE_PID" || { NODE_PID=; fail "the page in Chromium"; }
NODE_PID=
echo "   test-ui passed in $(( $(now_ms) - t0 )) ms; screenshot: $OUT/fleet.png"
