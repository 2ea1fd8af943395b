#!/usr/bin/env bash
# Ensure a Docker engine answers. On a machine with only the client (as here), install
# Debian's docker.io and start dockerd in the background; elsewhere do nothing.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  echo "engine: already running"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "engine: 'docker info' fails and this is not a root Debian machine; start Docker yourself" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null; then
  echo "engine: installing Debian's docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

log=/var/log/dtool-dockerd.log
echo "engine: starting dockerd (log: $log)"
# setsid: dockerd must outlive the shell (and the make or CI step) that started it.
setsid nohup dockerd >"$log" 2>&1 </dev/null &

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "engine: ready ($(docker info --format '{{.ServerVersion}} {{.Driver}}'))"
    exit 0
  fi
  sleep 1
done
echo "engine: dockerd did not answer within 60s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
