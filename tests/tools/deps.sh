#!/bin/sh
# deps.sh PKG... -- installs the Debian packages among PKG that are missing,
# saying which, so every make target works on a fresh Debian 12 as root.
# Without root (or apt-get) it only lists what is missing and fails.
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "deps: need root and apt-get to install:$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends $missing >/tmp/arec-apt.log 2>&1; then
  apt-get update -qq >>/tmp/arec-apt.log 2>&1
  apt-get install -y -qq --no-install-recommends $missing >>/tmp/arec-apt.log 2>&1 || {
    echo "deps: apt-get install failed, see /tmp/arec-apt.log" >&2; tail -5 /tmp/arec-apt.log >&2; exit 1; }
fi
# Debian starts the servers it installs; the tests start their own.
for svc in redis-server postgresql; do
  case "$missing" in *"$svc"*|*postgresql-15*)
    command -v systemctl >/dev/null && systemctl disable --now "$svc" >/dev/null 2>&1 || true
    command -v service >/dev/null && service "$svc" stop >/dev/null 2>&1 || true ;;
  esac
done
echo "deps: installed:$missing"
