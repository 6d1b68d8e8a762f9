#!/bin/sh
# stop.sh -- `make stop`: tears down what `make start` left running, by the
# pids recorded in build/local.state (pods SIGTERM then SIGKILL, Redis,
# PostgreSQL), then removes its scratch dir.
set -eu
cd "$(dirname "$0")/../.."
. host/scripts/lib.sh
STATE=build/local.state
if [ ! -f "$STATE" ]; then
  echo "nothing running (no $STATE)"
  exit 0
fi
dir=$(sed -n 's/^dir=//p' "$STATE")
stop_all "$STATE"
case "$dir" in /tmp/arec-local.*) rm -rf "$dir" ;; esac
rm -f "$STATE"
echo "stopped: pods, Redis and PostgreSQL of $dir"
