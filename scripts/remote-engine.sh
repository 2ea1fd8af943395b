#!/usr/bin/env bash
# remote-engine.sh up [IMAGE...] | down | env
#
# A real remote engine for tests and demos: a TLS-protected dockerd (mutual TLS, as `dockerd
# --tlsverify` does it) in a dtool/dind container, published on 127.0.0.1:23760.
#
#   up    generates, once, a CA, a server certificate (SAN 127.0.0.1, localhost) and a client
#         certificate, plus a second, unrelated CA with its own client certificate (for
#         testing refusals), in the state folder; starts the container `dtool-remote-engine`
#         with dtool's capability profile (no --privileged) and a named volume for
#         /var/lib/docker; waits until `docker --tlsverify` answers through the port; then
#         copies the images the tests need (debian:bookworm-slim, dtool/host:latest, and any
#         IMAGE given) from the local engine into the remote one, each only if it is missing
#         there. Running `up` again when all is up is quick and changes nothing.
#   down  removes the container and its volume (the certificates stay).
#   env   prints the DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH lines that reach it
#         (`eval "$(bash scripts/remote-engine.sh env)"`).
#
# State folder: $DTOOL_REMOTE_DIR, default /run/dtool-remote-engine:
#   client/{ca,cert,key}.pem   the right material    wrong/{ca,cert,key}.pem   the other CA's
#   server/{ca,cert,key}.pem   mounted read-only in the container at /certs
set -euo pipefail

readonly NAME=dtool-remote-engine
readonly VOLUME=dtool-remote-engine-data
readonly IMAGE=dtool/dind:latest
readonly PORT=23760
readonly DIR=${DTOOL_REMOTE_DIR:-/run/dtool-remote-engine}
readonly HOST=tcp://127.0.0.1:$PORT
readonly DEFAULT_IMAGES=(debian:bookworm-slim dtool/host:latest)

say() { echo "remote-engine: $*" >&2; }
die() {
  echo "remote-engine: $*" >&2
  exit 1
}

# The remote engine through its TLS port, with the right client material.
remote() {
  docker --tlsverify --tlscacert "$DIR/client/ca.pem" --tlscert "$DIR/client/cert.pem" \
    --tlskey "$DIR/client/key.pem" -H "$HOST" "$@"
}

# new_key FILE: an EC P-256 private key, readable by its owner only.
new_key() {
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
}

# new_ca DIR CN: a self-signed CA (ca.pem, ca-key.pem).
new_ca() {
  mkdir -p "$1"
  new_key "$1/ca-key.pem"
  openssl req -x509 -new -key "$1/ca-key.pem" -sha256 -days 3650 -subj "/CN=$2" -out "$1/ca.pem" 2>/dev/null
}

# sign CA_DIR OUT_DIR CN EXTENSIONS: OUT_DIR/{cert,key,ca}.pem, signed by the CA in CA_DIR.
sign() {
  local ca=$1 out=$2 cn=$3 extensions=$4
  mkdir -p "$out"
  new_key "$out/key.pem"
  openssl req -new -key "$out/key.pem" -subj "/CN=$cn" -out "$out/request.csr" 2>/dev/null
  openssl x509 -req -in "$out/request.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" -CAcreateserial \
    -sha256 -days 3650 -extfile <(printf '%s\n' "$extensions") -out "$out/cert.pem" 2>/dev/null
  rm -f "$out/request.csr"
  cp "$ca/ca.pem" "$out/ca.pem"
}

certificates_exist() {
  local dir file
  for dir in server client wrong; do
    for file in ca cert key; do
      [[ -s $DIR/$dir/$file.pem ]] || return 1
    done
  done
}

generate_certificates() {
  command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"
  say "generating certificates in $DIR"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  new_ca "$DIR/ca" "dtool remote engine CA"
  sign "$DIR/ca" "$DIR/server" "$NAME" $'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth'
  sign "$DIR/ca" "$DIR/client" "dtool client" 'extendedKeyUsage = clientAuth'
  # Another CA, unknown to the engine, and a client certificate it signed.
  new_ca "$DIR/wrong-ca" "some other CA"
  sign "$DIR/wrong-ca" "$DIR/wrong" "dtool client (wrong CA)" 'extendedKeyUsage = clientAuth'
  # The container's root reads the server key through a read-only bind mount.
  chmod 755 "$DIR/server"
}

running() {
  [[ $(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null) == true ]]
}

start_container() {
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker volume create "$VOLUME" >/dev/null
  say "starting $NAME from $IMAGE"
  # dtool's capability profile (src/core/privileges.ts) in place of --privileged.
  docker run -d --name "$NAME" --hostname "$NAME" \
    --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt systempaths=unconfined \
    --device-cgroup-rule 'a *:* rwm' \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    -v "$VOLUME:/var/lib/docker" \
    -v "$DIR/server:/certs:ro" \
    -p "127.0.0.1:$PORT:2376" \
    "$IMAGE" \
    dtool-dind -H tcp://0.0.0.0:2376 --tlsverify \
    --tlscacert /certs/ca.pem --tlscert /certs/cert.pem --tlskey /certs/key.pem >/dev/null
}

wait_ready() {
  local deadline=$((SECONDS + 120))
  until remote info >/dev/null 2>&1; do
    if ! running; then
      docker logs --tail 30 "$NAME" >&2 || true
      die "$NAME stopped before its engine answered"
    fi
    ((SECONDS < deadline)) || {
      docker logs --tail 30 "$NAME" >&2 || true
      die "$NAME's engine did not answer on $HOST within 120 s"
    }
    sleep 0.5
  done
}

# Copies images from the local engine, each only if the remote one lacks it, with every
# local tag of the same image (dtool/host:latest brings dtool/host:<content hash> along).
copy_images() {
  local image id tags
  for image in "$@"; do
    remote image inspect "$image" >/dev/null 2>&1 && continue
    id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || die "image $image is not on the local engine either"
    mapfile -t tags < <(docker image ls --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}' | awk -v id="$id" '$1 == id && $2 !~ /<none>/ { print $2 }')
    say "copying $image (${tags[*]}) into the remote engine"
    docker save "$image" "${tags[@]}" | remote load >/dev/null
  done
}

up() {
  certificates_exist || {
    docker rm -f "$NAME" >/dev/null 2>&1 || true
    generate_certificates
  }
  if running && remote info >/dev/null 2>&1; then
    say "already up on $HOST"
  else
    start_container
    wait_ready
    say "up on $HOST ($(remote info -f '{{.ServerVersion}} {{.Driver}}'))"
  fi
  copy_images "${DEFAULT_IMAGES[@]}" "$@"
}

down() {
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker volume rm "$VOLUME" >/dev/null 2>&1 || true
  say "down"
}

print_env() {
  certificates_exist || die "no certificates in $DIR: run up first"
  printf 'export DOCKER_HOST=%q\nexport DOCKER_TLS_VERIFY=1\nexport DOCKER_CERT_PATH=%q\n' "$HOST" "$DIR/client"
}

case ${1:-} in
  up) shift && up "$@" ;;
  down) down ;;
  env) print_env ;;
  *) die "usage: remote-engine.sh up [IMAGE...] | down | env" ;;
esac
