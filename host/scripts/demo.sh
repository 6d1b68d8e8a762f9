#!/bin/sh
# demo.sh -- `make demo`: PostgreSQL + Redis + 3 agentrecoverd pods on
# loopback, 2 noop agents through the API, kill -9 the pod running agent 1
# and watch another pod restore it, then SIGTERM a pod and watch its agents
# handed over without the TTL wait.  Short timings (TTL 3 s, reconcile 1 s).
# Cleans up everything it started (trap), pass or fail.
set -eu
cd "$(dirname "$0")/../.."
. host/scripts/lib.sh

TTL=3s; RECONCILE=1s
scratch demo

say "1. PostgreSQL and Redis on loopback (scratch dir $T)"
start_servers "$T"
echo "   PostgreSQL on 127.0.0.1:$PGPORT, Redis on 127.0.0.1:$RPORT"

say "2. Migrations: agentrecoverd --migrate-only"
daemon --migrate-only 2>&1 | sed 's/^/   /'

say "3. Three pods: pod-a, pod-b, pod-c (lock TTL $TTL, reconcile every $RECONCILE)"
for p in pod-a pod-b pod-c; do start_pod $p $TTL $RECONCILE; done
for p in pod_a pod_b pod_c; do eval "wait_ready \$PORT_$p"; done
echo "   pod-a :$PORT_pod_a   pod-b :$PORT_pod_b   pod-c :$PORT_pod_c   (all /ready = 200)"
echo "   admin token of this run (random): $TOKEN"
echo "   try: curl -s -H \"Authorization: Bearer $TOKEN\" localhost:$PORT_pod_a/api/agents"

say "4. A user, an exchange account, a pair and two noop agents, through pod-a's API"
A=$PORT_pod_a
echo "   POST /api/users                -> $(api POST $A /api/users '{"id": 42, "name": "ann"}')"
ex=$(api POST $A /api/users/42/exchanges '{"exchange": "binance", "api_key": "demo-key", "api_secret": "demo-secret", "testnet": true}')
echo "   POST /api/users/42/exchanges   -> $ex   (the secret is never echoed)"
exid=$(printf '%s' "$ex" | sed 's/.*"id":\([0-9]*\).*/\1/')
echo "   POST /api/users/42/pairs       -> $(api POST $A /api/users/42/pairs "{\"exchange_id\": $exid, \"symbol\": \"BTC/USDT\"}")"
for i in 1 2; do
  echo "   POST /api/agents               -> $(api POST $A /api/agents "{\"user_id\": 42, \"strategy\": \"noop\", \"name\": \"Demo $i\", \"id\": \"agent-$i\"}")"
  echo "   POST /api/agents/agent-$i/assign -> $(api POST $A /api/agents/agent-$i/assign '{"symbol": "BTC/USDT", "balance": 500}')"
done

say "5. Start agent-1 through pod-a and agent-2 through pod-b"
echo "   POST pod-a /api/agents/start/agent-1 -> $(api POST $A /api/agents/start/agent-1)"
echo "   POST pod-b /api/agents/start/agent-2 -> $(api POST $PORT_pod_b /api/agents/start/agent-2)"
sleep 2
running_on() { api GET "$1" "/api/agents/$2" | sed -n 's/.*"running_on":"\([^"]*\)".*/\1/p'; }
for i in 1 2; do echo "   agent-$i runs on $(running_on $PORT_pod_c agent-$i)"; done
echo "   pod-a /api/runners -> $(api GET $A /api/runners)"

victim=$(running_on $PORT_pod_c agent-1)
say "6. kill -9 $victim (the pod running agent-1): no shutdown, its lock must expire"
vpid=$(eval "echo \$PID_$(echo "$victim" | tr - _)")
t0=$(now_ms)
kill -KILL "$vpid"
line=""
while [ -z "$line" ] && [ $(( $(now_ms) - t0 )) -lt 20000 ]; do
  line=$(grep -h "agent restored successfully agent_id=agent-1" "$T"/pod-*.log 2>/dev/null | head -1 || true)
  [ -z "$line" ] && sleep 0.05
done
t1=$(now_ms)
[ -n "$line" ] || { echo "   agent-1 was not restored"; exit 1; }
who=$(grep -l "agent restored successfully agent_id=agent-1" "$T"/pod-*.log | head -1 | xargs basename | sed 's/.log$//')
echo "   $who: $line"
echo "   failover time: $(( t1 - t0 )) ms (bound: TTL $TTL + reconcile $RECONCILE + 1 s)"
live=""; for p in pod-a pod-b pod-c; do [ "$p" != "$victim" ] && live="$live $p"; done
port_of() { eval "echo \$PORT_$(echo "$1" | tr - _)"; }
sleep 0.5
for p in $live; do echo "   $p /api/runners -> $(api GET "$(port_of $p)" /api/runners)"; done

say "7. SIGTERM $who (graceful): its agents are handed over without the TTL wait"
other=""; for p in $live; do [ "$p" != "$who" ] && other=$p; done
wpid=$(eval "echo \$PID_$(echo "$who" | tr - _)")
t0=$(now_ms)
kill -TERM "$wpid"
while kill -0 "$wpid" 2>/dev/null; do sleep 0.05; done
t1=$(now_ms)
grep -h "shutdown complete" "$T/$who.log" | sed "s/^/   $who: /"
echo "   $who exited after $(( t1 - t0 )) ms"
op=$(port_of "$other")
n=0
while [ $(( $(now_ms) - t1 )) -lt 15000 ]; do
  r=$(api GET "$op" /api/runners)
  n=$(printf '%s' "$r" | grep -o '"agent_id"' | wc -l)
  [ "$n" -ge 2 ] && break
  sleep 0.05
done
t2=$(now_ms)
echo "   $other runs $n agents $(( t2 - t1 )) ms after $who left (bound: reconcile $RECONCILE + 1 s; TTL $TTL not waited)"
grep -h "agent restored successfully" "$T/$other.log" | sed "s/^/   $other: /"
for i in 1 2; do
  echo "   GET /api/agents/agent-$i -> running_on $(running_on "$op" agent-$i), is_trading $(api GET "$op" /api/agents/agent-$i | sed -n 's/.*"is_trading":\([a-z]*\).*/\1/p')"
done

say "8. Cleaning up: every pod, Redis and PostgreSQL stopped by pid"
