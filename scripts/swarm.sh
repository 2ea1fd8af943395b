#!/usr/bin/env bash
# scripts/swarm.sh up|down|status|env|stop-node NODE|start-node NODE
#
# A real 3-node Docker Swarm on this one machine, for tests and for trying dtool by hand:
# three Docker-in-Docker containers (dtool/dind:latest) on the user bridge network
# dtool-swarm, with fixed addresses so a restarted node keeps its swarm identity:
#
#   container / hostname   role      data volume           engine socket on this machine
#   dtool-swarm-manager    manager   dtool-swarm-manager   $DIR/dtool-swarm-manager/docker.sock
#   dtool-swarm-worker1    worker    dtool-swarm-worker1   $DIR/dtool-swarm-worker1/docker.sock
#   dtool-swarm-worker2    worker    dtool-swarm-worker2   $DIR/dtool-swarm-worker2/docker.sock
#
# DIR is ${DTOOL_SWARM_DIR:-/run/dtool-swarm}. Every swarm node carries the node label
# dtool.engine=unix://$DIR/<node>/docker.sock: dtool reaches a node's engine through it (to
# load helper images when no registry is configured). Every node has debian:bookworm-slim
# (same image ID as here); the manager also has this engine's dtool/* images (each :latest
# and the content-hash tags of the same image), so it can serve as dtool's engine without
# rebuilding them. Containers, volumes and the network carry the label dtool.swarm (never
# dtool.managed: `dtool prune` must not sweep the swarm).
#
# DTOOL_PRIVILEGED_MODE=flag|capabilities: how the DinD containers get their privileges,
# `--privileged` or dtool's explicit capability profile (src/core/privileges.ts). Unset: the
# flag if this engine accepts it (a one-second probe), the capability profile otherwise.
#
#   up          create what is missing, repair what is broken (a leftover is removed and
#               recreated), wait until 3 nodes are Ready; already up: a few seconds
#   down        leave the swarm, remove the containers, volumes, network and socket dirs
#   status      one line per node; exit 1 unless all is up and Ready
#   env         prints `export DOCKER_HOST=unix://$DIR/dtool-swarm-manager/docker.sock`
#   stop-node W docker stop a worker (worker1, or dtool-swarm-worker1); waits until the
#               manager reports it down
#   start-node W docker start it again; waits until its engine answers and it is Ready
set -euo pipefail

readonly NETWORK=dtool-swarm
readonly LABEL=dtool.swarm
readonly IMAGE=dtool/dind:latest
readonly BASE_IMAGE=debian:bookworm-slim
readonly MANAGER=dtool-swarm-manager
readonly WORKERS=(dtool-swarm-worker1 dtool-swarm-worker2)
readonly NODES=("$MANAGER" "${WORKERS[@]}")
DIR=${DTOOL_SWARM_DIR:-/run/dtool-swarm}
readonly DIR
readonly READY_TIMEOUT=${DTOOL_SWARM_READY_TIMEOUT:-120}
# After `eval "$(scripts/swarm.sh env)"`, plain `docker` here must still mean this machine's engine.
[[ ${DOCKER_HOST:-} != "unix://$DIR/"* ]] || unset DOCKER_HOST

say() { echo "swarm: $*"; }
die() { echo "swarm: $*" >&2; exit 1; }

