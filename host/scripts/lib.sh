# lib.sh -- shared by demo.sh and start.sh: a local system of PostgreSQL,
# Redis and agentrecoverd pods on free loopback ports in a scratch dir.
# Sourced, not run.  Everything started is recorded (pids) in $T/state so
# that stop_all / stop.sh can tear it down by pid.

DAEMON=${DAEMON:-build/agentrecoverd}
PGBIN=/usr/lib/postgresql/15/bin
KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
# The pods' admin token: a fresh random one per run (never taken from the
# environment; a script may set its own after sourcing this file);
# READ_TOKEN, when set after sourcing, becomes the pods' ADMIN_READ_TOKEN.
TOKEN=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
READ_TOKEN=

# daemon ARGS...: agentrecoverd with the caller's ADMIN_TOKEN,
# ADMIN_READ_TOKEN and ADMIN_AUTH removed from its environment (the
# caller's shell may export its own for another system).
daemon() {
  env -u ADMIN_TOKEN -u ADMIN_READ_TOKEN -u ADMIN_AUTH "$DAEMON" "$@"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

now_ms() { date +%s%3N; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# start_servers DIR: PostgreSQL (as postgres when root) and Redis.
start_servers() {
  T=$1
  PGPORT=$(free_port)
  RPORT=$(free_port)
  AS=
  if [ "$(id -u)" = 0 ]; then chown postgres: "$T"; AS="runuser -u postgres --"; fi
  $AS "$PGBIN/initdb" -D "$T/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      --no-sync >"$T/initdb.log" 2>&1 || { cat "$T/initdb.log"; return 1; }
  $AS "$PGBIN/pg_ctl" -D "$T/pg" -l "$T/pg.log" -w -t 30 start \
      -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $T -c fsync=off" >/dev/null || return 1
  echo "pg_pid=$(head -1 "$T/pg/postmaster.pid")" >>"$T/state"
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'CREATE DATABASE arec' >/dev/null || return 1
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --dir "$T" --pidfile "$T/redis.pid" --logfile "$T/redis.log" >/dev/null
  i=0
  until redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG; do
    i=$((i + 1)); [ $i -gt 250 ] && { echo "redis did not start"; return 1; }
    sleep 0.02
  done
  echo "redis_pid=$(cat "$T/redis.pid")" >>"$T/state"
  DATABASE_URL="host=127.0.0.1 port=$PGPORT dbname=arec user=postgres"
  export DATABASE_URL
  echo "pg_port=$PGPORT" >>"$T/state"
  echo "redis_port=$RPORT" >>"$T/state"
}

# start_pod NAME TTL RECONCILE: launches a pod; sets PORT_<NAME>.
start_pod() {
  name=$1; port=$(free_port)
  env -u ADMIN_TOKEN -u ADMIN_READ_TOKEN -u ADMIN_AUTH \
      DATABASE_URL="$DATABASE_URL" REDIS_HOST=127.0.0.1 REDIS_PORT="$RPORT" \
      POD_NAME="$name" HTTP_PORT="$port" AGENT_LOCK_TTL="$2" \
      AGENT_RECONCILE_INTERVAL="$3" AGENT_SAVE_INTERVAL=1s SHUTDOWN_TIMEOUT=10s \
      AGENT_SECRETS_KEY="$KEY" AGENT_WORKERS=4 ADMIN_TOKEN="$TOKEN" \
      ${READ_TOKEN:+ADMIN_READ_TOKEN="$READ_TOKEN"} \
      "$DAEMON" >>"$T/$name.log" 2>&1 &
  pid=$!
  echo "pod_pid=$pid" >>"$T/state"
  echo "pod=$name:$port:$pid" >>"$T/state"
  eval "PORT_$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_')=$port"
  eval "PID_$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_')=$pid"
}

wait_ready() {
  i=0
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ready")" = 200 ]; do
    i=$((i + 1)); [ $i -gt 300 ] && { echo "pod on port $1 not ready"; return 1; }
    sleep 0.05
  done
}

# api METHOD PORT PATH [JSON]: prints the body; fails on a non-2xx code.
api() {
  out=$(curl -s -w '\n%{http_code}' -X "$1" -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $TOKEN" \
        ${4:+--data "$4"} "http://127.0.0.1:$2$3")
  code=$(printf '%s' "$out" | tail -n1)
  body=$(printf '%s' "$out" | sed '$d')
  printf '%s\n' "$body"
  case $code in 2*) return 0 ;; *) echo "   (HTTP $code)" >&2; return 1 ;; esac
}

# scratch NAME: sets T to a new scratch dir /tmp/arec-NAME.XXXXXX with an
# empty state file; at exit, pass or fail, everything started in it is
# stopped (stop_all) and the dir removed.
scratch() {
  T=$(mktemp -d "/tmp/arec-$1.XXXXXX")
  : >"$T/state"
  trap 'set +e; stop_all "$T/state"; rm -rf "$T"' EXIT
  trap 'exit 1' INT TERM HUP
}

# stop_all STATEFILE: pods (TERM, then KILL), Redis, PostgreSQL, by pid.
stop_all() {
  st=$1
  [ -f "$st" ] || return 0
  set +e
  for pid in $(sed -n 's/^pod_pid=//p' "$st"); do kill -TERM "$pid" 2>/dev/null; done
  for pid in $(sed -n 's/^pod_pid=//p' "$st"); do
    i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
  done
  for pid in $(sed -n 's/^redis_pid=//p' "$st") $(sed -n 's/^pg_pid=//p' "$st"); do
    kill -INT "$pid" 2>/dev/null
    i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
  done
  return 0
}
