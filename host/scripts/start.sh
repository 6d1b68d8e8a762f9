#!/bin/sh
# start.sh -- `make start`: the demo's local system left running for a
# person to drive with curl: PostgreSQL, Redis and pods pod-a, pod-b, pod-c
# (lock TTL 3 s, reconcile 1 s) on free loopback ports, logs in a printed
# directory, pids in build/local.state.  `make stop` tears it down by pid.
set -eu
cd "$(dirname "$0")/../.."
. host/scripts/lib.sh

STATE=build/local.state
if [ -f "$STATE" ]; then
  echo "already running (see $STATE); run 'make stop' first"
  exit 1
fi
T=$(mktemp -d /tmp/arec-local.XXXXXX)
: >"$T/state"
fail() { set +e; stop_all "$T/state"; rm -rf "$T"; exit 1; }
trap fail INT TERM
start_servers "$T" || fail
daemon --migrate-only >"$T/migrate.log" 2>&1 || { cat "$T/migrate.log"; fail; }
for p in pod-a pod-b pod-c; do start_pod $p 3s 1s; done
for p in pod_a pod_b pod_c; do eval "wait_ready \$PORT_$p" || fail; done
echo "dir=$T" >>"$T/state"
echo "token=$TOKEN" >>"$T/state"
mkdir -p build
cp "$T/state" "$STATE"
cat <<EOT
agentrecover local system is running (make stop tears it down):
  PostgreSQL  127.0.0.1:$PGPORT  (psql -h 127.0.0.1 -p $PGPORT -U postgres arec)
  Redis       127.0.0.1:$RPORT
  pod-a       http://127.0.0.1:$PORT_pod_a   pid $PID_pod_a
  pod-b       http://127.0.0.1:$PORT_pod_b   pid $PID_pod_b
  pod-c       http://127.0.0.1:$PORT_pod_c   pid $PID_pod_c
  logs        $T/pod-a.log pod-b.log pod-c.log
  pids        $STATE
  admin token $TOKEN   (fresh for this run; also in $STATE)

Try:
  curl -s -H "Authorization: Bearer $TOKEN" -XPOST localhost:$PORT_pod_a/api/users -d '{"id": 42, "name": "ann"}'
  curl -s -H "Authorization: Bearer $TOKEN" -XPOST localhost:$PORT_pod_a/api/users/42/exchanges -d '{"exchange": "binance", "api_key": "k", "api_secret": "s", "testnet": true}'
  curl -s -H "Authorization: Bearer $TOKEN" -XPOST localhost:$PORT_pod_a/api/users/42/pairs -d '{"exchange_id": 1, "symbol": "BTC/USDT"}'
  curl -s -H "Authorization: Bearer $TOKEN" -XPOST localhost:$PORT_pod_a/api/agents -d '{"user_id": 42, "strategy": "noop", "name": "My Agent", "id": "a1"}'
  curl -s -H "Authorization: Bearer $TOKEN" -XPOST localhost:$PORT_pod_a/api/agents/a1/assign -d '{"symbol": "BTC/USDT", "balance": 500}'
  curl -s -H "Authorization: Bearer $TOKEN" -XPOST localhost:$PORT_pod_a/api/agents/start/a1
  curl -s -H "Authorization: Bearer $TOKEN" localhost:$PORT_pod_b/api/agents/a1
  kill -9 $PID_pod_a; sleep 5; grep restored $T/pod-*.log
EOT
