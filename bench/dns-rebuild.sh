#!/usr/bin/env bash
# The plain way to rebuild the DNS server, as the seed's shell helper did it: the baseline
# bench/recipes.mjs times `dtool dns rebuild` against. Five steps, nothing more: no check of
# the configuration, no probe of the new server, no rollback, no lock.
#
#   1. docker build   pass 1: images/dns (+ images/shared/dtool-guard), normally all cached
#   2. docker run     the generator, zones.yaml -> a config folder on this host
#   3. docker build   pass 2: FROM pass 1 + COPY config/ /etc/bind/generated/
#   4. docker rm -f   the running server
#   5. docker run     the new one, with the settings dtool's recipe gives it (bind 100:101,
#                     read-only root, tmpfs working folder, no capability, published port)
#
# Usage: bench/dns-rebuild.sh ZONES_FILE NETWORK NAME HOST_PORT PASS1_TAG PASS2_REPOSITORY [LABEL]
#   LABEL (key=value) is put on the images it builds, so that a bench can find and remove them.
#   With DNS_REBUILD_MARKS=1 it prints `mark STEP EPOCH` on stderr as each step ends.
set -euo pipefail

mark() {
  if [[ -n ${DNS_REBUILD_MARKS:-} ]]; then printf 'mark %s %s\n' "$1" "$EPOCHREALTIME" >&2; fi
}
mark start

if (($# < 6)); then
  echo "usage: $0 ZONES_FILE NETWORK NAME HOST_PORT PASS1_TAG PASS2_REPOSITORY [LABEL]" >&2
  exit 2
fi
zones=$1 network=$2 name=$3 port=$4 pass1=$5 repository=$6 label=${7:-dtool.bench.dns=script}
images_dir="$(cd "$(dirname "$0")/.." && pwd)/images"

work=$(mktemp -d "${TMPDIR:-/tmp}/dtool-bench-dns-sh.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. Pass 1: the image's folder plus the shared guard, as dtool assembles the context.
mkdir "$work/pass1"
cp -p "$images_dir"/dns/* "$images_dir/shared/dtool-guard" "$work/pass1/"
docker build -q --label "$label" --build-arg BASE=debian:bookworm-slim -t "$pass1" "$work/pass1" >/dev/null 2>"$work/build1.err" ||
  { cat "$work/build1.err" >&2; exit 1; }
mark pass1

# 2. The generator writes the configuration into a folder of this host.
mkdir -p "$work/pass2/config" "$work/in"
cp "$zones" "$work/in/zones.yaml"
docker run --rm --network none --user "$(id -u):$(id -g)" \
  -v "$work/in:/in:ro" -v "$work/pass2/config:/out" "$pass1" dtool-dns-generate /in /out >/dev/null
mark generate

# 3. Pass 2: only the configuration layer is new.
printf 'FROM %s\nCOPY config/ /etc/bind/generated/\n' "$pass1" >"$work/pass2/Dockerfile"
tag="$repository:$(date +%s%N)"
docker build -q --label "$label" -t "$tag" "$work/pass2" >/dev/null 2>"$work/build2.err" ||
  { cat "$work/build2.err" >&2; exit 1; }
mark pass2

# 4-5. Out with the old server, in with the new one.
docker rm -f "$name" >/dev/null 2>&1 || true
mark rm
docker run -d --name "$name" --network "$network" \
  -p "$port:53/udp" -p "$port:53/tcp" \
  --user 100:101 --read-only --tmpfs /var/cache/bind --tmpfs /tmp \
  --cap-drop ALL --security-opt no-new-privileges --init --restart unless-stopped \
  --label dtool.dns.server=true "$tag" >/dev/null
mark run
echo "$tag"