socket() { echo "$DIR/$1/docker.sock"; }
engine() { echo "unix://$(socket "$1")"; }
# `docker` against a node's inner engine.
on() {
  local node=$1
  shift
  DOCKER_HOST=$(engine "$node") docker "$@"
}
answers() { timeout 10 env DOCKER_HOST="$(engine "$1")" docker info >/dev/null 2>&1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
container_state() { docker container inspect -f '{{.State.Status}}' "$1" 2>/dev/null || echo missing; }

# The node's fixed address: .10, .11, .12 in the network's subnet.
address() {
  local subnet base i
  subnet=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$NETWORK")
  base=${subnet%/*}
  for i in "${!NODES[@]}"; do
    [[ ${NODES[i]} != "$1" ]] || { echo "${base%.*}.$((${base##*.} + 10 + i))"; return; }
  done
  die "unknown node $1"
}

# worker1 → dtool-swarm-worker1; only workers are stopped and started.
worker_name() {
  local name=${1:-}
  [[ $name == dtool-swarm-* ]] || name=dtool-swarm-$name
  local worker
  for worker in "${WORKERS[@]}"; do
    [[ $worker != "$name" ]] || { echo "$name"; return; }
  done
  die "no worker named ${1:-(none)}: one of ${WORKERS[*]} (or worker1, worker2)"
}

MODE=
privileged_mode() {
  MODE=${DTOOL_PRIVILEGED_MODE:-}
  if [[ -z $MODE ]]; then
    # Engines whose own capability bounding set is short refuse the flag ("unable to apply caps").
    if docker run --rm --privileged --network none --entrypoint true "$IMAGE" >/dev/null 2>&1; then MODE=flag; else MODE=capabilities; fi
  fi
  [[ $MODE == flag || $MODE == capabilities ]] || die "DTOOL_PRIVILEGED_MODE must be flag or capabilities, not \"$MODE\""
}

privilege_options() {
  if [[ $MODE == flag ]]; then
    echo --privileged
  else
    # dtool's PRIVILEGED_PROFILE (src/core/privileges.ts); systempaths=unconfined is its empty
    # MaskedPaths and ReadonlyPaths.
    printf '%s\n' --cap-add ALL --cap-drop SYS_RESOURCE \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
      --device-cgroup-rule 'a *:* rwm' -v /sys/fs/cgroup:/sys/fs/cgroup:rw
  fi
}

# The network, with a subnet of its own (fixed addresses need one): the engine picks a free
# range for a plain network first, which is then recreated with that range made explicit.
ensure_network() {
  if docker network inspect "$NETWORK" >/dev/null 2>&1; then
    [[ $(docker network inspect -f "{{index .Labels \"$LABEL\"}}" "$NETWORK") == network ]] \
      || die "a network named $NETWORK exists that this script did not create; remove it or rename it"
    [[ -n $(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$NETWORK") ]] && return
    docker network rm "$NETWORK" >/dev/null
  fi
  local subnet=${DTOOL_SWARM_SUBNET:-}
  if [[ -z $subnet ]]; then
    docker network create --label "$LABEL=probe" "$NETWORK" >/dev/null
    subnet=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$NETWORK")
    docker network rm "$NETWORK" >/dev/null
  fi
  docker network create --label "$LABEL=network" --subnet "$subnet" "$NETWORK" >/dev/null
  say "network $NETWORK ($subnet)"
}

# Until the container's log says ready since it last started (or it stops, or time is up).
wait_ready() {
  local node=$1 started deadline=$((SECONDS + READY_TIMEOUT))
  started=$(docker container inspect -f '{{.State.StartedAt}}' "$node")
  # grep without -q reads to the end: docker logs must not die of SIGPIPE (pipefail).
  until docker logs --since "$started" "$node" 2>&1 | grep '^dtool-dind: ready' >/dev/null && answers "$node"; do
    if [[ $(container_state "$node") != running ]] || ((SECONDS > deadline)); then
      echo "swarm: $node did not become ready; its last log lines:" >&2
      docker logs --tail 15 "$node" >&2 2>&1 || true
      return 1
    fi
    sleep 0.2
  done
}

remove_node() {
  docker rm -f -v "$1" >/dev/null 2>&1 || true
  docker volume rm "$1" >/dev/null 2>&1 || true
}

create_node() {
  local node=$1 options
  remove_node "$node"
  mkdir -p "$DIR/$node"
  rm -f "$(socket "$node")"
  [[ -n $MODE ]] || privileged_mode
  mapfile -t options < <(privilege_options)
  # The sockets' group: this machine's docker group (by number: the container has its own
  # /etc/group), so whoever may use this engine may use the nodes' too.
  local group
  group=$(getent group docker | cut -d: -f3) || group=0
  docker volume create --label "$LABEL=$node" "$node" >/dev/null
  # unless-stopped: back after the host's engine restarts, but stop-node's stop holds.
  docker run -d --name "$node" --hostname "$node" --label "$LABEL=$node" \
    --network "$NETWORK" --ip "$(address "$node")" --restart unless-stopped \
    "${options[@]}" \
    -v "$node:/var/lib/docker" -v "$DIR/$node:/dtool-engine" \
    "$IMAGE" dtool-dind -H unix:///dtool-engine/docker.sock --group "${group:-0}" >/dev/null
  wait_ready "$node" || die "cannot start $node"
  say "$node created ($MODE mode)"
}

# Running and answering on its socket; a stopped one is started; anything else is recreated.
ensure_node() {
  local node=$1 state
  state=$(container_state "$node")
  case $state in
    running)
      if [[ -S $(socket "$node") ]] && wait_ready "$node"; then return; fi
      ;;
    exited | created)
      if docker start "$node" >/dev/null && wait_ready "$node" && [[ -S $(socket "$node") ]]; then
        say "$node started"
        return
      fi
      ;;
  esac
  [[ $state == missing ]] || say "$node is $state but its engine does not answer on $(socket "$node"): recreating it"
  create_node "$node"
}

swarm_state() { on "$1" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

# A node coming back rejoins in the background: wait while it is pending.
wait_not_pending() {
  local node=$1 state deadline=$((SECONDS + 30))
  while state=$(swarm_state "$node"); [[ $state == pending ]] && ((SECONDS < deadline)); do sleep 0.5; done
  echo "$state"
}

ensure_manager() {
  local state control
  state=$(wait_not_pending "$MANAGER")
  control=$(on "$MANAGER" info -f '{{.Swarm.ControlAvailable}}')
  [[ $state == active && $control == true ]] && return
  [[ $state == inactive ]] || on "$MANAGER" swarm leave --force >/dev/null 2>&1 || true
  local ip
  ip=$(address "$MANAGER")
  on "$MANAGER" swarm init --advertise-addr "$ip" --listen-addr "$ip:2377" >/dev/null
  say "swarm initialised on $MANAGER ($ip)"
}

# Joined, and known to this manager (not to the swarm of an earlier, recreated manager: such a
# node stays pending, so it is not waited for).
ensure_worker() {
  local node=$1 id token
  id=$(on "$node" info -f '{{.Swarm.NodeID}}')
  if [[ -n $id ]] && on "$MANAGER" node inspect "$id" >/dev/null 2>&1 && [[ $(wait_not_pending "$node") == active ]]; then return; fi
  [[ $(swarm_state "$node") == inactive ]] || on "$node" swarm leave --force >/dev/null 2>&1 || true
  token=$(on "$MANAGER" swarm join-token -q worker)
  on "$node" swarm join --token "$token" --advertise-addr "$(address "$node")" "$(address "$MANAGER"):2377" >/dev/null
  say "$node joined"
}

# Entries of nodes that were recreated (a new ID under the same hostname) are dropped.
forget_stale_nodes() {
  local current=() node id
  for node in "${NODES[@]}"; do current+=("$(on "$node" info -f '{{.Swarm.NodeID}}')"); done
  while read -r id; do
    [[ " ${current[*]} " == *" $id "* ]] || on "$MANAGER" node rm --force "$id" >/dev/null
  done < <(on "$MANAGER" node ls -q)
}

label_nodes() {
  local node id want
  for node in "${NODES[@]}"; do
    id=$(on "$node" info -f '{{.Swarm.NodeID}}')
    want=$(engine "$node")
    [[ $(on "$MANAGER" node inspect -f '{{index .Spec.Labels "dtool.engine"}}' "$id") == "$want" ]] \
      || on "$MANAGER" node update --label-add "dtool.engine=$want" "$id" >/dev/null
  done
}

node_status() { on "$MANAGER" node inspect -f '{{.Status.State}}' "$1" 2>/dev/null || echo unknown; }

wait_node() {
  local node=$1 want=$2 deadline=$((SECONDS + ${3:-90}))
  until [[ $(node_status "$node") == "$want" ]]; do
    ((SECONDS < deadline)) || die "$node is $(node_status "$node") after ${3:-90}s, not $want"
    sleep 0.5
  done
}

# The references (repository:tag) this node lacks or holds as another image than here.
missing_images() {
  local node=$1 ref
  shift
  for ref in "$@"; do
    [[ $(on "$node" image inspect -f '{{.Id}}' "$ref" 2>/dev/null) == "$(docker image inspect -f '{{.Id}}' "$ref")" ]] || echo "$ref"
  done
}

load_images() {
  local node=$1 missing
  shift
  mapfile -t missing < <(missing_images "$node" "$@")
  ((${#missing[@]} > 0)) || return 0
  local start
  start=$(now)
  docker save "${missing[@]}" | on "$node" load -q >/dev/null
  say "$node: loaded ${#missing[@]} image(s) in $(since "$start")s"
}

# What dtool's image catalog would build on the manager: each dtool/*:latest, with every tag of
# this engine that names the same image (the content-hash tags).
dtool_images() {
  local ref id
  while read -r ref id; do
    [[ $ref == *:latest ]] || continue
    docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' "${ref%:latest}" \
      | awk -v id="$id" '$2 == id { print $1 }'
  done < <(docker images --no-trunc --filter 'reference=dtool/*' --format '{{.Repository}}:{{.Tag}} {{.ID}}')
}

up() {
  local start node images=()
  start=$(now)
  docker image inspect "$IMAGE" >/dev/null 2>&1 || die "no $IMAGE on this engine: run 'make images' first"
  docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || die "no $BASE_IMAGE on this engine: run 'make base-image' first"
  ensure_network
  for node in "${NODES[@]}"; do ensure_node "$node"; done
  ensure_manager
  for node in "${WORKERS[@]}"; do ensure_worker "$node"; done
  forget_stale_nodes
  label_nodes
  for node in "${NODES[@]}"; do wait_node "$node" ready; done
  mapfile -t images < <(dtool_images)
  # One stream per node, all at once: the manager's (the base image and dtool's) is the long one.
  local pids=() failed=0 pid
  load_images "$MANAGER" "$BASE_IMAGE" "${images[@]}" &
  pids+=($!)
  for node in "${WORKERS[@]}"; do
    load_images "$node" "$BASE_IMAGE" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  ((failed == 0)) || die "loading the images failed"
  say "up in $(since "$start")s: 3 nodes Ready; $(env_line)"
}

down() {
  local node
  for node in "${WORKERS[@]}" "$MANAGER"; do
    if answers "$node"; then on "$node" swarm leave --force >/dev/null 2>&1 || true; fi
  done
  for node in "${NODES[@]}"; do
    remove_node "$node"
    rm -rf "${DIR:?}/$node"
  done
  docker network rm "$NETWORK" >/dev/null 2>&1 || true
  rmdir "$DIR" 2>/dev/null || true
  say "down"
}

status() {
  local node healthy=0 state swarm
  for node in "${NODES[@]}"; do
    state=$(container_state "$node")
    swarm=-
    if answers "$MANAGER"; then
      swarm=$(on "$MANAGER" node inspect -f '{{.Spec.Role}} {{.Status.State}} {{.Spec.Availability}} dtool.engine={{index .Spec.Labels "dtool.engine"}}' "$node" 2>/dev/null || echo 'not in the swarm')
    fi
    [[ $state == running && $swarm == *' ready '* ]] || healthy=1
    echo "$node: container $state; $swarm"
  done
  return "$healthy"
}

env_line() { echo "export DOCKER_HOST=$(engine "$MANAGER")"; }

stop_node() {
  local node
  node=$(worker_name "${1:-}")
  docker stop -t 30 "$node" >/dev/null
  answers "$MANAGER" || die "$node stopped, but the manager does not answer"
  wait_node "$node" down
  say "$node stopped (down)"
}

start_node() {
  local node
  node=$(worker_name "${1:-}")
  docker start "$node" >/dev/null
  wait_ready "$node" || die "cannot start $node"
  [[ $(wait_not_pending "$node") == active ]] || die "$node did not rejoin the swarm"
  wait_node "$node" ready
  say "$node started (ready)"
}

# One change at a time: test files in several processes (or people) share this swarm, and two
# `up`s seeing the same stopped node would each start it, or recreate it under the other.
lock() {
  exec 9>"${DIR%/}.lock"
  flock -w 600 9 || die "another scripts/swarm.sh held ${DIR%/}.lock for 10 minutes"
}

case ${1:-} in
  up) lock && up ;;
  down) lock && down ;;
  status) status ;;
  env) env_line ;;
  stop-node) lock && stop_node "${2:-}" ;;
  start-node) lock && start_node "${2:-}" ;;
  *)
    echo "usage: $0 up|down|status|env|stop-node NODE|start-node NODE" >&2
    exit 2
    ;;
esac
