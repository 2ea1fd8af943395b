#!/usr/bin/env bash
# make demo: a MariaDB server in a container, initialised by `dtool db-init` with a sample
# schema, then backed up by `dtool backup --verify`, and the report printed.
# Expects `make images` to have run (the Makefile does that first).
set -euo pipefail
cd "$(dirname "$0")/.."

dtool() { node dist/cli/main.js "$@"; }
demo=.demo
server=dtool-demo-db
mkdir -p "$demo" && chmod 700 "$demo"

# Secrets are files, created once, readable by this user only.
umask 077
[[ -s $demo/root-password ]] || head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$demo/root-password"
[[ -s $demo/app-password ]] || head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$demo/app-password"
printf '[client]\nuser=root\npassword="%s"\n' "$(cat "$demo/root-password")" >"$demo/root.cnf"

echo "== starting the demo MariaDB server ($server)"
docker rm -f "$server" >/dev/null 2>&1 || true
docker run -d --name "$server" --label dtool.demo=true \
  -v "$PWD/$demo/root-password:/run/secrets/root-password:ro" dtool/mariadb:latest >/dev/null
for _ in $(seq 1 120); do
  docker logs "$server" 2>&1 | grep -q 'ready for connections.*port: 3306' && break
  sleep 1
done

echo "== dtool db-init (run twice: the second run changes nothing)"
for _ in 1 2; do
  dtool db-init --link "$server" --database blog --user blog --password-file "$demo/app-password" \
    --root-password-file "$demo/root-password" --seed examples/demo-schema.sql
done

echo "== dtool backup --verify"
dtool backup --link "$server:blog-db" --out "$demo/backups" --credentials "$demo/root.cnf" --verify --keep 5
echo
dtool backup --link "$server:blog-db" --out "$demo/backups" --credentials "$demo/root.cnf" --keep 5 --json
echo
echo "== backups on disk"
ls -l "$demo/backups/blog-db"
echo
echo "The server keeps running: docker rm -f $server   to remove it."
